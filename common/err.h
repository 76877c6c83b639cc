/*
 * err - error messages into a caller's buffer: the one formatting helper behind every
 * "fill ERR (ERRLEN bytes) with a message naming the file, line, host or address" contract.
 * A NULL buffer or a zero size is allowed (the message is dropped); a long message is cut
 * to fit and always NUL-terminated.
 */
#ifndef MAILSIFT_ERR_H
#define MAILSIFT_ERR_H

#include <stdarg.h>
#include <stddef.h>

/* err_set - printf FMT into ERR (N bytes), when ERR is not NULL and N > 0 */
void err_set(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* err_vset - err_set with a va_list, for a module's own printf-like wrappers */
void err_vset(char *err, size_t n, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

#endif
