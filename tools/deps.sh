#!/bin/sh
# deps.sh - install the Debian packages listed in tools/debian-packages (run as root).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
pkgs=$(sed -e 's/#.*//' "$here/debian-packages" | tr -s ' \n' ' ')
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $pkgs > /dev/null
echo "deps.sh: installed or up to date: $pkgs"
