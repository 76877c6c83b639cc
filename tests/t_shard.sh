#!/bin/sh
# t_shard - one list spread over shards (#14): `--shard K/N` for import, run and clean, the
# shard taken from a batch system's environment, and `mailsift merge`:
#  1. the shard function: every row in exactly one shard, rows without an address in shard 0,
#     a shard's store holding only its rows, duplicates found inside their shard;
#  2. a list cleaned as 4 shards against the loopback world, each with its own --source, then
#     merged: the files equal byte for byte but for mailsift_checked_at those of one `clean` of
#     the whole list (and, compared with check.py, row for row), report.json's totals and
#     problems equal, its "shards" naming each store and its rows;
#  3. K and N from JOB_COMPLETION_INDEX with MAILSIFT_SHARDS or --shards, from
#     SLURM_ARRAY_TASK_ID / _MIN / _COUNT, --shard over both, and said on stderr; bad values
#     refused (exit 2) with a message naming the variable;
#  4. refusals: another shard into a store of one (import), run --shard on a store of another
#     shard, merge of a store of a whole list, a shard missing, one given twice, shards of
#     another list or another N, an unfinished shard (without --partial);
#  5. a shard killed (SIGKILL) mid-run and started again resumes, and the merge is the same.
# Runs in a private network namespace with only loopback (unshare -n) when it can.
if [ "${MAILSIFT_NETNS:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
	unshare -n true 2>/dev/null; then
	exec unshare -n sh -c 'ip link set lo up && MAILSIFT_NETNS=1 exec sh "$0"' "$0"
fi
. "$(dirname "$0")/lib.sh"
cd "$WORK" || exit 1

cp "$TOP/tests/world/world.zone" "$WORK/world.zone"
# strict.test answers every command after 100 ms: a run with one session at a time lasts
# seconds, long enough to be killed mid-way (5.)
sed 's/^\(127.0.1.10 strict .*\)$/\1 reply_ms=100/' "$TOP/tests/world/personas.conf" > personas.conf
world_start $((30000 + ($$ * 7 + 9000) % 20000)) "$WORK/personas.conf"
trap 'sh "$TOP/tests/world/world.sh" stop "$WORK/world" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
PROBE="--resolver 127.0.0.1:$((PORT + 1)) --smtp-port $PORT --helo probe.mailsift.test
	--allow-private-mx --mail-from verify@probe.mailsift.test --connect-timeout 2 --timeout 3
	--max-attempts 1 --no-doctor"

# The list: 600 rows on hosts that answer at once, every address several times in places
# (duplicates), some with bad syntax, some rows without an address, a row with a stray quote.
python3 - list.csv <<'PY'
import random, sys
rnd = random.Random(14)
users = ["alice", "bob", "carol"] + ["u%d" % i for i in range(60)]
domains = ["strict.test", "microsoft.test", "catchall.test", "full.test", "disabled.test"]
with open(sys.argv[1], "w") as f:
    f.write("email,name,note\n")
    for i in range(600):
        k = rnd.random()
        if k < 0.03:
            f.write(",Nobody %d,no address\n" % i)
        elif k < 0.06:
            f.write("not-an-address-%d,Bad %d,syntax\n" % (i % 7, i))
        elif k < 0.07:
            f.write('q%d@strict.test,Quote "here,stray\n' % i)
        else:
            u = rnd.choice(users)
            f.write("%s@%s,Name %d,%s\n" % (u.upper() if rnd.random() < 0.1 else u, rnd.choice(domains), i, "n"))
PY

# Each row's line, address and duplicate mark as the job store means them: the row's own
# columns, or a bulk import's row_links entry for a row it set aside (migration 012).
ROWS_VIEW="WITH v AS (SELECT r.line, coalesce(r.address_id, l.address_id) AS a,
 coalesce(r.dup_of, l.dup_of) AS d FROM rows r LEFT JOIN row_links l ON l.row_id = r.id)"

# ---- 1. the shard function, on the syntax alone ----
for k in 0 1 2 3; do
	"$MAILSIFT" import list.csv --db syn$k.db --shard $k/4 --quiet 2> syn$k.err
done
check_eq "1. every row in exactly one shard (the stores' rows add up to the list's)" \
	"$(for k in 0 1 2 3; do sqlite3 syn$k.db 'SELECT count(*) FROM rows'; done | awk '{s+=$1} END {print s}')" 600
check_eq "1. every shard read the whole list (lists.rows)" \
	"$(for k in 0 1 2 3; do sqlite3 syn$k.db 'SELECT rows FROM lists'; done | sort -u)" 600
check_eq "1. rows without an address are all in shard 0" \
	"$(for k in 1 2 3; do sqlite3 syn$k.db "$ROWS_VIEW SELECT count(*) FROM v WHERE a IS NULL"; done | sort -u)" 0
check_eq "1. no address is in two shards" \
	"$(for k in 0 1 2 3; do sqlite3 syn$k.db 'SELECT key FROM addresses'; done | sort | uniq -d | wc -l)" 0
check_eq "1. a duplicate's first occurrence is in its own shard" \
	"$(for k in 0 1 2 3; do sqlite3 syn$k.db "$ROWS_VIEW SELECT count(*) FROM v r WHERE d IS NOT NULL AND NOT EXISTS (SELECT 1 FROM v f WHERE f.line = r.d AND f.a = r.a)"; done | sort -u)" 0
check "1. each shard reports only its own rows' problems (the stray quote once in all)" \
	test "$(cat syn0.err syn1.err syn2.err syn3.err | grep -c 'stray quote')" = \
	"$(grep -c '^q[0-9]*@' list.csv)"
# the function the README writes out: hash_mix64(fnv1a64(key)) mod N, recomputed here
check_eq "1. the shard of each address is the README's function of its dedupe key" \
	"$(for k in 0 1 2 3; do sqlite3 syn$k.db "SELECT $k, key FROM addresses"; done | python3 -c '
import sys
bad = 0
for line in sys.stdin:
    k, key = line.rstrip("\n").split("|", 1)
    h = 1469598103934665603
    for b in key.encode():
        h = ((h ^ b) * 1099511628211) & (2**64 - 1)
    h ^= h >> 33
    h = (h * 0xff51afd7ed558ccd) & (2**64 - 1)
    h ^= h >> 33
    bad += h % 4 != int(k)
print(bad)')" 0

# ---- 2. four shards against the world, then the merge ----
timeout 300 "$MAILSIFT" clean list.csv -o whole $PROBE --quiet 2> whole.err
check_eq "2. clean of the whole list: exit 0" "$?" 0
mark=$(wc -l < "$WORK/world/smtpd.log")
for k in 0 1 2 3; do
	timeout 300 "$MAILSIFT" clean list.csv -o s$k $PROBE --shard $k/4 --source 127.0.0.$((k + 2)) \
		2> s$k.err
	check_eq "2. clean --shard $k/4: exit 0" "$?" 0
done
check_contains "2. the shard is said on stderr" s2.err "shard 2/4 (from --shard)"
check_eq "2. each shard spoke from its own --source (the world's log: clients 127.0.0.2-5)" \
	"$(tail -n +"$((mark + 1))" "$WORK/world/smtpd.log" | awk '$1 != "-" {sub(/:[0-9]+$/, "", $3); print $3}' |
		sort -u | tr '\n' ' ')" "127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5 "
"$MAILSIFT" merge s0/mailsift.db s3/mailsift.db s1/mailsift.db s2/mailsift.db -o merged \
	2> merge.err
check_eq "2. merge (stores in any order): exit 0" "$?" 0
check_contains "2. merge says what it joined" merge.err "4 shards of 1 list"
check "2. the merged files equal clean's row for row (check.py compare)" \
	python3 "$TOP/tests/run/check.py" compare whole merged
SAME_BUT_TIME='import csv, sys
a, b = sys.argv[1], sys.argv[2]
def rows(p):
    r = list(csv.reader(open(p, newline="", encoding="utf-8", errors="surrogateescape")))
    if not r:
        return r
    drop = [i for i, n in enumerate(r[0]) if n == "mailsift_checked_at"]
    return [[c for i, c in enumerate(x) if i not in drop] for x in r]
print("same" if rows(a) == rows(b) else "differ")'
for f in valid invalid risky catch_all unknown duplicates changes; do
	check_eq "2. merged $f.csv equals clean's (every column but mailsift_checked_at)" \
		"$(python3 -c "$SAME_BUT_TIME" whole/$f.csv merged/$f.csv)" same
done
check_eq "2. report.json: the totals and the list's problems equal clean's" \
	"$(python3 -c 'import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
print(a["total"] == b["total"], a["lists"][0]["problems"] == b["lists"][0]["problems"],
      a["lists"][0]["counts"] == b["lists"][0]["counts"], a["total"]["rows"])' whole/report.json merged/report.json)" \
	"True True True 600"
check_eq "2. report.json: \"shards\" names each store, in shard order, with its rows" \
	"$(python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
print([(s["shard"], s["of"], s["store"]) for s in r["shards"]] ==
      [(k, 4, "s%d/mailsift.db" % k) for k in range(4)],
      sum(s["rows"] for s in r["shards"]), all(s["run"] for s in r["shards"]))' merged/report.json)" \
	"True 600 True"

"$MAILSIFT" status --db s2/mailsift.db > status.out 2>&1
check_contains "2. status says which shard a store holds" status.out "shard 2/4 (its rows only"
# merge keeps every store open to the end: it raises its soft open-files limit to the hard
# one, and refuses up front, saying what to do, when even that is too low
sh -c 'ulimit -S -n 20 && exec "$0" merge s0/mailsift.db s1/mailsift.db s2/mailsift.db s3/mailsift.db -o raised' \
	"$MAILSIFT" > /dev/null 2> raised.err
check_eq "2. merge under a soft limit of 20 open files raises it: exit 0" "$?" 0
check_eq "2. ... and writes the same valid.csv" "$(python3 -c "$SAME_BUT_TIME" whole/valid.csv raised/valid.csv)" same
sh -c 'ulimit -n 20 && exec "$0" merge s0/mailsift.db s1/mailsift.db s2/mailsift.db s3/mailsift.db -o lim' \
	"$MAILSIFT" > /dev/null 2> lim.err
check_eq "2. merge under a hard limit of 20 open files: exit 1" "$?" 1
check_contains "2. ... saying how many it needs and what to do" lim.err \
	"4 stores need about 44 open files, the limit is 20: raise it (ulimit -n 44)"
check "2. ... having written nothing" test ! -e lim

# ---- 3. K and N from the environment ----
shard_of() { # ENV... -- ARGS: the shard line import prints (stderr), or its error
	env "$@" "$MAILSIFT" import list.csv --db env.db 2>&1 | grep -m1 -E 'shard|JOB_|SLURM'
	rm -f env.db env.db-wal env.db-shm env.db.lock
}
check_eq "3. JOB_COMPLETION_INDEX with MAILSIFT_SHARDS" \
	"$(shard_of JOB_COMPLETION_INDEX=2 MAILSIFT_SHARDS=5)" \
	"mailsift import: shard 2/5 (from JOB_COMPLETION_INDEX=2, MAILSIFT_SHARDS=5)"
env JOB_COMPLETION_INDEX=1 MAILSIFT_SHARDS=5 "$MAILSIFT" import list.csv --db env.db --shards 3 \
	2> env.err > /dev/null
check_contains "3. --shards N gives N with JOB_COMPLETION_INDEX (over MAILSIFT_SHARDS)" env.err \
	"shard 1/3 (from JOB_COMPLETION_INDEX=1, --shards=3)"
rm -f env.db*
check_eq "3. a Slurm array (SLURM_ARRAY_TASK_ID less _MIN, of _COUNT)" \
	"$(shard_of SLURM_ARRAY_TASK_ID=7 SLURM_ARRAY_TASK_MIN=5 SLURM_ARRAY_TASK_COUNT=4)" \
	"mailsift import: shard 2/4 (from SLURM_ARRAY_TASK_ID=7, SLURM_ARRAY_TASK_MIN=5, SLURM_ARRAY_TASK_COUNT=4)"
env SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=4 JOB_COMPLETION_INDEX=3 MAILSIFT_SHARDS=4 \
	"$MAILSIFT" import list.csv --db env.db --shard 0/2 2> env.err > /dev/null
check_contains "3. --shard wins over the environment" env.err "shard 0/2 (from --shard)"
rm -f env.db*
env JOB_COMPLETION_INDEX=3 "$MAILSIFT" import list.csv --db env.db > /dev/null 2> env.err
check_eq "3. JOB_COMPLETION_INDEX without N: exit 2" "$?" 2
check_contains "3. ... saying what to set" env.err "set MAILSIFT_SHARDS or --shards N"
env JOB_COMPLETION_INDEX=4 MAILSIFT_SHARDS=4 "$MAILSIFT" import list.csv --db env.db \
	> /dev/null 2> env.err
check_eq "3. JOB_COMPLETION_INDEX not below N: exit 2" "$?" 2
check_contains "3. ... naming the variable" env.err 'JOB_COMPLETION_INDEX="4" is not a shard of 4'
env SLURM_ARRAY_TASK_ID=9 SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_COUNT=4 "$MAILSIFT" import \
	list.csv --db env.db > /dev/null 2> env.err
check_eq "3. a Slurm index past the count (an array with gaps): exit 2" "$?" 2
check_contains "3. ... asking for contiguous indexes" env.err "must be contiguous"
for bad in 4/4 1/0 x/3 2 -1/3 1/10001; do
	"$MAILSIFT" import list.csv --db env.db --shard "$bad" > /dev/null 2> env.err
	check_eq "3. --shard $bad: exit 2" "$?" 2
done
check "3. no store was made by a refused command" test ! -e env.db
"$MAILSIFT" import list.csv --db none.db --quiet 2> /dev/null
check_eq "3. without --shard or a batch system: the whole list" \
	"$(sqlite3 none.db 'SELECT count(*), coalesce(max(shard_n), 0) FROM rows, lists')" "600|0"

# ---- 4. refusals ----
"$MAILSIFT" import list.csv --db s1/mailsift.db --shard 2/4 > /dev/null 2> r.err
check_eq "4. another shard into a shard's store: exit 1" "$?" 1
check_contains "4. ... saying which shard the store holds" r.err \
	"this job store holds shard 1/4 of this list"
"$MAILSIFT" import list.csv --db s1/mailsift.db > /dev/null 2> r.err
check_contains "4. the whole list into a shard's store: refused" r.err \
	"holds shard 1/4 of this list (list 1), and this import asks for the whole list"
"$MAILSIFT" run --db s1/mailsift.db --shard 3/4 $PROBE > /dev/null 2> r.err
check_eq "4. run --shard 3/4 on shard 1's store: exit 1" "$?" 1
check_contains "4. ... saying what the store holds" r.err "holds shard 1/4 of"
env SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=4 "$MAILSIFT" run --db s1/mailsift.db $PROBE \
	> /dev/null 2> r.err
check_eq "4. run as Slurm's task 1 of 4 on shard 1's store: exit 0" "$?" 0

merge_refused() { # LABEL WANT STORE... - merge exits 1 saying WANT, and writes nothing
	label=$1 want=$2
	shift 2
	rm -rf refused
	"$MAILSIFT" merge "$@" -o refused > /dev/null 2> r.err
	check_eq "4. merge refuses $label: exit 1" "$?" 1
	check_contains "4. merge refuses $label: the message" r.err "$want"
	check "4. merge refuses $label: no file written" test ! -e refused/report.json
}
merge_refused "a store of the whole list" "holds the whole of list.csv, not a shard" \
	whole/mailsift.db s1/mailsift.db
merge_refused "a missing shard" "shard 2/4 is missing" s0/mailsift.db s1/mailsift.db s3/mailsift.db
merge_refused "a shard given twice" "are both shard 1/4" s0/mailsift.db s1/mailsift.db \
	s1/mailsift.db s2/mailsift.db
head -n 300 list.csv > half.csv
"$MAILSIFT" import half.csv --db half1.db --shard 1/4 --quiet 2> /dev/null
merge_refused "shards of another list" "hold shards of different lists" s0/mailsift.db \
	half1.db s2/mailsift.db s3/mailsift.db
"$MAILSIFT" import list.csv --db two1.db --shard 1/2 --quiet 2> /dev/null
merge_refused "shards of another N" "the shards of one list have one N" s0/mailsift.db two1.db
merge_refused "an unfinished shard (imported, never run)" \
	"shard 1/4 (syn1.db) is not finished: " s0/mailsift.db syn1.db s2/mailsift.db s3/mailsift.db
"$MAILSIFT" merge s0/mailsift.db syn1.db s2/mailsift.db s3/mailsift.db -o partial --partial \
	> /dev/null 2> r.err
check_eq "4. the unfinished shard with --partial: exit 0" "$?" 0
check_contains "4. ... noting the unfinished shard" r.err "merged as it is (--partial)"
check_eq "4. ... every row once, shard 1's without a verdict unknown/not_verified" \
	"$(python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(r["total"]["rows"], r["total"]["verdicts"]["unknown"]["reasons"].get("not_verified", 0) > 0)' partial/report.json)" \
	"600 True"

# ---- 5. a shard killed mid-run, started again ----
mkdir -p k1
timeout 300 "$MAILSIFT" import list.csv --db k1/mailsift.db --shard 1/4 --quiet 2> /dev/null
"$MAILSIFT" run --db k1/mailsift.db --shard 1/4 $PROBE --concurrency 1 --per-host 1 --quiet \
	> /dev/null 2>&1 &
RPID=$!
for i in $(seq 300); do # SIGKILL once a verdict is committed (the run commits every second)
	[ "$(sqlite3 k1/mailsift.db 'SELECT count(*) FROM addresses WHERE state = 2 AND status IS NOT NULL AND reason IS NOT "syntax"' 2>/dev/null)" -gt 0 ] 2>/dev/null && break
	sleep 0.1
done
kill -9 $RPID 2>/dev/null
wait $RPID 2>/dev/null
check_eq "5. the shard's run was killed before its end (addresses left)" \
	"$(test "$(sqlite3 k1/mailsift.db 'SELECT count(*) FROM addresses WHERE state != 2')" -gt 0 && echo yes)" yes
timeout 300 "$MAILSIFT" clean list.csv -o k1 --shard 1/4 $PROBE --quiet 2> k1.err
check_eq "5. clean --shard 1/4 on its store again: exit 0 (resumed)" "$?" 0
"$MAILSIFT" merge s0/mailsift.db k1/mailsift.db s2/mailsift.db s3/mailsift.db -o merged2 \
	--quiet 2> /dev/null
check_eq "5. the merge with the resumed shard: exit 0" "$?" 0
for f in valid invalid risky catch_all unknown duplicates; do
	check_eq "5. merged $f.csv equals clean's" \
		"$(python3 -c "$SAME_BUT_TIME" whole/$f.csv merged2/$f.csv)" same
done
