/*
 * suggest - "did you mean" for typo domains (gmial.com -> gmail.com, yahoo.co -> yahoo.com),
 * in the spirit of mailcheck: string distance against popular domains, second-level domains
 * and top-level domains, each with its own threshold. Pure: no I/O, no state.
 */
#ifndef MAILSIFT_SUGGEST_H
#define MAILSIFT_SUGGEST_H

#include <stddef.h>

/* suggest_domain - a likely intended domain for DOMAIN (a lowercase A-label; case and a trailing
 * dot are ignored): 1 with it in OUT (OUTLEN bytes), or 0 when DOMAIN looks right, nothing is
 * close enough, or the suggestion does not fit; then OUT is "" (if OUTLEN > 0). Uses libpsl's
 * built-in public suffix table to tell real TLDs from typos. */
int suggest_domain(const char *domain, char *out, size_t outlen);

#endif
