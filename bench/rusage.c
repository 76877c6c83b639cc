/*
 * rusage - run a command and report its wall time, CPU time and peak memory (bench/run.sh).
 *
 * Usage: bench-rusage OUTFILE COMMAND [ARG...]
 *
 * Runs COMMAND (stdin, stdout and stderr inherited), waits for it with wait4() and writes one
 * line to OUTFILE: "WALL_S USER_S SYS_S MAXRSS_KIB STATUS", where STATUS is the exit code, or
 * 128 + the signal number when the command was killed (as the shell reports it). The peak
 * resident set comes from the kernel (ru_maxrss), so no polling and no sampling error. Exits
 * with the command's STATUS; 127 when it cannot be started, 125 on a wrapper error.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double tv_seconds(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct rusage ru;
	FILE *out;
	pid_t pid;
	int status, code;

	if (argc < 3) {
		fprintf(stderr, "usage: bench-rusage OUTFILE COMMAND [ARG...]\n");
		return 125;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "bench-rusage: fork: %s\n", strerror(errno));
		return 125;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "bench-rusage: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "bench-rusage: wait4: %s\n", strerror(errno));
			return 125;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	out = fopen(argv[1], "w");
	if (out == NULL) {
		fprintf(stderr, "bench-rusage: %s: %s\n", argv[1], strerror(errno));
		return 125;
	}
	fprintf(out, "%.3f %.3f %.3f %ld %d\n",
	        (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	        tv_seconds(&ru.ru_utime), tv_seconds(&ru.ru_stime), ru.ru_maxrss, code);
	if (fclose(out) != 0) {
		fprintf(stderr, "bench-rusage: %s: %s\n", argv[1], strerror(errno));
		return 125;
	}
	return code;
}
