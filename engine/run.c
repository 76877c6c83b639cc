/*
 * run - the store-backed run of the scheduler (see run.h).
 *
 * The run claims pending addresses from the store in id order into a bounded working set
 * (DEF_WORKING_PER_SESSION per allowed session), hands them to sched, and writes each result in
 * the open transaction, committed every DEF_COMMIT_INTERVAL seconds. Retries that have come due
 * are claimed too, through the store's retry index, every DEF_RETRY_CLAIM_INTERVAL while the
 * scan goes on (claim_due), so they leave on time on a long list. When nothing is left to claim
 * it looks at what waits for a retry and sleeps until the first one is due.
 */
#include "engine/run.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "engine/clock.h"
#include "engine/progress.h"
#include "engine/smtp.h"

#define CLAIM_CHUNK 1000            /* addresses read from the store per query */
#define PROGRESS_TICK 0.1           /* seconds between progress checks */
#define FD_RESERVE 64               /* descriptors kept for the store, DNS and stdio */
#define RATE_INTERVAL 1.0           /* seconds between samples of the verdict rate */
#define RATE_WEIGHT 0.2             /* weight of a new sample (about the last 5 s count) */
#define RETRY_STATS_INTERVAL 2.0    /* seconds between counts of the addresses waiting to retry */

struct claimed {
	int64_t id;
	char *address, *domain, *source;
	unsigned flags;
	int attempts;
};

struct run {
	struct store *store;
	const struct run_opts *o;
	struct event_base *base;
	struct dns *dns;
	SSL_CTX *ssl;
	struct sched *sched;
	struct event *feed_ev;          /* claim more (deferred: never from inside a callback) */
	struct event *commit_ev;        /* periodic commit and progress */
	struct event *wait_ev;          /* sleeping until a retry is due */
	struct event *sig_int, *sig_term;
	struct event *drain_ev;         /* end of the grace period after a signal */
	struct progress progress;
	size_t working_set;
	int64_t cursor;                 /* claim ids above this */
	double due_check_at;            /* monotonic: look for due retries from then on */
	int scan_done;                  /* the scan reached the end of the table */
	int waiting;                    /* sleeping for retries */
	int stopping;                   /* a signal came */
	int closing;                    /* tearing down: late callbacks change nothing */
	int finishing;                  /* every verdict is in: waiting for sessions to QUIT */
	double last_commit;             /* progress clock of the last periodic commit */
	int failed;
	char err[512];
	int64_t uncommitted;
	int64_t total, done_at_start, verdicts, retries;
	int64_t by_status[STATUS_COUNT];
	double started;
	/* progress: a recent rate (not the whole run's, which waits for retries) and the
	 * addresses waiting for a retry, read from the store's index every RETRY_STATS_INTERVAL */
	double rate, rate_at;
	int64_t rate_verdicts;
	int64_t retry_wait, retry_first, retry_last;
	double retry_stats_at;
	struct claimed *batch;          /* claim buffer */
	size_t nbatch;
};

static double now_wall(void)
{
	return (double)time(NULL);
}

static void commit(struct run *r)
{
	char err[512];

	if (r->failed)
		return;
	if (store_commit(r->store, err, sizeof err) < 0 ||
	    store_begin(r->store, err, sizeof err) < 0) {
		snprintf(r->err, sizeof r->err, "%s", err);
		r->failed = 1;
		event_base_loopbreak(r->base);
	}
	r->uncommitted = 0;
}

/* ---- scheduler callbacks ---- */

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
		r->verdicts++;
		r->by_status[res->verdict.status]++;
	}
	if (rc < 0 && !r->failed) {
		snprintf(r->err, sizeof r->err, "job store: %s", store_errmsg(r->store));
		r->failed = 1;
		event_base_loopbreak(r->base);
	}
	if (++r->uncommitted >= DEF_COMMIT_RESULTS)
		commit(r);
	if (!r->stopping && sched_held(r->sched) < r->working_set / 2)
		event_active(r->feed_ev, EV_TIMEOUT, 0);
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

/* feed_batch - the claimed batch to the scheduler, marked in flight; SCAN: it came from the scan
 * (its cursor moves on), else from the retry index */
static void feed_batch(struct run *r, int scan)
{
	for (size_t i = 0; i < r->nbatch; i++) {
		struct claimed *c = &r->batch[i];
		struct sched_addr a = {c->id, c->address, c->domain, c->flags, c->attempts, c->source};
		store_mark_in_flight(r->store, c->id);
		if (scan)
			r->cursor = c->id;
		sched_add(r->sched, &a);
		free(c->address);
		free(c->domain);
		free(c->source);
	}
	r->nbatch = 0;
}

/* claim_due - retries that are due join the working set while the scan goes on (at most once
 * per DEF_RETRY_CLAIM_INTERVAL, more often while a full chunk comes back): a greylisted
 * address leaves at its time, not at the end of the pass. Returns -1 on a store error. */
static int claim_due(struct run *r, int64_t now)
{
	size_t want;
	int n;

	if (clock_now() < r->due_check_at || sched_held(r->sched) >= r->working_set)
		return 0;
	want = r->working_set - sched_held(r->sched);
	if (want > CLAIM_CHUNK)
		want = CLAIM_CHUNK;
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
		snprintf(r->err, sizeof r->err, "job store: %s", store_errmsg(r->store));
		r->failed = 1;
		event_base_loopbreak(r->base);
		return;
	}
	while (!r->scan_done && sched_held(r->sched) < r->working_set) {
		size_t want = r->working_set - sched_held(r->sched);
		int n;

		if (want > CLAIM_CHUNK)
			want = CLAIM_CHUNK;
		r->nbatch = 0;
		n = store_claim(r->store, r->cursor, now, (int)want, claim_cb, r);
		if (n < 0) {
			snprintf(r->err, sizeof r->err, "job store: %s", store_errmsg(r->store));
			r->failed = 1;
			event_base_loopbreak(r->base);
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
	event_active(r->feed_ev, EV_TIMEOUT, 0);
}

/* finish_or_wait - the scan is done and nothing is held: more due, retries later, or the end */
static void finish_or_wait(struct run *r)
{
	struct store_pending_stats ps;
	int64_t now = (int64_t)now_wall();

	commit(r);
	if (store_pending_stats(r->store, now, &ps) < 0) {
		snprintf(r->err, sizeof r->err, "job store: %s", store_errmsg(r->store));
		r->failed = 1;
		event_base_loopbreak(r->base);
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
		char text[256];
		r->waiting = 1;
		evtimer_add(r->wait_ev, &tv);
		snprintf(text, sizeof text,
		         "waiting %lld s for the next retry (%lld addresses wait: greylisting or "
		         "temporary failures)", (long long)secs, (long long)ps.waiting);
		progress_show(&r->progress, -1, text, 1);
		return;
	}
	/* Every address has its verdict; sessions still saying QUIT get to finish it. */
	if (sched_sessions(r->sched) > 0) {
		r->finishing = 1;
		return;
	}
	event_base_loopbreak(r->base);
}

/* ---- progress, commits, signals ---- */

/* duration_text - "45 s", "12 min", "2 h 05 min" */
static const char *duration_text(double secs, char *buf, size_t n)
{
	long s = secs > 0 ? (long)(secs + 0.5) : 0;

	if (s < 120)
		snprintf(buf, n, "%ld s", s);
	else if (s < 7200)
		snprintf(buf, n, "%ld min", (s + 30) / 60);
	else
		snprintf(buf, n, "%ld h %02ld min", s / 3600, (s % 3600 + 30) / 60);
	return buf;
}

/* progress_sample - refresh the recent rate and the count of addresses waiting to retry */
static void progress_sample(struct run *r)
{
	double now = clock_now();

	if (now - r->rate_at >= RATE_INTERVAL) {
		double sample = (double)(r->verdicts - r->rate_verdicts) / (now - r->rate_at);
		r->rate = r->rate == 0 ? sample : (1 - RATE_WEIGHT) * r->rate + RATE_WEIGHT * sample;
		r->rate_at = now;
		r->rate_verdicts = r->verdicts;
	}
	if (now - r->retry_stats_at >= RETRY_STATS_INTERVAL) {
		store_retry_waiting(r->store, (int64_t)now_wall(), &r->retry_wait, &r->retry_first,
		                    &r->retry_last);
		r->retry_stats_at = now;
	}
}

/* retry_progress - the progress line while only retries remain: how many wait, when the next
 * leaves, and an ETA from the retry schedule (the last one due), not from a verdict rate that
 * is zero meanwhile */
static void retry_progress(struct run *r, int64_t done)
{
	int64_t wall = (int64_t)now_wall();
	time_t next = (time_t)(r->retry_first > wall ? r->retry_first : wall);
	struct tm tm;
	char text[640], at[16] = "?", d1[32];

	if (localtime_r(&next, &tm))
		strftime(at, sizeof at, "%H:%M:%S", &tm);
	snprintf(text, sizeof text,
	         "verifying: %lld/%lld | valid %lld invalid %lld risky %lld catch_all %lld unknown "
	         "%lld | %lld addresses wait for a retry, the next at %s, ETA %s (the last retry due)",
	         (long long)done, (long long)r->total, (long long)r->by_status[STATUS_VALID],
	         (long long)r->by_status[STATUS_INVALID], (long long)r->by_status[STATUS_RISKY],
	         (long long)r->by_status[STATUS_CATCH_ALL], (long long)r->by_status[STATUS_UNKNOWN],
	         (long long)r->retry_wait, at,
	         duration_text((double)(r->retry_last - wall), d1, sizeof d1));
	progress_show(&r->progress, r->total ? (double)done / (double)r->total : -1, text, 0);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;
	int64_t done = r->done_at_start + r->verdicts;
	int64_t first_pass = r->total - done - r->retry_wait; /* not waiting for a retry */
	char text[640], eta[96], retry[128] = "", d1[32], d2[32];
	int64_t wall = (int64_t)now_wall();
	double rate, secs = clock_now() - r->started;
	size_t blocked;

	(void)fd;
	(void)what;
	if (r->finishing && sched_sessions(r->sched) == 0) {
		event_base_loopbreak(r->base);
		return;
	}
	if (r->stopping && sched_sessions(r->sched) == 0) {
		sched_cancel(r->sched); /* every session said QUIT: hand back what waits */
		event_base_loopbreak(r->base);
		return;
	}
	if (clock_now() - r->last_commit >= DEF_COMMIT_INTERVAL) {
		commit(r);
		r->last_commit = clock_now();
	}
	progress_sample(r);
	if (!r->failed && (blocked = sched_smtp_blocked(r->sched)) > 0) {
		snprintf(r->err, sizeof r->err,
		         "outbound SMTP looks blocked here: %zu mail hosts refused or timed out a TCP "
		         "connection on port %d and none took one. Home ISPs and many cloud providers "
		         "block outbound SMTP: run mailsift where it is open. Nothing was marked "
		         "invalid; the addresses tried so far retry after --greylist-delay, the rest "
		         "are untouched.",
		         blocked, r->o->cfg->smtp_port);
		r->failed = 1;
		event_base_loopbreak(r->base);
		return;
	}
	if (!r->waiting && !r->stopping && !r->failed && clock_now() >= r->due_check_at &&
	    sched_held(r->sched) < r->working_set)
		event_active(r->feed_ev, EV_TIMEOUT, 0); /* retries may be due */
	if (r->waiting || (first_pass <= 0 && r->retry_wait > 0)) {
		retry_progress(r, done);
		return;
	}
	/* the recent rate once there is one, the whole run's until then */
	rate = r->rate > 0 ? r->rate : secs > 0 ? (double)r->verdicts / secs : 0;
	/* The ETA covers what can be asked now; greylisted addresses wait for their retry time,
	 * which no rate shortens: said apart. */
	if (first_pass <= 0)
		snprintf(eta, sizeof eta, "ETA -");
	else if (rate > 0)
		snprintf(eta, sizeof eta, "ETA %s", duration_text((double)first_pass / rate, d1, sizeof d1));
	else
		snprintf(eta, sizeof eta, "ETA ?");
	if (r->retry_wait > 0 && r->retry_last > r->retry_first)
		snprintf(retry, sizeof retry, ", %lld wait for a retry (next in %s, last in %s)",
		         (long long)r->retry_wait,
		         duration_text((double)(r->retry_first - wall), d1, sizeof d1),
		         duration_text((double)(r->retry_last - wall), d2, sizeof d2));
	else if (r->retry_wait > 0)
		snprintf(retry, sizeof retry, ", %lld wait for a retry (due in %s)",
		         (long long)r->retry_wait,
		         duration_text((double)(r->retry_first - wall), d1, sizeof d1));
	snprintf(text, sizeof text,
	         "verifying: %lld/%lld, %.0f/s, %s | valid %lld invalid %lld risky %lld "
	         "catch_all %lld unknown %lld | sessions %zu, hosts paused %zu%s",
	         (long long)done, (long long)r->total, rate, eta,
	         (long long)r->by_status[STATUS_VALID], (long long)r->by_status[STATUS_INVALID],
	         (long long)r->by_status[STATUS_RISKY], (long long)r->by_status[STATUS_CATCH_ALL],
	         (long long)r->by_status[STATUS_UNKNOWN], sched_sessions(r->sched),
	         sched_hosts_paused(r->sched), retry);
	progress_show(&r->progress, r->total ? (double)done / (double)r->total : -1, text, 0);
}

static void drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;

	(void)fd;
	(void)what;
	sched_cancel(r->sched); /* the grace period is over */
	event_base_loopbreak(r->base);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct run *r = arg;
	struct timeval grace = {(time_t)DEF_DRAIN_SECONDS, 0};

	(void)what;
	if (r->stopping)
		return;
	r->stopping = 1;
	/* A second signal kills at once (the store stays consistent: WAL). */
	event_del(r->sig_int);
	event_del(r->sig_term);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	progress_end(&r->progress);
	fprintf(stderr, "mailsift: %s: letting open sessions finish (%.0f s at most; again to stop "
	                "now)\n", sig == SIGINT ? "interrupt" : "terminate", DEF_DRAIN_SECONDS);
	sched_drain(r->sched);
	if (r->waiting || sched_sessions(r->sched) == 0) {
		sched_cancel(r->sched);
		event_base_loopbreak(r->base);
		return;
	}
	evtimer_add(r->drain_ev, &grace);
}

/* raise_fd_limit - as many descriptors as allowed; lowers the concurrency when they are few */
static void raise_fd_limit(struct sched_opts *so, int quiet)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)so->concurrency + FD_RESERVE > rl.rlim_cur) {
		int cap = rl.rlim_cur > FD_RESERVE ? (int)(rl.rlim_cur - FD_RESERVE) : 1;
		if (!quiet)
			fprintf(stderr, "mailsift: note: %d sessions at most (open files limit %llu); "
			                "--concurrency %d lowered\n", cap,
			        (unsigned long long)rl.rlim_cur, so->concurrency);
		so->concurrency = cap;
	}
}

static char *stats_json(struct run *r, double secs)
{
	char *sj = sched_stats_json(r->sched), *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL) {
		free(sj);
		return NULL;
	}
	fprintf(f, "{\"seconds\": %.3f, \"verdicts\": %lld, \"verdicts_per_second\": %.1f, "
	           "\"interrupted\": %s, ",
	        secs, (long long)r->verdicts, secs > 0 ? (double)r->verdicts / secs : 0.0,
	        r->stopping ? "true" : "false");
	fputs(sj && sj[0] == '{' ? sj + 1 : "}", f);
	fclose(f);
	free(sj);
	return buf;
}

int run_store(struct store *s, const struct run_opts *o, struct run_result *res, char *err,
              size_t errlen)
{
	static const struct sched_callbacks cb = {on_result, on_catch_all_lookup,
	                                          on_catch_all_learned, on_dns_cached, on_dns_learned};
	struct run r;
	struct sched_opts so = o->sched;
	struct store_pending_stats ps;
	struct timeval tick = {0, (suseconds_t)(PROGRESS_TICK * 1e6)};
	int64_t run_id, now = (int64_t)now_wall();
	int rc = -1;
	char *stats;

	memset(&r, 0, sizeof r);
	memset(res, 0, sizeof *res);
	r.store = s;
	r.o = o;
	raise_fd_limit(&so, o->quiet);
	r.working_set = (size_t)so.concurrency * DEF_WORKING_PER_SESSION;
	if (r.working_set < DEF_WORKING_MIN)
		r.working_set = DEF_WORKING_MIN;
	r.batch = calloc(CLAIM_CHUNK, sizeof *r.batch);
	r.base = event_base_new();
	r.ssl = o->cfg->starttls ? smtp_ssl_ctx() : NULL;
	if (r.batch == NULL || r.base == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	r.dns = dns_new(r.base, o->cfg->resolvers, o->cfg->nresolvers, err, errlen);
	if (r.dns == NULL)
		goto out;
	dns_allow_private(r.dns, o->cfg->allow_private_mx);
	r.sched = sched_new(r.base, o->cfg, &so, r.dns, r.ssl, &cb, &r);
	r.feed_ev = event_new(r.base, -1, 0, feed_cb, &r);
	r.commit_ev = event_new(r.base, -1, EV_PERSIST, tick_cb, &r);
	r.wait_ev = evtimer_new(r.base, wait_cb, &r);
	r.drain_ev = evtimer_new(r.base, drain_cb, &r);
	r.sig_int = evsignal_new(r.base, SIGINT, signal_cb, &r);
	r.sig_term = evsignal_new(r.base, SIGTERM, signal_cb, &r);
	if (!r.sched || !r.feed_ev || !r.commit_ev || !r.wait_ev || !r.drain_ev || !r.sig_int ||
	    !r.sig_term) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	event_add(r.sig_int, NULL);
	event_add(r.sig_term, NULL);
	progress_init(&r.progress, stderr, o->quiet);

	if (store_begin(s, err, errlen) < 0)
		goto out;
	run_id = store_run_begin(s, now, o->max_age_days > 0
	                                         ? now - (int64_t)(o->max_age_days * 86400.0)
	                                         : 0);
	if (run_id < 0 || store_pending_stats(s, now, &ps) < 0) {
		snprintf(err, errlen, "job store: %s", store_errmsg(s));
		store_rollback(s);
		goto out;
	}
	r.total = ps.due + ps.waiting + ps.done;
	r.done_at_start = ps.done;
	r.started = clock_now();
	r.rate_at = r.started;
	r.retry_wait = ps.waiting;
	r.retry_stats_at = r.started - RETRY_STATS_INTERVAL; /* first and last due: at the first tick */
	event_add(r.commit_ev, &tick);
	event_active(r.feed_ev, EV_TIMEOUT, 0);
	event_base_dispatch(r.base);

	progress_end(&r.progress);
	res->seconds = clock_now() - r.started;
	res->verdicts = r.verdicts;
	res->interrupted = r.stopping;
	if (r.failed) {
		snprintf(err, errlen, "%s", r.err);
		store_rollback(s);
		goto out;
	}
	stats = stats_json(&r, res->seconds);
	if (store_run_end(s, run_id, (int64_t)now_wall(), r.stopping ? "interrupted" : "done",
	                  stats) < 0 ||
	    store_commit(s, err, errlen) < 0) {
		free(stats);
		if (err[0] == '\0')
			snprintf(err, errlen, "job store: %s", store_errmsg(s));
		goto out;
	}
	free(stats);
	rc = 0;
out:
	if (store_in_transaction(s))
		store_rollback(s);
	r.closing = 1;
	if (r.dns)
		dns_free(r.dns); /* before the scheduler: cancelled lookups call into it */
	sched_free(r.sched);
	if (r.ssl)
		SSL_CTX_free(r.ssl);
	if (r.feed_ev)
		event_free(r.feed_ev);
	if (r.commit_ev)
		event_free(r.commit_ev);
	if (r.wait_ev)
		event_free(r.wait_ev);
	if (r.drain_ev)
		event_free(r.drain_ev);
	if (r.sig_int)
		event_free(r.sig_int);
	if (r.sig_term)
		event_free(r.sig_term);
	if (r.base)
		event_base_free(r.base);
	free(r.batch);
	return rc;
}
