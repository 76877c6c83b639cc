#!/bin/sh
# t_export - exports and job stores as an attacker, a full disk and an archive would meet them:
# symlinks planted at the temporary and final names of an export (issue 9 item 3), ENOSPC in the
# middle of an export on a small tmpfs and a SIGKILL in the middle of one, then a rerun (item 4),
# read-only stores (a read-only file, a read-only folder, a read-only mount), an unrelated SQLite
# file and a store of a newer mailsift given as --db (item 5). Parts that need root (tmpfs and
# bind mounts in a private mount namespace, running as `nobody`) fail when root is missing.
. "$(dirname "$0")/lib.sh"
cd "$WORK" || exit 1
chmod 755 "$WORK"
ROOT=0
[ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null && ROOT=1
AS_NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"

# our_temporaries DIR - the names of mailsift's temporary files in DIR and its subfolders
our_temporaries() {
	find "$1" -name '.*.mailsift-tmp-*' | sort
}

printf 'email,name\nx@example.com,X\ny@example.com,Y\nx@example.com,X again\n' > l.csv
"$MAILSIFT" import l.csv --db j.db --quiet

# ---- 3. Planted symlinks are never followed ----
# A shell plants links at the predictable temporary names of its own PID (what mailsift used to
# write: .NAME.csv.tmp-PID), then execs mailsift, which keeps that PID; links at every final
# name too. Every link points at a victim file.
printf 'precious\n' > victim
cp victim victim.orig
mkdir out3
sh -c 'for n in valid invalid risky catch_all unknown duplicates; do
	ln -s ../victim out3/.$n.csv.tmp-$$; ln -s ../victim out3/$n.csv; done
	ln -s ../victim out3/.report.json.tmp-$$; ln -s ../victim out3/report.json
	exec "$0" export --db j.db -o out3 --quiet' "$MAILSIFT" 2> e3.out
check_eq "export among planted symlinks exits 0" "$?" 0
check "the victim of planted symlinks is untouched" cmp -s victim victim.orig
check "a link at a final name is replaced by the file, not followed" \
	test -f out3/unknown.csv -a ! -L out3/unknown.csv -a ! -L out3/report.json -a ! -L out3/valid.csv
check_eq "the export behind the links is whole" "$(data_rows out3/unknown.csv)" 2
check_eq "no temporary of ours is left" "$(our_temporaries out3)" ""
ls -la out3 > out3.list
check_contains "links at other names are left alone" out3.list ".unknown.csv.tmp-"
# A link planted at a list's subfolder name (lists with different headers) is refused.
printf 'mail;city\nw@example.com;Paris\n' > l3.csv
"$MAILSIFT" import l.csv l3.csv --db two.db --quiet
mkdir out3b victimdir
ln -s ../victimdir out3b/1-l.csv
"$MAILSIFT" export --db two.db -o out3b --quiet 2> e3b.out
check_eq "a link at a subfolder name: export fails" "$?" 1
check_contains "and says why" e3b.out "1-l.csv"
check_eq "nothing is written through the link" "$(ls -A victimdir)" ""

# ---- 4. The set is replaced whole or not at all ----
# report.json names its export and its files with their sizes.
python3 - out3/report.json j.db > r.check <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1]))
e = r["export"]
ok = [len(e["id"]) > 10, e["store"] == os.path.realpath(sys.argv[2]), e["list_ids"] == [1]]
for f in r["files"]:
    ok.append(os.path.getsize(os.path.join(os.path.dirname(sys.argv[1]), f["path"])) == f["bytes"])
print("ok" if all(ok) and len(r["files"]) == 7 else "bad %s %s" % (ok, e))
PY
check_eq "report.json names the export, the store, the lists and every file's size" "$(cat r.check)" ok

# A big list (the same header as l3.csv) and a kill in mid-export.
awk 'BEGIN { print "mail;city"; for (i = 0; i < 200000; i++) printf "u%d@example%d.com;City %d\n", i, i % 97, i }' > big.csv
printf 'email,name\nz@example.com,Z\n' > l2.csv
if [ $ROOT = 1 ]; then
	cp two.db full.db
	# Inside a private mount namespace: OUTDIR on a 256 KiB tmpfs. The first export fits; then
	# two lists join the store (one in each header group) and the second export fills the disk
	# in its second folder, after the first folder's files were written.
	unshare -m sh -c '
		mkdir full && mount -t tmpfs -o size=256k tmpfs full || exit 9
		"$0" export --db full.db -o full --quiet || exit 8
		(cd full && find . -type f | sort | xargs sha256sum) > before.sum
		"$0" import l2.csv big.csv --db full.db --quiet || exit 7
		"$0" export --db full.db -o full --quiet 2> enospc.err; echo $? > enospc.rc
		(cd full && find . -type f | sort | xargs sha256sum) > after.sum
		find full -name ".*.mailsift-tmp-*" > enospc.tmp
		find full -type d | sort > enospc.dirs
		umount full' "$MAILSIFT"
	check_eq "tmpfs set-up" "$?" 0
	check_eq "an export that fills the disk exits 1" "$(cat enospc.rc)" 1
	check_contains "and says the disk is full" enospc.err "No space left on device"
	check_contains "and that the old files are kept" enospc.err "unchanged"
	check "every old file is unchanged (no mixed set)" cmp -s before.sum after.sum
	check_eq "the old set is all there" "$(wc -l < before.sum)" 15
	check_eq "no temporary is left after ENOSPC" "$(cat enospc.tmp)" ""
	check_eq "no new folder is left" "$(cat enospc.dirs)" "full
full/1-l.csv
full/2-l3.csv"
else
	fail "ENOSPC export" "needs root (a tmpfs in a private mount namespace)"
fi

# SIGKILL while the files are being written, then a rerun.
"$MAILSIFT" import big.csv --db big.db --quiet
mkdir killed
printf 'keep\n' > killed/notes.mailsift-tmp-ABCDEFGH        # not ours: no leading dot, no file name of ours
printf 'keep\n' > killed/.valid.csv.tmp-1                    # another program's temporary
ln -s ../victim killed/.valid.csv.mailsift-tmp-AAAAAAAAAAAA      # our pattern, a link: removed, not followed
"$MAILSIFT" export --db big.db -o killed --gzip --quiet &
pid=$!
n=0
while [ $n -lt 2000 ] && ! ls -A killed | grep -v -e AAAAAAAAAAAA -e '^\.valid\.csv\.tmp-1$' | grep -q 'tmp'; do
	n=$((n + 1)); sleep 0.005
done
kill -9 $pid; wait $pid 2> /dev/null
check "the export was killed while writing" test -n "$(ls -A killed | grep -v -e AAAAAAAAAAAA -e '^\.valid\.csv\.tmp-1$' | grep tmp)"
check "a killed export leaves no report.json" test ! -e killed/report.json
"$MAILSIFT" export --db big.db -o killed --gzip --quiet
check_eq "the rerun exits 0" "$?" 0
check_eq "the rerun removed the killed export's temporaries" "$(ls -A killed | grep tmp | sort | tr '\n' ' ')" ".valid.csv.tmp-1 notes.mailsift-tmp-ABCDEFGH "
check "a link of our pattern was removed without following it" cmp -s victim victim.orig
check_eq "the rerun's export is whole" "$(gzip -dc killed/unknown.csv.gz | wc -l)" 200001

# ---- 5. Read-only stores; refusing files that are not ours ----
mkdir rofile rodir
cp j.db rofile/j.db; chmod 444 rofile/j.db; chmod 777 rofile
cp j.db rodir/j.db; chmod 555 rodir
mkdir roout; chmod 777 roout
for where in rofile rodir; do
	$AS_NOBODY "$MAILSIFT" status --db $where/j.db > ro.out 2> ro.err
	check_eq "status of a store in $where (as nobody) exits 0" "$?" 0
	check_contains "status of a store in $where shows its lists" ro.out "l.csv"
	$AS_NOBODY "$MAILSIFT" export --db $where/j.db -o roout/$where --quiet 2> ro.err
	check_eq "export of a store in $where (as nobody) exits 0: $(head -c 200 ro.err)" "$?" 0
	check_eq "export of a store in $where has the rows" "$(data_rows roout/$where/unknown.csv 2> /dev/null)" 2
done
check "a read-only folder is left as it was" test "$(ls -A rodir)" = j.db
if [ $ROOT = 1 ]; then
	mkdir romnt
	cp j.db romnt/j.db
	unshare -m sh -c 'mount --bind romnt romnt && mount -o remount,bind,ro romnt || exit 9
		"$0" status --db romnt/j.db > romnt.out 2>&1 && "$0" export --db romnt/j.db -o romntout --quiet' "$MAILSIFT"
	check_eq "status and export of a store on a read-only mount (root) exit 0"  "$?" 0
	check_eq "and export its rows" "$(data_rows romntout/unknown.csv 2> /dev/null)" 2
fi
# A read-only folder holding a write-ahead log but no -shm: SQLite cannot read the log
# without writing; the message says what to do.
mkdir rowal
python3 - rowal/j.db <<'PY'
import os, shutil, sqlite3, sys
shutil.copy("j.db", sys.argv[1])
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE lists SET name = name")
c.commit()
os._exit(0)   # leaves the -wal file (committed, not checkpointed), as a crash would
PY
rm -f rowal/j.db-shm
chmod 555 rowal
$AS_NOBODY "$MAILSIFT" status --db rowal/j.db > /dev/null 2> rowal.err
check_eq "a read-only folder with a write-ahead log: status exits 1" "$?" 1
check_contains "and says what to do" rowal.err "j.db-wal"
check_contains "and how" rowal.err "writable"

# An unrelated SQLite file is refused by every command, byte for byte unchanged.
sqlite3 other.db "CREATE TABLE notes(t TEXT); INSERT INTO notes VALUES ('keep me');"
cp other.db other.orig
for cmd in "import l.csv --db other.db" "status --db other.db" "export --db other.db -o oo" \
	"run --db other.db --helo probe.mailsift.test" "clean l.csv -o oc --db other.db --syntax-only"; do
	timeout 30 "$MAILSIFT" $cmd > other.out 2>&1
	check_eq "$cmd: exits 1" "$?" 1
	check_contains "$cmd: says it is not a job store" other.out "other.db is not a mailsift job store"
	check "$cmd: leaves the file unchanged" cmp -s other.db other.orig
	check "$cmd: leaves no -wal beside it" test ! -e other.db-wal
done
# A store of a newer mailsift: the same wording.
cp j.db newer.db
sqlite3 newer.db "PRAGMA user_version = 999"
cp newer.db newer.orig
for cmd in "import l2.csv --db newer.db" "status --db newer.db"; do
	"$MAILSIFT" $cmd > newer.out 2>&1
	check_eq "$cmd: exits 1" "$?" 1
	check_contains "$cmd: says a newer mailsift made it" newer.out "newer.db was made by a newer mailsift"
	check "$cmd: leaves the store unchanged" cmp -s newer.db newer.orig
done
# A store of an older mailsift (no application id) is accepted and stamped.
check "a new store carries mailsift's application id" test "$(sqlite3 j.db 'PRAGMA application_id')" != 0
cp j.db older.db
sqlite3 older.db "PRAGMA application_id = 0"
"$MAILSIFT" status --db older.db > /dev/null 2>&1
check_eq "status of a store without application id (older mailsift) exits 0" "$?" 0
"$MAILSIFT" import l2.csv --db older.db --quiet
check_eq "import into it exits 0" "$?" 0
check_eq "and stamps it" "$(sqlite3 older.db 'PRAGMA application_id')" "$(sqlite3 j.db 'PRAGMA application_id')"
