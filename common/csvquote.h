/*
 * csvquote - one field written as CSV (RFC 4180): quoted, with quotes doubled, when it would
 * not read back as itself. The one copy of the quoting rule for the importers' canonical
 * records and the exporters' files.
 *
 * A field is quoted when it holds the delimiter, a double quote, CR or LF; with
 * CSVQUOTE_EDGES also when it starts or ends with a space or TAB (the importers' canonical
 * records, read back by importers/csv.c). CSVQUOTE_NEUTRAL puts a ' before the field's
 * text (inside the quotes when quoted): the exporters' spreadsheet formula neutralizing.
 */
#ifndef MAILSIFT_CSVQUOTE_H
#define MAILSIFT_CSVQUOTE_H

#include <stddef.h>

#define CSVQUOTE_EDGES   1u /* also quote a field that starts or ends with a space or TAB */
#define CSVQUOTE_NEUTRAL 2u /* a ' before the text (formula neutralizing) */

/* csvquote_needed - 1 when FIELD (LEN bytes) must be quoted for delimiter DELIM under FLAGS */
int csvquote_needed(const char *field, size_t len, char delim, unsigned flags);

/* csvquote_write - FIELD as one CSV field into OUT (CAP bytes, no NUL added); returns the
 * bytes written, or the size needed when that exceeds CAP (nothing written then) */
size_t csvquote_write(char *out, size_t cap, const char *field, size_t len, char delim,
                      unsigned flags);

#endif
