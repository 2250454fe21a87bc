/* derive.c — the derived facts every check looks up, computed once at the
 * start of the check pass:
 *   expected_lower   the lower file each layer's dir must have (here), then
 *                    the containers' -init and RW dirs (sql/derive.sql);
 *   overlay_ref      direct claims on overlay2 dirs (sql/derive.sql), then
 *                    the lower claims (here);
 *   lower_unresolved lower-file entries naming no l/ entry (here);
 *   layer_dead       layers no reference reaches, and whether a parent file
 *                    names them (here);
 *   lower_unknown    claimed dirs whose lower file cannot be trusted
 *                    (sql/derive_lower.sql, once the claims are in).
 *
 * What is done here is graph work that SQLite, having no hash join, does
 * with an index probe per row and temp b-trees: the expected lowers are a
 * recursive join per layer copying ever longer strings, and the lower files
 * hold ~8 entries per layer. Here the layers and the overlay2 dirs' names
 * and links are read once into memory, the expected lowers are built
 * breadth first from the base layers (the order of the recursive query they
 * replace), the lower files are streamed in dir order and split in place
 * against a flag per claimed dir and one table of short names, and every
 * table is filled in key order (appending to its b-tree). The overlay2
 * dirs are numbered in name order, so "smallest dir" is "smallest number".
 *
 * A layer is live when an image's diff_ids (its chainIDs), a mount's parent
 * file or snapshots.db names it, or when it is the parent (a well-formed
 * parent file) of a live layer; every other layer is dead. Marked walking
 * up from each name, each layer once.
 *
 * A lower claim: a dir whose l/ short name (its link file's, or an l/
 * symlink's pointing at its diff/) appears in the lower file of a directly
 * claimed dir. One overlay_ref row per claimed dir; by_id is the smallest
 * claiming dir (the reaper looks up all of them itself). */
#include "derive.h"
#include "arena.h"
#include "embedded.h"
#include "ids.h"
#include "strmap.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EXPECTED_DEPTH 200   /* as the recursive query: deeper chains have no row */

/* An overlay2 dir as the derivations need it. */
struct dir_row {
    char *name;
    char *link;             /* link file, when link_state is ok */
    long next_same_link;    /* next dir with this link (a corrupt store may have two) */
};

struct chain_layer {
    char *chain_id, *parent, *cache_id;
    bool base;              /* parent missing, cache-id and name well-formed */
    bool child_ok;          /* parent and cache-id well-formed */
    bool parent_ok;         /* parent file well-formed */
    const char *parent_bad; /* "empty", "invalid" or "unreadable" (static): the parent file's
                               state when it cannot be trusted, else NULL */
    bool cache_ok;          /* cache-id file well-formed */
    bool parent_lost;       /* parent_bad, or a well-formed parent that is no layer */
    bool live;              /* reached from an image, mount or snapshot */
    bool has_child;         /* another layer's parent file names it */
    long parent_idx;        /* the layer its parent file names, or -1 */
    long dir_k;             /* its cache-id's overlay2 dir (index in dirs), or -1 */
    long first_child, next_sibling;
    char *lower;            /* expected lower (NULL: a base layer) */
    int depth;              /* -1: not known */
};

struct derive {
    struct db *db;
    char *err;
    size_t errlen;
    struct arena dir_strings;   /* the dirs' names and links */
    struct arena layer_strings; /* the layers' ids and expected lowers */
    struct dir_row *dirs;
    long ndirs;
    struct strmap dir_index;    /* dir name -> index in dirs */
    struct strmap link_owner;   /* link -> first dir index with it */
    struct chain_layer *layers;
    long nlayers;
    struct strmap by_chain;     /* chain_id -> index in layers */
    long *order;                /* layers with a known lower, breadth first */
    long known;
};

/* ---- small helpers ------------------------------------------------------ */

static const char *col(sqlite3_stmt *q, int i)
{
    return (const char *)sqlite3_column_text(q, i);
}

/* Column i copied into strings (as strdup would: up to a NUL), or NULL. */
static char *copy_col(struct arena *strings, sqlite3_stmt *q, int i)
{
    const char *s = col(q, i);
    return s ? arena_strndup(strings, s, strlen(s)) : NULL;
}

static int fail(struct derive *d, const char *what)
{
    snprintf(d->err, d->errlen, "database: %s: %s", what, sqlite3_errmsg(d->db->h));
    return -1;
}

static int out_of_memory(struct derive *d)
{
    snprintf(d->err, d->errlen, "out of memory");
    return -1;
}

static bool grow_array(void **v, long *cap, long need, size_t size)
{
    if (need <= *cap)
        return true;
    long c = *cap ? *cap * 2 : 1024;
    void *n = realloc(*v, (size_t)c * size);
    if (!n)
        return false;
    *v = n;
    *cap = c;
    return true;
}

/* n numbers (dir or layer indexes), each -1: none yet; NULL when out of memory. */
static long *unset_numbers(long n)
{
    long *v = malloc(((size_t)n + 1) * sizeof *v);
    for (long k = 0; v && k < n; k++)
        v[k] = -1;
    return v;
}

/* ---- loading ------------------------------------------------------------ */

/* The maps over the dirs, made at their final size once every dir is read
 * (growing them row by row rehashed each one ~18 times at 100k dirs, and
 * touched twice the memory). */
static int index_dirs(struct derive *d)
{
    if (strmap_reserve(&d->dir_index, (size_t)d->ndirs) < 0 || strmap_reserve(&d->link_owner, (size_t)d->ndirs) < 0)
        return out_of_memory(d);
    for (long i = 0; i < d->ndirs; i++) {
        struct dir_row *r = &d->dirs[i];
        if (strmap_put_num(&d->dir_index, r->name, strlen(r->name), i) < 0)
            return out_of_memory(d);
        if (!r->link)
            continue;
        size_t len = strlen(r->link);
        r->next_same_link = strmap_num(&d->link_owner, r->link, len, -1);
        if (strmap_set_num(&d->link_owner, r->link, len, i) < 0)
            return out_of_memory(d);
    }
    return 0;
}

static int load_dirs(struct derive *d)
{
    sqlite3_stmt *q;
    if (db_prepare(d->db, "SELECT name, CASE WHEN link_state = 'ok' THEN link END FROM overlay_dir ORDER BY name",
                   &q, d->err, d->errlen) < 0)
        return -1;
    long cap = 0;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (!col(q, 0))
            continue;
        if (!grow_array((void **)&d->dirs, &cap, d->ndirs + 1, sizeof *d->dirs))
            break;
        struct dir_row *r = &d->dirs[d->ndirs];
        r->name = copy_col(&d->dir_strings, q, 0);
        r->link = copy_col(&d->dir_strings, q, 1);
        r->next_same_link = -1;
        d->ndirs++;
        if (!r->name || (col(q, 1) && !r->link))
            break;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return rc == SQLITE_ROW ? out_of_memory(d) : fail(d, "overlay2 dirs");
    return index_dirs(d);
}

/* The parent_state values that make a parent file untrusted, as static strings. */
static const char *bad_parent_state(const char *state)
{
    static const char *const bad[] = { "empty", "invalid", "unreadable" };
    for (size_t i = 0; state && i < sizeof bad / sizeof bad[0]; i++)
        if (strcmp(state, bad[i]) == 0)
            return bad[i];
    return NULL;
}

static int load_layers(struct derive *d)
{
    sqlite3_stmt *q;
    if (db_prepare(d->db, "SELECT chain_id, parent, cache_id, parent_state = 'missing' AND cache_id_state = 'ok' AND name_ok,"
                          " parent_state = 'ok' AND cache_id_state = 'ok', parent_state = 'ok',"
                          " CASE WHEN parent_state IN ('invalid', 'unreadable', 'empty') THEN parent_state END,"
                          " cache_id_state = 'ok'"
                          " FROM layer ORDER BY chain_id",
                   &q, d->err, d->errlen) < 0)
        return -1;
    long cap = 0;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (!grow_array((void **)&d->layers, &cap, d->nlayers + 1, sizeof *d->layers))
            break;
        struct chain_layer *l = &d->layers[d->nlayers];
        memset(l, 0, sizeof *l);
        l->chain_id = copy_col(&d->layer_strings, q, 0);
        l->parent = copy_col(&d->layer_strings, q, 1);
        l->cache_id = copy_col(&d->layer_strings, q, 2);
        l->base = sqlite3_column_int(q, 3) != 0;
        l->child_ok = sqlite3_column_int(q, 4) != 0 && l->parent && l->cache_id;
        l->parent_ok = sqlite3_column_int(q, 5) != 0 && l->parent;
        l->parent_bad = bad_parent_state(col(q, 6));
        l->cache_ok = sqlite3_column_int(q, 7) != 0 && l->cache_id;
        l->first_child = l->next_sibling = l->parent_idx = l->dir_k = -1;
        l->depth = -1;
        d->nlayers++;
        if (!l->chain_id || (col(q, 1) && !l->parent) || (col(q, 2) && !l->cache_id))
            break;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return rc == SQLITE_ROW ? out_of_memory(d) : fail(d, "layers");
    if (strmap_reserve(&d->by_chain, (size_t)d->nlayers) < 0)   /* at its final size: see index_dirs */
        return out_of_memory(d);
    for (long i = 0; i < d->nlayers; i++)
        if (strmap_put_num(&d->by_chain, d->layers[i].chain_id, strlen(d->layers[i].chain_id), i) < 0)
            return out_of_memory(d);
    return 0;
}

/* ---- expected lower files of the layers' dirs --------------------------- */

static long dir_number(const struct derive *d, const char *dir, size_t len)
{
    return strmap_num(&d->dir_index, dir, len, -1);
}

/* Children lists in chainID order (the layers are loaded sorted), which
 * layers any parent file names (has_child, whatever its state), and each
 * layer's parent and dir looked up once for the passes after. */
static void link_children(struct derive *d)
{
    for (long i = d->nlayers - 1; i >= 0; i--) {
        struct chain_layer *l = &d->layers[i];
        long p = l->parent ? strmap_num(&d->by_chain, l->parent, strlen(l->parent), -1) : -1;
        l->parent_idx = p;
        l->dir_k = l->cache_id ? dir_number(d, l->cache_id, strlen(l->cache_id)) : -1;
        l->parent_lost = l->parent_bad != NULL || (l->parent_ok && p < 0);
        if (p < 0)
            continue;
        d->layers[p].has_child = true;
        if (!l->child_ok)
            continue;
        l->next_sibling = d->layers[p].first_child;
        d->layers[p].first_child = i;
    }
}

/* l/<link of parent's dir>[:<parent's expected lower>], in strings. */
static char *child_lower(struct arena *strings, const char *parent_link, const char *parent_lower)
{
    size_t nlink = strlen(parent_link), nlower = parent_lower ? strlen(parent_lower) : 0;
    char *s = arena_alloc(strings, 2 + nlink + (parent_lower ? 1 + nlower : 0) + 1);
    if (!s)
        return NULL;
    char *p = s;
    memcpy(p, "l/", 2);
    memcpy(p += 2, parent_link, nlink);
    p += nlink;
    if (parent_lower) {
        *p++ = ':';
        memcpy(p, parent_lower, nlower);
        p += nlower;
    }
    *p = '\0';
    return s;
}

/* Breadth first from the base layers: a child gets a lower when its
 * parent's dir has a well-formed link file and is under the depth limit. */
static int expect_lowers(struct derive *d)
{
    long *queue = malloc(((size_t)d->nlayers + 1) * sizeof *queue), tail = 0;
    if (!queue)
        return out_of_memory(d);
    d->order = queue;
    for (long i = 0; i < d->nlayers; i++)
        if (d->layers[i].base && d->layers[i].cache_id) {
            d->layers[i].depth = 0;
            queue[tail++] = i;
        }
    for (long head = 0; head < tail; head++) {
        const struct chain_layer *p = &d->layers[queue[head]];
        const char *link = p->dir_k < 0 ? NULL : d->dirs[p->dir_k].link;
        if (!link || p->depth >= MAX_EXPECTED_DEPTH)
            continue;
        for (long c = p->first_child; c >= 0; c = d->layers[c].next_sibling) {
            struct chain_layer *l = &d->layers[c];
            if (l->depth >= 0)
                continue;
            if (!(l->lower = child_lower(&d->layer_strings, link, p->lower))) {
                d->known = tail;
                return out_of_memory(d);
            }
            l->depth = p->depth + 1;
            queue[tail++] = c;
        }
    }
    d->known = tail;
    return 0;
}

static const struct derive *sort_ctx;   /* qsort has no context argument */

/* By dir, then breadth-first position (indexes into d->order). */
static int cmp_order_by_dir(const void *pa, const void *pb)
{
    long a = *(const long *)pa, b = *(const long *)pb;
    int c = strcmp(sort_ctx->layers[sort_ctx->order[a]].cache_id, sort_ctx->layers[sort_ctx->order[b]].cache_id);
    return c ? c : (a > b) - (a < b);
}

static int insert_expected(sqlite3_stmt *ins, const struct chain_layer *l, struct derive *d)
{
    db_bind_borrowed(ins, 1, l->cache_id);
    db_bind_borrowed(ins, 2, l->lower);
    db_bind_int(ins, 3, l->depth);
    return db_step_reset(ins, d->err, d->errlen);
}

/* When two layers name one dir the first in breadth-first order wins, as
 * INSERT OR IGNORE of the recursive query's rows kept it. The overlay2
 * dirs go in by number (their name order, appending to the b-tree); the
 * few cache-ids that name no overlay2 dir after them, sorted. */
static int store_expected(struct derive *d)
{
    long *first = unset_numbers(d->ndirs);
    long *other = malloc(((size_t)d->known + 1) * sizeof *other), n_other = 0;
    if (!first || !other) {
        free(first);
        free(other);
        return out_of_memory(d);
    }
    for (long k = 0; k < d->known; k++) {
        long dk = d->layers[d->order[k]].dir_k;
        if (dk < 0)
            other[n_other++] = k;
        else if (first[dk] < 0)
            first[dk] = d->order[k];
    }
    sort_ctx = d;
    if (n_other > 1)
        qsort(other, (size_t)n_other, sizeof *other, cmp_order_by_dir);
    sqlite3_stmt *ins = NULL;
    int rc = db_exec(d->db, "DELETE FROM expected_lower", d->err, d->errlen);
    if (rc == 0)
        rc = db_prepare(d->db, "INSERT OR IGNORE INTO expected_lower (dir, lower, depth) VALUES (?1, ?2, ?3)", &ins,
                        d->err, d->errlen);
    for (long k = 0; rc == 0 && k < d->ndirs; k++)
        if (first[k] >= 0)
            rc = insert_expected(ins, &d->layers[first[k]], d);
    const char *last = NULL;
    for (long k = 0; rc == 0 && k < n_other; k++) {
        const struct chain_layer *l = &d->layers[d->order[other[k]]];
        if (!last || strcmp(last, l->cache_id) != 0)
            rc = insert_expected(ins, l, d);
        last = l->cache_id;
    }
    sqlite3_finalize(ins);
    free(first);
    free(other);
    return rc;
}

/* ---- live and dead layers ---------------------------------------------- */

/* The named layer and its parents up to the first one already live. */
static void mark_live(struct derive *d, const char *chain_id, size_t len)
{
    long i = strmap_num(&d->by_chain, chain_id, len, -1);
    while (i >= 0 && !d->layers[i].live) {
        struct chain_layer *l = &d->layers[i];
        l->live = true;
        i = l->parent_ok ? l->parent_idx : -1;
    }
}

static int mark_live_layers(struct derive *d)
{
    sqlite3_stmt *q;
    if (db_prepare(d->db, "SELECT chain_id FROM image_layer WHERE chain_id IS NOT NULL"
                          " UNION ALL SELECT parent FROM mount WHERE parent_state = 'ok'"
                          " UNION ALL SELECT chain_id FROM buildkit_layer", &q, d->err, d->errlen) < 0)
        return -1;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        if (col(q, 0))
            mark_live(d, col(q, 0), (size_t)sqlite3_column_bytes(q, 0));
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : fail(d, "layer references");
}

/* The dead layers into layer_dead, in chainID order (as loaded). */
static int store_dead(struct derive *d)
{
    sqlite3_stmt *ins;
    if (db_exec(d->db, "DELETE FROM layer_dead", d->err, d->errlen) < 0 ||
        db_prepare(d->db, "INSERT INTO layer_dead (chain_id, has_child) VALUES (?1, ?2)", &ins, d->err, d->errlen) < 0)
        return -1;
    int rc = 0;
    for (long i = 0; rc == 0 && i < d->nlayers; i++)
        if (!d->layers[i].live) {
            db_bind_borrowed(ins, 1, d->layers[i].chain_id);
            db_bind_int(ins, 2, d->layers[i].has_child);
            rc = db_step_reset(ins, d->err, d->errlen);
        }
    sqlite3_finalize(ins);
    return rc;
}

static void free_layers(struct derive *d)
{
    strmap_free(&d->by_chain);   /* before the strings its keys borrow */
    arena_free(&d->layer_strings);
    free(d->layers);
    free(d->order);
    d->layers = NULL;
    d->order = NULL;
    d->nlayers = d->known = 0;
}

/* The dirs of layers whose parent is lost (no layer of that chainID, or a
 * damaged parent file) into temp.lost_parent, for sql/derive_lower.sql:
 * there a missing lower file was the only claim on the dirs below. */
static int store_lost_parents(struct derive *d)
{
    sqlite3_stmt *ins;
    if (db_exec(d->db, "CREATE TEMP TABLE IF NOT EXISTS lost_parent (dir TEXT NOT NULL, why TEXT NOT NULL);"
                       " DELETE FROM temp.lost_parent", d->err, d->errlen) < 0 ||
        db_prepare(d->db, "INSERT INTO temp.lost_parent (dir, why) VALUES (?1, ?2)", &ins, d->err, d->errlen) < 0)
        return -1;
    int rc = 0;
    for (long i = 0; rc == 0 && i < d->nlayers; i++) {
        const struct chain_layer *l = &d->layers[i];
        if (!l->parent_lost || !l->cache_ok)
            continue;
        char why[160];
        if (l->parent_bad)   /* its state named, as for a container's */
            snprintf(why, sizeof why, "its layer's parent file is %s", l->parent_bad);
        else
            snprintf(why, sizeof why, "its parent layer sha256:%.64s has no layerdb entry", l->parent);
        db_bind_borrowed(ins, 1, l->cache_id);
        db_bind_borrowed(ins, 2, why);
        rc = db_step_reset(ins, d->err, d->errlen);
    }
    sqlite3_finalize(ins);
    return rc;
}

/* The layers are let go once their facts are stored (peak memory). */
static int derive_layer_facts(struct derive *d)
{
    link_children(d);
    int rc = store_lost_parents(d);
    if (rc == 0)
        rc = expect_lowers(d);
    if (rc == 0)
        rc = store_expected(d);
    if (rc == 0)
        rc = mark_live_layers(d);
    if (rc == 0)
        rc = store_dead(d);
    free_layers(d);
    return rc;
}

/* ---- lower claims and unresolved entries -------------------------------- */

/* A short name (l/<26 base32>) as the lower pass needs it, in one table:
 * whether overlay2/l/ has an entry of that name and where it points, and
 * the first (smallest: the lower files are read in dir order) directly
 * claimed dir whose lower file names it. The name is kept in the slot: one
 * probe per lower entry, no pointer to follow. */
struct short_slot {
    char name[LINK_NAME_LEN];
    bool used;
    bool has_entry;         /* overlay2/l/<name> exists */
    char *target;           /* its target dir, when it is a symlink to ../<dir>/diff (in dir_strings) */
    long named_by;          /* index in dirs, or -1 */
};

struct short_table {
    struct short_slot *slots;
    size_t cap, count;      /* cap: a power of two, or 0 */
};

static uint64_t short_hash(const char *name) { return strmap_hash(name, LINK_NAME_LEN); }

static struct short_slot *probe_short(struct short_slot *slots, size_t cap, const char *name, uint64_t h)
{
    size_t i = (size_t)h & (cap - 1);
    while (slots[i].used && memcmp(slots[i].name, name, LINK_NAME_LEN) != 0)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

/* Rehash into cap slots (a power of two, more than twice the count). */
static bool resize_shorts(struct short_table *t, size_t cap)
{
    struct short_slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return false;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].used)
            *probe_short(slots, cap, t->slots[i].name, short_hash(t->slots[i].name)) = t->slots[i];
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return true;
}

/* Room for n names without growing (as strmap_reserve). */
static bool reserve_shorts(struct short_table *t, size_t n)
{
    size_t cap = strmap_slots_for(n);
    return cap <= t->cap || resize_shorts(t, cap);
}

/* The slot of name (LINK_NAME_LEN bytes, hash h), made when absent; NULL
 * when out of memory. */
static struct short_slot *short_slot_for(struct short_table *t, const char *name, uint64_t h)
{
    if ((t->count + 1) * 2 > t->cap && !resize_shorts(t, t->cap ? t->cap * 2 : 1024))
        return NULL;
    struct short_slot *s = probe_short(t->slots, t->cap, name, h);
    if (!s->used) {
        memcpy(s->name, name, LINK_NAME_LEN);
        s->used = true;
        s->named_by = -1;
        t->count++;
    }
    return s;
}

static void free_shorts(struct short_table *t)
{
    free(t->slots);
    memset(t, 0, sizeof *t);
}

struct lower_pass {
    struct derive *d;
    bool *claimed;               /* per dir: directly claimed */
    struct short_table shorts;
    long *claim_by;              /* per dir: smallest dir whose lower names it, or -1 */
    long dir_cursor;             /* pass_lower_files: the dir last read (name order) */
    struct strmap claims_elsewhere;   /* the same for claimed names that are no overlay2 dir */
    sqlite3_stmt *ins_unresolved;
};

static int load_direct_claims(struct lower_pass *lp)
{
    struct derive *d = lp->d;
    sqlite3_stmt *q;
    if (db_prepare(d->db, "SELECT dir FROM overlay_ref WHERE by_kind <> 'lower'", &q, d->err, d->errlen) < 0)
        return -1;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        long k = col(q, 0) ? dir_number(d, col(q, 0), (size_t)sqlite3_column_bytes(q, 0)) : -1;
        if (k >= 0)
            lp->claimed[k] = true;
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : fail(d, "direct claims");
}

/* overlay2/l/ entries whose names can be short names (no other name can
 * match a lower entry). The table is sized for one entry per dir, as in a
 * whole store, once. */
static int load_link_entries(struct lower_pass *lp)
{
    struct derive *d = lp->d;
    sqlite3_stmt *q;
    if (!reserve_shorts(&lp->shorts, (size_t)d->ndirs))
        return out_of_memory(d);
    if (db_prepare(d->db, "SELECT name, target_dir FROM link", &q, d->err, d->errlen) < 0)
        return -1;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (!col(q, 0) || sqlite3_column_bytes(q, 0) != LINK_NAME_LEN)
            continue;
        struct short_slot *s = short_slot_for(&lp->shorts, col(q, 0), short_hash(col(q, 0)));
        if (!s || (col(q, 1) && !(s->target = copy_col(&d->dir_strings, q, 1))))
            break;
        s->has_entry = true;
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : rc == SQLITE_ROW ? out_of_memory(d) : fail(d, "l/ entries");
}

/* One entry (idx) of a lower file, p[0..len), with its short name's hash
 * when it is one (the rule of the overlay_lower view: l/<26 base32>). */
struct lower_entry {
    const char *p;
    size_t len;
    int idx;
    bool is_short;
    uint64_t h;
};

static int take_entry(struct lower_pass *lp, const char *dir, long dir_k, const struct lower_entry *e)
{
    if (!e->is_short)
        return 0;
    struct short_slot *s = short_slot_for(&lp->shorts, e->p + 2, e->h);
    if (!s)
        return out_of_memory(lp->d);
    if (dir_k >= 0 && lp->claimed[dir_k] && s->named_by < 0)
        s->named_by = dir_k;
    if (s->has_entry)
        return 0;
    db_bind_borrowed(lp->ins_unresolved, 1, dir);
    db_bind_int(lp->ins_unresolved, 2, e->idx);
    db_bind_borrowedn(lp->ins_unresolved, 3, e->p, e->len);
    return db_step_reset(lp->ins_unresolved, lp->d->err, lp->d->errlen);
}

/* The number of dir, read in name order: the dirs are numbered in name
 * order, so a cursor finds it without hashing (the map when it does not). */
static long next_dir_number(struct lower_pass *lp, const char *dir, size_t len)
{
    const struct derive *d = lp->d;
    while (lp->dir_cursor < d->ndirs && strcmp(d->dirs[lp->dir_cursor].name, dir) < 0)
        lp->dir_cursor++;
    if (lp->dir_cursor < d->ndirs && strcmp(d->dirs[lp->dir_cursor].name, dir) == 0)
        return lp->dir_cursor;
    return dir_number(d, dir, len);
}

#define ENTRY_BATCH 16

/* Split a lower file at ':' and take its entries in order, a batch at a
 * time: the batch's short-name slots are prefetched first, so that their
 * cache misses overlap instead of following one another (at 100k layers
 * the table is larger than the CPU's cache). */
static int split_lower(struct lower_pass *lp, const char *dir, size_t dirlen, const char *lower)
{
    long dir_k = next_dir_number(lp, dir, dirlen);
    struct lower_entry batch[ENTRY_BATCH];
    int rc = 0, idx = 0;
    const char *p = lower;
    bool more = true;
    while (rc == 0 && more) {
        int n = 0;
        for (; n < ENTRY_BATCH && more; n++, idx++) {
            const char *end = strchr(p, ':');
            struct lower_entry *e = &batch[n];
            *e = (struct lower_entry){ .p = p, .len = end ? (size_t)(end - p) : strlen(p), .idx = idx };
            e->is_short = id_is_lower_entry(e->p, e->len);
            if (e->is_short) {
                e->h = short_hash(e->p + 2);
                if (lp->shorts.cap)
                    __builtin_prefetch(&lp->shorts.slots[(size_t)e->h & (lp->shorts.cap - 1)]);
            }
            more = end != NULL;
            if (more)
                p = end + 1;
        }
        for (int i = 0; rc == 0 && i < n; i++)
            rc = take_entry(lp, dir, dir_k, &batch[i]);
    }
    return rc;
}

/* Every lower file the overlay_lower view splits, streamed in dir order
 * (the lower files are the bulk of overlay_dir: never held in memory). */
static int pass_lower_files(struct lower_pass *lp)
{
    struct derive *d = lp->d;
    sqlite3_stmt *q;
    if (db_exec(d->db, "DELETE FROM lower_unresolved", d->err, d->errlen) < 0 ||
        db_prepare(d->db, "INSERT INTO lower_unresolved(dir, idx, entry) VALUES (?1, ?2, ?3)", &lp->ins_unresolved,
                   d->err, d->errlen) < 0)
        return -1;
    if (db_prepare(d->db, "SELECT name, lower FROM overlay_dir WHERE lower IS NOT NULL AND lower_state IN ('ok', 'invalid')"
                          " ORDER BY name", &q, d->err, d->errlen) < 0) {
        sqlite3_finalize(lp->ins_unresolved);
        return -1;
    }
    int rc = 0, st = SQLITE_DONE;
    while (rc == 0 && (st = sqlite3_step(q)) == SQLITE_ROW)
        if (col(q, 0) && col(q, 1))
            rc = split_lower(lp, col(q, 0), (size_t)sqlite3_column_bytes(q, 0), col(q, 1));
    if (rc == 0 && st != SQLITE_DONE)
        rc = fail(d, "lower files");
    sqlite3_finalize(q);
    sqlite3_finalize(lp->ins_unresolved);
    return rc;
}

/* Overlay2 dir number k claimed through dir number claimer: the smallest wins. */
static void claim_number(struct lower_pass *lp, long k, long claimer)
{
    if (lp->claim_by[k] < 0 || claimer < lp->claim_by[k])
        lp->claim_by[k] = claimer;
}

/* dir (by number when it is an overlay2 dir) claimed through claimer. */
static int claim(struct lower_pass *lp, const char *dir, long claimer)
{
    long k = dir_number(lp->d, dir, strlen(dir));
    if (k >= 0) {
        claim_number(lp, k, claimer);
        return 0;
    }
    return strmap_put_min(&lp->claims_elsewhere, dir, strlen(dir), lp->d->dirs[claimer].name) < 0
               ? out_of_memory(lp->d) : 0;
}

/* The dirs a named short resolves to, each with the smallest claiming dir
 * (dir numbers are in name order): through the dirs' link files and
 * through the l/ symlink of that name. */
static int resolve_named(struct lower_pass *lp)
{
    const struct derive *d = lp->d;
    for (size_t i = 0; i < lp->shorts.cap; i++) {
        const struct short_slot *s = &lp->shorts.slots[i];
        if (!s->used || s->named_by < 0)
            continue;
        for (long k = strmap_num(&d->link_owner, s->name, LINK_NAME_LEN, -1); k >= 0; k = d->dirs[k].next_same_link)
            claim_number(lp, k, s->named_by);
        if (s->target && claim(lp, s->target, s->named_by) < 0)
            return -1;
    }
    return 0;
}

struct claim_row {
    const char *dir, *by;
};

static int cmp_claim_rows(const void *a, const void *b)
{
    return strcmp(((const struct claim_row *)a)->dir, ((const struct claim_row *)b)->dir);
}

/* The lower claims into overlay_ref in dir order, then its index (which
 * sql/derive.sql dropped before the direct claims went in). */
static int store_claims(struct lower_pass *lp)
{
    struct derive *d = lp->d;
    struct claim_row *v = malloc(((size_t)d->ndirs + lp->claims_elsewhere.count + 1) * sizeof *v);
    if (!v)
        return out_of_memory(d);
    size_t n = 0;
    for (long k = 0; k < d->ndirs; k++)
        if (lp->claim_by[k] >= 0)
            v[n++] = (struct claim_row){ d->dirs[k].name, d->dirs[lp->claim_by[k]].name };
    for (size_t i = 0; i < lp->claims_elsewhere.cap; i++)
        if (lp->claims_elsewhere.slots[i].key)
            v[n++] = (struct claim_row){ lp->claims_elsewhere.slots[i].key, lp->claims_elsewhere.slots[i].value };
    if (lp->claims_elsewhere.count > 0)
        qsort(v, n, sizeof *v, cmp_claim_rows);   /* else already in dir order */
    sqlite3_stmt *ins;
    if (db_prepare(d->db, "INSERT INTO overlay_ref (dir, by_kind, by_id) VALUES (?1, 'lower', ?2)", &ins, d->err,
                   d->errlen) < 0) {
        free(v);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        db_bind_borrowed(ins, 1, v[i].dir);
        db_bind_borrowed(ins, 2, v[i].by);
        rc = db_step_reset(ins, d->err, d->errlen);
    }
    sqlite3_finalize(ins);
    free(v);
    return rc == 0 ? db_exec(d->db, "CREATE INDEX overlay_ref_dir ON overlay_ref (dir, by_kind)", d->err, d->errlen) : -1;
}

static int derive_lower_facts(struct derive *d)
{
    struct lower_pass lp = { .d = d };
    lp.claimed = calloc((size_t)d->ndirs + 1, sizeof *lp.claimed);
    lp.claim_by = unset_numbers(d->ndirs);
    int rc = lp.claimed && lp.claim_by ? 0 : out_of_memory(d);
    if (rc == 0)
        rc = load_direct_claims(&lp);
    if (rc == 0)
        rc = load_link_entries(&lp);
    if (rc == 0)
        rc = pass_lower_files(&lp);
    if (rc == 0)
        rc = resolve_named(&lp);
    free_shorts(&lp.shorts);
    free(lp.claimed);
    if (rc == 0)
        rc = store_claims(&lp);
    free(lp.claim_by);
    strmap_free(&lp.claims_elsewhere);
    return rc;
}

/* ---- the pass ----------------------------------------------------------- */

static void free_derive(struct derive *d)
{
    free_layers(d);
    strmap_free(&d->dir_index);   /* before the strings their keys borrow */
    strmap_free(&d->link_owner);
    arena_free(&d->dir_strings);
    free(d->dirs);
}

int derive_run(struct db *db, char *err, size_t errlen)
{
    const struct embedded_file *f = embedded_find("sql/derive.sql");
    const struct embedded_file *after = embedded_find("sql/derive_lower.sql");
    if (!f || !after) {
        snprintf(err, errlen, "derive.sql or derive_lower.sql not embedded (build error)");
        return -1;
    }
    struct derive d = { .db = db, .err = err, .errlen = errlen };
    /* their keys are the dirs' and layers' own strings, freed after them */
    d.dir_index.borrowed = d.link_owner.borrowed = d.by_chain.borrowed = true;
    int rc = load_dirs(&d);
    if (rc == 0)
        rc = load_layers(&d);
    if (rc == 0)
        rc = derive_layer_facts(&d);
    if (rc == 0)
        rc = db_exec(db, f->text, err, errlen);
    if (rc == 0)
        rc = derive_lower_facts(&d);
    if (rc == 0)
        rc = db_exec(db, after->text, err, errlen);
    free_derive(&d);
    return rc;
}
