/* verify.h — the deep verification pass (--deep): picks layers from the
 * scan database, rebuilds and hashes their tar streams (src/deep.c) and
 * stores the outcome in deep_layer / deep_finding for the layer-tarsplit-*,
 * layer-file-* and layer-content-mismatch checks. */
#ifndef OVL2FSCK_VERIFY_H
#define OVL2FSCK_VERIFY_H

#include <signal.h>
#include <stddef.h>

#include "db.h"
#include "exit_codes.h"
#include "progress.h"
#include "opts.h"

/* Returns 0; EXIT_USAGE when a --layer/--image names nothing (message in
 * err); EXIT_OPERATIONAL on a database error; EXIT_INTERRUPTED when stopped. */
int verify_layers(struct db *db, const char *root, const struct options *o, volatile sig_atomic_t *stop,
                  struct progress *prog, char *err, size_t errlen);

#endif
