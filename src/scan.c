/* scan.c — the scan pass: opens the root, runs each scan module inside one
 * transaction, and holds the helpers the modules share (id files, safe
 * opens, vanish detection). */
#include "scan.h"
#include "scan_internal.h"
#include "ids.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static bool has_nul(const char *s, size_t len) { return memchr(s, '\0', len) != NULL; }

const char *scan_read_id(int dirfd, const char *name, id_validator valid, bool strip_sha256, char **value)
{
    struct file_buf b;
    *value = NULL;
    fs_read_file(dirfd, name, CAP_ID_FILE, &b);
    switch (b.status) {
    case FILE_MISSING: return ST_MISSING;
    case FILE_OK: break;
    case FILE_NOT_REGULAR:
    case FILE_TOO_LARGE:
    case FILE_UNREADABLE: {
        char why[128];
        *value = strdup(file_status_text(&b, why, sizeof why));
        return ST_UNREADABLE;
    }
    }
    bool nul = has_nul(b.data, b.len);
    size_t len = nul ? b.len : id_trim(b.data, b.len);
    if (!nul && len == 0) {
        file_buf_free(&b);
        return ST_EMPTY;
    }
    if (nul || !valid(b.data, len)) {
        /* keep the raw value for the report (the report escapes it) */
        if (len > 200)
            len = 200;
        *value = malloc(len + 1);
        if (*value) {
            for (size_t i = 0; i < len; i++)
                (*value)[i] = b.data[i] ? b.data[i] : '?';
            (*value)[len] = '\0';
        }
        file_buf_free(&b);
        return ST_INVALID;
    }
    if (strip_sha256 && len == DIGEST_LEN && memcmp(b.data, "sha256:", 7) == 0)
        memmove(b.data, b.data + 7, HEX64_LEN + 1);
    *value = b.data;   /* ownership passes to the caller */
    return ST_OK;
}

int scan_open_path(struct scan *s, const char *relpath)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", relpath);
    int fd = fcntl(s->rootfd, F_DUPFD_CLOEXEC, 0);
    char *save = NULL;
    for (char *comp = strtok_r(buf, "/", &save); comp && fd >= 0; comp = strtok_r(NULL, "/", &save)) {
        int next = fs_open_dir(fd, comp);
        int e = errno;
        close(fd);
        errno = e;
        fd = next;
    }
    return fd;
}

void scan_note_error(struct scan *s, const char *relpath, int err)
{
    sqlite3_stmt *st;
    char e[256];
    if (db_prepare(s->db, "INSERT OR IGNORE INTO scan_error(path, error) VALUES (?1, ?2)", &st, e, sizeof e) < 0)
        return;
    db_bind_text(st, 1, relpath);
    db_bind_text(st, 2, strerror(err));
    db_step_reset(st, e, sizeof e);
    sqlite3_finalize(st);
}

bool scan_still_there(int dirfd, const char *name, const struct stat *st)
{
    struct stat now;
    return fs_lstat(dirfd, name, &now) && now.st_dev == st->st_dev && now.st_ino == st->st_ino;
}

bool scan_stopped(const struct scan *s)
{
    return s->stop && *s->stop;
}

static int open_root(const char *root, char *err, size_t errlen)
{
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open root %s: %s", root, strerror(errno));
        return -1;
    }
    return fd;
}

int scan_walk(struct scan *s, const char *rel, int *dirfd, fs_entry_fn fn, void *ctx)
{
    *dirfd = scan_open_path(s, rel);
    if (*dirfd < 0) {
        if (errno != ENOENT)
            scan_note_error(s, rel, errno);
        return 0;
    }
    int rc = fs_list_dir(*dirfd, fn, ctx);
    if (rc < 0) {
        scan_note_error(s, rel, errno);
        rc = 0;
    }
    close(*dirfd);
    *dirfd = -1;
    return rc > 0 && scan_stopped(s) ? 0 : rc;
}

typedef int (*scan_module_fn)(struct scan *s);

int scan_root(struct db *db, const char *root, volatile sig_atomic_t *stop, char *err, size_t errlen)
{
    static const scan_module_fn modules[] = {
        scan_images, scan_tags, scan_layers, scan_mounts, scan_containers,
        scan_overlay, scan_buildkit, scan_distribution,
    };
    struct scan s = { .db = db, .stop = stop };
    s.rootfd = open_root(root, err, errlen);
    if (s.rootfd < 0)
        return -1;
    char now[32];
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    if (db_exec(db, "BEGIN", err, errlen) < 0) {
        close(s.rootfd);
        return -1;
    }
    int rc = 0;
    if (db_set_meta(db, "root", root) < 0 || db_set_meta(db, "scan_time", now) < 0) {
        snprintf(s.err, sizeof s.err, "database: %s", sqlite3_errmsg(db->h));
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < sizeof modules / sizeof modules[0]; i++) {
        rc = modules[i](&s);
        if (rc == 0 && scan_stopped(&s))
            rc = -2;
    }
    close(s.rootfd);
    if (rc == -1) {
        snprintf(err, errlen, "%s", s.err[0] ? s.err : "scan failed");
        db_exec(db, "ROLLBACK", s.err, sizeof s.err);
        return -1;
    }
    if (rc == -2) {
        snprintf(err, errlen, "interrupted");
        db_exec(db, "ROLLBACK", s.err, sizeof s.err);
        return -2;
    }
    return db_exec(db, "COMMIT", err, errlen);
}

void scan_read_counts(struct db *db, struct scan_counts *c)
{
    c->images = (long)db_query_int(db, "SELECT count(*) FROM image", 0);
    c->layers = (long)db_query_int(db, "SELECT count(*) FROM layer", 0);
    c->mounts = (long)db_query_int(db, "SELECT count(*) FROM mount", 0);
    c->containers = (long)db_query_int(db, "SELECT count(*) FROM container", 0);
    c->overlay_dirs = (long)db_query_int(db, "SELECT count(*) FROM overlay_dir", 0);
    c->links = (long)db_query_int(db, "SELECT count(*) FROM link", 0);
    c->buildkit_snapshots = (long)db_query_int(db, "SELECT count(*) FROM buildkit_snapshot", 0);
}
