/*
 * fuzz_addr - libFuzzer target for addr_parse (importers/addr.h): arbitrary bytes in, the
 * contract's invariants checked on what comes out. Aborts (a fuzzer finding) when an output
 * string is unterminated or over its limit, when a valid result is not normal (one '@', a
 * lowercase LDH domain of two or more labels, a key equal to the address with ASCII letters of
 * the local part lowercased), when a refused result leaves anything in the output, or when
 * normalizing is not idempotent. Memory errors are the sanitizers' to find.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "importers/addr.h"
#include "tests/fuzz/fuzz.h"

#define FILL 0x5A /* garbage written over the output before each call */

/* fail - report a broken invariant and abort, so libFuzzer keeps the input */
static void fail(const char *what, const struct addr *a)
{
	fprintf(stderr, "fuzz_addr: %s (address \"%.*s\", key \"%.*s\")\n", what,
	        (int)sizeof a->address, a->address, (int)sizeof a->key, a->key);
	abort();
}

/* bounded_len - strlen within SIZE bytes, or SIZE when there is no NUL */
static size_t bounded_len(const char *s, size_t size)
{
	const char *nul = memchr(s, '\0', size);

	return nul != NULL ? (size_t)(nul - s) : size;
}

static void check_valid(const struct addr *a)
{
	size_t ll = strlen(a->local), dl = strlen(a->domain), al = strlen(a->address);
	const char *at = strchr(a->address, '@');
	size_t labels = 1, label = 0;

	if (ll == 0 || ll > ADDR_LOCAL_MAX || dl == 0 || al > ADDR_PATH_MAX || al != ll + 1 + dl)
		fail("lengths", a);
	if (at == NULL || strchr(at + 1, '@') != NULL || strchr(a->key, '@') == NULL ||
	    strchr(a->key, '@') != strrchr(a->key, '@'))
		fail("not exactly one @", a);
	if (strncmp(a->address, a->local, ll) != 0 || strcmp(at + 1, a->domain) != 0)
		fail("address is not local@domain", a);
	if (strlen(a->key) != al || strcmp(a->key + ll, a->address + ll) != 0)
		fail("key and address differ after the local part", a);
	for (size_t i = 0; i < ll; i++) {
		unsigned char c = (unsigned char)a->local[i], k = (unsigned char)a->key[i];
		unsigned char want = c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
		if (k != want)
			fail("key is not the local part lowercased", a);
		if (c <= ' ' || c == 0x7F || c == '@' || c == '"' || c == '(' || c == ')' ||
		    c == '<' || c == '>' || c == '[' || c == ']' || c == ',' || c == ';' || c == ':' ||
		    c == '\\')
			fail("local part holds a forbidden character", a);
		if (c >= 0x80 && !a->utf8_local)
			fail("non-ASCII local part without utf8_local", a);
	}
	if (a->local[0] == '.' || a->local[ll - 1] == '.' || strstr(a->local, "..") != NULL)
		fail("local part dots", a);
	for (size_t i = 0; i < dl; i++) {
		unsigned char c = (unsigned char)a->domain[i];
		if (c == '.') {
			if (label == 0)
				fail("empty label", a);
			labels++, label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			fail("domain is not lowercase LDH", a);
		if (++label > ADDR_LABEL_MAX)
			fail("label too long", a);
	}
	if (label == 0 || labels < 2)
		fail("domain has an empty last label or a single label", a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct addr a, b;
	enum addr_problem p;
	char *copy = malloc(size > 0 ? size : 1); /* exact size: reads past the end are caught */

	if (copy == NULL)
		return 0;
	if (size > 0)
		memcpy(copy, data, size);
	memset(&a, FILL, sizeof a);
	p = addr_parse(copy, size, &a);
	free(copy);

	if (bounded_len(a.local, sizeof a.local) == sizeof a.local ||
	    bounded_len(a.domain, sizeof a.domain) == sizeof a.domain ||
	    bounded_len(a.address, sizeof a.address) == sizeof a.address ||
	    bounded_len(a.key, sizeof a.key) == sizeof a.key)
		fail("unterminated output", &a);
	if (addr_problem_text(p) == NULL || addr_problem_text(p)[0] == '\0')
		fail("no problem text", &a);
	if (p != ADDR_OK) {
		if (a.local[0] || a.domain[0] || a.address[0] || a.key[0] || a.utf8_local)
			fail("output left after a problem", &a);
		return 0;
	}
	check_valid(&a);

	/* Normalizing is idempotent: the address and the key parse to themselves. */
	if (addr_parse(a.address, strlen(a.address), &b) != ADDR_OK ||
	    strcmp(a.address, b.address) != 0 || strcmp(a.key, b.key) != 0 ||
	    a.utf8_local != b.utf8_local)
		fail("address does not parse to itself", &a);
	if (addr_parse(a.key, strlen(a.key), &b) != ADDR_OK || strcmp(a.key, b.key) != 0)
		fail("key does not parse to itself", &a);
	return 0;
}
