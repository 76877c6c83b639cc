/*
 * cmd_doctor - `mailsift doctor`: is this machine fit to probe? (engine/doctor.h); and the
 * quick checks `run` and `clean` make before they start.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/options.h"
#include "common/ipaddr.h"
#include "engine/doctor.h"

#define MAX_LIST_ARGS 16        /* --probe-domain, --blocklist */

enum { OPT_PROBE_DOMAIN = 2000, OPT_BLOCKLIST, OPT_WHOAMI, OPT_PUBLIC_ADDRESS, OPT_JSON };

static const char doctor_help[] =
	"Usage: mailsift doctor [--helo NAME] [--mail-from ADDR] [--source ADDR]... [--json]\n"
	"                       [--probe-domain DOMAIN]... [--blocklist ZONE]... [--whoami NAME[@SERVER]]\n"
	"                       [--public-address ADDR] [probe options]\n"
	"Is this machine fit to probe? Each check says PASS, WARN or FAIL, what it saw and what to\n"
	"do. Checks: the resolver (answers, time, DNSSEC validation); outbound SMTP from each source\n"
	"address (a session up to MAIL FROM, never RCPT, with the first mail host of each probe\n"
	"domain); the public address the world sees (NAT noted); reverse DNS (a PTR whose name\n"
	"resolves back) and the HELO name; DNS blocklists (each list's test entry first: a list that\n"
	"refuses this resolver is a WARN, never \"not listed\"); the SPF of the MAIL FROM domain for\n"
	"the public address (libspf2) and that domain's mail host. Exit status: 0 nothing failed,\n"
	"1 a check failed, 2 usage error. `run` and `clean` make the quick checks (outbound SMTP,\n"
	"blocklists) before they start and print a warning for each failure (--no-doctor: skip).\n"
	"  --source ADDR          a local address to check, repeatable [the system's choice]\n"
	"  --probe-domain DOMAIN  a domain whose mail host the SMTP check talks to, repeatable\n"
	"                         [gmail.com outlook.com yahoo.com]\n"
	"  --blocklist ZONE       a DNS blocklist, repeatable [zen.spamhaus.org\n"
	"                         b.barracudacentral.org bl.spamcop.net]\n"
	"  --whoami NAME[@SERVER] the name that answers the asker's address, and the server to ask\n"
	"                         [" DOCTOR_WHOAMI "@" DOCTOR_WHOAMI_SERVER "; with --resolver: "
	DOCTOR_WHOAMI " asked of it]\n"
	"  --public-address ADDR  the address the world sees, when known (not looked for then)\n"
	"  --json                 one JSON object on stdout instead of text\n"
	"Probe options (see `mailsift verify --help`): --helo NAME, --mail-from ADDR, --timeout SECS,\n"
	"  --connect-timeout SECS (at most 10 s here), --resolver HOST[:PORT] (repeatable),\n"
	"  --smtp-port N, --allow-private-mx\n";

static void print_text(const struct doctor_report *rep)
{
	for (size_t i = 0; i < rep->n; i++) {
		const struct doctor_check *c = &rep->checks[i];

		printf("%s  %-14s %s%s%s\n", doctor_level_name(c->level), c->name, c->subject,
		       c->subject[0] ? ": " : "", c->evidence);
		printf("      %-14s %s\n", c->level == DOCTOR_PASS ? "" : "fix:", c->advice);
	}
	printf("%zu passed, %zu warned, %zu failed\n", doctor_count(rep, DOCTOR_PASS),
	       doctor_count(rep, DOCTOR_WARN), doctor_count(rep, DOCTOR_FAIL));
}

static void print_json(const struct doctor_report *rep)
{
	json_t *o = json_object(), *checks = json_array();

	for (size_t i = 0; i < rep->n; i++) {
		const struct doctor_check *c = &rep->checks[i];

		json_array_append_new(checks, json_pack("{s:s, s:s, s:s, s:s, s:s}", "check", c->name,
		                                        "subject", c->subject, "result",
		                                        doctor_level_name(c->level), "evidence",
		                                        c->evidence, "advice", c->advice));
	}
	json_object_set_new(o, "checks", checks);
	json_object_set_new(o, "passed", json_integer((json_int_t)doctor_count(rep, DOCTOR_PASS)));
	json_object_set_new(o, "warned", json_integer((json_int_t)doctor_count(rep, DOCTOR_WARN)));
	json_object_set_new(o, "failed", json_integer((json_int_t)doctor_count(rep, DOCTOR_FAIL)));
	json_dumpf(o, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(o);
}

/* list_add - V appended to LIST (N of them, at most MAX_LIST_ARGS); -1 after a usage error */
static int list_add(const char *opt, const char **list, size_t *n, const char *v)
{
	if (*n == MAX_LIST_ARGS) {
		cli_usage_error("doctor", "at most %d %s", MAX_LIST_ARGS, opt);
		return -1;
	}
	list[(*n)++] = v;
	return 0;
}

int cli_doctor(int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{"probe-domain", required_argument, NULL, OPT_PROBE_DOMAIN},
		{"blocklist", required_argument, NULL, OPT_BLOCKLIST},
		{"whoami", required_argument, NULL, OPT_WHOAMI},
		{"public-address", required_argument, NULL, OPT_PUBLIC_ADDRESS},
		{"json", no_argument, NULL, OPT_JSON},
		{"source", required_argument, NULL, OPT_SOURCE},
		PROBE_LONG_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	const char *domains[MAX_LIST_ARGS], *lists[MAX_LIST_ARGS];
	struct doctor_options o = {0};
	struct doctor_report rep = {0};
	struct sockaddr_storage ss;
	struct run_cli run;
	int c, rc, json = 0;
	char err[256];

	cli_run_defaults(&run);
	o.probe_domains = domains;
	o.blocklists = lists;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h': fputs(doctor_help, stdout); return EXIT_DONE;
		case OPT_PROBE_DOMAIN:
			if (list_add("--probe-domain", domains, &o.nprobe_domains, optarg) < 0)
				return EXIT_USAGE;
			break;
		case OPT_BLOCKLIST:
			if (list_add("--blocklist", lists, &o.nblocklists, optarg) < 0)
				return EXIT_USAGE;
			break;
		case OPT_WHOAMI: o.whoami = optarg; break;
		case OPT_PUBLIC_ADDRESS: o.public_address = optarg; break;
		case OPT_JSON: json = 1; break;
		default:
			rc = cli_run_option("doctor", c, optarg, &run);
			if (rc < 0)
				return EXIT_USAGE;
			if (rc > 0)
				return cli_usage_error("doctor", "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage_error("doctor", "unexpected argument \"%s\"", argv[optind]);
	if (o.public_address && ipaddr_parse(o.public_address, AF_UNSPEC, &ss, NULL) != 0)
		return cli_usage_error("doctor", "--public-address wants an IP address, not \"%s\"",
		                       o.public_address);
	if (cli_probe_finish("doctor", &run.pc, run.from, sizeof run.from) < 0)
		return EXIT_USAGE;
	if (cli_check_sources(&run) < 0)
		return EXIT_FAILURE_;
	o.pc = &run.pc;
	o.sources = run.sources;
	o.nsources = run.nsources;
	if (doctor_run(&o, &rep, err, sizeof err) < 0) {
		fprintf(stderr, "mailsift doctor: %s\n", err);
		return EXIT_FAILURE_;
	}
	if (json)
		print_json(&rep);
	else
		print_text(&rep);
	rc = doctor_count(&rep, DOCTOR_FAIL) ? EXIT_FAILURE_ : EXIT_DONE;
	doctor_report_free(&rep);
	return rc;
}

void cli_doctor_quick(const struct run_cli *run)
{
	struct doctor_options o = {.pc = &run->pc, .sources = run->sources,
	                           .nsources = run->nsources, .quick = 1};
	struct doctor_report rep = {0};
	char err[256];

	if (doctor_run(&o, &rep, err, sizeof err) < 0) {
		fprintf(stderr, "mailsift: warning: doctor: %s\n", err);
		return;
	}
	for (size_t i = 0; i < rep.n; i++) {
		const struct doctor_check *c = &rep.checks[i];

		if (c->level == DOCTOR_FAIL)
			fprintf(stderr, "mailsift: warning: doctor: %s %s%s%s (%s; `mailsift doctor` "
			        "says more, --no-doctor skips this)\n", c->name, c->subject,
			        c->subject[0] ? ": " : "", c->evidence, c->advice);
	}
	doctor_report_free(&rep);
}
