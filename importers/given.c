/*
 * given - addresses handed over one by one, as rows of a list of the job store (see given.h).
 */
#include "importers/given.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/csvquote.h"

struct store_addr_in given_addr(const struct check_result *cr)
{
	struct store_addr_in a = {
		.key = cr->addr.key,
		.address = cr->addr.address,
		.domain = cr->addr.domain,
		.flags = cr->flags,
		.suggestion = cr->suggestion[0] ? cr->suggestion : NULL,
	};
	return a;
}

/* add_row - INPUT (checked as CR) as row ROW_NO of LIST_ID: its record is the address cell as
 * a one-field CSV record, as a plain list's would be */
static int add_row(struct store *s, int64_t list_id, int64_t row_no, const char *input,
                   const struct check_result *cr)
{
	size_t len = strlen(input);
	size_t cap = 2 * len + 3; /* worst case: every byte a doubled quote, and 2 quotes */
	char *record = malloc(cap);
	int rc;

	if (record == NULL)
		return -1;
	struct store_addr_in a = given_addr(cr);
	struct store_row_in row = {
		.list_id = list_id,
		.row_no = row_no,
		.line = row_no,
		.record = record,
		.record_len = csvquote_write(record, cap, input, len, ',', CSVQUOTE_EDGES),
		.addr = &a,
	};
	rc = store_row_add(s, &row);
	free(record);
	return rc;
}

int64_t given_import(struct store *s, const char *name, const char *identity,
                     const char *const *inputs, const struct check_result *checked, size_t n,
                     char *err, size_t errlen)
{
	int64_t now = (int64_t)time(NULL), rows = 0;
	struct store_list l;

	if (store_begin(s, err, errlen) < 0)
		return -1;
	memset(&l, 0, sizeof l);
	l.id = store_list_create(s, name, identity, now);
	l.email_col = 0;
	l.max_fields = 1;
	if (l.id < 0 || store_list_set_layout(s, &l) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if (checked[i].problem != ADDR_OK)
			continue;
		if (add_row(s, l.id, (int64_t)i + 1, inputs[i], &checked[i]) < 0)
			goto fail;
		rows = (int64_t)i + 1;
	}
	if (store_list_progress(s, l.id, rows, 1, 0) < 0 ||
	    store_list_finish(s, l.id, now, 0, NULL) < 0)
		goto fail;
	if (store_commit(s, err, errlen) < 0)
		return -1;
	return l.id;
fail:
	snprintf(err, errlen, "job store: %s", store_errmsg(s));
	store_rollback(s);
	return -1;
}
