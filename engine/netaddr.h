/*
 * netaddr - is an address on the public internet? The one place that says which IPv4 and
 * IPv6 addresses mailsift may connect to as a mail host (issue 9, item 11).
 *
 * An MX host whose address is unspecified (0.0.0.0, ::), loopback, private (RFC 1918, RFC 6598
 * shared 100.64/10, IPv6 unique local fc00::/7), link-local, multicast, reserved, documentation
 * or benchmarking space is not a mail host on the internet: connecting to it would make
 * mailsift probe the machine it runs on or its local network for whoever controls a domain's
 * DNS. The ranges follow the IANA IPv4 and IPv6 special-purpose address registries (plus
 * multicast and the reserved 240/4; for IPv6, everything outside the global unicast 2000::/3).
 * An address that embeds an IPv4 address (IPv4-mapped ::ffff:0:0/96, NAT64 64:ff9b::/96,
 * 6to4 2002::/16) is judged by the IPv4 address it carries; IPv4-compatible ::/96 is deprecated
 * and never public. Pure functions: no state, no I/O.
 */
#ifndef MAILSIFT_NETADDR_H
#define MAILSIFT_NETADDR_H

#include <sys/socket.h>

/* netaddr_special - NULL when SA (AF_INET or AF_INET6) is a public address, else the name of
 * the special-purpose range it falls in ("loopback", "private (RFC 1918)", ...); a family
 * other than AF_INET / AF_INET6 is "not an IP address" */
const char *netaddr_special(const struct sockaddr *sa);

/* netaddr_is_public - 1 when SA is an address mailsift may connect to by default, else 0 */
int netaddr_is_public(const struct sockaddr *sa);

#endif
