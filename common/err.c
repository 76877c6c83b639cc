/*
 * err - error messages into a caller's buffer (see err.h).
 */
#include "common/err.h"

#include <stdio.h>

void err_vset(char *err, size_t n, const char *fmt, va_list ap)
{
	if (err == NULL || n == 0)
		return;
	vsnprintf(err, n, fmt, ap);
}

void err_set(char *err, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(err, n, fmt, ap);
	va_end(ap);
}
