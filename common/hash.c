/*
 * hash - FNV-1a and a finalizer (see hash.h: the outputs are on disk, never change them).
 */
#include "common/hash.h"

#include <string.h>

#define FNV32_PRIME 16777619u
#define FNV64_PRIME 1099511628211ull

uint32_t hash_fnv1a32_add(uint32_t h, const void *p, size_t len)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * FNV32_PRIME;
	return h;
}

uint32_t hash_fnv1a32_str(const char *s)
{
	return hash_fnv1a32_add(HASH_FNV32_INIT, s, strlen(s));
}

uint64_t hash_fnv1a64_add(uint64_t h, const void *p, size_t len)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * FNV64_PRIME;
	return h;
}

uint64_t hash_fnv1a64(const void *p, size_t len)
{
	return hash_fnv1a64_add(HASH_FNV64_INIT, p, len);
}

uint64_t hash_fnv1a64_str(const char *s)
{
	return hash_fnv1a64(s, strlen(s));
}

uint64_t hash_mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}
