/*
 * config - defaults of the probe engine (see config.h): the HELO name from the host name, and
 * once the options are read, the check that it is fully qualified and the MAIL FROM built
 * from it. Never reads the network: /etc/hosts at most.
 */
#include "engine/config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* host_fqdn - this host's fully qualified name: the host name when it has a dot, else the
 * first dotted alias of it in /etc/hosts (read directly: no DNS query leaves the machine just
 * to pick a default), else the plain name */
static void host_fqdn(char *out, size_t n)
{
	char line[1024], *tok, *save;
	FILE *f;
	int match;

	if (gethostname(out, n) != 0 || out[0] == '\0')
		snprintf(out, n, "localhost");
	out[n - 1] = '\0';
	if (strchr(out, '.') != NULL || (f = fopen("/etc/hosts", "r")) == NULL)
		return;
	while (fgets(line, sizeof line, f)) {
		char *hash = strchr(line, '#');
		char dotted[256] = "";
		if (hash)
			*hash = '\0';
		match = 0;
		tok = strtok_r(line, " \t\r\n", &save); /* the address */
		while (tok && (tok = strtok_r(NULL, " \t\r\n", &save)) != NULL) {
			if (strcmp(tok, out) == 0)
				match = 1;
			else if (strncmp(tok, out, strlen(out)) == 0 && tok[strlen(out)] == '.' &&
			         dotted[0] == '\0')
				snprintf(dotted, sizeof dotted, "%s", tok);
		}
		if (match && dotted[0]) {
			snprintf(out, n, "%s", dotted);
			break;
		}
	}
	fclose(f);
}

void config_defaults(struct probe_config *c, char *helo_buf, size_t helo_len)
{
	memset(c, 0, sizeof *c);
	host_fqdn(helo_buf, helo_len);
	c->helo = helo_buf;
	c->mail_from = NULL;        /* config_finish: from the HELO name the options leave */
	c->smtp_port = DEF_SMTP_PORT;
	c->connect_timeout = DEF_CONNECT_TIMEOUT;
	c->reply_timeout = DEF_REPLY_TIMEOUT;
	c->greylist_delay = DEF_GREYLIST_DELAY;
	c->max_attempts = DEF_MAX_ATTEMPTS;
	c->rcpts_per_transaction = DEF_RCPTS_PER_TRANSACTION;
	c->max_rejections = DEF_MAX_REJECTIONS;
	c->connect_attempts = DEF_CONNECT_ATTEMPTS;
	c->dns_cache = DEF_DNS_CACHE_ENTRIES;
	c->keep_traces = TRACE_KEEP_PROBLEMS;
	c->starttls = 1;
}

int config_helo_qualified(const char *name)
{
	size_t n = strlen(name);
	const char *dot = strchr(name, '.');

	if (n >= 3 && name[0] == '[' && name[n - 1] == ']')
		return 1;               /* address literal, RFC 5321 4.1.3 */
	return dot != NULL && dot != name && name[n - 1] != '.' && strstr(name, "..") == NULL;
}

int config_finish(struct probe_config *c, char *from_buf, size_t from_len, char *err,
                  size_t errlen)
{
	if (!config_helo_qualified(c->helo)) {
		snprintf(err, errlen,
		         "HELO name \"%s\" is not fully qualified (servers refuse such a name, and the "
		         "default MAIL FROM %s@HELO must be an address at a real domain): pass --helo "
		         "NAME, a fully qualified name of this host",
		         c->helo, DEF_MAIL_FROM_LOCAL);
		return -1;
	}
	if (c->mail_from == NULL) {
		snprintf(from_buf, from_len, "%s@%s", DEF_MAIL_FROM_LOCAL, c->helo);
		c->mail_from = from_buf;
	}
	return 0;
}

int config_trace_kept(const struct probe_config *c, int retry, int unknown_or_risky, int urgent)
{
	switch (c->keep_traces) {
	case TRACE_KEEP_ALL:
		return 1;
	case TRACE_KEEP_PROBLEMS:
		return retry || unknown_or_risky || urgent;
	case TRACE_KEEP_NONE:
		break;
	}
	return 0;
}

double config_greylist_wait(const struct probe_config *c, int attempt)
{
	static const double backoff[] = GREYLIST_BACKOFF;
	size_t i = attempt >= 2 ? (size_t)(attempt - 2) : 0;

	if (i >= sizeof backoff / sizeof backoff[0])
		i = sizeof backoff / sizeof backoff[0] - 1;
	return c->greylist_delay * backoff[i];
}
