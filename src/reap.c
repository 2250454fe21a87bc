/* reap.c — the reaper: `--reap` (dry run) and `--reap --apply`.
 *
 * Owns: the order of a run and its exit code. A dry run scans, plans and
 * prints; it takes no lock and writes nothing anywhere. --apply:
 *
 *   1. lock the root (<root>/.ovl2fsck.lock, flock; a second reaper exits 8)
 *   2. refuse when dockerd looks live (pidfile, process, overlay mounts)
 *   3. open the journal; with --quarantine open DIR (same file system)
 *   4. finish the trash an interrupted run left (<root>/.ovl2fsck-trash)
 *   5. scan afresh and plan (reap_plan.c)
 *   6. per item: dockerd still not live; the reference index (reap_refs.c:
 *      read again when anything but this run's own removals changed what it
 *      reads, see keep_refs_current) says it is still unreferenced; every path still exists
 *      as the same inode, is older than --min-age and is not mounted; then
 *      its steps, each journaled before and after:
 *        rename-aside  layerdb/sha256/<chain> -> <chain>-<rand>-removing
 *        remove        rename into the trash (atomic: dockerd never sees a
 *                      half-deleted object), then delete the trash entry with
 *                      the safe walker; with --quarantine rename into DIR
 *        untag         rewrite repositories.json atomically
 *   7. SIGINT/SIGTERM are honoured between items (exit 32).
 *
 * Exit (fsck bits): dry run 4 when there is something to do or an error is
 * left, else 0. --apply: 1 when every planned item was done, 4 when anything
 * remains (a failed or skipped item, an error not included), both when both;
 * 8 refused or operational error, 16 usage, 32 interrupted. */
#include "reap.h"
#include "exit_codes.h"
#include "reap_internal.h"
#include "fsutil.h"
#include "ids.h"
#include "live.h"
#include "pipeline.h"
#include "reap_containerd.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct reaper {
    const struct options *o;
    struct act_run run;          /* root, lock, journal, trash: the apply engine's */
    struct quarantine q;
    bool quarantine;
    struct reap_refs *refs;
    uint64_t refs_sig;          /* reap_refs_signature() when refs was read */
    struct reap_summary sum;
};

/* Step 4: a repositories.json temp file an interrupted untag left, and
 * what an interrupted run left in the trash. */
static void finish_interrupted(struct reaper *r)
{
    const char *base;
    int imgfd = act_open_parent(r->run.rootfd, REAP_TAGS_PATH, &base);
    struct stat st;
    if (imgfd >= 0 && fs_lstat(imgfd, REAP_TAGS_TMP, &st) && S_ISREG(st.st_mode)) {
        if (act_run_begin(&r->run, NULL, NULL, "image/overlay2/" REAP_TAGS_TMP, 0, "finish-trash", NULL)) {
            int rc = unlinkat(imgfd, REAP_TAGS_TMP, 0);
            act_run_end(&r->run, NULL, NULL, "image/overlay2/" REAP_TAGS_TMP, 0, "finish-trash",
                        rc < 0 ? strerror(errno) : NULL, NULL);
        }
    }
    if (imgfd >= 0)
        close(imgfd);
    act_trash_finish(&r->run, &r->sum.trash_finished, &r->sum.trash_finished_bytes);
}

/* ---- re-verification --------------------------------------------------- */

static const char *overlay_dir_of(const char *path)
{
    return strncmp(path, "overlay2/", 9) == 0 && !strchr(path + 9, '/') ? path + 9 : NULL;
}

/* The l/ link still points at ../<dir>/diff. */
static bool link_points_at(int rootfd, const char *path, const char *dir)
{
    const char *base;
    int fd = act_open_parent(rootfd, path, &base);
    if (fd < 0)
        return false;
    char target[PATH_MAX], want[300];
    long n = fs_readlink(fd, base, target, sizeof target);
    close(fd);
    snprintf(want, sizeof want, "../%s/diff", dir);
    return n > 0 && strcmp(target, want) == 0;
}

/* A broken l/ link whose target dir came back is no longer garbage. */
static bool broken_link_target_exists(int rootfd, const char *path)
{
    const char *base;
    int fd = act_open_parent(rootfd, path, &base);
    if (fd < 0)
        return false;
    char target[PATH_MAX];
    long n = fs_readlink(fd, base, target, sizeof target);
    close(fd);
    if (n < 8 || strncmp(target, "../", 3) != 0 || strcmp(target + n - 5, "/diff") != 0)
        return false;
    target[n - 5] = '\0';
    const char *dir = target + 3;
    char rel[300];
    struct stat st;
    if (!id_is_overlay_dir(dir, strlen(dir)))
        return false;
    snprintf(rel, sizeof rel, "overlay2/%.80s", dir);
    return act_lstat(rootfd, rel, &st) && S_ISDIR(st.st_mode);   /* as the check: a real dir */
}

static bool path_exists(int rootfd, const char *path)
{
    struct stat st;
    return act_lstat(rootfd, path, &st) || errno != ENOENT;
}

/* The JSON file at a root-relative path, parsed (NULL: absent or not JSON). */
static cJSON *read_json(struct reaper *r, const char *rel)
{
    const char *base;
    int fd = act_open_parent(r->run.rootfd, rel, &base);
    if (fd < 0)
        return NULL;
    struct file_buf b;
    fs_read_file(fd, base, CAP_JSON_FILE, &b);
    close(fd);
    cJSON *doc = b.status == FILE_OK ? cJSON_ParseWithLength(b.data, b.len) : NULL;
    file_buf_free(&b);
    return doc;
}

/* Is the image still missing a layer? */
static bool image_still_broken(struct reaper *r, const char *image)
{
    char rel[300];
    snprintf(rel, sizeof rel, "image/overlay2/imagedb/content/sha256/%s", image);
    bool broken = false;
    cJSON *cfg = read_json(r, rel);
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cfg, "rootfs"), "diff_ids");
    char chain[DIGEST_LEN + 1] = "";
    const cJSON *d;
    cJSON_ArrayForEach(d, ids) {
        if (!cJSON_IsString(d) || !id_is_digest(d->valuestring, strlen(d->valuestring)))
            break;
        char next[DIGEST_LEN + 1];
        id_chain_id(chain[0] ? chain : NULL, d->valuestring, next);
        memcpy(chain, next, sizeof chain);
        if (!reap_refs_layer_exists(r->refs, chain + 7)) {
            broken = true;
            break;
        }
    }
    cJSON_Delete(cfg);
    return broken;
}

static bool mount_or_container_exists(struct reaper *r, const char *parent, const char *id)
{
    char rel[300];
    snprintf(rel, sizeof rel, "%s/%s", parent, id);
    return path_exists(r->run.rootfd, rel);
}

/* containers/<id>/config.v2.json still says State.Dead or RemovalInProgress. */
static bool container_being_removed(struct reaper *r, const char *id)
{
    char rel[300];
    snprintf(rel, sizeof rel, "containers/%s/config.v2.json", id);
    cJSON *cfg = read_json(r, rel);
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(cfg, "State");
    bool removing = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(state, "Dead")) ||
                    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(state, "RemovalInProgress"));
    cJSON_Delete(cfg);
    return removing;
}

/* Kind-specific: is the item still what the plan said? */
static bool verify_kind(struct reaper *r, const struct reap_item *it, char *why, size_t whylen)
{
    switch (it->kind) {
    case KIND_LAYER:
        return !reap_refs_layer_used(r->refs, it->object, why, whylen);
    case KIND_LAYER_DANGLING: {
        char who[128];
        if (reap_refs_layer_has_mount(r->refs, it->object, who, sizeof who)) {
            snprintf(why, whylen, "container mount %s is built on it", who);
            return false;
        }
        if (!reap_refs_chain_dangling(r->refs, r->run.rootfd, it->object)) {
            snprintf(why, whylen, "no longer built on a layer whose content is gone");
            return false;
        }
        return true;
    }
    case KIND_MOUNT:
        if (mount_or_container_exists(r, "containers", it->object)) {
            snprintf(why, whylen, "containers/%s exists now", it->object);
            return false;
        }
        return true;
    case KIND_CONTAINER:
        if (mount_or_container_exists(r, "image/overlay2/layerdb/mounts", it->object)) {
            snprintf(why, whylen, "its layerdb/mounts entry exists now");
            return false;
        }
        return true;
    case KIND_IMAGE:
        if (!image_still_broken(r, it->object)) {
            snprintf(why, whylen, "all its layers exist now");
            return false;
        }
        return true;
    case KIND_IMAGE_MOUNT: {
        char cid[HEX64_LEN + 1];
        snprintf(cid, sizeof cid, "%.64s", it->object);
        if (mount_or_container_exists(r, "containers", cid)) {
            snprintf(why, whylen, "containers/%s exists now", cid);
            return false;
        }
        return true;
    }
    case KIND_CONTAINER_REMOVAL:
        if (!container_being_removed(r, it->object)) {
            snprintf(why, whylen, "its config no longer says it is being removed (Dead, RemovalInProgress)");
            return false;
        }
        return true;
    case KIND_OVERLAY_ORPHAN:
    case KIND_LINK_BROKEN:
    case KIND_LEFTOVER:
        return true;
    }
    return true;
}

/* The item's own claim on its dirs does not count (its layer or mount). */
static const char *claim_owner(const struct reap_item *it)
{
    return it->kind == KIND_LAYER || it->kind == KIND_LAYER_DANGLING || it->kind == KIND_MOUNT ||
           it->kind == KIND_CONTAINER_REMOVAL || it->kind == KIND_IMAGE_MOUNT ? it->object : NULL;
}

static bool verify_step(struct reaper *r, const struct reap_item *it, const struct reap_step *s, char *why,
                        size_t whylen)
{
    if (s->action == REAP_UNTAG || s->action == REAP_REMOVE_ASIDE)
        return true;
    struct stat st;
    if (!reap_path_allowed(s->path)) {
        snprintf(why, whylen, "refusing to touch %s", s->path);
        return false;
    }
    if (!act_lstat(r->run.rootfd, s->path, &st))
        return true;   /* gone already: the step will be a no-op */
    if (!s->have_id || st.st_dev != s->dev || st.st_ino != s->ino) {
        snprintf(why, whylen, "%s was replaced since the scan", s->path);
        return false;
    }
    if (live_path_is_mounted(r->run.root, s->path)) {
        snprintf(why, whylen, "%s is mounted", s->path);
        return false;
    }
    const char *dir = overlay_dir_of(s->path);
    char who[300];
    if (s->role == ROLE_OVERLAY_DIR && dir && reap_refs_dir_claimed(r->refs, dir, claim_owner(it), who, sizeof who)) {
        snprintf(why, whylen, "%s is still in use: %s", s->path, who);
        return false;
    }
    if (s->role == ROLE_LINK && !link_points_at(r->run.rootfd, s->path, s->link_dir)) {
        snprintf(why, whylen, "%s no longer points at ../%s/diff", s->path, s->link_dir);
        return false;
    }
    if (s->role == ROLE_BROKEN_LINK && broken_link_target_exists(r->run.rootfd, s->path)) {
        snprintf(why, whylen, "the target of %s exists again", s->path);
        return false;
    }
    return true;
}

static bool verify_item(struct reaper *r, const struct reap_item *it, char *why, size_t whylen)
{
    struct stat st;
    if (it->primary && !act_lstat(r->run.rootfd, it->primary, &st)) {
        snprintf(why, whylen, "%s vanished since the scan", it->primary);
        return false;
    }
    if (strcmp(it->severity, "garbage") == 0 && it->primary &&
        (int64_t)st.st_mtime > (int64_t)time(NULL) - r->o->min_age) {
        snprintf(why, whylen, "%s changed recently (younger than --min-age)", it->primary);
        return false;
    }
    for (size_t i = 0; i < it->step_count; i++)
        if (!verify_step(r, it, &it->steps[i], why, whylen))
            return false;
    return verify_kind(r, it, why, whylen);
}

/* ---- steps ------------------------------------------------------------ */

static int record_done(struct reaper *r, double seq);

static int step_rename_aside(struct reaper *r, struct reap_item *it, struct reap_step *s, char *err, size_t errlen)
{
    const char *base;
    int dirfd = act_open_parent(r->run.rootfd, s->path, &base);
    if (dirfd < 0) {
        snprintf(err, errlen, "cannot open the dir of %s: %s", s->path, strerror(errno));
        return -1;
    }
    char rnd[HEX64_LEN + 1], name[NAME_MAX + 1];
    act_random_hex(rnd, HEX64_LEN);
    snprintf(name, sizeof name, "%s-%s-removing", base, rnd);
    char *aside = act_printf("%.*s%s", (int)(base - s->path), s->path, name);
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddStringToObject(extra, "to", aside);
    int rc = -1;
    if (r->quarantine) {
        cJSON *rec = cJSON_CreateObject();
        cJSON_AddStringToObject(rec, "type", "rename");
        cJSON_AddNumberToObject(rec, "seq", (double)++r->q.seq);
        cJSON_AddStringToObject(rec, "from", s->path);
        cJSON_AddStringToObject(rec, "to", aside);
        cJSON_AddNumberToObject(rec, "dev", (double)s->dev);
        cJSON_AddNumberToObject(rec, "ino", (double)s->ino);
        if (reap_quarantine_record(&r->q, rec) < 0) {
            snprintf(err, errlen, "cannot write the quarantine manifest: %s", strerror(errno));
            cJSON_Delete(rec);
            goto out;
        }
        cJSON_Delete(rec);
    }
    if (!act_run_begin(&r->run, it->check, it->object, s->path, 0, "rename-aside", extra)) {
        snprintf(err, errlen, "cannot write the journal");
        goto out;
    }
    rc = act_move(dirfd, base, dirfd, name, s->dev, s->ino);
    if (rc < 0)
        snprintf(err, errlen, "rename %s aside: %s", s->path, strerror(errno));
    act_run_end(&r->run, it->check, it->object, s->path, 0, "rename-aside", rc < 0 ? err : NULL, extra);
    if (rc == 0 && r->quarantine && record_done(r, (double)r->q.seq) < 0) {
        snprintf(err, errlen, "cannot write the quarantine manifest: %s", strerror(errno));
        rc = -1;
    }
    if (rc == 0) {
        s->aside = aside;
        aside = NULL;
    }
out:
    cJSON_Delete(extra);
    free(aside);
    close(dirfd);
    return rc;
}

static int record_done(struct reaper *r, double seq)
{
    return reap_quarantine_done(&r->q, seq);
}

static int step_remove(struct reaper *r, struct reap_item *it, struct reap_step *s, const char *path,
                       char *err, size_t errlen)
{
    const char *base;
    int dirfd = act_open_parent(r->run.rootfd, path, &base);
    if (dirfd < 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "cannot open the dir of %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    int rc = 0;
    if (!fs_lstat(dirfd, base, &st)) {
        rc = errno == ENOENT ? 0 : -1;   /* already gone: nothing to do */
        if (rc < 0)
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
    } else if (st.st_dev != s->dev || st.st_ino != s->ino) {
        snprintf(err, errlen, "%s was replaced since the scan", path);
        rc = -1;
    } else if (r->quarantine) {
        rc = reap_quarantine_move(&r->q, &r->run, r->sum.quarantine_dir, it->check, it->object, it->bytes, path,
                                  dirfd, base, &st, err, errlen);
    } else {
        rc = act_trash_remove(&r->run, it->check, it->object, path, dirfd, base, s->dev, s->ino, &st, &it->freed,
                              err, errlen);
    }
    close(dirfd);
    return rc;
}

static int record_untag(struct reaper *r, const struct reap_tags_edit *e)
{
    cJSON *rec = cJSON_CreateObject();
    cJSON_AddStringToObject(rec, "type", "untag");
    cJSON_AddNumberToObject(rec, "seq", (double)++r->q.seq);
    cJSON_AddStringToObject(rec, "path", REAP_TAGS_PATH);
    cJSON_AddItemToObject(rec, "removed", cJSON_Duplicate(e->removed, 1));
    char *before = malloc(e->before_len + 1);
    if (before) {
        memcpy(before, e->before, e->before_len);
        before[e->before_len] = '\0';
    }
    cJSON_AddStringToObject(rec, "before", before ? before : "");
    free(before);
    cJSON_AddStringToObject(rec, "after_sha256", e->after_sha);
    int rc = reap_quarantine_record(&r->q, rec);
    cJSON_Delete(rec);
    return rc;
}

static int step_untag(struct reaper *r, struct reap_item *it, char *err, size_t errlen)
{
    struct reap_tags_edit e;
    if (reap_tags_prepare_untag(r->run.rootfd, it->object, &e, err, errlen) < 0) {
        reap_tags_edit_free(&e);
        return -1;
    }
    int rc = 0;
    if (!e.removed->child)
        goto out;   /* nothing names it any more */
    if (r->quarantine && (memchr(e.before, '\0', e.before_len) || record_untag(r, &e) < 0)) {
        snprintf(err, errlen, "cannot record the untag in the quarantine manifest");
        rc = -1;
        goto out;
    }
    double seq = (double)r->q.seq;
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddItemToObject(extra, "refs", cJSON_Duplicate(e.removed, 1));
    if (act_run_begin(&r->run, it->check, it->object, REAP_TAGS_PATH, 0, "untag", extra)) {
        rc = reap_tags_write_atomic(r->run.rootfd, REAP_TAGS_PATH, e.after, e.after_len, err, errlen);
        act_run_end(&r->run, it->check, it->object, REAP_TAGS_PATH, 0, "untag", rc < 0 ? err : NULL, extra);
    } else {
        snprintf(err, errlen, "cannot write the journal");
        rc = -1;
    }
    cJSON_Delete(extra);
    if (rc == 0 && r->quarantine && record_done(r, seq) < 0)
        rc = -1;
out:
    reap_tags_edit_free(&e);
    return rc;
}

/* rmdir a level of an image mount entry once nothing is left in it (another
 * image mount of the same container may still be). */
static int step_prune_empty(struct reaper *r, struct reap_item *it, const struct reap_step *s, char *err,
                            size_t errlen)
{
    const char *base;
    int dirfd = act_open_parent(r->run.rootfd, s->path, &base);
    if (dirfd < 0 && errno == ENOENT)
        return 0;   /* gone with the levels below it */
    if (dirfd < 0) {
        snprintf(err, errlen, "cannot open the dir of %s: %s", s->path, strerror(errno));
        return -1;
    }
    struct stat st;
    int rc = 0;
    if (fs_lstat(dirfd, base, &st) && st.st_dev == s->dev && st.st_ino == s->ino && S_ISDIR(st.st_mode)) {
        if (!act_run_begin(&r->run, it->check, it->object, s->path, 0, "remove-if-empty", NULL)) {
            snprintf(err, errlen, "cannot write the journal");
            rc = -1;
        } else {
            rc = unlinkat(dirfd, base, AT_REMOVEDIR) < 0 && errno != ENOTEMPTY && errno != EEXIST ? -1 : 0;
            if (rc < 0)
                snprintf(err, errlen, "rmdir %s: %s", s->path, strerror(errno));
            act_run_end(&r->run, it->check, it->object, s->path, 0, "remove-if-empty", rc < 0 ? err : NULL, NULL);
        }
    }
    close(dirfd);
    return rc;
}

static int run_step(struct reaper *r, struct reap_item *it, struct reap_step *s, char *err, size_t errlen)
{
    switch (s->action) {
    case REAP_RENAME_ASIDE:
        return step_rename_aside(r, it, s, err, errlen);
    case REAP_REMOVE:
        return step_remove(r, it, s, s->path, err, errlen);
    case REAP_REMOVE_ASIDE:
        if (!s->aside) {
            snprintf(err, errlen, "nothing was renamed aside");
            return -1;
        }
        return step_remove(r, it, s, s->aside, err, errlen);
    case REAP_UNTAG:
        return step_untag(r, it, err, errlen);
    case REAP_PRUNE_EMPTY:
        return step_prune_empty(r, it, s, err, errlen);
    }
    return -1;
}

/* ---- items ------------------------------------------------------------ */

static void skip_item(struct reaper *r, struct reap_item *it, const char *why)
{
    it->result = ACT_SKIPPED;
    it->error = act_strdup(why);
    if (act_journal_write(&r->run.journal, it->check, it->object, it->primary, it->bytes, "verify", "skipped", why,
                          NULL) < 0)
        r->run.journal_broken = true;
    r->sum.counts.skipped++;
}

/* For layers the -removing dir stands in for the item's REAP_REMOVE_ASIDE. */
static void link_aside(struct reap_item *it, const struct reap_step *aside_step)
{
    for (size_t i = 0; i < it->step_count; i++)
        if (it->steps[i].action == REAP_REMOVE_ASIDE && !it->steps[i].aside && aside_step->aside)
            it->steps[i].aside = act_strdup(aside_step->aside);
}

/* After an item whose steps all succeeded: the index forgets what they
 * removed and is kept, when that is all that changed what it reads (the
 * signature was the index's before the item; nothing but this run writes
 * the store: the lock is held and dockerd was not live). Otherwise, or when
 * a step touched something it cannot follow, the next item loads it afresh.
 * A load costs a read of every layer, mount and image config: doing it after
 * every layer or mount removed made a run's time grow with items × layers. */
static void keep_refs_current(struct reaper *r, const struct reap_item *it, uint64_t sig_before)
{
    if (!r->refs || r->refs_sig != sig_before)
        return;
    for (size_t i = 0; i < it->step_count; i++) {
        const struct reap_step *s = &it->steps[i];
        if (s->action == REAP_UNTAG)
            continue;   /* repositories.json: not read by the index */
        if (!s->path || reap_refs_forget_path(r->refs, s->path) < 0) {
            r->refs_sig = 0;
            return;
        }
    }
    r->refs_sig = reap_refs_signature(r->run.rootfd);
}

static void apply_item(struct reaper *r, struct reap_item *it)
{
    char why[1024];
    uint64_t sig = reap_refs_signature(r->run.rootfd);
    if (!r->refs || sig != r->refs_sig) {
        reap_refs_free(r->refs);
        r->refs = reap_refs_load(r->run.rootfd);
        r->refs_sig = sig;
    }
    if (!r->refs) {
        skip_item(r, it, "out of memory reading the store's references");
        return;
    }
    if (!verify_item(r, it, why, sizeof why)) {
        skip_item(r, it, why);
        return;
    }
    for (size_t i = 0; i < it->step_count; i++) {
        struct reap_step *s = &it->steps[i];
        char err[1024] = "";
        if (run_step(r, it, s, err, sizeof err) < 0 || r->run.journal_broken) {
            it->result = ACT_FAILED;
            it->error = act_strdup(err[0] ? err : "cannot write the journal");
            r->sum.counts.failed++;
            return;
        }
        s->done = true;
        if (s->action == REAP_RENAME_ASIDE)
            link_aside(it, s);
    }
    it->result = ACT_DONE;
    keep_refs_current(r, it, sig);
    if (r->quarantine)
        it->moved = it->bytes;
    r->sum.counts.done++;
    r->sum.freed_bytes += it->freed;
    r->sum.moved_bytes += it->moved;
}

/* Did the item fail for lack of space before any of its steps was done? */
static bool failed_for_space(const struct reap_item *it)
{
    if (it->result != ACT_FAILED || !fs_text_says_full(it->error))
        return false;
    for (size_t i = 0; i < it->step_count; i++)
        if (it->steps[i].done)
            return false;
    return true;
}

/* On a full disk the first item should free space without needing a block:
 * the largest item whose first step removes a directory (it can become the
 * trash, see act_trash.c) goes first. Nothing else changes order. */
static void put_space_first(struct reaper *r, struct reap_plan *plan)
{
    if (r->quarantine || act_trash_ready(&r->run) || !fs_errno_is_full(errno))
        return;
    size_t best = plan->count;
    for (size_t i = 0; i < plan->count; i++) {
        const struct reap_item *it = &plan->items[i];
        if (it->step_count && it->steps[0].action == REAP_REMOVE && it->steps[0].type == S_IFDIR &&
            (best == plan->count || it->bytes > plan->items[best].bytes))
            best = i;
    }
    if (best == plan->count || best == 0)
        return;
    struct reap_item first = plan->items[best];
    memmove(&plan->items[1], &plan->items[0], best * sizeof *plan->items);
    plan->items[0] = first;
}

/* Items that failed for lack of space before anything else freed some get
 * one more try once the rest of the plan has run (an untag or a rename
 * aside needs a block; removals free them). */
static void retry_after_space_freed(struct reaper *r, struct reap_plan *plan, volatile sig_atomic_t *stop)
{
    if (r->sum.freed_bytes <= 0)
        return;
    for (size_t i = 0; i < plan->count && !(stop && *stop) && !r->run.journal_broken; i++) {
        struct reap_item *it = &plan->items[i];
        if (!failed_for_space(it))
            continue;
        free(it->error);
        it->error = NULL;
        it->result = ACT_PLANNED;
        r->sum.counts.failed--;
        r->sum.full_retried++;
        apply_item(r, it);
    }
}

static void apply_one(struct act_run *run, void *plan, size_t i)
{
    struct reaper *r = (struct reaper *)((char *)run - offsetof(struct reaper, run));
    apply_item(r, &((struct reap_plan *)plan)->items[i]);
}

static void set_result(void *plan, size_t i, enum act_result result)
{
    ((struct reap_plan *)plan)->items[i].result = result;
}

static void apply_plan(struct reaper *r, struct reap_plan *plan, volatile sig_atomic_t *stop)
{
    put_space_first(r, plan);
    struct act_plan_ops ops = { .count = plan->count, .plan = plan, .apply = apply_one, .set_result = set_result };
    act_apply_plan(&r->run, &ops, stop);
    if (r->sum.counts.failed && !r->sum.counts.refused && !r->sum.counts.interrupted)
        retry_after_space_freed(r, plan, stop);
    if (stop && *stop)
        r->sum.counts.interrupted = true;
}

/* ---- set-up and the two modes ----------------------------------------- */


static int plan_from_fresh_scan(struct reaper *r, struct pipeline *p, struct reap_plan *plan,
                                const struct catalog *cat, volatile sig_atomic_t *stop)
{
    char err[1024] = "";
    int code = pipeline_run(p, r->o, cat, stop, err, sizeof err);
    if (code) {
        pipeline_close(p);
        return act_fail(code == EXIT_INTERRUPTED ? "interrupted" : err, code);
    }
    if (reap_plan_build(plan, &p->db, p->root, cat, r->o->include, err, sizeof err) < 0) {
        pipeline_close(p);
        reap_plan_free(plan);
        return act_fail(err, EXIT_OPERATIONAL);
    }
    r->sum.planned_bytes = reap_plan_bytes(plan);
    return 0;
}

static int dry_run(struct reaper *r, const struct catalog *cat, volatile sig_atomic_t *stop)
{
    struct pipeline p;
    struct reap_plan plan;
    int code = plan_from_fresh_scan(r, &p, &plan, cat, stop);
    if (code)
        return code;
    snprintf(r->run.root, sizeof r->run.root, "%s", p.root);
    int fd = open(r->run.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        r->sum.trash_pending = act_trash_pending(fd);
        close(fd);
    }
    reap_print(stdout, r->run.root, &plan, &r->sum, r->o);
    fflush(stdout);
    code = act_dry_run_code(plan.count || plan.errors_left || plan.garbage_left,
                            p.result.checks && p.result.checks->failure_count);
    reap_plan_free(&plan);
    return pipeline_end(&p, code);
}

/* Steps 1-4 of --apply. Returns 0 or an exit code (message printed). */
static int prepare_apply(struct reaper *r)
{
    int code = reap_quarantine_begin_apply(&r->run, r->o->quarantine, &r->q, &r->sum.quarantine_dir);
    if (code)
        return code;
    if (r->o->quarantine) {
        r->quarantine = true;
        r->sum.quarantine = true;
    }
    finish_interrupted(r);
    if (r->run.journal_broken)
        return act_fail("the journal cannot be written", EXIT_OPERATIONAL);
    return 0;
}

static void release(struct reaper *r)
{
    reap_refs_free(r->refs);
    r->refs = NULL;
    if (r->quarantine)
        reap_quarantine_close(&r->q);
    act_run_close(&r->run);
    free(r->sum.quarantine_dir);
}

static int apply(struct reaper *r, const struct catalog *cat, volatile sig_atomic_t *stop)
{
    int code = prepare_apply(r);
    if (code) {
        release(r);
        return code;
    }
    struct pipeline p;
    struct reap_plan plan;
    code = plan_from_fresh_scan(r, &p, &plan, cat, stop);
    if (code) {
        release(r);
        return code;
    }
    r->sum.counts.apply = true;
    apply_plan(r, &plan, stop);
    reap_print(stdout, r->run.root, &plan, &r->sum, r->o);
    fflush(stdout);
    code = act_run_finish(&r->run, plan.count, plan.errors_left || plan.garbage_left);
    reap_plan_free(&plan);
    release(r);
    return pipeline_end(&p, code);
}

int reap_main(const struct options *o, const struct catalog *cat, volatile sig_atomic_t *stop)
{
    char err[1024];
    if (o->repair)
        return act_fail("--repair is not available in this build", EXIT_USAGE);
    /* a containerd root (or the one a Docker root on the containerd image
     * store used) has a reaper of its own (main.c let only such a one through) */
    char root[PATH_MAX];
    struct store_target t;
    if (realpath(o->root, root) && store_detect(root, o, &t, err, sizeof err) == 0 && t.kind == STORE_CONTAINERD)
        return reap_containerd_main(o, cat, stop);
    if (reap_parse_include(cat, o->include, err, sizeof err) < 0)
        return act_fail(err, EXIT_USAGE);
    struct reaper r;
    memset(&r, 0, sizeof r);
    r.o = o;
    act_run_init(&r.run, o, &r.sum.counts);
    r.q.dirfd = r.q.runfd = r.q.itemsfd = r.q.manifest_fd = r.q.lock_fd = -1;
    return o->apply ? apply(&r, cat, stop) : dry_run(&r, cat, stop);
}

int reap_restore_main(const struct options *o, volatile sig_atomic_t *stop)
{
    return reap_quarantine_restore_main(o, stop);
}

int reap_purge_main(const struct options *o, volatile sig_atomic_t *stop)
{
    return reap_quarantine_purge_main(o, stop);
}
