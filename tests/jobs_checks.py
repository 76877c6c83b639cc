"""jobs_checks - bulk jobs through serve's HTTP API, for tests/t_jobs.sh.

Usage: jobs_checks.py COMMAND ARGS... with URL and KEY in the environment. Every check prints
"PASS name" or "FAIL name: why"; a command that cannot go on exits non-zero.
"""
import http.client
import json
import os
import socket
import sys
import time
import urllib.parse

URL = os.environ["URL"]
KEY = os.environ["KEY"]
HOST = urllib.parse.urlsplit(URL)
CHUNK_MAX = 8 << 20


def ok(name, cond, why=""):
    print(("PASS %s" % name) if cond else ("FAIL %s: %s" % (name, why)))
    return cond


def request(method, path, body=None, headers=None, key=KEY, timeout=60):
    con = http.client.HTTPConnection(HOST.hostname, HOST.port, timeout=timeout)
    h = dict(headers or {})
    if key is not None:
        h["Authorization"] = "Bearer " + key
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    con.request(method, path, body=body, headers=h)
    r = con.getresponse()
    data = r.read()
    con.close()
    return r.status, r.getheader("Content-Type") or "", data


def jrequest(method, path, body=None, key=KEY, timeout=60):
    st, _, data = request(method, path, body, key=key, timeout=timeout)
    try:
        return st, json.loads(data) if data else None
    except ValueError:
        return st, {"unparsed": data[:200].decode("utf-8", "replace")}


def create(key=KEY, **fields):
    st, j = jrequest("POST", "/v1/jobs", fields, key=key)
    if st != 201:
        print("FAIL create a job: %s %s" % (st, j))
        sys.exit(1)
    return j


def upload(jid, path, chunk, first=0, chunks=None, key=KEY):
    """PUT the bytes of PATH from offset FIRST in CHUNK-byte requests (CHUNKS of them, or to the
    end); returns the offset the server reports last"""
    off = first
    sent = 0
    with open(path, "rb") as f:
        f.seek(first)
        while chunks is None or sent < chunks:
            data = f.read(chunk)
            if not data:
                break
            st, j = jrequest("PUT", "/v1/jobs/%s/upload?offset=%d" % (jid, off), data, key=key)
            if st != 200 or j.get("offset") != off + len(data):
                print("FAIL upload at offset %d: %s %s" % (off, st, j))
                sys.exit(1)
            off = j["offset"]
            sent += 1
    return off


def wait_done(jid, limit=240):
    t0 = time.time()
    seen = set()
    while time.time() - t0 < limit:
        st, j = jrequest("GET", "/v1/jobs/%s" % jid)
        if st != 200:
            print("FAIL job status: %s %s" % (st, j))
            sys.exit(1)
        seen.add(j["state"])
        if j["state"] in ("done", "failed"):
            j["_seen"] = sorted(seen)
            return j
        time.sleep(0.3)
    print("FAIL job %s ends within %d s (last: %s)" % (jid, limit, j))
    sys.exit(1)


def download(job, outdir):
    os.makedirs(outdir, exist_ok=True)
    for f in job.get("files", []):
        st, ctype, data = request("GET", f["url"])
        if st != 200 or len(data) != f["bytes"]:
            print("FAIL download %s: %s, %d bytes of %d" % (f["name"], st, len(data), f["bytes"]))
            sys.exit(1)
        with open(os.path.join(outdir, f["name"]), "wb") as out:
            out.write(data)


def bulk(path, outdir, chunk="1048576", name="bulk"):
    """the whole API path on one list: create, upload in chunks, start, poll, download"""
    chunk = int(chunk)
    j = create(name=name)
    jid = j["id"]
    ok("%s: 201 with an id and an upload_url" % name,
       len(jid) == 16 and j["upload_url"] == "/v1/jobs/%s/upload" % jid and j["state"] == "uploading", j)
    size = os.path.getsize(path)
    off = upload(jid, path, chunk)
    st, u = jrequest("GET", "/v1/jobs/%s/upload" % jid)
    ok("%s: GET upload says every byte arrived (%d)" % (name, size), st == 200 and u["offset"] == size == off, u)
    st, s = jrequest("POST", "/v1/jobs/%s/start" % jid)
    ok("%s: start is 202" % name, st == 202 and s["state"] in ("importing", "verifying"), (st, s))
    done = wait_done(jid)
    ok("%s: the job is done" % name, done["state"] == "done", done)
    c = done["counts"]
    ok("%s: done == total == rows, and the counts add up" % name,
       done["done"] == done["total"] == done["rows"] > 0 and sum(c.values()) == done["rows"], done)
    names = sorted(f["name"] for f in done.get("files", []))
    ok("%s: files listed (report.json among them)" % name, "report.json" in names, names)
    eng = done.get("engine") or {}
    dc = (eng.get("dns_cache") or {}).get("domains") or {}
    ws = eng.get("working_set") or {}
    ok("%s: the status shows the engine's memory: working set bounds, DNS cache size and hit rate" % name,
       ws.get("domain_limit", 0) >= 2000 and ws.get("address_limit", 0) >= 20000 and
       dc.get("limit") == 10000 and dc.get("misses", 0) >= 1 and "hit_rate" in dc and
       "let_go" in (eng.get("mx_hosts") or {}), eng)
    download(done, outdir)
    with open(os.path.join(outdir, ".job"), "w") as f:
        f.write(jid)
    print("  job %s states seen: %s" % (jid, " ".join(done["_seen"])))


def run_job(path, name, **fields):
    """create a job with FIELDS, upload PATH, start it and wait for its end: its last status"""
    j = create(name=name, **fields)
    upload(j["id"], path, 1 << 20)
    st, s = jrequest("POST", "/v1/jobs/%s/start" % j["id"])
    if st != 202:
        print("FAIL start %s: %s %s" % (name, st, s))
        sys.exit(1)
    return wait_done(j["id"])


def rcpts(log, since):
    """{address: RCPT commands} in the world's smtpd LOG after its first SINCE bytes"""
    import re
    got = {}
    with open(log, "rb") as f:
        f.seek(since)
        for line in f.read().decode("utf-8", "replace").splitlines():
            m = re.search(r" C: RCPT TO:\s*<([^>]*)>", line, re.I)
            if m:
                got[m.group(1).lower()] = got.get(m.group(1).lower(), 0) + 1
    return got


def verdicts(job, outdir):
    """{address: (file, mailsift_checked_at)} of JOB's files, downloaded into OUTDIR"""
    import csv
    download(job, outdir)
    got = {}
    for name in ("valid", "invalid", "risky", "catch_all", "unknown"):
        path = os.path.join(outdir, name + ".csv")
        if os.path.exists(path):
            with open(path, newline="", encoding="utf-8") as f:
                for r in csv.DictReader(f):
                    got[r["mailsift_address"].lower()] = (name, r["mailsift_checked_at"])
    return got


def max_age(path, log, outdir):
    """a job's max_age_days: the verdicts an earlier job made are reused (no RCPT, the same
    checked_at) by a job without max_age_days and by one whose max_age_days is more than their
    age; a job whose max_age_days is less than their age asks them again (an RCPT each, a newer
    checked_at, the same verdicts)"""
    with open(path) as f:
        addrs = sorted(l.strip().lower() for l in f.readlines()[1:] if l.strip())
    since = os.path.getsize(log)
    first = run_job(path, "age-first")
    asked = rcpts(log, since)
    ok("max_age: the first job is done", first["state"] == "done", first)
    ok("max_age: the first job asks every address (%d RCPTs)" % len(addrs),
       all(asked.get(a, 0) >= 1 for a in addrs), asked)
    was = verdicts(first, os.path.join(outdir, "first"))
    ok("max_age: the first job's files hold every address with a checked_at",
       sorted(was) == addrs and all(v[1] for v in was.values()), was)
    t_first = time.time()
    for tag, fields in (("omitted", {}), ("1 day", {"max_age_days": 1})):
        since = os.path.getsize(log)
        again = run_job(path, "age-" + tag.replace(" ", ""), **fields)
        asked = rcpts(log, since)
        ok("max_age %s: the job is done" % tag, again["state"] == "done", again)
        ok("max_age %s: verdicts seconds old are reused (no RCPT to any address)" % tag,
           not any(asked.get(a) for a in addrs), asked)
        got = verdicts(again, os.path.join(outdir, tag.replace(" ", "")))
        ok("max_age %s: the files give the first job's verdicts and checked_at" % tag, got == was,
           (got, was))
    # 0.00002 days is 1.7 s: wait until the first job's verdicts are well older than that
    time.sleep(max(0.0, t_first + 3.0 - time.time()))
    since = os.path.getsize(log)
    fresh = run_job(path, "age-2s", max_age_days=0.00002)
    asked = rcpts(log, since)
    ok("max_age 2 s: the job is done", fresh["state"] == "done", fresh)
    ok("max_age 2 s: verdicts 3 s old are asked again (an RCPT to every address)",
       all(asked.get(a, 0) >= 1 for a in addrs), asked)
    got = verdicts(fresh, os.path.join(outdir, "2s"))
    ok("max_age 2 s: the files give the same verdicts with a newer checked_at",
       sorted(got) == addrs and all(got[a][0] == was[a][0] and got[a][1] > was[a][1] for a in addrs),
       (got, was))


def gzip_job(path, plaindir, outdir):
    """a job made with "gzip": true: its files are the plain job's (in PLAINDIR) named .csv.gz,
    with report.json; each CSV is served as application/gzip and is gzip; gunzipped into OUTDIR
    as NAME.csv (t_jobs.sh compares them with the plain job's)"""
    import gzip
    done = run_job(path, "gzipped", gzip=True)
    ok("gzip: the job is done", done["state"] == "done", done)
    names = sorted(f["name"] for f in done.get("files", []))
    plain = sorted(n + ".gz" for n in os.listdir(plaindir) if n.endswith(".csv"))
    ok("gzip: the files listed are the plain job's CSVs as .csv.gz, and report.json (%d)" % len(names),
       plain and names == sorted(plain + ["report.json"]), (names, plain))
    os.makedirs(outdir, exist_ok=True)
    bad = []
    for f in done.get("files", []):
        st, ctype, data = request("GET", f["url"])
        if not f["name"].endswith(".csv.gz"):
            continue
        try:
            text = gzip.decompress(data)
        except (OSError, EOFError) as e:
            bad.append("%s: not gzip (%s)" % (f["name"], e))
            continue
        if st != 200 or ctype != "application/gzip" or len(data) != f["bytes"]:
            bad.append("%s: %s %s, %d bytes of %d" % (f["name"], st, ctype, len(data), f["bytes"]))
        with open(os.path.join(outdir, f["name"][:-3]), "wb") as out:
            out.write(text)
    ok("gzip: every .csv.gz downloads whole as application/gzip and gunzips", not bad, bad)


def resume(path, outdir):
    """an upload cut after a few chunks resumes at the offset the server reports; a wrong
    offset is a 409 with the right one; a chunk over 8 MiB is a 413"""
    j = create(name="resumed")
    jid = j["id"]
    chunk = max(1, os.path.getsize(path) // 7)
    off = upload(jid, path, chunk, chunks=3)
    st, u = jrequest("GET", "/v1/jobs/%s/upload" % jid)
    ok("resume: GET upload after 3 chunks says %d" % off, st == 200 and u["offset"] == off, u)
    st, e = jrequest("PUT", "/v1/jobs/%s/upload?offset=%d" % (jid, off - 5), b"x" * 10)
    ok("resume: a wrong offset is 409 with the right offset",
       st == 409 and e.get("error") == "wrong_offset" and e.get("offset") == off, (st, e))
    st, e = jrequest("PUT", "/v1/jobs/%s/upload?offset=0" % jid, b"y")
    ok("resume: offset 0 after 3 chunks is 409 too", st == 409 and e.get("offset") == off, (st, e))
    # The server answers as soon as it reads Content-Length: the body is never sent.
    s = socket.create_connection((HOST.hostname, HOST.port), timeout=30)
    s.sendall(("PUT /v1/jobs/%s/upload?offset=%d HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
               "Content-Length: %d\r\n\r\nzzzz" % (jid, off, KEY, CHUNK_MAX + 1)).encode())
    first = s.recv(200).decode("latin-1")
    s.close()
    ok("resume: a chunk over 8 MiB is 413", first.startswith("HTTP/1.1 413"), repr(first))
    st, u = jrequest("GET", "/v1/jobs/%s/upload" % jid)
    ok("resume: refused requests add nothing", u["offset"] == off, u)
    off = upload(jid, path, chunk, first=u["offset"])
    ok("resume: the rest from there makes the whole file", off == os.path.getsize(path), off)
    st, s = jrequest("POST", "/v1/jobs/%s/start" % jid)
    ok("resume: start is 202", st == 202, (st, s))
    st, e = jrequest("PUT", "/v1/jobs/%s/upload?offset=%d" % (jid, off), b"more")
    ok("resume: no upload once started (409)", st == 409 and e.get("error") == "not_uploading", (st, e))
    st, e = jrequest("POST", "/v1/jobs/%s/start" % jid)
    ok("resume: a second start is 409", st == 409, (st, e))
    done = wait_done(jid)
    ok("resume: the job is done", done["state"] == "done", done)
    download(done, outdir)


def access(other_key, data_dir):
    """a key sees only its own jobs; a deleted job is gone, with its files and rows"""
    j = create(name="mine")
    jid = j["id"]
    for method, path in (("GET", "/v1/jobs/%s" % jid), ("GET", "/v1/jobs/%s/upload" % jid),
                         ("PUT", "/v1/jobs/%s/upload?offset=0" % jid),
                         ("POST", "/v1/jobs/%s/start" % jid),
                         ("GET", "/v1/jobs/%s/files/report.json" % jid),
                         ("DELETE", "/v1/jobs/%s" % jid)):
        st, e = jrequest(method, path, b"a@b.test\n" if method == "PUT" else None, key=other_key)
        ok("access: another key's %s %s is 404" % (method, path.replace(jid, "ID")),
           st == 404 and e.get("error") == "not_found", (st, e))
    st, lst = jrequest("GET", "/v1/jobs", key=other_key)
    ok("access: another key's job list does not show it",
       st == 200 and jid not in [x["id"] for x in lst["jobs"]], lst)
    st, lst = jrequest("GET", "/v1/jobs")
    ok("access: the owner's list shows it", st == 200 and jid in [x["id"] for x in lst["jobs"]], lst)
    st, e = jrequest("GET", "/v1/jobs/%s" % jid, key=None)
    ok("access: no key is 401", st == 401, (st, e))
    st, e = jrequest("GET", "/v1/jobs/%s" % jid, key="ms_" + "A" * 43)
    ok("access: a wrong key is 401", st == 401, (st, e))
    ok("access: the job has a folder", os.path.isdir(os.path.join(data_dir, "jobs", jid)))
    st, _, _ = request("DELETE", "/v1/jobs/%s" % jid)
    ok("access: DELETE is 204", st == 204, st)
    st, e = jrequest("GET", "/v1/jobs/%s" % jid)
    ok("access: a deleted job is 404", st == 404, (st, e))
    ok("access: a deleted job's folder is gone", not os.path.exists(os.path.join(data_dir, "jobs", jid)))


def explain(outdir, other_key):
    """GET /v1/jobs/ID/explain?email=A: the stored verdict and transcript of an address of the
    job's list; 404 for an address not in it and for another key; 400 without email"""
    jid = open(os.path.join(outdir, ".job")).read().strip()

    def ask(addr, key=KEY):
        q = urllib.parse.urlencode({"email": addr}) if addr is not None else ""
        return jrequest("GET", "/v1/jobs/%s/explain?%s" % (jid, q), key=key)
    st, v = ask("alice@policy.test")
    t = v.get("transcript") if isinstance(v, dict) else None
    ok("explain: an unknown address of the job: its verdict and the transcript kept",
       st == 200 and v["status"] == "unknown" and t and
       any(e["type"] == "S" and e["text"].startswith("550 5.7.1") for e in t), (st, v))
    st, v = ask("alice@strict.test")
    ok("explain: a valid address: its verdict, no transcript kept ([])",
       st == 200 and v["status"] == "valid" and v["transcript"] == [], (st, v))
    st, v = ask("nobody-here@strict.test")
    ok("explain: an address not in the job is 404", st == 404 and v.get("error") == "not_found",
       (st, v))
    st, v = ask("alice@policy.test", key=other_key)
    ok("explain: another key's job is 404", st == 404, (st, v))
    st, v = ask(None)
    ok("explain: no email is 400", st == 400, (st, v))


def delete_done(jid, data_dir):
    st, _, _ = request("DELETE", "/v1/jobs/%s" % jid)
    ok("delete a finished job: 204", st == 204, st)
    st, e = jrequest("GET", "/v1/jobs/%s/files/valid.csv" % jid)
    ok("delete: its files are 404", st == 404, (st, e))
    ok("delete: its folder is gone", not os.path.exists(os.path.join(data_dir, "jobs", jid)))


def errors(data_dir):
    def err(name, got, code, word):
        st, e = got
        ok("errors: %s -> %d %s" % (name, code, word),
           st == code and isinstance(e, dict) and e.get("error") == word and e.get("detail"), (st, e))
    st, _, data = request("POST", "/v1/jobs", b"{not json", {"Content-Type": "application/json"})
    try:
        e = json.loads(data)
    except ValueError:
        e = None
    err("malformed JSON", (st, e), 400, "bad_json")
    err("a name that is not a string", jrequest("POST", "/v1/jobs", {"name": 5}), 400, "bad_request")
    err("a negative max_age_days", jrequest("POST", "/v1/jobs", {"max_age_days": -1}), 400, "bad_request")
    err("a column of the wrong type", jrequest("POST", "/v1/jobs", {"column": [1]}), 400, "bad_request")
    err("a job id that is not one", jrequest("GET", "/v1/jobs/nothex"), 404, "not_found")
    err("a path trick in the id", jrequest("GET", "/v1/jobs/..%2f..%2fkeys"), 404, "not_found")
    j = create(name="errors")
    jid = j["id"]
    err("start with nothing uploaded", jrequest("POST", "/v1/jobs/%s/start" % jid), 409, "nothing_uploaded")
    err("upload without offset", jrequest("PUT", "/v1/jobs/%s/upload" % jid, b"a@b.test\n"), 400, "bad_request")
    err("files before done", jrequest("GET", "/v1/jobs/%s/files/report.json" % jid), 409, "not_done")
    err("a path trick in a file name",
        jrequest("GET", "/v1/jobs/%s/files/..%%2f..%%2f..%%2fkeys" % jid), 404, "not_found")
    err("a file name with a slash", jrequest("GET", "/v1/jobs/%s/files/../upload" % jid), 404, "not_found")
    err("an unknown endpoint of a job", jrequest("GET", "/v1/jobs/%s/nothing" % jid), 404, "not_found")
    err("a wrong method", jrequest("PATCH" if False else "PUT", "/v1/jobs/%s" % jid), 405, "method_not_allowed")
    err("a callback_url to loopback (not allowed by default)",
        jrequest("POST", "/v1/jobs", {"callback_url": "http://127.0.0.1:9/x"}), 400, "bad_callback_url")
    err("a callback_url to a private address",
        jrequest("POST", "/v1/jobs", {"callback_url": "http://10.1.2.3/x"}), 400, "bad_callback_url")
    err("a callback_url that is not http",
        jrequest("POST", "/v1/jobs", {"callback_url": "ftp://example.com/x"}), 400, "bad_callback_url")
    err("a callback_url with a password",
        jrequest("POST", "/v1/jobs", {"callback_url": "http://u:p@example.com/x"}), 400, "bad_callback_url")
    st, _, _ = request("DELETE", "/v1/jobs/%s" % jid)
    ok("errors: the job deleted", st == 204, st)
    # an upload that is not a list: the job fails and says why
    j = create(name="utf16")
    st, _ = jrequest("PUT", "/v1/jobs/%s/upload?offset=0" % j["id"], "email\na@b.test\n".encode("utf-16"))
    jrequest("POST", "/v1/jobs/%s/start" % j["id"])
    done = wait_done(j["id"], 60)
    ok("errors: a UTF-16 upload fails the job, saying why",
       done["state"] == "failed" and "UTF-16" in (done.get("error") or ""), done)
    request("DELETE", "/v1/jobs/%s" % j["id"])


def limit(n):
    """a key may have N jobs not finished; the next is a 429 with Retry-After"""
    made = [create(name="limit%d" % i)["id"] for i in range(int(n))]
    con = http.client.HTTPConnection(HOST.hostname, HOST.port, timeout=30)
    con.request("POST", "/v1/jobs", body=b"{}", headers={"Authorization": "Bearer " + KEY,
                                                         "Content-Type": "application/json"})
    r = con.getresponse()
    body = json.loads(r.read())
    ok("limit: job %d of a key is 429 too_many_jobs with Retry-After" % (int(n) + 1),
       r.status == 429 and body.get("error") == "too_many_jobs" and r.getheader("Retry-After"), (r.status, body))
    for jid in made:
        request("DELETE", "/v1/jobs/%s" % jid)
    ok("limit: after deleting them a job can be made", create(name="after")["id"])


def start_only(path, name):
    """create, upload and start a job; print its id (for kill tests)"""
    j = create(name=name)
    upload(j["id"], path, 1 << 20)
    st, s = jrequest("POST", "/v1/jobs/%s/start" % j["id"])
    if st != 202:
        print("FAIL start %s: %s %s" % (name, st, s))
        sys.exit(1)
    print(j["id"])


def upload_all(path, name):
    """create a job and upload all of PATH; print its id"""
    j = create(name=name)
    upload(j["id"], path, 1 << 20)
    print(j["id"])


def start(jid):
    st, s = jrequest("POST", "/v1/jobs/%s/start" % jid)
    if st != 202:
        print("FAIL start %s: %s %s" % (jid, st, s))
        sys.exit(1)


def upload_some(path, name, chunks):
    """create a job and upload CHUNKS chunks of 64 KiB; print its id"""
    j = create(name=name)
    upload(j["id"], path, 65536, chunks=int(chunks))
    print(j["id"])


def finish_upload(jid, path):
    st, u = jrequest("GET", "/v1/jobs/%s/upload" % jid)
    ok("restart: an upload keeps its bytes (%s)" % (u,), st == 200 and u["offset"] > 0, (st, u))
    upload(jid, path, 1 << 20, first=u["offset"])
    st, s = jrequest("POST", "/v1/jobs/%s/start" % jid)
    ok("restart: the resumed upload starts", st == 202, (st, s))


def finish(jid, outdir):
    done = wait_done(jid)
    ok("job %s is done" % jid, done["state"] == "done", done)
    download(done, outdir)


class Receiver:
    """a loopback HTTP server that records POSTs and answers with CODES in turn (then 200)"""

    def __init__(self, codes=()):
        import http.server
        import threading
        self.codes = list(codes)
        self.got = []
        rec = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                rec.got.append((dict(self.headers), body, self.path))
                code = rec.codes.pop(0) if rec.codes else 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = http.server.HTTPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def wait(self, n, limit=60):
        t0 = time.time()
        while len(self.got) < n and time.time() - t0 < limit:
            time.sleep(0.1)
        return len(self.got) >= n


def callback(path):
    """a finished job POSTs its status to callback_url, signed with the job's secret; a failing
    receiver is tried again until it answers 2xx"""
    import hashlib
    import hmac
    good = Receiver()
    flaky = Receiver([500, 503])
    made = {}
    for name, rec in (("good", good), ("flaky", flaky)):
        j = create(name=name, callback_url="http://127.0.0.1:%d/hook/%s?x=1" % (rec.port, name))
        ok("callback %s: the 201 answer gives a callback_secret" % name,
           len(j.get("callback_secret", "")) == 64, j)
        st, again = jrequest("GET", "/v1/jobs/%s" % j["id"])
        ok("callback %s: the secret is shown only once" % name, "callback_secret" not in again, again)
        upload(j["id"], path, 1 << 20)
        st, s = jrequest("POST", "/v1/jobs/%s/start" % j["id"])
        made[name] = j
    for name, rec, tries in (("good", good, 1), ("flaky", flaky, 3)):
        j = made[name]
        ok("callback %s: %d POST(s) within 60 s" % (name, tries), rec.wait(tries), len(rec.got))
        if len(rec.got) < tries:
            continue
        headers, body, rpath = rec.got[-1]
        want = "sha256=" + hmac.new(j["callback_secret"].encode(), body, hashlib.sha256).hexdigest()
        ok("callback %s: the signature is HMAC-SHA256(secret, body)" % name,
           headers.get("X-Mailsift-Signature") == want, (headers.get("X-Mailsift-Signature"), want))
        doc = json.loads(body)
        ok("callback %s: the body is the job's final status" % name,
           doc["id"] == j["id"] and doc["state"] == "done" and doc["done"] == doc["rows"] > 0, doc)
        ok("callback %s: to the URL's path and query" % name, rpath == "/hook/%s?x=1" % name, rpath)
        t0 = time.time()
        while time.time() - t0 < 10:
            st, s = jrequest("GET", "/v1/jobs/%s" % j["id"])
            if s.get("callback_state") == "delivered":
                break
            time.sleep(0.2)
        ok("callback %s: the status says delivered" % name, s.get("callback_state") == "delivered", s)
    time.sleep(1)
    ok("callback: delivered ones are not sent again", len(good.got) == 1 and len(flaky.got) == 3,
       (len(good.got), len(flaky.got)))


def hook_end(jid, limit=60):
    """JID's callback_state once it is neither unset (the job runs) nor pending, or after LIMIT
    seconds the last one seen"""
    t0 = time.time()
    while True:
        st, s = jrequest("GET", "/v1/jobs/%s" % jid)
        cs = s.get("callback_state") if st == 200 else "status-%d" % st
        if cs not in (None, "pending") or time.time() - t0 > limit:
            return cs
        time.sleep(0.2)


def hook_attempts(data_dir, jid):
    """the tries of JID's callback, from the job store"""
    import sqlite3
    con = sqlite3.connect(os.path.join(data_dir, "mailsift.db"), timeout=10)
    try:
        row = con.execute("SELECT callback_attempts FROM jobs WHERE id = ?", (jid,)).fetchone()
    finally:
        con.close()
    return row[0] if row else None


def callback_name(path, mode, data_dir):
    """callbacks to a host name, resolved with serve's --resolver (the world's zone has hook.test
    A 127.0.0.1 and no nohook.test). MODE allowed (serve has --callback-allow-private):
    hook.test's callback is delivered to the receiver on 127.0.0.1, signed; nohook.test's
    (NXDOMAIN) ends failed after all 6 tries, the server still answering. MODE private (serve
    without it): hook.test's callback is refused, at create (400 bad_callback_url) or when due
    (failed), and nothing reaches the receiver"""
    import hashlib
    import hmac
    rec = Receiver()
    if mode == "private":
        name = "callback to a name of 127.0.0.1 without --callback-allow-private"
        st, j = jrequest("POST", "/v1/jobs", {"name": "hook-private",
                                              "callback_url": "http://hook.test:%d/private" % rec.port})
        if st == 400:
            ok("%s: refused at create (400 bad_callback_url)" % name, j.get("error") == "bad_callback_url", j)
        else:
            ok("%s: made (201; the name is resolved when the callback is due)" % name, st == 201, (st, j))
            upload(j["id"], path, 1 << 20)
            jrequest("POST", "/v1/jobs/%s/start" % j["id"])
            done = wait_done(j["id"])
            ok("%s: the job is done" % name, done["state"] == "done", done)
            cs = hook_end(j["id"])
            ok("%s: refused, the callback ends failed" % name, cs == "failed", cs)
            n = hook_attempts(data_dir, j["id"])
            ok("%s: given up at the first try (asking again changes nothing)" % name, n == 1, n)
        time.sleep(0.3)
        ok("%s: nothing reached the receiver" % name, not rec.got, rec.got)
        return
    j = create(name="hook-name", callback_url="http://hook.test:%d/by-name?n=1" % rec.port)
    nx = create(name="hook-nx", callback_url="http://nohook.test:%d/nx" % rec.port)
    for x in (j, nx):
        upload(x["id"], path, 1 << 20)
        jrequest("POST", "/v1/jobs/%s/start" % x["id"])
    ok("callback to hook.test (A 127.0.0.1) with --callback-allow-private: a POST within 60 s",
       rec.wait(1), rec.got)
    mine = [g for g in rec.got if g[0].get("X-Mailsift-Job") == j["id"]]
    if mine:
        headers, body, rpath = mine[0]
        want = "sha256=" + hmac.new(j["callback_secret"].encode(), body, hashlib.sha256).hexdigest()
        doc = json.loads(body)
        ok("callback to hook.test: signed, the job's final status, to the URL's path, Host hook.test:PORT",
           headers.get("X-Mailsift-Signature") == want and doc["id"] == j["id"] and
           doc["state"] == "done" and rpath == "/by-name?n=1" and
           headers.get("Host", "") == "hook.test:%d" % rec.port, (headers, doc, rpath))
    else:
        ok("callback to hook.test: the POST is this job's", False, rec.got)
    cs = hook_end(j["id"])
    ok("callback to hook.test: the status says delivered", cs == "delivered", cs)
    cs = hook_end(nx["id"])
    ok("callback to nohook.test (NXDOMAIN): the callback ends failed", cs == "failed", cs)
    n = hook_attempts(data_dir, nx["id"])
    ok("callback to nohook.test: given up after 6 tries (%s)" % n, n == 6, n)
    ok("callback to nohook.test: nothing of it reached the receiver",
       not any(g[0].get("X-Mailsift-Job") == nx["id"] for g in rec.got), rec.got)
    st, lst = jrequest("GET", "/v1/jobs/%s" % nx["id"])
    ok("callback to nohook.test: the server still answers, the job done",
       st == 200 and lst["state"] == "done", (st, lst))


def concurrent(path_a, path_b):
    """two jobs and real-time checks at once: real-time answers arrive while the jobs run"""
    ids = []
    for p in (path_a, path_b):
        j = create(name=os.path.basename(p))
        upload(j["id"], p, 1 << 20)
        jrequest("POST", "/v1/jobs/%s/start" % j["id"])
        ids.append(j["id"])
    answered, during, t0 = [], 0, time.time()
    users = ["alice", "bob", "carol", "nobody1", "nobody2", "nobody3"]
    while time.time() - t0 < 240:
        states = [jrequest("GET", "/v1/jobs/%s" % i)[1]["state"] for i in ids]
        if all(s in ("done", "failed") for s in states):
            break
        if len(answered) < len(users):
            addr = "%s@connlimit.test" % users[len(answered)]
            t1 = time.time()
            st, v = jrequest("GET", "/v1/verify?timeout=60&email=" + addr)
            answered.append((addr, st, v.get("status"), v.get("final"), time.time() - t1))
            after = [jrequest("GET", "/v1/jobs/%s" % i)[1]["state"] for i in ids]
            during += any(s not in ("done", "failed") for s in after)
        else:
            time.sleep(0.3)
    for addr, st, status, final, secs in answered:
        print("  real-time %s: %s %s final=%s in %.2f s" % (addr, st, status, final, secs))
    ok("concurrent: both jobs done", all(jrequest("GET", "/v1/jobs/%s" % i)[1]["state"] == "done" for i in ids))
    ok("concurrent: every real-time check answered (200)", answered and all(a[1] == 200 for a in answered), answered)
    ok("concurrent: real-time answers arrived while the jobs ran (%d of %d)" % (during, len(answered)),
       during >= 3, answered)
    ok("concurrent: real-time verdicts are right (alice valid, nobody1 invalid)",
       [a[2] for a in answered[:1]] == ["valid"] and any(a[0].startswith("nobody1") and a[2] == "invalid" for a in answered),
       answered)


def side_by_side(big, small):
    """a small list started after a big one is imported beside it, not after it"""
    jb = create(name="big-import")
    upload(jb["id"], big, 8 << 20)
    js = create(name="small-import")
    upload(js["id"], small, 1 << 20)
    jrequest("POST", "/v1/jobs/%s/start" % jb["id"])
    jrequest("POST", "/v1/jobs/%s/start" % js["id"])
    t0, big_then = time.time(), None
    while time.time() - t0 < 120:
        s_small = jrequest("GET", "/v1/jobs/%s" % js["id"])[1]["state"]
        s_big = jrequest("GET", "/v1/jobs/%s" % jb["id"])[1]["state"]
        if s_small != "importing":
            big_then = s_big
            break
        time.sleep(0.05)
    ok("two imports at once: the small list's import ended while the big one's went on (%s)" % big_then,
       big_then == "importing", big_then)
    for j in (jb, js):
        request("DELETE", "/v1/jobs/%s" % j["id"])


def receiver(portfile, logfile, downfile, limit="300"):
    """a callback receiver in its own process (it outlives a server's restart): 503 while
    DOWNFILE exists, else 200; one line per POST in LOGFILE ("CODE JOB"); stops by itself"""
    import http.server

    class H(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            code = 503 if os.path.exists(downfile) else 200
            with open(logfile, "a") as f:
                f.write("%d %s\n" % (code, self.headers.get("X-Mailsift-Job")))
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), H)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(portfile + ".tmp", portfile)
    srv.timeout = 0.5
    t0 = time.time()
    while time.time() - t0 < float(limit):
        srv.handle_request()


def hook_job(path, port):
    """a job with a callback to the receiver on PORT, started; print its id"""
    j = create(name="hooked", callback_url="http://127.0.0.1:%s/done" % port)
    upload(j["id"], path, 1 << 20)
    jrequest("POST", "/v1/jobs/%s/start" % j["id"])
    print(j["id"])


def hook_state(jid):
    st, j = jrequest("GET", "/v1/jobs/%s" % jid)
    print(j.get("callback_state") if st == 200 else "status-%d" % st)


def state(jid):
    st, j = jrequest("GET", "/v1/jobs/%s" % jid)
    print(j["state"] if st == 200 else "status-%d" % st)


if __name__ == "__main__":
    globals()[sys.argv[1]](*sys.argv[2:])
