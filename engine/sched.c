/*
 * sched - the scheduler's front: the public API (sched.h, which states the policy and the
 * contract), the sessions it runs and the pump that starts them.
 *
 * This is the only file of the scheduler that reads the clock or starts a session; it hands
 * the time to the rules, which live in sched_flow.c (host flow control), sched_route.c
 * (routing and failure attribution) and sched_probe.c (the catch-all probe); sched_int.h has
 * the objects they share. Sessions are not given addresses when they start: each takes the
 * next one from its host's list when it is ready for a RCPT (job_next_rcpt), whatever its
 * domain, so the sessions of a host share its work to the end and finish together, and the
 * domains sharing a host share its sessions. sched_pump() starts every session the limits
 * allow and arms one timer for the earliest moment another may start.
 */
#include "engine/sched.h"

#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/timeval.h"
#include "common/trace.h"
#include "engine/sched_int.h"

/* ---- DNS ---- */

static void domain_dns_cb(void *arg, const struct dns_result *r)
{
	struct sdomain *d = arg;
	struct sched *s = d->s;

	if (s->cb.dns_learned && !d->dns_from_store)
		s->cb.dns_learned(s->ctx, d->name, r);
	if (sched_domain_answer(s, d, r, clock_now()))
		sched_pump(s);
}

/* ---- hosts let go ---- */

/* host_free - H and what it owns */
static void host_free(struct shost *h)
{
	free(h->key);
	if (h->last)
		free(h->last->trace);
	free(h->last);
	free(h);
}

/* sched_host_idle - H is let go when the owner keeps host states and nothing holds it: no
 * session, no domain on its list (or waiting for it to be picked), no domain whose last
 * failed host it is */
void sched_host_idle(struct sched *s, struct shost *h)
{
	struct store_host st;
	unsigned b;

	if (s->cb.host_saved == NULL || h->active || h->idle || h->on_work || h->ready_head ||
	    h->queued || h->refs)
		return;
	sched_host_state_get(h, &st);
	s->cb.host_saved(s->ctx, &st);
	b = sched_hash(h->key, NULL) % SCHED_BUCKETS;
	for (struct shost **pp = &s->hosts[b]; *pp; pp = &(*pp)->hnext)
		if (*pp == h) {
			*pp = h->hnext;
			break;
		}
	s->nhosts--;
	s->hosts_let_go++;
	host_free(h);
}

void sched_hosts_save(struct sched *s)
{
	struct store_host st;

	if (s->cb.host_saved == NULL)
		return;
	for (size_t b = 0; b < SCHED_BUCKETS; b++)
		for (const struct shost *h = s->hosts[b]; h; h = h->hnext) {
			sched_host_state_get(h, &st);
			s->cb.host_saved(s->ctx, &st);
		}
}

/* ---- sessions ---- */

/* job_admitted - J's host accepted MAIL FROM at NOW: its round trip is sampled (connect, banner,
 * EHLO and MAIL FROM took about four) and its window may grow */
static void job_admitted(struct job *j, double now)
{
	j->admitted = 1;
	sched_flow_admitted(&j->h->flow, (now - j->started) / 4);
	sched_pump(j->s); /* the window may have grown */
}

/* job_take - J asks D next (pinning D as its last domain); its probe when PROBE */
static const char *job_take(struct job *j, struct sdomain *d, int probe, long *id, int *utf8)
{
	j->offered++;
	d->inflight++;
	if (j->last_d != d) {
		struct sdomain *old = j->last_d;
		d->asked_by++;
		j->last_d = d;
		if (old) {
			old->asked_by--;
			sched_domain_free_if_idle(j->s, old);
		}
	}
	if (probe) {
		*id = PROBE_ID;
		*utf8 = 0;
		return sched_probe_begin(j, d);
	}
	j->cur = sched_queue_pop(d);
	j->cur->route = d->route;
	*id = (long)(intptr_t)j->cur;
	*utf8 = j->cur->utf8;
	return j->cur->address;
}

static const char *job_next_rcpt(void *ctx, long *id, int *utf8)
{
	struct job *j = ctx;
	struct sched *s = j->s;
	struct shost *h = j->h;
	struct sdomain *d;
	int probe = 0;
	double now = clock_now();

	if (!j->admitted)
		job_admitted(j, now);
	if (s->draining || j->offered >= DEF_SESSION_ADDRESSES ||
	    now - j->started > DEF_SESSION_SECONDS)
		return NULL; /* stopping, or long enough: QUIT */
	d = sched_host_pick(s, h, &probe, now);
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
	return job_take(j, d, probe, id, utf8);
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
		sched_probe_end(j->s, d, 1, o, clock_now());
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
	if (sched_probe_holds(d, o, in.last_attempt)) {
		/* Accepted while the domain's probe waits for its greylist retry: whether the domain
		 * takes any address is not known yet, so the address waits for it too. */
		v.retry = 1;
		v.status = STATUS_UNKNOWN;
		v.reason = REASON_GREYLISTED;
	}
	memset(d->tried, 0, sizeof d->tried); /* a host answered: start from the best again */
	sched_domain_failed_host(j->s, d, NULL);
	d->inflight--;
	sched_report(j->s, a, &v, a->attempts + 1, r, r ? NULL : sr->detail, d->hosts[a->route].name,
	             sr->tls, sr->trace, 1);
	sched_domain_free_if_idle(j->s, d);
}

/* job_unlink - J leaves the open sessions (and its host's idle ones) */
static void job_unlink(struct job *j)
{
	struct sched *s = j->s;
	struct shost *h = j->h;

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
}

/* job_feedback - what J's end at NOW tells about its host: its recipient limit, its last
 * failure, its flow control (window, ceiling, pause, spacing after the close) and whether it
 * is reachable at all. Returns 1 when the host was just paused. */
static int job_feedback(struct job *j, const struct smtp_session_result *sr, double now)
{
	struct sched *s = j->s;
	struct shost *h = j->h;
	int paused;

	sched_flow_rcpt_limit(&h->flow, sr->rcpt_limit); /* its later sessions stay within it */
	sched_host_note_failure(h, sr);
	paused = sched_flow_failed(&h->flow, sr, j->concurrent, now);
	if (!sr->connected && !h->reached && !h->unreached &&
	    (sr->end == SMTP_END_CONNECT || sr->end == SMTP_END_TIMEOUT)) {
		h->unreached = 1;
		s->hosts_unreached++;
	}
	sched_flow_closed(&h->flow, now);
	return paused;
}

/* job_report_current - the address J was asking when it ended gets the session's end (or is
 * handed back unasked when we are stopping) */
static void job_report_current(struct job *j, const struct smtp_session_result *sr)
{
	struct sched *s = j->s;
	struct saddr *a = j->cur;
	struct sdomain *d = a->d;

	d->inflight--;
	if (sr->end == SMTP_END_CANCELLED || s->draining) {
		/* Stopping: the answer never came; the next run asks again. */
		struct decide_out retry = {1, STATUS_UNKNOWN, REASON_NOT_VERIFIED};
		sched_report(s, a, &retry, a->attempts, NULL, "interrupted", NULL, 0, sr->trace, 1);
	} else {
		struct decide_in in = {.dns = DNS_OK, .session = sr->end, .catch_all = d->ca,
		                       .flags = a->flags,
		                       .last_attempt = a->attempts + 1 >= s->cfg.max_attempts};
		struct decide_out v;
		decide(&in, &v);
		sched_report(s, a, &v, a->attempts + 1, sr->reply, sr->detail, d->hosts[a->route].name,
		             sr->tls, sr->trace, 1);
	}
	sched_domain_free_if_idle(s, d);
}

/* job_done - session J is over: bookkeeping, feedback for its host, its unanswered address,
 * the failure for the addresses it would still have asked, then J is freed */
static void job_done(void *ctx, const struct smtp_session_result *sr)
{
	struct job *j = ctx;
	struct sched *s = j->s;
	double now = clock_now();
	struct sched_attr_in ai = {.end = sr->end, .waiting = j->waiting, .admitted = j->admitted,
	                           .greeted = sr->greeted, .offered = j->offered};
	struct sched_attr plan;
	struct shost *h;

	job_unlink(j);
	if (s->cb.session_ended) {
		struct store_session ss = {
			.seconds = sr->seconds, .source = j->h->source, .mx_host = j->mx_name,
			.mx_ip = j->h->ip, .tls = sr->tls, .rcpts = sr->rcpts,
			.smtp_end = smtp_end_name(sr->end), .outcome = smtp_end_outcome(sr->end),
			.code = sr->reply ? sr->reply->code : sr->last_code,
			.enhanced = sr->reply ? sr->reply->enhanced : sr->last_enhanced,
			.text = sr->reply ? sr->reply->text : sr->last_text, .reply_ms = sr->reply_ms,
		};
		s->cb.session_ended(s->ctx, &ss);
	}
	if (j->probe_d) /* unanswered: another session asks */
		sched_probe_end(s, j->probe_d, 0, OUTCOME_TEMPORARY, now);
	ai.paused = job_feedback(j, sr, now);
	if (j->cur)
		job_report_current(j, sr);
	ai.draining = s->draining;
	sched_attr_plan(&ai, &plan);
	sched_attr_apply(s, j->h, j->last_d, &plan, now);
	if (j->last_d) {
		j->last_d->asked_by--;
		sched_domain_free_if_idle(s, j->last_d);
	}
	h = j->h;
	free(j);
	sched_host_idle(s, h);
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

/* job_start - one session to H at NOW; D is the domain that asked for it (its MX name is used) */
static void job_start(struct sched *s, struct shost *h, struct sdomain *d, double now)
{
	static const struct smtp_callbacks cb = {job_next_rcpt, job_rcpt_done, job_done,
	                                         job_connected};
	struct smtp_target t[SMTP_MAX_TARGETS];
	const struct sroute *mx = &d->hosts[d->route];
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
		t[nt].addrlen = sched_route_addr(mx, k, &t[nt].addr);
		nt++;
	}
	s->active++;
	h->active++;
	j->concurrent = h->active;
	h->sessions++;
	s->sessions++;
	sched_flow_started(&h->flow, now);
	j->started = now;
	j->next = s->jobs;
	if (s->jobs)
		s->jobs->prev = j;
	s->jobs = j;
	j->session = smtp_start(s->base, &s->cfg, s->ssl, t, nt, h->source, &cb, j);
	if (j->session == NULL) {
		fprintf(stderr, "mailsift: out of memory starting a session\n");
		abort();
	}
	if (h->flow.rcpt_limit > 0)
		smtp_set_rcpt_limit(j->session, h->flow.rcpt_limit); /* found by an earlier session */
	if (s->tracing)
		smtp_trace(j->session, s->t0); /* out of memory: it goes on untraced */
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

/* sched_room - S may open one more session now (not stopping, under the concurrency) */
static int sched_room(const struct sched *s)
{
	return !s->draining && (int)s->active < s->o.concurrency;
}

void sched_pump(struct sched *s)
{
	double now = clock_now(), wake = 0;
	struct shost **pp = &s->work;

	while (*pp) {
		struct shost *h = *pp;
		while (sched_room(s) && sched_flow_may_start(&h->flow, h->active, now) &&
		       sched_flow_wants_session(&h->flow, h->queued, h->active)) {
			int probe;
			struct sdomain *d = sched_host_pick(s, h, &probe, now);
			if (d == NULL)
				break; /* what waits, waits for a probe being asked */
			job_start(s, h, d, now);
		}
		if (h->ready_head == NULL) {
			*pp = h->work_next;
			h->on_work = 0;
			sched_host_idle(s, h);
			continue;
		}
		if (sched_room(s)) {
			double t = sched_flow_wake_at(&h->flow, h->active);
			if (t > now && (wake == 0 || t < wake))
				wake = t;
		}
		pp = &h->work_next;
	}
	if (wake > 0 && !s->pump_armed) {
		double dt = wake - now;
		struct timeval tv = timeval_from_secs(dt);
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
	s->t0 = clock_now();
	s->tracing = c->keep_traces != TRACE_KEEP_NONE;
	if (s->tracing) {
		s->scratch = trace_new(DEF_TRACE_ALL_BYTES, s->t0); /* the most kept: the run clips */
		s->scratch_domain = trace_new(DEF_TRACE_DOMAIN_BYTES, s->t0);
	}
	if (s->pump_timer == NULL || (s->tracing && (s->scratch == NULL || s->scratch_domain == NULL))) {
		if (s->pump_timer)
			event_free(s->pump_timer);
		trace_free(s->scratch);
		trace_free(s->scratch_domain);
		free(s);
		return NULL;
	}
	return s;
}

void sched_add(struct sched *s, const struct sched_addr *in)
{
	const char *source = sched_source_for(s, in->domain, in->source);
	struct sdomain *d = sched_domain_get(s, in->domain, source);
	struct saddr *a = calloc(1, sizeof *a);
	const char *at = strrchr(in->address, '@');

	if (a == NULL)
		abort();
	a->id = in->id;
	a->address = sched_strdup(in->address);
	a->flags = in->flags;
	a->attempts = in->attempts;
	a->d = d;
	for (const char *p = in->address; at && p < at; p++)
		a->utf8 |= (unsigned char)*p >= 0x80;
	if (in->urgent)
		sched_queue_push_urgent(d, a);
	else
		sched_queue_push(d, a);
	if (++s->held > s->peak_held)
		s->peak_held = s->held;
	sched_host_wake(d->host); /* on a host's list already: its waiting sessions may take it */
	if (d->dns_state == 0) {
		struct dns_result *cached = NULL;
		d->dns_state = 1;
		d->dns_asked = clock_now();
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
		sched_domain_schedule(s, d, clock_now());
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

size_t sched_domains(const struct sched *s)
{
	return s->ndomains;
}

size_t sched_hosts(const struct sched *s)
{
	return s->nhosts;
}

void sched_peaks(const struct sched *s, size_t *held, size_t *domains, size_t *hosts,
                 long *let_go)
{
	*held = s->peak_held;
	*domains = s->peak_domains;
	*hosts = s->peak_hosts;
	*let_go = s->hosts_let_go;
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
			n += sched_flow_paused(&h->flow, now);
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
			sched_host_wake(j->h); /* they QUIT now */
}

void sched_cancel(struct sched *s)
{
	struct decide_out retry = {1, STATUS_UNKNOWN, REASON_NOT_VERIFIED};

	s->draining = 1;
	/* Waiting addresses go back to the owner first; open sessions then report theirs. */
	for (size_t b = 0; b < SCHED_BUCKETS; b++)
		for (struct sdomain *d = s->domains[b]; d; d = d->hnext)
			while (d->head) {
				struct saddr *a = sched_queue_pop(d);
				sched_report(s, a, &retry, a->attempts, NULL, "interrupted", NULL, 0, NULL, 0);
			}
	/* Open sessions end now; job_done reports their unanswered addresses as retries. */
	while (s->jobs)
		smtp_cancel(s->jobs->session);
}

void sched_totals(const struct sched *s, long *sessions, long *retries)
{
	*sessions = s->sessions;
	*retries = s->retries;
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
			host_free(h);
		}
		for (d = s->domains[b]; d; d = dn) {
			dn = d->hnext;
			while (d->head) {
				struct saddr *a = d->head;
				d->head = a->next;
				sched_saddr_free(a);
			}
			free(d->name);
			free(d->hosts);
			free(d);
		}
	}
	event_free(s->pump_timer);
	trace_free(s->scratch);
	trace_free(s->scratch_domain);
	free(s);
}
