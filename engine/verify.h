/*
 * verify - check a few addresses now, on an event loop of its own, and fill in each one's
 * answer: the mechanism of `mailsift verify`. The caller checks the syntax (importers/) and
 * writes the output (exporters/); DNS, sessions, catch-all probes and host politeness come from
 * the scheduler (sched, as for a run), the verdict from decide. Temporary answers (greylisting)
 * are retried after the configured delays from the same source and MAIL FROM, up to
 * max_attempts.
 */
#ifndef MAILSIFT_VERIFY_H
#define MAILSIFT_VERIFY_H

#include <stddef.h>

#include "engine/config.h"
#include "engine/decide.h"
#include "engine/dns.h"
#include "engine/reply.h"

/* One address: what the caller gives, then what verify_run fills in. */
struct verify_item {
	const char *address;         /* normalized address; NULL: not to verify (left untouched) */
	const char *domain;          /* its domain (lowercase A-label) */
	unsigned flags;              /* FLAG_ROLE | FLAG_DISPOSABLE | FLAG_FREE */

	struct decide_out verdict;   /* the final verdict */
	int attempts;                /* sessions that tried it */
	struct reply reply;          /* the deciding reply, when have_reply */
	int have_reply;
	char mx_host[256];           /* the host that answered, or "" */
	char detail[256];            /* why, when there is no reply (or more to say), or "" */
	int tls;
	enum catch_all catch_all;    /* the domain's catch-all state */
	char mx_hosts[DNS_MAX_HOSTS][256]; /* the domain's MX hosts, for the report */
	size_t nmx;
	double seconds;              /* from the start to its verdict */
};

/* verify_run - verify the N ITEMS that have an address; 0 when every one got a verdict
 * (whatever it is), -1 with err on a setup failure (resolver, event loop) */
int verify_run(const struct probe_config *c, struct verify_item *items, size_t n, char *err,
               size_t errlen);

#endif
