/*
 * export - annotated files from the job store (see export.h for the contract).
 */
#include "exporters/export.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "exporters/report.h"

#define OUT_BUFFER (256 * 1024) /* bytes gathered before a write */
#define GZIP_MODE "wb6"         /* zlib's default level: a good size/speed balance */

enum { FILE_DUPLICATES = STATUS_COUNT, FILE_COUNT };

/* Annotation columns appended to every row, in this order. */
static const char *const annotation_names[] = {
	"mailsift_address", "mailsift_status", "mailsift_reason", "mailsift_detail",
	"mailsift_flags", "mailsift_suggestion", "mailsift_smtp_code", "mailsift_enhanced_code",
	"mailsift_smtp_message", "mailsift_mx_host", "mailsift_checked_at",
	"mailsift_duplicate_of_line",
};

/* One output file, written to a temporary name and renamed when complete. */
struct outfile {
	char final[PATH_MAX];
	char tmp[PATH_MAX];
	FILE *f;
	gzFile gz;
	char *buf;          /* OUT_BUFFER bytes */
	size_t used;
	int64_t rows;
	int failed;         /* a write failed: errno saved */
	int err_no;
};

/* One set of files (OUTDIR or a subfolder) for lists sharing a header. */
struct fileset {
	struct outfile file[FILE_COUNT];
	int64_t width;       /* input columns written per row */
};

struct exporter {
	const struct export_opts *o;
	struct fileset *set;
	struct report_tally *list_tally;
	struct report_tally *total;
	char *line;          /* the current output line */
	size_t line_cap, line_len;
};

static int out_flush(struct outfile *of)
{
	if (of->used == 0 || of->failed)
		return of->failed ? -1 : 0;
	if (of->gz) {
		if (gzwrite(of->gz, of->buf, (unsigned)of->used) != (int)of->used) {
			of->failed = 1;
			of->err_no = errno ? errno : EIO;
		}
	} else if (fwrite(of->buf, 1, of->used, of->f) != of->used) {
		of->failed = 1;
		of->err_no = errno;
	}
	of->used = 0;
	return of->failed ? -1 : 0;
}

static void out_write(struct outfile *of, const char *p, size_t n)
{
	while (n > 0 && !of->failed) {
		size_t room = OUT_BUFFER - of->used;
		size_t k = n < room ? n : room;
		memcpy(of->buf + of->used, p, k);
		of->used += k;
		p += k;
		n -= k;
		if (of->used == OUT_BUFFER)
			out_flush(of);
	}
}

static int out_open(struct outfile *of, const char *dir, const char *base, int gzip, char *err,
                    size_t errlen)
{
	int fd;

	memset(of, 0, sizeof *of);
	if (snprintf(of->final, sizeof of->final, "%s/%s.csv%s", dir, base, gzip ? ".gz" : "") >=
	            (int)sizeof of->final ||
	    snprintf(of->tmp, sizeof of->tmp, "%s/.%s.csv%s.tmp-%d", dir, base, gzip ? ".gz" : "",
	             (int)getpid()) >= (int)sizeof of->tmp) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	fd = open(of->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", of->tmp, strerror(errno));
		return -1;
	}
	if (gzip)
		of->gz = gzdopen(fd, GZIP_MODE);
	else
		of->f = fdopen(fd, "w");
	of->buf = malloc(OUT_BUFFER);
	if ((gzip ? (void *)of->gz : (void *)of->f) == NULL || of->buf == NULL) {
		snprintf(err, errlen, "%s: cannot open for writing", of->tmp);
		close(fd);
		return -1;
	}
	return 0;
}

/* out_close - flush, sync and close; when COMMIT, rename the file into place */
static int out_close(struct outfile *of, int commit, char *err, size_t errlen)
{
	int rc = 0;

	if (of->buf == NULL && of->f == NULL && of->gz == NULL)
		return 0;
	out_flush(of);
	if (of->f) {
		if (fflush(of->f) != 0 || fsync(fileno(of->f)) != 0) {
			of->failed = 1;
			of->err_no = errno;
		}
		if (fclose(of->f) != 0 && !of->failed) {
			of->failed = 1;
			of->err_no = errno;
		}
	} else if (of->gz) {
		if (gzclose(of->gz) != Z_OK && !of->failed) {
			of->failed = 1;
			of->err_no = EIO;
		}
	}
	of->f = NULL;
	of->gz = NULL;
	free(of->buf);
	of->buf = NULL;
	if (of->failed) {
		snprintf(err, errlen, "%s: %s", of->tmp, strerror(of->err_no));
		rc = -1;
	} else if (commit && rename(of->tmp, of->final) != 0) {
		snprintf(err, errlen, "%s: %s", of->final, strerror(errno));
		rc = -1;
	}
	if (rc < 0 || !commit)
		unlink(of->tmp);
	return rc;
}

/* ---- building a line ---- */

static void line_put(struct exporter *ex, const char *p, size_t n)
{
	if (ex->line_len + n + 1 > ex->line_cap) {
		while (ex->line_len + n + 1 > ex->line_cap)
			ex->line_cap = ex->line_cap ? ex->line_cap * 2 : 4096;
		ex->line = realloc(ex->line, ex->line_cap);
		if (ex->line == NULL)
			abort();
	}
	memcpy(ex->line + ex->line_len, p, n);
	ex->line_len += n;
}

static int is_plain_number(const char *s, size_t n)
{
	size_t i = 0, digits = 0;

	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		digits++;
	if (i < n && s[i] == '.')
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
	return digits > 0 && i == n;
}

int export_neutralize_needed(const char *cell, size_t len)
{
	if (len == 0)
		return 0;
	switch (cell[0]) {
	case '=':
	case '@':
	case '\t':
	case '\r':
		return 1;
	case '+':
	case '-':
		return !is_plain_number(cell, len); /* -12.5 is data; -2+3 and +cmd| are formulas */
	default:
		return 0;
	}
}

/* put_field - one field (raw text) as CSV, neutralized with a leading ' when needed */
static void put_field(struct exporter *ex, const char *p, size_t n)
{
	int quote = 0, neutral = export_neutralize_needed(p, n);

	for (size_t i = 0; i < n && !quote; i++)
		quote = p[i] == ',' || p[i] == '"' || p[i] == '\n' || p[i] == '\r';
	if (!quote && !neutral) {
		line_put(ex, p, n);
		return;
	}
	if (quote)
		line_put(ex, "\"", 1);
	if (neutral)
		line_put(ex, "'", 1);
	if (!quote) {
		line_put(ex, p, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *q = memchr(p + i, '"', n - i);
		size_t k = q ? (size_t)(q - (p + i)) : n - i;
		line_put(ex, p + i, k);
		i += k;
		if (q)
			line_put(ex, "\"\"", 2);
	}
	line_put(ex, "\"", 1);
}

static void put_text(struct exporter *ex, const char *s)
{
	line_put(ex, ",", 1);
	if (s)
		put_field(ex, s, strlen(s));
}

static void put_int(struct exporter *ex, int64_t v)
{
	char buf[32];
	int n = v ? snprintf(buf, sizeof buf, "%lld", (long long)v) : 0;

	line_put(ex, ",", 1);
	line_put(ex, buf, (size_t)n);
}

/* put_record - the stored canonical CSV record, field by field (neutralized), padded to
 * WIDTH fields; returns the number of fields written */
static int64_t put_record(struct exporter *ex, const char *rec, size_t len, int64_t width)
{
	int64_t fields = 0;
	size_t i = 0;

	if (rec != NULL) {
		for (;;) {
			if (fields > 0)
				line_put(ex, ",", 1);
			if (i < len && rec[i] == '"') {
				/* quoted: copy as is unless the content needs neutralizing */
				size_t start = i++;
				while (i < len) {
					if (rec[i] == '"') {
						if (i + 1 < len && rec[i + 1] == '"') {
							i += 2;
							continue;
						}
						break;
					}
					i++;
				}
				i++; /* closing quote */
				if (start + 1 < len && export_neutralize_needed(rec + start + 1, i - start - 2)) {
					line_put(ex, "\"'", 2);
					line_put(ex, rec + start + 1, i - start - 1);
				} else {
					line_put(ex, rec + start, i - start);
				}
			} else {
				const char *c = memchr(rec + i, ',', len - i);
				size_t end = c ? (size_t)(c - rec) : len;
				put_field(ex, rec + i, end - i);
				i = end;
			}
			fields++;
			if (i >= len || rec[i] != ',')
				break;
			i++;
		}
	}
	for (; fields < width; fields++)
		if (fields > 0 || rec != NULL)
			line_put(ex, ",", 1);
	return fields;
}

static void put_checked_at(struct exporter *ex, int64_t t)
{
	char buf[32] = "";
	time_t tt = (time_t)t;
	struct tm tm;

	if (t > 0 && gmtime_r(&tt, &tm) != NULL)
		strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
	put_text(ex, buf);
}

/* row_verdict - the file and reason a row goes to */
static enum verdict_status row_verdict(const struct store_row_out *r, const char **reason)
{
	int s;

	if (r->problem && strcmp(r->problem, REASON_ROW_TOO_LONG) == 0) {
		*reason = REASON_ROW_TOO_LONG;
		return STATUS_INVALID;
	}
	if (!r->has_address) {
		*reason = REASON_NO_ADDRESS;
		return STATUS_INVALID;
	}
	if (r->status == NULL || (s = verdict_status_from_name(r->status)) < 0) {
		*reason = REASON_NOT_VERIFIED;
		return STATUS_UNKNOWN;
	}
	*reason = r->reason ? r->reason : REASON_NOT_VERIFIED;
	return (enum verdict_status)s;
}

static int write_row(void *ctx, const struct store_row_out *r)
{
	struct exporter *ex = ctx;
	const char *reason;
	enum verdict_status st = row_verdict(r, &reason);
	int dup = r->dup_of > 0;
	struct outfile *of = &ex->set->file[dup ? FILE_DUPLICATES : st];
	char flags[64];

	ex->line_len = 0;
	put_record(ex, r->record, r->record_len, ex->set->width);
	put_text(ex, r->address);
	put_text(ex, verdict_status_name(st));
	put_text(ex, reason);
	put_text(ex, r->detail);
	put_text(ex, verdict_flags_text(r->flags, flags, sizeof flags));
	put_text(ex, r->suggestion);
	put_int(ex, r->smtp_code);
	put_text(ex, r->enhanced_code);
	put_text(ex, r->smtp_message);
	put_text(ex, r->mx_host);
	put_checked_at(ex, r->checked_at);
	put_int(ex, r->dup_of);
	line_put(ex, "\r\n", 2);
	out_write(of, ex->line, ex->line_len);
	of->rows++;
	report_tally_add(ex->list_tally, st, reason, dup);
	report_tally_add(ex->total, st, reason, dup);
	return of->failed ? -1 : 0;
}

/* write_header - the input's header (or generated names), padded, then the annotations */
static void write_header(struct exporter *ex, const struct store_list *l)
{
	char name[32];
	int64_t n;

	ex->line_len = 0;
	if (l->has_header && l->header) {
		n = put_record(ex, l->header, l->header_len, 0);
	} else {
		n = 0;
	}
	for (; n < ex->set->width; n++) {
		if (l->has_header)
			snprintf(name, sizeof name, "extra_%lld", (long long)n + 1);
		else if (n == l->email_col)
			snprintf(name, sizeof name, "email");
		else
			snprintf(name, sizeof name, "column_%lld", (long long)n + 1);
		if (n > 0)
			line_put(ex, ",", 1);
		line_put(ex, name, strlen(name));
	}
	for (size_t i = 0; i < sizeof annotation_names / sizeof annotation_names[0]; i++)
		put_text(ex, annotation_names[i]);
	line_put(ex, "\r\n", 2);
	for (int f = 0; f < FILE_COUNT; f++)
		out_write(&ex->set->file[f], ex->line, ex->line_len);
}

/* ---- grouping lists into file sets ---- */

static int same_layout(const struct store_list *a, const struct store_list *b)
{
	if (a->has_header != b->has_header)
		return 0;
	if (!a->has_header)
		return a->email_col == b->email_col;
	return a->header_len == b->header_len &&
	       (a->header_len == 0 || memcmp(a->header, b->header, a->header_len) == 0);
}

/* folder_name - a subfolder name for a list: its id and file name, made safe */
static void folder_name(const struct store_list *l, char *out, size_t n)
{
	const char *base = strrchr(l->name, '/');
	size_t j;

	base = base ? base + 1 : l->name;
	j = (size_t)snprintf(out, n, "%lld-", (long long)l->id);
	for (; *base && j + 1 < n; base++)
		out[j++] = (isalnum((unsigned char)*base) || *base == '.' || *base == '_' ||
		            *base == '-') ? *base : '_';
	out[j < n ? j : n - 1] = '\0';
}

static int make_dir(const char *path, char *err, size_t errlen)
{
	if (mkdir(path, 0755) == 0 || errno == EEXIST) {
		struct stat st;
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			return 0;
		errno = ENOTDIR;
	}
	snprintf(err, errlen, "%s: cannot create folder: %s", path, strerror(errno));
	return -1;
}

int export_run(struct store *s, const struct export_opts *o, struct export_result *res,
               char *err, size_t errlen)
{
	struct store_list *all = NULL;
	size_t nall = 0, nsel = 0, nfiles = 0;
	struct report_list *rl = NULL;
	struct report_tally total;
	struct report_file *files = NULL;
	int *group = NULL, ngroups = 0, rc = -1;
	struct exporter ex;
	struct fileset set;
	struct timespec t0, t1;
	char dir[PATH_MAX], path[PATH_MAX];
	char *run_json = NULL;

	memset(res, 0, sizeof *res);
	memset(&total, 0, sizeof total);
	memset(&ex, 0, sizeof ex);
	memset(&set, 0, sizeof set);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (make_dir(o->outdir, err, errlen) < 0)
		return -1;
	if (store_lists(s, &all, &nall) < 0) {
		snprintf(err, errlen, "job store: %s", store_errmsg(s));
		return -1;
	}
	rl = calloc(nall ? nall : 1, sizeof *rl);
	group = calloc(nall ? nall : 1, sizeof *group);
	files = calloc((nall ? nall : 1) * FILE_COUNT, sizeof *files);
	if (rl == NULL || group == NULL || files == NULL)
		abort();

	/* The selected lists, grouped by layout: group g holds the lists with group[i] == g. */
	for (size_t i = 0; i < nall; i++) {
		int want = o->list_ids == NULL;
		for (size_t k = 0; k < o->nlists && !want; k++)
			want = o->list_ids[k] == all[i].id;
		if (!want)
			continue;
		if (!all[i].done && o->messages)
			fprintf(o->messages,
			        "mailsift: note: %s was not completely imported (%lld rows so far); "
			        "exporting what is there\n",
			        all[i].name, (long long)all[i].rows);
		rl[nsel].list = &all[i];
		group[nsel] = -1;
		for (size_t k = 0; k < nsel; k++)
			if (same_layout(rl[k].list, &all[i])) {
				group[nsel] = group[k];
				break;
			}
		if (group[nsel] < 0)
			group[nsel] = ngroups++;
		if (store_problem_counts(s, all[i].id, &rl[nsel].problems, &rl[nsel].nproblems) < 0) {
			snprintf(err, errlen, "job store: %s", store_errmsg(s));
			goto out;
		}
		nsel++;
	}

	ex.o = o;
	ex.set = &set;
	ex.total = &total;
	for (int g = 0; g < ngroups; g++) {
		size_t first = 0;
		while (group[first] != g)
			first++;
		if (ngroups > 1) {
			folder_name(rl[first].list, rl[first].dir, sizeof rl[first].dir);
			snprintf(dir, sizeof dir, "%s/%s", o->outdir, rl[first].dir);
			if (make_dir(dir, err, errlen) < 0)
				goto out;
		} else {
			snprintf(dir, sizeof dir, "%s", o->outdir);
		}
		set.width = 0;
		for (size_t i = first; i < nsel; i++)
			if (group[i] == g) {
				snprintf(rl[i].dir, sizeof rl[i].dir, "%s", rl[first].dir);
				if (rl[i].list->max_fields > set.width)
					set.width = rl[i].list->max_fields;
			}
		if (set.width == 0)
			set.width = 1;
		for (int f = 0; f < FILE_COUNT; f++)
			if (out_open(&set.file[f], dir,
			             f == FILE_DUPLICATES ? "duplicates" : verdict_status_name(f), o->gzip,
			             err, errlen) < 0)
				goto out;
		write_header(&ex, rl[first].list);
		for (size_t i = first; i < nsel; i++) {
			if (group[i] != g)
				continue;
			ex.list_tally = &rl[i].tally;
			if (store_rows_each(s, rl[i].list->id, write_row, &ex) < 0) {
				for (int f = 0; f < FILE_COUNT; f++)
					if (set.file[f].failed)
						snprintf(err, errlen, "%s: %s", set.file[f].tmp,
						         strerror(set.file[f].err_no));
				if (err[0] == '\0')
					snprintf(err, errlen, "job store: %s", store_errmsg(s));
				goto out;
			}
		}
		for (int f = 0; f < FILE_COUNT; f++) {
			struct report_file *rf = &files[nfiles++];
			const char *slash = strrchr(set.file[f].final, '/');
			snprintf(rf->path, sizeof rf->path, "%s%s%s", rl[first].dir,
			         rl[first].dir[0] ? "/" : "", slash ? slash + 1 : set.file[f].final);
			rf->rows = set.file[f].rows;
			if (out_close(&set.file[f], 1, err, errlen) < 0)
				goto out;
		}
		res->nsets++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	res->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	snprintf(path, sizeof path, "%s/.report.json.tmp-%d", o->outdir, (int)getpid());
	snprintf(dir, sizeof dir, "%s/report.json", o->outdir);
	run_json = o->run_json ? NULL : store_last_run_stats(s); /* the last run's figures */
	if (report_write(path, rl, nsel, &total, files, nfiles, res->seconds,
	                 o->run_json ? o->run_json : run_json, err, errlen) < 0 ||
	    rename(path, dir) != 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		unlink(path);
		goto out;
	}
	res->rows = total.rows;
	res->duplicates = total.duplicates;
	memcpy(res->by_status, total.by_status, sizeof res->by_status);
	rc = 0;
out:
	for (int f = 0; f < FILE_COUNT; f++)
		out_close(&set.file[f], 0, NULL, 0);
	for (size_t i = 0; i < nsel; i++)
		free(rl[i].problems);
	free(rl);
	free(group);
	free(files);
	free(ex.line);
	free(run_json);
	store_lists_free(all, nall);
	return rc;
}
