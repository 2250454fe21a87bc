/* scan_internal.h — shared state of the scan modules (scan_*.c). Not used
 * outside the scanner. */
#ifndef OVL2FSCK_SCAN_INTERNAL_H
#define OVL2FSCK_SCAN_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "db.h"
#include "fsutil.h"
#include "prefetch.h"
#include "progress.h"

/* Where a scan thread's time goes (the -v stages walk, parse and load). */
enum scan_phase { PHASE_WALK, PHASE_PARSE, PHASE_LOAD, PHASE_COUNT };

struct scan {
    struct db *db;
    int rootfd;
    volatile sig_atomic_t *stop;
    char err[512];          /* first operational error */
    enum scan_phase phase;
    double phase_mark;      /* when the current phase began */
    double phase_seconds[PHASE_COUNT];
    long objects;           /* rows inserted; the main lane shows both lanes' counts */
    struct progress *progress;        /* the main lane's, else NULL */
    const long *other_objects;        /* the worker lane's count (main lane) */
    struct prefetch *pf;              /* the read-ahead pool of both lanes, or NULL */
    struct pf_entry *ahead;           /* the files read ahead for the entry being walked */
};

/* Charge the time since the last switch to the current phase and enter
 * next; returns the phase left. */
enum scan_phase scan_phase(struct scan *s, enum scan_phase next);
/* Step and reset a prepared insert of the scan (its time is load time);
 * 0 or -1 with the message in s->err. */
int scan_insert(struct scan *s, sqlite3_stmt *q);

/* The states of an id file (see sql/schema.sql). */
#define ST_OK "ok"
#define ST_MISSING "missing"
#define ST_EMPTY "empty"
#define ST_INVALID "invalid"
#define ST_UNREADABLE "unreadable"

typedef bool (*id_validator)(const char *s, size_t len);

/* Read dirfd/name as an id file: trimmed content in *value (malloc'd, or
 * NULL when missing), returns one of the ST_* states. When strip_sha256 is
 * set, a valid "sha256:<hex>" value is returned as its 64 hex. ahead: the
 * walked entry's prefetched files when dirfd is that entry's dir, else NULL. */
const char *scan_read_id(struct pf_entry *ahead, int dirfd, const char *name, id_validator valid, bool strip_sha256,
                         char **value);

/* fs_read_file, or the bytes the pool read ahead for name (see ahead above). */
void scan_read_file(struct pf_entry *ahead, int dirfd, const char *name, size_t cap, struct file_buf *out);

/* Open a sub-directory of the root along a relative path of plain
 * components, never following a symlink; -1 with errno. */
int scan_open_path(struct scan *s, const char *relpath);

/* Record that relpath could not be read (not an error of the store's shape). */
void scan_note_error(struct scan *s, const char *relpath, int err);

/* After both lanes (src/scan.c): drops the rows of layers and images that
 * look broken only because dockerd removed them while the scan ran (their
 * layerdb dir or config file is gone now). */
int scan_drop_vanished(struct db *db, int rootfd, char *err, size_t errlen);

/* True when dirfd/name still is the object st described (same dev/ino):
 * a vanished or replaced object is skipped, not reported. */
bool scan_still_there(int dirfd, const char *name, const struct stat *st);

bool scan_stopped(const struct scan *s);

/* List the root-relative dir rel, calling fn(ctx, name, d_type) for each
 * entry while *dirfd holds the dir's fd. A missing dir is empty; an
 * unreadable one is noted in scan_error. Returns 0, or fn's -1. */
int scan_walk(struct scan *s, const char *rel, int *dirfd, fs_entry_fn fn, void *ctx);
/* scan_walk with the pool reading each entry ahead as plan says; fn finds
 * the entry's files in s->ahead. */
int scan_walk_ahead(struct scan *s, const char *rel, int *dirfd, const struct pf_plan *plan, fs_entry_fn fn,
                    void *ctx);

int scan_images(struct scan *s);
int scan_tags(struct scan *s);
int scan_layers(struct scan *s);
int scan_mounts(struct scan *s);
int scan_containers(struct scan *s);
int scan_overlay(struct scan *s);
int scan_overlay_links(struct scan *s);
int scan_buildkit(struct scan *s);
int scan_distribution(struct scan *s);
int scan_root_tmp(struct scan *s);

#endif
