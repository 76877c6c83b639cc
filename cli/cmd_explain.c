/*
 * cmd_explain - `mailsift explain --db JOB.db ADDRESS...`: why an address got its verdict,
 * from the job store alone (no probe): the verdict, the deciding reply and the transcript the
 * run kept (common/trace.h; kept for unknown and risky verdicts and for retries, or for every
 * address with --keep-traces all). Text by default, one JSON object a line with --format json.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/options.h"
#include "cli/stages.h"
#include "common/trace.h"
#include "exporters/verify_json.h"
#include "importers/check.h"
#include "schema/store.h"

struct explain {
	const char *input;
	int json;
	char *transcript;
};

/* show - the address as the store holds it, with its transcript */
static int show(void *ctx, const struct store_addr_out *a)
{
	struct explain *e = ctx;
	const struct store_row_out *o = &a->v;
	const char *status = o->status ? o->status : "unknown";
	const char *reason = o->status ? o->reason : "not_verified";

	if (e->json) {
		struct verify_json_row row = {.input = e->input, .catch_all = -1, .with_transcript = 1,
		                              .transcript = e->transcript};
		verify_json_from_store(&row, o);
		row.status = status;
		row.reason = reason;
		verify_json_write(stdout, &row);
		return 0;
	}
	printf("%s: %s / %s%s%s\n", e->input, status, reason, o->detail && o->detail[0] ? ": " : "",
	       o->detail ? o->detail : "");
	if (o->status == NULL)
		printf("  not verified yet%s\n",
		       a->next_attempt_at > 0 ? ": it waits for a retry (greylisting or a temporary "
		                                "failure)" : "");
	if (o->smtp_code > 0)
		printf("  reply: %lld %s %s (from %s)\n", (long long)o->smtp_code,
		       o->enhanced_code ? o->enhanced_code : "", o->smtp_message ? o->smtp_message : "",
		       o->mx_host ? o->mx_host : "?");
	if (o->checked_at > 0) {
		char when[32];
		time_t t = (time_t)o->checked_at;
		struct tm tm;
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&t, &tm));
		printf("  checked: %s, %d attempt%s\n", when, o->attempts, o->attempts == 1 ? "" : "s");
	}
	if (e->transcript) {
		printf("  transcript:\n");
		trace_write_text(stdout, e->transcript, "  ");
	} else {
		printf("  no transcript kept (runs keep those of unknown and risky verdicts and of "
		       "retries; --keep-traces all keeps every one)\n");
	}
	return 0;
}

static const char explain_help[] =
	"Usage: mailsift explain --db JOB.db [--format text|json] ADDRESS...\n"
	"Why each address got its verdict, from the job store alone (nothing is probed): the\n"
	"verdict, the reply that decided it and the transcript of the SMTP conversation the run\n"
	"kept: the DNS answer, each connection, every command and reply line, STARTTLS, retries\n"
	"and their waits, the rule that turned the reply into the verdict. Runs keep the\n"
	"transcripts of unknown and risky verdicts and of retries (at most 4 KiB each), or of\n"
	"every address with `--keep-traces all`.\n"
	"  --db JOB.db          the job store (required)\n"
	"  --format text|json   text: readable C: / S: dialogue; json: one object a line, as\n"
	"                       `mailsift verify --trace` prints [text]\n"
	"Exit status: 0 every address was found; 1 some were not (or the store failed); 2 usage.\n";

int cli_explain(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"format", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL;
	struct explain e = {0};
	struct store *s;
	struct check *chk;
	int c, status = EXIT_DONE;

	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'f':
			if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0)
				return cli_usage_error("explain", "--format wants text or json, not \"%s\"",
				                       optarg);
			e.json = strcmp(optarg, "json") == 0;
			break;
		case 'h': fputs(explain_help, stdout); return EXIT_DONE;
		default: return cli_usage_error("explain", "unknown option");
		}
	}
	if (db == NULL)
		return cli_usage_error("explain", "--db JOB.db is required");
	if (optind >= argc)
		return cli_usage_error("explain", "no ADDRESS given");
	if ((s = cli_open_store(db, STORE_READ)) == NULL)
		return EXIT_FAILURE_;
	if ((chk = check_new()) == NULL) {
		store_close(s);
		fprintf(stderr, "mailsift explain: out of memory\n");
		return EXIT_FAILURE_;
	}
	for (int i = optind; i < argc; i++) {
		struct check_result cr;
		int64_t id;

		e.input = argv[i];
		check_address(chk, argv[i], strlen(argv[i]), &cr);
		id = cr.problem == ADDR_OK ? store_addr_find(s, cr.addr.key) : 0;
		if (id < 0 || (id > 0 && store_trace_get(s, id, &e.transcript) < 0)) {
			fprintf(stderr, "mailsift explain: %s: %s\n", db, store_errmsg(s));
			status = EXIT_FAILURE_;
			break;
		}
		if (id == 0 || store_addr_read(s, id, show, &e) <= 0) {
			fprintf(stderr, "mailsift explain: %s: %s\n", argv[i],
			        cr.problem != ADDR_OK ? "not an address (its syntax is refused)"
			                              : "not in this job store");
			status = EXIT_FAILURE_;
		}
		free(e.transcript);
		e.transcript = NULL;
	}
	check_free(chk);
	store_close(s);
	return status;
}
