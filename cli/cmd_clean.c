/*
 * cmd_clean - `mailsift clean LIST... -o OUTDIR`: import, verify and export in one command.
 */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/options.h"
#include "cli/signals.h"
#include "cli/stages.h"
#include "exporters/export.h"

static const char clean_help[] =
	"Usage: mailsift clean LIST... -o OUTDIR [--db JOB.db] [--column NAME|N] [--gzip] [--quiet]\n"
	"                      [--shard K/N] [probe options] [run options]\n"
	"Import the lists, verify every address (DNS, then SMTP up to RCPT TO; no mail is sent)\n"
	"and export the annotated files into OUTDIR. The job store is OUTDIR/" CLEAN_DB_NAME "\n"
	"unless --db is given; rerunning the same command after a crash or Ctrl-C resumes.\n"
	"  -o, --output DIR    where the files and the job store go (created when missing)\n"
	"  --db JOB.db         another job store (to reuse verdicts across lists)\n"
	"  --column NAME|N     the address column by header name or number (1 = first)\n"
	"  --gzip              write .csv.gz files\n"
	"  --with-trace        add a mailsift_trace column (`mailsift export --help`)\n"
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
		{"with-trace", no_argument, NULL, 'T'},
		{"quiet", no_argument, NULL, 'q'},
		{"syntax-only", no_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		PROBE_LONG_OPTIONS,
		RUN_LONG_OPTIONS,
		SHARD_LONG_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL, *outdir = NULL, *column = NULL;
	char dbpath[4096], err[512];
	int quiet = 0, gzip = 0, with_trace = 0, syntax_only = 0, c, nids, rc, rc2;
	int64_t ids[MAX_LISTS];
	struct store *s;
	struct run_cli run;
	struct shard_cli shc = {NULL, 0};
	struct shard sh;

	cli_run_defaults(&run);
	while ((c = getopt_long(argc, argv, "d:o:c:zqh", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'o': outdir = optarg; break;
		case 'c': column = optarg; break;
		case 'z': gzip = 1; break;
		case 'T': with_trace = 1; break;
		case 'q': quiet = 1; break;
		case 'S': syntax_only = 1; break;
		case 'h':
			fputs(clean_help, stdout);
			fputs(cli_shard_options_help, stdout);
			printf(cli_run_options_help, DEF_CONCURRENCY, DEF_PER_HOST);
			return EXIT_DONE;
		default:
			rc = cli_shard_option("clean", c, optarg, &shc);
			if (rc > 0)
				rc = cli_run_option("clean", c, optarg, &run);
			if (rc < 0)
				return EXIT_USAGE;
			if (rc > 0)
				return cli_usage_error("clean", "unknown option");
		}
	}
	if (outdir == NULL)
		return cli_usage_error("clean", "-o OUTDIR is required");
	if (optind >= argc)
		return cli_usage_error("clean", "no LIST given");
	if (argc - optind > MAX_LISTS)
		return cli_usage_error("clean", "at most %d lists at once", MAX_LISTS);
	if (!syntax_only && cli_probe_finish("clean", &run.pc, run.from, sizeof run.from) < 0)
		return EXIT_USAGE;
	if ((rc = cli_shard_resolve("clean", &shc, quiet, &sh)) != 0)
		return rc;
	if (export_make_dir(outdir, err, sizeof err) < 0) {
		fprintf(stderr, "mailsift: %s\n", err);
		return EXIT_FAILURE_;
	}
	if (db == NULL) {
		snprintf(dbpath, sizeof dbpath, "%s/%s", outdir, CLEAN_DB_NAME);
		db = dbpath;
	}
	cli_signals_catch();
	if ((!syntax_only && cli_check_sources(&run) < 0) || (s = cli_open_store(db, STORE_WRITE)) == NULL)
		return EXIT_FAILURE_;
	rc = cli_import_all(s, argv + optind, argc - optind, column, &sh, quiet, ids, &nids);
	if (rc == EXIT_INTERRUPTED || nids == 0 || cli_stop_requested) {
		store_close(s);
		return nids == 0 ? rc : EXIT_INTERRUPTED;
	}
	rc2 = syntax_only ? EXIT_DONE : cli_run_store(s, &run, quiet, NULL);
	if (rc2 == EXIT_DONE)
		rc2 = cli_export_lists(s, db, outdir, gzip, with_trace, ids, nids, quiet);
	store_close(s);
	return rc != EXIT_DONE ? rc : rc2;
}
