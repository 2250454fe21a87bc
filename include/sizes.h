/* sizes.h — disk usage of garbage findings (st_blocks, hard links once). */
#ifndef OVL2FSCK_SIZES_H
#define OVL2FSCK_SIZES_H

#include <signal.h>
#include <stdint.h>

#include "db.h"

/* fds one du walk holds at most (nftw's 32 dir streams and one more):
 * par_for's bound when walks run side by side */
#define SIZES_FDS_PER_WALK 33

/* Fill finding.bytes for every non-young garbage finding (its path and owned
 * paths under root) and return the total, each inode counted once across
 * all findings. Never follows a symlink or crosses into another filesystem. */
int64_t sizes_fill_garbage(struct db *db, const char *root);
/* The same, giving up (with partial sizes) as soon as *stop is non-zero. */
int64_t sizes_fill_garbage_until(struct db *db, const char *root, volatile sig_atomic_t *stop);

/* du of one root-relative path (no dedupe across calls). */
int64_t sizes_of_path(const char *root, const char *relpath);

#endif
