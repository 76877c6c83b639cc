#!/bin/sh
# t_jobs - bulk jobs of `mailsift serve` against the loopback mail world: the whole API path
# (create, upload in chunks, start, poll, download) on the example list and on a 20,000-row
# list gives the files `mailsift clean` gives; uploads resume at the offset the server
# reports (409 on a wrong one, 413 on a chunk too big); a key sees only its own jobs; delete
# removes the files and the rows only the job used; errors are JSON; jobs at once per key are
# limited; SIGKILL during an upload, an import and a run, then a restart: every job ends with
# the same files. A job's max_age_days: verdicts an earlier job made are reused (no RCPT in
# the world's smtpd log) without it or when it is more than their age, asked again when it is
# less. A "gzip": true job lists .csv.gz files, served as application/gzip, that gunzip to the
# plain job's files. Callbacks: signed, retried, delivered after a restart; to a host name
# (resolved by the world's DNS: hook.test is 127.0.0.1) delivered with --callback-allow-private
# and refused without it (nothing reaches the receiver); a name with no address (NXDOMAIN)
# ends failed after its tries.
if [ "${MAILSIFT_NETNS:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
	unshare -n true 2>/dev/null; then
	exec unshare -n sh -c 'ip link set lo up && MAILSIFT_NETNS=1 exec sh "$0"' "$0"
fi
. "$(dirname "$0")/lib.sh"

cp "$TOP/tests/world/world.zone" "$WORK/world.zone"
# a callback receiver by name (nohook.test, not in the zone, is NXDOMAIN)
echo "a hook.test 127.0.0.1" >> "$WORK/world.zone"
# the connection-limited host answers slowly (60 ms a reply): bulk work keeps its sessions busy
sed 's/^\(127.0.1.14 connlimit .*\)$/\1 reply_ms=60/' "$TOP/tests/world/personas.conf" > "$WORK/personas.conf"
world_start $((30000 + ($$ + 7000) % 20000)) "$WORK/personas.conf"
trap 'kill -9 $SPID 2>/dev/null; sh "$TOP/tests/world/world.sh" stop "$WORK/world" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
CHECKS="python3 $TOP/tests/jobs_checks.py"
COMPARE="python3 $TOP/tests/run/check.py compare"

PROBE="--resolver 127.0.0.1:$((PORT + 1)) --smtp-port $PORT --helo probe.mailsift.test --allow-private-mx
	--mail-from verify@probe.mailsift.test --connect-timeout 2 --timeout 3 --greylist-delay 6
	--max-attempts 2"
DATA="$WORK/data"
SPID=

# clean_ref LIST OUTDIR - the reference: mailsift clean of the same list with the same options
clean_ref() {
	timeout 300 "$MAILSIFT" clean "$1" -o "$2" $PROBE --quiet 2> "$2.err"
	check_eq "reference: mailsift clean $(basename "$1") exits 0" "$?" 0
}

# ---- the lists ----
cp "$TOP/examples/customers.csv" "$WORK/customers.csv"
# 20,000 rows over 4,006 distinct addresses (every one several times: duplicates), a few rows
# without an address and a few with bad syntax, on hosts that answer at once
python3 - "$WORK/big.csv" <<'PY'
import random, sys
rnd = random.Random(11)
addrs = ["u%d@strict.test" % i for i in range(2000)] + ["u%d@catchall.test" % i for i in range(2000)]
addrs += ["alice@strict.test", "bob@strict.test", "carol@strict.test", "alice@microsoft.test",
          "zed@microsoft.test", "carol@full.test"]
with open(sys.argv[1], "w") as f:
    f.write("id,email,note\n")
    for i in range(20000):
        if i % 997 == 5:
            f.write("%d,,no address\n" % i)
        elif i % 1499 == 7:
            f.write("%d,not-an-address,bad syntax\n" % i)
        else:
            f.write('%d,%s,"row %d, ok"\n' % (i, rnd.choice(addrs), i))
PY
gzip -c "$WORK/big.csv" > "$WORK/big.csv.gz"

clean_ref "$WORK/customers.csv" "$WORK/ref-small"
clean_ref "$WORK/big.csv" "$WORK/ref-big"

# ---- the API path ----
serve_start --max-jobs 3 --per-host 2
"$MAILSIFT" serve --data "$DATA" --add-key other > "$WORK/other.key" 2>/dev/null

$CHECKS bulk "$WORK/customers.csv" "$WORK/api-small" 300 small
$CHECKS explain "$WORK/api-small" "$(cat "$WORK/other.key")"
check "example list: the API's files equal mailsift clean's (every row, address, status, reason)" \
	$COMPARE "$WORK/ref-small" "$WORK/api-small"
# the same list with "gzip": true (its verdicts now in the store: the same files)
$CHECKS gzip_job "$WORK/customers.csv" "$WORK/api-small" "$WORK/api-gz"
check "gzip: gunzipped, the files equal the plain job's (every row, address, status, reason)" \
	$COMPARE "$WORK/api-small" "$WORK/api-gz"
check "gzip: gunzipped, each file is byte for byte the plain job's" \
	sh -c 'for f in "$1"/*.csv; do cmp -s "$f" "$2/${f##*/}" || exit 1; done' sh \
	"$WORK/api-small" "$WORK/api-gz"
$CHECKS bulk "$WORK/big.csv.gz" "$WORK/api-big" 65536 big
check "20,000-row gzip list in 64 KiB chunks: the API's files equal mailsift clean's" \
	$COMPARE "$WORK/ref-big" "$WORK/api-big"

$CHECKS resume "$WORK/customers.csv" "$WORK/api-resumed"
check "a resumed upload gives the same files" $COMPARE "$WORK/ref-small" "$WORK/api-resumed"

# max_age_days: addresses no other list has (onlydomain.test: alice and bob valid, the rest
# invalid), verified by one job, then by jobs without max_age_days, with 1 day and with 2 s
printf 'email\nalice@onlydomain.test\nbob@onlydomain.test\nnoone@onlydomain.test\nnobody@onlydomain.test\n' \
	> "$WORK/age.csv"
$CHECKS max_age "$WORK/age.csv" "$WORK/world/smtpd.log" "$WORK/api-age"

$CHECKS access "$(cat "$WORK/other.key")" "$DATA"
$CHECKS errors "$DATA"
$CHECKS limit 3

# two jobs and real-time checks at once against a host that takes 2 connections per client
for k in a b; do
	python3 -c 'import sys; print("email"); [print("%s%d@connlimit.test" % (sys.argv[1], i)) for i in range(150)]' "$k" > "$WORK/conn-$k.csv"
done
since=$(wc -l < "$WORK/world/smtpd.log")
$CHECKS concurrent "$WORK/conn-a.csv" "$WORK/conn-b.csv"
set -- $(python3 "$TOP/tests/run/check.py" log banner421 "$WORK/world/smtpd.log" "$since" 127.0.1.14)
check_eq "concurrent: the connection-limited host never refused us for too many connections" "$1" 0
# real-time checks go ahead of bulk work: the first one is asked before most of the jobs'
# addresses (an order in the host's log, not a time)
after=$(tail -n +"$((since + 1))" "$WORK/world/smtpd.log" | python3 -c '
import re, sys
rcpts = [m.group(1) for m in (re.search(r"C: RCPT TO:<([^>]*)>", l) for l in sys.stdin) if m]
i = rcpts.index("alice@connlimit.test") if "alice@connlimit.test" in rcpts else len(rcpts)
print(sum(1 for r in rcpts[i + 1:] if re.match(r"[ab][0-9]+@", r)))')
echo "  bulk addresses asked after the first real-time check: $after of 300"
check "concurrent: the first real-time check is asked ahead of the jobs' addresses ($after of 300 after it)" \
	test "$after" -ge 200
most=$(python3 "$TOP/tests/run/check.py" log maxopen "$WORK/world/smtpd.log" "$since" 127.0.1.14)
echo "  most sessions open at once at the connection-limited host: $most"
check "concurrent: at most --per-host 2 sessions at once at that host ($most)" \
	sh -c 'case $1 in 127.0.0.1=[12]) exit 0 ;; *) exit 1 ;; esac' sh "$most"

# delete: the job's rows and the addresses only it used leave the store; shared ones stay
SMALL_JOB=$(cat "$WORK/api-small/.job")
BIG_JOB=$(cat "$WORK/api-big/.job")
list_of() { sqlite3 "$DATA/mailsift.db" "SELECT list_id FROM jobs WHERE id = '$1'"; }
BIG_LIST=$(list_of "$BIG_JOB")
before=$(sqlite3 "$DATA/mailsift.db" "SELECT count(*) FROM addresses WHERE key LIKE '%@catchall.test'")
$CHECKS delete_done "$BIG_JOB" "$DATA"
check_eq "delete: the job's rows are gone" \
	"$(sqlite3 "$DATA/mailsift.db" "SELECT count(*) FROM rows WHERE list_id = $BIG_LIST")" 0
check_eq "delete: addresses only it held are gone ($before before)" \
	"$(sqlite3 "$DATA/mailsift.db" "SELECT count(*) FROM addresses WHERE key LIKE 'u%@catchall.test'")" 0
check_eq "delete: an address another job holds stays (alice@strict.test)" \
	"$(sqlite3 "$DATA/mailsift.db" "SELECT count(*) FROM addresses WHERE key = 'alice@strict.test'")" 1
check_eq "delete: the list is gone" \
	"$(sqlite3 "$DATA/mailsift.db" "SELECT count(*) FROM lists WHERE id = $BIG_LIST")" 0
$CHECKS state "$SMALL_JOB" > "$WORK/small.state"
check_eq "delete: the other job is untouched" "$(cat "$WORK/small.state")" done

python3 - "$WORK/huge.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("email,n\n")
    for i in range(300000):
        f.write("u%d@strict.test,%d\n" % (i % 3000, i))
PY
$CHECKS side_by_side "$WORK/huge.csv" "$WORK/customers.csv"

# ---- SIGKILL during an upload, an import and a run; restart ----
serve_stop
check_eq "SIGTERM: serve exits 0" "$SRC" 0
rm -rf "$DATA"
# the list a kill interrupts mid-run: addresses on a greylisting host (asked again later; bob,
# carol and zed were never asked before in this world, so serve's first RCPTs are answered 4xx)
python3 - "$WORK/grey.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("email\n")
    for u in ("alice", "bob", "carol", "zed"):
        f.write("%s@greylist.test\n%s@strict.test\n" % (u, u))
PY
clean_ref "$WORK/huge.csv" "$WORK/ref-huge"
serve_start
UP=$($CHECKS upload_some "$WORK/huge.csv" upload 5)
HUGE=$($CHECKS upload_all "$WORK/huge.csv" huge)
GREY=$($CHECKS start_only "$WORK/grey.csv" grey)
sleep 1 # grey's first RCPTs are answered 4xx: its addresses wait for their retry
$CHECKS start "$HUGE"
for i in $(seq 100); do
	n=$(sqlite3 "$DATA/mailsift.db" "SELECT rows FROM lists WHERE name LIKE '%$HUGE/upload'" 2>/dev/null)
	[ -n "$n" ] && [ "$n" -gt 1000 ] && break
	sleep 0.1
done
st=$($CHECKS state "$HUGE")
gst=$($CHECKS state "$GREY")
echo "  SIGKILL with the huge list $st at ${n:-0} rows, the greylisted one $gst"
check "the kill comes during the import" test "$st" = importing
check "the kill comes during a run (greylisted addresses wait)" \
	sh -c 'test "$1" = verifying || test "$1" = waiting_retry' sh "$gst"
kill -9 $SPID
wait $SPID 2>/dev/null
SPID=
MAILSIFT_CALLBACK_BACKOFF=0.3 serve_start --callback-allow-private
$CHECKS finish_upload "$UP" "$WORK/huge.csv"
$CHECKS finish "$HUGE" "$WORK/api-huge"
check "after SIGKILL mid-import and restart: the files equal mailsift clean's" \
	$COMPARE "$WORK/ref-huge" "$WORK/api-huge"
$CHECKS finish "$GREY" "$WORK/api-grey"
# the reference after serve: the greylisting host then knows the triplets, and had it before,
# the serve job would never have waited
clean_ref "$WORK/grey.csv" "$WORK/ref-grey"
check "after SIGKILL mid-run (greylisted retries) and restart: the files equal mailsift clean's" \
	$COMPARE "$WORK/ref-grey" "$WORK/api-grey"
$CHECKS finish "$UP" "$WORK/api-up"
check "after SIGKILL mid-upload and restart: the files equal mailsift clean's" \
	$COMPARE "$WORK/ref-huge" "$WORK/api-up"
$CHECKS callback "$WORK/grey.csv"

# a callback still pending when serve is killed is delivered after the restart
touch "$WORK/down"
$CHECKS receiver "$WORK/rport" "$WORK/hooks.log" "$WORK/down" &
RPID=$!
for i in $(seq 50); do [ -s "$WORK/rport" ] && break; sleep 0.1; done
HJ=$($CHECKS hook_job "$WORK/customers.csv" "$(cat "$WORK/rport")")
for i in $(seq 300); do [ -s "$WORK/hooks.log" ] && break; sleep 0.1; done
check "callback: the receiver refused the first try (503)" grep -q "^503 $HJ" "$WORK/hooks.log"
kill -9 $SPID
wait $SPID 2>/dev/null
rm -f "$WORK/down"
MAILSIFT_CALLBACK_BACKOFF=0.3 serve_start --callback-allow-private
for i in $(seq 300); do grep -q "^200 $HJ" "$WORK/hooks.log" && break; sleep 0.1; done
check "callback: pending at a SIGKILL, delivered after the restart" grep -q "^200 $HJ" "$WORK/hooks.log"
for i in $(seq 50); do [ "$($CHECKS hook_state "$HJ")" = delivered ] && break; sleep 0.1; done
check_eq "callback: the restarted server says delivered" "$($CHECKS hook_state "$HJ")" delivered
kill $RPID 2>/dev/null
serve_stop
check_eq "serve stops with 0 after the restart" "$SRC" 0

# ---- callbacks to host names (tries 0.05 s apart: all 6 in about 6 s) ----
MAILSIFT_CALLBACK_BACKOFF=0.05 serve_start --callback-allow-private
$CHECKS callback_name "$WORK/customers.csv" allowed "$DATA"
check_contains "callback to hook.test: the name was asked of serve's --resolver" \
	"$WORK/world/dnsd.log" "hook.test A NOERROR"
check_contains "callback to nohook.test: the name was asked of serve's --resolver (NXDOMAIN)" \
	"$WORK/world/dnsd.log" "nohook.test A NXDOMAIN"
serve_stop
check_eq "serve stops with 0 after a callback to a name without an address" "$SRC" 0
MAILSIFT_CALLBACK_BACKOFF=0.05 serve_start
$CHECKS callback_name "$WORK/customers.csv" private "$DATA"
serve_stop
check_eq "serve stops with 0 after a refused callback" "$SRC" 0
