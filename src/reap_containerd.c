/* reap_containerd.c — the reaper on a containerd root: `--reap` (dry run)
 * and `--reap --apply` for what lives on disk only.
 *
 * Owns: which findings of a containerd root become items, what each may
 * remove, how it is re-verified, and the plan's text and JSON. Everything
 * that changes the store is the apply engine's (act.h): the liveness
 * refusal (with this store's probe, live_containerd.c), the lock, the
 * journal, the trash and its full-disk path, the symlink-safe delete, the
 * apply loop with SIGINT/SIGTERM, the exit code, the JSON envelope.
 *
 * Items (one path each, removed by a rename into the trash and a delete
 * that never follows a symlink nor leaves the root's file system):
 *
 *   snapshot-dir-blocks-create  io.containerd.snapshotter.v1.overlayfs/snapshots/<sequence+1>
 *   snapshot-dir-orphaned       .../snapshots/<id> or .../snapshots/new-*
 *   ingest-leftover             io.containerd.content.v1.content/ingest/<64 hex>,
 *                               only when no namespace records the ingest
 *   content-blob-orphaned       io.containerd.content.v1.content/blobs/sha256/<64 hex>
 *
 * Right before each removal: containerd still not live; the path is still
 * the inode the plan saw, older than --min-age, not mounted; and meta.db
 * and metadata.db, read again (whenever they changed), still read cleanly
 * and still do not name it: no snapshot with that id (metadata.db); no
 * content record and no lease holding that digest; no ingest record for
 * that dir and no lease holding the ref its ref file names (meta.db).
 * meta.db and metadata.db are never written: records are containerd's to
 * remove (with its daemon up): reap_containerd_cmds.c prints the ctr
 * commands that make its GC do it. With --quarantine an item is moved into
 * the quarantine (reap_quarantine.c, the same mechanism as for Docker)
 * instead of the trash; --restore and --purge-quarantine work on it. */
#include "reap_containerd.h"
#include "reap_containerd_cmds.h"
#include "reap_quarantine.h"
#include "act.h"
#include "db.h"
#include "exit_codes.h"
#include "fsutil.h"
#include "grow.h"
#include "ids.h"
#include "live.h"
#include "live_containerd.h"
#include "pipeline.h"
#include "scan_containerd.h"
#include "parallel.h"
#include "sizes.h"
#include "text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum cd_kind { K_BLOCKS_CREATE, K_SNAPDIR, K_INGEST, K_BLOB };

struct cd_item {
    enum cd_kind kind;
    size_t seq;
    char *check, *severity, *object, *why, *path;
    bool have_id;
    dev_t dev;
    ino_t ino;
    mode_t type;
    int64_t bytes;
    enum act_result result;
    char *error;
    int64_t freed;
};

struct cd_plan {
    struct cd_item *items;
    size_t count, cap;
    int64_t young_skipped, errors_left, garbage_left, warnings;
    char **notes;
    size_t note_count, note_cap;
    struct cd_cmds cmds;       /* record garbage: ctr commands, never run */
};

/* A fresh read of meta.db and metadata.db for the re-verification. */
struct cd_refs {
    struct db db;
    struct cd_intern strs;   /* the ids of db's interned strings */
    bool open;
    bool meta_ok, snap_ok;
    uint64_t sig;
};

struct cd_reaper {
    const struct options *o;
    struct options run_o;        /* o with root = the containerd root: what the run locks */
    char cd_root[PATH_MAX];      /* (a Docker root on the containerd image store: the one it used) */
    struct act_run run;
    struct act_counts counts;
    struct cd_refs refs;
    int64_t planned_bytes, freed_bytes, moved_bytes, trash_finished_bytes;
    size_t trash_finished, trash_pending;
    struct quarantine q;       /* --quarantine: moved there instead of deleted */
    bool quarantine;
    char *quarantine_dir;      /* DIR/<run> */
};

/* ---- which paths may be touched --------------------------------------- */

static bool valid_snapdir(const char *s)
{
    size_t n = strlen(s);
    if (strncmp(s, "new-", 4) == 0)
        return n > 4 && id_is_safe_component(s, n);
    if (n == 0 || n > 18 || s[0] < '1' || s[0] > '9')
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static bool valid_hex64(const char *s) { return id_is_hex64(s, strlen(s)); }

static const struct {
    const char *prefix;   /* with the trailing '/' */
    bool (*valid)(const char *name);
} allowed_parents[] = {
    { CD_SNAPSHOTS "/", valid_snapdir },
    { CD_BLOBS "/", valid_hex64 },
    { CD_INGEST "/", valid_hex64 },
};

bool reap_containerd_path_allowed(const char *relpath)
{
    for (size_t i = 0; i < sizeof allowed_parents / sizeof allowed_parents[0]; i++) {
        size_t n = strlen(allowed_parents[i].prefix);
        if (strncmp(relpath, allowed_parents[i].prefix, n) == 0 && !strchr(relpath + n, '/'))
            return allowed_parents[i].valid(relpath + n);
    }
    return false;
}

/* ---- the plan ---------------------------------------------------------- */

static void note(struct cd_plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct cd_plan *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    act_note(&p->notes, &p->note_count, &p->note_cap, fmt, ap);
    va_end(ap);
}

static const char *col(sqlite3_stmt *q, int i)
{
    return (const char *)sqlite3_column_text(q, i);
}

static void free_item(struct cd_item *it)
{
    free(it->check);
    free(it->severity);
    free(it->object);
    free(it->why);
    free(it->path);
    free(it->error);
}

static void plan_free(struct cd_plan *p)
{
    for (size_t i = 0; i < p->count; i++)
        free_item(&p->items[i]);
    free(p->items);
    act_free_strings(p->notes, p->note_count);
    cd_cmds_free(&p->cmds);
    memset(p, 0, sizeof *p);
}

/* The item kind a finding becomes, or -1 (not the reaper's). */
static int kind_of(const char *check)
{
    if (strcmp(check, "snapshot-dir-blocks-create") == 0)
        return K_BLOCKS_CREATE;
    if (strcmp(check, "snapshot-dir-orphaned") == 0)
        return K_SNAPDIR;
    if (strcmp(check, "ingest-leftover") == 0)
        return K_INGEST;
    if (strcmp(check, "content-blob-orphaned") == 0)
        return K_BLOB;
    return -1;
}

/* The check declares "-- action: reap"; its finding is garbage, or an error
 * at the severity the check declares (the dir that blocks the next create):
 * an override to another severity keeps it. */
static bool wanted(const struct catalog *cat, const char *check, const char *sev)
{
    const struct check *c = catalog_find((struct catalog *)cat, check);
    if (!c || c->action != ACTION_REAP || c->store != STORE_CONTAINERD)
        return false;
    return strcmp(sev, "garbage") == 0 || (strcmp(sev, "error") == 0 && c->default_severity == SEV_ERROR);
}

static int cmp_items(const void *pa, const void *pb)
{
    const struct cd_item *a = pa, *b = pb;
    if (a->kind != b->kind)
        return (int)a->kind - (int)b->kind;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Take one finding: lstat its path now (identity for the re-verification). */
static bool add_item(struct cd_plan *p, struct db *db, int rootfd, enum cd_kind kind,
                     const char *check, const char *sev, const char *object, const char *path, const char *why)
{
    if (!path || !reap_containerd_path_allowed(path)) {
        note(p, "%s %s: refusing to touch %s", check, object, path ? path : "(no path)");
        return false;
    }
    if (kind == K_INGEST) {
        const char *dir = path + strlen(CD_INGEST "/");
        sqlite3_stmt *q;
        char err[256];
        bool recorded = true;
        if (db_prepare(db, "SELECT 1 FROM cd_ingest WHERE dir = ?1", &q, err, sizeof err) == 0) {
            db_bind_text(q, 1, dir);
            recorded = sqlite3_step(q) == SQLITE_ROW;
            sqlite3_finalize(q);
        }
        if (recorded) {
            note(p, "ingest-leftover %s: a namespace still records it (expired): containerd's GC removes it "
                 "with the daemon up", object);
            return false;
        }
    }
    struct stat st;
    if (!act_lstat(rootfd, path, &st)) {
        if (errno != ENOENT)
            note(p, "%s %s: cannot use %s: %s", check, object, path, strerror(errno));
        return false;
    }
    p->items = grow_array_or_die(p->items, &p->cap, p->count + 1, sizeof *p->items);
    struct cd_item *it = &p->items[p->count];
    memset(it, 0, sizeof *it);
    it->kind = kind;
    it->seq = p->count++;
    it->check = act_strdup(check);
    it->severity = act_strdup(sev);
    it->object = act_strdup(object);
    it->why = act_strdup(why);
    it->path = act_strdup(path);
    it->have_id = true;
    it->dev = st.st_dev;
    it->ino = st.st_ino;
    it->type = st.st_mode & S_IFMT;
    it->result = ACT_PLANNED;   /* its bytes: measure_items */
    return true;
}

struct measure_ctx {
    struct cd_plan *p;
    const char *root;
};

/* The bytes of item i (a du walk; on par_for's threads, each its own slot). */
static void measure_item(void *ctx, size_t i)
{
    struct measure_ctx *m = ctx;
    m->p->items[i].bytes = sizes_of_path(m->root, m->p->items[i].path);
}

static void measure_items(struct cd_plan *p, const char *root)
{
    struct measure_ctx m = { p, root };
    par_for(p->count, SIZES_FDS_PER_WALK, measure_item, &m);
}

static int plan_build(struct cd_plan *p, struct db *db, const char *root, const struct catalog *cat, char *err,
                      size_t errlen)
{
    memset(p, 0, sizeof *p);
    int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) {
        snprintf(err, errlen, "cannot open root %.900s: %s", root, strerror(errno));
        return -1;
    }
    sqlite3_stmt *q;
    if (db_prepare(db, "SELECT check_name, severity, object, path, detail FROM finding WHERE young = 0 ORDER BY seq",
                   &q, err, errlen) < 0) {
        close(rootfd);
        return -1;
    }
    int64_t garbage = 0, errors = 0, planned_garbage = 0, planned_errors = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *check = col(q, 0), *sev = col(q, 1);
        if (!check || !sev || !col(q, 2))
            continue;
        bool is_garbage = strcmp(sev, "garbage") == 0, is_error = strcmp(sev, "error") == 0;
        garbage += is_garbage;
        errors += is_error;
        p->warnings += strcmp(sev, "warning") == 0;
        int kind = kind_of(check);
        if (kind < 0 || !wanted(cat, check, sev))
            continue;
        char *object = act_strdup(col(q, 2)), *path = act_strdup(col(q, 3)), *why = act_strdup(col(q, 4));
        if (add_item(p, db, rootfd, (enum cd_kind)kind, check, sev, object, path, why ? why : "")) {
            planned_garbage += is_garbage;
            planned_errors += is_error;
        }
        free(object);
        free(path);
        free(why);
    }
    sqlite3_finalize(q);
    close(rootfd);
    p->garbage_left = garbage - planned_garbage;
    p->errors_left = errors - planned_errors;
    p->young_skipped = db_query_int(db, "SELECT count(*) FROM finding WHERE young = 1", 0);
    measure_items(p, root);
    if (p->count > 1)
        qsort(p->items, p->count, sizeof *p->items, cmp_items);   /* items is NULL when there are none */
    return cd_cmds_build(&p->cmds, db, root, err, errlen);
}

static int64_t plan_bytes(const struct cd_plan *p)
{
    int64_t n = 0;
    for (size_t i = 0; i < p->count; i++)
        n += p->items[i].bytes;
    return n;
}

/* ---- re-verification: meta.db and metadata.db read again --------------- */

static void refs_close(struct cd_refs *r)
{
    if (r->open) {
        db_close(&r->db);
        cd_intern_free(&r->strs);
    }
    r->open = false;
}

/* Changes whenever either database file is written or replaced. */
static uint64_t refs_signature(int rootfd)
{
    static const char *const files[] = { CD_META_DB, CD_SNAP_DB };
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < 2; i++) {
        struct stat st;
        uint64_t v[5] = { 0, 0, 0, 0, 0 };
        if (act_lstat(rootfd, files[i], &st)) {
            v[0] = (uint64_t)st.st_dev;
            v[1] = (uint64_t)st.st_ino;
            v[2] = (uint64_t)st.st_size;
            v[3] = (uint64_t)st.st_mtim.tv_sec;
            v[4] = (uint64_t)st.st_mtim.tv_nsec ^ ((uint64_t)st.st_ctim.tv_nsec << 1) ^ (uint64_t)st.st_ctim.tv_sec;
        }
        for (size_t k = 0; k < 5; k++)
            h = (h ^ v[k]) * 1099511628211ull;
    }
    return h;
}

static int refs_load(struct cd_refs *r, int rootfd, char *err, size_t errlen)
{
    uint64_t sig = refs_signature(rootfd);
    if (r->open && sig == r->sig)
        return 0;
    refs_close(r);
    if (db_open(&r->db, NULL, err, errlen) < 0)
        return -1;
    cd_intern_init(&r->strs);
    r->open = true;
    r->sig = sig;
    if (db_exec(&r->db, "BEGIN", err, errlen) < 0 ||
        scan_cd_meta_db(&r->db, &r->strs, rootfd, CD_META_DB, err, errlen) < 0 ||
        scan_cd_snapshot_db(&r->db, &r->strs, rootfd, CD_SNAP_DB, err, errlen) < 0 ||
        cd_intern_store(&r->strs, &r->db, err, errlen) < 0 || db_exec(&r->db, "COMMIT", err, errlen) < 0) {
        refs_close(r);
        return -1;
    }
    r->meta_ok = db_query_int(&r->db, "SELECT count(*) FROM cd_db WHERE name = 'meta.db' AND state = 'ok'", 0) == 1;
    r->snap_ok = db_query_int(&r->db, "SELECT count(*) FROM cd_db WHERE name = 'metadata.db' AND state = 'ok'", 0) == 1;
    return 0;
}

/* Does the query with ?1 (and ?2) bound return a row? True on any error. */
static bool refs_has(struct cd_refs *r, const char *sql, const char *a, const char *b)
{
    sqlite3_stmt *q;
    char err[256];
    if (db_prepare(&r->db, sql, &q, err, sizeof err) < 0)
        return true;
    db_bind_text(q, 1, a);
    if (b)
        db_bind_text(q, 2, b);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc != SQLITE_DONE;
}

/* Does meta.db have a content record of digest (in any namespace)? True
 * on any error. */
static bool refs_has_blob(struct cd_refs *r, const char *digest)
{
    int64_t id = cd_intern_find(&r->strs, digest, strlen(digest));
    if (id == 0)
        return false;   /* no record names it */
    sqlite3_stmt *q;
    char err[256];
    if (db_prepare(&r->db, "SELECT 1 FROM cdi_blob WHERE digest = ?1", &q, err, sizeof err) < 0)
        return true;
    db_bind_int(q, 1, id);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc != SQLITE_DONE;
}

/* The ref file of an ingest dir: "<ns>/<seq>/<ref>" (the backend ref). */
static bool ingest_ref(int rootfd, const char *path, char *ns, size_t nslen, char *ref, size_t reflen)
{
    char rel[PATH_MAX];
    snprintf(rel, sizeof rel, "%s/ref", path);
    const char *base;
    int fd = act_open_parent(rootfd, rel, &base);
    if (fd < 0)
        return false;
    char *data = NULL;
    size_t len = 0;
    int rc = act_read_raw(fd, base, 4096, &data, &len);
    close(fd);
    if (rc != 1 || !data)
        return false;
    char *text = malloc(len + 1);
    bool ok = false;
    if (text) {
        memcpy(text, data, len);
        text[len] = '\0';
        char *s1 = strchr(text, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
        if (s1 && s2 && !memchr(text, '\0', len)) {
            snprintf(ns, nslen, "%.*s", (int)(s1 - text), text);
            snprintf(ref, reflen, "%s", s2 + 1);
            ok = true;
        }
    }
    free(text);
    free(data);
    return ok;
}

/* Is the item still unreferenced? false with why. */
static bool still_unreferenced(struct cd_reaper *r, const struct cd_item *it, char *why, size_t whylen)
{
    char err[512] = "";
    if (refs_load(&r->refs, r->run.rootfd, err, sizeof err) < 0) {
        snprintf(why, whylen, "cannot read meta.db and metadata.db again: %s", err);
        return false;
    }
    struct cd_refs *refs = &r->refs;
    const char *name = strrchr(it->path, '/') + 1;
    switch (it->kind) {
    case K_BLOCKS_CREATE:
    case K_SNAPDIR:
        if (!refs->snap_ok) {
            snprintf(why, whylen, "metadata.db cannot be read cleanly now");
            return false;
        }
        if (strncmp(name, "new-", 4) != 0 &&
            refs_has(refs, "SELECT 1 FROM cd_backend WHERE id = CAST(?1 AS INTEGER)", name, NULL)) {
            snprintf(why, whylen, "metadata.db has a snapshot with id %s now", name);
            return false;
        }
        return true;
    case K_BLOB: {
        char digest[80];
        snprintf(digest, sizeof digest, "sha256:%s", name);
        if (!refs->meta_ok) {
            snprintf(why, whylen, "meta.db cannot be read cleanly now");
            return false;
        }
        if (refs_has_blob(refs, digest)) {
            snprintf(why, whylen, "meta.db has a content record for %s now", digest);
            return false;
        }
        if (refs_has(refs, "SELECT 1 FROM cd_lease_resource WHERE kind = 'content' AND id = ?1", digest, NULL)) {
            snprintf(why, whylen, "a lease holds %s", digest);
            return false;
        }
        return true;
    }
    case K_INGEST: {
        if (!refs->meta_ok) {
            snprintf(why, whylen, "meta.db cannot be read cleanly now");
            return false;
        }
        if (refs_has(refs, "SELECT 1 FROM cd_ingest WHERE dir = ?1", name, NULL)) {
            snprintf(why, whylen, "a namespace records this ingest now");
            return false;
        }
        char ns[256], ref[2048];
        if (ingest_ref(r->run.rootfd, it->path, ns, sizeof ns, ref, sizeof ref) &&
            (refs_has(refs, "SELECT 1 FROM cd_ingest WHERE ns = ?1 AND ref = ?2", ns, ref) ||
             refs_has(refs, "SELECT 1 FROM cd_lease_resource WHERE kind = 'ingest' AND ns = ?1 AND id = ?2", ns, ref))) {
            snprintf(why, whylen, "its ref %.200s/%.500s is recorded or held by a lease", ns, ref);
            return false;
        }
        return true;
    }
    }
    return false;
}

static bool verify_item(struct cd_reaper *r, const struct cd_item *it, struct stat *st, char *why, size_t whylen)
{
    if (!reap_containerd_path_allowed(it->path)) {
        snprintf(why, whylen, "refusing to touch %s", it->path);
        return false;
    }
    if (!act_lstat(r->run.rootfd, it->path, st)) {
        snprintf(why, whylen, "%s vanished since the scan", it->path);
        return false;
    }
    if (!it->have_id || st->st_dev != it->dev || st->st_ino != it->ino) {
        snprintf(why, whylen, "%s was replaced since the scan", it->path);
        return false;
    }
    if ((int64_t)st->st_mtime > (int64_t)time(NULL) - r->o->min_age) {
        snprintf(why, whylen, "%s changed recently (younger than --min-age)", it->path);
        return false;
    }
    if (live_path_is_mounted(r->run.root, it->path)) {
        snprintf(why, whylen, "%s is mounted", it->path);
        return false;
    }
    return still_unreferenced(r, it, why, whylen);
}

/* ---- apply ------------------------------------------------------------- */

static void apply_item(struct cd_reaper *r, struct cd_item *it)
{
    char why[1024] = "", err[1024] = "";
    struct stat st;
    if (!verify_item(r, it, &st, why, sizeof why)) {
        it->result = ACT_SKIPPED;
        it->error = act_strdup(why);
        if (act_journal_write(&r->run.journal, it->check, it->object, it->path, it->bytes, "verify", "skipped", why,
                              NULL) < 0)
            r->run.journal_broken = true;
        r->counts.skipped++;
        return;
    }
    const char *base;
    int dirfd = act_open_parent(r->run.rootfd, it->path, &base);
    int rc = -1;
    if (dirfd < 0) {
        snprintf(err, sizeof err, "cannot open the dir of %s: %s", it->path, strerror(errno));
    } else if (r->quarantine) {
        rc = reap_quarantine_move(&r->q, &r->run, r->quarantine_dir, it->check, it->object, it->bytes, it->path,
                                  dirfd, base, &st, err, sizeof err);
        close(dirfd);
    } else {
        rc = act_trash_remove(&r->run, it->check, it->object, it->path, dirfd, base, it->dev, it->ino, &st,
                              &it->freed, err, sizeof err);
        close(dirfd);
    }
    if (rc < 0 || r->run.journal_broken) {
        it->result = ACT_FAILED;
        it->error = act_strdup(err[0] ? err : "cannot write the journal");
        r->counts.failed++;
        return;
    }
    it->result = ACT_DONE;
    r->counts.done++;
    r->freed_bytes += it->freed;
    if (r->quarantine)
        r->moved_bytes += it->bytes;
}

static void apply_one(struct act_run *run, void *plan, size_t i)
{
    struct cd_reaper *r = (struct cd_reaper *)((char *)run - offsetof(struct cd_reaper, run));
    apply_item(r, &((struct cd_plan *)plan)->items[i]);
}

static void set_result(void *plan, size_t i, enum act_result result)
{
    ((struct cd_plan *)plan)->items[i].result = result;
}

/* On a full disk the largest dir goes first: it can become the trash. */
static void put_space_first(struct cd_reaper *r, struct cd_plan *p)
{
    if (r->quarantine || act_trash_ready(&r->run) || !fs_errno_is_full(errno))
        return;
    size_t best = p->count;
    for (size_t i = 0; i < p->count; i++)
        if (p->items[i].type == S_IFDIR && (best == p->count || p->items[i].bytes > p->items[best].bytes))
            best = i;
    if (best == p->count || best == 0)
        return;
    struct cd_item first = p->items[best];
    memmove(&p->items[1], &p->items[0], best * sizeof *p->items);
    p->items[0] = first;
}

/* ---- output ------------------------------------------------------------ */

static cJSON *plan_json(const struct cd_reaper *r, const struct cd_plan *p)
{
    const struct act_counts *c = &r->counts;
    cJSON *o = act_json_begin(!c->apply ? "dry-run" : r->quarantine ? "quarantine" : "apply", r->run.root);
    cJSON_AddStringToObject(o, "store", "containerd");
    act_json_add_escaped(o, "quarantine", r->quarantine_dir);
    cJSON *items = cJSON_AddArrayToObject(o, "items");
    for (size_t i = 0; i < p->count; i++) {
        const struct cd_item *it = &p->items[i];
        cJSON *steps;
        cJSON *io = act_json_item_begin(it->check, it->severity, it->object, it->why, it->bytes, &steps);
        act_json_add_step(steps, r->quarantine ? "quarantine" : "remove", it->path);
        act_json_item_end(io, it->result, it->error, it->freed);
        cJSON_AddItemToArray(items, io);
    }
    cd_cmds_add_json(items, &p->cmds);
    cJSON *sum = act_json_add_summary(o, p->notes, p->note_count, p->count);
    cJSON_AddNumberToObject(sum, "paths", (double)p->count);
    cJSON_AddNumberToObject(sum, "planned_bytes", (double)r->planned_bytes);
    act_json_add_counts(sum, c);
    cJSON_AddNumberToObject(sum, "freed_bytes", (double)r->freed_bytes);
    cJSON_AddNumberToObject(sum, "moved_bytes", (double)r->moved_bytes);
    cJSON_AddNumberToObject(sum, "young_skipped", (double)p->young_skipped);
    cJSON_AddNumberToObject(sum, "errors_left", (double)p->errors_left);
    cJSON_AddNumberToObject(sum, "garbage_left", (double)p->garbage_left);
    cJSON_AddNumberToObject(sum, "ctr_commands", (double)p->cmds.count);
    cJSON_AddNumberToObject(sum, "ctr_bytes", (double)p->cmds.bytes);
    cJSON_AddNumberToObject(sum, "warnings", (double)p->warnings);
    cJSON_AddNumberToObject(sum, "trash_finished", (double)r->trash_finished);
    cJSON_AddNumberToObject(sum, "trash_finished_bytes", (double)r->trash_finished_bytes);
    cJSON_AddNumberToObject(sum, "trash_pending", (double)r->trash_pending);
    act_json_add_outcome(sum, c);
    return o;
}

static void print_plan(FILE *out, const struct cd_reaper *r, const struct cd_plan *p)
{
    const struct options *o = r->o;
    const struct act_counts *c = &r->counts;
    if (o->json) {
        act_json_print(out, plan_json(r, p));
        return;
    }
    if (o->quiet && p->count == 0 && p->cmds.count == 0 && !c->refused)
        return;
    char a[32], b[32];
    int exact = o->exact_bytes;
    if (!o->quiet)
        act_print_header(out, "reap", r->run.root, c->apply, r->quarantine ? " (quarantine)" : "");
    for (size_t i = 0; i < p->count; i++) {
        const struct cd_item *it = &p->items[i];
        fprintf(out, "%-8s %-26s ", c->apply ? act_result_name(it->result) : it->severity, it->check);
        act_print_escaped(out, it->object);
        fprintf(out, "  %s", text_size(it->bytes, exact, a, sizeof a));
        if (c->apply && it->result == ACT_DONE && it->freed > 0)
            fprintf(out, " (freed %s)", text_size(it->freed, exact, a, sizeof a));
        fputc('\n', out);
        act_print_why(out, it->why, it->error);
        fputs(r->quarantine ? "      move    " : "      remove  ", out);
        act_print_escaped(out, it->path);
        if (c->apply && it->result != ACT_PLANNED && it->result != ACT_DONE)
            fputs("   (not done)", out);
        fputc('\n', out);
    }
    act_print_notes(out, p->notes, p->note_count, p->count > 0);
    cd_cmds_print(out, &p->cmds, exact);
    if (r->trash_finished)
        fprintf(out, "Finished %zu trash entr%s left by an interrupted run (%s).\n", r->trash_finished,
                r->trash_finished == 1 ? "y" : "ies", text_size(r->trash_finished_bytes, exact, a, sizeof a));
    if (r->trash_pending)
        fprintf(out, "%zu trash entr%s left by an interrupted run will be deleted by --apply.\n", r->trash_pending,
                r->trash_pending == 1 ? "y" : "ies");
    if (!c->apply)
        fprintf(out, "Plan: %zu item%s, %zu path%s, %s reclaimable. Dry run: nothing was changed; add --apply to do it.\n",
                p->count, p->count == 1 ? "" : "s", p->count, p->count == 1 ? "" : "s",
                text_size(r->planned_bytes, exact, a, sizeof a));
    else if (r->quarantine)
        fprintf(out, "Quarantined %zu of %zu item%s (%s moved to %s); %zu failed, %zu skipped, %zu not reached.\n",
                c->done, p->count, p->count == 1 ? "" : "s", text_size(r->moved_bytes, exact, a, sizeof a),
                r->quarantine_dir, c->failed, c->skipped, c->not_reached);
    else
        fprintf(out, "Reaped %zu of %zu item%s: freed %s of %s planned; %zu failed, %zu skipped, %zu not reached.\n",
                c->done, p->count, p->count == 1 ? "" : "s", text_size(r->freed_bytes, exact, a, sizeof a),
                text_size(r->planned_bytes, exact, b, sizeof b), c->failed, c->skipped, c->not_reached);
    act_print_young(out, p->young_skipped, o->min_age);
    act_print_errors_left(out, p->errors_left, "left untouched (see --report).");
    if (p->garbage_left)
        fprintf(out, "%lld garbage finding%s not removed by ovl2fsck: records are containerd's to remove (the ctr "
                "commands above, with containerd up; see --report and the notes).\n", (long long)p->garbage_left,
                p->garbage_left == 1 ? " is" : "s are");
    act_print_outcome(out, c, "stopped after the current item; the store is consistent, run again to go on.");
}

/* ---- the two modes ------------------------------------------------------ */

static int scan_and_plan(struct cd_reaper *r, struct pipeline *pl, struct cd_plan *p, const struct catalog *cat,
                         volatile sig_atomic_t *stop)
{
    char err[1024] = "";
    int code = pipeline_run(pl, r->o, cat, stop, err, sizeof err);
    if (code) {
        pipeline_close(pl);
        return act_fail(code == EXIT_INTERRUPTED ? "interrupted" : err, code);
    }
    if (pl->store.kind != STORE_CONTAINERD || strcmp(pl->store.root, r->cd_root) != 0) {
        pipeline_close(pl);
        return act_fail("the store changed kind since it was detected", EXIT_OPERATIONAL);
    }
    if (plan_build(p, &pl->db, pl->store.root, cat, err, sizeof err) < 0) {
        pipeline_close(pl);
        plan_free(p);
        return act_fail(err, EXIT_OPERATIONAL);
    }
    r->planned_bytes = plan_bytes(p);
    return 0;
}

static int dry_run(struct cd_reaper *r, const struct catalog *cat, volatile sig_atomic_t *stop)
{
    struct pipeline pl;
    struct cd_plan p;
    int code = scan_and_plan(r, &pl, &p, cat, stop);
    if (code)
        return code;
    snprintf(r->run.root, sizeof r->run.root, "%s", pl.store.root);
    int fd = open(r->run.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        r->trash_pending = act_trash_pending(fd);
        close(fd);
    }
    print_plan(stdout, r, &p);
    fflush(stdout);
    code = act_dry_run_code(p.count || p.errors_left || p.garbage_left,
                            pl.result.checks && pl.result.checks->failure_count);
    plan_free(&p);
    return pipeline_end(&pl, code);
}

/* Open the root, refuse a quarantine that cannot be used before anything
 * is written, lock, open the quarantine. 0 or an exit code. */
static int open_run(struct cd_reaper *r)
{
    int code = reap_quarantine_begin_apply(&r->run, r->o->quarantine, &r->q, &r->quarantine_dir);
    if (code == 0 && r->o->quarantine)
        r->quarantine = true;
    return code;
}

static void close_run(struct cd_reaper *r)
{
    refs_close(&r->refs);
    if (r->quarantine)
        reap_quarantine_close(&r->q);
    r->quarantine = false;
    free(r->quarantine_dir);
    r->quarantine_dir = NULL;
    act_run_close(&r->run);
}

static int apply(struct cd_reaper *r, const struct catalog *cat, volatile sig_atomic_t *stop)
{
    int code = open_run(r);
    if (code) {
        close_run(r);
        return code;
    }
    act_trash_finish(&r->run, &r->trash_finished, &r->trash_finished_bytes);
    if (r->run.journal_broken) {
        close_run(r);
        return act_fail("the journal cannot be written", EXIT_OPERATIONAL);
    }
    struct pipeline pl;
    struct cd_plan p;
    code = scan_and_plan(r, &pl, &p, cat, stop);
    if (code) {
        close_run(r);
        return code;
    }
    if (strcmp(pl.store.root, r->run.root) != 0) {
        plan_free(&p);
        pipeline_close(&pl);
        close_run(r);
        return act_fail("the scanned root is not the locked root", EXIT_OPERATIONAL);
    }
    r->counts.apply = true;
    put_space_first(r, &p);
    struct act_plan_ops ops = { .count = p.count, .plan = &p, .apply = apply_one, .set_result = set_result };
    act_apply_plan(&r->run, &ops, stop);
    if (stop && *stop)
        r->counts.interrupted = true;
    print_plan(stdout, r, &p);
    fflush(stdout);
    code = act_run_finish(&r->run, p.count, p.errors_left || p.garbage_left);
    plan_free(&p);
    close_run(r);
    return pipeline_end(&pl, code);
}

int reap_containerd_main(const struct options *o, const struct catalog *cat, volatile sig_atomic_t *stop)
{
    if (o->include && *o->include)
        return act_fail("--include names Docker checks; no containerd check takes it", EXIT_USAGE);
    struct cd_reaper r;
    memset(&r, 0, sizeof r);
    r.o = o;
    /* A Docker root on the containerd image store: the scan reads Docker's
     * containers/ too (o), the run locks, probes and changes the containerd
     * root it used (run_o). */
    char err[3 * PATH_MAX + 512];
    struct store_target t;
    if (!realpath(o->root, r.cd_root))
        return act_fail("cannot resolve the root", EXIT_OPERATIONAL);
    if (store_detect(r.cd_root, o, &t, err, sizeof err) != 0 || t.kind != STORE_CONTAINERD)
        return act_fail("the store changed kind since it was detected", EXIT_OPERATIONAL);
    snprintf(r.cd_root, sizeof r.cd_root, "%s", t.root);
    r.run_o = *o;
    r.run_o.root = r.cd_root;
    act_run_init(&r.run, &r.run_o, &r.counts);
    r.run.live = live_containerd_detect;
    r.run.daemon = "containerd";
    return o->apply ? apply(&r, cat, stop) : dry_run(&r, cat, stop);
}
