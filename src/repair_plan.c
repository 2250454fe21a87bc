/* repair_plan.c — the plan: every difference between the store and the
 * target state the model resolved, as items of steps, in the order they
 * are applied:
 *
 *   phase 1  re-point l/<name> symlinks at the dir whose name they are
 *   phase 2  give dirs their names: l/<name> -> ../<dir>/diff first, then
 *            the link file (so a link file never names a missing symlink)
 *   phase 3  lower files: written from the layer chain (every entry they
 *            name exists by now); a base layer's stray lower removed
 *   phase 4  work/ dirs (0700, the dir's owner) where dockerd needs them
 *   phase 5  extra l/ symlinks to a dir that has its own name, once no
 *            lower file names them
 *
 * Each step records what it expects to find (the exact bytes of the file,
 * the symlink's target, the dir's inode) so that repair_apply.c can refuse
 * when anything changed since the scan. Findings that no item fixes are
 * counted (errors_left) and explained in notes, with what the operator can
 * do when content is lost. */
#include "repair.h"
#include "grow.h"
#include "fsutil.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct planner {
    struct repair_plan *p;
    struct repair_model *m;
    int rootfd;
    int64_t cutoff;
    char **final_names;      /* every name a lower file will hold after the plan */
    size_t final_count, final_cap;
};

const char *repair_action_name(enum repair_action a)
{
    static const char *const names[] = { "make-symlink", "retarget-symlink", "write-link", "write-lower",
                                         "remove-lower", "make-work", "remove-symlink" };
    return (unsigned)a < sizeof names / sizeof names[0] ? names[a] : "?";
}

void repair_plan_note(struct repair_plan *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    act_note(&p->notes, &p->note_count, &p->note_cap, fmt, ap);
    va_end(ap);
}

static void free_step(struct repair_step *s)
{
    free(s->path);
    free(s->dir);
    free(s->content);
    free(s->before);
    for (size_t i = 0; i < s->expect_count; i++)
        free(s->expect_dirs[i]);
    free(s->expect_dirs);
}

void repair_plan_free(struct repair_plan *p)
{
    for (size_t i = 0; i < p->count; i++) {
        struct repair_item *it = &p->items[i];
        for (size_t k = 0; k < it->step_count; k++)
            free_step(&it->steps[k]);
        char *owned[] = { (char *)it->steps, it->check, it->object, it->why, it->error };
        for (size_t k = 0; k < sizeof owned / sizeof owned[0]; k++)
            free(owned[k]);
    }
    free(p->items);
    act_free_strings(p->notes, p->note_count);
    memset(p, 0, sizeof *p);
}

/* ---- findings --------------------------------------------------------- */

static struct repair_finding *finding_on(struct repair_model *m, const char *check, const char *object)
{
    for (size_t i = 0; i < m->finding_count; i++) {
        struct repair_finding *f = &m->findings[i];
        if (strcmp(f->check, check) == 0 && strcmp(f->object, object) == 0)
            return f;
    }
    return NULL;
}

/* ---- building items --------------------------------------------------- */

static struct repair_item *new_item(struct planner *pl, const char *check, const char *object, int phase,
                                    char *why)
{
    struct repair_plan *p = pl->p;
    p->items = grow_array_or_die(p->items, &p->cap, p->count + 1, sizeof *p->items);
    struct repair_item *it = &p->items[p->count++];
    memset(it, 0, sizeof *it);
    it->check = act_strdup(check);
    it->object = act_strdup(object);
    it->phase = phase;
    it->why = why;
    return it;
}

static struct repair_step *new_step(struct repair_item *it, enum repair_action a, char *path, const char *dir)
{
    it->steps = grow_array_or_die(it->steps, &it->step_cap, it->step_count + 1, sizeof *it->steps);
    it->steps[it->step_count] = (struct repair_step){ .action = a, .path = path, .dir = act_strdup(dir) };
    return &it->steps[it->step_count++];
}

/* Record overlay2/<dir>'s inode (the step is refused if it changes). */
static void record_dir(struct planner *pl, struct repair_step *s)
{
    char rel[300];
    struct stat st;
    snprintf(rel, sizeof rel, "overlay2/%s", s->dir);
    if (act_lstat(pl->rootfd, rel, &st)) {
        s->dev = st.st_dev;
        s->ino = st.st_ino;
    }
}

/* Record the exact bytes of the file the step replaces. */
static void record_file(struct planner *pl, struct repair_step *s)
{
    const char *base;
    int fd = act_open_parent(pl->rootfd, s->path, &base);
    if (fd < 0)
        return;
    s->had_before = act_read_raw(fd, base, CAP_ID_FILE, &s->before, &s->before_len) == 1;
    close(fd);
}

/* Record the existing l/ entry (inode and target). */
static void record_entry(struct planner *pl, struct repair_step *s)
{
    const char *base;
    int fd = act_open_parent(pl->rootfd, s->path, &base);
    if (fd < 0)
        return;
    struct stat st;
    char target[4096];
    if (fs_lstat(fd, base, &st)) {
        s->edev = st.st_dev;
        s->eino = st.st_ino;
        long n = fs_readlink(fd, base, target, sizeof target);
        if (n >= 0) {
            s->before = act_strdup(target);
            s->before_len = (size_t)n;
            s->had_before = true;
        }
    }
    close(fd);
}

static bool young(const struct planner *pl, int64_t mtime)
{
    return mtime > pl->cutoff;
}

/* ---- phase 1 and 5: l/ symlinks --------------------------------------- */

static void plan_retarget(struct planner *pl, const struct repair_link *l, long owner)
{
    struct repair_model *m = pl->m;
    const struct repair_dir *d = &m->dirs[owner];
    const char *check = finding_on(m, "overlay-link-broken", l->name) ? "overlay-link-broken" : "overlay-link-mismatch";
    char *why = act_printf("l/%s points to %s; the link file of overlay2/%s names %s", l->name,
                            l->target ? l->target : "?", d->name, l->name);
    struct repair_item *it = new_item(pl, check, l->name, 1, why);
    struct repair_step *s = new_step(it, RA_RETARGET_SYMLINK, act_printf("overlay2/l/%s", l->name), d->name);
    s->content = act_printf("../%s/diff", d->name);
    record_dir(pl, s);
    record_entry(pl, s);
}

static bool final_has(const struct planner *pl, const char *name)
{
    for (size_t i = 0; i < pl->final_count; i++)
        if (strcmp(pl->final_names[i], name) == 0)
            return true;
    return false;
}

static void plan_remove_extra(struct planner *pl, const struct repair_link *l)
{
    struct repair_model *m = pl->m;
    const struct repair_dir *d = &m->dirs[l->dir];
    if (final_has(pl, l->name)) {
        repair_plan_note(pl->p, "l/%s is an extra link to overlay2/%s (named %s) but lower files still name it: kept",
                         l->name, d->name, d->target);
        return;
    }
    char *why = act_printf("l/%s points to overlay2/%s, whose name is %s (l/%s); no lower file names %s", l->name,
                            d->name, d->target, d->target, l->name);
    struct repair_item *it = new_item(pl, "overlay-link-mismatch", l->name, 5, why);
    struct repair_step *s = new_step(it, RA_REMOVE_SYMLINK, act_printf("overlay2/l/%s", l->name), d->name);
    s->content = act_printf("../%s/diff", d->target);   /* what must still point at the dir */
    record_dir(pl, s);
    record_entry(pl, s);
}

static void plan_links(struct planner *pl)
{
    struct repair_model *m = pl->m;
    for (size_t i = 0; i < m->link_count; i++) {
        const struct repair_link *l = &m->links[i];
        if (strcmp(l->type, "symlink") != 0 || young(pl, l->mtime))
            continue;
        long owner = repair_model_name_owner(m, l->name);
        if (owner >= 0 && l->dir != owner && !young(pl, m->dirs[owner].mtime))
            plan_retarget(pl, l, owner);
        else if (owner < 0 && l->dir >= 0 && m->dirs[l->dir].target[0] && m->dirs[l->dir].has_diff)
            plan_remove_extra(pl, l);
    }
}

/* ---- phase 2: names --------------------------------------------------- */

static const char *name_check(struct repair_model *m, const struct repair_dir *d, char **detail)
{
    static const char *const checks[] = { "overlay-link-invalid", "overlay-link-missing" };
    for (size_t i = 0; i < 2; i++) {
        struct repair_finding *f = finding_on(m, checks[i], d->name);
        if (f) {
            *detail = f->detail;
            return checks[i];
        }
    }
    *detail = NULL;
    return "overlay-link-missing";
}

static void plan_name(struct planner *pl, long di)
{
    struct repair_model *m = pl->m;
    const struct repair_dir *d = &m->dirs[di];
    long l = repair_model_find_link(m, d->target);
    bool need_link = l < 0;
    bool need_file = !d->link || strcmp(d->link, d->target) != 0;
    if (!need_link && !need_file)
        return;
    char *detail;
    const char *check = name_check(m, d, &detail);
    char *why;
    if (d->source == SRC_LINK_FILE || d->source == SRC_CONSISTENT)
        why = act_printf("%s; the link file names %s: recreate l/%s", detail ? detail : "l/ symlink missing",
                          d->target, d->target);
    else
        why = act_printf("%s; %s", detail ? detail : "link file lost", d->source_why ? d->source_why : "");
    struct repair_item *it = new_item(pl, check, d->name, 2, why);
    if (need_link) {
        struct repair_step *s = new_step(it, RA_MAKE_SYMLINK, act_printf("overlay2/l/%s", d->target), d->name);
        s->content = act_printf("../%s/diff", d->name);
        record_dir(pl, s);
    }
    if (need_file) {
        struct repair_step *s = new_step(it, RA_WRITE_LINK, act_printf("overlay2/%s/link", d->name), d->name);
        s->content = act_strdup(d->target);
        record_dir(pl, s);
        record_file(pl, s);
    }
}

/* ---- phase 3: lower files --------------------------------------------- */

static void add_final(struct planner *pl, const char *name)
{
    if (pl->final_count == pl->final_cap) {
        size_t ncap = pl->final_cap ? pl->final_cap * 2 : 256;
        char **nv = realloc(pl->final_names, ncap * sizeof *nv);
        if (!nv)
            abort();
        pl->final_names = nv;
        pl->final_cap = ncap;
    }
    pl->final_names[pl->final_count++] = act_strdup(name);
}

/* Remember every name of a lower string. */
static void add_final_lower(struct planner *pl, const char *lower)
{
    const char *p = lower;
    while (p && *p) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 2 + LINK_NAME_LEN && p[0] == 'l' && p[1] == '/') {
            char name[LINK_NAME_LEN + 1];
            memcpy(name, p + 2, LINK_NAME_LEN);
            name[LINK_NAME_LEN] = '\0';
            add_final(pl, name);
        }
        p = end ? end + 1 : NULL;
    }
}

static char *lower_why(struct repair_model *m, const struct repair_dir *d)
{
    struct repair_finding *f = finding_on(m, "overlay-lower-invalid", d->name);
    if (f)
        return act_printf("%s; regenerated from the layer chain", f->detail ? f->detail : "invalid");
    return act_printf("names an old name of a parent being renamed; regenerated from the layer chain");
}

static void plan_lower(struct planner *pl, long di)
{
    struct repair_model *m = pl->m;
    struct repair_dir *d = &m->dirs[di];
    bool missing = strcmp(d->lower_state, "missing") == 0;
    if (!d->expected_lower) {
        if (missing)
            return;
        struct repair_item *it = new_item(pl, "overlay-lower-invalid", d->name, 3,
                                          act_printf("a base layer (no parent in layerdb, chainID verified) has a lower file"));
        struct repair_step *s = new_step(it, RA_REMOVE_LOWER, act_printf("overlay2/%s/lower", d->name), d->name);
        record_dir(pl, s);
        record_file(pl, s);
        return;
    }
    if (strcmp(d->lower_state, "ok") == 0 && d->lower && strcmp(d->lower, d->expected_lower) == 0) {
        add_final_lower(pl, d->lower);
        return;
    }
    struct repair_item *it = new_item(pl, "overlay-lower-invalid", d->name, 3, lower_why(m, d));
    struct repair_step *s = new_step(it, RA_WRITE_LOWER, act_printf("overlay2/%s/lower", d->name), d->name);
    s->content = act_strdup(d->expected_lower);
    long anc[REPAIR_MAX_LOWER];
    size_t n = repair_model_ancestors(m, di, anc, REPAIR_MAX_LOWER);
    s->expect_dirs = malloc((n + 1) * sizeof *s->expect_dirs);
    if (!s->expect_dirs)
        abort();
    for (size_t k = 0; k < n; k++)
        s->expect_dirs[k] = act_strdup(m->dirs[anc[k]].name);
    s->expect_count = n;
    record_dir(pl, s);
    record_file(pl, s);
    add_final_lower(pl, d->expected_lower);
}

/* A lower this plan does not rewrite keeps its names. */
static void keep_lower_names(struct planner *pl, const struct repair_dir *d)
{
    if (d->lower && strcmp(d->lower_state, "missing") != 0)
        add_final_lower(pl, d->lower);
}

static void plan_dirs(struct planner *pl)
{
    struct repair_model *m = pl->m;
    for (size_t i = 0; i < m->dir_count; i++) {
        struct repair_dir *d = &m->dirs[i];
        bool eligible = d->referenced && d->has_diff && !young(pl, d->mtime);
        if (eligible && d->target[0] && d->source != SRC_CONSISTENT)
            plan_name(pl, (long)i);
        if (eligible && d->lower_done == 2)
            plan_lower(pl, (long)i);
        else
            keep_lower_names(pl, d);
    }
}

/* ---- phase 4: work dirs ----------------------------------------------- */

/* Will the dir have a lower file once the plan is done? */
static bool will_have_lower(const struct repair_dir *d)
{
    if (d->lower_done == 2)
        return d->expected_lower != NULL;
    return strcmp(d->lower_state, "missing") != 0;
}

/* dockerd mounts a dir with a lower file as an overlay whose work dir is work/. */
static void plan_work(struct planner *pl)
{
    struct repair_model *m = pl->m;
    for (size_t i = 0; i < m->dir_count; i++) {
        const struct repair_dir *d = &m->dirs[i];
        if (!d->referenced || !d->has_diff || d->has_work || young(pl, d->mtime) || !will_have_lower(d))
            continue;
        struct repair_finding *f = finding_on(m, "overlay-work-missing", d->name);
        char *why = act_printf("%s; dockerd mounts the dir with work/ as the overlay work dir",
                                f && f->detail ? f->detail : "work/ is missing and the dir gets a lower file");
        struct repair_item *it = new_item(pl, "overlay-work-missing", d->name, 4, why);
        struct repair_step *s = new_step(it, RA_MAKE_WORK, act_printf("overlay2/%s/work", d->name), d->name);
        record_dir(pl, s);
    }
}

/* ---- coverage, notes -------------------------------------------------- */

static bool has_item(const struct repair_plan *p, const char *check, const char *object)
{
    for (size_t i = 0; i < p->count; i++)
        if (strcmp(p->items[i].check, check) == 0 && strcmp(p->items[i].object, object) == 0)
            return true;
    return false;
}

/* Does the plan leave the finding fixed? */
static bool covered(const struct planner *pl, const struct repair_finding *f)
{
    const struct repair_model *m = pl->m;
    long di = repair_model_find_dir(m, f->object);
    const struct repair_dir *d = di >= 0 ? &m->dirs[di] : NULL;
    if (strcmp(f->check, "overlay-link-missing") == 0 || strcmp(f->check, "overlay-link-invalid") == 0)
        return d && d->target[0] && !young(pl, d->mtime);
    if (strcmp(f->check, "overlay-lower-invalid") == 0)
        return d && d->lower_done == 2 && d->has_diff && !young(pl, d->mtime);
    return has_item(pl->p, f->check, f->object);
}

static const char *advice(const char *check)
{
    if (strcmp(check, "image-layer-missing") == 0)
        return "the image's content is lost: remove it with `ovl2fsck --reap --apply --include image-layer-missing`, "
               "then pull or build it again";
    if (strcmp(check, "layer-cache-id-dangling") == 0)
        return "the layer's content is lost: remove it with `ovl2fsck --reap --apply --include "
               "layer-cache-id-dangling,image-layer-missing`, then pull or build the images again";
    if (strcmp(check, "overlay-diff-missing") == 0)
        return "not repairable: the layer's content is lost (no diff/): remove the images that use it (docker "
               "rmi, or `ovl2fsck --reap --apply --include image-layer-missing` once their layer is gone), then "
               "pull or build them again";
    return NULL;
}

/* Why an overlay finding is left, for the note. */
static const char *left_reason(const struct planner *pl, const struct repair_finding *f)
{
    const char *a = advice(f->check);
    if (a)
        return a;
    long di = repair_model_find_dir(pl->m, f->object);
    const struct repair_dir *d = di >= 0 ? &pl->m->dirs[di] : NULL;
    if (d && !d->has_diff)
        return "its content is lost (no diff/): remove the images that use it and pull or build them again";
    if (d && strcmp(f->check, "overlay-lower-invalid") == 0 && d->lower_done == 3 && d->lower_why)
        return d->lower_why;
    if (d && !d->referenced)
        return "nothing references the dir (garbage: see --reap)";
    return "the store does not say what it should be (see --report)";
}

/* One note per uncovered overlay finding; one per other check. */
static void note_left(struct planner *pl, const struct repair_finding *f, const char **noted, size_t *noted_n)
{
    if (strncmp(f->check, "overlay-", 8) == 0) {
        repair_plan_note(pl->p, "%s %s: not repaired: %s", f->check, f->object, left_reason(pl, f));
        return;
    }
    for (size_t k = 0; k < *noted_n; k++)
        if (strcmp(noted[k], f->check) == 0)
            return;
    if (*noted_n < 64)
        noted[(*noted_n)++] = f->check;
    const char *a = advice(f->check);
    repair_plan_note(pl->p, "%s (e.g. %s): not repairable: %s", f->check, f->object,
                     a ? a : "not something --repair fixes (see --report)");
}

static void count_left(struct planner *pl)
{
    struct repair_model *m = pl->m;
    struct repair_plan *p = pl->p;
    const char *noted[64];
    size_t noted_n = 0;
    for (size_t i = 0; i < m->finding_count; i++) {
        struct repair_finding *f = &m->findings[i];
        if (f->young) {
            p->young_skipped++;
            continue;
        }
        f->covered = covered(pl, f);
        if (f->covered || strcmp(f->severity, "error") != 0)
            continue;
        p->errors_left++;
        note_left(pl, f, noted, &noted_n);
    }
}

static int cmp_item(const void *a, const void *b)
{
    const struct repair_item *x = a, *y = b;
    if (x->phase != y->phase)
        return x->phase < y->phase ? -1 : 1;
    return strcmp(x->object, y->object);
}

int repair_plan_make(struct repair_plan *p, struct repair_model *m, int rootfd, int64_t cutoff, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    memset(p, 0, sizeof *p);
    struct planner pl = { .p = p, .m = m, .rootfd = rootfd, .cutoff = cutoff };
    plan_dirs(&pl);
    plan_work(&pl);
    plan_links(&pl);
    count_left(&pl);
    if (p->count)
        qsort(p->items, p->count, sizeof *p->items, cmp_item);
    for (size_t i = 0; i < pl.final_count; i++)
        free(pl.final_names[i]);
    free(pl.final_names);
    return 0;
}
