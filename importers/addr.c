/*
 * addr - mailbox syntax and normalization for one address cell (contract in addr.h).
 *
 * Owns nothing between calls: addr_parse is a pure function of its input bytes, writes only the
 * caller's struct addr, and keeps no state. It never does I/O, never allocates for ASCII input
 * (libidn2 allocates, and we free, only for a domain with non-ASCII bytes) and never reads or
 * writes past the input length or the output buffers, whatever bytes it is given: every copy is
 * preceded by a length check against the ADDR_*_MAX limits.
 *
 * The input is examined in three passes, each linear: trim and strip "mailto:", one scan that
 * validates UTF-8 and notes the structural marks (unquoted @, quotes, angle brackets, parentheses,
 * white space), then the local part and the domain on their own.
 */
#include "importers/addr.h"

#include <idn2.h>
#include <string.h>

#define UTF8_SEQ_MAX 4          /* octets in the longest UTF-8 sequence */
#define CP_MAX 0x10FFFFUL       /* the last Unicode code point */
#define CP_SURROGATE_LO 0xD800UL /* UTF-16 surrogates are not characters */
#define CP_SURROGATE_HI 0xDFFFUL

/* Longest non-ASCII domain handed to libidn2. A code point is at most four UTF-8 octets and
 * becomes at least one A-label octet, so anything longer cannot fit in ADDR_DOMAIN_MAX (code
 * points that IDNA maps to nothing, such as soft hyphens, aside: a domain padded with hundreds of
 * them is reported too long, which it is). Also bounds the stack copy made for libidn2. */
#define ADDR_IDN_INPUT_MAX (UTF8_SEQ_MAX * ADDR_DOMAIN_MAX)

static const char addr_mailto[] = "mailto:"; /* URI scheme stripped from the front (RFC 6068) */
#define ADDR_MAILTO_LEN (sizeof addr_mailto - 1)

static const char addr_atext_specials[] = "!#$%&'*+-/=?^_`{|}~"; /* RFC 5322 3.2.3 */

static const char *const addr_texts[] = {
	[ADDR_OK] = "valid address",
	[ADDR_EMPTY] = "empty",
	[ADDR_NO_AT] = "no @ sign",
	[ADDR_MANY_AT] = "more than one @ sign",
	[ADDR_LOCAL_EMPTY] = "nothing before the @",
	[ADDR_LOCAL_TOO_LONG] = "local part longer than 64 octets",
	[ADDR_LOCAL_DOTS] = "local part has a leading, trailing or doubled dot",
	[ADDR_LOCAL_CHAR] = "character not allowed in the local part",
	[ADDR_QUOTED_LOCAL] = "quoted local part not accepted",
	[ADDR_DOMAIN_EMPTY] = "nothing after the @",
	[ADDR_DOMAIN_TOO_LONG] = "domain longer than 255 octets",
	[ADDR_DOMAIN_DOTLESS] = "domain has no dot",
	[ADDR_LABEL_EMPTY] = "domain has an empty label (leading or doubled dot)",
	[ADDR_LABEL_TOO_LONG] = "domain label longer than 63 octets",
	[ADDR_LABEL_CHAR] = "character not allowed in a domain name",
	[ADDR_LABEL_HYPHEN] = "domain label starts or ends with a hyphen",
	[ADDR_NUMERIC_TLD] = "top-level domain is all digits",
	[ADDR_IP_LITERAL] = "IP address literal not accepted",
	[ADDR_IDN_INVALID] = "international domain name not valid under IDNA2008",
	[ADDR_TOO_LONG] = "address longer than 254 octets",
	[ADDR_BAD_UTF8] = "not valid UTF-8",
	[ADDR_SPACE] = "white space or control character inside",
	[ADDR_DISPLAY_NAME] = "display name or angle brackets",
	[ADDR_COMMENT] = "comment in parentheses not accepted",
	[ADDR_IDN_DISALLOWED] = "domain has characters IDNA2008 disallows (emoji or symbols; only IDNA2003 took them)",
};

/* What the structural scan found; positions are offsets into the trimmed input. */
struct addr_scan {
	size_t at_count;   /* @ signs outside quoted strings */
	size_t first_at;   /* offset of the first of them */
	size_t last_at;    /* offset of the last of them */
	int quote_local;   /* a '"' before the first unquoted @ */
	int angle;         /* '<' or '>' outside quoted strings */
	int paren;         /* '(' or ')' outside quoted strings */
	int space;         /* white space, control or invisible format character anywhere */
};

/* utf8_decode - length (1-4) of the well-formed UTF-8 sequence at p (n > 0 bytes) and its code
 * point in *cp; 0 when ill-formed (overlong, surrogate, above U+10FFFF, truncated) */
static size_t utf8_decode(const unsigned char *p, size_t n, unsigned long *cp)
{
	unsigned long c = p[0], min;
	size_t len, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2, min = 0x80, c &= 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3, min = 0x800, c &= 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4, min = 0x10000, c &= 0x07;
	} else {
		return 0; /* a continuation byte, C0/C1 (always overlong) or F5-FF */
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3F);
	}
	if (c < min || c > CP_MAX || (c >= CP_SURROGATE_LO && c <= CP_SURROGATE_HI))
		return 0;
	*cp = c;
	return len;
}

/* is_blank - white space (Unicode White_Space) or an invisible format character that
 * spreadsheets and web pages leave around cells: trimmed at the ends, refused inside */
static int is_blank(unsigned long cp)
{
	switch (cp) {
	case ' ': case '\t': case '\n': case '\v': case '\f': case '\r':
	case 0x85:   /* next line */
	case 0xA0:   /* no-break space */
	case 0x1680: /* ogham space mark */
	case 0x180E: /* mongolian vowel separator */
	case 0x2028: /* line separator */
	case 0x2029: /* paragraph separator */
	case 0x202F: /* narrow no-break space */
	case 0x205F: /* medium mathematical space */
	case 0x3000: /* ideographic space */
	case 0xFEFF: /* zero-width no-break space, the byte order mark */
		return 1;
	}
	return (cp >= 0x2000 && cp <= 0x200B) || /* en quad .. zero-width space */
	       cp == 0x200E || cp == 0x200F ||     /* left-to-right / right-to-left marks */
	       (cp >= 0x202A && cp <= 0x202E) ||   /* bidi embeddings and overrides */
	       (cp >= 0x2060 && cp <= 0x2064) ||   /* word joiner, invisible operators */
	       (cp >= 0x2066 && cp <= 0x2069);     /* bidi isolates */
}

/* is_control - C0 and C1 controls and DEL: never part of an address */
static int is_control(unsigned long cp)
{
	return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

/* blank_prefix - length of the blank character at the start of p (n bytes), 0 if none */
static size_t blank_prefix(const unsigned char *p, size_t n)
{
	unsigned long cp;
	size_t k = utf8_decode(p, n, &cp);

	return k > 0 && is_blank(cp) ? k : 0;
}

/* blank_suffix - length of the blank character at the end of p (n bytes), 0 if none */
static size_t blank_suffix(const unsigned char *p, size_t n)
{
	unsigned long cp;
	size_t k;

	for (k = 1; k <= UTF8_SEQ_MAX && k <= n; k++) {
		if ((p[n - k] & 0xC0) == 0x80)
			continue; /* a continuation byte: the sequence starts further back */
		if (utf8_decode(p + n - k, k, &cp) == k && is_blank(cp))
			return k;
		return 0;
	}
	return 0;
}

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static unsigned char to_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* is_atext - an RFC 5322 atext character (ASCII only; UTF-8 is handled by the caller) */
static int is_atext(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || (c != '\0' && strchr(addr_atext_specials, c) != NULL);
}

/* is_ldh - a letter, digit or hyphen (RFC 1035 preferred name syntax, RFC 5890 LDH label) */
static int is_ldh(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || c == '-';
}

/* scan_structure - one pass over the trimmed input: UTF-8 validity and structural marks */
static enum addr_problem scan_structure(const unsigned char *s, size_t n, struct addr_scan *sc)
{
	int in_quote = 0, escaped = 0;
	size_t i = 0, k;
	unsigned long cp;

	memset(sc, 0, sizeof *sc);
	while (i < n) {
		k = utf8_decode(s + i, n - i, &cp);
		if (k == 0)
			return ADDR_BAD_UTF8;
		if (is_blank(cp) || is_control(cp))
			sc->space = 1;
		if (in_quote) {
			if (escaped)
				escaped = 0;
			else if (cp == '\\')
				escaped = 1;
			else if (cp == '"')
				in_quote = 0;
		} else {
			switch (cp) {
			case '"':
				in_quote = 1;
				if (sc->at_count == 0)
					sc->quote_local = 1;
				break;
			case '@':
				if (sc->at_count++ == 0)
					sc->first_at = i;
				sc->last_at = i;
				break;
			case '<': case '>':
				sc->angle = 1;
				break;
			case '(': case ')':
				sc->paren = 1;
				break;
			}
		}
		i += k;
	}
	return ADDR_OK;
}

/* check_local - a dot-atom of atext and (RFC 6531) non-ASCII UTF-8, already validated */
static enum addr_problem check_local(const unsigned char *s, size_t n, int *utf8)
{
	size_t i;

	*utf8 = 0;
	if (n > ADDR_LOCAL_MAX)
		return ADDR_LOCAL_TOO_LONG;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (i == 0 || s[i - 1] == '.')
				return ADDR_LOCAL_DOTS;
		} else if (s[i] >= 0x80) {
			*utf8 = 1;
		} else if (!is_atext(s[i])) {
			return ADDR_LOCAL_CHAR;
		}
	}
	return s[n - 1] == '.' ? ADDR_LOCAL_DOTS : ADDR_OK;
}

/* check_label - one LDH label; with skip_nonascii, a label holding non-ASCII bytes is left
 * for IDNA to judge */
static enum addr_problem check_label(const unsigned char *s, size_t n, int skip_nonascii)
{
	size_t i;

	if (n == 0)
		return ADDR_LABEL_EMPTY;
	if (skip_nonascii) {
		for (i = 0; i < n; i++)
			if (s[i] >= 0x80)
				return ADDR_OK;
	}
	for (i = 0; i < n; i++)
		if (!is_ldh(s[i]))
			return ADDR_LABEL_CHAR;
	if (n > ADDR_LABEL_MAX)
		return ADDR_LABEL_TOO_LONG;
	if (s[0] == '-' || s[n - 1] == '-')
		return ADDR_LABEL_HYPHEN;
	return ADDR_OK;
}

/* check_labels - every dot-separated label of s (n bytes); the number of labels in *count and
 * the offset of the last one in *last */
static enum addr_problem check_labels(const unsigned char *s, size_t n, int skip_nonascii,
                                      size_t *count, size_t *last)
{
	size_t start = 0, i;
	enum addr_problem p;

	*count = 0;
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		p = check_label(s + start, i - start, skip_nonascii);
		if (p != ADDR_OK)
			return p;
		*last = start;
		(*count)++;
		start = i + 1;
	}
	return ADDR_OK;
}

/* check_ldh_domain - a lowercase ASCII domain of n <= ADDR_DOMAIN_MAX octets: LDH labels, at
 * least two of them, a TLD that is not all digits */
static enum addr_problem check_ldh_domain(const unsigned char *s, size_t n)
{
	size_t count, last, i;
	enum addr_problem p;

	p = check_labels(s, n, 0, &count, &last);
	if (p != ADDR_OK)
		return p;
	if (count < 2)
		return ADDR_DOMAIN_DOTLESS;
	for (i = last; i < n; i++)
		if (!is_digit(s[i]))
			return ADDR_OK;
	return ADDR_NUMERIC_TLD;
}

/* idn_problem - the addr problem for a libidn2 error */
static enum addr_problem idn_problem(int rc)
{
	switch (rc) {
	case IDN2_TOO_BIG_DOMAIN:
		return ADDR_DOMAIN_TOO_LONG;
	case IDN2_TOO_BIG_LABEL:
	case IDN2_PUNYCODE_BIG_OUTPUT:
		return ADDR_LABEL_TOO_LONG;
	case IDN2_DISALLOWED:
		return ADDR_IDN_DISALLOWED;
	default:
		return ADDR_IDN_INVALID;
	}
}

/* idn_to_ascii - the A-label form of the NUL-terminated U-label domain u, allocated by libidn2
 * (the caller frees it with idn2_free), or NULL and a problem. IDNA2008 (non-transitional UTS 46
 * processing) first; when that refuses, transitional processing may map the input (dropping a
 * stray zero-width joiner, say), but what it produces must then pass IDNA2008 too: libidn2's
 * transitional mode lets through symbols and emoji that IDNA2008 disallows (IDNA2003 names). */
static char *idn_to_ascii(const char *u, enum addr_problem *problem)
{
	char *a = NULL, *t = NULL;
	int rc, rc_nt;

	rc_nt = idn2_to_ascii_8z(u, &a, IDN2_NONTRANSITIONAL);
	if (rc_nt == IDN2_OK)
		return a;
	a = NULL;
	rc = idn2_to_ascii_8z(u, &t, IDN2_TRANSITIONAL);
	if (rc == IDN2_OK) {
		rc = idn2_to_ascii_8z(t, &a, IDN2_NONTRANSITIONAL);
		idn2_free(t);
		if (rc == IDN2_OK)
			return a;
		a = NULL;
	}
	*problem = idn_problem(rc_nt);
	return NULL;
}

/* normalize_domain - check the domain s (n bytes, trailing dot already removed) and write its
 * lowercase A-label form to out (ADDR_DOMAIN_MAX + 1 bytes), its length to *outlen */
static enum addr_problem normalize_domain(const unsigned char *s, size_t n, int dot_removed,
                                          char *out, size_t *outlen)
{
	char u[ADDR_IDN_INPUT_MAX + 1];
	enum addr_problem p = ADDR_OK;
	size_t i, count, last, alen;
	int nonascii = 0;
	char *a;

	*outlen = 0;
	for (i = 0; i < n && !nonascii; i++)
		nonascii = s[i] >= 0x80;
	if (!nonascii) {
		if (n > ADDR_DOMAIN_MAX)
			return ADDR_DOMAIN_TOO_LONG;
		for (i = 0; i < n; i++)
			out[i] = (char)to_lower(s[i]);
		out[n] = '\0';
		*outlen = n;
		return check_ldh_domain((const unsigned char *)out, n);
	}

	/* U-labels. ASCII labels beside them get the same verdict as in an ASCII domain. */
	if (n > ADDR_IDN_INPUT_MAX)
		return ADDR_DOMAIN_TOO_LONG;
	p = check_labels(s, n, 1, &count, &last);
	if (p != ADDR_OK)
		return p;
	memcpy(u, s, n);
	u[n] = '\0';
	a = idn_to_ascii(u, &p);
	if (a == NULL)
		return p;
	alen = strlen(a);
	/* A trailing full stop written as U+3002 or U+FF0E comes back as '.': drop it once. */
	if (!dot_removed && alen > 0 && a[alen - 1] == '.')
		alen--;
	if (alen > ADDR_DOMAIN_MAX) {
		idn2_free(a);
		return ADDR_DOMAIN_TOO_LONG;
	}
	for (i = 0; i < alen; i++)
		out[i] = (char)to_lower((unsigned char)a[i]);
	out[alen] = '\0';
	idn2_free(a);
	*outlen = alen;
	return check_ldh_domain((const unsigned char *)out, alen);
}

/* parse - addr_parse without the clearing of OUT on failure */
static enum addr_problem parse(const unsigned char *s, size_t n, struct addr *out)
{
	struct addr_scan sc;
	enum addr_problem p;
	const unsigned char *local, *domain;
	size_t local_len, domain_len, dlen, k, i;
	int dot_removed = 0, utf8;

	/* Trim blanks at both ends, then a "mailto:" scheme. */
	while (n > 0 && (k = blank_prefix(s, n)) > 0) {
		s += k;
		n -= k;
	}
	while (n > 0 && (k = blank_suffix(s, n)) > 0)
		n -= k;
	if (n >= ADDR_MAILTO_LEN) {
		for (i = 0; i < ADDR_MAILTO_LEN && to_lower(s[i]) == (unsigned char)addr_mailto[i]; i++)
			;
		if (i == ADDR_MAILTO_LEN) {
			s += ADDR_MAILTO_LEN;
			n -= ADDR_MAILTO_LEN;
		}
	}
	if (n == 0)
		return ADDR_EMPTY;

	/* Whole-input problems, in the order documented in addr.h. */
	p = scan_structure(s, n, &sc);
	if (p != ADDR_OK)
		return p;
	if (sc.angle)
		return ADDR_DISPLAY_NAME;
	if (sc.quote_local)
		return ADDR_QUOTED_LOCAL;
	if (sc.paren)
		return ADDR_COMMENT;
	if (sc.at_count > 0 && sc.last_at + 1 < n && s[sc.last_at + 1] == '[')
		return ADDR_IP_LITERAL;
	if (sc.space)
		return ADDR_SPACE;
	if (sc.at_count == 0)
		return ADDR_NO_AT;
	if (sc.at_count > 1)
		return ADDR_MANY_AT;

	local = s;
	local_len = sc.first_at;
	domain = s + sc.first_at + 1;
	domain_len = n - sc.first_at - 1;
	if (domain_len > 0 && domain[domain_len - 1] == '.') {
		domain_len--;
		dot_removed = 1;
	}
	if (local_len == 0)
		return ADDR_LOCAL_EMPTY;
	if (domain_len == 0)
		return ADDR_DOMAIN_EMPTY;

	p = check_local(local, local_len, &utf8);
	if (p != ADDR_OK)
		return p;
	p = normalize_domain(domain, domain_len, dot_removed, out->domain, &dlen);
	if (p != ADDR_OK)
		return p;
	if (local_len + 1 + dlen > ADDR_PATH_MAX)
		return ADDR_TOO_LONG;

	memcpy(out->local, local, local_len);
	out->local[local_len] = '\0';
	memcpy(out->address, local, local_len);
	out->address[local_len] = '@';
	memcpy(out->address + local_len + 1, out->domain, dlen + 1);
	for (i = 0; i < local_len; i++)
		out->key[i] = (char)to_lower(local[i]);
	memcpy(out->key + local_len, out->address + local_len, dlen + 2);
	out->utf8_local = utf8;
	return ADDR_OK;
}

enum addr_problem addr_parse(const char *in, size_t len, struct addr *out)
{
	enum addr_problem p;

	if (in == NULL)
		len = 0;
	p = parse((const unsigned char *)(in != NULL ? in : ""), len, out);
	if (p != ADDR_OK) {
		out->local[0] = '\0';
		out->domain[0] = '\0';
		out->address[0] = '\0';
		out->key[0] = '\0';
		out->utf8_local = 0;
	}
	return p;
}

const char *addr_problem_text(enum addr_problem p)
{
	if ((size_t)p >= sizeof addr_texts / sizeof addr_texts[0] || addr_texts[p] == NULL)
		return "unknown problem";
	return addr_texts[p];
}
