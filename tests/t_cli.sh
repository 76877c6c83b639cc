#!/bin/sh
# t_cli - the command-line contract: help, version, exit statuses, the one-writer lock,
# reruns, gzip export, report.json, several lists.
. "$(dirname "$0")/lib.sh"
cd "$WORK" || exit 1

for cmd in clean import export status; do
	"$MAILSIFT" $cmd --help > help.out 2>&1
	check_eq "$cmd --help exits 0" "$?" 0
	check_contains "$cmd --help shows usage" help.out "Usage: mailsift $cmd"
done
"$MAILSIFT" --help > help.out; check_eq "--help exits 0" "$?" 0
check_contains "--help documents exit status 3" help.out "3 interrupted"
"$MAILSIFT" --version > v.out; check_contains "--version" v.out "mailsift "
check_eq "--version names the libraries it runs with" \
	"$(sed -n 's/^\(libevent\|c-ares\|OpenSSL\|SQLite\|zlib\) [0-9][^ ]*.*/\1/p' v.out | tr '\n' ' ')" \
	"libevent c-ares OpenSSL SQLite zlib "
check_eq "--version: SQLite's is the one installed (the sqlite3 shell's library)" \
	"$(sed -n 's/^SQLite //p' v.out)" "$(sqlite3 --version | cut -d' ' -f1)"
"$MAILSIFT" frobnicate 2> e.out; check_eq "unknown command exits 2" "$?" 2
"$MAILSIFT" import x.csv 2> e.out; check_eq "import without --db exits 2" "$?" 2
check_contains "usage error says what is missing" e.out "--db"
"$MAILSIFT" export --db x.db 2> e.out; check_eq "export without -o exits 2" "$?" 2
"$MAILSIFT" status --db nosuch.db 2> e.out; check_eq "status of a missing store exits 1" "$?" 1
check_contains "missing store is named" e.out "nosuch.db"
"$MAILSIFT" run 2> e.out; check_eq "run without --db exits 2" "$?" 2
"$MAILSIFT" run --db nosuch.db --helo probe.mailsift.test 2> e.out; check_eq "run of a missing store exits 1" "$?" 1
check_contains "run says the store is missing" e.out "no such job store"
printf 'email\n' > header-only.csv
"$MAILSIFT" import header-only.csv --db empty.db --quiet 2> /dev/null
"$MAILSIFT" run --db empty.db --helo probe.mailsift.test 2> e.out; check_eq "run of a store with nothing pending exits 0" "$?" 0
check_contains "run says what it did" e.out "0 verdicts"

# One writer per job store: an import waiting on a FIFO holds the lock.
printf 'email\na@example.com\n' > one.csv
mkfifo slow.fifo
"$MAILSIFT" import slow.fifo --db lock.db --quiet 2> lock1.err &
pid=$!
exec 7> slow.fifo                     # the reader is now inside the import, holding the lock
sleep 0.2
"$MAILSIFT" import one.csv --db lock.db 2> lock2.err
check_eq "second writer exits 1" "$?" 1
check_contains "second writer is told why" lock2.err "another mailsift process"
printf 'email\nfifo@example.com\n' >&7
exec 7>&-
wait $pid
check_eq "first writer finishes" "$?" 0
"$MAILSIFT" import one.csv --db lock.db --quiet
check_eq "after it, the store is free" "$?" 0

# Rerun of the same clean: nothing imported twice, same files.
printf 'email,name\nx@example.com,X\ny@example.com,Y\nx@example.com,X2\n' > l.csv
"$MAILSIFT" clean l.csv -o run1 --quiet --syntax-only; check_eq "clean exits 0" "$?" 0
cp -r run1 run1.copy
"$MAILSIFT" clean l.csv -o run1 --syntax-only 2> rerun.err; check_eq "clean rerun exits 0" "$?" 0
check_contains "rerun says already imported" rerun.err "already imported"
check "rerun leaves the same unknown.csv" cmp -s run1/unknown.csv run1.copy/unknown.csv
check "rerun leaves the same duplicates.csv" cmp -s run1/duplicates.csv run1.copy/duplicates.csv
check_eq "rows counted once" "$(sqlite3 run1/mailsift.db 'SELECT count(*) FROM rows')" 3
check "no temporary files left" test -z "$(ls -A run1 | grep tmp)"

# report.json: numbers that add up.
python3 - run1/report.json > report.check <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
t = r["total"]
print("rows", t["rows"], "dups", t["duplicates"], "unknown", t["verdicts"]["unknown"]["count"],
      "reasons", t["verdicts"]["unknown"]["reasons"], "files", len(r["files"]))
PY
check_eq "report.json counts" "$(cat report.check)" "rows 3 dups 1 unknown 2 reasons {'not_verified': 2} files 7"

# --gzip: same content, compressed.
"$MAILSIFT" export --db run1/mailsift.db -o gz --gzip --quiet; check_eq "export --gzip" "$?" 0
check "gzip file is valid" gzip -t gz/unknown.csv.gz
gzip -dc gz/unknown.csv.gz > gz-unknown.csv
check "gzip content equals plain export" cmp -s gz-unknown.csv run1/unknown.csv

# Several lists: same header share one set of files; another header gets folders.
printf 'email,name\nz@example.com,Z\n' > l2.csv
printf 'mail;city\nw@example.com;Paris\n' > l3.csv
"$MAILSIFT" import l.csv l2.csv --db multi.db --quiet
"$MAILSIFT" export --db multi.db -o multi-same --quiet
check_eq "same header: one set of files" "$(data_rows multi-same/unknown.csv)" 3
"$MAILSIFT" import l3.csv --db multi.db --quiet
"$MAILSIFT" export --db multi.db -o multi-diff --quiet
check "different headers: a folder per layout" test -f multi-diff/1-l.csv/unknown.csv -a -f multi-diff/3-l3.csv/unknown.csv
check_contains "the second layout keeps its own header" multi-diff/3-l3.csv/unknown.csv "mail,city,mailsift_address"
"$MAILSIFT" export --db multi.db -o multi-one --list l3.csv --quiet
check_eq "--list picks one list" "$(data_rows multi-one/unknown.csv)" 1
"$MAILSIFT" export --db multi.db -o multi-none --list nosuch.csv 2> e.out
check_eq "--list of an unknown list exits 2" "$?" 2

# status shows what is in the store
"$MAILSIFT" status --db multi.db > status.out
check_contains "status lists the lists" status.out "l3.csv"
check_contains "status counts distinct pending addresses" status.out "4 distinct: 4 pending"

# -o makes its missing parents (a shard's /data/shards/3 on a new volume); a file in the way is
# an error naming it
"$MAILSIFT" clean l3.csv -o deep/er/out --syntax-only --quiet 2> e.out
check_eq "clean -o a/b/c: its parents made, exit 0" "$?" 0
check "clean -o a/b/c: the files are there" test -f deep/er/out/report.json
"$MAILSIFT" export --db multi.db -o deep2/x/y --quiet 2> e.out
check "export -o a/b/c: its parents made" test -f deep2/x/y/report.json
: > blocker
"$MAILSIFT" clean l3.csv -o blocker/out --syntax-only --quiet 2> e.out
check_eq "clean -o under a file: exit 1" "$?" 1
check_contains "clean -o under a file: the message names the folder" e.out "blocker/out: cannot create folder"
