#!/bin/sh
# t_serve - `mailsift serve` against the loopback mail world: API keys (made once, kept as
# hashes, added while running), real-time checks equal to `mailsift verify`'s answers, the
# deadline ("final": false, then the final verdict on a later call), answers from the store
# (no second RCPT, across a restart), errors as JSON with the right status, the per-key rate,
# hostile clients (idle crowds, slowloris, huge headers and bodies), a clean stop on SIGTERM.
if [ "${MAILSIFT_NETNS:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
	unshare -n true 2>/dev/null; then
	exec unshare -n sh -c 'ip link set lo up && MAILSIFT_NETNS=1 exec sh "$0"' "$0"
fi
. "$(dirname "$0")/lib.sh"

cp "$TOP/tests/world/world.zone" "$WORK/world.zone"
world_start $((30000 + $$ % 20000))
trap 'kill $SPID 2>/dev/null; sh "$TOP/tests/world/world.sh" stop "$WORK/world" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
LOG="$WORK/world/smtpd.log"
CHECKS="python3 $TOP/tests/serve_checks.py"
case "$MAILSIFT_BUILD" in *asan*) export ASAN=1 ;; esac

PROBE="--resolver 127.0.0.1:$((PORT + 1)) --smtp-port $PORT --helo probe.mailsift.test --allow-private-mx
	--mail-from verify@probe.mailsift.test --connect-timeout 2 --timeout 3 --greylist-delay 6
	--max-attempts 2"
DATA="$WORK/data"
SPID=

# serve_start [OPTIONS] - start serve on a free port; sets SPID and URL (exits the test if it
# does not listen within 20 s)
serve_start() {
	"$MAILSIFT" serve --data "$DATA" --listen 127.0.0.1:0 $PROBE "$@" > "$WORK/serve.out" \
		2> "$WORK/serve.err" &
	SPID=$!
	for i in $(seq 100); do
		hport=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$WORK/serve.err")
		[ -n "$hport" ] && break
		sleep 0.2
	done
	[ -n "$hport" ] || { fail "serve starts" "$(cat "$WORK/serve.err")"; exit 1; }
	export URL="http://127.0.0.1:$hport"
}

# serve_stop - SIGTERM; sets SRC to its exit status (124: it did not stop within 30 s)
serve_stop() {
	kill -TERM $SPID
	for i in $(seq 150); do kill -0 $SPID 2>/dev/null || break; sleep 0.2; done
	if kill -0 $SPID 2>/dev/null; then kill -9 $SPID; SRC=124; else wait $SPID; SRC=$?; fi
	SPID=
}

# ---- keys ----
serve_start --rate 1000 --session-log "$WORK/serve-sessions.jsonl"
export KEY="$(cat "$WORK/serve.out")"
check "first start: one key printed on stdout" test "$(wc -l < "$WORK/serve.out")" -eq 1
check "the key looks like one (ms_ and 43 characters)" \
	sh -c 'printf %s "$1" | grep -qE "^ms_[A-Za-z0-9_-]{43}$"' sh "$KEY"
check_eq "keys file mode 0600" "$(stat -c %a "$DATA/keys")" 600
check "keys file holds a hash, not the key" sh -c '! grep -qF "$1" "$2"' sh "$KEY" "$DATA/keys"
"$MAILSIFT" serve --data "$DATA" --add-key second > "$WORK/second.out" 2> "$WORK/second.err"
check_eq "--add-key exits 0" "$?" 0
"$MAILSIFT" serve --data "$DATA" --add-key second > /dev/null 2> "$WORK/again.err"
check_eq "--add-key with a name taken: exit 1" "$?" 1
check_contains "--add-key with a name taken says so" "$WORK/again.err" 'exists already'
"$MAILSIFT" serve --data "$DATA" --add-key 'bad name' > /dev/null 2> "$WORK/bad.err"
check_eq "--add-key with a bad name: exit 1" "$?" 1

# ---- real-time checks: the same answers as mailsift verify ----
set -- alice@strict.test zed@strict.test alice@microsoft.test zed@microsoft.test \
	alice@catchall.test alice@full.test bob@full.test carol@full.test carol@disabled.test \
	alice@tls.test zed@tls.test 'josé@utf8.test' 'josé@strict.test' alice@deadprimary.test \
	x@nx.test alice@policy.test not-an-address
mkdir -p "$WORK/clidata"
timeout 120 "$MAILSIFT" verify $PROBE "$@" > "$WORK/cli.json" 2> "$WORK/cli.err"
check_eq "mailsift verify (the reference) exits 0" "$?" 0
$CHECKS same_as_cli "$WORK/cli.json"

asked=$(grep -ci 'C: RCPT TO:<alice@strict.test>' "$LOG")
$CHECKS one alice@strict.test status=valid final=True
check_eq "an address verified before is answered from the store (no RCPT)" \
	"$(grep -ci 'C: RCPT TO:<alice@strict.test>' "$LOG")" "$asked"

$CHECKS greylist alice@greylist.test
$CHECKS trace carol@strict.test
$CHECKS access "$(cat "$WORK/second.out")"
$CHECKS errors
$CHECKS crowd 10000 $SPID

# ---- a stop answers who waits, lets sessions finish, exits 0 ----
$CHECKS waiting alice@blackhole.test "$WORK/wait.json" &
wpid=$!
sleep 1.5
serve_stop
wait $wpid
check_eq "SIGTERM: serve exits 0" "$SRC" 0
check "--session-log: one JSON line per session the store logged" python3 -c '
import json, sqlite3, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
n = sqlite3.connect(sys.argv[2]).execute("SELECT count(*) FROM session_log").fetchone()[0]
sys.exit(not (rows and len(rows) == n and all("outcome" in r for r in rows)))' \
	"$WORK/serve-sessions.jsonl" "$DATA/mailsift.db"
check_contains "SIGTERM: says what was saved" "$WORK/serve.err" 'stopped; what was done is saved'
check "SIGTERM: a waiting check is answered, not final" python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
sys.exit(not (v["status"] == 200 and v["body"]["final"] is False and v["body"]["status"] == "unknown"))' \
	"$WORK/wait.json"

# ---- a restart keeps keys and verdicts; the per-key rate ----
serve_start --rate 5
check_eq "restart: no key printed" "$(cat "$WORK/serve.out")" ""
asked=$(grep -ci 'C: RCPT TO:<zed@strict.test>' "$LOG")
$CHECKS one zed@strict.test status=invalid reason=mailbox_not_found final=True
check_eq "restart: verdicts kept (no RCPT)" "$(grep -ci 'C: RCPT TO:<zed@strict.test>' "$LOG")" "$asked"
$CHECKS rate
serve_stop
check_eq "second stop: exit 0" "$SRC" 0

# ---- bad starts ----
"$MAILSIFT" serve > /dev/null 2> "$WORK/nodata.err"
check_eq "no --data: usage error" "$?" 2
"$MAILSIFT" serve --data "$DATA" --listen 127.0.0.1:99999 $PROBE > /dev/null 2> "$WORK/port.err"
check_eq "--listen with a bad port: usage error" "$?" 2
# The keys file damaged while the server runs: nobody gets in, the line is named; mended,
# the keys work again. Damaged at start: serve refuses to start, naming the line.
serve_start
cp "$DATA/keys" "$WORK/keys.good"
echo 'garbage line' >> "$DATA/keys"
$CHECKS denied
check_contains "a damaged keys file: the line is named" "$WORK/serve.err" "keys:3: not a key line"
cp "$WORK/keys.good" "$DATA/keys"
$CHECKS one not-an-address status=invalid final=True
serve_stop
echo 'garbage line' >> "$DATA/keys"
"$MAILSIFT" serve --data "$DATA" --listen 127.0.0.1:0 $PROBE > /dev/null 2> "$WORK/badkeys.err"
check_eq "start with a damaged keys file: exit 1" "$?" 1
check_contains "start with a damaged keys file: the line is named" "$WORK/badkeys.err" "keys:3:"

# ---- HTTPS (--tls-cert/--tls-key) ----
cp "$WORK/keys.good" "$DATA/keys"
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-days 2 -keyout "$WORK/tls.key" -out "$WORK/tls.cert" > "$WORK/openssl.log" 2>&1
check_eq "a test certificate is made" "$?" 0
"$MAILSIFT" serve --data "$DATA" --listen 127.0.0.1:0 $PROBE --tls-cert "$WORK/tls.cert" \
	> /dev/null 2> "$WORK/tlsusage.err"
check_eq "--tls-cert without --tls-key: usage error" "$?" 2
"$MAILSIFT" serve --data "$DATA" --listen 127.0.0.1:0 $PROBE --tls-cert "$WORK/tls.key" \
	--tls-key "$WORK/tls.key" > /dev/null 2> "$WORK/tlsbad.err"
check_eq "a certificate file that is not one: exit 1" "$?" 1
check_contains "a certificate file that is not one: named" "$WORK/tlsbad.err" "--tls-cert $WORK/tls.key"
"$MAILSIFT" serve --data "$DATA" --listen 127.0.0.1:0 $PROBE --tls-cert "$WORK/tls.cert" \
	--tls-key "$WORK/tls.key" > "$WORK/serve.out" 2> "$WORK/serve.err" &
SPID=$!
for i in $(seq 100); do
	hport=$(sed -n 's|.*listening on https://127.0.0.1:\([0-9]*\)/.*|\1|p' "$WORK/serve.err")
	[ -n "$hport" ] && break
	sleep 0.2
done
check "HTTPS: serve says https://" test -n "$hport"
export TLS_URL="https://127.0.0.1:$hport" TLS_CA="$WORK/tls.cert"
$CHECKS tls
serve_stop
check_eq "HTTPS: stop, exit 0" "$SRC" 0

check "no DATA ever sent" test -z "$(grep '!!! ' "$LOG")"
