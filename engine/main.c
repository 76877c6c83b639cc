/*
 * main - the mailsift entry point: picks the command and hands over to cli.
 */
#include <stdio.h>
#include <string.h>

#include "engine/cli.h"

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
		printf("mailsift %s\n", MAILSIFT_VERSION);
		return EXIT_DONE;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "mailsift: unknown command \"%s\"\n\n", argv[1]);
	cli_usage(stderr);
	return EXIT_USAGE;
}
