/*
 * webhook - when a job with a callback_url ends, POST its status JSON there, signed
 * (X-Mailsift-Signature: sha256=HEX of HMAC-SHA256 over the body, keyed with the job's
 * callback_secret, given once when the job was made), retried with backoff until a 2xx answer
 * or WEBHOOK_ATTEMPTS tries. The state (pending, delivered, failed, attempts) is in the job
 * store, so a restarted server goes on delivering.
 *
 * A callback may not reach this machine's or its network's own services (loopback, private,
 * link-local... engine/netaddr.h) unless the operator allows it (--callback-allow-private): an
 * API client must not make the server knock on internal hosts. Names are resolved with the
 * run's resolver settings and checked by address, and the connection goes to the checked
 * address (the name cannot resolve elsewhere in between).
 */
#include "server/server_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/ipaddr.h"
#include "engine/dns.h"
#include "engine/netaddr.h"
#include "server/http.h"

#define WEBHOOK_ATTEMPTS 6           /* tries before a callback is given up */
#define WEBHOOK_BACKOFF 10.0         /* seconds before the second try; each later one waits 3x */
#define WEBHOOK_TIMEOUT 10           /* seconds a receiver has to answer */

struct hook {
	struct hook *next;
	struct server *srv;
	char id[17];
	int attempts;                    /* tries made */
	int last;                        /* the try that ended was refused: no more (TRY_REFUSED) */
	struct event *timer;             /* the next try */
	struct evhttp_connection *con;   /* the try under way, or NULL */
	int resolving;                   /* waiting for the resolver */
	int gone;                        /* freed while resolving: the resolver's answer is dropped */
};

/* url_parts - URL's host, port and path+query; 0, or -1 with why */
static int url_parts(const char *url, char *host, size_t hn, int *port, char *path, size_t pn,
                     char *why, size_t wn)
{
	struct evhttp_uri *u = evhttp_uri_parse_with_flags(url, 0);
	const char *scheme, *h, *p, *q;
	int rc = -1;

	if (u == NULL) {
		snprintf(why, wn, "not a URL");
		return -1;
	}
	scheme = evhttp_uri_get_scheme(u);
	h = evhttp_uri_get_host(u);
	p = evhttp_uri_get_path(u);
	q = evhttp_uri_get_query(u);
	if (scheme == NULL || strcmp(scheme, "http") != 0)
		snprintf(why, wn, "only http:// callbacks are supported (put a TLS proxy in front "
		                  "for https)");
	else if (h == NULL || h[0] == '\0' || strlen(h) >= hn)
		snprintf(why, wn, "no host");
	else if (evhttp_uri_get_userinfo(u) != NULL)
		snprintf(why, wn, "user:password@ is not allowed");
	else if (snprintf(path, pn, "%s%s%s", p && p[0] ? p : "/", q ? "?" : "", q ? q : "") >=
	         (int)pn)
		snprintf(why, wn, "path too long");
	else
		rc = 0;
	if (rc == 0) {
		snprintf(host, hn, "%s", h);
		*port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : 80;
	}
	evhttp_uri_free(u);
	return rc;
}

int webhook_url_check(struct server *srv, const char *url, char *why, size_t n)
{
	char host[256], path[2048];
	int port;
	struct sockaddr_storage ss;
	socklen_t len;

	if (url_parts(url, host, sizeof host, &port, path, sizeof path, why, n) < 0)
		return -1;
	if (ipaddr_parse(host, 0, &ss, &len) == 0 && !srv->o.callback_allow_private &&
	    !netaddr_is_public((struct sockaddr *)&ss)) {
		snprintf(why, n, "%s is not a public address (%s); the server's operator may allow "
		                 "it with --callback-allow-private", host,
		         netaddr_special((struct sockaddr *)&ss));
		return -1;
	}
	return 0;
}

/* ---- tries ---- */

/* hook_release - what H holds, and H (unless the resolver still has it: freed by its answer) */
static void hook_release(struct hook *h)
{
	if (h->timer)
		event_free(h->timer);
	if (h->con)
		evhttp_connection_free(h->con);
	if (h->resolving) {
		h->gone = 1; /* the resolver's callback frees it */
		return;
	}
	free(h);
}

/* hook_free - H out of the server's list, released */
static void hook_free(struct hook *h)
{
	struct server *srv = h->srv;

	for (struct hook **p = &srv->hooks; *p; p = &(*p)->next)
		if (*p == h) {
			*p = h->next;
			break;
		}
	hook_release(h);
}

struct cb_state {
	const char *id, *state;
	int attempts;
};

static int cb_state_fn(struct server *srv, void *ctx)
{
	struct cb_state *c = ctx;

	return store_job_set_callback(srv->store, c->id, c->state, c->attempts);
}

/* How a try of a callback ended. */
enum try_end {
	TRY_FAILED,    /* tried again later, until WEBHOOK_ATTEMPTS */
	TRY_DELIVERED, /* a 2xx answer */
	TRY_REFUSED,   /* what asking again would not change (the URL, a private address) */
};

/* tried - a try of H ended as END (WHY: what happened, unless delivered) */
static void tried(struct hook *h, enum try_end end, const char *why)
{
	struct server *srv = h->srv;
	struct cb_state c = {h->id, NULL, ++h->attempts};
	double wait = srv->o.callback_backoff;
	int ok = end == TRY_DELIVERED;

	if (end == TRY_REFUSED)
		h->last = 1;
	c.state = ok ? "delivered" : h->attempts >= WEBHOOK_ATTEMPTS || h->last ? "failed" : "pending";
	if (server_write(srv, cb_state_fn, &c) < 0)
		fprintf(stderr, "mailsift serve: job %s: cannot save its callback's state\n", h->id);
	if (!ok)
		fprintf(stderr, "mailsift serve: job %s: callback try %d of %d: %s%s\n", h->id,
		        h->attempts, WEBHOOK_ATTEMPTS, why,
		        h->attempts >= WEBHOOK_ATTEMPTS || h->last ? "; given up" : "");
	if (ok || h->attempts >= WEBHOOK_ATTEMPTS || h->last) {
		/* The connection may not be freed from its own callback: the timer does it. */
		event_del(h->timer);
		h->attempts = -1;
		event_active(h->timer, EV_TIMEOUT, 0);
		return;
	}
	for (int i = 1; i < h->attempts; i++)
		wait *= 3;
	struct timeval tv = {(time_t)wait, (suseconds_t)((wait - (double)(time_t)wait) * 1e6)};
	event_add(h->timer, &tv);
}

static void on_answer(struct evhttp_request *req, void *arg)
{
	struct hook *h = arg;
	int code = req ? evhttp_request_get_response_code(req) : 0;
	char why[64];

	if (code == 0)
		snprintf(why, sizeof why, "no answer (connection refused, reset or timed out)");
	else
		snprintf(why, sizeof why, "HTTP %d", code);
	tried(h, code >= 200 && code < 300 ? TRY_DELIVERED : TRY_FAILED, why);
}

/* send_to - POST the job's status to ADDR (the checked address of the URL's host) */
static void send_to(struct hook *h, const struct sockaddr *addr)
{
	struct server *srv = h->srv;
	struct store_job j;
	char host[256], hosthdr[300], path[2048], why[256], ip[64], sig[2 * EVP_MAX_MD_SIZE + 8];
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	int port;
	char *body;
	json_t *o;
	struct evhttp_request *req;
	struct evkeyvalq *hd;

	if (store_job_get(srv->store, h->id, &j) != 1) {
		hook_free(h); /* deleted meanwhile: nobody to tell */
		return;
	}
	if (j.callback_url == NULL || j.callback_secret == NULL ||
	    url_parts(j.callback_url, host, sizeof host, &port, path, sizeof path, why,
	              sizeof why) < 0) {
		store_job_free(&j);
		tried(h, TRY_REFUSED, "the callback URL cannot be used");
		return;
	}
	o = jobs_status_json(srv, &j);
	body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (body == NULL ||
	    HMAC(EVP_sha256(), j.callback_secret, (int)strlen(j.callback_secret),
	         (const unsigned char *)body, strlen(body), mac, &maclen) == NULL) {
		free(body);
		store_job_free(&j);
		tried(h, TRY_FAILED, "out of memory");
		return;
	}
	snprintf(sig, sizeof sig, "sha256=");
	for (unsigned int i = 0; i < maclen; i++)
		snprintf(sig + 7 + 2 * i, 3, "%02x", mac[i]);
	ipaddr_text(addr, ip, sizeof ip);
	if (h->con)
		evhttp_connection_free(h->con);
	h->con = evhttp_connection_base_new(srv->base, NULL, ip, (ev_uint16_t)port);
	req = h->con ? evhttp_request_new(on_answer, h) : NULL;
	if (req == NULL) {
		free(body);
		store_job_free(&j);
		tried(h, TRY_FAILED, "out of memory");
		return;
	}
	evhttp_connection_set_timeout(h->con, WEBHOOK_TIMEOUT);
	evhttp_connection_set_retries(h->con, 0);
	hd = evhttp_request_get_output_headers(req);
	/* RFC 9110 7.2: the port too when it is not the scheme's; an IPv6 literal in brackets */
	snprintf(hosthdr, sizeof hosthdr, strchr(host, ':') ? "[%s]" : "%s", host);
	if (port != 80)
		snprintf(hosthdr + strlen(hosthdr), sizeof hosthdr - strlen(hosthdr), ":%d", port);
	evhttp_add_header(hd, "Host", hosthdr);
	evhttp_add_header(hd, "Content-Type", "application/json");
	evhttp_add_header(hd, "User-Agent", "mailsift/" MAILSIFT_VERSION);
	evhttp_add_header(hd, "X-Mailsift-Job", j.id);
	evhttp_add_header(hd, "X-Mailsift-Signature", sig);
	evhttp_add_header(hd, "Connection", "close");
	evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
	free(body);
	store_job_free(&j);
	if (evhttp_make_request(h->con, req, EVHTTP_REQ_POST, path) < 0)
		tried(h, TRY_FAILED, "cannot send the request");
}

static void on_resolved(void *arg, const struct dns_result *r)
{
	struct hook *h = arg;
	char why[300];

	h->resolving = 0;
	if (h->gone) {
		free(h);
		return;
	}
	if (r->status == DNS_MX_NOT_PUBLIC) {
		/* what the name says will not change by asking again: no more tries */
		tried(h, TRY_REFUSED, "its host has only addresses that are not public; the server's "
		                      "operator may allow them with --callback-allow-private");
		return;
	}
	if (r->status != DNS_OK || r->nhosts == 0 || r->hosts[0].naddrs == 0) {
		snprintf(why, sizeof why, "its host has no usable address (%s%s%s)",
		         dns_status_name(r->status), r->detail ? ": " : "", r->detail ? r->detail : "");
		tried(h, TRY_FAILED, why);
		return;
	}
	send_to(h, (const struct sockaddr *)&r->hosts[0].addr[0]);
}

/* on_timer - the next try of H (or, after its last, its end) */
static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct hook *h = arg;
	struct server *srv = h->srv;
	struct store_job j;
	char host[256], path[2048], why[256];
	struct sockaddr_storage ss;
	socklen_t len;
	int port;

	(void)fd;
	(void)what;
	if (h->attempts < 0 || srv->stopping) {
		hook_free(h);
		return;
	}
	if (store_job_get(srv->store, h->id, &j) != 1) {
		hook_free(h);
		return;
	}
	if (j.callback_url == NULL ||
	    url_parts(j.callback_url, host, sizeof host, &port, path, sizeof path, why,
	              sizeof why) < 0) {
		store_job_free(&j);
		tried(h, TRY_REFUSED, "the callback URL cannot be used");
		return;
	}
	store_job_free(&j);
	if (ipaddr_parse(host, 0, &ss, &len) == 0) {
		if (!srv->o.callback_allow_private && !netaddr_is_public((struct sockaddr *)&ss)) {
			tried(h, TRY_REFUSED, "not a public address");
			return;
		}
		send_to(h, (struct sockaddr *)&ss);
		return;
	}
	h->resolving = 1;
	dns_host_addresses(srv->hookdns, host, on_resolved, h);
}

void webhook_due(struct server *srv, const struct store_job *j)
{
	struct hook *h;

	if (j->callback_url == NULL || j->callback_state == NULL ||
	    strcmp(j->callback_state, "pending") != 0 || srv->hookdns == NULL)
		return;
	for (h = srv->hooks; h; h = h->next)
		if (strcmp(h->id, j->id) == 0)
			return;
	h = calloc(1, sizeof *h);
	if (h == NULL)
		abort();
	h->srv = srv;
	snprintf(h->id, sizeof h->id, "%s", j->id);
	h->attempts = j->callback_attempts;
	h->timer = event_new(srv->base, -1, 0, on_timer, h);
	if (h->timer == NULL)
		abort();
	h->next = srv->hooks;
	srv->hooks = h;
	event_active(h->timer, EV_TIMEOUT, 0);
}

int webhook_start(struct server *srv, const struct run_opts *ro, char *err, size_t errlen)
{
	const char *knob = getenv("MAILSIFT_CALLBACK_BACKOFF"); /* test knob: seconds */

	if (srv->o.callback_backoff <= 0)
		srv->o.callback_backoff = WEBHOOK_BACKOFF;
	if (knob && atof(knob) > 0)
		srv->o.callback_backoff = atof(knob);
	srv->hookdns = dns_new(srv->base, ro->cfg->resolvers, ro->cfg->nresolvers, err, errlen);
	if (srv->hookdns == NULL)
		return -1;
	dns_allow_private(srv->hookdns, srv->o.callback_allow_private);
	return 0;
}

void webhook_stop(struct server *srv)
{
	while (srv->hooks) {
		struct hook *h = srv->hooks;
		srv->hooks = h->next;
		hook_release(h);
	}
	if (srv->hookdns) {
		dns_free(srv->hookdns); /* answers a pending lookup: its hook is freed then */
		srv->hookdns = NULL;
	}
}
