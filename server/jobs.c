/*
 * jobs - bulk jobs of `mailsift serve`: a job is one uploaded list, owned by the API key that
 * made it (another key's job is a 404).
 *
 *   POST   /v1/jobs                      {"name", "column", "max_age_days", "callback_url",
 *                                         "gzip"} → 201 {"id", "upload_url", ...}
 *   PUT    /v1/jobs/ID/upload?offset=N   raw bytes appended (≤ 8 MiB a request; a wrong offset
 *                                         is a 409 that names the right one)
 *   GET    /v1/jobs/ID/upload            {"offset": bytes received}
 *   POST   /v1/jobs/ID/start             import, verify, export into DIR/jobs/ID/files
 *   GET    /v1/jobs/ID, GET /v1/jobs     status
 *   GET    /v1/jobs/ID/files/NAME        valid.csv, ..., report.json
 *   GET    /v1/jobs/ID/explain?email=A   the verdict of A (an address of the job's list) and
 *                                         the transcript the run kept (`mailsift explain`)
 *   DELETE /v1/jobs/ID                   cancel; its files, rows and the addresses only it
 *                                         used are removed
 *
 * The job store is the truth (table jobs): a restarted server resumes every job where it
 * stands. This file has the endpoints and the job records; server/jobs_drive.c does what the
 * jobs under way need between requests (imports in steps, counts in slices, the export child).
 */
#include "server/jobs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "exporters/verify_json.h"
#include "importers/check.h"
#include "importers/import.h"
#include "schema/verdict.h"
#include "server/http.h"

#define JOB_NAME_MAX 200            /* bytes of a job's name */
#define JOB_URL_MAX 2048            /* bytes of a callback URL */

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		abort();
	return d;
}

/* ---- paths ---- */

/* job_path - DIR/jobs/ID[/REST] into OUT; -1 when it does not fit */
int job_path(const struct server *srv, const char *id, const char *rest, char *out,
                    size_t n)
{
	int k = snprintf(out, n, "%s/jobs/%s%s%s", srv->o.data_dir, id, rest ? "/" : "",
	                 rest ? rest : "");
	return k < 0 || (size_t)k >= n ? -1 : 0;
}

/* valid_id - ID is 16 lowercase hex digits (what job ids are: no path tricks get through) */
static int valid_id(const char *id, size_t len)
{
	if (len != 16)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return 1;
}

/* valid_file_name - a file an export writes: letters, digits, '_', '.', not starting with '.' */
static int valid_file_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 64 || name[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
		      name[i] == '_' || name[i] == '.'))
			return 0;
	return 1;
}

static int64_t upload_size(const struct server *srv, const char *id)
{
	char path[PATH_MAX];
	struct stat st;

	if (job_path(srv, id, "upload", path, sizeof path) < 0 || stat(path, &st) < 0)
		return -1;
	return (int64_t)st.st_size;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* remove_job_files - DIR/jobs/ID and everything in it (links removed, never followed) */
static int remove_job_files(const struct server *srv, const char *id)
{
	char path[PATH_MAX];

	if (job_path(srv, id, NULL, path, sizeof path) < 0)
		return -1;
	if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

/* ---- the store, in the run's transaction or one of its own ---- */

struct set_state {
	const char *id, *state, *error;
};

static int set_state_fn(struct server *srv, void *ctx)
{
	struct set_state *a = ctx;

	return store_job_set_state(srv->store, a->id, a->state, a->error, (int64_t)time(NULL));
}

/* job_set_state - JB's state (and error) in the store and in memory */
void job_set_state(struct server *srv, struct job *jb, const char *state, const char *error)
{
	struct set_state a = {jb->j.id, state, error};

	if (server_write(srv, set_state_fn, &a) < 0)
		fprintf(stderr, "mailsift serve: job %s: cannot save its state: %s\n", jb->j.id,
		        store_errmsg(srv->store));
	free(jb->j.state);
	jb->j.state = strdup(state);
	free(jb->j.error);
	jb->j.error = error ? strdup(error) : NULL;
	if (jb->j.state == NULL)
		abort();
	if (strcmp(state, "done") == 0 || strcmp(state, "failed") == 0) {
		struct store_job now;
		fprintf(stderr, "mailsift serve: job %s %s%s%s\n", jb->j.id, state, error ? ": " : "",
		        error ? error : "");
		if (jb->j.callback_url && store_job_get(srv->store, jb->j.id, &now) == 1) {
			webhook_due(srv, &now);
			store_job_free(&now);
		}
	}
}

/* ---- the active jobs ---- */

struct job *active_find(struct server *srv, const char *id)
{
	for (struct job *jb = srv->jobs; jb; jb = jb->next)
		if (strcmp(jb->j.id, id) == 0)
			return jb;
	return NULL;
}

void active_remove(struct server *srv, struct job *jb)
{
	for (struct job **p = &srv->jobs; *p; p = &(*p)->next)
		if (*p == jb) {
			*p = jb->next;
			break;
		}
	store_job_free(&jb->j);
	free(jb);
}

/* active_add - drive job J (taken over: the caller's copy is emptied) */
struct job *active_add(struct server *srv, struct store_job *j)
{
	struct job *jb = calloc(1, sizeof *jb), **p;

	if (jb == NULL)
		abort();
	jb->j = *j;
	memset(j, 0, sizeof *j);
	for (p = &srv->jobs; *p; p = &(*p)->next)
		;
	*p = jb;
	return jb;
}

/* ---- answers ---- */


/* files_json - the files of a finished job, in the order of the verdicts, then duplicates,
 * changes and report.json: [{"name", "bytes", "url"}] */
static json_t *files_json(struct server *srv, const struct store_job *j)
{
	char dir[PATH_MAX], name[64], url[160];
	json_t *a = json_array();
	int fd;

	if (job_path(srv, j->id, "files", dir, sizeof dir) < 0 ||
	    (fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return a;
	for (int k = 0; k <= STATUS_COUNT + 2; k++) {
		struct stat st;
		if (k < STATUS_COUNT + 2)
			snprintf(name, sizeof name, "%s.csv%s",
			         k < STATUS_COUNT    ? verdict_status_name((enum verdict_status)k)
			         : k == STATUS_COUNT ? "duplicates"
			                             : "changes",
			         j->gzip ? ".gz" : "");
		else
			snprintf(name, sizeof name, "report.json");
		if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		snprintf(url, sizeof url, "/v1/jobs/%s/files/%s", j->id, name);
		json_array_append_new(a, json_pack("{s:s, s:I, s:s}", "name", name, "bytes",
		                                   (json_int_t)st.st_size, "url", url));
	}
	close(fd);
	return a;
}

/* engine_json - what the server's one scheduler holds in memory, shared by every job
 * (run_memory_json): its working set and DNS caches; null before it runs */
static json_t *engine_json(struct server *srv)
{
	char *text = srv->run ? run_memory_json(srv->run) : NULL;
	json_t *o = text ? json_loads(text, 0, NULL) : NULL;

	free(text);
	return o ? o : json_null();
}

/* status_json - what GET /v1/jobs/ID answers for J (JB: its active state, or NULL) */
static json_t *status_json(struct server *srv, const struct store_job *j, const struct job *jb)
{
	struct store_tally t;
	json_t *o = json_object(), *figures = NULL;
	const char *state = j->state;
	char url[64];
	int64_t bytes = upload_size(srv, j->id);

	/* The figures: the last whole count of a job being driven (rows read so far while it
	 * imports), the count kept when it ended, else none yet. */
	memset(&t, 0, sizeof t);
	if (jb && jb->have_seen)
		t = jb->seen;
	else if (jb && jb->imp)
		t.rows = import_job_rows(jb->imp);
	else if (jb)
		t.rows = jb->imported;
	else if (j->counts) /* not driven: ended, or failed */
		figures = json_loads(j->counts, 0, NULL);
	if (figures == NULL)
		figures = tally_json(&t);
	if (strcmp(state, "verifying") == 0 && t.rows > t.done && t.retry_wait == t.rows - t.done)
		state = "waiting_retry"; /* every row left waits for a server that asked us back */
	snprintf(url, sizeof url, "/v1/jobs/%s/upload", j->id);
	json_object_set_new(o, "id", json_string(j->id));
	json_object_set_new(o, "name", json_string(j->name));
	json_object_set_new(o, "state", json_string(state));
	json_object_set_new(o, "upload_url", json_string(url));
	json_object_set_new(o, "upload_bytes", json_integer(bytes < 0 ? 0 : bytes));
	json_object_set_new(o, "created_at", iso_time(j->created_at));
	json_object_set_new(o, "started_at", iso_time(j->started_at));
	json_object_set_new(o, "finished_at", iso_time(j->finished_at));
	json_object_update(o, figures);
	json_decref(figures);
	json_object_set_new(o, "rate", json_real(jb ? jb->rate : 0));
	json_object_set_new(o, "eta_seconds", jb && jb->rate > 0 && t.rows > t.done
	                                          ? json_integer((json_int_t)((double)(t.rows - t.done) / jb->rate))
	                                          : json_null());
	if (j->list_id > 0) {
		struct store_problem_count *pc = NULL;
		size_t n = 0;
		json_t *p = json_object();
		if (store_problem_counts(srv->store, j->list_id, &pc, &n) == 0)
			for (size_t i = 0; i < n; i++)
				json_object_set_new(p, pc[i].kind, json_pack("{s:I, s:I}", "rows",
				                    (json_int_t)pc[i].count, "first_line",
				                    (json_int_t)pc[i].first_line));
		free(pc);
		json_object_set_new(o, "problems", p);
	}
	json_object_set_new(o, "engine", engine_json(srv));
	json_object_set_new(o, "error", j->error ? json_string(j->error) : json_null());
	if (j->callback_url) {
		json_object_set_new(o, "callback_url", json_string(j->callback_url));
		json_object_set_new(o, "callback_state", j->callback_state
		                                             ? json_string(j->callback_state)
		                                             : json_null());
	}
	if (strcmp(j->state, "done") == 0)
		json_object_set_new(o, "files", files_json(srv, j));
	return o;
}

json_t *jobs_status_json(struct server *srv, const struct store_job *j)
{
	return status_json(srv, j, active_find(srv, j->id));
}

/* send_status - CODE with the status of job J */
static void send_status(struct server *srv, struct evhttp_request *req, int code,
                        const struct store_job *j)
{
	json_t *o = status_json(srv, j, active_find(srv, j->id));

	http_send_json(req, code, o);
	json_decref(o);
}

/* ---- endpoints ---- */

static int add_job_fn(struct server *srv, void *ctx)
{
	return store_job_add(srv->store, ctx);
}

/* count_unfinished - OWNER's jobs not done or failed; -1 on a store error */
static long count_unfinished(struct server *srv, const char *owner)
{
	struct store_job *v;
	size_t n;
	long c = 0;

	if (store_jobs_of(srv->store, owner, &v, &n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].state, "done") != 0 && strcmp(v[i].state, "failed") != 0)
			c++;
	store_jobs_free(v, n);
	return c;
}

/* create - POST /v1/jobs */
static void create(struct server *srv, struct evhttp_request *req, const char *key)
{
	json_t *body = http_json_body(req), *v;
	struct store_job j;
	unsigned char rnd[8];
	char path[PATH_MAX], colbuf[32];
	long busy;
	int fd;

	if (body == NULL)
		return;
	memset(&j, 0, sizeof j);
	j.max_age_days = -1; /* not given: the list's verdicts are reused */
	j.owner = xstrdup(key);
	j.name = xstrdup("list");
	if ((v = json_object_get(body, "name")) != NULL) {
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) > JOB_NAME_MAX || strlen(json_string_value(v)) !=
		                                                 json_string_length(v)) {
			http_error(req, 400, "bad_request", "\"name\" must be a string of 1 to %d bytes",
			           JOB_NAME_MAX);
			goto out;
		}
		free(j.name);
		j.name = xstrdup(json_string_value(v));
	}
	if ((v = json_object_get(body, "column")) != NULL && !json_is_null(v)) {
		if (json_is_integer(v) && json_integer_value(v) >= 1 && json_integer_value(v) <= 100000) {
			snprintf(colbuf, sizeof colbuf, "%lld", (long long)json_integer_value(v));
			j.column = xstrdup(colbuf);
		} else if (json_is_string(v) && json_string_length(v) > 0 &&
		           json_string_length(v) <= 255 &&
		           strlen(json_string_value(v)) == json_string_length(v)) {
			j.column = xstrdup(json_string_value(v));
		} else {
			http_error(req, 400, "bad_request",
			           "\"column\" must be a header name or a column number (1 = first)");
			goto out;
		}
	}
	if ((v = json_object_get(body, "max_age_days")) != NULL && !json_is_null(v)) {
		if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 36500) {
			http_error(req, 400, "bad_request",
			           "\"max_age_days\" must be a number of days >= 0 (0: ask every address again)");
			goto out;
		}
		j.max_age_days = json_number_value(v);
	}
	if ((v = json_object_get(body, "gzip")) != NULL && !json_is_null(v)) {
		if (!json_is_boolean(v)) {
			http_error(req, 400, "bad_request", "\"gzip\" must be true or false");
			goto out;
		}
		j.gzip = json_is_true(v);
	}
	if ((v = json_object_get(body, "callback_url")) != NULL && !json_is_null(v)) {
		char why[300];
		if (!json_is_string(v) || json_string_length(v) > JOB_URL_MAX ||
		    webhook_url_check(srv, json_string_value(v), why, sizeof why) < 0) {
			http_error(req, 400, "bad_callback_url", "\"callback_url\": %s",
			           json_is_string(v) ? why : "must be a string");
			goto out;
		}
		j.callback_url = xstrdup(json_string_value(v));
	}
	busy = count_unfinished(srv, key);
	if (busy < 0) {
		http_error(req, 500, "internal", "job store: %s", store_errmsg(srv->store));
		goto out;
	}
	if (busy >= srv->o.max_jobs) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "60");
		http_error(req, 429, "too_many_jobs",
		           "this key has %ld jobs not finished (at most %d): wait for one to end, or "
		           "delete one", busy, srv->o.max_jobs);
		goto out;
	}
	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
		http_error(req, 500, "internal", "no random bytes for a job id");
		goto out;
	}
	for (size_t i = 0; i < sizeof rnd; i++)
		snprintf(j.id + 2 * i, 3, "%02x", rnd[i]);
	if (j.callback_url) {
		unsigned char sec[32];
		if (getrandom(sec, sizeof sec, 0) != (ssize_t)sizeof sec) {
			http_error(req, 500, "internal", "no random bytes for a callback secret");
			goto out;
		}
		j.callback_secret = malloc(2 * sizeof sec + 1);
		if (j.callback_secret == NULL)
			abort();
		for (size_t i = 0; i < sizeof sec; i++)
			snprintf(j.callback_secret + 2 * i, 3, "%02x", sec[i]);
	}
	j.state = xstrdup("uploading");
	j.created_at = (int64_t)time(NULL);
	snprintf(path, sizeof path, "%s/jobs", srv->o.data_dir);
	mkdir(path, 0700);
	if (job_path(srv, j.id, NULL, path, sizeof path) < 0 || mkdir(path, 0700) < 0 ||
	    job_path(srv, j.id, "upload", path, sizeof path) < 0 ||
	    (fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		http_error(req, 500, "internal", "cannot make the job's folder: %s", strerror(errno));
		goto out;
	}
	close(fd);
	if (server_write(srv, add_job_fn, &j) < 0) {
		remove_job_files(srv, j.id);
		http_error(req, 500, "internal", "job store: %s", store_errmsg(srv->store));
		goto out;
	}
	{
		struct store_job saved;
		if (store_job_get(srv->store, j.id, &saved) == 1) {
			json_t *o = status_json(srv, &saved, NULL);
			if (saved.callback_secret) /* shown this once: it signs the callback */
				json_object_set_new(o, "callback_secret", json_string(saved.callback_secret));
			http_send_json(req, 201, o);
			json_decref(o);
			store_job_free(&saved);
		} else {
			http_error(req, 500, "internal", "job store: %s", store_errmsg(srv->store));
		}
	}
out:
	store_job_free(&j);
	json_decref(body);
}

/* upload - PUT /v1/jobs/ID/upload?offset=N */
static void upload(struct server *srv, struct evhttp_request *req, const struct store_job *j)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	char *off_s = http_query(req, "offset"), *end = NULL, path[PATH_MAX];
	int64_t have = upload_size(srv, j->id), off;
	int fd;

	if (strcmp(j->state, "uploading") != 0) {
		free(off_s);
		http_error(req, 409, "not_uploading", "the job is %s: its upload is closed", j->state);
		return;
	}
	errno = 0;
	off = off_s ? strtoll(off_s, &end, 10) : -1;
	if (off_s == NULL || errno || end == off_s || *end != '\0' || off < 0) {
		free(off_s);
		http_error(req, 400, "bad_request", "?offset=N is required: the bytes received so far "
		                                    "(GET /v1/jobs/%s/upload)", j->id);
		return;
	}
	free(off_s);
	if (have < 0) {
		http_error(req, 500, "internal", "the job's upload file is missing");
		return;
	}
	if (off != have) {
		json_t *o = json_pack("{s:s, s:s, s:I}", "error", "wrong_offset", "detail",
		                      "the upload continues at \"offset\": send from there", "offset",
		                      (json_int_t)have);
		http_send_json(req, 409, o);
		json_decref(o);
		return;
	}
	if ((uint64_t)have + len > srv->o.max_upload) {
		http_error(req, 413, "upload_too_large", "a job's upload may hold at most %llu bytes",
		           (unsigned long long)srv->o.max_upload);
		return;
	}
	if (job_path(srv, j->id, "upload", path, sizeof path) < 0 ||
	    (fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		http_error(req, 500, "internal", "cannot open the upload file");
		return;
	}
	while (evbuffer_get_length(in) > 0) {
		int n = evbuffer_write(in, fd);
		if (n <= 0) {
			/* What was written stays: the next GET .../upload says where to go on. */
			int e = errno;
			close(fd);
			http_error(req, 500, "internal", "cannot write the upload: %s", strerror(e));
			return;
		}
	}
	if (fdatasync(fd) < 0) {
		close(fd);
		http_error(req, 500, "internal", "cannot sync the upload: %s", strerror(errno));
		return;
	}
	close(fd);
	json_int_t now_have = (json_int_t)have + (json_int_t)len;
	json_t *o = json_pack("{s:I, s:I}", "offset", now_have, "received", (json_int_t)len);
	http_send_json(req, 200, o);
	json_decref(o);
}

static void upload_state(struct server *srv, struct evhttp_request *req,
                         const struct store_job *j)
{
	int64_t have = upload_size(srv, j->id);
	json_t *o = json_pack("{s:I, s:s}", "offset", (json_int_t)(have < 0 ? 0 : have), "state",
	                      j->state);

	http_send_json(req, 200, o);
	json_decref(o);
}

/* start - POST /v1/jobs/ID/start */
static void start(struct server *srv, struct evhttp_request *req, struct store_job *j)
{
	char path[PATH_MAX];
	struct job *jb;

	if (strcmp(j->state, "uploading") != 0) {
		http_error(req, 409, "already_started", "the job is %s already", j->state);
		return;
	}
	if (upload_size(srv, j->id) <= 0) {
		http_error(req, 409, "nothing_uploaded", "upload the list first (PUT %s)",
		           "/v1/jobs/ID/upload?offset=0");
		return;
	}
	/* The upload is closed: its bytes are what the import reads, now and after a restart. */
	if (job_path(srv, j->id, "upload", path, sizeof path) == 0)
		chmod(path, 0400);
	jb = active_add(srv, j);
	job_set_state(srv, jb, "importing", NULL);
	jobs_drive_kick(srv);
	send_status(srv, req, 202, &jb->j);
}

static int delete_fn(struct server *srv, void *ctx)
{
	struct store_job *j = ctx;
	char err[256];

	if (j->list_id > 0 && store_list_purge(srv->store, j->list_id, err, sizeof err) < 0)
		return -1;
	return store_job_delete(srv->store, j->id);
}

/* delete - DELETE /v1/jobs/ID: stop it, remove its rows, its addresses no other list holds,
 * its files and itself */
static void delete(struct server *srv, struct evhttp_request *req, struct store_job *j)
{
	struct job *jb = active_find(srv, j->id);

	if (jb) {
		jobs_drive_release(jb); /* what its import stored goes with the list below */
		if (j->list_id == 0)
			j->list_id = jb->j.list_id;
		active_remove(srv, jb);
	}
	if (j->list_id == 0) {
		/* Deleted while importing: the list is the upload's, found by its name. */
		struct store_list *v = NULL;
		size_t n = 0;
		char path[PATH_MAX];
		if (job_path(srv, j->id, "upload", path, sizeof path) == 0 &&
		    store_lists(srv->store, &v, &n) == 0)
			for (size_t i = 0; i < n; i++)
				if (strcmp(v[i].name, path) == 0)
					j->list_id = v[i].id;
		store_lists_free(v, n);
	}
	if (server_write(srv, delete_fn, j) < 0) {
		http_error(req, 500, "internal", "job store: %s", store_errmsg(srv->store));
		return;
	}
	remove_job_files(srv, j->id);
	evhttp_send_reply(req, 204, "No Content", NULL);
	jobs_drive_kick(srv); /* an import slot may be free */
}

/* explain_row - the stored answer for the address, with its transcript (CTX: the request and
 * the transcript) */
struct explain_ctx {
	struct evhttp_request *req;
	const char *input;
	const char *transcript;
};

static int explain_row(void *ctx, const struct store_addr_out *a)
{
	struct explain_ctx *e = ctx;
	struct verify_json_row row = {.input = e->input, .catch_all = -1, .with_transcript = 1,
	                              .transcript = e->transcript};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL) {
		http_error(e->req, 500, "internal", "out of memory");
		return 0;
	}
	verify_json_from_store(&row, &a->v);
	if (row.status == NULL) {
		row.status = verdict_status_name(STATUS_UNKNOWN);
		row.reason = REASON_NOT_VERIFIED;
		row.detail = "not verified yet";
	}
	verify_json_write(f, &row);
	fclose(f);
	http_send(e->req, 200, buf, len);
	free(buf);
	return 0;
}

/* explain - GET /v1/jobs/ID/explain?email=A: A must be an address of J's list (another list's
 * addresses, another key's above all, are no more visible than unknown ones) */
static void explain(struct server *srv, struct evhttp_request *req, const struct store_job *j)
{
	char *email = http_query(req, "email"), *transcript = NULL;
	struct check_result cr;
	int64_t id = 0;
	int in_list = 0;

	if (email == NULL || strlen(email) > 1024) {
		http_error(req, 400, "bad_request", "/v1/jobs/ID/explain?email=ADDRESS");
		free(email);
		return;
	}
	check_address(srv->check, email, strlen(email), &cr);
	if (cr.problem == ADDR_OK && j->list_id > 0 &&
	    ((id = store_addr_find(srv->store, cr.addr.key)) < 0 ||
	     (id > 0 && (in_list = store_list_has_address(srv->store, j->list_id, id)) < 0) ||
	     (in_list > 0 && store_trace_get(srv->store, id, &transcript) < 0))) {
		http_error(req, 500, "internal", "job store: %s", store_errmsg(srv->store));
	} else if (in_list <= 0) {
		http_error(req, 404, "not_found", "no such address in this job");
	} else {
		struct explain_ctx e = {req, email, transcript};
		if (store_addr_read(srv->store, id, explain_row, &e) <= 0)
			http_error(req, 404, "not_found", "no such address in this job");
	}
	free(transcript);
	free(email);
}

/* send_file - GET /v1/jobs/ID/files/NAME of a finished job */
static void send_file(struct server *srv, struct evhttp_request *req, const struct store_job *j,
                      const char *name)
{
	char dir[PATH_MAX], path[PATH_MAX + 72];
	struct evbuffer *out;
	struct stat st;
	int fd;

	if (!valid_file_name(name)) {
		http_error(req, 404, "not_found", "no such file");
		return;
	}
	if (strcmp(j->state, "done") != 0) {
		http_error(req, 409, "not_done", "the job is %s: its files come when it is done",
		           j->state);
		return;
	}
	if (job_path(srv, j->id, "files", dir, sizeof dir) < 0 ||
	    snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
		http_error(req, 404, "not_found", "no such file");
		return;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		http_error(req, 404, "not_found", "no file %s in this job's results", name);
		return;
	}
	out = evbuffer_new();
	/* The file goes out from the page cache (sendfile or mmap): memory stays flat. */
	if (out == NULL || (st.st_size > 0 && evbuffer_add_file(out, fd, 0, st.st_size) < 0)) {
		if (out)
			evbuffer_free(out);
		close(fd);
		http_error(req, 500, "internal", "cannot send the file");
		return;
	}
	if (st.st_size == 0)
		close(fd);
	{
		struct evkeyvalq *h = evhttp_request_get_output_headers(req);
		size_t n = strlen(name);
		const char *type = n > 5 && strcmp(name + n - 5, ".json") == 0 ? "application/json"
		                   : n > 3 && strcmp(name + n - 3, ".gz") == 0 ? "application/gzip"
		                                                               : "text/csv; charset=utf-8";
		char disp[128];
		evhttp_add_header(h, "Content-Type", type);
		snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", name);
		evhttp_add_header(h, "Content-Disposition", disp);
	}
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

static void list_jobs(struct server *srv, struct evhttp_request *req, const char *key)
{
	struct store_job *v;
	size_t n;
	json_t *a, *o;

	if (store_jobs_of(srv->store, key, &v, &n) < 0) {
		http_error(req, 500, "internal", "job store: %s", store_errmsg(srv->store));
		return;
	}
	a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, status_json(srv, &v[i], active_find(srv, v[i].id)));
	store_jobs_free(v, n);
	o = json_pack("{s:o}", "jobs", a);
	http_send_json(req, 200, o);
	json_decref(o);
}

/* method_is - REQ's method is CMD; else a 405 naming ALLOW */
static int method_is(struct evhttp_request *req, enum evhttp_cmd_type cmd, const char *allow)
{
	if (evhttp_request_get_command(req) == cmd)
		return 1;
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
	http_error(req, 405, "method_not_allowed", "this endpoint takes %s", allow);
	return 0;
}

void jobs_handle(struct server *srv, struct evhttp_request *req, const char *key,
                 const char *path)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const char *id = path + strlen("/v1/jobs/"), *rest;
	char idbuf[17];
	struct store_job j;
	int found;

	if (strcmp(path, "/v1/jobs") == 0 || strcmp(path, "/v1/jobs/") == 0) {
		if (cmd == EVHTTP_REQ_POST)
			create(srv, req, key);
		else if (method_is(req, EVHTTP_REQ_GET, "GET, POST"))
			list_jobs(srv, req, key);
		return;
	}
	rest = strchr(id, '/');
	if (!valid_id(id, rest ? (size_t)(rest - id) : strlen(id))) {
		http_error(req, 404, "not_found", "no such job");
		return;
	}
	memcpy(idbuf, id, 16);
	idbuf[16] = '\0';
	found = store_job_get(srv->store, idbuf, &j);
	if (found < 0) {
		http_error(req, 500, "internal", "job store: %s", store_errmsg(srv->store));
		return;
	}
	if (found == 0 || strcmp(j.owner, key) != 0) {
		/* Another key's job is no more visible than one that never was. */
		if (found)
			store_job_free(&j);
		http_error(req, 404, "not_found", "no such job");
		return;
	}
	if (rest == NULL) {
		if (cmd == EVHTTP_REQ_DELETE)
			delete(srv, req, &j);
		else if (method_is(req, EVHTTP_REQ_GET, "GET, DELETE"))
			send_status(srv, req, 200, &j);
	} else if (strcmp(rest, "/upload") == 0) {
		if (cmd == EVHTTP_REQ_PUT)
			upload(srv, req, &j);
		else if (method_is(req, EVHTTP_REQ_GET, "GET, PUT"))
			upload_state(srv, req, &j);
	} else if (strcmp(rest, "/start") == 0) {
		if (method_is(req, EVHTTP_REQ_POST, "POST"))
			start(srv, req, &j);
	} else if (strncmp(rest, "/files/", 7) == 0) {
		if (method_is(req, EVHTTP_REQ_GET, "GET"))
			send_file(srv, req, &j, rest + 7);
	} else if (strcmp(rest, "/explain") == 0) {
		if (method_is(req, EVHTTP_REQ_GET, "GET"))
			explain(srv, req, &j);
	} else {
		http_error(req, 404, "not_found", "no such endpoint");
	}
	store_job_free(&j);
}
