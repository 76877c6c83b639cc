#!/bin/sh
# deb.sh BUILD VERSION - BUILD/mailsift_VERSION_ARCH.deb from BUILD/mailsift and BUILD/man (make
# man): the binary (stripped), the man pages, the bash completion, the mailsift-serve systemd
# unit and its /etc/default/mailsift (a conffile). dpkg-shlibdeps computes Depends from the
# binary itself, so the package (and the image built from it, tools/image.sh) cannot drift from
# what the binary links. make deb runs it; tests/t_package.sh checks it with lintian and dpkg.
set -eu
build=$(cd "$1" && pwd)
version=$2
top=$(cd "$(dirname "$0")/.." && pwd)
arch=$(dpkg --print-architecture)
out=$build/mailsift_${version}_$arch.deb
top_version=$(sed -n '1s/^mailsift (\([^)]*\)).*/\1/p' "$top/deploy/debian/changelog")
if [ "$top_version" != "$version" ]; then
	echo "deb.sh: deploy/debian/changelog's newest entry is $top_version, the Makefile's VERSION $version: add an entry" >&2
	exit 1
fi
stage=$build/deb
rm -rf "$stage"
mkdir -p "$stage/DEBIAN" "$stage/usr/bin" "$stage/usr/share/man/man1" "$stage/etc/default" \
	"$stage/lib/systemd/system" "$stage/usr/share/bash-completion/completions" \
	"$stage/usr/share/doc/mailsift"
install -m 755 "$build/mailsift" "$stage/usr/bin/mailsift"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$stage/usr/bin/mailsift"
for page in "$build"/man/*.1; do
	gzip -9n < "$page" > "$stage/usr/share/man/man1/$(basename "$page").gz"
done
install -m 644 "$top/deploy/mailsift-serve.service" "$stage/lib/systemd/system/"
install -m 644 "$top/deploy/mailsift.default" "$stage/etc/default/mailsift"
install -m 644 "$top/deploy/bash-completion/mailsift" "$stage/usr/share/bash-completion/completions/"
install -m 644 "$top/deploy/debian/copyright" "$stage/usr/share/doc/mailsift/"
gzip -9n < "$top/deploy/debian/changelog" > "$stage/usr/share/doc/mailsift/changelog.gz"
chmod 644 "$stage/usr/share/doc/mailsift/changelog.gz" "$stage"/usr/share/man/man1/*.gz

# Depends: what the binary links, as dpkg-shlibdeps reads it (it wants a debian/control)
src=$build/deb-src
rm -rf "$src"
mkdir -p "$src/debian"
printf 'Source: mailsift\n\nPackage: mailsift\nArchitecture: any\n' > "$src/debian/control"
depends=$(cd "$src" && dpkg-shlibdeps -O "$stage/usr/bin/mailsift" | sed -n 's/^shlibs:Depends=//p')
rm -rf "$src"
[ -n "$depends" ] || { echo "deb.sh: dpkg-shlibdeps found no dependencies of $build/mailsift" >&2; exit 1; }
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<CONTROL
Package: mailsift
Version: $version
Architecture: $arch
Maintainer: $(sed -n 's/^ -- \(.*>\)  .*/\1/p' "$top/deploy/debian/changelog" | head -1)
Installed-Size: $size
Depends: $depends
Recommends: ca-certificates
Section: mail
Priority: optional
Homepage: https://mailsift.example.com/
Description: bulk email list cleaning without sending mail
 mailsift imports lists of email addresses (CSV or plain, gzip or not) into a
 resumable job store, checks syntax, flags role, disposable and free-provider
 addresses, resolves MX records and asks each mail server, politely and without
 ever sending a message, whether it would accept mail for each address. It
 exports the list split into valid, invalid, risky, catch-all and unknown files.
 .
 It runs from the command line, as an HTTP API with a web page
 (mailsift-serve.service), or as shards of a batch system.
CONTROL
echo /etc/default/mailsift > "$stage/DEBIAN/conffiles"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | sort |
	xargs md5sum > DEBIAN/md5sums)
chmod 644 "$stage/DEBIAN/control" "$stage/DEBIAN/conffiles" "$stage/DEBIAN/md5sums"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$out" > /dev/null
rm -rf "$stage"
echo "$out"
