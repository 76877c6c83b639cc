/*
 * bloom - a Bloom filter over 64-bit hashes, of a fixed size chosen by its owner: "not seen"
 * is certain, "maybe seen" is wrong with a probability that grows with what was added. Four
 * bits per hash, all in one 512-bit block: for n hashes in B blocks the rate is the mean of
 * (1 - (1 - 1/512)^(4L))^4 over the blocks' loads L (Poisson, mean n/B), within a few percent
 * of a classic filter's (1 - e^(-4n/m))^4 for m bits (tests/unit/test_bloom.c). The job store's
 * bulk import uses one to know, without its dedupe index, that most addresses are new
 * (schema/store.c).
 */
#ifndef MAILSIFT_COMMON_BLOOM_H
#define MAILSIFT_COMMON_BLOOM_H

#include <stddef.h>
#include <stdint.h>

struct bloom {
	uint64_t *word;
	uint64_t blocks; /* of 512 bits (8 words) */
};

/* bloom_init - an empty filter of BYTES rounded down to whole 64-byte blocks (at least one, at
 * most 2^28: 16 GiB); 0, or -1 when out of memory */
int bloom_init(struct bloom *b, size_t bytes);
void bloom_free(struct bloom *b);

/* bloom_add - remember hash H (well mixed, as hash_mix64 gives) */
void bloom_add(struct bloom *b, uint64_t h);

/* bloom_maybe - 0: H was never added; 1: it may have been */
int bloom_maybe(const struct bloom *b, uint64_t h);

#endif
