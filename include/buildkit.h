/* buildkit.h — reads <root>/buildkit/snapshots.db, the bbolt file kept by
 * moby's builder-next snapshotter (builder/builder-next/adapters/snapshot).
 *
 * One top-level bucket per key, as dockerd 20.10 writes them:
 *   - active snapshot, key = overlay2 dir name (25 chars [0-9a-z]):
 *       parent ("" = none; else another bucket key or "sha256:<chainID>"),
 *       iscommitted (empty value) once committed;
 *   - committed snapshot, key = a new 25-char name (NOT a dir):
 *       committed = the overlay2 dir name, chainid = "sha256:<chainID>" once
 *       registered as a layer (layerdb cache-id of that chain = committed);
 *   - "sha256:<chainID>" key: empty bucket made when a layer was used; stays
 *     after the layer is deleted;
 *   - lease, key = 25-char lease id (NOT a dir): chainid only.
 *   - size (decimal) may appear in any of them.
 * So the dirs a bucket references are its key when it has "parent", and its
 * "committed" value. */
#ifndef OVL2FSCK_BUILDKIT_H
#define OVL2FSCK_BUILDKIT_H

#include <stddef.h>

#define BUILDKIT_SNAPSHOTS_DB "snapshots.db"

/* Bits of buildkit_snapshot.invalid: that field's bytes held a NUL (or the
 * key did); the field is then NULL as if absent. */
#define BUILDKIT_BAD_KEY       0x01u
#define BUILDKIT_BAD_PARENT    0x02u
#define BUILDKIT_BAD_COMMITTED 0x04u
#define BUILDKIT_BAD_CHAINID   0x08u
#define BUILDKIT_BAD_SIZE      0x10u

typedef struct {
    const char *key;        /* bucket name; NULL only with BUILDKIT_BAD_KEY */
    const char *parent;     /* NULL when absent; "" when stored empty */
    const char *committed;  /* NULL when absent */
    const char *chainid;    /* NULL when absent */
    const char *size;       /* NULL when absent */
    int is_committed;       /* the "iscommitted" key is present */
    unsigned invalid;       /* BUILDKIT_BAD_* */
    unsigned other_keys;    /* keys or sub-buckets not named above */
} buildkit_snapshot;

/* Called once per top-level bucket, in key order. Strings are NUL-terminated
 * copies valid only during the call. Return 0 to go on; non-zero stops
 * reading and buildkit_read_snapshots() returns -1 ("stopped by callback"). */
typedef int (*buildkit_snapshot_fn)(void *ctx, const buildkit_snapshot *s);

/* buildkit_dirfd = open directory <root>/buildkit. Opens snapshots.db with
 * O_NOFOLLOW|O_NONBLOCK (a symlink, FIFO, device or dir is refused), reads
 * at most BBOLT_DEFAULT_MAX_BYTES, and checks the whole file BEFORE the first
 * callback: on corruption no callback is made. Top-level keys that are not
 * buckets (bbolt's API cannot create them) are skipped.
 * Returns 0 ok, 1 file absent, -1 error (message in err). */
int buildkit_read_snapshots(int buildkit_dirfd, buildkit_snapshot_fn fn, void *ctx,
                            char *err, size_t errlen);

/* Same on an already opened regular file of at most max_bytes (0 = default). */
int buildkit_read_snapshots_fd(int fd, size_t max_bytes, buildkit_snapshot_fn fn,
                               void *ctx, char *err, size_t errlen);

#endif
