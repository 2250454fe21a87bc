/* main.c — ovl2fsck's entry point: parse options, then run the pipeline
 * scan -> db -> checks -> sizes -> report, and map the outcome to fsck-style
 * exit bits. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog.h"
#include "checks.h"
#include "db.h"
#include "embedded.h"
#include "live.h"
#include "opts.h"
#include "report.h"
#include "scan.h"
#include "sizes.h"
#include "version.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void install_signal_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void print_catalog(const struct catalog *cat)
{
    for (size_t i = 0; i < cat->count; i++)
        printf("%-28s %-8s %s\n", cat->checks[i].name, severity_name(cat->checks[i].default_severity),
               cat->checks[i].meaning);
}

static int fail(const char *msg, int code)
{
    fprintf(stderr, "ovl2fsck: %s\n", msg);
    return code;
}

static int load_catalog(struct catalog *cat, const struct options *o, char *err, size_t errlen)
{
    if (catalog_load_builtin(cat, err, errlen) < 0)
        return EXIT_OPERATIONAL;
    if (o->ignore && catalog_set_severities(cat, o->ignore, SEV_IGNORE, err, errlen) < 0)
        return EXIT_USAGE;
    return 0;
}

static void print_timings(const struct run_result *r)
{
    for (int s = 0; s < STAGE_COUNT; s++)
        fprintf(stderr, "ovl2fsck: stage %-16s %8.3f s\n", stage_name((enum stage)s), r->stage_seconds[s]);
}

static int run_report(const struct options *o, struct catalog *cat)
{
    char err[1024] = "", root[PATH_MAX];
    if (!realpath(o->root, root)) {
        snprintf(err, sizeof err, "cannot use root %s: %s", o->root, strerror(errno));
        return fail(err, EXIT_OPERATIONAL);
    }
    struct run_result r = { .root = root, .min_age = o->min_age, .catalog = cat };
    live_detect(root, o->pidfile, &r.live);
    struct db db;
    if (db_open(&db, o->db_path, err, sizeof err) < 0) {
        db_close(&db);
        return fail(err, EXIT_OPERATIONAL);
    }
    double t0 = now_seconds();
    int rc = scan_root(&db, root, &stop_requested, err, sizeof err);
    if (rc != 0) {
        db_close(&db);
        return rc == -2 ? fail("interrupted", EXIT_INTERRUPTED) : fail(err, EXIT_OPERATIONAL);
    }
    double t1 = now_seconds();
    struct check_run run;
    int64_t cutoff = (int64_t)time(NULL) - o->min_age;
    if (checks_run(&db, cat, cutoff, &run, err, sizeof err) < 0) {
        db_close(&db);
        return fail(err, EXIT_OPERATIONAL);
    }
    r.checks = &run;
    double t2 = now_seconds();
    r.reclaimable = sizes_fill_garbage(&db, root);
    double t3 = now_seconds();
    scan_read_counts(&db, &r.scanned);
    result_count_findings(&db, &r);
    int out_rc = o->json ? report_json(stdout, &db, &r) : report_text(stdout, &db, &r, o);
    fflush(stdout);
    double t4 = now_seconds();
    r.stage_seconds[STAGE_WALK] = t1 - t0;
    r.stage_seconds[STAGE_CHECKS] = t2 - t1;
    r.stage_seconds[STAGE_SIZES] = t3 - t2;
    r.stage_seconds[STAGE_REPORT] = t4 - t3;
    if (o->verbose)
        print_timings(&r);
    int code = result_exit_code(&r);
    if (out_rc < 0) {
        fprintf(stderr, "ovl2fsck: cannot write the report: %s\n", strerror(errno));
        code |= EXIT_OPERATIONAL;
    }
    if (db_finish(&db, err, sizeof err) < 0) {
        fprintf(stderr, "ovl2fsck: %s\n", err);
        code |= EXIT_OPERATIONAL;
    }
    db_close(&db);
    check_run_free(&run);
    if (stop_requested)
        code |= EXIT_INTERRUPTED;
    return code;
}

int main(int argc, char **argv)
{
    struct options o;
    char err[1024] = "";
    if (opts_parse(argc, argv, &o, err, sizeof err) < 0) {
        fprintf(stderr, "ovl2fsck: %s\nTry 'ovl2fsck --help'.\n", err);
        opts_free(&o);
        return EXIT_USAGE;
    }
    install_signal_handlers();
    int code = 0;
    struct catalog cat = { 0 };
    switch (o.mode) {
    case MODE_HELP:
        opts_usage(stdout);
        break;
    case MODE_VERSION:
        printf("ovl2fsck %s\n", OVL2FSCK_VERSION);
        break;
    case MODE_SCHEMA:
        fputs(embedded_find("sql/schema.sql")->text, stdout);
        break;
    case MODE_LIST_CHECKS:
    case MODE_REPORT:
        code = load_catalog(&cat, &o, err, sizeof err);
        if (code) {
            fprintf(stderr, "ovl2fsck: %s\n", err);
            break;
        }
        if (o.mode == MODE_LIST_CHECKS)
            print_catalog(&cat);
        else
            code = run_report(&o, &cat);
        break;
    }
    catalog_free(&cat);
    opts_free(&o);
    return code;
}
