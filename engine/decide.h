/*
 * decide - the verdict rules of DESIGN.md as one pure function: what DNS said, how the SMTP
 * session went, what the RCPT reply meant, the catch-all probe and the importer's flags ─►
 * status + reason. Temporary outcomes are "retry" until the attempts run out; then unknown.
 * Nothing that is about us (blocks, policy, throttling), nothing temporary and nothing unclear
 * ever becomes invalid.
 */
#ifndef MAILSIFT_DECIDE_H
#define MAILSIFT_DECIDE_H

#include "engine/dns.h"
#include "engine/reply.h"
#include "engine/smtp.h"
#include "schema/verdict.h"

/* What the catch-all probe (a random local part at the domain) found. */
enum catch_all {
	CATCH_ALL_UNTESTED = 0,  /* not probed (skipped by provider policy, or not yet) */
	CATCH_ALL_YES,           /* the random address was accepted */
	CATCH_ALL_NO,            /* the random address was refused as unknown */
	CATCH_ALL_INCONCLUSIVE   /* anything else: never read as catch-all */
};

struct decide_in {
	enum dns_status dns;            /* DNS_OK unless the domain failed */
	int rcpt_answered;              /* an RCPT reply exists for the address */
	enum reply_outcome rcpt;        /* its meaning, when answered */
	enum smtp_end session;          /* how the session ended, when it was not answered */
	enum catch_all catch_all;
	unsigned flags;                 /* FLAG_ROLE | FLAG_DISPOSABLE | ... from the importer */
	int last_attempt;               /* no retry is left */
};

struct decide_out {
	int retry;                      /* temporary: try again later (status/reason say what if not) */
	enum verdict_status status;
	const char *reason;             /* REASON_* */
};

/* decide - the verdict for one address */
void decide(const struct decide_in *in, struct decide_out *out);

/* decide_catch_all - the catch-all state from the probe's RCPT outcome */
enum catch_all decide_catch_all(enum reply_outcome probe);

#endif
