-- 010: what a run learned about a mail host (an MX address as seen from one source address)
-- that must outlive the host's state in memory: a run lets an idle host go (engine/sched.h) and
-- reads this back when the host comes back. Flow control (window, ceiling found by pushback,
-- recipient limit, failures in a row, pause penalty, the pause and the spacing on that run's
-- monotonic clock, common/clock.h) and the run's statistics of the host (report.json's
-- run.hosts). Read back only by the run that wrote it (run_id): a new run starts each host
-- afresh, as before.
CREATE TABLE host_state (
	ip TEXT NOT NULL,
	source TEXT NOT NULL,
	run_id INTEGER NOT NULL,
	window INTEGER NOT NULL,
	ceiling INTEGER NOT NULL,
	rcpt_limit INTEGER NOT NULL,
	failures INTEGER NOT NULL,
	penalty INTEGER NOT NULL,
	paused_until REAL NOT NULL,
	next_start REAL NOT NULL,
	rtt REAL NOT NULL,
	sessions INTEGER NOT NULL,
	max_window INTEGER NOT NULL,
	pushback INTEGER NOT NULL,
	connect_failures INTEGER NOT NULL,
	pauses INTEGER NOT NULL,
	reached INTEGER NOT NULL,
	unreached INTEGER NOT NULL,
	PRIMARY KEY (ip, source)
) WITHOUT ROWID;
CREATE INDEX host_state_run ON host_state (run_id);
