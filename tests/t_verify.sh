#!/bin/sh
# t_verify - `mailsift verify` against the loopback mail world (tests/world): every persona's
# verdict and reason, the greylist retry from the same client and sender, bounded cost of the
# hostile personas, and the world's log: no DATA ever, polite QUITs.
# Runs in a private network namespace with only loopback (unshare -n) when it can, so nothing
# can leave the machine even by mistake.
if [ "${MAILSIFT_NETNS:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
	unshare -n true 2>/dev/null; then
	exec unshare -n sh -c 'ip link set lo up && MAILSIFT_NETNS=1 exec sh "$0"' "$0"
fi
. "$(dirname "$0")/lib.sh"
[ "${MAILSIFT_NETNS:-0}" = 1 ] || echo "  (not in a private network namespace: loopback only all the same)"

# The test's world: the standard personas and zone plus a few records of its own.
sed -e 's/^\(127.0.1.10 strict *users=alice,bob,carol\)$/\1,info/' \
	"$TOP/tests/world/personas.conf" > "$WORK/personas.conf"
cat "$TOP/tests/world/world.zone" - > "$WORK/world.zone" <<'ZONE'
mx mailinator.com 10 mx.strict.test
mx nullmx.test 0 .
a amx.test 127.0.1.10
nodata nohost.test
servfail broken.test
ZONE
world_start $((30000 + $$ % 20000)) "$WORK/personas.conf"
trap 'sh "$TOP/tests/world/world.sh" stop "$WORK/world" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
LOG="$WORK/world/smtpd.log"

PROBE="--resolver 127.0.0.1:$((PORT + 1)) --smtp-port $PORT --helo probe.mailsift.test --allow-private-mx
	--mail-from verify@probe.mailsift.test --connect-timeout 2 --max-attempts 2"

# Group A: everything that answers within a few seconds (greylist delay 5 s: retry at 6 s).
set -- \
	alice@strict.test zed@strict.test alice@microsoft.test zed@microsoft.test \
	alice@catchall.test alice@greylist.test zed@greylist.test alice@connlimit.test \
	alice@slow.test alice@blackhole.test alice@banner5xx.test alice@policy.test \
	alice@full.test bob@full.test carol@full.test alice@disabled.test carol@disabled.test \
	alice@tlsonly.test alice@tlsbroken.test alice@tls.test zed@tls.test alice@throttle.test \
	alice@endless.test alice@bigline.test alice@garbage.test alice@dropmid.test \
	alice@slowloris.test 'josé@utf8.test' 'josé@strict.test' alice@deadprimary.test \
	x@nx.test info@strict.test alice@mailinator.com alice@nullmx.test alice@amx.test \
	alice@nohost.test alice@broken.test not-an-address
python3 -c 'import resource,subprocess,sys
rc = subprocess.call(sys.argv[1:], stdout=open(sys.argv[0] and "'"$WORK"'/a.json", "w"))
open("'"$WORK"'/a.rss", "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(rc)' timeout 300 "$MAILSIFT" verify $PROBE --timeout 3 --greylist-delay 6 "$@" \
	2> "$WORK/a.err" &
pid_a=$!
# Group B: the byte-drip banner takes 10 s: a patient timeout gets the right verdict.
timeout 300 "$MAILSIFT" verify $PROBE --timeout 15 alice@drip.test > "$WORK/b.json" 2> "$WORK/b.err" &
pid_b=$!
wait $pid_a; rc_a=$?
wait $pid_b; rc_b=$?
check_eq "verify group A exits 0" "$rc_a" 0
check_eq "verify group B exits 0" "$rc_b" 0
cat "$WORK/b.json" >> "$WORK/a.json"

# expect ADDRESS STATUS REASON [FIELD=VALUE ...]
expect() { expect_json "" "$WORK/a.json" "$@"; }

expect alice@strict.test valid accepted smtp_code=250 catch_all=False mx_host=mx.strict.test
expect zed@strict.test invalid mailbox_not_found smtp_code=550 enhanced_code=5.1.1
expect alice@microsoft.test valid accepted
expect zed@microsoft.test invalid mailbox_not_found enhanced_code=5.5.0
expect alice@catchall.test catch_all catch_all catch_all=True
expect alice@greylist.test valid accepted attempts=2
expect zed@greylist.test invalid mailbox_not_found attempts=2
expect alice@connlimit.test valid accepted
expect alice@slow.test valid accepted
expect alice@drip.test valid accepted
expect alice@blackhole.test unknown timeout
expect alice@banner5xx.test unknown blocked smtp_code=554
expect alice@policy.test unknown blocked enhanced_code=5.7.1
expect alice@full.test valid accepted
expect bob@full.test risky full_inbox enhanced_code=4.2.2
expect carol@full.test risky full_inbox enhanced_code=5.2.2
expect alice@disabled.test valid accepted
expect carol@disabled.test invalid disabled enhanced_code=5.2.1
expect alice@tlsonly.test valid accepted tls=True
expect alice@tlsbroken.test valid accepted tls=False
expect alice@tls.test valid accepted tls=True
expect zed@tls.test invalid mailbox_not_found tls=True
expect alice@throttle.test valid accepted
expect alice@endless.test unknown protocol_error attempts=1
expect alice@bigline.test unknown protocol_error attempts=1
expect alice@garbage.test unknown protocol_error attempts=1
expect alice@dropmid.test unknown protocol_error attempts=1
expect alice@slowloris.test unknown timeout
expect 'josé@utf8.test' valid accepted
expect 'josé@strict.test' unknown unsupported
expect alice@deadprimary.test valid accepted mx_host=mx.strict.test
expect x@nx.test invalid nxdomain
expect info@strict.test risky role
expect alice@mailinator.com risky disposable
expect alice@nullmx.test invalid null_mx
expect alice@amx.test valid accepted
expect alice@nohost.test invalid no_mail_host
expect alice@broken.test unknown dns_error
expect not-an-address invalid syntax

case "$MAILSIFT_BUILD" in
*asan*) ;;
*) rss=$(cat "$WORK/a.rss"); check "hostile servers: peak RSS of the whole verify under 64 MiB (${rss} KiB)" test "$rss" -lt 65536 ;;
esac

# The world's log: never DATA; every session that got as far as MAIL FROM ended with QUIT;
# the greylist retry came from the same client address and sender as the first try.
check "no DATA ever sent" test -z "$(grep '!!! ' "$LOG")"
check_eq "every session with MAIL FROM also QUIT" \
	"$(awk '$4 == "C:" && toupper($5) ~ /^MAIL/ { m[$1] = 1 } $4 == "C:" && toupper($5) == "QUIT" { q[$1] = 1 }
		END { n = 0; for (s in m) if (!(s in q)) n++; print n }' "$LOG")" 0
grey=$(grep 'GREY ' "$LOG" | grep 'rcpt=<alice@greylist.test>')
check "greylist: first try seen" test -n "$(printf '%s\n' "$grey" | grep 'GREY new')"
check "greylist: retry passed" test -n "$(printf '%s\n' "$grey" | grep 'GREY pass')"
check_eq "greylist: one client address and one sender for every try" \
	"$(printf '%s\n' "$grey" | sed -n 's/.* ip=\([^ ]*\) from=\(<[^>]*>\).*/\1 \2/p' | sort -u | wc -l)" 1
check_eq "catch-all probe asked once per domain (catchall.test)" \
	"$(grep -c 'C: RCPT TO:<[a-z0-9]\{20\}@catchall.test>' "$LOG")" 1

# verify runs on a temporary job store of its own (importers/given + the run service): the
# output keeps the order and the number of the addresses given, repeats included, and nothing
# is left in $TMPDIR afterwards, done or interrupted.
mkdir -p "$WORK/tmp"
asked=$(grep -ci 'C: RCPT TO:<alice@strict.test>' "$LOG")
TMPDIR="$WORK/tmp" timeout 60 "$MAILSIFT" verify $PROBE --timeout 3 \
	Alice@strict.test bad@@x alice@strict.test zed@strict.test > "$WORK/dup.json" 2> "$WORK/dup.err"
check_eq "verify: repeats and refused syntax keep their places" \
	"$(python3 -c 'import json,sys
print(" ".join("%s=%s" % (r["address"], r["status"]) for r in map(json.loads, open(sys.argv[1]))))' "$WORK/dup.json")" \
	"Alice@strict.test=valid bad@@x=invalid alice@strict.test=valid zed@strict.test=invalid"
check_eq "verify: the repeated address was asked once" \
	"$(grep -ci 'C: RCPT TO:<alice@strict.test>' "$LOG")" "$((asked + 1))"
check_eq "verify: nothing left in TMPDIR" "$(ls -A "$WORK/tmp")" ""

# Ctrl-C: the open session gets its grace period, the answer so far is printed (what has no
# verdict as unknown/not_verified), exit 3, the temporary store removed.
# (Not under timeout(1): it passes a signal on to its child and then to its whole process
# group, so the child would get two, and the second one kills.)
TMPDIR="$WORK/tmp" "$MAILSIFT" verify $PROBE --timeout 20 \
	alice@strict.test alice@blackhole.test > "$WORK/int.json" 2> "$WORK/int.err" &
pid=$!
(sleep 60; kill -9 $pid) >/dev/null 2>&1 &
watchdog=$!
sleep 2
kill -INT $pid
wait $pid; rc=$?
kill $watchdog 2>/dev/null
check_eq "verify interrupted: exit 3" "$rc" 3
expect_json "interrupted " "$WORK/int.json" alice@strict.test valid accepted
expect_json "interrupted " "$WORK/int.json" alice@blackhole.test unknown not_verified
check_contains "verify interrupted: said on stderr" "$WORK/int.err" "stopped after 1 verdicts"
check_eq "verify interrupted: nothing left in TMPDIR" "$(ls -A "$WORK/tmp")" ""

# No place for the temporary store: a clear message naming it, exit 1, no output.
TMPDIR="$WORK/missing" "$MAILSIFT" verify $PROBE alice@strict.test > "$WORK/nt.json" 2> "$WORK/nt.err"
check_eq "verify without a usable TMPDIR: exit 1" "$?" 1
check_contains "verify without a usable TMPDIR: names it" "$WORK/nt.err" "$WORK/missing"
