/* fuzz_bbolt.c — the bbolt reader (bbolt_open_mem, bbolt_walk with a
 * visitor that reads every byte it is given, bbolt_check) and the BuildKit
 * snapshot reader on top of it (buildkit_read_snapshots_fd on a memfd, and
 * scan_buildkit over buildkit/snapshots.db in the scratch store, then the
 * catalog and both reports). */
#include "fuzz_common.h"
#include "bbolt.h"
#include "buildkit.h"

static unsigned bbolt_sink;

static int bbolt_visit(void *ctx, int depth, const bbolt_slice *path, const bbolt_slice *key,
                       const bbolt_slice *val, int is_bucket)
{
    (void)ctx;
    unsigned h = (unsigned)depth + (unsigned)is_bucket;
    for (int i = 0; i < depth; i++)
        for (size_t j = 0; j < path[i].len; j++)
            h = h * 31 + path[i].data[j];
    for (size_t j = 0; j < key->len; j++)
        h = h * 31 + key->data[j];
    for (size_t j = 0; j < val->len; j++)
        h = h * 31 + val->data[j];
    bbolt_sink += h;
    return 0;
}

static int bbolt_snap(void *ctx, const buildkit_snapshot *s)
{
    (void)ctx;
    size_t t = 0;
    if (s->key) t += strlen(s->key);
    if (s->parent) t += strlen(s->parent);
    if (s->committed) t += strlen(s->committed);
    if (s->chainid) t += strlen(s->chainid);
    if (s->size) t += strlen(s->size);
    bbolt_sink += (unsigned)t + (unsigned)s->is_committed + s->invalid + s->other_keys;
    return 0;
}

static int fuzz_bbolt_one(const uint8_t *data, size_t size)
{
    fuzz_pick_report(data, size);
    static const fuzz_scan_fn mods[] = { scan_buildkit };
    char err[512];
    bbolt *db = NULL;
    if (bbolt_open_mem(data, size, &db, err, sizeof err) == BBOLT_OK) {
        bbolt_info info;
        bbolt_get_info(db, &info);
        bbolt_walk(db, bbolt_visit, NULL, err, sizeof err);
        bbolt_check(db, err, sizeof err);
        bbolt_close(db);
    }
    int fd = fuzz_memfd(data, size);
    buildkit_read_snapshots_fd(fd, 0, bbolt_snap, NULL, err, sizeof err);
    close(fd);

    fuzz_reset_root();
    fuzz_mkdirs("buildkit");
    fuzz_write("buildkit/snapshots.db", data, size);
    fuzz_scan_and_report(mods, 1);
    return 0;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_bbolt_one(data, size); }
#endif
