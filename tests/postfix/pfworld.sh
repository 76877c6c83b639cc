#!/bin/sh
# pfworld.sh start|stop|status|survivors DIR - a loopback mail world made of Debian's own
# servers, for tests/t_postfix.sh: Postfix (a private instance: config, queue and data
# directories under DIR; three smtpd listeners on 127.0.2.10-12:$PF_SMTP_PORT), postgrey (its
# greylisting policy service, 127.0.0.1:$PF_GREY_PORT) and dnsmasq (the test. zone, MX records
# pointing at the listeners, 127.0.0.1:$PF_DNS_PORT). Run as root (Postfix's master must be).
#
#   start      write the configs from tests/postfix/*.in, make a self-signed certificate, start
#              dnsmasq, postgrey and Postfix, wait until every socket listens. On any failure
#              it stops what it started and exits 1 with the reason on stderr.
#   stop       stop them by PID (Postfix's master from its pid file, then any Postfix daemon
#              still in DIR's queue directory; postgrey and dnsmasq from their pid files):
#              SIGTERM, then SIGKILL after 10 s. Exit 1 if something had to be killed.
#   status     what runs.
#   survivors  print "PID COMMAND" of every process of this world still alive (exit 1 if any).
#
# Files in DIR: conf/ (main.cf, master.cf, vmailbox), queue/, data/, maillog (Postfix's log),
# dnsmasq.log, postgrey/ (its database), *.pid, cert.pem, key.pem, pfworld.env (the ports).
# Postfix is started with `postfix -c DIR/conf start` (root may name any config directory; the
# master daemonizes and `master -w` returns only once the listeners are bound) and stopped by
# SIGTERM to the master's PID, as `postfix stop` does. DIR and its parents must be searchable by
# the postfix and postgrey users (the daemons drop privileges).
#
# Environment: PF_SMTP_PORT (2525), PF_DNS_PORT (5353), PF_GREY_PORT (10023), PF_GREY_DELAY
# (postgrey --delay, 3 seconds).
set -u
here=$(cd "$(dirname "$0")" && pwd)
smtp_port=${PF_SMTP_PORT:-2525}
dns_port=${PF_DNS_PORT:-5353}
grey_port=${PF_GREY_PORT:-10023}
grey_delay=${PF_GREY_DELAY:-3}
listeners="127.0.2.10 127.0.2.11 127.0.2.12"
ready_secs=15
stop_secs=10

usage() {
	echo "usage: pfworld.sh start|stop|status|survivors DIR" >&2
	exit 2
}

say() { echo "pfworld: $*" >&2; }

# cmd0 PID - the program name of PID (first word of argv[0], without its directory); empty for
# a zombie or a process that is gone
cmd0() {
	grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null && return 0
	a=$(head -z -n 1 "/proc/$1/cmdline" 2>/dev/null | tr '\0' ' ')
	a=${a%% *}
	echo "${a##*/}"
}

# running PID NAME - process PID runs and is NAME (a reused pid is not ours)
running() {
	case $1 in '' | *[!0-9]*) return 1 ;; esac
	[ "$(cmd0 "$1")" = "$2" ]
}

pidof_file() { tr -d ' \n' 2>/dev/null < "$1"; }

# listening tcp|udp ADDR PORT [PID] - a socket is bound to ADDR:PORT (LISTEN for tcp) in this
# netns, and (with PID) it is one of PID's: Postfix's master sets SO_REUSEPORT, so a second
# master on a port already taken starts without complaint and shares the port with the first.
# Status 2: (with PID) another process listens there too.
listening() {
	python3 - "$@" <<'PY'
import os, socket, struct, sys
proto, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
want = "%08X:%04X" % (struct.unpack("<I", socket.inet_aton(addr))[0], port)
inodes = set()
for line in open("/proc/net/" + proto).readlines()[1:]:
    f = line.split()
    if f[1] == want and (proto == "udp" or f[3] == "0A"):
        inodes.add("socket:[%s]" % f[9])
if len(sys.argv) > 4:
    fds = "/proc/%s/fd" % sys.argv[4]
    try:
        mine = {os.readlink(os.path.join(fds, fd)) for fd in os.listdir(fds)}
    except OSError:
        mine = set()
    if inodes - mine:
        sys.exit(2)  # someone else's socket on this address and port
    inodes &= mine
sys.exit(0 if inodes else 1)
PY
}

# wait_for SECS COMMAND... - until COMMAND succeeds; 1 after SECS
wait_for() {
	n=$(($1 * 10))
	shift
	while [ $n -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# postfix_pids - every live process whose working directory is this instance's queue
# directory (Postfix's master and all its daemons chdir there)
postfix_pids() {
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/cwd" 2>/dev/null)" = "$dir/queue" ] || continue
		pid=${p#/proc/}
		[ -n "$(cmd0 "$pid")" ] && echo "$pid"
	done
}

# survivors - "PID COMMAND" of each live process of this world
survivors() {
	for pid in $(postfix_pids); do
		echo "$pid $(tr '\0' ' ' 2>/dev/null < "/proc/$pid/cmdline")"
	done
	# postgrey and dnsmasq name DIR/ on their command lines (postgrey as "perl ... postgrey ..."
	# until it has loaded)
	for p in /proc/[0-9]*; do
		pid=${p#/proc/}
		c=$(tr '\0' ' ' 2>/dev/null < "$p/cmdline")
		case $c in *pfworld.sh*) continue ;; esac
		case $c in *postgrey*"$dir/"* | *dnsmasq*"$dir/"*) ;; *) continue ;; esac
		[ -n "$(cmd0 "$pid")" ] && echo "$pid $c"
	done
}

# term_wait PID NAME - SIGTERM, wait, SIGKILL; 1 if it had to be killed
term_wait() {
	tw_pid=$1 tw_name=$2
	running "$tw_pid" "$tw_name" || return 0
	kill -TERM "$tw_pid" 2>/dev/null
	wait_for $stop_secs eval '! running "$tw_pid" "$tw_name"' && return 0
	say "$tw_name (pid $tw_pid) ignored SIGTERM for ${stop_secs}s, killing it"
	kill -KILL "$tw_pid" 2>/dev/null
	return 1
}

stop_all() {
	rc=0
	if [ -f "$dir/queue/pid/master.pid" ]; then
		term_wait "$(pidof_file "$dir/queue/pid/master.pid")" master || rc=1
	fi
	# The master takes its daemons with it; anything left in the queue directory goes too.
	wait_for 3 eval '[ -z "$(postfix_pids)" ]' || for pid in $(postfix_pids); do
		term_wait "$pid" "$(cmd0 "$pid")" || rc=1
	done
	for name in postgrey dnsmasq; do
		[ -f "$dir/$name.pid" ] || continue
		term_wait "$(pidof_file "$dir/$name.pid")" $name || rc=1
		rm -f "$dir/$name.pid"
	done
	# A daemon whose pid file was never written (it failed or was slow to start) is found by its
	# command line, which names DIR.
	survivors > "$dir/stragglers"
	while read -r pid rest; do
		say "stopping a straggler: $pid $rest"
		term_wait "$pid" "$(cmd0 "$pid")"
		rc=1
	done < "$dir/stragglers"
	rm -f "$dir/stragglers"
	return $rc
}

# fill TEMPLATE OUT - the template with @DIR@, @PORT@, @GREY_PORT@ filled in
fill() {
	sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$smtp_port|g" -e "s|@GREY_PORT@|$grey_port|g" "$1" > "$2"
}

start_dnsmasq() {
	dnsmasq --keep-in-foreground --conf-file="$here/dnsmasq.conf" --port="$dns_port" \
		--listen-address=127.0.0.1 --bind-interfaces --pid-file="$dir/dnsmasq.pid" \
		--log-facility="$dir/dnsmasq.log" --log-queries < /dev/null > "$dir/dnsmasq.out" 2>&1 &
	bg=$!
	if ! wait_for $ready_secs eval 'running "$(pidof_file "$dir/dnsmasq.pid")" dnsmasq &&
		listening udp 127.0.0.1 "$dns_port"'; then
		say "dnsmasq did not start on 127.0.0.1:$dns_port: $(cat "$dir/dnsmasq.out" "$dir/dnsmasq.log" 2>/dev/null)"
		running $bg dnsmasq && echo $bg > "$dir/dnsmasq.pid"
		return 1
	fi
}

start_postgrey() {
	mkdir -p "$dir/postgrey" && chown postgrey "$dir/postgrey" || return 1
	: > "$dir/postgrey/whitelist_clients"
	: > "$dir/postgrey/whitelist_recipients"
	# --auto-whitelist-clients=0: else postgrey stops greylisting a client after 5 passes.
	# Empty whitelists: nothing from /etc/postgrey decides for us.
	if ! postgrey --inet="127.0.0.1:$grey_port" --delay="$grey_delay" --auto-whitelist-clients=0 \
		--dbdir="$dir/postgrey" --pidfile="$dir/postgrey.pid" \
		--whitelist-clients="$dir/postgrey/whitelist_clients" \
		--whitelist-recipients="$dir/postgrey/whitelist_recipients" \
		--daemonize < /dev/null > "$dir/postgrey.out" 2>&1; then
		say "postgrey failed: $(cat "$dir/postgrey.out")"
		return 1
	fi
}

# wait_postgrey - until postgrey (perl: about a second to load) listens
wait_postgrey() {
	if ! wait_for $ready_secs eval 'running "$(pidof_file "$dir/postgrey.pid")" postgrey &&
		listening tcp 127.0.0.1 "$grey_port"'; then
		say "postgrey did not start on 127.0.0.1:$grey_port: $(cat "$dir/postgrey.out")"
		return 1
	fi
}

start_postfix() {
	mkdir -p "$dir/conf" "$dir/queue" "$dir/data" || return 1
	chown postfix "$dir/data" || return 1
	fill "$here/main.cf.in" "$dir/conf/main.cf"
	fill "$here/master.cf.in" "$dir/conf/master.cf"
	cp "$here/vmailbox" "$dir/conf/vmailbox"
	if ! runuser -u postfix -- test -r "$dir/conf/vmailbox"; then
		say "the postfix user cannot read $dir/conf (make DIR and its parents searchable: chmod 755)"
		return 1
	fi
	if ! postfix -c "$dir/conf" start > "$dir/postfix.out" 2>&1; then
		say "postfix did not start: $(cat "$dir/postfix.out" "$dir/maillog" 2>/dev/null)"
		return 1
	fi
	master=$(pidof_file "$dir/queue/pid/master.pid")
	# master -w returned once the master had bound every listener: no waiting here.
	for a in $listeners; do
		listening tcp "$a" "$smtp_port" "$master"
		case $? in
		0) ;;
		2)
			say "127.0.2.x:$smtp_port is taken by another process (Postfix would share it)"
			return 1
			;;
		*)
			say "postfix (master pid $master) does not listen on $a:$smtp_port: $(cat "$dir/maillog" 2>/dev/null)"
			return 1
			;;
		esac
	done
}

[ $# -eq 2 ] || usage
cmd=$1
dir=$2
case $cmd in
start)
	if [ "$(id -u)" != 0 ]; then
		say "must run as root (Postfix's master and postgrey drop privileges from root)"
		exit 1
	fi
	PATH=$PATH:/usr/sbin:/sbin
	for prog in postfix postgrey dnsmasq openssl runuser python3; do
		if ! command -v $prog > /dev/null 2>&1; then
			say "$prog is not installed (apt-get install postfix postgrey dnsmasq-base openssl; see tools/debian-packages)"
			exit 1
		fi
	done
	mkdir -p "$dir" || exit 1
	dir=$(cd "$dir" && pwd)
	chmod 755 "$dir"
	if [ -n "$(survivors)" ]; then
		say "a world already runs in $dir: $(survivors)"
		exit 1
	fi
	printf 'PF_SMTP_PORT=%s\nPF_DNS_PORT=%s\nPF_GREY_PORT=%s\nPF_DIR=%s\n' \
		"$smtp_port" "$dns_port" "$grey_port" "$dir" > "$dir/pfworld.env"
	if ! openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=mx.tls.test \
		-keyout "$dir/key.pem" -out "$dir/cert.pem" > "$dir/openssl.out" 2>&1; then
		say "openssl could not make a certificate: $(cat "$dir/openssl.out")"
		exit 1
	fi
	# postgrey loads while Postfix starts (its policy service is asked only at RCPT time).
	if ! start_dnsmasq || ! start_postgrey || ! start_postfix || ! wait_postgrey; then
		stop_all
		exit 1
	fi
	;;
stop)
	[ -d "$dir" ] || exit 0
	dir=$(cd "$dir" && pwd)
	stop_all
	exit $?
	;;
status)
	dir=$(cd "$dir" && pwd) || exit 1
	[ -f "$dir/pfworld.env" ] && cat "$dir/pfworld.env"
	s=$(survivors)
	[ -n "$s" ] && echo "$s" || echo "nothing runs"
	;;
survivors)
	[ -d "$dir" ] || exit 0
	dir=$(cd "$dir" && pwd)
	s=$(survivors)
	[ -z "$s" ] && exit 0
	echo "$s"
	exit 1
	;;
*)
	usage
	;;
esac
