/* scan_layers.c — layerdb: layers (sha256/<chainID>), -removing leftovers,
 * tmp/write-set-* leftovers, container mounts (mounts/<id>) and image
 * mounts (mounts/<id>-<ref>, nested at each '/' of the ref). */
#include "scan_internal.h"
#include "ids.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LAYERDB "image/overlay2/layerdb"

static bool valid_cache_id(const char *s, size_t len)
{
    return id_is_hex64(s, len) || id_is_buildkit(s, len);
}

static bool valid_size(const char *s, size_t len)
{
    if (len == 0 || len > 19)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static bool valid_mount_id(const char *s, size_t len) { return id_is_hex64(s, len); }
static bool valid_init_id(const char *s, size_t len) { return id_is_init_dir(s, len); }

static int count_entry(void *ctx, const char *name, unsigned char d_type)
{
    (void)name;
    (void)d_type;
    (*(int *)ctx)++;
    return 0;
}

struct layer_walk {
    struct scan *s;
    int dirfd;
    sqlite3_stmt *ins_layer, *ins_removing, *ins_tmp, *ins_mount, *ins_image_mount;
};

static bool is_removing_name(const char *name)
{
    size_t n = strlen(name);
    return n > HEX64_LEN + 10 && id_is_hex64(name, HEX64_LEN) && name[HEX64_LEN] == '-' &&
           strcmp(name + n - 9, "-removing") == 0;
}

static int insert_layer(struct layer_walk *w, const char *name, int fd, const struct stat *st)
{
    sqlite3_stmt *q = w->ins_layer;
    char *diff = NULL, *parent = NULL, *cache = NULL, *size = NULL;
    const char *diff_st = ST_MISSING, *parent_st = ST_MISSING, *cache_st = ST_MISSING, *size_st = ST_MISSING;
    int entries = -1;   /* counted only when metadata is missing */
    bool tarsplit = false;
    if (fd >= 0) {
        diff_st = scan_read_id(w->s->ahead, fd, "diff", id_is_digest, true, &diff);
        parent_st = scan_read_id(w->s->ahead, fd, "parent", id_is_digest, true, &parent);
        cache_st = scan_read_id(w->s->ahead, fd, "cache-id", valid_cache_id, false, &cache);
        size_st = scan_read_id(w->s->ahead, fd, "size", valid_size, false, &size);
        struct stat ts;
        tarsplit = fs_lstat(fd, "tar-split.json.gz", &ts) && S_ISREG(ts.st_mode);
    }
    int rc = 0;
    bool complete = strcmp(diff_st, ST_OK) == 0 && strcmp(cache_st, ST_OK) == 0 && strcmp(size_st, ST_OK) == 0;
    if (fd >= 0 && !complete) {
        /* something is missing: was the layer removed or replaced while we
         * read it (not corruption), or is the dir simply empty? */
        if (!scan_still_there(w->dirfd, name, st))
            goto out;
        entries = 0;
        fs_list_dir(fd, count_entry, &entries);
    }
    char chain[DIGEST_LEN + 1], pfull[DIGEST_LEN + 1], dfull[DIGEST_LEN + 1];
    bool can_chain = strcmp(diff_st, ST_OK) == 0 &&
                     (strcmp(parent_st, ST_OK) == 0 || strcmp(parent_st, ST_MISSING) == 0);
    if (can_chain) {
        enum scan_phase was = scan_phase(w->s, PHASE_PARSE);
        snprintf(dfull, sizeof dfull, "sha256:%s", diff);
        if (parent)
            snprintf(pfull, sizeof pfull, "sha256:%s", parent);
        id_chain_id(parent ? pfull : NULL, dfull, chain);
        scan_phase(w->s, was);
    }
    db_bind_borrowed(q, 1, name);
    db_bind_int(q, 2, id_is_hex64(name, strlen(name)));
    db_bind_int(q, 3, fd >= 0);
    db_bind_borrowed(q, 4, diff);
    db_bind_borrowed(q, 5, diff_st);
    db_bind_borrowed(q, 6, parent);
    db_bind_borrowed(q, 7, parent_st);
    db_bind_borrowed(q, 8, cache);
    db_bind_borrowed(q, 9, cache_st);
    if (strcmp(size_st, ST_OK) == 0)
        db_bind_int(q, 10, strtoll(size, NULL, 10));
    db_bind_borrowed(q, 11, size_st);
    db_bind_int(q, 12, tarsplit);
    db_bind_borrowed(q, 13, can_chain ? chain + 7 : NULL);
    db_bind_int(q, 14, entries);
    db_bind_int(q, 15, (int64_t)st->st_mtime);
    rc = scan_insert(w->s, q);
out:
    free(diff);
    free(parent);
    free(cache);
    free(size);
    return rc;
}

/* A leftover dir (-removing, write-set-*) with the cache-id it names, if any. */
static int insert_leftover(struct layer_walk *w, sqlite3_stmt *q, const char *name, const struct stat *st)
{
    char *cache = NULL;
    int fd = S_ISDIR(st->st_mode) ? fs_open_dir(w->dirfd, name) : -1;
    if (fd >= 0) {
        const char *cs = scan_read_id(w->s->ahead, fd, "cache-id", valid_cache_id, false, &cache);
        if (strcmp(cs, ST_OK) != 0) {
            free(cache);
            cache = NULL;
        }
        close(fd);
    }
    db_bind_text(q, 1, name);
    db_bind_text(q, 2, cache);
    db_bind_int(q, 3, (int64_t)st->st_mtime);
    free(cache);
    return scan_insert(w->s, q);
}

static int on_layer_entry(void *ctx, const char *name, unsigned char d_type)
{
    (void)d_type;
    struct layer_walk *w = ctx;
    struct stat st;
    if (scan_stopped(w->s))
        return 1;
    if (!fs_lstat(w->dirfd, name, &st))
        return 0;   /* vanished */
    if (is_removing_name(name))
        return insert_leftover(w, w->ins_removing, name, &st);
    int fd = S_ISDIR(st.st_mode) ? fs_open_dir(w->dirfd, name) : -1;
    if (S_ISDIR(st.st_mode) && fd < 0) {
        if (errno == ENOENT)
            return 0;
        char rel[400];
        snprintf(rel, sizeof rel, LAYERDB "/sha256/%s", name);
        scan_note_error(w->s, rel, errno);
    }
    int rc = insert_layer(w, name, fd, &st);
    if (fd >= 0)
        close(fd);
    return rc;
}

static int on_tmp_entry(void *ctx, const char *name, unsigned char d_type)
{
    (void)d_type;
    struct layer_walk *w = ctx;
    struct stat st;
    if (!fs_lstat(w->dirfd, name, &st))
        return 0;
    return insert_leftover(w, w->ins_tmp, name, &st);
}

/* Read a mount entry's files (dirfd: its dir, or -1 when it is not a dir)
 * and insert its row; image_ref names the image of an image mount (then
 * name is its path below mounts/, whose first 64 chars are its container),
 * else NULL. leaf: the entry's name in parentfd. ahead: the files read
 * ahead for fd (the walked entry), or NULL. */
static int insert_mount(struct layer_walk *w, int parentfd, const char *leaf, const struct stat *st, int fd,
                        const char *name, const char *image_ref, struct pf_entry *ahead)
{
    char *mid = NULL, *iid = NULL, *parent = NULL;
    const char *mst = ST_MISSING, *ist = ST_MISSING, *pst = ST_MISSING;
    if (fd >= 0) {
        mst = scan_read_id(ahead, fd, "mount-id", valid_mount_id, false, &mid);
        ist = scan_read_id(ahead, fd, "init-id", valid_init_id, false, &iid);
        pst = scan_read_id(ahead, fd, "parent", id_is_digest, true, &parent);
    }
    int rc = 0;
    if (strcmp(mst, ST_OK) == 0 || scan_still_there(parentfd, leaf, st)) {
        sqlite3_stmt *q = w->ins_mount;
        size_t n = strlen(name);
        db_bind_text(q, 1, name);
        db_bind_int(q, 2, !image_ref && (id_is_hex64(name, n) || id_is_buildkit(name, n)));
        db_bind_text(q, 3, mid);
        db_bind_text(q, 4, mst);
        db_bind_text(q, 5, iid);
        db_bind_text(q, 6, ist);
        db_bind_text(q, 7, parent);
        db_bind_text(q, 8, pst);
        db_bind_int(q, 9, (int64_t)st->st_mtime);
        rc = scan_insert(w->s, q);
        if (rc == 0 && image_ref) {
            char owner[HEX64_LEN + 1];
            memcpy(owner, name, HEX64_LEN);
            owner[HEX64_LEN] = '\0';
            q = w->ins_image_mount;
            db_bind_text(q, 1, name);
            db_bind_text(q, 2, owner);
            db_bind_text(q, 3, image_ref);
            rc = scan_insert(w->s, q);
        }
    }
    free(mid);
    free(iid);
    free(parent);
    return rc;
}

/* Image mounts (Docker 28: docker run --mount type=image,source=REF):
 * layerdb/mounts/<container id>-<REF>/ holding mount-id and parent (no
 * init-id), one dir level per '/' of REF. A component of REF is made of
 * the characters of an image reference ([A-Za-z0-9._:@+-], not "." or ".."). */
#define IMAGE_MOUNT_MAX_DEPTH 8       /* components of REF */
#define IMAGE_MOUNT_MAX_PATH 1024

static bool ref_component_ok(const char *s, size_t len)
{
    if (!id_is_safe_component(s, len))
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == ':' || c == '@' || c == '+' || c == '-'))
            return false;
    }
    return true;
}

static bool is_image_mount_name(const char *name)
{
    size_t n = strlen(name);
    return n > HEX64_LEN + 1 && id_is_hex64(name, HEX64_LEN) && name[HEX64_LEN] == '-' &&
           ref_component_ok(name + HEX64_LEN + 1, n - HEX64_LEN - 1);
}

/* A dir with any of the mount files is an entry; one without is a level of
 * a nested ref. */
static bool has_mount_files(int fd)
{
    struct stat x;
    return fs_lstat(fd, "mount-id", &x) || fs_lstat(fd, "parent", &x) || fs_lstat(fd, "init-id", &x);
}

struct image_mount_level {
    struct layer_walk *w;
    int fd;             /* this level's dir */
    char path[IMAGE_MOUNT_MAX_PATH];   /* below mounts/ */
    int depth;          /* components of the ref so far */
    int subdirs;        /* well-formed sub-dirs seen */
};

static int walk_image_mount(struct layer_walk *w, int parentfd, const char *leaf, const struct stat *st, int fd,
                            const char *path, int depth);

static int on_image_mount_sub(void *ctx, const char *name, unsigned char d_type)
{
    (void)d_type;
    struct image_mount_level *lv = ctx;
    struct stat st;
    if (scan_stopped(lv->w->s))
        return 1;
    if (!ref_component_ok(name, strlen(name)) || !fs_lstat(lv->fd, name, &st) || !S_ISDIR(st.st_mode))
        return 0;   /* not a level of a ref: dockerd makes nothing else here */
    char path[IMAGE_MOUNT_MAX_PATH];
    if (lv->depth >= IMAGE_MOUNT_MAX_DEPTH ||
        (size_t)snprintf(path, sizeof path, "%s/%s", lv->path, name) >= sizeof path)
        return 0;
    int fd = fs_open_dir(lv->fd, name);
    if (fd < 0) {
        if (errno != ENOENT) {
            char rel[IMAGE_MOUNT_MAX_PATH + 64];
            snprintf(rel, sizeof rel, LAYERDB "/mounts/%s", path);
            scan_note_error(lv->w->s, rel, errno);
        }
        return 0;
    }
    lv->subdirs++;
    int rc = walk_image_mount(lv->w, lv->fd, name, &st, fd, path, lv->depth + 1);
    close(fd);
    return rc;
}

/* fd: the dir at path (below mounts/), depth components of the ref in it. */
static int walk_image_mount(struct layer_walk *w, int parentfd, const char *leaf, const struct stat *st, int fd,
                            const char *path, int depth)
{
    if (!has_mount_files(fd)) {
        struct image_mount_level lv = { .w = w, .fd = fd, .depth = depth };
        snprintf(lv.path, sizeof lv.path, "%s", path);
        int rc = fs_list_dir_sorted(fd, on_image_mount_sub, &lv);
        if (rc < 0) {
            char rel[IMAGE_MOUNT_MAX_PATH + 64];
            snprintf(rel, sizeof rel, LAYERDB "/mounts/%s", path);
            scan_note_error(w->s, rel, errno);
            return 0;
        }
        if (rc != 0 || lv.subdirs > 0)
            return rc;
        /* an empty level (an entry whose files are gone): an entry, with
         * its files missing */
    }
    return insert_mount(w, parentfd, leaf, st, fd, path, path + HEX64_LEN + 1, NULL);
}

static int on_mount_entry(void *ctx, const char *name, unsigned char d_type)
{
    (void)d_type;
    struct layer_walk *w = ctx;
    struct stat st;
    if (scan_stopped(w->s))
        return 1;
    if (!fs_lstat(w->dirfd, name, &st))
        return 0;
    int fd = S_ISDIR(st.st_mode) ? fs_open_dir(w->dirfd, name) : -1;
    int rc;
    if (fd >= 0 && is_image_mount_name(name))
        rc = walk_image_mount(w, w->dirfd, name, &st, fd, name, 1);
    else
        rc = insert_mount(w, w->dirfd, name, &st, fd, name, NULL, w->s->ahead);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* What the read-ahead pool reads for each entry of sha256/, tmp/ and mounts/. */
static const struct pf_plan layer_plan = { .kind = PF_DIR_FILES, .files = { "diff", "parent", "cache-id", "size" },
                                           .cap = CAP_ID_FILE, .warm = "tar-split.json.gz" };
static const struct pf_plan leftover_plan = { .kind = PF_DIR_FILES, .files = { "cache-id" }, .cap = CAP_ID_FILE };
static const struct pf_plan mount_plan = { .kind = PF_DIR_FILES, .files = { "mount-id", "init-id", "parent" },
                                           .cap = CAP_ID_FILE };

static int prepare_all(struct layer_walk *w)
{
    struct scan *s = w->s;
    return db_prepare(s->db, "INSERT OR REPLACE INTO layer(chain_id, name_ok, is_dir, diff, diff_state, parent, parent_state,"
                             " cache_id, cache_id_state, size, size_state, has_tarsplit, computed_chain, entries, mtime)"
                             " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)",
                      &w->ins_layer, s->err, sizeof s->err) < 0 ||
           db_prepare(s->db, "INSERT OR REPLACE INTO layer_removing(name, cache_id, mtime) VALUES (?1, ?2, ?3)",
                      &w->ins_removing, s->err, sizeof s->err) < 0 ||
           db_prepare(s->db, "INSERT OR REPLACE INTO layerdb_tmp(name, cache_id, mtime) VALUES (?1, ?2, ?3)",
                      &w->ins_tmp, s->err, sizeof s->err) < 0 ||
           db_prepare(s->db, "INSERT OR REPLACE INTO mount(container_id, name_ok, mount_id, mount_id_state, init_id,"
                             " init_id_state, parent, parent_state, mtime) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                      &w->ins_mount, s->err, sizeof s->err) < 0 ||
           db_prepare(s->db, "INSERT OR REPLACE INTO image_mount(path, container_id, ref) VALUES (?1,?2,?3)",
                      &w->ins_image_mount, s->err, sizeof s->err) < 0
               ? -1 : 0;
}

static void finalize_all(struct layer_walk *w)
{
    sqlite3_finalize(w->ins_layer);
    sqlite3_finalize(w->ins_removing);
    sqlite3_finalize(w->ins_tmp);
    sqlite3_finalize(w->ins_mount);
    sqlite3_finalize(w->ins_image_mount);
}

int scan_layers(struct scan *s)
{
    struct layer_walk w = { .s = s };
    int rc = prepare_all(&w);
    if (rc == 0)
        rc = scan_walk_ahead(s, LAYERDB "/sha256", &w.dirfd, &layer_plan, on_layer_entry, &w);
    if (rc == 0)
        rc = scan_walk_ahead(s, LAYERDB "/tmp", &w.dirfd, &leftover_plan, on_tmp_entry, &w);
    finalize_all(&w);
    return rc;
}

int scan_mounts(struct scan *s)
{
    struct layer_walk w = { .s = s };
    int rc = prepare_all(&w);
    if (rc == 0)
        rc = scan_walk_ahead(s, LAYERDB "/mounts", &w.dirfd, &mount_plan, on_mount_entry, &w);
    finalize_all(&w);
    return rc;
}
