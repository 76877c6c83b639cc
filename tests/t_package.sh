#!/bin/sh
# t_package - how mailsift ships (#17): the Debian package (make deb), the OCI image made from
# it (make image) and the mailsift-serve systemd unit:
#  1. the package: lintian finds no error (what else it says is printed); Depends names the
#     package of every library the binary links; it holds the binary, a man page per command,
#     the completion, the unit and /etc/default/mailsift as a conffile;
#  2. the image archive: an OCI layout under 60 MB whose config (as skopeo reads it) says
#     entrypoint mailsift, user 10001, working directory /var/lib/mailsift and the labels
#     (version, source, licenses); the Kubernetes manifests name this image;
#  3. the image run as a container runtime would, by hand: its root file system unpacked by
#     umoci, then in new mount, PID and network namespaces, chrooted, as uid 10001:
#     `mailsift --version`, and a clean of examples/customers.csv against the loopback mail
#     world that writes the same files as the host's build (every column but
#     mailsift_checked_at), owned by 10001, with the system files out of its reach;
#  4. dpkg in that root (made by mmdebstrap): -r leaves only the conffile, --purge nothing,
#     -i puts it back and --verify finds every file as packaged;
#  5. the unit: `systemd-analyze verify` says nothing of the packaged unit (and does catch a
#     misspelt key), `systemd-analyze security` rates it under 2.0 (printed).
# Needs root (namespaces, chroot, dpkg into a root). make test builds the package and image.
. "$(dirname "$0")/lib.sh"
cd "$WORK" || exit 1

for bin in lintian umoci skopeo systemd-analyze unshare chroot; do
	if ! command -v $bin > /dev/null 2>&1; then
		fail "$bin is installed" "not found: apt-get install lintian umoci skopeo systemd mmdebstrap (.ci/run does)"
		exit 0
	fi
done
[ "$(id -u)" = 0 ] || { fail "t_package runs as root" "namespaces, chroot and dpkg into a root need it"; exit 0; }
version=$("$MAILSIFT" --version | sed -n '1s/^mailsift //p')
deb=$MAILSIFT_BUILD/mailsift_${version}_$(dpkg --print-architecture).deb
image=$MAILSIFT_BUILD/mailsift-$version-oci.tar
for f in "$deb" "$image"; do
	[ -f "$f" ] || { fail "$(basename "$f") is built" "missing: make deb image (make test does)"; exit 0; }
done

# ---- 1. the package ----
lintian "$deb" > lintian.out 2>&1
check_eq "1. lintian: no error" "$(grep -c '^E:' lintian.out)" 0
grep -E '^[WIPX]:' lintian.out | sed 's/^/lintian says: /'
dpkg-deb -f "$deb" Depends > depends.out
# the libraries the binary itself names (NEEDED), where the loader finds them
for needed in $(objdump -p "$MAILSIFT" | awk '$1 == "NEEDED" { print $2 }'); do
	lib=$(ldd "$MAILSIFT" | awk -v n="$needed" '$1 == n { print $3 }')
	pkg=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null || dpkg -S "$lib" 2>/dev/null)
	pkg=${pkg%%:*}
	case $pkg in libasan* | libubsan* | libgcc-s* | libstdc++*) continue ;; esac # the sanitizers' own
	check "1. Depends names $pkg (for $(basename "$lib"))" grep -qE "(^|, )$pkg( |,|$)" depends.out
done
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' > contents.out
for f in /usr/bin/mailsift /usr/share/man/man1/mailsift.1.gz /usr/share/man/man1/mailsift-clean.1.gz \
	/usr/share/man/man1/mailsift-serve.1.gz /usr/share/man/man1/mailsift-doctor.1.gz \
	/usr/share/man/man1/mailsift-explain.1.gz \
	/usr/share/bash-completion/completions/mailsift /lib/systemd/system/mailsift-serve.service \
	/etc/default/mailsift /usr/share/doc/mailsift/copyright; do
	check "1. the package holds $f" grep -qx "$f" contents.out
done
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles > conffiles.out
check_eq "1. /etc/default/mailsift is a conffile" "$(cat conffiles.out)" /etc/default/mailsift

# ---- 2. the image archive ----
size=$(stat -c %s "$image")
check "2. the image archive is under 60 MB ($size bytes)" test "$size" -lt 60000000
echo "image: $image, $size bytes"
mkdir oci && tar -xf "$image" -C oci
check "2. the archive is an OCI layout" grep -q '"imageLayoutVersion"' oci/oci-layout
# the config as a registry client reads it (skopeo, from the archive itself)
skopeo inspect --config "oci-archive:$image" > config.json 2> config.err
check_eq "2. skopeo reads the archive: exit 0" "$?" 0
python3 -c 'import json, sys
c = json.load(open(sys.argv[1]))["config"]
print("entrypoint", c.get("Entrypoint"))
print("user", c.get("User"))
print("workdir", c.get("WorkingDir"))
for k in ("version", "source", "licenses"):
    print(k, c.get("Labels", {}).get("org.opencontainers.image." + k))' config.json > config.out 2>&1
check_contains "2. entrypoint mailsift" config.out "entrypoint ['/usr/bin/mailsift']"
check_contains "2. runs as uid and gid 10001" config.out "user 10001:10001"
check_contains "2. working directory /var/lib/mailsift" config.out "workdir /var/lib/mailsift"
check_contains "2. label version" config.out "version $version"
check_contains "2. label source" config.out "source https://"
check "2. label licenses" grep -qE '^licenses [A-Za-z]' config.out
for f in shards-job merge-job; do
	check "2. deploy/kubernetes/$f.yaml names this image (mailsift:$version)" \
		grep -q "image: mailsift:$version\( \|\$\)" "$TOP/deploy/kubernetes/$f.yaml"
done

# ---- 3. the image, run ----
umoci unpack --image "oci:$version" bundle > umoci.out 2>&1
check_eq "3. umoci unpacks the image: exit 0" "$?" 0
root=$WORK/bundle/rootfs
check_eq "3. /var/lib/mailsift belongs to 10001, mode 700" "$(stat -c '%u:%g %a' "$root/var/lib/mailsift")" \
	"10001:10001 700"
mkdir run
port=$((30000 + ($$ * 7 + 13000) % 20000))
timeout 300 unshare --mount --pid --net --fork --mount-proc sh "$TOP/tests/image_run.sh" "$root" "$WORK/run" \
	"$port" > run.out 2>&1
check_eq "3. in the namespaces: the run ends" "$?" 0
check_eq "3. the image's commands run as uid 10001" "$(cat run/image-id.out)" 10001
check_eq "3. mailsift --version in the image: exit 0" "$(cat run/image-version.rc)" 0
check_eq "3. --version there names the libraries it runs with" \
	"$(grep -cE '^(libevent|c-ares|OpenSSL|SQLite|zlib) [0-9]' run/image-version.out)" 5
check "3. uid 10001 cannot change the system's files (touch /usr/bin/mailsift fails)" \
	test "$(cat run/image-touch.rc)" != 0
check_eq "3. the host's clean: exit 0" "$(cat run/host.rc)" 0
check_eq "3. the image's clean: exit 0" "$(cat run/image.rc)" 0
check_eq "3. the image's store belongs to 10001" "$(cut -d' ' -f1 run/image-db.stat)" 10001:10001
SAME_BUT_TIME='import csv, sys
def rows(p):
    r = list(csv.reader(open(p, newline="", encoding="utf-8", errors="surrogateescape")))
    drop = [i for i, n in enumerate(r[0]) if n == "mailsift_checked_at"] if r else []
    return [[c for i, c in enumerate(x) if i not in drop] for x in r]
a, b = rows(sys.argv[1]), rows(sys.argv[2])
print("same" if a == b else "differ", len(a) - 1)'
for f in valid invalid risky catch_all unknown duplicates; do
	n=$(($(wc -l < "run/host/$f.csv") - 1))
	check_eq "3. the image's $f.csv equals the host's ($n rows; all but mailsift_checked_at)" \
		"$(python3 -c "$SAME_BUT_TIME" "run/host/$f.csv" "run/image/$f.csv" 2>&1)" "same $n"
done
check_eq "3. report.json: the same totals" "$(python3 -c 'import json, sys
a, b = (json.load(open(p))["total"] for p in sys.argv[1:])
print(a == b, a["rows"])' run/host/report.json run/image/report.json 2>&1)" "True 23"

# ---- 4. dpkg in the image's root ----
# in_root COMMAND... - COMMAND chrooted into the image's root with a /proc (in a mount
# namespace of its own: the sanitizers' runtime reads /proc/self)
in_root() {
	unshare --mount --fork sh -c 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' "$root" "$@"
}
in_root dpkg -L mailsift > files.out 2>&1
check_eq "4. dpkg knows the package in the image's root" "$?" 0
in_root dpkg -r mailsift > dpkg-r.out 2>&1
check_eq "4. dpkg -r: exit 0" "$?" 0
left() { # the package's files (not directories) still in the root
	while read -r f; do
		[ -d "$root$f" ] && continue
		[ -e "$root$f" ] || [ -L "$root$f" ] && echo "$f"
	done < files.out | tr '\n' ' '
}
check_eq "4. after dpkg -r only the conffile is left" "$(left)" "/etc/default/mailsift "
check "4. after dpkg -r its doc folder is gone" test ! -e "$root/usr/share/doc/mailsift"
in_root dpkg --purge mailsift > dpkg-purge.out 2>&1
check_eq "4. dpkg --purge: exit 0" "$?" 0
check_eq "4. after dpkg --purge nothing is left" "$(left)" ""
in_root dpkg -s mailsift > /dev/null 2>&1
check "4. dpkg no longer knows it" test $? -ne 0
cp "$deb" "$root/tmp/mailsift.deb"
in_root dpkg -i /tmp/mailsift.deb > dpkg-i.out 2>&1
check_eq "4. dpkg -i into the root (its Depends there already): exit 0" "$?" 0
check_eq "4. mailsift --version there" "$(in_root mailsift --version 2>/dev/null | head -1)" "mailsift $version"
# (the image keeps no documentation but copyright files: its dpkg leaves the changelog out)
check_eq "4. dpkg --verify: every file as packaged" \
	"$(in_root dpkg --verify mailsift 2>&1 | grep -v ' /usr/share/doc/mailsift/changelog.gz$')" ""

# ---- 5. the systemd unit ----
mkdir sys && dpkg-deb -x "$deb" sys
# the host's units (targets the unit names) beside the package's files
cp -rn /lib/systemd/system/. sys/lib/systemd/system/
systemd-analyze verify --man=no --root="$WORK/sys" mailsift-serve.service > verify.out 2>&1
check_eq "5. systemd-analyze verify: exit 0" "$?" 0
check_eq "5. systemd-analyze verify says nothing" "$(cat verify.out)" ""
sed -i 's/^KillSignal=/KilSignal=/' sys/lib/systemd/system/mailsift-serve.service
systemd-analyze verify --man=no --root="$WORK/sys" mailsift-serve.service > verify-bad.out 2>&1
check_contains "5. ... and it does catch a misspelt key" verify-bad.out "Unknown key 'KilSignal'"
dpkg-deb -x "$deb" sys
systemd-analyze security --offline=yes --root="$WORK/sys" mailsift-serve.service > security.out 2>&1
score=$(sed -n 's/.*Overall exposure level for mailsift-serve.service: \([0-9.]*\).*/\1/p' security.out)
echo "systemd-analyze security: $(grep 'Overall exposure' security.out)"
check "5. systemd-analyze security: exposure under 2.0 (got ${score:-none})" \
	awk -v s="${score:-99}" 'BEGIN { exit !(s < 2.0) }'
