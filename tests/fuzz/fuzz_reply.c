/*
 * fuzz_reply - libFuzzer target for the SMTP reply parser and classifier (engine/reply.h).
 *
 * The input is a server's byte stream: it is split on '\n', each line cut to REPLY_LINE_MAX
 * like engine/smtp.c does and fed from an exactly sized heap copy (a read past its end shows
 * under ASan) into one parser that runs on across replies, as a session's parser does. Every
 * completed reply is classified for every command. Aborts (a fuzzer finding) when a reply's
 * code is outside 200..599, when its enhanced code is not empty or a well-formed
 * class.subject.detail of the code's class, when a text is unterminated, holds a control byte
 * or is not shorter than its buffer, when the line counts disagree or pass REPLY_LINES_MAX,
 * when an EHLO bit is set that no REPLY_EXT_* names, when a refused reply leaves anything
 * behind, or when an outcome is out of range, differs between two calls, or breaks the class
 * rules (2xx accepted, 421 throttled, a 4xx never permanent and never "no mailbox", "too many
 * recipients" only a 451, 452 or 552 to RCPT).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/reply.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_EXT_ALL (REPLY_EXT_STARTTLS | REPLY_EXT_SMTPUTF8 | REPLY_EXT_PIPELINING | \
                      REPLY_EXT_8BITMIME | REPLY_EXT_SIZE)
#define FUZZ_OUTCOMES (OUTCOME_TOO_MANY_RCPTS + 1) /* the last of enum reply_outcome */

/* fuzz_text_ok - S is NUL-terminated within SIZE bytes and holds no control byte */
static int fuzz_text_ok(const char *s, size_t size)
{
	const char *nul = memchr(s, '\0', size);

	if (nul == NULL)
		return 0;
	for (const char *p = s; p < nul; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7F)
			return 0;
	return 1;
}

/* fuzz_enhanced_ok - E is "" or class.subject.detail (1-3 digits each) with class CLS */
static int fuzz_enhanced_ok(const char *e, size_t size, char cls)
{
	const char *nul = memchr(e, '\0', size);
	size_t i = 2;

	if (nul == NULL)
		return 0;
	if (e[0] == '\0')
		return 1;
	if (e[0] != cls || e[1] != '.')
		return 0;
	for (int part = 0; part < 2; part++) {
		size_t start = i;
		while (e[i] >= '0' && e[i] <= '9')
			i++;
		if (i == start || i - start > 3)
			return 0;
		if (part == 0 && e[i++] != '.')
			return 0;
	}
	return e[i] == '\0';
}

/* fuzz_check_reply - the invariants of a completed reply, and of its classification */
static void fuzz_check_reply(const struct reply_parser *p)
{
	const struct reply *r = &p->r;
	int cls = r->code / 100;

	FUZZ_ASSERT(r->code >= 200 && r->code <= 599);
	FUZZ_ASSERT(fuzz_enhanced_ok(r->enhanced, sizeof r->enhanced, (char)('0' + cls)));
	FUZZ_ASSERT(fuzz_text_ok(r->text, sizeof r->text));
	FUZZ_ASSERT(fuzz_text_ok(r->all_text, sizeof r->all_text));
	FUZZ_ASSERT(r->lines >= 1 && r->lines <= REPLY_LINES_MAX && r->lines == p->lines);
	FUZZ_ASSERT((r->ehlo & ~(unsigned)FUZZ_EXT_ALL) == 0);
	FUZZ_ASSERT(r->ehlo == 0 || (cls == 2 && r->lines >= 2));
	FUZZ_ASSERT(p->code == 0); /* ready for the next reply */

	for (int c = CMD_BANNER; c <= CMD_QUIT; c++) {
		enum reply_outcome o = reply_classify((enum reply_cmd)c, r);
		const char *name = reply_outcome_name(o);
		FUZZ_ASSERT((int)o >= 0 && (int)o < FUZZ_OUTCOMES);
		FUZZ_ASSERT(name != NULL && strcmp(name, "invalid") != 0);
		FUZZ_ASSERT(reply_classify((enum reply_cmd)c, r) == o); /* pure */
		FUZZ_ASSERT((cls == 2) == (o == OUTCOME_ACCEPTED));
		if (cls == 3)
			FUZZ_ASSERT(o == OUTCOME_PROTOCOL);
		if (r->code == 421)
			FUZZ_ASSERT(o == OUTCOME_THROTTLED);
		if (cls == 4)
			FUZZ_ASSERT(o == OUTCOME_TEMPORARY || o == OUTCOME_THROTTLED ||
			            o == OUTCOME_FULL || o == OUTCOME_PROTOCOL ||
			            o == OUTCOME_TOO_MANY_RCPTS);
		if (o == OUTCOME_TOO_MANY_RCPTS)
			FUZZ_ASSERT(r->code == 451 || r->code == 452 || r->code == 552);
		if (o == OUTCOME_NO_MAILBOX || o == OUTCOME_DISABLED || o == OUTCOME_NULL_MX ||
		    o == OUTCOME_FULL || o == OUTCOME_TOO_MANY_RCPTS)
			FUZZ_ASSERT(c == CMD_RCPT);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reply_parser p;
	const uint8_t *s = data, *end = data + size;

	reply_parser_init(&p);
	while (s < end) {
		const uint8_t *nl = memchr(s, '\n', (size_t)(end - s));
		size_t len = (size_t)((nl != NULL ? nl : end) - s);
		char *line;
		enum reply_feed f;

		if (len > REPLY_LINE_MAX)
			len = REPLY_LINE_MAX;
		line = malloc(len > 0 ? len : 1);
		if (line == NULL)
			return 0;
		if (len > 0)
			memcpy(line, s, len);
		f = reply_feed_line(&p, line, len);
		free(line);

		FUZZ_ASSERT(f == REPLY_MORE || f == REPLY_DONE || f == REPLY_BAD);
		if (f == REPLY_DONE) {
			fuzz_check_reply(&p);
		} else if (f == REPLY_BAD) {
			FUZZ_ASSERT(p.code == 0 && p.r.code == 0 && p.r.lines == 0);
			FUZZ_ASSERT(p.r.enhanced[0] == '\0' && p.r.text[0] == '\0' && p.r.all_text[0] == '\0');
		} else {
			FUZZ_ASSERT(p.code >= 200 && p.code <= 599 && p.code == p.r.code);
			FUZZ_ASSERT(p.lines >= 1 && p.lines <= REPLY_LINES_MAX && p.r.lines == p.lines);
			FUZZ_ASSERT(fuzz_text_ok(p.r.all_text, sizeof p.r.all_text));
		}
		if (nl == NULL)
			break;
		s = nl + 1;
	}
	return 0;
}
