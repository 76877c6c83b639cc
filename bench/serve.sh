#!/bin/sh
# serve.sh - the `mailsift serve` benchmark (make bench, or make bench-serve): loopback only,
# in a private network namespace when root can have one.
#
# Usage: sh bench/serve.sh BUILD
# Environment:
#   BENCH_RT_ADDRS     addresses of the real-time part (default 2000)
#   BENCH_RT_THREADS   HTTP clients at once (default 16)
#   BENCH_UPLOAD_MIB   size of the uploaded gzip list, MiB (default 1024)
#   BENCH_IMPORT_ROWS  rows of the list imported through the API (default 2000000)
#   BENCH_SERVE_PARTS  which parts (default "1 2 3 4")
#   BENCH_LONG_CHECKS BENCH_LONG_DOMAINS   part 4's checks and domains (1000000 500000; 0
#                      checks: part 4 skipped)
#
# 1. Real-time checks: BENCH_RT_ADDRS addresses on the loopback world's hosts (tests/world),
#    asked through GET /v1/verify by BENCH_RT_THREADS clients at once on a fresh server (cold:
#    every check probes), then again (warm: answered from the job store). Reference, same run:
#    `mailsift verify` of the same addresses (one process, a fresh temporary store: it probes
#    them all). Printed: checks/s, p50 and p99 latency, and the ratios.
# 2. Upload: a gzip list of BENCH_UPLOAD_MIB MiB (bench-gen rows, gzip -1, cached in bench/out)
#    sent in 8 MiB chunks (each one synced to disk before its answer); MB/s, and serve's peak
#    resident set over the whole part (VmHWM; target < 128 MiB whatever the size).
# 3. Import: a list of BENCH_IMPORT_ROWS rows uploaded, then started; the time from start until
#    the job leaves `importing`, beside `mailsift import` of the same file into a fresh store.
#    The run starts on the imported addresses at once and shares the loop; its resolver is a
#    UDP port that never answers, so it waits on DNS rather than writes verdicts, and the part
#    measures the import (with a resolver that answers, verification competes for the loop:
#    a refusing one made the import 5x slower here, each address turning into a retry).
# 4. A long run: BENCH_LONG_CHECKS real-time checks over BENCH_LONG_DOMAINS domains (two
#    addresses each, on 20 hosts: bench/mailworld.c's engine world) asked of one server by
#    BENCH_RT_THREADS clients, each address once; serve's resident set after the first tenth of
#    the checks and at the end, side by side (target: within 10%: memory follows the work in
#    flight, not the domains met or the uptime).
set -u
if [ "${MAILSIFT_NETNS:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
	unshare -n true 2>/dev/null; then
	# shellcheck disable=SC2016 # expanded by the inner shell
	exec unshare -n sh -c 'ip link set lo up && MAILSIFT_NETNS=1 exec sh "$0" "$@"' "$0" "$@"
fi
cd "$(dirname "$0")/.." || exit 1
TOP=$(pwd)
BUILD=$(cd "${1:-build}" && pwd) || exit 1
. "$TOP/bench/lib.sh"
MAILSIFT=$BUILD/mailsift
GEN=$BUILD/bench-gen
RUSAGE=$BUILD/bench-rusage
OUT=$TOP/bench/out/serve
LOAD="python3 $TOP/bench/serve_load.py"
RT_ADDRS=${BENCH_RT_ADDRS:-2000}
RT_THREADS=${BENCH_RT_THREADS:-16}
UPLOAD_MIB=${BENCH_UPLOAD_MIB:-1024}
IMPORT_ROWS=${BENCH_IMPORT_ROWS:-2000000}
PARTS=" ${BENCH_SERVE_PARTS:-1 2 3 4} "
want() { case $PARTS in *" $1 "*) return 0 ;; esac; return 1; }
LONG_CHECKS=${BENCH_LONG_CHECKS:-1000000}
LONG_DOMAINS=${BENCH_LONG_DOMAINS:-500000}
TARGET_LONG_GROWTH=0.10
TARGET_RSS_MIB=128
for f in mailsift tests/world/smtpd tests/world/dnsd; do
	[ -x "$BUILD/$f" ] || { echo "bench-serve: $BUILD/$f not found: run make bench-serve" >&2; exit 1; }
done
WARN="-std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith -Wcast-qual -Werror"
# shellcheck disable=SC2086 # WARN is a list of flags
${CC:-cc} -O2 $WARN -D_GNU_SOURCE bench/gen.c -lm -o "$GEN" || exit 1
# shellcheck disable=SC2086
${CC:-cc} -O2 $WARN -D_GNU_SOURCE bench/rusage.c -o "$RUSAGE" || exit 1
mkdir -p "$OUT"
WORK=$(mktemp -d "$OUT/run.XXXXXX")
SPID=
SILENT=
cleanup() {
	[ -n "$SPID" ] && kill -9 "$SPID" 2>/dev/null
	[ -n "$SILENT" ] && kill "$SILENT" 2>/dev/null
	MAILSIFT_BUILD=$BUILD sh "$TOP/tests/world/world.sh" stop "$WORK/world" > /dev/null 2>&1
	for p in "$WORK/long/dnsd.pid" "$WORK/long/smtpd.pid"; do
		[ -s "$p" ] && kill "$(cat "$p")" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
say() { echo "bench-serve: $*"; }

# serve_start DATA [OPTIONS] - serve on a free port; sets SPID, URL, KEY
serve_start() {
	d=$1
	shift
	"$MAILSIFT" serve --data "$d" --listen 127.0.0.1:0 "$@" > "$d.key" 2> "$d.err" &
	SPID=$!
	hport=
	for i in $(seq 150); do
		hport=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$d.err")
		[ -n "$hport" ] && break
		sleep 0.2
	done
	[ -n "$hport" ] || { say "serve did not start: $(cat "$d.err")"; exit 1; }
	export URL="http://127.0.0.1:$hport" KEY="$(cat "$d.key")"
}
serve_stop() {
	kill -TERM "$SPID"
	for i in $(seq 150); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.2; done
	kill -9 "$SPID" 2>/dev/null
	wait "$SPID" 2>/dev/null
	SPID=
}
hwm_kib() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }

echo "$("$MAILSIFT" --version | head -n 1) (tree $(git describe --always --dirty 2>/dev/null || echo '?')), $(nproc) CPUs$([ "${MAILSIFT_NETNS:-0}" = 1 ] && echo ', private network namespace')"

PORT=$((30000 + $$ % 20000))
# ---- 1. real-time checks ----
if want 1; then
WORLD_SMTP_PORT=$PORT WORLD_DNS_PORT=$((PORT + 1)) MAILSIFT_BUILD=$BUILD \
	sh "$TOP/tests/world/world.sh" start "$WORK/world" > "$WORK/world.out" 2>&1 ||
	{ say "the mail world did not start: $(cat "$WORK/world.out")"; exit 1; }
PROBE="--resolver 127.0.0.1:$((PORT + 1)) --smtp-port $PORT --helo probe.mailsift.test
	--allow-private-mx --mail-from verify@probe.mailsift.test --connect-timeout 2 --timeout 5"
python3 - "$RT_ADDRS" > "$WORK/addrs.txt" <<'PY'
import sys
doms = ["strict.test", "microsoft.test", "catchall.test", "tls.test"]
n = int(sys.argv[1])
for i in range(n):
    print(("alice@%s" if i % 50 == 0 else "u%d@%%s" % i) % doms[i % len(doms)])
PY
# shellcheck disable=SC2086,SC2046 # word lists on purpose
"$RUSAGE" "$WORK/cli.rus" "$MAILSIFT" verify $PROBE $(cat "$WORK/addrs.txt") > "$WORK/cli.json" 2> "$WORK/cli.err" ||
	{ say "mailsift verify failed: $(tail -3 "$WORK/cli.err")"; exit 1; }
cli_secs=$(field "$WORK/cli.rus" 1)
cli_rate=$(calc "$RT_ADDRS / $cli_secs" %.0f)
mkdir -p "$WORK/rt"
# shellcheck disable=SC2086
serve_start "$WORK/rt/data" $PROBE --rate 1000000
set -- $($LOAD verify "$WORK/addrs.txt" "$RT_THREADS")
cold_n=$1 cold_s=$2 cold_p50=$3 cold_p99=$4 cold_final=$5
set -- $($LOAD verify "$WORK/addrs.txt" "$RT_THREADS")
warm_n=$1 warm_s=$2 warm_p50=$3 warm_p99=$4 warm_final=$5
rt_rss=$(hwm_kib "$SPID")
serve_stop
cold_rate=$(calc "$cold_n / $cold_s" %.0f)
warm_rate=$(calc "$warm_n / $warm_s" %.0f)
echo
echo "1. real-time checks, $RT_ADDRS addresses on the loopback world, $RT_THREADS clients at once"
printf '   %-34s %12s %10s %10s %8s\n' "" "checks/s" "p50 ms" "p99 ms" "final"
printf '   %-34s %12s %10s %10s %8s\n' "mailsift verify (reference, cold)" "$(num "$cli_rate")" "-" "-" "$RT_ADDRS"
printf '   %-34s %12s %10s %10s %8s\n' "GET /v1/verify, cold (probes)" "$(num "$cold_rate")" "$cold_p50" "$cold_p99" "$cold_final"
printf '   %-34s %12s %10s %10s %8s\n' "GET /v1/verify, warm (the store)" "$(num "$warm_rate")" "$warm_p50" "$warm_p99" "$warm_final"
echo "   cold / reference: $(calc "$cold_rate / $cli_rate")x; warm / reference: $(calc "$warm_rate / $cli_rate")x; serve's peak RSS $(calc "$rt_rss / 1024" %.1f) MiB"
fi

# ---- 2. upload ----
if want 2; then
up="$TOP/bench/out/upload-${UPLOAD_MIB}m.csv.gz"
if [ ! -s "$up" ]; then
	say "making $up (bench-gen rows, gzip -1, cut at $UPLOAD_MIB MiB of whole members)"
	rows=1000000 seed=1
	: > "$up.tmp"
	while [ "$(stat -c %s "$up.tmp")" -lt $((UPLOAD_MIB * 1048576)) ]; do
		"$GEN" $rows $seed | gzip -1 >> "$up.tmp" # gzip members concatenated: one gzip stream
		seed=$((seed + 1))
	done
	mv "$up.tmp" "$up"
fi
up_bytes=$(stat -c %s "$up")
mkdir -p "$WORK/up"
serve_start "$WORK/up/data" --resolver 127.0.0.1:1 --helo probe.mailsift.test --mail-from verify@probe.mailsift.test
set -- $($LOAD upload "$up" $((8 << 20)))
up_n=$1 up_s=$2
up_rss=$(hwm_kib "$SPID")
serve_stop
# reference: the same bytes copied by cat into a file and synced, same disk
t0=$(date +%s.%N)
cat "$up" > "$WORK/copy" && sync "$WORK/copy"
cp_s=$(calc "$(date +%s.%N) - $t0" %.3f)
rm -f "$WORK/copy"
up_mbs=$(calc "$up_n / 1e6 / $up_s" %.1f)
cp_mbs=$(calc "$up_bytes / 1e6 / $cp_s" %.1f)
echo
echo "2. upload of a $(calc "$up_bytes / 1048576" %.0f) MiB gzip list in 8 MiB chunks (PUT /v1/jobs/ID/upload)"
echo "   upload $up_mbs MB/s ($(calc "$up_s" %.1f) s); reference, cat + sync of the same file: $cp_mbs MB/s; ratio $(calc "$up_mbs / $cp_mbs")x"
echo "   serve's peak RSS $(calc "$up_rss / 1024" %.1f) MiB (target < $TARGET_RSS_MIB MiB): $(verdict "$([ "$up_rss" -lt $((TARGET_RSS_MIB * 1024)) ] && echo 1 || echo 0)")"
fi

# ---- 3. import of an uploaded list ----
if want 3; then
list="$TOP/bench/out/serve-import-$IMPORT_ROWS.csv"
[ -s "$list" ] || "$GEN" "$IMPORT_ROWS" 7 > "$list"
"$RUSAGE" "$WORK/imp.rus" "$MAILSIFT" import "$list" --db "$WORK/imp.db" --quiet 2> "$WORK/imp.err" ||
	{ say "mailsift import failed"; exit 1; }
cli_imp_s=$(field "$WORK/imp.rus" 1)
mkdir -p "$WORK/imp"
python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
open(sys.argv[1], "w").write(str(s.getsockname()[1])); time.sleep(900)' "$WORK/silent.port" &
SILENT=$!
for i in $(seq 50); do [ -s "$WORK/silent.port" ] && break; sleep 0.1; done
serve_start "$WORK/imp/data" --resolver "127.0.0.1:$(cat "$WORK/silent.port")" --helo probe.mailsift.test \
	--mail-from verify@probe.mailsift.test
set -- $($LOAD import "$list")
api_rows=$1 api_imp_s=$2
imp_rss=$(hwm_kib "$SPID")
serve_stop
kill "$SILENT" 2>/dev/null
echo
echo "3. import of a $(num "$IMPORT_ROWS")-row list"
echo "   mailsift import: $(num "$(calc "$IMPORT_ROWS / $cli_imp_s" %.0f)") rows/s ($(calc "$cli_imp_s" %.1f) s)"
echo "   uploaded, then POST start until it leaves importing: $(num "$(calc "$api_rows / $api_imp_s" %.0f)") rows/s ($(calc "$api_imp_s" %.1f) s, $(num "$api_rows") rows); ratio $(calc "($api_rows / $api_imp_s) / ($IMPORT_ROWS / $cli_imp_s)")x"
echo "   serve's peak RSS during it $(calc "$imp_rss / 1024" %.1f) MiB"
fi

# ---- 4. a long run of real-time checks ----
want 4 && [ "$LONG_CHECKS" -gt 0 ] || exit 0
MW=$BUILD/bench-mailworld
# shellcheck disable=SC2086
${CC:-cc} -O2 $WARN -D_GNU_SOURCE bench/mailworld.c -o "$MW" || exit 1
lw=$WORK/long
mkdir -p "$lw"
"$MW" engine "$lw" "$LONG_CHECKS" "$LONG_DOMAINS" 20 0 shuffled || { say "bench-mailworld failed"; exit 1; }
LPORT=$((PORT + 10))
"$BUILD/tests/world/dnsd" --listen "127.0.0.1:$((LPORT + 1))" --zone "$lw/zone" --pidfile "$lw/dnsd.pid" \
	> "$lw/dnsd.out" 2>&1 &
"$BUILD/tests/world/smtpd" --port "$LPORT" --config "$lw/smtpd.conf" --log /dev/null \
	--pidfile "$lw/smtpd.pid" > "$lw/smtpd.out" 2>&1 &
for i in $(seq 300); do [ -s "$lw/dnsd.pid" ] && [ -s "$lw/smtpd.pid" ] && break; sleep 0.1; done
[ -s "$lw/dnsd.pid" ] && [ -s "$lw/smtpd.pid" ] || { say "the long run's world did not start"; exit 1; }
long_stop() { kill "$(cat "$lw/dnsd.pid")" "$(cat "$lw/smtpd.pid")" 2>/dev/null; }
serve_start "$lw/data" --resolver "127.0.0.1:$((LPORT + 1))" --smtp-port "$LPORT" --helo bench.test \
	--allow-private-mx --mail-from verify@bench.test --rate 1000000
set -- $($LOAD long "$lw/list.txt" "$RT_THREADS" "$SPID" $((LONG_CHECKS / 10)))
long_n=$1 long_s=$2 long_at=$3 long_end=$4 long_final=$5
shift 5
long_tenths=$(for k in "$@"; do calc "$k / 1024" %.1f; echo; done | tr '\n' ' ')
long_hwm=$(hwm_kib "$SPID")
serve_stop
long_stop
growth=$(calc "($long_end - $long_at) / ($long_at > 0 ? $long_at : 1)" %.3f)
echo
echo "4. a long run: $(num "$long_n") real-time checks over $(num "$LONG_DOMAINS") domains, $RT_THREADS clients, one server"
echo "   $(num "$(calc "$long_n / $long_s" %.0f)") checks/s ($(calc "$long_s" %.0f) s, $(num "$long_final") final)"
echo "   serve's RSS (MiB) after each tenth of the checks: $long_tenths"
echo "   serve's RSS after $(num $((LONG_CHECKS / 10))) checks $(calc "$long_at / 1024" %.1f) MiB, at the end $(calc "$long_end / 1024" %.1f) MiB (peak $(calc "$long_hwm / 1024" %.1f)): $(calc "$growth * 100" %+.1f)% (target within 10%) $(verdict "$(calc "$growth <= $TARGET_LONG_GROWTH && $growth >= -$TARGET_LONG_GROWTH" %d)")"
