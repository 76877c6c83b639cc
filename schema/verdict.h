/*
 * verdict - the vocabulary shared by every stage: the five statuses, the closed list of
 * reasons, and the address flags. The store keeps these as text (status, reason) and bits
 * (flags); this header is the one place that names them.
 */
#ifndef MAILSIFT_VERDICT_H
#define MAILSIFT_VERDICT_H

#include <stddef.h>

enum verdict_status {
	STATUS_VALID = 0,
	STATUS_INVALID,
	STATUS_RISKY,
	STATUS_CATCH_ALL,
	STATUS_UNKNOWN,
	STATUS_COUNT
};

/* Reasons: a closed vocabulary. Keep in step with verdict_reasons[] in verdict.c. */
#define REASON_ACCEPTED "accepted"
#define REASON_MAILBOX_NOT_FOUND "mailbox_not_found"
#define REASON_DISABLED "disabled"
#define REASON_FULL_INBOX "full_inbox"
#define REASON_CATCH_ALL "catch_all"
#define REASON_ROLE "role"
#define REASON_DISPOSABLE "disposable"
#define REASON_SYNTAX "syntax"
#define REASON_NO_ADDRESS "no_address"
#define REASON_ROW_TOO_LONG "row_too_long"
#define REASON_NXDOMAIN "nxdomain"
#define REASON_NULL_MX "null_mx"
#define REASON_NO_MAIL_HOST "no_mail_host"
#define REASON_DNS_ERROR "dns_error"
#define REASON_GREYLISTED "greylisted"
#define REASON_TIMEOUT "timeout"
#define REASON_CONNECT_FAILED "connect_failed"
#define REASON_BLOCKED "blocked"
#define REASON_TLS_ERROR "tls_error"
#define REASON_PROTOCOL_ERROR "protocol_error"
#define REASON_UNSUPPORTED "unsupported"
#define REASON_NOT_VERIFIED "not_verified"
#define REASON_THROTTLED "throttled"         /* the host kept pushing back (421, 4.7.x rate) */
#define REASON_REJECTED "rejected"           /* a permanent refusal that does not say the mailbox is missing */
#define REASON_MX_NOT_PUBLIC "mx_not_public" /* every MX address is loopback, private, ...: never probed */

enum addr_flag {
	FLAG_ROLE = 1 << 0,       /* role account: info@, admin@, ... */
	FLAG_DISPOSABLE = 1 << 1, /* disposable (throwaway) domain */
	FLAG_FREE = 1 << 2,       /* free mailbox provider */
	FLAG_CATCH_ALL = 1 << 3   /* the domain accepts any local part */
};

/* verdict_status_name - "valid", "invalid", ... (also the export file's base name) */
const char *verdict_status_name(enum verdict_status s);

/* verdict_status_from_name - the status named NAME, or -1 */
int verdict_status_from_name(const char *name);

/* verdict_reason_known - 1 when REASON is in the closed vocabulary */
int verdict_reason_known(const char *reason);

/* verdict_flags_text - "role;free" style text for FLAGS into buf; returns buf */
char *verdict_flags_text(unsigned flags, char *buf, size_t n);

#endif
