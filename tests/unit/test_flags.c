/*
 * test_flags - role / disposable / free flags against the real generated lists (build/gen/lists.c
 * from importers/data/{role,disposable,free}.txt), so a list update that drops a well-known entry,
 * or a lists.c that is not sorted for bsearch, fails here.
 */
#include <string.h>

#include "importers/flags.h"
#include "schema/verdict.h"
#include "tests/check.h"

static void test_role(void)
{
	static const struct {
		const char *local;
		int want;
	} rows[] = {
		{"info", 1},
		{"INFO", 1},
		{"Info", 1},
		{"info+newsletter", 1},  /* sub-address tag cut off */
		{"Sales+2024+q1", 1},    /* cut at the first '+' */
		{"admin", 1},
		{"postmaster", 1},
		{"noreply", 1},
		{"no-reply", 1},
		{"support", 1},
		{"webmaster", 1},
		{"abuse", 1},
		{"customer.service", 1},
		{"john", 0},
		{"john.smith", 0},
		{"john+info", 0},        /* the tag is not the mailbox */
		{"+info", 0},            /* nothing before the tag */
		{"infos", 0},
		{"inf", 0},
		{"alexa", 0},            /* a given name: excluded from the upstream list on purpose */
		{"gardner", 0},          /* a surname: likewise */
		{"", 0},
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		CHECK_INT(flags_is_role(rows[i].local), rows[i].want, rows[i].local);
	CHECK_INT(flags_is_role(NULL), 0, "NULL");
}

static void test_role_long(void)
{
	char local[200];

	/* over the 64-octet local-part limit: not a role, and no overflow */
	memset(local, 'a', sizeof local - 1);
	local[sizeof local - 1] = '\0';
	CHECK_INT(flags_is_role(local), 0, "200 octets");
	/* a long tag after a role name is fine */
	memcpy(local, "info+", 5);
	CHECK_INT(flags_is_role(local), 1, "info+<long tag>");
}

static void test_domain(void)
{
	static const struct {
		const char *domain;
		unsigned want;
	} rows[] = {
		{"mailinator.com", FLAG_DISPOSABLE},
		{"foo.mailinator.com", FLAG_DISPOSABLE},      /* subdomain of a listed domain */
		{"a.b.mailinator.com", FLAG_DISPOSABLE},
		{"MAILINATOR.COM", FLAG_DISPOSABLE},
		{"mailinator.com.", FLAG_DISPOSABLE},         /* trailing dot */
		{"guerrillamail.com", FLAG_DISPOSABLE},
		{"yopmail.com", FLAG_DISPOSABLE},
		{"10minutemail.com", FLAG_DISPOSABLE},        /* on both upstream lists: disposable only */
		{"xn--instgram-cza.com", FLAG_DISPOSABLE},    /* instágram.com, an IDN entry as A-label */
		{"mailinator.co", 0},
		{"amailinator.com", 0},                    /* a suffix match of the string is not a parent */
		{"gmail.com", FLAG_FREE},
		{"googlemail.com", FLAG_FREE},
		{"yahoo.com", FLAG_FREE},
		{"outlook.com", FLAG_FREE},
		{"gmx.de", FLAG_FREE},
		{"mail.ru", FLAG_FREE},
		{"yahoo.co.uk", FLAG_FREE},                   /* registrable under co.uk */
		{"mail.yahoo.co.uk", FLAG_FREE},
		{"snapwet.com", FLAG_FREE},
		{"asm.snapwet.com", FLAG_DISPOSABLE},         /* disposable host under a free domain */
		{"x.co.uk", 0},                               /* co.uk is a suffix, never an entry */
		{"co.uk", 0},
		{"edu.pl", FLAG_DISPOSABLE},                  /* listed upstream, and a public suffix: */
		{"uw.edu.pl", 0},                             /* its registrants are not covered */
		{"student.uw.edu.pl", 0},
		{"example.com", 0},
		{"mycompany.de", 0},
		{"mail.bigcorp-industries.com", 0},
		{"com", 0},
		{"localhost", 0},
		{"", 0},
		{".", 0},
		{"a..b", 0},
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		CHECK_INT(flags_domain(rows[i].domain), rows[i].want, rows[i].domain);
	CHECK_INT(flags_domain(NULL), 0, "NULL");
}

static void test_domain_long(void)
{
	char d[400];

	/* over the 255-octet domain limit: nothing, and no overflow */
	memset(d, 'a', sizeof d - 1);
	d[sizeof d - 1] = '\0';
	memcpy(d + sizeof d - 16, ".mailinator.com", 16);
	CHECK_INT(flags_domain(d), 0, "400 octets");
	/* 255 octets exactly still counts */
	CHECK_INT(flags_domain(d + sizeof d - 1 - 255), FLAG_DISPOSABLE, "255 octets");
}

static void test_for(void)
{
	CHECK_INT(flags_for("info", "gmail.com"), FLAG_ROLE | FLAG_FREE, "info@gmail.com");
	CHECK_INT(flags_for("Sales+x", "foo.mailinator.com"), FLAG_ROLE | FLAG_DISPOSABLE,
		  "Sales+x@foo.mailinator.com");
	CHECK_INT(flags_for("jane.doe", "example.com"), 0, "jane.doe@example.com");
	CHECK_INT(flags_for("jane.doe", "GMAIL.com"), FLAG_FREE, "jane.doe@GMAIL.com");
	CHECK_INT(flags_for("admin", "bigcorp.example"), FLAG_ROLE, "admin@bigcorp.example");
	CHECK_INT(flags_for(NULL, NULL), 0, "NULL, NULL");
}

/* check_list - LIST is strictly increasing under strcmp (what bsearch needs), lowercase,
 * without blanks or '#' */
static void check_list(const char *name, const char *const *list, size_t n, size_t min)
{
	CHECK(n >= min, "%s: %zu entries, expected at least %zu", name, n, min);
	for (size_t i = 0; i < n; i++) {
		CHECK(list[i][0] != '\0', "%s[%zu] is empty", name, i);
		CHECK(strpbrk(list[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZ #") == NULL, "%s[%zu] \"%s\"", name, i,
		      list[i]);
		if (i > 0)
			CHECK(strcmp(list[i - 1], list[i]) < 0, "%s not sorted at %zu: \"%s\" \"%s\"", name,
			      i, list[i - 1], list[i]);
	}
}

static void test_lists(void)
{
	check_list("flags_role", flags_role, flags_role_count, 500);
	check_list("flags_disposable", flags_disposable, flags_disposable_count, 10000);
	check_list("flags_free", flags_free, flags_free_count, 1000);
}

TESTS(test_role, test_role_long, test_domain, test_domain_long, test_for, test_lists)
