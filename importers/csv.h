/*
 * csv - records from a byte stream: RFC 4180 CSV (quoted fields with delimiters, doubled quotes
 * and line breaks; CRLF or LF; a UTF-8 BOM skipped) with the delimiter sniffed among , ; TAB |,
 * or plain one-value-a-line text when no delimiter is found.
 *
 * The reader owns one record buffer whose size is bounded by max_record: a longer record is
 * skipped to its end and reported (CSV_TOO_LONG) with its line number, so memory stays bounded
 * whatever the input. Malformed input never stops the reader: it is reported in the record's
 * flags and the record is returned as well as it could be read.
 *
 * What a record is:
 * - Line breaks are LF, CRLF or a lone CR, each one physical line (inside quotes too, where
 *   they are kept verbatim as field bytes).
 * - A blank line (no bytes between two line breaks) is a record with one empty field; the
 *   caller decides to skip it. A final line break does not start another record; an empty
 *   input (or one holding only a BOM) has no records.
 * - Lenient like spreadsheet programs: a quote inside an unquoted field is kept as a byte and
 *   text after a closing quote is appended (both CSV_STRAY_QUOTE); the input ending inside
 *   quotes returns what was read (CSV_UNTERMINATED_QUOTE); NUL bytes and invalid UTF-8 are
 *   kept and flagged.
 * - max_record counts the field bytes plus one per field (the NUL after each). Once a record
 *   crosses it, quotes are no longer followed: the record ends at the next line break and is
 *   returned with nfields 0 and CSV_TOO_LONG, so an unterminated quote costs at most about
 *   max_record bytes of input, never the rest of the file.
 * - Sniffing (CSV_MODE_SNIFF) reads the first 64 KiB (at most 50 records) and splits them with
 *   each of , ; TAB | (quotes honoured). A candidate whose most frequent per-record count is not
 *   zero qualifies; the one whose count is shared by the most records wins (ties: the larger
 *   count, then that order). None: plain mode, one value a line, quotes are ordinary bytes;
 *   except when every record of the sample is a single quoted field ("a@b.com"): that is a
 *   one-column CSV, read in CSV mode with ',' so the quotes come off.
 * - On an input error, records read before the damage have been returned; the record the
 *   damage cut is not (it may be truncated), and csv_next returns -1 from then on.
 */
#ifndef MAILSIFT_CSV_H
#define MAILSIFT_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "instream.h"

#define CSV_MAX_RECORD_DEFAULT (1024 * 1024) /* bytes; a list's row is far smaller */
#define CSV_MAX_FIELDS 4096                  /* fields in one record */

enum csv_flag {
	CSV_UNTERMINATED_QUOTE = 1 << 0, /* the input ended inside a quoted field */
	CSV_STRAY_QUOTE = 1 << 1,        /* a quote inside an unquoted field, or text after a closing quote */
	CSV_TOO_LONG = 1 << 2,           /* record longer than max_record: fields are empty, nfields is 0 */
	CSV_NUL_BYTE = 1 << 3,           /* the record contains a NUL byte (kept in the field) */
	CSV_BAD_UTF8 = 1 << 4,           /* the record is not valid UTF-8 (kept as bytes) */
	CSV_TOO_MANY_FIELDS = 1 << 5     /* more than CSV_MAX_FIELDS: the rest joined into the last */
};

enum csv_mode {
	CSV_MODE_SNIFF = 0, /* decide from the first bytes */
	CSV_MODE_CSV,       /* delimited, delimiter given */
	CSV_MODE_PLAIN      /* one value a line, no quoting */
};

struct csv_record {
	size_t nfields;        /* fields in this record (>= 1 unless CSV_TOO_LONG) */
	const char **field;    /* field bytes; use len (a NUL follows each, but a field may hold NULs) */
	const size_t *len;     /* byte length of each field */
	uint64_t line;         /* physical line where the record starts, 1-based */
	uint64_t lines;        /* physical lines it spans */
	unsigned flags;        /* enum csv_flag bits */
};

struct csv_reader;

/* csv_open - a reader over IN (not owned); delim is used when mode is CSV_MODE_CSV (not NUL,
 * quote, CR or LF); max_record 0 means CSV_MAX_RECORD_DEFAULT. NULL when out of memory or the
 * delimiter is unusable. Nothing is read before the first csv_next. */
struct csv_reader *csv_open(struct instream *in, enum csv_mode mode, char delim, size_t max_record);

/* csv_next - the next record: 1 one read, 0 end of input, -1 input error (err names the place).
 * rec's pointers stay valid until the next csv_next or csv_close. */
int csv_next(struct csv_reader *r, struct csv_record *rec, char *err, size_t errlen);

/* csv_delimiter - the delimiter in use (known after the first csv_next); 0 in plain mode */
char csv_delimiter(const struct csv_reader *r);

/* csv_had_bom - 1 when the input started with a UTF-8 BOM (skipped) */
int csv_had_bom(const struct csv_reader *r);

/* csv_memory - bytes the reader holds now (read buffer, record buffer, field arrays): at most
 * about max_record + 256 KiB + CSV_MAX_FIELDS * 16 whatever the input; for tests and diagnostics */
size_t csv_memory(const struct csv_reader *r);

/* csv_close - free the reader (not the instream) */
void csv_close(struct csv_reader *r);

#endif
