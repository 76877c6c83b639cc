/*
 * export - annotated files from the job store (see export.h for the contract).
 */
#include "exporters/export.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "common/clock.h"
#include "common/csvquote.h"
#include "exporters/report.h"
#include "exporters/rowpipe.h"

#define OUT_BUFFER (256 * 1024) /* bytes gathered before a write */
#define OUT_WRITEBACK (16 << 20) /* bytes written before the kernel is asked to write them out */
#define GZIP_MODE "wb6"         /* zlib's default level: a good size/speed balance */

/* The files of a set: one per verdict (enum verdict_status), then duplicates.csv, then
 * changes.csv, which repeats the rows whose status changed when their address was probed again
 * (each of them is also in its verdict's file). */
enum { FILE_DUPLICATES = STATUS_COUNT, FILE_CHANGES, FILE_COUNT };

/* Annotation columns appended to every row, in this order. */
static const char *const annotation_names[] = {
	"mailsift_address", "mailsift_status", "mailsift_reason", "mailsift_detail",
	"mailsift_flags", "mailsift_suggestion", "mailsift_smtp_code", "mailsift_enhanced_code",
	"mailsift_smtp_message", "mailsift_mx_host", "mailsift_checked_at",
	"mailsift_duplicate_of_line",
};

/* The columns changes.csv has after those: the verdict the row's verdict replaced. */
static const char *const change_names[] = {
	"mailsift_previous_status", "mailsift_previous_checked_at",
};

#define TMP_MARK ".mailsift-tmp-" /* temporaries: "." FINAL TMP_MARK + TMP_RANDOM letters */
#define TMP_RANDOM 12                /* random letters and digits: 71 bits, not guessable */
#define TMP_TRIES 16                 /* names tried before giving up (EEXIST) */
#define EXPORT_FILE_MODE 0644        /* before the umask (README): readable like other output */

/* One output file, written to a temporary name in its folder and renamed when the whole set
 * is written. */
struct outfile {
	int dirfd;          /* its folder (borrowed) */
	char shown[PATH_MAX]; /* the folder as the user sees it, for messages */
	char final[NAME_MAX + 1];
	char tmp[NAME_MAX + 1];
	int fd;             /* the temporary file, -1 when closed */
	int exists;         /* the temporary is on disk */
	FILE *f;
	gzFile gz;
	char *buf;          /* OUT_BUFFER bytes */
	size_t used;
	int64_t rows;
	int64_t bytes;      /* size when finished */
	size_t unsynced;    /* bytes written since writeback was last started */
	off_t started;      /* the file's bytes before this offset are being written out */
	off_t dropped;      /* ... before this one are on the disk, out of the page cache */
	int failed;         /* a write failed: errno saved */
	int err_no;
};

/* One set of files (OUTDIR or a subfolder) for lists sharing a header. */
struct fileset {
	struct outfile file[FILE_COUNT];
	int64_t width;       /* input columns written per row */
	int dirfd;           /* its folder; OUTDIR's descriptor is not owned */
	int created;         /* the subfolder was made by this export */
	char name[256];      /* subfolder name, "" = OUTDIR */
};

struct exporter {
	const struct export_opts *o;
	struct fileset *set;
	struct report_tally *list_tally;
	struct report_tally *total;
	char *line;          /* the current output line */
	size_t line_cap, line_len;
	struct store *trace_store; /* where the mailsift_trace column comes from, or NULL */
	int trace_failed;          /* reading it failed: the export fails */
};

/* random_letters - N unpredictable letters and digits (getrandom) into OUT */
static void random_letters(char *out, size_t n)
{
	static const char abc[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char r[64] = {0};
	size_t got = 0;

	if (n > sizeof r)
		abort(); /* our names are short: a caller's mistake */

	while (got < n) {
		ssize_t k = getrandom(r + got, n - got, 0);
		if (k < 0 && errno != EINTR)
			abort(); /* the kernel's random source cannot fail after boot */
		if (k > 0)
			got += (size_t)k;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = abc[r[i] % (sizeof abc - 1)];
	out[n] = '\0';
}

/* is_our_temporary - NAME is "." FINAL TMP_MARK + TMP_RANDOM letters, FINAL one of our names */
static int is_our_temporary(const char *name)
{
	static const char *const finals[] = {"valid", "invalid", "risky", "catch_all", "unknown",
	                                     "duplicates", "changes"};
	size_t n = strlen(name), m = strlen(TMP_MARK), k;
	const char *mark;

	if (name[0] != '.' || n < 1 + m + TMP_RANDOM)
		return 0;
	mark = name + n - TMP_RANDOM - m;
	if (memcmp(mark, TMP_MARK, m) != 0)
		return 0;
	for (size_t i = 0; i < TMP_RANDOM; i++)
		if (!isalnum((unsigned char)mark[m + i]))
			return 0;
	k = (size_t)(mark - (name + 1));
	if (k == strlen("report.json") && memcmp(name + 1, "report.json", k) == 0)
		return 1;
	for (size_t i = 0; i < sizeof finals / sizeof finals[0]; i++) {
		size_t f = strlen(finals[i]);
		if (k >= f && memcmp(name + 1, finals[i], f) == 0 &&
		    (k - f == 4 || k - f == 7) && memcmp(name + 1 + f, ".csv.gz", k - f) == 0)
			return 1;
	}
	return 0;
}

/* sweep_dir - remove the temporaries a killed export left in DIRFD (never following links) */
static void sweep_dir(int dirfd, int subfolders)
{
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	struct stat st;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	rewinddir(d);
	while ((e = readdir(d)) != NULL) {
		if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			/* a list's subfolder (ID-NAME) */
			if (subfolders && isdigit((unsigned char)e->d_name[0]) && strchr(e->d_name, '-')) {
				int sub = openat(dirfd, e->d_name,
				                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (sub >= 0) {
					sweep_dir(sub, 0);
					close(sub);
				}
			}
		} else if ((S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) && is_our_temporary(e->d_name)) {
			unlinkat(dirfd, e->d_name, 0);
		}
	}
	closedir(d);
}

/* out_writeback - start writing out what was written since last time (asynchronously), and
 * let the page cache drop what was started last time (on the disk by now): the closing fsync
 * then has little left to wait for, and the files do not fill the page cache, pushing out the
 * job store being read (an export of 8M rows waited 3 s in its fsync; one of 32M rows writes
 * 5 GiB and spent 30 s in the kernel, reclaiming memory and reading the store back) */
static void out_writeback(struct outfile *of)
{
	off_t end;

	of->unsynced = 0;
	if (of->f && fflush(of->f) != 0) {
		of->failed = 1;
		of->err_no = errno ? errno : EIO;
		return;
	}
	end = lseek(of->fd, 0, SEEK_CUR); /* shares the stream's offset (a dup of it) */
	if (end <= of->started)
		return;
	if (of->started > of->dropped) {
		sync_file_range(of->fd, of->dropped, of->started - of->dropped,
		                SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
		                SYNC_FILE_RANGE_WAIT_AFTER);
		posix_fadvise(of->fd, of->dropped, of->started - of->dropped, POSIX_FADV_DONTNEED);
		of->dropped = of->started;
	}
	sync_file_range(of->fd, of->started, end - of->started, SYNC_FILE_RANGE_WRITE);
	of->started = end;
}

static int out_flush(struct outfile *of)
{
	if (of->used == 0 || of->failed)
		return of->failed ? -1 : 0;
	errno = 0;
	if (of->gz) {
		if (gzwrite(of->gz, of->buf, (unsigned)of->used) != (int)of->used) {
			of->failed = 1;
			of->err_no = errno ? errno : EIO;
		}
	} else if (fwrite(of->buf, 1, of->used, of->f) != of->used) {
		of->failed = 1;
		of->err_no = errno ? errno : EIO;
	}
	of->unsynced += of->used;
	of->used = 0;
	if (!of->failed && of->unsynced >= OUT_WRITEBACK)
		out_writeback(of);
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

/* out_open - a new temporary for FINAL in DIRFD: an unpredictable name, created exclusively,
 * never through a link */
static int out_open(struct outfile *of, int dirfd, const char *shown, const char *final,
                    int gzip, char *err, size_t errlen)
{
	int dup_fd;

	memset(of, 0, sizeof *of);
	of->fd = -1;
	of->dirfd = dirfd;
	snprintf(of->shown, sizeof of->shown, "%s", shown);
	snprintf(of->final, sizeof of->final, "%s", final);
	for (int t = 0; t < TMP_TRIES && of->fd < 0; t++) {
		char r[TMP_RANDOM + 1];
		random_letters(r, TMP_RANDOM);
		snprintf(of->tmp, sizeof of->tmp, ".%s%s%s", final, TMP_MARK, r);
		of->fd = openat(dirfd, of->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		                EXPORT_FILE_MODE);
		if (of->fd < 0 && errno != EEXIST)
			break;
	}
	if (of->fd < 0) {
		snprintf(err, errlen, "%s/%s: %s", shown, of->tmp, strerror(errno));
		return -1;
	}
	of->exists = 1;
	dup_fd = fcntl(of->fd, F_DUPFD_CLOEXEC, 0); /* stdio / zlib close theirs; we keep ours */
	if (dup_fd >= 0) {
		if (gzip)
			of->gz = gzdopen(dup_fd, GZIP_MODE);
		else
			of->f = fdopen(dup_fd, "w");
	}
	of->buf = malloc(OUT_BUFFER);
	if ((gzip ? (void *)of->gz : (void *)of->f) == NULL || of->buf == NULL) {
		snprintf(err, errlen, "%s/%s: cannot open for writing", shown, of->tmp);
		if (dup_fd >= 0)
			close(dup_fd);
		return -1;
	}
	return 0;
}

/* out_finish - flush, sync and close the temporary (it stays on disk for out_commit) */
static int out_finish(struct outfile *of, char *err, size_t errlen)
{
	struct stat st;

	if (of->fd < 0)
		return 0;
	out_flush(of);
	if (of->f) {
		if (fclose(of->f) != 0 && !of->failed) {
			of->failed = 1;
			of->err_no = errno;
		}
	} else if (of->gz) {
		int zr = gzclose(of->gz);
		if (zr != Z_OK && !of->failed) {
			of->failed = 1;
			of->err_no = zr == Z_ERRNO ? errno : EIO;
		}
	}
	of->f = NULL;
	of->gz = NULL;
	free(of->buf);
	of->buf = NULL;
	if (!of->failed && (fsync(of->fd) != 0 || fstat(of->fd, &st) != 0)) {
		of->failed = 1;
		of->err_no = errno;
	} else if (!of->failed) {
		of->bytes = (int64_t)st.st_size;
	}
	if (close(of->fd) != 0 && !of->failed) {
		of->failed = 1;
		of->err_no = errno;
	}
	of->fd = -1;
	if (of->failed) {
		snprintf(err, errlen, "%s/%s: %s", of->shown, of->tmp, strerror(of->err_no));
		return -1;
	}
	return 0;
}

/* out_commit - rename the finished temporary to its final name (a link there is replaced,
 * not followed) */
static int out_commit(struct outfile *of, char *err, size_t errlen)
{
	if (renameat(of->dirfd, of->tmp, of->dirfd, of->final) != 0) {
		snprintf(err, errlen, "%s/%s: %s", of->shown, of->final, strerror(errno));
		return -1;
	}
	of->exists = 0;
	return 0;
}

/* out_discard - close and remove the temporary, if any */
static void out_discard(struct outfile *of)
{
	if (of->f)
		fclose(of->f);
	if (of->gz)
		gzclose(of->gz);
	if (of->fd >= 0)
		close(of->fd);
	if (of->exists)
		unlinkat(of->dirfd, of->tmp, 0);
	free(of->buf);
	memset(of, 0, sizeof *of);
	of->fd = -1;
}

/* ---- building a line ---- */

/* line_reserve - room for N more bytes (and a NUL) in the line being built */
static void line_reserve(struct exporter *ex, size_t n)
{
	if (ex->line_len + n + 1 > ex->line_cap) {
		while (ex->line_len + n + 1 > ex->line_cap)
			ex->line_cap = ex->line_cap ? ex->line_cap * 2 : 4096;
		ex->line = realloc(ex->line, ex->line_cap);
		if (ex->line == NULL)
			abort();
	}
}

static void line_put(struct exporter *ex, const char *p, size_t n)
{
	line_reserve(ex, n);
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
	unsigned flags = export_neutralize_needed(p, n) ? CSVQUOTE_NEUTRAL : 0;
	size_t room = 2 * n + 3; /* the most it can take: every byte a quote, 2 quotes and a ' */

	line_reserve(ex, room);
	ex->line_len += csvquote_write(ex->line + ex->line_len, room, p, n, ',', flags);
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
				/* the record's unquoted field holds no comma, quote, CR or LF (it would have
				 * been quoted: csvquote.h): as is, unless it needs neutralizing */
				const char *c = memchr(rec + i, ',', len - i);
				size_t end = c ? (size_t)(c - rec) : len;
				if (export_neutralize_needed(rec + i, end - i))
					put_field(ex, rec + i, end - i);
				else
					line_put(ex, rec + i, end - i);
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

/* row_change - the status R's verdict replaced when it differs from ST, R's (a row of its
 * address's first occurrence, not a duplicate): 0 with *PREV set, else -1 */
static int row_change(const struct store_row_out *r, enum verdict_status st,
                      enum verdict_status *prev)
{
	int p;

	if (r->dup_of > 0 || !r->has_address || r->prev_status == NULL ||
	    (p = verdict_status_from_name(r->prev_status)) < 0 || p == (int)st)
		return -1;
	*prev = (enum verdict_status)p;
	return 0;
}

/* write_change - R's line (built, without its line end) with the verdict it replaced, to
 * changes.csv */
static void write_change(struct exporter *ex, const struct store_row_out *r)
{
	struct outfile *of = &ex->set->file[FILE_CHANGES];

	put_text(ex, r->prev_status);
	put_checked_at(ex, r->prev_checked_at);
	line_put(ex, "\r\n", 2);
	out_write(of, ex->line, ex->line_len);
	of->rows++;
}

static int write_row(void *ctx, const struct store_row_out *r)
{
	struct exporter *ex = ctx;
	const char *reason;
	enum verdict_status st = row_verdict(r, &reason), prev;
	int dup = r->dup_of > 0;
	struct outfile *of = &ex->set->file[dup ? FILE_DUPLICATES : st];
	char flags[64];
	size_t len;

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
	if (ex->o->with_trace) {
		char *trace = NULL;
		if (ex->trace_store && r->address_id > 0 &&
		    store_trace_get(ex->trace_store, r->address_id, &trace) < 0)
			ex->trace_failed = 1;
		put_text(ex, trace);
		free(trace);
	}
	len = ex->line_len;
	line_put(ex, "\r\n", 2);
	out_write(of, ex->line, ex->line_len);
	of->rows++;
	report_tally_add(ex->list_tally, st, reason, dup);
	report_tally_add(ex->total, st, reason, dup);
	if (row_change(r, st, &prev) == 0) {
		ex->line_len = len;
		write_change(ex, r);
		report_tally_change(ex->list_tally, prev, st);
		report_tally_change(ex->total, prev, st);
	}
	return of->failed || ex->set->file[FILE_CHANGES].failed || ex->trace_failed ? -1 : 0;
}

/* write_header - the input's header (or generated names), padded, then the annotations */
static void write_header(struct exporter *ex, const struct store_list *l)
{
	char name[32];
	int64_t n;
	size_t len;

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
	if (ex->o->with_trace)
		put_text(ex, "mailsift_trace");
	len = ex->line_len;
	line_put(ex, "\r\n", 2);
	for (int f = 0; f < FILE_COUNT; f++)
		if (f != FILE_CHANGES)
			out_write(&ex->set->file[f], ex->line, ex->line_len);
	ex->line_len = len;
	for (size_t i = 0; i < sizeof change_names / sizeof change_names[0]; i++)
		put_text(ex, change_names[i]);
	line_put(ex, "\r\n", 2);
	out_write(&ex->set->file[FILE_CHANGES], ex->line, ex->line_len);
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
	char part[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof part) {
		snprintf(err, errlen, "%s: cannot create folder: %s", path, strerror(ENAMETOOLONG));
		return -1;
	}
	/* each missing parent first, as mkdir -p (a shard's -o /data/shards/3 on a new volume) */
	memcpy(part, path, n + 1);
	for (char *p = part + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(part, 0755) < 0 && errno != EEXIST) {
			snprintf(err, errlen, "%s: cannot create folder %s: %s", path, part, strerror(errno));
			return -1;
		}
		*p = '/';
	}
	if (mkdir(path, 0755) == 0 || errno == EEXIST) {
		struct stat st;
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			return 0;
		errno = ENOTDIR;
	}
	snprintf(err, errlen, "%s: cannot create folder: %s", path, strerror(errno));
	return -1;
}

int export_make_dir(const char *path, char *err, size_t errlen)
{
	return make_dir(path, err, errlen);
}

/* open_subfolder - the folder NAME in OUTFD for a set, made when missing; a link there is
 * refused, never followed */
static int open_subfolder(int outfd, const char *outdir, struct fileset *set, char *err,
                          size_t errlen)
{
	if (mkdirat(outfd, set->name, 0755) == 0)
		set->created = 1;
	else if (errno != EEXIST)
		goto fail;
	set->dirfd = openat(outfd, set->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (set->dirfd >= 0)
		return 0;
	if (errno == ELOOP || errno == ENOTDIR) {
		snprintf(err, errlen, "%s/%s: not a folder (a symbolic link or a file is there; it is "
		         "not followed: remove it)", outdir, set->name);
		return -1;
	}
fail:
	snprintf(err, errlen, "%s/%s: cannot create folder: %s", outdir, set->name, strerror(errno));
	return -1;
}

/* ---- one export, step by step ---- */

/* One export_run: what its steps share. */
struct export_job {
	struct store *s;
	const struct export_opts *o;
	struct export_result *res;
	time_t started;              /* wall clock at the start: report.json's export id */
	double t0;                   /* clock_now() at the start: the export's seconds */
	int outfd;                   /* OUTDIR (locked when flock could lock it); owned */
	struct store_list *all;      /* every list in the store (store_lists) */
	size_t nall;
	struct report_list *rl;      /* the selected lists, nsel of them */
	size_t nsel;
	int64_t *list_ids;           /* their ids, for report.json */
	int *group;                  /* rl[i]'s set of files: 0 .. ngroups - 1 */
	int ngroups;
	struct fileset *sets;        /* one per group */
	struct report_file *files;   /* the files written, nfiles of them, for report.json */
	size_t nfiles;
	struct report_tally total;   /* counts over every selected list */
	struct exporter ex;          /* the line builder and its current set */
	struct outfile report;       /* report.json's temporary */
	char *run_json;              /* the last run's figures from the store (owned), or NULL */
	char *store_real;            /* the store's real path (owned), or NULL */
	int renaming;                /* the switch has begun: the old files may be gone */
	/* a merge (o->nshards > 0) */
	int64_t *shard_list;         /* [i * nshards + j]: list rl[i]'s id in shard j's store */
	struct report_shard *shards; /* for report.json, nshards of them */
};

/* outdir_open - OUTDIR made when missing, opened and locked (one export there at a time) and
 * swept of what a killed export left; its descriptor, or -1 with err */
static int outdir_open(const char *outdir, char *err, size_t errlen)
{
	int fd;

	if (make_dir(outdir, err, errlen) < 0)
		return -1;
	/* OUTDIR as given (it may be a link the user made); everything in it relative to it */
	fd = open(outdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", outdir, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK) {
			snprintf(err, errlen, "%s: another mailsift export is writing there; wait for it "
			         "to finish", outdir);
			close(fd);
			return -1;
		}
	} else {
		sweep_dir(fd, 1); /* what a killed export left; only with the lock held */
	}
	return fd;
}

/* job_alloc - the per-list arrays, room for every list of the store (at least one), every
 * set's folder and files marked not open */
static void job_alloc(struct export_job *job)
{
	size_t n = job->nall ? job->nall : 1;

	job->rl = calloc(n, sizeof *job->rl);
	job->group = calloc(n, sizeof *job->group);
	job->files = calloc(n * FILE_COUNT, sizeof *job->files);
	job->sets = calloc(n, sizeof *job->sets);
	job->list_ids = calloc(n, sizeof *job->list_ids);
	job->shard_list = calloc(n * (job->o->nshards + 1), sizeof *job->shard_list);
	job->shards = calloc(job->o->nshards + 1, sizeof *job->shards);
	if (job->rl == NULL || job->group == NULL || job->files == NULL || job->sets == NULL ||
	    job->list_ids == NULL || job->shard_list == NULL || job->shards == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		job->sets[i].dirfd = -1;
		for (int f = 0; f < FILE_COUNT; f++)
			job->sets[i].file[f].fd = -1;
	}
}

/* ---- a merge of shards ---- */

/* twin_list - the id of the list in T holding the same input as L (the same bytes, or the
 * same identity for a list imported before content hashes), -1 when none, -2 on error */
static int64_t twin_list(struct store *t, const struct store_list *l)
{
	struct store_list *v;
	size_t n;
	int64_t id = -1;

	if (store_lists(t, &v, &n) < 0)
		return -2;
	for (size_t i = 0; i < n && id < 0; i++)
		if (l->raw_sha256 && v[i].raw_sha256 ? strcmp(l->raw_sha256, v[i].raw_sha256) == 0 &&
		                                           l->raw_bytes == v[i].raw_bytes
		                                     : strcmp(l->identity, v[i].identity) == 0)
			id = v[i].id;
	store_lists_free(v, n);
	return id;
}

/* problems_add - ADD's counts (N kinds) into *V (*NV kinds): counts summed, the first line
 * the least */
static void problems_add(struct store_problem_count **v, size_t *nv,
                         const struct store_problem_count *add, size_t n)
{
	for (size_t a = 0; a < n; a++) {
		size_t k = 0;
		while (k < *nv && strcmp((*v)[k].kind, add[a].kind) != 0)
			k++;
		if (k == *nv) {
			*v = realloc(*v, (*nv + 1) * sizeof **v);
			if (*v == NULL)
				abort();
			(*v)[(*nv)++] = add[a];
			continue;
		}
		(*v)[k].count += add[a].count;
		if (add[a].first_line < (*v)[k].first_line)
			(*v)[k].first_line = add[a].first_line;
	}
}

/* merge_select - selected list I found in every shard's store, its problems summed over them */
static int merge_select(struct export_job *job, size_t i, char *err, size_t errlen)
{
	const struct export_opts *o = job->o;
	struct report_list *rl = &job->rl[i];

	job->shard_list[i * o->nshards] = rl->list->id;
	for (size_t j = 1; j < o->nshards; j++) {
		struct store_problem_count *pc;
		size_t npc;
		int64_t id = twin_list(o->shards[j], rl->list);

		if (id == -1) {
			snprintf(err, errlen, "%s does not hold %s", o->shard_paths[j], rl->list->name);
			return -1;
		}
		if (id < 0) {
			snprintf(err, errlen, "%s: %s", o->shard_paths[j], store_errmsg(o->shards[j]));
			return -1;
		}
		job->shard_list[i * o->nshards + j] = id;
		if (store_problem_counts(o->shards[j], id, &pc, &npc) < 0) {
			snprintf(err, errlen, "%s: %s", o->shard_paths[j], store_errmsg(o->shards[j]));
			return -1;
		}
		problems_add(&rl->problems, &rl->nproblems, pc, npc);
		free(pc);
	}
	return 0;
}

/* A shard's next row in a merge: a heap of them, the least row number on top. */
struct merge_head {
	struct store_row_out r;
	size_t shard;
};

static void heap_down(struct merge_head *h, size_t n, size_t i)
{
	for (;;) {
		size_t m = i, l = 2 * i + 1, r = l + 1;
		if (l < n && h[l].r.row_no < h[m].r.row_no)
			m = l;
		if (r < n && h[r].r.row_no < h[m].r.row_no)
			m = r;
		if (m == i)
			return;
		struct merge_head t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/* merge_rows - the rows of selected list I from every shard's store, in input order (row
 * numbers), into PIPE; 0, or -1 (a file or a store failed: err set when a store) */
static int merge_rows(struct export_job *job, size_t i, struct rowpipe *pipe, char *err,
                      size_t errlen)
{
	const struct export_opts *o = job->o;
	struct merge_head *h = calloc(o->nshards, sizeof *h);
	size_t n = 0;
	int rc = 0, got;

	if (h == NULL)
		abort();
	for (size_t j = 0; j < o->nshards && rc == 0; j++) {
		store_rows_start(o->shards[j], job->shard_list[i * o->nshards + j]);
		h[n].shard = j;
		if ((got = store_rows_next(o->shards[j], &h[n].r)) > 0)
			n++;
		else if (got < 0)
			rc = -1;
	}
	for (size_t k = n; k-- > 0;)
		heap_down(h, n, k);
	while (rc == 0 && n > 0) {
		size_t j = h[0].shard;
		if (rowpipe_put(pipe, &h[0].r) < 0) {
			rc = -1;
			break;
		}
		job->shards[j].rows++;
		if ((got = store_rows_next(o->shards[j], &h[0].r)) < 0) {
			rc = -1;
			snprintf(err, errlen, "%s: %s", o->shard_paths[j], store_errmsg(o->shards[j]));
			break;
		}
		if (got == 0)
			h[0] = h[--n];
		heap_down(h, n, 0);
	}
	for (size_t j = 0; j < o->nshards; j++)
		store_rows_stop(o->shards[j]);
	free(h);
	return rc;
}

/* job_select - the selected lists into rl[] with their problem counts, grouped by layout */
static int job_select(struct export_job *job, char *err, size_t errlen)
{
	const struct export_opts *o = job->o;
	struct report_list *rl = job->rl;

	/* The selected lists, grouped by layout: group g holds the lists with group[i] == g. */
	for (size_t i = 0; i < job->nall; i++) {
		struct store_list *l = &job->all[i];
		size_t nsel = job->nsel;
		int want = o->list_ids == NULL;

		for (size_t k = 0; k < o->nlists && !want; k++)
			want = o->list_ids[k] == l->id;
		if (!want)
			continue;
		if (!l->done && o->messages)
			fprintf(o->messages,
			        "mailsift: note: %s was not completely imported (%lld rows so far); "
			        "exporting what is there\n",
			        l->name, (long long)l->rows);
		rl[nsel].list = l;
		job->list_ids[nsel] = l->id;
		job->group[nsel] = -1;
		for (size_t k = 0; k < nsel; k++)
			if (same_layout(rl[k].list, l)) {
				job->group[nsel] = job->group[k];
				break;
			}
		if (job->group[nsel] < 0)
			job->group[nsel] = job->ngroups++;
		if (store_problem_counts(job->s, l->id, &rl[nsel].problems, &rl[nsel].nproblems) < 0) {
			snprintf(err, errlen, "job store: %s", store_errmsg(job->s));
			return -1;
		}
		job->nsel++;
		if (o->nshards > 0 && merge_select(job, nsel, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* set_open - set G's folder (a subfolder of its own when there are several sets), its width
 * and the temporaries of its files; SHOWN gets the folder as the user sees it */
static int set_open(struct export_job *job, int g, size_t first, char *shown, size_t shownlen,
                    char *err, size_t errlen)
{
	const struct export_opts *o = job->o;
	struct fileset *set = &job->sets[g];
	struct report_list *rl = job->rl;

	if (job->ngroups > 1) {
		folder_name(rl[first].list, set->name, sizeof set->name);
		snprintf(rl[first].dir, sizeof rl[first].dir, "%s", set->name);
		if (open_subfolder(job->outfd, o->outdir, set, err, errlen) < 0)
			return -1;
		snprintf(shown, shownlen, "%s/%s", o->outdir, set->name);
	} else {
		set->dirfd = job->outfd;
		snprintf(shown, shownlen, "%s", o->outdir);
	}
	set->width = 0;
	for (size_t i = first; i < job->nsel; i++)
		if (job->group[i] == g) {
			snprintf(rl[i].dir, sizeof rl[i].dir, "%s", rl[first].dir);
			if (rl[i].list->max_fields > set->width)
				set->width = rl[i].list->max_fields;
		}
	if (set->width == 0)
		set->width = 1;
	for (int f = 0; f < FILE_COUNT; f++) {
		char final[64];
		snprintf(final, sizeof final, "%s.csv%s",
		         f == FILE_DUPLICATES ? "duplicates"
		         : f == FILE_CHANGES  ? "changes"
		                              : verdict_status_name(f),
		         o->gzip ? ".gz" : "");
		if (out_open(&set->file[f], set->dirfd, shown, final, o->gzip, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* set_write_rows - the header, then the rows of every list of set G, into its temporaries */
static int set_write_rows(struct export_job *job, int g, size_t first, const char *shown,
                          char *err, size_t errlen)
{
	struct fileset *set = &job->sets[g];

	job->ex.set = set;
	write_header(&job->ex, job->rl[first].list);
	for (size_t i = first; i < job->nsel; i++) {
		struct rowpipe *pipe;
		int rc;

		if (job->group[i] != g)
			continue;
		job->ex.list_tally = &job->rl[i].tally;
		/* the rows are written on a thread of their own, beside the reading; not when the
		 * transcripts are written, which come from the store being read (one connection) */
		pipe = rowpipe_start(write_row, &job->ex, !job->o->with_trace);
		rc = job->o->nshards > 0 ? merge_rows(job, i, pipe, err, errlen)
		                         : store_rows_each(job->s, job->rl[i].list->id, rowpipe_put, pipe);
		if (rowpipe_finish(pipe) < 0)
			rc = -1;
		if (rc < 0) {
			for (int f = 0; f < FILE_COUNT; f++)
				if (set->file[f].failed)
					snprintf(err, errlen, "%s/%s: %s", shown, set->file[f].tmp,
					         strerror(set->file[f].err_no));
			if (err[0] == '\0')
				snprintf(err, errlen, "job store: %s", store_errmsg(job->s));
			return -1;
		}
	}
	return 0;
}

/* set_finish - set G's temporaries flushed, synced and closed, each listed for report.json */
static int set_finish(struct export_job *job, int g, char *err, size_t errlen)
{
	struct fileset *set = &job->sets[g];

	for (int f = 0; f < FILE_COUNT; f++) {
		struct report_file *rf = &job->files[job->nfiles++];
		if (out_finish(&set->file[f], err, errlen) < 0)
			return -1;
		snprintf(rf->path, sizeof rf->path, "%s%s%s", set->name, set->name[0] ? "/" : "",
		         set->file[f].final);
		rf->rows = set->file[f].rows;
		rf->bytes = set->file[f].bytes;
	}
	return 0;
}

/* job_write_sets - each set in turn opened, filled and finished (set_open, set_write_rows,
 * set_finish) */
static int job_write_sets(struct export_job *job, char *err, size_t errlen)
{
	char shown[PATH_MAX];

	/* Write every file of every set under a temporary name; nothing is renamed yet. */
	job->ex.o = job->o;
	job->ex.total = &job->total;
	job->ex.trace_store = job->o->nshards ? NULL : job->s;
	for (int g = 0; g < job->ngroups; g++) {
		size_t first = 0;
		while (job->group[first] != g)
			first++;
		if (set_open(job, g, first, shown, sizeof shown, err, errlen) < 0 ||
		    set_write_rows(job, g, first, shown, err, errlen) < 0 ||
		    set_finish(job, g, err, errlen) < 0)
			return -1;
		job->res->nsets++;
	}
	return 0;
}

/* job_write_report - report.json written under a temporary name, synced and closed */
static int job_write_report(struct export_job *job, char *err, size_t errlen)
{
	const struct export_opts *o = job->o;
	struct report_export rx;
	struct tm tm;
	char rnd[9];

	/* report.json, the manifest: this export's id, its store, its lists, its files */
	job->res->seconds = clock_now() - job->t0;
	memset(&rx, 0, sizeof rx);
	random_letters(rnd, 8);
	gmtime_r(&job->started, &tm);
	strftime(rx.id, sizeof rx.id, "%Y%m%dT%H%M%SZ-", &tm);
	snprintf(rx.id + strlen(rx.id), sizeof rx.id - strlen(rx.id), "%s", rnd);
	job->store_real = o->store_path ? realpath(o->store_path, NULL) : NULL;
	rx.store = job->store_real ? job->store_real : o->store_path;
	rx.list_ids = job->list_ids;
	rx.nlist_ids = job->nsel;
	rx.gzip = o->gzip;
	if (o->nshards > 0) {
		/* each shard's last run in "shards"; no single run to name */
		for (size_t j = 0; j < o->nshards; j++) {
			job->shards[j].store = o->shard_paths[j];
			job->shards[j].run_json = store_last_run_stats(o->shards[j]);
			if (job->nsel > 0)
				store_list_shard(o->shards[j], job->shard_list[j], &job->shards[j].k,
				                 &job->shards[j].n);
		}
		rx.shards = job->shards;
		rx.nshards = o->nshards;
	} else {
		job->run_json = o->run_json ? NULL : store_last_run_stats(job->s); /* the last run's */
	}
	if (out_open(&job->report, job->outfd, o->outdir, "report.json", 0, err, errlen) < 0)
		return -1;
	if (report_write(job->report.f, o->outdir, &rx, job->rl, job->nsel, &job->total, job->files,
	                 job->nfiles, job->res->seconds, o->run_json ? o->run_json : job->run_json,
	                 err, errlen) < 0 ||
	    out_finish(&job->report, err, errlen) < 0)
		return -1;
	return 0;
}

/* job_switch - every temporary renamed into place, report.json last */
static int job_switch(struct export_job *job, char *err, size_t errlen)
{
	const char *outdir = job->o->outdir;
	int outfd = job->outfd;

	/* The switch: the old report.json goes first (a folder without one holds no finished
	 * export), then every file, then the new report.json, each step synced to disk. */
	job->renaming = 1;
	if (unlinkat(outfd, "report.json", 0) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "%s/report.json: %s", outdir, strerror(errno));
		return -1;
	}
	for (int g = 0; g < job->ngroups; g++)
		for (int f = 0; f < FILE_COUNT; f++)
			if (out_commit(&job->sets[g].file[f], err, errlen) < 0)
				return -1;
	for (int g = 0; g < job->ngroups; g++)
		if (job->sets[g].dirfd != outfd && fsync(job->sets[g].dirfd) != 0) {
			snprintf(err, errlen, "%s/%s: %s", outdir, job->sets[g].name, strerror(errno));
			return -1;
		}
	if (fsync(outfd) != 0 || out_commit(&job->report, err, errlen) < 0 || fsync(outfd) != 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "%s: %s", outdir, strerror(errno));
		return -1;
	}
	return 0;
}

/* job_end - let go of everything the export holds; on failure (RC < 0) its temporaries and the
 * subfolders it made (when empty) are removed and ERR says what OUTDIR holds now */
static void job_end(struct export_job *job, int rc, char *err, size_t errlen)
{
	const char *outdir = job->o->outdir;

	if (rc < 0) {
		size_t n = strlen(err);
		if (!job->renaming)
			snprintf(err + n, errlen - n, "; the files already in %s are unchanged", outdir);
		else
			snprintf(err + n, errlen - n, "; %s holds an unfinished export (no report.json): "
			         "run the export again", outdir);
	}
	out_discard(&job->report);
	for (int g = 0; g < job->ngroups; g++) {
		struct fileset *set = &job->sets[g];
		for (int f = 0; f < FILE_COUNT; f++)
			out_discard(&set->file[f]);
		if (set->dirfd >= 0 && set->dirfd != job->outfd)
			close(set->dirfd);
		if (rc < 0 && set->created)
			unlinkat(job->outfd, set->name, AT_REMOVEDIR); /* only when empty */
	}
	close(job->outfd);
	for (size_t i = 0; i < job->nsel; i++)
		free(job->rl[i].problems);
	free(job->rl);
	free(job->group);
	free(job->files);
	free(job->sets);
	free(job->list_ids);
	free(job->ex.line);
	free(job->run_json);
	free(job->store_real);
	for (size_t j = 0; j < job->o->nshards; j++)
		free(job->shards[j].run_json);
	free(job->shards);
	free(job->shard_list);
	store_lists_free(job->all, job->nall);
}

int export_run(struct store *s, const struct export_opts *o, struct export_result *res,
               char *err, size_t errlen)
{
	struct export_job job;
	int rc = -1;

	memset(res, 0, sizeof *res);
	memset(&job, 0, sizeof job);
	job.s = s;
	job.o = o;
	job.res = res;
	job.started = time(NULL);
	job.report.fd = -1;
	job.t0 = clock_now();
	if ((job.outfd = outdir_open(o->outdir, err, errlen)) < 0)
		return -1;
	if (store_lists(s, &job.all, &job.nall) < 0) {
		snprintf(err, errlen, "job store: %s", store_errmsg(s));
		close(job.outfd);
		return -1;
	}
	job_alloc(&job);
	if (job_select(&job, err, errlen) == 0 && job_write_sets(&job, err, errlen) == 0 &&
	    job_write_report(&job, err, errlen) == 0 && job_switch(&job, err, errlen) == 0) {
		res->rows = job.total.rows;
		res->duplicates = job.total.duplicates;
		res->changes = job.total.changed;
		memcpy(res->by_status, job.total.by_status, sizeof res->by_status);
		rc = 0;
	}
	job_end(&job, rc, err, errlen);
	return rc;
}
