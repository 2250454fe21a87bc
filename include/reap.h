/* reap.h — the reaper and repair: dry-run plans, --apply, quarantine,
 * restore and purge (src/reap*.c). Each entry point returns an exit code. */
#ifndef OVL2FSCK_REAP_H
#define OVL2FSCK_REAP_H

#include <signal.h>

#include "catalog.h"
#include "opts.h"

/* --reap and/or --repair, with or without --apply. */
int reap_main(const struct options *o, const struct catalog *cat, volatile sig_atomic_t *stop);
/* --restore DIR */
int reap_restore_main(const struct options *o, volatile sig_atomic_t *stop);
/* --purge-quarantine DIR --older-than DUR */
int reap_purge_main(const struct options *o, volatile sig_atomic_t *stop);

#endif
