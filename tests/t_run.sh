#!/bin/sh
# t_run - `mailsift run` (the scheduler) and `clean` against a loopback mail world of its own:
#  1. forty domains on one connection-limited host (2 sessions per client): right verdicts and
#     few 421s (limits belong to the MX host, not the domain), costing no attempt; the domains
#     share the host's sessions (a session carries addresses of several domains);
#  2. greylisting: right verdicts after the retry, every try from one client address and sender,
#     the catch-all probe retried with the same local part (else it could never pass);
#  3. a dead host (refused) and a silent one (blackhole): unknown, the rest unaffected,
#     report.json counts connect failures / pauses for them; a host that refuses us at RCPT
#     (550 5.7.1): its refusal goes to the addresses the session would have asked (no session
#     per address);
#  4. catch-all domains with 30 addresses each: one random-local-part probe per domain;
#  5. a throttling host (421 after 5 RCPTs, 421 banner above 3 sessions): pushback counted in
#     report.json, verdicts still right;
#  6. SIGKILL at several points of a run, rerun: the export equals the uninterrupted run's;
#  7. SIGINT of `clean`: exit 3, a message saying how to resume, the rerun finishes;
#  8. --max-age: fresh verdicts reused (no SMTP session), old ones probed again;
#  9. a second process on the same store is refused;
# 10. never DATA; sessions that sent MAIL end with QUIT, RSET between transactions, a session
#     stops after about ten rejections (24 unknown users at s2.test);
# 11. setup errors (a job store that does not exist, a --source that is not ours) fail the run
#     instead of becoming verdicts;
# 12. no mail host takes a TCP connection (outbound port 25 blocked, as on many ISPs): the run
#     stops early with a message saying so, and decides nothing.
# Each phase uses its own source address (--source 127.0.0.N), so smtpd.log tells them apart.
# Runs in a private network namespace with only loopback (unshare -n) when it can.
if [ "${MAILSIFT_NETNS:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
	unshare -n true 2>/dev/null; then
	exec unshare -n sh -c 'ip link set lo up && MAILSIFT_NETNS=1 exec sh "$0"' "$0"
fi
. "$(dirname "$0")/lib.sh"
[ "${MAILSIFT_NETNS:-0}" = 1 ] || echo "  (not in a private network namespace: loopback only all the same)"
CHECK="python3 $TOP/tests/run/check.py"
cd "$WORK" || exit 1

if ! "$MAILSIFT" run --help > run-help.out 2>&1; then
	fail "mailsift run exists" "$(head -c 300 run-help.out)"
	exit 0
fi

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
t_start=$(now)

# ---- the world: personas, zone, lists ----
cat > personas.conf <<'EOF'
127.0.1.10 strict     users=alice,bob,carol
127.0.1.12 catchall
127.0.1.13 greylist   users=alice,bob,carol delay=2
127.0.1.14 connlimit  users=alice,bob,carol max=2 reply_ms=40
127.0.1.17 blackhole
127.0.1.19 policy
127.0.1.24 throttle   users=alice,bob,carol,u1,u2,u3,u4,u5,u6 rcpt_per_session=5 max_sessions=3
EOF
{
	echo "a mx.strict.test 127.0.1.10"
	echo "a mx.catchall.test 127.0.1.12"
	echo "a mx.greylist.test 127.0.1.13"
	echo "a mx.connlimit.test 127.0.1.14"
	echo "a mx.blackhole.test 127.0.1.17"
	echo "a mx.policy.test 127.0.1.19"
	echo "a mx.throttle.test 127.0.1.24"
	echo "a mx.dead.test 127.0.1.99"
	echo "mx s1.test 10 mx.strict.test"
	echo "mx s2.test 10 mx.strict.test"
	echo "mx gl.test 10 mx.greylist.test"
	echo "mx bh.test 10 mx.blackhole.test"
	for i in $(seq 1 40); do echo "mx d$i.test 10 mx.connlimit.test"; done
	for i in 1 2 3; do echo "mx ca$i.test 10 mx.catchall.test"; done
	for i in 1 2; do echo "mx th$i.test 10 mx.throttle.test"; done
	for i in 1 2 3; do echo "mx dead$i.test 10 mx.dead.test"; done
	for i in 1 2; do echo "mx pol$i.test 10 mx.policy.test"; done
	# 12. a world where no mail host answers: 25 domains on 25 addresses nobody listens on
	for i in $(seq 1 25); do
		echo "a mx.nowhere$i.test 127.0.3.$i"
		echo "mx nw$i.test 10 mx.nowhere$i.test"
	done
} > world.zone

# main.csv: email,group,expect (STATUS/REASON[|REASON]), shuffled so that hosts interleave
{
	for i in $(seq 1 40); do
		echo "alice@d$i.test,connlimit,valid/accepted"
		echo "zed@d$i.test,connlimit,invalid/mailbox_not_found"
	done
	for u in alice bob; do echo "$u@gl.test,greylist,valid/accepted"; done
	echo "zed@gl.test,greylist,invalid/mailbox_not_found"
	for i in 1 2 3; do echo "alice@dead$i.test,dead,unknown/connect_failed|timeout"; done
	echo "bob@dead1.test,dead,unknown/connect_failed|timeout"
	for u in alice bob; do echo "$u@bh.test,blackhole,unknown/timeout|connect_failed"; done
	for i in 1 2 3; do
		for n in $(seq 1 30); do echo "u$n@ca$i.test,catchall,catch_all/catch_all"; done
	done
	for i in 1 2; do
		for n in 1 2 3 4 5 6; do echo "u$n@th$i.test,throttle,valid/accepted"; done
		for n in 1 2; do echo "x$n@th$i.test,throttle,invalid/mailbox_not_found"; done
	done
	echo "alice@s1.test,strict,valid/accepted"
	echo "zed@s1.test,strict,invalid/mailbox_not_found"
	# 24 unknown users at one domain: more rejections than one session should take
	for n in $(seq 1 24); do echo "z$n@s2.test,rejections,invalid/mailbox_not_found"; done
	echo "alice@s2.test,rejections,valid/accepted"
	# a host that refuses us (550 5.7.1 at RCPT): its other addresses are told so, not asked
	for i in 1 2; do
		for n in $(seq 1 15); do echo "u$n@pol$i.test,policy,unknown/blocked"; done
	done
} | python3 -c 'import random,sys; l=sys.stdin.read().splitlines(); random.Random(7).shuffle(l)
print("email,group,expect"); print("\n".join(l))' > main.csv
TOTAL=$(($(wc -l < main.csv) - 1))
# small.csv (SIGINT of clean): ten connection-limited domains, the greylisting one, a catch-all
grep -E '^[a-z]+@d([1-9]|10)\.test,|@gl\.test,|@ca1\.test,|^email,' main.csv > small.csv
SMALL=$(($(wc -l < small.csv) - 1))

world_start $((30000 + ($$ * 7) % 20000)) "$WORK/personas.conf"
# T_RUN_KEEP=DIR keeps the test's files (logs, stores, exports) there for a post-mortem
trap 'sh "$TOP/tests/world/world.sh" stop "$WORK/world" >/dev/null 2>&1
	[ -n "${T_RUN_KEEP:-}" ] && rm -rf "$T_RUN_KEEP" && cp -a "$WORK" "$T_RUN_KEEP"; rm -rf "$WORK"' EXIT
LOG="$WORK/world/smtpd.log"
loglines() { wc -l < "$LOG"; }

PROBE="--resolver 127.0.0.1:$((PORT + 1)) --smtp-port $PORT --helo probe.mailsift.test --allow-private-mx
	--mail-from verify@probe.mailsift.test --timeout 3 --connect-timeout 2 --greylist-delay 3
	--max-attempts 2"
MAIN_SRC="--source 127.0.0.2 --source 127.0.0.3"

# done_count DB - addresses with a final verdict ("" while the store is not there)
done_count() {
	sqlite3 "$1" "SELECT count(*) FROM addresses WHERE state = 2" 2>/dev/null
}
# wait_done DB N PID - until N verdicts are stored or PID is gone (at most 60 s)
wait_done() {
	i=0
	while [ $i -lt 1200 ] && kill -0 "$3" 2>/dev/null; do
		n=$(done_count "$1")
		[ -n "$n" ] && [ "$n" -ge "$2" ] && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# ---- main run (checks 1-5, and 9 while it runs) ----
"$MAILSIFT" import main.csv --db main.db --quiet 2> import.err
check_eq "import main.csv" "$?" 0
"$MAILSIFT" status --db main.db > status0.out 2>&1
check_contains "status lists the list" status0.out "main.csv"
check_contains "status counts pending addresses" status0.out "$TOTAL pending"

t0=$(now)
MAILSIFT_PROGRESS_INTERVAL=0.3 timeout 120 "$MAILSIFT" run --db main.db $PROBE $MAIN_SRC 2> run.err &
pid=$!
# 9. a second writer while the first is verifying
if wait_done main.db 1 $pid; then
	timeout 20 "$MAILSIFT" run --db main.db $PROBE --source 127.0.0.9 > second.out 2>&1
	check_eq "9. second process on the store: exit 1" "$?" 1
	check_contains "9. second process: message" second.out "another mailsift process"
	check_eq "9. second process opened no SMTP session" \
		"$($CHECK log clients "$LOG" 0 | tr ' ' '\n' | grep -c '^127\.0\.0\.9$')" 0
	timeout 20 "$MAILSIFT" clean main.csv -o second-out --db main.db $PROBE > second2.out 2>&1
	check_eq "9. second process (clean --db) on the store: exit 1" "$?" 1
	"$MAILSIFT" status --db main.db > status1.out 2>&1
	check_eq "status may read while run writes" "$?" 0
else
	fail "9. second process on the store" "the first run stored no verdict within 60 s ($(tail -3 run.err))"
fi
wait $pid
rc=$?
t_main=$(since "$t0")
echo "  time: main run ($TOTAL addresses) ${t_main} s"
check_eq "main run exits 0" "$rc" 0
[ "$rc" = 0 ] || sed 's/^/  run.err: /' run.err | tail -5
check_eq "main run: every address has a verdict" "$(done_count main.db)" "$TOTAL"
"$MAILSIFT" export --db main.db -o main-out --quiet 2> export.err
check_eq "export main.db" "$?" 0
$CHECK verdicts main-out "main run"
MAIN_END=$(loglines)
echo "  report.json run: $($CHECK runinfo main-out/report.json)"

# Progress (a line every 0.3 s here): every field the issue asks for, and the greylisted
# addresses counted apart while they wait for their retry.
check "progress: a line with done/total, rate, ETA, counts per verdict, sessions, hosts paused" \
	grep -Eq "verifying: [0-9]+/$TOTAL, "'[0-9]+/s, ETA [^|]+ \| valid [0-9]+ invalid [0-9]+ risky [0-9]+ catch_all [0-9]+ unknown [0-9]+ \| sessions [0-9]+, hosts paused [0-9]+' run.err
check "progress: addresses waiting for a greylist retry are counted, with when they are due" \
	grep -Eq ', [0-9]+ wait for a retry \((due|next) in [0-9]+ (s|min)' run.err
check "progress: while only retries are left, the run says how long it waits and for how many" \
	grep -Eq '^waiting [0-9]+ s for the next retry \([0-9]+ addresses wait' run.err

# 1. the connection-limited host: few 421s from each source address
set -- $($CHECK log banner421 "$LOG" 0 127.0.1.14)
n421=${1:-0}
echo "  connlimit: 421 banners $n421 ($*); most open per client: $($CHECK log maxopen "$LOG" 0 127.0.1.14)"
worst=$(printf '%s\n' "$@" | sed -n 's/.*=//p' | sort -n | tail -1)
check "1. connlimit: at most 3 421-banners per source address (got ${worst:-0}; $*)" \
	test "${worst:-0}" -le 3
check_eq "1. a 421 banner (our pace) costs the connection-limited domains' addresses no attempt" \
	"$(sqlite3 main.db "SELECT group_concat(DISTINCT attempts) FROM addresses
		WHERE domain LIKE 'd%.test' AND domain NOT LIKE 'dead%'")" 1
set -- $($CHECK log sessions "$LOG" 0 127.0.1.14)
echo "  connlimit: $1 sessions with MAIL for 40 domains; most domains in one session: $2"
check "1. the 40 domains of the connection-limited host share sessions (sessions with MAIL: ${1:-none} < 40)" \
	test "${1:-40}" -lt 40
check "1. a session carries several domains of its host (most in one: ${2:-none})" test "${2:-0}" -ge 2
# 3b. the host that refuses us: one session per source address said it for all 30 addresses
set -- $($CHECK log sessions "$LOG" 0 127.0.1.19)
check "3b. policy host: its refusal is given to the addresses the session would have asked, not one session each (sessions with MAIL: ${1:-none} <= 2)" \
	test "${1:-99}" -le 2
check_eq "1. report.json pushback of 127.0.1.14 = the 421s smtpd sent" \
	"$($CHECK report main-out/report.json 127.0.1.14 pushback)" "$n421"
mw=$($CHECK report main-out/report.json 127.0.1.14 max_window)
check "1. report.json max_window of 127.0.1.14 within 1..10 (got $mw)" \
	test "$mw" != missing -a "$mw" -ge 1 -a "$mw" -le 10 2>/dev/null

# 2. greylisting: one (client, sender) per greylisted recipient, and the retry passed
set -- $($CHECK log grey "$LOG" 0)
check_eq "2. greylist: every try of a recipient from one client address and sender ($*)" "${1%%/*}" 0
check "2. greylist: the retries passed ($*)" test "${2:-}" != "passed=0"
# The catch-all probe of a greylisting domain must be retried with the same random local part:
# a new one is a new greylist triple, greylisted again, so the probe could never pass (and a
# greylisting catch-all domain would never be found out).
check_eq "2. greylist: the catch-all probe of gl.test retried with the same local part" \
	"$($CHECK log probes "$LOG" 0 'gl\.test' main.csv distinct)" "gl.test=1"

# 3. dead hosts: counted in report.json
cf=$($CHECK report main-out/report.json 127.0.1.99 connect_failures)
pa=$($CHECK report main-out/report.json 127.0.1.99 pauses)
check "3. report.json: 127.0.1.99 has connect_failures or pauses (connect_failures=$cf pauses=$pa)" \
	test "$cf" != missing -a "$pa" != missing -a "$cf$pa" != 00
pb=$($CHECK report main-out/report.json 127.0.1.17 pushback)
echo "  blackhole 127.0.1.17: connect_failures=$($CHECK report main-out/report.json 127.0.1.17 connect_failures) pauses=$($CHECK report main-out/report.json 127.0.1.17 pauses) pushback=$pb"

# 4. catch-all: one probe per domain whatever the number of its addresses
check_eq "4. catch-all: one random-local-part RCPT per domain" \
	"$($CHECK log probes "$LOG" 0 'ca[0-9]+\.test' main.csv)" "ca1.test=1 ca2.test=1 ca3.test=1"

# 5. throttling host: pushback counted
pb=$($CHECK report main-out/report.json 127.0.1.24 pushback)
check "5. report.json: pushback of the throttling host > 0 (got $pb)" test "$pb" != missing -a "$pb" -gt 0 2>/dev/null

# ---- 8. --max-age ----
opens=$($CHECK log opens "$LOG" 0)
timeout 60 "$MAILSIFT" run --db main.db $PROBE $MAIN_SRC --quiet 2> rerun.err
check_eq "8. rerun of a finished store: exit 0" "$?" 0
timeout 60 "$MAILSIFT" run --db main.db $PROBE $MAIN_SRC --max-age 1 --quiet 2> maxage1.err
check_eq "8. rerun with --max-age 1: exit 0" "$?" 0
check_eq "8. fresh verdicts reused: no new SMTP session" "$($CHECK log opens "$LOG" 0)" "$opens"
# age the verdicts of the connection-limited domains and of s1.test by 10 days
sqlite3 main.db "UPDATE addresses SET checked_at = checked_at - 10*86400
	WHERE domain LIKE 'd%.test' AND domain NOT LIKE 'dead%' OR domain = 's1.test'"
aged=$(sqlite3 main.db "SELECT count(*) FROM addresses WHERE checked_at < strftime('%s','now') - 86400")
check_eq "8. 82 verdicts made 10 days old" "$aged" 82
mark=$(loglines)
t0=$(now)
timeout 60 "$MAILSIFT" run --db main.db $PROBE $MAIN_SRC --max-age 1 --quiet 2> maxage2.err
check_eq "8. run with --max-age 1 after aging: exit 0" "$?" 0
echo "  time: --max-age rerun $(since "$t0") s"
check_eq "8. old verdicts probed again (distinct aged recipients RCPT'd)" \
	"$($CHECK log rcpts "$LOG" "$mark" '(d[0-9]+|s1)\.test' main.csv)" 82
check_eq "8. fresh verdicts not probed again (catch-all, throttle, greylist, s2.test recipients RCPT'd)" \
	"$($CHECK log rcpts "$LOG" "$mark" '(ca[0-9]+|th[0-9]+|gl|s2)\.test' main.csv)" 0
check_eq "8. no verdict older than a day left" \
	"$(sqlite3 main.db "SELECT count(*) FROM addresses WHERE checked_at < strftime('%s','now') - 86400")" 0
"$MAILSIFT" export --db main.db -o maxage-out --quiet 2>> export.err
$CHECK verdicts maxage-out "8. after re-probing"

# ---- 6. SIGKILL at several points ----
"$MAILSIFT" import main.csv --db kill.db --quiet 2>> import.err
KILL_SRC=127.0.0.4
kill_start=$(loglines)
t0=$(now)
mid=0 last=$(done_count kill.db) points=""
# Nine kills, four of them mid-run at least: retries are claimed as soon as they are due, so a run
# gets further per commit than when they waited for the end of the pass (the tail of greylisted
# retries is often done by one run), and the last kills come after the end.
for extra in 0.00 0.03 0.07 0.01 0.05 0.09 0.02 0.04 0.06; do
	"$MAILSIFT" run --db kill.db $PROBE --source $KILL_SRC --quiet 2>> kill.err &
	pid=$!
	wait_done kill.db $((last + 1)) $pid
	sleep "$extra"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	now_done=$(done_count kill.db)
	if [ "$now_done" -gt "$last" ] && [ "$now_done" -lt "$TOTAL" ]; then
		mid=$((mid + 1))
		points="$points $now_done"
	fi
	last=$now_done
done
echo "  killed mid-run $mid times, at$points of $TOTAL verdicts ($(since "$t0") s)"
check "6. SIGKILL landed mid-run at least 4 times ($mid of 9)" test "$mid" -ge 4
t0=$(now)
timeout 120 "$MAILSIFT" run --db kill.db $PROBE --source $KILL_SRC --quiet 2> kill-final.err
check_eq "6. rerun after SIGKILLs: exit 0" "$?" 0
echo "  time: rerun after SIGKILLs $(since "$t0") s"
check_eq "6. rerun after SIGKILLs: every address done, none in flight" \
	"$(sqlite3 kill.db 'SELECT state, count(*) FROM addresses GROUP BY state')" "2|$TOTAL"
"$MAILSIFT" export --db kill.db -o kill-out --quiet 2>> export.err
$CHECK verdicts kill-out "6. after SIGKILLs"
# Byte-identical files are not expected: mailsift_checked_at is the time of the verdict. The
# rows must be the same rows, in the same files and order, with the same address, status and
# reason; other annotation columns (smtp message, code, mx) are compared and reported only.
check "6. export after SIGKILLs equals the uninterrupted run's (input columns, address, status, reason per row)" \
	$CHECK compare main-out kill-out

# ---- 7. SIGINT of clean; rerun resumes ----
INT_SRC=127.0.0.5
CLEAN="$MAILSIFT clean small.csv -o int-out $PROBE --source $INT_SRC --quiet"
$CLEAN 2> int.err & # not under timeout(1): the signal must reach mailsift itself
pid=$!
i=0
while [ $i -lt 400 ] && [ ! -f int-out/mailsift.db ] && kill -0 $pid 2>/dev/null; do sleep 0.05; i=$((i + 1)); done
wait_done int-out/mailsift.db 5 $pid
sleep 0.1
kill -INT $pid 2>/dev/null
t0=$(now)
i=0
while [ $i -lt 300 ] && kill -0 $pid 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
kill -0 $pid 2>/dev/null && { echo "  clean still runs 30 s after SIGINT: SIGKILL"; kill -9 $pid; }
wait $pid
rc=$?
echo "  SIGINT at $(done_count int-out/mailsift.db) of $SMALL verdicts; exit after $(since "$t0") s"
check_eq "7. SIGINT: exit status 3" "$rc" 3
check "7. SIGINT: message says how to resume ($(tail -2 int.err | tr '\n' ' '))" grep -qi 'resume' int.err
t0=$(now)
timeout 120 $CLEAN 2> int2.err
check_eq "7. rerun of clean after SIGINT: exit 0" "$?" 0
echo "  time: clean rerun after SIGINT $(since "$t0") s"
$CHECK verdicts int-out "7. clean after SIGINT"
check_eq "7. sessions from the interrupted run ended with QUIT (not cut)" \
	"$($CHECK log noquit "$LOG" 0 127.0.0.2 127.0.0.3 127.0.0.4 | cut -d' ' -f1)" 0

# ---- 10. the world's log ----
check "10. no DATA ever sent" test -z "$(grep '!!! ' "$LOG")"
set -- $($CHECK log noquit "$LOG" 0 $KILL_SRC)
check_eq "10. every session with MAIL ended with QUIT (but those SIGKILLed, or closed by the server) ($*)" "$1" 0
set -- $($CHECK log norset "$LOG" 0)
check_eq "10. RSET between transactions of a session ($*)" "$1" 0
set -- $($CHECK log maxrejects "$LOG" 0)
echo "  most RCPT rejections in one session: $1 (session $2); most RCPTs in one session: $3 (session $4)"
check "10. a session stops after about ten rejections (most: $1)" test "$1" -le 10
check "10. sessions carry many addresses (most RCPTs in one session: $3)" test "$3" -ge 5

# ---- 11. setup errors are failures, not verdicts ----
"$MAILSIFT" run --db missing.db $PROBE --quiet > missing.out 2>&1
rc=$?
check "11. run on a job store that does not exist: exit 1 (got $rc: $(head -c 200 missing.out))" test "$rc" = 1
check "11. run on a job store that does not exist: creates no file" test ! -e missing.db
head -4 main.csv > setup.csv
"$MAILSIFT" import setup.csv --db setup.db --quiet 2>> import.err
timeout 60 "$MAILSIFT" run --db setup.db $PROBE --max-attempts 1 --source 10.255.255.1 --quiet > badsource.out 2>&1
rc=$?
check "11. --source not an address of this host: exit 1 (got $rc: $(head -c 200 badsource.out))" test "$rc" = 1
check_eq "11. --source not an address of this host: no verdict stored (our problem, not the addresses')" \
	"$(sqlite3 setup.db "SELECT count(*) FROM addresses WHERE state = 2")" 0

# 12. Nothing answers on port 25 (25 MX hosts, all refused): the run stops and says why.
for i in $(seq 1 25); do echo "user$i@nw$i.test"; done > nowhere.txt
"$MAILSIFT" import nowhere.txt --db nowhere.db --quiet
t0=$(now)
timeout 60 "$MAILSIFT" run --db nowhere.db $PROBE --source 127.0.0.12 --quiet > nowhere.out 2>&1
rc=$?
echo "  port 25 blocked: run stopped after $(since "$t0") s: $(head -c 300 nowhere.out)"
check "12. no host takes a connection: the run fails with its own status (exit 4, got $rc)" \
	test "$rc" = 4
check "12. ... saying that outbound SMTP looks blocked and naming the port" \
	grep -q "outbound SMTP looks blocked here: [0-9]* mail hosts refused or timed out a TCP connection on port $PORT and none took one" nowhere.out
check_eq "12. ... and deciding nothing (no final verdict)" \
	"$(sqlite3 nowhere.db "SELECT count(*) FROM addresses WHERE state = 2")" 0
# One live host among 25 dead ones: not blocked, the run goes on and ends.
{ cat nowhere.txt; echo "alice@s1.test"; } > nowhere2.txt
"$MAILSIFT" import nowhere2.txt --db nowhere2.db --quiet
timeout 60 "$MAILSIFT" run --db nowhere2.db $PROBE --source 127.0.0.12 --max-attempts 1 --quiet \
	> nowhere2.out 2>&1
rc=$?
check "12. one host answering among 25 that refuse: no such stop (exit 0, got $rc: $(head -c 200 nowhere2.out))" \
	test "$rc" = 0
check_eq "12. ... the live host's address valid, the refusing hosts' unknown/connect_failed" \
	"$(sqlite3 nowhere2.db "SELECT status || '/' || reason, count(*) FROM addresses GROUP BY 1 ORDER BY 1" | tr '\n' ' ')" \
	"unknown/connect_failed|25 valid/accepted|1 "

echo "  time: whole test $(since "$t_start") s"
