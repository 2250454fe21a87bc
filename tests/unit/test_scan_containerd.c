/* test_scan_containerd.c — the containerd scanner's pieces: the value
 * decoders (varints, Go times, RFC 3339), a hostile meta.db or
 * metadata.db (garbage, truncated): a cd_db row with state invalid and no
 * record loaded, and the buckets only containerd 2.x writes (v1/version 4,
 * a sandbox with its labels, a lease's images bucket), in a meta.db built
 * here: `ctr` cannot make a lease hold an image. */
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
    struct cd_intern strs;
    cd_intern_init(&strs);
    int rc = strcmp(name, "meta.db") == 0 ? scan_cd_meta_db(&db, &strs, dfd, "f.db", err, sizeof err)
                                          : scan_cd_snapshot_db(&db, &strs, dfd, "f.db", err, sizeof err);
    assert_int_equal(rc, 0);
    assert_int_equal(cd_intern_store(&strs, &db, err, sizeof err), 0);
    cd_intern_free(&strs);
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
    struct cd_intern strs;
    cd_intern_init(&strs);
    assert_int_equal(scan_cd_snapshot_db(&db, &strs, dfd, "no/such/metadata.db", err, sizeof err), 0);
    cd_intern_free(&strs);
    assert_int_equal(db_query_int(&db, "SELECT count(*) FROM cd_db WHERE name = 'metadata.db' AND state = 'missing'", -1), 1);
    close(dfd);
    db_close(&db);
}

/* ---- a meta.db of nested inline buckets, built here ------------------------ */

struct el {
    const char *key;
    const unsigned char *val;   /* a bucket value (bucket_val) when bucket */
    size_t vlen;
    int bucket;
};

static void put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }

/* A bucket value holding an inline leaf page of the n elements (keys in
 * order); malloc'd, length in *len. */
static unsigned char *bucket_val(const struct el *e, size_t n, size_t *len)
{
    size_t total = 16 + 16 + 16 * n;
    for (size_t i = 0; i < n; i++)
        total += strlen(e[i].key) + e[i].vlen;
    unsigned char *b = calloc(1, total);
    assert_non_null(b);
    unsigned char *page = b + 16;              /* bucket header {root 0, sequence 0} */
    page[8] = 0x02;                            /* leaf */
    page[10] = (unsigned char)n;
    size_t off = 16 + 16 * n;
    for (size_t i = 0; i < n; i++) {
        unsigned char *h = page + 16 + 16 * i;
        size_t kl = strlen(e[i].key);
        put32(h, e[i].bucket ? 1 : 0);
        put32(h + 4, (uint32_t)(off - (16 + 16 * i)));
        put32(h + 8, (uint32_t)kl);
        put32(h + 12, (uint32_t)e[i].vlen);
        memcpy(page + off, e[i].key, kl);
        memcpy(page + off + kl, e[i].val, e[i].vlen);
        off += kl + e[i].vlen;
    }
    *len = total;
    return b;
}

#define STR(k, v) { k, (const unsigned char *)(v), sizeof(v) - 1, 0 }
#define BKT(k, v, n) { k, v, n, 1 }

static uint64_t fnv1a64(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* 4 pages: two metas, an empty freelist (2), the root leaf (3) holding v1. */
static unsigned char *meta_db_v4(size_t *len)
{
    size_t n1, n2, n3, n4, n5, n6, n7, n8, n9;
    struct el lease_labels[] = { STR("containerd.io/gc.expire", "2099-01-01T00:00:00Z") };
    unsigned char *b1 = bucket_val(lease_labels, 1, &n1);
    struct el lease_images[] = { STR("docker.io/o2t/pinned:1", "") };
    unsigned char *b2 = bucket_val(lease_images, 1, &n2);
    struct el lease[] = { BKT("images", b2, n2), BKT("labels", b1, n1) };
    unsigned char *b3 = bucket_val(lease, 2, &n3);
    struct el leases[] = { BKT("pull-1", b3, n3) };
    unsigned char *b4 = bucket_val(leases, 1, &n4);
    struct el sb_labels[] = { STR("containerd.io/gc.ref.snapshot.overlayfs", "sha256:top") };
    unsigned char *b5 = bucket_val(sb_labels, 1, &n5);
    struct el sb[] = { BKT("labels", b5, n5), STR("sandboxer", "podsandbox") };
    unsigned char *b6 = bucket_val(sb, 2, &n6);
    struct el sandboxes[] = { BKT("sb1", b6, n6) };
    unsigned char *b7 = bucket_val(sandboxes, 1, &n7);
    struct el ns[] = { BKT("leases", b4, n4), BKT("sandboxes", b7, n7) };
    unsigned char *b8 = bucket_val(ns, 2, &n8);
    struct el v1[] = { BKT("default", b8, n8), STR("version", "\x08") };   /* varint 4 */
    unsigned char *b9 = bucket_val(v1, 2, &n9);
    const size_t ps = 4096;
    unsigned char *f = calloc(4, ps);
    assert_non_null(f);
    unsigned char *fl = f + 2 * ps, *root = f + 3 * ps;
    put64(fl, 2);
    fl[8] = 0x10;
    put64(root, 3);
    root[8] = 0x02;
    root[10] = 1;
    put32(root + 16, 1);                       /* v1: a bucket */
    put32(root + 20, 16);
    put32(root + 24, 2);
    put32(root + 28, (uint32_t)n9);
    assert_true(32 + 2 + n9 <= ps);
    memcpy(root + 32, "v1", 2);
    memcpy(root + 34, b9, n9);
    for (int m = 0; m < 2; m++) {
        unsigned char *p = f + (size_t)m * ps, *body = p + 16;
        put64(p, (uint64_t)m);
        p[8] = 0x04;
        put32(body, 0xED0CDAEDu);
        put32(body + 4, 2);
        put32(body + 8, (uint32_t)ps);
        put64(body + 16, 3);                   /* root bucket's page */
        put64(body + 32, 2);                   /* freelist */
        put64(body + 40, 4);                   /* high water mark */
        put64(body + 48, (uint64_t)m + 1);     /* txid */
        put64(body + 56, fnv1a64(body, 56));
    }
    free(b1), free(b2), free(b3), free(b4), free(b5), free(b6), free(b7), free(b8), free(b9);
    *len = 4 * ps;
    return f;
}

static void test_containerd2_buckets(void **state)
{
    (void)state;
    char dir[] = "/tmp/o2t-cd2.XXXXXX", path[64], err[512];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/meta.db", dir);
    size_t len;
    unsigned char *bytes = meta_db_v4(&len);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    fclose(f);
    free(bytes);
    struct db db;
    assert_int_equal(db_open(&db, NULL, err, sizeof err), 0);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    struct cd_intern strs;
    cd_intern_init(&strs);
    assert_int_equal(scan_cd_meta_db(&db, &strs, dfd, "meta.db", err, sizeof err), 0);
    assert_int_equal(cd_intern_store(&strs, &db, err, sizeof err), 0);
    cd_intern_free(&strs);
    assert_int_equal(db_query_int(&db, "SELECT count(*) FROM cd_db WHERE name = 'meta.db' AND state = 'ok'"
                                       " AND version = 4", -1), 1);
    assert_int_equal(db_query_int(&db, "SELECT count(*) FROM cd_sandbox WHERE ns = 'default' AND id = 'sb1'", -1), 1);
    assert_int_equal(db_query_int(&db, "SELECT count(*) FROM cd_label WHERE ns = 'default' AND kind = 'sandbox'"
                                       " AND owner = 'sb1' AND key = 'containerd.io/gc.ref.snapshot.overlayfs'"
                                       " AND value = 'sha256:top'", -1), 1);
    assert_int_equal(db_query_int(&db, "SELECT count(*) FROM cd_lease_resource WHERE ns = 'default'"
                                       " AND lease = 'pull-1' AND kind = 'image' AND id = 'docker.io/o2t/pinned:1'",
                                  -1), 1);
    assert_int_equal(db_query_int(&db, "SELECT count(*) FROM cd_lease WHERE id = 'pull-1'"
                                       " AND expire = '2099-01-01T00:00:00Z' AND expire_at = 4070908800", -1), 1);
    db_close(&db);
    close(dfd);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varints),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_hostile_files),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_containerd2_buckets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
