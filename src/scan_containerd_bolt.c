/* scan_containerd_bolt.c — containerd's two bbolt files into the scan
 * database (tables cd_* in sql/schema.sql):
 *
 *   meta.db      v1/version; v1/<ns>/{images,content/{blob,ingests},
 *                snapshots/<snapshotter>,containers,leases,sandboxes}
 *   metadata.db  the overlayfs snapshotter: v1/snapshots/<name> (id, kind,
 *                parent) with the bucket's sequence, v1/parents
 *
 * Each file is read by src/bbolt.c (bounded, cycle-safe) in one walk that
 * checks every page and loads the records as it goes: a file that does not
 * read cleanly has its tables emptied again (no rollback: the scan database
 * has no journal; no other code writes them) and gets its cd_db row (state
 * invalid or unreadable, with bbolt's message), so that no check reasons
 * from half a graph.
 * The walk visits keys depth-first in key order, so the fields of one
 * record come together: one record is pending at a time and is written
 * when the next begins. Values are bytes: strings are stored as found;
 * the long ones (the cdi_* tables' interned columns) as ids of the shared
 * map (src/cd_intern.c), which the caller writes to cd_str afterwards. */
#include "scan_containerd.h"
#include "fsutil.h"
#include "ids.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define GO_UNIX_OFFSET 62135596800LL   /* seconds from 0001-01-01 to 1970-01-01 */

/* ---- value decoders ------------------------------------------------------ */

int cd_uvarint(const unsigned char *p, size_t len, uint64_t *out, size_t *used)
{
    uint64_t v = 0;
    for (size_t i = 0; i < len && i < 10; i++) {
        if (i == 9 && p[i] > 1)
            return -1;   /* overflows 64 bits */
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *out = v;
            if (used)
                *used = i + 1;
            return 0;
        }
    }
    return -1;
}

int cd_varint(const unsigned char *p, size_t len, int64_t *out)
{
    uint64_t u;
    if (cd_uvarint(p, len, &u, NULL) < 0)
        return -1;
    *out = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    return 0;
}

int cd_go_time(const unsigned char *p, size_t len, int64_t *out)
{
    /* version 1: 1 + sec(8, big-endian, since year 1) + nsec(4) + offset
     * minutes(2); version 2 adds offset seconds(1) */
    if (len < 15 || (p[0] != 1 && p[0] != 2) || (p[0] == 2 && len < 16))
        return -1;
    uint64_t sec = 0;
    for (int i = 1; i <= 8; i++)
        sec = sec << 8 | p[i];
    *out = (int64_t)sec - GO_UNIX_OFFSET;
    return 0;
}

static int two_digits(const char *s, int *v)
{
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
        return -1;
    *v = (s[0] - '0') * 10 + (s[1] - '0');
    return 0;
}

int cd_rfc3339(const char *s, int64_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p)
        return -1;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    int64_t off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int h, m;
        if (two_digits(p + 1, &h) < 0 || p[3] != ':' || two_digits(p + 4, &m) < 0)
            return -1;
        off = (int64_t)(h * 3600 + m * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    *out = (int64_t)timegm(&tm) - off;
    return 0;
}

/* ---- reading a bbolt file --------------------------------------------- */

/* The cd_db state of a bbolt error code. */
static const char *bolt_state(int rc)
{
    return rc == BBOLT_ERR_IO || rc == BBOLT_ERR_NOMEM || rc == BBOLT_ERR_TOO_LARGE ? "unreadable" : "invalid";
}

/* Opens dirfd/relpath and checks its metas (the pages are checked by the
 * walk, see walk_all_or_nothing); fills state and error. NULL when the file
 * cannot be used (then *state says why). */
static bbolt *open_bolt(int dirfd, const char *relpath, const char **state, char *why, size_t whylen,
                        int64_t *mtime)
{
    *state = "ok";
    why[0] = '\0';
    int fd = openat(dirfd, relpath, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        *state = errno == ENOENT ? "missing" : "unreadable";
        snprintf(why, whylen, "%s", strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) == 0)
        *mtime = (int64_t)st.st_mtime;
    bbolt *b = NULL;
    int rc = bbolt_open_fd(fd, CD_BOLT_MAX_BYTES, &b, why, whylen);
    close(fd);
    if (rc != BBOLT_OK)
        *state = bolt_state(rc);
    return b;
}

/* One walk that checks every page and loads the records: when a page does
 * not read cleanly, the tables the walk fills are emptied (the file loads
 * nothing) and state and why say what broke. Returns the walk's code
 * (BBOLT_ERR_STOPPED with *visitor_rc < 0 on a database error). */
static int walk_all_or_nothing(struct db *db, bbolt *b, bbolt_visit_fn fn, void *ctx, int *visitor_rc,
                               const char *const *tables, const char **state, char *why, size_t whylen,
                               char *err, size_t errlen)
{
    int brc = bbolt_walk(b, fn, ctx, why, whylen);
    if (brc == BBOLT_OK || *visitor_rc != 0)
        return brc;
    *state = bolt_state(brc);
    for (int i = 0; tables[i] && *visitor_rc == 0; i++) {
        char sql[96];
        snprintf(sql, sizeof sql, "DELETE FROM %s", tables[i]);
        if (db_exec(db, sql, err, errlen) < 0)
            *visitor_rc = -1;
    }
    return brc;
}

static int insert_db_row(struct db *db, const char *name, const char *path, const char *state, const char *error,
                         const int64_t *version, const int64_t *sequence, int64_t mtime, char *err, size_t errlen)
{
    sqlite3_stmt *q;
    if (db_prepare(db, "INSERT OR REPLACE INTO cd_db(name, path, state, error, version, sequence, mtime)"
                       " VALUES (?1,?2,?3,?4,?5,?6,?7)", &q, err, errlen) < 0)
        return -1;
    db_bind_text(q, 1, name);
    db_bind_text(q, 2, path);
    db_bind_text(q, 3, state);
    db_bind_text(q, 4, error && *error ? error : NULL);
    if (version)
        db_bind_int(q, 5, *version);
    if (sequence)
        db_bind_int(q, 6, *sequence);
    if (mtime)
        db_bind_int(q, 7, mtime);
    int rc = db_step_reset(q, err, errlen);
    sqlite3_finalize(q);
    return rc;
}

static bool is(const bbolt_slice *s, const char *lit)
{
    size_t n = strlen(lit);
    return s->len == n && memcmp(s->data, lit, n) == 0;
}

/* Parameter idx of q: NULL when p is NULL, else the len bytes at p, as
 * text or (interned) as their id. Text binds are SQLITE_STATIC (no copy):
 * every insert is stepped and reset while the bytes it names are still
 * there (the walk's page, the pending record), and every parameter is
 * bound again before the next step. -1 when out of memory. */
static int bind_bytes(struct cd_intern *strs, sqlite3_stmt *q, int idx, bool interned, const char *p, size_t len,
                      char *err, size_t errlen)
{
    if (p && interned)
        return cd_intern_bind(strs, q, idx, p, len, err, errlen);
    if (p)
        sqlite3_bind_text(q, idx, p, (int)len, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, idx);
    return 0;
}

/* A slice's bytes for bind_bytes: a present slice without data is "". */
static const char *slice_bytes(const bbolt_slice *s)
{
    return !s ? NULL : s->data ? (const char *)s->data : "";
}

/* ---- meta.db -------------------------------------------------------------- */

enum obj { OBJ_NONE, OBJ_IMAGE, OBJ_BLOB, OBJ_INGEST, OBJ_SNAPSHOT, OBJ_CONTAINER, OBJ_LEASE, OBJ_SANDBOX, OBJ_COUNT };

struct str {
    char *p;
    size_t len;
    bool set;
};

#define NF 3
#define NN 4
struct pending {
    enum obj type;
    struct str ns, sub, id;
    struct str f[NF];
    int64_t n[NN];
    bool has[NN];
};

enum stmt {
    Q_NS, Q_IMAGE, Q_BLOB, Q_INGEST, Q_SNAPSHOT, Q_CONTAINER, Q_LEASE, Q_SANDBOX, Q_LABEL, Q_CHILD, Q_RESOURCE,
    Q_COUNT
};
static const char *const meta_sql[Q_COUNT] = {
    [Q_NS] = "INSERT OR IGNORE INTO cd_namespace(ns) VALUES (?1)",
    [Q_IMAGE] = "INSERT OR REPLACE INTO cdi_image(ns, name, digest, mediatype, size, created, updated)"
                " VALUES (?1,?3,?4,?5,?7,?8,?9)",
    [Q_BLOB] = "INSERT OR REPLACE INTO cdi_blob(ns, digest, size, created, updated) VALUES (?1,?3,?7,?8,?9)",
    [Q_INGEST] = "INSERT OR REPLACE INTO cd_ingest(ns, ref, backend_ref, dir, expected, expire_at)"
                 " VALUES (?1,?3,?4,?6,?5,?7)",
    [Q_SNAPSHOT] = "INSERT OR REPLACE INTO cdi_snapshot(ns, snapshotter, key, name, parent, created, updated)"
                   " VALUES (?1,?2,?3,?4,?5,?8,?9)",
    [Q_CONTAINER] = "INSERT OR REPLACE INTO cdi_container(ns, id, snapshotter, snapshot_key, image, created, updated)"
                    " VALUES (?1,?3,?4,?5,?6,?8,?9)",
    [Q_LEASE] = "INSERT OR REPLACE INTO cd_lease(ns, id, created, expire, expire_at, flat)"
                " VALUES (?1,?3,?8,?4,?7,coalesce(?10,0))",
    [Q_SANDBOX] = "INSERT OR REPLACE INTO cd_sandbox(ns, id, created, updated) VALUES (?1,?3,?8,?9)",
    [Q_LABEL] = "INSERT OR REPLACE INTO cdi_label(ns, kind, sub, owner, key, value) VALUES (?1,?2,?3,?4,?5,?6)",
    [Q_CHILD] = "INSERT OR IGNORE INTO cd_snapshot_child(ns, snapshotter, key, child) VALUES (?1,?2,?3,?4)",
    [Q_RESOURCE] = "INSERT OR IGNORE INTO cd_lease_resource(ns, lease, kind, sub, id) VALUES (?1,?2,?3,?4,?5)",
};
/* The parameters of each insert that are interned (bit n: ?n): image name
 * and digest; blob digest; snapshot key, name, parent; container
 * snapshot_key; label owner, key, value. */
static const unsigned meta_interned[Q_COUNT] = {
    [Q_IMAGE] = 1u << 3 | 1u << 4, [Q_BLOB] = 1u << 3, [Q_SNAPSHOT] = 1u << 3 | 1u << 4 | 1u << 5,
    [Q_CONTAINER] = 1u << 5, [Q_LABEL] = 1u << 4 | 1u << 5 | 1u << 6,
};
/* The tables the meta.db walk fills (and nothing else does). */
static const char *const meta_tables[] = {
    "cd_namespace", "cdi_image", "cdi_blob", "cd_ingest", "cdi_snapshot", "cdi_container", "cd_lease", "cd_sandbox",
    "cdi_label", "cd_snapshot_child", "cd_lease_resource", NULL,
};
static const enum stmt obj_stmt[OBJ_COUNT] = {
    [OBJ_IMAGE] = Q_IMAGE, [OBJ_BLOB] = Q_BLOB, [OBJ_INGEST] = Q_INGEST, [OBJ_SNAPSHOT] = Q_SNAPSHOT,
    [OBJ_CONTAINER] = Q_CONTAINER, [OBJ_LEASE] = Q_LEASE, [OBJ_SANDBOX] = Q_SANDBOX,
};

struct meta_walk {
    struct db *db;
    struct cd_intern *strs;
    sqlite3_stmt *q[Q_COUNT];
    struct pending cur;
    bool saw_v1;
    bool have_version;
    int64_t version;
    int rc;                 /* -1 after a database error */
    char *err;
    size_t errlen;
};

static void str_set(struct str *s, const bbolt_slice *v)
{
    free(s->p);
    s->p = malloc(v->len + 1);
    s->len = 0;
    s->set = s->p != NULL;
    if (s->p) {
        if (v->len)
            memcpy(s->p, v->data, v->len);
        s->p[v->len] = '\0';
        s->len = v->len;
    }
}

static void pending_clear(struct pending *p)
{
    free(p->ns.p);
    free(p->sub.p);
    free(p->id.p);
    for (int i = 0; i < NF; i++)
        free(p->f[i].p);
    memset(p, 0, sizeof *p);
}

/* Parameter idx of statement st of the walk (text, or interned). */
static void bind_param(struct meta_walk *w, enum stmt st, int idx, const char *p, size_t len)
{
    if (bind_bytes(w->strs, w->q[st], idx, meta_interned[st] & 1u << idx, p, len, w->err, w->errlen) < 0)
        w->rc = -1;
}

static void bind_str(struct meta_walk *w, enum stmt st, int idx, const struct str *s)
{
    bind_param(w, st, idx, s->set ? s->p : NULL, s->len);
}

static void bind_slice(struct meta_walk *w, enum stmt st, int idx, const bbolt_slice *s)
{
    bind_param(w, st, idx, slice_bytes(s), s ? s->len : 0);
}

/* Parameters of every record insert: ?1 ns, ?2 sub, ?3 id, ?4..?6 f[0..2],
 * ?7..?10 n[0..3]; an ingest's ?6 is its dir (sha256 of the backend ref). */
static int flush(struct meta_walk *w)
{
    struct pending *p = &w->cur;
    if (p->type == OBJ_NONE || w->rc < 0) {
        pending_clear(p);
        return w->rc;
    }
    enum stmt st = obj_stmt[p->type];
    sqlite3_stmt *q = w->q[st];
    char hex[HEX64_LEN + 1];   /* bound SQLITE_STATIC: alive until the step below */
    bind_str(w, st, 1, &p->ns);
    bind_str(w, st, 2, &p->sub);
    bind_str(w, st, 3, &p->id);
    for (int i = 0; i < NF; i++)
        bind_str(w, st, 4 + i, &p->f[i]);
    if (p->type == OBJ_INGEST && p->f[0].set) {
        id_sha256_hex(p->f[0].p, p->f[0].len, hex);
        sqlite3_bind_text(q, 6, hex, -1, SQLITE_STATIC);
    }
    for (int i = 0; i < NN; i++) {
        if (p->has[i])
            sqlite3_bind_int64(q, 7 + i, p->n[i]);
        else
            sqlite3_bind_null(q, 7 + i);
    }
    if (w->rc == 0 && db_step_reset(q, w->err, w->errlen) < 0)
        w->rc = -1;
    pending_clear(p);
    return w->rc;
}

static void begin(struct meta_walk *w, enum obj type, const bbolt_slice *ns, const bbolt_slice *sub,
                  const bbolt_slice *id)
{
    flush(w);
    w->cur.type = type;
    str_set(&w->cur.ns, ns);
    if (sub)
        str_set(&w->cur.sub, sub);
    str_set(&w->cur.id, id);
}

static void set_num(struct pending *p, int i, int64_t v)
{
    p->n[i] = v;
    p->has[i] = true;
}

static void set_time(struct pending *p, int i, const bbolt_slice *v)
{
    int64_t t;
    if (cd_go_time(v->data, v->len, &t) == 0)
        set_num(p, i, t);
}

static void set_varint(struct pending *p, int i, const bbolt_slice *v)
{
    int64_t n;
    if (cd_varint(v->data, v->len, &n) == 0)
        set_num(p, i, n);
}

static void exec_row(struct meta_walk *w, enum stmt s, const bbolt_slice *a, const char *b, const bbolt_slice *c,
                     const bbolt_slice *d, const bbolt_slice *e, const bbolt_slice *f)
{
    if (w->rc < 0)
        return;
    sqlite3_stmt *q = w->q[s];
    bind_slice(w, s, 1, a);
    if (b)
        sqlite3_bind_text(q, 2, b, -1, SQLITE_STATIC);
    else
        bind_slice(w, s, 2, c);
    if (b)
        bind_slice(w, s, 3, c);
    bind_slice(w, s, b ? 4 : 3, d);
    bind_slice(w, s, b ? 5 : 4, e);
    if (b)
        bind_slice(w, s, 6, f);
    if (w->rc == 0 && db_step_reset(q, w->err, w->errlen) < 0)
        w->rc = -1;
}

static const bbolt_slice empty_slice = { (const unsigned char *)"", 0 };

static void label(struct meta_walk *w, const bbolt_slice *ns, const char *kind, const bbolt_slice *sub,
                  const bbolt_slice *owner, const bbolt_slice *key, const bbolt_slice *val)
{
    exec_row(w, Q_LABEL, ns, kind, sub ? sub : &empty_slice, owner, key, val);
}

static void resource(struct meta_walk *w, const bbolt_slice *ns, const bbolt_slice *lease, const char *kind,
                     const bbolt_slice *sub, const bbolt_slice *id)
{
    /* Q_RESOURCE: ns, lease, kind, sub, id */
    if (w->rc < 0)
        return;
    sqlite3_stmt *q = w->q[Q_RESOURCE];
    bind_slice(w, Q_RESOURCE, 1, ns);
    bind_slice(w, Q_RESOURCE, 2, lease);
    sqlite3_bind_text(q, 3, kind, -1, SQLITE_STATIC);
    bind_slice(w, Q_RESOURCE, 4, sub ? sub : &empty_slice);
    bind_slice(w, Q_RESOURCE, 5, id);
    if (w->rc == 0 && db_step_reset(q, w->err, w->errlen) < 0)
        w->rc = -1;
}

static void lease_label(struct meta_walk *w, const bbolt_slice *key, const bbolt_slice *val)
{
    struct pending *p = &w->cur;
    if (p->type != OBJ_LEASE)
        return;
    if (is(key, "containerd.io/gc.expire")) {
        str_set(&p->f[0], val);
        int64_t t;
        if (p->f[0].set && cd_rfc3339(p->f[0].p, &t) == 0)
            set_num(p, 0, t);
    } else if (is(key, "containerd.io/gc.flat")) {
        set_num(p, 3, 1);
    }
}

/* depth >= 3 below v1/<ns>/<kind>: path[2] names the kind. */
static void visit_ns(struct meta_walk *w, int depth, const bbolt_slice *path, const bbolt_slice *key,
                     const bbolt_slice *val, int is_bucket)
{
    const bbolt_slice *ns = &path[1], *kind = &path[2];
    struct pending *p = &w->cur;
    if (is(kind, "images")) {
        if (depth == 3 && is_bucket)
            begin(w, OBJ_IMAGE, ns, NULL, key);
        else if (depth == 4 && !is_bucket && is(key, "createdat"))
            set_time(p, 1, val);
        else if (depth == 4 && !is_bucket && is(key, "updatedat"))
            set_time(p, 2, val);
        else if (depth == 5 && !is_bucket && is(&path[4], "target")) {
            if (is(key, "digest"))
                str_set(&p->f[0], val);
            else if (is(key, "mediatype"))
                str_set(&p->f[1], val);
            else if (is(key, "size"))
                set_varint(p, 0, val);
        } else if (depth == 5 && !is_bucket && is(&path[4], "labels"))
            label(w, ns, "image", NULL, &path[3], key, val);
    } else if (is(kind, "content") && depth >= 4 && is(&path[3], "blob")) {
        if (depth == 4 && is_bucket)
            begin(w, OBJ_BLOB, ns, NULL, key);
        else if (depth == 5 && !is_bucket && is(key, "size"))
            set_varint(p, 0, val);
        else if (depth == 5 && !is_bucket && is(key, "createdat"))
            set_time(p, 1, val);
        else if (depth == 5 && !is_bucket && is(key, "updatedat"))
            set_time(p, 2, val);
        else if (depth == 6 && !is_bucket && is(&path[5], "labels"))
            label(w, ns, "blob", NULL, &path[4], key, val);
    } else if (is(kind, "content") && depth >= 4 && is(&path[3], "ingests")) {
        if (depth == 4 && is_bucket)
            begin(w, OBJ_INGEST, ns, NULL, key);
        else if (depth == 5 && !is_bucket && is(key, "ref"))
            str_set(&p->f[0], val);
        else if (depth == 5 && !is_bucket && is(key, "expected"))
            str_set(&p->f[1], val);
        else if (depth == 5 && !is_bucket && is(key, "expireat"))
            set_time(p, 0, val);
    } else if (is(kind, "snapshots") && depth >= 4) {
        if (depth == 4 && is_bucket)
            begin(w, OBJ_SNAPSHOT, ns, &path[3], key);
        else if (depth == 5 && !is_bucket && is(key, "name"))
            str_set(&p->f[0], val);
        else if (depth == 5 && !is_bucket && is(key, "parent"))
            str_set(&p->f[1], val);
        else if (depth == 5 && !is_bucket && is(key, "createdat"))
            set_time(p, 1, val);
        else if (depth == 5 && !is_bucket && is(key, "updatedat"))
            set_time(p, 2, val);
        else if (depth == 6 && is(&path[5], "children"))
            exec_row(w, Q_CHILD, ns, NULL, &path[3], &path[4], key, NULL);
        else if (depth == 6 && !is_bucket && is(&path[5], "labels"))
            label(w, ns, "snapshot", &path[3], &path[4], key, val);
    } else if (is(kind, "containers")) {
        if (depth == 3 && is_bucket)
            begin(w, OBJ_CONTAINER, ns, NULL, key);
        else if (depth == 4 && !is_bucket && is(key, "snapshotter"))
            str_set(&p->f[0], val);
        else if (depth == 4 && !is_bucket && is(key, "snapshotKey"))
            str_set(&p->f[1], val);
        else if (depth == 4 && !is_bucket && is(key, "image"))
            str_set(&p->f[2], val);
        else if (depth == 4 && !is_bucket && is(key, "createdat"))
            set_time(p, 1, val);
        else if (depth == 4 && !is_bucket && is(key, "updatedat"))
            set_time(p, 2, val);
        else if (depth == 5 && !is_bucket && is(&path[4], "labels"))
            label(w, ns, "container", NULL, &path[3], key, val);
    } else if (is(kind, "leases")) {
        if (depth == 3 && is_bucket)
            begin(w, OBJ_LEASE, ns, NULL, key);
        else if (depth == 4 && !is_bucket && is(key, "createdat"))
            set_time(p, 1, val);
        else if (depth == 5 && !is_bucket && is(&path[4], "labels")) {
            label(w, ns, "lease", NULL, &path[3], key, val);
            lease_label(w, key, val);
        } else if (depth == 5 && is(&path[4], "content"))
            resource(w, ns, &path[3], "content", NULL, key);
        else if (depth == 5 && is(&path[4], "ingests"))
            resource(w, ns, &path[3], "ingest", NULL, key);
        else if (depth == 5 && is(&path[4], "images"))
            resource(w, ns, &path[3], "image", NULL, key);
        else if (depth == 6 && is(&path[4], "snapshots"))
            resource(w, ns, &path[3], "snapshot", &path[5], key);
    } else if (is(kind, "sandboxes")) {
        if (depth == 3 && is_bucket)
            begin(w, OBJ_SANDBOX, ns, NULL, key);
        else if (depth == 4 && !is_bucket && is(key, "createdat"))
            set_time(p, 1, val);
        else if (depth == 4 && !is_bucket && is(key, "updatedat"))
            set_time(p, 2, val);
        else if (depth == 5 && !is_bucket && is(&path[4], "labels"))
            label(w, ns, "sandbox", NULL, &path[3], key, val);
    }
}

static int meta_visit(void *ctx, int depth, const bbolt_slice *path, const bbolt_slice *key, const bbolt_slice *val,
                      int is_bucket)
{
    struct meta_walk *w = ctx;
    if (depth == 0) {
        if (is(key, "v1") && is_bucket)
            w->saw_v1 = true;
        return 0;
    }
    if (!is(&path[0], "v1"))
        return 0;
    if (depth == 1) {
        if (!is_bucket && is(key, "version") && cd_varint(val->data, val->len, &w->version) == 0)
            w->have_version = true;
        else if (is_bucket)
            exec_row(w, Q_NS, key, NULL, NULL, NULL, NULL, NULL);
        return w->rc < 0;
    }
    if (depth >= 3)
        visit_ns(w, depth, path, key, val, is_bucket);
    return w->rc < 0;
}

/* exec_row's Q_NS binds ?1 only; the others are unused slots. */

int scan_cd_meta_db(struct db *db, struct cd_intern *strs, int dirfd, const char *relpath, char *err, size_t errlen)
{
    const char *state;
    char why[512];
    int64_t mtime = 0;
    bbolt *b = open_bolt(dirfd, relpath, &state, why, sizeof why, &mtime);
    if (!b)
        return insert_db_row(db, "meta.db", relpath, state, why, NULL, NULL, mtime, err, errlen);
    struct meta_walk w = { .db = db, .strs = strs, .err = err, .errlen = errlen };
    for (int i = 0; i < Q_COUNT && w.rc == 0; i++)
        if (db_prepare(db, meta_sql[i], &w.q[i], err, errlen) < 0)
            w.rc = -1;
    if (w.rc == 0) {
        int brc = walk_all_or_nothing(db, b, meta_visit, &w, &w.rc, meta_tables, &state, why, sizeof why, err, errlen);
        if (brc == BBOLT_OK)
            flush(&w);
        if (brc != BBOLT_OK && w.rc == 0) {
            w.have_version = false;   /* state and why say what broke; nothing was loaded */
        } else if (w.rc == 0 && !w.saw_v1) {
            state = "invalid";
            snprintf(why, sizeof why, "no v1 bucket: not a containerd metadata database");
        } else if (w.rc == 0 && !w.have_version) {
            state = "invalid";
            snprintf(why, sizeof why, "no readable v1/version");
        }
    }
    pending_clear(&w.cur);
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(w.q[i]);
    bbolt_close(b);
    if (w.rc < 0)
        return -1;
    return insert_db_row(db, "meta.db", relpath, state, strcmp(state, "ok") == 0 ? NULL : why,
                         w.have_version ? &w.version : NULL, NULL, mtime, err, errlen);
}

/* ---- metadata.db (overlayfs snapshotter) --------------------------------- */

/* The tables the metadata.db walk fills (and nothing else does). */
static const char *const snap_tables[] = { "cdi_backend", "cd_backend_parent", NULL };

struct snap_walk {
    struct db *db;
    struct cd_intern *strs;
    sqlite3_stmt *ins, *par;
    bool saw_snapshots;
    bool have_seq;
    int64_t seq;
    /* the pending snapshot */
    struct str name, parent;
    int64_t id, kind, created, updated;
    bool has_id, has_kind, has_created, has_updated, open;
    int rc;
    char *err;
    size_t errlen;
};

/* Parameter idx of the snapshot insert (text, or interned). */
static void snap_bind(struct snap_walk *w, int idx, bool interned, const char *p, size_t len)
{
    if (bind_bytes(w->strs, w->ins, idx, interned, p, len, w->err, w->errlen) < 0)
        w->rc = -1;
}

static void snap_flush(struct snap_walk *w)
{
    if (w->open && w->rc == 0) {
        sqlite3_stmt *q = w->ins;
        snap_bind(w, 1, true, w->name.set ? w->name.p : NULL, w->name.len);
        if (w->has_id)
            sqlite3_bind_int64(q, 2, w->id);
        else
            sqlite3_bind_null(q, 2);
        if (w->has_kind)
            sqlite3_bind_int64(q, 3, w->kind);
        else
            sqlite3_bind_null(q, 3);
        snap_bind(w, 4, true, w->parent.set ? w->parent.p : NULL, w->parent.len);
        /* ns and key: "<ns>/<seq>/<key>" */
        const char *s1 = w->name.set ? memchr(w->name.p, '/', w->name.len) : NULL;
        const char *s2 = s1 ? memchr(s1 + 1, '/', w->name.len - (size_t)(s1 + 1 - w->name.p)) : NULL;
        if (s2) {
            sqlite3_bind_text(q, 5, w->name.p, (int)(s1 - w->name.p), SQLITE_STATIC);
            snap_bind(w, 6, true, s2 + 1, w->name.len - (size_t)(s2 + 1 - w->name.p));
        } else {
            sqlite3_bind_null(q, 5);
            sqlite3_bind_null(q, 6);
        }
        if (w->has_created)
            sqlite3_bind_int64(q, 7, w->created);
        else
            sqlite3_bind_null(q, 7);
        if (w->has_updated)
            sqlite3_bind_int64(q, 8, w->updated);
        else
            sqlite3_bind_null(q, 8);
        if (w->rc == 0 && db_step_reset(q, w->err, w->errlen) < 0)
            w->rc = -1;
    }
    free(w->name.p);
    free(w->parent.p);
    memset(&w->name, 0, sizeof w->name);
    memset(&w->parent, 0, sizeof w->parent);
    w->has_id = w->has_kind = w->has_created = w->has_updated = w->open = false;
}

static void parents_row(struct snap_walk *w, const bbolt_slice *key, const bbolt_slice *val)
{
    uint64_t parent, child;
    size_t used;
    if (cd_uvarint(key->data, key->len, &parent, &used) < 0 || used >= key->len || key->data[used] != 0)
        return;
    size_t rest = key->len - used - 1, used2;
    if (cd_uvarint(key->data + used + 1, rest, &child, &used2) < 0 || used2 != rest)
        return;
    sqlite3_bind_int64(w->par, 1, (int64_t)parent);
    sqlite3_bind_int64(w->par, 2, (int64_t)child);
    bind_bytes(w->strs, w->par, 3, false, slice_bytes(val), val ? val->len : 0, w->err, w->errlen);
    if (db_step_reset(w->par, w->err, w->errlen) < 0)
        w->rc = -1;
}

static int snap_visit(void *ctx, int depth, const bbolt_slice *path, const bbolt_slice *key, const bbolt_slice *val,
                      int is_bucket)
{
    struct snap_walk *w = ctx;
    if (depth == 0 || !is(&path[0], "v1"))
        return 0;
    if (depth == 1) {
        if (is_bucket && is(key, "snapshots")) {
            w->saw_snapshots = true;
            if (val->len >= 16) {
                uint64_t seq = 0;
                for (int i = 7; i >= 0; i--)
                    seq = seq << 8 | val->data[8 + i];
                w->seq = (int64_t)seq;
                w->have_seq = true;
            }
        }
        return 0;
    }
    if (depth == 2 && is(&path[1], "parents") && !is_bucket) {
        parents_row(w, key, val);
        return w->rc < 0;
    }
    if (!is(&path[1], "snapshots"))
        return 0;
    if (depth == 2 && is_bucket) {
        snap_flush(w);
        str_set(&w->name, key);
        w->open = true;
    } else if (depth == 3 && !is_bucket) {
        uint64_t u;
        if (is(key, "id") && cd_uvarint(val->data, val->len, &u, NULL) == 0 && u <= INT64_MAX) {
            w->id = (int64_t)u;
            w->has_id = true;
        } else if (is(key, "kind") && val->len == 1) {
            w->kind = val->data[0];
            w->has_kind = true;
        } else if (is(key, "parent")) {
            str_set(&w->parent, val);
        } else if (is(key, "createdat") && cd_go_time(val->data, val->len, &w->created) == 0) {
            w->has_created = true;
        } else if (is(key, "updatedat") && cd_go_time(val->data, val->len, &w->updated) == 0) {
            w->has_updated = true;
        }
    }
    return w->rc < 0;
}

int scan_cd_snapshot_db(struct db *db, struct cd_intern *strs, int dirfd, const char *relpath, char *err,
                        size_t errlen)
{
    const char *state;
    char why[512];
    int64_t mtime = 0;
    bbolt *b = open_bolt(dirfd, relpath, &state, why, sizeof why, &mtime);
    if (!b)
        return insert_db_row(db, "metadata.db", relpath, state, why, NULL, NULL, mtime, err, errlen);
    struct snap_walk w = { .db = db, .strs = strs, .err = err, .errlen = errlen };
    if (db_prepare(db, "INSERT OR REPLACE INTO cdi_backend(name, id, kind, parent, ns, key, created, updated)"
                       " VALUES (?1,?2,?3,?4,?5,?6,?7,?8)", &w.ins, err, errlen) < 0 ||
        db_prepare(db, "INSERT OR REPLACE INTO cd_backend_parent(parent_id, child_id, child_name) VALUES (?1,?2,?3)",
                   &w.par, err, errlen) < 0)
        w.rc = -1;
    if (w.rc == 0) {
        int brc = walk_all_or_nothing(db, b, snap_visit, &w, &w.rc, snap_tables, &state, why, sizeof why, err, errlen);
        if (brc != BBOLT_OK)
            w.open = false;   /* the pending snapshot was rolled back with the rest */
        snap_flush(&w);       /* stores an open one; frees its strings either way */
        if (brc != BBOLT_OK && w.rc == 0) {
            w.have_seq = false;   /* state and why say what broke; nothing was loaded */
        } else if (w.rc == 0 && !w.saw_snapshots) {
            /* a snapshotter that never made a snapshot has an empty v1: that is fine */
        }
    } else {
        snap_flush(&w);
    }
    sqlite3_finalize(w.ins);
    sqlite3_finalize(w.par);
    bbolt_close(b);
    if (w.rc < 0)
        return -1;
    return insert_db_row(db, "metadata.db", relpath, state, strcmp(state, "ok") == 0 ? NULL : why, NULL,
                         w.have_seq ? &w.seq : NULL, mtime, err, errlen);
}
