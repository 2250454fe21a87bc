/* reap_fs.c — which root-relative paths of a Docker root the reaper may
 * touch at all: a known parent dir of the store plus one valid name. The
 * ways to touch them are the apply engine's (act_fs.c). */
#include "reap_internal.h"
#include "ids.h"

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

bool reap_path_allowed(const char *relpath)
{
    if (!relpath)
        return false;
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

