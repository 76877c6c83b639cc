-- 007: each address's previous verdicts. When a probe gives an address that already has a
-- verdict a new one (a run with --max-age, a job's max_age_days), store_verdict_save moves the
-- verdict it replaces here and keeps the newest STORE_HISTORY_KEEP of them (schema/store.h); an
-- address's first verdict writes nothing here. The export compares each address's verdict with
-- the newest row here (changes.csv, the transitions of report.json).
CREATE TABLE verdict_history (
	id            INTEGER PRIMARY KEY,      -- order of replacement: the highest is the newest
	address_id    INTEGER NOT NULL,         -- addresses.id
	status        TEXT NOT NULL,            -- the verdict replaced: valid | invalid | ...
	reason        TEXT,
	smtp_code     INTEGER,
	enhanced_code TEXT,
	checked_at    INTEGER                   -- unix seconds that verdict was made
);
-- An address's entries in id order (the index holds the rowid): the newest is its last entry.
CREATE INDEX verdict_history_by_address ON verdict_history(address_id);
-- jobs.max_age_days: 0 now asks every verdict again; a job made before meant "reuse every
-- verdict" by 0, which is now any negative value.
UPDATE jobs SET max_age_days = -1 WHERE max_age_days = 0;
