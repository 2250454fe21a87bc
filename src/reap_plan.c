/* reap_plan.c — turns a pipeline's findings into the reaper's plan.
 *
 * Owns: what is removed for each finding, and in which order. An item is
 * one finding (or, for --include layer-cache-id-dangling, one layer of the
 * dead subtree); its steps are the paths it owns, in the order that leaves
 * only states the next run recognises as garbage if it is interrupted:
 *
 *   image-layer-missing (--include)  untag, imagedb/metadata/<id>, imagedb/content/<id>
 *                                    (dockerd's own image delete order)
 *   container-mount-missing          containers/<id>
 *   container-removal-leftover       what docker rm had not yet removed, in its
 *                                    order: RW dir + l/ link, -init dir + l/ link,
 *                                    layerdb/mounts/<id>, containers/<id>
 *   mount-container-missing          layerdb/mounts/<id> first (its dirs then are
 *                                    orphans), RW dir + l/ link, -init dir + l/ link
 *   layer-cache-id-dangling (--include), layer-unreferenced
 *                                    per layer, children before parents: layerdb
 *                                    dir renamed aside to <chain>-<rand>-removing,
 *                                    overlay2 dir, its l/ link (a dir without its
 *                                    link is never left), the -removing dir
 *   overlay-dir-orphaned             the dir, then its l/ link
 *   overlay-link-broken              the link only, never its target
 *   layerdb-removing-leftover, layerdb-tmp-leftover, imagedb-tmp-leftover,
 *   root-tmp-leftover                the leftover, as one rename into the trash
 *
 * Items are applied in that group order. A path planned by an earlier item
 * is dropped from later ones. An overlay2 dir that something else also
 * claims (layer-cache-id-shared) is kept and noted. Each step records the
 * dev/inode of its path, lstat'ed now, for the re-verification at apply
 * time. */
#include "reap_internal.h"
#include "grow.h"
#include "ids.h"
#include "parallel.h"
#include "sizes.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LAYERDB "image/overlay2/layerdb"
#define MAX_LAYER_DEPTH 4096

/* Is name one of the comma-separated list? */
static bool listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        p = end ? end + 1 : NULL;
    }
    return false;
}

/* The checks whose findings --include may add (-- action: reap-include),
 * as "a and b" or "a, b and c". */
static void includable_names(const struct catalog *cat, char *out, size_t outlen)
{
    size_t n = 0, total = 0, len = 0;
    for (size_t i = 0; i < cat->count; i++)
        total += cat->checks[i].action == ACTION_REAP_INCLUDE;
    out[0] = '\0';
    for (size_t i = 0; i < cat->count && len < outlen; i++) {
        if (cat->checks[i].action != ACTION_REAP_INCLUDE)
            continue;
        const char *sep = n == 0 ? "" : n + 1 == total ? " and " : ", ";
        len += (size_t)snprintf(out + len, outlen - len, "%s%s", sep, cat->checks[i].name);
        n++;
    }
}

int reap_parse_include(const struct catalog *cat, const char *include, char *err, size_t errlen)
{
    if (!include)
        return 0;
    char *copy = act_strdup(include), *save = NULL;
    int rc = 0;
    for (char *n = strtok_r(copy, ",", &save); n; n = strtok_r(NULL, ",", &save)) {
        const struct check *c = catalog_find((struct catalog *)cat, n);
        if (!c || c->action != ACTION_REAP_INCLUDE) {
            char names[512];
            includable_names(cat, names, sizeof names);
            snprintf(err, errlen, "--include: '%s' cannot be reaped; only %s can be included (garbage is reaped "
                     "by default)", n, names);
            rc = -1;
            break;
        }
    }
    free(copy);
    return rc;
}

const char *reap_action_name(enum reap_action a)
{
    static const char *const names[] = { "rename-aside", "remove", "remove", "untag", "remove-if-empty" };
    return (unsigned)a < sizeof names / sizeof names[0] ? names[a] : "?";
}

/* ---- building items --------------------------------------------------- */

struct builder {
    struct reap_plan *plan;
    const struct catalog *cat;   /* what each check declares (its action) */
    const char *include;         /* --include: reap-include checks to act on */
    struct db *db;
    const char *root;
    int rootfd;
    sqlite3_stmt *q_layer, *q_parent, *q_dir, *q_link, *q_claims, *q_links_to;
    char *err;
    size_t errlen;
};

void reap_plan_note(struct reap_plan *plan, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    act_note(&plan->notes, &plan->note_count, &plan->note_cap, fmt, ap);
    va_end(ap);
}

static struct reap_item *new_item(struct builder *b, enum item_kind kind, const char *check,
                                  const char *severity, const char *object, const char *why)
{
    struct reap_plan *p = b->plan;
    p->items = grow_array_or_die(p->items, &p->cap, p->count + 1, sizeof *p->items);
    struct reap_item *it = &p->items[p->count++];
    memset(it, 0, sizeof *it);
    it->kind = kind;
    it->check = act_strdup(check);
    it->severity = act_strdup(severity);
    it->object = act_strdup(object);
    it->why = act_strdup(why ? why : "");
    it->mtime = -1;
    it->bytes = -1;   /* -1: measure at plan time */
    return it;
}

static struct reap_step *add_step(struct reap_item *it, enum reap_action a, enum step_role role, const char *path)
{
    it->steps = grow_array_or_die(it->steps, &it->step_cap, it->step_count + 1, sizeof *it->steps);
    struct reap_step *s = &it->steps[it->step_count++];
    memset(s, 0, sizeof *s);
    s->action = a;
    s->role = role;
    s->path = act_strdup(path);
    return s;
}

static const char *col_text(sqlite3_stmt *q, int i)
{
    return (const char *)sqlite3_column_text(q, i);
}

/* The overlay2 dir's link name, when the dir exists and l/<link> points at it. */
static bool overlay_dir_link(struct builder *b, const char *dir, char *link, size_t linklen)
{
    link[0] = '\0';
    sqlite3_reset(b->q_dir);
    db_bind_text(b->q_dir, 1, dir);
    if (sqlite3_step(b->q_dir) != SQLITE_ROW)
        return false;
    const char *l = col_text(b->q_dir, 0);
    if (l) {
        sqlite3_reset(b->q_link);
        db_bind_text(b->q_link, 1, l);
        db_bind_text(b->q_link, 2, dir);
        if (sqlite3_step(b->q_link) == SQLITE_ROW && id_is_safe_component(l, strlen(l)))
            snprintf(link, linklen, "%s", l);
    }
    return true;
}

/* Does anything but (kind, id) claim overlay2/<dir>? */
static bool dir_claimed_by_other(struct builder *b, const char *dir, const char *kinds, const char *id,
                                 char *who, size_t wholen)
{
    sqlite3_reset(b->q_claims);
    db_bind_text(b->q_claims, 1, dir);
    bool claimed = false;
    while (!claimed && sqlite3_step(b->q_claims) == SQLITE_ROW) {
        const char *k = col_text(b->q_claims, 0), *by = col_text(b->q_claims, 1);
        if (k && strcmp(k, "lower") == 0)
            continue;   /* lower claims are settled once every item is known (release_lower_claims) */
        if (!k || !by || !strstr(kinds, k) || strcmp(by, id) != 0) {
            snprintf(who, wholen, "%s %s", k ? k : "?", by ? by : "?");
            claimed = true;
        }
    }
    return claimed;
}

/* Every other l/ symlink into the dir goes with it, whatever its link file
 * says: dockerd 26+ makes the symlink before it writes the link file, so a
 * crash in between leaves a dir without one and a live symlink into it. No
 * lower file of a dir that stays names them (the dir would be claimed). */
static void add_other_links(struct builder *b, struct reap_item *it, const char *dir, const char *own)
{
    char path[300];
    sqlite3_reset(b->q_links_to);
    db_bind_text(b->q_links_to, 1, dir);
    while (sqlite3_step(b->q_links_to) == SQLITE_ROW) {
        const char *name = col_text(b->q_links_to, 0);
        if (!name || strcmp(name, own) == 0 || !id_is_safe_component(name, strlen(name)))
            continue;
        snprintf(path, sizeof path, "overlay2/l/%.200s", name);
        add_step(it, REAP_REMOVE, ROLE_LINK, path)->link_dir = act_strdup(dir);
    }
}

/* Steps for an overlay2 dir and its l/ link owned by (kinds, owner). */
static void add_dir_steps(struct builder *b, struct reap_item *it, const char *dir, const char *kinds,
                          const char *owner)
{
    char link[64], who[200], path[300];
    if (!id_is_overlay_dir(dir, strlen(dir)) || !overlay_dir_link(b, dir, link, sizeof link))
        return;
    if (dir_claimed_by_other(b, dir, kinds, owner, who, sizeof who)) {
        reap_plan_note(b->plan, "overlay2/%s is kept: %s also claims it (%s %s)", dir, who, it->check, it->object);
        it->bytes = -1;
        return;
    }
    snprintf(path, sizeof path, "overlay2/%s", dir);
    add_step(it, REAP_REMOVE, ROLE_OVERLAY_DIR, path);
    if (link[0]) {
        snprintf(path, sizeof path, "overlay2/l/%s", link);
        add_step(it, REAP_REMOVE, ROLE_LINK, path)->link_dir = act_strdup(dir);
    }
    add_other_links(b, it, dir, link);
}

static int layer_depth(struct builder *b, const char *chain)
{
    char cur[HEX64_LEN + 1];
    snprintf(cur, sizeof cur, "%s", chain);
    int depth = 0;
    while (depth < MAX_LAYER_DEPTH) {
        sqlite3_reset(b->q_parent);
        db_bind_text(b->q_parent, 1, cur);
        if (sqlite3_step(b->q_parent) != SQLITE_ROW || !col_text(b->q_parent, 0))
            break;
        snprintf(cur, sizeof cur, "%s", col_text(b->q_parent, 0));
        depth++;
    }
    return depth;
}

/* A layer: rename aside, overlay dir + link, the renamed-aside metadata. */
static void add_layer_item(struct builder *b, enum item_kind kind, const char *check, const char *severity,
                           const char *chain, const char *why, int64_t bytes)
{
    if (!id_is_hex64(chain, strlen(chain)))
        return;
    struct reap_item *it = new_item(b, kind, check, severity, chain, why);
    it->bytes = bytes;
    it->depth = layer_depth(b, chain);
    char path[300];
    snprintf(path, sizeof path, LAYERDB "/sha256/%s", chain);
    it->primary = act_strdup(path);
    add_step(it, REAP_RENAME_ASIDE, ROLE_PLAIN, path);
    sqlite3_reset(b->q_layer);
    db_bind_text(b->q_layer, 1, chain);
    if (sqlite3_step(b->q_layer) == SQLITE_ROW && col_text(b->q_layer, 0)) {
        char *cache = act_strdup(col_text(b->q_layer, 0));
        add_dir_steps(b, it, cache, "layer", chain);
        free(cache);
    }
    add_step(it, REAP_REMOVE_ASIDE, ROLE_PLAIN, path);
}

/* The ids of a mount that are well-formed (NULL otherwise). */
static void mount_ids(struct builder *b, const char *container, char **mid, char **iid)
{
    sqlite3_stmt *q;
    char e[128];
    *mid = *iid = NULL;
    if (db_prepare(b->db, "SELECT CASE WHEN mount_id_state = 'ok' THEN mount_id END,"
                          " CASE WHEN init_id_state = 'ok' THEN init_id END FROM mount WHERE container_id = ?1",
                   &q, e, sizeof e) < 0)
        return;
    db_bind_text(q, 1, container);
    if (sqlite3_step(q) == SQLITE_ROW) {
        *mid = act_strdup(col_text(q, 0));
        *iid = act_strdup(col_text(q, 1));
    }
    sqlite3_finalize(q);
}

/* The RW and -init dirs of mount entry <container> (and their l/ links). */
static void add_mount_dir_steps(struct builder *b, struct reap_item *it, const char *container)
{
    char *mid, *iid;
    mount_ids(b, container, &mid, &iid);
    if (mid)
        add_dir_steps(b, it, mid, "mount init", container);
    if (iid)
        add_dir_steps(b, it, iid, "mount init", container);
    free(mid);
    free(iid);
}

static void add_mount_item(struct builder *b, const char *object, const char *why, int64_t bytes)
{
    size_t n = strlen(object);
    if (!id_is_hex64(object, n) && !id_is_buildkit(object, n))
        return;
    struct reap_item *it = new_item(b, KIND_MOUNT, "mount-container-missing", "garbage", object, why);
    it->bytes = bytes;
    char path[300];
    snprintf(path, sizeof path, LAYERDB "/mounts/%s", object);
    it->primary = act_strdup(path);
    add_step(it, REAP_REMOVE, ROLE_PLAIN, path);
    add_mount_dir_steps(b, it, object);
}

/* An image mount entry whose container is gone: the entry (a leaf of
 * layerdb/mounts/<container>-<ref>/...), its dirs and their l/ links as for
 * a mount, then every level above it that is left empty. */
static void add_image_mount_item(struct builder *b, const char *object, const char *path, const char *why,
                                 int64_t bytes)
{
    if (!reap_path_allowed(path) || strncmp(path, LAYERDB "/mounts/", strlen(LAYERDB "/mounts/")) != 0) {
        reap_plan_note(b->plan, "image-mount-container-missing %s: refusing to touch '%s'", object, path);
        return;
    }
    struct reap_item *it = new_item(b, KIND_IMAGE_MOUNT, "image-mount-container-missing", "garbage", object, why);
    it->bytes = bytes;
    it->primary = act_strdup(path);
    add_step(it, REAP_REMOVE, ROLE_PLAIN, path);
    add_mount_dir_steps(b, it, object);
    char *level = act_strdup(path);
    for (char *slash = strrchr(level, '/'); slash && slash > level + strlen(LAYERDB "/mounts");
         slash = strrchr(level, '/')) {
        *slash = '\0';
        if (strlen(level) > strlen(LAYERDB "/mounts/"))
            add_step(it, REAP_PRUNE_EMPTY, ROLE_PLAIN, level);
    }
    free(level);
}

/* A container dockerd was removing: finish docker rm in its own order, so
 * that an interruption leaves this finding or container-mount-missing. */
static void add_container_removal_item(struct builder *b, const char *object, const char *why, int64_t bytes)
{
    if (!id_is_hex64(object, strlen(object)))
        return;
    struct reap_item *it = new_item(b, KIND_CONTAINER_REMOVAL, "container-removal-leftover", "garbage", object, why);
    it->bytes = bytes;
    char path[300];
    add_mount_dir_steps(b, it, object);
    snprintf(path, sizeof path, LAYERDB "/mounts/%s", object);
    add_step(it, REAP_REMOVE, ROLE_PLAIN, path);
    snprintf(path, sizeof path, "containers/%s", object);
    it->primary = act_strdup(path);
    add_step(it, REAP_REMOVE, ROLE_CONTAINER_DIR, path);
}

static void add_single_item(struct builder *b, enum item_kind kind, enum step_role role, const char *check,
                            const char *object, const char *path, const char *why, int64_t bytes)
{
    if (!reap_path_allowed(path)) {
        reap_plan_note(b->plan, "%s %s: refusing to touch '%s'", check, object, path);
        return;
    }
    struct reap_item *it = new_item(b, kind, check, "garbage", object, why);
    it->bytes = bytes;
    it->primary = act_strdup(path);
    add_step(it, REAP_REMOVE, role, path);
}

static void add_overlay_orphan(struct builder *b, const char *object, const char *why, int64_t bytes)
{
    if (!id_is_overlay_dir(object, strlen(object)))
        return;
    struct reap_item *it = new_item(b, KIND_OVERLAY_ORPHAN, "overlay-dir-orphaned", "garbage", object, why);
    it->bytes = bytes;
    char path[300];
    snprintf(path, sizeof path, "overlay2/%s", object);
    it->primary = act_strdup(path);
    add_dir_steps(b, it, object, "", "");
    if (it->step_count == 0)
        add_step(it, REAP_REMOVE, ROLE_OVERLAY_DIR, path);   /* the scan saw it; re-verified anyway */
}

static void add_image_item(struct builder *b, const char *image, const char *why)
{
    if (!id_is_hex64(image, strlen(image)))
        return;
    struct reap_item *it = new_item(b, KIND_IMAGE, "image-layer-missing", "error", image, why);
    char path[300];
    sqlite3_stmt *q;
    char e[128];
    if (db_prepare(b->db, "SELECT ref FROM tag WHERE image_id = ?1 ORDER BY ref", &q, e, sizeof e) == 0) {
        db_bind_text(q, 1, image);
        while (sqlite3_step(q) == SQLITE_ROW) {
            it->tags = grow_array_or_die(it->tags, &it->tag_cap, it->tag_count + 1, sizeof *it->tags);
            it->tags[it->tag_count++] = act_strdup(col_text(q, 0));
        }
        sqlite3_finalize(q);
    }
    if (it->tag_count)
        add_step(it, REAP_UNTAG, ROLE_PLAIN, REAP_TAGS_PATH);
    snprintf(path, sizeof path, "image/overlay2/imagedb/metadata/sha256/%s", image);
    struct stat st;
    if (act_lstat(b->rootfd, path, &st))
        add_step(it, REAP_REMOVE, ROLE_PLAIN, path);
    snprintf(path, sizeof path, "image/overlay2/imagedb/content/sha256/%s", image);
    it->primary = act_strdup(path);
    add_step(it, REAP_REMOVE, ROLE_PLAIN, path);
}

/* A dangling layer and every layer built on it (children first, by depth). */
static void add_dangling_subtree(struct builder *b, const char *chain, const char *why)
{
    sqlite3_stmt *q;
    char e[256];
    const char *sql =
        "WITH RECURSIVE d(chain_id, depth) AS (SELECT ?1, 0 UNION"
        "  SELECT l.chain_id, d.depth + 1 FROM layer l JOIN d ON l.parent = d.chain_id"
        "  WHERE l.parent_state = 'ok' AND d.depth < 4096)"
        " SELECT d.chain_id, (SELECT m.container_id FROM mount m WHERE m.parent_state = 'ok'"
        "                     AND m.parent = d.chain_id LIMIT 1) FROM d ORDER BY d.depth DESC";
    if (!id_is_hex64(chain, strlen(chain)) || db_prepare(b->db, sql, &q, e, sizeof e) < 0)
        return;
    db_bind_text(q, 1, chain);
    char **chains = NULL;
    size_t n = 0, chains_cap = 0;
    bool blocked = false;
    while (sqlite3_step(q) == SQLITE_ROW) {
        if (col_text(q, 1)) {
            reap_plan_note(b->plan, "layer-cache-id-dangling sha256:%s is not removed: container %s is built on "
                          "sha256:%s (remove the container first)", chain, col_text(q, 1), col_text(q, 0));
            blocked = true;
            break;
        }
        chains = grow_array_or_die(chains, &chains_cap, n + 1, sizeof *chains);
        chains[n++] = act_strdup(col_text(q, 0));
    }
    sqlite3_finalize(q);
    for (size_t i = 0; i < n; i++) {
        if (!blocked) {
            char *child_why = strcmp(chains[i], chain) == 0 ? NULL
                            : act_printf("built on sha256:%s, whose content is gone", chain);
            add_layer_item(b, KIND_LAYER_DANGLING, "layer-cache-id-dangling", "error", chains[i],
                           child_why ? child_why : why, -1);
            free(child_why);
        }
        free(chains[i]);
    }
    free(chains);
}

/* ---- the findings ------------------------------------------------------ */

/* One finding -> items. Returns true when it was planned. */
static bool add_finding(struct builder *b, const char *check, const char *object, const char *path,
                        const char *why, int64_t bytes)
{
    size_t before = b->plan->count;
    if (strcmp(check, "overlay-dir-orphaned") == 0)
        add_overlay_orphan(b, object, why, bytes);
    else if (strcmp(check, "overlay-link-broken") == 0)
        add_single_item(b, KIND_LINK_BROKEN, ROLE_BROKEN_LINK, check, object, path, why, bytes);
    else if (strcmp(check, "layer-unreferenced") == 0)
        add_layer_item(b, KIND_LAYER, check, "garbage", object, why, bytes);
    else if (strcmp(check, "layerdb-tmp-leftover") == 0 || strcmp(check, "layerdb-removing-leftover") == 0 ||
             strcmp(check, "imagedb-tmp-leftover") == 0 || strcmp(check, "root-tmp-leftover") == 0)
        add_single_item(b, KIND_LEFTOVER, ROLE_PLAIN, check, object, path, why, bytes);
    else if (strcmp(check, "mount-container-missing") == 0)
        add_mount_item(b, object, why, bytes);
    else if (strcmp(check, "image-mount-container-missing") == 0)
        add_image_mount_item(b, object, path, why, bytes);
    else if (strcmp(check, "overlay-tmp-leftover") == 0)
        add_single_item(b, KIND_LEFTOVER, ROLE_PLAIN, check, object, path, why, bytes);
    else if (strcmp(check, "container-removal-leftover") == 0)
        add_container_removal_item(b, object, why, bytes);
    else if (strcmp(check, "container-mount-missing") == 0)
        add_single_item(b, KIND_CONTAINER, ROLE_CONTAINER_DIR, check, object, path, why, bytes);
    else if (strcmp(check, "image-layer-missing") == 0)
        add_image_item(b, object, why);
    else if (strcmp(check, "layer-cache-id-dangling") == 0)
        add_dangling_subtree(b, object, why);
    return b->plan->count > before;
}

/* The lookups of the plan that no check makes (children of a layer, l/
 * links by target dir) get their indexes here, not in every scan. */
static int index_for_lookups(struct builder *b)
{
    return db_exec(b->db, "CREATE INDEX IF NOT EXISTS layer_parent ON layer (parent);"
                          "CREATE INDEX IF NOT EXISTS link_target_dir ON link (target_dir);", b->err, b->errlen);
}

static int prepare_queries(struct builder *b)
{
    if (db_prepare(b->db, "SELECT cache_id FROM layer WHERE chain_id = ?1 AND cache_id_state = 'ok'", &b->q_layer, b->err, b->errlen) < 0 ||
        db_prepare(b->db, "SELECT parent FROM layer WHERE chain_id = ?1 AND parent_state = 'ok'", &b->q_parent, b->err, b->errlen) < 0 ||
        db_prepare(b->db, "SELECT link FROM overlay_dir WHERE name = ?1", &b->q_dir, b->err, b->errlen) < 0 ||
        db_prepare(b->db, "SELECT 1 FROM link WHERE name = ?1 AND target_dir = ?2 AND type = 'symlink'", &b->q_link, b->err, b->errlen) < 0 ||
        db_prepare(b->db, "SELECT by_kind, by_id FROM overlay_ref WHERE dir = ?1", &b->q_claims, b->err, b->errlen) < 0 ||
        db_prepare(b->db, "SELECT name FROM link WHERE target_dir = ?1 AND type = 'symlink' ORDER BY name",
                   &b->q_links_to, b->err, b->errlen) < 0)
        return -1;
    return 0;
}

static void finalize_queries(struct builder *b)
{
    sqlite3_finalize(b->q_layer);
    sqlite3_finalize(b->q_parent);
    sqlite3_finalize(b->q_dir);
    sqlite3_finalize(b->q_link);
    sqlite3_finalize(b->q_claims);
    sqlite3_finalize(b->q_links_to);
}

/* Does the reaper act on this finding? What the check declares (action:
 * reap while the finding is garbage -- a severity override to error or
 * warning keeps it --, reap-include when --include names it). */
static bool wanted(const struct builder *b, const char *check, bool is_garbage)
{
    const struct check *c = catalog_find((struct catalog *)b->cat, check);
    if (!c)
        return false;
    return (c->action == ACTION_REAP && is_garbage) || (c->action == ACTION_REAP_INCLUDE && listed(b->include, check));
}

static int add_findings(struct builder *b)
{
    sqlite3_stmt *q;
    if (db_prepare(b->db, "SELECT check_name, severity, object, path, detail, bytes FROM finding"
                          " WHERE young = 0 ORDER BY seq", &q, b->err, b->errlen) < 0)
        return -1;
    int64_t garbage = 0, errors = 0, planned_garbage = 0, planned_errors = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *check = col_text(q, 0), *sev = col_text(q, 1);
        if (!check || !sev || !col_text(q, 2))
            continue;
        bool is_garbage = strcmp(sev, "garbage") == 0, is_error = strcmp(sev, "error") == 0;
        garbage += is_garbage;
        errors += is_error;
        if (strcmp(sev, "warning") == 0)
            b->plan->warnings++;
        if (!wanted(b, check, is_garbage))
            continue;
        char *object = act_strdup(col_text(q, 2)), *path = act_strdup(col_text(q, 3));
        char *why = act_strdup(col_text(q, 4));
        bool planned = add_finding(b, check, object, path ? path : "", why, sqlite3_column_int64(q, 5));
        if (planned && is_garbage)
            planned_garbage++;
        if (planned && is_error)
            planned_errors++;
        free(object);
        free(path);
        free(why);
    }
    sqlite3_finalize(q);
    b->plan->garbage_left = garbage - planned_garbage;
    b->plan->errors_left = errors - planned_errors;
    b->plan->young_skipped = db_query_int(b->db, "SELECT count(*) FROM finding WHERE young = 1", 0);
    return 0;
}

/* ---- lower claims ------------------------------------------------------ */

/* Is overlay2/<dir> removed by some item of the plan? */
static bool dir_planned(const struct reap_plan *p, const char *dir)
{
    for (size_t i = 0; i < p->count; i++)
        for (size_t j = 0; j < p->items[i].step_count; j++) {
            const struct reap_step *s = &p->items[i].steps[j];
            if (s->role == ROLE_OVERLAY_DIR && strncmp(s->path, "overlay2/", 9) == 0 && strcmp(s->path + 9, dir) == 0)
                return true;
        }
    return false;
}

static void drop_dir_steps(struct reap_item *it, const char *dir);

/* A dir named in the lower file of a claimed dir is claimed too (the core's
 * overlay_ref 'lower' rows, which keep one witness per dir). Every claiming
 * dir is looked up here: a directly claimed dir whose lower file names the
 * dir's short name (its link file's, or that of an l/ symlink to its diff).
 * Such a claim does not count when the claiming dir is itself removed by the
 * plan (a child layer's dir, a container's RW dir over its -init dir);
 * otherwise the dir is kept. The lower entries of the directly claimed dirs
 * are materialized once, with an index on short (overlay_lower is a view
 * over the lower files). -1 when the claims cannot be read: then nothing
 * may be planned. */
static const char claimant_table_sql[] =
    "DROP TABLE IF EXISTS temp.reap_claimant;"
    "CREATE TEMP TABLE reap_claimant AS SELECT x.short AS short, x.dir AS dir FROM overlay_lower x"
    " WHERE x.short IS NOT NULL AND x.dir IN (SELECT dir FROM overlay_ref WHERE by_kind <> 'lower');"
    "CREATE INDEX temp.reap_claimant_short ON reap_claimant (short);";

static const char claimants_sql[] =
    "SELECT DISTINCT c.dir FROM temp.reap_claimant c"
    " WHERE c.short IN (SELECT link FROM overlay_dir WHERE name = ?1 AND link_state = 'ok'"
    "                   UNION SELECT name FROM link WHERE target_dir = ?1)"
    " ORDER BY c.dir";

static int keeper_of(struct builder *b, sqlite3_stmt *q, const char *dir, char **keeper)
{
    char *found = NULL;
    int rc;
    sqlite3_reset(q);
    db_bind_text(q, 1, dir);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        if (col_text(q, 0) && !dir_planned(b->plan, col_text(q, 0))) {
            found = act_strdup(col_text(q, 0));
            break;
        }
    *keeper = found;
    if (found || rc == SQLITE_DONE)
        return 0;
    snprintf(b->err, b->errlen, "database: lower claims on overlay2/%s: %s", dir, sqlite3_errmsg(b->db->h));
    return -1;
}

static int release_lower_claims(struct builder *b)
{
    sqlite3_stmt *q;
    if (db_exec(b->db, claimant_table_sql, b->err, b->errlen) < 0 ||
        db_prepare(b->db, claimants_sql, &q, b->err, b->errlen) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < b->plan->count; i++) {
        struct reap_item *it = &b->plan->items[i];
        for (size_t j = 0; rc == 0 && j < it->step_count; j++) {
            struct reap_step *s = &it->steps[j];
            if (s->role != ROLE_OVERLAY_DIR || strncmp(s->path, "overlay2/", 9) != 0)
                continue;
            char *dir = act_strdup(s->path + 9);
            char *keeper = NULL;
            rc = keeper_of(b, q, dir, &keeper);
            if (rc == 0 && keeper && it->kind != KIND_OVERLAY_ORPHAN) {
                reap_plan_note(b->plan, "overlay2/%s is kept: overlay2/%s, which stays, has it as a lower dir (%s %s)",
                              dir, keeper, it->check, it->object);
                drop_dir_steps(it, dir);
                it->bytes = -1;
                j = (size_t)-1;   /* the steps moved: start this item over */
            }
            free(keeper);
            free(dir);
        }
    }
    sqlite3_finalize(q);
    return rc;
}

/* ---- order, dedupe, identities ---------------------------------------- */

static int kind_group(enum item_kind k)
{
    switch (k) {
    case KIND_IMAGE: return 0;
    case KIND_CONTAINER: return 1;
    case KIND_CONTAINER_REMOVAL: return 1;
    case KIND_IMAGE_MOUNT: return 2;
    case KIND_MOUNT: return 2;
    case KIND_LAYER_DANGLING: return 3;
    case KIND_LAYER: return 3;
    case KIND_OVERLAY_ORPHAN: return 4;
    case KIND_LINK_BROKEN: return 5;
    case KIND_LEFTOVER: return 6;
    }
    return 7;
}

static int cmp_items(const void *pa, const void *pb)
{
    const struct reap_item *a = pa, *b = pb;
    int ga = kind_group(a->kind), gb = kind_group(b->kind);
    if (ga != gb)
        return ga - gb;
    if (a->depth != b->depth)
        return b->depth - a->depth;   /* children (deeper) first */
    if (a->kind != b->kind)
        return a->kind == KIND_LAYER_DANGLING ? -1 : 1;
    int c = strcmp(a->check, b->check);
    return c ? c : strcmp(a->object, b->object);
}

void reap_plan_sort(struct reap_plan *plan)
{
    if (plan->count > 1)
        qsort(plan->items, plan->count, sizeof *plan->items, cmp_items);
}

static void free_step(struct reap_step *s)
{
    free(s->path);
    free(s->link_dir);
    free(s->aside);
}

static void free_item(struct reap_item *it)
{
    free(it->check);
    free(it->severity);
    free(it->object);
    free(it->why);
    free(it->primary);
    free(it->error);
    act_free_strings(it->tags, it->tag_count);
    for (size_t i = 0; i < it->step_count; i++)
        free_step(&it->steps[i]);
    free(it->steps);
    memset(it, 0, sizeof *it);
}

struct seen {
    char **v;
    size_t n, cap;
};

static bool seen_has(const struct seen *s, const char *path)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], path) == 0)
            return true;
    return false;
}

static void seen_add(struct seen *s, const char *path)
{
    s->v = grow_array_or_die(s->v, &s->cap, s->n + 1, sizeof *s->v);
    s->v[s->n++] = act_strdup(path);
}

static void drop_step(struct reap_item *it, size_t i)
{
    free_step(&it->steps[i]);
    memmove(&it->steps[i], &it->steps[i + 1], (it->step_count - i - 1) * sizeof *it->steps);
    it->step_count--;
}

/* Remove the steps of overlay2/<dir> and of its l/ link. */
static void drop_dir_steps(struct reap_item *it, const char *dir)
{
    for (size_t i = 0; i < it->step_count;) {
        const struct reap_step *s = &it->steps[i];
        bool is_dir = s->role == ROLE_OVERLAY_DIR && strcmp(s->path + 9, dir) == 0;
        bool is_link = s->role == ROLE_LINK && s->link_dir && strcmp(s->link_dir, dir) == 0;
        if (is_dir || is_link)
            drop_step(it, i);
        else
            i++;
    }
}

/* lstat every step now; a vanished path is dropped. Returns false when the
 * item has nothing left to do. */
static bool record_identities(struct builder *b, struct reap_item *it)
{
    struct reap_step *aside = NULL;
    for (size_t i = 0; i < it->step_count;) {
        struct reap_step *s = &it->steps[i];
        struct stat st;
        if (s->action == REAP_UNTAG) {
            i++;
            continue;
        }
        if (s->action == REAP_REMOVE_ASIDE) {
            if (!aside) {
                drop_step(it, i);
                continue;
            }
            s->have_id = true;
            s->dev = aside->dev;
            s->ino = aside->ino;
            s->type = aside->type;
            i++;
            continue;
        }
        if (!reap_path_allowed(s->path) || !act_lstat(b->rootfd, s->path, &st)) {
            if (errno != ENOENT)
                reap_plan_note(b->plan, "%s %s: cannot use %s: %s", it->check, it->object, s->path, strerror(errno));
            drop_step(it, i);
            it->bytes = -1;
            continue;
        }
        s->have_id = true;
        s->dev = st.st_dev;
        s->ino = st.st_ino;
        s->type = st.st_mode & S_IFMT;
        if (s->action == REAP_RENAME_ASIDE)
            aside = s;
        if (it->primary && strcmp(it->primary, s->path) == 0)
            it->mtime = (int64_t)st.st_mtime;
        i++;
    }
    if (it->primary) {
        bool primary_left = false;
        for (size_t i = 0; i < it->step_count; i++)
            primary_left |= strcmp(it->steps[i].path, it->primary) == 0;
        if (!primary_left)
            return false;
    }
    return it->step_count > 0;
}

static void measure(struct builder *b, struct reap_item *it)
{
    if (it->bytes >= 0)
        return;
    it->bytes = 0;
    for (size_t i = 0; i < it->step_count; i++)
        if (it->steps[i].action == REAP_REMOVE || it->steps[i].action == REAP_RENAME_ASIDE)
            it->bytes += sizes_of_path(b->root, it->steps[i].path);
}

/* measure() of plan item i: its du walks run on par_for's threads. */
static void measure_one(void *ctx, size_t i)
{
    struct builder *b = ctx;
    measure(b, &b->plan->items[i]);
}

/* Drop paths planned by an earlier item; drop items left empty; then
 * measure what is left. */
static void dedupe_and_identify(struct builder *b)
{
    struct reap_plan *p = b->plan;
    struct seen seen = { 0 };
    size_t out = 0;
    for (size_t i = 0; i < p->count; i++) {
        struct reap_item *it = &p->items[i];
        for (size_t j = 0; j < it->step_count;) {
            struct reap_step *s = &it->steps[j];
            if (s->action != REAP_UNTAG && s->action != REAP_REMOVE_ASIDE && seen_has(&seen, s->path)) {
                drop_step(it, j);
                it->bytes = -1;
                continue;
            }
            j++;
        }
        if (!record_identities(b, it)) {
            free_item(it);
            continue;
        }
        for (size_t j = 0; j < it->step_count; j++)
            if (it->steps[j].action != REAP_UNTAG && it->steps[j].action != REAP_REMOVE_ASIDE)
                seen_add(&seen, it->steps[j].path);
        p->items[out++] = *it;
    }
    p->count = out;
    par_for(p->count, SIZES_FDS_PER_WALK, measure_one, b);
    for (size_t i = 0; i < seen.n; i++)
        free(seen.v[i]);
    free(seen.v);
}

int reap_plan_build(struct reap_plan *plan, struct db *db, const char *root, const struct catalog *cat,
                    const char *include, char *err, size_t errlen)
{
    memset(plan, 0, sizeof *plan);
    struct builder b = { .plan = plan, .cat = cat, .include = include, .db = db, .root = root, .err = err,
                         .errlen = errlen };
    b.rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (b.rootfd < 0) {
        snprintf(err, errlen, "cannot open root %s: %s", root, strerror(errno));
        return -1;
    }
    int rc = index_for_lookups(&b);
    if (rc == 0)
        rc = prepare_queries(&b);
    if (rc == 0)
        rc = add_findings(&b);
    finalize_queries(&b);
    if (rc == 0)
        rc = release_lower_claims(&b);
    if (rc == 0) {
        reap_plan_sort(plan);
        dedupe_and_identify(&b);
    }
    close(b.rootfd);
    return rc;
}

void reap_plan_free(struct reap_plan *plan)
{
    for (size_t i = 0; i < plan->count; i++)
        free_item(&plan->items[i]);
    free(plan->items);
    act_free_strings(plan->notes, plan->note_count);
    memset(plan, 0, sizeof *plan);
}

int64_t reap_plan_bytes(const struct reap_plan *plan)
{
    int64_t n = 0;
    for (size_t i = 0; i < plan->count; i++)
        n += plan->items[i].bytes;
    return n;
}

size_t reap_plan_paths(const struct reap_plan *plan)
{
    size_t n = 0;
    for (size_t i = 0; i < plan->count; i++)
        for (size_t j = 0; j < plan->items[i].step_count; j++)
            n += plan->items[i].steps[j].action != REAP_REMOVE_ASIDE;
    return n;
}
