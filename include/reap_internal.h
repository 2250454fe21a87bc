/* reap_internal.h — what the reaper's modules (src/reap*.c) share.
 *
 *   reap.c            entry points, --apply orchestration, exit codes
 *   reap_plan.c       the plan: findings -> ordered items of steps
 *   reap_refs.c       re-verification: a fresh reference index of the store
 *   reap_fs.c         path validation, rename-into-trash, the safe delete walker
 *   reap_lock.c       the exclusive lock on a root (or a quarantine dir)
 *   reap_journal.c    the JSON-lines action journal
 *   reap_tags.c       atomic edits of repositories.json
 *   reap_quarantine.c quarantine manifest, --restore, --purge-quarantine
 *   reap_output.c     the plan and its results, as text or JSON
 *
 * Not used outside the reaper. */
#ifndef OVL2FSCK_REAP_INTERNAL_H
#define OVL2FSCK_REAP_INTERNAL_H

#include <cJSON.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "db.h"
#include "opts.h"

/* Names inside the root that belong to ovl2fsck (the scanner never looks
 * at the root's top level, so they are invisible to checks and dockerd). */
#define REAP_LOCK_NAME ".ovl2fsck.lock"
#define REAP_TRASH_NAME ".ovl2fsck-trash"
#define REAP_TAGS_PATH "image/overlay2/repositories.json"
#define REAP_TAGS_TMP ".tmp-repositories.json-ovl2fsck"
#define REAP_MANIFEST "manifest.jsonl"
#define REAP_ITEMS_DIR "items"
#define REAP_PURGING_PREFIX "purging-"

/* Test hook: OVL2FSCK_TEST_CRASH_AFTER=k makes the process SIGKILL itself
 * right after the k-th journaled action has completed (its "after" line is
 * on disk). Used by tests/integration/t-reap-crash.t to prove that every
 * interruption leaves a store the next run finishes. Never set it in
 * production. */
#define REAP_CRASH_ENV "OVL2FSCK_TEST_CRASH_AFTER"
/* Test hook: OVL2FSCK_TEST_TERM_AFTER=k raises SIGTERM after the k-th
 * journaled action, as an operator's Ctrl-C would arrive mid-item. */
#define REAP_TERM_ENV "OVL2FSCK_TEST_TERM_AFTER"

/* ---- the plan -------------------------------------------------------- */

enum reap_action {
    ACT_RENAME_ASIDE,   /* layerdb/sha256/<chain> -> <chain>-<rand>-removing (dockerd's order) */
    ACT_REMOVE,         /* rename into trash (or quarantine), then delete the trash entry */
    ACT_REMOVE_ASIDE,   /* ACT_REMOVE of what this item's ACT_RENAME_ASIDE made */
    ACT_UNTAG           /* drop the image's references from repositories.json */
};

/* How a step's path is re-verified just before it is touched. */
enum step_role {
    ROLE_PLAIN,         /* leftover file or dir: exists, same inode */
    ROLE_OVERLAY_DIR,   /* overlay2/<dir>: also unclaimed and not mounted */
    ROLE_LINK,          /* overlay2/l/<name> owned by a dir: still points at ../<dir>/diff */
    ROLE_BROKEN_LINK,   /* overlay2/l/<name>: its target dir still does not exist */
    ROLE_CONTAINER_DIR  /* containers/<id>: nothing mounted inside */
};

struct reap_step {
    enum reap_action action;
    enum step_role role;
    char *path;          /* root-relative; for ACT_REMOVE_ASIDE the path renamed aside */
    char *link_dir;      /* ROLE_LINK: the overlay2 dir the link must point to */
    bool have_id;        /* dev/ino were recorded at plan time */
    dev_t dev;
    ino_t ino;
    mode_t type;         /* S_IFDIR, S_IFLNK, S_IFREG ... at plan time */
    int64_t bytes;       /* du at plan time (0 unless needed) */
    /* filled while applying */
    char *aside;         /* ACT_RENAME_ASIDE: the -removing path it made */
    bool done;
};

enum item_kind {
    KIND_OVERLAY_ORPHAN, KIND_LINK_BROKEN, KIND_LAYER, KIND_LAYER_DANGLING, KIND_LEFTOVER,
    KIND_MOUNT, KIND_CONTAINER, KIND_IMAGE,
    KIND_CONTAINER_REMOVAL   /* a container dockerd was removing: its dirs, mount entry, containers/<id> */
};

enum item_result {
    RES_PLANNED, RES_DONE, RES_FAILED, RES_SKIPPED, RES_NOT_REACHED
};

struct reap_item {
    enum item_kind kind;
    char *check;         /* the finding's check name */
    char *severity;
    char *object;
    char *why;           /* the finding's detail (or the reaper's reason) */
    char *primary;       /* the path whose age and identity the item hangs on */
    int64_t mtime;       /* of the primary path at plan time; -1 when unknown */
    int64_t bytes;       /* reclaimable, from the finding (or measured for included errors) */
    int depth;           /* layers: distance from the base (children go first) */
    char **tags;         /* KIND_IMAGE: references that name the image (plan time) */
    size_t tag_count;
    struct reap_step *steps;
    size_t step_count;
    /* results */
    enum item_result result;
    char *error;
    int64_t freed;       /* bytes the delete walker actually released */
    int64_t moved;       /* bytes moved into quarantine */
};

struct reap_plan {
    struct reap_item *items;
    size_t count;
    int64_t young_skipped;    /* reapable findings younger than --min-age */
    int64_t errors_left;      /* non-young errors the plan does not remove */
    int64_t garbage_left;     /* garbage findings the plan could not take (vanished, claimed) */
    int64_t warnings;
    char **notes;             /* plan-time remarks (kept dirs, skipped subtrees ...) */
    size_t note_count;
};

/* Validate o->include: 0, or -1 with a message naming the bad entry. */
int reap_parse_include(const char *include, bool *image_layer_missing, bool *cache_id_dangling,
                       char *err, size_t errlen);

/* Build the plan from a pipeline's findings (root = canonical root). */
int plan_build(struct reap_plan *plan, struct db *db, const char *root, bool inc_images,
               bool inc_dangling, char *err, size_t errlen);
void plan_free(struct reap_plan *plan);
void plan_add_note(struct reap_plan *plan, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sort items into the order they are applied (see reap_plan.c). */
void plan_sort(struct reap_plan *plan);
int64_t plan_total_bytes(const struct reap_plan *plan);
size_t plan_total_paths(const struct reap_plan *plan);
const char *reap_action_name(enum reap_action a);
const char *item_result_name(enum item_result r);

/* ---- file system ------------------------------------------------------ */

/* A relpath the reaper may touch: a known parent dir of the store plus one
 * valid name (see reap_fs.c). */
bool reap_path_allowed(const char *relpath);
/* Open the parent dir of relpath (each component O_NOFOLLOW, same device as
 * rootfd); *base points into relpath. -1 with errno. */
int reap_open_parent(int rootfd, const char *relpath, const char **base);
/* lstat of a root-relative path without following any symlink. */
bool reap_lstat(int rootfd, const char *relpath, struct stat *st);

/* Delete dirfd/name and everything below it: openat/unlinkat only, never
 * following a symlink (O_NOFOLLOW|O_DIRECTORY), never descending into
 * anything whose st_dev differs from dev. freed gets st_blocks*512 of every
 * inode whose last link went. Returns 0, or -1 with a message in err (what
 * could be deleted is deleted; a refused subtree stays). */
int reap_safe_delete(int dirfd, const char *name, dev_t dev, int64_t *freed, char *err, size_t errlen);
/* Raise RLIMIT_NOFILE to its hard limit (the walker holds one fd per level). */
void reap_raise_fd_limit(void);

/* A name for a new entry in the trash or quarantine: <time>-<pid>-<n>-<base>. */
void reap_unique_name(char *out, size_t outlen, unsigned long n, const char *base);
/* 32 random lowercase hex chars + NUL (getrandom, falling back to time^pid). */
void reap_random_hex(char *out, size_t hexlen);
/* renameat2 with RENAME_NOREPLACE, verifying the moved object is (dev, ino):
 * when it is not (a swap in between), it is put back and -1/EAGAIN returned. */
int reap_move(int fromfd, const char *from, int tofd, const char *to, dev_t dev, ino_t ino);
/* fsync a dir fd (after renames). */
void reap_fsync_dir(int fd);
/* Create dirfd/name as a dir (0700) if missing and open it O_NOFOLLOW. */
int reap_open_or_make_dir(int dirfd, const char *name);
/* mkdir -p of an absolute path with mode 0700 for what it creates. */
int reap_mkdir_p(const char *path);

/* ---- re-verification: a fresh reference index ------------------------- */

struct reap_refs;
/* Read the store's references: layer cache-ids and parents, mount ids and
 * parents, image chainIDs, BuildKit dirs and chains. NULL on OOM. */
struct reap_refs *refs_load(int rootfd);
void refs_free(struct reap_refs *r);
/* A value that changes whenever what refs_load reads is changed (layerdb,
 * mounts, image configs, snapshots.db): an index may be reused while it
 * stays the same. */
uint64_t refs_signature(int rootfd);
/* Who still claims overlay2/<dir>, ignoring the layer or mount named by
 * except (may be NULL): "layer <chain>", "mount <id>", "BuildKit" ... into
 * why. Also true when the claims cannot be known (an unreadable id file). */
bool refs_dir_claimed(const struct reap_refs *r, const char *dir, const char *except, char *why, size_t whylen);
/* Does anything use layer <chain> (image, mount, non-doomed child layer,
 * BuildKit)? A layer whose chain is in doomed (may be NULL) does not count
 * as a user. True too when the graph is unreliable. */
bool refs_layer_used(const struct reap_refs *r, const char *chain, char *why, size_t whylen);
/* Is layer <chain> present (a hex64 dir in layerdb/sha256)? */
bool refs_layer_exists(const struct reap_refs *r, const char *chain);
/* Walk up from chain: true when it or an ancestor has a cache-id naming no
 * overlay2 dir (the layer-cache-id-dangling condition). */
bool refs_chain_dangling(const struct reap_refs *r, int rootfd, const char *chain);
/* A mount whose parent is chain (its container id into who), else false. */
bool refs_layer_has_mount(const struct reap_refs *r, const char *chain, char *who, size_t wholen);

/* ---- lock -------------------------------------------------------------- */

/* Take the exclusive flock on dirfd/name (created 0600) and write
 * "pid <pid>\nstarted <time>\n" into it. Returns the fd, or -1 with a
 * message naming the holder in err. */
int reap_lock_take(int dirfd, const char *name, const char *what, char *err, size_t errlen);
/* Unlink and release (unlinking while holding the lock is race-free: a
 * waiter re-checks that the path still is the inode it locked). */
void reap_lock_release(int dirfd, const char *name, int fd);

/* ---- journal ----------------------------------------------------------- */

struct journal {
    int fd;
    char run[64];              /* "<pid>-<start time>" */
    char path[PATH_MAX];       /* the journal asked for (--journal, config, default) */
    char fallback[PATH_MAX];   /* where lines go while path's file system is full ("" = not) */
    unsigned long actions;     /* completed actions */
    long crash_after;          /* test hooks; 0 = off */
    long term_after;
};

/* Open (append, 0600; parent dirs created 0700). When path's file system
 * is full -- now, or at any later write -- the lines go to a fallback in
 * memory-backed /run or /dev/shm instead (said on stderr); journal_close
 * appends them to path once there is room again. -1 with a message. */
int journal_open(struct journal *j, const char *path, char *err, size_t errlen);
void journal_close(struct journal *j);
/* One JSON line, fsync'd: result "started" before an action, then "ok",
 * "failed" or "skipped" after it (error NULL unless failed/skipped). extra
 * (may be NULL) adds fields; it is not freed. Returns 0 or -1. */
int journal_write(struct journal *j, const char *check, const char *object, const char *path,
                  int64_t bytes, const char *action, const char *result, const char *error,
                  const cJSON *extra);
/* Record an action's end, then honour the crash test hook. */
int journal_end(struct journal *j, const char *check, const char *object, const char *path,
                int64_t bytes, const char *action, const char *error, const cJSON *extra);
/* The line journal_write would write (for unit tests); malloc'd. */
char *journal_format(const char *run, const char *check, const char *object, const char *path,
                     int64_t bytes, const char *action, const char *result, const char *error,
                     const cJSON *extra, double now);

/* ---- repositories.json ------------------------------------------------- */

/* An untag computed but not yet written. */
struct tags_edit {
    cJSON *removed;          /* {"repo":{"ref":"sha256:<id>"}} */
    char *before, *after;    /* the file's bytes now, and as they will be */
    size_t before_len, after_len;
    char before_sha[65], after_sha[65];
};
/* Compute the removal of every reference to image (repos left empty are
 * dropped, as dockerd does). removed is empty when nothing names it.
 * 0, or -1 with err (unreadable or malformed file). */
int tags_prepare_untag(int rootfd, const char *image, struct tags_edit *e, char *err, size_t errlen);
void tags_edit_free(struct tags_edit *e);
/* Put removed references back: when the file is still exactly the old bytes
 * nothing is done; when it is exactly what we wrote (after_sha) the old
 * bytes go back verbatim; else each removed reference is re-inserted. A
 * reference that now names another image is a conflict (reported in err,
 * nothing written). check_only: only look for conflicts. */
int tags_restore(int rootfd, const cJSON *removed, const char *before, size_t before_len,
                 const char *after_sha, bool check_only, char *err, size_t errlen);
/* Write bytes as relpath atomically (temp in the same dir, fsync, rename,
 * fsync dir), copying mode and owner from the old file when there is one. */
int tags_write_atomic(int rootfd, const char *relpath, const char *data, size_t len, char *err, size_t errlen);

/* ---- quarantine -------------------------------------------------------- */

struct quarantine {
    int dirfd;          /* DIR */
    int runfd;          /* DIR/<run> */
    int itemsfd;        /* DIR/<run>/items */
    int manifest_fd;
    int lock_fd;
    char run[128];
    unsigned long seq;
};

/* Read-only: may DIR (or, when missing, the dir it would be made in) hold a
 * quarantine of the root? (same file system, not inside the store) */
int quarantine_check_place(const char *dir, int rootfd, const char *root, char *err, size_t errlen);
/* Open DIR (created 0700 if missing), refuse another file system than
 * rootfd's, lock it, make a new run dir and write the manifest header. */
int quarantine_open(struct quarantine *q, const char *dir, int rootfd, const char *root,
                    char *err, size_t errlen);
void quarantine_close(struct quarantine *q);
/* Append one manifest record (fsync'd); obj is not freed. */
int quarantine_record(struct quarantine *q, const cJSON *obj);

/* ---- output ------------------------------------------------------------ */

struct reap_summary {
    bool apply, quarantine, interrupted, refused;
    const char *refusal;
    const char *quarantine_dir;     /* DIR/<run> when quarantining */
    size_t done, failed, skipped, not_reached;
    int64_t planned_bytes, freed_bytes, moved_bytes, trash_finished_bytes;
    size_t trash_finished, trash_pending;
    bool disk_full_note;            /* "the disk is full: ... became the trash" was said */
    size_t full_retried;            /* items retried once space was freed */
};

void reap_print_text(FILE *out, const char *root, const struct reap_plan *plan, const struct reap_summary *s,
                     const struct options *o);
void reap_print_json(FILE *out, const char *root, const struct reap_plan *plan, const struct reap_summary *s);
/* The JSON object reap_print_json prints (caller frees). */
cJSON *reap_json(const char *root, const struct reap_plan *plan, const struct reap_summary *s);

/* ---- small shared helpers --------------------------------------------- */

/* ISO-8601 UTC ("2024-05-01T12:00:00.123Z") of t into buf. */
const char *reap_time_text(double t, char *buf, size_t buflen);
double reap_now(void);
/* strdup that never returns NULL for non-NULL input (aborts on OOM). */
char *reap_strdup(const char *s);
char *reap_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Entry points of reap_quarantine.c (called from reap.c). */
int quarantine_restore_main(const struct options *o, volatile sig_atomic_t *stop);
int quarantine_purge_main(const struct options *o, volatile sig_atomic_t *stop);

#endif
