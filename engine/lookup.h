/*
 * lookup - DNS questions of any type (A, AAAA, MX, PTR, TXT), asked together and waited for:
 * the resolver of the diagnostics (`mailsift doctor`, the checks before a run), which run
 * before the run's event loop and read one answer after another. A c-ares channel of its own
 * on the same resolvers as the run (the same timeouts and tries), driven by c-ares' own
 * ares_fds / ares_process loop. Records are kept as text, at most LOOKUP_MAX_RECORDS an answer.
 */
#ifndef MAILSIFT_LOOKUP_H
#define MAILSIFT_LOOKUP_H

#include <stddef.h>
#include <sys/socket.h>

#include "engine/dns.h"

#define LOOKUP_MAX_RECORDS 16     /* records kept an answer; the rest are counted */
#define LOOKUP_TEXT_MAX 512       /* a record as text: an address, a name, a TXT's strings */
#define LOOKUP_MAX_PENDING 64     /* questions asked before one lookup_wait */

enum lookup_type { LOOKUP_A = 1, LOOKUP_PTR = 12, LOOKUP_MX = 15, LOOKUP_TXT = 16,
                   LOOKUP_AAAA = 28 };

struct lookup_answer {
	enum dns_meaning meaning;    /* DNS_MEANS_OK (records), _NODATA, _NOT_EXIST, _TEMPORARY */
	const char *why;             /* what c-ares said: "NXDOMAIN", "timeout", "SERVFAIL", ... */
	double ms;                   /* from the question to its answer */
	size_t n;                    /* records kept in rec */
	size_t total;                /* records in the answer */
	int pref[LOOKUP_MAX_RECORDS];                 /* MX preferences */
	char rec[LOOKUP_MAX_RECORDS][LOOKUP_TEXT_MAX]; /* A/AAAA: the address; MX, PTR: the name
	                                                * (lowercase, no trailing dot); TXT: the
	                                                * strings of one record joined */
};

struct lookup;

/* lookup_new - a resolver asking SERVERS (as dns_new takes them; none: the system's); NULL
 * with err */
struct lookup *lookup_new(const char *const *servers, size_t nservers, char *err, size_t errlen);

void lookup_free(struct lookup *l);

/* lookup_servers - who is asked, as text ("127.0.0.1:5353", "the system resolver") */
const char *lookup_servers(const struct lookup *l);

/* lookup_ask - ask NAME's records of TYPE; ANS is filled by the next lookup_wait (and must live
 * until then). More than LOOKUP_MAX_PENDING questions at once: the earlier ones are waited for
 * first. */
void lookup_ask(struct lookup *l, const char *name, enum lookup_type type,
                struct lookup_answer *ans);

/* lookup_wait - until every question asked has its answer */
void lookup_wait(struct lookup *l);

/* lookup_one - ask and wait: ANS */
void lookup_one(struct lookup *l, const char *name, enum lookup_type type,
                struct lookup_answer *ans);

/* lookup_reverse_name - ADDR's name under SUFFIX: IPv4 by octet, reversed ("4.3.2.1.SUFFIX"),
 * IPv6 by nibble (RFC 3596, RFC 5782); SUFFIX NULL: in-addr.arpa or ip6.arpa. -1 when it does
 * not fit or ADDR is neither. */
int lookup_reverse_name(const struct sockaddr *addr, const char *suffix, char *buf, size_t n);

#endif
