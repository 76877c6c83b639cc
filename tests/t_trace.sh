#!/bin/sh
# t_trace - what the servers said, shown (issue 16), against the loopback mail world:
#  1. `verify --trace`: the transcript of a valid, an invalid, a greylisted-then-valid (two
#     sessions, the wait shown), a STARTTLS, a null-MX and a dropped-connection address holds
#     exactly the expected commands and reply codes in order; `--format text` against golden
#     files (times and ports masked);
#  2. the session log of a `clean` of the example list: one JSON line per session the world
#     saw (the world counts them), each parseable; `status --hosts` matches it; mode 0600; a
#     symbolic link refused; a log that cannot be written stops the run with an error;
#  3. `explain` after a run, after a run killed while an address waited for its retry, and
#     after the resumed run; `export --with-trace`;
#  4. a hostile server (control bytes, invalid UTF-8, a bare LF then a forged JSON line;
#     endless continuation lines): transcripts bounded, everything escaped.
if [ "${MAILSIFT_NETNS:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
	unshare -n true 2>/dev/null; then
	exec unshare -n sh -c 'ip link set lo up && MAILSIFT_NETNS=1 exec sh "$0"' "$0"
fi
. "$(dirname "$0")/lib.sh"

cp "$TOP/tests/world/personas.conf" "$WORK/personas.conf"
cat >> "$WORK/personas.conf" <<'EOF'
127.0.1.33 hostile    mode=forge name=mx.forge.test
127.0.1.34 dropper    users=alice,bob after=1 name=mx.dropper.test
EOF
cat "$TOP/tests/world/world.zone" - > "$WORK/world.zone" <<'ZONE'
mx nullmx.test 0 .
mx forge.test 10 mx.forge.test
a mx.forge.test 127.0.1.33
mx dropper.test 10 mx.dropper.test
a mx.dropper.test 127.0.1.34
ZONE
world_start $((30000 + $$ % 20000)) "$WORK/personas.conf"
trap 'sh "$TOP/tests/world/world.sh" stop "$WORK/world" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
LOG="$WORK/world/smtpd.log"
cd "$WORK" || exit 1

PROBE="--resolver 127.0.0.1:$((PORT + 1)) --smtp-port $PORT --helo probe.mailsift.test
	--allow-private-mx --mail-from verify@probe.mailsift.test --connect-timeout 2 --timeout 3"

# ---- 1. verify --trace -------------------------------------------------------------------
"$MAILSIFT" verify $PROBE --max-attempts 2 --greylist-delay 6 --trace alice@strict.test \
	zed@strict.test alice@greylist.test alice@tls.test alice@nullmx.test alice@dropper.test \
	> v.json 2> v.err
check_eq "verify --trace exits 0" "$?" 0

# want ADDRESS STATUS "C lines" "final reply codes" [EVENT-TEXT...]: the address's transcript
# has exactly these commands and these replies (the last line of each reply), in order, and
# an event containing each EVENT-TEXT
want() {
	python3 - v.json "$@" <<'PY'
import json, sys
path, addr, status, cmds, codes = sys.argv[1:6]
events = sys.argv[6:]
rows = [json.loads(l) for l in open(path)]
row = next((r for r in rows if r["address"] == addr), None)
if row is None:
    sys.exit("no row for %s" % addr)
t = row["transcript"]
got_c = [e["text"] for e in t if e["type"] == "C"]
got_s = [e["text"][:3] for e in t if e["type"] == "S" and e["text"][3:4] != "-"]
want_c = [c for c in cmds.split("|") if c]
want_s = [c for c in codes.split() if c]
bad = []
if row["status"] != status:
    bad.append("status %s, want %s" % (row["status"], status))
if got_c != want_c:
    bad.append("commands %s, want %s" % (got_c, want_c))
if got_s != want_s:
    bad.append("replies %s, want %s" % (got_s, want_s))
for ev in events:
    if not any(ev in "%s %s" % (e["type"], e["text"]) for e in t):
        bad.append("no event with [%s]" % ev)
ms = [e["ms"] for e in t]
if ms != sorted(ms):
    bad.append("times out of order: %s" % ms)
if bad:
    sys.exit("; ".join(bad) + "\n" + json.dumps(t, indent=0)[:3000])
PY
}
E="EHLO probe.mailsift.test"
M="MAIL FROM:<verify@probe.mailsift.test>"
check "trace: valid" want alice@strict.test valid "$E|$M|RCPT TO:<alice@strict.test>" \
	"220 250 250 250" "dns MX strict.test: ok, 1 host" "dns   10 mx.strict.test -> 127.0.1.10" \
	"connect connected in" "verdict valid / accepted"
check "trace: invalid" want zed@strict.test invalid "$E|$M|RCPT TO:<zed@strict.test>" \
	"220 250 250 550" "rule 550 to RCPT TO, perm_rules row: X.1.1 -> no_mailbox" \
	"verdict invalid / mailbox_not_found"
check "trace: greylisted, then valid (two sessions, the wait)" want alice@greylist.test valid \
	"$E|$M|RCPT TO:<alice@greylist.test>|$E|$M|RCPT TO:<alice@greylist.test>" \
	"220 250 250 450 220 250 250 250" "rule 450 to RCPT TO, temp_rules row: X.2.x -> temporary" \
	"verdict unknown / greylisted (for now)" "retry asked again in 6 s, from the same address" \
	"attempt alice@greylist.test: attempt 2" "verdict valid / accepted"
check "trace: STARTTLS" want alice@tls.test valid "$E|STARTTLS|$E|$M|RCPT TO:<alice@tls.test>" \
	"220 250 220 250 250 250" "tls TLSv1" "certificate /CN=mx.tls.test, verified: self-signed"
check "trace: null MX" want alice@nullmx.test invalid "" "" "dns MX nullmx.test: null_mx" \
	"verdict invalid / null_mx"
# the dropper drops a session at its second RCPT: the first session asked the catch-all probe,
# then the address (dropped); the retry asks the address first
check "trace: dropped connection (retried, then valid)" want alice@dropper.test valid \
	"$E|$M|RCPT TO:<alice@dropper.test>|$E|$M|RCPT TO:<alice@dropper.test>" \
	"220 250 250 220 250 250 250" "end dropped: mx.dropper.test[127.0.1.34]:" \
	"retry asked again in 6 s" "verdict valid / accepted"

# --format text: golden files, times, ports and durations masked
mask() { sed -e 's/^ *[0-9][0-9.]* ms/   T ms/' -e "s/:$PORT\\b/:PORT/g" \
	-e 's/in [0-9][0-9.]* ms/in X ms/g' -e 's/, [0-9][0-9.]* ms)/, X ms)/g'; }
for a in alice@strict.test zed@strict.test alice@tls.test; do
	"$MAILSIFT" verify $PROBE --trace --format text "$a" 2> text.err | mask > "text-$a.txt"
	if diff -u "$TOP/tests/trace_golden/$a.txt" "text-$a.txt" > text.diff; then
		pass "trace --format text: $a"
	else
		fail "trace --format text: $a" "$(head -40 text.diff)"
	fi
done
"$MAILSIFT" verify $PROBE --format text alice@strict.test > /dev/null 2> usage.err
check_eq "--format text without --trace is a usage error" "$?" 2

# ---- 2. the session log of a clean --------------------------------------------------------
lines_before=$(wc -l < "$LOG")
"$MAILSIFT" clean "$TOP/examples/customers.csv" -o out $PROBE --greylist-delay 6 --no-doctor \
	--session-log sessions.jsonl --quiet 2> clean.err
check_eq "clean with --session-log exits 0" "$?" 0
check_eq "session log mode 0600" "$(stat -c %a sessions.jsonl)" 600
tail -n +"$((lines_before + 1))" "$LOG" > clean.smtp
python3 - sessions.jsonl clean.smtp out/mailsift.db <<'PY' > log.check 2>&1
import collections, json, sqlite3, sys
log, smtp, db = sys.argv[1:4]
rows = [json.loads(l) for l in open(log)]
keys = {"time", "source", "mx_host", "mx_ip", "tls", "rcpts", "outcome", "end", "code",
        "enhanced", "text", "seconds", "reply_ms"}
bad = [r for r in rows if set(r) != keys]
if bad:
    sys.exit("lines without the fields: %s" % bad[:2])
# the world saw one OPEN per session that connected, by persona address
seen = collections.Counter(l.split()[1] for l in open(smtp) if l.split()[3:4] == ["OPEN"])
logged = collections.Counter(r["mx_ip"] for r in rows if r["outcome"] != "connect_failed")
if seen != logged:
    sys.exit("world saw %s, log has %s" % (dict(seen), dict(logged)))
con = sqlite3.connect(db)
stored = con.execute("SELECT count(*) FROM session_log").fetchone()[0]
if stored != len(rows):
    sys.exit("store holds %d sessions, log %d" % (stored, len(rows)))
failed = [r for r in rows if r["outcome"] == "connect_failed"]
if not failed or any(r["mx_ip"] != "127.0.1.99" for r in failed):
    sys.exit("the dead primary's failed connects: %s" % failed)
print("ok %d sessions" % len(rows))
PY
check "session log: one parseable line per session the world saw" grep -q '^ok' log.check
[ -s log.check ] && ! grep -q '^ok' log.check && cat log.check

"$MAILSIFT" status --db out/mailsift.db --hosts > hosts.txt 2>&1
check_eq "status --hosts exits 0" "$?" 0
python3 - sessions.jsonl hosts.txt <<'PY' > hosts.check 2>&1
import collections, json, re, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
want = collections.Counter((r["mx_host"], r["mx_ip"]) for r in rows)
refused = collections.Counter((r["mx_host"], r["mx_ip"]) for r in rows
                              if r["outcome"] in ("refused", "pushback"))
got = {}
for m in re.finditer(r"^  (\S+) \[(\S+)\]: (\d+) sessions \(\d+ completed, (\d+) refused",
                     open(sys.argv[2]).read(), re.M):
    got[(m.group(1), m.group(2))] = (int(m.group(3)), int(m.group(4)))
exp = {k: (n, refused[k]) for k, n in want.items()}
if got != exp:
    sys.exit("status --hosts %s, log %s" % (got, exp))
print("ok")
PY
check "status --hosts matches the session log" grep -q '^ok' hosts.check
grep -q '^ok' hosts.check || cat hosts.check hosts.txt
check_contains "status --hosts: the policy host's refusal shown" hosts.txt \
	"last: refused, 550 5.7.1"

ln -s sessions.jsonl link.jsonl
"$MAILSIFT" run --db out/mailsift.db $PROBE --no-doctor --session-log link.jsonl --quiet \
	> /dev/null 2> link.err
check_eq "a symbolic link as session log: exit 1" "$?" 1
check_contains "a symbolic link is refused, said so" link.err "is a symbolic link: refused"
"$MAILSIFT" verify $PROBE alice@strict.test > /dev/null 2>&1 # (nothing to do with the log)
"$MAILSIFT" clean "$TOP/examples/customers.csv" -o full-out $PROBE --greylist-delay 6 \
	--no-doctor --session-log /dev/full --quiet > /dev/null 2> full.err
check_eq "a session log that cannot be written stops the run: exit 1" "$?" 1
check_contains "... with an error naming it" full.err "session log /dev/full: cannot write"

# ---- 3. explain ---------------------------------------------------------------------------
"$MAILSIFT" explain --db out/mailsift.db alice@policy.test > explain.txt 2>&1
check_eq "explain exits 0" "$?" 0
# the policy host refuses the session's first RCPT (the catch-all probe) for our IP: the
# address was never asked, and its transcript is that session's
check_contains "explain: the verdict" explain.txt "alice@policy.test: unknown / blocked"
check_contains "explain: why it was not asked" explain.txt \
	"the failed session below kept it from being asked"
check_contains "explain: the RCPT that was refused" explain.txt "C: RCPT TO:<"
check_contains "explain: the refusal" explain.txt "S: 550 5.7.1"
check_contains "explain: the rule" explain.txt "rule: 550 to RCPT TO, perm_rules row: X.7.x -> policy"
"$MAILSIFT" explain --db out/mailsift.db alice@strict.test > explain-valid.txt 2>&1
check_contains "explain of a valid address: none kept (the default keeps problems)" \
	explain-valid.txt "no transcript kept"
"$MAILSIFT" explain --db out/mailsift.db nobody@nowhere.test > /dev/null 2> explain-missing.err
check_eq "explain of an address not in the store: exit 1" "$?" 1
check_contains "... said so" explain-missing.err "nobody@nowhere.test: not in this job store"
"$MAILSIFT" explain --db out/mailsift.db --format json alice@policy.test > explain.json
check "explain --format json parses, with its transcript" python3 -c '
import json, sys
r = json.loads(open(sys.argv[1]).read())
sys.exit(not (r["status"] == "unknown" and any(e["type"] == "C" for e in r["transcript"])))' \
	explain.json

# a run killed while an address waits for its retry (its first attempt committed), resumed
printf 'email\nbob@greylist.test\n' > grey.csv
"$MAILSIFT" clean grey.csv -o grey $PROBE --greylist-delay 6 --no-doctor --quiet \
	> /dev/null 2> grey1.err &
gpid=$!
for i in $(seq 100); do
	[ -f grey/mailsift.db ] &&
		[ "$(sqlite3 -readonly grey/mailsift.db 'SELECT count(*) FROM address_trace' 2>/dev/null)" = 1 ] &&
		break
	sleep 0.1
done
kill -KILL "$gpid"
wait "$gpid"
check_eq "the clean is killed (SIGKILL) while the address waits for its retry" "$?" 137
"$MAILSIFT" explain --db grey/mailsift.db bob@greylist.test > grey1.txt 2>&1
check_contains "explain while it waits: not verified yet" grey1.txt "not verified yet"
check_contains "explain while it waits: attempt 1's greylisting" grey1.txt "S: 450 4.2.0"
check_contains "explain while it waits: the retry" grey1.txt "-- retry: asked again in 6 s"
sleep 6
"$MAILSIFT" clean grey.csv -o grey $PROBE --greylist-delay 6 --no-doctor --quiet \
	> /dev/null 2> grey2.err
check_eq "the resumed clean exits 0" "$?" 0
"$MAILSIFT" run --db grey/mailsift.db $PROBE --no-doctor --quiet > /dev/null 2>&1
"$MAILSIFT" explain --db grey/mailsift.db bob@greylist.test > grey2.txt 2>&1
check_contains "explain after the resumed run: valid" grey2.txt "bob@greylist.test: valid / accepted"
check_contains "explain after the resumed run: no transcript (valid in the end)" grey2.txt \
	"no transcript kept"

"$MAILSIFT" export --db out/mailsift.db -o traced --with-trace --quiet 2> export.err
check_eq "export --with-trace exits 0" "$?" 0
check "export --with-trace: mailsift_trace column, filled for the unknown rows" python3 -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
policy = [r for r in rows if r["email"] == "alice@policy.test"]
sys.exit(not (policy and "S 550 5.7.1" in policy[0]["mailsift_trace"]))' \
	traced/unknown.csv
check "export --with-trace: empty for valid rows" python3 -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
sys.exit(not (rows and all(r["mailsift_trace"] == "" for r in rows)))' traced/valid.csv

# a store made before transcripts (migration 011 undone), read: none kept, no session logged
cp out/mailsift.db old.db
sqlite3 old.db "DROP TABLE address_trace; DROP TABLE session_log; PRAGMA user_version = 10"
"$MAILSIFT" explain --db old.db alice@policy.test > old-explain.txt 2>&1
check_eq "explain on a store older than transcripts exits 0" "$?" 0
check_contains "... the verdict, no transcript" old-explain.txt "no transcript kept"
"$MAILSIFT" status --db old.db --hosts > old-hosts.txt 2>&1
check_eq "status --hosts on a store older than session logs exits 0" "$?" 0
check_contains "... none recorded" old-hosts.txt "none recorded yet"
check_eq "... the store is left as it was (read only)" \
	"$(sqlite3 old.db "SELECT count(*) FROM sqlite_master WHERE name = 'address_trace'")" 0

# ---- 4. hostile servers -------------------------------------------------------------------
"$MAILSIFT" verify $PROBE --max-attempts 1 --trace alice@forge.test alice@endless.test \
	> hostile.json 2> hostile.err
check_eq "verify --trace of hostile servers exits 0" "$?" 0
check "hostile: one JSON object a line, parseable" python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
sys.exit(not (len(lines) == 2 and all(json.loads(l) for l in lines)))' hostile.json
check "hostile: the forged line stays a quoted text, control bytes escaped" python3 -c '
import json, sys
r = json.loads(open(sys.argv[1]).readline())
s = [e["text"] for e in r["transcript"] if e["type"] == "S"]
ok = "{\"forged\": 1}" in s and any("\\x01\\x1b[2J\\xff\\xfe" in t for t in s)
ok = ok and all(ord(c) >= 0x20 for e in r["transcript"] for c in e["text"])
sys.exit(not ok)' hostile.json
check "hostile: an endless reply's transcript is bounded, the cut said" python3 -c '
import json, sys
r = json.loads(open(sys.argv[1]).read().splitlines()[1])
t = r["transcript"]
size = sum(len(e["text"]) for e in t)
sys.exit(not (size < 16384 and any("reply lines left out" in e["text"] for e in t)))' hostile.json
printf 'email\nalice@forge.test\n' > forge.csv
"$MAILSIFT" clean forge.csv -o forge $PROBE --max-attempts 1 --no-doctor \
	--session-log forge.jsonl --quiet > /dev/null 2>&1
check "hostile: the session log stays one JSON object a line" python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
rows = [json.loads(l) for l in lines]
ok = rows and all(set(r) >= {"time", "outcome"} for r in rows)
ok = ok and any(r["code"] == 421 and r["outcome"] == "pushback" for r in rows)
sys.exit(not ok)' forge.jsonl
