/*
 * netaddr - public or special-purpose addresses (see netaddr.h). Two tables, one per family,
 * from the IANA special-purpose address registries; the first range that holds an address
 * names it.
 */
#include "engine/netaddr.h"

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct net4 {
	uint32_t base;              /* network, host order */
	int bits;                   /* prefix length */
	const char *name;
};

/* IANA IPv4 Special-Purpose Address Registry, every block that is not globally reachable, plus
 * multicast (224/4) and the reserved 240/4 (255.255.255.255 included). The globally reachable
 * anycast blocks of the registry (192.31.196/24, 192.52.193/24, 192.175.48/24) stay public. */
static const struct net4 net4_special[] = {
	{0x00000000u, 8, "unspecified (\"this network\", 0.0.0.0/8)"},
	{0x0a000000u, 8, "private (RFC 1918, 10/8)"},
	{0x64400000u, 10, "shared address space (RFC 6598, 100.64/10)"},
	{0x7f000000u, 8, "loopback (127/8)"},
	{0xa9fe0000u, 16, "link-local (169.254/16)"},
	{0xac100000u, 12, "private (RFC 1918, 172.16/12)"},
	{0xc0000000u, 24, "IETF protocol assignments (192.0.0/24)"},
	{0xc0000200u, 24, "documentation (TEST-NET-1, 192.0.2/24)"},
	{0xc0586300u, 24, "deprecated 6to4 relay anycast (192.88.99/24)"},
	{0xc0a80000u, 16, "private (RFC 1918, 192.168/16)"},
	{0xc6120000u, 15, "benchmarking (198.18/15)"},
	{0xc6336400u, 24, "documentation (TEST-NET-2, 198.51.100/24)"},
	{0xcb007100u, 24, "documentation (TEST-NET-3, 203.0.113/24)"},
	{0xe0000000u, 4, "multicast (224/4)"},
	{0xf0000000u, 4, "reserved (240/4)"},
};

enum embed { EMBED_NONE, EMBED_LAST32, EMBED_6TO4 };

struct net6 {
	unsigned char base[16];
	const char *name;           /* NULL: judged by the IPv4 address it embeds */
	int bits;
	enum embed embed;
};

/* IANA IPv6 Special-Purpose Address Registry. Order matters: the first match wins, so the
 * ranges inside ::/96 and 2001::/23 come before them. Outside 2000::/3 nothing is global
 * unicast (net6_public_space below). */
static const struct net6 net6_special[] = {
	{{0}, "unspecified (::)", 128, EMBED_NONE},
	{{[15] = 1}, "loopback (::1)", 128, EMBED_NONE},
	{{[10] = 0xff, [11] = 0xff}, NULL, 96, EMBED_LAST32},             /* ::ffff:0:0/96 */
	{{0}, "deprecated IPv4-compatible (::/96)", 96, EMBED_NONE},
	{{0, 0x64, 0xff, 0x9b}, NULL, 96, EMBED_LAST32},                 /* 64:ff9b::/96 NAT64 */
	{{0, 0x64, 0xff, 0x9b, 0, 1}, "local-use NAT64 (64:ff9b:1::/48)", 48, EMBED_NONE},
	{{0x01, 0x00}, "discard-only (100::/64)", 64, EMBED_NONE},
	{{0x20, 0x01, 0x0d, 0xb8}, "documentation (2001:db8::/32)", 32, EMBED_NONE},
	{{0x20, 0x01}, "IETF protocol assignments (2001::/23)", 23, EMBED_NONE},
	{{0x20, 0x02}, NULL, 16, EMBED_6TO4},                            /* 2002::/16 6to4 */
	{{0x3f, 0xff}, "documentation (3fff::/20)", 20, EMBED_NONE},
	{{0xfc}, "unique local (fc00::/7)", 7, EMBED_NONE},
	{{0xfe, 0x80}, "link-local (fe80::/10)", 10, EMBED_NONE},
	{{0xfe, 0xc0}, "deprecated site-local (fec0::/10)", 10, EMBED_NONE},
	{{0xff}, "multicast (ff00::/8)", 8, EMBED_NONE},
};

/* net6_match - the first BITS bits of A and B agree */
static int net6_match(const unsigned char *a, const unsigned char *b, int bits)
{
	int whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[whole] ^ b[whole]) & (0xff << (8 - rest)) & 0xff) == 0;
}

static const char *net4_special_name(uint32_t a)
{
	for (size_t i = 0; i < sizeof net4_special / sizeof net4_special[0]; i++) {
		uint32_t mask = 0xffffffffu << (32 - net4_special[i].bits);

		if ((a & mask) == net4_special[i].base)
			return net4_special[i].name;
	}
	return NULL;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static const char *net6_special_name(const unsigned char *a)
{
	for (size_t i = 0; i < sizeof net6_special / sizeof net6_special[0]; i++) {
		const struct net6 *n = &net6_special[i];

		if (!net6_match(a, n->base, n->bits))
			continue;
		switch (n->embed) {
		case EMBED_LAST32: return net4_special_name(be32(a + 12));
		case EMBED_6TO4: return net4_special_name(be32(a + 2));
		case EMBED_NONE: return n->name;
		}
	}
	if ((a[0] & 0xe0) != 0x20)      /* net6_public_space: only 2000::/3 is global unicast */
		return "reserved (outside the global unicast 2000::/3)";
	return NULL;
}

const char *netaddr_special(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;

		return net4_special_name(ntohl(sin->sin_addr.s_addr));
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;

		return net6_special_name(sin6->sin6_addr.s6_addr);
	}
	return "not an IP address";
}

int netaddr_is_public(const struct sockaddr *sa)
{
	return netaddr_special(sa) == NULL;
}
