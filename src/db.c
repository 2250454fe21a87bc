/* db.c — scan database lifecycle and insert helpers (SQLite). */
#include "db.h"
#include "embedded.h"
#include "fsutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <signal.h>
#include <fcntl.h>
#include <dirent.h>
#include <ctype.h>
#include <limits.h>
#include <stdbool.h>
#include <unistd.h>

static void set_err(char *err, size_t errlen, const char *what, sqlite3 *h)
{
    snprintf(err, errlen, "%s: %s", what, h ? sqlite3_errmsg(h) : "out of memory");
}

/* Process-wide SQLite settings, before any other SQLite call. Every
 * connection belongs to one thread (SQLITE_OPEN_NOMUTEX everywhere), so the
 * library runs multi-threaded; memory statistics are off because with them
 * every sqlite3_malloc takes one global mutex, which the scan's lanes and
 * the parallel checks would contend for. Failure (SQLite already in use)
 * only costs speed. */
void db_global_init(void)
{
    sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int db_exec(struct db *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "database: %s", msg ? msg : sqlite3_errmsg(db->h));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* Open path with the scan pragmas and the schema applied. */
static int open_with_schema(struct db *db, const char *path, int extra_flags, char *err, size_t errlen)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | extra_flags;
    if (sqlite3_open_v2(path, &db->h, flags, NULL) != SQLITE_OK) {
        set_err(err, errlen, *path ? path : "temporary database", db->h);
        return -1;
    }
    const struct embedded_file *schema = embedded_find("sql/schema.sql");
    if (!schema) {
        snprintf(err, errlen, "schema.sql not embedded (build error)");
        return -1;
    }
    /* a private scan database: no journal, no fsync; --db FILE is renamed
     * into place only once complete. The page cache is bounded (pages past
     * it are read back from the OS page cache): peak RSS is the sum of the
     * connections' caches. */
    char pragmas[200];
    snprintf(pragmas, sizeof pragmas, "PRAGMA page_size=%d; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
             " PRAGMA temp_store=MEMORY; PRAGMA cache_size=-%d;", DB_PAGE_SIZE, DB_CACHE_KIB);
    if (db_exec(db, pragmas, err, errlen) < 0)
        return -1;
    return db_exec(db, schema->text, err, errlen);
}

/* path and the WAL files SQLite keeps beside it during the check pass. */
static void remove_db_files(const char *path)
{
    char side[PATH_MAX];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

/* ---- where private databases go ------------------------------------------
 *
 * $TMPDIR (or /tmp) first. On a full disk -- the moment ovl2fsck is run for --
 * that is usually the same file system as the Docker root, so the private
 * databases fall back to memory-backed dirs: /dev/shm, then /run. A dir is
 * passed over when it has less than DB_TEMP_MIN_FREE bytes free, and the
 * pipeline moves on to the next one when SQLite finds a dir full part way
 * (db_temp_fall_back). Each move is said in one line on stderr. The choice
 * holds for the rest of the process (the reaper and repair rescan). */

static const char *const temp_fallbacks[] = { "/dev/shm", "/run" };
#define TEMP_FALLBACK_COUNT (sizeof temp_fallbacks / sizeof temp_fallbacks[0])

static char temp_dir_chosen[PATH_MAX];
static size_t temp_next_fallback;   /* the fallback tried next */

static const char *configured_temp_dir(void)
{
    const char *tmpdir = getenv("TMPDIR");
    return tmpdir && *tmpdir ? tmpdir : "/tmp";
}

static bool same_file_system(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev;
}

/* A fallback dir this process can write to, on another file system than the
 * dir(s) found full, with room. */
static bool fallback_usable(const char *dir, const char *full)
{
    struct stat st;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || access(dir, W_OK | X_OK) < 0)
        return false;
    if (full && same_file_system(dir, full))
        return false;
    return fs_free_bytes(dir) >= DB_TEMP_MIN_FREE;
}

static void say_free(char *buf, size_t buflen, const char *dir)
{
    long long free_bytes = fs_free_bytes(dir);
    if (free_bytes < 0)
        snprintf(buf, buflen, "cannot be measured");
    else
        snprintf(buf, buflen, "only %lld bytes free", free_bytes);
}

/* Move to the next usable fallback after full (a dir found full); false
 * when none is left. */
static bool move_to_fallback(const char *full, const char *why)
{
    char was[PATH_MAX];
    snprintf(was, sizeof was, "%s", full);
    while (temp_next_fallback < TEMP_FALLBACK_COUNT) {
        const char *dir = temp_fallbacks[temp_next_fallback++];
        if (!fallback_usable(dir, was))
            continue;
        snprintf(temp_dir_chosen, sizeof temp_dir_chosen, "%s", dir);
        fprintf(stderr, "ovl2fsck: %s %s: the scan database goes to %s instead (memory)\n", was, why, dir);
        return true;
    }
    return false;
}

const char *db_temp_dir(void)
{
    if (temp_dir_chosen[0])
        return temp_dir_chosen;
    const char *dir = configured_temp_dir();
    snprintf(temp_dir_chosen, sizeof temp_dir_chosen, "%s", dir);
    long long free_bytes = fs_free_bytes(dir);
    if (free_bytes >= 0 && free_bytes < DB_TEMP_MIN_FREE) {
        char why[80];
        say_free(why, sizeof why, dir);
        char reason[120];
        snprintf(reason, sizeof reason, "is full (%s)", why);
        move_to_fallback(dir, reason);   /* none usable: stay, and fail with a clear message */
    }
    return temp_dir_chosen;
}

bool db_temp_fall_back(void)
{
    char full[PATH_MAX];
    snprintf(full, sizeof full, "%s", db_temp_dir());
    return move_to_fallback(full, "filled up during the scan");
}

bool db_error_is_full(const char *err)
{
    return err && (strstr(err, sqlite3_errstr(SQLITE_FULL)) || fs_text_says_full(err));
}

/* "ovl2fsck-<what>-<pid>-XXXXXX" with an optional "-wal"/"-shm": the pid
 * of the run that made it, or -1 when name is not such a file. */
static long temp_file_owner(const char *name)
{
    static const char *const kinds[] = { "ovl2fsck-db-", "ovl2fsck-scan-", NULL };
    for (const char *const *k = kinds; *k; k++) {
        size_t n = strlen(*k);
        if (strncmp(name, *k, n) != 0)
            continue;
        char *end;
        long pid = strtol(name + n, &end, 10);
        if (end == name + n || pid <= 0 || *end != '-' || strlen(end + 1) < 6)
            return -1;
        const char *rest = end + 1 + 6;
        for (const char *c = end + 1; c < rest; c++)
            if (!isalnum((unsigned char)*c))
                return -1;
        return *rest == '\0' || strcmp(rest, "-wal") == 0 || strcmp(rest, "-shm") == 0 ? pid : -1;
    }
    return -1;
}

/* The temp databases of runs that were killed (SIGKILL, power loss): our
 * own regular files whose process is gone. Never follows a symlink; a
 * file whose pid is alive, or another user's, stays. */
static void sweep_stale_temp_files_in(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        long pid = temp_file_owner(de->d_name);
        struct stat st;
        /* the live pid first: another run's files are not even looked at */
        if (pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
            st.st_uid == geteuid())
            unlinkat(dfd, de->d_name, 0);
    }
    closedir(d);
}

/* ... in every dir a private database may have been put. */
static void sweep_stale_temp_files(void)
{
    sweep_stale_temp_files_in(configured_temp_dir());
    for (size_t i = 0; i < TEMP_FALLBACK_COUNT; i++)
        sweep_stale_temp_files_in(temp_fallbacks[i]);
}

/* A file of our own in $TMPDIR (or /tmp), named for this process (see
 * sweep_stale_temp_files); path_out receives its name. */
static int make_temp_file(char *path_out, size_t pathlen, const char *what, char *err, size_t errlen)
{
    snprintf(path_out, pathlen, "%s/ovl2fsck-%s-%ld-XXXXXX", db_temp_dir(), what, (long)getpid());
    int fd = mkstemp(path_out);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create a temporary database in %s: %s", db_temp_dir(), strerror(errno));
        return -1;
    }
    close(fd);
    return 0;
}

int db_open(struct db *db, const char *path, char *err, size_t errlen)
{
    memset(db, 0, sizeof *db);
    sweep_stale_temp_files();
    if (path) {
        db->final_path = strdup(path);
        if (!db->final_path || asprintf(&db->tmp_path, "%s.tmp", path) < 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        remove_db_files(db->tmp_path);   /* a stale leftover of an interrupted run */
    } else {
        /* private: a named temp file (the check pass opens it from more
         * than one connection), removed by db_close, or by the next run
         * when this one is killed */
        char tmp[PATH_MAX];
        if (make_temp_file(tmp, sizeof tmp, "db", err, errlen) < 0)
            return -1;
        if (!(db->tmp_path = strdup(tmp))) {
            unlink(tmp);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return open_with_schema(db, db->tmp_path, 0, err, errlen);
}

const char *db_path(const struct db *db)
{
    return db->tmp_path;
}

int db_open_aux(struct db *db, char *path_out, size_t pathlen, char *err, size_t errlen)
{
    memset(db, 0, sizeof *db);
    if (make_temp_file(path_out, pathlen, "scan", err, errlen) < 0)
        return -1;
    if (open_with_schema(db, path_out, 0, err, errlen) < 0) {
        unlink(path_out);
        return -1;
    }
    return 0;
}

static int copy_aux_tables(struct db *db, char *err, size_t errlen)
{
    sqlite3_stmt *tables;
    char sql[512];
    if (db_prepare(db, "SELECT name FROM aux.sqlite_master WHERE type = 'table'", &tables, err, errlen) < 0)
        return -1;
    int rc = 0;
    while (rc == 0 && sqlite3_step(tables) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(tables, 0);
        snprintf(sql, sizeof sql, "INSERT OR IGNORE INTO main.\"%s\" SELECT * FROM aux.\"%s\"", t, t);
        rc = db_exec(db, sql, err, errlen);
    }
    sqlite3_finalize(tables);
    return rc;
}

/* Copy every table of the aux database at path into db, in one transaction
 * (ATTACH and DETACH must happen outside it). */
int db_merge_aux(struct db *db, const char *path, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (db_prepare(db, "ATTACH ?1 AS aux", &st, err, errlen) < 0)
        return -1;
    db_bind_text(st, 1, path);
    int rc = db_step_reset(st, err, errlen);
    sqlite3_finalize(st);
    if (rc < 0)
        return -1;
    char ignore[256];
    rc = db_exec(db, "BEGIN", err, errlen);
    if (rc == 0)
        rc = copy_aux_tables(db, err, errlen);
    if (rc == 0)
        rc = db_exec(db, "COMMIT", err, errlen);
    else
        db_exec(db, "ROLLBACK", ignore, sizeof ignore);
    if (db_exec(db, "DETACH aux", ignore, sizeof ignore) < 0 && rc == 0) {
        snprintf(err, errlen, "%s", ignore);
        rc = -1;
    }
    return rc;
}

int db_create_indexes(struct db *db, char *err, size_t errlen)
{
    const struct embedded_file *f = embedded_find("sql/indexes.sql");
    if (!f) {
        snprintf(err, errlen, "indexes.sql not embedded (build error)");
        return -1;
    }
    return db_exec(db, f->text, err, errlen);
}

int db_finish(struct db *db, char *err, size_t errlen)
{
    if (!db->final_path)
        return 0;
    if (sqlite3_close(db->h) != SQLITE_OK) {
        set_err(err, errlen, db->tmp_path, db->h);
        return -1;
    }
    db->h = NULL;
    if (rename(db->tmp_path, db->final_path) < 0) {
        snprintf(err, errlen, "cannot rename %s to %s: %s", db->tmp_path, db->final_path, strerror(errno));
        return -1;
    }
    return 0;
}

void db_close(struct db *db)
{
    bool unfinished = db->h != NULL;   /* db_finish closes and renames */
    if (db->h)
        sqlite3_close(db->h);
    if (unfinished && db->tmp_path)
        remove_db_files(db->tmp_path);
    db->h = NULL;
    free(db->final_path);
    free(db->tmp_path);
    db->final_path = db->tmp_path = NULL;
}

int db_prepare(struct db *db, const char *sql, sqlite3_stmt **st, char *err, size_t errlen)
{
    if (sqlite3_prepare_v2(db->h, sql, -1, st, NULL) != SQLITE_OK) {
        set_err(err, errlen, "prepare", db->h);
        return -1;
    }
    return 0;
}

int db_step_reset(sqlite3_stmt *st, char *err, size_t errlen)
{
    int rc = sqlite3_step(st);
    int ok = rc == SQLITE_DONE || rc == SQLITE_ROW;
    if (!ok)
        set_err(err, errlen, "insert", sqlite3_db_handle(st));
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return ok ? 0 : -1;
}

/* s (len bytes, -1: up to its NUL) copied or borrowed as how says; NULL binds SQL NULL. */
static void bind_text_as(sqlite3_stmt *st, int idx, const char *s, int len, sqlite3_destructor_type how)
{
    if (s)
        sqlite3_bind_text(st, idx, s, len, how);
    else
        sqlite3_bind_null(st, idx);
}

void db_bind_text(sqlite3_stmt *st, int idx, const char *s) { bind_text_as(st, idx, s, -1, SQLITE_TRANSIENT); }

void db_bind_textn(sqlite3_stmt *st, int idx, const char *s, size_t len)
{
    bind_text_as(st, idx, s, (int)len, SQLITE_TRANSIENT);
}

void db_bind_borrowed(sqlite3_stmt *st, int idx, const char *s) { bind_text_as(st, idx, s, -1, SQLITE_STATIC); }

void db_bind_borrowedn(sqlite3_stmt *st, int idx, const char *s, size_t len)
{
    bind_text_as(st, idx, s, (int)len, SQLITE_STATIC);
}

void db_bind_int(sqlite3_stmt *st, int idx, int64_t v)
{
    sqlite3_bind_int64(st, idx, v);
}

int db_set_meta(struct db *db, const char *key, const char *value)
{
    sqlite3_stmt *st;
    char err[256];
    if (db_prepare(db, "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)", &st, err, sizeof err) < 0)
        return -1;
    db_bind_text(st, 1, key);
    db_bind_text(st, 2, value);
    int rc = db_step_reset(st, err, sizeof err);
    sqlite3_finalize(st);
    return rc;
}

int db_add_stat(struct db *db, const char *key, int64_t delta)
{
    sqlite3_stmt *st;
    char err[256];
    if (db_prepare(db, "INSERT INTO stat(key, value) VALUES (?1, ?2) "
                       "ON CONFLICT(key) DO UPDATE SET value = value + excluded.value", &st, err, sizeof err) < 0)
        return -1;
    db_bind_text(st, 1, key);
    db_bind_int(st, 2, delta);
    int rc = db_step_reset(st, err, sizeof err);
    sqlite3_finalize(st);
    return rc;
}

int64_t db_query_int(struct db *db, const char *sql, int64_t dflt)
{
    sqlite3_stmt *st;
    int64_t v = dflt;
    if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
        return dflt;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}
