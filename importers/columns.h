/*
 * columns - decide whether a list has a header and which column holds the address, from the
 * first records of the file (a bounded sample): by the header's names (email, e-mail,
 * email_address, mail, ...), else by content (the column whose cells look like addresses),
 * or as the user said with --column NAME|N (N counts from 1).
 */
#ifndef MAILSIFT_COLUMNS_H
#define MAILSIFT_COLUMNS_H

#include <stddef.h>

#define COLUMNS_SAMPLE_RECORDS 100       /* records looked at */
#define COLUMNS_SAMPLE_BYTES (1 << 20)   /* and at most this many bytes of them */

/* One sampled record, owned by the caller. */
struct columns_record {
	size_t nfields;
	char **field;    /* NUL-terminated copies (a NUL inside a field cuts it: fine for guessing) */
};

struct columns_guess {
	int has_header;  /* the first record is a header */
	int email_col;   /* 0-based */
	const char *how; /* "header name", "content", "--column", "single column" */
};

/* columns_detect - fill G from the N sampled records; COLUMN is the --column value or NULL.
 * Returns 0, or -1 with err (no column found, --column names no column) */
int columns_detect(const struct columns_record *rec, size_t n, const char *column,
                   struct columns_guess *g, char *err, size_t errlen);

/* columns_is_header_name - 1 when CELL names an email column (case and punctuation ignored) */
int columns_is_header_name(const char *cell);

#endif
