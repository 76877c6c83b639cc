/*
 * http - what every handler of the API needs from evhttp: JSON answers, JSON errors
 * ({"error": WORD, "detail": TEXT}, with the right status code), a request's query parameters
 * and its JSON body (parsed with libjansson: the server faces the network).
 */
#ifndef MAILSIFT_SERVER_HTTP_H
#define MAILSIFT_SERVER_HTTP_H

#include <stddef.h>

#include <jansson.h>

struct evhttp_request;

/* http_send - status CODE with BODY (LEN bytes) as application/json */
void http_send(struct evhttp_request *req, int code, const char *body, size_t len);

/* http_send_json - status CODE with V (a reference is taken) as its body */
void http_send_json(struct evhttp_request *req, int code, json_t *v);

/* http_error - status CODE, {"error": ERROR, "detail": the formatted text} */
void __attribute__((format(printf, 4, 5)))
http_error(struct evhttp_request *req, int code, const char *error, const char *fmt, ...);

/* http_query - the decoded value of query parameter NAME of REQ's URI (malloc'd), or NULL */
char *http_query(struct evhttp_request *req, const char *name);

/* http_json_body - REQ's body as a JSON object, or NULL after a 400 answer saying why */
json_t *http_json_body(struct evhttp_request *req);

/* http_status_text - the reason phrase of CODE */
const char *http_status_text(int code);

#endif
