/*
 * http - JSON answers, errors, query parameters and bodies for the API (see http.h).
 */
#include "server/http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <sys/queue.h>

#include <event2/keyvalq_struct.h>

const char *http_status_text(int code)
{
	switch (code) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Status";
	}
}

void http_send(struct evhttp_request *req, int code, const char *body, size_t len)
{
	struct evbuffer *out = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (out)
		evbuffer_add(out, body, len);
	evhttp_send_reply(req, code, http_status_text(code), out);
	if (out)
		evbuffer_free(out);
}

void http_send_json(struct evhttp_request *req, int code, json_t *v)
{
	char *text = json_dumps(v, JSON_COMPACT);

	if (text == NULL) {
		static const char oom[] = "{\"error\": \"internal\", \"detail\": \"out of memory\"}\n";
		http_send(req, 500, oom, sizeof oom - 1);
		return;
	}
	size_t n = strlen(text);
	char *line = realloc(text, n + 2);
	if (line) {
		line[n] = '\n';
		line[n + 1] = '\0';
		text = line;
		n++;
	}
	http_send(req, code, text, n);
	free(text);
}

void http_error(struct evhttp_request *req, int code, const char *error, const char *fmt, ...)
{
	char detail[1024];
	va_list ap;
	json_t *v;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	/* detail may quote what a client sent: jansson checks it is UTF-8, else it is left out */
	v = json_pack("{s:s, s:s?}", "error", error, "detail", detail);
	if (v == NULL)
		v = json_pack("{s:s, s:s}", "error", error, "detail", "(not UTF-8)");
	http_send_json(req, code, v);
	json_decref(v);
}

char *http_query(struct evhttp_request *req, const char *name)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
	struct evkeyvalq params;
	const char *v;
	char *out = NULL;

	if (q == NULL)
		return NULL;
	TAILQ_INIT(&params);
	if (evhttp_parse_query_str(q, &params) == 0 && (v = evhttp_find_header(&params, name)))
		out = strdup(v);
	evhttp_clear_headers(&params);
	return out;
}

json_t *http_json_body(struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	const char *p = (const char *)evbuffer_pullup(in, -1);
	json_error_t e;
	json_t *v;

	if (n == 0) {
		http_error(req, 400, "bad_request", "the body is empty: a JSON object was expected");
		return NULL;
	}
	v = json_loadb(p, n, JSON_REJECT_DUPLICATES, &e);
	if (v == NULL) {
		http_error(req, 400, "bad_json", "the body is not JSON: %s (line %d, column %d)",
		           e.text, e.line, e.column);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		http_error(req, 400, "bad_json", "the body must be a JSON object");
		return NULL;
	}
	return v;
}
