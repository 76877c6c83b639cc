/*
 * verdict - names of statuses, reasons and flags (see verdict.h).
 */
#include "schema/verdict.h"

#include <stdio.h>
#include <string.h>

static const char *const status_names[STATUS_COUNT] = {
	[STATUS_VALID] = "valid",
	[STATUS_INVALID] = "invalid",
	[STATUS_RISKY] = "risky",
	[STATUS_CATCH_ALL] = "catch_all",
	[STATUS_UNKNOWN] = "unknown",
};

static const char *const verdict_reasons[] = {
	REASON_ACCEPTED, REASON_MAILBOX_NOT_FOUND, REASON_DISABLED, REASON_FULL_INBOX,
	REASON_CATCH_ALL, REASON_ROLE, REASON_DISPOSABLE, REASON_SYNTAX, REASON_NO_ADDRESS,
	REASON_ROW_TOO_LONG, REASON_NXDOMAIN, REASON_NULL_MX, REASON_NO_MAIL_HOST,
	REASON_DNS_ERROR, REASON_GREYLISTED, REASON_TIMEOUT, REASON_CONNECT_FAILED,
	REASON_BLOCKED, REASON_TLS_ERROR, REASON_PROTOCOL_ERROR, REASON_UNSUPPORTED,
	REASON_NOT_VERIFIED, REASON_THROTTLED, REASON_REJECTED, REASON_MX_NOT_PUBLIC,
};

static const struct {
	unsigned bit;
	const char *name;
} flag_names[] = {
	{FLAG_ROLE, "role"},
	{FLAG_DISPOSABLE, "disposable"},
	{FLAG_FREE, "free"},
	{FLAG_CATCH_ALL, "catch_all"},
};

const char *verdict_status_name(enum verdict_status s)
{
	return (unsigned)s < STATUS_COUNT ? status_names[s] : "unknown";
}

int verdict_status_from_name(const char *name)
{
	for (int i = 0; i < STATUS_COUNT; i++)
		if (strcmp(name, status_names[i]) == 0)
			return i;
	return -1;
}

int verdict_reason_known(const char *reason)
{
	for (size_t i = 0; i < sizeof verdict_reasons / sizeof verdict_reasons[0]; i++)
		if (strcmp(reason, verdict_reasons[i]) == 0)
			return 1;
	return 0;
}

char *verdict_flags_text(unsigned flags, char *buf, size_t n)
{
	size_t used = 0;

	if (n == 0)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof flag_names / sizeof flag_names[0]; i++) {
		if (!(flags & flag_names[i].bit))
			continue;
		int w = snprintf(buf + used, n - used, "%s%s", used ? ";" : "", flag_names[i].name);
		if (w < 0 || (size_t)w >= n - used)
			break;
		used += (size_t)w;
	}
	return buf;
}
