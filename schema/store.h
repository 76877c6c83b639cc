/*
 * store - the SQLite job store: the single source of truth shared by every stage.
 *
 * Owns the database connection, the schema migrations (PRAGMA user_version) and every SQL
 * statement of mailsift: nobody else speaks SQL. Statements are prepared once and kept. Writers
 * batch their work in transactions (store_begin / store_commit); the database runs in WAL mode
 * with synchronous=NORMAL, so a crash loses at most the open batch and never corrupts the store.
 * One writing process per store at a time: store_open with STORE_WRITE takes an exclusive
 * advisory lock (flock) and fails with a clear message when another process holds it.
 */
#ifndef MAILSIFT_STORE_H
#define MAILSIFT_STORE_H

#include <stddef.h>
#include <stdint.h>

struct store;

enum store_mode {
	STORE_READ = 0,   /* read only; the store must exist */
	STORE_WRITE = 1,  /* read-write, locked; created when missing */
};

/* store_open - open (and migrate) the job store at PATH; NULL with err filled on failure */
struct store *store_open(const char *path, enum store_mode mode, char *err, size_t errlen);
void store_close(struct store *s);

/* store_begin / store_commit - one batch of writes; 0 ok, -1 with err */
int store_begin(struct store *s, char *err, size_t errlen);
int store_commit(struct store *s, char *err, size_t errlen);
int store_in_transaction(const struct store *s);

/* store_rollback - drop the open batch (after an error); a no-op outside a batch */
void store_rollback(struct store *s);

/* store_errmsg - SQLite's last message for this connection */
const char *store_errmsg(const struct store *s);

/* ---- lists ---- */

struct store_list {
	int64_t id;
	char *name;            /* path as given */
	char *identity;        /* realpath:size:mtime */
	int done;              /* import finished (state 'done') */
	int has_header;
	char *header;          /* canonical CSV of the header record, or NULL */
	size_t header_len;
	int email_col;         /* -1: none */
	char delimiter[2];     /* "" for plain lists */
	int gzip;
	int64_t rows;          /* data rows committed */
	int64_t max_fields;    /* widest record, header included */
	int64_t blank_lines;
	char *input_error;     /* NULL or why reading stopped early */
	int64_t started_at, finished_at;
	double import_secs;
};

/* store_list_free - free the strings of L (not L itself) */
void store_list_free(struct store_list *l);

/* store_list_by_identity - 1 found (L filled), 0 not found, -1 error */
int store_list_by_identity(struct store *s, const char *identity, struct store_list *l);

/* store_list_create - a new list in state 'importing'; returns its id or -1 */
int64_t store_list_create(struct store *s, const char *name, const char *identity, int64_t now);

/* store_list_set_layout - header, email column, delimiter and compression, found at import */
int store_list_set_layout(struct store *s, const struct store_list *l);

/* store_list_progress - rows committed so far, widest record, blank lines (inside the batch) */
int store_list_progress(struct store *s, int64_t list_id, int64_t rows, int64_t max_fields,
                        int64_t blank_lines);

/* store_list_finish - mark done, add SECS to the import time, keep INPUT_ERROR (may be NULL) */
int store_list_finish(struct store *s, int64_t list_id, int64_t now, double secs,
                      const char *input_error);

/* store_list_add_secs - add time spent on an interrupted import */
int store_list_add_secs(struct store *s, int64_t list_id, double secs);

/* store_list_fix_dups - recompute the duplicate marks of one list from its rows (after a
 * resumed import, when a later list may have moved the per-address dedupe marks) */
int store_list_fix_dups(struct store *s, int64_t list_id);

/* store_lists - every list in id order; *out is malloc'd, free with store_lists_free */
int store_lists(struct store *s, struct store_list **out, size_t *n);
void store_lists_free(struct store_list *v, size_t n);

/* ---- rows and addresses (import) ---- */

struct store_addr_in {
	const char *key;        /* dedupe key */
	const char *address;    /* normalized address (or the raw cell for a syntax error) */
	const char *domain;     /* NULL when the syntax is invalid */
	unsigned flags;
	const char *suggestion; /* NULL when none */
	const char *status;     /* a verdict known at import (invalid/syntax), else NULL */
	const char *reason;
	const char *detail;
};

struct store_row_in {
	int64_t list_id;
	int64_t row_no;
	int64_t line;
	const char *record;     /* canonical CSV of the fields, NULL when too long */
	size_t record_len;
	const char *problem;    /* no_address | row_too_long | NULL */
	const struct store_addr_in *addr; /* NULL: the row holds no address */
};

/* store_row_add - insert one row and its address (deduplicated); 0 ok, -1 error */
int store_row_add(struct store *s, const struct store_row_in *row);

/* store_problem_add - remember what was wrong with LIST's input at LINE */
int store_problem_add(struct store *s, int64_t list_id, int64_t line, const char *kind,
                      const char *message);

/* ---- export ---- */

struct store_row_out {
	int64_t row_no, line;
	const char *record;     /* canonical CSV, or NULL */
	size_t record_len;
	const char *problem;
	int64_t dup_of;         /* 0: not a duplicate */
	int has_address;
	const char *address, *status, *reason, *detail, *enhanced_code, *smtp_message, *mx_host;
	const char *suggestion;
	int64_t smtp_code;      /* 0: none */
	unsigned flags;
	int64_t checked_at;     /* 0: never */
};

/* store_rows_each - call FN for every row of LIST in input order; FN returns 0 to go on.
 * The pointers in the row are valid only during the call. */
int store_rows_each(struct store *s, int64_t list_id,
                    int (*fn)(void *ctx, const struct store_row_out *row), void *ctx);

struct store_problem_count {
	char kind[32];
	int64_t count;
	int64_t first_line;
};

/* store_problem_counts - per kind for LIST; *out malloc'd */
int store_problem_counts(struct store *s, int64_t list_id, struct store_problem_count **out,
                         size_t *n);

/* ---- status ---- */

struct store_counts {
	int64_t addresses;       /* distinct addresses */
	int64_t pending, in_flight, done;
	int64_t by_status[8];    /* index: enum verdict_status; not-yet-verified are not counted */
	int64_t rows;            /* data rows in every list */
	int64_t rows_without_address;
	int64_t duplicate_rows;
};

int store_counts(struct store *s, struct store_counts *c);

#endif
