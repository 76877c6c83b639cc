/*
 * check - everything the importer learns about one address cell without the network:
 * syntax and normalization (addr), role/disposable/free flags (flags) and a typo suggestion
 * (suggest). Domain-level answers are cached in a fixed-size table, so a list with millions
 * of rows over a few thousand domains pays for each domain about once, in bounded memory.
 */
#ifndef MAILSIFT_ADDR_CHECK_H
#define MAILSIFT_ADDR_CHECK_H

#include <stddef.h>

#include "importers/addr.h"

#define CHECK_CACHE_SLOTS 32768 /* domains remembered; a power of two (~3.5 MiB) */
#define CHECK_CACHE_DOMAIN 64   /* longest domain cached (longer ones are checked each time) */

struct check_result {
	enum addr_problem problem;            /* ADDR_OK or why the syntax is refused */
	struct addr addr;                     /* normalized parts, when problem == ADDR_OK */
	unsigned flags;                       /* FLAG_ROLE | FLAG_DISPOSABLE | FLAG_FREE */
	char suggestion[ADDR_PATH_MAX + 1];   /* "did you mean" address, "" when none */
};

struct check;

/* check_new - a checker with an empty domain cache; NULL when out of memory */
struct check *check_new(void);
void check_free(struct check *c);

/* check_address - examine CELL (LEN bytes) and fill R */
void check_address(struct check *c, const char *cell, size_t len, struct check_result *r);

#endif
