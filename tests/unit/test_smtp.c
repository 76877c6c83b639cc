/*
 * test_smtp - the SMTP session module (engine/smtp.c) against tests/world/smtpd on loopback,
 * above all its idle wait: next_rcpt returning NULL with *id = SMTP_WAIT parks the session
 * without a command until smtp_resume (or, at the latest, the reply timeout: then QUIT, END_OK);
 * and its connected callback / result flag (once per TCP connection; none when refused).
 *
 * The first test starts smtpd (MAILSIFT_BUILD/tests/world/smtpd, else build/tests/world/smtpd)
 * with one `strict` persona on 127.0.0.1 and a free port; the last one stops it with SIGTERM and
 * wants a clean exit. Every session has one target, mx.test at 127.0.0.1: nothing leaves
 * loopback, inside `unshare -n` or outside. Each test runs one session driven by a script of
 * what next_rcpt returns (an address, or a WAIT, which may arm a libevent timer that calls
 * smtp_resume), and reads back the part of smtpd's log written since the session started: one
 * OPEN, the "C: ..." lines it received, its CLOSE. Times are measured on CLOCK_MONOTONIC, with
 * an event base using the same clock (EVENT_BASE_FLAG_PRECISE_TIMER), and only as lower bounds:
 * a busy machine is slow, never fast. Every loop run has a guard timer, so a lost callback fails
 * (and the session is cancelled), not hangs.
 */
#include <stdlib.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "engine/config.h"
#include "engine/reply.h"
#include "engine/smtp.h"
#include "tests/check.h"
#include "tests/daemon.h"

#define GUARD_SECONDS 15         /* longest a loop may run before the test calls it lost */
#define CLOSE_WAIT_MS 3000       /* time smtpd gets to log a session's CLOSE after our done */
#define DOMAIN "strict.test"     /* the persona ignores domains (no domains= key) */
#define RESUME_MS 200            /* test 1: the WAIT is resumed this much later */
#define IDLE_TIMEOUT 1.0         /* test 2: reply timeout that ends the idle wait */
#define SLACK 0.05               /* test 2: the deadline is armed from the loop's cached time */
#define SCRIPT_MAX 8
#define SEG_MAX 65536            /* bytes of log one session may write */

/* ---------------------------------------------------------------- the world */

/* personas_write - smtpd's config */
static void personas_write(FILE *f)
{
	fputs("# test_smtp: strict personas; alice and bob exist, nobody else\n"
	      "127.0.0.1 strict users=alice,bob name=mx.test\n"
	      "# two RCPTs per transaction, then 452 4.5.3\n"
	      "127.0.0.2 strict users=alice,bob max_rcpts=2 name=mx.test\n"
	      "# the connection closed when the second RCPT comes\n"
	      "127.0.0.3 dropper users=alice,bob after=1 name=mx.test\n", f);
}

/* smtpd_exec - smtpd with its port, config, log and pidfile (in the child) */
static void smtpd_exec(const char *bin, const struct daemon *srv)
{
	char port[16];

	snprintf(port, sizeof port, "%d", srv->port);
	execl(bin, "smtpd", "--port", port, "--config", srv->conf_path, "--log", srv->log_path,
	      "--pidfile", srv->pid_path, (char *)NULL);
}

static struct daemon smtpd = {
	.name = "smtpd",
	.tmp_prefix = "test_smtp",
	.sock_type = SOCK_STREAM,
	.conf_name = "personas.conf",
	.conf_write = personas_write,
	.exec = smtpd_exec,
};
static struct event_base *base;

/* ---------------------------------------------------------------- smtpd's log */

static long log_size(void)
{
	struct stat st;

	return stat(smtpd.log_path, &st) == 0 ? (long)st.st_size : 0;
}

/* seg_read - the log from byte FROM on, into BUF (NUL-terminated) */
static void seg_read(long from, char *buf, size_t len)
{
	FILE *f = fopen(smtpd.log_path, "r");
	size_t n = 0;

	if (f != NULL && fseek(f, from, SEEK_SET) == 0)
		n = fread(buf, 1, len - 1, f);
	if (f != NULL)
		fclose(f);
	buf[n] = '\0';
}

/* seg_count - session lines of SEG (not the server's "- " lines) whose event, after the
 * "<session-id> <persona-addr> <client-addr:port> " prefix, starts with PREFIX (NOCASE: any
 * case) */
static int seg_count(const char *seg, const char *prefix, int nocase)
{
	const char *line = seg;
	int n = 0;

	while (*line) {
		const char *end = strchr(line, '\n'), *ev = line;
		size_t len = end ? (size_t)(end - line) : strlen(line);

		for (int field = 0; field < 3 && ev < line + len; field++) {
			const char *sp = memchr(ev, ' ', (size_t)(line + len - ev));
			ev = sp ? sp + 1 : line + len;
		}
		if (line[0] != '-' && (size_t)(line + len - ev) >= strlen(prefix) &&
		    (nocase ? strncasecmp(ev, prefix, strlen(prefix))
		            : strncmp(ev, prefix, strlen(prefix))) == 0)
			n++;
		line += len + (end != NULL);
	}
	return n;
}

/* seg_one_session - every session line of SEG carries the same session id */
static int seg_one_session(const char *seg)
{
	const char *line = seg;
	char first[32] = "";

	while (*line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		size_t idlen = strcspn(line, " \n");

		if (line[0] != '-' && idlen > 0 && idlen < sizeof first) {
			if (first[0] == '\0')
				memcpy(first, line, idlen);
			else if (strlen(first) != idlen || memcmp(first, line, idlen) != 0)
				return 0;
		}
		line += len + (end != NULL);
	}
	return first[0] != '\0';
}

/* seg_wait - the log since FROM, once smtpd logged the session's CLOSE (or after a while) */
static void seg_wait(long from, char *buf, size_t len)
{
	double until = now() + CLOSE_WAIT_MS / 1000.0;

	for (;;) {
		seg_read(from, buf, len);
		if (seg_count(buf, "CLOSE ", 0) > 0 || now() >= until)
			return;
		usleep(5000);
	}
}

/* ---------------------------------------------------------------- one session */

struct step {                    /* one answer of next_rcpt */
	const char *addr;        /* NULL with id SMTP_WAIT: wait */
	long id;
};

struct probe {
	/* the script */
	struct step script[SCRIPT_MAX];
	int nscript, pos;
	double resume_after;     /* seconds after a WAIT until smtp_resume; < 0: never */
	int resume_everywhere;   /* call smtp_resume inside every callback too (not idle then) */
	int port;                /* connect here instead of smtpd's port (0: smtpd's) */
	const char *ip;          /* connect to this persona address (NULL: 127.0.0.1) */

	/* what happened */
	struct smtp_session *s;
	struct event *resume_ev;
	int calls;                       /* next_rcpt calls */
	double call_t[SCRIPT_MAX + 2];   /* when each began */
	int resumes;                     /* smtp_resume calls made by resume_ev */
	int nrcpt;
	long rcpt_id[SCRIPT_MAX];
	enum reply_outcome rcpt_o[SCRIPT_MAX];
	int rcpt_code[SCRIPT_MAX];       /* 0: no reply */
	char rcpt_enh[SCRIPT_MAX][16];
	int dones;
	enum smtp_end end;
	char detail[256];
	char mx_host[64];
	int greeted, tls;
	int connects;                    /* connected callbacks */
	int connected;                   /* done's result says a TCP connection was made */
	int rcpt_limit;                  /* done's result: the recipient limit found */
	double done_t;
	int lost;                        /* the guard fired */
	int trace;                       /* record the transcript (smtp_trace) */
	char *rcpt_trace[SCRIPT_MAX];    /* rcpt_done's transcripts (malloc'd) */
	char *done_trace;                /* done's */
	int rcpts, last_code;            /* done's session-log figures */
	double reply_ms, seconds;
};

/* probe_clear - P's copies freed */
static void probe_clear(struct probe *p)
{
	for (int i = 0; i < SCRIPT_MAX; i++)
		free(p->rcpt_trace[i]);
	free(p->done_trace);
}

static const char *p_next_rcpt(void *ctx, long *id, int *needs_smtputf8)
{
	struct probe *p = ctx;
	const struct step *st;

	(void)needs_smtputf8;
	if (p->calls < SCRIPT_MAX + 2)
		p->call_t[p->calls] = now();
	p->calls++;
	if (p->resume_everywhere)
		smtp_resume(p->s);
	if (p->pos >= p->nscript) {
		*id = 0;
		return NULL;
	}
	st = &p->script[p->pos++];
	*id = st->id;
	if (st->addr == NULL && st->id == SMTP_WAIT && p->resume_after >= 0) {
		struct timeval tv;

		tv.tv_sec = (time_t)p->resume_after;
		tv.tv_usec = (suseconds_t)((p->resume_after - (double)tv.tv_sec) * 1e6);
		event_base_update_cache_time(base);   /* count from now, not from the loop's start */
		evtimer_add(p->resume_ev, &tv);
	}
	return st->addr;
}

static void p_rcpt_done(void *ctx, long id, enum reply_outcome o, const struct reply *r,
                        const struct smtp_session_result *s)
{
	struct probe *p = ctx;

	(void)s;
	if (p->nrcpt < SCRIPT_MAX) {
		p->rcpt_id[p->nrcpt] = id;
		p->rcpt_o[p->nrcpt] = o;
		p->rcpt_code[p->nrcpt] = r ? r->code : 0;
		snprintf(p->rcpt_enh[p->nrcpt], sizeof p->rcpt_enh[0], "%s", r ? r->enhanced : "");
		p->rcpt_trace[p->nrcpt] = s->trace ? strdup(s->trace) : NULL;
	}
	p->nrcpt++;
	if (p->resume_everywhere)
		smtp_resume(p->s);
}

static void p_done(void *ctx, const struct smtp_session_result *s)
{
	struct probe *p = ctx;

	p->dones++;
	p->done_t = now();
	p->end = s->end;
	p->greeted = s->greeted;
	p->connected = s->connected;
	p->rcpt_limit = s->rcpt_limit;
	p->tls = s->tls;
	p->done_trace = s->trace ? strdup(s->trace) : NULL;
	p->rcpts = s->rcpts;
	p->last_code = s->last_code;
	p->reply_ms = s->reply_ms;
	p->seconds = s->seconds;
	snprintf(p->detail, sizeof p->detail, "%s", s->detail ? s->detail : "");
	snprintf(p->mx_host, sizeof p->mx_host, "%s", s->mx_host ? s->mx_host : "(null)");
	event_base_loopbreak(base);
}

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;

	(void)fd;
	(void)what;
	if (p->dones == 0) {     /* after done the session is gone */
		p->resumes++;
		smtp_resume(p->s);
	}
}

static void guard_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
	event_base_loopbreak(base);
}

static void p_connected(void *ctx)
{
	struct probe *p = ctx;

	if (p->dones == 0)       /* counted only while the session lives, as the contract says */
		p->connects++;
}

static const struct smtp_callbacks callbacks = {p_next_rcpt, p_rcpt_done, p_done, p_connected};

/* probe_run - one session to mx.test (127.0.0.1:smtpd.port) with P's script, the loop until
 * done (or the guard: then the session is cancelled); SEG gets smtpd's log of it */
static void probe_run(struct probe *p, double reply_timeout, int resume_at_start, char *seg,
                      size_t seglen)
{
	struct probe_config cfg;
	char helo_buf[256];
	struct smtp_target t;
	struct sockaddr_in *sin = (struct sockaddr_in *)&t.addr;
	struct timeval tv = {GUARD_SECONDS, 0};
	struct event *guard;
	int fired = 0;
	long from = log_size();

	config_defaults(&cfg, helo_buf, sizeof helo_buf);
	cfg.smtp_port = p->port ? p->port : smtpd.port;
	cfg.helo = "test.example";
	cfg.mail_from = "verify@test.example";
	cfg.connect_timeout = 2.0;
	cfg.reply_timeout = reply_timeout;
	cfg.starttls = 0;

	memset(&t, 0, sizeof t);
	t.host = "mx.test";
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (p->ip)
		inet_pton(AF_INET, p->ip, &sin->sin_addr);
	t.addrlen = sizeof *sin;

	p->resume_ev = evtimer_new(base, resume_cb, p);
	guard = evtimer_new(base, guard_cb, &fired);
	p->s = smtp_start(base, &cfg, NULL, &t, 1, NULL, &callbacks, p);
	CHECK(p->s != NULL, "smtp_start");
	if (p->s == NULL || p->resume_ev == NULL || guard == NULL) {
		if (p->resume_ev)
			event_free(p->resume_ev);
		if (guard)
			event_free(guard);
		seg[0] = '\0';
		return;
	}
	if (resume_at_start)
		smtp_resume(p->s);  /* not idle: still unconnected */
	if (p->trace)
		CHECK(smtp_trace(p->s, now()) == 0, "smtp_trace");
	evtimer_add(guard, &tv);
	while (p->dones == 0 && !fired)
		event_base_loop(base, EVLOOP_ONCE);
	if (p->dones == 0) {
		p->lost = 1;
		printf("  loop guard fired after %d s: next_rcpt called %d times, %d answers\n",
		       GUARD_SECONDS, p->calls, p->nrcpt);
		smtp_cancel(p->s);
	}
	event_free(guard);
	event_free(p->resume_ev);
	p->resume_ev = NULL;
	event_base_loop(base, EVLOOP_NONBLOCK);
	seg_wait(from, seg, seglen);
}

static void want_end(const struct probe *p, enum smtp_end want)
{
	CHECK(!p->lost, "the session ended by itself within %d s", GUARD_SECONDS);
	CHECK_INT(p->dones, 1, "done calls");
	CHECK_STR(smtp_end_name(p->end), smtp_end_name(want), "how the session ended");
	if (want != SMTP_END_CONNECT) {
		CHECK_INT(p->connects, 1, "connected callbacks (one TCP connection)");
		CHECK_INT(p->connected, 1, "done's result: a TCP connection was made");
	}
	if (p->end != want)
		printf("  detail: %s\n", p->detail);
}

/* want_log - smtpd's log of the session: one session, WANT_CMDS client lines, QUIT answered */
static void want_log(const char *seg, int want_cmds)
{
	CHECK(seg_one_session(seg), "the log since the start holds one session:\n%s", seg);
	CHECK_INT(seg_count(seg, "OPEN ", 0), 1, "OPEN lines");
	CHECK_INT(seg_count(seg, "C: EHLO test.example", 0), 1, "EHLO lines");
	CHECK_INT(seg_count(seg, "C: MAIL FROM:<verify@test.example>", 0), 1, "MAIL FROM lines");
	CHECK_INT(seg_count(seg, "C: QUIT", 0), 1, "QUIT lines");
	CHECK_INT(seg_count(seg, "CLOSE quit ", 0), 1, "CLOSE quit lines (QUIT answered)");
	CHECK_INT(seg_count(seg, "C: ", 0), want_cmds, "client lines in all");
	CHECK_INT(seg_count(seg, "C: DATA", 1), 0, "DATA lines");
	CHECK_INT(seg_count(seg, "C: BDAT", 1), 0, "BDAT lines");
	CHECK_INT(seg_count(seg, "!!! ", 0), 0, "lines about a message sent");
}

/* ---------------------------------------------------------------- tests */

static void test_world_starts(void)
{
	struct event_config *ec = event_config_new();
	char seg[SEG_MAX];

	CHECK(daemon_start(&smtpd) == 0, "smtpd started");
	if (smtpd.pid == 0)
		exit(1);            /* nothing else can run */
	/* CLOCK_MONOTONIC timers, the clock the test measures with */
	CHECK(ec != NULL && event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER) == 0 &&
	      (base = event_base_new_with_config(ec)) != NULL, "event base");
	if (ec)
		event_config_free(ec);
	if (base == NULL)
		exit(1);
	seg_read(0, seg, sizeof seg);
	CHECK(strstr(seg, " LISTEN strict ") != NULL, "smtpd listens as strict:\n%s", seg);
}

/* 1: WAIT, smtp_resume 200 ms later from a timer, then alice (accepted), then the end */
static void test_wait_then_resume(void)
{
	struct probe p = {
		.script = {{NULL, SMTP_WAIT}, {"alice@" DOMAIN, 1}},
		.nscript = 2,
		.resume_after = RESUME_MS / 1000.0,
	};
	char seg[SEG_MAX];

	probe_run(&p, 5.0, 0, seg, sizeof seg);
	want_end(&p, SMTP_END_OK);
	CHECK_INT(p.calls, 3, "next_rcpt calls (WAIT, alice, end)");
	CHECK_INT(p.resumes, 1, "resumes by the timer");
	if (p.calls >= 2)
		CHECK(p.call_t[1] - p.call_t[0] >= RESUME_MS / 1000.0,
		      "the second next_rcpt came %.3f s after the first, before the resume",
		      p.call_t[1] - p.call_t[0]);
	CHECK_INT(p.nrcpt, 1, "rcpt_done calls");
	CHECK_INT(p.rcpt_id[0], 1, "rcpt_done id (alice)");
	CHECK_STR(reply_outcome_name(p.rcpt_o[0]), reply_outcome_name(OUTCOME_ACCEPTED), "alice");
	CHECK_INT(p.rcpt_code[0], 250, "alice's reply code");
	CHECK_INT(p.greeted, 1, "greeted");
	CHECK_STR(p.mx_host, "mx.test", "mx_host");
	want_log(seg, 4);            /* EHLO, MAIL, RCPT, QUIT: nothing sent while idle */
	CHECK_INT(seg_count(seg, "C: RCPT TO:<alice@" DOMAIN ">", 0), 1, "RCPT for alice");
	CHECK_INT(seg_count(seg, "S: 250 2.1.5", 0), 1, "smtpd accepted alice");
}

/* 2: WAIT and nothing resumes it: QUIT after the reply timeout, END_OK */
static void test_wait_times_out(void)
{
	struct probe p = {
		.script = {{NULL, SMTP_WAIT}},
		.nscript = 1,
		.resume_after = -1,
	};
	char seg[SEG_MAX];

	probe_run(&p, IDLE_TIMEOUT, 0, seg, sizeof seg);
	want_end(&p, SMTP_END_OK);
	CHECK_INT(p.calls, 1, "next_rcpt calls");
	CHECK_INT(p.nrcpt, 0, "rcpt_done calls");
	if (p.calls >= 1 && p.dones == 1)
		CHECK(p.done_t - p.call_t[0] >= IDLE_TIMEOUT - SLACK,
		      "done came %.3f s after the WAIT, before the %.1f s reply timeout",
		      p.done_t - p.call_t[0], IDLE_TIMEOUT);
	want_log(seg, 3);            /* EHLO, MAIL, QUIT */
	CHECK_INT(seg_count(seg, "C: RCPT", 1), 0, "RCPT lines");
}

/* 3: smtp_resume on a session that is not idle (unconnected, in callbacks) changes nothing */
static void test_resume_not_idle(void)
{
	struct probe p = {
		.script = {{"bob@" DOMAIN, 7}},
		.nscript = 1,
		.resume_after = -1,
		.resume_everywhere = 1,
	};
	char seg[SEG_MAX];

	probe_run(&p, 5.0, 1, seg, sizeof seg);
	want_end(&p, SMTP_END_OK);
	CHECK_INT(p.calls, 2, "next_rcpt calls (bob, end)");
	CHECK_INT(p.nrcpt, 1, "rcpt_done calls");
	CHECK_INT(p.rcpt_id[0], 7, "rcpt_done id (bob)");
	CHECK_STR(reply_outcome_name(p.rcpt_o[0]), reply_outcome_name(OUTCOME_ACCEPTED), "bob");
	want_log(seg, 4);            /* EHLO, MAIL, RCPT, QUIT */
	CHECK_INT(seg_count(seg, "C: RCPT TO:<bob@" DOMAIN ">", 0), 1, "RCPT for bob");
}

/* 4: accepted and rejected addresses, a WAIT after the rejection */
static void test_mixed_outcomes(void)
{
	struct probe p = {
		.script = {{"alice@" DOMAIN, 11}, {"zed@" DOMAIN, 12}, {NULL, SMTP_WAIT},
		           {"bob@" DOMAIN, 13}},
		.nscript = 4,
		.resume_after = 0.05,
	};
	static const long want_id[] = {11, 12, 13};
	static const enum reply_outcome want_o[] = {OUTCOME_ACCEPTED, OUTCOME_NO_MAILBOX,
	                                            OUTCOME_ACCEPTED};
	static const int want_code[] = {250, 550, 250};
	static const char *const want_enh[] = {"2.1.5", "5.1.1", "2.1.5"};
	char seg[SEG_MAX];

	probe_run(&p, 5.0, 0, seg, sizeof seg);
	want_end(&p, SMTP_END_OK);
	CHECK_INT(p.calls, 5, "next_rcpt calls (alice, zed, WAIT, bob, end)");
	CHECK_INT(p.resumes, 1, "resumes by the timer");
	CHECK_INT(p.nrcpt, 3, "rcpt_done calls");
	for (int i = 0; i < 3 && i < p.nrcpt; i++) {
		char ctx[64];

		snprintf(ctx, sizeof ctx, "answer %d", i + 1);
		CHECK_INT(p.rcpt_id[i], want_id[i], ctx);
		CHECK_STR(reply_outcome_name(p.rcpt_o[i]), reply_outcome_name(want_o[i]), ctx);
		CHECK_INT(p.rcpt_code[i], want_code[i], ctx);
		CHECK_STR(p.rcpt_enh[i], want_enh[i], ctx);
	}
	want_log(seg, 6);            /* EHLO, MAIL, 3 RCPT, QUIT */
	CHECK_INT(seg_count(seg, "C: RCPT TO:<zed@" DOMAIN ">", 0), 1, "RCPT for zed");
	CHECK_INT(seg_count(seg, "S: 550 5.1.1", 0), 1, "smtpd rejected zed");
}

/* A port nobody listens on: the connection is refused, no connected callback, no next_rcpt,
 * and the result says no connection was made (the scheduler counts such hosts to tell a
 * blocked port 25 from dead hosts). */
static void test_refused(void)
{
	struct probe p = {.script = {{"alice@" DOMAIN, 21}}, .nscript = 1, .resume_after = -1};
	char seg[SEG_MAX];

	p.port = daemon_free_port(SOCK_STREAM);
	CHECK(p.port > 0, "a free port");
	probe_run(&p, 5.0, 0, seg, sizeof seg);
	want_end(&p, SMTP_END_CONNECT);
	CHECK_INT(p.connects, 0, "connected callbacks");
	CHECK_INT(p.connected, 0, "done's result: no TCP connection");
	CHECK_INT(p.calls, 0, "next_rcpt calls");
	CHECK_INT(p.greeted, 0, "greeted");
}

/* 5: a host that takes two RCPTs per transaction (452 4.5.3 at the third): the third address
 * is asked again, at once, in a new transaction (RSET, MAIL FROM) of the same session, the next
 * transaction stays within the limit, and the result says the limit */
static void test_rcpt_limit(void)
{
	struct probe p = {
		.script = {{"alice@" DOMAIN, 31}, {"bob@" DOMAIN, 32}, {"zed@" DOMAIN, 33},
		           {"alice@" DOMAIN, 34}, {"bob@" DOMAIN, 35}},
		.nscript = 5,
		.resume_after = -1,
		.ip = "127.0.0.2",
	};
	static const long want_id[] = {31, 32, 33, 34, 35};
	static const enum reply_outcome want_o[] = {OUTCOME_ACCEPTED, OUTCOME_ACCEPTED,
	                                            OUTCOME_NO_MAILBOX, OUTCOME_ACCEPTED,
	                                            OUTCOME_ACCEPTED};
	char seg[SEG_MAX];

	probe_run(&p, 5.0, 0, seg, sizeof seg);
	want_end(&p, SMTP_END_OK);
	CHECK_INT(p.nrcpt, 5, "rcpt_done calls (the 452 is no answer)");
	for (int i = 0; i < 5 && i < p.nrcpt; i++) {
		char ctx[64];

		snprintf(ctx, sizeof ctx, "answer %d", i + 1);
		CHECK_INT(p.rcpt_id[i], want_id[i], ctx);
		CHECK_STR(reply_outcome_name(p.rcpt_o[i]), reply_outcome_name(want_o[i]), ctx);
	}
	CHECK_INT(p.rcpt_limit, 2, "the limit in the result");
	CHECK_INT(seg_count(seg, "S: 452 4.5.3", 0), 1, "452s (one: the limit is kept)");
	CHECK_INT(seg_count(seg, "C: RCPT TO:<zed@" DOMAIN ">", 0), 2, "RCPTs for zed (asked again)");
	CHECK_INT(seg_count(seg, "C: MAIL FROM:", 0), 3, "transactions (2 + 1 + 2 RCPTs)");
	CHECK_INT(seg_count(seg, "C: RSET", 0), 2, "RSETs");
	CHECK_INT(seg_count(seg, "C: DATA", 1), 0, "DATA lines");
}

/* 6: a host that closes the connection between replies (after one RCPT): the session ends
 * DROPPED (retried by the owner), not PROTOCOL (garbage, never retried) */
static void test_dropped(void)
{
	struct probe p = {
		.script = {{"alice@" DOMAIN, 41}, {"bob@" DOMAIN, 42}},
		.nscript = 2,
		.resume_after = -1,
		.ip = "127.0.0.3",
	};
	char seg[SEG_MAX];

	probe_run(&p, 5.0, 0, seg, sizeof seg);
	want_end(&p, SMTP_END_DROPPED);
	CHECK_INT(p.nrcpt, 1, "rcpt_done calls (alice; bob unanswered)");
	CHECK(strstr(p.detail, "closed the connection") != NULL, "detail: %s", p.detail);
	CHECK_INT(seg_count(seg, "DROP after 1 RCPTs", 0), 1, "smtpd dropped the session");
}

/* in_order - the event lines WANT (each "TYPE TEXT-prefix") occur in TRACE in this order */
static int in_order(const char *trace, const char *const *want, size_t n)
{
	const char *p = trace;

	for (size_t i = 0; i < n; i++) {
		const char *hit = NULL;
		for (const char *line = p; line && *line;) {
			const char *sp = strchr(line, ' ');
			if (sp && strncmp(sp + 1, want[i], strlen(want[i])) == 0) {
				hit = line;
				break;
			}
			line = strchr(line, '\n');
			line = line ? line + 1 : NULL;
		}
		if (hit == NULL) {
			printf("  missing in order: \"%s\" in\n%s", want[i], trace);
			return 0;
		}
		p = strchr(hit, '\n') ? strchr(hit, '\n') + 1 : hit + strlen(hit);
	}
	return 1;
}

/* 7: with smtp_trace, each address's transcript is the session up to its transaction and its
 * own RCPT exchange, in order, without the other addresses' RCPTs; done's is the whole
 * session with its end; the session-log figures are filled */
static void test_transcripts(void)
{
	struct probe p = {
		.script = {{"alice@" DOMAIN, 51}, {"zed@" DOMAIN, 52}, {"bob@" DOMAIN, 53}},
		.nscript = 3,
		.resume_after = -1,
		.trace = 1,
	};
	static const char *const zed[] = {
		"connect from the system's address to mx.test[127.0.0.1]:", "connect connected in",
		"S 220 ", "C EHLO test.example", "S 250", "C MAIL FROM:<verify@test.example>",
		"S 250", "C RCPT TO:<zed@" DOMAIN ">", "S 550 5.1.1",
		"rule 550 to RCPT TO, perm_rules row: X.1.1 -> no_mailbox"};
	static const char *const done[] = {"C MAIL FROM:", "S 250", "C QUIT", "S 221", "end ok"};
	char seg[SEG_MAX];

	probe_run(&p, 5.0, 0, seg, sizeof seg);
	want_end(&p, SMTP_END_OK);
	CHECK_INT(p.nrcpt, 3, "rcpt_done calls");
	CHECK(p.rcpt_trace[1] && in_order(p.rcpt_trace[1], zed, sizeof zed / sizeof zed[0]),
	      "zed's transcript");
	CHECK(p.rcpt_trace[1] && !strstr(p.rcpt_trace[1], "alice@") && !strstr(p.rcpt_trace[1], "bob@"),
	      "zed's transcript holds no other address");
	CHECK(p.rcpt_trace[0] && strstr(p.rcpt_trace[0], "C RCPT TO:<alice@") &&
	              strstr(p.rcpt_trace[0], "S 250 2.1.5") && !strstr(p.rcpt_trace[0], "zed@") &&
	              strstr(p.rcpt_trace[0], " rule 250 to RCPT TO -> accepted\n") &&
	              !strstr(p.rcpt_trace[0], " rule 550"),
	      "alice's transcript: %s", p.rcpt_trace[0] ? p.rcpt_trace[0] : "(null)");
	CHECK(p.done_trace && in_order(p.done_trace, done, sizeof done / sizeof done[0]) &&
	              !strstr(p.done_trace, "RCPT TO:"),
	      "done's transcript: %s", p.done_trace ? p.done_trace : "(null)");
	CHECK_INT(p.rcpts, 3, "RCPTs sent");
	CHECK_INT(p.last_code, 221, "the last reply (QUIT's)");
	CHECK(p.reply_ms > 0 && p.seconds > 0, "timings %g ms, %g s", p.reply_ms, p.seconds);
	probe_clear(&p);
}

/* 8: transcripts across transactions (the limit found: RSET, MAIL FROM) and a dropped session:
 * the address asked when the server closed gets the whole session with its end */
static void test_transcripts_tx_and_drop(void)
{
	struct probe p = {
		.script = {{"alice@" DOMAIN, 61}, {"bob@" DOMAIN, 62}, {"zed@" DOMAIN, 63}},
		.nscript = 3,
		.resume_after = -1,
		.ip = "127.0.0.2",
		.trace = 1,
	};
	static const char *const zed[] = {"C MAIL FROM:", "S 250", "C RSET", "S 250",
	                                  "C MAIL FROM:", "S 250", "C RCPT TO:<zed@", "S 550 5.1.1"};
	struct probe d = {
		.script = {{"alice@" DOMAIN, 71}, {"bob@" DOMAIN, 72}},
		.nscript = 2,
		.resume_after = -1,
		.ip = "127.0.0.3",
		.trace = 1,
	};
	static const char *const bob[] = {"C RCPT TO:<bob@", "end dropped: mx.test[127.0.0.3]"};
	char seg[SEG_MAX];

	probe_run(&p, 5.0, 0, seg, sizeof seg);
	CHECK_INT(p.nrcpt, 3, "rcpt_done calls");
	CHECK(p.rcpt_trace[2] && in_order(p.rcpt_trace[2], zed, sizeof zed / sizeof zed[0]),
	      "zed's transcript: its own transaction");
	CHECK(p.rcpt_trace[2] && !strstr(p.rcpt_trace[2], "alice@") && !strstr(p.rcpt_trace[2], "bob@"),
	      "zed's transcript holds no other address");
	probe_clear(&p);
	probe_run(&d, 5.0, 0, seg, sizeof seg);
	want_end(&d, SMTP_END_DROPPED);
	CHECK(d.done_trace && in_order(d.done_trace, bob, sizeof bob / sizeof bob[0]) &&
	              !strstr(d.done_trace, "alice@"),
	      "bob's transcript (done's)");
	probe_clear(&d);
}

static void test_world_stops(void)
{
	char seg[SEG_MAX];
	int status = daemon_stop(&smtpd);

	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "smtpd exits cleanly on SIGTERM (%d)",
	      status);
	CHECK(access(smtpd.pid_path, F_OK) != 0, "smtpd removed its pidfile");
	seg_read(0, seg, sizeof seg);
	CHECK(strstr(seg, "!!! ") == NULL, "no message was ever sent");
	CHECK_INT(seg_count(seg, "CLOSE shutdown", 0), 0, "sessions still open at the end");
	if (base)
		event_base_free(base);
	base = NULL;
}

TESTS(test_world_starts, test_wait_then_resume, test_wait_times_out, test_resume_not_idle,
      test_mixed_outcomes, test_refused, test_rcpt_limit, test_dropped, test_transcripts,
      test_transcripts_tx_and_drop, test_world_stops)
