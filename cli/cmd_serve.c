/*
 * cmd_serve - `mailsift serve --data DIR`: the HTTP API (server/) on an event loop of its own
 * until SIGTERM or SIGINT, with its job store and API keys in DIR. `--add-key NAME` adds a key
 * and exits.
 */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/event.h>

#include "cli/options.h"
#include "cli/signals.h"
#include "cli/stages.h"
#include "exporters/session_log.h"
#include "server/keys.h"
#include "server/server.h"

#define SERVE_DEFAULT_HOST "127.0.0.1"  /* loopback unless told otherwise */
#define SERVE_DEFAULT_PORT 8025
#define SERVE_DEFAULT_RATE 10.0         /* real-time checks a second per key */
#define SERVE_MAX_TIMEOUT 300.0         /* most a real-time check may wait: 5 min */
#define SERVE_IO_TIMEOUT 30.0           /* a client this slow to send a request is cut */
#define SERVE_STOP_POLL 0.2             /* seconds between looks at the stop flag */
#define SERVE_MAX_JOBS 4                /* jobs not finished per key */
#define SERVE_MAX_UPLOAD_GIB 16.0       /* bytes of one job's upload, GiB */

enum { OPT_DATA = 2000, OPT_LISTEN, OPT_ADD_KEY, OPT_RATE, OPT_MAX_JOBS, OPT_MAX_UPLOAD,
       OPT_CALLBACK_PRIVATE, OPT_TLS_CERT, OPT_TLS_KEY };

static const char serve_help[] =
	"Usage: mailsift serve --data DIR [--listen HOST:PORT] [--rate N] [probe options]\n"
	"                      [run options]\n"
	"       mailsift serve --data DIR --add-key NAME\n"
	"Serve the HTTP API (see README, \"HTTP API\") until SIGTERM or Ctrl-C: real-time checks\n"
	"(GET|POST /v1/verify) and bulk jobs (/v1/jobs: upload a list, it is imported, verified\n"
	"and exported) on one scheduler, so per-host limits, pauses and greylist retries hold\n"
	"across every request. DIR holds the job store (mailsift.db), the API keys (keys: a name\n"
	"and a SHA-256 per line) and each job's upload and files (jobs/ID/). The first start makes\n"
	"a key \"default\" and prints it once on stdout. A stop lets open SMTP sessions QUIT and\n"
	"saves what is done; the next start goes on with every job where it was. Exit status: 0\n"
	"stopped, 1 failure, 2 usage error.\n"
	"  --data DIR          the server's folder (made, mode 0700, when missing)\n"
	"  --listen HOST:PORT  where to listen [" SERVE_DEFAULT_HOST ":%d]; port 0: any free port\n"
	"                      (printed); [::1]:PORT for IPv6\n"
	"  --rate N            real-time checks a second per key, more get 429 [%g]\n"
	"  --max-jobs N        jobs not finished per key, more get 429 [%d]\n"
	"  --max-upload GIB    bytes one job's upload may hold, in GiB, more get 413 [%g]\n"
	"  --tls-cert FILE     serve HTTPS with this PEM certificate (chain); needs --tls-key\n"
	"  --tls-key FILE      the certificate's PEM private key\n"
	"  --callback-allow-private  let jobs' callback_url reach loopback and private\n"
	"                      addresses (by default refused: clients must not reach internal\n"
	"                      hosts through the server)\n"
	"  --add-key NAME      add an API key NAME (A-Z a-z 0-9 . _ -), print it, exit; a\n"
	"                      running server accepts it at once\n";

struct serve_cli {
	const char *data;
	char host[256];
	int port;
	double rate;
	double max_jobs;
	double max_upload_gib;
	int callback_allow_private;
	const char *tls_cert, *tls_key;
	const char *add_key;
	struct run_cli run;
};

/* parse_listen - HOST:PORT, [V6]:PORT or PORT into SC; -1 after a usage error */
static int parse_listen(const char *v, struct serve_cli *sc)
{
	const char *colon = strrchr(v, ':');
	double port;

	if (colon == NULL) {
		colon = v - 1;
	} else if (v[0] == '[') {
		const char *close = strchr(v, ']');
		if (close == NULL || close + 1 != colon || close - v - 1 >= (long)sizeof sc->host)
			return cli_usage_error("serve", "--listen: expected [ADDRESS]:PORT, got \"%s\"", v);
		snprintf(sc->host, sizeof sc->host, "%.*s", (int)(close - v - 1), v + 1);
	} else if (colon - v < (long)sizeof sc->host) {
		snprintf(sc->host, sizeof sc->host, "%.*s", (int)(colon - v), v);
	}
	if (cli_parse_number("serve", "--listen", colon + 1, 0, 65535, &port) < 0)
		return -1;
	sc->port = (int)port;
	return 0;
}

/* add_key - a new key NAME in DIR/keys, printed on stdout; an exit status */
static int add_key(struct keys *k, const char *name, const char *path, int first)
{
	char secret[KEYS_SECRET_LEN + 1], err[512];

	if (keys_add(k, name, secret, err, sizeof err) < 0) {
		fprintf(stderr, "mailsift serve: %s\n", err);
		return EXIT_FAILURE_;
	}
	fprintf(stderr, "mailsift serve: %s API key \"%s\", shown this once (%s keeps only its "
	                "hash):\n", first ? "made the first" : "added", name, path);
	printf("%s\n", secret);
	fflush(stdout);
	return EXIT_DONE;
}

struct serve_loop {
	struct event_base *base;
	struct server *srv;
	int failed;
};

static void on_done(void *ctx, const char *err)
{
	struct serve_loop *l = ctx;

	if (err) {
		fprintf(stderr, "mailsift serve: %s\n", err);
		l->failed = 1;
	}
	event_base_loopexit(l->base, NULL);
}

static void stop_watch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct serve_loop *l = arg;

	(void)fd;
	(void)what;
	if (cli_stop_requested) {
		server_stop(l->srv);
		cli_stop_requested = 0;
	}
}

/* serve - listen until stopped; an exit status */
static int serve(struct serve_cli *sc, struct store *s, struct keys *k)
{
	struct run_cli *rc = &sc->run;
	struct run_opts ro = {
		.cfg = &rc->pc,
		.sched = {rc->concurrency, rc->per_host, rc->sources, rc->nsources},
		.max_age_days = rc->max_age,
		.keep_running = 1,
	};
	char db[PATH_MAX];
	struct server_opts so = {sc->host, sc->port, sc->rate, SERVE_MAX_TIMEOUT, SERVE_IO_TIMEOUT,
	                         sc->data, db, (int)sc->max_jobs,
	                         (unsigned long long)(sc->max_upload_gib * 1073741824.0),
	                         sc->tls_cert, sc->tls_key, sc->callback_allow_private, 0,
	                         NULL, rc->session_log};
	struct timeval poll = {0, (suseconds_t)(SERVE_STOP_POLL * 1e6)};
	struct serve_loop l = {0};
	struct event *watch = NULL;
	char err[1024] = "";

	snprintf(db, sizeof db, "%s/mailsift.db", sc->data);
	if (rc->session_log &&
	    (so.session_log = session_log_open(rc->session_log, err, sizeof err)) == NULL) {
		fprintf(stderr, "mailsift serve: %s\n", err);
		return EXIT_FAILURE_;
	}
	cli_signals_catch();
	l.base = event_base_new();
	if (l.base == NULL) {
		fprintf(stderr, "mailsift serve: out of memory\n");
		return EXIT_FAILURE_;
	}
	l.srv = server_new(l.base, s, k, &ro, &so, on_done, &l, err, sizeof err);
	watch = event_new(l.base, -1, EV_PERSIST, stop_watch_cb, &l);
	if (l.srv == NULL || watch == NULL) {
		fprintf(stderr, "mailsift serve: %s\n", err[0] ? err : "out of memory");
		l.failed = 1;
		goto out;
	}
	event_add(watch, &poll);
	fprintf(stderr, "mailsift serve: listening on %s://%s%s%s:%d/ (job store %s/mailsift.db)\n",
	        sc->tls_cert ? "https" : "http", strchr(sc->host, ':') ? "[" : "", sc->host, strchr(sc->host, ':') ? "]" : "",
	        server_port(l.srv), sc->data);
	event_base_dispatch(l.base);
	if (!l.failed)
		fprintf(stderr, "mailsift serve: stopped; what was done is saved\n");
out:
	if (watch)
		event_free(watch);
	server_free(l.srv);
	event_base_free(l.base);
	if (so.session_log && fclose(so.session_log) != 0 && !l.failed) {
		fprintf(stderr, "mailsift serve: session log %s: %s\n", rc->session_log, strerror(errno));
		l.failed = 1;
	}
	return l.failed ? EXIT_FAILURE_ : EXIT_DONE;
}

int cli_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{"data", required_argument, NULL, OPT_DATA},
		{"listen", required_argument, NULL, OPT_LISTEN},
		{"add-key", required_argument, NULL, OPT_ADD_KEY},
		{"rate", required_argument, NULL, OPT_RATE},
		{"max-jobs", required_argument, NULL, OPT_MAX_JOBS},
		{"max-upload", required_argument, NULL, OPT_MAX_UPLOAD},
		{"callback-allow-private", no_argument, NULL, OPT_CALLBACK_PRIVATE},
		{"tls-cert", required_argument, NULL, OPT_TLS_CERT},
		{"tls-key", required_argument, NULL, OPT_TLS_KEY},
		{"help", no_argument, NULL, 'h'},
		PROBE_LONG_OPTIONS,
		RUN_LONG_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	struct serve_cli sc = {.port = SERVE_DEFAULT_PORT, .rate = SERVE_DEFAULT_RATE,
	                       .max_jobs = SERVE_MAX_JOBS, .max_upload_gib = SERVE_MAX_UPLOAD_GIB};
	char path[PATH_MAX], err[512];
	struct keys *k;
	struct store *s;
	int c, rc;

	snprintf(sc.host, sizeof sc.host, "%s", SERVE_DEFAULT_HOST);
	cli_run_defaults(&sc.run);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_DATA: sc.data = optarg; break;
		case OPT_ADD_KEY: sc.add_key = optarg; break;
		case OPT_LISTEN:
			if (parse_listen(optarg, &sc) < 0)
				return EXIT_USAGE;
			break;
		case OPT_RATE:
			if (cli_parse_number("serve", "--rate", optarg, 0.01, 1e6, &sc.rate) < 0)
				return EXIT_USAGE;
			break;
		case OPT_MAX_JOBS:
			if (cli_parse_number("serve", "--max-jobs", optarg, 1, 1e6, &sc.max_jobs) < 0)
				return EXIT_USAGE;
			sc.max_jobs = (double)(long)sc.max_jobs;
			break;
		case OPT_CALLBACK_PRIVATE: sc.callback_allow_private = 1; break;
		case OPT_TLS_CERT: sc.tls_cert = optarg; break;
		case OPT_TLS_KEY: sc.tls_key = optarg; break;
		case OPT_MAX_UPLOAD:
			if (cli_parse_number("serve", "--max-upload", optarg, 1e-6, 1e6,
			                     &sc.max_upload_gib) < 0)
				return EXIT_USAGE;
			break;
		case 'h':
			printf(serve_help, SERVE_DEFAULT_PORT, SERVE_DEFAULT_RATE, SERVE_MAX_JOBS,
			       SERVE_MAX_UPLOAD_GIB);
			printf(cli_run_options_help, DEF_CONCURRENCY, DEF_PER_HOST);
			return EXIT_DONE;
		default:
			rc = cli_run_option("serve", c, optarg, &sc.run);
			if (rc < 0)
				return EXIT_USAGE;
			if (rc > 0)
				return cli_usage_error("serve", "unknown option");
		}
	}
	if (sc.data == NULL)
		return cli_usage_error("serve", "--data DIR is required");
	if (optind < argc)
		return cli_usage_error("serve", "unexpected argument \"%s\"", argv[optind]);
	if ((sc.tls_cert == NULL) != (sc.tls_key == NULL))
		return cli_usage_error("serve", "--tls-cert and --tls-key go together");
	if (mkdir(sc.data, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "mailsift serve: cannot make %s: %s\n", sc.data, strerror(errno));
		return EXIT_FAILURE_;
	}
	snprintf(path, sizeof path, "%s/keys", sc.data);
	k = keys_open(path, err, sizeof err);
	if (k == NULL) {
		fprintf(stderr, "mailsift serve: %s\n", err);
		return EXIT_FAILURE_;
	}
	if (sc.add_key) {
		rc = add_key(k, sc.add_key, path, 0);
		keys_free(k);
		return rc;
	}
	if (cli_probe_finish("serve", &sc.run.pc, sc.run.from, sizeof sc.run.from) < 0 ||
	    cli_check_sources(&sc.run) < 0) {
		keys_free(k);
		return EXIT_USAGE;
	}
	if (keys_count(k) == 0 && add_key(k, "default", path, 1) != EXIT_DONE) {
		keys_free(k);
		return EXIT_FAILURE_;
	}
	if (!sc.run.no_doctor)
		cli_doctor_quick(&sc.run);
	snprintf(path, sizeof path, "%s/mailsift.db", sc.data);
	s = cli_open_store(path, STORE_WRITE);
	if (s == NULL) {
		keys_free(k);
		return EXIT_FAILURE_;
	}
	rc = serve(&sc, s, k);
	store_close(s);
	keys_free(k);
	return rc;
}
