/* reap_containerd_cmds.c — the ctr commands that make containerd's GC
 * remove record garbage, and the bytes that GC frees.
 *
 * Owns: which command each record finding gets, their order, their sh
 * quoting, and the model of containerd's GC mark (roots and gc.ref edges
 * over the cd_* tables) that says what each command lets the GC free.
 * ovl2fsck runs none of them and never writes meta.db or metadata.db.
 *
 * Order (each must succeed with containerd up, after a restart too):
 *   1. snapshots rm KEY   extract-* snapshots something still keeps (an
 *                         unexpired lease, a gc.root label), children first
 *   2. leases rm --sync   their holding leases that expire (an unpack's), and
 *                         leaked Docker container leases (moby/<id>)
 *   3. snapshots prepare + rm of a throwaway snapshot, when metadata.db has
 *      snapshots meta.db does not name: containerd cleans a snapshotter's
 *      own db only after a snapshot record of it was deleted
 *   4. leases create + rm --sync of a throwaway lease: a GC pass, waited
 *      for. It drops expired leases and what only they held (containerd's
 *      startup GC may already have: hence no `leases rm` of an expired
 *      lease, which would then fail), extract-* snapshots nothing keeps,
 *      expired ingest records.
 *
 * Bytes: the GC mark is simulated in SQL (roots: images, containers,
 * unexpired leases not removed, gc.root labels, and in containerd 2.x
 * (meta.db version 4) what a sandbox's gc.ref labels name, images only
 * while their gc.expire has not passed; edges: an image's target,
 * gc.ref.content*, gc.ref.snapshot.overlayfs*, gc.ref.image* labels,
 * gc.bref.* back references (child to parent, walked parent to child),
 * snapshot parents; as core/metadata/gc.go of 2.1). A snapshot record
 * left unmarked frees its snapshots/<id> dir; a digest no namespace's
 * record stays marked for frees its blob. Each command gets what becomes
 * unmarked by it; the GC pass gets what is unmarked already. */
#include "reap_containerd_cmds.h"
#include "act.h"
#include "grow.h"
#include "scan_containerd.h"
#include "sizes.h"
#include "text.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define CTR_SNAPSHOTTER "overlayfs"

/* ---- quoting and ordering (pure) --------------------------------------- */

static bool plain_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           strchr("_./:=@%+,-", ch) != NULL;
}

char *cd_shell_quote(const char *s)
{
    bool plain = *s != '\0';
    size_t quotes = 0;
    for (const char *p = s; *p; p++) {
        plain = plain && plain_char(*p);
        quotes += *p == '\'';
    }
    if (plain)
        return act_strdup(s);
    char *out = malloc(strlen(s) + quotes * 3 + 3);
    if (!out)
        abort();
    char *w = out;
    *w++ = '\'';
    for (const char *p = s; *p; p++) {
        if (*p == '\'') {
            memcpy(w, "'\\''", 4);
            w += 4;
        } else {
            *w++ = *p;
        }
    }
    *w++ = '\'';
    *w = '\0';
    return out;
}

bool cd_children_first(const long *parent_of, size_t n, size_t *order)
{
    bool *placed = calloc(n ? n : 1, sizeof *placed);
    if (!placed)
        abort();
    size_t done = 0;
    bool progress = true;
    while (done < n && progress) {
        progress = false;
        for (size_t i = 0; i < n; i++) {
            if (placed[i])
                continue;
            bool has_child_left = false;
            for (size_t k = 0; k < n && !has_child_left; k++)
                has_child_left = !placed[k] && k != i && parent_of[k] == (long)i;
            if (has_child_left)
                continue;
            placed[i] = true;
            order[done++] = i;
            progress = true;
        }
    }
    free(placed);
    return done == n;
}

/* ---- the command list ---------------------------------------------------- */

static void cmds_note(struct cd_cmds *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cmds_note(struct cd_cmds *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    act_note(&c->notes, &c->note_count, &c->note_cap, fmt, ap);
    va_end(ap);
}

/* Append "ctr -n ns <args...>" (NULL-terminated). */
static struct cd_cmd *add_cmd(struct cd_cmds *c, const char *ns, const char *comment, ...)
{
    c->v = grow_array_or_die(c->v, &c->cap, c->count + 1, sizeof *c->v);
    struct cd_cmd *m = &c->v[c->count++];
    memset(m, 0, sizeof *m);
    m->group = c->count - 1;
    m->ns = act_strdup(ns);
    m->comment = act_strdup(comment);
    const char *head[] = { "ctr", "-n", ns };
    va_list ap;
    size_t n = 3;
    va_start(ap, comment);
    while (va_arg(ap, const char *))
        n++;
    va_end(ap);
    m->argv = calloc(n, sizeof *m->argv);
    if (!m->argv)
        abort();
    for (size_t i = 0; i < 3; i++)
        m->argv[m->argc++] = act_strdup(head[i]);
    va_start(ap, comment);
    for (const char *a; (a = va_arg(ap, const char *));)
        m->argv[m->argc++] = act_strdup(a);
    va_end(ap);
    size_t len = 1;
    char **q = calloc(m->argc, sizeof *q);
    if (!q)
        abort();
    for (size_t i = 0; i < m->argc; i++) {
        q[i] = cd_shell_quote(m->argv[i]);
        len += strlen(q[i]) + 1;
    }
    m->command = calloc(len, 1);
    if (!m->command)
        abort();
    for (size_t i = 0; i < m->argc; i++) {
        if (i)
            strcat(m->command, " ");
        strcat(m->command, q[i]);
        free(q[i]);
    }
    free(q);
    return m;
}

static void serve(struct cd_cmds *c, struct cd_cmd *m, const char *check, const char *object)
{
    m->checks = realloc(m->checks, (m->findings + 1) * sizeof *m->checks);
    m->objects = realloc(m->objects, (m->findings + 1) * sizeof *m->objects);
    if (!m->checks || !m->objects)
        abort();
    m->checks[m->findings] = act_strdup(check);
    m->objects[m->findings] = act_strdup(object);
    m->findings++;
    c->findings++;
}

void cd_cmds_free(struct cd_cmds *c)
{
    for (size_t i = 0; i < c->count; i++) {
        struct cd_cmd *m = &c->v[i];
        act_free_strings(m->argv, m->argc);
        act_free_strings(m->checks, m->findings);
        act_free_strings(m->objects, m->findings);
        free(m->ns);
        free(m->command);
        free(m->comment);
    }
    free(c->v);
    act_free_strings(c->notes, c->note_count);
    memset(c, 0, sizeof *c);
}

/* ---- the GC model --------------------------------------------------------- */

static const char *const model_sql =
    "DROP TABLE IF EXISTS temp.gc_edge; DROP TABLE IF EXISTS temp.gc_gone;"
    "DROP TABLE IF EXISTS temp.gc_reach; DROP TABLE IF EXISTS temp.gc_counted;"
    "DROP VIEW IF EXISTS temp.gc_label;"
    "CREATE TEMP TABLE gc_edge (kind1 TEXT, ns TEXT, id1 TEXT, kind2 TEXT, id2 TEXT);"
    "CREATE TEMP TABLE gc_gone (kind TEXT, ns TEXT, id TEXT, PRIMARY KEY (kind, ns, id));"
    "CREATE TEMP TABLE gc_reach (kind TEXT, ns TEXT, id TEXT, PRIMARY KEY (kind, ns, id));"
    "CREATE TEMP TABLE gc_counted (path TEXT PRIMARY KEY);"
    "CREATE TEMP VIEW IF NOT EXISTS gc_label AS SELECT ns, owner, value,"
    "  CASE kind WHEN 'blob' THEN 'content' ELSE kind END AS kind,"
    "  CASE WHEN key GLOB 'containerd.io/gc.ref.content*' THEN 'content'"
    "       WHEN key GLOB 'containerd.io/gc.ref.image*' THEN 'image'"
    "       WHEN key GLOB 'containerd.io/gc.ref.snapshot." CTR_SNAPSHOTTER "*' THEN 'snapshot' END AS ref,"
    "  CASE WHEN key = 'containerd.io/gc.bref.content' OR key GLOB 'containerd.io/gc.bref.content[./]*' THEN 'content'"
    "       WHEN key = 'containerd.io/gc.bref.image' OR key GLOB 'containerd.io/gc.bref.image[./]*' THEN 'image'"
    "       WHEN key = 'containerd.io/gc.bref.container' OR key GLOB 'containerd.io/gc.bref.container[./]*'"
    "       THEN 'container'"
    "       WHEN key GLOB 'containerd.io/gc.bref.snapshot." CTR_SNAPSHOTTER "*' THEN 'snapshot' END AS bref"
    "  FROM cd_label WHERE value IS NOT NULL AND (kind <> 'snapshot' OR sub = '" CTR_SNAPSHOTTER "');"
    "INSERT INTO gc_edge SELECT kind, ns, owner, ref, value FROM gc_label"
    "  WHERE kind IN ('content', 'snapshot', 'image', 'container') AND ref IS NOT NULL;"
    "INSERT INTO gc_edge SELECT bref, ns, value, kind, owner FROM gc_label"
    "  WHERE kind IN ('content', 'snapshot', 'image', 'container') AND bref IS NOT NULL;"
    "INSERT INTO gc_edge SELECT 'image', ns, name, 'content', digest FROM cd_image WHERE digest IS NOT NULL;"
    "INSERT INTO gc_edge SELECT 'snapshot', ns, key, 'snapshot', parent FROM cd_snapshot"
    "  WHERE snapshotter = '" CTR_SNAPSHOTTER "' AND parent IS NOT NULL AND parent <> '';"
    "CREATE INDEX temp.gc_edge_from ON gc_edge (kind1, ns, id1);";

/* What containerd's GC marks once the leases and snapshots in gc_gone are
 * gone (expired leases are no roots). */
static const char *const reach_sql =
    "DELETE FROM gc_reach;"
    "INSERT OR IGNORE INTO gc_reach WITH RECURSIVE"
    " now(t) AS (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'scan_time'),"
    " v4(yes) AS (SELECT EXISTS (SELECT 1 FROM cd_db WHERE name = 'meta.db' AND version >= 4)),"
    " root(kind, ns, id) AS ("
    "  SELECT 'image', i.ns, (SELECT z.s FROM cd_str z WHERE z.id = i.name) FROM cdi_image i"
    "   WHERE NOT ((SELECT yes FROM v4) AND EXISTS (SELECT 1 FROM cdi_label x WHERE x.ns = i.ns AND x.kind = 'image'"
    "              AND x.sub = '' AND x.owner = i.name"
    "              AND (SELECT z.s FROM cd_str z WHERE z.id = x.key) = 'containerd.io/gc.expire'"
    "              AND CAST(strftime('%s', (SELECT z.s FROM cd_str z WHERE z.id = x.value)) AS INTEGER)"
    "                  < (SELECT t FROM now)))"
    "  UNION SELECT ref, ns, value FROM gc_label WHERE kind = 'sandbox' AND ref IS NOT NULL"
    "  UNION SELECT 'snapshot', ns, snapshot_key FROM cd_container"
    "   WHERE snapshotter = '" CTR_SNAPSHOTTER "' AND snapshot_key IS NOT NULL"
    "  UNION SELECT 'container', ns, id FROM cd_container"
    "  UNION SELECT CASE r.kind WHEN 'content' THEN 'content' WHEN 'image' THEN 'image' ELSE 'snapshot' END, r.ns, r.id"
    "   FROM cd_lease_resource r JOIN cd_lease l ON l.ns = r.ns AND l.id = r.lease"
    "   WHERE (r.kind IN ('content', 'image') OR (r.kind = 'snapshot' AND r.sub = '" CTR_SNAPSHOTTER "'))"
    "     AND NOT (l.expire_at IS NOT NULL AND l.expire_at < (SELECT t FROM now))"
    "     AND NOT EXISTS (SELECT 1 FROM gc_gone g WHERE g.kind = 'lease' AND g.ns = l.ns AND g.id = l.id)"
    "  UNION SELECT CASE kind WHEN 'blob' THEN 'content' ELSE 'snapshot' END, ns, owner FROM cd_label"
    "   WHERE key = 'containerd.io/gc.root' AND (kind = 'blob' OR (kind = 'snapshot' AND sub = '" CTR_SNAPSHOTTER "'))),"
    " reach(kind, ns, id) AS ("
    "  SELECT kind, ns, id FROM root"
    "  UNION SELECT e.kind2, e.ns, e.id2 FROM reach r JOIN gc_edge e ON e.kind1 = r.kind AND e.ns = r.ns AND e.id1 = r.id)"
    " SELECT kind, ns, id FROM reach"
    "  WHERE NOT EXISTS (SELECT 1 FROM gc_gone g WHERE g.kind = 'snapshot' AND reach.kind = 'snapshot'"
    "                    AND g.ns = reach.ns AND g.id = reach.id);";

/* Paths the GC frees given gc_reach, not counted yet: a snapshot record's
 * dir, a blob no namespace keeps a record of. (The interned tables, joined
 * by id: a blob file's name is the id of its digest.) */
static const char *const freed_sql =
    "SELECT '" CD_SNAPSHOTS "/' || b.id FROM cdi_snapshot s JOIN cdi_backend b ON b.name = s.name"
    " WHERE s.snapshotter = '" CTR_SNAPSHOTTER "' AND b.id IS NOT NULL"
    "   AND NOT EXISTS (SELECT 1 FROM gc_reach r WHERE r.kind = 'snapshot' AND r.ns = s.ns"
    "                   AND r.id = (SELECT z.s FROM cd_str z WHERE z.id = s.key))"
    "   AND NOT EXISTS (SELECT 1 FROM gc_counted k WHERE k.path = '" CD_SNAPSHOTS "/' || b.id)"
    " UNION SELECT '" CD_BLOBS "/' || (SELECT substr(z.s, 8) FROM cd_str z WHERE z.id = f.name) FROM cdi_blobfile f"
    " WHERE f.name_ok = 1 AND EXISTS (SELECT 1 FROM cdi_blob c WHERE c.digest = f.name)"
    "   AND NOT EXISTS (SELECT 1 FROM cdi_blob c JOIN gc_reach r ON r.kind = 'content' AND r.ns = c.ns"
    "                   AND r.id = (SELECT z.s FROM cd_str z WHERE z.id = c.digest) WHERE c.digest = f.name)"
    "   AND NOT EXISTS (SELECT 1 FROM gc_counted k"
    "                   WHERE k.path = '" CD_BLOBS "/' || (SELECT substr(z.s, 8) FROM cd_str z WHERE z.id = f.name))";

struct model {
    struct db *db;
    const char *root;
};

static int gone_add(struct model *m, const char *kind, const char *ns, const char *id, char *err, size_t errlen)
{
    sqlite3_stmt *q;
    if (db_prepare(m->db, "INSERT OR IGNORE INTO gc_gone VALUES (?1, ?2, ?3)", &q, err, errlen) < 0)
        return -1;
    db_bind_text(q, 1, kind);
    db_bind_text(q, 2, ns);
    db_bind_text(q, 3, id);
    int rc = db_step_reset(q, err, errlen);
    sqlite3_finalize(q);
    return rc;
}

/* The bytes newly freed with the current gc_gone; they count as counted. */
static int freed_now(struct model *m, int64_t *bytes, char *err, size_t errlen)
{
    *bytes = 0;
    if (db_exec(m->db, reach_sql, err, errlen) < 0)
        return -1;
    sqlite3_stmt *q, *ins;
    if (db_prepare(m->db, freed_sql, &q, err, errlen) < 0)
        return -1;
    if (db_prepare(m->db, "INSERT OR IGNORE INTO gc_counted VALUES (?1)", &ins, err, errlen) < 0) {
        sqlite3_finalize(q);
        return -1;
    }
    char **paths = NULL;
    size_t n = 0, cap = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        paths = grow_array_or_die(paths, &cap, n + 1, sizeof *paths);
        paths[n++] = act_strdup((const char *)sqlite3_column_text(q, 0));
    }
    sqlite3_finalize(q);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        *bytes += sizes_of_path(m->root, paths[i]);
        db_bind_text(ins, 1, paths[i]);
        rc = db_step_reset(ins, err, errlen);
    }
    sqlite3_finalize(ins);
    act_free_strings(paths, n);
    return rc;
}

/* ---- the findings ---------------------------------------------------------- */

struct finding {
    char *check, *object, *path, *ns, *id;
};

struct findings {
    struct finding *v;
    size_t count, cap;
};

static void findings_free(struct findings *f)
{
    for (size_t i = 0; i < f->count; i++) {
        free(f->v[i].check);
        free(f->v[i].object);
        free(f->v[i].path);
        free(f->v[i].ns);
        free(f->v[i].id);
    }
    free(f->v);
}

/* The record findings: not young, garbage; ingest-leftover only where a
 * namespace still records the ingest. ns: before the first '/' of the
 * object (of the ingest record for an ingest). */
static int load_findings(struct db *db, struct findings *f, char *err, size_t errlen)
{
    static const char *const sql =
        "SELECT check_name, object, path, ns, id FROM ("
        " SELECT seq, check_name, object, path,"
        "  CASE WHEN check_name = 'ingest-leftover'"
        "       THEN (SELECT i.ns FROM cd_ingest i WHERE i.dir = finding.object ORDER BY i.ns, i.ref LIMIT 1)"
        "       ELSE substr(object, 1, instr(object, '/') - 1) END AS ns,"
        "  CASE WHEN check_name = 'ingest-leftover' THEN object ELSE substr(object, instr(object, '/') + 1) END AS id"
        " FROM finding WHERE young = 0 AND severity = 'garbage'"
        "  AND (check_name IN ('lease-expired', 'lease-container-missing', 'snapshot-extract-leftover',"
        "                      'snapshot-backend-orphaned')"
        "       OR (check_name = 'ingest-leftover' AND EXISTS (SELECT 1 FROM cd_ingest i WHERE i.dir = finding.object))))"
        " WHERE ns IS NOT NULL AND ns <> '' ORDER BY seq";
    sqlite3_stmt *q;
    if (db_prepare(db, sql, &q, err, errlen) < 0)
        return -1;
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *ns = (const char *)sqlite3_column_text(q, 3);
        if (!ns || !*ns)
            continue;
        f->v = grow_array_or_die(f->v, &f->cap, f->count + 1, sizeof *f->v);
        struct finding *x = &f->v[f->count++];
        x->check = act_strdup((const char *)sqlite3_column_text(q, 0));
        x->object = act_strdup((const char *)sqlite3_column_text(q, 1));
        x->path = act_strdup((const char *)sqlite3_column_text(q, 2));
        x->ns = act_strdup(ns);
        x->id = act_strdup((const char *)sqlite3_column_text(q, 4));
    }
    sqlite3_finalize(q);
    return 0;
}

/* Does the GC mark this snapshot now (expired leases being no roots)? */
static bool marked_now(struct db *db, const char *ns, const char *key)
{
    sqlite3_stmt *q;
    char err[256];
    if (db_prepare(db, "SELECT 1 FROM gc_reach WHERE kind = 'snapshot' AND ns = ?1 AND id = ?2", &q, err,
                   sizeof err) < 0)
        return false;
    db_bind_text(q, 1, ns);
    db_bind_text(q, 2, key);
    bool yes = sqlite3_step(q) == SQLITE_ROW;
    sqlite3_finalize(q);
    return yes;
}

/* A child of the snapshot that is not in the plan's removals: rm would fail. */
static bool has_other_child(struct db *db, const char *ns, const char *key, const struct findings *f,
                            const bool *rm)
{
    sqlite3_stmt *q;
    char err[256];
    if (db_prepare(db, "SELECT key FROM cd_snapshot WHERE ns = ?1 AND snapshotter = '" CTR_SNAPSHOTTER
                       "' AND parent = ?2", &q, err, sizeof err) < 0)
        return true;
    db_bind_text(q, 1, ns);
    db_bind_text(q, 2, key);
    bool other = false;
    while (!other && sqlite3_step(q) == SQLITE_ROW) {
        const char *child = (const char *)sqlite3_column_text(q, 0);
        other = true;
        for (size_t i = 0; i < f->count; i++)
            if (rm[i] && strcmp(f->v[i].ns, ns) == 0 && strcmp(f->v[i].id, child) == 0)
                other = false;
    }
    sqlite3_finalize(q);
    return other;
}

/* ---- building ---------------------------------------------------------------- */

struct builder {
    struct cd_cmds *c;
    struct model m;
    struct findings f;
    bool *rm;          /* extract snapshot i gets a snapshots rm */
    bool *kept;        /* extract snapshot i is marked now (the GC pass alone does not remove it) */
    char gc_id[64];
    const char *ns;    /* where the throwaway lease and snapshot go */
};

static int step_bytes(struct builder *b, struct cd_cmd *m, char *err, size_t errlen)
{
    int64_t n;
    if (freed_now(&b->m, &n, err, errlen) < 0)
        return -1;
    m->bytes += n;
    return 0;
}

/* 1: snapshots rm of kept extract-* snapshots, children first. */
static int add_snapshot_rms(struct builder *b, char *err, size_t errlen)
{
    size_t n = b->f.count;
    for (size_t i = 0; i < n; i++) {
        b->kept[i] = strcmp(b->f.v[i].check, "snapshot-extract-leftover") == 0 &&
                     marked_now(b->m.db, b->f.v[i].ns, b->f.v[i].id);
        b->rm[i] = b->kept[i];
    }
    for (size_t i = 0; i < n; i++)
        if (b->rm[i] && has_other_child(b->m.db, b->f.v[i].ns, b->f.v[i].id, &b->f, b->rm)) {
            cmds_note(b->c, "snapshot-extract-leftover %s/%s: a snapshot outside the plan is its child; "
                      "remove that first", b->f.v[i].ns, b->f.v[i].id);
            b->rm[i] = false;
        }
    long *parent_of = calloc(n ? n : 1, sizeof *parent_of);
    size_t *order = calloc(n ? n : 1, sizeof *order);
    if (!parent_of || !order)
        abort();
    for (size_t i = 0; i < n; i++) {
        parent_of[i] = -1;
        for (size_t k = 0; k < n && b->rm[i]; k++) {
            sqlite3_stmt *q;
            if (!b->rm[k] || k == i || strcmp(b->f.v[k].ns, b->f.v[i].ns) != 0 ||
                db_prepare(b->m.db, "SELECT 1 FROM cd_snapshot WHERE ns = ?1 AND key = ?2 AND parent = ?3", &q, err,
                           errlen) < 0)
                continue;
            db_bind_text(q, 1, b->f.v[i].ns);
            db_bind_text(q, 2, b->f.v[i].id);
            db_bind_text(q, 3, b->f.v[k].id);
            if (sqlite3_step(q) == SQLITE_ROW)
                parent_of[i] = (long)k;
            sqlite3_finalize(q);
        }
    }
    int rc = 0;
    cd_children_first(parent_of, n, order);
    for (size_t j = 0; j < n && rc == 0; j++) {
        const struct finding *x = &b->f.v[order[j]];
        if (!b->rm[order[j]])
            continue;
        struct cd_cmd *m = add_cmd(b->c, x->ns, "", "snapshots", "--snapshotter", CTR_SNAPSHOTTER, "rm", x->id,
                                   (const char *)NULL);
        serve(b->c, m, x->check, x->object);
        rc = gone_add(&b->m, "snapshot", x->ns, x->id, err, errlen);
        if (rc == 0)
            rc = step_bytes(b, m, err, errlen);
    }
    free(parent_of);
    free(order);
    return rc;
}

/* The leases holding a removed extract snapshot that expire but have not
 * (an unpack's 24 h lease): they go after it. */
static int add_holding_lease_rms(struct builder *b, char *err, size_t errlen)
{
    static const char *const sql =
        "SELECT DISTINCT l.id FROM cd_lease_resource r JOIN cd_lease l ON l.ns = r.ns AND l.id = r.lease"
        " WHERE r.ns = ?1 AND r.kind = 'snapshot' AND r.sub = '" CTR_SNAPSHOTTER "' AND r.id = ?2"
        "   AND l.expire_at IS NOT NULL AND l.expire_at >= (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'scan_time')"
        " ORDER BY l.id";
    for (size_t i = 0; i < b->f.count; i++) {
        if (!b->rm[i])
            continue;
        sqlite3_stmt *q;
        if (db_prepare(b->m.db, sql, &q, err, errlen) < 0)
            return -1;
        db_bind_text(q, 1, b->f.v[i].ns);
        db_bind_text(q, 2, b->f.v[i].id);
        char **ids = NULL;
        size_t n = 0, cap = 0;
        while (sqlite3_step(q) == SQLITE_ROW) {
            ids = grow_array_or_die(ids, &cap, n + 1, sizeof *ids);
            ids[n++] = act_strdup((const char *)sqlite3_column_text(q, 0));
        }
        sqlite3_finalize(q);
        int rc = 0;
        for (size_t k = 0; k < n && rc == 0; k++) {
            sqlite3_stmt *g;
            bool seen = false;
            if (db_prepare(b->m.db, "SELECT 1 FROM gc_gone WHERE kind = 'lease' AND ns = ?1 AND id = ?2", &g, err,
                           errlen) == 0) {
                db_bind_text(g, 1, b->f.v[i].ns);
                db_bind_text(g, 2, ids[k]);
                seen = sqlite3_step(g) == SQLITE_ROW;
                sqlite3_finalize(g);
            }
            if (seen)
                continue;
            char *why = act_printf("the lease %s/%s that held it (it has not expired)", b->f.v[i].ns, ids[k]);
            struct cd_cmd *m = add_cmd(b->c, b->f.v[i].ns, why, "leases", "rm", "--sync", ids[k], (const char *)NULL);
            free(why);
            rc = gone_add(&b->m, "lease", b->f.v[i].ns, ids[k], err, errlen);
            if (rc == 0)
                rc = step_bytes(b, m, err, errlen);
        }
        act_free_strings(ids, n);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* 2: leaked Docker container leases. */
static int add_container_lease_rms(struct builder *b, char *err, size_t errlen)
{
    for (size_t i = 0; i < b->f.count; i++) {
        const struct finding *x = &b->f.v[i];
        if (strcmp(x->check, "lease-container-missing") != 0)
            continue;
        struct cd_cmd *m = add_cmd(b->c, x->ns, "", "leases", "rm", "--sync", x->id, (const char *)NULL);
        serve(b->c, m, x->check, x->object);
        if (gone_add(&b->m, "lease", x->ns, x->id, err, errlen) < 0 || step_bytes(b, m, err, errlen) < 0)
            return -1;
    }
    return 0;
}

/* 3: a throwaway snapshot's removal, for backend orphans. */
static void add_snapshotter_cleanup(struct builder *b)
{
    struct cd_cmd *prep = NULL, *rm = NULL;
    for (size_t i = 0; i < b->f.count; i++) {
        const struct finding *x = &b->f.v[i];
        if (strcmp(x->check, "snapshot-backend-orphaned") != 0)
            continue;
        if (!prep) {
            prep = add_cmd(b->c, b->ns, "a throwaway snapshot: its removal makes containerd clean the snapshotter",
                           "snapshots", "--snapshotter", CTR_SNAPSHOTTER, "prepare", b->gc_id, (const char *)NULL);
            rm = add_cmd(b->c, b->ns, "", "snapshots", "--snapshotter", CTR_SNAPSHOTTER, "rm", b->gc_id,
                         (const char *)NULL);
            rm->group = prep->group;
        }
        serve(b->c, rm, x->check, x->object);
        if (x->path)
            rm->bytes += sizes_of_path(b->m.root, x->path);
    }
}

/* 4: the waited GC pass; it gets what is unmarked already. */
static int add_gc_pass(struct builder *b, int64_t unmarked, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    struct cd_cmd *create =
        add_cmd(b->c, b->ns, "a GC pass, waited for", "leases", "create", "--id", b->gc_id, (const char *)NULL);
    struct cd_cmd *m = add_cmd(b->c, b->ns, "", "leases", "rm", "--sync", b->gc_id, (const char *)NULL);
    m->group = create->group;
    m->bytes = unmarked;
    for (size_t i = 0; i < b->f.count; i++) {
        const struct finding *x = &b->f.v[i];
        bool by_pass = strcmp(x->check, "lease-expired") == 0 || strcmp(x->check, "ingest-leftover") == 0 ||
                       (strcmp(x->check, "snapshot-extract-leftover") == 0 && !b->kept[i]);
        if (by_pass)
            serve(b->c, m, x->check, x->object);
    }
    return 0;
}

static int64_t total_bytes(const struct cd_cmds *c)
{
    int64_t n = 0;
    for (size_t i = 0; i < c->count; i++)
        n += c->v[i].bytes;
    return n;
}

int cd_cmds_build(struct cd_cmds *c, struct db *db, const char *root, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    struct builder b;
    memset(&b, 0, sizeof b);
    b.c = c;
    b.m.db = db;
    b.m.root = root;
    if (load_findings(db, &b.f, err, errlen) < 0)
        return -1;
    if (b.f.count == 0) {
        findings_free(&b.f);
        return 0;
    }
    b.rm = calloc(b.f.count, sizeof *b.rm);
    b.kept = calloc(b.f.count, sizeof *b.kept);
    if (!b.rm || !b.kept)
        abort();
    b.ns = b.f.v[0].ns;
    snprintf(b.gc_id, sizeof b.gc_id, "ovl2fsck-gc-%lld",
             (long long)db_query_int(db, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'scan_time'", 0));
    int64_t unmarked = 0;
    int rc = db_exec(db, model_sql, err, errlen);
    if (rc == 0)
        rc = freed_now(&b.m, &unmarked, err, errlen);
    if (rc == 0)
        rc = add_snapshot_rms(&b, err, errlen);
    if (rc == 0)
        rc = add_holding_lease_rms(&b, err, errlen);
    if (rc == 0)
        rc = add_container_lease_rms(&b, err, errlen);
    if (rc == 0) {
        add_snapshotter_cleanup(&b);
        rc = add_gc_pass(&b, unmarked, err, errlen);
    }
    c->bytes = total_bytes(c);
    free(b.rm);
    free(b.kept);
    findings_free(&b.f);
    char ignored[256];
    db_exec(db, "DROP TABLE IF EXISTS temp.gc_edge; DROP TABLE IF EXISTS temp.gc_gone;"
                "DROP TABLE IF EXISTS temp.gc_reach; DROP TABLE IF EXISTS temp.gc_counted;"
                "DROP VIEW IF EXISTS temp.gc_label;", ignored, sizeof ignored);
    if (rc < 0)
        cd_cmds_free(c);
    return rc;
}

/* ---- output --------------------------------------------------------------- */

/* "# what: check object, ... (frees N)" for the group starting at g. */
static void print_comment(FILE *out, const struct cd_cmds *c, size_t g, int exact)
{
    char a[32];
    const struct cd_cmd *head = &c->v[g];
    fputs("#", out);
    bool any = head->comment && *head->comment;
    if (any) {
        fputc(' ', out);
        act_print_escaped(out, head->comment);
    }
    int64_t bytes = 0;
    size_t shown = 0, total = 0;
    for (size_t i = g; i < c->count && c->v[i].group == g; i++) {
        bytes += c->v[i].bytes;
        for (size_t k = 0; k < c->v[i].findings; k++, total++) {
            if (shown == 5)
                continue;
            fputs(shown ? ", " : any ? ": " : " ", out);
            fprintf(out, "%s ", c->v[i].checks[k]);
            act_print_escaped(out, c->v[i].objects[k]);
            shown++;
        }
    }
    if (total > shown)
        fprintf(out, " and %zu more", total - shown);
    if (bytes)
        fprintf(out, " (frees %s)", text_size(bytes, exact, a, sizeof a));
    fputc('\n', out);
}

/* Raw, to be run; escaped (and so not runnable) when it holds a control byte. */
static void print_command(FILE *out, const char *command)
{
    bool control = false;
    for (const unsigned char *p = (const unsigned char *)command; *p; p++)
        control = control || *p < 0x20 || *p == 0x7f;
    if (control)
        act_print_escaped(out, command);
    else
        fputs(command, out);
    fputc('\n', out);
}

void cd_cmds_print(FILE *out, const struct cd_cmds *c, int exact)
{
    if (!c->count)
        return;
    char a[32];
    fputs("Records containerd's GC removes (ovl2fsck never writes meta.db): with containerd up, run in this order "
          "(add -a SOCKET after ctr unless it listens on /run/containerd/containerd.sock):\n", out);
    for (size_t i = 0; i < c->count; i++) {
        const struct cd_cmd *m = &c->v[i];
        if (m->group == i)
            print_comment(out, c, i, exact);
        print_command(out, m->command);
    }
    for (size_t i = 0; i < c->note_count; i++) {
        fputs("note: ", out);
        act_print_escaped(out, c->notes[i]);
        fputc('\n', out);
    }
    fprintf(out, "Records: %zu command%s for %zu finding%s; containerd's GC frees %s.\n\n", c->count,
            c->count == 1 ? "" : "s", c->findings, c->findings == 1 ? "" : "s", text_size(c->bytes, exact, a, sizeof a));
}

void cd_cmds_add_json(cJSON *items, const struct cd_cmds *c)
{
    for (size_t i = 0; i < c->count; i++) {
        const struct cd_cmd *m = &c->v[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "action", "ctr-command");
        cJSON_AddNumberToObject(o, "seq", (double)(i + 1));
        act_json_add_escaped(o, "namespace", m->ns);
        cJSON *argv = cJSON_AddArrayToObject(o, "argv");
        for (size_t k = 0; k < m->argc; k++)
            cJSON_AddItemToArray(argv, cJSON_CreateString(m->argv[k]));
        cJSON_AddStringToObject(o, "command", m->command);
        cJSON_AddStringToObject(o, "check", m->findings ? m->checks[0] : "gc-pass");
        cJSON_AddStringToObject(o, "severity", "garbage");
        act_json_add_escaped(o, "object", m->findings ? m->objects[0] : m->argv[m->argc - 1]);
        cJSON *fs = cJSON_AddArrayToObject(o, "findings");
        for (size_t k = 0; k < m->findings; k++) {
            cJSON *f = cJSON_CreateObject();
            cJSON_AddStringToObject(f, "check", m->checks[k]);
            act_json_add_escaped(f, "object", m->objects[k]);
            cJSON_AddItemToArray(fs, f);
        }
        act_json_add_escaped(o, "why", m->comment);
        cJSON_AddNumberToObject(o, "bytes", (double)m->bytes);
        cJSON_AddArrayToObject(o, "steps");
        cJSON_AddStringToObject(o, "result", "planned");
        cJSON_AddNullToObject(o, "error");
        cJSON_AddNumberToObject(o, "freed", 0);
        cJSON_AddItemToArray(items, o);
    }
}
