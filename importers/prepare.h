/*
 * prepare - the import's reader thread: CSV records ─► rows ready for the store (the record
 * re-encoded as canonical CSV, the address checked and normalized), handed over in batches.
 *
 * Parsing, decompression and address checks run on one core while the store's writes run on
 * the other. Memory is bounded: PREPARE_BATCHES batches in flight, each at most
 * PREPARE_BATCH_ROWS rows and about PREPARE_BATCH_BYTES of text (one record may exceed that by
 * its own size, itself bounded by the CSV reader's max_record). The thread owns the CSV reader
 * and the checker while it runs; it never touches the store.
 */
#ifndef MAILSIFT_PREPARE_H
#define MAILSIFT_PREPARE_H

#include <stddef.h>
#include <stdint.h>

#include "importers/check.h"
#include "importers/csv.h"

#define PREPARE_BATCH_ROWS 2048            /* rows per batch */
#define PREPARE_BATCH_BYTES (1024 * 1024)  /* text per batch before it is handed over */
#define PREPARE_BATCHES 4                  /* batches in flight (bounds memory and lead) */
#define PREPARE_NONE ((size_t)-1)          /* arena offset of an absent string */

enum prow_kind {
	PROW_BLANK,        /* an empty line: not a row */
	PROW_SKIPPED,      /* committed by an earlier run: counted, not prepared */
	PROW_TOO_LONG,     /* longer than max_record: not kept */
	PROW_NO_ADDRESS,   /* no address cell, or an empty one */
	PROW_ADDRESS,      /* a valid address */
	PROW_SYNTAX        /* an address cell with bad syntax */
};

/* One prepared record; strings are offsets into its batch's arena. */
struct prow {
	enum prow_kind kind;
	int64_t row_no;        /* data row number (0 for a blank line) */
	uint64_t line;         /* physical line where the record starts */
	unsigned csv_flags;    /* enum csv_flag */
	size_t nfields;
	size_t record, record_len;               /* canonical CSV of the fields */
	size_t key, address, domain, suggestion; /* PREPARE_NONE when absent */
	unsigned addr_flags;   /* FLAG_ROLE | FLAG_DISPOSABLE | FLAG_FREE */
	const char *detail;    /* static text: the syntax problem */
};

struct pbatch {
	struct prow row[PREPARE_BATCH_ROWS];
	size_t n;
	char *arena;           /* NUL-terminated strings, grown as needed */
	size_t used, cap;
	int end;               /* 0 more follow; 1 input ended; -1 input error (err) */
	uint64_t raw_offset;   /* input bytes consumed when the batch was full (for progress) */
	uint64_t raw_hashed;   /* raw input bytes read when the batch was full: they hold its rows */
	unsigned char digest[INSTREAM_DIGEST_LEN]; /* their SHA-256 */
	int prefix;            /* instream_prefix_state then */
	char err[512];
};

/* Row numbering shared by the sample (prepared in the caller's thread) and the thread. */
struct prepare_state {
	struct check *check;
	int email_col;         /* -1: none */
	int64_t row_no;        /* data rows numbered so far */
	int64_t skip;          /* rows an earlier run committed */
	struct instream *in;   /* the stream under the CSV reader (progress, digest), or NULL */
};

/* prepare_record - one record into B (the caller's thread; used for the sampled records) */
void prepare_record(struct prepare_state *st, struct pbatch *b, size_t nfields,
                    const char *const *field, const size_t *len, uint64_t line, unsigned flags);

/* prepare_batch_new / prepare_batch_reset / prepare_batch_free - one batch */
struct pbatch *prepare_batch_new(void);
void prepare_batch_reset(struct pbatch *b);
void prepare_batch_free(struct pbatch *b);

/* prepare_str - the string at OFF in B's arena, or NULL for PREPARE_NONE */
const char *prepare_str(const struct pbatch *b, size_t off);

struct prepare;

/* prepare_start - a thread reading CSV from its current position, with ST's numbering (the
 * state is the thread's until prepare_stop); NULL when it cannot start */
struct prepare *prepare_start(struct csv_reader *csv, struct prepare_state *st);

/* prepare_next - the next full batch, in order; the last one has end != 0. With WAIT it waits
 * for it, else NULL when none is ready yet. */
struct pbatch *prepare_next(struct prepare *p, int wait);

/* prepare_release - give a batch back to the thread */
void prepare_release(struct prepare *p, struct pbatch *b);

/* prepare_stop - stop the thread (at its next batch), wait for it and free everything */
void prepare_stop(struct prepare *p);

#endif
