/*
 * test_hash - common/hash.c: FNV-1a 32 and 64 bit and the key finalizer against pinned values.
 * The 64-bit values are what the job store has on disk (key_hash = mix64(fnv1a64(key))) and
 * what problem keys carry: these rows were computed by the code before it moved to common/,
 * and a change to any of them breaks every existing job store.
 */
#include <stdint.h>
#include <string.h>

#include "common/hash.h"
#include "tests/check.h"

static const struct {
	const char *in;
	uint32_t fnv32;
	uint64_t fnv64;
	int64_t key_hash;       /* (int64_t)hash_mix64(hash_fnv1a64_str(in)): schema/store.c */
} rows[] = {
	{"", 0x811c9dc5u, 0x14650fb0739d0383ull, -2058332934819911085ll},
	{"a", 0xe40c292cu, 0x44bd8ad473cd9906ull, 7842242305317833877ll},
	{"foobar", 0xbf9cf968u, 0x88fad7c0a8ff07f2ull, 430829669503806668ll},
	{"user@example.com", 0xddaa05fbu, 0xe7f625b2e901ad4dull, -3034715105447830820ll},
	{"\xc3\xbf\xc3\xa9\x80", 0x999d4d3du, 0x0c29c4846bec535bull, -4933591453444582562ll},
	{"invalid:", 0xe584bebeu, 0x843fdeeb0bec7298ull, 6642786353735264182ll},
};

static void test_pinned(void)
{
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const char *s = rows[i].in;

		CHECK_INT(hash_fnv1a32_str(s), rows[i].fnv32, s);
		CHECK(hash_fnv1a64_str(s) == rows[i].fnv64, "fnv64 \"%s\": %016llx", s,
		      (unsigned long long)hash_fnv1a64_str(s));
		CHECK(hash_fnv1a64(s, strlen(s)) == rows[i].fnv64, "fnv64 bytes \"%s\"", s);
		CHECK((int64_t)hash_mix64(hash_fnv1a64_str(s)) == rows[i].key_hash, "key_hash \"%s\"", s);
	}
}

/* test_add - hashing in pieces equals hashing the whole; bytes after a NUL count */
static void test_add(void)
{
	uint64_t h = hash_fnv1a64_add(HASH_FNV64_INIT, "user@", 5);
	uint32_t g = hash_fnv1a32_add(HASH_FNV32_INIT, "user@", 5);

	CHECK(hash_fnv1a64_add(h, "example.com", 11) == hash_fnv1a64_str("user@example.com"),
	      "64-bit in two pieces");
	CHECK(hash_fnv1a32_add(g, "example.com", 11) == hash_fnv1a32_str("user@example.com"),
	      "32-bit in two pieces");
	CHECK(hash_fnv1a64("a\0b", 3) != hash_fnv1a64("a\0c", 3), "bytes after a NUL");
	CHECK(hash_fnv1a64("", 0) == HASH_FNV64_INIT, "empty is the basis");
}

TESTS(test_pinned, test_add)
