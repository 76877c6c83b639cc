/*
 * export - the job store ─► annotated files: valid.csv invalid.csv risky.csv catch_all.csv
 * unknown.csv duplicates.csv changes.csv (each optionally .gz) and report.json in OUTDIR.
 *
 * Every input row lands in exactly one of the verdict files and duplicates.csv, with its
 * original columns unchanged (formula cells neutralized) followed by the annotation columns.
 * changes.csv repeats, with the previous status and its checked_at, the rows (not duplicates)
 * whose address's status differs from the verdict it replaced when it was probed again
 * (--max-age); it has its header only when there is none. The set is replaced whole or not at
 * all: every file is written under an unpredictable temporary name in its folder (created
 * exclusively, never through a link), synced, and only then are they all renamed into place,
 * report.json last (the old one is removed first: a folder without report.json holds an
 * unfinished export). A failure before the renames removes the temporaries and keeps the old
 * files; temporaries of a killed export are removed by the next one (one export per OUTDIR at
 * a time: flock on the folder).
 * Lists with the same header share one set of files; lists with different headers get a
 * subfolder each (OUTDIR/<list name>/). The export only reads the store.
 */
#ifndef MAILSIFT_EXPORT_H
#define MAILSIFT_EXPORT_H

#include <stdint.h>
#include <stdio.h>

#include "schema/store.h"
#include "schema/verdict.h"

struct export_opts {
	const char *outdir;
	int gzip;                  /* write .csv.gz */
	int with_trace;            /* add a mailsift_trace column: the transcript the store kept
	                            * for the row's address (common/trace.h lines), else empty;
	                            * one store only (not a merge) */
	const int64_t *list_ids;   /* lists to export; NULL: every list in the store */
	size_t nlists;
	FILE *messages;            /* notes for the user (stderr) */
	const char *run_json;      /* a JSON object describing the run, put in report.json, or NULL */
	const char *store_path;    /* the job store, named in report.json (NULL: not named) */
	/* A merge (`mailsift merge`): the stores of the N shards of the same lists, by shard
	 * number, shards[0] being the store given; each list's rows are taken from all of them in
	 * input order, its problems summed, report.json names them ("shards"). NULL: one store. */
	struct store *const *shards;
	const char *const *shard_paths;
	size_t nshards;
};

struct export_result {
	int64_t rows;                     /* rows written in all */
	int64_t by_status[STATUS_COUNT];  /* rows per verdict file */
	int64_t duplicates;               /* rows in duplicates files */
	int64_t changes;                  /* rows in changes files */
	int nsets;                        /* sets of files written (1 unless headers differ) */
	double seconds;
};

/* export_run - write the files; 0 ok, -1 with err */
int export_run(struct store *s, const struct export_opts *o, struct export_result *r, char *err,
               size_t errlen);

/* export_make_dir - OUTDIR made when missing, with its missing parents (mkdir -p); 0, or -1
 * with err (a file in the way, no permission) */
int export_make_dir(const char *path, char *err, size_t errlen);

/* export_neutralize_needed - 1 when a spreadsheet would run CELL as a formula */
int export_neutralize_needed(const char *cell, size_t len);

#endif
