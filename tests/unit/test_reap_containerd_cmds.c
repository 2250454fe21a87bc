/* test_reap_containerd_cmds.c — the ctr commands for containerd record
 * garbage (src/reap_containerd_cmds.c): sh quoting, children before
 * parents, and the command list for a scan database: a leaked Docker
 * container lease (moby/<id>, holding <id> and <id>-init), two extract-*
 * snapshots (child first, then their unexpired unpack lease), an expired
 * lease (only the GC pass); containerd 2.x's roots: a sandbox's gc.ref
 * label keeps an extract-* snapshot (it gets a snapshots rm), an image
 * whose gc.expire passed is no root in meta.db version 4 (the GC pass
 * frees its snapshot) but is in version 3. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit_util.h"

#include "reap_containerd_cmds.h"
#include "scan_containerd.h"

static void test_shell_quote(void **state)
{
    (void)state;
    struct { const char *in, *out; } v[] = {
        { "leases", "leases" },
        { "sha256:0a1b", "sha256:0a1b" },
        { "ovl2fsck-gc-12", "ovl2fsck-gc-12" },
        { "extract-1 sha256:ab", "'extract-1 sha256:ab'" },
        { "it's", "'it'\\''s'" },
        { "", "''" },
        { "a$b`c", "'a$b`c'" },
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char *q = cd_shell_quote(v[i].in);
        assert_string_equal(q, v[i].out);
        free(q);
    }
}

static void test_children_first(void **state)
{
    (void)state;
    /* 0 <- 1 <- 2 (2's parent is 1, 1's parent is 0), 3 alone */
    long parent_of[] = { -1, 0, 1, -1 };
    size_t order[4];
    assert_true(cd_children_first(parent_of, 4, order));
    size_t pos[4];
    for (size_t i = 0; i < 4; i++)
        pos[order[i]] = i;
    assert_true(pos[2] < pos[1]);
    assert_true(pos[1] < pos[0]);
    long cycle[] = { 1, 0 };
    assert_false(cd_children_first(cycle, 2, order));
}

#define ID64 "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define TOPK "sha256:1111111111111111111111111111111111111111111111111111111111111111"

static void exec(struct db *db, const char *sql)
{
    char err[512] = "";
    if (db_exec(db, sql, err, sizeof err) != 0)
        fail_msg("%s: %s", sql, err);
}

static void test_command_list(void **state)
{
    (void)state;
    struct db db;
    char err[512];
    assert_int_equal(db_open(&db, NULL, err, sizeof err), 0);
    exec(&db, "INSERT INTO meta VALUES ('scan_time', '1000000')");
    exec(&db,
         "INSERT INTO cd_lease (ns, id, created, expire, expire_at) VALUES"
         " ('moby', '" ID64 "', 1, NULL, NULL),"
         " ('default', 'unpack', 1, '1970-01-12T14:00:00Z', 1050000),"
         " ('default', 'short', 1, '1970-01-12T12:00:00Z', 990000);"
         "INSERT INTO cd_lease_resource VALUES"
         " ('moby', '" ID64 "', 'snapshot', 'overlayfs', '" ID64 "'),"
         " ('moby', '" ID64 "', 'snapshot', 'overlayfs', '" ID64 "-init'),"
         " ('default', 'unpack', 'snapshot', 'overlayfs', 'extract-1 " TOPK "'),"
         " ('default', 'unpack', 'snapshot', 'overlayfs', 'extract-2 x');"
         "INSERT INTO cd_snapshot (ns, snapshotter, key, name, parent) VALUES"
         " ('moby', 'overlayfs', '" ID64 "-init', 'moby/1/" ID64 "-init', NULL),"
         " ('moby', 'overlayfs', '" ID64 "', 'moby/2/" ID64 "', '" ID64 "-init'),"
         " ('default', 'overlayfs', 'extract-1 " TOPK "', 'default/3/extract-1 " TOPK "', NULL),"
         " ('default', 'overlayfs', 'extract-2 x', 'default/4/extract-2 x', 'extract-1 " TOPK "');"
         "INSERT INTO finding (check_name, severity, object, path) VALUES"
         " ('lease-expired', 'garbage', 'default/short', NULL),"
         " ('snapshot-extract-leftover', 'garbage', 'default/extract-1 " TOPK "', NULL),"
         " ('lease-container-missing', 'garbage', 'moby/" ID64 "', NULL),"
         " ('snapshot-extract-leftover', 'garbage', 'default/extract-2 x', NULL);");
    struct cd_cmds c;
    assert_int_equal(cd_cmds_build(&c, &db, "/nonexistent", err, sizeof err), 0);
    const char *want[] = {
        "ctr -n default snapshots --snapshotter overlayfs rm 'extract-2 x'",
        "ctr -n default snapshots --snapshotter overlayfs rm 'extract-1 " TOPK "'",
        "ctr -n default leases rm --sync unpack",
        "ctr -n moby leases rm --sync " ID64,
        "ctr -n default leases create --id ovl2fsck-gc-1000000",
        "ctr -n default leases rm --sync ovl2fsck-gc-1000000",
    };
    assert_int_equal(c.count, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < c.count; i++)
        assert_string_equal(c.v[i].command, want[i]);
    assert_int_equal(c.findings, 4);
    assert_string_equal(c.v[0].argv[7], "extract-2 x");
    assert_string_equal(c.v[3].checks[0], "lease-container-missing");
    assert_string_equal(c.v[5].checks[0], "lease-expired");
    assert_int_equal(c.v[4].group, 4);
    assert_int_equal(c.v[5].group, 4);
    cd_cmds_free(&c);
    db_close(&db);
}

/* An extract snapshot a container was built on is not removed (a note says
 * why); one only an expired lease held goes with the GC pass; a backend
 * orphan gets the throwaway snapshot; an expired ingest record the GC pass. */
static void test_other_cases(void **state)
{
    (void)state;
    struct db db;
    char err[512];
    assert_int_equal(db_open(&db, NULL, err, sizeof err), 0);
    exec(&db, "INSERT INTO meta VALUES ('scan_time', '1000000')");
    exec(&db,
         "INSERT INTO cd_lease (ns, id, created, expire, expire_at) VALUES"
         " ('default', 'old', 1, '1970-01-12T12:00:00Z', 990000);"
         "INSERT INTO cd_lease_resource VALUES ('default', 'old', 'snapshot', 'overlayfs', 'extract-9 y');"
         "INSERT INTO cd_snapshot (ns, snapshotter, key, name, parent) VALUES"
         " ('default', 'overlayfs', 'extract-8 x', 'default/3/extract-8 x', NULL),"
         " ('default', 'overlayfs', 'c1', 'default/4/c1', 'extract-8 x'),"
         " ('default', 'overlayfs', 'extract-9 y', 'default/5/extract-9 y', NULL);"
         "INSERT INTO cd_container (ns, id, snapshotter, snapshot_key) VALUES ('default', 'c1', 'overlayfs', 'c1');"
         "INSERT INTO cd_ingest (ns, ref, dir, expire_at) VALUES ('default', 'r1', 'abcd', 990000);"
         "INSERT INTO finding (check_name, severity, object, path) VALUES"
         " ('snapshot-extract-leftover', 'garbage', 'default/extract-8 x', NULL),"
         " ('snapshot-extract-leftover', 'garbage', 'default/extract-9 y', NULL),"
         " ('snapshot-backend-orphaned', 'garbage', 'other/7/gone', 'io.containerd.snapshotter.v1.overlayfs/snapshots/7'),"
         " ('ingest-leftover', 'garbage', 'abcd', 'io.containerd.content.v1.content/ingest/abcd');");
    struct cd_cmds c;
    assert_int_equal(cd_cmds_build(&c, &db, "/nonexistent", err, sizeof err), 0);
    const char *want[] = {
        "ctr -n default snapshots --snapshotter overlayfs prepare ovl2fsck-gc-1000000",
        "ctr -n default snapshots --snapshotter overlayfs rm ovl2fsck-gc-1000000",
        "ctr -n default leases create --id ovl2fsck-gc-1000000",
        "ctr -n default leases rm --sync ovl2fsck-gc-1000000",
    };
    assert_int_equal(c.count, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < c.count; i++)
        assert_string_equal(c.v[i].command, want[i]);
    assert_int_equal(c.v[1].findings, 1);
    assert_string_equal(c.v[1].objects[0], "other/7/gone");
    assert_int_equal(c.v[3].findings, 2);
    assert_string_equal(c.v[3].objects[0], "default/extract-9 y");
    assert_string_equal(c.v[3].checks[1], "ingest-leftover");
    assert_int_equal(c.note_count, 1);
    assert_non_null(strstr(c.notes[0], "extract-8 x"));
    assert_int_equal(c.findings, 3);
    cd_cmds_free(&c);
    db_close(&db);
}

static void test_nothing_to_do(void **state)
{
    (void)state;
    struct db db;
    char err[512];
    assert_int_equal(db_open(&db, NULL, err, sizeof err), 0);
    exec(&db, "INSERT INTO meta VALUES ('scan_time', '1000000');"
              "INSERT INTO finding (check_name, severity, object, path, young) VALUES"
              " ('lease-expired', 'garbage', 'default/young', NULL, 1)");
    struct cd_cmds c;
    assert_int_equal(cd_cmds_build(&c, &db, "/nonexistent", err, sizeof err), 0);
    assert_int_equal(c.count, 0);
    cd_cmds_free(&c);
    db_close(&db);
}

/* An extract-* snapshot no lease holds: left to the GC pass, unless a
 * containerd 2.x sandbox's gc.ref label names it (a GC root). */
static size_t extract_rms(const char *sandbox_label)
{
    struct db db;
    char err[512];
    assert_int_equal(db_open(&db, NULL, err, sizeof err), 0);
    exec(&db, "INSERT INTO meta VALUES ('scan_time', '1000000');"
              "INSERT INTO cd_db (name, path, state, version) VALUES ('meta.db', 'm', 'ok', 4);"
              "INSERT INTO cd_snapshot (ns, snapshotter, key, name, parent) VALUES"
              " ('default', 'overlayfs', 'extract-9 y', 'default/9/extract-9 y', NULL);"
              "INSERT INTO cd_sandbox (ns, id) VALUES ('default', 'sb1');"
              "INSERT INTO finding (check_name, severity, object, path) VALUES"
              " ('snapshot-extract-leftover', 'garbage', 'default/extract-9 y', NULL);");
    char *sql = NULL;
    assert_true(asprintf(&sql, "INSERT INTO cd_label VALUES ('default', 'sandbox', '', 'sb1', '%s', 'extract-9 y')",
                         sandbox_label) > 0);
    exec(&db, sql);
    free(sql);
    struct cd_cmds c;
    assert_int_equal(cd_cmds_build(&c, &db, "/nonexistent", err, sizeof err), 0);
    size_t rms = 0;
    for (size_t i = 0; i < c.count; i++)
        if (strcmp(c.v[i].command, "ctr -n default snapshots --snapshotter overlayfs rm 'extract-9 y'") == 0)
            rms++;
    assert_string_equal(c.v[c.count - 1].command, "ctr -n default leases rm --sync ovl2fsck-gc-1000000");
    cd_cmds_free(&c);
    db_close(&db);
    return rms;
}

static void test_sandbox_root(void **state)
{
    (void)state;
    assert_int_equal(extract_rms("containerd.io/gc.ref.snapshot.overlayfs"), 1);
    assert_int_equal(extract_rms("containerd.io/gc.ref.snapshot.overlayfs/extra"), 1);
    assert_int_equal(extract_rms("example.com/not-a-gc-ref"), 0);
}

/* The bytes the GC pass frees: an image whose gc.expire passed holds, via
 * its config's gc.ref.snapshot label, snapshot 7 (4096 bytes). */
static int64_t expired_image_bytes(int version)
{
    char *root = u_mkdtemp("o2cmds");
    assert_non_null(root);
    u_write_big(root, CD_SNAPSHOTS "/7/fs/f", 4096, 'x');
    struct db db;
    char err[512];
    assert_int_equal(db_open(&db, NULL, err, sizeof err), 0);
    char *sql = NULL;
    assert_true(asprintf(&sql, "INSERT INTO cd_db (name, path, state, version) VALUES ('meta.db', 'm', 'ok', %d)",
                         version) > 0);
    exec(&db, sql);
    free(sql);
    exec(&db, "INSERT INTO meta VALUES ('scan_time', '1000000');"
              "INSERT INTO cd_image (ns, name, digest) VALUES ('default', 'img', 'sha256:aa');"
              "INSERT INTO cd_blob (ns, digest, size) VALUES ('default', 'sha256:aa', 1);"
              "INSERT INTO cd_label VALUES"
              " ('default', 'image', '', 'img', 'containerd.io/gc.expire', '1970-01-01T00:00:10Z'),"
              " ('default', 'blob', '', 'sha256:aa', 'containerd.io/gc.ref.snapshot.overlayfs', 'sha256:top');"
              "INSERT INTO cd_snapshot (ns, snapshotter, key, name, parent) VALUES"
              " ('default', 'overlayfs', 'sha256:top', 'default/1/sha256:top', NULL);"
              "INSERT INTO cd_backend (name, id, kind, ns, key) VALUES"
              " ('default/1/sha256:top', 7, 3, 'default', 'sha256:top');"
              "INSERT INTO cd_lease (ns, id, created, expire, expire_at) VALUES"
              " ('default', 'short', 1, '1970-01-12T12:00:00Z', 990000);"
              "INSERT INTO finding (check_name, severity, object, path) VALUES"
              " ('lease-expired', 'garbage', 'default/short', NULL);");
    struct cd_cmds c;
    assert_int_equal(cd_cmds_build(&c, &db, root, err, sizeof err), 0);
    int64_t bytes = c.bytes;
    cd_cmds_free(&c);
    db_close(&db);
    u_rmtree(root);
    free(root);
    return bytes;
}

static void test_expired_image(void **state)
{
    (void)state;
    assert_true(expired_image_bytes(4) >= 4096);
    assert_int_equal(expired_image_bytes(3), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shell_quote),
        cmocka_unit_test(test_children_first),
        cmocka_unit_test(test_command_list),
        cmocka_unit_test(test_other_cases),
        cmocka_unit_test(test_nothing_to_do),
        cmocka_unit_test(test_sandbox_root),
        cmocka_unit_test(test_expired_image),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
