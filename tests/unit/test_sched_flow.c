/*
 * test_sched_flow - host flow control (engine/sched_flow.c), table-driven, with a fake clock
 * (every function is given `now`) and no socket: slow start, halving on pushback, the ceiling
 * a 421 for one session too many sets, the pause of 15 s x penalty^2 capped at an hour after
 * DEF_FAILURES_TO_PAUSE failures in a row, spacing after connect and after close, and the
 * recipient limit kept.
 */
#include <math.h>

#include "engine/sched_int.h"
#include "tests/check.h"

/* One event on a host's flow state. */
enum flow_ev { EV_ADMIT, EV_FAIL, EV_START, EV_CLOSE, EV_RCPT_LIMIT };

/* The fields a row sets and compares: window, ceiling, failures, penalty, next_start,
 * paused_until, rcpt_limit. */
#define FLOW(w, c, f, p, ns, pu, rl) {.window = (w), .ceiling = (c), .failures = (f), \
	.penalty = (p), .next_start = (ns), .paused_until = (pu), .rcpt_limit = (rl)}

static const struct {
	const char *name;
	struct sched_flow in;
	enum flow_ev ev;
	enum smtp_end end;           /* EV_FAIL: how the session ended */
	enum reply_outcome outcome;  /* EV_FAIL: the deciding reply's meaning */
	int concurrent;              /* EV_FAIL: sessions open when it started, itself included */
	int arg;                     /* EV_RCPT_LIMIT: the limit found */
	double now;                  /* the fake clock */
	struct sched_flow want;
	int want_paused;             /* EV_FAIL: it just paused the host */
} rows[] = {
	/* slow start: one more per admitted session, up to the ceiling */
	{"slow start: admitted grows the window by one", FLOW(2, 10, 0, 0, 0, 0, 0), EV_ADMIT, 0, 0, 0, 0, 100,
	 FLOW(3, 10, 0, 0, 0, 0, 0), 0},
	{"slow start: one below the ceiling reaches it", FLOW(9, 10, 0, 0, 0, 0, 0), EV_ADMIT, 0, 0, 0, 0, 100,
	 FLOW(10, 10, 0, 0, 0, 0, 0), 0},
	{"slow start: never past the ceiling", FLOW(10, 10, 0, 0, 0, 0, 0), EV_ADMIT, 0, 0, 0, 0, 100,
	 FLOW(10, 10, 0, 0, 0, 0, 0), 0},
	{"slow start: never past a ceiling a 421 found", FLOW(4, 4, 0, 0, 0, 0, 0), EV_ADMIT, 0, 0, 0, 0, 100,
	 FLOW(4, 4, 0, 0, 0, 0, 0), 0},
	{"admitted: the failures in a row start again", FLOW(2, 10, 2, 1, 0, 0, 0), EV_ADMIT, 0, 0, 0, 0, 100,
	 FLOW(3, 10, 0, 1, 0, 0, 0), 0},
	/* halving on pushback */
	{"pushback: refused connection halves", FLOW(8, 10, 0, 0, 0, 0, 0), EV_FAIL, SMTP_END_CONNECT, 0, 5, 0, 100,
	 FLOW(4, 10, 1, 0, 0, 0, 0), 0},
	{"pushback: timeout halves", FLOW(9, 10, 0, 0, 0, 0, 0), EV_FAIL, SMTP_END_TIMEOUT, 0, 5, 0, 100,
	 FLOW(4, 10, 1, 0, 0, 0, 0), 0},
	{"pushback: dropped connection halves", FLOW(6, 10, 0, 0, 0, 0, 0), EV_FAIL, SMTP_END_DROPPED, 0, 5, 0, 100,
	 FLOW(3, 10, 1, 0, 0, 0, 0), 0},
	{"pushback: a window of 1 stays 1", FLOW(1, 10, 0, 0, 0, 0, 0), EV_FAIL, SMTP_END_CONNECT, 0, 1, 0, 100,
	 FLOW(1, 10, 1, 0, 0, 0, 0), 0},
	{"pushback: 4xx banner halves", FLOW(8, 10, 0, 0, 0, 0, 0), EV_FAIL, SMTP_END_BANNER, OUTCOME_TEMPORARY, 9, 0, 100,
	 FLOW(4, 8, 1, 0, 0, 0, 0), 0},
	{"not pushback: 5xx banner (policy)", FLOW(8, 10, 0, 0, 0, 0, 0), EV_FAIL, SMTP_END_BANNER, OUTCOME_POLICY, 9, 0, 100,
	 FLOW(8, 10, 1, 0, 0, 0, 0), 0},
	{"not pushback: MAIL FROM refused", FLOW(8, 10, 0, 0, 0, 0, 0), EV_FAIL, SMTP_END_REFUSED, 0, 9, 0, 100,
	 FLOW(8, 10, 1, 0, 0, 0, 0), 0},
	{"not a failure: session done", FLOW(8, 10, 2, 0, 0, 0, 0), EV_FAIL, SMTP_END_OK, 0, 9, 0, 100,
	 FLOW(8, 10, 2, 0, 0, 0, 0), 0},
	{"not a failure: QUIT after rejections", FLOW(8, 10, 2, 0, 0, 0, 0), EV_FAIL, SMTP_END_REJECTIONS, 0, 9, 0, 100,
	 FLOW(8, 10, 2, 0, 0, 0, 0), 0},
	{"not a failure: cancelled by us", FLOW(8, 10, 2, 0, 0, 0, 0), EV_FAIL, SMTP_END_CANCELLED, 0, 9, 0, 100,
	 FLOW(8, 10, 2, 0, 0, 0, 0), 0},
	/* the ceiling a 421 for one session too many sets */
	{"421: the ceiling is what was open before it", FLOW(8, 10, 0, 0, 0, 0, 0), EV_FAIL, SMTP_END_THROTTLED, 0, 6, 0, 100,
	 FLOW(4, 5, 1, 0, 0, 0, 0), 0},
	{"421: the halved window stays under the ceiling", FLOW(10, 10, 0, 0, 0, 0, 0), EV_FAIL, SMTP_END_THROTTLED, 0, 3, 0, 100,
	 FLOW(2, 2, 1, 0, 0, 0, 0), 0},
	{"421: alone, the ceiling is 1", FLOW(1, 10, 0, 0, 0, 0, 0), EV_FAIL, SMTP_END_THROTTLED, 0, 1, 0, 100,
	 FLOW(1, 1, 1, 0, 0, 0, 0), 0},
	{"421: a lower ceiling found before is kept", FLOW(3, 3, 0, 0, 0, 0, 0), EV_FAIL, SMTP_END_THROTTLED, 0, 8, 0, 100,
	 FLOW(1, 3, 1, 0, 0, 0, 0), 0},
	{"421 banner: sets the ceiling too", FLOW(6, 10, 0, 0, 0, 0, 0), EV_FAIL, SMTP_END_BANNER, OUTCOME_THROTTLED, 4, 0, 100,
	 FLOW(3, 3, 1, 0, 0, 0, 0), 0},
	{"refused connection: the ceiling stays", FLOW(8, 10, 0, 0, 0, 0, 0), EV_FAIL, SMTP_END_CONNECT, 0, 2, 0, 100,
	 FLOW(4, 10, 1, 0, 0, 0, 0), 0},
	/* pause: DEF_PAUSE_BASE x penalty^2 after DEF_FAILURES_TO_PAUSE in a row, at most DEF_PAUSE_MAX */
	{"two failures in a row: no pause", FLOW(4, 10, 1, 0, 0, 0, 0), EV_FAIL, SMTP_END_REFUSED, 0, 1, 0, 100,
	 FLOW(4, 10, 2, 0, 0, 0, 0), 0},
	{"third failure in a row: paused 15 s", FLOW(4, 10, 2, 0, 0, 0, 0), EV_FAIL, SMTP_END_REFUSED, 0, 1, 0, 100,
	 FLOW(4, 10, 0, 1, 0, 115, 0), 1},
	{"second pause: 15 x 2^2 = 60 s", FLOW(4, 10, 2, 1, 0, 0, 0), EV_FAIL, SMTP_END_REFUSED, 0, 1, 0, 100,
	 FLOW(4, 10, 0, 2, 0, 160, 0), 1},
	{"third pause: 15 x 3^2 = 135 s", FLOW(4, 10, 2, 2, 0, 0, 0), EV_FAIL, SMTP_END_REFUSED, 0, 1, 0, 1000,
	 FLOW(4, 10, 0, 3, 0, 1135, 0), 1},
	{"15th pause: 15 x 15^2 = 3375 s, under the cap", FLOW(4, 10, 2, 14, 0, 0, 0), EV_FAIL, SMTP_END_REFUSED, 0, 1, 0, 100,
	 FLOW(4, 10, 0, 15, 0, 3475, 0), 1},
	{"16th pause: 3840 s capped at an hour", FLOW(4, 10, 2, 15, 0, 0, 0), EV_FAIL, SMTP_END_REFUSED, 0, 1, 0, 100,
	 FLOW(4, 10, 0, 16, 0, 3700, 0), 1},
	{"pushback counts toward the pause", FLOW(2, 10, 2, 0, 0, 0, 0), EV_FAIL, SMTP_END_TIMEOUT, 0, 1, 0, 50,
	 FLOW(1, 10, 0, 1, 0, 65, 0), 1},
	/* spacing after connect and after close */
	{"connect: the next one DEF_HOST_SPACING later", FLOW(2, 10, 0, 0, 0, 0, 0), EV_START, 0, 0, 0, 0, 100,
	 FLOW(2, 10, 0, 0, 100 + DEF_HOST_SPACING, 0, 0), 0},
	{"close: the next one DEF_HOST_SPACING later", FLOW(2, 10, 0, 0, 50, 0, 0), EV_CLOSE, 0, 0, 0, 0, 100,
	 FLOW(2, 10, 0, 0, 100 + DEF_HOST_SPACING, 0, 0), 0},
	{"close: a later start time stays", FLOW(2, 10, 0, 0, 200, 0, 0), EV_CLOSE, 0, 0, 0, 0, 100,
	 FLOW(2, 10, 0, 0, 200, 0, 0), 0},
	/* the recipient limit per transaction, kept */
	{"rcpt limit: the first found is kept", FLOW(2, 10, 0, 0, 0, 0, 0), EV_RCPT_LIMIT, 0, 0, 0, 20, 100,
	 FLOW(2, 10, 0, 0, 0, 0, 20), 0},
	{"rcpt limit: a lower one replaces it", FLOW(2, 10, 0, 0, 0, 0, 20), EV_RCPT_LIMIT, 0, 0, 0, 10, 100,
	 FLOW(2, 10, 0, 0, 0, 0, 10), 0},
	{"rcpt limit: a higher one does not", FLOW(2, 10, 0, 0, 0, 0, 20), EV_RCPT_LIMIT, 0, 0, 0, 30, 100,
	 FLOW(2, 10, 0, 0, 0, 0, 20), 0},
	{"rcpt limit: a session without one keeps it", FLOW(2, 10, 0, 0, 0, 0, 20), EV_RCPT_LIMIT, 0, 0, 0, 0, 100,
	 FLOW(2, 10, 0, 0, 0, 0, 20), 0},
};

static int same_time(double a, double b)
{
	return fabs(a - b) < 1e-9;
}

static void test_flow_rules(void)
{
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct sched_flow f = rows[i].in;
		const struct sched_flow *w = &rows[i].want;
		struct smtp_session_result sr = {.end = rows[i].end, .outcome = rows[i].outcome};
		int paused = 0;

		switch (rows[i].ev) {
		case EV_ADMIT: sched_flow_admitted(&f, 0.001); break;
		case EV_FAIL: paused = sched_flow_failed(&f, &sr, rows[i].concurrent, rows[i].now); break;
		case EV_START: sched_flow_started(&f, rows[i].now); break;
		case EV_CLOSE: sched_flow_closed(&f, rows[i].now); break;
		case EV_RCPT_LIMIT: sched_flow_rcpt_limit(&f, rows[i].arg); break;
		}
		CHECK_INT(f.window, w->window, rows[i].name);
		CHECK_INT(f.ceiling, w->ceiling, rows[i].name);
		CHECK_INT(f.failures, w->failures, rows[i].name);
		CHECK_INT(f.penalty, w->penalty, rows[i].name);
		CHECK_INT(f.rcpt_limit, w->rcpt_limit, rows[i].name);
		CHECK_INT(paused, rows[i].want_paused, rows[i].name);
		CHECK(same_time(f.next_start, w->next_start), "%s: next_start %.3f, want %.3f",
		      rows[i].name, f.next_start, w->next_start);
		CHECK(same_time(f.paused_until, w->paused_until), "%s: paused_until %.3f, want %.3f",
		      rows[i].name, f.paused_until, w->paused_until);
	}
}

/* May a session start: window, pause and spacing, at a given time. */
static const struct {
	const char *name;
	int window;
	double next_start, paused_until;
	int active;
	double now;
	int want;
} start_rows[] = {
	{"room in the window", 2, 0, 0, 1, 100, 1},
	{"window full", 2, 0, 0, 2, 100, 0},
	{"paused", 4, 0, 200, 0, 150, 0},
	{"pause over", 4, 0, 200, 0, 200, 1},
	{"within the spacing", 4, 100.02, 0, 1, 100.01, 0},
	{"spacing passed", 4, 100.02, 0, 1, 100.02, 1},
};

static void test_flow_may_start(void)
{
	for (size_t i = 0; i < sizeof start_rows / sizeof start_rows[0]; i++) {
		struct sched_flow f = {.window = start_rows[i].window,
		                       .next_start = start_rows[i].next_start,
		                       .paused_until = start_rows[i].paused_until};
		CHECK_INT(sched_flow_may_start(&f, start_rows[i].active, start_rows[i].now),
		          start_rows[i].want, start_rows[i].name);
		CHECK_INT(sched_flow_paused(&f, start_rows[i].now),
		          start_rows[i].paused_until > start_rows[i].now, start_rows[i].name);
	}
}

/* Spacing end to end on the fake clock: a connection at 10, a close at 10.5. */
static void test_flow_spacing_timeline(void)
{
	struct sched_flow f;
	static const struct {
		double now;
		int want;
	} t[] = {{10.0, 1}, {10.0 + DEF_HOST_SPACING / 2, 0}, {10.0 + DEF_HOST_SPACING, 1},
	         {10.5 + DEF_HOST_SPACING / 2, 0}, {10.5 + DEF_HOST_SPACING, 1}};

	memset(&f, 0, sizeof f);
	sched_flow_init(&f, 10);
	CHECK_INT(sched_flow_may_start(&f, 0, t[0].now), t[0].want, "fresh host");
	sched_flow_started(&f, 10.0);
	CHECK_INT(sched_flow_may_start(&f, 0, t[1].now), t[1].want, "half the spacing after connect");
	CHECK_INT(sched_flow_may_start(&f, 0, t[2].now), t[2].want, "the spacing after connect");
	sched_flow_closed(&f, 10.5);
	CHECK_INT(sched_flow_may_start(&f, 0, t[3].now), t[3].want, "half the spacing after close");
	CHECK_INT(sched_flow_may_start(&f, 0, t[4].now), t[4].want, "the spacing after close");
	CHECK(same_time(sched_flow_wake_at(&f, 0), 10.5 + DEF_HOST_SPACING), "wake at %.3f",
	      sched_flow_wake_at(&f, 0));
	CHECK(sched_flow_wake_at(&f, f.window) == 0, "window full: no wake time");
}

/* Slow start from a fresh host: DEF_HOST_WINDOW_START, then +1 per admitted session. */
static void test_flow_slow_start(void)
{
	static const struct {
		const char *name;
		int per_host, admitted, want;
	} t[] = {
		{"fresh host", 10, 0, DEF_HOST_WINDOW_START},
		{"after 1 admitted", 10, 1, DEF_HOST_WINDOW_START + 1},
		{"after 5 admitted", 10, 5, DEF_HOST_WINDOW_START + 5},
		{"after 20 admitted: the ceiling", 10, 20, 10},
		{"--per-host 1: starts at 1", 1, 0, 1},
		{"--per-host 1: stays at 1", 1, 5, 1},
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct sched_flow f;
		memset(&f, 0, sizeof f);
		sched_flow_init(&f, t[i].per_host);
		for (int k = 0; k < t[i].admitted; k++)
			sched_flow_admitted(&f, 0.001);
		CHECK_INT(f.window, t[i].want, t[i].name);
		CHECK_INT(f.max_window, t[i].want, t[i].name);
	}
}

/* The pause grows with the penalty, capped: 15, 60, 135, ... 3600 s after every third failure. */
static void test_flow_pause_sequence(void)
{
	struct sched_flow f;
	struct smtp_session_result sr = {.end = SMTP_END_TIMEOUT};
	double now = 1000;

	memset(&f, 0, sizeof f);
	sched_flow_init(&f, 10);
	for (int pause = 1; pause <= 20; pause++) {
		double want = DEF_PAUSE_BASE * pause * pause;
		char name[64];
		if (want > DEF_PAUSE_MAX)
			want = DEF_PAUSE_MAX;
		snprintf(name, sizeof name, "pause %d", pause);
		for (int k = 1; k < DEF_FAILURES_TO_PAUSE; k++)
			CHECK_INT(sched_flow_failed(&f, &sr, 1, now), 0, name);
		CHECK_INT(sched_flow_failed(&f, &sr, 1, now), 1, name);
		CHECK(same_time(f.paused_until - now, want), "%s: %.0f s, want %.0f s", name,
		      f.paused_until - now, want);
		CHECK(sched_flow_paused(&f, now + want - 0.001) && !sched_flow_paused(&f, now + want),
		      "%s: paused until then", name);
		now = f.paused_until;
	}
	CHECK_INT(f.pauses, 20, "pauses counted");
}

/* More sessions while the waiting addresses outnumber the open ones' share. */
static void test_flow_wants_session(void)
{
	static const struct {
		const char *name;
		double rtt;
		size_t queued;
		int active, want;
	} t[] = {
		{"nothing waits", 0, 0, 0, 0},
		{"the first session", 0, 1, 0, 1},
		{"fast host: a full session's worth each", 0, DEF_SESSION_ADDRESSES, 1, 0},
		{"fast host: more than that", 0, DEF_SESSION_ADDRESSES + 1, 1, 1},
		{"slow host: a few each", DEF_SLOW_RTT, DEF_SESSION_MIN_ADDRESSES + 1, 1, 1},
		{"slow host: not more than a few", DEF_SLOW_RTT, DEF_SESSION_MIN_ADDRESSES, 1, 0},
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct sched_flow f = {.rtt = t[i].rtt};
		CHECK_INT(sched_flow_wants_session(&f, t[i].queued, t[i].active), t[i].want, t[i].name);
	}
}

TESTS(test_flow_rules, test_flow_may_start, test_flow_spacing_timeline, test_flow_slow_start,
      test_flow_pause_sequence, test_flow_wants_session)
