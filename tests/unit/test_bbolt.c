/* test_bbolt.c — bbolt reader and BuildKit snapshots.db reader.
 *
 * Real files: fixtures/bbolt/{small,many,pruned}.snapshots.db, captured from a
 * real dockerd together with that store's overlay2/ listing and layerdb
 * cache-ids; the reader's output is checked against those listings.
 * Hostile files: derived here from the real ones (truncated, metas broken,
 * pages and elements rewritten), or built from scratch (tall trees, deep and
 * overlapping inline buckets). Every case must give its named error. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bbolt.h"
#include "buildkit.h"

#define PS 4096u

/* ---- files and bytes ---------------------------------------------------- */

struct blob {
    unsigned char *p;
    size_t len;
};

static const char *fixture_dirs[] = {
    "fixtures/bbolt", "../fixtures/bbolt", "../../fixtures/bbolt", NULL
};

static void fixture_path(const char *file, char *out, size_t outlen)
{
    const char *env = getenv("OVL2FSCK_FIXTURES");
    if (env) {
        snprintf(out, outlen, "%s/bbolt/%s", env, file);
        return;
    }
    for (int i = 0; fixture_dirs[i]; i++) {
        snprintf(out, outlen, "%s/%s", fixture_dirs[i], file);
        if (access(out, R_OK) == 0)
            return;
    }
    /* run from elsewhere: the binary lives in <repo>/build/tests/ */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            int w = snprintf(out, outlen, "%s/../../fixtures/bbolt/%s", exe, file);
            if (w > 0 && (size_t)w < outlen && access(out, R_OK) == 0)
                return;
        }
    }
    fail_msg("fixture %s not found (run from the repo root)", file);
}

static struct blob read_whole(const char *path)
{
    struct blob b = { NULL, 0 };
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t cap = 1 << 16;
    b.p = malloc(cap);
    assert_non_null(b.p);
    size_t n;
    while ((n = fread(b.p + b.len, 1, cap - b.len, f)) > 0) {
        b.len += n;
        if (b.len == cap) {
            cap *= 2;
            b.p = realloc(b.p, cap);
            assert_non_null(b.p);
        }
    }
    fclose(f);
    return b;
}

static struct blob load_fixture(const char *file)
{
    char path[512];
    fixture_path(file, path, sizeof path);
    return read_whole(path);
}

static struct blob dup_blob(const struct blob *b, size_t len)
{
    struct blob c;
    c.len = len;
    c.p = malloc(len ? len : 1);
    assert_non_null(c.p);
    memcpy(c.p, b->p, len < b->len ? len : b->len);
    if (len > b->len)
        memset(c.p + b->len, 0, len - b->len);
    return c;
}

static uint16_t rd16(const unsigned char *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}
static uint64_t rd64(const unsigned char *p)
{
    return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32);
}
static void wr16(unsigned char *p, uint16_t v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); }
static void wr32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static void wr64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* Meta fields: page at meta_off, meta body 16 bytes in. */
static void fix_meta_checksum(unsigned char *page)
{
    wr64(page + 16 + 56, fnv1a(page + 16, 56));
}

/* ---- opening and walking ------------------------------------------------ */

static int open_blob(const struct blob *b, bbolt **db, char *err, size_t errlen)
{
    return bbolt_open_mem(b->p, b->len, db, err, errlen);
}

/* The same bytes opened by fd (a memfd): read page by page as walked. */
static int open_blob_fd(const struct blob *b, bbolt **db, char *err, size_t errlen)
{
    int fd = memfd_create("bbolt-test", MFD_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, b->p, b->len), (ssize_t)b->len);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    int rc = bbolt_open_fd(fd, 0, db, err, errlen);
    close(fd);   /* the handle keeps its own */
    return rc;
}

struct counts {
    unsigned top_buckets;
    unsigned top_plain;
    unsigned inner;
    int max_depth;
};

static int count_visit(void *ctx, int depth, const bbolt_slice *path, const bbolt_slice *key,
                       const bbolt_slice *val, int is_bucket)
{
    struct counts *c = ctx;
    (void)path;
    (void)key;
    (void)val;
    if (depth == 0 && is_bucket)
        c->top_buckets++;
    else if (depth == 0)
        c->top_plain++;
    else
        c->inner++;
    if (depth > c->max_depth)
        c->max_depth = depth;
    return 0;
}

/* Opens (must succeed) and walks, from memory and by fd: both must give
 * the same visits, code and message; returns the walk's code. */
static int walk_blob(const struct blob *b, struct counts *c)
{
    bbolt *db;
    char err[512], fderr[512];
    struct counts fdc;
    memset(c, 0, sizeof *c);
    memset(&fdc, 0, sizeof fdc);
    int rc = open_blob(b, &db, err, sizeof err);
    assert_int_equal(rc, BBOLT_OK);
    int check = bbolt_check(db, err, sizeof err);
    rc = bbolt_walk(db, count_visit, c, err, sizeof err);
    assert_int_equal(check, rc);
    if (rc != BBOLT_OK)
        assert_non_null(strstr(err, bbolt_strerror(rc)));
    bbolt_close(db);
    assert_int_equal(open_blob_fd(b, &db, fderr, sizeof fderr), BBOLT_OK);
    assert_int_equal(bbolt_walk(db, count_visit, &fdc, fderr, sizeof fderr), rc);
    assert_memory_equal(&fdc, c, sizeof fdc);
    if (rc != BBOLT_OK)
        assert_string_equal(fderr, err);
    bbolt_close(db);
    return rc;
}

static void expect_open_error(const struct blob *b, int code)
{
    bbolt *db = (bbolt *)1;
    char err[512] = "", fderr[512] = "";
    int rc = open_blob(b, &db, err, sizeof err);
    if (rc != code)
        fail_msg("expected %s, got %d (%s)", bbolt_strerror(code), rc, err);
    assert_null(db);
    assert_non_null(strstr(err, bbolt_strerror(code)));
    db = (bbolt *)1;
    assert_int_equal(open_blob_fd(b, &db, fderr, sizeof fderr), code);
    assert_null(db);
    assert_string_equal(fderr, err);
}

static void expect_walk_error(const struct blob *b, int code)
{
    struct counts c;
    int rc = walk_blob(b, &c);
    if (rc != code)
        fail_msg("expected %s, got %s", bbolt_strerror(code), bbolt_strerror(rc));
}

/* ---- snapshot lists ----------------------------------------------------- */

struct snap {
    char *key, *parent, *committed, *chainid, *size;
    int is_committed;
    unsigned invalid, other_keys;
};

struct snap_list {
    struct snap *v;
    size_t n, cap;
    size_t stop_after;   /* 0 = never stop */
};

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int collect_snap(void *ctx, const buildkit_snapshot *s)
{
    struct snap_list *l = ctx;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        assert_non_null(l->v);
    }
    struct snap *d = &l->v[l->n++];
    d->key = dup_or_null(s->key);
    d->parent = dup_or_null(s->parent);
    d->committed = dup_or_null(s->committed);
    d->chainid = dup_or_null(s->chainid);
    d->size = dup_or_null(s->size);
    d->is_committed = s->is_committed;
    d->invalid = s->invalid;
    d->other_keys = s->other_keys;
    return l->stop_after && l->n >= l->stop_after;
}

static void free_snaps(struct snap_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].key);
        free(l->v[i].parent);
        free(l->v[i].committed);
        free(l->v[i].chainid);
        free(l->v[i].size);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Each test gets a fresh directory standing for <root>/buildkit. */
struct tmpdir {
    char path[64];
    int fd;
};

static int setup_tmpdir(void **state)
{
    struct tmpdir *t = calloc(1, sizeof *t);
    assert_non_null(t);
    snprintf(t->path, sizeof t->path, "/tmp/test_bbolt.XXXXXX");
    assert_non_null(mkdtemp(t->path));
    t->fd = open(t->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(t->fd >= 0);
    *state = t;
    return 0;
}

static int teardown_tmpdir(void **state)
{
    struct tmpdir *t = *state;
    DIR *d = opendir(t->path);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (unlinkat(t->fd, e->d_name, 0) != 0)
            unlinkat(t->fd, e->d_name, AT_REMOVEDIR);
    }
    if (d)
        closedir(d);
    close(t->fd);
    rmdir(t->path);
    free(t);
    return 0;
}

static void write_snapshots_db(struct tmpdir *t, const struct blob *b)
{
    int fd = openat(t->fd, "snapshots.db", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, b->p, b->len), (ssize_t)b->len);
    close(fd);
}

static int read_snaps_in(struct tmpdir *t, struct snap_list *l, char *err, size_t errlen)
{
    return buildkit_read_snapshots(t->fd, collect_snap, l, err, errlen);
}

static int read_snaps_blob(struct tmpdir *t, const struct blob *b, struct snap_list *l,
                           char *err, size_t errlen)
{
    write_snapshots_db(t, b);
    return read_snaps_in(t, l, err, errlen);
}

/* ---- what the real store said (fixtures/bbolt/<name>.*.txt) -------------- */

struct store {
    char **dirs;          /* overlay2/ entries */
    size_t ndirs;
    char **chains;        /* layerdb chain ids (hex) */
    char **caches;        /* their cache-id */
    size_t nlayers;
};

static size_t split_lines(struct blob *b, char ***out)
{
    size_t n = 0, cap = 16;
    char **v = malloc(cap * sizeof *v);
    assert_non_null(v);
    b->p = realloc(b->p, b->len + 1);
    b->p[b->len] = '\0';
    char *save = NULL;
    for (char *line = strtok_r((char *)b->p, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (n == cap) {
            cap *= 2;
            v = realloc(v, cap * sizeof *v);
            assert_non_null(v);
        }
        v[n++] = line;
    }
    *out = v;
    return n;
}

struct store_files {
    struct blob dirs, layers;
};

static void load_store(const char *name, struct store *s, struct store_files *f)
{
    char file[128];
    snprintf(file, sizeof file, "%s.overlay2.txt", name);
    f->dirs = load_fixture(file);
    snprintf(file, sizeof file, "%s.layerdb.txt", name);
    f->layers = load_fixture(file);
    s->ndirs = split_lines(&f->dirs, &s->dirs);
    char **lines;
    s->nlayers = split_lines(&f->layers, &lines);
    s->chains = calloc(s->nlayers + 1, sizeof *s->chains);
    s->caches = calloc(s->nlayers + 1, sizeof *s->caches);
    for (size_t i = 0; i < s->nlayers; i++) {
        char *save = NULL;
        s->chains[i] = strtok_r(lines[i], " ", &save);
        s->caches[i] = strtok_r(NULL, " ", &save);
        assert_non_null(s->caches[i]);
    }
    free(lines);
}

static void free_store(struct store *s, struct store_files *f)
{
    free(s->dirs);
    free(s->chains);
    free(s->caches);
    free(f->dirs.p);
    free(f->layers.p);
}

static int store_has_dir(const struct store *s, const char *name)
{
    for (size_t i = 0; i < s->ndirs; i++)
        if (strcmp(s->dirs[i], name) == 0)
            return 1;
    return 0;
}

/* cache-id of "sha256:<chain>", or NULL when layerdb has no such chain. */
static const char *store_cache_of(const struct store *s, const char *chainid)
{
    if (strncmp(chainid, "sha256:", 7) != 0)
        return NULL;
    for (size_t i = 0; i < s->nlayers; i++)
        if (strcmp(s->chains[i], chainid + 7) == 0)
            return s->caches[i];
    return NULL;
}

static int store_is_cache_id(const struct store *s, const char *dir)
{
    for (size_t i = 0; i < s->nlayers; i++)
        if (strcmp(s->caches[i], dir) == 0)
            return 1;
    return 0;
}

static int is_buildkit_id(const char *s)
{
    if (strlen(s) != 25)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z')))
            return 0;
    return 1;
}

static const struct snap *find_snap(const struct snap_list *l, const char *key)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].key && strcmp(l->v[i].key, key) == 0)
            return &l->v[i];
    return NULL;
}

struct kinds {
    unsigned active, active_committed, context, committed, lease, layer_refs, stale_refs;
};

/* Classifies every bucket and checks it against the store listing:
 * - active (has "parent"): key is an overlay2 dir; parent is "", another
 *   bucket, or a chain layerdb knows;
 * - committed name: key is NOT a dir, "committed" is a dir, and layerdb's
 *   cache-id for its "chainid" is exactly that dir;
 * - lease (chainid only): the chain is in layerdb;
 * - "sha256:<chain>": empty bucket; counts those whose layer is gone. */
static void cross_check(const struct snap_list *l, const struct store *s, struct kinds *k)
{
    memset(k, 0, sizeof *k);
    for (size_t i = 0; i < l->n; i++) {
        const struct snap *sn = &l->v[i];
        assert_non_null(sn->key);
        assert_int_equal(sn->invalid, 0);
        assert_int_equal(sn->other_keys, 0);
        assert_null(sn->size);
        if (strncmp(sn->key, "sha256:", 7) == 0) {
            assert_int_equal(strlen(sn->key), 71);
            assert_null(sn->parent);
            assert_null(sn->committed);
            assert_null(sn->chainid);
            k->layer_refs++;
            if (!store_cache_of(s, sn->key))
                k->stale_refs++;
            continue;
        }
        assert_true(is_buildkit_id(sn->key));
        if (sn->parent) {
            assert_true(store_has_dir(s, sn->key));
            assert_null(sn->committed);
            assert_null(sn->chainid);
            if (sn->parent[0] == '\0') {
                k->context++;
                assert_false(sn->is_committed);
            } else if (strncmp(sn->parent, "sha256:", 7) == 0) {
                assert_non_null(store_cache_of(s, sn->parent));
            } else {
                const struct snap *p = find_snap(l, sn->parent);
                assert_non_null(p);
                assert_non_null(p->committed);     /* parents are committed names */
            }
            k->active++;
            if (sn->is_committed)
                k->active_committed++;
        } else if (sn->committed) {
            assert_false(store_has_dir(s, sn->key));
            assert_true(store_has_dir(s, sn->committed));
            assert_non_null(sn->chainid);
            const char *cache = store_cache_of(s, sn->chainid);
            assert_non_null(cache);
            assert_string_equal(cache, sn->committed);
            /* and the active bucket of that dir says it was committed */
            const struct snap *a = find_snap(l, sn->committed);
            assert_non_null(a);
            assert_true(a->is_committed);
            k->committed++;
        } else {
            assert_non_null(sn->chainid);
            assert_false(store_has_dir(s, sn->key));
            assert_non_null(store_cache_of(s, sn->chainid));
            k->lease++;
        }
    }
}

static void read_fixture_snaps(struct tmpdir *t, const char *name, struct snap_list *l)
{
    char file[128], err[512];
    snprintf(file, sizeof file, "%s.snapshots.db", name);
    struct blob b = load_fixture(file);
    int rc = read_snaps_blob(t, &b, l, err, sizeof err);
    if (rc != 0)
        fail_msg("%s: %s", name, err);
    free(b.p);
}

/* ---- the real files ----------------------------------------------------- */

struct expected_snap {
    const char *key, *parent, *committed, *chainid;
    int is_committed;
};

/* fixtures/bbolt/small.snapshots.db, bucket by bucket. Checked when captured:
 * every key with a parent and every committed value is a dir in
 * small.overlay2.txt, and each chainid's cache-id is the committed dir. */
static const struct expected_snap small_expected[] = {
    { "2ugayyrtexoee4yiwwxz10pr0", "ca1mutadli6mqhxj07qav72v4", NULL, NULL, 1 },
    { "8q1amfse8dip8hz2b431ihstg", NULL, "p5nt3tjv38w4vm7jk0e6rkgfx", "sha256:174f115318527d15f98e404afecefd82b25bdde7b3f89b1555dc4406360aa786", 0 },
    { "ca1mutadli6mqhxj07qav72v4", NULL, "m8gkfwjo2e219bxtl1a11lsm8", "sha256:5f6949a7f738500026d595d9f9f3813f2a6a051cbe96fe13d42a8a6333ae6ec0", 0 },
    { "cdste2qdbt08k23g9oj8b7s4s", "", NULL, NULL, 0 },
    { "dpiycl7nwxihnt94g8tofa2fj", NULL, NULL, "sha256:f123298f9433826c31b3b560109f97d803060ea8cab698a4ad3fd17432d2c1c7", 0 },
    { "eywxcc6dgrhlha9aqbe15u0et", "quvzrn8ngj25g0se0oh1nuck2", NULL, NULL, 1 },
    { "fpeknw66srbc8jle9pkleun6m", NULL, "ttvl1ykt12704aecvayngyiz8", "sha256:36eb77b9a5ac3ab34d4efd384a5e4bebab8b9783afa46d9e51a77a36fcf1ea9b", 0 },
    { "k5ui06f1gicbsrf1azx52pez7", "", NULL, NULL, 0 },
    { "kbs41p66vsvfaopq4hr7hs7gn", "", NULL, NULL, 0 },
    { "kz84vtrxf4u86yyk0vrchfpk2", NULL, "eywxcc6dgrhlha9aqbe15u0et", "sha256:25c6ce5437e49c5ba06581c5f84f908d7107db33b1fe7e5f2dec4a363f3d2758", 0 },
    { "lm6ap8kq354gid0l4rfjf19vh", NULL, "plz2aua3gazl2q7fs579xr5w8", "sha256:a8f4e5f2fbc64aa0ddcbdfe5e8d2d9175d73e971c6436ad54eb0686ab7f06351", 0 },
    { "m8gkfwjo2e219bxtl1a11lsm8", "sha256:f123298f9433826c31b3b560109f97d803060ea8cab698a4ad3fd17432d2c1c7", NULL, NULL, 1 },
    { "nywry41d4x88ha994fyn2l3hj", "fpeknw66srbc8jle9pkleun6m", NULL, NULL, 1 },
    { "p2ygt66ehgfkhjyczy8qqw3gz", NULL, "p6o4aj7twybc2ghfbrc1wxmvd", "sha256:6972f2b261fcf4e728ad9d7ff926c53e09483fc9dc054c30e4e1bce3af3fc2f2", 0 },
    { "p5nt3tjv38w4vm7jk0e6rkgfx", "xt3jppbdbz1rei5zad43evpr1", NULL, NULL, 1 },
    { "p6o4aj7twybc2ghfbrc1wxmvd", "sha256:f123298f9433826c31b3b560109f97d803060ea8cab698a4ad3fd17432d2c1c7", NULL, NULL, 1 },
    { "plz2aua3gazl2q7fs579xr5w8", "tl8krbzprr323yqakxotovis5", NULL, NULL, 1 },
    { "quvzrn8ngj25g0se0oh1nuck2", NULL, "zlmfx6gw9fn1qgpvwfc6o6edj", "sha256:20c8204ccd5f16490a6a30b8849dbb54089974d16f3a12e92429d94461fb00b3", 0 },
    { "rw7oeyjkuwpl8te47ilika29k", "", NULL, NULL, 0 },
    { "sha256:f123298f9433826c31b3b560109f97d803060ea8cab698a4ad3fd17432d2c1c7", NULL, NULL, NULL, 0 },
    { "tl8krbzprr323yqakxotovis5", NULL, "2ugayyrtexoee4yiwwxz10pr0", "sha256:fe29dc3642bd550f559b41c63c88aa547eeea31638b6e6c850d37a8b3d5bc718", 0 },
    { "ttvl1ykt12704aecvayngyiz8", "sha256:f123298f9433826c31b3b560109f97d803060ea8cab698a4ad3fd17432d2c1c7", NULL, NULL, 1 },
    { "udq9geopvca8b8q2lnsz0sfua", "", NULL, NULL, 0 },
    { "xt3jppbdbz1rei5zad43evpr1", NULL, "nywry41d4x88ha994fyn2l3hj", "sha256:d3f9a2446ad3e2200ca0ff285e84c51ff36002b306255b4dbb31fd3f0d0b6329", 0 },
    { "yuo4jesa50dyayj3z7h41mo46", "", NULL, NULL, 0 },
    { "zlmfx6gw9fn1qgpvwfc6o6edj", "p2ygt66ehgfkhjyczy8qqw3gz", NULL, NULL, 1 },
};

static void assert_opt_string(const char *got, const char *want, const char *key,
                              const char *field)
{
    if (!want && !got)
        return;
    if (!want || !got || strcmp(want, got) != 0)
        fail_msg("%s %s: got %s, want %s", key, field, got ? got : "(absent)",
                 want ? want : "(absent)");
}

static void test_small_exact_content(void **state)
{
    struct snap_list l = { 0 };
    read_fixture_snaps(*state, "small", &l);
    size_t n = sizeof small_expected / sizeof small_expected[0];
    assert_int_equal(l.n, n);
    for (size_t i = 0; i < n; i++) {
        const struct expected_snap *e = &small_expected[i];
        const struct snap *g = &l.v[i];
        assert_string_equal(g->key, e->key);
        assert_opt_string(g->parent, e->parent, e->key, "parent");
        assert_opt_string(g->committed, e->committed, e->key, "committed");
        assert_opt_string(g->chainid, e->chainid, e->key, "chainid");
        assert_int_equal(g->is_committed, e->is_committed);
        assert_null(g->size);
        assert_int_equal(g->invalid, 0);
        assert_int_equal(g->other_keys, 0);
    }
    free_snaps(&l);
}

static void test_small_meta_and_tree(void **state)
{
    (void)state;
    struct blob b = load_fixture("small.snapshots.db");
    bbolt *db;
    char err[512];
    assert_int_equal(open_blob(&b, &db, err, sizeof err), BBOLT_OK);
    bbolt_info in;
    bbolt_get_info(db, &in);
    assert_int_equal(in.page_size, 4096);
    assert_int_equal(in.txid, 45);
    assert_int_equal(in.high_water, 9);
    assert_int_equal(in.root, 6);
    assert_int_equal(in.meta_index, 1);
    assert_int_equal(in.other_meta_ok, 1);
    bbolt_close(db);
    /* the root is a branch page with two leaves: branches are exercised */
    assert_int_equal(rd16(b.p + 6 * PS + 8), 0x01);
    assert_int_equal(rd16(b.p + 6 * PS + 10), 2);
    struct counts c;
    assert_int_equal(walk_blob(&b, &c), BBOLT_OK);
    assert_int_equal(c.top_buckets, 26);
    assert_int_equal(c.top_plain, 0);
    assert_int_equal(c.inner, 43);
    assert_int_equal(c.max_depth, 1);
    free(b.p);
}

static void check_fixture_against_store(struct tmpdir *t, const char *name,
                                        const struct kinds *want, size_t total)
{
    struct snap_list l = { 0 };
    struct store s;
    struct store_files f;
    struct kinds k;
    read_fixture_snaps(t, name, &l);
    load_store(name, &s, &f);
    assert_int_equal(l.n, total);
    cross_check(&l, &s, &k);
    assert_int_equal(k.active, want->active);
    assert_int_equal(k.active_committed, want->active_committed);
    assert_int_equal(k.context, want->context);
    assert_int_equal(k.committed, want->committed);
    assert_int_equal(k.lease, want->lease);
    assert_int_equal(k.layer_refs, want->layer_refs);
    assert_int_equal(k.stale_refs, want->stale_refs);
    /* every BuildKit-made dir is held by an active bucket or, once those are
     * pruned, by a layerdb cache-id */
    for (size_t i = 0; i < s.ndirs; i++) {
        if (!is_buildkit_id(s.dirs[i]))
            continue;
        const struct snap *a = find_snap(&l, s.dirs[i]);
        if (!(a && a->parent) && !store_is_cache_id(&s, s.dirs[i]))
            fail_msg("%s: dir %s referenced by nothing", name, s.dirs[i]);
    }
    free_store(&s, &f);
    free_snaps(&l);
}

static void test_small_matches_store(void **state)
{
    struct kinds want = { 15, 9, 6, 9, 1, 1, 0 };
    check_fixture_against_store(*state, "small", &want, 26);
}

static void test_many_matches_store(void **state)
{
    struct kinds want = { 175, 89, 86, 89, 1, 10, 0 };
    check_fixture_against_store(*state, "many", &want, 275);
    struct blob b = load_fixture("many.snapshots.db");
    struct counts c;
    assert_int_equal(walk_blob(&b, &c), BBOLT_OK);
    assert_int_equal(c.top_buckets, 275);
    assert_int_equal(c.inner, 443);
    bbolt *db;
    char err[256];
    bbolt_info in;
    assert_int_equal(open_blob(&b, &db, err, sizeof err), BBOLT_OK);
    bbolt_get_info(db, &in);
    assert_int_equal(rd16(b.p + in.root * PS + 8), 0x01);   /* branch */
    assert_int_equal(rd16(b.p + in.root * PS + 10), 15);    /* 15 leaves */
    bbolt_close(db);
    free(b.p);
}

/* After "docker builder prune -af" only empty sha256:<chain> buckets and a
 * lease remain; 10 of them name layers "docker rmi" had deleted. */
static void test_pruned_matches_store(void **state)
{
    struct kinds want = { 0, 0, 0, 0, 1, 89, 10 };
    check_fixture_against_store(*state, "pruned", &want, 90);
}

/* ---- hostile: whole-file and meta damage ---------------------------------- */

static void test_empty_and_zero_files(void **state)
{
    (void)state;
    struct blob empty = { NULL, 0 };
    expect_open_error(&empty, BBOLT_ERR_TRUNCATED);
    struct blob zeros = { calloc(1, 65536), 65536 };
    expect_open_error(&zeros, BBOLT_ERR_BAD_MAGIC);
    zeros.len = 20;
    expect_open_error(&zeros, BBOLT_ERR_TRUNCATED);
    free(zeros.p);
}

static void test_truncated_at_many_lengths(void **state)
{
    (void)state;
    struct blob b = load_fixture("small.snapshots.db");
    /* 9 pages (36864 bytes) are in use; anything shorter is truncated */
    static const size_t cuts[] = { 1, 15, 16, 79, 80, 100, 4095, 4096, 4096 + 79,
                                   4096 + 80, 8192, 6 * 4096 + 17, 9 * 4096 - 1 };
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        struct blob t = dup_blob(&b, cuts[i]);
        expect_open_error(&t, BBOLT_ERR_TRUNCATED);
        free(t.p);
    }
    /* the unused tail may go */
    struct blob t = dup_blob(&b, 9 * 4096);
    struct counts c;
    assert_int_equal(walk_blob(&t, &c), BBOLT_OK);
    assert_int_equal(c.top_buckets, 26);
    free(t.p);
    free(b.p);
}

static void test_both_metas_bad(void **state)
{
    (void)state;
    struct blob b = load_fixture("small.snapshots.db");

    struct blob t = dup_blob(&b, b.len);          /* txid bytes flipped */
    t.p[16 + 48] ^= 0x55;
    t.p[PS + 16 + 48] ^= 0x55;
    expect_open_error(&t, BBOLT_ERR_BAD_CHECKSUM);
    free(t.p);

    t = dup_blob(&b, b.len);                      /* magic */
    wr32(t.p + 16, 0);
    wr32(t.p + PS + 16, 0xdeadbeef);
    expect_open_error(&t, BBOLT_ERR_BAD_MAGIC);
    free(t.p);

    t = dup_blob(&b, b.len);                      /* version */
    wr32(t.p + 16 + 4, 1);
    wr32(t.p + PS + 16 + 4, 3);
    expect_open_error(&t, BBOLT_ERR_BAD_VERSION);
    free(t.p);

    t = dup_blob(&b, b.len);   /* meta 0 wiped, meta 1 bad sum: the sum is named */
    memset(t.p, 0, PS);
    t.p[PS + 16 + 20] ^= 1;
    expect_open_error(&t, BBOLT_ERR_BAD_CHECKSUM);
    free(t.p);

    t = dup_blob(&b, b.len);   /* valid sums over absurd page sizes */
    wr32(t.p + 16 + 8, 1000);
    fix_meta_checksum(t.p);
    wr32(t.p + PS + 16 + 8, 1u << 30);
    fix_meta_checksum(t.p + PS);
    expect_open_error(&t, BBOLT_ERR_BAD_META);
    free(t.p);

    t = dup_blob(&b, b.len);   /* valid sums, high-water mark past the file */
    wr64(t.p + 16 + 40, 1ull << 40);
    fix_meta_checksum(t.p);
    wr64(t.p + PS + 16 + 40, UINT64_MAX);
    fix_meta_checksum(t.p + PS);
    expect_open_error(&t, BBOLT_ERR_TRUNCATED);
    free(t.p);
    free(b.p);
}

static void test_one_meta_bad_falls_back(void **state)
{
    (void)state;
    struct blob b = load_fixture("small.snapshots.db");
    bbolt *db;
    char err[256];
    bbolt_info in;
    struct counts c;

    struct blob t = dup_blob(&b, b.len);   /* newest (meta 1, txid 45) broken */
    t.p[PS + 16 + 30] ^= 0xff;
    assert_int_equal(open_blob(&t, &db, err, sizeof err), BBOLT_OK);
    bbolt_get_info(db, &in);
    assert_int_equal(in.meta_index, 0);
    assert_int_equal(in.txid, 44);
    assert_int_equal(in.other_meta_ok, 0);
    bbolt_close(db);
    assert_int_equal(walk_blob(&t, &c), BBOLT_OK);   /* txid 44's tree is intact */
    assert_int_equal(c.top_buckets, 26);
    free(t.p);

    t = dup_blob(&b, b.len);               /* older one wiped: newest still used */
    memset(t.p, 0, PS);
    assert_int_equal(open_blob(&t, &db, err, sizeof err), BBOLT_OK);
    bbolt_get_info(db, &in);
    assert_int_equal(in.meta_index, 1);
    assert_int_equal(in.txid, 45);
    assert_int_equal(in.other_meta_ok, 0);
    bbolt_close(db);
    free(t.p);
    free(b.p);
}

/* ---- hostile: pages and elements ---------------------------------------- */

/* Offsets into small.snapshots.db: root branch page 6, its first child leaf,
 * that leaf's first element (an inline bucket) and the inline page. */
struct small_layout {
    size_t root, leaf, leaf_elem0, value, inline_page;
    uint32_t vsize;
    uint64_t leaf_id;
};

static struct small_layout small_layout(const struct blob *b)
{
    struct small_layout s;
    s.root = 6 * PS;
    s.leaf_id = rd64(b->p + s.root + 16 + 8);
    s.leaf = s.leaf_id * PS;
    s.leaf_elem0 = s.leaf + 16;
    assert_int_equal(rd16(b->p + s.leaf + 8), 0x02);
    assert_int_equal(rd32(b->p + s.leaf_elem0), 0x01);        /* a bucket */
    uint32_t pos = rd32(b->p + s.leaf_elem0 + 4);
    uint32_t ksize = rd32(b->p + s.leaf_elem0 + 8);
    s.vsize = rd32(b->p + s.leaf_elem0 + 12);
    s.value = s.leaf_elem0 + pos + ksize;
    assert_int_equal(rd64(b->p + s.value), 0);                /* inline */
    s.inline_page = s.value + 16;
    assert_int_equal(rd16(b->p + s.inline_page + 8), 0x02);
    return s;
}

static void test_branch_loops_and_ranges(void **state)
{
    (void)state;
    struct blob b = load_fixture("small.snapshots.db");
    struct small_layout s = small_layout(&b);
    struct blob t;

    t = dup_blob(&b, b.len);                  /* branch points at itself */
    wr64(t.p + s.root + 16 + 8, 6);
    expect_walk_error(&t, BBOLT_ERR_PAGE_LOOP);
    free(t.p);

    t = dup_blob(&b, b.len);                  /* both elements share a leaf */
    wr64(t.p + s.root + 32 + 8, s.leaf_id);
    expect_walk_error(&t, BBOLT_ERR_PAGE_LOOP);
    free(t.p);

    static const uint64_t bad_ids[] = { 0, 1, 9, 16, 1000, UINT64_MAX };
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        t = dup_blob(&b, b.len);
        wr64(t.p + s.root + 16 + 8, bad_ids[i]);
        expect_walk_error(&t, BBOLT_ERR_PAGE_RANGE);
        free(t.p);
    }

    t = dup_blob(&b, b.len);                  /* root id in the meta */
    wr64(t.p + PS + 16 + 16, 77);
    fix_meta_checksum(t.p + PS);
    expect_walk_error(&t, BBOLT_ERR_PAGE_RANGE);
    free(t.p);

    t = dup_blob(&b, b.len);                  /* overflow past the high-water mark */
    wr32(t.p + s.leaf + 12, 0xffffffffu);
    expect_walk_error(&t, BBOLT_ERR_PAGE_RANGE);
    free(t.p);

    t = dup_blob(&b, b.len);                  /* header id disagrees */
    wr64(t.p + s.leaf, 3);
    expect_walk_error(&t, BBOLT_ERR_CORRUPT_PAGE);
    free(t.p);

    t = dup_blob(&b, b.len);                  /* root flags: freelist */
    wr16(t.p + s.root + 8, 0x10);
    expect_walk_error(&t, BBOLT_ERR_CORRUPT_PAGE);
    free(t.p);

    t = dup_blob(&b, b.len);                  /* branch with no elements */
    wr16(t.p + s.root + 10, 0);
    expect_walk_error(&t, BBOLT_ERR_CORRUPT_PAGE);
    free(t.p);

    t = dup_blob(&b, b.len);                  /* branch count larger than the page */
    wr16(t.p + s.root + 10, 0xffff);
    expect_walk_error(&t, BBOLT_ERR_CORRUPT_PAGE);
    free(t.p);

    t = dup_blob(&b, b.len);                  /* branch key beyond the page */
    wr32(t.p + s.root + 16, PS);
    expect_walk_error(&t, BBOLT_ERR_CORRUPT_PAGE);
    free(t.p);
    free(b.p);
}

static void test_leaf_elements_out_of_page(void **state)
{
    (void)state;
    struct blob b = load_fixture("small.snapshots.db");
    struct small_layout s = small_layout(&b);
    struct blob t;
    static const size_t field[] = { 4, 8, 12 };           /* pos, ksize, vsize */
    static const uint32_t bad[] = { PS, 0x7fffffffu, 0xffffffffu };
    for (size_t f = 0; f < 3; f++) {
        for (size_t v = 0; v < 3; v++) {
            t = dup_blob(&b, b.len);
            wr32(t.p + s.leaf_elem0 + field[f], bad[v]);
            expect_walk_error(&t, BBOLT_ERR_CORRUPT_PAGE);
            free(t.p);
        }
    }

    t = dup_blob(&b, b.len);                  /* leaf count past the page */
    wr16(t.p + s.leaf + 10, 300);
    expect_walk_error(&t, BBOLT_ERR_CORRUPT_PAGE);
    free(t.p);

    t = dup_blob(&b, b.len);                  /* unknown element flags */
    wr32(t.p + s.leaf_elem0, 0x81);
    expect_walk_error(&t, BBOLT_ERR_CORRUPT_PAGE);
    free(t.p);

    t = dup_blob(&b, b.len);                  /* second key sorts before the first */
    {
        const unsigned char *e1 = t.p + s.leaf_elem0 + 16;
        unsigned char *k1 = (unsigned char *)e1 + rd32(e1 + 4);
        k1[0] = '0';
    }
    expect_walk_error(&t, BBOLT_ERR_CORRUPT_PAGE);
    free(t.p);

    t = dup_blob(&b, b.len);                  /* bucket value too short for a header */
    wr32(t.p + s.leaf_elem0 + 12, 8);
    expect_walk_error(&t, BBOLT_ERR_CORRUPT_PAGE);
    free(t.p);
    free(b.p);
}

static void test_inline_bucket_bogus(void **state)
{
    (void)state;
    struct blob b = load_fixture("small.snapshots.db");
    struct small_layout s = small_layout(&b);
    size_t ie0 = s.inline_page + 16;
    struct blob t;

    t = dup_blob(&b, b.len);                  /* count larger than the value */
    wr16(t.p + s.inline_page + 10, 40);
    expect_walk_error(&t, BBOLT_ERR_CORRUPT_PAGE);
    free(t.p);

    t = dup_blob(&b, b.len);                  /* not a leaf */
    wr16(t.p + s.inline_page + 8, 0x01);
    expect_walk_error(&t, BBOLT_ERR_CORRUPT_PAGE);
    free(t.p);

    /* element running past the value's end but still inside the real page:
     * must be caught against the value, not the page */
    t = dup_blob(&b, b.len);
    wr32(t.p + ie0 + 12, rd32(t.p + ie0 + 12) + s.vsize);
    assert_true(s.value + 2 * s.vsize < s.leaf + PS);
    expect_walk_error(&t, BBOLT_ERR_CORRUPT_PAGE);
    free(t.p);

    t = dup_blob(&b, b.len);                  /* value too short for a page header */
    wr32(t.p + s.leaf_elem0 + 12, 16 + 8);
    expect_walk_error(&t, BBOLT_ERR_CORRUPT_PAGE);
    free(t.p);

    t = dup_blob(&b, b.len);                  /* inline element made a bucket: its
                                                 value is too short */
    wr32(t.p + ie0, 0x01);
    expect_walk_error(&t, BBOLT_ERR_CORRUPT_PAGE);
    free(t.p);

    t = dup_blob(&b, b.len);                  /* root pointing at a visited page */
    wr64(t.p + s.value, 6);
    expect_walk_error(&t, BBOLT_ERR_PAGE_LOOP);
    free(t.p);

    t = dup_blob(&b, b.len);                  /* root pointing at the freelist */
    wr64(t.p + s.value, rd64(b.p + PS + 16 + 32));
    expect_walk_error(&t, BBOLT_ERR_CORRUPT_PAGE);
    free(t.p);

    t = dup_blob(&b, b.len);                  /* root pointing at a meta page */
    wr64(t.p + s.value, 1);
    expect_walk_error(&t, BBOLT_ERR_PAGE_RANGE);
    free(t.p);
    free(b.p);
}

/* ---- hostile: files built from scratch ---------------------------------- */

struct synth {
    struct blob b;
    unsigned npages;
};

static void synth_init(struct synth *s, unsigned npages)
{
    s->npages = npages;
    s->b.len = (size_t)npages * PS;
    s->b.p = calloc(1, s->b.len);
    assert_non_null(s->b.p);
    unsigned char *fl = s->b.p + 2 * PS;       /* empty freelist at page 2 */
    wr64(fl, 2);
    wr16(fl + 8, 0x10);
}

static unsigned char *synth_page(struct synth *s, uint64_t id, uint16_t flags,
                                 uint16_t count, uint32_t overflow)
{
    unsigned char *p = s->b.p + id * PS;
    wr64(p, id);
    wr16(p + 8, flags);
    wr16(p + 10, count);
    wr32(p + 12, overflow);
    return p;
}

static void synth_finish(struct synth *s, uint64_t root)
{
    for (int m = 0; m < 2; m++) {
        unsigned char *p = s->b.p + (size_t)m * PS;
        wr64(p, (uint64_t)m);
        wr16(p + 8, 0x04);
        unsigned char *body = p + 16;
        wr32(body, 0xED0CDAEDu);
        wr32(body + 4, 2);
        wr32(body + 8, PS);
        wr64(body + 16, root);
        wr64(body + 32, 2);
        wr64(body + 40, s->npages);
        wr64(body + 48, (uint64_t)m + 1);
        fix_meta_checksum(p);
    }
}

/* A chain of `height` one-element branch pages over one leaf. */
static struct synth tall_tree(unsigned height)
{
    struct synth s;
    synth_init(&s, 3 + height + 1);
    for (unsigned i = 0; i < height; i++) {
        unsigned char *p = synth_page(&s, 3 + i, 0x01, 1, 0);
        wr32(p + 16, 16);
        wr32(p + 20, 1);
        wr64(p + 24, 3 + i + 1);
        p[32] = 'a';
    }
    unsigned char *leaf = synth_page(&s, 3 + height, 0x02, 1, 0);
    wr32(leaf + 16, 0);
    wr32(leaf + 20, 16);
    wr32(leaf + 24, 1);
    wr32(leaf + 28, 1);
    leaf[32] = 'a';
    leaf[33] = 'b';
    synth_finish(&s, 3);
    return s;
}

/* Appends to v (len *n): a bucket value wrapping inner (len ilen) in an
 * inline page of one bucket element "k" — or, when overlap, two elements
 * "ay" and "y" whose values are the very same bytes. */
static size_t wrap_inline(unsigned char *out, const unsigned char *inner, size_t ilen,
                          int overlap)
{
    memset(out, 0, 32);
    unsigned char *pg = out + 16;
    wr16(pg + 8, 0x02);
    if (!overlap) {
        wr16(pg + 10, 1);
        wr32(pg + 16, 0x01);
        wr32(pg + 20, 16);
        wr32(pg + 24, 1);
        wr32(pg + 28, (uint32_t)ilen);
        pg[32] = 'k';
        memmove(pg + 33, inner, ilen);
        return 16 + 33 + ilen;
    }
    wr16(pg + 10, 2);
    wr32(pg + 16, 0x01);                 /* element at 16: key at 48 */
    wr32(pg + 20, 32);
    wr32(pg + 24, 2);
    wr32(pg + 28, (uint32_t)ilen);
    wr32(pg + 32, 0x01);                 /* element at 32: key at 49 */
    wr32(pg + 36, 17);
    wr32(pg + 40, 1);
    wr32(pg + 44, (uint32_t)ilen);
    pg[48] = 'a';
    pg[49] = 'y';
    memmove(pg + 50, inner, ilen);
    return 16 + 50 + ilen;
}

/* Top-level bucket "b" holding `levels` nested inline buckets. */
static struct synth nested_inline(unsigned levels, int overlap)
{
    size_t cap = 64 + (size_t)levels * 66;
    unsigned char *a = calloc(1, cap), *tmp = calloc(1, cap);
    assert_non_null(a);
    assert_non_null(tmp);
    size_t len = 32;                      /* innermost: empty inline bucket */
    wr16(a + 16 + 8, 0x02);
    for (unsigned i = 0; i < levels; i++) {
        size_t n = wrap_inline(tmp, a, len, overlap);
        memcpy(a, tmp, n);
        len = n;
    }
    size_t need = 16 + 16 + 1 + len;
    unsigned overflow = (unsigned)((need + PS - 1) / PS) - 1;
    struct synth s;
    synth_init(&s, 3 + 1 + overflow);
    unsigned char *leaf = synth_page(&s, 3, 0x02, 1, overflow);
    wr32(leaf + 16, 0x01);
    wr32(leaf + 20, 16);
    wr32(leaf + 24, 1);
    wr32(leaf + 28, (uint32_t)len);
    leaf[32] = 'b';
    memcpy(leaf + 33, a, len);
    synth_finish(&s, 3);
    free(a);
    free(tmp);
    return s;
}

static void test_synthetic_heights_and_nesting(void **state)
{
    (void)state;
    struct counts c;
    struct synth s = tall_tree(20);
    assert_int_equal(walk_blob(&s.b, &c), BBOLT_OK);
    assert_int_equal(c.top_plain, 1);
    free(s.b.p);

    s = tall_tree(40);
    expect_walk_error(&s.b, BBOLT_ERR_TOO_DEEP);
    free(s.b.p);

    s = nested_inline(60, 0);
    assert_int_equal(walk_blob(&s.b, &c), BBOLT_OK);
    assert_int_equal(c.max_depth, 60);
    assert_int_equal(c.top_buckets + c.inner, 61);
    free(s.b.p);

    s = nested_inline(100, 0);
    expect_walk_error(&s.b, BBOLT_ERR_TOO_DEEP);
    free(s.b.p);

    /* 2^50 paths through shared bytes: must stop on the element budget */
    s = nested_inline(50, 1);
    expect_walk_error(&s.b, BBOLT_ERR_CORRUPT_PAGE);
    free(s.b.p);
}

static int path_visit(void *ctx, int depth, const bbolt_slice *path, const bbolt_slice *key,
                      const bbolt_slice *val, int is_bucket)
{
    int *seen = ctx;
    (void)val;
    (void)is_bucket;
    for (int i = 0; i < depth; i++)
        assert_memory_equal(path[i].data, i == 0 ? "b" : "k", 1);
    assert_int_equal(key->len, 1);
    (*seen)++;
    return *seen == 30;                        /* stop midway */
}

static void test_walk_paths_and_stop(void **state)
{
    (void)state;
    struct synth s = nested_inline(60, 0);
    bbolt *db;
    char err[256];
    int seen = 0;
    assert_int_equal(open_blob(&s.b, &db, err, sizeof err), BBOLT_OK);
    assert_int_equal(bbolt_walk(db, path_visit, &seen, err, sizeof err), BBOLT_ERR_STOPPED);
    assert_int_equal(seen, 30);
    bbolt_close(db);
    free(s.b.p);
}

/* Random damage must never crash (run under valgrind). */
static void test_random_damage(void **state)
{
    (void)state;
    struct blob b = load_fixture("small.snapshots.db");
    uint32_t seed = 12345;
    unsigned ok = 0, bad = 0;
    for (int round = 0; round < 400; round++) {
        struct blob t = dup_blob(&b, b.len);
        int flips = 1 + round % 8;
        for (int i = 0; i < flips; i++) {
            seed = seed * 1103515245u + 12345u;
            /* mostly in the tree pages (2..8), sometimes anywhere */
            size_t span = (round % 4) ? 7 * PS : t.len;
            size_t base = (round % 4) ? 2 * PS : 0;
            size_t at = base + (seed >> 8) % span;
            seed = seed * 1103515245u + 12345u;
            t.p[at] ^= (unsigned char)(1u << ((seed >> 16) % 8));
        }
        bbolt *db;
        char err[512];
        struct counts c;
        memset(&c, 0, sizeof c);
        int rc = open_blob(&t, &db, err, sizeof err);
        if (rc == BBOLT_OK) {
            rc = bbolt_walk(db, count_visit, &c, err, sizeof err);
            bbolt_close(db);
        }
        assert_true(rc >= BBOLT_OK && rc <= BBOLT_ERR_TOO_DEEP);
        /* read by fd: the same code, message and visits */
        char fderr[512];
        struct counts fdc;
        memset(&fdc, 0, sizeof fdc);
        int fdrc = open_blob_fd(&t, &db, fderr, sizeof fderr);
        if (fdrc == BBOLT_OK) {
            fdrc = bbolt_walk(db, count_visit, &fdc, fderr, sizeof fderr);
            bbolt_close(db);
        }
        assert_int_equal(fdrc, rc);
        assert_memory_equal(&fdc, &c, sizeof c);
        if (rc != BBOLT_OK)
            assert_string_equal(fderr, err);
        if (rc == BBOLT_OK)
            ok++;
        else
            bad++;
        free(t.p);
    }
    assert_true(bad > 0);
    assert_true(ok > 0);
    free(b.p);
}

/* ---- buildkit_read_snapshots: the file itself --------------------------- */

static void test_snapshots_absent(void **state)
{
    struct snap_list l = { 0 };
    char err[256];
    assert_int_equal(read_snaps_in(*state, &l, err, sizeof err), 1);
    assert_int_equal(l.n, 0);
}

static void test_snapshots_symlink_refused(void **state)
{
    struct tmpdir *t = *state;
    char path[512], abs[PATH_MAX], err[256];
    struct snap_list l = { 0 };
    fixture_path("small.snapshots.db", path, sizeof path);
    assert_non_null(realpath(path, abs));
    assert_int_equal(symlinkat(abs, t->fd, "snapshots.db"), 0);
    assert_int_equal(read_snaps_in(t, &l, err, sizeof err), -1);
    assert_non_null(strstr(err, "symlink"));
    assert_int_equal(l.n, 0);
}

static void test_snapshots_fifo_refused(void **state)
{
    struct tmpdir *t = *state;
    char err[256];
    struct snap_list l = { 0 };
    assert_int_equal(mkfifoat(t->fd, "snapshots.db", 0600), 0);
    assert_int_equal(read_snaps_in(t, &l, err, sizeof err), -1);   /* no hang */
    assert_non_null(strstr(err, "not a regular file"));
}

static void test_snapshots_dir_refused(void **state)
{
    struct tmpdir *t = *state;
    char err[256];
    struct snap_list l = { 0 };
    assert_int_equal(mkdirat(t->fd, "snapshots.db", 0700), 0);
    assert_int_equal(read_snaps_in(t, &l, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a regular file"));
}

static void test_snapshots_sparse_2g_refused(void **state)
{
    struct tmpdir *t = *state;
    char err[256];
    struct snap_list l = { 0 };
    int fd = openat(t->fd, "snapshots.db", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)2 << 30), 0);
    bbolt *db = NULL;
    assert_int_equal(bbolt_open_fd(fd, 0, &db, err, sizeof err), BBOLT_ERR_TOO_LARGE);
    assert_null(db);
    close(fd);
    assert_int_equal(read_snaps_in(t, &l, err, sizeof err), -1);
    assert_non_null(strstr(err, "file too large"));
}

static void test_open_fd_cap_and_pipe(void **state)
{
    struct tmpdir *t = *state;
    char err[256];
    bbolt *db = NULL;
    struct blob b = load_fixture("small.snapshots.db");
    write_snapshots_db(t, &b);
    int fd = openat(t->fd, "snapshots.db", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(bbolt_open_fd(fd, 65535, &db, err, sizeof err), BBOLT_ERR_TOO_LARGE);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    assert_int_equal(bbolt_open_fd(fd, 65536, &db, err, sizeof err), BBOLT_OK);
    bbolt_close(db);
    close(fd);
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(bbolt_open_fd(p[0], 0, &db, err, sizeof err), BBOLT_ERR_IO);
    close(p[0]);
    close(p[1]);
    free(b.p);
}

/* ---- buildkit_read_snapshots: odd content ------------------------------- */

static unsigned char *find_bytes(struct blob *b, size_t from, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = from; i + n <= b->len; i++)
        if (memcmp(b->p + i, s, n) == 0)
            return b->p + i;
    return NULL;
}

static void test_snapshots_nul_bytes_marked(void **state)
{
    struct tmpdir *t = *state;
    struct blob b = load_fixture("small.snapshots.db");
    struct small_layout s = small_layout(&b);
    char err[256];
    struct snap_list l = { 0 };

    /* the live copy of 8q1a...'s "committed" value: in the leaf after elem 0 */
    unsigned char *v = find_bytes(&b, s.leaf, "committedp5nt3tjv38w4vm7jk0e6rkgfx");
    assert_non_null(v);
    v[9 + 3] = '\0';
    /* a bucket key whose last byte is NUL still sorts in place */
    unsigned char *k = find_bytes(&b, s.leaf, "kz84vtrxf4u86yyk0vrchfpk2");
    assert_non_null(k);
    k[24] = '\0';

    assert_int_equal(read_snaps_blob(t, &b, &l, err, sizeof err), 0);
    assert_int_equal(l.n, 26);
    const struct snap *a = find_snap(&l, "8q1amfse8dip8hz2b431ihstg");
    assert_non_null(a);
    assert_int_equal(a->invalid, BUILDKIT_BAD_COMMITTED);
    assert_null(a->committed);
    assert_non_null(a->chainid);
    unsigned bad_keys = 0;
    for (size_t i = 0; i < l.n; i++) {
        if (l.v[i].invalid & BUILDKIT_BAD_KEY) {
            bad_keys++;
            assert_null(l.v[i].key);
            assert_string_equal(l.v[i].committed, "eywxcc6dgrhlha9aqbe15u0et");
        }
    }
    assert_int_equal(bad_keys, 1);
    free_snaps(&l);
    free(b.p);
}

static void test_snapshots_corrupt_no_callbacks(void **state)
{
    struct tmpdir *t = *state;
    struct blob b = load_fixture("small.snapshots.db");
    struct small_layout s = small_layout(&b);
    char err[256];
    struct snap_list l = { 0 };
    /* the second leaf loops back to the root: found only late in the walk */
    wr64(b.p + s.root + 32 + 8, 6);
    assert_int_equal(read_snaps_blob(t, &b, &l, err, sizeof err), -1);
    assert_non_null(strstr(err, "page loop"));
    assert_int_equal(l.n, 0);
    free(b.p);
}

static void test_snapshots_callback_stops(void **state)
{
    struct tmpdir *t = *state;
    struct blob b = load_fixture("small.snapshots.db");
    char err[256];
    struct snap_list l = { 0 };
    l.stop_after = 3;
    assert_int_equal(read_snaps_blob(t, &b, &l, err, sizeof err), -1);
    assert_non_null(strstr(err, "stopped by callback"));
    assert_int_equal(l.n, 3);
    free_snaps(&l);
    free(b.p);
}

/* Plain keys at the top, extra keys and sub-buckets inside a snapshot. */
static void test_snapshots_unexpected_shapes(void **state)
{
    struct tmpdir *t = *state;
    struct synth s = nested_inline(3, 0);     /* "b" { "k" { "k" { "k" {} } } } */
    char err[256];
    struct snap_list l = { 0 };
    assert_int_equal(read_snaps_blob(t, &s.b, &l, err, sizeof err), 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].key, "b");
    assert_int_equal(l.v[0].other_keys, 1);
    assert_null(l.v[0].parent);
    free_snaps(&l);
    free(s.b.p);

    s = tall_tree(2);                          /* top level: plain key "a" */
    assert_int_equal(read_snaps_blob(t, &s.b, &l, err, sizeof err), 0);
    assert_int_equal(l.n, 0);
    free(s.b.p);
}

static void test_strerror_names(void **state)
{
    (void)state;
    assert_string_equal(bbolt_strerror(BBOLT_ERR_TRUNCATED), "truncated file");
    assert_string_equal(bbolt_strerror(BBOLT_ERR_PAGE_LOOP), "page loop");
    assert_string_equal(bbolt_strerror(BBOLT_ERR_PAGE_RANGE), "page out of range");
    assert_string_equal(bbolt_strerror(BBOLT_ERR_CORRUPT_PAGE), "corrupt page");
    assert_string_equal(bbolt_strerror(BBOLT_ERR_BAD_CHECKSUM), "bad checksum");
    assert_string_equal(bbolt_strerror(9999), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_small_exact_content, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test(test_small_meta_and_tree),
        cmocka_unit_test_setup_teardown(test_small_matches_store, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_many_matches_store, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_pruned_matches_store, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test(test_empty_and_zero_files),
        cmocka_unit_test(test_truncated_at_many_lengths),
        cmocka_unit_test(test_both_metas_bad),
        cmocka_unit_test(test_one_meta_bad_falls_back),
        cmocka_unit_test(test_branch_loops_and_ranges),
        cmocka_unit_test(test_leaf_elements_out_of_page),
        cmocka_unit_test(test_inline_bucket_bogus),
        cmocka_unit_test(test_synthetic_heights_and_nesting),
        cmocka_unit_test(test_walk_paths_and_stop),
        cmocka_unit_test(test_random_damage),
        cmocka_unit_test_setup_teardown(test_snapshots_absent, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_snapshots_symlink_refused, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_snapshots_fifo_refused, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_snapshots_dir_refused, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_snapshots_sparse_2g_refused, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_open_fd_cap_and_pipe, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_snapshots_nul_bytes_marked, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_snapshots_corrupt_no_callbacks, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_snapshots_callback_stops, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_snapshots_unexpected_shapes, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test(test_strerror_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
