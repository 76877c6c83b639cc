/*
 * test_decide - the verdict rules, table-driven. The rows that matter most are the ones that
 * must never say invalid: every temporary, policy, throttling, TLS and unclear outcome.
 */
#include "engine/decide.h"
#include "tests/check.h"

#define LAST 1
#define MORE 0
#define ANSWER(o) 1, o, SMTP_END_OK
#define SESSION(e) 0, OUTCOME_ACCEPTED, e

static const struct {
	const char *name;
	struct decide_in in;
	int retry;
	enum verdict_status status;
	const char *reason;
} rows[] = {
	/* DNS */
	{"nxdomain", {DNS_NXDOMAIN, SESSION(SMTP_END_OK), 0, 0, LAST}, 0, STATUS_INVALID, REASON_NXDOMAIN},
	{"null mx", {DNS_NULL_MX, SESSION(SMTP_END_OK), 0, 0, LAST}, 0, STATUS_INVALID, REASON_NULL_MX},
	{"no mail host", {DNS_NO_MAIL_HOST, SESSION(SMTP_END_OK), 0, 0, LAST}, 0, STATUS_INVALID, REASON_NO_MAIL_HOST},
	{"servfail, last", {DNS_TEMPFAIL, SESSION(SMTP_END_OK), 0, 0, LAST}, 0, STATUS_UNKNOWN, REASON_DNS_ERROR},
	{"servfail, more", {DNS_TEMPFAIL, SESSION(SMTP_END_OK), 0, 0, MORE}, 1, STATUS_UNKNOWN, REASON_DNS_ERROR},
	{"mx host without address", {DNS_NO_HOST_ADDRESS, SESSION(SMTP_END_OK), 0, 0, LAST}, 0, STATUS_UNKNOWN, REASON_DNS_ERROR},
	{"mx not public, more", {DNS_MX_NOT_PUBLIC, SESSION(SMTP_END_OK), 0, 0, MORE}, 0, STATUS_UNKNOWN, REASON_MX_NOT_PUBLIC},
	/* RCPT answers */
	{"accepted", {DNS_OK, ANSWER(OUTCOME_ACCEPTED), CATCH_ALL_NO, 0, LAST}, 0, STATUS_VALID, REASON_ACCEPTED},
	{"accepted, untested catch-all", {DNS_OK, ANSWER(OUTCOME_ACCEPTED), CATCH_ALL_UNTESTED, 0, LAST}, 0, STATUS_VALID, REASON_ACCEPTED},
	{"accepted, inconclusive probe is not catch-all", {DNS_OK, ANSWER(OUTCOME_ACCEPTED), CATCH_ALL_INCONCLUSIVE, 0, LAST}, 0, STATUS_VALID, REASON_ACCEPTED},
	{"accepted on catch-all", {DNS_OK, ANSWER(OUTCOME_ACCEPTED), CATCH_ALL_YES, FLAG_ROLE, LAST}, 0, STATUS_CATCH_ALL, REASON_CATCH_ALL},
	{"accepted role", {DNS_OK, ANSWER(OUTCOME_ACCEPTED), CATCH_ALL_NO, FLAG_ROLE, LAST}, 0, STATUS_RISKY, REASON_ROLE},
	{"accepted disposable", {DNS_OK, ANSWER(OUTCOME_ACCEPTED), CATCH_ALL_NO, FLAG_DISPOSABLE | FLAG_ROLE, LAST}, 0, STATUS_RISKY, REASON_DISPOSABLE},
	{"accepted free is fine", {DNS_OK, ANSWER(OUTCOME_ACCEPTED), CATCH_ALL_NO, FLAG_FREE, LAST}, 0, STATUS_VALID, REASON_ACCEPTED},
	{"no mailbox", {DNS_OK, ANSWER(OUTCOME_NO_MAILBOX), CATCH_ALL_NO, 0, MORE}, 0, STATUS_INVALID, REASON_MAILBOX_NOT_FOUND},
	{"no mailbox on catch-all domain", {DNS_OK, ANSWER(OUTCOME_NO_MAILBOX), CATCH_ALL_YES, 0, MORE}, 0, STATUS_INVALID, REASON_MAILBOX_NOT_FOUND},
	{"disabled", {DNS_OK, ANSWER(OUTCOME_DISABLED), CATCH_ALL_NO, 0, MORE}, 0, STATUS_INVALID, REASON_DISABLED},
	{"null mx at rcpt", {DNS_OK, ANSWER(OUTCOME_NULL_MX), CATCH_ALL_NO, 0, MORE}, 0, STATUS_INVALID, REASON_NULL_MX},
	{"full", {DNS_OK, ANSWER(OUTCOME_FULL), CATCH_ALL_NO, 0, MORE}, 0, STATUS_RISKY, REASON_FULL_INBOX},
	{"greylisted, retry", {DNS_OK, ANSWER(OUTCOME_TEMPORARY), CATCH_ALL_NO, 0, MORE}, 1, STATUS_UNKNOWN, REASON_GREYLISTED},
	{"greylisted, last", {DNS_OK, ANSWER(OUTCOME_TEMPORARY), CATCH_ALL_NO, 0, LAST}, 0, STATUS_UNKNOWN, REASON_GREYLISTED},
	{"throttled, retry", {DNS_OK, ANSWER(OUTCOME_THROTTLED), CATCH_ALL_NO, 0, MORE}, 1, STATUS_UNKNOWN, REASON_THROTTLED},
	{"policy block", {DNS_OK, ANSWER(OUTCOME_POLICY), CATCH_ALL_NO, 0, MORE}, 0, STATUS_UNKNOWN, REASON_BLOCKED},
	{"unsupported", {DNS_OK, ANSWER(OUTCOME_UNSUPPORTED), CATCH_ALL_NO, 0, MORE}, 0, STATUS_UNKNOWN, REASON_UNSUPPORTED},
	{"unclear 5xx", {DNS_OK, ANSWER(OUTCOME_UNKNOWN_PERM), CATCH_ALL_NO, 0, LAST}, 0, STATUS_UNKNOWN, REASON_REJECTED},
	{"protocol, last", {DNS_OK, ANSWER(OUTCOME_PROTOCOL), CATCH_ALL_NO, 0, LAST}, 0, STATUS_UNKNOWN, REASON_PROTOCOL_ERROR},
	/* the transaction's recipient limit says nothing of the address */
	{"too many recipients", {DNS_OK, ANSWER(OUTCOME_TOO_MANY_RCPTS), CATCH_ALL_NO, 0, MORE}, 1, STATUS_UNKNOWN, REASON_NOT_VERIFIED},
	{"too many recipients, last", {DNS_OK, ANSWER(OUTCOME_TOO_MANY_RCPTS), CATCH_ALL_NO, 0, LAST}, 0, STATUS_UNKNOWN, REASON_NOT_VERIFIED},
	/* sessions that never answered the address */
	{"connect failed, retry", {DNS_OK, SESSION(SMTP_END_CONNECT), 0, 0, MORE}, 1, STATUS_UNKNOWN, REASON_CONNECT_FAILED},
	{"connect failed, last", {DNS_OK, SESSION(SMTP_END_CONNECT), 0, 0, LAST}, 0, STATUS_UNKNOWN, REASON_CONNECT_FAILED},
	{"timeout", {DNS_OK, SESSION(SMTP_END_TIMEOUT), 0, 0, LAST}, 0, STATUS_UNKNOWN, REASON_TIMEOUT},
	{"5xx banner", {DNS_OK, SESSION(SMTP_END_BANNER), 0, 0, MORE}, 0, STATUS_UNKNOWN, REASON_BLOCKED},
	{"mail from refused", {DNS_OK, SESSION(SMTP_END_REFUSED), 0, 0, MORE}, 0, STATUS_UNKNOWN, REASON_BLOCKED},
	{"tls required and failed", {DNS_OK, SESSION(SMTP_END_TLS), 0, 0, MORE}, 0, STATUS_UNKNOWN, REASON_TLS_ERROR},
	{"throttled session", {DNS_OK, SESSION(SMTP_END_THROTTLED), 0, 0, LAST}, 0, STATUS_UNKNOWN, REASON_THROTTLED},
	{"garbage", {DNS_OK, SESSION(SMTP_END_PROTOCOL), 0, 0, LAST}, 0, STATUS_UNKNOWN, REASON_PROTOCOL_ERROR},
	{"garbage is not retried", {DNS_OK, SESSION(SMTP_END_PROTOCOL), 0, 0, MORE}, 0, STATUS_UNKNOWN, REASON_PROTOCOL_ERROR},
	/* a dropped connection is a failed session like a timeout: retried, then unknown */
	{"dropped, retry", {DNS_OK, SESSION(SMTP_END_DROPPED), 0, 0, MORE}, 1, STATUS_UNKNOWN, REASON_CONNECT_FAILED},
	{"dropped, last", {DNS_OK, SESSION(SMTP_END_DROPPED), 0, 0, LAST}, 0, STATUS_UNKNOWN, REASON_CONNECT_FAILED},
	{"temporary before rcpt", {DNS_OK, SESSION(SMTP_END_TEMPORARY), 0, 0, MORE}, 1, STATUS_UNKNOWN, REASON_GREYLISTED},
	{"session ended before asking", {DNS_OK, SESSION(SMTP_END_REJECTIONS), 0, 0, MORE}, 1, STATUS_UNKNOWN, REASON_NOT_VERIFIED},
};

static void test_rules(void)
{
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct decide_out o;
		decide(&rows[i].in, &o);
		CHECK(o.retry == rows[i].retry, "%s: retry %d", rows[i].name, o.retry);
		CHECK(o.status == rows[i].status, "%s: status %s", rows[i].name,
		      verdict_status_name(o.status));
		CHECK_STR(o.reason, rows[i].reason, rows[i].name);
	}
}

/* Whatever the inputs, only the mailbox-level permanent answers and DNS non-existence may
 * give invalid: walk every combination. */
static void test_never_false_invalid(void)
{
	for (int dns = DNS_OK; dns <= DNS_TEMPFAIL; dns++)
		for (int ans = 0; ans <= 1; ans++)
			for (int rc = OUTCOME_ACCEPTED; rc <= OUTCOME_UNKNOWN_PERM; rc++)
				for (int se = SMTP_END_OK; se <= SMTP_END_CANCELLED; se++)
					for (int ca = CATCH_ALL_UNTESTED; ca <= CATCH_ALL_INCONCLUSIVE; ca++)
						for (int last = 0; last <= 1; last++) {
							struct decide_in in = {(enum dns_status)dns, ans,
							                       (enum reply_outcome)rc,
							                       (enum smtp_end)se, (enum catch_all)ca,
							                       FLAG_ROLE, last};
							struct decide_out o;
							int may_be_invalid =
								dns == DNS_NXDOMAIN || dns == DNS_NULL_MX ||
								dns == DNS_NO_MAIL_HOST ||
								(dns == DNS_OK && ans &&
								 (rc == OUTCOME_NO_MAILBOX || rc == OUTCOME_DISABLED ||
								  rc == OUTCOME_NULL_MX));
							decide(&in, &o);
							CHECK(o.status != STATUS_INVALID || may_be_invalid,
							      "dns %d ans %d rcpt %d end %d ca %d: invalid (%s)", dns,
							      ans, rc, se, ca, o.reason);
							CHECK(verdict_reason_known(o.reason), "reason %s in vocabulary",
							      o.reason);
						}
}

static void test_catch_all_three_way(void)
{
	CHECK_INT(decide_catch_all(OUTCOME_ACCEPTED), CATCH_ALL_YES, "accepts all");
	CHECK_INT(decide_catch_all(OUTCOME_NO_MAILBOX), CATCH_ALL_NO, "rejects");
	CHECK_INT(decide_catch_all(OUTCOME_TEMPORARY), CATCH_ALL_INCONCLUSIVE, "greylisted probe");
	CHECK_INT(decide_catch_all(OUTCOME_POLICY), CATCH_ALL_INCONCLUSIVE, "blocked probe");
	CHECK_INT(decide_catch_all(OUTCOME_UNKNOWN_PERM), CATCH_ALL_INCONCLUSIVE, "unclear probe");
}

TESTS(test_rules, test_never_false_invalid, test_catch_all_three_way)
