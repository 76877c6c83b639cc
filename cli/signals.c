/*
 * signals - SIGINT and SIGTERM for every command (see signals.h).
 */
#include "cli/signals.h"

#include <string.h>

volatile sig_atomic_t cli_stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	cli_stop_requested = 1;
}

void cli_signals_catch(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND; /* the second signal gets the default action: exit */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}
