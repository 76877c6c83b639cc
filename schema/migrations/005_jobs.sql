-- 005: bulk jobs of `mailsift serve`: one uploaded list each, owned by the API key that made it.
-- The uploaded bytes are a file in the server's folder (their count is the file's size); the
-- list they were imported into is list_id. The states a job goes through are kept here, so a
-- restarted server resumes each where it was; what a status shows besides (done / total,
-- verdicts, retries) is counted from the list's rows.
CREATE TABLE jobs (
	id            TEXT PRIMARY KEY,         -- 16 random hex digits
	owner         TEXT NOT NULL,            -- the API key's name
	name          TEXT NOT NULL,
	column_spec   TEXT,                     -- the address column asked for, or NULL: detect
	max_age_days  REAL NOT NULL DEFAULT 0,  -- > 0: verdicts older than this are asked again
	callback_url  TEXT,
	callback_secret TEXT,                   -- the HMAC key of the callback's signature
	gzip          INTEGER NOT NULL DEFAULT 0, -- export .csv.gz files
	state         TEXT NOT NULL,            -- uploading | importing | verifying | exporting | done | failed
	list_id       INTEGER,                  -- the imported list, once importing began
	error         TEXT,                     -- why it failed
	created_at    INTEGER NOT NULL,
	started_at    INTEGER,
	finished_at   INTEGER,
	counts        TEXT,                     -- where its rows stood when it ended (JSON), or NULL
	callback_state TEXT,                    -- NULL none | pending | delivered | failed
	callback_attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX jobs_by_owner ON jobs(owner, created_at);
