-- 009: the dedupe index gets a name, so that an import into a store holding no other list can
-- drop it and build it once at the end, sorted, instead of growing it row by row: past the page
-- cache every batch rewrote most of its pages (schema/store.c, "bulk import"). SQLite cannot
-- drop a table's UNIQUE constraint, so the table is made again, ids and all.
CREATE TABLE addresses_009 (
	id              INTEGER PRIMARY KEY,
	key_hash        INTEGER NOT NULL,       -- 64-bit hash of key (probed on a collision): dedupe index
	key             TEXT NOT NULL,          -- dedupe key (normalized, local part lowercased); unique
	address         TEXT,                   -- normalized address when it differs from key, else NULL
	domain          TEXT,                   -- lowercase A-label; NULL when syntax is invalid
	flags           INTEGER NOT NULL DEFAULT 0, -- enum addr_flag bits
	suggestion      TEXT,                   -- "did you mean" address, or NULL
	seen_list       INTEGER,                -- last list that holds it (dedupe within a list)
	seen_line       INTEGER,                -- line of the first row of seen_list holding it
	state           INTEGER NOT NULL DEFAULT 0, -- 0 pending, 1 in flight, 2 done
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL DEFAULT 0, -- unix seconds; retries wait until then
	source          TEXT,                   -- source address of the first attempt (greylist triple)
	status          TEXT,                   -- valid | invalid | risky | catch_all | unknown; NULL: none yet
	reason          TEXT,                   -- closed vocabulary, schema/verdict.h
	detail          TEXT,                   -- human detail (syntax problem, ...)
	smtp_code       INTEGER,
	enhanced_code   TEXT,
	smtp_message    TEXT,                   -- first line of the deciding reply
	mx_host         TEXT,
	tls             INTEGER,
	checked_at      INTEGER                 -- unix seconds of the verdict
);
INSERT INTO addresses_009 SELECT * FROM addresses;
DROP TABLE addresses;
ALTER TABLE addresses_009 RENAME TO addresses;
-- Present whenever no bulk import is under way (store_open builds it again after a crash).
CREATE UNIQUE INDEX addresses_key_hash ON addresses(key_hash);
CREATE INDEX addresses_retry ON addresses(next_attempt_at) WHERE state = 0 AND next_attempt_at > 0;

-- The rows a bulk import set aside: their address may have been seen before (the filter said
-- "maybe"), which only the index can tell; the import's end finds or adds each address, in
-- the order of their key hashes, and fills in the row's address_id and dup_of. Empty otherwise.
CREATE TABLE deferred_rows (
	row_id      INTEGER PRIMARY KEY,        -- rows.id
	list_id     INTEGER NOT NULL,
	line        INTEGER NOT NULL,
	key_hash    INTEGER NOT NULL,
	key         TEXT NOT NULL,
	address     TEXT,
	domain      TEXT,
	flags       INTEGER NOT NULL,
	suggestion  TEXT,
	status      TEXT,
	reason      TEXT,
	detail      TEXT
);
