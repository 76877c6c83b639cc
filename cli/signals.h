/*
 * signals - how every command stops on SIGINT or SIGTERM, in one place: the first signal asks
 * for a clean stop (the command saves what it did and exits EXIT_INTERRUPTED; rerunning it
 * resumes), a second one kills at once (the job store stays consistent: WAL). Commands without
 * an event loop read the flag between batches; a run's loop polls it (cli/stages.c) and asks
 * the run to stop.
 */
#ifndef MAILSIFT_CLI_SIGNALS_H
#define MAILSIFT_CLI_SIGNALS_H

#include <signal.h>

/* set by the first SIGINT or SIGTERM once cli_signals_catch ran */
extern volatile sig_atomic_t cli_stop_requested;

/* cli_signals_catch - from now on the first SIGINT/SIGTERM sets cli_stop_requested, the
 * second one kills */
void cli_signals_catch(void);

#endif
