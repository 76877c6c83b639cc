/*
 * test_config - engine/config.c: the HELO name must be fully qualified, and the default MAIL
 * FROM is built from the HELO name that is used (--helo's when given), never from the host
 * name behind it.
 */
#include <string.h>

#include "engine/config.h"
#include "tests/check.h"

static void test_helo_and_mail_from(void)
{
	static const struct {
		const char *helo;       /* as --helo leaves it */
		const char *mail_from;  /* --mail-from, or NULL */
		int ok;
		const char *want_from;
	} rows[] = {
		{"probe.example.test", NULL, 1, "verify@probe.example.test"},
		{"probe.example.test", "me@example.org", 1, "me@example.org"},
		{"mx1.example", NULL, 1, "verify@mx1.example"},
		{"[192.0.2.1]", NULL, 1, "verify@[192.0.2.1]"},
		{"localhost", NULL, 0, NULL},
		{"nodot", "me@example.org", 0, NULL},     /* the HELO name is still refused */
		{"", NULL, 0, NULL},
		{".example", NULL, 0, NULL},
		{"example.", NULL, 0, NULL},
		{"a..example", NULL, 0, NULL},
		{"[]", NULL, 0, NULL},
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct probe_config c;
		char helo[256], from[320], err[512] = "";
		int rc;

		config_defaults(&c, helo, sizeof helo);
		CHECK(c.mail_from == NULL, "no MAIL FROM before the options are read");
		c.helo = rows[i].helo;
		if (rows[i].mail_from)
			c.mail_from = rows[i].mail_from;
		rc = config_finish(&c, from, sizeof from, err, sizeof err);
		CHECK((rc == 0) == rows[i].ok, "helo \"%s\": rc %d (%s)", rows[i].helo, rc, err);
		if (rows[i].ok)
			CHECK_STR(c.mail_from, rows[i].want_from, rows[i].helo);
		else
			CHECK(strstr(err, "--helo NAME") != NULL, "\"%s\": message says --helo: %s",
			      rows[i].helo, err);
	}
}

static void test_defaults_from_host(void)
{
	struct probe_config c;
	char helo[256], from[320], err[512] = "";

	config_defaults(&c, helo, sizeof helo);
	CHECK(c.helo == helo && helo[0] != '\0', "HELO from the host name");
	c.helo = "other.example.test";  /* --helo */
	CHECK(config_finish(&c, from, sizeof from, err, sizeof err) == 0, "%s", err);
	CHECK_STR(c.mail_from, "verify@other.example.test", "MAIL FROM follows --helo");
	CHECK_INT(c.allow_private_mx, 0, "private MX addresses refused by default");
}

TESTS(test_helo_and_mail_from, test_defaults_from_host)
