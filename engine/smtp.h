/*
 * smtp - one SMTP probe session as an explicit state machine over a libevent bufferevent:
 * connect (next MX address on failure or a 4xx/5xx banner) -> banner -> EHLO (HELO fallback)
 * -> STARTTLS when offered (OpenSSL filter; certificate problems do not stop a probe; on a TLS
 * failure one retry in plain text unless the server insists on TLS) -> EHLO -> MAIL FROM ->
 * RCPT TO ... (RSET between transactions) -> QUIT. Never DATA, never BDAT. A RCPT refused for
 * the transaction's recipient limit (452 4.5.3) is asked again after RSET and MAIL FROM, and
 * later transactions of the session stay within the limit so found (result.rcpt_limit).
 *
 * The session pulls the addresses to probe from its owner (next_rcpt) and reports each RCPT
 * outcome (rcpt_done) and its own end (done). Replies are read as bounded lines (reply.h)
 * and every step has a deadline that partial data does not extend, so a hostile server costs
 * bounded memory and time. The session owns its socket, bufferevent, SSL and timers, and frees
 * them itself after calling done; the owner must not touch the session after done.
 */
#ifndef MAILSIFT_SMTP_H
#define MAILSIFT_SMTP_H

#include <event2/util.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include "engine/config.h"
#include "engine/reply.h"

struct event_base;

#define SMTP_MAX_TARGETS 16   /* MX addresses a session may be given */

/* Where to connect: one address of one MX host. */
struct smtp_target {
	const char *host;                 /* MX host name (SNI, reports) */
	struct sockaddr_storage addr;     /* port is set by the session */
	socklen_t addrlen;
};

/* How a session ended, when it did not just QUIT after the last address. */
enum smtp_end {
	SMTP_END_OK = 0,          /* every pulled address got an answer; QUIT sent */
	SMTP_END_CONNECT,         /* no target accepted a connection */
	SMTP_END_TIMEOUT,         /* a step's deadline passed */
	SMTP_END_BANNER,          /* every reachable target refused us in its banner */
	SMTP_END_REFUSED,         /* HELO/EHLO or MAIL FROM refused (about us: policy) */
	SMTP_END_TEMPORARY,       /* a 4xx before RCPT (MAIL FROM greylisted, 421 mid-session) */
	SMTP_END_THROTTLED,       /* 421 / 4.7.x: the host pushes back */
	SMTP_END_TLS,             /* TLS failed and the server insists on it */
	SMTP_END_PROTOCOL,        /* garbage, an oversized or endless reply, a reply cut by a close:
	                           * a server that talks garbage is not asked again */
	SMTP_END_DROPPED,         /* the server closed or reset the connection between replies after
	                           * connecting (load balancers, idle limits, fail2ban): retried */
	SMTP_END_REJECTIONS,      /* stopped early after too many rejected RCPTs (not a failure) */
	SMTP_END_CANCELLED        /* smtp_cancel */
};

struct smtp_session_result {
	enum smtp_end end;
	enum reply_outcome outcome;   /* classification of the deciding reply, when there was one */
	const struct reply *reply;    /* the deciding reply, or NULL (timeout, connect failure) */
	const char *detail;           /* short text: "connect to 127.0.1.99:25: Connection refused" */
	const char *mx_host;          /* the host the session talked to last, or NULL */
	int tls;                      /* the session ran over TLS */
	int smtputf8;                 /* the server advertised SMTPUTF8 */
	int greeted;                  /* a host sent a 2xx banner (the session got past connecting) */
	int connected;                /* a TCP connection was established, to some target */
	int rcpt_limit;               /* the server said "too many recipients" (452 4.5.3) after this
	                               * many RCPTs of a transaction: its limit; 0 when it did not */
	/* for the session log (done only) */
	int rcpts;                    /* RCPT commands sent */
	double seconds;               /* from the first connect to the end */
	double reply_ms;              /* mean time from a command (or the connection) to its reply,
	                               * milliseconds; 0 when no reply came */
	int last_code;                /* the last reply received: its code, 0 when none */
	const char *last_enhanced;    /* ... its enhanced code ("" when none) */
	const char *last_text;        /* ... the text of its first line, cut at SMTP_LAST_TEXT_MAX */
	/* with smtp_trace: the transcript as it concerns the address (common/trace.h lines): in
	 * rcpt_done the session up to the address's transaction and its own RCPT exchange (other
	 * addresses' RCPTs left out), in done the whole session with its end; else NULL */
	const char *trace;
};

#define SMTP_LAST_TEXT_MAX 200    /* bytes of the last reply's text kept for the session log */

/* next_rcpt's *id with a NULL address: nothing to ask now, more is coming (smtp_resume) */
#define SMTP_WAIT (-2L)

struct smtp_callbacks {
	/* next_rcpt - the next address to probe (its id in *id), or NULL to finish; called once
	 * the session is ready for a RCPT. NULL with *id = SMTP_WAIT: the session waits idle,
	 * at most the reply timeout (then QUIT), for smtp_resume. Returned strings must stay valid
	 * until rcpt_done. */
	const char *(*next_rcpt)(void *ctx, long *id, int *needs_smtputf8);
	/* rcpt_done - the answer for address ID */
	void (*rcpt_done)(void *ctx, long id, enum reply_outcome o, const struct reply *r,
	                  const struct smtp_session_result *s);
	/* done - the session is over; addresses pulled but not answered get END's failure */
	void (*done)(void *ctx, const struct smtp_session_result *s);
	/* connected - a TCP connection was established (NULL: not wanted) */
	void (*connected)(void *ctx);
};

struct smtp_session;

/* smtp_start - begin a session to TARGETS (tried in order) with C's settings, from local
 * address SOURCE (an IP literal; NULL or "": the system's choice); SSL_CTX may be NULL (no
 * STARTTLS). Callbacks run later from the loop. NULL when out of memory. */
struct smtp_session *smtp_start(struct event_base *base, const struct probe_config *c,
                                SSL_CTX *ssl, const struct smtp_target *targets,
                                size_t ntargets, const char *source,
                                const struct smtp_callbacks *cb, void *ctx);

/* smtp_start_connected - a session over FD, a stream socket already connected to the server
 * TARGET names (the banner is awaited at once; no STARTTLS, no other target, no connected
 * callback). Tests and the SMTP fuzz target drive sessions this way over a socketpair. The
 * session owns FD. NULL when out of memory (FD is then the caller's). */
struct smtp_session *smtp_start_connected(struct event_base *base, const struct probe_config *c,
                                          const struct smtp_target *target, evutil_socket_t fd,
                                          const struct smtp_callbacks *cb, void *ctx);

/* smtp_expire - act as if the current step's deadline had passed, now (time without waiting:
 * tests and fuzzing); from outside the loop's callbacks of this session. Done may run. */
void smtp_expire(struct smtp_session *s);

/* smtp_set_rcpt_limit - at most N RCPTs per transaction (a limit the host showed before; fewer
 * than the configuration's), N > 0; call before the loop runs the session */
void smtp_set_rcpt_limit(struct smtp_session *s, int n);

/* smtp_trace - record the session's transcript, times counted from T0 (clock_now() seconds),
 * at most DEF_TRACE_SESSION_BYTES; call before the loop runs the session. -1 when out of
 * memory (the session goes on without) */
int smtp_trace(struct smtp_session *s, double t0);

/* smtp_resume - an idle session asks next_rcpt again (soon, from the loop); else nothing */
void smtp_resume(struct smtp_session *s);

/* smtp_cancel - stop now (QUIT is not waited for); done runs with SMTP_END_CANCELLED */
void smtp_cancel(struct smtp_session *s);

/* smtp_ssl_ctx - a client SSL_CTX for opportunistic STARTTLS (no certificate verification) */
SSL_CTX *smtp_ssl_ctx(void);

/* smtp_end_name - "ok", "connect", ... */
const char *smtp_end_name(enum smtp_end e);

/* smtp_end_outcome - what a session that ended E was, for the session log: "completed" (ok,
 * stopped after rejections), "refused" (banner, HELO/MAIL FROM refused, TLS required),
 * "pushback" (throttled, temporary), "timed_out", "dropped", "connect_failed",
 * "protocol_error", "cancelled" */
const char *smtp_end_outcome(enum smtp_end e);

#endif
