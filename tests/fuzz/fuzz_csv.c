/*
 * fuzz_csv - libFuzzer target for the input stream and the CSV reader (importers/instream.c,
 * importers/csv.c).
 *
 * The first input byte picks the mode (byte % 3: sniff, CSV, plain), the delimiter (bits 2-3)
 * and max_record (bits 4-6: mostly small so the too-long paths run often, up to 64 KiB so that
 * CSV_MAX_FIELDS can be reached); the rest is the file, plain or gzip. It is written to a memfd
 * and opened by path like a real list. Checked for every record: the field bounds and NULs,
 * the max_record and CSV_MAX_FIELDS bounds, the flags against the bytes, line numbers that
 * follow on, memory within its bound; at the end, that the lines add up; and that records read
 * without flags are written back by csvquote_write and read again to the same fields.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/csvquote.h"
#include "importers/csv.h"
#include "importers/instream.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_READ_BUFFER (256 * 1024) /* csv.c's read buffer, for the memory bound */

/* fuzz_file - a memfd holding DATA; returns its /proc path (static buffer per slot) */
static const char *fuzz_file(int slot, const void *data, size_t n)
{
	static int fds[2] = {-1, -1};
	static char paths[2][64];

	if (fds[slot] < 0) {
		fds[slot] = memfd_create(slot ? "fuzz_csv_out" : "fuzz_csv_in", 0);
		if (fds[slot] < 0)
			abort();
		snprintf(paths[slot], sizeof paths[slot], "/proc/self/fd/%d", fds[slot]);
	}
	if (ftruncate(fds[slot], 0) != 0 || pwrite(fds[slot], data, n, 0) != (ssize_t)n)
		abort();
	return paths[slot];
}

/* a growing byte string */
struct fuzz_buf {
	char *s;
	size_t len, cap;
};

static void fuzz_reserve(struct fuzz_buf *b, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		b->s = realloc(b->s, b->cap);
		if (b->s == NULL)
			abort();
	}
}

static void fuzz_add(struct fuzz_buf *b, const void *p, size_t n)
{
	fuzz_reserve(b, n);
	if (n > 0)
		memcpy(b->s + b->len, p, n);
	b->len += n;
}

/* fuzz_write_record - REC's fields as a CSV line (csvquote_write, delimiter D, then LF) */
static void fuzz_write_record(struct fuzz_buf *b, const struct csv_record *rec, char d)
{
	for (size_t i = 0; i < rec->nfields; i++) {
		size_t need = csvquote_write(NULL, 0, rec->field[i], rec->len[i], d, CSVQUOTE_EDGES);

		if (i > 0)
			fuzz_add(b, &d, 1);
		fuzz_reserve(b, need);
		FUZZ_ASSERT(csvquote_write(b->s + b->len, b->cap - b->len, rec->field[i], rec->len[i], d,
		                           CSVQUOTE_EDGES) == need);
		b->len += need;
	}
	fuzz_add(b, "\n", 1);
}

/* fuzz_line_breaks - physical line breaks in S (CRLF, CR, LF each one) */
static uint64_t fuzz_line_breaks(const uint8_t *s, size_t n)
{
	uint64_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n') {
			k++;
		} else if (s[i] == '\r') {
			k++;
			if (i + 1 < n && s[i + 1] == '\n')
				i++;
		}
	}
	return k;
}

/* fuzz_round_trip - OUT (records written back, after a first line "x") reads as EXPECT */
static void fuzz_round_trip(const struct fuzz_buf *out, const struct fuzz_buf *expect, char d)
{
	char err[512];
	struct instream *in = instream_open(fuzz_file(1, out->s, out->len), err, sizeof err);
	struct csv_reader *r;
	struct csv_record rec;
	size_t at = 0;
	int first = 1;

	FUZZ_ASSERT(in != NULL);
	r = csv_open(in, CSV_MODE_CSV, d, CSV_MAX_RECORD_DEFAULT);
	FUZZ_ASSERT(r != NULL);
	while (csv_next(r, &rec, err, sizeof err) == 1) {
		if (first) {
			first = 0;
			continue;
		}
		/* expect holds each record as: nfields, then (len, bytes) per field */
		FUZZ_ASSERT(rec.flags == 0);
		FUZZ_ASSERT(at + sizeof(size_t) <= expect->len);
		{
			size_t nf;

			memcpy(&nf, expect->s + at, sizeof nf);
			at += sizeof nf;
			FUZZ_ASSERT(rec.nfields == nf);
		}
		for (size_t i = 0; i < rec.nfields; i++) {
			size_t len;

			memcpy(&len, expect->s + at, sizeof len);
			at += sizeof len;
			FUZZ_ASSERT(rec.len[i] == len);
			FUZZ_ASSERT(memcmp(rec.field[i], expect->s + at, len) == 0);
			at += len;
		}
	}
	FUZZ_ASSERT(at == expect->len);
	csv_close(r);
	instream_close(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char delims[] = {',', ';', '\t', '|'};
	/* small ones hit the too-long paths; the large ones let CSV_MAX_FIELDS be reached */
	static const size_t max_records[] = {1, 7, 64, 4096, 2, 256, 8192, 65536};
	enum csv_mode mode;
	char delim, err[512];
	size_t max_record;
	struct instream *in;
	struct csv_reader *r;
	struct csv_record rec;
	uint64_t next_line = 1, end_line = 0;
	size_t nrec = 0;
	int rc, gz;
	struct fuzz_buf out = {0}, expect = {0};

	if (size < 1)
		return 0;
	mode = (enum csv_mode)(data[0] % 3);
	delim = delims[(data[0] >> 2) & 3];
	max_record = max_records[(data[0] >> 4) & 7];
	data++;
	size--;
	gz = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;

	in = instream_open(fuzz_file(0, data, size), err, sizeof err);
	FUZZ_ASSERT(in != NULL);
	FUZZ_ASSERT(instream_is_gzip(in) == gz);
	r = csv_open(in, mode, delim, max_record);
	FUZZ_ASSERT(r != NULL);
	fuzz_add(&out, "x\n", 2);

	while ((rc = csv_next(r, &rec, err, sizeof err)) == 1) {
		size_t total = 0;
		int has_nul = 0;

		nrec++;
		FUZZ_ASSERT(rec.line == next_line);
		FUZZ_ASSERT(rec.lines >= 1);
		next_line = rec.line + rec.lines;
		end_line = rec.line + rec.lines - 1;
		FUZZ_ASSERT(rec.nfields <= CSV_MAX_FIELDS);
		FUZZ_ASSERT((rec.nfields == 0) == ((rec.flags & CSV_TOO_LONG) != 0));
		FUZZ_ASSERT(!(rec.flags & CSV_TOO_LONG) || rec.flags == CSV_TOO_LONG);
		FUZZ_ASSERT(!(rec.flags & CSV_TOO_MANY_FIELDS) || rec.nfields == CSV_MAX_FIELDS);
		for (size_t i = 0; i < rec.nfields; i++) {
			FUZZ_ASSERT(rec.field[i][rec.len[i]] == '\0');
			total += rec.len[i] + 1;
			has_nul |= memchr(rec.field[i], 0, rec.len[i]) != NULL;
		}
		FUZZ_ASSERT(total <= max_record);
		FUZZ_ASSERT(has_nul == ((rec.flags & CSV_NUL_BYTE) != 0));
		FUZZ_ASSERT(csv_memory(r) <= max_record + FUZZ_READ_BUFFER +
		                                 CSV_MAX_FIELDS * 2 * sizeof(void *) + 4096);
		if (csv_delimiter(r) == 0) {
			FUZZ_ASSERT(rec.nfields <= 1);
			FUZZ_ASSERT(!(rec.flags & (CSV_STRAY_QUOTE | CSV_UNTERMINATED_QUOTE)));
		}
		if (rec.flags == 0 && csv_delimiter(r) != 0) {
			fuzz_write_record(&out, &rec, csv_delimiter(r));
			fuzz_add(&expect, &rec.nfields, sizeof rec.nfields);
			for (size_t i = 0; i < rec.nfields; i++) {
				fuzz_add(&expect, &rec.len[i], sizeof rec.len[i]);
				fuzz_add(&expect, rec.field[i], rec.len[i]);
			}
		}
	}
	FUZZ_ASSERT(rc == 0 || rc == -1);
	if (rc == -1) {
		FUZZ_ASSERT(gz);
		FUZZ_ASSERT(strstr(err, "/proc/self/fd/") == err);
		FUZZ_ASSERT(csv_next(r, &rec, err, sizeof err) == -1);
	} else {
		FUZZ_ASSERT(csv_next(r, &rec, err, sizeof err) == 0);
	}
	if (!gz) {
		size_t skip = csv_had_bom(r) ? 3 : 0;
		uint64_t breaks = fuzz_line_breaks(data + skip, size - skip);

		FUZZ_ASSERT(rc == 0);
		FUZZ_ASSERT(instream_raw_offset(in) == size);
		/* every line break is counted once; the last record ends on the last line or the
		 * one after it (the input ended inside quotes after a break) */
		if (nrec > 0)
			FUZZ_ASSERT(end_line == breaks || end_line == breaks + 1);
		else
			FUZZ_ASSERT(size - skip == 0);
	}
	if (csv_delimiter(r) != 0)
		fuzz_round_trip(&out, &expect, csv_delimiter(r));
	csv_close(r);
	instream_close(in);
	free(out.s);
	free(expect.s);
	return 0;
}
