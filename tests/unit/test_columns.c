/*
 * test_columns - header and email-column detection, table-driven: each case is a tiny sample
 * written as lines of '|'-separated cells.
 */
#include <stdlib.h>

#include "importers/columns.h"
#include "tests/check.h"

struct col_case {
	const char *name;
	const char *sample;   /* records separated by '\n', cells by '|' */
	const char *column;   /* --column, or NULL */
	int ok;               /* detection succeeds */
	int has_header;
	int email_col;
};

static const struct col_case cases[] = {
	{"header named email", "email|name\na@b.com|A\nc@d.com|C", NULL, 1, 1, 0},
	{"header E-Mail Address in col 3", "first|last|E-Mail Address\nA|B|a@b.com", NULL, 1, 1, 2},
	{"header email_address", "id|email_address\n1|a@b.com", NULL, 1, 1, 1},
	{"header Mail", "Name|Mail\nx|y@z.org", NULL, 1, 1, 1},
	{"header courriel", "nom|courriel\nx|y@z.fr", NULL, 1, 1, 1},
	{"no header, email by content col 2", "John|john@x.com|US\nJane|jane@y.com|DE", NULL, 1, 0, 1},
	{"unnamed header, email by content", "who|contact\nJohn|john@x.com\nJane|jane@y.com", NULL, 1, 1, 1},
	{"plain list without header", "a@b.com\nc@d.com\ne@f.com", NULL, 1, 0, 0},
	{"plain list with header", "email\na@b.com", NULL, 1, 1, 0},
	{"plain list, unnamed header", "Addresses\na@b.com\nc@d.com", NULL, 1, 1, 0},
	{"plain list, first row broken address", "john@\na@b.com\nc@d.com", NULL, 1, 0, 0},
	{"plain list, first row junk", "n/a\na@b.com\nc@d.com", NULL, 1, 0, 0},
	{"plain list of junk only", "foo\nbar", NULL, 1, 0, 0},
	{"no email anywhere, several columns", "a|b\nc|d", NULL, 0, 0, 0},
	{"--column by name", "id|Contact\n1|a@b.com", "contact", 1, 1, 1},
	{"--column by name missing", "id|Contact\n1|a@b.com", "email", 0, 0, 0},
	{"--column by number, header", "id|who\n1|a@b.com\n2|c@d.com", "2", 1, 1, 1},
	{"--column by number, no header", "1|a@b.com\n2|c@d.com", "2", 1, 0, 1},
	{"--column number beats content", "a@b.com|x@y.com\nc@d.com|z@w.com", "2", 1, 0, 1},
	{"mostly addresses in col 1", "x@y.com|q\nbad|r\nz@w.com|s", NULL, 1, 0, 0},
	{"header name wins over content", "email|backup\nbad|a@b.com\nworse|c@d.com", NULL, 1, 1, 0},
	{"empty sample", "", NULL, 1, 0, 0},
};

/* parse_sample - split a case's text into owned records */
static size_t parse_sample(const char *text, struct columns_record *out, size_t max)
{
	size_t n = 0;
	const char *p = text;

	while (*p && n < max) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		struct columns_record *r = &out[n++];
		r->nfields = 1;
		for (size_t i = 0; i < len; i++)
			r->nfields += p[i] == '|';
		r->field = calloc(r->nfields, sizeof(char *));
		size_t f = 0, start = 0;
		for (size_t i = 0; i <= len; i++) {
			if (i == len || p[i] == '|') {
				r->field[f] = strndup(p + start, i - start);
				f++;
				start = i + 1;
			}
		}
		p += len + (eol ? 1 : 0);
	}
	return n;
}

static void free_sample(struct columns_record *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t f = 0; f < r[i].nfields; f++)
			free(r[i].field[f]);
		free(r[i].field);
	}
}

static void test_detect_table(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct col_case *c = &cases[i];
		struct columns_record rec[16];
		struct columns_guess g;
		char err[256] = "";
		size_t n = parse_sample(c->sample, rec, 16);
		int rc = columns_detect(rec, n, c->column, &g, err, sizeof err);

		CHECK(rc == (c->ok ? 0 : -1), "%s: rc %d (%s)", c->name, rc, err);
		if (rc == 0 && c->ok) {
			CHECK(g.has_header == c->has_header, "%s: has_header %d", c->name, g.has_header);
			CHECK(g.email_col == c->email_col, "%s: email_col %d", c->name, g.email_col);
		}
		if (rc < 0)
			CHECK(err[0] != '\0', "%s: failure explains itself", c->name);
		free_sample(rec, n);
	}
}

static void test_header_names(void)
{
	CHECK(columns_is_header_name("Email"), "Email");
	CHECK(columns_is_header_name(" E-mail "), "E-mail");
	CHECK(columns_is_header_name("EMAIL_ADDRESS"), "EMAIL_ADDRESS");
	CHECK(!columns_is_header_name("name"), "name");
	CHECK(!columns_is_header_name("a@b.com"), "an address");
	CHECK(!columns_is_header_name(""), "empty");
}

TESTS(test_detect_table, test_header_names)
