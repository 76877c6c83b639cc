#!/bin/sh
# gen-cert.sh DIR - make DIR/cert.pem and DIR/key.pem, a self-signed certificate (CN mx.tls.test)
# and its unencrypted key, for the loopback world's STARTTLS personas. Does nothing if both
# exist. Test use only: the key is not protected and the certificate is trusted by nobody.
# Needs the openssl command-line tool (Debian package: openssl).
set -eu
dir=${1:?usage: gen-cert.sh DIR}
if ! command -v openssl >/dev/null 2>&1; then
	echo "gen-cert.sh: the openssl command is not installed (Debian package: openssl)" >&2
	exit 1
fi
mkdir -p "$dir"
if [ -s "$dir/cert.pem" ] && [ -s "$dir/key.pem" ]; then
	exit 0
fi
# temporary names, then rename: two worlds started at once never see half a file
tmp="$dir/.gen-cert.$$"
if ! openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=mx.tls.test -days 3650 \
	-keyout "$tmp.key" -out "$tmp.cert" > "$tmp.log" 2>&1; then
	echo "gen-cert.sh: openssl req failed:" >&2
	cat "$tmp.log" >&2
	rm -f "$tmp.key" "$tmp.cert" "$tmp.log"
	exit 1
fi
mv "$tmp.key" "$dir/key.pem"
mv "$tmp.cert" "$dir/cert.pem"
rm -f "$tmp.log"
