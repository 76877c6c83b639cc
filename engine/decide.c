/*
 * decide - verdict rules (see decide.h). Table-tested in tests/unit/test_decide.c.
 */
#include "engine/decide.h"

#include <stddef.h>

static void set(struct decide_out *o, enum verdict_status s, const char *reason, int retry)
{
	o->status = s;
	o->reason = reason;
	o->retry = retry;
}

/* temporary - retry while attempts remain, then unknown with REASON */
static void temporary(const struct decide_in *in, struct decide_out *o, const char *reason)
{
	set(o, STATUS_UNKNOWN, reason, !in->last_attempt);
}

static void from_dns(const struct decide_in *in, struct decide_out *o)
{
	switch (in->dns) {
	case DNS_NXDOMAIN: set(o, STATUS_INVALID, REASON_NXDOMAIN, 0); return;
	case DNS_NULL_MX: set(o, STATUS_INVALID, REASON_NULL_MX, 0); return;
	case DNS_NO_MAIL_HOST: set(o, STATUS_INVALID, REASON_NO_MAIL_HOST, 0); return;
	case DNS_NO_HOST_ADDRESS:
	case DNS_TEMPFAIL: temporary(in, o, REASON_DNS_ERROR); return;
	case DNS_MX_NOT_PUBLIC:
		/* never connected to: asking again gets the same addresses */
		set(o, STATUS_UNKNOWN, REASON_MX_NOT_PUBLIC, 0);
		return;
	case DNS_OK: break;
	}
	set(o, STATUS_UNKNOWN, REASON_DNS_ERROR, 0);
}

static void from_session(const struct decide_in *in, struct decide_out *o)
{
	switch (in->session) {
	case SMTP_END_CONNECT: temporary(in, o, REASON_CONNECT_FAILED); return;
	case SMTP_END_TIMEOUT: temporary(in, o, REASON_TIMEOUT); return;
	case SMTP_END_BANNER:
	case SMTP_END_REFUSED: set(o, STATUS_UNKNOWN, REASON_BLOCKED, 0); return;
	case SMTP_END_TEMPORARY: temporary(in, o, REASON_GREYLISTED); return;
	case SMTP_END_THROTTLED: temporary(in, o, REASON_THROTTLED); return;
	case SMTP_END_TLS: set(o, STATUS_UNKNOWN, REASON_TLS_ERROR, 0); return;
	case SMTP_END_DROPPED:
		/* A dropped connection (load balancer, idle limit, fail2ban): a failed session like a
		 * timeout, asked again. */
		temporary(in, o, REASON_CONNECT_FAILED);
		return;
	case SMTP_END_PROTOCOL:
		/* Garbage, endless or oversized replies, a reply cut off by a close: a broken or
		 * hostile server does not get better by asking again, and asking again costs time.
		 * (A connection dropped between replies is SMTP_END_DROPPED, retried.) */
		set(o, STATUS_UNKNOWN, REASON_PROTOCOL_ERROR, 0);
		return;
	case SMTP_END_OK:
	case SMTP_END_REJECTIONS:
	case SMTP_END_CANCELLED:
		/* The session ended well but never asked about this address: try it again. */
		temporary(in, o, REASON_NOT_VERIFIED);
		return;
	}
	set(o, STATUS_UNKNOWN, REASON_PROTOCOL_ERROR, 0);
}

static void accepted(const struct decide_in *in, struct decide_out *o)
{
	if (in->catch_all == CATCH_ALL_YES)
		set(o, STATUS_CATCH_ALL, REASON_CATCH_ALL, 0);
	else if (in->flags & FLAG_DISPOSABLE)
		set(o, STATUS_RISKY, REASON_DISPOSABLE, 0);
	else if (in->flags & FLAG_ROLE)
		set(o, STATUS_RISKY, REASON_ROLE, 0);
	else
		set(o, STATUS_VALID, REASON_ACCEPTED, 0);
}

void decide(const struct decide_in *in, struct decide_out *o)
{
	if (in->dns != DNS_OK) {
		from_dns(in, o);
		return;
	}
	if (!in->rcpt_answered) {
		from_session(in, o);
		return;
	}
	switch (in->rcpt) {
	case OUTCOME_ACCEPTED: accepted(in, o); return;
	case OUTCOME_NO_MAILBOX: set(o, STATUS_INVALID, REASON_MAILBOX_NOT_FOUND, 0); return;
	case OUTCOME_DISABLED: set(o, STATUS_INVALID, REASON_DISABLED, 0); return;
	case OUTCOME_NULL_MX: set(o, STATUS_INVALID, REASON_NULL_MX, 0); return;
	case OUTCOME_FULL: set(o, STATUS_RISKY, REASON_FULL_INBOX, 0); return;
	case OUTCOME_TEMPORARY: temporary(in, o, REASON_GREYLISTED); return;
	case OUTCOME_THROTTLED: temporary(in, o, REASON_THROTTLED); return;
	case OUTCOME_POLICY: set(o, STATUS_UNKNOWN, REASON_BLOCKED, 0); return;
	case OUTCOME_UNSUPPORTED: set(o, STATUS_UNKNOWN, REASON_UNSUPPORTED, 0); return;
	case OUTCOME_PROTOCOL: temporary(in, o, REASON_PROTOCOL_ERROR); return;
	case OUTCOME_UNKNOWN_PERM: set(o, STATUS_UNKNOWN, REASON_REJECTED, 0); return;
	case OUTCOME_TOO_MANY_RCPTS:
		/* The transaction was full: nothing about the address (the session asks it again in
		 * a new transaction; this is the fallback). */
		temporary(in, o, REASON_NOT_VERIFIED);
		return;
	}
	set(o, STATUS_UNKNOWN, REASON_PROTOCOL_ERROR, 0);
}

enum catch_all decide_catch_all(enum reply_outcome probe)
{
	switch (probe) {
	case OUTCOME_ACCEPTED: return CATCH_ALL_YES;
	case OUTCOME_NO_MAILBOX:
	case OUTCOME_DISABLED: return CATCH_ALL_NO;
	default: return CATCH_ALL_INCONCLUSIVE;
	}
}
