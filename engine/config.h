/*
 * config - every tunable of the probe engine, its default, its unit and why (STYLE.md: one
 * place). The CLI fills a struct probe_config from these defaults and the command line; the
 * engine reads it and never invents a number of its own.
 */
#ifndef MAILSIFT_CONFIG_H
#define MAILSIFT_CONFIG_H

#include <stddef.h>

/* SMTP port of real mail exchangers (RFC 5321). Tests point it at a loopback world. */
#define DEF_SMTP_PORT 25
/* Connect timeout, seconds: Postfix's smtp_connect_timeout is 30 s. */
#define DEF_CONNECT_TIMEOUT 30.0
/* Per-reply timeout, seconds: RFC 5321 4.5.3.2 asks for 5 minutes for the banner, MAIL and
 * RCPT; probers use 10-60 s. 60 s keeps slow but honest servers and bounds hostile ones. */
#define DEF_REPLY_TIMEOUT 60.0
/* First greylist retry after this many seconds: postgrey delays 300 s; retrying at about
 * 6 minutes passes it (DESIGN.md). Later retries back off (x5, x2, x2: ~30 min, 1 h, 2 h). */
#define DEF_GREYLIST_DELAY 360.0
/* Attempts per address, the first included, before a temporary failure becomes unknown. */
#define DEF_MAX_ATTEMPTS 4
/* Local part of the default MAIL FROM, at the HELO name (verify@HELO, whether the HELO name is
 * the host's or --helo's). An address we own, never a big provider's: a sender it could not
 * verify would get us refused. */
#define DEF_MAIL_FROM_LOCAL "verify"
/* RCPT commands per transaction before RSET: RFC 5321 says servers take at least 100; we stay
 * well under to look like ordinary mail. */
#define DEF_RCPTS_PER_TRANSACTION 25
/* Rejected RCPTs after which a session stops: Postfix slows a client after 10 errors
 * (smtpd_soft_error_limit) and drops it after 20. */
#define DEF_MAX_REJECTIONS 9
/* MX addresses a session tries to connect to before giving up (DESIGN.md: at least two). */
#define DEF_CONNECT_ATTEMPTS 3

/* Scheduler (engine/sched). */
/* Sessions open at once over all hosts; raised RLIMIT_NOFILE permitting. */
#define DEF_CONCURRENCY 2000
/* Ceiling of simultaneous sessions to one MX host address (from one source address): Postfix
 * allows 20 per destination, OpenSMTPD 10 per host; a prober should be the politer one. */
#define DEF_PER_HOST 10
/* Window a host starts with: slow start, grown by one per session the host admits (MAIL FROM
 * accepted) up to the ceiling (DEF_PER_HOST, or what a 421 found), as engine/sched.h says. */
#define DEF_HOST_WINDOW_START 2
/* Seconds between two new connections to one host, and after a session to it ends (the host
 * may still count the closed one): spreads a burst without idling it. */
#define DEF_HOST_SPACING 0.02
/* Consecutive failed sessions (refused, timed out, throttled, ...) before a host is paused;
 * then its waiting addresses get its last failure (retried later, as for greylisting). */
#define DEF_FAILURES_TO_PAUSE 3
/* Pause of a failing host: 15 s x penalty^2, at most an hour (OpenSMTPD's route penalty). */
#define DEF_PAUSE_BASE 15.0
#define DEF_PAUSE_MAX 3600.0
/* Addresses one session asks about before QUIT (four transactions of 25): long enough to pay
 * for the connection, short enough to look like ordinary mail. */
#define DEF_SESSION_ADDRESSES 100
/* A host gets one more session while its waiting addresses outnumber its open sessions times
 * DEF_SESSION_ADDRESSES, or times DEF_SESSION_MIN_ADDRESSES when its round trip is at least
 * DEF_SLOW_RTT seconds (a slow host pays for parallel sessions, a fast one for connections). */
#define DEF_SLOW_RTT 0.005
#define DEF_SESSION_MIN_ADDRESSES 10
/* Distinct MX hosts whose TCP connection failed (refused, timed out) with not one connection
 * made to any host, after which a run stops: outbound port 25 is blocked here (home ISPs and
 * many clouds do it), and going on would only turn the whole list into unknowns after hours
 * of retries. One live host among them and the run goes on. */
#define DEF_BLOCKED_HOSTS 20
/* Seconds a session is reused for at most: long sessions look like a harvester. */
#define DEF_SESSION_SECONDS 180.0
/* Seconds open sessions get to finish after a stop is asked (run_stop: the first SIGINT or
 * SIGTERM of the command line). */
#define DEF_DRAIN_SECONDS 5.0
/* Seconds between a run's progress reports (and its periodic checks: commits, due retries). */
#define DEF_RUN_PROGRESS_TICK 0.1
/* Seconds between looks for new work of a run that keeps running once all is done (a server):
 * the job store is scanned from the start each time, which costs one indexed query. */
#define DEF_RUN_IDLE_POLL 1
/* Addresses a run reads from the job store per query: large enough that the query's cost is
 * spread, small enough that a claim never stalls the loop for long. */
#define DEF_RUN_CLAIM_CHUNK 1000
/* File descriptors a run keeps for the job store, DNS and stdio: the session limit is the open
 * files limit minus these. */
#define DEF_RUN_FD_RESERVE 64
/* The progress line's verdict rate: sampled every DEF_RUN_RATE_INTERVAL seconds, a new sample
 * weighing DEF_RUN_RATE_WEIGHT (so about the last 5 s count: a run's rate changes as hosts
 * pause and retries wait). */
#define DEF_RUN_RATE_INTERVAL 1.0
#define DEF_RUN_RATE_WEIGHT 0.2
/* Seconds between counts of the addresses waiting for a retry (one indexed query each). */
#define DEF_RUN_RETRY_STATS_INTERVAL 2.0
/* Seconds a session waits for the reply to QUIT before closing: politeness, not a verdict. */
#define DEF_SMTP_QUIT_TIMEOUT 5.0
/* Server bytes buffered by a session before reading pauses: a few reply lines (a server that
 * floods without line ends is cut off at REPLY_LINE_MAX anyway). */
#define DEF_SMTP_READ_HIGH_WATER (4 * REPLY_LINE_MAX)
/* Results are committed at least this often (seconds) and every DEF_COMMIT_RESULTS results. */
#define DEF_COMMIT_INTERVAL 1.0
#define DEF_COMMIT_RESULTS 2000
/* Addresses held in memory per open session allowed (the working set), at least the minimum:
 * ~100 bytes each. */
#define DEF_WORKING_PER_SESSION 50
#define DEF_WORKING_MIN 20000
/* Distinct recipient domains the working set may span per open session allowed, at least the
 * minimum: ~400 bytes each (its state, its MX routes), so a list of one address per domain
 * holds 20,000 domains (8 MiB) at --concurrency 2000, not 100,000. */
#define DEF_WORKING_DOMAINS_PER_SESSION 10
#define DEF_WORKING_DOMAINS_MIN 2000
/* Seconds between looks for retries that have come due while the pass goes on (one query on
 * the retry index): a greylisted address leaves within about this much of its time. */
#define DEF_RETRY_CLAIM_INTERVAL 1.0

/* DNS (engine/dns). */
/* Seconds a DNS answer kept in the job store is reused by later runs (an hour is the usual
 * lower end of MX TTLs), and the longest an answer stays in memory whatever its TTL says.
 * Temporary failures are never kept. */
#define DEF_DNS_CACHE_SECONDS 3600
/* Names each in-memory DNS cache table (domains; MX host names) keeps once their answers are
 * unused (--dns-cache): about 300 bytes each, so 10,000 is ~3 MiB a table. The job store's
 * cache is the second level: an evicted domain is read back from it, not asked again. */
#define DEF_DNS_CACHE_ENTRIES 10000
/* Milliseconds c-ares waits for the answer to the first try of a query (ARES_OPT_TIMEOUTMS; it
 * doubles the wait for each later try): the system stub resolver's default (resolv.conf
 * "timeout:5"). Tests shorten it with MAILSIFT_DNS_TIMEOUT_MS (read by dns_new). */
#define DEF_DNS_TIMEOUT_MS 5000
/* Tries c-ares makes of one query before it reports a timeout (ARES_OPT_TRIES): the stub
 * resolver's default (resolv.conf "attempts:2"). */
#define DEF_DNS_TRIES 2
/* Times a whole query is sent again after a temporary answer (SERVFAIL, REFUSED, timeout, an
 * answer that does not parse) before the lookup is DNS_TEMPFAIL. With ARES_FLAG_NOCHECKRESP a
 * SERVFAIL or REFUSED comes straight back, not tried again by c-ares: this is its second chance.
 * After that the address is retried later like any temporary failure (DEF_MAX_ATTEMPTS). */
#define DEF_DNS_RETRIES 1
/* Queries handed to c-ares at once; the rest wait in a FIFO. A burst of thousands of UDP
 * queries overflows socket buffers (~200 KB by default, a few hundred datagrams, ours and the
 * resolver's) and turns into timeouts and retries. */
#define DEF_DNS_MAX_INFLIGHT 256
/* Bytes of receive buffer asked for c-ares' UDP sockets (ARES_OPT_SOCK_RCVBUF; the kernel caps
 * it at rmem_max): room for DEF_DNS_MAX_INFLIGHT answers at once. */
#define DEF_DNS_SOCK_RCVBUF (1 << 20)

/* Transcripts (common/trace.h). Bytes one session's transcript holds at most: a banner, EHLO,
 * STARTTLS, EHLO, MAIL FROM and a RCPT fit in a tenth of it; a hostile server's endless
 * replies are cut. */
#define DEF_TRACE_SESSION_BYTES 16384
/* Lines of one reply recorded before the rest are counted (the last is always recorded). */
#define DEF_TRACE_REPLY_LINES 8
/* Bytes of one address's transcript the job store keeps (head and tail, a cut between). */
#define DEF_TRACE_STORED_BYTES 4096

/* Greylist backoff factors after the first delay: 6 min, 30 min, 1 h, 2 h. */
#define GREYLIST_BACKOFF { 1.0, 5.0, 10.0, 20.0 }

/* Which addresses' transcripts a run keeps in the job store (--keep-traces): none (nothing is
 * recorded), those whose verdict is unknown or risky, those waiting for a retry and real-time
 * checks (the default: what `explain` and the API are asked about), or every address
 * (`verify --trace`). */
enum trace_keep {
	TRACE_KEEP_NONE = 0,
	TRACE_KEEP_PROBLEMS,
	TRACE_KEEP_ALL
};
/* Rows the job store's session log keeps (the newest): a server that runs for months writes
 * one per session; checked every DEF_SESSION_LOG_TRIM_EVERY sessions. A 10-million-address
 * list makes about a million sessions. */
#define DEF_SESSION_LOG_KEEP 1000000
#define DEF_SESSION_LOG_TRIM_EVERY 10000
/* Bytes of one address's transcript kept with TRACE_KEEP_ALL (verify --trace shows it whole
 * unless a server made it huge). */
#define DEF_TRACE_ALL_BYTES 16384
/* Bytes of one domain's part of the transcripts (its DNS answer, its catch-all probe). */
#define DEF_TRACE_DOMAIN_BYTES 4096

struct probe_config {
	const char *helo;             /* HELO/EHLO name: the host's FQDN by default */
	const char *mail_from;        /* envelope sender; default DEF_MAIL_FROM_LOCAL@<helo>
	                               * (NULL until config_finish) */
	int smtp_port;
	double connect_timeout;       /* seconds */
	double reply_timeout;         /* seconds, per command */
	double greylist_delay;        /* seconds before the first retry of a 4xx */
	int max_attempts;
	int rcpts_per_transaction;
	int max_rejections;
	int connect_attempts;
	const char *resolvers[8];     /* --resolver HOST[:PORT]; none: the system's resolv.conf */
	size_t nresolvers;
	int starttls;                 /* use STARTTLS when offered (default 1) */
	int allow_private_mx;         /* --allow-private-mx: connect to MX addresses that are not
	                               * public (loopback, private, ...: engine/netaddr.h); 0 */
	int dns_cache;                /* --dns-cache N: names each in-memory DNS cache table keeps
	                               * (dns_cache_limit) [DEF_DNS_CACHE_ENTRIES] */
	enum trace_keep keep_traces;  /* --keep-traces [TRACE_KEEP_PROBLEMS] */
};

/* config_defaults - C filled with the DEF_ values; helo from the host name (its FQDN when one
 * can be found), written into the caller's HELO_BUF (which must live as long as C); mail_from
 * is left NULL: config_finish builds it once the options have said which HELO name is used */
void config_defaults(struct probe_config *c, char *helo_buf, size_t helo_len);

/* config_finish - after the options: refuse a HELO name that is not fully qualified (no dot,
 * and not an address literal "[...]"): -1 with a message in ERR saying to pass --helo NAME;
 * else 0, and unless --mail-from set it, mail_from is DEF_MAIL_FROM_LOCAL@<helo> written into
 * FROM_BUF (which must live as long as C) */
int config_finish(struct probe_config *c, char *from_buf, size_t from_len, char *err,
                  size_t errlen);

/* config_helo_qualified - 1 when NAME may be sent as HELO: it has a dot (and does not end
 * with one alone) or is an address literal "[...]" */
int config_helo_qualified(const char *name);

/* config_trace_kept - an attempt's transcript is kept under C's keep_traces: every one (all),
 * or (problems) a RETRY's, an unknown or risky verdict's (UNKNOWN_OR_RISKY) and a real-time
 * check's (URGENT: someone waits; the API may ask for it). The scheduler puts together only
 * the transcripts kept; the run writes them. */
int config_trace_kept(const struct probe_config *c, int retry, int unknown_or_risky, int urgent);

/* config_greylist_wait - seconds to wait before attempt number ATTEMPT (2, 3, ...) */
double config_greylist_wait(const struct probe_config *c, int attempt);

#endif
