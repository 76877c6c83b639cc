/*
 * doctor - is this machine fit to probe? The checks of `mailsift doctor` (and the quick ones a
 * run makes before it starts): outbound SMTP per source address, the public address the world
 * sees, reverse DNS and the HELO name, DNS blocklists (RFC 5782), the MAIL FROM domain's SPF
 * (libspf2) and mail host, the resolver itself. Each check ends PASS, WARN or FAIL with one
 * line of evidence and one line of advice. Doubt is a WARN, never a FAIL or a PASS: a blocklist
 * that does not answer its own test entry through this resolver cannot say "not listed".
 *
 * DNS goes only to the resolvers given (--resolver), except for the public address: without
 * --resolver it is asked of OpenDNS's resolver (myip.opendns.com), as no other resolver knows
 * it; --whoami NAME[@SERVER] and --public-address change that.
 */
#ifndef MAILSIFT_DOCTOR_H
#define MAILSIFT_DOCTOR_H

#include <stddef.h>

#include "engine/config.h"

enum doctor_level { DOCTOR_PASS, DOCTOR_WARN, DOCTOR_FAIL };

#define DOCTOR_TEXT_MAX 400

struct doctor_check {
	char name[24];                       /* "smtp-out", "blocklist", ... */
	char subject[96];                    /* what it is about: an address, a list, a domain */
	enum doctor_level level;
	char evidence[DOCTOR_TEXT_MAX];      /* what was seen */
	char advice[DOCTOR_TEXT_MAX];        /* what to do */
};

/* The defaults when none are given. */
#define DOCTOR_PROBE_DOMAINS { "gmail.com", "outlook.com", "yahoo.com" }
#define DOCTOR_WHOAMI "myip.opendns.com"            /* answers the asker's address (A) */
#define DOCTOR_WHOAMI_SERVER "208.67.222.222"       /* resolver1.opendns.com */
#define DOCTOR_DNSSEC_BROKEN "dnssec-failed.org"    /* signed wrong on purpose: a validating
                                                     * resolver answers SERVFAIL */
#define DOCTOR_MAX_SUBJECTS 8                       /* addresses checked (PTR, lists, SPF) */

struct doctor_options {
	const struct probe_config *pc;       /* HELO, MAIL FROM, port, timeouts, resolvers */
	const char *const *sources;          /* --source addresses; none: the system's choice */
	size_t nsources;
	const char *const *probe_domains;    /* none: DOCTOR_PROBE_DOMAINS */
	size_t nprobe_domains;
	const char *const *blocklists;       /* zones; none: Spamhaus ZEN, Barracuda, SpamCop */
	size_t nblocklists;
	const char *whoami;                  /* NAME[@SERVER]; NULL: see the header */
	const char *public_address;          /* given: not looked for */
	int quick;                           /* only outbound SMTP and the blocklists */
};

struct doctor_report {
	struct doctor_check *checks;
	size_t n, cap;
};

/* doctor_run - every check into REP (in the order they are shown); 0, or -1 with err when the
 * checks could not run at all (no resolver could be set up) */
int doctor_run(const struct doctor_options *o, struct doctor_report *rep, char *err,
               size_t errlen);

void doctor_report_free(struct doctor_report *rep);

/* doctor_count - checks of REP at LEVEL */
size_t doctor_count(const struct doctor_report *rep, enum doctor_level level);

/* doctor_level_name - "PASS", "WARN", "FAIL" */
const char *doctor_level_name(enum doctor_level level);

/* doctor_add - a check appended to REP (how the check modules report); its evidence and advice
 * are written with doctor_evidence and doctor_advice */
struct doctor_check *doctor_add(struct doctor_report *rep, const char *name,
                                const char *subject, enum doctor_level level);

void doctor_evidence(struct doctor_check *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void doctor_advice(struct doctor_check *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* doctor_smtp_out - the outbound SMTP check (engine/doctor_smtp.c): per source, a connection,
 * banner, EHLO and MAIL FROM (never RCPT) to the first mail host of each probe domain */
void doctor_smtp_out(const struct doctor_options *o, struct doctor_report *rep);

#endif
