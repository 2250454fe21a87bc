/* scan_tmp.c — dockerd's own temp dir, ROOT/tmp (docker load/import
 * archives, classic build contexts, BuildKit mounts, tar-split scratch),
 * and ROOT/tmp-old (the previous tmp dir that dockerd renames aside and
 * deletes in the background when it starts). dockerd empties them only when
 * it starts, so whatever a killed load or build left there stays until then;
 * sql/checks/root-tmp-leftover.sql reports it. */
#include "scan_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

struct tmp_walk {
    struct scan *s;
    int dirfd;
    sqlite3_stmt *ins;
    const char *dir;   /* "tmp" for its entries, "" for tmp-old itself */
};

static int insert_entry(struct tmp_walk *w, const char *name, const struct stat *st)
{
    db_bind_text(w->ins, 1, w->dir);
    db_bind_text(w->ins, 2, name);
    db_bind_text(w->ins, 3, fs_type_name(st->st_mode));
    db_bind_int(w->ins, 4, (int64_t)st->st_mtime);
    return scan_insert(w->s, w->ins);
}

static int on_tmp_entry(void *ctx, const char *name, unsigned char d_type)
{
    (void)d_type;
    struct tmp_walk *w = ctx;
    struct stat st;
    if (scan_stopped(w->s))
        return 1;
    if (!fs_lstat(w->dirfd, name, &st))
        return 0;   /* vanished: in flight, not a leftover */
    return insert_entry(w, name, &st);
}

/* ROOT/tmp-old, as one object. */
static int scan_tmp_old(struct tmp_walk *w)
{
    struct stat st;
    if (!fs_lstat(w->s->rootfd, "tmp-old", &st)) {
        if (errno != ENOENT)
            scan_note_error(w->s, "tmp-old", errno);
        return 0;
    }
    w->dir = "";
    return insert_entry(w, "tmp-old", &st);
}

int scan_root_tmp(struct scan *s)
{
    struct tmp_walk w = { .s = s, .dir = "tmp" };
    if (db_prepare(s->db, "INSERT OR REPLACE INTO root_tmp(dir, name, type, mtime) VALUES (?1, ?2, ?3, ?4)", &w.ins,
                   s->err, sizeof s->err) < 0)
        return -1;
    int rc = scan_walk(s, "tmp", &w.dirfd, on_tmp_entry, &w);
    if (rc == 0)
        rc = scan_tmp_old(&w);
    sqlite3_finalize(w.ins);
    return rc;
}
