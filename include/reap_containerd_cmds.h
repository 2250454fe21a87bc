/* reap_containerd_cmds.h — the ctr commands that make containerd's GC
 * remove record garbage (src/reap_containerd_cmds.c). ovl2fsck never
 * writes meta.db or metadata.db: for an expired lease, an extract-*
 * snapshot, a backend orphan, a leaked container lease or an expired ingest
 * record the plan prints what to run with containerd up, in an order that
 * works, with the bytes containerd's GC frees. Format:
 * /work/wt/_notes/ctr-commands.md and README "Reaping a containerd root". */
#ifndef OVL2FSCK_REAP_CONTAINERD_CMDS_H
#define OVL2FSCK_REAP_CONTAINERD_CMDS_H

#include <cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "db.h"

/* One ctr invocation. */
struct cd_cmd {
    char *ns;
    char **argv;             /* "ctr", "-n", ns, ... */
    size_t argc;
    char *command;           /* argv quoted for sh */
    char *comment;           /* what it is for (the text's "# ..." line) */
    char **checks, **objects; /* the findings it serves */
    size_t findings;
    int64_t bytes;           /* what GC frees because of it, after the earlier ones */
    size_t group;            /* index of the first command of its group (one "# ..." line) */
};

struct cd_cmds {
    struct cd_cmd *v;
    size_t count, cap;
    size_t findings;         /* record findings served */
    int64_t bytes;
    char **notes;
    size_t note_count, note_cap;
};

/* The commands for the scan in db (its findings, cd_* tables) of root.
 * 0, or -1 with a message. */
int cd_cmds_build(struct cd_cmds *c, struct db *db, const char *root, char *err, size_t errlen);
void cd_cmds_free(struct cd_cmds *c);
/* The text section (nothing when there is no command). */
void cd_cmds_print(FILE *out, const struct cd_cmds *c, int exact);
/* The commands as plan items ("action":"ctr-command") appended to items. */
void cd_cmds_add_json(cJSON *items, const struct cd_cmds *c);
/* s quoted for sh: as is when plain, else in single quotes ('\'' inside). */
char *cd_shell_quote(const char *s);
/* Order keys so that a key comes before its parent (children first):
 * parent_of[i] is the index of i's parent in keys, or -1. order gets the
 * indexes; returns false when the parents form a cycle. */
bool cd_children_first(const long *parent_of, size_t n, size_t *order);

#endif
