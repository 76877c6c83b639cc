/*
 * jobs_drive - what the server does with the jobs under way, between requests: their imports
 * in steps on the loop (importers' import_job, in the run's transactions, JOB_IMPORTS at a
 * time), the counting of their rows in slices (a sweep that finds every row final proves a
 * job's verification done), the `mailsift export` child that writes their files, and their
 * resumption after a restart (server/jobs.c has the endpoints and the job records).
 */
#include "server/jobs_int.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/clock.h"
#include "importers/import.h"
#include "schema/verdict.h"

#define JOB_TICK 0.5                /* seconds between looks at the jobs being driven */
#define JOB_TALLY_SLICE 20000       /* rows counted at a time */
#define JOB_TALLY_BUDGET 0.01       /* seconds of counting per tick (at least one slice) */
#define JOB_IMPORT_SLICE 0.02       /* seconds an import step may hold the loop */
#define JOB_IMPORTS 2               /* imports under way at once (each: a reader thread and its
                                     * batches); more wait their turn */
#define JOB_IMPORT_IDLE 0.005       /* seconds before the next step when nothing was ready */

void jobs_drive_kick(struct server *srv)
{
	event_active(srv->import_ev, EV_TIMEOUT, 0);
}

void jobs_drive_release(struct job *jb)
{
	if (jb->imp) {
		import_job_free(jb->imp);
		jb->imp = NULL;
	}
	if (jb->export_pid > 0) {
		kill(jb->export_pid, SIGKILL);
		waitpid(jb->export_pid, NULL, 0);
		jb->export_pid = 0;
	}
}

/* ---- import ---- */

struct import_step_ctx {
	struct job *jb;
	int more;                   /* the import has more to do */
	int moved;                  /* this step stored rows (else the reader had none ready) */
};

static int import_step_fn(struct server *srv, void *ctx)
{
	struct import_step_ctx *c = ctx;
	int64_t before = import_job_rows(c->jb->imp);

	(void)srv;
	c->more = import_job_step(c->jb->imp, JOB_IMPORT_SLICE);
	c->moved = c->more && import_job_rows(c->jb->imp) != before;
	return 0;
}

static int import_start_fn(struct server *srv, void *ctx)
{
	struct job *jb = ctx;
	char path[PATH_MAX];
	struct import_opts o;

	memset(&o, 0, sizeof o);
	o.column = jb->j.column;
	if (job_path(srv, jb->j.id, "upload", path, sizeof path) < 0)
		return -1;
	jb->imp = import_job_start(srv->store, path, &o);
	return 0;
}

struct import_end_ctx {
	struct job *jb;
	int64_t list_id;
};

static int import_end_fn(struct server *srv, void *ctx)
{
	struct import_end_ctx *c = ctx;
	int64_t stale_before = store_stale_before(c->jb->j.max_age_days, (int64_t)time(NULL));

	if (store_job_set_list(srv->store, c->jb->j.id, c->list_id) < 0)
		return -1;
	if (stale_before > 0 && store_list_make_stale(srv->store, c->list_id, stale_before) < 0)
		return -1;
	return 0;
}

/* import_finish - the import of JB ended: on to verifying, or failed */
static void import_finish(struct server *srv, struct job *jb)
{
	struct import_result res;
	const char *why;
	enum import_status st = import_job_result(jb->imp, &res, &why);
	struct import_end_ctx c = {jb, res.list_id};
	char err[512];

	snprintf(err, sizeof err, "%s", why ? why : "the upload could not be imported");
	import_job_free(jb->imp); /* WHY was the import's */
	jb->imp = NULL;
	if ((st != IMPORT_DONE && st != IMPORT_PARTIAL && st != IMPORT_ALREADY) || res.list_id <= 0) {
		job_set_state(srv, jb, "failed", err);
		active_remove(srv, jb);
		return;
	}
	if (server_write(srv, import_end_fn, &c) < 0) {
		job_set_state(srv, jb, "failed", "job store: cannot save the imported list");
		active_remove(srv, jb);
		return;
	}
	jb->j.list_id = res.list_id;
	jb->imported = res.rows;
	job_set_state(srv, jb, "verifying", NULL);
}

/* on_import - start the imports that wait (JOB_IMPORTS at most under way), then one step of
 * each under way; the next round is scheduled while any has more to do */
static void on_import(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	struct job *jb, *next;
	struct timeval tv = {0, 0};
	int running = 0, more = 0, moved = 0, ended = 0;

	(void)fd;
	(void)what;
	if (srv->stopping)
		return;
	for (jb = srv->jobs; jb; jb = jb->next)
		running += jb->imp != NULL;
	for (jb = srv->jobs; jb && running < JOB_IMPORTS; jb = next) {
		next = jb->next;
		if (jb->imp != NULL || strcmp(jb->j.state, "importing") != 0)
			continue;
		if (server_write(srv, import_start_fn, jb) < 0 || jb->imp == NULL) {
			job_set_state(srv, jb, "failed", "job store: cannot start the import");
			active_remove(srv, jb);
			continue;
		}
		running++;
	}
	for (jb = srv->jobs; jb; jb = next) {
		struct import_step_ctx c = {jb, 0, 0};
		next = jb->next;
		if (jb->imp == NULL)
			continue;
		if (server_write(srv, import_step_fn, &c) < 0) {
			import_job_free(jb->imp);
			jb->imp = NULL;
			job_set_state(srv, jb, "failed", "job store: cannot store the imported rows");
			active_remove(srv, jb);
			ended = 1;
		} else if (!c.more) {
			import_finish(srv, jb);
			ended = 1;
		} else {
			more = 1;
			moved |= c.moved;
		}
	}
	/* Again at once (after what else the loop has to do) while rows come, or when a waiting
	 * import may start; a moment later when the readers had nothing ready. */
	if (ended || moved) {
		event_add(srv->import_ev, &tv);
	} else if (more) {
		tv.tv_usec = (suseconds_t)(JOB_IMPORT_IDLE * 1e6);
		event_add(srv->import_ev, &tv);
	}
}

/* ---- counting ---- */

json_t *iso_time(int64_t t)
{
	char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
		return json_null();
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

/* sweep_step - count the next slices of JB's rows, for about JOB_TALLY_BUDGET seconds: 1 when
 * a sweep ended (jb->seen is new), 0 when it goes on, -1 on a store error */
static int sweep_step(struct server *srv, struct job *jb)
{
	double t0 = clock_now(), now;
	int64_t before;

	do {
		before = jb->sweep.rows;
		if (store_list_tally(srv->store, jb->j.list_id, jb->sweep_pos,
		                     jb->sweep_pos + JOB_TALLY_SLICE, (int64_t)time(NULL),
		                     &jb->sweep) < 0)
			return -1;
		jb->sweep_pos += JOB_TALLY_SLICE;
		if (jb->sweep.rows == before) { /* past the last row: the sweep is whole */
			now = clock_now();
			if (jb->have_seen && now > jb->seen_at) {
				double r = (double)(jb->sweep.done - jb->seen.done) / (now - jb->seen_at);
				jb->rate = jb->rate > 0 ? 0.5 * jb->rate + 0.5 * r : r;
			}
			jb->seen = jb->sweep;
			jb->have_seen = 1;
			jb->seen_at = now;
			memset(&jb->sweep, 0, sizeof jb->sweep);
			jb->sweep_pos = 0;
			return 1;
		}
	} while (clock_now() - t0 < JOB_TALLY_BUDGET);
	return 0;
}

/* transitions_json - {"PREV->CUR": rows}: the rows whose status changed when probed again,
 * as report.json's "transitions" */
static json_t *transitions_json(const struct store_tally *t)
{
	json_t *o = json_object();
	char key[40];

	for (int p = 0; p < STATUS_COUNT; p++)
		for (int c = 0; c < STATUS_COUNT; c++) {
			if (t->changes[p][c] == 0)
				continue;
			snprintf(key, sizeof key, "%s->%s", verdict_status_name((enum verdict_status)p),
			         verdict_status_name((enum verdict_status)c));
			json_object_set_new(o, key, json_integer(t->changes[p][c]));
		}
	return o;
}

/* tally_json - T's figures as the status shows them */
json_t *tally_json(const struct store_tally *t)
{
	json_t *o = json_object(), *counts = json_object();

	json_object_set_new(o, "rows", json_integer(t->rows));
	json_object_set_new(o, "done", json_integer(t->done));
	json_object_set_new(o, "total", json_integer(t->rows));
	for (int s = 0; s < STATUS_COUNT; s++)
		json_object_set_new(counts, verdict_status_name((enum verdict_status)s),
		                    json_integer(t->by_status[s]));
	json_object_set_new(counts, "duplicates", json_integer(t->duplicates));
	json_object_set_new(o, "counts", counts);
	json_object_set_new(o, "transitions", transitions_json(t));
	json_object_set_new(o, "retry_waiting", json_integer(t->retry_wait));
	json_object_set_new(o, "next_retry_at", iso_time(t->retry_first));
	return o;
}

static int counts_fn(struct server *srv, void *ctx)
{
	struct job *jb = ctx;
	json_t *o = tally_json(&jb->seen);
	char *text = json_dumps(o, JSON_COMPACT);
	int rc = text ? store_job_set_counts(srv->store, jb->j.id, text) : -1;

	free(text);
	json_decref(o);
	return rc;
}

/* save_counts - JB's last whole count, kept with the job for when it is no longer driven */
static void save_counts(struct server *srv, struct job *jb)
{
	if (jb->have_seen && server_write(srv, counts_fn, jb) < 0)
		fprintf(stderr, "mailsift serve: job %s: cannot save its counts\n", jb->j.id);
}

/* ---- export ---- */

/* export_start - `mailsift export` of JB's list into DIR/jobs/ID/files, as a child process:
 * it only reads the store (what the run wrote is committed first) */
static void export_start(struct server *srv, struct job *jb)
{
	char out[PATH_MAX], log[PATH_MAX], list[32], db[PATH_MAX];
	char *argv[12];
	int k = 0, logfd;
	pid_t pid;

	run_commit_now(srv->run);
	if (job_path(srv, jb->j.id, "files", out, sizeof out) < 0 ||
	    job_path(srv, jb->j.id, "export.log", log, sizeof log) < 0 ||
	    snprintf(db, sizeof db, "%s", srv->o.store_path) >= (int)sizeof db) {
		job_set_state(srv, jb, "failed", "path too long");
		active_remove(srv, jb);
		return;
	}
	snprintf(list, sizeof list, "%lld", (long long)jb->j.list_id);
	argv[k++] = (char *)"mailsift";
	argv[k++] = (char *)"export";
	argv[k++] = (char *)"--db";
	argv[k++] = db;
	argv[k++] = (char *)"-o";
	argv[k++] = out;
	argv[k++] = (char *)"--list";
	argv[k++] = list;
	argv[k++] = (char *)"--quiet";
	if (jb->j.gzip)
		argv[k++] = (char *)"--gzip";
	argv[k] = NULL;
	logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (logfd < 0) {
		job_set_state(srv, jb, "failed", "cannot write the export's log");
		active_remove(srv, jb);
		return;
	}
	job_set_state(srv, jb, "exporting", NULL);
	pid = fork();
	if (pid == 0) {
		/* The child: only async-signal-safe calls until exec (a reader thread may run). */
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		close_range(3, ~0U, 0);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(logfd);
	if (pid < 0) {
		job_set_state(srv, jb, "failed", "cannot start the export");
		active_remove(srv, jb);
		return;
	}
	jb->export_pid = pid;
}

/* export_check - the export of JB has ended: done, or failed with its last message */
static void export_check(struct server *srv, struct job *jb)
{
	int status;
	pid_t p = waitpid(jb->export_pid, &status, WNOHANG);
	char log[PATH_MAX], msg[512] = "";

	if (p == 0)
		return;
	jb->export_pid = 0;
	save_counts(srv, jb);
	if (p > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		job_set_state(srv, jb, "done", NULL);
		active_remove(srv, jb);
		return;
	}
	if (job_path(srv, jb->j.id, "export.log", log, sizeof log) == 0) {
		FILE *f = fopen(log, "r");
		char line[512];
		while (f && fgets(line, sizeof line, f))
			snprintf(msg, sizeof msg, "%s", line);
		if (f)
			fclose(f);
		msg[strcspn(msg, "\n")] = '\0';
	}
	job_set_state(srv, jb, "failed", msg[0] ? msg : "the export failed");
	active_remove(srv, jb);
}

/* ---- driving ---- */

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	struct job *jb, *next;

	(void)fd;
	(void)what;
	if (srv->stopping)
		return;
	for (jb = srv->jobs; jb; jb = next) {
		next = jb->next;
		if (strcmp(jb->j.state, "exporting") == 0) {
			if (jb->export_pid > 0)
				export_check(srv, jb);
			else
				export_start(srv, jb);
		} else if (strcmp(jb->j.state, "verifying") == 0 && sweep_step(srv, jb) == 1 &&
		           jb->seen.done == jb->seen.rows) {
			export_start(srv, jb);
		}
	}
}

/* ---- life ---- */

int jobs_start(struct server *srv, char *err, size_t errlen)
{
	struct store_job *v;
	size_t n;
	struct timeval tick = {0, (suseconds_t)(JOB_TICK * 1e6)};

	srv->import_ev = event_new(srv->base, -1, 0, on_import, srv);
	srv->tick_ev = event_new(srv->base, -1, EV_PERSIST, on_tick, srv);
	if (srv->import_ev == NULL || srv->tick_ev == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (store_jobs_active(srv->store, &v, &n) < 0) {
		snprintf(err, errlen, "job store: %s", store_errmsg(srv->store));
		return -1;
	}
	/* Every job resumes where the store says: imports go on from their last rows, runs from
	 * what is pending, exports are redone. */
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].state, "exporting") == 0) /* its count first, then the export again */
			job_set_state(srv, active_add(srv, &v[i]), "verifying", NULL);
		else if (strcmp(v[i].state, "importing") == 0 || strcmp(v[i].state, "verifying") == 0)
			active_add(srv, &v[i]);
		else
			webhook_due(srv, &v[i]);
	}
	store_jobs_free(v, n);
	event_add(srv->tick_ev, &tick);
	event_active(srv->import_ev, EV_TIMEOUT, 0);
	return 0;
}

static int import_free_fn(struct server *srv, void *ctx)
{
	struct job *jb = ctx;

	(void)srv;
	import_job_free(jb->imp);
	jb->imp = NULL;
	return 0;
}

void jobs_stop(struct server *srv)
{
	struct job *jb;

	if (srv->import_ev)
		event_del(srv->import_ev);
	if (srv->tick_ev)
		event_del(srv->tick_ev);
	for (jb = srv->jobs; jb; jb = jb->next) {
		if (jb->imp) {
			/* What it stored stays, with its counters: the next start resumes after it. */
			server_write(srv, import_free_fn, jb);
		}
		if (jb->export_pid > 0) {
			kill(jb->export_pid, SIGTERM);
			waitpid(jb->export_pid, NULL, 0);
			jb->export_pid = 0;
		}
	}
}

void jobs_free(struct server *srv)
{
	while (srv->jobs) {
		struct job *jb = srv->jobs;
		if (jb->imp) {
			import_job_free(jb->imp);
			jb->imp = NULL;
		}
		active_remove(srv, jb);
	}
	if (srv->import_ev)
		event_free(srv->import_ev);
	if (srv->tick_ev)
		event_free(srv->tick_ev);
	srv->import_ev = srv->tick_ev = NULL;
}
