# lib.sh - helpers for the shell test suites (sourced). Each check prints "PASS name" or
# "FAIL name: why"; tests/run.sh adds them up.
: "${MAILSIFT:?run through tests/run.sh (MAILSIFT unset)}"
TOP=${MAILSIFT_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mailsift-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }

# check NAME CONDITION-COMMAND... : PASS when the command succeeds
check() {
	name=$1; shift
	if "$@"; then pass "$name"; else fail "$name" "$*"; fi
}

# check_eq NAME GOT WANT
check_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got [$2], want [$3]"; fi
}

# check_contains NAME FILE TEXT
check_contains() {
	if grep -qF -- "$3" "$2"; then pass "$1"; else fail "$1" "$2 lacks [$3]: $(head -c 600 "$2")"; fi
}

# world_start BASEPORT [PERSONAS] - the loopback world (tests/world/world.sh) in $WORK/world with
# $WORK/world.zone and PERSONAS (default: world.sh's own), smtpd on PORT and dnsd on PORT + 1;
# five ports are tried from BASEPORT on (another test may hold one). Sets PORT; on failure
# prints FAIL and exits the test.
world_start() {
	for try in 0 1 2 3 4; do
		PORT=$(($1 + try * 10))
		WORLD_SMTP_PORT=$PORT WORLD_DNS_PORT=$((PORT + 1)) WORLD_SMTP_CONFIG=${2:-} \
			WORLD_ZONE="$WORK/world.zone" sh "$TOP/tests/world/world.sh" start "$WORK/world" \
			> "$WORK/world.out" 2>&1 && return 0
	done
	fail "world starts" "$(cat "$WORK/world.out")"
	exit 1
}

# serve_start [OPTIONS] - mailsift serve --data $DATA on a free port of 127.0.0.1 with $PROBE and
# OPTIONS, in the background (stdout in $WORK/serve.out, stderr in $WORK/serve.err). Sets SPID,
# exports URL, and KEY when serve printed a new API key (a new data folder); on failure prints
# FAIL and exits the test.
serve_start() {
	"$MAILSIFT" serve --data "$DATA" --listen 127.0.0.1:0 $PROBE "$@" > "$WORK/serve.out" \
		2> "$WORK/serve.err" &
	SPID=$!
	hport=
	for i in $(seq 100); do
		hport=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$WORK/serve.err" | tail -1)
		[ -n "$hport" ] && break
		sleep 0.2
	done
	[ -n "$hport" ] || { fail "serve starts" "$(cat "$WORK/serve.err")"; exit 1; }
	export URL="http://127.0.0.1:$hport"
	if [ -s "$WORK/serve.out" ]; then
		KEY=$(cat "$WORK/serve.out")
		export KEY
	fi
}

# serve_stop - SIGTERM to serve, SIGKILL after 30 s; SRC its exit status (124: killed)
serve_stop() {
	kill -TERM $SPID
	for i in $(seq 150); do kill -0 $SPID 2>/dev/null || break; sleep 0.2; done
	if kill -0 $SPID 2>/dev/null; then kill -9 $SPID; SRC=124; else wait $SPID; SRC=$?; fi
	SPID=
}

# data_rows FILE - rows of an exported CSV (header excluded), counting records not lines
data_rows() {
	python3 -c 'import csv,sys; r=list(csv.reader(open(sys.argv[1], newline="", encoding="utf-8", errors="surrogateescape"))); print(max(len(r)-1,0))' "$1"
}

# expect_json PREFIX FILE ADDRESS STATUS REASON [FIELD=VALUE ...] - one `mailsift verify` result
# (JSON lines in FILE) has this status/reason and these fields; prints PASS or FAIL
expect_json() {
	python3 - "$@" <<'PY'
import json, sys
prefix, path, addr, status, reason = sys.argv[1:6]
rows = [json.loads(l) for l in open(path, encoding="utf-8")]
got = [r for r in rows if r["address"] == addr]
name = "%sverify %s: %s/%s" % (prefix, addr, status, reason)
if len(got) != 1:
    print("FAIL %s: %d results" % (name, len(got))); sys.exit()
r = got[0]
bad = []
if (r["status"], r["reason"]) != (status, reason):
    bad.append("got %s/%s (%s %s %s | %s)" % (r["status"], r["reason"], r["smtp_code"],
               r["enhanced_code"], r["smtp_message"], r["detail"]))
for kv in sys.argv[6:]:
    k, v = kv.split("=", 1)
    if str(r.get(k)) != v:
        bad.append("%s=%r, want %s" % (k, r.get(k), v))
print(("FAIL %s: %s" % (name, "; ".join(bad))) if bad else "PASS " + name)
PY
}
