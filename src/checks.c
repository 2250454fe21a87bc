/* checks.c — the check pass: derives the facts (src/derive.c), then runs
 * each catalog query on the scan database; its rows (columns object, path,
 * detail, mtime, owned, by name) become findings with the check's name and
 * effective severity.
 *
 * The queries only read, so they run on several connections at once (one
 * per thread, each taking the next check from a shared counter); their rows
 * are kept in memory and written to the finding table afterwards, in
 * catalog order, by the one writer. The checks that read no derived table
 * go first, on the extra connections, while the main connection derives;
 * the others wait until the derived facts are committed. For that overlap
 * the database is in WAL mode during the pass (a writer then never waits
 * for readers, nor they for it: a derive larger than the page cache would
 * otherwise lock them out until its commit); it is back in journal_mode
 * OFF, the WAL checkpointed and removed, when the pass ends. */
#include "checks.h"
#include "clock.h"
#include "grow.h"
#include "derive.h"
#include "progress.h"
#include "scan_containerd.h"

#include <ctype.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { COL_OBJECT, COL_PATH, COL_DETAIL, COL_MTIME, COL_OWNED, COL_COUNT };
static const char *const col_names[COL_COUNT] = { "object", "path", "detail", "mtime", "owned" };

#define READER_CACHE_KIB 24576   /* page cache of each extra reader connection */
#define MAX_CHECK_THREADS 8
#define BUSY_TIMEOUT_MS 600000   /* without WAL, the derive's commit waits for running readers */

/* One value of a result row, copied out of the statement. */
struct cell {
    int type;        /* SQLITE_NULL, SQLITE_INTEGER or SQLITE_TEXT */
    int64_t i;       /* the value as an integer (SQLite's conversion) */
    char *s;
    int len;
};

struct check_rows {
    struct cell (*rows)[COL_COUNT];
    size_t n, cap;
    char *failure;   /* why the check could not run, or NULL */
    double seconds;  /* how long the query ran */
};

struct check_pool {
    const struct catalog *cat;
    enum store_kind store;    /* only the checks of this kind of store run */
    struct check_rows *out;   /* one per catalog entry */
    size_t *order;            /* catalog indexes: derive-independent checks first */
    size_t independent;       /* how many of order[] read no derived table */
    size_t cat_enabled;       /* entries in order[] */
    size_t next;
    enum { DERIVE_RUNNING, DERIVE_DONE, DERIVE_FAILED } derive;
    pthread_mutex_t lock;
    pthread_cond_t derived;
    struct progress *progress;   /* drawn by the main connection's thread */
};

struct check_reader {
    struct check_pool *pool;
    sqlite3 *h;
    pthread_t tid;
    bool started;
};

static void map_columns(sqlite3_stmt *q, int map[COL_COUNT])
{
    for (int i = 0; i < COL_COUNT; i++)
        map[i] = -1;
    for (int c = 0; c < sqlite3_column_count(q); c++)
        for (int i = 0; i < COL_COUNT; i++)
            if (strcmp(sqlite3_column_name(q, c), col_names[i]) == 0)
                map[i] = c;
}

static int copy_cell(struct cell *v, sqlite3_stmt *q, int col)
{
    memset(v, 0, sizeof *v);
    v->type = col < 0 ? SQLITE_NULL : sqlite3_column_type(q, col);
    if (v->type == SQLITE_NULL)
        return 0;
    v->i = sqlite3_column_int64(q, col);
    if (v->type == SQLITE_INTEGER)
        return 0;
    v->type = SQLITE_TEXT;   /* floats and blobs are stored as their text */
    const unsigned char *t = sqlite3_column_text(q, col);
    v->len = sqlite3_column_bytes(q, col);
    v->s = malloc((size_t)v->len + 1);
    if (!v->s)
        return -1;
    if (t)
        memcpy(v->s, t, (size_t)v->len);
    v->s[v->len] = '\0';
    return 0;
}

static int append_row(struct check_rows *r, sqlite3_stmt *q, const int map[COL_COUNT])
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        void *v = realloc(r->rows, cap * sizeof *r->rows);
        if (!v)
            return -1;
        r->rows = v;
        r->cap = cap;
    }
    for (int i = 0; i < COL_COUNT; i++)
        if (copy_cell(&r->rows[r->n][i], q, map[i]) < 0) {
            while (i-- > 0)
                free(r->rows[r->n][i].s);
            return -1;
        }
    r->n++;
    return 0;
}

static void set_failure(struct check_rows *r, const char *msg)
{
    free(r->failure);
    r->failure = strdup(msg ? msg : "unknown error");
}

/* Run one check on connection h, keeping its rows. */
static void collect_check(sqlite3 *h, const struct check *c, struct check_rows *r)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(h, c->sql, -1, &q, NULL) != SQLITE_OK || !q) {
        set_failure(r, q || sqlite3_errcode(h) != SQLITE_OK ? sqlite3_errmsg(h) : "no SELECT statement");
        sqlite3_finalize(q);
        return;
    }
    if (!sqlite3_stmt_readonly(q)) {
        sqlite3_finalize(q);
        set_failure(r, "a check must be a read-only SELECT");
        return;
    }
    int map[COL_COUNT];
    map_columns(q, map);
    if (map[COL_OBJECT] < 0) {
        sqlite3_finalize(q);
        set_failure(r, "the query has no column named 'object'");
        return;
    }
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        if (append_row(r, q, map) < 0) {
            set_failure(r, "out of memory");
            break;
        }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        set_failure(r, sqlite3_errmsg(h));
    sqlite3_finalize(q);
}

static int order_checks(struct check_pool *p)
{
    p->order = malloc((p->cat->count + 1) * sizeof *p->order);
    if (!p->order)
        return -1;
    size_t n = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < p->cat->count; i++)
            if (p->cat->checks[i].severity != SEV_IGNORE && p->cat->checks[i].store == p->store &&
                (p->cat->checks[i].needs != 0) == (pass == 1))
                p->order[n++] = i;
        if (pass == 0)
            p->independent = n;
    }
    p->cat_enabled = n;
    return 0;
}

/* The next check for this thread, waiting for the derive when the next one
 * needs it; false when there is none left (or the derive failed). */
static bool take_check(struct check_pool *p, size_t *idx, size_t *started)
{
    pthread_mutex_lock(&p->lock);
    while (p->next >= p->independent && p->next < p->cat_enabled && p->derive == DERIVE_RUNNING)
        pthread_cond_wait(&p->derived, &p->lock);
    bool ok = p->next < p->cat_enabled && (p->next < p->independent || p->derive == DERIVE_DONE);
    if (ok) {
        *idx = p->order[p->next++];
        *started = p->next;
    }
    pthread_mutex_unlock(&p->lock);
    return ok;
}

static void run_pool(struct check_pool *p, sqlite3 *h, bool draws)
{
    size_t i, started;
    while (take_check(p, &i, &started)) {
        if (draws && progress_due(p->progress))
            progress_show(p->progress, "checking: %zu of %zu checks started", started, p->cat_enabled);
        double t0 = clock_now();
        collect_check(h, &p->cat->checks[i], &p->out[i]);
        p->out[i].seconds = clock_now() - t0;
    }
}

static void derive_finished(struct check_pool *p, bool ok)
{
    pthread_mutex_lock(&p->lock);
    p->derive = ok ? DERIVE_DONE : DERIVE_FAILED;
    pthread_cond_broadcast(&p->derived);
    pthread_mutex_unlock(&p->lock);
}

static void *reader_thread(void *arg)
{
    struct check_reader *r = arg;
    run_pool(r->pool, r->h, false);
    return NULL;
}

/* A query-only connection of its own on the scan database file. */
static sqlite3 *open_reader(const char *path, enum store_kind store)
{
    sqlite3 *h = NULL;
    char pragma[192];
    snprintf(pragma, sizeof pragma, "PRAGMA cache_size=-%d; PRAGMA temp_store=MEMORY; PRAGMA query_only=ON;%s",
             READER_CACHE_KIB, store == STORE_CONTAINERD ? " " CD_SCANDB_MMAP_PRAGMA : "");
    /* read-write only so that it may map the WAL index; query_only forbids writes */
    if (!path || sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(h, BUSY_TIMEOUT_MS) != SQLITE_OK || sqlite3_exec(h, pragma, NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_close(h);
        return NULL;
    }
    return h;
}

static int rollback(struct db *db)
{
    char ignore[256];
    db_exec(db, "ROLLBACK", ignore, sizeof ignore);
    return -1;
}

/* Commit the derived facts; readers of the scan may hold the file for the
 * rest of their statement (the busy timeout waits for them). */
static int derive_and_commit(struct db *db, enum store_kind store, struct check_run *run, char *err, size_t errlen)
{
    if (store != STORE_DOCKER)
        return 0;   /* the derive is Docker's; other stores' checks declare no derived table */
    double t0 = clock_now();
    sqlite3_busy_timeout(db->h, BUSY_TIMEOUT_MS);
    int rc = db_exec(db, "BEGIN", err, errlen);
    if (rc == 0 && (rc = derive_run(db, err, errlen)) == 0)
        rc = db_exec(db, "COMMIT", err, errlen);
    if (rc != 0)
        rollback(db);
    sqlite3_busy_timeout(db->h, 0);
    run->derive_seconds = clock_now() - t0;
    return rc;
}

/* The derive on the main connection while threads-1 readers (fewer when
 * one cannot be opened) run the checks that do not need it; then every
 * thread takes the rest. */
static int derive_and_collect(struct db *db, struct check_pool *p, int threads, struct check_run *run, char *err,
                              size_t errlen)
{
    struct check_reader readers[MAX_CHECK_THREADS] = { 0 };
    int extra = threads - 1;
    if (extra > MAX_CHECK_THREADS)
        extra = MAX_CHECK_THREADS;
    for (int t = 0; t < extra; t++) {
        readers[t].pool = p;
        readers[t].h = open_reader(db_path(db), p->store);
        readers[t].started = readers[t].h && pthread_create(&readers[t].tid, NULL, reader_thread, &readers[t]) == 0;
    }
    int rc = derive_and_commit(db, p->store, run, err, errlen);
    derive_finished(p, rc == 0);
    if (rc == 0)
        run_pool(p, db->h, true);
    for (int t = 0; t < extra; t++) {
        if (readers[t].started)
            pthread_join(readers[t].tid, NULL);
        sqlite3_close(readers[t].h);
    }
    return rc;
}

static void bind_cell(sqlite3_stmt *ins, int idx, const struct cell *v)
{
    if (v->type == SQLITE_INTEGER)
        sqlite3_bind_int64(ins, idx, v->i);
    else if (v->type == SQLITE_TEXT)
        sqlite3_bind_text(ins, idx, v->s, v->len, SQLITE_STATIC);
    else
        sqlite3_bind_null(ins, idx);
}

static int record_failure(struct check_run *run, const struct check *c, const char *msg)
{
    struct check_failure *v = grow_array(run->failures, &run->failure_cap, run->failure_count + 1, sizeof *v);
    if (!v)
        return -1;
    run->failures = v;
    v[run->failure_count].source = strdup(c->source);
    v[run->failure_count].message = strdup(msg);
    run->failure_count++;
    return 0;
}

/* One check's rows into the finding table; -1 only when the insert fails. */
static int store_rows(sqlite3_stmt *ins, const struct check *c, const struct check_rows *r, int64_t cutoff,
                      char *err, size_t errlen)
{
    for (size_t k = 0; k < r->n; k++) {
        const struct cell *row = r->rows[k];
        bool young = row[COL_MTIME].type != SQLITE_NULL && row[COL_MTIME].i > cutoff;
        sqlite3_bind_text(ins, 1, c->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 2, severity_name(c->severity), -1, SQLITE_STATIC);
        bind_cell(ins, 3, &row[COL_OBJECT]);
        bind_cell(ins, 4, &row[COL_PATH]);
        bind_cell(ins, 5, &row[COL_DETAIL]);
        bind_cell(ins, 6, &row[COL_OWNED]);
        bind_cell(ins, 7, &row[COL_MTIME]);
        sqlite3_bind_int(ins, 8, young);
        if (db_step_reset(ins, err, errlen) < 0)
            return -1;
    }
    return 0;
}

static int store_all(struct db *db, const struct catalog *cat, const struct check_pool *p, int64_t cutoff,
                     struct check_run *run, char *err, size_t errlen)
{
    sqlite3_stmt *ins;
    if (db_prepare(db, "INSERT INTO finding(check_name, severity, object, path, detail, owned, mtime, young)"
                       " VALUES (?1,?2,?3,?4,?5,?6,?7,?8)", &ins, err, errlen) < 0)
        return -1;
    int rc = 0;
    run->timings = calloc(cat->count + 1, sizeof *run->timings);
    for (size_t i = 0; rc == 0 && i < cat->count; i++) {
        if (cat->checks[i].severity == SEV_IGNORE || cat->checks[i].store != p->store)
            continue;
        if (run->timings)
            run->timings[run->timing_count++] = (struct check_timing){ cat->checks[i].name, p->out[i].seconds };
        if (p->out[i].failure)
            rc = record_failure(run, &cat->checks[i], p->out[i].failure);
        else
            rc = store_rows(ins, &cat->checks[i], &p->out[i], cutoff, err, errlen);
    }
    sqlite3_finalize(ins);
    return rc;
}

static void free_rows(struct check_pool *p)
{
    for (size_t i = 0; p->out && i < p->cat->count; i++) {
        for (size_t k = 0; k < p->out[i].n; k++)
            for (int c = 0; c < COL_COUNT; c++)
                free(p->out[i].rows[k][c].s);
        free(p->out[i].rows);
        free(p->out[i].failure);
    }
    free(p->out);
}

/* WAL for the pass (see the top of this file); the checkpoint into the
 * file and journal_mode OFF again once every reader is closed. When the
 * mode cannot change, the pass still works: readers then wait for the
 * derive's locks (the busy timeout). */
static void enter_wal(struct db *db)
{
    char ignore[256];
    db_exec(db, "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;", ignore, sizeof ignore);
}

static int leave_wal(struct db *db, char *err, size_t errlen)
{
    return db_exec(db, "PRAGMA journal_mode=OFF;", err, errlen);
}

int checks_run(struct db *db, const struct catalog *cat, int64_t young_cutoff, int threads,
               struct progress *progress, struct check_run *run, char *err, size_t errlen)
{
    return checks_run_store(db, cat, STORE_DOCKER, young_cutoff, threads, progress, run, err, errlen);
}

int checks_run_store(struct db *db, const struct catalog *cat, enum store_kind store, int64_t young_cutoff,
                     int threads, struct progress *progress, struct check_run *run, char *err, size_t errlen)
{
    memset(run, 0, sizeof *run);
    struct check_pool p = { .cat = cat, .store = store, .progress = progress };
    p.out = calloc(cat->count ? cat->count : 1, sizeof *p.out);
    if (!p.out || order_checks(&p) < 0) {
        free(p.out);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.derived, NULL);
    enter_wal(db);
    int rc = derive_and_collect(db, &p, threads < 1 ? 1 : threads, run, err, errlen);
    pthread_cond_destroy(&p.derived);
    pthread_mutex_destroy(&p.lock);
    if (rc == 0)
        rc = db_exec(db, "BEGIN", err, errlen);
    if (rc == 0) {
        rc = store_all(db, cat, &p, young_cutoff, run, err, errlen);
        rc = rc == 0 ? db_exec(db, "COMMIT", err, errlen) : rollback(db);
    }
    char ignore[256];
    if (leave_wal(db, rc == 0 ? err : ignore, rc == 0 ? errlen : sizeof ignore) < 0)
        rc = -1;
    free_rows(&p);
    free(p.order);
    return rc;
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
    free(run->timings);
    run->timings = NULL;
    run->timing_count = 0;
}
