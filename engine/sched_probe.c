/*
 * sched_probe - the per-domain catch-all probe (the policy is sched.h's).
 *
 * Before a domain's first address, one session asks its probe: a local part that looks random
 * and cannot exist, fixed per domain (sched_probe_local), so a greylisted probe is retried with
 * the same triple. While it is asked, the domain's addresses wait (sched_probe_gate); a yes
 * tells every waiting address "catch_all" unasked (sched_domain_catch_all), and so does a yes
 * kept in the job store (sched_probe_stored). Gmail / Microsoft 365 hosts are not probed
 * (engine/providers.c). A greylisted probe is asked again after the greylist delay; meanwhile
 * the domain's addresses are asked, and one accepted before the probe's answer waits for it
 * (sched_probe_holds). Nothing here reads the clock (callers pass `now`).
 */
#include "engine/sched_int.h"

#include <stdio.h>
#include <string.h>

#include "common/hash.h"
#include "engine/providers.h"

/* sched_probe_local - the catch-all probe's local part for DOMAIN: looks random and cannot
 * exist, but is the same for the domain every time, so a greylisted probe is retried with the
 * same (client, sender, recipient) triple and passes the greylist like any other address */
void sched_probe_local(const char *domain, char *out, size_t n)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	static const char salt[] = "mailsift-catch-all-probe:";
	uint64_t h = hash_fnv1a64_add(hash_fnv1a64_add(HASH_FNV64_INIT, salt, sizeof salt - 1),
	                              domain, strlen(domain));
	for (size_t i = 0; i < PROBE_LOCAL_LEN && i + 1 < n; i++) {
		h ^= h >> 29; /* splitmix-style steps: every character depends on the whole name */
		h *= 0xbf58476d1ce4e5b9ull;
		h ^= h >> 32;
		out[i] = alphabet[h % (sizeof alphabet - 1)];
		out[i + 1] = '\0';
	}
}

/* sched_probe_stored - D is new: the catch-all state the job store keeps for it, if any */
void sched_probe_stored(struct sched *s, struct sdomain *d)
{
	int stored = s->cb.catch_all_lookup ? s->cb.catch_all_lookup(s->ctx, d->name) : -1;

	if (stored >= 0) {
		d->ca = stored ? CATCH_ALL_YES : CATCH_ALL_NO;
		d->ca_known = 1;
	}
}

/* sched_probe_policy - DNS answered R for D: a provider whose domains are not probed
 * (providers_skip_catch_all) leaves D untested, and known so */
void sched_probe_policy(struct sdomain *d, const struct dns_result *r)
{
	if (!d->ca_known && providers_skip_catch_all(r->hosts[0].name)) {
		d->ca = CATCH_ALL_UNTESTED;
		d->ca_known = 1;
	}
}

/* sched_probe_gate - D (with addresses waiting) may give a session something to ask at NOW: 1,
 * with *probe set when that is its probe (its state unknown and the probe due: at once, or a
 * greylisted probe once its delay has passed; until then its addresses are asked); 0 while
 * another session asks its probe (its addresses wait for the answer) */
int sched_probe_gate(const struct sdomain *d, int *probe, double now)
{
	if (d->ca_known) {
		*probe = 0;
		return 1;
	}
	if (d->probing)
		return 0;
	*probe = d->probe_due == 0 || now >= d->probe_due;
	return 1;
}

/* sched_probe_begin - session J asks D's probe now: the address to ask (J's buffer) */
const char *sched_probe_begin(struct job *j, struct sdomain *d)
{
	d->probing = 1;
	j->probe_d = d;
	sched_probe_local(d->name, j->probe_addr, PROBE_LOCAL_LEN + 1);
	snprintf(j->probe_addr + strlen(j->probe_addr), sizeof j->probe_addr - strlen(j->probe_addr),
	         "@%s", d->name);
	return j->probe_addr;
}

/* sched_domain_catch_all - D is proven catch-all: its waiting addresses are told so, unasked */
void sched_domain_catch_all(struct sched *s, struct sdomain *d)
{
	struct decide_in in = {.dns = DNS_OK, .rcpt_answered = 1, .rcpt = OUTCOME_ACCEPTED,
	                       .catch_all = CATCH_ALL_YES};
	struct decide_out v;

	decide(&in, &v);
	while (d->head) {
		struct saddr *a = sched_queue_pop(d);
		sched_report(s, a, &v, a->attempts, NULL, "domain accepts any address (catch-all)", NULL,
		             0, NULL, 0);
	}
}

/* sched_probe_end - the probe of D was answered at NOW (ANSWERED, outcome O) or lost with its
 * session (another session asks it) */
void sched_probe_end(struct sched *s, struct sdomain *d, int answered, enum reply_outcome o,
                     double now)
{
	d->probing = 0;
	d->inflight--;
	if (answered) { /* for transcripts (sched_domain_trace) */
		d->probe_said = (int)o + 1;
		d->probe_at = now;
	}
	if (answered && (o == OUTCOME_TEMPORARY || o == OUTCOME_THROTTLED) &&
	    d->probe_tries + 2 <= s->cfg.max_attempts) {
		/* Greylisted (or deferred): asked again after the greylist delay, from the same
		 * source and sender with the same local part, as an address would be. */
		d->probe_tries++;
		d->probe_due = now + config_greylist_wait(&s->cfg, d->probe_tries + 1);
	} else if (answered) {
		d->ca = decide_catch_all(o);
		d->ca_known = 1;
		if (s->cb.catch_all_learned)
			s->cb.catch_all_learned(s->ctx, d->name, d->ca);
		if (d->ca == CATCH_ALL_YES)
			sched_domain_catch_all(s, d);
	}
	sched_host_wake(d->host); /* sessions waiting for this answer: ask it, or the probe again */
	sched_domain_free_if_idle(s, d);
}

/* sched_probe_holds - an address of D was answered O (LAST_ATTEMPT: none is left): 1 when it
 * must wait for D's probe all the same, accepted while the probe waits for its greylist retry
 * (whether the domain takes any address is not known yet) */
int sched_probe_holds(const struct sdomain *d, enum reply_outcome o, int last_attempt)
{
	return o == OUTCOME_ACCEPTED && !d->ca_known && d->probe_tries > 0 && !last_attempt;
}
