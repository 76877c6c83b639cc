/*
 * import - one list into the job store (see import.h for the contract).
 */
#include "importers/import.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/clock.h"
#include "common/shard.h"
#include "common/csvquote.h"
#include "importers/check.h"
#include "importers/columns.h"
#include "importers/csv.h"
#include "importers/instream.h"
#include "importers/prepare.h"
#include "schema/verdict.h"

#define PROGRESS_EVERY_ROWS 8192      /* how often the progress callback may run */
#define CLOCK_EVERY_ROWS 1024         /* how often the batch clock is read */

/* Problem kinds: the store's problems.kind and the summary lines. */
enum problem_kind {
	PK_UNTERMINATED_QUOTE,
	PK_STRAY_QUOTE,
	PK_ROW_TOO_LONG,
	PK_NUL_BYTE,
	PK_BAD_UTF8,
	PK_TOO_MANY_FIELDS,
	PK_FIELD_COUNT,
	PK_NO_ADDRESS,
	PK_EMPTY,
	PK_INPUT,
	PK_COUNT
};

static const char *const problem_kind_name[PK_COUNT] = {
	[PK_UNTERMINATED_QUOTE] = "unterminated_quote",
	[PK_STRAY_QUOTE] = "stray_quote",
	[PK_ROW_TOO_LONG] = "row_too_long",
	[PK_NUL_BYTE] = "nul_byte",
	[PK_BAD_UTF8] = "invalid_utf8",
	[PK_TOO_MANY_FIELDS] = "too_many_fields",
	[PK_FIELD_COUNT] = "field_count",
	[PK_NO_ADDRESS] = "no_address",
	[PK_EMPTY] = "empty",
	[PK_INPUT] = "input_error",
};

/* A sampled record, copied out of the reader so that the sample survives later reads. */
struct sample {
	struct columns_record view; /* fields as NUL-terminated copies */
	size_t *len;
	uint64_t line;
	unsigned flags;
};

/* One import in progress. */
struct importer {
	struct store *store;
	const struct import_opts *opts;
	struct instream *in;
	struct csv_reader *csv;
	struct check *check;
	const char *name;            /* for messages */
	struct store_list list;      /* the list's row, layout filled at start */
	int64_t row_no;              /* data rows read so far (committed or not) */
	int64_t skip;                /* rows committed by an earlier run: read but not stored */
	int64_t batch_rows;          /* rows stored in the open transaction */
	int64_t batch_max;           /* rows per transaction (IMPORT_BATCH_ROWS) */
	uint64_t raw_offset;         /* input consumed, as last reported by the reader thread */
	int64_t blank_lines;
	int64_t max_fields;
	int64_t width;               /* fields expected per row (header or first row) */
	int64_t problems[PK_COUNT];  /* found by this run */
	int64_t first_line[PK_COUNT];
	char *rec;                   /* canonical CSV of the current record */
	size_t rec_cap;
	double batch_start;          /* clock_now() when the current batch began */
	double started;              /* clock_now() when the import began */
	uint64_t dg_bytes;           /* raw bytes read when the rows being stored were... */
	unsigned char dg[INSTREAM_DIGEST_LEN]; /* ...handed over, and their SHA-256 */
	int prefix;                  /* instream_prefix_state then: commits wait for 1 */
	char resume_what[160];       /* the interrupted import being resumed, for messages */
	int is_file;                 /* a regular file (else a stream: stdin, a pipe) */
	char base[PATH_MAX + 128];   /* the input's base identity (identity_of) */
	struct prepare_state pstate; /* the reader thread's numbering (the thread's while it runs) */
	struct prepare *pp;          /* the reader thread, or NULL */
	size_t nsmp;                 /* records sampled */
	int sample_eof;              /* the sample held the whole input */
	int stepped;                 /* import_job: the caller owns the transactions */
	char err[512];
};

/* say - one line to the user through the caller's message callback */
static void __attribute__((format(printf, 2, 3))) say(struct importer *im, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (im->opts->message == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	im->opts->message(im->opts->progress_ctx, line);
}

/* problem - count, remember and (for the first few of a kind) print a problem at LINE */
static void __attribute__((format(printf, 4, 5)))
problem(struct importer *im, enum problem_kind kind, int64_t line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (im->problems[kind]++ == 0)
		im->first_line[kind] = line;
	if (im->problems[kind] <= IMPORT_MESSAGES_PER_KIND) {
		if (line > 0)
			say(im, "%s:%lld: %s", im->name, (long long)line, msg);
		else
			say(im, "%s: %s", im->name, msg);
	}
	store_problem_add(im->store, im->list.id, line, problem_kind_name[kind], msg);
}

#define SHA_TAG ":sha256:" /* a finished file's identity: base, then this, then the hash */

/* identity_of - the base identity of PATH: "file:REALPATH:SIZE:MTIME" for a regular file (1),
 * else "stream:PATH:" (0), which a new list completes with its start time and pid */
static int identity_of(const char *path, char *out, size_t n)
{
	struct stat st;
	char real[PATH_MAX];

	if (strcmp(path, "-") == 0 || stat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
	    realpath(path, real) == NULL) {
		snprintf(out, n, "stream:%s:", path);
		return 0;
	}
	snprintf(out, n, "file:%s:%lld:%lld.%09ld", real, (long long)st.st_size,
	         (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	return 1;
}

/* hex_digest - D as 64 lowercase hex digits in OUT (65 bytes) */
static void hex_digest(const unsigned char *d, char *out)
{
	for (int i = 0; i < INSTREAM_DIGEST_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* unhex_digest - 64 hex digits into D; 0 ok, -1 not a digest */
static int unhex_digest(const char *hex, unsigned char *d)
{
	if (hex == NULL || strlen(hex) != 2 * INSTREAM_DIGEST_LEN)
		return -1;
	for (int i = 0; i < INSTREAM_DIGEST_LEN; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		d[i] = (unsigned char)v;
	}
	return 0;
}

/* snapshot_stream - the digest of what the stream has read so far (the caller owns it) */
static void snapshot_stream(struct importer *im)
{
	im->dg_bytes = instream_digest(im->in, im->dg);
	im->prefix = instream_prefix_state(im->in);
}

/* snapshot_batch - the reader thread's digest when it handed over B */
static void snapshot_batch(struct importer *im, const struct pbatch *b)
{
	im->dg_bytes = b->raw_hashed;
	memcpy(im->dg, b->digest, sizeof im->dg);
	im->prefix = b->prefix;
}

/* prefix_mismatch - the message for an input that is not the one being resumed */
static void prefix_mismatch(struct importer *im)
{
	snprintf(im->err, sizeof im->err,
	         "%s: this is not the input whose import was interrupted (%s): it does not start with "
	         "the bytes that import read. To finish that list, give it the same data again; to "
	         "import this input on its own, use a new job store (--db NEW.db, or for clean a new "
	         "-o OUTDIR)", im->name, im->resume_what);
}

/* encode_record - the fields as one canonical CSV line (comma) in im->rec; returns its length */
static size_t encode_record(struct importer *im, size_t n, const char *const *field,
                            const size_t *len)
{
	size_t used = 0;

	for (size_t i = 0; i < n; i++) {
		for (;;) {
			size_t room = im->rec_cap - used;
			size_t w = room > 1 ? csvquote_write(im->rec + used + (i > 0), room - 1 - (i > 0),
			                                     field[i], len[i], ',', CSVQUOTE_EDGES)
			                    : SIZE_MAX;
			if (room > 1 && w <= room - 1 - (i > 0)) {
				if (i > 0)
					im->rec[used] = ',';
				used += w + (i > 0);
				break;
			}
			im->rec_cap = im->rec_cap * 2 + (w == SIZE_MAX ? 64 : w + 2);
			im->rec = realloc(im->rec, im->rec_cap);
			if (im->rec == NULL)
				abort();
		}
	}
	return used;
}

/* report_record_flags - the reader's findings about one record, as problems */
static void report_record_flags(struct importer *im, unsigned flags, int64_t line, size_t nfields)
{
	if (flags & CSV_UNTERMINATED_QUOTE)
		problem(im, PK_UNTERMINATED_QUOTE, line,
		        "quoted field not closed before the end of the file (row kept as read)");
	if (flags & CSV_STRAY_QUOTE)
		problem(im, PK_STRAY_QUOTE, line, "stray quote character (kept as text)");
	if (flags & CSV_TOO_LONG)
		problem(im, PK_ROW_TOO_LONG, line,
		        "row longer than %zu bytes: not kept, exported as invalid/row_too_long",
		        im->opts->max_record);
	if (flags & CSV_NUL_BYTE)
		problem(im, PK_NUL_BYTE, line, "NUL byte in the row (kept)");
	if (flags & CSV_BAD_UTF8)
		problem(im, PK_BAD_UTF8, line, "not valid UTF-8 (bytes kept as they are)");
	if (flags & CSV_TOO_MANY_FIELDS)
		problem(im, PK_TOO_MANY_FIELDS, line, "more than %d fields: the rest kept in the last",
		        CSV_MAX_FIELDS);
	if (!(flags & CSV_TOO_LONG) && im->width > 0 && (int64_t)nfields != im->width)
		problem(im, PK_FIELD_COUNT, line, "%zu fields where the %s has %lld (row kept)", nfields,
		        im->list.has_header ? "header" : "first row", (long long)im->width);
}

/* too_long_detail - the export's detail for a row not kept: "line N: row longer than 1 MiB" */
static const char *too_long_detail(const struct importer *im, int64_t line, char *out, size_t n)
{
	size_t max = im->opts->max_record ? im->opts->max_record : CSV_MAX_RECORD_DEFAULT;

	if (max >= 1024 * 1024 && max % (1024 * 1024) == 0)
		snprintf(out, n, "line %lld: row longer than %zu MiB", (long long)line, max >> 20);
	else
		snprintf(out, n, "line %lld: row longer than %zu bytes", (long long)line, max);
	return out;
}

/* row_owned - R belongs to this import's shard (every row does without --shard): by its
 * address's dedupe key, a row without one to shard 0. Another shard's row is read (its row
 * number counted, its width seen) but neither stored nor reported. */
static int row_owned(const struct importer *im, const struct pbatch *b, const struct prow *r)
{
	const char *key;

	if (im->opts->shard_n <= 1)
		return 1;
	key = r->kind == PROW_ADDRESS || r->kind == PROW_SYNTAX ? prepare_str(b, r->key) : NULL;
	return (key ? shard_of_key(key, im->opts->shard_n) : 0) == im->opts->shard_k;
}

/* commit_row - one prepared row: its problems, then the row and its address into the store */
static int commit_row(struct importer *im, const struct pbatch *b, const struct prow *r)
{
	struct store_row_in row = {.list_id = im->list.id, .row_no = r->row_no,
	                           .line = (int64_t)r->line};
	struct store_addr_in a;
	char detail[96];

	if (r->kind == PROW_BLANK) {
		im->blank_lines++;
		return 0;
	}
	im->row_no = r->row_no;
	if ((int64_t)r->nfields > im->max_fields)
		im->max_fields = (int64_t)r->nfields;
	if (r->kind == PROW_SKIPPED || !row_owned(im, b, r))
		return 0;
	report_record_flags(im, r->csv_flags, (int64_t)r->line, r->nfields);
	if (r->kind != PROW_TOO_LONG) {
		row.record = prepare_str(b, r->record);
		row.record_len = r->record_len;
	}
	memset(&a, 0, sizeof a);
	switch (r->kind) {
	case PROW_TOO_LONG:
		row.problem = REASON_ROW_TOO_LONG;
		row.detail = too_long_detail(im, (int64_t)r->line, detail, sizeof detail);
		break;
	case PROW_NO_ADDRESS:
		row.problem = REASON_NO_ADDRESS;
		problem(im, PK_NO_ADDRESS, (int64_t)r->line, "no address in the row");
		break;
	case PROW_SYNTAX:
		a.status = "invalid";
		a.reason = REASON_SYNTAX;
		a.detail = r->detail;
		/* fall through */
	case PROW_ADDRESS:
		a.key = prepare_str(b, r->key);
		a.address = prepare_str(b, r->address);
		a.domain = prepare_str(b, r->domain);
		a.flags = r->addr_flags;
		a.suggestion = prepare_str(b, r->suggestion);
		row.addr = &a;
		break;
	case PROW_BLANK:
	case PROW_SKIPPED:
		break;
	}
	if (store_row_add(im->store, &row) < 0) {
		snprintf(im->err, sizeof im->err, "%s:%llu: job store: %s", im->name,
		         (unsigned long long)r->line, store_errmsg(im->store));
		return -1;
	}
	return 0;
}

/* commit_batch - the rows so far, the list's counters and the digest of the bytes they came
 * from, in one transaction. A resumed import commits nothing before its input has been seen to
 * start with the bytes the interrupted one read: until then (REOPEN) the batch stays open. */
static int commit_batch(struct importer *im, int reopen)
{
	int64_t committed = im->row_no > im->skip ? im->row_no : im->skip;
	char hex[2 * INSTREAM_DIGEST_LEN + 1];

	if (im->prefix < 0) {
		prefix_mismatch(im);
		return -1;
	}
	if (im->prefix == 0) {
		if (reopen)
			return 0;
		snprintf(im->err, sizeof im->err, "%s: internal error: input not checked", im->name);
		return -1;
	}
	hex_digest(im->dg, hex);
	if (store_list_progress(im->store, im->list.id, committed, im->max_fields,
	                        im->blank_lines) < 0 ||
	    store_list_set_digest(im->store, im->list.id, (int64_t)im->dg_bytes, hex) < 0 ||
	    (!im->stepped && store_commit(im->store, im->err, sizeof im->err) < 0)) {
		if (im->err[0] == '\0')
			snprintf(im->err, sizeof im->err, "job store: %s", store_errmsg(im->store));
		return -1;
	}
	im->batch_start = clock_now();
	im->batch_rows = 0;
	if (reopen && !im->stepped && store_begin(im->store, im->err, sizeof im->err) < 0)
		return -1;
	return 0;
}

/* commit_rows - every row of B, committing a transaction when one is due */
static int commit_rows(struct importer *im, const struct pbatch *b)
{
	if (im->prefix < 0) {
		prefix_mismatch(im);
		return -1;
	}
	for (size_t i = 0; i < b->n; i++) {
		const struct prow *r = &b->row[i];
		if (commit_row(im, b, r) < 0)
			return -1;
		if (r->kind == PROW_BLANK || r->kind == PROW_SKIPPED)
			continue;
		im->batch_rows++;
		if (im->stepped)
			continue; /* the caller's transactions: import_job_step writes the counters */
		if (im->batch_rows >= im->batch_max ||
		    (im->batch_rows % CLOCK_EVERY_ROWS == 0 &&
		     clock_now() - im->batch_start >= IMPORT_BATCH_SECONDS)) {
			if (commit_batch(im, 1) < 0)
				return -1;
		}
	}
	return 0;
}

static void sample_free(struct sample *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t f = 0; f < v[i].view.nfields; f++)
			free(v[i].view.field[f]);
		free(v[i].view.field);
		free(v[i].len);
	}
	free(v);
}

/* read_sample - copy the first records (bounded by count and bytes) for column detection */
static int read_sample(struct importer *im, struct sample **out, size_t *n, int *eof)
{
	struct sample *v = calloc(COLUMNS_SAMPLE_RECORDS, sizeof *v);
	struct csv_record rec;
	size_t bytes = 0, len = 0;
	int rc = 1;

	if (v == NULL)
		abort();
	while (len < COLUMNS_SAMPLE_RECORDS && bytes < COLUMNS_SAMPLE_BYTES &&
	       (rc = csv_next(im->csv, &rec, im->err, sizeof im->err)) == 1) {
		struct sample *s = &v[len++];
		s->view.nfields = rec.nfields;
		s->view.field = calloc(rec.nfields ? rec.nfields : 1, sizeof(char *));
		s->len = calloc(rec.nfields ? rec.nfields : 1, sizeof(size_t));
		if (s->view.field == NULL || s->len == NULL)
			abort();
		for (size_t f = 0; f < rec.nfields; f++) {
			s->view.field[f] = malloc(rec.len[f] + 1);
			if (s->view.field[f] == NULL)
				abort();
			memcpy(s->view.field[f], rec.field[f], rec.len[f]);
			s->view.field[f][rec.len[f]] = '\0';
			s->len[f] = rec.len[f];
			bytes += rec.len[f];
		}
		s->line = rec.line;
		s->flags = rec.flags;
	}
	*out = v;
	*n = len;
	*eof = rc == 0;
	return rc < 0 ? -1 : 0;
}

/* joined_position - the 1-based field number of a cell naming an email column (or the
 * --column name) inside a header's last field, which holds every field past the last one kept
 * joined with their delimiters; 0 when none does */
static long joined_position(const char *joined, char delim, const char *column)
{
	char cell[256];
	size_t len = 0;
	long field = CSV_MAX_FIELDS;

	if (delim == '\0')
		return 0;
	for (const char *p = joined;; p++) {
		if (*p == delim || *p == '\0') {
			cell[len] = '\0';
			if (column ? strcasecmp(cell, column) == 0 : columns_is_header_name(cell))
				return field;
			if (*p == '\0')
				return 0;
			field++;
			len = 0;
		} else if (len + 1 < sizeof cell) {
			cell[len++] = *p;
		}
	}
}

/* too_wide - refuse a list whose address column lies past the CSV_MAX_FIELDS fields a row is
 * read into (the rest of a wider row is kept joined in its last field): every row would be
 * no_address or a syntax error. COL is the column found (0-based), -1 when none was. */
static int too_wide(struct importer *im, const struct sample *smp, size_t n, int col)
{
	const struct sample *head = NULL;
	long at = 0;
	int wide = 0;
	const char *c = im->opts->column;

	for (size_t i = 0; i < n; i++) {
		if (smp[i].flags & CSV_TOO_MANY_FIELDS)
			wide = 1;
		if (head == NULL && !(smp[i].view.nfields == 1 && smp[i].len[0] == 0))
			head = &smp[i];
	}
	if (c != NULL && isdigit((unsigned char)c[0]) &&
	    (atol(c) > CSV_MAX_FIELDS || (wide && head != NULL && col == CSV_MAX_FIELDS - 1)))
		at = atol(c); /* a column number past the limit, or the limit's last one */
	else if (!wide || head == NULL)
		return 0;
	else if (col < 0 || col == CSV_MAX_FIELDS - 1)
		at = joined_position(head->view.field[head->view.nfields - 1], csv_delimiter(im->csv),
		                     c != NULL && !isdigit((unsigned char)c[0]) ? c : NULL);
	if (at == 0)
		return 0;
	snprintf(im->err, sizeof im->err,
	         "%s:%llu: the address column is field %ld, past the %d fields a row is read into "
	         "(the rest of a wider row is kept joined in its last field), so no row would have "
	         "its address: move the address column among the first %d (e.g. cut -d, -f1-%d,%ld "
	         "for a list without quoted commas) and import again", im->name,
	         (unsigned long long)(head ? head->line : 1), at, CSV_MAX_FIELDS, CSV_MAX_FIELDS - 1,
	         CSV_MAX_FIELDS - 2, at);
	return -1;
}

/* set_layout - decide header and email column from the sample; on resume, check it agrees */
static int set_layout(struct importer *im, struct sample *smp, size_t n)
{
	struct columns_record *views = calloc(n ? n : 1, sizeof *views);
	struct columns_guess g;
	size_t nrec = 0;
	int rc;

	if (views == NULL)
		abort();
	/* Blank lines are not records for detection purposes. */
	for (size_t i = 0; i < n; i++)
		if (!(smp[i].view.nfields == 1 && smp[i].len[0] == 0))
			views[nrec++] = smp[i].view;
	rc = columns_detect(views, nrec, im->opts->column, &g, im->err, sizeof im->err);
	free(views);
	if (too_wide(im, smp, n, rc < 0 ? -1 : g.email_col) < 0)
		return -1;
	if (rc < 0)
		return -1;

	int had_layout = im->list.delimiter[0] != '\0' || im->list.has_header ||
	                 im->list.email_col >= 0 || im->skip > 0;
	struct store_list want = im->list;
	want.has_header = g.has_header;
	want.email_col = g.email_col;
	want.delimiter[0] = csv_delimiter(im->csv);
	want.delimiter[1] = '\0';
	want.gzip = instream_is_gzip(im->in);
	if (had_layout && (want.has_header != im->list.has_header ||
	                   want.email_col != im->list.email_col)) {
		snprintf(im->err, sizeof im->err,
		         "%s: the file reads differently from its interrupted import (header or email "
		         "column changed); import it into a new job store", im->name);
		return -1;
	}
	im->list.has_header = want.has_header;
	im->list.email_col = want.email_col;
	im->list.delimiter[0] = want.delimiter[0];
	im->list.delimiter[1] = '\0';
	im->list.gzip = want.gzip;
	return 0;
}

static void progress(struct importer *im, int force)
{
	struct import_progress p;

	if (im->opts->progress == NULL || (!force && im->row_no % PROGRESS_EVERY_ROWS != 0))
		return;
	p.name = im->name;
	p.rows = (uint64_t)im->row_no;
	p.raw_done = im->raw_offset;
	p.raw_total = instream_raw_size(im->in);
	im->opts->progress(im->opts->progress_ctx, &p);
}

/* records_start - the header and the sampled records, then the reader thread takes over the
 * stream (unless the sample held all of it); 0, or -2 with im->err */
static int records_start(struct importer *im, struct sample *smp, size_t n, int sample_eof)
{
	size_t start = 0;
	int rc;

	/* The header record: kept as the list's header, not a data row. */
	while (start < n && smp[start].view.nfields == 1 && smp[start].len[0] == 0) {
		im->blank_lines++;
		start++;
	}
	if (start < n && im->list.has_header) {
		struct sample *h = &smp[start];
		size_t hl = encode_record(im, h->view.nfields, (const char *const *)h->view.field, h->len);
		im->list.header = malloc(hl + 1);
		if (im->list.header == NULL)
			abort();
		memcpy(im->list.header, im->rec, hl);
		im->list.header[hl] = '\0';
		im->list.header_len = hl;
		im->width = (int64_t)h->view.nfields;
		im->max_fields = im->width;
		start++;
	} else if (start < n) {
		im->width = (int64_t)smp[start].view.nfields;
	}
	if (store_list_set_layout(im->store, &im->list) < 0) {
		snprintf(im->err, sizeof im->err, "job store: %s", store_errmsg(im->store));
		return -2;
	}

	/* The sampled records, prepared here; then the reader thread takes over the stream. */
	im->pstate = (struct prepare_state){.check = im->check, .email_col = im->list.email_col,
	                                     .row_no = 0, .skip = im->skip, .in = im->in};
	struct pbatch *sb = prepare_batch_new();

	snapshot_stream(im); /* the sample's bytes: read, the thread not started */
	for (size_t i = start; i < n; i++) {
		prepare_record(&im->pstate, sb, smp[i].view.nfields,
		               (const char *const *)smp[i].view.field, smp[i].len, smp[i].line,
		               smp[i].flags);
		if (sb->n == PREPARE_BATCH_ROWS || i + 1 == n) {
			rc = commit_rows(im, sb);
			prepare_batch_reset(sb);
			if (rc < 0) {
				prepare_batch_free(sb);
				return -2;
			}
		}
	}
	prepare_batch_free(sb);
	if (sample_eof)
		return 0;
	im->pp = prepare_start(im->csv, &im->pstate);
	if (im->pp == NULL) {
		snprintf(im->err, sizeof im->err, "cannot start the reader thread");
		return -2;
	}
	return 0;
}

/* records_pump - store the reader thread's batches: with WAIT until the input ends, else
 * those ready now, for about BUDGET seconds. 1 more to come, 0 the input ended, -1 it ended
 * on an input error (im->err), -2 failed (im->err), 2 a stop was asked for. */
static int records_pump(struct importer *im, int wait, double budget)
{
	double until = clock_now() + budget;

	if (im->pp == NULL)
		return 0; /* the sample held the whole input */
	for (;;) {
		struct pbatch *b = prepare_next(im->pp, wait);
		int end;
		if (b == NULL)
			return 1;
		end = b->end;
		snapshot_batch(im, b);
		if (commit_rows(im, b) < 0) {
			prepare_release(im->pp, b);
			return -2;
		}
		if (end < 0)
			snprintf(im->err, sizeof im->err, "%s", b->err);
		im->raw_offset = b->raw_offset; /* the stream is the thread's: no reading it from here */
		prepare_release(im->pp, b);
		progress(im, 1);
		if (end != 0)
			return end < 0 ? -1 : 0;
		if (im->opts->stop && *im->opts->stop)
			return 2;
		if (!wait && clock_now() >= until)
			return 1;
	}
}

static void print_summary(struct importer *im)
{
	for (int k = 0; k < PK_COUNT; k++)
		if (im->problems[k] > IMPORT_MESSAGES_PER_KIND)
			say(im, "%s: %lld rows in all with %s (first at line %lld; the first %d shown)",
			        im->name, (long long)im->problems[k], problem_kind_name[k],
			        (long long)im->first_line[k], IMPORT_MESSAGES_PER_KIND);
}

/* stream_twin - a finished list of an earlier stream (BASE) that holds the same bytes, read the
 * same way, as list L just finished (DG_BYTES bytes, digest HEX): its id, else 0 */
static int64_t stream_twin(struct store *s, const char *base, const struct store_list *l,
                           uint64_t dg_bytes, const char *hex)
{
	struct store_list *v = NULL;
	size_t n = 0;
	int64_t twin = 0;

	if (store_lists_by_prefix(s, base, &v, &n) < 0)
		return 0;
	for (size_t i = 0; i < n && twin == 0; i++)
		if (v[i].id != l->id && v[i].done && v[i].input_error == NULL &&
		    v[i].raw_sha256 != NULL && (uint64_t)v[i].raw_bytes == dg_bytes &&
		    strcmp(v[i].raw_sha256, hex) == 0 && v[i].email_col == l->email_col &&
		    v[i].has_header == l->has_header)
			twin = v[i].id;
	store_lists_free(v, n);
	return twin;
}

/* whole_file_digest - the SHA-256 of the raw bytes of PATH (one read, no decoding) */
static int whole_file_digest(const char *path, uint64_t *len, char *hex, char *err, size_t errlen)
{
	struct instream *in = instream_open(path, err, errlen);
	unsigned char d[INSTREAM_DIGEST_LEN];

	if (in == NULL)
		return -1;
	if (instream_hash_rest(in) < 0) {
		snprintf(err, errlen, "%s: read error while comparing it with its earlier import", path);
		instream_close(in);
		return -1;
	}
	*len = instream_digest(in, d);
	hex_digest(d, hex);
	instream_close(in);
	return 0;
}

/* find_list - the list a rerun of PATH continues or repeats, by identity and content. Fills
 * L and returns 1 for an unfinished list to resume, 2 for a finished one with the same bytes,
 * 0 for none (a new list), -1 with err. A file's unfinished list has the file's base
 * identity; a finished one has its content hash after it, so another file with the same path,
 * size and mtime is a new list. Stdin (or a pipe) resumes its newest unfinished list. */
static int find_list(struct store *s, const char *path, const char *base, int is_file,
                     struct store_list *l, char *err, size_t errlen)
{
	struct store_list *v = NULL;
	size_t n = 0, pick = SIZE_MAX, blen = strlen(base);
	int rc = 0, hashed = 0;
	uint64_t len = 0;
	char hex[2 * INSTREAM_DIGEST_LEN + 1];

	if (store_lists_by_prefix(s, base, &v, &n) < 0) {
		snprintf(err, errlen, "job store: %s", store_errmsg(s));
		return -1;
	}
	for (size_t i = 0; i < n && pick == SIZE_MAX; i++) { /* newest first */
		const char *rest = v[i].identity + blen;
		if (is_file && *rest != '\0' && strncmp(rest, SHA_TAG, strlen(SHA_TAG)) != 0)
			continue; /* another file whose name starts like this one's identity */
		if (!v[i].done) {
			pick = i;
			rc = 1;
		} else if (is_file && v[i].raw_sha256 == NULL) {
			pick = i; /* imported before content hashes: size and mtime are all we have */
			rc = 2;
		} else if (is_file) {
			if (!hashed && whole_file_digest(path, &len, hex, err, errlen) < 0) {
				rc = -1;
				break;
			}
			hashed = 1;
			if ((uint64_t)v[i].raw_bytes == len && strcmp(v[i].raw_sha256, hex) == 0) {
				pick = i;
				rc = 2;
			}
		}
	}
	if (pick != SIZE_MAX) {
		*l = v[pick];
		memset(&v[pick], 0, sizeof v[pick]);
	}
	store_lists_free(v, n);
	return rc;
}

/* already_imported - the answer for a file imported before with the same bytes (list IM->list) */
static enum import_status already_imported(struct importer *im, struct import_result *res,
                                           char *err, size_t errlen)
{
	res->list_id = im->list.id;
	res->rows = im->list.rows;
	res->status = IMPORT_ALREADY;
	if (im->list.input_error != NULL) {
		/* Its bytes ended early: it stays failed, and says so every time. */
		snprintf(err, errlen,
		         "%s: imported before, but incomplete: %s (the rows before the damage are "
		         "in the job store; to import a whole copy, use a new job store)",
		         im->name, im->list.input_error);
		res->status = IMPORT_PARTIAL;
	}
	return res->status;
}

/* list_create - a new list for this input, in the open transaction */
static int list_create(struct importer *im, const char *path, char *err, size_t errlen)
{
	char identity[PATH_MAX + 256];

	if (im->is_file) {
		snprintf(identity, sizeof identity, "%s", im->base);
	} else {
		struct timespec now;
		/* A pipe cannot be read twice: its list is told apart by when it started. */
		clock_gettime(CLOCK_REALTIME, &now);
		snprintf(identity, sizeof identity, "%s%lld.%09ld:%d", im->base,
		         (long long)now.tv_sec, now.tv_nsec, (int)getpid());
	}
	im->list.id = store_list_create(im->store, path, identity, (int64_t)time(NULL));
	if (im->list.id < 0) {
		snprintf(err, errlen, "job store: %s", store_errmsg(im->store));
		return -1;
	}
	if (im->opts->shard_n > 0 &&
	    store_list_set_shard(im->store, im->list.id, im->opts->shard_k, im->opts->shard_n) < 0) {
		snprintf(err, errlen, "job store: %s", store_errmsg(im->store));
		return -1;
	}
	im->list.name = strdup(path);
	im->list.identity = strdup(identity);
	return 0;
}

/* shard_check - the list found in the store (L) holds the shard this import asks for; 0, or
 * -1 with err: one store holds one shard of a list (or the whole of it) */
static int shard_check(struct importer *im, char *err, size_t errlen)
{
	int k, n;
	char has[32], asked[32];

	if (store_list_shard(im->store, im->list.id, &k, &n) < 0) {
		snprintf(err, errlen, "job store: %s", store_errmsg(im->store));
		return -1;
	}
	if (k == im->opts->shard_k && n == im->opts->shard_n)
		return 0;
	snprintf(has, sizeof has, n > 0 ? "shard %d/%d" : "the whole list", k, n);
	snprintf(asked, sizeof asked, im->opts->shard_n > 0 ? "shard %d/%d" : "the whole list",
	         im->opts->shard_k, im->opts->shard_n);
	snprintf(err, errlen,
	         "%s: this job store holds %s of this list (list %lld), and this import asks for %s: "
	         "use one job store per shard (--db, or for clean another -o OUTDIR)", im->name, has,
	         (long long)im->list.id, asked);
	return -1;
}

/* list_resume - continue IM->list, an interrupted import: its stored rows are read, not stored
 * again, and its stored bytes must be what the input starts with (checked as it is read, unless
 * the caller checked them: STEPPED) */
static void list_resume(struct importer *im, struct import_result *res)
{
	unsigned char d[INSTREAM_DIGEST_LEN];

	im->skip = im->list.rows;
	res->resumed_from = im->skip;
	free(im->list.header);
	im->list.header = NULL;
	snprintf(im->resume_what, sizeof im->resume_what, "list %lld, %lld rows saved",
	         (long long)im->list.id, (long long)im->list.rows);
	if (!im->stepped && im->list.raw_bytes > 0 && unhex_digest(im->list.raw_sha256, d) == 0)
		instream_expect_prefix(im->in, (uint64_t)im->list.raw_bytes, d);
	im->prefix = instream_prefix_state(im->in);
}

/* read_layout - the sample, then the list's layout from it; -1 with err for input that
 * cannot be a list */
static int read_layout(struct importer *im, struct sample **smp, size_t *nsmp, int *sample_eof,
                       char *err, size_t errlen)
{
	if (read_sample(im, smp, nsmp, sample_eof) < 0) {
		/* Damaged input inside the sample: keep what was read. */
		*sample_eof = 1;
	}
	if (*nsmp > 0 && (*smp)[0].view.nfields > 0 && (*smp)[0].len[0] >= 2 &&
	    (memcmp((*smp)[0].view.field[0], "\xff\xfe", 2) == 0 ||
	     memcmp((*smp)[0].view.field[0], "\xfe\xff", 2) == 0)) {
		snprintf(err, errlen,
		         "%s: the file is UTF-16 (it starts with a UTF-16 byte order mark); save it as "
		         "UTF-8, e.g. iconv -f UTF-16 -t UTF-8 %s > list-utf8.csv", im->name, im->name);
		return -1;
	}
	if (set_layout(im, *smp, *nsmp) < 0) {
		snprintf(err, errlen, "%s: %s", im->name, im->err);
		if (strncmp(im->err, im->name, strlen(im->name)) == 0)
			snprintf(err, errlen, "%s", im->err);
		return -1;
	}
	return 0;
}

/* save_interrupted - keep what a stopped import stored (only once its input is known to be
 * the interrupted one's) and its time */
static enum import_status save_interrupted(struct importer *im, double seconds, char *err,
                                           size_t errlen)
{
	struct store *s = im->store;

	if (im->prefix == 0)
		store_rollback(s); /* nothing of this run may stay before the input is checked */
	if ((im->prefix != 0 && commit_batch(im, 0) < 0) || store_begin(s, err, errlen) < 0 ||
	    store_list_add_secs(s, im->list.id, seconds) < 0 || store_commit(s, err, errlen) < 0) {
		snprintf(err, errlen, "%s", im->err[0] ? im->err : store_errmsg(s));
		return IMPORT_FAILED;
	}
	return IMPORT_INTERRUPTED;
}

/* list_finish - mark the list read to its end (ST: done or partial), with the identity of its
 * bytes, and commit */
static enum import_status list_finish(struct importer *im, enum import_status st, double seconds,
                                      char *err, size_t errlen)
{
	struct store *s = im->store;
	char identity[PATH_MAX + 256];

	if (store_bulk_finish(s, err, errlen) < 0)
		return IMPORT_FAILED;
	if (im->skip > 0 && store_list_fix_dups(s, im->list.id) < 0) {
		snprintf(err, errlen, "job store: %s", store_errmsg(s));
		return IMPORT_FAILED;
	}
	/* The list's bytes, all of them: a rerun knows the file by them. Decoding may have stopped
	 * at damage before the end of a file: hash the rest without decoding it. */
	if (st == IMPORT_PARTIAL && instream_raw_size(im->in) > 0)
		instream_hash_rest(im->in);
	snapshot_stream(im);
	if (im->prefix == 0)
		im->prefix = -1; /* the input ended before the bytes the interrupted import read */
	if (im->is_file && im->prefix > 0) {
		char hex[2 * INSTREAM_DIGEST_LEN + 1];
		hex_digest(im->dg, hex);
		snprintf(identity, sizeof identity, "%s%s%s", im->base, SHA_TAG, hex);
	}
	if (store_list_finish(s, im->list.id, (int64_t)time(NULL), seconds,
	                      st == IMPORT_PARTIAL ? im->err : NULL) < 0 ||
	    (im->is_file && im->prefix > 0 && store_list_set_identity(s, im->list.id, identity) < 0) ||
	    commit_batch(im, 0) < 0) {
		snprintf(err, errlen, "%s", im->err[0] ? im->err : store_errmsg(s));
		return IMPORT_FAILED;
	}
	return st;
}

/* drop_stream_twin - a stream read to its end with the same bytes as a list imported before is
 * that list again, not a second copy of its rows: drop the new list and answer with the old */
static enum import_status drop_stream_twin(struct importer *im, struct import_result *res,
                                           char *err, size_t errlen)
{
	char hex[2 * INSTREAM_DIGEST_LEN + 1];
	int64_t twin;

	hex_digest(im->dg, hex);
	twin = stream_twin(im->store, im->base, &im->list, im->dg_bytes, hex);
	if (twin <= 0)
		return IMPORT_DONE;
	if (store_list_drop(im->store, im->list.id, err, errlen) < 0)
		return IMPORT_FAILED;
	say(im, "%s: the same bytes as list %lld, imported before: nothing added", im->name,
	    (long long)twin);
	res->list_id = twin;
	res->rows = im->row_no;
	res->seconds = clock_now() - im->started;
	return IMPORT_ALREADY;
}

/* read_finish - the end of reading (RC: records_pump's 0, -1 or 2): the list marked done,
 * partial or interrupted; the status, with err for anything but done */
static enum import_status read_finish(struct importer *im, int rc, struct import_result *res,
                                      char *err, size_t errlen)
{
	enum import_status st;

	res->seconds = clock_now() - im->started;
	if (rc == 2)
		return save_interrupted(im, res->seconds, err, errlen);
	st = IMPORT_DONE;
	if (rc < 0 || (im->sample_eof && im->err[0] != '\0')) {
		/* Stored for the report; the caller prints err itself. */
		im->problems[PK_INPUT]++;
		/* a problem of the file, not of a row: shard 0's (a merge sums the shards') */
		if (im->opts->shard_k == 0)
			store_problem_add(im->store, im->list.id, 0, problem_kind_name[PK_INPUT], im->err);
		snprintf(err, errlen, "%s", im->err);
		st = IMPORT_PARTIAL;
	}
	if (im->row_no == 0 && im->opts->shard_k == 0)
		problem(im, PK_EMPTY, 0, "%s", im->nsmp == 0 ? "empty file: no rows"
		                                              : "no data rows (header only)");
	st = list_finish(im, st, res->seconds, err, errlen);
	if (!im->is_file && st == IMPORT_DONE && im->prefix > 0)
		st = drop_stream_twin(im, res, err, errlen);
	return st;
}

/* read_start - the sample, the layout, the sampled rows and the reader thread, for the list
 * (created or resumed in a transaction just begun); 0, or -1 with err */
static int read_start(struct importer *im, char *err, size_t errlen)
{
	struct sample *smp = NULL;
	int rc = -1;

	if (read_layout(im, &smp, &im->nsmp, &im->sample_eof, err, errlen) == 0) {
		rc = records_start(im, smp, im->nsmp, im->sample_eof) < 0 ? -1 : 0;
		if (rc < 0)
			snprintf(err, errlen, "%s", im->err);
	}
	sample_free(smp, im->nsmp);
	return rc;
}

/* import_init - IM set up for PATH; find_list's answer (with err when -1) */
static int import_init(struct importer *im, struct store *s, const char *path,
                       const struct import_opts *o, char *err, size_t errlen)
{
	int found;

	memset(im, 0, sizeof *im);
	im->store = s;
	im->batch_max = IMPORT_BATCH_ROWS;
	const char *knob = getenv("MAILSIFT_IMPORT_BATCH_ROWS");
	if (knob && atoll(knob) > 0)
		im->batch_max = atoll(knob);
	im->opts = o;
	im->name = strcmp(path, "-") == 0 ? "stdin" : path;
	im->list.email_col = -1;
	im->prefix = 1;
	im->started = clock_now();
	im->batch_start = im->started;
	im->is_file = identity_of(path, im->base, sizeof im->base);
	found = find_list(s, path, im->base, im->is_file, &im->list, err, errlen);
	return found > 0 && shard_check(im, err, errlen) < 0 ? -1 : found;
}

/* import_open_input - the input stream, its CSV reader and the address checks; 0, or -1 */
static int import_open_input(struct importer *im, const char *path, char *err, size_t errlen)
{
	im->in = instream_open(path, err, errlen);
	if (im->in == NULL)
		return -1;
	im->csv = csv_open(im->in, CSV_MODE_SNIFF, 0, im->opts->max_record);
	im->check = check_new();
	if (im->csv == NULL || im->check == NULL)
		abort();
	return 0;
}

/* import_result_fill - what RES says of a list read (ST) */
static void import_result_fill(struct importer *im, enum import_status st,
                               struct import_result *res)
{
	if (st == IMPORT_DONE || st == IMPORT_PARTIAL || st == IMPORT_INTERRUPTED) {
		progress(im, 1);
		print_summary(im);
		res->list_id = im->list.id;
		res->rows = im->row_no > im->skip ? im->row_no : im->skip;
		for (int k = 0; k < PK_COUNT; k++)
			res->problems += im->problems[k];
	}
	res->status = st;
}

/* import_release - everything IM holds */
static void import_release(struct importer *im)
{
	prepare_stop(im->pp);
	im->pp = NULL;
	check_free(im->check);
	csv_close(im->csv);
	instream_close(im->in);
	free(im->rec);
	store_list_free(&im->list);
}

enum import_status import_list(struct store *s, const char *path, const struct import_opts *o,
                               struct import_result *res, char *err, size_t errlen)
{
	struct importer im;
	enum import_status st = IMPORT_FAILED;
	int found, rc;

	memset(res, 0, sizeof *res);
	found = import_init(&im, s, path, o, err, errlen);
	if (found == 2)
		st = already_imported(&im, res, err, errlen);
	if (found < 0 || found == 2 || import_open_input(&im, path, err, errlen) < 0) {
		store_list_free(&im.list);
		return st;
	}
	if (store_begin(s, err, errlen) == 0) {
		if (found)
			list_resume(&im, res);
		/* a store of this list alone: a bulk import (schema/store.c) */
		if ((found || list_create(&im, path, err, errlen) == 0) &&
		    store_bulk_begin(s, im.list.id, STORE_BULK_FILTER_BYTES, err, errlen) >= 0 &&
		    read_start(&im, err, errlen) == 0) {
			rc = records_pump(&im, 1, 0);
			if (rc == -2)
				snprintf(err, errlen, "%s", im.err);
			else
				st = read_finish(&im, rc, res, err, errlen);
		}
	}
	import_result_fill(&im, st, res);
	if (st == IMPORT_FAILED)
		store_rollback(s); /* earlier batches stay; a rerun resumes after them */
	import_release(&im);
	return st;
}

/* ---- an import in steps, on the caller's loop ---- */

struct import_job {
	struct importer im;
	struct import_opts opts;
	struct import_result res;
	int done;                    /* res and err are final */
	char err[512];
};

/* file_starts_with - the first LEN bytes of PATH hash to the hex SHA-256 HEX: 1 yes, 0 no,
 * -1 unreadable */
static int file_starts_with(const char *path, int64_t len, const char *hex)
{
	unsigned char want[INSTREAM_DIGEST_LEN], got[EVP_MAX_MD_SIZE], buf[65536];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int glen = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;
	int64_t left = len;

	if (fd >= 0 && md != NULL && unhex_digest(hex, want) == 0 &&
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1) {
		while (left > 0) {
			ssize_t n = read(fd, buf, left < (int64_t)sizeof buf ? (size_t)left : sizeof buf);
			if (n <= 0)
				break;
			EVP_DigestUpdate(md, buf, (size_t)n);
			left -= n;
		}
		if (left == 0 && EVP_DigestFinal_ex(md, got, &glen) == 1)
			rc = glen == INSTREAM_DIGEST_LEN && memcmp(got, want, glen) == 0;
		else if (left > 0)
			rc = 0; /* shorter than what was read before */
	}
	EVP_MD_CTX_free(md);
	if (fd >= 0)
		close(fd);
	return rc;
}

struct import_job *import_job_start(struct store *s, const char *path,
                                    const struct import_opts *o)
{
	struct import_job *j = calloc(1, sizeof *j);
	struct importer *im;
	int found;

	if (j == NULL)
		abort();
	j->opts = *o;
	im = &j->im;
	found = import_init(im, s, path, &j->opts, j->err, sizeof j->err);
	im->stepped = 1;
	if (found == 2)
		already_imported(im, &j->res, j->err, sizeof j->err);
	else
		j->res.status = IMPORT_FAILED;
	if (found < 0 || found == 2) {
		j->done = 1;
		return j;
	}
	if (import_open_input(im, path, j->err, sizeof j->err) < 0) {
		j->done = 1;
		return j;
	}
	if (found) {
		/* The caller's transactions commit at any time: the input must be known to be the
		 * interrupted one's before any of its rows is stored, so its first bytes are checked
		 * now rather than as the reader gets to them. */
		list_resume(im, &j->res); /* stepped: no check as it reads */
		if (im->list.raw_bytes > 0 &&
		    file_starts_with(path, im->list.raw_bytes, im->list.raw_sha256) != 1) {
			prefix_mismatch(im);
			snprintf(j->err, sizeof j->err, "%s", im->err);
			j->done = 1;
			return j;
		}
	} else if (list_create(im, path, j->err, sizeof j->err) < 0) {
		j->done = 1;
		return j;
	}
	if (read_start(im, j->err, sizeof j->err) < 0)
		j->done = 1;
	return j;
}

int import_job_step(struct import_job *j, double budget)
{
	int rc;

	if (j->done)
		return 0;
	rc = records_pump(&j->im, 0, budget);
	if (rc == 1 || rc == 2) {
		/* What this step stored goes with the list's counters into whatever transaction the
		 * caller commits next. */
		if (commit_batch(&j->im, 0) < 0) {
			snprintf(j->err, sizeof j->err, "%s", j->im.err);
			j->res.status = IMPORT_FAILED;
			j->done = 1;
			return 0;
		}
		return 1;
	}
	if (rc == -2) {
		snprintf(j->err, sizeof j->err, "%s", j->im.err);
		j->res.status = IMPORT_FAILED;
	} else {
		j->res.status = read_finish(&j->im, rc, &j->res, j->err, sizeof j->err);
		import_result_fill(&j->im, j->res.status, &j->res);
	}
	j->done = 1;
	return 0;
}

int64_t import_job_rows(const struct import_job *j)
{
	return j->im.row_no > j->im.skip ? j->im.row_no : j->im.skip;
}

enum import_status import_job_result(const struct import_job *j, struct import_result *res,
                                     const char **err)
{
	if (res)
		*res = j->res;
	if (err)
		*err = j->err[0] ? j->err : NULL;
	return j->done ? j->res.status : IMPORT_INTERRUPTED;
}

void import_job_free(struct import_job *j)
{
	if (j == NULL)
		return;
	if (!j->done && j->im.pp != NULL) {
		/* Stopped: the rows stored so far, with the counters, for the next start to resume. */
		commit_batch(&j->im, 0);
		store_list_add_secs(j->im.store, j->im.list.id, clock_now() - j->im.started);
	}
	import_release(&j->im);
	free(j);
}
