/*
 * instream - the bytes of one input: a file or stdin ("-"), gunzipped when it starts with the
 * gzip magic bytes (1f 8b), including multi-member gzip (concatenated .gz files).
 *
 * It owns the file descriptor and the zlib state; it never interprets the bytes. Errors (an
 * unreadable file, a truncated or corrupt gzip stream) are reported with the input's name and
 * the byte offset in the compressed file where the damage was found; every byte decoded before
 * the damage has already been handed out, so a caller keeps the rows before it.
 * Memory is a fixed input buffer plus zlib's window, whatever the size of the input.
 *
 * Every raw byte read (compressed bytes for gzip) goes through a running SHA-256: what a list's
 * bytes were is how a rerun knows it (a resumed import must read the same bytes first).
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

#define INSTREAM_DIGEST_LEN 32 /* SHA-256 */

/* instream_digest - SHA-256 of the raw bytes read so far into OUT; returns how many there were.
 * The bytes read by instream_open count from the first instream_read (or this call) on. */
uint64_t instream_digest(struct instream *in, unsigned char out[INSTREAM_DIGEST_LEN]);

/* instream_expect_prefix - the first LEN raw bytes must hash to DIGEST (the bytes an
 * interrupted import of the same list read); call before the first instream_read */
void instream_expect_prefix(struct instream *in, uint64_t len,
                            const unsigned char digest[INSTREAM_DIGEST_LEN]);

/* instream_prefix_state - 1 the expected prefix was read and matched (or none was expected),
 * 0 not all of it read yet, -1 the input differs (or ended before it) */
int instream_prefix_state(const struct instream *in);

/* instream_hash_rest - read (and hash) the rest of the raw input without decoding it, so that
 * the digest covers the whole file (after damage stopped decoding); 0 ok, -1 read error */
int instream_hash_rest(struct instream *in);

/* instream_close - release everything; NULL is allowed */
void instream_close(struct instream *in);

#endif
