/* test_scan_containerd.c — the containerd scanner's pieces: the value
 * decoders (varints, Go times, RFC 3339) and a hostile meta.db or
 * metadata.db (garbage, truncated): a cd_db row with state invalid and no
 * record loaded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "scan_containerd.h"

static void test_varints(void **state)
{
    (void)state;
    static const unsigned char three[] = { 0x06 }, size[] = { 0xb8, 0x08 }, neg[] = { 0x01 };
    int64_t v;
    uint64_t u;
    size_t used;
    assert_int_equal(cd_varint(three, sizeof three, &v), 0);
    assert_int_equal(v, 3);              /* meta.db v1/version of containerd 1.6 */
    assert_int_equal(cd_varint(size, sizeof size, &v), 0);
    assert_int_equal(v, 540);
    assert_int_equal(cd_varint(neg, sizeof neg, &v), 0);
    assert_int_equal(v, -1);
    assert_int_equal(cd_uvarint(size, sizeof size, &u, &used), 0);
    assert_int_equal(u, 1080);
    assert_int_equal(used, 2);
    static const unsigned char unterminated[] = { 0x80, 0x80 };
    assert_int_equal(cd_uvarint(unterminated, sizeof unterminated, &u, NULL), -1);
    static const unsigned char too_long[11] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
    assert_int_equal(cd_uvarint(too_long, sizeof too_long, &u, NULL), -1);
    assert_int_equal(cd_uvarint(too_long, 0, &u, NULL), -1);
}

static void test_times(void **state)
{
    (void)state;
    /* 2026-12-05T00:31:28Z as Go's MarshalBinary (version 1, UTC) */
    int64_t unix_t = 1796430688, go = unix_t + 62135596800LL;
    unsigned char b[15] = { 1 };
    for (int i = 0; i < 8; i++)
        b[1 + i] = (unsigned char)(go >> (56 - 8 * i));
    b[13] = 0xff;
    b[14] = 0xff;
    int64_t t;
    assert_int_equal(cd_go_time(b, sizeof b, &t), 0);
    assert_int_equal(t, unix_t);
    assert_int_equal(cd_go_time(b, 14, &t), -1);
    b[0] = 7;
    assert_int_equal(cd_go_time(b, sizeof b, &t), -1);
    assert_int_equal(cd_rfc3339("2026-12-05T00:31:28Z", &t), 0);
    assert_int_equal(t, unix_t);
    assert_int_equal(cd_rfc3339("2026-12-05T01:31:28.123456789+01:00", &t), 0);
    assert_int_equal(t, unix_t);
    assert_int_equal(cd_rfc3339("2026-12-05T00:31:28", &t), -1);
    assert_int_equal(cd_rfc3339("2026-12-05T00:31:28Zjunk", &t), -1);
    assert_int_equal(cd_rfc3339("yesterday", &t), -1);
}

static void scan_bytes(const char *name, const void *bytes, size_t len, const char *want_state)
{
    char dir[] = "/tmp/o2t-cdscan.XXXXXX", path[64], err[512];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/f.db", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len)
        assert_int_equal(fwrite(bytes, 1, len, f), len);
    fclose(f);
    struct db db;
    assert_int_equal(db_open(&db, NULL, err, sizeof err), 0);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    int rc = strcmp(name, "meta.db") == 0 ? scan_cd_meta_db(&db, dfd, "f.db", err, sizeof err)
                                          : scan_cd_snapshot_db(&db, dfd, "f.db", err, sizeof err);
    assert_int_equal(rc, 0);
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(db.h, "SELECT state, (SELECT count(*) FROM cd_namespace) + "
                                              "(SELECT count(*) FROM cd_backend) FROM cd_db WHERE name = ?1",
                                        -1, &q, NULL), SQLITE_OK);
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), want_state);
    assert_int_equal(sqlite3_column_int(q, 1), 0);
    sqlite3_finalize(q);
    db_close(&db);
    close(dfd);
    unlink(path);
    rmdir(dir);
}

static void test_hostile_files(void **state)
{
    (void)state;
    unsigned char junk[8192];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)(i * 131 + 7);
    scan_bytes("meta.db", junk, sizeof junk, "invalid");
    scan_bytes("metadata.db", junk, 100, "invalid");     /* truncated: shorter than a meta page */
    scan_bytes("meta.db", junk, 0, "invalid");
}

static void test_missing_file(void **state)
{
    (void)state;
    char err[512];
    struct db db;
    assert_int_equal(db_open(&db, NULL, err, sizeof err), 0);
    int dfd = open("/", O_RDONLY | O_DIRECTORY);
    assert_int_equal(scan_cd_snapshot_db(&db, dfd, "no/such/metadata.db", err, sizeof err), 0);
    assert_int_equal(db_query_int(&db, "SELECT count(*) FROM cd_db WHERE name = 'metadata.db' AND state = 'missing'", -1), 1);
    close(dfd);
    db_close(&db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varints),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_hostile_files),
        cmocka_unit_test(test_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
