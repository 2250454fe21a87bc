/* scan_containerd.h — read a containerd root into the scan database
 * (src/scan_containerd.c: the disk and the image configs;
 * src/scan_containerd_bolt.c: meta.db and the overlayfs snapshotter's
 * metadata.db). Never writes to the root. */
#ifndef OVL2FSCK_SCAN_CONTAINERD_H
#define OVL2FSCK_SCAN_CONTAINERD_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bbolt.h"
#include "cd_intern.h"
#include "db.h"
#include "scan.h"

#define CD_META_DB "io.containerd.metadata.v1.bolt/meta.db"
#define CD_SNAP_DIR "io.containerd.snapshotter.v1.overlayfs"
#define CD_SNAP_DB CD_SNAP_DIR "/metadata.db"
#define CD_SNAPSHOTS CD_SNAP_DIR "/snapshots"
#define CD_CONTENT "io.containerd.content.v1.content"
#define CD_BLOBS CD_CONTENT "/blobs/sha256"
#define CD_INGEST CD_CONTENT "/ingest"
/* Largest meta.db/metadata.db read (whole, into memory): bbolt gives every
 * bucket holding a bucket (an image, a labelled blob, a snapshot with
 * children) a 4 KiB page of its own, about 27 KiB per pulled image: 830 MiB
 * at 30k images, past bbolt.c's default cap. */
#define CD_BOLT_MAX_BYTES ((size_t)4 << 30)
/* The scan database of a containerd root is memory-mapped by every
 * connection (SQLite's mmap_size; the database is ovl2fsck's own file, never
 * the store's): its checks read a 100-300 MB database whose pages would
 * otherwise be copied by pread through a 32 MB cache (1.1 s of system time
 * at 30k images). Docker roots keep the cache only, for their RSS target. */
#define CD_SCANDB_MMAP_PRAGMA "PRAGMA mmap_size=4294967296;"

struct progress;

/* Scan the containerd root cd_root (absolute, canonical) into db; when
 * docker_root is set (a Docker root on the containerd image store), its
 * containers/ too. deep: hash every blob file. Returns 0, -1 with a message
 * in err (root unreadable, database failure), -2 when stop was raised. */
int scan_containerd_root(struct db *db, const char *cd_root, const char *docker_root, bool deep,
                         volatile sig_atomic_t *stop, struct progress *progress, struct scan_times *times,
                         char *err, size_t errlen);

/* Load the bbolt file at dirfd/relpath (meta.db or metadata.db, as name
 * says) into db: a cd_db row always, the records only when the whole file
 * reads cleanly; their long strings as ids of strs (the caller writes them
 * into cd_str with cd_intern_store once its writers are done). Returns 0,
 * or -1 on a database error (message in err). */
int scan_cd_meta_db(struct db *db, struct cd_intern *strs, int dirfd, const char *relpath, char *err, size_t errlen);
int scan_cd_snapshot_db(struct db *db, struct cd_intern *strs, int dirfd, const char *relpath, char *err,
                        size_t errlen);

/* Decoders of the values containerd stores (exposed for the unit tests).
 * Each returns 0, or -1 when the bytes are not a complete value. */
int cd_uvarint(const unsigned char *p, size_t len, uint64_t *out, size_t *used);
int cd_varint(const unsigned char *p, size_t len, int64_t *out);
/* Go time.MarshalBinary (versions 1 and 2) -> epoch seconds. */
int cd_go_time(const unsigned char *p, size_t len, int64_t *out);
/* RFC 3339 ("2026-12-05T00:31:29Z", fractions, +hh:mm) -> epoch seconds. */
int cd_rfc3339(const char *s, int64_t *out);

#endif
