/*
 * test_bloom - the Bloom filter of the job store's bulk import (common/bloom.c): what was
 * added is always "maybe" (no false "new": that would store a repeated address twice), and
 * what was not is "maybe" about as often as the formula says, for a filter sized as the
 * import sizes it and for a nearly full one.
 */
#include <math.h>
#include <stdio.h>

#include "common/bloom.h"
#include "common/hash.h"
#include "tests/check.h"

static uint64_t key_of(uint64_t i)
{
	char key[32];
	snprintf(key, sizeof key, "user%llu@example.com", (unsigned long long)i);
	return hash_mix64(hash_fnv1a64_str(key));
}

/* ADDED keys into a filter of BYTES, then as many others asked: the false "maybe" rate */
static double false_rate(size_t bytes, uint64_t added, int *missed)
{
	struct bloom b;
	uint64_t fp = 0;

	*missed = 0;
	if (bloom_init(&b, bytes) < 0)
		return -1;
	for (uint64_t i = 0; i < added; i++)
		bloom_add(&b, key_of(i));
	for (uint64_t i = 0; i < added; i++)
		*missed += !bloom_maybe(&b, key_of(i));
	for (uint64_t i = added; i < 2 * added; i++)
		fp += (uint64_t)bloom_maybe(&b, key_of(i));
	bloom_free(&b);
	return (double)fp / (double)added;
}

static void test_no_false_new(void)
{
	int missed;
	double r = false_rate(1 << 14, 50000, &missed); /* the formula: 0.376 */
	CHECK_INT(missed, 0, "every added hash is \"maybe\" (a nearly full filter)");
	CHECK(r > 0.3 && r < 0.45, "a nearly full filter says \"maybe\" often: %.3f", r);
}

static void test_rate_as_the_formula_says(void)
{
	/* 1 MiB, 4 bits a hash: at n = 1M hashes in m = 8M bits, (1 - e^(-4n/m))^4 = 1.4% */
	int missed;
	double want = pow(1 - exp(-4.0 * 1e6 / (8.0 * 1048576)), 4);
	double r = false_rate(1 << 20, 1000000, &missed);
	CHECK_INT(missed, 0, "no false \"new\"");
	CHECK(r > want * 0.8 && r < want * 1.25, "false \"maybe\" %.4f, the formula %.4f", r, want);
}

static void test_size(void)
{
	struct bloom b;
	CHECK_INT(bloom_init(&b, 1000), 0, "init");
	CHECK(b.mask + 1 == 512 * 8, "1000 bytes round down to 512: %llu bits",
	      (unsigned long long)(b.mask + 1));
	bloom_free(&b);
	CHECK_INT(bloom_init(&b, 1), 0, "init");
	CHECK(b.mask + 1 == 64 * 8, "at least 64 bytes");
	CHECK_INT(bloom_maybe(&b, 42), 0, "empty: nothing maybe");
	bloom_free(&b);
}

TESTS(test_no_false_new, test_rate_as_the_formula_says, test_size)
