/*
 * spf - does a domain's SPF record (RFC 7208) permit an address to send its mail? Evaluated by
 * Debian's libspf2, which asks its DNS questions through a DNS layer of ours over engine/lookup
 * (the resolvers mailsift was given, not the system's resolv.conf that libspf2 would read).
 */
#ifndef MAILSIFT_SPF_H
#define MAILSIFT_SPF_H

#include <stddef.h>

struct lookup;

struct spf_outcome {
	const char *result;          /* "pass", "fail", "softfail", "neutral", "none", "temperror",
	                              * "permerror" (RFC 7208 2.6) */
	char why[256];               /* libspf2's comment ("domain of x designates ..."), or "" */
};

/* spf_check - the SPF result of MAIL FROM address MAIL_FROM sent from address IP (text, IPv4
 * or IPv6) after HELO name HELO, asking L. 0, or -1 with err (IP not an address, libspf2
 * cannot start). */
int spf_check(struct lookup *l, const char *mail_from, const char *ip, const char *helo,
              struct spf_outcome *out, char *err, size_t errlen);

#endif
