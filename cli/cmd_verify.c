/*
 * cmd_verify - `mailsift verify ADDRESS...`: verify a few addresses now, JSON on stdout.
 *
 * The addresses go through the same path as a list: their syntax is checked as an import
 * checks it, those it allows become a list of a temporary job store (importers/given), the run
 * service verifies them (engine/run, as `mailsift run` does), and each answer is read back from
 * the store for its JSON line (exporters/verify_json). The store lives in a private directory
 * under $TMPDIR (or /tmp) and goes away with the command.
 */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/options.h"
#include "cli/stages.h"
#include "common/clock.h"
#include "common/trace.h"
#include "engine/dns.h"
#include "exporters/verify_json.h"
#include "importers/check.h"
#include "importers/given.h"
#include "schema/store.h"
#include "schema/verdict.h"

/* When each address got its final verdict (seconds from the start), by address id. */
struct timing {
	int64_t address_id;
	double seconds;
};

struct verify_cmd {
	const char *const *inputs;      /* the addresses as given */
	const struct check_result *cr;  /* their syntax checks */
	size_t n;
	size_t next;                    /* the next input to print */
	struct store *store;
	struct timing *timing;          /* in verdict order: ids never repeat, at most N */
	size_t ntiming;
	double started;
	int trace;                      /* --trace */
	int text;                       /* --format text */
};

/* print - ROW on stdout: its JSON line, or (--format text) a heading and the transcript as a
 * dialogue */
static void print(const struct verify_cmd *v, const struct verify_json_row *row)
{
	if (!v->text) {
		verify_json_write(stdout, row);
		return;
	}
	printf("%s: %s / %s%s%s\n", row->input, row->status, row->reason,
	       row->detail && row->detail[0] ? ": " : "", row->detail ? row->detail : "");
	if (row->smtp_code > 0)
		printf("  reply: %d %s %s\n", row->smtp_code,
		       row->enhanced_code ? row->enhanced_code : "",
		       row->smtp_message ? row->smtp_message : "");
	if (row->transcript)
		trace_write_text(stdout, row->transcript, "  ");
	else
		printf("  (no SMTP conversation)\n");
	printf("\n");
}

static void on_verdict(void *ctx, int64_t address_id)
{
	struct verify_cmd *v = ctx;

	if (v->ntiming < v->n) /* one final verdict per distinct address: never more than N */
		v->timing[v->ntiming++] = (struct timing){address_id, clock_now() - v->started};
}

static int timing_cmp(const void *a, const void *b)
{
	int64_t x = ((const struct timing *)a)->address_id, y = ((const struct timing *)b)->address_id;

	return (x > y) - (x < y);
}

/* seconds_of - how long address ID took to its verdict, or 0 when it has none */
static double seconds_of(const struct verify_cmd *v, int64_t id)
{
	struct timing key = {id, 0};
	const struct timing *t = bsearch(&key, v->timing, v->ntiming, sizeof *t, timing_cmp);

	return t ? t->seconds : 0;
}

/* print_refused - the input at I, whose syntax is refused */
static void print_refused(const struct verify_cmd *v, size_t i)
{
	const struct check_result *cr = &v->cr[i];
	struct verify_json_row row = {
		.input = v->inputs[i],
		.status = verdict_status_name(STATUS_INVALID),
		.reason = REASON_SYNTAX,
		.detail = addr_problem_text(cr->problem),
		.flags = cr->flags,
		.suggestion = cr->suggestion,
		.catch_all = -1,
		.with_transcript = v->trace,
	};

	print(v, &row);
}

/* print_refused_before - every input before row ROW_NO (1-based) not yet printed: the rows
 * the store does not hold are those whose syntax is refused */
static void print_refused_before(struct verify_cmd *v, size_t row_no)
{
	for (; v->next + 1 < row_no && v->next < v->n; v->next++)
		print_refused(v, v->next);
}

/* print_row - one verified (or interrupted) address of the store, as its JSON line */
static int print_row(void *ctx, const struct store_row_out *o)
{
	struct verify_cmd *v = ctx;
	struct dns_result dns;
	const char *mx[DNS_MAX_HOSTS];
	int verified = o->status != NULL;
	int ca = o->domain ? store_catch_all(v->store, o->domain) : -1;

	print_refused_before(v, (size_t)o->row_no);
	if (v->next >= v->n)
		return 1; /* not one of ours: cannot happen in a store of our own */
	char *transcript = NULL;
	if (v->trace && store_trace_get(v->store, o->address_id, &transcript) < 0)
		fprintf(stderr, "mailsift verify: job store: %s\n", store_errmsg(v->store));
	struct verify_json_row row = {
		.input = v->inputs[v->next],
		.mx_hosts = mx,
		.nmx = dns_stored_mx_names(v->store, o->domain, &dns, mx),
		.catch_all = ca,
		.duration_ms = seconds_of(v, o->address_id) * 1000.0,
		.with_transcript = v->trace,
		.transcript = transcript,
	};
	verify_json_from_store(&row, o);
	if (!verified) {
		row.status = verdict_status_name(STATUS_UNKNOWN);
		row.reason = REASON_NOT_VERIFIED;
		row.detail = "interrupted before its verdict";
	}
	print(v, &row);
	free(transcript);
	v->next++;
	return 0;
}

/* temp_store - a new job store in a private directory under $TMPDIR (or /tmp): its path into
 * PATH, the directory into DIR; NULL after a message */
static struct store *temp_store(char *dir, size_t dirlen, char *path, size_t pathlen)
{
	const char *tmp = getenv("TMPDIR");

	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	snprintf(dir, dirlen, "%s/mailsift-verify-XXXXXX", tmp);
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "mailsift verify: cannot make a temporary directory in %s: %s\n", tmp,
		        strerror(errno));
		dir[0] = '\0';
		return NULL;
	}
	snprintf(path, pathlen, "%s/verify.db", dir);
	return cli_open_store(path, STORE_WRITE);
}

/* temp_store_remove - the store's files and their directory */
static void temp_store_remove(const char *dir, const char *path)
{
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
	char f[PATH_MAX + 16];

	if (dir[0] == '\0')
		return;
	for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
		snprintf(f, sizeof f, "%s%s", path, suffix[i]);
		unlink(f);
	}
	rmdir(dir);
}

/* verify_addresses - check the syntax of the N ADDRESSES, verify those it allows, write one
 * JSON line each on stdout in the order given; an exit status */
static int verify_addresses(const struct run_cli *run, const char *const *addresses, size_t n,
                            int trace, int text)
{
	struct verify_cmd v = {.inputs = addresses, .n = n, .trace = trace, .text = text};
	struct check *chk = check_new();
	struct check_result *cr = calloc(n, sizeof *cr);
	char dir[PATH_MAX], path[PATH_MAX + 16], err[1024];
	int64_t list_id;
	int status = EXIT_FAILURE_;

	dir[0] = '\0';
	v.cr = cr;
	v.timing = calloc(n, sizeof *v.timing);
	if (chk == NULL || cr == NULL || v.timing == NULL) {
		fprintf(stderr, "mailsift verify: out of memory\n");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		check_address(chk, addresses[i], strlen(addresses[i]), &cr[i]);
	v.store = temp_store(dir, sizeof dir, path, sizeof path);
	if (v.store == NULL)
		goto out;
	list_id = given_import(v.store, "verify", "given:verify", addresses, cr, n, err, sizeof err);
	if (list_id < 0) {
		fprintf(stderr, "mailsift verify: %s\n", err);
		goto out;
	}
	v.started = clock_now();
	struct cli_run_hooks hooks = {on_verdict, &v, 1};
	status = cli_run_store(v.store, run, 1, &hooks);
	if (status != EXIT_DONE && status != EXIT_INTERRUPTED)
		goto out;
	qsort(v.timing, v.ntiming, sizeof *v.timing, timing_cmp);
	if (store_rows_each(v.store, list_id, print_row, &v) < 0) {
		fprintf(stderr, "mailsift verify: job store: %s\n", store_errmsg(v.store));
		status = EXIT_FAILURE_;
		goto out;
	}
	print_refused_before(&v, n + 1);
	fflush(stdout);
out:
	store_close(v.store);
	temp_store_remove(dir, path);
	check_free(chk);
	free(cr);
	free(v.timing);
	return status;
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
	"  --trace                 add each address's transcript: the DNS answer, every connection,\n"
	"                          command and reply line, STARTTLS (version, cipher, certificate),\n"
	"                          retries and the waits, the rule that made the verdict; JSON:\n"
	"                          a \"transcript\" array of {ms, type, text}\n"
	"  --format json|text      text: a readable C: / S: dialogue per address [json]\n"
	"  --dns-cache N           DNS answers kept in memory: N domains and N MX host names\n"
	"                          nobody uses now, least recently used let go first; each for\n"
	"                          its DNS TTL, at most an hour [%d]\n"
	"Exit status: 0 every address got a verdict; 1 setup failure; 2 usage error;\n"
	"3 interrupted (Ctrl-C): the addresses without a verdict are printed as unknown /\n"
	"not_verified.\n";

int cli_verify(int argc, char **argv)
{
	enum { OPT_TRACE = 2000, OPT_FORMAT };
	static const struct option opts[] = {
		PROBE_LONG_OPTIONS,
		{"trace", no_argument, NULL, OPT_TRACE},
		{"format", required_argument, NULL, OPT_FORMAT},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct run_cli run;
	struct probe_config *pc = &run.pc;
	int c, rc, trace = 0, text = 0;

	cli_run_defaults(&run);
	pc->keep_traces = TRACE_KEEP_NONE; /* nobody reads them: the store goes with the command */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == OPT_TRACE) {
			trace = 1;
			pc->keep_traces = TRACE_KEEP_ALL;
			continue;
		}
		if (c == OPT_FORMAT) {
			if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0)
				return cli_usage_error("verify", "--format wants json or text, not \"%s\"",
				                       optarg);
			text = strcmp(optarg, "text") == 0;
			continue;
		}
		if (c == 'h') {
			printf(verify_help_fmt, pc->helo, pc->reply_timeout, pc->connect_timeout,
			       pc->greylist_delay, pc->max_attempts, pc->smtp_port, pc->dns_cache);
			return EXIT_DONE;
		}
		rc = cli_probe_option("verify", c, optarg, pc);
		if (rc < 0)
			return EXIT_USAGE;
		if (rc > 0)
			return cli_usage_error("verify", "unknown option");
	}
	if (optind >= argc)
		return cli_usage_error("verify", "no ADDRESS given");
	if (cli_probe_finish("verify", pc, run.from, sizeof run.from) < 0)
		return EXIT_USAGE;
	if (text && !trace)
		return cli_usage_error("verify", "--format text prints transcripts: give --trace too");
	return verify_addresses(&run, (const char *const *)(argv + optind), (size_t)(argc - optind),
	                        trace, text);
}
