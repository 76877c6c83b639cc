/*
 * test_netaddr - engine/netaddr.c: which addresses are public, over the edges of every range
 * (the first and last address of each special-purpose block and its neighbours outside it).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "engine/netaddr.h"
#include "tests/check.h"

struct row {
	const char *addr;
	int public;             /* want netaddr_is_public */
	const char *word;       /* in netaddr_special's name when not public */
};

static const struct row v4_rows[] = {
	{"0.0.0.0", 0, "unspecified"}, {"0.255.255.255", 0, "unspecified"}, {"1.0.0.0", 1, NULL},
	{"9.255.255.255", 1, NULL}, {"10.0.0.0", 0, "RFC 1918"}, {"10.255.255.255", 0, "RFC 1918"},
	{"11.0.0.0", 1, NULL},
	{"100.63.255.255", 1, NULL}, {"100.64.0.0", 0, "RFC 6598"},
	{"100.127.255.255", 0, "RFC 6598"}, {"100.128.0.0", 1, NULL},
	{"126.255.255.255", 1, NULL}, {"127.0.0.0", 0, "loopback"}, {"127.0.0.1", 0, "loopback"},
	{"127.0.1.10", 0, "loopback"}, {"127.255.255.255", 0, "loopback"}, {"128.0.0.0", 1, NULL},
	{"169.253.255.255", 1, NULL}, {"169.254.0.0", 0, "link-local"},
	{"169.254.255.255", 0, "link-local"}, {"169.255.0.0", 1, NULL},
	{"172.15.255.255", 1, NULL}, {"172.16.0.0", 0, "RFC 1918"},
	{"172.31.255.255", 0, "RFC 1918"}, {"172.32.0.0", 1, NULL},
	{"191.255.255.255", 1, NULL}, {"192.0.0.0", 0, "IETF"}, {"192.0.0.255", 0, "IETF"},
	{"192.0.1.0", 1, NULL}, {"192.0.2.0", 0, "documentation"},
	{"192.0.2.255", 0, "documentation"}, {"192.0.3.0", 1, NULL},
	{"192.31.196.1", 1, NULL},       /* AS112, globally reachable */
	{"192.88.98.255", 1, NULL}, {"192.88.99.0", 0, "6to4"}, {"192.88.99.255", 0, "6to4"},
	{"192.88.100.0", 1, NULL},
	{"192.167.255.255", 1, NULL}, {"192.168.0.0", 0, "RFC 1918"},
	{"192.168.255.255", 0, "RFC 1918"}, {"192.169.0.0", 1, NULL},
	{"198.17.255.255", 1, NULL}, {"198.18.0.0", 0, "benchmarking"},
	{"198.19.255.255", 0, "benchmarking"}, {"198.20.0.0", 1, NULL},
	{"198.51.99.255", 1, NULL}, {"198.51.100.0", 0, "documentation"},
	{"198.51.100.255", 0, "documentation"}, {"198.51.101.0", 1, NULL},
	{"203.0.112.255", 1, NULL}, {"203.0.113.0", 0, "documentation"},
	{"203.0.113.255", 0, "documentation"}, {"203.0.114.0", 1, NULL},
	{"223.255.255.255", 1, NULL}, {"224.0.0.0", 0, "multicast"},
	{"239.255.255.255", 0, "multicast"}, {"240.0.0.0", 0, "reserved"},
	{"255.255.255.255", 0, "reserved"},
	{"8.8.8.8", 1, NULL}, {"93.184.216.34", 1, NULL},
};

static const struct row v6_rows[] = {
	{"::", 0, "unspecified"}, {"::1", 0, "loopback"}, {"::2", 0, "IPv4-compatible"},
	{"::8.8.8.8", 0, "IPv4-compatible"},
	{"::ffff:8.8.8.8", 1, NULL}, {"::ffff:127.0.0.1", 0, "loopback"},
	{"::ffff:0.0.0.0", 0, "unspecified"}, {"::ffff:10.1.2.3", 0, "RFC 1918"},
	{"::ffff:192.168.1.1", 0, "RFC 1918"}, {"::fffe:8.8.8.8", 0, "reserved"},
	{"64:ff9b::8.8.8.8", 1, NULL}, {"64:ff9b::10.0.0.1", 0, "RFC 1918"},
	{"64:ff9b::127.0.0.1", 0, "loopback"}, {"64:ff9b:1::1", 0, "NAT64"},
	{"64:ff9b:1:ffff:ffff:ffff:ffff:ffff", 0, "NAT64"},
	{"100::", 0, "discard"}, {"100::ffff:ffff:ffff:ffff", 0, "discard"},
	{"1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, "reserved"},
	{"2000::", 1, NULL}, {"2001::", 0, "IETF"}, {"2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", 0, "IETF"},
	{"2001:200::", 1, NULL}, {"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", 1, NULL},
	{"2001:db8::", 0, "documentation"}, {"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 0, "documentation"},
	{"2001:db9::", 1, NULL},
	{"2002:0808:0808::1", 1, NULL}, {"2002:7f00:0001::1", 0, "loopback"},
	{"2002:0a00:0001::1", 0, "RFC 1918"}, {"2002:c0a8:0101::1", 0, "RFC 1918"},
	{"2a00:1450:4001::1a", 1, NULL}, {"3ffe::1", 1, NULL},
	{"3fff::", 0, "documentation"}, {"3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", 0, "documentation"},
	{"3fff:1000::", 1, NULL}, {"4000::", 0, "reserved"},
	{"5f00::1", 0, "reserved"},
	{"fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, "reserved"},
	{"fc00::", 0, "unique local"}, {"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, "unique local"},
	{"fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, "reserved"},
	{"fe80::", 0, "link-local"}, {"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, "link-local"},
	{"fec0::1", 0, "site-local"}, {"ff00::", 0, "multicast"},
	{"ff02::1", 0, "multicast"}, {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, "multicast"},
};

static void check_row(const struct row *r, const struct sockaddr *sa)
{
	const char *name = netaddr_special(sa);

	CHECK(netaddr_is_public(sa) == r->public, "%s: public %d, want %d (%s)", r->addr,
	      netaddr_is_public(sa), r->public, name ? name : "public");
	if (!r->public && name != NULL)
		CHECK(strstr(name, r->word) != NULL, "%s: \"%s\" lacks \"%s\"", r->addr, name, r->word);
}

static void test_ipv4(void)
{
	for (size_t i = 0; i < sizeof v4_rows / sizeof v4_rows[0]; i++) {
		struct sockaddr_in sin;

		memset(&sin, 0, sizeof sin);
		sin.sin_family = AF_INET;
		CHECK(inet_pton(AF_INET, v4_rows[i].addr, &sin.sin_addr) == 1, "%s parses",
		      v4_rows[i].addr);
		check_row(&v4_rows[i], (const struct sockaddr *)&sin);
	}
}

static void test_ipv6(void)
{
	for (size_t i = 0; i < sizeof v6_rows / sizeof v6_rows[0]; i++) {
		struct sockaddr_in6 sin6;

		memset(&sin6, 0, sizeof sin6);
		sin6.sin6_family = AF_INET6;
		CHECK(inet_pton(AF_INET6, v6_rows[i].addr, &sin6.sin6_addr) == 1, "%s parses",
		      v6_rows[i].addr);
		check_row(&v6_rows[i], (const struct sockaddr *)&sin6);
	}
}

static void test_other_family(void)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof ss);
	ss.ss_family = AF_UNIX;
	CHECK(!netaddr_is_public((const struct sockaddr *)&ss), "AF_UNIX is not public");
	CHECK(netaddr_special((const struct sockaddr *)&ss) != NULL, "and says why");
}

TESTS(test_ipv4, test_ipv6, test_other_family)
