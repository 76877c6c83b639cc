/*
 * check - per-address checks with a per-domain cache (see check.h).
 */
#include "importers/check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "importers/flags.h"
#include "importers/suggest.h"
#include "schema/verdict.h"

struct domain_slot {
	char domain[CHECK_CACHE_DOMAIN];      /* "" when the slot is empty */
	unsigned flags;                       /* FLAG_DISPOSABLE | FLAG_FREE */
	char suggestion[CHECK_CACHE_DOMAIN];  /* suggested domain, "" when none */
};

struct check {
	struct domain_slot slot[CHECK_CACHE_SLOTS];
	struct domain_slot scratch;           /* for a domain too long to cache */
};

struct check *check_new(void)
{
	return calloc(1, sizeof(struct check));
}

void check_free(struct check *c)
{
	free(c);
}

/* domain_info - the cached slot for DOMAIN, filled on a miss */
static const struct domain_slot *domain_info(struct check *c, const char *domain)
{
	size_t len = strlen(domain);
	struct domain_slot *s = len < CHECK_CACHE_DOMAIN
	                                ? &c->slot[hash_fnv1a32_str(domain) & (CHECK_CACHE_SLOTS - 1)]
	                                : &c->scratch;
	char suggestion[ADDR_DOMAIN_MAX + 1];

	if (s == &c->scratch || strcmp(s->domain, domain) != 0) {
		if (s == &c->scratch)
			s->domain[0] = '\0'; /* never matches: the scratch slot is refilled each time */
		else
			memcpy(s->domain, domain, len + 1);
		s->flags = flags_domain(domain);
		s->suggestion[0] = '\0';
		/* A suggestion is a popular domain: short; a longer one is not worth keeping. */
		if (suggest_domain(domain, suggestion, sizeof suggestion) &&
		    strlen(suggestion) < sizeof s->suggestion)
			memcpy(s->suggestion, suggestion, strlen(suggestion) + 1);
	}
	return s;
}

void check_address(struct check *c, const char *cell, size_t len, struct check_result *r)
{
	const struct domain_slot *d;

	r->flags = 0;
	r->suggestion[0] = '\0';
	r->problem = addr_parse(cell, len, &r->addr);
	if (r->problem != ADDR_OK)
		return;
	d = domain_info(c, r->addr.domain);
	r->flags = d->flags | (flags_is_role(r->addr.local) ? FLAG_ROLE : 0);
	if (d->suggestion[0] != '\0')
		snprintf(r->suggestion, sizeof r->suggestion, "%s@%s", r->addr.local, d->suggestion);
}
