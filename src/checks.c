/* checks.c — the check pass: derives the facts (src/derive.c), then
 * prepares each catalog query on the scan database; its rows (columns object, path, detail, mtime, owned, by name)
 * become findings with the check's name and effective severity. */
#include "checks.h"
#include "derive.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { COL_OBJECT, COL_PATH, COL_DETAIL, COL_MTIME, COL_OWNED, COL_COUNT };
static const char *const col_names[COL_COUNT] = { "object", "path", "detail", "mtime", "owned" };

static void map_columns(sqlite3_stmt *q, int map[COL_COUNT])
{
    for (int i = 0; i < COL_COUNT; i++)
        map[i] = -1;
    for (int c = 0; c < sqlite3_column_count(q); c++)
        for (int i = 0; i < COL_COUNT; i++)
            if (strcmp(sqlite3_column_name(q, c), col_names[i]) == 0)
                map[i] = c;
}

static void bind_column(sqlite3_stmt *ins, int idx, sqlite3_stmt *q, int col)
{
    if (col < 0 || sqlite3_column_type(q, col) == SQLITE_NULL)
        sqlite3_bind_null(ins, idx);
    else if (sqlite3_column_type(q, col) == SQLITE_INTEGER)
        sqlite3_bind_int64(ins, idx, sqlite3_column_int64(q, col));
    else
        sqlite3_bind_text(ins, idx, (const char *)sqlite3_column_text(q, col), sqlite3_column_bytes(q, col),
                          SQLITE_TRANSIENT);
}

static int record_failure(struct check_run *run, const struct check *c, const char *msg)
{
    struct check_failure *v = realloc(run->failures, (run->failure_count + 1) * sizeof *v);
    if (!v)
        return -1;
    run->failures = v;
    v[run->failure_count].source = strdup(c->source);
    v[run->failure_count].message = strdup(msg);
    run->failure_count++;
    return 0;
}

/* Run one check; -1 only on a failure of the finding insert itself. */
static int run_check(struct db *db, const struct check *c, sqlite3_stmt *ins, int64_t cutoff,
                     struct check_run *run, char *err, size_t errlen)
{
    sqlite3_stmt *q = NULL;
    const char *tail = NULL;
    if (sqlite3_prepare_v2(db->h, c->sql, -1, &q, &tail) != SQLITE_OK || !q) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", q ? sqlite3_errmsg(db->h) : (sqlite3_errcode(db->h) == SQLITE_OK ? "no SELECT statement" : sqlite3_errmsg(db->h)));
        sqlite3_finalize(q);
        return record_failure(run, c, msg);
    }
    if (!sqlite3_stmt_readonly(q)) {
        sqlite3_finalize(q);
        return record_failure(run, c, "a check must be a read-only SELECT");
    }
    int map[COL_COUNT];
    map_columns(q, map);
    if (map[COL_OBJECT] < 0) {
        sqlite3_finalize(q);
        return record_failure(run, c, "the query has no column named 'object'");
    }
    int rc, status = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        bool young = map[COL_MTIME] >= 0 && sqlite3_column_type(q, map[COL_MTIME]) != SQLITE_NULL &&
                     sqlite3_column_int64(q, map[COL_MTIME]) > cutoff;
        sqlite3_bind_text(ins, 1, c->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 2, severity_name(c->severity), -1, SQLITE_STATIC);
        bind_column(ins, 3, q, map[COL_OBJECT]);
        bind_column(ins, 4, q, map[COL_PATH]);
        bind_column(ins, 5, q, map[COL_DETAIL]);
        bind_column(ins, 6, q, map[COL_OWNED]);
        bind_column(ins, 7, q, map[COL_MTIME]);
        sqlite3_bind_int(ins, 8, young);
        if (db_step_reset(ins, err, errlen) < 0) {
            status = -1;
            break;
        }
    }
    if (status == 0 && rc != SQLITE_DONE)
        status = record_failure(run, c, sqlite3_errmsg(db->h));
    sqlite3_finalize(q);
    return status;
}

int checks_run(struct db *db, const struct catalog *cat, int64_t young_cutoff, struct check_run *run,
               char *err, size_t errlen)
{
    sqlite3_stmt *ins;
    memset(run, 0, sizeof *run);
    if (db_prepare(db, "INSERT INTO finding(check_name, severity, object, path, detail, owned, mtime, young)"
                       " VALUES (?1,?2,?3,?4,?5,?6,?7,?8)", &ins, err, errlen) < 0)
        return -1;
    int rc = db_exec(db, "BEGIN", err, errlen);
    if (rc == 0)
        rc = derive_run(db, err, errlen);
    for (size_t i = 0; rc == 0 && i < cat->count; i++)
        if (cat->checks[i].severity != SEV_IGNORE)
            rc = run_check(db, &cat->checks[i], ins, young_cutoff, run, err, errlen);
    sqlite3_finalize(ins);
    if (rc == 0)
        return db_exec(db, "COMMIT", err, errlen);
    char ignore[256];
    db_exec(db, "ROLLBACK", ignore, sizeof ignore);
    return -1;
}

void check_run_free(struct check_run *run)
{
    for (size_t i = 0; i < run->failure_count; i++) {
        free(run->failures[i].source);
        free(run->failures[i].message);
    }
    free(run->failures);
    run->failures = NULL;
    run->failure_count = 0;
}
