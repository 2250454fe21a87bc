/* progress.c — one progress line on stderr for long runs at a terminal
 * (see progress.h). Only the main thread draws. */
#include "progress.h"
#include "clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define PROGRESS_AFTER 1.0      /* seconds before the first line */
#define PROGRESS_EVERY 0.25     /* seconds between redraws */

void progress_start(struct progress *p, bool want)
{
    p->enabled = want && isatty(STDERR_FILENO);
    p->shown = false;
    p->start = clock_now();
    p->last = 0;
    /* tests: OVL2FSCK_PROGRESS_AFTER=0 shows the line on a run of any length */
    const char *after = getenv("OVL2FSCK_PROGRESS_AFTER");
    p->after = after && *after ? strtod(after, NULL) : PROGRESS_AFTER;
}

void progress_start_now(struct progress *p, bool want)
{
    progress_start(p, want);
    p->after = 0;
}

bool progress_due(struct progress *p)
{
    if (!p || !p->enabled)
        return false;
    double now = clock_now();
    if (now - p->start < p->after || now - p->last < PROGRESS_EVERY)
        return false;
    p->last = now;
    return true;
}

void progress_show(struct progress *p, const char *fmt, ...)
{
    if (!p || !p->enabled)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("\rovl2fsck: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\033[K", stderr);   /* clear the rest of the previous line */
    va_end(ap);
    fflush(stderr);
    p->shown = true;
}

void progress_end(struct progress *p)
{
    if (!p || !p->shown)
        return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    p->shown = false;
}
