/* repair.c — `--repair` (dry run) and `--repair --apply`.
 *
 * Owns: the order of a repair run and its exit code. A dry run scans,
 * resolves the target state (repair_model.c), plans (repair_plan.c) and
 * prints each repair: what it will write where and why; it takes no lock
 * and writes nothing anywhere. --apply, through the apply engine (act.h):
 *
 *   1. refuse when dockerd looks live (pidfile, process, overlay mounts)
 *   2. lock the root (<root>/.ovl2fsck.lock, the engine's lock: a reaper
 *      and a repair never run on one root at once); refuse again if live
 *   3. open the journal (--journal FILE)
 *   4. remove temp symlinks an interrupted run left in overlay2/l
 *   5. scan afresh, resolve and plan
 *   6. per item: dockerd still not live, re-verify, then each step
 *      journaled before and after (repair_apply.c)
 *   7. SIGINT/SIGTERM are honoured between items (exit 32)
 *
 * Exit (fsck bits, the engine's: act_apply_code): dry run 4 when there is
 * something to do or an error is left, else 0. --apply: 1 when every
 * planned item was done, 4 when anything remains (a failed or skipped
 * item, an error no repair fixes), both when both; 8 refused, operational
 * error or an item that could not be acted on; 32 interrupted. */
#include "repair.h"
#include "exit_codes.h"
#include "pipeline.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct run {
    const struct options *o;
    struct act_run run;          /* root, lock, journal: the apply engine's */
    struct repair_summary sum;
};

/* Scan, model, resolve, plan. Returns 0 or an exit code (message printed). */
static int plan_fresh(struct run *r, struct pipeline *p, struct repair_model *m, struct repair_plan *plan,
                      const struct catalog *cat, volatile sig_atomic_t *stop)
{
    char err[1024] = "";
    memset(m, 0, sizeof *m);
    memset(plan, 0, sizeof *plan);
    int code = pipeline_run(p, r->o, cat, stop, err, sizeof err);
    if (code) {
        pipeline_close(p);
        return act_fail(code == EXIT_INTERRUPTED ? "interrupted" : err, code);
    }
    snprintf(r->run.root, sizeof r->run.root, "%s", p->root);
    if (r->run.rootfd < 0)
        r->run.rootfd = open(r->run.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int64_t cutoff = (int64_t)time(NULL) - r->o->min_age;
    if (r->run.rootfd < 0 || repair_model_load(m, &p->db, err, sizeof err) < 0 ||
        repair_model_resolve(m, err, sizeof err) < 0 ||
        repair_plan_make(plan, m, r->run.rootfd, cutoff, err, sizeof err) < 0) {
        if (!err[0])
            snprintf(err, sizeof err, "cannot open root %.900s: %s", r->run.root, strerror(errno));
        pipeline_close(p);
        return act_fail(err, EXIT_OPERATIONAL);
    }
    return 0;
}


static void release_plan(struct repair_model *m, struct repair_plan *plan)
{
    repair_plan_free(plan);
    repair_model_free(m);
}

static int dry_run(struct run *r, const struct catalog *cat, volatile sig_atomic_t *stop)
{
    struct pipeline p;
    struct repair_model m;
    struct repair_plan plan;
    int code = plan_fresh(r, &p, &m, &plan, cat, stop);
    if (code) {
        release_plan(&m, &plan);
        return code;
    }
    repair_print(stdout, r->run.root, &plan, &r->sum, r->o);
    fflush(stdout);
    code = act_dry_run_code(plan.count || plan.errors_left, p.result.checks && p.result.checks->failure_count);
    release_plan(&m, &plan);
    return pipeline_end(&p, code);
}

/* Steps 1-4. Returns 0 or an exit code (message printed). */
static int prepare_apply(struct run *r)
{
    int code = act_run_open(&r->run);
    if (code)
        return code;
    repair_finish_temps(&r->run, &r->sum);
    if (r->run.journal_broken)
        return act_fail("the journal cannot be written", EXIT_OPERATIONAL);
    return 0;
}

static int apply(struct run *r, const struct catalog *cat, volatile sig_atomic_t *stop)
{
    int code = prepare_apply(r);
    if (code) {
        act_run_close(&r->run);
        return code;
    }
    struct pipeline p;
    struct repair_model m;
    struct repair_plan plan;
    code = plan_fresh(r, &p, &m, &plan, cat, stop);
    if (code) {
        release_plan(&m, &plan);
        act_run_close(&r->run);
        return code;
    }
    r->sum.counts.apply = true;
    repair_apply_plan(&r->run, &plan, stop);
    repair_print(stdout, r->run.root, &plan, &r->sum, r->o);
    fflush(stdout);
    code = act_run_finish(&r->run, plan.count, plan.errors_left);
    release_plan(&m, &plan);
    act_run_close(&r->run);
    return pipeline_end(&p, code);
}

int repair_main(const struct options *o, const struct catalog *cat, volatile sig_atomic_t *stop)
{
    struct run r;
    memset(&r, 0, sizeof r);
    r.o = o;
    act_run_init(&r.run, o, &r.sum.counts);
    if (!o->apply) {
        int code = dry_run(&r, cat, stop);
        if (r.run.rootfd >= 0)
            close(r.run.rootfd);
        return code;
    }
    return apply(&r, cat, stop);
}
