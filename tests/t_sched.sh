#!/bin/sh
# t_sched - retries and limits of `mailsift run` against a loopback world of its own (issue 9):
#  7. dropped connections (after the banner, after a few RCPTs, by a TCP reset) are retried like
#     a timeout: the addresses end valid with attempts > 1, never invalid, never protocol_error;
# 10. a host with a recipient limit per transaction (452 4.5.3 after 3 RCPTs): no transaction
#     goes past the limit after the first 452, every address gets its real verdict, attempts 1;
# 13. a greylisted address is retried at its due time while another (slow) host is still worked,
#     not at the end of the pass; a greylisted catch-all probe is asked again after the delay
#     (its domain ends with catch_all decided);
# 14. while only retries remain, the progress line says how many wait, when the next leaves,
#     and an ETA from the retry schedule.
# Each run uses its own source address (--source 127.0.0.N), so smtpd.log tells them apart.
if [ "${MAILSIFT_NETNS:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
	unshare -n true 2>/dev/null; then
	exec unshare -n sh -c 'ip link set lo up && MAILSIFT_NETNS=1 exec sh "$0"' "$0"
fi
. "$(dirname "$0")/lib.sh"
cd "$WORK" || exit 1

cat > personas.conf <<'EOF'
127.0.1.40 dropper  users=u1,u2,u3,u4,u5,u6,u7,u8 after=2 drops=2
127.0.1.41 dropper  users=alice,bob after=0 drops=1
127.0.1.42 dropper  users=alice,bob after=1 drops=1 reset=1
127.0.1.43 strict   users=u1,u2,u3,u4,u5,u6,u7,u8,u9,u10,u11,u12 max_rcpts=3
127.0.1.44 greylist users=alice delay=1
127.0.1.45 slow     users=u1,u2,u3,u4,u5,u6,u7,u8,u9,u10,u11,u12,u13,u14,u15,u16,u17,u18,u19,u20,u21,u22,u23,u24,u25,u26,u27,u28,u29,u30,u31,u32,u33,u34,u35,u36,u37,u38,u39,u40 banner_ms=0 reply_ms=150
127.0.1.46 greylist users=u1,u2,u3,u4,u5,u6,u7,u8,u9,u10,u11,u12,u13,u14,u15,u16,u17,u18,u19,u20,u21,u22,u23,u24,u25,u26,u27,u28,u29,u30,u31,u32,u33,u34,u35,u36,u37,u38,u39,u40 delay=1 reply_ms=100
127.0.1.47 greylist users=alice,bob,carol delay=1
EOF
{
	for n in 40 41 42 43 44 45 46 47; do echo "a mx$n.test 127.0.1.$n"; done
	echo "mx dr1.test 10 mx40.test"
	echo "mx dr2.test 10 mx41.test"
	echo "mx dr3.test 10 mx42.test"
	echo "mx lim.test 10 mx43.test"
	echo "mx gl.test 10 mx44.test"
	echo "mx slow.test 10 mx45.test"
	echo "mx g2.test 10 mx46.test"
	echo "mx g3.test 10 mx47.test"
} > world.zone
world_start $((30000 + ($$ * 11 + 5000) % 20000)) "$WORK/personas.conf"
trap 'sh "$TOP/tests/world/world.sh" stop "$WORK/world" >/dev/null 2>&1
	[ -n "${T_SCHED_KEEP:-}" ] && rm -rf "$T_SCHED_KEEP" && cp -a "$WORK" "$T_SCHED_KEEP"; rm -rf "$WORK"' EXIT
LOG="$WORK/world/smtpd.log"

# MX hosts on loopback are refused unless allowed (issue 9 item 11), where that option exists.
PRIV=
"$MAILSIFT" run --help 2>&1 | grep -q -- --allow-private-mx && PRIV=--allow-private-mx
PROBE="--resolver 127.0.0.1:$((PORT + 1)) --smtp-port $PORT --helo probe.mailsift.test
	--mail-from verify@probe.mailsift.test --timeout 3 --connect-timeout 2 $PRIV"

# verdicts DB DOMAIN - "status/reason:count ..." of the domain's addresses
verdicts() {
	sqlite3 "$1" "SELECT status || '/' || reason || ':' || count(*) FROM addresses
		WHERE domain = '$2' GROUP BY status, reason ORDER BY status, reason" | tr '\n' ' ' | sed 's/ $//'
}

# ---- 7. dropped connections ----
{
	for n in 1 2 3 4 5 6 7 8; do echo "u$n@dr1.test"; done
	for u in alice bob; do echo "$u@dr2.test"; echo "$u@dr3.test"; done
} > drop.txt
"$MAILSIFT" import drop.txt --db drop.db --quiet
timeout 60 "$MAILSIFT" run --db drop.db $PROBE --source 127.0.0.2 --greylist-delay 1 \
	--max-attempts 4 --quiet > drop.out 2>&1
check_eq "7. run with dropping hosts: exit 0 ($(head -c 300 drop.out))" "$?" 0
check "7. the hosts dropped sessions (DROP in smtpd.log)" grep -q ' DROP after ' "$LOG"
check "7. a drop by a TCP reset too" grep -q 'DROP after 1 RCPTs (reset)' "$LOG"
check_eq "7. dropped mid-transaction: every address valid in the end" "$(verdicts drop.db dr1.test)" "valid/accepted:8"
check_eq "7. dropped after the banner: every address valid in the end" "$(verdicts drop.db dr2.test)" "valid/accepted:2"
check_eq "7. reset mid-transaction: every address valid in the end" "$(verdicts drop.db dr3.test)" "valid/accepted:2"
for d in dr1 dr2 dr3; do
	check "7. $d.test: addresses of the dropped sessions were retried (attempts > 1)" \
		test "$(sqlite3 drop.db "SELECT max(attempts) FROM addresses WHERE domain = '$d.test'")" -gt 1
done

# ---- 10. a recipient limit per transaction ----
{ for n in 1 2 3 4 5 6 7 8 9 10 11 12; do echo "u$n@lim.test"; done; echo "x1@lim.test"; echo "x2@lim.test"; } > lim.txt
"$MAILSIFT" import lim.txt --db lim.db --quiet
mark=$(wc -l < "$LOG")
timeout 60 "$MAILSIFT" run --db lim.db $PROBE --source 127.0.0.3 --greylist-delay 1 --quiet > lim.out 2>&1
check_eq "10. run on a host with a recipient limit: exit 0 ($(head -c 300 lim.out))" "$?" 0
check_eq "10. every address its real verdict" "$(verdicts lim.db lim.test)" \
	"invalid/mailbox_not_found:2 valid/accepted:12"
check_eq "10. a full transaction costs no attempt (attempts stay 1)" \
	"$(sqlite3 lim.db "SELECT group_concat(DISTINCT attempts) FROM addresses")" 1
# Per transaction of the host's sessions, in log order: the RCPTs sent, and whether the host
# had said 452 before it. After the first 452, no transaction may carry more than 3 RCPTs.
got=$(tail -n +$((mark + 1)) "$LOG" | python3 -c '
import sys
seen452 = False; tx = {}; over = 0; n452 = 0; txs = 0
for line in sys.stdin:
    p = line.rstrip("\n").split(" ", 3)
    if len(p) < 4 or p[1] != "127.0.1.43":
        continue
    sid, ev = p[0], p[3]
    if ev.startswith("C: MAIL"):
        tx[sid] = 0; txs += 1
    elif ev.startswith("C: RCPT"):
        tx[sid] = tx.get(sid, 0) + 1
        if seen452 and tx[sid] > 3:
            over += 1
    elif ev.startswith("S: 452"):
        seen452 = True; n452 += 1
print("over=%d 452s=%d transactions=%d" % (over, n452, txs))')
echo "  recipient limit: $got"
check "10. no RCPT over the limit after the first 452 ($got)" test "${got%% *}" = over=0
check "10. the limit was met once (one 452 at most: $got)" \
	sh -c "echo '$got' | grep -Eq ' 452s=1 '"

# ---- 13. retries claimed while the pass runs; the greylisted probe retried ----
{
	echo "alice@gl.test"
	for n in $(seq 1 40); do echo "u$n@slow.test"; done
	for n in $(seq 1 40); do echo "u$n@g2.test"; done
} > pass.txt
"$MAILSIFT" import pass.txt --db pass.db --quiet
mark=$(wc -l < "$LOG")
timeout 120 "$MAILSIFT" run --db pass.db $PROBE --source 127.0.0.4 --greylist-delay 2 \
	--max-attempts 4 --per-host 1 --quiet > pass.out 2>&1
check_eq "13. run with a greylisting host beside a slow one: exit 0 ($(head -c 300 pass.out))" "$?" 0
check_eq "13. the greylisted address valid after its retry" "$(verdicts pass.db gl.test)" "valid/accepted:1"
check_eq "13. the slow host's addresses valid" "$(verdicts pass.db slow.test)" "valid/accepted:40"
# OPEN times (seconds since smtpd started) of the greylisting host's sessions and the end of the
# slow host's last session.
set -- $(tail -n +$((mark + 1)) "$LOG" | python3 -c '
import sys, re
gl = []; slow_end = 0.0
for line in sys.stdin:
    p = line.rstrip("\n").split(" ", 3)
    if len(p) < 4:
        continue
    m = re.search(r" t=([0-9.]+)", p[3])
    if p[1] == "127.0.1.44" and p[3].startswith("OPEN ") and m:
        gl.append(float(m.group(1)))
    if p[1] == "127.0.1.45" and p[3].startswith("CLOSE ") and m:
        slow_end = max(slow_end, float(m.group(1)))
print(len(gl), gl[0] if gl else 0, gl[1] if len(gl) > 1 else 0, slow_end)')
echo "  greylisting host sessions: $1, first at $2 s, second at $3 s; slow host done at $4 s"
retry_gap=$(awk -v a="$2" -v b="$3" 'BEGIN { printf "%.1f", b - a }')
check "13. the retry left at its due time: --greylist-delay 2 s, within a second (gap ${retry_gap} s)" \
	awk -v a="$2" -v b="$3" 'BEGIN { exit !(b > a && b - a <= 3.5) }'
check "13. ... while the slow host was still being worked (retry at $3 s, slow host done at $4 s)" \
	awk -v b="$3" -v e="$4" 'BEGIN { exit !(b > 0 && b < e) }'
check_eq "13. greylisted catch-all probe asked again: g2.test's catch-all decided (0: not catch-all)" \
	"$(sqlite3 pass.db "SELECT coalesce(catch_all, 'none') FROM domains WHERE name = 'g2.test'")" 0
check_eq "13. ... and its addresses valid" "$(verdicts pass.db g2.test)" "valid/accepted:40"
probes=$(tail -n +$((mark + 1)) "$LOG" | grep ' 127.0.1.46 ' | grep 'GREY ' |
	grep -v 'rcpt=<u[0-9]*@' | sed -n 's/.*GREY \([a-z]*\) .*rcpt=<\([^>]*\)>.*/\1 \2/p' | sort | uniq -c |
	awk '{ printf "%s%s=%s", sep, $2, $1; sep = " " }')
echo "  g2.test probe: $probes"
check "13. the probe of g2.test passed the greylist on a retry ($probes)" \
	sh -c "echo '$probes' | grep -q 'pass='"

# ---- 14. progress while only retries remain ----
printf 'alice@g3.test\nbob@g3.test\ncarol@g3.test\n' > wait.txt
"$MAILSIFT" import wait.txt --db wait.db --quiet
MAILSIFT_PROGRESS_INTERVAL=0.2 timeout 60 "$MAILSIFT" run --db wait.db $PROBE --source 127.0.0.5 \
	--greylist-delay 3 --max-attempts 3 2> wait.err
check_eq "14. run with only retries left: exit 0" "$?" 0
check_eq "14. the addresses valid after their retry" "$(verdicts wait.db g3.test)" "valid/accepted:3"
check "14. progress while only retries remain: how many wait, the next at HH:MM, an ETA from the schedule" \
	grep -Eq '\| 3 addresses wait for a retry, the next at [0-9]{2}:[0-9]{2}(:[0-9]{2})?, ETA [0-9]+ (s|min)' wait.err
check_eq "14. no rate-based ETA while only retries remain (no 'N/s' in the retry lines)" \
	"$(grep 'addresses wait for a retry' wait.err | grep -c '/s, ETA')" 0
check "10/7/13. no DATA ever sent" test -z "$(grep '!!! ' "$LOG")"
