/*
 * sched_flow - host flow control: how many sessions one MX host address (from one source
 * address) may have open, and when the next may start (the policy is sched.h's).
 *
 * Pure functions over a struct sched_flow: they are given the time (`now`, monotonic
 * seconds) and never read a clock, open a socket or touch another host, so every rule has a
 * table-driven test with a fake clock (tests/unit/test_sched_flow.c). The window starts at
 * DEF_HOST_WINDOW_START, grows by one per admitted session up to the ceiling (slow start),
 * halves on pushback; a 421 for one session too many sets the ceiling; DEF_FAILURES_TO_PAUSE
 * failures in a row pause the host DEF_PAUSE_BASE x penalty^2 (at most DEF_PAUSE_MAX); new
 * connections are DEF_HOST_SPACING apart, also after a session ends.
 */
#include "engine/sched_int.h"

/* sched_flow_init - a host never seen before, its ceiling PER_HOST */
void sched_flow_init(struct sched_flow *f, int per_host)
{
	f->window = DEF_HOST_WINDOW_START < per_host ? DEF_HOST_WINDOW_START : per_host;
	f->ceiling = per_host;
	f->max_window = f->window;
}

/* sched_session_failed - the session ended in a failure of the host or of the connection (not
 * after its last address, not stopped by us, not a polite early end) */
int sched_session_failed(enum smtp_end e)
{
	return e != SMTP_END_OK && e != SMTP_END_REJECTIONS && e != SMTP_END_CANCELLED;
}

/* sched_is_pushback - the session's end says the host does not want us now */
int sched_is_pushback(const struct smtp_session_result *sr)
{
	switch (sr->end) {
	case SMTP_END_CONNECT:
	case SMTP_END_TIMEOUT:
	case SMTP_END_THROTTLED:
	case SMTP_END_DROPPED:
		return 1;
	case SMTP_END_BANNER:
		return sr->outcome == OUTCOME_THROTTLED || sr->outcome == OUTCOME_TEMPORARY;
	default:
		return 0;
	}
}

/* sched_flow_paused - the host is paused at NOW */
int sched_flow_paused(const struct sched_flow *f, double now)
{
	return f->paused_until > now;
}

/* sched_flow_may_start - one more session (ACTIVE open) may start at NOW: within the window,
 * not paused, and spaced from the last connection and the last close */
int sched_flow_may_start(const struct sched_flow *f, int active, double now)
{
	return active < f->window && now >= f->paused_until && now >= f->next_start;
}

/* sched_flow_wake_at - when the window has room (ACTIVE open), the moment a session may start
 * (the end of the pause or of the spacing, whichever is later); 0 when the window is full */
double sched_flow_wake_at(const struct sched_flow *f, int active)
{
	if (active >= f->window)
		return 0;
	return f->paused_until > f->next_start ? f->paused_until : f->next_start;
}

/* sched_flow_wants_session - QUEUED waiting addresses call for one more session next to ACTIVE:
 * the first, or more than the open ones will ask soon (a full session's worth each on a fast
 * host, where fewer connections cost less; a few each on a slow one, where parallel sessions
 * pay) */
int sched_flow_wants_session(const struct sched_flow *f, size_t queued, int active)
{
	size_t each = f->rtt >= DEF_SLOW_RTT ? DEF_SESSION_MIN_ADDRESSES : DEF_SESSION_ADDRESSES;

	return queued > 0 && (active == 0 || queued > (size_t)active * each);
}

/* sched_flow_started - a connection starts at NOW: the next one not before NOW + spacing */
void sched_flow_started(struct sched_flow *f, double now)
{
	f->next_start = now + DEF_HOST_SPACING;
}

/* sched_flow_closed - a session ended at NOW: the host may still count the connection we closed
 * a moment ago (after QUIT) against its limit and refuse the next one if it comes at once, so
 * the next one waits the spacing too */
void sched_flow_closed(struct sched_flow *f, double now)
{
	if (f->next_start < now + DEF_HOST_SPACING)
		f->next_start = now + DEF_HOST_SPACING;
}

/* sched_flow_admitted - the host took a session up to MAIL FROM (about four round trips took
 * RTT_SAMPLE x 4 seconds): one more may fit. Slow start as in TCP: the window grows by one per
 * admitted session (it doubles per round of sessions) until the ceiling or the first pushback,
 * which then caps it for good (sched_flow_failed). Growing on admission rather than at the
 * session's end keeps long sessions to slow hosts from holding the window small. */
void sched_flow_admitted(struct sched_flow *f, double rtt_sample)
{
	f->rtt = f->rtt > 0 ? 0.7 * f->rtt + 0.3 * rtt_sample : rtt_sample;
	f->failures = 0;
	if (f->window < f->ceiling) {
		f->window++;
		if (f->window > f->max_window)
			f->max_window = f->window;
	}
}

/* flow_pushback - the host pushed back on a session started with CONCURRENT open (itself
 * included). A connection refused, timed out or dropped halves the window; a refusal for
 * being one too many (421, 4.7.x) also sets the ceiling to the sessions open then minus one,
 * so the window never grows past it again: the limit is found once and kept. */
static void flow_pushback(struct sched_flow *f, const struct smtp_session_result *sr,
                          int concurrent)
{
	int limit;

	f->pushback++;
	if (sr->end == SMTP_END_CONNECT || sr->end == SMTP_END_TIMEOUT ||
	    sr->end == SMTP_END_DROPPED) {
		f->connect_failures += sr->end != SMTP_END_DROPPED;
		f->window = f->window > 1 ? f->window / 2 : 1;
		return;
	}
	limit = concurrent > 1 ? concurrent - 1 : 1;
	if (limit < f->ceiling)
		f->ceiling = limit;
	f->window = f->window / 2 > f->ceiling ? f->ceiling : f->window / 2;
	if (f->window < 1)
		f->window = 1;
}

/* sched_flow_failed - a session started with CONCURRENT open ended at NOW as SR says. Pushback
 * shrinks the window (flow_pushback); every failure counts toward a pause: after
 * DEF_FAILURES_TO_PAUSE in a row, DEF_PAUSE_BASE x penalty^2 seconds, at most DEF_PAUSE_MAX.
 * Returns 1 when the host was just paused. A session that did not fail changes nothing (the
 * window grew when it was admitted). */
int sched_flow_failed(struct sched_flow *f, const struct smtp_session_result *sr, int concurrent,
                      double now)
{
	double pause;

	if (!sched_session_failed(sr->end))
		return 0;
	if (sched_is_pushback(sr))
		flow_pushback(f, sr, concurrent);
	if (++f->failures < DEF_FAILURES_TO_PAUSE)
		return 0;
	f->penalty++;
	pause = DEF_PAUSE_BASE * f->penalty * f->penalty;
	f->paused_until = now + (pause < DEF_PAUSE_MAX ? pause : DEF_PAUSE_MAX);
	f->pauses++;
	f->failures = 0;
	return 1;
}

/* sched_flow_rcpt_limit - a session found the host's recipient limit per transaction (452
 * 4.5.3 after LIMIT RCPTs; 0: it did not): kept, the lowest found, for its later sessions */
void sched_flow_rcpt_limit(struct sched_flow *f, int limit)
{
	if (limit > 0 && (f->rcpt_limit == 0 || limit < f->rcpt_limit))
		f->rcpt_limit = limit;
}
