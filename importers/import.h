/*
 * import - one input list into the job store: stream ─► records ─► address checks ─► store.
 *
 * Streaming with bounded memory: a sample of the first records (columns.h bounds), one record
 * buffer, one batch transaction. Rows are committed in batches together with the list's
 * progress counter, so an import killed at any moment resumes from the last commit: the same
 * file (same path, size and mtime) is read again from the start and the committed rows are
 * skipped, never stored twice. Bad input is reported with the file and line (byte offset for
 * a damaged gzip stream), kept in the store's problems table, and the run goes on.
 */
#ifndef MAILSIFT_IMPORT_H
#define MAILSIFT_IMPORT_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "schema/store.h"

/* Rows per transaction, or IMPORT_BATCH_SECONDS, whichever comes first. Large: every commit
 * writes the dedupe index's pages touched since the last one to the WAL, and random keys touch
 * most of them (50,000 rows a batch cost 25% more time on 2M rows). Test knob:
 * MAILSIFT_IMPORT_BATCH_ROWS replaces it (tests/t_resume.sh wants many commits in a small list). */
#define IMPORT_BATCH_ROWS 200000
#define IMPORT_BATCH_SECONDS 1.0
#define IMPORT_MESSAGES_PER_KIND 10 /* problem lines printed per kind; the rest are counted */

enum import_status {
	IMPORT_DONE = 0,        /* the whole list is in the store */
	IMPORT_ALREADY,         /* this file was imported before: nothing to do */
	IMPORT_PARTIAL,         /* reading stopped at damaged input; the rows before it are in */
	IMPORT_INTERRUPTED,     /* stopped by a signal; committed rows stay, rerun resumes */
	IMPORT_FAILED           /* nothing usable (cannot open, store error, no email column) */
};

struct import_progress {
	const char *name;       /* the list */
	uint64_t rows;          /* data rows read so far */
	uint64_t raw_done;      /* input bytes consumed (compressed bytes for gzip) */
	uint64_t raw_total;     /* input size, 0 when unknown */
};

struct import_opts {
	const char *column;                 /* --column NAME|N, or NULL to detect */
	size_t max_record;                  /* longest record kept, bytes */
	volatile sig_atomic_t *stop;        /* set by a signal handler; NULL: never */
	/* message - report one line about the input (no trailing newline); NULL: say nothing */
	void (*message)(void *ctx, const char *line);
	void (*progress)(void *ctx, const struct import_progress *p);
	void *progress_ctx;                 /* for progress and message */
	int shard_k, shard_n;               /* keep only the rows of shard K of N (common/shard.h);
	                                     * N 0: every row */
};

struct import_result {
	enum import_status status;
	int64_t list_id;
	int64_t rows;           /* data rows in the store for this list */
	int64_t resumed_from;   /* rows that were already committed by an earlier run */
	int64_t problems;       /* problems found by this run */
	double seconds;
};

/* import_list - import PATH ("-" is stdin) into S; err says why on IMPORT_PARTIAL/FAILED */
enum import_status import_list(struct store *s, const char *path, const struct import_opts *o,
                               struct import_result *res, char *err, size_t errlen);

/* An import in steps, for a caller with an event loop (the server): the reader thread parses
 * and checks while each step stores the rows ready, for a bounded time, so the loop keeps
 * serving. The caller owns the transactions: every call below must run inside one of its
 * transactions (it may commit between calls: each step leaves the rows it stored and the
 * list's counters consistent). Only regular files: a resumed import checks up front that the
 * file starts with the bytes the interrupted import read. */
struct import_job;

/* import_job_start - begin importing PATH into S (never NULL; a failure shows in the result) */
struct import_job *import_job_start(struct store *s, const char *path,
                                    const struct import_opts *o);

/* import_job_step - store what the reader has ready, for about BUDGET seconds: 1 more to do
 * (call again, soon if nothing was ready), 0 finished (see import_job_result) */
int import_job_step(struct import_job *j, double budget);

/* import_job_rows - data rows of the list so far (stored, or committed by an earlier start) */
int64_t import_job_rows(const struct import_job *j);

/* import_job_result - the status once finished (IMPORT_INTERRUPTED before), RES filled, *ERR
 * why (NULL when nothing to say) */
enum import_status import_job_result(const struct import_job *j, struct import_result *res,
                                     const char **err);

/* import_job_free - free J; one not finished keeps what it stored, with its counters, for the
 * next import_job_start of the same file to resume (inside the caller's transaction) */
void import_job_free(struct import_job *j);

#endif
