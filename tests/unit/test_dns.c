/*
 * test_dns - the resolver module (engine/dns.c) against tests/world/dnsd on loopback.
 *
 * The first test starts dnsd (MAILSIFT_BUILD/tests/world/dnsd, else build/tests/world/dnsd) on
 * 127.0.0.1 with a free port and one zone that has a domain for every case; the last one stops
 * it with SIGTERM and wants a clean exit. Every resolver gets 127.0.0.1:PORT explicitly: nothing
 * leaves loopback, inside `unshare -n` or outside. dnsd's query log ("name TYPE RCODE" lines)
 * shows how many queries reached it. Timeouts are shortened with MAILSIFT_DNS_TIMEOUT_MS where a
 * test waits for one. Every loop run has a guard timer, so a lost callback fails, not hangs.
 * The zone's MX hosts live on loopback, so resolvers here allow private addresses
 * (dns_allow_private) except in the tests of that rule. Pure parts (the c-ares status table,
 * dns_answer_read on hand-made answers) are tested without the server.
 */
#include <stdint.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ares.h>
#include <event2/event.h>

#include "engine/config.h"
#include "engine/dns.h"
#include "tests/check.h"
#include "tests/daemon.h"

#define GUARD_SECONDS 15         /* longest a loop may run before the test calls it lost */
#define BULK 400                 /* distinct domains looked up at once */
#define SAME 50                  /* concurrent lookups of one domain */
#define SHUFFLE_ROUNDS 60        /* fresh resolvers asked for the equal-preference domain */
#define DELAY_MS 300             /* dnsd's delay for slow.test */
#define SHORT_TIMEOUT "100"      /* MAILSIFT_DNS_TIMEOUT_MS for the timeout tests */

/* ---------------------------------------------------------------- the world */

static char server[64];          /* "127.0.0.1:PORT" */

static void zone_write(FILE *f)
{
	fputs("# test_dns zone: one domain per case\n"
	      "mx multi.test 20 mx-b1.multi.test\n"
	      "mx multi.test 20 mx-b2.multi.test\n"
	      "mx multi.test 30 mx-c.multi.test\n"
	      "mx multi.test 10 mx-a.multi.test\n"
	      "mx multi.test 20 mx-b3.multi.test\n"
	      "a mx-a.multi.test 127.0.1.1\n"
	      "a mx-b1.multi.test 127.0.1.21\n"
	      "a mx-b2.multi.test 127.0.1.22\n"
	      "a mx-b3.multi.test 127.0.1.23\n"
	      "a mx-c.multi.test 127.0.1.3\n"
	      "aaaa mx-c.multi.test ::1\n"
	      "a implicit.test 127.0.2.1\n"
	      "aaaa v6only.test 2001:db8::25\n"
	      "nodata noaddr.test\n"
	      "mx nullmx.test 0 .\n"
	      "mx mixednull.test 0 .\n"
	      "mx mixednull.test 10 mx.mixednull.test\n"
	      "a mx.mixednull.test 127.0.3.1\n"
	      "servfail servfail.test\n"
	      "refused refused.test\n"
	      "drop drop.test\n"
	      "drop drop2.test\n"
	      "mx slow.test 10 mx.slow.test\n", f);
	fprintf(f, "delay slow.test %d\n", DELAY_MS);
	fputs("a mx.slow.test 127.0.4.1\n"
	      "mx hostnoaddr.test 10 mx.hostnoaddr.test\n"
	      "nodata mx.hostnoaddr.test\n"
	      "mx hostnx.test 10 missing.hostnx.test\n"
	      "mx partial.test 10 missing.partial.test\n"
	      "mx partial.test 20 mx.partial.test\n"
	      "a mx.partial.test 127.0.5.1\n"
	      "mx hostservfail.test 10 mx.hostservfail.test\n"
	      "servfail mx.hostservfail.test\n"
	      "mx same.test 10 mx.same.test\n"
	      "a mx.same.test 127.0.6.1\n"
	      "mx shared1.test 10 mx.shared.test\n"
	      "mx shared2.test 10 mx.shared.test\n"
	      "a mx.shared.test 127.0.7.1\n"
	      "mx cached.test 10 mx.cached.test\n"
	      "a mx.cached.test 127.0.7.2\n"
	      "mx Case.TEST 10 MX.Case.Test.\n"
	      "a mx.case.test 127.0.8.1\n"
	      "mx dup.test 10 mx.dup.test\n"
	      "mx dup.test 20 mx.dup.test\n"
	      "a mx.dup.test 127.0.9.1\n"
	      "badmx badloop.test loop\n"
	      "badmx badshort.test short\n"
	      "badmx badcut.test cut\n"
	      "mx pubmix.test 10 mx1.pubmix.test\n"
	      "mx pubmix.test 20 mx2.pubmix.test\n"
	      "a mx1.pubmix.test 10.1.2.3\n"
	      "a mx1.pubmix.test 192.0.2.80\n"
	      "aaaa mx1.pubmix.test fe80::1\n"
	      "a mx2.pubmix.test 127.0.0.1\n"
	      "a mx2.pubmix.test 93.184.216.34\n"
	      "aaaa mx2.pubmix.test 2a00:1450:4001::1a\n"
	      "mx zero.test 10 mx.zero.test\n"
	      "a mx.zero.test 0.0.0.0\n"
	      "mx priv.test 10 mx1.priv.test\n"
	      "mx priv.test 20 mx2.priv.test\n"
	      "a mx1.priv.test 10.0.0.25\n"
	      "aaaa mx2.priv.test ::ffff:192.168.1.1\n", f);
	for (int i = 1; i <= 20; i++)     /* more MX hosts than DNS_MAX_HOSTS */
		fprintf(f, "mx bg.test %d h%d.bg\na h%d.bg 127.0.10.%d\n", i, i, i, i);
	for (int i = 1; i <= 10; i++)     /* more addresses than DNS_MAX_ADDRS, both families */
		fprintf(f, "a many.test 127.0.11.%d\naaaa many.test 2001:db8::%d\n", i, i);
	for (int i = 0; i < BULK; i++)
		fprintf(f, "mx bulk%d.test 10 mx.bulk%d.test\na mx.bulk%d.test 127.1.%d.%d\n", i, i, i,
		        i / 200, i % 200 + 1);
	for (int i = 1; i <= 6; i++)      /* the bounded cache: one MX host each */
		fprintf(f, "mx lru%d.test 10 mx.lru%d.test\na mx.lru%d.test 127.0.12.%d\n", i, i, i, i);
	fputs("mx ttl1.test 10 mx.ttl1.test\nttl ttl1.test 1\na mx.ttl1.test 127.0.13.1\n"
	      "mx hostttl.test 10 mx.hostttl.test\na mx.hostttl.test 127.0.13.2\n"
	      "ttl mx.hostttl.test 1\n", f);
	for (int i = 0; i < 8; i++)       /* pending when dns_free comes */
		fprintf(f, "mx pend%d.test 10 mx.pend%d.test\ndelay pend%d.test 2000\n", i, i, i);
}

static struct daemon dnsd = {
	.name = "dnsd",
	.tmp_prefix = "test_dns",
	.sock_type = SOCK_DGRAM,
	.conf_name = "zone",
	.conf_write = zone_write,
	.exec = daemon_dnsd_exec,
};

/* log_count - lines of dnsd's log equal to LINE */
static int log_count(const char *line)
{
	FILE *f = fopen(dnsd.log_path, "r");
	char buf[512];
	int n = 0;

	if (f == NULL)
		return -1;
	while (fgets(buf, sizeof buf, f)) {
		buf[strcspn(buf, "\n")] = '\0';
		n += strcmp(buf, line) == 0;
	}
	fclose(f);
	return n;
}

/* wait_log - wait up to MS milliseconds for dnsd to log LINE; its count then */
static int wait_log(const char *line, int ms)
{
	double until = now() + ms / 1000.0;
	int n;

	while ((n = log_count(line)) == 0 && now() < until)
		usleep(5000);
	return n;
}

/* ---------------------------------------------------------------- lookups */

struct got {                     /* one lookup's callback, copied */
	int calls;               /* times the callback ran (must be 1) */
	int inside;              /* times it ran inside dns_mail_hosts */
	struct dns_result r;
	char detail[256];
};

static int in_call;              /* inside dns_mail_hosts now */
static int outstanding;          /* callbacks still expected */
static struct event_base *cur_base;

static void got_cb(void *arg, const struct dns_result *r)
{
	struct got *g = arg;

	g->calls++;
	g->inside += in_call;
	g->r = *r;
	snprintf(g->detail, sizeof g->detail, "%s", r->detail ? r->detail : "");
	g->r.detail = g->detail;
	if (--outstanding == 0)
		event_base_loopbreak(cur_base);
}

static void ask(struct dns *d, const char *domain, struct got *g)
{
	outstanding++;
	in_call = 1;
	dns_mail_hosts(d, domain, got_cb, g);
	in_call = 0;
}

static void guard_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
	event_base_loopbreak(cur_base);
}

/* run - the loop until every asked callback ran; 0, or -1 when the guard fired */
static int run(void)
{
	struct timeval tv = {GUARD_SECONDS, 0};
	int fired = 0;
	struct event *guard = evtimer_new(cur_base, guard_cb, &fired);

	evtimer_add(guard, &tv);
	while (outstanding > 0 && !fired)
		event_base_loop(cur_base, EVLOOP_ONCE);
	event_free(guard);
	if (fired)
		printf("  loop guard fired with %d callbacks outstanding\n", outstanding);
	return fired ? -1 : 0;
}

/* resolver_rule - a resolver on the test server; PRIVATE: allow private addresses */
static struct dns *resolver_rule(int private)
{
	const char *servers[] = {server};
	char err[256] = "";
	struct dns *d;

	if (cur_base == NULL)
		cur_base = event_base_new();
	d = dns_new(cur_base, servers, 1, err, sizeof err);
	if (d == NULL)
		printf("  dns_new: %s\n", err);
	else
		dns_allow_private(d, private);
	return d;
}

/* resolver - one that lets the zone's loopback MX hosts through */
static struct dns *resolver(void)
{
	return resolver_rule(1);
}

/* lookup_rule - one domain on a fresh resolver, PRIVATE as in resolver_rule */
static void lookup_rule(const char *domain, struct got *g, int private)
{
	struct dns *d = resolver_rule(private);

	memset(g, 0, sizeof *g);
	if (d == NULL)
		return;
	ask(d, domain, g);
	CHECK(run() == 0, "lookup of %s answered", domain);
	dns_free(d);
	CHECK(g->calls == 1, "%s: callback ran %d times", domain, g->calls);
	CHECK(g->inside == 0, "%s: callback ran inside dns_mail_hosts", domain);
}

/* lookup - one domain on a fresh resolver that allows private addresses */
static void lookup(const char *domain, struct got *g)
{
	lookup_rule(domain, g, 1);
}

static void want_status(const struct got *g, enum dns_status want, const char *ctx)
{
	CHECK_STR(dns_status_name(g->r.status), dns_status_name(want), ctx);
}

static const char *addr_text(const struct dns_host *h, size_t i, char *buf, size_t len)
{
	const struct sockaddr *sa = (const struct sockaddr *)&h->addr[i];

	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)len);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, (socklen_t)len);
	else
		snprintf(buf, len, "family %d", sa->sa_family);
	return buf;
}

/* ---------------------------------------------------------------- tests */

static void test_world_starts(void)
{
	struct got g;

	CHECK(daemon_start(&dnsd) == 0, "dnsd started");
	if (dnsd.pid == 0)
		exit(1);            /* nothing else can run */
	snprintf(server, sizeof server, "127.0.0.1:%d", dnsd.port);
	lookup("implicit.test", &g);
	want_status(&g, DNS_OK, "implicit.test");
	CHECK(log_count("implicit.test MX NOERROR") == 1, "dnsd logs \"name TYPE RCODE\"");
}

static void test_preference_order(void)
{
	struct got g;
	char buf[64];

	lookup("multi.test", &g);
	want_status(&g, DNS_OK, "multi.test");
	CHECK_INT(g.r.nhosts, 5, "hosts");
	if (g.r.nhosts != 5)
		return;
	CHECK_INT(g.r.implicit_mx, 0, "implicit");
	CHECK_STR(g.r.hosts[0].name, "mx-a.multi.test", "best preference first");
	CHECK_INT(g.r.hosts[0].preference, 10, "pref 0");
	for (int i = 1; i <= 3; i++) {
		CHECK_INT(g.r.hosts[i].preference, 20, "equal preferences in the middle");
		CHECK(strncmp(g.r.hosts[i].name, "mx-b", 4) == 0, "host %d is %s", i, g.r.hosts[i].name);
	}
	CHECK_STR(g.r.hosts[4].name, "mx-c.multi.test", "worst preference last");
	CHECK_INT(g.r.hosts[0].naddrs, 1, "one address");
	CHECK_STR(addr_text(&g.r.hosts[0], 0, buf, sizeof buf), "127.0.1.1", "address of mx-a");
	CHECK_INT(((struct sockaddr_in *)&g.r.hosts[0].addr[0])->sin_port, 0, "port left 0");
	CHECK_INT(g.r.hosts[0].addrlen[0], sizeof(struct sockaddr_in), "addrlen v4");
	CHECK_INT(g.r.hosts[4].naddrs, 2, "mx-c has A and AAAA");
	CHECK_STR(addr_text(&g.r.hosts[4], 0, buf, sizeof buf), "127.0.1.3", "IPv4 first");
	CHECK_STR(addr_text(&g.r.hosts[4], 1, buf, sizeof buf), "::1", "then IPv6");
	CHECK_INT(g.r.hosts[4].addrlen[1], sizeof(struct sockaddr_in6), "addrlen v6");
}

/* order_code - the order of the three preference-20 hosts as a number 0..26 */
static int order_code(const struct got *g)
{
	int code = 0;

	for (int i = 1; i <= 3; i++)
		code = code * 3 + (g->r.hosts[i].name[4] - '1');
	return code;
}

static void test_shuffle_varies(void)
{
	int seen[27] = {0}, first[3] = {0}, distinct = 0, bad = 0;
	struct dns *d;
	struct got g;

	for (int i = 0; i < SHUFFLE_ROUNDS; i++) {
		lookup("multi.test", &g);
		if (g.r.nhosts != 5 || g.r.hosts[0].preference != 10 || g.r.hosts[4].preference != 30) {
			bad++;
			continue;
		}
		seen[order_code(&g)]++;
		first[g.r.hosts[1].name[4] - '1']++;
	}
	for (int i = 0; i < 27; i++)
		distinct += seen[i] > 0;
	CHECK_INT(bad, 0, "lookups with preference order broken");
	CHECK(distinct >= 4, "only %d of 6 orders of the equal hosts in %d fresh resolvers", distinct,
	      SHUFFLE_ROUNDS);
	for (int i = 0; i < 3; i++)
		CHECK(first[i] > 0, "mx-b%d never came first among equals", i + 1);

	/* a cached answer is shuffled again on every delivery */
	memset(seen, 0, sizeof seen);
	distinct = 0;
	if ((d = resolver()) == NULL)
		return;
	for (int i = 0; i < SHUFFLE_ROUNDS; i++) {
		memset(&g, 0, sizeof g);
		ask(d, "multi.test", &g);
		run();
		if (g.r.nhosts == 5)
			seen[order_code(&g)]++;
	}
	dns_free(d);
	for (int i = 0; i < 27; i++)
		distinct += seen[i] > 0;
	CHECK(distinct >= 4, "cached answer: only %d orders", distinct);
}

static void test_seed_repeatable(void)
{
	int a[10], b[10];
	struct got g;

	setenv("MAILSIFT_DNS_SEED", "12345", 1);
	for (int i = 0; i < 10; i++) {
		lookup("multi.test", &g);
		a[i] = g.r.nhosts == 5 ? order_code(&g) : -1;
	}
	for (int i = 0; i < 10; i++) {
		lookup("multi.test", &g);
		b[i] = g.r.nhosts == 5 ? order_code(&g) : -2;
	}
	unsetenv("MAILSIFT_DNS_SEED");
	CHECK(memcmp(a, b, sizeof a) == 0, "same seed, same first shuffle");
}

static void test_implicit_a(void)
{
	struct got g;
	char buf[64];

	lookup("implicit.test", &g);
	want_status(&g, DNS_OK, "implicit.test");
	CHECK_INT(g.r.implicit_mx, 1, "implicit_mx");
	CHECK_INT(g.r.nhosts, 1, "one host");
	CHECK_STR(g.r.hosts[0].name, "implicit.test", "the domain is its own MX");
	CHECK_INT(g.r.hosts[0].preference, 0, "preference 0");
	CHECK_INT(g.r.hosts[0].naddrs, 1, "one address");
	CHECK_STR(addr_text(&g.r.hosts[0], 0, buf, sizeof buf), "127.0.2.1", "address");
}

static void test_idle_after_answers(void)
{
	struct got g;
	struct dns *d = resolver();
	int n;

	if (d == NULL)
		return;
	memset(&g, 0, sizeof g);
	ask(d, "multi.test", &g);
	run();
	event_base_loop(cur_base, EVLOOP_NONBLOCK);
	/* no socket event, no timer left behind: event_base_dispatch of a caller can return */
	n = event_base_get_num_events(cur_base, EVENT_BASE_COUNT_ADDED);
	CHECK_INT(n, 0, "events still added once every lookup is answered");
	want_status(&g, DNS_OK, "multi.test");
	dns_free(d);
}

static void test_implicit_aaaa_only(void)
{
	struct got g;
	char buf[64];

	lookup("v6only.test", &g);
	want_status(&g, DNS_OK, "v6only.test");
	CHECK_INT(g.r.implicit_mx, 1, "implicit_mx");
	CHECK_INT(g.r.hosts[0].naddrs, 1, "one address");
	CHECK_STR(addr_text(&g.r.hosts[0], 0, buf, sizeof buf), "2001:db8::25", "IPv6 address");
}

static void test_no_mail_host(void)
{
	struct got g;

	lookup("noaddr.test", &g);
	want_status(&g, DNS_NO_MAIL_HOST, "no MX, no A/AAAA");
	CHECK_INT(g.r.nhosts, 0, "no hosts");
}

static void test_null_mx(void)
{
	struct got g;

	lookup("nullmx.test", &g);
	want_status(&g, DNS_NULL_MX, "MX 0 .");
	CHECK_INT(g.r.nhosts, 0, "no hosts");
	lookup("mixednull.test", &g);
	want_status(&g, DNS_OK, "null MX beside a real one: the real one is used");
	CHECK_INT(g.r.nhosts, 1, "one host");
	CHECK_STR(g.r.hosts[0].name, "mx.mixednull.test", "the real MX");
}

static void test_nxdomain(void)
{
	char longname[300];
	struct got g;

	lookup("nx.test", &g);
	want_status(&g, DNS_NXDOMAIN, "absent name");
	CHECK(log_count("nx.test MX NXDOMAIN") == 1, "one MX query, no A/AAAA after NXDOMAIN");
	CHECK(log_count("nx.test A NXDOMAIN") == 0, "no implicit lookup after NXDOMAIN");
	lookup("", &g);
	want_status(&g, DNS_NXDOMAIN, "empty name");
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	lookup(longname, &g);
	want_status(&g, DNS_NXDOMAIN, "name longer than 253");
	memset(longname, 'b', 70);          /* a 70-byte label: c-ares cannot encode it */
	strcpy(longname + 70, ".test");
	lookup(longname, &g);
	want_status(&g, DNS_NXDOMAIN, "label longer than 63");
}

/* tempfail_case - DOMAIN fails temporarily; dnsd saw WANT_QUERIES "DOMAIN MX RCODE" lines */
static void tempfail_case(const char *domain, const char *rcode, const char *word,
                          int want_queries, double max_seconds)
{
	char line[128];
	struct got g;
	double t0 = now(), took;
	int before;

	snprintf(line, sizeof line, "%s MX %s", domain, rcode);
	before = log_count(line);
	lookup(domain, &g);
	took = now() - t0;
	want_status(&g, DNS_TEMPFAIL, domain);
	CHECK(strstr(g.detail, word) != NULL, "%s: detail \"%s\" lacks %s", domain, g.detail, word);
	CHECK(strstr(g.detail, server) != NULL, "%s: detail \"%s\" names the resolver", domain,
	      g.detail);
	CHECK_INT(log_count(line) - before, want_queries, "queries sent (tries and retries)");
	CHECK(took < max_seconds, "%s took %.2f s", domain, took);
}

static void test_servfail(void)
{
	/* with ARES_FLAG_NOCHECKRESP a SERVFAIL ends a round at once: one query a round */
	tempfail_case("servfail.test", "SERVFAIL", "SERVFAIL", 1 + DEF_DNS_RETRIES, 2.0);
}

static void test_refused(void)
{
	tempfail_case("refused.test", "REFUSED", "REFUSED", 1 + DEF_DNS_RETRIES, 2.0);
}

static void test_timeout(void)
{
	/* 100 ms, then 200 ms (c-ares doubles per try), per round: about 0.6 s in all */
	setenv("MAILSIFT_DNS_TIMEOUT_MS", SHORT_TIMEOUT, 1);
	tempfail_case("drop.test", "DROP", "timeout", (1 + DEF_DNS_RETRIES) * DEF_DNS_TRIES, 3.0);
	unsetenv("MAILSIFT_DNS_TIMEOUT_MS");
}

static void test_no_server(void)
{
	char dead[64];
	const char *servers[] = {dead};
	char err[256];
	struct dns *d;
	struct got g;
	double t0 = now();

	/* nobody listens there */
	snprintf(dead, sizeof dead, "127.0.0.1:%d", daemon_free_port(SOCK_DGRAM));
	memset(&g, 0, sizeof g);
	d = dns_new(cur_base, servers, 1, err, sizeof err);
	CHECK(d != NULL, "dns_new: %s", err);
	if (d == NULL)
		return;
	ask(d, "implicit.test", &g);
	CHECK(run() == 0, "answered");
	dns_free(d);
	want_status(&g, DNS_TEMPFAIL, "no DNS server on the port");
	CHECK(strstr(g.detail, dead) != NULL, "detail \"%s\" names the resolver", g.detail);
	CHECK(now() - t0 < 2.0, "a refused port fails fast, took %.2f s", now() - t0);
}

static void test_delay(void)
{
	struct got g;
	double t0 = now(), took;

	lookup("slow.test", &g);
	took = now() - t0;
	want_status(&g, DNS_OK, "a late answer is still an answer");
	CHECK_STR(g.r.hosts[0].name, "mx.slow.test", "host");
	CHECK(took >= DELAY_MS / 1000.0 * 0.9, "answered after %.2f s, before dnsd's delay", took);
	CHECK(log_count("slow.test MX NOERROR") == 1, "one query: no retry needed");
}

static void test_host_no_address(void)
{
	struct got g;

	lookup("hostnoaddr.test", &g);
	want_status(&g, DNS_NO_HOST_ADDRESS, "MX host with no A/AAAA");
	CHECK_INT(g.r.nhosts, 0, "no hosts");
	lookup("hostnx.test", &g);
	want_status(&g, DNS_NO_HOST_ADDRESS, "MX host NXDOMAIN");
	CHECK(strstr(g.detail, "NXDOMAIN") != NULL, "detail \"%s\"", g.detail);
	lookup("partial.test", &g);
	want_status(&g, DNS_OK, "one good MX host of two");
	CHECK_INT(g.r.nhosts, 1, "the host without address is dropped");
	CHECK_STR(g.r.hosts[0].name, "mx.partial.test", "the good one");
	CHECK_INT(g.r.hosts[0].preference, 20, "its preference");
}

static void test_host_tempfail(void)
{
	struct got g;

	lookup("hostservfail.test", &g);
	want_status(&g, DNS_TEMPFAIL, "MX host lookup SERVFAIL");
	CHECK(strstr(g.detail, "mx.hostservfail.test") != NULL, "detail \"%s\" names the host",
	      g.detail);
}

static void test_dedupe_and_cap(void)
{
	struct got g;

	lookup("dup.test", &g);
	want_status(&g, DNS_OK, "dup.test");
	CHECK_INT(g.r.nhosts, 1, "the same host twice counts once");
	CHECK_INT(g.r.hosts[0].preference, 10, "with its best preference");
	lookup("bg.test", &g);
	want_status(&g, DNS_OK, "bg.test");
	CHECK_INT(g.r.nhosts, DNS_MAX_HOSTS, "at most DNS_MAX_HOSTS");
	for (size_t i = 0; i < g.r.nhosts; i++)
		CHECK_INT(g.r.hosts[i].preference, i + 1, "the best preferences, in order");
	CHECK(log_count("h20.bg A NOERROR") == 0, "hosts past the cut are not looked up");
}

static void test_max_addrs(void)
{
	struct got g;
	size_t n4 = 0, n6 = 0;

	lookup("many.test", &g);
	want_status(&g, DNS_OK, "many.test");
	CHECK_INT(g.r.hosts[0].naddrs, DNS_MAX_ADDRS, "at most DNS_MAX_ADDRS");
	for (size_t i = 0; i < g.r.hosts[0].naddrs; i++) {
		n4 += g.r.hosts[0].addr[i].ss_family == AF_INET;
		n6 += g.r.hosts[0].addr[i].ss_family == AF_INET6;
	}
	CHECK_INT(n6, DNS_MAX_ADDRS / 2, "IPv6 keeps half the room");
	CHECK_INT(n4, DNS_MAX_ADDRS / 2, "IPv4 the other half");
	CHECK(g.r.hosts[0].addr[0].ss_family == AF_INET, "IPv4 first");
}

static void test_case_insensitive(void)
{
	struct got g;
	char buf[64];

	lookup("CASE.Test.", &g);
	want_status(&g, DNS_OK, "mixed case with trailing dot");
	CHECK_STR(g.r.hosts[0].name, "mx.case.test", "host name lowercase");
	CHECK_STR(addr_text(&g.r.hosts[0], 0, buf, sizeof buf), "127.0.8.1", "address");
}

static void test_bulk_concurrent(void)
{
	struct got *g = calloc(BULK, sizeof *g);
	struct dns *d = resolver();
	char name[64], want[64], buf[64];
	int wrong = 0;
	double t0 = now();

	if (d == NULL || g == NULL)
		return;
	for (int i = 0; i < BULK; i++) {
		snprintf(name, sizeof name, "bulk%d.test", i);
		ask(d, name, &g[i]);
	}
	CHECK(run() == 0, "all %d answered", BULK);
	for (int i = 0; i < BULK; i++) {
		snprintf(want, sizeof want, "127.1.%d.%d", i / 200, i % 200 + 1);
		if (g[i].calls != 1 || g[i].inside || g[i].r.status != DNS_OK || g[i].r.nhosts != 1 ||
		    strcmp(addr_text(&g[i].r.hosts[0], 0, buf, sizeof buf), want) != 0) {
			if (wrong++ < 5)
				printf("  bulk%d.test: calls %d, %s, %zu hosts, detail %s\n", i, g[i].calls,
				       dns_status_name(g[i].r.status), g[i].r.nhosts, g[i].detail);
		}
	}
	CHECK_INT(wrong, 0, "wrong answers");
	CHECK(now() - t0 < 5.0, "%d domains took %.2f s", BULK, now() - t0);
	CHECK(log_count("bulk7.test MX NOERROR") == 1, "no retries needed");
	dns_free(d);
	free(g);
}

static void test_same_domain_shared(void)
{
	struct got g[SAME], s1, s2;
	struct dns *d = resolver();
	int ok = 0;

	if (d == NULL)
		return;
	memset(g, 0, sizeof g);
	memset(&s1, 0, sizeof s1);
	memset(&s2, 0, sizeof s2);
	for (int i = 0; i < SAME; i++)
		ask(d, "same.test", &g[i]);
	ask(d, "shared1.test", &s1);
	ask(d, "shared2.test", &s2);
	CHECK(run() == 0, "answered");
	for (int i = 0; i < SAME; i++)
		ok += g[i].calls == 1 && !g[i].inside && g[i].r.status == DNS_OK && g[i].r.nhosts == 1;
	CHECK_INT(ok, SAME, "every caller got the answer once");
	CHECK_INT(log_count("same.test MX NOERROR"), 1, "one MX query for 50 lookups");
	CHECK_INT(log_count("mx.same.test A NOERROR"), 1, "one A query for its host");
	want_status(&s1, DNS_OK, "shared1");
	want_status(&s2, DNS_OK, "shared2");
	CHECK_INT(log_count("mx.shared.test A NOERROR"), 1,
	          "an MX host shared by two domains: one A query");
	dns_free(d);
}

static void test_cached_not_inside(void)
{
	struct got a, b, bad;
	struct dns *d = resolver();

	if (d == NULL)
		return;
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	memset(&bad, 0, sizeof bad);
	ask(d, "cached.test", &a);
	run();
	want_status(&a, DNS_OK, "first lookup");
	ask(d, "cached.test", &b);  /* cached: answered from the loop, not from here */
	ask(d, "", &bad);           /* refused without a query: from the loop too */
	CHECK_INT(b.calls, 0, "cached answer not delivered inside dns_mail_hosts");
	CHECK_INT(bad.calls, 0, "bad name not answered inside dns_mail_hosts");
	run();
	CHECK_INT(b.calls, 1, "cached answer delivered");
	CHECK_INT(b.inside + bad.inside, 0, "never inside");
	want_status(&b, DNS_OK, "cached");
	CHECK_STR(b.r.hosts[0].name, "mx.cached.test", "same answer");
	CHECK_INT(log_count("cached.test MX NOERROR"), 1, "the cache asked nothing more");
	dns_free(d);
}

static void test_free_pending(void)
{
	struct got g[12], c;
	struct dns *d = resolver();
	char name[32];
	int ok = 0;

	if (d == NULL)
		return;
	memset(g, 0, sizeof g);
	memset(&c, 0, sizeof c);
	ask(d, "implicit.test", &c);
	run();                      /* cached now */
	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof name, "pend%d.test", i);
		ask(d, name, &g[i]);    /* dnsd holds these for 2 s */
	}
	ask(d, "drop2.test", &g[8]);
	event_base_loop(cur_base, EVLOOP_NONBLOCK); /* queries go out */
	event_base_loop(cur_base, EVLOOP_NONBLOCK);
	ask(d, "implicit.test", &g[9]);     /* cached answer waiting for the loop */
	ask(d, "never-sent.test", &g[10]);  /* still in the FIFO */
	ask(d, "pend0.test", &g[11]);       /* waiting on a pending query */
	CHECK(wait_log("pend3.test MX NOERROR", 2000) == 1, "queries reached dnsd before dns_free");
	dns_free(d);
	for (int i = 0; i < 12; i++)
		ok += g[i].calls == 1 && !g[i].inside && g[i].r.status == DNS_TEMPFAIL &&
		      strcmp(g[i].detail, "resolver shut down") == 0;
	CHECK_INT(ok, 12, "every pending lookup answered TEMPFAIL once by dns_free");
	outstanding = 0;
	event_base_loop(cur_base, EVLOOP_NONBLOCK);  /* nothing left to fire at freed memory */
}

struct chain {                   /* a callback that calls dns_free or dns_mail_hosts */
	struct dns *d;
	int calls;
	int free_it;             /* call dns_free from the callback */
	int ask_again;           /* call dns_mail_hosts from the callback */
	struct got again;
	enum dns_status status;
};

static void chain_cb(void *arg, const struct dns_result *r)
{
	struct chain *c = arg;

	c->calls++;
	c->status = r->status;
	outstanding--;
	if (c->ask_again) {
		c->ask_again = 0;
		outstanding++;
		dns_mail_hosts(c->d, "implicit.test", got_cb, &c->again);
	}
	if (c->free_it)
		dns_free(c->d);
	if (outstanding <= 0)
		event_base_loopbreak(cur_base);
}

static void test_free_from_callback(void)
{
	struct chain first, later;
	struct got g;
	struct dns *d = resolver();

	if (d == NULL)
		return;
	memset(&first, 0, sizeof first);
	memset(&later, 0, sizeof later);
	memset(&g, 0, sizeof g);
	first.d = later.d = d;
	first.free_it = 1;
	ask(d, "implicit.test", &g);
	run();
	/* two cached answers in one delivery pass: the first frees the resolver */
	outstanding += 2;
	dns_mail_hosts(d, "implicit.test", chain_cb, &first);
	dns_mail_hosts(d, "implicit.test", chain_cb, &later);
	run();
	CHECK_INT(first.calls, 1, "first callback");
	CHECK_INT(later.calls, 1, "second callback still runs once");
	CHECK_STR(dns_status_name(later.status), "tempfail", "after dns_free: TEMPFAIL");
	outstanding = 0;
	event_base_loop(cur_base, EVLOOP_NONBLOCK);
}

static void test_lookup_during_free(void)
{
	struct chain c;
	struct dns *d = resolver();

	if (d == NULL)
		return;
	memset(&c, 0, sizeof c);
	c.d = d;
	c.ask_again = 1;
	outstanding = 1;
	dns_mail_hosts(d, "pend5.test", chain_cb, &c);
	dns_free(d);                /* the callback asks again: answered inside this dns_free */
	CHECK_INT(c.calls, 1, "cancelled callback");
	CHECK_INT(c.again.calls, 1, "the lookup made during dns_free is answered");
	CHECK_STR(dns_status_name(c.again.r.status), "tempfail", "with TEMPFAIL");
	outstanding = 0;
	event_base_loop(cur_base, EVLOOP_NONBLOCK);
}

static void test_bad_config(void)
{
	static const struct {
		const char *server;
		int ok;
	} rows[] = {
		{"127.0.0.1", 1}, {"127.0.0.1:5353", 1}, {"::1", 1}, {"[::1]:5353", 1}, {"[::1]", 1},
		{"localhost", 0}, {"127.0.0.1:0", 0}, {"127.0.0.1:99999", 0}, {"127.0.0.1:x", 0},
		{"[::1", 0}, {"[::1]x", 0}, {"", 0}, {"1.2.3.4,5.6.7.8", 0},
	};
	char err[256];

	if (cur_base == NULL)
		cur_base = event_base_new();
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const char *s[] = {rows[i].server};
		struct dns *d;

		err[0] = '\0';
		d = dns_new(cur_base, s, 1, err, sizeof err);
		CHECK((d != NULL) == rows[i].ok, "resolver \"%s\": %s", rows[i].server,
		      d ? "accepted" : err);
		if (d == NULL)
			CHECK(strstr(err, rows[i].server) != NULL, "error \"%s\" names the argument", err);
		dns_free(d);
	}
	setenv("MAILSIFT_DNS_TIMEOUT_MS", "soon", 1);
	{
		const char *s[] = {server};

		CHECK(dns_new(cur_base, s, 1, err, sizeof err) == NULL, "bad timeout knob refused");
		CHECK(strstr(err, "MAILSIFT_DNS_TIMEOUT_MS") != NULL, "error \"%s\"", err);
	}
	unsetenv("MAILSIFT_DNS_TIMEOUT_MS");
	CHECK_STR(dns_status_name(DNS_NO_HOST_ADDRESS), "no_host_address", "status name");
}

/* test_ares_status_table - every c-ares 1.18 status has its row and means what it should:
 * only NXDOMAIN "does not exist"; a bad name is temporary (the name itself is checked before
 * sending, so an ARES_EBADNAME that comes back is about an answer) */
static void test_ares_status_table(void)
{
	static const struct {
		int status;
		const char *name;
		enum dns_meaning want;
	} rows[] = {
		{ARES_SUCCESS, "ARES_SUCCESS", DNS_MEANS_OK},
		{ARES_ENODATA, "ARES_ENODATA", DNS_MEANS_NODATA},
		{ARES_EFORMERR, "ARES_EFORMERR", DNS_MEANS_TEMPORARY},
		{ARES_ESERVFAIL, "ARES_ESERVFAIL", DNS_MEANS_TEMPORARY},
		{ARES_ENOTFOUND, "ARES_ENOTFOUND", DNS_MEANS_NOT_EXIST},
		{ARES_ENOTIMP, "ARES_ENOTIMP", DNS_MEANS_TEMPORARY},
		{ARES_EREFUSED, "ARES_EREFUSED", DNS_MEANS_TEMPORARY},
		{ARES_EBADQUERY, "ARES_EBADQUERY", DNS_MEANS_TEMPORARY},
		{ARES_EBADNAME, "ARES_EBADNAME", DNS_MEANS_TEMPORARY},
		{ARES_EBADFAMILY, "ARES_EBADFAMILY", DNS_MEANS_TEMPORARY},
		{ARES_EBADRESP, "ARES_EBADRESP", DNS_MEANS_TEMPORARY},
		{ARES_ECONNREFUSED, "ARES_ECONNREFUSED", DNS_MEANS_TEMPORARY},
		{ARES_ETIMEOUT, "ARES_ETIMEOUT", DNS_MEANS_TEMPORARY},
		{ARES_EOF, "ARES_EOF", DNS_MEANS_TEMPORARY},
		{ARES_EFILE, "ARES_EFILE", DNS_MEANS_TEMPORARY},
		{ARES_ENOMEM, "ARES_ENOMEM", DNS_MEANS_TEMPORARY},
		{ARES_EDESTRUCTION, "ARES_EDESTRUCTION", DNS_MEANS_CANCELLED},
		{ARES_EBADSTR, "ARES_EBADSTR", DNS_MEANS_TEMPORARY},
		{ARES_EBADFLAGS, "ARES_EBADFLAGS", DNS_MEANS_TEMPORARY},
		{ARES_ENONAME, "ARES_ENONAME", DNS_MEANS_TEMPORARY},
		{ARES_EBADHINTS, "ARES_EBADHINTS", DNS_MEANS_TEMPORARY},
		{ARES_ENOTINITIALIZED, "ARES_ENOTINITIALIZED", DNS_MEANS_TEMPORARY},
		{ARES_ELOADIPHLPAPI, "ARES_ELOADIPHLPAPI", DNS_MEANS_TEMPORARY},
		{ARES_EADDRGETNETWORKPARAMS, "ARES_EADDRGETNETWORKPARAMS", DNS_MEANS_TEMPORARY},
		{ARES_ECANCELLED, "ARES_ECANCELLED", DNS_MEANS_CANCELLED},
		{9999, "ARES_?", DNS_MEANS_TEMPORARY},    /* a status a newer c-ares may add */
	};
	size_t n;

	dns_ares_statuses(&n);
	CHECK_INT(n, sizeof rows / sizeof rows[0] - 1, "one table row per c-ares 1.18 status");
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct dns_ares_status *row = dns_ares_status(rows[i].status);
		struct dns_answer ans;

		CHECK_STR(row->name, rows[i].name, rows[i].name);
		CHECK(row->meaning == rows[i].want, "%s means %d, want %d", rows[i].name,
		      (int)row->meaning, (int)rows[i].want);
		CHECK(row->text != NULL && row->text[0] != '\0', "%s has a text", rows[i].name);
		if (rows[i].status == ARES_SUCCESS)
			continue;
		/* the answer-handling path the query callbacks take agrees with the table */
		for (int t = DNS_Q_MX; t <= DNS_Q_AAAA; t++) {
			dns_answer_read((enum dns_qtype)t, rows[i].status, NULL, 0, &ans);
			CHECK(ans.meaning == rows[i].want, "%s through dns_answer_read (type %d)",
			      rows[i].name, t);
			CHECK(!ans.malformed, "%s: not an answer that failed to parse", rows[i].name);
			dns_answer_free(&ans);
		}
	}
	CHECK(dns_ares_status(ARES_SUCCESS)->meaning == DNS_MEANS_OK, "success");
}

/* mx_answer - a one-question, one-MX-answer message for "a.test" whose exchange is EXCH
 * (wire form, LEN bytes) into BUF; its length */
static int mx_answer(unsigned char *buf, const unsigned char *exch, size_t len)
{
	static const unsigned char head[] = {
		0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,    /* id, flags, 1 question, 1 answer */
		1, 'a', 4, 't', 'e', 's', 't', 0, 0, 15, 0, 1,     /* a.test MX IN */
		0xc0, 12, 0, 15, 0, 1, 0, 0, 1, 44,                /* a.test MX IN TTL 300 */
	};
	size_t n = sizeof head;

	memcpy(buf, head, n);
	buf[n++] = (unsigned char)((len + 2) >> 8);
	buf[n++] = (unsigned char)(len + 2);
	buf[n++] = 0;
	buf[n++] = 10;                                           /* preference 10 */
	memcpy(buf + n, exch, len);
	return (int)(n + len);
}


/* mx_count - MX queries dnsd answered for DOMAIN */
static int mx_count(const char *domain)
{
	char line[128];

	snprintf(line, sizeof line, "%s MX NOERROR", domain);
	return log_count(line);
}

/* ask_run - one lookup of DOMAIN on D, the loop run until it is answered; its status */
static enum dns_status ask_run(struct dns *d, const char *domain)
{
	struct got g;

	memset(&g, 0, sizeof g);
	ask(d, domain, &g);
	if (run() != 0 || g.calls != 1)
		return DNS_TEMPFAIL;
	return g.r.status;
}

/* test_cache_lru - a cache of 3 names a table lets go of the least recently used unused one;
 * an evicted name is asked again, the others are not */
static void test_cache_lru(void)
{
	struct dns *d = resolver();
	struct dns_cache_stats ds, hs;
	int base[7];

	if (d == NULL)
		return;
	for (int i = 1; i <= 6; i++) {
		char name[32];

		snprintf(name, sizeof name, "lru%d.test", i);
		base[i] = mx_count(name);
	}
	dns_cache_limit(d, 3);
	CHECK(ask_run(d, "lru1.test") == DNS_OK, "lru1");
	ask_run(d, "lru2.test");
	ask_run(d, "lru3.test");
	ask_run(d, "lru1.test");       /* a hit: lru1 is the most recent now, lru2 the least */
	ask_run(d, "lru4.test");       /* full: lru2 goes */
	CHECK_INT(mx_count("lru1.test") - base[1], 1, "lru1 asked once (the second was a hit)");
	ask_run(d, "lru3.test");       /* still there */
	ask_run(d, "lru1.test");
	CHECK_INT(mx_count("lru3.test") - base[3], 1, "lru3 kept");
	CHECK_INT(mx_count("lru1.test") - base[1], 1, "lru1 kept");
	ask_run(d, "lru2.test");       /* evicted: asked again (and lru4 goes: least recent) */
	CHECK_INT(mx_count("lru2.test") - base[2], 2, "lru2 was evicted: asked again");
	ask_run(d, "lru4.test");
	CHECK_INT(mx_count("lru4.test") - base[4], 2, "lru4 was the least recent: asked again");
	dns_cache_stats(d, &ds, &hs);
	CHECK(ds.entries <= 3 && ds.peak <= 3, "domains held %zu, peak %zu, limit 3", ds.entries,
	      ds.peak);
	CHECK(hs.entries <= 3, "MX host names held %zu: their domains let them go", hs.entries);
	CHECK_INT(ds.hits, 3, "domain hits");
	CHECK_INT(ds.misses, 6, "domain misses");
	CHECK_INT(ds.evicted, 3, "domains evicted");
	CHECK_INT(ds.limit, 3, "limit reported");
	dns_free(d);
}

/* test_cache_in_use - names a caller waits for are never evicted, whatever the limit; many
 * lookups of an evicted name share one query again */
static void test_cache_in_use(void)
{
	struct dns *d = resolver();
	struct got g[6][10];
	struct dns_cache_stats ds, hs;
	int ok = 0, before = mx_count("lru5.test");

	if (d == NULL)
		return;
	dns_cache_limit(d, 1);
	memset(g, 0, sizeof g);
	for (int k = 0; k < 10; k++)
		for (int i = 1; i <= 6; i++) {
			char name[32];

			snprintf(name, sizeof name, "lru%d.test", i);
			ask(d, name, &g[i - 1][k]);
		}
	dns_cache_stats(d, &ds, &hs);
	CHECK_INT(ds.entries, 6, "six names pending, limit 1: none evicted");
	CHECK(run() == 0, "answered");
	for (int i = 0; i < 6; i++)
		for (int k = 0; k < 10; k++)
			ok += g[i][k].calls == 1 && g[i][k].r.status == DNS_OK && g[i][k].r.nhosts == 1;
	CHECK_INT(ok, 60, "every caller got its answer");
	CHECK_INT(mx_count("lru5.test") - before, 1, "ten lookups of one name: one query");
	dns_cache_stats(d, &ds, &hs);
	CHECK_INT(ds.entries, 1, "once unused, one domain kept");
	CHECK_INT(hs.entries, 1, "and its MX host name");
	before = mx_count("lru1.test");
	memset(g, 0, sizeof g);
	for (int k = 0; k < 10; k++)
		ask(d, "lru1.test", &g[0][k]);
	CHECK(run() == 0, "answered again");
	CHECK_INT(mx_count("lru1.test") - before, 1, "after its eviction: one shared query again");
	dns_free(d);
}

/* test_cache_ttl - an answer goes stale with its TTL: the domain's own (MX), or one of its
 * MX hosts' (A) */
static void test_cache_ttl(void)
{
	struct dns *d = resolver();
	struct dns_cache_stats ds, hs;
	int t0 = mx_count("ttl1.test"), h0 = mx_count("hostttl.test");

	if (d == NULL)
		return;
	CHECK(ask_run(d, "ttl1.test") == DNS_OK, "ttl1 (MX TTL 1 s)");
	CHECK(ask_run(d, "hostttl.test") == DNS_OK, "hostttl (its host's A TTL 1 s)");
	CHECK(ask_run(d, "cached.test") == DNS_OK, "cached (TTL 300)");
	ask_run(d, "ttl1.test");
	CHECK_INT(mx_count("ttl1.test") - t0, 1, "fresh: a hit");
	usleep(1100 * 1000);
	ask_run(d, "ttl1.test");
	ask_run(d, "hostttl.test");
	ask_run(d, "cached.test");
	CHECK_INT(mx_count("ttl1.test") - t0, 2, "after its TTL: asked again");
	CHECK_INT(mx_count("hostttl.test") - h0, 2, "a host's TTL makes its domain stale too");
	CHECK_INT(log_count("mx.hostttl.test A NOERROR") >= 2, 1, "and the host is asked again");
	dns_cache_stats(d, &ds, &hs);
	CHECK_INT(ds.expired, 2, "two domains expired");
	CHECK(hs.expired >= 1, "the host expired (%ld)", hs.expired);
	dns_free(d);
}

/* test_answer_read - hand-made answers through dns_answer_read, as the query callback reads
 * them: a good MX, a null MX, and malformed ones (never "does not exist") */
static void test_answer_read(void)
{
	static const unsigned char good[] = {2, 'm', 'x', 0xc0, 12};   /* mx.a.test */
	static const unsigned char null[] = {0};                        /* "." */
	static const unsigned char loop[] = {0xc0, 38};                 /* points at itself */
	static const unsigned char cut[] = {0x3f, 'a', 'b', 'c'};       /* runs past the end */
	unsigned char buf[128];
	struct dns_answer ans;
	struct dns_mx_target t[2];
	size_t nnull, nbad;
	int len;

	len = mx_answer(buf, good, sizeof good);
	dns_answer_read(DNS_Q_MX, ARES_SUCCESS, buf, len, &ans);
	CHECK(ans.meaning == DNS_MEANS_OK, "good MX: ok (%d, status %d)", (int)ans.meaning,
	      ans.status);
	CHECK_INT(dns_mx_targets(&ans, t, 2, &nnull, &nbad), 1, "one target");
	CHECK_STR(t[0].name, "mx.a.test", "its name");
	CHECK_INT(t[0].preference, 10, "its preference");
	CHECK_INT(ans.ttl, 300, "its TTL");
	dns_answer_free(&ans);

	len = mx_answer(buf, null, sizeof null);
	dns_answer_read(DNS_Q_MX, ARES_SUCCESS, buf, len, &ans);
	CHECK(ans.meaning == DNS_MEANS_OK, "null MX parses");
	CHECK_INT(dns_mx_targets(&ans, t, 2, &nnull, &nbad), 0, "no usable target");
	CHECK_INT(nnull, 1, "one null target");
	dns_answer_free(&ans);

	len = mx_answer(buf, loop, sizeof loop);
	CHECK_INT(len, 40, "the loop's pointer sits at byte 38");
	dns_answer_read(DNS_Q_MX, ARES_SUCCESS, buf, len, &ans);
	CHECK(ans.meaning == DNS_MEANS_TEMPORARY, "pointer loop: temporary, not %d", (int)ans.meaning);
	CHECK(ans.malformed, "pointer loop: malformed");
	CHECK_INT(ans.status, ARES_EBADNAME, "c-ares says EBADNAME for the loop");
	CHECK(ans.mx == NULL, "nothing kept");
	dns_answer_free(&ans);

	len = mx_answer(buf, cut, sizeof cut);
	dns_answer_read(DNS_Q_MX, ARES_SUCCESS, buf, len, &ans);
	CHECK(ans.meaning == DNS_MEANS_TEMPORARY && ans.malformed, "cut label: malformed");
	dns_answer_free(&ans);

	for (int cutat = 0; cutat < len; cutat++) {   /* every truncation of a good answer */
		len = mx_answer(buf, good, sizeof good);
		dns_answer_read(DNS_Q_MX, ARES_SUCCESS, buf, cutat, &ans);
		CHECK(ans.meaning != DNS_MEANS_NOT_EXIST, "truncated at %d: never NXDOMAIN", cutat);
		dns_answer_free(&ans);
	}
	dns_answer_read(DNS_Q_A, ARES_SUCCESS, NULL, 0, &ans);
	CHECK(ans.meaning == DNS_MEANS_TEMPORARY && ans.malformed, "success without an answer");

	/* NXDOMAIN with the zone's SOA: cached for min(SOA TTL 600, MINIMUM 120) (RFC 2308) */
	static const unsigned char nx[] = {
		0x12, 0x34, 0x81, 0x83, 0, 1, 0, 0, 0, 1, 0, 0,    /* NXDOMAIN, 1 question, 1 NS */
		1, 'a', 4, 't', 'e', 's', 't', 0, 0, 15, 0, 1,     /* a.test MX IN */
		0xc0, 14, 0, 6, 0, 1, 0, 0, 2, 88, 0, 29,          /* test SOA IN TTL 600, 29 bytes */
		2, 'n', 's', 0xc0, 14, 1, 'h', 0xc0, 14,           /* ns.test h.test */
		0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4,    /* serial refresh retry expire */
		0, 0, 0, 120,                                      /* minimum */
	};
	dns_answer_read(DNS_Q_MX, ARES_ENOTFOUND, nx, (int)sizeof nx, &ans);
	CHECK(ans.meaning == DNS_MEANS_NOT_EXIST, "NXDOMAIN");
	CHECK_INT(ans.ttl, 120, "negative TTL from the SOA");
	dns_answer_read(DNS_Q_MX, ARES_ENOTFOUND, nx, 40, &ans);
	CHECK_INT(ans.ttl, -1, "the SOA cut short: no TTL");
}

/* test_malformed_answer - dnsd's badmx answers: retried, then temporary, never NXDOMAIN */
static void test_malformed_answer(void)
{
	static const struct {
		const char *domain;
		const char *word;    /* in the detail */
	} rows[] = {
		{"badloop.test", "bad name"},
		{"badshort.test", "bad response"},
		{"badcut.test", "malformed answer"},
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char line[128];
		struct got g;

		snprintf(line, sizeof line, "%s MX NOERROR", rows[i].domain);
		lookup(rows[i].domain, &g);
		want_status(&g, DNS_TEMPFAIL, rows[i].domain);
		CHECK(strstr(g.detail, "malformed answer") != NULL, "%s: detail \"%s\"",
		      rows[i].domain, g.detail);
		CHECK(strstr(g.detail, rows[i].word) != NULL, "%s: detail \"%s\" lacks \"%s\"",
		      rows[i].domain, g.detail, rows[i].word);
		CHECK_INT(log_count(line), 1 + DEF_DNS_RETRIES, "asked again after a malformed answer");
	}
}

/* test_not_queryable - a name that cannot be put in a query does not exist, decided before
 * anything is sent */
static void test_not_queryable(void)
{
	static const struct {
		const char *name;
		int ok;
	} rows[] = {
		{"a.test", 1}, {"x", 1}, {"a..test", 0}, {".a.test", 0}, {"a b.test", 0},
		{"a\\.test", 0}, {"a\x01.test", 0}, {"", 0},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.test", 1}, /* 63 */
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.test", 0}, /* 64 */
	};
	struct got g;

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		CHECK(dns_name_queryable(rows[i].name) == rows[i].ok, "\"%s\" queryable: want %d",
		      rows[i].name, rows[i].ok);
	lookup("a..test", &g);
	want_status(&g, DNS_NXDOMAIN, "an empty label");
	CHECK(log_count("a..test MX NXDOMAIN") == 0 && log_count("(badname) MX FORMERR") == 0,
	      "nothing sent");
}

/* test_not_public - by default the addresses that are not public are dropped, hosts left
 * without one too; none left: DNS_MX_NOT_PUBLIC naming the address; implicit MX alike; the
 * job store's cached answers get the same rule (dns_result_parse) */
static void test_not_public(void)
{
	struct dns_result r;
	struct dns *d;
	struct got g;
	char buf[64];

	lookup_rule("pubmix.test", &g, 0);
	want_status(&g, DNS_OK, "pubmix.test has public addresses");
	CHECK_INT(g.r.nhosts, 1, "the host with only special addresses is dropped");
	if (g.r.nhosts == 1) {
		CHECK_STR(g.r.hosts[0].name, "mx2.pubmix.test", "the host kept");
		CHECK_INT(g.r.hosts[0].naddrs, 2, "its public addresses only");
		CHECK_STR(addr_text(&g.r.hosts[0], 0, buf, sizeof buf), "93.184.216.34", "v4");
		CHECK_STR(addr_text(&g.r.hosts[0], 1, buf, sizeof buf), "2a00:1450:4001::1a", "v6");
	}
	lookup("pubmix.test", &g);
	CHECK_INT(g.r.nhosts, 2, "with private allowed, both hosts");

	lookup_rule("zero.test", &g, 0);
	want_status(&g, DNS_MX_NOT_PUBLIC, "MX at 0.0.0.0");
	CHECK(strstr(g.detail, "0.0.0.0") && strstr(g.detail, "mx.zero.test"), "detail \"%s\"",
	      g.detail);
	CHECK_INT(g.r.nhosts, 1, "the refused host is kept in the result");
	lookup_rule("priv.test", &g, 0);
	want_status(&g, DNS_MX_NOT_PUBLIC, "MX at 10/8 and ::ffff:192.168/16");
	CHECK(strstr(g.detail, "10.0.0.25") && strstr(g.detail, "RFC 1918"), "detail \"%s\"",
	      g.detail);
	lookup_rule("implicit.test", &g, 0);
	want_status(&g, DNS_MX_NOT_PUBLIC, "implicit MX on 127.0.2.1");
	CHECK(strstr(g.detail, "implicit") && strstr(g.detail, "loopback"), "detail \"%s\"",
	      g.detail);
	lookup("zero.test", &g);
	want_status(&g, DNS_OK, "allowed");

	/* the job store's DNS cache */
	d = resolver_rule(0);
	if (d == NULL)
		return;
	CHECK(dns_result_parse(d, "ok", "10 mx.a.test 127.0.0.1,10.0.0.1", &r) == 0, "parses");
	CHECK_STR(dns_status_name(r.status), "mx_not_public", "cached loopback answer");
	CHECK(strstr(r.detail, "127.0.0.1") != NULL, "detail \"%s\"", r.detail);
	CHECK(dns_result_parse(d, "ok", "10 mx.a.test 127.0.0.1;20 mx.b.test 8.8.8.8", &r) == 0,
	      "parses");
	CHECK_STR(dns_status_name(r.status), "ok", "one public host");
	CHECK_INT(r.nhosts, 1, "only it");
	CHECK_STR(r.hosts[0].name, "mx.b.test", "the public one");
	CHECK(dns_result_parse(d, "mx_not_public", "10 mx.a.test 127.0.0.1", &r) == 0, "parses");
	CHECK_STR(dns_status_name(r.status), "mx_not_public", "stays not public");
	dns_allow_private(d, 1);
	CHECK(dns_result_parse(d, "mx_not_public", "10 mx.a.test 127.0.0.1", &r) == 0, "parses");
	CHECK_STR(dns_status_name(r.status), "ok", "a stored refusal is usable when allowed");
	CHECK_INT(r.nhosts, 1, "with its host");
	CHECK(dns_result_parse(d, "mx_not_public", "", &r) == -1, "not public without hosts");
	dns_free(d);
}

static void test_world_stops(void)
{
	int status = daemon_stop(&dnsd);

	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "dnsd exits cleanly on SIGTERM (%d)",
	      status);
	CHECK(access(dnsd.pid_path, F_OK) != 0, "dnsd removed its pidfile");
	if (cur_base)
		event_base_free(cur_base);
	cur_base = NULL;
}

TESTS(test_world_starts, test_preference_order, test_shuffle_varies, test_seed_repeatable,
      test_implicit_a, test_idle_after_answers, test_implicit_aaaa_only, test_no_mail_host,
      test_null_mx, test_nxdomain, test_servfail, test_refused, test_timeout, test_no_server,
      test_delay, test_host_no_address, test_host_tempfail, test_dedupe_and_cap, test_max_addrs,
      test_case_insensitive, test_bulk_concurrent, test_same_domain_shared,
      test_cached_not_inside, test_cache_lru, test_cache_in_use, test_cache_ttl,
      test_free_pending, test_free_from_callback,
      test_lookup_during_free, test_bad_config, test_ares_status_table, test_answer_read,
      test_malformed_answer, test_not_queryable, test_not_public, test_world_stops)
