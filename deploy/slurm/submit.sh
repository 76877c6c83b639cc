#!/bin/sh
# submit.sh LIST OUTDIR N [MAILSIFT OPTIONS...] - a list cleaned as N shards by a Slurm array,
# then merged (afterok). Prints the two job ids; the files end in OUTDIR/merged. Extra sbatch
# options (partition, account, time) go in SBATCH_ARGS. README "Shards in a batch system".
set -eu
if [ $# -lt 3 ]; then
	echo "usage: submit.sh LIST OUTDIR N [mailsift options...]" >&2
	exit 2
fi
list=$1 out=$2 n=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
export MAILSIFT_LIST="$list" MAILSIFT_OUT="$out" MAILSIFT_SHARDS="$n" MAILSIFT_ARGS="$*"
# shellcheck disable=SC2086
array=$(sbatch --parsable --export=ALL --array=0-$((n - 1)) -o "$out/shard%a.log" \
	${SBATCH_ARGS:-} "$here/mailsift-shard.sbatch")
# shellcheck disable=SC2086
merge=$(sbatch --parsable --export=ALL --dependency=afterok:"$array" -o "$out/merge.log" \
	${SBATCH_ARGS:-} "$here/mailsift-merge.sbatch")
echo "shards: job $array (array 0-$((n - 1))); merge: job $merge, after all of them succeed"
