/*
 * keys - API keys: the file, the hashes, the constant-time check (see keys.h).
 */
#include "server/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

struct key {
	char name[KEYS_NAME_MAX + 1];
	unsigned char hash[SHA256_DIGEST_LENGTH];
};

struct keys {
	char *path;
	struct key *v;
	size_t n;
	struct timespec mtime;    /* of the file when read (0: missing) */
	off_t size;
};

static int name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > KEYS_NAME_MAX)
		return 0;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return 0;
	return 1;
}

static void sha256(const char *s, unsigned char *out)
{
	SHA256((const unsigned char *)s, strlen(s), out);
}

static int unhex(const char *hex, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return hex[2 * n] == '\0' ? 0 : -1;
}

/* keys_read - (re)read the file; a line that is not "NAME HEX" is an error naming it */
static int keys_read(struct keys *k, char *err, size_t errlen)
{
	FILE *f = fopen(k->path, "r");
	char line[256], name[KEYS_NAME_MAX + 2], hex[2 * SHA256_DIGEST_LENGTH + 2];
	struct stat st;
	size_t lineno = 0;

	free(k->v);
	k->v = NULL;
	k->n = 0;
	memset(&k->mtime, 0, sizeof k->mtime);
	k->size = 0;
	if (f == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", k->path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) == 0) {
		k->mtime = st.st_mtim;
		k->size = st.st_size;
	}
	while (fgets(line, sizeof line, f)) {
		struct key *nv;
		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		nv = realloc(k->v, (k->n + 1) * sizeof *nv);
		if (nv == NULL || sscanf(line, "%65s %65s", name, hex) != 2 || !name_ok(name) ||
		    unhex(hex, nv[k->n].hash, SHA256_DIGEST_LENGTH) < 0) {
			if (nv)
				k->v = nv;
			snprintf(err, errlen, "%s:%zu: not a key line (NAME and a SHA-256 in hex)",
			         k->path, lineno);
			k->n = 0; /* a damaged file lets nobody in */
			fclose(f);
			return -1;
		}
		k->v = nv;
		snprintf(k->v[k->n].name, sizeof k->v[k->n].name, "%.*s", KEYS_NAME_MAX, name);
		k->n++;
	}
	fclose(f);
	return 0;
}

struct keys *keys_open(const char *path, char *err, size_t errlen)
{
	struct keys *k = calloc(1, sizeof *k);

	if (k == NULL || (k->path = strdup(path)) == NULL) {
		free(k);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (keys_read(k, err, errlen) < 0) {
		keys_free(k);
		return NULL;
	}
	return k;
}

size_t keys_count(const struct keys *k)
{
	return k->n;
}

/* new_secret - "ms_" and 32 random bytes in base64url, no padding */
static int new_secret(char *out)
{
	unsigned char raw[32], b64[48];

	if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
		return -1;
	EVP_EncodeBlock(b64, raw, sizeof raw); /* 44 characters, the last one '=' */
	for (unsigned char *p = b64; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	snprintf(out, KEYS_SECRET_LEN + 1, "ms_%.43s", (const char *)b64);
	return 0;
}

int keys_add(struct keys *k, const char *name, char *secret, char *err, size_t errlen)
{
	unsigned char h[SHA256_DIGEST_LENGTH];
	char line[KEYS_NAME_MAX + 2 * SHA256_DIGEST_LENGTH + 4];
	int fd, n;

	if (!name_ok(name)) {
		snprintf(err, errlen, "bad key name \"%s\": 1 to %d of A-Z a-z 0-9 . _ -", name,
		         KEYS_NAME_MAX);
		return -1;
	}
	if (keys_read(k, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->v[i].name, name) == 0) {
			snprintf(err, errlen, "a key named \"%s\" exists already in %s", name, k->path);
			return -1;
		}
	if (new_secret(secret) < 0) {
		snprintf(err, errlen, "no random bytes: %s", strerror(errno));
		return -1;
	}
	sha256(secret, h);
	n = snprintf(line, sizeof line, "%s ", name);
	for (size_t i = 0; i < sizeof h; i++)
		n += snprintf(line + n, sizeof line - (size_t)n, "%02x", h[i]);
	n += snprintf(line + n, sizeof line - (size_t)n, "\n");
	fd = open(k->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write(fd, line, (size_t)n) != n || fsync(fd) != 0) {
		snprintf(err, errlen, "%s: %s", k->path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return keys_read(k, err, errlen);
}

/* changed - the file is not the one read last */
static int changed(const struct keys *k)
{
	struct stat st;

	if (stat(k->path, &st) != 0)
		return k->size != 0 || k->mtime.tv_sec != 0;
	return st.st_size != k->size || st.st_mtim.tv_sec != k->mtime.tv_sec ||
	       st.st_mtim.tv_nsec != k->mtime.tv_nsec;
}

const char *keys_check(struct keys *k, const char *presented)
{
	unsigned char h[SHA256_DIGEST_LENGTH];
	const char *name = NULL;
	char err[256];

	if (changed(k) && keys_read(k, err, sizeof err) < 0)
		fprintf(stderr, "mailsift serve: %s (no key is accepted until it is fixed)\n", err);
	sha256(presented, h);
	for (size_t i = 0; i < k->n; i++)
		if (CRYPTO_memcmp(h, k->v[i].hash, sizeof h) == 0 && name == NULL)
			name = k->v[i].name;
	return name;
}

void keys_free(struct keys *k)
{
	if (k == NULL)
		return;
	free(k->v);
	free(k->path);
	free(k);
}
