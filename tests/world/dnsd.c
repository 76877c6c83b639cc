/*
 * dnsd - a small programmable authoritative DNS server for the loopback mail world (tests only).
 *
 *   dnsd --listen 127.0.0.1:PORT --zone FILE [--pidfile F] [--log F]
 *
 * Built on libevent's evdns server API (UDP only: libevent 2.1 has no TCP server side). It owns
 * one UDP socket, the zone read at startup, and the requests it is holding back (`delay`). The
 * zone file has one record a line, `#` starts a comment, names are case-insensitive:
 *
 *   mx DOMAIN PREF HOST     MX record; HOST "." is a null MX (RFC 7505)
 *   a NAME IPV4             A record
 *   aaaa NAME IPV6          AAAA record
 *   ptr NAME HOST           PTR record (NAME: 4.3.2.1.in-addr.arpa or the nibble form)
 *   txt NAME TEXT...        TXT record: the rest of the line, one space between words,
 *                           as one or more character-strings of at most 255 bytes
 *   servfail NAME           every query for NAME gets SERVFAIL
 *   refused NAME            every query for NAME gets REFUSED
 *   drop NAME               never answer (the client times out)
 *   delay NAME MS           answer normally, MS milliseconds late
 *   ttl NAME SECONDS        NAME's records carry this TTL (default DNSD_TTL, 300)
 *   nodata NAME             NAME exists but has no records (NOERROR, empty answer)
 *   badmx NAME MODE         an MX answer that does not parse (MODE: loop, a compression
 *                           pointer in the exchange that points at itself; short, RDATA of
 *                           one byte; cut, an exchange label that runs past the message)
 *
 * A name with no line in the zone gets NXDOMAIN; a name in the zone asked for a type it lacks
 * gets NODATA. Each query is logged as "name TYPE RCODE" (RCODE "DROP" for dropped ones), one
 * line each, flushed. The pidfile is written (atomically) once the socket is bound: its
 * appearance means "ready". SIGTERM or SIGINT stops it cleanly. It never forwards, recurses or
 * sends anything but answers to the client that asked. Answers are kept small on purpose: over
 * 512 bytes evdns sets TC and a client would retry over TCP, which dnsd does not serve.
 * Exit status: 0 after SIGTERM/SIGINT, 1 on a zone or startup error (message names the file and
 * line), 2 on a usage error.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/dns_struct.h>
#include <event2/event.h>
#include <event2/util.h>

#define DNSD_NAME_MAX 253          /* longest DNS name in text form (RFC 1035 2.3.4) */
#define DNSD_LABEL_MAX 63          /* longest label (RFC 1035 2.3.4) */
#define DNSD_RDATA_MAX 512         /* MX: 2 bytes preference + a name; TXT: text + length bytes */
#define DNSD_TXT_MAX 400           /* longest TXT text: the answer stays under 512 bytes */
#define DNSD_LINE_MAX 1024         /* longest zone line; longer is a zone error */
#define DNSD_TTL 300               /* TTL of every answer: the client never caches across tests */
#define DNSD_DELAY_MAX_MS 600000   /* a `delay` longer than 10 minutes is a typo */
#define DNSD_RCVBUF (4 << 20)      /* socket receive buffer: tests fire hundreds of queries at once */
#define DNSD_RECS_MIN 64           /* first size of the record array; doubles as needed */

#define RCODE_NOERROR 0
#define RCODE_FORMERR 1
#define RCODE_SERVFAIL 2
#define RCODE_NXDOMAIN 3
#define RCODE_REFUSED 5

enum rec_kind {
	REC_MX, REC_A, REC_AAAA, REC_SERVFAIL, REC_REFUSED, REC_DROP, REC_DELAY, REC_NODATA,
	REC_BADMX, REC_PTR, REC_TXT, REC_TTL
};

enum badmx_mode { BADMX_LOOP, BADMX_SHORT, BADMX_CUT };

/* Where evdns puts the answer's RDATA, for a self-pointing name: the header (12 bytes), the
 * question (name in wire form: its text length + 2, then type and class: 4), the answer's
 * owner (the question's name again, compressed by evdns to a 2-byte pointer), type, class,
 * TTL and RDLENGTH (10): text length + 30. */
#define DNSD_RDATA_OFFSET(namelen) ((namelen) + 30)

struct rec {
	enum rec_kind kind;
	size_t line;                       /* zone line, keeps the file's order among equal names */
	char name[DNSD_NAME_MAX + 1];      /* owner, lowercase, no trailing dot */
	int pref;                          /* MX preference */
	unsigned char rdata[DNSD_RDATA_MAX]; /* MX: wire RDATA; A/AAAA: the address */
	size_t rdlen;                      /* bytes used in rdata */
	int ms;                            /* delay; ttl: the seconds */
	enum badmx_mode badmx;             /* badmx */
};

struct held {                              /* a request answered late (`delay`) */
	struct dnsd *s;
	struct evdns_server_request *req;
	struct event *ev;
	int rcode;
	struct held *prev, *next;
};

struct dnsd {
	struct event_base *base;
	struct rec *recs;                  /* sorted by name, then line */
	size_t nrecs;
	FILE *log;                         /* NULL: no query log */
	struct held *held;                 /* delayed requests, to drop at exit */
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("dnsd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* norm_name - lowercase SRC into DST without a trailing dot; -1 when empty or too long */
static int norm_name(char *dst, const char *src)
{
	size_t n = strlen(src);

	if (n > 1 && src[n - 1] == '.')
		n--;
	if (n == 0 || n > DNSD_NAME_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[n] = '\0';
	return 0;
}

/* encode_name - NAME in uncompressed wire form into OUT; bytes written, -1 if it does not fit */
static int encode_name(const char *name, unsigned char *out, size_t outlen)
{
	size_t o = 0;
	const char *p = name;

	if (strcmp(name, ".") != 0) {
		while (*p) {
			const char *dot = strchr(p, '.');
			size_t len = dot ? (size_t)(dot - p) : strlen(p);

			if (len == 0 || len > DNSD_LABEL_MAX || o + 1 + len >= outlen)
				return -1;
			out[o++] = (unsigned char)len;
			memcpy(out + o, p, len);
			o += len;
			p += len;
			if (*p == '.')
				p++;
		}
	}
	if (o + 1 > outlen)
		return -1;
	out[o++] = 0;
	return (int)o;
}

static int rec_cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

static const struct {
	const char *word;
	enum rec_kind kind;
	int nargs;                         /* words after the name */
} kinds[] = {
	{"mx", REC_MX, 2}, {"a", REC_A, 1}, {"aaaa", REC_AAAA, 1}, {"servfail", REC_SERVFAIL, 0},
	{"refused", REC_REFUSED, 0}, {"drop", REC_DROP, 0}, {"delay", REC_DELAY, 1},
	{"nodata", REC_NODATA, 0}, {"badmx", REC_BADMX, 1}, {"ptr", REC_PTR, 1},
	{"txt", REC_TXT, -1}, {"ttl", REC_TTL, 1},
};

/* txt_rdata - the words W[0..N) joined by one space into R's RDATA as character-strings */
static const char *txt_rdata(char **w, int n, struct rec *r)
{
	char text[DNSD_TXT_MAX + 1];
	size_t len = 0;

	for (int i = 0; i < n; i++) {
		size_t k = strlen(w[i]);

		if (len + k + (i > 0) > DNSD_TXT_MAX)
			return "TXT text too long";
		if (i > 0)
			text[len++] = ' ';
		memcpy(text + len, w[i], k);
		len += k;
	}
	r->rdlen = 0;
	for (size_t at = 0; at < len || at == 0; at += 255) {
		size_t k = len - at < 255 ? len - at : 255;

		r->rdata[r->rdlen++] = (unsigned char)k;
		memcpy(r->rdata + r->rdlen, text + at, k);
		r->rdlen += k;
		if (len == 0)
			break;
	}
	return NULL;
}

/* zone_line - parse one zone line into R; NULL or a message */
static const char *zone_line(char *line, struct rec *r)
{
	char *w[64];
	int n = 0;
	char *save = NULL;
	size_t k;

	for (char *t = strtok_r(line, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
		if (n == 64)
			return "too many words";
		w[n++] = t;
	}
	for (k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
		if (strcasecmp(w[0], kinds[k].word) == 0)
			break;
	if (k == sizeof kinds / sizeof kinds[0])
		return "unknown record kind";
	if (kinds[k].nargs < 0 ? n < 2 : n != 2 + kinds[k].nargs)
		return "wrong number of words for this kind";
	r->kind = kinds[k].kind;
	if (norm_name(r->name, w[1]) != 0)
		return "bad name";
	switch (r->kind) {
	case REC_MX: {
		char host[DNSD_NAME_MAX + 1];
		char *end;
		long pref = strtol(w[2], &end, 10);
		int len;

		if (*end || pref < 0 || pref > 65535)
			return "bad MX preference";
		if (strcmp(w[3], ".") == 0)
			strcpy(host, ".");
		else if (norm_name(host, w[3]) != 0)
			return "bad MX host";
		r->pref = (int)pref;
		r->rdata[0] = (unsigned char)(pref >> 8);
		r->rdata[1] = (unsigned char)(pref & 0xff);
		len = encode_name(host, r->rdata + 2, sizeof r->rdata - 2);
		if (len < 0)
			return "MX host does not encode";
		r->rdlen = 2 + (size_t)len;
		break;
	}
	case REC_PTR: {
		char host[DNSD_NAME_MAX + 1];
		int len;

		if (norm_name(host, w[2]) != 0 || (len = encode_name(host, r->rdata,
		                                                   sizeof r->rdata)) < 0)
			return "bad PTR host";
		r->rdlen = (size_t)len;
		break;
	}
	case REC_TXT:
		return txt_rdata(w + 2, n - 2, r);
	case REC_A:
		if (inet_pton(AF_INET, w[2], r->rdata) != 1)
			return "bad IPv4 address";
		r->rdlen = 4;
		break;
	case REC_AAAA:
		if (inet_pton(AF_INET6, w[2], r->rdata) != 1)
			return "bad IPv6 address";
		r->rdlen = 16;
		break;
	case REC_BADMX:
		if (strcmp(w[2], "loop") == 0)
			r->badmx = BADMX_LOOP;
		else if (strcmp(w[2], "short") == 0)
			r->badmx = BADMX_SHORT;
		else if (strcmp(w[2], "cut") == 0)
			r->badmx = BADMX_CUT;
		else
			return "bad badmx mode (loop, short or cut)";
		break;
	case REC_DELAY: {
		char *end;
		long ms = strtol(w[2], &end, 10);

		if (*end || ms < 0 || ms > DNSD_DELAY_MAX_MS)
			return "bad delay";
		r->ms = (int)ms;
		break;
	}
	case REC_TTL: {
		char *end;
		long ttl = strtol(w[2], &end, 10);

		if (*end || ttl < 0 || ttl > 86400)
			return "bad ttl (seconds, 0 to 86400)";
		r->ms = (int)ttl;
		break;
	}
	default:
		break;
	}
	return NULL;
}

/* zone_load - read PATH into s->recs, sorted; exits on any error, naming the line */
static void zone_load(struct dnsd *s, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[DNSD_LINE_MAX + 2];
	size_t lineno = 0, cap = 0;

	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof line, f)) {
		char *hash = strchr(line, '#');
		const char *err;
		struct rec r;

		lineno++;
		if (strlen(line) > DNSD_LINE_MAX)
			die("%s:%zu: line too long", path, lineno);
		if (hash)
			*hash = '\0';
		if (strspn(line, " \t\r\n") == strlen(line))
			continue;
		memset(&r, 0, sizeof r);
		r.line = lineno;
		if ((err = zone_line(line, &r)) != NULL)
			die("%s:%zu: %s", path, lineno, err);
		if (s->nrecs == cap) {
			cap = cap ? cap * 2 : DNSD_RECS_MIN;
			s->recs = realloc(s->recs, cap * sizeof *s->recs);
			if (s->recs == NULL)
				die("out of memory");
		}
		s->recs[s->nrecs++] = r;
	}
	if (ferror(f))
		die("%s: read error", path);
	fclose(f);
	qsort(s->recs, s->nrecs, sizeof *s->recs, rec_cmp);
}

/* zone_find - the records of NAME as [*first, *first + count) */
static size_t zone_find(const struct dnsd *s, const char *name, size_t *first)
{
	size_t lo = 0, hi = s->nrecs, end;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(s->recs[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < s->nrecs && strcmp(s->recs[end].name, name) == 0; end++)
		;
	*first = lo;
	return end - lo;
}

static const char *type_name(int type, char *buf, size_t len)
{
	switch (type) {
	case EVDNS_TYPE_A: return "A";
	case EVDNS_TYPE_AAAA: return "AAAA";
	case EVDNS_TYPE_MX: return "MX";
	case EVDNS_TYPE_NS: return "NS";
	case EVDNS_TYPE_SOA: return "SOA";
	case EVDNS_TYPE_TXT: return "TXT";
	case EVDNS_TYPE_PTR: return "PTR";
	case EVDNS_TYPE_CNAME: return "CNAME";
	case EVDNS_QTYPE_ALL: return "ANY";
	default:
		snprintf(buf, len, "TYPE%d", type);
		return buf;
	}
}

static const char *rcode_name(int rcode)
{
	switch (rcode) {
	case RCODE_NOERROR: return "NOERROR";
	case RCODE_FORMERR: return "FORMERR";
	case RCODE_SERVFAIL: return "SERVFAIL";
	case RCODE_NXDOMAIN: return "NXDOMAIN";
	case RCODE_REFUSED: return "REFUSED";
	default: return "RCODE?";
	}
}

static void log_query(struct dnsd *s, const char *name, int type, const char *rcode)
{
	char tbuf[16];

	if (s->log == NULL)
		return;
	fprintf(s->log, "%s %s %s\n", name, type_name(type, tbuf, sizeof tbuf), rcode);
	fflush(s->log);
}

static void held_fire(evutil_socket_t fd, short what, void *arg)
{
	struct held *h = arg;

	(void)fd;
	(void)what;
	evdns_server_request_respond(h->req, h->rcode);
	if (h->prev)
		h->prev->next = h->next;
	else
		h->s->held = h->next;
	if (h->next)
		h->next->prev = h->prev;
	event_free(h->ev);
	free(h);
}

/* add_answers - the zone's records of type QTYPE for the question; returns how many */
static int add_answers(struct evdns_server_request *req, const struct evdns_server_question *q,
                       const struct rec *r, size_t n)
{
	int added = 0, ttl = DNSD_TTL;

	for (size_t i = 0; i < n; i++)
		if (r[i].kind == REC_TTL)
			ttl = r[i].ms;
	for (size_t i = 0; i < n; i++) {
		int type;

		if (r[i].kind == REC_BADMX && (q->type == EVDNS_TYPE_MX || q->type == EVDNS_QTYPE_ALL)) {
			unsigned char bad[8] = {0, 10};    /* preference 10, then the exchange */
			size_t len = 0, at = DNSD_RDATA_OFFSET(strlen(q->name)) + 2;

			switch (r[i].badmx) {
			case BADMX_LOOP:        /* a pointer to itself: a loop */
				bad[2] = (unsigned char)(0xc0 | (at >> 8));
				bad[3] = (unsigned char)(at & 0xff);
				len = 4;
				break;
			case BADMX_SHORT:       /* half a preference */
				len = 1;
				break;
			case BADMX_CUT:         /* a 63-byte label with 3 bytes, then the end */
				memcpy(bad + 2, "\x3f" "abc", 4);
				len = 6;
				break;
			}
			if (evdns_server_request_add_reply(req, EVDNS_ANSWER_SECTION, q->name,
			                                   EVDNS_TYPE_MX, EVDNS_CLASS_INET, DNSD_TTL,
			                                   (int)len, 0, (const char *)bad) == 0)
				added++;
			continue;
		}
		switch (r[i].kind) {
		case REC_MX: type = EVDNS_TYPE_MX; break;
		case REC_A: type = EVDNS_TYPE_A; break;
		case REC_AAAA: type = EVDNS_TYPE_AAAA; break;
		case REC_PTR: type = EVDNS_TYPE_PTR; break;
		case REC_TXT: type = EVDNS_TYPE_TXT; break;
		default: continue;
		}
		if (q->type != type && q->type != EVDNS_QTYPE_ALL)
			continue;
		/* one RR per call: evdns_server_request_add_a_reply(n > 1) makes a single RR with n*4
		 * bytes of RDATA, so every record goes through add_reply with its own RDATA */
		if (evdns_server_request_add_reply(req, EVDNS_ANSWER_SECTION, q->name, type,
		                                   EVDNS_CLASS_INET, ttl, (int)r[i].rdlen, 0,
		                                   (const char *)r[i].rdata) == 0)
			added++;
	}
	return added;
}

static void on_request(struct evdns_server_request *req, void *arg)
{
	struct dnsd *s = arg;
	const struct evdns_server_question *q;
	char name[DNSD_NAME_MAX + 1];
	size_t first, n;
	int rcode = RCODE_NOERROR, drop = 0, delay = -1;

	if (req->nquestions != 1) {
		log_query(s, "(questions)", 0, rcode_name(RCODE_FORMERR));
		evdns_server_request_respond(req, RCODE_FORMERR);
		return;
	}
	q = req->questions[0];
	if (norm_name(name, q->name) != 0) {
		log_query(s, "(badname)", q->type, rcode_name(RCODE_FORMERR));
		evdns_server_request_respond(req, RCODE_FORMERR);
		return;
	}
	n = zone_find(s, name, &first);
	if (n == 0)
		rcode = RCODE_NXDOMAIN;
	for (size_t i = first; i < first + n; i++) {
		switch (s->recs[i].kind) {
		case REC_DROP: drop = 1; break;
		case REC_SERVFAIL: rcode = RCODE_SERVFAIL; break;
		case REC_REFUSED: if (rcode == RCODE_NOERROR) rcode = RCODE_REFUSED; break;
		case REC_DELAY: delay = s->recs[i].ms; break;
		default: break;
		}
	}
	if (drop) {
		log_query(s, name, q->type, "DROP");
		evdns_server_request_drop(req);
		return;
	}
	evdns_server_request_set_flags(req, EVDNS_FLAGS_AA);
	if (rcode == RCODE_NOERROR)
		add_answers(req, q, s->recs + first, n);
	log_query(s, name, q->type, rcode_name(rcode));
	if (delay > 0) {
		struct held *h = calloc(1, sizeof *h);
		struct timeval tv = {delay / 1000, (delay % 1000) * 1000};

		if (h == NULL || (h->ev = evtimer_new(s->base, held_fire, h)) == NULL)
			die("out of memory");
		h->s = s;
		h->req = req;
		h->rcode = rcode;
		h->next = s->held;
		if (s->held)
			s->held->prev = h;
		s->held = h;
		evtimer_add(h->ev, &tv);
		return;
	}
	evdns_server_request_respond(req, rcode);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopbreak(arg);
}

static void write_pidfile(const char *path)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL)
		die("%s: %s", tmp, strerror(errno));
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		die("%s: %s", path, strerror(errno));
}

static void usage(void)
{
	fprintf(stderr, "usage: dnsd --listen ADDR:PORT --zone FILE [--pidfile F] [--log F]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'}, {"zone", required_argument, NULL, 'z'},
		{"pidfile", required_argument, NULL, 'p'}, {"log", required_argument, NULL, 'g'},
		{NULL, 0, NULL, 0},
	};
	const char *listen = NULL, *zone = NULL, *pidfile = NULL, *logpath = NULL;
	struct sockaddr_storage ss;
	int sslen = sizeof ss, c, fd, bufsize = DNSD_RCVBUF;
	struct dnsd s;
	struct evdns_server_port *port;
	struct event *sigterm, *sigint;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l': listen = optarg; break;
		case 'z': zone = optarg; break;
		case 'p': pidfile = optarg; break;
		case 'g': logpath = optarg; break;
		default: usage();
		}
	}
	if (listen == NULL || zone == NULL || optind != argc)
		usage();
	memset(&s, 0, sizeof s);
	zone_load(&s, zone);
	if (logpath && (s.log = fopen(logpath, "a")) == NULL)
		die("%s: %s", logpath, strerror(errno));
	if (evutil_parse_sockaddr_port(listen, (struct sockaddr *)&ss, &sslen) != 0)
		die("--listen %s: not ADDR:PORT", listen);
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	/* best effort: RCVBUFFORCE works as root and passes rmem_max, RCVBUF is capped by it */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsize, sizeof bufsize) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof bufsize);
	if (bind(fd, (struct sockaddr *)&ss, (socklen_t)sslen) != 0)
		die("bind %s: %s", listen, strerror(errno));
	if ((s.base = event_base_new()) == NULL)
		die("event_base_new failed");
	port = evdns_add_server_port_with_base(s.base, fd, 0, on_request, &s);
	if (port == NULL)
		die("evdns_add_server_port_with_base failed");
	sigterm = evsignal_new(s.base, SIGTERM, on_signal, s.base);
	sigint = evsignal_new(s.base, SIGINT, on_signal, s.base);
	if (sigterm == NULL || sigint == NULL || evsignal_add(sigterm, NULL) ||
	    evsignal_add(sigint, NULL))
		die("signal events failed");
	if (pidfile)
		write_pidfile(pidfile);

	event_base_dispatch(s.base);

	while (s.held) {
		struct held *h = s.held;

		s.held = h->next;
		evdns_server_request_drop(h->req);
		event_free(h->ev);
		free(h);
	}
	evdns_close_server_port(port);
	event_free(sigterm);
	event_free(sigint);
	event_base_free(s.base);
	if (pidfile)
		unlink(pidfile);
	if (s.log)
		fclose(s.log);
	free(s.recs);
	return 0;
}
