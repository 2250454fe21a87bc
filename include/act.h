/* act.h — the one apply engine: everything that changes a store goes
 * through it (the reaper, repair, quarantine restore and purge; a second
 * store's reaper describes its items and how to re-verify them, nothing
 * more).
 *
 *   act.c          a run of --apply on one root: refusal while the daemon is
 *                  live, the lock, the journal; the apply loop (SIGINT and
 *                  SIGTERM honoured between items); item results; the exit
 *                  code; the JSON envelope and the text pieces every plan
 *                  prints; small helpers (strdup that never fails, time)
 *   act_fs.c       the only ways to touch the file system: parent dirs opened
 *                  without following a symlink nor leaving the root's file
 *                  system, the verified rename, the symlink-safe delete
 *                  walker, atomic file and symlink writes
 *   act_trash.c    rename into <root>/.ovl2fsck-trash then delete, and what
 *                  an interrupted run left there; a full disk's way to free
 *                  space without a new block
 *   act_lock.c     the exclusive lock on a root (or a quarantine dir)
 *   act_journal.c  the JSON-lines action journal
 */
#ifndef OVL2FSCK_ACT_H
#define OVL2FSCK_ACT_H

#include <cJSON.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "opts.h"

/* Names inside the root that belong to ovl2fsck (the scanner never looks
 * at the root's top level, so they are invisible to checks and dockerd). */
#define ACT_LOCK_NAME ".ovl2fsck.lock"
#define ACT_TRASH_NAME ".ovl2fsck-trash"

/* Test hook: OVL2FSCK_TEST_CRASH_AFTER=k makes the process SIGKILL itself
 * right after the k-th journaled action has completed (its "after" line is
 * on disk). Used by tests/integration/t-reap-crash.t to prove that every
 * interruption leaves a store the next run finishes. Never set it in
 * production. */
#define ACT_CRASH_ENV "OVL2FSCK_TEST_CRASH_AFTER"
/* Test hook: OVL2FSCK_TEST_TERM_AFTER=k raises SIGTERM after the k-th
 * journaled action, as an operator's Ctrl-C would arrive mid-item. */
#define ACT_TERM_ENV "OVL2FSCK_TEST_TERM_AFTER"

/* ---- journal (act_journal.c) ----------------------------------------- */

struct act_journal {
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
 * memory-backed /run or /dev/shm instead (said on stderr); act_journal_close
 * appends them to path once there is room again. -1 with a message. */
int act_journal_open(struct act_journal *j, const char *path, char *err, size_t errlen);
void act_journal_close(struct act_journal *j);
/* One JSON line, fsync'd: result "started" before an action, then "ok",
 * "failed" or "skipped" after it (error NULL unless failed/skipped). extra
 * (may be NULL) adds fields; it is not freed. Returns 0 or -1. */
int act_journal_write(struct act_journal *j, const char *check, const char *object, const char *path,
                      int64_t bytes, const char *action, const char *result, const char *error,
                      const cJSON *extra);
/* Record an action's end, then honour the crash test hook. */
int act_journal_end(struct act_journal *j, const char *check, const char *object, const char *path,
                    int64_t bytes, const char *action, const char *error, const cJSON *extra);
/* The line act_journal_write would write (for unit tests); malloc'd. */
char *act_journal_format(const char *run, const char *check, const char *object, const char *path,
                         int64_t bytes, const char *action, const char *result, const char *error,
                         const cJSON *extra, double now);

/* ---- lock (act_lock.c) ------------------------------------------------ */

/* Take the exclusive flock on dirfd/name (created 0600) and write
 * "pid <pid>\nstarted <time>\n" into it. Returns the fd, or -1 with a
 * message naming the holder in err. */
int act_lock_take(int dirfd, const char *name, const char *what, char *err, size_t errlen);
/* Unlink and release (unlinking while holding the lock is race-free: a
 * waiter re-checks that the path still is the inode it locked). */
void act_lock_release(int dirfd, const char *name, int fd);

/* ---- file system (act_fs.c) ------------------------------------------- */

/* Open the parent dir of relpath (each component O_NOFOLLOW, same device as
 * rootfd); *base points into relpath. -1 with errno. */
int act_open_parent(int rootfd, const char *relpath, const char **base);
/* lstat of a root-relative path without following any symlink. */
bool act_lstat(int rootfd, const char *relpath, struct stat *st);
/* Delete dirfd/name and everything below it: openat/unlinkat only, never
 * following a symlink (O_NOFOLLOW|O_DIRECTORY), never descending into
 * anything whose st_dev differs from dev. freed gets st_blocks*512 of every
 * inode whose last link went. Returns 0, or -1 with a message in err (what
 * could be deleted is deleted; a refused subtree stays). */
int act_safe_delete(int dirfd, const char *name, dev_t dev, int64_t *freed, char *err, size_t errlen);
/* Raise RLIMIT_NOFILE to its hard limit (the walker holds one fd per level). */
void act_raise_fd_limit(void);
/* A name for a new entry in the trash or quarantine: <time>-<pid>-<n>-<base>. */
void act_unique_name(char *out, size_t outlen, unsigned long n, const char *base);
/* hexlen random lowercase hex chars + NUL (getrandom, falling back to time^pid). */
void act_random_hex(char *out, size_t hexlen);
/* renameat2 with RENAME_NOREPLACE, verifying the moved object is (dev, ino):
 * when it is not (a swap in between), it is put back and -1/EAGAIN returned. */
int act_move(int fromfd, const char *from, int tofd, const char *to, dev_t dev, ino_t ino);
/* fsync a dir fd (after renames). */
void act_fsync_dir(int fd);
/* Create dirfd/name as a dir (0700) if missing and open it O_NOFOLLOW. */
int act_open_or_make_dir(int dirfd, const char *name);
/* mkdir -p of an absolute path with mode 0700 for what it creates. */
int act_mkdir_p(const char *path);
/* Read dirfd/name raw (at most cap bytes); 1 read, 0 absent, -1 error. */
int act_read_raw(int dirfd, const char *name, size_t cap, char **data, size_t *len);
/* Replace dirfd/name with data atomically: a temp file tmp_name in the same
 * dir, written, fsync'd, given the old file's mode and owner (else mode),
 * renamed over name, the dir fsync'd. */
int act_write_atomic(int dirfd, const char *name, const char *tmp_name, const char *data, size_t len, mode_t mode,
                     char *err, size_t errlen);
/* Make dirfd/name a symlink to target atomically (symlinkat to tmp_name,
 * then rename); replace: may it replace an existing entry. */
int act_symlink_atomic(int dirfd, const char *name, const char *tmp_name, const char *target, bool replace,
                       char *err, size_t errlen);

/* ---- items and counts (act.c) ----------------------------------------- */

enum act_result { ACT_PLANNED, ACT_DONE, ACT_FAILED, ACT_SKIPPED, ACT_NOT_REACHED };
const char *act_result_name(enum act_result r);

/* What every apply run counts. */
struct act_counts {
    bool apply, interrupted, refused;
    const char *refusal;
    size_t done, failed, skipped, not_reached;
};

/* ---- a run of --apply on one root (act.c, act_trash.c) ---------------- */

struct act_run {
    const struct options *o;
    char root[PATH_MAX];       /* canonical */
    int rootfd;
    dev_t rootdev;
    int lockfd;
    struct act_journal journal;
    bool journal_broken;
    char refusal[600];
    struct act_counts *counts;
    /* the trash (act_trash.c) */
    int trashfd;
    unsigned long trash_seq;
    bool disk_full_said;       /* "the disk is full: ... became the trash" was said */
    /* a second store's liveness probe (NULL: dockerd's, live.c): true with
     * why when its daemon looks live on root; daemon names it in messages */
    bool (*live)(const char *root, const struct options *o, char *why, size_t whylen);
    const char *daemon;
};

/* Zero r, nothing open. */
void act_run_init(struct act_run *r, const struct options *o, struct act_counts *counts);
/* Canonical root, open it, refuse while the daemon is live (before any
 * write). Returns 0, or an exit code with the message printed. */
int act_run_open_root(struct act_run *r);
/* Take the lock, refuse again under it when the daemon is live, open the
 * journal. Returns 0, or an exit code with the message printed. */
int act_run_lock(struct act_run *r);
/* Both. */
int act_run_open(struct act_run *r);
void act_run_close(struct act_run *r);
/* Journal the start of an action; a journal that cannot be written stops
 * the run (journal_broken). */
bool act_run_begin(struct act_run *r, const char *check, const char *object, const char *path, int64_t bytes,
                   const char *action, const cJSON *extra);
void act_run_end(struct act_run *r, const char *check, const char *object, const char *path, int64_t bytes,
                 const char *action, const char *error, const cJSON *extra);

/* How the apply loop reaches a plan's items. */
struct act_plan_ops {
    size_t count;
    void *plan;
    /* verify item i and carry it out, setting its result */
    void (*apply)(struct act_run *r, void *plan, size_t i);
    void (*set_result)(void *plan, size_t i, enum act_result result);
};

/* Apply every item in order: between items, stop (SIGINT, SIGTERM) ends
 * the run (interrupted), a live daemon refuses the rest, and so does a
 * journal that cannot be written; what is left is not reached. */
void act_apply_plan(struct act_run *r, const struct act_plan_ops *ops, volatile sig_atomic_t *stop);

/* After the results were printed: the refusal said on stderr; the exit
 * bits (act_apply_code). */
int act_run_finish(struct act_run *r, size_t planned, bool left);

/* Exit bits of a dry run: 4 when something is to do, 8 when a check failed. */
int act_dry_run_code(bool something_to_do, bool check_failed);
/* Exit bits of --apply: 8 refused, 32 interrupted; else 1 when all planned
 * items were done, 4 when anything remains (left: findings the plan does
 * not take), 8 with 4 when an item could not be acted on. */
int act_apply_code(size_t planned, const struct act_counts *c, bool left);

/* ---- the trash (act_trash.c) ------------------------------------------ */

/* Delete what an interrupted run left in the trash. */
void act_trash_finish(struct act_run *r, size_t *finished, int64_t *freed);
/* Entries an interrupted run left in the trash (a dry run only counts). */
size_t act_trash_pending(int rootfd);
/* Is a trash dir there or can one be made? false with errno (ENOSPC: the
 * disk is full). */
bool act_trash_ready(struct act_run *r);
/* Remove dirfd/base (root-relative path, verified to be dev/ino, with st
 * lstat'ed just now): renamed into the trash, then deleted. On a full disk
 * (no block for the trash dir), a dir becomes the trash itself and a file
 * or symlink is unlinked in place. freed gets the bytes released. */
int act_trash_remove(struct act_run *r, const char *check, const char *object, const char *path, int dirfd,
                     const char *base, dev_t dev, ino_t ino, const struct stat *st, int64_t *freed, char *err,
                     size_t errlen);
/* Close the trash; remove it when empty. */
void act_trash_close(struct act_run *r);

/* ---- output shared by every plan (act.c) ------------------------------ */

/* {"version":1,"mode":mode,"root":root}: the start of every plan's JSON. */
cJSON *act_json_begin(const char *mode, const char *root);
/* key: s escaped (text_escape), or null. */
void act_json_add_escaped(cJSON *o, const char *key, const char *s);
/* One plan item: {"check","severity","object","why" (escaped),"bytes",
 * "steps":[]}; *steps is the array for act_json_add_step. The caller adds
 * its own keys, then act_json_item_end. */
cJSON *act_json_item_begin(const char *check, const char *severity, const char *object, const char *why,
                           int64_t bytes, cJSON **steps);
/* {"action":action,"path":path (escaped)} appended to steps. */
void act_json_add_step(cJSON *steps, const char *action, const char *path);
/* "result","error" (escaped or null),"freed": the end of every plan item. */
void act_json_item_end(cJSON *item, enum act_result result, const char *error, int64_t freed);
/* "notes":[...], then "summary":{"items":items, ...}: the summary object,
 * for the plan's own counts. */
cJSON *act_json_add_summary(cJSON *o, char *const *notes, size_t n, size_t items);
/* "done","failed","skipped","not_reached" into a summary object. */
void act_json_add_counts(cJSON *sum, const struct act_counts *c);
/* "interrupted","refused": the end of every summary. */
void act_json_add_outcome(cJSON *sum, const struct act_counts *c);
/* Print o (formatted, newline) and free it. */
void act_json_print(FILE *out, cJSON *o);

/* s escaped (text_escape). */
void act_print_escaped(FILE *out, const char *s);
/* "ovl2fsck <what> of ROOT<suffix>" or "ovl2fsck <what> plan for ROOT (dry run)", a blank line. */
void act_print_header(FILE *out, const char *what, const char *root, bool apply, const char *apply_suffix);
/* "note: ..." lines, then a blank line when there was anything above. */
void act_print_notes(FILE *out, char *const *notes, size_t n, bool anything_above);
/* "N findings younger than D skipped ...", when n > 0. */
void act_print_young(FILE *out, int64_t n, int64_t min_age);
/* "N error(s) is/are <rest>", when n > 0. */
void act_print_errors_left(FILE *out, int64_t n, const char *rest);
/* An item's "why" line and, when it has one, its "error" line. */
void act_print_why(FILE *out, const char *why, const char *error);
/* The lines that end a summary: interrupted (text given), refused. */
void act_print_outcome(FILE *out, const struct act_counts *c, const char *interrupted_text);

/* ---- small helpers (act.c) -------------------------------------------- */

/* ISO-8601 UTC ("2024-05-01T12:00:00.123Z") of t into buf. */
const char *act_time_text(double t, char *buf, size_t buflen);
double act_now(void);
/* strdup that never returns NULL for non-NULL input (aborts on OOM). */
char *act_strdup(const char *s);
char *act_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *act_vprintf(const char *fmt, va_list ap);
/* "ovl2fsck: msg" on stderr; returns code. */
int act_fail(const char *msg, int code);
/* Free n strings and the array. */
void act_free_strings(char **v, size_t n);
/* Append a formatted note to a plan's notes (*v, *n of *cap). */
void act_note(char ***v, size_t *n, size_t *cap, const char *fmt, va_list ap);

#endif
