/* repair.c — `--repair` (dry run) and `--repair --apply`.
 *
 * Owns: the order of a repair run and its exit code. A dry run scans,
 * resolves the target state (repair_model.c), plans (repair_plan.c) and
 * prints each repair: what it will write where and why; it takes no lock
 * and writes nothing anywhere. --apply, with the reaper's safety machinery:
 *
 *   1. refuse when dockerd looks live (pidfile, process, overlay mounts)
 *   2. lock the root (<root>/.ovl2fsck.lock, the reaper's lock: a reaper
 *      and a repair never run on one root at once); refuse again if live
 *   3. open the journal (--journal FILE)
 *   4. remove temp symlinks an interrupted run left in overlay2/l
 *   5. scan afresh, resolve and plan
 *   6. per item: dockerd still not live, re-verify, then each step
 *      journaled before and after (repair_apply.c)
 *   7. SIGINT/SIGTERM are honoured between items (exit 32)
 *
 * Exit (fsck bits, as the reaper): dry run 4 when there is something to do
 * or an error is left, else 0. --apply: 1 when every planned item was done,
 * 4 when anything remains (a failed or skipped item, an error no repair
 * fixes), both when both; 8 refused or operational error, 32 interrupted. */
#include "repair.h"
#include "reap_internal.h"
#include "live.h"
#include "pipeline.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct run {
    struct repair_ctx c;
    struct journal journal;
    int lockfd;
};

static int fail_msg(const char *msg, int code)
{
    fprintf(stderr, "ovl2fsck: %s\n", msg);
    return code;
}

/* Scan, model, resolve, plan. Returns 0 or an exit code (message printed). */
static int plan_fresh(struct repair_ctx *c, struct pipeline *p, struct repair_model *m, struct repair_plan *plan,
                      const struct catalog *cat, volatile sig_atomic_t *stop)
{
    char err[1024] = "";
    memset(m, 0, sizeof *m);
    memset(plan, 0, sizeof *plan);
    int code = pipeline_run(p, c->o, cat, stop, err, sizeof err);
    if (code) {
        pipeline_close(p);
        return fail_msg(code == EXIT_INTERRUPTED ? "interrupted" : err, code);
    }
    snprintf(c->root, sizeof c->root, "%s", p->root);
    bool own_fd = c->rootfd < 0;
    if (own_fd)
        c->rootfd = open(c->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int64_t cutoff = (int64_t)time(NULL) - c->o->min_age;
    if (c->rootfd < 0 || model_load(m, &p->db, err, sizeof err) < 0 || model_resolve(m, err, sizeof err) < 0 ||
        plan_make(plan, m, c->rootfd, cutoff, err, sizeof err) < 0) {
        if (!err[0])
            snprintf(err, sizeof err, "cannot open root %.900s: %s", c->root, strerror(errno));
        pipeline_close(p);
        return fail_msg(err, EXIT_OPERATIONAL);
    }
    return 0;
}

static int finish_pipeline(struct pipeline *p, int code)
{
    char err[1024];
    if (pipeline_finish(p, err, sizeof err) < 0) {
        fprintf(stderr, "ovl2fsck: %s\n", err);
        code |= EXIT_OPERATIONAL;
    }
    return code;
}

static void print_results(const struct repair_ctx *c, const struct repair_plan *plan)
{
    if (c->o->json)
        repair_print_json(stdout, c->root, plan, &c->sum);
    else
        repair_print_text(stdout, c->root, plan, &c->sum, c->o);
    fflush(stdout);
}

static int dry_run_code(const struct repair_plan *plan, const struct pipeline *p)
{
    int code = plan->count || plan->errors_left ? EXIT_FOUND : EXIT_CLEAN;
    if (p->result.checks && p->result.checks->failure_count)
        code |= EXIT_OPERATIONAL;
    return code;
}

static int apply_code(const struct repair_plan *plan, const struct repair_summary *s)
{
    if (s->refused)
        return EXIT_OPERATIONAL;
    if (s->interrupted)
        return EXIT_INTERRUPTED;
    int code = EXIT_CLEAN;
    if (plan->count && s->done == plan->count)
        code |= EXIT_FIXED;
    if (s->failed || s->skipped || s->not_reached || plan->errors_left)
        code |= EXIT_FOUND;
    return code;
}

static void release_plan(struct repair_model *m, struct repair_plan *plan)
{
    repair_plan_free(plan);
    model_free(m);
}

static int dry_run(struct run *r, const struct catalog *cat, volatile sig_atomic_t *stop)
{
    struct pipeline p;
    struct repair_model m;
    struct repair_plan plan;
    int code = plan_fresh(&r->c, &p, &m, &plan, cat, stop);
    if (code) {
        release_plan(&m, &plan);
        return code;
    }
    print_results(&r->c, &plan);
    code = dry_run_code(&plan, &p);
    release_plan(&m, &plan);
    return finish_pipeline(&p, code);
}

/* Steps 1-4. Returns 0 or an exit code (message printed). */
static int prepare_apply(struct run *r)
{
    char err[1024];
    struct repair_ctx *c = &r->c;
    if (!realpath(c->o->root, c->root)) {
        snprintf(err, sizeof err, "cannot use root %s: %s", c->o->root, strerror(errno));
        return fail_msg(err, EXIT_OPERATIONAL);
    }
    c->rootfd = open(c->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (c->rootfd < 0) {
        snprintf(err, sizeof err, "cannot open root %.900s: %s", c->root, strerror(errno));
        return fail_msg(err, EXIT_OPERATIONAL);
    }
    /* a refused run writes nothing, not even the lock file */
    if (live_refuse_apply(c->root, c->o->pidfile))
        return EXIT_OPERATIONAL;
    r->lockfd = reap_lock_take(c->rootfd, REAP_LOCK_NAME, c->root, err, sizeof err);
    if (r->lockfd < 0)
        return fail_msg(err, EXIT_OPERATIONAL);
    if (live_refuse_apply(c->root, c->o->pidfile))
        return EXIT_OPERATIONAL;
    if (journal_open(&r->journal, c->o->journal, err, sizeof err) < 0) {
        fprintf(stderr, "ovl2fsck: %s (use --journal FILE)\n", err);
        return EXIT_OPERATIONAL;
    }
    c->journal = &r->journal;
    repair_finish_temps(c);
    if (c->journal_broken)
        return fail_msg("the journal cannot be written", EXIT_OPERATIONAL);
    return 0;
}

static void release(struct run *r)
{
    journal_close(&r->journal);
    if (r->lockfd >= 0)
        reap_lock_release(r->c.rootfd, REAP_LOCK_NAME, r->lockfd);
    if (r->c.rootfd >= 0)
        close(r->c.rootfd);
    r->lockfd = r->c.rootfd = -1;
}

static int apply(struct run *r, const struct catalog *cat, volatile sig_atomic_t *stop)
{
    int code = prepare_apply(r);
    if (code) {
        release(r);
        return code;
    }
    struct pipeline p;
    struct repair_model m;
    struct repair_plan plan;
    code = plan_fresh(&r->c, &p, &m, &plan, cat, stop);
    if (code) {
        release_plan(&m, &plan);
        release(r);
        return code;
    }
    r->c.sum.apply = true;
    repair_apply_plan(&r->c, &plan, stop);
    if (r->c.sum.refused)
        r->c.sum.refusal = r->c.refusal;
    print_results(&r->c, &plan);
    if (r->c.sum.refused)
        fprintf(stderr, "ovl2fsck: %s\n", r->c.refusal);
    code = apply_code(&plan, &r->c.sum);
    release_plan(&m, &plan);
    release(r);
    return finish_pipeline(&p, code);
}

int repair_main(const struct options *o, const struct catalog *cat, volatile sig_atomic_t *stop)
{
    struct run r;
    memset(&r, 0, sizeof r);
    r.c.o = o;
    r.c.rootfd = -1;
    r.lockfd = -1;
    r.journal.fd = -1;
    if (!o->apply) {
        int code = dry_run(&r, cat, stop);
        if (r.c.rootfd >= 0)
            close(r.c.rootfd);
        return code;
    }
    return apply(&r, cat, stop);
}
