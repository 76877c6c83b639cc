/*
 * trace - the transcript of a probe: every step in order, as text lines
 *
 *     MS TYPE TEXT\n
 *
 * MS: milliseconds from the transcript's clock origin, two decimals; TYPE: one word (dns,
 * connect, C, S, tls, rule, end, retry, verdict, attempt, note, cut); TEXT: escaped as it is
 * recorded (a byte that is not printable ASCII or part of valid UTF-8 becomes \xHH, a
 * backslash \\), so it holds no newline and no control byte: a line is one event, and what a
 * server sends can neither forge an event nor break the JSON it is rendered into.
 *
 * One recorder for the SMTP session state machine and the scheduler (engine/smtp.c,
 * engine/sched*.c); `verify --trace`, the transcripts kept in the job store, `explain`, the
 * exports' mailsift_trace column and the HTTP API all read its text. Nothing formats or
 * allocates when tracing is off: the callers hold a NULL struct trace * and test it first.
 *
 * Bounded: one event's text is cut at TRACE_EVENT_MAX bytes (saying how much was cut); a
 * transcript holds at most its capacity: once its ordinary events reach the capacity less
 * TRACE_TAIL_RESERVE, further ones are left out and counted on one "cut" line, while the
 * events that end a transcript (end, rule, verdict, retry) still go in the reserve.
 */
#ifndef MAILSIFT_COMMON_TRACE_H
#define MAILSIFT_COMMON_TRACE_H

#include <stddef.h>
#include <stdio.h>

#define TRACE_EVENT_MAX 512        /* bytes of one event's (escaped) text */
#define TRACE_TAIL_RESERVE 1024    /* bytes kept for the events that end a transcript */

struct trace {
	char *buf;          /* the lines, NUL-terminated */
	size_t len;         /* bytes used */
	size_t size;        /* bytes allocated (it grows as needed, up to cap + 1) */
	size_t cap;         /* the most it may hold */
	size_t cut_at;      /* offset of the "cut" line, or (size_t)-1 when nothing was cut */
	size_t cut;         /* events left out */
	double t0;          /* clock origin (clock_now() seconds) */
};

/* trace_new - an empty transcript of at most CAP bytes (>= 2 * TRACE_TAIL_RESERVE), times
 * counted from T0 (clock_now() seconds); NULL when out of memory */
struct trace *trace_new(size_t cap, double t0);

void trace_free(struct trace *t);

/* trace_add - one event of TYPE at NOW (clock_now() seconds), its text formatted and escaped */
void trace_add(struct trace *t, double now, const char *type, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* trace_add_bytes - one event of TYPE at NOW whose text is the N bytes at P, escaped (any
 * byte: what a server sent) */
void trace_add_bytes(struct trace *t, double now, const char *type, const char *p, size_t n);

/* trace_merge - the lines of A and of B (other transcripts', escaped; either may be NULL)
 * appended in the order of their times (each is in order already; A's first on a tie), within
 * the bound (lines that do not fit are counted as cut) */
void trace_merge(struct trace *t, const char *a, const char *b);

/* trace_first_ms, trace_last_ms - the time of TEXT's first (last) event, -1 when it has none */
double trace_first_ms(const char *text);
double trace_last_ms(const char *text);

/* trace_truncate - forget everything after the first LEN bytes (LEN <= t->len) */
void trace_truncate(struct trace *t, size_t len);

/* trace_clip - TEXT cut to at most about CAP bytes at line boundaries: its first lines and its
 * last lines, with a "cut" line saying how many events were left out between (malloc'd; NULL
 * when out of memory) */
char *trace_clip(const char *text, size_t cap);

/* trace_write_json - TEXT as a JSON array of {"ms": N, "type": "...", "text": "..."} */
void trace_write_json(FILE *f, const char *text);

/* trace_write_text - TEXT as a readable dialogue, one event per line, each indented by INDENT:
 * "  12.50 ms  C: RCPT TO:<a@b.example>", "  13.02 ms  S: 250 2.1.5 Ok",
 * "  10.10 ms  -- dns: ..." */
void trace_write_text(FILE *f, const char *text, const char *indent);

#endif
