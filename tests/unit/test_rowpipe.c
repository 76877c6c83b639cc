/*
 * test_rowpipe - the export's row hand-over between threads (exporters/rowpipe.c): every row
 * arrives once, in order, whole, though the caller's copy is overwritten as soon as it is put;
 * a row bigger than a batch; a row function that fails stops the pipe and says so; the same
 * without a thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporters/rowpipe.h"
#include "tests/check.h"

#define ROWS 20000

struct seen {
	int64_t n;          /* rows received */
	int in_order;       /* each row's number one more than the last's */
	int intact;         /* each row's strings as put */
	int64_t fail_at;    /* the row number at which the function fails; 0: never */
	size_t biggest;     /* longest record received */
};

static void text_of(int64_t i, char *out, size_t n)
{
	snprintf(out, n, "row %lld,\"x, y\",%lld@example.com", (long long)i, (long long)i * 7);
}

static int receive(void *ctx, const struct store_row_out *r)
{
	struct seen *s = ctx;
	char want[128];

	if (s->fail_at && r->row_no == s->fail_at)
		return -1;
	s->in_order &= r->row_no == s->n + 1;
	s->n++;
	if (r->record_len > 1000) {
		s->intact &= r->record[0] == 'B' && r->record[r->record_len - 1] == 'E';
	} else {
		text_of(r->row_no, want, sizeof want);
		s->intact &= r->record_len == strlen(want) && memcmp(r->record, want, r->record_len) == 0;
		s->intact &= r->status && strcmp(r->status, r->row_no % 2 ? "valid" : "invalid") == 0;
		s->intact &= (r->row_no % 3 == 0) == (r->detail == NULL);
		s->intact &= r->prev_status == NULL && r->dup_of == r->row_no * 2;
	}
	if (r->record_len > s->biggest)
		s->biggest = r->record_len;
	return 0;
}

/* run - ROWS rows through a pipe (THREADED or not), every 5000th a record of BIG bytes, the
 * caller's buffers scribbled over after each put; the number of puts that succeeded */
static int64_t run(struct seen *s, int threaded, size_t big, int *finish)
{
	struct rowpipe *p = rowpipe_start(receive, s, threaded);
	char *rec = malloc(big > 128 ? big : 128), status[32], detail[32];
	int64_t ok = 0;

	for (int64_t i = 1; i <= ROWS; i++) {
		struct store_row_out r = {.row_no = i, .line = i + 1, .dup_of = i * 2};
		if (big && i % 5000 == 0) {
			memset(rec, 'm', big);
			rec[0] = 'B';
			rec[big - 1] = 'E';
			r.record_len = big;
		} else {
			text_of(i, rec, 128);
			r.record_len = strlen(rec);
		}
		r.record = rec;
		snprintf(status, sizeof status, "%s", i % 2 ? "valid" : "invalid");
		snprintf(detail, sizeof detail, "d%lld", (long long)i);
		r.status = status;
		r.detail = i % 3 == 0 ? NULL : detail;
		if (rowpipe_put(p, &r) < 0)
			break;
		ok++;
		memset(rec, '?', 64); /* gone, as SQLite's text is at the next step */
		memset(status, '?', sizeof status - 1);
	}
	*finish = rowpipe_finish(p);
	free(rec);
	return ok;
}

static void test_every_row_in_order(void)
{
	for (int threaded = 0; threaded <= 1; threaded++) {
		struct seen s = {.in_order = 1, .intact = 1};
		int fin;
		int64_t ok = run(&s, threaded, 3 * ROWPIPE_BATCH_BYTES, &fin);
		CHECK(ok == ROWS && fin == 0, "threaded %d: %lld put, finish %d", threaded, (long long)ok, fin);
		CHECK(s.n == ROWS, "threaded %d: %lld rows received", threaded, (long long)s.n);
		CHECK(s.in_order, "threaded %d: in order", threaded);
		CHECK(s.intact, "threaded %d: each row as put, though the caller's copy was overwritten",
		      threaded);
		CHECK(s.biggest == 3 * ROWPIPE_BATCH_BYTES, "threaded %d: a row bigger than a batch (%zu)",
		      threaded, s.biggest);
	}
}

static void test_failure_stops(void)
{
	for (int threaded = 0; threaded <= 1; threaded++) {
		struct seen s = {.in_order = 1, .intact = 1, .fail_at = 7000};
		int fin;
		int64_t ok = run(&s, threaded, 0, &fin);
		CHECK_INT(fin, -1, "the failure is told at the end");
		CHECK(s.n == 6999, "threaded %d: nothing written after the failing row (%lld)", threaded,
		      (long long)s.n);
		CHECK(ok < ROWS && ok >= 6999, "threaded %d: the caller stopped soon after (%lld put)",
		      threaded, (long long)ok);
		CHECK(ok <= 7000 + 2 * ROWPIPE_BATCH_ROWS, "threaded %d: within two batches (%lld)",
		      threaded, (long long)ok);
	}
}

TESTS(test_every_row_in_order, test_failure_stops)
