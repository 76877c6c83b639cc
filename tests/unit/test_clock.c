/*
 * test_clock - common/clock.c: seconds, monotonic, and a sleep measured as its length.
 */
#include <time.h>

#include "common/clock.h"
#include "tests/check.h"

static void test_monotonic(void)
{
	double prev = clock_now();

	for (int i = 0; i < 100000; i++) {
		double now = clock_now();

		if (now < prev) {
			CHECK(now >= prev, "went back: %f after %f", now, prev);
			break;
		}
		prev = now;
	}
}

/* test_seconds - a 50 ms sleep reads as 0.05 s (not ms, not ns), on the monotonic clock */
static void test_seconds(void)
{
	struct timespec nap = {0, 50 * 1000 * 1000}, mono;
	double t0 = clock_now(), dt;

	nanosleep(&nap, NULL);
	dt = clock_now() - t0;
	CHECK(dt >= 0.049 && dt < 1.0, "50 ms sleep measured as %f s", dt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	dt = (double)mono.tv_sec + (double)mono.tv_nsec / 1e9 - clock_now();
	CHECK(dt > -1.0 && dt <= 0.0, "CLOCK_MONOTONIC, off by %f s", dt);
}

TESTS(test_monotonic, test_seconds)
