"""changes_checks - changes.csv, report.json's transitions and serve's job status, for
tests/t_changes.sh.

Usage: changes_checks.py COMMAND ARGS...; every check prints "PASS name" or "FAIL name: why".
  changes BEFORE AFTER WANT LABEL   AFTER/changes.csv holds exactly the rows WANT names, each with
                                    the status and checked_at BEFORE's files gave its address, the
                                    rest of the row as in AFTER's verdict file; report.json counts
                                    the same transitions
  unchanged OUT LABEL               OUT/changes.csv is its header alone, no transitions
  gzip PLAIN GZ                     GZ/changes.csv.gz gunzips to PLAIN/changes.csv
  job LIST NAME IDFILE [MAX_AGE]    (serve: URL, KEY) a job of LIST run to its end; its id
                                    written to IDFILE
  job_changes JID WANT OUTDIR LABEL (serve) the job's status carries WANT's transitions and
                                    changes.csv among its files; its changes.csv (downloaded to
                                    OUTDIR) names WANT's rows with their previous status
WANT is ADDRESS=PREV>CUR,... (empty: no change).
"""
import csv
import gzip
import io
import json
import os
import sys
import time

VERDICT_FILES = ("valid", "invalid", "risky", "catch_all", "unknown")
CHANGE_COLUMNS = ["mailsift_previous_status", "mailsift_previous_checked_at"]


def ok(name, cond, why=""):
    print(("PASS %s" % name) if cond else ("FAIL %s: %s" % (name, why)))
    return cond


def parse_want(text):
    """{address: (previous, current)} of WANT"""
    want = {}
    for item in filter(None, text.split(",")):
        addr, pair = item.split("=", 1)
        prev, cur = pair.split(">", 1)
        want[addr] = (prev, cur)
    return want


def transitions(want):
    counts = {}
    for prev, cur in want.values():
        key = "%s->%s" % (prev, cur)
        counts[key] = counts.get(key, 0) + 1
    return counts


def read_csv(path):
    """(header, rows as lists) of the CSV file at PATH"""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def verdict_rows(outdir):
    """{mailsift_address: row dict} of OUTDIR's verdict files (duplicates apart), and the
    header those files share"""
    got, header = {}, None
    for name in VERDICT_FILES:
        header, rows = read_csv(os.path.join(outdir, name + ".csv"))
        for r in rows:
            got[r[header.index("mailsift_address")]] = (dict(zip(header, r)), r)
    return got, header


def cmd_changes(before, after, want_text, label):
    want = parse_want(want_text)
    was, _ = verdict_rows(before)
    now, header = verdict_rows(after)
    ch_header, rows = read_csv(os.path.join(after, "changes.csv"))
    ok("%s: changes.csv has the columns of the other files, then %s" % (label, ", ".join(CHANGE_COLUMNS)),
       ch_header == header + CHANGE_COLUMNS, (ch_header, header))
    got = {r[ch_header.index("mailsift_address")]: r for r in rows}
    ok("%s: changes.csv holds exactly the rows whose status changed (%d)" % (label, len(want)),
       sorted(got) == sorted(want) and len(rows) == len(want), (sorted(got), sorted(want)))
    bad = []
    for addr, r in got.items():
        if addr not in want:
            continue
        d = dict(zip(ch_header, r))
        prev_row = was.get(addr, ({}, None))[0]
        if (d["mailsift_previous_status"], d["mailsift_status"]) != want[addr]:
            bad.append("%s: %s->%s, want %s->%s" % ((addr, d["mailsift_previous_status"],
                       d["mailsift_status"]) + want[addr]))
        if d["mailsift_previous_status"] != prev_row.get("mailsift_status"):
            bad.append("%s: previous status %s, the earlier export says %s" % (
                addr, d["mailsift_previous_status"], prev_row.get("mailsift_status")))
        if not d["mailsift_previous_checked_at"] or \
                d["mailsift_previous_checked_at"] != prev_row.get("mailsift_checked_at"):
            bad.append("%s: previous checked_at %r, the earlier export says %r" % (
                addr, d["mailsift_previous_checked_at"], prev_row.get("mailsift_checked_at")))
        if addr not in now or r[:len(header)] != now[addr][1]:
            bad.append("%s: the row differs from its verdict file's" % addr)
    ok("%s: each changed row gives the status and checked_at the earlier export showed, the "
       "rest as its verdict file" % label, not bad, "; ".join(bad))
    report = json.load(open(os.path.join(after, "report.json")))
    ok("%s: report.json counts the transitions %s" % (label, transitions(want)),
       report["total"]["transitions"] == transitions(want) and
       all(l["counts"]["transitions"] == transitions(want) for l in report["lists"]),
       (report["total"].get("transitions"), [l["counts"].get("transitions") for l in report["lists"]]))
    files = {f["path"]: f for f in report["files"]}
    ok("%s: report.json lists changes.csv with its rows" % label,
       files.get("changes.csv", {}).get("rows") == len(want), report["files"])


def cmd_unchanged(outdir, label):
    with open(os.path.join(outdir, "changes.csv"), "rb") as f:
        lines = f.read().split(b"\r\n")
    ok("%s: changes.csv is its header alone" % label,
       len(lines) == 2 and lines[1] == b"" and lines[0].endswith(b",mailsift_previous_checked_at"),
       lines[:3])
    report = json.load(open(os.path.join(outdir, "report.json")))
    ok("%s: report.json counts no transition" % label, report["total"]["transitions"] == {},
       report["total"].get("transitions"))


def cmd_gzip(plain, gz):
    with open(os.path.join(plain, "changes.csv"), "rb") as f:
        want = f.read()
    with gzip.open(os.path.join(gz, "changes.csv.gz"), "rb") as f:
        got = f.read()
    ok("--gzip: changes.csv.gz gunzips to changes.csv", got == want, (got[:200], want[:200]))


# ---- serve ----

def request(method, path, body=None):
    """serve's API with jobs_checks' client (imported here: it wants URL and KEY set)"""
    import jobs_checks
    st, _, data = jobs_checks.request(method, path, body)
    return st, data


def jrequest(method, path, body=None):
    import jobs_checks
    return jobs_checks.jrequest(method, path, body)


def cmd_job(path, name, idfile, max_age=None):
    fields = {"name": name}
    if max_age is not None:
        fields["max_age_days"] = float(max_age)
    st, j = jrequest("POST", "/v1/jobs", fields)
    with open(path, "rb") as f:
        st2, _ = request("PUT", "/v1/jobs/%s/upload?offset=0" % j["id"], f.read())
    st3, _ = jrequest("POST", "/v1/jobs/%s/start" % j["id"])
    if (st, st2, st3) != (201, 200, 202):
        print("FAIL job %s: create %s, upload %s, start %s" % (name, st, st2, st3))
        sys.exit(1)
    for _ in range(600):
        st, s = jrequest("GET", "/v1/jobs/" + j["id"])
        if s["state"] in ("done", "failed"):
            break
        time.sleep(0.2)
    ok("job %s ends done" % name, s["state"] == "done", s)
    with open(idfile, "w") as f:
        f.write(j["id"])


def cmd_job_changes(jid, want_text, outdir, label):
    want = parse_want(want_text)
    st, s = jrequest("GET", "/v1/jobs/" + jid)
    ok("%s: the job status carries the transitions %s" % (label, transitions(want)),
       s.get("transitions") == transitions(want), s.get("transitions"))
    files = {f["name"]: f for f in s.get("files", [])}
    ok("%s: changes.csv is among the job's files" % label, "changes.csv" in files, sorted(files))
    if "changes.csv" not in files:
        return
    st, data = request("GET", files["changes.csv"]["url"])
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "changes.csv"), "wb") as f:
        f.write(data)
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))
    got = {r["mailsift_address"]: (r["mailsift_previous_status"], r["mailsift_status"]) for r in rows}
    ok("%s: the job's changes.csv names the changed rows with their previous status" % label,
       got == want and len(rows) == len(want), (got, want))


if __name__ == "__main__":
    globals()["cmd_" + sys.argv[1]](*sys.argv[2:])
