"""serve_load - the HTTP clients of bench/serve.sh (loopback only, bounded in count and time).

  serve_load.py verify ADDRESSES_FILE THREADS
      every address once, THREADS clients at once; prints "CHECKS SECONDS P50_MS P99_MS FINAL"
  serve_load.py upload FILE CHUNK_BYTES
      a job, FILE uploaded in chunks; prints "BYTES SECONDS JOB_ID"
  serve_load.py long ADDRESSES_FILE THREADS PID SAMPLE_AT
      every address once, THREADS clients at once, as `verify`; the resident set of process PID
      (serve) read when SAMPLE_AT checks are done and at the end; prints "CHECKS SECONDS
      RSS_AT_KIB RSS_END_KIB FINAL", then the resident set (KiB) after each tenth of the
      checks on one line (at most LONG_LIMIT seconds)
  serve_load.py import FILE
      a job, FILE uploaded, started; the time from start until the import ended (state no
      longer importing); prints "ROWS SECONDS"
URL and KEY come from the environment.
"""
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse

URL = urllib.parse.urlsplit(os.environ["URL"])
KEY = os.environ["KEY"]
LIMIT = 600.0  # seconds any one command may take
LONG_LIMIT = 3600.0  # seconds the long command may take


def con():
    return http.client.HTTPConnection(URL.hostname, URL.port, timeout=120)


def call(c, method, path, body=None):
    c.request(method, path, body=body, headers={"Authorization": "Bearer " + KEY})
    r = c.getresponse()
    data = r.read()
    return r.status, data


def check_all(addrs, threads, limit, done):
    """every address of ADDRS asked once by THREADS clients (at most LIMIT seconds); DONE(status,
    answer, seconds) runs under a lock after each; returns the wall seconds"""
    lock = threading.Lock()
    todo = iter(addrs)
    t_end = time.time() + limit

    def worker():
        c = con()
        while time.time() < t_end:
            with lock:
                a = next(todo, None)
            if a is None:
                break
            t0 = time.perf_counter()
            st, data = call(c, "GET", "/v1/verify?timeout=60&email=" + urllib.parse.quote(a))
            dt = time.perf_counter() - t0
            v = json.loads(data)
            with lock:
                done(st, v, dt)
        c.close()

    t0 = time.perf_counter()
    ts = [threading.Thread(target=worker) for _ in range(int(threads))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return time.perf_counter() - t0


def addresses(path):
    return [l.strip() for l in open(path) if l.strip()]


def verify(path, threads):
    lat, final = [], [0]

    def done(st, v, dt):
        lat.append(dt)
        final[0] += st == 200 and v.get("final") is True

    secs = check_all(addresses(path), threads, LIMIT, done)
    lat.sort()
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else 0
    print("%d %.3f %.2f %.2f %d" % (len(lat), secs, p(0.50), p(0.99), final[0]))


def rss_kib(pid):
    for l in open("/proc/%s/status" % pid):
        if l.startswith("VmRSS:"):
            return int(l.split()[1])
    return 0


def long_(path, threads, pid, sample_at):
    addrs = addresses(path)
    sample_at = int(sample_at)
    tenth = max(1, len(addrs) // 10)
    state = {"done": 0, "final": 0, "rss_at": 0, "tenths": []}

    def done(st, v, dt):
        state["done"] += 1
        state["final"] += st == 200 and v.get("final") is True
        if state["done"] == sample_at:
            state["rss_at"] = rss_kib(pid)
        if state["done"] % tenth == 0:
            state["tenths"].append(rss_kib(pid))

    secs = check_all(addrs, threads, LONG_LIMIT, done)
    print("%d %.3f %d %d %d" % (state["done"], secs, state["rss_at"], rss_kib(pid), state["final"]))
    print(" ".join(str(k) for k in state["tenths"]))


def new_job(c, name):
    st, data = call(c, "POST", "/v1/jobs", json.dumps({"name": name}).encode())
    if st != 201:
        sys.exit("bench: cannot make a job: %s %s" % (st, data[:200]))
    return json.loads(data)["id"]


def send(c, jid, path, chunk):
    off = 0
    with open(path, "rb") as f:
        while True:
            data = f.read(chunk)
            if not data:
                return off
            st, ans = call(c, "PUT", "/v1/jobs/%s/upload?offset=%d" % (jid, off), data)
            if st != 200:
                sys.exit("bench: upload failed at %d: %s %s" % (off, st, ans[:200]))
            off += len(data)


def upload(path, chunk):
    c = con()
    jid = new_job(c, "upload-bench")
    t0 = time.perf_counter()
    n = send(c, jid, path, int(chunk))
    secs = time.perf_counter() - t0
    print("%d %.3f %s" % (n, secs, jid))


def import_(path):
    c = con()
    jid = new_job(c, "import-bench")
    send(c, jid, path, 8 << 20)
    t0 = time.perf_counter()
    st, data = call(c, "POST", "/v1/jobs/%s/start" % jid)
    if st != 202:
        sys.exit("bench: start failed: %s %s" % (st, data[:200]))
    while time.perf_counter() - t0 < LIMIT:
        st, data = call(c, "GET", "/v1/jobs/%s" % jid)
        j = json.loads(data)
        if j["state"] != "importing":
            break
        time.sleep(0.05)
    secs = time.perf_counter() - t0
    print("%d %.3f" % (j["rows"], secs))


if __name__ == "__main__":
    {"verify": verify, "upload": upload, "import": import_, "long": long_}[sys.argv[1]](*sys.argv[2:])
