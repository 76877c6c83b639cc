/*
 * fuzz_shard - libFuzzer target for the shard parser and the shard function (common/shard.h).
 *
 * The input, cut at its first NUL and copied into an exactly sized heap buffer, is parsed as a
 * `--shard K/N` value and, as a dedupe key, given a shard of every N up to 64. Aborts (a
 * finding) when a parse that succeeds gives K outside [0, N) or N outside [1, SHARD_MAX], when
 * it accepts text that does not print back as itself ("K/N" in decimal, leading zeros aside),
 * when a failed parse says nothing, or when a key's shard is outside [0, N) or differs between
 * two calls.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/shard.h"
#include "tests/fuzz/fuzz.h"

/* canonical - TEXT ("digits/digits") without the leading zeros of either number, in place */
static const char *canonical(char *text)
{
	char *w = text;

	for (const char *r = text; *r;) {
		while (*r == '0' && r[1] >= '0' && r[1] <= '9')
			r++;                      /* a leading zero: not the number's last digit */
		while (*r && *r != '/')
			*w++ = *r++;
		if (*r == '/')
			*w++ = *r++;
	}
	*w = '\0';
	return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t n = nul ? (size_t)(nul - data) : size;
	char *text = malloc(n + 1), back[64], canon[64], err[256] = "";
	struct shard sh;

	if (text == NULL)
		abort();
	memcpy(text, data, n);
	text[n] = '\0';
	if (shard_parse(text, &sh, err, sizeof err) == 0) {
		FUZZ_ASSERT(sh.n >= 1 && sh.n <= SHARD_MAX);
		FUZZ_ASSERT(sh.k >= 0 && sh.k < sh.n);
		snprintf(back, sizeof back, "%d/%d", sh.k, sh.n);
		FUZZ_ASSERT(n < sizeof canon);
		memcpy(canon, text, n + 1);
		FUZZ_ASSERT(strcmp(back, canonical(canon)) == 0);
	} else {
		FUZZ_ASSERT(err[0] != '\0');
	}
	for (int m = 1; m <= 64; m++) {
		int s = shard_of_key(text, m);
		FUZZ_ASSERT(s >= 0 && s < m);
		FUZZ_ASSERT(s == shard_of_key(text, m));
	}
	free(text);
	return 0;
}
