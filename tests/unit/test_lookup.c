/*
 * test_lookup - engine/lookup.c (DNS questions of any type, asked together) against
 * tests/world/dnsd on loopback, and its reverse names (RFC 5782 by octet and by nibble).
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ipaddr.h"
#include "engine/lookup.h"
#include "tests/check.h"
#include "tests/daemon.h"

static void zone_write(FILE *f)
{
	fputs("ptr 1.2.0.192.in-addr.arpa host.lk.test\n"
	      "ptr 1.2.0.192.in-addr.arpa alias.lk.test\n"
	      "a host.lk.test 192.0.2.1\n"
	      "a host.lk.test 192.0.2.2\n"
	      "aaaa host.lk.test 2001:db8::1\n"
	      "mx lk.test 20 mx2.lk.test\n"
	      "mx lk.test 10 MX1.LK.TEST\n"
	      "txt lk.test v=spf1 ip4:192.0.2.0/24 -all\n"
	      "nodata empty.lk.test\n"
	      "servfail broken.lk.test\n", f);
	/* a TXT longer than one character-string: its strings are joined without a gap */
	fputs("txt long.lk.test ", f);
	for (int i = 0; i < 30; i++)
		fputs("abcdefghij", f);
	fputc('\n', f);
}

static struct daemon dnsd = {
	.name = "dnsd",
	.tmp_prefix = "test_lookup",
	.sock_type = SOCK_DGRAM,
	.conf_name = "zone",
	.conf_write = zone_write,
	.exec = daemon_dnsd_exec,
};

/* test_reverse_names - IPv4 by octet, IPv6 by nibble, under the arpa trees or a list's zone */
static void test_reverse_names(void)
{
	static const struct {
		const char *addr, *suffix, *want;
	} rows[] = {
		{"192.0.2.1", NULL, "1.2.0.192.in-addr.arpa"},
		{"127.0.0.2", "zen.spamhaus.org", "2.0.0.127.zen.spamhaus.org"},
		{"2001:db8::1", NULL,
		 "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"},
		{"2001:db8:abcd::ff", "bl.example",
		 "f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.8.b.d.0.1.0.0.2.bl.example"},
	};
	char buf[256], small[20];

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct sockaddr_storage ss;

		ipaddr_parse(rows[i].addr, AF_UNSPEC, &ss, NULL);
		CHECK(lookup_reverse_name((struct sockaddr *)&ss, rows[i].suffix, buf, sizeof buf) == 0,
		      "%s fits", rows[i].addr);
		CHECK_STR(buf, rows[i].want, rows[i].addr);
		CHECK(lookup_reverse_name((struct sockaddr *)&ss, rows[i].suffix, small,
		                          sizeof small) == -1, "%s: a buffer too small is -1",
		      rows[i].addr);
	}
}

/* test_answers - each type read into text, asked together; what is not there says why */
static void test_answers(void)
{
	struct lookup_answer ptr, a, aaaa, mx, txt, longtxt, nx, nodata, fail;
	struct lookup *l;
	char server[64], err[256];
	const char *servers[1] = {server};
	char want[400] = "";

	CHECK(daemon_start(&dnsd) == 0, "dnsd started");
	if (dnsd.pid == 0)
		return;
	snprintf(server, sizeof server, "127.0.0.1:%d", dnsd.port);
	l = lookup_new(servers, 1, err, sizeof err);
	CHECK(l != NULL, "lookup_new: %s", err);
	if (l == NULL)
		return;
	CHECK_STR(lookup_servers(l), server, "who is asked");
	lookup_ask(l, "1.2.0.192.in-addr.arpa", LOOKUP_PTR, &ptr);
	lookup_ask(l, "host.lk.test", LOOKUP_A, &a);
	lookup_ask(l, "host.lk.test", LOOKUP_AAAA, &aaaa);
	lookup_ask(l, "lk.test", LOOKUP_MX, &mx);
	lookup_ask(l, "lk.test", LOOKUP_TXT, &txt);
	lookup_ask(l, "long.lk.test", LOOKUP_TXT, &longtxt);
	lookup_ask(l, "nx.lk.test", LOOKUP_A, &nx);
	lookup_ask(l, "empty.lk.test", LOOKUP_A, &nodata);
	lookup_ask(l, "broken.lk.test", LOOKUP_A, &fail);
	lookup_wait(l);

	CHECK(ptr.meaning == DNS_MEANS_OK && ptr.n == 2, "two PTR names: %zu (%s)", ptr.n, ptr.why);
	CHECK_STR(ptr.rec[0], "host.lk.test", "first PTR");
	CHECK_STR(ptr.rec[1], "alias.lk.test", "second PTR");
	CHECK(a.n == 2, "two A records: %zu", a.n);
	CHECK_STR(a.rec[0], "192.0.2.1", "A");
	CHECK_STR(a.rec[1], "192.0.2.2", "A");
	CHECK(aaaa.n == 1, "one AAAA: %zu", aaaa.n);
	CHECK_STR(aaaa.rec[0], "2001:db8::1", "AAAA as text");
	CHECK(mx.n == 2, "two MX: %zu", mx.n);
	CHECK_STR(mx.rec[0], "mx2.lk.test", "MX name as given");
	CHECK_INT(mx.pref[0], 20, "its preference");
	CHECK_STR(mx.rec[1], "mx1.lk.test", "MX name lowercased");
	CHECK_INT(mx.pref[1], 10, "its preference");
	CHECK(txt.n == 1, "one TXT: %zu", txt.n);
	CHECK_STR(txt.rec[0], "v=spf1 ip4:192.0.2.0/24 -all", "TXT");
	for (int i = 0; i < 30; i++)
		strcat(want, "abcdefghij");
	CHECK(longtxt.n == 1, "a long TXT is one record: %zu", longtxt.n);
	CHECK_STR(longtxt.rec[0], want, "its strings joined");
	CHECK(nx.meaning == DNS_MEANS_NOT_EXIST && nx.n == 0, "NXDOMAIN: meaning %d", nx.meaning);
	CHECK_STR(nx.why, "NXDOMAIN", "why");
	CHECK(nodata.meaning == DNS_MEANS_NODATA && nodata.n == 0, "NODATA: %d", nodata.meaning);
	CHECK(fail.meaning == DNS_MEANS_TEMPORARY && fail.n == 0, "SERVFAIL: %d", fail.meaning);
	CHECK_STR(fail.why, "SERVFAIL", "why");
	lookup_free(l);
}

/* test_no_server - a resolver that does not answer: temporary, never "does not exist" */
static void test_no_server(void)
{
	struct lookup_answer a;
	char server[64], err[256];
	const char *servers[1] = {server};
	struct lookup *l;

	setenv("MAILSIFT_DNS_TIMEOUT_MS", "200", 1);  /* the wait for silence, shortened */
	snprintf(server, sizeof server, "127.0.0.1:%d", daemon_free_port(SOCK_DGRAM));
	l = lookup_new(servers, 1, err, sizeof err);
	CHECK(l != NULL, "lookup_new: %s", err);
	if (l == NULL)
		return;
	lookup_one(l, "host.lk.test", LOOKUP_A, &a);
	CHECK(a.meaning == DNS_MEANS_TEMPORARY, "no answer is temporary: %d (%s)", a.meaning, a.why);
	lookup_free(l);
	servers[0] = "not-an-address";
	CHECK(lookup_new(servers, 1, err, sizeof err) == NULL, "a resolver that is no address");
	CHECK(strstr(err, "not-an-address") != NULL, "named in the error: %s", err);
}

TESTS(test_reverse_names, test_answers, test_no_server)
