/*
 * clock - mailsift's one monotonic clock, in seconds: deadlines, rates, pauses, progress,
 * import batch timing and durations in reports. Never the wall clock (time(2) is for dates
 * written to the job store and reports), so a clock step never stretches or shrinks a wait.
 */
#ifndef MAILSIFT_COMMON_CLOCK_H
#define MAILSIFT_COMMON_CLOCK_H

/* clock_now - seconds on CLOCK_MONOTONIC (an arbitrary origin: only differences mean anything) */
double clock_now(void);

#endif
