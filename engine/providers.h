/*
 * providers - per-provider probing policy, as data: mail hosts whose operators are known to
 * punish a second RCPT for a random address, or known not to be catch-all, so the catch-all
 * probe is skipped for them. Matched on the MX host name's suffix.
 */
#ifndef MAILSIFT_PROVIDERS_H
#define MAILSIFT_PROVIDERS_H

/* providers_skip_catch_all - 1 when MX_HOST belongs to a provider whose domains are not probed
 * for catch-all */
int providers_skip_catch_all(const char *mx_host);

#endif
