-- 002: runs of the scheduler (mailsift run / clean): when, and what they saw per mail host.
CREATE TABLE runs (
	id          INTEGER PRIMARY KEY,
	started_at  INTEGER NOT NULL,       -- unix seconds
	finished_at INTEGER,                -- NULL while running or when interrupted
	outcome     TEXT,                   -- done | interrupted | failed
	stats       TEXT                    -- JSON: seconds, verdicts, sessions, retries, hosts[]
);
