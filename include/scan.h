/* scan.h — read a Docker root into the scan database (never writes to the root). */
#ifndef OVL2FSCK_SCAN_H
#define OVL2FSCK_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>

#include "db.h"

struct scan_counts {
    long images, layers, mounts, containers, overlay_dirs, links, buildkit_snapshots;
    /* a containerd store (cd_* tables) */
    long cd_namespaces, cd_images, cd_blobs, cd_snapshots, cd_containers, cd_leases, cd_ingests, cd_snapshot_dirs,
        cd_blob_files, cd_sandboxes;
};

/* Where the scan's time went: thread seconds by phase, summed over its
 * threads (reading the store, parsing JSON and hashing, loading SQLite,
 * which includes the merge and the indexes). */
struct scan_times {
    double walk, parse, load;
    int threads;
};

struct progress;

/* Scan root (an absolute path) into db. Returns 0, or -1 with a message in
 * err for an operational error (root unreadable, database failure). stop is
 * polled between objects: when it becomes non-zero the scan returns -2.
 * times and progress may be NULL. */
int scan_root(struct db *db, const char *root, volatile sig_atomic_t *stop, struct progress *progress,
              struct scan_times *times, char *err, size_t errlen);

void scan_read_counts(struct db *db, struct scan_counts *c);

/* --io-depth: the reads scan_root keeps in flight on a cold cache (a pool
 * of that many I/O threads reading ahead of the parsers); 1: none. */
void scan_set_io_depth(int depth);

/* Why an image config (cJSON_Parse's result, NULL when not JSON) gives no
 * layers to trust -- not a JSON object, no rootfs, a malformed
 * rootfs.diff_ids -- or NULL when its diff_ids are well-formed (absent or
 * null: no layers). The scan and the reaper read configs alike. */
struct cJSON;
const char *scan_image_config_error(const struct cJSON *cfg, char *why, size_t whylen);

#endif
