/*
 * cmd_verify - `mailsift verify ADDRESS...`: verify a few addresses now, JSON on stdout.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"
#include "engine/verify.h"
#include "exporters/verify_json.h"
#include "importers/check.h"
#include "schema/verdict.h"

/* verify_addresses - check the syntax of the N ADDRESSES, verify those it allows, write one
 * JSON line each on stdout in the order given; an exit status */
static int verify_addresses(const struct probe_config *pc, char *const *addresses, size_t n)
{
	struct check *chk = check_new();
	struct check_result *cr = calloc(n, sizeof *cr);
	struct verify_item *it = calloc(n, sizeof *it);
	char err[1024] = "";
	int status = EXIT_FAILURE_;

	if (chk == NULL || cr == NULL || it == NULL) {
		fprintf(stderr, "mailsift verify: out of memory\n");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		check_address(chk, addresses[i], strlen(addresses[i]), &cr[i]);
		if (cr[i].problem != ADDR_OK) {
			it[i].verdict.status = STATUS_INVALID;
			it[i].verdict.reason = REASON_SYNTAX;
			continue;
		}
		it[i].address = cr[i].addr.address;
		it[i].domain = cr[i].addr.domain;
		it[i].flags = cr[i].flags;
	}
	if (verify_run(pc, it, n, err, sizeof err) < 0) {
		fprintf(stderr, "mailsift verify: %s\n", err);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *mx[DNS_MAX_HOSTS];
		int ok = cr[i].problem == ADDR_OK;
		for (size_t h = 0; h < it[i].nmx; h++)
			mx[h] = it[i].mx_hosts[h];
		struct verify_json_row row = {
			.input = addresses[i],
			.normalized = ok ? cr[i].addr.address : NULL,
			.status = verdict_status_name(it[i].verdict.status),
			.reason = it[i].verdict.reason,
			.detail = ok ? it[i].detail : addr_problem_text(cr[i].problem),
			.flags = cr[i].flags | (it[i].catch_all == CATCH_ALL_YES ? FLAG_CATCH_ALL : 0),
			.suggestion = cr[i].suggestion,
			.mx_hosts = mx,
			.nmx = it[i].nmx,
			.mx_host = it[i].mx_host,
			.smtp_code = it[i].have_reply ? it[i].reply.code : 0,
			.enhanced_code = it[i].reply.enhanced,
			.smtp_message = it[i].reply.text,
			.tls = it[i].tls,
			.catch_all = it[i].catch_all == CATCH_ALL_YES  ? 1
			             : it[i].catch_all == CATCH_ALL_NO ? 0
			                                               : -1,
			.attempts = it[i].attempts,
			.duration_ms = it[i].seconds * 1000.0,
		};
		verify_json_write(stdout, &row);
	}
	fflush(stdout);
	status = EXIT_DONE;
out:
	check_free(chk);
	free(cr);
	free(it);
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
	"Exit status: 0 every address got a verdict; 1 setup failure; 2 usage error.\n";

int cli_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		PROBE_LONG_OPTIONS,
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct probe_config pc;
	char helo[256], from[320];
	int c, rc;

	config_defaults(&pc, helo, sizeof helo);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			printf(verify_help_fmt, pc.helo, pc.reply_timeout, pc.connect_timeout,
			       pc.greylist_delay, pc.max_attempts, pc.smtp_port);
			return EXIT_DONE;
		}
		rc = cli_probe_option("verify", c, optarg, &pc);
		if (rc < 0)
			return EXIT_USAGE;
		if (rc > 0)
			return cli_usage_error("verify", "unknown option");
	}
	if (optind >= argc)
		return cli_usage_error("verify", "no ADDRESS given");
	if (cli_probe_finish("verify", &pc, from, sizeof from) < 0)
		return EXIT_USAGE;
	return verify_addresses(&pc, argv + optind, (size_t)(argc - optind));
}
