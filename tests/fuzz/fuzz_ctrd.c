/* fuzz_ctrd.c — the containerd scan on hostile databases: meta.db and the
 * overlayfs snapshotter's metadata.db written into a scratch containerd
 * root, then scan_containerd_root (both bbolt files into the cd_* tables,
 * the disk, the image configs the labels name), the check catalog of the
 * containerd store, the garbage sizing, and both reports — what ovl2fsck
 * runs on such a root, through the same O_NOFOLLOW reads.
 *
 * Input: u32 little-endian N, then N bytes of meta.db, then the rest is
 * metadata.db. N = 0xffffffff: no meta.db at all; no bytes after meta.db:
 * no metadata.db. An N past the end gives meta.db the rest. The scratch
 * root also holds a few snapshot dirs (numbers 1..3, a new-* dir), an
 * ingest and a blob, so the checks that join the disk have rows. */
#include "fuzz_common.h"
#include "scan_containerd.h"

#define CTRD_NO_META 0xffffffffu

static void ctrd_disk(void)
{
    static const char *const dirs[] = {
        CD_SNAPSHOTS "/1/fs", CD_SNAPSHOTS "/2/fs", CD_SNAPSHOTS "/2/work", CD_SNAPSHOTS "/3",
        CD_SNAPSHOTS "/new-7/fs", CD_BLOBS, CD_INGEST "/5e2f", "io.containerd.metadata.v1.bolt",
    };
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        fuzz_mkdirs(dirs[i]);
    fuzz_write(CD_SNAPSHOTS "/1/fs/f", "x", 1);
    fuzz_write(CD_BLOBS "/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "", 0);
    fuzz_write(CD_INGEST "/5e2f/ref", "default/1/x", 11);
    fuzz_write(CD_INGEST "/5e2f/total", "10", 2);
    fuzz_write(CD_INGEST "/5e2f/data", "abc", 3);
}

/* A fresh in-memory scan database with the schema only: the containerd scan
 * creates the indexes itself when it commits (fuzz_db_fresh's database
 * already has them). */
static struct db ctrd_db;

static void ctrd_db_close(void)
{
    if (ctrd_db.h)
        sqlite3_close(ctrd_db.h);
    ctrd_db.h = NULL;
}

static struct db *ctrd_db_fresh(void)
{
    char err[256];
    static int hooked;
    ctrd_db_close();
    if (sqlite3_open_v2(":memory:", &ctrd_db.h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
        fuzz_die("sqlite3_open");
    const struct embedded_file *schema = embedded_find("sql/schema.sql");
    if (!schema || db_exec(&ctrd_db, schema->text, err, sizeof err) < 0) {
        fprintf(stderr, "fuzz harness: schema: %s\n", err);
        abort();
    }
    if (!hooked++)
        atexit(ctrd_db_close);
    return &ctrd_db;
}

static int fuzz_ctrd_one(const uint8_t *data, size_t size)
{
    fuzz_pick_report(data, size);
    uint32_t n = CTRD_NO_META;
    if (size >= 4) {
        n = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
        data += 4;
        size -= 4;
    }
    fuzz_reset_root();
    ctrd_disk();
    size_t meta_len = n == CTRD_NO_META ? 0 : n > size ? size : n;
    if (n != CTRD_NO_META)
        fuzz_write(CD_META_DB, data, meta_len);
    if (size > meta_len)
        fuzz_write(CD_SNAP_DB, data + meta_len, size - meta_len);

    struct db *db = ctrd_db_fresh();
    char err[512];
    int rc = scan_containerd_root(db, fuzz_g.root, NULL, false, NULL, NULL, NULL, err, sizeof err);
    if (rc != 0) {
        /* a database error on fuzz input is a bug: the scanner must store
         * whatever it finds (an invalid file is a cd_db row) */
        fprintf(stderr, "fuzz harness: containerd scan failed: %s\n", err);
        abort();
    }
    if (fuzz_report_this)
        fuzz_checks_and_reports(db, STORE_CONTAINERD);
    return 0;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_ctrd_one(data, size); }
#endif
