/* reap_fs.c — which root-relative paths of a Docker root the reaper may
 * touch at all: a known parent dir of the store plus one valid name. The
 * ways to touch them are the apply engine's (act_fs.c). */
#include "reap_internal.h"
#include "ids.h"

#include <ctype.h>
#include <string.h>

/* ---- which paths may be touched --------------------------------------- */

static bool is_removing_name(const char *s)
{
    size_t n = strlen(s);
    return n > HEX64_LEN + 10 && id_is_hex64(s, HEX64_LEN) && s[HEX64_LEN] == '-' &&
           strcmp(s + n - 9, "-removing") == 0 && id_is_safe_component(s, n);
}

static bool valid_hex64(const char *s) { return id_is_hex64(s, strlen(s)); }
static bool valid_overlay_dir(const char *s) { return id_is_overlay_dir(s, strlen(s)); }
static bool valid_component(const char *s) { return id_is_safe_component(s, strlen(s)); }
static bool valid_layer_dir(const char *s) { return valid_hex64(s) || is_removing_name(s); }
static bool valid_mount_dir(const char *s) { return valid_hex64(s) || id_is_buildkit(s, strlen(s)); }
static bool valid_image_file(const char *s)
{
    return valid_hex64(s) || (strncmp(s, ".tmp-", 5) == 0 && valid_component(s));
}

struct allowed_parent {
    const char *prefix;          /* with the trailing '/' */
    bool (*valid)(const char *name);
};

/* Every place the reaper removes something from, and what may live there. */
static const struct allowed_parent allowed_parents[] = {
    { "overlay2/l/", valid_component },
    { "overlay2/", valid_overlay_dir },
    { "image/overlay2/layerdb/sha256/", valid_layer_dir },
    { "image/overlay2/layerdb/tmp/", valid_component },
    { "image/overlay2/layerdb/mounts/", valid_mount_dir },
    { "image/overlay2/imagedb/content/sha256/", valid_image_file },
    { "image/overlay2/imagedb/metadata/sha256/", valid_hex64 },
    { "containers/", valid_hex64 },
    { "tmp/", valid_component },
};

/* Top-level entries of the root the reaper may remove (not the root's own
 * tmp/ dir: only what is in it). */
static const char *const allowed_top_level[] = { "tmp-old" };

/* [A-Za-z0-9._:@+-]+, not . or ..: a component of an image reference. */
static bool valid_ref_component(const char *s, size_t n)
{
    if (n == 0 || n > 255 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("._:@+-", s[i]))
            return false;
    return true;
}

#define MOUNTS_PREFIX "image/overlay2/layerdb/mounts/"
#define IMAGE_MOUNT_MAX_DEPTH 8

/* layerdb/mounts/<container>-<ref>[/<ref part>]... (docker run --mount
 * type=image of Docker 28): 1 to 8 levels, the first <64 hex>-<x>. */
static bool allowed_image_mount(const char *relpath)
{
    size_t pl = strlen(MOUNTS_PREFIX);
    if (strncmp(relpath, MOUNTS_PREFIX, pl) != 0)
        return false;
    const char *p = relpath + pl;
    if (!strchr(p, '/') && valid_mount_dir(p))
        return false;   /* a plain mount: the table below */
    if (strlen(p) < HEX64_LEN + 2 || !id_is_hex64(p, HEX64_LEN) || p[HEX64_LEN] != '-')
        return false;
    int depth = 0;
    for (const char *c = p + HEX64_LEN + 1; c; depth++) {
        const char *end = strchr(c, '/');
        size_t n = end ? (size_t)(end - c) : strlen(c);
        if (depth >= IMAGE_MOUNT_MAX_DEPTH || !valid_ref_component(c, n))
            return false;
        c = end ? end + 1 : NULL;
    }
    return true;
}

/* overlay2/<dir>/.tmp-*: a temp file of the atomic writer of dockerd 26+. */
static bool allowed_overlay_tmp(const char *relpath)
{
    if (strncmp(relpath, "overlay2/", 9) != 0)
        return false;
    const char *dir = relpath + 9, *slash = strchr(dir, '/');
    if (!slash || strchr(slash + 1, '/') || strncmp(slash + 1, ".tmp-", 5) != 0)
        return false;
    return id_is_overlay_dir(dir, (size_t)(slash - dir)) && valid_component(slash + 1);
}

bool reap_path_allowed(const char *relpath)
{
    if (!relpath)
        return false;
    if (allowed_image_mount(relpath) || allowed_overlay_tmp(relpath))
        return true;
    for (size_t i = 0; i < sizeof allowed_top_level / sizeof allowed_top_level[0]; i++)
        if (strcmp(relpath, allowed_top_level[i]) == 0)
            return true;
    for (size_t i = 0; i < sizeof allowed_parents / sizeof allowed_parents[0]; i++) {
        const struct allowed_parent *a = &allowed_parents[i];
        size_t n = strlen(a->prefix);
        if (strncmp(relpath, a->prefix, n) != 0)
            continue;
        const char *name = relpath + n;
        return strchr(name, '/') == NULL && a->valid(name);
    }
    return false;
}

