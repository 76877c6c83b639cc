/*
 * smtp - one probe session (see smtp.h for the contract).
 *
 * IO is kept apart from protocol: the bufferevent callbacks turn bytes and socket events into
 * "line", "connected", "tls ready", "closed" and "deadline" events; smtp_reply() and the
 * state table decide what to send next. Nothing here reads a socket or calls SSL_read itself.
 */
#include "engine/smtp.h"

#include "common/clock.h"
#include "common/err.h"
#include "common/ipaddr.h"
#include "common/timeval.h"
#include "common/trace.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>


enum smtp_state {
	SMTP_CONNECTING,
	SMTP_BANNER,
	SMTP_EHLO,
	SMTP_HELO,
	SMTP_STARTTLS,
	SMTP_TLS_HANDSHAKE,
	SMTP_MAIL,
	SMTP_RCPT,
	SMTP_RSET,
	SMTP_IDLE,
	SMTP_QUIT,
	SMTP_CLOSED
};

/* Per-state facts: name for logs, the command whose reply is awaited, which timeout applies. */
static const struct {
	const char *name;
	enum reply_cmd cmd;
	int connect_timeout;  /* 1: the connect timeout applies, else the reply timeout */
} smtp_states[] = {
	[SMTP_CONNECTING] = {"connecting", CMD_BANNER, 1},
	[SMTP_BANNER] = {"banner", CMD_BANNER, 0},
	[SMTP_EHLO] = {"ehlo", CMD_EHLO, 0},
	[SMTP_HELO] = {"helo", CMD_HELO, 0},
	[SMTP_STARTTLS] = {"starttls", CMD_STARTTLS, 0},
	[SMTP_TLS_HANDSHAKE] = {"tls-handshake", CMD_STARTTLS, 0},
	[SMTP_MAIL] = {"mail", CMD_MAIL, 0},
	[SMTP_RCPT] = {"rcpt", CMD_RCPT, 0},
	[SMTP_RSET] = {"rset", CMD_RSET, 0},
	[SMTP_IDLE] = {"idle", CMD_RCPT, 0},
	[SMTP_QUIT] = {"quit", CMD_QUIT, 0},
	[SMTP_CLOSED] = {"closed", CMD_QUIT, 0},
};

static const char *const smtp_end_names[] = {
	[SMTP_END_OK] = "ok",
	[SMTP_END_CONNECT] = "connect",
	[SMTP_END_TIMEOUT] = "timeout",
	[SMTP_END_BANNER] = "banner",
	[SMTP_END_REFUSED] = "refused",
	[SMTP_END_TEMPORARY] = "temporary",
	[SMTP_END_THROTTLED] = "throttled",
	[SMTP_END_TLS] = "tls",
	[SMTP_END_PROTOCOL] = "protocol",
	[SMTP_END_DROPPED] = "dropped",
	[SMTP_END_REJECTIONS] = "rejections",
	[SMTP_END_CANCELLED] = "cancelled",
};

struct smtp_session {
	struct event_base *base;
	const struct probe_config *cfg;
	SSL_CTX *ssl_ctx;
	struct smtp_callbacks cb;
	void *ctx;

	struct smtp_target target[SMTP_MAX_TARGETS];
	char source[64];              /* local address to bind, "" for any */
	size_t ntargets;
	size_t cur;                   /* index of the target in use */
	int connects;                 /* connection attempts made */

	struct bufferevent *bev;      /* socket, or the TLS filter over it */
	struct event *deadline;       /* the current step's deadline */
	struct event *kick;           /* starts the first connect from the loop */
	enum smtp_state state;
	struct reply_parser parser;

	unsigned ext;                 /* EHLO extensions of the current connection */
	int tls;                      /* TLS is up on this connection */
	int plain_only;               /* do not STARTTLS on this connection (retry after TLS failure) */
	int tls_retried;              /* the plain-text retry was used */
	int rcpts_in_tx;              /* RCPTs in the current transaction */
	int rcpt_limit;               /* RCPTs per transaction: the configuration's or the host's */
	int limit_found;              /* the limit this session found (452 4.5.3), 0 if none */
	const char *again;            /* the address to ask again in the next transaction, or NULL */
	int again_utf8;
	int rejections;               /* rejected RCPTs in this session */
	long cur_id;                  /* id of the address awaiting its RCPT reply */
	int have_cur;

	enum smtp_end pending_end;    /* how the session ends once QUIT is answered */
	enum reply_outcome pending_outcome;
	struct reply last;            /* the deciding reply, when there is one */
	int have_last;
	char detail[256];
	int greeted;                  /* a 2xx banner arrived on some connection */
	int connected;                /* a TCP connection was established to some target */
	int busy;                     /* inside the read loop: freeing waits for it */
	int finished;                 /* done was called; free when no longer busy */

	/* for the session log */
	double t_first;               /* clock_now() of the first connect, 0 before */
	double t_sent;                /* ... of the last command sent (or the connect), 0 when its
	                               * reply came */
	double reply_sum;             /* seconds waited for replies */
	int replies;                  /* replies waited for */
	int rcpts;                    /* RCPT commands sent */
	int last_code;                /* the last reply: code, enhanced code, text (cut) */
	char last_enhanced[16];
	char last_text[SMTP_LAST_TEXT_MAX];

	/* the transcript (smtp_trace), NULL when not recorded */
	struct trace *tr;
	size_t tr_greet;              /* its length before this connection's first MAIL FROM */
	size_t tr_tx;                 /* ... after the current transaction's MAIL FROM reply */
	size_t tr_rcpt;               /* ... before the current RCPT command */
	int tr_lines;                 /* lines of the current reply seen */
	int tr_skipped;               /* ... of them not recorded (after DEF_TRACE_REPLY_LINES) */
	char *seg;                    /* an address's part of the transcript (tr_segment) */
	size_t segcap;
};

static void smtp_connect_next(struct smtp_session *s);
static void smtp_read_cb(struct bufferevent *bev, void *arg);
static void smtp_event_cb(struct bufferevent *bev, short what, void *arg);

const char *smtp_end_outcome(enum smtp_end e)
{
	static const char *const outcome[] = {
		[SMTP_END_OK] = "completed", [SMTP_END_CONNECT] = "connect_failed",
		[SMTP_END_TIMEOUT] = "timed_out", [SMTP_END_BANNER] = "refused",
		[SMTP_END_REFUSED] = "refused", [SMTP_END_TEMPORARY] = "pushback",
		[SMTP_END_THROTTLED] = "pushback", [SMTP_END_TLS] = "refused",
		[SMTP_END_PROTOCOL] = "protocol_error", [SMTP_END_DROPPED] = "dropped",
		[SMTP_END_REJECTIONS] = "completed", [SMTP_END_CANCELLED] = "cancelled",
	};

	return (unsigned)e < sizeof outcome / sizeof outcome[0] ? outcome[e] : "?";
}

const char *smtp_end_name(enum smtp_end e)
{
	return (unsigned)e < sizeof smtp_end_names / sizeof smtp_end_names[0] ? smtp_end_names[e]
	                                                                       : "?";
}

SSL_CTX *smtp_ssl_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL)
		return NULL;
	/* Opportunistic TLS (RFC 7435): an untrusted certificate is better than plain text, and a
	 * probe must not fail because of it. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
	return ctx;
}

static void __attribute__((format(printf, 2, 3))) set_detail(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(s->detail, sizeof s->detail, fmt, ap);
	va_end(ap);
}

static const char *target_text(const struct smtp_session *s, char *buf, size_t n)
{
	const struct smtp_target *t = &s->target[s->cur];
	char ip[IPADDR_TEXT_MAX];

	snprintf(buf, n, "%s[%s]:%d", t->host,
	         ipaddr_text((const struct sockaddr *)&t->addr, ip, sizeof ip), s->cfg->smtp_port);
	return buf;
}

static void arm_deadline(struct smtp_session *s, double secs)
{
	struct timeval tv = timeval_from_secs(secs);

	evtimer_add(s->deadline, &tv);
}

/* enter - move to STATE and arm its deadline (partial replies never extend it) */
static void enter(struct smtp_session *s, enum smtp_state state)
{
	s->state = state;
	reply_parser_init(&s->parser);
	if (state == SMTP_CLOSED) {
		evtimer_del(s->deadline);
		return;
	}
	arm_deadline(s, state == SMTP_QUIT ? DEF_SMTP_QUIT_TIMEOUT
	                : smtp_states[state].connect_timeout ? s->cfg->connect_timeout
	                                                     : s->cfg->reply_timeout);
}

static void __attribute__((format(printf, 3, 4)))
send_cmd(struct smtp_session *s, enum smtp_state next, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof line - 2)
		n = (int)strlen(line); /* cannot happen: an address is at most 254 bytes */
	s->t_sent = clock_now();
	if (s->tr)
		trace_add_bytes(s->tr, s->t_sent, "C", line, (size_t)n);
	line[n] = '\r';
	line[n + 1] = '\n';
	evbuffer_add(bufferevent_get_output(s->bev), line, (size_t)n + 2);
	enter(s, next);
}

static void close_connection(struct smtp_session *s)
{
	if (s->bev) {
		bufferevent_free(s->bev);
		s->bev = NULL;
	}
	enter(s, SMTP_CLOSED);
}

static void session_free(struct smtp_session *s)
{
	s->finished = 1;
	if (s->busy)
		return; /* the read loop frees it when it unwinds */
	if (s->bev)
		bufferevent_free(s->bev);
	if (s->deadline)
		event_free(s->deadline);
	if (s->kick)
		event_free(s->kick);
	trace_free(s->tr);
	free(s->seg);
	free(s);
}

/* ---- the transcript (nothing here runs unless smtp_trace was called) ---- */

/* tr_segment - the part of the transcript that concerns the address asked now: the session up
 * to its transaction, then its own RCPT exchange from FROM on (the session's buffer when FROM
 * is the transaction's start); NULL when not recorded or out of memory */
static const char *tr_segment(struct smtp_session *s, size_t from)
{
	struct trace *t = s->tr;
	size_t head, tail;

	if (t == NULL || t->buf == NULL)
		return NULL;
	head = s->tr_tx < from ? s->tr_tx : from;
	tail = t->len - from;
	if (head + tail + 1 > s->segcap) {
		char *b = realloc(s->seg, head + tail + 1);
		if (b == NULL)
			return NULL;
		s->seg = b;
		s->segcap = head + tail + 1;
	}
	memcpy(s->seg, t->buf, head);
	memcpy(s->seg + head, t->buf + from, tail);
	s->seg[head + tail] = '\0';
	return s->seg;
}

/* tr_reply_line - LINE (N bytes) of the current reply, which it ENDS or not: the first
 * DEF_TRACE_REPLY_LINES lines and the last are recorded, the others counted */
static void tr_reply_line(struct smtp_session *s, const char *line, size_t n, int ends)
{
	double now = clock_now();

	if (s->tr_lines++ < DEF_TRACE_REPLY_LINES || ends) {
		if (s->tr_skipped)
			trace_add(s->tr, now, "note", "%d reply lines left out", s->tr_skipped);
		trace_add_bytes(s->tr, now, "S", line, n);
		s->tr_skipped = 0;
	} else {
		s->tr_skipped++;
	}
	if (ends)
		s->tr_lines = 0;
}

/* tr_tls - what the handshake on BEV gave: version, cipher, certificate subject, verified */
static void tr_tls(struct smtp_session *s, struct bufferevent *bev)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	X509 *cert = ssl ? SSL_get1_peer_certificate(ssl) : NULL;
	char subject[256] = "no certificate";
	long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;

	if (cert)
		X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject);
	trace_add(s->tr, clock_now(), "tls", "%s %s, certificate %s, verified: %s",
	          ssl ? SSL_get_version(ssl) : "?", ssl ? SSL_get_cipher_name(ssl) : "?", subject,
	          cert == NULL ? "no" : v == X509_V_OK ? "yes" : X509_verify_cert_error_string(v));
	X509_free(cert);
}

int smtp_trace(struct smtp_session *s, double t0)
{
	if (s->tr == NULL)
		s->tr = trace_new(DEF_TRACE_SESSION_BYTES, t0);
	return s->tr ? 0 : -1;
}

/* finish - report the end and free the session */
static void finish(struct smtp_session *s, enum smtp_end end, enum reply_outcome o)
{
	struct smtp_session_result r;

	close_connection(s);
	memset(&r, 0, sizeof r);
	if (s->tr) {
		trace_add(s->tr, clock_now(), "end", "%s%s%s", smtp_end_name(end),
		          s->detail[0] ? ": " : "", s->detail);
		r.trace = s->tr->buf;
	}
	r.rcpts = s->rcpts;
	r.seconds = s->t_first > 0 ? clock_now() - s->t_first : 0;
	r.reply_ms = s->replies ? s->reply_sum * 1000.0 / s->replies : 0;
	r.last_code = s->last_code;
	r.last_enhanced = s->last_enhanced;
	r.last_text = s->last_text;
	r.end = end;
	r.outcome = o;
	r.reply = s->have_last ? &s->last : NULL;
	r.detail = s->detail;
	r.mx_host = s->connects > 0 ? s->target[s->cur].host : NULL;
	r.tls = s->tls;
	r.smtputf8 = (s->ext & REPLY_EXT_SMTPUTF8) != 0;
	r.greeted = s->greeted;
	r.connected = s->connected;
	r.rcpt_limit = s->limit_found;
	s->cb.done(s->ctx, &r);
	session_free(s);
}

/* quit_then - say QUIT politely, then finish with END once it is answered (or not) */
static void quit_then(struct smtp_session *s, enum smtp_end end, enum reply_outcome o)
{
	s->pending_end = end;
	s->pending_outcome = o;
	if (s->bev == NULL) {
		finish(s, end, o);
		return;
	}
	send_cmd(s, SMTP_QUIT, "QUIT");
}

static void remember_reply(struct smtp_session *s, const struct reply *r)
{
	s->last = *r;
	s->have_last = 1;
}

/* try_next_target - this connection is no good (connect failed, banner refused): another MX
 * address if one is left and attempts remain, else finish with END */
static void try_next_target(struct smtp_session *s, enum smtp_end end, enum reply_outcome o)
{
	close_connection(s);
	if (s->cur + 1 < s->ntargets && s->connects < s->cfg->connect_attempts) {
		if (s->tr)
			trace_add(s->tr, clock_now(), "note", "%s: %s; the next address", smtp_end_name(end),
			          s->detail);
		s->cur++;
		s->ext = 0;
		s->tls = 0;
		s->plain_only = 0;
		smtp_connect_next(s);
		return;
	}
	finish(s, end, o);
}

/* ---- transactions ---- */

static void next_rcpt(struct smtp_session *s)
{
	const char *addr;
	long id;
	int utf8 = 0;

	if (s->again) {
		/* Refused for the transaction's recipient limit: the first of the new one. */
		addr = s->again;
		s->again = NULL;
		s->have_cur = 1; /* cur_id is still its id */
		s->rcpts_in_tx++;
		s->rcpts++;
		if (s->tr)
			s->tr_rcpt = s->tr->len;
		send_cmd(s, SMTP_RCPT, "RCPT TO:<%s>", addr);
		return;
	}
	for (;;) {
		if (s->rcpts_in_tx >= s->rcpt_limit) {
			if (s->tr) /* the next transaction's addresses see the session, then theirs */
				trace_truncate(s->tr, s->tr_greet);
			send_cmd(s, SMTP_RSET, "RSET");
			return;
		}
		id = 0;
		addr = s->cb.next_rcpt(s->ctx, &id, &utf8);
		if (addr == NULL && id == SMTP_WAIT) {
			/* Nothing yet, more soon: wait without a command (smtp_resume), at most the
			 * reply timeout; the server owes us nothing meanwhile. */
			enter(s, SMTP_IDLE);
			return;
		}
		if (addr == NULL) {
			quit_then(s, SMTP_END_OK, OUTCOME_ACCEPTED);
			return;
		}
		if (utf8 && !(s->ext & REPLY_EXT_SMTPUTF8)) {
			/* RFC 6531: a UTF-8 mailbox only to a server that says SMTPUTF8. */
			struct smtp_session_result r = {.end = SMTP_END_OK, .detail = "server lacks SMTPUTF8",
			                                 .mx_host = s->target[s->cur].host, .tls = s->tls};
			if (s->tr) {
				size_t at = s->tr->len;
				trace_add(s->tr, clock_now(), "note",
				          "not asked: the address needs SMTPUTF8, which the server lacks");
				r.trace = tr_segment(s, at);
				trace_truncate(s->tr, s->tr_tx);
			}
			s->cb.rcpt_done(s->ctx, id, OUTCOME_UNSUPPORTED, NULL, &r);
			continue;
		}
		s->cur_id = id;
		s->have_cur = 1;
		s->rcpts_in_tx++;
		s->again = addr; /* kept until answered: valid until rcpt_done */
		s->again_utf8 = utf8;
		s->rcpts++;
		if (s->tr)
			s->tr_rcpt = s->tr->len;
		send_cmd(s, SMTP_RCPT, "RCPT TO:<%s>", addr);
		return;
	}
}

static void send_mail_from(struct smtp_session *s)
{
	if (s->tr && s->state != SMTP_RSET)
		s->tr_greet = s->tr->len; /* the connection's greeting ends here */
	s->rcpts_in_tx = 0;
	send_cmd(s, SMTP_MAIL, "MAIL FROM:<%s>%s", s->cfg->mail_from,
	         (s->ext & REPLY_EXT_SMTPUTF8) ? " SMTPUTF8" : "");
}

static void start_tls(struct smtp_session *s)
{
	SSL *ssl = SSL_new(s->ssl_ctx);
	struct bufferevent *tls;

	if (ssl == NULL) {
		set_detail(s, "cannot create a TLS session");
		send_mail_from(s);
		return;
	}
	char sni[256];
	snprintf(sni, sizeof sni, "%s", s->target[s->cur].host); /* the macro wants a char * */
	SSL_set_tlsext_host_name(ssl, sni);
	tls = bufferevent_openssl_filter_new(s->base, s->bev, ssl, BUFFEREVENT_SSL_CONNECTING,
	                                     BEV_OPT_CLOSE_ON_FREE);
	if (tls == NULL) {
		SSL_free(ssl);
		set_detail(s, "cannot start TLS");
		send_mail_from(s);
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(tls, 1); /* many MTAs just close */
	s->bev = tls;
	bufferevent_setcb(tls, smtp_read_cb, NULL, smtp_event_cb, s);
	bufferevent_setwatermark(tls, EV_READ, 0, DEF_SMTP_READ_HIGH_WATER);
	bufferevent_enable(tls, EV_READ | EV_WRITE);
	enter(s, SMTP_TLS_HANDSHAKE);
}

/* tls_failed - the handshake failed: one retry in plain text on the same host */
static void tls_failed(struct smtp_session *s, const char *why)
{
	set_detail(s, "TLS with %s failed: %s", s->target[s->cur].host, why);
	if (s->tr)
		trace_add(s->tr, clock_now(), "tls", "failed: %s", why);
	close_connection(s);
	if (!s->tls_retried) {
		s->tls_retried = 1;
		s->plain_only = 1;
		s->ext = 0;
		smtp_connect_next(s);
		return;
	}
	finish(s, SMTP_END_TLS, OUTCOME_UNKNOWN_PERM);
}

/* end_for - how a failed reply before RCPT ends the session */
static enum smtp_end end_for(enum reply_outcome o)
{
	switch (o) {
	case OUTCOME_THROTTLED: return SMTP_END_THROTTLED;
	case OUTCOME_TEMPORARY:
	case OUTCOME_FULL: return SMTP_END_TEMPORARY;
	case OUTCOME_PROTOCOL: return SMTP_END_PROTOCOL;
	default: return SMTP_END_REFUSED;
	}
}

/* smtp_reply - a complete reply R in the current state: decide the next step */
static void smtp_reply(struct smtp_session *s, const struct reply *r)
{
	enum reply_outcome o;
	int ok = r->code >= 200 && r->code < 300;

	if (s->tr && (!ok || s->state == SMTP_RCPT)) { /* every RCPT answer: it makes a verdict */
		char why[256];
		o = reply_classify_why(smtp_states[s->state].cmd, r, why, sizeof why);
		trace_add(s->tr, clock_now(), "rule", "%s", why);
	} else {
		o = reply_classify(smtp_states[s->state].cmd, r);
	}

	switch (s->state) {
	case SMTP_BANNER:
		if (ok) {
			s->greeted = 1;
			send_cmd(s, SMTP_EHLO, "EHLO %s", s->cfg->helo);
			return;
		}
		remember_reply(s, r);
		set_detail(s, "%s refused us in its banner", s->target[s->cur].host);
		try_next_target(s, o == OUTCOME_THROTTLED ? SMTP_END_THROTTLED : SMTP_END_BANNER, o);
		return;
	case SMTP_EHLO:
		if (ok) {
			s->ext = r->ehlo;
			if ((s->ext & REPLY_EXT_STARTTLS) && s->ssl_ctx && !s->tls && !s->plain_only &&
			    s->cfg->starttls)
				send_cmd(s, SMTP_STARTTLS, "STARTTLS");
			else
				send_mail_from(s);
			return;
		}
		if (o == OUTCOME_THROTTLED) {
			remember_reply(s, r);
			quit_then(s, SMTP_END_THROTTLED, o);
			return;
		}
		send_cmd(s, SMTP_HELO, "HELO %s", s->cfg->helo); /* RFC 5321 4.1.4 fallback */
		return;
	case SMTP_HELO:
		if (ok) {
			s->ext = 0;
			send_mail_from(s);
			return;
		}
		remember_reply(s, r);
		quit_then(s, end_for(o), o);
		return;
	case SMTP_STARTTLS:
		if (r->code == 220) {
			start_tls(s);
			return;
		}
		send_mail_from(s); /* STARTTLS refused: go on in plain text */
		return;
	case SMTP_MAIL:
		if (ok) {
			if (s->tr)
				s->tr_tx = s->tr->len; /* the transaction's addresses see what came before */
			next_rcpt(s);
			return;
		}
		remember_reply(s, r);
		if (r->code == 530 && !s->tls) {
			/* RFC 3207: the server insists on TLS, and we could not give it. */
			set_detail(s, "%s requires TLS", s->target[s->cur].host);
			quit_then(s, SMTP_END_TLS, o);
			return;
		}
		quit_then(s, end_for(o), o);
		return;
	case SMTP_RCPT: {
		struct smtp_session_result sr = {.end = SMTP_END_OK, .detail = s->detail,
		                                 .mx_host = s->target[s->cur].host, .tls = s->tls,
		                                 .smtputf8 = (s->ext & REPLY_EXT_SMTPUTF8) != 0,
		                                 .trace = tr_segment(s, s->tr_rcpt)};
		if (o == OUTCOME_TOO_MANY_RCPTS && s->rcpts_in_tx > 1) {
			/* The transaction is full (RFC 5321 4.5.3.1.10): this address opens the next one
			 * (s->again), and no transaction of the session goes past the limit again. The
			 * answer says nothing of the address and costs it nothing. */
			s->rcpt_limit = s->rcpts_in_tx - 1;
			if (s->limit_found == 0 || s->rcpt_limit < s->limit_found)
				s->limit_found = s->rcpt_limit;
			s->have_cur = 0;
			send_cmd(s, SMTP_RSET, "RSET");
			return;
		}
		s->again = NULL;
		s->have_cur = 0;
		if (o == OUTCOME_TOO_MANY_RCPTS) {
			/* Full at the first RCPT of a transaction: a limit per session or per time, not
			 * per transaction. A temporary answer for this address; the others wait for
			 * another session. */
			s->cb.rcpt_done(s->ctx, s->cur_id, OUTCOME_TEMPORARY, r, &sr);
			quit_then(s, SMTP_END_OK, OUTCOME_ACCEPTED);
			return;
		}
		s->cb.rcpt_done(s->ctx, s->cur_id, o, r, &sr);
		if (o == OUTCOME_THROTTLED || o == OUTCOME_POLICY || o == OUTCOME_PROTOCOL) {
			/* About us or broken: the next RCPT would get the same. */
			remember_reply(s, r);
			quit_then(s, o == OUTCOME_THROTTLED ? SMTP_END_THROTTLED
			             : o == OUTCOME_POLICY  ? SMTP_END_REFUSED
			                                    : SMTP_END_PROTOCOL, o);
			return;
		}
		if (!ok && ++s->rejections >= s->cfg->max_rejections) {
			quit_then(s, SMTP_END_REJECTIONS, o);
			return;
		}
		if (s->tr) /* the next addresses do not see this one's exchange (one that ends the
		            * session stays: it is why the session ended) */
			trace_truncate(s->tr, s->tr_tx);
		next_rcpt(s);
		return;
	}
	case SMTP_RSET:
		if (ok) {
			send_mail_from(s);
			return;
		}
		remember_reply(s, r);
		quit_then(s, SMTP_END_PROTOCOL, OUTCOME_PROTOCOL);
		return;
	case SMTP_QUIT:
		finish(s, s->pending_end, s->pending_outcome);
		return;
	case SMTP_CONNECTING:
	case SMTP_TLS_HANDSHAKE:
	case SMTP_IDLE:
	case SMTP_CLOSED:
		break;
	}
	/* Data while connecting, mid-handshake or after close: the server talks out of turn. */
	set_detail(s, "unexpected reply in state %s", smtp_states[s->state].name);
	finish(s, SMTP_END_PROTOCOL, OUTCOME_PROTOCOL);
}

/* protocol_error - the server sent something that is no SMTP reply */
static void protocol_error(struct smtp_session *s, const char *why)
{
	char t[300];

	set_detail(s, "%s from %s in state %s", why, target_text(s, t, sizeof t),
	           smtp_states[s->state].name);
	if (s->state == SMTP_QUIT) {
		finish(s, s->pending_end, s->pending_outcome);
		return;
	}
	if (s->state == SMTP_BANNER) {
		try_next_target(s, SMTP_END_PROTOCOL, OUTCOME_PROTOCOL);
		return;
	}
	finish(s, SMTP_END_PROTOCOL, OUTCOME_PROTOCOL);
}

/* ---- IO events ---- */

/* reply_done_note - R came: the wait for it and R itself, for the session log */
static void reply_done_note(struct smtp_session *s, const struct reply *r)
{
	if (s->t_sent > 0) {
		s->reply_sum += clock_now() - s->t_sent;
		s->replies++;
		s->t_sent = 0;
	}
	s->last_code = r->code;
	memcpy(s->last_enhanced, r->enhanced, sizeof s->last_enhanced);
	size_t n = strnlen(r->text, sizeof s->last_text - 1); /* cut: for the session log */
	memcpy(s->last_text, r->text, n);
	s->last_text[n] = '\0';
}

static void smtp_read_cb(struct bufferevent *bev, void *arg)
{
	struct smtp_session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char line[REPLY_LINE_MAX + 1];

	s->busy++; /* a reply may end the session: it is freed after the loop */
	/* clang-analyzer forgets s->busy > 0 across the owner's callbacks and thinks session_free
	 * freed s; while busy it only marks it */
	// NOLINTNEXTLINE(clang-analyzer-unix.Malloc)
	while (!s->finished && s->bev == bev && s->state != SMTP_CLOSED) {
		size_t eol_len = 0;
		struct evbuffer_ptr p = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF);

		if (p.pos < 0) {
			if (evbuffer_get_length(in) > REPLY_LINE_MAX)
				protocol_error(s, "reply line too long");
			break;
		}
		if ((size_t)p.pos > REPLY_LINE_MAX) {
			protocol_error(s, "reply line too long");
			break;
		}
		evbuffer_remove(in, line, (size_t)p.pos);
		evbuffer_drain(in, eol_len);
		line[p.pos] = '\0';
		enum reply_feed f = reply_feed_line(&s->parser, line, (size_t)p.pos);
		if (s->tr)
			tr_reply_line(s, line, (size_t)p.pos, f != REPLY_MORE);
		switch (f) {
		case REPLY_MORE:
			break;
		case REPLY_DONE: {
			struct reply r = s->parser.r;
			reply_done_note(s, &r);
			smtp_reply(s, &r);
			break;
		}
		case REPLY_BAD:
			protocol_error(s, s->parser.lines >= REPLY_LINES_MAX ? "endless reply"
			                                                     : "garbage instead of a reply");
			break;
		}
	}
	if (--s->busy == 0 && s->finished) // NOLINT(clang-analyzer-unix.Malloc): as above
		session_free(s);
}

static void smtp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct smtp_session *s = arg;
	char t[300];
	int err = EVUTIL_SOCKET_ERROR();

	if (bev != s->bev)
		return;
	if (what & BEV_EVENT_CONNECTED) {
		if (s->state == SMTP_TLS_HANDSHAKE) {
			s->tls = 1;
			s->ext = 0;
			if (s->tr)
				tr_tls(s, bev);
			send_cmd(s, SMTP_EHLO, "EHLO %s", s->cfg->helo); /* RFC 3207: start over */
		} else {
			double now = clock_now();
			s->connected = 1;
			if (s->tr)
				trace_add(s->tr, now, "connect", "connected in %.1f ms",
				          (now - s->t_sent) * 1000.0);
			s->t_sent = now; /* the banner is the connection's reply */
			enter(s, SMTP_BANNER);
			if (s->cb.connected)
				s->cb.connected(s->ctx);
		}
		return;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	switch (s->state) {
	case SMTP_CONNECTING:
		set_detail(s, "connect to %s: %s", target_text(s, t, sizeof t),
		           evutil_socket_error_to_string(err));
		try_next_target(s, SMTP_END_CONNECT, OUTCOME_TEMPORARY);
		return;
	case SMTP_TLS_HANDSHAKE: {
		unsigned long e = bufferevent_get_openssl_error(bev);
		char buf[160] = "connection closed";
		if (e)
			ERR_error_string_n(e, buf, sizeof buf);
		tls_failed(s, buf);
		return;
	}
	case SMTP_QUIT:
		finish(s, s->pending_end, s->pending_outcome); /* closing after QUIT is fine */
		return;
	case SMTP_IDLE:
		/* Closed while we waited for work and owed it nothing: nobody was asked. */
		set_detail(s, "%s closed the idle connection", target_text(s, t, sizeof t));
		finish(s, SMTP_END_OK, OUTCOME_ACCEPTED);
		return;
	default:
		break;
	}
	if (evbuffer_get_length(bufferevent_get_input(bev)) > 0 || s->parser.lines > 0) {
		/* A reply cut off by the close: a server that talks garbage, not asked again. */
		set_detail(s, "%s closed the connection in the middle of a reply in state %s",
		           target_text(s, t, sizeof t), smtp_states[s->state].name);
		if (s->state == SMTP_BANNER)
			try_next_target(s, SMTP_END_PROTOCOL, OUTCOME_PROTOCOL);
		else
			finish(s, SMTP_END_PROTOCOL, OUTCOME_PROTOCOL);
		return;
	}
	/* A drop between replies (EOF or reset), before the banner or in mid-transaction: a
	 * failed session like a timeout, retried (load balancers, idle limits and fail2ban do it
	 * every day). */
	if (s->state == SMTP_BANNER)
		set_detail(s, "%s %s the connection before its banner", target_text(s, t, sizeof t),
		           (what & BEV_EVENT_ERROR) ? "reset" : "closed");
	else
		set_detail(s, "%s %s the connection in state %s", target_text(s, t, sizeof t),
		           (what & BEV_EVENT_ERROR) ? "reset" : "closed", smtp_states[s->state].name);
	if (s->state == SMTP_BANNER)
		try_next_target(s, SMTP_END_DROPPED, OUTCOME_TEMPORARY);
	else
		finish(s, SMTP_END_DROPPED, OUTCOME_TEMPORARY);
}

static void smtp_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;
	char t[300];

	(void)fd;
	(void)what;
	set_detail(s, "no answer from %s within the deadline in state %s", target_text(s, t, sizeof t),
	           smtp_states[s->state].name);
	switch (s->state) {
	case SMTP_CONNECTING:
	case SMTP_BANNER:
		try_next_target(s, SMTP_END_TIMEOUT, OUTCOME_TEMPORARY);
		return;
	case SMTP_TLS_HANDSHAKE:
		tls_failed(s, "handshake timed out");
		return;
	case SMTP_QUIT:
		finish(s, s->pending_end, s->pending_outcome);
		return;
	case SMTP_IDLE:
		quit_then(s, SMTP_END_OK, OUTCOME_ACCEPTED); /* waited long enough: nothing came */
		return;
	default:
		finish(s, SMTP_END_TIMEOUT, OUTCOME_TEMPORARY);
		return;
	}
}

/* bound_socket - a non-blocking socket of FAMILY bound to the session's source address, so the
 * host sees the same client address on every try (the greylist triple) */
static evutil_socket_t bound_socket(struct smtp_session *s, int family)
{
	struct sockaddr_storage src;
	socklen_t len;
	evutil_socket_t fd;

	if ((family != AF_INET && family != AF_INET6) ||
	    ipaddr_parse(s->source, family, &src, &len) < 0) {
		set_detail(s, "source address %s does not fit %s", s->source,
		           family == AF_INET ? "IPv4" : "IPv6");
		return -1;
	}
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&src, len) < 0) {
		set_detail(s, "bind to source %s: %s", s->source, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* smtp_connect_next - open a connection to the current target */
static void smtp_connect_next(struct smtp_session *s)
{
	struct smtp_target *t = &s->target[s->cur];
	struct sockaddr_storage sa = t->addr;
	char tt[300];

	s->connects++;
	s->rcpts_in_tx = 0;
	s->t_sent = clock_now();
	if (s->t_first == 0)
		s->t_first = s->t_sent;
	if (sa.ss_family == AF_INET)
		((struct sockaddr_in *)&sa)->sin_port = htons((uint16_t)s->cfg->smtp_port);
	else
		((struct sockaddr_in6 *)&sa)->sin6_port = htons((uint16_t)s->cfg->smtp_port);
	if (s->tr)
		trace_add(s->tr, s->t_sent, "connect", "from %s to %s%s",
		          s->source[0] ? s->source : "the system's address",
		          target_text(s, tt, sizeof tt), s->plain_only ? " (plain text after a TLS failure)" : "");
	evutil_socket_t fd = -1;
	if (s->source[0] && (fd = bound_socket(s, sa.ss_family)) < 0) {
		finish(s, SMTP_END_CONNECT, OUTCOME_TEMPORARY);
		return;
	}
	s->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL) {
		if (fd >= 0)
			evutil_closesocket(fd);
		set_detail(s, "cannot create a socket");
		finish(s, SMTP_END_CONNECT, OUTCOME_TEMPORARY);
		return;
	}
	bufferevent_setcb(s->bev, smtp_read_cb, NULL, smtp_event_cb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, DEF_SMTP_READ_HIGH_WATER);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	enter(s, SMTP_CONNECTING);
	if (bufferevent_socket_connect(s->bev, (struct sockaddr *)&sa, (int)t->addrlen) < 0) {
		set_detail(s, "connect to %s: %s", target_text(s, tt, sizeof tt), strerror(errno));
		try_next_target(s, SMTP_END_CONNECT, OUTCOME_TEMPORARY);
	}
}

/* smtp_kick_cb - from the loop: the first connect, or the end of an idle wait */
static void smtp_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;

	(void)fd;
	(void)what;
	if (s->state == SMTP_IDLE)
		next_rcpt(s);
	else if (s->state == SMTP_CLOSED && s->connects == 0)
		smtp_connect_next(s);
}

/* session_new - a session with its settings and timers, in SMTP_CLOSED; NULL when out of memory */
static struct smtp_session *session_new(struct event_base *base, const struct probe_config *c,
                                        SSL_CTX *ssl, const struct smtp_target *targets,
                                        size_t ntargets, const char *source,
                                        const struct smtp_callbacks *cb, void *ctx)
{
	struct smtp_session *s = calloc(1, sizeof *s);

	if (s == NULL)
		return NULL;
	s->base = base;
	s->cfg = c;
	s->ssl_ctx = ssl;
	s->cb = *cb;
	s->ctx = ctx;
	s->ntargets = ntargets < SMTP_MAX_TARGETS ? ntargets : SMTP_MAX_TARGETS;
	snprintf(s->source, sizeof s->source, "%s", source ? source : "");
	s->rcpt_limit = c->rcpts_per_transaction > 0 ? c->rcpts_per_transaction : 1;
	memcpy(s->target, targets, s->ntargets * sizeof *targets);
	s->deadline = evtimer_new(base, smtp_deadline_cb, s);
	s->kick = evtimer_new(base, smtp_kick_cb, s);
	if (s->deadline == NULL || s->kick == NULL || s->ntargets == 0) {
		session_free(s);
		return NULL;
	}
	s->state = SMTP_CLOSED;
	return s;
}

struct smtp_session *smtp_start(struct event_base *base, const struct probe_config *c,
                                SSL_CTX *ssl, const struct smtp_target *targets,
                                size_t ntargets, const char *source,
                                const struct smtp_callbacks *cb, void *ctx)
{
	struct smtp_session *s = session_new(base, c, ssl, targets, ntargets, source, cb, ctx);
	struct timeval now = {0, 0};

	if (s != NULL)
		evtimer_add(s->kick, &now); /* callbacks never run inside smtp_start */
	return s;
}

struct smtp_session *smtp_start_connected(struct event_base *base, const struct probe_config *c,
                                          const struct smtp_target *target, evutil_socket_t fd,
                                          const struct smtp_callbacks *cb, void *ctx)
{
	struct smtp_session *s = session_new(base, c, NULL, target, 1, NULL, cb, ctx);

	if (s == NULL)
		return NULL;
	s->connects = 1;
	s->connected = 1;
	s->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL) {
		session_free(s);
		return NULL;
	}
	bufferevent_setcb(s->bev, smtp_read_cb, NULL, smtp_event_cb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, DEF_SMTP_READ_HIGH_WATER);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	enter(s, SMTP_BANNER);
	return s;
}

void smtp_expire(struct smtp_session *s)
{
	if (s->state == SMTP_CLOSED)
		return;
	evtimer_del(s->deadline);
	smtp_deadline_cb(-1, EV_TIMEOUT, s);
}

void smtp_set_rcpt_limit(struct smtp_session *s, int n)
{
	if (n > 0 && n < s->rcpt_limit)
		s->rcpt_limit = n;
}

void smtp_resume(struct smtp_session *s)
{
	struct timeval now = {0, 0};

	if (s->state == SMTP_IDLE)
		evtimer_add(s->kick, &now); /* from the loop: the caller may be another session */
}

void smtp_cancel(struct smtp_session *s)
{
	set_detail(s, "cancelled");
	finish(s, SMTP_END_CANCELLED, OUTCOME_TEMPORARY);
}
