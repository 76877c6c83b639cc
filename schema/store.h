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

#include "schema/verdict.h"

struct store;

enum store_mode {
	STORE_READ = 0,   /* read only; the store must exist */
	STORE_WRITE = 1,  /* read-write, locked; created when missing */
};

/* SQLite's application id of a job store (PRAGMA application_id, "MLSF"): set when a store is
 * created (or first opened for writing by this mailsift, for an older store that has our tables
 * and no id); any other SQLite file is refused before anything is written to it. */
#define STORE_APPLICATION_ID 0x4d4c5346

/* store_open - open (and migrate) the job store at PATH; NULL with err filled on failure */
struct store *store_open(const char *path, enum store_mode mode, char *err, size_t errlen);
void store_close(struct store *s);

/* store_set_cache - this connection's page cache, KIB kibibytes (STORE_CACHE_KIB when opened):
 * a reader holding many stores open at once (merge) gives each a share of one budget */
int store_set_cache(struct store *s, int kib);
#define STORE_CACHE_KIB 32768 /* page cache of one connection */

/* store_begin / store_commit - one batch of writes; 0 ok, -1 with err */
int store_begin(struct store *s, char *err, size_t errlen);
int store_commit(struct store *s, char *err, size_t errlen);

/* store_savepoint / store_savepoint_end - a part of the open transaction that stays whole:
 * kept (KEEP) or undone alone */
int store_savepoint(struct store *s, char *err, size_t errlen);
int store_savepoint_end(struct store *s, int keep, char *err, size_t errlen);
int store_in_transaction(const struct store *s);

/* store_rollback - drop the open batch (after an error); a no-op outside a batch */
void store_rollback(struct store *s);

/* store_errmsg - SQLite's last message for this connection */
const char *store_errmsg(const struct store *s);

/* ---- lists ---- */

struct store_list {
	int64_t id;
	char *name;            /* path as given */
	char *identity;        /* file:realpath:size:mtime[:sha256:HEX once done] or stream:... */
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
	int64_t raw_bytes;     /* input bytes (as read: compressed for gzip) raw_sha256 covers */
	char *raw_sha256;      /* hex SHA-256 of them, or NULL (imported before migration 004) */
};

/* store_list_free - free the strings of L (not L itself) */
void store_list_free(struct store_list *l);

/* store_list_by_identity - 1 found (L filled), 0 not found, -1 error */
int store_list_by_identity(struct store *s, const char *identity, struct store_list *l);

/* store_list_set_shard - list LIST_ID holds only shard K of N of its input (common/shard.h) */
int store_list_set_shard(struct store *s, int64_t list_id, int k, int n);

/* store_list_shard - the shard list LIST_ID holds: *K of *N, *N 0 for the whole list (also in
 * a store from before shards, opened read-only); 0, or -1 on error */
int store_list_shard(struct store *s, int64_t list_id, int *k, int *n);

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

/* store_list_set_digest - the input's first RAW_BYTES bytes hash to SHA256_HEX (inside the
 * batch that commits the rows read from them) */
int store_list_set_digest(struct store *s, int64_t list_id, int64_t raw_bytes,
                          const char *sha256_hex);

/* store_list_set_identity - a finished list's identity (with its content hash) */
int store_list_set_identity(struct store *s, int64_t list_id, const char *identity);

/* store_list_drop - remove list LIST_ID, its rows and problems, in one transaction of its own
 * (a stream imported twice: the second copy goes); 0, or -1 with err */
int store_list_drop(struct store *s, int64_t list_id, char *err, size_t errlen);

/* store_lists_by_prefix - the lists whose identity starts with PREFIX, newest first; *out is
 * malloc'd, free with store_lists_free */
int store_lists_by_prefix(struct store *s, const char *prefix, struct store_list **out,
                          size_t *n);

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
	const char *detail;     /* the export's detail for a row without address, or NULL */
	const struct store_addr_in *addr; /* NULL: the row holds no address */
};

/* store_row_add - insert one row and its address (deduplicated); 0 ok, -1 error */
int store_row_add(struct store *s, const struct store_row_in *row);

/* store_bulk_begin - make the import of list LIST_ID a bulk import when the store holds nothing
 * else (no other list, no address given alone): the dedupe index is dropped, rows' addresses
 * are deduplicated through a Bloom filter of FILTER_BYTES (STORE_BULK_FILTER_BYTES) and
 * settled by store_bulk_finish. 1 bulk, 0 not possible here (rows go in
 * one by one through the index, as before), -1 with err. */
#define STORE_BULK_FILTER_BYTES (24u << 20) /* 5.0% "maybe" at 32M distinct addresses */
int store_bulk_begin(struct store *s, int64_t list_id, size_t filter_bytes, char *err,
                     size_t errlen);

/* store_bulk_finish - end a bulk import: build the dedupe index (sorted, once) and give the
 * rows set aside their address and duplicate mark (in row_links, migration 012); in the open
 * transaction, else in one of its own. Also settles a bulk import cut short (store_open does). 0, or -1 with err. */
int store_bulk_finish(struct store *s, char *err, size_t errlen);

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
	int64_t address_id;     /* 0: the row holds no address */
	const char *domain;     /* NULL for a syntax error */
	int tls;                /* the deciding session used STARTTLS */
	int attempts;           /* sessions that tried the address */
	const char *prev_status; /* the verdict this one replaced (migration 007), or NULL */
	int64_t prev_checked_at; /* when that one was made; 0: none */
};

/* store_rows_each - call FN for every row of LIST in input order; FN returns 0 to go on.
 * The pointers in the row are valid only during the call. */
int store_rows_each(struct store *s, int64_t list_id,
                    int (*fn)(void *ctx, const struct store_row_out *row), void *ctx);

/* A reading of LIST's rows in input order, row by row (a merge of shards reads several stores
 * side by side): store_rows_start, then store_rows_next until it returns 0 (the end: the
 * reading is over) or -1 (an error); store_rows_stop ends it before. One reading per store at
 * a time (store_rows_each is one); the pointers in R are valid until the next call. */
void store_rows_start(struct store *s, int64_t list_id);
int store_rows_next(struct store *s, struct store_row_out *r);
void store_rows_stop(struct store *s);

struct store_problem_count {
	char kind[32];
	int64_t count;
	int64_t first_line;
};

/* store_problem_counts - per kind for LIST; *out malloc'd */
int store_problem_counts(struct store *s, int64_t list_id, struct store_problem_count **out,
                         size_t *n);

/* ---- runs (the scheduler) ---- */

/* An address's state (addresses.state, stored as these numbers: never renumber). An address
 * is pending until a run claims it, in flight while probed, done with a verdict; a retry or a
 * crashed run's restart makes it pending again. */
enum store_addr_state {
	STORE_ADDR_PENDING = 0,   /* waiting for a probe (due now or at next_attempt_at) */
	STORE_ADDR_IN_FLIGHT = 1, /* claimed by a run, being probed */
	STORE_ADDR_DONE = 2,      /* verdict stored (at import for syntax verdicts) */
};

/* store_stale_before - the STALE_BEFORE of a maximum age of MAX_AGE_DAYS at NOW: the verdicts
 * checked before it are probed again. Negative (not given): 0, none; 0: INT64_MAX, every
 * verdict, also one made this very second; else NOW less that many days. */
int64_t store_stale_before(double max_age_days, int64_t now);

/* store_run_begin - a new run: in-flight addresses of a crashed run become pending again, and
 * with STALE_BEFORE > 0 verdicts checked before it (never the importer's syntax verdicts) are
 * probed again, their transcripts dropped, and the domains' DNS and catch-all answers learned
 * before it are forgotten (a verdict probed again must not be decided by what a domain said
 * before); returns the run id or -1 */
int64_t store_run_begin(struct store *s, int64_t now, int64_t stale_before);

/* store_run_end - record how the run ended and its statistics (JSON) */
int store_run_end(struct store *s, int64_t run_id, int64_t now, const char *outcome,
                  const char *stats_json);

/* store_last_run_stats - the newest run's statistics JSON (malloc'd) or NULL */
char *store_last_run_stats(struct store *s);

struct store_pending {
	int64_t id;
	const char *address;     /* normalized */
	const char *domain;
	unsigned flags;
	int attempts;            /* sessions that already tried it */
	const char *source;      /* source address of its first attempt, or NULL */
};

/* store_claim - up to MAX pending addresses due at NOW with id > AFTER, in id order; FN gets
 * each (pointers valid during the call; FN must not write the store: mark them afterwards with
 * store_mark_in_flight). Returns the count, -1 on error. */
int store_claim(struct store *s, int64_t after, int64_t now, int max,
                void (*fn)(void *ctx, const struct store_pending *p), void *ctx);

/* store_claim_due - up to MAX addresses waiting for a retry that is due at NOW (next_attempt_at
 * in 1..NOW), earliest first, through the retry index: claimed while the scan of the store is
 * still under way, so a retry leaves when due. FN as for store_claim. Returns the count, -1 on
 * error. */
int store_claim_due(struct store *s, int64_t now, int max,
                    void (*fn)(void *ctx, const struct store_pending *p), void *ctx);

/* store_claim_one - address ID when it is pending and due at NOW (FN as for store_claim); the
 * count (0 or 1), -1 on error */
int store_claim_one(struct store *s, int64_t id, int64_t now,
                    void (*fn)(void *ctx, const struct store_pending *p), void *ctx);

/* store_mark_in_flight - address ID is being probed (a crash makes it pending again) */
int store_mark_in_flight(struct store *s, int64_t id);

/* ---- addresses given alone (an API's real-time checks) ---- */

/* store_addr_add - address A, deduplicated as rows' addresses are, but in no list: its id (an
 * address already stored keeps its id, state and verdict), -1 on error */
int64_t store_addr_add(struct store *s, const struct store_addr_in *a);

/* store_addr_refresh - address ID's verdict, if a probe gave it before STALE_BEFORE, is
 * dropped (its transcript too): the address is pending again. 1 when it was, 0 not, -1 on
 * error */
int store_addr_refresh(struct store *s, int64_t id, int64_t stale_before);

struct store_addr_out {
	struct store_row_out v;       /* the address's fields (no row: row_no, record... are 0) */
	enum store_addr_state state;
	int64_t next_attempt_at;      /* > 0: a retry is due then (unix seconds) */
};

/* store_addr_read - address ID to FN (pointers valid during the call); 1 found, 0 none, -1
 * error (or FN returned < 0) */
int store_addr_read(struct store *s, int64_t id,
                    int (*fn)(void *ctx, const struct store_addr_out *a), void *ctx);

struct store_pending_stats {
	int64_t due;              /* pending and due now */
	int64_t waiting;          /* pending, due later (retries) */
	int64_t next_due;         /* earliest next_attempt_at among the waiting, 0 if none */
	int64_t done;             /* with a final verdict */
};

int store_pending_stats(struct store *s, int64_t now, struct store_pending_stats *st);

/* store_retry_waiting - the addresses waiting for a retry due after NOW: how many, and when the
 * first and the last are due (0 when none). Reads an index only: cheap for a progress line. */
int store_retry_waiting(struct store *s, int64_t now, int64_t *count, int64_t *first,
                        int64_t *last);

struct store_verdict {
	const char *status, *reason, *detail;
	int smtp_code;            /* 0: none */
	const char *enhanced_code, *smtp_message, *mx_host;
	int tls;
	int attempts;
	unsigned add_flags;       /* flags learned while probing (FLAG_CATCH_ALL) */
	const char *source;       /* source address used */
	int64_t checked_at;
};

/* Previous verdicts kept per address (table verdict_history): enough to see a mailbox come and
 * go over a few re-verifications, and a bounded cost however often a store is re-verified. */
#define STORE_HISTORY_KEEP 4

/* store_verdict_save - a final verdict for address ID; the verdict it replaces, if any, goes to
 * the address's history (the newest STORE_HISTORY_KEEP kept) */
int store_verdict_save(struct store *s, int64_t id, const struct store_verdict *v);

/* store_retry_save - address ID tried ATTEMPTS times; try again at AT from SOURCE */
int store_retry_save(struct store *s, int64_t id, int attempts, int64_t at, const char *source);

/* A mail host's state (an MX address from one source address) that a run lets go of while the
 * host is idle and reads back when it comes back (host_state, migration 010): its flow control
 * and its statistics for this run. */
struct store_host {
	const char *ip, *source;
	int64_t run_id;             /* the run that saved it: read back by that run only */
	int window, ceiling, rcpt_limit, failures, penalty;
	double paused_until;        /* paused until then (0: never paused) */
	double next_start;          /* no new connection before then; both on the saving run's
	                             * clock_now() (monotonic: only that run reads them back) */
	double rtt;                 /* smoothed seconds per round trip */
	int64_t sessions, pushback, connect_failures, pauses;
	int max_window, reached, unreached;
	char ip_buf[64], source_buf[64]; /* where ip and source point when read from the store */
};

/* store_host_save - keep H (replacing what was kept for its ip and source): 0, or -1 */
int store_host_save(struct store *s, const struct store_host *h);

/* store_host_load - the state of host IP from SOURCE that run RUN_ID saved: 1 with OUT filled,
 * 0 none, -1 error */
int store_host_load(struct store *s, int64_t run_id, const char *ip, const char *source,
                    struct store_host *out);

/* store_run_hosts - every host state run RUN_ID saved, by ip and source, to CB: 0, or -1 */
int store_run_hosts(struct store *s, int64_t run_id,
                    void (*cb)(void *ctx, const struct store_host *h), void *ctx);

/* store_catch_all - the domain's stored catch-all state: 1 yes, 0 no, -1 unknown */
/* ---- transcripts and the session log (migration 011) ---- */

/* store_addr_find - the id of the address whose dedupe KEY is KEY (as the importer makes it),
 * 0 when none is stored, -1 on error */
int64_t store_addr_find(struct store *s, const char *key);

/* store_list_has_address - LIST_ID has a row holding address ADDRESS_ID: 1, 0 not, -1 error
 * (a scan of the list's rows: for one-off questions) */
int store_list_has_address(struct store *s, int64_t list_id, int64_t address_id);

/* store_trace_put - address ADDRESS_ID's transcript is TRACE (replacing any), written by RUN_ID */
int store_trace_put(struct store *s, int64_t address_id, int64_t run_id, const char *trace);

/* store_trace_get - address ADDRESS_ID's transcript into *TRACE (malloc'd): 1, or 0 when none
 * is kept (*TRACE NULL), -1 on error */
int store_trace_get(struct store *s, int64_t address_id, char **trace);

/* store_trace_delete - address ADDRESS_ID's transcript is not kept */
int store_trace_delete(struct store *s, int64_t address_id);

/* One SMTP session a run made (the session log's fields). */
struct store_session {
	int64_t run_id;
	int64_t at;                 /* unix seconds it started */
	const char *source, *mx_host, *mx_ip;
	int tls, rcpts;
	const char *outcome;        /* completed, refused, timed_out, dropped, pushback, ... */
	const char *smtp_end;       /* engine/smtp.h smtp_end_name */
	int code;                   /* the reply that ended it (or the last), 0: none */
	const char *enhanced, *text;
	double seconds, reply_ms;
};

int store_session_add(struct store *s, const struct store_session *ss);

/* store_session_trim - the session log keeps its newest KEEP rows; 0, -1 on error */
int store_session_trim(struct store *s, int64_t keep);

/* The sessions to one MX host address, summed up (store_session_hosts). */
struct store_session_host {
	const char *mx_host, *mx_ip;
	int64_t sessions, refusals, completed, rcpts; /* refusals: refused or pushed back */
	double median_reply_ms;     /* median over its sessions of their mean reply time */
	int last_code;              /* its last session's ending reply, 0: none */
	const char *last_enhanced, *last_text, *last_outcome;
};

/* store_session_hosts - FN for each MX host address the sessions of RUN_ID (0: every run)
 * went to, those with the most refusals first; FN returns non-zero to stop. 0, or -1 on error */
int store_session_hosts(struct store *s, int64_t run_id,
                        int (*fn)(void *ctx, const struct store_session_host *h), void *ctx);

int store_catch_all(struct store *s, const char *domain);
int store_set_catch_all(struct store *s, const char *domain, int catch_all, int64_t now);

/* store_dns_get - the domain's stored DNS answer if checked at or after SINCE: 1 with status
 * and MX text (malloc'd) filled, 0 none, -1 error */
int store_dns_get(struct store *s, const char *domain, int64_t since, char **status, char **mx);

/* store_dns_set - remember the domain's DNS answer (status name, MX hosts as text) */
int store_dns_set(struct store *s, const char *domain, const char *status, const char *mx,
                  int64_t now);

/* store_count_stale - verdicts checked before STALE_BEFORE (for status) */
int64_t store_count_stale(struct store *s, int64_t stale_before);

/* ---- status ---- */

struct store_counts {
	int64_t addresses;       /* distinct addresses */
	int64_t pending, in_flight, done;
	int64_t by_status[8];    /* index: enum verdict_status; not-yet-verified are not counted */
	int64_t changes[STATUS_COUNT][STATUS_COUNT]; /* [previous][current]: done addresses whose
	                          * verdict's status differs from the one it replaced */
	int64_t rows;            /* data rows in every list */
	int64_t rows_without_address;
	int64_t duplicate_rows;
};

int store_counts(struct store *s, struct store_counts *c);

/* ---- jobs (the server's bulk jobs; schema/migrations/005_jobs.sql) ---- */

struct store_job {
	char id[17];              /* 16 hex digits */
	char *owner;              /* the API key's name */
	char *name;
	char *column;             /* NULL: detect */
	double max_age_days;      /* < 0: not given (reuse verdicts); 0: ask every verdict again */
	char *callback_url;       /* NULL: none */
	int gzip;
	char *state;              /* uploading | importing | verifying | exporting | done | failed */
	int64_t list_id;          /* 0: not imported yet */
	char *error;
	int64_t created_at, started_at, finished_at; /* unix seconds; 0: not yet */
	char *callback_state;     /* NULL | pending | delivered | failed */
	int callback_attempts;
	char *callback_secret;    /* the callback signature's HMAC key */
	char *counts;             /* where its rows stood when it ended (JSON), or NULL */
};

void store_job_free(struct store_job *j);
void store_jobs_free(struct store_job *v, size_t n);

/* store_job_add - a new job (id, owner, name, column, max_age_days, callback_url, gzip, state,
 * created_at, callback_secret); 0 or -1 */
int store_job_add(struct store *s, const struct store_job *j);

/* store_job_get - 1 found (J filled, free with store_job_free), 0 not found, -1 error */
int store_job_get(struct store *s, const char *id, struct store_job *j);

/* store_jobs_of - OWNER's jobs, oldest first; store_jobs_active - those a server must drive
 * (importing, verifying, exporting, or a callback to deliver). *out malloc'd. */
int store_jobs_of(struct store *s, const char *owner, struct store_job **out, size_t *n);
int store_jobs_active(struct store *s, struct store_job **out, size_t *n);

/* store_job_set_state - STATE with ERROR (NULL: none) at NOW: 'importing' sets started_at,
 * 'done' and 'failed' finished_at (and a callback pending when the job has one) */
int store_job_set_state(struct store *s, const char *id, const char *state, const char *error,
                        int64_t now);
int store_job_set_list(struct store *s, const char *id, int64_t list_id);
int store_job_set_callback(struct store *s, const char *id, const char *state, int attempts);
int store_job_set_counts(struct store *s, const char *id, const char *counts_json);
int store_job_delete(struct store *s, const char *id);

/* Where a list's rows stand (store_list_tally). */
struct store_tally {
	int64_t rows;                      /* data rows */
	int64_t done;                      /* of them with a final verdict (or no address) */
	int64_t by_status[STATUS_COUNT];   /* done rows by the file they go to, duplicates apart */
	int64_t duplicates;
	int64_t retry_wait;                /* rows whose address waits for a retry */
	int64_t retry_first;               /* unix seconds the first of those is due; 0: none */
	int64_t changes[STATUS_COUNT][STATUS_COUNT]; /* [previous][current]: done rows, duplicates
	                                    * apart, whose verdict's status differs from the one
	                                    * it replaced (the rows of changes.csv) */
};

/* store_list_tally - add to T the rows AFTER < row_no <= UPTO of LIST_ID (retries: due after
 * NOW); 0 or -1. The time it takes grows with the rows counted: callers on a loop count a list
 * in slices. */
int store_list_tally(struct store *s, int64_t list_id, int64_t after, int64_t upto, int64_t now,
                     struct store_tally *t);

/* store_list_make_stale - LIST_ID's verdicts checked before STALE_BEFORE are asked again (their
 * transcripts dropped), and the DNS and catch-all answers of their domains learned before it
 * are forgotten */
int store_list_make_stale(struct store *s, int64_t list_id, int64_t stale_before);

/* store_list_purge - remove LIST_ID: its rows, problems, the list, and the addresses no other
 * list's row holds with their verdict history (in the caller's transaction); 0, or -1 with err */
int store_list_purge(struct store *s, int64_t list_id, char *err, size_t errlen);

#endif
