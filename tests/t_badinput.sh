#!/bin/sh
# t_badinput - damaged and hostile input that is made at test time (too big or too odd to keep
# in the repo): a 10 MB line, truncated and corrupt gzip, stdin, missing files, no email column.
# Each case checks the message names the file and place, and that nothing else is lost.
. "$(dirname "$0")/lib.sh"
cd "$WORK" || exit 1

# peak_rss_kib CMD... - run CMD, print its peak resident memory in KiB on fd 3
peak_rss_kib() {
	python3 -c 'import resource,subprocess,sys
rc = subprocess.call(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=open("rss", "w"))
sys.exit(rc)' "$@"
}

# --- a 10 MB line between good rows: reported, exported as row_too_long, memory bounded
{
	echo "email,name"
	echo "before@example.com,Before"
	printf 'huge@example.com,'; head -c 10485760 /dev/zero | tr '\0' 'x'; echo
	echo "after@example.com,After"
} > long.csv
peak_rss_kib "$MAILSIFT" clean long.csv -o long-out --quiet --syntax-only 2> long.err
check_eq "10MB line: exit status" "$?" 0
check_contains "10MB line: message names file and line" long.err "long.csv:3: row longer than"
check_contains "10MB line: row exported as invalid/row_too_long" long-out/invalid.csv "invalid,row_too_long"
check_contains "10MB line: row before kept" long-out/unknown.csv "before@example.com"
check_contains "10MB line: row after kept" long-out/unknown.csv "after@example.com"
check_contains "10MB line: exported row says its line" long-out/invalid.csv "invalid,row_too_long,line 3: row longer than 1 MiB,"
case "$MAILSIFT_BUILD" in
*asan*) ;; # sanitizer shadow memory makes RSS meaningless there
*) rss=$(cat rss); check "10MB line: peak RSS under 64 MiB (was ${rss} KiB)" test "$rss" -lt 65536 ;;
esac

# --- truncated gzip: rows before the damage kept, error names the byte offset, exit 1
seq 1 20000 | awk 'BEGIN{print "email,n"} {printf "user%d@example.com,%d\n", $1, $1}' > full.csv
gzip -9n -c full.csv > full.csv.gz
size=$(wc -c < full.csv.gz)
head -c $((size / 2)) full.csv.gz > cut.csv.gz
"$MAILSIFT" clean cut.csv.gz -o cut-out --quiet --syntax-only 2> cut.err
check_eq "truncated gzip: exit status 1" "$?" 1
check_contains "truncated gzip: message names the file" cut.err "cut.csv.gz"
check_contains "truncated gzip: message says truncated" cut.err "truncated"
check_contains "truncated gzip: message gives the byte offset" cut.err "byte"
kept=$(data_rows cut-out/unknown.csv)
check "truncated gzip: rows before the damage exported ($kept)" test "$kept" -gt 1000 -a "$kept" -lt 20000
check_contains "truncated gzip: report keeps the input error" cut-out/report.json '"input_error": "cut.csv.gz'
first=$(sed -n 2p cut-out/unknown.csv | cut -d, -f1)
check_eq "truncated gzip: first row is the file's first row" "$first" "user1@example.com"
check_contains "truncated gzip: report says the list is incomplete" cut-out/report.json '"complete": false'
# Every rerun says why and fails; nothing is imported twice; the export warns.
for n in 1 2; do
	"$MAILSIFT" clean cut.csv.gz -o cut-out --quiet --syntax-only 2> cut-again.err
	check_eq "truncated gzip, rerun $n: exit status 1" "$?" 1
	check_contains "truncated gzip, rerun $n: says it is incomplete and why" cut-again.err "incomplete: cut.csv.gz: gzip data truncated"
	check_contains "truncated gzip, rerun $n: export warns" cut-again.err "warning: cut.csv.gz is incomplete"
done
check_eq "truncated gzip: one list, rows stored once" \
	"$(sqlite3 cut-out/mailsift.db 'SELECT count(*), sum(rows) FROM lists')" "1|$kept"
check_contains "truncated gzip: report after the reruns still incomplete" cut-out/report.json '"complete": false'
"$MAILSIFT" export --db cut-out/mailsift.db -o cut-exp 2> cut-exp.err
check_contains "truncated gzip: export warns on stderr" cut-exp.err "warning: cut.csv.gz is incomplete (its input ended early"

# --- a list replaced by another of the same size and mtime: not "already imported"
printf 'email\nsame1@example.com\n' > same.csv
touch -d '2024-01-02 03:04:05' same.csv
"$MAILSIFT" import same.csv --db same.db --quiet
printf 'email\nsame2@example.com\n' > same.csv
touch -d '2024-01-02 03:04:05' same.csv
"$MAILSIFT" import same.csv --db same.db 2> same.err
check_eq "replaced file, same size and mtime: exit status" "$?" 0
check_contains "replaced file, same size and mtime: imported, not skipped" same.err "same.csv: imported, 1 rows"
"$MAILSIFT" import same.csv --db same.db 2> same2.err
check_contains "replaced file: a rerun of the same content is skipped" same2.err "same.csv: already imported"
check_eq "replaced file: two lists, each address once" \
	"$(sqlite3 same.db 'SELECT count(*) FROM lists; SELECT group_concat(key) FROM (SELECT key FROM addresses ORDER BY key)')" \
	"2
same1@example.com,same2@example.com"

# --- the address column past the 4,096 fields a row is read into: refused with the reason
awk 'BEGIN { for (r = 0; r <= 3; r++) { line = ""
	for (c = 1; c <= 5000; c++) {
		if (c == 4500) v = (r == 0 ? "email" : "wide" r "@example.com"); else v = (r == 0 ? "c" c : "v" c)
		line = line (c > 1 ? "," : "") v }
	print line } }' > wide.csv
for how in "" "--column 4500" "--column email"; do
	# shellcheck disable=SC2086
	"$MAILSIFT" import wide.csv --db "wide$(echo "$how" | tr -dc a-z0-9).db" $how 2> wide.err
	check_eq "address column past field 4096 ($how): exit status 1" "$?" 1
	check_contains "address column past field 4096 ($how): says where and why" wide.err \
		"wide.csv:1: the address column is field 4500, past the 4096 fields"
done

# --- corrupt gzip: bytes overwritten in the middle
cp full.csv.gz bad.csv.gz
printf 'GARBAGEGARBAGEGARBAGE' | dd of=bad.csv.gz bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
"$MAILSIFT" clean bad.csv.gz -o bad-out --quiet --syntax-only 2> bad.err
check_eq "corrupt gzip: exit status 1" "$?" 1
check_contains "corrupt gzip: message names file" bad.err "bad.csv.gz"
check_contains "corrupt gzip: message gives the byte offset" bad.err "byte"

# --- stdin, gzip'd, with a header
gzip -c full.csv | "$MAILSIFT" clean - -o stdin-out --quiet --syntax-only 2> stdin.err
check_eq "stdin gzip: exit status" "$?" 0
check_eq "stdin gzip: all rows" "$(data_rows stdin-out/unknown.csv)" 20000

# --- a file that does not exist
"$MAILSIFT" import nosuch.csv --db x.db 2> nosuch.err
check_eq "missing file: exit status 1" "$?" 1
check_contains "missing file: named" nosuch.err "nosuch.csv"

# --- several columns, none holding addresses
printf 'a,b\n1,2\n3,4\n' > nocol.csv
"$MAILSIFT" import nocol.csv --db nocol.db 2> nocol.err
check_eq "no email column: exit status 1" "$?" 1
check_contains "no email column: suggests --column" nocol.err "--column"
"$MAILSIFT" import nocol.csv --db nocol.db --column 2 --quiet 2> nocol2.err
check_eq "no email column: --column 2 then imports" "$?" 0
"$MAILSIFT" import nocol.csv --db nocol3.db --column mail 2> nocol3.err
check_contains "--column NAME that is not there is named" nocol3.err '"mail"'

# --- many problems of one kind: the first 10 printed, then a count; all of them in the report
{ echo "email,n"; for i in $(seq 1 25); do echo ",$i"; done; echo "ok@example.com,26"; } > many.csv
"$MAILSIFT" clean many.csv -o many-out --quiet --syntax-only 2> many.err
check_eq "many problems: 10 lines printed" "$(grep -c 'no address in the row' many.err)" 10
check_contains "many problems: then a count" many.err "many.csv: 25 rows in all with no_address (first at line 2"
check_contains "many problems: all in report.json" many-out/report.json '"no_address": {"count": 25, "first_line": 2}'
check_eq "many problems: all exported as invalid" "$(data_rows many-out/invalid.csv)" 25

# --- a UTF-16 file (spreadsheet "Unicode text" export): refused with a way out, nothing stored
printf 'email\nu16@example.com\n' | iconv -f UTF-8 -t UTF-16 > utf16.csv
"$MAILSIFT" import utf16.csv --db utf16.db 2> utf16.err
check_eq "UTF-16 file: exit status 1" "$?" 1
check_contains "UTF-16 file: says what it is and how to convert" utf16.err "is UTF-16"
check_eq "UTF-16 file: no list left behind" "$(sqlite3 utf16.db 'SELECT count(*) FROM lists')" 0
