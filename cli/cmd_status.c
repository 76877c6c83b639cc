/*
 * cmd_status - `mailsift status --db JOB.db`: lists, addresses by state, verdicts so far, and
 * how the verdicts probed again changed.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/options.h"
#include "cli/stages.h"
#include "schema/verdict.h"

static const char status_help[] =
	"Usage: mailsift status --db JOB.db [--max-age DAYS] [--hosts]\n"
	"  --max-age DAYS      also count the verdicts older than DAYS, 0: every one (stale: a run\n"
	"                      with the same --max-age probes them again)\n"
	"  --hosts             instead, the SMTP sessions of every run per MX host address, from\n"
	"                      the job store's session log: sessions, refusals (refused or pushed\n"
	"                      back), RCPTs, median reply time, the last session's ending reply;\n"
	"                      the hosts with the most refusals first\n"
	"Show the lists in the job store, addresses by state (pending, in flight, done), the\n"
	"verdicts so far, and the changes: addresses whose verdict's status differs from the one\n"
	"it replaced when probed again, by previous and current status (valid->invalid ...), and\n"
	"what the last run held in memory: its working set (addresses and domains, their bounds)\n"
	"and its DNS caches (names held, hit rate, evictions).\n";

/* print_host - one MX host address's sessions (CTX counts them) */
static int print_host(void *ctx, const struct store_session_host *h)
{
	++*(int *)ctx;
	printf("  %s [%s]: %lld sessions (%lld completed, %lld refused or pushed back), %lld RCPTs, "
	       "median reply %.1f ms\n",
	       h->mx_host ? h->mx_host : "?", h->mx_ip ? h->mx_ip : "?", (long long)h->sessions,
	       (long long)h->completed, (long long)h->refusals, (long long)h->rcpts,
	       h->median_reply_ms);
	printf("      last: %s", h->last_outcome ? h->last_outcome : "?");
	if (h->last_code > 0)
		printf(", %d %s%s%s", h->last_code, h->last_enhanced ? h->last_enhanced : "",
		       h->last_enhanced ? " " : "", h->last_text ? h->last_text : "");
	printf("\n");
	return 0;
}

/* print_hosts - the session log summed up per MX host address; an exit status */
static int print_hosts(struct store *s, const char *db)
{
	int n = 0;

	printf("job store %s\nMX hosts (SMTP sessions of every run, most refusals first):\n", db);
	if (store_session_hosts(s, 0, print_host, &n) < 0) {
		fprintf(stderr, "mailsift: %s: %s\n", db, store_errmsg(s));
		return EXIT_FAILURE_;
	}
	if (n == 0)
		printf("  none recorded yet (a run records its sessions; a store older than session "
		       "logs has none)\n");
	return EXIT_DONE;
}

/* print_changes - the line of the addresses whose status changed when probed again */
static void print_changes(const struct store_counts *cnt)
{
	int any = 0;

	printf("changes:");
	for (int p = 0; p < STATUS_COUNT; p++)
		for (int c = 0; c < STATUS_COUNT; c++)
			if (cnt->changes[p][c] > 0) {
				printf("%s %s->%s %lld", any ? "," : "", verdict_status_name((enum verdict_status)p),
				       verdict_status_name((enum verdict_status)c), (long long)cnt->changes[p][c]);
				any = 1;
			}
	printf("%s\n", any ? "" : " none");
}

/* print_cache - one DNS cache table of the last run's "memory" object */
static void print_cache(const char *label, json_t *c)
{
	json_t *rate = json_object_get(c, "hit_rate");

	printf("  DNS cache, %s: %lld held (peak %lld, limit %lld), %lld hits, %lld misses", label,
	       (long long)json_integer_value(json_object_get(c, "entries")),
	       (long long)json_integer_value(json_object_get(c, "peak")),
	       (long long)json_integer_value(json_object_get(c, "limit")),
	       (long long)json_integer_value(json_object_get(c, "hits")),
	       (long long)json_integer_value(json_object_get(c, "misses")));
	if (json_is_number(rate))
		printf(" (hit rate %.1f%%)", 100 * json_number_value(rate));
	printf(", %lld evicted, %lld expired\n",
	       (long long)json_integer_value(json_object_get(c, "evicted")),
	       (long long)json_integer_value(json_object_get(c, "expired")));
}

/* print_last_run - what the last run held in memory (its "memory" statistics), if any */
static void print_last_run(struct store *s)
{
	char *text = store_last_run_stats(s);
	json_t *o = text ? json_loads(text, 0, NULL) : NULL;
	json_t *m = json_object_get(o, "memory"), *ws = json_object_get(m, "working_set");

	free(text);
	if (!json_is_object(ws)) {
		json_decref(o);
		return;
	}
	printf("last run: %lld verdicts in %.1f s; held at most %lld addresses (limit %lld) over "
	       "%lld domains (limit %lld), %lld MX hosts (%lld let go while idle)\n",
	       (long long)json_integer_value(json_object_get(o, "verdicts")),
	       json_number_value(json_object_get(o, "seconds")),
	       (long long)json_integer_value(json_object_get(ws, "peak_addresses")),
	       (long long)json_integer_value(json_object_get(ws, "address_limit")),
	       (long long)json_integer_value(json_object_get(ws, "peak_domains")),
	       (long long)json_integer_value(json_object_get(ws, "domain_limit")),
	       (long long)json_integer_value(json_object_get(json_object_get(m, "mx_hosts"), "peak")),
	       (long long)json_integer_value(json_object_get(json_object_get(m, "mx_hosts"), "let_go")));
	print_cache("domains", json_object_get(json_object_get(m, "dns_cache"), "domains"));
	print_cache("MX host names", json_object_get(json_object_get(m, "dns_cache"), "hosts"));
	json_decref(o);
}

int cli_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"max-age", required_argument, NULL, 'a'},
		{"hosts", no_argument, NULL, 'H'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL;
	int hosts = 0;
	double max_age = -1; /* not given */
	int64_t stale;
	int k, nk;
	struct store *s;
	struct store_list *v;
	struct store_counts cnt;
	size_t n;
	int c;

	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'a':
			if (cli_parse_number("status", "--max-age", optarg, 0, 36500, &max_age) < 0)
				return EXIT_USAGE;
			break;
		case 'H': hosts = 1; break;
		case 'h': fputs(status_help, stdout); return EXIT_DONE;
		default: return cli_usage_error("status", "unknown option");
		}
	}
	if (db == NULL)
		return cli_usage_error("status", "--db JOB.db is required");
	if (optind < argc)
		return cli_usage_error("status", "unexpected argument \"%s\"", argv[optind]);
	if ((s = cli_open_store(db, STORE_READ)) == NULL)
		return EXIT_FAILURE_;
	if (hosts) {
		int rc = print_hosts(s, db);
		store_close(s);
		return rc;
	}
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
		printf("%s", v[i].gzip ? ", gzip" : "");
		if (store_list_shard(s, v[i].id, &k, &nk) == 0 && nk > 0)
			printf(", shard %d/%d (its rows only; `mailsift merge` joins the shards)", k, nk);
		printf("\n");
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
	print_changes(&cnt);
	stale = max_age >= 0 ? store_count_stale(s, store_stale_before(max_age, (int64_t)time(NULL)))
	                     : 0;
	if (max_age > 0)
		printf("stale: %lld verdicts older than %g days\n", (long long)stale, max_age);
	else if (max_age == 0)
		printf("stale: %lld verdicts (--max-age 0: every verdict a probe gave)\n",
		       (long long)stale);
	print_last_run(s);
	store_lists_free(v, n);
	store_close(s);
	return EXIT_DONE;
}
