/*
 * ipaddr - IP address literals to socket addresses and back: "192.0.2.1" or "2001:db8::1"
 * into a struct sockaddr_storage (port 0), and an AF_INET / AF_INET6 socket address as text.
 * The one copy of the inet_pton / inet_ntop plumbing. No names, no DNS, no ports: a literal
 * with anything around it ("[::1]", "1.2.3.4:25", " 1.2.3.4") is not a literal here.
 */
#ifndef MAILSIFT_IPADDR_H
#define MAILSIFT_IPADDR_H

#include <arpa/inet.h>
#include <stddef.h>
#include <sys/socket.h>

#define IPADDR_TEXT_MAX INET6_ADDRSTRLEN /* buffer size for ipaddr_text, NUL included */

/* ipaddr_parse - TEXT as an address of FAMILY (AF_INET, AF_INET6, or AF_UNSPEC for either)
 * into *SS (zeroed first; port 0) and its length into *LEN (may be NULL); 0 on success, -1
 * when TEXT is not such a literal (*SS is zeroed then) */
int ipaddr_parse(const char *text, int family, struct sockaddr_storage *ss, socklen_t *len);

/* ipaddr_text - SA's address (no port) as text in BUF (N bytes, IPADDR_TEXT_MAX is enough);
 * "?" for another family or a buffer too small; returns BUF */
const char *ipaddr_text(const struct sockaddr *sa, char *buf, size_t n);

#endif
