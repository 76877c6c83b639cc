-- 011: what the servers said (issue 16). address_trace: the transcript of an address's
-- probe (common/trace.h lines; at most DEF_TRACE_STORED_BYTES, head and tail with a cut line
-- between), kept for the addresses whose verdict is unknown or risky, and for those waiting
-- for a retry (their earlier attempts), or for every address when asked (verify --trace,
-- --keep-traces all): `mailsift explain` and the exports' mailsift_trace column read it.
-- session_log: one row per SMTP session a run made (the session log's fields), so
-- `mailsift status --hosts` works without the --session-log file.
CREATE TABLE address_trace (
	address_id INTEGER PRIMARY KEY,
	run_id INTEGER,
	trace TEXT NOT NULL
);
CREATE TABLE session_log (
	id INTEGER PRIMARY KEY,
	run_id INTEGER,
	at INTEGER NOT NULL,        -- unix seconds the session started
	source TEXT,                -- our address ('' : the system's choice)
	mx_host TEXT,
	mx_ip TEXT,
	tls INTEGER NOT NULL,
	rcpts INTEGER NOT NULL,
	outcome TEXT NOT NULL,      -- completed, refused, timed_out, dropped, pushback, ...
	smtp_end TEXT NOT NULL,     -- how the session ended (engine/smtp.h smtp_end_name)
	code INTEGER,               -- the reply that ended it, or the last reply
	enhanced TEXT,
	text TEXT,
	seconds REAL NOT NULL,
	reply_ms REAL NOT NULL      -- mean time to a reply
);
