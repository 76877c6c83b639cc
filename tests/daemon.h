/*
 * daemon.h - a server of the loopback mail world (tests/world: smtpd, dnsd) as the child of a
 * unit test that talks to it (test_smtp, test_dns).
 *
 * The test describes its server in a struct daemon (which binary, its config file, its argv,
 * TCP or UDP) and calls daemon_start: the config goes into the test's temp dir (tmpdir.h, under
 * $TMPDIR, else /tmp), the server (MAILSIFT_BUILD/tests/world/NAME, else build/tests/world/NAME)
 * starts on a free port of 127.0.0.1, and daemon_start returns once the server wrote its
 * pidfile. A server that exits before that (its port was taken meanwhile) is started again on
 * another port. At exit the server is killed and the temp dir removed; a test that crashes
 * takes its server with it (PR_SET_PDEATHSIG). One server a test program: the exit hooks know
 * only one.
 */
#ifndef MAILSIFT_DAEMON_H
#define MAILSIFT_DAEMON_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/tmpdir.h"

#define DAEMON_START_TRIES 5          /* ports tried before giving up on starting the server */
#define DAEMON_START_WAIT_MS 5000     /* time the server gets to write its pidfile */

struct daemon {
	/* set by the test */
	const char *name;             /* the binary in tests/world, e.g. "smtpd" */
	const char *tmp_prefix;       /* tmpdir's name before ".XXXXXX", e.g. "test_smtp" */
	int sock_type;                /* SOCK_STREAM or SOCK_DGRAM: what it listens on */
	const char *conf_name;        /* its config file in the temp dir */
	void (*conf_write)(FILE *f);  /* writes that config */
	/* in the child: execs BIN with the server's argv (port, conf_path, log_path, pid_path);
	 * returns only when exec failed */
	void (*exec)(const char *bin, const struct daemon *srv);

	/* set by daemon_start; the files are in tmpdir */
	char conf_path[600], log_path[600], pid_path[600];
	pid_t pid;                    /* 0: not running */
	int port;
};

static struct daemon *daemon_started;   /* the server the exit hooks clean up after */

static __attribute__((unused)) void daemon_kill(void)
{
	if (daemon_started->pid > 0) {
		kill(daemon_started->pid, SIGKILL);
		waitpid(daemon_started->pid, NULL, 0);
		daemon_started->pid = 0;
	}
}

/* now - seconds on CLOCK_MONOTONIC */
static __attribute__((unused)) double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* daemon_free_port - a port of SOCK_TYPE (SOCK_STREAM, SOCK_DGRAM) on 127.0.0.1 nobody had a
 * moment ago */
static __attribute__((unused)) int daemon_free_port(int sock_type)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	int fd = socket(AF_INET, sock_type, 0), port = -1;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* daemon_start - start SRV on a free port; 0 when it is ready (its pidfile exists) */
static __attribute__((unused)) int daemon_start(struct daemon *srv)
{
	const char *b = getenv("MAILSIFT_BUILD");
	char bin[1024];
	FILE *f;

	snprintf(bin, sizeof bin, "%s/tests/world/%s", b && *b ? b : "build", srv->name);
	if (access(bin, X_OK) != 0) {
		printf("  %s: %s (make builds it)\n", bin, strerror(errno));
		return -1;
	}
	if (tmpdir_make(srv->tmp_prefix) != 0)
		return -1;
	daemon_started = srv;
	/* exit hooks run last-registered first: the server dies before tmpdir_remove empties its
	 * directory, so it cannot write its log there again meanwhile */
	atexit(daemon_kill);
	snprintf(srv->conf_path, sizeof srv->conf_path, "%s/%s", tmpdir, srv->conf_name);
	snprintf(srv->log_path, sizeof srv->log_path, "%s/log", tmpdir);
	snprintf(srv->pid_path, sizeof srv->pid_path, "%s/pid", tmpdir);
	if ((f = fopen(srv->conf_path, "w")) == NULL)
		return -1;
	srv->conf_write(f);
	fclose(f);
	for (int attempt = 0; attempt < DAEMON_START_TRIES; attempt++) {
		pid_t pid;
		int status;
		double until;

		srv->port = daemon_free_port(srv->sock_type);
		unlink(srv->pid_path);
		fflush(stdout);
		if ((pid = fork()) < 0)
			return -1;
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);  /* a crashed test leaves no server behind */
			srv->exec(bin, srv);
			_exit(127);
		}
		until = now() + DAEMON_START_WAIT_MS / 1000.0;
		while (now() < until) {
			if (access(srv->pid_path, F_OK) == 0) {
				srv->pid = pid;
				return 0;
			}
			if (waitpid(pid, &status, WNOHANG) == pid)
				break;      /* port taken meanwhile: try another */
			usleep(10000);
		}
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return -1;
}

/* daemon_stop - SIGTERM to SRV, then its wait status; -1 when it was not running */
static __attribute__((unused)) int daemon_stop(struct daemon *srv)
{
	int status = -1;

	if (srv->pid > 0) {
		kill(srv->pid, SIGTERM);
		waitpid(srv->pid, &status, 0);
		srv->pid = 0;
	}
	return status;
}

/* daemon_dnsd_exec - tests/world/dnsd with SRV's address, zone, pidfile and log (in the child):
 * the .exec of a struct daemon whose conf_write writes a dnsd zone */
static __attribute__((unused)) void daemon_dnsd_exec(const char *bin, const struct daemon *srv)
{
	char listen[64];

	snprintf(listen, sizeof listen, "127.0.0.1:%d", srv->port);
	execl(bin, "dnsd", "--listen", listen, "--zone", srv->conf_path, "--pidfile", srv->pid_path,
	      "--log", srv->log_path, (char *)NULL);
}

#endif
