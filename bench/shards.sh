#!/bin/sh
# shards.sh - what sharding buys and what merging costs (make bench-shards, also run by make bench).
#
# Usage: sh bench/shards.sh BUILD
# Environment:
#   BENCH_SHARD_ADDRS  addresses of part 1's list (default 20000)
#   BENCH_MERGE_ROWS   rows of part 2's list (default 2000000; bench/out/list-N.csv.gz of
#                      bench/run.sh, generated here when missing)
#   BENCH_KEEP         1 keeps bench/out/shards (stores, exports, logs)
#
# Part 1, sources: a loopback world of 8 mail hosts that each allow 2 sessions per client
# address (max_per_client=2: a third gets 421) and answer every command after 10 ms, as a host
# that limits per client does. The list: BENCH_SHARD_ADDRS addresses spread over them. It is
# cleaned by 1 process (one source), then by 2 and by 4 shards at once, each shard on its own
# source address (127.0.0.2 ...), all with --per-host 2. The wall time of each (from the first
# start to the last end, the merge excluded; the merge's own time printed beside) and its ratio
# to one process. Target: 4 shards <= 0.3x of one. The merged files are checked equal to one
# clean's (verdicts; mailsift_checked_at aside) so a fast wrong answer cannot pass.
#
# Part 2, merge: the part-1 list of bench/run.sh (BENCH_MERGE_ROWS rows, gzip) imported as 4
# shards (--shard K/4, one after the other: each reads the whole list) and as one whole list;
# `mailsift merge --partial` of the 4 stores (no run: every address unknown/not_verified) beside
# `mailsift export` of the whole store, rows/s of each and the ratio. Both write the same files.
set -eu
cd "$(dirname "$0")/.."
TOP=$(pwd)
BUILD=${1:-build}
BUILD=$(cd "$BUILD" && pwd)
MAILSIFT=$BUILD/mailsift
RUSAGE=$BUILD/bench-rusage
GEN=$BUILD/bench-gen
OUT=$TOP/bench/out/shards
export MAILSIFT_BUILD="$BUILD" # the world's smtpd and dnsd
ADDRS=${BENCH_SHARD_ADDRS:-20000}
MROWS=${BENCH_MERGE_ROWS:-2000000}
KEEP=${BENCH_KEEP:-0}
CC=${CC:-cc}
WARN="-std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith -Wcast-qual -Werror"
TARGET_RATIO=0.3

# Loopback only: a private network namespace when it can be had.
if [ "${MAILSIFT_NETNS:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
	unshare -n true 2>/dev/null; then
	exec unshare -n sh -c 'ip link set lo up && MAILSIFT_NETNS=1 exec sh "$0" "$@"' "$0" "$@"
fi
. "$TOP/bench/lib.sh" # num, calc, field, verdict
say() { echo "bench-shards: $*" >&2; }

rm -rf "$OUT"
mkdir -p "$OUT"
# shellcheck disable=SC2086
$CC -O2 $WARN -D_GNU_SOURCE bench/rusage.c -o "$RUSAGE"
cleanup() {
	sh "$TOP/tests/world/world.sh" stop "$OUT/world" > /dev/null 2>&1 || true
	[ "$KEEP" = 1 ] || rm -rf "$OUT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
now() { date +%s.%N; }

# ---- part 1: 1, 2 and 4 sources ----
: > "$OUT/personas.conf"
: > "$OUT/world.zone"
for h in 1 2 3 4 5 6 7 8; do
	echo "127.0.2.$h strict name=mx.b$h.test users=alice,bob,carol max_per_client=2 reply_ms=10" \
		>> "$OUT/personas.conf"
	printf 'mx b%d.test 10 mx.b%d.test\na mx.b%d.test 127.0.2.%d\n' $h $h $h $h >> "$OUT/world.zone"
done
python3 - "$OUT/list.csv" "$ADDRS" <<'PY'
import sys
n = int(sys.argv[2])
with open(sys.argv[1], "w") as f:
    f.write("email\n")
    for h in range(1, 9):                  # the mailboxes that exist
        for user in ("alice", "bob", "carol"):
            f.write("%s@b%d.test\n" % (user, h))
    for i in range(n - 24):                # and unknown ones (550 5.1.1)
        f.write("u%d@b%d.test\n" % (i, i % 8 + 1))
PY
started=0
for try in 0 1 2 3 4; do
	PORT=$((2600 + try * 10 + $$ % 7 * 100))
	if WORLD_SMTP_PORT=$PORT WORLD_DNS_PORT=$((PORT + 1)) WORLD_SMTP_CONFIG="$OUT/personas.conf" \
		WORLD_ZONE="$OUT/world.zone" sh "$TOP/tests/world/world.sh" start "$OUT/world" \
		> "$OUT/world.out" 2>&1; then
		started=1
		break
	fi
done
[ $started = 1 ] || { say "the world does not start: $(tail -3 "$OUT/world.out")"; exit 1; }
PROBE="--resolver 127.0.0.1:$((PORT + 1)) --smtp-port $PORT --helo probe.mailsift.test
	--allow-private-mx --mail-from verify@probe.mailsift.test --per-host 2 --max-attempts 1
	--no-doctor --quiet"

# shards N - the list cleaned by N processes at once (N 1: no --shard), then merged; sets
# WALL (seconds, the shards) and MERGE (seconds, the merge)
shards() {
	n=$1 d="$OUT/n$1"
	mkdir -p "$d"
	t0=$(now)
	pids=""
	for k in $(seq 0 $((n - 1))); do
		shard="--shard $k/$n"
		[ "$n" = 1 ] && shard=
		# shellcheck disable=SC2086
		"$RUSAGE" "$d/s$k.rus" "$MAILSIFT" clean "$OUT/list.csv" -o "$d/s$k" $PROBE $shard \
			--source 127.0.0.$((k + 2)) 2> "$d/s$k.err" &
		pids="$pids $!"
	done
	bad=0
	for p in $pids; do wait "$p" || bad=1; done
	WALL=$(calc "$(now) - $t0" %.2f)
	[ $bad = 0 ] || { say "$n shards: a shard failed: $(cat "$d"/s*.err | tail -3)"; exit 1; }
	MERGE=0
	if [ "$n" -gt 1 ]; then
		t0=$(now)
		"$MAILSIFT" merge "$d"/s*/mailsift.db -o "$d/merged" --quiet 2> "$d/merge.err" ||
			{ say "merge of $n failed: $(cat "$d/merge.err")"; exit 1; }
		MERGE=$(calc "$(now) - $t0" %.2f)
		if ! python3 "$TOP/tests/run/check.py" compare "$OUT/n1/s0" "$d/merged" > "$d/compare.out"; then
			say "the merge of $n shards differs from one clean: $(head -3 "$d/compare.out")"
			exit 1
		fi
	fi
}
load=$(cut -d' ' -f1 /proc/loadavg)
say "part 1: $(num "$ADDRS") addresses on 8 hosts (2 sessions per client, 10 ms a reply); load $load"
shards 1
w1=$WALL
shards 2
w2=$WALL m2=$MERGE
shards 4
w4=$WALL m4=$MERGE
r2=$(calc "$w2 / $w1" %.2f)
r4=$(calc "$w4 / $w1" %.2f)
ok=$(calc "$w4 <= $TARGET_RATIO * $w1" %d)
echo "shards, $(num "$ADDRS") addresses, hosts allowing 2 sessions per client: 1 source $w1 s | 2 shards $w2 s = ${r2}x (merge $m2 s) | 4 shards $w4 s = ${r4}x (merge $m4 s); target 4 shards <= ${TARGET_RATIO}x: $(verdict "$ok")"

# ---- part 2: merge of 4 shards beside a plain export ----
gz="$TOP/bench/out/list-$MROWS.csv.gz"
if [ ! -s "$gz" ]; then
	# shellcheck disable=SC2086
	$CC -O2 $WARN -D_GNU_SOURCE bench/gen.c -lm -o "$GEN"
	say "part 2: generating $gz"
	"$GEN" "$MROWS" | gzip -1 > "$gz.tmp" && mv "$gz.tmp" "$gz"
fi
say "part 2: $(num "$MROWS") rows: 4 shard imports and one whole import (untimed)"
for k in 0 1 2 3; do
	"$MAILSIFT" import "$gz" --db "$OUT/m$k.db" --shard $k/4 --quiet 2> /dev/null
done
"$MAILSIFT" import "$gz" --db "$OUT/whole.db" --quiet 2> /dev/null
"$RUSAGE" "$OUT/export.rus" "$MAILSIFT" export --db "$OUT/whole.db" -o "$OUT/export" --quiet
"$RUSAGE" "$OUT/merge.rus" "$MAILSIFT" merge "$OUT"/m0.db "$OUT"/m1.db "$OUT"/m2.db "$OUT"/m3.db \
	-o "$OUT/merge" --partial --quiet 2> /dev/null
ew=$(field "$OUT/export.rus" 1)
mw=$(field "$OUT/merge.rus" 1)
rows=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"]["rows"])' "$OUT/merge/report.json")
same=same
for f in valid invalid risky catch_all unknown duplicates; do
	cmp -s "$OUT/export/$f.csv" "$OUT/merge/$f.csv" || same=DIFFERENT
done
echo "merge of 4 shards, $(num "$rows") rows: $(num "$(calc "$rows / $mw" %.0f)") rows/s (${mw} s, peak $(calc "$(field "$OUT/merge.rus" 4) / 1024" %.1f) MiB) | export of the whole store $(num "$(calc "$rows / $ew" %.0f)") rows/s (${ew} s, peak $(calc "$(field "$OUT/export.rus" 4) / 1024" %.1f) MiB) = $(calc "$ew / $mw" %.2f)x; files $same"
