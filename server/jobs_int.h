/*
 * jobs_int - what server/jobs.c (the endpoints and the job records) and server/jobs_drive.c
 * (imports, counts and exports under way) share.
 */
#ifndef MAILSIFT_JOBS_INT_H
#define MAILSIFT_JOBS_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "schema/store.h"
#include "server/server_int.h"

struct import_job;

/* An active job: one the server drives (importing, verifying, exporting). */
struct job {
	struct job *next;
	struct store_job j;
	struct import_job *imp;     /* importing: the import in steps (JOB_IMPORTS at a time) */
	pid_t export_pid;           /* exporting: the `mailsift export` child, or 0 */
	/* Counting a list's rows takes time in proportion to them (seconds for millions), so the
	 * loop counts them in slices: a sweep over every row, then the next. A row counted final
	 * stays final, so a sweep that finds every row final proves the job's verification done. */
	struct store_tally sweep;   /* the sweep under way */
	int64_t sweep_pos;          /* rows counted in it so far */
	struct store_tally seen;    /* the last whole sweep */
	int have_seen;
	double seen_at;             /* clock_now() when it ended */
	double rate;                /* rows a second, smoothed over sweeps */
	int64_t imported;           /* rows the import stored (the figures until the first sweep) */
};

/* job_path - DIR/jobs/ID[/REST] into OUT; -1 when it does not fit */
int job_path(const struct server *srv, const char *id, const char *rest, char *out, size_t n);

/* job_set_state - JB's state (and error) in the store and in memory; a job that ended has its
 * callback delivered */
void job_set_state(struct server *srv, struct job *jb, const char *state, const char *error);

/* active_find / active_add / active_remove - the jobs being driven (active_add takes J over:
 * the caller's copy is emptied) */
struct job *active_find(struct server *srv, const char *id);
struct job *active_add(struct server *srv, struct store_job *j);
void active_remove(struct server *srv, struct job *jb);

/* iso_time - T (unix seconds) as ISO 8601 UTC, or null for 0 */
json_t *iso_time(int64_t t);

/* tally_json - a count's figures as a job's status shows them */
json_t *tally_json(const struct store_tally *t);

/* jobs_drive_kick - look for imports to start or step, now */
void jobs_drive_kick(struct server *srv);

/* jobs_drive_release - stop what JB has under way (its import keeps what it stored, its export
 * child is killed) */
void jobs_drive_release(struct job *jb);

#endif
