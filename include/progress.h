/* progress.h — the one-line progress display on stderr: shown only when
 * stderr is a terminal and the run has taken more than a second, redrawn
 * at most four times a second, erased when the run is done. */
#ifndef OVL2FSCK_PROGRESS_H
#define OVL2FSCK_PROGRESS_H

#include <stdbool.h>

struct progress {
    bool enabled;
    bool shown;     /* a line is on the terminal now */
    double start, last;
    double after;   /* seconds before the first line (1) */
};

/* enabled only when want is set and stderr is a tty. */
void progress_start(struct progress *p, bool want);
/* The same, shown from the start (a pass that counts toward a known end,
 * as --deep's layers, shows its count at once). */
void progress_start_now(struct progress *p, bool want);
/* Time to redraw? (cheap; call it as often as you like) */
bool progress_due(struct progress *p);
/* Draw "ovl2fsck: <text>" over the previous line. */
void progress_show(struct progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Erase the line, if one was drawn. */
void progress_end(struct progress *p);

#endif
