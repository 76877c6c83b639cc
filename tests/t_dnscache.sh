#!/bin/sh
# t_dnscache - DNS answers are kept per domain in the job store and reused by the next run
# (within DEF_DNS_CACHE_SECONDS): the world's DNS server is asked once for a domain across two
# runs; temporary failures are not kept.
if [ "${MAILSIFT_NETNS:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
	unshare -n true 2>/dev/null; then
	exec unshare -n sh -c 'ip link set lo up && MAILSIFT_NETNS=1 exec sh "$0"' "$0"
fi
. "$(dirname "$0")/lib.sh"
cat "$TOP/tests/world/world.zone" - > "$WORK/world.zone" <<'ZONE'
servfail broken.test
ZONE
world_start $((40000 + $$ % 10000))
trap 'sh "$TOP/tests/world/world.sh" stop "$WORK/world" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
RUN="--resolver 127.0.0.1:$((PORT + 1)) --smtp-port $PORT --helo probe.mailsift.test --allow-private-mx
	--timeout 3 --connect-timeout 2 --max-attempts 1 --quiet"
cd "$WORK" || exit 1
printf 'email\nalice@strict.test\nx@nx.test\nalice@broken.test\n' > one.csv
printf 'email\nbob@strict.test\ny@nx.test\nbob@broken.test\n' > two.csv
"$MAILSIFT" import one.csv --db job.db --quiet
# shellcheck disable=SC2086
"$MAILSIFT" run --db job.db $RUN
check_eq "first run exits 0" "$?" 0
check_eq "answers kept per domain (temporary ones not)" \
	"$(sqlite3 job.db "SELECT name || ' ' || dns_status || ' ' || coalesce(mx, '') FROM domains WHERE dns_status IS NOT NULL ORDER BY name" | tr '\n' '|')" \
	"nx.test nxdomain |strict.test ok 10 mx.strict.test 127.0.1.10|"
"$MAILSIFT" import two.csv --db job.db --quiet
# shellcheck disable=SC2086
"$MAILSIFT" run --db job.db $RUN
check_eq "second run exits 0" "$?" 0
LOG="$WORK/world/dnsd.log"
check_eq "strict.test's MX asked once over two runs" "$(grep -ci '^strict.test MX' "$LOG")" 1
check_eq "nx.test asked once over two runs" "$(grep -ci '^nx.test MX' "$LOG")" 1
check "broken.test (SERVFAIL) asked again by the second run" \
	test "$(grep -ci '^broken.test MX' "$LOG")" -gt "$(printf 1)"
check_eq "verdicts from the cached answers" \
	"$(sqlite3 job.db "SELECT key || ' ' || status || ' ' || reason FROM addresses ORDER BY key" | tr '\n' '|')" \
	"alice@broken.test unknown dns_error|alice@strict.test valid accepted|bob@broken.test unknown dns_error|bob@strict.test valid accepted|x@nx.test invalid nxdomain|y@nx.test invalid nxdomain|"
