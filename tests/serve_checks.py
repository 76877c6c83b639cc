"""serve_checks - HTTP checks of `mailsift serve` for tests/t_serve.sh (loopback only).

Usage: python3 serve_checks.py CHECK [ARGS...]; URL and KEY come from the environment.
Each check prints "PASS name" or "FAIL name: why" lines, as tests/lib.sh does.
"""
import http.client
import json
import os
import socket
import sys
import threading
import time
import urllib.parse

URL = os.environ.get("URL", "")
KEY = os.environ.get("KEY", "")
HOST, PORT = urllib.parse.urlsplit(URL).hostname, urllib.parse.urlsplit(URL).port


def ok(name, cond, why=""):
    print(("PASS %s" % name) if cond else ("FAIL %s: %s" % (name, why)))
    sys.stdout.flush()


def request(method, path, body=None, headers=None, key=KEY, timeout=90):
    """(status, headers dict, parsed JSON or raw text)"""
    h = dict(headers or {})
    if key is not None:
        h["Authorization"] = "Bearer " + key
    c = http.client.HTTPConnection(HOST, PORT, timeout=timeout)
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    try:
        v = json.loads(data)
    except ValueError:
        v = data.decode("utf-8", "replace")
    return r.status, {k.lower(): v for k, v in r.getheaders()}, v


def verify(addr, timeout=None, key=KEY):
    q = {"email": addr}
    if timeout is not None:
        q["timeout"] = str(timeout)
    return request("GET", "/v1/verify?" + urllib.parse.urlencode(q), key=key)


def same_as_cli(cli_json):
    """Every address of CLI_JSON (mailsift verify's lines), asked at once over the API: the
    same object but for duration_ms, and "final": true."""
    want = [json.loads(l) for l in open(cli_json, encoding="utf-8")]
    got = {}

    def ask(addr):
        got[addr] = verify(addr, timeout=60)

    threads = [threading.Thread(target=ask, args=(w["address"],)) for w in want]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for w in want:
        status, _, v = got[w["address"]]
        name = "api = cli: %s %s/%s" % (w["address"], w["status"], w["reason"])
        if status != 200 or not isinstance(v, dict):
            ok(name, False, "HTTP %s %r" % (status, v))
            continue
        diff = [k for k in w if k != "duration_ms" and v.get(k) != w[k]]
        ok(name, not diff and v.get("final") is True,
           "differs in %s: api %r" % (diff or ["final"], v))


def greylist(addr):
    status, _, v = verify(addr, timeout=1)
    ok("greylisted within the deadline: unknown, not final", status == 200 and
       (v["status"], v["reason"], v["final"]) == ("unknown", "greylisted", False), repr(v))
    ok("not final: the detail says when it is asked again", "asked again at" in (v.get("detail") or ""),
       repr(v.get("detail")))
    deadline = time.time() + 60
    while time.time() < deadline:
        status, _, v = verify(addr, timeout=20)
        if v.get("final"):
            break
    ok("a later call gets the final verdict", v.get("final") is True and
       (v["status"], v["reason"], v["attempts"]) == ("valid", "accepted", 2), repr(v))


def access(other_key):
    status, h, v = verify("a@strict.test", key=None)
    ok("no key: 401 with WWW-Authenticate", status == 401 and "www-authenticate" in h and
       v.get("error") == "unauthorized", "%s %r" % (status, v))
    status, _, v = verify("a@strict.test", key="ms_" + "x" * 43)
    ok("wrong key: 401", status == 401 and v.get("error") == "unauthorized", "%s %r" % (status, v))
    status, _, v = verify("a@strict.test", key=KEY[:-1])
    ok("a key cut short: 401", status == 401, "%s %r" % (status, v))
    status, _, v = request("GET", "/v1/verify?email=not-an-address", key=None,
                           headers={"Authorization": "bearer " + KEY})
    ok("the scheme's case does not matter", status == 200, "%s %r" % (status, v))
    status, _, v = verify("not-an-address", key=other_key)
    ok("a key added while the server runs works at once", status == 200 and
       v.get("reason") == "syntax", "%s %r" % (status, v))


def errors():
    def err(name, got, code, word):
        status, _, v = got
        ok(name, status == code and isinstance(v, dict) and v.get("error") == word and
           isinstance(v.get("detail"), str), "%s %r" % (status, v))

    err("bad JSON: 400 bad_json", request("POST", "/v1/verify", body=b"{bad"), 400, "bad_json")
    err("JSON not an object: 400", request("POST", "/v1/verify", body=b"[1,2]"), 400, "bad_json")
    err("email not a string: 400", request("POST", "/v1/verify", body=b'{"email": 5}'), 400,
        "bad_request")
    err("empty body: 400", request("POST", "/v1/verify", body=b""), 400, "bad_request")
    err("missing email: 400", request("GET", "/v1/verify"), 400, "bad_request")
    err("timeout not a number: 400", request("GET", "/v1/verify?email=a@b.test&timeout=abc"),
        400, "bad_request")
    err("timeout too long: 400", request("GET", "/v1/verify?email=a@b.test&timeout=99999"),
        400, "bad_request")
    err("PUT /v1/verify: 405", request("PUT", "/v1/verify", body=b"x"), 405,
        "method_not_allowed")
    err("unknown endpoint: 404", request("GET", "/v1/nothing"), 404, "not_found")
    err("outside the API: 404", request("GET", "/../etc/passwd"), 404, "not_found")
    # A body over the limit is refused from its Content-Length, before it is read.
    s = socket.create_connection((HOST, PORT), timeout=30)
    s.sendall(("POST /v1/verify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
               "Content-Length: %d\r\n\r\n{" % (KEY, 9 << 20)).encode())
    first = s.recv(200).decode("latin-1")
    s.close()
    ok("a body over 8 MiB: 413", first.startswith("HTTP/1.1 413"), repr(first))
    try:
        status, _, v = request("GET", "/v1/verify?email=a@b.test", headers={"X-Big": "y" * (1 << 20)})
        ok("a 1 MiB header: refused", status in (400, 413, 431), "%s" % status)
    except (ConnectionError, http.client.HTTPException, OSError) as e:
        ok("a 1 MiB header: refused (connection closed)", True, repr(e))
    status, _, v = request("POST", "/v1/verify", body=json.dumps({"email": "bad@@x.test"}).encode())
    ok("POST with a JSON body works", status == 200 and v.get("reason") == "syntax" and
       v.get("final") is True, "%s %r" % (status, v))
    status, _, v = request("GET", "/v1/verify?email=" + urllib.parse.quote("a\u00e9\udcff@x.test",
                                                                          errors="surrogateescape"))
    ok("bytes that are not UTF-8: an answer, no crash", status in (200, 400), "%s %r" % (status, v))


def denied():
    """every key refused (a damaged keys file)"""
    status, _, v = verify("not-an-address")
    ok("a damaged keys file lets nobody in", status == 401, "%s %r" % (status, v))


def rate():
    got = [verify("not-an-address")[0:2] for _ in range(12)]
    limited = [h for s, h in got if s == 429]
    ok("over --rate: 429", len(limited) >= 5, "statuses %r" % [s for s, _ in got])
    ok("429 says Retry-After in whole seconds", limited and
       limited[0].get("retry-after", "").isdigit() and int(limited[0]["retry-after"]) >= 1,
       repr(limited[:1]))
    time.sleep(1.2)
    ok("the allowance comes back", verify("not-an-address")[0] == 200)


def crowd(n, pid):
    """N idle connections and a slowloris client: others are still served, memory bounded."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 64), hard))
    if hard < n + 64:
        print("  note: open files limited to %d here: %d idle connections, not %d" % (hard, hard - 64, n))
        n = hard - 64
    idle = []
    for _ in range(n):
        s = socket.create_connection((HOST, PORT))
        idle.append(s)
    slow = socket.create_connection((HOST, PORT))
    stop = []

    def drip():
        for ch in b"GET /v1/verify?email=a@b.test HTTP/1.1\r\n":
            if stop:
                return
            try:
                slow.send(bytes([ch]))
            except OSError:
                return
            time.sleep(0.25)

    t = threading.Thread(target=drip)
    t.start()
    t0 = time.time()
    status, _, v = verify("alice@strict.test", timeout=10)
    took = time.time() - t0
    ok("%d idle connections and a slowloris: others are answered (%.2f s)" % (n, took),
       status == 200 and v.get("status") == "valid" and took < 10, "%s %r" % (status, v))
    rss = 0
    for line in open("/proc/%s/status" % pid):
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    print("  serve's RSS with %d idle connections: %d KiB" % (n, rss))
    if os.environ.get("ASAN") != "1":
        ok("memory bounded with %d idle connections (%d KiB < 96 MiB)" % (n, rss), rss < 96 * 1024)
    stop.append(1)
    t.join()
    for s in idle + [slow]:
        s.close()


def waiting(addr, out):
    """ask ADDR with a long deadline; write the answer to OUT (for the stop test)"""
    try:
        status, _, v = verify(addr, timeout=120)
        open(out, "w").write(json.dumps({"status": status, "body": v}))
    except (OSError, http.client.HTTPException) as e:
        open(out, "w").write(json.dumps({"status": 0, "body": repr(e)}))


def tls():
    """HTTPS: a verified TLS connection gets the same answers; plain HTTP to it gets none"""
    import ssl
    u = urllib.parse.urlsplit(os.environ["TLS_URL"])
    ctx = ssl.create_default_context(cafile=os.environ["TLS_CA"])
    con = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=30)
    con.request("GET", "/v1/verify?email=not-an-address", headers={"Authorization": "Bearer " + KEY})
    r = con.getresponse()
    v = json.loads(r.read())
    ok("HTTPS: a real-time check over a verified TLS connection",
       r.status == 200 and v.get("reason") == "syntax", "%s %r" % (r.status, v))
    ok("HTTPS: TLS 1.2 or newer", con.sock.version() in ("TLSv1.2", "TLSv1.3"), con.sock.version())
    con.close()
    con = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=30)
    con.request("GET", "/v1/jobs", headers={"Authorization": "Bearer " + KEY})
    r = con.getresponse()
    ok("HTTPS: the jobs API too", r.status == 200 and "jobs" in json.loads(r.read()), r.status)
    con.close()
    try:
        plain = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        plain.request("GET", "/v1/verify?email=a@b.test", headers={"Authorization": "Bearer " + KEY})
        st = plain.getresponse().status
        ok("HTTPS: plain HTTP to it gets no answer", False, "status %s" % st)
    except (ConnectionError, http.client.HTTPException, OSError):
        ok("HTTPS: plain HTTP to it gets no answer", True)


def trace(addr):
    """?trace=1 (and "trace": true): the answer carries the transcript of the probe, kept by the
    run for a real-time check, the same when answered from the store; none without it"""
    st, _, v = request("GET", "/v1/verify?" + urllib.parse.urlencode(
        {"email": addr, "timeout": "30", "trace": "1"}))
    t = v.get("transcript") if isinstance(v, dict) else None
    cmds = [e["text"] for e in t or [] if e["type"] == "C"]
    ok("trace=1: the transcript, with the address's RCPT and its reply",
       st == 200 and v["final"] is True and "RCPT TO:<%s>" % addr in cmds and
       any(e["type"] == "verdict" for e in t), (st, v))
    st, _, v2 = request("POST", "/v1/verify", json.dumps({"email": addr, "trace": True}))
    ok("trace: true (POST), answered from the store: the same transcript",
       st == 200 and v2.get("transcript") == t, (st, v2))
    st, _, v3 = verify(addr)
    ok("no trace: no transcript member", st == 200 and "transcript" not in v3, v3)
    st, _, e = request("GET", "/v1/verify?email=%s&trace=2" % addr)
    ok("trace=2 is 400", st == 400, (st, e))
    st, _, r = request("GET", "/v1/verify?email=not-an-address&trace=1")
    ok("trace=1 for a refused syntax: transcript []", st == 200 and r.get("transcript") == [], r)


def one(addr, field_checks):
    """ADDR answered with these field=value (values as Python repr-free text)"""
    status, _, v = verify(addr, timeout=30)
    bad = [kv for kv in field_checks if str(v.get(kv.split("=", 1)[0])) != kv.split("=", 1)[1]]
    ok("%s: %s" % (addr, " ".join(field_checks)), status == 200 and not bad, "%s %r" % (status, v))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"same_as_cli": lambda: same_as_cli(*args), "greylist": lambda: greylist(*args),
     "access": lambda: access(*args), "errors": errors, "rate": rate, "denied": denied,
     "crowd": lambda: crowd(int(args[0]), args[1]), "waiting": lambda: waiting(*args),
     "one": lambda: one(args[0], args[1:]), "tls": tls, "trace": lambda: trace(*args)}[cmd]()
