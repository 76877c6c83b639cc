#!/bin/sh
# t_resume - an import killed with SIGKILL at several points, then rerun, ends with exactly
# the rows of an uninterrupted import (exports compared byte for byte); SIGINT stops cleanly
# with exit status 3 and the rerun resumes.
. "$(dirname "$0")/lib.sh"
cd "$WORK" || exit 1

ROWS=400000
awk -v n=$ROWS 'BEGIN {
	print "email,first,notes"
	for (i = 1; i <= n; i++) {
		k = (i % 20 == 0) ? i - 7 : i          # 5% repeats of an earlier address
		if (i % 101 == 0) printf "broken%d@@example.com,B%d,bad\n", i, i
		else printf "User%d@Example%d.com,\"Name %d, Jr\",n%d\n", k, k % 997, i, i
	}
}' > big.csv
gzip -1 -c big.csv > big.csv.gz

"$MAILSIFT" import big.csv.gz --db ref.db --quiet 2> ref.err
check_eq "reference import" "$?" 0
"$MAILSIFT" export --db ref.db -o ref-out --quiet

# committed_rows DB - rows the interrupted import has committed so far ("" before it starts)
committed_rows() {
	sqlite3 "$1" "SELECT rows FROM lists WHERE state = 'importing'" 2>/dev/null
}

# Each attempt is killed right after it has committed more rows than the last one (so the kill
# lands mid-import whatever the machine's speed), plus a varying few milliseconds.
mid=0 last=0
for extra in 0.00 0.03 0.07 0.01 0.05 0.09; do
	# 20,000 rows a transaction (the default is larger): commits to land between
	MAILSIFT_IMPORT_BATCH_ROWS=20000 "$MAILSIFT" import big.csv.gz --db kill.db --quiet 2>> kill.err &
	pid=$!
	tries=0
	while [ $tries -lt 600 ] && kill -0 "$pid" 2>/dev/null; do
		now=$(committed_rows kill.db)
		[ -n "$now" ] && [ "$now" -gt "$last" ] && break
		sleep 0.05
		tries=$((tries + 1))
	done
	sleep "$extra"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	now=$(committed_rows kill.db)
	if [ -n "$now" ] && [ "$now" -gt "$last" ]; then mid=$((mid + 1)); last=$now; fi
done
echo "  killed mid-import $mid times, last at $last committed rows of $ROWS"
check "SIGKILL landed mid-import at least 5 times ($mid of 6)" test "$mid" -ge 5
"$MAILSIFT" import big.csv.gz --db kill.db 2> final.err
check_eq "rerun after SIGKILLs finishes" "$?" 0
"$MAILSIFT" export --db kill.db -o kill-out --quiet
same=1
for f in ref-out/*.csv; do
	cmp -s "$f" "kill-out/$(basename "$f")" || { same=0; echo "  $(basename "$f") differs"; diff "$f" "kill-out/$(basename "$f")" | head -5; }
done
check "exports after SIGKILLs equal the uninterrupted import's" test $same = 1
check_eq "every row once" "$(sqlite3 kill.db 'SELECT count(*), count(DISTINCT row_no) FROM rows')" "$ROWS|$ROWS"

# SIGINT: a clean stop with status 3 and a message; the rerun resumes and finishes.
"$MAILSIFT" import big.csv.gz --db int.db --quiet 2> int.err &
pid=$!
sleep 0.5
kill -INT "$pid"
wait "$pid"
rc=$?
if [ $rc = 0 ]; then
	echo "  (import finished before SIGINT arrived: machine too fast for this delay)"
	pass "SIGINT exit status 3 (not reached)"
else
	check_eq "SIGINT exit status 3" "$rc" 3
	check_contains "SIGINT says how to resume" int.err "Rerun the same command to resume"
fi
"$MAILSIFT" import big.csv.gz --db int.db 2> int2.err
check_eq "rerun after SIGINT" "$?" 0
"$MAILSIFT" export --db int.db -o int-out --quiet
check "export after SIGINT equals reference" cmp -s ref-out/unknown.csv int-out/unknown.csv

# stdin: a piped import killed mid-way, then the same pipe again, finishes that list (one list,
# every row once); a different stream is refused and leaves the interrupted list as it was.
mkfifo pipe.fifo
cat big.csv > pipe.fifo &
catpid=$!
MAILSIFT_IMPORT_BATCH_ROWS=20000 "$MAILSIFT" import - --db pipe.db --quiet < pipe.fifo 2> pipe.err &
pid=$!
tries=0
while [ $tries -lt 600 ] && kill -0 "$pid" 2>/dev/null; do
	now=$(committed_rows pipe.db)
	[ -n "$now" ] && [ "$now" -gt 0 ] && break
	sleep 0.05
	tries=$((tries + 1))
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
wait "$catpid" 2>/dev/null # ends with SIGPIPE
saved=$(committed_rows pipe.db)
check "stdin: SIGKILL landed mid-import ($saved rows saved)" test -n "$saved" -a "${saved:-0}" -gt 0 -a "${saved:-0}" -lt $ROWS
sed '2s/^User1@/Other1@/' big.csv | "$MAILSIFT" import - --db pipe.db 2> pipe-other.err
check_eq "stdin: another stream is refused" "$?" 1
check_contains "stdin: the refusal says how to start over" pipe-other.err "not the input whose import was interrupted"
check_contains "stdin: the refusal names a new job store" pipe-other.err "--db NEW.db"
check_eq "stdin: the interrupted list is untouched" "$(sqlite3 pipe.db "SELECT count(*), sum(rows) FROM lists WHERE state = 'importing'")" "1|$saved"
cat big.csv | "$MAILSIFT" import - --db pipe.db 2> pipe-rerun.err
check_eq "stdin: the same stream again finishes the list" "$?" 0
check_contains "stdin: it says it resumed" pipe-rerun.err "resumed"
check_eq "stdin: one list, every row once" \
	"$(sqlite3 pipe.db "SELECT count(*), sum(rows), sum(state = 'done') FROM lists; SELECT count(*), count(DISTINCT row_no) FROM rows")" \
	"1|$ROWS|1
$ROWS|$ROWS"
"$MAILSIFT" export --db pipe.db -o pipe-out --quiet
same=1
for f in ref-out/*.csv; do
	cmp -s "$f" "pipe-out/$(basename "$f")" || { same=0; echo "  $(basename "$f") differs"; }
done
check "stdin: export after SIGKILL and rerun equals the uninterrupted import's" test $same = 1
# The finished stream piped once more is that list again, not a second copy of its rows; a
# different stream after it is a new list, deduplicated on its own (no stale "seen in this list").
cat big.csv | "$MAILSIFT" import - --db pipe.db 2> pipe-again.err
check_eq "stdin: the finished stream again: exit 0" "$?" 0
check_contains "stdin: it says nothing was added" pipe-again.err "the same bytes as list 1, imported before: nothing added"
check_eq "stdin: still one list, every row once" \
	"$(sqlite3 pipe.db "SELECT count(*), sum(rows) FROM lists; SELECT count(*) FROM rows")" "1|$ROWS
$ROWS"
head -3 big.csv | "$MAILSIFT" import - --db pipe.db 2> pipe-third.err
check_eq "stdin: another stream after it is a new list" \
	"$(sqlite3 pipe.db "SELECT count(*) FROM lists; SELECT count(*), count(dup_of) FROM rows WHERE list_id = 2")" "2
2|0"
