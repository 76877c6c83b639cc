/*
 * addr - mailbox syntax (RFC 5321 as a list cleaner needs it) and normalization.
 *
 * A pure function of its input: no I/O, no global state. Accepted: dot-atom local parts
 * (RFC 5322 atext, optionally UTF-8 per RFC 6531) up to 64 octets; domains of LDH labels
 * (1-63 octets, no leading/trailing hyphen) up to 255 octets, at least two labels, a TLD that
 * is not all-numeric; IDN domains (U-labels) converted to A-labels; whole address up to 254
 * octets. Rejected on purpose (a list cleaner's policy, documented in README): quoted local
 * parts, IP-literal domains, comments, obsolete RFC 5322 forms (folding white space, quoted
 * pairs outside quotes), display names ("Name <a@b>") and anything with white space inside.
 *
 * Cleaning before the check, because exports from spreadsheets and web pages carry it:
 * - blanks are trimmed at both ends: ASCII white space (space, TAB, CR, LF, VT, FF), Unicode
 *   white space (U+00A0 no-break space, U+3000, ...) and invisible format characters (U+200B
 *   zero-width space, U+FEFF byte order mark, U+200E/U+200F direction marks, bidi controls);
 *   the same characters inside the address are ADDR_SPACE;
 * - a leading "mailto:" (any case) is stripped: no valid address starts with it, and the
 *   mailbox it names is what the list meant. Percent-escapes are not decoded, and a "?query"
 *   after the address is left in and fails as ADDR_LABEL_CHAR;
 * - one trailing dot of the domain is removed ("a@b.com." -> "a@b.com").
 *
 * Domains: an ASCII domain is lowercased and checked as LDH; labels already in xn-- form are
 * taken as LDH (their Punycode is not decoded). A domain with non-ASCII bytes goes through
 * libidn2: IDNA2008 with non-transitional UTS 46 mapping ("fa\u00DF.de" -> "xn--fa-hia.de");
 * when that refuses, transitional processing may map the input (dropping a stray zero-width
 * joiner, say), but what it produces must then pass IDNA2008 too. Emoji and symbol domains
 * ("i\u2764.ws") are ADDR_IDN_DISALLOWED: IDNA2008 disallows their code points (IDNA2003 took
 * them), and the registries that still sell a few (.ws) break the standard we claim.
 * ASCII labels beside U-labels are judged as in an ASCII domain.
 * Reserved-hyphen labels ("ab--cd") pass in ASCII domains; libidn2 refuses them next to
 * U-labels (ADDR_IDN_INVALID).
 *
 * Order of checks, the first failing one is returned: ADDR_EMPTY; ADDR_BAD_UTF8 (anywhere);
 * then the forms rejected by policy, recognised by their punctuation outside quoted strings:
 * ADDR_DISPLAY_NAME ('<' or '>'), ADDR_QUOTED_LOCAL (a '"' before the first unquoted '@', or
 * anywhere when there is none), ADDR_COMMENT ('(' or ')'), ADDR_IP_LITERAL (a '[' right after
 * the last unquoted '@'); then ADDR_SPACE; ADDR_NO_AT, ADDR_MANY_AT; ADDR_LOCAL_EMPTY,
 * ADDR_DOMAIN_EMPTY; the local part (length, then dots and characters left to right); the
 * domain (its length; label by label: empty, characters, length, hyphens; for a non-ASCII
 * domain the ASCII labels get those checks, then IDNA, then the A-label form gets them all;
 * then ADDR_DOMAIN_DOTLESS, ADDR_NUMERIC_TLD); last ADDR_TOO_LONG on the normalized address.
 * libidn2's length errors map to ADDR_DOMAIN_TOO_LONG and ADDR_LABEL_TOO_LONG, its others to
 * ADDR_IDN_INVALID. A non-ASCII domain over 4 * 255 octets is ADDR_DOMAIN_TOO_LONG unconverted.
 */
#ifndef MAILSIFT_ADDR_H
#define MAILSIFT_ADDR_H

#include <stddef.h>

#define ADDR_LOCAL_MAX 64    /* RFC 5321 4.5.3.1.1 */
#define ADDR_DOMAIN_MAX 255  /* RFC 5321 4.5.3.1.2 */
#define ADDR_PATH_MAX 254    /* RFC 5321 4.5.3.1.3 path minus the angle brackets */
#define ADDR_LABEL_MAX 63    /* RFC 1035 */

enum addr_problem {
	ADDR_OK = 0,
	ADDR_EMPTY,           /* nothing but blanks (or a bare "mailto:") */
	ADDR_NO_AT,           /* no @ */
	ADDR_MANY_AT,         /* more than one unquoted @ */
	ADDR_LOCAL_EMPTY,     /* nothing before @ */
	ADDR_LOCAL_TOO_LONG,  /* over 64 octets */
	ADDR_LOCAL_DOTS,      /* leading, trailing or consecutive dots */
	ADDR_LOCAL_CHAR,      /* a character not allowed in a dot-atom */
	ADDR_QUOTED_LOCAL,    /* a quoted local part: not accepted (policy) */
	ADDR_DOMAIN_EMPTY,    /* nothing after @ */
	ADDR_DOMAIN_TOO_LONG, /* over 255 octets */
	ADDR_DOMAIN_DOTLESS,  /* a single label */
	ADDR_LABEL_EMPTY,     /* empty label (consecutive or leading dots) */
	ADDR_LABEL_TOO_LONG,  /* a label over 63 octets */
	ADDR_LABEL_CHAR,      /* a character not allowed in an LDH label */
	ADDR_LABEL_HYPHEN,    /* a label starting or ending with a hyphen */
	ADDR_NUMERIC_TLD,     /* the last label is all digits */
	ADDR_IP_LITERAL,      /* [1.2.3.4] domain: not accepted (policy) */
	ADDR_IDN_INVALID,     /* a non-ASCII domain that IDNA2008 does not accept */
	ADDR_TOO_LONG,        /* whole address over 254 octets */
	ADDR_BAD_UTF8,        /* bytes that are not UTF-8 */
	ADDR_SPACE,           /* white space or control characters inside */
	ADDR_DISPLAY_NAME,    /* "Name <a@b>" or angle brackets */
	ADDR_COMMENT,         /* a (comment): not accepted (policy) */
	ADDR_IDN_DISALLOWED   /* a domain with code points IDNA2008 disallows (emoji, symbols) */
};

struct addr {
	char local[ADDR_LOCAL_MAX + 1];   /* local part as given (case kept, after trimming) */
	char domain[ADDR_DOMAIN_MAX + 1]; /* lowercase A-label domain, no trailing dot */
	char address[ADDR_PATH_MAX + 1];  /* local@domain, the normalized address */
	char key[ADDR_PATH_MAX + 1];      /* dedupe key: the normalized address, local part lowercased */
	int utf8_local;                   /* local part has non-ASCII: needs SMTPUTF8 */
};

/* addr_parse - check IN (len bytes, may hold NULs, need not be NUL-terminated) and fill OUT;
 * returns ADDR_OK or the first problem. On a problem every string in OUT is "" and utf8_local 0.
 * No allocation except inside libidn2 for non-ASCII domains (freed before returning). */
enum addr_problem addr_parse(const char *in, size_t len, struct addr *out);

/* addr_problem_text - a short English description, for exports and messages */
const char *addr_problem_text(enum addr_problem p);

#endif
