/* sizes.c — "du" for garbage findings: nftw(FTW_PHYS|FTW_MOUNT), st_blocks,
 * inodes with several links counted once (a small open-addressing set).
 * The sizes pass walks the findings on par_for's threads (--io-depth) and
 * dedupes hard links afterwards in finding order, so every finding gets
 * the bytes the serial walk gave it. */
#include "sizes.h"
#include "grow.h"
#include "parallel.h"

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

/* nftw has no context pointer: one walk per thread, its state in
 * thread-locals. A walk either dedupes hard links itself (links) or, for
 * the parallel sizes pass, collects every inode with several links (multi)
 * for the caller to dedupe in finding order. */
struct multi_link {
    dev_t dev;
    ino_t ino;
    int64_t bytes;
};

struct du_result {
    int64_t bytes;                 /* inodes with one link (and dirs) */
    struct multi_link *multi;      /* inodes with several links, deduped later */
    size_t nmulti, cap;
    bool done;                     /* walked to the end (no signal meanwhile) */
};

static _Thread_local struct inode_set *walk_links;
static _Thread_local struct du_result *walk_out;
static _Thread_local int64_t walk_bytes;
static _Thread_local volatile sig_atomic_t *walk_stop;   /* a signal ends the walk early */

/* An inode with several links into walk_out; false when out of memory. */
static bool collect_multi(const struct stat *st)
{
    struct du_result *o = walk_out;
    if (o->nmulti == o->cap) {
        struct multi_link *nv = grow_array(o->multi, &o->cap, o->nmulti + 1, sizeof *nv);
        if (!nv)
            return false;
        o->multi = nv;
    }
    o->multi[o->nmulti++] = (struct multi_link){ st->st_dev, st->st_ino, (int64_t)st->st_blocks * 512 };
    return true;
}

static int add_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (walk_stop && *walk_stop)
        return 1;   /* nftw stops and returns 1 */
    if (flag == FTW_NS)
        return 0;
    if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) {
        if (walk_out && collect_multi(st))
            return 0;
        if (walk_links && !inode_set_add(walk_links, st->st_dev, st->st_ino))
            return 0;
    }
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

/* ---- the sizes pass: walks in parallel, links deduped in finding order ---- */

struct garbage_row {
    int64_t seq;
    char *path;
    char *owned;    /* newline-separated, or NULL */
    struct du_result r;
};

struct garbage_rows {
    struct garbage_row *v;
    size_t n, cap;
    const char *root;
    volatile sig_atomic_t *stop;
};

static int read_rows(struct db *db, struct garbage_rows *rows)
{
    sqlite3_stmt *sel;
    char err[256];
    if (db_prepare(db, "SELECT seq, path, owned FROM finding WHERE severity = 'garbage' AND young = 0", &sel, err, sizeof err) < 0)
        return -1;
    while (sqlite3_step(sel) == SQLITE_ROW) {
        struct garbage_row *nv = grow_array(rows->v, &rows->cap, rows->n + 1, sizeof *nv);
        if (!nv)
            break;
        rows->v = nv;
        struct garbage_row *g = &rows->v[rows->n++];
        memset(g, 0, sizeof *g);
        const char *path = (const char *)sqlite3_column_text(sel, 1);
        const char *owned = (const char *)sqlite3_column_text(sel, 2);
        g->seq = sqlite3_column_int64(sel, 0);
        g->path = path ? strdup(path) : NULL;
        g->owned = owned ? strdup(owned) : NULL;
    }
    sqlite3_finalize(sel);
    return 0;
}

/* One finding's walks (its path, then each owned path), on a pool thread. */
static void walk_row(void *ctx, size_t i)
{
    struct garbage_rows *rows = ctx;
    struct garbage_row *g = &rows->v[i];
    if (rows->stop && *rows->stop)
        return;
    walk_out = &g->r;
    walk_stop = rows->stop;
    g->r.bytes = du(rows->root, g->path, NULL);
    if (g->owned) {
        char *save = NULL;
        for (char *p = strtok_r(g->owned, "\n", &save); p; p = strtok_r(NULL, "\n", &save))
            g->r.bytes += du(rows->root, p, NULL);
    }
    g->r.done = !(rows->stop && *rows->stop);
    walk_out = NULL;
    walk_stop = NULL;
}

/* A finding's bytes: its own, plus each multi-link inode no earlier finding had. */
static int64_t row_bytes(struct garbage_row *g, struct inode_set *links)
{
    int64_t bytes = g->r.bytes;
    for (size_t k = 0; k < g->r.nmulti; k++)
        if (inode_set_add(links, g->r.multi[k].dev, g->r.multi[k].ino))
            bytes += g->r.multi[k].bytes;
    return bytes;
}

static int64_t store_sizes(struct db *db, struct garbage_rows *rows)
{
    sqlite3_stmt *upd;
    char err[256];
    if (db_prepare(db, "UPDATE finding SET bytes = ?2 WHERE seq = ?1", &upd, err, sizeof err) < 0)
        return 0;
    struct inode_set links = { 0 };
    int64_t total = 0;
    db_exec(db, "BEGIN", err, sizeof err);
    for (size_t i = 0; i < rows->n && rows->v[i].r.done; i++) {
        int64_t bytes = row_bytes(&rows->v[i], &links);
        db_bind_int(upd, 1, rows->v[i].seq);
        db_bind_int(upd, 2, bytes);
        db_step_reset(upd, err, sizeof err);
        total += bytes;
    }
    db_exec(db, "COMMIT", err, sizeof err);
    sqlite3_finalize(upd);
    free(links.slots);
    return total;
}

int64_t sizes_fill_garbage_until(struct db *db, const char *root, volatile sig_atomic_t *stop)
{
    struct garbage_rows rows = { .root = root, .stop = stop };
    if (read_rows(db, &rows) < 0)
        return 0;
    par_for(rows.n, SIZES_FDS_PER_WALK, walk_row, &rows);
    int64_t total = store_sizes(db, &rows);
    for (size_t i = 0; i < rows.n; i++) {
        free(rows.v[i].path);
        free(rows.v[i].owned);
        free(rows.v[i].r.multi);
    }
    free(rows.v);
    return total;
}
