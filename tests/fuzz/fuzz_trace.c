/*
 * fuzz_trace - libFuzzer target for the transcript recorder and its readers (common/trace.h):
 * the input's lines are recorded as reply lines (any byte, as a server sends them) into a small
 * transcript, which is clipped and rendered; the input itself is also read as stored
 * transcript text (the job store's, which `explain` and exports render). Aborts when a recorded
 * transcript holds a control byte other than its newlines, outgrows its bound, or when a
 * rendering of it does not have one JSON object per event. Memory errors are the sanitizers'.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/trace.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_TRACE_CAP 4096 /* a small transcript: the bound is reached often */

/* count - occurrences of C in the N bytes at P */
static size_t count(const char *p, size_t n, char c)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += p[i] == c;
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct trace *t = trace_new(FUZZ_TRACE_CAP, 0);
	char *text, *buf = NULL, *clip;
	size_t len = 0;
	FILE *f;

	if (t == NULL)
		return 0;
	while (p < end) { /* one event per input line, the newline not included */
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		trace_add_bytes(t, (double)n / 1000.0, (n & 1) ? "S" : "end", p, n);
		p += n + (nl != NULL);
	}
	FUZZ_ASSERT(t->len <= FUZZ_TRACE_CAP);
	text = t->buf ? t->buf : "";
	for (const char *q = text; *q; q++)
		FUZZ_ASSERT(*q == '\n' || (unsigned char)*q >= 0x20);
	clip = trace_clip(text, FUZZ_TRACE_CAP / 2);
	FUZZ_ASSERT(clip != NULL && strlen(clip) <= FUZZ_TRACE_CAP / 2 + 64);
	/* one {"ms": ...} object per event line */
	f = open_memstream(&buf, &len);
	trace_write_json(f, text);
	fclose(f);
	FUZZ_ASSERT(count(buf, len, '{') >= count(text, strlen(text), '\n'));
	free(buf);
	buf = NULL;
	/* the input read as stored text: whatever it holds, rendering stays in bounds */
	char *stored = malloc(size + 1);
	if (stored) {
		memcpy(stored, data, size);
		stored[size] = '\0';
		f = open_memstream(&buf, &len);
		trace_write_json(f, stored);
		trace_write_text(f, stored, "  ");
		trace_write_text(f, clip, "");
		fclose(f);
		free(buf);
		free(stored);
	}
	free(clip);
	trace_free(t);
	return 0;
}
