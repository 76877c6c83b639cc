/*
 * cli - the mailsift commands (DESIGN.md "Command line"), one file each (cli/cmd_*.c): each
 * parses its own options, drives the stages (cli/stages.h) through their modules and maps the
 * outcome to an exit status. cli/ is the only folder (with server/) that uses importers/,
 * engine/ and exporters/ together.
 */
#ifndef MAILSIFT_CLI_H
#define MAILSIFT_CLI_H

#include <stdio.h>

/* Exit statuses (documented in README and --help). */
#define EXIT_DONE 0         /* the command did all it was asked */
#define EXIT_FAILURE_ 1     /* it failed, or the input was damaged (what could be read is kept) */
#define EXIT_USAGE 2        /* bad command line */
#define EXIT_INTERRUPTED 3  /* stopped by a signal; rerun the same command to resume */
#define EXIT_SMTP_BLOCKED 4 /* outbound SMTP looks blocked here: no host took a connection (a
                             * batch system fails this task instead of retrying it here) */

#define CLEAN_DB_NAME "mailsift.db" /* job store of `clean` when --db is not given */
#define MAX_LISTS 1024              /* LIST arguments in one command */

int cli_import(int argc, char **argv);
int cli_export(int argc, char **argv);
int cli_status(int argc, char **argv);
int cli_clean(int argc, char **argv);
int cli_verify(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_doctor(int argc, char **argv);
int cli_merge(int argc, char **argv);
int cli_explain(int argc, char **argv);

struct run_cli;
/* cli_doctor_quick - the quick checks of `doctor` (outbound SMTP, blocklists) with RUN's
 * settings; a warning line on stderr for each that fails (cli/cmd_doctor.c) */
void cli_doctor_quick(const struct run_cli *run);

/* cli_usage - the top-level help on OUT */
void cli_usage(FILE *out);

#endif
