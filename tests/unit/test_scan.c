/* test_scan.c — the scanner (src/scan*.c, src/fsutil.c): builds minimal
 * stores in a temporary dir, runs scan_root into a private database and
 * asserts exactly what was recorded.
 *
 * Hostile inputs: id files with a trailing newline, empty, with NUL bytes,
 * not UTF-8, 200 KB; a FIFO, a symlink or a dir where a file should be; a
 * cache-id of "../../etc"; image configs that are not JSON, lack rootfs,
 * have a bad diff_ids, are 10 MB or nested 10000 deep; repositories.json of
 * the wrong shape; lower files and l/ symlinks of every malformed kind;
 * symlinks where dirs should be (never followed).
 *
 * The "real store" test rebuilds the metadata of a store a real dockerd
 * 20.10.24 wrote here (busybox import + two RUN layers), byte for byte where
 * it matters (image configs, repositories.json, layerdb ids, link names). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit_util.h"

#include <dirent.h>
#include <signal.h>

#include "ids.h"
#include "scan.h"
#include "scan_internal.h"

/* ---- real-store vectors ----------------------------------------------------- */

#define D1 "07f112164e2aa1df0eeace77e4c6e1b42955e4d820f605c24aaa47a84ad566d6"
#define D2 "32e55a5f86fbc83b1987ace5dc1e1c78c0c1848f03d848b2580f6046bbc90277"
#define D3 "db8f48a6c599220170a7652506c57d151f142e2d9c271d75b3b85b9e2f6b3d04"
#define C1 D1
#define C2 "c7d25fe92e0686856ad65fbe69b007d06f62fee562154e6e3c1eeb4b0591e19d"
#define C3 "023e53900dc65b1ce3b041720546fad4f66501fd4b5b1e100d05348421667bc1"
#define K1 "afac8a8d59917fd4cb1d365d3059c21b391435a62a90f4a820261d22eaae2b2a"
#define K2 "009f167c17ed1d2c5fef6bf1de9687dde8b8d44040b5c4f37fdb00b66e03b26a"
#define K3 "ee71e72fcd6b011f8e0b4bfd1f4ef5deb1437bddda3a347eb48b3f495b254efb"
#define L1 "D5ZLS5RFKL54KEKUH4OGFAKYLE"
#define L2 "DBIOCKS36IQTFSI5EBNBTMQBNW"
#define L3 "GDLIB73ETS6IJJW6NMKJTOAZK5"
#define IMG_BASE "b3f8f520a873ccbbaee154ed5a1692f4c26af51c812f6f7182b497325cff93af"
#define IMG_TWO "71b77e606ba2f455ac563adc403f7ad8bd80edb480e86531941c2cd3d5eaf202"

/* imagedb/content/sha256/b3f8f520... as dockerd wrote it (895 bytes) */
static const char cfg_base[] =
    "{\"architecture\":\"amd64\",\"comment\":\"Imported from -\",\"config\":{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\""
    "\",\"AttachStdin\":false,\"AttachStdout\":false,\"AttachStderr\":false,\"Tty\":false,\"OpenStdin\":false,\"Stdin"
    "Once\":false,\"Env\":null,\"Cmd\":null,\"Image\":\"\",\"Volumes\":null,\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBui"
    "ld\":null,\"Labels\":null},\"container_config\":{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":fa"
    "lse,\"AttachStdout\":false,\"AttachStderr\":false,\"Tty\":false,\"OpenStdin\":false,\"StdinOnce\":false,\"Env\":"
    "null,\"Cmd\":null,\"Image\":\"\",\"Volumes\":null,\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":"
    "null},\"created\":\"2026-11-27T19:23:05.590526231Z\",\"docker_version\":\"20.10.24+dfsg1\",\"history\":[{\"crea"
    "ted\":\"2026-11-27T19:23:05.590526231Z\",\"comment\":\"Imported from -\"}],\"os\":\"linux\",\"rootfs\":{\"type\":\"l"
    "ayers\",\"diff_ids\":[\"sha256:07f112164e2aa1df0eeace77e4c6e1b42955e4d820f605c24aaa47a84ad566d6\"]}}";

/* imagedb/content/sha256/71b77e60... (1585 bytes) */
static const char cfg_two[] =
    "{\"architecture\":\"amd64\",\"config\":{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":false,\"Attac"
    "hStdout\":false,\"AttachStderr\":false,\"Tty\":false,\"OpenStdin\":false,\"StdinOnce\":false,\"Env\":[\"PATH=/us"
    "r/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\"Cmd\":null,\"Image\":\"sha256:9884a767cc8c3"
    "0b2c98f34a20ec455771214ec9e83dd0be0410aebafc9c3cfac\",\"Volumes\":null,\"WorkingDir\":\"\",\"Entrypoint\":nul"
    "l,\"OnBuild\":null,\"Labels\":null},\"container\":\"1180999b52c55ca90b1186c8b076063590246181f92242eb205279b"
    "77bcae260\",\"container_config\":{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":false,\"AttachSt"
    "dout\":false,\"AttachStderr\":false,\"Tty\":false,\"OpenStdin\":false,\"StdinOnce\":false,\"Env\":[\"PATH=/usr/l"
    "ocal/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\"Cmd\":[\"/bin/sh\",\"-c\",\"echo two \\u003e /two"
    "\"],\"Image\":\"sha256:9884a767cc8c30b2c98f34a20ec455771214ec9e83dd0be0410aebafc9c3cfac\",\"Volumes\":null,"
    "\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":null},\"created\":\"2026-11-27T19:23:06.23346"
    "4013Z\",\"docker_version\":\"20.10.24+dfsg1\",\"history\":[{\"created\":\"2026-11-27T19:23:05.590526231Z\",\"com"
    "ment\":\"Imported from -\"},{\"created\":\"2026-11-27T19:23:05.952432425Z\",\"created_by\":\"/bin/sh -c echo o"
    "ne \\u003e /one\"},{\"created\":\"2026-11-27T19:23:06.233464013Z\",\"created_by\":\"/bin/sh -c echo two \\u003"
    "e /two\"}],\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:07f112164e2aa1df0eeace77e4c6e1b"
    "42955e4d820f605c24aaa47a84ad566d6\",\"sha256:32e55a5f86fbc83b1987ace5dc1e1c78c0c1848f03d848b2580f6046b"
    "bc90277\",\"sha256:db8f48a6c599220170a7652506c57d151f142e2d9c271d75b3b85b9e2f6b3d04\"]}}";

static const char repos_json[] =
    "{\"Repositories\":{\"bb\":{\"bb:base\":\"sha256:b3f8f520a873ccbbaee154ed5a1692f4c26af51c812f6f7182b497325cff93af\","
    "\"bb:two\":\"sha256:71b77e606ba2f455ac563adc403f7ad8bd80edb480e86531941c2cd3d5eaf202\"}}}";

#define LAYERDB "image/overlay2/layerdb/sha256/"
#define CONTENT "image/overlay2/imagedb/content/sha256/"

/* ---- fixture -------------------------------------------------------------------- */

struct fx {
    char *root;
    struct db db;
    bool scanned;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->root = u_mkdtemp("test_scan");
    if (!f->root)
        return -1;
    char err[256];
    if (db_open(&f->db, NULL, err, sizeof err) < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    alarm(0);
    db_close(&f->db);
    u_rmtree(f->root);
    free(f->root);
    free(f);
    return 0;
}

/* Scan the root into a fresh private database (each scan builds indexes,
 * so a second scan needs a new one). */
static void scan(struct fx *f)
{
    char err[512] = "";
    if (f->scanned) {
        db_close(&f->db);
        u_db_open(&f->db);
    }
    alarm(60);   /* a FIFO or a loop must not hang the test */
    int rc = scan_root(&f->db, f->root, NULL, NULL, NULL, err, sizeof err);
    alarm(0);
    if (rc != 0)
        fail_msg("scan_root: rc=%d %s", rc, err);
    f->scanned = true;
}

/* ---- store builders ----------------------------------------------------------------- */

static void put_id(struct fx *f, const char *dir, const char *name, const char *value)
{
    char rel[512];
    snprintf(rel, sizeof rel, "%s/%s", dir, name);
    u_write_str(f->root, rel, value);
}

/* layerdb/sha256/<chain> with the files dockerd writes (no trailing newline). */
static void put_layer(struct fx *f, const char *chain, const char *diff, const char *parent, const char *cache,
                      const char *size)
{
    char dir[256], v[128];
    snprintf(dir, sizeof dir, LAYERDB "%s", chain);
    u_mkdirs(f->root, dir);
    if (diff) {
        snprintf(v, sizeof v, "sha256:%s", diff);
        put_id(f, dir, "diff", v);
    }
    if (parent) {
        snprintf(v, sizeof v, "sha256:%s", parent);
        put_id(f, dir, "parent", v);
    }
    if (cache)
        put_id(f, dir, "cache-id", cache);
    if (size)
        put_id(f, dir, "size", size);
    put_id(f, dir, "tar-split.json.gz", "\x1f\x8b");
}

/* overlay2/<name>/ with diff/, link, lower (NULL: none), work/ and its l/ symlink. */
static void put_overlay(struct fx *f, const char *name, const char *link, const char *lower)
{
    char rel[256], target[256];
    snprintf(rel, sizeof rel, "overlay2/%s/diff", name);
    u_mkdirs(f->root, rel);
    snprintf(rel, sizeof rel, "overlay2/%s", name);
    if (link) {
        put_id(f, rel, "link", link);
        snprintf(target, sizeof target, "../%s/diff", name);
        snprintf(rel, sizeof rel, "overlay2/l/%s", link);
        u_symlink(f->root, rel, target);
        snprintf(rel, sizeof rel, "overlay2/%s", name);
    }
    if (lower) {
        put_id(f, rel, "lower", lower);
        snprintf(rel, sizeof rel, "overlay2/%s/work", name);
        u_mkdirs(f->root, rel);
    }
}

/* An image config named by the sha256 of its bytes; the name in out. */
static void put_config(struct fx *f, const void *bytes, size_t len, char out[HEX64_LEN + 1])
{
    id_sha256_hex(bytes, len, out);
    char rel[256];
    snprintf(rel, sizeof rel, CONTENT "%s", out);
    u_write(f->root, rel, bytes, len);
}

static void put_config_str(struct fx *f, const char *json, char out[HEX64_LEN + 1])
{
    put_config(f, json, strlen(json), out);
}

/* The real store's metadata. */
static void put_real_store(struct fx *f)
{
    char id[HEX64_LEN + 1];
    put_config(f, cfg_base, sizeof cfg_base - 1, id);
    assert_string_equal(id, IMG_BASE);
    put_config(f, cfg_two, sizeof cfg_two - 1, id);
    assert_string_equal(id, IMG_TWO);
    u_write_str(f->root, "image/overlay2/repositories.json", repos_json);
    put_layer(f, C1, D1, NULL, K1, "1982263");
    put_layer(f, C2, D2, C1, K2, "4");
    put_layer(f, C3, D3, C2, K3, "4");
    put_overlay(f, K1, L1, NULL);
    put_overlay(f, K2, L2, "l/" L1);
    put_overlay(f, K3, L3, "l/" L2 ":l/" L1);
    u_write_str(f->root, "overlay2/" K1 "/committed", "");
    u_write_str(f->root, "overlay2/" K2 "/committed", "");
    u_mkdirs(f->root, "image/overlay2/layerdb/tmp");
    u_mkdirs(f->root, "containers");
}

/* ---- the real store ---------------------------------------------------------------------- */

static void test_real_store(void **state)
{
    struct fx *f = *state;
    put_real_store(f);
    scan(f);
    struct db *db = &f->db;
    struct scan_counts c;
    scan_read_counts(db, &c);
    assert_int_equal(c.images, 2);
    assert_int_equal(c.layers, 3);
    assert_int_equal(c.mounts, 0);
    assert_int_equal(c.containers, 0);
    assert_int_equal(c.overlay_dirs, 3);
    assert_int_equal(c.links, 3);
    assert_int_equal(c.buildkit_snapshots, 0);

    /* images: digest over the bytes as read, diff_ids in order with chainIDs */
    assert_int_equal(u_qint(db, "SELECT count(*) FROM image WHERE name_ok AND digest_ok AND config_state = 'ok'"
                                " AND config_error IS NULL AND digest = id"), 2);
    assert_int_equal(u_qint(db, "SELECT size FROM image WHERE id = '" IMG_BASE "'"), 895);
    assert_int_equal(u_qint(db, "SELECT size FROM image WHERE id = '" IMG_TWO "'"), 1585);
    assert_int_equal(u_qint(db, "SELECT count(*) FROM image_layer"), 4);
    u_assert_text(db, "sha256:" D1 "|" C1, "SELECT diff_id || '|' || chain_id FROM image_layer WHERE image_id = '" IMG_BASE "' AND idx = 0");
    u_assert_text(db, "sha256:" D1 "|" C1, "SELECT diff_id || '|' || chain_id FROM image_layer WHERE image_id = '" IMG_TWO "' AND idx = 0");
    u_assert_text(db, "sha256:" D2 "|" C2, "SELECT diff_id || '|' || chain_id FROM image_layer WHERE image_id = '" IMG_TWO "' AND idx = 1");
    u_assert_text(db, "sha256:" D3 "|" C3, "SELECT diff_id || '|' || chain_id FROM image_layer WHERE image_id = '" IMG_TWO "' AND idx = 2");

    /* layers: ids stripped of "sha256:", chainID recomputed and equal */
    u_assert_text(db, D1 "|ok|missing|" K1 "|ok|1982263|ok|1|" C1 "|-1",
                  "SELECT diff || '|' || diff_state || '|' || parent_state || '|' || cache_id || '|' || cache_id_state"
                  " || '|' || size || '|' || size_state || '|' || has_tarsplit || '|' || computed_chain || '|' || entries"
                  " FROM layer WHERE chain_id = '" C1 "' AND parent IS NULL AND name_ok AND is_dir");
    u_assert_text(db, C1, "SELECT parent FROM layer WHERE chain_id = '" C2 "' AND parent_state = 'ok'");
    assert_int_equal(u_qint(db, "SELECT count(*) FROM layer WHERE computed_chain = chain_id"), 3);

    /* overlay2 dirs, lower entries and links */
    u_assert_text(db, "layer|1|dir|" L1 "|ok|missing|0|1|0",
                  "SELECT kind || '|' || has_diff || '|' || diff_kind || '|' || link || '|' || link_state || '|' ||"
                  " lower_state || '|' || has_work || '|' || committed || '|' || has_merged FROM overlay_dir"
                  " WHERE name = '" K1 "' AND lower IS NULL");
    u_assert_text(db, "l/" L2 ":l/" L1 "|ok|1|0",
                  "SELECT lower || '|' || lower_state || '|' || has_work || '|' || committed FROM overlay_dir WHERE name = '" K3 "'");
    u_assert_text(db, "0:l/" L2 ":" L2 ",1:l/" L1 ":" L1,
                  "SELECT group_concat(idx || ':' || entry || ':' || short, ',') FROM"
                  " (SELECT * FROM overlay_lower WHERE dir = '" K3 "' ORDER BY idx)");
    assert_int_equal(u_qint(db, "SELECT count(*) FROM overlay_lower"), 3);
    u_assert_text(db, "symlink|../" K2 "/diff|" K2, "SELECT type || '|' || target || '|' || target_dir FROM link WHERE name = '" L2 "'");

    /* tags */
    assert_int_equal(u_qint(db, "SELECT count(*) FROM tag WHERE id_ok AND repo = 'bb'"), 2);
    u_assert_text(db, IMG_TWO, "SELECT image_id FROM tag WHERE ref = 'bb:two'");
    u_assert_text(db, "ok", "SELECT state FROM tag_file");

    /* nothing unreadable, no stray entries, meta filled */
    assert_int_equal(u_qint(db, "SELECT count(*) FROM scan_error"), 0);
    assert_int_equal(u_qint(db, "SELECT count(*) FROM overlay_stray"), 0);
    u_assert_text(db, f->root, "SELECT value FROM meta WHERE key = 'root'");
    assert_true(u_qint(db, "SELECT value FROM meta WHERE key = 'scan_time'") > 1700000000);

    /* and the whole catalog finds nothing in it */
    u_run_checks(db);
    U_EXPECT_NONE(db);
}

/* ---- id files ---------------------------------------------------------------------------- */

/* A layer dir whose diff file holds exactly these bytes. */
static void put_layer_diff(struct fx *f, const char *chain, const void *diff, size_t len)
{
    char dir[256], rel[300];
    snprintf(dir, sizeof dir, LAYERDB "%s", chain);
    u_mkdirs(f->root, dir);
    snprintf(rel, sizeof rel, "%s/diff", dir);
    u_write(f->root, rel, diff, len);
    put_id(f, dir, "cache-id", K1);
    put_id(f, dir, "size", "0");
}

static const char *chain_n(int n)
{
    static char buf[16][HEX64_LEN + 1];
    char *b = buf[n % 16];
    snprintf(b, HEX64_LEN + 1, "%064x", n + 1);
    return b;
}

static void expect_diff(struct fx *f, int n, const char *state, const char *value)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT diff_state FROM layer WHERE chain_id = '%s'", chain_n(n));
    u_assert_text(&f->db, state, sql);
    snprintf(sql, sizeof sql, "SELECT diff FROM layer WHERE chain_id = '%s'", chain_n(n));
    u_assert_text(&f->db, value, sql);
}

static void test_id_files(void **state)
{
    struct fx *f = *state;
    const char *digest = "sha256:" D1;
    char buf[512];

    put_layer_diff(f, chain_n(0), digest, strlen(digest));                       /* as dockerd writes it */
    snprintf(buf, sizeof buf, "%s\n", digest);
    put_layer_diff(f, chain_n(1), buf, strlen(buf));                             /* trailing newline */
    snprintf(buf, sizeof buf, " \t%s\r\n\n", digest);
    put_layer_diff(f, chain_n(2), buf, strlen(buf));                             /* whitespace around */
    put_layer_diff(f, chain_n(3), "", 0);                                        /* empty */
    put_layer_diff(f, chain_n(4), " \n\t\n", 4);                                 /* whitespace only */
    memcpy(buf, digest, 71);
    buf[71] = '\0';
    put_layer_diff(f, chain_n(5), buf, 72);                                      /* trailing NUL */
    buf[20] = '\0';
    put_layer_diff(f, chain_n(6), buf, 71);                                      /* NUL inside */
    put_layer_diff(f, chain_n(7), "\xff\xfe\xfd", 3);                            /* not UTF-8 */
    put_layer_diff(f, chain_n(8), "sha256:07F112164E2AA1DF0EEACE77E4C6E1B42955E4D820F605C24AAA47A84AD566D6", 71);
    put_layer_diff(f, chain_n(9), D1, 64);                                       /* no sha256: prefix */
    char *big = malloc(200 * 1024);
    memset(big, 'a', 200 * 1024);
    put_layer_diff(f, chain_n(10), big, 200 * 1024);                             /* 200 KB: over the cap */
    put_layer_diff(f, chain_n(11), big, 300);                                    /* invalid, kept to 200 chars */
    put_layer_diff(f, "1000000000000000000000000000000000000000000000000000000000000000", big, 64 * 1024);       /* at the cap */
    put_layer_diff(f, "2000000000000000000000000000000000000000000000000000000000000000", big, 64 * 1024 + 1);   /* one over */
    free(big);
    /* a FIFO where the diff file should be: must not block */
    put_layer_diff(f, chain_n(12), digest, 71);
    u_unlink(f->root, LAYERDB "000000000000000000000000000000000000000000000000000000000000000d/diff");
    u_mkfifo(f->root, LAYERDB "000000000000000000000000000000000000000000000000000000000000000d/diff");
    /* a symlink to a valid diff file: not followed */
    u_write_str(f->root, "elsewhere/diff", digest);
    put_layer_diff(f, chain_n(13), digest, 71);
    u_unlink(f->root, LAYERDB "000000000000000000000000000000000000000000000000000000000000000e/diff");
    u_symlink(f->root, LAYERDB "000000000000000000000000000000000000000000000000000000000000000e/diff",
              "../../../../../elsewhere/diff");
    /* a dir where the diff file should be */
    put_layer_diff(f, chain_n(14), digest, 71);
    u_unlink(f->root, LAYERDB "000000000000000000000000000000000000000000000000000000000000000f/diff");
    u_mkdirs(f->root, LAYERDB "000000000000000000000000000000000000000000000000000000000000000f/diff");
    scan(f);

    expect_diff(f, 0, "ok", D1);
    expect_diff(f, 1, "ok", D1);
    expect_diff(f, 2, "ok", D1);
    expect_diff(f, 3, "empty", NULL);
    expect_diff(f, 4, "empty", NULL);
    /* NUL bytes: invalid, kept raw (NUL shown as '?'), not trimmed */
    expect_diff(f, 5, "invalid", "sha256:" D1 "?");
    memcpy(buf, digest, 71);
    buf[20] = '?';
    buf[71] = '\0';
    expect_diff(f, 6, "invalid", buf);
    /* not UTF-8: invalid, the bytes as found */
    size_t len = 0;
    char *raw = u_text(&f->db, "SELECT diff FROM layer WHERE chain_id = '%s' AND diff_state = 'invalid'", chain_n(7));
    assert_non_null(raw);
    len = strlen(raw);
    assert_int_equal(len, 3);
    assert_memory_equal(raw, "\xff\xfe\xfd", 3);
    free(raw);
    expect_diff(f, 8, "invalid", "sha256:07F112164E2AA1DF0EEACE77E4C6E1B42955E4D820F605C24AAA47A84AD566D6");
    expect_diff(f, 9, "invalid", D1);
    expect_diff(f, 10, "unreadable", "too large (204800 bytes)");
    assert_int_equal(u_qint(&f->db, "SELECT length(diff) FROM layer WHERE chain_id = '%s'", chain_n(11)), 200);
    u_assert_text(&f->db, "invalid|200", "SELECT diff_state || '|' || length(diff) FROM layer"
                                        " WHERE chain_id = '1000000000000000000000000000000000000000000000000000000000000000'");
    u_assert_text(&f->db, "unreadable|too large (65537 bytes)", "SELECT diff_state || '|' || diff FROM layer"
                                                               " WHERE chain_id = '2000000000000000000000000000000000000000000000000000000000000000'");
    expect_diff(f, 12, "unreadable", "not a regular file (fifo)");
    expect_diff(f, 13, "unreadable", "not a regular file (symlink)");
    expect_diff(f, 14, "unreadable", "not a regular file (dir)");
    /* a complete layer is not re-listed; one with a bad diff is */
    assert_int_equal(u_qint(&f->db, "SELECT entries FROM layer WHERE chain_id = '%s'", chain_n(0)), -1);
    assert_int_equal(u_qint(&f->db, "SELECT entries FROM layer WHERE chain_id = '%s'", chain_n(3)), 3);
    /* the computed chain only from a valid diff */
    u_assert_text(&f->db, D1, "SELECT computed_chain FROM layer WHERE chain_id = '" "0000000000000000000000000000000000000000000000000000000000000002" "'");
    u_assert_text(&f->db, NULL, "SELECT computed_chain FROM layer WHERE chain_id = '" "0000000000000000000000000000000000000000000000000000000000000004" "'");
    assert_int_equal(u_qint(&f->db, "SELECT count(*) FROM layer"), 17);
    assert_int_equal(u_qint(&f->db, "SELECT count(*) FROM scan_error"), 0);
}

static void test_layer_files(void **state)
{
    struct fx *f = *state;
    /* cache-id "../../etc": invalid, never used as a path */
    put_layer(f, C1, D1, NULL, "../../etc", "10");
    /* cache-id of BuildKit (25 chars) is valid */
    put_layer(f, C2, D2, C1, "k7x3m9q2w8e4r6t1y5u0i2o3p", "10");
    /* parent "sha256:" + uppercase, size not a number */
    put_layer(f, C3, D3, NULL, K3, "12a");
    put_id(f, LAYERDB C3, "parent", "sha256:C7D25FE92E0686856AD65FBE69B007D06F62FEE562154E6E3C1EEB4B0591E19D");
    /* an empty layer dir and one with only a diff file (moby#44909) */
    u_mkdirs(f->root, LAYERDB "1111111111111111111111111111111111111111111111111111111111111111");
    u_mkdirs(f->root, LAYERDB "2222222222222222222222222222222222222222222222222222222222222222");
    put_id(f, LAYERDB "2222222222222222222222222222222222222222222222222222222222222222", "diff", "sha256:" D1);
    /* a file where a layer dir should be; a dir name that is no chainID */
    u_write_str(f->root, LAYERDB "3333333333333333333333333333333333333333333333333333333333333333", "x");
    put_layer(f, "not-a-chain", D1, NULL, K1, "1");
    /* size: 19 digits is the most accepted */
    put_layer(f, "4444444444444444444444444444444444444444444444444444444444444444", D1, NULL, K1, "1234567890123456789");
    put_layer(f, "5555555555555555555555555555555555555555555555555555555555555555", D1, NULL, K1, "12345678901234567890");
    put_layer(f, "6666666666666666666666666666666666666666666666666666666666666666", D1, NULL, K1, "-1");
    /* a symlink to a complete layer dir elsewhere: not followed */
    u_write_str(f->root, "elsewhere/diff", "sha256:" D1);
    u_write_str(f->root, "elsewhere/cache-id", K1);
    u_write_str(f->root, "elsewhere/size", "1");
    u_symlink(f->root, LAYERDB "7777777777777777777777777777777777777777777777777777777777777777", "../../../../elsewhere");
    scan(f);
    struct db *db = &f->db;
    u_assert_text(db, "invalid|../../etc", "SELECT cache_id_state || '|' || cache_id FROM layer WHERE chain_id = '" C1 "'");
    u_assert_text(db, "ok|k7x3m9q2w8e4r6t1y5u0i2o3p", "SELECT cache_id_state || '|' || cache_id FROM layer WHERE chain_id = '" C2 "'");
    u_assert_text(db, "invalid", "SELECT parent_state FROM layer WHERE chain_id = '" C3 "'");
    u_assert_text(db, NULL, "SELECT computed_chain FROM layer WHERE chain_id = '" C3 "'");
    u_assert_text(db, "invalid", "SELECT size_state FROM layer WHERE chain_id = '" C3 "'");
    u_assert_text(db, NULL, "SELECT size FROM layer WHERE chain_id = '" C3 "'");
    u_assert_text(db, "0|missing|missing|missing|missing|0",
                  "SELECT entries || '|' || diff_state || '|' || parent_state || '|' || cache_id_state || '|' ||"
                  " size_state || '|' || has_tarsplit FROM layer WHERE chain_id = '1111111111111111111111111111111111111111111111111111111111111111'");
    u_assert_text(db, "1|ok|missing", "SELECT entries || '|' || diff_state || '|' || cache_id_state FROM layer"
                                       " WHERE chain_id = '2222222222222222222222222222222222222222222222222222222222222222'");
    u_assert_text(db, "0|1|missing", "SELECT is_dir || '|' || name_ok || '|' || diff_state FROM layer"
                                      " WHERE chain_id = '3333333333333333333333333333333333333333333333333333333333333333'");
    u_assert_text(db, "1|0", "SELECT is_dir || '|' || name_ok FROM layer WHERE chain_id = 'not-a-chain'");
    assert_int_equal(u_qint(db, "SELECT size FROM layer WHERE chain_id = '4444444444444444444444444444444444444444444444444444444444444444' AND size_state = 'ok'"),
                     1234567890123456789ll);
    u_assert_text(db, "invalid", "SELECT size_state FROM layer WHERE chain_id = '5555555555555555555555555555555555555555555555555555555555555555'");
    u_assert_text(db, "invalid", "SELECT size_state FROM layer WHERE chain_id = '6666666666666666666666666666666666666666666666666666666666666666'");
    u_assert_text(db, "0|missing|missing", "SELECT is_dir || '|' || diff_state || '|' || cache_id_state FROM layer"
                                            " WHERE chain_id = '7777777777777777777777777777777777777777777777777777777777777777'");
    /* "../../etc" was never taken for a dir: no overlay_dir, no scan error */
    assert_int_equal(u_qint(db, "SELECT count(*) FROM overlay_dir"), 0);
    assert_int_equal(u_qint(db, "SELECT count(*) FROM scan_error"), 0);
}

/* ---- image configs -------------------------------------------------------------------------- */

static void expect_image(struct fx *f, const char *id, const char *state, const char *error, int layers)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT config_state FROM image WHERE id = '%s'", id);
    u_assert_text(&f->db, state, sql);
    snprintf(sql, sizeof sql, "SELECT config_error FROM image WHERE id = '%s'", id);
    u_assert_text(&f->db, error, sql);
    int64_t got = u_qint(&f->db, "SELECT count(*) FROM image_layer WHERE image_id = %Q", id);
    if (got != layers)
        fail_msg("image %s: %lld image_layer rows, want %d", id, (long long)got, layers);
}

static void test_image_configs(void **state)
{
    struct fx *f = *state;
    char not_json[65], array[65], no_rootfs[65], rootfs_str[65], ids_str[65], bad_elem[65], num_elem[65],
        scratch[65], null_ids[65], empty_ids[65], good[65], newline[65], deep[65], deep_inner[65];
    put_config_str(f, "{\"rootfs\": {\"type\": \"layers\", \"diff_ids\": [\"sha256:" D1 "\"", not_json);
    put_config_str(f, "[{\"rootfs\": {}}]", array);
    put_config_str(f, "{\"architecture\": \"amd64\"}", no_rootfs);
    put_config_str(f, "{\"rootfs\": \"layers\"}", rootfs_str);
    put_config_str(f, "{\"rootfs\": {\"type\": \"layers\", \"diff_ids\": \"sha256:" D1 "\"}}", ids_str);
    put_config_str(f, "{\"rootfs\": {\"type\": \"layers\", \"diff_ids\": [\"sha256:" D1 "\", \"sha256:zz\", \"sha256:" D3 "\"]}}", bad_elem);
    put_config_str(f, "{\"rootfs\": {\"type\": \"layers\", \"diff_ids\": [\"sha256:" D1 "\", 5]}}", num_elem);
    put_config_str(f, "{\"architecture\": \"amd64\", \"os\": \"linux\", \"rootfs\": {\"type\": \"layers\"}}", scratch);
    put_config_str(f, "{\"rootfs\": {\"type\": \"layers\", \"diff_ids\": null}}", null_ids);
    put_config_str(f, "{\"rootfs\": {\"type\": \"layers\", \"diff_ids\": []}}", empty_ids);
    put_config_str(f, "{\"rootfs\": {\"type\": \"layers\", \"diff_ids\": [\"sha256:" D1 "\", \"sha256:" D2 "\"]}}", good);
    put_config_str(f, "{\"rootfs\": {\"type\": \"layers\", \"diff_ids\": [\"sha256:" D3 "\"]}}\n", newline);
    /* 10000 levels of '[': no crash, invalid */
    char *nest = malloc(10001);
    memset(nest, '[', 10000);
    nest[10000] = '\0';
    put_config_str(f, nest, deep);
    free(nest);
    /* deep nesting inside diff_ids */
    size_t n = 5000;
    char *inner = malloc(2 * n + 100);
    strcpy(inner, "{\"rootfs\": {\"diff_ids\": ");
    size_t off = strlen(inner);
    memset(inner + off, '[', n);
    memset(inner + off + n, ']', n);
    strcpy(inner + off + 2 * n, "}}");
    put_config_str(f, inner, deep_inner);
    free(inner);
    /* named after other bytes: digest mismatch; a name that is no id */
    u_write_str(f->root, CONTENT "1111111111111111111111111111111111111111111111111111111111111111", "{\"rootfs\": {}}");
    u_write_str(f->root, CONTENT "notanid", "{\"rootfs\": {}}");
    /* 10 MB: over the cap, unreadable but named */
    u_write_big(f->root, CONTENT "2222222222222222222222222222222222222222222222222222222222222222", 10u * 1024 * 1024, ' ');
    /* a FIFO, a symlink and a dir where a config should be */
    u_mkfifo(f->root, CONTENT "3333333333333333333333333333333333333333333333333333333333333333");
    u_symlink(f->root, CONTENT IMG_BASE, "../../../../../cfg");
    u_write(f->root, "cfg", cfg_base, sizeof cfg_base - 1);
    u_mkdirs(f->root, CONTENT "4444444444444444444444444444444444444444444444444444444444444444");
    /* an interrupted atomic write */
    u_write_str(f->root, CONTENT ".tmp-12345", "{\"partial");
    /* metadata parents */
    u_write_str(f->root, "image/overlay2/imagedb/metadata/sha256/" "aaaa/parent", "sha256:" IMG_BASE "\n");
    u_write_str(f->root, "image/overlay2/imagedb/metadata/sha256/" "bbbb/parent", "sha256:nope");
    u_write_str(f->root, "image/overlay2/imagedb/metadata/sha256/" "cccc/lastUpdated", "2026-11-27T19:23:06Z");
    scan(f);

    expect_image(f, not_json, "invalid", "not valid JSON", 0);
    expect_image(f, array, "invalid", "not a JSON object", 0);
    expect_image(f, no_rootfs, "invalid", "no rootfs object", 0);
    expect_image(f, rootfs_str, "invalid", "no rootfs object", 0);
    expect_image(f, ids_str, "invalid", "rootfs.diff_ids is not an array", 0);
    /* FROM scratch: rootfs without diff_ids is a valid image of zero layers */
    expect_image(f, scratch, "ok", NULL, 0);
    expect_image(f, null_ids, "ok", NULL, 0);
    expect_image(f, empty_ids, "ok", NULL, 0);
    expect_image(f, good, "ok", NULL, 2);
    u_assert_text(&f->db, C2, "SELECT chain_id FROM image_layer WHERE image_id = %Q AND idx = 1", good);
    expect_image(f, newline, "ok", NULL, 1);
    expect_image(f, deep, "invalid", "not valid JSON", 0);
    expect_image(f, deep_inner, "invalid", "not valid JSON", 0);
    /* a bad element: invalid, named by index */
    u_assert_text(&f->db, "invalid|rootfs.diff_ids[1] is not a sha256 digest",
                  "SELECT config_state || '|' || config_error FROM image WHERE id = %Q", bad_elem);
    u_assert_text(&f->db, "invalid|rootfs.diff_ids[1] is not a sha256 digest",
                  "SELECT config_state || '|' || config_error FROM image WHERE id = %Q", num_elem);
    /* every parsed config was hashed over its exact bytes */
    assert_int_equal(u_qint(&f->db, "SELECT count(*) FROM image WHERE digest_ok AND digest = id AND name_ok"), 14);
    u_assert_text(&f->db, "ok|1|0", "SELECT config_state || '|' || name_ok || '|' || digest_ok FROM image"
                                    " WHERE id = '1111111111111111111111111111111111111111111111111111111111111111'");
    char want[HEX64_LEN + 1];
    id_sha256_hex("{\"rootfs\": {}}", 14, want);
    u_assert_text(&f->db, want, "SELECT digest FROM image WHERE id = 'notanid' AND name_ok = 0 AND digest_ok = 0");
    u_assert_text(&f->db, "unreadable|too large (10485760 bytes)|10485760|0",
                  "SELECT config_state || '|' || config_error || '|' || size || '|' || digest_ok FROM image"
                  " WHERE id = '2222222222222222222222222222222222222222222222222222222222222222' AND digest IS NULL");
    u_assert_text(&f->db, "unreadable|not a regular file (fifo)",
                  "SELECT config_state || '|' || config_error FROM image WHERE id = '3333333333333333333333333333333333333333333333333333333333333333'");
    u_assert_text(&f->db, "unreadable|not a regular file (symlink)",
                  "SELECT config_state || '|' || config_error FROM image WHERE id = '" IMG_BASE "'");
    u_assert_text(&f->db, "unreadable|not a regular file (dir)",
                  "SELECT config_state || '|' || config_error FROM image WHERE id = '4444444444444444444444444444444444444444444444444444444444444444'");
    assert_int_equal(u_qint(&f->db, "SELECT count(*) FROM image"), 20);
    u_assert_text(&f->db, ".tmp-12345|9", "SELECT name || '|' || size FROM imagedb_tmp");
    assert_int_equal(u_qint(&f->db, "SELECT count(*) FROM image WHERE id LIKE '.tmp%%'"), 0);
    u_assert_text(&f->db, IMG_BASE "|ok", "SELECT parent || '|' || parent_state FROM image_parent WHERE image_id = 'aaaa'");
    u_assert_text(&f->db, "invalid|sha256:nope", "SELECT parent_state || '|' || parent FROM image_parent WHERE image_id = 'bbbb'");
    assert_int_equal(u_qint(&f->db, "SELECT count(*) FROM image_parent"), 2);
}

/* An invalid config records none of its diff_ids, not even those before
 * the bad one (scan_one_image validates all of them before inserting any). */
static void test_image_config_bad_element_rows(void **state)
{
    struct fx *f = *state;
    char bad_elem[65];
    put_config_str(f, "{\"rootfs\": {\"type\": \"layers\", \"diff_ids\": [\"sha256:" D1 "\", \"sha256:" D2 "\", \"sha256:zz\"]}}", bad_elem);
    scan(f);
    u_assert_text(&f->db, "invalid|rootfs.diff_ids[2] is not a sha256 digest",
                  "SELECT config_state || '|' || config_error FROM image WHERE id = %Q", bad_elem);
    assert_int_equal(u_qint(&f->db, "SELECT count(*) FROM image_layer WHERE image_id = %Q", bad_elem), 0);
    /* so the invalid image is not also reported as missing its layers; its
     * layers are unknown, so none is called unreferenced */
    u_run_checks(&f->db);
    U_EXPECT(&f->db, { "image-config-invalid", bad_elem, "=rootfs.diff_ids[2] is not a sha256 digest" },
                     { "reference-graph-incomplete", "orphan-checks", "image config invalid: its layers are unknown" });
}

/* ---- repositories.json ------------------------------------------------------------------------ */

struct repos_case {
    const char *text;
    const char *state;
    const char *error;
    int tags;
};

static void test_repositories_json(void **state)
{
    struct fx *f = *state;
    static const struct repos_case cases[] = {
        { "garbage", "invalid", "not valid JSON", 0 },
        { "", "invalid", "not valid JSON", 0 },
        { "[]", "invalid", "not a JSON object", 0 },
        { "\"Repositories\"", "invalid", "not a JSON object", 0 },
        { "{}", "invalid", "no \"Repositories\" object", 0 },
        { "{\"Repositories\": []}", "invalid", "no \"Repositories\" object", 0 },
        { "{\"repositories\": {}}", "invalid", "no \"Repositories\" object", 0 },
        { "{\"Repositories\": {\"bb\": \"sha256:" IMG_BASE "\"}}", "invalid", "a repository entry is not an object", 0 },
        { "{\"Repositories\": {\"bb\": {\"bb:x\": \"sha256:" IMG_BASE "\"}, \"cc\": [1]}}", "invalid",
          "a repository entry is not an object", 0 },
        { "{\"Repositories\": {}}", "ok", NULL, 0 },
        { "{\"Repositories\": {\"bb\": {}}}", "ok", NULL, 0 },
        { "{\"Repositories\":{\"bb\":{\"bb:base\":\"sha256:" IMG_BASE "\"}}}\n", "ok", NULL, 1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        u_write_str(f->root, "image/overlay2/repositories.json", cases[i].text);
        scan(f);
        char sql[128];
        print_message("# case %zu: %s\n", i, cases[i].text);
        snprintf(sql, sizeof sql, "SELECT state FROM tag_file WHERE path = 'image/overlay2/repositories.json'");
        u_assert_text(&f->db, cases[i].state, sql);
        u_assert_text(&f->db, cases[i].error, "SELECT error FROM tag_file");
        assert_int_equal(u_qint(&f->db, "SELECT count(*) FROM tag"), cases[i].tags);
    }
}

static void test_repositories_tags(void **state)
{
    struct fx *f = *state;
    u_write_str(f->root, "image/overlay2/repositories.json",
                "{\"Repositories\":{\"bb\":{\"bb:base\":\"sha256:" IMG_BASE "\",\"bb:bad\":\"sha256:zz\","
                "\"bb:num\":5,\"bb:bare\":\"" IMG_BASE "\","
                "\"bb@sha256:" D1 "\":\"sha256:" IMG_TWO "\"},\"other/repo\":{\"other/repo:1\":\"sha256:" IMG_TWO "\"}}}");
    scan(f);
    struct db *db = &f->db;
    assert_int_equal(u_qint(db, "SELECT count(*) FROM tag"), 6);
    u_assert_text(db, "bb|" IMG_BASE "|1|sha256:" IMG_BASE,
                  "SELECT repo || '|' || image_id || '|' || id_ok || '|' || raw_id FROM tag WHERE ref = 'bb:base'");
    u_assert_text(db, "0|sha256:zz", "SELECT id_ok || '|' || raw_id FROM tag WHERE ref = 'bb:bad' AND image_id IS NULL");
    u_assert_text(db, "0|(not a string)", "SELECT id_ok || '|' || raw_id FROM tag WHERE ref = 'bb:num' AND image_id IS NULL");
    u_assert_text(db, "0|" IMG_BASE, "SELECT id_ok || '|' || raw_id FROM tag WHERE ref = 'bb:bare'");
    u_assert_text(db, IMG_TWO, "SELECT image_id FROM tag WHERE ref = 'bb@sha256:" D1 "'");
    u_assert_text(db, "other/repo", "SELECT repo FROM tag WHERE ref = 'other/repo:1'");
    u_assert_text(db, "ok", "SELECT state FROM tag_file");
}

static void test_repositories_unreadable(void **state)
{
    struct fx *f = *state;
    u_mkfifo(f->root, "image/overlay2/repositories.json");
    scan(f);
    u_assert_text(&f->db, "unreadable|not a regular file (fifo)", "SELECT state || '|' || error FROM tag_file");
    u_unlink(f->root, "image/overlay2/repositories.json");
    u_write_big(f->root, "image/overlay2/repositories.json", 9u * 1024 * 1024, ' ');
    scan(f);
    u_assert_text(&f->db, "unreadable|too large (9437184 bytes)", "SELECT state || '|' || error FROM tag_file");
}

/* ---- overlay2: lower files --------------------------------------------------------------------- */

static const char *lname(int i)
{
    /* 26 chars of [A-Z2-7], distinct per i */
    static char buf[8][27];
    char *b = buf[i % 8];
    memset(b, 'A', 26);
    b[26] = '\0';
    const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    b[25] = alpha[i % 32];
    b[24] = alpha[(i / 32) % 32];
    return b;
}

static char *lower_of(int count)
{
    char *s = malloc((size_t)count * 29 + 1);
    s[0] = '\0';
    for (int i = 0; i < count; i++) {
        if (i)
            strcat(s, ":");
        strcat(s, "l/");
        strcat(s, lname(i));
    }
    return s;
}

static void test_lower_files(void **state)
{
    struct fx *f = *state;
    put_overlay(f, K1, L1, NULL);                                         /* base: no lower */
    put_overlay(f, K2, L2, "l/" L1);                                      /* ok */
    put_overlay(f, K3, L3, "");                                           /* empty */
    put_overlay(f, "1111111111111111111111111111111111111111111111111111111111111111", NULL, "l/" L1 ":garbage");
    char *l129 = lower_of(129), *l128 = lower_of(128);
    put_overlay(f, "2222222222222222222222222222222222222222222222222222222222222222", NULL, l129);
    put_overlay(f, "3333333333333333333333333333333333333333333333333333333333333333", NULL, l128);
    free(l129);
    free(l128);
    put_overlay(f, "4444444444444444444444444444444444444444444444444444444444444444", NULL, "l/" L1 ":");
    put_overlay(f, "5555555555555555555555555555555555555555555555555555555555555555", NULL,
                "l/d5zls5rfkl54kekuh4ogfakyle");
    put_overlay(f, "6666666666666666666666666666666666666666666666666666666666666666", NULL, "l/" L1 "\n");
    put_overlay(f, "7777777777777777777777777777777777777777777777777777777777777777", NULL, "../" K1 "/diff");
    scan(f);
    struct db *db = &f->db;
    u_assert_text(db, "missing", "SELECT lower_state FROM overlay_dir WHERE name = '" K1 "' AND lower IS NULL");
    assert_int_equal(u_qint(db, "SELECT count(*) FROM overlay_lower WHERE dir = '" K1 "'"), 0);
    u_assert_text(db, "ok|l/" L1, "SELECT lower_state || '|' || lower FROM overlay_dir WHERE name = '" K2 "'");
    u_assert_text(db, "0|l/" L1 "|" L1, "SELECT idx || '|' || entry || '|' || short FROM overlay_lower WHERE dir = '" K2 "'");
    u_assert_text(db, "empty", "SELECT lower_state FROM overlay_dir WHERE name = '" K3 "' AND lower IS NULL");
    assert_int_equal(u_qint(db, "SELECT count(*) FROM overlay_lower WHERE dir = '" K3 "'"), 0);
    /* a malformed entry: invalid, both entries recorded, only the good one has a short name */
    u_assert_text(db, "invalid", "SELECT lower_state FROM overlay_dir WHERE name = '1111111111111111111111111111111111111111111111111111111111111111'");
    u_assert_text(db, "0:" L1 ",1:garbage:NULL",
                  "SELECT group_concat(idx || ':' || coalesce(short, entry || ':NULL'), ',') FROM (SELECT * FROM overlay_lower"
                  " WHERE dir = '1111111111111111111111111111111111111111111111111111111111111111' ORDER BY idx)");
    /* 129 entries: more than overlay2's maxDepth of 128 */
    u_assert_text(db, "invalid", "SELECT lower_state FROM overlay_dir WHERE name = '2222222222222222222222222222222222222222222222222222222222222222'");
    assert_int_equal(u_qint(db, "SELECT count(*) FROM overlay_lower WHERE dir = '2222222222222222222222222222222222222222222222222222222222222222'"), 129);
    u_assert_text(db, "ok", "SELECT lower_state FROM overlay_dir WHERE name = '3333333333333333333333333333333333333333333333333333333333333333'");
    assert_int_equal(u_qint(db, "SELECT count(*) FROM overlay_lower WHERE dir = '3333333333333333333333333333333333333333333333333333333333333333'"
                                " AND short IS NOT NULL"), 128);
    /* a trailing ':' leaves an empty entry */
    u_assert_text(db, "invalid", "SELECT lower_state FROM overlay_dir WHERE name = '4444444444444444444444444444444444444444444444444444444444444444'");
    u_assert_text(db, "", "SELECT entry FROM overlay_lower WHERE dir = '4444444444444444444444444444444444444444444444444444444444444444' AND idx = 1 AND short IS NULL");
    u_assert_text(db, "invalid", "SELECT lower_state FROM overlay_dir WHERE name = '5555555555555555555555555555555555555555555555555555555555555555'");
    /* a trailing newline is trimmed like in every id file */
    u_assert_text(db, "ok|l/" L1, "SELECT lower_state || '|' || lower FROM overlay_dir WHERE name = '6666666666666666666666666666666666666666666666666666666666666666'");
    u_assert_text(db, "invalid", "SELECT lower_state FROM overlay_dir WHERE name = '7777777777777777777777777777777777777777777777777777777777777777'");
}

/* ---- overlay2: l/ symlinks ---------------------------------------------------------------------- */

static void expect_link(struct fx *f, const char *name, const char *type, const char *target, const char *target_dir)
{
    u_assert_text(&f->db, type, "SELECT type FROM link WHERE name = %Q", name);
    u_assert_text(&f->db, target, "SELECT target FROM link WHERE name = %Q", name);
    u_assert_text(&f->db, target_dir, "SELECT target_dir FROM link WHERE name = %Q", name);
}

static void test_links(void **state)
{
    struct fx *f = *state;
    put_overlay(f, K1, L1, NULL);
    u_mkdirs(f->root, "overlay2/l");
    u_symlink(f->root, "overlay2/l/AAAAAAAAAAAAAAAAAAAAAAAAAA", "/etc");
    u_symlink(f->root, "overlay2/l/AAAAAAAAAAAAAAAAAAAAAAAAAB", "../../x");
    u_symlink(f->root, "overlay2/l/AAAAAAAAAAAAAAAAAAAAAAAAAC", "../" K1 "/diff/../..");
    u_symlink(f->root, "overlay2/l/AAAAAAAAAAAAAAAAAAAAAAAAAD", "../" K1 "/diff/");
    u_symlink(f->root, "overlay2/l/AAAAAAAAAAAAAAAAAAAAAAAAAE", "../" K2 "-init/diff");
    u_symlink(f->root, "overlay2/l/AAAAAAAAAAAAAAAAAAAAAAAAAF", "../k7x3m9q2w8e4r6t1y5u0i2o3p/diff");
    u_symlink(f->root, "overlay2/l/AAAAAAAAAAAAAAAAAAAAAAAAAG", "../../" K1 "/diff");
    u_symlink(f->root, "overlay2/l/AAAAAAAAAAAAAAAAAAAAAAAAAH", "../" K1 "/work");
    u_symlink(f->root, "overlay2/l/AAAAAAAAAAAAAAAAAAAAAAAAAI", "../../../" K1 "/diff");
    u_symlink(f->root, "overlay2/l/AAAAAAAAAAAAAAAAAAAAAAAAAJ", "../l/diff");
    u_symlink(f->root, "overlay2/l/AAAAAAAAAAAAAAAAAAAAAAAAAK", "..//diff");
    u_symlink(f->root, "overlay2/l/AAAAAAAAAAAAAAAAAAAAAAAAAL", "../" K1 "/diff" "\xff");
    u_write_str(f->root, "overlay2/l/AAAAAAAAAAAAAAAAAAAAAAAAAM", "../" K1 "/diff");
    u_mkdirs(f->root, "overlay2/l/AAAAAAAAAAAAAAAAAAAAAAAAAN");
    u_symlink(f->root, "overlay2/l/not-a-link-name", "../" K1 "/diff");
    scan(f);
    expect_link(f, L1, "symlink", "../" K1 "/diff", K1);
    expect_link(f, "AAAAAAAAAAAAAAAAAAAAAAAAAA", "symlink", "/etc", NULL);
    expect_link(f, "AAAAAAAAAAAAAAAAAAAAAAAAAB", "symlink", "../../x", NULL);
    expect_link(f, "AAAAAAAAAAAAAAAAAAAAAAAAAC", "symlink", "../" K1 "/diff/../..", NULL);
    expect_link(f, "AAAAAAAAAAAAAAAAAAAAAAAAAD", "symlink", "../" K1 "/diff/", NULL);
    expect_link(f, "AAAAAAAAAAAAAAAAAAAAAAAAAE", "symlink", "../" K2 "-init/diff", K2 "-init");
    expect_link(f, "AAAAAAAAAAAAAAAAAAAAAAAAAF", "symlink", "../k7x3m9q2w8e4r6t1y5u0i2o3p/diff", "k7x3m9q2w8e4r6t1y5u0i2o3p");
    expect_link(f, "AAAAAAAAAAAAAAAAAAAAAAAAAG", "symlink", "../../" K1 "/diff", NULL);
    expect_link(f, "AAAAAAAAAAAAAAAAAAAAAAAAAH", "symlink", "../" K1 "/work", NULL);
    expect_link(f, "AAAAAAAAAAAAAAAAAAAAAAAAAI", "symlink", "../../../" K1 "/diff", NULL);
    expect_link(f, "AAAAAAAAAAAAAAAAAAAAAAAAAJ", "symlink", "../l/diff", NULL);
    expect_link(f, "AAAAAAAAAAAAAAAAAAAAAAAAAK", "symlink", "..//diff", NULL);
    expect_link(f, "AAAAAAAAAAAAAAAAAAAAAAAAAL", "symlink", "../" K1 "/diff" "\xff", NULL);
    expect_link(f, "AAAAAAAAAAAAAAAAAAAAAAAAAM", "file", NULL, NULL);
    expect_link(f, "AAAAAAAAAAAAAAAAAAAAAAAAAN", "dir", NULL, NULL);
    expect_link(f, "not-a-link-name", "symlink", "../" K1 "/diff", K1);
    assert_int_equal(u_qint(&f->db, "SELECT count(*) FROM link"), 16);
    /* l/ entries are links, never overlay2 dirs or strays */
    assert_int_equal(u_qint(&f->db, "SELECT count(*) FROM overlay_dir"), 1);
    assert_int_equal(u_qint(&f->db, "SELECT count(*) FROM overlay_stray"), 0);
}

static void test_l_dir_symlink(void **state)
{
    struct fx *f = *state;
    put_overlay(f, K1, L1, NULL);
    /* move l/ away and link it back in: a stray, its links never read */
    char *l = u_path(f->root, "overlay2/l"), *away = u_path(f->root, "l-away");
    assert_int_equal(rename(l, away), 0);
    assert_int_equal(symlink("../l-away", l), 0);
    free(l);
    free(away);
    scan(f);
    u_assert_text(&f->db, "symlink", "SELECT type FROM overlay_stray WHERE name = 'l'");
    assert_int_equal(u_qint(&f->db, "SELECT count(*) FROM link"), 0);
    assert_int_equal(u_qint(&f->db, "SELECT count(*) FROM overlay_dir"), 1);
}

/* ---- overlay2: entries --------------------------------------------------------------------------- */

static void test_overlay_entries(void **state)
{
    struct fx *f = *state;
    /* a real overlay2-looking dir outside overlay2/, and a symlink to it
     * under a valid dir name: a stray, never followed */
    u_mkdirs(f->root, "outside/" K3 "/diff");
    u_write_str(f->root, "outside/" K3 "/link", L3);
    u_mkdirs(f->root, "overlay2");
    u_symlink(f->root, "overlay2/" K3, "../outside/" K3);
    u_mkdirs(f->root, "overlay2/backup");
    u_write_str(f->root, "overlay2/notes.txt", "hi");
    u_mkfifo(f->root, "overlay2/" K2);
    /* diff/ as a symlink, a file, absent; work/committed/merged */
    put_overlay(f, K1, L1, NULL);
    u_mkdirs(f->root, "real-diff");
    u_mkdirs(f->root, "overlay2/1111111111111111111111111111111111111111111111111111111111111111");
    u_symlink(f->root, "overlay2/1111111111111111111111111111111111111111111111111111111111111111/diff", "../../real-diff");
    u_write_str(f->root, "overlay2/1111111111111111111111111111111111111111111111111111111111111111/link", L2);
    u_mkdirs(f->root, "overlay2/2222222222222222222222222222222222222222222222222222222222222222");
    u_write_str(f->root, "overlay2/2222222222222222222222222222222222222222222222222222222222222222/diff", "");
    u_mkdirs(f->root, "overlay2/3333333333333333333333333333333333333333333333333333333333333333/merged");
    u_mkdirs(f->root, "overlay2/3333333333333333333333333333333333333333333333333333333333333333/work");
    u_write_str(f->root, "overlay2/3333333333333333333333333333333333333333333333333333333333333333/committed", "");
    u_write_str(f->root, "overlay2/4444444444444444444444444444444444444444444444444444444444444444/work", "");
    u_mkdirs(f->root, "overlay2/" K1 "-init/diff");
    u_mkdirs(f->root, "overlay2/k7x3m9q2w8e4r6t1y5u0i2o3p/diff");
    /* link file states */
    u_mkdirs(f->root, "overlay2/5555555555555555555555555555555555555555555555555555555555555555/diff");
    u_write_str(f->root, "overlay2/5555555555555555555555555555555555555555555555555555555555555555/link", "");
    u_mkdirs(f->root, "overlay2/6666666666666666666666666666666666666666666666666666666666666666/diff");
    u_write_str(f->root, "overlay2/6666666666666666666666666666666666666666666666666666666666666666/link", "abc");
    u_mkdirs(f->root, "overlay2/7777777777777777777777777777777777777777777777777777777777777777/diff");
    u_write_str(f->root, "overlay2/7777777777777777777777777777777777777777777777777777777777777777/link", L1 "\n");
    scan(f);
    struct db *db = &f->db;
    u_assert_text(db, "symlink", "SELECT type FROM overlay_stray WHERE name = '" K3 "'");
    u_assert_text(db, "dir", "SELECT type FROM overlay_stray WHERE name = 'backup'");
    u_assert_text(db, "file", "SELECT type FROM overlay_stray WHERE name = 'notes.txt'");
    u_assert_text(db, "fifo", "SELECT type FROM overlay_stray WHERE name = '" K2 "'");
    assert_int_equal(u_qint(db, "SELECT count(*) FROM overlay_stray"), 4);
    assert_int_equal(u_qint(db, "SELECT count(*) FROM overlay_dir WHERE name IN ('" K3 "', '" K2 "', 'backup')"), 0);
    u_assert_text(db, "0|symlink|" L2 "|ok", "SELECT has_diff || '|' || diff_kind || '|' || link || '|' || link_state FROM overlay_dir"
                                            " WHERE name = '1111111111111111111111111111111111111111111111111111111111111111'");
    u_assert_text(db, "0|file|missing", "SELECT has_diff || '|' || diff_kind || '|' || link_state FROM overlay_dir"
                                       " WHERE name = '2222222222222222222222222222222222222222222222222222222222222222'");
    u_assert_text(db, "0|1|1|1", "SELECT has_diff || '|' || has_work || '|' || committed || '|' || has_merged || coalesce(diff_kind, '')"
                                " FROM overlay_dir WHERE name = '3333333333333333333333333333333333333333333333333333333333333333'");
    u_assert_text(db, "0|0", "SELECT has_work || '|' || committed FROM overlay_dir"
                            " WHERE name = '4444444444444444444444444444444444444444444444444444444444444444'");
    u_assert_text(db, "init", "SELECT kind FROM overlay_dir WHERE name = '" K1 "-init'");
    u_assert_text(db, "buildkit", "SELECT kind FROM overlay_dir WHERE name = 'k7x3m9q2w8e4r6t1y5u0i2o3p'");
    u_assert_text(db, "layer", "SELECT kind FROM overlay_dir WHERE name = '" K1 "'");
    u_assert_text(db, "empty", "SELECT link_state FROM overlay_dir WHERE name = '5555555555555555555555555555555555555555555555555555555555555555' AND link IS NULL");
    u_assert_text(db, "invalid|abc", "SELECT link_state || '|' || link FROM overlay_dir WHERE name = '6666666666666666666666666666666666666666666666666666666666666666'");
    u_assert_text(db, "ok|" L1, "SELECT link_state || '|' || link FROM overlay_dir WHERE name = '7777777777777777777777777777777777777777777777777777777777777777'");
    /* nothing of outside/ was read */
    assert_int_equal(u_qint(db, "SELECT count(*) FROM overlay_dir WHERE link = '" L3 "'"), 0);
    assert_int_equal(u_qint(db, "SELECT count(*) FROM scan_error"), 0);
}

/* ---- leftovers, mounts, containers -------------------------------------------------------------------- */

static void test_leftovers(void **state)
{
    struct fx *f = *state;
    put_layer(f, C1 "-6f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8-removing", D1, NULL, K1, "1");
    put_layer(f, C2 "-abc-removing", D2, C1, "../../etc", "1");
    u_write_str(f->root, LAYERDB C3 "-abcdef-removing", "not a dir");
    /* too short to be <chain>-<rand>-removing: a layer dir with a bad name */
    u_mkdirs(f->root, LAYERDB C1 "-removing");
    u_mkdirs(f->root, "image/overlay2/layerdb/tmp/write-set-123456789");
    u_write_str(f->root, "image/overlay2/layerdb/tmp/write-set-123456789/cache-id", K2);
    u_write_str(f->root, "image/overlay2/layerdb/tmp/write-set-123456789/diff", "sha256:" D2);
    u_mkdirs(f->root, "image/overlay2/layerdb/tmp/write-set-987");
    u_write_str(f->root, "image/overlay2/layerdb/tmp/stray-file", "x");
    scan(f);
    struct db *db = &f->db;
    u_assert_text(db, K1, "SELECT cache_id FROM layer_removing WHERE name = '" C1 "-6f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8-removing'");
    u_assert_text(db, NULL, "SELECT cache_id FROM layer_removing WHERE name = '" C2 "-abc-removing'");
    u_assert_text(db, NULL, "SELECT cache_id FROM layer_removing WHERE name = '" C3 "-abcdef-removing'");
    assert_int_equal(u_qint(db, "SELECT count(*) FROM layer_removing"), 3);
    u_assert_text(db, "0|1", "SELECT name_ok || '|' || is_dir FROM layer WHERE chain_id = '" C1 "-removing'");
    assert_int_equal(u_qint(db, "SELECT count(*) FROM layer"), 1);
    u_assert_text(db, K2, "SELECT cache_id FROM layerdb_tmp WHERE name = 'write-set-123456789'");
    u_assert_text(db, NULL, "SELECT cache_id FROM layerdb_tmp WHERE name = 'write-set-987'");
    u_assert_text(db, NULL, "SELECT cache_id FROM layerdb_tmp WHERE name = 'stray-file'");
    assert_int_equal(u_qint(db, "SELECT count(*) FROM layerdb_tmp"), 3);
}

#define CID1 "1180999b52c55ca90b1186c8b076063590246181f92242eb205279b77bcae260"
#define CID2 "ad46568c5ce4ad46568c5ce4ad46568c5ce4ad46568c5ce4ad46568c5ce4ad46"
#define CID3 "3333333333333333333333333333333333333333333333333333333333333333"
#define CID4 "4444444444444444444444444444444444444444444444444444444444444444"
#define MID "9999999999999999999999999999999999999999999999999999999999999999"

static void test_mounts(void **state)
{
    struct fx *f = *state;
    u_write_str(f->root, "image/overlay2/layerdb/mounts/" CID1 "/mount-id", MID);
    u_write_str(f->root, "image/overlay2/layerdb/mounts/" CID1 "/init-id", MID "-init");
    u_write_str(f->root, "image/overlay2/layerdb/mounts/" CID1 "/parent", "sha256:" C3);
    /* no init-id (docker run --init=false on old daemons), no parent (empty rootfs) */
    u_write_str(f->root, "image/overlay2/layerdb/mounts/" CID2 "/mount-id", MID "\n");
    /* malformed ids */
    u_write_str(f->root, "image/overlay2/layerdb/mounts/" CID3 "/mount-id", "../../../etc");
    u_write_str(f->root, "image/overlay2/layerdb/mounts/" CID3 "/init-id", MID);
    u_write_str(f->root, "image/overlay2/layerdb/mounts/" CID3 "/parent", C3);
    /* a file where a mount dir should be */
    u_write_str(f->root, "image/overlay2/layerdb/mounts/" CID4, "");
    u_mkdirs(f->root, "image/overlay2/layerdb/mounts/notanid");
    scan(f);
    struct db *db = &f->db;
    u_assert_text(db, "1|" MID "|ok|" MID "-init|ok|" C3 "|ok",
                  "SELECT name_ok || '|' || mount_id || '|' || mount_id_state || '|' || init_id || '|' || init_id_state"
                  " || '|' || parent || '|' || parent_state FROM mount WHERE container_id = '" CID1 "'");
    u_assert_text(db, MID "|ok|missing|missing",
                  "SELECT mount_id || '|' || mount_id_state || '|' || init_id_state || '|' || parent_state FROM mount"
                  " WHERE container_id = '" CID2 "' AND init_id IS NULL AND parent IS NULL");
    u_assert_text(db, "invalid|../../../etc|invalid|invalid",
                  "SELECT mount_id_state || '|' || mount_id || '|' || init_id_state || '|' || parent_state FROM mount"
                  " WHERE container_id = '" CID3 "'");
    u_assert_text(db, "missing|missing|missing",
                  "SELECT mount_id_state || '|' || init_id_state || '|' || parent_state FROM mount WHERE container_id = '" CID4 "'");
    u_assert_text(db, "0", "SELECT name_ok FROM mount WHERE container_id = 'notanid'");
    assert_int_equal(u_qint(db, "SELECT count(*) FROM mount"), 5);
}

/* Image mounts of Docker 28 (docker run --mount type=image,source=REF):
 * <container>-<REF>/ with mount-id and parent, one level per '/' of REF, as
 * dockerd 28.5.2 wrote them here. */
#define IMID "faa469d4073c7682444a582c590434d674bb08f45238bc582047907d88681e60"
#define MNT "image/overlay2/layerdb/mounts/"

static void test_image_mounts(void **state)
{
    struct fx *f = *state;
    u_write_str(f->root, MNT CID1 "/mount-id", MID);
    u_write_str(f->root, MNT CID1 "/init-id", MID "-init");
    /* nested: o2t/classic-a:latest (two image mounts of one container) */
    u_write_str(f->root, MNT CID1 "-o2t/classic-a:latest/mount-id", IMID);
    u_write_str(f->root, MNT CID1 "-o2t/classic-a:latest/parent", "sha256:" C3);
    u_write_str(f->root, MNT CID1 "-o2t/classic-b:latest/mount-id", MID);
    /* plain ref, and three levels with a registry port and a digest */
    u_write_str(f->root, MNT CID2 "-plainref:latest/mount-id", IMID);
    u_write_str(f->root, MNT CID2 "-plainref:latest/parent", "sha256:" C3);
    u_write_str(f->root, MNT CID3 "-reg.example:5000/team/app@sha256:" C2 "/mount-id", IMID);
    /* an empty level (its files gone): an entry with its files missing */
    u_mkdirs(f->root, MNT CID4 "-o2t");
    /* not followed: a symlinked level; not a ref: "..", odd chars, too deep */
    u_mkdirs(f->root, "elsewhere/x:1");
    u_write_str(f->root, "elsewhere/x:1/mount-id", IMID);
    u_mkdirs(f->root, MNT "5555555555555555555555555555555555555555555555555555555555555555-lnk");
    u_symlink(f->root, MNT "5555555555555555555555555555555555555555555555555555555555555555-lnk/x:1", "../../../../../elsewhere/x:1");
    u_write_str(f->root, MNT "5555555555555555555555555555555555555555555555555555555555555555-lnk/ok:1/mount-id", IMID);
    u_write_str(f->root, MNT "6666666666666666666666666666666666666666666666666666666666666666-a b/mount-id", IMID);
    u_mkdirs(f->root, MNT "7777777777777777777777777777777777777777777777777777777777777777-a/b/c/d/e/f/g/h/i/j");
    u_write_str(f->root, MNT "7777777777777777777777777777777777777777777777777777777777777777-a/b/c/d/e/f/g/h/i/j/mount-id", IMID);
    u_write_str(f->root, MNT "7777777777777777777777777777777777777777777777777777777777777777-a/b/c/d/e/f/g/h/mount-id", IMID);
    scan(f);
    struct db *db = &f->db;
    u_assert_text(db, "1|" MID "-init", "SELECT name_ok || '|' || init_id FROM mount WHERE container_id = '" CID1 "'");
    u_assert_text(db, "0|" IMID "|ok|missing|" C3 "|" CID1 "|o2t/classic-a:latest",
                  "SELECT m.name_ok || '|' || m.mount_id || '|' || m.mount_id_state || '|' || m.init_id_state || '|' ||"
                  " m.parent || '|' || i.container_id || '|' || i.ref FROM mount m JOIN image_mount i ON i.path = m.container_id"
                  " WHERE m.container_id = '" CID1 "-o2t/classic-a:latest'");
    u_assert_text(db, "o2t/classic-b:latest|missing",
                  "SELECT i.ref || '|' || m.parent_state FROM mount m JOIN image_mount i ON i.path = m.container_id"
                  " WHERE i.path = '" CID1 "-o2t/classic-b:latest'");
    u_assert_text(db, CID2 "|plainref:latest", "SELECT container_id || '|' || ref FROM image_mount WHERE path = '" CID2 "-plainref:latest'");
    u_assert_text(db, "reg.example:5000/team/app@sha256:" C2,
                  "SELECT ref FROM image_mount WHERE container_id = '" CID3 "'");
    u_assert_text(db, "missing|o2t", "SELECT m.mount_id_state || '|' || i.ref FROM mount m JOIN image_mount i"
                                    " ON i.path = m.container_id WHERE i.container_id = '" CID4 "'");
    /* the symlinked level is not followed; its sibling is read */
    u_assert_text(db, "lnk/ok:1", "SELECT group_concat(ref) FROM image_mount WHERE container_id LIKE '5555%%'");
    /* a space is not a ref character: an odd mount entry, as before */
    u_assert_text(db, "0|ok", "SELECT name_ok || '|' || mount_id_state FROM mount"
                                  " WHERE container_id = '6666666666666666666666666666666666666666666666666666666666666666-a b'");
    assert_int_equal(u_qint(db, "SELECT count(*) FROM image_mount WHERE container_id LIKE '6666%%'"), 0);
    /* 8 levels at most: a/b/c/d/e/f/g/h is read, the deeper entry is not */
    u_assert_text(db, "a/b/c/d/e/f/g/h", "SELECT group_concat(ref) FROM image_mount WHERE container_id LIKE '7777%%'");
    assert_int_equal(u_qint(db, "SELECT count(*) FROM mount"), 9);
    assert_int_equal(u_qint(db, "SELECT count(*) FROM image_mount"), 7);
    assert_int_equal(u_qint(db, "SELECT count(*) FROM scan_error"), 0);
}

/* .tmp-* files of the atomic writer of Docker 26+, in overlay2 dirs and l/;
 * the dir's own files are read as before. */
static void test_overlay_tmp(void **state)
{
    struct fx *f = *state;
    put_overlay(f, K1, L1, NULL);
    put_overlay(f, K2, L2, "l/" L1);
    u_write_str(f->root, "overlay2/" K1 "/committed", "");
    u_write_str(f->root, "overlay2/" K1 "/.tmp-committed1234567", "");
    u_write_str(f->root, "overlay2/" K2 "/.tmp-lower998877", "l/" L1);
    u_write_str(f->root, "overlay2/" K2 "/.tmp-link55", L2);
    u_symlink(f->root, "overlay2/" K2 "/.tmp-odd", "/etc");
    u_mkdirs(f->root, "overlay2/" K2 "/.tmp-dir");
    u_write_str(f->root, "overlay2/" K2 "/.tmpnot", "");
    u_symlink(f->root, "overlay2/l/.tmp-" L3 "42", "../" K3 "/diff");
    /* a dir whose link file is only the temporary one */
    u_mkdirs(f->root, "overlay2/" K3 "/diff");
    u_write_str(f->root, "overlay2/" K3 "/.tmp-link31337", L3);
    scan(f);
    struct db *db = &f->db;
    u_assert_text(db, "file|0", "SELECT type || '|' || size FROM overlay_tmp WHERE dir = '" K1 "' AND name = '.tmp-committed1234567'");
    u_assert_text(db, ".tmp-dir|dir,.tmp-link55|file,.tmp-lower998877|file,.tmp-odd|symlink",
                  "SELECT group_concat(name || '|' || type) FROM (SELECT * FROM overlay_tmp WHERE dir = '" K2 "' ORDER BY name)");
    u_assert_text(db, "symlink", "SELECT type FROM overlay_tmp WHERE dir = 'l' AND name = '.tmp-" L3 "42'");
    assert_int_equal(u_qint(db, "SELECT count(*) FROM link WHERE name LIKE '.tmp-%%'"), 0);
    u_assert_text(db, "ok|ok|1|1", "SELECT link_state || '|' || lower_state || '|' || has_work || '|' || has_diff FROM overlay_dir WHERE name = '" K2 "'");
    u_assert_text(db, "1|0", "SELECT committed || '|' || has_work FROM overlay_dir WHERE name = '" K1 "'");
    u_assert_text(db, "missing|1", "SELECT link_state || '|' || has_diff FROM overlay_dir WHERE name = '" K3 "'");
    u_assert_text(db, "file", "SELECT type FROM overlay_tmp WHERE dir = '" K3 "'");
    assert_int_equal(u_qint(db, "SELECT count(*) FROM overlay_tmp"), 7);
    assert_int_equal(u_qint(db, "SELECT count(*) FROM overlay_stray"), 0);
}

static void test_containers(void **state)
{
    struct fx *f = *state;
    u_write_str(f->root, "containers/" CID1 "/config.v2.json",
                "{\"ID\":\"" CID1 "\",\"Image\":\"sha256:" IMG_TWO "\",\"Driver\":\"overlay2\",\"Name\":\"/web\"}");
    u_write_str(f->root, "containers/" CID2 "/config.v2.json",
                "{\"ID\":\"" CID2 "\",\"Image\":\"" IMG_TWO "\",\"Driver\":\"vfs\"}");
    u_write_str(f->root, "containers/" CID3 "/config.v2.json", "{\"Image\":\"busybox\",\"Driver\":5}");
    u_write_str(f->root, "containers/" CID4 "/config.v2.json", "{not json");
    u_mkdirs(f->root, "containers/5555555555555555555555555555555555555555555555555555555555555555");
    u_write_str(f->root, "containers/6666666666666666666666666666666666666666666666666666666666666666", "");
    u_write_str(f->root, "containers/7777777777777777777777777777777777777777777777777777777777777777/config.v2.json", "[]");
    u_mkfifo(f->root, "containers/8888888888888888888888888888888888888888888888888888888888888888/config.v2.json");
    u_symlink(f->root, "containers/9999999999999999999999999999999999999999999999999999999999999999", CID1);
    scan(f);
    struct db *db = &f->db;
    u_assert_text(db, "1|ok|" IMG_TWO "|overlay2|/web",
                  "SELECT name_ok || '|' || config_state || '|' || image || '|' || driver || '|' || name FROM container"
                  " WHERE id = '" CID1 "'");
    u_assert_text(db, "ok|" IMG_TWO "|vfs", "SELECT config_state || '|' || image || '|' || driver FROM container WHERE id = '" CID2 "' AND name IS NULL");
    u_assert_text(db, "ok", "SELECT config_state FROM container WHERE id = '" CID3 "' AND image IS NULL AND driver IS NULL");
    u_assert_text(db, "invalid", "SELECT config_state FROM container WHERE id = '" CID4 "' AND image IS NULL");
    u_assert_text(db, "missing", "SELECT config_state FROM container WHERE id = '5555555555555555555555555555555555555555555555555555555555555555'");
    u_assert_text(db, "unreadable", "SELECT config_state FROM container WHERE id = '6666666666666666666666666666666666666666666666666666666666666666'");
    u_assert_text(db, "invalid", "SELECT config_state FROM container WHERE id = '7777777777777777777777777777777777777777777777777777777777777777'");
    u_assert_text(db, "unreadable", "SELECT config_state FROM container WHERE id = '8888888888888888888888888888888888888888888888888888888888888888'");
    u_assert_text(db, "unreadable", "SELECT config_state FROM container WHERE id = '9999999999999999999999999999999999999999999999999999999999999999'"
                                    " AND image IS NULL");
    assert_int_equal(u_qint(db, "SELECT count(*) FROM container"), 9);
}

/* ---- BuildKit, distribution ------------------------------------------------------------------------------ */

static void test_buildkit_db_states(void **state)
{
    struct fx *f = *state;
    /* buildkit/ without snapshots.db: BuildKit never ran, nothing recorded */
    u_mkdirs(f->root, "buildkit");
    scan(f);
    assert_int_equal(u_qint(&f->db, "SELECT count(*) FROM buildkit_db"), 0);
    /* garbage: invalid, with a reason */
    u_write_big(f->root, "buildkit/snapshots.db", 8192, 'x');
    scan(f);
    u_assert_text(&f->db, "invalid", "SELECT state FROM buildkit_db WHERE path = 'buildkit/snapshots.db' AND length(error) > 0");
    assert_int_equal(u_qint(&f->db, "SELECT count(*) FROM buildkit_snapshot"), 0);
    /* a FIFO: refused without blocking */
    u_unlink(f->root, "buildkit/snapshots.db");
    u_mkfifo(f->root, "buildkit/snapshots.db");
    scan(f);
    u_assert_text(&f->db, "invalid", "SELECT state FROM buildkit_db");
}

/* fixtures/bbolt/NAME from the repo root, or relative to the binary
 * (<repo>/build/tests/), or under $OVL2FSCK_FIXTURES. */
static char *fixture(const char *file)
{
    char *p = NULL;
    const char *env = getenv("OVL2FSCK_FIXTURES");
    if (env) {
        assert_true(asprintf(&p, "%s/bbolt/%s", env, file) > 0);
        return p;
    }
    const char *dirs[] = { "fixtures/bbolt", "../fixtures/bbolt", "../../fixtures/bbolt" };
    for (size_t i = 0; i < 3; i++) {
        assert_true(asprintf(&p, "%s/%s", dirs[i], file) > 0);
        if (access(p, R_OK) == 0)
            return p;
        free(p);
    }
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            assert_true(asprintf(&p, "%s/../../fixtures/bbolt/%s", exe, file) > 0);
            if (access(p, R_OK) == 0)
                return p;
            free(p);
        }
    }
    fail_msg("fixture %s not found (run from the repo root or set OVL2FSCK_FIXTURES)", file);
    return NULL;
}

static void copy_fixture(struct fx *f, const char *file, const char *rel)
{
    char *src = fixture(file);
    FILE *in = fopen(src, "rb");
    assert_non_null(in);
    char *buf = malloc(1 << 20);
    size_t n = fread(buf, 1, 1 << 20, in);
    fclose(in);
    assert_true(n > 0 && n < (1 << 20));
    u_write(f->root, rel, buf, n);
    free(buf);
    free(src);
}

/* A snapshots.db from a real BuildKit build: every BuildKit dir that store
 * had in overlay2/ is referenced (so never an orphan candidate). */
static void test_buildkit_real_snapshots_db(void **state)
{
    struct fx *f = *state;
    copy_fixture(f, "small.snapshots.db", "buildkit/snapshots.db");
    scan(f);
    struct db *db = &f->db;
    u_assert_text(db, "ok", "SELECT state FROM buildkit_db WHERE error IS NULL");
    assert_int_equal(u_qint(db, "SELECT count(*) FROM buildkit_snapshot"), 26);
    char *list = fixture("small.overlay2.txt");
    FILE *in = fopen(list, "r");
    assert_non_null(in);
    char line[256];
    int buildkit_dirs = 0;
    while (fgets(line, sizeof line, in)) {
        line[strcspn(line, "\n")] = '\0';
        if (!id_is_buildkit(line, strlen(line)))
            continue;
        buildkit_dirs++;
        if (u_qint(db, "SELECT count(*) FROM buildkit_dir WHERE dir = %Q", line) != 1)
            fail_msg("overlay2/%s of the real store is not referenced by its snapshots.db", line);
    }
    fclose(in);
    free(list);
    assert_int_equal(buildkit_dirs, 15);
    /* the layers BuildKit registered are pinned */
    assert_int_equal(u_qint(db, "SELECT count(*) FROM buildkit_layer WHERE chain_id ="
                                " '174f115318527d15f98e404afecefd82b25bdde7b3f89b1555dc4406360aa786'"), 1);
    /* a committed name (not a dir) and a lease are no dirs */
    assert_int_equal(u_qint(db, "SELECT count(*) FROM buildkit_dir WHERE dir = '8q1amfse8dip8hz2b431ihstg'"), 0);
    assert_int_equal(u_qint(db, "SELECT count(*) FROM buildkit_dir WHERE dir = 'dpiycl7nwxihnt94g8tofa2fj'"), 0);

    /* the same file behind a symlink: refused, not followed */
    u_unlink(f->root, "buildkit/snapshots.db");
    copy_fixture(f, "small.snapshots.db", "buildkit/real.db");
    u_symlink(f->root, "buildkit/snapshots.db", "real.db");
    scan(f);
    u_assert_text(db, "invalid", "SELECT state FROM buildkit_db");
    assert_int_equal(u_qint(db, "SELECT count(*) FROM buildkit_snapshot"), 0);
}

static void test_distribution_counts(void **state)
{
    struct fx *f = *state;
    u_write_str(f->root, "image/overlay2/distribution/diffid-by-digest/sha256/" D1, "sha256:" D1);
    u_write_str(f->root, "image/overlay2/distribution/diffid-by-digest/sha256/" D2, "sha256:" D2);
    u_write_str(f->root, "image/overlay2/distribution/v2metadata-by-diffid/sha256/" D1, "[]");
    scan(f);
    assert_int_equal(u_qint(&f->db, "SELECT value FROM stat WHERE key = 'distribution_diffid_by_digest'"), 2);
    assert_int_equal(u_qint(&f->db, "SELECT value FROM stat WHERE key = 'distribution_v2metadata_by_diffid'"), 1);
    /* statistics, never findings */
    u_run_checks(&f->db);
    U_EXPECT_NONE(&f->db);
}

/* ---- the walk itself --------------------------------------------------------------------------------------- */

static void test_symlinked_subdirs_not_followed(void **state)
{
    struct fx *f = *state;
    /* a full layerdb elsewhere, linked in: the scan must not read it */
    u_mkdirs(f->root, "elsewhere/sha256/" C1);
    u_write_str(f->root, "elsewhere/sha256/" C1 "/diff", "sha256:" D1);
    u_mkdirs(f->root, "image/overlay2");
    u_symlink(f->root, "image/overlay2/layerdb", "../../elsewhere");
    u_symlink(f->root, "containers", "elsewhere");
    scan(f);
    assert_int_equal(u_qint(&f->db, "SELECT count(*) FROM layer"), 0);
    assert_int_equal(u_qint(&f->db, "SELECT count(*) FROM container"), 0);
    /* noted as unreadable (ENOTDIR or ELOOP), which stops the garbage checks */
    assert_int_equal(u_qint(&f->db, "SELECT count(*) FROM scan_error WHERE path = 'image/overlay2/layerdb/sha256'"
                                    " AND error IN ('Not a directory', 'Too many levels of symbolic links')"), 1);
    assert_int_equal(u_qint(&f->db, "SELECT count(*) FROM scan_error WHERE path = 'containers'"
                                    " AND error IN ('Not a directory', 'Too many levels of symbolic links')"), 1);
    /* layerdb/tmp and layerdb/mounts sit below the same symlink */
    assert_int_equal(u_qint(&f->db, "SELECT count(*) FROM scan_error WHERE path IN ('image/overlay2/layerdb/tmp',"
                                    " 'image/overlay2/layerdb/mounts')"), 2);
    assert_int_equal(u_qint(&f->db, "SELECT count(*) FROM scan_error"), 4);
}

static void test_root_errors(void **state)
{
    struct fx *f = *state;
    char err[512] = "", *missing = u_path(f->root, "no-such-dir");
    assert_int_equal(scan_root(&f->db, missing, NULL, NULL, NULL, err, sizeof err), -1);
    char want[600];
    snprintf(want, sizeof want, "cannot open root %s: No such file or directory", missing);
    assert_string_equal(err, want);
    free(missing);
    /* an empty root is a clean, empty store */
    scan(f);
    struct scan_counts c;
    scan_read_counts(&f->db, &c);
    assert_int_equal(c.images + c.layers + c.mounts + c.containers + c.overlay_dirs + c.links + c.buildkit_snapshots, 0);
    assert_int_equal(u_qint(&f->db, "SELECT count(*) FROM scan_error"), 0);
}

static void test_stop_flag(void **state)
{
    struct fx *f = *state;
    put_real_store(f);
    volatile sig_atomic_t stop = 1;
    char err[256] = "";
    assert_int_equal(scan_root(&f->db, f->root, &stop, NULL, NULL, err, sizeof err), -2);
    assert_string_equal(err, "interrupted");
}

/* An insert that fails part way through a walk (here the database is full:
 * max_page_count; out of memory takes the same path) ends the scan with
 * SQLite's own error. Before, the walk took it for an unreadable dir, went
 * on, and the lane ended with "cannot commit - no transaction is active". */
static void test_insert_failure_ends_scan(void **state)
{
    struct fx *f = *state;
    char name[65], lower[4096];
    memset(lower, 0, sizeof lower);
    for (int i = 0; i < 100; i++)
        snprintf(lower + strlen(lower), sizeof lower - strlen(lower), "%sl/AAAAAAAAAAAAAAAAAAAAAAAA%02d", i ? ":" : "", i);
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "%064x", i + 1);
        put_overlay(f, name, NULL, lower);
    }
    int64_t pages = u_qint(&f->db, "PRAGMA page_count");
    u_exec(&f->db, "PRAGMA max_page_count = %lld", (long long)pages + 4);
    char err[512] = "";
    alarm(60);
    int rc = scan_root(&f->db, f->root, NULL, NULL, NULL, err, sizeof err);
    alarm(0);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, "database or disk is full"));
    assert_null(strstr(err, "no transaction"));
}

static void test_still_there(void **state)
{
    struct fx *f = *state;
    u_write_str(f->root, "a", "1");
    int dirfd = open(f->root, O_RDONLY | O_DIRECTORY);
    assert_true(dirfd >= 0);
    struct stat st;
    assert_true(fs_lstat(dirfd, "a", &st));
    assert_true(scan_still_there(dirfd, "a", &st));
    /* replaced by another file (a new inode under the same name) */
    u_write_str(f->root, "b", "2");
    char *a = u_path(f->root, "a"), *b = u_path(f->root, "b");
    assert_int_equal(rename(b, a), 0);
    assert_false(scan_still_there(dirfd, "a", &st));
    /* gone */
    struct stat st2;
    assert_true(fs_lstat(dirfd, "a", &st2));
    assert_true(scan_still_there(dirfd, "a", &st2));
    assert_int_equal(unlink(a), 0);
    assert_false(scan_still_there(dirfd, "a", &st2));
    /* a dir replaced by a symlink to itself elsewhere */
    u_mkdirs(f->root, "d");
    assert_true(fs_lstat(dirfd, "d", &st));
    char *d = u_path(f->root, "d"), *d2 = u_path(f->root, "d2");
    assert_int_equal(rename(d, d2), 0);
    assert_int_equal(symlink("d2", d), 0);
    assert_false(scan_still_there(dirfd, "d", &st));
    free(a);
    free(b);
    free(d);
    free(d2);
    close(dirfd);
}

/* Rows that look broken only because dockerd removed the object while the
 * scan ran are dropped when the object's file is gone at the end of the
 * scan (scan_drop_vanished); those whose file is still there stay, and so
 * do objects that are gone but looked whole. Layer C2's overlay dir K2 and
 * layer C3 are missing from the store: C2 looks dangling, image two names a
 * layer that is no layer. */
static void test_vanished_rows(void **state)
{
    struct fx *f = *state;
    char id[HEX64_LEN + 1];
    put_config(f, cfg_base, sizeof cfg_base - 1, id);
    put_config(f, cfg_two, sizeof cfg_two - 1, id);
    put_layer(f, C1, D1, NULL, K1, "1982263");
    put_layer(f, C2, D2, C1, K2, "4");
    put_overlay(f, K1, L1, NULL);
    u_mkdirs(f->root, "image/overlay2/layerdb/tmp");
    u_mkdirs(f->root, "containers");
    scan(f);
    struct db *db = &f->db;
    /* nothing was removed: every row stays, the suspects C2 and image two
     * too (the scan ran the step; their files are there) */
    assert_int_equal(u_qint(db, "SELECT count(*) FROM layer"), 2);
    assert_int_equal(u_qint(db, "SELECT count(*) FROM image"), 2);
    assert_int_equal(u_qint(db, "SELECT count(*) FROM image_layer"), 4);

    /* dockerd removes layer C2 (its layerdb dir) and image two's config,
     * and also C1's layerdb dir and image base's config (they looked whole) */
    int rootfd = open(f->root, O_RDONLY | O_DIRECTORY);
    assert_true(rootfd >= 0);
    char *dir = u_path(f->root, LAYERDB C2);
    u_rmtree(dir);
    free(dir);
    dir = u_path(f->root, LAYERDB C1);
    u_rmtree(dir);
    free(dir);
    u_unlink(f->root, CONTENT IMG_TWO);
    u_unlink(f->root, CONTENT IMG_BASE);
    char err[256] = "";
    assert_int_equal(scan_drop_vanished(db, rootfd, err, sizeof err), 0);
    close(rootfd);
    /* C2 is dropped; C1, whose overlay dir is there, stays */
    u_assert_text(db, C1, "SELECT group_concat(chain_id) FROM layer");
    /* image two (named C2, now no layer, and C3) is dropped with its rows;
     * image base names only C1: it stays */
    u_assert_text(db, IMG_BASE, "SELECT group_concat(id) FROM image");
    u_assert_text(db, IMG_BASE, "SELECT group_concat(DISTINCT image_id) FROM image_layer");
    assert_int_equal(u_qint(db, "SELECT count(*) FROM image_layer"), 1);
}

/* The scan reads only: no byte, mode, mtime or ctime of the store changes,
 * and (where the filesystem keeps them) no atime of a file it reads. */
struct snap {
    char path[512];
    struct stat st;
};

static struct snap *snaps;
static size_t nsnaps, capsnaps;

static void snap_add(const char *path, const struct stat *st)
{
    if (nsnaps == capsnaps) {
        capsnaps = capsnaps ? capsnaps * 2 : 256;
        snaps = realloc(snaps, capsnaps * sizeof *snaps);
        assert_non_null(snaps);
    }
    snprintf(snaps[nsnaps].path, sizeof snaps[nsnaps].path, "%s", path);
    snaps[nsnaps].st = *st;
    nsnaps++;
}

/* lstat name (under dirfd) and, for a dir, everything below it. Dirs are
 * read through O_NOATIME (the store is the test's own), so that the walk
 * leaves every atime as it was: a plain opendir (as in nftw) would update
 * the atimes of the dirs it lists and blame the scan for it. */
static void snap_walk(int dirfd, const char *name, const char *path)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        fail_msg("lstat %s: %s", path, strerror(errno));
    snap_add(path, &st);
    if (!S_ISDIR(st.st_mode))
        return;
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
    if (fd < 0)
        fail_msg("open %s with O_NOATIME: %s", path, strerror(errno));
    DIR *d = fdopendir(fd);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char *child = u_path(path, de->d_name);
        snap_walk(fd, de->d_name, child);
        free(child);
    }
    closedir(d);
}

static int snap_cmp(const void *a, const void *b)
{
    return strcmp(((const struct snap *)a)->path, ((const struct snap *)b)->path);
}

/* Every path under root with its lstat, sorted by path. */
static void take_snapshot(const char *root, struct snap **out, size_t *n)
{
    snaps = NULL;
    nsnaps = capsnaps = 0;
    snap_walk(AT_FDCWD, root, root);
    qsort(snaps, nsnaps, sizeof *snaps, snap_cmp);
    *out = snaps;
    *n = nsnaps;
}

static bool fs_keeps_atime(const char *root)
{
    u_write_str(root, "atime-probe", "x");
    u_set_mtime(root, "atime-probe", 2000000000);
    char *p = u_path(root, "atime-probe");
    struct timespec ts[2] = { { 1000000000, 0 }, { 0, UTIME_OMIT } };
    utimensat(AT_FDCWD, p, ts, 0);
    int fd = open(p, O_RDONLY);   /* an ordinary read, with atime */
    char c;
    assert_int_equal(read(fd, &c, 1), 1);
    close(fd);
    struct stat st;
    stat(p, &st);
    unlink(p);
    free(p);
    return st.st_atime != 1000000000;
}

static void scan_leaves_store_alone(struct fx *f, bool check_dirs)
{
    put_real_store(f);
    u_write_str(f->root, "image/overlay2/layerdb/mounts/" CID1 "/mount-id", K1);
    u_write_str(f->root, "containers/" CID1 "/config.v2.json", "{\"Driver\":\"overlay2\"}");
    bool atime = fs_keeps_atime(f->root);
    /* atimes older than mtimes: relatime would update them on a read */
    struct snap *before, *after;
    size_t nb, na;
    take_snapshot(f->root, &before, &nb);
    for (size_t i = 0; i < nb; i++) {
        struct timespec ts[2] = { { 1000000000, 0 }, { 0, UTIME_OMIT } };
        utimensat(AT_FDCWD, before[i].path, ts, AT_SYMLINK_NOFOLLOW);
    }
    free(before);
    take_snapshot(f->root, &before, &nb);
    scan(f);
    take_snapshot(f->root, &after, &na);
    assert_int_equal(na, nb);
    bool ok = true;
    int atime_changed_files = 0, atime_changed_dirs = 0;
    for (size_t i = 0; i < nb; i++) {
        const struct stat *a = &before[i].st, *b = &after[i].st;
        assert_string_equal(before[i].path, after[i].path);
        if (a->st_ino != b->st_ino || a->st_mode != b->st_mode || a->st_size != b->st_size ||
            a->st_mtim.tv_sec != b->st_mtim.tv_sec || a->st_mtim.tv_nsec != b->st_mtim.tv_nsec ||
            a->st_ctim.tv_sec != b->st_ctim.tv_sec || a->st_ctim.tv_nsec != b->st_ctim.tv_nsec) {
            print_error("changed by the scan: %s\n", before[i].path);
            ok = false;
        }
        /* readlink() always updates a symlink's atime (no O_NOATIME for it) */
        if (atime && !S_ISLNK(a->st_mode) && a->st_atim.tv_sec != b->st_atim.tv_sec) {
            if (S_ISDIR(a->st_mode)) {
                if (check_dirs)
                    print_error("dir atime changed by the scan: %s\n", before[i].path);
                atime_changed_dirs++;
            } else {
                print_error("atime changed by the scan: %s\n", before[i].path);
                atime_changed_files++;
            }
        }
    }
    free(before);
    free(after);
    assert_true(ok);
    assert_int_equal(atime_changed_files, 0);
    if (!atime)
        print_message("(this filesystem does not update atimes: atime part not checked)\n");
    if (check_dirs)
        assert_int_equal(atime_changed_dirs, 0);
}

static void test_scan_never_writes(void **state)
{
    scan_leaves_store_alone(*state, false);
}

static void test_scan_leaves_dir_atimes(void **state)
{
    scan_leaves_store_alone(*state, true);
}

int main(void)
{
    signal(SIGALRM, SIG_DFL);
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_real_store),
        T(test_id_files),
        T(test_layer_files),
        T(test_image_configs),
        T(test_image_config_bad_element_rows),
        T(test_repositories_json),
        T(test_repositories_tags),
        T(test_repositories_unreadable),
        T(test_lower_files),
        T(test_links),
        T(test_l_dir_symlink),
        T(test_overlay_entries),
        T(test_leftovers),
        T(test_mounts),
        T(test_image_mounts),
        T(test_overlay_tmp),
        T(test_containers),
        T(test_buildkit_db_states),
        T(test_buildkit_real_snapshots_db),
        T(test_distribution_counts),
        T(test_symlinked_subdirs_not_followed),
        T(test_root_errors),
        T(test_stop_flag),
        T(test_insert_failure_ends_scan),
        T(test_still_there),
        T(test_vanished_rows),
        T(test_scan_never_writes),
        T(test_scan_leaves_dir_atimes),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
