/* main.c — ovl2fsck's entry point: parse options, then run the pipeline
 * scan -> db -> checks -> sizes -> report, and map the outcome to fsck-style
 * exit bits. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "checks.h"
#include "db.h"
#include "embedded.h"
#include "live.h"
#include "opts.h"
#include "pipeline.h"
#include "reap.h"
#include "report.h"
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

static int run_report(const struct options *o, const struct catalog *cat)
{
    char err[1024] = "";
    struct pipeline p;
    int code = pipeline_run(&p, o, cat, &stop_requested, err, sizeof err);
    if (code) {
        pipeline_close(&p);
        return fail(code == EXIT_INTERRUPTED ? "interrupted" : err, code);
    }
    struct run_result *r = &p.result;
    double t0 = pipeline_now();
    int out_rc = o->json ? report_json(stdout, &p.db, r) : report_text(stdout, &p.db, r, o);
    fflush(stdout);
    r->stage_seconds[STAGE_REPORT] = pipeline_now() - t0;
    if (o->verbose)
        print_timings(r);
    code = result_exit_code(r);
    if (out_rc < 0) {
        fprintf(stderr, "ovl2fsck: cannot write the report: %s\n", strerror(errno));
        code |= EXIT_OPERATIONAL;
    }
    if (pipeline_finish(&p, err, sizeof err) < 0) {
        fprintf(stderr, "ovl2fsck: %s\n", err);
        code |= EXIT_OPERATIONAL;
    }
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
        else if (o.reap || o.repair)
            code = reap_main(&o, &cat, &stop_requested);
        else
            code = run_report(&o, &cat);
        break;
    case MODE_RESTORE:
        code = reap_restore_main(&o, &stop_requested);
        break;
    case MODE_PURGE:
        code = reap_purge_main(&o, &stop_requested);
        break;
    }
    catalog_free(&cat);
    opts_free(&o);
    return code;
}
