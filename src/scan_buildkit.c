/* scan_buildkit.c — buildkit/snapshots.db: which overlay2 dirs and layers
 * BuildKit still references (read through src/buildkit.c). */
#include "scan_internal.h"
#include "buildkit.h"
#include "ids.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SNAPSHOTS_DB "buildkit/snapshots.db"
#define SNAPSHOTS_READS 3   /* reads of a snapshots.db that BuildKit keeps changing under us */

struct bk_walk {
    struct scan *s;
    sqlite3_stmt *ins_snap, *ins_dir, *ins_layer;
    int rc;
    long bad_entries;
};

static int insert_pair(struct bk_walk *w, sqlite3_stmt *q, const char *a, const char *b)
{
    db_bind_text(q, 1, a);
    if (b)
        db_bind_text(q, 2, b);
    return scan_insert(w->s, q);
}

/* "sha256:<hex>" or "<hex>" -> hex, else NULL. */
static const char *as_chain_id(const char *v)
{
    if (!v)
        return NULL;
    size_t n = strlen(v);
    if (id_is_digest(v, n))
        return v + 7;
    return id_is_hex64(v, n) ? v : NULL;
}

/* The overlay2 dir a bucket stands for. moby's snapshotter writes four kinds
 * of bucket: an active snapshot (key = the dir, holds "parent", possibly
 * ""), a committed name (not a dir; "committed" = the dir, "chainid" = the
 * layer registered from it), "sha256:<chainID>" (a layer in use) and a lease
 * (not a dir; only "chainid"). So: the committed value, else the key of a
 * bucket that has a parent entry. */
static const char *snapshot_dir(const buildkit_snapshot *sn)
{
    if (sn->committed && id_is_overlay_dir(sn->committed, strlen(sn->committed)))
        return sn->committed;
    if (sn->parent && id_is_buildkit(sn->key, strlen(sn->key)))
        return sn->key;
    return NULL;
}

static int on_snapshot(void *ctx, const buildkit_snapshot *sn)
{
    struct bk_walk *w = ctx;
    if (!sn->key || sn->invalid) {
        w->bad_entries++;   /* NUL bytes in a key or value: see scan_buildkit */
        return 0;
    }
    sqlite3_stmt *q = w->ins_snap;
    db_bind_text(q, 1, sn->key);
    db_bind_text(q, 2, sn->parent);
    db_bind_text(q, 3, sn->committed);
    db_bind_text(q, 4, sn->chainid);
    int rc = scan_insert(w->s, q);
    const char *dir = snapshot_dir(sn);
    if (rc == 0 && dir)
        rc = insert_pair(w, w->ins_dir, dir, sn->key);
    const char *chain = as_chain_id(sn->key);
    if (rc == 0 && chain)
        rc = insert_pair(w, w->ins_layer, chain, NULL);
    chain = as_chain_id(sn->chainid);
    if (rc == 0 && chain)
        rc = insert_pair(w, w->ins_layer, chain, NULL);
    w->rc = rc;
    return rc;
}

/* snapshots.db as fstatat sees it: a file BuildKit wrote while we read it
 * (bolt's writer holds a lock a reader cannot share, and reuses the pages
 * an older root still names) has another size or change time after the
 * read than before. */
struct db_stamp {
    bool ok;
    struct stat st;
};

static struct db_stamp stamp_snapshots_db(int buildkit_fd)
{
    struct db_stamp t = { .ok = false };
    t.ok = fstatat(buildkit_fd, BUILDKIT_SNAPSHOTS_DB, &t.st, AT_SYMLINK_NOFOLLOW) == 0;
    return t;
}

static bool same_stamp(const struct db_stamp *a, const struct db_stamp *b)
{
    return a->ok && b->ok && a->st.st_ino == b->st.st_ino && a->st.st_size == b->st.st_size &&
           a->st.st_mtim.tv_sec == b->st.st_mtim.tv_sec && a->st.st_mtim.tv_nsec == b->st.st_mtim.tv_nsec &&
           a->st.st_ctim.tv_sec == b->st.st_ctim.tv_sec && a->st.st_ctim.tv_nsec == b->st.st_ctim.tv_nsec;
}

/* The rows a torn read of snapshots.db may have loaded, before it is read again. */
static int forget_snapshots(struct scan *s)
{
    return db_exec(s->db, "DELETE FROM buildkit_snapshot; DELETE FROM buildkit_dir; DELETE FROM buildkit_layer;",
                   s->err, sizeof s->err);
}

/* Read snapshots.db into the tables; a read that fails on a file that
 * changed meanwhile is BuildKit at work, not damage: read again (up to
 * SNAPSHOTS_READS times). What buildkit_read_snapshots returns. */
static int read_snapshots_db(struct scan *s, int fd, struct bk_walk *w, char *err, size_t errlen)
{
    for (int attempt = 1;; attempt++) {
        struct db_stamp before = stamp_snapshots_db(fd);
        int r = buildkit_read_snapshots(fd, on_snapshot, w, err, errlen);
        if (r >= 0 || w->rc < 0 || attempt == SNAPSHOTS_READS)
            return r;
        struct db_stamp after = stamp_snapshots_db(fd);
        if (same_stamp(&before, &after))
            return r;   /* unchanged and unreadable: damaged */
        if (forget_snapshots(s) < 0) {
            w->rc = -1;
            return r;
        }
        w->bad_entries = 0;
        err[0] = '\0';
    }
}

static int record_db_state(struct scan *s, const char *state, const char *error)
{
    sqlite3_stmt *q;
    if (db_prepare(s->db, "INSERT OR REPLACE INTO buildkit_db(path, state, error) VALUES (?1, ?2, ?3)", &q, s->err, sizeof s->err) < 0)
        return -1;
    db_bind_text(q, 1, SNAPSHOTS_DB);
    db_bind_text(q, 2, state);
    db_bind_text(q, 3, error);
    int rc = scan_insert(s, q);
    sqlite3_finalize(q);
    return rc;
}

int scan_buildkit(struct scan *s)
{
    int fd = scan_open_path(s, "buildkit");
    if (fd < 0) {
        if (errno != ENOENT)
            scan_note_error(s, "buildkit", errno);
        return 0;
    }
    struct bk_walk w = { .s = s };
    char err[256] = "";
    int rc = -1;
    if (db_prepare(s->db, "INSERT OR REPLACE INTO buildkit_snapshot(key, parent, committed, chainid) VALUES (?1,?2,?3,?4)",
                   &w.ins_snap, s->err, sizeof s->err) < 0 ||
        db_prepare(s->db, "INSERT OR IGNORE INTO buildkit_dir(dir, snapshot_key) VALUES (?1, ?2)",
                   &w.ins_dir, s->err, sizeof s->err) < 0 ||
        db_prepare(s->db, "INSERT OR IGNORE INTO buildkit_layer(chain_id) VALUES (?1)",
                   &w.ins_layer, s->err, sizeof s->err) < 0)
        goto out;
    /* a snapshots.db we cannot read is recorded; the reaper then refuses to
     * touch BuildKit-named dirs (see sql/checks/overlay-dir-orphaned.sql) */
    enum scan_phase was = scan_phase(s, PHASE_PARSE);   /* reading snapshots.db is mostly parsing it */
    int r = read_snapshots_db(s, fd, &w, err, sizeof err);
    scan_phase(s, was);
    if (w.rc < 0)
        goto out;
    if (r == 0 && w.bad_entries) {
        /* a reference may hide in what we could not read: treat the whole
         * file as unreadable so no BuildKit dir is ever called orphaned */
        snprintf(err, sizeof err, "%ld snapshot entries hold NUL bytes in a key or value", w.bad_entries);
        rc = record_db_state(s, ST_INVALID, err);
    } else if (r == 0)
        rc = record_db_state(s, ST_OK, NULL);
    else if (r > 0)
        rc = 0;   /* no snapshots.db: BuildKit never ran */
    else
        rc = record_db_state(s, ST_INVALID, err);
out:
    sqlite3_finalize(w.ins_snap);
    sqlite3_finalize(w.ins_dir);
    sqlite3_finalize(w.ins_layer);
    close(fd);
    return rc;
}
