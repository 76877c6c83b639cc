/*
 * bloom - see bloom.h. A blocked filter: a hash's four bits lie in one 512-bit block (one
 * 64-byte cache line), chosen by the hash's top 28 bits; the four bits within it are its low
 * four 9-bit fields, which the block's choice does not use. An import's filter (24 MiB) is far bigger than the CPU's caches: a lookup
 * costs one memory miss instead of four. Its false "maybe" rate is a few percent above a
 * classic filter's of the same size (block loads vary): see bloom.h.
 */
#include "common/bloom.h"

#include <stdlib.h>

#define BLOOM_PROBES 4
#define BLOCK_WORDS 8 /* 512 bits */

int bloom_init(struct bloom *b, size_t bytes)
{
	size_t words = bytes / 8 / BLOCK_WORDS * BLOCK_WORDS;

	if (words < BLOCK_WORDS)
		words = BLOCK_WORDS;
	if (words / BLOCK_WORDS > ((size_t)1 << 28))
		words = ((size_t)1 << 28) * BLOCK_WORDS; /* 16 GiB: block numbers fit 28 bits */
	b->word = calloc(words, 8);
	b->blocks = words / BLOCK_WORDS;
	return b->word ? 0 : -1;
}

void bloom_free(struct bloom *b)
{
	free(b->word);
	b->word = NULL;
}

/* block_of - the block of hash H: its top 28 bits scaled to the number of blocks (any number,
 * not only a power of two) */
static uint64_t *block_of(const struct bloom *b, uint64_t h)
{
	return b->word + (((h >> 36) * b->blocks) >> 28) * BLOCK_WORDS;
}

void bloom_add(struct bloom *b, uint64_t h)
{
	uint64_t *w = block_of(b, h);

	for (int i = 0; i < BLOOM_PROBES; i++, h >>= 9)
		w[(h & 511) >> 6] |= 1ull << (h & 63);
}

int bloom_maybe(const struct bloom *b, uint64_t h)
{
	const uint64_t *w = block_of(b, h);

	for (int i = 0; i < BLOOM_PROBES; i++, h >>= 9)
		if (!(w[(h & 511) >> 6] & (1ull << (h & 63))))
			return 0;
	return 1;
}
