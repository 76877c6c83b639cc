/*
 * spf - SPF evaluated by libspf2 over our own resolver (engine/spf.h).
 *
 * libspf2's DNS layers are structs of function pointers (spf_dns.h); ours answers each lookup
 * from engine/lookup, one question at a time, and fills libspf2's record set the way its own
 * resolver layer does: addresses as struct in_addr / in6_addr, names and TXT strings as text,
 * h_errno-style statuses (NXDOMAIN HOST_NOT_FOUND, no records NO_DATA, no answer TRY_AGAIN).
 */
#include "engine/spf.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <spf2/spf.h>

#include "common/err.h"
#include "engine/lookup.h"

/* herrno - the h_errno-style status libspf2 expects for ANS */
static int herrno(const struct lookup_answer *ans)
{
	switch (ans->meaning) {
	case DNS_MEANS_OK: return NETDB_SUCCESS;
	case DNS_MEANS_NODATA: return NO_DATA;
	case DNS_MEANS_NOT_EXIST: return HOST_NOT_FOUND;
	default: return TRY_AGAIN;
	}
}

/* fill - ANS's records into RR (TYPE); 0, -1 out of memory */
static int fill(SPF_dns_rr_t *rr, ns_type type, const struct lookup_answer *ans)
{
	for (size_t i = 0; i < ans->n; i++) {
		int idx = rr->num_rr;
		size_t len = strlen(ans->rec[i]) + 1;

		if (type == ns_t_a || type == ns_t_aaaa)
			len = type == ns_t_a ? sizeof(struct in_addr) : sizeof(struct in6_addr);
		if (SPF_dns_rr_buf_realloc(rr, idx, len) != SPF_E_SUCCESS)
			return -1;
		if (type == ns_t_a) {
			if (inet_pton(AF_INET, ans->rec[i], &rr->rr[idx]->a) != 1)
				continue;
		} else if (type == ns_t_aaaa) {
			if (inet_pton(AF_INET6, ans->rec[i], &rr->rr[idx]->aaaa) != 1)
				continue;
		} else {
			memcpy(rr->rr[idx]->txt, ans->rec[i], len);
		}
		rr->num_rr++;
	}
	return 0;
}

/* layer_lookup - libspf2 asks DOMAIN's records of TYPE */
static SPF_dns_rr_t *layer_lookup(SPF_dns_server_t *layer, const char *domain, ns_type type,
                                  int should_cache)
{
	struct lookup *l = layer->hook;
	struct lookup_answer ans;
	SPF_dns_rr_t *rr;

	(void)should_cache;
	if (type != ns_t_a && type != ns_t_aaaa && type != ns_t_mx && type != ns_t_ptr &&
	    type != ns_t_txt)           /* the obsolete type SPF (99): no such records */
		return SPF_dns_rr_new_init(layer, domain, type, 0, NO_DATA);
	lookup_one(l, domain, (enum lookup_type)type, &ans);
	rr = SPF_dns_rr_new_init(layer, domain, type, 300, herrno(&ans));
	if (rr != NULL && ans.meaning == DNS_MEANS_OK && fill(rr, type, &ans) < 0) {
		SPF_dns_rr_free(rr);
		return NULL;
	}
	return rr;
}

/* quiet - libspf2's warnings and notes go to stderr by default: the result says it all */
static void quiet(const char *file, int line, const char *msg)
{
	(void)file;
	(void)line;
	(void)msg;
}

static const char *result_name(SPF_result_t r)
{
	switch (r) {
	case SPF_RESULT_PASS: return "pass";
	case SPF_RESULT_FAIL: return "fail";
	case SPF_RESULT_SOFTFAIL: return "softfail";
	case SPF_RESULT_NEUTRAL: return "neutral";
	case SPF_RESULT_NONE: return "none";
	case SPF_RESULT_TEMPERROR: return "temperror";
	default: return "permerror";
	}
}

int spf_check(struct lookup *l, const char *mail_from, const char *ip, const char *helo,
              struct spf_outcome *out, char *err, size_t errlen)
{
	SPF_dns_server_t layer;
	SPF_server_t *server;
	SPF_request_t *req;
	SPF_response_t *resp = NULL;
	int rc = -1;

	memset(&layer, 0, sizeof layer);
	layer.lookup = layer_lookup;
	layer.name = "mailsift";
	layer.hook = l;
	SPF_warning_handler = quiet;
	SPF_info_handler = quiet;
	SPF_debug_handler = quiet;
	if ((server = SPF_server_new_dns(&layer, 0)) == NULL) {
		err_set(err, errlen, "libspf2: cannot start");
		return -1;
	}
	req = SPF_request_new(server);
	if (req == NULL ||
	    (SPF_request_set_ipv4_str(req, ip) != SPF_E_SUCCESS &&
	     SPF_request_set_ipv6_str(req, ip) != SPF_E_SUCCESS)) {
		err_set(err, errlen, "\"%s\" is not an IP address", ip);
		goto done;
	}
	SPF_request_set_helo_dom(req, helo);
	if (SPF_request_set_env_from(req, mail_from) != 0) {
		err_set(err, errlen, "\"%s\" is not a sender libspf2 can read", mail_from);
		goto done;
	}
	SPF_request_query_mailfrom(req, &resp);
	if (resp == NULL) {
		err_set(err, errlen, "libspf2 gave no result");
		goto done;
	}
	out->result = result_name(SPF_response_result(resp));
	snprintf(out->why, sizeof out->why, "%s",
	         SPF_response_get_header_comment(resp) ? SPF_response_get_header_comment(resp) : "");
	rc = 0;
done:
	if (resp != NULL)
		SPF_response_free(resp);
	if (req != NULL)
		SPF_request_free(req);
	SPF_server_free(server);
	return rc;
}
