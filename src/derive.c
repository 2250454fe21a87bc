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
 * claimed dir) are then resolved back to dirs in SQL. */
#include "derive.h"
#include "embedded.h"
#include "strmap.h"

#include "ids.h"

#include <stdbool.h>
#include <stdio.h>
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

static int store_named_shorts(struct db *db, const struct strmap *named, char *err, size_t errlen)
{
    sqlite3_stmt *ins;
    if (db_exec(db, "CREATE TEMP TABLE IF NOT EXISTS lower_named (short TEXT PRIMARY KEY, by_dir TEXT NOT NULL)"
                    " WITHOUT ROWID; DELETE FROM lower_named;", err, errlen) < 0 ||
        db_prepare(db, "INSERT INTO lower_named(short, by_dir) VALUES (?1, ?2)", &ins, err, errlen) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < named->cap; i++)
        if (named->slots[i].key) {
            db_bind_text(ins, 1, named->slots[i].key);
            db_bind_text(ins, 2, named->slots[i].value);
            rc = db_step_reset(ins, err, errlen);
        }
    sqlite3_finalize(ins);
    return rc;
}

/* A named short resolves to a dir through that dir's link file or through
 * the l/ symlink of that name; one claim row per dir. */
static const char resolve_sql[] =
    "INSERT INTO overlay_ref (dir, by_kind, by_id)"
    " SELECT dir, 'lower', min(by_dir) FROM ("
    "   SELECT o.name AS dir, n.by_dir FROM temp.lower_named n JOIN overlay_dir o ON o.link = n.short"
    "   UNION ALL"
    "   SELECT k.target_dir, n.by_dir FROM temp.lower_named n JOIN link k ON k.name = n.short"
    "   WHERE k.target_dir IS NOT NULL)"
    " GROUP BY dir;"
    "DROP TABLE temp.lower_named;";

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

int derive_run(struct db *db, char *err, size_t errlen)
{
    const struct embedded_file *f = embedded_find("sql/derive.sql");
    if (!f) {
        snprintf(err, errlen, "derive.sql not embedded (build error)");
        return -1;
    }
    if (db_exec(db, f->text, err, errlen) < 0)
        return -1;
    return derive_lower_facts(db, err, errlen);
}
