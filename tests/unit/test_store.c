/*
 * test_store - the job store on a real SQLite file: schema version, one-writer lock,
 * dedupe within and across lists, duplicate repair after a resumed import, counts, the
 * addresses waiting for a retry, the address states and key hashes as stored on disk, the
 * verdict history (kept, bounded, read back, purged), what --max-age makes stale, and the bulk
 * import (the same rows as one by one, cut short and resumed, refused, a hash collision).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "schema/store.h"
#include "tests/check.h"

static char dir[] = "/tmp/mailsift-test-store-XXXXXX";
static char path[256];

static struct store *fresh_store(const char *name)
{
	char err[512] = "";
	struct store *s;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	unlink(path);
	s = store_open(path, STORE_WRITE, err, sizeof err);
	CHECK(s != NULL, "open %s: %s", path, err);
	return s;
}

static int add_row(struct store *s, int64_t list, int64_t row, int64_t line, const char *key)
{
	struct store_addr_in a = {.key = key, .address = key, .domain = "example.com"};
	struct store_row_in r = {.list_id = list, .row_no = row, .line = line, .record = key,
	                         .record_len = key ? strlen(key) : 0, .addr = key ? &a : NULL,
	                         .problem = key ? NULL : "no_address"};
	return store_row_add(s, &r);
}

struct dup_scan {
	int64_t dup_of[16];
	int n;
};

static int collect(void *ctx, const struct store_row_out *row)
{
	struct dup_scan *d = ctx;
	if (d->n < 16)
		d->dup_of[d->n++] = row->dup_of;
	return 0;
}

static void test_schema_and_reopen(void)
{
	char err[512] = "";
	struct store *s = fresh_store("schema.db");
	struct store_list l;

	if (s == NULL)
		return;
	CHECK(store_list_create(s, "a.csv", "id-a", 1) == 1, "first list gets id 1");
	store_close(s);
	s = store_open(path, STORE_READ, err, sizeof err);
	CHECK(s != NULL, "reopen read-only: %s", err);
	if (s) {
		CHECK_INT(store_list_by_identity(s, "id-a", &l), 1, "list found after reopen");
		CHECK_STR(l.name, "a.csv", "list name");
		CHECK_INT(l.done, 0, "new list is not done");
		store_list_free(&l);
		store_close(s);
	}
}

static void test_not_a_store(void)
{
	char err[512] = "";
	FILE *f;
	struct store *s;

	snprintf(path, sizeof path, "%s/notes.txt", dir);
	f = fopen(path, "w");
	fputs("this is not a database, just some text that is long enough to be a header\n", f);
	fclose(f);
	s = store_open(path, STORE_READ, err, sizeof err);
	CHECK(s == NULL, "a text file is refused");
	CHECK(strstr(err, path) != NULL, "message names the file: %s", err);
	store_close(s);
}

/* file_bytes - the whole file at P (malloc'd), its size in *N */
static char *file_bytes(const char *p, long *n)
{
	FILE *f = fopen(p, "rb");
	char *b;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	*n = ftell(f);
	rewind(f);
	b = malloc((size_t)*n + 1);
	if (fread(b, 1, (size_t)*n, f) != (size_t)*n)
		*n = -1;
	fclose(f);
	return b;
}

/* A store gets mailsift's application id; an unrelated SQLite file and a newer store are
 * refused, byte for byte unchanged; an older store (id 0, our tables) is accepted and stamped. */
static void test_application_id(void)
{
	char err[512] = "";
	struct store *s = fresh_store("appid.db");
	sqlite3 *db;
	char *before, *after;
	long nb = 0, na = 0;
	int v = -1;

	store_close(s);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK, "open %s", path);
	sqlite3_exec(db, "PRAGMA application_id = 0", NULL, NULL, NULL);
	sqlite3_close(db);
	s = store_open(path, STORE_WRITE, err, sizeof err);
	CHECK(s != NULL, "an older store (no application id) is accepted: %s", err);
	store_close(s);
	sqlite3_open(path, &db);
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db, "PRAGMA application_id", -1, &st, NULL);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL);
	sqlite3_close(db);
	CHECK_INT(v, STORE_APPLICATION_ID, "and stamped");
	before = file_bytes(path, &nb);
	s = store_open(path, STORE_WRITE, err, sizeof err);
	CHECK(s == NULL && strstr(err, "was made by a newer mailsift") != NULL, "newer: %s", err);
	store_close(s);
	after = file_bytes(path, &na);
	CHECK(nb == na && nb > 0 && memcmp(before, after, (size_t)nb) == 0, "newer store unchanged");
	free(before);
	free(after);

	snprintf(path, sizeof path, "%s/other.db", dir);
	sqlite3_open(path, &db);
	sqlite3_exec(db, "CREATE TABLE notes(t); INSERT INTO notes VALUES ('keep')", NULL, NULL, NULL);
	sqlite3_close(db);
	before = file_bytes(path, &nb);
	for (int mode = 0; mode < 2; mode++) {
		s = store_open(path, mode ? STORE_WRITE : STORE_READ, err, sizeof err);
		CHECK(s == NULL && strstr(err, "is not a mailsift job store") != NULL, "unrelated: %s",
		      err);
		store_close(s);
	}
	after = file_bytes(path, &na);
	CHECK(nb == na && nb > 0 && memcmp(before, after, (size_t)nb) == 0, "unrelated file unchanged");
	free(before);
	free(after);
}

static void test_one_writer(void)
{
	char err[512] = "";
	struct store *a = fresh_store("lock.db"), *b;

	b = store_open(path, STORE_WRITE, err, sizeof err);
	CHECK(b == NULL, "a second writer is refused");
	CHECK(strstr(err, "another mailsift process") != NULL, "clear message: %s", err);
	store_close(b);
	b = store_open(path, STORE_READ, err, sizeof err);
	CHECK(b != NULL, "a reader may look while the writer works: %s", err);
	store_close(b);
	store_close(a);
	b = store_open(path, STORE_WRITE, err, sizeof err);
	CHECK(b != NULL, "the lock goes with the writer: %s", err);
	store_close(b);
}

static void test_dedupe(void)
{
	struct store *s = fresh_store("dedupe.db");
	struct store_counts c;
	struct dup_scan d = {{0}, 0};
	char err[256];
	int64_t l1, l2;

	if (s == NULL)
		return;
	store_begin(s, err, sizeof err);
	l1 = store_list_create(s, "one.csv", "id-1", 1);
	l2 = store_list_create(s, "two.csv", "id-2", 1);
	CHECK_INT(add_row(s, l1, 1, 2, "a@example.com"), 0, "row 1");
	CHECK_INT(add_row(s, l1, 2, 3, "b@example.com"), 0, "row 2");
	CHECK_INT(add_row(s, l1, 3, 5, "a@example.com"), 0, "row 3 (dup of line 2)");
	CHECK_INT(add_row(s, l1, 4, 6, NULL), 0, "row 4 (no address)");
	CHECK_INT(add_row(s, l2, 1, 1, "a@example.com"), 0, "list 2 row 1 (not a dup)");
	CHECK_INT(add_row(s, l2, 2, 2, "a@example.com"), 0, "list 2 row 2 (dup of line 1)");
	CHECK_INT(store_commit(s, err, sizeof err), 0, "commit");
	store_begin(s, err, sizeof err);
	CHECK_INT(add_row(s, l1, 1, 2, "x@example.com"), -1, "a row number is stored once");
	store_rollback(s); /* the importer drops a failed batch whole */

	store_rows_each(s, l1, collect, &d);
	CHECK_INT(d.n, 4, "rows of list 1");
	CHECK_INT(d.dup_of[0], 0, "first a@ is no duplicate");
	CHECK_INT(d.dup_of[2], 2, "second a@ points at line 2");
	d.n = 0;
	store_rows_each(s, l2, collect, &d);
	CHECK_INT(d.dup_of[0], 0, "a@ in another list is that list's first");
	CHECK_INT(d.dup_of[1], 1, "and its repeat is a duplicate there");

	CHECK_INT(store_counts(s, &c), 0, "counts");
	CHECK_INT(c.addresses, 2, "one address row per distinct key");
	CHECK_INT(c.rows, 6, "every row kept");
	CHECK_INT(c.duplicate_rows, 2, "duplicates");
	CHECK_INT(c.rows_without_address, 1, "rows without address");
	CHECK_INT(c.pending, 2, "addresses wait for verification");
	store_close(s);
}

struct addr_seen {
	int calls;
	enum store_addr_state state;
	char status[16];
	int64_t checked_at;
};

static int read_addr(void *ctx, const struct store_addr_out *a)
{
	struct addr_seen *v = ctx;

	v->calls++;
	v->state = a->state;
	snprintf(v->status, sizeof v->status, "%s", a->v.status ? a->v.status : "");
	v->checked_at = a->v.checked_at;
	return 0;
}

/* Addresses given alone (the API's real-time checks): deduplicated with the lists' addresses,
 * without touching a list's duplicate marks; read back with their state; a stale verdict (and
 * only a stale one) made pending again. */
static void test_addr_alone(void)
{
	struct store *s = fresh_store("alone.db");
	struct store_addr_in a = {.key = "a@example.com", .address = "a@example.com",
	                          .domain = "example.com"};
	struct store_verdict v = {.status = "valid", .reason = "accepted", .checked_at = 1000};
	struct dup_scan d = {{0}, 0};
	struct addr_seen seen = {0};
	int64_t id, l1;
	char err[256];

	if (s == NULL)
		return;
	store_begin(s, err, sizeof err);
	l1 = store_list_create(s, "one.csv", "id-1", 1);
	CHECK_INT(add_row(s, l1, 1, 2, "b@example.com"), 0, "a list's row");
	id = store_addr_add(s, &a);
	CHECK(id > 0, "an address alone gets an id");
	CHECK_INT(store_addr_add(s, &a), id, "the same address again: the same id");
	CHECK_INT(add_row(s, l1, 2, 3, "a@example.com"), 0, "then a list's row with it");
	CHECK_INT(add_row(s, l1, 3, 4, "b@example.com"), 0, "and a repeat in the list");
	a.key = a.address = "b@example.com";
	CHECK(store_addr_add(s, &a) > 0, "a list's address asked alone");
	CHECK_INT(add_row(s, l1, 4, 5, "b@example.com"), 0, "and again in the list");
	store_commit(s, err, sizeof err);
	store_rows_each(s, l1, collect, &d);
	CHECK_INT(d.n, 4, "rows");
	CHECK_INT(d.dup_of[1], 0, "an address asked alone first is no duplicate in a list");
	CHECK_INT(d.dup_of[2], 2, "the list's repeat is one");
	CHECK_INT(d.dup_of[3], 2, "asked alone in between: the list's marks hold");

	CHECK_INT(store_addr_read(s, id, read_addr, &seen), 1, "read it");
	CHECK_INT(seen.state, STORE_ADDR_PENDING, "pending");
	CHECK_STR(seen.status, "", "no verdict");
	CHECK_INT(store_addr_read(s, 999, read_addr, &seen), 0, "no such address");
	store_begin(s, err, sizeof err);
	CHECK_INT(store_verdict_save(s, id, &v), 0, "verdict");
	CHECK_INT(store_addr_refresh(s, id, 1000), 0, "checked at the limit: not stale");
	CHECK_INT(store_addr_read(s, id, read_addr, &seen), 1, "read it again");
	CHECK_INT(seen.state, STORE_ADDR_DONE, "done");
	CHECK_STR(seen.status, "valid", "its verdict");
	CHECK_INT(store_addr_refresh(s, id, 1001), 1, "checked before the limit: stale");
	store_commit(s, err, sizeof err);
	store_addr_read(s, id, read_addr, &seen);
	CHECK_INT(seen.state, STORE_ADDR_PENDING, "stale: pending again");
	store_close(s);
}

/* A list resumed after another list claimed its addresses: the repair pass restores exact
 * duplicate marks from the rows themselves. */
static void test_fix_dups_after_resume(void)
{
	struct store *s = fresh_store("resume.db");
	struct dup_scan d = {{0}, 0};
	char err[256];
	int64_t l1, l2;

	if (s == NULL)
		return;
	store_begin(s, err, sizeof err);
	l1 = store_list_create(s, "one.csv", "id-1", 1);
	add_row(s, l1, 1, 2, "a@example.com");
	l2 = store_list_create(s, "two.csv", "id-2", 1);
	add_row(s, l2, 1, 2, "a@example.com");
	add_row(s, l1, 2, 3, "a@example.com"); /* resumed: list 2 holds the mark now */
	store_commit(s, err, sizeof err);
	store_rows_each(s, l1, collect, &d);
	CHECK_INT(d.dup_of[1], 0, "before the repair the repeat is missed (why the repair exists)");
	CHECK_INT(store_list_fix_dups(s, l1), 0, "repair");
	d.n = 0;
	store_rows_each(s, l1, collect, &d);
	CHECK_INT(d.dup_of[0], 0, "first stays first");
	CHECK_INT(d.dup_of[1], 2, "repeat found again");
	store_close(s);
}

/* Two keys with the same hash stay two addresses: the key itself decides. */
static void test_hash_collision(void)
{
	struct store *s = fresh_store("collide.db");
	char err[256];
	sqlite3 *db;
	int64_t l1;
	struct store_counts c;

	if (s == NULL)
		return;
	store_begin(s, err, sizeof err);
	l1 = store_list_create(s, "one.csv", "id-1", 1);
	add_row(s, l1, 1, 2, "a@example.com");
	store_commit(s, err, sizeof err);
	/* Give the stored address another key but keep its hash: a collision. */
	CHECK(sqlite3_open(path, &db) == SQLITE_OK, "open %s", path);
	CHECK(sqlite3_exec(db, "UPDATE addresses SET key = 'zzz@example.com'", NULL, NULL, NULL) ==
	              SQLITE_OK, "update");
	sqlite3_close(db);
	store_begin(s, err, sizeof err);
	add_row(s, l1, 2, 3, "a@example.com");
	store_commit(s, err, sizeof err);
	store_counts(s, &c);
	CHECK_INT(c.addresses, 2, "same hash, different key: two addresses");
	CHECK_INT(c.duplicate_rows, 0, "and no duplicate");
	store_close(s);
}

struct ids {
	int64_t id[8];
	int n;
};

static void collect_id(void *ctx, const struct store_pending *p)
{
	struct ids *ids = ctx;
	if (ids->n < 8)
		ids->id[ids->n++] = p->id;
}

/* Retries due later are counted with their first and last due times; retries due at once
 * ("not asked": at 0), addresses never tried and final verdicts are not. */
static void test_retry_waiting(void)
{
	struct store *s = fresh_store("retry.db");
	struct store_verdict v = {.status = "valid", .reason = "accepted", .attempts = 1};
	struct ids ids = {{0}, 0};
	const int64_t now = 1000000;
	int64_t count = -1, first = -1, last = -1;
	char err[256];

	if (s == NULL)
		return;
	store_begin(s, err, sizeof err);
	int64_t l = store_list_create(s, "r.csv", "id-r", 1);
	const char *keys[] = {"a@example.com", "b@example.com", "c@example.com", "d@example.com",
	                      "e@example.com"};
	for (int i = 0; i < 5; i++)
		CHECK_INT(add_row(s, l, i + 1, i + 2, keys[i]), 0, keys[i]);
	CHECK_INT(store_retry_waiting(s, now, &count, &first, &last), 0, "fresh store: asked");
	CHECK_INT(count, 0, "fresh import: nothing waits for a retry");
	CHECK_INT(store_claim(s, 0, now, 8, collect_id, &ids), 5, "claim all five");
	CHECK_INT(ids.n, 5, "ids collected");
	CHECK_INT(store_retry_save(s, ids.id[0], 1, now + 100, "127.0.0.2"), 0, "a: retry at +100");
	CHECK_INT(store_retry_save(s, ids.id[1], 2, now + 500, "127.0.0.2"), 0, "b: retry at +500");
	CHECK_INT(store_retry_save(s, ids.id[2], 0, 0, NULL), 0, "c: not asked, due at once");
	CHECK_INT(store_verdict_save(s, ids.id[3], &v), 0, "d: final verdict");
	CHECK_INT(store_retry_waiting(s, now, &count, &first, &last), 0, "asked at now");
	CHECK_INT(count, 2, "two wait for a retry");
	CHECK_INT(first, now + 100, "the first is due at +100");
	CHECK_INT(last, now + 500, "the last at +500");
	CHECK_INT(store_retry_waiting(s, now + 200, &count, &first, &last), 0, "asked at +200");
	CHECK_INT(count, 1, "at +200 one still waits (the other is due)");
	CHECK_INT(first, now + 500, "first = last = +500");
	CHECK_INT(last, now + 500, "last = +500");
	CHECK_INT(store_commit(s, err, sizeof err), 0, "commit");
	store_close(s);
}

/* db_int - one integer from SQL run on the store's file by a second connection */
static int64_t db_int(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return v;
}

/* The address states and the key hash as they are on disk (existing job stores hold them):
 * pending 0 after import, in flight 1 once claimed, done 2 with a verdict, pending again when
 * a new run starts after a crash; the key hash of a@example.com is the one stores have. */
static void test_states_on_disk(void)
{
	struct store *s = fresh_store("states.db");
	struct store_verdict v = {.status = "valid", .reason = "accepted", .attempts = 1};
	struct ids ids = {{0}, 0};
	struct store_counts c;
	char err[256];
	int64_t l;

	if (s == NULL)
		return;
	store_begin(s, err, sizeof err);
	l = store_list_create(s, "s.csv", "id-s", 1);
	CHECK_INT(add_row(s, l, 1, 2, "a@example.com"), 0, "a");
	CHECK_INT(add_row(s, l, 2, 3, "b@example.com"), 0, "b");
	CHECK_INT(store_commit(s, err, sizeof err), 0, "commit");
	CHECK_INT(db_int("SELECT key_hash FROM addresses WHERE key = 'a@example.com'"),
	          6060161556803907676ll, "key_hash on disk");
	CHECK_INT(db_int("SELECT count(*) FROM addresses WHERE state = 0"), 2, "imported: pending 0");
	CHECK_INT(STORE_ADDR_PENDING, 0, "pending is 0");
	CHECK_INT(STORE_ADDR_IN_FLIGHT, 1, "in flight is 1");
	CHECK_INT(STORE_ADDR_DONE, 2, "done is 2");

	CHECK_INT(store_claim(s, 0, 1000, 8, collect_id, &ids), 2, "claim both");
	CHECK_INT(store_mark_in_flight(s, ids.id[0]), 0, "a in flight");
	CHECK_INT(store_mark_in_flight(s, ids.id[1]), 0, "b in flight");
	CHECK_INT(store_verdict_save(s, ids.id[0], &v), 0, "a done");
	CHECK_INT(db_int("SELECT state FROM addresses WHERE key = 'a@example.com'"), 2, "done: 2");
	CHECK_INT(db_int("SELECT state FROM addresses WHERE key = 'b@example.com'"), 1,
	          "in flight: 1");
	CHECK_INT(store_counts(s, &c), 0, "counts");
	CHECK_INT(c.pending, 0, "none pending");
	CHECK_INT(c.in_flight, 1, "one in flight");
	CHECK_INT(c.done, 1, "one done");
	CHECK(store_run_begin(s, 2000, 0) > 0, "a new run");
	CHECK_INT(db_int("SELECT state FROM addresses WHERE key = 'b@example.com'"), 0,
	          "in flight of a crashed run: pending again");
	CHECK_INT(store_counts(s, &c), 0, "counts");
	CHECK_INT(c.pending, 1, "one pending");
	CHECK_INT(c.in_flight, 0, "none in flight");
	store_close(s);
}

/* prev_scan - each row's previous verdict as store_rows_each gives it */
struct prev_scan {
	char prev[4][16];
	int64_t prev_at[4];
	int n;
};

static int collect_prev(void *ctx, const struct store_row_out *row)
{
	struct prev_scan *p = ctx;

	if (p->n < 4) {
		snprintf(p->prev[p->n], sizeof p->prev[p->n], "%s", row->prev_status ? row->prev_status : "");
		p->prev_at[p->n++] = row->prev_checked_at;
	}
	return 0;
}

/* verdict_at - a verdict of STATUS made at AT for address ID */
static int verdict_at(struct store *s, int64_t id, const char *status, int64_t at)
{
	struct store_verdict v = {.status = status, .reason = "accepted", .smtp_code = 250,
	                          .enhanced_code = "2.1.5", .attempts = 1, .checked_at = at};
	return store_verdict_save(s, id, &v);
}

/* Verdict history (migration 007): a first verdict keeps none; a verdict that replaces one
 * keeps the one replaced, which the export reads as the row's previous verdict; the counts of
 * status and of a job's rows give the transitions (a duplicate row and an unchanged status
 * apart). */
static void test_verdict_history(void)
{
	struct store *s = fresh_store("history.db");
	struct prev_scan p = {.n = 0};
	struct store_counts c;
	struct store_tally t;
	struct ids ids = {{0}, 0};
	char err[256];
	int64_t l, a, b;

	if (s == NULL)
		return;
	store_begin(s, err, sizeof err);
	l = store_list_create(s, "h.csv", "id-h", 1);
	add_row(s, l, 1, 2, "a@example.com");
	add_row(s, l, 2, 3, "b@example.com");
	add_row(s, l, 3, 4, "a@example.com"); /* a duplicate of line 2 */
	store_claim(s, 0, 1000, 8, collect_id, &ids);
	a = ids.id[0];
	b = ids.id[1];
	CHECK_INT(verdict_at(s, a, "valid", 1000), 0, "a: first verdict");
	CHECK_INT(verdict_at(s, b, "valid", 1000), 0, "b: first verdict");
	CHECK_INT(store_commit(s, err, sizeof err), 0, "commit");
	CHECK_INT(db_int("SELECT count(*) FROM verdict_history"), 0, "first verdicts keep no history");

	CHECK_INT(store_count_stale(s, store_stale_before(0, 1000)), 2,
	          "--max-age 0 at 1000: verdicts made at 1000 are stale too");
	store_begin(s, err, sizeof err);
	CHECK(store_run_begin(s, 1000, store_stale_before(0, 1000)) > 0, "a run with --max-age 0");
	CHECK_INT(store_commit(s, err, sizeof err), 0, "commit");
	CHECK_INT(db_int("SELECT count(*) FROM addresses WHERE state = 0 AND status = 'valid'"), 2,
	          "both to be probed again, their verdicts kept meanwhile");
	store_begin(s, err, sizeof err);
	CHECK_INT(verdict_at(s, a, "invalid", 2000), 0, "a: invalid now");
	CHECK_INT(verdict_at(s, b, "valid", 2000), 0, "b: valid again");
	CHECK_INT(store_commit(s, err, sizeof err), 0, "commit");
	CHECK_INT(db_int("SELECT count(*) FROM verdict_history"), 2, "each replaced verdict kept");
	CHECK_INT(db_int("SELECT count(*) FROM verdict_history WHERE status = 'valid' AND"
	                 " reason = 'accepted' AND smtp_code = 250 AND enhanced_code = '2.1.5' AND"
	                 " checked_at = 1000"), 2, "with its status, reason, codes and checked_at");

	store_rows_each(s, l, collect_prev, &p);
	CHECK_INT(p.n, 3, "rows");
	CHECK_STR(p.prev[0], "valid", "a's row: the verdict its verdict replaced");
	CHECK_INT(p.prev_at[0], 1000, "a's row: when that one was made");
	CHECK_STR(p.prev[1], "valid", "b's row: its previous verdict (the same status)");

	CHECK_INT(store_counts(s, &c), 0, "counts");
	CHECK_INT(c.changes[STATUS_VALID][STATUS_INVALID], 1, "status: valid->invalid for a");
	CHECK_INT(c.changes[STATUS_VALID][STATUS_VALID], 0, "status: b's unchanged status is none");
	memset(&t, 0, sizeof t);
	CHECK_INT(store_list_tally(s, l, 0, 10, 3000, &t), 0, "tally");
	CHECK_INT(t.changes[STATUS_VALID][STATUS_INVALID], 1,
	          "a job's rows: valid->invalid once (a's duplicate row apart)");
	CHECK_INT(t.changes[STATUS_VALID][STATUS_VALID], 0, "a job's rows: b unchanged");
	store_close(s);
}

/* The history holds the newest STORE_HISTORY_KEEP verdicts replaced; the previous verdict is
 * always the newest of them; a purged list's addresses take their history with them. */
static void test_history_bounded_and_purged(void)
{
	struct store *s = fresh_store("bounded.db");
	struct prev_scan p = {.n = 0};
	struct ids ids = {{0}, 0};
	const int saves = STORE_HISTORY_KEEP + 3;
	char err[256];
	int64_t l;

	if (s == NULL)
		return;
	store_begin(s, err, sizeof err);
	l = store_list_create(s, "b.csv", "id-b", 1);
	add_row(s, l, 1, 2, "a@example.com");
	store_claim(s, 0, 1000, 8, collect_id, &ids);
	for (int i = 1; i <= saves; i++)
		CHECK_INT(verdict_at(s, ids.id[0], i % 2 ? "valid" : "unknown", 1000 * i), 0, "a verdict");
	CHECK_INT(store_commit(s, err, sizeof err), 0, "commit");
	CHECK_INT(db_int("SELECT count(*) FROM verdict_history"), STORE_HISTORY_KEEP,
	          "the history is bounded");
	CHECK_INT(db_int("SELECT min(checked_at) FROM verdict_history"),
	          1000 * (saves - STORE_HISTORY_KEEP), "the oldest go first");
	store_rows_each(s, l, collect_prev, &p);
	CHECK_INT(p.prev_at[0], 1000 * (saves - 1), "the previous verdict is the one just replaced");
	CHECK_STR(p.prev[0], (saves - 1) % 2 ? "valid" : "unknown", "and its status");

	store_begin(s, err, sizeof err);
	CHECK(store_list_purge(s, l, err, sizeof err) == 0, "purge: %s", err);
	CHECK_INT(store_commit(s, err, sizeof err), 0, "commit");
	CHECK_INT(db_int("SELECT count(*) FROM addresses"), 0, "the list's address is gone");
	CHECK_INT(db_int("SELECT count(*) FROM verdict_history"), 0, "and its history with it");
	store_close(s);
}

/* --max-age: not given (negative) makes nothing stale, 0 every verdict (one of this very
 * second too), DAYS those older; a run that probes stale verdicts again forgets what domains
 * said before the cutoff (DNS, catch-all), not what they said since. */
static void test_stale_before_and_domain_facts(void)
{
	struct store *s = fresh_store("stale.db");
	char err[256], *st = NULL, *mx = NULL;

	CHECK_INT(store_stale_before(-1, 5000000), 0, "not given: none");
	CHECK_INT(store_stale_before(0, 5000000), INT64_MAX, "0: every verdict");
	CHECK_INT(store_stale_before(1, 5000000), 5000000 - 86400, "1: a day ago");
	if (s == NULL)
		return;
	store_begin(s, err, sizeof err);
	store_dns_set(s, "old.example", "ok", "mx.old.example", 500);
	store_set_catch_all(s, "old.example", 1, 500);
	store_dns_set(s, "new.example", "ok", "mx.new.example", 1500);
	store_set_catch_all(s, "new.example", 0, 1500);
	CHECK(store_run_begin(s, 2000, 1000) > 0, "a run with a cutoff at 1000");
	CHECK_INT(store_dns_get(s, "old.example", 0, &st, &mx), 0, "a DNS answer from before: forgotten");
	CHECK_INT(store_catch_all(s, "old.example"), -1, "a catch-all state from before: forgotten");
	CHECK_INT(store_dns_get(s, "new.example", 0, &st, &mx), 1, "a DNS answer since: kept");
	free(st);
	free(mx);
	CHECK_INT(store_catch_all(s, "new.example"), 0, "a catch-all state since: kept");
	CHECK(store_run_begin(s, 3000, 0) > 0, "a run without --max-age");
	CHECK_INT(store_catch_all(s, "new.example"), 0, "forgets nothing");
	CHECK_INT(store_commit(s, err, sizeof err), 0, "commit");
	store_close(s);
}

/* Shards (migration 008): a list keeps the shard it holds; two readings of two stores side by
 * side (a merge) each go in row order, and a reading stopped early leaves the store usable. */
static void test_shard_and_row_readings(void)
{
	struct store *a = fresh_store("shard-a.db"), *b;
	struct store_row_out r;
	char err[256];
	int64_t la, lb;
	int k = -1, n = -1, got = 0, order_ok = 1;
	int64_t last = 0;

	if (a == NULL)
		return;
	store_begin(a, err, sizeof err);
	la = store_list_create(a, "l.csv", "id-l", 1);
	CHECK_INT(store_list_shard(a, la, &k, &n), 0, "a list's shard");
	CHECK(k == 0 && n == 0, "a list imported without --shard is whole (%d/%d)", k, n);
	CHECK_INT(store_list_set_shard(a, la, 1, 4), 0, "set shard 1/4");
	CHECK_INT(store_list_shard(a, la, &k, &n), 0, "a list's shard");
	CHECK(k == 1 && n == 4, "then holds shard 1/4 (%d/%d)", k, n);
	add_row(a, la, 2, 3, "x@example.com");
	add_row(a, la, 5, 6, "y@example.com");
	CHECK_INT(store_commit(a, err, sizeof err), 0, "commit");
	b = fresh_store("shard-b.db");
	if (b == NULL) {
		store_close(a);
		return;
	}
	store_begin(b, err, sizeof err);
	lb = store_list_create(b, "l.csv", "id-l", 1);
	add_row(b, lb, 1, 2, "z@example.com");
	add_row(b, lb, 4, 5, NULL);
	add_row(b, lb, 9, 10, "w@example.com");
	CHECK_INT(store_commit(b, err, sizeof err), 0, "commit");
	/* a merge by hand: the least row number of the two heads each time */
	{
		struct store_row_out ra, rb;
		int ha, hb;
		store_rows_start(a, la);
		store_rows_start(b, lb);
		ha = store_rows_next(a, &ra);
		hb = store_rows_next(b, &rb);
		while (ha > 0 || hb > 0) {
			int take_a = ha > 0 && (hb <= 0 || ra.row_no < rb.row_no);
			int64_t no = take_a ? ra.row_no : rb.row_no;
			order_ok &= no > last;
			last = no;
			got++;
			if (take_a)
				ha = store_rows_next(a, &ra);
			else
				hb = store_rows_next(b, &rb);
		}
		CHECK(ha == 0 && hb == 0, "both readings end cleanly (%d %d)", ha, hb);
	}
	CHECK_INT(got, 5, "every row of both stores");
	CHECK(order_ok, "in row order across the two");
	store_rows_start(a, la);
	CHECK_INT(store_rows_next(a, &r), 1, "a reading begun");
	store_rows_stop(a);
	got = 0;
	store_rows_start(a, la);
	while (store_rows_next(a, &r) == 1)
		got++;
	CHECK_INT(got, 2, "after a reading stopped early, the next one reads every row again");
	store_close(a);
	store_close(b);
}

/* What a list's rows read back as: each row's number, address, status and duplicate mark, one
 * line each, for comparing two stores that were given the same rows. */
struct reading {
	char text[64 * 1024];
	size_t len;
	int rows;
};

static int read_rows(void *ctx, const struct store_row_out *row)
{
	struct reading *r = ctx;
	int n = snprintf(r->text + r->len, sizeof r->text - r->len, "%lld %s %s %lld\n",
	                 (long long)row->row_no, row->has_address ? row->address : "-",
	                 row->status ? row->status : "-", (long long)row->dup_of);
	if (n > 0 && (size_t)n < sizeof r->text - r->len)
		r->len += (size_t)n;
	r->rows++;
	return 0;
}

static void say(struct reading *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(r->text + r->len, sizeof r->text - r->len, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof r->text - r->len)
		r->len += (size_t)n;
}

static void say_counts(struct store *s, int64_t l, struct reading *r)
{
	struct store_counts c;
	struct store_tally t;

	memset(&t, 0, sizeof t);
	store_counts(s, &c);
	store_list_tally(s, l, 0, 600, 0, &t);
	say(r, "addresses %lld duplicates %lld without %lld rows %lld;"
	    " tally rows %lld done %lld duplicates %lld valid %lld invalid %lld\n",
	    (long long)c.addresses, (long long)c.duplicate_rows, (long long)c.rows_without_address,
	    (long long)c.rows, (long long)t.rows, (long long)t.done, (long long)t.duplicates,
	    (long long)t.by_status[STATUS_VALID], (long long)t.by_status[STATUS_INVALID]);
}

/* the keys bulk_rows spreads its rows over, and their domains */
static int bulk_keys = 90, bulk_domains = 7;

/* everything the readers of list L of S tell (bulk_rows' keys): its rows, the counts and
 * tally, which addresses it holds; the tally again after every address got a verdict at 1000
 * and the list's verdicts were made stale at 2000 (all but a third of them, made again at
 * 3000); the counts after the list is purged. Stores given the same rows tell the same. */
static void fingerprint(struct store *s, int64_t l, struct reading *r)
{
	char key[64], err[256] = "";

	store_rows_each(s, l, read_rows, r);
	say_counts(s, l, r);
	store_begin(s, err, sizeof err);
	for (int k = 0; k < bulk_keys; k++) {
		int64_t id;
		snprintf(key, sizeof key, "u%d@d%d.example", k, k % bulk_domains);
		id = store_addr_find(s, key);
		say(r, "%s %d\n", key, id > 0 ? store_list_has_address(s, l, id) : -1);
		if (id > 0)
			verdict_at(s, id, "valid", k % 3 ? 1000 : 3000);
		store_dns_set(s, strchr(key, '@') + 1, "ok", "mx.example", 1000);
	}
	store_commit(s, err, sizeof err);
	say_counts(s, l, r);
	store_begin(s, err, sizeof err);
	store_list_make_stale(s, l, 2000);
	for (int d = 0; d < bulk_domains; d++) { /* the list's domains' answers: forgotten */
		char *st = NULL, *mx = NULL;
		snprintf(key, sizeof key, "d%d.example", d);
		say(r, "%s %d\n", key, store_dns_get(s, key, 0, &st, &mx));
		free(st);
		free(mx);
	}
	store_commit(s, err, sizeof err);
	say_counts(s, l, r);
	store_begin(s, err, sizeof err);
	CHECK(store_list_purge(s, l, err, sizeof err) == 0, "purge: %s", err);
	store_commit(s, err, sizeof err);
	say_counts(s, l, r);
}

static int db_exec(const char *sql)
{
	sqlite3 *db;
	int rc;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

/* bulk_given - what bulk_rows gives row I: its key into KEY, 0 when the row has no address */
static int bulk_given(int i, char *key, size_t n)
{
	unsigned h = (unsigned)i * 2654435761u, k = (h >> 8) % (unsigned)bulk_keys;

	snprintf(key, n, "u%u@d%u.example", k, k % (unsigned)bulk_domains);
	return (h >> 12) % 23 != 0;
}

/* bulk_rows - 600 rows over bulk_keys keys (repeats, syntax errors, rows without an address) into
 * list L of S, in batches of 100, from row FROM to row TO */
static void bulk_rows(struct store *s, int64_t l, int from, int to)
{
	char err[256], key[64];
	struct store_addr_in a;
	struct store_row_in r;

	store_begin(s, err, sizeof err);
	for (int i = from; i <= to; i++) {
		unsigned h = (unsigned)i * 2654435761u;
		int given = bulk_given(i, key, sizeof key);
		memset(&a, 0, sizeof a);
		a.key = a.address = key;
		a.domain = strchr(key, '@') + 1;
		if ((h >> 20) % 17 == 0) { /* a syntax error: a verdict known at import */
			a.domain = NULL;
			a.status = "invalid";
			a.reason = "syntax";
		}
		r = (struct store_row_in){.list_id = l, .row_no = i, .line = i + 1, .record = key,
		                          .record_len = strlen(key), .addr = &a};
		if (!given) {
			r.addr = NULL;
			r.problem = "no_address";
		}
		CHECK_INT(store_row_add(s, &r), 0, "row");
		if (i % 100 == 0) {
			store_commit(s, err, sizeof err);
			store_begin(s, err, sizeof err);
		}
	}
	store_commit(s, err, sizeof err);
}

static int index_present(void)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int n = -1;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE name = 'addresses_key_hash'",
	                       -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* one_by_one - the 600 rows of bulk_rows added one by one through the index into a store of
 * their own (NAME): their reading into R, the store's counts into C, then the fingerprint of
 * every reader into F (the list purged) */
static void one_by_one(const char *name, struct reading *r, struct store_counts *c,
                       struct reading *f)
{
	struct store *s = fresh_store(name);
	char err[256] = "";
	int64_t l;

	if (s == NULL)
		return;
	store_begin(s, err, sizeof err);
	l = store_list_create(s, "l.csv", "id-l", 1);
	store_commit(s, err, sizeof err);
	bulk_rows(s, l, 1, 600);
	store_rows_each(s, l, read_rows, r);
	store_counts(s, c);
	if (f)
		fingerprint(s, l, f);
	store_close(s);
}

/* A bulk import reads back exactly as the same rows added one by one through the index: the
 * same addresses, verdicts and duplicate marks. The filter is made tiny (64 bytes) so that it
 * says "maybe" for nearly every key: the rows set aside and settled at the end are most. */
static void test_bulk_import(void)
{
	static struct reading one, bulk;
	struct store_counts c1, c2;
	struct store *s;
	char err[256] = "";
	int64_t l;

	one_by_one("one-by-one.db", &one, &c1, NULL);
	s = fresh_store("bulk.db");
	if (s == NULL)
		return;
	store_begin(s, err, sizeof err);
	l = store_list_create(s, "l.csv", "id-l", 1);
	CHECK_INT(store_bulk_begin(s, l, 64, err, sizeof err), 1, "a store of one list: bulk");
	store_commit(s, err, sizeof err);
	CHECK_INT(index_present(), 0, "the dedupe index is dropped meanwhile");
	bulk_rows(s, l, 1, 600);
	CHECK(store_addr_add(s, &(struct store_addr_in){.key = "x@y.example"}) < 0,
	      "no address alone during a bulk import");
	CHECK(store_bulk_finish(s, err, sizeof err) == 0, "finish: %s", err);
	CHECK_INT(index_present(), 1, "the index is back");
	store_rows_each(s, l, read_rows, &bulk);
	store_counts(s, &c2);
	CHECK_INT(bulk.rows, 600, "every row");
	CHECK(one.len == bulk.len && memcmp(one.text, bulk.text, one.len) == 0,
	      "rows, addresses, verdicts and duplicate marks as one by one");
	CHECK_INT(c2.addresses, c1.addresses, "addresses");
	CHECK_INT(c2.duplicate_rows, c1.duplicate_rows, "duplicates");
	CHECK(c1.duplicate_rows > 300, "the rows repeat addresses (%lld)", (long long)c1.duplicate_rows);
	CHECK_INT(c2.rows_without_address, c1.rows_without_address, "rows without an address");
	/* the settled rows' addresses live in row_links (migration 012), not in rows */
	CHECK(db_int("SELECT count(*) FROM row_links") > 300, "rows settled in row_links (%lld)",
	      (long long)db_int("SELECT count(*) FROM row_links"));
	/* a resumed import's repair of the duplicate marks: both tables */
	CHECK_INT(db_exec("UPDATE rows SET dup_of = NULL; UPDATE row_links SET dup_of = NULL"), 0,
	          "duplicate marks erased");
	CHECK_INT(store_list_fix_dups(s, l), 0, "repair");
	bulk.len = 0;
	bulk.rows = 0;
	store_rows_each(s, l, read_rows, &bulk);
	CHECK(one.len == bulk.len && memcmp(one.text, bulk.text, one.len) == 0,
	      "repaired: the duplicate marks as one by one");
	store_close(s);
}

/* Every reader of a list (the export's rows, counts, a job's tally, list membership, what
 * --max-age makes stale, the purge) tells of a bulk import what it tells of the same rows added
 * one by one. 400 keys fill the 64-byte filter: most first rows of a key are set aside too, so
 * many addresses are held by row_links alone. */
static void test_bulk_readers(void)
{
	static struct reading one, one_all, bulk_all;
	struct store_counts c;
	struct store *s;
	char err[256] = "";
	int64_t l, alone;

	bulk_keys = bulk_domains = 400;
	one_by_one("readers-one.db", &one, &c, &one_all);
	s = fresh_store("readers-bulk.db");
	if (s == NULL)
		return;
	store_begin(s, err, sizeof err);
	l = store_list_create(s, "l.csv", "id-l", 1);
	store_bulk_begin(s, l, 64, err, sizeof err);
	store_commit(s, err, sizeof err);
	bulk_rows(s, l, 1, 600);
	CHECK(store_bulk_finish(s, err, sizeof err) == 0, "finish: %s", err);
	alone = db_int("SELECT count(*) FROM addresses WHERE id NOT IN"
	               " (SELECT address_id FROM rows WHERE address_id IS NOT NULL)");
	CHECK(alone > 10, "addresses held by row_links alone (%lld)", (long long)alone);
	fingerprint(s, l, &bulk_all);
	CHECK(one_all.len > 0 && one_all.len == bulk_all.len &&
	      memcmp(one_all.text, bulk_all.text, one_all.len) == 0,
	      "every reader as one by one");
	CHECK(strstr(one_all.text, "addresses 0 duplicates 0 without 0 rows 0;") != NULL,
	      "the purge left nothing");
	store_close(s);

	/* a second list of the same addresses, purged: the first list's addresses stay, those
	 * held by its row_links alone too */
	s = fresh_store("readers-two.db");
	if (s == NULL)
		return;
	store_begin(s, err, sizeof err);
	l = store_list_create(s, "a.csv", "id-a", 1);
	store_bulk_begin(s, l, 64, err, sizeof err);
	store_commit(s, err, sizeof err);
	bulk_rows(s, l, 1, 600);
	CHECK(store_bulk_finish(s, err, sizeof err) == 0, "finish: %s", err);
	store_begin(s, err, sizeof err);
	l = store_list_create(s, "b.csv", "id-b", 1);
	store_commit(s, err, sizeof err);
	bulk_rows(s, l, 1, 600);
	store_begin(s, err, sizeof err);
	CHECK(store_list_purge(s, l, err, sizeof err) == 0, "purge: %s", err);
	store_commit(s, err, sizeof err);
	{
		struct store_counts after;
		store_counts(s, &after);
		CHECK_INT(after.addresses, c.addresses, "the other list's addresses kept");
		CHECK_INT(after.rows, 600, "and its rows");
	}
	store_close(s);
	bulk_keys = 90;
	bulk_domains = 7;
}

static int64_t rows_without(int upto)
{
	char key[64];
	int64_t n = 0;

	for (int i = 1; i <= upto; i++)
		n += !bulk_given(i, key, sizeof key);
	return n;
}

struct aside {
	int rows, wrong;
};

/* check_aside - each row holds the address bulk_rows gave it, or none when it gave none */
static int check_aside(void *ctx, const struct store_row_out *r)
{
	struct aside *a = ctx;
	char key[64];
	int given = bulk_given((int)r->row_no, key, sizeof key);

	a->rows++;
	if (given != r->has_address || (given && (r->address == NULL || strcmp(r->address, key) != 0)) ||
	    (!given && r->problem == NULL))
		a->wrong++;
	return 0;
}

/* A bulk import cut short (closed without store_bulk_finish: a crash, Ctrl-C) is settled by the
 * next store_open, and a resumed import goes on in bulk, its filter made from the addresses
 * stored so far: the end reads back as one by one. */
static void test_bulk_cut_short(void)
{
	static struct reading one, bulk;
	struct store_counts c;
	struct store *s;
	char err[256] = "";
	int64_t l;

	one_by_one("cut-one.db", &one, &c, NULL);
	s = fresh_store("cut.db");
	if (s == NULL)
		return;
	store_begin(s, err, sizeof err);
	l = store_list_create(s, "l.csv", "id-l", 1);
	store_commit(s, err, sizeof err);
	store_bulk_begin(s, l, 256, err, sizeof err);
	bulk_rows(s, l, 1, 300);
	store_close(s); /* cut short */
	CHECK_INT(index_present(), 0, "cut short: no index in the file");
	/* read as it is (an export opens read-only: nothing settles it): a row set aside still
	 * holds its address, not "no address" */
	s = store_open(path, STORE_READ, err, sizeof err);
	CHECK(s != NULL, "read-only: %s", err);
	if (s == NULL)
		return;
	{
		struct aside seen = {0, 0};
		struct store_counts c2;
		store_rows_each(s, l, check_aside, &seen);
		store_counts(s, &c2);
		CHECK(seen.rows == 300 && seen.wrong == 0, "every row's address as given (%d rows, %d wrong)",
		      seen.rows, seen.wrong);
		CHECK(db_int("SELECT count(*) FROM deferred_rows") > 100, "rows still set aside (%lld)",
		      (long long)db_int("SELECT count(*) FROM deferred_rows"));
		CHECK_INT(c2.rows_without_address, rows_without(300), "rows without an address");
	}
	store_close(s);
	s = store_open(path, STORE_WRITE, err, sizeof err);
	CHECK(s != NULL, "reopen: %s", err);
	if (s == NULL)
		return;
	CHECK_INT(index_present(), 1, "reopened: settled, the index is back");
	CHECK_INT(store_bulk_begin(s, l, 256, err, sizeof err), 1, "the import resumes in bulk");
	bulk_rows(s, l, 301, 600);
	CHECK(store_bulk_finish(s, err, sizeof err) == 0, "finish: %s", err);
	store_rows_each(s, l, read_rows, &bulk);
	CHECK(one.len == bulk.len && memcmp(one.text, bulk.text, one.len) == 0,
	      "cut, reopened, resumed: as one by one");
	store_close(s);
}

/* Not in bulk: a store that holds another list or an address given alone. */
static void test_bulk_refused(void)
{
	struct store *s = fresh_store("no-bulk.db");
	struct store_addr_in a = {.key = "a@example.com", .address = "a@example.com",
	                          .domain = "example.com"};
	char err[256] = "";
	int64_t l1, l2;

	if (s == NULL)
		return;
	store_begin(s, err, sizeof err);
	l1 = store_list_create(s, "one.csv", "id-1", 1);
	l2 = store_list_create(s, "two.csv", "id-2", 1);
	CHECK_INT(store_bulk_begin(s, l2, 1024, err, sizeof err), 0, "another list: no bulk");
	store_commit(s, err, sizeof err);
	store_close(s);
	s = fresh_store("alone-bulk.db");
	store_begin(s, err, sizeof err);
	CHECK(store_addr_add(s, &a) > 0, "an address alone");
	l1 = store_list_create(s, "one.csv", "id-1", 1);
	CHECK_INT(store_bulk_begin(s, l1, 1024, err, sizeof err), 0, "an address alone: no bulk");
	store_commit(s, err, sizeof err);
	CHECK_INT(index_present(), 1, "the index stays");
	store_close(s);
}

/* Two keys with the same hash in a bulk import: the second is set aside (the filter has met
 * its hash) and settled as an address of its own. */
static void test_bulk_collision(void)
{
	struct store *s = fresh_store("bulk-collide.db");
	struct store_counts c;
	char err[256] = "";
	sqlite3 *db;
	int64_t l;

	if (s == NULL)
		return;
	store_begin(s, err, sizeof err);
	l = store_list_create(s, "one.csv", "id-1", 1);
	store_bulk_begin(s, l, 1 << 20, err, sizeof err);
	add_row(s, l, 1, 2, "a@example.com");
	store_commit(s, err, sizeof err);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK, "open %s", path);
	CHECK(sqlite3_exec(db, "UPDATE addresses SET key = 'zzz@example.com'", NULL, NULL, NULL) ==
	              SQLITE_OK, "update");
	sqlite3_close(db);
	store_begin(s, err, sizeof err);
	add_row(s, l, 2, 3, "a@example.com");
	add_row(s, l, 3, 4, "a@example.com");
	CHECK(store_bulk_finish(s, err, sizeof err) == 0, "finish: %s", err);
	store_commit(s, err, sizeof err);
	store_counts(s, &c);
	CHECK_INT(c.addresses, 2, "same hash, different key: two addresses");
	CHECK_INT(c.duplicate_rows, 1, "the third row repeats the second");
	store_close(s);
}

static void setup(void)
{
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
}

static void test_setup(void)
{
	setup();
	CHECK(dir[0] == '/', "temp dir");
}

static void test_cleanup(void)
{
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CHECK(system(cmd) == 0, "rm");
}

static void count_host(void *ctx, const struct store_host *h)
{
	int *n = ctx;

	*n += h->run_id == 7;
}

/* test_host_state - a host's state is kept, replaced, read back by the run that kept it only,
 * and listed per run */
/* hosts_seen_fn - store_session_hosts' callback for test_traces_and_sessions: the first host's
 * figures, and how many */
struct hosts_seen {
	int n;
	char first[64];
	long long sessions, refusals;
	double median;
	int last_code;
};

static int hosts_seen_fn(void *ctx, const struct store_session_host *h)
{
	struct hosts_seen *hs = ctx;

	if (hs->n++ == 0) {
		snprintf(hs->first, sizeof hs->first, "%s", h->mx_host);
		hs->sessions = h->sessions;
		hs->refusals = h->refusals;
		hs->median = h->median_reply_ms;
		hs->last_code = h->last_code;
	}
	return 0;
}

/* Transcripts (address_trace) and the session log (session_log): an address found by its
 * key, a transcript put, replaced, read back, deleted; list membership; a purged list's
 * addresses take their transcripts with them; sessions summed up per host with the median
 * and the last reply. */
static void test_traces_and_sessions(void)
{
	struct store *s = fresh_store("traces.db");
	struct ids ids = {{0}, 0};
	char err[256], *t = NULL;
	int64_t l, other, id;
	struct hosts_seen hs = {0};

	if (s == NULL)
		return;
	store_begin(s, err, sizeof err);
	l = store_list_create(s, "t.csv", "id-t", 1);
	add_row(s, l, 1, 2, "a@example.com");
	other = store_list_create(s, "o.csv", "id-o", 1);
	add_row(s, other, 1, 2, "b@example.com");
	store_claim(s, 0, 1000, 8, collect_id, &ids);
	id = store_addr_find(s, "a@example.com");
	CHECK(id > 0, "found by its key: %lld", (long long)id);
	CHECK_INT(store_addr_find(s, "nobody@example.com"), 0, "an unknown key");
	CHECK_INT(store_list_has_address(s, l, id), 1, "in its list");
	CHECK_INT(store_list_has_address(s, other, id), 0, "not in another list");
	CHECK_INT(store_trace_get(s, id, &t), 0, "no transcript yet");
	CHECK(t == NULL, "none");
	CHECK_INT(store_trace_put(s, id, 3, "0.10 C RCPT TO:<a@example.com>\n"), 0, "put");
	CHECK_INT(store_trace_put(s, id, 3, "0.20 S 250 ok\n"), 0, "replaced");
	CHECK_INT(store_trace_get(s, id, &t), 1, "read back");
	CHECK_STR(t, "0.20 S 250 ok\n", "the last one");
	free(t);
	t = NULL;
	CHECK_INT(store_trace_delete(s, id), 0, "delete");
	CHECK_INT(store_trace_get(s, id, &t), 0, "gone");

	static const struct {
		const char *host, *ip, *outcome;
		int code;
		double reply_ms;
	} sessions[] = {
		{"mx.a.test", "127.0.1.1", "completed", 221, 1.0},
		{"mx.a.test", "127.0.1.1", "completed", 221, 3.0},
		{"mx.a.test", "127.0.1.1", "refused", 554, 2.0},
		{"mx.b.test", "127.0.1.2", "completed", 221, 5.0},
	};
	for (size_t i = 0; i < sizeof sessions / sizeof sessions[0]; i++) {
		struct store_session ss = {.run_id = 3, .at = 1000, .source = "", .mx_host = sessions[i].host,
		                           .mx_ip = sessions[i].ip, .rcpts = 2, .outcome = sessions[i].outcome,
		                           .smtp_end = "ok", .code = sessions[i].code, .enhanced = "5.7.1",
		                           .text = "text", .seconds = 0.1, .reply_ms = sessions[i].reply_ms};
		CHECK_INT(store_session_add(s, &ss), 0, "session added");
	}
	CHECK_INT(store_session_hosts(s, 0, hosts_seen_fn, &hs), 0, "summed up");
	CHECK_INT(hs.n, 2, "two hosts");
	CHECK_STR(hs.first, "mx.a.test", "the host with refusals first");
	CHECK_INT(hs.sessions, 3, "its sessions");
	CHECK_INT(hs.refusals, 1, "its refusals");
	CHECK(hs.median == 2.0, "its median reply time: %g", hs.median);
	CHECK_INT(hs.last_code, 554, "its last session's reply");
	CHECK_INT(store_commit(s, err, sizeof err), 0, "commit");
	CHECK_INT(store_session_trim(s, 2), 0, "trimmed");
	CHECK_INT(db_int("SELECT count(*) FROM session_log"), 2, "the newest 2 kept");
	CHECK_INT(db_int("SELECT min(reply_ms) FROM session_log"), 2, "the oldest went first");

	store_begin(s, err, sizeof err);
	/* a verdict probed again (stale) loses its transcript: it explained the old verdict */
	CHECK_INT(verdict_at(s, id, "unknown", 1000), 0, "a verdict");
	CHECK_INT(store_trace_put(s, id, 3, "0.20 S 450 greylisted\n"), 0, "its transcript");
	CHECK(store_run_begin(s, 5000, 2000) > 0, "a run probing verdicts before 2000 again");
	CHECK_INT(store_trace_get(s, id, &t), 0, "a stale verdict's transcript dropped");
	CHECK_INT(verdict_at(s, id, "unknown", 3000), 0, "a verdict");
	CHECK_INT(store_trace_put(s, id, 3, "0.20 S 450 greylisted\n"), 0, "its transcript");
	CHECK(store_run_begin(s, 5000, 2000) > 0, "a run probing verdicts before 2000 again");
	CHECK_INT(store_trace_get(s, id, &t), 1, "a fresh verdict's transcript kept");
	free(t);
	t = NULL;
	CHECK_INT(store_addr_refresh(s, id, 4000), 1, "refreshed (one address)");
	CHECK_INT(store_trace_get(s, id, &t), 0, "... its transcript dropped");

	CHECK_INT(store_trace_put(s, id, 3, "0.20 S 250 ok\n"), 0, "put again");
	CHECK(store_list_purge(s, l, err, sizeof err) == 0, "purge: %s", err);
	CHECK_INT(store_commit(s, err, sizeof err), 0, "commit");
	CHECK_INT(db_int("SELECT count(*) FROM address_trace"), 0,
	          "a purged list's address takes its transcript with it");
	store_close(s);
}

static void test_host_state(void)
{
	struct store *s = fresh_store("hosts.db");
	struct store_host h = {.ip = "127.0.1.51", .source = "", .run_id = 7, .window = 3,
	                       .ceiling = 4, .rcpt_limit = 5, .failures = 1, .penalty = 2,
	                       .paused_until = 1e9 + 0.25, .next_start = 1e9 + 0.02, .rtt = 0.001,
	                       .sessions = 11, .pushback = 3, .connect_failures = 1, .pauses = 1,
	                       .max_window = 6, .reached = 1, .unreached = 0};
	struct store_host got;
	int n = 0;

	memset(&got, 0, sizeof got);

	if (s == NULL)
		return;
	CHECK_INT(store_host_load(s, 7, "127.0.1.51", "", &got), 0, "nothing kept yet");
	CHECK_INT(store_host_save(s, &h), 0, "saved");
	h.sessions = 12;
	CHECK_INT(store_host_save(s, &h), 0, "saved again (replaces)");
	h.ip = "127.0.1.52";
	CHECK_INT(store_host_save(s, &h), 0, "another host");
	CHECK_INT(store_host_load(s, 7, "127.0.1.51", "", &got), 1, "read back");
	CHECK_STR(got.ip, "127.0.1.51", "its ip");
	CHECK_INT(got.sessions, 12, "the last save");
	CHECK_INT(got.penalty, 2, "penalty");
	CHECK(got.paused_until == 1e9 + 0.25 && got.next_start == 1e9 + 0.02,
	      "times to the sub-second (%f, %f)", got.paused_until, got.next_start);
	CHECK_INT(store_host_load(s, 8, "127.0.1.51", "", &got), 0, "another run reads nothing");
	CHECK_INT(store_host_load(s, 7, "127.0.1.51", "127.0.0.2", &got), 0,
	          "another source is another host");
	CHECK_INT(store_run_hosts(s, 7, count_host, &n), 0, "listed");
	CHECK_INT(n, 2, "the run's two hosts");
	store_close(s);
}

TESTS(test_setup, test_schema_and_reopen, test_not_a_store, test_application_id, test_one_writer, test_dedupe,
      test_fix_dups_after_resume, test_addr_alone, test_hash_collision, test_retry_waiting, test_states_on_disk,
      test_verdict_history, test_history_bounded_and_purged, test_traces_and_sessions,
      test_stale_before_and_domain_facts,
      test_shard_and_row_readings, test_bulk_import, test_bulk_readers, test_bulk_cut_short, test_bulk_refused,
      test_bulk_collision, test_host_state, test_cleanup)
