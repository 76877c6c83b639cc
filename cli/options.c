/*
 * options - the options the probing commands share (probe options: verify, run, clean; run
 * options: run, clean), parsed into the probe and run configuration, and usage errors.
 */
#include "cli/options.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "cli/cli.h"
#include "common/ipaddr.h"

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mailsift %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'mailsift %s --help'.\n", cmd);
	return EXIT_USAGE;
}

void cli_run_defaults(struct run_cli *rc)
{
	memset(rc, 0, sizeof *rc);
	config_defaults(&rc->pc, rc->helo, sizeof rc->helo);
	rc->concurrency = DEF_CONCURRENCY;
	rc->per_host = DEF_PER_HOST;
	rc->max_age = -1; /* --max-age not given: every verdict is reused */
}

int cli_parse_number(const char *cmd, const char *opt, const char *v, double lo, double hi,
                     double *out)
{
	char *end;
	double d = strtod(v, &end);

	if (end == v || *end != '\0' || d < lo || d > hi) {
		cli_usage_error(cmd, "%s wants a number from %g to %g, not \"%s\"", opt, lo, hi, v);
		return -1;
	}
	*out = d;
	return 0;
}

/* cli_probe_option - apply probe option C; 0 handled, 1 not a probe option, -1 usage error */
int cli_probe_option(const char *cmd, int c, const char *v, struct probe_config *pc)
{
	double d;

	switch (c) {
	case OPT_HELO: pc->helo = v; return 0;
	case OPT_MAIL_FROM: pc->mail_from = v; return 0;
	case OPT_TIMEOUT: return cli_parse_number(cmd, "--timeout", v, 0.1, 3600, &pc->reply_timeout);
	case OPT_CONNECT_TIMEOUT:
		return cli_parse_number(cmd, "--connect-timeout", v, 0.1, 3600, &pc->connect_timeout);
	case OPT_GREYLIST_DELAY:
		return cli_parse_number(cmd, "--greylist-delay", v, 0, 86400, &pc->greylist_delay);
	case OPT_MAX_ATTEMPTS:
		if (cli_parse_number(cmd, "--max-attempts", v, 1, 20, &d) < 0)
			return -1;
		pc->max_attempts = (int)d;
		return 0;
	case OPT_SMTP_PORT:
		if (cli_parse_number(cmd, "--smtp-port", v, 1, 65535, &d) < 0)
			return -1;
		pc->smtp_port = (int)d;
		return 0;
	case OPT_RESOLVER:
		if (pc->nresolvers == sizeof pc->resolvers / sizeof pc->resolvers[0]) {
			cli_usage_error(cmd, "at most %zu --resolver", pc->nresolvers);
			return -1;
		}
		pc->resolvers[pc->nresolvers++] = v;
		return 0;
	case OPT_NO_STARTTLS: pc->starttls = 0; return 0;
	case OPT_ALLOW_PRIVATE_MX: pc->allow_private_mx = 1; return 0;
	case OPT_DNS_CACHE:
		if (cli_parse_number(cmd, "--dns-cache", v, 1, 10000000, &d) < 0)
			return -1;
		pc->dns_cache = (int)d;
		return 0;
	default: return 1;
	}
}

/* cli_probe_finish - the probe options are all read: a fully qualified HELO name, the MAIL FROM
 * built from it; 0, or -1 after a usage error message */
int cli_probe_finish(const char *cmd, struct probe_config *pc, char *from, size_t fromlen)
{
	char err[512];

	if (config_finish(pc, from, fromlen, err, sizeof err) == 0)
		return 0;
	cli_usage_error(cmd, "%s", err);
	return -1;
}

/* cli_run_option - a probe or run option; 0 handled, 1 not one, -1 usage error */
int cli_run_option(const char *cmd, int c, const char *v, struct run_cli *rc)
{
	struct sockaddr_storage ss;
	double d;

	switch (c) {
	case OPT_CONCURRENCY:
		if (cli_parse_number(cmd, "--concurrency", v, 1, 100000, &d) < 0)
			return -1;
		rc->concurrency = (int)d;
		return 0;
	case OPT_PER_HOST:
		if (cli_parse_number(cmd, "--per-host", v, 1, 1000, &d) < 0)
			return -1;
		rc->per_host = (int)d;
		return 0;
	case OPT_MAX_AGE:
		return cli_parse_number(cmd, "--max-age", v, 0, 36500, &rc->max_age);
	case OPT_NO_DOCTOR:
		rc->no_doctor = 1;
		return 0;
	case OPT_SESSION_LOG:
		rc->session_log = v;
		return 0;
	case OPT_KEEP_TRACES:
		if (strcmp(v, "none") == 0)
			rc->pc.keep_traces = TRACE_KEEP_NONE;
		else if (strcmp(v, "problems") == 0)
			rc->pc.keep_traces = TRACE_KEEP_PROBLEMS;
		else if (strcmp(v, "all") == 0)
			rc->pc.keep_traces = TRACE_KEEP_ALL;
		else {
			cli_usage_error(cmd, "--keep-traces wants none, problems or all, not \"%s\"", v);
			return -1;
		}
		return 0;
	case OPT_SOURCE:
		if (ipaddr_parse(v, AF_UNSPEC, &ss, NULL) < 0) {
			cli_usage_error(cmd, "--source wants an IP address, not \"%s\"", v);
			return -1;
		}
		if (rc->nsources == MAX_SOURCES) {
			cli_usage_error(cmd, "at most %d --source", MAX_SOURCES);
			return -1;
		}
		rc->sources[rc->nsources++] = v;
		return 0;
	default:
		return cli_probe_option(cmd, c, v, &rc->pc);
	}
}

/* cli_check_sources - every --source must be an address of this host: a bind that fails later
 * would turn into failed sessions, and verdicts, about our own mistake */
int cli_check_sources(const struct run_cli *rc)
{
	for (size_t i = 0; i < rc->nsources; i++) {
		struct sockaddr_storage ss;
		socklen_t len;
		int fd, ok;

		ipaddr_parse(rc->sources[i], AF_UNSPEC, &ss, &len); /* checked by cli_run_option */
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

const char cli_run_options_help[] =
	"Probe options (defaults: `mailsift verify --help`): --helo NAME, --mail-from ADDR,\n"
	"  --timeout SECS, --connect-timeout SECS, --greylist-delay SECS, --max-attempts N,\n"
	"  --resolver HOST[:PORT] (repeatable), --smtp-port N, --no-starttls, --allow-private-mx,\n"
	"  --dns-cache N\n"
	"Run options:\n"
	"  --concurrency N     sessions open at once, all hosts [%d]\n"
	"  --per-host N        ceiling of sessions to one MX host address [%d]\n"
	"  --source ADDR       local address to connect from, repeatable (domains are spread\n"
	"                      over them; a retry always uses the address of its first try)\n"
	"  --max-age DAYS      probe again the verdicts older than DAYS, 0: every one (the export's\n"
	"                      changes.csv lists the rows whose status changed) [not given: reuse]\n"
	"  --no-doctor         skip the quick checks of this machine before the run (outbound\n"
	"                      SMTP, blocklists: `mailsift doctor --help`)\n"
	"  --session-log FILE  append one JSON line per SMTP session to FILE (created 0600; a\n"
	"                      symbolic link is refused; README \"Session log\" has the fields);\n"
	"                      the job store keeps them too (`mailsift status --hosts`)\n"
	"  --keep-traces WHICH transcripts of the SMTP conversations kept in the job store for\n"
	"                      `mailsift explain` and `export --with-trace`: none, problems\n"
	"                      (addresses whose verdict is unknown or risky, or that wait for a\n"
	"                      retry; at most 4 KiB each) or all [problems]\n";

int cli_shard_option(const char *cmd, int c, const char *v, struct shard_cli *sc)
{
	struct shard sh;
	char err[256];
	double n;

	switch (c) {
	case OPT_SHARD:
		if (shard_parse(v, &sh, err, sizeof err) < 0) {
			cli_usage_error(cmd, "--shard: %s", err);
			return -1;
		}
		sc->spec = v;
		return 0;
	case OPT_SHARDS:
		if (cli_parse_number(cmd, "--shards", v, 1, SHARD_MAX, &n) < 0)
			return -1;
		if (n != (double)(int)n) {
			cli_usage_error(cmd, "--shards wants a whole number, not \"%s\"", v);
			return -1;
		}
		sc->shards = (int)n;
		return 0;
	default:
		return 1;
	}
}

int cli_shard_resolve(const char *cmd, const struct shard_cli *sc, int quiet, struct shard *out)
{
	char err[512];
	int rc;

	memset(out, 0, sizeof *out);
	if (sc->spec != NULL) {
		if (shard_parse(sc->spec, out, err, sizeof err) < 0)
			return cli_usage_error(cmd, "--shard: %s", err);
		snprintf(out->from, sizeof out->from, "--shard");
	} else if ((rc = shard_from_env(out, sc->shards, err, sizeof err)) < 0) {
		fprintf(stderr, "mailsift %s: %s\n", cmd, err);
		return EXIT_USAGE;
	} else if (rc == 0 && sc->shards > 0) {
		return cli_usage_error(cmd, "--shards is for a batch system's index "
		                       "(JOB_COMPLETION_INDEX); give --shard K/N");
	}
	if (out->n > 0 && !quiet)
		fprintf(stderr, "mailsift %s: shard %d/%d (from %s)\n", cmd, out->k, out->n, out->from);
	return 0;
}

const char cli_shard_options_help[] =
	"  --shard K/N         own shard K (from 0) of N: keep only the rows whose address hashes\n"
	"                      to K (rows without an address: shard 0); one job store per shard,\n"
	"                      `mailsift merge` joins them [from JOB_COMPLETION_INDEX with\n"
	"                      --shards N or MAILSIFT_SHARDS, or SLURM_ARRAY_TASK_ID and\n"
	"                      SLURM_ARRAY_TASK_COUNT, when set; else the whole list]\n"
	"  --shards N          the number of shards, with a Kubernetes Indexed Job's index\n";
