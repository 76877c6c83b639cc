/*
 * config - defaults of the probe engine (see config.h).
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

void config_defaults(struct probe_config *c, char *helo_buf, size_t helo_len, char *from_buf,
                     size_t from_len)
{
	memset(c, 0, sizeof *c);
	host_fqdn(helo_buf, helo_len);
	snprintf(from_buf, from_len, "%s@%s", DEF_MAIL_FROM_LOCAL, helo_buf);
	c->helo = helo_buf;
	c->mail_from = from_buf;
	c->smtp_port = DEF_SMTP_PORT;
	c->connect_timeout = DEF_CONNECT_TIMEOUT;
	c->reply_timeout = DEF_REPLY_TIMEOUT;
	c->greylist_delay = DEF_GREYLIST_DELAY;
	c->max_attempts = DEF_MAX_ATTEMPTS;
	c->rcpts_per_transaction = DEF_RCPTS_PER_TRANSACTION;
	c->max_rejections = DEF_MAX_REJECTIONS;
	c->connect_attempts = DEF_CONNECT_ATTEMPTS;
	c->starttls = 1;
}

double config_greylist_wait(const struct probe_config *c, int attempt)
{
	static const double backoff[] = GREYLIST_BACKOFF;
	size_t i = attempt >= 2 ? (size_t)(attempt - 2) : 0;

	if (i >= sizeof backoff / sizeof backoff[0])
		i = sizeof backoff / sizeof backoff[0] - 1;
	return c->greylist_delay * backoff[i];
}
