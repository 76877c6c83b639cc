/*
 * reply - SMTP replies: assemble one (multiline, bounded) reply from the lines a server sends,
 * and classify it for the command it answers. Pure: no I/O, no global state.
 *
 * Classification order (DESIGN.md "Verdicts"): the reply code's class first (a 4xx is never
 * "does not exist"), then the enhanced status code (RFC 3463: X.1.1, X.1.0, X.1.10 mailbox;
 * X.2.1 disabled; X.2.2 full; X.7.x policy; ...), then the text, only where code and enhanced
 * code leave it open. A reply about us (our IP, HELO, sender, rate, reputation, rDNS) is never
 * evidence against the address.
 */
#ifndef MAILSIFT_REPLY_H
#define MAILSIFT_REPLY_H

#include <stddef.h>

#define REPLY_LINE_MAX 2048     /* bytes in one reply line kept (RFC 5321 says 512; be lenient) */
#define REPLY_LINES_MAX 64      /* lines in one multiline reply before it is hostile */
#define REPLY_TEXT_MAX 1024     /* bytes of the first line's text kept for reports */

/* One complete reply. */
struct reply {
	int code;                        /* 200..599 */
	char enhanced[16];               /* "5.1.1" or "" (from the first line that has one) */
	char text[REPLY_TEXT_MAX];       /* text of the first line, after code and enhanced code */
	char all_text[REPLY_LINE_MAX];   /* texts of every line joined by ' ', truncated: for matching */
	size_t lines;                    /* lines in the reply */
	unsigned ehlo;                   /* for an EHLO reply: REPLY_EXT_* bits advertised */
	/* Texts are trimmed, always NUL-terminated, and hold no control byte (NUL and the other
	 * C0 controls read as '?', tab as space); high bytes are kept as sent. The ehlo bits come
	 * from the first word of lines 2.. of any multiline 2xx: they mean something for EHLO. */
};

/* EHLO extensions we care about. */
enum reply_ext {
	REPLY_EXT_STARTTLS = 1 << 0,
	REPLY_EXT_SMTPUTF8 = 1 << 1,
	REPLY_EXT_PIPELINING = 1 << 2,
	REPLY_EXT_8BITMIME = 1 << 3,
	REPLY_EXT_SIZE = 1 << 4,
};

/* Assembles a reply line by line. After REPLY_DONE or REPLY_BAD the next line fed starts a
 * new reply (no init needed); r holds the finished reply until then (zeroed after BAD). */
struct reply_parser {
	struct reply r;     /* the reply being assembled */
	size_t lines;       /* lines so far; after BAD, more than REPLY_LINES_MAX iff that was why */
	int code;           /* code of the first line, 0 before it (and between replies) */
};

enum reply_feed {
	REPLY_MORE = 0,     /* a continuation line: feed the next */
	REPLY_DONE = 1,     /* the reply is complete in parser->r */
	REPLY_BAD = -1      /* not an SMTP reply (garbage, code changed mid-reply, too many lines) */
};

/* reply_parser_init - ready for a new reply */
void reply_parser_init(struct reply_parser *p);

/* reply_feed_line - one line without its CRLF (LEN bytes, may hold any byte); a line longer
 * than REPLY_LINE_MAX must be cut by the caller and fed as is (it is kept truncated; a longer
 * LEN is cut here too). A CR left at the end is dropped. A line is "ddd", "ddd text" or
 * "ddd-text" with ddd in 200..599, the same on every line of a reply (RFC 5321 4.2). */
enum reply_feed reply_feed_line(struct reply_parser *p, const char *line, size_t len);

/* The command a reply answers. */
enum reply_cmd {
	CMD_BANNER,     /* the greeting */
	CMD_EHLO,
	CMD_HELO,
	CMD_STARTTLS,
	CMD_MAIL,       /* MAIL FROM */
	CMD_RCPT,       /* RCPT TO */
	CMD_RSET,
	CMD_QUIT
};

/* What a reply means for the probe. */
enum reply_outcome {
	OUTCOME_ACCEPTED = 0,   /* 2xx (3xx for DATA, which we never send) */
	OUTCOME_NO_MAILBOX,     /* permanent: the mailbox does not exist (5.1.1, 5.1.0, 5.1.10, 550 "user unknown") */
	OUTCOME_DISABLED,       /* permanent: mailbox disabled (5.2.1) */
	OUTCOME_FULL,           /* mailbox full (4.2.2 / 5.2.2): risky, not invalid */
	OUTCOME_NULL_MX,        /* the domain takes no mail (5.1.10 "null MX", RFC 7505) */
	OUTCOME_TEMPORARY,      /* try again later: greylisting, busy, 4xx of any kind */
	OUTCOME_THROTTLED,      /* the server pushes back on us: 421, 4.7.x rate limits: slow down */
	OUTCOME_POLICY,         /* a refusal about us or policy: blocklist, 5.7.x, relay denied, 5xx banner */
	OUTCOME_UNSUPPORTED,    /* the server cannot handle what we asked (SMTPUTF8, 5.5.x command problems, 5.6.7) */
	OUTCOME_PROTOCOL,       /* a reply that makes no sense for the command */
	OUTCOME_UNKNOWN_PERM,   /* 5xx that says nothing we can trust about the mailbox: never invalid */
	OUTCOME_TOO_MANY_RCPTS  /* RCPT: the transaction's recipient limit is reached (452 4.5.3, RFC
	                         * 5321 4.5.3.1.10): ask it again in a new transaction; never a verdict */
};

/* reply_classify - the outcome of reply R to command CMD (the rules, row by row: reply.c) */
enum reply_outcome reply_classify(enum reply_cmd cmd, const struct reply *r);

/* reply_classify_why - reply_classify, and which rule decided into WHY (N bytes): "550 to RCPT
 * TO, perm_rules row: X.1.1 -> no_mailbox" (for transcripts; not on the hot path) */
enum reply_outcome reply_classify_why(enum reply_cmd cmd, const struct reply *r, char *why,
                                      size_t n);

/* reply_outcome_name - "accepted", "no_mailbox", ... for logs and tests */
const char *reply_outcome_name(enum reply_outcome o);

#endif
