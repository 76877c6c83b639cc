/*
 * sched - the scheduler (see sched.h for the policy and the contract).
 *
 * Objects: a saddr is one address waiting or being asked; a sdomain is a recipient domain as
 * seen from one source address (its DNS answer, catch-all state and queue of saddrs); a shost
 * is one MX host address from one source address (window, spacing, pause, statistics, and the
 * list of domains routed to it that have addresses waiting); a job is one session to a host.
 * Sessions are not given addresses when they start: each takes the next one from its host's
 * list when it is ready for a RCPT (job_next_rcpt), whatever its domain, so the sessions of a
 * host share its work to the end and finish together, and the domains sharing a host share
 * its sessions. sched_pump() starts every session the limits allow and arms one timer for the
 * earliest moment another may start.
 */
#include "engine/sched.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/clock.h"
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
	struct sdomain *d;
	unsigned flags;
	int attempts;               /* before the current session */
	int utf8;                   /* local part needs SMTPUTF8 */
	int route;                  /* index in d->hosts of the host asked */
	struct saddr *next;         /* in its domain's queue */
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
	unsigned char tried[DNS_MAX_HOSTS]; /* MX hosts that failed to take a session lately */
	struct shost *failed_host;  /* the last of them (its last failure explains ours) */
	enum catch_all ca;
	int ca_known;               /* probed, skipped by policy, or stored */
	int probing;                /* a session asks the probe now */
	int probe_tries;            /* probes answered with a temporary failure (greylisted) */
	double probe_due;           /* monotonic: the probe is asked again from then on (0: now) */
	int inflight;               /* RCPTs of the domain (the probe included) being asked */
	int asked_by;               /* sessions whose last RCPT was for it (job.last_d) */
	struct saddr *head, *tail;  /* waiting addresses */
	size_t queued;
	struct shost *host;         /* the host whose list holds it, or NULL */
	int route;                  /* index in hosts of that host */
	struct sdomain *ready_prev, *ready_next;
};

struct shost {
	char *key;                  /* "ip|source" */
	char ip[INET6_ADDRSTRLEN];
	char source[64];
	struct shost *hnext;
	int active;                 /* open sessions */
	int window;                 /* allowed open sessions now */
	int ceiling;                /* the host's limit as found by its pushback (per_host until) */
	int failures;               /* failed sessions in a row */
	int penalty;                /* pauses so far */
	double next_start;          /* monotonic: no new connection before */
	double rtt;                 /* smoothed seconds per round trip (connect to MAIL FROM / 4) */
	double paused_until;
	int rcpt_limit;             /* RCPTs per transaction it took (452 4.5.3), 0: not found */
	struct sdomain *ready_head, *ready_tail; /* domains with addresses waiting for it */
	size_t queued;              /* their waiting addresses */
	struct job *idle;           /* sessions waiting for work (job.idle_next) */
	struct shost *work_next;    /* in the list of hosts with waiting domains */
	int on_work;
	/* its last failed session: what the addresses it could not ask are told */
	enum smtp_end last_end;
	struct reply last_reply;
	int have_last_reply;
	char last_detail[256];
	char last_mx[256];          /* the MX name it greeted us as, "" when it did not */
	/* statistics */
	long sessions, pushback, connect_failures, pauses;
	int max_window;
	int reached;                /* some session to it made a TCP connection */
	int unreached;              /* counted in sched.hosts_unreached */
};

struct job {
	struct sched *s;
	struct shost *h;
	struct saddr *cur;          /* the address whose RCPT is being asked */
	struct sdomain *probe_d;    /* the domain whose catch-all probe is being asked */
	struct sdomain *last_d;     /* the domain of its last RCPT (pinned: asked_by) */
	int concurrent;             /* sessions open to the host when this one started, itself included */
	int offered;                /* RCPTs asked so far */
	int admitted;               /* the host accepted MAIL FROM */
	int waiting;                /* idle, in h->idle */
	double started;             /* monotonic seconds */
	struct job *prev, *next;    /* in sched.jobs */
	struct job *idle_next;
	char mx_name[256];          /* the MX name the session connects to (SNI, reports) */
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
	struct shost *work;         /* hosts with waiting domains */
	struct job *jobs;           /* open sessions */
	struct event *pump_timer;
	int pump_armed;
	size_t held;
	size_t active;
	int draining;
	long sessions, retries;
	size_t hosts_reached;       /* hosts some session made a TCP connection to */
	size_t hosts_unreached;     /* hosts whose connections failed, never reached */
};

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
static void domain_schedule(struct sched *s, struct sdomain *d);
static void domain_free_if_idle(struct sched *s, struct sdomain *d);

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

static int host_paused(const struct shost *h, double now)
{
	return h->paused_until > now;
}

/* session_failed - the session ended in a failure of the host or of the connection (not after
 * its last address, not stopped by us, not a polite early end) */
static int session_failed(enum smtp_end e)
{
	return e != SMTP_END_OK && e != SMTP_END_REJECTIONS && e != SMTP_END_CANCELLED;
}

/* is_pushback - the session's end says the host does not want us now */
static int is_pushback(const struct smtp_session_result *r)
{
	switch (r->end) {
	case SMTP_END_CONNECT:
	case SMTP_END_TIMEOUT:
	case SMTP_END_THROTTLED:
	case SMTP_END_DROPPED:
		return 1;
	case SMTP_END_BANNER:
		return r->outcome == OUTCOME_THROTTLED || r->outcome == OUTCOME_TEMPORARY;
	default:
		return 0;
	}
}

/* host_feedback - a session on H ended as SR says. Pushback shrinks the window at once, and
 * when the host refused a session for being one too many (421, 4.7.x) it also sets the
 * host's ceiling: the sessions open at that moment minus one. A window never grows past it
 * again, so the limit is found once and kept, not probed over and over. Every failure counts
 * toward a pause (15 s x penalty^2, at most an hour). Returns 1 when the host was just paused. */
static int host_feedback(struct shost *h, const struct job *j, const struct smtp_session_result *sr)
{
	double now = clock_now(), pause;

	if (!session_failed(sr->end))
		return 0; /* the window grew when the session was admitted (host_admitted) */
	h->last_end = sr->end;
	h->have_last_reply = sr->reply != NULL;
	if (sr->reply)
		h->last_reply = *sr->reply;
	snprintf(h->last_detail, sizeof h->last_detail, "%s", sr->detail ? sr->detail : "");
	snprintf(h->last_mx, sizeof h->last_mx, "%s", sr->greeted && sr->mx_host ? sr->mx_host : "");
	if (is_pushback(sr)) {
		h->pushback++;
		if (sr->end == SMTP_END_CONNECT || sr->end == SMTP_END_TIMEOUT ||
		    sr->end == SMTP_END_DROPPED) {
			h->connect_failures += sr->end != SMTP_END_DROPPED;
			h->window = h->window > 1 ? h->window / 2 : 1;
		} else {
			int limit = j->concurrent > 1 ? j->concurrent - 1 : 1;
			if (limit < h->ceiling)
				h->ceiling = limit;
			h->window = h->window / 2 > h->ceiling ? h->ceiling : h->window / 2;
			if (h->window < 1)
				h->window = 1;
		}
	}
	if (++h->failures < DEF_FAILURES_TO_PAUSE)
		return 0;
	h->penalty++;
	pause = DEF_PAUSE_BASE * h->penalty * h->penalty;
	h->paused_until = now + (pause < DEF_PAUSE_MAX ? pause : DEF_PAUSE_MAX);
	h->pauses++;
	h->failures = 0;
	return 1;
}

/* host_admitted - H took a session up to MAIL FROM: one more may fit. Slow start as in TCP:
 * the window grows by one per admitted session (it doubles per round of sessions) until the
 * ceiling or the first pushback, which then caps it for good (host_feedback). Growing on
 * admission rather than at the session's end keeps long sessions to slow hosts from holding
 * the window small. */
static void host_admitted(struct shost *h)
{
	h->failures = 0;
	if (h->window < h->ceiling) {
		h->window++;
		if (h->window > h->max_window)
			h->max_window = h->window;
	}
}

/* host_wake - the sessions of H waiting for work ask again */
static void host_wake(struct shost *h)
{
	while (h && h->idle) {
		struct job *j = h->idle;
		h->idle = j->idle_next;
		j->waiting = 0;
		smtp_resume(j->session);
	}
}

/* host_ready - D's waiting addresses go to H's list (D is on no list) */
static void host_ready(struct sched *s, struct shost *h, struct sdomain *d)
{
	d->host = h;
	d->ready_next = NULL;
	d->ready_prev = h->ready_tail;
	if (h->ready_tail)
		h->ready_tail->ready_next = d;
	else
		h->ready_head = d;
	h->ready_tail = d;
	h->queued += d->queued;
	if (!h->on_work) {
		h->on_work = 1;
		h->work_next = s->work;
		s->work = h;
	}
	host_wake(h);
}

/* host_unready - D leaves its host's list */
static void host_unready(struct sdomain *d)
{
	struct shost *h = d->host;

	if (h == NULL)
		return;
	if (d->ready_prev)
		d->ready_prev->ready_next = d->ready_next;
	else
		h->ready_head = d->ready_next;
	if (d->ready_next)
		d->ready_next->ready_prev = d->ready_prev;
	else
		h->ready_tail = d->ready_prev;
	h->queued -= d->queued;
	d->host = NULL;
	d->ready_prev = d->ready_next = NULL;
}

/* host_pick - the first domain on H's list with an address that may be asked now; *probe
 * set when its catch-all probe must be asked first. Domains left empty leave the list. */
static struct sdomain *host_pick(struct sched *s, struct shost *h, int *probe)
{
	struct sdomain *d, *next;

	for (d = h->ready_head; d; d = next) {
		next = d->ready_next;
		if (d->queued == 0) {
			host_unready(d);
			domain_free_if_idle(s, d);
			continue;
		}
		if (d->ca_known) {
			*probe = 0;
			return d;
		}
		if (!d->probing) {
			/* A probe greylisted earlier is asked again when due; meanwhile its addresses
			 * are asked (their greylist triples start too) and those accepted wait for it
			 * (job_rcpt_done). */
			*probe = d->probe_due == 0 || clock_now() >= d->probe_due;
			return d;
		}
		/* its probe is being asked: its addresses wait for the answer */
	}
	return NULL;
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

/* domain_free_if_idle - drop a domain with nothing waiting and nothing being asked */
static void domain_free_if_idle(struct sched *s, struct sdomain *d)
{
	unsigned b;
	struct sdomain **pp;

	if (d->queued || d->inflight || d->asked_by || d->host || d->dns_state == 1)
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
static void report(struct sched *s, struct saddr *a, const struct decide_out *v, int attempts,
                   const struct reply *r, const char *detail, const char *mx_host, int tls)
{
	struct sched_result res = {
		.id = a->id, .verdict = *v, .attempts = attempts, .reply = r, .detail = detail,
		.mx_host = mx_host, .source = a->d->source, .tls = tls, .catch_all = a->d->ca,
	};

	if (v->retry)
		s->retries++;
	s->held--;
	s->cb.result(s->ctx, &res);
	saddr_free(a);
}

/* queue_push - put A at the end of D's queue (not reported) */
static void queue_push(struct sdomain *d, struct saddr *a)
{
	a->next = NULL;
	if (d->tail)
		d->tail->next = a;
	else
		d->head = a;
	d->tail = a;
	d->queued++;
	if (d->host)
		d->host->queued++;
}

/* queue_pop - the first waiting address of D (D has one) */
static struct saddr *queue_pop(struct sdomain *d)
{
	struct saddr *a = d->head;

	d->head = a->next;
	if (d->head == NULL)
		d->tail = NULL;
	d->queued--;
	if (d->host)
		d->host->queued--;
	a->next = NULL;
	return a;
}

/* domain_fail - up to N of D's waiting addresses get verdict IN (nothing asked them); R and
 * DETAIL say why. Returns how many. */
static size_t domain_fail(struct sched *s, struct sdomain *d, size_t n, const struct decide_in *in0,
                          const struct reply *r, const char *detail, const char *mx_host)
{
	size_t done = 0;

	while (d->head && done < n) {
		struct saddr *a = queue_pop(d);
		struct decide_in in = *in0;
		struct decide_out v;
		in.flags = a->flags;
		in.last_attempt = a->attempts + 1 >= s->cfg.max_attempts;
		decide(&in, &v);
		report(s, a, &v, a->attempts + 1, r, detail, mx_host, 0);
		done++;
	}
	return done;
}

/* domain_fail_host - up to N of D's waiting addresses get H's last failure */
static size_t domain_fail_host(struct sched *s, struct sdomain *d, size_t n, const struct shost *h)
{
	struct decide_in in = {.dns = DNS_OK, .session = h->last_end, .catch_all = d->ca};

	/* The reply, when there is one, answered another command of the session (another RCPT,
	 * MAIL FROM, the banner): said so, since it may quote another address. */
	const char *detail = h->last_detail[0] ? h->last_detail
	                     : h->have_last_reply
	                           ? "not asked: the server's reply shown, to another command of the "
	                             "session, ended it"
	                           : "no MX host of the domain took a session";

	return domain_fail(s, d, n, &in, h->have_last_reply ? &h->last_reply : NULL, detail,
	                   h->last_mx[0] ? h->last_mx : NULL);
}

/* domain_catch_all - D is proven catch-all: its waiting addresses are told so, unasked */
static void domain_catch_all(struct sched *s, struct sdomain *d)
{
	struct decide_in in = {.dns = DNS_OK, .rcpt_answered = 1, .rcpt = OUTCOME_ACCEPTED,
	                       .catch_all = CATCH_ALL_YES};
	struct decide_out v;

	decide(&in, &v);
	while (d->head) {
		struct saddr *a = queue_pop(d);
		report(s, a, &v, a->attempts, NULL, "domain accepts any address (catch-all)", NULL, 0);
	}
}

/* domain_route - the first MX host of D that has not failed it lately and is not paused, or
 * NULL (then d->failed_host says why, when some host did) */
static struct shost *domain_route(struct sched *s, struct sdomain *d, int *index)
{
	double now = clock_now();

	for (size_t i = 0; i < d->nhosts; i++) {
		struct shost *h;
		if (d->tried[i] || d->hosts[i].naddrs == 0)
			continue;
		h = host_get(s, &d->hosts[i].addr[0], d->source);
		if (host_paused(h, now)) {
			d->tried[i] = 1;
			d->failed_host = h;
			continue;
		}
		*index = (int)i;
		return h;
	}
	return NULL;
}

/* domain_schedule - D has waiting addresses and an answer from DNS: put it on a host's list */
static void domain_schedule(struct sched *s, struct sdomain *d)
{
	struct shost *h;
	int index;

	if (d->queued == 0 || d->dns_state != 2 || d->host)
		return;
	if (d->ca_known && d->ca == CATCH_ALL_YES) {
		domain_catch_all(s, d); /* proven (by this run or a stored answer): no RCPT tells more */
		return;
	}
	h = domain_route(s, d, &index);
	if (h == NULL) {
		/* Every MX host failed to take a session lately: the addresses' attempt failed. */
		memset(d->tried, 0, sizeof d->tried);
		if (d->failed_host) {
			domain_fail_host(s, d, SIZE_MAX, d->failed_host);
		} else {
			struct decide_in in = {.dns = DNS_OK, .session = SMTP_END_CONNECT};
			domain_fail(s, d, SIZE_MAX, &in, NULL, "no MX host of the domain has an address", NULL);
		}
		return;
	}
	d->route = index;
	host_ready(s, h, d);
}

/* domain_move - D's host H failed to take a session: D's addresses go to its next MX host,
 * or get H's failure when it has none */
static void domain_move(struct sched *s, struct sdomain *d, struct shost *h)
{
	host_unready(d);
	d->tried[d->route] = 1;
	d->failed_host = h;
	domain_schedule(s, d);
}

/* domain_has_other_route - D has an MX host besides its current one that it may still try */
static int domain_has_other_route(struct sched *s, struct sdomain *d)
{
	double now = clock_now();

	for (size_t i = 0; i < d->nhosts; i++)
		if ((int)i != d->route && !d->tried[i] && d->hosts[i].naddrs &&
		    !host_paused(host_get(s, &d->hosts[i].addr[0], d->source), now))
			return 1;
	return 0;
}

/* host_failed - session J to H failed: the waiting addresses it would still have asked get its
 * failure, as they would have had they been in it. Before MAIL FROM was accepted the failure is
 * the host's (or about us): any of the host's addresses; after it, it may be about one domain
 * (a 5.7.1 "relay access denied" says nothing of the host's other domains): that domain's.
 * When H was just paused, every address waiting for it. A domain whose host never greeted us
 * goes to its next MX host instead, when it has one. Refusals for our pace (421, 4.7.x) cost
 * no address anything until the host is paused. */
static void host_failed(struct sched *s, struct shost *h, const struct job *j,
                        const struct smtp_session_result *sr, int paused)
{
	size_t n = paused ? SIZE_MAX
	           : j->offered < DEF_SESSION_ADDRESSES ? (size_t)(DEF_SESSION_ADDRESSES - j->offered)
	                                                : 0;
	struct sdomain *d, *next;

	if (!paused && sr->end == SMTP_END_THROTTLED)
		return;
	if (!paused && j->admitted) {
		d = j->last_d;
		if (d && d->host == h) {
			domain_fail_host(s, d, n, h);
			if (d->queued == 0)
				host_unready(d); /* freed by the caller once unpinned */
		}
		return;
	}
	for (d = h->ready_head; d && n > 0; d = next) {
		next = d->ready_next;
		if (!sr->greeted && domain_has_other_route(s, d)) {
			n -= d->queued < n ? d->queued : n;
			domain_move(s, d, h);
			continue;
		}
		n -= domain_fail_host(s, d, n, h);
		if (d->queued == 0) {
			host_unready(d);
			domain_free_if_idle(s, d);
		}
	}
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
		domain_fail(s, d, SIZE_MAX, &in, NULL, d->dns_detail, NULL);
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

/* host_wants_session - H has work for one more session: the first, or more waiting addresses
 * than its open sessions will ask soon (a full session's worth each on a fast host, where
 * fewer connections cost less; a few each on a slow one, where parallel sessions pay) */
static int host_wants_session(const struct shost *h)
{
	size_t each = h->rtt >= DEF_SLOW_RTT ? DEF_SESSION_MIN_ADDRESSES : DEF_SESSION_ADDRESSES;

	return h->queued > 0 && (h->active == 0 || h->queued > (size_t)h->active * each);
}

static const char *job_next_rcpt(void *ctx, long *id, int *utf8)
{
	struct job *j = ctx;
	struct sched *s = j->s;
	struct shost *h = j->h;
	struct sdomain *d;
	int probe = 0;

	if (!j->admitted) {
		/* Connect, banner, EHLO and MAIL FROM took about four round trips. */
		double sample = (clock_now() - j->started) / 4;
		j->admitted = 1;
		h->rtt = h->rtt > 0 ? 0.7 * h->rtt + 0.3 * sample : sample;
		host_admitted(h);
		sched_pump(s); /* the window may have grown */
	}
	if (s->draining || j->offered >= DEF_SESSION_ADDRESSES ||
	    clock_now() - j->started > DEF_SESSION_SECONDS)
		return NULL; /* stopping, or long enough: QUIT */
	d = host_pick(s, h, &probe);
	if (d == NULL) {
		if (h->queued == 0)
			return NULL;
		/* Every waiting address waits for its domain's probe: so do we, briefly. */
		j->waiting = 1;
		j->idle_next = h->idle;
		h->idle = j;
		*id = SMTP_WAIT;
		return NULL;
	}
	j->offered++;
	d->inflight++;
	if (j->last_d != d) {
		struct sdomain *old = j->last_d;
		d->asked_by++;
		j->last_d = d;
		if (old) {
			old->asked_by--;
			domain_free_if_idle(s, old);
		}
	}
	if (probe) {
		d->probing = 1;
		j->probe_d = d;
		probe_local(d->name, j->probe_addr, PROBE_LOCAL_LEN + 1);
		snprintf(j->probe_addr + strlen(j->probe_addr),
		         sizeof j->probe_addr - strlen(j->probe_addr), "@%s", d->name);
		*id = PROBE_ID;
		*utf8 = 0;
		return j->probe_addr;
	}
	j->cur = queue_pop(d);
	j->cur->route = d->route;
	*id = (long)(intptr_t)j->cur;
	*utf8 = j->cur->utf8;
	return j->cur->address;
}

/* probe_end - the probe of D was answered (ANSWERED, outcome O) or lost with its session */
static void probe_end(struct sched *s, struct sdomain *d, int answered, enum reply_outcome o)
{
	d->probing = 0;
	d->inflight--;
	if (answered && (o == OUTCOME_TEMPORARY || o == OUTCOME_THROTTLED) &&
	    d->probe_tries + 2 <= s->cfg.max_attempts) {
		/* Greylisted (or deferred): asked again after the greylist delay, from the same
		 * source and sender with the same local part, as an address would be. */
		d->probe_tries++;
		d->probe_due = clock_now() + config_greylist_wait(&s->cfg, d->probe_tries + 1);
	} else if (answered) {
		d->ca = decide_catch_all(o);
		d->ca_known = 1;
		if (s->cb.catch_all_learned)
			s->cb.catch_all_learned(s->ctx, d->name, d->ca);
		if (d->ca == CATCH_ALL_YES)
			domain_catch_all(s, d);
	}
	host_wake(d->host); /* sessions waiting for this answer: ask it, or the probe again */
	domain_free_if_idle(s, d);
}

static void job_rcpt_done(void *ctx, long id, enum reply_outcome o, const struct reply *r,
                          const struct smtp_session_result *sr)
{
	struct job *j = ctx;
	struct saddr *a = j->cur;
	struct sdomain *d;
	struct decide_in in;
	struct decide_out v;

	if (id == PROBE_ID) {
		d = j->probe_d;
		j->probe_d = NULL;
		probe_end(j->s, d, 1, o);
		return;
	}
	j->cur = NULL;
	d = a->d;
	memset(&in, 0, sizeof in);
	in.dns = DNS_OK;
	in.rcpt_answered = 1;
	in.rcpt = o;
	in.catch_all = d->ca;
	in.flags = a->flags;
	in.last_attempt = a->attempts + 1 >= j->s->cfg.max_attempts;
	decide(&in, &v);
	if (o == OUTCOME_ACCEPTED && !d->ca_known && d->probe_tries > 0 && !in.last_attempt) {
		/* Accepted while the domain's probe waits for its greylist retry: whether the domain
		 * takes any address is not known yet, so the address waits for it too. */
		v.retry = 1;
		v.status = STATUS_UNKNOWN;
		v.reason = REASON_GREYLISTED;
	}
	memset(d->tried, 0, sizeof d->tried); /* a host answered: start from the best again */
	d->failed_host = NULL;
	d->inflight--;
	report(j->s, a, &v, a->attempts + 1, r, r ? NULL : sr->detail, d->hosts[a->route].name,
	       sr->tls);
	domain_free_if_idle(j->s, d);
}

static void job_done(void *ctx, const struct smtp_session_result *sr)
{
	struct job *j = ctx;
	struct sched *s = j->s;
	struct shost *h = j->h;
	int paused;

	s->active--;
	h->active--;
	if (j->prev)
		j->prev->next = j->next;
	else
		s->jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	if (j->waiting)
		for (struct job **pp = &h->idle; *pp; pp = &(*pp)->idle_next)
			if (*pp == j) {
				*pp = j->idle_next;
				break;
			}
	if (j->probe_d)
		probe_end(s, j->probe_d, 0, OUTCOME_TEMPORARY); /* unanswered: another session asks */
	if (sr->rcpt_limit > 0 && (h->rcpt_limit == 0 || sr->rcpt_limit < h->rcpt_limit))
		h->rcpt_limit = sr->rcpt_limit; /* its later sessions stay within it */
	paused = host_feedback(h, j, sr);
	if (!sr->connected && !h->reached && !h->unreached &&
	           (sr->end == SMTP_END_CONNECT || sr->end == SMTP_END_TIMEOUT)) {
		h->unreached = 1;
		s->hosts_unreached++;
	}
	/* Spacing after a disconnect too: the host may count a connection we closed a moment ago
	 * (after QUIT) against its limit, and refuse the next one if it comes at once. */
	if (h->next_start < clock_now() + DEF_HOST_SPACING)
		h->next_start = clock_now() + DEF_HOST_SPACING;
	if (j->cur) {
		/* The address being asked when the session ended. */
		struct saddr *a = j->cur;
		struct sdomain *d = a->d;
		d->inflight--;
		if (sr->end == SMTP_END_CANCELLED || s->draining) {
			/* Stopping: the answer never came; the next run asks again. */
			struct decide_out retry = {1, STATUS_UNKNOWN, REASON_NOT_VERIFIED};
			report(s, a, &retry, a->attempts, NULL, "interrupted", NULL, 0);
		} else {
			struct decide_in in = {.dns = DNS_OK, .session = sr->end, .catch_all = d->ca,
			                       .flags = a->flags,
			                       .last_attempt = a->attempts + 1 >= s->cfg.max_attempts};
			struct decide_out v;
			decide(&in, &v);
			report(s, a, &v, a->attempts + 1, sr->reply, sr->detail, d->hosts[a->route].name,
			       sr->tls);
		}
		domain_free_if_idle(s, d);
	}
	/* A session that ended while it waited idle for work was asked nothing: what waits for
	 * the host keeps waiting (a server may close an idle connection). */
	if (session_failed(sr->end) && !s->draining && (paused || !j->waiting))
		host_failed(s, h, j, sr, paused);
	if (j->last_d) {
		j->last_d->asked_by--;
		domain_free_if_idle(s, j->last_d);
	}
	free(j);
	sched_pump(s);
}

/* job_connected - the session's TCP connection is up: its host is reachable from here */
static void job_connected(void *ctx)
{
	struct job *j = ctx;

	if (!j->h->reached) {
		j->h->reached = 1;
		j->s->hosts_reached++;
	}
}

/* job_start - one session to H; D is the domain that asked for it (its MX name is used) */
static void job_start(struct sched *s, struct shost *h, struct sdomain *d)
{
	static const struct smtp_callbacks cb = {job_next_rcpt, job_rcpt_done, job_done,
	                                         job_connected};
	struct smtp_target t[SMTP_MAX_TARGETS];
	const struct dns_host *mx = &d->hosts[d->route];
	struct job *j = calloc(1, sizeof *j);
	size_t nt = 0;

	if (j == NULL)
		abort();
	j->s = s;
	j->h = h;
	snprintf(j->mx_name, sizeof j->mx_name, "%s", mx->name);
	/* This MX name's addresses only, the host's first: the session may try them in turn (IPv6
	 * and IPv4, say); the scheduler, not the session, moves domains to their other MX hosts. */
	for (size_t k = 0; k < mx->naddrs && nt < SMTP_MAX_TARGETS; k++) {
		t[nt].host = j->mx_name;
		t[nt].addr = mx->addr[k];
		t[nt].addrlen = mx->addrlen[k];
		nt++;
	}
	s->active++;
	h->active++;
	j->concurrent = h->active;
	h->sessions++;
	s->sessions++;
	h->next_start = clock_now() + DEF_HOST_SPACING;
	j->started = clock_now();
	j->next = s->jobs;
	if (s->jobs)
		s->jobs->prev = j;
	s->jobs = j;
	j->session = smtp_start(s->base, &s->cfg, s->ssl, t, nt, h->source, &cb, j);
	if (j->session == NULL) {
		fprintf(stderr, "mailsift: out of memory starting a session\n");
		abort();
	}
	if (h->rcpt_limit > 0)
		smtp_set_rcpt_limit(j->session, h->rcpt_limit); /* found by an earlier session */
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
	double now = clock_now(), wake = 0;
	struct shost **pp = &s->work;

	while (*pp) {
		struct shost *h = *pp;
		while (!s->draining && (int)s->active < s->o.concurrency && h->active < h->window &&
		       now >= h->paused_until && now >= h->next_start && host_wants_session(h)) {
			int probe;
			struct sdomain *d = host_pick(s, h, &probe);
			if (d == NULL)
				break; /* what waits, waits for a probe being asked */
			job_start(s, h, d);
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
	a->d = d;
	for (const char *p = in->address; at && p < at; p++)
		a->utf8 |= (unsigned char)*p >= 0x80;
	queue_push(d, a);
	s->held++;
	host_wake(d->host); /* on a host's list already: its waiting sessions may take it */
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

double sched_retry_wait(const struct probe_config *c, const struct sched_result *r)
{
	if (r->verdict.reason && strcmp(r->verdict.reason, REASON_NOT_VERIFIED) == 0)
		return 0;
	return config_greylist_wait(c, r->attempts + 1);
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
	double now = clock_now();
	size_t n = 0;

	for (size_t b = 0; b < SCHED_BUCKETS; b++)
		for (const struct shost *h = s->hosts[b]; h; h = h->hnext)
			n += h->paused_until > now;
	return n;
}

size_t sched_smtp_blocked(const struct sched *s)
{
	return s->hosts_reached == 0 && s->hosts_unreached >= DEF_BLOCKED_HOSTS ? s->hosts_unreached
	                                                                        : 0;
}

void sched_drain(struct sched *s)
{
	s->draining = 1;
	for (struct job *j = s->jobs; j; j = j->next)
		if (j->waiting)
			host_wake(j->h); /* they QUIT now */
}

void sched_cancel(struct sched *s)
{
	struct decide_out retry = {1, STATUS_UNKNOWN, REASON_NOT_VERIFIED};

	s->draining = 1;
	/* Waiting addresses go back to the owner first; open sessions then report theirs. */
	for (size_t b = 0; b < SCHED_BUCKETS; b++)
		for (struct sdomain *d = s->domains[b]; d; d = d->hnext)
			while (d->head) {
				struct saddr *a = queue_pop(d);
				report(s, a, &retry, a->attempts, NULL, "interrupted", NULL, 0);
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
