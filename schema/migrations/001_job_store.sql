-- 001: the job store. One file per job; several lists may be imported into it.
-- An address that appears in several lists (or several times in one) is one row of
-- `addresses` with one verdict; `rows` keeps every input record exactly as read.

-- lists: one imported input file.
CREATE TABLE lists (
	id            INTEGER PRIMARY KEY,
	name          TEXT NOT NULL,            -- the path as given on the command line
	identity      TEXT NOT NULL UNIQUE,     -- real path, size and mtime: the same file resumes
	state         TEXT NOT NULL DEFAULT 'importing', -- importing | done
	has_header    INTEGER NOT NULL DEFAULT 0,
	header        BLOB,                     -- header record as canonical CSV (comma), or NULL
	email_col     INTEGER,                  -- 0-based column holding the address; NULL: none found
	delimiter     TEXT,                     -- the input's delimiter ('' for a plain list)
	gzip          INTEGER NOT NULL DEFAULT 0,
	rows          INTEGER NOT NULL DEFAULT 0, -- data records committed (resume skips this many)
	max_fields    INTEGER NOT NULL DEFAULT 0, -- widest record seen, header included
	blank_lines   INTEGER NOT NULL DEFAULT 0, -- empty lines skipped
	input_error   TEXT,                     -- why reading stopped early (truncated gzip...), or NULL
	started_at    INTEGER,                  -- unix seconds
	finished_at   INTEGER,
	import_secs   REAL NOT NULL DEFAULT 0   -- time spent importing, summed over resumed runs
);

-- addresses: one distinct address (by dedupe key) and its verdict. Dedupe goes through the
-- UNIQUE index on key_hash, a third of the size of an index on the key, so far more of it stays
-- in the page cache on a list of millions; store.c compares the key itself on a hash match and
-- moves a colliding key to the next free hash value (open addressing).
CREATE TABLE addresses (
	id              INTEGER PRIMARY KEY,
	key_hash        INTEGER NOT NULL UNIQUE, -- 64-bit hash of key (probed on a collision): dedupe index
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

-- rows: every data record of every list, in input order.
-- The rowid packs the list and the row number (list_id * 2^40 + row_no): rows are stored in
-- input order and every insert is an append to the table's b-tree.
CREATE TABLE rows (
	id          INTEGER PRIMARY KEY,        -- list_id << 40 | row_no
	list_id     INTEGER NOT NULL,
	row_no      INTEGER NOT NULL,           -- 1-based data record number
	line        INTEGER NOT NULL,           -- physical line where the record starts
	record      BLOB,                       -- the fields as canonical CSV; NULL: too long to keep
	address_id  INTEGER,                    -- NULL: the row holds no address
	dup_of      INTEGER,                    -- line of the first row of this list with the address
	problem     TEXT                        -- no_address | row_too_long | NULL
);

-- problems: what was wrong with the input, by line (bounded per list and kind).
CREATE TABLE problems (
	list_id  INTEGER NOT NULL,
	line     INTEGER NOT NULL,
	kind     TEXT NOT NULL,
	message  TEXT NOT NULL
);
CREATE INDEX problems_by_list ON problems(list_id, kind);

-- domains: per-domain DNS and catch-all results, cached across runs.
CREATE TABLE domains (
	name            TEXT PRIMARY KEY,
	dns_status      TEXT,
	mx              TEXT,
	dns_checked_at  INTEGER,
	catch_all       INTEGER,                -- 1 accepts all, 0 rejects, NULL unknown
	catch_all_checked_at INTEGER
) WITHOUT ROWID;
