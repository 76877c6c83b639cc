/*
 * options - the options the probing commands share: probe options (verify, run, clean) and run
 * options (run, clean), parsed into the probe and run configuration; usage errors.
 */
#ifndef MAILSIFT_CLI_OPTIONS_H
#define MAILSIFT_CLI_OPTIONS_H

#include <getopt.h>
#include <stddef.h>

#include "common/shard.h"
#include "engine/config.h"

/* Option codes of the long options without a short form. */
enum {
	OPT_HELO = 1000,
	OPT_MAIL_FROM,
	OPT_TIMEOUT,
	OPT_CONNECT_TIMEOUT,
	OPT_GREYLIST_DELAY,
	OPT_MAX_ATTEMPTS,
	OPT_RESOLVER,
	OPT_SMTP_PORT,
	OPT_NO_STARTTLS,
	OPT_ALLOW_PRIVATE_MX,
	OPT_CONCURRENCY,
	OPT_PER_HOST,
	OPT_SOURCE,
	OPT_MAX_AGE,
	OPT_NO_DOCTOR,
	OPT_SHARD,
	OPT_SHARDS,
	OPT_DNS_CACHE,
	OPT_KEEP_TRACES,
	OPT_SESSION_LOG,
};

#define PROBE_LONG_OPTIONS                                                         \
	{"helo", required_argument, NULL, OPT_HELO},                                   \
	{"mail-from", required_argument, NULL, OPT_MAIL_FROM},                         \
	{"timeout", required_argument, NULL, OPT_TIMEOUT},                             \
	{"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},             \
	{"greylist-delay", required_argument, NULL, OPT_GREYLIST_DELAY},               \
	{"max-attempts", required_argument, NULL, OPT_MAX_ATTEMPTS},                   \
	{"resolver", required_argument, NULL, OPT_RESOLVER},                           \
	{"smtp-port", required_argument, NULL, OPT_SMTP_PORT},                         \
	{"no-starttls", no_argument, NULL, OPT_NO_STARTTLS},                           \
	{"allow-private-mx", no_argument, NULL, OPT_ALLOW_PRIVATE_MX},                 \
	{"dns-cache", required_argument, NULL, OPT_DNS_CACHE}

/* Options of the commands that run the scheduler (run, clean). */
#define RUN_LONG_OPTIONS                                                           \
	{"concurrency", required_argument, NULL, OPT_CONCURRENCY},                     \
	{"per-host", required_argument, NULL, OPT_PER_HOST},                           \
	{"source", required_argument, NULL, OPT_SOURCE},                               \
	{"max-age", required_argument, NULL, OPT_MAX_AGE},                             \
	{"no-doctor", no_argument, NULL, OPT_NO_DOCTOR},                               \
	{"keep-traces", required_argument, NULL, OPT_KEEP_TRACES},                     \
	{"session-log", required_argument, NULL, OPT_SESSION_LOG}

#define MAX_SOURCES 64 /* --source addresses */

struct run_cli {
	struct probe_config pc;
	char helo[256], from[320];
	int concurrency, per_host;
	const char *sources[MAX_SOURCES];
	size_t nsources;
	double max_age;               /* --max-age DAYS; < 0: not given */
	int no_doctor;                /* --no-doctor: no quick checks before the run */
	const char *session_log;      /* --session-log FILE, or NULL */
};


/* --shard K/N and --shards N (import, run, clean): which part of a list this process owns. */
#define SHARD_LONG_OPTIONS                                                         \
	{"shard", required_argument, NULL, OPT_SHARD},                                 \
	{"shards", required_argument, NULL, OPT_SHARDS}

struct shard_cli {
	const char *spec;             /* --shard K/N, or NULL */
	int shards;                   /* --shards N (with a batch system's index), 0: not given */
};

/* cli_shard_option - a shard option; 0 handled, 1 not one, -1 usage error */
int cli_shard_option(const char *cmd, int c, const char *v, struct shard_cli *sc);

/* cli_shard_resolve - the shard this process owns, from --shard or else from the batch system
 * that started it (common/shard.h), said on stderr unless QUIET (out->n 0: the whole list); 0,
 * or an exit status after a message */
int cli_shard_resolve(const char *cmd, const struct shard_cli *sc, int quiet, struct shard *out);

/* cli_shard_options_help - the help lines of --shard and --shards */
extern const char cli_shard_options_help[];

/* cli_usage_error - "mailsift CMD: message" and the --help hint on stderr; EXIT_USAGE */
int __attribute__((format(printf, 2, 3))) cli_usage_error(const char *cmd, const char *fmt, ...);

/* cli_run_defaults - RC with every default (the HELO name from this host) */
void cli_run_defaults(struct run_cli *rc);

/* cli_parse_number - V as a number in [LO, HI] into *OUT; -1 after a usage error naming OPT */
int cli_parse_number(const char *cmd, const char *opt, const char *v, double lo, double hi,
                     double *out);

/* cli_probe_option - apply probe option C; 0 handled, 1 not a probe option, -1 usage error */
int cli_probe_option(const char *cmd, int c, const char *v, struct probe_config *pc);

/* cli_run_option - a probe or run option; 0 handled, 1 not one, -1 usage error */
int cli_run_option(const char *cmd, int c, const char *v, struct run_cli *rc);

/* cli_probe_finish - the probe options are all read: a fully qualified HELO name, the MAIL
 * FROM built from it (into FROM); 0, or -1 after a usage error message */
int cli_probe_finish(const char *cmd, struct probe_config *pc, char *from, size_t fromlen);

/* cli_check_sources - every --source is an address of this host; -1 after a message */
int cli_check_sources(const struct run_cli *rc);

/* cli_run_options_help - the probe and run options' help (printf format: concurrency, per-host) */
extern const char cli_run_options_help[];

#endif
