/*
 * dns - where a domain's mail goes, resolved with c-ares on the libevent loop.
 *
 * c-ares 1.18 (Debian 12): ares_query + ares_parse_mx_reply / ares_parse_a_reply /
 * ares_parse_aaaa_reply, driven from the event_base through ARES_OPT_SOCK_STATE_CB,
 * ares_process_fd and a timer from ares_timeout. Never blocks. MX lookup; MX hosts resolved to
 * addresses (A and AAAA); no MX -> implicit MX on the domain's own A/AAAA (RFC 5321 5.1), but
 * never when any MX exists; "MX 0 ." -> null MX (RFC 7505); NXDOMAIN, or a name that cannot be
 * put in a query at all (checked from the name before sending) -> the domain does not exist;
 * SERVFAIL / REFUSED / timeout / an answer that does not parse (a compression-pointer loop, a
 * cut record) -> retried (c-ares tries, then DEF_DNS_RETRIES more rounds: engine/config.h), then
 * temporary. Every c-ares status has one row in one table (dns_ares_status) saying what it
 * means. MX hosts are ordered by preference, equal preferences shuffled. Addresses that are not
 * public (engine/netaddr.h) are dropped from the result unless dns_allow_private says otherwise;
 * a domain left with none is DNS_MX_NOT_PUBLIC. Answers are cached per domain (and per MX host
 * name) for their DNS TTL (at most DEF_DNS_CACHE_SECONDS), in two bounded tables (domains, MX
 * host names) of dns_cache_limit entries each: an answer nobody uses now is let go, least
 * recently used first, when its table is full; one in use (a caller waiting for it, a domain
 * pointing at an MX host) never is.
 */
#ifndef MAILSIFT_DNS_H
#define MAILSIFT_DNS_H

#include <stddef.h>
#include <sys/socket.h>

struct event_base;

#define DNS_MAX_HOSTS 16          /* MX hosts kept per domain (by preference) */
#define DNS_MAX_ADDRS 8           /* addresses kept per MX host */
#define DNS_NAME_MAX 253          /* longest domain name in text form (RFC 1035 2.3.4) */
#define DNS_LABEL_MAX 63          /* longest label (RFC 1035 2.3.4) */
#define DNS_RESULT_DETAIL_MAX 320 /* a result's own detail text (dns_result.detail_buf) */

struct ares_mx_reply;

enum dns_status {
	DNS_OK = 0,           /* hosts[] holds at least one host with at least one address */
	DNS_NXDOMAIN,         /* the domain does not exist: invalid */
	DNS_NULL_MX,          /* "MX 0 ." the domain takes no mail: invalid */
	DNS_NO_MAIL_HOST,     /* no MX and no A/AAAA: invalid */
	DNS_NO_HOST_ADDRESS,  /* MX hosts exist but none has an address: temporary (unknown) */
	DNS_TEMPFAIL,         /* SERVFAIL, REFUSED, timeout, malformed answer, after retries:
	                       * temporary (unknown) */
	DNS_MX_NOT_PUBLIC     /* every address of every mail host is not public (loopback,
	                       * private, ...: engine/netaddr.h) and private ones are not allowed:
	                       * unknown, never connected to; hosts[] holds the refused addresses */
};
#define DNS_STATUS_LAST DNS_MX_NOT_PUBLIC

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
	char detail_buf[DNS_RESULT_DETAIL_MAX]; /* where detail points when it is the result's own */
	int implicit_mx;            /* hosts[0] is the domain itself (no MX records) */
	size_t nhosts;
	struct dns_host hosts[DNS_MAX_HOSTS]; /* by preference, equal ones shuffled */
};

/* What a c-ares status means for the name asked about: one row per status of c-ares 1.18's
 * ares.h (dns_ares_status), used by every path that reads one. */
enum dns_meaning {
	DNS_MEANS_OK = 0,        /* an answer with records */
	DNS_MEANS_NODATA,        /* the name exists, no record of the type asked */
	DNS_MEANS_NOT_EXIST,     /* NXDOMAIN: the name does not exist (the only "does not exist") */
	DNS_MEANS_TEMPORARY,     /* no answer to trust now: retried, then temporary (unknown) */
	DNS_MEANS_CANCELLED      /* the query was cancelled (dns_free): nobody waits for it */
};

struct dns_ares_status {
	int status;              /* ARES_SUCCESS, ARES_ENODATA, ... */
	const char *name;        /* "ARES_ENODATA" */
	enum dns_meaning meaning;
	const char *text;        /* for details: "SERVFAIL", "timeout", ... */
};

/* dns_ares_status - the row of c-ares status STATUS; a status not in the table (a newer
 * c-ares) gets a row of its own meaning DNS_MEANS_TEMPORARY */
const struct dns_ares_status *dns_ares_status(int status);

/* dns_ares_statuses - the whole table, *N rows (for tests) */
const struct dns_ares_status *dns_ares_statuses(size_t *n);

/* dns_name_queryable - 1 when NAME (lowercase, no trailing dot) can be put in a DNS query:
 * 1 to DNS_NAME_MAX bytes, labels of 1 to DNS_LABEL_MAX bytes, no control byte, space or
 * backslash (c-ares reads "\" as an escape). A name that is not cannot exist in the DNS. */
int dns_name_queryable(const char *name);

enum dns_qtype { DNS_Q_MX, DNS_Q_A, DNS_Q_AAAA };

/* One query's answer, read: what query callbacks act on (dns_answer_read). */
struct dns_answer {
	enum dns_meaning meaning;
	int status;                 /* the c-ares status behind it: the query's, or the parser's
	                             * when the answer did not parse (malformed) */
	int malformed;              /* an answer came and did not parse: DNS_MEANS_TEMPORARY */
	long ttl;                   /* seconds it may be cached: the smallest TTL of its answer
	                             * records, or for a negative answer its SOA's (RFC 2308);
	                             * -1 when it says none */
	struct ares_mx_reply *mx;   /* DNS_Q_MX, DNS_MEANS_OK: the records (dns_answer_free) */
	size_t naddrs;              /* DNS_Q_A / DNS_Q_AAAA, DNS_MEANS_OK: addresses kept */
	unsigned char addr[DNS_MAX_ADDRS][16]; /* DNS_Q_A uses the first 4 bytes of each */
};

/* dns_answer_read - classify c-ares' STATUS for a query of TYPE and parse its answer ABUF
 * (ALEN bytes; may be NULL when STATUS is not ARES_SUCCESS) into ANS. Pure: no network, no
 * state. A parse failure other than "no record of that type" is a malformed answer: temporary,
 * never "does not exist". Free with dns_answer_free. */
void dns_answer_read(enum dns_qtype type, int status, const unsigned char *abuf, int alen,
                     struct dns_answer *ans);

/* dns_answer_free - what dns_answer_read allocated in ANS */
void dns_answer_free(struct dns_answer *ans);

struct dns_mx_target {              /* a usable MX target of an answer */
	int preference;
	char name[DNS_NAME_MAX + 1];    /* lowercase, no trailing dot, dns_name_queryable */
};

/* dns_mx_targets - the MX records of ANS (an MX answer meaning DNS_MEANS_OK) as targets in
 * OUT (room for MAX; the rest are counted, not kept), in answer order; *NNULL counts the null
 * targets (RFC 7505 "."), *NBAD the names that cannot be queried. Returns the usable targets
 * found (may exceed MAX). */
size_t dns_mx_targets(const struct dns_answer *ans, struct dns_mx_target *out, size_t max,
                      size_t *nnull, size_t *nbad);

struct dns;

/* dns_new - a resolver on BASE using SERVERS ("HOST" or "HOST:PORT", IPv4 or [IPv6]:PORT),
 * or the system's resolv.conf when nservers is 0; NULL with err on failure. Test knobs read
 * here: MAILSIFT_DNS_TIMEOUT_MS replaces DEF_DNS_TIMEOUT_MS (engine/config.h), MAILSIFT_DNS_SEED
 * fixes the shuffle. */
struct dns *dns_new(struct event_base *base, const char *const *servers, size_t nservers,
                    char *err, size_t errlen);

/* dns_servers_csv - the NSERVERS resolver arguments (as dns_new takes them) as the list c-ares
 * takes ("a,b,..."), into *CSVP (malloc'd; NULL when there are none); -1 with err, naming the
 * argument that is not an address */
int dns_servers_csv(const char *const *servers, size_t nservers, char **csvp, char *err,
                    size_t errlen);

/* dns_timeout_ms - the milliseconds of a query's first try: DEF_DNS_TIMEOUT_MS, or the test
 * knob MAILSIFT_DNS_TIMEOUT_MS; -1 with err when the knob is not a number in range */
int dns_timeout_ms(int *timeout, char *err, size_t errlen);

/* dns_allow_private - ALLOW 1: keep MX addresses that are not public (--allow-private-mx, for
 * loopback test worlds); 0 (the default of dns_new): drop them (engine/netaddr.h) */
void dns_allow_private(struct dns *d, int allow);

/* dns_cache_limit - keep at most ENTRIES names in each cache table (domains; MX host names)
 * when the extra ones are unused (default DEF_DNS_CACHE_ENTRIES, engine/config.h; at least 1) */
void dns_cache_limit(struct dns *d, size_t entries);

/* What one cache table holds and did. */
struct dns_cache_stats {
	size_t entries;             /* names held now, in use or not */
	size_t peak;                /* the most held at once */
	size_t limit;               /* dns_cache_limit */
	long hits;                  /* lookups answered by an entry (or that joined its query) */
	long misses;                /* lookups that had to ask the DNS */
	long evicted;               /* unused entries let go for room */
	long expired;               /* entries let go because their TTL had passed */
};

/* dns_cache_stats - the domain table's figures in *DOMAINS, the MX host names' in *HOSTS */
void dns_cache_stats(const struct dns *d, struct dns_cache_stats *domains,
                     struct dns_cache_stats *hosts);

/* dns_free - cancel pending lookups (their callbacks run with DNS_TEMPFAIL, from inside this
 * call) and free; may be called from a dns callback (the free completes when it returns) */
void dns_free(struct dns *d);

/* dns_mail_hosts - resolve where mail for DOMAIN (lowercase A-label) goes; CB runs exactly once,
 * later from the loop (never from inside this call), with a result valid only during the call */
void dns_mail_hosts(struct dns *d, const char *domain,
                    void (*cb)(void *arg, const struct dns_result *r), void *arg);

/* dns_host_addresses - the addresses of host NAME (A and AAAA, no MX): a result with one host
 * (implicit_mx set) or a failure status, as dns_mail_hosts gives (non-public addresses dropped
 * unless dns_allow_private) */
void dns_host_addresses(struct dns *d, const char *name,
                        void (*cb)(void *arg, const struct dns_result *r), void *arg);

/* dns_status_name - "ok", "nxdomain", ... */
const char *dns_status_name(enum dns_status s);

/* dns_status_from_name - the status named NAME, or -1 */
int dns_status_from_name(const char *name);

/* dns_result_text - R's hosts as "PREF NAME ADDR,ADDR;..." into BUF (for the job store) */
void dns_result_text(const struct dns_result *r, char *buf, size_t n);

/* dns_result_read - R from a status name and dns_result_text's text, as stored (for a report):
 * 0 ok, -1 malformed */
int dns_result_read(const char *status, const char *text, struct dns_result *r);

struct store;

/* dns_stored_mx_names - the MX host names the job store S keeps for DOMAIN (NULL: none), in
 * preference order, into NAMES (at most DNS_MAX_HOSTS, pointing into R): how many */
size_t dns_stored_mx_names(struct store *s, const char *domain, struct dns_result *r,
                           const char **names);

/* dns_result_parse - R from a status name and dns_result_text's text (the job store's DNS
 * cache), under D's rule for addresses that are not public, as a fresh answer would be: 0 ok,
 * -1 malformed */
int dns_result_parse(const struct dns *d, const char *status, const char *text,
                     struct dns_result *r);

#endif
