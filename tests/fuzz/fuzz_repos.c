/* fuzz_repos.c — image/overlay2/repositories.json through scan_tags (shape
 * checks, every reference), then the catalog (tag-dangling,
 * tag-file-invalid) and both reports (tags are printed escaped). */
#include "fuzz_common.h"

static int fuzz_repos_one(const uint8_t *data, size_t size)
{
    fuzz_pick_report(data, size);
    static const fuzz_scan_fn mods[] = { scan_tags };
    fuzz_reset_root();
    fuzz_mkdirs("image/overlay2");
    fuzz_write("image/overlay2/repositories.json", data, size);
    fuzz_scan_and_report(mods, 1);
    return 0;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_repos_one(data, size); }
#endif
