/*
 * test_csv - the CSV reader (importers/csv.c) over real files read through instream: RFC 4180
 * cases, line ends, BOM, delimiter sniffing, plain lists, malformed input, the max_record and
 * CSV_MAX_FIELDS bounds, records across the read buffer's boundary, and fields written by
 * common/csvquote.c read back as themselves.
 *
 * Inputs are written to a private directory under $TMPDIR (or /tmp), removed at exit.
 * Records are rendered as text ("LINE+LINES [field][field] FLAGS") so a table row states the
 * whole expected result.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/csvquote.h"
#include "importers/csv.h"
#include "importers/instream.h"
#include "tests/check.h"
#include "tests/tmpdir.h"

#define CHUNK (256 * 1024) /* csv.c's read buffer, for the boundary tests */

/* ---------------------------------------------------------------- helpers */

static int tmpseq;

/* tmp_write - a new file holding DATA; returns its path (static, overwritten by the next call) */
static const char *tmp_write(const void *data, size_t n)
{
	static char path[1024];
	FILE *f;

	if (tmpdir_make("test_csv") != 0) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(path, sizeof path, "%s/in%d.csv", tmpdir, ++tmpseq);
	f = fopen(path, "wb");
	if (f == NULL || (n > 0 && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	return path;
}

/* a growing string */
struct buf {
	char *s;
	size_t len, cap;
};

static void buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		if (b->s == NULL)
			abort();
	}
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

__attribute__((format(printf, 2, 3)))
static void buf_printf(struct buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	buf_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* render - one record as "LINE+LINES [f1][f2] FLAGS\n"; bytes escaped C-style */
static void render(struct buf *b, const struct csv_record *rec, uint64_t line_base)
{
	static const char letters[] = "USLN8M"; /* in csv_flag bit order */

	buf_printf(b, "%llu+%llu ", (unsigned long long)(rec->line - line_base),
	           (unsigned long long)rec->lines);
	for (size_t i = 0; i < rec->nfields; i++) {
		buf_add(b, "[", 1);
		for (size_t k = 0; k < rec->len[i]; k++) {
			unsigned char c = (unsigned char)rec->field[i][k];

			if (c == '\n')
				buf_add(b, "\\n", 2);
			else if (c == '\r')
				buf_add(b, "\\r", 2);
			else if (c == '\t')
				buf_add(b, "\\t", 2);
			else if (c == 0)
				buf_add(b, "\\0", 2);
			else if (c < 0x20 || c >= 0x7f)
				buf_printf(b, "\\x%02x", c);
			else
				buf_add(b, &c, 1);
		}
		buf_add(b, "]", 1);
	}
	if (rec->flags) {
		if (rec->nfields > 0)
			buf_add(b, " ", 1);
		for (int k = 0; letters[k]; k++)
			if (rec->flags & (1u << k))
				buf_add(b, &letters[k], 1);
	}
	buf_add(b, "\n", 1);
}

/* the outcome of reading one input */
struct parsed {
	char *text;       /* every record rendered */
	size_t records;
	int rc;           /* the last csv_next result */
	char delim;
	int bom;
	char err[512];
};

/* parse_path - read PATH to the end (or error) and render it */
static void parse_path(const char *path, enum csv_mode mode, char delim, size_t max_record,
                       struct parsed *out)
{
	char err[512];
	struct instream *in = instream_open(path, err, sizeof err);
	struct csv_reader *r;
	struct csv_record rec;
	struct buf b = {0};

	memset(out, 0, sizeof *out);
	buf_add(&b, "", 0);
	if (in == NULL) {
		out->rc = -2;
		snprintf(out->err, sizeof out->err, "%s", err);
		out->text = b.s;
		return;
	}
	r = csv_open(in, mode, delim, max_record);
	if (r == NULL)
		abort();
	while ((out->rc = csv_next(r, &rec, out->err, sizeof out->err)) == 1) {
		out->records++;
		render(&b, &rec, 0);
	}
	out->delim = csv_delimiter(r);
	out->bom = csv_had_bom(r);
	csv_close(r);
	instream_close(in);
	out->text = b.s;
}

static void parse_mem(const void *data, size_t n, enum csv_mode mode, char delim,
                      size_t max_record, struct parsed *out)
{
	parse_path(tmp_write(data, n), mode, delim, max_record, out);
}

#define IN(s) s, sizeof(s) - 1

struct row {
	const char *name;
	const char *in;
	size_t inlen;
	const char *want;
};

/* run_rows - a table of inputs in one mode; every failing row is reported */
static void run_rows(const struct row *rows, size_t n, enum csv_mode mode, char delim,
                     size_t max_record)
{
	for (size_t i = 0; i < n; i++) {
		struct parsed p;

		parse_mem(rows[i].in, rows[i].inlen, mode, delim, max_record, &p);
		CHECK_INT(p.rc, 0, rows[i].name);
		CHECK_STR(p.text, rows[i].want, rows[i].name);
		free(p.text);
	}
}

/* ---------------------------------------------------------------- RFC 4180 and line ends */

static void test_rfc4180(void)
{
	static const struct row rows[] = {
		{"simple", IN("a,b,c\n1,2,3\n"), "1+1 [a][b][c]\n2+1 [1][2][3]\n"},
		{"no final break", IN("a,b\n1,2"), "1+1 [a][b]\n2+1 [1][2]\n"},
		{"crlf", IN("a,b\r\n1,2\r\n"), "1+1 [a][b]\n2+1 [1][2]\n"},
		{"lone cr", IN("a,b\r1,2\r"), "1+1 [a][b]\n2+1 [1][2]\n"},
		{"mixed ends", IN("a\r\nb\nc\rd"), "1+1 [a]\n2+1 [b]\n3+1 [c]\n4+1 [d]\n"},
		{"cr cr", IN("a\r\rb"), "1+1 [a]\n2+1 []\n3+1 [b]\n"},
		{"lf cr", IN("a\n\rb"), "1+1 [a]\n2+1 []\n3+1 [b]\n"},
		{"quoted delimiter", IN("\"a,b\",c\n"), "1+1 [a,b][c]\n"},
		{"doubled quotes", IN("\"a\"\"b\",\"\"\"\"\n"), "1+1 [a\"b][\"]\n"},
		{"quoted lf", IN("\"a\nb\",c\nx,y\n"), "1+2 [a\\nb][c]\n3+1 [x][y]\n"},
		{"quoted crlf", IN("\"a\r\nb\",c\r\nx\r\n"), "1+2 [a\\r\\nb][c]\n3+1 [x]\n"},
		{"quoted lone cr", IN("\"a\rb\"\nx"), "1+2 [a\\rb]\n3+1 [x]\n"},
		{"quoted many lines", IN("\"1\n2\n\n3\",x\nnext\n"), "1+4 [1\\n2\\n\\n3][x]\n5+1 [next]\n"},
		{"quoted break at end", IN("x,\"a\n\"\ny\n"), "1+2 [x][a\\n]\n3+1 [y]\n"},
		{"empty fields", IN(",,\n"), "1+1 [][][]\n"},
		{"empty quoted", IN("\"\",x\n\"\"\n"), "1+1 [][x]\n2+1 []\n"},
		{"blank lines", IN("a\n\nb\n\n"), "1+1 [a]\n2+1 []\n3+1 [b]\n4+1 []\n"},
		{"blank crlf", IN("a\r\n\r\nb"), "1+1 [a]\n2+1 []\n3+1 [b]\n"},
		{"trailing delimiter", IN("a,\n"), "1+1 [a][]\n"},
		{"only a break", IN("\n"), "1+1 []\n"},
		{"only crlf", IN("\r\n"), "1+1 []\n"},
		{"spaces kept", IN(" a , b \n"), "1+1 [ a ][ b ]\n"},
		{"quoted at eof", IN("\"abc\""), "1+1 [abc]\n"},
		{"quoted then delim at eof", IN("\"abc\","), "1+1 [abc][]\n"},
		{"header only", IN("email,name\n"), "1+1 [email][name]\n"},
		{"empty input", IN(""), ""},
		{"tab is data", IN("a\tb,c\n"), "1+1 [a\\tb][c]\n"},
		{"quoted crlf then record", IN("\"a\r\n\r\nb\"\r\nz"), "1+3 [a\\r\\n\\r\\nb]\n4+1 [z]\n"},
	};

	run_rows(rows, sizeof rows / sizeof rows[0], CSV_MODE_CSV, ',', 0);
}

static void test_malformed(void)
{
	static const struct row rows[] = {
		{"stray quote", IN("ab\"c,d\n"), "1+1 [ab\"c][d] S\n"},
		{"text after closing quote", IN("\"ab\"c,d\n"), "1+1 [abc][d] S\n"},
		{"quote after text after quote", IN("\"a\"b\"c\",d\n"), "1+1 [ab\"c\"][d] S\n"},
		{"space before quote", IN(" \"a\",b\n"), "1+1 [ \"a\"][b] S\n"},
		{"space after closing quote", IN("\"a\" ,b\n"), "1+1 [a ][b] S\n"},
		{"unterminated", IN("a,\"bc\nd"), "1+2 [a][bc\\nd] U\n"},
		{"unterminated after break", IN("a,\"bc\n"), "1+2 [a][bc\\n] U\n"},
		{"lone quote", IN("\""), "1+1 [] U\n"},
		{"unterminated keeps earlier", IN("x\ny\n\"z,w\n"), "1+1 [x]\n2+1 [y]\n3+2 [z,w\\n] U\n"},
		{"nul", IN("a\0b,c\n"), "1+1 [a\\0b][c] N\n"},
		{"nul quoted", IN("\"a\0\",c\n"), "1+1 [a\\0][c] N\n"},
		{"nul alone", IN("\0\n"), "1+1 [\\0] N\n"},
		{"nul next record clean", IN("\0\nok\n"), "1+1 [\\0] N\n2+1 [ok]\n"},
		{"bad utf8", IN("\xff,a\n"), "1+1 [\\xff][a] 8\n"},
		{"good utf8", IN("\xc3\xa9,\xe2\x82\xac,\xf0\x9f\x98\x80\n"),
		 "1+1 [\\xc3\\xa9][\\xe2\\x82\\xac][\\xf0\\x9f\\x98\\x80]\n"},
		{"overlong", IN("\xc0\x80\n"), "1+1 [\\xc0\\x80] 8\n"},
		{"overlong 3", IN("\xe0\x80\xaf\n"), "1+1 [\\xe0\\x80\\xaf] 8\n"},
		{"surrogate", IN("\xed\xa0\x80\n"), "1+1 [\\xed\\xa0\\x80] 8\n"},
		{"above max", IN("\xf4\x90\x80\x80\n"), "1+1 [\\xf4\\x90\\x80\\x80] 8\n"},
		{"truncated sequence", IN("a\xe2\x82\n"), "1+1 [a\\xe2\\x82] 8\n"},
		{"continuation alone", IN("a\x80z\n"), "1+1 [a\\x80z] 8\n"},
		{"sequence split by delimiter", IN("\xc3,\xa9\n"), "1+1 [\\xc3][\\xa9] 8\n"},
		{"bad utf8 long ascii run", IN("abcdefghijklmnopqrstuvwxyz\xff\n"),
		 "1+1 [abcdefghijklmnopqrstuvwxyz\\xff] 8\n"},
		{"flags are per record", IN("\"a\"b\nc\n"), "1+1 [ab] S\n2+1 [c]\n"},
	};

	run_rows(rows, sizeof rows / sizeof rows[0], CSV_MODE_CSV, ',', 0);
}

static void test_other_delimiters(void)
{
	static const struct row semi[] = {
		{"semicolon", IN("a;\"b;c\";d,e\n"), "1+1 [a][b;c][d,e]\n"},
	};
	static const struct row tab[] = {
		{"tab", IN("a\t\"b\tc\"\t\n"), "1+1 [a][b\\tc][]\n"},
	};
	static const struct row pipe[] = {
		{"pipe", IN("a|b\"|c\n"), "1+1 [a][b\"][c] S\n"},
	};

	run_rows(semi, 1, CSV_MODE_CSV, ';', 0);
	run_rows(tab, 1, CSV_MODE_CSV, '\t', 0);
	run_rows(pipe, 1, CSV_MODE_CSV, '|', 0);
}

static void test_plain_mode(void)
{
	static const struct row rows[] = {
		{"plain", IN("a@b.com\nc@d.com"), "1+1 [a@b.com]\n2+1 [c@d.com]\n"},
		{"quote char kept", IN("o\"brien@x.com\n\"q\"@x.com\r\n\"open\n"),
		 "1+1 [o\"brien@x.com]\n2+1 [\"q\"@x.com]\n3+1 [\"open]\n"},
		{"delimiters are data", IN("a,b;c\n"), "1+1 [a,b;c]\n"},
		{"crlf and cr stripped", IN("a\r\nb\rc\n"), "1+1 [a]\n2+1 [b]\n3+1 [c]\n"},
		{"blank lines", IN("a\n\n\nb\n"), "1+1 [a]\n2+1 []\n3+1 []\n4+1 [b]\n"},
		{"nul", IN("a\0b\n"), "1+1 [a\\0b] N\n"},
		{"bad utf8", IN("\xe9t\xe9@x.fr\n"), "1+1 [\\xe9t\\xe9@x.fr] 8\n"},
	};

	run_rows(rows, sizeof rows / sizeof rows[0], CSV_MODE_PLAIN, 0, 0);
}

/* ---------------------------------------------------------------- BOM and sniffing */

static void test_bom(void)
{
	struct parsed p;

	parse_mem(IN("\xef\xbb\xbf" "email,name\r\na@b.com,A\r\n"), CSV_MODE_SNIFF, 0, 0, &p);
	CHECK_INT(p.bom, 1, "bom seen");
	CHECK_INT(p.delim, ',', "delimiter after bom");
	CHECK_STR(p.text, "1+1 [email][name]\n2+1 [a@b.com][A]\n", "bom skipped");
	free(p.text);

	parse_mem(IN("\xef\xbb\xbf"), CSV_MODE_SNIFF, 0, 0, &p);
	CHECK_INT(p.bom, 1, "bom only");
	CHECK_INT(p.records, 0, "bom only: no records");
	free(p.text);

	parse_mem(IN("\xef\xbb\xbf\"q\",x\n"), CSV_MODE_CSV, ',', 0, &p);
	CHECK_STR(p.text, "1+1 [q][x]\n", "quote right after bom");
	free(p.text);

	parse_mem(IN("\xef\xbb"), CSV_MODE_PLAIN, 0, 0, &p);
	CHECK_INT(p.bom, 0, "half a bom is data");
	CHECK_STR(p.text, "1+1 [\\xef\\xbb] 8\n", "half a bom");
	free(p.text);

	parse_mem(IN("a\xef\xbb\xbf\n"), CSV_MODE_PLAIN, 0, 0, &p);
	CHECK_INT(p.bom, 0, "bom later is data");
	free(p.text);

	parse_mem(IN("email\n"), CSV_MODE_SNIFF, 0, 0, &p);
	CHECK_INT(p.bom, 0, "no bom");
	free(p.text);
}

struct sniff_row {
	const char *name;
	const char *in;
	size_t inlen;
	char want_delim;
	const char *want; /* NULL: not checked */
};

static void test_sniff(void)
{
	static const struct sniff_row rows[] = {
		{"comma", IN("email,name\na@b.com,A\nc@d.com,B\n"), ',', NULL},
		{"semicolon", IN("email;name\na@b.com;Doe, John\nc@d.com;X\n"), ';',
		 "1+1 [email][name]\n2+1 [a@b.com][Doe, John]\n3+1 [c@d.com][X]\n"},
		{"tab", IN("email\tname\ta@b.com\tA\n"), '\t', NULL},
		{"tab rows", IN("email\tname\na@b.com\tA, B\nc@d\tC\n"), '\t', NULL},
		{"pipe", IN("email|name|x\na@b.com|A|1\n"), '|', NULL},
		{"plain list", IN("a@b.com\nc@d.com\n"), 0, "1+1 [a@b.com]\n2+1 [c@d.com]\n"},
		{"plain with quote char", IN("o\"brien@x.com\nb@c.com\n"), 0,
		 "1+1 [o\"brien@x.com]\n2+1 [b@c.com]\n"},
		{"plain with a stray comma",
		 IN("a@b\nc@d\ne@f\ng@h\ni@j\nk,l@m\n"), 0, NULL},
		{"quotes hide commas", IN("email;name\n\"a@b.com\";\"Doe, John, Jr\"\n"), ';', NULL},
		{"quotes hide the other", IN("a,\"x;y;z\"\nb,\"p;q\"\n"), ',', NULL},
		{"comma with tags column", IN("email,tags\na@b,x;y\nc@d,z\n"), ',', NULL},
		{"quoted newline in sample", IN("\"a\nb\",c\nd,e\n"), ',',
		 "1+2 [a\\nb][c]\n3+1 [d][e]\n"},
		{"bom and tab", IN("\xef\xbb\xbf" "email\ta\nx\ty\n"), '\t', NULL},
		{"header only", IN("email,name\n"), ',', "1+1 [email][name]\n"},
		{"header only plain", IN("email\n"), 0, "1+1 [email]\n"},
		{"empty", IN(""), 0, ""},
		{"blank lines ignored", IN("\n\na;b\n\nc;d\n"), ';', NULL},
		{"more columns wins a tie", IN("a;b,c;d\ne;f,g;h\n"), ';', NULL},
		{"order breaks a full tie", IN("a;b,c\nd;e,f\n"), ',', NULL},
		{"one line no break", IN("a|b"), '|', "1+1 [a][b]\n"},
		{"crlf", IN("a;b\r\nc;d\r\n"), ';', "1+1 [a][b]\n2+1 [c][d]\n"},
		{"one quoted column", IN("\"email\"\r\n\"a@b.com\"\r\n\r\n\"say \"\"x\"\"\"\n\"c\nd\""), ',',
		 "1+1 [email]\n2+1 [a@b.com]\n3+1 []\n4+1 [say \"x\"]\n5+2 [c\\nd]\n"},
		{"some quoted is plain", IN("\"email\"\na@b.com\n"), 0, "1+1 [\"email\"]\n2+1 [a@b.com]\n"},
		{"quoted local part is plain", IN("\"john doe\"@x.com\n\"a\"@b.c\n"), 0, NULL},
		{"one quoted unterminated", IN("\"a@b.com\n"), 0, "1+1 [\"a@b.com]\n"},
		{"lone cr file", IN("a\tb\rc\td\r"), '\t', "1+1 [a][b]\n2+1 [c][d]\n"},
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct parsed p;

		parse_mem(rows[i].in, rows[i].inlen, CSV_MODE_SNIFF, 0, 0, &p);
		CHECK_INT(p.delim, rows[i].want_delim, rows[i].name);
		CHECK_INT(p.rc, 0, rows[i].name);
		if (rows[i].want != NULL)
			CHECK_STR(p.text, rows[i].want, rows[i].name);
		free(p.text);
	}
}

/* test_sniff_window - only the first 50 records decide, and a record cut by the 64 KiB sample
 * does not count; the sniffed bytes are then parsed like the rest */
static void test_sniff_window(void)
{
	struct buf b = {0};
	struct parsed p;

	for (int i = 0; i < 50; i++)
		buf_printf(&b, "a%d;b\n", i);
	for (int i = 0; i < 200; i++)
		buf_printf(&b, "a,b,c%d\n", i);
	parse_mem(b.s, b.len, CSV_MODE_SNIFF, 0, 0, &p);
	CHECK_INT(p.delim, ';', "first 50 records decide");
	CHECK_INT(p.records, 250, "all records read");
	free(p.text);
	free(b.s);

	/* one long record, then one cut by the 64 KiB sample's end: the cut one does not count
	 * (with it, the comma would tie and win) */
	memset(&b, 0, sizeof b);
	while (b.len < 60000)
		buf_add(&b, "u", 1);
	buf_add(&b, "\n", 1);
	for (int i = 0; i < 5000; i++)
		buf_add(&b, "x,", 2);
	buf_add(&b, "\nlast@example.com\n", 18);
	parse_mem(b.s, b.len, CSV_MODE_SNIFF, 0, 0, &p);
	CHECK_INT(p.delim, 0, "cut record left out");
	CHECK_INT(p.records, 3, "records");
	CHECK(p.text != NULL && strstr(p.text, "3+1 [last@example.com]\n") != NULL, "last record read");
	free(p.text);
	free(b.s);

	/* the same when the whole input is in the sample: the comma wins the tie */
	memset(&b, 0, sizeof b);
	buf_add(&b, "uuuu\nx,x,x\n", 11);
	parse_mem(b.s, b.len, CSV_MODE_SNIFF, 0, 0, &p);
	CHECK_INT(p.delim, ',', "whole input counts every record");
	free(p.text);
	free(b.s);

	/* a stdin-like source: the sample bytes are not read twice nor lost */
	memset(&b, 0, sizeof b);
	for (int i = 0; i < 20000; i++)
		buf_printf(&b, "u%d@x.com,N%d\n", i, i);
	parse_mem(b.s, b.len, CSV_MODE_SNIFF, 0, 0, &p);
	CHECK_INT(p.records, 20000, "every row once");
	CHECK(strncmp(p.text, "1+1 [u0@x.com][N0]\n2+1 [u1@x.com][N1]\n", 38) == 0, "first rows");
	CHECK(strstr(p.text, "20000+1 [u19999@x.com][N19999]\n") != NULL, "last row");
	free(p.text);
	free(b.s);
}

/* ---------------------------------------------------------------- bounds */

static void test_max_record_exact(void)
{
	static const struct row rows8[] = {
		{"fits", IN("abcdefg\n"), "1+1 [abcdefg]\n"},
		{"one over", IN("abcdefgh\nx\n"), "1+1 L\n2+1 [x]\n"},
		{"fields count their nul", IN("a,b,c,d\na,b,c,d,\nz"), "1+1 [a][b][c][d]\n2+1 L\n3+1 [z]\n"},
		{"quoted over", IN("\"abcdefgh\"\ny\n"), "1+1 L\n2+1 [y]\n"},
		{"over at a quoted crlf", IN("\"abcdef\r\nxy\"\nok\n"), "1+1 L\n2+1 [xy\"] S\n3+1 [ok]\n"},
		{"over at a quoted lf", IN("\"abcdefg\nxy\nok\n"), "1+1 L\n2+1 [xy]\n3+1 [ok]\n"},
		{"over at a quoted cr", IN("\"abcdefg\rxy\r\nok\n"), "1+1 L\n2+1 [xy]\n3+1 [ok]\n"},
		{"over then crlf", IN("abcdefghij\r\nok\r\n"), "1+1 L\n2+1 [ok]\n"},
		{"over at eof", IN("abcdefghij"), "1+1 L\n"},
		{"over with flags", IN("a\"\0bcdefghij\nok\n"), "1+1 L\n2+1 [ok]\n"},
		{"empty fields", IN(",,,,,,,\n,,,,,,,,\nq\n"), "1+1 [][][][][][][][]\n2+1 L\n3+1 [q]\n"},
	};
	static const struct row rows1[] = {
		{"blank fits in 1", IN("\n\n"), "1+1 []\n2+1 []\n"},
		{"a byte does not", IN("a\n\nb"), "1+1 L\n2+1 []\n3+1 L\n"},
		{"delimiter does not", IN(",\n"), "1+1 L\n"},
	};

	run_rows(rows8, sizeof rows8 / sizeof rows8[0], CSV_MODE_CSV, ',', 8);
	run_rows(rows1, sizeof rows1 / sizeof rows1[0], CSV_MODE_CSV, ',', 1);
}

/* read_all - parse PATH, calling fn for every record; returns the last csv_next result */
static int read_all(const char *path, enum csv_mode mode, char delim, size_t max_record,
                    void (*fn)(void *ctx, const struct csv_record *rec, size_t memory),
                    void *ctx, char *err, size_t errlen)
{
	struct instream *in = instream_open(path, err, errlen);
	struct csv_reader *r;
	struct csv_record rec;
	int rc;

	if (in == NULL)
		return -2;
	r = csv_open(in, mode, delim, max_record);
	while ((rc = csv_next(r, &rec, err, errlen)) == 1)
		fn(ctx, &rec, csv_memory(r));
	csv_close(r);
	instream_close(in);
	return rc;
}

struct long_ctx {
	struct buf text;      /* rendered records, except the long one's fields */
	size_t peak;          /* csv_memory high-water mark */
	size_t records;
};

static void long_collect(void *ctx, const struct csv_record *rec, size_t memory)
{
	struct long_ctx *c = ctx;

	if (memory > c->peak)
		c->peak = memory;
	c->records++;
	if (c->records <= 8)
		render(&c->text, rec, 0);
}

#define MIB (1024 * 1024)
/* what the reader may hold beyond max_record: the read buffer, the field arrays, itself */
#define READER_OVERHEAD (CHUNK + CSV_MAX_FIELDS * 16 + 4096)

static void test_max_record_10mb(void)
{
	size_t big = 10 * MIB;
	struct buf b = {0};
	struct long_ctx c = {{0}, 0, 0};
	char *line = malloc(big);
	char err[512];
	int rc;

	memset(line, 'x', big);
	buf_add(&b, "email,name\n", 11);
	buf_add(&b, line, big);
	buf_add(&b, "\na@b.com,A\r\nc@d.com,C", 21);
	rc = read_all(tmp_write(b.s, b.len), CSV_MODE_SNIFF, 0, MIB, long_collect, &c, err, sizeof err);
	CHECK_INT(rc, 0, "read to the end");
	CHECK_STR(c.text.s, "1+1 [email][name]\n2+1 L\n3+1 [a@b.com][A]\n4+1 [c@d.com][C]\n",
	          "10 MB line skipped");
	CHECK(c.peak <= MIB + READER_OVERHEAD, "memory bounded: peak %zu", c.peak);
	free(c.text.s);

	/* the same line quoted, and with a closing quote only at the very end */
	b.len = 0;
	buf_add(&b, "email,name\n\"", 12);
	buf_add(&b, line, big);
	buf_add(&b, "\",z\na@b.com,A\n", 14);
	memset(&c, 0, sizeof c);
	rc = read_all(tmp_write(b.s, b.len), CSV_MODE_CSV, ',', MIB, long_collect, &c, err, sizeof err);
	CHECK_INT(rc, 0, "quoted: read to the end");
	CHECK_STR(c.text.s, "1+1 [email][name]\n2+1 L\n3+1 [a@b.com][A]\n", "quoted 10 MB skipped");
	CHECK(c.peak <= MIB + READER_OVERHEAD, "memory bounded: peak %zu", c.peak);
	free(c.text.s);
	free(b.s);
	free(line);
}

struct resync_ctx {
	size_t records;
	uint64_t first_lines;  /* lines of the too-long record */
	uint64_t expect_line;  /* where the next record must start */
	size_t bad;            /* records after the long one that are not [x@y.com][Z] */
	int first_too_long;
	size_t peak;
};

static void resync_collect(void *ctx, const struct csv_record *rec, size_t memory)
{
	struct resync_ctx *c = ctx;

	if (memory > c->peak)
		c->peak = memory;
	if (c->records++ == 0) {
		c->first_too_long = rec->flags == CSV_TOO_LONG && rec->nfields == 0 && rec->line == 1;
		c->first_lines = rec->lines;
	} else if (rec->line != c->expect_line || rec->nfields != 2 || rec->flags != 0 ||
	           strcmp(rec->field[0], "x@y.com") != 0 || strcmp(rec->field[1], "Z") != 0) {
		c->bad++;
	}
	c->expect_line = rec->line + rec->lines;
}

/* test_unterminated_bounded - an opening quote that never closes costs about max_record
 * bytes of input, not the rest of the file */
static void test_unterminated_bounded(void)
{
	size_t max = 64 * 1024, nlines = 200000;
	struct buf b = {0};
	struct resync_ctx c;
	char err[512];
	int rc;

	buf_add(&b, "a,\"start\n", 9);
	for (size_t i = 0; i < nlines; i++)
		buf_add(&b, "x@y.com,Z\n", 10);
	memset(&c, 0, sizeof c);
	rc = read_all(tmp_write(b.s, b.len), CSV_MODE_CSV, ',', max, resync_collect, &c, err, sizeof err);
	CHECK_INT(rc, 0, "read to the end");
	CHECK(c.first_too_long, "first record is the too-long one");
	/* the record crosses the limit after max bytes, i.e. around line max / 10 */
	CHECK(c.first_lines >= max / 10 && c.first_lines <= max / 10 + 2,
	      "resync right after the limit: %llu lines", (unsigned long long)c.first_lines);
	CHECK_INT(c.records, 1 + nlines + 1 - c.first_lines, "every later line read");
	CHECK_INT(c.bad, 0, "later records intact, line numbers right");
	CHECK(c.peak <= max + READER_OVERHEAD, "memory bounded: peak %zu", c.peak);
	free(b.s);
}

/* test_long_quoted_resync - a too-long quoted field that does close: the documented cost is
 * that its lines after the limit read as records; the file's later records are unharmed */
static void test_long_quoted_resync(void)
{
	struct buf b = {0};
	struct parsed p;
	const char *last;

	buf_add(&b, "\"", 1);
	for (int i = 0; i < 100; i++) {
		for (int k = 0; k < 99; k++)
			buf_add(&b, "q", 1);
		buf_add(&b, "\n", 1);
	}
	buf_add(&b, "qqq\",end\nnext,row\n", 18);
	parse_mem(b.s, b.len, CSV_MODE_CSV, ',', 1000, &p);
	CHECK_INT(p.rc, 0, "read to the end");
	CHECK(strncmp(p.text, "1+10 L\n11+1 [", 13) == 0, "too long over 10 lines: %.20s", p.text);
	last = strrchr(p.text, '\n');
	while (last > p.text && last[-1] != '\n')
		last--;
	CHECK_STR(last, "102+1 [next][row]\n", "last record and its line");
	CHECK(strstr(p.text, "101+1 [qqq\"][end] S\n") != NULL, "closing quote read as stray");
	free(p.text);
	free(b.s);
}

static void test_too_many_fields(void)
{
	struct buf b = {0};
	struct parsed p;
	struct buf want = {0};

	for (int i = 0; i < 5000; i++)
		buf_printf(&b, i == 4500 ? "\"q,r\"," : "%d,", i);
	buf_add(&b, "end\nnext\n", 9);
	parse_mem(b.s, b.len, CSV_MODE_CSV, ',', 0, &p);
	CHECK_INT(p.records, 2, "records");
	/* the 4096th field holds field 4095 and everything after it, delimiters kept */
	buf_add(&want, "[4094][", 7);
	for (int i = 4095; i < 5000; i++)
		buf_printf(&want, i == 4500 ? "q,r," : "%d,", i);
	buf_add(&want, "end] M\n2+1 [next]\n", 18);
	CHECK(p.text != NULL && strstr(p.text, want.s) != NULL, "joined into the last");
	CHECK(strncmp(p.text, "1+1 [0][1][2]", 13) == 0, "first fields");
	free(p.text);
	free(b.s);
	free(want.s);

	/* exactly CSV_MAX_FIELDS: no flag */
	memset(&b, 0, sizeof b);
	for (int i = 0; i < CSV_MAX_FIELDS - 1; i++)
		buf_add(&b, "a,", 2);
	buf_add(&b, "z\n", 2);
	parse_mem(b.s, b.len, CSV_MODE_CSV, ',', 0, &p);
	CHECK(p.text != NULL && strstr(p.text, "[a][z]\n") != NULL && strchr(p.text, 'M') == NULL,
	      "4096 fields fit");
	free(p.text);
	free(b.s);
}

struct count_ctx {
	size_t records;
	size_t nfields_max;
};

static void count_collect(void *ctx, const struct csv_record *rec, size_t memory)
{
	struct count_ctx *c = ctx;

	(void)memory;
	c->records++;
	if (rec->nfields > c->nfields_max)
		c->nfields_max = rec->nfields;
}

static void test_too_many_fields_count(void)
{
	struct buf b = {0};
	struct count_ctx c = {0, 0};
	char err[256];

	for (int i = 0; i < 20000; i++)
		buf_add(&b, ";", 1);
	buf_add(&b, "\n", 1);
	read_all(tmp_write(b.s, b.len), CSV_MODE_CSV, ';', 0, count_collect, &c, err, sizeof err);
	CHECK_INT(c.nfields_max, CSV_MAX_FIELDS, "nfields capped");
	CHECK_INT(c.records, 1, "one record");
	free(b.s);
}

/* ---------------------------------------------------------------- buffer boundaries */

/* test_chunk_boundary - tricky byte pairs placed across the reader's 256 KiB read boundary:
 * each is read the same as the snippet alone (line numbers shifted by the filler) */
static void test_chunk_boundary(void)
{
	static const struct {
		const char *name;
		const char *s;
		size_t len;
	} snippets[] = {
		{"crlf", IN("ab\r\ncd\r\nef\n")},
		{"cr cr", IN("ab\r\r\rcd\n")},
		{"doubled quote", IN("\"a\"\"\"\"b\",\"\"\"\"\n")},
		{"quote then delim", IN("\"ab\",\"cd\"\r\n")},
		{"quoted crlf", IN("\"a\r\nb\r\n\",x\r\nz\n")},
		{"utf8", IN("\xe2\x82\xac\xe2\x82\xac,\xf0\x9f\x98\x80\n")},
		{"stray", IN("\"ab\"cd\"ef,g\n")},
		{"nul", IN("a\0\0b,\"\0\"\n")},
		{"blank", IN("\n\n\r\n\r\n\n")},
	};
	char filler[32];

	for (size_t s = 0; s < sizeof snippets / sizeof snippets[0]; s++) {
		struct parsed alone;

		parse_mem(snippets[s].s, snippets[s].len, CSV_MODE_CSV, ',', 0, &alone);
		for (size_t shift = 0; shift <= snippets[s].len; shift++) {
			/* filler lines "f,NNNNNN\n" and a pad line so the snippet starts at CHUNK-shift */
			struct buf b = {0};
			struct parsed p;
			size_t start = CHUNK - shift, nfill = 0;
			char ctx[96];
			const char *tail;
			uint64_t fill_lines;

			while (b.len + 9 + 2 <= start) {
				snprintf(filler, sizeof filler, "f,%06zu\n", nfill++ % 1000000);
				buf_add(&b, filler, 9);
			}
			while (b.len + 1 < start)
				buf_add(&b, "p", 1);
			buf_add(&b, "\n", 1);
			fill_lines = nfill + 1;
			buf_add(&b, snippets[s].s, snippets[s].len);
			parse_mem(b.s, b.len, CSV_MODE_CSV, ',', 0, &p);
			snprintf(ctx, sizeof ctx, "%s shifted %zu", snippets[s].name, shift);
			CHECK_INT(p.records, fill_lines + alone.records, ctx);
			/* compare the snippet's records, renumbered */
			tail = p.text;
			for (uint64_t k = 0; k < fill_lines && tail != NULL; k++) {
				tail = strchr(tail, '\n');
				if (tail != NULL)
					tail++;
			}
			if (tail != NULL) {
				struct buf re = {0};
				const char *q = tail;

				buf_add(&re, "", 0);
				while (*q) {
					char *after;
					unsigned long long ln = strtoull(q, &after, 10);
					const char *nl = strchr(after, '\n');

					buf_printf(&re, "%llu", ln - fill_lines);
					buf_add(&re, after, (size_t)(nl - after) + 1);
					q = nl + 1;
				}
				CHECK_STR(re.s, alone.text, ctx);
				free(re.s);
			}
			free(p.text);
			free(b.s);
		}
		free(alone.text);
	}
}

struct seq_ctx {
	size_t records;
	size_t bad;
	uint64_t field_len;
};

static void seq_collect(void *ctx, const struct csv_record *rec, size_t memory)
{
	struct seq_ctx *c = ctx;
	char want[64];

	(void)memory;
	snprintf(want, sizeof want, "%zu", c->records);
	if (rec->nfields != 3 || rec->line != c->records + 1 || rec->lines != 1 ||
	    strcmp(rec->field[0], want) != 0 || rec->len[1] != c->field_len || rec->flags != 0)
		c->bad++;
	c->records++;
}

/* test_many_records - records of many sizes through many read buffers */
static void test_many_records(void)
{
	struct buf b = {0};
	struct seq_ctx c = {0, 0, 300};
	char *mid = malloc(300);
	char err[256];
	int rc;

	memset(mid, 'm', 300);
	for (int i = 0; i < 10000; i++) {
		buf_printf(&b, "%d,\"", i);
		buf_add(&b, mid, 300);
		buf_add(&b, "\",tail\r\n", 8);
	}
	rc = read_all(tmp_write(b.s, b.len), CSV_MODE_SNIFF, 0, 0, seq_collect, &c, err, sizeof err);
	CHECK_INT(rc, 0, "read to the end");
	CHECK_INT(c.records, 10000, "records");
	CHECK_INT(c.bad, 0, "records read wrong");
	free(b.s);
	free(mid);
}

/* dribble - parse DATA written into a pipe on stdin a few bytes at a time */
static void dribble(const char *data, size_t n, enum csv_mode mode, char delim, struct parsed *got)
{
	int fds[2], saved;
	pid_t pid;

	if (pipe(fds) != 0) {
		CHECK(0, "pipe: %s", strerror(errno));
		memset(got, 0, sizeof *got);
		return;
	}
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		for (size_t i = 0; i < n;) {
			size_t k = 1 + i % 5;

			if (k > n - i)
				k = n - i;
			if (write(fds[1], data + i, k) != (ssize_t)k)
				_exit(1);
			i += k;
			usleep(100);
		}
		_exit(0);
	}
	close(fds[1]);
	saved = dup(0);
	dup2(fds[0], 0);
	close(fds[0]);
	parse_path("-", mode, delim, 0, got);
	dup2(saved, 0);
	close(saved);
	waitpid(pid, NULL, 0);
}

/* test_pipe_dribble - the same input through a pipe written a few bytes at a time reads the
 * same as from a file (read boundaries fall everywhere) */
static void test_pipe_dribble(void)
{
	static const char data[] =
		"\xef\xbb\xbf" "email;name;note\r\n"
		"a@b.com;\"Doe; John\";\"line1\r\nline2\"\r\n"
		"c@d.com;\"say \"\"hi\"\"\";x\r"
		"e@f.com;plain;\"\"\n"
		"\n"
		"g@h.com;\"open\"tail;\xc3\xa9\n"
		"i@j.com;\0;z\r\n"
		"k@l.com;\"unterminated\r\nat the end";
	static const enum csv_mode modes[] = {CSV_MODE_SNIFF, CSV_MODE_CSV, CSV_MODE_PLAIN};
	static const char delims[] = {0, ';', 0};

	for (size_t m = 0; m < 3; m++) {
		struct parsed want, got;

		parse_mem(data, sizeof data - 1, modes[m], delims[m], 0, &want);
		dribble(data, sizeof data - 1, modes[m], delims[m], &got);
		CHECK_INT(got.rc, 0, "pipe read to the end");
		CHECK_INT(got.delim, m < 2 ? ';' : 0, "delimiter");
		CHECK_INT(got.bom, 1, "bom from a pipe");
		CHECK_STR(got.text, want.text, "pipe reads like a file");
		CHECK_INT(want.records, m < 2 ? 8 : 10, "records");
		free(want.text);
		free(got.text);
	}
}

/* ---------------------------------------------------------------- written fields read back */

/* test_write_round_trip - written records read back as the same fields */
static void test_write_round_trip(void)
{
	static const char *const fields[] = {
		"a@b.com", "Doe, John", "say \"hi\"", "two\nlines", "cr\ronly", "crlf\r\nend",
		" padded ", "", "\"", "\"\"", ";", "|", "\t", "tab\tin", "é€😀", "trailing\"",
		"\"leading", ",", "\n", "x",
	};
	static const char delims[] = {',', ';', '\t', '|'};
	const size_t nf = sizeof fields / sizeof fields[0];

	for (size_t d = 0; d < sizeof delims; d++) {
		struct buf b = {0};
		struct parsed p;
		char out[128];
		char ctx[32];

		/* record k: fields k, k+1, k+2 (mod nf), then one record per single field */
		for (size_t k = 0; k < nf; k++) {
			for (size_t j = 0; j < 3; j++) {
				const char *f = fields[(k + j) % nf];
				size_t n = csvquote_write(out, sizeof out, f, strlen(f), delims[d], CSVQUOTE_EDGES);

				if (j > 0)
					buf_add(&b, &delims[d], 1);
				buf_add(&b, out, n);
			}
			buf_add(&b, k % 2 ? "\r\n" : "\n", k % 2 ? 2 : 1);
		}
		for (size_t k = 0; k < nf; k++) {
			size_t n = csvquote_write(out, sizeof out, fields[k], strlen(fields[k]), delims[d],
			                          CSVQUOTE_EDGES);

			buf_add(&b, out, n);
			buf_add(&b, "\r\n", 2);
		}
		parse_mem(b.s, b.len, CSV_MODE_CSV, delims[d], 0, &p);
		snprintf(ctx, sizeof ctx, "round trip delim %d", delims[d]);
		CHECK_INT(p.records, 2 * nf, ctx);
		/* compare the fields (not the line numbers) against the originals */
		{
			char err[256];
			struct instream *in = instream_open(tmp_write(b.s, b.len), err, sizeof err);
			struct csv_reader *r = csv_open(in, CSV_MODE_CSV, delims[d], 0);
			struct csv_record rec;
			size_t k = 0, bad = 0;

			while (csv_next(r, &rec, err, sizeof err) == 1) {
				if (k < nf) {
					if (rec.nfields != 3 || rec.flags != 0)
						bad++;
					else
						for (size_t j = 0; j < 3; j++) {
							const char *f = fields[(k + j) % nf];

							if (rec.len[j] != strlen(f) || memcmp(rec.field[j], f, rec.len[j]))
								bad++;
						}
				} else {
					const char *f = fields[k - nf];

					if (rec.nfields != 1 || rec.flags != 0 || rec.len[0] != strlen(f) ||
					    memcmp(rec.field[0], f, rec.len[0]))
						bad++;
				}
				k++;
			}
			CHECK_INT(bad, 0, ctx);
			CHECK_INT(k, 2 * nf, ctx);
			csv_close(r);
			instream_close(in);
		}
		free(p.text);
		free(b.s);
	}
}

/* ---------------------------------------------------------------- api edges */

static void test_open_args(void)
{
	char err[256];
	struct instream *in = instream_open(tmp_write("a\n", 2), err, sizeof err);
	struct csv_reader *r;
	struct csv_record rec;

	CHECK(csv_open(in, CSV_MODE_CSV, '"', 0) == NULL, "quote as delimiter refused");
	CHECK(csv_open(in, CSV_MODE_CSV, '\n', 0) == NULL, "LF as delimiter refused");
	CHECK(csv_open(in, CSV_MODE_CSV, 0, 0) == NULL, "NUL as delimiter refused");
	r = csv_open(in, CSV_MODE_CSV, ':', 0);
	CHECK(r != NULL, "any other byte is fine");
	CHECK_INT(csv_next(r, &rec, err, sizeof err), 1, "a record");
	CHECK_INT(csv_next(r, &rec, err, sizeof err), 0, "the end");
	CHECK_INT(csv_next(r, &rec, err, sizeof err), 0, "still the end");
	CHECK(csv_memory(r) >= CHUNK, "memory counts the read buffer");
	csv_close(r);
	csv_close(NULL);
	instream_close(in);
}

TESTS(test_rfc4180, test_malformed, test_other_delimiters, test_plain_mode, test_bom, test_sniff,
      test_sniff_window, test_max_record_exact, test_max_record_10mb, test_unterminated_bounded,
      test_long_quoted_resync, test_too_many_fields, test_too_many_fields_count,
      test_chunk_boundary, test_many_records, test_pipe_dribble,
      test_write_round_trip, test_open_args)
