/*
 * sched_int - what the scheduler's files share (private: only engine/sched*.c and its unit
 * tests include it; everyone else uses engine/sched.h).
 *
 * The scheduler is four files: sched.c (the public API, the sessions, the pump: the only one
 * that reads the clock), sched_flow.c (host flow control: window, ceiling, pause, spacing,
 * recipient limit; pure functions given the time), sched_route.c (domains, hosts, their
 * queues, routing a domain to an MX host and attributing a failed session to the addresses
 * it would still have asked) and sched_probe.c (the per-domain catch-all probe). Every
 * function here that needs the time takes it as `double now` (monotonic seconds), so each
 * rule can be tested with a fake clock and no socket.
 *
 * Objects: a saddr is one address waiting or being asked; a sdomain is a recipient domain as
 * seen from one source address (its DNS answer, catch-all state and queue of saddrs); a shost
 * is one MX host address from one source address (its flow control, statistics, and the list
 * of domains routed to it that have addresses waiting); a job is one session to a host.
 */
#ifndef MAILSIFT_SCHED_INT_H
#define MAILSIFT_SCHED_INT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/sched.h"
#include "engine/smtp.h"

#define SCHED_BUCKETS 4096      /* hash buckets for domains and hosts (chained) */
#define PROBE_LOCAL_LEN 20      /* random local part of the catch-all probe */
#define PROBE_ID (-1L)          /* next_rcpt id of the probe */

struct sdomain;
struct trace;
struct shost;
struct job;

struct saddr {
	int64_t id;
	char *address;
	struct sdomain *d;
	unsigned flags;
	int attempts;               /* before the current session */
	int utf8;                   /* local part needs SMTPUTF8 */
	int route;                  /* index in d->hosts of the host asked */
	int urgent;                 /* someone waits for it (sched_addr.urgent): ahead of the rest */
	struct saddr *next;         /* in its domain's queue */
};

/* An MX host address of a domain's route, any family, compact (a sockaddr_storage is 128 bytes) */
union sroute_addr {
	struct sockaddr sa;
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
};

/* One MX host of a domain as DNS gave it, compact: a struct dns_host is 1.3 KiB, this is what
 * routing and sessions read of it. A domain's routes, their addresses and names are one block
 * (sched_domain_answer). */
struct sroute {
	const char *name;           /* the MX host name */
	int preference;             /* its MX preference (transcripts) */
	const union sroute_addr *addr; /* its addresses, in DNS's order */
	size_t naddrs;
};

struct sdomain {
	char *name;
	char source[64];
	struct sched *s;
	struct sdomain *hnext;      /* hash chain */
	int dns_state;              /* 0 not asked, 1 asking, 2 answered */
	struct sroute *hosts;       /* the MX hosts from DNS (only as many as there are; one block) */
	size_t nhosts;
	int dns_from_store;         /* the answer came from the job store's cache */
	unsigned char tried[DNS_MAX_HOSTS]; /* MX hosts that failed to take a session lately */
	struct shost *failed_host;  /* the last of them (its last failure explains ours) */
	enum catch_all ca;
	int ca_known;               /* probed, skipped by policy, or stored */
	int probing;                /* a session asks the probe now */
	int probe_tries;            /* probes answered with a temporary failure (greylisted) */
	double probe_due;           /* monotonic: the probe is asked again from then on (0: now) */
	int inflight;               /* RCPTs of the domain (the probe included) being asked */
	int asked_by;               /* sessions whose last RCPT was for it (job.last_d) */
	struct saddr *head, *tail;  /* waiting addresses */
	size_t queued;
	struct shost *host;         /* the host whose list holds it, or NULL */
	int route;                  /* index in hosts of that host */
	struct sdomain *ready_prev, *ready_next;
	/* for transcripts (sched_domain_trace), a few numbers rather than text: most domains'
	 * transcripts are never kept */
	double dns_asked, dns_answered; /* clock_now() when DNS was asked, answered */
	int implicit_mx;            /* the answer had no MX record: the domain itself */
	const struct dns_result *dns_failed; /* a failed answer while its addresses are told */
	int probe_said;             /* the catch-all probe's last answer: its outcome + 1, 0: none */
	double probe_at;            /* ... when */
};

/* Flow control of one host (sched_flow.c): how many sessions it may have, and when. */
struct sched_flow {
	int window;                 /* allowed open sessions now */
	int ceiling;                /* the host's limit as found by its pushback (per_host until) */
	int failures;               /* failed sessions in a row */
	int penalty;                /* pauses so far */
	double next_start;          /* monotonic: no new connection before */
	double paused_until;        /* monotonic: paused until then */
	double rtt;                 /* smoothed seconds per round trip (connect to MAIL FROM / 4) */
	int rcpt_limit;             /* RCPTs per transaction it took (452 4.5.3), 0: not found */
	/* statistics */
	int max_window;
	long pushback, connect_failures, pauses;
};

/* A host's last failed session: what the addresses it could not ask are told. Allocated on
 * its first failure only (a struct reply is 3 KiB; most hosts never fail). */
struct shost_failure {
	enum smtp_end end;
	struct reply reply;
	int have_reply;
	char detail[256];
	char mx[256];               /* the MX name it greeted us as, "" when it did not */
	char *trace;                /* its transcript (clipped), when transcripts are recorded */
};

struct shost {
	char *key;                  /* "ip|source" */
	char ip[INET6_ADDRSTRLEN];
	char source[64];
	struct shost *hnext;
	int active;                 /* open sessions */
	struct sched_flow flow;
	struct sdomain *ready_head, *ready_tail; /* domains with addresses waiting for it */
	size_t queued;              /* their waiting addresses */
	struct job *idle;           /* sessions waiting for work (job.idle_next) */
	struct shost *work_next;    /* in the list of hosts with waiting domains */
	int on_work;
	struct shost_failure *last; /* its last failed session (NULL: none yet) */
	int refs;                   /* domains whose failed_host it is */
	long sessions;              /* statistics: sessions started */
	int reached;                /* some session to it made a TCP connection */
	int unreached;              /* counted in sched.hosts_unreached */
};

struct job {
	struct sched *s;
	struct shost *h;
	struct saddr *cur;          /* the address whose RCPT is being asked */
	struct sdomain *probe_d;    /* the domain whose catch-all probe is being asked */
	struct sdomain *last_d;     /* the domain of its last RCPT (pinned: asked_by) */
	int concurrent;             /* sessions open to the host when this one started, itself included */
	int offered;                /* RCPTs asked so far */
	int admitted;               /* the host accepted MAIL FROM */
	int waiting;                /* idle, in h->idle */
	double started;             /* monotonic seconds */
	struct job *prev, *next;    /* in sched.jobs */
	struct job *idle_next;
	char mx_name[256];          /* the MX name the session connects to (SNI, reports) */
	char probe_addr[300];
	struct smtp_session *session;
};

struct sched {
	struct event_base *base;
	struct probe_config cfg;    /* copy: sessions never fall back by themselves */
	struct sched_opts o;
	struct dns *dns;
	SSL_CTX *ssl;
	struct sched_callbacks cb;
	void *ctx;
	struct sdomain *domains[SCHED_BUCKETS];
	struct shost *hosts[SCHED_BUCKETS];
	struct shost *work;         /* hosts with waiting domains */
	struct job *jobs;           /* open sessions */
	struct event *pump_timer;
	int pump_armed;
	size_t held;
	size_t ndomains;            /* sdomains in the table (freed when idle) */
	size_t peak_domains, peak_held; /* the most held at once */
	size_t nhosts;              /* shosts in the table */
	size_t peak_hosts;          /* the most at once */
	long hosts_let_go;          /* idle hosts handed to the owner (host_saved) and freed */
	size_t active;
	int draining;
	long sessions, retries;
	size_t hosts_reached;       /* hosts some session made a TCP connection to */
	size_t hosts_unreached;     /* hosts whose connections failed, never reached */
	int tracing;                /* transcripts are recorded (cfg.keep_traces) */
	double t0;                  /* their clock origin: when the scheduler started */
	struct trace *scratch;      /* an address's transcript being put together (sched_report) */
	struct trace *scratch_domain; /* ... its domain's part (sched_domain_trace) */
};

/* ---- sched.c ---- */

/* sched_pump - start every session the limits allow now; wake up later for the rest */
void sched_pump(struct sched *s);

/* sched_host_idle - H may have nothing left: let it go when the owner keeps host states */
void sched_host_idle(struct sched *s, struct shost *h);

/* ---- sched_flow.c: host flow control (pure; given the time) ---- */

void sched_flow_init(struct sched_flow *f, int per_host);
int sched_session_failed(enum smtp_end e);
int sched_is_pushback(const struct smtp_session_result *sr);
int sched_flow_paused(const struct sched_flow *f, double now);
int sched_flow_may_start(const struct sched_flow *f, int active, double now);
double sched_flow_wake_at(const struct sched_flow *f, int active);
int sched_flow_wants_session(const struct sched_flow *f, size_t queued, int active);
void sched_flow_started(struct sched_flow *f, double now);
void sched_flow_closed(struct sched_flow *f, double now);
void sched_flow_admitted(struct sched_flow *f, double rtt_sample);
int sched_flow_failed(struct sched_flow *f, const struct smtp_session_result *sr, int concurrent,
                      double now);
void sched_flow_rcpt_limit(struct sched_flow *f, int limit);

/* ---- sched_route.c: tables, queues, routing and failure attribution ---- */

unsigned sched_hash(const char *a, const char *b);
char *sched_strdup(const char *v);
const char *sched_source_for(struct sched *s, const char *domain, const char *recorded);
struct shost *sched_host_get(struct sched *s, const struct sockaddr *addr, const char *source);
void sched_host_state_get(const struct shost *h, struct store_host *st);
void sched_host_state_set(struct shost *h, const struct store_host *st);
void sched_domain_failed_host(struct sched *s, struct sdomain *d, struct shost *h);
socklen_t sched_route_addr(const struct sroute *r, size_t k, struct sockaddr_storage *out);
struct sdomain *sched_domain_get(struct sched *s, const char *name, const char *source);
void sched_domain_free_if_idle(struct sched *s, struct sdomain *d);
void sched_saddr_free(struct saddr *a);
void sched_queue_push(struct sdomain *d, struct saddr *a);
void sched_queue_push_urgent(struct sdomain *d, struct saddr *a);
struct saddr *sched_queue_pop(struct sdomain *d);
void sched_report(struct sched *s, struct saddr *a, const struct decide_out *v, int attempts,
                  const struct reply *r, const char *detail, const char *mx_host, int tls,
                  const char *trace, int asked);
void sched_domain_trace(const struct sched *s, const struct sdomain *d, struct trace *t);
size_t sched_domain_fail(struct sched *s, struct sdomain *d, size_t n,
                         const struct decide_in *in0, const struct reply *r, const char *detail,
                         const char *mx_host, const char *trace);
void sched_host_wake(struct shost *h);
void sched_host_unready(struct sdomain *d);
struct sdomain *sched_host_pick(struct sched *s, struct shost *h, int *probe, double now);
void sched_domain_schedule(struct sched *s, struct sdomain *d, double now);
int sched_domain_answer(struct sched *s, struct sdomain *d, const struct dns_result *r,
                        double now);
void sched_host_note_failure(struct shost *h, const struct smtp_session_result *sr);

/* What a failed session's failure lands on (sched_attr_plan). */
enum sched_attr_scope {
	SCHED_ATTR_NONE = 0,        /* nothing: nobody waiting is charged */
	SCHED_ATTR_DOMAIN,          /* the waiting addresses of the domain it was asking about */
	SCHED_ATTR_HOST             /* the waiting addresses of the host's domains */
};

struct sched_attr_in {
	enum smtp_end end;          /* how the session ended */
	int paused;                 /* its failure just paused the host */
	int draining;               /* the scheduler is stopping */
	int waiting;                /* it ended while waiting idle for work */
	int admitted;               /* MAIL FROM was accepted */
	int greeted;                /* the host greeted it (2xx banner) */
	int offered;                /* RCPTs it asked */
};

struct sched_attr {
	enum sched_attr_scope scope;
	size_t n;                   /* at most this many addresses (SIZE_MAX: all) */
	int move_ungreeted;         /* a domain with another MX host moves there instead */
};

void sched_attr_plan(const struct sched_attr_in *in, struct sched_attr *out);
void sched_attr_apply(struct sched *s, struct shost *h, struct sdomain *last_d,
                      const struct sched_attr *a, double now);

/* ---- sched_probe.c: the per-domain catch-all probe ---- */

void sched_probe_local(const char *domain, char *out, size_t n);
void sched_probe_stored(struct sched *s, struct sdomain *d);
void sched_probe_policy(struct sdomain *d, const struct dns_result *r);
int sched_probe_gate(const struct sdomain *d, int *probe, double now);
const char *sched_probe_begin(struct job *j, struct sdomain *d);
void sched_probe_end(struct sched *s, struct sdomain *d, int answered, enum reply_outcome o,
                     double now);
int sched_probe_holds(const struct sdomain *d, enum reply_outcome o, int last_attempt);
void sched_domain_catch_all(struct sched *s, struct sdomain *d);

#endif
