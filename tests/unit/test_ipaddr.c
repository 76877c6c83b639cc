/*
 * test_ipaddr - common/ipaddr.c: IP literals to socket addresses (by family) and back to text.
 */
#include <netinet/in.h>
#include <string.h>

#include "common/ipaddr.h"
#include "tests/check.h"

static const struct {
	const char *in;
	int family;             /* asked for */
	int want;               /* family parsed, or -1 when refused */
	const char *text;       /* ipaddr_text of the result */
} rows[] = {
	{"192.0.2.1", AF_UNSPEC, AF_INET, "192.0.2.1"},
	{"127.0.1.10", AF_INET, AF_INET, "127.0.1.10"},
	{"0.0.0.0", AF_UNSPEC, AF_INET, "0.0.0.0"},
	{"255.255.255.255", AF_UNSPEC, AF_INET, "255.255.255.255"},
	{"::1", AF_UNSPEC, AF_INET6, "::1"},
	{"::1", AF_INET6, AF_INET6, "::1"},
	{"2001:DB8:0:0::1", AF_UNSPEC, AF_INET6, "2001:db8::1"},
	{"::ffff:192.0.2.1", AF_UNSPEC, AF_INET6, "::ffff:192.0.2.1"},
	{"192.0.2.1", AF_INET6, -1, NULL},      /* the family must fit */
	{"::1", AF_INET, -1, NULL},
	{"256.0.0.1", AF_UNSPEC, -1, NULL},
	{"1.2.3", AF_UNSPEC, -1, NULL},
	{"1.2.3.4:25", AF_UNSPEC, -1, NULL},    /* no ports */
	{"[::1]", AF_UNSPEC, -1, NULL},         /* no brackets */
	{" 1.2.3.4", AF_UNSPEC, -1, NULL},
	{"mail.example.com", AF_UNSPEC, -1, NULL},
	{"", AF_UNSPEC, -1, NULL},
};

static void test_parse_and_text(void)
{
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct sockaddr_storage ss;
		socklen_t len = 0;
		char text[IPADDR_TEXT_MAX];
		int rc = ipaddr_parse(rows[i].in, rows[i].family, &ss, &len);

		if (rows[i].want < 0) {
			CHECK_INT(rc, -1, rows[i].in);
			CHECK_INT(ss.ss_family, 0, rows[i].in);
			continue;
		}
		CHECK_INT(rc, 0, rows[i].in);
		CHECK_INT(ss.ss_family, rows[i].want, rows[i].in);
		CHECK_INT(len, rows[i].want == AF_INET ? sizeof(struct sockaddr_in)
		                                       : sizeof(struct sockaddr_in6), rows[i].in);
		CHECK_INT(rows[i].want == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
		                                  : ((struct sockaddr_in6 *)&ss)->sin6_port, 0, "port 0");
		CHECK_STR(ipaddr_text((struct sockaddr *)&ss, text, sizeof text), rows[i].text,
		          rows[i].in);
		CHECK(ipaddr_parse(rows[i].in, rows[i].family, &ss, NULL) == 0, "%s: NULL len",
		      rows[i].in);
	}
}

/* test_text_edges - another family and a small buffer are "?", never a crash */
static void test_text_edges(void)
{
	struct sockaddr_storage ss;
	char small[4], text[IPADDR_TEXT_MAX];

	memset(&ss, 0, sizeof ss);
	CHECK_STR(ipaddr_text((struct sockaddr *)&ss, text, sizeof text), "?", "family 0");
	ss.ss_family = AF_UNIX;
	CHECK_STR(ipaddr_text((struct sockaddr *)&ss, text, sizeof text), "?", "AF_UNIX");
	ipaddr_parse("192.0.2.1", AF_UNSPEC, &ss, NULL);
	CHECK_STR(ipaddr_text((struct sockaddr *)&ss, small, sizeof small), "?", "too small");
	ipaddr_parse("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", AF_UNSPEC, &ss, NULL);
	CHECK_STR(ipaddr_text((struct sockaddr *)&ss, text, sizeof text),
	          "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "longest text fits IPADDR_TEXT_MAX");
}

TESTS(test_parse_and_text, test_text_edges)
