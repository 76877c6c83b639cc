/*
 * report - report.json: counts per verdict and reason (overall and per list), the transitions
 * of the verdicts probed again (changes.csv's rows by previous and current status), input rows,
 * duplicates, input problems by kind, files written, timings. Writes JSON, reads nothing.
 */
#ifndef MAILSIFT_REPORT_H
#define MAILSIFT_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "schema/store.h"
#include "schema/verdict.h"

#define REPORT_MAX_REASONS 64 /* distinct (status, reason) pairs; the vocabulary is ~25 */

struct report_reason {
	char status[16];
	char reason[32];
	int64_t count;
};

/* Counts for one scope (a list, or everything). */
struct report_tally {
	int64_t rows;                       /* input rows */
	int64_t duplicates;                 /* rows in duplicates.csv */
	int64_t by_status[STATUS_COUNT];    /* rows in each verdict file */
	struct report_reason reason[REPORT_MAX_REASONS];
	size_t nreasons;
	int64_t changes[STATUS_COUNT][STATUS_COUNT]; /* rows in changes.csv: [previous][current] */
	int64_t changed;                    /* rows in changes.csv */
};

struct report_file {
	char path[4096];    /* relative to OUTDIR */
	int64_t rows;
	int64_t bytes;      /* its size: a reader can tell it belongs to this report */
};

/* Which export a report.json belongs to. */
/* One shard's store of a merge (`mailsift merge`): "shards" in report.json. */
struct report_shard {
	const char *store;           /* its path */
	int k, n;                    /* shard K of N */
	int64_t rows;                /* rows the export took from it */
	char *run_json;              /* its last run's figures (JSON; the caller's), or NULL */
};

struct report_export {
	char id[48];                 /* UTC time and random letters, unique per export */
	const char *store;           /* the job store's path, or NULL */
	const int64_t *list_ids;     /* the lists exported */
	size_t nlist_ids;
	int gzip;
	const struct report_shard *shards; /* a merge: the shards, by number; NULL: one store */
	size_t nshards;
};

struct report_list {
	const struct store_list *list;
	struct report_tally tally;
	struct store_problem_count *problems; /* owned by the caller */
	size_t nproblems;
	char dir[256];                        /* subfolder of OUTDIR holding its files, "" = OUTDIR */
};

/* report_tally_add - count one row with STATUS and REASON (a duplicate counts as its own) */
void report_tally_add(struct report_tally *t, enum verdict_status status, const char *reason,
                      int duplicate);

/* report_tally_change - count one row of changes.csv: its status went from PREV to CUR */
void report_tally_change(struct report_tally *t, enum verdict_status prev,
                         enum verdict_status cur);

/* report_write - write the JSON to F (SHOWN names it in messages; F stays open); 0 ok, -1
 * with err */
int report_write(FILE *f, const char *shown, const struct report_export *x,
                 const struct report_list *lists, size_t nlists,
                 const struct report_tally *total, const struct report_file *files,
                 size_t nfiles, double export_secs, const char *run_json, char *err,
                 size_t errlen);

#endif
