/*
 * test_suggest - "did you mean" table: typos that must be fixed, real domains that must be left
 * alone (the false positives a list cleaner cannot afford), and the bounds of OUT.
 */
#include <string.h>

#include "importers/suggest.h"
#include "tests/check.h"

struct suggest_row {
	const char *domain;
	const char *want;  /* NULL: no suggestion */
};

static void run_rows(const struct suggest_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char out[256];
		int got = suggest_domain(rows[i].domain, out, sizeof out);

		CHECK_INT(got, rows[i].want != NULL, rows[i].domain);
		CHECK_STR(out, rows[i].want ? rows[i].want : "", rows[i].domain);
	}
}

/* the cases the design asks for */
static void test_required(void)
{
	static const struct suggest_row rows[] = {
		{"gmial.com", "gmail.com"},
		{"gmai.com", "gmail.com"},
		{"gmail.con", "gmail.com"},
		{"gmail.co", "gmail.com"},
		{"gamil.com", "gmail.com"},
		{"hotmial.com", "hotmail.com"},
		{"hotmail.cmo", "hotmail.com"},
		{"yahoo.co", "yahoo.com"},
		{"yaho.com", "yahoo.com"},
		{"outlok.com", "outlook.com"},
		{"iclod.com", "icloud.com"},
		{"gmail.com", NULL},
		{"example.com", NULL},
		{"mycompany.com", NULL},
		{"gmx.de", NULL},
		{"mail.ru", NULL},
		{"international-widget-manufacturing-holdings.com", NULL},
		{"a.io", NULL},
		{"yahoo.co.jp", NULL},
		{"hotmail.fr", NULL},
		{"gmail.de", NULL},  /* a real TLD, three edits from .com: see suggest.c */
	};

	run_rows(rows, sizeof rows / sizeof rows[0]);
}

/* more typos: name slips, suffix slips, both at once, regional providers */
static void test_typos(void)
{
	static const struct suggest_row rows[] = {
		{"gmal.com", "gmail.com"},
		{"gmaill.com", "gmail.com"},
		{"gnail.com", "gmail.com"},
		{"mgail.com", "gmail.com"},          /* first two letters swapped */
		{"gmail.cm", "gmail.com"},
		{"gmail.om", "gmail.com"},
		{"gmail.comm", "gmail.com"},
		{"gmail.ocm", "gmail.com"},
		{"gmial.con", "gmail.com"},          /* one name and one suffix edit */
		{"gemail.co", "gmail.com"},
		{"hitmail.com", "hotmail.com"},
		{"hotmail.co", "hotmail.com"},       /* .com (one edit) beats .co.uk (three) */
		{"hotmail.co.ul", "hotmail.co.uk"},
		{"hotmal.co.uk", "hotmail.co.uk"},
		{"yahooo.com", "yahoo.com"},
		{"yhaoo.com", "yahoo.com"},
		{"yahoo.cm", "yahoo.com"},
		{"outlook.co", "outlook.com"},
		{"iclould.com", "icloud.com"},
		{"icloud.con", "icloud.com"},
		{"comcast.nt", "comcast.net"},
		{"verizon.ner", "verizon.net"},
		{"sbcglbal.net", "sbcglobal.net"},
		{"btinternt.com", "btinternet.com"},
		{"googlemial.com", "googlemail.com"},
		{"protonmial.com", "protonmail.com"},
		{"aol.co", "aol.com"},               /* a short name: only its suffix is fixed */
		{"aol.con", "aol.com"},
		{"me.con", "me.com"},
		{"qq.con", "qq.com"},
		{"gmx.dr", "gmx.de"},                /* dr is no TLD */
		{"yandex.ry", "yandex.ru"},
		{"wanadoo.fe", "wanadoo.fr"},
		{"GMIAL.COM", "gmail.com"},          /* case ignored */
		{"gmial.com.", "gmail.com"},         /* trailing dot ignored */
		{"hotmial.fr", "hotmail.fr"},        /* many-country provider, real suffix kept */
		{"yahooo.co.jp", "yahoo.co.jp"},
		{"outlok.de", "outlook.de"},
		{"hotmial.frr", "hotmail.fr"},
		{"mycompany.con", "mycompany.com"},  /* a TLD that does not exist */
		{"mycompany.cmo", "mycompany.com"},
		{"mycompany.ogr", "mycompany.org"},
		{"mycompany.nte", "mycompany.net"},
		{"mycompany.co.ukk", "mycompany.co.uk"},
		{"mail.mycompany.con", "mail.mycompany.com"},
	};

	run_rows(rows, sizeof rows / sizeof rows[0]);
}

/* real domains close to popular ones: never "corrected" */
static void test_no_false_positive(void)
{
	static const struct suggest_row rows[] = {
		{"googlemail.com", NULL},
		{"yahoo.co.uk", NULL},
		{"yahoo.de", NULL},
		{"yahoo.ca", NULL},
		{"live.ca", NULL},                   /* .ca is two edits from .com */
		{"hotmail.ca", NULL},
		{"hotmail.co.jp", NULL},             /* co.jp is two edits from co.uk */
		{"yahoo.co.in", NULL},
		{"yahoo.com.au", NULL},
		{"yahoo.cn", NULL},
		{"outlook.de", NULL},
		{"gmx.at", NULL},                    /* one country TLD for another: real domains */
		{"gmx.ch", NULL},
		{"gmx.be", NULL},
		{"web.se", NULL},
		{"uol.com.bt", NULL},
		{"att.com", NULL},                   /* AT&T's own, not att.net */
		{"verizon.com", NULL},
		{"comcast.com", NULL},
		{"gmail.co.uk", NULL},
		{"gmail.net", NULL},
		{"gmial.de", NULL},                  /* gmail.de is no target either */
		{"email.com", NULL},                 /* other first letter */
		{"wahoo.com", NULL},
		{"ymail.com", NULL},
		{"y7mail.com", NULL},
		{"hotmart.com", NULL},               /* two edits from hotmail */
		{"prontomail.com", NULL},            /* two edits from protonmail */
		{"aok.com", NULL},                   /* short names are never edited */
		{"gmc.com", NULL},
		{"wdr.de", NULL},
		{"mac.co.uk", NULL},
		{"live.co.za", NULL},
		{"mycompany.co", NULL},              /* .co exists */
		{"mycompany.cm", NULL},
		{"mycompany.cam", NULL},
		{"mycompany.co.za", NULL},           /* za exists though only co.za is listed */
		{"startup.io", NULL},
		{"shop.store", NULL},
		{"hotmail.store", NULL},
		{"htmail.store", NULL},              /* providers' names only under ccTLDs and com */
		{"hotmial.mycompany.com", NULL},     /* only directly under a public suffix */
		{"mail.gmial.com", NULL},
		{"xn--instgram-cza.com", NULL},
		{"x.c", NULL},                       /* one-letter TLD: too short to guess */
	};

	run_rows(rows, sizeof rows / sizeof rows[0]);
}

static void test_bad_input(void)
{
	static const struct suggest_row rows[] = {
		{"", NULL},
		{".", NULL},
		{"gmail", NULL},
		{".gmial.com", NULL},
		{"gmial..com", NULL},
		{"gmial.com..", NULL},
		{"gm ial.com", NULL},
		{"gmïal.com", NULL},                 /* U-labels are not expected: A-labels are */
		{"gmial@com", NULL},
	};
	char out[64];
	char big[400];

	run_rows(rows, sizeof rows / sizeof rows[0]);
	CHECK_INT(suggest_domain(NULL, out, sizeof out), 0, "NULL domain");
	CHECK_STR(out, "", "NULL domain");
	CHECK_INT(suggest_domain("gmial.com", NULL, 0), 0, "NULL out");
	/* over 255 octets: no suggestion, no overflow */
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	memcpy(big + sizeof big - 5, ".con", 5);
	CHECK_INT(suggest_domain(big, out, sizeof out), 0, "400 octets");
	/* 255 octets is still a domain: its TLD is fixed, if OUT has room */
	{
		char out2[300];
		const char *d = big + sizeof big - 1 - 255;

		CHECK_INT(suggest_domain(d, out2, sizeof out2), 1, "255 octets");
		CHECK_INT(strlen(out2), 255, "255 octets: length");
		CHECK_INT(suggest_domain(d, out, sizeof out), 0, "255 octets, small out");
		CHECK_STR(out, "", "255 octets, small out");
	}
}

static void test_out_bounds(void)
{
	char out[16];

	/* exactly enough: "gmail.com" and its NUL */
	memset(out, 'x', sizeof out);
	CHECK_INT(suggest_domain("gmial.com", out, 10), 1, "outlen 10");
	CHECK_STR(out, "gmail.com", "outlen 10");
	CHECK(out[10] == 'x', "wrote past outlen 10");
	/* one short: nothing, OUT empty, nothing written past OUTLEN */
	memset(out, 'x', sizeof out);
	CHECK_INT(suggest_domain("gmial.com", out, 9), 0, "outlen 9");
	CHECK_STR(out, "", "outlen 9");
	CHECK(out[9] == 'x', "wrote past outlen 9");
	memset(out, 'x', sizeof out);
	CHECK_INT(suggest_domain("mycompany.con", out, 13), 0, "outlen 13, rule 2");
	CHECK(out[0] == '\0' && out[13] == 'x', "outlen 13, rule 2: out");
	memset(out, 'x', sizeof out);
	CHECK_INT(suggest_domain("gmial.com", out, 1), 0, "outlen 1");
	CHECK(out[0] == '\0' && out[1] == 'x', "outlen 1: out");
}

TESTS(test_required, test_typos, test_no_false_positive, test_bad_input, test_out_bounds)
