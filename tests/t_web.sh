#!/bin/sh
# t_web - mailsift serve's page in a real browser (Debian's chromium headless, chromium-driver,
# python3-selenium) against the loopback mail world: a wrong key is refused in words, the
# example list is previewed with its email column picked, uploaded, cleaned, charted and
# downloaded through the page, and the files equal `mailsift clean`'s; so do a 20,000-row gzip
# list's, uploaded through a slow link while serve is killed and started again (the page says
# how to go on; the same file chosen again resumes at the server's offset); a PNG given as the
# list is refused in words, and so is a list over the server's --max-upload. Screenshots go to $MAILSIFT_BUILD/artifacts/web/.
if [ "${MAILSIFT_NETNS:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
	unshare -n true 2>/dev/null; then
	exec unshare -n sh -c 'ip link set lo up && MAILSIFT_NETNS=1 exec sh "$0"' "$0"
fi
. "$(dirname "$0")/lib.sh"

for f in /usr/bin/chromium /usr/bin/chromedriver; do
	[ -x "$f" ] || { fail "browser installed" "$f missing (Debian: chromium chromium-driver python3-selenium)"; exit 1; }
done
cp "$TOP/tests/world/world.zone" "$WORK/world.zone"
world_start $((30000 + ($$ + 13000) % 20000))
trap 'kill -9 $SPID 2>/dev/null; sh "$TOP/tests/world/world.sh" stop "$WORK/world" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
PROBE="--resolver 127.0.0.1:$((PORT + 1)) --smtp-port $PORT --helo probe.mailsift.test --allow-private-mx
	--mail-from verify@probe.mailsift.test --connect-timeout 2 --timeout 3 --greylist-delay 6
	--max-attempts 2"
export SHOTS="$MAILSIFT_BUILD/artifacts/web"
mkdir -p "$SHOTS" "$WORK/downloads"
CHECKS="/usr/bin/python3 $TOP/tests/web_checks.py"

cp "$TOP/examples/customers.csv" "$WORK/customers.csv"
timeout 300 "$MAILSIFT" clean "$WORK/customers.csv" -o "$WORK/ref" $PROBE --quiet 2> "$WORK/ref.err"
check_eq "reference: mailsift clean exits 0" "$?" 0

# --max-upload of 1 MiB (in GiB): the lists fit, a 2 MiB one does not
"$MAILSIFT" serve --data "$WORK/data" --listen 127.0.0.1:0 $PROBE --max-upload 0.0009765625 \
	> "$WORK/key" 2> "$WORK/serve.err" &
SPID=$!
for i in $(seq 100); do
	hport=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$WORK/serve.err")
	[ -n "$hport" ] && break
	sleep 0.2
done
[ -n "$hport" ] || { fail "serve starts" "$(cat "$WORK/serve.err")"; exit 1; }
export URL="http://127.0.0.1:$hport" KEY="$(cat "$WORK/key")"

$CHECKS clean "$WORK/customers.csv" "$WORK/downloads"
check "the files downloaded through the page equal mailsift clean's" \
	python3 "$TOP/tests/run/check.py" compare "$WORK/ref" "$WORK/downloads"

# a 20,000-row gzip list through a slow link, serve killed and started again mid-upload
python3 - "$WORK/big20k.csv" <<'PY'
import random, sys
rnd = random.Random(5)
with open(sys.argv[1], "w") as f:
    f.write("id,email,note\n")
    for i in range(20000):
        f.write("%d,u%d@%s,row %d\n" % (i, rnd.randrange(3000), rnd.choice(["strict.test", "catchall.test"]), i))
PY
gzip -9 -c "$WORK/big20k.csv" > "$WORK/big20k.csv.gz"
timeout 300 "$MAILSIFT" clean "$WORK/big20k.csv.gz" -o "$WORK/ref20k" $PROBE --quiet 2> "$WORK/ref20k.err"
check_eq "reference: mailsift clean of the 20,000-row list exits 0" "$?" 0
echo $SPID > "$WORK/spid"
# restart.sh: SIGKILL serve, start it again on the same port and folder (the page's origin)
{
	echo "kill -9 \$(cat '$WORK/spid'); sleep 0.5"
	echo "'$MAILSIFT' serve --data '$WORK/data' --listen 127.0.0.1:$hport $(echo $PROBE) --max-upload 0.0009765625 > /dev/null 2>> '$WORK/serve.err' &"
	echo "echo \$! > '$WORK/spid'"
	echo "for i in \$(seq 100); do [ \$(grep -c 'listening on' '$WORK/serve.err') -ge 2 ] && break; sleep 0.1; done"
} > "$WORK/restart.sh"
$CHECKS resume "$WORK/big20k.csv.gz" "$WORK/dl20k" "$WORK/restart.sh"
SPID=$(cat "$WORK/spid")
check "the 20,000-row gzip list's files through the page equal mailsift clean's" \
	python3 "$TOP/tests/run/check.py" compare "$WORK/ref20k" "$WORK/dl20k"

# greylisted addresses (never asked before in this world): the page says when they come back
printf 'email\nbob@greylist.test\ncarol@greylist.test\nalice@strict.test\n' > "$WORK/grey.csv"
$CHECKS greylist "$WORK/grey.csv"
$CHECKS layout

printf '\211PNG\r\n\032\n\000\000\000\rIHDR\000\000\000\001' > "$WORK/picture.png"
$CHECKS bad_file "$WORK/picture.png" "is not a list"
python3 -c 'print("email"); [print("user%d@strict.test" % i) for i in range(100000)]' > "$WORK/big.csv"
$CHECKS too_large "$WORK/big.csv"
# serve was started again by restart.sh (not this shell's child): its stop is seen in its log
kill -TERM $SPID
for i in $(seq 150); do kill -0 $SPID 2>/dev/null || break; sleep 0.2; done
check "serve stops on SIGTERM" sh -c '! kill -0 $1 2>/dev/null' sh $SPID
check_contains "serve says what it saved" "$WORK/serve.err" "stopped; what was done is saved"
SPID=
