/*
 * test_instream - the input byte stream (importers/instream.c): plain files, stdin, pipes and
 * FIFOs, gzip (one member, many members, zero padding, trailing garbage), damaged gzip (rows
 * before the damage kept, an error naming the compressed offset), open and read errors, EINTR,
 * progress offsets; and the CSV reader's view of a damaged stream.
 *
 * gzip data is made with zlib's gzopen/gzwrite in a private directory under $TMPDIR (or /tmp),
 * removed at exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "importers/csv.h"
#include "importers/instream.h"
#include "tests/check.h"
#include "tests/tmpdir.h"

/* ---------------------------------------------------------------- helpers */

static int tmpseq;

/* tmp_path - a new path in the private directory (static, overwritten by the next call) */
static const char *tmp_path(const char *suffix)
{
	static char path[1024];

	if (tmpdir_make("test_instream") != 0) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(path, sizeof path, "%s/f%d%s", tmpdir, ++tmpseq, suffix);
	return path;
}

static void write_file(const char *path, const void *data, size_t n, const char *mode)
{
	FILE *f = fopen(path, mode);

	if (f == NULL || (n > 0 && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static const char *tmp_write(const void *data, size_t n)
{
	const char *p = tmp_path(".csv");

	write_file(p, data, n, "wb");
	return p;
}

/* gz_append - add DATA to PATH as one more gzip member ("wb" starts the file, "ab" appends) */
static void gz_append(const char *path, const void *data, size_t n, const char *mode)
{
	gzFile g = gzopen(path, mode);

	if (g == NULL || (n > 0 && gzwrite(g, data, (unsigned)n) != (int)n) || gzclose(g) != Z_OK) {
		fprintf(stderr, "gzip %s failed\n", path);
		exit(1);
	}
}

static void *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long len;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0)
		abort();
	buf = malloc((size_t)len + 1);
	if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len)
		abort();
	fclose(f);
	*n = (size_t)len;
	return buf;
}

/* gzip_bytes - DATA as one gzip member (zlib, through a new file); *ZN bytes, malloc'd */
static char *gzip_bytes(const void *data, size_t n, size_t *zn)
{
	const char *gz = tmp_path(".csv.gz");

	gz_append(gz, data, n, "wb");
	return slurp(gz, zn);
}

/* what reading one stream to its end gave */
struct got {
	char *data;       /* every byte returned */
	size_t len;
	int rc;           /* 0 clean end, -1 error, -2 open failed */
	int gzip;
	uint64_t offset;  /* instream_raw_offset at the end */
	uint64_t size;    /* instream_raw_size */
	int offset_bad;   /* times the offset went back or past the size */
	char name[64];
	char err[512];
};

/* read_stream - open PATH and read it to the end in pieces of STEP bytes */
static void read_stream(const char *path, size_t step, struct got *g)
{
	char err[512];
	struct instream *in;
	char *buf = malloc(step);
	size_t cap = 1024;

	memset(g, 0, sizeof *g);
	g->data = malloc(cap);
	in = instream_open(path, err, sizeof err);
	if (in == NULL) {
		g->rc = -2;
		snprintf(g->err, sizeof g->err, "%s", err);
		free(buf);
		return;
	}
	g->gzip = instream_is_gzip(in);
	g->size = instream_raw_size(in);
	snprintf(g->name, sizeof g->name, "%s", instream_name(in));
	for (;;) {
		ssize_t n = instream_read(in, buf, step, err, sizeof err);
		uint64_t at = instream_raw_offset(in);

		/* progress only moves forward and never past the size */
		if (at < g->offset || (g->size > 0 && at > g->size))
			g->offset_bad++;
		g->offset = at;
		if (n < 0) {
			g->rc = -1;
			snprintf(g->err, sizeof g->err, "%s", err);
			break;
		}
		if (n == 0)
			break;
		if (g->len + (size_t)n > cap) {
			while (g->len + (size_t)n > cap)
				cap *= 2;
			g->data = realloc(g->data, cap);
		}
		memcpy(g->data + g->len, buf, (size_t)n);
		g->len += (size_t)n;
	}
	g->offset = instream_raw_offset(in);
	CHECK_INT(g->offset_bad, 0, "offsets move forward within the size");
	/* the end (or the error) stays */
	if (g->rc == 0)
		CHECK_INT(instream_read(in, buf, step, err, sizeof err), 0, "end again");
	else
		CHECK_INT(instream_read(in, buf, step, err, sizeof err), -1, "error again");
	instream_close(in);
	free(buf);
}

/* rows - N numbered CSV rows, about 40 bytes each */
static char *rows(size_t n, size_t *len)
{
	size_t cap = n * 64 + 64, o = 0;
	char *s = malloc(cap);

	o += (size_t)snprintf(s + o, cap - o, "email,name,n\n");
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(s + o, cap - o, "user%zu@example.com,Name %zu,%zu\n", i, i, i * 7);
	*len = o;
	return s;
}

/* with_stdin - run fn with fd 0 replaced by FD (closed afterwards) */
static void with_stdin(int fd, void (*fn)(void *), void *ctx)
{
	int saved = dup(0);

	dup2(fd, 0);
	close(fd);
	fn(ctx);
	dup2(saved, 0);
	close(saved);
}

/* feeder - a child that writes DATA into a new pipe, STEP bytes at a time, SLEEP_US between
 * writes after DELAY_US at the start; returns the read end */
static int feeder(const void *data, size_t n, size_t step, unsigned sleep_us, unsigned delay_us,
                  pid_t *pid)
{
	int fds[2];

	if (pipe(fds) != 0)
		abort();
	*pid = fork();
	if (*pid == 0) {
		close(fds[0]);
		if (delay_us)
			usleep(delay_us);
		for (size_t i = 0; i < n;) {
			size_t k = n - i < step ? n - i : step;
			ssize_t w = write(fds[1], (const char *)data + i, k);

			if (w <= 0)
				_exit(1);
			i += (size_t)w;
			if (sleep_us)
				usleep(sleep_us);
		}
		_exit(0);
	}
	close(fds[1]);
	return fds[0];
}

struct stdin_read {
	size_t step;
	struct got g;
};

static void stdin_read_fn(void *ctx)
{
	struct stdin_read *s = ctx;

	read_stream("-", s->step, &s->g);
}

/* ---------------------------------------------------------------- plain */

static void test_plain_file(void)
{
	size_t n;
	char *data = rows(20000, &n);
	const char *path = tmp_write(data, n);
	static const size_t steps[] = {1, 7, 4096, 256 * 1024, 1024 * 1024};

	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		struct got g;

		if (steps[i] == 1 && n > 100000) {
			/* byte at a time over the first part only: read a small file */
			path = tmp_write(data, 5000);
			read_stream(path, 1, &g);
			CHECK_INT(g.len, 5000, "1-byte reads");
			CHECK(memcmp(g.data, data, 5000) == 0, "1-byte reads: same bytes");
			free(g.data);
			path = tmp_write(data, n);
			continue;
		}
		read_stream(path, steps[i], &g);
		CHECK_INT(g.rc, 0, "clean end");
		CHECK_INT(g.gzip, 0, "not gzip");
		CHECK_INT(g.len, n, "all bytes");
		CHECK(g.len == n && memcmp(g.data, data, n) == 0, "same bytes, step %zu", steps[i]);
		CHECK_INT(g.size, n, "raw size");
		CHECK_INT(g.offset, n, "raw offset at the end");
		CHECK_STR(g.name, path, "name is the path");
		free(g.data);
	}
	free(data);
}

static void test_small_files(void)
{
	static const struct {
		const char *name;
		const char *data;
		size_t len;
	} cases[] = {
		{"empty", "", 0},
		{"one byte", "a", 1},
		{"half the magic", "\x1f", 1},
		{"magic the other way", "\x8b\x1f", 2},
		{"1f then text", "\x1f" "abc", 4},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct got g;

		read_stream(tmp_write(cases[i].data, cases[i].len), 4096, &g);
		CHECK_INT(g.rc, 0, cases[i].name);
		CHECK_INT(g.gzip, 0, cases[i].name);
		CHECK_INT(g.len, cases[i].len, cases[i].name);
		CHECK(memcmp(g.data, cases[i].data, cases[i].len) == 0, "%s", cases[i].name);
		CHECK_INT(g.offset, cases[i].len, cases[i].name);
		free(g.data);
	}
}

static void test_open_errors(void)
{
	char err[512];
	const char *missing = tmp_path("-missing.csv");
	char dir[600];
	struct got g;

	CHECK(instream_open(missing, err, sizeof err) == NULL, "missing file");
	CHECK(strstr(err, missing) != NULL, "names the path: %s", err);
	CHECK(strstr(err, strerror(ENOENT)) != NULL, "says why: %s", err);

	snprintf(dir, sizeof dir, "%s", tmpdir);
	read_stream(dir, 4096, &g);
	CHECK_INT(g.rc, -2, "a directory cannot be read");
	CHECK(strstr(g.err, dir) != NULL && strstr(g.err, strerror(EISDIR)) != NULL,
	      "directory: %s", g.err);
	free(g.data);

	if (geteuid() != 0) {
		const char *locked = tmp_write("x", 1);
		char lp[1024];

		snprintf(lp, sizeof lp, "%s", locked);
		chmod(lp, 0);
		CHECK(instream_open(lp, err, sizeof err) == NULL, "unreadable file");
		CHECK(strstr(err, lp) != NULL && strstr(err, strerror(EACCES)) != NULL, "%s", err);
		chmod(lp, 0600);
	}

	/* a tiny error buffer is fine */
	CHECK(instream_open(missing, err, 8) == NULL, "small buffer");
	CHECK_INT(strlen(err), 7, "truncated message");
	CHECK(instream_open(missing, NULL, 0) == NULL, "no buffer");
	instream_close(NULL);
}

/* ---------------------------------------------------------------- stdin, pipes, FIFOs */

static void test_stdin_plain(void)
{
	size_t n;
	char *data = rows(30000, &n);
	struct stdin_read s = {4096, {0}};
	pid_t pid;
	int fd = feeder(data, n, 1000, 0, 0, &pid);

	with_stdin(fd, stdin_read_fn, &s);
	waitpid(pid, NULL, 0);
	CHECK_INT(s.g.rc, 0, "clean end");
	CHECK_STR(s.g.name, "stdin", "name");
	CHECK_INT(s.g.size, 0, "a pipe has no size");
	CHECK_INT(s.g.len, n, "all bytes");
	CHECK(s.g.len == n && memcmp(s.g.data, data, n) == 0, "same bytes");
	CHECK_INT(s.g.offset, n, "offset counts the bytes");
	free(s.g.data);

	/* stdin redirected from a file has a size */
	{
		const char *path = tmp_write(data, n);
		int f = open(path, O_RDONLY);

		with_stdin(f, stdin_read_fn, &s);
		CHECK_INT(s.g.size, n, "file on stdin: size");
		CHECK_INT(s.g.len, n, "file on stdin: bytes");
		free(s.g.data);
	}
	free(data);
}

static void test_stdin_gzip_pipe(void)
{
	size_t n, zn;
	char *data = rows(50000, &n);
	const char *gz = tmp_path(".csv.gz");
	char *z;
	static const size_t writes[] = {1, 13, 4096, 1 << 20};

	gz_append(gz, data, n / 2, "wb");
	gz_append(gz, data + n / 2, n - n / 2, "ab");
	z = slurp(gz, &zn);
	for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
		struct stdin_read s = {8192, {0}};
		pid_t pid;
		int fd;

		if (writes[i] == 1) {
			/* a byte at a time for the header and a little more, then the rest */
			fd = feeder(z, zn, 1, 0, 0, &pid);
		} else {
			fd = feeder(z, zn, writes[i], 0, 0, &pid);
		}
		with_stdin(fd, stdin_read_fn, &s);
		waitpid(pid, NULL, 0);
		CHECK_INT(s.g.rc, 0, "clean end");
		CHECK_INT(s.g.gzip, 1, "gzip on a pipe");
		CHECK_INT(s.g.len, n, "all bytes");
		CHECK(s.g.len == n && memcmp(s.g.data, data, n) == 0, "same bytes, writes of %zu",
		      writes[i]);
		CHECK_INT(s.g.offset, zn, "offset is the compressed size");
		free(s.g.data);
	}
	free(z);
	free(data);
}

static void test_fifo_gzip(void)
{
	size_t n, zn;
	char *data = rows(10000, &n);
	char *z = gzip_bytes(data, n, &zn);
	char fifo[1024];
	pid_t pid;
	struct got g;

	snprintf(fifo, sizeof fifo, "%s", tmp_path(".fifo"));
	if (mkfifo(fifo, 0600) != 0) {
		CHECK(0, "mkfifo: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0) {
		int fd = open(fifo, O_WRONLY);

		for (size_t i = 0; fd >= 0 && i < zn; i += 1000)
			if (write(fd, z + i, zn - i < 1000 ? zn - i : 1000) < 0)
				_exit(1);
		_exit(0);
	}
	read_stream(fifo, 4096, &g);
	waitpid(pid, NULL, 0);
	CHECK_INT(g.rc, 0, "clean end");
	CHECK_INT(g.gzip, 1, "gzip");
	CHECK_INT(g.size, 0, "a FIFO has no size");
	CHECK(g.len == n && memcmp(g.data, data, n) == 0, "same bytes");
	free(g.data);
	free(z);
	free(data);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/* test_eintr - a signal during a blocking read (no SA_RESTART) does not end the stream */
static void test_eintr(void)
{
	static const char data[] = "a@b.com\nc@d.com\n";
	struct sigaction sa, old;
	struct itimerval it = {{0, 20000}, {0, 20000}}, stop = {{0, 0}, {0, 0}};
	struct stdin_read s = {4096, {0}};
	pid_t pid;
	int fd;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: read(2) fails with EINTR */
	sigaction(SIGALRM, &sa, &old);
	alarms = 0;
	fd = feeder(data, sizeof data - 1, 3, 30000, 150000, &pid);
	setitimer(ITIMER_REAL, &it, NULL);
	with_stdin(fd, stdin_read_fn, &s);
	setitimer(ITIMER_REAL, &stop, NULL);
	sigaction(SIGALRM, &old, NULL);
	waitpid(pid, NULL, 0);
	CHECK(alarms > 0, "the signal came");
	CHECK_INT(s.g.rc, 0, "clean end despite EINTR");
	CHECK(s.g.len == sizeof data - 1 && memcmp(s.g.data, data, s.g.len) == 0, "same bytes");
	free(s.g.data);
}

/* ---------------------------------------------------------------- gzip */

static void test_gzip_single(void)
{
	size_t n;
	char *data = rows(100000, &n);
	const char *gz = tmp_path(".csv.gz");
	struct stat st;
	static const size_t steps[] = {3, 1000, 65536, 4 << 20};

	gz_append(gz, data, n, "wb");
	stat(gz, &st);
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		struct got g;

		read_stream(gz, steps[i], &g);
		CHECK_INT(g.rc, 0, "clean end");
		CHECK_INT(g.gzip, 1, "gzip");
		CHECK(g.len == n && memcmp(g.data, data, n) == 0, "same bytes, step %zu", steps[i]);
		CHECK_INT(g.size, st.st_size, "raw size is the compressed size");
		CHECK_INT(g.offset, st.st_size, "raw offset at the end");
		free(g.data);
	}
	free(data);
}

static void test_gzip_empty_and_tiny(void)
{
	const char *gz = tmp_path(".gz");
	struct got g;

	gz_append(gz, "", 0, "wb");
	read_stream(gz, 100, &g);
	CHECK_INT(g.rc, 0, "empty member");
	CHECK_INT(g.gzip, 1, "gzip");
	CHECK_INT(g.len, 0, "no bytes");
	free(g.data);

	gz_append(gz, "x", 1, "ab");
	gz_append(gz, "", 0, "ab");
	gz_append(gz, "y\n", 2, "ab");
	read_stream(gz, 1, &g);
	CHECK_INT(g.rc, 0, "empty members between");
	CHECK(g.len == 3 && memcmp(g.data, "xy\n", 3) == 0, "bytes of all members");
	free(g.data);
}

static void test_gzip_multi_member(void)
{
	size_t n;
	char *data = rows(60000, &n);
	const char *gz = tmp_path(".csv.gz");
	char path[1024];
	struct got g;
	size_t cut[] = {n / 3, 2 * n / 3};

	snprintf(path, sizeof path, "%s", gz);
	gz_append(path, data, cut[0], "wb");
	gz_append(path, data + cut[0], cut[1] - cut[0], "ab");
	gz_append(path, data + cut[1], n - cut[1], "ab");
	read_stream(path, 10000, &g);
	CHECK_INT(g.rc, 0, "clean end");
	CHECK(g.len == n && memcmp(g.data, data, n) == 0, "three members read as one");
	free(g.data);

	/* two .gz files concatenated with cat, made by gzip(1) */
	{
		char a[1024], b[1024], cmd[4400];
		const char *half2 = data + n / 2;

		snprintf(a, sizeof a, "%s", tmp_write(data, n / 2));
		snprintf(b, sizeof b, "%s", tmp_write(half2, n - n / 2));
		snprintf(cmd, sizeof cmd, "gzip -c '%s' > '%s.gz' && gzip -9 -c '%s' >> '%s.gz'", a, a,
		         b, a);
		if (system(cmd) == 0) {
			char both[1100];

			snprintf(both, sizeof both, "%s.gz", a);
			read_stream(both, 4096, &g);
			CHECK_INT(g.rc, 0, "cat'ed gzip files");
			CHECK(g.len == n && memcmp(g.data, data, n) == 0, "cat'ed gzip files: bytes");
			free(g.data);
			unlink(both);
		} else {
			printf("  (gzip(1) not available: concatenation via zlib only)\n");
		}
	}
	free(data);
}

/* add_bytes - append raw bytes to a file */
static void add_bytes(const char *path, const void *p, size_t n)
{
	write_file(path, p, n, "ab");
}

static void test_gzip_trailing(void)
{
	const char *gz;
	char path[1024];
	char zeros[5000];
	struct got g;
	struct stat st;

	memset(zeros, 0, sizeof zeros);
	gz = tmp_path(".gz");
	snprintf(path, sizeof path, "%s", gz);
	gz_append(path, "hello\n", 6, "wb");
	add_bytes(path, zeros, sizeof zeros);
	read_stream(path, 4096, &g);
	CHECK_INT(g.rc, 0, "zero padding tolerated");
	CHECK(g.len == 6 && memcmp(g.data, "hello\n", 6) == 0, "data before padding");
	free(g.data);

	/* zero padding and then another member: read on */
	gz_append(path, "more\n", 5, "ab");
	read_stream(path, 4096, &g);
	CHECK_INT(g.rc, 0, "member after padding");
	CHECK(g.len == 11 && memcmp(g.data, "hello\nmore\n", 11) == 0, "both members");
	free(g.data);

	/* garbage after the last member: an error, after every byte */
	gz = tmp_path(".gz");
	snprintf(path, sizeof path, "%s", gz);
	gz_append(path, "hello\n", 6, "wb");
	stat(path, &st);
	add_bytes(path, "junk", 4);
	read_stream(path, 4096, &g);
	CHECK_INT(g.rc, -1, "trailing garbage is an error");
	CHECK(g.len == 6 && memcmp(g.data, "hello\n", 6) == 0, "data before the garbage");
	{
		char want[1200];

		snprintf(want, sizeof want, "%s: trailing garbage after gzip data at byte %lld", path,
		         (long long)st.st_size);
		CHECK(strncmp(g.err, want, strlen(want)) == 0, "message: %s", g.err);
	}
	free(g.data);

	/* a lone 1f (half a magic) at the end is garbage too */
	gz = tmp_path(".gz");
	snprintf(path, sizeof path, "%s", gz);
	gz_append(path, "x", 1, "wb");
	add_bytes(path, "\0\0\x1f", 3);
	read_stream(path, 4096, &g);
	CHECK_INT(g.rc, -1, "half a magic");
	CHECK(strstr(g.err, "trailing garbage") != NULL, "message: %s", g.err);
	free(g.data);
}

static void test_gzip_truncated(void)
{
	size_t n, zn;
	char *data = rows(200000, &n);
	char *z = gzip_bytes(data, n, &zn);
	static const double cuts[] = {0.5, 0.9};

	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		size_t cut = (size_t)(zn * cuts[i]);
		struct got g;
		char want[1200];
		const char *t = tmp_write(z, cut);

		read_stream(t, 65536, &g);
		CHECK_INT(g.rc, -1, "truncated is an error");
		snprintf(want, sizeof want, "%s: gzip data truncated at byte %zu (compressed offset)", t,
		         cut);
		CHECK_STR(g.err, want, "message");
		/* what came before the damage is the input's start, and most of what it held */
		CHECK(g.len > 0 && g.len < n && memcmp(g.data, data, g.len) == 0, "a true prefix");
		CHECK(g.len > (size_t)(n * cuts[i] * 0.8), "most of it: %zu of %zu", g.len, n);
		free(g.data);
	}

	/* the header alone, and the magic alone */
	{
		struct got g;
		const char *t = tmp_write(z, 10);
		char want[1200];

		read_stream(t, 4096, &g);
		CHECK_INT(g.rc, -1, "header only");
		snprintf(want, sizeof want, "%s: gzip data truncated at byte 10 (compressed offset)", t);
		CHECK_STR(g.err, want, "header only");
		free(g.data);
		t = tmp_write("\x1f\x8b", 2);
		read_stream(t, 4096, &g);
		CHECK_INT(g.rc, -1, "magic only");
		CHECK(strstr(g.err, "truncated at byte 2 ") != NULL, "magic only: %s", g.err);
		free(g.data);
		/* the trailer cut: all data decoded, the check missing */
		t = tmp_write(z, zn - 4);
		read_stream(t, 4096, &g);
		CHECK_INT(g.rc, -1, "trailer cut");
		CHECK_INT(g.len, n, "every byte before the cut trailer");
		free(g.data);
	}
	free(z);
	free(data);
}

static void test_gzip_corrupt(void)
{
	size_t n, zn;
	char *data = rows(200000, &n);
	char *z = gzip_bytes(data, n, &zn);
	struct got g;

	/* an unknown compression method in the header */
	z[2] = 7;
	read_stream(tmp_write(z, zn), 4096, &g);
	CHECK_INT(g.rc, -1, "bad method");
	CHECK(strstr(g.err, "corrupt gzip data at byte ") != NULL &&
	      strstr(g.err, "unknown compression method") != NULL, "message: %s", g.err);
	CHECK_INT(g.len, 0, "nothing decoded");
	free(g.data);
	z[2] = 8;

	/* a wrong CRC in the trailer: every byte, then the error */
	z[zn - 8] ^= 0x55;
	read_stream(tmp_write(z, zn), 4096, &g);
	CHECK_INT(g.rc, -1, "bad crc");
	CHECK(strstr(g.err, "incorrect data check") != NULL, "message: %s", g.err);
	CHECK_INT(g.len, n, "every byte before the check");
	free(g.data);
	z[zn - 8] ^= 0x55;

	/* garbage in the middle of the deflate data */
	memset(z + zn / 2, 0xff, 64);
	read_stream(tmp_write(z, zn), 4096, &g);
	CHECK_INT(g.rc, -1, "corrupt middle");
	CHECK(strstr(g.err, "corrupt gzip data at byte ") != NULL, "message: %s", g.err);
	{
		unsigned long long at = 0;
		const char *p = strstr(g.err, "at byte ");

		if (p != NULL)
			at = strtoull(p + 8, NULL, 10);
		CHECK(at >= zn / 2 && at <= zn, "offset at or after the damage: %llu (damage at %zu)", at,
		      zn / 2);
	}
	CHECK(g.len > n / 3 && memcmp(g.data, data, n / 3) == 0, "the bytes well before the damage");
	free(g.data);
	free(z);
	free(data);
}

/* ---------------------------------------------------------------- through the CSV reader */

/* test_csv_over_damaged_gzip - the importer's view: complete rows before the damage, then an
 * error naming the file, the compressed offset and the line */
static void test_csv_over_damaged_gzip(void)
{
	size_t n, zn;
	char *data = rows(100000, &n);
	char *z = gzip_bytes(data, n, &zn);
	char t[1024];
	char err[512];
	struct instream *in;
	struct csv_reader *r;
	struct csv_record rec;
	size_t nrec = 0, bad = 0;
	uint64_t last_line = 0;
	int rc;

	snprintf(t, sizeof t, "%s", tmp_write(z, zn / 2));
	in = instream_open(t, err, sizeof err);
	r = csv_open(in, CSV_MODE_SNIFF, 0, 0);
	while ((rc = csv_next(r, &rec, err, sizeof err)) == 1) {
		char want[64];

		if (nrec > 0) {
			snprintf(want, sizeof want, "user%zu@example.com", nrec - 1);
			if (rec.nfields != 3 || strcmp(rec.field[0], want) != 0 || rec.flags != 0)
				bad++;
		}
		last_line = rec.line;
		nrec++;
	}
	CHECK_INT(rc, -1, "error at the damage");
	CHECK_INT(bad, 0, "every row before the damage intact");
	CHECK(nrec > 1000, "rows before the damage: %zu", nrec);
	CHECK(strstr(err, t) != NULL && strstr(err, "truncated at byte") != NULL, "message: %s", err);
	{
		char want[64];

		snprintf(want, sizeof want, "(reading line %llu)", (unsigned long long)last_line + 1);
		CHECK(strstr(err, want) != NULL, "names the line: %s", err);
	}
	CHECK_INT(csv_next(r, &rec, err, sizeof err), -1, "error again");
	CHECK(instream_raw_offset(in) == zn / 2, "offset at the end of the file");
	csv_close(r);
	instream_close(in);
	free(z);
	free(data);
}

/* test_csv_gzip_equals_plain - a gzip'd list reads exactly like the plain one */
static void test_csv_gzip_equals_plain(void)
{
	size_t n;
	char *data = rows(50000, &n);
	char plain[1024];
	const char *gz = tmp_path(".csv.gz");
	char gzp[1024];
	char err[512];
	struct instream *a, *b;
	struct csv_reader *ra, *rb;
	struct csv_record x, y;
	size_t nrec = 0, diff = 0;
	int rca, rcb;

	snprintf(gzp, sizeof gzp, "%s", gz);
	gz_append(gzp, data, n / 3, "wb");
	gz_append(gzp, data + n / 3, n - n / 3, "ab");
	snprintf(plain, sizeof plain, "%s", tmp_write(data, n));
	a = instream_open(plain, err, sizeof err);
	b = instream_open(gzp, err, sizeof err);
	ra = csv_open(a, CSV_MODE_SNIFF, 0, 0);
	rb = csv_open(b, CSV_MODE_SNIFF, 0, 0);
	for (;;) {
		rca = csv_next(ra, &x, err, sizeof err);
		rcb = csv_next(rb, &y, err, sizeof err);
		if (rca != 1 || rcb != 1)
			break;
		nrec++;
		if (x.nfields != y.nfields || x.line != y.line || x.flags != y.flags) {
			diff++;
			continue;
		}
		for (size_t i = 0; i < x.nfields; i++)
			if (x.len[i] != y.len[i] || memcmp(x.field[i], y.field[i], x.len[i]) != 0)
				diff++;
	}
	CHECK_INT(rca, 0, "plain end");
	CHECK_INT(rcb, 0, "gzip end");
	CHECK_INT(nrec, 50001, "records");
	CHECK_INT(diff, 0, "records differ");
	csv_close(ra);
	csv_close(rb);
	instream_close(a);
	instream_close(b);
	free(data);
}

TESTS(test_plain_file, test_small_files, test_open_errors, test_stdin_plain, test_stdin_gzip_pipe,
      test_fifo_gzip, test_eintr, test_gzip_single, test_gzip_empty_and_tiny,
      test_gzip_multi_member, test_gzip_trailing, test_gzip_truncated, test_gzip_corrupt,
      test_csv_over_damaged_gzip, test_csv_gzip_equals_plain)
