/*
 * progress - stderr progress (see progress.h).
 */
#include "cli/progress.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"

void progress_init(struct progress *p, FILE *out, int quiet)
{
	memset(p, 0, sizeof *p);
	p->out = out;
	p->quiet = quiet;
	p->tty = isatty(fileno(out));
	p->started = clock_now();
	p->last = p->started;
	p->interval = PROGRESS_LINE_INTERVAL;
	const char *knob = getenv("MAILSIFT_PROGRESS_INTERVAL");
	if (knob && atof(knob) > 0)
		p->interval = atof(knob);
}

void progress_show(struct progress *p, double fraction, const char *text, int force)
{
	double now = clock_now();
	char bar[PROGRESS_BAR_WIDTH + 1];

	if (p->quiet)
		return;
	if (!force && now - p->last < (p->tty ? PROGRESS_TTY_INTERVAL : p->interval))
		return;
	p->last = now;
	if (!p->tty) {
		if (fraction >= 0)
			fprintf(p->out, "[%5.1f%%] %s\n", fraction * 100, text);
		else
			fprintf(p->out, "%s\n", text);
		fflush(p->out);
		return;
	}
	if (fraction >= 0) {
		int full = (int)(fraction * PROGRESS_BAR_WIDTH + 0.5);
		for (int i = 0; i < PROGRESS_BAR_WIDTH; i++)
			bar[i] = i < full ? '#' : '.';
		bar[PROGRESS_BAR_WIDTH] = '\0';
		fprintf(p->out, "\r\033[K[%s] %5.1f%% %s", bar, fraction * 100, text);
	} else {
		fprintf(p->out, "\r\033[K%s", text);
	}
	fflush(p->out);
	p->drawn = 1;
}

void progress_end(struct progress *p)
{
	if (p->drawn && !p->quiet) {
		fputs("\r\033[K", p->out); /* the next line starts clean; the bar is redrawn later */
		fflush(p->out);
	}
	p->drawn = 0;
}
