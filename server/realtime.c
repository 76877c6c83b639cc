/*
 * realtime - `GET /v1/verify?email=A[&timeout=S][&trace=1]` and `POST /v1/verify` ({"email":
 * A, "timeout": S, "trace": true}): the same JSON object as `mailsift verify`, with "final";
 * with trace, its "transcript" as `verify --trace` gives it (the run keeps a real-time
 * check's transcript; an address answered from an earlier verdict has the one kept then, or
 * none: []).
 *
 * The address is checked as an import checks it; one whose syntax is refused is answered at
 * once. Otherwise it joins the job store as an address of no list (one verified before,
 * younger than --max-age, is answered from the store), the run service is asked to put it
 * ahead of the bulk work (run_hurry), and the request waits for its verdict until its
 * deadline. What is not final then (a greylisting server, a paused host, a slow one) is
 * answered `unknown` with "final": false; the run goes on with it, and a later call gets the
 * final verdict from the store.
 */
#include "server/server_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <event2/http.h>

#include "common/clock.h"
#include "engine/dns.h"
#include "exporters/verify_json.h"
#include "importers/check.h"
#include "importers/given.h"
#include "schema/verdict.h"
#include "server/http.h"

#define REALTIME_DEFAULT_TIMEOUT 30.0   /* seconds a check waits when the client names none */
#define REALTIME_EMAIL_MAX 1024         /* bytes of an email parameter read (longer: refused) */

struct waiter {
	struct server *srv;
	struct evhttp_request *req;
	struct evhttp_connection *con;
	int64_t id;
	char *input;
	double started;
	struct event *deadline;
	struct waiter *prev, *next;
	int trace;                      /* trace=1: the answer carries the transcript */
};

static void send_row(struct evhttp_request *req, const struct verify_json_row *row)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL) {
		http_error(req, 500, "internal", "out of memory");
		return;
	}
	verify_json_write(f, row);
	fclose(f);
	http_send(req, 200, buf, len);
	free(buf);
}

/* pending_reason - why address A has no verdict yet, for an answer that is not final */
static void pending_reason(const struct store_addr_out *a, struct verify_json_row *row,
                           char *detail, size_t n)
{
	row->status = verdict_status_name(STATUS_UNKNOWN);
	if (a->state == STORE_ADDR_PENDING && a->next_attempt_at > (int64_t)time(NULL) &&
	    a->v.attempts > 0) {
		struct tm tm;
		time_t at = (time_t)a->next_attempt_at;
		gmtime_r(&at, &tm);
		row->reason = REASON_GREYLISTED;
		snprintf(detail, n, "a temporary answer after %d attempt%s; asked again at "
		                    "%02d:%02d:%02d UTC",
		         a->v.attempts, a->v.attempts == 1 ? "" : "s", tm.tm_hour, tm.tm_min, tm.tm_sec);
	} else {
		row->reason = REASON_NOT_VERIFIED;
		snprintf(detail, n, "still being verified: ask again for the final verdict");
	}
	row->detail = detail;
}

/* send_stored - the answer for address A as the store holds it now */
static int send_stored(void *ctx, const struct store_addr_out *a)
{
	struct waiter *w = ctx;
	struct dns_result dns;
	const char *mx[DNS_MAX_HOSTS];
	char detail[256];
	int final = a->state == STORE_ADDR_DONE && a->v.status != NULL;
	struct verify_json_row row = {
		.input = w->input,
		.mx_hosts = mx,
		.nmx = dns_stored_mx_names(w->srv->store, a->v.domain, &dns, mx),
		.catch_all = a->v.domain ? store_catch_all(w->srv->store, a->v.domain) : -1,
		.duration_ms = (clock_now() - w->started) * 1000.0,
		.final = final ? VERIFY_JSON_FINAL_YES : VERIFY_JSON_FINAL_NO,
	};

	char *transcript = NULL;
	if (w->trace && a->v.address_id > 0 &&
	    store_trace_get(w->srv->store, a->v.address_id, &transcript) < 0)
		transcript = NULL; /* the verdict matters more: sent without it */
	row.with_transcript = w->trace;
	row.transcript = transcript;
	verify_json_from_store(&row, &a->v);
	if (!final)
		pending_reason(a, &row, detail, sizeof detail);
	send_row(w->req, &row);
	free(transcript);
	return 0;
}

/* answer - W's request gets what the store holds for its address now */
static void answer(struct waiter *w)
{
	int rc = store_addr_read(w->srv->store, w->id, send_stored, w);

	if (rc < 0)
		http_error(w->req, 500, "store", "job store: %s", store_errmsg(w->srv->store));
	else if (rc == 0)
		http_error(w->req, 503, "not_verified",
		           "the address was lost by a failed write of the job store: ask again");
}

static int is_final(void *ctx, const struct store_addr_out *a)
{
	*(int *)ctx = a->state == STORE_ADDR_DONE && a->v.status != NULL;
	return 0;
}

/* ---- waiters ---- */

static void waiter_unlink(struct waiter *w)
{
	struct server *srv = w->srv;

	if (w->prev)
		w->prev->next = w->next;
	else
		srv->waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	srv->nwaiters--;
	if (w->deadline)
		event_free(w->deadline);
	free(w->input);
	free(w);
}

/* waiter_answer - answer W with what is known and forget it */
static void waiter_answer(struct waiter *w)
{
	evhttp_connection_set_closecb(w->con, NULL, NULL); /* answered: nothing to drop later */
	answer(w);
	waiter_unlink(w);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	waiter_answer(arg);
}

/* on_close - the client went away before its answer: the check goes on, nobody waits */
static void on_close(struct evhttp_connection *con, void *arg)
{
	(void)con;
	waiter_unlink(arg);
}

void realtime_verdict(struct server *srv, int64_t id)
{
	struct waiter *w, *next;

	for (w = srv->waiters; w; w = next) {
		next = w->next;
		if (w->id == id)
			waiter_answer(w);
	}
}

void realtime_stop(struct server *srv)
{
	struct waiter *w, *next;

	for (w = srv->waiters; w; w = next) {
		next = w->next;
		waiter_answer(w);
	}
}

/* ---- the request ---- */

/* read_request - the email and the timeout of REQ (query or JSON body); 0, or -1 after an
 * answer saying what is wrong */
static int read_request(struct server *srv, struct evhttp_request *req, char **email,
                        double *timeout, int *trace)
{
	char *t = NULL;

	*timeout = REALTIME_DEFAULT_TIMEOUT;
	*trace = 0;
	if (evhttp_request_get_command(req) == EVHTTP_REQ_POST) {
		json_t *body = http_json_body(req), *e, *to;
		if (body == NULL)
			return -1;
		e = json_object_get(body, "email");
		to = json_object_get(body, "timeout");
		json_t *tr = json_object_get(body, "trace");
		if (!json_is_string(e) || (to && !json_is_number(to)) || (tr && !json_is_boolean(tr))) {
			json_decref(body);
			http_error(req, 400, "bad_request",
			           "expected {\"email\": \"ADDRESS\"[, \"timeout\": SECONDS][, \"trace\": "
			           "true]}");
			return -1;
		}
		*trace = tr && json_is_true(tr);
		*email = strdup(json_string_value(e));
		if (to)
			*timeout = json_number_value(to);
		json_decref(body);
	} else {
		*email = http_query(req, "email");
		t = http_query(req, "timeout");
		char *tr = http_query(req, "trace");
		if (tr && strcmp(tr, "1") != 0 && strcmp(tr, "true") != 0 && strcmp(tr, "0") != 0 &&
		    strcmp(tr, "false") != 0) {
			free(tr);
			free(t);
			free(*email);
			http_error(req, 400, "bad_request", "trace: 1 or 0");
			return -1;
		}
		*trace = tr && (strcmp(tr, "1") == 0 || strcmp(tr, "true") == 0);
		free(tr);
		if (*email == NULL) {
			free(t);
			http_error(req, 400, "bad_request", "missing parameter: email (/v1/verify?email=A)");
			return -1;
		}
		if (t) {
			char *end;
			*timeout = strtod(t, &end);
			if (end == t || *end != '\0')
				*timeout = -1;
			free(t);
		}
	}
	if (*email == NULL) {
		http_error(req, 500, "internal", "out of memory");
		return -1;
	}
	if (!(*timeout >= 0 && *timeout <= srv->o.max_timeout)) {
		http_error(req, 400, "bad_request", "timeout: seconds from 0 to %g", srv->o.max_timeout);
		free(*email);
		return -1;
	}
	return 0;
}

/* send_refused - the answer for INPUT, whose syntax is refused (final: no probe tells more) */
static void send_refused(struct evhttp_request *req, const char *input,
                         const struct check_result *cr, double started, int trace)
{
	struct verify_json_row row = {
		.input = input,
		.status = verdict_status_name(STATUS_INVALID),
		.reason = REASON_SYNTAX,
		.detail = addr_problem_text(cr->problem),
		.flags = cr->flags,
		.suggestion = cr->suggestion,
		.catch_all = -1,
		.duration_ms = (clock_now() - started) * 1000.0,
		.final = VERIFY_JSON_FINAL_YES,
		.with_transcript = trace,
	};

	send_row(req, &row);
}

struct add_ctx {
	const struct check_result *cr;
	int64_t id;
};

static int add_fn(struct server *srv, void *ctx)
{
	struct add_ctx *c = ctx;
	struct store_addr_in a = given_addr(c->cr);
	int64_t stale_before = store_stale_before(srv->ro.max_age_days, (int64_t)time(NULL));

	c->id = store_addr_add(srv->store, &a);
	if (c->id >= 0 && stale_before > 0 && store_addr_refresh(srv->store, c->id, stale_before) < 0)
		c->id = -1;
	return c->id < 0 ? -1 : 0;
}

/* add_address - CR's address in the job store; a verdict older than --max-age is dropped. Its
 * id, or -1. */
static int64_t add_address(struct server *srv, const struct check_result *cr)
{
	struct add_ctx c = {cr, -1};

	return server_write(srv, add_fn, &c) < 0 ? -1 : c.id;
}

void realtime_handle(struct server *srv, struct evhttp_request *req, const char *key)
{
	double started = clock_now(), timeout;
	struct check_result cr;
	struct waiter *w;
	char *email;
	int final = 0, trace;

	(void)key;
	if (read_request(srv, req, &email, &timeout, &trace) < 0)
		return;
	if (strlen(email) > REALTIME_EMAIL_MAX) {
		http_error(req, 400, "bad_request", "email: longer than %d bytes", REALTIME_EMAIL_MAX);
		free(email);
		return;
	}
	check_address(srv->check, email, strlen(email), &cr);
	if (cr.problem != ADDR_OK) {
		send_refused(req, email, &cr, started, trace);
		free(email);
		return;
	}
	w = calloc(1, sizeof *w);
	if (w == NULL) {
		free(email);
		http_error(req, 500, "internal", "out of memory");
		return;
	}
	*w = (struct waiter){.srv = srv, .req = req, .con = evhttp_request_get_connection(req),
	                     .input = email, .started = started, .trace = trace};
	w->id = add_address(srv, &cr);
	if (w->id < 0) {
		http_error(req, 500, "store", "job store: %s", store_errmsg(srv->store));
		free(email);
		free(w);
		return;
	}
	store_addr_read(srv->store, w->id, is_final, &final);
	if (!final && timeout > 0 && !srv->stopping) {
		run_hurry(srv->run, w->id);
		/* the answer may be known already (a domain's stored DNS answer, say) */
		store_addr_read(srv->store, w->id, is_final, &final);
	}
	if (final || timeout <= 0 || srv->stopping ||
	    (w->deadline = evtimer_new(srv->base, on_deadline, w)) == NULL) {
		answer(w);
		free(w->input);
		free(w);
		return;
	}
	w->next = srv->waiters;
	if (w->next)
		w->next->prev = w;
	srv->waiters = w;
	srv->nwaiters++;
	struct timeval tv = {(time_t)timeout, (suseconds_t)((timeout - (double)(time_t)timeout) * 1e6)};
	evtimer_add(w->deadline, &tv);
	evhttp_connection_set_closecb(w->con, on_close, w);
}
