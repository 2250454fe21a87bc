/* pipeline.c — runs the passes in order on a fresh database and times them:
 * scan (walk, parse, load), deep, derive + checks, sizes. */
#include "pipeline.h"
#include "exit_codes.h"
#include "clock.h"
#include "progress.h"
#include "scan.h"
#include "scan_containerd.h"
#include "parallel.h"
#include "sizes.h"
#include "skip.h"
#include "verify.h"
#include "fsutil.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* scan, deep, checks, sizes on the open database, timing each; the caller
 * erases the progress line whatever the outcome. */
static int run_passes(struct pipeline *p, const struct options *o, const struct catalog *cat,
                      volatile sig_atomic_t *stop, struct progress *prog, char *err, size_t errlen)
{
    struct run_result *r = &p->result;
    struct scan_times st = { 0 };
    double t0 = clock_now();
    bool cd = p->store.kind == STORE_CONTAINERD;
    scan_set_io_depth(opts_io_depth(o));
    par_set_depth(opts_io_depth(o));
    int rc = cd ? scan_containerd_root(&p->db, p->store.root, r->docker_root, o->deep, stop, prog, &st, err, errlen)
                : scan_root(&p->db, p->root, stop, prog, &st, err, errlen);
    if (rc != 0)
        return rc == -2 ? EXIT_INTERRUPTED : EXIT_OPERATIONAL;
    if (stop && *stop)
        return EXIT_INTERRUPTED;   /* a signal after the last poll of the scan */
    double t1 = clock_now();
    progress_end(prog);
    if (o->deep && !cd) {
        /* its own line, at once (the count of layers); not with --json */
        struct progress deep_prog;
        progress_start_now(&deep_prog, !o->quiet && !o->json);
        rc = verify_layers(&p->db, p->root, o, stop, &deep_prog, err, errlen);
        progress_end(&deep_prog);
        if (rc != 0)
            return rc;
    }
    double t1d = clock_now();
    int64_t cutoff = (int64_t)time(NULL) - o->min_age;
    if (progress_due(prog))
        progress_show(prog, "checking");
    if (checks_run_store(&p->db, cat, p->store.kind, cutoff, opts_threads(o), prog, &p->run, err, errlen) < 0)
        return EXIT_OPERATIONAL;
    r->checks = &p->run;
    if (stop && *stop)
        return EXIT_INTERRUPTED;
    r->skip_active = o->skips && o->skips->n > 0;
    if (r->skip_active && skip_list_apply(o->skips, &p->db, &r->skipped, err, errlen) < 0)
        return EXIT_OPERATIONAL;
    double t2 = clock_now();
    if (progress_due(prog))
        progress_show(prog, "sizing the garbage");
    r->reclaimable = sizes_fill_garbage_until(&p->db, p->store.root, stop);   /* paths: relative to what was scanned */
    double t3 = clock_now();
    scan_read_counts(&p->db, &r->scanned);
    result_count_findings(&p->db, r);
    r->stage_seconds[STAGE_WALK] = st.walk;
    r->stage_seconds[STAGE_PARSE] = st.parse;
    r->stage_seconds[STAGE_LOAD] = st.load;
    r->stage_seconds[STAGE_SCAN] = t1 - t0;
    r->scan_threads = st.threads;
    r->stage_seconds[STAGE_DEEP] = t1d - t1;
    r->stage_seconds[STAGE_DERIVE] = p->run.derive_seconds;
    r->stage_seconds[STAGE_CHECKS] = t2 - t1d - p->run.derive_seconds;
    r->stage_seconds[STAGE_SIZES] = t3 - t2;
    return stop && *stop ? EXIT_INTERRUPTED : 0;
}

/* A run that failed because the scan database's file system is full: with
 * --db FILE name the file (the user chose it); a private database moves to
 * the next temp dir (true: run again). */
static bool retry_when_full(const struct options *o, char *err, size_t errlen)
{
    if (!db_error_is_full(err))
        return false;
    if (o->db_path) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s", o->db_path);
        char *slash = strrchr(dir, '/');
        if (slash)
            *(slash == dir ? slash + 1 : slash) = '\0';
        else
            snprintf(dir, sizeof dir, ".");
        long long free_bytes = fs_free_bytes(dir);
        if (free_bytes >= 0 && free_bytes < DB_TEMP_MIN_FREE) {
            snprintf(err, errlen, "cannot write the scan database %s.tmp: its file system is full (%lld bytes "
                     "free); free space there or give --db a file on another file system", o->db_path, free_bytes);
            return false;
        }
    }
    return db_temp_fall_back();
}

static int run_once(struct pipeline *p, const struct options *o, const struct catalog *cat,
                    volatile sig_atomic_t *stop, char *err, size_t errlen)
{
    struct run_result *r = &p->result;
    r->root = p->store.kind == STORE_CONTAINERD ? p->store.root : p->root;
    r->store = p->store.kind;
    r->docker_root = p->store.docker_root[0] ? p->store.docker_root : NULL;
    r->store_how = p->store.how;
    r->min_age = o->min_age;
    r->catalog = cat;
    live_detect(p->root, o->pidfile, &r->live);
    if (db_open(&p->db, o->db_path, err, errlen) < 0) {
        db_close(&p->db);
        return EXIT_OPERATIONAL;
    }
    p->db_open = true;
    struct progress prog;
    progress_start(&prog, !o->quiet);
    int rc = run_passes(p, o, cat, stop, &prog, err, errlen);
    progress_end(&prog);
    return rc;
}

int pipeline_run(struct pipeline *p, const struct options *o, const struct catalog *cat,
                 volatile sig_atomic_t *stop, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    if (!realpath(o->root, p->root)) {
        snprintf(err, errlen, "cannot use root %s: %s", o->root, strerror(errno));
        return EXIT_OPERATIONAL;
    }
    int drc = store_detect(p->root, o, &p->store, err, errlen);
    if (drc)
        return drc;
    for (;;) {
        int rc = run_once(p, o, cat, stop, err, errlen);
        if (rc != EXIT_OPERATIONAL || (stop && *stop) || !retry_when_full(o, err, errlen))
            return rc;
        pipeline_close(p);   /* the full database goes; scan again in the next dir */
        memset(&p->result, 0, sizeof p->result);
        memset(&p->run, 0, sizeof p->run);
    }
}

int pipeline_finish(struct pipeline *p, char *err, size_t errlen)
{
    int rc = p->db_open ? db_finish(&p->db, err, errlen) : 0;
    pipeline_close(p);
    return rc;
}

int pipeline_end(struct pipeline *p, int code)
{
    char err[1024];
    if (pipeline_finish(p, err, sizeof err) < 0) {
        fprintf(stderr, "ovl2fsck: %s\n", err);
        code |= EXIT_OPERATIONAL;
    }
    return code;
}

void pipeline_close(struct pipeline *p)
{
    if (p->db_open)
        db_close(&p->db);
    p->db_open = false;
    check_run_free(&p->run);
}
