/* main.c — ovl2fsck's entry point: parse options, read the config file
 * (the command line beats it), build the catalog (built-in checks, own
 * checks from the checks dir, severity overrides, --ignore), run the mode
 * (report: scan -> db -> checks -> sizes -> report), map the outcome to
 * fsck-style exit bits, and on every exit path of a run write the
 * --prometheus textfile. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog.h"
#include "exit_codes.h"
#include "clock.h"
#include "catalog_dir.h"
#include "checks.h"
#include "config.h"
#include "db.h"
#include "embedded.h"
#include "opts.h"
#include "pipeline.h"
#include "prometheus.h"
#include "reap.h"
#include "repair.h"
#include "report.h"
#include "skip.h"
#include "store.h"
#include "version.h"

/* Everything one invocation holds, released by session_free. */
struct session {
    struct options o;
    struct config cfg;             /* o's strings may point into it */
    struct catalog cat;
    struct check_run load_failed;  /* own checks that did not load */
    struct prom_run metrics;       /* what --prometheus FILE will say */
    double started;
};

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

static int fail(const char *msg, int code)
{
    fprintf(stderr, "ovl2fsck: %s\n", msg);
    return code;
}

/* ---- set-up: options, config file, catalog ------------------------------- */

/* Modes that look at a store read the config file; --help and friends not. */
static bool mode_reads_config(enum mode m)
{
    return m != MODE_HELP && m != MODE_VERSION && m != MODE_SCHEMA;
}

static int load_config(struct session *s)
{
    char err[1024] = "";
    const char *path = s->o.config_path ? s->o.config_path : DEFAULT_CONFIG;
    int code = config_load(path, s->o.config_path != NULL, &s->cfg, stderr, err, sizeof err);
    /* even a bad file may have said where the metrics go */
    config_apply(&s->cfg, &s->o);
    if (code)
        return code;
    if (opts_validate(&s->o, err, sizeof err) < 0)
        return fail(err, EXIT_USAGE);
    return 0;
}

/* After a usage error getopt may not have reached --prometheus FILE: look
 * for it so the failure still reaches the metrics. */
static const char *find_prometheus_arg(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--prometheus") == 0 && i + 1 < argc)
            return argv[i + 1];
        if (strncmp(argv[i], "--prometheus=", 13) == 0 && argv[i][13])
            return argv[i] + 13;
    }
    return NULL;
}

static int setup(struct session *s, int argc, char **argv)
{
    char err[1024] = "";
    if (opts_parse(argc, argv, &s->o, err, sizeof err) < 0) {
        fprintf(stderr, "ovl2fsck: %s\nTry 'ovl2fsck --help'.\n", err);
        if (!s->o.prometheus)
            s->o.prometheus = find_prometheus_arg(argc, argv);
        return EXIT_USAGE;
    }
    return mode_reads_config(s->o.mode) ? load_config(s) : 0;
}

static int load_catalog(struct session *s)
{
    char err[1024] = "";
    const char *dir = s->o.checks_dir ? s->o.checks_dir : DEFAULT_CHECKS_DIR;
    if (catalog_load_builtin(&s->cat, err, sizeof err) < 0)
        return fail(err, EXIT_OPERATIONAL);
    int code = catalog_load_dir(&s->cat, dir, s->o.checks_dir != NULL, &s->load_failed, err, sizeof err);
    if (code)
        return fail(err, code);
    if (config_apply_checks(&s->cfg, &s->cat, s->load_failed.failure_count > 0, stderr, err, sizeof err) < 0)
        return EXIT_USAGE;   /* already printed with FILE:LINE */
    if (s->o.ignore && catalog_set_severities(&s->cat, s->o.ignore, SEV_IGNORE, err, sizeof err) < 0)
        return fail(err, EXIT_USAGE);
    return 0;
}

/* Own checks that did not load, on stderr (where no report shows them). */
static int print_load_failures(const struct session *s)
{
    for (size_t i = 0; i < s->load_failed.failure_count; i++)
        fprintf(stderr, "ovl2fsck: check failed: %s: %s\n", s->load_failed.failures[i].source,
                s->load_failed.failures[i].message);
    return s->load_failed.failure_count ? EXIT_OPERATIONAL : 0;
}

/* ---- modes --------------------------------------------------------------- */

static void print_catalog(const struct catalog *cat)
{
    for (size_t i = 0; i < cat->count; i++) {
        const struct check *c = &cat->checks[i];
        printf("%-28s %-8s %s  (%s%s%s)\n", c->name, severity_name(c->default_severity), c->meaning,
               store_kind_name(c->store), c->action != ACTION_NONE ? ", " : "",
               c->action != ACTION_NONE ? check_action_name(c->action) : "");
    }
}

static void print_check_timings(const struct check_run *run)
{
    for (size_t i = 0; run && i < run->timing_count; i++)
        fprintf(stderr, "ovl2fsck: check %-28s %8.3f s\n", run->timings[i].name, run->timings[i].seconds);
}

static void print_timings(const struct run_result *r, int verbose)
{
    if (verbose >= 2)
        print_check_timings(r->checks);
    double total = 0;
    for (int st = 0; st < STAGE_COUNT; st++) {
        fprintf(stderr, "ovl2fsck: stage %-16s %8.3f s\n", stage_name((enum stage)st), r->stage_seconds[st]);
        if (!stage_is_thread_time((enum stage)st))
            total += r->stage_seconds[st];
    }
    fprintf(stderr, "ovl2fsck: stage %-16s %8.3f s\n", "total", total);
    fprintf(stderr, "ovl2fsck: (walk, parse and load: thread time over the scan's %d threads; scan: their wall time)\n",
            r->scan_threads);
}

/* After the checks ran: the report, the metrics, the --db file. */
static int report_and_collect(struct session *s, struct pipeline *p)
{
    char err[1024] = "";
    struct run_result *r = &p->result;
    if (check_run_add_all(&p->run, &s->load_failed) < 0)
        return fail("out of memory", EXIT_OPERATIONAL);
    double t0 = clock_now();
    int out_rc = s->o.json ? report_json(stdout, &p->db, r) : report_text(stdout, &p->db, r, &s->o);
    fflush(stdout);
    r->stage_seconds[STAGE_REPORT] = clock_now() - t0;
    if (s->o.verbose)
        print_timings(r, s->o.verbose);
    int code = result_exit_code(r);
    if (out_rc < 0) {
        fprintf(stderr, "ovl2fsck: cannot write the report: %s\n", strerror(errno));
        code |= EXIT_OPERATIONAL;
    }
    if (s->o.prometheus && (prom_collect_result(&s->metrics, &p->db, r) < 0 ||
                            prom_collect_failures(&s->metrics, &p->run) < 0))
        code |= fail("out of memory", EXIT_OPERATIONAL);
    if (pipeline_finish(p, err, sizeof err) < 0)
        code |= fail(err, EXIT_OPERATIONAL);
    return code;
}

static int run_report(struct session *s)
{
    char err[1024] = "";
    struct pipeline p;
    int code = pipeline_run(&p, &s->o, &s->cat, &stop_requested, err, sizeof err);
    if (code) {
        pipeline_close(&p);
        prom_collect_failures(&s->metrics, &s->load_failed);
        fail(code == EXIT_INTERRUPTED ? "interrupted" : err, code);
        return code | print_load_failures(s);
    }
    code = report_and_collect(s, &p);
    if (stop_requested)
        code |= EXIT_INTERRUPTED;
    return code;
}

/* --repair, then --reap, each from its own fresh scan; the exit bits of
 * both. The reaper is not started after an interrupted or unusable repair. */
static int run_repair_and_reap(struct session *s)
{
    int code = 0;
    if (s->o.repair)
        code = repair_main(&s->o, &s->cat, &stop_requested);
    if (s->o.reap && !stop_requested && !(code & (EXIT_INTERRUPTED | EXIT_USAGE))) {
        struct options reap_only = s->o;
        reap_only.repair = false;
        code |= reap_main(&reap_only, &s->cat, &stop_requested);
    }
    return code;
}

/* --report (with --reap / --repair) and --list-checks: need the catalog. */
/* The accepted findings: skip.CHECK lines of the config and --skip-list
 * FILE, every check name known to the catalog (else exit 16). */
static int load_skips(struct session *s)
{
    char err[1024];
    if (s->o.skip_list && skip_list_read(&s->cfg.skips, s->o.skip_list, err, sizeof err) < 0)
        return fail(err, EXIT_USAGE);
    if (skip_list_validate(&s->cfg.skips, &s->cat, err, sizeof err) < 0)
        return fail(err, EXIT_USAGE);
    s->o.skips = &s->cfg.skips;
    return 0;
}

/* Repair knows Docker's graphdriver store only, the reaper that store and a
 * containerd root (a Docker root on the containerd image store included):
 * on any other they refuse (exit 8) before they plan anything. */
static int refuse_other_store(struct session *s)
{
    char root[PATH_MAX], err[3 * PATH_MAX + 512];
    struct store_target t;
    if (!realpath(s->o.root, root))
        return 0;   /* the run itself says why the root cannot be used */
    int code = store_detect(root, &s->o, &t, err, sizeof err);
    if (code)
        return fail(err, code);
    if (t.kind == STORE_DOCKER)
        return 0;
    /* a containerd root, or the one a Docker root used: the reaper only (src/reap_containerd.c) */
    if (t.kind == STORE_CONTAINERD && !s->o.repair)
        return 0;
    snprintf(err, sizeof err, "--repair acts on Docker graphdriver stores only (meta.db and metadata.db are never "
             "written); %s is a %s store (%s): check it, or --reap it", root, store_kind_name(t.kind), t.how);
    return fail(err, EXIT_OPERATIONAL);
}

static int run_with_catalog(struct session *s)
{
    int code = load_catalog(s);
    if (code)
        return code;
    if (s->o.mode == MODE_LIST_CHECKS) {
        print_catalog(&s->cat);
        return print_load_failures(s);
    }
    if ((code = load_skips(s)) != 0)
        return code;
    if ((s->o.reap || s->o.repair) && (code = refuse_other_store(s)) != 0)
        return code;
    if (s->o.reap || s->o.repair) {
        prom_collect_failures(&s->metrics, &s->load_failed);
        code = run_repair_and_reap(s);
        return code | print_load_failures(s);
    }
    return run_report(s);
}

static int run_mode(struct session *s)
{
    switch (s->o.mode) {
    case MODE_HELP:
        opts_usage(stdout);
        return 0;
    case MODE_VERSION:
        printf("ovl2fsck %s\n", OVL2FSCK_VERSION);
        return 0;
    case MODE_SCHEMA:
        fputs(embedded_find("sql/schema.sql")->text, stdout);
        return 0;
    case MODE_LIST_CHECKS:
    case MODE_REPORT:
        return run_with_catalog(s);
    case MODE_RESTORE:
        return reap_restore_main(&s->o, &stop_requested);
    case MODE_PURGE:
        return reap_purge_main(&s->o, &stop_requested);
    }
    return EXIT_USAGE;
}

/* ---- the end of every run ------------------------------------------------ */

/* --prometheus FILE is written for runs that check a store (the report,
 * --reap, --repair), whatever their outcome, usage errors included. */
static int write_metrics(struct session *s, int code)
{
    char err[1024] = "";
    if (!s->o.prometheus || s->o.mode != MODE_REPORT)
        return code;
    s->metrics.exit_code = code;
    s->metrics.duration = clock_now() - s->started;
    s->metrics.now = (int64_t)time(NULL);
    if (prom_write_file(s->o.prometheus, &s->metrics, err, sizeof err) < 0)
        code |= fail(err, EXIT_OPERATIONAL);
    return code;
}

static void session_free(struct session *s)
{
    prom_free(&s->metrics);
    check_run_free(&s->load_failed);
    catalog_free(&s->cat);
    opts_free(&s->o);
    config_free(&s->cfg);
}

int main(int argc, char **argv)
{
    struct session s;
    memset(&s, 0, sizeof s);
    s.started = clock_now();
    db_global_init();
    install_signal_handlers();
    int code = setup(&s, argc, argv);
    if (code == 0)
        code = run_mode(&s);
    code = write_metrics(&s, code);
    session_free(&s);
    return code;
}
