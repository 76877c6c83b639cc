#!/bin/sh
# t_doctor - `mailsift doctor` against a loopback world whose DNS (tests/world/dnsd: PTR, TXT,
# blocklist zones) and SMTP hosts (tests/world/smtpd personas) make each check pass, then fail
# in turn: no PTR, a PTR without its forward match, a HELO elsewhere / nowhere / a provider's,
# listed on each list (Spamhaus codes named), a list refusing our resolver, SPF fail, softfail,
# neutral, none, a sender domain without mail host, port 25 refused, silent and timing out,
# a banner refusal. Each: the right PASS/WARN/FAIL, an advice line, the exit status, in --json
# and in text. Then `run` prints the quick checks' failures (and --no-doctor skips them).
# Addresses under test that must look public to libspf2 (which passes 127/8 as "localhost")
# are documentation addresses (192.0.2.0/24) given with --public-address: only DNS names are
# asked about them, of the loopback resolver; nothing is sent to them.
if [ "${MAILSIFT_NETNS:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
	unshare -n true 2>/dev/null; then
	exec unshare -n sh -c 'ip link set lo up && MAILSIFT_NETNS=1 exec sh "$0"' "$0"
fi
. "$(dirname "$0")/lib.sh"

cp "$TOP/tests/world/world.zone" "$WORK/world.zone"
cat >> "$WORK/world.zone" <<'ZONE'
# --- doctor: a world where every check passes for 127.0.2.1 / 192.0.2.1
servfail dnssec-failed.org
a myip.test 127.0.2.1
ptr 1.2.0.127.in-addr.arpa probe.doctor.test
a probe.doctor.test 127.0.2.1
ptr 1.2.0.192.in-addr.arpa good.doctor.test
a good.doctor.test 192.0.2.1
a 2.0.0.127.zen.spamhaus.org 127.0.0.2
a 2.0.0.127.b.barracudacentral.org 127.0.0.2
a 2.0.0.127.bl.spamcop.net 127.0.0.2
txt doctor.test v=spf1 ip4:192.0.2.0/24 -all
mx doctor.test 10 mx.strict.test
# --- and each way to fail
ptr 3.2.0.192.in-addr.arpa noforward.doctor.test
a noforward.doctor.test 192.0.2.99
a elsewhere.doctor.test 192.0.2.99
a 4.2.0.192.zen.spamhaus.org 127.0.0.4
txt 4.2.0.192.zen.spamhaus.org https://www.spamhaus.org/query/ip/192.0.2.4
a 10.2.0.192.zen.spamhaus.org 127.0.0.10
a 5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.spamhaus.org 127.0.0.3
a 5.2.0.192.b.barracudacentral.org 127.0.0.2
a 6.2.0.192.bl.spamcop.net 127.0.0.2
a 2.0.0.127.refusing.test 127.255.255.254
a 2.0.0.127.untested.test 127.0.0.1
txt spffail.test v=spf1 ip4:198.51.100.1 -all
mx spffail.test 10 mx.strict.test
txt spfsoft.test v=spf1 ip4:198.51.100.1 ~all
mx spfsoft.test 10 mx.strict.test
txt spfneutral.test v=spf1 ?all
mx spfneutral.test 10 mx.strict.test
mx spfnone.test 10 mx.strict.test
txt nomail.test v=spf1 ip4:192.0.2.0/24 -all
mx refused.doctor.test 10 mx.refused.doctor.test
a mx.refused.doctor.test 127.0.1.99
mx dropped.doctor.test 10 mx.dropped.doctor.test
a mx.dropped.doctor.test 127.0.1.98
# the first default probe domain of the quick checks, here: nothing listens at its mail host
mx gmail.com 10 mx.refused.doctor.test
ZONE
world_start $((30000 + ($$ + 13000) % 20000))
trap 'kill $HOLD 2>/dev/null; sh "$TOP/tests/world/world.sh" stop "$WORK/world" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
DNS="127.0.0.1:$((PORT + 1))"
# a port that takes no connection: a listener whose queue is full drops new SYNs (timeout)
python3 - "$PORT" "$WORK/hold.ready" <<'PY' &
import socket, sys, time
s = socket.socket(); s.bind(("127.0.1.98", int(sys.argv[1]))); s.listen(0)
held = []
for _ in range(3):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(("127.0.1.98", int(sys.argv[1])))
    except BlockingIOError: pass
    held.append(c)
time.sleep(0.3)
open(sys.argv[2], "w").close()
time.sleep(600)
PY
HOLD=$!
for i in $(seq 50); do [ -f "$WORK/hold.ready" ] && break; sleep 0.1; done

BASE="--resolver $DNS --smtp-port $PORT --allow-private-mx --connect-timeout 1 --timeout 3"
GOOD="--whoami myip.test --helo probe.doctor.test --mail-from verify@doctor.test"

# doctor NAME [OPTIONS] - run doctor --json with BASE, GOOD and OPTIONS (later ones win; the
# probe domain is strict.test unless OPTIONS name some); result in $WORK/NAME.json, exit
# status in $WORK/NAME.rc
doctor() {
	n=$1; shift
	case "$*" in *--probe-domain*) probe= ;; *) probe="--probe-domain strict.test" ;; esac
	"$MAILSIFT" doctor $BASE $GOOD $probe "$@" --json > "$WORK/$n.json" 2> "$WORK/$n.err"
	echo $? > "$WORK/$n.rc"
}

# expect NAME CHECK SUBJECT-PART LEVEL [EVIDENCE-PART] - the check CHECK whose subject holds
# SUBJECT-PART has LEVEL (and its evidence holds EVIDENCE-PART), with an advice line
expect() {
	python3 - "$WORK/$1.json" "$@" <<'PY'
import json, sys
path, name, check, subj, level = sys.argv[1:6]
part = sys.argv[6] if len(sys.argv) > 6 else ""
label = "doctor %s: %s %s %s%s" % (name, check, subj, level, " (%s)" % part if part else "")
try:
    doc = json.load(open(path))
except Exception as e:
    print("FAIL %s: no JSON: %s" % (label, e)); sys.exit()
got = [c for c in doc["checks"] if c["check"] == check and subj in c["subject"]]
if len(got) != 1:
    print("FAIL %s: %d such checks in %s" % (label, len(got), [(c["check"], c["subject"]) for c in doc["checks"]]))
elif got[0]["result"] != level or part not in got[0]["evidence"] or not got[0]["advice"]:
    print("FAIL %s: got %s" % (label, got[0]))
else:
    print("PASS %s" % label)
PY
}

rc() { check_eq "doctor $1: exit status $2" "$(cat "$WORK/$1.rc")" "$2"; }

# ---- everything passes
doctor good
rc good 0
expect good resolver "" PASS "DNSSEC: validating"
expect good smtp-out default PASS "1 of 1"
expect good public-address 127.0.2.1 PASS
expect good reverse-dns 127.0.2.1 PASS "forward-confirmed"
expect good helo probe.doctor.test PASS
expect good blocklist "on zen.spamhaus.org" PASS "not listed"
expect good blocklist "on b.barracudacentral.org" PASS "not listed"
expect good blocklist "on bl.spamcop.net" PASS "not listed"
expect good sender-domain doctor.test PASS
check_eq "doctor good: every check passes" \
	"$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["passed"], d["warned"], d["failed"], len(d["checks"]))' "$WORK/good.json")" \
	"10 0 0 10"
doctor spfpass --public-address 192.0.2.1 --helo good.doctor.test
rc spfpass 0
expect spfpass spf doctor.test PASS "SPF pass"
expect spfpass reverse-dns 192.0.2.1 PASS
expect spfpass public-address 192.0.2.1 PASS "given with --public-address"
# NAT: the whoami server asked directly; this host's own address (127.0.0.1) differs
doctor nat --whoami "myip.test@$DNS"
expect nat public-address 127.0.2.1 PASS "behind NAT"

# ---- reverse DNS and HELO
doctor noptr --public-address 192.0.2.2
rc noptr 1
expect noptr reverse-dns 192.0.2.2 FAIL "no PTR record"
doctor noforward --public-address 192.0.2.3
expect noforward reverse-dns 192.0.2.3 FAIL "does not resolve back"
doctor heloelsewhere --public-address 192.0.2.1 --helo elsewhere.doctor.test
expect heloelsewhere helo elsewhere.doctor.test WARN "resolves to 192.0.2.99"
doctor helonowhere --public-address 192.0.2.1 --helo nowhere.doctor.test
rc helonowhere 1
expect helonowhere helo nowhere.doctor.test FAIL "does not resolve"
doctor heloprovider --public-address 192.0.2.1 --helo mx.gmail.com
expect heloprovider helo mx.gmail.com FAIL "big mail provider"

# ---- blocklists
doctor zen --public-address 192.0.2.4
rc zen 1
expect zen blocklist "192.0.2.4 on zen.spamhaus.org" FAIL "XBL (127.0.0.4)"
expect zen blocklist "192.0.2.4 on zen.spamhaus.org" FAIL "spamhaus.org/query/ip"
expect zen blocklist "192.0.2.4 on bl.spamcop.net" PASS
doctor pbl --public-address 192.0.2.10
expect pbl blocklist "192.0.2.10 on zen.spamhaus.org" FAIL "PBL"
doctor ipv6 --public-address 2001:db8::5
expect ipv6 blocklist "2001:db8::5 on zen.spamhaus.org" FAIL "SBL CSS (127.0.0.3)"
expect ipv6 blocklist "2001:db8::5 on bl.spamcop.net" PASS
doctor barracuda --public-address 192.0.2.5
expect barracuda blocklist "192.0.2.5 on b.barracudacentral.org" FAIL "listed on Barracuda"
doctor spamcop --public-address 192.0.2.6
expect spamcop blocklist "192.0.2.6 on bl.spamcop.net" FAIL "listed on SpamCop"
doctor refusing --public-address 192.0.2.6 --blocklist refusing.test --blocklist untested.test \
	--blocklist bl.spamcop.net
expect refusing blocklist "on refusing.test" WARN "cannot query"
expect refusing blocklist "on untested.test" WARN "cannot query"
expect refusing blocklist "on bl.spamcop.net" FAIL "listed"
# a list we cannot ask at all (no such zone here: its test entry is NXDOMAIN): never "not listed"
doctor nolist --public-address 192.0.2.1 --blocklist nosuch.test
expect nolist blocklist "on nosuch.test" WARN "NXDOMAIN"
rc nolist 0

# ---- SPF and the sender's domain
doctor spffail --public-address 192.0.2.1 --mail-from v@spffail.test
rc spffail 1
expect spffail spf spffail.test FAIL "SPF fail"
doctor spfsoft --public-address 192.0.2.1 --mail-from v@spfsoft.test
expect spfsoft spf spfsoft.test WARN "SPF softfail"
doctor spfneutral --public-address 192.0.2.1 --mail-from v@spfneutral.test
expect spfneutral spf spfneutral.test WARN "SPF neutral"
doctor spfnone --public-address 192.0.2.1 --mail-from v@spfnone.test
expect spfnone spf spfnone.test WARN "SPF none"
doctor nomail --public-address 192.0.2.1 --mail-from v@nomail.test
expect nomail sender-domain nomail.test FAIL "cannot take mail"
doctor nodomain --public-address 192.0.2.1 --mail-from v@nxdomain.doctor.test
expect nodomain sender-domain nxdomain.doctor.test FAIL "NXDOMAIN"

# ---- outbound SMTP
doctor refused --probe-domain refused.doctor.test
rc refused 1
expect refused smtp-out default FAIL "port $PORT looks blocked"
doctor dropped --probe-domain dropped.doctor.test
expect dropped smtp-out default FAIL "port $PORT looks blocked"
doctor silent --probe-domain blackhole.test
expect silent smtp-out default FAIL "take the connection but no session"
doctor banner --probe-domain banner5xx.test
expect banner smtp-out default FAIL "no session"
doctor mixed --probe-domain strict.test --probe-domain refused.doctor.test
expect mixed smtp-out default WARN "1 of 2"
doctor source --source 127.0.0.1
expect source smtp-out "from 127.0.0.1" PASS
expect source public-address 127.0.2.1 PASS
doctor noprobe --probe-domain nxdomain.doctor.test
expect noprobe smtp-out "" WARN "cannot test"

# ---- the resolver itself
"$MAILSIFT" doctor --resolver 127.0.0.1:1 $GOOD --json > "$WORK/nodns.json" 2>/dev/null
echo $? > "$WORK/nodns.rc"
rc nodns 1
expect nodns resolver "127.0.0.1:1" FAIL "no answer"

# ---- text output: each check a line of evidence and a line of advice, then the counts
"$MAILSIFT" doctor $BASE $GOOD --probe-domain strict.test --public-address 192.0.2.2 > "$WORK/text.out" 2>&1
check_eq "doctor text: exit status 1" "$?" 1
check_contains "doctor text: a FAIL line" "$WORK/text.out" "FAIL  reverse-dns    192.0.2.2: no PTR record"
check_contains "doctor text: its advice line" "$WORK/text.out" "fix:           ask the owner of 192.0.2.2"
check_contains "doctor text: the counts" "$WORK/text.out" " failed"
check_eq "doctor text: two lines a check, one of counts" "$(wc -l < "$WORK/text.out")" \
	"$(( $(grep -c '^\(PASS\|WARN\|FAIL\)  ' "$WORK/text.out") * 2 + 1 ))"
"$MAILSIFT" doctor --public-address nonsense > /dev/null 2>&1
check_eq "doctor: --public-address that is not an address is a usage error" "$?" 2

# ---- run and clean: the quick checks' failures as warnings, --no-doctor skips them
printf 'email\nalice@strict.test\n' > "$WORK/list.csv"
"$MAILSIFT" clean "$WORK/list.csv" -o "$WORK/out1" $BASE --helo probe.doctor.test --quiet \
	> /dev/null 2> "$WORK/clean.err"
check_eq "clean with a failing quick check: exit status 0" "$?" 0
check_contains "clean: the quick check's failure is a warning" "$WORK/clean.err" \
	"mailsift: warning: doctor: smtp-out from the default source address: port $PORT looks blocked"
check_eq "clean: the run goes on (alice valid)" "$(data_rows "$WORK/out1/valid.csv")" 1
"$MAILSIFT" clean "$WORK/list.csv" -o "$WORK/out2" $BASE --helo probe.doctor.test --quiet \
	--no-doctor > /dev/null 2> "$WORK/clean2.err"
check_eq "clean --no-doctor: exit status 0" "$?" 0
check_eq "clean --no-doctor: no doctor warning" "$(grep -c doctor "$WORK/clean2.err")" 0
"$MAILSIFT" verify alice@strict.test $BASE --helo probe.doctor.test > "$WORK/verify.out" \
	2> "$WORK/verify.err"
check_eq "verify: exit status 0" "$?" 0
check_eq "verify makes no quick checks (a few addresses: not worth three providers' sessions)" \
	"$(grep -c doctor "$WORK/verify.err")" 0
