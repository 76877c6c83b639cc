/*
 * store - the SQLite job store (see store.h for the contract).
 *
 * Every SQL statement of mailsift is in this file, in the statement table stmt_sql[] (the only
 * SQL outside it: the migrations and three PRAGMAs formatted with numbers). Statements of the
 * per-row paths are prepared on first use and kept for the connection's life (store_stmt,
 * struct store.stmt[]), so the per-row import path costs one sqlite3_reset + binds + step per
 * statement; the rest are prepared when used and finalized (stmt_once). Migrations are the files schema/migrations/NNN_*.sql
 * embedded at build time (build/gen/migrations.c); PRAGMA user_version counts how many ran.
 */
#include "schema/store.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/bloom.h"
#include "common/err.h"
#include "common/hash.h"
#include "schema/verdict.h"

extern const char *const store_migrations[];
extern const size_t store_migrations_count;

#define STORE_BUSY_TIMEOUT_MS 5000  /* a reader waits this long for a checkpoint, not forever */
#define STORE_PAGE_SIZE 8192        /* new stores: an import of 2M rows runs ~10% faster than at 4096 */
#define STORE_DAY_SECONDS 86400.0   /* --max-age counts days */
#define STORE_BULK_CACHE_KIB 8192   /* page cache of a bulk import: appends only, no random index */

enum stmt_id {
	ST_LIST_BY_IDENTITY,
	ST_LIST_CREATE,
	ST_LIST_SET_LAYOUT,
	ST_LIST_PROGRESS,
	ST_LIST_FINISH,
	ST_LIST_ADD_SECS,
	ST_LISTS,
	ST_ADDR_FIND,
	ST_ADDR_INSERT,
	ST_ADDR_CLAIM,
	ST_ROW_ADD,
	ST_PROBLEM_ADD,
	ST_ROWS_OF_LIST,
	ST_ROWS_OF_LIST_FIRST_VERDICTS,
	ST_ANY_HISTORY,
	ST_ROW_SET_ASIDE,
	ST_PROBLEM_COUNTS,
	ST_CLAIM,
	ST_MARK_IN_FLIGHT,
	ST_VERDICT_FIRST,
	ST_VERDICT_SAVE,
	ST_RETRY_SAVE,
	ST_CATCH_ALL_GET,
	ST_CATCH_ALL_SET,
	ST_HOST_SAVE,
	ST_HOST_LOAD,
	ST_RUN_HOSTS,
	ST_DNS_GET,
	ST_DNS_SET,
	ST_LIST_SET_DIGEST,
	ST_LIST_SET_IDENTITY,
	ST_LIST_SET_SHARD,
	ST_LISTS_BY_PREFIX,
	ST_ADDR_READ,
	ST_ADDR_REFRESH,
	ST_CLAIM_ONE,
	ST_JOB_TALLY,
	ST_HISTORY_KEEP,
	ST_HISTORY_TRIM,
	ST_DEFER_ROW,
	ST_TRACE_PUT,
	ST_TRACE_GET,
	ST_TRACE_DELETE,
	ST_SESSION_ADD,
	/* Prepared when used and finalized (stmt_once): schema checks, runs, status, rare writes. */
	ST_USER_VERSION,
	ST_APPLICATION_ID,
	ST_SCHEMA_OBJECTS,
	ST_OUR_TABLES,
	ST_HAS_HISTORY,
	ST_HAS_TRACES,
	ST_HAS_LINKS,
	ST_LIST_SHARD,
	ST_LIST_FIX_DUPS,
	ST_LIST_FIX_LINKED_DUPS,
	ST_BULK_HAS_INDEX,
	ST_BULK_OTHERS,
	ST_BULK_SEED,
	ST_BULK_DEFERRED,
	ST_BULK_RESOLVED_ADD,
	ST_BULK_LINK,
	ST_LIST_DROP_ROWS,
	ST_LIST_DROP_LINKS,
	ST_LIST_DROP_PROBLEMS,
	ST_JOB_ADD,
	ST_JOB_GET,
	ST_JOBS_OF,
	ST_JOBS_ACTIVE,
	ST_JOB_STATE,
	ST_JOB_LIST,
	ST_JOB_CALLBACK,
	ST_JOB_COUNTS,
	ST_JOB_DELETE,
	ST_JOB_STALE,
	ST_JOB_STALE_DOMAINS,
	ST_PURGE_MARK,
	ST_PURGE_KEEP,
	ST_PURGE_HISTORY,
	ST_PURGE_TRACES,
	ST_PURGE_ADDRESSES,
	ST_PURGE_DROP,
	ST_LIST_DROP_SEEN,
	ST_LIST_DROP,
	ST_RUN_REQUEUE,
	ST_RUN_STALE,
	ST_RUN_STALE_DOMAINS,
	ST_RUN_ADD,
	ST_RUN_END,
	ST_LAST_RUN_STATS,
	ST_CLAIM_DUE,
	ST_PENDING_STATS,
	ST_RETRY_WAITING,
	ST_COUNT_STALE,
	ST_STATE_COUNTS,
	ST_CHANGES,
	ST_ROWS_COUNT,
	ST_ROWS_WITHOUT_ADDRESS,
	ST_DUPLICATE_ROWS,
	/* Run with sqlite3_exec (store_exec). */
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_WAL_SETUP,
	ST_HISTORY_STAND_IN,
	ST_STALE_TRACES,
	ST_LIST_HAS_ADDRESS,
	ST_SESSION_TRIM,
	ST_SESSION_HOSTS,
	ST_TRACES_STAND_IN,
	ST_LINKS_STAND_IN,
	ST_COUNT
};

/* The address states (enum store_addr_state) as SQL text: statements name them as literals,
 * not parameters, because SQLite uses the partial index addresses_retry (migration 003) only
 * for a query whose WHERE clause holds its "state = 0" as written. */
#define SQL_PENDING "0"
#define SQL_IN_FLIGHT "1"
#define SQL_DONE "2"
_Static_assert(STORE_ADDR_PENDING == 0 && STORE_ADDR_IN_FLIGHT == 1 && STORE_ADDR_DONE == 2,
               "SQL_PENDING, SQL_IN_FLIGHT and SQL_DONE spell enum store_addr_state");

/* The history entry of the verdict address a (in the query) holds replaced last: its id, NULL
 * when there is none. A seek at the end of a's entries in verdict_history_by_address. */
#define SQL_LAST_VERDICT_REPLACED \
	"(SELECT max(id) FROM verdict_history WHERE address_id = a.id)"

/* A row's address and duplicate mark (migration 012): its own columns, or, for a row a bulk
 * import set aside (address_id NULL), its entry in row_links; r is the row in the query. The
 * entry is looked up for such a row only: the other rows cost no second seek. */
#define SQL_ROW_LINK(col) \
	"(CASE WHEN r.address_id IS NULL THEN (SELECT " col " FROM row_links WHERE row_id = r.id) END)"
#define SQL_ROW_ADDRESS_ID "coalesce(r.address_id, " SQL_ROW_LINK("address_id") ")"
#define SQL_ROW_DUP_OF "coalesce(r.dup_of, " SQL_ROW_LINK("dup_of") ")"

/* The row ids of list ?1 (rows.id and row_links.row_id are list_id << 40 | row_no) */
#define SQL_OF_LIST(col) col " BETWEEN (?1 << 40) AND (?1 << 40) + 0xffffffffff"
#define SQL_NOT_OF_LIST(col) "(" col " < ?1 << 40 OR " col " >= (?1 + 1) << 40)"
/* The address ids the rows WHERE (of rows r or of row_links) hold, one per row */
#define SQL_ROWS_ADDRESS_IDS(where) \
	"SELECT r.id AS row_id, r.address_id FROM rows r WHERE " where("r.id") \
	" AND r.address_id IS NOT NULL" \
	" UNION ALL SELECT row_id, address_id FROM row_links WHERE " where("row_id")

/* The SET clause forgetting a domain's DNS answer and catch-all state learned before CUTOFF (a
 * parameter): the run asks them again. */
#define SQL_FORGET_DOMAIN_FACTS(cutoff) \
	"dns_checked_at = CASE WHEN dns_checked_at < " cutoff " THEN NULL ELSE dns_checked_at END," \
	" catch_all = CASE WHEN catch_all_checked_at < " cutoff " THEN NULL ELSE catch_all END," \
	" catch_all_checked_at = CASE WHEN catch_all_checked_at < " cutoff " THEN NULL" \
	" ELSE catch_all_checked_at END"

static const char *const stmt_sql[ST_COUNT] = {
	[ST_LIST_BY_IDENTITY] =
		"SELECT id, name, identity, state = 'done', has_header, header, email_col, delimiter,"
		" gzip, rows, max_fields, blank_lines, input_error, started_at, finished_at, import_secs,"
		" raw_bytes, raw_sha256"
		" FROM lists WHERE identity = ?1",
	[ST_LIST_CREATE] = "INSERT INTO lists(name, identity, started_at) VALUES (?1, ?2, ?3)",
	[ST_LIST_SET_LAYOUT] =
		"UPDATE lists SET has_header = ?2, header = ?3, email_col = ?4, delimiter = ?5,"
		" gzip = ?6, max_fields = max(max_fields, ?7) WHERE id = ?1",
	[ST_LIST_PROGRESS] =
		"UPDATE lists SET rows = ?2, max_fields = max(max_fields, ?3), blank_lines = ?4"
		" WHERE id = ?1",
	[ST_LIST_FINISH] =
		"UPDATE lists SET state = 'done', finished_at = ?2, import_secs = import_secs + ?3,"
		" input_error = ?4 WHERE id = ?1",
	[ST_LIST_ADD_SECS] = "UPDATE lists SET import_secs = import_secs + ?2 WHERE id = ?1",
	[ST_LISTS] =
		"SELECT id, name, identity, state = 'done', has_header, header, email_col, delimiter,"
		" gzip, rows, max_fields, blank_lines, input_error, started_at, finished_at, import_secs,"
		" raw_bytes, raw_sha256"
		" FROM lists ORDER BY id",
	/* Dedupe: the address stored under hash value ?1, if any. */
	[ST_ADDR_FIND] = "SELECT id, key, seen_list, seen_line FROM addresses WHERE key_hash = ?1",
	/* A new address, unless hash value ?1 is taken (then no change: the caller looks). */
	[ST_ADDR_INSERT] =
		"INSERT OR IGNORE INTO addresses(key_hash, key, address, domain, flags, suggestion, seen_list,"
		" seen_line, state, status, reason, detail)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	[ST_ADDR_CLAIM] = "UPDATE addresses SET seen_list = ?2, seen_line = ?3 WHERE id = ?1",
	[ST_ROW_ADD] =
		"INSERT INTO rows(id, list_id, row_no, line, record, address_id, dup_of, problem, detail,"
		" address) VALUES ((?1 << 40) | ?2, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[ST_PROBLEM_ADD] = "INSERT INTO problems(list_id, line, kind, message) VALUES (?1, ?2, ?3, ?4)",
	/* A list's rows in order, each with its address, verdict and the verdict that one
	 * replaced; ..._FIRST_VERDICTS when no verdict was ever replaced (verdict_history is
	 * empty): the same rows without a history lookup each (an export of 8M rows: -2 s). */
#define SQL_ROWS_OF_LIST(replaced, history_join) \
	"SELECT r.row_no, r.line, r.record, r.problem, " SQL_ROW_DUP_OF ", a.id IS NOT NULL," \
	" coalesce(r.address, a.key)," \
	" a.status, a.reason, coalesce(r.detail, a.detail), a.enhanced_code, a.smtp_message, a.mx_host," \
	" a.suggestion, a.smtp_code, a.flags, a.checked_at, a.id, a.domain, a.tls, a.attempts, " \
	replaced ", r.id FROM rows r LEFT JOIN addresses a ON a.id = " SQL_ROW_ADDRESS_ID history_join \
	" WHERE r.id BETWEEN (?1 << 40) AND (?1 << 40) + 0xffffffffff ORDER BY r.id"
	[ST_ROWS_OF_LIST] = SQL_ROWS_OF_LIST("h.status, h.checked_at",
	                                     " LEFT JOIN verdict_history h ON h.id = "
	                                     SQL_LAST_VERDICT_REPLACED),
	[ST_ROWS_OF_LIST_FIRST_VERDICTS] = SQL_ROWS_OF_LIST("NULL, NULL", ""),
	[ST_ANY_HISTORY] = "SELECT EXISTS (SELECT 1 FROM verdict_history)",
	/* A row a bulk import set aside and has not settled yet (cut short, or still running, seen
	 * by a reader): its address as the import checked it. */
	[ST_ROW_SET_ASIDE] =
		"SELECT coalesce(address, key), domain, flags, suggestion, status, reason, detail"
		" FROM deferred_rows WHERE row_id = ?1",
	/* The scheduler walks pending addresses in id order (a rowid range scan: no index to keep
	 * up during imports). */
	[ST_CLAIM] =
		"SELECT id, coalesce(address, key), domain, flags, attempts, source FROM addresses"
		" WHERE id > ?1 AND state = " SQL_PENDING " AND next_attempt_at <= ?2 ORDER BY id LIMIT ?3",
	[ST_MARK_IN_FLIGHT] = "UPDATE addresses SET state = " SQL_IN_FLIGHT " WHERE id = ?1",
	/* The verdict address ?1 holds into its history before a new one replaces it. */
	[ST_HISTORY_KEEP] =
		"INSERT INTO verdict_history(address_id, status, reason, smtp_code, enhanced_code,"
		" checked_at) SELECT id, status, reason, smtp_code, enhanced_code, checked_at"
		" FROM addresses WHERE id = ?1",
	[ST_TRACE_PUT] = "INSERT OR REPLACE INTO address_trace (address_id, run_id, trace)"
	                 " VALUES (?1, ?2, ?3)",
	[ST_TRACE_GET] = "SELECT trace FROM address_trace WHERE address_id = ?1",
	[ST_TRACE_DELETE] = "DELETE FROM address_trace WHERE address_id = ?1",
	[ST_SESSION_ADD] = "INSERT INTO session_log (run_id, at, source, mx_host, mx_ip, tls, rcpts,"
	                   " outcome, smtp_end, code, enhanced, text, seconds, reply_ms)"
	                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
	/* A bulk import's row whose address the filter may have met: settled at the end. */
	[ST_DEFER_ROW] =
		"INSERT INTO deferred_rows(row_id, list_id, line, key_hash, key, address, domain, flags,"
		" suggestion, status, reason, detail)"
		" VALUES ((?1 << 40) | ?2, ?1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	/* Address ?1's history, less its newest ?2 entries. */
	[ST_HISTORY_TRIM] =
		"DELETE FROM verdict_history WHERE address_id = ?1 AND id <= (SELECT id"
		" FROM verdict_history WHERE address_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
#define SQL_VERDICT_SAVE \
	"UPDATE addresses SET state = " SQL_DONE ", status = ?2, reason = ?3, detail = ?4, smtp_code = ?5," \
	" enhanced_code = ?6, smtp_message = ?7, mx_host = ?8, tls = ?9, attempts = ?10," \
	" flags = flags | ?11, source = coalesce(source, ?12), checked_at = ?13 WHERE id = ?1"
	/* An address's first verdict (the bulk of a run): one statement, as before there was a
	 * history; no change when it has a verdict already (then ST_HISTORY_KEEP, ST_VERDICT_SAVE). */
	[ST_VERDICT_FIRST] = SQL_VERDICT_SAVE " AND status IS NULL",
	[ST_VERDICT_SAVE] = SQL_VERDICT_SAVE,
	[ST_RETRY_SAVE] =
		"UPDATE addresses SET state = " SQL_PENDING ", attempts = ?2, next_attempt_at = ?3,"
		" source = coalesce(source, ?4) WHERE id = ?1",
	[ST_CATCH_ALL_GET] = "SELECT catch_all FROM domains WHERE name = ?1",
	[ST_CATCH_ALL_SET] =
		"INSERT INTO domains(name, catch_all, catch_all_checked_at) VALUES (?1, ?2, ?3)"
		" ON CONFLICT(name) DO UPDATE SET catch_all = excluded.catch_all,"
		" catch_all_checked_at = excluded.catch_all_checked_at",
#define SQL_HOST_COLS \
	"ip, source, run_id, window, ceiling, rcpt_limit, failures, penalty, paused_until," \
	" next_start, rtt, sessions, max_window, pushback, connect_failures, pauses, reached, unreached"
	[ST_HOST_SAVE] = "INSERT OR REPLACE INTO host_state (" SQL_HOST_COLS ") VALUES (?1, ?2, ?3, ?4,"
	                 " ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
	[ST_HOST_LOAD] = "SELECT " SQL_HOST_COLS " FROM host_state WHERE ip = ?1 AND source = ?2"
	                 " AND run_id = ?3",
	[ST_RUN_HOSTS] = "SELECT " SQL_HOST_COLS " FROM host_state WHERE run_id = ?1"
	                 " ORDER BY ip, source",
	[ST_DNS_GET] = "SELECT dns_status, mx FROM domains WHERE name = ?1 AND dns_checked_at >= ?2",
	[ST_DNS_SET] =
		"INSERT INTO domains(name, dns_status, mx, dns_checked_at) VALUES (?1, ?2, ?3, ?4)"
		" ON CONFLICT(name) DO UPDATE SET dns_status = excluded.dns_status, mx = excluded.mx,"
		" dns_checked_at = excluded.dns_checked_at",
	[ST_LIST_SET_DIGEST] = "UPDATE lists SET raw_bytes = ?2, raw_sha256 = ?3 WHERE id = ?1",
	[ST_LIST_SET_IDENTITY] = "UPDATE lists SET identity = ?2 WHERE id = ?1",
	/* The lists of one input: a handful of rows, scanned (no index on a prefix). */
	[ST_LISTS_BY_PREFIX] =
		"SELECT id, name, identity, state = 'done', has_header, header, email_col, delimiter,"
		" gzip, rows, max_fields, blank_lines, input_error, started_at, finished_at, import_secs,"
		" raw_bytes, raw_sha256"
		" FROM lists WHERE substr(identity, 1, length(?1)) = ?1 ORDER BY id DESC",
	/* One address as an API answer names it (store_addr_read). */
	[ST_ADDR_READ] =
		"SELECT coalesce(address, key), status, reason, detail, enhanced_code, smtp_message,"
		" mx_host, suggestion, smtp_code, flags, checked_at, id, domain, tls, attempts, state,"
		" next_attempt_at FROM addresses WHERE id = ?1",
	/* As ST_RUN_STALE, for one address. */
	[ST_ADDR_REFRESH] =
		"UPDATE addresses SET state = " SQL_PENDING ", attempts = 0, next_attempt_at = 0,"
		" source = NULL WHERE id = ?1 AND state = " SQL_DONE " AND checked_at IS NOT NULL"
		" AND checked_at < ?2",
	/* As ST_CLAIM, for one address. */
	[ST_CLAIM_ONE] =
		"SELECT id, coalesce(address, key), domain, flags, attempts, source FROM addresses"
		" WHERE id = ?1 AND state = " SQL_PENDING " AND next_attempt_at <= ?2",
	[ST_PROBLEM_COUNTS] =
		"SELECT kind, count(*), min(line) FROM problems WHERE list_id = ?1 GROUP BY kind"
		" ORDER BY kind",
	[ST_USER_VERSION] = "PRAGMA user_version",
	[ST_APPLICATION_ID] = "PRAGMA application_id",
	[ST_SCHEMA_OBJECTS] = "SELECT count(*) FROM sqlite_master",
	[ST_OUR_TABLES] =
		"SELECT count(*) FROM sqlite_master WHERE type = 'table'"
		" AND name IN ('lists', 'rows', 'addresses')",
	[ST_LIST_SET_SHARD] = "UPDATE lists SET shard_k = ?2, shard_n = ?3 WHERE id = ?1",
	[ST_LIST_SHARD] = "SELECT coalesce(shard_k, 0), coalesce(shard_n, 0) FROM lists WHERE id = ?1",
	[ST_HAS_HISTORY] =
		"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'verdict_history'",
	[ST_HAS_TRACES] =
		"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'address_trace'",
	[ST_HAS_LINKS] =
		"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'row_links'",
	/* Each address's first row in the list is not a duplicate; later rows name its line. */
#define SQL_LIST_FIRSTS \
	"WITH firsts AS (SELECT address_id, min(row_id) AS id FROM (" \
	SQL_ROWS_ADDRESS_IDS(SQL_OF_LIST) ") GROUP BY address_id)"
	[ST_LIST_FIX_DUPS] =
		SQL_LIST_FIRSTS
		" UPDATE rows SET dup_of = CASE WHEN rows.id = firsts.id THEN NULL ELSE"
		"  (SELECT line FROM rows AS f WHERE f.id = firsts.id) END"
		" FROM firsts WHERE " SQL_OF_LIST("rows.id") " AND rows.address_id = firsts.address_id",
	[ST_LIST_FIX_LINKED_DUPS] =
		SQL_LIST_FIRSTS
		" UPDATE row_links SET dup_of = CASE WHEN row_links.row_id = firsts.id THEN NULL ELSE"
		"  (SELECT line FROM rows AS f WHERE f.id = firsts.id) END"
		" FROM firsts WHERE " SQL_OF_LIST("row_links.row_id")
		" AND row_links.address_id = firsts.address_id",
	/* Bulk import (store_bulk_begin / store_bulk_finish) */
	[ST_BULK_HAS_INDEX] =
		"SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'addresses_key_hash'",
	[ST_BULK_OTHERS] = "SELECT EXISTS (SELECT 1 FROM lists WHERE id <> ?1)",
	/* Every key hash stored, each with 1 when its address is not list ?1's alone (given alone,
	 * or another list's): the filter's seed, and the end of the bulk import when it says 1. */
	[ST_BULK_SEED] =
		"SELECT key_hash, seen_list IS NOT ?1 FROM addresses"
		" UNION ALL SELECT key_hash, 0 FROM deferred_rows",
	/* The rows set aside, each key's rows together and in input order (dedupe marks). */
	[ST_BULK_DEFERRED] =
		"SELECT row_id, list_id, line, key, address, domain, flags, suggestion, status, reason,"
		" detail FROM deferred_rows ORDER BY key_hash, row_id",
	[ST_BULK_RESOLVED_ADD] =
		"INSERT INTO temp.bulk_resolved(row_id, address_id, dup_of) VALUES (?1, ?2, ?3)",
	/* in row order: appended to row_links, whose pages are written once */
	[ST_BULK_LINK] =
		"INSERT INTO row_links(row_id, address_id, dup_of)"
		" SELECT row_id, address_id, dup_of FROM temp.bulk_resolved ORDER BY row_id",
	/* store_list_drop, in this order */
	[ST_LIST_DROP_ROWS] =
		"DELETE FROM rows WHERE id >= ?1 << 40 AND id < (?1 + 1) << 40", /* rowid: list, row */
	[ST_LIST_DROP_LINKS] = "DELETE FROM row_links WHERE " SQL_OF_LIST("row_id"),
	[ST_LIST_DROP_PROBLEMS] = "DELETE FROM problems WHERE list_id = ?1",
	/* dedupe within a list compares seen_list with the list being read: no stale id */
	[ST_LIST_DROP_SEEN] =
		"UPDATE addresses SET seen_list = NULL, seen_line = NULL WHERE seen_list = ?1",
	[ST_LIST_DROP] = "DELETE FROM lists WHERE id = ?1",
#define JOB_COLUMNS \
	"id, owner, name, column_spec, max_age_days, callback_url, gzip, state, list_id, error," \
	" created_at, started_at, finished_at, callback_state, callback_attempts, callback_secret," \
	" counts"
	[ST_JOB_ADD] = "INSERT INTO jobs(" JOB_COLUMNS ") VALUES"
	               " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
	[ST_JOB_GET] = "SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?1",
	[ST_JOBS_OF] = "SELECT " JOB_COLUMNS " FROM jobs WHERE owner = ?1 ORDER BY created_at, id",
	[ST_JOBS_ACTIVE] = "SELECT " JOB_COLUMNS " FROM jobs WHERE state IN"
	                   " ('importing', 'verifying', 'exporting') OR callback_state = 'pending'"
	                   " ORDER BY created_at, id",
	[ST_JOB_STATE] = "UPDATE jobs SET state = ?2, error = ?3,"
	                 " started_at = CASE WHEN ?2 = 'importing' THEN ?4 ELSE started_at END,"
	                 " finished_at = CASE WHEN ?2 IN ('done', 'failed') THEN ?4 ELSE NULL END,"
	                 " callback_state = CASE WHEN ?2 IN ('done', 'failed') AND callback_url"
	                 " IS NOT NULL THEN 'pending' ELSE callback_state END WHERE id = ?1",
	[ST_JOB_LIST] = "UPDATE jobs SET list_id = ?2 WHERE id = ?1",
	[ST_JOB_CALLBACK] = "UPDATE jobs SET callback_state = ?2, callback_attempts = ?3 WHERE id = ?1",
	[ST_JOB_COUNTS] = "UPDATE jobs SET counts = ?2 WHERE id = ?1",
	[ST_JOB_DELETE] = "DELETE FROM jobs WHERE id = ?1",
	/* A list's rows ?3 < row_no <= ?4 by where they stand: (state, status, duplicate, rows,
	 * first retry due after ?2). A row without an address has no state: it is done (invalid). */
	[ST_JOB_TALLY] =
		"SELECT a.state, a.status, " SQL_ROW_DUP_OF " IS NOT NULL, count(*),"
		" min(CASE WHEN a.state = " SQL_PENDING " AND a.next_attempt_at > ?2"
		" THEN a.next_attempt_at END), h.status"
		" FROM rows r LEFT JOIN addresses a ON a.id = " SQL_ROW_ADDRESS_ID
		" LEFT JOIN verdict_history h ON h.id = " SQL_LAST_VERDICT_REPLACED
		" WHERE r.id > (?1 << 40) + ?3 AND r.id <= (?1 << 40) + ?4"
		" GROUP BY 1, 2, 3, 6",
	/* As ST_RUN_STALE, for the addresses of one list. */
	[ST_JOB_STALE] =
		"UPDATE addresses SET state = " SQL_PENDING ", attempts = 0, next_attempt_at = 0,"
		" source = NULL WHERE state = " SQL_DONE " AND checked_at IS NOT NULL"
		" AND checked_at < ?2 AND id IN (SELECT address_id FROM ("
		SQL_ROWS_ADDRESS_IDS(SQL_OF_LIST) "))",
	/* As ST_RUN_STALE_DOMAINS, for the domains of one list. */
	[ST_JOB_STALE_DOMAINS] =
		"UPDATE domains SET " SQL_FORGET_DOMAIN_FACTS("?2")
		" WHERE (dns_checked_at < ?2 OR catch_all_checked_at < ?2) AND name IN"
		" (SELECT domain FROM addresses WHERE id IN (SELECT address_id FROM ("
		SQL_ROWS_ADDRESS_IDS(SQL_OF_LIST) ")))",
	/* Purging a list: its addresses, less those other lists' rows hold, then those go. */
	[ST_PURGE_MARK] =
		"INSERT OR IGNORE INTO temp.purge SELECT address_id FROM ("
		SQL_ROWS_ADDRESS_IDS(SQL_OF_LIST) ")",
	[ST_PURGE_KEEP] =
		"DELETE FROM temp.purge WHERE id IN (SELECT address_id FROM ("
		SQL_ROWS_ADDRESS_IDS(SQL_NOT_OF_LIST) "))",
	[ST_PURGE_HISTORY] =
		"DELETE FROM verdict_history WHERE address_id IN (SELECT id FROM temp.purge)",
	/* a removed address's transcript goes with it (an id may be given to a new address) */
	[ST_PURGE_TRACES] =
		"DELETE FROM address_trace WHERE address_id IN (SELECT id FROM temp.purge)",
	[ST_PURGE_ADDRESSES] = "DELETE FROM addresses WHERE id IN (SELECT id FROM temp.purge)",
	[ST_PURGE_DROP] = "DELETE FROM temp.purge",
	[ST_RUN_REQUEUE] =
		"UPDATE addresses SET state = " SQL_PENDING " WHERE state = " SQL_IN_FLIGHT,
	/* Stale verdicts: only those a probe gave (checked_at is set); the importer's syntax
	 * verdicts do not age. */
	[ST_RUN_STALE] =
		"UPDATE addresses SET state = " SQL_PENDING ", attempts = 0, next_attempt_at = 0,"
		" source = NULL WHERE state = " SQL_DONE " AND checked_at IS NOT NULL"
		" AND checked_at < ?1",
	/* What domains said before ?1 is asked again: a stale verdict probed again is decided by
	 * what the domain says now (it may be gone, or catch-all since). */
	[ST_RUN_STALE_DOMAINS] =
		"UPDATE domains SET " SQL_FORGET_DOMAIN_FACTS("?1")
		" WHERE dns_checked_at < ?1 OR catch_all_checked_at < ?1",
	[ST_RUN_ADD] = "INSERT INTO runs(started_at) VALUES (?1)",
	[ST_RUN_END] = "UPDATE runs SET finished_at = ?2, outcome = ?3, stats = ?4 WHERE id = ?1",
	[ST_LAST_RUN_STATS] =
		"SELECT stats FROM runs WHERE stats IS NOT NULL ORDER BY id DESC LIMIT 1",
	/* The first two terms repeat the partial index's own (addresses_retry), so SQLite walks it
	 * from the earliest due: a few rows read, whatever the size of the store. */
	[ST_CLAIM_DUE] =
		"SELECT id, coalesce(address, key), domain, flags, attempts, source"
		" FROM addresses WHERE state = " SQL_PENDING " AND next_attempt_at > 0"
		" AND next_attempt_at <= ?1 ORDER BY next_attempt_at LIMIT ?2",
	[ST_PENDING_STATS] =
		"SELECT sum(state = " SQL_PENDING " AND next_attempt_at <= ?1),"
		" sum(state = " SQL_PENDING " AND next_attempt_at > ?1),"
		" min(CASE WHEN state = " SQL_PENDING " AND next_attempt_at > ?1"
		" THEN next_attempt_at END),"
		" sum(state = " SQL_DONE ") FROM addresses",
	/* The first two terms repeat the partial index's own, so SQLite may use it. */
	[ST_RETRY_WAITING] =
		"SELECT count(*), min(next_attempt_at), max(next_attempt_at)"
		" FROM addresses WHERE state = " SQL_PENDING " AND next_attempt_at > 0"
		" AND next_attempt_at > ?1",
	[ST_COUNT_STALE] =
		"SELECT count(*) FROM addresses WHERE state = " SQL_DONE
		" AND checked_at IS NOT NULL AND checked_at < ?1",
	[ST_STATE_COUNTS] = "SELECT state, status, count(*) FROM addresses GROUP BY state, status",
	/* Done addresses by (previous, current) status, where they differ: read from the history's
	 * newest entry per address, so a store never re-verified costs nothing. */
	[ST_CHANGES] =
		"SELECT h.status, a.status, count(*) FROM (SELECT max(id) AS id FROM verdict_history"
		" GROUP BY address_id) last JOIN verdict_history h ON h.id = last.id"
		" JOIN addresses a ON a.id = h.address_id WHERE a.state = " SQL_DONE
		" AND a.status != h.status GROUP BY 1, 2",
	[ST_ROWS_COUNT] = "SELECT count(*) FROM rows",
	/* a row stored without an address has its problem (no_address, row_too_long); one whose
	 * address_id is NULL without a problem was set aside by a bulk import (row_links) */
	[ST_ROWS_WITHOUT_ADDRESS] =
		"SELECT count(*) FROM rows WHERE address_id IS NULL AND problem IS NOT NULL",
	[ST_DUPLICATE_ROWS] =
		"SELECT (SELECT count(*) FROM rows WHERE dup_of IS NOT NULL)"
		" + (SELECT count(*) FROM row_links WHERE dup_of IS NOT NULL)",
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	/* checkpoints every 64 MiB of WAL, not 4: a page rewritten by several commits is copied
	 * once (an import runs 13% faster) */
	[ST_WAL_SETUP] =
		"PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
		" PRAGMA wal_autocheckpoint = 16384;",
	/* A store made before migration 007, read (a read-only open does not migrate): an empty
	 * history of this connection's own stands in, as for a store never re-verified. */
	[ST_HISTORY_STAND_IN] =
		"CREATE TEMP TABLE verdict_history (id INTEGER PRIMARY KEY, address_id INTEGER NOT NULL,"
		" status TEXT NOT NULL, reason TEXT, smtp_code INTEGER, enhanced_code TEXT,"
		" checked_at INTEGER);"
		" CREATE INDEX temp.verdict_history_by_address ON verdict_history(address_id);",
	/* The transcripts of verdicts just made stale (pending again, no attempt yet): the probe
	 * that follows makes the address's transcript (or keeps none); the old one would explain
	 * another verdict. address_trace is small: each of its rows looks its address up. */
	[ST_STALE_TRACES] =
		"DELETE FROM address_trace WHERE (SELECT state = " SQL_PENDING " AND attempts = 0"
		" FROM addresses WHERE id = address_id)",
	[ST_LIST_HAS_ADDRESS] =
		"SELECT 1 FROM (" SQL_ROWS_ADDRESS_IDS(SQL_OF_LIST) ") WHERE address_id = ?2 LIMIT 1",
	/* The session log's newest ?1 rows are kept. */
	[ST_SESSION_TRIM] =
		"DELETE FROM session_log WHERE id <= (SELECT max(id) FROM session_log) - ?1",
	/* Per MX host address (of run ?1, 0: every run): its sessions, refusals, completed
	 * sessions, RCPTs, the median of its sessions' mean reply times (the middle row of its
	 * sessions ordered by it) and its last session's ending reply; most refusals first. */
	[ST_SESSION_HOSTS] =
		"WITH l AS (SELECT * FROM session_log WHERE ?1 = 0 OR run_id = ?1),"
		" h AS (SELECT mx_host, mx_ip, count(*) AS n,"
		"  sum(outcome IN ('refused', 'pushback')) AS refusals,"
		"  sum(outcome = 'completed') AS completed, sum(rcpts) AS rcpts, max(id) AS last"
		"  FROM l GROUP BY mx_host, mx_ip),"
		" r AS (SELECT mx_host, mx_ip, reply_ms, row_number() OVER"
		"  (PARTITION BY mx_host, mx_ip ORDER BY reply_ms) AS k FROM l)"
		" SELECT h.mx_host, h.mx_ip, h.n, h.refusals, h.completed, h.rcpts, r.reply_ms,"
		"  last.code, last.enhanced, last.text, last.outcome"
		" FROM h JOIN session_log last ON last.id = h.last"
		" JOIN r ON r.mx_host IS h.mx_host AND r.mx_ip IS h.mx_ip AND r.k = (h.n + 1) / 2"
		" ORDER BY h.refusals DESC, h.n DESC, h.mx_host, h.mx_ip",
	/* ... before migration 011: no transcript kept, no session logged */
	[ST_TRACES_STAND_IN] =
		"CREATE TEMP TABLE address_trace (address_id INTEGER PRIMARY KEY, run_id INTEGER,"
		" trace TEXT NOT NULL);"
		" CREATE TEMP TABLE session_log (id INTEGER PRIMARY KEY, run_id INTEGER, at INTEGER,"
		" source TEXT, mx_host TEXT, mx_ip TEXT, tls INTEGER, rcpts INTEGER, outcome TEXT,"
		" smtp_end TEXT, code INTEGER, enhanced TEXT, text TEXT, seconds REAL, reply_ms REAL);",
	/* ... before migration 012: every row's address in rows */
	[ST_LINKS_STAND_IN] =
		"CREATE TEMP TABLE row_links (row_id INTEGER PRIMARY KEY, address_id INTEGER NOT NULL,"
		" dup_of INTEGER);",
};

struct store {
	sqlite3 *db;
	char *path;
	int lock_fd;                 /* flock'd descriptor for writers, -1 for readers */
	int in_tx;                   /* inside store_begin .. store_commit */
	int bulk;                    /* a bulk import is under way (store_bulk_begin) */
	enum stmt_id rows;           /* the statement store_rows_start chose */
	struct bloom seen;           /* ... and the key hashes it has met */
	sqlite3_stmt *stmt[ST_COUNT];
};

/* store_stmt - the prepared statement ID, prepared on first use and reset for reuse */
static sqlite3_stmt *store_stmt(struct store *s, enum stmt_id id)
{
	sqlite3_stmt *st = s->stmt[id];

	if (st == NULL) {
		if (sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st,
		                       NULL) != SQLITE_OK) {
			fprintf(stderr, "mailsift: internal SQL error: %s\n  in: %s\n",
			        sqlite3_errmsg(s->db), stmt_sql[id]);
			abort();
		}
		s->stmt[id] = st;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

/* stmt_once - statement ID prepared for one use into *ST (the caller finalizes it); SQLite's
 * result code: these may meet a file that is not a job store, so an error is not fatal */
static int stmt_once(struct store *s, enum stmt_id id, sqlite3_stmt **st)
{
	return sqlite3_prepare_v2(s->db, stmt_sql[id], -1, st, NULL);
}

/* count_query - the one integer statement ID returns, -1 on error or no row */
static int64_t count_query(struct store *s, enum stmt_id id)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (stmt_once(s, id, &st) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int store_exec(struct store *s, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		err_set(err, errlen, "%s: %s", s->path, msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int store_user_version(struct store *s)
{
	return (int)count_query(s, ST_USER_VERSION);
}

/* store_migrate - run the migrations the file has not seen, each in its own transaction */
static int store_migrate(struct store *s, char *err, size_t errlen)
{
	int v = store_user_version(s);
	char sql[64];

	if (v < 0) {
		err_set(err, errlen, "%s: not a mailsift job store (%s)", s->path,
		        sqlite3_errmsg(s->db));
		return -1;
	}
	if ((size_t)v > store_migrations_count) {
		err_set(err, errlen,
		        "%s: job store has schema version %d, newer than this mailsift (%zu)",
		        s->path, v, store_migrations_count);
		return -1;
	}
	for (size_t i = (size_t)v; i < store_migrations_count; i++) {
		if (store_exec(s, stmt_sql[ST_BEGIN], err, errlen) < 0)
			return -1;
		snprintf(sql, sizeof sql, "PRAGMA user_version = %zu", i + 1);
		if (store_exec(s, store_migrations[i], err, errlen) < 0 ||
		    store_exec(s, sql, err, errlen) < 0) {
			store_exec(s, stmt_sql[ST_ROLLBACK], NULL, 0);
			return -1;
		}
		if (store_exec(s, stmt_sql[ST_COMMIT], err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* store_lock - the one-writer rule: an exclusive flock on the database file itself */
static int store_lock(struct store *s, char *err, size_t errlen)
{
	s->lock_fd = open(s->path, O_RDONLY | O_CLOEXEC);
	if (s->lock_fd < 0) {
		err_set(err, errlen, "%s: %s", s->path, strerror(errno));
		return -1;
	}
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			err_set(err, errlen,
			        "%s: another mailsift process is using this job store; wait for it to "
			        "finish or stop it first", s->path);
		else
			err_set(err, errlen, "%s: cannot lock: %s", s->path, strerror(errno));
		return -1;
	}
	return 0;
}

/* store_refuse - the one wording of "this file is not for us": what it is, that it was left
 * unchanged, what to do */
static void store_refuse(const char *path, const char *what, const char *todo, char *err,
                         size_t errlen)
{
	err_set(err, errlen, "%s %s; mailsift left it unchanged: %s", path, what, todo);
}

static int64_t store_pragma_int(struct store *s, enum stmt_id id, int *ok)
{
	sqlite3_stmt *st;
	int64_t v = 0;

	if (stmt_once(s, id, &st) != SQLITE_OK) {
		*ok = 0;
		return 0;
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else
		*ok = 0;
	sqlite3_finalize(st);
	return v;
}

/* store_identify - is the open file a job store of ours, told by reading only (application
 * id, user_version, tables)? 0 yes (*stamp: it lacks our application id: an older mailsift's
 * store, or an empty file when CREATING), -1 refused with err, -2 SQLite could not read it */
static int store_identify(struct store *s, int creating, int *stamp, char *err, size_t errlen)
{
	int ok = 1;
	int64_t app = store_pragma_int(s, ST_APPLICATION_ID, &ok);
	int64_t ver = store_pragma_int(s, ST_USER_VERSION, &ok);
	int64_t tables = store_pragma_int(s, ST_SCHEMA_OBJECTS, &ok);
	int64_t ours = store_pragma_int(s, ST_OUR_TABLES, &ok);
	char what[160];

	*stamp = 0;
	if (!ok) {
		int code = sqlite3_errcode(s->db);
		if (code == SQLITE_NOTADB) {
			store_refuse(s->path, "is not a mailsift job store (not a SQLite database)",
			             "give --db a new file name or a job store made by mailsift", err,
			             errlen);
			return -1;
		}
		err_set(err, errlen, "%s: cannot read job store: %s", s->path,
		        sqlite3_errmsg(s->db));
		return -2;
	}
	if (app == STORE_APPLICATION_ID || (app == 0 && ver > 0 && ours == 3)) {
		if (ver > (int64_t)store_migrations_count) {
			snprintf(what, sizeof what,
			         "was made by a newer mailsift (job store version %lld, this one knows %zu)",
			         (long long)ver, store_migrations_count);
			store_refuse(s->path, what, "use that mailsift or a newer one", err, errlen);
			return -1;
		}
		*stamp = app == 0;
		return 0;
	}
	if (creating && app == 0 && ver == 0 && tables == 0) {
		*stamp = 1; /* an empty file: a new store */
		return 0;
	}
	if (app != 0)
		snprintf(what, sizeof what,
		         "is not a mailsift job store (SQLite application id 0x%08llx, not 0x%08x)",
		         (unsigned long long)(uint32_t)app, STORE_APPLICATION_ID);
	else
		snprintf(what, sizeof what, "is not a mailsift job store (%s)",
		         tables ? "a SQLite database with other tables" : "an empty SQLite database");
	store_refuse(s->path, what, "give --db a new file name or a job store made by mailsift", err,
	             errlen);
	return -1;
}

/* store_open_immutable - reopen a read-only store whose folder is read-only too: SQLite cannot
 * create the -shm file a WAL database needs, but with no -wal file there is nothing for it to
 * hold, and nobody can be writing (a writer needs the -wal file): open it as immutable */
static int store_open_immutable(struct store *s, int flags, char *err, size_t errlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = strlen(s->path), j = 0;
	char *uri = malloc(3 * n + 64);

	if (uri == NULL)
		abort();
	j = (size_t)sprintf(uri, "file:");
	for (const char *p = s->path; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '?' || c == '#' || c == '%' || c <= ' ' || c >= 0x7f) {
			uri[j++] = '%';
			uri[j++] = hex[c >> 4];
			uri[j++] = hex[c & 15];
		} else {
			uri[j++] = (char)c;
		}
	}
	snprintf(uri + j, 3 * n + 64 - j, "?mode=ro&immutable=1");
	sqlite3_close(s->db);
	s->db = NULL;
	if (sqlite3_open_v2(uri, &s->db, flags | SQLITE_OPEN_URI, NULL) != SQLITE_OK) {
		err_set(err, errlen, "%s: cannot open job store: %s", s->path,
		        s->db ? sqlite3_errmsg(s->db) : "out of memory");
		free(uri);
		return -1;
	}
	free(uri);
	return 0;
}

struct store *store_open(const char *path, enum store_mode mode, char *err, size_t errlen)
{
	struct store *s = calloc(1, sizeof *s);
	/* One connection, used by one thread at a time: no per-call mutex (8% of an import). */
	int flags = SQLITE_OPEN_NOMUTEX | (mode == STORE_WRITE ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
	                                                       : SQLITE_OPEN_READONLY);
	char pragmas[256];
	int stamp = 0, id;

	/* No memory statistics: they take a global mutex on every allocation. Only takes effect
	 * before SQLite's first use (later calls fail harmlessly). */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (s == NULL) {
		err_set(err, errlen, "out of memory");
		return NULL;
	}
	s->lock_fd = -1;
	s->rows = ST_ROWS_OF_LIST;
	s->path = strdup(path);
	if (s->path == NULL || sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
		err_set(err, errlen, "%s: cannot open job store: %s", path,
		        s->db ? sqlite3_errmsg(s->db) : "out of memory");
		store_close(s);
		return NULL;
	}
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	if (mode == STORE_WRITE && store_lock(s, err, errlen) < 0) {
		store_close(s);
		return NULL;
	}
	/* Nothing is written before the file is known to be ours. */
	id = store_identify(s, mode == STORE_WRITE, &stamp, err, errlen);
	if (id == -2 && mode == STORE_READ) {
		char wal[4200];
		struct stat st;
		snprintf(wal, sizeof wal, "%s-wal", path);
		if (stat(wal, &st) < 0 && errno == ENOENT) {
			if (store_open_immutable(s, flags, err, errlen) == 0)
				id = store_identify(s, 0, &stamp, err, errlen);
		} else {
			err_set(err, errlen,
			        "%s: cannot read job store: its write-ahead log %s holds changes that "
			        "SQLite can only read with write access to the folder (%s); make the "
			        "folder writable, or copy %s and %s together to a writable folder, "
			        "and run again", path, wal, sqlite3_errmsg(s->db), path, wal);
		}
	}
	if (id < 0) {
		store_close(s);
		return NULL;
	}
	snprintf(pragmas, sizeof pragmas,
	         "PRAGMA page_size = %d; PRAGMA cache_size = -%d; PRAGMA temp_store = FILE; PRAGMA foreign_keys = OFF;",
	         STORE_PAGE_SIZE, STORE_CACHE_KIB);
	if (store_exec(s, pragmas, err, errlen) < 0) {
		store_close(s);
		return NULL;
	}
	if (mode == STORE_WRITE) {
		snprintf(pragmas, sizeof pragmas, "PRAGMA application_id = %d;",
		         (int)STORE_APPLICATION_ID);
		if (store_exec(s, stmt_sql[ST_WAL_SETUP], err, errlen) < 0 ||
		    (stamp && store_exec(s, pragmas, err, errlen) < 0) ||
		    store_migrate(s, err, errlen) < 0 ||
		    store_bulk_finish(s, err, errlen) < 0) { /* a bulk import cut short */
			store_close(s);
			return NULL;
		}
	} else {
		int v = store_user_version(s);
		if (v <= 0) {
			store_refuse(path, "is not a mailsift job store (no tables yet)",
			             "give --db a job store made by mailsift", err, errlen);
			store_close(s);
			return NULL;
		}
		if ((count_query(s, ST_HAS_HISTORY) == 0 &&
		     store_exec(s, stmt_sql[ST_HISTORY_STAND_IN], err, errlen) < 0) ||
		    (count_query(s, ST_HAS_TRACES) == 0 &&
		     store_exec(s, stmt_sql[ST_TRACES_STAND_IN], err, errlen) < 0) ||
		    (count_query(s, ST_HAS_LINKS) == 0 &&
		     store_exec(s, stmt_sql[ST_LINKS_STAND_IN], err, errlen) < 0)) {
			store_close(s);
			return NULL;
		}
	}
	return s;
}

int store_set_cache(struct store *s, int kib)
{
	char pragma[64];

	snprintf(pragma, sizeof pragma, "PRAGMA cache_size = -%d", kib > 64 ? kib : 64);
	return store_exec(s, pragma, NULL, 0);
}

void store_close(struct store *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	bloom_free(&s->seen);
	if (s->db)
		sqlite3_close(s->db);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s->path);
	free(s);
}

int store_begin(struct store *s, char *err, size_t errlen)
{
	if (s->in_tx) {
		fprintf(stderr, "mailsift: internal error: nested store_begin\n");
		abort();
	}
	if (store_exec(s, stmt_sql[ST_BEGIN], err, errlen) < 0)
		return -1;
	s->in_tx = 1;
	return 0;
}

int store_savepoint(struct store *s, char *err, size_t errlen)
{
	return store_exec(s, "SAVEPOINT part", err, errlen);
}

int store_savepoint_end(struct store *s, int keep, char *err, size_t errlen)
{
	return store_exec(s, keep ? "RELEASE part" : "ROLLBACK TO part; RELEASE part", err, errlen);
}

int store_commit(struct store *s, char *err, size_t errlen)
{
	if (!s->in_tx)
		return 0;
	s->in_tx = 0;
	return store_exec(s, stmt_sql[ST_COMMIT], err, errlen);
}

void store_rollback(struct store *s)
{
	if (!s->in_tx)
		return;
	s->in_tx = 0;
	store_exec(s, stmt_sql[ST_ROLLBACK], NULL, 0);
}

int store_in_transaction(const struct store *s)
{
	return s->in_tx;
}

const char *store_errmsg(const struct store *s)
{
	return sqlite3_errmsg(s->db);
}

/* ---- binding helpers ---- */

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static const char *column_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static char *column_strdup(sqlite3_stmt *st, int i, size_t *len)
{
	const void *p = sqlite3_column_blob(st, i);
	int n = sqlite3_column_bytes(st, i);
	char *v;

	if (len)
		*len = 0;
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NULL;
	v = malloc((size_t)n + 1);
	if (v == NULL)
		abort();
	if (n > 0)
		memcpy(v, p, (size_t)n);
	v[n] = '\0';
	if (len)
		*len = (size_t)n;
	return v;
}

/* step_done - run a statement that returns no rows */
static int step_done(struct store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		(void)s;
		return -1;
	}
	return 0;
}

/* ---- lists ---- */

void store_list_free(struct store_list *l)
{
	if (l == NULL)
		return;
	free(l->name);
	free(l->identity);
	free(l->header);
	free(l->input_error);
	free(l->raw_sha256);
	memset(l, 0, sizeof *l);
}

static void list_from_row(sqlite3_stmt *st, struct store_list *l)
{
	const unsigned char *d;

	memset(l, 0, sizeof *l);
	l->id = sqlite3_column_int64(st, 0);
	l->name = column_strdup(st, 1, NULL);
	l->identity = column_strdup(st, 2, NULL);
	l->done = sqlite3_column_int(st, 3);
	l->has_header = sqlite3_column_int(st, 4);
	l->header = column_strdup(st, 5, &l->header_len);
	l->email_col = sqlite3_column_type(st, 6) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 6);
	d = sqlite3_column_text(st, 7);
	l->delimiter[0] = d ? (char)d[0] : '\0';
	l->gzip = sqlite3_column_int(st, 8);
	l->rows = sqlite3_column_int64(st, 9);
	l->max_fields = sqlite3_column_int64(st, 10);
	l->blank_lines = sqlite3_column_int64(st, 11);
	l->input_error = column_strdup(st, 12, NULL);
	l->started_at = sqlite3_column_int64(st, 13);
	l->finished_at = sqlite3_column_int64(st, 14);
	l->import_secs = sqlite3_column_double(st, 15);
	l->raw_bytes = sqlite3_column_int64(st, 16);
	l->raw_sha256 = column_strdup(st, 17, NULL);
}

int store_list_by_identity(struct store *s, const char *identity, struct store_list *l)
{
	sqlite3_stmt *st = store_stmt(s, ST_LIST_BY_IDENTITY);
	int rc;

	bind_text(st, 1, identity);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		list_from_row(st, l);
		sqlite3_reset(st);
		return 1;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int64_t store_list_create(struct store *s, const char *name, const char *identity, int64_t now)
{
	sqlite3_stmt *st = store_stmt(s, ST_LIST_CREATE);

	bind_text(st, 1, name);
	bind_text(st, 2, identity);
	sqlite3_bind_int64(st, 3, now);
	if (step_done(s, st) < 0)
		return -1;
	return sqlite3_last_insert_rowid(s->db);
}

int store_list_set_layout(struct store *s, const struct store_list *l)
{
	sqlite3_stmt *st = store_stmt(s, ST_LIST_SET_LAYOUT);

	sqlite3_bind_int64(st, 1, l->id);
	sqlite3_bind_int(st, 2, l->has_header);
	if (l->header)
		sqlite3_bind_blob(st, 3, l->header, (int)l->header_len, SQLITE_STATIC);
	if (l->email_col >= 0)
		sqlite3_bind_int(st, 4, l->email_col);
	sqlite3_bind_text(st, 5, l->delimiter, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, l->gzip);
	sqlite3_bind_int64(st, 7, l->max_fields);
	return step_done(s, st);
}

int store_list_progress(struct store *s, int64_t list_id, int64_t rows, int64_t max_fields,
                        int64_t blank_lines)
{
	sqlite3_stmt *st = store_stmt(s, ST_LIST_PROGRESS);

	sqlite3_bind_int64(st, 1, list_id);
	sqlite3_bind_int64(st, 2, rows);
	sqlite3_bind_int64(st, 3, max_fields);
	sqlite3_bind_int64(st, 4, blank_lines);
	return step_done(s, st);
}

int store_list_finish(struct store *s, int64_t list_id, int64_t now, double secs,
                      const char *input_error)
{
	sqlite3_stmt *st = store_stmt(s, ST_LIST_FINISH);

	sqlite3_bind_int64(st, 1, list_id);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_double(st, 3, secs);
	bind_text(st, 4, input_error);
	return step_done(s, st);
}

int store_list_set_shard(struct store *s, int64_t list_id, int k, int n)
{
	sqlite3_stmt *st = store_stmt(s, ST_LIST_SET_SHARD);

	sqlite3_bind_int64(st, 1, list_id);
	sqlite3_bind_int(st, 2, k);
	sqlite3_bind_int(st, 3, n);
	return step_done(s, st);
}

int store_list_shard(struct store *s, int64_t list_id, int *k, int *n)
{
	sqlite3_stmt *st;
	int rc;

	*k = *n = 0;
	if (stmt_once(s, ST_LIST_SHARD, &st) != SQLITE_OK)
		return 0; /* a store from before migration 008, read: its lists are whole */
	sqlite3_bind_int64(st, 1, list_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*k = sqlite3_column_int(st, 0);
		*n = sqlite3_column_int(st, 1);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int store_list_add_secs(struct store *s, int64_t list_id, double secs)
{
	sqlite3_stmt *st = store_stmt(s, ST_LIST_ADD_SECS);

	sqlite3_bind_int64(st, 1, list_id);
	sqlite3_bind_double(st, 2, secs);
	return step_done(s, st);
}

int store_list_fix_dups(struct store *s, int64_t list_id)
{
	static const enum stmt_id sql[] = {ST_LIST_FIX_DUPS, ST_LIST_FIX_LINKED_DUPS};

	for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
		sqlite3_stmt *st;
		int rc;

		if (stmt_once(s, sql[i], &st) != SQLITE_OK)
			return -1;
		sqlite3_bind_int64(st, 1, list_id);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return -1;
	}
	return 0;
}

int store_list_set_digest(struct store *s, int64_t list_id, int64_t raw_bytes,
                          const char *sha256_hex)
{
	sqlite3_stmt *st = store_stmt(s, ST_LIST_SET_DIGEST);

	sqlite3_bind_int64(st, 1, list_id);
	sqlite3_bind_int64(st, 2, raw_bytes);
	bind_text(st, 3, sha256_hex);
	return step_done(s, st);
}

int store_list_set_identity(struct store *s, int64_t list_id, const char *identity)
{
	sqlite3_stmt *st = store_stmt(s, ST_LIST_SET_IDENTITY);

	sqlite3_bind_int64(st, 1, list_id);
	bind_text(st, 2, identity);
	return step_done(s, st);
}

int store_list_drop(struct store *s, int64_t list_id, char *err, size_t errlen)
{
	static const enum stmt_id sql[] = {
		ST_LIST_DROP_ROWS, ST_LIST_DROP_LINKS, ST_LIST_DROP_PROBLEMS, ST_LIST_DROP_SEEN, ST_LIST_DROP,
	};

	if (store_begin(s, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
		sqlite3_stmt *st = NULL;
		int rc = stmt_once(s, sql[i], &st);

		if (rc == SQLITE_OK) {
			sqlite3_bind_int64(st, 1, list_id);
			rc = sqlite3_step(st);
		}
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE) {
			snprintf(err, errlen, "job store: %s", sqlite3_errmsg(s->db));
			store_rollback(s);
			return -1;
		}
	}
	return store_commit(s, err, errlen);
}

/* collect_lists - every list row ST yields (its parameters bound), then reset it */
static int collect_lists(sqlite3_stmt *st, struct store_list **out, size_t *n)
{
	struct store_list *v = NULL;
	size_t cap = 0, len = 0;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 8;
			v = realloc(v, cap * sizeof *v);
			if (v == NULL)
				abort();
		}
		list_from_row(st, &v[len++]);
	}
	sqlite3_reset(st);
	*out = v;
	*n = len;
	if (rc != SQLITE_DONE) {
		store_lists_free(v, len);
		*out = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

int store_lists_by_prefix(struct store *s, const char *prefix, struct store_list **out,
                          size_t *n)
{
	sqlite3_stmt *st = store_stmt(s, ST_LISTS_BY_PREFIX);

	bind_text(st, 1, prefix);
	return collect_lists(st, out, n);
}

int store_lists(struct store *s, struct store_list **out, size_t *n)
{
	return collect_lists(store_stmt(s, ST_LISTS), out, n);
}

void store_lists_free(struct store_list *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_list_free(&v[i]);
	free(v);
}

/* ---- rows and addresses ---- */

/* key_hash - 64-bit FNV-1a of KEY with a final mix, as SQLite's signed integer */
static int64_t key_hash(const char *key)
{
	return (int64_t)hash_mix64(hash_fnv1a64_str(key)); /* on disk: common/hash.h never changes */
}

#define KEY_HASH_PROBES 64 /* hash values tried for one key; 64-bit collisions are rare */

/* addr_at - the address stored under hash value H: 1 with its key compared to KEY in *same
 * and its id and dedupe marks, 0 when H is free, -1 on error */
static int addr_at(struct store *s, int64_t h, const char *key, int *same, int64_t *id,
                   int64_t *seen_list, int64_t *seen_line)
{
	sqlite3_stmt *st = store_stmt(s, ST_ADDR_FIND);
	int rc, found = 0;

	sqlite3_bind_int64(st, 1, h);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *k = column_text(st, 1);
		found = 1;
		*same = k && strcmp(k, key) == 0;
		*id = sqlite3_column_int64(st, 0);
		*seen_list = sqlite3_column_int64(st, 2);
		*seen_line = sqlite3_column_int64(st, 3);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? found : rc == SQLITE_DONE ? 0 : -1;
}

/* addr_insert - store A under hash value H unless H is taken; 1 inserted, 0 taken, -1 error */
static int addr_insert(struct store *s, const struct store_row_in *row, int64_t h)
{
	const struct store_addr_in *a = row->addr;
	sqlite3_stmt *st = store_stmt(s, ST_ADDR_INSERT);

	sqlite3_bind_int64(st, 1, h);
	bind_text(st, 2, a->key);
	if (a->address && strcmp(a->address, a->key) != 0)
		bind_text(st, 3, a->address); /* kept only when it differs: most are equal */
	bind_text(st, 4, a->domain);
	sqlite3_bind_int(st, 5, (int)a->flags);
	bind_text(st, 6, a->suggestion);
	sqlite3_bind_int64(st, 7, row->list_id);
	sqlite3_bind_int64(st, 8, row->line);
	/* a verdict known at import is final */
	sqlite3_bind_int(st, 9, a->status ? STORE_ADDR_DONE : STORE_ADDR_PENDING);
	bind_text(st, 10, a->status);
	bind_text(st, 11, a->reason);
	bind_text(st, 12, a->detail);
	if (step_done(s, st) < 0)
		return -1;
	return sqlite3_changes(s->db) == 1;
}

/* addr_upsert - the address's id, and the line of its first row in this list when the row is
 * a duplicate (0 otherwise); -1 on error. A new address (most rows) costs one INSERT OR IGNORE:
 * one seek in the hash index, no statement journal (an UPSERT ... RETURNING needs one and
 * costs a 64 KiB allocation per row). A taken hash value means a repeat (the key matches) or
 * a collision (it does not: try the next value). */
static int64_t addr_upsert(struct store *s, const struct store_row_in *row, int64_t *dup_of)
{
	int64_t h = key_hash(row->addr->key), id = 0, seen_list = 0, seen_line = 0;
	sqlite3_stmt *st;
	int rc, same = 0;

	*dup_of = 0;
	for (int probe = 0; probe < KEY_HASH_PROBES; probe++, h = (int64_t)((uint64_t)h + 1)) {
		rc = addr_insert(s, row, h);
		if (rc != 0)
			return rc < 0 ? -1 : sqlite3_last_insert_rowid(s->db);
		rc = addr_at(s, h, row->addr->key, &same, &id, &seen_list, &seen_line);
		if (rc < 0)
			return -1;
		if (rc == 1 && same)
			break;
	}
	if (!same)
		return -1; /* KEY_HASH_PROBES collisions in a row: the table is broken */
	if (row->list_id == 0)
		return id; /* an address given alone (store_addr_add): no list's dedupe to mark */
	if (seen_list == row->list_id) {
		*dup_of = seen_line;
		return id;
	}
	st = store_stmt(s, ST_ADDR_CLAIM);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, row->list_id);
	sqlite3_bind_int64(st, 3, row->line);
	return step_done(s, st) < 0 ? -1 : id;
}

/* bulk_defer - set ROW's address aside: the filter says its key may have been met before */
static int bulk_defer(struct store *s, const struct store_row_in *row, int64_t h)
{
	const struct store_addr_in *a = row->addr;
	sqlite3_stmt *st = store_stmt(s, ST_DEFER_ROW);

	sqlite3_bind_int64(st, 1, row->list_id);
	sqlite3_bind_int64(st, 2, row->row_no);
	sqlite3_bind_int64(st, 3, row->line);
	sqlite3_bind_int64(st, 4, h);
	bind_text(st, 5, a->key);
	bind_text(st, 6, a->address);
	bind_text(st, 7, a->domain);
	sqlite3_bind_int(st, 8, (int)a->flags);
	bind_text(st, 9, a->suggestion);
	bind_text(st, 10, a->status);
	bind_text(st, 11, a->reason);
	bind_text(st, 12, a->detail);
	return step_done(s, st);
}

int store_row_add(struct store *s, const struct store_row_in *row)
{
	sqlite3_stmt *st;
	int64_t addr_id = 0, dup_of = 0, h = 0;
	int defer = 0;

	if (row->addr && s->bulk) {
		/* A key the filter never met is new: appended, no index to consult. Else set aside
		 * for store_bulk_finish. */
		h = key_hash(row->addr->key);
		defer = bloom_maybe(&s->seen, (uint64_t)h);
		if (!defer) {
			bloom_add(&s->seen, (uint64_t)h);
			if (addr_insert(s, row, h) != 1)
				return -1;
			addr_id = sqlite3_last_insert_rowid(s->db);
		}
	} else if (row->addr) {
		addr_id = addr_upsert(s, row, &dup_of);
		if (addr_id < 0)
			return -1;
	}
	st = store_stmt(s, ST_ROW_ADD);
	sqlite3_bind_int64(st, 1, row->list_id);
	sqlite3_bind_int64(st, 2, row->row_no);
	sqlite3_bind_int64(st, 3, row->line);
	if (row->record)
		sqlite3_bind_blob(st, 4, row->record, (int)row->record_len, SQLITE_STATIC);
	if (row->addr && !defer)
		sqlite3_bind_int64(st, 5, addr_id);
	if (dup_of > 0)
		sqlite3_bind_int64(st, 6, dup_of);
	bind_text(st, 7, row->problem);
	bind_text(st, 8, row->detail);
	if (row->addr && row->addr->address && row->addr->key &&
	    strcmp(row->addr->address, row->addr->key) != 0)
		bind_text(st, 9, row->addr->address); /* this row's own spelling (migration 006) */
	if (step_done(s, st) < 0)
		return -1;
	return defer ? bulk_defer(s, row, h) : 0;
}

/* ---- bulk import ----
 * The dedupe index on key_hash is what made big imports superlinear: each row's key lands on
 * a random page of it, and once the index outgrows the page cache every batch rewrites most of
 * its pages. An import into a store that holds nothing else drops the index, appends each
 * address a fixed-size Bloom filter has never met (certainly new: most of them), sets aside the
 * rows whose key it may have met (repeats, and the filter's false positives), then builds the
 * index once, sorted, and settles the rows set aside through it, in key order. The index is
 * missing only while a bulk import runs or after one was cut short: store_open settles that. */
int store_bulk_begin(struct store *s, int64_t list_id, size_t filter_bytes, char *err,
                     size_t errlen)
{
	sqlite3_stmt *st;
	int rc = SQLITE_ERROR, others = -1, own;

	if (s->bulk)
		return 1;
	if (stmt_once(s, ST_BULK_OTHERS, &st) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, list_id);
		if (sqlite3_step(st) == SQLITE_ROW)
			others = sqlite3_column_int(st, 0);
	}
	sqlite3_finalize(st);
	if (others != 0) {
		if (others < 0)
			err_set(err, errlen, "%s: %s", s->path, sqlite3_errmsg(s->db));
		return others < 0 ? -1 : 0;
	}
	if (bloom_init(&s->seen, filter_bytes) < 0) {
		err_set(err, errlen, "out of memory");
		return -1;
	}
	/* a resumed import: the addresses of its rows so far, in one reading that also finds
	 * an address the list does not hold alone */
	others = 0;
	if (stmt_once(s, ST_BULK_SEED, &st) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, list_id);
		while (!others && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			bloom_add(&s->seen, (uint64_t)sqlite3_column_int64(st, 0));
			others = sqlite3_column_int(st, 1);
		}
	}
	sqlite3_finalize(st);
	if (others || rc != SQLITE_DONE) {
		if (!others)
			err_set(err, errlen, "%s: %s", s->path, sqlite3_errmsg(s->db));
		bloom_free(&s->seen);
		return others ? 0 : -1;
	}
	/* in the caller's transaction, if one is open: rolled back, the index is back, and
	 * store_bulk_finish has nothing to build */
	own = !s->in_tx;
	if ((own && store_begin(s, err, errlen) < 0) ||
	    store_exec(s, "DROP INDEX IF EXISTS addresses_key_hash", err, errlen) < 0 ||
	    (own && store_commit(s, err, errlen) < 0) || store_set_cache(s, STORE_BULK_CACHE_KIB) < 0) {
		if (own)
			store_rollback(s);
		bloom_free(&s->seen);
		return -1;
	}
	s->bulk = 1;
	return 1;
}

/* bulk_settle - the rows set aside, each given its address (found through the index, or
 * added) and its duplicate mark in row_links; in the caller's transaction */
static int bulk_settle(struct store *s)
{
	sqlite3_stmt *q = NULL, *add = NULL;
	int rc;

	/* filled in key order, read in row order (one sort): no random writes to a b-tree */
	if (store_exec(s, "CREATE TEMP TABLE IF NOT EXISTS bulk_resolved(row_id INTEGER,"
	                  " address_id INTEGER, dup_of INTEGER)", NULL, 0) < 0 ||
	    stmt_once(s, ST_BULK_DEFERRED, &q) != SQLITE_OK ||
	    stmt_once(s, ST_BULK_RESOLVED_ADD, &add) != SQLITE_OK) {
		sqlite3_finalize(q);
		return -1;
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct store_addr_in a = {
			.key = column_text(q, 3), .address = column_text(q, 4),
			.domain = column_text(q, 5), .flags = (unsigned)sqlite3_column_int(q, 6),
			.suggestion = column_text(q, 7), .status = column_text(q, 8),
			.reason = column_text(q, 9), .detail = column_text(q, 10)};
		struct store_row_in row = {.list_id = sqlite3_column_int64(q, 1),
		                           .line = sqlite3_column_int64(q, 2), .addr = &a};
		int64_t dup_of = 0, id = addr_upsert(s, &row, &dup_of);

		if (id < 0)
			break;
		sqlite3_bind_int64(add, 1, sqlite3_column_int64(q, 0));
		sqlite3_bind_int64(add, 2, id);
		if (dup_of > 0)
			sqlite3_bind_int64(add, 3, dup_of);
		else
			sqlite3_bind_null(add, 3);
		if (step_done(s, add) < 0)
			break;
	}
	sqlite3_finalize(q);
	sqlite3_finalize(add);
	if (rc != SQLITE_DONE)
		return -1;
	return store_exec(s, stmt_sql[ST_BULK_LINK], NULL, 0) < 0 ? -1
	       : store_exec(s, "DELETE FROM deferred_rows; DROP TABLE temp.bulk_resolved;", NULL, 0);
}

int store_bulk_finish(struct store *s, char *err, size_t errlen)
{
	int own = !s->in_tx;

	if (s->bulk) {
		bloom_free(&s->seen);
		s->bulk = 0;
	} else if (count_query(s, ST_BULK_HAS_INDEX) == 1) {
		return 0; /* nothing to settle */
	}
	/* SQLite's external sort builds the index, in as much memory as the page cache: keep both
	 * at the bulk import's size, then give the cache back its own */
	if (store_set_cache(s, STORE_BULK_CACHE_KIB) < 0 || (own && store_begin(s, err, errlen) < 0))
		return -1;
	if (store_exec(s, "CREATE UNIQUE INDEX IF NOT EXISTS addresses_key_hash ON addresses(key_hash)",
	               err, errlen) < 0 ||
	    bulk_settle(s) < 0) {
		if (err && errlen && !err[0])
			err_set(err, errlen, "%s: settling the bulk import: %s", s->path,
			        sqlite3_errmsg(s->db));
		if (own)
			store_rollback(s);
		return -1;
	}
	if (own && store_commit(s, err, errlen) < 0)
		return -1;
	return store_set_cache(s, STORE_CACHE_KIB);
}

int64_t store_addr_add(struct store *s, const struct store_addr_in *a)
{
	struct store_row_in row = {.list_id = 0, .addr = a};
	int64_t dup_of;

	if (s->bulk)
		return -1; /* no dedupe index until store_bulk_finish */
	return addr_upsert(s, &row, &dup_of);
}

int store_addr_refresh(struct store *s, int64_t id, int64_t stale_before)
{
	sqlite3_stmt *st = store_stmt(s, ST_ADDR_REFRESH);

	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, stale_before);
	if (step_done(s, st) < 0)
		return -1;
	if (sqlite3_changes(s->db) == 0)
		return 0;
	return store_trace_delete(s, id) < 0 ? -1 : 1; /* its transcript explained the old verdict */
}

int store_addr_read(struct store *s, int64_t id,
                    int (*fn)(void *ctx, const struct store_addr_out *a), void *ctx)
{
	sqlite3_stmt *st = store_stmt(s, ST_ADDR_READ);
	struct store_addr_out a;
	int rc;

	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		struct store_row_out *r = &a.v;
		memset(&a, 0, sizeof a);
		r->has_address = 1;
		r->address = column_text(st, 0);
		r->status = column_text(st, 1);
		r->reason = column_text(st, 2);
		r->detail = column_text(st, 3);
		r->enhanced_code = column_text(st, 4);
		r->smtp_message = column_text(st, 5);
		r->mx_host = column_text(st, 6);
		r->suggestion = column_text(st, 7);
		r->smtp_code = sqlite3_column_int64(st, 8);
		r->flags = (unsigned)sqlite3_column_int(st, 9);
		r->checked_at = sqlite3_column_int64(st, 10);
		r->address_id = sqlite3_column_int64(st, 11);
		r->domain = column_text(st, 12);
		r->tls = sqlite3_column_int(st, 13);
		r->attempts = sqlite3_column_int(st, 14);
		a.state = (enum store_addr_state)sqlite3_column_int(st, 15);
		a.next_attempt_at = sqlite3_column_int64(st, 16);
		rc = fn(ctx, &a);
		sqlite3_reset(st);
		return rc < 0 ? -1 : 1;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int store_problem_add(struct store *s, int64_t list_id, int64_t line, const char *kind,
                      const char *message)
{
	sqlite3_stmt *st = store_stmt(s, ST_PROBLEM_ADD);

	sqlite3_bind_int64(st, 1, list_id);
	sqlite3_bind_int64(st, 2, line);
	bind_text(st, 3, kind);
	bind_text(st, 4, message);
	return step_done(s, st);
}

/* ---- export ---- */

void store_rows_start(struct store *s, int64_t list_id)
{
	s->rows = count_query(s, ST_ANY_HISTORY) == 0 ? ST_ROWS_OF_LIST_FIRST_VERDICTS
	                                                : ST_ROWS_OF_LIST;
	sqlite3_bind_int64(store_stmt(s, s->rows), 1, list_id); /* prepared, reset */
}

/* row_set_aside - R (row ROW_ID) holds an address a bulk import set aside and has not
 * settled: the address as the import checked it (a syntax verdict, else none yet), never "no
 * address"; its duplicate mark is not known yet. 1, or -1 on error. */
static int row_set_aside(struct store *s, int64_t row_id, struct store_row_out *r)
{
	sqlite3_stmt *st = store_stmt(s, ST_ROW_SET_ASIDE); /* its text lives to the next row */

	sqlite3_bind_int64(st, 1, row_id);
	if (sqlite3_step(st) != SQLITE_ROW)
		return -1;
	r->has_address = 1;
	if (r->address == NULL)
		r->address = column_text(st, 0);
	r->domain = column_text(st, 1);
	r->flags = (unsigned)sqlite3_column_int(st, 2);
	r->suggestion = column_text(st, 3);
	r->status = column_text(st, 4);
	r->reason = column_text(st, 5);
	if (r->detail == NULL)
		r->detail = column_text(st, 6);
	return 1;
}

int store_rows_next(struct store *s, struct store_row_out *r)
{
	sqlite3_stmt *st = s->stmt[s->rows]; /* as store_rows_start left it: not reset */
	int rc = st ? sqlite3_step(st) : SQLITE_MISUSE;

	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? 0 : -1;
	}
	memset(r, 0, sizeof *r);
	r->row_no = sqlite3_column_int64(st, 0);
	r->line = sqlite3_column_int64(st, 1);
	r->record = sqlite3_column_blob(st, 2);
	r->record_len = (size_t)sqlite3_column_bytes(st, 2);
	r->problem = column_text(st, 3);
	r->dup_of = sqlite3_column_int64(st, 4);
	r->has_address = sqlite3_column_int(st, 5);
	r->address = column_text(st, 6);
	r->status = column_text(st, 7);
	r->reason = column_text(st, 8);
	r->detail = column_text(st, 9);
	r->enhanced_code = column_text(st, 10);
	r->smtp_message = column_text(st, 11);
	r->mx_host = column_text(st, 12);
	r->suggestion = column_text(st, 13);
	r->smtp_code = sqlite3_column_int64(st, 14);
	r->flags = (unsigned)sqlite3_column_int(st, 15);
	r->checked_at = sqlite3_column_int64(st, 16);
	r->address_id = sqlite3_column_int64(st, 17);
	r->domain = column_text(st, 18);
	r->tls = sqlite3_column_int(st, 19);
	r->attempts = sqlite3_column_int(st, 20);
	r->prev_status = column_text(st, 21);
	r->prev_checked_at = sqlite3_column_int64(st, 22);
	if (!r->has_address && r->problem == NULL)
		return row_set_aside(s, sqlite3_column_int64(st, 23), r);
	return 1;
}

void store_rows_stop(struct store *s)
{
	if (s->stmt[s->rows])
		sqlite3_reset(s->stmt[s->rows]);
}

int store_rows_each(struct store *s, int64_t list_id,
                    int (*fn)(void *ctx, const struct store_row_out *row), void *ctx)
{
	struct store_row_out r;
	int rc, stop = 0;

	store_rows_start(s, list_id);
	while (!stop && (rc = store_rows_next(s, &r)) == 1)
		stop = fn(ctx, &r);
	if (stop) {
		store_rows_stop(s);
		return stop < 0 ? -1 : 0;
	}
	return rc;
}

int store_problem_counts(struct store *s, int64_t list_id, struct store_problem_count **out,
                         size_t *n)
{
	sqlite3_stmt *st = store_stmt(s, ST_PROBLEM_COUNTS);
	struct store_problem_count *v = NULL;
	size_t len = 0, cap = 0;
	int rc;

	sqlite3_bind_int64(st, 1, list_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 8;
			v = realloc(v, cap * sizeof *v);
			if (v == NULL)
				abort();
		}
		snprintf(v[len].kind, sizeof v[len].kind, "%s", column_text(st, 0));
		v[len].count = sqlite3_column_int64(st, 1);
		v[len].first_line = sqlite3_column_int64(st, 2);
		len++;
	}
	sqlite3_reset(st);
	*out = v;
	*n = len;
	return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- runs ---- */

static int exec_bound(struct store *s, enum stmt_id id, int64_t a, int64_t b)
{
	sqlite3_stmt *st;
	int rc;

	if (stmt_once(s, id, &st) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, a);
	sqlite3_bind_int64(st, 2, b);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

int64_t store_stale_before(double max_age_days, int64_t now)
{
	if (max_age_days < 0)
		return 0;
	if (max_age_days == 0)
		return INT64_MAX;
	return now - (int64_t)(max_age_days * STORE_DAY_SECONDS);
}

int64_t store_run_begin(struct store *s, int64_t now, int64_t stale_before)
{
	if (exec_bound(s, ST_RUN_REQUEUE, 0, 0) < 0)
		return -1;
	if (stale_before > 0 && (exec_bound(s, ST_RUN_STALE, stale_before, 0) < 0 ||
	                         exec_bound(s, ST_STALE_TRACES, 0, 0) < 0 ||
	                         exec_bound(s, ST_RUN_STALE_DOMAINS, stale_before, 0) < 0))
		return -1;
	if (exec_bound(s, ST_RUN_ADD, now, 0) < 0)
		return -1;
	return sqlite3_last_insert_rowid(s->db);
}

int store_run_end(struct store *s, int64_t run_id, int64_t now, const char *outcome,
                  const char *stats_json)
{
	sqlite3_stmt *st;
	int rc;

	if (stmt_once(s, ST_RUN_END, &st) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_int64(st, 2, now);
	bind_text(st, 3, outcome);
	bind_text(st, 4, stats_json);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

char *store_last_run_stats(struct store *s)
{
	sqlite3_stmt *st;
	char *v = NULL;

	if (stmt_once(s, ST_LAST_RUN_STATS, &st) != SQLITE_OK)
		return NULL;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = column_strdup(st, 0, NULL);
	sqlite3_finalize(st);
	return v;
}

/* pending_rows - each row of ST (ST_CLAIM, ST_CLAIM_DUE) to FN; the count, -1 on error */
static int pending_rows(sqlite3_stmt *st, void (*fn)(void *ctx, const struct store_pending *p),
                        void *ctx)
{
	struct store_pending p;
	int n = 0, rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		p.id = sqlite3_column_int64(st, 0);
		p.address = column_text(st, 1);
		p.domain = column_text(st, 2);
		p.flags = (unsigned)sqlite3_column_int(st, 3);
		p.attempts = sqlite3_column_int(st, 4);
		p.source = column_text(st, 5);
		fn(ctx, &p);
		n++;
	}
	return rc == SQLITE_DONE ? n : -1;
}

int store_claim(struct store *s, int64_t after, int64_t now, int max,
                void (*fn)(void *ctx, const struct store_pending *p), void *ctx)
{
	sqlite3_stmt *st = store_stmt(s, ST_CLAIM);
	int n;

	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int(st, 3, max);
	n = pending_rows(st, fn, ctx);
	sqlite3_reset(st);
	return n;
}

int store_claim_one(struct store *s, int64_t id, int64_t now,
                    void (*fn)(void *ctx, const struct store_pending *p), void *ctx)
{
	sqlite3_stmt *st = store_stmt(s, ST_CLAIM_ONE);
	int n;

	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	n = pending_rows(st, fn, ctx);
	sqlite3_reset(st);
	return n;
}

int store_claim_due(struct store *s, int64_t now, int max,
                    void (*fn)(void *ctx, const struct store_pending *p), void *ctx)
{
	sqlite3_stmt *st;
	int n;

	if (stmt_once(s, ST_CLAIM_DUE, &st) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, max);
	n = pending_rows(st, fn, ctx);
	sqlite3_finalize(st);
	return n;
}

int store_mark_in_flight(struct store *s, int64_t id)
{
	sqlite3_stmt *st = store_stmt(s, ST_MARK_IN_FLIGHT);

	sqlite3_bind_int64(st, 1, id);
	return step_done(s, st);
}

int store_pending_stats(struct store *s, int64_t now, struct store_pending_stats *ps)
{
	sqlite3_stmt *st;

	memset(ps, 0, sizeof *ps);
	if (stmt_once(s, ST_PENDING_STATS, &st) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	if (sqlite3_step(st) == SQLITE_ROW) {
		ps->due = sqlite3_column_int64(st, 0);
		ps->waiting = sqlite3_column_int64(st, 1);
		ps->next_due = sqlite3_column_int64(st, 2);
		ps->done = sqlite3_column_int64(st, 3);
	}
	sqlite3_finalize(st);
	return 0;
}

int store_retry_waiting(struct store *s, int64_t now, int64_t *count, int64_t *first,
                        int64_t *last)
{
	sqlite3_stmt *st;
	int rc;

	*count = *first = *last = 0;
	if (stmt_once(s, ST_RETRY_WAITING, &st) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*count = sqlite3_column_int64(st, 0);
		*first = sqlite3_column_int64(st, 1);
		*last = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* history_keep - the verdict address ID holds into its history, of which the newest
 * STORE_HISTORY_KEEP stay; 0, or -1 on error */
static int history_keep(struct store *s, int64_t id)
{
	sqlite3_stmt *st = store_stmt(s, ST_HISTORY_KEEP);

	sqlite3_bind_int64(st, 1, id);
	if (step_done(s, st) < 0)
		return -1;
	st = store_stmt(s, ST_HISTORY_TRIM);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, STORE_HISTORY_KEEP);
	return step_done(s, st);
}

/* verdict_update - statement ID (ST_VERDICT_FIRST, ST_VERDICT_SAVE) with V for address ID; the
 * rows it changed (0 or 1), -1 on error */
static int verdict_update(struct store *s, enum stmt_id stmt, int64_t id,
                          const struct store_verdict *v)
{
	sqlite3_stmt *st = store_stmt(s, stmt);

	sqlite3_bind_int64(st, 1, id);
	bind_text(st, 2, v->status);
	bind_text(st, 3, v->reason);
	bind_text(st, 4, v->detail && v->detail[0] ? v->detail : NULL);
	if (v->smtp_code)
		sqlite3_bind_int(st, 5, v->smtp_code);
	bind_text(st, 6, v->enhanced_code && v->enhanced_code[0] ? v->enhanced_code : NULL);
	bind_text(st, 7, v->smtp_message && v->smtp_message[0] ? v->smtp_message : NULL);
	bind_text(st, 8, v->mx_host && v->mx_host[0] ? v->mx_host : NULL);
	sqlite3_bind_int(st, 9, v->tls);
	sqlite3_bind_int(st, 10, v->attempts);
	sqlite3_bind_int(st, 11, (int)v->add_flags);
	bind_text(st, 12, v->source);
	sqlite3_bind_int64(st, 13, v->checked_at);
	return step_done(s, st) < 0 ? -1 : sqlite3_changes(s->db);
}

int store_verdict_save(struct store *s, int64_t id, const struct store_verdict *v)
{
	int rc = verdict_update(s, ST_VERDICT_FIRST, id, v);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	/* It had a verdict: that one goes to its history first. */
	if (history_keep(s, id) < 0 || verdict_update(s, ST_VERDICT_SAVE, id, v) < 0)
		return -1;
	return 0;
}

int store_retry_save(struct store *s, int64_t id, int attempts, int64_t at, const char *source)
{
	sqlite3_stmt *st = store_stmt(s, ST_RETRY_SAVE);

	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, attempts);
	sqlite3_bind_int64(st, 3, at);
	bind_text(st, 4, source);
	return step_done(s, st);
}

int store_catch_all(struct store *s, const char *domain)
{
	sqlite3_stmt *st = store_stmt(s, ST_CATCH_ALL_GET);
	int v = -1;

	bind_text(st, 1, domain);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	return v;
}

int store_set_catch_all(struct store *s, const char *domain, int catch_all, int64_t now)
{
	sqlite3_stmt *st = store_stmt(s, ST_CATCH_ALL_SET);

	bind_text(st, 1, domain);
	if (catch_all >= 0)
		sqlite3_bind_int(st, 2, catch_all);
	sqlite3_bind_int64(st, 3, now);
	return step_done(s, st);
}

int store_host_save(struct store *s, const struct store_host *h)
{
	sqlite3_stmt *st = store_stmt(s, ST_HOST_SAVE);
	const int64_t ints[] = {h->run_id, h->window, h->ceiling, h->rcpt_limit, h->failures,
	                        h->penalty};
	const int64_t stats[] = {h->sessions, h->max_window, h->pushback, h->connect_failures,
	                         h->pauses, h->reached, h->unreached};

	bind_text(st, 1, h->ip);
	bind_text(st, 2, h->source);
	for (int i = 0; i < 6; i++)
		sqlite3_bind_int64(st, 3 + i, ints[i]);
	sqlite3_bind_double(st, 9, h->paused_until);
	sqlite3_bind_double(st, 10, h->next_start);
	sqlite3_bind_double(st, 11, h->rtt);
	for (int i = 0; i < 7; i++)
		sqlite3_bind_int64(st, 12 + i, stats[i]);
	return step_done(s, st);
}

/* host_read - the host_state row ST stands on into OUT (its texts in OUT's buffers) */
static void host_read(sqlite3_stmt *st, struct store_host *out)
{
	snprintf(out->ip_buf, sizeof out->ip_buf, "%s", (const char *)sqlite3_column_text(st, 0));
	snprintf(out->source_buf, sizeof out->source_buf, "%s",
	         (const char *)sqlite3_column_text(st, 1));
	out->ip = out->ip_buf;
	out->source = out->source_buf;
	out->run_id = sqlite3_column_int64(st, 2);
	out->window = sqlite3_column_int(st, 3);
	out->ceiling = sqlite3_column_int(st, 4);
	out->rcpt_limit = sqlite3_column_int(st, 5);
	out->failures = sqlite3_column_int(st, 6);
	out->penalty = sqlite3_column_int(st, 7);
	out->paused_until = sqlite3_column_double(st, 8);
	out->next_start = sqlite3_column_double(st, 9);
	out->rtt = sqlite3_column_double(st, 10);
	out->sessions = sqlite3_column_int64(st, 11);
	out->max_window = sqlite3_column_int(st, 12);
	out->pushback = sqlite3_column_int64(st, 13);
	out->connect_failures = sqlite3_column_int64(st, 14);
	out->pauses = sqlite3_column_int64(st, 15);
	out->reached = sqlite3_column_int(st, 16);
	out->unreached = sqlite3_column_int(st, 17);
}

int store_host_load(struct store *s, int64_t run_id, const char *ip, const char *source,
                    struct store_host *out)
{
	sqlite3_stmt *st = store_stmt(s, ST_HOST_LOAD);
	int rc;

	bind_text(st, 1, ip);
	bind_text(st, 2, source);
	sqlite3_bind_int64(st, 3, run_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		host_read(st, out);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int store_run_hosts(struct store *s, int64_t run_id,
                    void (*cb)(void *ctx, const struct store_host *h), void *ctx)
{
	sqlite3_stmt *st = store_stmt(s, ST_RUN_HOSTS);
	struct store_host h;
	int rc;

	sqlite3_bind_int64(st, 1, run_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		host_read(st, &h);
		cb(ctx, &h);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- transcripts and the session log (migration 011) ---- */

int64_t store_addr_find(struct store *s, const char *key)
{
	int64_t h = key_hash(key), id = 0, seen_list, seen_line;

	for (int probe = 0; probe < KEY_HASH_PROBES; probe++, h = (int64_t)((uint64_t)h + 1)) {
		int same = 0, rc = addr_at(s, h, key, &same, &id, &seen_list, &seen_line);
		if (rc <= 0)
			return rc; /* a free value ends the probe sequence: not stored */
		if (same)
			return id;
	}
	return 0;
}

int store_list_has_address(struct store *s, int64_t list_id, int64_t address_id)
{
	sqlite3_stmt *st;
	int rc;

	if (stmt_once(s, ST_LIST_HAS_ADDRESS, &st) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, list_id);
	sqlite3_bind_int64(st, 2, address_id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int store_trace_put(struct store *s, int64_t address_id, int64_t run_id, const char *trace)
{
	sqlite3_stmt *st = store_stmt(s, ST_TRACE_PUT);

	sqlite3_bind_int64(st, 1, address_id);
	sqlite3_bind_int64(st, 2, run_id);
	bind_text(st, 3, trace);
	return step_done(s, st);
}

int store_trace_get(struct store *s, int64_t address_id, char **trace)
{
	sqlite3_stmt *st = store_stmt(s, ST_TRACE_GET);
	int rc;

	*trace = NULL;
	sqlite3_bind_int64(st, 1, address_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*trace = column_strdup(st, 0, NULL);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW && *trace == NULL)
		return -1;
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int store_trace_delete(struct store *s, int64_t address_id)
{
	sqlite3_stmt *st = store_stmt(s, ST_TRACE_DELETE);

	sqlite3_bind_int64(st, 1, address_id);
	return step_done(s, st);
}

int store_session_add(struct store *s, const struct store_session *ss)
{
	sqlite3_stmt *st = store_stmt(s, ST_SESSION_ADD);

	sqlite3_bind_int64(st, 1, ss->run_id);
	sqlite3_bind_int64(st, 2, ss->at);
	bind_text(st, 3, ss->source);
	bind_text(st, 4, ss->mx_host);
	bind_text(st, 5, ss->mx_ip);
	sqlite3_bind_int(st, 6, ss->tls);
	sqlite3_bind_int(st, 7, ss->rcpts);
	bind_text(st, 8, ss->outcome);
	bind_text(st, 9, ss->smtp_end);
	if (ss->code > 0)
		sqlite3_bind_int(st, 10, ss->code);
	bind_text(st, 11, ss->enhanced && ss->enhanced[0] ? ss->enhanced : NULL);
	bind_text(st, 12, ss->text && ss->text[0] ? ss->text : NULL);
	sqlite3_bind_double(st, 13, ss->seconds);
	sqlite3_bind_double(st, 14, ss->reply_ms);
	return step_done(s, st);
}

int store_session_trim(struct store *s, int64_t keep)
{
	return exec_bound(s, ST_SESSION_TRIM, keep, 0);
}

int store_session_hosts(struct store *s, int64_t run_id,
                        int (*fn)(void *ctx, const struct store_session_host *h), void *ctx)
{
	sqlite3_stmt *st;
	int rc;

	if (stmt_once(s, ST_SESSION_HOSTS, &st) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, run_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_session_host h = {
			.mx_host = column_text(st, 0),
			.mx_ip = column_text(st, 1),
			.sessions = sqlite3_column_int64(st, 2),
			.refusals = sqlite3_column_int64(st, 3),
			.completed = sqlite3_column_int64(st, 4),
			.rcpts = sqlite3_column_int64(st, 5),
			.median_reply_ms = sqlite3_column_double(st, 6),
			.last_code = sqlite3_column_int(st, 7),
			.last_enhanced = column_text(st, 8),
			.last_text = column_text(st, 9),
			.last_outcome = column_text(st, 10),
		};
		if (fn(ctx, &h) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int store_dns_get(struct store *s, const char *domain, int64_t since, char **status, char **mx)
{
	sqlite3_stmt *st = store_stmt(s, ST_DNS_GET);
	int rc, found = 0;

	*status = *mx = NULL;
	bind_text(st, 1, domain);
	sqlite3_bind_int64(st, 2, since);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*status = column_strdup(st, 0, NULL);
		*mx = column_strdup(st, 1, NULL);
		found = 1;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : -1;
}

int store_dns_set(struct store *s, const char *domain, const char *status, const char *mx,
                  int64_t now)
{
	sqlite3_stmt *st = store_stmt(s, ST_DNS_SET);

	bind_text(st, 1, domain);
	bind_text(st, 2, status);
	bind_text(st, 3, mx);
	sqlite3_bind_int64(st, 4, now);
	return step_done(s, st);
}

int64_t store_count_stale(struct store *s, int64_t stale_before)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (stmt_once(s, ST_COUNT_STALE, &st) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, stale_before);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* ---- status ---- */

/* status_pair - the statuses named PREV and CUR: 0 with their indexes, -1 when either is not one */
static int status_pair(const char *prev, const char *cur, int *p, int *c)
{
	*p = prev ? verdict_status_from_name(prev) : -1;
	*c = cur ? verdict_status_from_name(cur) : -1;
	return *p >= 0 && *c >= 0 ? 0 : -1;
}

/* count_changes - the done addresses by (previous, current) status where they differ */
static int count_changes(struct store *s, int64_t changes[STATUS_COUNT][STATUS_COUNT])
{
	sqlite3_stmt *st;
	int rc, p, c;

	if (stmt_once(s, ST_CHANGES, &st) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (status_pair(column_text(st, 0), column_text(st, 1), &p, &c) == 0)
			changes[p][c] += sqlite3_column_int64(st, 2);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int store_counts(struct store *s, struct store_counts *c)
{
	sqlite3_stmt *st;

	memset(c, 0, sizeof *c);
	if (stmt_once(s, ST_STATE_COUNTS, &st) != SQLITE_OK)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		int state = sqlite3_column_int(st, 0);
		const char *status = column_text(st, 1);
		int64_t n = sqlite3_column_int64(st, 2);
		int k = status ? verdict_status_from_name(status) : -1;

		c->addresses += n;
		if (state == STORE_ADDR_PENDING)
			c->pending += n;
		else if (state == STORE_ADDR_IN_FLIGHT)
			c->in_flight += n;
		else
			c->done += n;
		if (k >= 0 && state == STORE_ADDR_DONE)
			c->by_status[k] += n;
	}
	sqlite3_finalize(st);
	if (count_changes(s, c->changes) < 0)
		return -1;
	c->rows = count_query(s, ST_ROWS_COUNT);
	c->rows_without_address = count_query(s, ST_ROWS_WITHOUT_ADDRESS);
	c->duplicate_rows = count_query(s, ST_DUPLICATE_ROWS);
	return c->rows < 0 ? -1 : 0;
}

/* ---- jobs (the server's bulk jobs) ---- */

/* job_from_row - a job row of JOB_COLUMNS into J (strings copied) */
static void job_from_row(sqlite3_stmt *st, struct store_job *j)
{
	const char *id = column_text(st, 0);

	memset(j, 0, sizeof *j);
	snprintf(j->id, sizeof j->id, "%s", id ? id : "");
	j->owner = column_strdup(st, 1, NULL);
	j->name = column_strdup(st, 2, NULL);
	j->column = column_strdup(st, 3, NULL);
	j->max_age_days = sqlite3_column_double(st, 4);
	j->callback_url = column_strdup(st, 5, NULL);
	j->gzip = sqlite3_column_int(st, 6);
	j->state = column_strdup(st, 7, NULL);
	j->list_id = sqlite3_column_int64(st, 8);
	j->error = column_strdup(st, 9, NULL);
	j->created_at = sqlite3_column_int64(st, 10);
	j->started_at = sqlite3_column_int64(st, 11);
	j->finished_at = sqlite3_column_int64(st, 12);
	j->callback_state = column_strdup(st, 13, NULL);
	j->callback_attempts = sqlite3_column_int(st, 14);
	j->callback_secret = column_strdup(st, 15, NULL);
	j->counts = column_strdup(st, 16, NULL);
}

void store_job_free(struct store_job *j)
{
	free(j->owner);
	free(j->name);
	free(j->column);
	free(j->callback_url);
	free(j->state);
	free(j->error);
	free(j->callback_state);
	free(j->callback_secret);
	free(j->counts);
	memset(j, 0, sizeof *j);
}

void store_jobs_free(struct store_job *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_job_free(&v[i]);
	free(v);
}

int store_job_add(struct store *s, const struct store_job *j)
{
	sqlite3_stmt *st = NULL;
	int rc = stmt_once(s, ST_JOB_ADD, &st);

	if (rc == SQLITE_OK) {
		bind_text(st, 1, j->id);
		bind_text(st, 2, j->owner);
		bind_text(st, 3, j->name);
		bind_text(st, 4, j->column);
		sqlite3_bind_double(st, 5, j->max_age_days);
		bind_text(st, 6, j->callback_url);
		sqlite3_bind_int(st, 7, j->gzip);
		bind_text(st, 8, j->state);
		if (j->list_id > 0)
			sqlite3_bind_int64(st, 9, j->list_id);
		bind_text(st, 10, j->error);
		sqlite3_bind_int64(st, 11, j->created_at);
		bind_text(st, 14, j->callback_state);
		sqlite3_bind_int(st, 15, j->callback_attempts);
		bind_text(st, 16, j->callback_secret);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* collect_jobs - the jobs ST yields (parameters bound); *out malloc'd */
static int collect_jobs(sqlite3_stmt *st, struct store_job **out, size_t *n)
{
	struct store_job *v = NULL;
	size_t cap = 0, len = 0;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 8;
			v = realloc(v, cap * sizeof *v);
			if (v == NULL)
				abort();
		}
		job_from_row(st, &v[len++]);
	}
	*out = v;
	*n = len;
	if (rc != SQLITE_DONE) {
		store_jobs_free(v, len);
		*out = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

/* jobs_query - the jobs statement ID gives with text parameter ARG (NULL: none) */
static int jobs_query(struct store *s, enum stmt_id id, const char *arg, struct store_job **out,
                      size_t *n)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	if (stmt_once(s, id, &st) != SQLITE_OK) {
		sqlite3_finalize(st);
		return -1;
	}
	if (arg)
		bind_text(st, 1, arg);
	rc = collect_jobs(st, out, n);
	sqlite3_finalize(st);
	return rc;
}

int store_job_get(struct store *s, const char *id, struct store_job *j)
{
	struct store_job *v;
	size_t n;

	if (jobs_query(s, ST_JOB_GET, id, &v, &n) < 0)
		return -1;
	if (n == 1) {
		*j = v[0];
		free(v);
		return 1;
	}
	store_jobs_free(v, n);
	return 0;
}

int store_jobs_of(struct store *s, const char *owner, struct store_job **out, size_t *n)
{
	return jobs_query(s, ST_JOBS_OF, owner, out, n);
}

int store_jobs_active(struct store *s, struct store_job **out, size_t *n)
{
	return jobs_query(s, ST_JOBS_ACTIVE, NULL, out, n);
}

/* job_update - statement ID on job JOB_ID with text ?2, then ?3 and ?4 as given */
static int job_update(struct store *s, enum stmt_id id, const char *job_id, const char *t2,
                      int64_t i2, const char *t3, int64_t i4)
{
	sqlite3_stmt *st = NULL;
	int rc = stmt_once(s, id, &st);

	if (rc == SQLITE_OK) {
		bind_text(st, 1, job_id);
		if (t2)
			bind_text(st, 2, t2);
		else
			sqlite3_bind_int64(st, 2, i2);
		if (t3)
			bind_text(st, 3, t3);
		sqlite3_bind_int64(st, 4, i4);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int store_job_set_state(struct store *s, const char *id, const char *state, const char *error,
                        int64_t now)
{
	return job_update(s, ST_JOB_STATE, id, state, 0, error, now);
}

int store_job_set_list(struct store *s, const char *id, int64_t list_id)
{
	return job_update(s, ST_JOB_LIST, id, NULL, list_id, NULL, 0);
}

int store_job_set_callback(struct store *s, const char *id, const char *state, int attempts)
{
	sqlite3_stmt *st = NULL;
	int rc = stmt_once(s, ST_JOB_CALLBACK, &st);

	if (rc == SQLITE_OK) {
		bind_text(st, 1, id);
		bind_text(st, 2, state);
		sqlite3_bind_int(st, 3, attempts);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int store_job_set_counts(struct store *s, const char *id, const char *counts_json)
{
	return job_update(s, ST_JOB_COUNTS, id, counts_json, 0, NULL, 0);
}

int store_job_delete(struct store *s, const char *id)
{
	return job_update(s, ST_JOB_DELETE, id, NULL, 0, NULL, 0);
}

int store_list_tally(struct store *s, int64_t list_id, int64_t after, int64_t upto, int64_t now,
                     struct store_tally *t)
{
	sqlite3_stmt *st = store_stmt(s, ST_JOB_TALLY);
	int rc;

	sqlite3_bind_int64(st, 1, list_id);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, after);
	sqlite3_bind_int64(st, 4, upto);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int no_addr = sqlite3_column_type(st, 0) == SQLITE_NULL;
		int state = sqlite3_column_int(st, 0);
		const char *status = column_text(st, 1);
		int dup = sqlite3_column_int(st, 2);
		int64_t count = sqlite3_column_int64(st, 3);
		int64_t due = sqlite3_column_int64(st, 4);
		const char *prev = column_text(st, 5);
		int vs, p, c;

		t->rows += count;
		if (!no_addr && state != STORE_ADDR_DONE) {
			if (state == STORE_ADDR_PENDING && due > 0) {
				t->retry_wait += count;
				if (t->retry_first == 0 || due < t->retry_first)
					t->retry_first = due;
			}
			continue;
		}
		t->done += count;
		if (dup)
			t->duplicates += count;
		else if (no_addr)
			t->by_status[STATUS_INVALID] += count;
		else if (status && (vs = verdict_status_from_name(status)) >= 0)
			t->by_status[vs] += count;
		else
			t->by_status[STATUS_UNKNOWN] += count;
		if (!dup && !no_addr && status_pair(prev, status, &p, &c) == 0 && p != c)
			t->changes[p][c] += count;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int store_list_make_stale(struct store *s, int64_t list_id, int64_t stale_before)
{
	if (exec_bound(s, ST_JOB_STALE, list_id, stale_before) < 0 ||
	    exec_bound(s, ST_STALE_TRACES, 0, 0) < 0)
		return -1;
	return exec_bound(s, ST_JOB_STALE_DOMAINS, list_id, stale_before);
}

int store_list_purge(struct store *s, int64_t list_id, char *err, size_t errlen)
{
	static const enum stmt_id sql[] = {
		ST_PURGE_MARK, ST_PURGE_KEEP, ST_PURGE_HISTORY, ST_PURGE_TRACES, ST_PURGE_ADDRESSES,
		ST_PURGE_DROP,
		ST_LIST_DROP_ROWS, ST_LIST_DROP_LINKS,
		ST_LIST_DROP_PROBLEMS, ST_LIST_DROP_SEEN, ST_LIST_DROP,
	};

	if (store_exec(s, "CREATE TEMP TABLE IF NOT EXISTS purge(id INTEGER PRIMARY KEY)", err,
	               errlen) < 0)
		return -1;
	for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
		sqlite3_stmt *st = NULL;
		int rc = stmt_once(s, sql[i], &st);

		if (rc == SQLITE_OK) {
			if (sqlite3_bind_parameter_count(st) > 0)
				sqlite3_bind_int64(st, 1, list_id);
			rc = sqlite3_step(st);
		}
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE) {
			snprintf(err, errlen, "job store: %s", sqlite3_errmsg(s->db));
			return -1;
		}
	}
	return 0;
}
