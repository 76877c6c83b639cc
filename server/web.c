/*
 * web - the page of `mailsift serve` (web/: index.html, app.css, app.js), embedded at build
 * time and served at /, /app.css and /app.js without a key: the page asks for one and uses only
 * the public API. A strict Content-Security-Policy: nothing from another host, no inline code.
 */
#include "server/server_int.h"

#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "server/http.h"

extern const char *const web_files[];   /* build/gen/web.c: index.html, app.css, app.js */
extern const size_t web_files_count;

static const struct {
	const char *path, *type;
} web_paths[] = {
	{"/", "text/html; charset=utf-8"},
	{"/app.css", "text/css; charset=utf-8"},
	{"/app.js", "text/javascript; charset=utf-8"},
};

int web_handle(struct evhttp_request *req, const char *path)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *out;
	size_t i;

	if (strcmp(path, "/index.html") == 0)
		path = "/";
	for (i = 0; i < sizeof web_paths / sizeof web_paths[0] && i < web_files_count; i++)
		if (strcmp(path, web_paths[i].path) == 0)
			break;
	if (i == sizeof web_paths / sizeof web_paths[0] || i >= web_files_count)
		return 0;
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(h, "Allow", "GET, HEAD");
		http_error(req, 405, "method_not_allowed", "the page takes GET");
		return 1;
	}
	evhttp_add_header(h, "Content-Type", web_paths[i].type);
	evhttp_add_header(h, "Cache-Control", "no-cache");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "Content-Security-Policy",
	                  "default-src 'self'; img-src 'self' blob: data:; frame-ancestors 'none'; "
	                  "base-uri 'none'; form-action 'self'");
	out = evbuffer_new();
	if (out == NULL) {
		http_error(req, 500, "internal", "out of memory");
		return 1;
	}
	evbuffer_add_reference(out, web_files[i], strlen(web_files[i]), NULL, NULL);
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
	return 1;
}
