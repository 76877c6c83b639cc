/*
 * json - JSON writing helpers (see json.h).
 */
#include "common/json.h"

#include <stddef.h>

/* utf8_len - length of the valid UTF-8 sequence at P, or 0 when it is not one */
static size_t utf8_len(const unsigned char *p)
{
	size_t n = *p >= 0xf0 && *p <= 0xf4   ? 4
	         : *p >= 0xe0 && *p <= 0xef ? 3
	         : *p >= 0xc2 && *p <= 0xdf ? 2
	                                    : 0;

	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

void json_put_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	fputc('"', f);
	while (*p) {
		if (*p == '"' || *p == '\\') {
			fprintf(f, "\\%c", *p++);
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(f, "\\u%04x", *p++);
		} else if (*p < 0x80) {
			fputc(*p++, f);
		} else {
			size_t n = utf8_len(p);
			if (n == 0) {
				fputs("\\ufffd", f); /* JSON must be UTF-8: a broken byte becomes U+FFFD */
				p++;
			} else {
				fwrite(p, 1, n, f);
				p += n;
			}
		}
	}
	fputc('"', f);
}

void json_put_string_or_null(FILE *f, const char *s)
{
	if (s == NULL || *s == '\0')
		fputs("null", f);
	else
		json_put_string(f, s);
}
