/*
 * clock - moved to common/clock.h; this header only forwards to it for the files that still
 * include it by its old name (engine/sched.c, run.c, progress.c, cli.c, verify.c).
 */
#ifndef MAILSIFT_CLOCK_H
#define MAILSIFT_CLOCK_H

#include "common/clock.h"

#endif
