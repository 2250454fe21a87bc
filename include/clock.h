/* clock.h — the one monotonic clock every pass times itself with. */
#ifndef OVL2FSCK_CLOCK_H
#define OVL2FSCK_CLOCK_H

/* Seconds on CLOCK_MONOTONIC. */
double clock_now(void);

#endif
