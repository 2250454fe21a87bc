/* reap_quarantine.h — the quarantine (src/reap_quarantine.c), one for every
 * store's reaper: `--reap --apply --quarantine DIR` moves what the plan
 * removes into DIR instead of deleting it (a rename: same file system),
 * recorded in a manifest; `--restore DIR` puts it back exactly, `--purge-
 * quarantine DIR --older-than DUR` deletes it. The Docker reaper (reap.c)
 * also records renames and repositories.json edits there; the containerd
 * reaper (reap_containerd.c) moves only. */
#ifndef OVL2FSCK_REAP_QUARANTINE_H
#define OVL2FSCK_REAP_QUARANTINE_H

#include <cJSON.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>

#include "act.h"
#include "opts.h"

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
int reap_quarantine_check_place(const char *dir, int rootfd, const char *root, char *err, size_t errlen);
/* Open DIR (created 0700 if missing), refuse another file system than
 * rootfd's, lock it, make a new run dir and write the manifest header. */
int reap_quarantine_open(struct quarantine *q, const char *dir, int rootfd, const char *root,
                    char *err, size_t errlen);
void reap_quarantine_close(struct quarantine *q);
/* The start of any reaper's --apply: open run's root, refuse a quarantine
 * (dir, NULL for none) that cannot be used before anything is written, take
 * the run's lock, open the quarantine into q; *run_dir gets DIR/<run>
 * (malloc'd) when there is one. 0 or an exit code (message printed). */
int reap_quarantine_begin_apply(struct act_run *run, const char *dir, struct quarantine *q, char **run_dir);
/* Append one manifest record (fsync'd); obj is not freed. */
int reap_quarantine_record(struct quarantine *q, const cJSON *obj);
/* {"type":"done","seq":seq}: the action of record seq completed. */
int reap_quarantine_done(struct quarantine *q, double seq);
/* Move dirfd/base (root-relative path, lstat'ed just now as st) into
 * DIR/<run>/items: a "move" record, the journaled rename (run_dir names
 * DIR/<run> in the journal), then "done". Any store's reaper. */
int reap_quarantine_move(struct quarantine *q, struct act_run *run, const char *run_dir, const char *check,
                         const char *object, int64_t bytes, const char *path, int dirfd, const char *base,
                         const struct stat *st, char *err, size_t errlen);

/* --restore DIR and --purge-quarantine DIR (called from reap.c). */
int reap_quarantine_restore_main(const struct options *o, volatile sig_atomic_t *stop);
int reap_quarantine_purge_main(const struct options *o, volatile sig_atomic_t *stop);

#endif
