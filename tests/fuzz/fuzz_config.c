/* fuzz_config.c — image configs (imagedb/content/sha256/<id>) through
 * scan_images: capped read, sha256, cJSON parse, rootfs.diff_ids, chainIDs;
 * then the catalog and both reports. The file is named by the input's own
 * sha256 (so the digest matches and the diff_ids path is taken), or by a
 * non-id name when the first byte is 'X' (odd names through the report). */
#include "fuzz_common.h"
#include "ids.h"

static int fuzz_config_one(const uint8_t *data, size_t size)
{
    fuzz_pick_report(data, size);
    static const fuzz_scan_fn mods[] = { scan_images };
    char name[HEX64_LEN + 1], rel[256];
    fuzz_reset_root();
    fuzz_mkdirs("image/overlay2/imagedb/content/sha256");
    fuzz_mkdirs("image/overlay2/imagedb/metadata/sha256");
    if (size > 0 && data[0] == 'X')
        snprintf(name, sizeof name, "not-an-id\x01\xff");
    else
        id_sha256_hex(data, size, name);
    snprintf(rel, sizeof rel, "image/overlay2/imagedb/content/sha256/%s", name);
    fuzz_write(rel, data, size);
    /* the same bytes as a metadata parent file of that image */
    snprintf(rel, sizeof rel, "image/overlay2/imagedb/metadata/sha256/%s", name);
    fuzz_mkdirs(rel);
    snprintf(rel, sizeof rel, "image/overlay2/imagedb/metadata/sha256/%s/parent", name);
    fuzz_write(rel, data, size < 200 ? size : 200);
    fuzz_scan_and_report(mods, 1);
    return 0;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_config_one(data, size); }
#endif
