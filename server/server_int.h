/*
 * server_int - what the server's files share (not for other folders).
 */
#ifndef MAILSIFT_SERVER_INT_H
#define MAILSIFT_SERVER_INT_H

#include <stdint.h>

#include <jansson.h>

#include "server/server.h"

struct evhttp;
struct evhttp_request;
struct evhttp_bound_socket;
struct check;
struct waiter;
struct job;
struct hook;
struct dns;
struct store_job;
struct event;

/* A key's allowance of real-time checks: a token bucket. */
struct allowance {
	char name[KEYS_NAME_MAX + 1];
	double tokens;
	double at;                      /* clock_now() of the last refill */
};

struct server {
	char log_error[512];            /* the session log could not be written: why ("" if it could) */
	struct event_base *base;
	struct store *store;
	struct keys *keys;
	struct server_opts o;
	struct run_opts ro;
	struct run *run;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	struct check *check;            /* the importers' address checks, for real-time checks */
	struct waiter *waiters;         /* real-time checks waiting for a verdict */
	size_t nwaiters;
	struct allowance *allow;        /* one per key that asked */
	size_t nallow;
	struct ssl_ctx_st *tls;         /* --tls-cert: HTTPS; NULL: plain HTTP */
	struct hook *hooks;             /* callbacks being delivered */
	struct dns *hookdns;            /* resolves callback hosts */
	struct job *jobs;               /* the jobs being driven (importing, verifying, exporting) */
	struct event *import_ev;        /* the next import step */
	struct event *tick_ev;          /* looks at the jobs being driven */
	int port;
	int stopping;
	void (*done)(void *ctx, const char *err);
	void *done_ctx;
};

/* realtime_handle - GET|POST /v1/verify for key KEY */
void realtime_handle(struct server *srv, struct evhttp_request *req, const char *key);

/* realtime_verdict - address ID has its final verdict: answer who waits for it */
void realtime_verdict(struct server *srv, int64_t id);

/* realtime_stop - answer every waiting check with what is known now (not final) */
void realtime_stop(struct server *srv);

/* server_write - FN(SRV, CTX) inside a transaction: the run's open one when it has one (one
 * connection, one thread: it is committed with the run's next commit), else one of its own
 * committed at once; either way what FN wrote stays whole or goes (a savepoint). FN returns 0,
 * or -1 to undo; so does server_write. */
int server_write(struct server *srv, int (*fn)(struct server *srv, void *ctx), void *ctx);

/* web_handle - the page's files (GET /, /app.css, /app.js): 1 when PATH is one (answered),
 * 0 when not (nothing sent) */
int web_handle(struct evhttp_request *req, const char *path);

/* jobs_handle - /v1/jobs and /v1/jobs/... (PATH) for key KEY */
void jobs_handle(struct server *srv, struct evhttp_request *req, const char *key,
                 const char *path);

/* jobs_start - drive the jobs the store says are under way (after a restart: resumed);
 * jobs_stop - stop driving them (imports keep what they stored, exports are stopped);
 * jobs_free - free what is left */
int jobs_start(struct server *srv, char *err, size_t errlen);

/* server_tls_start - HTTPS when o.tls_cert is set (0; -1 with err: a bad file); server_tls_free */
int server_tls_start(struct server *srv, char *err, size_t errlen);
void server_tls_free(struct server *srv);

/* jobs_status_json - the status of job J, as GET /v1/jobs/ID answers it */
json_t *jobs_status_json(struct server *srv, const struct store_job *j);

/* webhook_url_check - 0 when URL may be a callback_url, else -1 with why */
int webhook_url_check(struct server *srv, const char *url, char *why, size_t n);

/* webhook_due - deliver J's callback if it is pending (J ended, or a restart found it so) */
void webhook_due(struct server *srv, const struct store_job *j);

/* webhook_start / webhook_stop - the callbacks' resolver; stop drops the tries under way (the
 * store keeps them pending for the next start) */
int webhook_start(struct server *srv, const struct run_opts *ro, char *err, size_t errlen);
void webhook_stop(struct server *srv);
void jobs_stop(struct server *srv);
void jobs_free(struct server *srv);

#endif
