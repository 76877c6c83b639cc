/*
 * columns - header and email column detection (see columns.h). Pure: looks only at the sample.
 */
#include "importers/columns.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "importers/addr.h"

/* Header names of an address column, compared after lowercasing and dropping everything that
 * is not a letter or digit ("E-Mail Address" -> "emailaddress"). */
static const char *const header_names[] = {
	"email", "emails", "emailaddress", "emailaddresses", "mail", "mailaddress", "email1",
	"primaryemail", "workemail", "contactemail", "emailid", "useremail", "courriel",
	"adressemail", "correo", "correoelectronico", "epost", "eposta",
};

int columns_is_header_name(const char *cell)
{
	char norm[64];
	size_t n = 0;

	for (const char *p = cell; *p && n + 1 < sizeof norm; p++)
		if (isalnum((unsigned char)*p))
			norm[n++] = (char)tolower((unsigned char)*p);
	norm[n] = '\0';
	for (size_t i = 0; i < sizeof header_names / sizeof header_names[0]; i++)
		if (strcmp(norm, header_names[i]) == 0)
			return 1;
	return 0;
}

/* looks_like_address - the cell passes the syntax check */
static int looks_like_address(const char *cell)
{
	struct addr a;

	return strchr(cell, '@') != NULL && addr_parse(cell, strlen(cell), &a) == ADDR_OK;
}

/* looks_like_header_cell - a column title: letters, digits, spaces, and _ - . only; never '@' */
static int looks_like_header_cell(const char *cell)
{
	int letters = 0;

	for (const char *p = cell; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (isalpha(ch) || ch >= 0x80)
			letters++;
		else if (!isdigit(ch) && ch != ' ' && ch != '_' && ch != '-' && ch != '.')
			return 0;
	}
	return letters > 0;
}

/* column_by_name - index of the cell of REC equal to NAME (case-insensitive, trimmed) */
static int column_by_name(const struct columns_record *rec, const char *name)
{
	for (size_t i = 0; i < rec->nfields; i++) {
		const char *f = rec->field[i];
		size_t len;

		while (isspace((unsigned char)*f))
			f++;
		len = strlen(f);
		while (len > 0 && isspace((unsigned char)f[len - 1]))
			len--;
		if (len == strlen(name) && strncasecmp(f, name, len) == 0)
			return (int)i;
	}
	return -1;
}

static int parse_column_number(const char *s)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < 1 || v > 100000)
		return -1;
	return (int)v;
}

/* content_scores - the column where most records after the first hold an address */
static int best_column_by_content(const struct columns_record *rec, size_t n, size_t first)
{
	size_t width = 0;
	int best = -1;
	size_t best_hits = 0;

	for (size_t r = 0; r < n; r++)
		if (rec[r].nfields > width)
			width = rec[r].nfields;
	for (size_t c = 0; c < width; c++) {
		size_t hits = 0;
		for (size_t r = first; r < n; r++)
			if (c < rec[r].nfields && looks_like_address(rec[r].field[c]))
				hits++;
		if (hits > best_hits) {
			best_hits = hits;
			best = (int)c;
		}
	}
	return best;
}

int columns_detect(const struct columns_record *rec, size_t n, const char *column,
                   struct columns_guess *g, char *err, size_t errlen)
{
	int num;

	g->has_header = 0;
	g->email_col = 0;
	g->how = "single column";
	if (n == 0)
		return 0;

	if (column != NULL) {
		g->how = "--column";
		num = parse_column_number(column);
		if (num > 0) {
			g->email_col = num - 1;
			g->has_header = (size_t)g->email_col < rec[0].nfields &&
			                !looks_like_address(rec[0].field[g->email_col]) &&
			                (columns_is_header_name(rec[0].field[g->email_col]) ||
			                 n == 1 || best_column_by_content(rec, n, 1) == g->email_col);
			return 0;
		}
		g->email_col = column_by_name(&rec[0], column);
		if (g->email_col < 0) {
			snprintf(err, errlen, "no column named \"%s\" in the first line", column);
			return -1;
		}
		g->has_header = 1;
		return 0;
	}

	for (size_t i = 0; i < rec[0].nfields; i++) {
		if (columns_is_header_name(rec[0].field[i])) {
			g->has_header = 1;
			g->email_col = (int)i;
			g->how = "header name";
			return 0;
		}
	}

	num = best_column_by_content(rec, n, 0);
	if (num < 0) {
		if (rec[0].nfields <= 1) /* a one-column list of junk: every row is checked anyway */
			return 0;
		snprintf(err, errlen,
		         "cannot tell which column holds the addresses (no header named email, e-mail, "
		         "mail... and no column of addresses in the first %zu rows); use --column NAME|N",
		         n);
		return -1;
	}
	g->email_col = num;
	g->how = "content";
	/* The first record is a header when its cell in that column is not an address while
	 * later ones are. A header cell never holds an '@'; a broken address usually does. */
	g->has_header = n > 1 && (size_t)num < rec[0].nfields &&
	                looks_like_header_cell(rec[0].field[num]) &&
	                best_column_by_content(rec, n, 1) == num;
	return 0;
}
