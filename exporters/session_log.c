/*
 * session_log - the session log's lines (see session_log.h).
 */
#include "exporters/session_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/json.h"

#define SESSION_LOG_LINE_MAX 4096   /* stdio buffer: a line (texts are bounded) fits whole */

FILE *session_log_open(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	struct stat st;
	FILE *f;

	if (fd < 0) {
		err_set(err, errlen, "session log %s: %s", path,
		        errno == ELOOP ? "is a symbolic link: refused" : strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
		err_set(err, errlen, "session log %s: a directory: refused", path);
		close(fd);
		return NULL;
	}
	if ((f = fdopen(fd, "a")) == NULL) {
		err_set(err, errlen, "session log %s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	setvbuf(f, NULL, _IOFBF, SESSION_LOG_LINE_MAX);
	return f;
}

int session_log_write(FILE *f, const struct store_session *ss)
{
	char when[32];
	time_t t = (time_t)ss->at;
	struct tm tm;

	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	fprintf(f, "{\"time\": \"%s\", \"source\": ", when);
	json_put_string(f, ss->source);
	fputs(", \"mx_host\": ", f);
	json_put_string(f, ss->mx_host);
	fputs(", \"mx_ip\": ", f);
	json_put_string(f, ss->mx_ip);
	fprintf(f, ", \"tls\": %s, \"rcpts\": %d, \"outcome\": \"%s\", \"end\": \"%s\", \"code\": ",
	        ss->tls ? "true" : "false", ss->rcpts, ss->outcome, ss->smtp_end);
	if (ss->code > 0)
		fprintf(f, "%d", ss->code);
	else
		fputs("null", f);
	fputs(", \"enhanced\": ", f);
	json_put_string_or_null(f, ss->enhanced);
	fputs(", \"text\": ", f);
	json_put_string_or_null(f, ss->text);
	fprintf(f, ", \"seconds\": %.3f, \"reply_ms\": %.1f}\n", ss->seconds, ss->reply_ms);
	if (fflush(f) != 0 || ferror(f)) {
		if (errno == 0)
			errno = EIO;
		return -1;
	}
	return 0;
}
