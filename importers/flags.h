/*
 * flags - role-account, disposable-domain and free-provider flags for an address.
 *
 * The lists are data files in importers/data/ (sources and licenses in importers/data/SOURCES),
 * compiled into the binary by `make` (build/gen/lists.c is generated from them with
 * `tools/embed.sh lines`; `make data` refreshes the text files from their npm packages with
 * tools/update-lists.sh). Disposable and free domains are matched on the address's domain and
 * on each parent down to its registrable domain (public suffix list via libpsl), so
 * mail.mailinator.com counts as mailinator.com. A domain on both lists is disposable only.
 * Pure lookups: no I/O, no allocation of its own; safe to call per distinct domain.
 */
#ifndef MAILSIFT_FLAGS_H
#define MAILSIFT_FLAGS_H

#include <stddef.h>

/* The generated lists (build/gen/lists.c): sorted, unique, lowercase. */
extern const char *const flags_role[];
extern const size_t flags_role_count;
extern const char *const flags_disposable[];
extern const size_t flags_disposable_count;
extern const char *const flags_free[];
extern const size_t flags_free_count;

/* flags_for - FLAG_ROLE | FLAG_DISPOSABLE | FLAG_FREE bits (schema/verdict.h) for a normalized
 * address: LOCAL as given, DOMAIN lowercase A-label */
unsigned flags_for(const char *local, const char *domain);

/* flags_domain - the domain-only part: FLAG_DISPOSABLE or FLAG_FREE (never both) for DOMAIN;
 * case and a trailing dot are ignored; 0 for NULL, empty or over-long input */
unsigned flags_domain(const char *domain);

/* flags_is_role - 1 when LOCAL (ASCII case-insensitive, cut at the first '+': info+x@ is info@)
 * is a role account; 0 for NULL or empty */
int flags_is_role(const char *local);

#endif
