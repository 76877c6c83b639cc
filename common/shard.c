/*
 * shard - see shard.h.
 */
#include "common/shard.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"

/* parse_count - the whole decimal number TEXT (no sign, no blanks) in [LO, HI]; -1 if not */
static long parse_count(const char *text, long lo, long hi)
{
	char *end;
	long v;

	if (text == NULL || *text < '0' || *text > '9')
		return -1;
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return -1;
	return v;
}

int shard_parse(const char *text, struct shard *sh, char *err, size_t errlen)
{
	char k[16], n[16];
	const char *slash = strchr(text, '/');
	long kv, nv;

	if (slash == NULL || (size_t)(slash - text) >= sizeof k || strlen(slash + 1) >= sizeof n) {
		snprintf(err, errlen, "\"%s\" is not K/N (this process's shard K of N, K from 0)", text);
		return -1;
	}
	memcpy(k, text, (size_t)(slash - text));
	k[slash - text] = '\0';
	snprintf(n, sizeof n, "%s", slash + 1);
	if ((nv = parse_count(n, 1, SHARD_MAX)) < 0) {
		snprintf(err, errlen, "\"%s\": N must be a number of shards from 1 to %d", text,
		         SHARD_MAX);
		return -1;
	}
	if ((kv = parse_count(k, 0, nv - 1)) < 0) {
		snprintf(err, errlen, "\"%s\": K must be a shard number from 0 to N-1 (%ld)", text,
		         nv - 1);
		return -1;
	}
	sh->k = (int)kv;
	sh->n = (int)nv;
	return 0;
}

/* from_kubernetes - JOB_COMPLETION_INDEX=IDX with N from SHARDS or MAILSIFT_SHARDS */
static int from_kubernetes(struct shard *sh, const char *idx, int shards, char *err,
                           size_t errlen)
{
	const char *env_n = getenv("MAILSIFT_SHARDS");
	long n = shards > 0 ? shards : parse_count(env_n, 1, SHARD_MAX), k;

	if (shards <= 0 && (env_n == NULL || *env_n == '\0')) {
		snprintf(err, errlen,
		         "JOB_COMPLETION_INDEX is %s (a Kubernetes Indexed Job) but the number of shards "
		         "is not given: set MAILSIFT_SHARDS or --shards N to the Job's completions (or "
		         "give --shard K/N, --shard 0/1 for the whole list)", idx);
		return -1;
	}
	if (n < 0) {
		snprintf(err, errlen, "MAILSIFT_SHARDS=\"%s\" is not a number of shards from 1 to %d",
		         env_n, SHARD_MAX);
		return -1;
	}
	if ((k = parse_count(idx, 0, n - 1)) < 0) {
		snprintf(err, errlen,
		         "JOB_COMPLETION_INDEX=\"%s\" is not a shard of %ld (0 to %ld): the Job's "
		         "completions and the number of shards must agree", idx, n, n - 1);
		return -1;
	}
	sh->k = (int)k;
	sh->n = (int)n;
	snprintf(sh->from, sizeof sh->from, "JOB_COMPLETION_INDEX=%ld, %s=%ld", k,
	         shards > 0 ? "--shards" : "MAILSIFT_SHARDS", n);
	return 1;
}

/* from_slurm - SLURM_ARRAY_TASK_ID=ID less SLURM_ARRAY_TASK_MIN, of SLURM_ARRAY_TASK_COUNT */
static int from_slurm(struct shard *sh, const char *id, char *err, size_t errlen)
{
	const char *env_n = getenv("SLURM_ARRAY_TASK_COUNT"), *env_min = getenv("SLURM_ARRAY_TASK_MIN");
	long n = parse_count(env_n, 1, SHARD_MAX), min = env_min ? parse_count(env_min, 0, 1L << 30) : 0;
	long task = parse_count(id, 0, 1L << 30);

	if (n < 0 || min < 0 || task < 0) {
		snprintf(err, errlen,
		         "SLURM_ARRAY_TASK_ID=\"%s\" with SLURM_ARRAY_TASK_COUNT=\"%s\" and "
		         "SLURM_ARRAY_TASK_MIN=\"%s\" do not make a shard (a count from 1 to %d is "
		         "needed); give --shard K/N", id, env_n ? env_n : "", env_min ? env_min : "",
		         SHARD_MAX);
		return -1;
	}
	if (task < min || task - min >= n) {
		snprintf(err, errlen,
		         "SLURM_ARRAY_TASK_ID=%ld is not one of %ld tasks numbered from %ld on: the "
		         "array's indexes must be contiguous (--array=0-%ld); give --shard K/N", task, n,
		         min, n - 1);
		return -1;
	}
	sh->k = (int)(task - min);
	sh->n = (int)n;
	snprintf(sh->from, sizeof sh->from, "SLURM_ARRAY_TASK_ID=%ld, SLURM_ARRAY_TASK_MIN=%ld, "
	         "SLURM_ARRAY_TASK_COUNT=%ld", task, min, n);
	return 1;
}

int shard_from_env(struct shard *sh, int shards, char *err, size_t errlen)
{
	const char *idx = getenv("JOB_COMPLETION_INDEX"), *task = getenv("SLURM_ARRAY_TASK_ID");

	memset(sh, 0, sizeof *sh);
	if (idx != NULL && *idx != '\0')
		return from_kubernetes(sh, idx, shards, err, errlen);
	if (task != NULL && *task != '\0')
		return from_slurm(sh, task, err, errlen);
	return 0;
}

int shard_of_key(const char *key, int n)
{
	return (int)(hash_mix64(hash_fnv1a64_str(key)) % (uint64_t)n);
}
