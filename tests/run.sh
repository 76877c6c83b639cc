#!/bin/sh
# run.sh BUILD - run every test: unit binaries (BUILD/tests/test_*), then the shell suites in
# tests/*.sh (golden files, bad input, end-to-end). Every test prints "PASS name" or "FAIL name";
# a program that exits non-zero without a FAIL line counts as one failure (a crash).
# Ends with the line "N passed, N failed".
set -u
# Everything runs in a private network namespace with only loopback when this can be had
# (root, unshare): no test can send a packet off the machine, even by mistake.
if [ "${MAILSIFT_NETNS:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null 2>&1 &&
	unshare -n true 2>/dev/null; then
	exec unshare -n sh -c 'ip link set lo up && MAILSIFT_NETNS=1 exec sh "$0" "$@"' "$0" "$@"
fi
[ "${MAILSIFT_NETNS:-0}" = 1 ] || echo "run.sh: note: not in a private network namespace (needs root and unshare)"
BUILD=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
export MAILSIFT="$top/$BUILD/mailsift" MAILSIFT_TOP="$top" MAILSIFT_BUILD="$top/$BUILD"
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run_one() { # name command...
	name=$1; shift
	out=$("$@" 2>&1); rc=$?
	printf '%s\n' "$out" | grep -E '^(PASS|FAIL) ' >> "$log"
	printf '%s\n' "$out" | grep -vE '^PASS ' | sed "s|^|[$name] |" | grep -v '^\['"$name"'\] $'
	if [ $rc -ne 0 ] && ! printf '%s\n' "$out" | grep -q '^FAIL '; then
		echo "FAIL $name (exit status $rc)" | tee -a "$log"
	fi
}

for t in "$top/$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	run_one "$(basename "$t")" "$t"
done
for t in "$top"/tests/t_*.sh; do
	[ -f "$t" ] || continue
	run_one "$(basename "$t" .sh)" sh "$t"
done

passed=$(grep -c '^PASS ' "$log")
failed=$(grep -c '^FAIL ' "$log")
grep '^FAIL ' "$log" | sed 's/^/  /'
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
