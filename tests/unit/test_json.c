/*
 * test_json - common/json.c: strings as JSON literals (quotes, backslashes, control bytes
 * escaped; valid UTF-8 kept; a broken byte as U+FFFD) and null for a missing value.
 */
#include <stdio.h>
#include <stdlib.h>

#include "common/json.h"
#include "tests/check.h"

/* render - FN's output for S as a string (malloc'd) */
static char *render(void (*fn)(FILE *, const char *), const char *s)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	fn(f, s);
	fclose(f);
	return buf;
}

static void test_string(void)
{
	static const struct {
		const char *in;
		const char *want;
	} rows[] = {
		{"plain", "\"plain\""},
		{"", "\"\""},
		{NULL, "\"\""},
		{"say \"hi\"", "\"say \\\"hi\\\"\""},
		{"back\\slash", "\"back\\\\slash\""},
		{"a\nb\tc\rd", "\"a\\u000ab\\u0009c\\u000dd\""},
		{"\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\""},
		{"/ stays", "\"/ stays\""},
		{"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
		{"bad \xff byte", "\"bad \\ufffd byte\""},
		{"cut \xe2\x82", "\"cut \\ufffd\\ufffd\""},
		{"overlong \xc0\xaf", "\"overlong \\ufffd\\ufffd\""},
		{"lone \x80", "\"lone \\ufffd\""},
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char *got = render(json_put_string, rows[i].in);

		CHECK_STR(got, rows[i].want, rows[i].in ? rows[i].in : "(NULL)");
		free(got);
	}
}

static void test_string_or_null(void)
{
	char *got = render(json_put_string_or_null, NULL);

	CHECK_STR(got, "null", "NULL");
	free(got);
	got = render(json_put_string_or_null, "");
	CHECK_STR(got, "null", "empty");
	free(got);
	got = render(json_put_string_or_null, "x\"");
	CHECK_STR(got, "\"x\\\"\"", "a value");
	free(got);
}

TESTS(test_string, test_string_or_null)
