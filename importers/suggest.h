/*
 * suggest - "did you mean" for typo domains (gmial.com -> gmail.com, yahoo.co -> yahoo.com),
 * in the spirit of mailcheck: string distance against popular domains, second-level domains
 * and top-level domains, each with its own threshold. Pure: no I/O, no state.
 */
#ifndef MAILSIFT_SUGGEST_H
#define MAILSIFT_SUGGEST_H

#include <stddef.h>

/* suggest_domain - write a likely intended domain for DOMAIN (lowercase) into out and return 1,
 * or return 0 when DOMAIN looks right or nothing is close enough */
int suggest_domain(const char *domain, char *out, size_t outlen);

#endif
