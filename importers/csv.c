/*
 * csv - records from an instream: RFC 4180 CSV read leniently, or plain one-value-a-line text.
 *
 * It owns a read buffer (CSV_CHUNK_SIZE), one record buffer that grows geometrically up to
 * max_record and never beyond, and the field length/pointer arrays (up to CSV_MAX_FIELDS). It
 * never allocates per record or per field, never rewinds its input (stdin cannot be rewound:
 * the bytes looked at to sniff the delimiter are the first bytes parsed) and never gives up on
 * malformed input: what real files contain is read the way spreadsheet programs read it, and
 * flagged.
 *
 * Decisions (also in csv.h):
 * - Line breaks are LF, CRLF or a lone CR (old Mac exports), counted as one physical line each,
 *   inside quotes too. Inside quotes they are kept as field bytes, verbatim.
 * - Sniffing: the first CSV_SNIFF_BYTES (at most CSV_SNIFF_RECORDS records) are split with each
 *   candidate delimiter (, ; TAB |), quotes honoured; for each candidate the most frequent
 *   per-record count wins if it is not zero. The candidate whose modal count is shared by the
 *   most records is chosen; ties go to the larger count, then to the order , ; TAB |. No
 *   candidate: plain mode, where quotes are ordinary bytes; except when every record of the
 *   sample is one quoted field ("a@b.com"), which is a one-column CSV: read as CSV with ','.
 * - A record over max_record is dropped from the point it crosses the limit: from there the
 *   reader ignores quotes and resumes after the next line break. An unterminated quote thus
 *   costs at most max_record bytes of input, not the rest of the file.
 */
#include <assert.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "importers/csv.h"

/* Decoded bytes read per instream_read: big enough to amortise the call and the read(2)
 * behind it (a 160 MB list is ~640 reads), small enough to be a fixed cost. */
#define CSV_CHUNK_SIZE (256 * 1024)

/* What sniffing looks at: enough rows of any real list to see its shape (a header and a few
 * dozen rows), and it must fit in one chunk because those bytes are parsed next. */
#define CSV_SNIFF_BYTES (64 * 1024)
#define CSV_SNIFF_RECORDS 50

/* First record buffer and field array sizes: a list row is ~100 bytes and a few columns;
 * both double as needed (up to max_record and CSV_MAX_FIELDS). */
#define CSV_RECORD_INITIAL 4096
#define CSV_FIELDS_INITIAL 64

#define CSV_ERR_SIZE 512 /* a kept input error: the instream's message plus a line number */

_Static_assert(CSV_SNIFF_BYTES <= CSV_CHUNK_SIZE, "the sniffed bytes must fit in one chunk");

/* Where the parser is inside the current record. */
enum csv_state {
	CSV_ST_FIELD_START,   /* at the first byte of a field: a quote opens a quoted field */
	CSV_ST_UNQUOTED,      /* in an unquoted field (or after a quoted part, flagged) */
	CSV_ST_QUOTED,        /* inside quotes */
	CSV_ST_QUOTE_SEEN,    /* a quote inside quotes: doubled, closing, or stray */
	CSV_ST_SKIP           /* past max_record: dropping bytes up to the next line break */
};

/* Byte classes for the scanning loops: 0 is an ordinary byte, copied in bulk. */
enum csv_class {
	CSV_C_PLAIN = 0,
	CSV_C_SPECIAL = 1
};

struct csv_reader {
	struct instream *in;          /* not owned */
	enum csv_mode mode;           /* after sniffing: CSV or PLAIN */
	unsigned char delim;          /* CSV mode's delimiter; 0 in plain mode */
	int started;                  /* BOM and sniffing done */
	int had_bom;                  /* the input began with EF BB BF */
	size_t max_record;            /* bytes of a record: field bytes plus one per field */

	unsigned char *chunk;         /* CSV_CHUNK_SIZE decoded bytes */
	size_t cpos;                  /* next byte to parse */
	size_t clen;                  /* bytes in chunk */
	int eof;                      /* the instream said end of input */
	int failed;                   /* the instream said error: err holds it */
	int err_reported;             /* err already carries the line it happened on */
	char err[CSV_ERR_SIZE];       /* the instream's error message */

	char *rec;                    /* record buffer: each field's bytes then a NUL */
	size_t rlen;                  /* bytes used in rec */
	size_t rcap;                  /* bytes allocated, <= max_record */
	size_t *flen;                 /* length of each finished field */
	const char **fptr;            /* pointers handed out in csv_record */
	size_t fcap;                  /* entries allocated in flen and fptr */
	size_t nf;                    /* finished fields in the current record */
	unsigned flags;               /* csv_flag bits of the current record */
	enum csv_state state;         /* of the current record */
	int rec_started;              /* a byte of the current record has been seen */
	uint64_t rec_line;            /* physical line where the current record starts */

	uint64_t line;                /* physical line of the next byte, 1-based */
	int prev_cr;                  /* the last byte was a CR line break: a LF now is its pair */

	unsigned char cls_unquoted[256]; /* stop bytes outside quotes: CR, LF, NUL (+ delim, quote) */
	unsigned char cls_quoted[256];   /* stop bytes inside quotes: quote, CR, LF, NUL */
};

/* ---------------------------------------------------------------- UTF-8 */

/* csv_utf8_valid - 1 when S is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF) */
static int csv_utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t more;
		unsigned char lo = 0x80, hi = 0xbf; /* range of the first continuation byte */

		if (c < 0x80) {
			uint64_t w;

			/* ASCII runs eight bytes at a time: nearly every list is ASCII */
			while (i + 8 <= n) {
				memcpy(&w, s + i, 8);
				if (w & 0x8080808080808080ULL)
					break;
				i += 8;
			}
			while (i < n && s[i] < 0x80)
				i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			more = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			more = 2;
			if (c == 0xe0)
				lo = 0xa0;      /* overlong */
			else if (c == 0xed)
				hi = 0x9f;      /* surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3;
			if (c == 0xf0)
				lo = 0x90;      /* overlong */
			else if (c == 0xf4)
				hi = 0x8f;      /* above U+10FFFF */
		} else {
			return 0;
		}
		if (n - i - 1 < more)
			return 0;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (size_t k = 2; k <= more; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
		i += more + 1;
	}
	return 1;
}

/* ---------------------------------------------------------------- sniffing */

struct csv_sniff {
	size_t records;   /* non-blank records looked at */
	size_t mode;      /* most frequent delimiter count per record */
	size_t freq;      /* records with that count */
};

/* csv_sniff_one - split the sample with D the way the parser would (quotes open at a field's
 * start, doubled inside) and find the most frequent delimiter count per record. A last record
 * cut by the end of the sample is left out unless the sample is the whole input or it is the
 * only record. */
static void csv_sniff_one(const unsigned char *s, size_t n, int whole, unsigned char d,
                          struct csv_sniff *out)
{
	size_t counts[CSV_SNIFF_RECORDS];
	size_t nrec = 0, i = 0;

	while (i < n && nrec < CSV_SNIFF_RECORDS) {
		size_t begin = i, count = 0;
		int field_start = 1, quoted = 0, ended = 0;

		while (i < n) {
			unsigned char c = s[i];

			if (quoted) {
				if (c == '"') {
					if (i + 1 < n && s[i + 1] == '"')
						i++;
					else
						quoted = 0;
				}
				i++;
				continue;
			}
			if (c == '\n' || c == '\r') {
				ended = 1;
				break;
			}
			if (c == d) {
				count++;
				field_start = 1;
			} else {
				if (c == '"' && field_start)
					quoted = 1;
				field_start = 0;
			}
			i++;
		}
		if (ended) {
			size_t end = i;

			if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
				i++;
			i++;
			if (end == begin)
				continue; /* blank line: no evidence either way */
		} else if (!whole && nrec > 0) {
			break;
		}
		counts[nrec++] = count;
	}

	out->records = nrec;
	out->mode = 0;
	out->freq = 0;
	for (size_t a = 0; a < nrec; a++) {
		size_t f = 0;

		for (size_t b = 0; b < nrec; b++)
			f += counts[b] == counts[a];
		if (f > out->freq || (f == out->freq && counts[a] > out->mode)) {
			out->freq = f;
			out->mode = counts[a];
		}
	}
}

/* csv_sniff_all_quoted - 1 when every non-blank record of the sample is one quoted field
 * ("a@b.com" on each line: a one-column CSV whose writer quotes everything). A last record cut
 * by the end of the sample is left out unless the sample is the whole input. */
static int csv_sniff_all_quoted(const unsigned char *s, size_t n, int whole)
{
	size_t nrec = 0, i = 0;

	while (i < n && nrec < CSV_SNIFF_RECORDS) {
		if (s[i] == '\n' || s[i] == '\r') {
			i++; /* blank line (or the LF of a CRLF) */
			continue;
		}
		if (s[i] != '"')
			return 0;
		for (i++;; i++) {
			if (i == n)
				return whole ? 0 : nrec > 0; /* unterminated, or cut by the sample */
			if (s[i] != '"')
				continue;
			if (i + 1 < n && s[i + 1] == '"') {
				i++;
				continue;
			}
			break;
		}
		i++; /* the closing quote: the record must end here */
		if (i < n && s[i] != '\n' && s[i] != '\r')
			return 0;
		nrec++;
	}
	return nrec > 0;
}

/* csv_sniff - the delimiter of the sample, or 0 when it reads as one value a line */
static unsigned char csv_sniff(const unsigned char *s, size_t n, int whole)
{
	static const unsigned char candidates[] = {',', ';', '\t', '|'};
	unsigned char best = 0;
	struct csv_sniff best_s = {0, 0, 0};

	for (size_t i = 0; i < sizeof candidates; i++) {
		struct csv_sniff cs;

		csv_sniff_one(s, n, whole, candidates[i], &cs);
		if (cs.mode == 0)
			continue;
		if (best == 0 || cs.freq > best_s.freq ||
		    (cs.freq == best_s.freq && cs.mode > best_s.mode)) {
			best = candidates[i];
			best_s = cs;
		}
	}
	if (best == 0 && csv_sniff_all_quoted(s, n, whole))
		best = ','; /* one quoted column: CSV, so the quotes come off */
	return best;
}

/* ---------------------------------------------------------------- reader */

/* csv_classes - the stop-byte tables for the reader's mode and delimiter */
static void csv_classes(struct csv_reader *r)
{
	memset(r->cls_unquoted, CSV_C_PLAIN, sizeof r->cls_unquoted);
	memset(r->cls_quoted, CSV_C_PLAIN, sizeof r->cls_quoted);
	r->cls_unquoted['\n'] = r->cls_unquoted['\r'] = r->cls_unquoted[0] = CSV_C_SPECIAL;
	r->cls_quoted['\n'] = r->cls_quoted['\r'] = r->cls_quoted[0] = CSV_C_SPECIAL;
	r->cls_quoted['"'] = CSV_C_SPECIAL;
	if (r->mode == CSV_MODE_CSV) {
		r->cls_unquoted['"'] = CSV_C_SPECIAL;
		r->cls_unquoted[r->delim] = CSV_C_SPECIAL;
	}
}

struct csv_reader *csv_open(struct instream *in, enum csv_mode mode, char delim, size_t max_record)
{
	struct csv_reader *r;
	unsigned char d = (unsigned char)delim;

	if (mode == CSV_MODE_CSV && (d == 0 || d == '"' || d == '\r' || d == '\n'))
		return NULL;
	if (max_record == 0)
		max_record = CSV_MAX_RECORD_DEFAULT;
	r = calloc(1, sizeof *r);
	if (r == NULL)
		return NULL;
	r->in = in;
	r->mode = mode;
	r->delim = mode == CSV_MODE_CSV ? d : 0;
	r->max_record = max_record;
	r->line = 1;
	r->rcap = max_record < CSV_RECORD_INITIAL ? max_record : CSV_RECORD_INITIAL;
	r->fcap = CSV_FIELDS_INITIAL;
	r->chunk = malloc(CSV_CHUNK_SIZE);
	r->rec = malloc(r->rcap);
	r->flen = malloc(r->fcap * sizeof *r->flen);
	r->fptr = malloc(r->fcap * sizeof *r->fptr);
	if (r->chunk == NULL || r->rec == NULL || r->flen == NULL || r->fptr == NULL) {
		csv_close(r);
		return NULL;
	}
	return r;
}

/* csv_fill - read more decoded bytes after the chunk's end; 1 got some, 0 end, -1 error kept */
static int csv_fill(struct csv_reader *r)
{
	ssize_t got;

	if (r->failed)
		return -1;
	if (r->eof)
		return 0;
	if (r->clen == CSV_CHUNK_SIZE) {
		assert(r->cpos == r->clen);
		r->cpos = r->clen = 0;
	}
	got = instream_read(r->in, r->chunk + r->clen, CSV_CHUNK_SIZE - r->clen, r->err,
	                    sizeof r->err);
	if (got < 0) {
		r->failed = 1;
		return -1;
	}
	if (got == 0) {
		r->eof = 1;
		return 0;
	}
	r->clen += (size_t)got;
	return 1;
}

/* csv_start - skip a BOM and, in sniff mode, decide the delimiter from the first bytes */
static void csv_start(struct csv_reader *r)
{
	size_t want = r->mode == CSV_MODE_SNIFF ? CSV_SNIFF_BYTES : 3;

	r->started = 1;
	while (r->clen < want && csv_fill(r) > 0)
		;
	if (r->clen >= 3 && memcmp(r->chunk, "\xef\xbb\xbf", 3) == 0) {
		r->had_bom = 1;
		r->cpos = 3;
	}
	if (r->mode == CSV_MODE_SNIFF) {
		size_t n = r->clen - r->cpos;
		int whole = r->eof || r->failed;

		if (n > CSV_SNIFF_BYTES) {
			n = CSV_SNIFF_BYTES;
			whole = 0;
		}
		r->delim = csv_sniff(r->chunk + r->cpos, n, whole);
		r->mode = r->delim ? CSV_MODE_CSV : CSV_MODE_PLAIN;
	}
	csv_classes(r);
}

/* csv_too_long - the record crossed max_record: drop it and skip to the next line break */
static void csv_too_long(struct csv_reader *r)
{
	r->state = CSV_ST_SKIP;
	r->flags = CSV_TOO_LONG;
	r->rlen = 0;
	r->nf = 0;
}

/* csv_reserve - room for NEED bytes in rec (NEED <= max_record); -1 when memory fails, and
 * then the record is dropped as too long: the reader never holds more than max_record */
static int csv_reserve(struct csv_reader *r, size_t need)
{
	size_t cap = r->rcap;
	char *p;

	if (need <= cap)
		return 0;
	assert(need <= r->max_record);
	while (cap < need)
		cap = cap > r->max_record / 2 ? r->max_record : cap * 2;
	p = realloc(r->rec, cap);
	if (p == NULL) {
		csv_too_long(r);
		return -1;
	}
	r->rec = p;
	r->rcap = cap;
	return 0;
}

/* csv_append - add N bytes to the current field, keeping room for its NUL; 0, or -1 when
 * the record is now too long (the reader is skipping it) */
static int csv_append(struct csv_reader *r, const void *src, size_t n)
{
	/* invariant: rlen < max_record while a field is open (room for its NUL) */
	if (n >= r->max_record - r->rlen) {
		csv_too_long(r);
		return -1;
	}
	if (csv_reserve(r, r->rlen + n + 1) < 0)
		return -1;
	memcpy(r->rec + r->rlen, src, n);
	r->rlen += n;
	return 0;
}

/* csv_end_field - finish the current field (NUL, length); 0, or -1 when out of room */
static int csv_end_field(struct csv_reader *r, size_t fstart)
{
	if (r->nf == r->fcap) {
		size_t cap = r->fcap * 2 > CSV_MAX_FIELDS ? CSV_MAX_FIELDS : r->fcap * 2;
		size_t *fl = realloc(r->flen, cap * sizeof *fl);
		const char **fp;

		if (fl != NULL)
			r->flen = fl;
		fp = fl != NULL ? realloc(r->fptr, cap * sizeof *fp) : NULL;
		if (fp == NULL) {
			csv_too_long(r);
			return -1;
		}
		r->fptr = fp;
		r->fcap = cap;
	}
	if (csv_reserve(r, r->rlen + 1) < 0)
		return -1;
	r->flen[r->nf++] = r->rlen - fstart;
	r->rec[r->rlen++] = '\0';
	return 0;
}

/* csv_delimiter_seen - a delimiter outside quotes: a new field, or (at CSV_MAX_FIELDS) the
 * delimiter joins the rest of the record into the last field */
static void csv_delimiter_seen(struct csv_reader *r, size_t *fstart)
{
	if (r->nf + 1 < CSV_MAX_FIELDS) {
		if (csv_end_field(r, *fstart) < 0)
			return;
		*fstart = r->rlen;
		if (r->rlen >= r->max_record) /* no room for the next field's NUL */
			csv_too_long(r);
		else
			r->state = CSV_ST_FIELD_START;
		return;
	}
	r->flags |= CSV_TOO_MANY_FIELDS;
	if (csv_append(r, &r->delim, 1) == 0)
		r->state = CSV_ST_FIELD_START;
}

/* csv_finish - the record is complete (its last byte is on END_LINE): last field, checks,
 * the caller's view */
static void csv_finish(struct csv_reader *r, size_t fstart, uint64_t end_line,
                       struct csv_record *rec)
{
	if (r->state != CSV_ST_SKIP) {
		if (r->state == CSV_ST_QUOTED)
			r->flags |= CSV_UNTERMINATED_QUOTE;
		csv_end_field(r, fstart);
	}
	if (r->state != CSV_ST_SKIP) { /* csv_end_field may have run out of memory */
		const char *p = r->rec;

		for (size_t i = 0; i < r->nf; i++) {
			r->fptr[i] = p;
			p += r->flen[i] + 1;
		}
		if (!csv_utf8_valid((const unsigned char *)r->rec, r->rlen))
			r->flags |= CSV_BAD_UTF8;
	}
	rec->nfields = r->nf;
	rec->field = r->fptr;
	rec->len = r->flen;
	rec->line = r->rec_line;
	rec->lines = end_line - r->rec_line + 1;
	rec->flags = r->flags;
}

/* csv_line_break - the line break C (CR or LF, consumed) ends the record */
static void csv_line_break(struct csv_reader *r, unsigned char c, size_t fstart,
                           struct csv_record *rec)
{
	csv_finish(r, fstart, r->line, rec);
	r->line++;
	r->prev_cr = c == '\r';
}

int csv_next(struct csv_reader *r, struct csv_record *rec, char *err, size_t errlen)
{
	size_t fstart = 0;  /* offset in rec of the current field's first byte */

	if (!r->started)
		csv_start(r);
	r->rlen = 0;
	r->nf = 0;
	r->flags = 0;
	r->state = CSV_ST_FIELD_START;
	r->rec_started = 0;
	r->rec_line = r->line;

	for (;;) {
		const unsigned char *p, *q, *end;
		const unsigned char *cls;
		unsigned char c;

		if (r->cpos == r->clen) {
			int got = csv_fill(r);

			if (got < 0) {
				/* the record cut by the damage is not returned: it may be truncated */
				if (!r->err_reported) {
					size_t l = strlen(r->err);

					snprintf(r->err + l, sizeof r->err - l, " (reading line %llu)",
					         (unsigned long long)r->rec_line);
					r->err_reported = 1;
				}
				if (err != NULL && errlen > 0)
					snprintf(err, errlen, "%s", r->err);
				return -1;
			}
			if (got == 0) {
				if (!r->rec_started)
					return 0;
				csv_finish(r, fstart, r->line, rec);
				return 1;
			}
		}
		p = r->chunk + r->cpos;
		end = r->chunk + r->clen;
		if (r->prev_cr) {
			r->prev_cr = 0;
			if (*p == '\n') {
				/* the LF of a CRLF: its line was counted at the CR */
				r->cpos++;
				if (r->state == CSV_ST_QUOTED && csv_append(r, p, 1) < 0) {
					/* the limit falls on this line break: resync after it */
					csv_finish(r, fstart, r->line - 1, rec);
					return 1;
				}
				continue;
			}
		}
		r->rec_started = 1;

		switch (r->state) {
		case CSV_ST_FIELD_START:
			if (*p == '"' && r->mode == CSV_MODE_CSV) {
				r->state = CSV_ST_QUOTED;
				r->cpos++;
			} else {
				r->state = CSV_ST_UNQUOTED;
			}
			break;

		case CSV_ST_UNQUOTED:
			cls = r->cls_unquoted;
			q = p;
			while (q < end && cls[*q] == CSV_C_PLAIN)
				q++;
			r->cpos = (size_t)(q - r->chunk);
			if (q > p && csv_append(r, p, (size_t)(q - p)) < 0)
				break;
			if (q == end)
				break;
			c = *q;
			r->cpos++;
			if (c == '\n' || c == '\r') {
				csv_line_break(r, c, fstart, rec);
				return 1;
			}
			if (c == 0) {
				r->flags |= CSV_NUL_BYTE;
				csv_append(r, q, 1);
			} else if (c == '"') {
				r->flags |= CSV_STRAY_QUOTE;
				csv_append(r, q, 1);
			} else {
				csv_delimiter_seen(r, &fstart);
			}
			break;

		case CSV_ST_QUOTED:
			cls = r->cls_quoted;
			q = p;
			while (q < end && cls[*q] == CSV_C_PLAIN)
				q++;
			r->cpos = (size_t)(q - r->chunk);
			if (q > p && csv_append(r, p, (size_t)(q - p)) < 0)
				break;
			if (q == end)
				break;
			c = *q;
			r->cpos++;
			if (c == '"') {
				r->state = CSV_ST_QUOTE_SEEN;
				break;
			}
			if (c == 0) {
				r->flags |= CSV_NUL_BYTE;
				csv_append(r, q, 1);
				break;
			}
			/* a line break inside quotes is field data (and a physical line) */
			if (csv_append(r, q, 1) < 0) {
				/* the limit falls on this line break: resync after it */
				csv_line_break(r, c, fstart, rec);
				return 1;
			}
			r->line++;
			r->prev_cr = c == '\r';
			break;

		case CSV_ST_QUOTE_SEEN:
			c = *p;
			if (c == '"') {
				r->cpos++;
				if (csv_append(r, p, 1) == 0)
					r->state = CSV_ST_QUOTED;
			} else if (c == r->delim) {
				r->cpos++;
				csv_delimiter_seen(r, &fstart);
			} else if (c == '\n' || c == '\r') {
				r->cpos++;
				csv_line_break(r, c, fstart, rec);
				return 1;
			} else {
				/* text after the closing quote: kept, like spreadsheet programs do */
				r->flags |= CSV_STRAY_QUOTE;
				r->state = CSV_ST_UNQUOTED;
			}
			break;

		case CSV_ST_SKIP:
			q = memchr(p, '\n', (size_t)(end - p));
			if (q == NULL)
				q = end;
			{
				const unsigned char *cr = memchr(p, '\r', (size_t)(q - p));

				if (cr != NULL)
					q = cr;
			}
			r->cpos = (size_t)(q - r->chunk);
			if (q < end) {
				r->cpos++;
				csv_line_break(r, *q, fstart, rec);
				return 1;
			}
			break;
		}
	}
}

char csv_delimiter(const struct csv_reader *r)
{
	return (char)r->delim;
}

int csv_had_bom(const struct csv_reader *r)
{
	return r->had_bom;
}

size_t csv_memory(const struct csv_reader *r)
{
	return sizeof *r + CSV_CHUNK_SIZE + r->rcap + r->fcap * (sizeof *r->flen + sizeof *r->fptr);
}

void csv_close(struct csv_reader *r)
{
	if (r == NULL)
		return;
	free(r->chunk);
	free(r->rec);
	free(r->flen);
	free(r->fptr);
	free(r);
}
