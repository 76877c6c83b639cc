/*
 * smtpd - the loopback mail world's SMTP server (tests and benchmarks only).
 *
 *   smtpd --port PORT --config FILE --log FILE [--pidfile F] [--cert F --key F] [--idle SECS]
 *
 * One libevent process serves many SMTP "personas", each a behaviour real mail hosts have
 * (strict, catch-all, greylisting, connection limits, slow, TLS-only, hostile, ...), each on its
 * own 127.x.y.z address, all on the same port. The config has one persona a line:
 *
 *   ADDR PERSONA [key=value ...]        e.g.  127.0.1.10 strict users=alice,bob
 *
 * The persona table (persona_kinds[]) gives each persona its hooks: how it greets, whether it
 * replaces EHLO or refuses MAIL, how it answers RCPT, what it does after STARTTLS. Everything
 * else (the command loop, reply delays, limits, logging) is shared. Keys are listed in keys[]
 * and documented in tests/world/README.md.
 *
 * It owns: one listener per persona, the sessions, per-persona counters (open sessions, sessions
 * per client IP, greylist triples), and the event log. Every session event is one flushed line
 * "<session-id> <persona-addr> <client-addr:port> EVENT ...", so tests can assert on it
 * (above all: no "C: DATA", ever).
 *
 * It never: delivers, stores or relays mail (DATA and BDAT are refused and logged loudly),
 * binds anything but 127.0.0.0/8, talks to a client other than the one that connected, or
 * trusts client input (every line, path and buffer is bounded; a bad client gets an SMTP
 * error, never a crash).
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

/* Limits. Every buffer a client can fill has one of these as its bound. */
#define SMTPD_LINE_MAX 4096          /* bytes in one command line, CRLF excluded: longer gets 500 and close */
#define SMTPD_INPUT_MAX 65536        /* bytes buffered per session (pipelined commands) before reading pauses */
#define SMTPD_PATH_MAX 512           /* bytes in a MAIL FROM / RCPT TO path (RFC 5321 allows 256) */
#define SMTPD_REPLY_MAX 1024         /* bytes in one reply line we format (a path fits twice) */
#define SMTPD_NAME_MAX 256           /* bytes in a persona's host name */
#define SMTPD_RCPT_MAX 1000          /* RCPTs per transaction (Postfix smtpd_recipient_limit) */
#define SMTPD_IDLE_SECS 60           /* default idle timeout: no byte from the client for this long closes */
#define SMTPD_BACKLOG 4096           /* listen() backlog: benchmarks open thousands of sessions at once */
#define SMTPD_ACCEPT_PAUSE_MS 100    /* listener paused this long after accept() failed (EMFILE) */
#define SMTPD_SIZE 10240000          /* SIZE advertised in EHLO (Postfix's default message_size_limit) */
#define SMTPD_GREY_MAX 1000000       /* greylist triples remembered; past this the table starts over */
#define SMTPD_FLOOD_CHUNK 65536      /* hostile floods: bytes queued per refill */
#define SMTPD_FLOOD_LOW 16384        /* hostile floods: refill when the output drops to this */
#define SMTPD_FLOOD_LINE 72          /* hostile endless: bytes of x in one continuation line */
#define SMTPD_GARBAGE_BYTES 8192     /* hostile garbage / tlsbroken: random bytes sent */
#define SMTPD_LOG_TEXT_MAX SMTPD_LINE_MAX /* bytes of client text logged per line */

struct session;

/* strmap - string-keyed hash map of long long (user lists, client counts, greylist times). */
struct strmap_entry {
	struct strmap_entry *next;   /* chain in one bucket */
	long long value;             /* what the map holds for key */
	char key[];                  /* NUL-terminated */
};

struct strmap {
	struct strmap_entry **buckets; /* nbuckets chains; NULL until the first put */
	size_t nbuckets;               /* a power of two */
	size_t count;                  /* entries stored */
};

/* Hostile persona modes: each misbehaves in one way (key mode=). */
struct hostile_mode {
	const char *name;
	void (*start)(struct session *);   /* connection admitted: instead of the banner */
	int (*ehlo)(struct session *);     /* NULL, or replaces the EHLO reply (returns 1) */
};

/* Persona kinds: the behaviour table. NULL hooks take the shared default. */
struct rcpt {
	const char *addr;                  /* the path as sent, without <> */
	const char *local;                 /* local part, lower-cased */
	const char *domain;                /* domain, lower-cased ("" when none) */
	int user;                          /* local part is in users= */
};

struct persona_kind {
	const char *name;                  /* the PERSONA word in the config */
	const char *defaults;              /* keys applied before the config line's own */
	unsigned flags;                    /* KIND_* */
	void (*greet)(struct session *);   /* connection admitted: banner or misbehaviour */
	int (*ehlo)(struct session *);     /* NULL, or replaces the EHLO reply (returns 1) */
	int (*mail)(struct session *);     /* NULL, or refuses MAIL with its own reply (returns 1) */
	void (*rcpt)(struct session *, const struct rcpt *); /* answers a well-formed RCPT */
	void (*starttls)(struct session *); /* the 220 to STARTTLS is written: start TLS (or not) */
};
#define KIND_STARTTLS 0x1                  /* always advertises STARTTLS (as if tls=1) */
#define KIND_NO_CERT 0x2                   /* its STARTTLS needs no certificate */

struct persona {
	struct persona *next;              /* config order */
	const struct persona_kind *kind;
	unsigned line;                     /* config line, for messages */
	char addr[INET_ADDRSTRLEN];        /* loopback address it listens on */
	char name[SMTPD_NAME_MAX];         /* host name in the banner and EHLO */
	struct strmap users;               /* local parts that exist (lower-case) */
	struct strmap domains;             /* if not empty: the only domains served */
	struct strmap full4;               /* full: local parts answered 452 4.2.2 */
	struct strmap full5;               /* full: local parts answered 552 5.2.2 */
	struct strmap disabled;            /* disabled: local parts answered 550 5.2.1 */
	int smtputf8;                      /* advertise SMTPUTF8 */
	int tls;                           /* advertise STARTTLS */
	int reply_ms;                      /* delay before every reply (ms) */
	int banner_ms;                     /* delay before the banner (ms) */
	int max_per_client;                /* sessions from one client IP; more get 421 (0: no limit) */
	int max_sessions;                  /* sessions from all clients; more get 421 (0: no limit) */
	int delay;                         /* greylist: seconds a triple is refused */
	int bytes_per_sec;                 /* drip: banner rate (0: from total_secs) */
	int total_secs;                    /* drip: seconds the banner line takes */
	int rcpt_per_session;              /* throttle: RCPTs allowed in one session */
	int max_rcpts;                     /* RCPTs per transaction; more get 452 4.5.3 */
	int after;                         /* dropper: RCPTs answered before the connection drops */
	int drops;                         /* dropper: sessions dropped, then strict (0: all) */
	int reset;                         /* dropper: drop with a TCP reset instead of a close */
	int dropped;                       /* dropper: sessions dropped so far */
	int interval_ms;                   /* hostile slowloris: ms between bytes */
	int bytes;                         /* hostile bigline: bytes in the long line */
	const struct hostile_mode *mode;   /* hostile: which misbehaviour */
	/* running state */
	struct evconnlistener *listener;
	struct event *retry;               /* re-enables the listener after accept() failed */
	int sessions;                      /* sessions open now */
	struct strmap clients;             /* client IP -> sessions open now */
	struct strmap grey;                /* "ip\nfrom\nrcpt" -> first seen (ms, monotonic) */
};

/* A session's state: what the next input, timer or drained output means. */
enum sess_state {
	SS_GREETING,       /* banner not (fully) sent yet: delay, drip or long line in progress */
	SS_COMMAND,        /* the command loop */
	SS_REJECTED,       /* 5xx banner sent: 503 to everything until QUIT */
	SS_TLS_HANDSHAKE,  /* TLS filter stacked, handshake running */
	SS_TLS_BROKEN,     /* 220 to STARTTLS sent; the client's handshake gets garbage back */
	SS_HOSTILE,        /* misbehaving on purpose: input is logged and ignored */
	SS_SILENT,         /* blackhole: input logged, nothing ever sent */
	SS_CLOSING,        /* last reply queued: freed once it is written */
};

static const char *const sess_state_names[] = {
	[SS_GREETING] = "greeting", [SS_COMMAND] = "command", [SS_REJECTED] = "rejected",
	[SS_TLS_HANDSHAKE] = "tls-handshake", [SS_TLS_BROKEN] = "tls-broken", [SS_HOSTILE] = "hostile",
	[SS_SILENT] = "silent", [SS_CLOSING] = "closing",
};

/* What happens once the queued reply is written. */
enum after_reply { AFTER_NONE, AFTER_CLOSE, AFTER_STARTTLS };

struct session {
	LIST_ENTRY(session) link;          /* in all_sessions */
	unsigned long id;                  /* log id, counts from 1 */
	struct persona *p;
	struct bufferevent *bev;           /* the socket, or the TLS filter stacked on it */
	char client_ip[INET_ADDRSTRLEN];   /* peer address */
	char client[INET_ADDRSTRLEN + 8];  /* peer address:port, as logged */
	enum sess_state state;
	int helo;                          /* EHLO/HELO accepted since connect or TLS */
	int tls;                           /* TLS established */
	int in_mail;                       /* MAIL accepted: a transaction is open */
	int utf8;                          /* the transaction declared SMTPUTF8 */
	char mail_from[SMTPD_PATH_MAX + 1]; /* lower-cased reverse path of the open transaction */
	unsigned rcpt_tx;                  /* RCPTs in this transaction */
	unsigned rcpt_session;             /* RCPTs in this session (throttle) */
	int drop;                          /* dropper: this session is dropped */
	struct evbuffer *pending;          /* the reply being built or held for reply_ms */
	int reply_lines;                   /* lines queued for the current reply; only the first is logged */
	int busy;                          /* a held reply waits for the timer: input waits too */
	enum after_reply after;            /* what follows the reply being built */
	const char *close_reason;          /* logged by CLOSE once SS_CLOSING ends */
	enum sess_state closed_in;         /* the state SS_CLOSING was entered from, for CLOSE */
	struct event *timer;               /* created on first use */
	void (*on_timer)(struct session *); /* what the timer means now */
	void (*on_drained)(struct session *); /* output drained to the low watermark (floods) */
	size_t pos;                        /* drip/slowloris: bytes sent; floods: bytes queued */
	uint32_t rng;                      /* garbage: xorshift32 state */
	struct evbuffer *watched;          /* closing a TLS session: the socket's output being drained */
};

static LIST_HEAD(session_list, session) all_sessions = LIST_HEAD_INITIALIZER(all_sessions);
static struct event_base *base;
static struct persona *personas;
static SSL_CTX *ssl_ctx;
static FILE *log_fp;
static unsigned long next_session_id;
static int open_sessions;                  /* all personas */
static void drop_now(struct session *s);
static int idle_secs = SMTPD_IDLE_SECS;
static long long start_ms;

static void session_input(struct session *s);
static void watched_drained_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg);
static void session_close(struct session *s, const char *reason);

/* ---- small helpers ---- */

__attribute__((format(printf, 1, 2), noreturn))
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "smtpd: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL)
		die("out of memory");
	return p;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double uptime(void)
{
	return (double)(now_ms() - start_ms) / 1000.0;
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* word_in - is word one of the space-separated words of list? */
static int word_in(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p = list;

	while ((p = strstr(p, word)) != NULL) {
		if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
			return 1;
		p += n;
	}
	return 0;
}

/* ---- strmap ---- */

static size_t strmap_hash(const char *key)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 1099511628211ULL;
	return (size_t)h;
}

/* strmap_slot - the link that points at key's entry, or the NULL link ending its chain */
static struct strmap_entry **strmap_slot(const struct strmap *m, const char *key)
{
	struct strmap_entry **e = &m->buckets[strmap_hash(key) & (m->nbuckets - 1)];

	while (*e != NULL && strcmp((*e)->key, key) != 0)
		e = &(*e)->next;
	return e;
}

static long long *strmap_get(const struct strmap *m, const char *key)
{
	struct strmap_entry **e;

	if (m->count == 0)
		return NULL;
	e = strmap_slot(m, key);
	return *e ? &(*e)->value : NULL;
}

static void strmap_grow(struct strmap *m)
{
	size_t n = m->nbuckets ? m->nbuckets * 2 : 16, i;
	struct strmap_entry **b = xcalloc(n, sizeof *b), *e, *next;

	for (i = 0; i < m->nbuckets; i++)
		for (e = m->buckets[i]; e != NULL; e = next) {
			next = e->next;
			e->next = b[strmap_hash(e->key) & (n - 1)];
			b[strmap_hash(e->key) & (n - 1)] = e;
		}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = n;
}

/* strmap_put - key's value, created as 0 if key was absent */
static long long *strmap_put(struct strmap *m, const char *key)
{
	struct strmap_entry **e;
	size_t len = strlen(key);

	if (m->count >= m->nbuckets * 2)
		strmap_grow(m);
	e = strmap_slot(m, key);
	if (*e == NULL) {
		*e = xcalloc(1, sizeof **e + len + 1);
		memcpy((*e)->key, key, len + 1);
		m->count++;
	}
	return &(*e)->value;
}

static void strmap_del(struct strmap *m, const char *key)
{
	struct strmap_entry **e, *dead;

	if (m->count == 0)
		return;
	e = strmap_slot(m, key);
	if (*e == NULL)
		return;
	dead = *e;
	*e = dead->next;
	free(dead);
	m->count--;
}

static void strmap_clear(struct strmap *m)
{
	struct strmap_entry *e, *next;
	size_t i;

	for (i = 0; i < m->nbuckets; i++)
		for (e = m->buckets[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	free(m->buckets);
	memset(m, 0, sizeof *m);
}

/* ---- the event log ---- */

/* log_event - one flushed line: "<session-id> <persona-addr> <client-addr:port> TEXT" */
__attribute__((format(printf, 2, 3)))
static void log_event(const struct session *s, const char *fmt, ...)
{
	va_list ap;

	if (s != NULL)
		fprintf(log_fp, "%lu %s %s ", s->id, s->p->addr, s->client);
	else
		fprintf(log_fp, "- - - ");
	va_start(ap, fmt);
	vfprintf(log_fp, fmt, ap);
	va_end(ap);
	fputc('\n', log_fp);
	fflush(log_fp);
}

/* log_persona - a persona's own event: "- <persona-addr> - TEXT" */
__attribute__((format(printf, 2, 3)))
static void log_persona(const struct persona *p, const char *fmt, ...)
{
	va_list ap;

	fprintf(log_fp, "- %s - ", p->addr);
	va_start(ap, fmt);
	vfprintf(log_fp, fmt, ap);
	va_end(ap);
	fputc('\n', log_fp);
	fflush(log_fp);
}

/* log_text - "TAG text" with control bytes and backslash escaped, so one event stays one line */
static void log_text(const struct session *s, const char *tag, const char *text, size_t len)
{
	static char esc[4 * SMTPD_LOG_TEXT_MAX + 8];
	size_t i, o = 0;

	for (i = 0; i < len && i < SMTPD_LOG_TEXT_MAX; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c < 0x20 || c == 0x7f || c == '\\')
			o += (size_t)sprintf(esc + o, "\\x%02x", c);
		else
			esc[o++] = (char)c;
	}
	if (i < len)
		o += (size_t)sprintf(esc + o, "...");
	esc[o] = '\0';
	log_event(s, "%s %s", tag, esc);
}

/* ---- timers and replies ---- */

static void session_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	s->on_timer(s);
}

/* timer_arm - call fn(s) in ms milliseconds (replaces any armed timer) */
static void timer_arm(struct session *s, int ms, void (*fn)(struct session *))
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (s->timer == NULL && (s->timer = evtimer_new(base, session_timer_cb, s)) == NULL)
		die("evtimer_new failed");
	s->on_timer = fn;
	evtimer_add(s->timer, &tv);
}

/* reply - queue one reply line (CRLF added); the first line of each reply is logged as "S:" */
__attribute__((format(printf, 2, 3)))
static void reply(struct session *s, const char *fmt, ...)
{
	char line[SMTPD_REPLY_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0)
		die("vsnprintf failed");
	if ((size_t)n >= sizeof line)
		n = sizeof line - 1;
	if (s->reply_lines++ == 0)
		log_text(s, "S:", line, (size_t)n);
	evbuffer_add(s->pending, line, (size_t)n);
	evbuffer_add(s->pending, "\r\n", 2);
}

/* reply_raw - queue bytes as they are, no CRLF (hostile replies) */
static void reply_raw(struct session *s, const char *data, size_t len)
{
	if (s->reply_lines++ == 0)
		log_text(s, "S:", data, len);
	evbuffer_add(s->pending, data, len);
}

/* reply_release - write the queued reply, then do what was asked to follow it */
static void reply_release(struct session *s)
{
	enum after_reply after = s->after;

	s->busy = 0;
	s->after = AFTER_NONE;
	bufferevent_write_buffer(s->bev, s->pending);
	switch (after) {
	case AFTER_NONE:
		break;
	case AFTER_CLOSE:
		session_close(s, s->close_reason);
		break;
	case AFTER_STARTTLS:
		s->p->kind->starttls(s);
		break;
	}
}

static void reply_delayed(struct session *s)
{
	reply_release(s);
	session_input(s);
}

/* reply_send - the reply is complete: send it now, or hold it for delay_ms (input waits) */
static void reply_send(struct session *s, int delay_ms)
{
	s->reply_lines = 0;
	if (delay_ms > 0) {
		s->busy = 1;
		timer_arm(s, delay_ms, reply_delayed);
		return;
	}
	reply_release(s);
}

/* reply_close - queue the last reply's follow-up: close once it is written */
static void reply_close(struct session *s, const char *reason)
{
	s->after = AFTER_CLOSE;
	s->close_reason = reason;
}

/* ---- session lifecycle ---- */

static void session_free(struct session *s, const char *reason)
{
	struct persona *p = s->p;
	long long *n = strmap_get(&p->clients, s->client_ip);

	log_event(s, "CLOSE %s state=%s rcpts=%u t=%.3f", reason,
		sess_state_names[s->state == SS_CLOSING ? s->closed_in : s->state],
		s->rcpt_session, uptime());
	if (n != NULL && --*n <= 0)
		strmap_del(&p->clients, s->client_ip);
	p->sessions--;
	open_sessions--;
	LIST_REMOVE(s, link);
	if (s->watched != NULL)
		evbuffer_remove_cb(s->watched, watched_drained_cb, s);
	if (s->timer != NULL)
		event_free(s->timer);
	bufferevent_free(s->bev);
	evbuffer_free(s->pending);
	free(s);
}

static void session_free_now(struct session *s)
{
	session_free(s, s->close_reason);
}

static void watched_drained_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct session *s = arg;

	(void)info;
	if (evbuffer_get_length(buf) == 0)
		timer_arm(s, 0, session_free_now); /* not from inside the buffer's own callback */
}

/* session_close_check - in SS_CLOSING: free the session once every queued byte is written */
static void session_close_check(struct session *s)
{
	struct bufferevent *under = bufferevent_get_underlying(s->bev);

	if (evbuffer_get_length(bufferevent_get_output(s->bev)) > 0)
		return; /* the write callback calls again */
	if (under != NULL && evbuffer_get_length(bufferevent_get_output(under)) > 0) {
		/* TLS: the filter has encrypted everything, the socket has not sent it yet */
		if (s->watched == NULL) {
			s->watched = bufferevent_get_output(under);
			evbuffer_add_cb(s->watched, watched_drained_cb, s);
		}
		return;
	}
	timer_arm(s, 0, session_free_now);
}

/* session_close - stop reading, write what is queued, then free (never frees synchronously) */
static void session_close(struct session *s, const char *reason)
{
	s->closed_in = s->state;
	s->state = SS_CLOSING;
	s->close_reason = reason;
	s->on_drained = NULL;
	bufferevent_disable(s->bev, EV_READ);
	bufferevent_setwatermark(s->bev, EV_WRITE, 0, 0);
	session_close_check(s);
}

/* session_discard - hostile/silent states: log what the client says, never answer */
static void session_discard(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t n;
	char *line;

	while ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF)) != NULL) {
		log_text(s, "C:", line, n);
		free(line);
	}
	if (evbuffer_get_length(in) > SMTPD_LINE_MAX) {
		log_event(s, "C: <%zu bytes without end of line, dropped>", evbuffer_get_length(in));
		evbuffer_drain(in, evbuffer_get_length(in));
	}
}

static void tls_broken_answer(struct session *s);

static void session_read_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	(void)bev;
	switch (s->state) {
	case SS_COMMAND:
	case SS_REJECTED:
		session_input(s);
		break;
	case SS_TLS_BROKEN:
		tls_broken_answer(s);
		break;
	case SS_HOSTILE:
	case SS_SILENT:
		session_discard(s);
		break;
	case SS_GREETING:      /* kept until the banner is out (the watermark bounds it) */
	case SS_TLS_HANDSHAKE: /* the filter does not deliver before the handshake */
	case SS_CLOSING:
		break;
	}
}

static void session_write_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	(void)bev;
	if (s->state == SS_CLOSING)
		session_close_check(s);
	else if (s->on_drained != NULL)
		s->on_drained(s);
}

/* tls_error_text - the OpenSSL errors queued on a TLS bufferevent, for the log */
static void tls_error_text(struct bufferevent *bev, char *buf, size_t size)
{
	unsigned long e;
	size_t o = 0;

	buf[0] = '\0';
	while ((e = bufferevent_get_openssl_error(bev)) != 0 && o + 2 < size) {
		if (o > 0)
			buf[o++] = ';';
		ERR_error_string_n(e, buf + o, size - o);
		o += strlen(buf + o);
	}
	if (o == 0)
		snprintf(buf, size, "%s", "no OpenSSL error queued");
}

static void tls_ready(struct session *s)
{
	SSL *ssl = bufferevent_openssl_get_ssl(s->bev);

	/* RFC 3207 4.2: forget everything the client said before TLS */
	s->tls = 1;
	s->helo = 0;
	s->in_mail = 0;
	s->utf8 = 0;
	s->rcpt_tx = 0;
	s->state = SS_COMMAND;
	log_event(s, "TLS ok %s %s", SSL_get_version(ssl), SSL_get_cipher_name(ssl));
	session_input(s);
}

static void session_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;
	const char *reason;
	char err[512];

	if (what & BEV_EVENT_CONNECTED) {
		tls_ready(s);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		reason = "timeout";
	else if (s->state == SS_CLOSING)
		reason = s->close_reason; /* the client left while our last reply went out */
	else if (what & BEV_EVENT_EOF)
		reason = "eof";
	else
		reason = "error";
	if ((what & BEV_EVENT_ERROR) && s->state != SS_CLOSING) {
		if (s->state == SS_TLS_HANDSHAKE || s->tls) {
			tls_error_text(bev, err, sizeof err);
			log_event(s, "TLS error %s", err);
		} else {
			log_event(s, "ERROR %s", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		}
	}
	session_free(s, reason);
}

/* session_setup_bev - callbacks, idle timeouts and the input bound of s->bev */
static void session_setup_bev(struct session *s)
{
	struct timeval idle = { idle_secs, 0 };

	bufferevent_setcb(s->bev, session_read_cb, session_write_cb, session_event_cb, s);
	bufferevent_set_timeouts(s->bev, &idle, &idle);
	bufferevent_setwatermark(s->bev, EV_READ, 0, SMTPD_INPUT_MAX);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

/* ---- the command loop ---- */

static void tx_reset(struct session *s)
{
	s->in_mail = 0;
	s->utf8 = 0;
	s->rcpt_tx = 0;
	s->mail_from[0] = '\0';
}

static int offers_tls(const struct session *s)
{
	return (s->p->tls || (s->p->kind->flags & KIND_STARTTLS)) && !s->tls;
}

/*
 * parse_path - "FROM:<path> params" (prefix "FROM:") into out (at most SMTPD_PATH_MAX bytes);
 * *params points after the path. Returns 0, -1 on syntax errors, -2 when the path is too long.
 */
static int parse_path(const char *arg, const char *prefix, char *out, const char **params)
{
	size_t plen = strlen(prefix), n;
	const char *p, *end;

	if (strncasecmp(arg, prefix, plen) != 0)
		return -1;
	p = arg + plen;
	while (*p == ' ')
		p++;
	if (*p == '<') {
		p++;
		if ((end = strchr(p, '>')) == NULL)
			return -1;
		n = (size_t)(end - p);
		end++;
	} else {
		n = strcspn(p, " ");
		end = p + n;
	}
	if (n > SMTPD_PATH_MAX)
		return -2;
	memcpy(out, p, n);
	out[n] = '\0';
	while (*end == ' ')
		end++;
	*params = end;
	return 0;
}

static int non_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

static void cmd_ehlo(struct session *s, const char *arg)
{
	const char *ext[8];
	char size[32];
	int n = 0, i;

	if (*arg == '\0') {
		reply(s, "501 5.5.4 Syntax: EHLO hostname");
		return;
	}
	if (s->p->kind->ehlo != NULL && s->p->kind->ehlo(s))
		return;
	tx_reset(s);
	s->helo = 1;
	snprintf(size, sizeof size, "SIZE %d", SMTPD_SIZE);
	ext[n++] = "PIPELINING";
	ext[n++] = size;
	if (offers_tls(s))
		ext[n++] = "STARTTLS";
	ext[n++] = "ENHANCEDSTATUSCODES";
	ext[n++] = "8BITMIME";
	if (s->p->smtputf8)
		ext[n++] = "SMTPUTF8";
	reply(s, "250-%s", s->p->name);
	for (i = 0; i < n; i++)
		reply(s, "250%c%s", i == n - 1 ? ' ' : '-', ext[i]);
}

static void cmd_helo(struct session *s, const char *arg)
{
	if (*arg == '\0') {
		reply(s, "501 5.5.4 Syntax: HELO hostname");
		return;
	}
	tx_reset(s);
	s->helo = 1;
	reply(s, "250 %s", s->p->name);
}

static void cmd_mail(struct session *s, const char *arg)
{
	char path[SMTPD_PATH_MAX + 1], param[SMTPD_LINE_MAX + 1];
	const char *params;
	int rc, utf8 = 0;
	size_t n;

	if (!s->helo) {
		reply(s, "503 5.5.1 Error: send HELO/EHLO first");
		return;
	}
	if (s->in_mail) {
		reply(s, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	if ((rc = parse_path(arg, "FROM:", path, &params)) < 0) {
		reply(s, rc == -2 ? "501 5.1.7 Bad sender address syntax: path too long" :
			"501 5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	while (*params) {
		n = strcspn(params, " ");
		memcpy(param, params, n);
		param[n] = '\0';
		params += n;
		while (*params == ' ')
			params++;
		if (strcasecmp(param, "SMTPUTF8") == 0 && s->p->smtputf8) {
			utf8 = 1;
		} else if (strncasecmp(param, "SIZE=", 5) != 0 && strncasecmp(param, "BODY=", 5) != 0) {
			reply(s, "555 5.5.4 Unsupported option: %s", param);
			return;
		}
	}
	if (non_ascii(path) && !utf8) {
		reply(s, "553 5.6.7 Must declare SMTPUTF8 to send unicode address");
		return;
	}
	if (s->p->kind->mail != NULL && s->p->kind->mail(s))
		return;
	s->in_mail = 1;
	s->utf8 = utf8;
	s->rcpt_tx = 0;
	memcpy(s->mail_from, path, strlen(path) + 1);
	lower(s->mail_from);
	reply(s, "250 2.1.0 Ok");
}

static void cmd_rcpt(struct session *s, const char *arg)
{
	char path[SMTPD_PATH_MAX + 1], local[SMTPD_PATH_MAX + 1];
	const char *params, *at;
	struct rcpt r;
	int rc;

	if (!s->in_mail) {
		reply(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if ((rc = parse_path(arg, "TO:", path, &params)) < 0) {
		reply(s, rc == -2 ? "501 5.1.3 Bad recipient address syntax: path too long" :
			"501 5.5.4 Syntax: RCPT TO:<address>");
		return;
	}
	if (path[0] == '\0') {
		reply(s, "501 5.1.3 Bad recipient address syntax");
		return;
	}
	if (s->rcpt_tx >= (unsigned)s->p->max_rcpts) {
		reply(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	if (non_ascii(path) && !s->utf8) {
		reply(s, "553 5.6.7 Must declare SMTPUTF8 to send unicode address");
		return;
	}
	s->rcpt_tx++;
	s->rcpt_session++;
	memcpy(local, path, strlen(path) + 1);
	lower(local);
	at = strrchr(local, '@');
	r.addr = path;
	r.domain = "";
	if (at != NULL) {
		local[at - local] = '\0';
		r.domain = at + 1;
	}
	r.local = local;
	r.user = strmap_get(&s->p->users, local) != NULL;
	if (s->p->domains.count > 0 && strmap_get(&s->p->domains, r.domain) == NULL) {
		reply(s, "554 5.7.1 <%s>: Relay access denied", path);
		return;
	}
	s->p->kind->rcpt(s, &r);
}

static void cmd_rset(struct session *s, const char *arg)
{
	(void)arg;
	tx_reset(s);
	reply(s, "250 2.0.0 Ok");
}

static void cmd_noop(struct session *s, const char *arg)
{
	(void)arg;
	reply(s, "250 2.0.0 Ok");
}

static void cmd_quit(struct session *s, const char *arg)
{
	(void)arg;
	reply(s, "221 2.0.0 Bye");
	reply_close(s, "quit");
}

static void cmd_starttls(struct session *s, const char *arg)
{
	if (s->tls) {
		reply(s, "554 5.5.1 Error: TLS already active");
		return;
	}
	if (!offers_tls(s)) {
		reply(s, "502 5.5.1 Error: command not implemented");
		return;
	}
	if (*arg != '\0') {
		reply(s, "501 5.5.4 Syntax: STARTTLS");
		return;
	}
	reply(s, "220 2.0.0 Ready to start TLS");
	s->after = AFTER_STARTTLS;
}

static void cmd_data(struct session *s, const char *arg)
{
	(void)arg;
	reply(s, "554 5.5.1 DATA not allowed on this test server");
}

static void cmd_bdat(struct session *s, const char *arg)
{
	(void)arg;
	reply(s, "554 5.5.1 BDAT not allowed on this test server");
}

static const struct command {
	const char *verb;
	void (*handle)(struct session *, const char *arg);
} commands[] = {
	{ "EHLO", cmd_ehlo },
	{ "HELO", cmd_helo },
	{ "MAIL", cmd_mail },
	{ "RCPT", cmd_rcpt },
	{ "RSET", cmd_rset },
	{ "NOOP", cmd_noop },
	{ "QUIT", cmd_quit },
	{ "STARTTLS", cmd_starttls },
	{ "DATA", cmd_data },
	{ "BDAT", cmd_bdat },
};

/* message_alarm - DATA or BDAT: the one thing mailsift must never do. Logged loudly. */
static void message_alarm(struct session *s, const char *verb)
{
	log_event(s, "!!! %s SENT: mailsift must never send a message", verb);
	fprintf(stderr, "smtpd: session %lu from %s to %s sent %s\n", s->id, s->client, s->p->addr, verb);
}

/* command - one client line in SS_COMMAND or SS_REJECTED */
static void command(struct session *s, const char *line, size_t len)
{
	char verb[16];
	const char *arg;
	size_t i, n = strcspn(line, " ");

	arg = line + n;
	while (*arg == ' ')
		arg++;
	if (n >= sizeof verb || strlen(line) != len) {
		verb[0] = '\0'; /* too long to be a verb, or a NUL inside the line */
	} else {
		memcpy(verb, line, n);
		verb[n] = '\0';
	}
	if (strcasecmp(verb, "DATA") == 0 || strcasecmp(verb, "BDAT") == 0)
		message_alarm(s, verb);
	if (s->drop && s->rcpt_session >= (unsigned)s->p->after) {
		drop_now(s);
		return;
	}
	if (s->state == SS_REJECTED) {
		if (strcasecmp(verb, "QUIT") == 0) {
			cmd_quit(s, arg);
		} else {
			reply(s, "503 5.7.1 Error: not accepting mail from you");
		}
	} else {
		for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
			if (strcasecmp(verb, commands[i].verb) == 0)
				break;
		if (i < sizeof commands / sizeof commands[0])
			commands[i].handle(s, arg);
		else
			reply(s, "500 5.5.2 Error: command not recognized");
	}
	reply_send(s, s->p->reply_ms);
}

static void line_too_long(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);

	log_event(s, "C: <line longer than %d bytes>", SMTPD_LINE_MAX);
	evbuffer_drain(in, evbuffer_get_length(in));
	reply(s, "500 5.5.0 Error: line too long");
	reply_close(s, "server");
	reply_send(s, 0);
}

/* session_input - run the complete lines waiting in the input, unless a reply is held */
static void session_input(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	char *line;
	size_t n;

	while ((s->state == SS_COMMAND || s->state == SS_REJECTED) && !s->busy) {
		line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
		if (line == NULL) {
			if (evbuffer_get_length(in) > SMTPD_LINE_MAX)
				line_too_long(s);
			return;
		}
		if (n > SMTPD_LINE_MAX) {
			free(line);
			line_too_long(s);
			return;
		}
		log_text(s, "C:", line, n);
		command(s, line, n);
		free(line);
	}
}

/* ---- persona hooks: greetings ---- */

static void banner_send(struct session *s)
{
	s->state = SS_COMMAND;
	reply(s, "220 %s ESMTP mailsift-test", s->p->name);
	reply_send(s, 0);
	session_input(s);
}

/* greet_banner - the 220 banner, after banner_ms */
static void greet_banner(struct session *s)
{
	if (s->p->banner_ms > 0) {
		s->state = SS_GREETING;
		timer_arm(s, s->p->banner_ms, banner_send);
		return;
	}
	banner_send(s);
}

/* greet_dropper - a normal banner; the first `drops` sessions (all when 0) are dropped later */
static void greet_dropper(struct session *s)
{
	if (s->p->drops == 0 || s->p->dropped < s->p->drops) {
		s->drop = 1;
		s->p->dropped++;
	}
	greet_banner(s);
}

/* drop_now - the connection goes without a reply (closed, or reset with reset=1) */
static void drop_now(struct session *s)
{
	struct linger lg = {1, 0};

	log_event(s, "DROP after %u RCPTs (%s)", s->rcpt_session, s->p->reset ? "reset" : "close");
	if (s->p->reset)
		setsockopt(bufferevent_getfd(s->bev), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	session_close(s, s->p->reset ? "reset" : "server");
}

static void greet_banner5xx(struct session *s)
{
	s->state = SS_REJECTED;
	reply(s, "554 5.7.1 %s ESMTP not accepting mail from you", s->p->name);
	reply_send(s, 0);
}

static void greet_silent(struct session *s)
{
	s->state = SS_SILENT;
	log_event(s, "SILENT");
}

/* drip_interval - ms between banner bytes: bytes_per_sec if set, else spread over total_secs */
static int drip_interval(const struct persona *p, size_t len)
{
	if (p->bytes_per_sec > 0)
		return 1000 / p->bytes_per_sec;
	return (int)((long long)p->total_secs * 1000 / (long long)len);
}

static void drip_tick(struct session *s)
{
	char banner[SMTPD_NAME_MAX + 32];
	int len = snprintf(banner, sizeof banner, "220 %s ESMTP mailsift-test\r\n", s->p->name);

	bufferevent_write(s->bev, banner + s->pos, 1);
	if (++s->pos < (size_t)len) {
		timer_arm(s, drip_interval(s->p, (size_t)len), drip_tick);
		return;
	}
	s->state = SS_COMMAND;
	log_event(s, "DRIP done");
	session_input(s);
}

/* greet_drip - the banner line one byte at a time */
static void greet_drip(struct session *s)
{
	char banner[SMTPD_NAME_MAX + 32];
	int len = snprintf(banner, sizeof banner, "220 %s ESMTP mailsift-test", s->p->name);

	s->state = SS_GREETING;
	log_text(s, "S:", banner, (size_t)len);
	log_event(s, "DRIP %d ms per byte", drip_interval(s->p, (size_t)len + 2));
	s->pos = 0;
	drip_tick(s);
}

static void greet_hostile(struct session *s)
{
	s->p->mode->start(s);
}

/* ---- hostile modes ---- */

/* flood_begin - queue more output each time the socket takes it (refill on drain) */
static void flood_begin(struct session *s, void (*refill)(struct session *))
{
	s->on_drained = refill;
	s->pos = 0;
	bufferevent_setwatermark(s->bev, EV_WRITE, SMTPD_FLOOD_LOW, 0);
	refill(s);
}

static void endless_refill(struct session *s)
{
	static char line[SMTPD_FLOOD_LINE + 8];
	struct evbuffer *out = bufferevent_get_output(s->bev);

	if (line[0] == '\0') {
		memcpy(line, "220-", 4);
		memset(line + 4, 'x', SMTPD_FLOOD_LINE);
		memcpy(line + 4 + SMTPD_FLOOD_LINE, "\r\n", 3);
	}
	while (evbuffer_get_length(out) < SMTPD_FLOOD_CHUNK) {
		evbuffer_add(out, line, SMTPD_FLOOD_LINE + 6);
		s->pos += SMTPD_FLOOD_LINE + 6;
	}
}

/* endless - a banner whose continuation lines never end */
static void endless_start(struct session *s)
{
	s->state = SS_HOSTILE;
	reply(s, "220-%s ESMTP mailsift-test", s->p->name);
	reply_send(s, 0);
	log_event(s, "HOSTILE endless: 220- continuation lines until the client leaves");
	flood_begin(s, endless_refill);
}

static void bigline_refill(struct session *s)
{
	static char xs[SMTPD_FLOOD_CHUNK];
	struct evbuffer *out = bufferevent_get_output(s->bev);
	size_t n;

	if (xs[0] == '\0')
		memset(xs, 'x', sizeof xs);
	while (evbuffer_get_length(out) < SMTPD_FLOOD_CHUNK && s->pos < (size_t)s->p->bytes) {
		n = (size_t)s->p->bytes - s->pos;
		if (n > sizeof xs)
			n = sizeof xs;
		evbuffer_add(out, xs, n);
		s->pos += n;
	}
	if (s->pos < (size_t)s->p->bytes)
		return;
	evbuffer_add(out, "\r\n", 2);
	s->on_drained = NULL;
	bufferevent_setwatermark(s->bev, EV_WRITE, 0, 0);
	s->state = SS_COMMAND;
	log_event(s, "BIGLINE done after %zu bytes: serving as strict", s->pos);
	session_input(s);
}

/* bigline - a banner line of `bytes` bytes (1 MiB) before its CRLF, then a strict server */
static void bigline_start(struct session *s)
{
	s->state = SS_GREETING;
	reply_raw(s, "220 ", 4);
	reply_send(s, 0);
	log_event(s, "HOSTILE bigline: %d bytes before the CRLF", s->p->bytes);
	flood_begin(s, bigline_refill);
}

static uint32_t xorshift32(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x;
}

static void garbage_write(struct session *s)
{
	unsigned char junk[SMTPD_GARBAGE_BYTES];
	size_t i;

	s->rng = (uint32_t)s->id * 2654435761u | 1u;
	for (i = 0; i < sizeof junk; i++)
		junk[i] = (unsigned char)xorshift32(&s->rng);
	junk[0] = 0xff; /* never starts like a reply code */
	bufferevent_write(s->bev, junk, sizeof junk);
}

/* garbage - random bytes instead of a banner, then silence */
static void garbage_start(struct session *s)
{
	s->state = SS_HOSTILE;
	log_event(s, "S: <%d random bytes>", SMTPD_GARBAGE_BYTES);
	garbage_write(s);
}

/* dropmid - a normal banner; EHLO gets "250-mx" and the connection drops mid-reply */
static int dropmid_ehlo(struct session *s)
{
	reply_raw(s, "250-mx", 6);
	reply_close(s, "server");
	return 1;
}

/* forge - a normal banner; EHLO gets a 421 whose first line holds control bytes, an ANSI
 * escape and invalid UTF-8, and whose last line is followed by a bare LF and a line that looks
 * like a JSON log record: a client must keep it out of its own log's structure */
static int forge_ehlo(struct session *s)
{
	static const char forged[] = "421-\x01\x1b[2J\xff\xfe \"quoted\" \\ back\r\n"
	                             "421 4.7.0 slow down\n{\"forged\": 1}\r\n";

	log_event(s, "HOSTILE forge: 421 with control bytes and a forged JSON line");
	reply_raw(s, forged, sizeof forged - 1);
	reply_send(s, 0);
	return 1;
}

static void slowloris_tick(struct session *s)
{
	char banner[SMTPD_NAME_MAX + 32];
	int len = snprintf(banner, sizeof banner, "220 %s ESMTP mailsift-test", s->p->name);

	bufferevent_write(s->bev, s->pos < (size_t)len ? banner + s->pos : "x", 1);
	s->pos++;
	timer_arm(s, s->p->interval_ms, slowloris_tick);
}

/* slowloris - a banner line one byte every interval_ms that never ends */
static void slowloris_start(struct session *s)
{
	s->state = SS_HOSTILE;
	log_event(s, "HOSTILE slowloris: one byte every %d ms, no CRLF ever", s->p->interval_ms);
	s->pos = 0;
	slowloris_tick(s);
}

static int ehlo_hostile(struct session *s)
{
	return s->p->mode->ehlo != NULL && s->p->mode->ehlo(s);
}

static const struct hostile_mode hostile_modes[] = {
	{ "endless", endless_start, NULL },
	{ "bigline", bigline_start, NULL },
	{ "garbage", garbage_start, NULL },
	{ "dropmid", greet_banner, dropmid_ehlo },
	{ "slowloris", slowloris_start, NULL },
	{ "forge", greet_banner, forge_ehlo },
};

/* ---- persona hooks: MAIL, RCPT, STARTTLS ---- */

static int mail_tlsonly(struct session *s)
{
	if (s->tls)
		return 0;
	reply(s, "530 5.7.0 Must issue a STARTTLS command first");
	return 1;
}

static void rcpt_strict(struct session *s, const struct rcpt *r)
{
	if (r->user)
		reply(s, "250 2.1.5 Ok");
	else
		reply(s, "550 5.1.1 <%s>: Recipient address rejected: User unknown in virtual mailbox table",
			r->addr);
}

static void rcpt_microsoft(struct session *s, const struct rcpt *r)
{
	if (r->user)
		reply(s, "250 2.1.5 Recipient OK");
	else
		reply(s, "550 5.5.0 Requested action not taken: mailbox unavailable");
}

static void rcpt_accept(struct session *s, const struct rcpt *r)
{
	(void)r;
	reply(s, "250 2.1.5 Ok");
}

/* rcpt_greylist - postgrey: a new (client IP, MAIL FROM, RCPT) triple waits `delay` seconds */
static void rcpt_greylist(struct session *s, const struct rcpt *r)
{
	char key[INET_ADDRSTRLEN + 2 * SMTPD_PATH_MAX + 4];
	long long now = now_ms(), *first;
	const char *verdict;

	snprintf(key, sizeof key, "%s\n%s\n%s@%s", s->client_ip, s->mail_from, r->local, r->domain);
	if ((first = strmap_get(&s->p->grey, key)) == NULL) {
		if (s->p->grey.count >= SMTPD_GREY_MAX) {
			log_persona(s->p, "GREY table full (%d triples): starting over", SMTPD_GREY_MAX);
			strmap_clear(&s->p->grey);
		}
		first = strmap_put(&s->p->grey, key);
		*first = now;
		verdict = "new";
	} else {
		verdict = now - *first < (long long)s->p->delay * 1000 ? "wait" : "pass";
	}
	log_event(s, "GREY %s ip=%s from=<%s> rcpt=<%s@%s> age=%.3f", verdict, s->client_ip,
		s->mail_from, r->local, r->domain, (double)(now - *first) / 1000.0);
	if (strcmp(verdict, "pass") == 0) {
		rcpt_strict(s, r);
		return;
	}
	reply(s, "450 4.2.0 <%s>: Recipient address rejected: Greylisted, see "
		"http://postgrey.schweikert.ch/help/%s.html", r->addr, r->domain[0] ? r->domain : "x");
}

static void rcpt_policy(struct session *s, const struct rcpt *r)
{
	(void)r;
	reply(s, "550 5.7.1 Service unavailable; Client host [%s] blocked using zen.spamhaus.org",
		s->client_ip);
}

static void rcpt_full(struct session *s, const struct rcpt *r)
{
	if (strmap_get(&s->p->full4, r->local) != NULL)
		reply(s, "452 4.2.2 Mailbox full");
	else if (strmap_get(&s->p->full5, r->local) != NULL)
		reply(s, "552 5.2.2 Mailbox full");
	else
		rcpt_strict(s, r);
}

static void rcpt_disabled(struct session *s, const struct rcpt *r)
{
	if (strmap_get(&s->p->disabled, r->local) != NULL)
		reply(s, "550 5.2.1 <%s>: mailbox disabled", r->addr);
	else
		rcpt_strict(s, r);
}

static void rcpt_throttle(struct session *s, const struct rcpt *r)
{
	if (s->rcpt_session <= (unsigned)s->p->rcpt_per_session) {
		rcpt_strict(s, r);
		return;
	}
	reply(s, "421 4.7.0 Too many recipients, slow down");
	reply_close(s, "server");
}

/* starttls_handshake - stack a TLS filter on the socket (RFC 3207) */
static void starttls_handshake(struct session *s)
{
	struct bufferevent *under = s->bev, *tls;
	struct evbuffer *in = bufferevent_get_input(under);
	SSL *ssl;

	/* plain text pipelined after STARTTLS must not be taken as sent under TLS */
	if (evbuffer_get_length(in) > 0) {
		log_event(s, "TLS dropping %zu bytes pipelined after STARTTLS", evbuffer_get_length(in));
		evbuffer_drain(in, evbuffer_get_length(in));
	}
	if ((ssl = SSL_new(ssl_ctx)) == NULL) {
		log_event(s, "TLS error SSL_new failed");
		session_close(s, "error");
		return;
	}
	tls = bufferevent_openssl_filter_new(base, under, ssl, BUFFEREVENT_SSL_ACCEPTING,
		BEV_OPT_CLOSE_ON_FREE);
	if (tls == NULL) {
		SSL_free(ssl);
		log_event(s, "TLS error bufferevent_openssl_filter_new failed");
		session_close(s, "error");
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
	s->bev = tls;
	s->state = SS_TLS_HANDSHAKE;
	session_setup_bev(s);
}

/* starttls_broken - after the 220, the client's handshake is answered with garbage */
static void starttls_broken(struct session *s)
{
	s->state = SS_TLS_BROKEN;
	evbuffer_drain(bufferevent_get_input(s->bev), evbuffer_get_length(bufferevent_get_input(s->bev)));
}

static void tls_broken_answer(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);

	log_event(s, "TLS broken: %zu bytes of handshake answered with %d bytes of garbage",
		evbuffer_get_length(in), SMTPD_GARBAGE_BYTES);
	evbuffer_drain(in, evbuffer_get_length(in));
	garbage_write(s);
	session_close(s, "server");
}

/* The persona table: name, default keys, flags, then greet / ehlo / mail / rcpt / starttls. */
static const struct persona_kind persona_kinds[] = {
	{ "strict", "", 0, greet_banner, NULL, NULL, rcpt_strict, starttls_handshake },
	{ "microsoft", "", 0, greet_banner, NULL, NULL, rcpt_microsoft, starttls_handshake },
	{ "catchall", "", 0, greet_banner, NULL, NULL, rcpt_accept, starttls_handshake },
	{ "greylist", "delay=5", 0, greet_banner, NULL, NULL, rcpt_greylist, starttls_handshake },
	{ "connlimit", "max=2", 0, greet_banner, NULL, NULL, rcpt_strict, starttls_handshake },
	{ "slow", "banner_ms=2000 reply_ms=1000", 0, greet_banner, NULL, NULL, rcpt_strict,
		starttls_handshake },
	{ "drip", "total_secs=10", 0, greet_drip, NULL, NULL, rcpt_strict, starttls_handshake },
	{ "blackhole", "", 0, greet_silent, NULL, NULL, rcpt_strict, starttls_handshake },
	{ "banner5xx", "", 0, greet_banner5xx, NULL, NULL, rcpt_strict, starttls_handshake },
	{ "policy", "", 0, greet_banner, NULL, NULL, rcpt_policy, starttls_handshake },
	{ "full", "", 0, greet_banner, NULL, NULL, rcpt_full, starttls_handshake },
	{ "disabled", "", 0, greet_banner, NULL, NULL, rcpt_disabled, starttls_handshake },
	{ "tlsonly", "", KIND_STARTTLS, greet_banner, NULL, mail_tlsonly, rcpt_strict,
		starttls_handshake },
	{ "tlsbroken", "", KIND_STARTTLS | KIND_NO_CERT, greet_banner, NULL, NULL, rcpt_strict,
		starttls_broken },
	{ "throttle", "rcpt_per_session=5 max_sessions=4", 0, greet_banner, NULL, NULL, rcpt_throttle,
		starttls_handshake },
	{ "dropper", "after=3 drops=0", 0, greet_dropper, NULL, NULL, rcpt_strict, starttls_handshake },
	{ "hostile", "mode=endless interval_ms=2000 bytes=1048576", 0, greet_hostile, ehlo_hostile, NULL,
		rcpt_strict, starttls_handshake },
};

/* ---- config ---- */

enum key_type { KEY_INT, KEY_BOOL, KEY_STR, KEY_LIST, KEY_MODE };

static const struct key_def {
	const char *name;
	enum key_type type;
	size_t offset;                     /* field in struct persona */
	const char *only;                  /* NULL, or the personas (space-separated) it is valid for */
} keys[] = {
	{ "users", KEY_LIST, offsetof(struct persona, users), NULL },
	{ "domains", KEY_LIST, offsetof(struct persona, domains), NULL },
	{ "name", KEY_STR, offsetof(struct persona, name), NULL },
	{ "reply_ms", KEY_INT, offsetof(struct persona, reply_ms), NULL },
	{ "banner_ms", KEY_INT, offsetof(struct persona, banner_ms), NULL },
	{ "smtputf8", KEY_BOOL, offsetof(struct persona, smtputf8), NULL },
	{ "tls", KEY_BOOL, offsetof(struct persona, tls), NULL },
	{ "max_per_client", KEY_INT, offsetof(struct persona, max_per_client), NULL },
	{ "delay", KEY_INT, offsetof(struct persona, delay), "greylist" },
	{ "max", KEY_INT, offsetof(struct persona, max_per_client), "connlimit" },
	{ "bytes_per_sec", KEY_INT, offsetof(struct persona, bytes_per_sec), "drip" },
	{ "total_secs", KEY_INT, offsetof(struct persona, total_secs), "drip" },
	{ "full4", KEY_LIST, offsetof(struct persona, full4), "full" },
	{ "full5", KEY_LIST, offsetof(struct persona, full5), "full" },
	{ "disabled", KEY_LIST, offsetof(struct persona, disabled), "disabled" },
	{ "rcpt_per_session", KEY_INT, offsetof(struct persona, rcpt_per_session), "throttle" },
	{ "max_sessions", KEY_INT, offsetof(struct persona, max_sessions), "throttle" },
	{ "max_rcpts", KEY_INT, offsetof(struct persona, max_rcpts), NULL },
	{ "after", KEY_INT, offsetof(struct persona, after), "dropper" },
	{ "drops", KEY_INT, offsetof(struct persona, drops), "dropper" },
	{ "reset", KEY_BOOL, offsetof(struct persona, reset), "dropper" },
	{ "mode", KEY_MODE, offsetof(struct persona, mode), "hostile" },
	{ "interval_ms", KEY_INT, offsetof(struct persona, interval_ms), "hostile" },
	{ "bytes", KEY_INT, offsetof(struct persona, bytes), "hostile" },
};

/* key_set - apply one "key=value" to p; on error fill err and return -1 */
static int key_set(struct persona *p, const char *tok, char *err, size_t errsz)
{
	const char *eq = strchr(tok, '='), *val;
	const struct key_def *k = NULL;
	char *field, *end, *item, *save, list[SMTPD_LINE_MAX];
	size_t i;
	long n;

	if (eq == NULL) {
		snprintf(err, errsz, "expected key=value, got '%s'", tok);
		return -1;
	}
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strlen(keys[i].name) == (size_t)(eq - tok) && strncmp(keys[i].name, tok, (size_t)(eq - tok)) == 0)
			k = &keys[i];
	if (k == NULL) {
		snprintf(err, errsz, "unknown key '%.*s'", (int)(eq - tok), tok);
		return -1;
	}
	if (k->only != NULL && !word_in(k->only, p->kind->name)) {
		snprintf(err, errsz, "key '%s' is for persona %s, not %s", k->name, k->only, p->kind->name);
		return -1;
	}
	val = eq + 1;
	field = (char *)p + k->offset;
	switch (k->type) {
	case KEY_INT:
	case KEY_BOOL:
		errno = 0;
		n = strtol(val, &end, 10);
		if (errno != 0 || end == val || *end != '\0' || n < 0 || n > (k->type == KEY_BOOL ? 1 : 100000000)) {
			snprintf(err, errsz, "%s=%s: not %s", k->name, val,
				k->type == KEY_BOOL ? "0 or 1" : "a number from 0 to 100000000");
			return -1;
		}
		memcpy(field, &(int){ (int)n }, sizeof(int));
		break;
	case KEY_STR:
		if (*val == '\0' || strlen(val) >= SMTPD_NAME_MAX) {
			snprintf(err, errsz, "%s=: empty or longer than %d bytes", k->name, SMTPD_NAME_MAX - 1);
			return -1;
		}
		memcpy(field, val, strlen(val) + 1);
		break;
	case KEY_LIST:
		if (strlen(val) >= sizeof list) {
			snprintf(err, errsz, "%s=: longer than %zu bytes", k->name, sizeof list - 1);
			return -1;
		}
		memcpy(list, val, strlen(val) + 1);
		lower(list);
		strmap_clear((struct strmap *)(void *)field);
		for (item = strtok_r(list, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save))
			strmap_put((struct strmap *)(void *)field, item);
		break;
	case KEY_MODE:
		for (i = 0; i < sizeof hostile_modes / sizeof hostile_modes[0]; i++)
			if (strcmp(hostile_modes[i].name, val) == 0)
				p->mode = &hostile_modes[i];
		if (p->mode == NULL || strcmp(p->mode->name, val) != 0) {
			snprintf(err, errsz, "mode=%s: not endless, bigline, garbage, dropmid, slowloris or forge", val);
			return -1;
		}
		break;
	}
	return 0;
}

/*
 * persona_parse - one config line "ADDR PERSONA key=value ..." (modified in place) into a new
 * persona. Returns NULL with err empty for a blank line, NULL with err filled on an error.
 */
static struct persona *persona_parse(char *line, unsigned lineno, char *err, size_t errsz)
{
	char *tok, *save, *dsave, defaults[256];
	struct persona *p, *q;
	struct in_addr a;
	size_t i;

	err[0] = '\0';
	if ((tok = strtok_r(line, " \t", &save)) == NULL)
		return NULL;
	if (inet_pton(AF_INET, tok, &a) != 1 || (ntohl(a.s_addr) >> 24) != 127) {
		snprintf(err, errsz, "'%s' is not an IPv4 loopback address (127.0.0.0/8)", tok);
		return NULL;
	}
	for (q = personas; q != NULL; q = q->next)
		if (strcmp(q->addr, tok) == 0) {
			snprintf(err, errsz, "address %s already used on line %u", tok, q->line);
			return NULL;
		}
	p = xcalloc(1, sizeof *p);
	p->line = lineno;
	snprintf(p->addr, sizeof p->addr, "%s", tok);
	tok = strtok_r(NULL, " \t", &save);
	for (i = 0; tok != NULL && i < sizeof persona_kinds / sizeof persona_kinds[0]; i++)
		if (strcmp(persona_kinds[i].name, tok) == 0)
			p->kind = &persona_kinds[i];
	if (p->kind == NULL) {
		snprintf(err, errsz, "unknown or missing persona '%s'", tok ? tok : "");
		free(p);
		return NULL;
	}
	snprintf(p->name, sizeof p->name, "mx.%s.test", p->kind->name);
	p->max_rcpts = SMTPD_RCPT_MAX;
	snprintf(defaults, sizeof defaults, "%s", p->kind->defaults);
	for (tok = strtok_r(defaults, " ", &dsave); tok != NULL; tok = strtok_r(NULL, " ", &dsave))
		if (key_set(p, tok, err, errsz) < 0)
			die("persona table: %s defaults: %s", p->kind->name, err);
	while ((tok = strtok_r(NULL, " \t", &save)) != NULL)
		if (key_set(p, tok, err, errsz) < 0)
			return p; /* the caller dies with err */
	return p;
}

/* config_load - read the persona config; exits with "FILE:LINE: message" on the first error */
static void config_load(const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, *hash, err[512];
	struct persona *p, **tail = &personas;
	unsigned lineno = 0;
	size_t cap = 0;

	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	while (getline(&line, &cap, f) >= 0) {
		lineno++;
		if ((hash = strchr(line, '#')) != NULL)
			*hash = '\0';
		line[strcspn(line, "\r\n")] = '\0';
		p = persona_parse(line, lineno, err, sizeof err);
		if (err[0] != '\0')
			die("%s:%u: %s", path, lineno, err);
		if (p == NULL)
			continue;
		if ((p->tls || (p->kind->flags & KIND_STARTTLS)) && !(p->kind->flags & KIND_NO_CERT) &&
		    ssl_ctx == NULL)
			die("%s:%u: persona %s offers STARTTLS: give --cert and --key", path, lineno, p->kind->name);
		if (p->kind->greet == greet_drip && p->bytes_per_sec == 0 && p->total_secs == 0)
			die("%s:%u: drip needs bytes_per_sec or total_secs above 0", path, lineno);
		if (p->kind->greet == greet_hostile && p->interval_ms == 0)
			die("%s:%u: interval_ms must be above 0", path, lineno);
		*tail = p;
		tail = &p->next;
	}
	free(line);
	fclose(f);
	if (personas == NULL)
		die("%s: no personas", path);
}

static void persona_free(struct persona *p)
{
	if (p->listener != NULL)
		evconnlistener_free(p->listener);
	if (p->retry != NULL)
		event_free(p->retry);
	strmap_clear(&p->users);
	strmap_clear(&p->domains);
	strmap_clear(&p->full4);
	strmap_clear(&p->full5);
	strmap_clear(&p->disabled);
	strmap_clear(&p->clients);
	strmap_clear(&p->grey);
	free(p);
}

/* ---- listeners ---- */

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct persona *p = arg;
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)sa;
	struct session *s;
	long long *from_client;
	int one = 1;

	(void)l;
	(void)salen;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	s = xcalloc(1, sizeof *s);
	s->id = ++next_session_id;
	s->p = p;
	inet_ntop(AF_INET, &sin->sin_addr, s->client_ip, sizeof s->client_ip);
	snprintf(s->client, sizeof s->client, "%s:%u", s->client_ip, ntohs(sin->sin_port));
	if ((s->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL ||
	    (s->pending = evbuffer_new()) == NULL)
		die("out of memory for a session");
	LIST_INSERT_HEAD(&all_sessions, s, link);
	p->sessions++;
	open_sessions++;
	from_client = strmap_put(&p->clients, s->client_ip);
	++*from_client;
	log_event(s, "OPEN %s sessions=%d client=%lld all=%d t=%.3f", p->kind->name, p->sessions,
		*from_client, open_sessions, uptime());
	session_setup_bev(s);
	if (p->max_per_client > 0 && *from_client > p->max_per_client) {
		reply(s, "421 4.7.0 Too many connections from your IP");
		reply_close(s, "server");
		reply_send(s, 0);
		return;
	}
	if (p->max_sessions > 0 && p->sessions > p->max_sessions) {
		reply(s, "421 4.7.0 Too many sessions, try again later");
		reply_close(s, "server");
		reply_send(s, 0);
		return;
	}
	p->kind->greet(s);
}

static void accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct persona *p = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(p->listener);
}

/* accept_error_cb - accept() failed (EMFILE...): pause this listener instead of spinning */
static void accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct persona *p = arg;
	struct timeval tv = { 0, SMTPD_ACCEPT_PAUSE_MS * 1000 };

	log_persona(p, "ACCEPT-ERROR %s (sessions open: %d)",
		evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()), open_sessions);
	evconnlistener_disable(l);
	if (p->retry == NULL && (p->retry = evtimer_new(base, accept_resume_cb, p)) == NULL)
		die("evtimer_new failed");
	evtimer_add(p->retry, &tv);
}

static void persona_listen(struct persona *p, int port)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, p->addr, &sin.sin_addr);
	p->listener = evconnlistener_new_bind(base, accept_cb, p, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
		SMTPD_BACKLOG, (struct sockaddr *)&sin, sizeof sin);
	if (p->listener == NULL)
		die("cannot listen on %s:%d (%s): %s", p->addr, port, p->kind->name,
			evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	evconnlistener_set_error_cb(p->listener, accept_error_cb);
	log_persona(p, "LISTEN %s port=%d name=%s", p->kind->name, port, p->name);
}

/* ---- process ---- */

static void stop_cb(evutil_socket_t sig, short what, void *arg)
{
	struct persona *p;

	(void)what;
	(void)arg;
	log_event(NULL, "STOP signal=%d sessions=%d", (int)sig, open_sessions);
	for (p = personas; p != NULL; p = p->next)
		if (p->listener != NULL) {
			evconnlistener_free(p->listener);
			p->listener = NULL;
		}
	while (!LIST_EMPTY(&all_sessions))
		session_free(LIST_FIRST(&all_sessions), "shutdown");
	event_base_loopexit(base, NULL);
}

/* raise_nofile - soft RLIMIT_NOFILE up to the hard limit: benchmarks hold 10,000 sessions */
static long raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		getrlimit(RLIMIT_NOFILE, &rl);
	return (long)rl.rlim_cur;
}

static SSL_CTX *tls_context(const char *cert, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	char err[256];

	if (ctx == NULL)
		die("SSL_CTX_new failed");
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		ERR_error_string_n(ERR_get_error(), err, sizeof err);
		die("certificate %s / key %s: %s", cert, key, err);
	}
	return ctx;
}

static void pidfile_write(const char *path)
{
	char tmp[4096];
	FILE *f;

	/* written atomically once every listener is bound: its appearance means "ready" */
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0 ||
	    rename(tmp, path) != 0)
		die("pidfile %s: %s", path, strerror(errno));
}

static void usage(void)
{
	fprintf(stderr, "usage: smtpd --port PORT --config FILE --log FILE [--pidfile F] "
		"[--cert F --key F] [--idle SECS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' }, { "config", required_argument, NULL, 'c' },
		{ "log", required_argument, NULL, 'l' }, { "pidfile", required_argument, NULL, 'P' },
		{ "cert", required_argument, NULL, 'C' }, { "key", required_argument, NULL, 'K' },
		{ "idle", required_argument, NULL, 'i' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *logpath = NULL, *pidfile = NULL, *cert = NULL, *key = NULL;
	struct event *sigterm, *sigint;
	struct event_config *ecfg;
	struct persona *p, *next;
	int port = 0, c, n = 0;
	long nofile;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': port = atoi(optarg); break;
		case 'c': config = optarg; break;
		case 'l': logpath = optarg; break;
		case 'P': pidfile = optarg; break;
		case 'C': cert = optarg; break;
		case 'K': key = optarg; break;
		case 'i': idle_secs = atoi(optarg); break;
		default: usage();
		}
	}
	if (optind != argc || port <= 0 || port > 65535 || config == NULL || logpath == NULL ||
	    (cert == NULL) != (key == NULL) || idle_secs <= 0)
		usage();
	start_ms = now_ms();
	nofile = raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	if (cert != NULL)
		ssl_ctx = tls_context(cert, key);
	config_load(config);
	if ((log_fp = fopen(logpath, "a")) == NULL)
		die("log %s: %s", logpath, strerror(errno));
	/* Precise timers (timerfd): reply_ms delays are what they say, not rounded up to the next
	 * millisecond tick (the scheduling benchmark's bound takes them at their word). */
	if ((ecfg = event_config_new()) == NULL ||
	    event_config_set_flag(ecfg, EVENT_BASE_FLAG_PRECISE_TIMER) < 0 ||
	    (base = event_base_new_with_config(ecfg)) == NULL)
		die("event_base_new failed");
	event_config_free(ecfg);
	for (p = personas; p != NULL; p = p->next, n++)
		persona_listen(p, port);
	sigterm = evsignal_new(base, SIGTERM, stop_cb, NULL);
	sigint = evsignal_new(base, SIGINT, stop_cb, NULL);
	if (sigterm == NULL || sigint == NULL || evsignal_add(sigterm, NULL) != 0 || evsignal_add(sigint, NULL) != 0)
		die("cannot handle signals");
	if (pidfile != NULL)
		pidfile_write(pidfile);
	log_event(NULL, "START pid=%ld personas=%d port=%d nofile=%ld idle=%d", (long)getpid(), n, port,
		nofile, idle_secs);
	event_base_dispatch(base);

	for (p = personas; p != NULL; p = next) {
		next = p->next;
		persona_free(p);
	}
	event_free(sigterm);
	event_free(sigint);
	event_base_free(base);
	if (ssl_ctx != NULL)
		SSL_CTX_free(ssl_ctx);
	if (pidfile != NULL)
		unlink(pidfile);
	log_event(NULL, "EXIT 0");
	fclose(log_fp);
	return 0;
}
