/*
 * gen - a deterministic, realistic contact list for the benchmark (bench/run.sh).
 *
 * Usage: bench-gen ROWS [SEED] > list.csv
 *
 * Writes a CSV header and ROWS data rows to stdout: the same ROWS and SEED always give the same
 * bytes (own PRNG, no libc rand, no clock, no locale). Every row is a pure function of its row
 * number, so a duplicate can repeat any earlier row's address without keeping the list in
 * memory: memory stays constant whatever ROWS is.
 *
 * The mix, per row:
 *  - 5% duplicates: the address of a random earlier row, half of them in another letter case,
 *    the other columns new (the same person signed up twice); common names and role accounts
 *    at popular domains collide on their own too, ~1.4% more (2M rows: 6.4% duplicates in all);
 *  - 1% bad rows: an address cell that is not an address (no @, two dots, a space, two @, an
 *    empty cell, a stray quote inside the cell, a trailing dot, no local part);
 *  - the rest: about 30% at big free providers (gmail.com weighs most), 70% at ~50,000
 *    generated company domains picked with a Zipf-like law (acme-widgets-123.com, some .co.uk,
 *    .de and others), local parts first.last / flast / first_last123 / ..., about 5% role
 *    accounts (info@, sales@) and about 10% with some capital letters.
 * Company, city and tags cells are sometimes quoted because they hold commas (and, rarely, a
 * doubled quote), as exports from CRMs and spreadsheets are.
 *
 * Never reads input; the only failure is a write error, reported on stderr with exit 1.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GEN_SEED_DEFAULT 20240601u /* the list bench/run.sh measures */
#define GEN_DOMAINS 50000          /* generated company domains */
#define GEN_ZIPF_S 0.9             /* exponent of the company domain popularity law... */
#define GEN_ZIPF_Q 20.0            /* ...and its offset: top domain 0.4%, top 1000 40% of them */
#define GEN_DUP_PERMILLE 50        /* rows that repeat an earlier address */
#define GEN_BAD_PERMILLE 10        /* rows with a broken address cell */
#define GEN_FREE_PERMILLE 300      /* good rows at big free providers */
#define GEN_ROLE_PERMILLE 30       /* company rows that are role accounts */
#define GEN_CAPS_PERMILLE 100      /* addresses written with capital letters */
#define GEN_CELL_MAX 256           /* longest generated cell, bytes */

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- PRNG: PCG32 (O'Neill), seeded per row with splitmix64 ---- */

struct rng {
	uint64_t state;
	uint64_t inc;
};

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint32_t rng_next(struct rng *r)
{
	uint64_t old = r->state;
	uint32_t xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27);
	uint32_t rot = (uint32_t)(old >> 59);

	r->state = old * 6364136223846793005ull + r->inc;
	return (xorshifted >> rot) | (xorshifted << ((32 - rot) & 31));
}

/* rng_for - the stream of row ROW, purpose STREAM: independent of every other row */
static void rng_for(struct rng *r, uint64_t seed, uint64_t row, uint64_t stream)
{
	r->state = splitmix64(seed ^ splitmix64(row * 4 + stream));
	r->inc = (splitmix64(r->state + stream) << 1) | 1;
	rng_next(r);
}

/* rng_below - uniform in [0, n) (n small: the modulo bias is negligible here) */
static uint32_t rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)(((uint64_t)rng_next(r) * n) >> 32);
}

static double rng_unit(struct rng *r)
{
	return (double)rng_next(r) / 4294967296.0;
}

/* ---- vocabularies ---- */

static const char *const first_names[] = {
	"james", "mary", "john", "patricia", "robert", "jennifer", "michael", "linda", "william",
	"elizabeth", "david", "barbara", "richard", "susan", "joseph", "jessica", "thomas", "sarah",
	"charles", "karen", "chris", "nancy", "daniel", "lisa", "matthew", "betty", "anthony",
	"margaret", "mark", "sandra", "donald", "ashley", "steven", "kimberly", "paul", "emily",
	"andrew", "donna", "joshua", "michelle", "kenneth", "dorothy", "kevin", "carol", "brian",
	"amanda", "george", "melissa", "edward", "deborah", "ronald", "stephanie", "timothy",
	"rebecca", "jason", "sharon", "jeffrey", "laura", "ryan", "cynthia", "jacob", "kathleen",
	"gary", "amy", "nicholas", "shirley", "eric", "angela", "jonathan", "helen", "stephen",
	"anna", "larry", "brenda", "justin", "pamela", "scott", "nicole", "brandon", "emma",
	"benjamin", "samantha", "samuel", "katherine", "frank", "christine", "gregory", "debra",
	"raymond", "rachel", "alexander", "catherine", "patrick", "carolyn", "jack", "janet",
	"dennis", "ruth", "jerry", "maria", "tyler", "heather", "aaron", "diane", "jose", "virginia",
	"adam", "julie", "henry", "joyce", "nathan", "victoria", "douglas", "olivia", "zachary",
	"kelly", "peter", "christina", "kyle", "lauren", "walter", "joan", "ethan", "evelyn",
	"jeremy", "judith", "harold", "megan", "keith", "cheryl", "christian", "andrea", "roger",
	"hannah", "noah", "martha", "gerald", "jacqueline", "carl", "frances", "terry", "gloria",
	"sean", "ann", "austin", "teresa", "arthur", "kathryn", "lawrence", "sara", "jesse", "janice",
	"dylan", "jean", "bryan", "alice", "joe", "madison", "jordan", "doris", "billy", "abigail",
	"bruce", "julia", "albert", "judy", "willie", "grace", "gabriel", "denise", "logan", "amber",
	"alan", "marilyn", "juan", "beverly", "wayne", "danielle", "roy", "theresa", "ralph",
	"sophia", "randy", "marie", "eugene", "diana", "vincent", "brittany", "russell", "natalie",
	"elijah", "isabella", "louis", "charlotte", "bobby", "rose", "philip", "alexis", "johnny",
	"kayla", "lukas", "lena", "jonas", "mia", "felix", "leonie", "maximilian", "hannes", "oliver",
	"amelia", "harry", "isla", "george", "ava", "liam", "chloe", "lucas", "ines", "hugo", "lea",
};

static const char *const last_names[] = {
	"smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "rodriguez",
	"martinez", "hernandez", "lopez", "gonzalez", "wilson", "anderson", "thomas", "taylor",
	"moore", "jackson", "martin", "lee", "perez", "thompson", "white", "harris", "sanchez",
	"clark", "ramirez", "lewis", "robinson", "walker", "young", "allen", "king", "wright",
	"scott", "torres", "nguyen", "hill", "flores", "green", "adams", "nelson", "baker", "hall",
	"rivera", "campbell", "mitchell", "carter", "roberts", "gomez", "phillips", "evans",
	"turner", "diaz", "parker", "cruz", "edwards", "collins", "reyes", "stewart", "morris",
	"morales", "murphy", "cook", "rogers", "gutierrez", "ortiz", "morgan", "cooper", "peterson",
	"bailey", "reed", "kelly", "howard", "ramos", "kim", "cox", "ward", "richardson", "watson",
	"brooks", "chavez", "wood", "james", "bennett", "gray", "mendoza", "ruiz", "hughes", "price",
	"alvarez", "castillo", "sanders", "patel", "myers", "long", "ross", "foster", "jimenez",
	"powell", "jenkins", "perry", "russell", "sullivan", "bell", "coleman", "butler",
	"henderson", "barnes", "gonzales", "fisher", "vasquez", "simmons", "romero", "jordan",
	"patterson", "alexander", "hamilton", "graham", "reynolds", "griffin", "wallace", "moreno",
	"west", "cole", "hayes", "bryant", "herrera", "gibson", "ellis", "tran", "medina", "aguilar",
	"stevens", "murray", "ford", "castro", "marshall", "owens", "harrison", "fernandez",
	"mcdonald", "woods", "washington", "kennedy", "wells", "vargas", "henry", "chen", "freeman",
	"webb", "tucker", "guzman", "burns", "crawford", "olson", "simpson", "porter", "hunter",
	"gordon", "mendez", "silva", "shaw", "snyder", "mason", "dixon", "munoz", "hunt", "hicks",
	"holmes", "palmer", "wagner", "black", "robertson", "boyd", "rose", "stone", "salazar", "fox",
	"warren", "mills", "meyer", "rice", "schmidt", "garza", "daniels", "ferguson", "nichols",
	"stephens", "soto", "weaver", "ryan", "gardner", "payne", "grant", "dunn", "kelley",
	"spencer", "hawkins", "arnold", "pierce", "vazquez", "hansen", "peters", "santos", "hart",
	"bradley", "knight", "elliott", "cunningham", "duncan", "armstrong", "hudson", "carroll",
	"lane", "riley", "andrews", "alvarado", "ray", "delgado", "berry", "perkins", "hoffman",
	"johnston", "matthews", "pena", "richards", "contreras", "willis", "carpenter", "lawrence",
	"sandoval", "mueller", "schneider", "fischer", "weber", "becker", "schulz", "koch", "richter",
	"klein", "wolf", "neumann", "schwarz", "zimmermann", "braun", "hofmann", "hartmann", "krause",
	"oconnor", "obrien", "walsh", "byrne", "mccarthy", "dubois", "moreau", "laurent", "lefebvre",
};

/* Big free providers, most used first; weights in permille of free-provider rows. */
static const struct {
	const char *domain;
	int weight;
} free_domains[] = {
	{"gmail.com", 430}, {"yahoo.com", 140}, {"hotmail.com", 110}, {"outlook.com", 70},
	{"aol.com", 40},    {"icloud.com", 40}, {"live.com", 25},     {"msn.com", 15},
	{"gmx.de", 20},     {"web.de", 20},     {"yahoo.co.uk", 15},  {"hotmail.co.uk", 10},
	{"btinternet.com", 8}, {"comcast.net", 12}, {"protonmail.com", 10}, {"mail.ru", 10},
	{"orange.fr", 10},  {"t-online.de", 10}, {"googlemail.com", 5},
};

static const char *const company_words[] = {
	"acme", "widgets", "global", "tech", "solutions", "systems", "data", "cloud", "green",
	"blue", "river", "mountain", "north", "south", "east", "west", "alpha", "beta", "delta",
	"omega", "prime", "united", "national", "metro", "city", "bright", "smart", "digital",
	"media", "labs", "works", "group", "partners", "consulting", "logistics", "energy", "health",
	"foods", "motors", "design", "studio", "capital", "finance", "legal", "build", "home",
	"garden", "sports", "travel", "print", "net", "soft", "micro", "mega", "star", "sun",
	"oak", "pine", "stone", "iron", "silver", "golden", "red", "black", "white", "fast",
	"clear", "pure", "first", "next", "nova", "vista", "apex", "summit", "harbor", "bay",
	"lake", "valley", "bridge", "tower", "castle", "crown", "eagle", "falcon", "lion", "wolf",
	"bear", "fox", "atlas", "titan", "orbit", "pixel", "quantum", "vector", "signal", "pulse",
};

static const char *const company_suffix[] = {
	"", "", " Ltd", " GmbH", ", Inc.", " LLC", ", Ltd.", " AG", " Corp", " & Co",
};

static const char *const role_parts[] = {
	"info", "sales", "support", "admin", "contact", "office", "hello", "marketing", "billing",
	"hr", "jobs", "team", "service", "webmaster", "noreply",
};

static const char *const countries[] = {"US", "US", "US", "US", "CA", "AU", "FR", "NL", "ES",
                                        "IT", "SE", "IE", "BR", "IN", "MX", "PL"};

static const char *const cities[] = {
	"New York", "Los Angeles", "Chicago", "Houston", "Phoenix", "Philadelphia", "San Antonio",
	"San Diego", "Dallas", "Austin", "London", "Manchester", "Berlin", "Munich", "Hamburg",
	"Paris", "Toronto", "Sydney", "Amsterdam", "Madrid", "Washington, D.C.", "Portland, OR",
	"Portland, ME", "Springfield", "", "",
};

static const char *const tags[] = {
	"", "", "", "newsletter", "customer", "lead", "newsletter,promo", "customer,vip",
	"lead,webinar,2023", "trial", "partner,reseller", "event \"Summit\" 2022",
};

/* ---- the company domains ---- */

static double zipf_cdf[GEN_DOMAINS]; /* cumulative popularity of company domains by rank */

static void zipf_init(void)
{
	double sum = 0;

	for (size_t k = 0; k < GEN_DOMAINS; k++)
		sum += 1.0 / pow((double)k + 1.0 + GEN_ZIPF_Q, GEN_ZIPF_S);
	double acc = 0;
	for (size_t k = 0; k < GEN_DOMAINS; k++) {
		acc += 1.0 / pow((double)k + 1.0 + GEN_ZIPF_Q, GEN_ZIPF_S) / sum;
		zipf_cdf[k] = acc;
	}
	zipf_cdf[GEN_DOMAINS - 1] = 1.0;
}

/* zipf_pick - a company domain rank, popular ranks more often */
static size_t zipf_pick(struct rng *r)
{
	double u = rng_unit(r);
	size_t lo = 0, hi = GEN_DOMAINS - 1;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (zipf_cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct company {
	char domain[96];  /* acme-widgets-123.com */
	char name[96];    /* Acme Widgets 123 GmbH */
	const char *tld;  /* the country it suggests, or NULL */
};

/* company_of - the domain and name of company RANK: a pure function of the rank */
static void company_of(size_t rank, uint64_t seed, struct company *c)
{
	static const struct {
		const char *tld;
		const char *country;
		int weight;
	} tlds[] = {{"com", NULL, 760}, {"co.uk", "GB", 70}, {"de", "DE", 60}, {"net", NULL, 40},
	            {"io", NULL, 25},   {"org", NULL, 20},   {"fr", "FR", 15}, {"com.au", "AU", 10}};
	struct rng r;
	const char *w1, *w2;
	uint32_t t;
	size_t i = 0;
	char word1[32], word2[32];

	rng_for(&r, seed, rank, 3);
	w1 = company_words[rng_below(&r, NELEM(company_words))];
	w2 = company_words[rng_below(&r, NELEM(company_words))];
	t = rng_below(&r, 1000);
	while (i + 1 < NELEM(tlds) && t >= (uint32_t)tlds[i].weight) {
		t -= (uint32_t)tlds[i].weight;
		i++;
	}
	c->tld = tlds[i].country;
	snprintf(c->domain, sizeof c->domain, "%s-%s-%zu.%s", w1, w2, rank + 1, tlds[i].tld);
	snprintf(word1, sizeof word1, "%s", w1);
	snprintf(word2, sizeof word2, "%s", w2);
	word1[0] = (char)(word1[0] - 'a' + 'A');
	word2[0] = (char)(word2[0] - 'a' + 'A');
	snprintf(c->name, sizeof c->name, "%s %s %zu%s", word1, word2, rank + 1,
	         company_suffix[rng_below(&r, NELEM(company_suffix))]);
}

/* ---- rows ---- */

enum row_kind { ROW_NORMAL, ROW_DUP, ROW_BAD };

struct person {
	char email[GEN_CELL_MAX];
	char first[64];
	char last[64];
	char company[128];
	const char *country;
};

static enum row_kind kind_of(uint64_t seed, uint64_t row)
{
	struct rng r;
	uint32_t p;

	rng_for(&r, seed, row, 0);
	p = rng_below(&r, 1000);
	if (row > 1 && p < GEN_DUP_PERMILLE)
		return ROW_DUP;
	if (p < GEN_DUP_PERMILLE + GEN_BAD_PERMILLE)
		return ROW_BAD;
	return ROW_NORMAL;
}

static void capitalize(char *s)
{
	if (*s >= 'a' && *s <= 'z')
		*s = (char)(*s - 'a' + 'A');
}

/* person_of - the person of row ROW (names, company, address): a pure function of the row */
static void person_of(uint64_t seed, uint64_t row, struct person *p)
{
	struct rng r;
	const char *f, *l, *domain;
	struct company c;
	char local[128];
	uint32_t u;
	int corporate;

	rng_for(&r, seed, row, 1);
	f = first_names[rng_below(&r, NELEM(first_names))];
	l = last_names[rng_below(&r, NELEM(last_names))];
	snprintf(p->first, sizeof p->first, "%s", f);
	snprintf(p->last, sizeof p->last, "%s", l);
	capitalize(p->first);
	capitalize(p->last);
	p->country = countries[rng_below(&r, NELEM(countries))];

	corporate = rng_below(&r, 1000) >= GEN_FREE_PERMILLE;
	if (corporate) {
		company_of(zipf_pick(&r), seed, &c);
		domain = c.domain;
		if (c.tld)
			p->country = c.tld;
		snprintf(p->company, sizeof p->company, "%s", c.name);
	} else {
		u = rng_below(&r, 1000);
		size_t i = 0;
		while (i + 1 < NELEM(free_domains) && u >= (uint32_t)free_domains[i].weight) {
			u -= (uint32_t)free_domains[i].weight;
			i++;
		}
		domain = free_domains[i].domain;
		/* A third leave the company empty; the others name any company. */
		p->company[0] = '\0';
		if (rng_below(&r, 3) != 0) {
			company_of(zipf_pick(&r), seed, &c);
			snprintf(p->company, sizeof p->company, "%s", c.name);
		}
	}

	u = rng_below(&r, 1000);
	if (corporate && u < GEN_ROLE_PERMILLE) {
		snprintf(local, sizeof local, "%s", role_parts[rng_below(&r, NELEM(role_parts))]);
	} else {
		/* Free providers: most names are taken, so most addresses carry a number. */
		unsigned num = corporate ? (rng_below(&r, 10) == 0 ? rng_below(&r, 100) : 0)
		                         : (rng_below(&r, 20) < 17 ? rng_below(&r, 100000) : 0);
		char nbuf[16] = "";
		if (num > 0)
			snprintf(nbuf, sizeof nbuf, "%u", num);
		switch (rng_below(&r, 10)) {
		case 0: case 1: case 2: case 3:
			snprintf(local, sizeof local, "%s.%s%s", f, l, nbuf);
			break;
		case 4: case 5:
			snprintf(local, sizeof local, "%c%s%s", f[0], l, nbuf);
			break;
		case 6:
			snprintf(local, sizeof local, "%s_%s%s", f, l, nbuf[0] ? nbuf : "123");
			break;
		case 7:
			snprintf(local, sizeof local, "%s%s%s", f, l, nbuf);
			break;
		case 8:
			snprintf(local, sizeof local, "%s%c%s", f, l[0], nbuf);
			break;
		default:
			snprintf(local, sizeof local, "%s.%s+%s", f, l,
			         rng_below(&r, 2) ? "news" : "shop");
			break;
		}
	}
	snprintf(p->email, sizeof p->email, "%s@%s", local, domain);
	if (rng_below(&r, 1000) < GEN_CAPS_PERMILLE) {
		/* John.Smith@Gmail.com, or all in capitals now and then. */
		if (rng_below(&r, 5) == 0) {
			for (char *s = p->email; *s; s++)
				if (*s >= 'a' && *s <= 'z')
					*s = (char)(*s - 'a' + 'A');
		} else {
			capitalize(p->email);
			char *dot = strchr(p->email, '.');
			char *at = strchr(p->email, '@');
			if (dot && at && dot < at)
				capitalize(dot + 1);
			if (at)
				capitalize(at + 1);
		}
	}
}

/* recase - the same address in other letter cases (a duplicate typed differently) */
static void recase(struct rng *r, char *s)
{
	uint32_t how = rng_below(r, 3);

	for (; *s; s++) {
		if (how == 0 && *s >= 'a' && *s <= 'z')
			*s = (char)(*s - 'a' + 'A');
		else if (how == 1 && *s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
		else if (how == 2 && ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')) &&
		         rng_below(r, 4) == 0)
			*s = (char)(*s ^ 0x20);
	}
}

/* set_email - P's address cell from S, cut to GEN_CELL_MAX - 1 bytes */
static void set_email(struct person *p, const char *s)
{
	size_t n = strlen(s);

	if (n >= sizeof p->email)
		n = sizeof p->email - 1;
	memmove(p->email, s, n);
	p->email[n] = '\0';
}

/* break_address - make P's address cell invalid in one of the ways real lists are */
static void break_address(struct rng *r, struct person *p)
{
	char tmp[2 * GEN_CELL_MAX];
	char *at = strchr(p->email, '@');
	size_t n = strlen(p->email);

	if (at == NULL)
		return;
	switch (rng_below(r, 8)) {
	case 0: /* missing @ */
		memmove(at, at + 1, strlen(at + 1) + 1);
		break;
	case 1: /* double dot in the domain */
		snprintf(tmp, sizeof tmp, "%.*s..%s", (int)(strchr(at, '.') - p->email),
		         p->email, strchr(at, '.') + 1);
		set_email(p, tmp);
		break;
	case 2: /* a space inside */
		snprintf(tmp, sizeof tmp, "%s %s", p->first, p->email);
		set_email(p, tmp);
		break;
	case 3: /* empty cell */
		p->email[0] = '\0';
		break;
	case 4: /* a stray quote inside an unquoted cell */
		snprintf(tmp, sizeof tmp, "%.*s\"%s", (int)(at - p->email), p->email, at);
		set_email(p, tmp);
		break;
	case 5: /* two @ */
		snprintf(tmp, sizeof tmp, "%.*s@mail@%s", (int)(at - p->email), p->email, at + 1);
		set_email(p, tmp);
		break;
	case 6: /* trailing dot */
		if (n + 2 < sizeof p->email) {
			p->email[n] = '.';
			p->email[n + 1] = '\0';
		}
		break;
	default: /* no local part */
		memmove(p->email, at, strlen(at) + 1);
		break;
	}
}

/* put_cell - one CSV cell, quoted when it needs to be (RFC 4180) */
static void put_cell(FILE *out, const char *s, int first)
{
	if (!first)
		putc(',', out);
	if (strpbrk(s, ",\"\r\n") == NULL || (strchr(s, '"') && !strpbrk(s, ",\r\n") &&
	                                      strchr(s, '@'))) {
		/* Plain, or an address cell with a stray quote: written as it is, on purpose. */
		fputs(s, out);
		return;
	}
	putc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			putc('"', out);
		putc(*s, out);
	}
	putc('"', out);
}

static void write_row(FILE *out, uint64_t seed, uint64_t row)
{
	struct person p;
	struct rng r;
	enum row_kind kind = kind_of(seed, row);
	char date[16], phone[32];

	rng_for(&r, seed, row, 2);
	if (kind == ROW_DUP) {
		uint64_t earlier;
		/* A duplicate repeats a row that was itself written as a good row. */
		do {
			/* Half the repeats are close by (a list appended twice), half anywhere. */
			if (rng_below(&r, 2) && row > 1000)
				earlier = row - 1 - rng_below(&r, 1000);
			else
				earlier = 1 + (uint64_t)(rng_unit(&r) * (double)(row - 1));
		} while (kind_of(seed, earlier) != ROW_NORMAL);
		person_of(seed, earlier, &p);
		if (rng_below(&r, 2))
			recase(&r, p.email);
	} else {
		person_of(seed, row, &p);
		if (kind == ROW_BAD)
			break_address(&r, &p);
	}
	snprintf(date, sizeof date, "%04u-%02u-%02u", 2015 + rng_below(&r, 10),
	         1 + rng_below(&r, 12), 1 + rng_below(&r, 28));
	if (rng_below(&r, 4) == 0)
		phone[0] = '\0';
	else
		snprintf(phone, sizeof phone, "+1 %03u-555-%04u", 200 + rng_below(&r, 800),
		         rng_below(&r, 10000));

	put_cell(out, p.email, 1);
	put_cell(out, p.first, 0);
	put_cell(out, p.last, 0);
	put_cell(out, p.company, 0);
	put_cell(out, date, 0);
	put_cell(out, p.country, 0);
	put_cell(out, cities[rng_below(&r, NELEM(cities))], 0);
	put_cell(out, phone, 0);
	put_cell(out, tags[rng_below(&r, NELEM(tags))], 0);
	putc('\n', out);
}

int main(int argc, char **argv)
{
	static char buf[1 << 16];
	unsigned long long rows;
	uint64_t seed = GEN_SEED_DEFAULT;
	char *end;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: bench-gen ROWS [SEED] > list.csv\n");
		return 2;
	}
	rows = strtoull(argv[1], &end, 10);
	if (*argv[1] == '\0' || *end != '\0') {
		fprintf(stderr, "bench-gen: ROWS must be a number, not \"%s\"\n", argv[1]);
		return 2;
	}
	if (argc == 3) {
		seed = strtoull(argv[2], &end, 10);
		if (*argv[2] == '\0' || *end != '\0') {
			fprintf(stderr, "bench-gen: SEED must be a number, not \"%s\"\n", argv[2]);
			return 2;
		}
	}
	setvbuf(stdout, buf, _IOFBF, sizeof buf);
	zipf_init();
	fputs("email,first_name,last_name,company,signup_date,country,city,phone,tags\n", stdout);
	for (uint64_t row = 1; row <= rows; row++)
		write_row(stdout, seed, row);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("bench-gen: write");
		return 1;
	}
	return 0;
}
