/*
 * keys - the API keys of a server, in one file (DIR/keys): a line "NAME SHA256-HEX" per key. A
 * key itself is shown once, when it is made; the file keeps only its hash, so a copy of the
 * file opens nothing. A presented key is hashed and compared with every stored hash in
 * constant time (CRYPTO_memcmp, no early exit).
 */
#ifndef MAILSIFT_SERVER_KEYS_H
#define MAILSIFT_SERVER_KEYS_H

#include <stddef.h>

#define KEYS_NAME_MAX 64           /* a key's name: [A-Za-z0-9._-], 1 to this many bytes */
#define KEYS_SECRET_LEN 46         /* "ms_" and 43 base64url characters (32 random bytes) */

struct keys;

/* keys_open - the keys of the file at PATH (a missing file: none yet); NULL with err */
struct keys *keys_open(const char *path, char *err, size_t errlen);

/* keys_add - a new key NAME appended to the file (made 0600 when missing): the key itself into
 * SECRET (KEYS_SECRET_LEN + 1 bytes); 0, or -1 with err (bad or taken name, I/O) */
int keys_add(struct keys *k, const char *name, char *secret, char *err, size_t errlen);

/* keys_count - how many keys there are */
size_t keys_count(const struct keys *k);

/* keys_check - the name of the key PRESENTED, or NULL; rereads the file first when it changed
 * (a key added by `mailsift serve --add-key` while the server runs) */
const char *keys_check(struct keys *k, const char *presented);

void keys_free(struct keys *k);

#endif
