/*
 * doctor - the checks of engine/doctor.h that DNS answers: the public address, reverse DNS, the
 * HELO name, blocklists, SPF and the sender's domain, the resolver; and the report.
 */
#include "engine/doctor.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/err.h"
#include "common/ipaddr.h"
#include "engine/lookup.h"
#include "engine/netaddr.h"
#include "engine/spf.h"
#include "importers/flags.h"
#include "schema/verdict.h"

/* ---------------------------------------------------------------- the report */

struct doctor_check *doctor_add(struct doctor_report *rep, const char *name,
                                const char *subject, enum doctor_level level)
{
	struct doctor_check *c;

	if (rep->n == rep->cap) {
		size_t cap = rep->cap ? rep->cap * 2 : 16;
		struct doctor_check *grown = realloc(rep->checks, cap * sizeof *grown);

		if (grown == NULL) {
			fprintf(stderr, "mailsift: doctor: out of memory\n");
			abort();
		}
		rep->checks = grown;
		rep->cap = cap;
	}
	c = &rep->checks[rep->n++];
	memset(c, 0, sizeof *c);
	snprintf(c->name, sizeof c->name, "%s", name);
	snprintf(c->subject, sizeof c->subject, "%s", subject);
	c->level = level;
	return c;
}

void doctor_evidence(struct doctor_check *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->evidence, sizeof c->evidence, fmt, ap);
	va_end(ap);
}

void doctor_advice(struct doctor_check *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->advice, sizeof c->advice, fmt, ap);
	va_end(ap);
}

void doctor_report_free(struct doctor_report *rep)
{
	free(rep->checks);
	memset(rep, 0, sizeof *rep);
}

size_t doctor_count(const struct doctor_report *rep, enum doctor_level level)
{
	size_t n = 0;

	for (size_t i = 0; i < rep->n; i++)
		n += rep->checks[i].level == level;
	return n;
}

const char *doctor_level_name(enum doctor_level level)
{
	return level == DOCTOR_PASS ? "PASS" : level == DOCTOR_WARN ? "WARN" : "FAIL";
}

/* ---------------------------------------------------------------- helpers */

/* canonical - address text TEXT in its one canonical spelling into BUF; -1 when not one */
static int canonical(const char *text, char *buf, size_t n)
{
	struct sockaddr_storage ss;

	if (ipaddr_parse(text, AF_UNSPEC, &ss, NULL) != 0)
		return -1;
	ipaddr_text((struct sockaddr *)&ss, buf, n);
	return 0;
}

/* answer_has - 1 when one of ANS's records is TEXT (addresses compared as addresses) */
static int answer_has(const struct lookup_answer *ans, const char *text)
{
	char a[IPADDR_TEXT_MAX], b[IPADDR_TEXT_MAX];
	int is_addr = canonical(text, a, sizeof a) == 0;

	for (size_t i = 0; i < ans->n; i++)
		if (strcmp(ans->rec[i], text) == 0 ||
		    (is_addr && canonical(ans->rec[i], b, sizeof b) == 0 && strcmp(a, b) == 0))
			return 1;
	return 0;
}

/* records_text - ANS's records as "a, b, c" (or why there are none) into BUF */
static const char *records_text(const struct lookup_answer *ans, char *buf, size_t n)
{
	size_t used = 0;

	buf[0] = '\0';
	if (ans->n == 0) {
		snprintf(buf, n, "%s", ans->why ? ans->why : "no answer");
		return buf;
	}
	for (size_t i = 0; i < ans->n && used < n; i++) {
		int k = snprintf(buf + used, n - used, "%s%s", i ? ", " : "", ans->rec[i]);

		if (k < 0)
			break;
		used += (size_t)k;
	}
	return buf;
}

/* addresses_text - the records of A4 and A6 (NAME's addresses) as text into BUF */
static const char *addresses_text(const struct lookup_answer *a4, const struct lookup_answer *a6,
                                  char *buf, size_t n)
{
	char t4[256], t6[256];

	if (a4->n == 0 && a6->n == 0)
		snprintf(buf, n, "no address (%s)", a4->why ? a4->why : "no answer");
	else if (a6->n == 0)
		snprintf(buf, n, "%s", records_text(a4, t4, sizeof t4));
	else if (a4->n == 0)
		snprintf(buf, n, "%s", records_text(a6, t6, sizeof t6));
	else
		snprintf(buf, n, "%s, %s", records_text(a4, t4, sizeof t4),
		         records_text(a6, t6, sizeof t6));
	return buf;
}

/* ask_addresses - NAME's A and AAAA into A4, A6, waited for */
static void ask_addresses(struct lookup *l, const char *name, struct lookup_answer *a4,
                          struct lookup_answer *a6)
{
	lookup_ask(l, name, LOOKUP_A, a4);
	lookup_ask(l, name, LOOKUP_AAAA, a6);
	lookup_wait(l);
}

/* reverse - SUBJECT's reverse name under SUFFIX (NULL: the arpa tree) into BUF; -1 */
static int reverse(const char *subject, const char *suffix, char *buf, size_t n)
{
	struct sockaddr_storage ss;

	if (ipaddr_parse(subject, AF_UNSPEC, &ss, NULL) != 0)
		return -1;
	return lookup_reverse_name((struct sockaddr *)&ss, suffix, buf, n);
}

/* ---------------------------------------------------------------- the resolver */

/* Milliseconds an answer may take on average before the resolver is called slow. */
#define DOCTOR_SLOW_MS 1000

static void check_resolver(const struct doctor_options *o, struct lookup *l,
                           struct doctor_report *rep)
{
	const char *at = strrchr(o->pc->mail_from, '@');
	struct lookup_answer mx, sec;
	struct doctor_check *c;
	const char *dnssec = "unknown";

	lookup_ask(l, at ? at + 1 : o->pc->helo, LOOKUP_MX, &mx);
	lookup_ask(l, DOCTOR_DNSSEC_BROKEN, LOOKUP_A, &sec);
	lookup_wait(l);
	if (sec.meaning == DNS_MEANS_TEMPORARY && sec.why && strcmp(sec.why, "SERVFAIL") == 0)
		dnssec = "validating (" DOCTOR_DNSSEC_BROKEN " gives SERVFAIL)";
	else if (sec.meaning == DNS_MEANS_OK)
		dnssec = "not validating (" DOCTOR_DNSSEC_BROKEN " answers)";
	if (mx.meaning == DNS_MEANS_TEMPORARY && sec.meaning == DNS_MEANS_TEMPORARY &&
	    strcmp(dnssec, "unknown") == 0) {
		c = doctor_add(rep, "resolver", lookup_servers(l), DOCTOR_FAIL);
		doctor_evidence(c, "no answer (%s)", mx.why ? mx.why : "?");
		doctor_advice(c, "check --resolver (or /etc/resolv.conf): without DNS every verdict "
		              "is unknown");
		return;
	}
	c = doctor_add(rep, "resolver", lookup_servers(l),
	               mx.ms + sec.ms > 2 * DOCTOR_SLOW_MS ? DOCTOR_WARN : DOCTOR_PASS);
	doctor_evidence(c, "answers in %.0f ms on average; DNSSEC: %s", (mx.ms + sec.ms) / 2,
	                dnssec);
	doctor_advice(c, c->level == DOCTOR_PASS ? "nothing to do"
	                                         : "a slow resolver slows every run: use one nearer "
	                                           "(a local unbound or dnsmasq)");
}

/* ---------------------------------------------------------------- the public address */

struct subjects {                   /* the addresses the world sees us as: checked below */
	size_t n;
	char addr[DOCTOR_MAX_SUBJECTS][IPADDR_TEXT_MAX];
};

static void subject_add(struct subjects *s, const char *addr)
{
	char canon[IPADDR_TEXT_MAX];

	if (canonical(addr, canon, sizeof canon) != 0)
		return;
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->addr[i], canon) == 0)
			return;
	if (s->n < DOCTOR_MAX_SUBJECTS)
		snprintf(s->addr[s->n++], sizeof s->addr[0], "%s", canon);
}

/* local_address - the address this host would send from to SERVER (a UDP socket connected,
 * which sends nothing, then asked its name) into BUF; -1 when there is no route */
static int local_address(const char *server, char *buf, size_t n)
{
	struct sockaddr_storage ss, me;
	socklen_t len, melen = sizeof me;
	int fd, rc = -1;

	char host[IPADDR_TEXT_MAX + 2];

	/* SERVER as --resolver takes it: ADDR, ADDR:PORT or [ADDR]:PORT */
	snprintf(host, sizeof host, "%.*s", (int)strcspn(server + (server[0] == '['),
	                                                   strchr(server, '.') ? ":" : "]"),
	         server + (server[0] == '['));
	if (ipaddr_parse(host, AF_UNSPEC, &ss, &len) != 0)
		return -1;
	((struct sockaddr_in *)(void *)&ss)->sin_port = htons(53);   /* the same place in both */
	if ((fd = socket(ss.ss_family, SOCK_DGRAM, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, len) == 0 &&
	    getsockname(fd, (struct sockaddr *)&me, &melen) == 0) {
		ipaddr_text((struct sockaddr *)&me, buf, n);
		rc = 0;
	}
	close(fd);
	return rc;
}

/* whoami_answer - the address in ANS (an A record, or a TXT whose first word is one) */
static int whoami_answer(const struct lookup_answer *ans, char *buf, size_t n)
{
	for (size_t i = 0; i < ans->n; i++) {
		char word[64];

		if (sscanf(ans->rec[i], "%63s", word) == 1 && canonical(word, buf, n) == 0)
			return 0;
	}
	return -1;
}

/* whoami - ask the whoami name (NAME[@SERVER]) for our address: into SEEN ("" when no answer),
 * how it was asked into HOW */
static void whoami(const struct doctor_options *o, struct lookup *l, char *seen, size_t n,
                   char *how, size_t hown, const char **server)
{
	static char spec[300];
	struct lookup_answer a, t;
	struct lookup *ask = l;
	char err[200], *at;

	snprintf(spec, sizeof spec, "%s",
	         o->whoami ? o->whoami
	                   : o->pc->nresolvers ? DOCTOR_WHOAMI : DOCTOR_WHOAMI "@" DOCTOR_WHOAMI_SERVER);
	seen[0] = '\0';
	*server = NULL;
	if ((at = strchr(spec, '@')) != NULL) {
		*at = '\0';
		*server = at + 1;
		if ((ask = lookup_new(server, 1, err, sizeof err)) == NULL) {
			snprintf(how, hown, "cannot ask %s: %s", *server, err);
			return;
		}
	}
	lookup_ask(ask, spec, LOOKUP_A, &a);
	lookup_ask(ask, spec, LOOKUP_TXT, &t);
	lookup_wait(ask);
	if (whoami_answer(&a, seen, n) == 0 || whoami_answer(&t, seen, n) == 0)
		snprintf(how, hown, "%s asked of %s", spec, lookup_servers(ask));
	else
		snprintf(how, hown, "%s asked of %s: %s", spec, lookup_servers(ask),
		         a.meaning == DNS_MEANS_OK ? "no address in the answer" : a.why);
	if (ask != l)
		lookup_free(ask);
}

/* check_public - "public-address": the address the world sees; the addresses to check below
 * into SUBJ (a public --source is itself; one behind NAT is what the world sees) */
static void check_public(const struct doctor_options *o, struct lookup *l,
                         struct doctor_report *rep, struct subjects *subj)
{
	char seen[IPADDR_TEXT_MAX] = "", local[IPADDR_TEXT_MAX] = "", how[600];
	const char *server = NULL;
	struct doctor_check *c;

	if (o->public_address) {
		if (canonical(o->public_address, seen, sizeof seen) != 0)
			seen[0] = '\0';
		snprintf(how, sizeof how, "given with --public-address");
	} else {
		whoami(o, l, seen, sizeof seen, how, sizeof how, &server);
	}
	if (o->nsources == 0 && local_address(server ? server : DOCTOR_WHOAMI_SERVER, local,
	                                      sizeof local) != 0)
		local[0] = '\0';
	for (size_t i = 0; i < o->nsources; i++) {
		struct sockaddr_storage ss;

		if (ipaddr_parse(o->sources[i], AF_UNSPEC, &ss, NULL) == 0 &&
		    netaddr_is_public((struct sockaddr *)&ss))
			subject_add(subj, o->sources[i]);
		else if (seen[0])
			subject_add(subj, seen);
	}
	if (o->nsources == 0 && seen[0])
		subject_add(subj, seen);
	if (seen[0] == '\0') {
		c = doctor_add(rep, "public-address", "", DOCTOR_WARN);
		doctor_evidence(c, "the address the world sees is unknown (%s)", how);
		doctor_advice(c, "give it with --public-address ADDR (or --whoami NAME@SERVER): the "
		              "reverse-dns, blocklist and spf checks need it");
		if (o->nsources == 0 && local[0]) {
			struct sockaddr_storage ss;

			if (ipaddr_parse(local, AF_UNSPEC, &ss, NULL) == 0 &&
			    netaddr_is_public((struct sockaddr *)&ss))
				subject_add(subj, local);
		}
		return;
	}
	c = doctor_add(rep, "public-address", seen, DOCTOR_PASS);
	if (o->nsources == 0 && local[0] && strcmp(local, seen) != 0)
		doctor_evidence(c, "the world sees %s (%s); this host's address is %s: behind NAT",
		                seen, how, local);
	else
		doctor_evidence(c, "the world sees %s (%s)%s", seen, how,
		                o->nsources ? "" : local[0] ? ", the host's own address" : "");
	doctor_advice(c, "nothing to do; the checks below are about %s", subj->n > 1 ? "each address"
	                                                                             : seen);
}

/* ---------------------------------------------------------------- reverse DNS and HELO */

/* check_ptr - "reverse-dns" of SUBJECT: a PTR whose name resolves back to it; that name
 * (forward-confirmed) into FCRDNS, or "" */
static void check_ptr(const struct doctor_options *o, struct lookup *l, struct doctor_report *rep,
                      const char *subject, char *fcrdns, size_t n)
{
	char rev[128], names[600], addrs[600] = "";
	struct lookup_answer ptr;
	struct doctor_check *c;

	fcrdns[0] = '\0';
	if (reverse(subject, NULL, rev, sizeof rev) != 0)
		return;
	lookup_one(l, rev, LOOKUP_PTR, &ptr);
	if (ptr.meaning == DNS_MEANS_TEMPORARY) {
		c = doctor_add(rep, "reverse-dns", subject, DOCTOR_WARN);
		doctor_evidence(c, "no answer for %s (%s)", rev, ptr.why);
		doctor_advice(c, "rerun doctor; see the resolver check");
		return;
	}
	if (ptr.meaning != DNS_MEANS_OK) {
		c = doctor_add(rep, "reverse-dns", subject, DOCTOR_FAIL);
		doctor_evidence(c, "no PTR record for %s (%s: %s)", subject, rev, ptr.why);
		doctor_advice(c, "ask the owner of %s (the hosting provider) to set its PTR to your "
		              "HELO name (%s) and make that name resolve to %s: many mail hosts refuse "
		              "addresses without one", subject, o->pc->helo, subject);
		return;
	}
	for (size_t i = 0; i < ptr.n && i < 4; i++) {
		struct lookup_answer a4, a6;
		char t[300];

		ask_addresses(l, ptr.rec[i], &a4, &a6);
		if (answer_has(&a4, subject) || answer_has(&a6, subject)) {
			snprintf(fcrdns, n, "%s", ptr.rec[i]);
			break;
		}
		snprintf(addrs + strlen(addrs), sizeof addrs - strlen(addrs), "%s%s gives %s",
		         i ? "; " : "", ptr.rec[i], addresses_text(&a4, &a6, t, sizeof t));
	}
	if (fcrdns[0]) {
		c = doctor_add(rep, "reverse-dns", subject, DOCTOR_PASS);
		doctor_evidence(c, "%s -> %s -> %s (forward-confirmed)", subject, fcrdns, subject);
		doctor_advice(c, "nothing to do");
		return;
	}
	c = doctor_add(rep, "reverse-dns", subject, DOCTOR_FAIL);
	doctor_evidence(c, "the PTR of %s is %s, which does not resolve back to it (%s)", subject,
	                records_text(&ptr, names, sizeof names), addrs);
	doctor_advice(c, "give %s an A (or AAAA) record %s, or set the PTR to a name that has one",
	              ptr.rec[0], subject);
}

/* check_helo - "helo": the HELO name is ours, and is SUBJECT's PTR name or resolves to it */
static void check_helo(const struct doctor_options *o, struct lookup *l,
                       struct doctor_report *rep, const char *subject, const char *fcrdns)
{
	const char *helo = o->pc->helo;
	struct lookup_answer a4, a6;
	struct doctor_check *c;
	char t[300];

	if (flags_domain(helo) & FLAG_FREE) {
		c = doctor_add(rep, "helo", helo, DOCTOR_FAIL);
		doctor_evidence(c, "%s is a big mail provider's name, not ours", helo);
		doctor_advice(c, "use a name of your own domain that resolves to %s (--helo "
		              "probe.example.com): a stolen name gets refused", subject);
		return;
	}
	if (fcrdns[0] && strcasecmp(helo, fcrdns) == 0) {
		c = doctor_add(rep, "helo", helo, DOCTOR_PASS);
		doctor_evidence(c, "the HELO name is the PTR name of %s", subject);
		doctor_advice(c, "nothing to do");
		return;
	}
	if (helo[0] == '[') {
		char inner[64];

		snprintf(inner, sizeof inner, "%.*s", (int)strcspn(helo + 1, "]"), helo + 1);
		c = doctor_add(rep, "helo", helo,
		               strcmp(inner, subject) != 0 ? DOCTOR_WARN : DOCTOR_PASS);
		doctor_evidence(c, "an address literal%s", c->level == DOCTOR_PASS ? ", our address"
		                                                                  : ", not our address");
		doctor_advice(c, "many hosts want a name: use --helo %s", fcrdns[0] ? fcrdns
		                                                                    : "NAME");
		return;
	}
	ask_addresses(l, helo, &a4, &a6);
	if (answer_has(&a4, subject) || answer_has(&a6, subject)) {
		c = doctor_add(rep, "helo", helo, DOCTOR_PASS);
		doctor_evidence(c, "the HELO name resolves to %s", subject);
		doctor_advice(c, fcrdns[0] ? "nothing to do" : "set the PTR of the address to it too");
	} else if (a4.meaning == DNS_MEANS_TEMPORARY || a6.meaning == DNS_MEANS_TEMPORARY) {
		c = doctor_add(rep, "helo", helo, DOCTOR_WARN);
		doctor_evidence(c, "no answer about the HELO name (%s)", a4.why);
		doctor_advice(c, "rerun doctor; see the resolver check");
	} else if (a4.n == 0 && a6.n == 0) {
		c = doctor_add(rep, "helo", helo, DOCTOR_FAIL);
		doctor_evidence(c, "the HELO name does not resolve (%s)", a4.why);
		doctor_advice(c, "give %s an A record %s, or use --helo %s: hosts that check HELO "
		              "(reject_unknown_helo_hostname) refuse it", helo, subject,
		              fcrdns[0] ? fcrdns : "NAME");
	} else {
		c = doctor_add(rep, "helo", helo, DOCTOR_WARN);
		doctor_evidence(c, "the HELO name resolves to %s, not to %s",
		                addresses_text(&a4, &a6, t, sizeof t), subject);
		doctor_advice(c, "use --helo %s, or point %s at %s", fcrdns[0] ? fcrdns : "NAME", helo,
		              subject);
	}
}

/* ---------------------------------------------------------------- blocklists */

struct blocklist {
	const char *zone;
	const char *label;
	const char *removal;            /* where to see why and ask for removal */
	int spamhaus_codes;             /* 127.0.0.N named as Spamhaus ZEN names them */
};

static const struct blocklist known_lists[] = {
	{"zen.spamhaus.org", "Spamhaus ZEN", "https://check.spamhaus.org/", 1},
	{"b.barracudacentral.org", "Barracuda", "https://www.barracudacentral.org/rbl/removal-request",
	 0},
	{"bl.spamcop.net", "SpamCop", "https://www.spamcop.net/bl.shtml", 0},
};
#define NKNOWN (sizeof known_lists / sizeof known_lists[0])

/* code_name - what 127.0.0.N means on list B */
static const char *code_name(const struct blocklist *b, const char *code)
{
	static const char *const zen[] = {
		[2] = "SBL", [3] = "SBL CSS", [4] = "XBL", [5] = "XBL", [6] = "XBL", [7] = "XBL",
		[9] = "SBL DROP", [10] = "PBL (the ISP's)", [11] = "PBL (Spamhaus's)",
	};
	unsigned a, b1, c, d;

	if (!b->spamhaus_codes || sscanf(code, "%u.%u.%u.%u", &a, &b1, &c, &d) != 4 || a != 127 ||
	    b1 != 0 || c != 0 || d >= sizeof zen / sizeof zen[0] || zen[d] == NULL)
		return "listed";
	return zen[d];
}

/* refused_code - 1 for an answer that is the list refusing the asker (127.255.255.0/24:
 * Spamhaus's "public resolver", "rate limited", "typo" codes), not a listing */
static int refused_code(const struct lookup_answer *ans)
{
	for (size_t i = 0; i < ans->n; i++)
		if (strncmp(ans->rec[i], "127.255.255.", 12) == 0)
			return 1;
	return 0;
}

/* test_entry_ok - the list answers its test entry 127.0.0.2 with a listing (RFC 5782 5: an
 * address in 127/8 other than 127.0.0.1, which a list must never return) */
static int test_entry_ok(const struct lookup_answer *ans)
{
	if (ans->meaning != DNS_MEANS_OK || refused_code(ans))
		return 0;
	for (size_t i = 0; i < ans->n; i++)
		if (strncmp(ans->rec[i], "127.", 4) == 0 && strcmp(ans->rec[i], "127.0.0.1") != 0)
			return 1;
	return 0;
}

struct list_ask {
	struct blocklist b;
	struct lookup_answer test;
	struct lookup_answer a[DOCTOR_MAX_SUBJECTS], txt[DOCTOR_MAX_SUBJECTS];
};

static void judge_listing(struct doctor_report *rep, const struct list_ask *q,
                          const char *subject, const struct lookup_answer *a,
                          const struct lookup_answer *txt)
{
	char what[96], codes[400] = "";
	struct doctor_check *c;

	snprintf(what, sizeof what, "%s on %s", subject, q->b.zone);
	if (!test_entry_ok(&q->test)) {
		char t[300];

		c = doctor_add(rep, "blocklist", what, DOCTOR_WARN);
		doctor_evidence(c, "this resolver cannot query %s: its test entry 127.0.0.2 gives %s",
		                q->b.label, records_text(&q->test, t, sizeof t));
		doctor_advice(c, "ask the list through a resolver of your own (a local unbound that "
		              "asks the list's servers): most lists refuse public resolvers");
		return;
	}
	if (a->meaning == DNS_MEANS_NOT_EXIST || a->meaning == DNS_MEANS_NODATA) {
		c = doctor_add(rep, "blocklist", what, DOCTOR_PASS);
		doctor_evidence(c, "%s is not listed on %s", subject, q->b.label);
		doctor_advice(c, "nothing to do");
		return;
	}
	if (a->meaning != DNS_MEANS_OK || refused_code(a)) {
		char t[300];

		c = doctor_add(rep, "blocklist", what, DOCTOR_WARN);
		doctor_evidence(c, "no usable answer from %s (%s)", q->b.label,
		                records_text(a, t, sizeof t));
		doctor_advice(c, "rerun doctor later, through a resolver of your own");
		return;
	}
	for (size_t i = 0; i < a->n; i++)
		snprintf(codes + strlen(codes), sizeof codes - strlen(codes), "%s%s (%s)",
		         i ? ", " : "", code_name(&q->b, a->rec[i]), a->rec[i]);
	c = doctor_add(rep, "blocklist", what, DOCTOR_FAIL);
	doctor_evidence(c, "%s is listed on %s: %s%s%.200s", subject, q->b.label, codes,
	                txt->n ? "; " : "", txt->n ? txt->rec[0] : "");
	doctor_advice(c, "mail hosts that use %s refuse this address: see why and ask for removal "
	              "at %s, or probe from another address (--source)", q->b.label, q->b.removal);
}

static void check_blocklists(const struct doctor_options *o, struct lookup *l,
                             struct doctor_report *rep, const struct subjects *subj)
{
	size_t nlists = o->nblocklists ? o->nblocklists : NKNOWN;
	struct list_ask *q = calloc(nlists, sizeof *q);

	if (q == NULL)
		return;
	for (size_t i = 0; i < nlists; i++) {
		char name[300];

		q[i].b = known_lists[i < NKNOWN ? i : 0];
		if (o->nblocklists) {
			q[i].b = (struct blocklist){o->blocklists[i], o->blocklists[i],
			                            "the list's web site", 0};
			for (size_t k = 0; k < NKNOWN; k++)
				if (strcasecmp(o->blocklists[i], known_lists[k].zone) == 0)
					q[i].b = known_lists[k];
		}
		snprintf(name, sizeof name, "2.0.0.127.%s", q[i].b.zone);
		lookup_ask(l, name, LOOKUP_A, &q[i].test);
		for (size_t s = 0; s < subj->n; s++) {
			if (reverse(subj->addr[s], q[i].b.zone, name, sizeof name) != 0)
				continue;
			lookup_ask(l, name, LOOKUP_A, &q[i].a[s]);
			lookup_ask(l, name, LOOKUP_TXT, &q[i].txt[s]);
		}
	}
	lookup_wait(l);
	for (size_t i = 0; i < nlists; i++)
		for (size_t s = 0; s < subj->n; s++)
			judge_listing(rep, &q[i], subj->addr[s], &q[i].a[s], &q[i].txt[s]);
	free(q);
}

/* ---------------------------------------------------------------- the sender */

static void check_spf(const struct doctor_options *o, struct lookup *l, struct doctor_report *rep,
                      const char *subject)
{
	const char *domain = strrchr(o->pc->mail_from, '@');
	struct spf_outcome out;
	struct doctor_check *c;
	char err[200];
	enum doctor_level level;

	domain = domain ? domain + 1 : o->pc->mail_from;
	if (spf_check(l, o->pc->mail_from, subject, o->pc->helo, &out, err, sizeof err) < 0) {
		c = doctor_add(rep, "spf", domain, DOCTOR_WARN);
		doctor_evidence(c, "cannot evaluate: %s", err);
		doctor_advice(c, "check --mail-from");
		return;
	}
	level = strcmp(out.result, "pass") == 0 ? DOCTOR_PASS
	        : strcmp(out.result, "fail") == 0 || strcmp(out.result, "permerror") == 0
	            ? DOCTOR_FAIL
	            : DOCTOR_WARN;
	c = doctor_add(rep, "spf", domain, level);
	doctor_evidence(c, "SPF %s for %s from %s%s%s", out.result, o->pc->mail_from, subject,
	                out.why[0] ? ": " : "", out.why);
	if (level == DOCTOR_PASS)
		doctor_advice(c, "nothing to do");
	else if (strcmp(out.result, "permerror") == 0)
		doctor_advice(c, "the SPF record of %s is broken: fix it (RFC 7208)", domain);
	else if (strcmp(out.result, "temperror") == 0)
		doctor_advice(c, "rerun doctor; see the resolver check");
	else
		doctor_advice(c, "add %s:%s to the SPF record of %s (a TXT record \"v=spf1 %s:%s "
		              "-all\"): hosts that check SPF at MAIL FROM refuse a %s",
		              strchr(subject, ':') ? "ip6" : "ip4", subject, domain,
		              strchr(subject, ':') ? "ip6" : "ip4", subject, out.result);
}

/* check_sender_domain - the MAIL FROM domain can take mail (an MX, or an address) */
static void check_sender_domain(const struct doctor_options *o, struct lookup *l,
                                struct doctor_report *rep)
{
	const char *domain = strrchr(o->pc->mail_from, '@');
	struct lookup_answer mx, a4, a6;
	struct doctor_check *c;
	char t[400];

	domain = domain ? domain + 1 : o->pc->mail_from;
	lookup_ask(l, domain, LOOKUP_MX, &mx);
	lookup_ask(l, domain, LOOKUP_A, &a4);
	lookup_ask(l, domain, LOOKUP_AAAA, &a6);
	lookup_wait(l);
	if (mx.meaning == DNS_MEANS_OK && !(mx.n == 1 && mx.rec[0][0] == '\0')) {
		c = doctor_add(rep, "sender-domain", domain, DOCTOR_PASS);
		doctor_evidence(c, "%s has mail hosts: %s", domain, records_text(&mx, t, sizeof t));
		doctor_advice(c, "nothing to do");
	} else if (mx.meaning == DNS_MEANS_TEMPORARY) {
		c = doctor_add(rep, "sender-domain", domain, DOCTOR_WARN);
		doctor_evidence(c, "no answer about %s (%s)", domain, mx.why);
		doctor_advice(c, "rerun doctor; see the resolver check");
	} else if (mx.meaning == DNS_MEANS_NODATA && (a4.n || a6.n)) {
		c = doctor_add(rep, "sender-domain", domain, DOCTOR_PASS);
		doctor_evidence(c, "%s has no MX but an address (%s): mail goes there",
		                domain, addresses_text(&a4, &a6, t, sizeof t));
		doctor_advice(c, "nothing to do");
	} else {
		c = doctor_add(rep, "sender-domain", domain, DOCTOR_FAIL);
		doctor_evidence(c, "%s cannot take mail (%s)", domain,
		                mx.meaning == DNS_MEANS_OK ? "null MX" : mx.why);
		doctor_advice(c, "use --mail-from with a domain of yours that has an MX: hosts that "
		              "verify senders refuse a MAIL FROM that cannot get a bounce");
	}
}

/* ---------------------------------------------------------------- all of it */

int doctor_run(const struct doctor_options *o, struct doctor_report *rep, char *err,
               size_t errlen)
{
	struct lookup *l = lookup_new(o->pc->resolvers, o->pc->nresolvers, err, errlen);
	struct subjects subj = {0};

	if (l == NULL)
		return -1;
	if (!o->quick)
		check_resolver(o, l, rep);
	doctor_smtp_out(o, rep);
	check_public(o, l, rep, &subj);
	for (size_t s = 0; !o->quick && s < subj.n; s++) {
		char fcrdns[LOOKUP_TEXT_MAX];

		check_ptr(o, l, rep, subj.addr[s], fcrdns, sizeof fcrdns);
		check_helo(o, l, rep, subj.addr[s], fcrdns);
	}
	check_blocklists(o, l, rep, &subj);
	for (size_t s = 0; !o->quick && s < subj.n; s++)
		check_spf(o, l, rep, subj.addr[s]);
	if (!o->quick)
		check_sender_domain(o, l, rep);
	lookup_free(l);
	return 0;
}
