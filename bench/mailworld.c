/*
 * mailworld - the address list, DNS zone and smtpd persona config of one engine benchmark
 * (bench/engine.sh), written into a directory. Deterministic: the same arguments always give the
 * same bytes (own PRNG, no libc rand, no clock).
 *
 * Usage:
 *   bench-mailworld engine DIR ADDRS DOMAINS HOSTS INVALID_PERMILLE ORDER
 *   bench-mailworld sessions DIR HOSTS ADDRS_PER_HOST PROCS REPLY_MS
 *   bench-mailworld sched DIR ADDRS DOMAINS HOSTS SPREAD SEED
 *
 * Every mode writes DIR/list.txt (one address a line), DIR/zone (tests/world/dnsd format) and
 * DIR/hosts.tsv (one line per mail host: "ADDR LIMIT REPLY_MS ADDRESSES DOMAINS"; LIMIT 0 is no
 * limit). Hosts are strict personas: every generated local part u0, u1, ... of a domain is in the
 * persona's users= list, except the INVALID_PERMILLE highest of each domain (550 5.1.1), so every
 * address costs one RCPT and the catch-all probe (a random local part) is rejected.
 *
 *  engine:   ADDRS addresses over DOMAINS domains (ADDRS/DOMAINS each) on HOSTS hosts
 *            127.1.x.y (domain i on host i % HOSTS), no delay, no limit: DIR/smtpd.conf.
 *            ORDER "shuffled" (a list as CRMs export it: domains interleaved at random) or
 *            "sorted" (grouped by domain).
 *  sessions: HOSTS hosts 127.2.x.y, one domain each with ADDRS_PER_HOST addresses, every reply
 *            but the banner held REPLY_MS ms; the config is split over PROCS files
 *            DIR/smtpd-K.conf (K = 0..PROCS-1), one smtpd process each, so that listeners plus
 *            sessions stay under each process's RLIMIT_NOFILE.
 *  sched:    HOSTS hosts 127.3.x.y, each with a session limit (max_per_client) of 1 to 5 and a
 *            delay of 10 to 200 ms before every reply, banner included (reply_ms = banner_ms);
 *            ADDRS addresses over DOMAINS domains. SPREAD "balanced": a host's share of domains
 *            and addresses is proportional to its capacity LIMIT / REPLY_MS (every host then
 *            has about the same lower bound on its time, so the slowest host alone does not
 *            decide the result); "uniform": DOMAINS / HOSTS domains and ADDRS / HOSTS addresses
 *            per host. DIR/smtpd.conf.
 * Addresses are listed in a shuffled order in sessions and sched modes.
 *
 * Exit status: 0, 1 on a write error or an impossible size, 2 on a usage error.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MW_USERS_MAX 700         /* users= of one persona: its smtpd config line stays < 4096 bytes */
#define MW_HOSTS_MAX 60000       /* 127.B.x.y with x < 240 */
#define MW_LIMIT_MIN 1           /* sched: session limits ... */
#define MW_LIMIT_MAX 5
#define MW_DELAY_MIN 10          /* sched: reply delays, ms ... */
#define MW_DELAY_MAX 200

static uint64_t rng_state = 0x6d61696c73696674ull; /* "mailsift" */

/* rng - splitmix64 */
static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned rng_below(unsigned n)
{
	return (unsigned)(rng() % n);
}

static void die(const char *msg)
{
	fprintf(stderr, "bench-mailworld: %s\n", msg);
	exit(1);
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (p == NULL)
		die("out of memory");
	return p;
}

static FILE *open_out(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL) {
		fprintf(stderr, "bench-mailworld: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return f;
}

static void close_out(FILE *f)
{
	if (ferror(f) || fclose(f) != 0)
		die("write error");
}

/* host_addr - the address of host I in 127.B.0.0/16 (x.y with y in 1..250) */
static void host_addr(char *buf, size_t len, int b, long i)
{
	snprintf(buf, len, "127.%d.%ld.%ld", b, i / 250, 1 + i % 250);
}

/* users - "u0,u1,...,u(N-1)" into F */
static void users(FILE *f, long n)
{
	for (long i = 0; i < n; i++)
		fprintf(f, "%su%ld", i ? "," : "", i);
}

/* shuffle - Fisher-Yates over N longs */
static void shuffle(long *v, long n)
{
	for (long i = n - 1; i > 0; i--) {
		long j = (long)(rng() % (uint64_t)(i + 1)), t = v[i];

		v[i] = v[j];
		v[j] = t;
	}
}

static long num(const char *s, long min, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < min || v > max) {
		fprintf(stderr, "bench-mailworld: %s: %s is not a number in %ld..%ld\n", what, s, min, max);
		exit(2);
	}
	return v;
}

/* Per domain: its host, its first address number and its size; a list of (domain, local). */
struct world {
	long ndom, nhost;
	long *dom_host;      /* domain -> host */
	long *dom_size;      /* domain -> addresses */
	long *host_limit;    /* host -> max_per_client (0 none) */
	long *host_delay;    /* host -> reply_ms */
	long *host_addrs;    /* host -> addresses */
	long *host_doms;     /* host -> domains */
};

static void world_alloc(struct world *w, long ndom, long nhost)
{
	w->ndom = ndom;
	w->nhost = nhost;
	w->dom_host = xcalloc((size_t)ndom, sizeof(long));
	w->dom_size = xcalloc((size_t)ndom, sizeof(long));
	w->host_limit = xcalloc((size_t)nhost, sizeof(long));
	w->host_delay = xcalloc((size_t)nhost, sizeof(long));
	w->host_addrs = xcalloc((size_t)nhost, sizeof(long));
	w->host_doms = xcalloc((size_t)nhost, sizeof(long));
}

/* write_list - every (domain, local part) once, shuffled or grouped by domain */
static void write_list(const char *dir, const struct world *w, const char *suffix, int shuffled)
{
	long total = 0, k = 0;
	long *v;
	long *first;
	FILE *f = open_out(dir, "list.txt");

	first = xcalloc((size_t)w->ndom + 1, sizeof(long));
	for (long d = 0; d < w->ndom; d++) {
		first[d] = total;
		total += w->dom_size[d];
	}
	first[w->ndom] = total;
	v = xcalloc((size_t)total, sizeof(long));
	for (long i = 0; i < total; i++)
		v[i] = i;
	if (shuffled)
		shuffle(v, total);
	for (long i = 0; i < total; i++) {
		long lo = 0, hi = w->ndom; /* the domain d with first[d] <= v[i] < first[d + 1] */

		while (hi - lo > 1) {
			long mid = (lo + hi) / 2;

			if (first[mid] <= v[i])
				lo = mid;
			else
				hi = mid;
		}
		fprintf(f, "u%ld@d%ld.%s\n", v[i] - first[lo], lo, suffix);
		k++;
	}
	close_out(f);
	free(v);
	free(first);
	(void)k;
}

/* write_zone - MX of every domain to its host's name, A of every host */
static void write_zone(const char *dir, const struct world *w, const char *suffix, int b)
{
	char addr[32];
	FILE *f = open_out(dir, "zone");

	fprintf(f, "# bench/mailworld.c: %ld domains on %ld hosts\n", w->ndom, w->nhost);
	for (long d = 0; d < w->ndom; d++)
		fprintf(f, "mx d%ld.%s 10 h%ld.%s\n", d, suffix, w->dom_host[d], suffix);
	for (long h = 0; h < w->nhost; h++) {
		host_addr(addr, sizeof addr, b, h);
		fprintf(f, "a h%ld.%s %s\n", h, suffix, addr);
	}
	close_out(f);
}

static void write_hosts(const char *dir, const struct world *w, int b)
{
	char addr[32];
	FILE *f = open_out(dir, "hosts.tsv");

	for (long h = 0; h < w->nhost; h++) {
		host_addr(addr, sizeof addr, b, h);
		fprintf(f, "%s %ld %ld %ld %ld\n", addr, w->host_limit[h], w->host_delay[h],
		        w->host_addrs[h], w->host_doms[h]);
	}
	close_out(f);
}

/* write_conf - strict personas for hosts [lo, hi) into NAME */
static void write_conf(const char *dir, const char *name, const struct world *w, int b, long lo,
                       long hi, long nusers, int banner_delay)
{
	char addr[32];
	FILE *f = open_out(dir, name);

	fprintf(f, "# bench/mailworld.c: hosts %ld..%ld\n", lo, hi - 1);
	for (long h = lo; h < hi; h++) {
		host_addr(addr, sizeof addr, b, h);
		fprintf(f, "%s strict name=h%ld users=", addr, h);
		users(f, nusers);
		if (w->host_delay[h] > 0)
			fprintf(f, " reply_ms=%ld", w->host_delay[h]);
		if (w->host_delay[h] > 0 && banner_delay)
			fprintf(f, " banner_ms=%ld", w->host_delay[h]);
		if (w->host_limit[h] > 0)
			fprintf(f, " max_per_client=%ld", w->host_limit[h]);
		fputc('\n', f);
	}
	close_out(f);
}

static void tally(struct world *w)
{
	for (long d = 0; d < w->ndom; d++) {
		w->host_addrs[w->dom_host[d]] += w->dom_size[d];
		w->host_doms[w->dom_host[d]]++;
	}
}

static long max_size(const struct world *w)
{
	long m = 0;

	for (long d = 0; d < w->ndom; d++)
		if (w->dom_size[d] > m)
			m = w->dom_size[d];
	return m;
}

static void users_fit(long n)
{
	if (n > MW_USERS_MAX) {
		fprintf(stderr, "bench-mailworld: %ld addresses in one domain: at most %d (smtpd's users= "
		        "line bound); use more domains\n", n, MW_USERS_MAX);
		exit(1);
	}
}

/* split N into PARTS sizes as equal as possible into OUT */
static void split_even(long n, long parts, long *out)
{
	for (long i = 0; i < parts; i++)
		out[i] = n / parts + (i < n % parts);
}

static int mode_engine(int argc, char **argv)
{
	struct world w;
	const char *dir = argv[2];
	long naddr, ndom, nhost, inval, per, valid;
	int shuffled;

	if (argc != 8)
		return -1;
	naddr = num(argv[3], 1, 100000000, "ADDRS");
	ndom = num(argv[4], 1, 10000000, "DOMAINS");
	nhost = num(argv[5], 1, MW_HOSTS_MAX, "HOSTS");
	inval = num(argv[6], 0, 1000, "INVALID_PERMILLE");
	if (strcmp(argv[7], "shuffled") == 0)
		shuffled = 1;
	else if (strcmp(argv[7], "sorted") == 0)
		shuffled = 0;
	else
		return -1;
	if (ndom > naddr)
		ndom = naddr;
	world_alloc(&w, ndom, nhost);
	split_even(naddr, ndom, w.dom_size);
	for (long d = 0; d < ndom; d++)
		w.dom_host[d] = d % nhost;
	tally(&w);
	per = max_size(&w);
	valid = per - (per * inval + 999) / 1000;
	users_fit(valid);
	write_list(dir, &w, "eng.test", shuffled);
	write_zone(dir, &w, "eng.test", 1);
	write_hosts(dir, &w, 1);
	write_conf(dir, "smtpd.conf", &w, 1, 0, nhost, valid, 0);
	return 0;
}

static int mode_sessions(int argc, char **argv)
{
	struct world w;
	const char *dir = argv[2];
	long nhost, per, procs, delay;
	char name[64];

	if (argc != 7)
		return -1;
	nhost = num(argv[3], 1, MW_HOSTS_MAX, "HOSTS");
	per = num(argv[4], 1, MW_USERS_MAX, "ADDRS_PER_HOST");
	procs = num(argv[5], 1, 64, "PROCS");
	delay = num(argv[6], 0, 3600000, "REPLY_MS");
	world_alloc(&w, nhost, nhost);
	for (long d = 0; d < nhost; d++) {
		w.dom_host[d] = d;
		w.dom_size[d] = per;
		w.host_delay[d] = delay;
	}
	tally(&w);
	write_list(dir, &w, "sess.test", 1);
	write_zone(dir, &w, "sess.test", 2);
	write_hosts(dir, &w, 2);
	for (long k = 0; k < procs; k++) {
		snprintf(name, sizeof name, "smtpd-%ld.conf", k);
		write_conf(dir, name, &w, 2, nhost * k / procs, nhost * (k + 1) / procs, per, 0);
	}
	return 0;
}

static int mode_sched(int argc, char **argv)
{
	struct world w;
	const char *dir = argv[2];
	long naddr, ndom, nhost, seed, d;
	int balanced;
	double *cap, sum = 0;
	long *share;

	if (argc != 8)
		return -1;
	naddr = num(argv[3], 1, 100000000, "ADDRS");
	ndom = num(argv[4], 1, 10000000, "DOMAINS");
	nhost = num(argv[5], 1, MW_HOSTS_MAX, "HOSTS");
	seed = num(argv[7], 0, 2147483647, "SEED");
	if (strcmp(argv[6], "balanced") == 0)
		balanced = 1;
	else if (strcmp(argv[6], "uniform") == 0)
		balanced = 0;
	else
		return -1;
	if (ndom < nhost)
		ndom = nhost;
	if (naddr < ndom)
		naddr = ndom;
	rng_state ^= (uint64_t)seed * 0x9e3779b97f4a7c15ull;
	world_alloc(&w, ndom, nhost);
	cap = xcalloc((size_t)nhost, sizeof(double));
	share = xcalloc((size_t)nhost, sizeof(long));
	for (long h = 0; h < nhost; h++) {
		w.host_limit[h] = MW_LIMIT_MIN + (long)rng_below(MW_LIMIT_MAX - MW_LIMIT_MIN + 1);
		w.host_delay[h] = MW_DELAY_MIN + (long)rng_below(MW_DELAY_MAX - MW_DELAY_MIN + 1);
		cap[h] = balanced ? (double)w.host_limit[h] / (double)w.host_delay[h] : 1.0;
		sum += cap[h];
	}
	/* Domains per host: 1 each, the rest by capacity (largest remainder). */
	{
		long given = 0;
		double *rem = xcalloc((size_t)nhost, sizeof(double));

		for (long h = 0; h < nhost; h++) {
			double want = (double)(ndom - nhost) * cap[h] / sum;

			share[h] = 1 + (long)want;
			rem[h] = want - (double)(long)want;
			given += share[h];
		}
		while (given < ndom) {
			long best = 0;

			for (long h = 1; h < nhost; h++)
				if (rem[h] > rem[best])
					best = h;
			share[best]++;
			rem[best] = -1;
			given++;
		}
		free(rem);
	}
	d = 0;
	for (long h = 0; h < nhost; h++)
		for (long i = 0; i < share[h]; i++)
			w.dom_host[d++] = h;
	/* Addresses per host: by capacity, at least one per domain; then even over its domains. */
	{
		long given = 0, *hn = xcalloc((size_t)nhost, sizeof(long));

		for (long h = 0; h < nhost; h++) {
			hn[h] = (long)((double)naddr * cap[h] / sum);
			if (hn[h] < share[h])
				hn[h] = share[h];
			given += hn[h];
		}
		for (long h = 0; given < naddr; h = (h + 1) % nhost, given++)
			hn[h]++;
		for (long h = 0; given > naddr; h = (h + 1) % nhost)
			if (hn[h] > share[h]) {
				hn[h]--;
				given--;
			}
		d = 0;
		for (long h = 0; h < nhost; h++) {
			split_even(hn[h], share[h], w.dom_size + d);
			d += share[h];
		}
		free(hn);
	}
	tally(&w);
	users_fit(max_size(&w));
	write_list(dir, &w, "sched.test", 1);
	write_zone(dir, &w, "sched.test", 3);
	write_hosts(dir, &w, 3);
	write_conf(dir, "smtpd.conf", &w, 3, 0, nhost, max_size(&w), 1);
	free(cap);
	free(share);
	return 0;
}

int main(int argc, char **argv)
{
	int rc = -1;

	if (argc >= 3 && strcmp(argv[1], "engine") == 0)
		rc = mode_engine(argc, argv);
	else if (argc >= 3 && strcmp(argv[1], "sessions") == 0)
		rc = mode_sessions(argc, argv);
	else if (argc >= 3 && strcmp(argv[1], "sched") == 0)
		rc = mode_sched(argc, argv);
	if (rc < 0) {
		fprintf(stderr, "usage: bench-mailworld engine DIR ADDRS DOMAINS HOSTS INVALID_PERMILLE sorted|shuffled\n"
		                "       bench-mailworld sessions DIR HOSTS ADDRS_PER_HOST PROCS REPLY_MS\n"
		                "       bench-mailworld sched DIR ADDRS DOMAINS HOSTS balanced|uniform SEED\n");
		return 2;
	}
	return rc;
}
