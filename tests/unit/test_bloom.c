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

/* blocked_rate - the false "maybe" rate of N hashes in a filter of BITS (bloom.h): the mean
 * over the 512-bit blocks' Poisson loads L of (1 - (1 - 1/512)^(4L))^4 */
static double blocked_rate(double n, double bits)
{
	double mean = n / (bits / 512), p = exp(-mean), sum = 0;

	for (int load = 0; load < 4 * mean + 64; load++) {
		if (load > 0)
			p *= mean / load;
		sum += p * pow(1 - pow(1 - 1.0 / 512, 4.0 * load), 4);
	}
	return sum;
}

static void test_rate_as_the_formula_says(void)
{
	/* 1 MiB, 4 bits a hash: n = 1M hashes in m = 8M bits: 2.17% (a classic filter: 2.07%) */
	int missed;
	double want = blocked_rate(1e6, 8.0 * 1048576);
	double classic = pow(1 - exp(-4.0 * 1e6 / (8.0 * 1048576)), 4);
	double r = false_rate(1 << 20, 1000000, &missed);
	CHECK_INT(missed, 0, "no false \"new\"");
	CHECK(r > want * 0.9 && r < want * 1.1, "false \"maybe\" %.4f, the formula %.4f", r, want);
	CHECK(want > classic && want < classic * 1.1, "blocked %.4f, classic %.4f", want, classic);
	/* the bulk import's own size: 24 MiB and 8M hashes, 0.058% (classic 0.047%) */
	want = blocked_rate(8e6, 8.0 * 24 * 1048576);
	r = false_rate((size_t)24 << 20, 8000000, &missed);
	CHECK_INT(missed, 0, "no false \"new\"");
	CHECK(r > want * 0.8 && r < want * 1.25, "false \"maybe\" %.5f, the formula %.5f", r, want);
}

static void test_size(void)
{
	struct bloom b;
	CHECK_INT(bloom_init(&b, 1000), 0, "init");
	CHECK(b.blocks == 15, "1000 bytes: 15 blocks of 64 bytes (%llu)", (unsigned long long)b.blocks);
	bloom_free(&b);
	CHECK_INT(bloom_init(&b, (size_t)24 << 20), 0, "init");
	CHECK(b.blocks * 64 == (size_t)24 << 20, "24 MiB is 24 MiB, not a power of two below");
	bloom_free(&b);
	CHECK_INT(bloom_init(&b, 1), 0, "init");
	CHECK(b.blocks == 1, "at least one block");
	CHECK_INT(bloom_maybe(&b, 42), 0, "empty: nothing maybe");
	bloom_free(&b);
}

TESTS(test_no_false_new, test_rate_as_the_formula_says, test_size)
