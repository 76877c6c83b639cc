/*
 * cmd_export - `mailsift export --db JOB.db -o OUTDIR`: the annotated files of a job store.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"
#include "cli/stages.h"

static const char export_help[] =
	"Usage: mailsift export --db JOB.db -o OUTDIR [--gzip] [--list NAME|ID]... [--quiet]\n"
	"Write valid.csv invalid.csv risky.csv catch_all.csv unknown.csv duplicates.csv and\n"
	"report.json into OUTDIR. Each row keeps the input's columns, then mailsift_* columns.\n"
	"Lists with different headers get a subfolder each.\n"
	"  --db JOB.db        the job store\n"
	"  -o, --output DIR   where to write (created when missing)\n"
	"  --gzip             write .csv.gz files\n"
	"  --with-trace       add a mailsift_trace column: the transcript of the SMTP conversation\n"
	"                     the job store kept for the row's address (`mailsift explain`), else\n"
	"                     empty\n"
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
		{"with-trace", no_argument, NULL, 'T'},
		{"list", required_argument, NULL, 'l'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL, *outdir = NULL, *names[MAX_LISTS];
	int quiet = 0, gzip = 0, with_trace = 0, c, nnames = 0, rc;
	int64_t ids[MAX_LISTS];
	struct store *s;

	while ((c = getopt_long(argc, argv, "d:o:zl:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'o': outdir = optarg; break;
		case 'z': gzip = 1; break;
		case 'T': with_trace = 1; break;
		case 'l':
			if (nnames == MAX_LISTS)
				return cli_usage_error("export", "too many --list");
			names[nnames++] = optarg;
			break;
		case 'q': quiet = 1; break;
		case 'h': fputs(export_help, stdout); return EXIT_DONE;
		default: return cli_usage_error("export", "unknown option");
		}
	}
	if (db == NULL || outdir == NULL)
		return cli_usage_error("export", "--db JOB.db and -o OUTDIR are required");
	if (optind < argc)
		return cli_usage_error("export", "unexpected argument \"%s\"", argv[optind]);
	if ((s = cli_open_store(db, STORE_READ)) == NULL)
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
	rc = cli_export_lists(s, db, outdir, gzip, with_trace, nnames ? ids : NULL, nnames, quiet);
	store_close(s);
	return rc;
}
