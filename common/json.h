/*
 * json - the few JSON writing helpers report.json and `mailsift verify`
 * share: strings escaped for JSON (quotes, backslashes, control bytes as \u00XX) and kept
 * valid UTF-8 (a byte that is not part of a valid sequence becomes U+FFFD).
 */
#ifndef MAILSIFT_JSON_H
#define MAILSIFT_JSON_H

#include <stdio.h>

/* json_string - S (NULL: empty) as a JSON string literal, control bytes escaped */
void json_put_string(FILE *f, const char *s);

/* json_string_or_null - S as a string, or null when S is NULL or empty */
void json_put_string_or_null(FILE *f, const char *s);

#endif
