/* reap_internal.h — what the reaper's modules (src/reap*.c) share.
 *
 *   reap.c            entry points, --apply orchestration, exit codes
 *   reap_plan.c       the plan: findings -> ordered items of steps
 *   reap_refs.c       re-verification: a fresh reference index of the store
 *   reap_fs.c         which paths of a Docker root may be touched at all
 *   reap_tags.c       atomic edits of repositories.json
 *   reap_quarantine.c quarantine manifest, the move into it (any store's reaper),
 *                     --restore, --purge-quarantine
 *   reap_output.c     the plan and its results, as text or JSON
 *
 * Not used outside the reaper. The lock, journal, trash, safe delete,
 * atomic writes and the apply loop are the apply engine's (act.h). */
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

#include "act.h"
#include "catalog.h"
#include "db.h"
#include "opts.h"
#include "reap_quarantine.h"

/* Names the reaper writes inside the store (its lock and trash are the
 * apply engine's: act.h). */
#define REAP_TAGS_PATH "image/overlay2/repositories.json"
#define REAP_TAGS_TMP ".tmp-repositories.json-ovl2fsck"
#define REAP_MANIFEST "manifest.jsonl"
#define REAP_ITEMS_DIR "items"
#define REAP_PURGING_PREFIX "purging-"

/* ---- the plan -------------------------------------------------------- */

enum reap_action {
    REAP_RENAME_ASIDE,   /* layerdb/sha256/<chain> -> <chain>-<rand>-removing (dockerd's order) */
    REAP_REMOVE,         /* rename into trash (or quarantine), then delete the trash entry */
    REAP_REMOVE_ASIDE,   /* REAP_REMOVE of what this item's REAP_RENAME_ASIDE made */
    REAP_UNTAG,          /* drop the image's references from repositories.json */
    REAP_PRUNE_EMPTY     /* rmdir a parent dir when it is empty (image mount levels) */
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
    char *path;          /* root-relative; for REAP_REMOVE_ASIDE the path renamed aside */
    char *link_dir;      /* ROLE_LINK: the overlay2 dir the link must point to */
    bool have_id;        /* dev/ino were recorded at plan time */
    dev_t dev;
    ino_t ino;
    mode_t type;         /* S_IFDIR, S_IFLNK, S_IFREG ... at plan time */
    int64_t bytes;       /* du at plan time (0 unless needed) */
    /* filled while applying */
    char *aside;         /* REAP_RENAME_ASIDE: the -removing path it made */
    bool done;
};

enum item_kind {
    KIND_OVERLAY_ORPHAN, KIND_LINK_BROKEN, KIND_LAYER, KIND_LAYER_DANGLING, KIND_LEFTOVER,
    KIND_MOUNT, KIND_CONTAINER, KIND_IMAGE,
    KIND_CONTAINER_REMOVAL,  /* a container dockerd was removing: its dirs, mount entry, containers/<id> */
    KIND_IMAGE_MOUNT         /* an image mount entry (Docker 28) of a container that is gone */
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
    size_t tag_count, tag_cap;
    struct reap_step *steps;
    size_t step_count, step_cap;
    /* results */
    enum act_result result;
    char *error;
    int64_t freed;       /* bytes the delete walker actually released */
    int64_t moved;       /* bytes moved into quarantine */
};

struct reap_plan {
    struct reap_item *items;
    size_t count, cap;
    int64_t young_skipped;    /* reapable findings younger than --min-age */
    int64_t errors_left;      /* non-young errors the plan does not remove */
    int64_t garbage_left;     /* garbage findings the plan could not take (vanished, claimed) */
    int64_t warnings;
    char **notes;             /* plan-time remarks (kept dirs, skipped subtrees ...) */
    size_t note_count, note_cap;
};

/* Validate o->include: 0, or -1 with a message naming the bad entry. */
/* Validate o->include against the catalog (checks that declare
 * "-- action: reap-include"): 0, or -1 with a message naming the bad entry. */
int reap_parse_include(const struct catalog *cat, const char *include, char *err, size_t errlen);

/* Build the plan from a pipeline's findings (root = canonical root): the
 * findings of checks that declare "-- action: reap" and are garbage, and of
 * "reap-include" checks named in include. */
int reap_plan_build(struct reap_plan *plan, struct db *db, const char *root, const struct catalog *cat,
                    const char *include, char *err, size_t errlen);
void reap_plan_free(struct reap_plan *plan);
void reap_plan_note(struct reap_plan *plan, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sort items into the order they are applied (see reap_plan.c). */
void reap_plan_sort(struct reap_plan *plan);
int64_t reap_plan_bytes(const struct reap_plan *plan);
size_t reap_plan_paths(const struct reap_plan *plan);
const char *reap_action_name(enum reap_action a);

/* ---- file system ------------------------------------------------------ */

/* A relpath the reaper may touch: a known parent dir of the store plus one
 * valid name (see reap_fs.c). */
bool reap_path_allowed(const char *relpath);
/* ---- re-verification: a fresh reference index ------------------------- */

struct reap_refs;
/* Read the store's references: layer cache-ids and parents, mount ids and
 * parents, image chainIDs, BuildKit dirs and chains, the claimed dirs'
 * lower files and the overlay2/l symlinks. NULL on OOM. */
struct reap_refs *reap_refs_load(int rootfd);
void reap_refs_free(struct reap_refs *r);
/* A value that changes whenever what reap_refs_load reads is changed (layerdb,
 * mounts, image configs, snapshots.db, overlay2/l): an index may be reused
 * while it stays the same. */
uint64_t reap_refs_signature(int rootfd);
/* Who still claims overlay2/<dir>, ignoring the layer or mount named by
 * except (may be NULL): "layer <chain>", "mount <id>", "BuildKit" ... into
 * why. Also true when the claims cannot be known (an unreadable id file). */
bool reap_refs_dir_claimed(const struct reap_refs *r, const char *dir, const char *except, char *why, size_t whylen);
/* Does anything use layer <chain> (image, mount, non-doomed child layer,
 * BuildKit)? A layer whose chain is in doomed (may be NULL) does not count
 * as a user. True too when the graph is unreliable. */
bool reap_refs_layer_used(const struct reap_refs *r, const char *chain, char *why, size_t whylen);
/* Is layer <chain> present (a hex64 dir in layerdb/sha256)? */
bool reap_refs_layer_exists(const struct reap_refs *r, const char *chain);
/* Walk up from chain: true when it or an ancestor has a cache-id naming no
 * overlay2 dir (the layer-cache-id-dangling condition). */
bool reap_refs_chain_dangling(const struct reap_refs *r, int rootfd, const char *chain);
/* A mount whose parent is chain (its container id into who), else false. */
bool reap_refs_layer_has_mount(const struct reap_refs *r, const char *chain, char *who, size_t wholen);
/* The run removed (or renamed aside) root-relative path: the index forgets
 * what a fresh load would no longer see there (a layer, mounts, an l/
 * symlink). 0 when the
 * index is what a load would read now; -1 when the path is one the index
 * reads but this cannot follow (an image config, snapshots.db, a file inside
 * an entry): load it again. */
int reap_refs_forget_path(struct reap_refs *r, const char *path);

/* ---- repositories.json ------------------------------------------------- */

/* An untag computed but not yet written. */
struct reap_tags_edit {
    cJSON *removed;          /* {"repo":{"ref":"sha256:<id>"}} */
    char *before, *after;    /* the file's bytes now, and as they will be */
    size_t before_len, after_len;
    char before_sha[65], after_sha[65];
};
/* Compute the removal of every reference to image (repos left empty are
 * dropped, as dockerd does). removed is empty when nothing names it.
 * 0, or -1 with err (unreadable or malformed file). */
int reap_tags_prepare_untag(int rootfd, const char *image, struct reap_tags_edit *e, char *err, size_t errlen);
void reap_tags_edit_free(struct reap_tags_edit *e);
/* Put removed references back: when the file is still exactly the old bytes
 * nothing is done; when it is exactly what we wrote (after_sha) the old
 * bytes go back verbatim; else each removed reference is re-inserted. A
 * reference that now names another image is a conflict (reported in err,
 * nothing written). check_only: only look for conflicts. */
int reap_tags_restore(int rootfd, const cJSON *removed, const char *before, size_t before_len,
                 const char *after_sha, bool check_only, char *err, size_t errlen);
/* Write bytes as relpath atomically (temp in the same dir, fsync, rename,
 * fsync dir), copying mode and owner from the old file when there is one. */
int reap_tags_write_atomic(int rootfd, const char *relpath, const char *data, size_t len, char *err, size_t errlen);

/* ---- quarantine: include/reap_quarantine.h (shared with the containerd reaper) */

/* ---- output ------------------------------------------------------------ */

struct reap_summary {
    struct act_counts counts;       /* done, failed, skipped, not reached; interrupted, refused */
    bool quarantine;
    char *quarantine_dir;           /* DIR/<run> when quarantining */
    int64_t planned_bytes, freed_bytes, moved_bytes, trash_finished_bytes;
    size_t trash_finished, trash_pending;
    size_t full_retried;            /* items retried once space was freed */
};

/* The plan (and results) as text, or as JSON with --json. */
void reap_print(FILE *out, const char *root, const struct reap_plan *plan, const struct reap_summary *s,
                const struct options *o);
void reap_print_json(FILE *out, const char *root, const struct reap_plan *plan, const struct reap_summary *s);
/* The JSON object reap_print_json prints (caller frees). */
cJSON *reap_json(const char *root, const struct reap_plan *plan, const struct reap_summary *s);


#endif
