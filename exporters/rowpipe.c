/*
 * rowpipe - see rowpipe.h. Batches go round: the caller fills one (`cur`), hands it to the
 * queue of full ones, takes a free one (waiting while the writer has them all); the writer
 * takes the oldest full one, calls the row function on each row, gives it back.
 */
#include "exporters/rowpipe.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct rbatch {
	struct store_row_out row[ROWPIPE_BATCH_ROWS];
	size_t n;
	char *arena; /* the rows' strings */
	size_t used, cap;
};

struct rowpipe {
	rowpipe_fn fn;
	void *ctx;
	int threaded;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t filled;                   /* a batch joined `full`, or the caller is done */
	pthread_cond_t freed;                    /* a batch joined `free` */
	struct rbatch *full[ROWPIPE_BATCHES];    /* oldest first */
	size_t nfull;
	struct rbatch *free[ROWPIPE_BATCHES];
	size_t nfree;
	struct rbatch *cur;                      /* the caller's */
	int done;                                /* the caller put its last row */
	int failed;                              /* FN returned -1 */
};

static struct rbatch *batch_new(void)
{
	struct rbatch *b = calloc(1, sizeof *b);

	if (b == NULL || (b->arena = malloc(ROWPIPE_BATCH_BYTES)) == NULL)
		abort(); /* as the exporter's other buffers: no way on without memory */
	b->cap = ROWPIPE_BATCH_BYTES;
	return b;
}

static void batch_free(struct rbatch *b)
{
	if (b) {
		free(b->arena);
		free(b);
	}
}

/* keep - N bytes at P into B's arena, NUL-terminated; NULL stays NULL */
static const char *keep(struct rbatch *b, const char *p, size_t n)
{
	char *q;

	if (p == NULL)
		return NULL;
	q = b->arena + b->used;
	memcpy(q, p, n);
	q[n] = '\0';
	b->used += n + 1;
	return q;
}

static const char *keep_str(struct rbatch *b, const char *s)
{
	return s ? keep(b, s, strlen(s)) : NULL;
}

static size_t len_of(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

static void *rowpipe_main(void *arg)
{
	struct rowpipe *p = arg;
	int failed = 0;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct rbatch *b;

		while (p->nfull == 0 && !p->done)
			pthread_cond_wait(&p->filled, &p->lock);
		if (p->nfull == 0)
			break; /* done, and nothing left */
		b = p->full[0];
		p->nfull--;
		for (size_t i = 0; i < p->nfull; i++) /* at most ROWPIPE_BATCHES - 1 */
			p->full[i] = p->full[i + 1];
		pthread_mutex_unlock(&p->lock);
		for (size_t i = 0; i < b->n && !failed; i++)
			failed = p->fn(p->ctx, &b->row[i]) < 0;
		b->n = 0;
		b->used = 0;
		pthread_mutex_lock(&p->lock);
		p->failed |= failed;
		p->free[p->nfree++] = b;
		pthread_cond_signal(&p->freed);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct rowpipe *rowpipe_start(rowpipe_fn fn, void *ctx, int threaded)
{
	struct rowpipe *p = calloc(1, sizeof *p);

	if (p == NULL)
		abort();
	p->fn = fn;
	p->ctx = ctx;
	if (!threaded)
		return p;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->filled, NULL);
	pthread_cond_init(&p->freed, NULL);
	p->cur = batch_new();
	for (int i = 1; i < ROWPIPE_BATCHES; i++)
		p->free[p->nfree++] = batch_new();
	p->threaded = pthread_create(&p->thread, NULL, rowpipe_main, p) == 0;
	if (!p->threaded) { /* no thread: FN is called in line, as asked for with THREADED 0 */
		batch_free(p->cur);
		for (size_t i = 0; i < p->nfree; i++)
			batch_free(p->free[i]);
		p->cur = NULL;
		p->nfree = 0;
		pthread_mutex_destroy(&p->lock);
		pthread_cond_destroy(&p->filled);
		pthread_cond_destroy(&p->freed);
	}
	return p;
}

/* hand_over - the caller's batch to the writer, a free one back; 0, or -1 once FN failed */
static int hand_over(struct rowpipe *p)
{
	int failed;

	pthread_mutex_lock(&p->lock);
	p->full[p->nfull++] = p->cur;
	pthread_cond_signal(&p->filled);
	while (p->nfree == 0)
		pthread_cond_wait(&p->freed, &p->lock);
	p->cur = p->free[--p->nfree];
	failed = p->failed;
	pthread_mutex_unlock(&p->lock);
	return failed ? -1 : 0;
}

int rowpipe_put(void *pipe, const struct store_row_out *row)
{
	struct rowpipe *p = pipe;
	struct rbatch *b;
	struct store_row_out *r;
	size_t need;

	if (!p->threaded) {
		if (!p->failed && p->fn(p->ctx, row) < 0)
			p->failed = 1;
		return p->failed ? -1 : 0;
	}
	need = (row->record ? row->record_len + 1 : 0) + len_of(row->problem) +
	       len_of(row->address) + len_of(row->status) + len_of(row->reason) +
	       len_of(row->detail) + len_of(row->enhanced_code) + len_of(row->smtp_message) +
	       len_of(row->mx_host) + len_of(row->suggestion) + len_of(row->domain) +
	       len_of(row->prev_status);
	b = p->cur;
	if ((b->n == ROWPIPE_BATCH_ROWS || (b->n > 0 && b->used + need > b->cap)) && hand_over(p) < 0)
		return -1;
	b = p->cur;
	if (need > b->cap) { /* one row bigger than a batch: an empty batch grows to hold it */
		char *a = realloc(b->arena, need);
		if (a == NULL)
			abort();
		b->arena = a;
		b->cap = need;
	}
	r = &b->row[b->n++];
	*r = *row;
	r->record = keep(b, row->record, row->record_len);
	r->problem = keep_str(b, row->problem);
	r->address = keep_str(b, row->address);
	r->status = keep_str(b, row->status);
	r->reason = keep_str(b, row->reason);
	r->detail = keep_str(b, row->detail);
	r->enhanced_code = keep_str(b, row->enhanced_code);
	r->smtp_message = keep_str(b, row->smtp_message);
	r->mx_host = keep_str(b, row->mx_host);
	r->suggestion = keep_str(b, row->suggestion);
	r->domain = keep_str(b, row->domain);
	r->prev_status = keep_str(b, row->prev_status);
	return 0;
}

int rowpipe_finish(struct rowpipe *p)
{
	int failed;

	if (p->threaded) {
		pthread_mutex_lock(&p->lock);
		if (p->cur->n > 0)
			p->full[p->nfull++] = p->cur;
		else
			p->free[p->nfree++] = p->cur;
		p->cur = NULL;
		p->done = 1;
		pthread_cond_signal(&p->filled);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thread, NULL);
		for (size_t i = 0; i < p->nfree; i++)
			batch_free(p->free[i]);
		pthread_mutex_destroy(&p->lock);
		pthread_cond_destroy(&p->filled);
		pthread_cond_destroy(&p->freed);
	}
	failed = p->failed;
	free(p);
	return failed ? -1 : 0;
}
