/* db.h — the scan database: open (private temp file or --db FILE), schema,
 * transactions, and small bind helpers for the scanner's prepared inserts. */
#ifndef OVL2FSCK_DB_H
#define OVL2FSCK_DB_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Page cache of each scan database connection (KiB). */
#define DB_CACHE_KIB 32768
/* 16 KiB pages: the scan tables are scanned whole and their keys are 64-hex
 * ids; a quarter of the page reads of 4 KiB pages, and fewer b-tree levels.
 * Measured against 4 KiB (same binary otherwise): 0.84x the wall time at
 * 10k images, 0.88x at 30k, same RSS. */
#define DB_PAGE_SIZE 16384

/* A dir for private databases needs at least this much free space to be
 * tried (below it the next candidate is taken, see db_temp_dir). */
#define DB_TEMP_MIN_FREE (8LL * 1024 * 1024)

struct db {
    sqlite3 *h;
    char *final_path;   /* --db FILE: written to FILE.tmp, renamed on db_finish */
    char *tmp_path;     /* the file open now: FILE.tmp, or the private temp file */
};

/* path NULL: a private temporary database (a file in $TMPDIR, removed by
 * db_close). Applies sql/schema.sql. */
/* Process-wide SQLite settings; call once, before any other SQLite call. */
void db_global_init(void);
int db_open(struct db *db, const char *path, char *err, size_t errlen);
/* The file db is open on (for more read-only connections to it). */
const char *db_path(const struct db *db);
/* A second database for a scan worker thread: a temporary file (its path
 * in path_out) that db_merge_aux copies into db once the worker closed it. */
int db_open_aux(struct db *db, char *path_out, size_t pathlen, char *err, size_t errlen);
int db_merge_aux(struct db *db, const char *path, char *err, size_t errlen);
/* Build sql/indexes.sql (after the load). */
int db_create_indexes(struct db *db, char *err, size_t errlen);
/* Make the --db file visible under its final name (atomic rename). */
int db_finish(struct db *db, char *err, size_t errlen);
void db_close(struct db *db);

/* Where private databases go: $TMPDIR (or /tmp), or -- when that file
 * system is full -- /dev/shm, then /run (memory). Chosen on first use, the
 * move said on stderr. */
const char *db_temp_dir(void);
/* The dir in use filled up part way: move to the next fallback (said on
 * stderr). False when none is left. */
bool db_temp_fall_back(void);
/* Does this error message say a file system (or quota) is full? */
bool db_error_is_full(const char *err);

int db_exec(struct db *db, const char *sql, char *err, size_t errlen);
int db_prepare(struct db *db, const char *sql, sqlite3_stmt **st, char *err, size_t errlen);
/* Step a prepared insert to completion and reset it; 0 or -1 (message in err). */
int db_step_reset(sqlite3_stmt *st, char *err, size_t errlen);

/* Bind helpers: NULL text binds SQL NULL. Index is 1-based as in SQLite. */
void db_bind_text(sqlite3_stmt *st, int idx, const char *s);
void db_bind_textn(sqlite3_stmt *st, int idx, const char *s, size_t len);
void db_bind_int(sqlite3_stmt *st, int idx, int64_t v);
/* Borrowed text, not copied (SQLITE_STATIC): for the row-per-object inserts
 * of the scan and the derive, which bind and then step at once. s must stay
 * valid and unchanged until the statement has been stepped (db_step_reset
 * then clears the bindings). Saves a malloc, a copy and a free per column:
 * 3% of a warm check's wall time at 10k images. */
void db_bind_borrowed(sqlite3_stmt *st, int idx, const char *s);
void db_bind_borrowedn(sqlite3_stmt *st, int idx, const char *s, size_t len);

/* Set meta(key) = value / stat(key) = value. */
int db_set_meta(struct db *db, const char *key, const char *value);
int db_add_stat(struct db *db, const char *key, int64_t delta);
int64_t db_query_int(struct db *db, const char *sql, int64_t dflt);

#endif
