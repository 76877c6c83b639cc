/*
 * flags - role-account, disposable-domain and free-provider flags for an address.
 *
 * Owns the lookups, not the lists: the lists are the arrays flags_role, flags_disposable and
 * flags_free that the build generates from importers/data/{role,disposable,free}.txt with
 * tools/embed.sh (sorted in byte order, so bsearch with strcmp finds entries). No state of its
 * own: psl_builtin() hands out libpsl's static built-in table each time, so this module never
 * reads a file, never allocates (libpsl does not either, for these lookups), never does I/O, and
 * is safe to call from any thread.
 *
 * Domain matching: the domain itself, then each parent down to and including its registrable
 * domain (public suffix list), so foo.mailinator.com counts as mailinator.com, but a list entry
 * that is itself a public suffix (edu.pl, ddns.net) matches only itself, never the separate
 * registrants under it. A domain both disposable and free is reported disposable only
 * (importers/data/SOURCES says why).
 */
#include "importers/flags.h"

#include <libpsl.h>
#include <stdlib.h>
#include <string.h>

#include "importers/addr.h"
#include "schema/verdict.h"

/* Without libpsl's table, parents are tried down to this many labels: "mailinator.com" is
 * right for most domains, and never reaching a bare TLD keeps "com" from matching anything. */
#define FLAGS_FALLBACK_MIN_LABELS 2

/* flags_cmp - bsearch comparator: a key string against an array element */
static int flags_cmp(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

/* flags_in - 1 when S is in the sorted LIST of N strings */
static int flags_in(const char *s, const char *const *list, size_t n)
{
	return n > 0 && bsearch(s, list, n, sizeof *list, flags_cmp) != NULL;
}

/* flags_lower - ASCII-lowercase the first LEN bytes of S into BUF (size > LEN), NUL-terminated.
 * ASCII only on purpose: the lists are ASCII and tolower() would depend on the locale. */
static void flags_lower(char *buf, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	buf[len] = '\0';
}

/* flags_labels - number of dot-separated labels in S */
static size_t flags_labels(const char *s)
{
	size_t n = 1;

	for (; *s; s++)
		n += *s == '.';
	return n;
}

/* flags_domain_lists - FLAG_DISPOSABLE | FLAG_FREE for D (lowercase, no trailing dot) and for
 * its parents down to the last candidate: the registrable domain, or with no public suffix
 * table, the parent of FLAGS_FALLBACK_MIN_LABELS labels */
static unsigned flags_domain_lists(const char *d)
{
	const psl_ctx_t *psl = psl_builtin();  /* NULL when libpsl was built without a table */
	const char *last;     /* the shortest suffix of d to try */
	unsigned found = 0;

	if (psl != NULL) {
		/* a pointer into d, or NULL when d is itself a public suffix (or has no dot):
		 * then only the exact entry counts */
		last = psl_registrable_domain(psl, d);
		if (last == NULL)
			last = d;
	} else {
		size_t drop = flags_labels(d);

		last = d;
		while (drop > FLAGS_FALLBACK_MIN_LABELS) {
			last = strchr(last, '.') + 1;
			drop--;
		}
	}

	for (const char *p = d;;) {
		if (flags_in(p, flags_disposable, flags_disposable_count))
			found |= FLAG_DISPOSABLE;
		if (flags_in(p, flags_free, flags_free_count))
			found |= FLAG_FREE;
		if (p >= last)
			break;
		p = strchr(p, '.');
		if (p == NULL)
			break;
		p++;
	}
	/* disposable wins: a throwaway domain is not a mailbox provider a person keeps */
	if (found & FLAG_DISPOSABLE)
		found &= ~(unsigned)FLAG_FREE;
	return found;
}

unsigned flags_domain(const char *domain)
{
	char d[ADDR_DOMAIN_MAX + 1];
	size_t len;

	if (domain == NULL)
		return 0;
	len = strlen(domain);
	if (len > 0 && domain[len - 1] == '.')
		len--;
	if (len == 0 || len > ADDR_DOMAIN_MAX)
		return 0;
	flags_lower(d, domain, len);
	return flags_domain_lists(d);
}

int flags_is_role(const char *local)
{
	char l[ADDR_LOCAL_MAX + 1];
	size_t len;

	if (local == NULL)
		return 0;
	len = strcspn(local, "+");
	if (len == 0 || len > ADDR_LOCAL_MAX)
		return 0;
	flags_lower(l, local, len);
	return flags_in(l, flags_role, flags_role_count);
}

unsigned flags_for(const char *local, const char *domain)
{
	return (flags_is_role(local) ? (unsigned)FLAG_ROLE : 0u) | flags_domain(domain);
}
