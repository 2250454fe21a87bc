/* repair_model.c — the store as repair sees it, and what it should be.
 *
 * Owns: reading the scan database into a model (overlay2 dirs with their
 * link and lower files, l/ entries, lower entries, each dir's parent dir
 * from layerdb and the container mounts, the findings), and resolving the
 * target state:
 *
 *   names    pass 1: a dir whose valid link file names an l/ symlink that
 *                    points back at it keeps that name (consistent);
 *            pass 2: a referenced dir with a valid link file keeps the name
 *                    it gives (its l/ symlink is recreated or re-pointed);
 *            pass 3: a referenced dir whose link file is missing, empty or
 *                    invalid (or whose name is taken) gets the name of an
 *                    l/ symlink that still points at it, else the name its
 *                    children's lower files give (a child's lower entry k is
 *                    its (k+1)-th ancestor's name), else a fresh one.
 *   lowers   "l/<parent's name>" followed by the parent's expected lower,
 *            as dockerd's overlay2 driver writes it; only where the parent
 *            is known for sure: a layer whose chainID matches its diff and
 *            parent (when both are readable), a container's -init dir on
 *            the image's top layer, its RW dir on its -init dir, every dir
 *            claimed by exactly one layer or mount.
 *
 * Dirs without diff/ get no name: their content is lost. */
#include "repair.h"
#include "grow.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers ---------------------------------------------------- */

static char *col_dup(sqlite3_stmt *q, int i)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    return t ? act_strdup((const char *)t) : NULL;
}

static bool col_is(sqlite3_stmt *q, int i, const char *want)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    return t && strcmp((const char *)t, want) == 0;
}


static void set_why(char **slot, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_why(char **slot, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = act_vprintf(fmt, ap);
    va_end(ap);
    free(*slot);
    *slot = s;
}

/* ---- lookups ---------------------------------------------------------- */

long repair_model_find_dir(const struct repair_model *m, const char *name)
{
    if (!name)
        return -1;
    size_t lo = 0, hi = m->dir_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(m->dirs[mid].name, name);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

long repair_model_find_link(const struct repair_model *m, const char *name)
{
    size_t lo = 0, hi = m->link_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(m->links[mid].name, name);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* ---- the owner table: target name -> dir (open addressing) ------------ */

static size_t name_hash(const char *s)
{
    size_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static void owners_init(struct repair_model *m)
{
    size_t cap = 64;
    while (cap < m->dir_count * 2 + 16)
        cap *= 2;
    m->owners = malloc(cap * sizeof *m->owners);
    if (!m->owners) {
        fprintf(stderr, "ovl2fsck: out of memory\n");
        abort();
    }
    for (size_t i = 0; i < cap; i++)
        m->owners[i] = -1;
    m->owner_cap = cap;
}

long repair_model_name_owner(const struct repair_model *m, const char *name)
{
    if (!m->owners)
        return -1;
    for (size_t i = name_hash(name) & (m->owner_cap - 1);; i = (i + 1) & (m->owner_cap - 1)) {
        long d = m->owners[i];
        if (d < 0)
            return -1;
        if (strcmp(m->dirs[d].target, name) == 0)
            return d;
    }
}

/* Give dir d the name (at most one name per dir, one dir per name). */
static void assign(struct repair_model *m, long d, const char *name, enum repair_source src)
{
    struct repair_dir *dir = &m->dirs[d];
    snprintf(dir->target, sizeof dir->target, "%s", name);
    dir->source = src;
    size_t i = name_hash(name) & (m->owner_cap - 1);
    while (m->owners[i] >= 0)
        i = (i + 1) & (m->owner_cap - 1);
    m->owners[i] = d;
}

/* ---- loading ---------------------------------------------------------- */

static int load_dirs(struct repair_model *m, struct db *db, char *err, size_t errlen)
{
    sqlite3_stmt *q;
    if (db_prepare(db, "SELECT o.name, o.has_diff, o.has_work, o.link, o.link_state, o.lower, o.lower_state,"
                       " o.mtime, EXISTS (SELECT 1 FROM overlay_ref r WHERE r.dir = o.name)"
                       /* the dirs of a container dockerd was removing are not rebuilt: its
                        * removal is finished (container-removal-leftover), not undone */
                       " AND NOT EXISTS (SELECT 1 FROM overlay_ref r JOIN container c ON c.id = r.by_id"
                       "                 WHERE r.dir = o.name AND r.by_kind IN ('mount', 'init')"
                       "                 AND (c.dead OR c.removing))"
                       " FROM overlay_dir o ORDER BY o.name", &q, err, errlen) < 0)
        return -1;
    size_t cap = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        m->dirs = grow_array_or_die(m->dirs, &cap, m->dir_count + 1, sizeof *m->dirs);
        struct repair_dir *d = &m->dirs[m->dir_count++];
        memset(d, 0, sizeof *d);
        d->name = col_dup(q, 0);
        d->has_diff = sqlite3_column_int(q, 1) != 0;
        d->has_work = sqlite3_column_int(q, 2) != 0;
        d->link_state = col_dup(q, 4);
        d->link = col_is(q, 4, "ok") ? col_dup(q, 3) : NULL;
        d->lower = col_dup(q, 5);
        d->lower_state = col_dup(q, 6);
        d->mtime = sqlite3_column_int64(q, 7);
        d->referenced = sqlite3_column_int(q, 8) != 0;
        d->parent = PARENT_UNKNOWN;
    }
    sqlite3_finalize(q);
    return 0;
}

static int load_links(struct repair_model *m, struct db *db, char *err, size_t errlen)
{
    sqlite3_stmt *q;
    if (db_prepare(db, "SELECT name, type, target, target_dir, mtime FROM link ORDER BY name", &q, err, errlen) < 0)
        return -1;
    size_t cap = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        m->links = grow_array_or_die(m->links, &cap, m->link_count + 1, sizeof *m->links);
        struct repair_link *l = &m->links[m->link_count++];
        l->name = col_dup(q, 0);
        l->type = col_dup(q, 1);
        l->target = col_dup(q, 2);
        l->dir = strcmp(l->type, "symlink") == 0 ? repair_model_find_dir(m, (const char *)sqlite3_column_text(q, 3)) : -1;
        l->mtime = sqlite3_column_int64(q, 4);
    }
    sqlite3_finalize(q);
    return 0;
}

static int load_entries(struct repair_model *m, struct db *db, char *err, size_t errlen)
{
    sqlite3_stmt *q;
    if (db_prepare(db, "SELECT dir, idx, short FROM overlay_lower ORDER BY dir, idx", &q, err, errlen) < 0)
        return -1;
    size_t cap = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        long d = repair_model_find_dir(m, (const char *)sqlite3_column_text(q, 0));
        if (d < 0)
            continue;
        m->entries = grow_array_or_die(m->entries, &cap, m->entry_count + 1, sizeof *m->entries);
        struct repair_entry *e = &m->entries[m->entry_count++];
        e->dir = d;
        e->idx = sqlite3_column_int(q, 1);
        const unsigned char *s = sqlite3_column_text(q, 2);
        snprintf(e->name, sizeof e->name, "%s", s ? (const char *)s : "");
    }
    sqlite3_finalize(q);
    return 0;
}

static int load_findings(struct repair_model *m, struct db *db, char *err, size_t errlen)
{
    sqlite3_stmt *q;
    if (db_prepare(db, "SELECT check_name, severity, object, path, detail, young FROM finding ORDER BY seq",
                   &q, err, errlen) < 0)
        return -1;
    size_t cap = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        m->findings = grow_array_or_die(m->findings, &cap, m->finding_count + 1, sizeof *m->findings);
        struct repair_finding *f = &m->findings[m->finding_count++];
        memset(f, 0, sizeof *f);
        f->check = col_dup(q, 0);
        f->severity = col_dup(q, 1);
        f->object = col_dup(q, 2);
        f->path = col_dup(q, 3);
        f->detail = col_dup(q, 4);
        f->young = sqlite3_column_int(q, 5) != 0;
    }
    sqlite3_finalize(q);
    return 0;
}

/* ---- parents ---------------------------------------------------------- */

struct layer_row {
    char *chain, *cache, *parent, *computed;
    bool parent_ok, parent_missing;
    char *parent_state;
};

struct layers {
    struct layer_row *v;
    size_t n;
};

static int cmp_layer(const void *a, const void *b)
{
    return strcmp(((const struct layer_row *)a)->chain, ((const struct layer_row *)b)->chain);
}

static const struct layer_row *find_layer(const struct layers *ls, const char *chain)
{
    if (!chain || !ls->n)
        return NULL;
    struct layer_row key = { .chain = (char *)chain };
    return ls->n ? bsearch(&key, ls->v, ls->n, sizeof *ls->v, cmp_layer) : NULL;
}

static void free_layers(struct layers *ls)
{
    for (size_t i = 0; i < ls->n; i++) {
        free(ls->v[i].chain);
        free(ls->v[i].cache);
        free(ls->v[i].parent);
        free(ls->v[i].computed);
        free(ls->v[i].parent_state);
    }
    free(ls->v);
}

static int read_layers(struct layers *ls, struct db *db, char *err, size_t errlen)
{
    sqlite3_stmt *q;
    memset(ls, 0, sizeof *ls);
    if (db_prepare(db, "SELECT chain_id, cache_id, parent, parent_state, computed_chain FROM layer"
                       " WHERE cache_id_state = 'ok' ORDER BY chain_id", &q, err, errlen) < 0)
        return -1;
    size_t cap = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        ls->v = grow_array_or_die(ls->v, &cap, ls->n + 1, sizeof *ls->v);
        struct layer_row *l = &ls->v[ls->n++];
        l->chain = col_dup(q, 0);
        l->cache = col_dup(q, 1);
        l->parent = col_dup(q, 2);
        l->parent_state = col_dup(q, 3);
        l->parent_ok = col_is(q, 3, "ok");
        l->parent_missing = col_is(q, 3, "missing");
        l->computed = col_dup(q, 4);
    }
    sqlite3_finalize(q);
    return 0;
}

/* Record the parent of dir d (a second claim on d makes it unknown). */
static void set_parent(struct repair_model *m, long d, long parent, const char *why)
{
    struct repair_dir *dir = &m->dirs[d];
    if (dir->claims++ > 0) {
        dir->parent = PARENT_UNKNOWN;
        set_why(&dir->parent_why, "it is the dir of more than one layer or container");
        return;
    }
    dir->parent = parent;
    if (parent == PARENT_UNKNOWN)
        set_why(&dir->parent_why, "%s", why);
}

/* The dir of layer <chain> as a parent: its index, or PARENT_UNKNOWN with why. */
static long layer_dir(const struct repair_model *m, const struct layers *ls, const char *chain, char *why,
                      size_t whylen)
{
    const struct layer_row *p = find_layer(ls, chain);
    if (!p) {
        snprintf(why, whylen, "its parent layer sha256:%.64s is missing or has no cache-id", chain ? chain : "?");
        return PARENT_UNKNOWN;
    }
    long pd = repair_model_find_dir(m, p->cache);
    if (pd < 0) {
        snprintf(why, whylen, "the dir of its parent layer (overlay2/%.80s) is missing", p->cache);
        return PARENT_UNKNOWN;
    }
    return pd;
}

static void layer_parents(struct repair_model *m, const struct layers *ls)
{
    for (size_t i = 0; i < ls->n; i++) {
        const struct layer_row *l = &ls->v[i];
        long d = repair_model_find_dir(m, l->cache);
        if (d < 0)
            continue;
        char why[300] = "";
        long parent;
        if (l->computed && strcmp(l->computed, l->chain) != 0) {
            snprintf(why, sizeof why, "layer sha256:%.64s has a chainID that does not match its diff and parent", l->chain);
            parent = PARENT_UNKNOWN;
        } else if (l->parent_missing) {
            parent = PARENT_BASE;
        } else if (l->parent_ok) {
            parent = layer_dir(m, ls, l->parent, why, sizeof why);
        } else {
            snprintf(why, sizeof why, "the parent file of layer sha256:%.64s is %s", l->chain, l->parent_state);
            parent = PARENT_UNKNOWN;
        }
        set_parent(m, d, parent, why);
    }
}

static int mount_parents(struct repair_model *m, const struct layers *ls, struct db *db, char *err, size_t errlen)
{
    sqlite3_stmt *q;
    if (db_prepare(db, "SELECT container_id, mount_id, mount_id_state, init_id, init_id_state, parent, parent_state"
                       " FROM mount ORDER BY container_id", &q, err, errlen) < 0)
        return -1;
    while (sqlite3_step(q) == SQLITE_ROW) {
        char why[300] = "";
        long init = col_is(q, 4, "ok") ? repair_model_find_dir(m, (const char *)sqlite3_column_text(q, 3)) : -1;
        if (init >= 0) {
            long parent = PARENT_BASE;
            if (col_is(q, 6, "ok"))
                parent = layer_dir(m, ls, (const char *)sqlite3_column_text(q, 5), why, sizeof why);
            else if (!col_is(q, 6, "missing")) {
                snprintf(why, sizeof why, "the parent file of container mount %.64s is %s",
                         (const char *)sqlite3_column_text(q, 0), (const char *)sqlite3_column_text(q, 6));
                parent = PARENT_UNKNOWN;
            }
            set_parent(m, init, parent, why);
        }
        long rw = col_is(q, 2, "ok") ? repair_model_find_dir(m, (const char *)sqlite3_column_text(q, 1)) : -1;
        if (rw >= 0)
            set_parent(m, rw, init >= 0 ? init : PARENT_UNKNOWN, "its container's -init dir is missing");
    }
    sqlite3_finalize(q);
    return 0;
}

static int load_parents(struct repair_model *m, struct db *db, char *err, size_t errlen)
{
    struct layers ls;
    if (read_layers(&ls, db, err, errlen) < 0)
        return -1;
    layer_parents(m, &ls);
    int rc = mount_parents(m, &ls, db, err, errlen);
    free_layers(&ls);
    for (size_t i = 0; i < m->dir_count; i++)
        if (m->dirs[i].claims == 0)
            set_why(&m->dirs[i].parent_why, "it is not the dir of a layer or container (BuildKit or orphan)");
    return rc;
}

/* ---- links by dir ----------------------------------------------------- */

static const struct repair_model *sort_model;

static int cmp_link_by_dir(const void *a, const void *b)
{
    const struct repair_link *x = &sort_model->links[*(const long *)a];
    const struct repair_link *y = &sort_model->links[*(const long *)b];
    if (x->dir != y->dir)
        return x->dir < y->dir ? -1 : 1;
    return strcmp(x->name, y->name);
}

static void index_links(struct repair_model *m)
{
    m->link_by_dir = malloc((m->link_count + 1) * sizeof *m->link_by_dir);
    if (!m->link_by_dir)
        abort();
    for (size_t i = 0; i < m->link_count; i++)
        if (m->links[i].dir >= 0)
            m->link_by_dir[m->link_by_dir_count++] = (long)i;
    sort_model = m;
    if (m->link_by_dir_count)
        qsort(m->link_by_dir, m->link_by_dir_count, sizeof *m->link_by_dir, cmp_link_by_dir);
    sort_model = NULL;
}

/* The l/ symlinks pointing at dir d: first index into link_by_dir and count. */
static size_t links_of_dir(const struct repair_model *m, long d, size_t *first)
{
    size_t lo = 0, hi = m->link_by_dir_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->links[m->link_by_dir[mid]].dir < d)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t n = 0;
    while (lo + n < m->link_by_dir_count && m->links[m->link_by_dir[lo + n]].dir == d)
        n++;
    *first = lo;
    return n;
}

int repair_model_load(struct repair_model *m, struct db *db, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    if (load_dirs(m, db, err, errlen) < 0 || load_links(m, db, err, errlen) < 0 ||
        load_entries(m, db, err, errlen) < 0 || load_findings(m, db, err, errlen) < 0 ||
        load_parents(m, db, err, errlen) < 0)
        return -1;
    index_links(m);
    owners_init(m);
    return 0;
}

void repair_model_free(struct repair_model *m)
{
    for (size_t i = 0; i < m->dir_count; i++) {
        struct repair_dir *d = &m->dirs[i];
        free(d->name);
        free(d->link);
        free(d->link_state);
        free(d->lower);
        free(d->lower_state);
        free(d->parent_why);
        free(d->source_why);
        free(d->expected_lower);
        free(d->lower_why);
    }
    free(m->dirs);
    for (struct repair_link *l = m->links; l < m->links + m->link_count; l++) {
        free(l->name);
        free(l->type);
        free(l->target);
    }
    free(m->links);
    free(m->entries);
    for (size_t i = 0; i < m->finding_count; i++) {
        struct repair_finding *f = &m->findings[i];
        free(f->check);
        free(f->severity);
        free(f->object);
        free(f->path);
        free(f->detail);
    }
    free(m->findings);
    free(m->link_by_dir);
    free(m->votes);
    free(m->owners);
    memset(m, 0, sizeof *m);
}

size_t repair_model_ancestors(const struct repair_model *m, long dir, long *out, size_t max)
{
    size_t n = 0;
    long p = m->dirs[dir].parent;
    while (p >= 0 && n < max) {
        out[n++] = p;
        p = m->dirs[p].parent;
    }
    return n;
}

/* ---- votes: what the children's lower files say ----------------------- */

static int cmp_vote_row(const void *a, const void *b)
{
    const struct repair_vote_row *x = a, *y = b;
    if (x->dir != y->dir)
        return x->dir < y->dir ? -1 : 1;
    return strcmp(x->v.name, y->v.name);
}

/* Entry k of a dir's lower names its (k+1)-th ancestor. */
static void collect_votes(struct repair_model *m)
{
    size_t cap = 0, n = 0;
    struct repair_vote_row *rows = NULL;
    size_t i = 0;
    while (i < m->entry_count) {
        long c = m->entries[i].dir;
        long p = m->dirs[c].parent;
        for (; i < m->entry_count && m->entries[i].dir == c; i++) {
            const struct repair_entry *e = &m->entries[i];
            if (p < 0)
                continue;   /* the chain ends (or is unknown) before this entry */
            if (e->name[0]) {
                rows = grow_array_or_die(rows, &cap, n + 1, sizeof *rows);
                rows[n].dir = p;
                memcpy(rows[n].v.name, e->name, sizeof rows[n].v.name);
                rows[n].v.count = 1;
                n++;
            }
            p = m->dirs[p].parent;
        }
    }
    if (n)
        qsort(rows, n, sizeof *rows, cmp_vote_row);
    size_t out = 0;
    for (size_t k = 0; k < n; k++) {
        if (out && rows[out - 1].dir == rows[k].dir && strcmp(rows[out - 1].v.name, rows[k].v.name) == 0)
            rows[out - 1].v.count++;
        else
            rows[out++] = rows[k];
    }
    m->votes = rows;
    m->vote_count = out;
}

/* The votes for dir d (copied into a fresh array the caller frees). */
static struct repair_vote *votes_of(const struct repair_model *m, long d, size_t *count)
{
    size_t lo = 0, hi = m->vote_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->votes[mid].dir < d)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t n = 0;
    while (lo + n < m->vote_count && m->votes[lo + n].dir == d)
        n++;
    struct repair_vote *v = malloc((n + 1) * sizeof *v);
    if (!v)
        abort();
    for (size_t k = 0; k < n; k++)
        v[k] = m->votes[lo + k].v;
    *count = n;
    return v;
}

/* ---- names ------------------------------------------------------------ */

static bool link_is_symlink(const struct repair_link *l)
{
    return strcmp(l->type, "symlink") == 0;
}

/* A name may be given when no dir has it and l/ holds no non-symlink of it. */
static bool name_taken(void *ctx, const char *name)
{
    const struct repair_model *m = ctx;
    if (repair_model_name_owner(m, name) >= 0)
        return true;
    long l = repair_model_find_link(m, name);
    return l >= 0 && !link_is_symlink(&m->links[l]);
}

/* For a minted name: nothing in l/ may have it either. */
static bool name_exists(void *ctx, const char *name)
{
    const struct repair_model *m = ctx;
    return repair_model_name_owner(m, name) >= 0 || repair_model_find_link(m, name) >= 0;
}

static void pass_consistent(struct repair_model *m)
{
    for (size_t i = 0; i < m->dir_count; i++) {
        struct repair_dir *d = &m->dirs[i];
        long l = d->link ? repair_model_find_link(m, d->link) : -1;
        if (l >= 0 && m->links[l].dir == (long)i && repair_model_name_owner(m, d->link) < 0)
            assign(m, (long)i, d->link, SRC_CONSISTENT);
    }
}

static bool wants_name(const struct repair_dir *d)
{
    return d->referenced && d->has_diff && !d->target[0];
}

static void pass_link_files(struct repair_model *m)
{
    for (size_t i = 0; i < m->dir_count; i++) {
        struct repair_dir *d = &m->dirs[i];
        if (!wants_name(d) || !d->link)
            continue;
        if (!name_taken(m, d->link)) {
            assign(m, (long)i, d->link, SRC_LINK_FILE);
            set_why(&d->source_why, "its link file names %s", d->link);
        }
    }
}

static void describe_source(struct repair_model *m, long i, const struct repair_vote *votes, size_t nv)
{
    struct repair_dir *d = &m->dirs[i];
    int count = 0;
    for (size_t k = 0; k < nv; k++)
        if (strcmp(votes[k].name, d->target) == 0)
            count = votes[k].count;
    switch (d->source) {
    case SRC_SYMLINK:
        set_why(&d->source_why, "name %s taken from l/%s, which still points at this dir", d->target, d->target);
        break;
    case SRC_LOWER:
        set_why(&d->source_why, "name %s taken from the lower files of %d dir%s built on it", d->target, count,
                count == 1 ? "" : "s");
        break;
    case SRC_MINTED:
        set_why(&d->source_why, "no l/ symlink or lower file names it any more: new name %s minted (random, drawn afresh by each run)",
                d->target);
        break;
    default:
        break;
    }
}

static int pass_evidence(struct repair_model *m, char *err, size_t errlen)
{
    for (size_t i = 0; i < m->dir_count; i++) {
        if (!wants_name(&m->dirs[i]))
            continue;
        size_t first, n = links_of_dir(m, (long)i, &first), nv;
        const char **names = malloc((n + 1) * sizeof *names);
        if (!names)
            abort();
        for (size_t k = 0; k < n; k++)
            names[k] = m->links[m->link_by_dir[first + k]].name;
        struct repair_vote *votes = votes_of(m, (long)i, &nv);
        struct repair_evidence ev = { names, n, votes, nv };
        char name[LINK_NAME_LEN + 1];
        enum repair_source src = repair_pick_name(&ev, name_taken, m, name);
        int rc = 0;
        if (src == SRC_NONE) {
            src = SRC_MINTED;
            rc = repair_mint_name(name, name_exists, m);
        }
        if (rc == 0) {
            assign(m, (long)i, name, src);
            describe_source(m, (long)i, votes, nv);
        }
        free(names);
        free(votes);
        if (rc < 0) {
            snprintf(err, errlen, "cannot mint a free name for overlay2/%s", m->dirs[i].name);
            return -1;
        }
    }
    return 0;
}

/* ---- expected lowers -------------------------------------------------- */

static void lower_unknown(struct repair_dir *d, const char *why)
{
    d->lower_done = 3;
    set_why(&d->lower_why, "%s", why);
}

static void compute_lower(struct repair_model *m, long i, int depth)
{
    struct repair_dir *d = &m->dirs[i];
    if (d->lower_done >= 2)
        return;
    if (d->lower_done == 1 || depth > 2 * REPAIR_MAX_LOWER) {
        lower_unknown(d, "its parent chain loops or is deeper than dockerd allows");
        return;
    }
    if (d->parent == PARENT_BASE) {
        d->lower_done = 2;
        return;
    }
    if (d->parent == PARENT_UNKNOWN) {
        lower_unknown(d, d->parent_why ? d->parent_why : "its parent is unknown");
        return;
    }
    d->lower_done = 1;
    struct repair_dir *p = &m->dirs[d->parent];
    compute_lower(m, d->parent, depth + 1);
    char why[400];
    if (p->lower_done == 3) {
        snprintf(why, sizeof why, "the lower of its parent overlay2/%s cannot be known: %s", p->name,
                 p->lower_why ? p->lower_why : "?");
        lower_unknown(d, why);
    } else if (!p->target[0]) {
        snprintf(why, sizeof why, "its parent overlay2/%s %s", p->name,
                 p->has_diff ? "has no name" : "has no diff/ (its content is lost)");
        lower_unknown(d, why);
    } else if (!(d->expected_lower = repair_lower_build(p->target, p->expected_lower))) {
        lower_unknown(d, "it would have more than 128 lower layers (dockerd refuses that too)");
    } else {
        d->lower_done = 2;
    }
}

int repair_model_resolve(struct repair_model *m, char *err, size_t errlen)
{
    collect_votes(m);
    pass_consistent(m);
    pass_link_files(m);
    if (pass_evidence(m, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < m->dir_count; i++)
        compute_lower(m, (long)i, 0);
    return 0;
}
