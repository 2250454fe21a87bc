/* reap_containerd.h — the reaper on a containerd root (src/reap_containerd.c):
 * what lives on disk only (orphaned snapshot dirs, orphaned blobs, orphaned
 * ingest dirs), through the apply engine (act.h). Never writes meta.db or
 * metadata.db. */
#ifndef OVL2FSCK_REAP_CONTAINERD_H
#define OVL2FSCK_REAP_CONTAINERD_H

#include <signal.h>
#include <stdbool.h>

#include "catalog.h"
#include "opts.h"

/* --reap (dry run) or --reap --apply on a containerd root. Returns an exit code. */
int reap_containerd_main(const struct options *o, const struct catalog *cat, volatile sig_atomic_t *stop);

/* A root-relative path the containerd reaper may remove: snapshots/<id>
 * or snapshots/new-<name> of the overlayfs snapshotter, blobs/sha256/<64 hex>,
 * ingest/<64 hex>. */
bool reap_containerd_path_allowed(const char *relpath);

#endif
