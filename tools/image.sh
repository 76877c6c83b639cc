#!/bin/sh
# image.sh BUILD VERSION DEB [LICENSE] - BUILD/mailsift-VERSION-oci.tar, an OCI image archive made
# with no container daemon and no registry: mmdebstrap makes a Debian 12 root file system of the
# essential packages, ca-certificates and the package DEB (tools/deb.sh), whose Depends are the
# libraries the binary links (dpkg-shlibdeps): the image cannot drift from the binary. A user
# mailsift (uid and gid 10001) owns /var/lib/mailsift, the working directory. umoci packs it
# with entrypoint mailsift. Needs root and Debian's mirror (as apt-get does). make image runs
# it; tests/t_package.sh runs the image's mailsift in namespaces with chroot.
set -eu
build=$(cd "$1" && pwd)
version=$2
deb=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
license=${4:-NOASSERTION}
out=$build/mailsift-$version-oci.tar
work=$build/image
for tool in mmdebstrap umoci; do
	command -v $tool > /dev/null || { echo "image.sh: $tool not found: apt-get install mmdebstrap umoci" >&2; exit 1; }
done
# a failed mmdebstrap can leave the package's bind mount inside the root: undo it, then clean
unmount_work() {
	awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
		umount "$m"
	done
}
trap 'unmount_work; rm -rf "$work"' EXIT
unmount_work
rm -rf "$work"
mkdir -p "$work"
umoci init --layout "$work/oci"
umoci new --image "$work/oci:$version"
umoci unpack --image "$work/oci:$version" "$work/bundle"
# The Debian archive the host's apt uses (its sources files), else mmdebstrap's default mirror
sources=$(find /etc/apt -maxdepth 2 \( -name sources.list -o -path '/etc/apt/sources.list.d/*.list' \
	-o -path '/etc/apt/sources.list.d/*.sources' \) -type f -size +0 2>/dev/null | sort)
# Only what runs: no documentation but the copyright files, no locales, only mailsift's pages
# ($sources: file names without spaces, one argument each).
# shellcheck disable=SC2086
mmdebstrap --verbose --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount --variant=essential --include="ca-certificates,$deb" \
	--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
	--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-include=/usr/share/man/man1' \
	--dpkgopt='path-include=/usr/share/man/man1/mailsift*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
	--customize-hook='echo "mailsift:x:10001:10001:mailsift:/var/lib/mailsift:/usr/sbin/nologin" >> "$1/etc/passwd"' \
	--customize-hook='echo "mailsift:x:10001:" >> "$1/etc/group"' \
	--customize-hook='mkdir -p "$1/var/lib/mailsift" && chown 10001:10001 "$1/var/lib/mailsift" && chmod 700 "$1/var/lib/mailsift"' \
	--customize-hook='rm -rf "$1/var/cache/debconf"/*-old "$1/var/log"/*' \
	bookworm "$work/bundle/rootfs" $sources > "$build/image.log" 2>&1 ||
	{ tail -n 30 "$build/image.log" >&2; echo "image.sh: mmdebstrap failed (all of it: $build/image.log)" >&2; exit 1; }
umoci repack --image "$work/oci:$version" "$work/bundle"
umoci config --image "$work/oci:$version" \
	--config.entrypoint=/usr/bin/mailsift --config.cmd=--help \
	--config.workingdir=/var/lib/mailsift --config.user=10001:10001 \
	--config.volume=/var/lib/mailsift \
	--config.label=org.opencontainers.image.title=mailsift \
	--config.label=org.opencontainers.image.version="$version" \
	--config.label=org.opencontainers.image.source=https://mailsift.example.com/mailsift.git \
	--config.label=org.opencontainers.image.licenses="$license" \
	--config.label=org.opencontainers.image.description="bulk email list cleaning without sending mail"
umoci gc --layout "$work/oci"
rm -f "$out"
tar -C "$work/oci" -cf "$out" .
echo "$out"
