/*
 * stages - the stages the commands share, each reported on stderr and mapped to an exit status
 * (cli.h): open a job store, import lists, run the verification, export.
 */
#ifndef MAILSIFT_CLI_STAGES_H
#define MAILSIFT_CLI_STAGES_H

#include <stdint.h>

#include "cli/options.h"
#include "schema/store.h"

/* cli_open_store - the job store at PATH, or NULL after a message */
struct store *cli_open_store(const char *path, enum store_mode mode);

/* cli_import_all - import each of the N LISTS (COLUMN: --column or NULL), keeping shard SH's
 * rows (NULL or SH->n 0: every row); the ids of the lists
 * read into IDS (*NIDS of them); an exit status */
int cli_import_all(struct store *s, char **lists, int n, const char *column,
                   const struct shard *sh, int quiet, int64_t *ids, int *nids);

/* cli_shard_check_store - every list in S (the store at DB) holds shard SH (nothing to check
 * when SH is the whole list: a run verifies what the store holds); an exit status after a
 * message */
int cli_shard_check_store(struct store *s, const char *db, const struct shard *sh);

/* What a command adds to a run (cli_run_store's HOOKS; NULL: nothing). */
struct cli_run_hooks {
	void (*verdict)(void *ctx, int64_t address_id); /* each final verdict (engine/run.h) */
	void *ctx;
	int temporary;  /* the store goes away with the command: an interrupted run is not
	                 * resumed by running it again (said so on a stop) */
};

/* cli_run_store - verify what is pending in S with RC's options on a loop of its own: the
 * progress line on stderr (unless QUIET), a clean stop on the first SIGINT/SIGTERM; an exit
 * status */
int cli_run_store(struct store *s, const struct run_cli *rc, int quiet,
                  const struct cli_run_hooks *hooks);

/* cli_export_lists - export the lists IDS (NULL: every list) of S (at DB) into OUTDIR, and warn
 * about lists whose input ended early; an exit status */
int cli_export_lists(struct store *s, const char *db, const char *outdir, int gzip, int with_trace,
                     const int64_t *ids, int nids, int quiet);

struct export_opts;
/* cli_export_run - export_run with O (a merge's too), its summary on stderr unless QUIET; an
 * exit status */
int cli_export_run(struct store *s, const struct export_opts *o, int quiet);

#endif
