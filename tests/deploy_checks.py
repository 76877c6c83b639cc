"""deploy_checks - the Kubernetes manifests of deploy/kubernetes, read with a YAML parser, for
tests/t_deploy.sh. No cluster runs here: the checks are on the fields a cluster would act on,
and the pods' commands are printed for the test to run for real.

  deploy_checks.py fields TOP MAILSIFT     PASS/FAIL per field check
  deploy_checks.py pod TOP K DATA          shard K's pod's argv (one per line), /data as DATA
  deploy_checks.py merge TOP DATA          the merge pod's argv, /data as DATA

Run with Debian's /usr/bin/python3 (python3-yaml).
"""
import os
import re
import subprocess
import sys

import yaml


def ok(name, cond, why=""):
    print(("PASS %s" % name) if cond else ("FAIL %s: %s" % (name, why)))
    return cond


def load(top, name):
    with open(os.path.join(top, "deploy", "kubernetes", name)) as f:
        return yaml.safe_load(f)


def exit_status(top, name):
    """EXIT_<NAME>'s value in cli/cli.h"""
    with open(os.path.join(top, "cli", "cli.h")) as f:
        m = re.search(r"#define EXIT_%s (\d+)" % name, f.read())
    return int(m.group(1))


def container(job):
    return job["spec"]["template"]["spec"]["containers"][0]


def env_of(c):
    return {e["name"]: e for e in c.get("env", [])}


def options_known(mailsift, args):
    """the --options of ARGS missing from `mailsift COMMAND --help`"""
    helptext = subprocess.run([mailsift, args[0], "--help"], capture_output=True, text=True).stdout
    return [a for a in args[1:] if a.startswith("--") and a not in helptext]


def cmd_fields(top, mailsift):
    job = load(top, "shards-job.yaml")
    merge = load(top, "merge-job.yaml")
    spec = job["spec"]
    pod = spec["template"]["spec"]
    c = container(job)
    env = env_of(c)
    n = int(env["MAILSIFT_SHARDS"]["value"])
    ok("k8s: the shards are a batch/v1 Job", (job["apiVersion"], job["kind"]) == ("batch/v1", "Job"))
    ok("k8s: completionMode Indexed", spec.get("completionMode") == "Indexed", spec.get("completionMode"))
    ok("k8s: completions = parallelism = MAILSIFT_SHARDS (N = %d)" % n,
       spec.get("completions") == n and spec.get("parallelism") == n,
       (spec.get("completions"), spec.get("parallelism"), n))
    ok("k8s: backoffLimitPerIndex set (a shard retried alone)", spec.get("backoffLimitPerIndex", 0) >= 1,
       spec.get("backoffLimitPerIndex"))
    ok("k8s: restartPolicy Never (podFailurePolicy needs it)", pod.get("restartPolicy") == "Never")
    rules = spec.get("podFailurePolicy", {}).get("rules", [])

    def rule(action, code):
        return [r for r in rules if r.get("action") == action and
                code in r.get("onExitCodes", {}).get("values", []) and
                r["onExitCodes"].get("operator") == "In" and
                r["onExitCodes"].get("containerName") == c["name"]]
    blocked = exit_status(top, "SMTP_BLOCKED")
    ok("k8s: podFailurePolicy FailIndex on exit %d (outbound SMTP blocked, cli/cli.h)" % blocked,
       len(rule("FailIndex", blocked)) == 1, rules)
    usage = exit_status(top, "USAGE")
    ok("k8s: podFailurePolicy FailJob on exit %d (usage error)" % usage,
       len(rule("FailJob", usage)) == 1, rules)
    interrupted = exit_status(top, "INTERRUPTED")
    ok("k8s: no rule fails an interrupted shard (exit %d: it resumes)" % interrupted,
       not any(interrupted in r.get("onExitCodes", {}).get("values", []) for r in rules))
    ok("k8s: disruptions (DisruptionTarget) are ignored, not counted",
       any(r.get("action") == "Ignore" and {"type": "DisruptionTarget"} in r.get("onPodConditions", [])
           for r in rules), rules)
    anti = pod.get("affinity", {}).get("podAntiAffinity", {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution", [])
    labels = spec["template"]["metadata"]["labels"]
    ok("k8s: one shard per node (required anti-affinity on kubernetes.io/hostname, own labels)",
       any(t.get("topologyKey") == "kubernetes.io/hostname" and
           t.get("labelSelector", {}).get("matchLabels") == labels for t in anti), anti)
    ok("k8s: the shard probes from its node's address (hostNetwork)", pod.get("hostNetwork") is True)
    args = c["args"]
    ok("k8s: the shard runs mailsift clean of a list on the volume",
       args[0] == "clean" and args[1].startswith("/data/"), args)
    ok("k8s: SHARD is the pod's completion index (the output folder)",
       env.get("SHARD", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") ==
       "metadata.annotations['batch.kubernetes.io/job-completion-index']", env.get("SHARD"))
    out = args[args.index("-o") + 1]
    ok("k8s: each shard writes its own folder (-o ends in $(SHARD))", out.endswith("/$(SHARD)"), out)
    ok("k8s: no --shard in the args (K from JOB_COMPLETION_INDEX, N from MAILSIFT_SHARDS)",
       "--shard" not in args and "--shards" not in args, args)
    missing = options_known(mailsift, args)
    ok("k8s: every option of the shard's args is in `mailsift clean --help`", not missing, missing)
    mounts = [m["mountPath"] for m in c.get("volumeMounts", [])]
    ok("k8s: the volume is mounted at /data", mounts == ["/data"], mounts)
    claim = pod["volumes"][0]["persistentVolumeClaim"]["claimName"]
    mspec = merge["spec"]
    mc = container(merge)
    margs = mc["args"]
    want = [out.replace("$(SHARD)", str(k)) + "/mailsift.db" for k in range(n)]
    ok("k8s: the merge Job reads the N shards' stores, 0 to N-1",
       margs[0] == "merge" and margs[1:1 + n] == want and margs[1 + n] == "-o", (margs, want))
    missing = options_known(mailsift, margs)
    ok("k8s: every option of the merge's args is in `mailsift merge --help`", not missing, missing)
    ok("k8s: the merge uses the same volume and image",
       merge["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == claim and
       mc["image"] == c["image"] and [m["mountPath"] for m in mc["volumeMounts"]] == ["/data"])
    ok("k8s: the merge is not retried (backoffLimit 0, restartPolicy Never)",
       mspec.get("backoffLimit") == 0 and mspec["template"]["spec"].get("restartPolicy") == "Never")


def argv(args, data, k=None):
    for a in args:
        a = a.replace("/data", data, 1) if a.startswith("/data") else a
        if k is not None:
            a = a.replace("$(SHARD)", str(k))
        print(a)


def cmd_pod(top, k, data):
    argv(container(load(top, "shards-job.yaml"))["args"], data, int(k))


def cmd_merge(top, data):
    argv(container(load(top, "merge-job.yaml"))["args"], data)


if __name__ == "__main__":
    globals()["cmd_" + sys.argv[1]](*sys.argv[2:])
