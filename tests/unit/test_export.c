/*
 * test_export - spreadsheet formula neutralization rules, table-driven.
 */
#include "exporters/export.h"
#include "tests/check.h"

static const struct {
	const char *cell;
	int want;
} cases[] = {
	{"=1+2", 1},
	{"=HYPERLINK(\"http://x\")", 1},
	{"@SUM(A1)", 1},
	{"+cmd|' /C calc'!A0", 1},
	{"-2+3", 1},
	{"+", 1},
	{"-", 1},
	{"\tx", 1},
	{"\rx", 1},
	{"-12.5", 0},
	{"+33", 0},
	{"42", 0},
	{"john@example.com", 0},
	{"a=b", 0},
	{"", 0},
	{" =1", 0},
	{"Acme, Inc", 0},
};

static void test_neutralize_table(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		CHECK(export_neutralize_needed(cases[i].cell, strlen(cases[i].cell)) == cases[i].want,
		      "cell \"%s\": want %d", cases[i].cell, cases[i].want);
}

TESTS(test_neutralize_table)
