/*
 * given - addresses handed over one by one (`mailsift verify ADDRESS...`, later an API call)
 * instead of read from a list file. Those whose syntax check passed become the rows of a new
 * list of the job store, as an import of a plain list would make them (normalized, dedupe
 * key, flags, suggestion), so the run service verifies them with everything a list gets:
 * dedupe, the DNS and catch-all caches, retries from the same source, host politeness.
 * Addresses whose syntax is refused are the caller's to answer; they are not stored.
 */
#ifndef MAILSIFT_GIVEN_H
#define MAILSIFT_GIVEN_H

#include <stddef.h>
#include <stdint.h>

#include "importers/check.h"
#include "schema/store.h"

/* given_addr - the job store's view of CR's address (pointers into CR) */
struct store_addr_in given_addr(const struct check_result *cr);

/* given_import - a new list NAME (IDENTITY: unique in the store) holding, as row I + 1, each
 * INPUTS[I] whose CHECKED[I] has no problem, in one transaction; the list's id, or -1 with err */
int64_t given_import(struct store *s, const char *name, const char *identity,
                     const char *const *inputs, const struct check_result *checked, size_t n,
                     char *err, size_t errlen);

#endif
