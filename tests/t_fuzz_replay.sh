#!/bin/sh
# t_fuzz_replay - every fuzz target (tests/fuzz/fuzz_*.c), built without libFuzzer, runs its
# seeds and the inputs of past findings (tests/fuzz/seeds/NAME/*) once: a finding kept there is a
# regression test under gcc and under the sanitizer build. A target without inputs fails.
set -u
n=0
for src in "$MAILSIFT_TOP"/tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	bin="$MAILSIFT_BUILD/tests/replay/$name"
	n=$((n + 1))
	if [ ! -x "$bin" ]; then
		echo "FAIL fuzz replay $name: $bin was not built"
		continue
	fi
	set -- "$MAILSIFT_TOP"/tests/fuzz/seeds/"$name"/*
	if [ ! -f "$1" ]; then
		echo "FAIL fuzz replay $name: no inputs in tests/fuzz/seeds/$name"
		continue
	fi
	out=$(timeout 120 "$bin" "$@" 2>&1)
	rc=$?
	if [ $rc = 0 ]; then
		echo "PASS fuzz replay $name: $out"
	else
		printf '%s\n' "$out" | tail -5
		echo "FAIL fuzz replay $name: exit status $rc on tests/fuzz/seeds/$name"
	fi
done
[ "$n" -gt 0 ] || echo "FAIL fuzz replay: no targets found"
