/* derive.c — the derived facts every check looks up: sql/derive.sql (direct
 * claims on overlay2 dirs, the expected lower files), then the lower claims.
 *
 * A lower claim: a dir whose l/ short name appears in the lower file of a
 * directly claimed dir is claimed too. In SQL that is an index probe per
 * lower-file entry (the largest table of the scan, ~8 rows per layer) and a
 * sort to dedupe them; here it is one sequential pass over overlay_lower
 * with two hash sets, and the resolution of the distinct short names (one
 * per claimed dir) back in SQL. */
#include "derive.h"
#include "embedded.h"
#include "strmap.h"

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

/* short name -> the smallest directly claimed dir whose lower file names it. */
static int collect_named_shorts(struct db *db, const struct strmap *claimed, struct strmap *named,
                                char *err, size_t errlen)
{
    sqlite3_stmt *q;
    if (db_prepare(db, "SELECT dir, short FROM overlay_lower WHERE short IS NOT NULL", &q, err, errlen) < 0)
        return -1;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *dir = col(q, 0), *s = col(q, 1);
        if (!dir || !s || !strmap_has(claimed, dir, (size_t)sqlite3_column_bytes(q, 0)))
            continue;
        if (strmap_put_min(named, s, (size_t)sqlite3_column_bytes(q, 1), dir) < 0)
            break;
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : step_failed(db, "lower entries", err, errlen);
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

static int derive_lower_claims(struct db *db, char *err, size_t errlen)
{
    struct strmap claimed = { 0 }, named = { 0 };
    int rc = load_direct_claims(db, &claimed, err, errlen);
    if (rc == 0)
        rc = collect_named_shorts(db, &claimed, &named, err, errlen);
    strmap_free(&claimed);
    if (rc == 0)
        rc = store_named_shorts(db, &named, err, errlen);
    strmap_free(&named);
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
    return derive_lower_claims(db, err, errlen);
}
