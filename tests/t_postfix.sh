#!/bin/sh
# t_postfix - `mailsift verify` and `mailsift clean` against real servers nobody here wrote: Debian's Postfix (a
# private instance with a virtual mailbox domain), postgrey as its greylisting policy service and
# dnsmasq as the DNS server, all on loopback and started and stopped by this test
# (tests/postfix/pfworld.sh). Checks the verdicts (known, unknown, greylisted, relay denied,
# STARTTLS), Postfix's own log (never DATA, every session ends with QUIT, no "too many errors"
# when one domain has 15 unknown mailboxes under Postfix's default error limits), and that no
# daemon outlives the test. Needs root and the packages postfix, postgrey, dnsmasq-base, openssl.
# Runs in a private network namespace with only loopback (unshare -n) when it can.
if [ "${MAILSIFT_NETNS:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
	unshare -n true 2>/dev/null; then
	exec unshare -n sh -c 'ip link set lo up && MAILSIFT_NETNS=1 exec sh "$0"' "$0"
fi
. "$(dirname "$0")/lib.sh"
[ "${MAILSIFT_NETNS:-0}" = 1 ] || echo "  (not in a private network namespace: loopback only all the same)"
PATH=$PATH:/usr/sbin:/sbin
PFW="$TOP/tests/postfix/pfworld.sh"

now() { date +%s.%N; }
secs() { python3 -c 'import sys; print("%.1f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$1" "$2"; }

if [ "$(id -u)" != 0 ]; then
	fail "postfix world starts" "needs root (Postfix's master and postgrey start as root and drop privileges)"
	exit 1
fi
missing=""
for prog in postfix postgrey dnsmasq openssl runuser; do
	command -v $prog > /dev/null 2>&1 || missing="$missing $prog"
done
if [ -n "$missing" ]; then
	fail "postfix world starts" "not installed:$missing (sh tools/deps.sh installs postfix postgrey dnsmasq-base openssl)"
	exit 1
fi

# The daemons run as the postfix and postgrey users: they must reach the world's directory.
chmod 755 "$WORK"
PF="$WORK/pf"
t0=$(now)
port=$((20000 + $$ % 20000))
for try in 0 1 2; do
	PORT=$((port + try * 10))
	PF_SMTP_PORT=$PORT PF_DNS_PORT=$((PORT + 1)) PF_GREY_PORT=$((PORT + 2)) PF_GREY_DELAY=3 \
		sh "$PFW" start "$PF" > "$WORK/pfworld.out" 2>&1 && break
	PORT=""
done
trap 'sh "$PFW" stop "$PF" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM HUP
if [ -z "$PORT" ]; then
	fail "postfix world starts" "$(cat "$WORK/pfworld.out")"
	exit 1
fi
pass "postfix world starts (Postfix, postgrey, dnsmasq on port $PORT)"
t1=$(now)
LOG="$PF/maillog"

PROBE="--resolver 127.0.0.1:$((PORT + 1)) --smtp-port $PORT --helo probe.mailsift.test --allow-private-mx
	--mail-from verify@probe.mailsift.test --connect-timeout 5 --timeout 10
	--greylist-delay 5 --max-attempts 3"

# Run A: one of each kind. postgrey's delay is 3 s and mailsift retries after 5 s.
# shellcheck disable=SC2086 # PROBE is a list of words
timeout 120 "$MAILSIFT" verify $PROBE alice@pf.test bob@pf.test zed@pf.test alice@grey.test \
	zed@grey.test alice@tls.test zed@tls.test alice@elsewhere.test x@nosuch.test \
	> "$WORK/a.json" 2> "$WORK/a.err"
check_eq "verify run A exits 0" "$?" 0
t2=$(now)
mark=$(wc -l < "$LOG")

# Run B: 15 unknown mailboxes of one domain, under Postfix's default error limits (slow down
# after 10 errors, disconnect after 20).
set --
for i in 01 02 03 04 05 06 07 08 09 10 11 12 13 14 15; do set -- "$@" "nobody$i@pf.test"; done
# shellcheck disable=SC2086
timeout 120 "$MAILSIFT" verify $PROBE "$@" > "$WORK/b.json" 2> "$WORK/b.err"
check_eq "verify run B exits 0" "$?" 0
t3=$(now)
tail -n +$((mark + 1)) "$LOG" > "$WORK/b.log"

# expect FILE ADDRESS STATUS REASON [FIELD=VALUE ...]
expect() { expect_json "postfix: " "$@"; }

A="$WORK/a.json"
expect "$A" alice@pf.test valid accepted smtp_code=250 enhanced_code=2.1.5 mx_host=mx.pf.test \
	tls=False catch_all=False attempts=1
expect "$A" bob@pf.test valid accepted smtp_code=250
expect "$A" zed@pf.test invalid mailbox_not_found smtp_code=550 enhanced_code=5.1.1 attempts=1
expect "$A" alice@grey.test valid accepted smtp_code=250 mx_host=mx.grey.test attempts=2
expect "$A" zed@grey.test invalid mailbox_not_found smtp_code=550 enhanced_code=5.1.1
expect "$A" alice@tls.test valid accepted tls=True mx_host=mx.tls.test
expect "$A" zed@tls.test invalid mailbox_not_found enhanced_code=5.1.1 tls=True
# elsewhere.test's catch-all probe is refused first (relay access denied): alice is not asked
# herself, and her detail says whose reply it is
expect "$A" alice@elsewhere.test unknown blocked smtp_code=554 enhanced_code=5.7.1 mx_host=mx.pf.test \
	"detail=not asked: the server's reply shown, to another command of the session, ended it"
expect "$A" x@nosuch.test invalid nxdomain
check_contains "postfix: postgrey greylisted alice@grey.test first (450 4.2.0)" "$LOG" \
	"450 4.2.0 <alice@grey.test>: Recipient address rejected: Greylisted"
check_contains "postfix: relay access denied logged for elsewhere.test" "$LOG" ": Relay access denied;"
check_contains "postfix: a TLS session was established on the STARTTLS listener" "$LOG" \
	"TLS connection established from"
check "postfix: a session with starttls=1 ended with QUIT" grep -q 'disconnect from .* starttls=1 .*quit=1' "$LOG"

B="$WORK/b.json"
check_eq "postfix: 15 unknown mailboxes: all invalid/mailbox_not_found 550 5.1.1" \
	"$(python3 -c 'import json,sys
rows = [json.loads(l) for l in open(sys.argv[1])]
bad = ["%s=%s/%s %s %s %s" % (r["address"], r["status"], r["reason"], r["smtp_code"],
       r["enhanced_code"], r["smtp_message"]) for r in rows
       if (r["status"], r["reason"], r["smtp_code"], r["enhanced_code"]) !=
          ("invalid", "mailbox_not_found", 550, "5.1.1")]
print("%d results; %s" % (len(rows), "; ".join(bad) or "all right"))' "$B")" "15 results; all right"
# Postfix's disconnect line: "rcpt=OK/TOTAL" (just "rcpt=N" when all passed).
sessions_b=$(grep -c 'disconnect from' "$WORK/b.log")
check "postfix: 15 unknowns took more than one session ($sessions_b)" test "$sessions_b" -ge 2
check_eq "postfix: no session of run B had more than 10 rejected RCPTs (soft error limit)" \
	"$(sed -n 's/.*disconnect from .* rcpt=\([0-9]*\)\/\([0-9]*\).*/\1 \2/p' "$WORK/b.log" |
		awk '$2 - $1 > 10' | wc -l)" 0
check_eq "postfix: run B asked each unknown once plus one catch-all probe (RCPTs)" \
	"$(sed -n 's/.*disconnect from .* rcpt=[0-9]*\/\([0-9]*\).*/\1/p' "$WORK/b.log" |
		awk '{ n += $1 } END { print n + 0 }')" 16
check "postfix: never \"too many errors\"" test -z "$(grep 'too many errors' "$LOG")"

# Run C: the main job, `mailsift clean` on a CSV list (import, the scheduler, export), with a
# sender postgrey has not seen: alice@grey.test is greylisted again and valid after the retry.
printf 'email,name\nalice@pf.test,A\nbob@pf.test,B\nzed@pf.test,Z\nalice@grey.test,G\nalice@tls.test,T\nzed@tls.test,ZT\n' \
	> "$WORK/list.csv"
# shellcheck disable=SC2086 # PROBE is a list of words
timeout 120 "$MAILSIFT" clean "$WORK/list.csv" -o "$WORK/c-out" $PROBE \
	--mail-from clean@probe.mailsift.test --greylist-delay 5 --max-attempts 3 --quiet \
	2> "$WORK/c.err"
check_eq "postfix: clean exits 0" "$?" 0
check_eq "postfix: clean verdicts (address status reason)" \
	"$(python3 -c 'import csv,sys,glob
rows = []
for f in sorted(glob.glob(sys.argv[1] + "/*.csv")):
    for r in csv.DictReader(open(f, newline="")):
        rows.append("%s %s %s" % (r["email"], r["mailsift_status"], r["mailsift_reason"]))
print("; ".join(sorted(rows)))' "$WORK/c-out")" \
	"alice@grey.test valid accepted; alice@pf.test valid accepted; alice@tls.test valid accepted; bob@pf.test valid accepted; zed@pf.test invalid mailbox_not_found; zed@tls.test invalid mailbox_not_found"
check "postfix: clean's greylisted address was greylisted first (new sender)" \
	grep -q '450 4.2.0 <alice@grey.test>: .*Greylisted.* from=<clean@probe.mailsift.test>' "$LOG"
check_eq "postfix: clean retried it once (attempts in the job store)" \
	"$(sqlite3 "$WORK/c-out/mailsift.db" "SELECT attempts FROM addresses WHERE key = 'alice@grey.test'")" 2

# The whole log: never DATA or BDAT, every session ended with QUIT, nothing was queued.
connects=$(grep -c ' connect from ' "$LOG")
disconnects=$(grep -c ' disconnect from ' "$LOG")
check "postfix: sessions were logged ($connects)" test "$connects" -ge 5
check_eq "postfix: every connect has its disconnect line" "$disconnects" "$connects"
check_eq "postfix: no session sent DATA or BDAT" \
	"$(grep ' disconnect from ' "$LOG" | grep -cE ' (data|bdat)=')" 0
check_eq "postfix: every session ended with quit=1" \
	"$(grep ' disconnect from ' "$LOG" | grep -vc ' quit=1 ')" 0
check_eq "postfix: no lost connection or timeout" \
	"$(grep -cE 'lost connection after|timeout after' "$LOG")" 0
check_eq "postfix: no message entered the queue" \
	"$(grep -cE 'message-id=|postfix/(qmgr|cleanup)\[' "$LOG")" 0
check_eq "postfix: no fatal or panic in Postfix's log" "$(grep -cE ' (fatal|panic):' "$LOG")" 0
grep ' warning: ' "$LOG" | sed 's/^/  (postfix log) /'

# Stop by PID; nothing of the world may survive.
t4=$(now)
sh "$PFW" stop "$PF" > "$WORK/stop.out" 2>&1
check_eq "postfix world stops on SIGTERM" "$?:$(cat "$WORK/stop.out")" "0:"
left=$(sh "$PFW" survivors "$PF")
check_eq "no Postfix, postgrey or dnsmasq process survives" "$left" ""
t5=$(now)
echo "  (timings: start $(secs "$t0" "$t1") s, verify A $(secs "$t1" "$t2") s, verify B $(secs "$t2" "$t3") s, stop $(secs "$t4" "$t5") s)"
