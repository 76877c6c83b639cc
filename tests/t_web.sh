#!/bin/sh
# t_web - mailsift serve's page in a real browser (Debian's chromium headless, chromium-driver,
# python3-selenium) against the loopback mail world: a wrong key is refused in words, the
# example list is previewed with its email column picked, uploaded, cleaned, charted and
# downloaded through the page, and the files equal `mailsift clean`'s; a PNG given as the list
# is refused in words, and so is a list over the server's --max-upload. Screenshots go to $MAILSIFT_BUILD/artifacts/web/.
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

# --max-upload of 16 KiB (in GiB): the example list fits, a 64 KiB one does not
"$MAILSIFT" serve --data "$WORK/data" --listen 127.0.0.1:0 $PROBE --max-upload 0.0000152587890625 \
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

printf '\211PNG\r\n\032\n\000\000\000\rIHDR\000\000\000\001' > "$WORK/picture.png"
$CHECKS bad_file "$WORK/picture.png" "is not a list"
python3 -c 'print("email"); [print("user%d@strict.test" % i) for i in range(4000)]' > "$WORK/big.csv"
$CHECKS too_large "$WORK/big.csv"
kill -TERM $SPID
wait $SPID
check_eq "serve stops with 0" "$?" 0
SPID=
