/* fsutil.c — safe, capped, symlink-refusing reads relative to dir fds. */
#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

static void read_fd(int fd, size_t cap, struct file_buf *out)
{
    size_t want = (size_t)out->st.st_size;
    size_t alloc = want < 4096 ? 4096 : want + 1;
    char *buf = malloc(alloc + 1);
    size_t len = 0;
    if (!buf) {
        out->status = FILE_UNREADABLE;
        out->err = ENOMEM;
        return;
    }
    for (;;) {
        if (len == alloc) {
            if (len > cap)
                break;
            size_t nalloc = alloc * 2 > cap + 1 ? cap + 1 : alloc * 2;
            char *nb = realloc(buf, nalloc + 1);
            if (!nb) {
                free(buf);
                out->status = FILE_UNREADABLE;
                out->err = ENOMEM;
                return;
            }
            buf = nb;
            alloc = nalloc;
        }
        ssize_t n = read(fd, buf + len, alloc - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            out->err = errno;
            out->status = FILE_UNREADABLE;
            free(buf);
            return;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (want && len == want)
            break;   /* all of st_size read: skip the read() that would see EOF */
    }
    if (len > cap) {
        free(buf);
        out->status = FILE_TOO_LARGE;
        return;
    }
    buf[len] = '\0';
    out->data = buf;
    out->len = len;
    out->status = FILE_OK;
}

/* openat without following a symlink and, where allowed (we own the file or
 * have CAP_FOWNER, as root does), without updating its atime: checking a
 * store should not write to it, not even access times. */
static int open_quietly(int dirfd, const char *name, int flags)
{
    int fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
    if (fd < 0 && errno == EPERM)
        fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC);
    return fd;
}

void fs_read_file(int dirfd, const char *name, size_t cap, struct file_buf *out)
{
    memset(out, 0, sizeof *out);
    int fd = open_quietly(dirfd, name, O_RDONLY | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        out->err = errno;
        if (errno == ENOENT) {
            out->status = FILE_MISSING;
        } else if (errno == ELOOP || errno == ENXIO || errno == ENODEV) {
            out->status = FILE_NOT_REGULAR;  /* symlink, socket, device */
            fs_lstat(dirfd, name, &out->st);
        } else {
            out->status = FILE_UNREADABLE;
        }
        return;
    }
    if (fstat(fd, &out->st) < 0) {
        out->err = errno;
        out->status = FILE_UNREADABLE;
    } else if (!S_ISREG(out->st.st_mode)) {
        out->status = FILE_NOT_REGULAR;
    } else if ((size_t)out->st.st_size > cap) {
        out->status = FILE_TOO_LARGE;
    } else {
        read_fd(fd, cap, out);
    }
    close(fd);
}

void file_buf_free(struct file_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

const char *file_status_text(const struct file_buf *b, char *buf, size_t buflen)
{
    switch (b->status) {
    case FILE_OK: return "ok";
    case FILE_MISSING: return "missing";
    case FILE_NOT_REGULAR:
        snprintf(buf, buflen, "not a regular file (%s)", fs_type_name(b->st.st_mode));
        return buf;
    case FILE_TOO_LARGE:
        snprintf(buf, buflen, "too large (%lld bytes)", (long long)b->st.st_size);
        return buf;
    case FILE_UNREADABLE:
        snprintf(buf, buflen, "unreadable: %s", strerror(b->err));
        return buf;
    }
    return "?";
}

int fs_open_dir(int dirfd, const char *name)
{
    return open_quietly(dirfd, name, O_RDONLY | O_DIRECTORY);
}

bool fs_lstat(int dirfd, const char *name, struct stat *st)
{
    return fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW) == 0;
}

const char *fs_type_name(mode_t mode)
{
    if (S_ISDIR(mode)) return "dir";
    if (S_ISREG(mode)) return "file";
    if (S_ISLNK(mode)) return "symlink";
    if (S_ISFIFO(mode)) return "fifo";
    if (S_ISSOCK(mode)) return "socket";
    if (S_ISCHR(mode)) return "chardev";
    if (S_ISBLK(mode)) return "blockdev";
    return "other";
}

int fs_list_dir(int dirfd, fs_entry_fn fn, void *ctx)
{
    int fd = open_quietly(dirfd, ".", O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    int rc = 0;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' && (de->d_name[1] == '\0' || (de->d_name[1] == '.' && de->d_name[2] == '\0')))
            continue;
        rc = fn(ctx, de->d_name, de->d_type);
        if (rc)
            break;
        errno = 0;
    }
    int e = errno;
    closedir(d);
    if (rc == 0 && e != 0) {
        errno = e;
        return -1;
    }
    return rc;
}

static int keep_name(void *ctx, const char *name, unsigned char d_type)
{
    struct fs_names *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        void *v = realloc(l->v, cap * sizeof *l->v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n].name = strdup(name)))
        return -1;
    l->v[l->n++].d_type = d_type;
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(((const struct fs_name *)a)->name, ((const struct fs_name *)b)->name);
}

int fs_names_read_unsorted(int dirfd, struct fs_names *out)
{
    memset(out, 0, sizeof *out);
    int listed = fs_list_dir(dirfd, keep_name, out);   /* on an error: what was read, then -1 */
    return listed ? -1 : 0;
}

int fs_names_read(int dirfd, struct fs_names *out)
{
    int listed = fs_names_read_unsorted(dirfd, out);
    int e = errno;
    if (out->n > 1)
        qsort(out->v, out->n, sizeof *out->v, cmp_names);
    errno = e;
    return listed;
}

void fs_names_free(struct fs_names *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].name);
    free(l->v);
    memset(l, 0, sizeof *l);
}

int fs_list_dir_sorted(int dirfd, fs_entry_fn fn, void *ctx)
{
    struct fs_names l;
    int listed = fs_names_read(dirfd, &l);
    int e = errno;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < l.n; i++)
        rc = fn(ctx, l.v[i].name, l.v[i].d_type);
    fs_names_free(&l);
    if (rc == 0 && listed != 0) {
        errno = e;
        return -1;
    }
    return rc;
}

long fs_readlink(int dirfd, const char *name, char *buf, size_t buflen)
{
    ssize_t n = readlinkat(dirfd, name, buf, buflen - 1);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return (long)n;
}

int fs_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

long long fs_free_bytes(const char *path)
{
    struct statvfs sv;
    if (statvfs(path, &sv) < 0)
        return -1;
    /* what df shows as available: root may also use the reserved blocks,
     * but a file system whose users are out of space is full for us too */
    return (long long)((unsigned long long)sv.f_bavail * sv.f_frsize);
}

bool fs_errno_is_full(int err)
{
    return err == ENOSPC || err == EDQUOT;
}

bool fs_text_says_full(const char *msg)
{
    return msg && (strstr(msg, strerror(ENOSPC)) || strstr(msg, strerror(EDQUOT)));
}
