/*
 * server - the listener, routing, access (API keys, per-key allowance) and the run service
 * of `mailsift serve` (see server.h). Endpoints live in their own files (realtime.c).
 */
#include "server/server_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "common/clock.h"
#include "exporters/session_log.h"
#include "importers/check.h"
#include "server/http.h"

#define SERVER_MAX_HEADERS 16384        /* bytes of a request's headers (more: 413) */
#define SERVER_MAX_BODY (8 << 20)       /* bytes of a request's body (more: 413) */

/* ---- access ---- */

/* key_of - the name of the key REQ presents, or NULL after a 401 answer */
static const char *key_of(struct server *srv, struct evhttp_request *req)
{
	const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	const char *name;

	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
		                  "Bearer realm=\"mailsift\"");
		http_error(req, 401, "unauthorized", "no API key: send \"Authorization: Bearer KEY\"");
		return NULL;
	}
	name = keys_check(srv->keys, auth + 7);
	if (name == NULL) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
		                  "Bearer realm=\"mailsift\", error=\"invalid_token\"");
		http_error(req, 401, "unauthorized", "this API key is not one of this server's");
		return NULL;
	}
	return name;
}

/* allowance_of - KEY's token bucket (made when KEY first asks); NULL when out of memory */
static struct allowance *allowance_of(struct server *srv, const char *key)
{
	struct allowance *a;

	for (size_t i = 0; i < srv->nallow; i++)
		if (strcmp(srv->allow[i].name, key) == 0)
			return &srv->allow[i];
	a = realloc(srv->allow, (srv->nallow + 1) * sizeof *a);
	if (a == NULL)
		return NULL;
	srv->allow = a;
	a = &srv->allow[srv->nallow++];
	snprintf(a->name, sizeof a->name, "%s", key);
	a->tokens = srv->o.rate;
	a->at = clock_now();
	return a;
}

/* allowed - KEY may make one more real-time check now; else a 429 with Retry-After is sent */
static int allowed(struct server *srv, struct evhttp_request *req, const char *key)
{
	struct allowance *a = allowance_of(srv, key);
	double now = clock_now();
	char after[32];

	if (a == NULL) {
		http_error(req, 500, "internal", "out of memory");
		return 0;
	}
	a->tokens += (now - a->at) * srv->o.rate;
	if (a->tokens > srv->o.rate)
		a->tokens = srv->o.rate < 1 ? 1 : srv->o.rate; /* a burst of one second's worth */
	a->at = now;
	if (a->tokens >= 1) {
		a->tokens -= 1;
		return 1;
	}
	snprintf(after, sizeof after, "%.0f", ceil((1 - a->tokens) / srv->o.rate));
	evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", after);
	http_error(req, 429, "too_many_requests",
	           "more than %g real-time checks a second for this key: retry after %s s",
	           srv->o.rate, after);
	return 0;
}

/* ---- routing ---- */

static void on_request(struct evhttp_request *req, void *arg)
{
	struct server *srv = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const char *key;

	if (path == NULL || strncmp(path, "/v1/", 4) != 0) {
		if (path == NULL || !web_handle(req, path))
			http_error(req, 404, "not_found", "no such endpoint: the API is under /v1/, the page at /");
		return;
	}
	if (srv->stopping) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
		http_error(req, 503, "stopping", "the server is stopping");
		return;
	}
	if ((key = key_of(srv, req)) == NULL)
		return;
	if (strcmp(path, "/v1/jobs") == 0 || strncmp(path, "/v1/jobs/", 9) == 0) {
		jobs_handle(srv, req, key, path);
		return;
	}
	if (strcmp(path, "/v1/verify") == 0) {
		if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_POST) {
			evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, POST");
			http_error(req, 405, "method_not_allowed", "/v1/verify takes GET or POST");
			return;
		}
		if (allowed(srv, req, key))
			realtime_handle(srv, req, key);
		return;
	}
	http_error(req, 404, "not_found", "no such endpoint");
}

/* ---- the store ---- */

int server_write(struct server *srv, int (*fn)(struct server *srv, void *ctx), void *ctx)
{
	struct store *s = srv->store;
	int own = !store_in_transaction(s), rc;
	char err[256];

	if (own ? store_begin(s, err, sizeof err) < 0 : store_savepoint(s, err, sizeof err) < 0)
		return -1;
	rc = fn(srv, ctx);
	if (own) {
		if (rc < 0)
			store_rollback(s);
		else if (store_commit(s, err, sizeof err) < 0)
			rc = -1;
	} else if (store_savepoint_end(s, rc == 0, err, sizeof err) < 0) {
		rc = -1;
	}
	return rc < 0 ? -1 : 0;
}

/* ---- the run ---- */

static void on_run_done(void *ctx, const struct run_result *r, const char *err)
{
	struct server *srv = ctx;

	(void)r;
	if (srv->done)
		srv->done(srv->done_ctx, err ? err : srv->log_error[0] ? srv->log_error : NULL);
}

/* on_run_session - a session is over: its line in --session-log; one that cannot be written
 * stops the server, said why (an operator counts on the log) */
static void on_run_session(void *ctx, const struct store_session *ss)
{
	struct server *srv = ctx;

	if (srv->o.session_log == NULL || srv->log_error[0])
		return;
	if (session_log_write(srv->o.session_log, ss) < 0) {
		snprintf(srv->log_error, sizeof srv->log_error, "session log %s: cannot write: %s",
		         srv->o.session_log_path, strerror(errno));
		server_stop(srv);
	}
}

static void on_run_verdict(void *ctx, int64_t address_id)
{
	realtime_verdict(ctx, address_id);
}

/* ---- life ---- */

/* bound_port - the port of the listening socket B */
static int bound_port(struct evhttp_bound_socket *b)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	evutil_socket_t fd = evhttp_bound_socket_get_fd(b);

	memset(&ss, 0, sizeof ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

struct server *server_new(struct event_base *base, struct store *s, struct keys *k,
                          const struct run_opts *ro, const struct server_opts *o,
                          void (*done)(void *ctx, const char *err), void *ctx, char *err,
                          size_t errlen)
{
	static const struct run_callbacks cb = {NULL, on_run_done, on_run_verdict, on_run_session};
	struct server *srv = calloc(1, sizeof *srv);

	if (srv == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	srv->base = base;
	srv->store = s;
	srv->keys = k;
	srv->o = *o;
	srv->ro = *ro;
	srv->ro.keep_running = 1;
	srv->done = done;
	srv->done_ctx = ctx;
	srv->check = check_new();
	srv->http = evhttp_new(base);
	if (srv->check == NULL || srv->http == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	evhttp_set_max_headers_size(srv->http, SERVER_MAX_HEADERS);
	evhttp_set_max_body_size(srv->http, SERVER_MAX_BODY);
	evhttp_set_timeout(srv->http, (int)ceil(o->io_timeout));
	evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
	                                          EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD);
	evhttp_set_gencb(srv->http, on_request, srv);
	if (server_tls_start(srv, err, errlen) < 0)
		goto fail;
	srv->bound = evhttp_bind_socket_with_handle(srv->http, o->host, (ev_uint16_t)o->port);
	if (srv->bound == NULL) {
		snprintf(err, errlen, "cannot listen on %s port %d (in use, or not an address of this "
		                      "host?)", o->host, o->port);
		goto fail;
	}
	srv->port = bound_port(srv->bound);
	srv->run = run_new(base, s, &srv->ro, &cb, srv, stderr, err, errlen);
	if (srv->run == NULL || webhook_start(srv, &srv->ro, err, errlen) < 0 ||
	    jobs_start(srv, err, errlen) < 0)
		goto fail;
	return srv;
fail:
	server_free(srv);
	return NULL;
}

int server_port(const struct server *srv)
{
	return srv->port;
}

void server_stop(struct server *srv)
{
	if (srv->stopping)
		return;
	srv->stopping = 1;
	if (srv->bound) {
		evhttp_del_accept_socket(srv->http, srv->bound);
		srv->bound = NULL;
	}
	realtime_stop(srv);
	jobs_stop(srv);
	webhook_stop(srv);
	run_stop(srv->run);
}

void server_free(struct server *srv)
{
	if (srv == NULL)
		return;
	realtime_stop(srv);
	jobs_free(srv);
	webhook_stop(srv);
	run_free(srv->run);
	if (srv->http)
		evhttp_free(srv->http);
	check_free(srv->check);
	server_tls_free(srv);
	free(srv->allow);
	free(srv);
}
