/*
 * progress - progress of long work on stderr: one live line redrawn in place on a terminal,
 * a plain line every few seconds otherwise (logs, CI). Data never goes here.
 */
#ifndef MAILSIFT_PROGRESS_H
#define MAILSIFT_PROGRESS_H

#include <stdio.h>

#define PROGRESS_TTY_INTERVAL 0.1   /* seconds between redraws on a terminal */
#define PROGRESS_LINE_INTERVAL 5.0  /* seconds between lines when not a terminal */
#define PROGRESS_BAR_WIDTH 24       /* characters in the bar */

struct progress {
	FILE *out;
	int tty;            /* out is a terminal: redraw in place */
	int quiet;          /* show nothing */
	int drawn;          /* a live line is on screen */
	double last;        /* monotonic seconds of the last output */
	double interval;    /* seconds between lines when not a terminal */
	double started;
};

/* progress_init - for OUT (stderr); QUIET turns it off. Test knob: MAILSIFT_PROGRESS_INTERVAL
 * (seconds) replaces PROGRESS_LINE_INTERVAL. */
void progress_init(struct progress *p, FILE *out, int quiet);

/* progress_show - FRACTION in [0,1] or negative when unknown, and a line of TEXT; shown only
 * when enough time has passed since the last one, unless FORCE */
void progress_show(struct progress *p, double fraction, const char *text, int force);

/* progress_end - finish the live line so that later output starts on a fresh line */
void progress_end(struct progress *p);

#endif
