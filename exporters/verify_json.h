/*
 * verify_json - `mailsift verify`'s output: one JSON object a line per address. The command
 * line fills a row from the address checks and the engine's answer; this module only writes.
 */
#ifndef MAILSIFT_VERIFY_JSON_H
#define MAILSIFT_VERIFY_JSON_H

#include <stddef.h>
#include <stdio.h>

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
};

/* verify_json_write - ROW as one line of JSON on OUT */
void verify_json_write(FILE *out, const struct verify_json_row *row);

#endif
