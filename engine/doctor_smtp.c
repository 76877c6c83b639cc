/*
 * doctor_smtp - the outbound SMTP check of engine/doctor.h: can this host talk SMTP to the
 * world? For each source address (or the system's choice), one session to the first mail host
 * of each probe domain, all at once on one event loop: connect, banner, EHLO, MAIL FROM, QUIT.
 * Never RCPT: asking nothing of the host keeps it polite. Built on engine/dns (MX lookups) and
 * engine/smtp (the sessions, with their bounded reads and deadlines).
 */
#include "engine/doctor.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ipaddr.h"
#include "engine/dns.h"
#include "engine/smtp.h"

/* Seconds to wait for a connection here: a run waits DEF_CONNECT_TIMEOUT (30 s) for a slow
 * host, but a firewall that drops port 25 should not hold a check that long. */
#define DOCTOR_CONNECT_TIMEOUT 10.0
#define DOCTOR_MAX_DOMAINS 8

struct probe_domain {
	const char *name;
	size_t *waiting;              /* answers and sessions the loop still waits for */
	struct dns_result r;
};

struct attempt {                  /* one session: one source to one domain's first mail host */
	struct probe_domain *dom;
	size_t *waiting;
	enum smtp_end end;
	int connected, greeted;
	char detail[200];
};

static void on_mail_hosts(void *arg, const struct dns_result *r)
{
	struct probe_domain *d = arg;

	d->r = *r;
	/* the detail may be the resolver's, freed once this returns: ours is a copy */
	if (r->detail != NULL) {
		snprintf(d->r.detail_buf, sizeof d->r.detail_buf, "%s", r->detail);
		d->r.detail = d->r.detail_buf;
	}
	(*d->waiting)--;
}

static const char *no_rcpt(void *ctx, long *id, int *needs_smtputf8)
{
	(void)ctx;
	(void)needs_smtputf8;
	*id = -1;
	return NULL;                  /* nothing to ask: QUIT */
}

static void on_done(void *ctx, const struct smtp_session_result *s)
{
	struct attempt *a = ctx;

	(*a->waiting)--;
	a->end = s->end;
	a->connected = s->connected;
	a->greeted = s->greeted;
	snprintf(a->detail, sizeof a->detail, "%s", s->detail ? s->detail : smtp_end_name(s->end));
}

/* wait_all - the loop runs until *WAITING, lowered by the callbacks, is 0 */
static void wait_all(struct event_base *base, const size_t *waiting)
{
	while (*waiting > 0 && event_base_loop(base, EVLOOP_ONCE) == 0)
		;
}

/* judge - one source's N sessions into a check */
static void judge(struct doctor_report *rep, const char *source, const struct attempt *a,
                  size_t n, int port)
{
	size_t connected = 0, ok = 0;
	const struct attempt *bad = NULL, *good = NULL, *shown;
	char subject[96];
	struct doctor_check *c;

	if (n == 0)
		return;
	snprintf(subject, sizeof subject, "from %s", source ? source : "the default source address");
	for (size_t i = 0; i < n; i++) {
		int fine = a[i].greeted && a[i].end == SMTP_END_OK;

		connected += a[i].connected != 0;
		ok += fine;
		if (fine && good == NULL)
			good = &a[i];
		if (!fine && bad == NULL)
			bad = &a[i];
	}
	shown = bad ? bad : a;          /* the session a failure is shown by */
	if (connected == 0) {
		c = doctor_add(rep, "smtp-out", subject, DOCTOR_FAIL);
		doctor_evidence(c, "port %d looks blocked: no connection to any of %zu mail hosts "
		                "(%s: %s)", port, n, shown->dom->r.hosts[0].name, shown->detail);
		doctor_advice(c, "ask the network's provider to open outbound port %d, or run mailsift "
		              "on a host where it is open (most clouds and home ISPs block it)", port);
	} else if (ok == 0) {
		c = doctor_add(rep, "smtp-out", subject, DOCTOR_FAIL);
		doctor_evidence(c, "mail hosts take the connection but no session: %zu of %zu "
		                "connected (%s: %s)", connected, n, shown->dom->r.hosts[0].name,
		                shown->detail);
		doctor_advice(c, "a refusal at the banner, HELO or MAIL FROM is about this address: see "
		              "the blocklist, reverse-dns and helo checks; silence after connecting "
		              "may be a proxy of the provider's on port %d", port);
	} else if (bad != NULL) {
		c = doctor_add(rep, "smtp-out", subject, DOCTOR_WARN);
		doctor_evidence(c, "%zu of %zu mail hosts took a session; %s: %s", ok, n,
		                shown->dom->r.hosts[0].name, shown->detail);
		doctor_advice(c, "one host refusing may be its own trouble, several are ours: rerun "
		              "doctor later");
	} else {
		c = doctor_add(rep, "smtp-out", subject, DOCTOR_PASS);
		doctor_evidence(c, "%zu of %zu mail hosts took a session (banner, EHLO, MAIL FROM), "
		                "e.g. %s", ok, n, good->dom->r.hosts[0].name);
		doctor_advice(c, "nothing to do");
	}
}

/* targets - the first mail host of D's addresses as session targets: how many */
static size_t targets(const struct probe_domain *d, struct smtp_target *t)
{
	const struct dns_host *h = &d->r.hosts[0];
	size_t n = 0;

	for (size_t k = 0; k < h->naddrs && n < SMTP_MAX_TARGETS; k++, n++) {
		t[n].host = h->name;
		t[n].addr = h->addr[k];
		t[n].addrlen = h->addrlen[k];
	}
	return n;
}

void doctor_smtp_out(const struct doctor_options *o, struct doctor_report *rep)
{
	static const char *const defaults[] = DOCTOR_PROBE_DOMAINS;
	static const struct smtp_callbacks cb = {no_rcpt, NULL, on_done, NULL};
	const char *const *names = o->nprobe_domains ? o->probe_domains : defaults;
	size_t ndom = o->nprobe_domains ? o->nprobe_domains : sizeof defaults / sizeof defaults[0];
	size_t nsrc = o->nsources ? o->nsources : 1, nok = 0;
	struct probe_domain doms[DOCTOR_MAX_DOMAINS];
	struct probe_config pc = *o->pc;
	struct event_base *base = event_base_new();
	struct attempt *a = NULL;
	struct dns *d = NULL;
	size_t waiting = 0;
	char err[256];
	struct doctor_check *c;

	if (ndom > DOCTOR_MAX_DOMAINS)
		ndom = DOCTOR_MAX_DOMAINS;
	memset(doms, 0, sizeof doms);
	if (base == NULL ||
	    (d = dns_new(base, pc.resolvers, pc.nresolvers, err, sizeof err)) == NULL) {
		c = doctor_add(rep, "smtp-out", "", DOCTOR_WARN);
		doctor_evidence(c, "cannot test: %s", base ? err : "libevent cannot start");
		doctor_advice(c, "check --resolver");
		goto out;
	}
	dns_allow_private(d, pc.allow_private_mx);
	for (size_t i = 0; i < ndom; i++) {
		doms[i].name = names[i];
		doms[i].waiting = &waiting;
		waiting++;
		dns_mail_hosts(d, names[i], on_mail_hosts, &doms[i]);
	}
	wait_all(base, &waiting);
	for (size_t i = 0; i < ndom; i++)
		nok += doms[i].r.status == DNS_OK;
	if (nok == 0) {
		c = doctor_add(rep, "smtp-out", "", DOCTOR_WARN);
		doctor_evidence(c, "cannot test: no probe domain has a mail host we may connect to "
		                "(%s: %s)", names[0], doms[0].r.detail ? doms[0].r.detail
		                                                      : dns_status_name(doms[0].r.status));
		doctor_advice(c, "check the resolver (see the resolver check), or name domains whose "
		              "mail hosts are reachable with --probe-domain");
		goto out;
	}
	if (pc.connect_timeout > DOCTOR_CONNECT_TIMEOUT)
		pc.connect_timeout = DOCTOR_CONNECT_TIMEOUT;
	pc.starttls = 0;
	if ((a = calloc(nsrc * nok, sizeof *a)) == NULL)
		goto out;
	for (size_t s = 0, k = 0; s < nsrc; s++) {
		for (size_t i = 0; i < ndom; i++) {
			struct smtp_target t[SMTP_MAX_TARGETS];

			if (doms[i].r.status != DNS_OK)
				continue;
			a[k].dom = &doms[i];
			a[k].waiting = &waiting;
			if (smtp_start(base, &pc, NULL, t, targets(&doms[i], t),
			               o->nsources ? o->sources[s] : NULL, &cb, &a[k]) != NULL)
				waiting++;
			k++;
		}
	}
	wait_all(base, &waiting);
	for (size_t s = 0; s < nsrc; s++)
		judge(rep, o->nsources ? o->sources[s] : NULL, a + s * nok, nok, pc.smtp_port);
out:
	free(a);
	dns_free(d);
	if (base)
		event_base_free(base);
}
