/* repair_apply.c — carrying a repair plan out.
 *
 * Owns: the re-verification right before each item (dockerd still not
 * live; overlay2/<dir> still the inode the plan saw and not mounted; the
 * file or symlink still exactly what the plan saw, so the finding still
 * holds; every name a new link or lower file gives resolves to the right
 * dir now), and the writes, each journaled before and after (act_journal.c):
 *
 *   files     a temp file ".<name>.ovl2fsck-tmp" in the same dir, written,
 *             fsync'd, given the old file's mode and owner (else 0644),
 *             renamed over the file, the dir fsync'd
 *   symlinks  symlinkat to overlay2/l/.ovl2fsck-tmp-<name>, then renamed
 *             onto the name (RENAME_NOREPLACE when the name must be new)
 *   work/     mkdirat 0700, owned like the dir (as dockerd makes it)
 *   removals  unlinkat of one file or symlink
 *
 * Paths are opened component by component without following symlinks and
 * without leaving the root's file system (act_open_parent). */
#include "repair.h"
#include "fsutil.h"
#include "grow.h"
#include "live.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- what is there now ------------------------------------------------- */

/* Does overlay2/l/<name> point at ../<dir>/diff now? */
static bool link_resolves(int rootfd, const char *name, const char *dir)
{
    char rel[128], target[4096], want[300];
    snprintf(rel, sizeof rel, "overlay2/l/%.80s", name);
    const char *base;
    int fd = act_open_parent(rootfd, rel, &base);
    if (fd < 0)
        return false;
    long n = fs_readlink(fd, base, target, sizeof target);
    close(fd);
    snprintf(want, sizeof want, "../%s/diff", dir);
    return n > 0 && strcmp(target, want) == 0;
}

/* Is the file at the step's path still exactly what the plan saw? */
static bool file_unchanged(int rootfd, const struct repair_step *s)
{
    const char *base;
    int fd = act_open_parent(rootfd, s->path, &base);
    if (fd < 0)
        return false;
    char *data;
    size_t len;
    int rc = act_read_raw(fd, base, CAP_ID_FILE, &data, &len);
    close(fd);
    bool same = rc == 1 ? s->had_before && len == s->before_len && memcmp(data, s->before, len) == 0
                        : rc == 0 && !s->had_before;
    free(data);
    return same;
}

/* Is the l/ entry still the symlink (same inode, same target) the plan saw? */
static bool entry_unchanged(int rootfd, const struct repair_step *s)
{
    const char *base;
    int fd = act_open_parent(rootfd, s->path, &base);
    if (fd < 0)
        return false;
    struct stat st;
    char target[4096];
    bool same = fs_lstat(fd, base, &st) && S_ISLNK(st.st_mode) && st.st_dev == s->edev && st.st_ino == s->eino &&
                fs_readlink(fd, base, target, sizeof target) >= 0 && s->had_before && strcmp(target, s->before) == 0;
    close(fd);
    return same;
}

struct lower_scan {
    int dirfd;
    const char *name;
    bool found;
};

/* Does the lower file of overlay2/<entry> name l/<name>? */
static int lower_names(void *ctx, const char *entry, unsigned char d_type)
{
    (void)d_type;
    struct lower_scan *ls = ctx;
    if (strcmp(entry, "l") == 0 || !id_is_overlay_dir(entry, strlen(entry)))
        return 0;
    int fd = fs_open_dir(ls->dirfd, entry);
    if (fd < 0)
        return 0;
    char *data;
    size_t len;
    if (act_read_raw(fd, "lower", CAP_ID_FILE, &data, &len) == 1) {
        char want[LINK_NAME_LEN + 4];
        snprintf(want, sizeof want, "l/%s", ls->name);
        for (const char *p = data; p && *p && !ls->found;) {
            const char *end = strchr(p, ':');
            size_t n = end ? (size_t)(end - p) : strlen(p);
            while (n && (p[n - 1] == '\n' || p[n - 1] == ' '))
                n--;
            ls->found = n == strlen(want) && memcmp(p, want, n) == 0;
            p = end ? end + 1 : NULL;
        }
    }
    free(data);
    close(fd);
    return ls->found ? 1 : 0;
}

/* A fresh look at every lower file in overlay2/ (true also when unsure). */
static bool any_lower_names(int rootfd, const char *name)
{
    int fd = fs_open_dir(rootfd, "overlay2");
    if (fd < 0)
        return true;
    struct lower_scan ls = { fd, name, false };
    int rc = fs_list_dir(fd, lower_names, &ls);
    close(fd);
    return ls.found || rc < 0;
}

/* ---- verification ----------------------------------------------------- */

static bool verify_dir(struct act_run *c, const struct repair_step *s, char *why, size_t whylen)
{
    char rel[300];
    struct stat st;
    snprintf(rel, sizeof rel, "overlay2/%s", s->dir);
    if (!act_lstat(c->rootfd, rel, &st) || !S_ISDIR(st.st_mode)) {
        snprintf(why, whylen, "%s vanished since the scan", rel);
        return false;
    }
    if (st.st_dev != s->dev || st.st_ino != s->ino) {
        snprintf(why, whylen, "%s was replaced since the scan", rel);
        return false;
    }
    if (live_dir_is_mounted(c->root, s->dir)) {
        snprintf(why, whylen, "%s is mounted", rel);
        return false;
    }
    return true;
}

static bool path_absent(int rootfd, const char *path)
{
    struct stat st;
    return !act_lstat(rootfd, path, &st) && errno == ENOENT;
}

static bool verify_lower_targets(struct act_run *c, const struct repair_step *s, char *why, size_t whylen)
{
    const char *p = s->content;
    for (size_t k = 0; p && *p; k++) {
        char name[LINK_NAME_LEN + 1];
        snprintf(name, sizeof name, "%.26s", p + 2);
        if (k >= s->expect_count || !link_resolves(c->rootfd, name, s->expect_dirs[k])) {
            snprintf(why, whylen, "l/%s does not point at overlay2/%s now", name,
                     k < s->expect_count ? s->expect_dirs[k] : "?");
            return false;
        }
        p = strchr(p, ':');
        p = p ? p + 1 : NULL;
    }
    return true;
}

static bool verify_step(struct act_run *c, const struct repair_step *s, char *why, size_t whylen)
{
    if (!verify_dir(c, s, why, whylen))
        return false;
    switch (s->action) {
    case RA_MAKE_SYMLINK:
        if (!path_absent(c->rootfd, s->path)) {
            snprintf(why, whylen, "%s exists now", s->path);
            return false;
        }
        return true;
    case RA_RETARGET_SYMLINK:
    case RA_REMOVE_SYMLINK:
        if (!entry_unchanged(c->rootfd, s)) {
            snprintf(why, whylen, "%s changed since the scan", s->path);
            return false;
        }
        return true;
    case RA_WRITE_LINK:
    case RA_WRITE_LOWER:
    case RA_REMOVE_LOWER:
        if (!file_unchanged(c->rootfd, s)) {
            snprintf(why, whylen, "%s changed since the scan", s->path);
            return false;
        }
        return true;
    case RA_MAKE_WORK:
        if (!path_absent(c->rootfd, s->path)) {
            snprintf(why, whylen, "%s exists now", s->path);
            return false;
        }
        return true;
    }
    return false;
}

/* Checks that need the earlier steps done: run just before the step. */
static bool verify_ready(struct act_run *c, const struct repair_step *s, char *why, size_t whylen)
{
    if (s->action == RA_WRITE_LINK && !link_resolves(c->rootfd, s->content, s->dir)) {
        snprintf(why, whylen, "l/%s does not point at overlay2/%s", s->content, s->dir);
        return false;
    }
    if (s->action == RA_WRITE_LOWER)
        return verify_lower_targets(c, s, why, whylen);
    if (s->action == RA_REMOVE_SYMLINK) {
        const char *name = strrchr(s->path, '/') + 1;
        char target_name[LINK_NAME_LEN + 1];
        /* content is ../<its own name>/diff: the dir keeps a working link */
        snprintf(target_name, sizeof target_name, "%.26s", s->content + 3);
        if (!link_resolves(c->rootfd, target_name, s->dir)) {
            snprintf(why, whylen, "overlay2/%s has no working l/%s", s->dir, target_name);
            return false;
        }
        if (any_lower_names(c->rootfd, name)) {
            snprintf(why, whylen, "a lower file names l/%s", name);
            return false;
        }
    }
    return true;
}

/* ---- steps ------------------------------------------------------------ */

/* l/<name> -> target, through the temp name .ovl2fsck-tmp-<name> in l/. */
static int symlink_step(int dirfd, const char *name, const char *target, bool replace, char *err, size_t errlen)
{
    char tmp[NAME_MAX + 1];
    snprintf(tmp, sizeof tmp, REPAIR_TMP_PREFIX "%.200s", name);
    return act_symlink_atomic(dirfd, name, tmp, target, replace, err, errlen);
}

static int do_step(struct act_run *c, const struct repair_step *s, char *err, size_t errlen)
{
    const char *base;
    int fd = act_open_parent(c->rootfd, s->path, &base);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open the dir of %s: %s", s->path, strerror(errno));
        return -1;
    }
    int rc = -1;
    struct stat st;
    switch (s->action) {
    case RA_MAKE_SYMLINK:
        rc = symlink_step(fd, base, s->content, false, err, errlen);
        break;
    case RA_RETARGET_SYMLINK:
        rc = symlink_step(fd, base, s->content, true, err, errlen);
        break;
    case RA_WRITE_LINK:
    case RA_WRITE_LOWER:
        {
        char tmp[NAME_MAX + 1];
        snprintf(tmp, sizeof tmp, ".%.200s.ovl2fsck-tmp", base);
        rc = act_write_atomic(fd, base, tmp, s->content, strlen(s->content), 0644, err, errlen);
        break;
    }
        break;
    case RA_REMOVE_LOWER:
    case RA_REMOVE_SYMLINK:
        rc = unlinkat(fd, base, 0);
        if (rc < 0)
            snprintf(err, errlen, "cannot remove %s: %s", s->path, strerror(errno));
        act_fsync_dir(fd);
        break;
    case RA_MAKE_WORK:
        rc = mkdirat(fd, base, 0700);
        if (rc == 0 && (fstat(fd, &st) < 0 || fchownat(fd, base, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
                        fchmodat(fd, base, 0700, 0) < 0))
            rc = -1;
        if (rc < 0)
            snprintf(err, errlen, "cannot make %s: %s", s->path, strerror(errno));
        act_fsync_dir(fd);
        break;
    }
    close(fd);
    return rc;
}

static cJSON *step_extra(const struct repair_step *s)
{
    cJSON *x = cJSON_CreateObject();
    if (s->content && s->action != RA_REMOVE_SYMLINK)
        cJSON_AddStringToObject(x, s->action == RA_MAKE_SYMLINK || s->action == RA_RETARGET_SYMLINK ? "target" : "content",
                                s->content);
    if (s->had_before && s->before && !memchr(s->before, '\0', s->before_len))
        cJSON_AddStringToObject(x, "before", s->before);
    return x;
}

static int run_step(struct act_run *c, const struct repair_item *it, struct repair_step *s, char *err,
                    size_t errlen)
{
    char why[600];
    if (!verify_ready(c, s, why, sizeof why)) {
        snprintf(err, errlen, "%s", why);
        return -1;
    }
    cJSON *extra = step_extra(s);
    const char *action = repair_action_name(s->action);
    if (act_journal_write(&c->journal, it->check, it->object, s->path, 0, action, "started", NULL, extra) < 0) {
        c->journal_broken = true;
        snprintf(err, errlen, "cannot write the journal");
        cJSON_Delete(extra);
        return -1;
    }
    int rc = do_step(c, s, err, errlen);
    if (act_journal_end(&c->journal, it->check, it->object, s->path, 0, action, rc < 0 ? err : NULL, extra) < 0)
        c->journal_broken = true;
    cJSON_Delete(extra);
    return rc;
}

/* ---- items ------------------------------------------------------------ */

static void skip_item(struct act_run *c, struct repair_item *it, const char *why)
{
    it->result = ACT_SKIPPED;
    it->error = act_strdup(why);
    if (act_journal_write(&c->journal, it->check, it->object, it->step_count ? it->steps[0].path : NULL, 0, "verify",
                      "skipped", why, NULL) < 0)
        c->journal_broken = true;
    c->counts->skipped++;
}

static void apply_item(struct act_run *c, struct repair_item *it)
{
    char why[600];
    for (size_t i = 0; i < it->step_count; i++) {
        if (!verify_step(c, &it->steps[i], why, sizeof why)) {
            skip_item(c, it, why);
            return;
        }
    }
    for (size_t i = 0; i < it->step_count; i++) {
        char err[1024] = "";
        if (run_step(c, it, &it->steps[i], err, sizeof err) < 0 || c->journal_broken) {
            it->result = ACT_FAILED;
            it->error = act_strdup(err[0] ? err : "cannot write the journal");
            c->counts->failed++;
            return;
        }
        it->steps[i].done = true;
    }
    it->result = ACT_DONE;
    c->counts->done++;
}

static void apply_one(struct act_run *c, void *plan, size_t i)
{
    apply_item(c, &((struct repair_plan *)plan)->items[i]);
}

static void set_result(void *plan, size_t i, enum act_result result)
{
    ((struct repair_plan *)plan)->items[i].result = result;
}

void repair_apply_plan(struct act_run *c, struct repair_plan *p, volatile sig_atomic_t *stop)
{
    struct act_plan_ops ops = { .count = p->count, .plan = p, .apply = apply_one, .set_result = set_result };
    act_apply_plan(c, &ops, stop);
}

/* ---- leftovers of an interrupted run ---------------------------------- */

struct temps {
    char **names;
    size_t n, cap;
};

static int collect_temp(void *ctx, const char *name, unsigned char d_type)
{
    (void)d_type;
    struct temps *t = ctx;
    if (strncmp(name, REPAIR_TMP_PREFIX, strlen(REPAIR_TMP_PREFIX)) != 0)
        return 0;
    t->names = grow_array_or_die(t->names, &t->cap, t->n + 1, sizeof *t->names);
    t->names[t->n++] = act_strdup(name);
    return 0;
}

void repair_finish_temps(struct act_run *c, struct repair_summary *sum)
{
    const char *base;
    int fd = act_open_parent(c->rootfd, "overlay2/l/x", &base);
    if (fd < 0)
        return;
    struct temps t = { NULL, 0, 0 };
    fs_list_dir(fd, collect_temp, &t);
    for (size_t i = 0; i < t.n; i++) {
        struct stat st;
        char path[400];
        snprintf(path, sizeof path, "overlay2/l/%s", t.names[i]);
        if (!fs_lstat(fd, t.names[i], &st) || !S_ISLNK(st.st_mode))
            continue;   /* only our own temp symlinks */
        if (act_journal_write(&c->journal, NULL, NULL, path, 0, "finish-temp", "started", NULL, NULL) < 0) {
            c->journal_broken = true;
            break;
        }
        int rc = unlinkat(fd, t.names[i], 0);
        act_journal_end(&c->journal, NULL, NULL, path, 0, "finish-temp", rc < 0 ? strerror(errno) : NULL, NULL);
        sum->temps_removed += rc == 0;
    }
    for (size_t i = 0; i < t.n; i++)
        free(t.names[i]);
    free(t.names);
    close(fd);
}
