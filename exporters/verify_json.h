/*
 * verify_json - `mailsift verify`'s output: one JSON object a line per address. The command
 * line fills a row from the address checks and the engine's answer; this module only writes.
 */
#ifndef MAILSIFT_VERIFY_JSON_H
#define MAILSIFT_VERIFY_JSON_H

#include <stddef.h>
#include <stdio.h>

#include "schema/store.h"

enum verify_json_final {
	VERIFY_JSON_FINAL_OMIT = 0,     /* no "final" member (mailsift verify) */
	VERIFY_JSON_FINAL_NO,           /* "final": false: the check goes on (the API) */
	VERIFY_JSON_FINAL_YES,          /* "final": true */
};

struct verify_json_row {
	const char *input;              /* the address as given */
	const char *normalized;         /* NULL when its syntax is refused */
	const char *status;             /* valid | invalid | risky | catch_all | unknown */
	const char *reason;             /* schema/verdict.h's closed vocabulary */
	const char *detail;             /* NULL or "": null */
	unsigned flags;                 /* FLAG_* bits, catch-all included */
	const char *suggestion;         /* NULL or "": null */
	const char *const *mx_hosts;    /* the domain's MX hosts, by preference */
	size_t nmx;
	const char *mx_host;            /* the host that answered; NULL or "": null */
	int smtp_code;                  /* 0: no reply (code, enhanced code and message are null) */
	const char *enhanced_code;
	const char *smtp_message;
	int tls;
	int catch_all;                  /* 1 yes, 0 no, -1 not known (null) */
	int attempts;
	double duration_ms;
	enum verify_json_final final;   /* the API's "final" (the command line omits it) */
	int with_transcript;            /* write "transcript" (verify --trace, the API's trace=1) */
	const char *transcript;         /* its lines (common/trace.h), NULL: none kept: [] */
};

/* verify_json_write - ROW as one line of JSON on OUT */
void verify_json_write(FILE *out, const struct verify_json_row *row);

/* verify_json_from_store - ROW's fields from an address as the job store holds it (O: a row of
 * a list or an address read alone); O's verdict fields are copied as they are (NULL status: not
 * verified yet: the caller says what to print). The caller fills input, mx_hosts, catch_all,
 * duration and final. Pointers are O's. */
void verify_json_from_store(struct verify_json_row *row, const struct store_row_out *o);

#endif
