/* repair.h — --repair: bring back broken overlay2 links, lower files and
 * work dirs from what is still on disk (src/repair*.c).
 *
 *   repair.c         entry point: dry run, --apply (lock, liveness, journal),
 *                    exit codes
 *   repair_name.c    pure helpers: minting a short name, building a lower
 *                    string, choosing a name from the evidence
 *   repair_model.c   the store as repair sees it (read from the scan
 *                    database) and its target state: every dir's short name
 *                    and lower
 *   repair_plan.c    the plan: what differs between the store and the
 *                    target, as ordered items of steps
 *   repair_apply.c   re-verification right before each item, atomic writes
 *   repair_output.c  the plan and its results, as text or JSON
 *
 * Only repair_main is for main.c; the rest is shared by those files and
 * tests/unit/test_repair*.c. */
#ifndef OVL2FSCK_REPAIR_H
#define OVL2FSCK_REPAIR_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "act.h"
#include "catalog.h"
#include "db.h"
#include "ids.h"
#include "opts.h"

/* --repair, with or without --apply. Returns an exit code (opts.h). */
int repair_main(const struct options *o, const struct catalog *cat, volatile sig_atomic_t *stop);

/* ---- pure helpers (repair_name.c) ------------------------------------- */

#define REPAIR_MAX_LOWER 128     /* dockerd's overlay2 maxDepth */
#define REPAIR_TMP_PREFIX ".ovl2fsck-tmp-"   /* temp names in overlay2/l/ */

/* The base32 alphabet of overlay2 short names. */
extern const char repair_name_alphabet[33];

/* 26 name chars from 26 random bytes (each byte picks one of 32 chars). */
void repair_name_from_bytes(const unsigned char raw[LINK_NAME_LEN], char out[LINK_NAME_LEN + 1]);

/* Is a name in use (by a dir, or present in l/)? */
typedef bool (*repair_taken_fn)(void *ctx, const char *name);

/* A fresh random name (getrandom) that taken() refuses; 0, or -1 when no
 * free name was found in 100 tries. */
int repair_mint_name(char out[LINK_NAME_LEN + 1], repair_taken_fn taken, void *ctx);

/* The lower of a dir whose parent has short name parent_name and lower
 * parent_lower (NULL for a base parent): "l/<parent_name>[:parent_lower]".
 * malloc'd; NULL when it would hold more than REPAIR_MAX_LOWER entries. */
char *repair_lower_build(const char *parent_name, const char *parent_lower);

/* Entries (':'-separated) of a lower string. */
size_t repair_lower_count(const char *lower);

/* A name some child's lower file gives for a dir, and how many do. */
struct repair_vote {
    char name[LINK_NAME_LEN + 1];
    int count;
};

enum repair_source {
    SRC_NONE,          /* not named (content lost, or nothing is needed) */
    SRC_CONSISTENT,    /* the link file and l/ agree already */
    SRC_LINK_FILE,     /* the (valid) link file */
    SRC_SYMLINK,       /* an l/ symlink that still points at the dir */
    SRC_LOWER,         /* the children's lower files */
    SRC_MINTED         /* no evidence left: a fresh name */
};

/* What is known about a dir's lost name. */
struct repair_evidence {
    const char *const *symlinks;      /* names of l/ symlinks pointing at the dir */
    size_t symlink_count;
    const struct repair_vote *votes;  /* names the children's lowers give */
    size_t vote_count;
};

/* Choose a name from the evidence: an l/ symlink that points at the dir
 * (with several, the one most children name, then the smallest), else the
 * name most children's lowers give (ties: the smallest); names taken() refuses
 * are passed over. Returns SRC_SYMLINK, SRC_LOWER or SRC_NONE (mint then). */
enum repair_source repair_pick_name(const struct repair_evidence *ev, repair_taken_fn taken, void *ctx,
                                    char out[LINK_NAME_LEN + 1]);
const char *repair_source_name(enum repair_source s);

/* ---- the model (repair_model.c) --------------------------------------- */

#define PARENT_BASE (-1L)      /* no parent: a base layer */
#define PARENT_UNKNOWN (-2L)   /* the parent cannot be known for sure */

struct repair_dir {
    char *name;
    bool referenced, has_diff, has_work;
    char *link;              /* valid link file content, else NULL */
    char *link_state;        /* ok | missing | empty | invalid | unreadable */
    char *lower;             /* lower file content (trimmed) or NULL */
    char *lower_state;
    int64_t mtime;
    long parent;             /* dir index, PARENT_BASE or PARENT_UNKNOWN */
    char *parent_why;        /* why PARENT_UNKNOWN */
    int claims;              /* layers and mounts whose dir it is */
    /* the target state */
    char target[LINK_NAME_LEN + 1];   /* "" = no name */
    enum repair_source source;
    char *source_why;        /* where the name comes from, for people */
    int lower_done;          /* 0 not computed, 1 computing, 2 known, 3 unknown */
    char *expected_lower;    /* when lower_done == 2: NULL for a base */
    char *lower_why;         /* when lower_done == 3 */
};

struct repair_link {
    char *name;
    char *type;              /* symlink | file | dir | other */
    char *target;            /* readlink, when a symlink */
    long dir;                /* index of the dir it points at (../<dir>/diff), or -1 */
    int64_t mtime;
};

struct repair_entry {        /* one entry of a lower file */
    long dir;
    int idx;
    char name[LINK_NAME_LEN + 1];   /* "" when the entry is not l/<name> */
};

struct repair_vote_row {     /* votes for one dir */
    long dir;
    struct repair_vote v;
};

struct repair_finding {
    char *check, *severity, *object, *path, *detail;
    bool young;
    bool covered;            /* an item of the plan fixes it */
};

struct repair_model {
    struct repair_dir *dirs;         /* sorted by name */
    size_t dir_count;
    struct repair_link *links;       /* sorted by name */
    size_t link_count;
    struct repair_entry *entries;    /* sorted by dir, idx */
    size_t entry_count;
    struct repair_finding *findings;
    size_t finding_count;
    long *link_by_dir;               /* indices of links with dir >= 0, sorted by dir */
    size_t link_by_dir_count;
    struct repair_vote_row *votes;   /* sorted by dir */
    size_t vote_count;
    long *owners;                    /* hash table: target name -> dir index (-1 empty) */
    size_t owner_cap;
};

int repair_model_load(struct repair_model *m, struct db *db, char *err, size_t errlen);
void repair_model_free(struct repair_model *m);
long repair_model_find_dir(const struct repair_model *m, const char *name);
long repair_model_find_link(const struct repair_model *m, const char *name);
/* The dir a target name is given to, or -1. */
long repair_model_name_owner(const struct repair_model *m, const char *name);
/* Give every referenced dir a name and compute every expected lower. */
int repair_model_resolve(struct repair_model *m, char *err, size_t errlen);
/* The dir's ancestors, nearest first (at most max); their count. */
size_t repair_model_ancestors(const struct repair_model *m, long dir, long *out, size_t max);

/* ---- the plan (repair_plan.c) ----------------------------------------- */

enum repair_action {
    RA_MAKE_SYMLINK,     /* overlay2/l/<name> -> ../<dir>/diff (name must be free) */
    RA_RETARGET_SYMLINK, /* replace overlay2/l/<name> (pointing elsewhere) */
    RA_WRITE_LINK,       /* overlay2/<dir>/link */
    RA_WRITE_LOWER,      /* overlay2/<dir>/lower */
    RA_REMOVE_LOWER,     /* overlay2/<dir>/lower of a base layer */
    RA_MAKE_WORK,        /* overlay2/<dir>/work, 0700 */
    RA_REMOVE_SYMLINK    /* an extra overlay2/l/<name> no lower names */
};

struct repair_step {
    enum repair_action action;
    char *path;              /* root-relative */
    char *dir;               /* the overlay2 dir the step is about */
    char *content;           /* WRITE_*: the new bytes; *_SYMLINK: the new target */
    char *before;            /* the bytes (or symlink target) at plan time; NULL: absent */
    size_t before_len;
    bool had_before;
    char **expect_dirs;      /* WRITE_LOWER: the dir each entry must resolve to */
    size_t expect_count;
    dev_t dev;               /* of overlay2/<dir> at plan time */
    ino_t ino;
    dev_t edev;              /* of the existing l/ entry (RETARGET, REMOVE) */
    ino_t eino;
    bool done;
};

struct repair_item {
    char *check;
    char *object;
    char *why;
    int phase;               /* items are applied phase by phase */
    struct repair_step *steps;
    size_t step_count, step_cap;
    enum act_result result;
    char *error;
};

struct repair_plan {
    struct repair_item *items;
    size_t count, cap;
    int64_t young_skipped;   /* findings younger than --min-age */
    int64_t errors_left;     /* non-young errors no item fixes */
    char **notes;
    size_t note_count, note_cap;
};

struct repair_summary {
    struct act_counts counts;   /* done, failed, skipped, not reached; interrupted, refused */
    size_t temps_removed;
};

/* Build the plan from a resolved model; root_fd reads the files whose exact
 * bytes are recorded; cutoff: objects changed after it are young. */
int repair_plan_make(struct repair_plan *p, struct repair_model *m, int rootfd, int64_t cutoff, char *err, size_t errlen);
void repair_plan_free(struct repair_plan *p);
void repair_plan_note(struct repair_plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *repair_action_name(enum repair_action a);

/* ---- applying (repair_apply.c) ---------------------------------------- */

/* Verify and carry out the plan's items in order on an open run (its
 * counts: done, failed ...); honours stop. */
void repair_apply_plan(struct act_run *run, struct repair_plan *p, volatile sig_atomic_t *stop);
/* Remove overlay2/l/.ovl2fsck-tmp-* symlinks an interrupted run left. */
void repair_finish_temps(struct act_run *run, struct repair_summary *sum);

/* ---- output (repair_output.c) ----------------------------------------- */

/* The plan (and results) as text, or as JSON with --json. */
void repair_print(FILE *out, const char *root, const struct repair_plan *p, const struct repair_summary *s,
                  const struct options *o);

#endif
