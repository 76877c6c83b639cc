#!/bin/sh
# world.sh start|stop|status DIR - the loopback mail world: dnsd (the zone tests/world/world.zone)
# on 127.0.0.1:$WORLD_DNS_PORT and smtpd (the personas of tests/world/personas.conf) on
# 127.0.1.x:$WORLD_SMTP_PORT. DIR receives the pidfiles, logs, the TLS certificate and world.env
# (the ports, for tests to source). It starts daemons by command line and stops them by pidfile,
# never by name; it binds nothing but loopback, so it works the same inside
# `unshare -n sh -c 'ip link set lo up; ...'` and outside.
#
# Environment:
#   WORLD_SMTP_PORT    smtpd port (default 2525)
#   WORLD_DNS_PORT     dnsd port (default 5353)
#   WORLD_SMTP_CONFIG  persona config (default tests/world/personas.conf)
#   WORLD_ZONE         DNS zone (default tests/world/world.zone)
#   WORLD_SMTP_ARGS    extra smtpd arguments (e.g. "--idle 2")
#   MAILSIFT_BUILD     build tree holding tests/world/{smtpd,dnsd} (default ./build)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${MAILSIFT_BUILD:-$top/build}
smtpd=$build/tests/world/smtpd
dnsd=$build/tests/world/dnsd
smtp_port=${WORLD_SMTP_PORT:-2525}
dns_port=${WORLD_DNS_PORT:-5353}
smtp_config=${WORLD_SMTP_CONFIG:-$top/tests/world/personas.conf}
zone=${WORLD_ZONE:-$top/tests/world/world.zone}
ready_secs=10 # how long a daemon may take to bind (ASan builds start slowly)
stop_secs=10  # how long a daemon may take to exit after SIGTERM

usage() {
	echo "usage: world.sh start|stop|status DIR" >&2
	exit 2
}

# running PID NAME - process PID runs and is NAME (a reused pid is not ours)
running() {
	case $1 in '' | *[!0-9]*) return 1 ;; esac
	argv0=$(head -z -n 1 "/proc/$1/cmdline" 2>/dev/null | tr -d '\0')
	case $argv0 in "$2" | */"$2") ;; *) return 1 ;; esac
	# a zombie (nobody reaps it, e.g. PID 1 of a container) has exited
	! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# alive PIDFILE NAME - the process named in PIDFILE runs and is NAME
alive() {
	running "$(cat "$1" 2>/dev/null)" "$2"
}

# wait_ready PIDFILE NAME BGPID - until NAME wrote its pidfile (it does once bound); 1 if it died
wait_ready() {
	i=0
	while [ $i -lt $((ready_secs * 10)) ]; do
		alive "$1" "$2" && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# stop_one NAME - SIGTERM by pidfile, wait, SIGKILL if it would not go
stop_one() {
	pidfile=$dir/$1.pid
	if ! alive "$pidfile" "$1"; then
		rm -f "$pidfile"
		return 0
	fi
	pid=$(cat "$pidfile" 2>/dev/null)
	kill -TERM "$pid" 2>/dev/null
	i=0
	while running "$pid" "$1" && [ $i -lt $((stop_secs * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if running "$pid" "$1"; then
		echo "world: $1 (pid $pid) ignored SIGTERM for ${stop_secs}s, killing it" >&2
		kill -KILL "$pid" 2>/dev/null
		rc=1
	fi
	rm -f "$pidfile"
}

start_smtpd() {
	if [ ! -x "$smtpd" ]; then
		echo "world: $smtpd is not built (make $build/tests/world/smtpd)" >&2
		return 1
	fi
	sh "$top/tests/world/gen-cert.sh" "$dir" || return 1
	# shellcheck disable=SC2086 # WORLD_SMTP_ARGS is a list of words
	"$smtpd" --port "$smtp_port" --config "$smtp_config" --log "$dir/smtpd.log" \
		--pidfile "$dir/smtpd.pid" --cert "$dir/cert.pem" --key "$dir/key.pem" \
		${WORLD_SMTP_ARGS:-} < /dev/null > "$dir/smtpd.out" 2>&1 &
	if ! wait_ready "$dir/smtpd.pid" smtpd $!; then
		echo "world: smtpd did not start:" >&2
		cat "$dir/smtpd.out" >&2
		return 1
	fi
}

start_dnsd() {
	if [ ! -x "$dnsd" ]; then
		echo "world: $dnsd is not built: started smtpd only (no DNS on port $dns_port)" >&2
		return 0
	fi
	"$dnsd" --listen "127.0.0.1:$dns_port" --zone "$zone" --log "$dir/dnsd.log" \
		--pidfile "$dir/dnsd.pid" < /dev/null > "$dir/dnsd.out" 2>&1 &
	if ! wait_ready "$dir/dnsd.pid" dnsd $!; then
		echo "world: dnsd did not start:" >&2
		cat "$dir/dnsd.out" >&2
		return 1
	fi
}

[ $# -eq 2 ] || usage
cmd=$1
dir=$2
rc=0
case $cmd in
start)
	mkdir -p "$dir" || exit 1
	dir=$(cd "$dir" && pwd)
	for name in smtpd dnsd; do
		if alive "$dir/$name.pid" $name; then
			echo "world: $name already runs in $dir (pid $(cat "$dir/$name.pid" 2>/dev/null))" >&2
			exit 1
		fi
	done
	printf 'WORLD_SMTP_PORT=%s\nWORLD_DNS_PORT=%s\nWORLD_DIR=%s\n' "$smtp_port" "$dns_port" "$dir" \
		> "$dir/world.env"
	if ! start_smtpd || ! start_dnsd; then
		stop_one dnsd
		stop_one smtpd
		exit 1
	fi
	;;
stop)
	[ -d "$dir" ] || exit 0
	stop_one dnsd
	stop_one smtpd
	exit $rc
	;;
status)
	# the ports the world was started with
	[ -f "$dir/world.env" ] && . "$dir/world.env" && smtp_port=$WORLD_SMTP_PORT dns_port=$WORLD_DNS_PORT
	for name in smtpd dnsd; do
		if alive "$dir/$name.pid" $name; then
			port=$smtp_port
			[ $name = dnsd ] && port=$dns_port
			echo "$name running pid $(cat "$dir/$name.pid" 2>/dev/null) port $port log $dir/$name.log"
		else
			echo "$name not running"
			[ $name = smtpd ] && rc=1
		fi
	done
	exit $rc
	;;
*)
	usage
	;;
esac
