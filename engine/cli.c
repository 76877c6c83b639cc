/*
 * cli - the mailsift commands (see cli.h). Options are parsed here and nowhere else; the work
 * is done by importers/, exporters/ and schema/. Messages name the file, line or store involved.
 */
#include "engine/cli.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>
#include <time.h>
#include <arpa/inet.h>

#include "engine/clock.h"
#include "engine/config.h"
#include "engine/progress.h"
#include "engine/run.h"
#include "engine/verify.h"
#include "exporters/export.h"
#include "importers/csv.h"
#include "importers/import.h"
#include "schema/store.h"
#include "schema/verdict.h"

#define CLEAN_DB_NAME "mailsift.db" /* job store of `clean` when --db is not given */
#define MAX_LISTS 1024              /* LIST arguments in one command */

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* catch_signals - the first SIGINT/SIGTERM asks for a clean stop; the second one kills */
static void catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static int __attribute__((format(printf, 2, 3))) usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mailsift %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'mailsift %s --help'.\n", cmd);
	return EXIT_USAGE;
}

void cli_usage(FILE *out)
{
	fprintf(out,
	"mailsift %s - bulk email list cleaning\n"
	"\n"
	"Usage:\n"
	"  mailsift clean LIST... -o OUTDIR [--db JOB.db] [--column NAME|N] [--gzip] [options]\n"
	"                                 import, verify, export (job store OUTDIR/" CLEAN_DB_NAME ")\n"
	"  mailsift run --db JOB.db [probe options] [run options]\n"
	"  mailsift import LIST... --db JOB.db [--column NAME|N]\n"
	"  mailsift export --db JOB.db -o OUTDIR [--gzip] [--list NAME|ID]...\n"
	"  mailsift status --db JOB.db\n"
	"  mailsift verify ADDRESS... [probe options]   one JSON object per address on stdout\n"
	"  mailsift COMMAND --help        options of one command\n"
	"  mailsift --version\n"
	"\n"
	"LIST is a CSV file (with or without a header; , ; TAB or | delimited) or a file with one\n"
	"address a line, plain or gzip-compressed (detected by content); - reads stdin.\n"
	"\n"
	"Probe options: --helo NAME, --mail-from ADDR, --timeout SECS, --connect-timeout SECS,\n"
	"--greylist-delay SECS, --max-attempts N, --resolver HOST[:PORT] (repeatable),\n"
	"--smtp-port N, --no-starttls, --allow-private-mx (see `mailsift verify --help`).\n"
	"\n"
	"Run options (run, clean): --concurrency N, --per-host N, --source ADDR (repeatable),\n"
	"--max-age DAYS (see `mailsift run --help`).\n"
	"\n"
	"Exit status: 0 done; 1 failure or damaged input (what could be read is kept);\n"
	"2 usage error; 3 interrupted (Ctrl-C, SIGTERM): rerun the same command to resume.\n",
	MAILSIFT_VERSION);
}

/* ---- probe options (shared by the probing commands) ---- */

enum {
	OPT_HELO = 1000,
	OPT_MAIL_FROM,
	OPT_TIMEOUT,
	OPT_CONNECT_TIMEOUT,
	OPT_GREYLIST_DELAY,
	OPT_MAX_ATTEMPTS,
	OPT_RESOLVER,
	OPT_SMTP_PORT,
	OPT_NO_STARTTLS,
	OPT_ALLOW_PRIVATE_MX,
	OPT_CONCURRENCY,
	OPT_PER_HOST,
	OPT_SOURCE,
	OPT_MAX_AGE,
};

#define PROBE_LONG_OPTIONS                                                         \
	{"helo", required_argument, NULL, OPT_HELO},                                   \
	{"mail-from", required_argument, NULL, OPT_MAIL_FROM},                         \
	{"timeout", required_argument, NULL, OPT_TIMEOUT},                             \
	{"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},             \
	{"greylist-delay", required_argument, NULL, OPT_GREYLIST_DELAY},               \
	{"max-attempts", required_argument, NULL, OPT_MAX_ATTEMPTS},                   \
	{"resolver", required_argument, NULL, OPT_RESOLVER},                           \
	{"smtp-port", required_argument, NULL, OPT_SMTP_PORT},                         \
	{"no-starttls", no_argument, NULL, OPT_NO_STARTTLS},                           \
	{"allow-private-mx", no_argument, NULL, OPT_ALLOW_PRIVATE_MX}

/* Options of the commands that run the scheduler (run, clean). */
#define RUN_LONG_OPTIONS                                                           \
	{"concurrency", required_argument, NULL, OPT_CONCURRENCY},                     \
	{"per-host", required_argument, NULL, OPT_PER_HOST},                           \
	{"source", required_argument, NULL, OPT_SOURCE},                               \
	{"max-age", required_argument, NULL, OPT_MAX_AGE}

#define MAX_SOURCES 64 /* --source addresses */

struct run_cli {
	struct probe_config pc;
	char helo[256], from[320];
	int concurrency, per_host;
	const char *sources[MAX_SOURCES];
	size_t nsources;
	double max_age;
};

static void run_cli_defaults(struct run_cli *rc)
{
	memset(rc, 0, sizeof *rc);
	config_defaults(&rc->pc, rc->helo, sizeof rc->helo);
	rc->concurrency = DEF_CONCURRENCY;
	rc->per_host = DEF_PER_HOST;
}

static int parse_number(const char *cmd, const char *opt, const char *v, double lo, double hi,
                        double *out)
{
	char *end;
	double d = strtod(v, &end);

	if (end == v || *end != '\0' || d < lo || d > hi) {
		usage_error(cmd, "%s wants a number from %g to %g, not \"%s\"", opt, lo, hi, v);
		return -1;
	}
	*out = d;
	return 0;
}

/* probe_option - apply probe option C; 0 handled, 1 not a probe option, -1 usage error */
static int probe_option(const char *cmd, int c, const char *v, struct probe_config *pc)
{
	double d;

	switch (c) {
	case OPT_HELO: pc->helo = v; return 0;
	case OPT_MAIL_FROM: pc->mail_from = v; return 0;
	case OPT_TIMEOUT: return parse_number(cmd, "--timeout", v, 0.1, 3600, &pc->reply_timeout);
	case OPT_CONNECT_TIMEOUT:
		return parse_number(cmd, "--connect-timeout", v, 0.1, 3600, &pc->connect_timeout);
	case OPT_GREYLIST_DELAY:
		return parse_number(cmd, "--greylist-delay", v, 0, 86400, &pc->greylist_delay);
	case OPT_MAX_ATTEMPTS:
		if (parse_number(cmd, "--max-attempts", v, 1, 20, &d) < 0)
			return -1;
		pc->max_attempts = (int)d;
		return 0;
	case OPT_SMTP_PORT:
		if (parse_number(cmd, "--smtp-port", v, 1, 65535, &d) < 0)
			return -1;
		pc->smtp_port = (int)d;
		return 0;
	case OPT_RESOLVER:
		if (pc->nresolvers == sizeof pc->resolvers / sizeof pc->resolvers[0]) {
			usage_error(cmd, "at most %zu --resolver", pc->nresolvers);
			return -1;
		}
		pc->resolvers[pc->nresolvers++] = v;
		return 0;
	case OPT_NO_STARTTLS: pc->starttls = 0; return 0;
	case OPT_ALLOW_PRIVATE_MX: pc->allow_private_mx = 1; return 0;
	default: return 1;
	}
}

/* probe_finish - the probe options are all read: a fully qualified HELO name, the MAIL FROM
 * built from it; 0, or -1 after a usage error message */
static int probe_finish(const char *cmd, struct probe_config *pc, char *from, size_t fromlen)
{
	char err[512];

	if (config_finish(pc, from, fromlen, err, sizeof err) == 0)
		return 0;
	usage_error(cmd, "%s", err);
	return -1;
}

/* run_option - a probe or run option; 0 handled, 1 not one, -1 usage error */
static int run_option(const char *cmd, int c, const char *v, struct run_cli *rc)
{
	struct in6_addr a6;
	struct in_addr a4;
	double d;

	switch (c) {
	case OPT_CONCURRENCY:
		if (parse_number(cmd, "--concurrency", v, 1, 100000, &d) < 0)
			return -1;
		rc->concurrency = (int)d;
		return 0;
	case OPT_PER_HOST:
		if (parse_number(cmd, "--per-host", v, 1, 1000, &d) < 0)
			return -1;
		rc->per_host = (int)d;
		return 0;
	case OPT_MAX_AGE:
		return parse_number(cmd, "--max-age", v, 0, 36500, &rc->max_age);
	case OPT_SOURCE:
		if (inet_pton(AF_INET, v, &a4) != 1 && inet_pton(AF_INET6, v, &a6) != 1) {
			usage_error(cmd, "--source wants an IP address, not \"%s\"", v);
			return -1;
		}
		if (rc->nsources == MAX_SOURCES) {
			usage_error(cmd, "at most %d --source", MAX_SOURCES);
			return -1;
		}
		rc->sources[rc->nsources++] = v;
		return 0;
	default:
		return probe_option(cmd, c, v, &rc->pc);
	}
}

/* check_sources - every --source must be an address of this host: a bind that fails later
 * would turn into failed sessions, and verdicts, about our own mistake */
static int check_sources(const struct run_cli *rc)
{
	for (size_t i = 0; i < rc->nsources; i++) {
		struct sockaddr_storage ss;
		socklen_t len;
		int fd, ok;

		memset(&ss, 0, sizeof ss);
		if (inet_pton(AF_INET, rc->sources[i], &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
			ss.ss_family = AF_INET;
			len = sizeof(struct sockaddr_in);
		} else {
			inet_pton(AF_INET6, rc->sources[i], &((struct sockaddr_in6 *)&ss)->sin6_addr);
			ss.ss_family = AF_INET6;
			len = sizeof(struct sockaddr_in6);
		}
		fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ok = fd >= 0 && bind(fd, (struct sockaddr *)&ss, len) == 0;
		if (!ok)
			fprintf(stderr, "mailsift: --source %s: cannot use it: %s\n", rc->sources[i],
			        strerror(errno));
		if (fd >= 0)
			close(fd);
		if (!ok)
			return -1;
	}
	return 0;
}

/* run_job_store - the scheduler over S with RC's options; an exit status */
static int run_job_store(struct store *s, const struct run_cli *rc, int quiet)
{
	struct run_opts ro = {
		.cfg = &rc->pc,
		.sched = {rc->concurrency, rc->per_host, rc->sources, rc->nsources},
		.max_age_days = rc->max_age,
		.quiet = quiet,
	};
	struct run_result res;
	char err[1024] = "";

	if (run_store(s, &ro, &res, err, sizeof err) < 0) {
		fprintf(stderr, "mailsift: run: %s\n", err);
		return EXIT_FAILURE_;
	}
	if (res.interrupted) {
		fprintf(stderr, "mailsift: stopped after %lld verdicts; what was done is saved. Rerun the "
		                "same command to resume.\n", (long long)res.verdicts);
		return EXIT_INTERRUPTED;
	}
	if (!quiet)
		fprintf(stderr, "verified: %lld verdicts in %.1f s\n", (long long)res.verdicts,
		        res.seconds);
	return EXIT_DONE;
}

/* ---- shared pieces ---- */

struct import_progress_ctx {
	struct progress *p;
	double started;
};

static void show_import_progress(void *ctx, const struct import_progress *ip)
{
	struct import_progress_ctx *c = ctx;
	double secs = clock_now() - c->started;
	double frac = ip->raw_total ? (double)ip->raw_done / (double)ip->raw_total : -1;
	char text[512];

	if (frac > 1)
		frac = 1;
	snprintf(text, sizeof text, "importing %s: %llu rows, %.0f rows/s", ip->name,
	         (unsigned long long)ip->rows, secs > 0 ? (double)ip->rows / secs : 0.0);
	progress_show(c->p, frac, text, 0);
}

static void show_import_message(void *ctx, const char *line)
{
	struct import_progress_ctx *c = ctx;

	progress_end(c->p);
	fprintf(stderr, "%s\n", line);
}

static const char *import_status_text(enum import_status st)
{
	switch (st) {
	case IMPORT_DONE: return "imported";
	case IMPORT_ALREADY: return "already imported";
	case IMPORT_PARTIAL: return "partly imported (damaged input)";
	case IMPORT_INTERRUPTED: return "interrupted";
	case IMPORT_FAILED: return "failed";
	}
	return "?";
}

/* import_all - import each list; fills ids; returns an exit status */
static int import_all(struct store *s, char **lists, int n, const char *column, int quiet,
                      int64_t *ids, int *nids)
{
	struct progress p;
	struct import_progress_ctx pc = {&p, 0};
	struct import_opts o = {
		.column = column,
		.max_record = CSV_MAX_RECORD_DEFAULT,
		.stop = &stop_requested,
		.message = show_import_message,
		.progress = show_import_progress,
		.progress_ctx = &pc,
	};
	int status = EXIT_DONE;
	char err[1024];

	progress_init(&p, stderr, quiet);
	*nids = 0;
	for (int i = 0; i < n; i++) {
		struct import_result r;
		enum import_status st;

		err[0] = '\0';
		pc.started = clock_now();
		st = import_list(s, lists[i], &o, &r, err, sizeof err);
		progress_end(&p);
		if (st != IMPORT_FAILED)
			ids[(*nids)++] = r.list_id;
		switch (st) {
		case IMPORT_DONE:
		case IMPORT_ALREADY:
			if (!quiet)
				fprintf(stderr, "%s: %s, %lld rows%s (%.1f s)\n",
				        strcmp(lists[i], "-") ? lists[i] : "stdin", import_status_text(st),
				        (long long)r.rows, r.resumed_from ? ", resumed" : "", r.seconds);
			break;
		case IMPORT_PARTIAL:
			fprintf(stderr, "mailsift: %s\nmailsift: %s: %lld rows before the damage kept\n",
			        err, lists[i], (long long)r.rows);
			status = EXIT_FAILURE_;
			break;
		case IMPORT_INTERRUPTED:
			fprintf(stderr,
			        "mailsift: interrupted while importing %s after %lld rows; they are saved. "
			        "Rerun the same command to resume.\n", lists[i], (long long)r.rows);
			return EXIT_INTERRUPTED;
		case IMPORT_FAILED:
			fprintf(stderr, "mailsift: %s\n", err);
			status = EXIT_FAILURE_;
			break;
		}
	}
	return status;
}

/* warn_incomplete_lists - say which exported lists hold only the rows before damaged input */
static void warn_incomplete_lists(struct store *s, const int64_t *ids, int nids)
{
	struct store_list *v;
	size_t n;

	if (store_lists(s, &v, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		int want = ids == NULL;
		for (int k = 0; k < nids && !want; k++)
			want = ids[k] == v[i].id;
		if (want && v[i].done && v[i].input_error)
			fprintf(stderr, "mailsift: warning: %s is incomplete (its input ended early: %s); "
			        "the export holds only its %lld rows before the damage\n", v[i].name,
			        v[i].input_error, (long long)v[i].rows);
	}
	store_lists_free(v, n);
}

static int export_lists(struct store *s, const char *db, const char *outdir, int gzip,
                        const int64_t *ids, int nids, int quiet)
{
	struct export_opts o = {.outdir = outdir, .gzip = gzip, .list_ids = ids,
	                        .nlists = (size_t)nids, .messages = stderr, .store_path = db};
	struct export_result r;
	char err[1024] = "";

	if (export_run(s, &o, &r, err, sizeof err) < 0) {
		fprintf(stderr, "mailsift: export: %s\n", err);
		return EXIT_FAILURE_;
	}
	warn_incomplete_lists(s, ids, nids);
	if (!quiet) {
		fprintf(stderr, "exported %lld rows to %s in %.1f s:", (long long)r.rows, outdir,
		        r.seconds);
		for (int st = 0; st < STATUS_COUNT; st++)
			fprintf(stderr, " %s %lld,", verdict_status_name((enum verdict_status)st),
			        (long long)r.by_status[st]);
		fprintf(stderr, " duplicates %lld\n", (long long)r.duplicates);
	}
	return EXIT_DONE;
}

static struct store *open_store(const char *path, enum store_mode mode)
{
	char err[1024];
	struct store *s = store_open(path, mode, err, sizeof err);

	if (s == NULL)
		fprintf(stderr, "mailsift: %s\n", err);
	return s;
}

/* ---- commands ---- */

static const char import_help[] =
	"Usage: mailsift import LIST... --db JOB.db [--column NAME|N] [--quiet]\n"
	"Read each LIST (CSV or one address a line, plain or gzip, - for stdin) into the job\n"
	"store: syntax, normalization, dedupe, role/disposable/free flags, typo suggestions.\n"
	"Rerunning after an interruption resumes; a list already imported (same bytes) is skipped.\n"
	"An interrupted import of stdin resumes only on a stream that starts with the same bytes;\n"
	"to import another stream, use a new job store. A finished stream piped again adds nothing.\n"
	"A list whose input ended early stays failed (exit status 1 on every rerun).\n"
	"  --db JOB.db        the job store (created when missing)\n"
	"  --column NAME|N    the address column by header name or number (1 = first);\n"
	"                     default: found by header name (email, e-mail, mail...) or content\n"
	"  -q, --quiet        no progress or summary on stderr (problems are still reported)\n";

int cli_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"column", required_argument, NULL, 'c'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL, *column = NULL;
	int quiet = 0, c, nids, rc;
	int64_t ids[MAX_LISTS];
	struct store *s;

	while ((c = getopt_long(argc, argv, "d:c:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'c': column = optarg; break;
		case 'q': quiet = 1; break;
		case 'h': fputs(import_help, stdout); return EXIT_DONE;
		default: return usage_error("import", "unknown option");
		}
	}
	if (db == NULL)
		return usage_error("import", "--db JOB.db is required");
	if (optind >= argc)
		return usage_error("import", "no LIST given");
	if (argc - optind > MAX_LISTS)
		return usage_error("import", "at most %d lists at once", MAX_LISTS);
	catch_signals();
	if ((s = open_store(db, STORE_WRITE)) == NULL)
		return EXIT_FAILURE_;
	rc = import_all(s, argv + optind, argc - optind, column, quiet, ids, &nids);
	store_close(s);
	return rc;
}

static const char export_help[] =
	"Usage: mailsift export --db JOB.db -o OUTDIR [--gzip] [--list NAME|ID]... [--quiet]\n"
	"Write valid.csv invalid.csv risky.csv catch_all.csv unknown.csv duplicates.csv and\n"
	"report.json into OUTDIR. Each row keeps the input's columns, then mailsift_* columns.\n"
	"Lists with different headers get a subfolder each.\n"
	"  --db JOB.db        the job store\n"
	"  -o, --output DIR   where to write (created when missing)\n"
	"  --gzip             write .csv.gz files\n"
	"  --list NAME|ID     export only this list (repeatable; default: every list)\n"
	"  -q, --quiet        no summary on stderr\n";

/* find_list - the id of the list named NAME (as imported, or its id) */
static int64_t find_list(struct store *s, const char *name)
{
	struct store_list *v;
	size_t n;
	int64_t id = -1;
	char *end;
	long long num = strtoll(name, &end, 10);

	if (store_lists(s, &v, &n) < 0)
		return -1;
	for (size_t i = 0; i < n && id < 0; i++)
		if (strcmp(v[i].name, name) == 0 || (*end == '\0' && v[i].id == num))
			id = v[i].id;
	store_lists_free(v, n);
	return id;
}

int cli_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"output", required_argument, NULL, 'o'},
		{"gzip", no_argument, NULL, 'z'},
		{"list", required_argument, NULL, 'l'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL, *outdir = NULL, *names[MAX_LISTS];
	int quiet = 0, gzip = 0, c, nnames = 0, rc;
	int64_t ids[MAX_LISTS];
	struct store *s;

	while ((c = getopt_long(argc, argv, "d:o:zl:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'o': outdir = optarg; break;
		case 'z': gzip = 1; break;
		case 'l':
			if (nnames == MAX_LISTS)
				return usage_error("export", "too many --list");
			names[nnames++] = optarg;
			break;
		case 'q': quiet = 1; break;
		case 'h': fputs(export_help, stdout); return EXIT_DONE;
		default: return usage_error("export", "unknown option");
		}
	}
	if (db == NULL || outdir == NULL)
		return usage_error("export", "--db JOB.db and -o OUTDIR are required");
	if (optind < argc)
		return usage_error("export", "unexpected argument \"%s\"", argv[optind]);
	if ((s = open_store(db, STORE_READ)) == NULL)
		return EXIT_FAILURE_;
	for (int i = 0; i < nnames; i++) {
		ids[i] = find_list(s, names[i]);
		if (ids[i] < 0) {
			store_close(s);
			fprintf(stderr, "mailsift export: %s: no list \"%s\" in the job store\n", db,
			        names[i]);
			return EXIT_USAGE;
		}
	}
	rc = export_lists(s, db, outdir, gzip, nnames ? ids : NULL, nnames, quiet);
	store_close(s);
	return rc;
}

static const char status_help[] =
	"Usage: mailsift status --db JOB.db [--max-age DAYS]\n"
	"  --max-age DAYS      also count the verdicts older than DAYS (stale: a run with the same\n"
	"                      --max-age probes them again)\n"
	"Show the lists in the job store, addresses by state (pending, in flight, done) and the\n"
	"verdicts so far.\n";

int cli_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"max-age", required_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL;
	double max_age = 0;
	struct store *s;
	struct store_list *v;
	struct store_counts cnt;
	size_t n;
	int c;

	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'a':
			if (parse_number("status", "--max-age", optarg, 0, 36500, &max_age) < 0)
				return EXIT_USAGE;
			break;
		case 'h': fputs(status_help, stdout); return EXIT_DONE;
		default: return usage_error("status", "unknown option");
		}
	}
	if (db == NULL)
		return usage_error("status", "--db JOB.db is required");
	if (optind < argc)
		return usage_error("status", "unexpected argument \"%s\"", argv[optind]);
	if ((s = open_store(db, STORE_READ)) == NULL)
		return EXIT_FAILURE_;
	if (store_lists(s, &v, &n) < 0 || store_counts(s, &cnt) < 0) {
		fprintf(stderr, "mailsift: %s: %s\n", db, store_errmsg(s));
		store_close(s);
		return EXIT_FAILURE_;
	}
	printf("job store %s\n", db);
	printf("lists: %zu\n", n);
	for (size_t i = 0; i < n; i++) {
		printf("  %lld  %s  %s, %lld rows", (long long)v[i].id, v[i].name,
		       v[i].done ? (v[i].input_error ? "imported up to damaged input" : "imported")
		                 : "import unfinished",
		       (long long)v[i].rows);
		if (v[i].email_col >= 0)
			printf(", %s, address in column %d", v[i].has_header ? "header" : "no header",
			       v[i].email_col + 1);
		printf("%s\n", v[i].gzip ? ", gzip" : "");
		if (v[i].input_error)
			printf("     input error: %s\n", v[i].input_error);
	}
	printf("rows: %lld (%lld duplicates, %lld without an address)\n", (long long)cnt.rows,
	       (long long)cnt.duplicate_rows, (long long)cnt.rows_without_address);
	printf("addresses: %lld distinct: %lld pending, %lld in flight, %lld done\n",
	       (long long)cnt.addresses, (long long)cnt.pending, (long long)cnt.in_flight,
	       (long long)cnt.done);
	printf("verdicts:");
	for (int st = 0; st < STATUS_COUNT; st++)
		printf(" %s %lld%s", verdict_status_name((enum verdict_status)st),
		       (long long)cnt.by_status[st], st + 1 < STATUS_COUNT ? "," : "\n");
	if (max_age > 0)
		printf("stale: %lld verdicts older than %g days\n",
		       (long long)store_count_stale(s, (int64_t)time(NULL) - (int64_t)(max_age * 86400.0)),
		       max_age);
	store_lists_free(v, n);
	store_close(s);
	return EXIT_DONE;
}

static const char run_options_help[] =
	"Probe options (defaults: `mailsift verify --help`): --helo NAME, --mail-from ADDR,\n"
	"  --timeout SECS, --connect-timeout SECS, --greylist-delay SECS, --max-attempts N,\n"
	"  --resolver HOST[:PORT] (repeatable), --smtp-port N, --no-starttls, --allow-private-mx\n"
	"Run options:\n"
	"  --concurrency N     sessions open at once, all hosts [%d]\n"
	"  --per-host N        ceiling of sessions to one MX host address [%d]\n"
	"  --source ADDR       local address to connect from, repeatable (domains are spread\n"
	"                      over them; a retry always uses the address of its first try)\n"
	"  --max-age DAYS      probe again verdicts older than DAYS [never: verdicts are reused]\n";

static const char clean_help[] =
	"Usage: mailsift clean LIST... -o OUTDIR [--db JOB.db] [--column NAME|N] [--gzip] [--quiet]\n"
	"                      [probe options] [run options]\n"
	"Import the lists, verify every address (DNS, then SMTP up to RCPT TO; no mail is sent)\n"
	"and export the annotated files into OUTDIR. The job store is OUTDIR/" CLEAN_DB_NAME "\n"
	"unless --db is given; rerunning the same command after a crash or Ctrl-C resumes.\n"
	"  -o, --output DIR    where the files and the job store go (created when missing)\n"
	"  --db JOB.db         another job store (to reuse verdicts across lists)\n"
	"  --column NAME|N     the address column by header name or number (1 = first)\n"
	"  --gzip              write .csv.gz files\n"
	"  --syntax-only       no DNS or SMTP: syntax, dedupe, flags and suggestions only\n"
	"                      (addresses with valid syntax are exported as unknown/not_verified)\n"
	"  -q, --quiet         no progress or summary on stderr\n";

int cli_clean(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"output", required_argument, NULL, 'o'},
		{"column", required_argument, NULL, 'c'},
		{"gzip", no_argument, NULL, 'z'},
		{"quiet", no_argument, NULL, 'q'},
		{"syntax-only", no_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		PROBE_LONG_OPTIONS,
		RUN_LONG_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL, *outdir = NULL, *column = NULL;
	char dbpath[4096];
	int quiet = 0, gzip = 0, syntax_only = 0, c, nids, rc, rc2;
	int64_t ids[MAX_LISTS];
	struct store *s;
	struct run_cli run;

	run_cli_defaults(&run);
	while ((c = getopt_long(argc, argv, "d:o:c:zqh", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'o': outdir = optarg; break;
		case 'c': column = optarg; break;
		case 'z': gzip = 1; break;
		case 'q': quiet = 1; break;
		case 'S': syntax_only = 1; break;
		case 'h':
			fputs(clean_help, stdout);
			printf(run_options_help, DEF_CONCURRENCY, DEF_PER_HOST);
			return EXIT_DONE;
		default:
			rc = run_option("clean", c, optarg, &run);
			if (rc < 0)
				return EXIT_USAGE;
			if (rc > 0)
				return usage_error("clean", "unknown option");
		}
	}
	if (outdir == NULL)
		return usage_error("clean", "-o OUTDIR is required");
	if (optind >= argc)
		return usage_error("clean", "no LIST given");
	if (argc - optind > MAX_LISTS)
		return usage_error("clean", "at most %d lists at once", MAX_LISTS);
	if (!syntax_only && probe_finish("clean", &run.pc, run.from, sizeof run.from) < 0)
		return EXIT_USAGE;
	if (mkdir(outdir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "mailsift: %s: cannot create folder: %s\n", outdir, strerror(errno));
		return EXIT_FAILURE_;
	}
	if (db == NULL) {
		snprintf(dbpath, sizeof dbpath, "%s/%s", outdir, CLEAN_DB_NAME);
		db = dbpath;
	}
	catch_signals();
	if ((!syntax_only && check_sources(&run) < 0) || (s = open_store(db, STORE_WRITE)) == NULL)
		return EXIT_FAILURE_;
	rc = import_all(s, argv + optind, argc - optind, column, quiet, ids, &nids);
	if (rc == EXIT_INTERRUPTED || nids == 0 || stop_requested) {
		store_close(s);
		return nids == 0 ? rc : EXIT_INTERRUPTED;
	}
	rc2 = syntax_only ? EXIT_DONE : run_job_store(s, &run, quiet);
	if (rc2 == EXIT_DONE)
		rc2 = export_lists(s, db, outdir, gzip, ids, nids, quiet);
	store_close(s);
	return rc != EXIT_DONE ? rc : rc2;
}

static const char run_help[] =
	"Usage: mailsift run --db JOB.db [--quiet] [probe options] [run options]\n"
	"Verify every pending address of the job store and write the verdicts into it. Greylisted\n"
	"and temporarily failed addresses are retried when due (the run waits for them); a crash\n"
	"or Ctrl-C costs nothing but time: rerun the same command to resume. Exit status: 0 done,\n"
	"1 failure, 2 usage error, 3 interrupted.\n"
	"  --db JOB.db         the job store\n"
	"  -q, --quiet         no progress on stderr\n";

int cli_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		PROBE_LONG_OPTIONS,
		RUN_LONG_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL;
	int quiet = 0, c, rc;
	struct store *s;
	struct run_cli run;

	run_cli_defaults(&run);
	while ((c = getopt_long(argc, argv, "d:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'q': quiet = 1; break;
		case 'h':
			fputs(run_help, stdout);
			printf(run_options_help, DEF_CONCURRENCY, DEF_PER_HOST);
			return EXIT_DONE;
		default:
			rc = run_option("run", c, optarg, &run);
			if (rc < 0)
				return EXIT_USAGE;
			if (rc > 0)
				return usage_error("run", "unknown option");
		}
	}
	if (db == NULL)
		return usage_error("run", "--db JOB.db is required");
	if (optind < argc)
		return usage_error("run", "unexpected argument \"%s\"", argv[optind]);
	if (probe_finish("run", &run.pc, run.from, sizeof run.from) < 0)
		return EXIT_USAGE;
	if (access(db, F_OK) != 0) {
		fprintf(stderr, "mailsift run: %s: no such job store (import a list into it first)\n", db);
		return EXIT_FAILURE_;
	}
	if (check_sources(&run) < 0 || (s = open_store(db, STORE_WRITE)) == NULL)
		return EXIT_FAILURE_;
	rc = run_job_store(s, &run, quiet);
	store_close(s);
	return rc;
}

static const char verify_help_fmt[] =
	"Usage: mailsift verify ADDRESS... [probe options]\n"
	"Verify each address now (DNS, then SMTP up to RCPT TO; no mail is sent) and print one\n"
	"JSON object per address on stdout, in the order given: status (valid, invalid, risky,\n"
	"catch_all, unknown), reason, flags, suggestion, MX hosts, SMTP code / enhanced code /\n"
	"message, TLS, catch-all, attempts, duration. A greylisted address is retried after\n"
	"--greylist-delay, then after longer waits (x5, x10, x20), up to --max-attempts.\n"
	"Probe options (defaults in brackets):\n"
	"  --helo NAME             EHLO name, fully qualified [this host's FQDN: %s]; without\n"
	"                          one (a host name with no domain) nothing starts: pass --helo\n"
	"  --mail-from ADDR        envelope sender [" DEF_MAIL_FROM_LOCAL "@ the HELO name]\n"
	"  --timeout SECS          per SMTP reply [%g]\n"
	"  --connect-timeout SECS  per connection attempt [%g]\n"
	"  --greylist-delay SECS   before the first retry of a 4xx [%g]\n"
	"  --max-attempts N        sessions per address before unknown [%d]\n"
	"  --resolver HOST[:PORT]  DNS server, repeatable [the system's resolv.conf]\n"
	"  --smtp-port N           SMTP port of the mail hosts [%d]\n"
	"  --no-starttls           never use STARTTLS\n"
	"  --allow-private-mx      connect to MX hosts whose address is not public (loopback,\n"
	"                          private, link-local, ...: refused by default, the domain is\n"
	"                          unknown / mx_not_public); for test worlds on this machine\n"
	"Exit status: 0 every address got a verdict; 1 setup failure; 2 usage error.\n";

int cli_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		PROBE_LONG_OPTIONS,
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct probe_config pc;
	char helo[256], from[320], err[1024] = "";
	int c, rc;

	config_defaults(&pc, helo, sizeof helo);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			printf(verify_help_fmt, pc.helo, pc.reply_timeout, pc.connect_timeout,
			       pc.greylist_delay, pc.max_attempts, pc.smtp_port);
			return EXIT_DONE;
		}
		rc = probe_option("verify", c, optarg, &pc);
		if (rc < 0)
			return EXIT_USAGE;
		if (rc > 0)
			return usage_error("verify", "unknown option");
	}
	if (optind >= argc)
		return usage_error("verify", "no ADDRESS given");
	if (probe_finish("verify", &pc, from, sizeof from) < 0)
		return EXIT_USAGE;
	if (verify_run(&pc, argv + optind, argc - optind, stdout, err, sizeof err) < 0) {
		fprintf(stderr, "mailsift verify: %s\n", err);
		return EXIT_FAILURE_;
	}
	return EXIT_DONE;
}
