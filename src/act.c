/* act.c — a run of --apply on one root, the apply loop, item results, the
 * exit code, and the output every plan shares (see act.h).
 *
 * A run: the root made canonical and opened; refused while the daemon is
 * live (checked before anything is written, even the lock file, and again
 * under the lock); the lock; the journal. The loop: between items, a
 * SIGINT/SIGTERM ends the run, a daemon that became live refuses the rest,
 * and so does a journal that can no longer be written. */
#include "act.h"
#include "exit_codes.h"
#include "grow.h"
#include "live.h"
#include "text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- small helpers ----------------------------------------------------- */

double act_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *act_time_text(double t, char *buf, size_t buflen)
{
    time_t sec = (time_t)t;
    struct tm tm;
    gmtime_r(&sec, &tm);
    int ms = (int)((t - (double)sec) * 1000.0);
    if (ms < 0 || ms > 999)
        ms = 0;
    snprintf(buf, buflen, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    return buf;
}

char *act_strdup(const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d) {
        fprintf(stderr, "ovl2fsck: out of memory\n");
        abort();
    }
    return d;
}

char *act_vprintf(const char *fmt, va_list ap)
{
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) {
        fprintf(stderr, "ovl2fsck: out of memory\n");
        abort();
    }
    return s;
}

char *act_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = act_vprintf(fmt, ap);
    va_end(ap);
    return s;
}

int act_fail(const char *msg, int code)
{
    fprintf(stderr, "ovl2fsck: %s\n", msg);
    return code;
}

void act_free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void act_note(char ***v, size_t *n, size_t *cap, const char *fmt, va_list ap)
{
    *v = grow_array_or_die(*v, cap, *n + 1, sizeof **v);
    (*v)[(*n)++] = act_vprintf(fmt, ap);
}

const char *act_result_name(enum act_result r)
{
    static const char *const names[] = { "planned", "done", "failed", "skipped", "not-reached" };
    return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "?";
}

/* ---- a run ------------------------------------------------------------- */

void act_run_init(struct act_run *r, const struct options *o, struct act_counts *counts)
{
    memset(r, 0, sizeof *r);
    r->o = o;
    r->counts = counts;
    r->rootfd = r->lockfd = r->trashfd = -1;
    r->journal.fd = -1;
}

/* The store's own probe when it has one, else dockerd's (live.c). */
static bool refuse_live(struct act_run *r)
{
    if (!r->live)
        return live_refuse_apply(r->root, r->o->pidfile);
    char why[512] = "";
    if (!r->live(r->root, r->o, why, sizeof why))
        return false;
    fprintf(stderr, "ovl2fsck: refusing to --apply while %s is live: %s. Stop %s first (a dry run without --apply "
            "is safe).\n", r->daemon, why, r->daemon);
    return true;
}

int act_run_open_root(struct act_run *r)
{
    char err[1024];
    if (!realpath(r->o->root, r->root)) {
        snprintf(err, sizeof err, "cannot use root %s: %s", r->o->root, strerror(errno));
        return act_fail(err, EXIT_OPERATIONAL);
    }
    r->rootfd = open(r->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat st;
    if (r->rootfd < 0 || fstat(r->rootfd, &st) < 0) {
        snprintf(err, sizeof err, "cannot open root %.900s: %s", r->root, strerror(errno));
        return act_fail(err, EXIT_OPERATIONAL);
    }
    r->rootdev = st.st_dev;
    /* refusals that need no lock come first: a refused run writes nothing,
     * not even the lock file; they are checked again under the lock */
    return refuse_live(r) ? EXIT_OPERATIONAL : 0;
}

int act_run_lock(struct act_run *r)
{
    char err[1024];
    r->lockfd = act_lock_take(r->rootfd, ACT_LOCK_NAME, r->root, err, sizeof err);
    if (r->lockfd < 0)
        return act_fail(err, EXIT_OPERATIONAL);
    if (refuse_live(r))
        return EXIT_OPERATIONAL;
    if (act_journal_open(&r->journal, r->o->journal, err, sizeof err) < 0) {
        fprintf(stderr, "ovl2fsck: %s (use --journal FILE)\n", err);
        return EXIT_OPERATIONAL;
    }
    act_raise_fd_limit();
    return 0;
}

int act_run_open(struct act_run *r)
{
    int code = act_run_open_root(r);
    return code ? code : act_run_lock(r);
}

void act_run_close(struct act_run *r)
{
    act_trash_close(r);
    act_journal_close(&r->journal);
    if (r->lockfd >= 0)
        act_lock_release(r->rootfd, ACT_LOCK_NAME, r->lockfd);
    if (r->rootfd >= 0)
        close(r->rootfd);
    r->lockfd = r->rootfd = -1;
}

bool act_run_begin(struct act_run *r, const char *check, const char *object, const char *path, int64_t bytes,
                   const char *action, const cJSON *extra)
{
    if (act_journal_write(&r->journal, check, object, path, bytes, action, "started", NULL, extra) < 0) {
        r->journal_broken = true;
        return false;
    }
    return true;
}

void act_run_end(struct act_run *r, const char *check, const char *object, const char *path, int64_t bytes,
                 const char *action, const char *error, const cJSON *extra)
{
    if (act_journal_end(&r->journal, check, object, path, bytes, action, error, extra) < 0)
        r->journal_broken = true;
}

/* ---- the apply loop ----------------------------------------------------- */

static void not_reached(const struct act_plan_ops *ops, size_t from, struct act_counts *c)
{
    for (size_t i = from; i < ops->count; i++) {
        ops->set_result(ops->plan, i, ACT_NOT_REACHED);
        c->not_reached++;
    }
}

static void set_refused(struct act_run *r)
{
    r->counts->refused = true;
    r->counts->refusal = r->refusal;
}

void act_apply_plan(struct act_run *r, const struct act_plan_ops *ops, volatile sig_atomic_t *stop)
{
    struct act_counts *c = r->counts;
    for (size_t i = 0; i < ops->count; i++) {
        if (stop && *stop) {
            c->interrupted = true;
            not_reached(ops, i, c);
            return;
        }
        struct liveness live;
        if (r->live) {
            memset(&live, 0, sizeof live);
            live.running = r->live(r->root, r->o, live.reason, sizeof live.reason);
        } else {
            live_detect(r->root, r->o->pidfile, &live);
        }
        if (live.running) {
            snprintf(r->refusal, sizeof r->refusal, "%s became live during the run (%s); stopped before "
                     "the next item", r->daemon ? r->daemon : "dockerd", live.reason);
            set_refused(r);
            not_reached(ops, i, c);
            return;
        }
        ops->apply(r, ops->plan, i);
        if (r->journal_broken) {
            snprintf(r->refusal, sizeof r->refusal, "the journal %s cannot be written: %s", r->o->journal,
                     strerror(errno));
            set_refused(r);
            not_reached(ops, i + 1, c);
            return;
        }
    }
    if (stop && *stop)
        c->interrupted = true;
}


/* ---- exit codes --------------------------------------------------------- */

int act_run_finish(struct act_run *r, size_t planned, bool left)
{
    if (r->counts->refused)
        fprintf(stderr, "ovl2fsck: %s\n", r->refusal);
    return act_apply_code(planned, r->counts, left);
}

int act_dry_run_code(bool something_to_do, bool check_failed)
{
    return (something_to_do ? EXIT_FOUND : EXIT_CLEAN) | (check_failed ? EXIT_OPERATIONAL : 0);
}

int act_apply_code(size_t planned, const struct act_counts *c, bool left)
{
    if (c->refused)
        return EXIT_OPERATIONAL;
    if (c->interrupted)
        return EXIT_INTERRUPTED;
    int code = EXIT_CLEAN;
    if (planned && c->done == planned)
        code |= EXIT_FIXED;
    if (c->failed || c->skipped || c->not_reached || left)
        code |= EXIT_FOUND;
    if (c->failed)
        code |= EXIT_OPERATIONAL;   /* could not act: not the same as leaving on purpose */
    return code;
}

/* ---- output ------------------------------------------------------------- */

void act_json_add_escaped(cJSON *o, const char *key, const char *s)
{
    if (!s) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    char *e = text_escape(s);
    cJSON_AddStringToObject(o, key, e ? e : "");
    free(e);
}

cJSON *act_json_begin(const char *mode, const char *root)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "version", 1);
    cJSON_AddStringToObject(o, "mode", mode);
    act_json_add_escaped(o, "root", root);
    return o;
}

cJSON *act_json_item_begin(const char *check, const char *severity, const char *object, const char *why,
                           int64_t bytes, cJSON **steps)
{
    cJSON *o = cJSON_CreateObject();
    act_json_add_escaped(o, "check", check);
    act_json_add_escaped(o, "severity", severity);
    act_json_add_escaped(o, "object", object);
    act_json_add_escaped(o, "why", why);
    cJSON_AddNumberToObject(o, "bytes", (double)bytes);
    *steps = cJSON_AddArrayToObject(o, "steps");
    return o;
}

void act_json_add_step(cJSON *steps, const char *action, const char *path)
{
    cJSON *so = cJSON_CreateObject();
    cJSON_AddStringToObject(so, "action", action);
    act_json_add_escaped(so, "path", path);
    cJSON_AddItemToArray(steps, so);
}

void act_json_item_end(cJSON *item, enum act_result result, const char *error, int64_t freed)
{
    cJSON_AddStringToObject(item, "result", act_result_name(result));
    act_json_add_escaped(item, "error", error);
    cJSON_AddNumberToObject(item, "freed", (double)freed);
}

cJSON *act_json_add_summary(cJSON *o, char *const *notes, size_t n, size_t items)
{
    cJSON *arr = cJSON_AddArrayToObject(o, "notes");
    for (size_t i = 0; i < n; i++) {
        char *e = text_escape(notes[i]);
        cJSON_AddItemToArray(arr, cJSON_CreateString(e ? e : ""));
        free(e);
    }
    cJSON *sum = cJSON_AddObjectToObject(o, "summary");
    cJSON_AddNumberToObject(sum, "items", (double)items);
    return sum;
}

void act_json_add_counts(cJSON *sum, const struct act_counts *c)
{
    cJSON_AddNumberToObject(sum, "done", (double)c->done);
    cJSON_AddNumberToObject(sum, "failed", (double)c->failed);
    cJSON_AddNumberToObject(sum, "skipped", (double)c->skipped);
    cJSON_AddNumberToObject(sum, "not_reached", (double)c->not_reached);
}

void act_json_add_outcome(cJSON *sum, const struct act_counts *c)
{
    cJSON_AddBoolToObject(sum, "interrupted", c->interrupted);
    if (c->refused)
        act_json_add_escaped(sum, "refused", c->refusal ? c->refusal : "refused");
    else
        cJSON_AddNullToObject(sum, "refused");
}

void act_json_print(FILE *out, cJSON *o)
{
    char *text = cJSON_Print(o);
    if (text)
        fprintf(out, "%s\n", text);
    free(text);
    cJSON_Delete(o);
}

void act_print_escaped(FILE *out, const char *s)
{
    char *e = text_escape(s ? s : "");
    fputs(e ? e : "?", out);
    free(e);
}

void act_print_header(FILE *out, const char *what, const char *root, bool apply, const char *apply_suffix)
{
    fprintf(out, apply ? "ovl2fsck %s of " : "ovl2fsck %s plan for ", what);
    act_print_escaped(out, root);
    fputs(apply ? apply_suffix : " (dry run)", out);
    fputs("\n\n", out);
}

void act_print_notes(FILE *out, char *const *notes, size_t n, bool anything_above)
{
    for (size_t i = 0; i < n; i++) {
        fputs("note: ", out);
        act_print_escaped(out, notes[i]);
        fputc('\n', out);
    }
    if (anything_above || n)
        fputc('\n', out);
}

void act_print_young(FILE *out, int64_t n, int64_t min_age)
{
    char dur[32];
    if (n)
        fprintf(out, "%lld finding%s younger than %s skipped (a pull or build may still be writing).\n",
                (long long)n, n == 1 ? "" : "s", text_duration(min_age, dur, sizeof dur));
}

void act_print_errors_left(FILE *out, int64_t n, const char *rest)
{
    if (n)
        fprintf(out, "%lld error%s %s\n", (long long)n, n == 1 ? " is" : "s are", rest);
}

void act_print_why(FILE *out, const char *why, const char *error)
{
    fputs("      why     ", out);
    act_print_escaped(out, why);
    fputc('\n', out);
    if (error) {
        fputs("      error   ", out);
        act_print_escaped(out, error);
        fputc('\n', out);
    }
}

void act_print_outcome(FILE *out, const struct act_counts *c, const char *interrupted_text)
{
    if (c->interrupted)
        fprintf(out, "Interrupted: %s\n", interrupted_text);
    if (c->refused)
        fprintf(out, "Stopped: %s\n", c->refusal ? c->refusal : "refused");
}
