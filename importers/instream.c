/*
 * instream - the bytes of one input list: a file or stdin, passed through as is, or gunzipped
 * with zlib when the first two bytes are the gzip magic (1f 8b).
 *
 * It owns the file descriptor (except stdin's, which it never closes), one fixed input buffer
 * and the zlib state; memory does not depend on the input's size. It never interprets the
 * decoded bytes and never seeks, so a pipe works like a file. Gzip input may hold several
 * members (concatenated .gz files) and may end with zero padding; anything else after the last
 * member, a stream that ends early or one zlib rejects is an error that names the input and the
 * compressed byte offset. Decoded bytes that came before the damage are handed out first: the
 * error is kept and returned by the next call (and every call after it).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "common/err.h"
#include "importers/instream.h"

/* Compressed bytes read per read(2): large enough that a 100 MB .gz costs a few hundred calls,
 * small enough to be a fixed cost. Plain input is read straight into the caller's buffer. */
#define INSTREAM_INBUF_SIZE (256 * 1024)

#define INSTREAM_ERR_SIZE 512  /* a kept error: the name plus a short zlib message */

enum instream_state {
	INSTREAM_PLAIN,         /* pass-through */
	INSTREAM_GZ_MEMBER,     /* inside a gzip member, inflating */
	INSTREAM_GZ_BETWEEN,    /* a member ended: padding, another member, or the end follows */
	INSTREAM_DONE,          /* everything has been handed out */
	INSTREAM_FAILED         /* err holds the message, returned by every read from now on */
};

struct instream {
	int fd;                 /* the input; 0 for stdin */
	int own_fd;             /* close fd at the end (not for stdin) */
	char *name;             /* for messages: the path, or "stdin" */
	int gzip;               /* started with the gzip magic */
	enum instream_state state;
	unsigned char *inbuf;   /* INSTREAM_INBUF_SIZE raw bytes */
	size_t inpos, inlen;    /* plain: unread bytes of inbuf are [inpos, inlen) */
	int raw_eof;            /* read(2) returned 0 */
	uint64_t raw_read;      /* raw bytes read(2) from fd so far */
	uint64_t raw_size;      /* size of a regular file (from its start offset), else 0 */
	z_stream z;             /* gzip: next_in/avail_in point into inbuf */
	int z_ready;            /* inflateInit2 succeeded: inflateEnd is due */
	EVP_MD_CTX *md;         /* SHA-256 of the raw bytes read */
	uint64_t hashed;        /* raw bytes hashed so far */
	int opening;            /* inside instream_open: bytes read are hashed later */
	size_t unhashed_open;   /* bytes read by instream_open, at the start of inbuf */
	uint64_t expect_len;    /* instream_expect_prefix: bytes to compare */
	unsigned char expect[INSTREAM_DIGEST_LEN];
	int prefix_state;       /* see instream_prefix_state */
	char err[INSTREAM_ERR_SIZE]; /* the kept error (state INSTREAM_FAILED) */
};

/* instream_fail - keep an error; the reads that follow return it */
__attribute__((format(printf, 2, 3)))
static void instream_fail(struct instream *in, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(in->err, sizeof in->err, fmt, ap);
	va_end(ap);
	in->state = INSTREAM_FAILED;
}

/* instream_sysread - read(2) retried on EINTR; -1 with errno set on failure */
static ssize_t instream_sysread(int fd, void *buf, size_t n)
{
	ssize_t got;

	if (n > SSIZE_MAX)
		n = SSIZE_MAX;
	do
		got = read(fd, buf, n);
	while (got < 0 && errno == EINTR);
	return got;
}

/* instream_hash - P[0..N) are the next raw bytes read: into the digest, checking the expected
 * prefix when they reach its end */
static void instream_hash(struct instream *in, const unsigned char *p, size_t n)
{
	if (in->prefix_state == 0 && in->hashed + n >= in->expect_len) {
		size_t k = (size_t)(in->expect_len - in->hashed);
		unsigned char got[INSTREAM_DIGEST_LEN];

		EVP_DigestUpdate(in->md, p, k);
		in->hashed += k;
		p += k;
		n -= k;
		instream_digest(in, got);
		in->prefix_state = memcmp(got, in->expect, sizeof got) == 0 ? 1 : -1;
	}
	if (n > 0)
		EVP_DigestUpdate(in->md, p, n);
	in->hashed += n;
}

/* instream_raw_end - read(2) found the end: an expected prefix not reached differs */
static void instream_raw_end(struct instream *in)
{
	in->raw_eof = 1;
	if (in->prefix_state == 0)
		in->prefix_state = -1;
}

/* instream_hash_open - hash the bytes instream_open read (still at the start of inbuf) */
static void instream_hash_open(struct instream *in)
{
	size_t n = in->unhashed_open;

	in->unhashed_open = 0;
	if (n > 0)
		instream_hash(in, in->inbuf, n);
	if (in->raw_eof && in->prefix_state == 0)
		in->prefix_state = -1;
}

/* instream_fill - read more raw bytes after the kept ones (keep bytes at the start of inbuf
 * have already been moved there); returns bytes read, 0 at the end, -1 with the error kept.
 * While opening, the bytes are hashed later (instream_hash_open): a prefix to expect may still
 * be set. */
static ssize_t instream_fill(struct instream *in, size_t keep)
{
	ssize_t got;

	if (in->raw_eof)
		return 0;
	got = instream_sysread(in->fd, in->inbuf + keep, INSTREAM_INBUF_SIZE - keep);
	if (got < 0) {
		instream_fail(in, "%s: read error: %s", in->name, strerror(errno));
		return -1;
	}
	in->raw_read += (uint64_t)got;
	if (in->opening) {
		in->unhashed_open += (size_t)got;
		if (got == 0)
			in->raw_eof = 1;
	} else if (got > 0) {
		instream_hash(in, in->inbuf + keep, (size_t)got);
	} else {
		instream_raw_end(in);
	}
	return got;
}

/* instream_consumed - raw bytes read and used (not merely buffered) */
static uint64_t instream_consumed(const struct instream *in)
{
	if (in->gzip)
		return in->raw_read - in->z.avail_in;
	return in->raw_read - (in->inlen - in->inpos);
}

struct instream *instream_open(const char *path, char *err, size_t errlen)
{
	struct instream *in;
	struct stat st;
	int fd;

	if (strcmp(path, "-") == 0) {
		fd = STDIN_FILENO;
	} else {
		do
			fd = open(path, O_RDONLY | O_CLOEXEC);
		while (fd < 0 && errno == EINTR);
		if (fd < 0) {
			err_set(err, errlen, "%s: cannot open: %s", path, strerror(errno));
			return NULL;
		}
	}
	in = calloc(1, sizeof *in);
	if (in != NULL) {
		in->name = strdup(fd == STDIN_FILENO ? "stdin" : path);
		in->inbuf = malloc(INSTREAM_INBUF_SIZE);
	}
	if (in == NULL || in->name == NULL || in->inbuf == NULL) {
		err_set(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	in->fd = fd;
	in->own_fd = fd != STDIN_FILENO;
	in->opening = 1;
	in->prefix_state = 1;
	in->md = EVP_MD_CTX_new();
	if (in->md == NULL || EVP_DigestInit_ex(in->md, EVP_sha256(), NULL) != 1) {
		err_set(err, errlen, "%s: cannot start SHA-256", in->name);
		goto fail;
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		/* stdin may be a file someone already read into: count from where we start */
		off_t at = lseek(fd, 0, SEEK_CUR);

		if (at >= 0 && at <= st.st_size)
			in->raw_size = (uint64_t)(st.st_size - at);
	}

	/* The first two bytes decide; a pipe may hand them out one at a time. */
	while (in->inlen < 2 && !in->raw_eof) {
		ssize_t got = instream_fill(in, in->inlen);

		if (got < 0) {
			err_set(err, errlen, "%s", in->err);
			goto fail;
		}
		in->inlen += (size_t)got;
	}
	if (in->inlen >= 2 && in->inbuf[0] == 0x1f && in->inbuf[1] == 0x8b) {
		in->gzip = 1;
		in->z.next_in = in->inbuf;
		in->z.avail_in = (uInt)in->inlen;
		in->inlen = in->inpos = 0;
		/* 16 + MAX_WBITS: gzip wrapper only (a zlib or raw stream is not a .gz file) */
		if (inflateInit2(&in->z, 16 + MAX_WBITS) != Z_OK) {
			err_set(err, errlen, "%s: cannot start gzip decoding: %s", in->name,
			        in->z.msg ? in->z.msg : "out of memory");
			goto fail;
		}
		in->z_ready = 1;
		in->state = INSTREAM_GZ_MEMBER;
	} else {
		in->state = INSTREAM_PLAIN;
	}
	in->opening = 0;
	return in;

fail:
	if (in != NULL) {
		in->fd = fd;
		in->own_fd = fd != STDIN_FILENO;
		instream_close(in);
	} else if (fd != STDIN_FILENO) {
		close(fd);
	}
	return NULL;
}

/* instream_plain_read - pass-through: buffered bytes first, then read(2) into buf */
static ssize_t instream_plain_read(struct instream *in, void *buf, size_t n)
{
	ssize_t got;

	if (in->inpos < in->inlen) {
		size_t k = in->inlen - in->inpos;

		if (k > n)
			k = n;
		memcpy(buf, in->inbuf + in->inpos, k);
		in->inpos += k;
		return (ssize_t)k;
	}
	if (in->raw_eof) {
		in->state = INSTREAM_DONE;
		return 0;
	}
	got = instream_sysread(in->fd, buf, n);
	if (got < 0) {
		instream_fail(in, "%s: read error: %s", in->name, strerror(errno));
		return -1;
	}
	if (got == 0) {
		instream_raw_end(in);
		in->state = INSTREAM_DONE;
	} else {
		instream_hash(in, buf, (size_t)got);
	}
	in->raw_read += (uint64_t)got;
	return got;
}

/* instream_gz_refill - move the unused input to the front of inbuf and read more after it;
 * returns bytes read, 0 at the end of the file, -1 with the error kept */
static ssize_t instream_gz_refill(struct instream *in)
{
	size_t keep = in->z.avail_in;
	ssize_t got;

	if (keep > 0 && in->z.next_in != in->inbuf)
		memmove(in->inbuf, in->z.next_in, keep);
	in->z.next_in = in->inbuf;
	got = instream_fill(in, keep);
	if (got > 0)
		in->z.avail_in = (uInt)(keep + (size_t)got);
	return got;
}

/* instream_gz_between - after a member: skip zero padding, then start the next member
 * (1), find the end (0), or keep an error for trailing garbage or a read error (-1) */
static int instream_gz_between(struct instream *in)
{
	for (;;) {
		ssize_t got;

		while (in->z.avail_in > 0 && in->z.next_in[0] == 0) {
			in->z.next_in++;
			in->z.avail_in--;
		}
		if (in->z.avail_in >= 2 || (in->z.avail_in == 1 && in->z.next_in[0] != 0x1f))
			break;
		got = instream_gz_refill(in);
		if (got < 0)
			return -1;
		if (got == 0) {
			if (in->z.avail_in == 0) {
				in->state = INSTREAM_DONE;
				return 0;
			}
			break; /* a lone byte at the end: garbage */
		}
	}
	if (in->z.avail_in >= 2 && in->z.next_in[0] == 0x1f && in->z.next_in[1] == 0x8b) {
		if (inflateReset(&in->z) != Z_OK) {
			instream_fail(in, "%s: cannot restart gzip decoding", in->name);
			return -1;
		}
		in->state = INSTREAM_GZ_MEMBER;
		return 1;
	}
	instream_fail(in, "%s: trailing garbage after gzip data at byte %llu (compressed offset)",
	              in->name, (unsigned long long)instream_consumed(in));
	return -1;
}

/* instream_gz_read - inflate into buf: stops when buf is full, when the input would block
 * after some output, at the end, or at damage (kept for the next call if output came first) */
static ssize_t instream_gz_read(struct instream *in, void *buf, size_t n)
{
	size_t produced;

	if (n > UINT_MAX)
		n = UINT_MAX;
	in->z.next_out = buf;
	in->z.avail_out = (uInt)n;
	while (in->z.avail_out > 0) {
		uInt before_in, before_out;
		int ret;

		if (in->state == INSTREAM_GZ_BETWEEN) {
			if (in->z.avail_in == 0 && in->z.avail_out < n)
				break; /* the next member (or the end) can wait for the next call */
			if (instream_gz_between(in) <= 0)
				break;
		}
		if (in->z.avail_in == 0) {
			ssize_t got;

			if (in->z.avail_out < n)
				break; /* hand out what we have before a read that may block */
			got = instream_gz_refill(in);
			if (got < 0)
				break;
			if (got == 0) {
				instream_fail(in, "%s: gzip data truncated at byte %llu (compressed offset)",
				              in->name, (unsigned long long)in->raw_read);
				break;
			}
		}
		before_in = in->z.avail_in;
		before_out = in->z.avail_out;
		ret = inflate(&in->z, Z_NO_FLUSH);
		if (ret == Z_STREAM_END) {
			in->state = INSTREAM_GZ_BETWEEN;
		} else if (ret == Z_DATA_ERROR || ret == Z_NEED_DICT) {
			instream_fail(in, "%s: corrupt gzip data at byte %llu: %s", in->name,
			              (unsigned long long)instream_consumed(in),
			              in->z.msg ? in->z.msg : "invalid data");
			break;
		} else if (ret == Z_MEM_ERROR) {
			instream_fail(in, "%s: out of memory decoding gzip data", in->name);
			break;
		} else if (ret != Z_OK && !(ret == Z_BUF_ERROR && in->z.avail_in == 0)) {
			instream_fail(in, "%s: gzip decoder error %d at byte %llu", in->name, ret,
			              (unsigned long long)instream_consumed(in));
			break;
		} else if (in->z.avail_in == before_in && in->z.avail_out == before_out &&
		           in->z.avail_in > 0) {
			/* zlib promises progress with input and output room; never spin */
			instream_fail(in, "%s: gzip decoder stalled at byte %llu", in->name,
			              (unsigned long long)instream_consumed(in));
			break;
		}
	}
	produced = n - in->z.avail_out;
	in->z.next_out = NULL;
	in->z.avail_out = 0;
	if (produced > 0)
		return (ssize_t)produced;
	return in->state == INSTREAM_FAILED ? -1 : 0;
}

ssize_t instream_read(struct instream *in, void *buf, size_t n, char *err, size_t errlen)
{
	ssize_t got;

	if (n > SSIZE_MAX)
		n = SSIZE_MAX;
	if (in->unhashed_open > 0 || (in->raw_eof && in->prefix_state == 0))
		instream_hash_open(in);
	switch (in->state) {
	case INSTREAM_DONE:
		return 0;
	case INSTREAM_FAILED:
		err_set(err, errlen, "%s", in->err);
		return -1;
	case INSTREAM_PLAIN:
		got = n == 0 ? 0 : instream_plain_read(in, buf, n);
		break;
	default:
		got = n == 0 ? 0 : instream_gz_read(in, buf, n);
		break;
	}
	if (got < 0)
		err_set(err, errlen, "%s", in->err);
	return got;
}

const char *instream_name(const struct instream *in)
{
	return in->name;
}

int instream_is_gzip(const struct instream *in)
{
	return in->gzip;
}

uint64_t instream_raw_offset(const struct instream *in)
{
	return instream_consumed(in);
}

uint64_t instream_raw_size(const struct instream *in)
{
	return in->raw_size;
}

uint64_t instream_digest(struct instream *in, unsigned char out[INSTREAM_DIGEST_LEN])
{
	EVP_MD_CTX *copy = EVP_MD_CTX_new();
	unsigned int len = 0;

	if (in->unhashed_open > 0)
		instream_hash_open(in);
	if (copy == NULL || EVP_MD_CTX_copy_ex(copy, in->md) != 1 ||
	    EVP_DigestFinal_ex(copy, out, &len) != 1 || len != INSTREAM_DIGEST_LEN) {
		fprintf(stderr, "mailsift: internal error: SHA-256 failed\n");
		abort();
	}
	EVP_MD_CTX_free(copy);
	return in->hashed;
}

void instream_expect_prefix(struct instream *in, uint64_t len,
                            const unsigned char digest[INSTREAM_DIGEST_LEN])
{
	if (in->hashed > 0) {
		fprintf(stderr, "mailsift: internal error: instream_expect_prefix after a read\n");
		abort();
	}
	in->expect_len = len;
	memcpy(in->expect, digest, INSTREAM_DIGEST_LEN);
	in->prefix_state = len == 0 ? 1 : 0;
}

int instream_prefix_state(const struct instream *in)
{
	return in->prefix_state;
}

int instream_hash_rest(struct instream *in)
{
	if (in->unhashed_open > 0)
		instream_hash_open(in);
	if (in->state == INSTREAM_PLAIN || in->state == INSTREAM_DONE) {
		in->inpos = in->inlen = 0; /* plain: buffered bytes are hashed already */
	} else {
		in->z.avail_in = 0; /* gzip: so is what zlib did not take */
		in->z.next_in = in->inbuf;
	}
	for (;;) {
		ssize_t got = instream_fill(in, 0);

		if (got < 0)
			return -1;
		if (got == 0)
			return 0;
	}
}

void instream_close(struct instream *in)
{
	if (in == NULL)
		return;
	EVP_MD_CTX_free(in->md);
	if (in->z_ready)
		inflateEnd(&in->z);
	if (in->own_fd)
		close(in->fd);
	free(in->inbuf);
	free(in->name);
	free(in);
}
