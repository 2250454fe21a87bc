/* scan_containerd.c — the scan of a containerd root (store kind
 * containerd): both bbolt files (src/scan_containerd_bolt.c), the disk —
 * the overlayfs snapshotter's snapshots/<id> dirs, the content store's
 * blobs/sha256/<hex> (hashed with --deep) and ingest/<dir>/ (ref, data
 * size, total) —, the image configs the content records name (their
 * diff_ids and chainIDs), and, for a Docker root on the containerd image
 * store, Docker's containers/ (src/scan_containers.c). Two lanes, as for
 * Docker (src/scan.c): the main thread loads meta.db and the configs into
 * the scan database while a worker loads metadata.db and the disk into an
 * aux database merged afterwards; one writer per database. The long
 * strings of both lanes are interned in one shared map (src/cd_intern.c),
 * written to cd_str after the merge.
 * Every path is opened below the root without following a symlink. */
#include "scan_containerd.h"
#include "clock.h"
#include "fsutil.h"
#include "grow.h"
#include "ids.h"
#include "parallel.h"
#include "progress.h"
#include "scan_internal.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CD_CONFIG_CAP (4u * 1024 * 1024)   /* an image config larger than this is not parsed */
#define HASH_CHUNK (1u << 20)

struct cd_scan {
    struct scan s;           /* rootfd = the containerd root */
    struct cd_intern *strs;  /* shared by both lanes */
    bool deep;
    int dirfd;               /* the dir being listed */
    sqlite3_stmt *ins;
    unsigned char *chunk;    /* --deep read buffer */
};

static int64_t mtime_of(const struct stat *st) { return (int64_t)st->st_mtime; }

/* ---- snapshots/<name> ---------------------------------------------------- */

static bool is_dir_at(int fd, const char *sub)
{
    struct stat st;
    return fs_lstat(fd, sub, &st) && S_ISDIR(st.st_mode);
}

static int on_snapdir(void *ctx, const char *name, unsigned char d_type)
{
    (void)d_type;
    struct cd_scan *c = ctx;
    struct stat st;
    if (scan_stopped(&c->s))
        return 1;
    if (!fs_lstat(c->dirfd, name, &st))
        return 0;
    /* one open of the dir for both of its subdirs */
    int fd = S_ISDIR(st.st_mode) ? fs_open_dir(c->dirfd, name) : -1;
    db_bind_text(c->ins, 1, name);
    db_bind_text(c->ins, 2, fs_type_name(st.st_mode));
    db_bind_int(c->ins, 3, fd >= 0 && is_dir_at(fd, "fs"));
    db_bind_int(c->ins, 4, fd >= 0 && is_dir_at(fd, "work"));
    db_bind_int(c->ins, 5, mtime_of(&st));
    if (fd >= 0)
        close(fd);
    return scan_insert(&c->s, c->ins);
}

/* ---- blobs/sha256/<hex> -------------------------------------------------- */

/* sha256 of dirfd/name, streamed; 0 or -1 with why. */
static int hash_file(struct cd_scan *c, const char *name, char hex[HEX64_LEN + 1], char *why, size_t whylen)
{
    int fd = openat(c->dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, whylen, "%s", strerror(errno));
        return -1;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 ? 0 : -1;
    if (rc < 0)
        snprintf(why, whylen, "sha256 unavailable");
    while (rc == 0) {
        if (scan_stopped(&c->s)) {
            rc = -1;
            snprintf(why, whylen, "interrupted");
            break;
        }
        ssize_t n = read(fd, c->chunk, HASH_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(why, whylen, "%s", strerror(errno));
            rc = -1;
        } else if (n == 0) {
            break;
        } else if (EVP_DigestUpdate(md, c->chunk, (size_t)n) != 1) {
            rc = -1;
            snprintf(why, whylen, "sha256 failed");
        }
    }
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int outlen = 0;
    if (rc == 0 && EVP_DigestFinal_ex(md, out, &outlen) == 1 && outlen == 32) {
        id_hex_encode(out, 32, hex);
    } else if (rc == 0) {
        rc = -1;
        snprintf(why, whylen, "sha256 failed");
    }
    EVP_MD_CTX_free(md);
    close(fd);
    return rc;
}

static int on_blobfile(void *ctx, const char *name, unsigned char d_type)
{
    (void)d_type;
    struct cd_scan *c = ctx;
    struct stat st;
    if (scan_stopped(&c->s))
        return 1;
    if (!fs_lstat(c->dirfd, name, &st))
        return 0;
    char hex[HEX64_LEN + 1], why[256] = "";
    bool hashed = false;
    if (c->deep && S_ISREG(st.st_mode)) {
        enum scan_phase was = scan_phase(&c->s, PHASE_PARSE);
        hashed = hash_file(c, name, hex, why, sizeof why) == 0;
        scan_phase(&c->s, was);
    }
    /* the file's name as the id of "sha256:<name>" (the digest of a content record) */
    char digest[sizeof "sha256:" + NAME_MAX];
    int dlen = snprintf(digest, sizeof digest, "sha256:%s", name);
    if (cd_intern_bind(c->strs, c->ins, 1, digest, (size_t)dlen, c->s.err, sizeof c->s.err) < 0)
        return -1;
    db_bind_int(c->ins, 2, id_is_hex64(name, strlen(name)));
    db_bind_text(c->ins, 3, fs_type_name(st.st_mode));
    db_bind_int(c->ins, 4, (int64_t)st.st_size);
    db_bind_int(c->ins, 5, mtime_of(&st));
    db_bind_text(c->ins, 6, hashed ? hex : NULL);
    db_bind_text(c->ins, 7, why[0] ? why : NULL);
    return scan_insert(&c->s, c->ins);
}

/* ---- ingest/<dir>/ -------------------------------------------------------- */

static int on_ingestdir(void *ctx, const char *name, unsigned char d_type)
{
    (void)d_type;
    struct cd_scan *c = ctx;
    struct stat st;
    if (scan_stopped(&c->s))
        return 1;
    if (!fs_lstat(c->dirfd, name, &st))
        return 0;
    const char *ref_state = ST_UNREADABLE;
    struct file_buf ref = { 0 }, total = { 0 };
    int64_t data_size = -1, tot = -1, mtime = mtime_of(&st);
    int fd = S_ISDIR(st.st_mode) ? fs_open_dir(c->dirfd, name) : -1;
    if (fd >= 0) {
        fs_read_file(fd, "ref", CAP_ID_FILE, &ref);
        ref_state = ref.status == FILE_OK ? (ref.len ? ST_OK : ST_EMPTY)
                    : ref.status == FILE_MISSING ? ST_MISSING : ST_UNREADABLE;
        fs_read_file(fd, "total", CAP_ID_FILE, &total);
        if (total.status == FILE_OK) {
            char *end;
            long long v = strtoll(total.data, &end, 10);
            if (end != total.data && v >= 0)
                tot = v;
        }
        struct stat ds;
        if (fs_lstat(fd, "data", &ds) && S_ISREG(ds.st_mode)) {
            data_size = (int64_t)ds.st_size;
            if (mtime_of(&ds) > mtime)
                mtime = mtime_of(&ds);
        }
        if (fs_lstat(fd, "updatedat", &ds) && mtime_of(&ds) > mtime)
            mtime = mtime_of(&ds);
        close(fd);
    } else if (!S_ISDIR(st.st_mode)) {
        ref_state = ST_MISSING;
    }
    db_bind_text(c->ins, 1, name);
    db_bind_text(c->ins, 2, fs_type_name(st.st_mode));
    if (ref.status == FILE_OK)
        db_bind_textn(c->ins, 3, ref.data, ref.len);
    else
        sqlite3_bind_null(c->ins, 3);
    db_bind_text(c->ins, 4, ref_state);
    if (data_size >= 0)
        db_bind_int(c->ins, 5, data_size);
    else
        sqlite3_bind_null(c->ins, 5);
    if (tot >= 0)
        db_bind_int(c->ins, 6, tot);
    else
        sqlite3_bind_null(c->ins, 6);
    db_bind_int(c->ins, 7, mtime);
    file_buf_free(&ref);
    file_buf_free(&total);
    return scan_insert(&c->s, c->ins);
}

static int list_into(struct cd_scan *c, const char *rel, const char *sql, fs_entry_fn fn)
{
    if (db_prepare(c->s.db, sql, &c->ins, c->s.err, sizeof c->s.err) < 0)
        return -1;
    int rc = scan_walk(&c->s, rel, &c->dirfd, fn, c);
    sqlite3_finalize(c->ins);
    c->ins = NULL;
    return rc < 0 ? -1 : 0;
}

/* ---- image configs --------------------------------------------------------- */

static int parse_config(struct cd_scan *c, int blobfd, int64_t digest_id, const char *digest, sqlite3_stmt *cfg,
                        sqlite3_stmt *lay)
{
    const char *state = ST_OK;
    char why[256] = "";
    struct file_buf b = { 0 };
    cJSON *j = NULL;
    if (strncmp(digest, "sha256:", 7) != 0 || !id_is_hex64(digest + 7, strlen(digest + 7))) {
        state = ST_INVALID;
        snprintf(why, sizeof why, "not a sha256 digest");
    } else {
        fs_read_file(blobfd, digest + 7, CD_CONFIG_CAP, &b);
        if (b.status == FILE_MISSING)
            state = ST_MISSING;
        else if (b.status != FILE_OK) {
            state = ST_UNREADABLE;
            file_status_text(&b, why, sizeof why);
        } else {
            enum scan_phase was = scan_phase(&c->s, PHASE_PARSE);
            j = cJSON_ParseWithLength(b.data, b.len);
            scan_phase(&c->s, was);
            const cJSON *ids = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "rootfs"),
                                                                "diff_ids");
            if (!cJSON_IsArray(ids)) {
                state = ST_INVALID;
                snprintf(why, sizeof why, "no rootfs.diff_ids array");
            } else {
                char chain[DIGEST_LEN + 1] = "";
                int idx = 0;
                const cJSON *d;
                cJSON_ArrayForEach(d, ids) {
                    if (!cJSON_IsString(d) || !id_is_digest(d->valuestring, strlen(d->valuestring))) {
                        state = ST_INVALID;
                        snprintf(why, sizeof why, "diff_ids[%d] is not a sha256 digest", idx);
                        break;
                    }
                    id_chain_id(idx ? chain : NULL, d->valuestring, chain);
                    db_bind_int(lay, 1, digest_id);
                    db_bind_int(lay, 2, idx);
                    if (cd_intern_bind(c->strs, lay, 3, d->valuestring, strlen(d->valuestring), c->s.err,
                                       sizeof c->s.err) < 0 ||
                        cd_intern_bind(c->strs, lay, 4, chain, strlen(chain), c->s.err, sizeof c->s.err) < 0 ||
                        scan_insert(&c->s, lay) < 0) {
                        cJSON_Delete(j);
                        file_buf_free(&b);
                        return -1;
                    }
                    idx++;
                }
            }
        }
    }
    cJSON_Delete(j);
    file_buf_free(&b);
    db_bind_int(cfg, 1, digest_id);
    db_bind_text(cfg, 2, state);
    db_bind_text(cfg, 3, why[0] ? why : NULL);
    return scan_insert(&c->s, cfg);
}

/* A config to parse: its digest (interned) and text. */
struct config_ref {
    int64_t id;
    const char *digest;
    size_t len;
};

/* The order of the texts (SQLite's BINARY collation). */
static int cmp_config_ref(const void *pa, const void *pb)
{
    const struct config_ref *a = pa, *b = pb;
    int d = memcmp(a->digest, b->digest, a->len < b->len ? a->len : b->len);
    return d ? d : (a->len > b->len) - (a->len < b->len);
}

/* The digests the containerd.io/gc.ref.content.config labels name, in
 * text order (the files are read in the order of their names). */
static int config_refs(struct cd_scan *c, struct config_ref **out, size_t *n)
{
    static const char key[] = "containerd.io/gc.ref.content.config";
    sqlite3_stmt *sel;
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    int64_t key_id = cd_intern_find(c->strs, key, sizeof key - 1);
    if (key_id == 0)
        return 0;   /* no such label */
    if (db_prepare(c->s.db, "SELECT DISTINCT value FROM cdi_label WHERE key = ?1 AND value IS NOT NULL", &sel,
                   c->s.err, sizeof c->s.err) < 0)
        return -1;
    db_bind_int(sel, 1, key_id);
    while (sqlite3_step(sel) == SQLITE_ROW) {
        struct config_ref r = { .id = sqlite3_column_int64(sel, 0) };
        if (!(r.digest = cd_intern_text(c->strs, r.id, &r.len)))
            continue;
        *out = grow_array_or_die(*out, &cap, *n + 1, sizeof **out);
        (*out)[(*n)++] = r;
    }
    sqlite3_finalize(sel);
    if (*n > 1)
        qsort(*out, *n, sizeof **out, cmp_config_ref);
    return 0;
}

/* Every blob a containerd.io/gc.ref.content.config label names. */
static int scan_configs(struct cd_scan *c)
{
    sqlite3_stmt *cfg = NULL, *lay = NULL;
    struct config_ref *refs = NULL;
    size_t n = 0;
    int rc = -1;
    int blobfd = scan_open_path(&c->s, CD_BLOBS);
    if (config_refs(c, &refs, &n) < 0 ||
        db_prepare(c->s.db, "INSERT OR REPLACE INTO cdi_config(digest, state, error) VALUES (?1,?2,?3)", &cfg,
                   c->s.err, sizeof c->s.err) < 0 ||
        db_prepare(c->s.db, "INSERT OR REPLACE INTO cdi_config_layer(config, idx, diff_id, chain_id)"
                            " VALUES (?1,?2,?3,?4)", &lay, c->s.err, sizeof c->s.err) < 0)
        goto out;
    rc = 0;
    for (size_t i = 0; rc == 0 && !scan_stopped(&c->s) && i < n; i++) {
        /* a digest holding a NUL is read up to it (as the text it is) and
         * recorded under that text, which no label names */
        const char *digest = refs[i].digest;
        if (strlen(digest) != refs[i].len && !(refs[i].id = cd_intern_id(c->strs, digest, strlen(digest)))) {
            snprintf(c->s.err, sizeof c->s.err, "out of memory");
            rc = -1;
            break;
        }
        if (blobfd < 0) {
            db_bind_int(cfg, 1, refs[i].id);
            db_bind_text(cfg, 2, ST_MISSING);
            db_bind_text(cfg, 3, NULL);
            rc = scan_insert(&c->s, cfg);
        } else {
            rc = parse_config(c, blobfd, refs[i].id, digest, cfg, lay);
        }
    }
out:
    if (blobfd >= 0)
        close(blobfd);
    free(refs);
    sqlite3_finalize(cfg);
    sqlite3_finalize(lay);
    return rc;
}

/* ---- the pass -------------------------------------------------------------- */

static int scan_disk(struct cd_scan *c)
{
    if (list_into(c, CD_SNAPSHOTS, "INSERT OR REPLACE INTO cd_snapdir(name, type, has_fs, has_work, mtime)"
                                   " VALUES (?1,?2,?3,?4,?5)", on_snapdir) < 0)
        return -1;
    if (c->deep && !(c->chunk = malloc(HASH_CHUNK))) {
        snprintf(c->s.err, sizeof c->s.err, "out of memory");
        return -1;
    }
    if (list_into(c, CD_BLOBS, "INSERT OR REPLACE INTO cdi_blobfile(name, name_ok, type, size, mtime, sha256, error)"
                               " VALUES (?1,?2,?3,?4,?5,?6,?7)", on_blobfile) < 0)
        return -1;
    return list_into(c, CD_INGEST, "INSERT OR REPLACE INTO cd_ingestdir(name, type, ref, ref_state, data_size,"
                                   " total, mtime) VALUES (?1,?2,?3,?4,?5,?6,?7)", on_ingestdir);
}

/* Docker's containers/ of a Docker root on the containerd image store. */
static int scan_docker_containers(struct cd_scan *c, const char *docker_root)
{
    int fd = open(docker_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(c->s.err, sizeof c->s.err, "cannot open Docker root %s: %s", docker_root, strerror(errno));
        return -1;
    }
    struct scan d = { .db = c->s.db, .rootfd = fd, .stop = c->s.stop, .phase = PHASE_WALK, .phase_mark = clock_now() };
    int rc = scan_containers(&d);
    if (rc < 0)
        snprintf(c->s.err, sizeof c->s.err, "%s", d.err);
    for (int i = 0; i < PHASE_COUNT; i++)
        c->s.phase_seconds[i] += d.phase_seconds[i];
    close(fd);
    return rc;
}

/* The main lane: meta.db, then the configs its labels name. */
static int scan_main_lane(struct cd_scan *c)
{
    enum scan_phase was = scan_phase(&c->s, PHASE_PARSE);
    int rc = scan_cd_meta_db(c->s.db, c->strs, c->s.rootfd, CD_META_DB, c->s.err, sizeof c->s.err);
    scan_phase(&c->s, was);
    if (rc == 0 && !scan_stopped(&c->s))
        rc = scan_configs(c);
    return rc;
}

/* The worker lane: metadata.db, then the disk. */
static int scan_worker_lane(struct cd_scan *c)
{
    enum scan_phase was = scan_phase(&c->s, PHASE_PARSE);
    int rc = scan_cd_snapshot_db(c->s.db, c->strs, c->s.rootfd, CD_SNAP_DB, c->s.err, sizeof c->s.err);
    scan_phase(&c->s, was);
    if (rc == 0 && !scan_stopped(&c->s))
        rc = scan_disk(c);
    return rc;
}

struct cd_lane {
    struct cd_scan c;
    int (*run)(struct cd_scan *c);
    int rc;                  /* 0, -1 (c.s.err), -2 interrupted */
};

/* One lane in its own transaction (a par_pair job). */
static void run_lane(void *arg)
{
    struct cd_lane *lane = arg;
    struct scan *s = &lane->c.s;
    s->phase = PHASE_WALK;
    s->phase_mark = clock_now();
    lane->rc = db_exec(s->db, "BEGIN", s->err, sizeof s->err);
    if (lane->rc == 0)
        lane->rc = lane->run(&lane->c);
    if (lane->rc == 0 && scan_stopped(s))
        lane->rc = -2;
    scan_phase(s, PHASE_LOAD);
    char ignore[256];
    if (lane->rc == 0 && db_exec(s->db, "COMMIT", s->err, sizeof s->err) < 0)
        lane->rc = -1;
    else if (lane->rc != 0)
        db_exec(s->db, "ROLLBACK", ignore, sizeof ignore);
    scan_phase(s, PHASE_WALK);
}

static int lane_error(const struct cd_lane *lane, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s", lane->rc == -2 ? "interrupted" : lane->c.s.err[0] ? lane->c.s.err : "scan failed");
    return -1;
}

/* After the lanes: the merge, the interned strings, Docker's containers,
 * the meta rows, the indexes (their time is load time of the main lane). */
static int finish(struct cd_scan *c, const char *aux_path, const char *cd_root, const char *docker_root)
{
    struct db *db = c->s.db;
    char *err = c->s.err, now[32], ignore[256];
    size_t errlen = sizeof c->s.err;
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    enum scan_phase was = scan_phase(&c->s, PHASE_LOAD);
    int rc = db_merge_aux(db, aux_path, err, errlen) < 0 || db_exec(db, "BEGIN", err, errlen) < 0 ||
                     cd_intern_store(c->strs, db, err, errlen) < 0 ? -1 : 0;
    scan_phase(&c->s, was);
    if (rc == 0 && docker_root && !scan_stopped(&c->s))
        rc = scan_docker_containers(c, docker_root);
    if (rc == 0 && scan_stopped(&c->s))
        rc = -2;
    scan_phase(&c->s, PHASE_LOAD);
    if (rc == 0 && (db_set_meta(db, "root", cd_root) < 0 || db_set_meta(db, "scan_time", now) < 0 ||
                    db_set_meta(db, "store", "containerd") < 0 ||
                    (docker_root && db_set_meta(db, "docker_root", docker_root) < 0)))
        rc = -1;
    if (rc == 0 && (db_create_indexes(db, err, errlen) < 0 || db_exec(db, "COMMIT", err, errlen) < 0))
        rc = -1;
    else if (rc != 0)
        db_exec(db, "ROLLBACK", ignore, sizeof ignore);
    scan_phase(&c->s, PHASE_WALK);
    return rc;
}

static void fill_times(struct scan_times *t, const struct cd_lane *a, const struct cd_lane *b, bool threaded)
{
    if (!t)
        return;
    t->walk = a->c.s.phase_seconds[PHASE_WALK] + b->c.s.phase_seconds[PHASE_WALK];
    t->parse = a->c.s.phase_seconds[PHASE_PARSE] + b->c.s.phase_seconds[PHASE_PARSE];
    t->load = a->c.s.phase_seconds[PHASE_LOAD] + b->c.s.phase_seconds[PHASE_LOAD];
    t->threads = threaded ? 2 : 1;
}

int scan_containerd_root(struct db *db, const char *cd_root, const char *docker_root, bool deep,
                         volatile sig_atomic_t *stop, struct progress *progress, struct scan_times *times,
                         char *err, size_t errlen)
{
    int rootfd = open(cd_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) {
        snprintf(err, errlen, "cannot open containerd root %s: %s", cd_root, strerror(errno));
        return -1;
    }
    char aux_path[PATH_MAX];
    struct db aux;
    if (db_open_aux(&aux, aux_path, sizeof aux_path, err, errlen) < 0) {
        db_close(&aux);
        close(rootfd);
        return -1;
    }
    char ignore[256];
    db_exec(db, CD_SCANDB_MMAP_PRAGMA, ignore, sizeof ignore);   /* a speed-up only: its failure is ignored */
    struct cd_intern strs;
    cd_intern_init(&strs);
    struct cd_lane main_lane = { .c = { .s = { .db = db, .rootfd = rootfd, .stop = stop, .progress = progress },
                                        .strs = &strs, .deep = deep, .dirfd = -1 },
                                 .run = scan_main_lane };
    struct cd_lane worker = { .c = { .s = { .db = &aux, .rootfd = rootfd, .stop = stop }, .strs = &strs,
                                     .deep = deep, .dirfd = -1 },
                              .run = scan_worker_lane };
    main_lane.c.s.other_objects = &worker.c.s.objects;
    bool threaded = par_pair(run_lane, &main_lane, run_lane, &worker);
    db_close(&aux);
    free(worker.c.chunk);
    malloc_trim(0);
    int rc = 0;
    if (main_lane.rc != 0)
        rc = lane_error(&main_lane, err, errlen);
    else if (worker.rc != 0)
        rc = lane_error(&worker, err, errlen);
    else if ((rc = finish(&main_lane.c, aux_path, cd_root, docker_root)) != 0)
        snprintf(err, errlen, "%s", rc == -2 ? "interrupted" : main_lane.c.s.err[0] ? main_lane.c.s.err : "scan failed");
    unlink(aux_path);
    close(rootfd);
    cd_intern_free(&strs);
    fill_times(times, &main_lane, &worker, threaded);
    return rc;
}
