/*
 * suggest - "did you mean" for typo domains (gmial.com -> gmail.com, yahoo.co -> yahoo.com).
 *
 * Owns three small tables and the rules that use them, in the spirit of mailcheck:
 *  1. the input against popular mail domains (suggest_popular[]): the provider name (the first
 *     label) may be one edit off and the suffix (the rest) one edit off, two edits in all;
 *  2. otherwise, the input's own parts: a TLD that does not exist is fixed to a popular TLD one
 *     edit away (mycompany.cmo -> mycompany.com), and a name one edit away from a provider with
 *     domains in many countries is fixed under its public suffix (hotmial.fr -> hotmail.fr).
 * The distance is optimal string alignment (Damerau-Levenshtein without repeated edits of one
 * substring): a transposition (gmial, cmo) costs one edit, as the typist's slip does.
 * Guards against false positives, each with its reason at the constant or function below: short
 * names are never edited, an edited name keeps its first letter, a country domain is never moved
 * to another country (gmx.at, web.se and yahoo.co.jp are real), and a TLD is only fixed when it
 * does not exist (mycompany.co stays). "Does it exist" comes from libpsl's built-in public suffix
 * table, which is static data compiled into libpsl.
 * gmail.de gets no suggestion, on purpose: .de is a real TLD three edits from .com, Google never
 * ran mail there (its German addresses were googlemail.com), and a rule that moved a provider's
 * name to another TLD would rewrite real domains too (hotmail.de, yahoo.ca, gmx.at). If gmail.de
 * takes no mail, the verdict says so.
 *
 * Pure: no I/O, no state, no allocation; never writes more than OUTLEN bytes.
 */
#include "importers/suggest.h"

#include <libpsl.h>
#include <string.h>

#define SUGGEST_DOMAIN_MAX 255   /* RFC 5321 4.5.3.1.2; longer input gets no suggestion */
/* Names shorter than this (aol, gmx, msn, me, web, live) are never edited: one edit to a three
 * or four letter name makes another real domain (aok.com, gmc.com, wdr.de, lice.com). */
#define SUGGEST_NAME_SHORT 5
/* Edits allowed in a longer name. One: two already reach real providers and companies
 * (prontomail.com is not protonmail.com, hotmart.com is not hotmail.com), and the typist's
 * slips (gmial, gmai, outlok, iclod, hitmail) are one edit. */
#define SUGGEST_NAME_EDITS 1
/* The suffix may be one edit off (con, cmo, co for com), never more: two edits reach real
 * country domains of the same provider (yahoo.co.jp vs yahoo.co.uk, live.ca vs live.com). */
#define SUGGEST_SUFFIX_EDITS 1
/* Name and suffix edits together: more than two and the input is a different domain. */
#define SUGGEST_TOTAL_EDITS 2
/* A TLD shorter than this is not fixed: one letter is one edit from a dozen TLDs. */
#define SUGGEST_TLD_MIN 2

/* Popular mail domains, most used first: on a tie, the first wins. */
static const char *const suggest_popular[] = {
	"gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "aol.com", "icloud.com",
	"live.com", "msn.com", "googlemail.com", "me.com", "mac.com",
	"rocketmail.com", "comcast.net", "verizon.net", "att.net", "sbcglobal.net",
	"bellsouth.net", "charter.net", "cox.net", "yahoo.co.uk", "hotmail.co.uk", "live.co.uk",
	"btinternet.com", "yahoo.fr", "hotmail.fr", "orange.fr", "free.fr", "wanadoo.fr",
	"laposte.net", "sfr.fr", "gmx.de", "gmx.net", "gmx.com", "web.de", "t-online.de",
	"yahoo.de", "hotmail.de", "libero.it", "yahoo.it", "hotmail.it", "yahoo.es", "hotmail.es",
	"yahoo.co.jp", "yahoo.ca", "yahoo.com.br", "uol.com.br", "bol.com.br", "yandex.ru",
	"mail.ru", "mail.com", "protonmail.com", "proton.me", "zoho.com",
	"qq.com", "163.com", "126.com", "naver.com",
};

/* Provider names with domains in many countries: a typo of the name is fixed under any
 * public suffix (hotmial.be -> hotmail.be). gmail is not here: its only domain is gmail.com,
 * which the popular table covers, and gmail.<country> domains belong to others. */
static const char *const suggest_names[] = {
	"yahoo", "hotmail", "outlook",
};

/* TLDs a nonexistent TLD may be fixed to, most used first (on a tie, the first wins). */
static const char *const suggest_tlds[] = {
	"com", "net", "org", "edu", "gov", "info", "biz", "io", "co", "us", "uk", "de", "fr",
	"it", "es", "nl", "be", "ch", "at", "se", "no", "dk", "fi", "ie", "pt", "pl", "ru", "ca",
	"au", "nz", "br", "mx", "ar", "in", "jp", "cn",
};

#define SUGGEST_NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* suggest_osa - optimal string alignment distance of A (AN bytes) and B (BN bytes), or MAX + 1
 * when it is more than MAX. Three rows on the stack: B may be at most SUGGEST_DOMAIN_MAX. */
static size_t suggest_osa(const char *a, size_t an, const char *b, size_t bn, size_t max)
{
	size_t rows[3][SUGGEST_DOMAIN_MAX + 1];
	size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];

	if ((an > bn ? an - bn : bn - an) > max || bn > SUGGEST_DOMAIN_MAX)
		return max + 1;
	for (size_t j = 0; j <= bn; j++)
		prev[j] = j;
	for (size_t i = 1; i <= an; i++) {
		size_t rowmin;

		cur[0] = i;
		rowmin = cur[0];
		for (size_t j = 1; j <= bn; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t d = prev[j - 1] + cost;

			if (prev[j] + 1 < d)
				d = prev[j] + 1;
			if (cur[j - 1] + 1 < d)
				d = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    prev2[j - 2] + 1 < d)
				d = prev2[j - 2] + 1;
			cur[j] = d;
			if (d < rowmin)
				rowmin = d;
		}
		if (rowmin > max)
			return max + 1;
		{
			size_t *t = prev2;

			prev2 = prev;
			prev = cur;
			cur = t;
		}
	}
	return prev[bn] > max ? max + 1 : prev[bn];
}

/* suggest_name_edits - edits allowed in a provider name of LEN letters */
static size_t suggest_name_edits(size_t len)
{
	return len >= SUGGEST_NAME_SHORT ? SUGGEST_NAME_EDITS : 0;
}

/* suggest_first_ok - an edited name must keep its first letter (or swap the first two):
 * typists rarely miss the first key, and other first letters make other words (email, wahoo) */
static int suggest_first_ok(const char *a, size_t an, const char *b, size_t bn)
{
	if (an == 0 || bn == 0)
		return 0;
	return a[0] == b[0] || (an > 1 && bn > 1 && a[0] == b[1] && a[1] == b[0]);
}

/* suggest_psl - libpsl's built-in table (static data, a pointer to it handed out each call), or
 * NULL when libpsl was built without one */
static const psl_ctx_t *suggest_psl(void)
{
	return psl_builtin();
}

/* suggest_is_suffix - 1 when S (LEN bytes, at most SUGGEST_DOMAIN_MAX) is an ICANN public suffix
 * (a TLD or a registry's second level such as co.uk); without libpsl's table, when it is in
 * suggest_tlds[] */
static int suggest_is_suffix(const char *s, size_t len)
{
	const psl_ctx_t *psl = suggest_psl();
	char buf[SUGGEST_DOMAIN_MAX + 1];

	if (len == 0 || len > SUGGEST_DOMAIN_MAX)
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (psl != NULL)
		return psl_is_public_suffix2(psl, buf, PSL_TYPE_ICANN | PSL_TYPE_NO_STAR_RULE) != 0;
	for (size_t i = 0; i < SUGGEST_NELEM(suggest_tlds); i++)
		if (strcmp(buf, suggest_tlds[i]) == 0)
			return 1;
	return 0;
}

/* suggest_tld_exists - 1 when the last label of S (LEN bytes) is a real TLD: S or one of its
 * parents is a public suffix (za is not listed on its own, co.za is) */
static int suggest_tld_exists(const char *s, size_t len)
{
	for (const char *p = s, *end = s + len; p < end;) {
		const char *dot;

		if (suggest_is_suffix(p, (size_t)(end - p)))
			return 1;
		dot = memchr(p, '.', (size_t)(end - p));
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	return 0;
}

/* suggest_last_label - the last label of S (LEN bytes); its length in *OUTLEN */
static const char *suggest_last_label(const char *s, size_t len, size_t *outlen)
{
	size_t i = len;

	while (i > 0 && s[i - 1] != '.')
		i--;
	*outlen = len - i;
	return s + i;
}

/* suggest_country_swap - 1 when moving suffix A to suffix B swaps one real two-letter country
 * TLD for another (gmx.at -> gmx.de, web.se -> web.de): providers hold domains in many
 * countries, so that is a real domain, not a typo */
static int suggest_country_swap(const char *a, size_t an, const char *b, size_t bn)
{
	size_t al, bl;
	const char *at = suggest_last_label(a, an, &al);
	const char *bt = suggest_last_label(b, bn, &bl);

	return al == 2 && bl == 2 && memcmp(at, bt, 2) != 0 && suggest_tld_exists(a, an) &&
	       suggest_tld_exists(b, bn);
}

/* suggest_put - write the parts into OUT (OUTLEN bytes) as NAME.SUFFIX; 0 when it does not fit */
static int suggest_put(char *out, size_t outlen, const char *name, size_t nlen, const char *suf,
		       size_t slen)
{
	if (nlen + 1 + slen + 1 > outlen)
		return 0;
	memcpy(out, name, nlen);
	out[nlen] = '.';
	memcpy(out + nlen + 1, suf, slen);
	out[nlen + 1 + slen] = '\0';
	return 1;
}

/* suggest_check - copy DOMAIN lowercased, without a trailing dot, into BUF; its length, or 0
 * when it is not an LDH domain of at least two nonempty labels (nothing to suggest for) */
static size_t suggest_check(const char *domain, char *buf)
{
	size_t len = strlen(domain);
	int dots = 0;

	if (len > 0 && domain[len - 1] == '.')
		len--;
	if (len == 0 || len > SUGGEST_DOMAIN_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)domain[i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (c == '.') {
			if (i == 0 || buf[i - 1] == '.')
				return 0;
			dots++;
		} else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
			return 0;
		}
		buf[i] = (char)c;
	}
	buf[len] = '\0';
	return dots > 0 && buf[len - 1] != '.' ? len : 0;
}

/* suggest_from_popular - rule 1: the closest popular domain to the domain with name N (NN
 * bytes) and suffix S (SN bytes), or NULL */
static const char *suggest_from_popular(const char *n, size_t nn, const char *s, size_t sn)
{
	const char *best = NULL;
	size_t best_edits = SUGGEST_TOTAL_EDITS + 1;

	for (size_t i = 0; i < SUGGEST_NELEM(suggest_popular); i++) {
		const char *c = suggest_popular[i];
		const char *cdot = strchr(c, '.');
		size_t cn = (size_t)(cdot - c), cs = strlen(cdot + 1);
		size_t nmax = suggest_name_edits(cn);
		size_t ne, se;

		ne = suggest_osa(n, nn, c, cn, nmax);
		if (ne > nmax || (ne > 0 && !suggest_first_ok(n, nn, c, cn)))
			continue;
		se = suggest_osa(s, sn, cdot + 1, cs, SUGGEST_SUFFIX_EDITS);
		if (se > SUGGEST_SUFFIX_EDITS || ne + se > SUGGEST_TOTAL_EDITS || ne + se == 0)
			continue;
		if (se > 0 && suggest_country_swap(s, sn, cdot + 1, cs))
			continue;
		if (ne + se < best_edits) {
			best = c;
			best_edits = ne + se;
		}
	}
	return best;
}

/* suggest_from_parts - rule 2 for D, whose name is its first NN bytes and whose suffix is S
 * (SN bytes): fix its TLD when that does not exist, and its name when it is a typo of a
 * many-country provider under a real public suffix; 1 with the result in OUT */
static int suggest_from_parts(const char *d, size_t nn, const char *s, size_t sn, char *out,
			      size_t outlen)
{
	char suf[SUGGEST_DOMAIN_MAX + 1];  /* the suffix, its TLD fixed */
	size_t sufn = sn, tl, edits = 0;
	const char *tld = suggest_last_label(s, sn, &tl);
	const char *name = d;
	size_t namen = nn;

	memcpy(suf, s, sn);
	suf[sn] = '\0';
	/* a TLD that does not exist: only with libpsl's table can we tell (without it, any TLD
	 * missing from suggest_tlds[] would look like a typo) */
	if (suggest_psl() != NULL && tl >= SUGGEST_TLD_MIN && !suggest_tld_exists(s, sn)) {
		const char *fix = NULL;

		for (size_t i = 0; i < SUGGEST_NELEM(suggest_tlds) && fix == NULL; i++)
			if (suggest_osa(tld, tl, suggest_tlds[i], strlen(suggest_tlds[i]),
					SUGGEST_SUFFIX_EDITS) <= SUGGEST_SUFFIX_EDITS)
				fix = suggest_tlds[i];
		if (fix != NULL) {
			size_t keep = sn - tl, fl = strlen(fix);

			if (keep + fl > SUGGEST_DOMAIN_MAX)
				return 0;
			memcpy(suf + keep, fix, fl);
			sufn = keep + fl;
			suf[sufn] = '\0';
			edits++;
		}
	}
	/* the name, only when what follows it is a public suffix (hotmial.fr, not
	 * hotmial.mycompany.com) under a country TLD or com, where these providers' domains are
	 * (not hotmail.store) */
	tld = suggest_last_label(suf, sufn, &tl);
	if (suggest_is_suffix(suf, sufn) && (tl == 2 || (tl == 3 && memcmp(tld, "com", 3) == 0))) {
		for (size_t i = 0; i < SUGGEST_NELEM(suggest_names); i++) {
			const char *c = suggest_names[i];
			size_t cn = strlen(c), nmax = suggest_name_edits(cn);
			size_t ne = suggest_osa(d, nn, c, cn, nmax);

			if (ne > 0 && ne <= nmax && edits + ne <= SUGGEST_TOTAL_EDITS &&
			    suggest_first_ok(d, nn, c, cn)) {
				name = c;
				namen = cn;
				edits += ne;
				break;
			}
		}
	}
	if (edits == 0 || !suggest_put(out, outlen, name, namen, suf, sufn))
		return 0;
	return strcmp(out, d) != 0;
}

int suggest_domain(const char *domain, char *out, size_t outlen)
{
	char d[SUGGEST_DOMAIN_MAX + 1];
	size_t len, nn;
	const char *dot, *best;

	if (out == NULL || outlen == 0)
		return 0;
	out[0] = '\0';
	if (domain == NULL || (len = suggest_check(domain, d)) == 0)
		return 0;
	for (size_t i = 0; i < SUGGEST_NELEM(suggest_popular); i++)
		if (strcmp(d, suggest_popular[i]) == 0)
			return 0;
	dot = strchr(d, '.');
	nn = (size_t)(dot - d);
	best = suggest_from_popular(d, nn, dot + 1, len - nn - 1);
	if (best != NULL) {
		size_t bl = strlen(best);

		if (bl + 1 > outlen)
			return 0;
		memcpy(out, best, bl + 1);
		return 1;
	}
	if (suggest_from_parts(d, nn, dot + 1, len - nn - 1, out, outlen))
		return 1;
	out[0] = '\0';
	return 0;
}
