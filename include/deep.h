/*
 * deep.h — deep verification of overlay2 layers against their diffIDs.
 *
 * Owns: proving, offline, that overlay2/<cache-id>/diff/ still holds the
 * exact content dockerd registered for a layer. The layer's tar stream is
 * rebuilt the way `docker save` does it — tar-split.json.gz segments
 * verbatim, plus for every file entry of size > 0 the bytes of
 * diff/<name> — and its sha256 is compared with the diffID. Each file is
 * also checked against its tar-split CRC-64 so a mismatch names the file.
 *
 * Safety: nothing outside diff/ is ever opened. Names are validated first
 * (absolute names, ".." components and duplicates make the tar-split
 * invalid, and nothing is opened for it). Paths are resolved beneath diff/
 * without following any symlink (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|
 * RESOLVE_NO_MAGICLINKS, or a component walk with O_NOFOLLOW when openat2 is
 * unavailable); only regular files are opened, with O_NONBLOCK and
 * O_NOATIME (so reading a store does not change its atimes).
 *
 * Memory per layer is constant apart from the set of file names (for the
 * duplicate check) and the longest tar-split line: files are streamed in
 * DEEP_CHUNK-byte reads, never loaded whole.
 *
 * Findings — the check names are stable API:
 *   layer-tarsplit-missing   no tar-split.json.gz in the layerdb dir
 *   layer-tarsplit-invalid   not gzip, truncated, bad JSON line, bad base64,
 *                            missing CRC, duplicate path, absolute name or
 *                            ".." component; verification of the layer stops
 *   layer-file-missing       a file listed with size > 0 is absent from diff/
 *                            (also: a path component is not a directory, or
 *                            is a symlink, which is not followed)
 *   layer-file-modified      a file's CRC-64 differs, its size differs, it is
 *                            not a regular file, or it cannot be read
 *   layer-content-mismatch   sha256 of the rebuilt stream != diffID
 * At most DEEP_MAX_FILE_FINDINGS missing/modified findings are emitted per
 * layer; the rest are summarised in one finding per check ("... and N more").
 *
 * Size semantics: exactly `size` bytes of each file go into the stream (so
 * the rebuilt tar stays well-formed). A file shorter than `size` feeds what
 * it has (the stream hash then mismatches as well); a file longer than `size`
 * is reported as layer-file-modified even if its first `size` bytes match
 * (docker save, which copies whole files, would fail on it).
 */
#ifndef OVL2FSCK_DEEP_H
#define OVL2FSCK_DEEP_H

#include <stddef.h>
#include <stdint.h>

#define DEEP_CHUNK (256u * 1024)
#define DEEP_MAX_FILE_FINDINGS 20

#define DEEP_CHECK_TARSPLIT_MISSING "layer-tarsplit-missing"
#define DEEP_CHECK_TARSPLIT_INVALID "layer-tarsplit-invalid"
#define DEEP_CHECK_FILE_MISSING "layer-file-missing"
#define DEEP_CHECK_FILE_MODIFIED "layer-file-modified"
#define DEEP_CHECK_CONTENT_MISMATCH "layer-content-mismatch"

/*
 * One finding. chain_id is job->chain_id as given; detail is a one-line
 * human-readable text (file names are quoted, with non-printable bytes and
 * invalid UTF-8 escaped as \xNN). Both strings are valid only during the call.
 */
typedef void (*deep_finding_fn)(void *ctx, const char *chain_id, const char *check,
                                const char *detail);

/*
 * The rebuilt tar stream, in order, for deep_rebuild_stream(). Returns 0 to
 * continue, non-zero to abort the rebuild.
 */
typedef int (*deep_write_fn)(void *ctx, const void *buf, size_t len);

struct deep_layer_job {
    const char *chain_id;  /* for findings only, e.g. "sha256:<chain>" or "<chain>" */
    int layer_dirfd;       /* open dir fd of layerdb/sha256/<chain>/ */
    int diff_dirfd;        /* open dir fd of overlay2/<cache-id>/diff/ */
    const char *diff_id;   /* expected "sha256:<64 lowercase hex>" */
};

struct deep_stats {
    uint64_t layers;       /* layers fully processed (verified or found bad) */
    uint64_t bytes_hashed; /* bytes of rebuilt tar stream fed to sha256 */
    uint64_t files;        /* file entries with size > 0 read from diff/ */
};

/*
 * Called once per finished layer by deep_verify_all (serialised with the
 * finding callback). rc/err are deep_verify_layer's result and errno; totals
 * are the running sums so far; done counts finished layers out of total.
 */
typedef void (*deep_progress_fn)(void *ctx, const struct deep_layer_job *job, int rc,
                                 int err, size_t done, size_t total,
                                 const struct deep_stats *totals);

/*
 * Verify one layer. Findings go to fn (may be NULL); stats are ADDED to *st
 * (may be NULL). Returns 0 when the layer was processed — findings or not —
 * and -1 with errno set when it could not be (bad arguments: EINVAL; out of
 * memory; I/O error reading tar-split.json.gz; out of file descriptors).
 * Thread-safe: jobs share nothing.
 */
int deep_verify_layer(const struct deep_layer_job *job, deep_finding_fn fn, void *ctx,
                      struct deep_stats *st);

/*
 * Verify n layers on `threads` worker threads (<= 0: 1; never more than n).
 * fn and progress are called under one mutex, so they need no locking of
 * their own. *st (may be NULL) is overwritten with the totals. Returns the
 * number of layers that could not be processed (deep_verify_layer == -1;
 * reported to progress with their errno), or -1 if threads could not start.
 */
int deep_verify_all(const struct deep_layer_job *jobs, size_t n, int threads,
                    deep_finding_fn fn, deep_progress_fn progress, void *ctx,
                    struct deep_stats *st);

/*
 * Rebuild the layer's tar stream and pass it to write_fn in order (what
 * `docker save` would write as layer.tar). Findings are reported as in
 * deep_verify_layer when fn is not NULL. Returns 0, or -1 with errno set
 * (ECANCELED when write_fn asked to stop).
 */
int deep_rebuild_stream(const struct deep_layer_job *job, deep_write_fn write_fn, void *wctx,
                        deep_finding_fn fn, void *fctx, struct deep_stats *st);

/*
 * Path resolution strategy, for tests: DEEP_RESOLVE_AUTO uses openat2 when the
 * kernel has it and falls back to the component walk otherwise;
 * DEEP_RESOLVE_WALK forces the walk. Process-wide; set before verifying.
 */
#define DEEP_RESOLVE_AUTO 0
#define DEEP_RESOLVE_WALK 1
void deep_set_resolve_mode(int mode);

#endif
