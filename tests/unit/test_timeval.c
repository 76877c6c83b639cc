/*
 * test_timeval - common/timeval.c: seconds to struct timeval, the fraction in microseconds.
 */
#include "common/timeval.h"
#include "tests/check.h"

static void test_rows(void)
{
	static const struct {
		double secs;
		long sec, usec;
	} rows[] = {
		{0, 0, 0},       {0.02, 0, 20000},    {0.5, 0, 500000},  {1, 1, 0},
		{1.25, 1, 250000}, {15, 15, 0},       {30.75, 30, 750000}, {3600.5, 3600, 500000},
		{0.000001, 0, 1}, {2.9999999, 2, 999999},
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct timeval tv = timeval_from_secs(rows[i].secs);
		char ctx[64];

		snprintf(ctx, sizeof ctx, "%.7f s", rows[i].secs);
		CHECK_INT(tv.tv_sec, rows[i].sec, ctx);
		/* binary fractions: within a microsecond of the decimal one */
		CHECK(tv.tv_usec >= rows[i].usec - 1 && tv.tv_usec <= rows[i].usec, "%s: usec %ld", ctx,
		      (long)tv.tv_usec);
		CHECK(tv.tv_usec >= 0 && tv.tv_usec < 1000000, "%s: usec in range", ctx);
	}
}

TESTS(test_rows)
