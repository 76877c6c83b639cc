/*
 * ipaddr - IP literals to socket addresses and back (see ipaddr.h).
 */
#include "common/ipaddr.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

int ipaddr_parse(const char *text, int family, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if ((family == AF_INET || family == AF_UNSPEC) && inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		if (len)
			*len = sizeof *sin;
		return 0;
	}
	memset(ss, 0, sizeof *ss);
	if ((family == AF_INET6 || family == AF_UNSPEC) &&
	    inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		if (len)
			*len = sizeof *sin6;
		return 0;
	}
	memset(ss, 0, sizeof *ss);
	return -1;
}

const char *ipaddr_text(const struct sockaddr *sa, char *buf, size_t n)
{
	const void *a;

	if (n == 0)
		return buf;
	if (sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	else
		a = NULL;
	if (a == NULL || inet_ntop(sa->sa_family, a, buf, (socklen_t)n) == NULL)
		snprintf(buf, n, "?");
	return buf;
}
