/* derive.c — the derived facts every check looks up: sql/derive.sql (direct
 * claims on overlay2 dirs, the expected lower files), then what needs the
 * entries of the lower files: the lower claims and lower_unresolved.
 *
 * A lower claim: a dir whose l/ short name appears in the lower file of a
 * directly claimed dir is claimed too. Lower files hold ~8 entries per
 * layer; in SQL (the overlay_lower view) each entry would be a row, an
 * index probe and a sort to dedupe. Here it is one sequential pass over
 * overlay_dir that splits each lower file in place, with hash sets of the
 * claimed dirs and the l/ names; the distinct short names (about one per
 * claimed dir) are then resolved back to dirs in SQL.
 *
 * The expected lower file of each layer's dir is built here too, top-down
 * from the base layers in the order of the recursive query it replaces
 * (breadth first, children by chainID): in SQL it is a recursive join per
 * layer that copies ever longer strings through temp b-trees. */
#include "derive.h"
#include "embedded.h"
#include "strmap.h"

#include "ids.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *col(sqlite3_stmt *q, int i)
{
    return (const char *)sqlite3_column_text(q, i);
}

static int step_failed(struct db *db, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "database: %s: %s", what, sqlite3_errmsg(db->h));
    return -1;
}

/* The dirs claimed directly (everything overlay_ref holds before the lower claims). */
static int load_direct_claims(struct db *db, struct strmap *claimed, char *err, size_t errlen)
{
    sqlite3_stmt *q;
    if (db_prepare(db, "SELECT dir FROM overlay_ref WHERE by_kind <> 'lower'", &q, err, errlen) < 0)
        return -1;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        if (col(q, 0) && strmap_put_min(claimed, col(q, 0), (size_t)sqlite3_column_bytes(q, 0), NULL) < 0)
            break;
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : step_failed(db, "direct claims", err, errlen);
}

static int load_link_names(struct db *db, struct strmap *links, char *err, size_t errlen)
{
    sqlite3_stmt *q;
    if (db_prepare(db, "SELECT name FROM link", &q, err, errlen) < 0)
        return -1;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        if (col(q, 0) && strmap_put_min(links, col(q, 0), (size_t)sqlite3_column_bytes(q, 0), NULL) < 0)
            break;
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : step_failed(db, "l/ names", err, errlen);
}

struct lower_pass {
    struct db *db;
    const struct strmap *claimed, *links;
    struct strmap named;          /* short -> smallest directly claimed dir naming it */
    sqlite3_stmt *ins_unresolved;
    char *err;
    size_t errlen;
};

/* One entry (idx) of dir's lower file: p[0..len). The same rule as the
 * overlay_lower view: a short name when the entry is l/<26 base32>. */
static int take_entry(struct lower_pass *lp, const char *dir, bool dir_claimed, int idx, const char *p, size_t len)
{
    if (len != 2 + LINK_NAME_LEN || p[0] != 'l' || p[1] != '/' || !id_is_link_name(p + 2, LINK_NAME_LEN))
        return 0;
    if (dir_claimed && strmap_put_min(&lp->named, p + 2, LINK_NAME_LEN, dir) < 0) {
        snprintf(lp->err, lp->errlen, "out of memory");
        return -1;
    }
    if (strmap_has(lp->links, p + 2, LINK_NAME_LEN))
        return 0;
    db_bind_text(lp->ins_unresolved, 1, dir);
    db_bind_int(lp->ins_unresolved, 2, idx);
    db_bind_textn(lp->ins_unresolved, 3, p, len);
    return db_step_reset(lp->ins_unresolved, lp->err, lp->errlen);
}

static int split_lower(struct lower_pass *lp, const char *dir, size_t dirlen, const char *lower)
{
    bool dir_claimed = strmap_has(lp->claimed, dir, dirlen);
    int rc = 0;
    const char *p = lower;
    for (int idx = 0; rc == 0; idx++) {
        const char *end = strchr(p, ':');
        rc = take_entry(lp, dir, dir_claimed, idx, p, end ? (size_t)(end - p) : strlen(p));
        if (!end)
            break;
        p = end + 1;
    }
    return rc;
}

/* Every lower file the overlay_lower view splits: the same rows, in C. */
static int pass_lower_files(struct lower_pass *lp)
{
    sqlite3_stmt *q;
    if (db_exec(lp->db, "DELETE FROM lower_unresolved", lp->err, lp->errlen) < 0 ||
        db_prepare(lp->db, "INSERT INTO lower_unresolved(dir, idx, entry) VALUES (?1, ?2, ?3)", &lp->ins_unresolved,
                   lp->err, lp->errlen) < 0)
        return -1;
    if (db_prepare(lp->db, "SELECT name, lower FROM overlay_dir WHERE lower IS NOT NULL AND lower_state IN ('ok', 'invalid')",
                   &q, lp->err, lp->errlen) < 0) {
        sqlite3_finalize(lp->ins_unresolved);
        return -1;
    }
    int rc = 0, st;
    while (rc == 0 && (st = sqlite3_step(q)) == SQLITE_ROW)
        if (col(q, 0) && col(q, 1))
            rc = split_lower(lp, col(q, 0), (size_t)sqlite3_column_bytes(q, 0), col(q, 1));
    if (rc == 0 && st != SQLITE_DONE)
        rc = step_failed(lp->db, "lower files", lp->err, lp->errlen);
    sqlite3_finalize(q);
    sqlite3_finalize(lp->ins_unresolved);
    return rc;
}

static int cmp_slot_keys(const void *a, const void *b)
{
    return strcmp((*(const struct strmap_slot *const *)a)->key, (*(const struct strmap_slot *const *)b)->key);
}

/* Into a temp table, in key order (appending to its b-tree). */
static int store_named_shorts(struct db *db, const struct strmap *named, char *err, size_t errlen)
{
    const struct strmap_slot **v = malloc((named->count + 1) * sizeof *v);
    sqlite3_stmt *ins;
    if (!v) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t n = 0;
    for (size_t i = 0; i < named->cap; i++)
        if (named->slots[i].key)
            v[n++] = &named->slots[i];
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_slot_keys);
    if (db_exec(db, "CREATE TEMP TABLE IF NOT EXISTS lower_named (short TEXT PRIMARY KEY, by_dir TEXT NOT NULL)"
                    " WITHOUT ROWID; DELETE FROM lower_named;", err, errlen) < 0 ||
        db_prepare(db, "INSERT INTO lower_named(short, by_dir) VALUES (?1, ?2)", &ins, err, errlen) < 0) {
        free(v);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        db_bind_text(ins, 1, v[i]->key);
        db_bind_text(ins, 2, v[i]->value);
        rc = db_step_reset(ins, err, errlen);
    }
    sqlite3_finalize(ins);
    free(v);
    return rc;
}

/* A named short resolves to a dir through that dir's link file or through
 * the l/ symlink of that name; one claim row per dir. Then overlay_ref's
 * index (sql/derive.sql drops it before the claims go in). */
static const char resolve_sql[] =
    "INSERT INTO overlay_ref (dir, by_kind, by_id)"
    " SELECT dir, 'lower', min(by_dir) FROM ("
    "   SELECT o.name AS dir, n.by_dir FROM temp.lower_named n JOIN overlay_dir o ON o.link = n.short"
    "   UNION ALL"
    "   SELECT k.target_dir, n.by_dir FROM temp.lower_named n JOIN link k ON k.name = n.short"
    "   WHERE k.target_dir IS NOT NULL)"
    " GROUP BY dir;"
    "DROP TABLE temp.lower_named;"
    "CREATE INDEX overlay_ref_dir ON overlay_ref (dir);";

static int derive_lower_facts(struct db *db, char *err, size_t errlen)
{
    struct strmap claimed = { 0 }, links = { 0 };
    struct lower_pass lp = { .db = db, .claimed = &claimed, .links = &links, .err = err, .errlen = errlen };
    int rc = load_direct_claims(db, &claimed, err, errlen);
    if (rc == 0)
        rc = load_link_names(db, &links, err, errlen);
    if (rc == 0)
        rc = pass_lower_files(&lp);
    strmap_free(&claimed);
    strmap_free(&links);
    if (rc == 0)
        rc = store_named_shorts(db, &lp.named, err, errlen);
    strmap_free(&lp.named);
    if (rc == 0)
        rc = db_exec(db, resolve_sql, err, errlen);
    return rc;
}

/* ---- expected lower files of the layers' dirs ---------------------------- */

struct chain_layer {
    char *chain_id, *parent, *cache_id;
    bool base;          /* parent missing, cache-id and name well-formed */
    bool child_ok;      /* parent and cache-id well-formed */
    long first_child, next_sibling;
    char *lower;        /* expected lower (NULL: a base layer) */
    int depth;          /* -1: not known */
};

struct chain_set {
    struct chain_layer *v;
    long n;
    long *order;              /* the layers with a known lower, breadth first */
    long known;
    struct strmap by_chain;   /* chain_id -> index */
    struct strmap links;      /* overlay dir -> its link (link_state ok) */
};

static char *dup_col(sqlite3_stmt *q, int i)
{
    return col(q, i) ? strdup(col(q, i)) : NULL;
}

static int load_chain_layers(struct db *db, struct chain_set *cs, char *err, size_t errlen)
{
    sqlite3_stmt *q;
    if (db_prepare(db, "SELECT chain_id, parent, cache_id, parent_state = 'missing' AND cache_id_state = 'ok' AND name_ok,"
                       " parent_state = 'ok' AND cache_id_state = 'ok' FROM layer ORDER BY chain_id", &q, err, errlen) < 0)
        return -1;
    long cap = 0;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (cs->n == cap) {
            cap = cap ? cap * 2 : 1024;
            struct chain_layer *v = realloc(cs->v, (size_t)cap * sizeof *v);
            if (!v)
                break;
            cs->v = v;
        }
        struct chain_layer *l = &cs->v[cs->n];
        memset(l, 0, sizeof *l);
        l->chain_id = dup_col(q, 0);
        l->parent = dup_col(q, 1);
        l->cache_id = dup_col(q, 2);
        l->base = sqlite3_column_int(q, 3) != 0;
        l->child_ok = sqlite3_column_int(q, 4) != 0 && l->parent && l->cache_id;
        l->first_child = l->next_sibling = -1;
        l->depth = -1;
        cs->n++;
        if (!l->chain_id || strmap_put_num(&cs->by_chain, l->chain_id, strlen(l->chain_id), cs->n - 1) < 0)
            break;
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : step_failed(db, "layers", err, errlen);
}

static int load_dir_links(struct db *db, struct strmap *links, char *err, size_t errlen)
{
    sqlite3_stmt *q;
    if (db_prepare(db, "SELECT name, link FROM overlay_dir WHERE link_state = 'ok'", &q, err, errlen) < 0)
        return -1;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        if (col(q, 0) && col(q, 1) &&
            strmap_put_min(links, col(q, 0), (size_t)sqlite3_column_bytes(q, 0), col(q, 1)) < 0)
            break;
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : step_failed(db, "link files", err, errlen);
}

/* Children lists in chainID order (the layers are loaded sorted). */
static void link_children(struct chain_set *cs)
{
    for (long i = cs->n - 1; i >= 0; i--) {
        struct chain_layer *l = &cs->v[i];
        if (!l->child_ok)
            continue;
        long p = strmap_num(&cs->by_chain, l->parent, strlen(l->parent), -1);
        if (p < 0)
            continue;
        l->next_sibling = cs->v[p].first_child;
        cs->v[p].first_child = i;
    }
}

/* l/<link of parent's dir>[:<parent's expected lower>] */
static char *child_lower(const char *parent_link, const char *parent_lower)
{
    size_t n = 2 + strlen(parent_link) + (parent_lower ? 1 + strlen(parent_lower) : 0) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "l/%s%s%s", parent_link, parent_lower ? ":" : "", parent_lower ? parent_lower : "");
    return s;
}

/* Breadth first from the base layers (cs->order). */
static int expect_lowers(struct chain_set *cs, char *err, size_t errlen)
{
    long *queue = malloc(((size_t)cs->n + 1) * sizeof *queue), head = 0, tail = 0;
    if (!queue) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    cs->order = queue;
    for (long i = 0; i < cs->n; i++)
        if (cs->v[i].base && cs->v[i].cache_id) {
            cs->v[i].depth = 0;
            queue[tail++] = i;
        }
    for (; head < tail; head++) {
        const struct chain_layer *p = &cs->v[queue[head]];
        const struct strmap_slot *link = strmap_get(&cs->links, p->cache_id, strlen(p->cache_id));
        if (!link || !link->value || p->depth >= 200)
            continue;
        for (long c = p->first_child; c >= 0; c = cs->v[c].next_sibling) {
            struct chain_layer *l = &cs->v[c];
            if (l->depth >= 0)
                continue;
            if (!(l->lower = child_lower(link->value, p->lower))) {
                cs->known = tail;
                snprintf(err, errlen, "out of memory");
                return -1;
            }
            l->depth = p->depth + 1;
            queue[tail++] = c;
        }
    }
    cs->known = tail;
    return 0;
}

static const struct chain_set *sort_set;   /* qsort has no context argument */

/* By dir, then breadth-first position (both in cs->order's index space). */
static int cmp_by_dir(const void *pa, const void *pb)
{
    long a = *(const long *)pa, b = *(const long *)pb;
    int c = strcmp(sort_set->v[sort_set->order[a]].cache_id, sort_set->v[sort_set->order[b]].cache_id);
    return c ? c : (a > b) - (a < b);
}

/* Sorted by dir (appending to the b-tree), and when two layers name one dir
 * the first in breadth-first order wins, as INSERT OR IGNORE of the
 * recursive query's rows kept it. */
static int store_expected(struct db *db, const struct chain_set *cs, char *err, size_t errlen)
{
    sqlite3_stmt *ins;
    long *pos = malloc(((size_t)cs->known + 1) * sizeof *pos);
    if (!pos) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (long k = 0; k < cs->known; k++)
        pos[k] = k;
    sort_set = cs;
    if (cs->known > 1)
        qsort(pos, (size_t)cs->known, sizeof *pos, cmp_by_dir);
    if (db_exec(db, "DELETE FROM expected_lower", err, errlen) < 0 ||
        db_prepare(db, "INSERT OR IGNORE INTO expected_lower (dir, lower, depth) VALUES (?1, ?2, ?3)", &ins, err, errlen) < 0) {
        free(pos);
        return -1;
    }
    int rc = 0;
    const char *last = NULL;
    for (long k = 0; rc == 0 && k < cs->known; k++) {
        const struct chain_layer *l = &cs->v[cs->order[pos[k]]];
        if (last && strcmp(last, l->cache_id) == 0)
            continue;
        last = l->cache_id;
        db_bind_text(ins, 1, l->cache_id);
        db_bind_text(ins, 2, l->lower);
        db_bind_int(ins, 3, l->depth);
        rc = db_step_reset(ins, err, errlen);
    }
    sqlite3_finalize(ins);
    free(pos);
    return rc;
}

static void free_chain_set(struct chain_set *cs)
{
    for (long i = 0; i < cs->n; i++) {
        free(cs->v[i].chain_id);
        free(cs->v[i].parent);
        free(cs->v[i].cache_id);
        free(cs->v[i].lower);
    }
    free(cs->v);
    free(cs->order);
    strmap_free(&cs->by_chain);
    strmap_free(&cs->links);
}

static int derive_expected_layer_lowers(struct db *db, char *err, size_t errlen)
{
    struct chain_set cs = { 0 };
    int rc = load_chain_layers(db, &cs, err, errlen);
    if (rc == 0)
        rc = load_dir_links(db, &cs.links, err, errlen);
    if (rc == 0) {
        link_children(&cs);
        rc = expect_lowers(&cs, err, errlen);
    }
    if (rc == 0)
        rc = store_expected(db, &cs, err, errlen);
    free_chain_set(&cs);
    return rc;
}

int derive_run(struct db *db, char *err, size_t errlen)
{
    const struct embedded_file *f = embedded_find("sql/derive.sql");
    if (!f) {
        snprintf(err, errlen, "derive.sql not embedded (build error)");
        return -1;
    }
    if (derive_expected_layer_lowers(db, err, errlen) < 0 || db_exec(db, f->text, err, errlen) < 0)
        return -1;
    return derive_lower_facts(db, err, errlen);
}
