#!/bin/sh
# t_slurm - shards run by a real Slurm (#14): munged, slurmctld and slurmd for one node on
# loopback (../shared/notes/loopback-recipes.md), everything in this test's own folder (key,
# sockets, state, logs); deploy/slurm/submit.sh submits a 4-task array that runs `mailsift
# clean` against the loopback mail world, each task with its own --source 127.0.0.x and its
# shard taken from SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT (no --shard), then the merge
# as an afterok dependency. The merged
# files equal a single `clean` of the list row for row (every column but mailsift_checked_at).
# Everything it started is stopped by process id. Needs Debian's slurm-wlm and munge (.ci/run
# installs them): without them the test fails, saying so.
# A network namespace of its own (also inside run.sh's): its loopback gets 127.0.0.2/32 as well,
# because glibc's getaddrinfo with AI_ADDRCONFIG, which Slurm uses, counts no IPv4 address when
# 127.0.0.1 is the only one, and then Slurm cannot resolve even "127.0.0.1".
if [ "${T_SLURM_NETNS:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
	unshare -n true 2>/dev/null; then
	exec unshare -n sh -c 'ip link set lo up && ip addr add 127.0.0.2/32 dev lo &&
		MAILSIFT_NETNS=1 T_SLURM_NETNS=1 exec sh "$0"' "$0"
fi
. "$(dirname "$0")/lib.sh"
cd "$WORK" || exit 1

for bin in munged slurmctld slurmd sbatch squeue; do
	if ! command -v $bin > /dev/null 2>&1; then
		fail "Slurm is installed ($bin)" "not found: apt-get install slurm-wlm munge (.ci/run does)"
		exit 0
	fi
done
if [ "$(id -u)" != 0 ]; then
	fail "Slurm test runs as root" "munged runs as the munge user and slurmd starts jobs: needs root"
	exit 0
fi

cp "$TOP/tests/world/world.zone" "$WORK/world.zone"
world_start $((30000 + ($$ * 13 + 3000) % 20000)) "$TOP/tests/world/personas.conf"
MPID= CPID= DPID=
# SLURM_T_KEEP=DIR keeps the test's folder (logs, stores, exports) there for a post-mortem
trap 'kill $DPID $CPID 2>/dev/null; sleep 0.5; kill -9 $DPID $CPID 2>/dev/null
	[ -n "$MPID" ] && kill "$MPID" 2>/dev/null
	sh "$TOP/tests/world/world.sh" stop "$WORK/world" >/dev/null 2>&1
	[ -n "${SLURM_T_KEEP:-}" ] && rm -rf "$SLURM_T_KEEP" && cp -a "$WORK" "$SLURM_T_KEEP"
	rm -rf "$WORK"' EXIT

# ---- munged, as its user, with a key and a socket of this test's ----
S="$WORK/slurm"
mkdir -p "$S/munge" "$S/state" "$S/spool" "$S/out"
chmod 755 "$WORK" "$S"
dd if=/dev/urandom bs=1 count=1024 of="$S/munge/munge.key" 2> /dev/null
chown -R munge:munge "$S/munge"
chmod 755 "$S/munge" # munged: the socket's folder must be searchable by all
chmod 400 "$S/munge/munge.key"
runuser -u munge -- munged --socket="$S/munge/munge.sock" --key-file="$S/munge/munge.key" \
	--pid-file="$S/munge/munged.pid" --log-file="$S/munge/munged.log" \
	--seed-file="$S/munge/munged.seed" 2> "$S/munged.err"
for i in $(seq 50); do [ -s "$S/munge/munged.pid" ] && break; sleep 0.1; done
MPID=$(cat "$S/munge/munged.pid" 2>/dev/null)
if [ -z "$MPID" ] || ! munge -S "$S/munge/munge.sock" -n | unmunge -S "$S/munge/munge.sock" > /dev/null 2>&1; then
	fail "munged starts" "$(cat "$S/munged.err" "$S/munge/munged.log" 2>/dev/null | tail -5)"
	exit 0
fi
pass "munged starts and a credential round-trips"

# ---- slurmctld and slurmd for one node on loopback ----
cport=$((PORT + 3))
cat > "$S/slurm.conf" <<EOF
ClusterName=mailsift-test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$cport
SlurmdPort=$((cport + 1))
AuthType=auth/munge
AuthInfo=socket=$S/munge/munge.sock
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmUser=root
SlurmdUser=root
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/slurmctld.log
SlurmdLogFile=$S/slurmd.log
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 RealMemory=1000
PartitionName=main Nodes=localhost Default=YES State=UP MaxTime=10
EOF
export SLURM_CONF="$S/slurm.conf"
slurmctld -D -f "$SLURM_CONF" > "$S/slurmctld.out" 2>&1 &
CPID=$!
slurmd -D -f "$SLURM_CONF" -N localhost > "$S/slurmd.out" 2>&1 &
DPID=$!
idle=
for i in $(seq 100); do # 30 s at most: sinfo waits up to 2 s for a controller
	idle=$(timeout 2 sinfo -h -N -o '%T' 2>/dev/null)
	case "$idle" in idle*) break ;; esac
	sleep 0.2
done
case "$idle" in
idle*) pass "slurmctld and slurmd start: the node is idle" ;;
*)
	fail "slurmctld and slurmd start: the node is idle" \
		"sinfo says [$idle]; $(tail -3 "$S/slurmctld.log" "$S/slurmd.log" 2>/dev/null)"
	exit 0
	;;
esac

# ---- the list, the reference, the array and the merge ----
python3 - list.csv <<'PY'
import random, sys
rnd = random.Random(41)
users = ["alice", "bob", "carol"] + ["u%d" % i for i in range(40)]
domains = ["strict.test", "microsoft.test", "catchall.test", "full.test", "disabled.test"]
with open(sys.argv[1], "w") as f:
    f.write("email,name\n")
    for i in range(400):
        if i % 37 == 5:
            f.write(",no address %d\n" % i)
        else:
            f.write("%s@%s,Name %d\n" % (rnd.choice(users), rnd.choice(domains), i))
PY
PROBE="--resolver 127.0.0.1:$((PORT + 1)) --smtp-port $PORT --helo probe.mailsift.test
	--allow-private-mx --mail-from verify@probe.mailsift.test --connect-timeout 2 --timeout 3
	--max-attempts 1 --no-doctor"
timeout 300 "$MAILSIFT" clean list.csv -o whole $PROBE --quiet 2> whole.err
check_eq "clean of the whole list (the reference): exit 0" "$?" 0

# the operator's way: deploy/slurm/submit.sh (the array of deploy/slurm/mailsift-shard.sbatch,
# then deploy/slurm/mailsift-merge.sbatch after it), each task with its own source address
OUT="$S/out"
# shellcheck disable=SC2086
MAILSIFT_SOURCES="127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5" \
	sh "$TOP/deploy/slurm/submit.sh" "$WORK/list.csv" "$OUT" 4 $PROBE > submit.out 2>&1
check_eq "deploy/slurm/submit.sh submits the array and the merge: exit 0" "$?" 0
check_contains "submit.sh names both jobs" submit.out "after all of them succeed"
check_eq "the merge waits for the array (afterok)" \
	"$(timeout 2 squeue -h -o '%E' -n mailsift-merge 2>&1 | sed 's/(.*//')" \
	"afterok:$(sed -n 's/^shards: job \([0-9]*\).*/\1/p' submit.out)_*"
for i in $(seq 300); do # 120 s at most
	[ -z "$(timeout 2 squeue -h 2>&1)" ] && break
	sleep 0.2
done
check_eq "every job ended within 120 s (squeue empty)" "$(timeout 2 squeue -h 2>&1)" ""
for k in 0 1 2 3; do
	check_contains "task $k took its shard from Slurm's environment" "$OUT/shard$k.log" \
		"shard $k/4 (from SLURM_ARRAY_TASK_ID=$k, SLURM_ARRAY_TASK_MIN=0, SLURM_ARRAY_TASK_COUNT=4)"
done
check_contains "the merge ran after the shards and joined 4" "$OUT/merge.log" "4 shards of 1 list"
check "the merge wrote report.json" test -s "$OUT/merged/report.json"
check_eq "each task spoke from its own --source (the world's log: clients 127.0.0.2-5)" \
	"$(awk '$1 != "-" {sub(/:[0-9]+$/, "", $3); print $3}' "$WORK/world/smtpd.log" |
		grep -v '^127\.0\.0\.1$' | sort -u | tr '\n' ' ')" "127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5 "
check "the merged files equal clean's row for row (check.py compare)" \
	python3 "$TOP/tests/run/check.py" compare whole "$OUT/merged"
for f in valid invalid risky catch_all unknown duplicates changes; do
	check_eq "merged $f.csv equals clean's (every column but mailsift_checked_at)" \
		"$(python3 -c 'import csv, sys
def rows(p):
    r = list(csv.reader(open(p, newline="", encoding="utf-8")))
    drop = r[0].index("mailsift_checked_at") if r else -1
    return [[c for i, c in enumerate(x) if i != drop] for x in r]
print("same" if rows(sys.argv[1]) == rows(sys.argv[2]) else "differ")' whole/$f.csv "$OUT/merged/$f.csv" 2>&1)" same
done
