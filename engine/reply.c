/*
 * reply - assemble SMTP replies line by line and classify them (contract in reply.h).
 *
 * Owns nothing between calls but the caller's struct reply_parser: no I/O, no globals, no
 * allocation. The parser never reads past the LEN bytes it is handed nor writes past the fixed
 * buffers of struct reply, whatever the bytes (NULs, controls, high bytes, over-long lines):
 * every copy goes through reply_append(), which is bounded by the destination's size.
 *
 * The classifier is a pure function of (command, reply). It works in the order DESIGN.md
 * "Verdicts" gives, and each step is a table below with a comment per row saying why:
 *   1. the code class (2xx accepted, 3xx makes no sense for anything we send, 421 closes the
 *      channel on us, 4xx is never "does not exist");
 *   2. per command, the early rules (cmd_code_rules[]) and what a 5xx means (cmd_rules[]);
 *   3. for RCPT, a few phrases that name our side outright (about_us[]) and beat even a
 *      mailbox enhanced code, then the enhanced status code (perm_rules[] / temp_rules[]);
 *   4. the text (text_rules[]), only as far as the enhanced code's row lets it: each row lists
 *      the outcomes a text may still turn the reply into. Policy phrases come before mailbox
 *      phrases, so a reply about us is never read as evidence against the address.
 * A 5xx nothing recognizes is UNKNOWN_PERM, never NO_MAILBOX.
 *
 * Text matching is on the joined text of all lines, ASCII-lowercased, and a phrase matches only
 * where a word starts ("rate limit" matches "rate limited" but "rbl" does not match "herbl").
 */
#include "engine/reply.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define REPLY_CODE_LEN 3        /* "250" */
#define REPLY_STATUS_PART_MAX 3 /* digits in an enhanced code's subject or detail (RFC 3463) */

/* ---- the line parser ---- */

static int reply_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int reply_is_alnum(unsigned char c)
{
	return reply_is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static unsigned char reply_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* reply_append - append N bytes of S to the NUL-terminated DST of SIZE bytes, truncating;
 * NUL and other control bytes become '?' (tab becomes a space) so that texts stay C strings
 * that are safe to log and export. High bytes (UTF-8 from SMTPUTF8 servers) are kept. */
static void reply_append(char *dst, size_t size, const char *s, size_t n)
{
	size_t len = strlen(dst);

	for (size_t i = 0; i < n && len + 1 < size; i++) {
		unsigned char c = (unsigned char)s[i];
		dst[len++] = c == '\t' ? ' ' : (c < 0x20 || c == 0x7F) ? '?' : (char)c;
	}
	dst[len] = '\0';
}

/* reply_status_len - length of an RFC 3463 status code (class.subject.detail, subject and
 * detail 1-3 digits) of class CLS at the start of S (N bytes), followed by the end, a space
 * or a tab; 0 when there is none. Leading zeros are tolerated (RFC 3463 forbids them). */
static size_t reply_status_len(const char *s, size_t n, char cls)
{
	size_t i = 0;

	if (n < 5 || s[0] != cls || s[1] != '.')
		return 0;
	i = 2;
	for (int part = 0; part < 2; part++) {
		size_t start = i;
		while (i < n && reply_is_digit((unsigned char)s[i]) && i - start < REPLY_STATUS_PART_MAX)
			i++;
		if (i == start || (i < n && reply_is_digit((unsigned char)s[i])))
			return 0; /* no digit, or more than three */
		if (part == 0) {
			if (i >= n || s[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < n && s[i] != ' ' && s[i] != '\t')
		return 0;
	return i;
}

/* EHLO keywords we act on (reply.h enum reply_ext), matched case-insensitively on the first
 * word of EHLO reply lines 2.. (RFC 5321 4.1.1.1: line 1 is the greeting). */
static const struct reply_ext_rule {
	const char *keyword;
	unsigned bit;
} reply_exts[] = {
	{"STARTTLS", REPLY_EXT_STARTTLS},     /* RFC 3207: we upgrade opportunistically */
	{"SMTPUTF8", REPLY_EXT_SMTPUTF8},     /* RFC 6531: needed before an RCPT with UTF-8 */
	{"PIPELINING", REPLY_EXT_PIPELINING}, /* RFC 2920 */
	{"8BITMIME", REPLY_EXT_8BITMIME},     /* RFC 6152 */
	{"SIZE", REPLY_EXT_SIZE},             /* RFC 1870; usually followed by the limit */
};

/* reply_ext_bit - the REPLY_EXT_* bit named by the keyword that starts S (N bytes), or 0 */
static unsigned reply_ext_bit(const char *s, size_t n)
{
	size_t i = 0, k = 0;

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	while (i + k < n && s[i + k] != ' ' && s[i + k] != '\t')
		k++;
	for (size_t e = 0; e < sizeof reply_exts / sizeof reply_exts[0]; e++) {
		const char *kw = reply_exts[e].keyword;
		size_t j = 0;
		if (strlen(kw) != k)
			continue;
		while (j < k && reply_lower((unsigned char)s[i + j]) == reply_lower((unsigned char)kw[j]))
			j++;
		if (j == k)
			return reply_exts[e].bit;
	}
	return 0;
}

void reply_parser_init(struct reply_parser *p)
{
	memset(p, 0, sizeof *p);
}

/* reply_refuse - the line is not part of an SMTP reply: forget the reply, keep the line count
 * (the caller tells "too many lines" from garbage by it), be ready for a new reply */
static enum reply_feed reply_refuse(struct reply_parser *p)
{
	memset(&p->r, 0, sizeof p->r);
	p->code = 0;
	return REPLY_BAD;
}

enum reply_feed reply_feed_line(struct reply_parser *p, const char *line, size_t len)
{
	const char *text;
	size_t tlen, slen;
	int code, last;

	if (p->code == 0)
		p->lines = 0; /* a new reply: the previous one (done or refused) is over */
	if (len > REPLY_LINE_MAX)
		len = REPLY_LINE_MAX; /* the caller should have cut it; never trust that */
	if (len > 0 && line[len - 1] == '\r')
		len--; /* a CR left by splitting on LF alone */

	/* RFC 5321 4.2: three digits, then SP (last line), '-' (more follow) or nothing. */
	if (len < REPLY_CODE_LEN || !reply_is_digit((unsigned char)line[0]) ||
	    !reply_is_digit((unsigned char)line[1]) || !reply_is_digit((unsigned char)line[2]))
		return reply_refuse(p);
	if (len > REPLY_CODE_LEN && line[3] != ' ' && line[3] != '-')
		return reply_refuse(p);
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (code < 200 || code > 599)
		return reply_refuse(p); /* 1xx is unused, 6xx+ undefined (RFC 5321 4.2.1) */
	if (p->code == 0) {
		memset(&p->r, 0, sizeof p->r);
		p->code = code;
		p->r.code = code;
	} else if (code != p->code) {
		return reply_refuse(p); /* RFC 5321 4.2.1: every line carries the same code */
	}
	if (++p->lines > REPLY_LINES_MAX)
		return reply_refuse(p);
	last = len == REPLY_CODE_LEN || line[3] == ' ';

	text = line + (len > REPLY_CODE_LEN ? REPLY_CODE_LEN + 1 : len);
	tlen = len > REPLY_CODE_LEN ? len - REPLY_CODE_LEN - 1 : 0;
	if (p->lines >= 2 && code / 100 == 2)
		p->r.ehlo |= reply_ext_bit(text, tlen);

	/* RFC 2034: the enhanced code starts the text of every line; a code of another class
	 * than the reply's is not one (RFC 3463 requires the classes to agree). */
	slen = reply_status_len(text, tlen, (char)('0' + code / 100));
	if (slen > 0 && p->r.enhanced[0] == '\0' && slen < sizeof p->r.enhanced)
		reply_append(p->r.enhanced, sizeof p->r.enhanced, text, slen);
	text += slen, tlen -= slen;
	while (tlen > 0 && (text[0] == ' ' || text[0] == '\t'))
		text++, tlen--;
	while (tlen > 0 && (text[tlen - 1] == ' ' || text[tlen - 1] == '\t'))
		tlen--;

	if (p->lines == 1)
		reply_append(p->r.text, sizeof p->r.text, text, tlen);
	if (tlen > 0) {
		if (p->r.all_text[0] != '\0')
			reply_append(p->r.all_text, sizeof p->r.all_text, " ", 1);
		reply_append(p->r.all_text, sizeof p->r.all_text, text, tlen);
	}
	p->r.lines = p->lines;
	if (!last)
		return REPLY_MORE;
	p->code = 0; /* the next line starts a new reply; p->r stays until then */
	return REPLY_DONE;
}

/* ---- the classifier ---- */

#define OUT(o) (1u << (o))      /* an outcome in a set of outcomes */
#define TEXT_NONE (-1)          /* a phrase that says nothing in this class of reply */
#define ST_NONE (-1)            /* no enhanced status code */
#define ST_ANY (-2)             /* in a rule: any subject or any detail */

/* Outcomes a text may produce in a permanent reply whose enhanced code leaves it open. */
#define TEXT_ANY (OUT(OUTCOME_POLICY) | OUT(OUTCOME_TEMPORARY) | OUT(OUTCOME_NULL_MX) |       \
                  OUT(OUTCOME_DISABLED) | OUT(OUTCOME_FULL) | OUT(OUTCOME_NO_MAILBOX) |        \
                  OUT(OUTCOME_UNSUPPORTED))
#define TEXT_POLICY OUT(OUTCOME_POLICY)
/* ... and in a temporary one: slow down, or (RCPT only) the mailbox is full. */
#define TEXT_DEFER (OUT(OUTCOME_THROTTLED) | OUT(OUTCOME_FULL))

/* Where the classifier says which rule decided (reply_classify_why); NULL buf: not wanted. */
struct why {
	char *buf;
	size_t n;
};

/* why_add - append to W's text (nothing when W is not wanted) */
static void __attribute__((format(printf, 2, 3))) why_add(struct why *w, const char *fmt, ...)
{
	va_list ap;
	size_t used;

	if (w->buf == NULL)
		return;
	used = strlen(w->buf);
	if (used + 1 >= w->n)
		return;
	va_start(ap, fmt);
	vsnprintf(w->buf + used, w->n - used, fmt, ap);
	va_end(ap);
}

/* why_status - "X.3.1" for a rule's subject and detail (ST_ANY as x, ST_NONE as none) */
static void why_status(struct why *w, const char *table, int subject, int detail)
{
	if (subject == ST_NONE)
		why_add(w, ", %s row: no enhanced code", table);
	else if (subject == ST_ANY)
		why_add(w, ", %s row: any enhanced code", table);
	else if (detail == ST_ANY)
		why_add(w, ", %s row: X.%d.x", table, subject);
	else
		why_add(w, ", %s row: X.%d.%d", table, subject, detail);
}

/* An enhanced status code, taken apart. */
struct reply_status {
	int subject;    /* ST_NONE when the reply has no (valid) enhanced code */
	int detail;
};

/* reply_status_of - R's enhanced code, when well formed and of the reply's class */
static struct reply_status reply_status_of(const struct reply *r)
{
	struct reply_status st = {ST_NONE, ST_NONE};
	const char *e = r->enhanced;
	size_t n = strnlen(e, sizeof r->enhanced);
	int v[2] = {0, 0};
	size_t i = 2;

	if (reply_status_len(e, n, (char)('0' + r->code / 100)) != n || n == 0)
		return st;
	for (int part = 0; part < 2; part++, i++)
		for (; i < n && reply_is_digit((unsigned char)e[i]); i++)
			v[part] = v[part] * 10 + (e[i] - '0');
	st.subject = v[0];
	st.detail = v[1];
	return st;
}

/* A row of an enhanced-code table: the first row matching the code decides. */
struct reply_status_rule {
	int subject, detail;        /* ST_NONE, ST_ANY or a number */
	enum reply_outcome outcome; /* unless a text allowed by TEXTS says otherwise */
	unsigned texts;             /* OUT() set of outcomes the text may still give */
};

/* 5xx to RCPT TO (RFC 3463 section 3, DESIGN.md "Verdicts"). */
static const struct reply_status_rule perm_rules[] = {
	/* No enhanced code (or an unregistered subject, below): the text is all there is. */
	{ST_NONE, ST_ANY, OUTCOME_UNKNOWN_PERM, TEXT_ANY},
	/* X.0.x "other or undefined status": says nothing, the text decides. */
	{0, ST_ANY, OUTCOME_UNKNOWN_PERM, TEXT_ANY},
	/* X.1.0 other address status: DESIGN.md counts it as a mailbox code; but Postfix's
	 * reject_unlisted_sender says "5.1.0 <our sender>: Sender address rejected", caught by
	 * about_us[], and any other policy text here is about us too. */
	{1, 0, OUTCOME_NO_MAILBOX, TEXT_POLICY},
	/* X.1.1 bad destination mailbox address: the definition of "does not exist". */
	{1, 1, OUTCOME_NO_MAILBOX, 0},
	/* X.1.2 bad destination system: the host disowns a domain DNS sent us to; that is a
	 * relay refusal or a misconfiguration, not a statement about the mailbox. */
	{1, 2, OUTCOME_UNKNOWN_PERM, TEXT_POLICY},
	/* X.1.3 bad mailbox syntax: our syntax check passed the address, the server differs;
	 * not proof that nobody reads it. */
	{1, 3, OUTCOME_UNKNOWN_PERM, TEXT_POLICY},
	/* X.1.6 mailbox moved, no forwarding address: RFC 3463 "no longer being accepted". */
	{1, 6, OUTCOME_NO_MAILBOX, TEXT_POLICY},
	/* X.1.7 bad sender mailbox syntax, X.1.8 bad sender system: our MAIL FROM. */
	{1, 7, OUTCOME_POLICY, 0},
	{1, 8, OUTCOME_POLICY, 0},
	/* X.1.10 is RFC 7505's "recipient address has null MX", but Exchange Online answers
	 * "5.1.10 RESOLVER.ADR.RecipientNotFound" for unknown users: null MX only when the reply
	 * says so (or is a 556, see reply_classify_rcpt), else the mailbox is not there. */
	{1, 10, OUTCOME_NO_MAILBOX, OUT(OUTCOME_NULL_MX)},
	/* X.1.4 ambiguous, X.1.5 valid(!), X.1.9 relayed: nothing about existence. */
	{1, ST_ANY, OUTCOME_UNKNOWN_PERM, TEXT_POLICY},
	/* X.2.0: RFC 3463 "the mailbox exists, but...": never no-mailbox; the text may say why. */
	{2, 0, OUTCOME_UNKNOWN_PERM, OUT(OUTCOME_POLICY) | OUT(OUTCOME_DISABLED) | OUT(OUTCOME_FULL)},
	/* X.2.1 mailbox disabled, X.2.2 mailbox full. */
	{2, 1, OUTCOME_DISABLED, 0},
	{2, 2, OUTCOME_FULL, 0},
	/* X.2.3 message too long, X.2.4 list expansion: the mailbox exists; odd at RCPT. */
	{2, ST_ANY, OUTCOME_UNKNOWN_PERM, TEXT_POLICY},
	/* X.3.x mail system, X.4.x network/routing: the server's trouble. This includes
	 * Exchange Online's "5.4.1 Recipient address rejected: Access denied" (directory based
	 * edge blocking): it usually means no such recipient, but tenants also send it for
	 * mailboxes their directory sync has not reached, and the code does not say mailbox. */
	{3, ST_ANY, OUTCOME_UNKNOWN_PERM, TEXT_POLICY},
	{4, ST_ANY, OUTCOME_UNKNOWN_PERM, TEXT_POLICY},
	/* X.5.0 other protocol status: Outlook.com's "550 5.5.0 Requested action not taken:
	 * mailbox unavailable" is its no-such-user reply, so the text decides. */
	{5, 0, OUTCOME_UNKNOWN_PERM, TEXT_ANY},
	/* X.5.3 too many recipients: RFC 5321 4.5.3.1.10 asks clients to treat it as temporary. */
	{5, 3, OUTCOME_TEMPORARY, 0},
	/* X.5.x otherwise: the server could not take the command as we sent it. */
	{5, ST_ANY, OUTCOME_UNSUPPORTED, TEXT_POLICY},
	/* X.6.x at RCPT can only be about addresses' encoding (X.6.7 non-ASCII not permitted,
	 * RFC 6531; X.6.8/X.6.9 downgrade): the server cannot take what we asked. */
	{6, ST_ANY, OUTCOME_UNSUPPORTED, TEXT_POLICY},
	/* X.7.x security or policy: about us (DESIGN.md), whatever the text says. */
	{7, ST_ANY, OUTCOME_POLICY, 0},
	/* Unregistered subject: as good as no code. */
	{ST_ANY, ST_ANY, OUTCOME_UNKNOWN_PERM, TEXT_ANY},
};

/* 4xx other than 421, for every command that has a 4xx worth reading. */
static const struct reply_status_rule temp_rules[] = {
	/* No code: "try again later" unless the text says we go too fast (or, RCPT, full). */
	{ST_NONE, ST_ANY, OUTCOME_TEMPORARY, TEXT_DEFER},
	/* X.2.2 mailbox full (RCPT only; reply_classify_temp demotes it elsewhere). */
	{2, 2, OUTCOME_FULL, 0},
	/* X.1.x address, X.2.x mailbox (4.2.0 greylisting by postgrey, Gmail's 4.2.1 "receiving
	 * mail at a rate": the recipient's rate, not ours), X.4.x routing, X.5.x protocol (4.5.3
	 * too many recipients: retry in another transaction), X.6.x content: plain deferrals. */
	{1, ST_ANY, OUTCOME_TEMPORARY, 0},
	{2, ST_ANY, OUTCOME_TEMPORARY, 0},
	{4, ST_ANY, OUTCOME_TEMPORARY, 0},
	{5, ST_ANY, OUTCOME_TEMPORARY, 0},
	{6, ST_ANY, OUTCOME_TEMPORARY, 0},
	/* X.0.x, X.3.x system, X.7.x policy: throttled when the text says we go too fast
	 * ("4.7.1 Error: too much mail from", "4.7.650 ... rate limited"); plain temporary for
	 * "server busy, try again later", greylisting, lookup failures. */
	{0, ST_ANY, OUTCOME_TEMPORARY, TEXT_DEFER},
	{3, ST_ANY, OUTCOME_TEMPORARY, OUT(OUTCOME_THROTTLED)},
	{7, ST_ANY, OUTCOME_TEMPORARY, OUT(OUTCOME_THROTTLED)},
	{ST_ANY, ST_ANY, OUTCOME_TEMPORARY, TEXT_DEFER},
};

/* reply_status_rule_find - the first rule of TAB (N rows) that matches ST */
static const struct reply_status_rule *reply_status_rule_find(const struct reply_status_rule *tab,
                                                              size_t n, struct reply_status st)
{
	for (size_t i = 0; i < n; i++)
		if ((tab[i].subject == ST_ANY || tab[i].subject == st.subject) &&
		    (tab[i].detail == ST_ANY || tab[i].detail == st.detail))
			return &tab[i];
	assert(!"status tables end with a catch-all row");
	return &tab[n - 1];
}

/* reply_has_phrase - PHRASE (lowercase) occurs in TEXT (lowercased) where a word starts */
static int reply_has_phrase(const char *text, const char *phrase)
{
	for (const char *p = text; (p = strstr(p, phrase)) != NULL; p++)
		if (p == text || !reply_is_alnum((unsigned char)p[-1]))
			return 1;
	return 0;
}

/* reply_ipv4_at - length of a dotted-quad IPv4 address at S (not inside a longer number) */
static size_t reply_ipv4_at(const char *s)
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		int v = 0, digits = 0;
		if (part > 0) {
			if (s[i] != '.')
				return 0;
			i++;
		}
		while (reply_is_digit((unsigned char)s[i]) && digits < 4)
			v = v * 10 + (s[i++] - '0'), digits++;
		if (digits == 0 || digits > 3 || v > 255)
			return 0;
	}
	if (reply_is_digit((unsigned char)s[i]) || (s[i] == '.' && reply_is_digit((unsigned char)s[i + 1])))
		return 0;
	return i;
}

/* Words that, next to an IPv4 address, make a reply a refusal of that address: ours. */
static const char *const reply_refusal_words[] = {
	"reject", "refuse", "denied", "deny", "banned", "not allowed", "not accepted",
};

/* reply_ip_refusal - TEXT names an IPv4 address and refuses something: "[192.0.2.1]
 * blocked", "connections from 192.0.2.1 rejected" are about our address, not the mailbox */
static int reply_ip_refusal(const char *text)
{
	int ip = 0;

	for (size_t i = 0; text[i] != '\0' && !ip; i++)
		if ((i == 0 || (!reply_is_digit((unsigned char)text[i - 1]) && text[i - 1] != '.')) &&
		    reply_ipv4_at(text + i) > 0)
			ip = 1;
	if (!ip)
		return 0;
	for (size_t w = 0; w < sizeof reply_refusal_words / sizeof reply_refusal_words[0]; w++)
		if (reply_has_phrase(text, reply_refusal_words[w]))
			return 1;
	return 0;
}

/* A phrase and what it means in a permanent (5xx) and in a temporary (4xx) reply. The first
 * row that matches and whose outcome the enhanced code's row allows wins, so order matters:
 * the transaction limit, then our pace, then everything about us, and only then the mailbox. */
static const struct reply_text_rule {
	const char *phrase;          /* lowercase, matched where a word starts; NULL: use TEST */
	int (*test)(const char *);   /* a test on the lowercased text */
	int perm;                    /* outcome in a 5xx, TEXT_NONE when it says nothing there */
	int temp;                    /* outcome in a 4xx, TEXT_NONE when it says nothing there */
} text_rules[] = {
	/* web.de's full mailbox: "User has too many messages on the server", before "too many". */
	{"too many messages on", NULL, OUTCOME_FULL, OUTCOME_FULL},
	/* Postfix anvil's recipient rate from our IP ("4.7.1 Error: too many recipients from
	 * [192.0.2.1]"), before the per-transaction limit below. */
	{"too many recipients from", NULL, OUTCOME_POLICY, OUTCOME_THROTTLED},
	/* Per-transaction recipient limit: RFC 5321 4.5.3.1.10, even as 552: retry later. */
	{"too many recipients", NULL, OUTCOME_TEMPORARY, TEXT_NONE},
	/* Our pace: connections, messages, rates (4xx: slow down; 5xx: a refusal of us). */
	{"too many connections", NULL, OUTCOME_POLICY, OUTCOME_THROTTLED},
	{"too many concurrent", NULL, OUTCOME_POLICY, OUTCOME_THROTTLED},
	{"too many simultaneous", NULL, OUTCOME_POLICY, OUTCOME_THROTTLED},
	{"too many sessions", NULL, OUTCOME_POLICY, OUTCOME_THROTTLED},
	{"too many messages", NULL, OUTCOME_POLICY, OUTCOME_THROTTLED},
	{"too much mail", NULL, OUTCOME_POLICY, OUTCOME_THROTTLED},
	{"connection rate", NULL, OUTCOME_POLICY, OUTCOME_THROTTLED},
	{"connection limit", NULL, OUTCOME_POLICY, OUTCOME_THROTTLED},
	{"rate limit", NULL, OUTCOME_POLICY, OUTCOME_THROTTLED},
	{"rate-limit", NULL, OUTCOME_POLICY, OUTCOME_THROTTLED},
	{"ratelimit", NULL, OUTCOME_POLICY, OUTCOME_THROTTLED},
	{"sending rate", NULL, OUTCOME_POLICY, OUTCOME_THROTTLED},
	{"message rate", NULL, OUTCOME_POLICY, OUTCOME_THROTTLED},
	{"unusual rate", NULL, OUTCOME_POLICY, OUTCOME_THROTTLED},
	{"unexpected volume", NULL, OUTCOME_POLICY, OUTCOME_THROTTLED},
	{"excessive volume", NULL, OUTCOME_POLICY, OUTCOME_THROTTLED},
	{"throttl", NULL, OUTCOME_POLICY, OUTCOME_THROTTLED},
	{"slow down", NULL, OUTCOME_POLICY, OUTCOME_THROTTLED},
	{"too fast", NULL, OUTCOME_POLICY, OUTCOME_THROTTLED},
	{"sending quota", NULL, OUTCOME_POLICY, OUTCOME_THROTTLED}, /* ours, not the mailbox's */
	{"sending limit", NULL, OUTCOME_POLICY, OUTCOME_THROTTLED},
	/* About us: blocklists, reputation, content verdicts, our IP, names, sender, auth. In a
	 * 4xx they change nothing (a deferral is a deferral); in a 5xx they are policy. */
	{"too many", NULL, OUTCOME_POLICY, TEXT_NONE},       /* errors, invalid recipients */
	{"spam", NULL, OUTCOME_POLICY, TEXT_NONE},           /* spam, spamhaus, spamcop */
	{"block", NULL, OUTCOME_POLICY, TEXT_NONE},          /* blocked, blocklist, block list */
	{"blacklist", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"black list", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"black-list", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"denylist", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"dnsbl", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"rbl", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"is listed", NULL, OUTCOME_POLICY, TEXT_NONE},      /* "... is listed at/in/on <list>" */
	{"reputation", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"policy", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"policies", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"prohibit", NULL, OUTCOME_POLICY, TEXT_NONE},       /* Exim's "Administrative prohibition" */
	{"unsolicited", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"junk", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"banned", NULL, OUTCOME_POLICY, TEXT_NONE},
	/* Relaying refused: the host does not take this domain from us; no word on the mailbox.
	 * Never the bare word "relay": Postfix says "User unknown in relay recipient table". */
	{"relay access denied", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"relaying denied", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"relay denied", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"relay not permitted", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"relaying not permitted", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"not permitted to relay", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"unable to relay", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"relaying disallowed", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"relaying not allowed", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"relay prohibited", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"open relay", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"rcpthosts", NULL, OUTCOME_POLICY, TEXT_NONE},      /* qmail's relay refusal */
	/* Our IP's name, our HELO, our sender and its domain's DNS, authentication. */
	{"rdns", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"reverse dns", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"reverse hostname", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"reverse lookup", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"ptr", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"helo", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"ehlo", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"sender", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"spf", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"dmarc", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"dkim", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"invalid dns", NULL, OUTCOME_POLICY, TEXT_NONE},    /* GMX: our sender domain's MX/A */
	{"client host", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"client ip", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"your ip", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"your host", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"your server", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"your mail server", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"your network", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"your domain", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"your account", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"authentication required", NULL, OUTCOME_POLICY, TEXT_NONE},
	{"unauthenticated", NULL, OUTCOME_POLICY, TEXT_NONE},
	{NULL, reply_ip_refusal, OUTCOME_POLICY, TEXT_NONE}, /* "[192.0.2.1] ... rejected" */
	/* The domain takes no mail (RFC 7505; Postfix: "does not accept mail (nullMX)"). */
	{"null mx", NULL, OUTCOME_NULL_MX, TEXT_NONE},
	{"nullmx", NULL, OUTCOME_NULL_MX, TEXT_NONE},
	/* The mailbox exists but takes nothing (before "no such" phrases: Yahoo's "This account
	 * has been disabled or discontinued"). */
	{"account disabled", NULL, OUTCOME_DISABLED, TEXT_NONE},
	{"account is disabled", NULL, OUTCOME_DISABLED, TEXT_NONE},
	{"account has been disabled", NULL, OUTCOME_DISABLED, TEXT_NONE},
	{"mailbox disabled", NULL, OUTCOME_DISABLED, TEXT_NONE},
	{"mailbox is disabled", NULL, OUTCOME_DISABLED, TEXT_NONE},
	{"mailbox has been disabled", NULL, OUTCOME_DISABLED, TEXT_NONE},
	{"user disabled", NULL, OUTCOME_DISABLED, TEXT_NONE},
	{"deactivated", NULL, OUTCOME_DISABLED, TEXT_NONE},
	{"inactive", NULL, OUTCOME_DISABLED, TEXT_NONE},
	{"suspended", NULL, OUTCOME_DISABLED, TEXT_NONE},
	{"account closed", NULL, OUTCOME_DISABLED, TEXT_NONE},
	{"discontinued", NULL, OUTCOME_DISABLED, TEXT_NONE},
	/* Full (risky, not invalid); in a 4xx to RCPT too, but only where it names the mailbox:
	 * a temporary "storage" is as likely the server's disk ("insufficient system storage"). */
	{"mailbox full", NULL, OUTCOME_FULL, OUTCOME_FULL},
	{"mailbox is full", NULL, OUTCOME_FULL, OUTCOME_FULL},
	{"inbox is full", NULL, OUTCOME_FULL, OUTCOME_FULL},
	{"mailbox size limit", NULL, OUTCOME_FULL, OUTCOME_FULL},
	{"over quota", NULL, OUTCOME_FULL, OUTCOME_FULL},
	{"quota", NULL, OUTCOME_FULL, OUTCOME_FULL},
	{"exceeded storage", NULL, OUTCOME_FULL, TEXT_NONE},        /* RFC 5321's 552 text */
	{"out of storage", NULL, OUTCOME_FULL, TEXT_NONE},
	{"storage space", NULL, OUTCOME_FULL, TEXT_NONE},
	/* The mailbox does not exist (DESIGN.md: "a plain 550 whose text says so"). */
	{"user unknown", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},
	{"unknown user", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},
	{"user is unknown", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},
	{"user not known", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},
	{"user not found", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},
	{"user doesn't have", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE}, /* Yahoo */
	{"not have an account", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},
	{"no such user", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},
	{"no such mailbox", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},
	{"no such recipient", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},
	{"no such account", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},
	{"no such address", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},
	{"no such person", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},
	{"no mailbox", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},       /* qmail "no mailbox here by that name" */
	{"mailbox unavailable", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},
	{"mailbox not found", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},
	{"mailbox unknown", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},
	{"unknown mailbox", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},
	{"not exist", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},        /* "does not exist", "is not exist" */
	{"doesn't exist", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},
	{"nonexistent", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},
	{"non-existent", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},
	{"no longer exist", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},   /* never bare "no longer": */
	{"no longer active", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},  /* "no longer accepts mail for */
	{"no longer in use", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},  /* <domain>" is no mailbox word */
	{"no longer available", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},
	{"no longer valid", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},
	{"unknown recipient", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},
	{"recipient unknown", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},
	{"recipient not found", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},
	{"invalid recipient", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},
	{"invalid mailbox", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},
	{"not a valid mailbox", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},
	{"not a valid recipient", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},
	{"addressee unknown", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},
	{"unknown local part", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},
	{"unknown or illegal alias", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},
	{"unrouteable address", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE}, /* Exim, for local domains */
	{"unroutable address", NULL, OUTCOME_NO_MAILBOX, TEXT_NONE},
	/* The server wants SMTPUTF8 for this address (RFC 6531) and we did not or could not. */
	{"smtputf8", NULL, OUTCOME_UNSUPPORTED, TEXT_NONE},
};

/* Phrases that name our side outright. In a 5xx to RCPT they win over every enhanced code,
 * even 5.1.1: Postfix reports its client/HELO/sender restrictions at RCPT time
 * (smtpd_delay_reject), and reject_unlisted_sender says "5.1.0 <our sender>: Sender address
 * rejected: User unknown"; Exim's sender callout quotes the other server's "5.1.1 User
 * unknown" about our sender; Zoho says "552 5.1.1 ... Mailbox delivery failure policy error". */
static const char *const about_us[] = {
	"sender address rejected",
	"client host rejected",
	"helo command rejected",
	"sender verif",         /* Exim "Sender verify failed", "sender verification" */
	"policy",
	"policies",
};

/* reply_text_outcome - the first text rule matching TEXT (lowercased) whose outcome for this
 * class of reply (PERM or not) is in ALLOWED, or TEXT_NONE */
static int reply_text_outcome(const char *text, int perm, unsigned allowed, struct why *w)
{
	for (size_t i = 0; i < sizeof text_rules / sizeof text_rules[0]; i++) {
		const struct reply_text_rule *t = &text_rules[i];
		int o = perm ? t->perm : t->temp;
		if (o == TEXT_NONE || !(allowed & OUT(o)))
			continue;
		if (t->phrase != NULL ? reply_has_phrase(text, t->phrase) : t->test(text)) {
			why_add(w, ", text rule \"%s\"", t->phrase ? t->phrase : "an IP address refused");
			return o;
		}
	}
	return TEXT_NONE;
}

/* Early rules for a 5xx, by command and reply code or enhanced code, before anything else. */
#define CMD(c) (1u << (c))
#define CMDS_ALL_BUT_BANNER (CMD(CMD_EHLO) | CMD(CMD_HELO) | CMD(CMD_STARTTLS) | CMD(CMD_MAIL) | \
                             CMD(CMD_RCPT) | CMD(CMD_RSET) | CMD(CMD_QUIT))
static const struct reply_code_rule {
	unsigned cmds;              /* CMD() set the rule applies to */
	int code;                   /* reply code, 0: any */
	int subject, detail;        /* enhanced code, ST_ANY: any */
	enum reply_outcome outcome;
} cmd_code_rules[] = {
	/* 503 bad sequence of commands: our state machine's fault, not the address's. */
	{CMDS_ALL_BUT_BANNER, 503, ST_ANY, ST_ANY, OUTCOME_PROTOCOL},
	/* 555 MAIL/RCPT parameters not recognized (RFC 5321 4.2.3): we asked too much. */
	{CMD(CMD_MAIL) | CMD(CMD_RCPT), 555, ST_ANY, ST_ANY, OUTCOME_UNSUPPORTED},
	/* MAIL FROM refused for its arguments (X.5.4) or a non-ASCII sender (X.6.7, RFC 6531):
	 * a capability problem, not a verdict on us. */
	{CMD(CMD_MAIL), 0, 5, 4, OUTCOME_UNSUPPORTED},
	{CMD(CMD_MAIL), 0, 6, 7, OUTCOME_UNSUPPORTED},
	/* A 521 (RFC 7504) or 556 (RFC 7505) greeting: the host takes mail from nobody. */
	{CMD(CMD_BANNER), 521, ST_ANY, ST_ANY, OUTCOME_UNKNOWN_PERM},
	{CMD(CMD_BANNER), 556, ST_ANY, ST_ANY, OUTCOME_UNKNOWN_PERM},
};

/* What each command makes of a 4xx and of a 5xx, when no finer rule applies. */
#define BY_RULES (-1)   /* temp_rules[] / the RCPT rules decide */
static const struct reply_cmd_rule {
	int temp;           /* outcome of a 4xx (other than 421), or BY_RULES */
	int perm;           /* outcome of a 5xx, or BY_RULES */
} cmd_rules[] = {
	/* A 5xx greeting refuses the session, i.e. us (DESIGN.md). */
	[CMD_BANNER] = {BY_RULES, OUTCOME_POLICY},
	/* RFC 5321 4.1.4: a server that refuses EHLO gets HELO. */
	[CMD_EHLO] = {BY_RULES, OUTCOME_UNSUPPORTED},
	/* HELO is mandatory (RFC 5321 4.5.1): refusing it refuses our name. */
	[CMD_HELO] = {BY_RULES, OUTCOME_POLICY},
	/* RFC 3207: without TLS the session goes on in plain text. */
	[CMD_STARTTLS] = {BY_RULES, OUTCOME_UNSUPPORTED},
	/* The sender was refused: about us. */
	[CMD_MAIL] = {BY_RULES, OUTCOME_POLICY},
	[CMD_RCPT] = {BY_RULES, BY_RULES},
	/* Anything but 2xx to RSET or QUIT makes no sense. */
	[CMD_RSET] = {OUTCOME_PROTOCOL, OUTCOME_PROTOCOL},
	[CMD_QUIT] = {OUTCOME_PROTOCOL, OUTCOME_PROTOCOL},
};

/* reply_lowered - ASCII-lowercase copy of R's joined text into BUF (REPLY_LINE_MAX bytes) */
static void reply_lowered(const struct reply *r, char *buf)
{
	size_t i;

	for (i = 0; i + 1 < REPLY_LINE_MAX && r->all_text[i] != '\0'; i++)
		buf[i] = (char)reply_lower((unsigned char)r->all_text[i]);
	buf[i] = '\0';
}

/* reply_classify_temp - a 4xx other than 421 */
static enum reply_outcome reply_classify_temp(enum reply_cmd cmd, struct reply_status st,
                                              const char *text, struct why *w)
{
	const struct reply_status_rule *rule =
	        reply_status_rule_find(temp_rules, sizeof temp_rules / sizeof temp_rules[0], st);
	unsigned allowed = rule->texts;
	int o;

	why_status(w, "temp_rules", rule->subject, rule->detail);
	if (cmd != CMD_RCPT)
		allowed &= ~OUT(OUTCOME_FULL); /* a full mailbox is a recipient's */
	o = reply_text_outcome(text, 0, allowed, w);
	if (o == TEXT_NONE)
		o = (int)rule->outcome;
	if (o == OUTCOME_FULL && cmd != CMD_RCPT)
		o = OUTCOME_TEMPORARY;
	return (enum reply_outcome)o;
}

/* reply_classify_rcpt - a 5xx to RCPT TO */
static enum reply_outcome reply_classify_rcpt(int code, struct reply_status st, const char *text,
                                              struct why *w)
{
	const struct reply_status_rule *rule;
	int o;

	for (size_t i = 0; i < sizeof about_us / sizeof about_us[0]; i++)
		if (reply_has_phrase(text, about_us[i])) {
			why_add(w, ", about_us \"%s\"", about_us[i]);
			return OUTCOME_POLICY;
		}
	/* RFC 7505 3: 556 is "domain does not accept mail", with X.1.10 or no enhanced code. */
	if (code == 556 && (st.subject == ST_NONE || (st.subject == 1 && st.detail == 10))) {
		why_add(w, ", 556 null MX (RFC 7505)");
		return OUTCOME_NULL_MX;
	}
	rule = reply_status_rule_find(perm_rules, sizeof perm_rules / sizeof perm_rules[0], st);
	why_status(w, "perm_rules", rule->subject, rule->detail);
	o = reply_text_outcome(text, 1, rule->texts, w);
	return o != TEXT_NONE ? (enum reply_outcome)o : rule->outcome;
}

/* too_many_rcpts - a RCPT reply saying the transaction holds as many recipients as the server
 * takes (RFC 5321 4.5.3.1.10): 452 (or 451, or the older 552) with X.5.3, or 452 / 552 saying
 * "too many recipients" without one. "Too many recipients from <ip>" is a rate limit on us. */
static int too_many_rcpts(int code, struct reply_status st, const char *text)
{
	if (code != 451 && code != 452 && code != 552)
		return 0;
	if (st.subject == 5 && st.detail == 3)
		return 1;
	return code != 451 && st.subject == ST_NONE && strstr(text, "too many recipients") != NULL &&
	       strstr(text, "too many recipients from") == NULL;
}

static const char *const reply_cmd_names[] = {
	[CMD_BANNER] = "banner", [CMD_EHLO] = "EHLO", [CMD_HELO] = "HELO",
	[CMD_STARTTLS] = "STARTTLS", [CMD_MAIL] = "MAIL FROM", [CMD_RCPT] = "RCPT TO",
	[CMD_RSET] = "RSET", [CMD_QUIT] = "QUIT",
};

/* classify - reply_classify, saying in W which rule decided */
static enum reply_outcome classify(enum reply_cmd cmd, const struct reply *r, struct why *w)
{
	char text[REPLY_LINE_MAX];
	struct reply_status st;

	assert((size_t)cmd < sizeof cmd_rules / sizeof cmd_rules[0]);
	why_add(w, "%d to %s", r->code, reply_cmd_names[cmd]);
	if (r->code < 200 || r->code > 599) {
		why_add(w, ": not a reply code");
		return OUTCOME_PROTOCOL; /* not a reply the parser would produce */
	}
	if (r->code / 100 == 2)
		return OUTCOME_ACCEPTED; /* for every command */
	if (r->code / 100 == 3) {
		why_add(w, ": 3xx answers only DATA / AUTH");
		return OUTCOME_PROTOCOL; /* 3xx only answers DATA/AUTH, which we never send */
	}
	if (r->code == 421) {
		why_add(w, ": 421 closes the channel (RFC 5321)");
		return OUTCOME_THROTTLED; /* RFC 5321: closing the channel, to any command: back off */
	}

	st = reply_status_of(r);
	reply_lowered(r, text);
	if (cmd == CMD_RCPT && too_many_rcpts(r->code, st, text)) {
		why_add(w, ": the transaction's recipient limit (RFC 5321 4.5.3.1.10)");
		return OUTCOME_TOO_MANY_RCPTS;
	}
	if (r->code / 100 == 4) {
		if (cmd_rules[cmd].temp == BY_RULES)
			return reply_classify_temp(cmd, st, text, w);
		why_add(w, ": cmd_rules, any 4xx");
		return (enum reply_outcome)cmd_rules[cmd].temp;
	}

	for (size_t i = 0; i < sizeof cmd_code_rules / sizeof cmd_code_rules[0]; i++) {
		const struct reply_code_rule *c = &cmd_code_rules[i];
		if ((c->cmds & CMD(cmd)) && (c->code == 0 || c->code == r->code) &&
		    (c->subject == ST_ANY || c->subject == st.subject) &&
		    (c->detail == ST_ANY || c->detail == st.detail)) {
			why_add(w, ": cmd_code_rules row %zu", i + 1);
			return c->outcome;
		}
	}
	if (cmd_rules[cmd].perm == BY_RULES)
		return reply_classify_rcpt(r->code, st, text, w);
	why_add(w, ": cmd_rules, any 5xx");
	return (enum reply_outcome)cmd_rules[cmd].perm;
}

enum reply_outcome reply_classify(enum reply_cmd cmd, const struct reply *r)
{
	struct why none = {NULL, 0};

	return classify(cmd, r, &none);
}

enum reply_outcome reply_classify_why(enum reply_cmd cmd, const struct reply *r, char *why,
                                      size_t n)
{
	struct why w = {why, n};
	enum reply_outcome o;

	if (n == 0)
		w.buf = NULL;
	else
		why[0] = '\0';
	o = classify(cmd, r, &w);
	why_add(&w, " -> %s", reply_outcome_name(o));
	return o;
}

static const char *const reply_outcome_names[] = {
	[OUTCOME_ACCEPTED] = "accepted",
	[OUTCOME_NO_MAILBOX] = "no_mailbox",
	[OUTCOME_DISABLED] = "disabled",
	[OUTCOME_FULL] = "full",
	[OUTCOME_NULL_MX] = "null_mx",
	[OUTCOME_TEMPORARY] = "temporary",
	[OUTCOME_THROTTLED] = "throttled",
	[OUTCOME_POLICY] = "policy",
	[OUTCOME_UNSUPPORTED] = "unsupported",
	[OUTCOME_PROTOCOL] = "protocol",
	[OUTCOME_UNKNOWN_PERM] = "unknown_perm",
	[OUTCOME_TOO_MANY_RCPTS] = "too_many_rcpts",
};

const char *reply_outcome_name(enum reply_outcome o)
{
	if ((size_t)o >= sizeof reply_outcome_names / sizeof reply_outcome_names[0] ||
	    reply_outcome_names[o] == NULL)
		return "invalid";
	return reply_outcome_names[o];
}
