/*
 * sched - the scheduler: addresses in, verdicts out, with thousands of SMTP sessions on one
 * event loop, polite to every mail host.
 *
 * Limits belong to the MX host address and the source address (a "host" here), never to the
 * recipient domain: thousands of domains share the big providers' hosts. Each host has a window
 * of simultaneous sessions that starts at DEF_HOST_WINDOW_START, grows by one per session the
 * host admits (MAIL FROM accepted) up to the ceiling (per_host), halves at once when the host
 * pushes back (421, 4.7.x throttling, refused, timed-out or dropped connections; a 421 for a session
 * too many also lowers the ceiling to what was open, so the limit is found once), and pauses the
 * host for DEF_PAUSE_BASE x penalty^2 seconds (at most DEF_PAUSE_MAX) after
 * DEF_FAILURES_TO_PAUSE failed sessions in a row. New connections to a host are spaced by
 * DEF_HOST_SPACING, and start DEF_HOST_SPACING after a session to it ends at the earliest.
 * RCPT outcomes never move a window. A host's recipient limit per transaction (452 4.5.3
 * after N RCPTs, found by a session) is kept and given to its later sessions. The rules live
 * in engine/sched_flow.c, sched_route.c and sched_probe.c (sched_int.h), given the time.
 *
 * Work belongs to the host too: a domain's waiting addresses join its MX host's list, and a
 * session takes the next address of that list whenever it is ready for a RCPT, whatever its
 * domain, up to DEF_SESSION_ADDRESSES, so domains sharing a host share its sessions and a
 * host's sessions finish together. Before a domain's first address, a session asks its
 * catch-all probe (one random local part, fixed per domain); its other addresses wait for the
 * answer, and none is asked when it is yes. A session with nothing to ask but addresses
 * waiting for a probe waits idle for them (smtp_resume). A probe answered with a 4xx
 * (greylisted) is asked again once the greylist delay has passed (up to max_attempts); meanwhile
 * the domain's addresses are asked, and one accepted before the probe is answered is a retry.
 *
 * The owner feeds addresses (sched_add) and receives one result per address: final, or "retry"
 * (temporary: the owner decides when to add it again, from the same source address). A failed
 * session gives its failure to the waiting addresses it would still have asked, as if they had
 * been in it: any of the host's when it failed before MAIL FROM was accepted, else those of the
 * domain it was asking about (all of the host's once it is paused); but a domain whose host
 * never greeted us moves to its next MX host first, and a refusal for our pace costs nothing
 * until the host is paused. The scheduler owns its sessions and copies everything it keeps.
 *
 * Memory follows the work in flight: a domain is let go once nothing of it waits or is being
 * asked (a stored catch-all state and the DNS caches bring it back), and when the owner keeps
 * host states (host_saved / host_lookup) a host is let go once it has no session, no domain on
 * its list and no domain pointing at it, its flow control (window, ceiling, pause, spacing,
 * recipient limit) and statistics handed to the owner and read back if it comes back: a paused
 * host stays paused however often it is let go.
 */
#ifndef MAILSIFT_SCHED_H
#define MAILSIFT_SCHED_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/config.h"
#include "engine/decide.h"
#include "engine/dns.h"
#include "schema/store.h"

struct event_base;

struct sched_addr {
	int64_t id;             /* the owner's id */
	const char *address;    /* normalized address */
	const char *domain;     /* its domain (lowercase A-label) */
	unsigned flags;         /* FLAG_ROLE | FLAG_DISPOSABLE | FLAG_FREE */
	int attempts;           /* sessions that tried it before */
	const char *source;     /* source address of its first attempt, or NULL */
	int urgent;             /* someone waits for the answer (a real-time check): its host asks
	                         * it before the addresses nobody waits for */
};

struct sched_result {
	int64_t id;
	struct decide_out verdict;  /* verdict.retry: temporary, add it again later */
	int attempts;               /* sessions that tried it, this one included */
	const struct reply *reply;  /* the deciding reply, or NULL */
	const char *detail;         /* why, when there is no reply (or more to say) */
	const char *mx_host;        /* the host that answered, or NULL */
	const char *source;         /* the source address used ("" for the system's choice) */
	int tls;
	enum catch_all catch_all;   /* the domain's catch-all state */
	int urgent;                 /* someone waits for it (sched_addr.urgent, sched_hurry) */
	const char *trace;          /* when this attempt's transcript is kept (config_trace_kept):
	                             * common/trace.h lines (the domain's DNS answer and catch-all
	                             * probe, the session as it concerns the address, or why it was
	                             * not asked, the verdict), else NULL */
};

struct sched_callbacks {
	/* result - one address is done, or must be retried later */
	void (*result)(void *ctx, const struct sched_result *r);
	/* catch_all_lookup - a stored catch-all state for DOMAIN: 1 yes, 0 no, -1 unknown */
	int (*catch_all_lookup)(void *ctx, const char *domain);
	/* catch_all_learned - the probe answered for DOMAIN (CATCH_ALL_YES / _NO / _INCONCLUSIVE) */
	void (*catch_all_learned)(void *ctx, const char *domain, enum catch_all ca);
	/* dns_cached - a stored answer for DOMAIN recent enough to reuse: 1 with OUT filled, else 0
	 * (NULL: always ask DNS) */
	int (*dns_cached)(void *ctx, const char *domain, struct dns_result *out);
	/* dns_learned - DNS answered for DOMAIN (NULL: not kept) */
	void (*dns_learned)(void *ctx, const char *domain, const struct dns_result *r);
	/* host_saved - a host is let go while idle (or sched_hosts_save): keep what must outlive
	 * it, ST (its run_id left 0 for the owner; times on clock_now()) (NULL: hosts are never
	 * let go) */
	void (*host_saved)(void *ctx, const struct store_host *st);
	/* host_lookup - the state kept for host IP from SOURCE: 1 with OUT filled, else 0 */
	int (*host_lookup)(void *ctx, const char *ip, const char *source, struct store_host *out);
	/* session_ended - a session is over: the session log's record SS (its run_id and at left
	 * 0 for the owner, who has the wall clock) (NULL: not wanted) */
	void (*session_ended)(void *ctx, const struct store_session *ss);
};

struct sched_opts {
	int concurrency;              /* sessions open at once, all hosts */
	int per_host;                 /* window ceiling per host */
	const char *const *sources;   /* local addresses to spread sessions over (none: default) */
	size_t nsources;
};

struct sched;

/* sched_new - a scheduler on BASE; DNS and SSL are the caller's (SSL may be NULL) */
struct sched *sched_new(struct event_base *base, const struct probe_config *c,
                        const struct sched_opts *o, struct dns *dns, SSL_CTX *ssl,
                        const struct sched_callbacks *cb, void *ctx);

/* sched_add - probe A (copied); its result comes later from the loop */
void sched_add(struct sched *s, const struct sched_addr *a);

/* sched_hurry - address ID, held and waiting in its domain's queue, is now waited for: it goes
 * ahead as sched_addr.urgent would have put it. 1 when it is held and waiting (moved, or ahead
 * already), 0 when not (not held, or in a session already). A linear look over what is held. */
int sched_hurry(struct sched *s, int64_t id);

/* sched_retry_wait - seconds until result R (a retry) is due again: at once for an address not
 * asked (interrupted), else the greylist backoff for its next attempt */
double sched_retry_wait(const struct probe_config *c, const struct sched_result *r);

/* sched_held - addresses added and not yet reported */
size_t sched_held(const struct sched *s);

/* sched_domains - recipient domains held now (each with addresses waiting or being asked: a
 * domain with none is let go); sched_hosts - MX hosts known (per source address) */
size_t sched_domains(const struct sched *s);
size_t sched_hosts(const struct sched *s);

/* sched_peaks - the most addresses (*HELD), domains (*DOMAINS) and MX hosts (*HOSTS) held at
 * once so far, and the hosts let go while idle (*LET_GO) */
void sched_peaks(const struct sched *s, size_t *held, size_t *domains, size_t *hosts,
                 long *let_go);

/* sched_sessions - sessions open now; sched_hosts_paused - hosts held now that are paused (a
 * paused host with nothing to do is let go when the owner keeps host states: its pause is there) */
size_t sched_sessions(const struct sched *s);
size_t sched_hosts_paused(const struct sched *s);

/* sched_smtp_blocked - DEF_BLOCKED_HOSTS distinct hosts failed to take a TCP connection and
 * no session has ever made one: the number of hosts tried, else 0 */
size_t sched_smtp_blocked(const struct sched *s);

/* sched_drain - start no new session; open ones finish */
void sched_drain(struct sched *s);

/* sched_cancel - close every open session now; their unanswered addresses are reported as
 * retries without counting the attempt, and so are the addresses still waiting */
void sched_cancel(struct sched *s);

/* sched_totals - sessions started and retries reported so far (the hosts' own figures go to
 * the owner with their states: sched_hosts_save) */
void sched_totals(const struct sched *s, long *sessions, long *retries);

/* sched_hosts_save - every host held now to the host_saved callback (they stay held) */
void sched_hosts_save(struct sched *s);

void sched_free(struct sched *s);

#endif
