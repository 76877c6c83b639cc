/*
 * run - the store-backed run of the scheduler as a service (see run.h).
 *
 * The run claims pending addresses from the store in id order into a bounded working set
 * (DEF_WORKING_PER_SESSION per allowed session), hands them to sched, and writes each result in
 * the open transaction, committed every DEF_COMMIT_INTERVAL seconds. Retries that have come due
 * are claimed too, through the store's retry index, every DEF_RETRY_CLAIM_INTERVAL while the
 * scan goes on (claim_due), so they leave on time on a long list. When nothing is left to claim
 * it looks at what waits for a retry and sleeps until the first one is due. The run never
 * breaks its owner's loop: it ends by calling the owner's done callback, from the loop.
 */
#include "engine/run.h"

#include <errno.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/fdlimit.h"
#include "common/json.h"
#include "common/trace.h"
#include "engine/smtp.h"


struct claimed {
	int64_t id;
	char *address, *domain, *source;
	unsigned flags;
	int attempts;
};

struct run {
	struct store *store;
	const struct run_opts *o;
	struct sched_opts so;           /* o->sched, concurrency fitted to the descriptor limit */
	struct run_callbacks cb;
	void *ctx;
	struct event_base *base;        /* the owner's */
	struct dns *dns;
	SSL_CTX *ssl;
	struct sched *sched;
	struct event *feed_ev;          /* claim more (deferred: never from inside a callback) */
	struct event *commit_ev;        /* periodic commit and progress */
	struct event *wait_ev;          /* sleeping until a retry is due */
	struct event *drain_ev;         /* end of the grace period after run_stop */
	struct event *end_ev;           /* the end, from the loop: the owner's done callback */
	size_t working_set;         /* addresses held at most */
	size_t working_domains;     /* distinct domains they may span */
	int domain_bound;           /* the last claim_room stopped at working_domains */
	int64_t cursor;                 /* claim ids above this */
	double due_check_at;            /* monotonic: look for due retries from then on */
	int scan_done;                  /* the scan reached the end of the table */
	int waiting;                    /* sleeping for retries */
	int stopping;                   /* run_stop was called */
	int ended;                      /* the end is decided (end_ev) */
	int closing;                    /* tearing down: late callbacks change nothing */
	int finishing;                  /* every verdict is in: waiting for sessions to QUIT */
	double last_commit;             /* progress clock of the last periodic commit */
	int failed;
	int smtp_blocked;              /* the failure: outbound SMTP looks blocked (check_blocked) */
	char err[512];
	int64_t uncommitted;
	int64_t total, done_at_start, verdicts, retries;
	int64_t by_status[STATUS_COUNT];
	double started;
	/* progress: a recent rate (not the whole run's, which waits for retries) and the
	 * addresses waiting for a retry, read from the store's index every DEF_RUN_RETRY_STATS_INTERVAL */
	double rate, rate_at;
	int64_t rate_verdicts;
	int64_t retry_wait, retry_first, retry_last;
	double retry_stats_at;
	int64_t run_id;                 /* the store's record of this run */
	int64_t sessions_logged;        /* session log rows written (trimmed every so often) */
	struct claimed *batch;          /* claim buffer */
	size_t nbatch;
};

static double now_wall(void)
{
	return (double)time(NULL);
}

/* run_end - the run is over (done, stopped or failed): the owner hears it from the loop */
static void run_end(struct run *r)
{
	if (r->ended)
		return;
	r->ended = 1;
	event_active(r->end_ev, EV_TIMEOUT, 0);
}

/* run_fail - a store or setup error ends the run with MESSAGE */
static void __attribute__((format(printf, 2, 3))) run_fail(struct run *r, const char *fmt, ...)
{
	va_list ap;

	if (r->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(r->err, sizeof r->err, fmt, ap);
	va_end(ap);
	r->failed = 1;
	run_end(r);
}

/* commit - commit what was written; a new transaction follows unless the run sleeps (while it
 * waits for a retry or for new work, the job store is free for other writers) */
static void commit(struct run *r)
{
	char err[512];

	if (r->failed)
		return;
	if (store_commit(r->store, err, sizeof err) < 0 ||
	    (!r->waiting && store_begin(r->store, err, sizeof err) < 0))
		run_fail(r, "%s", err);
	r->uncommitted = 0;
}

void run_commit_now(struct run *r)
{
	if (!r->waiting && !r->closing && store_in_transaction(r->store))
		commit(r);
}

/* ---- scheduler callbacks ---- */

/* trace_keep - RES's transcript (the scheduler gives those config_trace_kept keeps) to the
 * store: after the earlier attempts' (a retry's), clipped to the bound; an earlier attempt's is
 * dropped when this verdict's is not kept. 0, -1 on a store error */
static int trace_keep(struct run *r, const struct sched_result *res)
{
	char *old = NULL, *joined, *clipped;
	size_t bound = r->o->cfg->keep_traces == TRACE_KEEP_ALL ? DEF_TRACE_ALL_BYTES
	                                                        : DEF_TRACE_STORED_BYTES;
	int rc;

	if (res->trace == NULL)
		return res->attempts > 1 && r->o->cfg->keep_traces != TRACE_KEEP_NONE
		               ? store_trace_delete(r->store, res->id)
		               : 0;
	if (res->attempts > 1 && store_trace_get(r->store, res->id, &old) < 0)
		return -1;
	if (asprintf(&joined, "%s%s", old ? old : "", res->trace) < 0)
		joined = NULL;
	free(old);
	clipped = joined ? trace_clip(joined, bound) : NULL;
	free(joined);
	if (clipped == NULL)
		return 0; /* out of memory: the verdict matters, its transcript less */
	rc = store_trace_put(r->store, res->id, r->run_id, clipped);
	free(clipped);
	return rc;
}

static void on_result(void *ctx, const struct sched_result *res)
{
	struct run *r = ctx;
	int rc;

	if (r->closing)
		return;
	if (res->verdict.retry) {
		double wait = sched_retry_wait(r->o->cfg, res);
		/* Due now (not asked): claimed again within DEF_RETRY_CLAIM_INTERVAL, through the
		 * retry index; 0 (the next pass) when stopping. */
		int64_t at = wait > 0 ? (int64_t)(now_wall() + wait) : r->stopping ? 0 : (int64_t)now_wall();
		rc = store_retry_save(r->store, res->id, res->attempts, at, res->source);
		if (rc == 0)
			rc = trace_keep(r, res);
		r->retries++;
	} else {
		struct store_verdict v = {
			.status = verdict_status_name(res->verdict.status),
			.reason = res->verdict.reason,
			.detail = res->detail,
			.smtp_code = res->reply ? res->reply->code : 0,
			.enhanced_code = res->reply ? res->reply->enhanced : NULL,
			.smtp_message = res->reply ? res->reply->text : NULL,
			.mx_host = res->mx_host,
			.tls = res->tls,
			.attempts = res->attempts,
			.add_flags = res->catch_all == CATCH_ALL_YES ? FLAG_CATCH_ALL : 0,
			.source = res->source,
			.checked_at = (int64_t)now_wall(),
		};
		rc = store_verdict_save(r->store, res->id, &v);
		if (rc == 0)
			rc = trace_keep(r, res);
		r->verdicts++;
		r->by_status[res->verdict.status]++;
		if (rc == 0 && r->cb.verdict)
			r->cb.verdict(r->ctx, res->id);
	}
	if (rc < 0)
		run_fail(r, "job store: %s", store_errmsg(r->store));
	if (++r->uncommitted >= DEF_COMMIT_RESULTS)
		commit(r);
	if (!r->stopping && (sched_held(r->sched) < r->working_set / 2 ||
	                     (r->domain_bound &&
	                      sched_domains(r->sched) + DEF_RUN_CLAIM_CHUNK <= r->working_domains)))
		event_active(r->feed_ev, EV_TIMEOUT, 0);
}

/* on_session - a session is over: the job store's session log, and the owner's */
static void on_session(void *ctx, const struct store_session *ss)
{
	struct run *r = ctx;
	struct store_session rec = *ss;

	if (r->closing)
		return;
	rec.run_id = r->run_id;
	rec.at = (int64_t)(now_wall() - ss->seconds);
	if (store_session_add(r->store, &rec) < 0 ||
	    (++r->sessions_logged % DEF_SESSION_LOG_TRIM_EVERY == 0 &&
	     store_session_trim(r->store, DEF_SESSION_LOG_KEEP) < 0))
		run_fail(r, "job store: %s", store_errmsg(r->store));
	else if (r->cb.session)
		r->cb.session(r->ctx, &rec);
}

static int on_catch_all_lookup(void *ctx, const char *domain)
{
	struct run *r = ctx;

	return store_catch_all(r->store, domain);
}

static void on_catch_all_learned(void *ctx, const char *domain, enum catch_all ca)
{
	struct run *r = ctx;

	if (ca == CATCH_ALL_YES || ca == CATCH_ALL_NO)
		store_set_catch_all(r->store, domain, ca == CATCH_ALL_YES, (int64_t)now_wall());
}

static int on_dns_cached(void *ctx, const char *domain, struct dns_result *out)
{
	struct run *r = ctx;
	char *status = NULL, *mx = NULL;
	int ok = store_dns_get(r->store, domain, (int64_t)now_wall() - DEF_DNS_CACHE_SECONDS, &status,
	                       &mx) == 1 &&
	         dns_result_parse(r->dns, status, mx, out) == 0;

	free(status);
	free(mx);
	return ok;
}

static void on_dns_learned(void *ctx, const char *domain, const struct dns_result *res)
{
	struct run *r = ctx;
	char mx[4096];

	if (r->closing || res->status == DNS_TEMPFAIL || res->status == DNS_NO_HOST_ADDRESS)
		return; /* temporary answers are asked again */
	dns_result_text(res, mx, sizeof mx);
	store_dns_set(r->store, domain, dns_status_name(res->status), mx, (int64_t)now_wall());
}

/* on_host_saved - the scheduler lets an idle host go: what must outlive it, in the store */
static void on_host_saved(void *ctx, const struct store_host *st)
{
	struct run *r = ctx;
	struct store_host h = *st;

	h.run_id = r->run_id;
	if (store_host_save(r->store, &h) < 0)
		run_fail(r, "job store: %s", store_errmsg(r->store));
}

/* on_host_lookup - a host comes back: what this run kept of it */
static int on_host_lookup(void *ctx, const char *ip, const char *source, struct store_host *out)
{
	struct run *r = ctx;

	return store_host_load(r->store, r->run_id, ip, source, out) == 1;
}

/* ---- claiming ---- */

static void claim_cb(void *ctx, const struct store_pending *p)
{
	struct run *r = ctx;
	struct claimed *c = &r->batch[r->nbatch++];

	c->id = p->id;
	c->address = strdup(p->address ? p->address : "");
	c->domain = strdup(p->domain ? p->domain : "");
	c->source = p->source ? strdup(p->source) : NULL;
	c->flags = p->flags;
	c->attempts = p->attempts;
	if (c->address == NULL || c->domain == NULL)
		abort();
}

static void finish_or_wait(struct run *r);
static void report_progress(struct run *r, int64_t sleep_seconds);

/* feed_batch - the claimed batch to the scheduler, marked in flight; SCAN 1: it came from the
 * scan (its cursor moves on), 0 from the retry index, -1 from run_hurry (urgent) */
static void feed_batch(struct run *r, int scan)
{
	for (size_t i = 0; i < r->nbatch; i++) {
		struct claimed *c = &r->batch[i];
		struct sched_addr a = {c->id, c->address, c->domain, c->flags, c->attempts, c->source,
		                       scan < 0};
		store_mark_in_flight(r->store, c->id);
		if (scan > 0)
			r->cursor = c->id;
		sched_add(r->sched, &a);
		free(c->address);
		free(c->domain);
		free(c->source);
	}
	r->nbatch = 0;
}

/* claim_room - addresses the working set may take now, at most a chunk: none once it holds
 * working_set addresses, or when a chunk could take it past working_domains domains (each
 * address may bring a new one) */
static size_t claim_room(struct run *r)
{
	size_t held = sched_held(r->sched), want;

	if (held >= r->working_set)
		return 0;
	want = r->working_set - held;
	if (want > DEF_RUN_CLAIM_CHUNK)
		want = DEF_RUN_CLAIM_CHUNK;
	r->domain_bound = sched_domains(r->sched) + want > r->working_domains;
	return r->domain_bound ? 0 : want;
}

/* claim_due - retries that are due join the working set while the scan goes on (at most once
 * per DEF_RETRY_CLAIM_INTERVAL, more often while a full chunk comes back): a greylisted
 * address leaves at its time, not at the end of the pass. Returns -1 on a store error. */
static int claim_due(struct run *r, int64_t now)
{
	size_t want;
	int n;

	if (clock_now() < r->due_check_at || (want = claim_room(r)) == 0)
		return 0;
	r->nbatch = 0;
	n = store_claim_due(r->store, now, (int)want, claim_cb, r);
	if (n < 0)
		return -1;
	feed_batch(r, 0);
	if ((size_t)n < want)
		r->due_check_at = clock_now() + DEF_RETRY_CLAIM_INTERVAL;
	return 0;
}

static void feed_cb(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;
	int64_t now = (int64_t)now_wall();

	(void)fd;
	(void)what;
	if (r->stopping || r->failed || r->waiting)
		return;
	if (claim_due(r, now) < 0) {
		run_fail(r, "job store: %s", store_errmsg(r->store));
		return;
	}
	while (!r->scan_done) {
		size_t want = claim_room(r);
		int n;

		if (want == 0)
			break;
		r->nbatch = 0;
		n = store_claim(r->store, r->cursor, now, (int)want, claim_cb, r);
		if (n < 0) {
			run_fail(r, "job store: %s", store_errmsg(r->store));
			return;
		}
		feed_batch(r, 1);
		if ((size_t)n < want)
			r->scan_done = 1;
	}
	if (r->scan_done && sched_held(r->sched) == 0)
		finish_or_wait(r);
}

static void wait_cb(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;

	(void)fd;
	(void)what;
	r->waiting = 0;
	r->scan_done = 0;
	r->cursor = 0;
	commit(r); /* the transaction the sleep went without */
	if (r->o->keep_running) {
		/* Addresses added since (another import, an API client) count from now on. */
		struct store_pending_stats ps;
		if (store_pending_stats(r->store, (int64_t)now_wall(), &ps) < 0) {
			run_fail(r, "job store: %s", store_errmsg(r->store));
			return;
		}
		r->total = ps.due + ps.waiting + ps.done;
		r->done_at_start = ps.done - r->verdicts;
		r->retry_wait = ps.waiting;
	}
	event_active(r->feed_ev, EV_TIMEOUT, 0);
}

/* finish_or_wait - the scan is done and nothing is held: more due, retries later, or the end */
static void finish_or_wait(struct run *r)
{
	struct store_pending_stats ps;
	int64_t now = (int64_t)now_wall();

	commit(r);
	if (store_pending_stats(r->store, now, &ps) < 0) {
		run_fail(r, "job store: %s", store_errmsg(r->store));
		return;
	}
	r->retry_wait = ps.waiting;
	if (ps.due > 0) {
		r->scan_done = 0;
		r->cursor = 0;
		event_active(r->feed_ev, EV_TIMEOUT, 0);
		return;
	}
	if (ps.waiting > 0) {
		int64_t secs = ps.next_due > now ? ps.next_due - now : 1;
		struct timeval tv = {(time_t)secs, 0};
		r->waiting = 1;
		commit(r);
		evtimer_add(r->wait_ev, &tv);
		report_progress(r, secs);
		return;
	}
	if (r->o->keep_running) {
		/* Every address has its verdict: look for new ones now and then. */
		struct timeval tv = {(time_t)DEF_RUN_IDLE_POLL, 0};
		r->waiting = 1;
		commit(r);
		evtimer_add(r->wait_ev, &tv);
		return;
	}
	/* Every address has its verdict; sessions still saying QUIT get to finish it. */
	if (sched_sessions(r->sched) > 0) {
		r->finishing = 1;
		return;
	}
	run_end(r);
}

/* ---- progress, commits, stopping ---- */

/* progress_sample - refresh the recent rate and the count of addresses waiting to retry */
static void progress_sample(struct run *r)
{
	double now = clock_now();

	if (now - r->rate_at >= DEF_RUN_RATE_INTERVAL) {
		double sample = (double)(r->verdicts - r->rate_verdicts) / (now - r->rate_at);
		r->rate = r->rate == 0 ? sample : (1 - DEF_RUN_RATE_WEIGHT) * r->rate + DEF_RUN_RATE_WEIGHT * sample;
		r->rate_at = now;
		r->rate_verdicts = r->verdicts;
	}
	if (now - r->retry_stats_at >= DEF_RUN_RETRY_STATS_INTERVAL) {
		store_retry_waiting(r->store, (int64_t)now_wall(), &r->retry_wait, &r->retry_first,
		                    &r->retry_last);
		r->retry_stats_at = now;
	}
}

/* report_progress - tell the owner where the run stands; SLEEP_SECONDS > 0: it sleeps that
 * long until a retry is due */
static void report_progress(struct run *r, int64_t sleep_seconds)
{
	struct run_progress p;

	if (r->cb.progress == NULL)
		return;
	memset(&p, 0, sizeof p);
	p.total = r->total;
	p.done = r->done_at_start + r->verdicts;
	p.verdicts = r->verdicts;
	memcpy(p.by_status, r->by_status, sizeof p.by_status);
	p.rate = r->rate;
	p.seconds = clock_now() - r->started;
	p.retry_wait = r->retry_wait;
	p.retry_first = r->retry_first;
	p.retry_last = r->retry_last;
	p.sleep_seconds = sleep_seconds;
	p.sessions = sched_sessions(r->sched);
	p.hosts_paused = sched_hosts_paused(r->sched);
	p.idle = r->waiting && !store_in_transaction(r->store);
	r->cb.progress(r->ctx, &p);
}

/* check_blocked - outbound SMTP looks blocked here: end the run before it turns a list into
 * unknowns after hours of retries; 1 when it did */
static int check_blocked(struct run *r)
{
	size_t blocked;

	if (r->failed || (blocked = sched_smtp_blocked(r->sched)) == 0)
		return 0;
	r->smtp_blocked = 1;
	run_fail(r,
	         "outbound SMTP looks blocked here: %zu mail hosts refused or timed out a TCP "
	         "connection on port %d and none took one. Home ISPs and many cloud providers "
	         "block outbound SMTP: run mailsift where it is open. Nothing was marked "
	         "invalid; the addresses tried so far retry after --greylist-delay, the rest "
	         "are untouched.",
	         blocked, r->o->cfg->smtp_port);
	return 1;
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;

	(void)fd;
	(void)what;
	if (r->ended)
		return;
	if ((r->finishing || r->stopping) && sched_sessions(r->sched) == 0) {
		if (r->stopping)
			sched_cancel(r->sched); /* every session said QUIT: hand back what waits */
		run_end(r);
		return;
	}
	if (clock_now() - r->last_commit >= DEF_COMMIT_INTERVAL) {
		commit(r);
		r->last_commit = clock_now();
	}
	progress_sample(r);
	if (check_blocked(r))
		return;
	if (!r->waiting && !r->stopping && !r->failed && clock_now() >= r->due_check_at &&
	    claim_room(r) > 0)
		event_active(r->feed_ev, EV_TIMEOUT, 0); /* retries may be due */
	report_progress(r, 0);
}

static void drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;

	(void)fd;
	(void)what;
	sched_cancel(r->sched); /* the grace period is over */
	run_end(r);
}

void run_stop(struct run *r)
{
	struct timeval grace = {(time_t)DEF_DRAIN_SECONDS, 0};

	if (r->stopping || r->ended)
		return;
	r->stopping = 1;
	sched_drain(r->sched);
	if (r->waiting || sched_sessions(r->sched) == 0) {
		sched_cancel(r->sched);
		run_end(r);
		return;
	}
	evtimer_add(r->drain_ev, &grace);
}

int run_hurry(struct run *r, int64_t address_id)
{
	int n;

	if (r->stopping || r->failed || r->ended)
		return 0;
	if (r->waiting) {
		/* Asleep: wake now. Its scan may claim the address among others that came while it
		 * slept (a server's new jobs): then it is put ahead of them below. */
		evtimer_del(r->wait_ev);
		wait_cb(-1, EV_TIMEOUT, r);
	}
	if (sched_hurry(r->sched, address_id))
		return 1; /* held already (the scan, or a job's batch): now ahead */
	if (r->waiting || r->stopping || r->failed || r->ended)
		return 0;
	r->nbatch = 0;
	n = store_claim_one(r->store, address_id, (int64_t)now_wall(), claim_cb, r);
	if (n < 0) {
		run_fail(r, "job store: %s", store_errmsg(r->store));
		return -1;
	}
	feed_batch(r, -1);
	return n;
}

/* raise_fd_limit - as many descriptors as allowed; lowers the concurrency when they are few */
static void raise_fd_limit(struct sched_opts *so, FILE *note)
{
	long lim = fd_limit_raise();

	if (lim >= 0 && (long)so->concurrency + DEF_RUN_FD_RESERVE > lim) {
		int cap = lim > DEF_RUN_FD_RESERVE ? (int)(lim - DEF_RUN_FD_RESERVE) : 1;
		if (note)
			fprintf(note, "mailsift: note: %d sessions at most (open files limit %ld); "
			              "--concurrency %d lowered\n", cap, lim, so->concurrency);
		so->concurrency = cap;
	}
}

/* cache_json - one DNS cache table's figures to F */
static void cache_json(FILE *f, const char *name, const struct dns_cache_stats *c)
{
	long lookups = c->hits + c->misses;

	fprintf(f, "\"%s\": {\"entries\": %zu, \"peak\": %zu, \"limit\": %zu, \"hits\": %ld, "
	           "\"misses\": %ld, \"hit_rate\": ",
	        name, c->entries, c->peak, c->limit, c->hits, c->misses);
	if (lookups > 0)
		fprintf(f, "%.4f", (double)c->hits / (double)lookups);
	else
		fputs("null", f);
	fprintf(f, ", \"evicted\": %ld, \"expired\": %ld}", c->evicted, c->expired);
}

char *run_memory_json(const struct run *r)
{
	char *buf = NULL;
	size_t len = 0, peak_held, peak_domains, peak_hosts;
	long let_go;
	FILE *f = open_memstream(&buf, &len);
	struct dns_cache_stats dom, host;

	if (f == NULL)
		return NULL;
	sched_peaks(r->sched, &peak_held, &peak_domains, &peak_hosts, &let_go);
	dns_cache_stats(r->dns, &dom, &host);
	fprintf(f, "{\"working_set\": {\"addresses\": %zu, \"address_limit\": %zu, "
	           "\"peak_addresses\": %zu, \"domains\": %zu, \"domain_limit\": %zu, "
	           "\"peak_domains\": %zu}, \"mx_hosts\": {\"held\": %zu, \"peak\": %zu, "
	           "\"let_go\": %ld}, \"dns_cache\": {",
	        sched_held(r->sched), r->working_set, peak_held, sched_domains(r->sched),
	        r->working_domains, peak_domains, sched_hosts(r->sched), peak_hosts, let_go);
	cache_json(f, "domains", &dom);
	fputs(", ", f);
	cache_json(f, "hosts", &host);
	fputs("}}", f);
	fclose(f);
	return buf;
}

struct host_json_to {
	FILE *f;
	int first;                  /* none written yet */
};

/* host_json - one host of the run's statistics */
static void host_json(void *ctx, const struct store_host *h)
{
	struct host_json_to *to = ctx;
	FILE *f = to->f;

	fprintf(f, "%s{\"host\": ", to->first ? "" : ", ");
	json_put_string(f, h->ip);
	fprintf(f, ", \"source\": ");
	json_put_string(f, h->source);
	fprintf(f, ", \"sessions\": %lld, \"max_window\": %d, \"pushback\": %lld, "
	           "\"connect_failures\": %lld, \"pauses\": %lld}",
	        (long long)h->sessions, h->max_window, (long long)h->pushback,
	        (long long)h->connect_failures, (long long)h->pauses);
	to->first = 0;
}

static char *stats_json(struct run *r, double secs)
{
	char *mj = run_memory_json(r), *buf = NULL;
	size_t len = 0;
	long sessions, retries;
	FILE *f = open_memstream(&buf, &len);
	struct host_json_to to = {f, 1};

	if (f == NULL) {
		free(mj);
		return NULL;
	}
	sched_hosts_save(r->sched); /* with those let go before: the hosts of this run */
	sched_totals(r->sched, &sessions, &retries);
	fprintf(f, "{\"seconds\": %.3f, \"verdicts\": %lld, \"verdicts_per_second\": %.1f, "
	           "\"interrupted\": %s, \"memory\": %s, ",
	        secs, (long long)r->verdicts, secs > 0 ? (double)r->verdicts / secs : 0.0,
	        r->stopping ? "true" : "false", mj ? mj : "null");
	fprintf(f, "\"sessions\": %ld, \"retries\": %ld, \"hosts\": [", sessions, retries);
	if (store_run_hosts(r->store, r->run_id, host_json, &to) < 0)
		run_fail(r, "job store: %s", store_errmsg(r->store));
	fputs("]}", f);
	fclose(f);
	free(mj);
	return buf;
}

/* end_cb - from the loop: close the run's record in the store and tell the owner */
static void end_cb(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;
	struct run_result res;
	char err[512] = "";
	char *stats;

	(void)fd;
	(void)what;
	memset(&res, 0, sizeof res);
	res.seconds = clock_now() - r->started;
	res.verdicts = r->verdicts;
	res.interrupted = r->stopping;
	res.smtp_blocked = r->smtp_blocked;
	event_del(r->commit_ev);
	r->closing = 1;
	if (r->failed) {
		store_rollback(r->store);
	} else {
		stats = stats_json(r, res.seconds);
		if (store_run_end(r->store, r->run_id, (int64_t)now_wall(),
		                  r->stopping ? "interrupted" : "done", stats) < 0 ||
		    store_commit(r->store, err, sizeof err) < 0) {
			snprintf(r->err, sizeof r->err, "%s",
			         err[0] ? err : store_errmsg(r->store));
			r->failed = 1;
			store_rollback(r->store);
		}
		free(stats);
	}
	r->cb.done(r->ctx, &res, r->failed ? r->err : NULL);
}

/* run_begin - open the run's record and count what it has to do; 0, or -1 with err */
static int run_begin(struct run *r, char *err, size_t errlen)
{
	struct store_pending_stats ps;
	struct timeval tick = {0, (suseconds_t)(DEF_RUN_PROGRESS_TICK * 1e6)};
	int64_t now = (int64_t)now_wall();

	if (store_begin(r->store, err, errlen) < 0)
		return -1;
	r->run_id = store_run_begin(r->store, now, store_stale_before(r->o->max_age_days, now));
	if (r->run_id < 0 || store_pending_stats(r->store, now, &ps) < 0) {
		snprintf(err, errlen, "job store: %s", store_errmsg(r->store));
		store_rollback(r->store);
		return -1;
	}
	r->total = ps.due + ps.waiting + ps.done;
	r->done_at_start = ps.done;
	r->started = clock_now();
	r->rate_at = r->started;
	r->retry_wait = ps.waiting;
	r->retry_stats_at = r->started - DEF_RUN_RETRY_STATS_INTERVAL; /* first and last due: at the first tick */
	event_add(r->commit_ev, &tick);
	event_active(r->feed_ev, EV_TIMEOUT, 0);
	return 0;
}

struct run *run_new(struct event_base *base, struct store *s, const struct run_opts *o,
                    const struct run_callbacks *cb, void *ctx, FILE *note, char *err,
                    size_t errlen)
{
	static const struct sched_callbacks scb = {on_result, on_catch_all_lookup,
	                                           on_catch_all_learned, on_dns_cached, on_dns_learned,
	                                           on_host_saved, on_host_lookup, on_session};
	struct run *r = calloc(1, sizeof *r);

	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->store = s;
	r->o = o;
	r->so = o->sched;
	r->cb = *cb;
	r->ctx = ctx;
	r->base = base;
	raise_fd_limit(&r->so, note);
	r->working_set = (size_t)r->so.concurrency * DEF_WORKING_PER_SESSION;
	if (r->working_set < DEF_WORKING_MIN)
		r->working_set = DEF_WORKING_MIN;
	r->working_domains = (size_t)r->so.concurrency * DEF_WORKING_DOMAINS_PER_SESSION;
	if (r->working_domains < DEF_WORKING_DOMAINS_MIN)
		r->working_domains = DEF_WORKING_DOMAINS_MIN;
	r->batch = calloc(DEF_RUN_CLAIM_CHUNK, sizeof *r->batch);
	r->ssl = o->cfg->starttls ? smtp_ssl_ctx() : NULL;
	if (r->batch == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	r->dns = dns_new(base, o->cfg->resolvers, o->cfg->nresolvers, err, errlen);
	if (r->dns == NULL)
		goto fail;
	dns_allow_private(r->dns, o->cfg->allow_private_mx);
	dns_cache_limit(r->dns, (size_t)o->cfg->dns_cache);
	r->sched = sched_new(base, o->cfg, &r->so, r->dns, r->ssl, &scb, r);
	r->feed_ev = event_new(base, -1, 0, feed_cb, r);
	r->commit_ev = event_new(base, -1, EV_PERSIST, tick_cb, r);
	r->wait_ev = evtimer_new(base, wait_cb, r);
	r->drain_ev = evtimer_new(base, drain_cb, r);
	r->end_ev = event_new(base, -1, 0, end_cb, r);
	if (!r->sched || !r->feed_ev || !r->commit_ev || !r->wait_ev || !r->drain_ev || !r->end_ev) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (run_begin(r, err, errlen) < 0)
		goto fail;
	return r;
fail:
	r->ended = 1;
	run_free(r);
	return NULL;
}

void run_free(struct run *r)
{
	if (r == NULL)
		return;
	if (store_in_transaction(r->store))
		store_rollback(r->store);
	r->closing = 1;
	if (r->dns)
		dns_free(r->dns); /* before the scheduler: cancelled lookups call into it */
	sched_free(r->sched);
	if (r->ssl)
		SSL_CTX_free(r->ssl);
	if (r->feed_ev)
		event_free(r->feed_ev);
	if (r->commit_ev)
		event_free(r->commit_ev);
	if (r->wait_ev)
		event_free(r->wait_ev);
	if (r->drain_ev)
		event_free(r->drain_ev);
	if (r->end_ev)
		event_free(r->end_ev);
	free(r->batch);
	free(r);
}
