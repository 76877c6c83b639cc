/*
 * test_err - common/err.c: messages formatted into the caller's buffer, cut to fit, NULL and
 * zero-size buffers allowed.
 */
#include <stdarg.h>
#include <string.h>

#include "common/err.h"
#include "tests/check.h"

/* wrapped - a module's own printf-like helper over err_vset */
static void __attribute__((format(printf, 3, 4))) wrapped(char *b, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(b, n, fmt, ap);
	va_end(ap);
}

static void test_rows(void)
{
	static const struct {
		size_t n;
		const char *want;
	} rows[] = {
		{64, "list.csv:12: bad row 7"},
		{23, "list.csv:12: bad row 7"},
		{22, "list.csv:12: bad row "},
		{9, "list.csv"},
		{1, ""},
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char buf[80], ctx[32];

		memset(buf, '#', sizeof buf);
		snprintf(ctx, sizeof ctx, "size %zu", rows[i].n);
		err_set(buf, rows[i].n, "%s:%d: bad row %d", "list.csv", 12, 7);
		CHECK_STR(buf, rows[i].want, ctx);
		CHECK_INT(buf[rows[i].n], '#', "nothing past the size");
		memset(buf, '#', sizeof buf);
		wrapped(buf, rows[i].n, "%s:%d: bad row %d", "list.csv", 12, 7);
		CHECK_STR(buf, rows[i].want, ctx);
	}
}

static void test_no_buffer(void)
{
	char buf[4] = "abc";

	err_set(NULL, 0, "dropped %d", 1);
	err_set(NULL, 10, "dropped %d", 2);
	err_set(buf, 0, "dropped %d", 3);
	CHECK_STR(buf, "abc", "zero size leaves the buffer alone");
	wrapped(NULL, 10, "dropped %d", 4);
}

TESTS(test_rows, test_no_buffer)
