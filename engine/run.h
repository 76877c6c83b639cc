/*
 * run - `mailsift run`: verify every pending address of a job store with the scheduler, write
 * the verdicts back in batched transactions, retry temporary failures when they are due (the
 * store keeps next_attempt_at, attempts and the source address), and stop cleanly on the first
 * SIGINT/SIGTERM. Resumable at any point: a crash leaves addresses pending or in flight, and
 * the next run treats in-flight as pending.
 */
#ifndef MAILSIFT_RUN_H
#define MAILSIFT_RUN_H

#include <stdint.h>

#include "engine/config.h"
#include "engine/sched.h"
#include "schema/store.h"

struct run_opts {
	const struct probe_config *cfg;
	struct sched_opts sched;
	double max_age_days;     /* > 0: verdicts older than this are probed again */
	int quiet;               /* no progress on stderr */
};

struct run_result {
	int interrupted;         /* stopped by a signal: rerun to resume */
	int64_t verdicts;        /* final verdicts written by this run */
	double seconds;
};

/* run_store - verify what is pending in S; 0 when the run ended (done or interrupted), -1 with
 * err on a failure (resolver, store) */
int run_store(struct store *s, const struct run_opts *o, struct run_result *r, char *err,
              size_t errlen);

#endif
