/*
 * verify - immediate verification of a few addresses (see verify.h).
 *
 * The same mechanism as `mailsift run`: the scheduler (sched) does DNS, sessions, catch-all and
 * host politeness; this file only keeps the addresses in memory instead of a job store and
 * waits for retries with timers.
 */
#include "engine/verify.h"

#include <event2/event.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/timeval.h"
#include "engine/decide.h"
#include "engine/dns.h"
#include "engine/sched.h"
#include "engine/smtp.h"

/* One address being verified: the caller's item and what the run needs besides. */
struct vaddr {
	struct verify *v;
	size_t index;
	struct verify_item *it;
	int done;                    /* verdict final */
	char source[64];             /* source of the first attempt (the greylist triple) */
	struct event *retry;         /* timer for the next attempt */
	double started;              /* monotonic seconds */
};

struct verify {
	const struct probe_config *cfg;
	struct event_base *base;
	struct dns *dns;
	SSL_CTX *ssl;
	struct sched *sched;
	struct vaddr *addr;
	size_t naddr;
	size_t pending;              /* addresses without a final verdict */
	int closing;                 /* results printed: late callbacks change nothing */
	struct event *end_check;     /* the loop ends once sessions finished their QUIT */
};

static void submit(struct vaddr *a)
{
	struct sched_addr sa = {(int64_t)a->index, a->it->address, a->it->domain, a->it->flags,
	                        a->it->attempts, a->source[0] ? a->source : NULL};

	sched_add(a->v->sched, &sa);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	submit(arg);
}

static void end_check_cb(evutil_socket_t fd, short what, void *arg)
{
	struct verify *v = arg;
	struct timeval again = {0, 20000};

	(void)fd;
	(void)what;
	if (v->pending == 0 && sched_sessions(v->sched) == 0)
		event_base_loopbreak(v->base);
	else
		evtimer_add(v->end_check, &again);
}

/* ---- scheduler callbacks ---- */

static void on_result(void *ctx, const struct sched_result *r)
{
	struct verify *v = ctx;
	struct vaddr *a = &v->addr[r->id];

	if (v->closing)
		return;
	struct verify_item *it = a->it;

	it->attempts = r->attempts;
	if (a->source[0] == '\0' && r->source)
		snprintf(a->source, sizeof a->source, "%s", r->source);
	it->verdict = r->verdict;
	it->have_reply = r->reply != NULL;
	if (r->reply)
		it->reply = *r->reply;
	snprintf(it->detail, sizeof it->detail, "%s", r->detail ? r->detail : "");
	snprintf(it->mx_host, sizeof it->mx_host, "%s", r->mx_host ? r->mx_host : "");
	it->tls = r->tls;
	it->catch_all = r->catch_all;
	if (r->verdict.retry) {
		double wait = sched_retry_wait(v->cfg, r);
		struct timeval tv = timeval_from_secs(wait);
		evtimer_add(a->retry, &tv);
		return;
	}
	a->done = 1;
	it->seconds = clock_now() - a->started;
	v->pending--;
}

static void mx_hosts_cb(void *arg, const struct dns_result *r)
{
	struct vaddr *a = arg;

	if (a->v->closing)
		return;
	a->it->nmx = 0;
	for (size_t h = 0; h < r->nhosts && h < DNS_MAX_HOSTS; h++)
		snprintf(a->it->mx_hosts[a->it->nmx++], sizeof a->it->mx_hosts[0], "%s",
		         r->hosts[h].name);
}

/* ---- setup ---- */

int verify_run(const struct probe_config *c, struct verify_item *items, size_t n, char *err,
               size_t errlen)
{
	static const struct sched_callbacks cb = {on_result, NULL, NULL, NULL, NULL};
	struct sched_opts so = {DEF_CONCURRENCY, DEF_PER_HOST, NULL, 0};
	struct verify v;
	struct timeval soon = {0, 0};
	int rc = -1;

	memset(&v, 0, sizeof v);
	v.cfg = c;
	v.naddr = n;
	v.addr = calloc(v.naddr ? v.naddr : 1, sizeof *v.addr);
	v.base = event_base_new();
	v.ssl = c->starttls ? smtp_ssl_ctx() : NULL;
	if (v.addr == NULL || v.base == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	v.dns = dns_new(v.base, c->resolvers, c->nresolvers, err, errlen);
	if (v.dns == NULL)
		goto out;
	dns_allow_private(v.dns, c->allow_private_mx);
	v.sched = sched_new(v.base, c, &so, v.dns, v.ssl, &cb, &v);
	v.end_check = evtimer_new(v.base, end_check_cb, &v);
	if (v.sched == NULL || v.end_check == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < v.naddr; i++) {
		struct vaddr *a = &v.addr[i];

		a->v = &v;
		a->index = i;
		a->it = &items[i];
		a->started = clock_now();
		if (a->it->address == NULL)
			continue; /* not ours to verify (its syntax is refused) */
		a->retry = evtimer_new(v.base, retry_cb, a);
		if (a->retry == NULL)
			abort();
		v.pending++;
		dns_mail_hosts(v.dns, a->it->domain, mx_hosts_cb, a); /* shared with sched's */
		submit(a);
	}
	evtimer_add(v.end_check, &soon);
	if (v.pending > 0)
		event_base_dispatch(v.base);
	rc = 0;
out:
	v.closing = 1;
	if (v.dns)
		dns_free(v.dns); /* before the scheduler: cancelled lookups call into it */
	sched_free(v.sched);
	for (size_t i = 0; v.addr != NULL && i < v.naddr; i++)
		if (v.addr[i].retry)
			event_free(v.addr[i].retry);
	if (v.end_check)
		event_free(v.end_check);
	if (v.ssl)
		SSL_CTX_free(v.ssl);
	if (v.base)
		event_base_free(v.base);
	free(v.addr);
	return rc;
}
