#!/bin/sh
# t_deploy - deploy/ (#14). Kubernetes cannot run here (no cluster): deploy_checks.py reads the
# manifests with a YAML parser and checks the fields a cluster acts on (Indexed, completions =
# parallelism = MAILSIFT_SHARDS, backoffLimitPerIndex, restartPolicy Never, podFailurePolicy on
# mailsift's exit statuses as cli/cli.h defines them, one shard per node, the merge reading
# every shard's store), and that every option in the pods' args is one `--help` lists. Then
# the pods' commands themselves run here, as the Job would run them (JOB_COMPLETION_INDEX and
# SHARD set per pod, /data a folder of this test's), against the loopback mail world, and the
# merge pod's command joins them into what one clean of the list writes. The Slurm scripts run
# under a real Slurm in t_slurm.sh; here they are checked for shell syntax.
if [ "${MAILSIFT_NETNS:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
	unshare -n true 2>/dev/null; then
	exec unshare -n sh -c 'ip link set lo up && MAILSIFT_NETNS=1 exec sh "$0"' "$0"
fi
. "$(dirname "$0")/lib.sh"
cd "$WORK" || exit 1
CHECKS="/usr/bin/python3 $TOP/tests/deploy_checks.py"

if ! /usr/bin/python3 -c 'import yaml' 2> /dev/null; then
	fail "python3-yaml is installed" "/usr/bin/python3 cannot import yaml (.ci/run installs python3-yaml)"
	exit 0
fi
$CHECKS fields "$TOP" "$MAILSIFT"
for f in "$TOP"/deploy/slurm/*.sbatch "$TOP"/deploy/slurm/submit.sh; do
	check "slurm: $(basename "$f") is valid shell (sh -n)" sh -n "$f"
done

# ---- the pods' commands, run here ----
cp "$TOP/tests/world/world.zone" "$WORK/world.zone"
world_start $((30000 + ($$ * 17 + 11000) % 20000))
trap 'sh "$TOP/tests/world/world.sh" stop "$WORK/world" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
PROBE="--resolver 127.0.0.1:$((PORT + 1)) --smtp-port $PORT --helo probe.mailsift.test
	--allow-private-mx --mail-from verify@probe.mailsift.test --connect-timeout 2 --timeout 3
	--max-attempts 1 --no-doctor"
mkdir -p data
python3 - data/list.csv <<'PY'
import random, sys
rnd = random.Random(6)
users = ["alice", "bob", "carol", "dave", "erin"]
domains = ["strict.test", "catchall.test", "full.test"]
with open(sys.argv[1], "w") as f:
    f.write("email\n")
    for i in range(120):
        f.write("%s@%s\n" % (rnd.choice(users), rnd.choice(domains)) if i % 23 else "\n,\n")
PY
timeout 120 "$MAILSIFT" clean data/list.csv -o whole $PROBE --quiet 2> /dev/null
check_eq "the reference clean of the list: exit 0" "$?" 0
n=$(sed -n '/name: MAILSIFT_SHARDS/{n;s/.*value: "\([0-9]*\)".*/\1/p}' "$TOP/deploy/kubernetes/shards-job.yaml")
k=0
while [ "$k" -lt "$n" ]; do
	# shellcheck disable=SC2046
	set -- $($CHECKS pod "$TOP" $k "$WORK/data")
	env JOB_COMPLETION_INDEX=$k SHARD=$k MAILSIFT_SHARDS="$n" timeout 120 "$MAILSIFT" "$@" $PROBE \
		> pod$k.out 2> pod$k.err
	check_eq "pod $k's command (shards-job.yaml): exit 0" "$?" 0
	check_contains "pod $k took shard $k/$n from JOB_COMPLETION_INDEX and MAILSIFT_SHARDS" pod$k.err \
		"shard $k/$n (from JOB_COMPLETION_INDEX=$k, MAILSIFT_SHARDS=$n)"
	k=$((k + 1))
done
# shellcheck disable=SC2046
set -- $($CHECKS merge "$TOP" "$WORK/data")
"$MAILSIFT" "$@" > merge.out 2> merge.err
check_eq "the merge pod's command (merge-job.yaml): exit 0" "$?" 0
check "the merged files equal the reference clean's row for row" \
	python3 "$TOP/tests/run/check.py" compare whole data/merged
