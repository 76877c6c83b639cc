/*
 * server - `mailsift serve`: the HTTP API (libevent's evhttp) on the owner's event base, with
 * one run service (engine/run) for every request, so per-host limits, pauses and greylist
 * retries hold across all of them. It owns the listener and the run; the job store and the
 * keys stay the caller's. It holds no verdict logic: answers are read from the job store.
 */
#ifndef MAILSIFT_SERVER_H
#define MAILSIFT_SERVER_H

#include <stdio.h>

#include <stddef.h>

#include "engine/run.h"
#include "schema/store.h"
#include "server/keys.h"

struct event_base;

struct server_opts {
	const char *host;           /* address to listen on (numeric or a name) */
	int port;
	double rate;                /* real-time checks per second per key (burst: the same) */
	double max_timeout;         /* most a real-time check may wait, seconds */
	double io_timeout;          /* a client slower than this to send or take a request is cut */
	const char *data_dir;       /* the server's folder: DIR/jobs/ID/ holds each job's files */
	const char *store_path;     /* the job store's file (an export child opens it) */
	int max_jobs;               /* jobs not finished per key (more: 429) */
	unsigned long long max_upload; /* bytes of one job's upload (more: 413) */
	const char *tls_cert;       /* PEM certificate chain: serve HTTPS (NULL: plain HTTP) */
	const char *tls_key;        /* its PEM private key */
	int callback_allow_private; /* callbacks may go to loopback and private addresses */
	double callback_backoff;    /* seconds before a callback's second try (later: 3x each) */
	FILE *session_log;          /* --session-log: one line per SMTP session (NULL: none); a
	                             * line that cannot be written stops the server (ERR) */
	const char *session_log_path;
};

struct server;

/* server_new - listen and start the run (RO: keep_running is set); DONE is called once, when
 * the run has ended after server_stop or failed (ERR: why). NULL with err. */
struct server *server_new(struct event_base *base, struct store *s, struct keys *k,
                          const struct run_opts *ro, const struct server_opts *o,
                          void (*done)(void *ctx, const char *err), void *ctx, char *err,
                          size_t errlen);

/* server_port - the port listened on (the one the kernel chose for port 0) */
int server_port(const struct server *srv);

/* server_stop - accept no more connections, answer who waits with what is known (not final),
 * stop the run (open SMTP sessions get to QUIT; what is done is committed); done follows */
void server_stop(struct server *srv);

void server_free(struct server *srv);

#endif
