/* buildkit.c — BuildKit's snapshots.db (see buildkit.h for what its buckets
 * mean). Owns opening the file safely and turning the bbolt walk into one
 * buildkit_snapshot per top-level bucket; all parsing is in bbolt.c. */
#include "buildkit.h"
#include "bbolt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The bucket being collected: malloc'd copies, freed after the callback. */
struct collector {
    buildkit_snapshot_fn fn;
    void *ctx;
    int open;                 /* a bucket has been started */
    int stopped;              /* fn returned non-zero */
    int nomem;
    char *key, *parent, *committed, *chainid, *size;
    buildkit_snapshot snap;
};

static int slice_is(const bbolt_slice *s, const char *name)
{
    size_t n = strlen(name);
    return s->len == n && memcmp(s->data, name, n) == 0;
}

/* A NUL-terminated copy, or NULL with *bad set when the bytes hold a NUL. */
static char *copy_string(struct collector *c, const bbolt_slice *s, unsigned bad_bit,
                         unsigned *invalid)
{
    if (s->len && memchr(s->data, '\0', s->len)) {
        *invalid |= bad_bit;
        return NULL;
    }
    char *p = malloc(s->len + 1);
    if (!p) {
        c->nomem = 1;
        return NULL;
    }
    if (s->len)
        memcpy(p, s->data, s->len);
    p[s->len] = '\0';
    return p;
}

static void reset_bucket(struct collector *c)
{
    free(c->key);
    free(c->parent);
    free(c->committed);
    free(c->chainid);
    free(c->size);
    c->key = c->parent = c->committed = c->chainid = c->size = NULL;
    memset(&c->snap, 0, sizeof c->snap);
    c->open = 0;
}

/* Hands the finished bucket to the caller. */
static int flush_bucket(struct collector *c)
{
    int rc = 0;
    if (c->open && !c->nomem) {
        c->snap.key = c->key;
        c->snap.parent = c->parent;
        c->snap.committed = c->committed;
        c->snap.chainid = c->chainid;
        c->snap.size = c->size;
        rc = c->fn(c->ctx, &c->snap);
        if (rc != 0)
            c->stopped = 1;
    }
    reset_bucket(c);
    return rc;
}

/* Stores one key of the current bucket; a repeated field cannot happen
 * (bbolt keys are unique and checked sorted) but is handled anyway. */
static void store_field(struct collector *c, char **slot, const bbolt_slice *val,
                        unsigned bad_bit)
{
    free(*slot);
    *slot = copy_string(c, val, bad_bit, &c->snap.invalid);
}

static void collect_field(struct collector *c, const bbolt_slice *key,
                          const bbolt_slice *val, int is_bucket)
{
    if (is_bucket)
        c->snap.other_keys++;
    else if (slice_is(key, "parent"))
        store_field(c, &c->parent, val, BUILDKIT_BAD_PARENT);
    else if (slice_is(key, "committed"))
        store_field(c, &c->committed, val, BUILDKIT_BAD_COMMITTED);
    else if (slice_is(key, "chainid"))
        store_field(c, &c->chainid, val, BUILDKIT_BAD_CHAINID);
    else if (slice_is(key, "size"))
        store_field(c, &c->size, val, BUILDKIT_BAD_SIZE);
    else if (slice_is(key, "iscommitted"))
        c->snap.is_committed = 1;
    else
        c->snap.other_keys++;
}

static int visit(void *ctx, int depth, const bbolt_slice *path, const bbolt_slice *key,
                 const bbolt_slice *val, int is_bucket)
{
    struct collector *c = ctx;
    (void)path;
    if (depth == 0) {
        if (flush_bucket(c) != 0)
            return 1;
        if (!is_bucket)
            return 0;           /* a plain top-level key: not a snapshot */
        c->open = 1;
        c->key = copy_string(c, key, BUILDKIT_BAD_KEY, &c->snap.invalid);
    } else if (depth == 1 && c->open) {
        collect_field(c, key, val, is_bucket);
    }
    return c->nomem ? 1 : 0;
}

static int report(char *err, size_t errlen, const char *what, const char *detail)
{
    if (err && errlen)
        snprintf(err, errlen, "%s: %s", what, detail);
    return -1;
}

int buildkit_read_snapshots_fd(int fd, size_t max_bytes, buildkit_snapshot_fn fn,
                               void *ctx, char *err, size_t errlen)
{
    char why[512];
    bbolt *db;
    if (bbolt_open_fd(fd, max_bytes, &db, why, sizeof why) != BBOLT_OK)
        return report(err, errlen, BUILDKIT_SNAPSHOTS_DB, why);
    if (bbolt_check(db, why, sizeof why) != BBOLT_OK) {
        bbolt_close(db);
        return report(err, errlen, BUILDKIT_SNAPSHOTS_DB, why);
    }

    struct collector c;
    memset(&c, 0, sizeof c);
    c.fn = fn;
    c.ctx = ctx;
    int rc = bbolt_walk(db, visit, &c, why, sizeof why);
    if (rc == BBOLT_OK)
        flush_bucket(&c);
    reset_bucket(&c);
    bbolt_close(db);
    if (c.nomem)
        return report(err, errlen, BUILDKIT_SNAPSHOTS_DB, "out of memory");
    if (c.stopped)
        return report(err, errlen, BUILDKIT_SNAPSHOTS_DB, "stopped by callback");
    if (rc != BBOLT_OK)
        return report(err, errlen, BUILDKIT_SNAPSHOTS_DB, why);
    return 0;
}

int buildkit_read_snapshots(int buildkit_dirfd, buildkit_snapshot_fn fn, void *ctx,
                            char *err, size_t errlen)
{
    int fd = openat(buildkit_dirfd, BUILDKIT_SNAPSHOTS_DB,
                    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT)
            return 1;
        if (errno == ELOOP)
            return report(err, errlen, BUILDKIT_SNAPSHOTS_DB,
                          "is a symlink, not followed");
        return report(err, errlen, BUILDKIT_SNAPSHOTS_DB, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return report(err, errlen, BUILDKIT_SNAPSHOTS_DB, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return report(err, errlen, BUILDKIT_SNAPSHOTS_DB, "not a regular file");
    }
    int rc = buildkit_read_snapshots_fd(fd, 0, fn, ctx, err, errlen);
    close(fd);
    return rc;
}
