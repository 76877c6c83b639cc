/*
 * dns - where a domain's mail goes (see dns.h): c-ares 1.18 driven by the libevent loop.
 *
 * Owns the c-ares channel and the events that drive it (one persistent event per c-ares socket,
 * added and removed from ARES_OPT_SOCK_STATE_CB; one timer set from ares_timeout; a "kick" event
 * that hands queued queries to c-ares and re-arms that timer; a "deliver" event that runs the
 * callers' callbacks), the per-domain and per-MX-host caches, and the FIFO of queries waiting for
 * one of DEF_DNS_MAX_INFLIGHT slots (engine/config.h holds the DNS tunables). It never blocks,
 * never runs a caller's callback from inside dns_mail_hosts, never calls c-ares from inside
 * dns_mail_hosts, and never talks SMTP or writes the store: the scheduler does that with what it
 * gets back.
 *
 * Decisions (DESIGN.md "DNS" says what; this is how the corners are cut):
 * - MX answer with only null targets (an empty exchange, which is how c-ares 1.18 returns ".")
 *   -> DNS_NULL_MX. RFC 7505 says a null MX must be the only MX; when it sits beside real MX
 *   records the null one is ignored and the others are used (the domain plainly tries to take
 *   mail; an invalid verdict would be a guess against its other records).
 * - NODATA for MX -> implicit MX: the domain's own A and AAAA (RFC 5321 5.1). Both NODATA ->
 *   DNS_NO_MAIL_HOST; NXDOMAIN there -> DNS_NXDOMAIN. Never when any MX record exists.
 * - Each MX host gets A and AAAA in parallel. A host whose lookups say NXDOMAIN, or NODATA for
 *   both, has no address; hosts without an address are dropped. None left -> DNS_NO_HOST_ADDRESS
 *   (temporary: a broken MX host name is the domain's problem, not proof about the mailbox), or
 *   DNS_TEMPFAIL when a host lookup failed temporarily.
 * - What a c-ares status means is one table, ares_statuses[] (dns_ares_status): NXDOMAIN
 *   (ARES_ENOTFOUND) is the only "does not exist"; NODATA the only "no record"; the query was
 *   cancelled (dns_free); everything else is temporary. A name that cannot be put in a query
 *   (dns_name_queryable: empty, over 253 bytes, a label empty or over 63) does not exist either,
 *   but that is decided from the name before anything is sent, so an ARES_EBADNAME that comes
 *   back later (from a name in an answer, e.g. a compression-pointer loop) is told apart: any
 *   answer that does not parse is malformed, and malformed is temporary.
 * - SERVFAIL, REFUSED, timeout, connection refused, a malformed answer: the query is sent again
 *   DEF_DNS_RETRIES more times (each time c-ares itself tries DEF_DNS_TRIES times, except that
 *   with ARES_FLAG_NOCHECKRESP a SERVFAIL or REFUSED comes straight back), then DNS_TEMPFAIL.
 * - Addresses that are not public (engine/netaddr.h: loopback, private, link-local, ...) are
 *   dropped from what a caller gets, fresh answers, implicit MX and the job store's cache
 *   (dns_result_parse) alike, unless dns_allow_private; hosts left without an address are
 *   dropped; no host left -> DNS_MX_NOT_PUBLIC, which keeps the refused hosts in the result
 *   (so the job store keeps them, and a later run with --allow-private-mx can use them).
 * - Cache: two tables, domains and MX host names, each an LRU of at most dns_cache_limit
 *   entries that nobody uses. An entry in use (a waiter, a query, a domain's slot, a host's
 *   list of waiting domains: anything but the table holds a ref) is off the LRU list and never
 *   evicted; when its last user lets go it goes to the LRU's head, and the tail is let go while
 *   the table is over its limit (also before a new entry joins). An answered entry goes stale
 *   at its TTL (answer_ttl: the smallest of the answer's records, a negative answer's SOA
 *   minimum; at most DEF_DNS_CACHE_SECONDS; a domain no later than any of its MX hosts) and is
 *   dropped when next looked up. Concurrent lookups of one name wait on the same query, an
 *   evicted name's too (a fresh entry). Temporary outcomes are not cached
 *   (a later lookup asks again), and neither is a domain whose answer depended on a host lookup
 *   that failed temporarily. A host with addresses of one family whose other family's lookup
 *   failed temporarily is cached with the addresses it has.
 * - Order: MX hosts by preference; equal preferences shuffled afresh on every delivery, so that
 *   callers spread over equal hosts (a xorshift PRNG seeded once per struct dns from libevent's
 *   secure RNG, or from MAILSIFT_DNS_SEED for reproducible tests). At most DNS_MAX_HOSTS hosts
 *   (the best preferences; a cut inside an equal group is random) and DNS_MAX_ADDRS addresses a
 *   host, IPv4 first, IPv6 keeping at least half the room when both overflow.
 * - Callbacks run from the "deliver" event, cached answers included. dns_free cancels: c-ares
 *   queries end with ARES_EDESTRUCTION, and every lookup not yet delivered gets DNS_TEMPFAIL
 *   ("resolver shut down") from inside dns_free. A callback may call dns_free (the free finishes
 *   when that callback returns) or dns_mail_hosts during dns_free (answered TEMPFAIL in the same
 *   dns_free).
 * - Test knob: MAILSIFT_DNS_TIMEOUT_MS (read by dns_new) replaces DEF_DNS_TIMEOUT_MS, so tests of
 *   timeouts take a fraction of a second.
 */
#include "engine/dns.h"

#include "common/err.h"
#include "common/clock.h"
#include "common/hash.h"
#include "common/ipaddr.h"
#include "engine/config.h"
#include "engine/netaddr.h"
#include "schema/store.h"

#include <ares.h>
#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/util.h>

#define DNS_DETAIL_MAX 160          /* a result's detail text; longer is cut */
#define DNS_SERVERS_TEXT_MAX 64     /* the resolver list as quoted in details */
#define DNS_SERVER_MAX 64           /* one --resolver argument; an IPv6 literal with port fits */
#define DNS_TABLE_MIN 64            /* first size of a cache hash table (buckets, power of 2) */
#define DNS_WAITING_MIN 4           /* first size of a host's list of waiting domains; grows */
#define DNS_TIMEOUT_ENV "MAILSIFT_DNS_TIMEOUT_MS" /* test knob: per-try timeout in ms */
#define DNS_TIMEOUT_ENV_MAX 600000  /* the knob above accepts 1 ms to 10 minutes */
#define DNS_SEED_ENV "MAILSIFT_DNS_SEED" /* test knob: fixed shuffle seed */
#define DNS_PORT_DEFAULT 53

static const char dns_shut_down[] = "resolver shut down";

/* ---------------------------------------------------------------- types */

enum dns_kind { DNS_ENT_DOMAIN, DNS_ENT_HOST };

struct dns_entry {                  /* common head of domains and MX hosts: name, refs, table */
	enum dns_kind kind;
	char *name;                 /* lowercase, no trailing dot */
	uint32_t hash;              /* of name */
	int refs;                   /* table + waiters + queries + slots + waiting lists */
	int in_table;               /* reachable from its cache table */
	int on_lru;                 /* in its table's LRU list: the table's is its only ref */
	double expires;             /* clock_now() from which an answered entry is stale */
	struct dns_entry *chain;    /* next in the hash bucket */
	struct dns_entry *lru_prev, *lru_next; /* in the LRU list (head: released last) */
};

struct dns_table {
	struct dns_entry **bucket;
	size_t nbuckets;            /* power of 2 */
	size_t n;                   /* entries */
	size_t limit;               /* entries kept when unused ones can be let go */
	struct dns_entry *lru_head, *lru_tail; /* entries nobody uses: evicted from the tail */
	struct dns_cache_stats st;
};

enum dns_host_state { HOST_PENDING, HOST_ADDR, HOST_NODATA, HOST_NXDOMAIN, HOST_TEMP };

struct dns_domain;

struct dns_mxhost {                 /* an MX host name (or a domain for its implicit MX) */
	struct dns_entry e;
	enum dns_host_state state;
	int pending;                /* A / AAAA queries not answered yet */
	int nxdomain;               /* a query said NXDOMAIN */
	int temp_status;            /* ares status of a query that failed for now; 0 none */
	int temp_malformed;         /* ... and that failure was an answer that did not parse */
	long ttl;                   /* smallest TTL its answers gave; -1 none yet */
	size_t n4, n6;              /* addresses in a4 / a6 */
	unsigned char a4[DNS_MAX_ADDRS][4];
	unsigned char a6[DNS_MAX_ADDRS][16];
	struct dns_domain **waiting; /* domains waiting for this host (each holds a ref) */
	size_t nwaiting, capwaiting;
};

struct dns_slot {
	int preference;
	struct dns_mxhost *host;    /* holds a ref */
};

enum dns_dom_state { DOM_MX, DOM_HOSTS, DOM_DONE };

struct dns_waiter {                 /* one dns_mail_hosts call, until its callback has run */
	void (*cb)(void *arg, const struct dns_result *r);
	void *arg;
	struct dns_domain *dom;     /* holds a ref; NULL: answer status/detail below */
	enum dns_status status;     /* when dom is NULL or cancelled */
	const char *detail;         /* static text, when dom is NULL or cancelled */
	int cancelled;              /* dns_free: answer TEMPFAIL whatever dom says */
	struct dns_waiter *next;
};

struct dns_domain {
	struct dns_entry e;
	enum dns_dom_state state;
	enum dns_status status;     /* when DOM_DONE */
	int implicit;               /* slots[0] is the domain itself */
	int pending;                /* MX hosts not resolved yet, +1 while slots are attached */
	long ttl;                   /* its MX (or negative) answer's TTL; -1 none */
	size_t nslots;
	struct dns_slot *slots;     /* by preference */
	char *detail;               /* its answer in words (detail_set; NULL until answered) */
	struct dns_waiter *wait_head, *wait_tail; /* callers waiting for the answer */
};


struct dns_query {                  /* one question, from the FIFO to its answer (and retries) */
	struct dns *d;
	enum dns_qtype type;        /* DNS_Q_MX, DNS_Q_A, DNS_Q_AAAA */
	struct dns_entry *owner;    /* domain (MX) or host (A, AAAA); holds a ref */
	int round;                  /* 0 first time, then 1 .. DEF_DNS_RETRIES */
	struct dns_query *next;     /* in the FIFO */
};

struct dns_sock {                   /* one c-ares socket and its event */
	struct dns *d;
	ares_socket_t fd;
	short what;                 /* EV_READ / EV_WRITE asked by c-ares */
	struct event *ev;
	struct dns_sock *next;
};

struct dns {
	struct event_base *base;
	ares_channel ch;
	struct event *timer;        /* ares_timeout */
	struct event *kick;         /* send queued queries, re-arm timer */
	struct event *deliver;      /* run callbacks of ready waiters */
	struct dns_sock *socks;
	struct dns_table domains;   /* struct dns_domain by name */
	struct dns_table hosts;     /* struct dns_mxhost by name */
	struct dns_query *q_head, *q_tail; /* FIFO waiting for an in-flight slot */
	size_t inflight;            /* queries c-ares holds */
	struct dns_waiter *ready_head, *ready_tail; /* answered, callback not run yet */
	struct dns_waiter *batch;   /* the ready waiters being delivered now */
	int delivering;             /* inside deliver_cb */
	int closing;                /* dns_free has started */
	int free_pending;           /* dns_free was called from a callback in deliver_cb */
	int allow_private;          /* dns_allow_private: keep addresses that are not public */
	uint64_t rng;               /* xorshift64 state */
	char servers[DNS_SERVERS_TEXT_MAX]; /* for details */
	struct dns_result result;   /* the result handed to a callback (one at a time) */
};

/* ---------------------------------------------------------------- small helpers */

static void *dns_alloc(size_t n)
{
	void *p = calloc(1, n);

	if (p == NULL) {
		fprintf(stderr, "mailsift: dns: out of memory\n");
		abort();
	}
	return p;
}

static void detail_set(struct dns_domain *dom, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void detail_set(struct dns_domain *dom, const char *fmt, ...)
{
	char buf[DNS_DETAIL_MAX];
	va_list ap;

	va_start(ap, fmt);
	err_vset(buf, sizeof buf, fmt, ap);
	va_end(ap);
	free(dom->detail);
	if ((dom->detail = strdup(buf)) == NULL) {
		fprintf(stderr, "mailsift: dns: out of memory\n");
		abort();
	}
}

/* rng_next - xorshift64: the shuffle needs spread, not secrecy */
static uint64_t rng_next(struct dns *d)
{
	uint64_t x = d->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	d->rng = x;
	return x;
}

/* name_norm - lowercase NAME into OUT (DNS_NAME_MAX + 1 bytes) without one trailing dot;
 * -1 when empty or too long */
static int name_norm(const char *name, char *out)
{
	size_t n = strlen(name);

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > DNS_NAME_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)name[i]);
	out[n] = '\0';
	return 0;
}

/* ---------------------------------------------------------------- c-ares statuses */

#define ROW(st, meaning, text) {st, #st, meaning, text}

/* Every status of c-ares 1.18's ares.h, what it means for the name asked, and its words in
 * details. Temporary is the default for anything that is not an answer about the name: a
 * false "does not exist" is the worst mistake a list cleaner can make. */
static const struct dns_ares_status ares_statuses[] = {
	ROW(ARES_SUCCESS, DNS_MEANS_OK, "answer"),
	ROW(ARES_ENODATA, DNS_MEANS_NODATA, "no record of that type (NODATA)"),
	ROW(ARES_EFORMERR, DNS_MEANS_TEMPORARY, "FORMERR (the server could not read the query)"),
	ROW(ARES_ESERVFAIL, DNS_MEANS_TEMPORARY, "SERVFAIL"),
	ROW(ARES_ENOTFOUND, DNS_MEANS_NOT_EXIST, "NXDOMAIN"),
	ROW(ARES_ENOTIMP, DNS_MEANS_TEMPORARY, "NOTIMP"),
	ROW(ARES_EREFUSED, DNS_MEANS_TEMPORARY, "REFUSED"),
	ROW(ARES_EBADQUERY, DNS_MEANS_TEMPORARY, "query could not be built"),
	ROW(ARES_EBADNAME, DNS_MEANS_TEMPORARY, "bad name (a name that does not decode)"),
	ROW(ARES_EBADFAMILY, DNS_MEANS_TEMPORARY, "bad address family"),
	ROW(ARES_EBADRESP, DNS_MEANS_TEMPORARY, "bad response"),
	ROW(ARES_ECONNREFUSED, DNS_MEANS_TEMPORARY, "connection refused"),
	ROW(ARES_ETIMEOUT, DNS_MEANS_TEMPORARY, "timeout"),
	ROW(ARES_EOF, DNS_MEANS_TEMPORARY, "connection closed by the server"),
	ROW(ARES_EFILE, DNS_MEANS_TEMPORARY, "cannot read the resolver configuration"),
	ROW(ARES_ENOMEM, DNS_MEANS_TEMPORARY, "out of memory"),
	ROW(ARES_EDESTRUCTION, DNS_MEANS_CANCELLED, "resolver shut down"),
	ROW(ARES_EBADSTR, DNS_MEANS_TEMPORARY, "bad string"),
	ROW(ARES_EBADFLAGS, DNS_MEANS_TEMPORARY, "bad flags"),
	ROW(ARES_ENONAME, DNS_MEANS_TEMPORARY, "not a host name"),
	ROW(ARES_EBADHINTS, DNS_MEANS_TEMPORARY, "bad hints"),
	ROW(ARES_ENOTINITIALIZED, DNS_MEANS_TEMPORARY, "c-ares not initialized"),
	ROW(ARES_ELOADIPHLPAPI, DNS_MEANS_TEMPORARY, "cannot load iphlpapi (Windows)"),
	ROW(ARES_EADDRGETNETWORKPARAMS, DNS_MEANS_TEMPORARY,
	    "GetNetworkParams failed (Windows)"),
	ROW(ARES_ECANCELLED, DNS_MEANS_CANCELLED, "query cancelled"),
};

#undef ROW

static const struct dns_ares_status ares_status_other = {
	-1, "ARES_?", DNS_MEANS_TEMPORARY, "unknown c-ares status"
};

const struct dns_ares_status *dns_ares_status(int status)
{
	for (size_t i = 0; i < sizeof ares_statuses / sizeof ares_statuses[0]; i++)
		if (ares_statuses[i].status == status)
			return &ares_statuses[i];
	return &ares_status_other;
}

const struct dns_ares_status *dns_ares_statuses(size_t *n)
{
	*n = sizeof ares_statuses / sizeof ares_statuses[0];
	return ares_statuses;
}

/* failure_text - the words for a failed query: its status, "malformed answer (...)" when an
 * answer came and did not parse */
static const char *failure_text(int status, int malformed, char *buf, size_t n)
{
	const char *text = dns_ares_status(status)->text;

	if (!malformed)
		return text;
	snprintf(buf, n, "malformed answer (%s)", text);
	return buf;
}

int dns_name_queryable(const char *name)
{
	size_t n = strlen(name), label = 0;

	if (n == 0 || n > DNS_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.') {
			if (label == 0 || label > DNS_LABEL_MAX)
				return 0;
			label = 0;
			continue;
		}
		if (c <= ' ' || c == 0x7f || c == '\\')
			return 0;
		label++;
	}
	return label > 0 && label <= DNS_LABEL_MAX; /* the last label */
}

/* ---------------------------------------------------------------- cache tables */

static void lru_unlink(struct dns_table *t, struct dns_entry *e)
{
	if (!e->on_lru)
		return;
	if (e->lru_prev)
		e->lru_prev->lru_next = e->lru_next;
	else
		t->lru_head = e->lru_next;
	if (e->lru_next)
		e->lru_next->lru_prev = e->lru_prev;
	else
		t->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
	e->on_lru = 0;
}

static void lru_push(struct dns_table *t, struct dns_entry *e)
{
	e->lru_prev = NULL;
	e->lru_next = t->lru_head;
	if (t->lru_head)
		t->lru_head->lru_prev = e;
	else
		t->lru_tail = e;
	t->lru_head = e;
	e->on_lru = 1;
}

static struct dns_table *entry_table(struct dns *d, const struct dns_entry *e)
{
	return e->kind == DNS_ENT_DOMAIN ? &d->domains : &d->hosts;
}

/* entry_answered - E holds a final answer (not a lookup under way) */
static int entry_answered(const struct dns_entry *e)
{
	if (e->kind == DNS_ENT_DOMAIN)
		return ((const struct dns_domain *)e)->state == DOM_DONE;
	return ((const struct dns_mxhost *)e)->state != HOST_PENDING;
}

static struct dns_entry *table_find(const struct dns_table *t, const char *name, uint32_t hash)
{
	if (t->nbuckets == 0)
		return NULL;
	for (struct dns_entry *e = t->bucket[hash & (t->nbuckets - 1)]; e; e = e->chain)
		if (e->hash == hash && strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

static void entry_uncache(struct dns *d, struct dns_entry *e);

/* cache_find - NAME's entry in T, counted as a hit; an answered entry past its TTL is let go
 * first (the caller asks again), counted as expired */
static struct dns_entry *cache_find(struct dns *d, struct dns_table *t, const char *name,
                                    uint32_t hash)
{
	struct dns_entry *e = table_find(t, name, hash);

	if (e != NULL && entry_answered(e) && clock_now() >= e->expires) {
		t->st.expired++;
		entry_uncache(d, e);
		e = NULL;
	}
	if (e != NULL)
		t->st.hits++;
	else
		t->st.misses++;
	return e;
}

static void table_add(struct dns_table *t, struct dns_entry *e)
{
	size_t i;

	if (t->n >= t->nbuckets) {
		size_t nb = t->nbuckets ? t->nbuckets * 2 : DNS_TABLE_MIN;
		/* an array of pointers: sizeof *b is a pointer's size, as meant */
		struct dns_entry **b = dns_alloc(nb * sizeof *b); // NOLINT(bugprone-sizeof-expression)

		for (i = 0; i < t->nbuckets; i++) {
			struct dns_entry *x = t->bucket[i], *next;

			for (; x; x = next) {
				next = x->chain;
				x->chain = b[x->hash & (nb - 1)];
				b[x->hash & (nb - 1)] = x;
			}
		}
		free(t->bucket);
		t->bucket = b;
		t->nbuckets = nb;
	}
	i = e->hash & (t->nbuckets - 1);
	e->chain = t->bucket[i];
	t->bucket[i] = e;
	e->in_table = 1;
	e->refs++;
	t->n++;
}

static void table_trim(struct dns *d, struct dns_table *t, size_t room);

/* cache_add - E joins its table, unused entries making room for it first */
static void cache_add(struct dns *d, struct dns_entry *e)
{
	struct dns_table *t = entry_table(d, e);

	table_trim(d, t, 1);
	table_add(t, e);
	if (t->n > t->st.peak)
		t->st.peak = t->n;
}

/* table_remove - unlink E; the table's ref is the caller's to drop */
static void table_remove(struct dns_table *t, struct dns_entry *e)
{
	struct dns_entry **p = &t->bucket[e->hash & (t->nbuckets - 1)];

	assert(e->in_table);
	while (*p != e)
		p = &(*p)->chain;
	*p = e->chain;
	e->chain = NULL;
	e->in_table = 0;
	lru_unlink(t, e);
	t->n--;
}

static void entry_init(struct dns_entry *e, enum dns_kind kind, const char *name)
{
	e->kind = kind;
	e->name = strdup(name);
	if (e->name == NULL) {
		fprintf(stderr, "mailsift: dns: out of memory\n");
		abort();
	}
	e->hash = hash_fnv1a32_str(name);
}

static void entry_unref(struct dns *d, struct dns_entry *e);

static void entry_free(struct dns *d, struct dns_entry *e)
{
	if (e->kind == DNS_ENT_DOMAIN) {
		struct dns_domain *dom = (struct dns_domain *)e;

		assert(dom->wait_head == NULL);
		for (size_t i = 0; i < dom->nslots; i++)
			entry_unref(d, &dom->slots[i].host->e);
		free(dom->slots);
		free(dom->detail);
	} else {
		struct dns_mxhost *h = (struct dns_mxhost *)e;

		assert(h->nwaiting == 0);
		free(h->waiting);
	}
	free(e->name);
	free(e);
}

/* table_trim - let go of the entries nobody uses, least recently released first, until T has
 * ROOM more entries within its limit (an entry in use is never evicted: T may stay over it) */
static void table_trim(struct dns *d, struct dns_table *t, size_t room)
{
	while (t->n + room > t->limit && t->lru_tail != NULL) {
		struct dns_entry *e = t->lru_tail;

		t->st.evicted++;
		table_remove(t, e);
		entry_unref(d, e);  /* frees it; a domain lets go of its hosts (the other table) */
	}
}

/* entry_ref - one more holder of E: out of the LRU list, if it was there */
static void entry_ref(struct dns *d, struct dns_entry *e)
{
	e->refs++;
	lru_unlink(entry_table(d, e), e);
}

static void entry_unref(struct dns *d, struct dns_entry *e)
{
	assert(e->refs > 0);
	if (--e->refs == 0) {
		assert(!e->in_table);
		entry_free(d, e);
	} else if (e->refs == 1 && e->in_table && !d->closing) {
		/* only the table holds it: an answer nobody uses now, evictable */
		struct dns_table *t = entry_table(d, e);

		assert(entry_answered(e));
		lru_push(t, e);
		table_trim(d, t, 0);
	}
}

/* entry_uncache - take E out of its table: the next lookup of the name asks again */
static void entry_uncache(struct dns *d, struct dns_entry *e)
{
	if (!e->in_table)
		return;
	table_remove(entry_table(d, e), e);
	entry_unref(d, e);
}

/* ---------------------------------------------------------------- driving c-ares */

static void kick(struct dns *d)
{
	if (!d->closing)
		event_active(d->kick, EV_TIMEOUT, 1);
}

static void deliver_soon(struct dns *d)
{
	if (!d->closing)
		event_active(d->deliver, EV_TIMEOUT, 1);
}

/* sock_cb - a c-ares socket is ready; S may be freed inside ares_process_fd */
static void sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_sock *s = arg;
	struct dns *d = s->d;

	ares_process_fd(d->ch, (what & EV_READ) ? (ares_socket_t)fd : ARES_SOCKET_BAD,
	                (what & EV_WRITE) ? (ares_socket_t)fd : ARES_SOCKET_BAD);
	kick(d);
}

/* sock_state_cb - c-ares wants FD watched for READABLE / WRITABLE, or (both 0) forgotten */
static void sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns *d = data;
	struct dns_sock **p, *s;
	short what = (short)((readable ? EV_READ : 0) | (writable ? EV_WRITE : 0));

	for (p = &d->socks; *p && (*p)->fd != fd; p = &(*p)->next)
		;
	s = *p;
	if (what == 0) {
		if (s != NULL) {
			*p = s->next;
			event_free(s->ev);
			free(s);
		}
		return;
	}
	if (s != NULL && s->what == what)
		return;
	if (s == NULL) {
		s = dns_alloc(sizeof *s);
		s->d = d;
		s->fd = fd;
		s->next = d->socks;
		d->socks = s;
	} else {
		event_free(s->ev);
	}
	s->what = what;
	s->ev = event_new(d->base, fd, (short)(what | EV_PERSIST), sock_cb, s);
	if (s->ev == NULL || event_add(s->ev, NULL) != 0) {
		fprintf(stderr, "mailsift: dns: cannot watch a resolver socket\n");
		abort();
	}
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns *d = arg;

	(void)fd;
	(void)what;
	ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	kick(d);
}

static void query_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen);

static const int qtype_rr[] = {
	[DNS_Q_MX] = 15,            /* ns_t_mx */
	[DNS_Q_A] = 1,              /* ns_t_a */
	[DNS_Q_AAAA] = 28,          /* ns_t_aaaa */
};
#define DNS_CLASS_IN 1

/* kick_cb - hand queued queries to c-ares up to DEF_DNS_MAX_INFLIGHT, then re-arm the timer from
 * ares_timeout (once per loop pass, not once per query: ares_timeout walks every query) */
static void kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns *d = arg;
	struct timeval tvbuf, *tv;

	(void)fd;
	(void)what;
	while (!d->closing && d->q_head != NULL && d->inflight < DEF_DNS_MAX_INFLIGHT) {
		struct dns_query *q = d->q_head;

		d->q_head = q->next;
		if (d->q_head == NULL)
			d->q_tail = NULL;
		q->next = NULL;
		d->inflight++;
		/* may call query_cb at once (a name c-ares cannot encode): that is fine here */
		ares_query(d->ch, q->owner->name, DNS_CLASS_IN, qtype_rr[q->type], query_cb, q);
	}
	if (d->closing)
		return;
	tv = ares_timeout(d->ch, NULL, &tvbuf);
	if (tv != NULL)
		evtimer_add(d->timer, tv);
	else
		evtimer_del(d->timer);
}

/* query_send - queue a question about OWNER's name */
static void query_send(struct dns *d, enum dns_qtype type, struct dns_entry *owner, int round)
{
	struct dns_query *q = dns_alloc(sizeof *q);

	q->d = d;
	q->type = type;
	q->owner = owner;
	q->round = round;
	entry_ref(d, owner);
	if (d->q_tail)
		d->q_tail->next = q;
	else
		d->q_head = q;
	d->q_tail = q;
	kick(d);
}

/* rr_u16, rr_u32 - big-endian fields of a DNS message */
static unsigned rr_u16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static unsigned long rr_u32(const unsigned char *p)
{
	return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}

/* name_skip - the length of the (maybe compressed) name at P in ABUF, c-ares reading it; -1
 * when it does not decode */
static long name_skip(const unsigned char *p, const unsigned char *abuf, int alen)
{
	char *name = NULL;
	long len = 0;

	if (ares_expand_name(p, abuf, alen, &name, &len) != ARES_SUCCESS)
		return -1;
	ares_free_string(name);
	return len;
}

#define DNS_HEADER_LEN 12
#define DNS_RR_FIXED 10             /* type, class, TTL, RDLENGTH after an owner name */
#define DNS_RR_SOA 6

/* answer_ttl - the seconds ABUF (ALEN bytes) may be cached: the smallest TTL of its answer
 * records; with none, of its authority section's SOA records the smaller of TTL and MINIMUM
 * (RFC 2308 3: negative caching); -1 when it says nothing (or does not decode) */
static long answer_ttl(const unsigned char *abuf, int alen)
{
	const unsigned char *p, *end;
	unsigned qd, an, ns;
	long best = -1;

	if (abuf == NULL || alen < DNS_HEADER_LEN)
		return -1;
	end = abuf + alen;
	qd = rr_u16(abuf + 4);
	an = rr_u16(abuf + 6);
	ns = an ? 0 : rr_u16(abuf + 8); /* the authority section counts only without answers */
	p = abuf + DNS_HEADER_LEN;
	for (unsigned i = 0; i < qd; i++) {
		long n = name_skip(p, abuf, alen);

		if (n < 0 || end - p < n + 4)
			return -1;
		p += n + 4;
	}
	for (unsigned i = 0; i < an + ns; i++) {
		long n = name_skip(p, abuf, alen), ttl;
		unsigned long raw;
		unsigned type, rdlen;

		if (n < 0 || end - p < n + DNS_RR_FIXED)
			break;
		p += n;
		type = rr_u16(p);
		raw = rr_u32(p + 4);
		ttl = raw & 0x80000000UL ? 0 : (long)raw; /* RFC 2181 8: the top bit set means 0 */
		rdlen = rr_u16(p + 8);
		p += DNS_RR_FIXED;
		if (end - p < (long)rdlen)
			break;
		if (i >= an) {          /* authority: only a SOA says something, MINIMUM included */
			long m1 = type == DNS_RR_SOA ? name_skip(p, abuf, alen) : -1;
			long m2 = m1 < 0 ? -1 : name_skip(p + m1, abuf, alen);

			if (m2 < 0 || (long)rdlen < m1 + m2 + 20)
				ttl = -1;
			else if ((long)rr_u32(p + m1 + m2 + 16) < ttl)
				ttl = (long)rr_u32(p + m1 + m2 + 16); /* after serial ... expire */
		}
		if (ttl >= 0 && (best < 0 || ttl < best))
			best = ttl;
		p += rdlen;
	}
	return best;
}

void dns_answer_read(enum dns_qtype type, int status, const unsigned char *abuf, int alen,
                     struct dns_answer *ans)
{
	int rc = status;

	memset(ans, 0, sizeof *ans);
	if (status == ARES_SUCCESS && (abuf == NULL || alen <= 0)) {
		rc = ARES_EBADRESP;     /* "success" without an answer: nothing to trust */
	} else if (status == ARES_SUCCESS && type == DNS_Q_MX) {
		rc = ares_parse_mx_reply(abuf, alen, &ans->mx);
		if (rc == ARES_SUCCESS && ans->mx == NULL)
			rc = ARES_ENODATA;
	} else if (status == ARES_SUCCESS && type == DNS_Q_A) {
		struct ares_addrttl t[DNS_MAX_ADDRS];
		int n = DNS_MAX_ADDRS;

		rc = ares_parse_a_reply(abuf, alen, NULL, t, &n);
		for (int i = 0; rc == ARES_SUCCESS && i < n; i++)
			memcpy(ans->addr[ans->naddrs++], &t[i].ipaddr, 4);
		if (rc == ARES_SUCCESS && ans->naddrs == 0)
			rc = ARES_ENODATA;
	} else if (status == ARES_SUCCESS) {
		struct ares_addr6ttl t[DNS_MAX_ADDRS];
		int n = DNS_MAX_ADDRS;

		rc = ares_parse_aaaa_reply(abuf, alen, NULL, t, &n);
		for (int i = 0; rc == ARES_SUCCESS && i < n; i++)
			memcpy(ans->addr[ans->naddrs++], &t[i].ip6addr, 16);
		if (rc == ARES_SUCCESS && ans->naddrs == 0)
			rc = ARES_ENODATA;
	}
	ans->status = rc;
	ans->ttl = -1;
	if (status == ARES_SUCCESS && rc != ARES_SUCCESS && rc != ARES_ENODATA) {
		/* an answer came and did not parse: whatever the parser's status says (ARES_EBADNAME
		 * for a compression-pointer loop), it is not an answer about the name */
		dns_answer_free(ans);
		ans->naddrs = 0;
		ans->malformed = 1;
		ans->meaning = DNS_MEANS_TEMPORARY;
		return;
	}
	ans->meaning = dns_ares_status(rc)->meaning;
	if (ans->meaning == DNS_MEANS_OK || ans->meaning == DNS_MEANS_NODATA ||
	    ans->meaning == DNS_MEANS_NOT_EXIST)
		ans->ttl = answer_ttl(abuf, alen);
}

void dns_answer_free(struct dns_answer *ans)
{
	if (ans->mx != NULL)
		ares_free_data(ans->mx);
	ans->mx = NULL;
}

size_t dns_mx_targets(const struct dns_answer *ans, struct dns_mx_target *out, size_t max,
                      size_t *nnull, size_t *nbad)
{
	size_t n = 0;

	*nnull = *nbad = 0;
	for (const struct ares_mx_reply *m = ans->mx; m; m = m->next) {
		char name[DNS_NAME_MAX + 1];

		if (m->host == NULL || m->host[0] == '\0' || strcmp(m->host, ".") == 0) {
			(*nnull)++;         /* null target: RFC 7505 */
			continue;
		}
		if (name_norm(m->host, name) != 0 || !dns_name_queryable(name)) {
			(*nbad)++;          /* cannot be a host we could ask about */
			continue;
		}
		if (n < max) {
			out[n].preference = m->priority;
			memcpy(out[n].name, name, strlen(name) + 1);
		}
		n++;
	}
	return n;
}

static void domain_mx_answer(struct dns *d, struct dns_domain *dom, const struct dns_answer *ans,
                             int rounds);
static void host_answer(struct dns *d, struct dns_mxhost *h, enum dns_qtype type,
                        const struct dns_answer *ans);

/* query_cb - c-ares is done with a query: retry a temporary failure, else hand the answer to
 * its owner. During ares_destroy (dns_free) it only lets go of the query. */
static void query_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_query *q = arg;
	struct dns *d = q->d;
	struct dns_answer ans;

	(void)timeouts;
	d->inflight--;
	if (d->closing || dns_ares_status(status)->meaning == DNS_MEANS_CANCELLED) {
		entry_unref(d, q->owner);
		free(q);
		return;
	}
	dns_answer_read(q->type, status, abuf, alen, &ans);
	if (ans.meaning == DNS_MEANS_TEMPORARY && q->round < DEF_DNS_RETRIES) {
		query_send(d, q->type, q->owner, q->round + 1);
	} else if (q->type == DNS_Q_MX) {
		domain_mx_answer(d, (struct dns_domain *)q->owner, &ans, q->round + 1);
	} else {
		host_answer(d, (struct dns_mxhost *)q->owner, q->type, &ans);
	}
	dns_answer_free(&ans);
	entry_unref(d, q->owner);
	free(q);
}

/* ---------------------------------------------------------------- domains and hosts */

/* ttl_expiry - when an answer of TTL seconds (-1: none given) goes stale: never later than
 * DEF_DNS_CACHE_SECONDS from now */
static double ttl_expiry(long ttl)
{
	return clock_now() + (double)(ttl < 0 || ttl > DEF_DNS_CACHE_SECONDS ? DEF_DNS_CACHE_SECONDS
	                                                                     : ttl);
}

/* domain_finish - DOM has its answer: queue its waiters for delivery; uncache it unless
 * CACHEABLE. It goes stale with the first of its own answer and its MX hosts' answers. The
 * caller must hold a ref on DOM. */
static void domain_finish(struct dns *d, struct dns_domain *dom, enum dns_status status,
                          int cacheable)
{
	dom->e.expires = ttl_expiry(dom->ttl);
	for (size_t i = 0; i < dom->nslots; i++)
		if (dom->slots[i].host->e.expires < dom->e.expires)
			dom->e.expires = dom->slots[i].host->e.expires;
	dom->state = DOM_DONE;
	dom->status = status;
	if (dom->wait_head != NULL) {
		if (d->ready_tail)
			d->ready_tail->next = dom->wait_head;
		else
			d->ready_head = dom->wait_head;
		d->ready_tail = dom->wait_tail;
		dom->wait_head = dom->wait_tail = NULL;
		deliver_soon(d);
	}
	if (!cacheable)
		entry_uncache(d, &dom->e);
}

/* domain_hosts_done - every MX host (or the implicit one) of DOM is resolved: decide */
static void domain_hosts_done(struct dns *d, struct dns_domain *dom)
{
	size_t naddr = 0, ntemp = 0;
	const struct dns_mxhost *temp = NULL, *first = dom->slots[0].host;
	char words[DNS_DETAIL_MAX];

	if (dom->implicit) {
		switch (first->state) {
		case HOST_ADDR:
			detail_set(dom, "no MX; implicit MX on the domain's address");
			domain_finish(d, dom, DNS_OK, 1);
			break;
		case HOST_NXDOMAIN:
			detail_set(dom, "no MX, and the address lookup says NXDOMAIN");
			domain_finish(d, dom, DNS_NXDOMAIN, 1);
			break;
		case HOST_NODATA:
			detail_set(dom, "no MX and no A/AAAA record");
			domain_finish(d, dom, DNS_NO_MAIL_HOST, 1);
			break;
		default:
			detail_set(dom, "no MX; A/AAAA lookup: %s via %s",
			           failure_text(first->temp_status, first->temp_malformed, words,
			                        sizeof words), d->servers);
			domain_finish(d, dom, DNS_TEMPFAIL, 0);
			break;
		}
		return;
	}
	for (size_t i = 0; i < dom->nslots; i++) {
		const struct dns_mxhost *h = dom->slots[i].host;

		if (h->state == HOST_ADDR)
			naddr++;
		else if (h->state == HOST_TEMP && ntemp++ == 0)
			temp = h;
	}
	if (naddr > 0) {
		detail_set(dom, "%zu of %zu MX hosts have an address", naddr, dom->nslots);
		domain_finish(d, dom, DNS_OK, ntemp == 0);
	} else if (temp != NULL) {
		detail_set(dom, "MX host %s: %s via %s", temp->e.name,
		           failure_text(temp->temp_status, temp->temp_malformed, words, sizeof words),
		           d->servers);
		domain_finish(d, dom, DNS_TEMPFAIL, 0);
	} else {
		detail_set(dom, "no MX host has an address (%s: %s)", first->e.name,
		           first->state == HOST_NXDOMAIN ? "NXDOMAIN" : "no A/AAAA record");
		domain_finish(d, dom, DNS_NO_HOST_ADDRESS, 1);
	}
}

/* host_get - the cache entry for host NAME, with a ref for the caller; starts its lookups */
static struct dns_mxhost *host_get(struct dns *d, const char *name)
{
	uint32_t hash = hash_fnv1a32_str(name);
	struct dns_mxhost *h = (struct dns_mxhost *)cache_find(d, &d->hosts, name, hash);

	if (h != NULL) {
		entry_ref(d, &h->e);
		return h;
	}
	h = dns_alloc(sizeof *h);
	entry_init(&h->e, DNS_ENT_HOST, name);
	h->e.refs = 1;
	cache_add(d, &h->e);
	h->state = HOST_PENDING;
	h->ttl = -1;
	h->pending = 2;
	query_send(d, DNS_Q_A, &h->e, 0);
	query_send(d, DNS_Q_AAAA, &h->e, 0);
	return h;
}

/* domain_attach - DOM's slots are filled: wait for the hosts still pending */
static void domain_attach(struct dns *d, struct dns_domain *dom)
{
	dom->state = DOM_HOSTS;
	dom->pending = 1;           /* held while attaching, so no host can finish DOM early */
	for (size_t i = 0; i < dom->nslots; i++) {
		struct dns_mxhost *h = dom->slots[i].host;

		if (h->state != HOST_PENDING)
			continue;
		if (h->nwaiting == h->capwaiting) {
			h->capwaiting = h->capwaiting ? h->capwaiting * 2 : DNS_WAITING_MIN;
			/* an array of pointers: sizeof *h->waiting is a pointer's size, as meant */
			h->waiting = realloc(h->waiting,
			                     // NOLINTNEXTLINE(bugprone-sizeof-expression)
			                     h->capwaiting * sizeof *h->waiting);
			if (h->waiting == NULL) {
				fprintf(stderr, "mailsift: dns: out of memory\n");
				abort();
			}
		}
		h->waiting[h->nwaiting++] = dom;
		entry_ref(d, &dom->e);
		dom->pending++;
	}
	if (--dom->pending == 0)
		domain_hosts_done(d, dom);
}

struct dns_mxcand {                 /* an MX record while sorting */
	struct dns_mx_target t;
	uint64_t tiebreak;          /* random: which of equal preferences survives the cut */
};

static int mxcand_cmp(const void *a, const void *b)
{
	const struct dns_mxcand *x = a, *y = b;

	if (x->t.preference != y->t.preference)
		return x->t.preference < y->t.preference ? -1 : 1;
	return x->tiebreak < y->tiebreak ? -1 : x->tiebreak > y->tiebreak;
}

/* domain_mx_answer - the MX query of DOM is answered (after ROUNDS sends) */
static void domain_mx_answer(struct dns *d, struct dns_domain *dom, const struct dns_answer *ans,
                             int rounds)
{
	struct dns_mx_target *t;
	struct dns_mxcand *c;
	size_t n, nnull, nbad, kept = 0;
	char words[DNS_DETAIL_MAX];

	dom->ttl = ans->ttl;
	switch (ans->meaning) {
	case DNS_MEANS_NOT_EXIST:
		detail_set(dom, "domain does not exist (NXDOMAIN)");
		domain_finish(d, dom, DNS_NXDOMAIN, 1);
		return;
	case DNS_MEANS_TEMPORARY:
	case DNS_MEANS_CANCELLED:   /* not here: query_cb lets cancelled queries go */
		detail_set(dom, "MX lookup: %s via %s, %d rounds",
		           failure_text(ans->status, ans->malformed, words, sizeof words), d->servers,
		           rounds);
		domain_finish(d, dom, DNS_TEMPFAIL, 0);
		return;
	case DNS_MEANS_NODATA:      /* RFC 5321 5.1: the domain is its own MX */
		dom->implicit = 1;
		dom->nslots = 1;
		dom->slots = dns_alloc(sizeof *dom->slots);
		dom->slots[0].preference = 0;
		dom->slots[0].host = host_get(d, dom->e.name);
		domain_attach(d, dom);
		return;
	case DNS_MEANS_OK:
		break;
	}
	n = dns_mx_targets(ans, NULL, 0, &nnull, &nbad);
	if (n == 0 && nnull > 0) {
		detail_set(dom, "null MX: the domain takes no mail (RFC 7505)");
		domain_finish(d, dom, DNS_NULL_MX, 1);
		return;
	}
	t = dns_alloc((n + 1) * sizeof *t);   /* +1: never a zero-size allocation */
	c = dns_alloc((n + 1) * sizeof *c);
	dns_mx_targets(ans, t, n, &nnull, &nbad);
	for (size_t i = 0; i < n; i++) {
		c[i].t = t[i];
		c[i].tiebreak = rng_next(d);
	}
	free(t);
	qsort(c, n, sizeof *c, mxcand_cmp);
	dom->slots = dns_alloc(((n < DNS_MAX_HOSTS ? n : DNS_MAX_HOSTS) + 1) * sizeof *dom->slots);
	for (size_t i = 0; i < n && kept < DNS_MAX_HOSTS; i++) {
		size_t j;

		for (j = 0; j < kept; j++)  /* the same host twice: keep its best preference */
			if (strcmp(dom->slots[j].host->e.name, c[i].t.name) == 0)
				break;
		if (j < kept)
			continue;
		dom->slots[kept].preference = c[i].t.preference;
		dom->slots[kept].host = host_get(d, c[i].t.name);
		kept++;
	}
	dom->nslots = kept;
	free(c);
	if (kept == 0) {            /* every exchange name was unusable */
		detail_set(dom, "no usable MX host name");
		domain_finish(d, dom, DNS_NO_HOST_ADDRESS, 1);
		return;
	}
	domain_attach(d, dom);
}

/* host_answer - an A or AAAA query of H is answered */
static void host_answer(struct dns *d, struct dns_mxhost *h, enum dns_qtype type,
                        const struct dns_answer *ans)
{
	struct dns_domain **waiting;
	size_t nwaiting;

	switch (ans->meaning) {
	case DNS_MEANS_OK:
		if (type == DNS_Q_A) {
			for (size_t i = 0; i < ans->naddrs && h->n4 < DNS_MAX_ADDRS; i++)
				memcpy(h->a4[h->n4++], ans->addr[i], 4);
		} else {
			for (size_t i = 0; i < ans->naddrs && h->n6 < DNS_MAX_ADDRS; i++)
				memcpy(h->a6[h->n6++], ans->addr[i], 16);
		}
		break;
	case DNS_MEANS_NOT_EXIST:
		h->nxdomain = 1;
		break;
	case DNS_MEANS_TEMPORARY:
	case DNS_MEANS_CANCELLED:   /* not here: query_cb lets cancelled queries go */
		h->temp_status = ans->status;
		h->temp_malformed = ans->malformed;
		break;
	case DNS_MEANS_NODATA:
		break;
	}
	if (ans->ttl >= 0 && (h->ttl < 0 || ans->ttl < h->ttl))
		h->ttl = ans->ttl;
	if (--h->pending > 0)
		return;
	h->e.expires = ttl_expiry(h->ttl);
	if (h->n4 + h->n6 > 0)
		h->state = HOST_ADDR;
	else if (h->temp_status != 0)
		h->state = HOST_TEMP;
	else if (h->nxdomain)
		h->state = HOST_NXDOMAIN;
	else
		h->state = HOST_NODATA;

	/* tell the waiting domains; one of them may drop the last other ref to H */
	entry_ref(d, &h->e);
	if (h->state == HOST_TEMP)
		entry_uncache(d, &h->e);
	waiting = h->waiting;
	nwaiting = h->nwaiting;
	h->waiting = NULL;
	h->nwaiting = h->capwaiting = 0;
	for (size_t i = 0; i < nwaiting; i++) {
		struct dns_domain *dom = waiting[i];

		if (--dom->pending == 0)
			domain_hosts_done(d, dom);
		entry_unref(d, &dom->e);
	}
	free(waiting);
	entry_unref(d, &h->e);
}

/* ---------------------------------------------------------------- delivery */

/* host_fill - OUT from slot S: name, preference, addresses (IPv4 first; when both families
 * overflow DNS_MAX_ADDRS, IPv6 keeps at least half) */
static void host_fill(struct dns_host *out, const struct dns_slot *s)
{
	const struct dns_mxhost *h = s->host;
	size_t k4, k6, room6 = DNS_MAX_ADDRS - h->n4;  /* n4 <= DNS_MAX_ADDRS */

	if (room6 < DNS_MAX_ADDRS / 2)
		room6 = DNS_MAX_ADDRS / 2;
	k6 = h->n6 < room6 ? h->n6 : room6;
	k4 = h->n4 < DNS_MAX_ADDRS - k6 ? h->n4 : DNS_MAX_ADDRS - k6;
	snprintf(out->name, sizeof out->name, "%s", h->e.name);
	out->preference = s->preference;
	out->naddrs = 0;
	for (size_t i = 0; i < k4; i++) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&out->addr[out->naddrs];

		memset(&out->addr[out->naddrs], 0, sizeof out->addr[0]);
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, h->a4[i], 4);
		out->addrlen[out->naddrs++] = sizeof *sin;
	}
	for (size_t i = 0; i < k6; i++) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->addr[out->naddrs];

		memset(&out->addr[out->naddrs], 0, sizeof out->addr[0]);
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, h->a6[i], 16);
		out->addrlen[out->naddrs++] = sizeof *sin6;
	}
}

/* result_keep_public - drop R's addresses that are not public (engine/netaddr.h), and the
 * hosts left without one; when no host is left, R becomes DNS_MX_NOT_PUBLIC with every host
 * and address as it was and a detail naming the first refused address */
static void result_keep_public(struct dns_result *r)
{
	size_t kept = 0;
	int any = 0;

	if (r->status != DNS_OK)
		return;
	for (size_t h = 0; h < r->nhosts && !any; h++)
		for (size_t a = 0; a < r->hosts[h].naddrs && !any; a++)
			any = netaddr_is_public((const struct sockaddr *)&r->hosts[h].addr[a]);
	if (!any) {
		const struct dns_host *h = &r->hosts[0];
		char ip[INET6_ADDRSTRLEN];

		r->status = DNS_MX_NOT_PUBLIC;
		snprintf(r->detail_buf, sizeof r->detail_buf,
		         "%s %.100s has no public address: %s is %s (%zu MX host%s, none public; "
		         "--allow-private-mx lets them through)",
		         r->implicit_mx ? "the domain (implicit MX)" : "MX host", h->name,
		         ipaddr_text((const struct sockaddr *)&h->addr[0], ip, sizeof ip),
		         h->naddrs ? netaddr_special((const struct sockaddr *)&h->addr[0]) : "missing",
		         r->nhosts, r->nhosts == 1 ? "" : "s");
		r->detail = r->detail_buf;
		return;
	}
	for (size_t h = 0; h < r->nhosts; h++) {
		struct dns_host *in = &r->hosts[h];
		size_t n = 0;

		for (size_t a = 0; a < in->naddrs; a++) {
			if (!netaddr_is_public((const struct sockaddr *)&in->addr[a]))
				continue;
			if (n != a) {
				in->addr[n] = in->addr[a];
				in->addrlen[n] = in->addrlen[a];
			}
			n++;
		}
		in->naddrs = n;
		if (n == 0)
			continue;
		if (kept != h)
			r->hosts[kept] = *in;
		kept++;
	}
	r->nhosts = kept;
}

/* result_build - the result W's callback gets, in d->result */
static const struct dns_result *result_build(struct dns *d, const struct dns_waiter *w)
{
	struct dns_result *r = &d->result;
	const struct dns_domain *dom = w->dom;
	size_t idx[DNS_MAX_HOSTS], n = 0;

	r->nhosts = 0;
	r->implicit_mx = 0;
	if (dom == NULL || w->cancelled) {
		r->status = w->status;
		r->detail = w->detail;
		return r;
	}
	assert(dom->state == DOM_DONE);
	r->status = dom->status;
	r->detail = dom->detail ? dom->detail : "";
	if (dom->status != DNS_OK)
		return r;
	r->implicit_mx = dom->implicit;
	for (size_t i = 0; i < dom->nslots && n < DNS_MAX_HOSTS; i++)
		if (dom->slots[i].host->state == HOST_ADDR)
			idx[n++] = i;
	/* shuffle each run of equal preferences (Fisher-Yates) */
	for (size_t lo = 0, hi; lo < n; lo = hi) {
		for (hi = lo + 1; hi < n && dom->slots[idx[hi]].preference ==
		     dom->slots[idx[lo]].preference; hi++)
			;
		for (size_t i = hi - 1; i > lo; i--) {
			size_t j = lo + (size_t)(rng_next(d) % (i - lo + 1)), t = idx[i];

			idx[i] = idx[j];
			idx[j] = t;
		}
	}
	for (size_t i = 0; i < n; i++)
		host_fill(&r->hosts[i], &dom->slots[idx[i]]);
	r->nhosts = n;
	if (!d->allow_private)
		result_keep_public(r);
	return r;
}

/* waiter_run - run W's callback and let go of W */
static void waiter_run(struct dns *d, struct dns_waiter *w)
{
	w->cb(w->arg, result_build(d, w));
	if (w->dom)
		entry_unref(d, &w->dom->e);
	free(w);
}

static void dns_release(struct dns *d);

/* deliver_cb - run the callbacks of every waiter that was ready when this pass began */
static void deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns *d = arg;

	(void)fd;
	(void)what;
	d->delivering = 1;
	d->batch = d->ready_head;
	d->ready_head = d->ready_tail = NULL;
	while (d->batch != NULL) {
		struct dns_waiter *w = d->batch;

		d->batch = w->next;
		waiter_run(d, w);
		if (d->free_pending) {  /* a callback called dns_free */
			dns_release(d);
			return;
		}
	}
	d->delivering = 0;
}

static void ready_push(struct dns *d, struct dns_waiter *w)
{
	w->next = NULL;
	if (d->ready_tail)
		d->ready_tail->next = w;
	else
		d->ready_head = w;
	d->ready_tail = w;
	deliver_soon(d);
}

/* ---------------------------------------------------------------- public */

/* server_norm - one resolver argument as c-ares wants it ("a.b.c.d:port", "[v6]:port") */
static int server_norm(const char *in, char *out, size_t outlen)
{
	char host[DNS_SERVER_MAX], *colon;
	const char *port = NULL;
	struct sockaddr_storage ss;
	long p = DNS_PORT_DEFAULT;
	int v6;

	if (strlen(in) >= sizeof host)
		return -1;
	if (in[0] == '[') {
		const char *close = strchr(in, ']');

		if (close == NULL)
			return -1;
		memcpy(host, in + 1, (size_t)(close - in - 1));
		host[close - in - 1] = '\0';
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0')
			return -1;
	} else {
		snprintf(host, sizeof host, "%s", in);
		colon = strchr(host, ':');
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			*colon = '\0';  /* one colon: IPv4:port; more: a bare IPv6 */
			port = colon + 1;
		}
	}
	if (port != NULL) {
		char *end;

		errno = 0;
		p = strtol(port, &end, 10);
		if (*port == '\0' || *end != '\0' || errno || p < 1 || p > 65535)
			return -1;
	}
	if (ipaddr_parse(host, AF_UNSPEC, &ss, NULL) < 0)
		return -1;
	v6 = ss.ss_family == AF_INET6;
	if ((size_t)snprintf(out, outlen, v6 ? "[%s]:%ld" : "%s:%ld", host, p) >= outlen)
		return -1;
	return 0;
}

int dns_timeout_ms(int *timeout, char *err, size_t errlen)
{
	const char *env;

	*timeout = DEF_DNS_TIMEOUT_MS;
	if ((env = getenv(DNS_TIMEOUT_ENV)) != NULL && *env) {
		char *end;
		long ms = strtol(env, &end, 10);

		if (*end || ms < 1 || ms > DNS_TIMEOUT_ENV_MAX) {
			err_set(err, errlen, "%s=%s: want milliseconds from 1 to %d", DNS_TIMEOUT_ENV,
			        env, DNS_TIMEOUT_ENV_MAX);
			return -1;
		}
		*timeout = (int)ms;
	}
	return 0;
}

int dns_servers_csv(const char *const *servers, size_t nservers, char **csvp, char *err,
                       size_t errlen)
{
	char *csv = NULL;
	size_t csvlen = 0;

	for (size_t i = 0; i < nservers; i++) {
		char one[DNS_SERVER_MAX + 16];

		if (server_norm(servers[i], one, sizeof one) != 0) {
			err_set(err, errlen,
			        "resolver \"%s\": want an IP address, IP:PORT or [IPv6]:PORT",
			        servers[i]);
			free(csv);
			return -1;
		}
		char *grown = realloc(csv, csvlen + strlen(one) + 2);
		if (grown == NULL) {
			free(csv);
			err_set(err, errlen, "out of memory");
			return -1;
		}
		csv = grown;
		csvlen += (size_t)sprintf(csv + csvlen, "%s%s", csvlen ? "," : "", one);
	}
	*csvp = csv;
	return 0;
}

/* channel_init - D's c-ares channel: TIMEOUT ms a try, DEF_DNS_TRIES tries, its sockets
 * watched through sock_state_cb, asking the resolvers of CSV (NULL: the system's); -1 with
 * err, the channel not left open */
static int channel_init(struct dns *d, int timeout, const char *csv, char *err, size_t errlen)
{
	struct ares_options opts;
	int optmask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB |
	              ARES_OPT_SOCK_RCVBUF;
	int rc;

	memset(&opts, 0, sizeof opts);
	opts.flags = ARES_FLAG_NOCHECKRESP; /* SERVFAIL / REFUSED come back as statuses */
	opts.timeout = timeout;
	opts.tries = DEF_DNS_TRIES;
	opts.sock_state_cb = sock_state_cb;
	opts.sock_state_cb_data = d;
	opts.socket_receive_buffer_size = DEF_DNS_SOCK_RCVBUF;
	rc = ares_init_options(&d->ch, &opts, optmask);
	if (rc == ARES_SUCCESS && csv != NULL &&
	    (rc = ares_set_servers_ports_csv(d->ch, csv)) != ARES_SUCCESS) {
		err_set(err, errlen, "resolvers %s: %s", csv, ares_strerror(rc));
		ares_destroy(d->ch);
		return -1;
	}
	if (rc != ARES_SUCCESS) {
		err_set(err, errlen, "c-ares init: %s", ares_strerror(rc));
		return -1;
	}
	return 0;
}

/* events_new - D's timer, kick and deliver events; -1 with err when libevent cannot make
 * them, and then D's channel and the events made are let go */
static int events_new(struct dns *d, char *err, size_t errlen)
{
	d->timer = evtimer_new(d->base, timer_cb, d);
	d->kick = event_new(d->base, -1, 0, kick_cb, d);
	d->deliver = event_new(d->base, -1, 0, deliver_cb, d);
	if (d->timer == NULL || d->kick == NULL || d->deliver == NULL) {
		err_set(err, errlen, "libevent: cannot create events");
		d->closing = 1;
		ares_destroy(d->ch);
		if (d->timer)
			event_free(d->timer);
		if (d->kick)
			event_free(d->kick);
		if (d->deliver)
			event_free(d->deliver);
		return -1;
	}
	return 0;
}

/* rng_seed - D's shuffle seeded from DNS_SEED_ENV when set, else from libevent's secure RNG */
static void rng_seed(struct dns *d)
{
	const char *env;

	if ((env = getenv(DNS_SEED_ENV)) != NULL && *env)
		d->rng = strtoull(env, NULL, 0);
	else
		evutil_secure_rng_get_bytes(&d->rng, sizeof d->rng);
	if (d->rng == 0)
		d->rng = 0x9e3779b97f4a7c15ull; /* xorshift must not start at 0 */
}

struct dns *dns_new(struct event_base *base, const char *const *servers, size_t nservers,
                    char *err, size_t errlen)
{
	char *csv = NULL;
	struct dns *d;
	int rc, timeout;

	if (dns_timeout_ms(&timeout, err, errlen) < 0 ||
	    dns_servers_csv(servers, nservers, &csv, err, errlen) < 0)
		return NULL;
	d = dns_alloc(sizeof *d);
	d->base = base;
	snprintf(d->servers, sizeof d->servers, "%s", nservers ? csv : "the system resolver");
	if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
		err_set(err, errlen, "c-ares: %s", ares_strerror(rc));
		free(csv);
		free(d);
		return NULL;
	}
	if (channel_init(d, timeout, csv, err, errlen) < 0)
		goto fail;
	free(csv);
	csv = NULL;
	if (events_new(d, err, errlen) < 0)
		goto fail;
	rng_seed(d);
	d->domains.limit = d->hosts.limit = DEF_DNS_CACHE_ENTRIES;
	return d;
fail:
	ares_library_cleanup();
	free(csv);
	free(d);
	return NULL;
}

void dns_cache_limit(struct dns *d, size_t entries)
{
	d->domains.limit = d->hosts.limit = entries ? entries : 1;
	table_trim(d, &d->domains, 0);
	table_trim(d, &d->hosts, 0);
}

static void table_stats(const struct dns_table *t, struct dns_cache_stats *out)
{
	*out = t->st;
	out->entries = t->n;
	out->limit = t->limit;
}

void dns_cache_stats(const struct dns *d, struct dns_cache_stats *domains,
                     struct dns_cache_stats *hosts)
{
	table_stats(&d->domains, domains);
	table_stats(&d->hosts, hosts);
}

void dns_allow_private(struct dns *d, int allow)
{
	d->allow_private = allow != 0;
}

/* HOST_KEY - what a host-only entry's name ends with in the domain table: no DNS name holds a
 * space, so it never meets a mail domain's entry for the same name */
#define HOST_KEY " (host)"

/* lookup - what dns_mail_hosts and dns_host_addresses share: NAME's entry in the domain table
 * (HOST_ONLY: its A and AAAA alone, as an implicit MX without asking for MX records) */
static void lookup(struct dns *d, const char *domain, int host_only,
                   void (*cb)(void *arg, const struct dns_result *r), void *arg)
{
	struct dns_waiter *w = dns_alloc(sizeof *w);
	char name[DNS_NAME_MAX + 1], key[DNS_NAME_MAX + sizeof HOST_KEY];
	struct dns_domain *dom;
	uint32_t hash;

	w->cb = cb;
	w->arg = arg;
	if (d->closing) {           /* from a callback run by dns_free: answered by it */
		w->status = DNS_TEMPFAIL;
		w->detail = dns_shut_down;
		w->cancelled = 1;
		ready_push(d, w);
		return;
	}
	if (name_norm(domain, name) != 0 || !dns_name_queryable(name)) {
		/* decided from the name, before anything is sent: it cannot exist in the DNS */
		w->status = DNS_NXDOMAIN;
		w->detail = "not a valid DNS name (empty, longer than 253 bytes, or a label empty or "
		            "longer than 63): it cannot exist";
		ready_push(d, w);
		return;
	}
	snprintf(key, sizeof key, "%s%s", name, host_only ? HOST_KEY : "");
	hash = hash_fnv1a32_str(key);
	dom = (struct dns_domain *)cache_find(d, &d->domains, key, hash);
	if (dom == NULL) {
		dom = dns_alloc(sizeof *dom);
		dom->ttl = -1;
		entry_init(&dom->e, DNS_ENT_DOMAIN, key);
		cache_add(d, &dom->e);
		if (host_only) {
			dom->implicit = 1;
			dom->nslots = 1;
			dom->slots = dns_alloc(sizeof *dom->slots);
			dom->slots[0].preference = 0;
			dom->slots[0].host = host_get(d, name);
			domain_attach(d, dom);
		} else {
			dom->state = DOM_MX;
			query_send(d, DNS_Q_MX, &dom->e, 0);
		}
	}
	w->dom = dom;
	entry_ref(d, &dom->e);
	if (dom->state == DOM_DONE) {
		ready_push(d, w);
	} else {
		if (dom->wait_tail)
			dom->wait_tail->next = w;
		else
			dom->wait_head = w;
		dom->wait_tail = w;
	}
}

void dns_mail_hosts(struct dns *d, const char *domain,
                    void (*cb)(void *arg, const struct dns_result *r), void *arg)
{
	lookup(d, domain, 0, cb, arg);
}

void dns_host_addresses(struct dns *d, const char *name,
                        void (*cb)(void *arg, const struct dns_result *r), void *arg)
{
	lookup(d, name, 1, cb, arg);
}

/* table_drop - let go of every entry of T (the table's refs) and of its buckets */
static void table_drop(struct dns *d, struct dns_table *t)
{
	for (size_t i = 0; i < t->nbuckets; i++) {
		while (t->bucket[i] != NULL) {
			struct dns_entry *e = t->bucket[i];

			table_remove(t, e);
			entry_unref(d, e);
		}
	}
	free(t->bucket);
	t->bucket = NULL;
	t->nbuckets = 0;
}

/* dns_release - free D itself; everything it held is gone already */
static void dns_release(struct dns *d)
{
	event_free(d->timer);
	event_free(d->kick);
	event_free(d->deliver);
	free(d);
	ares_library_cleanup();
}

/* queries_stop - dns_free, step 1: c-ares ends every query (ARES_EDESTRUCTION: query_cb only
 * lets go) and closes its sockets (sock_state_cb frees their events); D's own events are
 * disarmed and the queries still waiting in the FIFO let go */
static void queries_stop(struct dns *d)
{
	ares_destroy(d->ch);
	while (d->socks != NULL) {
		struct dns_sock *s = d->socks;

		d->socks = s->next;
		event_free(s->ev);
		free(s);
	}
	evtimer_del(d->timer);
	event_del(d->kick);
	event_del(d->deliver);
	while (d->q_head != NULL) {
		struct dns_query *q = d->q_head;

		d->q_head = q->next;
		entry_unref(d, q->owner);
		free(q);
	}
	d->q_tail = NULL;
}

/* waiters_unanswered - every caller not answered yet, taken off its list and chained in the
 * order they asked: the batch being delivered, the ready ones, those waiting on a domain */
static struct dns_waiter *waiters_unanswered(struct dns *d)
{
	struct dns_waiter *head = NULL, **tail = &head;

	*tail = d->batch;
	while (*tail)
		tail = &(*tail)->next;
	d->batch = NULL;
	*tail = d->ready_head;
	while (*tail)
		tail = &(*tail)->next;
	d->ready_head = d->ready_tail = NULL;
	for (size_t i = 0; i < d->domains.nbuckets; i++) {
		for (struct dns_entry *e = d->domains.bucket[i]; e; e = e->chain) {
			struct dns_domain *dom = (struct dns_domain *)e;

			*tail = dom->wait_head;
			while (*tail)
				tail = &(*tail)->next;
			dom->wait_head = dom->wait_tail = NULL;
		}
	}
	return head;
}

/* waiters_cancel - dns_free, step 2: every caller not answered yet gets DNS_TEMPFAIL, in the
 * order they asked */
static void waiters_cancel(struct dns *d)
{
	struct dns_waiter *cancel_head = waiters_unanswered(d);

	for (;;) {
		struct dns_waiter *w = cancel_head;

		if (w == NULL) {    /* callbacks may have asked for more: answer those too */
			cancel_head = d->ready_head;
			d->ready_head = d->ready_tail = NULL;
			if (cancel_head == NULL)
				break;
			continue;
		}
		cancel_head = w->next;
		w->cancelled = 1;
		w->status = DNS_TEMPFAIL;
		w->detail = dns_shut_down;
		waiter_run(d, w);
	}
}

/* caches_drop - dns_free, step 3: the caches; hosts still waited on hold refs to domains,
 * then the tables' refs */
static void caches_drop(struct dns *d)
{
	for (size_t i = 0; i < d->hosts.nbuckets; i++) {
		for (struct dns_entry *e = d->hosts.bucket[i]; e; e = e->chain) {
			struct dns_mxhost *h = (struct dns_mxhost *)e;

			for (size_t j = 0; j < h->nwaiting; j++)
				entry_unref(d, &h->waiting[j]->e);
			h->nwaiting = 0;
		}
	}
	table_drop(d, &d->domains);
	table_drop(d, &d->hosts);
}

void dns_free(struct dns *d)
{
	if (d == NULL || d->closing)
		return;
	d->closing = 1;
	queries_stop(d);
	waiters_cancel(d);
	caches_drop(d);
	if (d->delivering)          /* called from a callback: deliver_cb frees D on return */
		d->free_pending = 1;
	else
		dns_release(d);
}

const char *dns_status_name(enum dns_status s)
{
	switch (s) {
	case DNS_OK: return "ok";
	case DNS_NXDOMAIN: return "nxdomain";
	case DNS_NULL_MX: return "null_mx";
	case DNS_NO_MAIL_HOST: return "no_mail_host";
	case DNS_NO_HOST_ADDRESS: return "no_host_address";
	case DNS_TEMPFAIL: return "tempfail";
	case DNS_MX_NOT_PUBLIC: return "mx_not_public";
	}
	return "unknown";
}

int dns_status_from_name(const char *name)
{
	for (int st = DNS_OK; st <= DNS_STATUS_LAST; st++)
		if (strcmp(name, dns_status_name((enum dns_status)st)) == 0)
			return st;
	return -1;
}

void dns_result_text(const struct dns_result *r, char *buf, size_t n)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t h = 0; h < r->nhosts; h++) {
		const struct dns_host *dh = &r->hosts[h];
		int w = snprintf(buf + used, n - used, "%s%d %s ", h ? ";" : "", dh->preference,
		                 dh->name);
		if (w < 0 || (size_t)w >= n - used)
			return;
		used += (size_t)w;
		for (size_t a = 0; a < dh->naddrs; a++) {
			char ip[IPADDR_TEXT_MAX];
			w = snprintf(buf + used, n - used, "%s%s", a ? "," : "",
			             ipaddr_text((const struct sockaddr *)&dh->addr[a], ip, sizeof ip));
			if (w < 0 || (size_t)w >= n - used)
				return;
			used += (size_t)w;
		}
	}
}

int dns_result_read(const char *status, const char *text, struct dns_result *r)
{
	int st = dns_status_from_name(status);
	const char *p = text ? text : "";

	memset(r, 0, sizeof *r);
	if (st < 0)
		return -1;
	r->status = (enum dns_status)st;
	r->detail = "from the job store's DNS cache";
	while (*p && r->nhosts < DNS_MAX_HOSTS) {
		struct dns_host *h = &r->hosts[r->nhosts];
		char name[256], addrs[1024];
		const char *end = strchr(p, ';');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char entry[1400];
		if (len >= sizeof entry)
			return -1;
		memcpy(entry, p, len);
		entry[len] = '\0';
		addrs[0] = '\0';
		if (sscanf(entry, "%d %255s %1023s", &h->preference, name, addrs) < 2)
			return -1;
		snprintf(h->name, sizeof h->name, "%s", name);
		for (char *tok = strtok(addrs, ","); tok && h->naddrs < DNS_MAX_ADDRS;
		     tok = strtok(NULL, ",")) {
			socklen_t alen;
			if (ipaddr_parse(tok, AF_UNSPEC, &h->addr[h->naddrs], &alen) < 0)
				return -1;
			h->addrlen[h->naddrs++] = alen;
		}
		r->nhosts++;
		p = end ? end + 1 : p + len;
	}
	if ((r->status == DNS_OK || r->status == DNS_MX_NOT_PUBLIC) && r->nhosts == 0)
		return -1;
	return 0;
}

int dns_result_parse(const struct dns *d, const char *status, const char *text,
                     struct dns_result *r)
{
	if (dns_result_read(status, text, r) < 0)
		return -1;
	/* the rule for addresses that are not public is this run's, not the storing run's */
	if (r->status == DNS_MX_NOT_PUBLIC)
		r->status = DNS_OK;
	if (r->status == DNS_OK && !d->allow_private)
		result_keep_public(r);
	return 0;
}

size_t dns_stored_mx_names(struct store *s, const char *domain, struct dns_result *r,
                           const char **names)
{
	char *status = NULL, *text = NULL;
	size_t n = 0;

	if (domain && store_dns_get(s, domain, 0, &status, &text) == 1 &&
	    dns_result_read(status, text, r) == 0)
		for (; n < r->nhosts; n++)
			names[n] = r->hosts[n].name;
	free(status);
	free(text);
	return n;
}
