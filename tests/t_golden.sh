#!/bin/sh
# t_golden - import ─► export golden files (clean --syntax-only: no DNS or SMTP): each tests/golden/CASE holds one input file
# (input.*), optional `args` (extra clean options), and expected/ with the CSV files and the
# messages (stderr) that `mailsift clean` must produce, byte for byte. GOLDEN_UPDATE=1
# rewrites expected/ from the current output (then read every changed file before committing).
. "$(dirname "$0")/lib.sh"

for case_dir in "$TOP"/tests/golden/*/; do
	name=$(basename "$case_dir")
	run="$WORK/$name"
	mkdir -p "$run"
	cp "$case_dir"/input.* "$run"/
	input=$(cd "$run" && ls input.* | head -n 1)
	args=""
	[ -f "$case_dir/args" ] && args=$(cat "$case_dir/args")
	# shellcheck disable=SC2086
	(cd "$run" && "$MAILSIFT" clean "$input" -o out --quiet --syntax-only $args 2> stderr; echo $? > status)
	if [ "${GOLDEN_UPDATE:-0}" = 1 ]; then
		rm -rf "$case_dir/expected"
		mkdir -p "$case_dir/expected"
		cp "$run"/out/*.csv "$case_dir/expected/" 2>/dev/null
		cp "$run/stderr" "$run/status" "$case_dir/expected/"
		echo "PASS golden $name (updated)"
		continue
	fi
	ok=1
	for want in "$case_dir"/expected/*; do
		f=$(basename "$want")
		if [ "$f" = stderr ] || [ "$f" = status ]; then got="$run/$f"; else got="$run/out/$f"; fi
		if ! cmp -s "$want" "$got"; then
			ok=0
			echo "  golden $name: $f differs:"
			diff "$want" "$got" | head -n 20 | sed 's/^/    /'
		fi
	done
	# Every input row lands in exactly one file: the files' rows add up to the rows imported
	# (changes.csv repeats rows of the others).
	if [ -f "$run/out/report.json" ]; then
		total=0
		for f in "$run"/out/*.csv; do
			[ "${f##*/}" = changes.csv ] || total=$((total + $(data_rows "$f")))
		done
		rows=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"]["rows"])' "$run/out/report.json")
		[ "$total" = "$rows" ] || { ok=0; echo "  golden $name: files hold $total rows, report says $rows"; }
	fi
	if [ $ok = 1 ]; then pass "golden $name"; else fail "golden $name" "output differs from tests/golden/$name/expected"; fi
done
