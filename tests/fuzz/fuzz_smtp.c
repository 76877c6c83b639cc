/*
 * fuzz_smtp - libFuzzer target for the SMTP probe session (engine/smtp.h): a server's bytes
 * into the state machine, over a socketpair, with its timers faked.
 *
 * Input: byte 0 sets the work (bits 0-2: addresses to probe, 0..7; bits 3-4: RCPTs per
 * transaction, 1..4; bit 5: the second address needs SMTPUTF8; bit 6: max rejections 1 or
 * 100); the rest is the server's side, turns separated by NUL bytes. A turn is written when the
 * session has gone quiet (nothing more to read and nothing to write); a turn that starts with
 * 0x01 writes nothing and lets the current step's deadline pass instead (smtp_expire). When the
 * turns run out the server closes its end; a session still not done after that is expired
 * until it is (a bounded number of times, then it is a finding).
 *
 * Aborts (a finding) when the client sends DATA, BDAT or any command outside the probe's set,
 * a line without CRLF or longer than 512 bytes, when done runs twice or never, when a RCPT is
 * answered that was not asked or twice, when an outcome or end is out of range, when "no
 * mailbox" comes from anything but a 5xx reply, or when anything is called after done.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "engine/config.h"
#include "engine/smtp.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_ADDRS 7
#define FUZZ_CLIENT_MAX 8192     /* client bytes kept for checking: far more than a session sends */
#define FUZZ_EXPIRES 8           /* deadlines a session may need after the server closed */

static const char *const fuzz_addr[FUZZ_ADDRS] = {
	"a@x.test", "b\xc3\xa9@x.test", "c@x.test", "d@y.test", "e@y.test", "f@x.test", "g@z.test",
};

struct fuzz_run {
	int naddrs, next, utf8_second;
	int asked[FUZZ_ADDRS];       /* pulled by next_rcpt */
	int answered[FUZZ_ADDRS];
	int done;
	char client[FUZZ_CLIENT_MAX];
	size_t nclient;
};

static const char *fuzz_next_rcpt(void *ctx, long *id, int *needs_smtputf8)
{
	struct fuzz_run *f = ctx;

	FUZZ_ASSERT(!f->done);
	if (f->next >= f->naddrs)
		return NULL;
	*id = f->next;
	*needs_smtputf8 = f->utf8_second && f->next == 1;
	f->asked[f->next] = 1;
	return fuzz_addr[f->next++];
}

static void fuzz_rcpt_done(void *ctx, long id, enum reply_outcome o, const struct reply *r,
                           const struct smtp_session_result *s)
{
	struct fuzz_run *f = ctx;

	FUZZ_ASSERT(!f->done);
	FUZZ_ASSERT(id >= 0 && id < f->naddrs && f->asked[id] && !f->answered[id]);
	FUZZ_ASSERT((int)o >= 0 && (int)o <= OUTCOME_UNKNOWN_PERM);
	FUZZ_ASSERT(s != NULL && s->end == SMTP_END_OK);
	if (o == OUTCOME_NO_MAILBOX || o == OUTCOME_DISABLED)
		FUZZ_ASSERT(r != NULL && r->code >= 500 && r->code <= 599);
	if (o == OUTCOME_ACCEPTED)
		FUZZ_ASSERT(r != NULL && r->code >= 200 && r->code <= 299);
	f->answered[id] = 1;
#ifdef FUZZ_TRACE
	fprintf(stderr, "rcpt %ld: %s\n", id, reply_outcome_name(o));
#endif
}

static void fuzz_done(void *ctx, const struct smtp_session_result *s)
{
	struct fuzz_run *f = ctx;

	FUZZ_ASSERT(!f->done);
	FUZZ_ASSERT((int)s->end >= 0 && s->end <= SMTP_END_CANCELLED);
	FUZZ_ASSERT(s->detail != NULL && memchr(s->detail, '\0', 256) != NULL);
	f->done = 1;
#ifdef FUZZ_TRACE
	fprintf(stderr, "done: %s (%s)\n", smtp_end_name(s->end), s->detail);
#endif
}

/* fuzz_check_line - one command line of the client (without its CRLF) is one of the probe's */
static void fuzz_check_line(const char *l, size_t n)
{
	static const char *const allowed[] = {"EHLO ", "HELO ", "MAIL FROM:<", "RCPT TO:<", "RSET",
	                                      "QUIT", "STARTTLS"};
	int ok = 0;

	FUZZ_ASSERT(n + 2 <= 512); /* RFC 5321 4.5.3.1.4 */
	FUZZ_ASSERT(memchr(l, '\r', n) == NULL && memchr(l, '\n', n) == NULL);
	for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
		if (n >= strlen(allowed[i]) && memcmp(l, allowed[i], strlen(allowed[i])) == 0)
			ok = 1;
	FUZZ_ASSERT(ok); /* never DATA, never BDAT, nothing else */
}

/* fuzz_drain - read what the client wrote; 1 when there was something */
static int fuzz_drain(int fd, struct fuzz_run *f)
{
	char buf[4096];
	int got = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof buf)) > 0) {
		got = 1;
		for (ssize_t i = 0; i < n; i++) {
			FUZZ_ASSERT(f->nclient < sizeof f->client);
			f->client[f->nclient++] = buf[i];
			if (buf[i] == '\n') {
				FUZZ_ASSERT(f->nclient >= 2 && f->client[f->nclient - 2] == '\r');
				fuzz_check_line(f->client, f->nclient - 2);
#ifdef FUZZ_TRACE
				fprintf(stderr, "C: %.*s\n", (int)f->nclient - 2, f->client);
#endif
				f->nclient = 0;
			}
		}
	}
	return got;
}

/* fuzz_settle - run the loop until the session is quiet: nothing new from the client */
static void fuzz_settle(struct event_base *base, int fd, struct fuzz_run *f)
{
	for (int i = 0; i < 64 && !f->done; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (!fuzz_drain(fd, f) && i > 0)
			break;
	}
	fuzz_drain(fd, f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct event_base *base;
	static struct probe_config cfg;
	static char helo[256], from[300];
	struct smtp_target t;
	struct smtp_session *s;
	struct fuzz_run f;
	int sv[2];
	const uint8_t *p, *end = data + size;

	if (size == 0)
		return 0;
	if (base == NULL) {
		char err[256];
		signal(SIGPIPE, SIG_IGN);
		base = event_base_new();
		config_defaults(&cfg, helo, sizeof helo);
		cfg.helo = "probe.mailsift.test";
		FUZZ_ASSERT(base != NULL && config_finish(&cfg, from, sizeof from, err, sizeof err) == 0);
		cfg.reply_timeout = 3600; /* deadlines pass only when the input says so */
		cfg.connect_timeout = 3600;
	}
	cfg.rcpts_per_transaction = 1 + ((data[0] >> 3) & 3);
	cfg.max_rejections = (data[0] & 0x40) ? 1 : 100;

	memset(&f, 0, sizeof f);
	f.naddrs = data[0] & 7;
	f.utf8_second = (data[0] & 0x20) != 0;
	memset(&t, 0, sizeof t);
	t.host = "mx.x.test";
	t.addr.ss_family = AF_INET;
	((struct sockaddr_in *)&t.addr)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	t.addrlen = sizeof(struct sockaddr_in);

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	struct smtp_callbacks cb = {fuzz_next_rcpt, fuzz_rcpt_done, fuzz_done, NULL};
	s = smtp_start_connected(base, &cfg, &t, sv[0], &cb, &f);
	FUZZ_ASSERT(s != NULL);

	p = data + 1;
	while (!f.done && p < end) {
		const uint8_t *nul = memchr(p, '\0', (size_t)(end - p));
		size_t len = (size_t)((nul != NULL ? nul : end) - p);

		fuzz_settle(base, sv[1], &f);
		if (f.done)
			break;
		if (len > 0 && p[0] == 0x01) {
			smtp_expire(s);
		} else {
			size_t off = 0;
			while (off < len) { /* the client reads as we write: drain between writes */
				ssize_t w = write(sv[1], p + off, len - off);
				if (w > 0)
					off += (size_t)w;
				else if (errno == EAGAIN)
					fuzz_settle(base, sv[1], &f);
				else
					break;
				if (f.done)
					break;
			}
		}
		p = nul != NULL ? nul + 1 : end;
	}
	fuzz_settle(base, sv[1], &f);
	shutdown(sv[1], SHUT_WR); /* the server hangs up */
	for (int i = 0; i < FUZZ_EXPIRES && !f.done; i++) {
		fuzz_settle(base, sv[1], &f);
		if (!f.done)
			smtp_expire(s);
	}
	FUZZ_ASSERT(f.done);
	fuzz_settle(base, sv[1], &f); /* nothing may run after done */
	close(sv[1]);
	return 0;
}
