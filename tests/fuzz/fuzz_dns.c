/*
 * fuzz_dns - libFuzzer target for DNS answer handling (engine/dns.h): the input is the raw
 * bytes of an answer, read by dns_answer_read exactly as the resolver's query callback reads
 * what c-ares hands it (status ARES_SUCCESS plus the message), for an MX, an A and an AAAA
 * question, and an MX answer's records through dns_mx_targets as the domain's MX handling
 * takes them. Each read works on an exactly sized heap copy (a read past its end shows under
 * ASan). Aborts (a finding) when an answer of status ARES_SUCCESS is ever read as "does not
 * exist" (only NXDOMAIN may say that), when a malformed answer keeps records or is not
 * temporary, when more addresses are kept than DNS_MAX_ADDRS, when a target is not a
 * queryable lowercase name, when the null / bad / usable counts disagree with the records, or
 * when reading twice gives two answers. Memory c-ares allocates is freed each time (leaks
 * show under LeakSanitizer).
 */
#include <ares.h>
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/dns.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_TARGETS 4              /* targets kept by the second dns_mx_targets call */

static void fuzz_check_mx(const struct dns_answer *ans)
{
	struct dns_mx_target t[FUZZ_TARGETS];
	size_t nnull, nbad, nnull2, nbad2, n, n2, nrec = 0;

	for (const struct ares_mx_reply *m = ans->mx; m; m = m->next)
		nrec++;
	n = dns_mx_targets(ans, NULL, 0, &nnull, &nbad);
	n2 = dns_mx_targets(ans, t, FUZZ_TARGETS, &nnull2, &nbad2);
	FUZZ_ASSERT(n == n2 && nnull == nnull2 && nbad == nbad2);
	FUZZ_ASSERT(n + nnull + nbad == nrec);
	for (size_t i = 0; i < n && i < FUZZ_TARGETS; i++) {
		size_t len = strnlen(t[i].name, sizeof t[i].name);

		FUZZ_ASSERT(len > 0 && len <= DNS_NAME_MAX);
		FUZZ_ASSERT(dns_name_queryable(t[i].name));
		FUZZ_ASSERT(t[i].name[len - 1] != '.');
		for (size_t k = 0; k < len; k++)
			FUZZ_ASSERT(!isupper((unsigned char)t[i].name[k]));
		FUZZ_ASSERT(t[i].preference >= 0 && t[i].preference <= 65535);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *abuf;

	if (size > 65535)                /* a DNS message is at most 64 KiB */
		return 0;
	abuf = malloc(size ? size : 1);
	if (abuf == NULL)
		return 0;
	if (size)
		memcpy(abuf, data, size);
	for (int type = DNS_Q_MX; type <= DNS_Q_AAAA; type++) {
		struct dns_answer a, b;

		dns_answer_read((enum dns_qtype)type, ARES_SUCCESS, abuf, (int)size, &a);
		dns_answer_read((enum dns_qtype)type, ARES_SUCCESS, abuf, (int)size, &b);
		FUZZ_ASSERT(a.meaning == b.meaning && a.status == b.status &&
		            a.malformed == b.malformed && a.naddrs == b.naddrs);
		FUZZ_ASSERT(memcmp(a.addr, b.addr, sizeof a.addr) == 0);
		FUZZ_ASSERT(a.meaning == DNS_MEANS_OK || a.meaning == DNS_MEANS_NODATA ||
		            a.meaning == DNS_MEANS_TEMPORARY);
		FUZZ_ASSERT(a.meaning != DNS_MEANS_NOT_EXIST);   /* never from a parsed answer */
		FUZZ_ASSERT(a.naddrs <= DNS_MAX_ADDRS);
		if (a.malformed)
			FUZZ_ASSERT(a.meaning == DNS_MEANS_TEMPORARY && a.mx == NULL && a.naddrs == 0);
		if (a.meaning == DNS_MEANS_OK && type == DNS_Q_MX)
			FUZZ_ASSERT(a.mx != NULL);
		else
			FUZZ_ASSERT(a.mx == NULL);
		if (a.meaning == DNS_MEANS_OK && type != DNS_Q_MX)
			FUZZ_ASSERT(a.naddrs > 0);
		if (type == DNS_Q_MX && a.mx != NULL)
			fuzz_check_mx(&a);
		dns_answer_free(&a);
		dns_answer_free(&b);
		FUZZ_ASSERT(a.mx == NULL);
	}
	free(abuf);
	return 0;
}
