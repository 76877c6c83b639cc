/*
 * verify_json - one JSON object a line for `mailsift verify` (see verify_json.h).
 */
#include "exporters/verify_json.h"

#include <string.h>

#include "common/json.h"
#include "common/trace.h"
#include "schema/verdict.h"

void verify_json_write(FILE *out, const struct verify_json_row *a)
{
	char flags[64];

	fprintf(out, "{\"address\": ");
	json_put_string(out, a->input);
	fprintf(out, ", \"normalized\": ");
	json_put_string_or_null(out, a->normalized);
	fprintf(out, ", \"status\": ");
	json_put_string(out, a->status);
	fprintf(out, ", \"reason\": ");
	json_put_string(out, a->reason);
	fprintf(out, ", \"detail\": ");
	json_put_string_or_null(out, a->detail);
	verdict_flags_text(a->flags, flags, sizeof flags);
	fprintf(out, ", \"flags\": [");
	for (char *p = flags, *q; *p; p = q) {
		q = strchr(p, ';');
		size_t n = q ? (size_t)(q - p) : strlen(p);
		fprintf(out, "%s\"%.*s\"", p == flags ? "" : ", ", (int)n, p);
		q = q ? q + 1 : p + n;
	}
	fprintf(out, "], \"suggestion\": ");
	json_put_string_or_null(out, a->suggestion);
	fprintf(out, ", \"mx_hosts\": [");
	for (size_t h = 0; h < a->nmx; h++) {
		fprintf(out, "%s", h ? ", " : "");
		json_put_string(out, a->mx_hosts[h]);
	}
	fprintf(out, "], \"mx_host\": ");
	json_put_string_or_null(out, a->mx_host);
	if (a->smtp_code > 0) {
		fprintf(out, ", \"smtp_code\": %d, \"enhanced_code\": ", a->smtp_code);
		json_put_string_or_null(out, a->enhanced_code);
		fprintf(out, ", \"smtp_message\": ");
		json_put_string(out, a->smtp_message);
	} else {
		fprintf(out, ", \"smtp_code\": null, \"enhanced_code\": null, \"smtp_message\": null");
	}
	fprintf(out, ", \"tls\": %s, \"catch_all\": %s, \"attempts\": %d, \"duration_ms\": %.0f",
	        a->tls ? "true" : "false",
	        a->catch_all > 0 ? "true" : a->catch_all == 0 ? "false" : "null", a->attempts,
	        a->duration_ms);
	if (a->final != VERIFY_JSON_FINAL_OMIT)
		fprintf(out, ", \"final\": %s", a->final == VERIFY_JSON_FINAL_YES ? "true" : "false");
	if (a->with_transcript) {
		fputs(", \"transcript\": ", out);
		trace_write_json(out, a->transcript);
	}
	fprintf(out, "}\n");
}

void verify_json_from_store(struct verify_json_row *row, const struct store_row_out *o)
{
	row->normalized = o->address;
	row->status = o->status;
	row->reason = o->reason;
	row->detail = o->detail;
	row->flags = o->flags;
	row->suggestion = o->suggestion;
	row->mx_host = o->mx_host;
	row->smtp_code = (int)o->smtp_code;
	row->enhanced_code = o->enhanced_code;
	row->smtp_message = o->smtp_message;
	row->tls = o->tls;
	row->attempts = o->attempts;
}
