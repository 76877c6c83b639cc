/*
 * sched_route - routing and failure attribution (the policy is sched.h's).
 *
 * Owns the scheduler's tables (domains and hosts by name), the domains' queues of waiting
 * addresses, the hosts' lists of domains routed to them, and reporting one address's result to
 * the owner. Routing: a domain with an answer from DNS joins the list of its first MX host
 * that has not failed it lately and is not paused (sched_domain_schedule); a session takes the
 * next address of its host's list (sched_host_pick). Attribution: a failed session's failure
 * goes to the waiting addresses it would still have asked (sched_attr_plan decides which, as
 * a pure function; sched_attr_apply hands it out); a domain whose host never greeted us moves
 * to its next MX host instead. Nothing here reads the clock (callers pass `now`) or starts a
 * session.
 */
#include "engine/sched_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/ipaddr.h"
#include "common/trace.h"

/* sched_hash - FNV-1a of A then B (B may be NULL) */
unsigned sched_hash(const char *a, const char *b)
{
	uint32_t h = hash_fnv1a32_add(HASH_FNV32_INIT, a, strlen(a));

	return b ? hash_fnv1a32_add(h, b, strlen(b)) : h;
}

/* sched_strdup - a copy of V ("" for NULL); aborts when out of memory */
char *sched_strdup(const char *v)
{
	char *p = strdup(v ? v : "");

	if (p == NULL)
		abort();
	return p;
}

/* sched_source_for - the source address DOMAIN's addresses are asked from: RECORDED (the
 * greylist triple: retry from where it was tried), else one of the options' spread by domain */
const char *sched_source_for(struct sched *s, const char *domain, const char *recorded)
{
	if (recorded && recorded[0])
		return recorded;
	if (s->o.nsources == 0)
		return "";
	return s->o.sources[sched_hash(domain, NULL) % s->o.nsources];
}

/* ---- tables ---- */

/* sched_host_state_get - what of H outlives it */
void sched_host_state_get(const struct shost *h, struct store_host *st)
{
	const struct sched_flow *f = &h->flow;

	memset(st, 0, sizeof *st);
	st->ip = h->ip;
	st->source = h->source;
	st->window = f->window;
	st->ceiling = f->ceiling;
	st->rcpt_limit = f->rcpt_limit;
	st->failures = f->failures;
	st->penalty = f->penalty;
	st->paused_until = f->paused_until;
	st->next_start = f->next_start;
	st->rtt = f->rtt;
	st->sessions = h->sessions;
	st->pushback = f->pushback;
	st->connect_failures = f->connect_failures;
	st->pauses = f->pauses;
	st->max_window = f->max_window;
	st->reached = h->reached;
	st->unreached = h->unreached;
}

/* sched_host_state_set - H as ST (read back) says */
void sched_host_state_set(struct shost *h, const struct store_host *st)
{
	struct sched_flow *f = &h->flow;

	f->window = st->window > 0 ? st->window : 1;
	f->ceiling = st->ceiling > 0 ? st->ceiling : 1;
	f->rcpt_limit = st->rcpt_limit;
	f->failures = st->failures;
	f->penalty = st->penalty;
	f->paused_until = st->paused_until;
	f->next_start = st->next_start;
	f->rtt = st->rtt;
	h->sessions = (long)st->sessions;
	f->pushback = (long)st->pushback;
	f->connect_failures = (long)st->connect_failures;
	f->pauses = (long)st->pauses;
	f->max_window = st->max_window;
	h->reached = st->reached;
	h->unreached = st->unreached;
}

/* sched_host_get - the host for MX address ADDR from SOURCE, made on first use (as the owner
 * kept it, when it was let go before) */
struct shost *sched_host_get(struct sched *s, const struct sockaddr *addr, const char *source)
{
	struct store_host st;
	char ip[IPADDR_TEXT_MAX], key[IPADDR_TEXT_MAX + 70];
	unsigned b;
	struct shost *h;

	ipaddr_text(addr, ip, sizeof ip);
	snprintf(key, sizeof key, "%s|%s", ip, source);
	b = sched_hash(key, NULL) % SCHED_BUCKETS;
	for (h = s->hosts[b]; h; h = h->hnext)
		if (strcmp(h->key, key) == 0)
			return h;
	h = calloc(1, sizeof *h);
	if (h == NULL)
		abort();
	h->key = sched_strdup(key);
	snprintf(h->ip, sizeof h->ip, "%s", ip);
	snprintf(h->source, sizeof h->source, "%s", source);
	sched_flow_init(&h->flow, s->o.per_host);
	if (s->cb.host_lookup && s->cb.host_lookup(s->ctx, h->ip, h->source, &st))
		sched_host_state_set(h, &st);
	h->hnext = s->hosts[b];
	s->hosts[b] = h;
	if (++s->nhosts > s->peak_hosts)
		s->peak_hosts = s->nhosts;
	return h;
}

/* sched_domain_get - domain NAME as asked from SOURCE, made on first use (with its stored
 * catch-all state) */
struct sdomain *sched_domain_get(struct sched *s, const char *name, const char *source)
{
	unsigned b = sched_hash(name, source) % SCHED_BUCKETS;
	struct sdomain *d;

	for (d = s->domains[b]; d; d = d->hnext)
		if (strcmp(d->name, name) == 0 && strcmp(d->source, source) == 0)
			return d;
	d = calloc(1, sizeof *d);
	if (d == NULL)
		abort();
	d->name = sched_strdup(name);
	snprintf(d->source, sizeof d->source, "%s", source);
	d->s = s;
	sched_probe_stored(s, d);
	d->hnext = s->domains[b];
	s->domains[b] = d;
	if (++s->ndomains > s->peak_domains)
		s->peak_domains = s->ndomains;
	return d;
}

/* sched_domain_failed_host - D's last failed host is H now (NULL: none); the one before may be
 * let go */
void sched_domain_failed_host(struct sched *s, struct sdomain *d, struct shost *h)
{
	struct shost *old = d->failed_host;

	if (old == h)
		return;
	d->failed_host = h;
	if (h)
		h->refs++;
	if (old) {
		old->refs--;
		sched_host_idle(s, old);
	}
}

/* sched_domain_free_if_idle - drop a domain with nothing waiting and nothing being asked */
void sched_domain_free_if_idle(struct sched *s, struct sdomain *d)
{
	unsigned b;
	struct sdomain **pp;

	if (d->queued || d->inflight || d->asked_by || d->host || d->dns_state == 1)
		return;
	b = sched_hash(d->name, d->source) % SCHED_BUCKETS;
	for (pp = &s->domains[b]; *pp; pp = &(*pp)->hnext)
		if (*pp == d) {
			*pp = d->hnext;
			break;
		}
	s->ndomains--;
	sched_domain_failed_host(s, d, NULL);
	free(d->name);
	free(d->hosts);
	free(d);
}

void sched_saddr_free(struct saddr *a)
{
	free(a->address);
	free(a);
}

/* sched_domain_trace - D's part of a transcript into T (emptied first): its DNS answer (the MX
 * set or implicit MX and each host's addresses, or the failure) and its catch-all probe's last
 * answer, each at the time it came */
void sched_domain_trace(const struct sched *s, const struct sdomain *d, struct trace *t)
{
	double at = d->dns_answered > 0 ? d->dns_answered : s->t0;
	const char *from = d->dns_from_store ? "from the job store" : "asked";
	const struct dns_result *f = d->dns_failed;

	trace_truncate(t, 0);
	if (d->dns_state == 2 && d->nhosts == 0) {
		trace_add(t, at, "dns", "MX %s: %s%s%s (%s)", d->name,
		          f ? dns_status_name(f->status) : "failed",
		          f && f->detail && f->detail[0] ? ": " : "", f && f->detail ? f->detail : "",
		          from);
	} else if (d->dns_state == 2) {
		trace_add(t, at, "dns", "MX %s: ok, %zu host%s%s (%s, %.2f ms)", d->name, d->nhosts,
		          d->nhosts == 1 ? "" : "s",
		          d->implicit_mx ? ", no MX record: the domain itself (implicit MX)" : "", from,
		          (d->dns_answered - d->dns_asked) * 1000.0);
		for (size_t i = 0; i < d->nhosts; i++) {
			char addrs[256] = "", ip[IPADDR_TEXT_MAX];
			size_t used = 0;
			for (size_t k = 0; k < d->hosts[i].naddrs && used < sizeof addrs; k++)
				used += (size_t)snprintf(addrs + used, sizeof addrs - used, "%s%s", k ? ", " : "",
				                         ipaddr_text(&d->hosts[i].addr[k].sa, ip, sizeof ip));
			trace_add(t, at, "dns", "  %d %s -> %s", d->hosts[i].preference, d->hosts[i].name,
			          addrs[0] ? addrs : "no address");
		}
	}
	if (d->probe_said > 0) {
		char local[PROBE_LOCAL_LEN + 1];
		sched_probe_local(d->name, local, sizeof local);
		trace_add(t, d->probe_at, "catchall", "probe %s@%s: %s", local, d->name,
		          reply_outcome_name((enum reply_outcome)(d->probe_said - 1)));
	}
}

/* attempt_trace - the transcript of RES's attempt for A (s->scratch's text): the attempt, the
 * domain's part and the session's (SESSION: the one that asked it, or the failed one that kept
 * it from being asked when not ASKED) in the order they happened, the verdict, the retry's
 * wait. Times come from the events (the verdict is the last one's): no clock read here. */
static const char *attempt_trace(struct sched *s, const struct saddr *a,
                                 const struct sched_result *res, const char *session, int asked)
{
	struct trace *t = s->scratch;
	const char *dt;
	double first, last, other;

	sched_domain_trace(s, a->d, s->scratch_domain);
	dt = s->scratch_domain->buf;
	first = trace_first_ms(dt);
	first = s->t0 + (first >= 0 ? first : 0) / 1000.0;
	last = trace_last_ms(dt);
	other = trace_last_ms(session);
	last = s->t0 + (other > last ? other : last > 0 ? last : 0) / 1000.0;
	trace_truncate(t, 0);
	trace_add(t, first, "attempt", "%s: attempt %d from %s", a->address, res->attempts,
	          a->d->source[0] ? a->d->source : "the system's address");
	if (!asked)
		trace_add(t, first, "note", "%s: %s",
		          session ? "the failed session below kept it from being asked"
		                  : "not asked in a session",
		          res->detail ? res->detail : "");
	trace_merge(t, dt, session);
	trace_add(t, last, "verdict", "%s / %s%s", verdict_status_name(res->verdict.status),
	          res->verdict.reason, res->verdict.retry ? " (for now)" : "");
	if (res->verdict.retry)
		trace_add(t, last, "retry", "asked again in %.0f s, from the same address",
		          sched_retry_wait(&s->cfg, res));
	return t->buf;
}

/* sched_report - one address's result to the owner; the address is freed */
void sched_report(struct sched *s, struct saddr *a, const struct decide_out *v, int attempts,
                  const struct reply *r, const char *detail, const char *mx_host, int tls,
                  const char *trace, int asked)
{
	struct sched_result res = {
		.id = a->id, .verdict = *v, .attempts = attempts, .reply = r, .detail = detail,
		.mx_host = mx_host, .source = a->d->source, .tls = tls, .catch_all = a->d->ca,
		.urgent = a->urgent,
	};

	if (s->tracing &&
	    config_trace_kept(&s->cfg, v->retry,
	                      v->status == STATUS_UNKNOWN || v->status == STATUS_RISKY, a->urgent))
		res.trace = attempt_trace(s, a, &res, trace, asked);
	if (v->retry)
		s->retries++;
	s->held--;
	s->cb.result(s->ctx, &res);
	sched_saddr_free(a);
}

/* ---- queues ---- */

/* sched_queue_push - put A at the end of D's queue (not reported) */
void sched_queue_push(struct sdomain *d, struct saddr *a)
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

/* host_first - D, on its host's list, moves to the front of it */
static void host_first(struct sdomain *d)
{
	struct shost *h = d->host;

	if (h == NULL || h->ready_head == d)
		return;
	d->ready_prev->ready_next = d->ready_next; /* not the head: it has a previous one */
	if (d->ready_next)
		d->ready_next->ready_prev = d->ready_prev;
	else
		h->ready_tail = d->ready_prev;
	d->ready_prev = NULL;
	d->ready_next = h->ready_head;
	h->ready_head->ready_prev = d;
	h->ready_head = d;
}

/* sched_queue_push_urgent - put A ahead of D's addresses that nobody waits for, and D ahead of
 * the other domains of its host: the next session of the host asks it first */
void sched_queue_push_urgent(struct sdomain *d, struct saddr *a)
{
	struct saddr **at = &d->head;

	a->urgent = 1;
	while (*at && (*at)->urgent) /* after those waited for earlier: first come, first asked */
		at = &(*at)->next;
	a->next = *at;
	*at = a;
	if (a->next == NULL)
		d->tail = a;
	d->queued++;
	if (d->host) {
		d->host->queued++;
		host_first(d);
	}
}

/* sched_queue_pop - the first waiting address of D (D has one) */
struct saddr *sched_queue_pop(struct sdomain *d)
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

int sched_hurry(struct sched *s, int64_t id)
{
	for (size_t b = 0; b < SCHED_BUCKETS; b++)
		for (struct sdomain *d = s->domains[b]; d; d = d->hnext)
			for (struct saddr **p = &d->head, *prev = NULL; *p; prev = *p, p = &(*p)->next) {
				struct saddr *a = *p;
				if (a->id != id)
					continue;
				if (a->urgent)
					return 1;
				/* out of the queue (as sched_queue_pop counts), then in again, ahead */
				*p = a->next;
				if (d->tail == a)
					d->tail = prev;
				d->queued--;
				if (d->host)
					d->host->queued--;
				a->next = NULL;
				sched_queue_push_urgent(d, a);
				return 1;
			}
	return 0;
}

/* sched_domain_fail - up to N of D's waiting addresses get verdict IN (nothing asked them); R
 * and DETAIL say why. Returns how many. */
size_t sched_domain_fail(struct sched *s, struct sdomain *d, size_t n,
                         const struct decide_in *in0, const struct reply *r, const char *detail,
                         const char *mx_host, const char *trace)
{
	size_t done = 0;

	while (d->head && done < n) {
		struct saddr *a = sched_queue_pop(d);
		struct decide_in in = *in0;
		struct decide_out v;
		in.flags = a->flags;
		in.last_attempt = a->attempts + 1 >= s->cfg.max_attempts;
		decide(&in, &v);
		sched_report(s, a, &v, a->attempts + 1, r, detail, mx_host, 0, trace, 0);
		done++;
	}
	return done;
}

/* domain_fail_host - up to N of D's waiting addresses get H's last failure */
static size_t domain_fail_host(struct sched *s, struct sdomain *d, size_t n, const struct shost *h)
{
	/* a host paused by a pause it was given back (no failure of this run): not reachable now */
	static const struct shost_failure none = {
		.end = SMTP_END_THROTTLED, .detail = "the MX host is paused after pushing back"};
	const struct shost_failure *f = h->last ? h->last : &none;
	struct decide_in in = {.dns = DNS_OK, .session = f->end, .catch_all = d->ca};

	/* The reply, when there is one, answered another command of the session (another RCPT,
	 * MAIL FROM, the banner): said so, since it may quote another address. */
	const char *detail = f->detail[0] ? f->detail
	                     : f->have_reply
	                           ? "not asked: the server's reply shown, to another command of the "
	                             "session, ended it"
	                           : "no MX host of the domain took a session";

	return sched_domain_fail(s, d, n, &in, f->have_reply ? &f->reply : NULL, detail,
	                         f->mx[0] ? f->mx : NULL, f->trace);
}

/* ---- hosts' lists ---- */

/* sched_host_wake - the sessions of H waiting for work ask again */
void sched_host_wake(struct shost *h)
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
	if (d->head && d->head->urgent)
		host_first(d);
	if (!h->on_work) {
		h->on_work = 1;
		h->work_next = s->work;
		s->work = h;
	}
	sched_host_wake(h);
}

/* sched_host_unready - D leaves its host's list */
void sched_host_unready(struct sdomain *d)
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

/* sched_host_pick - the first domain on H's list with an address that may be asked at NOW;
 * *probe set when its catch-all probe must be asked first (sched_probe_gate). Domains left
 * empty leave the list. */
struct sdomain *sched_host_pick(struct sched *s, struct shost *h, int *probe, double now)
{
	struct sdomain *d, *next;

	for (d = h->ready_head; d; d = next) {
		next = d->ready_next;
		if (d->queued == 0) {
			sched_host_unready(d);
			sched_domain_free_if_idle(s, d);
			continue;
		}
		if (sched_probe_gate(d, probe, now))
			return d;
	}
	return NULL;
}

/* ---- routing ---- */

/* domain_route - the first MX host of D that has not failed it lately and is not paused at
 * NOW, or NULL (then d->failed_host says why, when some host did) */
static struct shost *domain_route(struct sched *s, struct sdomain *d, int *index, double now)
{
	for (size_t i = 0; i < d->nhosts; i++) {
		struct shost *h;
		if (d->tried[i] || d->hosts[i].naddrs == 0)
			continue;
		h = sched_host_get(s, &d->hosts[i].addr[0].sa, d->source);
		if (sched_flow_paused(&h->flow, now)) {
			d->tried[i] = 1;
			sched_domain_failed_host(s, d, h);
			continue;
		}
		*index = (int)i;
		return h;
	}
	return NULL;
}

/* sched_domain_schedule - D has waiting addresses and an answer from DNS: put it on a host's
 * list (or tell its addresses why no host takes them) */
void sched_domain_schedule(struct sched *s, struct sdomain *d, double now)
{
	struct shost *h;
	int index;

	if (d->queued == 0 || d->dns_state != 2 || d->host)
		return;
	if (d->ca_known && d->ca == CATCH_ALL_YES) {
		sched_domain_catch_all(s, d); /* proven (by this run or a stored answer): no RCPT tells more */
		return;
	}
	h = domain_route(s, d, &index, now);
	if (h == NULL) {
		/* Every MX host failed to take a session lately: the addresses' attempt failed. */
		memset(d->tried, 0, sizeof d->tried);
		if (d->failed_host) {
			domain_fail_host(s, d, SIZE_MAX, d->failed_host);
		} else {
			struct decide_in in = {.dns = DNS_OK, .session = SMTP_END_CONNECT};
			sched_domain_fail(s, d, SIZE_MAX, &in, NULL,
			                  "no MX host of the domain has an address", NULL, NULL);
		}
		return;
	}
	d->route = index;
	host_ready(s, h, d);
}

/* sched_route_addr - address K of route R as a sockaddr in OUT: its length */
socklen_t sched_route_addr(const struct sroute *r, size_t k, struct sockaddr_storage *out)
{
	socklen_t len = r->addr[k].sa.sa_family == AF_INET6 ? sizeof r->addr[k].v6
	                                                    : sizeof r->addr[k].v4;

	memset(out, 0, sizeof *out);
	memcpy(out, &r->addr[k], len);
	return len;
}

/* routes_copy - D's routes from R (none unless DNS_OK), in one block: the routes, then every
 * address, then the names */
static void routes_copy(struct sdomain *d, const struct dns_result *r)
{
	size_t n = r->status == DNS_OK ? r->nhosts : 0, naddrs = 0, names = 0;
	struct sroute *rt;
	union sroute_addr *ad;
	char *nm;

	free(d->hosts);
	d->hosts = NULL;
	d->nhosts = n;
	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		naddrs += r->hosts[i].naddrs;
		names += strlen(r->hosts[i].name) + 1;
	}
	rt = malloc(n * sizeof *rt + naddrs * sizeof *ad + names);
	if (rt == NULL)
		abort();
	ad = (union sroute_addr *)(rt + n);  /* sizeof *rt keeps pointer alignment */
	nm = (char *)(ad + naddrs);
	for (size_t i = 0; i < n; i++) {
		const struct dns_host *h = &r->hosts[i];
		size_t len = strlen(h->name) + 1;

		rt[i].name = memcpy(nm, h->name, len);
		rt[i].preference = h->preference;
		nm += len;
		rt[i].addr = ad;
		rt[i].naddrs = h->naddrs;
		for (size_t k = 0; k < h->naddrs; k++, ad++) {
			memset(ad, 0, sizeof *ad);
			memcpy(ad, &h->addr[k], h->addr[k].ss_family == AF_INET6 ? sizeof ad->v6
			                                                       : sizeof ad->v4);
		}
	}
	d->hosts = rt;
}

/* sched_domain_answer - DNS answered R for D (copied): its addresses get a DNS failure, or D is
 * scheduled. Returns 1 when D was scheduled (the caller pumps), 0 when D failed (and may be
 * freed). */
int sched_domain_answer(struct sched *s, struct sdomain *d, const struct dns_result *r, double now)
{
	routes_copy(d, r);
	d->dns_state = 2;
	d->dns_answered = now;
	d->implicit_mx = r->implicit_mx;
	if (r->status != DNS_OK) {
		struct decide_in in = {.dns = r->status};
		d->dns_failed = r; /* for the transcripts of the addresses told now */
		sched_domain_fail(s, d, SIZE_MAX, &in, NULL, r->detail ? r->detail : "", NULL, NULL);
		d->dns_failed = NULL;
		sched_domain_free_if_idle(s, d);
		return 0;
	}
	sched_probe_policy(d, r);
	sched_domain_schedule(s, d, now);
	return 1;
}

/* domain_move - D's host H failed to take a session: D's addresses go to its next MX host,
 * or get H's failure when it has none */
static void domain_move(struct sched *s, struct sdomain *d, struct shost *h, double now)
{
	sched_host_unready(d);
	d->tried[d->route] = 1;
	sched_domain_failed_host(s, d, h);
	sched_domain_schedule(s, d, now);
}

/* domain_has_other_route - D has an MX host besides its current one that it may still try */
static int domain_has_other_route(struct sched *s, struct sdomain *d, double now)
{
	for (size_t i = 0; i < d->nhosts; i++) {
		struct shost *h;
		int paused;

		if ((int)i == d->route || d->tried[i] || d->hosts[i].naddrs == 0)
			continue;
		h = sched_host_get(s, &d->hosts[i].addr[0].sa, d->source);
		paused = sched_flow_paused(&h->flow, now);
		sched_host_idle(s, h); /* only looked at */
		if (!paused)
			return 1;
	}
	return 0;
}

/* ---- failure attribution ---- */

/* sched_host_note_failure - H's session failed as SR says: kept, for the addresses it could
 * not ask (a session that did not fail leaves the last failure as it was) */
void sched_host_note_failure(struct shost *h, const struct smtp_session_result *sr)
{
	if (!sched_session_failed(sr->end))
		return;
	if (h->last == NULL && (h->last = calloc(1, sizeof *h->last)) == NULL)
		abort();
	h->last->end = sr->end;
	h->last->have_reply = sr->reply != NULL;
	if (sr->reply)
		h->last->reply = *sr->reply;
	snprintf(h->last->detail, sizeof h->last->detail, "%s", sr->detail ? sr->detail : "");
	snprintf(h->last->mx, sizeof h->last->mx, "%s",
	         sr->greeted && sr->mx_host ? sr->mx_host : "");
	free(h->last->trace);
	h->last->trace = sr->trace ? trace_clip(sr->trace, DEF_TRACE_STORED_BYTES) : NULL;
}

/* sched_attr_plan - which waiting addresses a session that ended as IN says gives its failure
 * to, as they would have had it had they been in it. None when it did not fail, when we are
 * stopping, when it ended waiting idle for work (asked nothing: a server may close an idle
 * connection) unless the host was just paused, and when it was refused for our pace (421,
 * 4.7.x) until the host is paused. Before MAIL FROM was accepted the failure is the host's (or
 * about us): any of the host's addresses; after it, it may be about one domain (a 5.7.1
 * "relay access denied" says nothing of the host's other domains): that domain's. A paused
 * host: every address waiting for it. At most the addresses the session would still have
 * asked (DEF_SESSION_ADDRESSES less those it asked), all when paused. A domain whose host never
 * greeted us goes to its next MX host instead, when it has one. */
void sched_attr_plan(const struct sched_attr_in *in, struct sched_attr *out)
{
	out->scope = SCHED_ATTR_NONE;
	out->n = 0;
	out->move_ungreeted = 0;
	if (!sched_session_failed(in->end) || in->draining || (!in->paused && in->waiting))
		return;
	if (!in->paused && in->end == SMTP_END_THROTTLED)
		return;
	out->n = in->paused ? SIZE_MAX
	         : in->offered < DEF_SESSION_ADDRESSES ? (size_t)(DEF_SESSION_ADDRESSES - in->offered)
	                                               : 0;
	if (!in->paused && in->admitted) {
		out->scope = SCHED_ATTR_DOMAIN;
		return;
	}
	out->scope = SCHED_ATTR_HOST;
	out->move_ungreeted = !in->greeted;
}

/* sched_attr_apply - hand out H's last failure as plan A says; LAST_D is the domain the session
 * asked about last (pinned by it: the caller frees it once unpinned) */
void sched_attr_apply(struct sched *s, struct shost *h, struct sdomain *last_d,
                      const struct sched_attr *a, double now)
{
	struct sdomain *d, *next;
	size_t n = a->n;

	if (a->scope == SCHED_ATTR_DOMAIN) {
		if (last_d && last_d->host == h) {
			domain_fail_host(s, last_d, n, h);
			if (last_d->queued == 0)
				sched_host_unready(last_d);
		}
		return;
	}
	if (a->scope != SCHED_ATTR_HOST)
		return;
	for (d = h->ready_head; d && n > 0; d = next) {
		next = d->ready_next;
		if (a->move_ungreeted && domain_has_other_route(s, d, now)) {
			n -= d->queued < n ? d->queued : n;
			domain_move(s, d, h, now);
			continue;
		}
		n -= domain_fail_host(s, d, n, h);
		if (d->queued == 0) {
			sched_host_unready(d);
			sched_domain_free_if_idle(s, d);
		}
	}
}
