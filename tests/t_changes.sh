#!/bin/sh
# t_changes - re-verification that says what changed (#13), against a loopback mail world of
# its own that changes between two cleans of one list:
#  1. a list cleaned (world A);
#  2. the world changed (world B): two mailboxes removed (valid -> invalid), a domain gone
#     (NXDOMAIN: valid -> invalid, and an invalid address stays invalid, by another reason),
#     a domain turned catch-all (valid and invalid -> catch_all); the list cleaned again into a
#     new folder with --max-age 0: every verdict probed again (DNS and catch-all asked again
#     too), changes.csv holds exactly the changed rows (not the duplicate of one, not the rows
#     whose reason alone changed) with the previous status and checked_at the first export
#     showed, report.json and `mailsift status` count the transitions, --gzip gives
#     changes.csv.gz;
#  3. cleaned again with --max-age 0, nothing changed: changes.csv is its header alone, no
#     transitions;
#  4. serve: a job of the list in world A, then one with max_age_days 0 in world B: its status
#     carries the same transitions and changes.csv is among its files; one more with
#     max_age_days 0: no transitions;
#  5. without --max-age, a clean reuses every verdict (no RCPT); status --max-age 0 counts
#     every verdict a probe gave as stale;
#  6. a store made before the history (schema 6) is read by status and export without being
#     changed (a read-only open does not migrate): no changes.
# Runs in a private network namespace with only loopback (unshare -n) when it can.
if [ "${MAILSIFT_NETNS:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
	unshare -n true 2>/dev/null; then
	exec unshare -n sh -c 'ip link set lo up && MAILSIFT_NETNS=1 exec sh "$0"' "$0"
fi
. "$(dirname "$0")/lib.sh"
cd "$WORK" || exit 1
CHECKS="python3 $TOP/tests/changes_checks.py"

# ---- the two worlds ----
# 127.0.1.10 serves s.test, whose mailboxes go; 127.0.1.11 the domains that keep theirs;
# 127.0.1.12 accepts everything (where turn.test's MX points in world B)
cat > personas-a.conf <<'EOF'
127.0.1.10 strict   name=mx.s.test users=alice,bob,carol
127.0.1.11 strict   name=mx.keep.test users=alice,bob,carol
127.0.1.12 catchall name=mx.ca.test
EOF
cat > personas-b.conf <<'EOF'
127.0.1.10 strict   name=mx.s.test users=alice
127.0.1.11 strict   name=mx.keep.test users=alice,bob,carol
127.0.1.12 catchall name=mx.ca.test
EOF
cat > zone-a <<'EOF'
a mx.s.test 127.0.1.10
a mx.keep.test 127.0.1.11
a mx.ca.test 127.0.1.12
mx s.test 10 mx.s.test
mx keep.test 10 mx.keep.test
mx gone.test 10 mx.keep.test
mx turn.test 10 mx.keep.test
EOF
grep -v '^mx gone.test ' zone-a | sed 's/^mx turn.test 10 mx.keep.test$/mx turn.test 10 mx.ca.test/' > zone-b
cat > list.csv <<'EOF'
email,name
alice@s.test,Alice
bob@s.test,Bob
carol@s.test,Carol
zed@s.test,Zed
alice@keep.test,Alice K
zed@keep.test,Zed K
alice@gone.test,Alice G
zed@gone.test,Zed G
alice@turn.test,Alice T
zed@turn.test,Zed T
BOB@s.test,Bob again
not-an-address,Nobody
EOF
# what changes from world A to world B (ADDRESS=PREVIOUS>CURRENT)
WANT="bob@s.test=valid>invalid,carol@s.test=valid>invalid,alice@gone.test=valid>invalid"
WANT="$WANT,alice@turn.test=valid>catch_all,zed@turn.test=invalid>catch_all"

cp zone-a world.zone
world_start $((30000 + ($$ * 11 + 5000) % 20000)) "$WORK/personas-a.conf"
SPID=
# T_CHANGES_KEEP=DIR keeps the test's files (stores, exports, logs) there for a post-mortem
trap 'kill -9 $SPID 2>/dev/null; sh "$TOP/tests/world/world.sh" stop "$WORK/world" >/dev/null 2>&1
	[ -n "${T_CHANGES_KEEP:-}" ] && rm -rf "$T_CHANGES_KEEP" && cp -a "$WORK" "$T_CHANGES_KEEP"; rm -rf "$WORK"' EXIT
LOG="$WORK/world/smtpd.log"
PROBE="--resolver 127.0.0.1:$((PORT + 1)) --smtp-port $PORT --helo probe.mailsift.test --allow-private-mx
	--mail-from verify@probe.mailsift.test --connect-timeout 2 --timeout 3 --max-attempts 1"

# world_switch PERSONAS ZONE - the world stopped and started again with these (same ports)
world_switch() {
	sh "$TOP/tests/world/world.sh" stop "$WORK/world" > /dev/null 2>&1
	cp "$2" "$WORK/world.zone"
	if ! WORLD_SMTP_PORT=$PORT WORLD_DNS_PORT=$((PORT + 1)) WORLD_SMTP_CONFIG=$1 \
		WORLD_ZONE="$WORK/world.zone" sh "$TOP/tests/world/world.sh" start "$WORK/world" \
		> "$WORK/world.out" 2>&1; then
		fail "the world starts again" "$(cat "$WORK/world.out")"
		exit 1
	fi
	LOG="$WORK/world/smtpd.log"
}

# rcpts SINCE ADDRESS - RCPTs to ADDRESS in smtpd's log after its first SINCE lines
rcpts() {
	tail -n +"$(($1 + 1))" "$LOG" | grep -ic " C: RCPT TO:<$2>"
}

DATA="$WORK/data" # serve's (serve_start, tests/lib.sh)

# ---- 1. world A ----
timeout 120 "$MAILSIFT" clean list.csv --db job.db -o out1 $PROBE --quiet 2> clean1.err
check_eq "1. clean in world A: exit 0" "$?" 0
check_eq "1. world A: the verdicts" \
	"$(python3 -c 'import csv,sys
for n in ("valid", "invalid", "catch_all"):
    print(n, " ".join(sorted(r["mailsift_address"] for r in csv.DictReader(open(sys.argv[1] + "/" + n + ".csv")))))' out1)" \
	"$(printf '%s\n' 'valid alice@gone.test alice@keep.test alice@s.test alice@turn.test bob@s.test carol@s.test' \
		'invalid not-an-address zed@gone.test zed@keep.test zed@s.test zed@turn.test' 'catch_all ')"
$CHECKS unchanged out1 "1. first clean"
"$MAILSIFT" status --db job.db > status1.out 2>&1
check_contains "1. status: no changes yet" status1.out "changes: none"

serve_start
$CHECKS job list.csv first j1.id
serve_stop

# ---- 2. world B, --max-age 0 ----
world_switch "$WORK/personas-b.conf" "$WORK/zone-b"
sleep 1 # the second clean's verdicts are younger than the first's by a second at least
mark=$(wc -l < "$LOG")
timeout 120 "$MAILSIFT" clean list.csv --db job.db -o out2 $PROBE --max-age 0 2> clean2.err
check_eq "2. clean with --max-age 0 in world B: exit 0" "$?" 0
check_eq "2. every address was asked again (one RCPT each for alice@keep.test, alice@s.test)" \
	"$(rcpts "$mark" alice@keep.test) $(rcpts "$mark" alice@s.test)" "1 1"
check_contains "2. the vanished domain's DNS was asked again (NXDOMAIN)" \
	"$WORK/world/dnsd.log" "gone.test MX NXDOMAIN"
check_contains "2. clean says how many rows changed" clean2.err \
	"5 rows changed status since their previous verdict: see changes.csv"
$CHECKS changes out1 out2 "$WANT" "2. world B"
"$MAILSIFT" status --db job.db > status2.out 2>&1
check_contains "2. status prints the transitions" status2.out \
	"changes: valid->invalid 3, valid->catch_all 1, invalid->catch_all 1"
"$MAILSIFT" export --db job.db -o out2gz --gzip --quiet 2> export-gz.err
check_eq "2. export --gzip: exit 0" "$?" 0
$CHECKS gzip out2 out2gz

serve_start
$CHECKS job list.csv again j2.id 0
$CHECKS job_changes "$(cat j2.id)" "$WANT" api2 "4. serve, max_age_days 0 in world B"

# ---- 3. nothing changed ----
mark=$(wc -l < "$LOG")
timeout 120 "$MAILSIFT" clean list.csv --db job.db -o out3 $PROBE --max-age 0 --quiet 2> clean3.err
check_eq "3. clean again with --max-age 0: exit 0" "$?" 0
check_eq "3. every address was asked again" "$(rcpts "$mark" zed@keep.test)" 1
$CHECKS unchanged out3 "3. nothing changed"
"$MAILSIFT" status --db job.db > status3.out 2>&1
check_contains "3. status: no changes" status3.out "changes: none"
$CHECKS job list.csv unchanged j3.id 0
$CHECKS job_changes "$(cat j3.id)" "" api3 "4. serve, max_age_days 0, nothing changed"
serve_stop

# ---- 5. --max-age not given, and 0 at once ----
mark=$(wc -l < "$LOG")
timeout 120 "$MAILSIFT" clean list.csv --db job.db -o out4 $PROBE --quiet 2> clean4.err
check_eq "5. clean without --max-age: exit 0" "$?" 0
check_eq "5. without --max-age every verdict is reused (no RCPT)" \
	"$(tail -n +"$((mark + 1))" "$LOG" | grep -ic ' C: RCPT TO:')" 0
check_contains "5. status --max-age 0 counts every probed verdict stale" \
	"$("$MAILSIFT" status --db job.db --max-age 0 > status5.out 2>&1; echo status5.out)" \
	"stale: 10 verdicts (--max-age 0: every verdict a probe gave)"

# ---- 6. a store made before the verdict history (schema 6), read without writing ----
sqlite3 job.db ".backup old.db" && sqlite3 old.db "DROP TABLE verdict_history; PRAGMA user_version = 6"
chmod 0444 old.db
"$MAILSIFT" status --db old.db > status6.out 2>&1
check_eq "6. status of a store of schema 6: exit 0" "$?" 0
check_contains "6. status of a store of schema 6: no changes" status6.out "changes: none"
"$MAILSIFT" export --db old.db -o out6 --quiet 2> export6.err
check_eq "6. export of a store of schema 6: exit 0 ($(head -c 300 export6.err))" "$?" 0
$CHECKS unchanged out6 "6. export of a store of schema 6"
check_eq "6. the store was not changed (still schema 6)" "$(sqlite3 old.db 'PRAGMA user_version')" 6
