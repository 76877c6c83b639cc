/*
 * shard - which part of a list this process owns when one list is spread over N processes
 * (machines, batch tasks): `--shard K/N`, or the index a batch system gives its task.
 *
 * An address belongs to shard hash_mix64(hash_fnv1a64_str(KEY)) mod N, KEY being its dedupe
 * key (the normalized address, local part lowercased): the value is fixed by common/hash.h's
 * contract, so it is the same on every machine and in every version, and one address always
 * lands in one shard (duplicates are found within it). A row without an address belongs to
 * shard 0. The README writes the function out.
 */
#ifndef MAILSIFT_COMMON_SHARD_H
#define MAILSIFT_COMMON_SHARD_H

#include <stddef.h>

#define SHARD_MAX 10000 /* shards of one list, at most */

struct shard {
	int k, n;          /* this process owns shard K of N; N 0: the whole list */
	char from[192];    /* where K and N came from, for messages ("--shard", "SLURM_...") */
};

/* shard_parse - "K/N" (0 <= K < N <= SHARD_MAX) into SH; 0, or -1 with err */
int shard_parse(const char *text, struct shard *sh, char *err, size_t errlen);

/* shard_from_env - K and N from the batch system that started this process, when there is
 * one: JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) with N from SHARDS (--shards; 0: not
 * given) or MAILSIFT_SHARDS; SLURM_ARRAY_TASK_ID less SLURM_ARRAY_TASK_MIN with
 * SLURM_ARRAY_TASK_COUNT (a Slurm array). 1 found (SH filled), 0 none (SH->n 0), -1 with err
 * (a batch system's index without a usable N, or values that do not make a shard) */
int shard_from_env(struct shard *sh, int shards, char *err, size_t errlen);

/* shard_of_key - the shard of N that owns the address whose dedupe key is KEY (N >= 1) */
int shard_of_key(const char *key, int n);

#endif
