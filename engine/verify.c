/*
 * verify - immediate verification of a few addresses (see verify.h).
 *
 * The same mechanism as `mailsift run`: the scheduler (sched) does DNS, sessions, catch-all and
 * host politeness; this file only keeps the addresses in memory instead of a job store, waits
 * for retries with timers, and prints JSON.
 */
#include "engine/verify.h"

#include <event2/event.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/clock.h"
#include "engine/decide.h"
#include "engine/dns.h"
#include "engine/sched.h"
#include "engine/smtp.h"
#include "exporters/json.h"
#include "importers/check.h"

/* One address given on the command line. */
struct vaddr {
	struct verify *v;
	size_t index;
	const char *input;
	struct check_result cr;      /* syntax, normalized parts, flags, suggestion */
	int done;                    /* verdict final */
	int attempts;
	char source[64];             /* source of the first attempt (the greylist triple) */
	struct decide_out verdict;
	struct reply reply;          /* the deciding reply, when there is one */
	int have_reply;
	char mx_host[256];
	char detail[256];
	int tls;
	enum catch_all catch_all;
	char mx_hosts[DNS_MAX_HOSTS][256]; /* the domain's MX hosts, for the report */
	size_t nmx;
	struct event *retry;         /* timer for the next attempt */
	double started, finished;    /* monotonic seconds */
};

struct verify {
	const struct probe_config *cfg;
	struct event_base *base;
	struct dns *dns;
	SSL_CTX *ssl;
	struct check *check;
	struct sched *sched;
	struct vaddr *addr;
	size_t naddr;
	size_t pending;              /* addresses without a final verdict */
	int closing;                 /* results printed: late callbacks change nothing */
	struct event *end_check;     /* the loop ends once sessions finished their QUIT */
};

static void submit(struct vaddr *a)
{
	struct sched_addr sa = {(int64_t)a->index, a->cr.addr.address, a->cr.addr.domain,
	                        a->cr.flags, a->attempts, a->source[0] ? a->source : NULL};

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
	a->attempts = r->attempts;
	if (a->source[0] == '\0' && r->source)
		snprintf(a->source, sizeof a->source, "%s", r->source);
	a->verdict = r->verdict;
	a->have_reply = r->reply != NULL;
	if (r->reply)
		a->reply = *r->reply;
	snprintf(a->detail, sizeof a->detail, "%s", r->detail ? r->detail : "");
	snprintf(a->mx_host, sizeof a->mx_host, "%s", r->mx_host ? r->mx_host : "");
	a->tls = r->tls;
	a->catch_all = r->catch_all;
	if (r->verdict.retry) {
		double wait = sched_retry_wait(v->cfg, r);
		struct timeval tv = {(time_t)wait, (suseconds_t)((wait - (double)(time_t)wait) * 1e6)};
		evtimer_add(a->retry, &tv);
		return;
	}
	a->done = 1;
	a->finished = clock_now();
	v->pending--;
}

static void mx_hosts_cb(void *arg, const struct dns_result *r)
{
	struct vaddr *a = arg;

	if (a->v->closing)
		return;
	for (size_t h = 0; h < r->nhosts && h < DNS_MAX_HOSTS; h++)
		snprintf(a->mx_hosts[a->nmx++], sizeof a->mx_hosts[0], "%s", r->hosts[h].name);
}

/* ---- output ---- */

static void print_result(FILE *out, const struct vaddr *a)
{
	char flags[64];
	const char *status = verdict_status_name(a->verdict.status);

	fprintf(out, "{\"address\": ");
	json_string(out, a->input);
	fprintf(out, ", \"normalized\": ");
	json_string_or_null(out, a->cr.problem == ADDR_OK ? a->cr.addr.address : NULL);
	fprintf(out, ", \"status\": \"%s\", \"reason\": ", status);
	json_string(out, a->verdict.reason);
	fprintf(out, ", \"detail\": ");
	json_string_or_null(out, a->cr.problem != ADDR_OK ? addr_problem_text(a->cr.problem)
	                                                  : a->detail);
	verdict_flags_text(a->cr.flags | (a->catch_all == CATCH_ALL_YES ? FLAG_CATCH_ALL : 0), flags,
	                   sizeof flags);
	fprintf(out, ", \"flags\": [");
	for (char *p = flags, *q; *p; p = q) {
		q = strchr(p, ';');
		size_t n = q ? (size_t)(q - p) : strlen(p);
		fprintf(out, "%s\"%.*s\"", p == flags ? "" : ", ", (int)n, p);
		q = q ? q + 1 : p + n;
	}
	fprintf(out, "], \"suggestion\": ");
	json_string_or_null(out, a->cr.suggestion);
	fprintf(out, ", \"mx_hosts\": [");
	for (size_t h = 0; h < a->nmx; h++) {
		fprintf(out, "%s", h ? ", " : "");
		json_string(out, a->mx_hosts[h]);
	}
	fprintf(out, "], \"mx_host\": ");
	json_string_or_null(out, a->mx_host);
	if (a->have_reply) {
		fprintf(out, ", \"smtp_code\": %d, \"enhanced_code\": ", a->reply.code);
		json_string_or_null(out, a->reply.enhanced);
		fprintf(out, ", \"smtp_message\": ");
		json_string(out, a->reply.text);
	} else {
		fprintf(out, ", \"smtp_code\": null, \"enhanced_code\": null, \"smtp_message\": null");
	}
	fprintf(out, ", \"tls\": %s, \"catch_all\": %s, \"attempts\": %d, \"duration_ms\": %.0f}\n",
	        a->tls ? "true" : "false",
	        a->catch_all == CATCH_ALL_YES ? "true" : a->catch_all == CATCH_ALL_NO ? "false" : "null",
	        a->attempts, (a->finished - a->started) * 1000.0);
}

/* ---- setup ---- */

int verify_run(const struct probe_config *c, char *const *addresses, int n, FILE *out, char *err,
               size_t errlen)
{
	static const struct sched_callbacks cb = {on_result, NULL, NULL, NULL, NULL};
	struct sched_opts so = {DEF_CONCURRENCY, DEF_PER_HOST, NULL, 0};
	struct verify v;
	struct timeval soon = {0, 0};
	int rc = -1;

	memset(&v, 0, sizeof v);
	v.cfg = c;
	v.naddr = (size_t)n;
	v.addr = calloc(v.naddr ? v.naddr : 1, sizeof *v.addr);
	v.check = check_new();
	v.base = event_base_new();
	v.ssl = c->starttls ? smtp_ssl_ctx() : NULL;
	if (v.addr == NULL || v.check == NULL || v.base == NULL) {
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
		a->input = addresses[i];
		a->started = clock_now();
		check_address(v.check, a->input, strlen(a->input), &a->cr);
		if (a->cr.problem != ADDR_OK) {
			a->verdict.status = STATUS_INVALID;
			a->verdict.reason = REASON_SYNTAX;
			a->done = 1;
			a->finished = a->started;
			continue;
		}
		a->retry = evtimer_new(v.base, retry_cb, a);
		if (a->retry == NULL)
			abort();
		v.pending++;
		dns_mail_hosts(v.dns, a->cr.addr.domain, mx_hosts_cb, a); /* shared with sched's */
		submit(a);
	}
	evtimer_add(v.end_check, &soon);
	if (v.pending > 0)
		event_base_dispatch(v.base);
	for (size_t i = 0; i < v.naddr; i++)
		print_result(out, &v.addr[i]);
	fflush(out);
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
	check_free(v.check);
	free(v.addr);
	return rc;
}
