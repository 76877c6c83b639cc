/*
 * rowpipe - an export's rows handed from the thread that reads them from the job store (the
 * caller's: SQLite) to a thread that writes them (builds the lines, fills the files, counts),
 * in order, in batches: on two cores the reading and the writing run side by side.
 *
 * Memory is bounded: ROWPIPE_BATCHES batches, each at most ROWPIPE_BATCH_ROWS rows and about
 * ROWPIPE_BATCH_BYTES of copied text (a batch holding one bigger row is as big as that row,
 * itself bounded by the importer's longest record). The writing thread owns what the row
 * function touches until rowpipe_finish.
 */
#ifndef MAILSIFT_ROWPIPE_H
#define MAILSIFT_ROWPIPE_H

#include "schema/store.h"

#define ROWPIPE_BATCH_ROWS 1024
#define ROWPIPE_BATCH_BYTES (512 * 1024)
#define ROWPIPE_BATCHES 3 /* one being filled, two written or waiting */

typedef int (*rowpipe_fn)(void *ctx, const struct store_row_out *row);

struct rowpipe;

/* rowpipe_start - a pipe to FN(CTX, row) on a thread of its own; with THREADED 0 (FN reads
 * the caller's connection, say) or when no thread can start, rowpipe_put calls FN itself */
struct rowpipe *rowpipe_start(rowpipe_fn fn, void *ctx, int threaded);

/* rowpipe_put - ROW (copied: its pointers may go as soon as this returns) on its way to FN;
 * 0, or -1 once FN has returned -1 (the rows put after that are dropped). PIPE is a struct
 * rowpipe: the signature is store_rows_each's. */
int rowpipe_put(void *pipe, const struct store_row_out *row);

/* rowpipe_finish - wait until FN has had every row put (or failed), stop the thread, free the
 * pipe; 0, or -1 when FN returned -1 */
int rowpipe_finish(struct rowpipe *p);

#endif
