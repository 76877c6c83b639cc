/*
 * test_trace - common/trace.c: event lines, escaping (a reply cannot forge a line or break the
 * JSON), the bounds (per event, per transcript, the reserve for ending events, the cut line),
 * truncation, clipping and both renderings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/trace.h"
#include "tests/check.h"

/* json_of / text_of - a rendering of TEXT as a string (malloc'd) */
static char *json_of(const char *text)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	trace_write_json(f, text);
	fclose(f);
	return buf;
}

static char *text_of(const char *text)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	trace_write_text(f, text, "  ");
	fclose(f);
	return buf;
}

static size_t lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_events(void)
{
	struct trace *t = trace_new(8192, 100.0);

	trace_add(t, 100.0125, "C", "EHLO %s", "probe.example");
	trace_add_bytes(t, 100.5, "S", "250-mx.example\r", 15);
	trace_add(t, 101.0, "end", "ok");
	CHECK_STR(t->buf, "12.50 C EHLO probe.example\n500.00 S 250-mx.example\\x0d\n1000.00 end ok\n",
	          "lines");
	char *j = json_of(t->buf);
	CHECK_STR(j,
	          "[{\"ms\":12.50,\"type\":\"C\",\"text\":\"EHLO probe.example\"},"
	          "{\"ms\":500.00,\"type\":\"S\",\"text\":\"250-mx.example\\\\x0d\"},"
	          "{\"ms\":1000.00,\"type\":\"end\",\"text\":\"ok\"}]",
	          "json");
	free(j);
	char *x = text_of(t->buf);
	CHECK_STR(x,
	          "       12.50 ms  C: EHLO probe.example\n"
	          "      500.00 ms  S: 250-mx.example\\x0d\n"
	          "     1000.00 ms  -- end: ok\n",
	          "text");
	free(x);
	trace_free(t);
}

/* A reply line with a newline, a quote, NUL, invalid UTF-8 and valid UTF-8 stays one line. */
static void test_escaping(void)
{
	static const char hostile[] = "550 x\n{\"forged\": 1}\0\xff\xc3\xa9\\";
	struct trace *t = trace_new(8192, 0);

	trace_add_bytes(t, 0, "S", hostile, sizeof hostile - 1);
	CHECK_STR(t->buf, "0.00 S 550 x\\x0a{\"forged\": 1}\\x00\\xff\xc3\xa9\\\\\n", "escaped");
	CHECK(lines(t->buf) == 1, "one line: %zu", lines(t->buf));
	char *j = json_of(t->buf);
	CHECK_STR(j, "[{\"ms\":0.00,\"type\":\"S\",\"text\":\"550 x\\\\x0a{\\\"forged\\\": 1}"
	             "\\\\x00\\\\xff\xc3\xa9\\\\\\\\\"}]",
	          "json of a hostile line");
	free(j);
	/* stored text read back (the job store's) may hold anything: still valid JSON */
	j = json_of("nan a\"b x\n");
	CHECK_STR(j, "[{\"ms\":0.00,\"type\":\"a\\\"b\",\"text\":\"x\"}]", "json of a damaged line");
	free(j);
	trace_free(t);
}

/* One event's text is cut at TRACE_EVENT_MAX, saying how much was left out. */
static void test_event_bound(void)
{
	size_t n = 1 << 20;
	char *big = malloc(n);
	struct trace *t = trace_new(8192, 0);

	memset(big, 'a', n);
	trace_add_bytes(t, 0, "S", big, n);
	CHECK(t->len < TRACE_EVENT_MAX + 64, "one event bounded: %zu bytes", t->len);
	char want[64];
	snprintf(want, sizeof want, " ...(+%zu bytes)\n", n - TRACE_EVENT_MAX);
	CHECK(strstr(t->buf, want) != NULL, "says what was cut: %s", t->buf + t->len - 30);
	free(big);
	trace_free(t);
}

/* A transcript stays within its capacity; ordinary events past it are counted on one cut
 * line; ending events still fit in the reserve. */
static void test_transcript_bound(void)
{
	struct trace *t = trace_new(4096, 0);

	for (int i = 0; i < 10000; i++)
		trace_add(t, i / 1000.0, "S", "250-line %d of an endless reply", i);
	trace_add(t, 10.0, "end", "protocol: endless reply");
	CHECK(t->len <= 4096, "bounded: %zu", t->len);
	CHECK(strstr(t->buf, "250-line 0 of") != NULL, "the first lines kept");
	CHECK(strstr(t->buf, "end protocol: endless reply\n") != NULL, "the end kept: %s",
	      t->buf + t->len - 60);
	const char *cut = strstr(t->buf, " cut ");
	CHECK(cut != NULL && strtoul(cut + 5, NULL, 10) == t->cut && t->cut > 9000,
	      "cut line counts %zu", t->cut);
	char *x = text_of(t->buf);
	char want[64];
	snprintf(want, sizeof want, "-- cut: %zu events left out\n", t->cut);
	CHECK(strstr(x, want) != NULL, "rendered cut");
	free(x);
	trace_free(t);
}

static void test_truncate_append(void)
{
	struct trace *t = trace_new(4096, 0), *u = trace_new(4096, 0);

	trace_add(t, 0, "C", "MAIL FROM:<>");
	size_t mark = t->len;
	trace_add(t, 0, "C", "RCPT TO:<a@b.example>");
	trace_truncate(t, mark);
	CHECK_STR(t->buf, "0.00 C MAIL FROM:<>\n", "truncated");
	trace_add(u, 0, "dns", "MX b.example: 10 mx.b.example");
	trace_merge(u, t->buf, NULL);
	CHECK_STR(u->buf, "0.00 dns MX b.example: 10 mx.b.example\n0.00 C MAIL FROM:<>\n", "appended");
	trace_free(t);
	trace_free(u);
}

static void test_merge(void)
{
	struct trace *t = trace_new(4096, 0);

	trace_merge(t, "1.00 dns MX a\n5.00 catchall probe\n", "2.00 C EHLO x\n5.00 S 250\n6.00 C QUIT\n");
	CHECK_STR(t->buf, "1.00 dns MX a\n2.00 C EHLO x\n5.00 catchall probe\n5.00 S 250\n6.00 C QUIT\n",
	          "in time order, the first's on a tie");
	CHECK(trace_first_ms("2.50 C X\n") == 2.5 && trace_first_ms("") < 0 && trace_first_ms(NULL) < 0,
	      "first ms");
	CHECK(trace_last_ms("2.50 C X\n7.25 S 250 ok\n") == 7.25 && trace_last_ms("3.00 C Y") == 3.0 &&
	              trace_last_ms("") < 0 && trace_last_ms(NULL) < 0,
	      "last ms");
	trace_free(t);
}

static void test_clip(void)
{
	struct trace *t = trace_new(1 << 16, 0);

	for (int i = 0; i < 400; i++)
		trace_add(t, i, "S", "250-reply line number %d", i);
	trace_add(t, 500, "verdict", "unknown / greylisted");
	char *c = trace_clip(t->buf, 4096);
	CHECK(c != NULL && strlen(c) <= 4096, "clipped to %zu", c ? strlen(c) : 0);
	CHECK(c && strncmp(c, "0.00 S 250-reply line number 0\n", 31) == 0, "head kept");
	CHECK(c && strstr(c, "verdict unknown / greylisted\n") != NULL, "tail kept");
	CHECK(c && strstr(c, " cut ") != NULL && lines(c) + strtoul(strstr(c, " cut ") + 5, NULL, 10) ==
	                                                   lines(t->buf) + 1,
	      "every line kept or counted");
	char *same = trace_clip("0.00 C QUIT\n", 4096);
	CHECK_STR(same, "0.00 C QUIT\n", "short unchanged");
	free(same);
	free(c);
	trace_free(t);
}

TESTS(test_events, test_escaping, test_event_bound, test_transcript_bound, test_truncate_append,
      test_merge, test_clip)
