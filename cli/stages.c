/*
 * stages - the stages the commands share, each driven through its module and reported on
 * stderr: open a job store, import lists (importers/), run the verification (engine/run as a
 * service on a loop of our own, with the progress line and the stop on a signal), export
 * (exporters/). Each returns an exit status.
 */
#include "cli/stages.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/progress.h"
#include "cli/signals.h"
#include "common/clock.h"
#include "engine/run.h"
#include "exporters/export.h"
#include "exporters/session_log.h"
#include "importers/csv.h"
#include "importers/import.h"
#include "schema/verdict.h"

/* ---- run ---- */

/* The command line's side of a run: its loop, the progress line, the stop on a signal. */
struct cli_run {
	struct event_base *base;
	struct run *run;
	struct progress progress;
	struct event *stop_watch;       /* polls cli_stop_requested */
	int stop_said;
	int quiet;
	const struct cli_run_hooks *hooks;
	struct run_result result;
	char err[512];
	int failed;
	FILE *session_log;              /* --session-log, or NULL */
	const char *session_log_path;
	int log_failed;                 /* it could not be written: the run stops */
};

/* duration_text - "45 s", "12 min", "2 h 05 min" */
static const char *duration_text(double secs, char *buf, size_t n)
{
	long s = secs > 0 ? (long)(secs + 0.5) : 0;

	if (s < 120)
		snprintf(buf, n, "%ld s", s);
	else if (s < 7200)
		snprintf(buf, n, "%ld min", (s + 30) / 60);
	else
		snprintf(buf, n, "%ld h %02ld min", s / 3600, (s % 3600 + 30) / 60);
	return buf;
}

/* counts_text - "valid N invalid N risky N catch_all N unknown N" */
static const char *counts_text(const struct run_progress *p, char *buf, size_t n)
{
	snprintf(buf, n, "valid %lld invalid %lld risky %lld catch_all %lld unknown %lld",
	         (long long)p->by_status[STATUS_VALID], (long long)p->by_status[STATUS_INVALID],
	         (long long)p->by_status[STATUS_RISKY], (long long)p->by_status[STATUS_CATCH_ALL],
	         (long long)p->by_status[STATUS_UNKNOWN]);
	return buf;
}

/* retry_line - the line while only retries remain: how many wait, when the next leaves, and an
 * ETA from the retry schedule (the last one due), not from a verdict rate that is zero meanwhile */
static void retry_line(const struct run_progress *p, char *text, size_t n)
{
	int64_t wall = (int64_t)time(NULL);
	time_t next = (time_t)(p->retry_first > wall ? p->retry_first : wall);
	struct tm tm;
	char at[16] = "?", d1[32], counts[160];

	if (localtime_r(&next, &tm))
		strftime(at, sizeof at, "%H:%M:%S", &tm);
	snprintf(text, n,
	         "verifying: %lld/%lld | %s | %lld addresses wait for a retry, the next at %s, ETA %s "
	         "(the last retry due)",
	         (long long)p->done, (long long)p->total, counts_text(p, counts, sizeof counts),
	         (long long)p->retry_wait, at,
	         duration_text((double)(p->retry_last - wall), d1, sizeof d1));
}

/* work_line - the line while addresses can be asked: the rate, an ETA for what can be asked
 * now, and apart from it what waits for a retry (no rate shortens that wait) */
static void work_line(const struct run_progress *p, char *text, size_t n)
{
	int64_t first_pass = p->total - p->done - p->retry_wait; /* not waiting for a retry */
	int64_t wall = (int64_t)time(NULL);
	char eta[96], retry[128] = "", d1[32], d2[32], counts[160];
	/* the recent rate once there is one, the whole run's until then */
	double rate = p->rate > 0 ? p->rate : p->seconds > 0 ? (double)p->verdicts / p->seconds : 0;

	if (first_pass <= 0)
		snprintf(eta, sizeof eta, "ETA -");
	else if (rate > 0)
		snprintf(eta, sizeof eta, "ETA %s", duration_text((double)first_pass / rate, d1, sizeof d1));
	else
		snprintf(eta, sizeof eta, "ETA ?");
	if (p->retry_wait > 0 && p->retry_last > p->retry_first)
		snprintf(retry, sizeof retry, ", %lld wait for a retry (next in %s, last in %s)",
		         (long long)p->retry_wait,
		         duration_text((double)(p->retry_first - wall), d1, sizeof d1),
		         duration_text((double)(p->retry_last - wall), d2, sizeof d2));
	else if (p->retry_wait > 0)
		snprintf(retry, sizeof retry, ", %lld wait for a retry (due in %s)",
		         (long long)p->retry_wait,
		         duration_text((double)(p->retry_first - wall), d1, sizeof d1));
	snprintf(text, n, "verifying: %lld/%lld, %.0f/s, %s | %s | sessions %zu, hosts paused %zu%s",
	         (long long)p->done, (long long)p->total, rate, eta, counts_text(p, counts, sizeof counts),
	         p->sessions, p->hosts_paused, retry);
}

static void on_run_progress(void *ctx, const struct run_progress *p)
{
	struct cli_run *c = ctx;
	double frac = p->total ? (double)p->done / (double)p->total : -1;
	char text[640];

	if (p->sleep_seconds > 0) {
		snprintf(text, sizeof text,
		         "waiting %lld s for the next retry (%lld addresses wait: greylisting or "
		         "temporary failures)", (long long)p->sleep_seconds, (long long)p->retry_wait);
		progress_show(&c->progress, -1, text, 1);
		return;
	}
	if (p->total - p->done - p->retry_wait <= 0 && p->retry_wait > 0)
		retry_line(p, text, sizeof text);
	else
		work_line(p, text, sizeof text);
	progress_show(&c->progress, frac, text, 0);
}

static void on_run_done(void *ctx, const struct run_result *r, const char *err)
{
	struct cli_run *c = ctx;

	c->result = *r;
	if (err) {
		snprintf(c->err, sizeof c->err, "%s", err);
		c->failed = 1;
	}
	event_base_loopbreak(c->base);
}

/* on_run_session - a session is over: its line in the session log; a log that cannot be
 * written stops the run (an operator counts on it) */
static void on_run_session(void *ctx, const struct store_session *ss)
{
	struct cli_run *c = ctx;

	if (c->session_log == NULL || c->log_failed)
		return;
	if (session_log_write(c->session_log, ss) < 0) {
		c->log_failed = 1;
		snprintf(c->err, sizeof c->err, "session log %s: cannot write: %s", c->session_log_path,
		         strerror(errno));
		run_stop(c->run);
	}
}

static void on_run_verdict(void *ctx, int64_t address_id)
{
	struct cli_run *c = ctx;

	if (c->hooks && c->hooks->verdict)
		c->hooks->verdict(c->hooks->ctx, address_id);
}

/* stop_watch_cb - a signal came: let the run's open sessions finish, then stop */
static void stop_watch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cli_run *c = arg;

	(void)fd;
	(void)what;
	if (!cli_stop_requested || c->stop_said)
		return;
	c->stop_said = 1;
	progress_end(&c->progress);
	fprintf(stderr, "mailsift: stopping: letting open sessions finish (%.0f s at most; Ctrl-C "
	                "again to stop now)\n", DEF_DRAIN_SECONDS);
	run_stop(c->run);
}

int cli_run_store(struct store *s, const struct run_cli *rc, int quiet,
                  const struct cli_run_hooks *hooks)
{
	struct run_opts ro = {
		.cfg = &rc->pc,
		.sched = {rc->concurrency, rc->per_host, rc->sources, rc->nsources},
		.max_age_days = rc->max_age,
	};
	static const struct run_callbacks cb = {on_run_progress, on_run_done, on_run_verdict,
	                                        on_run_session};
	struct timeval poll = {0, (suseconds_t)(DEF_RUN_PROGRESS_TICK * 1e6)};
	struct cli_run c;
	int status = EXIT_FAILURE_;

	/* run and clean check the machine first; verify (a temporary store) asks of a handful of
	 * addresses what the quick checks would ask of three big providers: not worth it */
	if (!rc->no_doctor && !(hooks && hooks->temporary))
		cli_doctor_quick(rc);
	memset(&c, 0, sizeof c);
	c.quiet = quiet;
	c.hooks = hooks;
	cli_signals_catch();
	progress_init(&c.progress, stderr, quiet);
	c.session_log_path = rc->session_log;
	if (rc->session_log &&
	    (c.session_log = session_log_open(rc->session_log, c.err, sizeof c.err)) == NULL) {
		fprintf(stderr, "mailsift: %s\n", c.err);
		return EXIT_FAILURE_;
	}
	c.base = event_base_new();
	if (c.base == NULL) {
		fprintf(stderr, "mailsift: run: out of memory\n");
		if (c.session_log)
			fclose(c.session_log);
		return EXIT_FAILURE_;
	}
	c.run = run_new(c.base, s, &ro, &cb, &c, quiet ? NULL : stderr, c.err, sizeof c.err);
	c.stop_watch = event_new(c.base, -1, EV_PERSIST, stop_watch_cb, &c);
	if (c.run == NULL || c.stop_watch == NULL) {
		fprintf(stderr, "mailsift: run: %s\n", c.err[0] ? c.err : "out of memory");
		goto out;
	}
	event_add(c.stop_watch, &poll);
	event_base_dispatch(c.base);
	progress_end(&c.progress);
	if (c.log_failed) {
		fprintf(stderr, "mailsift: run: %s; stopped (what was done is saved)\n", c.err);
	} else if (c.failed) {
		fprintf(stderr, "mailsift: run: %s\n", c.err);
		if (c.result.smtp_blocked)
			status = EXIT_SMTP_BLOCKED;
	} else if (c.result.interrupted && hooks && hooks->temporary) {
		fprintf(stderr, "mailsift: stopped after %lld verdicts\n", (long long)c.result.verdicts);
		status = EXIT_INTERRUPTED;
	} else if (c.result.interrupted) {
		fprintf(stderr, "mailsift: stopped after %lld verdicts; what was done is saved. Rerun the "
		                "same command to resume.\n", (long long)c.result.verdicts);
		status = EXIT_INTERRUPTED;
	} else {
		if (!quiet)
			fprintf(stderr, "verified: %lld verdicts in %.1f s\n",
			        (long long)c.result.verdicts, c.result.seconds);
		status = EXIT_DONE;
	}
out:
	run_free(c.run);
	if (c.session_log && fclose(c.session_log) != 0 && !c.log_failed) {
		fprintf(stderr, "mailsift: session log %s: %s\n", rc->session_log, strerror(errno));
		status = EXIT_FAILURE_;
	}
	if (c.stop_watch)
		event_free(c.stop_watch);
	event_base_free(c.base);
	return status;
}

/* ---- import ---- */

struct import_progress_ctx {
	struct progress *p;
	double started;
};

static void show_import_progress(void *ctx, const struct import_progress *ip)
{
	struct import_progress_ctx *c = ctx;
	double secs = clock_now() - c->started;
	double frac = ip->raw_total ? (double)ip->raw_done / (double)ip->raw_total : -1;
	char text[512];

	if (frac > 1)
		frac = 1;
	snprintf(text, sizeof text, "importing %s: %llu rows, %.0f rows/s", ip->name,
	         (unsigned long long)ip->rows, secs > 0 ? (double)ip->rows / secs : 0.0);
	progress_show(c->p, frac, text, 0);
}

static void show_import_message(void *ctx, const char *line)
{
	struct import_progress_ctx *c = ctx;

	progress_end(c->p);
	fprintf(stderr, "%s\n", line);
}

static const char *import_status_text(enum import_status st)
{
	switch (st) {
	case IMPORT_DONE: return "imported";
	case IMPORT_ALREADY: return "already imported";
	case IMPORT_PARTIAL: return "partly imported (damaged input)";
	case IMPORT_INTERRUPTED: return "interrupted";
	case IMPORT_FAILED: return "failed";
	}
	return "?";
}


int cli_import_all(struct store *s, char **lists, int n, const char *column,
                   const struct shard *sh, int quiet, int64_t *ids, int *nids)
{
	struct progress p;
	struct import_progress_ctx pc = {&p, 0};
	struct import_opts o = {
		.column = column,
		.max_record = CSV_MAX_RECORD_DEFAULT,
		.stop = &cli_stop_requested,
		.message = show_import_message,
		.progress = show_import_progress,
		.progress_ctx = &pc,
		.shard_k = sh ? sh->k : 0,
		.shard_n = sh ? sh->n : 0,
	};
	int status = EXIT_DONE;
	char err[1024];

	progress_init(&p, stderr, quiet);
	*nids = 0;
	for (int i = 0; i < n; i++) {
		struct import_result r;
		enum import_status st;

		err[0] = '\0';
		pc.started = clock_now();
		st = import_list(s, lists[i], &o, &r, err, sizeof err);
		progress_end(&p);
		if (st != IMPORT_FAILED)
			ids[(*nids)++] = r.list_id;
		switch (st) {
		case IMPORT_DONE:
		case IMPORT_ALREADY:
			if (!quiet)
				fprintf(stderr, "%s: %s, %lld rows%s (%.1f s)\n",
				        strcmp(lists[i], "-") ? lists[i] : "stdin", import_status_text(st),
				        (long long)r.rows, r.resumed_from ? ", resumed" : "", r.seconds);
			break;
		case IMPORT_PARTIAL:
			fprintf(stderr, "mailsift: %s\nmailsift: %s: %lld rows before the damage kept\n",
			        err, lists[i], (long long)r.rows);
			status = EXIT_FAILURE_;
			break;
		case IMPORT_INTERRUPTED:
			fprintf(stderr,
			        "mailsift: interrupted while importing %s after %lld rows; they are saved. "
			        "Rerun the same command to resume.\n", lists[i], (long long)r.rows);
			return EXIT_INTERRUPTED;
		case IMPORT_FAILED:
			fprintf(stderr, "mailsift: %s\n", err);
			status = EXIT_FAILURE_;
			break;
		}
	}
	return status;
}

int cli_shard_check_store(struct store *s, const char *db, const struct shard *sh)
{
	struct store_list *v;
	size_t n;
	int k, nn, status = EXIT_DONE;

	if (sh->n == 0)
		return EXIT_DONE;
	if (store_lists(s, &v, &n) < 0) {
		fprintf(stderr, "mailsift: %s: %s\n", db, store_errmsg(s));
		return EXIT_FAILURE_;
	}
	for (size_t i = 0; i < n && status == EXIT_DONE; i++) {
		if (store_list_shard(s, v[i].id, &k, &nn) < 0) {
			fprintf(stderr, "mailsift: %s: %s\n", db, store_errmsg(s));
			status = EXIT_FAILURE_;
		} else if (k != sh->k || nn != sh->n) {
			char has[32];
			snprintf(has, sizeof has, nn > 0 ? "shard %d/%d" : "the whole list", k, nn);
			fprintf(stderr,
			        "mailsift: %s holds %s of %s (list %lld), not shard %d/%d (from %s): each "
			        "shard runs on its own job store\n", db, has, v[i].name, (long long)v[i].id,
			        sh->k, sh->n, sh->from);
			status = EXIT_FAILURE_;
		}
	}
	store_lists_free(v, n);
	return status;
}

/* ---- export ---- */

/* warn_incomplete_lists - say which exported lists hold only the rows before damaged input */
static void warn_incomplete_lists(struct store *s, const int64_t *ids, int nids)
{
	struct store_list *v;
	size_t n;

	if (store_lists(s, &v, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		int want = ids == NULL;
		for (int k = 0; k < nids && !want; k++)
			want = ids[k] == v[i].id;
		if (want && v[i].done && v[i].input_error)
			fprintf(stderr, "mailsift: warning: %s is incomplete (its input ended early: %s); "
			        "the export holds only its %lld rows before the damage\n", v[i].name,
			        v[i].input_error, (long long)v[i].rows);
	}
	store_lists_free(v, n);
}

int cli_export_lists(struct store *s, const char *db, const char *outdir, int gzip, int with_trace,
                     const int64_t *ids, int nids, int quiet)
{
	struct export_opts o = {.outdir = outdir, .gzip = gzip, .with_trace = with_trace, .list_ids = ids,
	                        .nlists = (size_t)nids, .messages = stderr, .store_path = db};

	return cli_export_run(s, &o, quiet);
}

int cli_export_run(struct store *s, const struct export_opts *o, int quiet)
{
	struct export_result r;
	char err[1024] = "";

	if (export_run(s, o, &r, err, sizeof err) < 0) {
		fprintf(stderr, "mailsift: export: %s\n", err);
		return EXIT_FAILURE_;
	}
	warn_incomplete_lists(s, o->list_ids, (int)o->nlists);
	if (!quiet) {
		fprintf(stderr, "exported %lld rows to %s in %.1f s:", (long long)r.rows, o->outdir,
		        r.seconds);
		for (int st = 0; st < STATUS_COUNT; st++)
			fprintf(stderr, " %s %lld,", verdict_status_name((enum verdict_status)st),
			        (long long)r.by_status[st]);
		fprintf(stderr, " duplicates %lld\n", (long long)r.duplicates);
		if (r.changes > 0)
			fprintf(stderr, "%lld rows changed status since their previous verdict: see "
			        "changes.csv\n", (long long)r.changes);
	}
	return EXIT_DONE;
}

/* ---- the job store ---- */

struct store *cli_open_store(const char *path, enum store_mode mode)
{
	char err[1024];
	struct store *s = store_open(path, mode, err, sizeof err);

	if (s == NULL)
		fprintf(stderr, "mailsift: %s\n", err);
	return s;
}
