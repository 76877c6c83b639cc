/*
 * tls - HTTPS for `mailsift serve` (--tls-cert/--tls-key): each accepted connection gets an
 * OpenSSL bufferevent (evhttp_set_bevcb), so evhttp reads and writes through TLS and every
 * limit (headers, bodies, timeouts) holds as over plain HTTP. TLS 1.2 at least.
 */
#include "server/server_int.h"

#include <stdio.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

/* tls_error - the first OpenSSL error, as text */
static const char *tls_error(char *buf, size_t n)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		snprintf(buf, n, "unknown error");
	else
		ERR_error_string_n(e, buf, n);
	ERR_clear_error();
	return buf;
}

static struct bufferevent *tls_bev(struct event_base *base, void *arg)
{
	SSL *ssl = SSL_new(arg);

	if (ssl == NULL)
		return NULL;
	return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
	                                      BEV_OPT_CLOSE_ON_FREE);
}

int server_tls_start(struct server *srv, char *err, size_t errlen)
{
	char why[256];
	SSL_CTX *ctx;

	if (srv->o.tls_cert == NULL)
		return 0;
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		snprintf(err, errlen, "TLS: %s", tls_error(why, sizeof why));
		return -1;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	if (SSL_CTX_use_certificate_chain_file(ctx, srv->o.tls_cert) != 1) {
		snprintf(err, errlen, "--tls-cert %s: %s", srv->o.tls_cert, tls_error(why, sizeof why));
		SSL_CTX_free(ctx);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, srv->o.tls_key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "--tls-key %s: %s", srv->o.tls_key, tls_error(why, sizeof why));
		SSL_CTX_free(ctx);
		return -1;
	}
	srv->tls = ctx;
	evhttp_set_bevcb(srv->http, tls_bev, ctx);
	return 0;
}

void server_tls_free(struct server *srv)
{
	if (srv->tls)
		SSL_CTX_free(srv->tls);
	srv->tls = NULL;
}
