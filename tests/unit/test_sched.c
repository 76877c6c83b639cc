/*
 * test_sched - routing, failure attribution and the catch-all probe of the scheduler
 * (engine/sched_route.c, engine/sched_probe.c), table-driven, with a fake clock and no socket.
 *
 * A real scheduler (sched_new on an event base that never runs, no DNS, no TLS) holds real
 * domains, hosts and queues built from a canned DNS answer; the tests call the decision
 * functions the sessions call (sched_attr_plan / sched_attr_apply, sched_host_pick,
 * sched_probe_*) with a time of their choosing, and read the results the owner is given. No
 * session is ever started: the tests never pump.
 */
#include <event2/event.h>
#include <stdint.h>
#include <stdlib.h>

#include "engine/sched_int.h"
#include "tests/check.h"

/* ---- fixture ---- */

#define MAX_RECS 64

static struct {
	int64_t id;
	int retry;
	enum verdict_status status;
	const char *reason;
	int attempts;
	char domain[64];
} recs[MAX_RECS];
static size_t nrecs;
static int stored_ca = -1;      /* what the job store says of every domain's catch-all */
static int learned_ca = -1;     /* the last catch_all_learned */
static int64_t next_id;
static struct event_base *base;
static struct probe_config cfg;

static void on_result(void *ctx, const struct sched_result *r)
{
	(void)ctx;
	if (nrecs < MAX_RECS) {
		recs[nrecs].id = r->id;
		recs[nrecs].retry = r->verdict.retry;
		recs[nrecs].status = r->verdict.status;
		recs[nrecs].reason = r->verdict.reason;
		recs[nrecs].attempts = r->attempts;
	}
	nrecs++;
}

static int on_ca_lookup(void *ctx, const char *domain)
{
	(void)ctx;
	(void)domain;
	return stored_ca;
}

static void on_ca_learned(void *ctx, const char *domain, enum catch_all ca)
{
	(void)ctx;
	(void)domain;
	learned_ca = (int)ca;
}

/* fx_new - an empty scheduler that starts no session */
static struct sched *fx_new(void)
{
	struct sched_opts o = {.concurrency = 100, .per_host = 10};
	struct sched_callbacks cb = {.result = on_result, .catch_all_lookup = on_ca_lookup,
	                             .catch_all_learned = on_ca_learned};
	struct sched *s;

	memset(&cfg, 0, sizeof cfg);
	cfg.max_attempts = 4;
	cfg.greylist_delay = 360;
	nrecs = 0;
	learned_ca = -1;
	if (base == NULL)
		base = event_base_new();
	s = sched_new(base, &cfg, &o, NULL, NULL, &cb, NULL);
	s->o.concurrency = 0; /* belt and braces: no pump may start a session */
	return s;
}

/* fx_domain - NAME with NADDR waiting addresses (ids from next_id) and MX hosts MXS (IPv4
 * addresses, MX names mxN.NAME unless MX0 names the first), answered by DNS at NOW */
static struct sdomain *fx_domain(struct sched *s, const char *name, const char *const *mxs,
                                 size_t nmx, int naddr, const char *mx0, double now)
{
	static struct dns_result r;
	struct sdomain *d = sched_domain_get(s, name, "");

	memset(&r, 0, sizeof r);
	r.status = DNS_OK;
	r.nhosts = nmx;
	for (size_t i = 0; i < nmx; i++) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&r.hosts[i].addr[0];
		snprintf(r.hosts[i].name, sizeof r.hosts[i].name, "mx%zu.%s", i, name);
		if (i == 0 && mx0)
			snprintf(r.hosts[i].name, sizeof r.hosts[i].name, "%s", mx0);
		sin->sin_family = AF_INET;
		inet_pton(AF_INET, mxs[i], &sin->sin_addr);
		r.hosts[i].addrlen[0] = sizeof *sin;
		r.hosts[i].naddrs = 1;
	}
	for (int k = 0; k < naddr; k++) {
		struct saddr *a = calloc(1, sizeof *a);
		char addr[128];
		snprintf(addr, sizeof addr, "u%d@%s", k, name);
		a->id = ++next_id;
		a->address = sched_strdup(addr);
		a->d = d;
		sched_queue_push(d, a);
		s->held++;
	}
	d->dns_state = 1;
	sched_domain_answer(s, d, &r, now);
	return d;
}

static struct shost *fx_host(struct sched *s, const char *ip)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof ss);
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, ip, &sin->sin_addr);
	return sched_host_get(s, (const struct sockaddr *)&ss, "");
}

/* ---- failure attribution: the plan ---- */

#define ALL SIZE_MAX

static const struct {
	const char *name;
	struct sched_attr_in in;
	enum sched_attr_scope scope;
	size_t n;
	int move;
} plan_rows[] = {
	/* {end, paused, draining, waiting, admitted, greeted, offered} */
	{"session done: nobody", {SMTP_END_OK, 0, 0, 0, 1, 1, 5}, SCHED_ATTR_NONE, 0, 0},
	{"QUIT after rejections: nobody", {SMTP_END_REJECTIONS, 0, 0, 0, 1, 1, 9}, SCHED_ATTR_NONE, 0, 0},
	{"cancelled by us: nobody", {SMTP_END_CANCELLED, 0, 0, 0, 1, 1, 5}, SCHED_ATTR_NONE, 0, 0},
	{"stopping: nobody", {SMTP_END_TIMEOUT, 0, 1, 0, 1, 1, 5}, SCHED_ATTR_NONE, 0, 0},
	{"dropped while idle: nobody", {SMTP_END_DROPPED, 0, 0, 1, 1, 1, 5}, SCHED_ATTR_NONE, 0, 0},
	{"dropped while idle, host paused: all of the host's", {SMTP_END_DROPPED, 1, 0, 1, 1, 1, 5}, SCHED_ATTR_HOST, ALL, 0},
	{"421 for our pace: nobody", {SMTP_END_THROTTLED, 0, 0, 0, 0, 0, 0}, SCHED_ATTR_NONE, 0, 0},
	{"421 for our pace after MAIL FROM: nobody", {SMTP_END_THROTTLED, 0, 0, 0, 1, 1, 3}, SCHED_ATTR_NONE, 0, 0},
	{"421 for our pace, host paused: all of the host's", {SMTP_END_THROTTLED, 1, 0, 0, 0, 0, 0}, SCHED_ATTR_HOST, ALL, 1},
	{"MAIL FROM refused: the host's", {SMTP_END_REFUSED, 0, 0, 0, 0, 1, 0}, SCHED_ATTR_HOST, DEF_SESSION_ADDRESSES, 0},
	{"5xx banner: the host's", {SMTP_END_BANNER, 0, 0, 0, 0, 0, 0}, SCHED_ATTR_HOST, DEF_SESSION_ADDRESSES, 1},
	{"connect refused: the host's, moved when possible", {SMTP_END_CONNECT, 0, 0, 0, 0, 0, 0}, SCHED_ATTR_HOST, DEF_SESSION_ADDRESSES, 1},
	{"timeout before MAIL FROM, greeted: the host's", {SMTP_END_TIMEOUT, 0, 0, 0, 0, 1, 0}, SCHED_ATTR_HOST, DEF_SESSION_ADDRESSES, 0},
	{"timeout after MAIL FROM: the domain's", {SMTP_END_TIMEOUT, 0, 0, 0, 1, 1, 30}, SCHED_ATTR_DOMAIN, DEF_SESSION_ADDRESSES - 30, 0},
	{"dropped after MAIL FROM: the domain's", {SMTP_END_DROPPED, 0, 0, 0, 1, 1, 1}, SCHED_ATTR_DOMAIN, DEF_SESSION_ADDRESSES - 1, 0},
	{"after MAIL FROM, host paused: all of the host's", {SMTP_END_TIMEOUT, 1, 0, 0, 1, 1, 30}, SCHED_ATTR_HOST, ALL, 0},
	{"asked its full share: none more", {SMTP_END_TIMEOUT, 0, 0, 0, 1, 1, DEF_SESSION_ADDRESSES}, SCHED_ATTR_DOMAIN, 0, 0},
};

static void test_attr_plan(void)
{
	for (size_t i = 0; i < sizeof plan_rows / sizeof plan_rows[0]; i++) {
		struct sched_attr a;
		sched_attr_plan(&plan_rows[i].in, &a);
		CHECK_INT(a.scope, plan_rows[i].scope, plan_rows[i].name);
		if (a.scope != SCHED_ATTR_NONE) {
			CHECK(a.n == plan_rows[i].n, "%s: n %zu, want %zu", plan_rows[i].name, a.n,
			      plan_rows[i].n);
			CHECK_INT(a.move_ungreeted, plan_rows[i].move, plan_rows[i].name);
		}
	}
}

/* ---- failure attribution: who gets it ---- */

static const char *const MX1[] = {"192.0.2.1"};
static const char *const MX12[] = {"192.0.2.1", "192.0.2.2"};

/* Host 192.0.2.1 serves a.test (3 waiting) and b.test (2 waiting); one of its sessions fails
 * as the row says; RESULTS addresses get the failure (A_RESULTS of them a.test's), LEFT wait. */
static const struct {
	const char *name;
	struct sched_attr_in in;
	enum smtp_end end;
	size_t results, a_results, left;
	int attempts;                 /* the attempts the failed addresses report */
	const char *reason;
} apply_rows[] = {
	{"before MAIL FROM: every waiting address of the host", {SMTP_END_REFUSED, 0, 0, 0, 0, 1, 0},
	 SMTP_END_REFUSED, 5, 3, 0, 1, REASON_BLOCKED},
	{"after MAIL FROM: only the domain asked about", {SMTP_END_TIMEOUT, 0, 0, 0, 1, 1, 4},
	 SMTP_END_TIMEOUT, 3, 3, 2, 1, REASON_TIMEOUT},
	{"paused host: every waiting address", {SMTP_END_TIMEOUT, 1, 0, 0, 1, 1, 4},
	 SMTP_END_TIMEOUT, 5, 3, 0, 1, REASON_TIMEOUT},
	{"only what the session would still have asked", {SMTP_END_REFUSED, 0, 0, 0, 0, 1, DEF_SESSION_ADDRESSES - 2},
	 SMTP_END_REFUSED, 2, 2, 3, 1, REASON_BLOCKED},
	{"421 for our pace: no attempt costs anything", {SMTP_END_THROTTLED, 0, 0, 0, 0, 0, 0},
	 SMTP_END_THROTTLED, 0, 0, 5, 0, NULL},
	{"421, host paused: every waiting address, a retry", {SMTP_END_THROTTLED, 1, 0, 0, 0, 0, 0},
	 SMTP_END_THROTTLED, 5, 3, 0, 1, REASON_THROTTLED},
};

static void test_attr_apply(void)
{
	for (size_t i = 0; i < sizeof apply_rows / sizeof apply_rows[0]; i++) {
		const char *name = apply_rows[i].name;
		struct sched *s = fx_new();
		struct sdomain *a = fx_domain(s, "a.test", MX1, 1, 3, NULL, 100);
		int64_t a_first = next_id - 2;
		struct sdomain *b = fx_domain(s, "b.test", MX1, 1, 2, NULL, 100);
		struct shost *h = a->host;
		struct smtp_session_result sr = {.end = apply_rows[i].end, .greeted = apply_rows[i].in.greeted,
		                                 .detail = "test"};
		struct sched_attr plan;
		size_t from_a = 0;

		CHECK(h && b->host == h && h->queued == 5, "%s: both domains wait for the host", name);
		a->asked_by++; /* the failed session asked a.test last (pinned) */
		sched_host_note_failure(h, &sr);
		sched_attr_plan(&apply_rows[i].in, &plan);
		sched_attr_apply(s, h, a, &plan, 100);
		CHECK_INT(nrecs, apply_rows[i].results, name);
		for (size_t k = 0; k < nrecs && k < MAX_RECS; k++) {
			from_a += recs[k].id >= a_first && recs[k].id < a_first + 3;
			CHECK_INT(recs[k].attempts, apply_rows[i].attempts, name);
			CHECK_STR(recs[k].reason, apply_rows[i].reason, name);
		}
		CHECK_INT(from_a, apply_rows[i].a_results, name);
		CHECK_INT(h->queued, apply_rows[i].left, name);
		sched_free(s);
	}
}

/* A domain whose host never greeted us moves to its next MX host (when it has one that is not
 * paused) instead of taking the failure. */
static const struct {
	const char *name;
	enum smtp_end end;
	int greeted;
	size_t nmx;
	int second_paused;
	int want_moved;
	size_t want_results;
} move_rows[] = {
	{"refused connection: to the next MX host", SMTP_END_CONNECT, 0, 2, 0, 1, 0},
	{"timeout before the banner: to the next MX host", SMTP_END_TIMEOUT, 0, 2, 0, 1, 0},
	{"greeted, then refused: the failure, not moved", SMTP_END_REFUSED, 1, 2, 0, 0, 3},
	{"one MX host only: the failure", SMTP_END_CONNECT, 0, 1, 0, 0, 3},
	{"the next MX host is paused: the failure", SMTP_END_CONNECT, 0, 2, 1, 0, 3},
};

static void test_move_next_mx(void)
{
	for (size_t i = 0; i < sizeof move_rows / sizeof move_rows[0]; i++) {
		const char *name = move_rows[i].name;
		struct sched *s = fx_new();
		struct shost *h2 = fx_host(s, MX12[1]);
		struct sdomain *c;
		struct shost *h1;
		struct smtp_session_result sr = {.end = move_rows[i].end, .greeted = move_rows[i].greeted};
		struct sched_attr_in in = {.end = move_rows[i].end, .greeted = move_rows[i].greeted};
		struct sched_attr plan;

		if (move_rows[i].second_paused)
			h2->flow.paused_until = 500;
		c = fx_domain(s, "c.test", MX12, move_rows[i].nmx, 3, NULL, 100);
		h1 = c->host;
		CHECK(h1 && h1 != h2, "%s: routed to the first MX host", name);
		sched_host_note_failure(h1, &sr);
		sched_flow_failed(&h1->flow, &sr, 1, 100);
		sched_attr_plan(&in, &plan);
		sched_attr_apply(s, h1, NULL, &plan, 100);
		CHECK_INT(nrecs, move_rows[i].want_results, name);
		if (move_rows[i].want_moved) {
			CHECK(c->host == h2 && c->route == 1, "%s: on the second host's list", name);
			CHECK_INT(h2->queued, 3, name);
		}
		CHECK_INT(h1->queued, 0, name);
		sched_free(s);
	}
}

/* A domain is routed to its first MX host that is not paused; with every one paused its
 * addresses get the last one's failure (an attempt) at once. */
static void test_route_paused(void)
{
	struct sched *s = fx_new();
	struct shost *h1 = fx_host(s, MX12[0]), *h2 = fx_host(s, MX12[1]);
	struct smtp_session_result sr = {.end = SMTP_END_TIMEOUT, .detail = "timed out"};
	struct sdomain *d;

	h1->flow.paused_until = 200;
	d = fx_domain(s, "d.test", MX12, 2, 2, NULL, 100);
	CHECK(d->host == h2, "first MX host paused: the second");
	sched_free(s);

	s = fx_new();
	h1 = fx_host(s, MX12[0]);
	h2 = fx_host(s, MX12[1]);
	h1->flow.paused_until = h2->flow.paused_until = 200;
	sched_host_note_failure(h2, &sr);
	fx_domain(s, "e.test", MX12, 2, 2, NULL, 100);
	CHECK_INT(nrecs, 2, "every MX host paused: the addresses fail");
	CHECK_STR(recs[0].reason, REASON_TIMEOUT, "the paused host's failure");
	CHECK_INT(recs[0].attempts, 1, "an attempt");
	sched_free(s);

	s = fx_new();
	h1 = fx_host(s, MX12[0]);
	h1->flow.paused_until = 200;
	d = fx_domain(s, "f.test", MX12, 1, 1, NULL, 250);
	CHECK(d->host == h1, "the pause is over at 250: routed again");
	sched_free(s);
}

/* ---- urgent addresses (a real-time check waits for them) ---- */

static struct saddr *fx_addr(struct sched *s, struct sdomain *d, const char *local)
{
	struct saddr *a = calloc(1, sizeof *a);
	char addr[128];

	snprintf(addr, sizeof addr, "%s@%s", local, d->name);
	a->id = ++next_id;
	a->address = sched_strdup(addr);
	a->d = d;
	s->held++;
	return a;
}

/* An urgent address goes ahead of its domain's other waiting ones (after earlier urgent ones),
 * and its domain ahead of the host's other domains, on the list or when it joins it. */
static void test_urgent_first(void)
{
	struct sched *s = fx_new();
	struct sdomain *a = fx_domain(s, "a.test", MX1, 1, 3, NULL, 100);
	struct sdomain *b = fx_domain(s, "b.test", MX1, 1, 2, NULL, 100);
	struct sdomain *c = fx_domain(s, "c.test", MX1, 1, 0, NULL, 100);
	struct shost *h = a->host;
	struct saddr *u1, *u2, *u3;
	int probe = -1;

	a->ca_known = b->ca_known = c->ca_known = 1;
	CHECK(h && b->host == h && h->ready_head == a, "a.test first on the host's list");
	u1 = fx_addr(s, b, "u1");
	sched_queue_push_urgent(b, u1);
	CHECK(h->ready_head == b, "urgent in b.test: b.test first on the host's list");
	CHECK(b->head == u1, "urgent: first of its domain's queue");
	CHECK_INT(b->queued, 3, "counted in its domain");
	CHECK_INT(h->queued, 6, "counted in its host");
	u2 = fx_addr(s, b, "u2");
	sched_queue_push_urgent(b, u2);
	CHECK(b->head == u1 && u1->next == u2 && u2->next && !u2->next->urgent,
	      "a second urgent address: after the first, before the others");
	CHECK(sched_host_pick(s, h, &probe, 100) == b, "the host's next session asks b.test");
	CHECK(sched_queue_pop(b) == u1, "and u1 first");

	/* c.test had nothing waiting (on no host's list): it joins the list at its front */
	u3 = fx_addr(s, c, "u3");
	sched_queue_push_urgent(c, u3);
	CHECK(c->host == NULL, "c.test: not on a list yet");
	CHECK(c->tail == u3 && c->head == u3, "c.test's queue: u3 alone");
	sched_domain_schedule(s, c, 100);
	CHECK(h->ready_head == c, "an urgent domain joins the host's list at its front");
	sched_saddr_free(u1);
	sched_free(s);
}

/* sched_hurry: an address held and waiting (a bulk job's) that someone now waits for goes
 * ahead of the rest, its domain ahead of its host's others; one not held is left alone. */
static void test_hurry(void)
{
	struct sched *s = fx_new();
	struct sdomain *a = fx_domain(s, "a.test", MX1, 1, 2, NULL, 100);
	struct sdomain *b = fx_domain(s, "b.test", MX1, 1, 4, NULL, 100);
	struct shost *h = a->host;
	struct saddr *third = b->head->next->next, *last = b->tail, *got;
	int probe = -1;

	a->ca_known = b->ca_known = 1;
	CHECK(h->ready_head == a, "a.test first on the host's list");
	CHECK_INT(sched_hurry(s, third->id), 1, "a held address: hurried");
	CHECK(b->head == third && third->urgent, "first of its domain's queue, marked urgent");
	CHECK(b->tail == last && last->next == NULL, "the queue's tail kept");
	CHECK_INT(b->queued, 4, "still counted once in its domain");
	CHECK_INT(h->queued, 6, "and once in its host");
	CHECK(h->ready_head == b, "its domain first on the host's list");
	CHECK_INT(sched_hurry(s, last->id), 1, "the last one: hurried too");
	CHECK(b->head == third && third->next == last && b->tail != last,
	      "after the one hurried earlier, the tail moved back");
	CHECK_INT(sched_hurry(s, 999999), 0, "an address not held: 0");
	CHECK(sched_host_pick(s, h, &probe, 100) == b, "the host's next session asks b.test");
	got = sched_queue_pop(b);
	CHECK(got == third, "and the hurried address first");
	sched_saddr_free(got);
	sched_free(s);
}

/* ---- the catch-all probe ---- */

/* One probe per domain: the first pick of a domain asks its probe, the domain's addresses wait
 * while it is asked; another domain of the host gets its own. */
static void test_probe_one_per_domain(void)
{
	struct sched *s = fx_new();
	struct sdomain *p = fx_domain(s, "p.test", MX1, 1, 3, NULL, 100);
	struct sdomain *q = fx_domain(s, "q.test", MX1, 1, 2, NULL, 100);
	struct shost *h = p->host;
	struct job j1, j2;
	int probe = -1;
	const char *addr;

	memset(&j1, 0, sizeof j1);
	memset(&j2, 0, sizeof j2);
	CHECK(sched_host_pick(s, h, &probe, 100) == p && probe == 1, "first pick: p.test's probe");
	p->inflight++;
	addr = sched_probe_begin(&j1, p);
	CHECK(strlen(addr) == PROBE_LOCAL_LEN + strlen("@p.test") &&
	      strcmp(addr + PROBE_LOCAL_LEN, "@p.test") == 0, "probe address %s", addr);
	CHECK(sched_host_pick(s, h, &probe, 100) == q && probe == 1,
	      "p.test waits for its probe: q.test's own probe next");
	q->inflight++;
	sched_probe_begin(&j2, q);
	CHECK(sched_host_pick(s, h, &probe, 100) == NULL, "both probes asked: every address waits");
	CHECK_INT(h->queued, 5, "none asked");
	sched_probe_end(s, p, 1, OUTCOME_NO_MAILBOX, 101);
	CHECK_INT(learned_ca, CATCH_ALL_NO, "the store learns no");
	CHECK(sched_host_pick(s, h, &probe, 101) == p && probe == 0, "answered no: its addresses");
	CHECK_INT(nrecs, 0, "nothing reported");
	/* a probe lost with its session is asked again by another */
	sched_probe_end(s, q, 0, OUTCOME_TEMPORARY, 101);
	CHECK_INT(learned_ca, CATCH_ALL_NO, "a lost probe teaches nothing");
	CHECK(sched_probe_gate(q, &probe, 101) && probe == 1, "lost probe: asked again");
	sched_free(s);
}

/* Yes: the domain's waiting addresses are told catch_all, none asked. */
static void test_probe_yes(void)
{
	struct sched *s = fx_new();
	struct sdomain *p = fx_domain(s, "p.test", MX1, 1, 4, NULL, 100);
	struct shost *h = p->host;
	struct job j;
	int probe;

	memset(&j, 0, sizeof j);
	sched_host_pick(s, h, &probe, 100);
	p->inflight++;
	sched_probe_begin(&j, p);
	sched_probe_end(s, p, 1, OUTCOME_ACCEPTED, 100);
	CHECK_INT(learned_ca, CATCH_ALL_YES, "the store learns yes");
	CHECK_INT(nrecs, 4, "every waiting address reported");
	for (size_t k = 0; k < nrecs && k < MAX_RECS; k++) {
		CHECK_INT(recs[k].status, STATUS_CATCH_ALL, "catch_all");
		CHECK_INT(recs[k].attempts, 0, "not asked");
		CHECK_INT(recs[k].retry, 0, "final");
	}
	CHECK_INT(h->queued, 0, "nothing left to ask");
	sched_free(s);
}

/* A domain proven catch-all (kept in the job store) gets no RCPT: its addresses are told at
 * once, unasked; one proven not catch-all is not probed. */
static void test_probe_proven_skip(void)
{
	struct sched *s = fx_new();
	struct sdomain *d;
	int probe = -1;

	stored_ca = 1;
	fx_domain(s, "yes.test", MX1, 1, 3, NULL, 100);
	CHECK_INT(nrecs, 3, "proven catch-all: every address reported");
	for (size_t k = 0; k < nrecs && k < MAX_RECS; k++) {
		CHECK_INT(recs[k].status, STATUS_CATCH_ALL, "catch_all");
		CHECK_INT(recs[k].attempts, 0, "not asked");
	}
	stored_ca = 0;
	d = fx_domain(s, "no.test", MX1, 1, 1, NULL, 100);
	CHECK(sched_host_pick(s, d->host, &probe, 100) == d && probe == 0, "proven not: no probe");
	stored_ca = -1;
	d = fx_domain(s, "gmail.example", MX1, 1, 1, "gmail-smtp-in.l.google.com", 100);
	CHECK(d->ca_known && d->ca == CATCH_ALL_UNTESTED, "provider policy: untested");
	sched_free(s);
}

/* A greylisted probe is asked again after the greylist delay; meanwhile the domain's
 * addresses are asked, and one accepted waits for the probe (a retry). */
static void test_probe_greylisted(void)
{
	struct sched *s = fx_new();
	struct sdomain *p = fx_domain(s, "g.test", MX1, 1, 2, NULL, 100);
	struct shost *h = p->host;
	double due = 1000 + config_greylist_wait(&cfg, 2);
	struct job j;
	int probe = -1;

	memset(&j, 0, sizeof j);
	sched_host_pick(s, h, &probe, 1000);
	p->inflight++;
	sched_probe_begin(&j, p);
	CHECK_INT(sched_probe_holds(p, OUTCOME_ACCEPTED, 0), 0, "no probe greylisted yet: no hold");
	sched_probe_end(s, p, 1, OUTCOME_TEMPORARY, 1000);
	CHECK_INT(learned_ca, -1, "nothing learned");
	CHECK(sched_host_pick(s, h, &probe, 1000) == p && probe == 0, "meanwhile: its addresses");
	CHECK(sched_host_pick(s, h, &probe, due - 1) == p && probe == 0, "just before due: addresses");
	CHECK(sched_host_pick(s, h, &probe, due) == p && probe == 1, "due: the probe again");
	CHECK_INT(sched_probe_holds(p, OUTCOME_ACCEPTED, 0), 1, "accepted meanwhile: waits for it");
	CHECK_INT(sched_probe_holds(p, OUTCOME_ACCEPTED, 1), 0, "last attempt: not held");
	CHECK_INT(sched_probe_holds(p, OUTCOME_NO_MAILBOX, 0), 0, "refused: not held");
	/* greylisted until the attempts run out: then inconclusive, never catch-all */
	p->probe_tries = cfg.max_attempts - 1;
	p->inflight++;
	p->probing = 1;
	sched_probe_end(s, p, 1, OUTCOME_TEMPORARY, due);
	CHECK_INT(learned_ca, CATCH_ALL_INCONCLUSIVE, "out of attempts: inconclusive");
	CHECK_INT(nrecs, 0, "nothing reported");
	sched_free(s);
}

/* The probe's local part: fixed per domain (a greylisted probe passes on retry), looks random. */
static void test_probe_local(void)
{
	char a[PROBE_LOCAL_LEN + 1], b[PROBE_LOCAL_LEN + 1], c[PROBE_LOCAL_LEN + 1];

	sched_probe_local("example.test", a, sizeof a);
	sched_probe_local("example.test", b, sizeof b);
	sched_probe_local("example2.test", c, sizeof c);
	CHECK_INT(strlen(a), PROBE_LOCAL_LEN, "length");
	CHECK_STR(a, b, "same domain, same local part");
	CHECK(strcmp(a, c) != 0, "another domain, another local part (%s, %s)", a, c);
}

/* The gate of one domain: {ca_known, probing, probe_due, now} -> may give work, a probe. */
static const struct {
	const char *name;
	int ca_known, probing;
	double due, now;
	int want, want_probe;
} gate_rows[] = {
	{"state known: its addresses", 1, 0, 0, 100, 1, 0},
	{"unknown: the probe first", 0, 0, 0, 100, 1, 1},
	{"probe being asked: its addresses wait", 0, 1, 0, 100, 0, 0},
	{"greylisted probe not due: its addresses", 0, 0, 500, 100, 1, 0},
	{"greylisted probe due: the probe", 0, 0, 500, 500, 1, 1},
};

static void test_probe_gate(void)
{
	for (size_t i = 0; i < sizeof gate_rows / sizeof gate_rows[0]; i++) {
		struct sdomain d;
		int probe = -1, got;
		memset(&d, 0, sizeof d);
		d.ca_known = gate_rows[i].ca_known;
		d.probing = gate_rows[i].probing;
		d.probe_due = gate_rows[i].due;
		got = sched_probe_gate(&d, &probe, gate_rows[i].now);
		CHECK_INT(got, gate_rows[i].want, gate_rows[i].name);
		if (got)
			CHECK_INT(probe, gate_rows[i].want_probe, gate_rows[i].name);
	}
}

TESTS(test_attr_plan, test_attr_apply, test_move_next_mx, test_route_paused, test_urgent_first,
      test_hurry, test_probe_one_per_domain, test_probe_yes, test_probe_proven_skip, test_probe_greylisted,
      test_probe_local, test_probe_gate)
