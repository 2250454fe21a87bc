/* verify.c — the --deep pass: selects layers (all, --layer, --image), opens
 * each one's layerdb dir and overlay2 diff/ without following symlinks, runs
 * them through deep_verify_all in batches (bounded open fds), and records
 * results and findings in the scan database. Progress on a tty. */
#include "verify.h"
#include "exit_codes.h"
#include "deep.h"
#include "fsutil.h"
#include "ids.h"
#include "text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define VERIFY_BATCH 128   /* layers in flight: two fds each */

struct target {
    char chain_id[HEX64_LEN + 1];
    char diff_id[DIGEST_LEN + 1];
    char cache_id[HEX64_LEN + 1];
};

struct verify_ctx {
    struct db *db;
    sqlite3_stmt *ins_finding, *ins_layer;
    int failed_db;
    size_t total, done;
    uint64_t batch_hashed; /* this batch's running total when the last layer finished */
    uint64_t hashed;       /* bytes hashed over all batches */
    struct progress *prog;   /* the run's progress line (a tty, not -q) */
    char err[256];
};

/* Layers whose metadata and overlay2 dir are sound: the others are already
 * findings of the metadata checks. Selected by --layer / --image when given. */
static const char *const TARGETS_SQL =
    "SELECT l.chain_id, 'sha256:' || l.diff, l.cache_id FROM layer l"
    " JOIN overlay_dir o ON o.name = l.cache_id AND o.has_diff"
    " WHERE l.name_ok AND l.diff_state = 'ok' AND l.cache_id_state = 'ok'"
    "   AND (?1 = 0 OR l.chain_id IN (SELECT value FROM sel_layer))"
    " ORDER BY l.chain_id";

static int select_by_options(struct db *db, const struct options *o, char *err, size_t errlen)
{
    if (db_exec(db, "CREATE TEMP TABLE sel_layer (value TEXT PRIMARY KEY)", err, errlen) < 0)
        return EXIT_OPERATIONAL;
    sqlite3_stmt *add_layer, *add_image;
    if (db_prepare(db, "INSERT OR IGNORE INTO sel_layer SELECT chain_id FROM layer WHERE chain_id = ?1",
                   &add_layer, err, errlen) < 0)
        return EXIT_OPERATIONAL;
    if (db_prepare(db, "INSERT OR IGNORE INTO sel_layer SELECT il.chain_id FROM image_layer il"
                       " WHERE il.chain_id IS NOT NULL AND il.image_id IN"
                       " (SELECT id FROM image WHERE id = ?1 OR (length(?1) >= 12 AND substr(id, 1, length(?1)) = ?1)"
                       "  UNION SELECT image_id FROM tag WHERE ref = ?1 OR ref = ?1 || ':latest')",
                   &add_image, err, errlen) < 0) {
        sqlite3_finalize(add_layer);
        return EXIT_OPERATIONAL;
    }
    int code = 0;
    for (size_t i = 0; !code && i < o->layer_count; i++) {
        const char *v = o->layers[i];
        db_bind_text(add_layer, 1, strncmp(v, "sha256:", 7) == 0 ? v + 7 : v);
        db_step_reset(add_layer, err, errlen);
        if (sqlite3_changes(db->h) == 0) {
            snprintf(err, errlen, "--layer %s: no such layer", v);
            code = EXIT_USAGE;
        }
    }
    for (size_t i = 0; !code && i < o->image_count; i++) {
        const char *v = o->images[i];
        db_bind_text(add_image, 1, strncmp(v, "sha256:", 7) == 0 ? v + 7 : v);
        db_step_reset(add_image, err, errlen);
        if (sqlite3_changes(db->h) == 0 &&
            db_query_int(db, "SELECT count(*) FROM sel_layer", 0) == 0) {
            snprintf(err, errlen, "--image %s: no such image (or it has no layers)", v);
            code = EXIT_USAGE;
        }
    }
    sqlite3_finalize(add_layer);
    sqlite3_finalize(add_image);
    return code;
}

static int load_targets(struct db *db, const struct options *o, struct target **out, size_t *n, char *err, size_t errlen)
{
    sqlite3_stmt *q;
    *out = NULL;
    *n = 0;
    if (db_prepare(db, TARGETS_SQL, &q, err, errlen) < 0)
        return EXIT_OPERATIONAL;
    sqlite3_bind_int(q, 1, o->layer_count || o->image_count);
    size_t cap = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 256;
            struct target *v = realloc(*out, cap * sizeof *v);
            if (!v) {
                sqlite3_finalize(q);
                snprintf(err, errlen, "out of memory");
                return EXIT_OPERATIONAL;
            }
            *out = v;
        }
        struct target *t = &(*out)[(*n)++];
        snprintf(t->chain_id, sizeof t->chain_id, "%s", (const char *)sqlite3_column_text(q, 0));
        snprintf(t->diff_id, sizeof t->diff_id, "%s", (const char *)sqlite3_column_text(q, 1));
        snprintf(t->cache_id, sizeof t->cache_id, "%s", (const char *)sqlite3_column_text(q, 2));
    }
    sqlite3_finalize(q);
    return 0;
}

static void on_finding(void *arg, const char *chain_id, const char *check, const char *detail)
{
    struct verify_ctx *v = arg;
    db_bind_text(v->ins_finding, 1, chain_id);
    db_bind_text(v->ins_finding, 2, check);
    db_bind_text(v->ins_finding, 3, detail);
    if (db_step_reset(v->ins_finding, v->err, sizeof v->err) < 0)
        v->failed_db = 1;
}

static void on_progress(void *arg, const struct deep_layer_job *job, int rc, int e, size_t done, size_t total,
                        const struct deep_stats *totals)
{
    (void)done;
    (void)total;
    struct verify_ctx *v = arg;
    v->done++;
    /* totals are per deep_verify_all call (one batch) and updated under the
     * same lock just before this call: the difference is this layer's. */
    uint64_t bytes = totals->bytes_hashed - v->batch_hashed;
    v->batch_hashed = totals->bytes_hashed;
    v->hashed += bytes;
    db_bind_text(v->ins_layer, 1, job->chain_id);
    db_bind_text(v->ins_layer, 2, rc < 0 ? "failed" : "verified");
    db_bind_text(v->ins_layer, 3, rc < 0 ? strerror(e) : NULL);
    sqlite3_bind_int64(v->ins_layer, 4, (sqlite3_int64)bytes);
    if (db_step_reset(v->ins_layer, v->err, sizeof v->err) < 0)
        v->failed_db = 1;
    if (v->done == v->total || progress_due(v->prog)) {   /* the last count always shows */
        char size[32];
        progress_show(v->prog, "deep: %zu/%zu layers, %s hashed", v->done, v->total,
                      text_size((int64_t)v->hashed, 0, size, sizeof size));
    }
}

/* Open the jobs of one batch; a layer whose dirs vanished is skipped. */
static size_t open_batch(int rootfd, const struct target *t, size_t n, struct deep_layer_job *jobs, int *fds)
{
    char path[256];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "image/overlay2/layerdb/sha256/%.64s", t[i].chain_id);
        int lfd = openat(rootfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        snprintf(path, sizeof path, "overlay2/%.64s/diff", t[i].cache_id);
        int dfd = lfd >= 0 ? openat(rootfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
        if (lfd < 0 || dfd < 0) {
            if (lfd >= 0)
                close(lfd);
            continue;
        }
        fds[2 * k] = lfd;
        fds[2 * k + 1] = dfd;
        jobs[k] = (struct deep_layer_job){ .chain_id = t[i].chain_id, .layer_dirfd = lfd, .diff_dirfd = dfd,
                                           .diff_id = t[i].diff_id };
        k++;
    }
    return k;
}

/* Safe-path check: every component below the root is plain (no traversal). */
static bool targets_safe(const struct target *t)
{
    return id_is_hex64(t->chain_id, strlen(t->chain_id)) &&
           (id_is_hex64(t->cache_id, strlen(t->cache_id)) || id_is_buildkit(t->cache_id, strlen(t->cache_id)));
}

static int run_batches(int rootfd, struct target *targets, size_t n, const struct options *o, struct verify_ctx *v,
                       volatile sig_atomic_t *stop)
{
    struct deep_layer_job jobs[VERIFY_BATCH];
    int fds[2 * VERIFY_BATCH];
    for (size_t at = 0; at < n && !(stop && *stop) && !v->failed_db; at += VERIFY_BATCH) {
        size_t want = n - at < VERIFY_BATCH ? n - at : VERIFY_BATCH;
        struct target batch[VERIFY_BATCH];
        size_t m = 0;
        for (size_t i = 0; i < want; i++)
            if (targets_safe(&targets[at + i]))
                batch[m++] = targets[at + i];
        size_t k = open_batch(rootfd, batch, m, jobs, fds);
        v->batch_hashed = 0;
        deep_verify_all(jobs, k, opts_threads(o), on_finding, on_progress, v, NULL);
        for (size_t i = 0; i < 2 * k; i++)
            close(fds[i]);
    }
    if (v->failed_db)
        return EXIT_OPERATIONAL;
    return stop && *stop ? EXIT_INTERRUPTED : 0;
}

int verify_layers(struct db *db, const char *root, const struct options *o, volatile sig_atomic_t *stop,
                  struct progress *prog, char *err, size_t errlen)
{
    int code = select_by_options(db, o, err, errlen);
    struct target *targets = NULL;
    size_t n = 0;
    if (!code)
        code = load_targets(db, o, &targets, &n, err, errlen);
    int rootfd = code ? -1 : open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (!code && rootfd < 0) {
        snprintf(err, errlen, "cannot open root %s: %s", root, strerror(errno));
        code = EXIT_OPERATIONAL;
    }
    struct verify_ctx v = { .db = db, .total = n, .prog = prog };
    if (!code && (db_prepare(db, "INSERT INTO deep_finding(chain_id, check_name, detail) VALUES (?1, ?2, ?3)",
                             &v.ins_finding, err, errlen) < 0 ||
                  db_prepare(db, "INSERT OR REPLACE INTO deep_layer(chain_id, state, error, bytes) VALUES (?1, ?2, ?3, ?4)",
                             &v.ins_layer, err, errlen) < 0))
        code = EXIT_OPERATIONAL;
    if (!code && db_exec(db, "BEGIN", err, errlen) < 0)
        code = EXIT_OPERATIONAL;
    if (!code) {
        code = run_batches(rootfd, targets, n, o, &v, stop);
        if (code == EXIT_OPERATIONAL)
            snprintf(err, errlen, "%s", v.err);
        db_exec(db, code ? "ROLLBACK" : "COMMIT", v.err, sizeof v.err);
        if (!code)
            db_exec(db, "UPDATE deep_layer SET state = 'findings' WHERE state = 'verified' AND chain_id IN"
                        " (SELECT chain_id FROM deep_finding)", v.err, sizeof v.err);
    }
    sqlite3_finalize(v.ins_finding);
    sqlite3_finalize(v.ins_layer);
    if (rootfd >= 0)
        close(rootfd);
    free(targets);
    return code;
}
