/*
 * run - the store-backed run loop as a service: verify every pending address of a job store
 * with the scheduler, on the owner's event base; write the verdicts back in batched
 * transactions; retry temporary failures when they are due (the store keeps next_attempt_at,
 * attempts and the source address). It reports progress and its end through callbacks and
 * stops on request (run_stop); it never reads signals, prints or breaks the owner's loop.
 * Resumable at any point: a crash leaves addresses pending or in flight, and the next run
 * treats in-flight as pending.
 */
#ifndef MAILSIFT_RUN_H
#define MAILSIFT_RUN_H

#include <stdint.h>
#include <stdio.h>

#include "engine/config.h"
#include "engine/sched.h"
#include "schema/store.h"
#include "schema/verdict.h"

struct event_base;

struct run_opts {
	const struct probe_config *cfg;
	struct sched_opts sched;
	double max_age_days;     /* verdicts older than this are probed again: 0 every one, < 0
	                          * none (store_stale_before) */
	int keep_running;        /* once every address has its verdict, look for new pending ones
	                          * every DEF_RUN_IDLE_POLL seconds until run_stop (a server); else
	                          * the run is done then */
};

/* What a progress report tells (every DEF_RUN_PROGRESS_TICK seconds, and when the run starts
 * to sleep until a retry is due). */
struct run_progress {
	int64_t total;               /* addresses of the store */
	int64_t done;                /* of them with a final verdict */
	int64_t verdicts;            /* final verdicts written by this run */
	int64_t by_status[STATUS_COUNT]; /* this run's verdicts by status */
	double rate;                 /* recent verdicts per second; 0 before the first sample */
	double seconds;              /* since the run started */
	int64_t retry_wait;          /* addresses waiting for a retry */
	int64_t retry_first;         /* wall-clock seconds the first of them is due, else 0 */
	int64_t retry_last;          /* ... and the last */
	int64_t sleep_seconds;       /* > 0: nothing to ask until a retry is due in this many */
	size_t sessions;             /* SMTP sessions open */
	size_t hosts_paused;         /* MX hosts paused for pushing back */
	int idle;                    /* the run sleeps and holds no transaction: until the owner's
	                              * callback returns, it may write to the job store (add work) */
};

struct run_result {
	int interrupted;         /* stopped by run_stop: rerun to resume */
	int smtp_blocked;        /* failed because outbound SMTP looks blocked here */
	int64_t verdicts;        /* final verdicts written by this run */
	double seconds;
};

struct run_callbacks {
	/* progress - where the run stands (NULL: not wanted) */
	void (*progress)(void *ctx, const struct run_progress *p);
	/* done - the run is over; ERR is NULL when it ended (every verdict in, or stopped), else
	 * why it failed. Called once, from the loop; run_free may be called from it. */
	void (*done)(void *ctx, const struct run_result *r, const char *err);
	/* verdict - address ADDRESS_ID has its final verdict, just written to the store (the owner's
	 * connection reads it at once, others once it is committed) (NULL: not wanted). A command
	 * times its answers with it; a server wakes who waits for it. */
	void (*verdict)(void *ctx, int64_t address_id);
	/* session - an SMTP session is over, just written to the job store's session log (NULL:
	 * not wanted): `--session-log` writes its line */
	void (*session)(void *ctx, const struct store_session *ss);
};

struct run;

/* run_new - a run of S on BASE (the owner's; S stays the caller's and must outlive the run);
 * it starts from the loop. NULL with err on a setup failure (resolver, store). Lowers
 * o->sched.concurrency to the open-files limit and says so on NOTE when it must (may be NULL). */
struct run *run_new(struct event_base *base, struct store *s, const struct run_opts *o,
                    const struct run_callbacks *cb, void *ctx, FILE *note, char *err,
                    size_t errlen);

/* run_stop - start no new session; open ones get DEF_DRAIN_SECONDS to finish, then the rest
 * is handed back to the store as pending; done follows (interrupted). A second call changes
 * nothing. */
void run_stop(struct run *r);

/* run_hurry - address ADDRESS_ID (pending in the store, just added or made stale) is waited
 * for: claimed now and asked before what nobody waits for (a sleeping run wakes for it). A
 * retry not yet due stays where it is: a greylisting server is asked again when it said. 1 when
 * it was put ahead, 0 when not (in flight already, not due, not pending, the run stopping), -1
 * when the store failed (the run fails too) */
int run_hurry(struct run *r, int64_t address_id);

/* run_commit_now - commit what the run wrote so far (other connections see it), now rather
 * than at the next commit */
void run_commit_now(struct run *r);

/* run_memory_json - what the run holds in memory and its bounds, as a JSON object (malloc'd):
 * {"working_set": {"addresses": N, "address_limit": N, "peak_addresses": N, "domains": N,
 * "domain_limit": N, "peak_domains": N}, "mx_hosts": {"held": N, "peak": N, "let_go": N}
 * (let_go: idle hosts whose state went to the store), "dns_cache": {"domains": {...},
 * "hosts": {...}}} where each cache table is {"entries", "peak", "limit", "hits", "misses",
 * "hit_rate", "evicted", "expired"} (hit_rate: hits / lookups, null before the first) */
char *run_memory_json(const struct run *r);

/* run_free - free R; a run not yet done is cancelled without calling done (what it did not
 * commit stays pending) */
void run_free(struct run *r);

#endif
