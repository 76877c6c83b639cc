/*
 * test_csvquote - common/csvquote.c: when a field is quoted, quotes doubled, the edge-space
 * rule of the importers' canonical records, the exporters' ' for formulas, and the size
 * contract (the size needed, nothing written, when the field does not fit).
 */
#include <string.h>

#include "common/csvquote.h"
#include "tests/check.h"

#define E CSVQUOTE_EDGES
#define N CSVQUOTE_NEUTRAL

static const struct {
	const char *in;
	char delim;
	unsigned flags;
	const char *want;
} rows[] = {
	{"plain", ',', E, "plain"},
	{"", ',', E, ""},
	{"a,b", ',', E, "\"a,b\""},
	{"a,b", ';', E, "a,b"},
	{"a;b", ';', E, "\"a;b\""},
	{"a\tb", '\t', E, "\"a\tb\""},
	{"a|b", '|', E, "\"a|b\""},
	{"a\"b", ',', E, "\"a\"\"b\""},
	{"\"", ',', E, "\"\"\"\""},
	{"a\nb", ',', E, "\"a\nb\""},
	{"a\rb", ',', E, "\"a\rb\""},
	{" lead", ',', E, "\" lead\""},
	{"trail ", ',', E, "\"trail \""},
	{"\ttab", ',', E, "\"\ttab\""},
	{"in side", ',', E, "in side"},
	{"=1+2", ',', E, "=1+2"},
	/* the exporters' rule: spaces at the edges stay unquoted */
	{" lead", ',', 0, " lead"},
	{"trail\t", ',', 0, "trail\t"},
	{"a,b", ',', 0, "\"a,b\""},
	{"say \"hi\"", ',', 0, "\"say \"\"hi\"\"\""},
	{"", ',', 0, ""},
	/* neutralized: a ' before the text, inside the quotes when quoted */
	{"=1+2", ',', N, "'=1+2"},
	{"=HYPERLINK(\"x\")", ',', N, "\"'=HYPERLINK(\"\"x\"\")\""},
	{"@a,b", ',', N, "\"'@a,b\""},
	{" =x", ',', N | E, "\"' =x\""},
};

static void test_rows(void)
{
	char out[64];

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		size_t len = strlen(rows[i].in);
		size_t n = csvquote_write(out, sizeof out, rows[i].in, len, rows[i].delim, rows[i].flags);

		out[n < sizeof out ? n : sizeof out - 1] = '\0';
		CHECK_STR(out, rows[i].want, rows[i].in);
		CHECK_INT(n, strlen(rows[i].want), rows[i].in);
		CHECK_INT(csvquote_write(NULL, 0, rows[i].in, len, rows[i].delim, rows[i].flags),
		          strlen(rows[i].want), "size asked with no buffer");
		CHECK_INT(csvquote_needed(rows[i].in, len, rows[i].delim, rows[i].flags),
		          rows[i].want[0] == '"', rows[i].in);
	}
}

/* test_sizes - too small: the size needed and nothing written; an exact fit is written */
static void test_sizes(void)
{
	char out[16];

	memset(out, '#', sizeof out);
	CHECK_INT(csvquote_write(out, 5, "a\"b,c", 5, ',', E), 8, "needed");
	CHECK_INT(out[0], '#', "nothing written when quoting does not fit");
	CHECK_INT(csvquote_write(out, 3, "abcd", 4, ',', E), 4, "needed unquoted");
	CHECK_INT(out[0], '#', "nothing written when plain does not fit");
	CHECK_INT(csvquote_write(out, 4, "=bcd", 4, ',', N), 5, "needed with the '");
	CHECK_INT(out[0], '#', "nothing written when the ' does not fit");
	CHECK_INT(csvquote_write(out, 4, "abcd", 4, ',', E), 4, "exact fit");
	CHECK(memcmp(out, "abcd", 4) == 0, "exact fit written");
	CHECK_INT(csvquote_write(out, 8, "a\"b,c", 5, ',', E), 8, "exact fit quoted");
	CHECK(memcmp(out, "\"a\"\"b,c\"", 8) == 0, "exact fit quoted written");
	CHECK_INT(csvquote_write(NULL, 0, "", 0, ',', E), 0, "empty into nothing");
}

TESTS(test_rows, test_sizes)
