/*
 * instream - the bytes of one input: a file or stdin ("-"), gunzipped when it starts with the
 * gzip magic bytes (1f 8b), including multi-member gzip (concatenated .gz files).
 *
 * It owns the file descriptor and the zlib state; it never interprets the bytes. Errors (an
 * unreadable file, a truncated or corrupt gzip stream) are reported with the input's name and
 * the byte offset in the compressed file where the damage was found; every byte decoded before
 * the damage has already been handed out, so a caller keeps the rows before it.
 * Memory is a fixed input buffer plus zlib's window, whatever the size of the input.
 */
#ifndef MAILSIFT_INSTREAM_H
#define MAILSIFT_INSTREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct instream;

/* instream_open - open PATH ("-" is stdin); NULL with a message in err on failure */
struct instream *instream_open(const char *path, char *err, size_t errlen);

/* instream_read - up to n (> 0) decoded bytes; returns the count, 0 at the end, -1 with err
 * filled (and -1 again on every later call). May return fewer than n before the end: for a
 * pipe it returns what it has rather than wait. */
ssize_t instream_read(struct instream *in, void *buf, size_t n, char *err, size_t errlen);

/* instream_name - the name used in messages ("stdin" for "-") */
const char *instream_name(const struct instream *in);

/* instream_is_gzip - 1 when the input is gzip-compressed */
int instream_is_gzip(const struct instream *in);

/* instream_raw_offset - bytes of the underlying file consumed so far (compressed bytes for gzip) */
uint64_t instream_raw_offset(const struct instream *in);

/* instream_raw_size - size of the underlying file, 0 when unknown (a pipe, stdin) */
uint64_t instream_raw_size(const struct instream *in);

/* instream_close - release everything; NULL is allowed */
void instream_close(struct instream *in);

#endif
