/* reap_refs.c — re-verification: a fresh, independent reading of every
 * reference in the store, taken again right before each item is touched.
 *
 * Owns: the second opinion. The plan comes from the scan database; this
 * module re-reads the few files that decide whether something is still
 * unreferenced — layerdb/sha256/<chain>/{cache-id,parent,diff},
 * layerdb/mounts/<id>/{mount-id,init-id,parent}, every image config's
 * rootfs.diff_ids (turned into chainIDs) and buildkit/snapshots.db — with
 * the same conservative rules as the checks: when a reference could be
 * missed (an unreadable id file, an unreadable config, a corrupt
 * snapshots.db, a malformed parent or a chainID that does not match), the
 * answer is "claimed" / "used", never "free". The files are read ahead by
 * the scan's pool (prefetch.c) and par_for's threads (--io-depth), in the
 * same order and with the same outcome as one thread reading them. */
#include "reap_internal.h"
#include "grow.h"
#include "buildkit.h"
#include "fsutil.h"
#include "ids.h"
#include "parallel.h"
#include "prefetch.h"
#include "scan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define LOWER_READ_FDS 3    /* act_open_parent's two dirs and the file */

struct ref_layer {
    char chain[HEX64_LEN + 1];
    char *cache_id;       /* valid overlay dir name, else NULL */
    char parent[HEX64_LEN + 1];   /* "" for a base layer */
    bool parent_bad;      /* the parent file is empty, malformed or unreadable */
    bool gone;            /* removed by this run since the load (reap_refs_forget_path) */
};

struct ref_mount {
    char *id;
    char *mount_id, *init_id;     /* valid names, else NULL */
    char parent[HEX64_LEN + 1];
    bool parent_bad;      /* as for layers */
    bool gone;            /* as for layers */
};

struct str_set {
    char **v;
    size_t n, cap;
    bool sorted;
};

/* A directly claimed dir and its lower file (for lower claims). */
struct ref_claimed {
    const char *dir;     /* NULL once its owner is gone */
    const char *owner;   /* chainID or container id; NULL for BuildKit */
    const char *parent;  /* the owner's parent layer ("": none), NULL for BuildKit */
    bool parent_bad;     /* the owner's parent file cannot be trusted */
    char *lower;         /* NULL when none or unreadable */
    bool lower_missing;  /* the dir is there, its lower file is not */
    const char *lower_problem;   /* why the lower file cannot be trusted, or NULL */
};

/* An overlay2/l/<name> symlink to ../<dir>/diff (a short name of dir). */
struct ref_link {
    char name[LINK_NAME_LEN + 1];
    char *dir;
    bool gone;            /* removed by this run since the load */
};

/* One name a claimed dir's lower file gives: l/<name> (see lower_names). */
struct ref_lower_name {
    const char *name;     /* into the claimed dir's lower text */
    size_t len;
    size_t claimed;       /* index in claimed[] */
};

struct reap_refs {
    int rootfd;
    struct ref_lower_name *lower_names;   /* sorted by name, then claimed */
    size_t lower_name_count, lower_name_cap;
    size_t *unresolved;           /* lower_names[] entries no l/ entry has the name of */
    size_t unresolved_count;
    size_t *unknown_lowers;       /* claimed[] entries whose lower file cannot be trusted */
    size_t unknown_lower_count;
    struct ref_link *links;       /* sorted by dir, then name */
    size_t link_count;
    struct ref_claimed *claimed;
    size_t claimed_count, claimed_cap;
    struct ref_layer *layers;
    size_t layer_count, layer_cap;
    struct ref_mount *mounts;
    size_t mount_count, mount_cap;
    struct str_set image_chains, bk_dirs, bk_chains;
    char claims_unknown[256];   /* why dir claims cannot be known ("" = they can) */
    char graph_unknown[256];    /* why layer use cannot be known */
    bool buildkit_bad;
};

/* ---- a sorted set of strings ----------------------------------------- */

static int set_add(struct str_set *s, const char *v)
{
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 32;
        char **nv = realloc(s->v, ncap * sizeof *nv);
        if (!nv)
            return -1;
        s->v = nv;
        s->cap = ncap;
    }
    if (!(s->v[s->n] = strdup(v)))
        return -1;
    s->n++;
    s->sorted = false;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void set_sort(struct str_set *s)
{
    if (!s->sorted && s->n)
        qsort(s->v, s->n, sizeof *s->v, cmp_str);
    s->sorted = true;
}

static bool set_has(const struct str_set *s, const char *v)
{
    return s->n && bsearch(&v, s->v, s->n, sizeof *s->v, cmp_str) != NULL;
}

static void set_free(struct str_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* ---- id files -------------------------------------------------------- */

enum id_state { ID_OK, ID_MISSING, ID_EMPTY, ID_INVALID, ID_UNREADABLE };

/* Read dirfd/name (or take what the pool read ahead of it: ahead, NULL
 * when none), trimmed; "sha256:" stripped when strip is set. */
static enum id_state read_id_ahead(struct pf_entry *ahead, int dirfd, const char *name,
                                   bool (*valid)(const char *, size_t), bool strip, char *out, size_t outlen)
{
    struct file_buf b;
    out[0] = '\0';
    if (!pf_entry_take(ahead, name, CAP_ID_FILE, &b))
        fs_read_file(dirfd, name, CAP_ID_FILE, &b);
    if (b.status == FILE_MISSING)
        return ID_MISSING;
    if (b.status != FILE_OK)
        return ID_UNREADABLE;
    enum id_state st = ID_OK;
    bool nul = memchr(b.data, '\0', b.len) != NULL;
    size_t len = nul ? b.len : id_trim(b.data, b.len);
    const char *v = b.data;
    if (!nul && len == 0)
        st = ID_EMPTY;
    else if (nul || !valid(b.data, len))
        st = ID_INVALID;
    else {
        if (strip && len == DIGEST_LEN && memcmp(v, "sha256:", 7) == 0) {
            v += 7;
            len -= 7;
        }
        if (len >= outlen)
            st = ID_INVALID;
        else
            snprintf(out, outlen, "%.*s", (int)len, v);
    }
    file_buf_free(&b);
    return st;
}

static enum id_state read_id(int dirfd, const char *name, bool (*valid)(const char *, size_t), bool strip,
                             char *out, size_t outlen)
{
    return read_id_ahead(NULL, dirfd, name, valid, strip, out, outlen);
}

static void note_unknown(char *buf, size_t buflen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Keep the first reason only. */
static void note_unknown(char *buf, size_t buflen, const char *fmt, ...)
{
    if (buf[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, buflen, fmt, ap);
    va_end(ap);
}

/* ---- layers ----------------------------------------------------------- */

struct list_ctx {
    struct reap_refs *r;
    int dirfd;
    int rc;
    struct pf_entry *ahead;   /* the walked entry's files, read ahead by the pool */
};

static struct ref_layer *new_layer(struct reap_refs *r)
{
    if (r->layer_count == r->layer_cap) {
        size_t ncap = r->layer_cap ? r->layer_cap * 2 : 64;
        struct ref_layer *nv = realloc(r->layers, ncap * sizeof *nv);
        if (!nv)
            return NULL;
        r->layers = nv;
        r->layer_cap = ncap;
    }
    struct ref_layer *l = &r->layers[r->layer_count++];
    memset(l, 0, sizeof *l);
    return l;
}

static void check_chain(struct reap_refs *r, struct pf_entry *ahead, int fd, const struct ref_layer *l,
                        bool parent_ok)
{
    char diff[DIGEST_LEN + 1];
    if (read_id_ahead(ahead, fd, "diff", id_is_digest, false, diff, sizeof diff) != ID_OK || !parent_ok)
        return;   /* a layer without diff has no computed chain (as in the scan) */
    char pfull[DIGEST_LEN + 1], chain[DIGEST_LEN + 1];
    if (l->parent[0])
        snprintf(pfull, sizeof pfull, "sha256:%s", l->parent);
    id_chain_id(l->parent[0] ? pfull : NULL, diff, chain);
    if (strcmp(chain + 7, l->chain) != 0)
        note_unknown(r->graph_unknown, sizeof r->graph_unknown, "layer %s has a chainID that does not match its diff and parent", l->chain);
}

static int on_layer(void *ctx, const char *name, unsigned char d_type)
{
    (void)d_type;
    struct list_ctx *c = ctx;
    struct reap_refs *r = c->r;
    if (!id_is_hex64(name, strlen(name)))
        return 0;   /* -removing leftovers and strays reference nothing */
    int fd = fs_open_dir(c->dirfd, name);
    if (fd < 0) {
        if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP)
            note_unknown(r->claims_unknown, sizeof r->claims_unknown, "cannot open layerdb/sha256/%s: %s", name, strerror(errno));
        return 0;
    }
    struct ref_layer *l = new_layer(r);
    if (!l) {
        close(fd);
        return -1;
    }
    snprintf(l->chain, sizeof l->chain, "%s", name);
    char cache[256];
    enum id_state cs = read_id_ahead(c->ahead, fd, "cache-id", id_is_safe_component, false, cache, sizeof cache);
    if (cs == ID_UNREADABLE)
        note_unknown(r->claims_unknown, sizeof r->claims_unknown, "layerdb/sha256/%s/cache-id is unreadable", name);
    else if (cs == ID_OK && id_is_overlay_dir(cache, strlen(cache)) && !(l->cache_id = strdup(cache))) {
        close(fd);
        return -1;
    }
    enum id_state ps = read_id_ahead(c->ahead, fd, "parent", id_is_digest, true, l->parent, sizeof l->parent);
    l->parent_bad = ps == ID_INVALID || ps == ID_UNREADABLE || ps == ID_EMPTY;
    if (l->parent_bad)
        note_unknown(r->graph_unknown, sizeof r->graph_unknown, "layerdb/sha256/%s/parent is %s", name,
                     ps == ID_EMPTY ? "empty" : "malformed or unreadable");
    check_chain(r, c->ahead, fd, l, ps == ID_OK || ps == ID_MISSING);
    close(fd);
    return 0;
}

/* ---- mounts ----------------------------------------------------------- */

static bool valid_mount_id(const char *s, size_t n) { return id_is_hex64(s, n) || id_is_buildkit(s, n); }
static bool valid_init_id(const char *s, size_t n) { return id_is_init_dir(s, n) || id_is_overlay_dir(s, n); }

/* Image mounts of Docker 28 (docker run --mount type=image): the entry is
 * layerdb/mounts/<container>-<ref>, one dir level per '/' of the ref, the
 * mount files in the last. As deep as the scan looks. */
#define MOUNT_MAX_DEPTH 8

struct nested_ctx {
    struct reap_refs *r;
    int dirfd;
    const char *path;    /* of dirfd, below layerdb/mounts */
    int depth;
    int rc;
};

static int load_mount(struct reap_refs *r, int dirfd, const char *name, const char *path, int depth);

static int on_nested(void *ctx, const char *name, unsigned char d_type)
{
    (void)d_type;
    struct nested_ctx *c = ctx;
    if (!id_is_safe_component(name, strlen(name)))
        return 0;
    char *path = act_printf("%s/%s", c->path, name);
    int rc = load_mount(c->r, c->dirfd, name, path, c->depth + 1);
    free(path);
    return rc;
}

/* layerdb/mounts/<path>: its mount-id, init-id and parent; a dir without a
 * mount-id file holds image mounts below it. */
static int load_mount(struct reap_refs *r, int dirfd, const char *name, const char *path, int depth)
{
    int fd = fs_open_dir(dirfd, name);
    if (fd < 0) {
        if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP)
            note_unknown(r->claims_unknown, sizeof r->claims_unknown, "cannot open layerdb/mounts/%s: %s", path, strerror(errno));
        return 0;
    }
    char v[256];
    enum id_state ms = read_id(fd, "mount-id", valid_mount_id, false, v, sizeof v);
    enum id_state is = ms == ID_MISSING ? read_id(fd, "init-id", valid_init_id, false, v + 128, 128) : ID_MISSING;
    if (ms == ID_MISSING && is == ID_MISSING && depth < MOUNT_MAX_DEPTH) {
        struct nested_ctx c = { .r = r, .dirfd = fd, .path = path, .depth = depth };
        int rc = fs_list_dir(fd, on_nested, &c);
        if (rc < 0 && errno != ENOENT)
            note_unknown(r->claims_unknown, sizeof r->claims_unknown, "cannot list layerdb/mounts/%s: %s", path,
                         strerror(errno));
        /* its own (empty) entry is kept as well: a mount half written */
        if (rc > 0) {
            close(fd);
            return -1;
        }
    }
    if (r->mount_count == r->mount_cap) {
        size_t ncap = r->mount_cap ? r->mount_cap * 2 : 32;
        struct ref_mount *nv = realloc(r->mounts, ncap * sizeof *nv);
        if (!nv) {
            close(fd);
            return -1;
        }
        r->mounts = nv;
        r->mount_cap = ncap;
    }
    struct ref_mount *m = &r->mounts[r->mount_count++];
    memset(m, 0, sizeof *m);
    m->id = strdup(path);
    ms = read_id(fd, "mount-id", valid_mount_id, false, v, sizeof v);
    if (ms == ID_OK)
        m->mount_id = strdup(v);
    is = read_id(fd, "init-id", valid_init_id, false, v, sizeof v);
    if (is == ID_OK)
        m->init_id = strdup(v);
    if (ms == ID_UNREADABLE || is == ID_UNREADABLE)
        note_unknown(r->claims_unknown, sizeof r->claims_unknown, "layerdb/mounts/%s has an unreadable %s", path,
                     ms == ID_UNREADABLE ? "mount-id" : "init-id");
    enum id_state ps = read_id(fd, "parent", id_is_digest, true, m->parent, sizeof m->parent);
    m->parent_bad = ps == ID_INVALID || ps == ID_UNREADABLE || ps == ID_EMPTY;
    close(fd);
    return m->id ? 0 : -1;
}

static int on_mount(void *ctx, const char *name, unsigned char d_type)
{
    (void)d_type;
    struct list_ctx *c = ctx;
    return load_mount(c->r, c->dirfd, name, name, 1);
}

/* ---- images ----------------------------------------------------------- */

/* The chainIDs of image config name; a config whose layers cannot be
 * known (as the scan's image-config-invalid) makes the graph unknown. */
static int add_image_chains(struct reap_refs *r, const char *name, const char *data, size_t len)
{
    cJSON *cfg = cJSON_ParseWithLength(data, len);
    char why[128];
    const char *bad = scan_image_config_error(cfg, why, sizeof why);
    if (bad) {
        note_unknown(r->graph_unknown, sizeof r->graph_unknown, "image config %s: %s", name, bad);
        cJSON_Delete(cfg);
        return 0;
    }
    const cJSON *rootfs = cJSON_GetObjectItemCaseSensitive(cfg, "rootfs");
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(rootfs, "diff_ids");
    char chain[DIGEST_LEN + 1] = "";
    int rc = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, ids) {
        if (!cJSON_IsString(d) || !id_is_digest(d->valuestring, strlen(d->valuestring)))
            break;   /* the chain stops at the first malformed diff_id, as in the scan */
        char next[DIGEST_LEN + 1];
        id_chain_id(chain[0] ? chain : NULL, d->valuestring, next);
        memcpy(chain, next, sizeof chain);
        if ((rc = set_add(&r->image_chains, chain + 7)) < 0)
            break;
    }
    cJSON_Delete(cfg);
    return rc;
}

static int on_image(void *ctx, const char *name, unsigned char d_type)
{
    (void)d_type;
    struct list_ctx *c = ctx;
    if (strncmp(name, ".tmp-", 5) == 0)
        return 0;
    struct file_buf b;
    if (!pf_entry_take(c->ahead, name, CAP_JSON_FILE, &b))
        fs_read_file(c->dirfd, name, CAP_JSON_FILE, &b);
    int rc = 0;
    if (b.status == FILE_OK)
        rc = add_image_chains(c->r, name, b.data, b.len);
    else if (b.status != FILE_MISSING)
        note_unknown(c->r->graph_unknown, sizeof c->r->graph_unknown, "image config %s is unreadable", name);
    file_buf_free(&b);
    return rc;
}

/* ---- BuildKit --------------------------------------------------------- */

/* Same reading as scan_buildkit.c: the dir a bucket stands for is its
 * "committed" value, else its key when it has a parent entry. */
static int on_snapshot(void *ctx, const buildkit_snapshot *sn)
{
    struct reap_refs *r = ctx;
    if (!sn->key || sn->invalid) {
        r->buildkit_bad = true;
        return 0;
    }
    int rc = 0;
    if (sn->committed && id_is_overlay_dir(sn->committed, strlen(sn->committed)))
        rc = set_add(&r->bk_dirs, sn->committed);
    else if (sn->parent && id_is_buildkit(sn->key, strlen(sn->key)))
        rc = set_add(&r->bk_dirs, sn->key);
    const char *chains[2] = { sn->key, sn->chainid };
    for (int i = 0; i < 2 && rc == 0; i++) {
        const char *v = chains[i];
        if (v && id_is_digest(v, strlen(v)))
            rc = set_add(&r->bk_chains, v + 7);
        else if (v && id_is_hex64(v, strlen(v)))
            rc = set_add(&r->bk_chains, v);
    }
    return rc;
}

static void load_buildkit(struct reap_refs *r, int rootfd)
{
    int fd = fs_open_dir(rootfd, "buildkit");
    if (fd < 0) {
        if (errno != ENOENT)
            r->buildkit_bad = true;
        return;
    }
    char err[256];
    int rc = buildkit_read_snapshots(fd, on_snapshot, r, err, sizeof err);
    close(fd);
    if (rc < 0)
        r->buildkit_bad = true;
}

/* ---- loading ---------------------------------------------------------- */

static int open_rel(int rootfd, const char *rel)
{
    char path[256];
    snprintf(path, sizeof path, "%s/x", rel);
    const char *base;
    return act_open_parent(rootfd, path, &base);
}

/* The pool's plans: each layer's id files, each image config; walked in
 * fs_list_dir's order (the first unreadable one is the one a note names). */
static const struct pf_plan layer_plan = { .kind = PF_DIR_FILES, .files = { "cache-id", "parent", "diff" },
                                           .cap = CAP_ID_FILE, .dir_order = true };
static const struct pf_plan image_plan = { .kind = PF_FILE, .cap = CAP_JSON_FILE, .dir_order = true };

/* List rel and call fn for each entry; with a plan, through the read-ahead
 * pool pf (serially when pf is NULL). */
static int list_rel(struct reap_refs *r, int rootfd, const char *rel, struct prefetch *pf, const struct pf_plan *plan,
                    fs_entry_fn fn, char *unknown, size_t ulen)
{
    struct list_ctx c = { .r = r };
    c.dirfd = open_rel(rootfd, rel);
    if (c.dirfd < 0) {
        if (errno != ENOENT)
            note_unknown(unknown, ulen, "cannot open %s: %s", rel, strerror(errno));
        return 0;
    }
    int rc = plan ? prefetch_walk(pf, c.dirfd, plan, &c.ahead, fn, &c) : fs_list_dir(c.dirfd, fn, &c);
    if (rc < 0 && errno != ENOMEM)
        note_unknown(unknown, ulen, "cannot list %s: %s", rel, strerror(errno));
    close(c.dirfd);
    return rc > 0 ? -1 : 0;
}

static int cmp_layer(const void *a, const void *b)
{
    return strcmp(((const struct ref_layer *)a)->chain, ((const struct ref_layer *)b)->chain);
}

/* ---- lower claims ------------------------------------------------------ */

static int add_claimed(struct reap_refs *r, const char *dir, const char *owner, const char *parent, bool parent_bad)
{
    struct ref_claimed *nv = grow_array(r->claimed, &r->claimed_cap, r->claimed_count + 1, sizeof *nv);
    if (!nv)
        return -1;
    r->claimed = nv;
    struct ref_claimed *c = &r->claimed[r->claimed_count++];
    *c = (struct ref_claimed){ .dir = dir, .owner = owner, .parent = parent, .parent_bad = parent_bad };
    return 0;
}

/* Can the names of a lower file (NUL-terminated, trimmed) be trusted:
 * every entry (split at ':') exactly l/<short name>, at most dockerd's
 * 128? As the scan's reading (src/scan_overlay.c lower_entries_state):
 * a blank inside makes it malformed. (Its names are still read leniently,
 * index_lower_names: a claim too many is safe, a trusted file too many
 * is not.) */
static bool lower_text_trusted(const char *s)
{
    int entries = 0;
    for (const char *p = s;; p++) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (!id_is_lower_entry(p, n) || ++entries > MAX_LOWER_ENTRIES)
            return false;
        if (!end)
            return true;
        p = end;
    }
}

/* overlay2/<dir>/lower of claimed dir i into its record (on par_for's
 * threads). A lower file that exists but cannot be read or trusted is
 * noted: the dirs it names are unknown (a missing one names none). */
static void read_lower(void *ctx, size_t i)
{
    struct reap_refs *r = ctx;
    struct ref_claimed *c = &r->claimed[i];
    char rel[300];
    snprintf(rel, sizeof rel, "overlay2/%.200s/lower", c->dir);
    const char *base;
    int fd = act_open_parent(r->rootfd, rel, &base);
    if (fd < 0) {
        if (errno != ENOENT)
            c->lower_problem = "cannot be opened";
        return;
    }
    struct file_buf b;
    fs_read_file(fd, base, CAP_ID_FILE, &b);
    if (b.status == FILE_OK) {
        bool nul = memchr(b.data, '\0', b.len) != NULL;
        if (!nul && id_trim(b.data, b.len) == 0)
            c->lower_problem = "is empty";
        else if (nul || !lower_text_trusted(b.data))
            c->lower_problem = "is malformed";
        c->lower = b.data;
        b.data = NULL;
    } else if (b.status == FILE_MISSING) {
        c->lower_missing = true;
    } else {
        c->lower_problem = "cannot be read";
    }
    file_buf_free(&b);
    close(fd);
}

/* Append i to a list of indexes; -1 when out of memory. */
static int push_index(size_t **v, size_t *count, size_t i)
{
    size_t *nv = realloc(*v, (*count + 1) * sizeof *nv);
    if (!nv)
        return -1;
    *v = nv;
    nv[(*count)++] = i;
    return 0;
}

static const struct ref_layer *find_layer(const struct reap_refs *r, const char *chain);

/* A missing lower file is normal for a base layer; but when the claim has a
 * parent layer that is lost (no layerdb entry, or a damaged parent file),
 * it was the only thing naming the dirs below (sql/derive_lower.sql). */
static void note_lost_parent(const struct reap_refs *r, struct ref_claimed *c)
{
    if (c->lower_missing && !c->lower_problem && c->parent &&
        (c->parent_bad || (c->parent[0] && !find_layer(r, c->parent))))
        c->lower_problem = "is missing while the layer below it is lost";
}

/* Every directly claimed dir with its lower file, as sql/derive.sql sees
 * them (the layers sorted: find_layer). */
static int load_claimed(struct reap_refs *r)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < r->layer_count; i++) {
        const struct ref_layer *l = &r->layers[i];
        if (l->cache_id)
            rc = add_claimed(r, l->cache_id, l->chain, l->parent, l->parent_bad);
    }
    for (size_t i = 0; rc == 0 && i < r->mount_count; i++) {
        const struct ref_mount *m = &r->mounts[i];
        if (m->mount_id)
            rc = add_claimed(r, m->mount_id, m->id, m->parent, m->parent_bad);
        if (rc == 0 && m->init_id)
            rc = add_claimed(r, m->init_id, m->id, m->parent, m->parent_bad);
    }
    for (size_t i = 0; rc == 0 && i < r->bk_dirs.n; i++)
        rc = add_claimed(r, r->bk_dirs.v[i], NULL, NULL, false);
    if (rc == 0)
        par_for(r->claimed_count, LOWER_READ_FDS, read_lower, r);
    for (size_t i = 0; rc == 0 && i < r->claimed_count; i++)
        note_lost_parent(r, &r->claimed[i]);
    for (size_t i = 0; rc == 0 && i < r->claimed_count; i++) {
        if (r->claimed[i].lower_problem && push_index(&r->unknown_lowers, &r->unknown_lower_count, i) < 0)
            return -1;
    }
    return rc;
}

/* The names lower_names(lower, s) is true for, as an index: per entry of
 * the lower file (l/A:l/B:...; leading blanks and newlines skipped), the
 * text after "l/" up to the entry's end and up to each blank or newline in
 * it (a name ends at ':', the end, a blank or a newline). */
static int index_lower_names(struct reap_refs *r, size_t claimed, const char *lower)
{
    for (const char *p = lower; p && *p; p = strchr(p, ':') ? strchr(p, ':') + 1 : NULL) {
        while (*p == ' ' || *p == '\n')
            p++;
        if (strncmp(p, "l/", 2) != 0)
            continue;
        const char *name = p + 2;
        for (const char *q = name;; q++) {
            if (*q != ':' && *q != '\0' && *q != ' ' && *q != '\n')
                continue;
            struct ref_lower_name *nv = grow_array(r->lower_names, &r->lower_name_cap, r->lower_name_count + 1,
                                                   sizeof *nv);
            if (!nv)
                return -1;
            r->lower_names = nv;
            nv[r->lower_name_count++] = (struct ref_lower_name){ name, (size_t)(q - name), claimed };
            if (*q == ':' || *q == '\0')
                break;
        }
    }
    return 0;
}

static int cmp_name_len(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

static int cmp_lower_name(const void *a, const void *b)
{
    const struct ref_lower_name *x = a, *y = b;
    int c = cmp_name_len(x->name, x->len, y->name, y->len);
    return c ? c : (x->claimed > y->claimed) - (x->claimed < y->claimed);
}

/* Every claimed dir's lower names, sorted: one bsearch per question
 * instead of a pass over every lower file. */
static int load_lower_names(struct reap_refs *r)
{
    for (size_t i = 0; i < r->claimed_count; i++)
        if (r->claimed[i].lower && index_lower_names(r, i, r->claimed[i].lower) < 0)
            return -1;
    if (r->lower_name_count > 1)
        qsort(r->lower_names, r->lower_name_count, sizeof *r->lower_names, cmp_lower_name);
    return 0;
}

/* The first claimed dir (in claimed[] order) other than dir, and not one of
 * except's, whose lower file names l/<shortname>; SIZE_MAX when none. */
static size_t first_lower_claimant(const struct reap_refs *r, const char *dir, const char *except, const char *shortname)
{
    size_t n = strlen(shortname), lo = 0, hi = r->lower_name_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_name_len(r->lower_names[mid].name, r->lower_names[mid].len, shortname, n) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < r->lower_name_count && cmp_name_len(r->lower_names[i].name, r->lower_names[i].len,
                                                                 shortname, n) == 0; i++) {
        const struct ref_claimed *c = &r->claimed[r->lower_names[i].claimed];
        if (c->dir && strcmp(c->dir, dir) != 0 && !(except && c->owner && strcmp(c->owner, except) == 0))
            return r->lower_names[i].claimed;
    }
    return SIZE_MAX;
}

static int cmp_link(const void *a, const void *b)
{
    const struct ref_link *x = a, *y = b;
    int c = strcmp(x->dir, y->dir);
    return c ? c : strcmp(x->name, y->name);
}

/* The first of the links to dir (they sit together, sorted by dir). */
static size_t first_link_to(const struct reap_refs *r, const char *dir)
{
    size_t lo = 0, hi = r->link_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(r->links[mid].dir, dir) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Could a claimed dir's lower file name dir without the index seeing it?
 * Yes when one cannot be read or trusted (the dirs it names are unknown),
 * or when one names a short name no l/ entry has while dir has no short
 * name of its own (the name may be dir's). As sql/checks/
 * overlay-dir-orphaned.sql, which then reports no orphaned dir. */
static bool lower_claim_unknown(const struct reap_refs *r, const char *dir, bool named, char *why, size_t whylen)
{
    for (size_t i = 0; i < r->unknown_lower_count; i++) {
        const struct ref_claimed *c = &r->claimed[r->unknown_lowers[i]];
        if (c->dir && strcmp(c->dir, dir) != 0) {
            snprintf(why, whylen, "overlay2/%s/lower %s, so the dirs it names are unknown", c->dir, c->lower_problem);
            return true;
        }
    }
    for (size_t i = 0; !named && i < r->unresolved_count; i++) {
        const struct ref_lower_name *ln = &r->lower_names[r->unresolved[i]];
        const struct ref_claimed *c = &r->claimed[ln->claimed];
        if (c->dir && strcmp(c->dir, dir) != 0) {
            snprintf(why, whylen, "it has no short name, and overlay2/%s/lower names l/%.*s, which no l/ entry has",
                     c->dir, (int)(ln->len < LINK_NAME_LEN + 8 ? ln->len : LINK_NAME_LEN + 8), ln->name);
            return true;
        }
    }
    return false;
}

/* The short names a lower file may use for overlay2/<dir> -- its link file
 * (read now) and every l/ symlink to ../<dir>/diff (from the index, whose
 * signature covers l/) -- named by another claimed dir's lower file; the
 * first such dir in claimed[] order is the one why names. */
static bool lower_claimed(const struct reap_refs *r, const char *dir, const char *except, char *why, size_t whylen)
{
    size_t first = SIZE_MAX;
    bool named = false;   /* dir has a short name: a well-formed link file or an l/ symlink */
    char rel[300];
    snprintf(rel, sizeof rel, "overlay2/%.200s/link", dir);
    const char *base;
    int fd = act_open_parent(r->rootfd, rel, &base);
    if (fd >= 0) {
        struct file_buf b;
        fs_read_file(fd, base, CAP_ID_FILE, &b);
        if (b.status == FILE_OK) {
            size_t len = id_trim(b.data, b.len);
            char name[LINK_NAME_LEN + 1];
            if (id_is_link_name(b.data, len)) {
                snprintf(name, sizeof name, "%.*s", (int)len, b.data);
                first = first_lower_claimant(r, dir, except, name);
                named = true;
            }
        }
        file_buf_free(&b);
        close(fd);
    }
    for (size_t i = first_link_to(r, dir); i < r->link_count && strcmp(r->links[i].dir, dir) == 0; i++) {
        if (!r->links[i].gone)
            named = true;
        size_t k = r->links[i].gone ? SIZE_MAX : first_lower_claimant(r, dir, except, r->links[i].name);
        if (k < first)
            first = k;
    }
    if (first != SIZE_MAX) {
        snprintf(why, whylen, "overlay2/%s has it as a lower dir", r->claimed[first].dir);
        return true;
    }
    return !except && lower_claim_unknown(r, dir, named, why, whylen);
}

/* ---- overlay2/l ------------------------------------------------------- */

struct link_read {
    int lfd;
    struct fs_names names;
    char **targets;       /* the dir each name points into, or NULL */
    atomic_bool out_of_memory;
};

/* readlink of l/<name i> (on par_for's threads): its dir when the target
 * is ../<dir>/diff. */
static void read_link(void *ctx, size_t i)
{
    struct link_read *lr = ctx;
    const char *name = lr->names.v[i].name;
    char target[300];
    long n = strlen(name) <= LINK_NAME_LEN ? fs_readlink(lr->lfd, name, target, sizeof target) : -1;
    if (n < 9 || strncmp(target, "../", 3) != 0 || strcmp(target + n - 5, "/diff") != 0)
        return;
    target[n - 5] = '\0';
    if (!strchr(target + 3, '/') && !(lr->targets[i] = strdup(target + 3)))
        atomic_store(&lr->out_of_memory, true);   /* a missed name could miss a claim: the load fails */
}

static int cmp_fs_name(const void *a, const void *b)
{
    return strcmp(((const struct fs_name *)a)->name, ((const struct fs_name *)b)->name);
}

/* The claimed dirs' lower names that no l/ entry (of any type) has: the
 * dir they name cannot be told from its l/ symlink (sql/derive.sql's
 * lower_unresolved, for the claimed dirs). names: l/'s entries, sorted. */
static int note_unresolved(struct reap_refs *r, const struct fs_names *names)
{
    for (size_t i = 0; i < r->lower_name_count; i++) {
        const struct ref_lower_name *ln = &r->lower_names[i];
        size_t lo = 0, hi = names->n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            const char *n = names->v[mid].name;
            int c = cmp_name_len(n, strlen(n), ln->name, ln->len);
            if (c == 0)
                break;
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == hi && push_index(&r->unresolved, &r->unresolved_count, i) < 0)
            return -1;
    }
    return 0;
}

/* Every l/ symlink to ../<dir>/diff, sorted by dir: one listing per load,
 * not one per item (a run's time grew with items x links). */
static int load_links(struct reap_refs *r)
{
    struct link_read lr = { .lfd = open_rel(r->rootfd, "overlay2/l") };
    if (lr.lfd < 0)
        return note_unresolved(r, &lr.names);   /* as a listing per item did: no l/ names */
    int rc = 0;
    if (fs_names_read_unsorted(lr.lfd, &lr.names) < 0 && errno == ENOMEM)
        rc = -1;
    if (rc == 0 && lr.names.n > 0 && !(lr.targets = calloc(lr.names.n, sizeof *lr.targets)))
        rc = -1;
    if (rc == 0 && lr.names.n > 0) {
        par_for(lr.names.n, 1, read_link, &lr);
        if (atomic_load(&lr.out_of_memory))
            rc = -1;
    }
    size_t have = 0;
    for (size_t i = 0; rc == 0 && i < lr.names.n; i++)
        have += lr.targets[i] != NULL;
    if (rc == 0 && have > 0 && !(r->links = calloc(have, sizeof *r->links)))
        rc = -1;
    for (size_t i = 0; i < lr.names.n && lr.targets; i++) {
        if (!lr.targets[i])
            continue;
        if (rc == 0) {
            struct ref_link *l = &r->links[r->link_count++];
            snprintf(l->name, sizeof l->name, "%s", lr.names.v[i].name);
            l->dir = lr.targets[i];
        } else {
            free(lr.targets[i]);
        }
    }
    if (r->link_count > 1)
        qsort(r->links, r->link_count, sizeof *r->links, cmp_link);
    if (lr.names.n > 1)
        qsort(lr.names.v, lr.names.n, sizeof *lr.names.v, cmp_fs_name);
    if (rc == 0)
        rc = note_unresolved(r, &lr.names);
    free(lr.targets);
    fs_names_free(&lr.names);
    close(lr.lfd);
    return rc;
}

struct reap_refs *reap_refs_load(int rootfd)
{
    struct reap_refs *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->rootfd = rootfd;
    struct prefetch *pf = prefetch_open(par_depth(), PF_MAX_BYTES);
    int rc = list_rel(r, rootfd, "image/overlay2/layerdb/sha256", pf, &layer_plan, on_layer, r->claims_unknown,
                      sizeof r->claims_unknown);
    if (rc == 0)
        rc = list_rel(r, rootfd, "image/overlay2/layerdb/mounts", pf, NULL, on_mount, r->claims_unknown,
                      sizeof r->claims_unknown);
    if (rc == 0)
        rc = list_rel(r, rootfd, "image/overlay2/imagedb/content/sha256", pf, &image_plan, on_image, r->graph_unknown,
                      sizeof r->graph_unknown);
    prefetch_close(pf);
    if (rc < 0) {
        reap_refs_free(r);
        return NULL;
    }
    if (r->claims_unknown[0] && !r->graph_unknown[0])
        snprintf(r->graph_unknown, sizeof r->graph_unknown, "%s", r->claims_unknown);
    load_buildkit(r, rootfd);
    if (r->layer_count)
        qsort(r->layers, r->layer_count, sizeof *r->layers, cmp_layer);
    set_sort(&r->image_chains);
    set_sort(&r->bk_dirs);
    set_sort(&r->bk_chains);
    if (load_claimed(r) < 0 || load_lower_names(r) < 0 || load_links(r) < 0) {
        reap_refs_free(r);
        return NULL;
    }
    return r;
}

/* ---- a cheap signature of what the index was read from ------------------ */

struct sig_ctx {
    int dirfd;
    uint64_t h;
};

static void sig_mix(uint64_t *h, uint64_t v)
{
    *h ^= v + 0x9E3779B97F4A7C15ull + (*h << 6) + (*h >> 2);
}

static void sig_stat(uint64_t *h, int dirfd, const char *name)
{
    struct stat st;
    if (!fs_lstat(dirfd, name, &st)) {
        sig_mix(h, 0xdead);
        return;
    }
    sig_mix(h, (uint64_t)st.st_ino);
    sig_mix(h, (uint64_t)st.st_size);
    sig_mix(h, (uint64_t)st.st_ctim.tv_sec);
    sig_mix(h, (uint64_t)st.st_ctim.tv_nsec);
    sig_mix(h, (uint64_t)st.st_mtim.tv_nsec);
}

static int sig_entry(void *ctx, const char *name, unsigned char d_type)
{
    (void)d_type;
    struct sig_ctx *c = ctx;
    sig_stat(&c->h, c->dirfd, name);
    return 0;
}

/* Changes whenever a layer, mount, image, snapshot or l/ symlink is added,
 * removed or renamed (dockerd writes layer metadata in layerdb/tmp and
 * renames it in; mount files are written inside layerdb/mounts/<id>, whose
 * ctimes count; a symlink's target cannot change in place). */
uint64_t reap_refs_signature(int rootfd)
{
    uint64_t h = 1469598103934665603ull;
    static const char *const dirs[] = {
        "image/overlay2/layerdb/sha256", "image/overlay2/imagedb/content/sha256", "buildkit", "overlay2/l",
    };
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        int fd = open_rel(rootfd, dirs[i]);
        sig_stat(&h, fd >= 0 ? fd : rootfd, fd >= 0 ? "." : dirs[i]);
        if (fd >= 0 && i == 2)
            sig_stat(&h, fd, BUILDKIT_SNAPSHOTS_DB);
        if (fd >= 0)
            close(fd);
    }
    struct sig_ctx c = { .dirfd = open_rel(rootfd, "image/overlay2/layerdb/mounts"), .h = h };
    if (c.dirfd >= 0) {
        sig_stat(&c.h, c.dirfd, ".");
        fs_list_dir(c.dirfd, sig_entry, &c);
        close(c.dirfd);
    }
    return c.h;
}

void reap_refs_free(struct reap_refs *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->claimed_count; i++)
        free(r->claimed[i].lower);
    free(r->claimed);
    free(r->lower_names);
    free(r->unresolved);
    free(r->unknown_lowers);
    for (size_t i = 0; i < r->link_count; i++)
        free(r->links[i].dir);
    free(r->links);
    for (size_t i = 0; i < r->layer_count; i++)
        free(r->layers[i].cache_id);
    for (size_t i = 0; i < r->mount_count; i++) {
        free(r->mounts[i].id);
        free(r->mounts[i].mount_id);
        free(r->mounts[i].init_id);
    }
    free(r->layers);
    free(r->mounts);
    set_free(&r->image_chains);
    set_free(&r->bk_dirs);
    set_free(&r->bk_chains);
    free(r);
}

/* ---- questions -------------------------------------------------------- */

static const struct ref_layer *find_layer(const struct reap_refs *r, const char *chain)
{
    struct ref_layer key;
    snprintf(key.chain, sizeof key.chain, "%s", chain);
    const struct ref_layer *l = r->layer_count ? bsearch(&key, r->layers, r->layer_count, sizeof *r->layers, cmp_layer) : NULL;
    return l && !l->gone ? l : NULL;
}

bool reap_refs_layer_exists(const struct reap_refs *r, const char *chain)
{
    return find_layer(r, chain) != NULL;
}

bool reap_refs_dir_claimed(const struct reap_refs *r, const char *dir, const char *except, char *why, size_t whylen)
{
    if (r->claims_unknown[0]) {
        snprintf(why, whylen, "claims cannot be known: %s", r->claims_unknown);
        return true;
    }
    for (size_t i = 0; i < r->layer_count; i++) {
        const struct ref_layer *l = &r->layers[i];
        if (!l->gone && l->cache_id && strcmp(l->cache_id, dir) == 0 && !(except && strcmp(except, l->chain) == 0)) {
            snprintf(why, whylen, "layer sha256:%s names it as its cache-id", l->chain);
            return true;
        }
    }
    for (size_t i = 0; i < r->mount_count; i++) {
        const struct ref_mount *m = &r->mounts[i];
        if (m->gone)
            continue;
        bool self = except && strcmp(except, m->id) == 0;
        if (!self && ((m->mount_id && strcmp(m->mount_id, dir) == 0) || (m->init_id && strcmp(m->init_id, dir) == 0))) {
            snprintf(why, whylen, "container mount %s uses it", m->id);
            return true;
        }
        /* a damaged mount-id: the RW dir is still claimed through <id>-init */
        if (!self && !m->mount_id && m->init_id && strlen(m->init_id) == HEX64_LEN + 5 &&
            strncmp(m->init_id, dir, HEX64_LEN) == 0 && dir[HEX64_LEN] == '\0') {
            snprintf(why, whylen, "container mount %s uses it (through its init-id)", m->id);
            return true;
        }
    }
    if (lower_claimed(r, dir, except, why, whylen))
        return true;
    if (set_has(&r->bk_dirs, dir)) {
        snprintf(why, whylen, "BuildKit's snapshots.db references it");
        return true;
    }
    if (r->buildkit_bad && id_is_buildkit(dir, strlen(dir))) {
        snprintf(why, whylen, "buildkit/snapshots.db cannot be read, so a BuildKit dir is never removed");
        return true;
    }
    return false;
}

bool reap_refs_layer_used(const struct reap_refs *r, const char *chain, char *why, size_t whylen)
{
    if (r->graph_unknown[0]) {
        snprintf(why, whylen, "the reference graph cannot be trusted: %s", r->graph_unknown);
        return true;
    }
    if (r->buildkit_bad) {
        snprintf(why, whylen, "buildkit/snapshots.db cannot be read");
        return true;
    }
    if (set_has(&r->image_chains, chain)) {
        snprintf(why, whylen, "an image uses it");
        return true;
    }
    if (set_has(&r->bk_chains, chain)) {
        snprintf(why, whylen, "BuildKit's snapshots.db uses it");
        return true;
    }
    char who[128];
    if (reap_refs_layer_has_mount(r, chain, who, sizeof who)) {
        snprintf(why, whylen, "container mount %s is built on it", who);
        return true;
    }
    for (size_t i = 0; i < r->layer_count; i++)
        if (!r->layers[i].gone && strcmp(r->layers[i].parent, chain) == 0) {
            snprintf(why, whylen, "layer sha256:%s is built on it", r->layers[i].chain);
            return true;
        }
    return false;
}

bool reap_refs_layer_has_mount(const struct reap_refs *r, const char *chain, char *who, size_t wholen)
{
    for (size_t i = 0; i < r->mount_count; i++)
        if (!r->mounts[i].gone && strcmp(r->mounts[i].parent, chain) == 0) {
            snprintf(who, wholen, "%s", r->mounts[i].id);
            return true;
        }
    return false;
}

bool reap_refs_chain_dangling(const struct reap_refs *r, int rootfd, const char *chain)
{
    const struct ref_layer *l = find_layer(r, chain);
    for (int depth = 0; l && depth < 4096; depth++) {
        if (l->cache_id) {
            char rel[300];
            struct stat st;
            snprintf(rel, sizeof rel, "overlay2/%s", l->cache_id);
            if (!act_lstat(rootfd, rel, &st) && errno == ENOENT)
                return true;
        }
        if (!l->parent[0])
            break;
        l = find_layer(r, l->parent);
    }
    return false;
}

/* ---- what this run removed -------------------------------------------- */

/* The layer or mount whose layerdb entry the run removed is forgotten, as a
 * fresh load would no longer see it: its claims (cache-id, mount-id,
 * init-id, lower file) and its edges (parent) go with it. Entries are
 * marked, not moved: claimed[] points into them. */
static void forget_claims_of(struct reap_refs *r, const char *owner)
{
    for (size_t i = 0; i < r->claimed_count; i++)
        if (r->claimed[i].owner == owner)
            r->claimed[i].dir = NULL;
}

static void forget_layer(struct reap_refs *r, const char *chain)
{
    struct ref_layer *l = (struct ref_layer *)find_layer(r, chain);
    if (!l)
        return;
    forget_claims_of(r, l->chain);
    l->gone = true;
}

/* layerdb/mounts/<id>, and the image mounts below it (<id>/...) */
static void forget_mounts(struct reap_refs *r, const char *id)
{
    size_t n = strlen(id);
    for (size_t i = 0; i < r->mount_count; i++) {
        struct ref_mount *m = &r->mounts[i];
        if (!m->gone && strncmp(m->id, id, n) == 0 && (m->id[n] == '\0' || m->id[n] == '/')) {
            forget_claims_of(r, m->id);
            m->gone = true;
        }
    }
}

#define LAYERDB_SHA256 "image/overlay2/layerdb/sha256/"
#define LAYERDB_MOUNTS "image/overlay2/layerdb/mounts/"
#define IMAGEDB_CONTENT "image/overlay2/imagedb/content/sha256/"
#define LINKS "overlay2/l/"

static bool has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* overlay2/l/<name> */
static void forget_link(struct reap_refs *r, const char *name)
{
    for (size_t i = 0; i < r->link_count; i++)
        if (strcmp(r->links[i].name, name) == 0)
            r->links[i].gone = true;
}

int reap_refs_forget_path(struct reap_refs *r, const char *path)
{
    if (has_prefix(path, LINKS)) {
        const char *name = path + strlen(LINKS);
        if (strchr(name, '/'))
            return -1;
        forget_link(r, name);
        return 0;
    }
    if (strcmp(path, "overlay2/l") == 0 || strcmp(path, "overlay2") == 0)
        return -1;
    if (has_prefix(path, LAYERDB_SHA256)) {
        const char *name = path + strlen(LAYERDB_SHA256);
        if (strchr(name, '/'))
            return -1;
        if (id_is_hex64(name, strlen(name)))
            forget_layer(r, name);
        return 0;   /* other names (-removing, strays) were never loaded */
    }
    if (has_prefix(path, LAYERDB_MOUNTS)) {
        forget_mounts(r, path + strlen(LAYERDB_MOUNTS));
        return 0;
    }
    if (has_prefix(path, IMAGEDB_CONTENT)) {
        const char *name = path + strlen(IMAGEDB_CONTENT);
        return strncmp(name, ".tmp-", 5) == 0 && !strchr(name, '/') ? 0 : -1;
    }
    if (has_prefix(path, "buildkit/") || strcmp(path, "buildkit") == 0 || has_prefix(path, "image/overlay2/layerdb/mounts") ||
        has_prefix(path, "image/overlay2/layerdb/sha256") || has_prefix(path, "image/overlay2/imagedb/content"))
        return -1;
    return 0;   /* overlay2/<dir>, containers/, tmp dirs, repositories.json: not read by the index */
}
