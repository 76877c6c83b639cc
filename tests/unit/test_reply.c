/*
 * test_reply - SMTP reply assembly and classification (engine/reply.h).
 *
 * The classification table holds replies as real servers send them (Postfix and its postscreen,
 * postgrey, Exim, Sendmail, qmail, OpenSMTPD, Dovecot/Cyrus, Gmail, Microsoft 365 / Outlook.com,
 * Yahoo, iCloud, Proofpoint, Mimecast, Barracuda, Zoho, Yandex, Mail.ru, GMX/web.de, ...), with
 * documentation addresses and IPs (example.com, 192.0.2.0/24) in place of real ones. The
 * expected outcomes come from RFC 5321, 3463, 7505, 7504, 6531, DESIGN.md "Verdicts" and the
 * decisions written in reply.c, reasoned row by row, not from running the classifier. Each row's
 * lines go through the parser (every line an exactly sized heap copy, so a read past its end
 * shows under ASan) before the reply is classified, so every row tests both halves.
 *
 * The parser tests cover multiline assembly, enhanced code extraction, mismatched codes,
 * garbage, NUL and high bytes, over-long lines, the line limit and the EHLO extension bits.
 */
#include <stdlib.h>

#include "engine/reply.h"
#include "tests/check.h"

#define S_(lit) lit, sizeof(lit) - 1 /* a string literal's bytes and their count */

/* feed - one line of LEN bytes through P from an exactly sized heap copy */
static enum reply_feed feed(struct reply_parser *p, const char *line, size_t len)
{
	char *copy = malloc(len > 0 ? len : 1);
	enum reply_feed f;

	if (copy == NULL)
		abort();
	if (len > 0)
		memcpy(copy, line, len);
	f = reply_feed_line(p, copy, len);
	free(copy);
	return f;
}

/* feed_reply - the '\n'-separated LINES through a fresh P; the result of the last line, or
 * REPLY_BAD at once when a line before the last does not ask for more */
static enum reply_feed feed_reply(struct reply_parser *p, const char *lines)
{
	enum reply_feed f = REPLY_BAD;

	reply_parser_init(p);
	for (const char *s = lines;;) {
		const char *nl = strchr(s, '\n');
		size_t len = nl != NULL ? (size_t)(nl - s) : strlen(s);
		f = feed(p, s, len);
		if (nl == NULL)
			return f;
		if (f != REPLY_MORE)
			return REPLY_BAD;
		s = nl + 1;
	}
}

/* ---- classification table ---- */

struct row {
	enum reply_cmd cmd;          /* the command the reply answers */
	const char *lines;           /* the reply, lines separated by '\n' */
	enum reply_outcome want;
};

#define BANNER(l, w) {CMD_BANNER, l, OUTCOME_##w}
#define EHLO(l, w) {CMD_EHLO, l, OUTCOME_##w}
#define HELO(l, w) {CMD_HELO, l, OUTCOME_##w}
#define STLS(l, w) {CMD_STARTTLS, l, OUTCOME_##w}
#define MAIL(l, w) {CMD_MAIL, l, OUTCOME_##w}
#define RCPT(l, w) {CMD_RCPT, l, OUTCOME_##w}
#define RSET(l, w) {CMD_RSET, l, OUTCOME_##w}
#define QUIT(l, w) {CMD_QUIT, l, OUTCOME_##w}

static const struct row rows[] = {
	/* ---- Greetings. ---- */
	BANNER("220 mx.example.com ESMTP Postfix (Debian/GNU)", ACCEPTED),
	BANNER("220 mx.google.com ESMTP a1si1234567pgb.12 - gsmtp", ACCEPTED),
	BANNER("220 mx.example.com ESMTP Exim 4.96 Mon, 01 Jan 2024 00:00:00 +0000", ACCEPTED),
	BANNER("220-mx.example.com ESMTP Sendmail 8.17.1/8.17.1; Mon, 1 Jan 2024 00:00:00 GMT\n"
	       "220-Unauthorized use prohibited.\n"
	       "220 Ready", ACCEPTED),                           /* 2xx: the words do not matter */
	BANNER("220 mta7.am0.yahoodns.net ESMTP ready", ACCEPTED),
	/* A 5xx greeting is a refusal of us (DESIGN.md). */
	BANNER("554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org", POLICY),
	BANNER("554 mx.example.com ESMTP not accepting messages", POLICY),
	BANNER("554 No SMTP service here", POLICY),
	BANNER("554-web.de (mxweb110) Nemesis ESMTP Service not available\n"
	       "554-No SMTP service\n"
	       "554-Bad DNS PTR resource record.\n"
	       "554 For explanation visit https://web.de/email/senderguidelines?ip=192.0.2.1&c=rdns", POLICY),
	BANNER("554-gmx.net (mxgmx017) Nemesis ESMTP Service not available\n"
	       "554-No SMTP service\n"
	       "554-IP address is black listed.\n"
	       "554 For explanation visit https://www.gmx.net/mail/senderguidelines?ip=192.0.2.1&c=bl", POLICY),
	BANNER("553 5.7.1 [BL21] Connections will not be accepted from 192.0.2.1, because the ip is in "
	       "Spamhaus's list; see https://postmaster.yahooinc.com/error-codes", POLICY),
	/* RFC 7504 521 / RFC 7505 556: the host takes mail from nobody, not a refusal of us. */
	BANNER("521 5.3.2 mail.example.com does not accept mail", UNKNOWN_PERM),
	BANNER("556 5.1.10 mail.example.com: domain does not accept mail", UNKNOWN_PERM),
	/* 421: closing the channel on us. */
	BANNER("421 4.7.0 mx.example.com Error: too many connections from 192.0.2.1", THROTTLED),
	BANNER("421 4.3.2 All server ports are busy", THROTTLED),
	BANNER("421 Too many concurrent SMTP connections from this IP address; please try again later.", THROTTLED),
	BANNER("421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or "
	       "user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes", THROTTLED),
	BANNER("421 Unable to process connection at this time", THROTTLED),
	/* A 4xx greeting other than 421 (nonstandard): try later. */
	BANNER("451 Temporary local problem - please try later", TEMPORARY),
	BANNER("354 what?", PROTOCOL),

	/* ---- EHLO: a 5xx means "use HELO" (RFC 5321 4.1.4). ---- */
	EHLO("250-mx.google.com at your service, [192.0.2.1]\n250-SIZE 157286400\n250-8BITMIME\n"
	     "250-STARTTLS\n250-ENHANCEDSTATUSCODES\n250-PIPELINING\n250-CHUNKING\n250 SMTPUTF8", ACCEPTED),
	EHLO("250-sink.example.com\n250-PIPELINING\n250-8BITMIME\n250 ", ACCEPTED),
	EHLO("250 mx.example.com", ACCEPTED),
	EHLO("502 5.5.2 Error: command not recognized", UNSUPPORTED),
	EHLO("500 Command unrecognized: \"EHLO mailsift.example.net\"", UNSUPPORTED),
	EHLO("550 5.7.1 <localhost>: Helo command rejected: need fully-qualified hostname", UNSUPPORTED),
	EHLO("554 5.7.1 <unknown[192.0.2.1]>: Client host rejected: Access denied", UNSUPPORTED),
	EHLO("421 4.7.0 mx.example.com Error: too many errors", THROTTLED),
	EHLO("421-4.7.0 Try again later, closing connection. (EHLO)\n"
	     "421 4.7.0  For more information, go to https://support.google.com/a/answer/3221692 a1si123 - gsmtp",
	     THROTTLED),
	EHLO("451 4.3.0 Temporary failure, please try again later", TEMPORARY),
	EHLO("503 5.5.1 Error: send HELO/EHLO first", PROTOCOL),

	/* ---- HELO: refusing the mandatory greeting refuses our name. ---- */
	HELO("250 mx.example.com", ACCEPTED),
	HELO("501 5.5.2 <bad_name>: Helo command rejected: Invalid name", POLICY),
	HELO("504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname", POLICY),
	HELO("550 5.7.1 <mailsift.example.net>: Helo command rejected: Host not found", POLICY),
	HELO("450 4.7.1 <mailsift.example.net>: Helo command rejected: Host not found", TEMPORARY),
	HELO("421 4.7.0 mx.example.com Error: too many errors", THROTTLED),
	HELO("503 5.5.1 Error: duplicate HELO", PROTOCOL),

	/* ---- STARTTLS: a refusal means plain text (RFC 3207). ---- */
	STLS("220 2.0.0 Ready to start TLS", ACCEPTED),
	STLS("220 Go ahead", ACCEPTED),
	STLS("454 4.7.0 TLS not available due to local problem", TEMPORARY),
	STLS("502 5.5.1 Error: command not implemented", UNSUPPORTED),
	STLS("554 5.7.3 Unable to initialize security subsystem", UNSUPPORTED),
	STLS("503 5.5.1 Error: TLS already active", PROTOCOL),

	/* ---- MAIL FROM: a refused sender is about us. ---- */
	MAIL("250 2.1.0 Ok", ACCEPTED),
	MAIL("250 2.1.0 OK a1si1234567pgb.12 - gsmtp", ACCEPTED),
	MAIL("250 OK", ACCEPTED),
	MAIL("250 2.1.0 <probe@mailsift.example.net>... Sender ok", ACCEPTED),
	MAIL("553 5.7.1 <probe@mailsift.example.net>: Sender address rejected: not owned by user", POLICY),
	MAIL("550 5.1.8 <probe@mailsift.example.net>: Sender address rejected: Domain not found", POLICY),
	MAIL("450 4.1.8 <probe@mailsift.example.net>: Sender address rejected: Domain not found", TEMPORARY),
	MAIL("553 5.1.8 <probe@mailsift.example.net>... Domain of sender address "
	     "probe@mailsift.example.net does not exist", POLICY),
	MAIL("501 5.1.7 Bad sender address syntax", POLICY),
	MAIL("550 5.7.27 <probe@mailsift.example.net>: Sender address rejected: Domain "
	     "mailsift.example.net does not accept mail (nullMX)", POLICY),
	MAIL("550 5.7.1 Client host rejected: cannot find your reverse hostname, [192.0.2.1]", POLICY),
	MAIL("530 5.7.0 Must issue a STARTTLS command first", POLICY),
	MAIL("550 Requested action not taken: mailbox unavailable", POLICY),   /* the sender's */
	MAIL("555 5.5.4 Unsupported option: SMTPUTF8", UNSUPPORTED),
	MAIL("501 5.5.4 Syntax: MAIL FROM:<address>", UNSUPPORTED),
	MAIL("553 5.6.7 Must declare SMTPUTF8 to send unicode address", UNSUPPORTED),
	MAIL("503 5.5.1 Error: nested MAIL command", PROTOCOL),
	MAIL("421 4.7.0 mx.example.com Error: too many errors", THROTTLED),
	MAIL("450 4.7.1 Error: too much mail from 192.0.2.1", THROTTLED),
	MAIL("451 4.3.0 <probe@mailsift.example.net>: Temporary lookup failure", TEMPORARY),
	MAIL("452 4.3.1 Insufficient system storage", TEMPORARY),
	MAIL("452 4.2.2 Mailbox full", TEMPORARY),          /* a full mailbox is a recipient's thing */
	MAIL("354 Start mail input", PROTOCOL),

	/* ---- RCPT TO, accepted. ---- */
	RCPT("250 2.1.5 Ok", ACCEPTED),
	RCPT("250 2.1.5 OK a1si1234567pgb.12 - gsmtp", ACCEPTED),
	RCPT("250 Accepted", ACCEPTED),
	RCPT("250 2.1.5 <x@example.com>... Recipient ok", ACCEPTED),
	RCPT("251 2.1.5 User not local; will forward to <x@example.net>", ACCEPTED),
	RCPT("252 2.1.5 Cannot VRFY user, but will accept message and attempt delivery", ACCEPTED),
	RCPT("354 Start mail input; end with <CRLF>.<CRLF>", PROTOCOL),

	/* ---- Postfix smtpd (texts from smtpd_check.c). ---- */
	RCPT("550 5.1.1 <x@example.com>: Recipient address rejected: User unknown in virtual mailbox table", NO_MAILBOX),
	RCPT("550 5.1.1 <x@example.com>: Recipient address rejected: User unknown in local recipient table", NO_MAILBOX),
	RCPT("550 5.1.1 <x@example.com>: Recipient address rejected: User unknown in virtual alias table", NO_MAILBOX),
	RCPT("550 5.1.1 <x@example.com>: Recipient address rejected: User unknown in relay recipient table", NO_MAILBOX),
	RCPT("550 5.1.1 <x@example.com>: Recipient address rejected: User unknown", NO_MAILBOX),
	/* soft_bounce / unknown_local_recipient_reject_code = 450: a 4xx is never "does not exist". */
	RCPT("450 4.1.1 <x@example.com>: Recipient address rejected: User unknown in local recipient table", TEMPORARY),
	RCPT("554 5.7.1 <x@example.com>: Relay access denied", POLICY),
	RCPT("454 4.7.1 <x@example.com>: Relay access denied", TEMPORARY),
	RCPT("550 5.7.1 <x@example.com>: Recipient address rejected: Access denied", POLICY),
	/* smtpd_delay_reject: client, HELO and sender restrictions answer the RCPT. */
	RCPT("504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname", POLICY),
	RCPT("501 5.5.2 <bad_name>: Helo command rejected: Invalid name", POLICY),
	RCPT("450 4.7.1 <mailsift.example.net>: Helo command rejected: Host not found", TEMPORARY),
	RCPT("550 5.7.1 <mailsift.example.net>: Helo command rejected: Host not found", POLICY),
	RCPT("450 4.7.1 Client host rejected: cannot find your hostname, [192.0.2.1]", TEMPORARY),
	RCPT("450 4.7.25 Client host rejected: cannot find your hostname, [192.0.2.1]", TEMPORARY),
	RCPT("550 5.7.25 Client host rejected: cannot find your reverse hostname, [192.0.2.1]", POLICY),
	RCPT("554 5.7.1 <random.bad.example[192.0.2.1]>: Client host rejected: match bad.example", POLICY),
	RCPT("450 4.1.8 <probe@mailsift.example.net>: Sender address rejected: Domain not found", TEMPORARY),
	RCPT("550 5.1.8 <probe@mailsift.example.net>: Sender address rejected: Domain not found", POLICY),
	/* reject_unlisted_sender uses 5.1.0 for the sender: a mailbox code, about us. */
	RCPT("550 5.1.0 <probe@mailsift.example.net>: Sender address rejected: User unknown in local "
	     "recipient table", POLICY),
	RCPT("554 5.1.0 <probe@mailsift.example.net>: Sender address rejected: User unknown in local "
	     "recipient table", POLICY),
	RCPT("553 5.7.1 <probe@mailsift.example.net>: Sender address rejected: not logged in", POLICY),
	/* Haraka answers an unknown local sender with 5.1.1: the phrase beats the code. */
	RCPT("550 5.1.1 <probe@mailsift.example.net>: Sender address rejected: User unknown in local "
	     "sender table", POLICY),
	RCPT("550 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org", POLICY),
	RCPT("554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org; "
	     "https://www.spamhaus.org/query/ip/192.0.2.1", POLICY),
	RCPT("554 5.7.1 Service unavailable; Sender address [probe@mailsift.example.net] blocked using "
	     "dbl.spamhaus.org", POLICY),
	RCPT("452 4.5.3 Error: too many recipients", TOO_MANY_RCPTS),
	RCPT("450 4.7.1 Error: too many recipients from [192.0.2.1]", THROTTLED),
	RCPT("503 5.5.1 Error: need MAIL command", PROTOCOL),
	RCPT("501 5.1.3 Bad recipient address syntax", UNKNOWN_PERM),
	RCPT("504 5.5.2 <x>: Recipient address rejected: need fully-qualified address", UNSUPPORTED),
	RCPT("451 4.3.0 <x@example.com>: Temporary lookup failure", TEMPORARY),
	RCPT("451 4.3.5 Server configuration error", TEMPORARY),
	RCPT("452 4.3.1 Insufficient system storage", TEMPORARY),       /* the server's disk, not full */
	/* reject_unverified_recipient quotes the next hop, IP and "rejected" included: 5.1.1 decides. */
	RCPT("550 5.1.1 <x@example.com>: Recipient address rejected: undeliverable address: host "
	     "mx.example.com[192.0.2.7] said: 550 5.1.1 <x@example.com>: Recipient address rejected: User "
	     "unknown in virtual mailbox table (in reply to RCPT TO command)", NO_MAILBOX),
	RCPT("450 4.1.1 <x@example.com>: Recipient address rejected: unverified address: host "
	     "mx.example.com[192.0.2.7] said: 451 4.3.0 Temporary lookup failure", TEMPORARY),
	RCPT("556 5.1.10 <x@nomail.example>: Recipient address rejected: Domain nomail.example does not "
	     "accept mail (nullMX)", NULL_MX),
	RCPT("553 5.6.7 Must declare SMTPUTF8 to send unicode address", UNSUPPORTED),
	RCPT("421 4.7.0 mx.example.com Error: too many errors", THROTTLED),
	/* postscreen, after a failed test. */
	RCPT("550 5.3.2 Service currently unavailable", UNKNOWN_PERM),
	RCPT("450 4.3.2 Service currently unavailable", TEMPORARY),

	/* ---- Greylisting. ---- */
	/* The trap in DESIGN.md: "address rejected" in a 4xx is greylisting, not a verdict. */
	RCPT("450 4.2.0 <x@grey.test>: Recipient address rejected: Greylisted, see "
	     "http://postgrey.schweikert.ch/help/grey.test.html", TEMPORARY),
	RCPT("450 4.7.1 <x@example.com>: Recipient address rejected: Greylisted for 300 seconds (see "
	     "http://isg.ee.ethz.ch/tools/postgrey/help/example.com.html)", TEMPORARY),
	RCPT("451 4.7.1 Greylisting in action, please come back later", TEMPORARY),
	RCPT("451 4.7.1 Please try again later", TEMPORARY),
	RCPT("450 4.7.1 Service unavailable - try again later", TEMPORARY),

	/* ---- Exim. ---- */
	RCPT("550 Unrouteable address", NO_MAILBOX),
	RCPT("550 No Such User Here", NO_MAILBOX),
	RCPT("550 Unknown user", NO_MAILBOX),
	/* Sender callout: the quoted 5.1.1 is about our sender. */
	RCPT("550-Verification failed for <probe@mailsift.example.net>\n"
	     "550-Called:   192.0.2.9\n"
	     "550-Sent:     RCPT TO:<probe@mailsift.example.net>\n"
	     "550-Response: 550 5.1.1 <probe@mailsift.example.net>: Recipient address rejected: User "
	     "unknown in local recipient table\n"
	     "550 Sender verify failed", POLICY),
	RCPT("550 relay not permitted", POLICY),
	RCPT("550 Administrative prohibition", POLICY),
	RCPT("550-Rejected because 192.0.2.1 is in a black list at zen.spamhaus.org\n"
	     "550 https://www.spamhaus.org/query/ip/192.0.2.1", POLICY),
	RCPT("550 JunkMail rejected - host.example.net [192.0.2.1]:25 is in an RBL on zen.spamhaus.org", POLICY),
	RCPT("451 Temporary local problem - please try later", TEMPORARY),
	RCPT("451 Rate limit exceeded", THROTTLED),
	RCPT("451 Could not complete sender verify callout", TEMPORARY),

	/* ---- Sendmail. ---- */
	RCPT("550 5.1.1 <x@example.com>... User unknown", NO_MAILBOX),
	RCPT("550 5.0.0 <x@example.com>... User unknown", NO_MAILBOX),  /* X.0.0 leaves it to the text */
	RCPT("451 4.4.1 reply: read error from mx.example.com.", TEMPORARY),
	RCPT("550 5.7.1 <x@example.com>... Relaying denied", POLICY),
	RCPT("550 5.7.1 <x@example.com>... Relaying denied. Proper authentication required.", POLICY),
	RCPT("550 5.7.1 <x@example.com>... Access denied", POLICY),
	RCPT("553 5.1.8 <probe@mailsift.example.net>... Domain of sender address "
	     "probe@mailsift.example.net does not exist", POLICY),
	RCPT("451 4.1.8 Domain of sender address probe@mailsift.example.net does not resolve", TEMPORARY),
	RCPT("452 4.4.5 Insufficient disk space; try again later", TEMPORARY),
	RCPT("421 4.3.2 Connection rate limit exceeded.", THROTTLED),
	RCPT("550 5.2.1 <x@example.com>... Mailbox disabled for this recipient", DISABLED),
	RCPT("550 5.1.2 Host unknown (Name server: example.com: host not found)", UNKNOWN_PERM),

	/* ---- qmail (its enhanced code trails in "(#X.Y.Z)": not RFC 2034's place). ---- */
	RCPT("553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)", POLICY),
	RCPT("511 sorry, no mailbox here by that name (#5.1.1)", NO_MAILBOX),
	RCPT("550 sorry, no mailbox here by that name. (#5.7.17)", NO_MAILBOX),
	RCPT("550 5.1.1 sorry, no mailbox here by that name. (#5.7.17)", NO_MAILBOX),
	RCPT("553 sorry, your envelope sender has been denied (#5.7.1)", POLICY),
	RCPT("451 qq temporary problem (#4.3.0)", TEMPORARY),

	/* ---- Gmail. ---- */
	RCPT("550-5.1.1 The email account that you tried to reach does not exist. Please try\n"
	     "550-5.1.1 double-checking the recipient's email address for typos or\n"
	     "550-5.1.1 unnecessary spaces. Learn more at\n"
	     "550 5.1.1  https://support.google.com/mail/?p=NoSuchUser a1si1234567pgb.12 - gsmtp", NO_MAILBOX),
	RCPT("550-5.2.1 The email account that you tried to reach is disabled. Learn more at\n"
	     "550 5.2.1  https://support.google.com/mail/?p=DisabledUser a1si123 - gsmtp", DISABLED),
	/* The recipient's inbound rate, not ours: X.2.x keeps it a plain deferral. */
	RCPT("450-4.2.1 The user you are trying to contact is receiving mail at a rate that\n"
	     "450-4.2.1 prevents additional messages from being delivered. Please resend your\n"
	     "450-4.2.1 message at a later point. If the user is able to receive mail at that\n"
	     "450-4.2.1 time, your message will be delivered. For more information, go to\n"
	     "450 4.2.1  https://support.google.com/mail/?p=ReceivingRatePerm a1si123 - gsmtp", TEMPORARY),
	RCPT("452-4.2.2 The email account that you tried to reach is over quota. Please direct\n"
	     "452-4.2.2 the recipient to\n"
	     "452 4.2.2  https://support.google.com/mail/?p=OverQuotaTemp a1si123 - gsmtp", FULL),
	RCPT("552-5.2.2 The recipient's inbox is out of storage space. Please direct the\n"
	     "552 5.2.2 recipient to https://support.google.com/mail/?p=OverQuotaPerm a1si123 - gsmtp", FULL),
	RCPT("552-5.2.2 The email account that you tried to reach is over quota and inactive.\n"
	     "552 5.2.2 Please direct the recipient to https://support.google.com/mail/?p=OverQuotaPerm", FULL),
	RCPT("421-4.7.0 [192.0.2.1      15] Our system has detected an unusual rate of\n"
	     "421-4.7.0 unsolicited mail originating from your IP address. To protect our\n"
	     "421-4.7.0 users from spam, mail sent from your IP address has been temporarily\n"
	     "421-4.7.0 rate limited. Please visit\n"
	     "421 4.7.0  https://support.google.com/mail/?p=UnsolicitedRateLimitError a1si123 - gsmtp", THROTTLED),
	RCPT("421-4.7.0 [192.0.2.1] Our system has detected that this message is suspicious due\n"
	     "421 4.7.0 to the very low reputation of the sending IP address. a1si123 - gsmtp", THROTTLED),
	RCPT("550-5.7.1 [192.0.2.1      12] Our system has detected that this message is\n"
	     "550-5.7.1 likely unsolicited mail. To reduce the amount of spam sent to Gmail,\n"
	     "550-5.7.1 this message has been blocked. Please visit\n"
	     "550 5.7.1  https://support.google.com/mail/?p=UnsolicitedMessageError a1si123 - gsmtp", POLICY),
	RCPT("550-5.7.1 [192.0.2.1] The IP you're using to send mail is not authorized to\n"
	     "550-5.7.1 send email directly to our servers. Please use the SMTP relay at your\n"
	     "550 5.7.1 service provider instead. a1si123 - gsmtp", POLICY),
	RCPT("550-5.7.25 [192.0.2.1] The IP address sending this message does not have a\n"
	     "550-5.7.25 PTR record setup, or the corresponding forward DNS entry does not\n"
	     "550 5.7.25 point to the sending IP. a1si123 - gsmtp", POLICY),
	RCPT("550-5.7.26 This mail has been blocked because the sender is unauthenticated.\n"
	     "550 5.7.26 Gmail requires all senders to authenticate with either SPF or DKIM.", POLICY),
	RCPT("451-4.3.0 Mail server temporarily rejected message.\n451 4.3.0 a1si123 - gsmtp", TEMPORARY),
	RCPT("553-5.1.2 We weren't able to find the recipient domain. Please check for any\n"
	     "553-5.1.2 spelling errors, and make sure you didn't enter any spaces, periods,\n"
	     "553 5.1.2 or other punctuation after the recipient's email address. a1si123 - gsmtp", UNKNOWN_PERM),
	RCPT("555 5.5.2 Syntax error. a1si123 - gsmtp", UNSUPPORTED),

	/* ---- Microsoft 365 / Outlook.com. ---- */
	/* Outlook.com's no-such-user reply; DESIGN.md: a plain 550 that says so. */
	RCPT("550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). "
	     "[BN1NAM02FT012.eop-nam02.prod.protection.outlook.com]", NO_MAILBOX),
	RCPT("550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup", NO_MAILBOX),
	RCPT("550 5.1.1 RESOLVER.ADR.RecipNotFound; not found", NO_MAILBOX),
	/* Directory-based edge blocking: formally X.4.1, see perm_rules[]. */
	RCPT("550 5.4.1 Recipient address rejected: Access denied. AS(201806281) For more information "
	     "see https://aka.ms/EXOSmtpErrors [DM6NAM11FT012.eop-nam11.prod.protection.outlook.com]", UNKNOWN_PERM),
	RCPT("550 5.4.1 Relay Access Denied ATTR35 [DM6NAM11FT012.eop-nam11.prod.protection.outlook.com]", POLICY),
	RCPT("550 5.7.606 Access denied, banned sending IP [192.0.2.1]. To request removal from this list "
	     "please visit https://sender.office.com/ and follow the directions. AS(1430)", POLICY),
	RCPT("550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP. AS(7)", POLICY),
	RCPT("550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. Please contact your "
	     "Internet service provider since part of their network is on our block list (S3150).", POLICY),
	RCPT("550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain", POLICY),
	/* "Server busy, try again later" is a deferral, not pushback (reply.c temp_rules[]). */
	RCPT("451 4.7.500 Server busy. Please try again later from [192.0.2.1]. (S77714) "
	     "[BN1NAM02FT012.eop-nam02.prod.protection.outlook.com]", TEMPORARY),
	RCPT("451 4.7.650 The mail server [192.0.2.1] has been temporarily rate limited due to IP "
	     "reputation. For e-mail delivery information, see https://postmaster.live.com (S775)", THROTTLED),
	RCPT("452 4.5.3 Too many recipients (AS780090) [DM6NAM11FT012.eop-nam11.prod.protection.outlook.com]",
	     TOO_MANY_RCPTS),
	RCPT("451 4.4.4 Temporary server error. Please try again later ATTR5", TEMPORARY),
	RCPT("421 4.3.2 Service not available", THROTTLED),
	EHLO("250-DM6NAM11FT012.mail.protection.outlook.com Hello [192.0.2.1]\n250-SIZE 157286400\n"
	     "250-PIPELINING\n250-DSN\n250-ENHANCEDSTATUSCODES\n250-STARTTLS\n250-8BITMIME\n"
	     "250-BINARYMIME\n250-CHUNKING\n250 SMTPUTF8", ACCEPTED),

	/* ---- Yahoo / AOL. ---- */
	RCPT("554 delivery error: dd This user doesn't have a yahoo.com account (x@yahoo.com) [0] - "
	     "mta1234.mail.gq1.yahoo.com", NO_MAILBOX),
	RCPT("554 delivery error: dd Sorry your message to x@yahoo.com cannot be delivered. This mailbox "
	     "is disabled (554.30). - mta1234.mail.gq1.yahoo.com", DISABLED),
	RCPT("554 delivery error: dd Sorry your message to x@yahoo.com cannot be delivered. This account "
	     "has been disabled or discontinued [#102]. - mta1234.mail.gq1.yahoo.com", DISABLED),
	RCPT("552 1 Requested mail action aborted, mailbox not found", NO_MAILBOX),
	RCPT("421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or "
	     "user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes", THROTTLED),
	RCPT("451 Message temporarily deferred - [160]", TEMPORARY),
	RCPT("554 5.7.9 Message not accepted for policy reasons.  See "
	     "https://postmaster.yahooinc.com/error-codes", POLICY),
	RCPT("553 5.7.2 [TSS09] All messages from 192.0.2.1 will be permanently deferred; Retrying will "
	     "NOT succeed. See https://postmaster.yahooinc.com/error-codes", POLICY),

	/* ---- Apple iCloud, Proofpoint. ---- */
	RCPT("550 5.1.1 <x@icloud.com>: user does not exist", NO_MAILBOX),
	RCPT("554 5.7.1 [CS01] Message rejected due to local policy. Please visit "
	     "https://support.apple.com/en-us/HT204137", POLICY),
	RCPT("421 4.7.1 Messages to x@icloud.com deferred due to excessive volume. Try again later - "
	     "https://support.apple.com/en-us/HT204137", THROTTLED),
	RCPT("550 5.7.0 Blocked - see https://ipcheck.proofpoint.com/?ip=192.0.2.1", POLICY),
	RCPT("550 5.1.1 User Unknown", NO_MAILBOX),
	RCPT("550 5.7.0 Local Policy Violation", POLICY),

	/* ---- Mimecast. ---- */
	RCPT("550 Invalid Recipient - https://community.mimecast.com/docs/DOC-1369#550 [a1B2c3.us123]", NO_MAILBOX),
	RCPT("554 Email rejected due to security policies - https://community.mimecast.com/docs/DOC-1369#554 "
	     "[a1B2c3.us123]", POLICY),
	RCPT("451 Internal resource temporarily unavailable - https://community.mimecast.com/docs/DOC-1369#451 "
	     "[a1B2c3.us123]", TEMPORARY),
	RCPT("550 Administrative prohibition - envelope blocked - "
	     "https://community.mimecast.com/docs/DOC-1369#550 [a1B2c3.us123]", POLICY),
	RCPT("550 Submitter failed SPF check - https://community.mimecast.com/docs/DOC-1369#550", POLICY),
	RCPT("421 Sender address blocked", THROTTLED),     /* 421 closes the channel, whatever it says */

	/* ---- Barracuda. ---- */
	RCPT("550 permanent failure for one or more recipients (x@example.com:blocked)", POLICY),
	RCPT("550 No such user (x@example.com)", NO_MAILBOX),
	RCPT("554 Service unavailable; Client host [192.0.2.1] blocked using Barracuda Reputation; "
	     "http://www.barracudanetworks.com/reputation/?pr=1&ip=192.0.2.1", POLICY),
	/* The code is not at the start of the text, so it is no enhanced code; the text decides. */
	RCPT("550 cuda_nsu 5.1.1 <x@example.com> Recipient address rejected: User unknown", NO_MAILBOX),
	RCPT("550 Blocked", POLICY),

	/* ---- Mailgun, Zoho. ---- */
	RCPT("550 5.7.1 Relaying denied", POLICY),
	RCPT("550 5.1.1 <x@zoho.com> User unknown", NO_MAILBOX),
	RCPT("552 5.1.1 <x@zoho.com> Mailbox delivery failure policy error", POLICY),
	RCPT("452 <x@zoho.com> Mailbox delivery restricted by policy error", TEMPORARY),
	RCPT("452 4.3.1 Temporary System Error", TEMPORARY),
	RCPT("550 5.7.1 Email rejected per DMARC policy for mailsift.example.net", POLICY),
	RCPT("541 5.4.1 Mail rejected by destination domain", UNKNOWN_PERM),

	/* ---- Yandex, Mail.ru. ---- */
	/* Yandex's no-such-user reply carries 5.7.1; X.7.x is policy (DESIGN.md): unknown, never
	 * invalid. The cost is accepted and documented. */
	RCPT("550 5.7.1 No such user!", POLICY),
	RCPT("554 5.7.1 [2] Message rejected under suspicion of SPAM; https://ya.cc/1IrBc", POLICY),
	RCPT("451 4.7.1 Sorry, the service is currently unavailable. Please come back later.", TEMPORARY),
	RCPT("550 Message was not accepted -- invalid mailbox.  Local mailbox x@mail.ru is unavailable: "
	     "user not found", NO_MAILBOX),
	RCPT("550 Message was not accepted -- invalid mailbox.  Local mailbox x@mail.ru is unavailable: "
	     "account is disabled", DISABLED),
	RCPT("550 spam message rejected. Please visit http://help.mail.ru/notspam-support/id?c=abc or "
	     "report details to abuse@corp.mail.ru. Error code: ABC. ID: 123.", POLICY),

	/* ---- GMX / web.de (United Internet). ---- */
	RCPT("550 Requested action not taken: mailbox unavailable", NO_MAILBOX),
	/* The same words, then the reason: our sender domain's DNS. */
	RCPT("550-Requested action not taken: mailbox unavailable\n"
	     "550 invalid DNS MX or A/AAAA resource record", POLICY),
	RCPT("550 <probe@mailsift.example.net>: Reject due to SPF policy. The originating IP of the "
	     "message is not permitted by the domain owner", POLICY),
	RCPT("554-Transaction failed\n"
	     "554-Reject due to policy restrictions.\n"
	     "554 For explanation visit https://web.de/email/senderguidelines?ip=192.0.2.1&c=hi", POLICY),
	RCPT("550 5.1.1 <x@gmx.net>... User is unknown", NO_MAILBOX),
	RCPT("550 5.2.1 <x@gmx.net>... User is inactive", DISABLED),
	RCPT("550 Benutzer hat das Speichervolumen ueberschritten. / User has exhausted allowed storage "
	     "space.", FULL),
	RCPT("550 Benutzer hat zuviele Mails auf dem Server. / User has too many messages on the server.", FULL),
	RCPT("550 User unknown.", NO_MAILBOX),

	/* ---- Dovecot / Cyrus LMTP-style, OpenSMTPD. ---- */
	RCPT("550 5.1.1 <x@example.com> User doesn't exist: x@example.com", NO_MAILBOX),
	RCPT("552 5.2.2 <x@example.com> Quota exceeded (mailbox for user is full)", FULL),
	RCPT("452 4.2.2 <x@example.com> Quota exceeded (mailbox for user is full)", FULL),
	RCPT("550-Mailbox unknown.  Either there is no mailbox associated with this\n"
	     "550-name or you do not have authorization to see it.\n"
	     "550 5.1.1 User unknown", NO_MAILBOX),
	RCPT("451 4.3.0 <x@example.com> Temporary internal error", TEMPORARY),
	RCPT("550 Invalid recipient: <x@example.com>", NO_MAILBOX),
	RCPT("550 5.7.1 Delivery not authorized, message refused", POLICY),
	RCPT("421 4.3.0 mx.example.com Temporary Error", THROTTLED),

	/* ---- Other providers and generic texts. ---- */
	RCPT("550 5.1.1 user unknown", NO_MAILBOX),                                   /* T-Online */
	RCPT("552 5.2.2 Over STORAGE quota", FULL),                                   /* T-Online */
	RCPT("550 MAILBOX NOT FOUND", NO_MAILBOX),                                    /* AOL, older */
	RCPT("550 Mailbox not found. http://service.mail.qq.com/cgi-bin/help?subtype=1&&id=20022&&no=1000728",
	     NO_MAILBOX),                                                             /* QQ */
	RCPT("550 User not found: x@163.com", NO_MAILBOX),                           /* NetEase */
	RCPT("550 x:user not exist", NO_MAILBOX),
	RCPT("550 5.2.1 <x@prodigy.net>... Addressee unknown, relay=[192.0.2.1]", DISABLED), /* code decides */
	RCPT("550 5.7.1 Connections not accepted from servers without a valid sender domain. ## Fix "
	     "reverse DNS for 192.0.2.1", POLICY),                                   /* AT&T */
	RCPT("554 Refused. Your reverse DNS entry contains your IP address and a country code.", POLICY),
	RCPT("550 5.1.1 Mailbox does not exist", NO_MAILBOX),
	RCPT("550 : Recipient address rejected: Account Closed", DISABLED),           /* Lycos */
	RCPT("550 Recipient verification problem", UNKNOWN_PERM),
	RCPT("550 Protocol violation", UNKNOWN_PERM),

	/* ---- Required rows and rules at their edges. ---- */
	RCPT("452 4.2.2 Mailbox full", FULL),
	RCPT("552 5.2.2 Mailbox full", FULL),
	RCPT("450 <x@example.com>: mailbox is full", FULL),              /* 4xx to RCPT, no code */
	RCPT("550 5.2.1 mailbox disabled", DISABLED),
	RCPT("556 5.1.10 Recipient address has null MX", NULL_MX),
	RCPT("556 Domain does not accept mail", NULL_MX),                /* RFC 7504/7505 code alone */
	RCPT("550 5.1.10 <x@example.com>: Recipient address has null MX", NULL_MX),
	RCPT("554 5.7.0 Reject, id=12345 - Too many errors", POLICY),
	RCPT("550 Too many invalid recipients", POLICY),
	/* RFC 5321 4.5.3.1.10: a 552 for too many recipients is to be treated as temporary. */
	RCPT("552 Too many recipients", TOO_MANY_RCPTS),
	RCPT("552 5.5.3 Too many recipients", TOO_MANY_RCPTS),
	/* The transaction's recipient limit (RFC 5321 4.5.3.1.10): never about the address. */
	RCPT("452 4.5.3 Too many recipients", TOO_MANY_RCPTS),
	RCPT("452 Too many recipients", TOO_MANY_RCPTS),
	RCPT("452 too many recipients in this message", TOO_MANY_RCPTS),
	RCPT("451 4.5.3 Too many recipients", TOO_MANY_RCPTS),
	RCPT("452 4.5.3 <x@example.com>: Recipient limit reached", TOO_MANY_RCPTS),
	RCPT("451 Too many recipients", TEMPORARY),
	RCPT("452 4.5.3 Too many recipients from [192.0.2.1]", TOO_MANY_RCPTS),
	RCPT("452 Too many recipients from [192.0.2.1]", THROTTLED),
	RCPT("452 4.2.2 Mailbox full", FULL),
	RCPT("552 Requested mail action aborted: exceeded storage allocation", FULL),
	/* RFC 5321's own texts. */
	RCPT("450 Requested mail action not taken: mailbox unavailable", TEMPORARY),
	RCPT("452 Requested action not taken: insufficient system storage", TEMPORARY),
	RCPT("553 Requested action not taken: mailbox name not allowed", UNKNOWN_PERM),
	RCPT("551 User not local; please try <x@example.net>", UNKNOWN_PERM),
	/* RFC 3463 X.2.0 says the mailbox exists: never no-mailbox, whatever the words. */
	RCPT("550 5.2.0 No such mailbox", UNKNOWN_PERM),
	RCPT("550 5.2.0 Mailbox is full", FULL),
	RCPT("550 5.1.6 Recipient no longer on server", NO_MAILBOX),
	RCPT("550 5.1.0 Address rejected", NO_MAILBOX),
	RCPT("550 #5.1.0 Address rejected.", UNKNOWN_PERM),              /* "#5.1.0" is no RFC 2034 code */
	RCPT("550 5.0.0 Recipient rejected", UNKNOWN_PERM),
	RCPT("550 Recipient rejected", UNKNOWN_PERM),
	RCPT("554 Transaction failed", UNKNOWN_PERM),
	RCPT("550", UNKNOWN_PERM),
	RCPT("550 SMTPUTF8 is required for this recipient", UNSUPPORTED),
	RCPT("553 5.1.7 <probe@mailsift.example.net>: The sender address is not valid", POLICY),
	RCPT("550 5.7.1 Recipient not authorized", POLICY),
	RCPT("554 5.7.1 You are not allowed to connect.", POLICY),
	RCPT("550 Sender domain does not exist", POLICY),                 /* "does not exist": ours */
	RCPT("550 Connection from 192.0.2.1 refused", POLICY),            /* our IP, refused */
	RCPT("550 No such user here [mx3]", NO_MAILBOX),
	RCPT("450 4.1.1 <x@example.com>: Recipient address rejected: User unknown", TEMPORARY),
	RCPT("451 4.2.1 Mailbox temporarily unavailable", TEMPORARY),
	RCPT("452 Insufficient storage space, try again later", TEMPORARY),   /* the server's disk */
	RCPT("550 This server no longer accepts mail for example.com", UNKNOWN_PERM),
	RCPT("550 This address is no longer in use", NO_MAILBOX),
	RCPT("550 Your account has been suspended", POLICY),

	/* ---- RSET and QUIT. ---- */
	RSET("250 2.0.0 Ok", ACCEPTED),
	RSET("250 Reset OK", ACCEPTED),
	RSET("421 4.7.0 mx.example.com Error: too many errors", THROTTLED),
	RSET("500 5.5.2 Error: bad syntax", PROTOCOL),
	RSET("451 4.3.0 Error: queue file write error", PROTOCOL),
	QUIT("221 2.0.0 Bye", ACCEPTED),
	QUIT("221 mx.example.com closing connection", ACCEPTED),
	QUIT("500 5.5.2 Error: bad syntax", PROTOCOL),
	QUIT("421 4.3.2 Service shutting down", THROTTLED),
};

static void test_classify_table(void)
{
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct reply_parser p;
		char ctx[200];
		enum reply_feed f = feed_reply(&p, rows[i].lines);

		snprintf(ctx, sizeof ctx, "row %zu (%.120s)", i, rows[i].lines);
		CHECK_INT(f, REPLY_DONE, ctx);
		if (f != REPLY_DONE)
			continue;
		CHECK_STR(reply_outcome_name(reply_classify(rows[i].cmd, &p.r)),
		          reply_outcome_name(rows[i].want), ctx);
	}
}

/* reply_classify_why gives the same outcome for every row and names the rule that decided. */
static void test_classify_why(void)
{
	static const struct {
		enum reply_cmd cmd;
		const char *lines;
		const char *want;
	} why_rows[] = {
		{CMD_RCPT, "550 5.1.1 <x@example.com>: Recipient address rejected: User unknown",
		 "550 to RCPT TO, perm_rules row: X.1.1 -> no_mailbox"},
		{CMD_RCPT, "450 4.2.0 <x@example.com>: Recipient address rejected: Greylisted",
		 "450 to RCPT TO, temp_rules row: X.2.x -> temporary"},
		{CMD_RCPT, "550 5.7.1 Client host [192.0.2.1] blocked using zen.spamhaus.org",
		 "550 to RCPT TO, perm_rules row: X.7.x -> policy"},
		{CMD_RCPT, "550 5.1.1 Sender address rejected: Domain not found",
		 "550 to RCPT TO, about_us \"sender address rejected\" -> policy"},
		{CMD_RCPT, "550 Mailbox unavailable",
		 "550 to RCPT TO, perm_rules row: no enhanced code, text rule \"mailbox unavailable\" -> no_mailbox"},
		{CMD_MAIL, "421 4.7.0 Try again later", "421 to MAIL FROM: 421 closes the channel (RFC 5321) -> throttled"},
		{CMD_RCPT, "250 2.1.5 Ok", "250 to RCPT TO -> accepted"},
	};
	char why[256], ctx[200];

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct reply_parser p;
		if (feed_reply(&p, rows[i].lines) != REPLY_DONE)
			continue;
		snprintf(ctx, sizeof ctx, "row %zu (%.120s)", i, rows[i].lines);
		CHECK_INT(reply_classify_why(rows[i].cmd, &p.r, why, sizeof why),
		          reply_classify(rows[i].cmd, &p.r), ctx);
		CHECK(strstr(why, reply_outcome_name(reply_classify(rows[i].cmd, &p.r))) != NULL,
		      "%s: %s", ctx, why);
	}
	for (size_t i = 0; i < sizeof why_rows / sizeof why_rows[0]; i++) {
		struct reply_parser p;
		CHECK_INT(feed_reply(&p, why_rows[i].lines), REPLY_DONE, why_rows[i].lines);
		reply_classify_why(why_rows[i].cmd, &p.r, why, sizeof why);
		CHECK_STR(why, why_rows[i].want, why_rows[i].lines);
	}
}

/* The table has the breadth it claims. */
static void test_table_size(void)
{
	CHECK(sizeof rows / sizeof rows[0] >= 170, "only %zu rows", sizeof rows / sizeof rows[0]);
}

/* ---- parser ---- */

static void test_single_line(void)
{
	struct reply_parser p;

	CHECK_INT(feed_reply(&p, "550 5.1.1 <x@example.com>: Recipient address rejected: User unknown"),
	          REPLY_DONE, "feed");
	CHECK_INT(p.r.code, 550, "code");
	CHECK_STR(p.r.enhanced, "5.1.1", "enhanced");
	CHECK_STR(p.r.text, "<x@example.com>: Recipient address rejected: User unknown", "text");
	CHECK_STR(p.r.all_text, "<x@example.com>: Recipient address rejected: User unknown", "all_text");
	CHECK_INT(p.r.lines, 1, "lines");
	CHECK_INT(p.r.ehlo, 0, "ehlo");
}

static void test_multiline(void)
{
	struct reply_parser p;

	reply_parser_init(&p);
	CHECK_INT(feed(&p, S_("550-5.1.1 The email account that you tried to reach does not exist.")),
	          REPLY_MORE, "line 1");
	CHECK_INT(feed(&p, S_("550-5.1.1 Please try double-checking")), REPLY_MORE, "line 2");
	CHECK_INT(feed(&p, S_("550 5.1.1  https://support.google.com/mail/?p=NoSuchUser - gsmtp")),
	          REPLY_DONE, "line 3");
	CHECK_INT(p.r.code, 550, "code");
	CHECK_STR(p.r.enhanced, "5.1.1", "enhanced");
	CHECK_STR(p.r.text, "The email account that you tried to reach does not exist.", "text");
	CHECK_STR(p.r.all_text,
	          "The email account that you tried to reach does not exist. Please try double-checking "
	          "https://support.google.com/mail/?p=NoSuchUser - gsmtp", "all_text drops every line's code");
	CHECK_INT(p.r.lines, 3, "lines");
}

/* The enhanced code comes from the first line that has one (Cyrus puts it on the last). */
static void test_enhanced_later_line(void)
{
	struct reply_parser p;

	CHECK_INT(feed_reply(&p, "550-Mailbox unknown.\n550-Either way\n550 5.1.1 User unknown"), REPLY_DONE, "feed");
	CHECK_STR(p.r.enhanced, "5.1.1", "enhanced from line 3");
	CHECK_STR(p.r.text, "Mailbox unknown.", "text of line 1");
	CHECK_STR(p.r.all_text, "Mailbox unknown. Either way User unknown", "all_text");

	CHECK_INT(feed_reply(&p, "451-4.3.0 first\n451 4.7.1 second"), REPLY_DONE, "feed 2");
	CHECK_STR(p.r.enhanced, "4.3.0", "the first one wins");
	CHECK_STR(p.r.all_text, "first second", "both codes dropped from the text");
}

struct enh_row {
	const char *line;
	const char *enhanced;   /* expected enhanced code */
	const char *text;       /* expected first-line text */
};

static void test_enhanced_extraction(void)
{
	static const struct enh_row enh[] = {
		{"250 2.1.5 Ok", "2.1.5", "Ok"},
		{"550 5.1.10 RESOLVER.ADR.RecipientNotFound", "5.1.10", "RESOLVER.ADR.RecipientNotFound"},
		{"550 5.7.606 Access denied", "5.7.606", "Access denied"},
		{"550 5.999.999 x", "5.999.999", "x"},
		{"550 5.1.1", "5.1.1", ""},                  /* a code and nothing after it */
		{"550 5.1.1\tUser unknown", "5.1.1", "User unknown"},
		{"550 4.1.1 Class differs", "", "4.1.1 Class differs"},     /* RFC 3463: must agree */
		{"250 5.1.1 ok", "", "5.1.1 ok"},
		{"550 5.1000.1 too long", "", "5.1000.1 too long"},
		{"550 5.1.1000 too long", "", "5.1.1000 too long"},
		{"550 5.1 short", "", "5.1 short"},
		{"550 5..1 empty", "", "5..1 empty"},
		{"550 5.1.1. trailing dot", "", "5.1.1. trailing dot"},
		{"550 5.1.1<x> no space", "", "5.1.1<x> no space"},
		{"550 #5.1.0 Address rejected.", "", "#5.1.0 Address rejected."},
		{"550 3.1.1 class 3", "", "3.1.1 class 3"},
		{"550 x 5.1.1 not first", "", "x 5.1.1 not first"},
		{"550    padded text   ", "", "padded text"},
		{"250", "", ""},
		{"250 ", "", ""},
	};

	for (size_t i = 0; i < sizeof enh / sizeof enh[0]; i++) {
		struct reply_parser p;
		CHECK_INT(feed_reply(&p, enh[i].line), REPLY_DONE, enh[i].line);
		CHECK_STR(p.r.enhanced, enh[i].enhanced, enh[i].line);
		CHECK_STR(p.r.text, enh[i].text, enh[i].line);
	}
}

static void test_garbage(void)
{
	static const char *const bad[] = {
		"", "2", "25", "25x ok", "x250 ok", "250x ok", "2500 ok", "250_ok", "250\tok",
		"199 too low", "600 too high", "999 nine", "000 zero", "100 continue", "HTTP/1.1 400 Bad Request",
		" 250 leading space", "-250 dash",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct reply_parser p;
		reply_parser_init(&p);
		CHECK_INT(feed(&p, bad[i], strlen(bad[i])), REPLY_BAD, bad[i]);
		CHECK_INT(p.r.code, 0, bad[i]);
	}
}

/* RFC 5321 4.2.1: every line of a reply has the same code. */
static void test_mismatched_codes(void)
{
	struct reply_parser p;

	reply_parser_init(&p);
	CHECK_INT(feed(&p, S_("250-mx.example.com")), REPLY_MORE, "first");
	CHECK_INT(feed(&p, S_("550 5.1.1 changed")), REPLY_BAD, "code changes");
	CHECK_INT(p.r.code, 0, "the reply is dropped");

	reply_parser_init(&p);
	CHECK_INT(feed(&p, S_("250-a")), REPLY_MORE, "first");
	CHECK_INT(feed(&p, S_("251 b")), REPLY_BAD, "same class, other code");

	reply_parser_init(&p);
	CHECK_INT(feed(&p, S_("250-a")), REPLY_MORE, "first");
	CHECK_INT(feed(&p, S_("garbage in the middle")), REPLY_BAD, "garbage continuation");
	CHECK(p.lines < REPLY_LINES_MAX, "garbage is not told apart as too many lines (%zu)", p.lines);
}

/* After DONE (or BAD) the next line starts a new reply without an init. */
static void test_consecutive_replies(void)
{
	struct reply_parser p;

	reply_parser_init(&p);
	CHECK_INT(feed(&p, S_("250-first\n")), REPLY_MORE, "a line with a stray LF is still a line");
	CHECK_INT(feed(&p, S_("250 done")), REPLY_DONE, "first reply");
	CHECK_INT(p.r.lines, 2, "first reply lines");
	CHECK_INT(feed(&p, S_("550 5.1.1 next")), REPLY_DONE, "second reply");
	CHECK_INT(p.r.code, 550, "second code");
	CHECK_INT(p.r.lines, 1, "second reply lines");
	CHECK_STR(p.r.enhanced, "5.1.1", "second enhanced");
	CHECK_STR(p.r.text, "next", "no text left over");
	CHECK_INT(feed(&p, S_("nonsense")), REPLY_BAD, "garbage");
	CHECK_INT(feed(&p, S_("220 again")), REPLY_DONE, "a reply after garbage");
	CHECK_STR(p.r.text, "again", "text after garbage");
}

/* Every byte is data: NULs, controls and high bytes never cut, overflow or escape. */
static void test_nul_and_high_bytes(void)
{
	static const char nul_line[] = "550 5.1.1 user\0unknown\x01\x7f\xff\xc3\xa9 end";
	static const char nul_code[] = "55\0 x";
	struct reply_parser p;

	reply_parser_init(&p);
	CHECK_INT(feed(&p, nul_line, sizeof nul_line - 1), REPLY_DONE, "NUL line");
	CHECK_STR(p.r.enhanced, "5.1.1", "enhanced");
	CHECK_STR(p.r.text, "user?unknown??\xff\xc3\xa9 end", "controls become '?', high bytes stay");
	CHECK_INT(strlen(p.r.all_text), sizeof nul_line - 1 - 10, "all_text keeps every byte");

	reply_parser_init(&p);
	CHECK_INT(feed(&p, nul_code, sizeof nul_code - 1), REPLY_BAD, "NUL in the code");

	reply_parser_init(&p);
	CHECK_INT(feed(&p, S_("250\r")), REPLY_DONE, "a trailing CR is dropped");
	CHECK_STR(p.r.text, "", "no CR in the text");
	CHECK_INT(feed(&p, S_("250 ok\r\r")), REPLY_DONE, "only one CR is dropped");
	CHECK_STR(p.r.text, "ok?", "the other one is a control byte");
}

/* A line longer than REPLY_LINE_MAX is kept truncated, texts stay within their buffers. */
static void test_long_lines(void)
{
	size_t n = 3 * REPLY_LINE_MAX;
	char *line = malloc(n);
	struct reply_parser p;

	if (line == NULL)
		abort();
	memcpy(line, "550 5.1.1 ", 10);
	memset(line + 10, 'a', n - 10);
	reply_parser_init(&p);
	CHECK_INT(feed(&p, line, n), REPLY_DONE, "over-long line");
	CHECK_STR(p.r.enhanced, "5.1.1", "enhanced");
	CHECK_INT(strlen(p.r.text), REPLY_TEXT_MAX - 1, "text truncated to its buffer");
	CHECK_INT(strlen(p.r.all_text), REPLY_LINE_MAX - 10, "all_text holds what the line kept");

	/* A long continuation then a last line: all_text stops at its size, never beyond. */
	line[3] = '-';
	reply_parser_init(&p);
	CHECK_INT(feed(&p, line, REPLY_LINE_MAX), REPLY_MORE, "long continuation");
	CHECK_INT(feed(&p, line, REPLY_LINE_MAX), REPLY_MORE, "another");
	CHECK_INT(feed(&p, S_("550 5.1.1 last")), REPLY_DONE, "last");
	CHECK_INT(strlen(p.r.all_text), REPLY_LINE_MAX - 1, "all_text full, terminated");
	CHECK_INT(p.r.lines, 3, "lines");
	free(line);
}

/* REPLY_LINES_MAX lines are a reply; one more is hostile. */
static void test_line_limit(void)
{
	struct reply_parser p;
	size_t i;

	reply_parser_init(&p);
	for (i = 1; i < REPLY_LINES_MAX; i++)
		CHECK_INT(feed(&p, S_("250-x")), REPLY_MORE, "continuation");
	CHECK_INT(feed(&p, S_("250 last")), REPLY_DONE, "line REPLY_LINES_MAX ends the reply");
	CHECK_INT(p.r.lines, REPLY_LINES_MAX, "lines");

	reply_parser_init(&p);
	for (i = 1; i <= REPLY_LINES_MAX; i++)
		CHECK_INT(feed(&p, S_("250-x")), REPLY_MORE, "continuation");
	CHECK_INT(feed(&p, S_("250-x")), REPLY_BAD, "one line too many");
	CHECK(p.lines > REPLY_LINES_MAX, "the count says why (%zu)", p.lines);
	CHECK_INT(p.r.code, 0, "the reply is dropped");
}

struct ehlo_row {
	const char *lines;
	unsigned want;
};

static void test_ehlo_extensions(void)
{
	static const struct ehlo_row ehlo[] = {
		{"250-mx.google.com at your service, [192.0.2.1]\n250-SIZE 157286400\n250-8BITMIME\n"
		 "250-STARTTLS\n250-ENHANCEDSTATUSCODES\n250-PIPELINING\n250-CHUNKING\n250 SMTPUTF8",
		 REPLY_EXT_SIZE | REPLY_EXT_8BITMIME | REPLY_EXT_STARTTLS | REPLY_EXT_PIPELINING |
		 REPLY_EXT_SMTPUTF8},
		/* smtp-sink ends its EHLO reply with an empty "250 " line. */
		{"250-sink.example.com\n250-PIPELINING\n250-8BITMIME\n250 ",
		 REPLY_EXT_PIPELINING | REPLY_EXT_8BITMIME},
		{"250-sink.example.com\n250-\n250-starttls\n250 Size", REPLY_EXT_STARTTLS | REPLY_EXT_SIZE},
		{"250-mx.example.com\n250-SIZE\n250 8bitmime", REPLY_EXT_SIZE | REPLY_EXT_8BITMIME},
		/* The greeting line is never an extension, whatever it says. */
		{"250 STARTTLS", 0},
		{"250-STARTTLS\n250 HELP", 0},
		/* Keywords match whole. */
		{"250-mx\n250-STARTTLSX\n250-XSTARTTLS\n250-SIZE=10\n250 PIPELINING2", 0},
		{"250-mx\n250-AUTH PLAIN LOGIN STARTTLS\n250 DSN", 0},
		{"250-mx\n250-  STARTTLS  \n250 X", REPLY_EXT_STARTTLS},
		/* Only a 2xx reply advertises anything. */
		{"550-mx\n550-STARTTLS\n550 SMTPUTF8", 0},
	};

	for (size_t i = 0; i < sizeof ehlo / sizeof ehlo[0]; i++) {
		struct reply_parser p;
		CHECK_INT(feed_reply(&p, ehlo[i].lines), REPLY_DONE, ehlo[i].lines);
		CHECK_INT(p.r.ehlo, ehlo[i].want, ehlo[i].lines);
	}
}

/* A zeroed or hand-made reply (e.g. reloaded from the store) never crashes the classifier. */
static void test_classify_odd_replies(void)
{
	struct reply r;

	memset(&r, 0, sizeof r);
	CHECK_STR(reply_outcome_name(reply_classify(CMD_RCPT, &r)), "protocol", "code 0");
	r.code = 550;
	strcpy(r.enhanced, "4.1.1");   /* wrong class: ignored */
	strcpy(r.all_text, "User unknown");
	CHECK_STR(reply_outcome_name(reply_classify(CMD_RCPT, &r)), "no_mailbox", "class mismatch ignored");
	strcpy(r.enhanced, "5.x.1");
	CHECK_STR(reply_outcome_name(reply_classify(CMD_RCPT, &r)), "no_mailbox", "malformed ignored");
	memset(r.enhanced, '5', sizeof r.enhanced);   /* unterminated */
	CHECK_STR(reply_outcome_name(reply_classify(CMD_RCPT, &r)), "no_mailbox", "unterminated ignored");
}

static void test_outcome_names(void)
{
	static const char *const names[] = {
		"accepted", "no_mailbox", "disabled", "full", "null_mx", "temporary", "throttled",
		"policy", "unsupported", "protocol", "unknown_perm",
	};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		CHECK_STR(reply_outcome_name((enum reply_outcome)i), names[i], names[i]);
	CHECK_STR(reply_outcome_name((enum reply_outcome)99), "invalid", "out of range");
}

TESTS(test_classify_table, test_classify_why, test_table_size, test_single_line, test_multiline,
      test_enhanced_later_line, test_enhanced_extraction, test_garbage, test_mismatched_codes,
      test_consecutive_replies, test_nul_and_high_bytes, test_long_lines, test_line_limit,
      test_ehlo_extensions, test_classify_odd_replies, test_outcome_names)
