/* fuzz_common.h — shared plumbing of the libFuzzer harnesses (tests/fuzz/).
 *
 * Why the harnesses go through scan_internal.h and a scratch store instead of
 * #including src/scan_*.c: every parser of a store file (image configs,
 * repositories.json, id files, link/lower, snapshots.db) is reached by its
 * scan module (scan_images, scan_tags, scan_layers, scan_mounts, scan_overlay,
 * scan_buildkit), which scan_internal.h already declares. Writing the fuzz
 * input into a small store on tmpfs and calling the module fuzzes exactly the
 * code ovl2fsck runs — the capped, O_NOFOLLOW read in fsutil.c included —
 * without exposing a static function or copying one. The rows the module
 * loads then go through the real check catalog and both report renderings,
 * so hostile bytes are also fuzzed through the SQL checks and the output
 * escaping. Only the bbolt and tar-split readers have a public in-memory /
 * fd API and are called directly.
 *
 * The same harness files are compiled into tests/unit/test_regress_fuzz.c
 * (with FUZZ_ENTRY renamed) to replay the seeds and every saved crash input
 * under the normal and the sanitizer build. */
#ifndef OVL2FSCK_FUZZ_COMMON_H
#define OVL2FSCK_FUZZ_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog.h"
#include "checks.h"
#include "db.h"
#include "embedded.h"
#include "opts.h"
#include "report.h"
#include "scan.h"
#include "scan_internal.h"
#include "sizes.h"
#include "store.h"

/* A scratch store: <base>/root, created once per process on tmpfs. */
struct fuzz_store {
    char base[256];
    char root[300];
    int rootfd;
    struct catalog cat;
    int ready;
};

static struct fuzz_store fuzz_g;

#define FUZZ_HELPER static inline __attribute__((unused))

FUZZ_HELPER int fuzz_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP || flag == FTW_D)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

/* rm -rf path (never follows a symlink: FTW_PHYS). */
FUZZ_HELPER void fuzz_rm_rf(const char *path)
{
    nftw(path, fuzz_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

FUZZ_HELPER void fuzz_cleanup(void)
{
    if (!fuzz_g.ready)
        return;
    close(fuzz_g.rootfd);
    fuzz_rm_rf(fuzz_g.base);
    catalog_free(&fuzz_g.cat);
    fuzz_g.ready = 0;
}

FUZZ_HELPER void fuzz_die(const char *what)
{
    fprintf(stderr, "fuzz harness: %s: %s\n", what, strerror(errno));
    abort();
}

FUZZ_HELPER void fuzz_setup(void)
{
    if (fuzz_g.ready)
        return;
    const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    snprintf(fuzz_g.base, sizeof fuzz_g.base, "%s/o2fuzz.XXXXXX", tmp);
    if (!mkdtemp(fuzz_g.base))
        fuzz_die("mkdtemp");
    snprintf(fuzz_g.root, sizeof fuzz_g.root, "%s/root", fuzz_g.base);
    if (mkdir(fuzz_g.root, 0700) < 0)
        fuzz_die("mkdir root");
    fuzz_g.rootfd = open(fuzz_g.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fuzz_g.rootfd < 0)
        fuzz_die("open root");
    char err[256];
    if (catalog_load_builtin(&fuzz_g.cat, err, sizeof err) < 0) {
        fprintf(stderr, "fuzz harness: catalog: %s\n", err);
        abort();
    }
    fuzz_g.ready = 1;
    atexit(fuzz_cleanup);
}

/* Empty the scratch root (between inputs). */
FUZZ_HELPER void fuzz_reset_root(void)
{
    fuzz_setup();
    fuzz_rm_rf(fuzz_g.root);
    if (mkdir(fuzz_g.root, 0700) < 0 && errno != EEXIST)
        fuzz_die("mkdir root");
    close(fuzz_g.rootfd);
    fuzz_g.rootfd = open(fuzz_g.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fuzz_g.rootfd < 0)
        fuzz_die("open root");
}

/* mkdir -p root/rel. */
FUZZ_HELPER void fuzz_mkdirs(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", fuzz_g.root, rel);
    for (char *p = path + strlen(fuzz_g.root) + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0700);
            *p = '/';
        }
    }
    mkdir(path, 0700);
}

/* Write root/rel (its dir must exist) with exactly these bytes. */
FUZZ_HELPER void fuzz_write(const char *rel, const void *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", fuzz_g.root, rel);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return;   /* a name the fuzzer made impossible: fine */
    const char *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n <= 0)
            break;
        p += n;
        len -= (size_t)n;
    }
    close(fd);
}

/* The scan database: in memory, schema and indexes applied once per
 * process; emptied (every table) before each input. */
static struct db fuzz_db;
static char **fuzz_tables;
static size_t fuzz_table_count;

FUZZ_HELPER void fuzz_db_close(void)
{
    for (size_t i = 0; i < fuzz_table_count; i++)
        free(fuzz_tables[i]);
    free(fuzz_tables);
    fuzz_tables = NULL;
    fuzz_table_count = 0;
    if (fuzz_db.h)
        sqlite3_close(fuzz_db.h);
    fuzz_db.h = NULL;
}

FUZZ_HELPER struct db *fuzz_db_fresh(void)
{
    char err[256], sql[300];
    if (!fuzz_db.h) {
        if (sqlite3_open_v2(":memory:", &fuzz_db.h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
            fuzz_die("sqlite3_open");
        const struct embedded_file *schema = embedded_find("sql/schema.sql");
        if (!schema || db_exec(&fuzz_db, schema->text, err, sizeof err) < 0 ||
            db_create_indexes(&fuzz_db, err, sizeof err) < 0) {
            fprintf(stderr, "fuzz harness: schema: %s\n", err);
            abort();
        }
        sqlite3_stmt *q;
        if (db_prepare(&fuzz_db, "SELECT name FROM sqlite_master WHERE type = 'table'", &q, err, sizeof err) < 0)
            abort();
        while (sqlite3_step(q) == SQLITE_ROW) {
            fuzz_tables = realloc(fuzz_tables, (fuzz_table_count + 1) * sizeof *fuzz_tables);
            fuzz_tables[fuzz_table_count++] = strdup((const char *)sqlite3_column_text(q, 0));
        }
        sqlite3_finalize(q);
        atexit(fuzz_db_close);
        return &fuzz_db;
    }
    for (size_t i = 0; i < fuzz_table_count; i++) {
        snprintf(sql, sizeof sql, "DELETE FROM \"%s\"", fuzz_tables[i]);
        if (db_exec(&fuzz_db, sql, err, sizeof err) < 0) {
            fprintf(stderr, "fuzz harness: %s\n", err);
            abort();
        }
    }
    return &fuzz_db;
}

typedef int (*fuzz_scan_fn)(struct scan *s);

/* Whether this input also goes through the check catalog and the reports.
 * Those cost ~50x the parse (SQLite prepares ~40 queries), so under libFuzzer
 * only a fixed eighth of the inputs (by content hash: deterministic, so a
 * crash reproduces) take that path; the regression replay takes it always. */
#ifdef FUZZ_NO_MAIN
#define FUZZ_REPORT_EVERY 1u
#else
#define FUZZ_REPORT_EVERY 8u
#endif
static int fuzz_report_this;

FUZZ_HELPER void fuzz_pick_report(const uint8_t *data, size_t size)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 16777619u;
    fuzz_report_this = h % FUZZ_REPORT_EVERY == 0;
}

/* The checks of STORE on db (every check must run: a failing one is a bug),
 * the sizes of what they found, and both reports into /dev/null. */
FUZZ_HELPER void fuzz_checks_and_reports(struct db *db, enum store_kind store)
{
    char err[512];
    struct check_run run;
    if (checks_run_store(db, &fuzz_g.cat, store, INT64_MAX, 1, NULL, &run, err, sizeof err) < 0) {
        fprintf(stderr, "fuzz harness: checks failed: %s\n", err);
        abort();
    }
    if (run.failure_count) {
        fprintf(stderr, "fuzz harness: check %s failed: %s\n", run.failures[0].source, run.failures[0].message);
        abort();
    }
    struct run_result r;
    memset(&r, 0, sizeof r);
    r.root = fuzz_g.root;
    r.store = store;
    r.catalog = &fuzz_g.cat;
    r.checks = &run;
    r.reclaimable = sizes_fill_garbage(db, fuzz_g.root);
    scan_read_counts(db, &r.scanned);
    result_count_findings(db, &r);
    struct options o;
    memset(&o, 0, sizeof o);
    FILE *null = fopen("/dev/null", "we");
    if (null) {
        report_json(null, db, &r);
        report_text(null, db, &r, &o);
        fclose(null);
    }
    check_run_free(&run);
}

/* Run scan modules over the scratch root, then (see fuzz_pick_report) the
 * whole check catalog and both report renderings (to /dev/null), as the
 * pipeline does. */
FUZZ_HELPER void fuzz_scan_and_report(const fuzz_scan_fn *mods, size_t n)
{
    struct db *db = fuzz_db_fresh();
    char err[512];
    struct scan s;
    memset(&s, 0, sizeof s);
    s.db = db;
    s.rootfd = fuzz_g.rootfd;
    int rc = db_exec(db, "BEGIN", err, sizeof err);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = mods[i](&s);
    if (rc == 0)
        rc = db_exec(db, "COMMIT", err, sizeof err);
    if (rc != 0) {
        /* a database error on fuzz input is a bug: the scanner must store
         * whatever it finds */
        fprintf(stderr, "fuzz harness: scan failed: %s / %s\n", err, s.err);
        abort();
    }
    if (!fuzz_report_this)
        return;
    fuzz_checks_and_reports(db, STORE_DOCKER);
}

/* An fd holding data (a memfd: no file system involved), at offset 0. */
FUZZ_HELPER int fuzz_memfd(const void *data, size_t len)
{
    int fd = memfd_create("fuzz", MFD_CLOEXEC);
    if (fd < 0)
        fuzz_die("memfd_create");
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t n = write(fd, p, left);
        if (n <= 0)
            fuzz_die("write memfd");
        p += n;
        left -= (size_t)n;
    }
    lseek(fd, 0, SEEK_SET);
    return fd;
}

/* Field reader for structured inputs: each field is <len byte><bytes>; a
 * length byte of 0xff means "file absent". Past the end, fields are absent. */
struct fuzz_fields {
    const uint8_t *p;
    size_t left;
};

/* Returns 1 with *out and *len set, 0 when the field is absent. */
FUZZ_HELPER int fuzz_field(struct fuzz_fields *f, const uint8_t **out, size_t *len)
{
    if (f->left == 0)
        return 0;
    size_t n = f->p[0];
    f->p++;
    f->left--;
    if (n == 0xff)
        return 0;
    if (n > f->left)
        n = f->left;
    *out = f->p;
    *len = n;
    f->p += n;
    f->left -= n;
    return 1;
}

/* A path component made from fuzz bytes, or fallback when it cannot be
 * one (empty, '/', NUL, "." or ".."). */
FUZZ_HELPER void fuzz_component(const uint8_t *b, size_t len, int present, const char *fallback, char *out, size_t outlen)
{
    int ok = present && len > 0 && len < outlen && !memchr(b, '/', len) && !memchr(b, '\0', len) &&
             !(len == 1 && b[0] == '.') && !(len == 2 && b[0] == '.' && b[1] == '.');
    if (ok) {
        memcpy(out, b, len);
        out[len] = '\0';
    } else {
        snprintf(out, outlen, "%s", fallback);
    }
}

/* Each harness defines static int fuzz_<name>_one(data, size) and, unless
 * FUZZ_NO_MAIN (the regression unit test), libFuzzer's entry point. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
