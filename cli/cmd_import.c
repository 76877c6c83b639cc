/*
 * cmd_import - `mailsift import LIST... --db JOB.db`: read lists into a job store.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/options.h"
#include "cli/signals.h"
#include "cli/stages.h"

static const char import_help[] =
	"Usage: mailsift import LIST... --db JOB.db [--column NAME|N] [--shard K/N] [--quiet]\n"
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
		SHARD_LONG_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL, *column = NULL;
	int quiet = 0, c, nids, rc;
	int64_t ids[MAX_LISTS];
	struct store *s;
	struct shard_cli shc = {NULL, 0};
	struct shard sh;

	while ((c = getopt_long(argc, argv, "d:c:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'c': column = optarg; break;
		case 'q': quiet = 1; break;
		case 'h':
			fputs(import_help, stdout);
			fputs(cli_shard_options_help, stdout);
			return EXIT_DONE;
		default:
			rc = cli_shard_option("import", c, optarg, &shc);
			if (rc < 0)
				return EXIT_USAGE;
			if (rc > 0)
				return cli_usage_error("import", "unknown option");
		}
	}
	if (db == NULL)
		return cli_usage_error("import", "--db JOB.db is required");
	if (optind >= argc)
		return cli_usage_error("import", "no LIST given");
	if (argc - optind > MAX_LISTS)
		return cli_usage_error("import", "at most %d lists at once", MAX_LISTS);
	if ((rc = cli_shard_resolve("import", &shc, quiet, &sh)) != 0)
		return rc;
	cli_signals_catch();
	if ((s = cli_open_store(db, STORE_WRITE)) == NULL)
		return EXIT_FAILURE_;
	rc = cli_import_all(s, argv + optind, argc - optind, column, &sh, quiet, ids, &nids);
	store_close(s);
	return rc;
}
