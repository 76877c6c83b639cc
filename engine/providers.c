/*
 * providers - the provider policy table (see providers.h).
 */
#include "engine/providers.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *suffix;   /* MX host name suffix (a leading dot matches any subdomain) */
	int skip_catch_all;   /* no catch-all probe */
} provider_table[] = {
	/* Gmail/Workspace: not catch-all; counts unknown-recipient RCPTs against the sender */
	{".google.com", 1},
	/* Gmail (legacy MX names) */
	{".googlemail.com", 1},
	/* Microsoft 365: directory-based, not catch-all */
	{".protection.outlook.com", 1},
	/* Outlook.com consumer mail */
	{".olc.protection.outlook.com", 1},
	/* Hotmail (legacy MX names) */
	{".hotmail.com", 1},
};

static int has_suffix(const char *host, const char *suffix)
{
	size_t h = strlen(host), s = strlen(suffix);

	if (h >= s && strcasecmp(host + h - s, suffix) == 0)
		return 1;
	/* ".google.com" also matches "google.com" itself */
	return suffix[0] == '.' && h == s - 1 && strcasecmp(host, suffix + 1) == 0;
}

int providers_skip_catch_all(const char *mx_host)
{
	for (size_t i = 0; mx_host && i < sizeof provider_table / sizeof provider_table[0]; i++)
		if (provider_table[i].skip_catch_all && has_suffix(mx_host, provider_table[i].suffix))
			return 1;
	return 0;
}
