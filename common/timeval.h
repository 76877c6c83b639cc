/*
 * timeval - seconds as a double to the struct timeval libevent timers take. The one place
 * that splits seconds into whole seconds and microseconds.
 */
#ifndef MAILSIFT_TIMEVAL_H
#define MAILSIFT_TIMEVAL_H

#include <sys/time.h>

/* timeval_from_secs - SECS (>= 0) as a timeval, the fraction truncated to microseconds */
struct timeval timeval_from_secs(double secs);

#endif
