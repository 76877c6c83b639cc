#!/usr/bin/env python3
"""check.py - helpers of tests/t_run.sh: exported verdicts against the list's `expect` column,
two exports compared row by row, report.json's "run" object, and smtpd.log analysis.

  check.py verdicts OUTDIR LABEL          PASS/FAIL line per `group` of the input list
  check.py compare REF OUT                rows equal on input columns + address/status/reason
  check.py report REPORT HOST FIELD       a field of run.hosts[host] ("missing" when absent)
  check.py runinfo REPORT                 the "run" object on one line (for messages)
  check.py log WHAT LOG SINCE [ARGS]      smtpd.log lines after line SINCE (see log_* below)

The input lists have the columns email, group, expect; expect is STATUS/REASON[|REASON...].
"""
import csv
import glob
import json
import os
import re
import sys

VERDICT_FILES = ("valid", "invalid", "risky", "catch_all", "unknown", "duplicates")


def read_exports(outdir):
    """[(file, row dict)] of every exported CSV of OUTDIR, in file order"""
    rows = []
    for name in VERDICT_FILES:
        path = os.path.join(outdir, name + ".csv")
        if not os.path.exists(path):
            continue
        with open(path, newline="", encoding="utf-8", errors="surrogateescape") as f:
            for r in csv.DictReader(f):
                rows.append((name, r))
    return rows


def cmd_verdicts(outdir, label):
    rows = read_exports(outdir)
    groups = {}
    for fname, r in rows:
        g = groups.setdefault(r.get("group", "?"), {"n": 0, "bad": []})
        g["n"] += 1
        want_status, want_reasons = r["expect"].split("/", 1)
        got = (r.get("mailsift_status"), r.get("mailsift_reason"))
        if fname == "duplicates" or got[0] != want_status or got[1] not in want_reasons.split("|") \
                or fname != got[0]:
            g["bad"].append("%s in %s.csv: %s/%s (code %s %s, \"%s\", mx %s, detail %s), want %s" % (
                r["email"], fname, got[0], got[1], r.get("mailsift_smtp_code"),
                r.get("mailsift_enhanced_code"), r.get("mailsift_smtp_message"),
                r.get("mailsift_mx_host"), r.get("mailsift_detail"), r["expect"]))
    if not groups:
        print("FAIL %s: no exported rows in %s" % (label, outdir))
    for name in sorted(groups):
        g = groups[name]
        title = "%s: %s verdicts right (%d rows)" % (label, name, g["n"])
        if g["bad"]:
            print("FAIL %s: %d wrong: %s" % (title, len(g["bad"]), "; ".join(g["bad"][:6])))
        else:
            print("PASS " + title)


def cmd_compare(ref, out):
    """Rows must be equal on the input columns and mailsift_address/status/reason, in the same
    file and order. Other annotation columns are compared too but only reported (checked_at
    always differs; smtp_message/code may legitimately come from another try)."""
    key_cols = ("mailsift_address", "mailsift_status", "mailsift_reason")
    a, b = read_exports(ref), read_exports(out)
    bad, notes = [], []
    if len(a) != len(b):
        bad.append("%d rows vs %d rows" % (len(a), len(b)))
    for (fa, ra), (fb, rb) in zip(a, b):
        input_cols = [c for c in ra if not c.startswith("mailsift_")]
        ka = [fa] + [ra[c] for c in input_cols] + [ra.get(c) for c in key_cols]
        kb = [fb] + [rb.get(c) for c in input_cols] + [rb.get(c) for c in key_cols]
        if ka != kb:
            bad.append("%s vs %s" % ("/".join(map(str, ka)), "/".join(map(str, kb))))
            continue
        for c in ra:
            if c.startswith("mailsift_") and c not in key_cols and c != "mailsift_checked_at" \
                    and ra[c] != rb.get(c):
                notes.append("%s %s: [%s] vs [%s]" % (ra["email"], c, ra[c], rb.get(c)))
    for n in notes[:5]:
        print("  note (not compared): " + n)
    if len(notes) > 5:
        print("  note: %d more differences in uncompared columns" % (len(notes) - 5))
    if bad:
        print("  differences: " + "; ".join(bad[:6]))
        return 1
    return 0


def load_run(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f).get("run")
    except (OSError, ValueError) as e:
        return {"error": str(e)}


def cmd_report(path, host, field):
    """run.hosts entries of HOST (one per source address): FIELD summed (max_window: the max)"""
    run = load_run(path)
    vals = [h.get(field) for h in (run or {}).get("hosts") or [] if h.get("host") == host]
    if not vals or any(not isinstance(v, int) for v in vals):
        print("missing")
    else:
        print(max(vals) if field == "max_window" else sum(vals))


def cmd_runinfo(path):
    """the "run" object, hosts one per line: host/source sessions max_window pushback cf pauses"""
    run = load_run(path)
    if not isinstance(run, dict):
        print(json.dumps(run))
        return
    print(json.dumps({k: v for k, v in run.items() if k != "hosts"}))
    for h in sorted(run.get("hosts") or [], key=lambda h: (str(h.get("host")), str(h.get("source")))):
        print("    %s/%s sessions=%s max_window=%s pushback=%s connect_failures=%s pauses=%s" % tuple(
            h.get(k) for k in ("host", "source", "sessions", "max_window", "pushback",
                               "connect_failures", "pauses")))


# ---- smtpd.log: "<sid> <persona-addr> <client-addr:port> EVENT ..." ----

def sessions(log, since):
    """{sid: {"persona", "ip", "lines": [event text]}} for sessions opened after line SINCE"""
    out = {}
    with open(log, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            if n <= since:
                continue
            parts = line.rstrip("\n").split(" ", 3)
            if len(parts) < 4 or parts[0] == "-":
                continue
            sid, persona, client, ev = parts
            s = out.get(sid)
            if s is None:
                if not ev.startswith("OPEN "):
                    continue  # opened before SINCE
                s = out[sid] = {"persona": persona, "ip": client.rsplit(":", 1)[0], "lines": []}
            s["lines"].append(ev)
    return out


def log_opens(ss, args):
    """OPEN count [PERSONA]"""
    print(sum(1 for s in ss.values() if not args or s["persona"] == args[0]))


def log_banner421(ss, args):
    """sessions of PERSONA refused with a 421 banner, per client ip: "total ip=n ..." """
    per = {}
    for s in ss.values():
        if s["persona"] != args[0]:
            continue
        first = next((l for l in s["lines"] if l.startswith("S: ")), "")
        if first.startswith("S: 421"):
            per[s["ip"]] = per.get(s["ip"], 0) + 1
    print(sum(per.values()), " ".join("%s=%d" % kv for kv in sorted(per.items())))


def log_maxopen(ss, args):
    """highest client= of PERSONA's OPEN lines, per client ip"""
    per = {}
    for s in ss.values():
        if s["persona"] != args[0]:
            continue
        m = re.search(r" client=(\d+)", s["lines"][0])
        if m:
            per[s["ip"]] = max(per.get(s["ip"], 0), int(m.group(1)))
    print(" ".join("%s=%d" % kv for kv in sorted(per.items())) or "none")


def log_grey(ss, args):
    """greylisted recipients whose tries came from more than one (ip, sender); "bad/total" """
    triples = {}
    with_pass = set()
    for s in ss.values():
        for l in s["lines"]:
            m = re.match(r"GREY (\w+) ip=(\S+) from=(<[^>]*>) rcpt=(<[^>]*>)", l)
            if m:
                triples.setdefault(m.group(4).lower(), set()).add((m.group(2), m.group(3)))
                if m.group(1) == "pass":
                    with_pass.add(m.group(4).lower())
    bad = sorted(r for r, t in triples.items() if len(t) > 1)
    print("%d/%d passed=%d %s" % (len(bad), len(triples), len(with_pass),
                                  " ".join("%s:%s" % (r, sorted(triples[r])) for r in bad[:3])))


def rcpt_of(line):
    m = re.match(r"C: RCPT TO:\s*<([^>]*)>", line, re.I)
    return m.group(1).lower() if m else None


def log_probes(ss, args):
    """RCPTs per domain matching REGEX to addresses that are not in LIST.csv: "dom=n ...";
    with a third argument `distinct`: distinct such addresses per domain"""
    regex, listfile = re.compile(args[0]), args[1]
    distinct = args[2:] == ["distinct"]
    seen = set()
    with open(listfile, newline="", encoding="utf-8") as f:
        known = {r["email"].lower() for r in csv.DictReader(f)}
    per = {}
    for s in ss.values():
        for l in s["lines"]:
            a = rcpt_of(l)
            if a and "@" in a:
                dom = a.rsplit("@", 1)[1]
                if regex.fullmatch(dom):
                    per.setdefault(dom, 0)
                    if a not in known and not (distinct and a in seen):
                        per[dom] += 1
                        seen.add(a)
    print(" ".join("%s=%d" % kv for kv in sorted(per.items())) or "none")


def log_rcpts(ss, args):
    """distinct recipients RCPT'd in domains matching REGEX [that are in LIST.csv]"""
    regex = re.compile(args[0])
    got = {rcpt_of(l) for s in ss.values() for l in s["lines"]
           if rcpt_of(l) and regex.fullmatch(rcpt_of(l).rsplit("@", 1)[-1])}
    if len(args) > 1:
        with open(args[1], newline="", encoding="utf-8") as f:
            got &= {r["email"].lower() for r in csv.DictReader(f)}
    print(len(got))


def log_noquit(ss, args):
    """sessions that sent MAIL but not QUIT, not closed by the server (421, ...), from a client
    other than EXCLUDE-IP...: "n sid:persona:ip:close ..." """
    bad = []
    for sid, s in ss.items():
        if s["ip"] in args:
            continue
        mail = any(re.match(r"C: MAIL", l, re.I) for l in s["lines"])
        quit_ = any(re.match(r"C: QUIT", l, re.I) for l in s["lines"])
        close = next((l for l in s["lines"] if l.startswith("CLOSE ")), "CLOSE (open)")
        if mail and not quit_ and not close.startswith("CLOSE server"):
            bad.append("%s:%s:%s:%s" % (sid, s["persona"], s["ip"], close.split(" state")[0]))
    print(len(bad), " ".join(bad[:5]))


def log_norset(ss, args):
    """sessions with a second MAIL not preceded by RSET since the first: "n sid..." """
    bad = []
    for sid, s in ss.items():
        seen_mail = False
        for l in s["lines"]:
            if re.match(r"C: MAIL", l, re.I):
                if seen_mail:
                    bad.append(sid)
                    break
                seen_mail = True
            elif re.match(r"C: (RSET|STARTTLS)", l, re.I) or re.match(r"TLS ok", l):
                seen_mail = False
    print(len(bad), " ".join(bad[:5]))


def log_maxrejects(ss, args):
    """most 5xx RCPT replies in one session, and the most RCPTs: "rejects sid rcpts sid" """
    best_rej, best_rcpt = (0, "-"), (0, "-")
    for sid, s in ss.items():
        rej = rcpts = 0
        last_rcpt = False
        for l in s["lines"]:
            if l.startswith("C: "):
                last_rcpt = rcpt_of(l) is not None
                rcpts += last_rcpt
            elif l.startswith("S: 5") and last_rcpt:
                rej += 1
        best_rej = max(best_rej, (rej, sid))
        best_rcpt = max(best_rcpt, (rcpts, sid))
    print("%d %s %d %s" % (best_rej + best_rcpt))


def log_sessions(ss, args):
    """sessions of PERSONA that sent MAIL, and the most domains RCPT'd in one of them"""
    n, most = 0, 0
    for s in ss.values():
        if s["persona"] != args[0] or not any(re.match(r"C: MAIL", l, re.I) for l in s["lines"]):
            continue
        n += 1
        most = max(most, len({rcpt_of(l).rsplit("@", 1)[-1] for l in s["lines"] if rcpt_of(l)}))
    print(n, most)


def log_clients(ss, args):
    """client ips that opened sessions"""
    print(" ".join(sorted({s["ip"] for s in ss.values()})) or "none")


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "verdicts":
        cmd_verdicts(argv[2], argv[3])
    elif cmd == "compare":
        return cmd_compare(argv[2], argv[3])
    elif cmd == "report":
        cmd_report(argv[2], argv[3], argv[4])
    elif cmd == "runinfo":
        cmd_runinfo(argv[2])
    elif cmd == "log":
        fn = globals().get("log_" + argv[2])
        if not fn:
            sys.exit("check.py: no log analysis " + argv[2])
        fn(sessions(argv[3], int(argv[4])), argv[5:])
    else:
        sys.exit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
