/*
 * fuzz - what the libFuzzer targets share (header only): the entry point's prototype and an
 * invariant check that stays on in every build (assert() would vanish under NDEBUG).
 */
#ifndef MAILSIFT_FUZZ_H
#define MAILSIFT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond)                                                                  \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                           \
		}                                                                          \
	} while (0)

#endif
