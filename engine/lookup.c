/*
 * lookup - DNS questions of any type asked together and waited for (engine/lookup.h).
 */
#include "engine/lookup.h"

#include <ares.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netdb.h>
#include <sys/select.h>

#include "common/clock.h"
#include "common/err.h"
#include "engine/config.h"

struct question {
	struct lookup *l;
	struct lookup_answer *ans;
	enum lookup_type type;
	double asked;                /* monotonic seconds */
};

struct lookup {
	ares_channel ch;
	char servers[256];
	size_t pending;              /* questions without their answer */
};

#define DNS_CLASS_IN 1

struct lookup *lookup_new(const char *const *servers, size_t nservers, char *err, size_t errlen)
{
	struct ares_options opts;
	struct lookup *l;
	char *csv = NULL;
	int timeout, rc;

	if (dns_timeout_ms(&timeout, err, errlen) < 0 ||
	    dns_servers_csv(servers, nservers, &csv, err, errlen) < 0)
		return NULL;
	if ((l = calloc(1, sizeof *l)) == NULL) {
		free(csv);
		err_set(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(l->servers, sizeof l->servers, "%s", csv ? csv : "the system resolver");
	memset(&opts, 0, sizeof opts);
	opts.flags = ARES_FLAG_NOCHECKRESP;   /* SERVFAIL / REFUSED come back as statuses */
	opts.timeout = timeout;
	opts.tries = DEF_DNS_TRIES;
	if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS ||
	    (rc = ares_init_options(&l->ch, &opts,
	                            ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES)) !=
	        ARES_SUCCESS) {
		err_set(err, errlen, "c-ares: %s", ares_strerror(rc));
		free(csv);
		free(l);
		return NULL;
	}
	if (csv != NULL && (rc = ares_set_servers_ports_csv(l->ch, csv)) != ARES_SUCCESS) {
		err_set(err, errlen, "resolvers %s: %s", csv, ares_strerror(rc));
		ares_destroy(l->ch);
		ares_library_cleanup();
		free(csv);
		free(l);
		return NULL;
	}
	free(csv);
	return l;
}

void lookup_free(struct lookup *l)
{
	if (l == NULL)
		return;
	ares_destroy(l->ch);
	ares_library_cleanup();
	free(l);
}

const char *lookup_servers(const struct lookup *l)
{
	return l->servers;
}

/* keep_name - NAME lowercased, without its trailing dot, as the next record of ANS */
static void keep_name(struct lookup_answer *ans, const char *name, int pref)
{
	size_t n = strlen(name);

	ans->total++;
	if (ans->n == LOOKUP_MAX_RECORDS)
		return;
	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n >= LOOKUP_TEXT_MAX)
		n = LOOKUP_TEXT_MAX - 1;
	for (size_t i = 0; i < n; i++)
		ans->rec[ans->n][i] = (char)tolower((unsigned char)name[i]);
	ans->rec[ans->n][n] = '\0';
	ans->pref[ans->n++] = pref;
}

/* read_ptr - the names of a PTR answer */
static int read_ptr(const unsigned char *abuf, int alen, struct lookup_answer *ans)
{
	unsigned char any[4] = {0};
	struct hostent *h = NULL;
	int rc = ares_parse_ptr_reply(abuf, alen, any, sizeof any, AF_INET, &h);

	if (rc != ARES_SUCCESS)
		return rc;
	/* c-ares 1.18 lists every PTR name among the aliases, in answer order, and the last one
	 * again as h_name: the aliases, then h_name when it is not one of them */
	for (char **a = h->h_aliases; a && *a; a++)
		keep_name(ans, *a, 0);
	int listed = 0;
	for (char **a = h->h_aliases; a && *a; a++)
		listed |= strcasecmp(*a, h->h_name) == 0;
	if (!listed)
		keep_name(ans, h->h_name, 0);
	ares_free_hostent(h);
	return ARES_SUCCESS;
}

/* read_txt - each TXT record's strings joined (RFC 7208 3.3: without anything between) */
static int read_txt(const unsigned char *abuf, int alen, struct lookup_answer *ans)
{
	struct ares_txt_ext *txt = NULL;
	int rc = ares_parse_txt_reply_ext(abuf, alen, &txt);
	size_t used = 0;

	if (rc != ARES_SUCCESS)
		return rc;
	for (const struct ares_txt_ext *t = txt; t; t = t->next) {
		if (t->record_start) {
			ans->total++;
			used = 0;
			if (ans->n < LOOKUP_MAX_RECORDS)
				ans->rec[ans->n++][0] = '\0';
		}
		if (ans->n == 0 || ans->total > LOOKUP_MAX_RECORDS)
			continue;
		char *rec = ans->rec[ans->n - 1];
		size_t k = t->length < LOOKUP_TEXT_MAX - 1 - used ? t->length
		                                                  : LOOKUP_TEXT_MAX - 1 - used;
		memcpy(rec + used, t->txt, k);
		used += k;
		rec[used] = '\0';
	}
	ares_free_data(txt);
	return ARES_SUCCESS;
}

/* read_records - ABUF's records of TYPE into ANS: a c-ares status */
static int read_records(enum lookup_type type, const unsigned char *abuf, int alen,
                        struct lookup_answer *ans)
{
	struct dns_answer da;

	switch (type) {
	case LOOKUP_PTR:
		return read_ptr(abuf, alen, ans);
	case LOOKUP_TXT:
		return read_txt(abuf, alen, ans);
	case LOOKUP_MX:
		dns_answer_read(DNS_Q_MX, ARES_SUCCESS, abuf, alen, &da);
		for (const struct ares_mx_reply *m = da.mx; m; m = m->next)
			keep_name(ans, m->host ? m->host : "", m->priority);
		break;
	case LOOKUP_A:
	case LOOKUP_AAAA:
		dns_answer_read(type == LOOKUP_A ? DNS_Q_A : DNS_Q_AAAA, ARES_SUCCESS, abuf, alen, &da);
		for (size_t i = 0; i < da.naddrs; i++) {
			ans->total++;
			inet_ntop(type == LOOKUP_A ? AF_INET : AF_INET6, da.addr[i], ans->rec[ans->n],
			          LOOKUP_TEXT_MAX);
			ans->n++;
		}
		break;
	}
	dns_answer_free(&da);
	return da.malformed ? ARES_EBADRESP : da.status;
}

static void answer_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct question *q = arg;
	struct lookup_answer *ans = q->ans;

	(void)timeouts;
	ans->ms = (clock_now() - q->asked) * 1000.0;
	if (status == ARES_SUCCESS && (abuf == NULL || alen <= 0))
		status = ARES_EBADRESP;
	if (status == ARES_SUCCESS) {
		status = read_records(q->type, abuf, alen, ans);
		if (status == ARES_SUCCESS && ans->total == 0)
			status = ARES_ENODATA;
		if (status != ARES_SUCCESS && status != ARES_ENODATA) {
			ans->meaning = DNS_MEANS_TEMPORARY;   /* an answer that did not parse */
			ans->why = "an answer that does not parse";
			ans->n = ans->total = 0;
			goto out;
		}
	}
	ans->meaning = dns_ares_status(status)->meaning;
	ans->why = dns_ares_status(status)->text;
out:
	q->l->pending--;
	free(q);
}

void lookup_ask(struct lookup *l, const char *name, enum lookup_type type,
                struct lookup_answer *ans)
{
	struct question *q;

	if (l->pending >= LOOKUP_MAX_PENDING)
		lookup_wait(l);
	memset(ans, 0, sizeof *ans);
	if ((q = malloc(sizeof *q)) == NULL) {
		ans->meaning = DNS_MEANS_TEMPORARY;
		ans->why = "out of memory";
		return;
	}
	q->l = l;
	q->ans = ans;
	q->type = type;
	q->asked = clock_now();
	l->pending++;
	ares_query(l->ch, name, DNS_CLASS_IN, (int)type, answer_cb, q);
}

void lookup_wait(struct lookup *l)
{
	while (l->pending > 0) {
		fd_set rd, wr;
		struct timeval tvbuf, *tv;
		int nfds;

		FD_ZERO(&rd);
		FD_ZERO(&wr);
		nfds = ares_fds(l->ch, &rd, &wr);
		tv = ares_timeout(l->ch, NULL, &tvbuf);
		if (nfds == 0 && tv == NULL)
			break;              /* nothing in flight: every callback has run */
		select(nfds, &rd, &wr, NULL, tv);
		ares_process(l->ch, &rd, &wr);
	}
}

void lookup_one(struct lookup *l, const char *name, enum lookup_type type,
                struct lookup_answer *ans)
{
	lookup_ask(l, name, type, ans);
	lookup_wait(l);
}

int lookup_reverse_name(const struct sockaddr *addr, const char *suffix, char *buf, size_t n)
{
	size_t used = 0;
	int k;

	if (addr->sa_family == AF_INET) {
		const unsigned char *b =
		    (const unsigned char *)&((const struct sockaddr_in *)(const void *)addr)->sin_addr;

		k = snprintf(buf, n, "%u.%u.%u.%u.%s", b[3], b[2], b[1], b[0],
		             suffix ? suffix : "in-addr.arpa");
		return k < 0 || (size_t)k >= n ? -1 : 0;
	}
	if (addr->sa_family != AF_INET6)
		return -1;
	const unsigned char *b =
	    (const unsigned char *)&((const struct sockaddr_in6 *)(const void *)addr)->sin6_addr;
	for (int i = 15; i >= 0; i--) {
		k = snprintf(buf + used, n - used, "%x.%x.", b[i] & 0xf, b[i] >> 4);
		if (k < 0 || (size_t)k >= n - used)
			return -1;
		used += (size_t)k;
	}
	k = snprintf(buf + used, n - used, "%s", suffix ? suffix : "ip6.arpa");
	return k < 0 || (size_t)k >= n - used ? -1 : 0;
}
