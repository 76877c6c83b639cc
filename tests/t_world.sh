#!/bin/sh
# t_world - the loopback mail world itself: world.sh start/status/stop, and smtpd's personas
# answered as documented (tests/world/README.md), talked to by a small python3 client. Also
# proves that the assertions other suites make on smtpd.log can fail (DATA is logged).
. "$(dirname "$0")/lib.sh"
BUILD_DIR=${MAILSIFT_BUILD:-$TOP/build}
WORLD="$TOP/tests/world/world.sh"
export MAILSIFT_BUILD="$BUILD_DIR"
cd "$WORK" || exit 1

if [ ! -x "$BUILD_DIR/tests/world/smtpd" ]; then
	fail "smtpd is built" "$BUILD_DIR/tests/world/smtpd missing (make $BUILD_DIR/tests/world/smtpd)"
	exit 0
fi

# Stop every world this test started, also when a check fails or the test is interrupted.
trap 'for d in "$WORK"/w*; do [ -d "$d" ] && sh "$WORLD" stop "$d"; done; rm -rf "$WORK"' EXIT
trap 'exit 1' INT TERM

# A port nobody else is likely to use (other suites and other developers run worlds too).
base_port=$((20000 + $$ % 20000))

# start_world NAME OFFSET CONFIG [SMTPD ARGS] - world in $WORK/NAME on a free port pair
# (base_port + OFFSET, retried higher when taken); sets PORT
start_world() {
	for try in 0 1 2 3 4; do
		PORT=$((base_port + $2 + try * 10))
		if WORLD_SMTP_PORT=$PORT WORLD_DNS_PORT=$((PORT + 1)) WORLD_SMTP_CONFIG=$3 \
			WORLD_SMTP_ARGS=${4:-} sh "$WORLD" start "$WORK/$1" 2> "$WORK/$1.err"; then
			return 0
		fi
		grep -q 'Address already in use' "$WORK/$1.err" || break
	done
	cat "$WORK/$1.err"
	return 1
}

# 1. The shipped world: personas.conf loads, every persona listens, status and stop work.
if start_world w1 0 "$TOP/tests/world/personas.conf"; then
	pass "world starts with tests/world/personas.conf"
	sh "$WORLD" status "$WORK/w1" > status.out
	check_contains "status shows smtpd" status.out "smtpd running pid"
	if [ -x "$BUILD_DIR/tests/world/dnsd" ]; then
		check_contains "status shows dnsd" status.out "dnsd running pid"
	else
		check_contains "world says dnsd is not built" w1.err "dnsd"
	fi
	listens=$(grep -c ' LISTEN ' "$WORK/w1/smtpd.log")
	want=$(grep -c '^127\.' "$TOP/tests/world/personas.conf")
	check_eq "every persona of personas.conf listens" "$listens" "$want"
	sh "$WORLD" stop "$WORK/w1"
	check_eq "world.sh stop exits 0" "$?" 0
	sh "$WORLD" status "$WORK/w1" > status.out
	check_contains "status after stop" status.out "smtpd not running"
	check "smtpd removed its pidfile" test ! -e "$WORK/w1/smtpd.pid"
	check_contains "SIGTERM: smtpd exits cleanly" "$WORK/w1/smtpd.log" "- - - EXIT 0"
else
	fail "world starts with tests/world/personas.conf" "$(cat "$WORK/w1.err")"
fi

# 2. A config error names file and line; nothing is left running.
printf '127.0.1.10 strict\n127.0.1.11 strict colour=blue\n' > bad.conf
"$BUILD_DIR/tests/world/smtpd" --port 1 --config bad.conf --log bad.log > bad.out 2>&1
check_eq "bad config: exit status 1" "$?" 1
check_contains "bad config: file and line named" bad.out "bad.conf:2: unknown key 'colour'"
printf '10.0.0.1 strict\n' > bad.conf
"$BUILD_DIR/tests/world/smtpd" --port 1 --config bad.conf --log bad.log > bad.out 2>&1
check_contains "non-loopback address refused" bad.out "not an IPv4 loopback address"

# 3. The personas, on a config with short delays (the self-test's own).
cat > test.conf <<'EOF'
127.0.1.10 strict     users=alice,bob,carol
127.0.1.11 microsoft  users=alice
127.0.1.12 catchall
127.0.1.13 greylist   users=alice delay=1
127.0.1.14 connlimit  users=alice max=2
127.0.1.15 slow       users=alice banner_ms=200 reply_ms=300
127.0.1.16 drip       users=alice total_secs=1
127.0.1.17 blackhole
127.0.1.18 banner5xx
127.0.1.19 policy     users=alice
127.0.1.20 full       users=alice full4=bob full5=carol
127.0.1.21 disabled   users=alice disabled=carol
127.0.1.22 tlsonly    users=alice
127.0.1.23 tlsbroken  users=alice
127.0.1.24 throttle   users=alice rcpt_per_session=2 max_sessions=1
127.0.1.25 hostile    mode=endless name=mx.endless.test
127.0.1.26 hostile    mode=bigline bytes=200000 users=alice
127.0.1.27 hostile    mode=garbage
127.0.1.28 hostile    mode=dropmid
127.0.1.29 hostile    mode=slowloris interval_ms=100
127.0.1.31 strict     name=mx.utf8.test users=josé smtputf8=1
127.0.1.32 strict     users=alice domains=only.test
EOF
if ! start_world w2 2 "$WORK/test.conf" "--idle 2"; then
	fail "world starts with the test config" "$(cat "$WORK/w2.err")"
	exit 0
fi
pass "world starts with the test config"
LOG="$WORK/w2/smtpd.log"

cat > client.py <<'EOF'
# The personas, from the client side. Prints PASS/FAIL lines like tests/lib.sh.
import os, socket, ssl, sys, time

PORT = int(sys.argv[1])

def check(name, cond, why=""):
    print(("PASS %s" % name) if cond else ("FAIL %s: %s" % (name, why)), flush=True)

class Client:
    """A raw SMTP client: replies are lists of lines; every read is bounded."""
    def __init__(self, addr, src=None, timeout=5):
        self.s = socket.create_connection((addr, PORT), timeout=timeout,
                                          source_address=(src, 0) if src else None)
        self.buf = b""

    def line(self, limit=8192):
        while b"\n" not in self.buf:
            if len(self.buf) > limit:
                raise OverflowError("line over %d bytes" % limit)
            d = self.s.recv(65536)
            if not d:
                raise EOFError(self.buf)
            self.buf += d
        l, _, self.buf = self.buf.partition(b"\n")
        return l.rstrip(b"\r").decode("utf-8", "replace")

    def reply(self, limit=8192):
        lines = []
        while True:
            l = self.line(limit)
            lines.append(l)
            if len(l) < 4 or l[3] != "-":
                return lines
            if len(lines) > 100:
                raise OverflowError("more than 100 reply lines")

    def cmd(self, c):
        self.s.sendall(c.encode() + b"\r\n")
        return self.reply()

    def closed(self):
        """True if the server closed the connection (EOF) within the timeout."""
        try:
            return self.s.recv(1) == b""
        except (ConnectionError, socket.timeout):
            return False

    def close(self):
        self.s.close()

def code(lines):
    return lines[-1][:3]

def run(name, fn):
    try:
        fn()
    except Exception as e:
        check(name, False, "%s: %r" % (type(e).__name__, e))

def strict():
    c = Client("127.0.1.10")
    b = c.reply()
    check("strict banner", b == ["220 mx.strict.test ESMTP mailsift-test"], b)
    e = c.cmd("EHLO client.test")
    check("strict EHLO is multiline 250", code(e) == "250" and len(e) > 3, e)
    for ext in ("PIPELINING", "SIZE", "8BITMIME"):
        check("strict EHLO offers " + ext, any(l[4:].startswith(ext) for l in e), e)
    check("strict EHLO has no STARTTLS", not any("STARTTLS" in l for l in e), e)
    check("strict MAIL 250", code(c.cmd("MAIL FROM:<probe@client.test>")) == "250")
    r = c.cmd("RCPT TO:<Alice@strict.test>")
    check("strict user (any case) 250 2.1.5", r[0].startswith("250 2.1.5"), r)
    r = c.cmd("RCPT TO:<zed@strict.test>")
    check("strict unknown 550 5.1.1", r[0] == "550 5.1.1 <zed@strict.test>: Recipient address "
          "rejected: User unknown in virtual mailbox table", r)
    r = c.cmd("RCPT TO:<josé@strict.test>")
    check("non-ASCII RCPT without SMTPUTF8: 553 5.6.7", r[0].startswith("553 5.6.7"), r)
    r = c.cmd("RSET")
    check("RSET 250", code(r) == "250", r)
    r = c.cmd("RCPT TO:<alice@strict.test>")
    check("RCPT after RSET needs MAIL: 503", code(r) == "503", r)
    check("NOOP 250", code(c.cmd("NOOP")) == "250")
    check("unknown command 500", code(c.cmd("FROB nicate")) == "500")
    check("STARTTLS not offered: 502", code(c.cmd("STARTTLS")) == "502")
    c.cmd("MAIL FROM:<probe@client.test>")
    c.cmd("RCPT TO:<bob@strict.test>")
    r = c.cmd("DATA")
    check("DATA refused 554 5.5.1", r == ["554 5.5.1 DATA not allowed on this test server"], r)
    r = c.cmd("QUIT")
    check("QUIT 221 then close", code(r) == "221" and c.closed(), r)

def pipelining():
    c = Client("127.0.1.10")
    c.reply()
    c.s.sendall(b"EHLO p.test\r\nMAIL FROM:<>\r\nRCPT TO:<bob@x.test>\r\nRCPT TO:<nobody@x.test>\r\nQUIT\r\n")
    got = [code(c.reply()) for _ in range(5)]
    check("pipelined commands answered in order", got == ["250", "250", "250", "550", "221"], got)
    c.close()
    c = Client("127.0.1.12")
    c.reply()
    c.s.sendall(b"EHLO p.test\r\nMAIL FROM:<>\r\n" + b"RCPT TO:<a@catchall.test>\r\n" * 1001 + b"data\r\n")
    got = [c.reply()[-1] for _ in range(1004)]
    check("RCPT bound: 1000 per transaction, the 1001st 452 4.5.3",
          [g[:3] for g in got[2:1002]] == ["250"] * 1000 and got[1002].startswith("452 4.5.3"), got[1000:])
    check("lowercase data is refused too", got[1003].startswith("554 5.5.1"), got[1003])
    c.cmd("QUIT")

def line_too_long():
    c = Client("127.0.1.10")
    c.reply()
    c.s.sendall(b"NOOP " + b"a" * 5000 + b"\r\n")
    r = c.reply()
    check("line over 4096 bytes: 500 and close", code(r) == "500" and c.closed(), r)

def personas():
    c = Client("127.0.1.11"); c.reply(); c.cmd("EHLO x"); c.cmd("MAIL FROM:<a@b.test>")
    r = c.cmd("RCPT TO:<zed@microsoft.test>")
    check("microsoft unknown 550 5.5.0", r[0] == "550 5.5.0 Requested action not taken: mailbox unavailable", r)
    check("microsoft user 250", code(c.cmd("RCPT TO:<alice@microsoft.test>")) == "250")
    c.cmd("QUIT")
    c = Client("127.0.1.12"); c.reply(); c.cmd("HELO x"); c.cmd("MAIL FROM:<a@b.test>")
    check("catchall accepts anything", code(c.cmd("RCPT TO:<q7z1x@catchall.test>")) == "250")
    c.cmd("QUIT")
    c = Client("127.0.1.20"); c.reply(); c.cmd("EHLO x"); c.cmd("MAIL FROM:<a@b.test>")
    got = [c.cmd("RCPT TO:<%s@full.test>" % u)[0][:9] for u in ("alice", "bob", "carol", "zed")]
    check("full: 250 / 452 4.2.2 / 552 5.2.2 / 550 5.1.1",
          got == ["250 2.1.5", "452 4.2.2", "552 5.2.2", "550 5.1.1"], got)
    c.cmd("QUIT")
    c = Client("127.0.1.21"); c.reply(); c.cmd("EHLO x"); c.cmd("MAIL FROM:<a@b.test>")
    r = c.cmd("RCPT TO:<carol@disabled.test>")
    check("disabled 550 5.2.1", r[0] == "550 5.2.1 <carol@disabled.test>: mailbox disabled", r)
    c.cmd("QUIT")
    c = Client("127.0.1.19"); c.reply(); c.cmd("EHLO x"); c.cmd("MAIL FROM:<a@b.test>")
    r = c.cmd("RCPT TO:<alice@policy.test>")
    check("policy 550 5.7.1 spamhaus with the client address",
          r[0] == "550 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org", r)
    c.cmd("QUIT")
    c = Client("127.0.1.32"); c.reply(); c.cmd("EHLO x"); c.cmd("MAIL FROM:<a@b.test>")
    check("domains=: user at a served domain 250", code(c.cmd("RCPT TO:<alice@only.test>")) == "250")
    r = c.cmd("RCPT TO:<alice@other.test>")
    check("domains=: other domain 554 5.7.1 relay denied", r[0].startswith("554 5.7.1"), r)
    c.cmd("QUIT")
    c = Client("127.0.1.31"); c.reply()
    e = c.cmd("EHLO x")
    check("smtputf8=1 advertises SMTPUTF8", "250 SMTPUTF8" in e or "250-SMTPUTF8" in e, e)
    check("MAIL with SMTPUTF8", code(c.cmd("MAIL FROM:<a@b.test> SMTPUTF8")) == "250")
    r = c.cmd("RCPT TO:<JOSé@utf8.test>")
    check("UTF-8 user 250", code(r) == "250", r)
    c.cmd("QUIT")

def banner5xx():
    c = Client("127.0.1.18")
    b = c.reply()
    check("banner5xx 554 5.7.1 banner", b == ["554 5.7.1 mx.banner5xx.test ESMTP not accepting mail from you"], b)
    check("banner5xx EHLO 503", code(c.cmd("EHLO x")) == "503")
    check("banner5xx MAIL 503", code(c.cmd("MAIL FROM:<a@b.test>")) == "503")
    r = c.cmd("QUIT")
    check("banner5xx QUIT 221", code(r) == "221" and c.closed(), r)

def greylist():
    def attempt(rcpt, src=None, sender="a@b.test"):
        c = Client("127.0.1.13", src=src); c.reply(); c.cmd("EHLO x"); c.cmd("MAIL FROM:<%s>" % sender)
        r = c.cmd("RCPT TO:<%s>" % rcpt)
        c.cmd("QUIT")
        return r[0]
    r = attempt("alice@greylist.test")
    check("greylist first try 450 4.2.0 (postgrey text)", r == "450 4.2.0 <alice@greylist.test>: Recipient "
          "address rejected: Greylisted, see http://postgrey.schweikert.ch/help/greylist.test.html", r)
    check("greylist unknown user first try 450", attempt("zed@greylist.test").startswith("450 4.2.0"))
    check("greylist retry within the delay 450", attempt("alice@greylist.test").startswith("450"))
    time.sleep(1.2)
    r = attempt("alice@greylist.test")
    check("greylist retry after the delay 250", r.startswith("250"), r)
    r = attempt("zed@greylist.test")
    check("greylist unknown after the delay 550 5.1.1", r.startswith("550 5.1.1"), r)
    r = attempt("alice@greylist.test", sender="other@b.test")
    check("greylist: another MAIL FROM is a new triple", r.startswith("450"), r)
    r = attempt("alice@greylist.test", src="127.0.0.5")
    check("greylist: another client IP is a new triple", r.startswith("450"), r)

def connlimit():
    held = [Client("127.0.1.14") for _ in range(2)]
    banners = [h.reply()[0][:3] for h in held]
    check("connlimit: 2 sessions get 220", banners == ["220", "220"], banners)
    c = Client("127.0.1.14")
    b = c.reply()
    check("connlimit: 3rd session 421 4.7.0 and closed",
          b == ["421 4.7.0 Too many connections from your IP"] and c.closed(), b)
    c = Client("127.0.1.14", src="127.0.0.6")
    check("connlimit counts per client IP", code(c.reply()) == "220")
    c.cmd("QUIT")
    for h in held:
        h.cmd("QUIT")

def throttle():
    c = Client("127.0.1.24"); c.reply(); c.cmd("EHLO x"); c.cmd("MAIL FROM:<a@b.test>")
    d = Client("127.0.1.24")
    b = d.reply()
    check("throttle max_sessions=1: 2nd session 421 4.7.0", b[0].startswith("421 4.7.0") and d.closed(), b)
    got = [code(c.cmd("RCPT TO:<alice@throttle.test>")) for _ in range(2)]
    r = c.cmd("RCPT TO:<alice@throttle.test>")
    check("throttle rcpt_per_session=2: 3rd RCPT 421 and close",
          got == ["250", "250"] and r == ["421 4.7.0 Too many recipients, slow down"] and c.closed(), (got, r))

def slow():
    t = time.time(); c = Client("127.0.1.15"); c.reply(); dt = time.time() - t
    check("slow banner_ms=200", 0.18 <= dt < 2, dt)
    t = time.time(); c.cmd("NOOP"); dt = time.time() - t
    check("slow reply_ms=300", 0.28 <= dt < 2, dt)
    t = time.time()
    c.s.sendall(b"NOOP\r\nNOOP\r\n")
    got = [code(c.reply()), code(c.reply())]
    dt = time.time() - t
    check("slow: pipelined replies each delayed", got == ["250", "250"] and dt >= 0.58, (got, dt))
    c.cmd("QUIT")

def drip():
    t = time.time(); c = Client("127.0.1.16"); b = c.reply(); dt = time.time() - t
    check("drip banner arrives whole", b == ["220 mx.drip.test ESMTP mailsift-test"], b)
    check("drip banner takes total_secs=1", 0.8 <= dt < 3, dt)
    check("drip then strict", code(c.cmd("EHLO x")) == "250")
    c.cmd("QUIT")

def tlsonly():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    c = Client("127.0.1.22"); c.reply()
    e = c.cmd("EHLO x")
    check("tlsonly advertises STARTTLS", "250-STARTTLS" in e or "250 STARTTLS" in e, e)
    r = c.cmd("MAIL FROM:<a@b.test>")
    check("tlsonly MAIL before TLS 530 5.7.0", r == ["530 5.7.0 Must issue a STARTTLS command first"], r)
    r = c.cmd("STARTTLS")
    check("STARTTLS 220", code(r) == "220", r)
    c.s = ctx.wrap_socket(c.s, server_hostname="mx.tlsonly.test")
    check("TLS handshake", c.s.version() is not None, c.s.version())
    r = c.cmd("MAIL FROM:<a@b.test>")
    check("after TLS the session is reset: MAIL needs EHLO (503)", code(r) == "503", r)
    e = c.cmd("EHLO x")
    check("EHLO after TLS has no STARTTLS", code(e) == "250" and not any("STARTTLS" in l for l in e), e)
    check("tlsonly MAIL after TLS 250", code(c.cmd("MAIL FROM:<a@b.test>")) == "250")
    check("tlsonly RCPT after TLS strict", [code(c.cmd("RCPT TO:<%s@tlsonly.test>" % u))
                                             for u in ("alice", "zed")] == ["250", "550"])
    r = c.cmd("QUIT")
    check("QUIT under TLS 221", code(r) == "221", r)

def tlsbroken():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    c = Client("127.0.1.23"); c.reply(); c.cmd("EHLO x")
    check("tlsbroken STARTTLS 220", code(c.cmd("STARTTLS")) == "220")
    try:
        ctx.wrap_socket(c.s, server_hostname="mx.tlsbroken.test")
        check("tlsbroken handshake fails", False, "handshake succeeded")
    except (ssl.SSLError, ConnectionError, OSError) as e:
        check("tlsbroken handshake fails", True)
    c = Client("127.0.1.23"); c.reply(); c.cmd("EHLO x"); c.cmd("MAIL FROM:<a@b.test>")
    check("tlsbroken: plain-text fallback works", code(c.cmd("RCPT TO:<alice@tlsbroken.test>")) == "250")
    c.cmd("QUIT")

def hostile():
    c = Client("127.0.1.25")
    got, lines = 0, 0
    try:
        c.reply()
    except OverflowError:
        pass
    while got < 1 << 20:
        d = c.s.recv(65536)
        if not d:
            break
        got += len(d)
    check("endless: 1 MB of continuation lines and more to come", got >= 1 << 20, got)
    c.close()
    c = Client("127.0.1.26")
    l = c.line(limit=1 << 20)
    check("bigline: a 200000-byte banner line", l.startswith("220 ") and len(l) == 200004, len(l))
    check("bigline: then strict", code(c.cmd("EHLO x")) == "250")
    c.cmd("QUIT")
    c = Client("127.0.1.27")
    d = c.s.recv(1)
    check("garbage: no reply code", d == b"\xff", d)
    c.close()
    c = Client("127.0.1.28"); c.reply()
    c.s.sendall(b"EHLO x\r\n")
    try:
        c.reply()
        check("dropmid: EHLO reply cut after 250-mx", False, "complete reply")
    except EOFError as e:
        check("dropmid: EHLO reply cut after 250-mx", e.args[0] == b"250-mx", e.args[0])
    c = Client("127.0.1.29")
    data, end = b"", time.time() + 1.0
    while time.time() < end:
        c.s.settimeout(max(end - time.time(), 0.01))
        try:
            d = c.s.recv(100)
        except socket.timeout:
            break
        if not d:
            break
        data += d
    check("slowloris: about 10 bytes a second, no line end", 5 <= len(data) <= 15 and b"\n" not in data, data)
    c.close()
    c = Client("127.0.1.10")
    check("server alive after the hostile sessions", c.reply()[0].startswith("220"))
    c.cmd("QUIT")

def blackhole():
    c = Client("127.0.1.17", timeout=5)
    t = time.time()
    closed = c.closed()
    dt = time.time() - t
    check("blackhole: silent, then closed after --idle 2", closed and 1.5 <= dt < 4.5, (closed, dt))

for name, fn in [("strict", strict), ("pipelining", pipelining), ("line too long", line_too_long),
                 ("personas", personas), ("banner5xx", banner5xx), ("greylist", greylist),
                 ("connlimit", connlimit), ("throttle", throttle), ("slow", slow), ("drip", drip),
                 ("tlsonly", tlsonly), ("tlsbroken", tlsbroken), ("hostile", hostile),
                 ("blackhole", blackhole)]:
    run(name, fn)
EOF
python3 client.py "$PORT"

# 4. The log, as other suites read it.
sleep 0.2 # sessions the client just closed are logged
check_contains "log: DATA is logged (the never-DATA assertion can fail)" "$LOG" " C: DATA"
check_contains "log: DATA is logged loudly" "$LOG" "!!! DATA SENT"
check_contains "log: lowercase data is logged loudly too" "$LOG" "!!! data SENT"
check_contains "log: DATA reported on stderr" "$WORK/w2/smtpd.out" "sent DATA"
check_contains "log: TLS ok" "$LOG" "TLS ok TLSv1."
check_contains "log: greylist triple" "$LOG" "GREY pass ip=127.0.0.1 from=<a@b.test> rcpt=<alice@greylist.test>"
check_contains "log: concurrent sessions at OPEN" "$LOG" "OPEN connlimit sessions=3 client=3"
check_contains "log: idle timeout" "$LOG" "CLOSE timeout state=silent"
sh "$WORLD" stop "$WORK/w2"
check_eq "world stops" "$?" 0
python3 - "$LOG" > logcheck.out <<'EOF'
import re, sys
pat = re.compile(r"^(\d+) (127\.\d+\.\d+\.\d+) (127\.\d+\.\d+\.\d+:\d+) "
                 r"(OPEN|CLOSE|C:|S:|TLS|GREY|DRIP|HOSTILE|BIGLINE|SILENT|ERROR|!!!)( |$)")
other = re.compile(r"^- (-|127\.\d+\.\d+\.\d+) - (LISTEN|START|STOP|EXIT|ACCEPT-ERROR|GREY) ")
opened, closed, bad = set(), {}, []
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    line = line.rstrip("\n")
    m = pat.match(line)
    if m:
        if m.group(4) == "OPEN":
            opened.add(m.group(1))
        elif m.group(4) == "CLOSE":
            closed[m.group(1)] = closed.get(m.group(1), 0) + 1
    elif not other.match(line):
        bad.append(line)
print("badlines", len(bad), bad[:3])
print("unclosed", sorted(opened - set(closed)))
print("twice", sorted(k for k, v in closed.items() if v > 1))
print("sessions", len(opened))
EOF
check_contains "log: every line has the documented format" logcheck.out "badlines 0 []"
check_contains "log: every session OPENed is CLOSEd" logcheck.out "unclosed []"
check_contains "log: no session CLOSEd twice" logcheck.out "twice []"
check "log: no session was cut by shutdown" sh -c "! grep -q 'CLOSE shutdown' '$LOG'"
check "smtpd stderr: no sanitizer report" sh -c "! grep -qiE 'sanitizer|runtime error|leak' '$WORK/w2/smtpd.out'"
check_contains "SIGTERM: smtpd exits cleanly" "$LOG" "- - - EXIT 0"
