/* scan_overlay.c — the overlay2 driver's dirs: overlay2/<id>/ (diff/, link,
 * lower, work/, committed, merged/, .tmp-* leftovers) and stray entries
 * (scan_overlay), and the overlay2/l/ symlinks (scan_overlay_links, run on
 * the other lane). */
#include "scan_internal.h"
#include "ids.h"

#include <dirent.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_TMP_PER_DIR 16      /* .tmp-* leftovers recorded per dir (a crash leaves at most 3) */

struct overlay_walk {
    struct scan *s;
    int dirfd;
    int linkfd;
    sqlite3_stmt *ins_dir, *ins_stray, *ins_link, *ins_tmp;
};

/* The atomic writer of Docker 26+ (os.CreateTemp(dir, ".tmp-" + base)). */
static bool is_tmp_name(const char *name) { return strncmp(name, ".tmp-", 5) == 0; }

static int insert_tmp(struct overlay_walk *w, int fd, const char *dir, const char *name)
{
    struct stat st;
    if (!fs_lstat(fd, name, &st))
        return 0;   /* renamed into place meanwhile */
    sqlite3_stmt *q = w->ins_tmp;
    db_bind_text(q, 1, dir);
    db_bind_text(q, 2, name);
    db_bind_text(q, 3, fs_type_name(st.st_mode));
    db_bind_int(q, 4, (int64_t)st.st_size);
    db_bind_int(q, 5, (int64_t)st.st_mtime);
    return scan_insert(w->s, q);
}

/* What is in an overlay2 dir, from one listing (getdents64 on the open dir:
 * cheaper than an lstat per name; d_type gives the kinds, lstat only when
 * the file system does not). */
struct dir_facts {
    bool diff, link, lower, work, committed, merged;
    mode_t diff_mode;
    int ntmp;
    char tmp[MAX_TMP_PER_DIR][256];
};

struct linux_dirent64_hdr {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static bool entry_mode(int fd, const char *name, unsigned char dt, mode_t *mode)
{
    if (dt != DT_UNKNOWN) {
        *mode = DTTOIF(dt);
        return true;
    }
    struct stat st;
    if (!fs_lstat(fd, name, &st))
        return false;
    *mode = st.st_mode;
    return true;
}

static void note_entry(struct dir_facts *f, int fd, const char *name, unsigned char dt)
{
    mode_t m;
    switch (name[0]) {
    case 'd':
        if (strcmp(name, "diff") == 0 && entry_mode(fd, name, dt, &m)) {
            f->diff = true;
            f->diff_mode = m;
        }
        return;
    case 'l':
        if (strcmp(name, "link") == 0)
            f->link = true;
        else if (strcmp(name, "lower") == 0)
            f->lower = true;
        return;
    case 'w':
        if (strcmp(name, "work") == 0)
            f->work = entry_mode(fd, name, dt, &m) && S_ISDIR(m);
        return;
    case 'c':
        if (strcmp(name, "committed") == 0)
            f->committed = true;
        return;
    case 'm':
        if (strcmp(name, "merged") == 0)
            f->merged = entry_mode(fd, name, dt, &m) && S_ISDIR(m);
        return;
    case '.':
        if (is_tmp_name(name) && f->ntmp < MAX_TMP_PER_DIR && strlen(name) < sizeof f->tmp[0])
            strcpy(f->tmp[f->ntmp++], name);
        return;
    default:
        return;
    }
}

/* false when the dir could not be listed (f is then the lstat probes'). */
static bool list_dir_facts(int fd, struct dir_facts *f)
{
    _Alignas(struct linux_dirent64_hdr) char buf[8192];
    memset(f, 0, offsetof(struct dir_facts, tmp));
    for (;;) {
        long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
        if (n == 0)
            return true;
        if (n < 0)
            break;
        for (long off = 0; off < n;) {
            struct linux_dirent64_hdr *d = (struct linux_dirent64_hdr *)(buf + off);
            off += d->d_reclen;
            note_entry(f, fd, d->d_name, d->d_type);
        }
    }
    /* not listable: the probes by name */
    memset(f, 0, offsetof(struct dir_facts, tmp));
    struct stat x;
    if (fs_lstat(fd, "diff", &x)) {
        f->diff = true;
        f->diff_mode = x.st_mode;
    }
    f->link = f->lower = true;   /* read them: scan_read_id tells */
    f->work = fs_lstat(fd, "work", &x) && S_ISDIR(x.st_mode);
    f->committed = fs_lstat(fd, "committed", &x);
    f->merged = fs_lstat(fd, "merged", &x) && S_ISDIR(x.st_mode);
    return false;
}

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
    struct dir_facts f;
    list_dir_facts(fd, &f);
    char *link = NULL, *lower = NULL;
    const char *link_st = f.link ? scan_read_id(w->s->ahead, fd, "link", id_is_link_name, false, &link) : ST_MISSING;
    const char *lower_st = f.lower ? scan_read_id(w->s->ahead, fd, "lower", always_valid, false, &lower) : ST_MISSING;
    int rc = 0;   /* a dir that vanished meanwhile is skipped */
    bool complete = strcmp(link_st, ST_OK) == 0 && f.diff;
    if (!complete && !scan_still_there(w->dirfd, name, st))
        goto out;   /* removed while we read it: not corruption */
    if (strcmp(lower_st, ST_OK) == 0)
        lower_st = lower_entries_state(lower);
    sqlite3_stmt *q = w->ins_dir;
    db_bind_borrowed(q, 1, name);
    db_bind_borrowed(q, 2, id_overlay_kind(name, strlen(name)));
    db_bind_int(q, 3, f.diff && S_ISDIR(f.diff_mode));
    db_bind_borrowed(q, 4, f.diff ? fs_type_name(f.diff_mode) : NULL);
    db_bind_borrowed(q, 5, link);
    db_bind_borrowed(q, 6, link_st);
    db_bind_borrowed(q, 7, lower);
    db_bind_borrowed(q, 8, lower_st);
    db_bind_int(q, 9, f.work);
    db_bind_int(q, 10, f.committed);
    db_bind_int(q, 11, f.merged);
    db_bind_int(q, 12, (int64_t)st->st_mtime);
    rc = scan_insert(w->s, q);
    for (int i = 0; rc == 0 && i < f.ntmp; i++)
        rc = insert_tmp(w, fd, name, f.tmp[i]);
out:
    close(fd);
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
    if (is_tmp_name(name))
        return insert_tmp(w, w->linkfd, "l", name);
    if (!fs_lstat(w->linkfd, name, &st))
        return 0;
    char target[4096], dir[128];
    bool is_link = S_ISLNK(st.st_mode);
    if (is_link && fs_readlink(w->linkfd, name, target, sizeof target) < 0)
        return 0;   /* vanished */
    sqlite3_stmt *q = w->ins_link;
    db_bind_borrowed(q, 1, name);
    db_bind_borrowed(q, 2, fs_type_name(st.st_mode));
    db_bind_borrowed(q, 3, is_link ? target : NULL);
    db_bind_borrowed(q, 4, is_link && link_target_dir(target, dir, sizeof dir) ? dir : NULL);
    db_bind_int(q, 5, (int64_t)st.st_mtime);
    return scan_insert(w->s, q);
}

/* What the read-ahead pool does for each entry of overlay2/ and of l/. */
static const struct pf_plan dir_plan = { .kind = PF_DIR_FILES, .files = { "link", "lower" }, .cap = CAP_ID_FILE };
static const struct pf_plan link_plan = { .kind = PF_LINK };

static int scan_links(struct overlay_walk *w)
{
    w->linkfd = fs_open_dir(w->dirfd, "l");
    if (w->linkfd < 0) {
        if (errno != ENOENT)
            scan_note_error(w->s, "overlay2/l", errno);
        return 0;
    }
    int rc = prefetch_walk(w->s->pf, w->linkfd, &link_plan, &w->s->ahead, on_link_entry, w);
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
                   &w.ins_stray, s->err, sizeof s->err) < 0 ||
        db_prepare(s->db, "INSERT OR REPLACE INTO overlay_tmp(dir, name, type, size, mtime) VALUES (?1,?2,?3,?4,?5)", &w.ins_tmp, s->err, sizeof s->err) < 0)
        goto out;
    rc = scan_walk_ahead(s, "overlay2", &w.dirfd, &dir_plan, on_overlay_entry, &w);
out:
    sqlite3_finalize(w.ins_dir);
    sqlite3_finalize(w.ins_stray);
    sqlite3_finalize(w.ins_tmp);
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
            rc = db_prepare(s->db, "INSERT OR REPLACE INTO overlay_tmp(dir, name, type, size, mtime) VALUES (?1,?2,?3,?4,?5)", &w.ins_tmp, s->err, sizeof s->err);
        if (rc == 0)
            rc = scan_links(&w);
        sqlite3_finalize(w.ins_link);
        sqlite3_finalize(w.ins_tmp);
    }
    close(w.dirfd);
    return rc;
}
