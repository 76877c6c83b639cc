#!/bin/sh
# lint.sh BUILD - static analysis of mailsift's C sources: cppcheck, then clang-tidy, with the
# reasoned suppressions below. Exits non-zero on any finding. (make lint; .ci/run runs it.)
#
# Suppressed, and why:
#  - clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling: asks for C11 Annex K
#    (memcpy_s, snprintf_s), which glibc does not have; our bounds are explicit at each call.
#  - bugprone-easily-swappable-parameters: flags every function with two ints in a row.
#  - bugprone-reserved-identifier: _GNU_SOURCE and libFuzzer's entry point are not ours to rename.
#  - bugprone-assignment-in-if-condition: `if ((fd = open(...)) < 0)` is idiomatic C.
#  - bugprone-implicit-widening-of-multiplication-result: sizes here are small and bounded
#    (buffer lengths, counts); the widening it fears cannot overflow.
#  - bugprone-narrowing-conversions: `char c = tolower(c)` style conversions of bytes we range-check.
#  - cppcheck variableScope: C89-style declarations at the top of a block are our style too.
# Inline (each with its reason beside it): two arrays of pointers whose `sizeof *p` clang-tidy
# takes for a mistake (engine/dns.c), the session freed-while-busy guard the analyzer cannot
# follow through the owner's callbacks (engine/smtp.c), one cppcheck false "always false"
# (importers/prepare.c).
set -eu
BUILD=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
srcs=$(ls schema/*.c importers/*.c exporters/*.c engine/*.c common/*.c cli/*.c server/*.c 2>/dev/null || true)
flags="-std=c11 -D_GNU_SOURCE -DMAILSIFT_VERSION=\"lint\" -I. -I$BUILD $(pkg-config --cflags libevent libcares openssl sqlite3 zlib libpsl libidn2)"
fail=0

echo "lint: cppcheck $(cppcheck --version | sed 's/Cppcheck //') on $(echo "$srcs" | wc -w) files"
# shellcheck disable=SC2086
if ! cppcheck --quiet --std=c11 --enable=warning,style,portability,performance --inline-suppr \
	--suppress=variableScope --error-exitcode=1 -D_GNU_SOURCE -I. $srcs; then
	fail=1
fi

checks='-*,clang-analyzer-*,bugprone-*,-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling'
checks="$checks,-bugprone-easily-swappable-parameters,-bugprone-reserved-identifier"
checks="$checks,-bugprone-assignment-in-if-condition,-bugprone-implicit-widening-of-multiplication-result"
checks="$checks,-bugprone-narrowing-conversions"
echo "lint: clang-tidy $(clang-tidy --version | sed -n 's/.*LLVM version //p')"
for f in $srcs; do
	# shellcheck disable=SC2086
	out=$(clang-tidy -quiet --checks="$checks" --warnings-as-errors='*' "$f" -- $flags 2>/dev/null) || {
		printf '%s\n' "$out"
		fail=1
	}
done
[ $fail = 0 ] && echo "lint: no findings"
exit $fail
