/*
 * test_run - the run loop as a service (engine/run.h) on an event base of the test's own,
 * against the loopback mail world (tests/world/world.sh: dnsd and the smtpd personas) and a
 * real job store file:
 *  - a run that keeps running takes addresses imported after it started (into its job store,
 *    by its owner, while the run says it is idle) without a restart, and stops on request;
 *  - a run that does not keep running ends by itself once every address has its verdict,
 *    through its done callback, without breaking the owner's loop on its own.
 * MAILSIFT_TOP and MAILSIFT_BUILD come from tests/run.sh.
 */
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/config.h"
#include "engine/run.h"
#include "importers/csv.h"
#include "importers/import.h"
#include "schema/store.h"
#include "tests/check.h"
#include "tests/daemon.h"
#include "tests/tmpdir.h"

#define TEST_RUN_SECONDS 60 /* the longest a run of this test may take */

static int smtp_port, dns_port;
static char world_cmd[2048];

/* world - start or stop the loopback world in tmpdir; the shell's exit status */
static int world(const char *what)
{
	const char *top = getenv("MAILSIFT_TOP"), *build = getenv("MAILSIFT_BUILD");

	snprintf(world_cmd, sizeof world_cmd,
	         "WORLD_SMTP_PORT=%d WORLD_DNS_PORT=%d MAILSIFT_BUILD='%s' sh '%s/tests/world/world.sh' "
	         "%s '%s' > /dev/null", smtp_port, dns_port, build && *build ? build : "build",
	         top && *top ? top : ".", what, tmpdir);
	return system(world_cmd);
}

static void write_file(const char *name, const char *text)
{
	char p[1024];
	FILE *f;

	snprintf(p, sizeof p, "%s/%s", tmpdir, name);
	f = fopen(p, "w");
	if (f == NULL) {
		perror(p);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

/* The test's side of a run. */
struct watch {
	struct event_base *base;
	struct run *run;
	int phase;                  /* 0 first list, 1 second list imported, 2 stop asked */
	struct store *store;
	int imported;               /* import_list's status for the second list */
	int idle_seen;              /* progress reports that said idle */
	int ended;                  /* done called */
	int done_calls;
	int verdict_calls;          /* verdict called */
	int64_t verdict_ids_sum;    /* the address ids it named, summed */
	char err[512];
	struct run_result result;
	int64_t last_total, last_done;
};

/* import_file - import NAME of tmpdir into S; import_list's status */
static int import_file(struct store *s, const char *name)
{
	struct import_opts io = {.max_record = CSV_MAX_RECORD_DEFAULT};
	struct import_result res;
	char p[1024], err[512] = "";

	snprintf(p, sizeof p, "%s/%s", tmpdir, name);
	enum import_status st = import_list(s, p, &io, &res, err, sizeof err);

	CHECK_INT(st, IMPORT_DONE, err);
	return (int)st;
}

static void on_progress(void *ctx, const struct run_progress *p)
{
	struct watch *w = ctx;

	w->last_total = p->total;
	w->last_done = p->done;
	w->idle_seen += p->idle;
	if (w->phase == 0 && p->total == 2 && p->done == 2 && p->idle) {
		w->imported = import_file(w->store, "second.csv"); /* while the run waits for work */
		w->phase = 1;
	} else if (w->phase == 1 && p->total == 4 && p->done == 4) {
		w->phase = 2;
		run_stop(w->run);
	}
}

static void on_done(void *ctx, const struct run_result *r, const char *err)
{
	struct watch *w = ctx;

	w->done_calls++;
	w->ended = 1;
	w->result = *r;
	snprintf(w->err, sizeof w->err, "%s", err ? err : "");
	event_base_loopbreak(w->base);
}

static void on_verdict(void *ctx, int64_t address_id)
{
	struct watch *w = ctx;

	w->verdict_calls++;
	w->verdict_ids_sum += address_id;
}

static void give_up_cb(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;

	(void)fd;
	(void)what;
	printf("  gave up after %d s in phase %d (total %lld, done %lld)\n", TEST_RUN_SECONDS,
	       w->phase, (long long)w->last_total, (long long)w->last_done);
	event_base_loopbreak(w->base);
}

/* run_watched - run S with KEEP_RUNNING on a base of our own until done or the time is up */
static void run_watched(struct store *s, int keep_running, struct watch *w)
{
	static struct probe_config cfg;
	static char helo[256], from[320], resolver[64];
	static const struct run_callbacks cb = {on_progress, on_done, on_verdict, NULL};
	struct run_opts o;
	struct timeval limit = {TEST_RUN_SECONDS, 0};
	struct event *give_up;
	char err[512] = "";

	config_defaults(&cfg, helo, sizeof helo);
	cfg.helo = "probe.mailsift.test";
	config_finish(&cfg, from, sizeof from, err, sizeof err);
	snprintf(resolver, sizeof resolver, "127.0.0.1:%d", dns_port);
	cfg.resolvers[0] = resolver;
	cfg.nresolvers = 1;
	cfg.smtp_port = smtp_port;
	cfg.allow_private_mx = 1;
	cfg.reply_timeout = 5;
	cfg.connect_timeout = 3;
	memset(&o, 0, sizeof o);
	o.cfg = &cfg;
	o.sched = (struct sched_opts){10, 2, NULL, 0};
	o.keep_running = keep_running;
	o.max_age_days = -1; /* no --max-age: verdicts are reused (0 would probe every one again) */

	memset(w, 0, sizeof *w);
	w->store = s;
	w->base = event_base_new();
	give_up = evtimer_new(w->base, give_up_cb, w);
	w->run = run_new(w->base, s, &o, &cb, w, NULL, err, sizeof err);
	CHECK(w->run != NULL, "run_new: %s", err);
	if (w->run == NULL)
		return;
	evtimer_add(give_up, &limit);
	event_base_dispatch(w->base);
	run_free(w->run);
	event_free(give_up);
	event_base_free(w->base);
}

static struct store *open_job_store(void)
{
	char db[1024], err[512];
	struct store *s;

	snprintf(db, sizeof db, "%s/j.db", tmpdir);
	s = store_open(db, STORE_WRITE, err, sizeof err);
	CHECK(s != NULL, "store_open: %s", err);
	return s;
}

static void test_world_starts(void)
{
	CHECK(tmpdir_make("test_run") == 0, "temporary folder");
	smtp_port = daemon_free_port(SOCK_STREAM);
	dns_port = daemon_free_port(SOCK_DGRAM);
	CHECK_INT(world("start"), 0, world_cmd);
}

static void test_keeps_running_for_new_work(void)
{
	struct store *s = open_job_store();
	struct store_counts c;
	struct watch w;

	if (s == NULL)
		return;
	write_file("first.csv", "email\nalice@strict.test\nnobody@strict.test\n");
	write_file("second.csv", "email\nbob@strict.test\nnoone@strict.test\n");
	import_file(s, "first.csv");
	run_watched(s, 1, &w);
	CHECK_INT(w.phase, 2, "the run took the second list without a restart, then was stopped");
	CHECK_INT(w.done_calls, 1, "done called once, after run_stop");
	CHECK_STR(w.err, "", "no failure");
	CHECK_INT(w.imported, IMPORT_DONE, "the import into the job store of an idle run");
	CHECK(w.idle_seen > 0, "the run said it was idle");
	CHECK_INT(w.result.verdicts, 4, "four verdicts from one run");
	CHECK_INT(w.verdict_calls, 4, "the verdict callback called for each");
	CHECK_INT(w.verdict_ids_sum, 1 + 2 + 3 + 4, "... naming addresses 1 to 4 once each");
	CHECK_INT(store_counts(s, &c), 0, "store_counts");
	CHECK_INT(c.done, 4, "all four addresses done in the store");
	CHECK_INT(c.by_status[STATUS_VALID], 2, "alice and bob valid");
	CHECK_INT(c.by_status[STATUS_INVALID], 2, "nobody and noone invalid");
	store_close(s);
}

static void test_ends_by_itself(void)
{
	struct store *s = open_job_store();
	struct store_counts c;
	struct watch w;

	if (s == NULL)
		return;
	write_file("third.csv", "email\ncarol@strict.test\n");
	import_file(s, "third.csv");
	run_watched(s, 0, &w);
	CHECK_INT(w.done_calls, 1, "a run that does not keep running ends with done");
	CHECK_INT(w.result.interrupted, 0, "not interrupted");
	CHECK_INT(w.result.verdicts, 1, "only the new address was asked");
	CHECK_INT(w.verdict_calls, 1, "one verdict callback");
	CHECK_INT(w.verdict_ids_sum, 5, "... for the fifth address");
	CHECK_INT(store_counts(s, &c), 0, "store_counts");
	CHECK_INT(c.by_status[STATUS_VALID], 3, "carol valid too");
	store_close(s);
}

static void test_world_stops(void)
{
	CHECK_INT(world("stop"), 0, world_cmd);
}

TESTS(test_world_starts, test_keeps_running_for_new_work, test_ends_by_itself, test_world_stops)
