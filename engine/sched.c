/*
 * sched - the scheduler (see sched.h for the policy and the contract).
 *
 * Objects: a saddr is one address waiting or in a session; a sdomain is a recipient domain as
 * seen from one source address (its DNS answer, catch-all state and queue of saddrs); a shost
 * is one MX host address from one source address (window, spacing, pause, statistics, and the
 * FIFO of domains ready to send it a session); a job is one session. sched_pump() starts every
 * session the limits allow and arms one timer for the earliest moment another may start.
 */
#include "engine/sched.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/providers.h"
#include "engine/smtp.h"

#define SCHED_BUCKETS 4096      /* hash buckets for domains and hosts (chained) */
#define PROBE_LOCAL_LEN 20      /* random local part of the catch-all probe */
#define PROBE_ID (-1L)          /* next_rcpt id of the probe */

struct sdomain;
struct shost;

struct saddr {
	int64_t id;
	char *address;
	unsigned flags;
	int attempts;               /* before the current session */
	int utf8;                   /* local part needs SMTPUTF8 */
	int answered;               /* the current session answered it */
	struct saddr *next;         /* in its domain's queue or its job's list */
};

struct sdomain {
	char *name;
	char source[64];
	struct sched *s;
	struct sdomain *hnext;      /* hash chain */
	int dns_state;              /* 0 not asked, 1 asking, 2 answered */
	struct dns_host *hosts;     /* the MX hosts from DNS (only as many as there are) */
	size_t nhosts;
	char dns_detail[256];
	int dns_from_store;         /* the answer came from the job store's cache */
	int tried[DNS_MAX_HOSTS];   /* MX hosts that failed to take a session for the queued addresses */
	enum catch_all ca;
	int ca_known;               /* probed, skipped by policy, or stored */
	int probing;                /* a session carries the probe */
	int sessions;               /* open sessions */
	struct saddr *head, *tail;  /* waiting addresses */
	size_t queued;
	int on_host;                /* in some host's ready FIFO */
	int route;                  /* index in dns.hosts of the host it is queued on */
	enum smtp_end last_fail;    /* how the last unreachable host failed */
	struct reply last_reply;    /* and what it said, when it said something */
	int have_last_reply;
	char last_detail[256];
	int pushbacks;              /* sessions refused for our pace, addresses put back in line */
	struct sdomain *ready_next;
};

struct shost {
	char *key;                  /* "ip|source" */
	char ip[INET6_ADDRSTRLEN];
	char source[64];
	struct shost *hnext;
	int active;                 /* open sessions */
	int window;                 /* allowed open sessions now */
	int ceiling;                /* the host's limit as found by its pushback (per_host until) */
	int good;                   /* good sessions since the window last grew */
	int failures;               /* failed sessions in a row */
	int penalty;                /* pauses so far */
	double next_start;          /* monotonic: no new connection before */
	double rtt;                 /* smoothed seconds per round trip (connect to MAIL FROM / 4) */
	double paused_until;
	struct sdomain *ready_head, *ready_tail;
	struct shost *work_next;    /* in the list of hosts with ready domains */
	int on_work;
	/* statistics */
	long sessions, pushback, connect_failures, pauses;
	int max_window;
};

struct job {
	struct sched *s;
	struct sdomain *d;
	struct shost *h;
	int host_index;             /* index of h in d->hosts */
	struct saddr *list;         /* addresses of this session */
	struct saddr *cursor;       /* next to offer */
	int probe;                  /* offer the catch-all probe first */
	int prober;                 /* this session carries the domain's probe */
	int concurrent;             /* sessions open to the host when this one started, itself included */
	int offered;                /* addresses asked about so far */
	int admitted;               /* the host accepted MAIL FROM */
	double started;             /* monotonic seconds */
	struct job *prev, *next;    /* in sched.jobs */
	char probe_addr[300];
	struct smtp_session *session;
};

struct sched {
	struct event_base *base;
	struct probe_config cfg;    /* copy: sessions never fall back by themselves */
	struct sched_opts o;
	struct dns *dns;
	SSL_CTX *ssl;
	struct sched_callbacks cb;
	void *ctx;
	struct sdomain *domains[SCHED_BUCKETS];
	struct shost *hosts[SCHED_BUCKETS];
	struct shost *work;         /* hosts with ready domains */
	struct job *jobs;           /* open sessions */
	struct event *pump_timer;
	int pump_armed;
	size_t held;
	size_t active;
	int draining;
	long sessions, retries;
};

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned str_hash(const char *a, const char *b)
{
	unsigned h = 2166136261u;

	for (; *a; a++)
		h = (h ^ (unsigned char)*a) * 16777619u;
	for (; b && *b; b++)
		h = (h ^ (unsigned char)*b) * 16777619u;
	return h;
}

static char *xstrdup(const char *v)
{
	char *p = strdup(v ? v : "");

	if (p == NULL)
		abort();
	return p;
}

static void sched_pump(struct sched *s);

/* ---- hosts ---- */

static struct shost *host_get(struct sched *s, const struct sockaddr_storage *addr,
                              const char *source)
{
	char ip[INET6_ADDRSTRLEN] = "?", key[INET6_ADDRSTRLEN + 70];
	unsigned b;
	struct shost *h;

	if (addr->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)addr)->sin_addr, ip, sizeof ip);
	else
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)addr)->sin6_addr, ip, sizeof ip);
	snprintf(key, sizeof key, "%s|%s", ip, source);
	b = str_hash(key, NULL) % SCHED_BUCKETS;
	for (h = s->hosts[b]; h; h = h->hnext)
		if (strcmp(h->key, key) == 0)
			return h;
	h = calloc(1, sizeof *h);
	if (h == NULL)
		abort();
	h->key = xstrdup(key);
	snprintf(h->ip, sizeof h->ip, "%s", ip);
	snprintf(h->source, sizeof h->source, "%s", source);
	h->window = DEF_HOST_WINDOW_START < s->o.per_host ? DEF_HOST_WINDOW_START : s->o.per_host;
	h->ceiling = s->o.per_host;
	h->max_window = h->window;
	h->hnext = s->hosts[b];
	s->hosts[b] = h;
	return h;
}

/* host_feedback - a session on H ended: grow after good ones; after pushback shrink, and when
 * the host refused a session for being one too many (421, 4.7.x), remember its limit: the
 * sessions open at that moment minus one. A window never grows past that again, so the limit
 * is found once and kept, not probed over and over. */
static void host_feedback(struct sched *s, struct shost *h, const struct job *j,
                          enum smtp_end end, int pushback)
{
	double now = now_mono();

	if (!pushback) {
		h->failures = 0; /* the window grew when the session was admitted (host_admitted) */
		return;
	}
	h->pushback++;
	h->good = 0;
	if (end == SMTP_END_CONNECT || end == SMTP_END_TIMEOUT) {
		h->connect_failures++;
		h->window = h->window > 1 ? h->window / 2 : 1;
	} else {
		int limit = j->concurrent > 1 ? j->concurrent - 1 : 1;
		if (limit < h->ceiling)
			h->ceiling = limit;
		h->window = h->window / 2 > h->ceiling ? h->ceiling : h->window / 2;
		if (h->window < 1)
			h->window = 1;
	}
	if (++h->failures >= DEF_FAILURES_TO_PAUSE) {
		double pause;
		h->penalty++;
		pause = DEF_PAUSE_BASE * h->penalty * h->penalty;
		h->paused_until = now + (pause < DEF_PAUSE_MAX ? pause : DEF_PAUSE_MAX);
		h->pauses++;
		h->failures = 0;
	}
	(void)s;
}

/* host_admitted - H took a session up to MAIL FROM: one more may fit. Slow start as in TCP:
 * the window grows by one per admitted session (it doubles per round of sessions) until the
 * ceiling or the first pushback, which then caps it for good (host_feedback). Growing on
 * admission rather than at the session's end keeps long sessions to slow hosts from holding
 * the window small. */
static void host_admitted(struct shost *h)
{
	h->failures = 0;
	if (++h->good >= 1 && h->window < h->ceiling) {
		h->window++;
		h->good = 0;
		if (h->window > h->max_window)
			h->max_window = h->window;
	}
}

static void host_ready(struct sched *s, struct shost *h, struct sdomain *d)
{
	if (d->on_host)
		return;
	d->on_host = 1;
	d->ready_next = NULL;
	if (h->ready_tail)
		h->ready_tail->ready_next = d;
	else
		h->ready_head = d;
	h->ready_tail = d;
	if (!h->on_work) {
		h->on_work = 1;
		h->work_next = s->work;
		s->work = h;
	}
}

/* ---- domains ---- */

static const char *source_for(struct sched *s, const char *domain, const char *recorded)
{
	if (recorded && recorded[0])
		return recorded; /* the greylist triple: retry from where it was tried */
	if (s->o.nsources == 0)
		return "";
	return s->o.sources[str_hash(domain, NULL) % s->o.nsources];
}

/* probe_local - the catch-all probe's local part for DOMAIN: looks random and cannot exist,
 * but is the same for the domain every time, so a greylisted probe is retried with the same
 * (client, sender, recipient) triple and passes the greylist like any other address */
static void probe_local(const char *domain, char *out, size_t n)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	uint64_t h = 1469598103934665603ull;

	for (const char *p = "mailsift-catch-all-probe:"; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	for (const char *p = domain; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	for (size_t i = 0; i < PROBE_LOCAL_LEN && i + 1 < n; i++) {
		h ^= h >> 29; /* splitmix-style steps: every character depends on the whole name */
		h *= 0xbf58476d1ce4e5b9ull;
		h ^= h >> 32;
		out[i] = alphabet[h % (sizeof alphabet - 1)];
		out[i + 1] = '\0';
	}
}

static void domain_dns_cb(void *arg, const struct dns_result *r);

static struct sdomain *domain_get(struct sched *s, const char *name, const char *source)
{
	unsigned b = str_hash(name, source) % SCHED_BUCKETS;
	struct sdomain *d;
	int stored;

	for (d = s->domains[b]; d; d = d->hnext)
		if (strcmp(d->name, name) == 0 && strcmp(d->source, source) == 0)
			return d;
	d = calloc(1, sizeof *d);
	if (d == NULL)
		abort();
	d->name = xstrdup(name);
	snprintf(d->source, sizeof d->source, "%s", source);
	d->s = s;
	stored = s->cb.catch_all_lookup ? s->cb.catch_all_lookup(s->ctx, name) : -1;
	if (stored >= 0) {
		d->ca = stored ? CATCH_ALL_YES : CATCH_ALL_NO;
		d->ca_known = 1;
	}
	d->hnext = s->domains[b];
	s->domains[b] = d;
	return d;
}

/* domain_free_if_idle - drop a domain with nothing queued and nothing open */
static void domain_free_if_idle(struct sched *s, struct sdomain *d)
{
	unsigned b;
	struct sdomain **pp;

	if (d->queued || d->sessions || d->on_host || d->dns_state == 1)
		return;
	b = str_hash(d->name, d->source) % SCHED_BUCKETS;
	for (pp = &s->domains[b]; *pp; pp = &(*pp)->hnext)
		if (*pp == d) {
			*pp = d->hnext;
			break;
		}
	free(d->name);
	free(d->hosts);
	free(d);
}

static void saddr_free(struct saddr *a)
{
	free(a->address);
	free(a);
}

/* report - one address's result to the owner; the address is freed */
static void report(struct sched *s, struct sdomain *d, struct saddr *a,
                   const struct decide_out *v, int attempts, const struct reply *r,
                   const char *detail, const char *mx_host, int tls)
{
	struct sched_result res = {
		.id = a->id, .verdict = *v, .attempts = attempts, .reply = r, .detail = detail,
		.mx_host = mx_host, .source = d->source, .tls = tls, .catch_all = d->ca,
	};

	if (v->retry)
		s->retries++;
	s->held--;
	s->cb.result(s->ctx, &res);
	saddr_free(a);
}

/* queue_push - put A back at the end of D's queue (not reported) */
static void queue_push(struct sdomain *d, struct saddr *a)
{
	a->next = NULL;
	if (d->tail)
		d->tail->next = a;
	else
		d->head = a;
	d->tail = a;
	d->queued++;
}

/* domain_route - the first MX host of D that has not failed it, or NULL */
static struct shost *domain_route(struct sched *s, struct sdomain *d, int *index)
{
	for (size_t i = 0; i < d->nhosts; i++) {
		if (d->tried[i] || d->hosts[i].naddrs == 0)
			continue;
		*index = (int)i;
		return host_get(s, &d->hosts[i].addr[0], d->source);
	}
	return NULL;
}

/* domain_fail_all - every queued address of D gets verdict IN (nothing can reach it now);
 * R is the reply that said so, if any */
static void domain_fail_all(struct sched *s, struct sdomain *d, const struct decide_in *in0,
                            const struct reply *r, const char *detail)
{
	while (d->head) {
		struct saddr *a = d->head;
		struct decide_in in = *in0;
		struct decide_out v;
		d->head = a->next;
		d->queued--;
		in.flags = a->flags;
		in.last_attempt = a->attempts + 1 >= s->cfg.max_attempts;
		decide(&in, &v);
		report(s, d, a, &v, a->attempts + 1, r, detail, NULL, 0);
	}
	d->tail = NULL;
}

/* domain_schedule - D has queued addresses and an answer from DNS: put it on a host */
static void domain_schedule(struct sched *s, struct sdomain *d)
{
	struct shost *h;
	int index;

	if (d->queued == 0 || d->dns_state != 2 || d->on_host)
		return;
	if (d->ca_known && d->ca == CATCH_ALL_YES) {
		/* Proven catch-all (by this run or a stored answer): no RCPT can tell more. */
		struct decide_in in = {.dns = DNS_OK, .rcpt_answered = 1, .rcpt = OUTCOME_ACCEPTED,
		                       .catch_all = CATCH_ALL_YES};
		struct decide_out v;
		decide(&in, &v);
		while (d->head) {
			struct saddr *a = d->head;
			d->head = a->next;
			d->queued--;
			report(s, d, a, &v, a->attempts, NULL, "domain accepts any address (catch-all)",
			       NULL, 0);
		}
		d->tail = NULL;
		return;
	}
	h = domain_route(s, d, &index);
	if (h == NULL) {
		/* Every MX host failed to take a session: the addresses' sessions failed. */
		struct decide_in in = {.dns = DNS_OK, .session = d->last_fail};
		memset(d->tried, 0, sizeof d->tried);
		domain_fail_all(s, d, &in, d->have_last_reply ? &d->last_reply : NULL,
		                d->last_detail[0] ? d->last_detail
		                                  : "no MX host of the domain took a session");
		return;
	}
	d->route = index;
	host_ready(s, h, d);
}

static void domain_dns_cb(void *arg, const struct dns_result *r)
{
	struct sdomain *d = arg;
	struct sched *s = d->s;

	if (s->cb.dns_learned && !d->dns_from_store)
		s->cb.dns_learned(s->ctx, d->name, r);
	/* A compact copy: a struct dns_result is 21 KiB, most domains have one or two hosts. */
	free(d->hosts);
	d->nhosts = r->status == DNS_OK ? r->nhosts : 0;
	d->hosts = d->nhosts ? malloc(d->nhosts * sizeof *d->hosts) : NULL;
	if (d->nhosts && d->hosts == NULL)
		abort();
	if (d->nhosts)
		memcpy(d->hosts, r->hosts, d->nhosts * sizeof *d->hosts);
	snprintf(d->dns_detail, sizeof d->dns_detail, "%s", r->detail ? r->detail : "");
	d->dns_state = 2;
	if (r->status != DNS_OK) {
		struct decide_in in = {.dns = r->status};
		domain_fail_all(s, d, &in, NULL, d->dns_detail);
		domain_free_if_idle(s, d);
		return;
	}
	if (!d->ca_known && providers_skip_catch_all(r->hosts[0].name)) {
		d->ca = CATCH_ALL_UNTESTED;
		d->ca_known = 1;
	}
	domain_schedule(s, d);
	sched_pump(s);
}

/* ---- sessions ---- */

/* job_rebalance - a slow host just admitted J: keep J's share of its addresses and hand the
 * rest back to the domain, so the sessions the host may still open can take them in parallel
 * (one long session to a slow host would leave its other slots idle) */
static void job_rebalance(struct job *j)
{
	struct shost *h = j->h;
	struct sdomain *d = j->d;
	size_t remaining = 0, keep, slots, n = 0;
	struct saddr *a, *rest;

	if (h->rtt < DEF_SLOW_RTT || h->ceiling <= h->active || j->s->draining)
		return;
	for (a = j->cursor; a; a = a->next)
		remaining++;
	slots = (size_t)(h->ceiling - h->active);
	keep = remaining / (slots + 1);
	if (keep < DEF_SESSION_MIN_ADDRESSES)
		keep = DEF_SESSION_MIN_ADDRESSES;
	if (remaining <= keep)
		return;
	for (a = j->cursor; a && ++n < keep; a = a->next)
		;
	rest = a->next; /* a is the last one kept: it stays in j->list, the rest goes back */
	a->next = NULL;
	while (rest) {
		struct saddr *b = rest;
		rest = b->next;
		queue_push(d, b);
	}
	domain_schedule(j->s, d);
	sched_pump(j->s);
}

static const char *job_next_rcpt(void *ctx, long *id, int *utf8)
{
	struct job *j = ctx;
	struct sdomain *d = j->d;

	if (!j->admitted) {
		/* Connect, banner, EHLO and MAIL FROM took about four round trips. */
		double sample = (now_mono() - j->started) / 4;
		j->admitted = 1;
		j->h->rtt = j->h->rtt > 0 ? 0.7 * j->h->rtt + 0.3 * sample : sample;
		host_admitted(j->h);
		job_rebalance(j);
	}
	if (j->s->draining || now_mono() - j->started > DEF_SESSION_SECONDS)
		return NULL; /* stopping, or long enough: QUIT after the current answer */
	if (d->ca == CATCH_ALL_YES && !j->probe) {
		/* Proven catch-all: asking proves nothing, so ask no more. */
		struct decide_in in = {.dns = DNS_OK, .rcpt_answered = 1, .rcpt = OUTCOME_ACCEPTED,
		                       .catch_all = CATCH_ALL_YES};
		struct decide_out v;
		decide(&in, &v);
		while (j->cursor) {
			struct saddr *a = j->cursor;
			j->cursor = a->next;
			for (struct saddr **pp = &j->list; *pp; pp = &(*pp)->next)
				if (*pp == a) {
					*pp = a->next;
					break;
				}
			report(j->s, d, a, &v, a->attempts, NULL, "domain accepts any address (catch-all)",
			       d->hosts[j->host_index].name, 0);
		}
		return NULL;
	}
	if (j->probe) {
		j->probe = 0;
		*id = PROBE_ID;
		*utf8 = 0;
		return j->probe_addr;
	}
	if (j->cursor == NULL && j->offered < DEF_SESSION_ADDRESSES && j->d->head &&
	    (j->d->ca_known || j->prober) &&
	    (j->h->rtt < DEF_SLOW_RTT || j->h->active >= j->h->window)) {
		/* Addresses of the domain that arrived after the session started ride along. */
		struct saddr *b = j->d->head, **tail = &j->list;
		j->d->head = b->next;
		if (j->d->head == NULL)
			j->d->tail = NULL;
		j->d->queued--;
		b->next = NULL;
		b->answered = 0;
		while (*tail)
			tail = &(*tail)->next;
		*tail = b;
		j->cursor = b;
	}
	if (j->cursor == NULL)
		return NULL;
	struct saddr *a = j->cursor;
	j->cursor = a->next;
	j->offered++;
	*id = (long)(intptr_t)a;
	*utf8 = a->utf8;
	return a->address;
}

static void job_rcpt_done(void *ctx, long id, enum reply_outcome o, const struct reply *r,
                          const struct smtp_session_result *sr)
{
	struct job *j = ctx;
	struct sdomain *d = j->d;
	struct saddr *a = (struct saddr *)(intptr_t)id;
	struct decide_in in;
	struct decide_out v;

	if (id == PROBE_ID) {
		d->ca = decide_catch_all(o);
		d->ca_known = 1;
		d->probing = 0;
		j->prober = 0;
		if (j->s->cb.catch_all_learned)
			j->s->cb.catch_all_learned(j->s->ctx, d->name, d->ca);
		/* The domain's other addresses need not wait for this session to end. */
		domain_schedule(j->s, d);
		sched_pump(j->s);
		return;
	}
	memset(&in, 0, sizeof in);
	in.dns = DNS_OK;
	in.rcpt_answered = 1;
	in.rcpt = o;
	in.catch_all = d->ca;
	in.flags = a->flags;
	in.last_attempt = a->attempts + 1 >= j->s->cfg.max_attempts;
	decide(&in, &v);
	a->answered = 1;
	/* Unlink from the job's list: it is reported now. */
	for (struct saddr **pp = &j->list; *pp; pp = &(*pp)->next)
		if (*pp == a) {
			*pp = a->next;
			break;
		}
	report(j->s, d, a, &v, a->attempts + 1, r, r ? NULL : sr->detail, sr->mx_host, sr->tls);
}

/* is_pushback - the session's end says the host does not want us now */
static int is_pushback(enum smtp_end e, const struct smtp_session_result *r)
{
	switch (e) {
	case SMTP_END_CONNECT:
	case SMTP_END_TIMEOUT:
	case SMTP_END_THROTTLED:
		return 1;
	case SMTP_END_BANNER:
		return r->outcome == OUTCOME_THROTTLED || r->outcome == OUTCOME_TEMPORARY;
	default:
		return 0;
	}
}

/* unreached - the session never got past the host's greeting: another MX host may do better */
static int unreached(const struct smtp_session_result *r)
{
	return !r->greeted && r->end != SMTP_END_CANCELLED && r->end != SMTP_END_OK;
}

static void job_done(void *ctx, const struct smtp_session_result *sr)
{
	struct job *j = ctx;
	struct sched *s = j->s;
	struct sdomain *d = j->d;
	struct saddr *a, *next;
	int moved = 0;

	s->active--;
	j->h->active--;
	d->sessions--;
	if (j->prev)
		j->prev->next = j->next;
	else
		s->jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	if (j->prober)
		d->probing = 0; /* the probe was never answered: another session will ask */
	host_feedback(s, j->h, j, sr->end, is_pushback(sr->end, sr));
	if (unreached(sr) && sr->end == SMTP_END_THROTTLED && !s->draining &&
	    d->pushbacks < DEF_PUSHBACK_REQUEUES) {
		/* Refused for our pace: back in line for the same host, whose window just shrank. */
		d->pushbacks++;
		for (a = j->list; a; a = next) {
			next = a->next;
			queue_push(d, a);
		}
		j->list = NULL;
		moved = 1;
	} else if (unreached(sr)) {
		/* Move the addresses to the domain's next MX host, without counting an attempt. */
		d->tried[j->host_index] = 1;
		d->last_fail = sr->end;
		d->have_last_reply = sr->reply != NULL;
		if (sr->reply)
			d->last_reply = *sr->reply;
		snprintf(d->last_detail, sizeof d->last_detail, "%s", sr->detail ? sr->detail : "");
		for (a = j->list; a; a = next) {
			next = a->next;
			queue_push(d, a);
		}
		j->list = NULL;
		moved = 1;
	}
	for (a = j->list; a; a = next) {
		struct decide_in in;
		struct decide_out v;
		next = a->next;
		if (sr->end == SMTP_END_REJECTIONS && j->cursor && a == j->cursor) {
			/* Not asked yet (the session stopped early to stay polite): queue again. */
			for (struct saddr *b = a; b; b = next) {
				next = b->next;
				queue_push(d, b);
			}
			break;
		}
		if (sr->end == SMTP_END_CANCELLED || s->draining) {
			/* Stopping: not asked, or the answer never came; the next run asks again. */
			struct decide_out retry = {1, STATUS_UNKNOWN, REASON_NOT_VERIFIED};
			report(s, d, a, &retry, a->attempts, NULL, "interrupted", NULL, 0);
			continue;
		}
		memset(&in, 0, sizeof in);
		in.dns = DNS_OK;
		in.session = sr->end;
		in.catch_all = d->ca;
		in.flags = a->flags;
		in.last_attempt = a->attempts + 1 >= s->cfg.max_attempts;
		decide(&in, &v);
		report(s, d, a, &v, a->attempts + 1, sr->reply, sr->detail, sr->mx_host, sr->tls);
	}
	if (!moved)
		memset(d->tried, 0, sizeof d->tried); /* a host answered: start from the best again */
	free(j);
	domain_schedule(s, d);
	domain_free_if_idle(s, d);
	sched_pump(s);
}

/* job_start - one session from host H for up to DEF_SESSION_ADDRESSES of D's addresses */
static void job_start(struct sched *s, struct shost *h, struct sdomain *d)
{
	static const struct smtp_callbacks cb = {job_next_rcpt, job_rcpt_done, job_done};
	struct smtp_target t[SMTP_MAX_TARGETS];
	struct job *j = calloc(1, sizeof *j);
	struct saddr **tail;
	size_t nt = 0;
	int index;

	if (j == NULL)
		abort();
	index = d->route;
	j->s = s;
	j->d = d;
	j->h = h;
	j->host_index = index;
	/* This host's addresses only: the session may try them in turn (IPv6 and IPv4, say); the
	 * scheduler, not the session, moves the addresses to the domain's other MX hosts. */
	for (size_t k = 0; k < d->hosts[index].naddrs && nt < SMTP_MAX_TARGETS; k++) {
		t[nt].host = d->hosts[index].name;
		t[nt].addr = d->hosts[index].addr[k];
		t[nt].addrlen = d->hosts[index].addrlen[k];
		nt++;
	}
	/* A slow host: spread the domain over the sessions it may still open, so they all work. */
	size_t take = DEF_SESSION_ADDRESSES;
	if (h->rtt >= DEF_SLOW_RTT) {
		size_t slots = h->ceiling > h->active ? (size_t)(h->ceiling - h->active) : 1;
		take = d->queued / slots + 1;
		if (take < DEF_SESSION_MIN_ADDRESSES)
			take = DEF_SESSION_MIN_ADDRESSES;
		if (take > DEF_SESSION_ADDRESSES)
			take = DEF_SESSION_ADDRESSES;
	}
	tail = &j->list;
	for (size_t n = 0; n < take && d->head; n++) {
		struct saddr *a = d->head;
		d->head = a->next;
		d->queued--;
		a->next = NULL;
		a->answered = 0;
		*tail = a;
		tail = &a->next;
	}
	if (d->head == NULL)
		d->tail = NULL;
	j->cursor = j->list;
	if (!d->ca_known && !d->probing) {
		j->probe = 1;
		j->prober = 1;
		d->probing = 1;
		probe_local(d->name, j->probe_addr, PROBE_LOCAL_LEN + 1);
		snprintf(j->probe_addr + strlen(j->probe_addr),
		         sizeof j->probe_addr - strlen(j->probe_addr), "@%s", d->name);
	}
	s->active++;
	h->active++;
	j->concurrent = h->active;
	h->sessions++;
	s->sessions++;
	d->sessions++;
	h->next_start = now_mono() + DEF_HOST_SPACING;
	j->started = now_mono();
	j->next = s->jobs;
	if (s->jobs)
		s->jobs->prev = j;
	s->jobs = j;
	j->session = smtp_start(s->base, &s->cfg, s->ssl, t, nt, h->source, &cb, j);
	if (j->session == NULL) {
		fprintf(stderr, "mailsift: out of memory starting a session\n");
		abort();
	}
}

/* ---- pumping ---- */

static void pump_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sched *s = arg;

	(void)fd;
	(void)what;
	s->pump_armed = 0;
	sched_pump(s);
}

/* sched_pump - start every session the limits allow now; wake up later for the rest */
static void sched_pump(struct sched *s)
{
	double now = now_mono(), wake = 0;
	struct shost **pp = &s->work;

	while (*pp) {
		struct shost *h = *pp;
		while (!s->draining && h->ready_head && (int)s->active < s->o.concurrency &&
		       h->active < h->window && now >= h->paused_until && now >= h->next_start) {
			struct sdomain *d = h->ready_head;
			h->ready_head = d->ready_next;
			if (h->ready_head == NULL)
				h->ready_tail = NULL;
			d->on_host = 0;
			if (d->queued == 0)
				continue;
			if (!d->ca_known && d->probing)
				continue; /* waits for the probe's session; job_done re-schedules it */
			job_start(s, h, d);
			if (d->queued > 0 && (d->ca_known || !d->probing))
				host_ready(s, h, d); /* more for this domain: back of the line */
		}
		if (h->ready_head == NULL) {
			*pp = h->work_next;
			h->on_work = 0;
			continue;
		}
		if (!s->draining && (int)s->active < s->o.concurrency && h->active < h->window) {
			double t = h->paused_until > h->next_start ? h->paused_until : h->next_start;
			if (t > now && (wake == 0 || t < wake))
				wake = t;
		}
		pp = &h->work_next;
	}
	if (wake > 0 && !s->pump_armed) {
		double dt = wake - now;
		struct timeval tv = {(time_t)dt, (suseconds_t)((dt - (double)(time_t)dt) * 1e6)};
		evtimer_add(s->pump_timer, &tv);
		s->pump_armed = 1;
	}
}

/* ---- the interface ---- */

struct sched *sched_new(struct event_base *base, const struct probe_config *c,
                        const struct sched_opts *o, struct dns *dns, SSL_CTX *ssl,
                        const struct sched_callbacks *cb, void *ctx)
{
	struct sched *s = calloc(1, sizeof *s);

	if (s == NULL)
		return NULL;
	s->base = base;
	s->cfg = *c;
	s->o = *o;
	if (s->o.per_host < 1)
		s->o.per_host = 1;
	if (s->o.concurrency < 1)
		s->o.concurrency = 1;
	s->dns = dns;
	s->ssl = ssl;
	s->cb = *cb;
	s->ctx = ctx;
	s->pump_timer = evtimer_new(base, pump_cb, s);
	if (s->pump_timer == NULL) {
		free(s);
		return NULL;
	}
	return s;
}

void sched_add(struct sched *s, const struct sched_addr *in)
{
	const char *source = source_for(s, in->domain, in->source);
	struct sdomain *d = domain_get(s, in->domain, source);
	struct saddr *a = calloc(1, sizeof *a);
	const char *at = strrchr(in->address, '@');

	if (a == NULL)
		abort();
	a->id = in->id;
	a->address = xstrdup(in->address);
	a->flags = in->flags;
	a->attempts = in->attempts;
	for (const char *p = in->address; at && p < at; p++)
		a->utf8 |= (unsigned char)*p >= 0x80;
	queue_push(d, a);
	s->held++;
	if (d->dns_state == 0) {
		struct dns_result *cached = NULL;
		d->dns_state = 1;
		if (s->cb.dns_cached && (cached = malloc(sizeof *cached)) != NULL &&
		    s->cb.dns_cached(s->ctx, d->name, cached)) {
			d->dns_from_store = 1; /* not new: not stored again */
			domain_dns_cb(d, cached);
			free(cached);
			return;
		}
		free(cached);
		dns_mail_hosts(s->dns, d->name, domain_dns_cb, d);
		return;
	}
	if (d->dns_state == 2) {
		domain_schedule(s, d);
		sched_pump(s);
	}
}

size_t sched_held(const struct sched *s)
{
	return s->held;
}

size_t sched_sessions(const struct sched *s)
{
	return s->active;
}

size_t sched_hosts_paused(const struct sched *s)
{
	double now = now_mono();
	size_t n = 0;

	for (size_t b = 0; b < SCHED_BUCKETS; b++)
		for (const struct shost *h = s->hosts[b]; h; h = h->hnext)
			n += h->paused_until > now;
	return n;
}

void sched_drain(struct sched *s)
{
	s->draining = 1;
}

void sched_cancel(struct sched *s)
{
	struct decide_out retry = {1, STATUS_UNKNOWN, REASON_NOT_VERIFIED};

	s->draining = 1;
	/* Waiting addresses go back to the owner first; open sessions then report theirs. */
	for (size_t b = 0; b < SCHED_BUCKETS; b++)
		for (struct sdomain *d = s->domains[b]; d; d = d->hnext)
			while (d->head) {
				struct saddr *a = d->head;
				d->head = a->next;
				d->queued--;
				report(s, d, a, &retry, a->attempts, NULL, "interrupted", NULL, 0);
			}
	/* Open sessions end now; job_done reports their unanswered addresses as retries. */
	while (s->jobs)
		smtp_cancel(s->jobs->session);
}

char *sched_stats_json(const struct sched *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int first = 1;

	if (f == NULL)
		return NULL;
	fprintf(f, "{\"sessions\": %ld, \"retries\": %ld, \"hosts\": [", s->sessions, s->retries);
	for (size_t b = 0; b < SCHED_BUCKETS; b++)
		for (const struct shost *h = s->hosts[b]; h; h = h->hnext) {
			fprintf(f, "%s{\"host\": \"%s\", \"source\": \"%s\", \"sessions\": %ld, "
			           "\"max_window\": %d, \"pushback\": %ld, \"connect_failures\": %ld, "
			           "\"pauses\": %ld}",
			        first ? "" : ", ", h->ip, h->source, h->sessions, h->max_window,
			        h->pushback, h->connect_failures, h->pauses);
			first = 0;
		}
	fprintf(f, "]}");
	fclose(f);
	return buf;
}

void sched_free(struct sched *s)
{
	if (s == NULL)
		return;
	for (size_t b = 0; b < SCHED_BUCKETS; b++) {
		struct shost *h, *hn;
		struct sdomain *d, *dn;
		for (h = s->hosts[b]; h; h = hn) {
			hn = h->hnext;
			free(h->key);
			free(h);
		}
		for (d = s->domains[b]; d; d = dn) {
			dn = d->hnext;
			while (d->head) {
				struct saddr *a = d->head;
				d->head = a->next;
				saddr_free(a);
			}
			free(d->name);
			free(d->hosts);
			free(d);
		}
	}
	event_free(s->pump_timer);
	free(s);
}
