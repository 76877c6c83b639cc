/*
 * bloom - a Bloom filter over 64-bit hashes, of a fixed size chosen by its owner: "not seen"
 * is certain, "maybe seen" is wrong with a probability that grows with what was added
 * (about (1 - e^(-4n/m))^4 for n hashes in m bits). The job store's bulk import uses one to
 * know, without its dedupe index, that most addresses are new (schema/store.c).
 */
#ifndef MAILSIFT_COMMON_BLOOM_H
#define MAILSIFT_COMMON_BLOOM_H

#include <stddef.h>
#include <stdint.h>

struct bloom {
	uint64_t *word;
	uint64_t mask; /* bits - 1: the size is a power of two */
};

/* bloom_init - an empty filter of BYTES rounded down to a power of two (at least 64); 0, or
 * -1 when out of memory */
int bloom_init(struct bloom *b, size_t bytes);
void bloom_free(struct bloom *b);

/* bloom_add - remember hash H (well mixed, as hash_mix64 gives) */
void bloom_add(struct bloom *b, uint64_t h);

/* bloom_maybe - 0: H was never added; 1: it may have been */
int bloom_maybe(const struct bloom *b, uint64_t h);

#endif
