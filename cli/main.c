/*
 * main - the mailsift entry point: the top-level help, then the command (cli/cmd_*.c).
 */
#include <ares.h>
#include <event2/event.h>
#include <idn2.h>
#include <jansson.h>
#include <libpsl.h>
#include <openssl/crypto.h>
#include <spf2/spf.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "cli/cli.h"

/* print_version - mailsift's version, then those of the libraries it runs with (as loaded, not
 * as built: a bug report needs what ran) */
static void print_version(void)
{
	printf("mailsift %s\n", MAILSIFT_VERSION);
	printf("libevent %s\nc-ares %s\n%s\nSQLite %s\nzlib %s\n", event_get_version(),
	       ares_version(NULL), OpenSSL_version(OPENSSL_VERSION), sqlite3_libversion(),
	       zlibVersion());
	printf("libpsl %s\nlibidn2 %s\njansson %s\nlibspf2 %d.%d.%d (built with)\n",
	       psl_get_version(), idn2_check_version(NULL), jansson_version_str(),
	       SPF_LIB_VERSION_MAJOR, SPF_LIB_VERSION_MINOR, SPF_LIB_VERSION_PATCH);
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
	"  mailsift status --db JOB.db [--hosts]   --hosts: the SMTP sessions per MX host\n"
	"  mailsift explain --db JOB.db ADDRESS...  why an address got its verdict (transcript)\n"
	"  mailsift merge STORE... -o OUTDIR [--gzip] [--partial]\n"
	"                                 the shards' stores (--shard K/N) into one clean's files\n"
	"  mailsift verify ADDRESS... [--trace] [probe options]   one JSON object per address\n"
	"  mailsift serve --data DIR [--listen HOST:PORT] [probe options] [run options]\n"
	"                                 the HTTP API (real-time checks)\n"
	"  mailsift doctor [--helo NAME] [--mail-from ADDR] [--source ADDR]... [--json]\n"
	"                                 is this machine fit to probe? (port 25, PTR, DNSBL, SPF)\n"
	"  mailsift COMMAND --help        options of one command\n"
	"  mailsift --version\n"
	"\n"
	"LIST is a CSV file (with or without a header; , ; TAB or | delimited) or a file with one\n"
	"address a line, plain or gzip-compressed (detected by content); - reads stdin.\n"
	"\n"
	"Probe options: --helo NAME, --mail-from ADDR, --timeout SECS, --connect-timeout SECS,\n"
	"--greylist-delay SECS, --max-attempts N, --resolver HOST[:PORT] (repeatable),\n"
	"--smtp-port N, --no-starttls, --allow-private-mx, --dns-cache N (see `mailsift verify\n"
	"--help`).\n"
	"\n"
	"Run options (run, clean, serve): --concurrency N, --per-host N, --source ADDR (repeatable),\n"
	"--max-age DAYS, --no-doctor, --session-log FILE, --keep-traces none|problems|all (see\n"
	"`mailsift run --help`).\n"
	"\n"
	"Shards (import, run, clean): --shard K/N keeps only the rows whose address hashes to\n"
	"shard K of N (from a Kubernetes Indexed Job's or a Slurm array's index when not given;\n"
	"see `mailsift clean --help`); `mailsift merge` joins the shards' stores.\n"
	"\n"
	"Exit status: 0 done; 1 failure or damaged input (what could be read is kept);\n"
	"2 usage error; 3 interrupted (Ctrl-C, SIGTERM): rerun the same command to resume;\n"
	"4 (run, clean) outbound SMTP looks blocked here.\n",
	MAILSIFT_VERSION);
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{"clean", cli_clean},
	{"import", cli_import},
	{"export", cli_export},
	{"status", cli_status},
	{"verify", cli_verify},
	{"run", cli_run},
	{"serve", cli_serve},
	{"doctor", cli_doctor},
	{"merge", cli_merge},
	{"explain", cli_explain},
};

int main(int argc, char **argv)
{
	if (argc < 2) {
		cli_usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		cli_usage(stdout);
		return EXIT_DONE;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		print_version();
		return EXIT_DONE;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "mailsift: unknown command \"%s\"\n\n", argv[1]);
	cli_usage(stderr);
	return EXIT_USAGE;
}
