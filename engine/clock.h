/*
 * clock - the engine's one monotonic clock, in seconds (deadlines, rates, pauses, progress).
 */
#ifndef MAILSIFT_CLOCK_H
#define MAILSIFT_CLOCK_H

#include <time.h>

static inline double clock_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
