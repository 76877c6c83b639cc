/*
 * prepare - the import's reader thread (see prepare.h).
 *
 * Two queues of batches between the threads: `free` (the thread fills them) and `full` (the
 * importer stores them), under one mutex with one condition variable each way. A batch is
 * owned by exactly one side at a time.
 */
#include "importers/prepare.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/csvquote.h"
#include "common/hash.h"
#include "importers/addr.h"
#include "schema/verdict.h"

#define INVALID_KEY_PREFIX "invalid:" /* ':' is never in a valid key, so no clash */
#define INVALID_KEY_KEEP 200          /* bytes of a broken cell kept in its key and address */

struct prepare {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t filled;            /* a batch went to `full` */
	pthread_cond_t freed;             /* a batch went to `free` */
	struct pbatch *all[PREPARE_BATCHES];
	struct pbatch *free_q[PREPARE_BATCHES];
	size_t nfree;
	struct pbatch *full_q[PREPARE_BATCHES]; /* FIFO */
	size_t full_head, nfull;
	int stop;                         /* the importer wants the thread to end */
	struct csv_reader *csv;
	struct prepare_state *st;
};

struct pbatch *prepare_batch_new(void)
{
	struct pbatch *b = calloc(1, sizeof *b);

	if (b == NULL)
		abort();
	return b;
}

void prepare_batch_reset(struct pbatch *b)
{
	b->n = 0;
	b->used = 0;
	b->end = 0;
	b->err[0] = '\0';
}

void prepare_batch_free(struct pbatch *b)
{
	if (b) {
		free(b->arena);
		free(b);
	}
}

const char *prepare_str(const struct pbatch *b, size_t off)
{
	return off == PREPARE_NONE ? NULL : b->arena + off;
}

/* arena_reserve - room for N more bytes in B's arena */
static void arena_reserve(struct pbatch *b, size_t n)
{
	if (b->used + n <= b->cap)
		return;
	while (b->used + n > b->cap)
		b->cap = b->cap ? b->cap * 2 : 64 * 1024;
	b->arena = realloc(b->arena, b->cap);
	if (b->arena == NULL)
		abort();
}

/* arena_put - copy N bytes and a NUL; returns their offset */
static size_t arena_put(struct pbatch *b, const char *s, size_t n)
{
	size_t off;

	arena_reserve(b, n + 1);
	off = b->used;
	memcpy(b->arena + off, s, n);
	b->arena[off + n] = '\0';
	b->used += n + 1;
	return off;
}

static size_t arena_str(struct pbatch *b, const char *s)
{
	return s ? arena_put(b, s, strlen(s)) : PREPARE_NONE;
}

/* encode - the fields as one canonical CSV line (comma) in the arena */
static void encode(struct pbatch *b, struct prow *r, size_t nfields, const char *const *field,
                   const size_t *len)
{
	size_t start = b->used;

	for (size_t i = 0; i < nfields; i++) {
		arena_reserve(b, 2 * len[i] + 3); /* worst case: every byte a doubled quote, 2 quotes, ',' */
		if (i > 0)
			b->arena[b->used++] = ',';
		b->used += csvquote_write(b->arena + b->used, b->cap - b->used, field[i], len[i], ',',
		                          CSVQUOTE_EDGES);
	}
	arena_reserve(b, 1);
	b->arena[b->used++] = '\0';
	r->record = start;
	r->record_len = b->used - start - 1;
}

static int is_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return 0;
	return 1;
}

/* syntax_error - the key and shown address of a cell that is not an address */
static void syntax_error(struct pbatch *b, struct prow *r, const char *cell, size_t len,
                         enum addr_problem p)
{
	char shown[INVALID_KEY_KEEP + 1];
	char key[sizeof INVALID_KEY_PREFIX + 17 + INVALID_KEY_KEEP + 1];
	size_t keep = len < INVALID_KEY_KEEP ? len : INVALID_KEY_KEEP, j = 0;

	/* cppcheck 2.10 takes len as 0 from is_blank's test on the same cell: it is not (false
	 * positive) */
	// cppcheck-suppress knownConditionTrueFalse
	for (size_t i = 0; i < keep; i++) {
		unsigned char ch = (unsigned char)cell[i];
		shown[j++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch; /* printable for reports */
	}
	shown[j] = '\0';
	snprintf(key, sizeof key, "%s%016llx:%s", INVALID_KEY_PREFIX,
	         (unsigned long long)hash_fnv1a64(cell, len), shown);
	r->kind = PROW_SYNTAX;
	r->key = arena_str(b, key);
	r->address = arena_str(b, shown);
	r->detail = addr_problem_text(p);
}

void prepare_record(struct prepare_state *st, struct pbatch *b, size_t nfields,
                    const char *const *field, const size_t *len, uint64_t line, unsigned flags)
{
	struct prow *r = &b->row[b->n++];
	struct check_result cr;

	memset(r, 0, sizeof *r);
	r->line = line;
	r->csv_flags = flags;
	r->nfields = nfields;
	r->key = r->address = r->domain = r->suggestion = PREPARE_NONE;
	if (nfields == 1 && len[0] == 0 && flags == 0) {
		r->kind = PROW_BLANK;
		return;
	}
	r->row_no = ++st->row_no;
	if (r->row_no <= st->skip) {
		r->kind = PROW_SKIPPED;
		return;
	}
	if (flags & CSV_TOO_LONG) {
		r->kind = PROW_TOO_LONG;
		return;
	}
	encode(b, r, nfields, field, len);
	if (st->email_col < 0 || (size_t)st->email_col >= nfields ||
	    is_blank(field[st->email_col], len[st->email_col])) {
		r->kind = PROW_NO_ADDRESS;
		return;
	}
	check_address(st->check, field[st->email_col], len[st->email_col], &cr);
	if (cr.problem != ADDR_OK) {
		syntax_error(b, r, field[st->email_col], len[st->email_col], cr.problem);
		return;
	}
	r->kind = PROW_ADDRESS;
	r->key = arena_str(b, cr.addr.key);
	r->address = strcmp(cr.addr.address, cr.addr.key) ? arena_str(b, cr.addr.address) : r->key;
	r->domain = arena_str(b, cr.addr.domain);
	r->suggestion = cr.suggestion[0] ? arena_str(b, cr.suggestion) : PREPARE_NONE;
	r->addr_flags = cr.flags;
}

/* ---- the thread ---- */

static struct pbatch *take_free(struct prepare *p)
{
	struct pbatch *b = NULL;

	pthread_mutex_lock(&p->lock);
	while (p->nfree == 0 && !p->stop)
		pthread_cond_wait(&p->freed, &p->lock);
	if (!p->stop)
		b = p->free_q[--p->nfree];
	pthread_mutex_unlock(&p->lock);
	return b;
}

static void put_full(struct prepare *p, struct pbatch *b)
{
	pthread_mutex_lock(&p->lock);
	p->full_q[(p->full_head + p->nfull++) % PREPARE_BATCHES] = b;
	pthread_cond_signal(&p->filled);
	pthread_mutex_unlock(&p->lock);
}

static void *prepare_main(void *arg)
{
	struct prepare *p = arg;
	struct csv_record rec;
	int end = 0;

	while (!end) {
		struct pbatch *b = take_free(p);
		if (b == NULL)
			break; /* stopped */
		prepare_batch_reset(b);
		while (b->n < PREPARE_BATCH_ROWS && b->used < PREPARE_BATCH_BYTES) {
			int rc = csv_next(p->csv, &rec, b->err, sizeof b->err);
			if (rc != 1) {
				b->end = rc == 0 ? 1 : -1;
				end = 1;
				break;
			}
			prepare_record(p->st, b, rec.nfields, rec.field, rec.len, rec.line, rec.flags);
		}
		b->raw_offset = p->st->in ? instream_raw_offset(p->st->in) : 0;
		b->raw_hashed = p->st->in ? instream_digest(p->st->in, b->digest) : 0;
		b->prefix = p->st->in ? instream_prefix_state(p->st->in) : 1;
		put_full(p, b);
	}
	return NULL;
}

struct prepare *prepare_start(struct csv_reader *csv, struct prepare_state *st)
{
	struct prepare *p = calloc(1, sizeof *p);

	if (p == NULL)
		return NULL;
	p->csv = csv;
	p->st = st;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->filled, NULL);
	pthread_cond_init(&p->freed, NULL);
	for (size_t i = 0; i < PREPARE_BATCHES; i++)
		p->all[i] = p->free_q[p->nfree++] = prepare_batch_new();
	if (pthread_create(&p->thread, NULL, prepare_main, p) != 0) {
		for (size_t i = 0; i < PREPARE_BATCHES; i++)
			prepare_batch_free(p->all[i]);
		free(p);
		return NULL;
	}
	return p;
}

struct pbatch *prepare_next(struct prepare *p, int wait)
{
	struct pbatch *b;

	pthread_mutex_lock(&p->lock);
	while (p->nfull == 0) {
		if (!wait) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		pthread_cond_wait(&p->filled, &p->lock);
	}
	b = p->full_q[p->full_head];
	p->full_head = (p->full_head + 1) % PREPARE_BATCHES;
	p->nfull--;
	pthread_mutex_unlock(&p->lock);
	return b;
}

void prepare_release(struct prepare *p, struct pbatch *b)
{
	pthread_mutex_lock(&p->lock);
	p->free_q[p->nfree++] = b;
	pthread_cond_signal(&p->freed);
	pthread_mutex_unlock(&p->lock);
}

void prepare_stop(struct prepare *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->freed);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	for (size_t i = 0; i < PREPARE_BATCHES; i++)
		prepare_batch_free(p->all[i]);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->filled);
	pthread_cond_destroy(&p->freed);
	free(p);
}
