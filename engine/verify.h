/*
 * verify - `mailsift verify ADDRESS...`: check addresses now, on one event loop, and print one
 * JSON object per address (in the order given) on OUT. Syntax and flags come from the importer's
 * checks; DNS, sessions, catch-all probes and host politeness from the scheduler (sched, as for
 * `mailsift run`); the verdict from decide. Temporary answers (greylisting) are retried after
 * the configured delays from the same source and MAIL FROM, up to max_attempts.
 */
#ifndef MAILSIFT_VERIFY_H
#define MAILSIFT_VERIFY_H

#include <stdio.h>

#include "engine/config.h"

/* verify_run - 0 when every address got a verdict (whatever it is), -1 with err on a setup
 * failure (resolver, event loop) */
int verify_run(const struct probe_config *c, char *const *addresses, int n, FILE *out, char *err,
               size_t errlen);

#endif
