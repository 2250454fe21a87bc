/* test_reap_containerd_cmds.c — the ctr commands for containerd record
 * garbage (src/reap_containerd_cmds.c): sh quoting, children before
 * parents, and the command list for a scan database: a leaked Docker
 * container lease (moby/<id>, holding <id> and <id>-init), two extract-*
 * snapshots (child first, then their unexpired unpack lease), an expired
 * lease (only the GC pass). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit_util.h"

#include "reap_containerd_cmds.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shell_quote),
        cmocka_unit_test(test_children_first),
        cmocka_unit_test(test_command_list),
        cmocka_unit_test(test_nothing_to_do),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
