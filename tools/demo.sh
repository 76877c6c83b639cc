#!/bin/sh
# demo.sh [LIST] - the README's main job: start the bundled loopback mail world (tests/world:
# a DNS server and SMTP personas on 127.0.1.x), run `mailsift clean` on LIST (default
# examples/customers.csv) against it into ./out, print the summary, stop the world.
# Run as root it runs in a private network namespace (unshare -n) with only loopback.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
if [ "${MAILSIFT_NETNS:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null 2>&1 &&
	unshare -n true 2>/dev/null; then
	exec unshare -n sh -c 'ip link set lo up && MAILSIFT_NETNS=1 exec sh "$0" "$@"' "$0" "$@"
fi
list=${1:-$top/examples/customers.csv}
out=${OUT:-out}
world=$(mktemp -d "${TMPDIR:-/tmp}/mailsift-world.XXXXXX")
make -s -C "$top" all build/tests/world/dnsd build/tests/world/smtpd || exit 1
WORLD_SMTP_PORT=${WORLD_SMTP_PORT:-2525} WORLD_DNS_PORT=${WORLD_DNS_PORT:-5353}
export WORLD_SMTP_PORT WORLD_DNS_PORT
sh "$top/tests/world/world.sh" start "$world" >/dev/null || { echo "demo: the world did not start" >&2; exit 1; }
trap 'sh "$top/tests/world/world.sh" stop "$world" >/dev/null 2>&1; rm -rf "$world"' EXIT
"$top/build/mailsift" clean "$list" -o "$out" --resolver "127.0.0.1:$WORLD_DNS_PORT" \
	--smtp-port "$WORLD_SMTP_PORT" --helo demo.mailsift.test --allow-private-mx --greylist-delay 6 \
	--timeout 15
rc=$?
echo
for f in valid invalid risky catch_all unknown duplicates; do
	printf '%-11s %s rows\n' "$f.csv" "$(($(wc -l < "$out/$f.csv") - 1))"
done
echo "report: $out/report.json; job store: $out/mailsift.db"
exit $rc
