/*
 * report - report.json writer (see report.h).
 */
#include "exporters/report.h"

#include "common/json.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void report_tally_add(struct report_tally *t, enum verdict_status status, const char *reason,
                      int duplicate)
{
	const char *sname = duplicate ? "duplicate" : verdict_status_name(status);
	size_t i;

	t->rows++;
	if (duplicate)
		t->duplicates++;
	else
		t->by_status[status]++;
	for (i = 0; i < t->nreasons; i++)
		if (strcmp(t->reason[i].reason, reason) == 0 && strcmp(t->reason[i].status, sname) == 0)
			break;
	if (i == t->nreasons) {
		if (t->nreasons == REPORT_MAX_REASONS)
			return; /* cannot happen with the closed vocabulary; counts above stay right */
		snprintf(t->reason[i].status, sizeof t->reason[i].status, "%s", sname);
		snprintf(t->reason[i].reason, sizeof t->reason[i].reason, "%s", reason);
		t->reason[i].count = 0;
		t->nreasons++;
	}
	t->reason[i].count++;
}

void report_tally_change(struct report_tally *t, enum verdict_status prev,
                         enum verdict_status cur)
{
	t->changes[prev][cur]++;
	t->changed++;
}

/* json_transitions - "transitions": {"PREV->CUR": rows, ...}, the pairs with rows, in the
 * order of the statuses */
static void json_transitions(FILE *f, const struct report_tally *t)
{
	int first = 1;

	fprintf(f, "\"transitions\": {");
	for (int p = 0; p < STATUS_COUNT; p++)
		for (int c = 0; c < STATUS_COUNT; c++) {
			if (t->changes[p][c] == 0)
				continue;
			fprintf(f, "%s\"%s->%s\": %lld", first ? "" : ", ",
			        verdict_status_name((enum verdict_status)p),
			        verdict_status_name((enum verdict_status)c), (long long)t->changes[p][c]);
			first = 0;
		}
	fprintf(f, "}");
}

static void json_tally(FILE *f, const struct report_tally *t, const char *indent)
{
	fprintf(f, "{\n%s  \"rows\": %lld,\n%s  \"duplicates\": %lld,\n%s  \"verdicts\": {", indent,
	        (long long)t->rows, indent, (long long)t->duplicates, indent);
	for (int s = 0; s < STATUS_COUNT; s++) {
		const char *name = verdict_status_name((enum verdict_status)s);
		int first = 1;
		fprintf(f, "%s\n%s    \"%s\": {\"count\": %lld, \"reasons\": {", s ? "," : "", indent, name,
		        (long long)t->by_status[s]);
		for (size_t i = 0; i < t->nreasons; i++) {
			if (strcmp(t->reason[i].status, name) != 0)
				continue;
			fprintf(f, "%s", first ? "" : ", ");
			json_put_string(f, t->reason[i].reason);
			fprintf(f, ": %lld", (long long)t->reason[i].count);
			first = 0;
		}
		fprintf(f, "}}");
	}
	fprintf(f, "\n%s  },\n%s  ", indent, indent);
	json_transitions(f, t);
	fprintf(f, "\n%s}", indent);
}

static void json_time(FILE *f, int64_t t)
{
	char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL) {
		fprintf(f, "null");
		return;
	}
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_put_string(f, buf);
}

/* json_export - the "export" object: which export this report belongs to */
static void json_export(FILE *f, const struct report_export *x)
{
	fprintf(f, "{\"id\": ");
	json_put_string(f, x->id);
	fprintf(f, ", \"store\": ");
	if (x->store)
		json_put_string(f, x->store);
	else
		fprintf(f, "null");
	fprintf(f, ", \"list_ids\": [");
	for (size_t i = 0; i < x->nlist_ids; i++)
		fprintf(f, "%s%lld", i ? ", " : "", (long long)x->list_ids[i]);
	fprintf(f, "], \"gzip\": %s}", x->gzip ? "true" : "false");
}

/* json_shards - ,"shards": [{"shard", "of", "store", "rows", "run"}] of a merge */
static void json_shards(FILE *f, const struct report_export *x)
{
	fprintf(f, ",\n  \"shards\": [");
	for (size_t i = 0; i < x->nshards; i++) {
		const struct report_shard *sh = &x->shards[i];
		fprintf(f, "%s\n    {\"shard\": %d, \"of\": %d, \"store\": ", i ? "," : "", sh->k,
		        sh->n);
		json_put_string(f, sh->store);
		fprintf(f, ", \"rows\": %lld, \"run\": %s}", (long long)sh->rows,
		        sh->run_json ? sh->run_json : "null");
	}
	fprintf(f, "\n  ]");
}

/* json_list - one entry of "lists", after SEP: the list, its import, its problems, its counts */
static void json_list(FILE *f, const struct report_list *rl, const char *sep)
{
	const struct store_list *l = rl->list;

	fprintf(f, "%s\n    {\n      \"name\": ", sep);
	json_put_string(f, l->name);
	fprintf(f, ",\n      \"folder\": ");
	json_put_string(f, rl->dir);
	/* A list whose bytes ended early is not complete, whatever its import state. */
	fprintf(f, ",\n      \"complete\": %s,\n      \"input_error\": ",
	        l->done && l->input_error == NULL ? "true" : "false");
	if (l->input_error)
		json_put_string(f, l->input_error);
	else
		fprintf(f, "null");
	fprintf(f, ",\n      \"has_header\": %s,\n      \"email_column\": ",
	        l->has_header ? "true" : "false");
	if (l->email_col >= 0)
		fprintf(f, "%d", l->email_col + 1);
	else
		fprintf(f, "null");
	fprintf(f, ",\n      \"delimiter\": ");
	json_put_string(f, l->delimiter);
	fprintf(f, ",\n      \"gzip\": %s,\n      \"blank_lines\": %lld,\n      \"imported_at\": ",
	        l->gzip ? "true" : "false", (long long)l->blank_lines);
	json_time(f, l->finished_at ? l->finished_at : l->started_at);
	fprintf(f, ",\n      \"import_seconds\": %.3f,\n      \"problems\": {", l->import_secs);
	for (size_t p = 0; p < rl->nproblems; p++) {
		fprintf(f, "%s\n        ", p ? "," : "");
		json_put_string(f, rl->problems[p].kind);
		fprintf(f, ": {\"count\": %lld, \"first_line\": %lld}",
		        (long long)rl->problems[p].count,
		        (long long)rl->problems[p].first_line);
	}
	fprintf(f, "%s},\n      \"counts\": ", rl->nproblems ? "\n      " : "");
	json_tally(f, &rl->tally, "      ");
	fprintf(f, "\n    }");
}

int report_write(FILE *f, const char *shown, const struct report_export *x,
                 const struct report_list *lists, size_t nlists,
                 const struct report_tally *total, const struct report_file *files,
                 size_t nfiles, double export_secs, const char *run_json, char *err,
                 size_t errlen)
{
	double import_secs = 0;

	fprintf(f, "{\n  \"mailsift_version\": ");
	json_put_string(f, MAILSIFT_VERSION);
	fprintf(f, ",\n  \"generated_at\": ");
	json_time(f, (int64_t)time(NULL));
	fprintf(f, ",\n  \"export\": ");
	json_export(f, x);
	if (x->nshards > 0)
		json_shards(f, x);
	fprintf(f, ",\n  \"total\": ");
	json_tally(f, total, "  ");
	fprintf(f, ",\n  \"lists\": [");
	for (size_t i = 0; i < nlists; i++) {
		import_secs += lists[i].list->import_secs;
		json_list(f, &lists[i], i ? "," : "");
	}
	fprintf(f, "\n  ],\n  \"files\": [");
	for (size_t i = 0; i < nfiles; i++) {
		fprintf(f, "%s\n    {\"path\": ", i ? "," : "");
		json_put_string(f, files[i].path);
		fprintf(f, ", \"rows\": %lld, \"bytes\": %lld}", (long long)files[i].rows,
		        (long long)files[i].bytes);
	}
	fprintf(f, "\n  ],\n  \"timings\": {\"import_seconds\": %.3f, \"export_seconds\": %.3f",
	        import_secs, export_secs);
	if (export_secs > 0)
		fprintf(f, ", \"export_rows_per_second\": %.0f", (double)total->rows / export_secs);
	fprintf(f, "}");
	if (run_json)
		fprintf(f, ",\n  \"run\": %s", run_json);
	fprintf(f, "\n}\n");
	if (fflush(f) != 0 || ferror(f)) {
		snprintf(err, errlen, "%s/report.json: %s", shown, strerror(errno ? errno : EIO));
		return -1;
	}
	return 0;
}
