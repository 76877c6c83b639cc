/*
 * cmd_merge - `mailsift merge STORE... -o OUTDIR`: the job stores of the N shards of the same
 * lists (`clean --shard K/N`) into the files one `clean` of the whole lists writes.
 *
 * The stores are only read. Before anything is written every store is checked: it holds
 * shards (not a whole list), the same lists (by their bytes) as the others, of the same N, each
 * shard number once, and every shard is finished (its import read to the end, every address
 * with a verdict) unless --partial. The export then takes each list's rows from all the stores
 * in input order (exporters/export.h: a merge).
 */
#include "cli/cli.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"
#include "cli/stages.h"
#include "common/fdlimit.h"
#include "common/shard.h"
#include "exporters/export.h"

#define MERGE_FD_RESERVE 32 /* the files written, stdio, SQLite's temporary files */

static const char merge_help[] =
	"Usage: mailsift merge STORE... -o OUTDIR [--gzip] [--partial] [--quiet]\n"
	"Join the job stores of the N shards of the same lists (each made by `mailsift clean\n"
	"--shard K/N`, or `import --shard K/N` and `run`) into the files one `mailsift clean` of\n"
	"the whole lists writes: every row once, in input order, the same files, and report.json\n"
	"with the totals and a \"shards\" entry per store. The stores are only read. Refused: a\n"
	"store of a whole list, stores of other lists or another number of shards, a shard missing\n"
	"or given twice, and a shard not finished (its import stopped early, or addresses without\n"
	"a verdict: run it again on its store) unless --partial.\n"
	"  -o, --output DIR    where to write (created when missing)\n"
	"  --gzip              write .csv.gz files\n"
	"  --partial           merge unfinished shards too (their rows as they are: addresses\n"
	"                      without a verdict are unknown/not_verified)\n"
	"  -q, --quiet         no summary on stderr\n";

/* One STORE argument. */
struct shard_store {
	const char *path;
	struct store *s;
	struct store_list *lists;
	size_t nlists;
	int k, n;
};

/* store_shard - the shard every list of SS holds (SS->k of SS->n); 0, or -1 after a message */
static int store_shard(struct shard_store *ss)
{
	if (store_lists(ss->s, &ss->lists, &ss->nlists) < 0) {
		fprintf(stderr, "mailsift merge: %s: %s\n", ss->path, store_errmsg(ss->s));
		return -1;
	}
	if (ss->nlists == 0) {
		fprintf(stderr, "mailsift merge: %s holds no list\n", ss->path);
		return -1;
	}
	for (size_t i = 0; i < ss->nlists; i++) {
		int k, n;
		if (store_list_shard(ss->s, ss->lists[i].id, &k, &n) < 0) {
			fprintf(stderr, "mailsift merge: %s: %s\n", ss->path, store_errmsg(ss->s));
			return -1;
		}
		if (n == 0) {
			fprintf(stderr, "mailsift merge: %s holds the whole of %s, not a shard (made "
			        "without --shard): export it with `mailsift export`\n", ss->path,
			        ss->lists[i].name);
			return -1;
		}
		if (i > 0 && (k != ss->k || n != ss->n)) {
			fprintf(stderr, "mailsift merge: %s holds shard %d/%d of %s and %d/%d of %s: "
			        "one shard per store\n", ss->path, ss->k, ss->n, ss->lists[0].name, k, n,
			        ss->lists[i].name);
			return -1;
		}
		ss->k = k;
		ss->n = n;
	}
	return 0;
}

/* same_input - lists A and B were read from the same bytes */
static int same_input(const struct store_list *a, const struct store_list *b)
{
	if (a->raw_sha256 && b->raw_sha256)
		return a->raw_bytes == b->raw_bytes && strcmp(a->raw_sha256, b->raw_sha256) == 0;
	return strcmp(a->identity, b->identity) == 0;
}

/* same_lists - A holds the lists of B (the shard of the same inputs); -1 after a message */
static int same_lists(const struct shard_store *a, const struct shard_store *b)
{
	for (size_t i = 0; i < b->nlists; i++) {
		size_t j = 0;
		while (j < a->nlists && !same_input(&a->lists[j], &b->lists[i]))
			j++;
		if (j == a->nlists || a->nlists != b->nlists) {
			fprintf(stderr, "mailsift merge: %s and %s hold shards of different lists (%s %s "
			        "%s): merge the shards of one `clean --shard` command\n", a->path, b->path,
			        b->lists[i].name, j == a->nlists ? "is not in" : "and others, in",
			        a->path);
			return -1;
		}
	}
	return 0;
}

/* unfinished - why shard SS is not finished, NULL when it is */
static const char *unfinished(const struct shard_store *ss, char *why, size_t n)
{
	struct store_counts c;

	for (size_t i = 0; i < ss->nlists; i++)
		if (!ss->lists[i].done) {
			snprintf(why, n, "its import of %s stopped after %lld rows", ss->lists[i].name,
			         (long long)ss->lists[i].rows);
			return why;
		}
	memset(&c, 0, sizeof c);
	if (store_counts(ss->s, &c) < 0) {
		snprintf(why, n, "its counts cannot be read: %s", store_errmsg(ss->s));
		return why;
	}
	if (c.pending + c.in_flight > 0) {
		snprintf(why, n, "%lld of its addresses have no verdict yet (its run was stopped, "
		         "or it was cleaned --syntax-only)", (long long)c.pending + (long long)c.in_flight);
		return why;
	}
	return NULL;
}

/* check_shards - the V[N] stores (opened) are the N shards of the same lists, each once, and
 * finished unless PARTIAL; sorted by shard number. 0, or -1 after a message */
static int check_shards(struct shard_store *v, int n, int partial)
{
	char why[256];

	for (int i = 0; i < n; i++)
		if (store_shard(&v[i]) < 0)
			return -1;
	for (int i = 1; i < n; i++) {
		if (v[i].n != v[0].n) {
			fprintf(stderr, "mailsift merge: %s holds shard %d/%d and %s shard %d/%d: the "
			        "shards of one list have one N\n", v[0].path, v[0].k, v[0].n, v[i].path,
			        v[i].k, v[i].n);
			return -1;
		}
		if (same_lists(&v[0], &v[i]) < 0)
			return -1;
	}
	/* by shard number: each once, none missing */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j].k < v[j - 1].k; j--) {
			struct shard_store t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	for (int i = 1; i < n; i++)
		if (v[i].k == v[i - 1].k) {
			fprintf(stderr, "mailsift merge: %s and %s are both shard %d/%d: give each shard "
			        "once\n", v[i - 1].path, v[i].path, v[i].k, v[i].n);
			return -1;
		}
	if (n != v[0].n) {
		int k = 0;
		while (k < n && v[k].k == k)
			k++;
		fprintf(stderr, "mailsift merge: shard %d/%d is missing (%d of %d stores given): give "
		        "the store of every shard\n", k, v[0].n, n, v[0].n);
		return -1;
	}
	for (int i = 0; i < n; i++)
		if (unfinished(&v[i], why, sizeof why) != NULL) {
			if (!partial) {
				fprintf(stderr, "mailsift merge: shard %d/%d (%s) is not finished: %s. Finish "
				        "it (rerun its command on its store), or give --partial\n", v[i].k,
				        v[i].n, v[i].path, why);
				return -1;
			}
			fprintf(stderr, "mailsift merge: note: shard %d/%d (%s) is not finished: %s; "
			        "merged as it is (--partial)\n", v[i].k, v[i].n, v[i].path, why);
		}
	return 0;
}

int cli_merge(int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"gzip", no_argument, NULL, 'z'},
		{"partial", no_argument, NULL, 'p'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *outdir = NULL;
	int quiet = 0, gzip = 0, partial = 0, c, n, rc = EXIT_FAILURE_;
	struct shard_store *v;
	struct store **stores;
	const char **paths;

	while ((c = getopt_long(argc, argv, "o:zqh", opts, NULL)) != -1) {
		switch (c) {
		case 'o': outdir = optarg; break;
		case 'z': gzip = 1; break;
		case 'p': partial = 1; break;
		case 'q': quiet = 1; break;
		case 'h': fputs(merge_help, stdout); return EXIT_DONE;
		default: return cli_usage_error("merge", "unknown option");
		}
	}
	if (outdir == NULL)
		return cli_usage_error("merge", "-o OUTDIR is required");
	if (optind >= argc)
		return cli_usage_error("merge", "no STORE given (the job store of each shard)");
	n = argc - optind;
	if (n > SHARD_MAX)
		return cli_usage_error("merge", "at most %d stores", SHARD_MAX);
	v = calloc((size_t)n, sizeof *v);
	stores = calloc((size_t)n, sizeof(struct store *));
	paths = calloc((size_t)n, sizeof *paths);
	if (v == NULL || stores == NULL || paths == NULL)
		abort();
	/* every store stays open to the end (SQLite: the file, its -wal and -shm), beside the
	 * files written: say so up front rather than fail half-way */
	{
		long lim = fd_limit_raise(), need = 3L * n + MERGE_FD_RESERVE;
		if (lim >= 0 && need > lim) {
			fprintf(stderr, "mailsift merge: %d stores need about %ld open files, the limit "
			        "is %ld: raise it (ulimit -n %ld) and run again\n", n, need, lim, need);
			goto out; /* rc: EXIT_FAILURE_ */
		}
	}
	for (int i = 0; i < n; i++) {
		v[i].path = argv[optind + i];
		if ((v[i].s = cli_open_store(v[i].path, STORE_READ)) == NULL)
			goto out;
		/* one page cache's worth for all of them: memory does not grow with the shards */
		store_set_cache(v[i].s, STORE_CACHE_KIB / n);
	}
	if (check_shards(v, n, partial) == 0) {
		struct export_opts o = {.outdir = outdir, .gzip = gzip, .messages = stderr,
		                        .store_path = NULL, .shards = stores, .shard_paths = paths,
		                        .nshards = (size_t)n};
		for (int i = 0; i < n; i++) {
			stores[i] = v[i].s;
			paths[i] = v[i].path;
		}
		if (!quiet)
			fprintf(stderr, "mailsift merge: %d shards of %zu list%s\n", n, v[0].nlists,
			        v[0].nlists == 1 ? "" : "s");
		rc = cli_export_run(v[0].s, &o, quiet);
	}
out:
	for (int i = 0; i < n; i++) {
		store_lists_free(v[i].lists, v[i].nlists);
		store_close(v[i].s);
	}
	free(v);
	free(stores);
	free(paths);
	return rc;
}
