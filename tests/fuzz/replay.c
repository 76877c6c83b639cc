/*
 * replay - a main() for a fuzz target without libFuzzer: runs each FILE given (the target's
 * seeds and the inputs of past findings, tests/fuzz/seeds/NAME/) through LLVMFuzzerTestOneInput
 * once, from an exactly sized heap copy. Built with every compiler and sanitizer the suite
 * uses, so a finding, once kept as a file, is a regression test of `make test`
 * (tests/t_fuzz_replay.sh). Prints how many inputs ran; an invariant failure aborts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		size_t cap = 4096, n = 0, got;
		unsigned char *buf = malloc(cap);

		if (f == NULL || buf == NULL) {
			printf("FAIL fuzz replay: cannot read %s\n", argv[i]);
			return 1;
		}
		while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
			n += got;
			if (n == cap) {
				unsigned char *b = realloc(buf, cap *= 2);
				if (b == NULL) {
					printf("FAIL fuzz replay: out of memory on %s\n", argv[i]);
					return 1;
				}
				buf = b;
			}
		}
		fclose(f);
		unsigned char *exact = malloc(n > 0 ? n : 1);
		if (exact == NULL)
			return 1;
		memcpy(exact, buf, n);
		free(buf);
		LLVMFuzzerTestOneInput(exact, n);
		free(exact);
	}
	printf("replayed %d inputs\n", argc - 1);
	return 0;
}
