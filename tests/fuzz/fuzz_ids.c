/* fuzz_ids.c — the id files, link and lower parsers: one layer
 * (layerdb/sha256/<name>/{diff,parent,cache-id,size}), one container mount
 * (layerdb/mounts/<name>/{mount-id,init-id,parent}), two overlay2 dirs
 * (<name>/{link,lower}, diff/) and one l/ symlink, all from the input,
 * through scan_layers, scan_mounts and scan_overlay (id validators, trimming,
 * NUL handling, lower splitting, link target parsing), then the catalog (the
 * joins between them) and both reports.
 *
 * Input: a sequence of fields <len byte><bytes> (0xff = file absent), in
 * the order of the names below; names that cannot be a path component fall
 * back to a well-formed default. */
#include "fuzz_common.h"

enum {
    F_LAYER_NAME, F_DIFF, F_PARENT, F_CACHE_ID, F_SIZE,
    F_MOUNT_NAME, F_MOUNT_ID, F_INIT_ID, F_MOUNT_PARENT,
    F_DIR_NAME, F_LINK, F_LOWER, F_DIR2_NAME, F_LINK2, F_LOWER2,
    F_L_NAME, F_L_TARGET, F_COUNT
};

#define DEF_HEX "1111111111111111111111111111111111111111111111111111111111111111"

static void ids_file(const char *dir, const char *file, const uint8_t *b, size_t len, int present)
{
    char rel[700];
    if (!present || snprintf(rel, sizeof rel, "%s/%s", dir, file) >= (int)sizeof rel)
        return;
    fuzz_write(rel, b, len);
}

static int fuzz_ids_one(const uint8_t *data, size_t size)
{
    fuzz_pick_report(data, size);
    static const fuzz_scan_fn mods[] = { scan_layers, scan_mounts, scan_overlay };
    struct fuzz_fields f = { data, size };
    const uint8_t *v[F_COUNT];
    size_t n[F_COUNT];
    int has[F_COUNT];
    for (int i = 0; i < F_COUNT; i++) {
        v[i] = NULL;
        n[i] = 0;
        has[i] = fuzz_field(&f, &v[i], &n[i]);
    }
    char name[300], dir[700];
    fuzz_reset_root();
    fuzz_mkdirs("image/overlay2/layerdb/sha256");
    fuzz_mkdirs("image/overlay2/layerdb/mounts");
    fuzz_mkdirs("overlay2/l");

    fuzz_component(v[F_LAYER_NAME], n[F_LAYER_NAME], has[F_LAYER_NAME], DEF_HEX, name, 256);
    snprintf(dir, sizeof dir, "image/overlay2/layerdb/sha256/%s", name);
    fuzz_mkdirs(dir);
    ids_file(dir, "diff", v[F_DIFF], n[F_DIFF], has[F_DIFF]);
    ids_file(dir, "parent", v[F_PARENT], n[F_PARENT], has[F_PARENT]);
    ids_file(dir, "cache-id", v[F_CACHE_ID], n[F_CACHE_ID], has[F_CACHE_ID]);
    ids_file(dir, "size", v[F_SIZE], n[F_SIZE], has[F_SIZE]);

    fuzz_component(v[F_MOUNT_NAME], n[F_MOUNT_NAME], has[F_MOUNT_NAME], DEF_HEX, name, 256);
    snprintf(dir, sizeof dir, "image/overlay2/layerdb/mounts/%s", name);
    fuzz_mkdirs(dir);
    ids_file(dir, "mount-id", v[F_MOUNT_ID], n[F_MOUNT_ID], has[F_MOUNT_ID]);
    ids_file(dir, "init-id", v[F_INIT_ID], n[F_INIT_ID], has[F_INIT_ID]);
    ids_file(dir, "parent", v[F_MOUNT_PARENT], n[F_MOUNT_PARENT], has[F_MOUNT_PARENT]);

    for (int k = 0; k < 2; k++) {
        int base = k ? F_DIR2_NAME : F_DIR_NAME;
        fuzz_component(v[base], n[base], has[base], k ? DEF_HEX "-init" : DEF_HEX, name, 256);
        if (strcmp(name, "l") == 0)
            continue;
        snprintf(dir, sizeof dir, "overlay2/%s", name);
        fuzz_mkdirs(dir);
        snprintf(dir, sizeof dir, "overlay2/%s/diff", name);
        fuzz_mkdirs(dir);
        snprintf(dir, sizeof dir, "overlay2/%s", name);
        ids_file(dir, "link", v[base + 1], n[base + 1], has[base + 1]);
        ids_file(dir, "lower", v[base + 2], n[base + 2], has[base + 2]);
    }

    fuzz_component(v[F_L_NAME], n[F_L_NAME], has[F_L_NAME], "AAAAAAAAAAAAAAAAAAAAAAAAAA", name, 256);
    if (has[F_L_TARGET] && n[F_L_TARGET] > 0 && !memchr(v[F_L_TARGET], '\0', n[F_L_TARGET])) {
        char target[300], path[1200];
        size_t tl = n[F_L_TARGET] < sizeof target - 1 ? n[F_L_TARGET] : sizeof target - 1;
        memcpy(target, v[F_L_TARGET], tl);
        target[tl] = '\0';
        snprintf(path, sizeof path, "%s/overlay2/l/%s", fuzz_g.root, name);
        if (symlink(target, path) < 0 && errno != EEXIST)
            (void)0;   /* e.g. the name is too long: nothing to scan */
    }
    fuzz_scan_and_report(mods, 3);
    return 0;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_ids_one(data, size); }
#endif
