/*
 * cmd_run - `mailsift run --db JOB.db`: verify every pending address of a job store.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "cli/options.h"
#include "cli/stages.h"

static const char run_help[] =
	"Usage: mailsift run --db JOB.db [--shard K/N] [--quiet] [probe options] [run options]\n"
	"Verify every pending address of the job store and write the verdicts into it. Greylisted\n"
	"and temporarily failed addresses are retried when due (the run waits for them); a crash\n"
	"or Ctrl-C costs nothing but time: rerun the same command to resume. Exit status: 0 done,\n"
	"1 failure, 2 usage error, 3 interrupted, 4 outbound SMTP looks blocked here (no mail\n"
	"host took a connection; nothing was marked invalid).\n"
	"  --db JOB.db         the job store\n"
	"  -q, --quiet         no progress on stderr\n"
	"  --shard K/N         check that the job store holds shard K of N (as imported)\n"
	"  --shards N          the number of shards, with a Kubernetes Indexed Job's index\n";

int cli_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		PROBE_LONG_OPTIONS,
		RUN_LONG_OPTIONS,
		SHARD_LONG_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL;
	int quiet = 0, c, rc;
	struct store *s;
	struct run_cli run;
	struct shard_cli shc = {NULL, 0};
	struct shard sh;

	cli_run_defaults(&run);
	while ((c = getopt_long(argc, argv, "d:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'q': quiet = 1; break;
		case 'h':
			fputs(run_help, stdout);
			printf(cli_run_options_help, DEF_CONCURRENCY, DEF_PER_HOST);
			return EXIT_DONE;
		default:
			rc = cli_shard_option("run", c, optarg, &shc);
			if (rc > 0)
				rc = cli_run_option("run", c, optarg, &run);
			if (rc < 0)
				return EXIT_USAGE;
			if (rc > 0)
				return cli_usage_error("run", "unknown option");
		}
	}
	if (db == NULL)
		return cli_usage_error("run", "--db JOB.db is required");
	if (optind < argc)
		return cli_usage_error("run", "unexpected argument \"%s\"", argv[optind]);
	if (cli_probe_finish("run", &run.pc, run.from, sizeof run.from) < 0)
		return EXIT_USAGE;
	if ((rc = cli_shard_resolve("run", &shc, quiet, &sh)) != 0)
		return rc;
	if (access(db, F_OK) != 0) {
		fprintf(stderr, "mailsift run: %s: no such job store (import a list into it first)\n", db);
		return EXIT_FAILURE_;
	}
	if (cli_check_sources(&run) < 0 || (s = cli_open_store(db, STORE_WRITE)) == NULL)
		return EXIT_FAILURE_;
	rc = cli_shard_check_store(s, db, &sh);
	if (rc == EXIT_DONE)
		rc = cli_run_store(s, &run, quiet, NULL);
	store_close(s);
	return rc;
}
