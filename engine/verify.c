/*
 * verify - immediate verification of a few addresses (see verify.h).
 */
#include "engine/verify.h"

#include <event2/event.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "engine/decide.h"
#include "engine/dns.h"
#include "engine/providers.h"
#include "engine/smtp.h"
#include "exporters/json.h"
#include "importers/check.h"

#define PROBE_LOCAL_LEN 20 /* random local part of the catch-all probe: cannot exist */
#define PROBE_ID (-1L)     /* next_rcpt id of the catch-all probe */

struct vdomain;

/* One address given on the command line. */
struct vaddr {
	const char *input;
	struct check_result cr;      /* syntax, normalized parts, flags, suggestion */
	struct vdomain *dom;         /* NULL when the syntax is invalid */
	int done;                    /* verdict final */
	int attempts;                /* sessions that asked about it (or tried to) */
	int asked;                   /* pulled by the current session */
	int answered;                /* the current session answered it */
	enum reply_outcome outcome;  /* that answer */
	struct reply reply;          /* the deciding reply, when there is one */
	int have_reply;
	char mx_host[256];
	char detail[256];
	int tls;
	struct decide_out verdict;
	double started, finished;    /* monotonic seconds */
};

/* One recipient domain: DNS once, then sessions (the first one probes catch-all). */
struct vdomain {
	char name[256];
	struct verify *v;
	struct dns_result dns;       /* copy of the answer; its detail points at dns_detail */
	char dns_detail[256];
	int dns_done;
	enum catch_all catch_all;
	int probe_pending;           /* the catch-all probe is yet to be asked in this session */
	char probe_addr[300];
	size_t *members;             /* indexes into verify.addr */
	size_t nmembers;
	size_t cursor;               /* next member to offer in the current session */
	struct event *retry;         /* timer for the next attempt */
	int session_live;
};

struct verify {
	const struct probe_config *cfg;
	struct event_base *base;
	struct dns *dns;
	SSL_CTX *ssl;
	struct check *check;
	struct vaddr *addr;
	size_t naddr;
	struct vdomain *dom;
	size_t ndom;
	size_t pending;              /* addresses without a final verdict */
	size_t live;                 /* sessions open (they finish their QUIT before the end) */
	int closing;                 /* results printed: late callbacks change nothing */
};

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void finalize(struct verify *v, struct vaddr *a)
{
	if (a->done)
		return;
	a->done = 1;
	a->finished = now_mono();
	if (--v->pending == 0 && v->live == 0)
		event_base_loopbreak(v->base);
}

static void start_session(struct vdomain *d);

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	start_session(arg);
}

/* judge - the verdict of one member after a session; schedules the domain's retry if needed */
static int judge(struct vdomain *d, struct vaddr *a, const struct smtp_session_result *sr)
{
	struct decide_in in = {
		.dns = DNS_OK,
		.rcpt_answered = a->answered,
		.rcpt = a->outcome,
		.session = sr->end,
		.catch_all = d->catch_all,
		.flags = a->cr.flags,
		.last_attempt = a->attempts >= d->v->cfg->max_attempts,
	};

	decide(&in, &a->verdict);
	if (!a->answered && sr->reply && !a->have_reply) {
		a->reply = *sr->reply;
		a->have_reply = 1;
	}
	if (sr->mx_host)
		snprintf(a->mx_host, sizeof a->mx_host, "%s", sr->mx_host);
	if (!a->answered && sr->detail && sr->detail[0])
		snprintf(a->detail, sizeof a->detail, "%s", sr->detail);
	a->tls = sr->tls;
	if (a->verdict.retry)
		return 1;
	finalize(d->v, a);
	return 0;
}

/* ---- session callbacks ---- */

static const char *next_rcpt(void *ctx, long *id, int *utf8)
{
	struct vdomain *d = ctx;

	if (d->probe_pending) {
		d->probe_pending = 0;
		*id = PROBE_ID;
		*utf8 = 0;
		return d->probe_addr;
	}
	while (d->cursor < d->nmembers) {
		size_t i = d->members[d->cursor++];
		struct vaddr *a = &d->v->addr[i];
		if (a->done || a->asked)
			continue;
		a->asked = 1;
		*id = (long)i;
		*utf8 = a->cr.addr.utf8_local;
		return a->cr.addr.address;
	}
	return NULL;
}

static void rcpt_done(void *ctx, long id, enum reply_outcome o, const struct reply *r,
                      const struct smtp_session_result *sr)
{
	struct vdomain *d = ctx;
	struct vaddr *a;

	if (id == PROBE_ID) {
		d->catch_all = decide_catch_all(o);
		return;
	}
	a = &d->v->addr[id];
	a->answered = 1;
	a->outcome = o;
	a->have_reply = r != NULL;
	if (r)
		a->reply = *r;
	else
		snprintf(a->detail, sizeof a->detail, "%s", sr->detail ? sr->detail : "");
}

static void session_done(void *ctx, const struct smtp_session_result *sr)
{
	struct vdomain *d = ctx;
	struct verify *v = d->v;
	int retry = 0, attempts = 0;

	d->session_live = 0;
	v->live--;
	if (v->pending == 0 && v->live == 0)
		event_base_loopbreak(v->base);
	for (size_t k = 0; k < d->nmembers; k++) {
		struct vaddr *a = &v->addr[d->members[k]];
		if (a->done)
			continue;
		if (!a->asked && sr->end == SMTP_END_REJECTIONS) {
			/* The session stopped early to stay polite, before asking about this one: a
			 * fresh session will, and this one does not count as its attempt. */
			a->attempts--;
			retry = 1;
			continue;
		}
		if (judge(d, a, sr)) {
			retry = 1;
			if (a->attempts > attempts)
				attempts = a->attempts;
		}
	}
	if (retry) {
		double wait = sr->end == SMTP_END_REJECTIONS && attempts == 0
		                      ? 0
		                      : config_greylist_wait(v->cfg, attempts + 1);
		struct timeval tv = {(time_t)wait, (suseconds_t)((wait - (double)(time_t)wait) * 1e6)};
		evtimer_add(d->retry, &tv);
	}
}

/* start_session - one SMTP session for the domain's members that still need an answer */
static void start_session(struct vdomain *d)
{
	static const struct smtp_callbacks cb = {next_rcpt, rcpt_done, session_done};
	struct smtp_target t[SMTP_MAX_TARGETS];
	size_t nt = 0;

	for (size_t h = 0; h < d->dns.nhosts && nt < SMTP_MAX_TARGETS; h++)
		for (size_t k = 0; k < d->dns.hosts[h].naddrs && nt < SMTP_MAX_TARGETS; k++) {
			t[nt].host = d->dns.hosts[h].name;
			t[nt].addr = d->dns.hosts[h].addr[k];
			t[nt].addrlen = d->dns.hosts[h].addrlen[k];
			nt++;
		}
	for (size_t k = 0; k < d->nmembers; k++) {
		struct vaddr *a = &d->v->addr[d->members[k]];
		if (!a->done)
			a->attempts++; /* this session counts as an attempt for every open member */
		a->answered = 0;
		a->asked = 0;
	}
	d->cursor = 0;
	d->probe_pending = d->catch_all == CATCH_ALL_UNTESTED &&
	                   !providers_skip_catch_all(d->dns.hosts[0].name);
	d->session_live = 1;
	d->v->live++;
	if (smtp_start(d->v->base, d->v->cfg, d->v->ssl, t, nt, NULL, &cb, d) == NULL) {
		fprintf(stderr, "mailsift: out of memory starting a session\n");
		abort();
	}
}

static void dns_done(void *arg, const struct dns_result *r)
{
	struct vdomain *d = arg;
	struct verify *v = d->v;

	if (v->closing)
		return;
	d->dns = *r;
	snprintf(d->dns_detail, sizeof d->dns_detail, "%s", r->detail ? r->detail : "");
	d->dns.detail = d->dns_detail; /* r->detail lives only during this call */
	d->dns_done = 1;
	if (r->status == DNS_OK) {
		start_session(d);
		return;
	}
	for (size_t k = 0; k < d->nmembers; k++) {
		struct vaddr *a = &v->addr[d->members[k]];
		struct decide_in in = {.dns = r->status, .last_attempt = 1};
		decide(&in, &a->verdict);
		snprintf(a->detail, sizeof a->detail, "%s", d->dns_detail);
		finalize(v, a);
	}
}

/* random_local - a local part that no mailbox has */
static void random_local(char *out, size_t len)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char rnd[PROBE_LOCAL_LEN];

	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
		for (size_t i = 0; i < sizeof rnd; i++)
			rnd[i] = (unsigned char)(rand() ^ (int)time(NULL));
	for (size_t i = 0; i + 1 < len && i < sizeof rnd; i++) {
		out[i] = alphabet[rnd[i] % (sizeof alphabet - 1)];
		out[i + 1] = '\0';
	}
}

/* ---- output ---- */

static void print_result(FILE *out, const struct vaddr *a)
{
	char flags[64];
	const struct vdomain *d = a->dom;
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
	verdict_flags_text(a->cr.flags | (d && d->catch_all == CATCH_ALL_YES ? FLAG_CATCH_ALL : 0),
	                   flags, sizeof flags);
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
	for (size_t h = 0; d && d->dns_done && h < d->dns.nhosts; h++) {
		fprintf(out, "%s", h ? ", " : "");
		json_string(out, d->dns.hosts[h].name);
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
	        !d || d->catch_all == CATCH_ALL_UNTESTED || d->catch_all == CATCH_ALL_INCONCLUSIVE
	                ? "null"
	        : d->catch_all == CATCH_ALL_YES ? "true"
	                                        : "false",
	        a->attempts, (a->finished - a->started) * 1000.0);
}

/* ---- setup ---- */

static struct vdomain *domain_of(struct verify *v, const char *name)
{
	for (size_t i = 0; i < v->ndom; i++)
		if (strcmp(v->dom[i].name, name) == 0)
			return &v->dom[i];
	return NULL;
}

int verify_run(const struct probe_config *c, char *const *addresses, int n, FILE *out, char *err,
               size_t errlen)
{
	struct verify v;
	int rc = -1;

	memset(&v, 0, sizeof v);
	v.cfg = c;
	v.naddr = (size_t)n;
	v.addr = calloc(v.naddr ? v.naddr : 1, sizeof *v.addr);
	v.dom = calloc(v.naddr ? v.naddr : 1, sizeof *v.dom);
	v.check = check_new();
	v.base = event_base_new();
	v.ssl = c->starttls ? smtp_ssl_ctx() : NULL;
	if (v.addr == NULL || v.dom == NULL || v.check == NULL || v.base == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	v.dns = dns_new(v.base, c->resolvers, c->nresolvers, err, errlen);
	if (v.dns == NULL)
		goto out;

	for (size_t i = 0; i < v.naddr; i++) {
		struct vaddr *a = &v.addr[i];
		struct vdomain *d;

		a->input = addresses[i];
		a->started = now_mono();
		check_address(v.check, a->input, strlen(a->input), &a->cr);
		if (a->cr.problem != ADDR_OK) {
			a->verdict.status = STATUS_INVALID;
			a->verdict.reason = REASON_SYNTAX;
			a->done = 1;
			a->finished = a->started;
			continue;
		}
		v.pending++;
		d = domain_of(&v, a->cr.addr.domain);
		if (d == NULL) {
			d = &v.dom[v.ndom++];
			snprintf(d->name, sizeof d->name, "%s", a->cr.addr.domain);
			d->v = &v;
			d->members = calloc(v.naddr, sizeof *d->members);
			d->retry = evtimer_new(v.base, retry_cb, d);
			if (d->members == NULL || d->retry == NULL)
				abort();
			random_local(d->probe_addr, PROBE_LOCAL_LEN + 1);
			snprintf(d->probe_addr + strlen(d->probe_addr),
			         sizeof d->probe_addr - strlen(d->probe_addr), "@%s", d->name);
		}
		a->dom = d;
		d->members[d->nmembers++] = i;
	}
	for (size_t i = 0; i < v.ndom; i++)
		dns_mail_hosts(v.dns, v.dom[i].name, dns_done, &v.dom[i]);
	if (v.pending > 0)
		event_base_dispatch(v.base);
	for (size_t i = 0; i < v.naddr; i++)
		print_result(out, &v.addr[i]);
	fflush(out);
	v.closing = 1;
	rc = 0;
out:
	for (size_t i = 0; i < v.ndom; i++) {
		free(v.dom[i].members);
		if (v.dom[i].retry)
			event_free(v.dom[i].retry);
	}
	v.closing = 1;
	if (v.dns)
		dns_free(v.dns);
	if (v.ssl)
		SSL_CTX_free(v.ssl);
	if (v.base)
		event_base_free(v.base);
	check_free(v.check);
	free(v.addr);
	free(v.dom);
	return rc;
}
