/*
 * dns - where a domain's mail goes, resolved with c-ares on the libevent loop.
 *
 * c-ares 1.18 (Debian 12): ares_query + ares_parse_mx_reply / ares_parse_a_reply /
 * ares_parse_aaaa_reply, driven from the event_base through ARES_OPT_SOCK_STATE_CB,
 * ares_process_fd and a timer from ares_timeout. Never blocks. MX lookup; MX hosts resolved to
 * addresses (A and AAAA); no MX -> implicit MX on the domain's own A/AAAA (RFC 5321 5.1), but
 * never when any MX exists; "MX 0 ." -> null MX (RFC 7505); NXDOMAIN -> the domain does not
 * exist; SERVFAIL / REFUSED / timeout -> retried (c-ares tries, then DNS_RETRIES more rounds),
 * then temporary. MX hosts are ordered by preference, equal preferences shuffled. Answers are
 * cached per domain (and per MX host name) for the life of the struct dns.
 */
#ifndef MAILSIFT_DNS_H
#define MAILSIFT_DNS_H

#include <stddef.h>
#include <sys/socket.h>

struct event_base;

#define DNS_MAX_HOSTS 16          /* MX hosts kept per domain (by preference) */
#define DNS_MAX_ADDRS 8           /* addresses kept per MX host */
#define DNS_TIMEOUT_MS 5000       /* per try, c-ares ARES_OPT_TIMEOUTMS */
#define DNS_TRIES 2               /* c-ares tries per query (ARES_OPT_TRIES) */
#define DNS_RETRIES 1             /* whole-query retries after a temporary failure */

enum dns_status {
	DNS_OK = 0,           /* hosts[] holds at least one host with at least one address */
	DNS_NXDOMAIN,         /* the domain does not exist: invalid */
	DNS_NULL_MX,          /* "MX 0 ." the domain takes no mail: invalid */
	DNS_NO_MAIL_HOST,     /* no MX and no A/AAAA: invalid */
	DNS_NO_HOST_ADDRESS,  /* MX hosts exist but none has an address: temporary (unknown) */
	DNS_TEMPFAIL          /* SERVFAIL, REFUSED, timeout after retries: temporary (unknown) */
};

struct dns_host {
	char name[256];                           /* MX host name (the domain itself when implicit) */
	int preference;                           /* MX preference; 0 for an implicit MX */
	size_t naddrs;
	struct sockaddr_storage addr[DNS_MAX_ADDRS]; /* port left 0: the caller sets it */
	socklen_t addrlen[DNS_MAX_ADDRS];
};

struct dns_result {
	enum dns_status status;
	const char *detail;         /* short text for reports ("SERVFAIL from 127.0.0.1", ...) */
	int implicit_mx;            /* hosts[0] is the domain itself (no MX records) */
	size_t nhosts;
	struct dns_host hosts[DNS_MAX_HOSTS]; /* by preference, equal ones shuffled */
};

struct dns;

/* dns_new - a resolver on BASE using SERVERS ("HOST" or "HOST:PORT", IPv4 or [IPv6]:PORT),
 * or the system's resolv.conf when nservers is 0; NULL with err on failure. Test knobs read
 * here: MAILSIFT_DNS_TIMEOUT_MS replaces DNS_TIMEOUT_MS, MAILSIFT_DNS_SEED fixes the shuffle. */
struct dns *dns_new(struct event_base *base, const char *const *servers, size_t nservers,
                    char *err, size_t errlen);

/* dns_free - cancel pending lookups (their callbacks run with DNS_TEMPFAIL, from inside this
 * call) and free; may be called from a dns callback (the free completes when it returns) */
void dns_free(struct dns *d);

/* dns_mail_hosts - resolve where mail for DOMAIN (lowercase A-label) goes; CB runs exactly once,
 * later from the loop (never from inside this call), with a result valid only during the call */
void dns_mail_hosts(struct dns *d, const char *domain,
                    void (*cb)(void *arg, const struct dns_result *r), void *arg);

/* dns_status_name - "ok", "nxdomain", ... */
const char *dns_status_name(enum dns_status s);

/* dns_status_from_name - the status named NAME, or -1 */
int dns_status_from_name(const char *name);

/* dns_result_text - R's hosts as "PREF NAME ADDR,ADDR;..." into BUF (for the job store) */
void dns_result_text(const struct dns_result *r, char *buf, size_t n);

/* dns_result_parse - R from a status name and dns_result_text's text; 0 ok, -1 malformed */
int dns_result_parse(const char *status, const char *text, struct dns_result *r);

#endif
