/*
 * bloom - see bloom.h. Four bits per hash, found by double hashing (Kirsch and Mitzenmacher):
 * bit i = (h + i * g) mod m, g made odd from h's halves swapped, so the four never coincide.
 */
#include "common/bloom.h"

#include <stdlib.h>

#define BLOOM_PROBES 4

int bloom_init(struct bloom *b, size_t bytes)
{
	size_t size = 64;

	while (size * 2 <= bytes && size * 2 > size)
		size *= 2;
	b->word = calloc(size / 8, 8);
	b->mask = (uint64_t)size * 8 - 1;
	return b->word ? 0 : -1;
}

void bloom_free(struct bloom *b)
{
	free(b->word);
	b->word = NULL;
}

static uint64_t bloom_step(uint64_t h)
{
	return ((h >> 32) | (h << 32)) * 0x9e3779b97f4a7c15ull | 1;
}

void bloom_add(struct bloom *b, uint64_t h)
{
	uint64_t g = bloom_step(h);

	for (int i = 0; i < BLOOM_PROBES; i++, h += g)
		b->word[(h & b->mask) >> 6] |= 1ull << (h & 63);
}

int bloom_maybe(const struct bloom *b, uint64_t h)
{
	uint64_t g = bloom_step(h);

	for (int i = 0; i < BLOOM_PROBES; i++, h += g)
		if (!(b->word[(h & b->mask) >> 6] & (1ull << (h & 63))))
			return 0;
	return 1;
}
