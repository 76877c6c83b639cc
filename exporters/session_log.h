/*
 * session_log - `--session-log FILE`: one JSON object a line per SMTP session a run made, for
 * operators (which hosts push back, and why). The format is fixed and documented in the
 * README ("Session log"): time (UTC, the session's start), source, mx_host, mx_ip, tls, rcpts,
 * outcome, end, code, enhanced, text (the reply that ended it, or the last), seconds, reply_ms.
 * The file holds customers' addresses' hosts and replies: created 0600, opened for appending,
 * refused when it is a symbolic link (a pipe or a device such as /dev/stdout's target is
 * taken as given).
 */
#ifndef MAILSIFT_SESSION_LOG_H
#define MAILSIFT_SESSION_LOG_H

#include <stddef.h>
#include <stdio.h>

#include "schema/store.h"

/* session_log_open - PATH opened for appending (created 0600); NULL with a message in ERR */
FILE *session_log_open(const char *path, char *err, size_t errlen);

/* session_log_write - SS as one line, flushed (one write: lines of concurrent writers do not
 * mix); 0, or -1 with errno when it could not be written */
int session_log_write(FILE *f, const struct store_session *ss);

#endif
