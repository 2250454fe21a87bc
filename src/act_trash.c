/* act_trash.c — removal through <root>/.ovl2fsck-trash.
 *
 * Owns: rename into the trash (atomic: the daemon never sees a half-deleted
 * object), then the delete of the trash entry with the safe walker; what an
 * interrupted run left in the trash (deleted whatever its age: it was
 * garbage when it went in); and the full disk: when not one block is free
 * for the trash dir, a dir being removed becomes the trash itself (a rename
 * needs no new block on ext4) and its content is deleted as trash entries;
 * where even that rename needs a block (xfs), the dir is deleted in place,
 * its mtime kept; a file or symlink is unlinked in place (one unlink is
 * atomic). */
#include "act.h"
#include "fsutil.h"
#include "grow.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Open the trash dir (create: make it when missing). -1 with errno. */
static int open_trash(struct act_run *r, bool create)
{
    if (r->trashfd >= 0)
        return r->trashfd;
    int fd = create ? act_open_or_make_dir(r->rootfd, ACT_TRASH_NAME) : fs_open_dir(r->rootfd, ACT_TRASH_NAME);
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) < 0 || st.st_dev != r->rootdev)) {
        close(fd);
        errno = EXDEV;
        fd = -1;
    }
    r->trashfd = fd;
    return fd;
}

bool act_trash_ready(struct act_run *r)
{
    return open_trash(r, true) >= 0;
}

static int count_entry(void *ctx, const char *name, unsigned char d_type)
{
    (void)name;
    (void)d_type;
    (*(size_t *)ctx)++;
    return 0;
}

size_t act_trash_pending(int rootfd)
{
    size_t n = 0;
    int fd = fs_open_dir(rootfd, ACT_TRASH_NAME);
    if (fd >= 0) {
        fs_list_dir(fd, count_entry, &n);
        close(fd);
    }
    return n;
}

struct names {
    char **v;
    size_t n, cap;
};

static int collect_name(void *ctx, const char *name, unsigned char d_type)
{
    (void)d_type;
    struct names *c = ctx;
    c->v = grow_array_or_die(c->v, &c->cap, c->n + 1, sizeof *c->v);
    c->v[c->n++] = act_strdup(name);
    return 0;
}

static void free_names(struct names *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i]);
    free(c->v);
}

void act_trash_finish(struct act_run *r, size_t *finished, int64_t *freed_total)
{
    if (open_trash(r, false) < 0)
        return;
    struct names c = { 0 };
    fs_list_dir(r->trashfd, collect_name, &c);
    for (size_t i = 0; i < c.n && !r->journal_broken; i++) {
        char path[600], err[512];
        snprintf(path, sizeof path, ACT_TRASH_NAME "/%s", c.v[i]);
        if (!act_run_begin(r, NULL, NULL, path, 0, "finish-trash", NULL))
            break;
        int64_t freed = 0;
        int rc = act_safe_delete(r->trashfd, c.v[i], r->rootdev, &freed, err, sizeof err);
        act_run_end(r, NULL, NULL, path, freed, "finish-trash", rc < 0 ? err : NULL, NULL);
        *finished += rc == 0;
        *freed_total += freed;
        if (rc < 0)
            fprintf(stderr, "ovl2fsck: cannot finish trash entry %s: %s\n", path, err);
    }
    free_names(&c);
}

void act_trash_close(struct act_run *r)
{
    if (r->trashfd < 0)
        return;
    close(r->trashfd);
    r->trashfd = -1;
    unlinkat(r->rootfd, ACT_TRASH_NAME, AT_REMOVEDIR);   /* fails, harmlessly, unless empty */
}

/* Delete trash entries: only the one named, or all of them (when the item's
 * dir became the trash itself). */
static int delete_entries(struct act_run *r, const char *check, const char *object, const char *only,
                          int64_t *freed_total, char *err, size_t errlen)
{
    struct names c = { 0 };
    if (only)
        collect_name(&c, only, 0);
    else if (fs_list_dir(r->trashfd, collect_name, &c) < 0) {
        snprintf(err, errlen, "cannot list the trash dir: %s", strerror(errno));
        free_names(&c);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < c.n && rc == 0; i++) {
        char tpath[NAME_MAX + 64], one[1024] = "";
        snprintf(tpath, sizeof tpath, ACT_TRASH_NAME "/%s", c.v[i]);
        if (!act_run_begin(r, check, object, tpath, 0, "delete", NULL)) {
            snprintf(err, errlen, "cannot write the journal");
            rc = -1;
            break;
        }
        int64_t freed = 0;
        int drc = act_safe_delete(r->trashfd, c.v[i], r->rootdev, &freed, one, sizeof one);
        act_run_end(r, check, object, tpath, freed, "delete", drc < 0 ? one : NULL, NULL);
        *freed_total += freed;
        if (drc < 0) {
            snprintf(err, errlen, "%s", one);
            rc = -1;
        }
    }
    free_names(&c);
    return rc;
}

/* The disk is full: the dir at path becomes the trash. An interruption
 * leaves the trash, which the next run empties. */
static int become_trash(struct act_run *r, const char *check, const char *object, const char *path, int dirfd,
                        const char *base, dev_t dev, ino_t ino, const struct stat *st, int64_t *freed, char *err,
                        size_t errlen)
{
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddStringToObject(extra, "to", ACT_TRASH_NAME);
    cJSON_AddStringToObject(extra, "why", "disk full: the dir becomes the trash");
    int rc = -1;
    if (act_run_begin(r, check, object, path, 0, "trash", extra)) {
        rc = act_move(dirfd, base, r->rootfd, ACT_TRASH_NAME, dev, ino);
        if (rc < 0)
            snprintf(err, errlen, "rename %s to %s: %s", path, ACT_TRASH_NAME, strerror(errno));
        act_run_end(r, check, object, path, 0, "trash", rc < 0 ? err : NULL, extra);
    } else {
        snprintf(err, errlen, "cannot write the journal");
    }
    cJSON_Delete(extra);
    if (rc < 0 || r->journal_broken)
        return -1;
    if (open_trash(r, false) < 0) {
        snprintf(err, errlen, "cannot open the trash dir %s: %s", ACT_TRASH_NAME, strerror(errno));
        return -1;
    }
    fchmod(r->trashfd, 0700);
    *freed += (int64_t)st->st_blocks * 512;   /* its own blocks go with the empty trash at the end */
    if (!r->disk_full_said) {
        fprintf(stderr, "ovl2fsck: the disk is full (no block for %s): %s became the trash\n", ACT_TRASH_NAME,
                path);
        r->disk_full_said = true;
    }
    return delete_entries(r, check, object, NULL, freed, err, errlen);
}

/* The disk is full: a file or symlink goes with one unlink, after the same
 * identity check as a move. */
static int unlink_in_place(struct act_run *r, const char *check, const char *object, const char *path, int dirfd,
                           const char *base, dev_t dev, ino_t ino, const struct stat *st, int64_t *freed, char *err,
                           size_t errlen)
{
    if (!act_run_begin(r, check, object, path, 0, "unlink", NULL)) {
        snprintf(err, errlen, "cannot write the journal");
        return -1;
    }
    struct stat now;
    int rc = -1;
    if (!fs_lstat(dirfd, base, &now))
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
    else if (now.st_dev != dev || now.st_ino != ino)
        snprintf(err, errlen, "%s was replaced since the scan", path);
    else if (unlinkat(dirfd, base, 0) < 0)
        snprintf(err, errlen, "unlink %s: %s", path, strerror(errno));
    else
        rc = 0;
    int64_t gone = rc == 0 && st->st_nlink <= 1 ? (int64_t)st->st_blocks * 512 : 0;
    act_run_end(r, check, object, path, gone, "unlink", rc < 0 ? err : NULL, NULL);
    *freed += gone;
    return rc;
}

/* The disk is full and not even a rename is possible (xfs reserves blocks
 * for any dir entry it adds): delete the dir in place, child by child. Its
 * own mtime is put back after each child, so that an interruption leaves a
 * dir that still looks as old as it was (the next run finishes it); should
 * the kill land between a child and the mtime, the dir only looks young and
 * is reaped once --min-age has passed. Unlinks need no new block. */
static int delete_in_place(struct act_run *r, const char *check, const char *object, const char *path, int dirfd,
                           const char *base, dev_t dev, ino_t ino, const struct stat *st, int64_t *freed, char *err,
                           size_t errlen)
{
    if (!act_run_begin(r, check, object, path, 0, "delete-in-place", NULL)) {
        snprintf(err, errlen, "cannot write the journal");
        return -1;
    }
    int64_t gone = 0;
    int rc = -1;
    struct stat now;
    int fd = openat(dirfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &now) < 0 || now.st_dev != dev || now.st_ino != ino) {
        snprintf(err, errlen, "%s was replaced since the scan", path);
    } else {
        struct names c = { 0 };
        const struct timespec times[2] = { now.st_atim, now.st_mtim };
        rc = fs_list_dir(fd, collect_name, &c) < 0 ? -1 : 0;
        if (rc < 0)
            snprintf(err, errlen, "cannot list %s: %s", path, strerror(errno));
        for (size_t i = 0; i < c.n && rc == 0; i++) {
            rc = act_safe_delete(fd, c.v[i], r->rootdev, &gone, err, errlen);
            futimens(fd, times);
        }
        free_names(&c);
        if (rc == 0 && unlinkat(dirfd, base, AT_REMOVEDIR) < 0) {
            snprintf(err, errlen, "rmdir %s: %s", path, strerror(errno));
            rc = -1;
        }
        if (rc == 0)
            gone += (int64_t)st->st_blocks * 512;
    }
    if (fd >= 0)
        close(fd);
    act_run_end(r, check, object, path, gone, "delete-in-place", rc < 0 ? err : NULL, NULL);
    *freed += gone;
    return rc;
}

int act_trash_remove(struct act_run *r, const char *check, const char *object, const char *path, int dirfd,
                     const char *base, dev_t dev, ino_t ino, const struct stat *st, int64_t *freed, char *err,
                     size_t errlen)
{
    if (open_trash(r, true) < 0) {
        int e = errno;
        if (fs_errno_is_full(e) && S_ISDIR(st->st_mode)) {
            int rc = become_trash(r, check, object, path, dirfd, base, dev, ino, st, freed, err, errlen);
            if (rc < 0 && r->trashfd < 0 && !r->journal_broken && fs_text_says_full(err))
                rc = delete_in_place(r, check, object, path, dirfd, base, dev, ino, st, freed, err, errlen);
            return rc;
        }
        if (fs_errno_is_full(e))
            return unlink_in_place(r, check, object, path, dirfd, base, dev, ino, st, freed, err, errlen);
        snprintf(err, errlen, "cannot use the trash dir %.900s/%s: %s", r->root, ACT_TRASH_NAME, strerror(e));
        return -1;
    }
    char name[NAME_MAX + 1], tpath[NAME_MAX + 64];
    act_unique_name(name, sizeof name, ++r->trash_seq, base);
    snprintf(tpath, sizeof tpath, ACT_TRASH_NAME "/%s", name);
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddStringToObject(extra, "to", tpath);
    int rc = -1;
    if (act_run_begin(r, check, object, path, 0, "trash", extra)) {
        rc = act_move(dirfd, base, r->trashfd, name, dev, ino);
        if (rc < 0)
            snprintf(err, errlen, "rename %s into the trash: %s", path, strerror(errno));
        act_run_end(r, check, object, path, 0, "trash", rc < 0 ? err : NULL, extra);
    } else {
        snprintf(err, errlen, "cannot write the journal");
    }
    cJSON_Delete(extra);
    if (rc < 0 || r->journal_broken)
        return rc;
    return delete_entries(r, check, object, name, freed, err, errlen);
}
