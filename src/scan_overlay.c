/* scan_overlay.c — the overlay2 driver's dirs: overlay2/<id>/ (diff/, link,
 * lower, work/, committed, merged/) and stray entries (scan_overlay), and
 * the overlay2/l/ symlinks (scan_overlay_links, run on the other lane). */
#include "scan_internal.h"
#include "ids.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_LOWER_ENTRIES 128   /* dockerd's overlay2 maxDepth */

struct overlay_walk {
    struct scan *s;
    int dirfd;
    int linkfd;
    sqlite3_stmt *ins_dir, *ins_stray, *ins_link;
};

static bool always_valid(const char *s, size_t len)
{
    (void)s;
    (void)len;
    return true;
}

/* The state of a lower file "l/A:l/B": invalid when an entry is not
 * l/<short> or there are more than dockerd's 128. The entries themselves
 * are the overlay_lower view over overlay_dir.lower. */
static const char *lower_entries_state(const char *lower)
{
    int idx = 0;
    for (const char *p = lower;; idx++) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (!id_is_lower_entry(p, len) || idx >= MAX_LOWER_ENTRIES)
            return ST_INVALID;
        if (!end)
            return ST_OK;
        p = end + 1;
    }
}

static int insert_stray(struct overlay_walk *w, const char *name, const struct stat *st)
{
    db_bind_text(w->ins_stray, 1, name);
    db_bind_text(w->ins_stray, 2, fs_type_name(st->st_mode));
    db_bind_int(w->ins_stray, 3, (int64_t)st->st_mtime);
    return scan_insert(w->s, w->ins_stray);
}

static int scan_dir(struct overlay_walk *w, const char *name, const struct stat *st)
{
    int fd = fs_open_dir(w->dirfd, name);
    if (fd < 0) {
        if (errno != ENOENT) {
            char rel[400];
            snprintf(rel, sizeof rel, "overlay2/%s", name);
            scan_note_error(w->s, rel, errno);
        }
        return 0;
    }
    char *link = NULL, *lower = NULL;
    const char *link_st = scan_read_id(fd, "link", id_is_link_name, false, &link);
    const char *lower_st = scan_read_id(fd, "lower", always_valid, false, &lower);
    struct stat ds, x;
    bool has_diff_entry = fs_lstat(fd, "diff", &ds);
    bool has_work = fs_lstat(fd, "work", &x) && S_ISDIR(x.st_mode);
    bool committed = fs_lstat(fd, "committed", &x);
    bool merged = fs_lstat(fd, "merged", &x) && S_ISDIR(x.st_mode);
    close(fd);
    int rc = 0;   /* a dir that vanished meanwhile is skipped */
    bool complete = strcmp(link_st, ST_OK) == 0 && has_diff_entry;
    if (!complete && !scan_still_there(w->dirfd, name, st))
        goto out;   /* removed while we read it: not corruption */
    if (strcmp(lower_st, ST_OK) == 0)
        lower_st = lower_entries_state(lower);
    sqlite3_stmt *q = w->ins_dir;
    db_bind_text(q, 1, name);
    db_bind_text(q, 2, id_overlay_kind(name, strlen(name)));
    db_bind_int(q, 3, has_diff_entry && S_ISDIR(ds.st_mode));
    db_bind_text(q, 4, has_diff_entry ? fs_type_name(ds.st_mode) : NULL);
    db_bind_text(q, 5, link);
    db_bind_text(q, 6, link_st);
    db_bind_text(q, 7, lower);
    db_bind_text(q, 8, lower_st);
    db_bind_int(q, 9, has_work);
    db_bind_int(q, 10, committed);
    db_bind_int(q, 11, merged);
    db_bind_int(q, 12, (int64_t)st->st_mtime);
    rc = scan_insert(w->s, q);
out:
    free(link);
    free(lower);
    return rc;
}

/* "../<id>/diff" -> <id> when id is a well-formed overlay2 dir name. */
static bool link_target_dir(const char *target, char *out, size_t outlen)
{
    size_t n = strlen(target);
    if (n < 9 || strncmp(target, "../", 3) != 0 || strcmp(target + n - 5, "/diff") != 0)
        return false;
    size_t idlen = n - 8;
    if (idlen >= outlen || !id_is_overlay_dir(target + 3, idlen))
        return false;
    memcpy(out, target + 3, idlen);
    out[idlen] = '\0';
    return true;
}

static int on_link_entry(void *ctx, const char *name, unsigned char d_type)
{
    (void)d_type;
    struct overlay_walk *w = ctx;
    struct stat st;
    if (scan_stopped(w->s))
        return 1;
    if (!fs_lstat(w->linkfd, name, &st))
        return 0;
    char target[4096], dir[128];
    bool is_link = S_ISLNK(st.st_mode);
    if (is_link && fs_readlink(w->linkfd, name, target, sizeof target) < 0)
        return 0;   /* vanished */
    sqlite3_stmt *q = w->ins_link;
    db_bind_text(q, 1, name);
    db_bind_text(q, 2, fs_type_name(st.st_mode));
    db_bind_text(q, 3, is_link ? target : NULL);
    db_bind_text(q, 4, is_link && link_target_dir(target, dir, sizeof dir) ? dir : NULL);
    db_bind_int(q, 5, (int64_t)st.st_mtime);
    return scan_insert(w->s, q);
}

static int scan_links(struct overlay_walk *w)
{
    w->linkfd = fs_open_dir(w->dirfd, "l");
    if (w->linkfd < 0) {
        if (errno != ENOENT)
            scan_note_error(w->s, "overlay2/l", errno);
        return 0;
    }
    int rc = fs_list_dir_sorted(w->linkfd, on_link_entry, w);
    if (rc < 0) {
        scan_note_error(w->s, "overlay2/l", errno);
        rc = 0;
    }
    close(w->linkfd);
    return rc;
}

static int on_overlay_entry(void *ctx, const char *name, unsigned char d_type)
{
    (void)d_type;
    struct overlay_walk *w = ctx;
    struct stat st;
    if (scan_stopped(w->s))
        return 1;
    if (!fs_lstat(w->dirfd, name, &st))
        return 0;
    if (strcmp(name, "l") == 0 && S_ISDIR(st.st_mode))
        return 0;   /* scan_overlay_links, on the other lane */
    if (!S_ISDIR(st.st_mode) || !id_is_overlay_dir(name, strlen(name)))
        return insert_stray(w, name, &st);
    return scan_dir(w, name, &st);
}

int scan_overlay(struct scan *s)
{
    struct overlay_walk w = { .s = s };
    int rc = -1;
    if (db_prepare(s->db, "INSERT OR REPLACE INTO overlay_dir(name, kind, has_diff, diff_kind, link, link_state, lower,"
                          " lower_state, has_work, committed, has_merged, mtime) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)",
                   &w.ins_dir, s->err, sizeof s->err) < 0 ||
        db_prepare(s->db, "INSERT OR REPLACE INTO overlay_stray(name, type, mtime) VALUES (?1,?2,?3)",
                   &w.ins_stray, s->err, sizeof s->err) < 0)
        goto out;
    rc = scan_walk(s, "overlay2", &w.dirfd, on_overlay_entry, &w);
out:
    sqlite3_finalize(w.ins_dir);
    sqlite3_finalize(w.ins_stray);
    return rc;
}

/* overlay2/l/ (when it is a dir; anything else there is a stray entry,
 * which scan_overlay records). */
int scan_overlay_links(struct scan *s)
{
    struct overlay_walk w = { .s = s };
    w.dirfd = scan_open_path(s, "overlay2");
    if (w.dirfd < 0)
        return 0;   /* scan_overlay notes an unreadable overlay2/ */
    struct stat st;
    int rc = 0;
    if (fs_lstat(w.dirfd, "l", &st) && S_ISDIR(st.st_mode)) {
        rc = db_prepare(s->db, "INSERT OR REPLACE INTO link(name, type, target, target_dir, mtime) VALUES (?1,?2,?3,?4,?5)",
                        &w.ins_link, s->err, sizeof s->err);
        if (rc == 0)
            rc = scan_links(&w);
        sqlite3_finalize(w.ins_link);
    }
    close(w.dirfd);
    return rc;
}
