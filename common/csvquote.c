/*
 * csvquote - one CSV field, quoted when needed (see csvquote.h).
 */
#include "common/csvquote.h"

#include <string.h>

int csvquote_needed(const char *field, size_t len, char delim, unsigned flags)
{
	if (len == 0)
		return 0;
	if ((flags & CSVQUOTE_EDGES) && (field[0] == ' ' || field[0] == '\t' ||
	                                 field[len - 1] == ' ' || field[len - 1] == '\t'))
		return 1;
	for (size_t i = 0; i < len; i++) {
		char c = field[i];

		if (c == delim || c == '"' || c == '\r' || c == '\n')
			return 1;
	}
	return 0;
}

size_t csvquote_write(char *out, size_t cap, const char *field, size_t len, char delim,
                      unsigned flags)
{
	size_t need, o = 0, lead = (flags & CSVQUOTE_NEUTRAL) ? 1 : 0;

	if (!csvquote_needed(field, len, delim, flags)) {
		if (lead + len > cap)
			return lead + len;
		if (lead)
			out[o++] = '\'';
		if (len > 0)
			memcpy(out + o, field, len);
		return o + len;
	}
	need = lead + len + 2;
	for (size_t i = 0; i < len; i++)
		need += field[i] == '"';
	if (need > cap)
		return need;
	out[o++] = '"';
	if (lead)
		out[o++] = '\'';
	for (size_t i = 0; i < len; i++) {
		if (field[i] == '"')
			out[o++] = '"';
		out[o++] = field[i];
	}
	out[o++] = '"';
	return o;
}
