#!/bin/sh
# t_net - issue 9 items 6, 11 and 12 end to end against the loopback mail world:
#  6. an MX answer that does not parse (a compression-pointer loop, a one-byte RDATA, a label
#     cut by the end of the message; tests/world/dnsd `badmx`) is retried and ends
#     unknown / dns_error, never invalid;
# 11. MX hosts whose addresses are not public (0.0.0.0, 127/8, 10/8, an implicit MX on
#     loopback, and a cached answer in the job store) are never connected to without
#     --allow-private-mx: unknown / mx_not_public, a detail naming the address, and the world's
#     smtpd sees no connection;
# 12. the default MAIL FROM is verify@<HELO name> (--helo's, not the host name's), and nothing
#     starts (exit 2, "--helo NAME") when the host name has no dot and no --helo is given
#     (the host name is set in a private UTS namespace: unshare -u).
if [ "${MAILSIFT_NETNS:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
	unshare -n true 2>/dev/null; then
	exec unshare -n sh -c 'ip link set lo up && MAILSIFT_NETNS=1 exec sh "$0"' "$0"
fi
. "$(dirname "$0")/lib.sh"

cat "$TOP/tests/world/world.zone" - > "$WORK/world.zone" <<'ZONE'
badmx loop.test loop
badmx garbled.test short
badmx cut.test cut
mx zero.test 10 mx.zero.test
a mx.zero.test 0.0.0.0
mx lo.test 10 mx.lo.test
a mx.lo.test 127.0.1.10
mx ten.test 10 mx.ten.test
a mx.ten.test 10.0.0.25
a implicit.test 127.0.1.10
ZONE
world_start $((20000 + $$ % 10000))
trap 'sh "$TOP/tests/world/world.sh" stop "$WORK/world" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
LOG="$WORK/world/smtpd.log"
DNSLOG="$WORK/world/dnsd.log"
WORLD="--resolver 127.0.0.1:$((PORT + 1)) --smtp-port $PORT --connect-timeout 2 --timeout 5"
cd "$WORK" || exit 1

# opens - sessions the world's smtpd has accepted so far
opens() { grep -c ' OPEN ' "$LOG"; }

# ---- 11: private MX addresses, fresh DNS answers
before=$(opens)
# shellcheck disable=SC2086
timeout 60 "$MAILSIFT" verify $WORLD --helo probe.mailsift.test alice@zero.test alice@lo.test \
	alice@ten.test alice@strict.test alice@implicit.test > priv.json 2> priv.err
check_eq "11. verify without --allow-private-mx exits 0" "$?" 0
expect_json "11. " priv.json alice@zero.test unknown mx_not_public
expect_json "11. " priv.json alice@lo.test unknown mx_not_public
expect_json "11. " priv.json alice@ten.test unknown mx_not_public
expect_json "11. " priv.json alice@strict.test unknown mx_not_public
expect_json "11. implicit MX: " priv.json alice@implicit.test unknown mx_not_public
check_contains "11. detail names 0.0.0.0" priv.json '0.0.0.0 is unspecified'
check_contains "11. detail names 127.0.1.10" priv.json '127.0.1.10 is loopback'
check_contains "11. detail names 10.0.0.25" priv.json '10.0.0.25 is private'
check_eq "11. no connection to the world's smtpd" "$(opens)" "$before"

# shellcheck disable=SC2086
timeout 60 "$MAILSIFT" verify $WORLD --helo probe.mailsift.test --allow-private-mx \
	alice@lo.test > allow.json 2> allow.err
expect_json "11. --allow-private-mx: " allow.json alice@lo.test valid accepted
check "11. --allow-private-mx connects" test "$(opens)" -gt "$before"

# ---- 11: answers read back from the job store's DNS cache
printf 'email\nalice@strict.test\n' > one.csv
printf 'email\nbob@strict.test\n' > two.csv
"$MAILSIFT" import one.csv --db job.db --quiet
# shellcheck disable=SC2086
timeout 60 "$MAILSIFT" run --db job.db $WORLD --helo probe.mailsift.test --allow-private-mx \
	--quiet 2> run1.err
check_eq "11. run with --allow-private-mx exits 0" "$?" 0
check_eq "11. the answer is kept in the store" \
	"$(sqlite3 job.db "SELECT dns_status || ' ' || mx FROM domains WHERE name = 'strict.test'")" \
	"ok 10 mx.strict.test 127.0.1.10"
"$MAILSIFT" import two.csv --db job.db --quiet
before=$(opens)
asked=$(grep -ci '^strict.test MX' "$DNSLOG")
# shellcheck disable=SC2086
timeout 60 "$MAILSIFT" run --db job.db $WORLD --helo probe.mailsift.test --quiet 2> run2.err
check_eq "11. run without the flag exits 0" "$?" 0
check_eq "11. the cached answer was used (no new MX query)" \
	"$(grep -ci '^strict.test MX' "$DNSLOG")" "$asked"
check_eq "11. cached loopback MX: unknown / mx_not_public" \
	"$(sqlite3 job.db "SELECT status || ' ' || reason FROM addresses WHERE key = 'bob@strict.test'")" \
	"unknown mx_not_public"
check_eq "11. cached loopback MX: no connection" "$(opens)" "$before"

# ---- 6: malformed MX answers
# shellcheck disable=SC2086
timeout 60 "$MAILSIFT" verify $WORLD --helo probe.mailsift.test --allow-private-mx \
	--max-attempts 2 --greylist-delay 1 alice@loop.test alice@garbled.test alice@cut.test \
	> bad.json 2> bad.err
check_eq "6. verify exits 0" "$?" 0
for d in loop garbled cut; do
	expect_json "6. " bad.json "alice@$d.test" unknown dns_error attempts=2
	check "6. $d.test: MX asked again (retries)" test "$(grep -ci "^$d.test MX NOERROR" "$DNSLOG")" -ge 2
done
check_contains "6. detail says malformed" bad.json "malformed answer"

# ---- 12: HELO and MAIL FROM
# shellcheck disable=SC2086
timeout 60 "$MAILSIFT" verify $WORLD --helo helo.mailsift.test --allow-private-mx alice@strict.test \
	> from.json 2> from.err
check_contains "12. default MAIL FROM is verify@<--helo>" "$LOG" "C: MAIL FROM:<verify@helo.mailsift.test>"
if unshare -u true 2>/dev/null; then
	# shellcheck disable=SC2086
	unshare -u sh -c 'hostname nodot && exec "$@"' sh "$MAILSIFT" verify $WORLD --allow-private-mx \
		alice@strict.test > nodot.json 2> nodot.err
	check_eq "12. host name without a dot, no --helo: usage error" "$?" 2
	check_contains "12. the message says to pass --helo" nodot.err "pass --helo NAME"
	check_eq "12. nothing printed" "$(wc -c < nodot.json)" 0
	# shellcheck disable=SC2086
	unshare -u sh -c 'hostname nodot && exec "$@"' sh "$MAILSIFT" run --db job.db $WORLD \
		--allow-private-mx --quiet > nodot-run.out 2>&1
	check_eq "12. run refuses too" "$?" 2
	check_contains "12. run says to pass --helo" nodot-run.out "pass --helo NAME"
	# shellcheck disable=SC2086
	unshare -u sh -c 'hostname nodot && exec "$@"' sh "$MAILSIFT" clean one.csv -o nodot-out \
		$WORLD --allow-private-mx --quiet > nodot-clean.out 2>&1
	check_eq "12. clean refuses too" "$?" 2
	# shellcheck disable=SC2086
	unshare -u sh -c 'hostname nodot && exec "$@"' sh "$MAILSIFT" clean one.csv -o nodot-syntax \
		--syntax-only --quiet > nodot-syntax.out 2>&1
	check_eq "12. clean --syntax-only needs no HELO name" "$?" 0
	# shellcheck disable=SC2086
	unshare -u sh -c 'hostname host.example.org && exec "$@"' sh "$MAILSIFT" verify $WORLD \
		--allow-private-mx --helo other.mailsift.test bob@strict.test > other.json 2> other.err
	check_contains "12. MAIL FROM follows --helo, not the host name" "$LOG" \
		"C: MAIL FROM:<verify@other.mailsift.test>"
	check "12. never from the host name" sh -c "! grep -q 'verify@host.example.org' '$LOG'"
else
	echo "  (no UTS namespace: the host-name cases of 12 are skipped)"
fi
