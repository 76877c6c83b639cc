/*
 * server_int - what the server's files share (not for other folders).
 */
#ifndef MAILSIFT_SERVER_INT_H
#define MAILSIFT_SERVER_INT_H

#include <stdint.h>

#include "server/server.h"

struct evhttp;
struct evhttp_request;
struct evhttp_bound_socket;
struct check;
struct waiter;

/* A key's allowance of real-time checks: a token bucket. */
struct allowance {
	char name[KEYS_NAME_MAX + 1];
	double tokens;
	double at;                      /* clock_now() of the last refill */
};

struct server {
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

#endif
