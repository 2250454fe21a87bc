/* scan.c — the scan pass: opens the root, runs each scan module inside one
 * transaction, and holds the helpers the modules share (id files, safe
 * opens, vanish detection). */
#include "scan.h"
#include "arena.h"
#include "clock.h"
#include "scan_internal.h"
#include "grow.h"
#include "ids.h"
#include "parallel.h"
#include "strmap.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static bool has_nul(const char *s, size_t len) { return memchr(s, '\0', len) != NULL; }

void scan_read_file(struct pf_entry *ahead, int dirfd, const char *name, size_t cap, struct file_buf *out)
{
    if (!pf_entry_take(ahead, name, cap, out))
        fs_read_file(dirfd, name, cap, out);
}

const char *scan_read_id(struct pf_entry *ahead, int dirfd, const char *name, id_validator valid, bool strip_sha256,
                         char **value)
{
    struct file_buf b;
    *value = NULL;
    scan_read_file(ahead, dirfd, name, CAP_ID_FILE, &b);
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

enum scan_phase scan_phase(struct scan *s, enum scan_phase next)
{
    double now = clock_now();
    enum scan_phase was = s->phase;
    s->phase_seconds[was] += now - s->phase_mark;
    s->phase_mark = now;
    s->phase = next;
    return was;
}

static void show_progress(struct scan *s)
{
    long other = s->other_objects ? __atomic_load_n(s->other_objects, __ATOMIC_RELAXED) : 0;
    progress_show(s->progress, "scanning: %ld objects read", s->objects + other);
}

int scan_insert(struct scan *s, sqlite3_stmt *q)
{
    enum scan_phase was = scan_phase(s, PHASE_LOAD);
    int rc = db_step_reset(q, s->err, sizeof s->err);
    scan_phase(s, was);
    __atomic_store_n(&s->objects, s->objects + 1, __ATOMIC_RELAXED);
    if (s->progress && (s->objects & 255) == 0 && progress_due(s->progress))
        show_progress(s);
    return rc;
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
    return scan_walk_ahead(s, rel, dirfd, NULL, fn, ctx);
}

int scan_walk_ahead(struct scan *s, const char *rel, int *dirfd, const struct pf_plan *plan, fs_entry_fn fn,
                    void *ctx)
{
    *dirfd = scan_open_path(s, rel);
    if (*dirfd < 0) {
        if (errno != ENOENT)
            scan_note_error(s, rel, errno);
        return 0;
    }
    int rc = plan ? prefetch_walk(s->pf, *dirfd, plan, &s->ahead, fn, ctx) : fs_list_dir_sorted(*dirfd, fn, ctx);
    /* The listing failed: the dir is noted, the walk goes on. But when an
     * entry's insert failed (s->err: out of memory, a full disk) the scan
     * database is incomplete, not the dir unreadable, and SQLite may have
     * rolled the lane's transaction back: the lane ends with that error
     * (going on ended it with "cannot commit - no transaction is active"). */
    if (rc < 0 && !s->err[0]) {
        scan_note_error(s, rel, errno);
        rc = 0;
    }
    close(*dirfd);
    *dirfd = -1;
    return rc > 0 && scan_stopped(s) ? 0 : rc;
}

/* --io-depth: reads the pool keeps in flight (1: the scan reads alone). */
static int io_depth = 1;

void scan_set_io_depth(int depth)
{
    io_depth = depth;
}

typedef int (*scan_module_fn)(struct scan *s);

/* The scan runs on two lanes: the main thread loads the image and overlay2
 * side into the scan database, a worker loads the layerdb and BuildKit side
 * into an in-memory database that is merged afterwards. One writer per
 * database; the file system work of the two sides overlaps. */
struct scan_lane {
    struct scan s;
    const scan_module_fn *modules;
    size_t count;
    int rc;
};

static const scan_module_fn main_lane_modules[] = {
    scan_images, scan_tags, scan_containers, scan_overlay,
};
static const scan_module_fn worker_lane_modules[] = {
    scan_layers, scan_mounts, scan_buildkit, scan_distribution, scan_overlay_links, scan_root_tmp,
};

/* One lane in its own transaction (a par_pair job). */
static void run_lane(void *arg)
{
    struct scan_lane *lane = arg;
    lane->s.phase = PHASE_WALK;
    lane->s.phase_mark = clock_now();
    lane->rc = db_exec(lane->s.db, "BEGIN", lane->s.err, sizeof lane->s.err);
    for (size_t i = 0; lane->rc == 0 && i < lane->count; i++) {
        lane->rc = lane->modules[i](&lane->s);
        if (lane->rc == 0 && scan_stopped(&lane->s))
            lane->rc = -2;
    }
    scan_phase(&lane->s, PHASE_LOAD);
    if (lane->rc == 0 && db_exec(lane->s.db, "COMMIT", lane->s.err, sizeof lane->s.err) < 0)
        lane->rc = -1;
    scan_phase(&lane->s, PHASE_WALK);
}

static int lane_error(const struct scan_lane *lane, char *err, size_t errlen)
{
    if (lane->rc == -2)
        snprintf(err, errlen, "interrupted");
    else
        snprintf(err, errlen, "%s", lane->s.err[0] ? lane->s.err : "scan failed");
    return lane->rc;
}

/* The lanes' thread time by phase, the main thread's merge and indexes as load. */
static void fill_times(struct scan_times *t, const struct scan_lane *a, const struct scan_lane *b, bool threaded,
                       double merge_seconds)
{
    if (!t)
        return;
    t->walk = a->s.phase_seconds[PHASE_WALK] + b->s.phase_seconds[PHASE_WALK];
    t->parse = a->s.phase_seconds[PHASE_PARSE] + b->s.phase_seconds[PHASE_PARSE];
    t->load = a->s.phase_seconds[PHASE_LOAD] + b->s.phase_seconds[PHASE_LOAD] + merge_seconds;
    t->threads = threaded ? 2 : 1;
}

/* What dockerd removed while the scan ran. The two lanes read the store at
 * different moments: a layer dockerd deletes (layerdb dir renamed to
 * <chainID>-<rand>-removing, then its overlay2 dir removed: moby's layer
 * store order) can be read by the layer lane before the rename while the
 * main lane lists overlay2 after the removal: it would look dangling; an
 * image deleted meanwhile (its config file goes before its layers) can be
 * read before and its layers listed after: image-layer-missing. Such an
 * object's file is gone by the end of the scan: its rows are dropped, as if
 * the scan had run a moment later. On a store nothing changes the file is
 * still there and the finding stays. Layers first: dropping one makes the
 * images that name it suspects. */
struct vanished {
    const char *present;    /* the keys that exist (one column) */
    const char *rows;       /* id, key: the row looks broken when its key is not present */
    const char *dir;        /* root-relative dir holding the object's file or dir, named by the id */
    const char *drop[3];    /* DELETE statements, ?1 = the id */
};

/* The suspects are found with a hash set of the present keys, not with a
 * probe of an index per row: SQLite has no hash join, and at 30k images the
 * 113k + 294k probes took 0.35 s of serial time, 5x what they take at 10k
 * (the b-trees outgrow the caches); the set and two sequential reads take
 * a third of that. The ids are 64 hex (name_ok) and come in id order. */
static const struct vanished vanished_objects[] = {
    { "SELECT name FROM overlay_dir INDEXED BY overlay_dir_name",
      "SELECT chain_id, cache_id FROM layer WHERE cache_id_state = 'ok' AND name_ok = 1",
      "image/overlay2/layerdb/sha256",
      { "DELETE FROM layer WHERE chain_id = ?1" } },
    { "SELECT chain_id FROM layer INDEXED BY layer_chain",
      "SELECT il.image_id, il.chain_id FROM image i CROSS JOIN image_layer il ON il.image_id = i.id"
      " WHERE i.name_ok = 1 AND il.chain_id IS NOT NULL",
      "image/overlay2/imagedb/content/sha256",
      { "DELETE FROM image_layer WHERE image_id = ?1", "DELETE FROM image_parent WHERE image_id = ?1",
        "DELETE FROM image WHERE id = ?1" } },
};

/* The first column of every row of sql, into *set (borrowed keys, copied
 * into keys): read whole first, so that the set is made at its final size. */
static int load_key_set(struct db *db, const char *sql, struct strmap *set, struct arena *keys, char *err,
                        size_t errlen)
{
    sqlite3_stmt *q;
    if (db_prepare(db, sql, &q, err, errlen) < 0)
        return -1;
    struct key {
        const char *s;
        size_t len;
    } *v = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(q, 0);
        if (!key)
            continue;
        v = grow_array_or_die(v, &cap, n + 1, sizeof *v);
        struct key *k = &v[n++];
        k->len = (size_t)sqlite3_column_bytes(q, 0);
        if (!(k->s = arena_strndup(keys, key, k->len)))
            break;
    }
    sqlite3_finalize(q);
    if (rc == SQLITE_DONE) {
        set->borrowed = true;
        if (strmap_reserve(set, n) < 0)
            rc = SQLITE_NOMEM;
        for (size_t i = 0; rc == SQLITE_DONE && i < n; i++)
            if (strmap_put_num(set, v[i].s, v[i].len, 0) < 0)
                rc = SQLITE_NOMEM;
    }
    free(v);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc == SQLITE_ROW || rc == SQLITE_NOMEM)
        snprintf(err, errlen, "out of memory");
    else
        snprintf(err, errlen, "database: %s", sqlite3_errmsg(db->h));
    return -1;
}

/* Is the row's key absent from present (a NULL key is absent)? */
static bool key_absent(sqlite3_stmt *q, const struct strmap *present)
{
    const char *key = (const char *)sqlite3_column_text(q, 1);
    return !key || !strmap_has(present, key, (size_t)sqlite3_column_bytes(q, 1));
}

/* The suspects of v whose file is gone now (ENOENT), into *ids. */
static int find_vanished(struct db *db, int rootfd, const struct vanished *v, char (**ids)[65], size_t *n,
                         char *err, size_t errlen)
{
    sqlite3_stmt *q;
    struct strmap present = { 0 };
    struct arena keys = { 0 };
    size_t cap = 0;
    *ids = NULL;
    *n = 0;
    if (load_key_set(db, v->present, &present, &keys, err, errlen) < 0 ||
        db_prepare(db, v->rows, &q, err, errlen) < 0) {
        strmap_free(&present);
        arena_free(&keys);
        return -1;
    }
    char last[65] = "";
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(q, 0);
        char path[128];
        struct stat st;
        if (!id || strlen(id) != 64 || !key_absent(q, &present) || strcmp(id, last) == 0)
            continue;
        memcpy(last, id, 65);
        snprintf(path, sizeof path, "%s/%s", v->dir, id);
        if (fstatat(rootfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
            continue;
        *ids = grow_array_or_die(*ids, &cap, *n + 1, sizeof **ids);
        memcpy((*ids)[(*n)++], id, 65);
    }
    sqlite3_finalize(q);
    strmap_free(&present);
    arena_free(&keys);
    return 0;
}

static int drop_rows(struct db *db, const char *sql, char (*ids)[65], size_t n, char *err, size_t errlen)
{
    sqlite3_stmt *q;
    if (db_prepare(db, sql, &q, err, errlen) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        db_bind_text(q, 1, ids[i]);
        rc = db_step_reset(q, err, errlen);
    }
    sqlite3_finalize(q);
    return rc;
}

int scan_drop_vanished(struct db *db, int rootfd, char *err, size_t errlen)
{
    for (size_t k = 0; k < sizeof vanished_objects / sizeof vanished_objects[0]; k++) {
        const struct vanished *v = &vanished_objects[k];
        char(*ids)[65];
        size_t n;
        int rc = find_vanished(db, rootfd, v, &ids, &n, err, errlen);
        for (size_t d = 0; rc == 0 && n && d < 3 && v->drop[d]; d++)
            rc = drop_rows(db, v->drop[d], ids, n, err, errlen);
        free(ids);
        if (rc < 0)
            return -1;
    }
    return 0;
}

int scan_root(struct db *db, const char *root, volatile sig_atomic_t *stop, struct progress *progress,
              struct scan_times *times, char *err, size_t errlen)
{
    int rootfd = open_root(root, err, errlen);
    if (rootfd < 0)
        return -1;
    char now[32], aux_path[PATH_MAX];
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    struct db aux;
    if (db_open_aux(&aux, aux_path, sizeof aux_path, err, errlen) < 0) {
        db_close(&aux);
        close(rootfd);
        return -1;
    }
    struct scan_lane main_lane = { .s = { .db = db, .rootfd = rootfd, .stop = stop, .progress = progress },
                                   .modules = main_lane_modules,
                                   .count = sizeof main_lane_modules / sizeof main_lane_modules[0] };
    struct scan_lane worker = { .s = { .db = &aux, .rootfd = rootfd, .stop = stop },
                                .modules = worker_lane_modules,
                                .count = sizeof worker_lane_modules / sizeof worker_lane_modules[0] };
    main_lane.s.other_objects = &worker.s.objects;
    struct prefetch *pf = prefetch_open(io_depth, PF_MAX_BYTES);
    main_lane.s.pf = worker.s.pf = pf;
    bool threaded = par_pair(run_lane, &main_lane, run_lane, &worker);
    prefetch_close(pf);
    db_close(&aux);
    malloc_trim(0);   /* the worker's page cache goes back to the system (peak RSS) */
    if (progress_due(progress))
        progress_show(progress, "scanning: %ld objects read; loading", main_lane.s.objects + worker.s.objects);
    double m0 = clock_now();
    int rc = 0;
    if (main_lane.rc != 0)
        rc = lane_error(&main_lane, err, errlen);
    else if (worker.rc != 0)
        rc = lane_error(&worker, err, errlen);
    else if (db_merge_aux(db, aux_path, err, errlen) < 0 || db_exec(db, "BEGIN", err, errlen) < 0 ||
             db_set_meta(db, "root", root) < 0 || db_set_meta(db, "scan_time", now) < 0 ||
             db_create_indexes(db, err, errlen) < 0 || scan_drop_vanished(db, rootfd, err, errlen) < 0 ||
             db_exec(db, "COMMIT", err, errlen) < 0)
        rc = -1;
    close(rootfd);
    unlink(aux_path);
    fill_times(times, &main_lane, &worker, threaded, clock_now() - m0);
    return rc;
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
    c->cd_namespaces = (long)db_query_int(db, "SELECT count(*) FROM cd_namespace", 0);
    c->cd_images = (long)db_query_int(db, "SELECT count(*) FROM cd_image", 0);
    c->cd_blobs = (long)db_query_int(db, "SELECT count(*) FROM cd_blob", 0);
    c->cd_snapshots = (long)db_query_int(db, "SELECT count(*) FROM cd_snapshot", 0);
    c->cd_containers = (long)db_query_int(db, "SELECT count(*) FROM cd_container", 0);
    c->cd_leases = (long)db_query_int(db, "SELECT count(*) FROM cd_lease", 0);
    c->cd_ingests = (long)db_query_int(db, "SELECT count(*) FROM cd_ingest", 0);
    c->cd_snapshot_dirs = (long)db_query_int(db, "SELECT count(*) FROM cd_snapdir", 0);
    c->cd_blob_files = (long)db_query_int(db, "SELECT count(*) FROM cd_blobfile", 0);
    c->cd_sandboxes = (long)db_query_int(db, "SELECT count(*) FROM cd_sandbox", 0);
}
