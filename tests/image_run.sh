#!/bin/sh
# image_run.sh ROOT OUT PORT - run by tests/t_package.sh inside `unshare --mount --pid --net
# --fork --mount-proc`: what a container runtime does with the image, by hand. Gives the image's
# root file system ROOT a /proc and /dev, starts the loopback mail world (smtpd on PORT, dnsd on
# PORT + 1) and cleans examples/customers.csv twice, each against a fresh world: with the host's
# build (OUT/host) and with the image's mailsift, chrooted into ROOT as uid 10001 (OUT/image,
# copied out of ROOT/var/lib/mailsift/out). Leaves each command's output and exit status in OUT.
set -u
root=$1 out=$2 port=$3
top=$(cd "$(dirname "$0")/.." && pwd)
ip link set lo up
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
export WORLD_SMTP_PORT="$port" WORLD_DNS_PORT=$((port + 1))
probe="--resolver 127.0.0.1:$((port + 1)) --smtp-port $port --helo probe.mailsift.test
	--allow-private-mx --mail-from verify@probe.mailsift.test --greylist-delay 6 --timeout 15
	--no-doctor"
world() { sh "$top/tests/world/world.sh" "$1" "$out/world" > "$out/world-$1.out" 2>&1; }
in_image() { # COMMAND... - run in ROOT as uid/gid 10001 from /var/lib/mailsift, as the image says
	chroot --userspec=10001:10001 --groups=10001 "$root" /bin/sh -c 'cd /var/lib/mailsift && exec "$@"' sh "$@"
}

world start || { echo "world did not start: $(cat "$out/world-start.out")" > "$out/host.err"; exit 1; }
# shellcheck disable=SC2086
"$MAILSIFT" clean "$top/examples/customers.csv" -o "$out/host" $probe > "$out/host.out" 2> "$out/host.err"
echo $? > "$out/host.rc"
world stop
world start || exit 1
cp "$top/examples/customers.csv" "$root/var/lib/mailsift/customers.csv"
chown 10001:10001 "$root/var/lib/mailsift/customers.csv"
in_image id -u > "$out/image-id.out" 2>&1
in_image mailsift --version > "$out/image-version.out" 2>&1
echo $? > "$out/image-version.rc"
in_image touch /usr/bin/mailsift > "$out/image-touch.out" 2>&1
echo $? > "$out/image-touch.rc"
# shellcheck disable=SC2086
in_image mailsift clean customers.csv -o out $probe > "$out/image.out" 2> "$out/image.err"
echo $? > "$out/image.rc"
stat -c '%u:%g %a' "$root/var/lib/mailsift/out/mailsift.db" > "$out/image-db.stat" 2>&1
cp -r "$root/var/lib/mailsift/out" "$out/image"
world stop
