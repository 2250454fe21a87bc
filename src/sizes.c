/* sizes.c — "du" for garbage findings: nftw(FTW_PHYS|FTW_MOUNT), st_blocks,
 * inodes with several links counted once (a small open-addressing set). */
#include "sizes.h"

#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct inode_set {
    struct { dev_t dev; ino_t ino; bool used; } *slots;
    size_t cap, count;
};

static uint64_t inode_hash(dev_t dev, ino_t ino)
{
    uint64_t h = (uint64_t)ino * 0x9E3779B97F4A7C15ull ^ (uint64_t)dev * 0xC2B2AE3D27D4EB4Full;
    return h ^ (h >> 31);
}

static bool inode_set_grow(struct inode_set *s);

/* true when newly added */
static bool inode_set_add(struct inode_set *s, dev_t dev, ino_t ino)
{
    if ((s->count + 1) * 2 > s->cap && !inode_set_grow(s))
        return true;   /* out of memory: count it, never under-report twice */
    size_t i = inode_hash(dev, ino) & (s->cap - 1);
    while (s->slots[i].used) {
        if (s->slots[i].dev == dev && s->slots[i].ino == ino)
            return false;
        i = (i + 1) & (s->cap - 1);
    }
    s->slots[i].used = true;
    s->slots[i].dev = dev;
    s->slots[i].ino = ino;
    s->count++;
    return true;
}

static bool inode_set_grow(struct inode_set *s)
{
    struct inode_set n = { .cap = s->cap ? s->cap * 2 : 1024 };
    n.slots = calloc(n.cap, sizeof *n.slots);
    if (!n.slots)
        return false;
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i].used)
            inode_set_add(&n, s->slots[i].dev, s->slots[i].ino);
    free(s->slots);
    *s = n;
    return true;
}

/* nftw has no context pointer: one walk at a time, state in statics. */
static struct inode_set *walk_links;
static int64_t walk_bytes;
static volatile sig_atomic_t *walk_stop;   /* a signal ends the walk early */

static int add_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (walk_stop && *walk_stop)
        return 1;   /* nftw stops and returns 1 */
    if (flag == FTW_NS)
        return 0;
    if (!S_ISDIR(st->st_mode) && st->st_nlink > 1 && walk_links &&
        !inode_set_add(walk_links, st->st_dev, st->st_ino))
        return 0;
    walk_bytes += (int64_t)st->st_blocks * 512;
    return 0;
}

static int64_t du(const char *root, const char *relpath, struct inode_set *links)
{
    char path[PATH_MAX];
    if (!relpath || !*relpath || strstr(relpath, "..") ||
        snprintf(path, sizeof path, "%s/%s", root, relpath) >= (int)sizeof path)
        return 0;
    struct stat st;
    if (lstat(path, &st) < 0)
        return 0;
    walk_links = links;
    walk_bytes = 0;
    if (S_ISDIR(st.st_mode))
        nftw(path, add_entry, 32, FTW_PHYS | FTW_MOUNT);
    else
        add_entry(path, &st, FTW_F, NULL);
    walk_links = NULL;
    return walk_bytes;
}

int64_t sizes_of_path(const char *root, const char *relpath)
{
    struct inode_set links = { 0 };
    int64_t n = du(root, relpath, &links);
    free(links.slots);
    return n;
}

int64_t sizes_fill_garbage(struct db *db, const char *root)
{
    return sizes_fill_garbage_until(db, root, NULL);
}

int64_t sizes_fill_garbage_until(struct db *db, const char *root, volatile sig_atomic_t *stop)
{
    sqlite3_stmt *sel, *upd;
    char err[256];
    if (db_prepare(db, "SELECT seq, path, owned FROM finding WHERE severity = 'garbage' AND young = 0", &sel, err, sizeof err) < 0)
        return 0;
    if (db_prepare(db, "UPDATE finding SET bytes = ?2 WHERE seq = ?1", &upd, err, sizeof err) < 0) {
        sqlite3_finalize(sel);
        return 0;
    }
    struct inode_set links = { 0 };
    int64_t total = 0;
    db_exec(db, "BEGIN", err, sizeof err);
    walk_stop = stop;
    while (!(stop && *stop) && sqlite3_step(sel) == SQLITE_ROW) {
        int64_t bytes = du(root, (const char *)sqlite3_column_text(sel, 1), &links);
        const char *owned = (const char *)sqlite3_column_text(sel, 2);
        if (owned) {
            char *copy = strdup(owned), *save = NULL;
            for (char *p = strtok_r(copy, "\n", &save); p; p = strtok_r(NULL, "\n", &save))
                bytes += du(root, p, &links);
            free(copy);
        }
        db_bind_int(upd, 1, sqlite3_column_int64(sel, 0));
        db_bind_int(upd, 2, bytes);
        db_step_reset(upd, err, sizeof err);
        total += bytes;
    }
    walk_stop = NULL;
    db_exec(db, "COMMIT", err, sizeof err);
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    free(links.slots);
    return total;
}
