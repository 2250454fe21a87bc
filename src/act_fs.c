/* act_fs.c — the apply engine's only ways to touch the file system.
 *
 * Owns: opening parent dirs without following a symlink or leaving the
 * root's file system, the verified rename (into trash or quarantine, or
 * aside), the safe delete walker, and atomic file and symlink writes.
 *
 * The walker deletes with openat()/unlinkat() relative to dir fds it opened
 * itself with O_NOFOLLOW|O_DIRECTORY; a symlink is unlinked, never
 * followed; anything whose st_dev is not the expected device (a mount point
 * inside, or another file system) is refused and left in place; it never
 * resolves a path string, so it cannot leave the tree it was given. */
#include "act.h"
#include "fsutil.h"
#include "grow.h"
#include "ids.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define WALK_MAX_DEPTH 2048

int act_open_parent(int rootfd, const char *relpath, const char **base)
{
    struct stat rootst;
    if (fstat(rootfd, &rootst) < 0)
        return -1;
    const char *slash = strrchr(relpath, '/');
    *base = slash ? slash + 1 : relpath;
    int fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
    const char *p = relpath;
    while (fd >= 0 && slash && p < slash) {
        const char *end = strchr(p, '/');
        char comp[NAME_MAX + 1];
        size_t len = (size_t)(end - p);
        if (len == 0 || len > NAME_MAX || !id_is_safe_component(p, len)) {
            close(fd);
            errno = EINVAL;
            return -1;
        }
        memcpy(comp, p, len);
        comp[len] = '\0';
        int next = fs_open_dir(fd, comp);
        int e = errno;
        close(fd);
        fd = next;
        struct stat st;
        if (fd >= 0 && (fstat(fd, &st) < 0 || st.st_dev != rootst.st_dev)) {
            close(fd);
            fd = -1;
            e = EXDEV;
        }
        errno = e;
        p = end + 1;
    }
    if (fd >= 0 && !id_is_safe_component(*base, strlen(*base))) {
        close(fd);
        errno = EINVAL;
        return -1;
    }
    return fd;
}

bool act_lstat(int rootfd, const char *relpath, struct stat *st)
{
    const char *base;
    int fd = act_open_parent(rootfd, relpath, &base);
    if (fd < 0)
        return false;
    bool ok = fs_lstat(fd, base, st);
    int e = errno;
    close(fd);
    errno = e;
    return ok;
}

/* ---- names, moves ----------------------------------------------------- */

void act_random_hex(char *out, size_t hexlen)
{
    unsigned char raw[64];
    size_t need = (hexlen + 1) / 2;
    if (need > sizeof raw)
        need = sizeof raw;
    if (getrandom(raw, need, 0) != (ssize_t)need) {
        unsigned long x = (unsigned long)time(NULL) ^ ((unsigned long)getpid() << 16) ^ (unsigned long)clock();
        for (size_t i = 0; i < need; i++) {
            x = x * 6364136223846793005ul + 1442695040888963407ul;
            raw[i] = (unsigned char)(x >> 33);
        }
    }
    static const char hex[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < hexlen && i / 2 < need; i++)
        out[i] = hex[(raw[i / 2] >> ((i % 2) ? 0 : 4)) & 0xf];
    out[i] = '\0';
}

void act_unique_name(char *out, size_t outlen, unsigned long n, const char *base)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(out, outlen, "%04d%02d%02dT%02d%02d%02dZ-%ld-%lu-%.*s", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)getpid(), n, 160, base);
}

void act_fsync_dir(int fd)
{
    if (fd >= 0)
        fsync(fd);
}

static int rename_noreplace(int fromfd, const char *from, int tofd, const char *to)
{
    return renameat2(fromfd, from, tofd, to, RENAME_NOREPLACE);
}

int act_move(int fromfd, const char *from, int tofd, const char *to, dev_t dev, ino_t ino)
{
    struct stat st;
    if (!fs_lstat(fromfd, from, &st))
        return -1;
    if (st.st_dev != dev || st.st_ino != ino) {
        errno = ESTALE;
        return -1;
    }
    if (rename_noreplace(fromfd, from, tofd, to) < 0)
        return -1;
    /* lstat and rename are two calls: make sure what moved is what we checked */
    if (!fs_lstat(tofd, to, &st) || st.st_dev != dev || st.st_ino != ino) {
        rename_noreplace(tofd, to, fromfd, from);
        errno = EAGAIN;
        return -1;
    }
    act_fsync_dir(tofd);
    act_fsync_dir(fromfd);
    return 0;
}

int act_open_or_make_dir(int dirfd, const char *name)
{
    if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
        return -1;
    return fs_open_dir(dirfd, name);
}

int act_mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, 0700) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

void act_raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* ---- the safe delete walker ------------------------------------------- */

struct walk {
    dev_t dev;
    int64_t freed;
    char *err;
    size_t errlen;
    int failures;
};

static void walk_fail(struct walk *w, const char *name, const char *why)
{
    if (w->failures++ == 0)
        snprintf(w->err, w->errlen, "%s: %s", name, why);
}

struct name_list {
    char **v;
    size_t n, cap;
};

static int collect_name(void *ctx, const char *name, unsigned char d_type)
{
    (void)d_type;
    struct name_list *l = ctx;
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 64;
        char **nv = realloc(l->v, ncap * sizeof *nv);
        if (!nv)
            return -1;
        l->v = nv;
        l->cap = ncap;
    }
    if (!(l->v[l->n] = strdup(name)))
        return -1;
    l->n++;
    return 0;
}

static void free_names(struct name_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

static void delete_entry(struct walk *w, int dirfd, const char *name, int depth);

/* Empty the dir open as fd (entries collected first, then deleted). */
static void delete_children(struct walk *w, int fd, const char *name, int depth)
{
    struct name_list names = { 0 };
    if (fs_list_dir(fd, collect_name, &names) != 0)
        walk_fail(w, name, "cannot list");
    for (size_t i = 0; i < names.n; i++)
        delete_entry(w, fd, names.v[i], depth + 1);
    free_names(&names);
}

static void delete_dir(struct walk *w, int dirfd, const char *name, const struct stat *st, int depth)
{
    if (depth >= WALK_MAX_DEPTH) {
        walk_fail(w, name, "nested too deeply");
        return;
    }
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    struct stat fst;
    if (fd < 0) {
        walk_fail(w, name, strerror(errno));
        return;
    }
    /* the dir we opened must be the one we looked at (no swap in between) */
    if (fstat(fd, &fst) < 0 || fst.st_dev != st->st_dev || fst.st_ino != st->st_ino) {
        close(fd);
        walk_fail(w, name, "changed while being deleted");
        return;
    }
    delete_children(w, fd, name, depth);
    close(fd);
    if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0) {
        walk_fail(w, name, strerror(errno));
        return;
    }
    w->freed += (int64_t)st->st_blocks * 512;
}

static void delete_entry(struct walk *w, int dirfd, const char *name, int depth)
{
    struct stat st;
    if (!fs_lstat(dirfd, name, &st)) {
        if (errno != ENOENT)
            walk_fail(w, name, strerror(errno));
        return;
    }
    if (st.st_dev != w->dev) {
        walk_fail(w, name, "on another file system (mount point?), not crossed");
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        delete_dir(w, dirfd, name, &st, depth);
        return;
    }
    /* files, symlinks, devices, fifos, sockets: unlink the name only */
    if (unlinkat(dirfd, name, 0) < 0) {
        walk_fail(w, name, strerror(errno));
        return;
    }
    if (st.st_nlink <= 1)
        w->freed += (int64_t)st.st_blocks * 512;
}

int act_safe_delete(int dirfd, const char *name, dev_t dev, int64_t *freed, char *err, size_t errlen)
{
    struct walk w = { .dev = dev, .err = err, .errlen = errlen };
    if (errlen)
        err[0] = '\0';
    if (!id_is_safe_component(name, strlen(name))) {
        snprintf(err, errlen, "refusing to delete '%s'", name);
        return -1;
    }
    delete_entry(&w, dirfd, name, 0);
    if (freed)
        *freed += w.freed;
    if (w.failures > 1) {
        size_t n = strlen(err);
        snprintf(err + n, errlen - n, " (and %d more)", w.failures - 1);
    }
    /* no fsync: a deletion lost to a power cut leaves a trash entry (or a
     * purging- run) that the next run finishes */
    return w.failures ? -1 : 0;
}

/* ---- atomic writes ------------------------------------------------------ */

int act_read_raw(int dirfd, const char *name, size_t cap, char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    struct file_buf b;
    fs_read_file(dirfd, name, cap, &b);
    if (b.status == FILE_MISSING)
        return 0;
    if (b.status != FILE_OK) {
        file_buf_free(&b);
        return -1;
    }
    *data = b.data;   /* NUL-terminated, len bytes */
    *len = b.len;
    return 1;
}

int act_write_atomic(int dirfd, const char *name, const char *tmp_name, const char *data, size_t len, mode_t mode,
                     char *err, size_t errlen)
{
    struct stat old;
    bool have_old = fs_lstat(dirfd, name, &old) && S_ISREG(old.st_mode);
    unlinkat(dirfd, tmp_name, 0);   /* a leftover of an interrupted write */
    int fd = openat(dirfd, tmp_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", tmp_name, strerror(errno));
        return -1;
    }
    int rc = -1;
    if (fchmod(fd, have_old ? (old.st_mode & 07777) : mode) < 0 ||
        (have_old && fchown(fd, old.st_uid, old.st_gid) < 0))
        snprintf(err, errlen, "cannot set the mode or owner of %s: %s", tmp_name, strerror(errno));
    else if (fs_write_all(fd, data, len) < 0 || fsync(fd) < 0)
        snprintf(err, errlen, "cannot write %s: %s", tmp_name, strerror(errno));
    else
        rc = 0;
    close(fd);
    if (rc == 0 && renameat(dirfd, tmp_name, dirfd, name) < 0) {
        snprintf(err, errlen, "cannot rename %s over %s: %s", tmp_name, name, strerror(errno));
        rc = -1;
    }
    if (rc < 0)
        unlinkat(dirfd, tmp_name, 0);
    act_fsync_dir(dirfd);
    return rc;
}

int act_symlink_atomic(int dirfd, const char *name, const char *tmp_name, const char *target, bool replace,
                       char *err, size_t errlen)
{
    unlinkat(dirfd, tmp_name, 0);
    if (symlinkat(target, dirfd, tmp_name) < 0) {
        snprintf(err, errlen, "cannot create l/%s: %s", tmp_name, strerror(errno));
        return -1;
    }
    int rc = replace ? renameat(dirfd, tmp_name, dirfd, name)
                     : renameat2(dirfd, tmp_name, dirfd, name, RENAME_NOREPLACE);
    if (rc < 0) {
        snprintf(err, errlen, "cannot rename l/%s to l/%s: %s", tmp_name, name, strerror(errno));
        unlinkat(dirfd, tmp_name, 0);
    }
    act_fsync_dir(dirfd);
    return rc;
}
