/*
 * trace - transcripts of probes (see trace.h for the format and the bounds).
 */
#include "common/trace.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"

#define TRACE_NO_CUT ((size_t)-1)
#define TRACE_CUT_DIGITS 9          /* the cut line's count, fixed width: updated in place */
#define TRACE_START_BYTES 256       /* first allocation: a domain's part fits; sessions grow */

struct trace *trace_new(size_t cap, double t0)
{
	struct trace *t = calloc(1, sizeof *t);

	if (t == NULL)
		return NULL;
	if (cap < 2 * TRACE_TAIL_RESERVE)
		cap = 2 * TRACE_TAIL_RESERVE;
	t->cap = cap;
	t->cut_at = TRACE_NO_CUT;
	t->t0 = t0;
	return t;
}

void trace_free(struct trace *t)
{
	if (t == NULL)
		return;
	free(t->buf);
	free(t);
}

/* utf8_len - length of the valid UTF-8 sequence at P (N bytes left), or 0 when it is not one */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t k = *p >= 0xf0 && *p <= 0xf4   ? 4
	         : *p >= 0xe0 && *p <= 0xef ? 3
	         : *p >= 0xc2 && *p <= 0xdf ? 2
	                                    : 0;

	if (k > n)
		return 0;
	for (size_t i = 1; i < k; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return k;
}

/* escape - the N bytes at P escaped into OUT (TRACE_EVENT_MAX + 32 bytes), cut at
 * TRACE_EVENT_MAX with a note of the bytes left out; its length */
static size_t escape(const char *p, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)p;
	size_t o = 0, i = 0;

	while (i < n) {
		size_t k = u[i] >= 0x80 ? utf8_len(u + i, n - i) : 0;
		size_t w = u[i] == '\\' ? 2 : (u[i] >= 0x20 && u[i] < 0x7f) ? 1 : k ? k : 4;

		if (o + w > TRACE_EVENT_MAX)
			break;
		if (u[i] == '\\') {
			out[o++] = '\\';
			out[o++] = '\\';
		} else if (w == 4) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[u[i] >> 4];
			out[o++] = hex[u[i] & 15];
		} else {
			memcpy(out + o, u + i, w);
			o += w;
			i += w;
			continue;
		}
		i++;
	}
	if (i < n)
		o += (size_t)snprintf(out + o, 32, " ...(+%zu bytes)", n - i);
	return o;
}

/* ends_transcript - TYPE (N bytes) is one of the events that end a transcript: they may use
 * the reserve */
static int ends_transcript(const char *type, size_t n)
{
	static const char *const ending[] = {"end", "rule", "verdict", "retry", "attempt"};

	for (size_t i = 0; i < sizeof ending / sizeof ending[0]; i++)
		if (strlen(ending[i]) == n && memcmp(ending[i], type, n) == 0)
			return 1;
	return 0;
}

/* room - make room for N more bytes and a NUL (within cap): 0, or -1 when out of memory */
static int room(struct trace *t, size_t n)
{
	size_t want = t->len + n + 1, size = TRACE_START_BYTES;
	char *b;

	if (want <= t->size)
		return 0;
	while (size < want)
		size *= 2;
	if (size > t->cap + 1)
		size = t->cap + 1;
	if (size < want || (b = realloc(t->buf, size)) == NULL)
		return -1;
	t->buf = b;
	t->size = size;
	return 0;
}

/* note_cut - one more event left out at MS: counted on the cut line (written the first time) */
static void note_cut(struct trace *t, double ms)
{
	char line[64];
	int n;

	if (t->cut_at == TRACE_NO_CUT) {
		n = snprintf(line, sizeof line, "%.2f cut %0*d events left out\n", ms, TRACE_CUT_DIGITS,
		             0);
		if (n < 0 || t->len + (size_t)n > t->cap || room(t, (size_t)n) < 0)
			return;
		t->cut_at = t->len;
		memcpy(t->buf + t->len, line, (size_t)n + 1);
		t->len += (size_t)n;
	}
	t->cut++;
	char *digits = strstr(t->buf + t->cut_at, " cut ") + 5;
	char num[TRACE_CUT_DIGITS + 2];
	snprintf(num, sizeof num, "%0*zu", TRACE_CUT_DIGITS, t->cut % 1000000000u);
	memcpy(digits, num, TRACE_CUT_DIGITS);
}

/* line_type - the type word of LINE ("MS TYPE TEXT"): its start into *TYPE, its length */
static size_t line_type(const char *line, const char **type)
{
	const char *sp = strchr(line, ' ');
	size_t n = 0;

	*type = sp ? sp + 1 : line + strlen(line);
	while ((*type)[n] != '\0' && (*type)[n] != ' ' && (*type)[n] != '\n')
		n++;
	return n;
}

/* append_one - the line at P (N bytes, its newline included when it has one), as it is */
static void append_one(struct trace *t, const char *p, size_t n)
{
	const char *type;
	size_t tn = line_type(p, &type);
	size_t limit = ends_transcript(type, tn) ? t->cap : t->cap - TRACE_TAIL_RESERVE;

	if (t->len + n + 1 > limit || room(t, n + 2) < 0) {
		note_cut(t, strtod(p, NULL));
		return;
	}
	memcpy(t->buf + t->len, p, n);
	t->len += n;
	if (t->buf[t->len - 1] != '\n')
		t->buf[t->len++] = '\n';
	t->buf[t->len] = '\0';
}

/* line_len - the length of the line at P, its newline included */
static size_t line_len(const char *p)
{
	const char *nl = strchr(p, '\n');

	return nl ? (size_t)(nl - p) + 1 : strlen(p);
}

/* add_line - the event line "MS TYPE TEXT" (TEXT escaped already, N bytes) */
static void add_line(struct trace *t, double now, const char *type, const char *text, size_t n)
{
	double ms = (now - t->t0) * 1000.0;
	char line[64 + TRACE_EVENT_MAX + 32];
	int hl = snprintf(line, 64, "%.2f %s ", ms < 0 ? 0 : ms, type);

	memcpy(line + hl, text, n);
	line[(size_t)hl + n] = '\n';
	line[(size_t)hl + n + 1] = '\0';
	append_one(t, line, (size_t)hl + n + 1);
}

void trace_add(struct trace *t, double now, const char *type, const char *fmt, ...)
{
	char raw[TRACE_EVENT_MAX * 2], esc[TRACE_EVENT_MAX + 32];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t len = escape(raw, (size_t)n < sizeof raw ? (size_t)n : sizeof raw - 1, esc);
	add_line(t, now, type, esc, len);
}

void trace_add_bytes(struct trace *t, double now, const char *type, const char *p, size_t n)
{
	char esc[TRACE_EVENT_MAX + 32];
	size_t len = escape(p, n, esc);

	add_line(t, now, type, esc, len);
}

void trace_merge(struct trace *t, const char *a, const char *b)
{
	a = a ? a : "";
	b = b ? b : "";
	while (*a || *b) {
		const char **p = *a && (!*b || strtod(a, NULL) <= strtod(b, NULL)) ? &a : &b;
		size_t n = line_len(*p);
		append_one(t, *p, n);
		*p += n;
	}
}

double trace_first_ms(const char *text)
{
	return text && *text ? strtod(text, NULL) : -1;
}

double trace_last_ms(const char *text)
{
	size_t n = text ? strlen(text) : 0;

	if (n == 0)
		return -1;
	if (text[n - 1] == '\n')
		n--;
	while (n > 0 && text[n - 1] != '\n')
		n--;
	return strtod(text + n, NULL);
}

void trace_truncate(struct trace *t, size_t len)
{
	if (len >= t->len)
		return;
	t->len = len;
	t->buf[len] = '\0';
	if (t->cut_at != TRACE_NO_CUT && t->cut_at >= len) {
		t->cut_at = TRACE_NO_CUT;
		t->cut = 0;
	}
}

char *trace_clip(const char *text, size_t cap)
{
	size_t len = strlen(text), head = 0, tail = len, cut = 0;
	char *out;

	if (len <= cap)
		return strdup(text);
	/* the first lines up to half, the last lines up to the rest */
	for (const char *nl; (nl = strchr(text + head, '\n')) != NULL &&
	                     (size_t)(nl - text) + 1 <= cap / 2;)
		head = (size_t)(nl - text) + 1;
	while (tail > head) {
		size_t start = tail - 1; /* tail - 1 is the '\n' ending the line before tail */
		while (start > head && text[start - 1] != '\n')
			start--;
		if (len - start + head + 64 > cap)
			break;
		tail = start;
	}
	for (size_t i = head; i < tail; i++)
		cut += text[i] == '\n';
	if ((out = malloc(head + (len - tail) + 64)) == NULL)
		return NULL;
	memcpy(out, text, head);
	/* the cut line takes the time of the first event left out */
	int n = snprintf(out + head, 64, "%.2f cut %0*zu events left out\n", strtod(text + head, NULL),
	                 TRACE_CUT_DIGITS, cut);
	memcpy(out + head + (size_t)n, text + tail, len - tail + 1);
	return out;
}

/* trace_line - LINE parsed: ms, type (*TN bytes) and text (*XN bytes, up to the newline); the
 * next line */
static const char *trace_line(const char *line, double *ms, const char **type, size_t *tn,
                              const char **text, size_t *xn)
{
	const char *nl = strchr(line, '\n');
	const char *end = nl ? nl : line + strlen(line);

	*ms = strtod(line, NULL);
	*tn = line_type(line, type);
	*text = *type + *tn;
	if (*text < end && **text == ' ')
		(*text)++;
	if (*text > end)
		*text = end;
	*xn = (size_t)(end - *text);
	return nl ? nl + 1 : end;
}

/* cut_count - the number a cut line's text starts with, without its leading zeros */
static unsigned long cut_count(const char *text)
{
	return strtoul(text, NULL, 10);
}

void trace_write_json(FILE *f, const char *text)
{
	const char *p = text ? text : "";
	int first = 1;

	fputc('[', f);
	while (*p) {
		double ms;
		const char *type, *tx;
		size_t tn, xn;
		char buf[TRACE_EVENT_MAX + 64];

		p = trace_line(p, &ms, &type, &tn, &tx, &xn);
		fprintf(f, "%s{\"ms\":%.2f,\"type\":", first ? "" : ",", isfinite(ms) ? ms : 0.0);
		snprintf(buf, sizeof buf, "%.*s", (int)(tn < sizeof buf ? tn : sizeof buf - 1), type);
		json_put_string(f, buf); /* ours are one word; stored text may hold anything */
		fputs(",\"text\":", f);
		if (tn == 3 && memcmp(type, "cut", 3) == 0)
			snprintf(buf, sizeof buf, "%lu events left out", cut_count(tx));
		else
			snprintf(buf, sizeof buf, "%.*s", (int)(xn < sizeof buf ? xn : sizeof buf - 1), tx);
		json_put_string(f, buf);
		fputc('}', f);
		first = 0;
	}
	fputc(']', f);
}

void trace_write_text(FILE *f, const char *text, const char *indent)
{
	const char *p = text ? text : "";

	while (*p) {
		double ms;
		const char *type, *tx;
		size_t tn, xn;

		p = trace_line(p, &ms, &type, &tn, &tx, &xn);
		if (tn == 1 && (*type == 'C' || *type == 'S'))
			fprintf(f, "%s%10.2f ms  %c: %.*s\n", indent, ms, *type, (int)xn, tx);
		else if (tn == 3 && memcmp(type, "cut", 3) == 0)
			fprintf(f, "%s%10.2f ms  -- cut: %lu events left out\n", indent, ms, cut_count(tx));
		else
			fprintf(f, "%s%10.2f ms  -- %.*s: %.*s\n", indent, ms, (int)tn, type, (int)xn, tx);
	}
}
