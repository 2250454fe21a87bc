/* test_checks.c — every check of sql/checks on a minimal database.
 *
 * Each test starts from a healthy store (one image of two layers, their
 * overlay2 dirs and links, a tag, a container with its mount, -init and RW
 * dirs, a BuildKit snapshot), which no check reports, and adds or changes
 * the few rows that trigger one check; then it asserts the exact
 * (check, object, detail) rows of the finding table, so any other check
 * firing fails the test. Clean variants next to each trigger must find
 * nothing. Also: --min-age (young), --ignore, severities, the safety guards
 * of layer-unreferenced and overlay-dir-orphaned (each guard that silences
 * them also makes the one reference-graph-incomplete finding, object
 * orphan-checks, whose detail counts the reasons and names the first by
 * path), and two scale tests: no
 * check's query plan scans a large table inside a loop (EXPLAIN QUERY PLAN),
 * and no check's work grows faster than the store (VM steps at N and 4N). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit_util.h"

#include <ctype.h>

#include "catalog.h"
#include "checks.h"
#include "ids.h"

#define OLD 1000000000   /* 2001: older than any cutoff */

/* real-store vectors: diffIDs and chainIDs of a busybox import + a RUN layer */
#define D1 "07f112164e2aa1df0eeace77e4c6e1b42955e4d820f605c24aaa47a84ad566d6"
#define D2 "32e55a5f86fbc83b1987ace5dc1e1c78c0c1848f03d848b2580f6046bbc90277"
#define D3 "db8f48a6c599220170a7652506c57d151f142e2d9c271d75b3b85b9e2f6b3d04"
#define C1 D1
#define C2 "c7d25fe92e0686856ad65fbe69b007d06f62fee562154e6e3c1eeb4b0591e19d"
#define C3 "023e53900dc65b1ce3b041720546fad4f66501fd4b5b1e100d05348421667bc1"

#define IA "a1a1a10000000000000000000000000000000000000000000000000000000000"
#define IB "b2b2b20000000000000000000000000000000000000000000000000000000000"
#define IC "c3c3c30000000000000000000000000000000000000000000000000000000000"
#define IREF "ee11ee0000000000000000000000000000000000000000000000000000000000"
#define DEAD "dead0dead0000000000000000000000000000000000000000000000000000000"
#define X1 "f01f000000000000000000000000000000000000000000000000000000000000"
#define X2 "f02f000000000000000000000000000000000000000000000000000000000000"
#define X3 "f03f000000000000000000000000000000000000000000000000000000000000"
#define X4 "f04f000000000000000000000000000000000000000000000000000000000000"
#define X5 "f05f000000000000000000000000000000000000000000000000000000000000"
#define X6 "f06f000000000000000000000000000000000000000000000000000000000000"
#define X7 "f07f000000000000000000000000000000000000000000000000000000000000"
#define X8 "f08f000000000000000000000000000000000000000000000000000000000000"
#define X9 "f09f000000000000000000000000000000000000000000000000000000000000"
#define X10 "f0af000000000000000000000000000000000000000000000000000000000000"
#define X11 "f0bf000000000000000000000000000000000000000000000000000000000000"
#define X12 "f0cf000000000000000000000000000000000000000000000000000000000000"
#define KX1 "9019000000000000000000000000000000000000000000000000000000000000"
#define KX2 "9029000000000000000000000000000000000000000000000000000000000000"
#define KX3 "9039000000000000000000000000000000000000000000000000000000000000"
#define KX4 "9049000000000000000000000000000000000000000000000000000000000000"
#define KX5 "9059000000000000000000000000000000000000000000000000000000000000"
#define KX6 "9069000000000000000000000000000000000000000000000000000000000000"
#define KX7 "9079000000000000000000000000000000000000000000000000000000000000"
#define KX8 "9089000000000000000000000000000000000000000000000000000000000000"
#define KX9 "9099000000000000000000000000000000000000000000000000000000000000"
#define KX10 "90a9000000000000000000000000000000000000000000000000000000000000"
#define KX11 "90b9000000000000000000000000000000000000000000000000000000000000"
#define KX12 "90c9000000000000000000000000000000000000000000000000000000000000"
#define U1 "aa01000000000000000000000000000000000000000000000000000000000000"
#define U2 "aa02000000000000000000000000000000000000000000000000000000000000"
#define KU1 "bb01000000000000000000000000000000000000000000000000000000000000"
#define KU2 "bb02000000000000000000000000000000000000000000000000000000000000"
#define K1 "1111000000000000000000000000000000000000000000000000000000000000"
#define K2 "2222000000000000000000000000000000000000000000000000000000000000"
#define M "3333000000000000000000000000000000000000000000000000000000000000"
#define K9 "9999000000000000000000000000000000000000000000000000000000000000"
#define Y1 "ccc1000000000000000000000000000000000000000000000000000000000000"
#define Y2 "ccc2000000000000000000000000000000000000000000000000000000000000"
#define Y3 "ccc3000000000000000000000000000000000000000000000000000000000000"
#define Y4 "ccc4000000000000000000000000000000000000000000000000000000000000"
#define Y5 "ccc5000000000000000000000000000000000000000000000000000000000000"
#define Y6 "ccc6000000000000000000000000000000000000000000000000000000000000"
#define MY1 "ddd1000000000000000000000000000000000000000000000000000000000000"
#define MY2 "ddd2000000000000000000000000000000000000000000000000000000000000"
#define MY3 "ddd3000000000000000000000000000000000000000000000000000000000000"
#define MY4 "ddd4000000000000000000000000000000000000000000000000000000000000"
#define MY5 "ddd5000000000000000000000000000000000000000000000000000000000000"
#define MY6 "ddd6000000000000000000000000000000000000000000000000000000000000"
#define O1 "0e01000000000000000000000000000000000000000000000000000000000000"
#define O2 "0e02000000000000000000000000000000000000000000000000000000000000"
#define O3 "0e03000000000000000000000000000000000000000000000000000000000000"
#define O4 "0e04000000000000000000000000000000000000000000000000000000000000"
#define CID "c1d0000000000000000000000000000000000000000000000000000000000000"
#define L1 "QQQQQQQQQQQQQQQQQQQQQQQQAA"
#define L2 "QQQQQQQQQQQQQQQQQQQQQQQQAB"
#define L3 "QQQQQQQQQQQQQQQQQQQQQQQQAC"
#define L4 "QQQQQQQQQQQQQQQQQQQQQQQQAD"
#define L5 "QQQQQQQQQQQQQQQQQQQQQQQQAE"
#define LZ "QQQQQQQQQQQQQQQQQQQQQQQQAF"
#define LB1 "QQQQQQQQQQQQQQQQQQQQQQQQAG"
#define LB2 "QQQQQQQQQQQQQQQQQQQQQQQQAH"
#define LO1 "QQQQQQQQQQQQQQQQQQQQQQQQAI"
#define LO2 "QQQQQQQQQQQQQQQQQQQQQQQQAJ"
#define LU1 "QQQQQQQQQQQQQQQQQQQQQQQQAK"
#define LU2 "QQQQQQQQQQQQQQQQQQQQQQQQAL"
#define LZZ "QQQQQQQQQQQQQQQQQQQQQQQQAM"
#define LX1 "QQQQQQQQQQQQQQQQQQQQQQQQAN"
#define LX2 "QQQQQQQQQQQQQQQQQQQQQQQQAO"
#define LX3 "QQQQQQQQQQQQQQQQQQQQQQQQAP"
#define LX4 "QQQQQQQQQQQQQQQQQQQQQQQQAQ"
#define LX5 "QQQQQQQQQQQQQQQQQQQQQQQQAR"
#define LX6 "QQQQQQQQQQQQQQQQQQQQQQQQAS"
#define LX7 "QQQQQQQQQQQQQQQQQQQQQQQQAT"
#define LX8 "QQQQQQQQQQQQQQQQQQQQQQQQAU"
#define LX9 "QQQQQQQQQQQQQQQQQQQQQQQQAV"
#define LX10 "QQQQQQQQQQQQQQQQQQQQQQQQAW"
#define LX11 "QQQQQQQQQQQQQQQQQQQQQQQQAX"
#define LX12 "QQQQQQQQQQQQQQQQQQQQQQQQAY"
#define LY1 "QQQQQQQQQQQQQQQQQQQQQQQQAZ"
#define LY2 "QQQQQQQQQQQQQQQQQQQQQQQQA2"
#define LY3 "QQQQQQQQQQQQQQQQQQQQQQQQA3"
#define LY4 "QQQQQQQQQQQQQQQQQQQQQQQQA4"
#define LY5 "QQQQQQQQQQQQQQQQQQQQQQQQA5"
#define LY6 "QQQQQQQQQQQQQQQQQQQQQQQQA6"
#define BK "k7x3m9q2w8e4r6t1y5u0i2o3p"
#define BK2 "zzzzzzzzzzzzzzzzzzzzzzzzz"

/* ---- rows ------------------------------------------------------------------------ */

static struct db DB;

static void add_image(const char *id)
{
    u_exec(&DB, "INSERT INTO image(id, name_ok, config_state, config_error, digest_ok, digest, size, mtime)"
                " VALUES (%Q, 1, 'ok', NULL, 1, %Q, 100, %d)", id, id, OLD);
}

static void add_image_layer(const char *image, int idx, const char *diff, const char *chain)
{
    u_exec(&DB, "INSERT INTO image_layer(image_id, idx, diff_id, chain_id) VALUES (%Q, %d, 'sha256:' || %Q, %Q)",
           image, idx, diff, chain);
}

/* A layer as the scanner records a well-formed one. */
static void add_layer(const char *chain, const char *diff, const char *parent, const char *cache)
{
    u_exec(&DB, "INSERT INTO layer(chain_id, name_ok, is_dir, diff, diff_state, parent, parent_state, cache_id,"
                " cache_id_state, size, size_state, has_tarsplit, computed_chain, entries, mtime)"
                " VALUES (%Q, 1, 1, %Q, 'ok', %Q, %Q, %Q, 'ok', 10, 'ok', 1, %Q, -1, %d)",
           chain, diff, parent, parent ? "ok" : "missing", cache, chain, OLD);
}

/* An image (IREF) that references chain, so that it is not garbage. */
static void ref_by_image(const char *chain)
{
    u_exec(&DB, "INSERT OR IGNORE INTO image(id, name_ok, config_state, config_error, digest_ok, digest, size, mtime)"
                " VALUES (%Q, 1, 'ok', NULL, 1, %Q, 100, %d)", IREF, IREF, OLD);
    u_exec(&DB, "INSERT INTO image_layer(image_id, idx, diff_id, chain_id)"
                " SELECT %Q, count(*), 'sha256:' || %Q, %Q FROM image_layer WHERE image_id = %Q",
           IREF, chain, chain, IREF);
}

/* overlay2/<name>: diff/, link file (and its l/ symlink when with_link_row),
 * lower file (its entries are the overlay_lower view). */
static void add_dir_ex(const char *name, const char *link, const char *lower, bool with_link_row)
{
    u_exec(&DB, "INSERT INTO overlay_dir(name, kind, has_diff, diff_kind, link, link_state, lower, lower_state,"
                " has_work, committed, has_merged, mtime) VALUES (%Q, %Q, 1, 'dir', %Q, %Q, %Q, %Q, %d, 0, 0, %d)",
           name, id_overlay_kind(name, strlen(name)), link, link ? "ok" : "missing", lower, lower ? "ok" : "missing",
           lower != NULL, OLD);
    if (link && with_link_row)
        u_exec(&DB, "INSERT INTO link(name, type, target, target_dir, mtime) VALUES (%Q, 'symlink', '../' || %Q || '/diff', %Q, %d)",
               link, name, name, OLD);
}

static void add_dir(const char *name, const char *link, const char *lower)
{
    add_dir_ex(name, link, lower, true);
}

static void set_lower(const char *dir, const char *lower, const char *state)
{
    /* a dir with a lower file has work/ (as add_dir_ex makes it) */
    u_exec(&DB, "UPDATE overlay_dir SET lower = %Q, lower_state = %Q, has_work = %d WHERE name = %Q", lower, state,
           strcmp(state, "missing") != 0, dir);
}

static void add_container(const char *id, const char *image, const char *driver, const char *name)
{
    u_exec(&DB, "INSERT INTO container(id, name_ok, config_state, image, driver, name, mtime)"
                " VALUES (%Q, 1, 'ok', %Q, %Q, %Q, %d)", id, image, driver, name, OLD);
}

/* layerdb/mounts/<cid>; NULL ids are missing files. */
static void add_mount(const char *cid, const char *mount_id, const char *init_id, const char *parent)
{
    u_exec(&DB, "INSERT INTO mount(container_id, name_ok, mount_id, mount_id_state, init_id, init_id_state, parent,"
                " parent_state, mtime) VALUES (%Q, 1, %Q, %Q, %Q, %Q, %Q, %Q, %d)",
           cid, mount_id, mount_id ? "ok" : "missing", init_id, init_id ? "ok" : "missing", parent,
           parent ? "ok" : "missing", OLD);
}

/* A container of the overlay2 driver with its mount (no init, no parent)
 * and RW dir: consistent on its own. */
static void add_container_with_rw(const char *cid, const char *rw, const char *link)
{
    add_container(cid, IA, "overlay2", "/c");
    add_mount(cid, rw, NULL, NULL);
    add_dir(rw, link, NULL);
}

/* The healthy store every test starts from. */
static void build_base(void)
{
    add_image(IA);
    add_image_layer(IA, 0, D1, C1);
    add_image_layer(IA, 1, D2, C2);
    add_layer(C1, D1, NULL, K1);
    add_layer(C2, D2, C1, K2);
    add_dir(K1, L1, NULL);
    add_dir(K2, L2, "l/" L1);
    u_exec(&DB, "INSERT INTO tag_file(path, state, error, mtime) VALUES ('image/overlay2/repositories.json', 'ok', NULL, %d)", OLD);
    u_exec(&DB, "INSERT INTO tag(ref, repo, image_id, id_ok, raw_id) VALUES ('bb:two', 'bb', %Q, 1, 'sha256:' || %Q)", IA, IA);
    add_container(CID, IA, "overlay2", "/web");
    add_mount(CID, M, M "-init", C2);
    add_dir(M "-init", L3, "l/" L2 ":l/" L1);
    add_dir(M, L4, "l/" L3 ":l/" L2 ":l/" L1);
    u_exec(&DB, "INSERT INTO buildkit_db(path, state, error) VALUES ('buildkit/snapshots.db', 'ok', NULL)");
    u_exec(&DB, "INSERT INTO buildkit_snapshot(key, parent, committed, chainid) VALUES (%Q, '', NULL, NULL)", BK);
    u_exec(&DB, "INSERT INTO buildkit_snapshot(key, parent, committed, chainid) VALUES ('sha256:' || %Q, NULL, NULL, NULL)", C2);
    u_exec(&DB, "INSERT INTO buildkit_dir(dir, snapshot_key) VALUES (%Q, %Q)", BK, BK);
    u_exec(&DB, "INSERT INTO buildkit_layer(chain_id) VALUES (%Q)", C2);
    add_dir(BK, L5, NULL);
}

static int setup(void **state)
{
    (void)state;
    char err[256];
    if (db_open(&DB, NULL, err, sizeof err) < 0 || db_create_indexes(&DB, err, sizeof err) < 0)
        return -1;
    build_base();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    db_close(&DB);
    return 0;
}

static void run(void)
{
    u_run_checks(&DB);
}

static void expect_col(const char *col, const char *check, const char *object, const char *want)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT %s FROM finding WHERE check_name = %%Q AND object = %%Q", col);
    bool found = false;
    char *q = sqlite3_mprintf(sql, check, object);
    char *got = u_text(&DB, "%s", q);
    found = u_qint(&DB, "SELECT count(*) FROM finding WHERE check_name = %Q AND object = %Q", check, object) == 1;
    sqlite3_free(q);
    if (!found || (want == NULL) != (got == NULL) || (want && strcmp(want, got) != 0)) {
        print_error("%s of %s %s: want %s, got %s\n", col, check, object, want ? want : "NULL", got ? got : "NULL");
        free(got);
        fail();
    }
    free(got);
}

static void expect_path(const char *check, const char *object, const char *path)
{
    expect_col("path", check, object, path);
}

static void expect_owned(const char *check, const char *object, const char *owned)
{
    expect_col("owned", check, object, owned);
}

/* ---- the healthy store ------------------------------------------------------------- */

static void test_base_is_clean(void **state)
{
    (void)state;
    run();
    U_EXPECT_NONE(&DB);
}

/* ---- image checks -------------------------------------------------------------------- */

static void test_image_config_invalid(void **state)
{
    (void)state;
    u_exec(&DB, "INSERT INTO image VALUES (%Q, 1, 'invalid', 'not valid JSON', 1, %Q, 10, %d)", IB, IB, OLD);
    u_exec(&DB, "INSERT INTO image VALUES (%Q, 1, 'unreadable', 'too large (10485760 bytes)', 0, NULL, 10485760, %d)", IC, OLD);
    run();
    /* an unreadable config is not also a digest mismatch; the layers of
     * both are unknown (an invalid one may be a torn write of a config that
     * had layers) */
    U_EXPECT(&DB, { "image-config-invalid", IB, "=not valid JSON" },
                  { "image-config-invalid", IC, "=too large (10485760 bytes)" },
                  { "reference-graph-incomplete", "orphan-checks", "=2 reason(s); first: image/overlay2/imagedb/content/sha256/" IB
                    ": image config invalid: its layers are unknown" });
    expect_path("image-config-invalid", IB, "image/overlay2/imagedb/content/sha256/" IB);
    u_assert_text(&DB, "error", "SELECT DISTINCT severity FROM finding WHERE check_name = 'image-config-invalid'");
}

static void test_image_digest_mismatch(void **state)
{
    (void)state;
    u_exec(&DB, "INSERT INTO image VALUES (%Q, 1, 'ok', NULL, 0, %Q, 10, %d)", IB, DEAD, OLD);
    u_exec(&DB, "INSERT INTO image VALUES ('notanid', 0, 'ok', NULL, 0, %Q, 10, %d)", DEAD, OLD);
    run();
    U_EXPECT(&DB, { "image-digest-mismatch", IB, "=content hashes to sha256:" DEAD },
                  { "image-digest-mismatch", "notanid", "=file name is not a sha256 digest (content hashes to sha256:" DEAD ")" });
    expect_path("image-digest-mismatch", IB, "image/overlay2/imagedb/content/sha256/" IB);
}

static void test_image_layer_missing(void **state)
{
    (void)state;
    add_image(IB);
    add_image_layer(IB, 0, D1, C1);
    add_image_layer(IB, 1, D2, C2);
    add_image_layer(IB, 2, D3, C3);       /* missing: the lowest one is named */
    add_image_layer(IB, 3, D3, X1);       /* missing too */
    /* chain_id NULL (after a malformed diff_id) is never "missing" */
    add_image(IC);
    u_exec(&DB, "INSERT INTO image_layer VALUES (%Q, 0, 'sha256:zz', NULL)", IC);
    run();
    U_EXPECT(&DB, { "image-layer-missing", IB, "=layer 3 of 4 (chainID sha256:" C3 ") has no layerdb entry" });
    expect_path("image-layer-missing", IB, "image/overlay2/imagedb/content/sha256/" IB);
}

static void test_image_parent_missing(void **state)
{
    (void)state;
    add_image(IB);
    u_exec(&DB, "INSERT INTO image_parent VALUES (%Q, %Q, 'ok', %d)", IB, IA, OLD);       /* clean */
    u_exec(&DB, "INSERT INTO image_parent VALUES (%Q, %Q, 'ok', %d)", IA, DEAD, OLD);
    add_image(IC);
    u_exec(&DB, "INSERT INTO image_parent VALUES (%Q, 'sha256:nope', 'invalid', %d)", IC, OLD);
    run();
    U_EXPECT(&DB, { "image-parent-missing", IA, "=parent sha256:" DEAD " does not exist" },
                  { "image-parent-missing", IC, "=parent file is invalid" });
    expect_path("image-parent-missing", IA, "image/overlay2/imagedb/metadata/sha256/" IA "/parent");
    u_assert_text(&DB, "warning", "SELECT DISTINCT severity FROM finding");
}

static void test_imagedb_tmp_leftover(void **state)
{
    (void)state;
    u_exec(&DB, "INSERT INTO imagedb_tmp VALUES ('.tmp-123456', 12, %d)", OLD);
    run();
    U_EXPECT(&DB, { "imagedb-tmp-leftover", ".tmp-123456", "=leftover of an interrupted image config write (12 bytes)" });
    expect_path("imagedb-tmp-leftover", ".tmp-123456", "image/overlay2/imagedb/content/sha256/.tmp-123456");
    u_assert_text(&DB, "garbage", "SELECT severity FROM finding");
}

/* ---- tags --------------------------------------------------------------------------------- */

static void test_tag_file_invalid(void **state)
{
    (void)state;
    u_exec(&DB, "UPDATE tag_file SET state = 'invalid', error = 'no \"Repositories\" object'");
    run();
    U_EXPECT(&DB, { "tag-file-invalid", "repositories.json", "=no \"Repositories\" object" });
    expect_path("tag-file-invalid", "repositories.json", "image/overlay2/repositories.json");
    u_exec(&DB, "DELETE FROM finding; UPDATE tag_file SET state = 'unreadable', error = 'not a regular file (fifo)'");
    run();
    U_EXPECT(&DB, { "tag-file-invalid", "repositories.json", "=not a regular file (fifo)" });
    /* no repositories.json at all (no row) is fine */
    u_exec(&DB, "DELETE FROM finding; DELETE FROM tag_file");
    run();
    U_EXPECT_NONE(&DB);
}

static void test_tag_dangling(void **state)
{
    (void)state;
    u_exec(&DB, "INSERT INTO tag VALUES ('bb:gone', 'bb', %Q, 1, 'sha256:' || %Q)", DEAD, DEAD);
    u_exec(&DB, "INSERT INTO tag VALUES ('bb:bad', 'bb', NULL, 0, 'sha256:zz')");
    u_exec(&DB, "INSERT INTO tag VALUES ('bb@sha256:" D1 "', 'bb', %Q, 1, 'sha256:' || %Q)", IA, IA);   /* clean */
    run();
    U_EXPECT(&DB, { "tag-dangling", "bb:gone", "=names image sha256:" DEAD ", which does not exist" },
                  { "tag-dangling", "bb:bad", "=names \"sha256:zz\", which is not an image id" });
    expect_path("tag-dangling", "bb:gone", "image/overlay2/repositories.json");
}

/* ---- layers ---------------------------------------------------------------------------------- */

static void test_layer_metadata_missing(void **state)
{
    (void)state;
    /* diff and size missing */
    u_exec(&DB, "INSERT INTO layer VALUES (%Q, 1, 1, NULL, 'missing', NULL, 'missing', %Q, 'ok', NULL, 'missing', 0,"
                " NULL, 2, %d)", X6, KX6, OLD);
    add_dir(KX6, LX6, NULL);
    ref_by_image(X6);
    /* an empty layer dir (moby#44909) */
    u_exec(&DB, "INSERT INTO layer VALUES (%Q, 1, 1, NULL, 'missing', NULL, 'missing', NULL, 'missing', NULL,"
                " 'missing', 0, NULL, 0, %d)", X7, OLD);
    ref_by_image(X7);
    /* an empty cache-id */
    u_exec(&DB, "INSERT INTO layer VALUES (%Q, 1, 1, %Q, 'ok', NULL, 'missing', NULL, 'empty', 10, 'ok', 1, %Q, 3, %d)",
           X8, D3, X8, OLD);
    ref_by_image(X8);
    run();
    /* X8's content may be in any dir; the empty X7 had none */
    U_EXPECT(&DB, { "layer-metadata-missing", X6, "=diff missing; size missing" },
                  { "layer-metadata-missing", X7, "=empty layer dir" },
                  { "layer-metadata-missing", X8, "=cache-id empty" },
                  { "reference-graph-incomplete", "orphan-checks", "1 reason(s); first: image/overlay2/layerdb/sha256/" X8 ": cache-id is empty" });
    expect_path("layer-metadata-missing", X7, "image/overlay2/layerdb/sha256/" X7);
}

static void test_layer_metadata_invalid(void **state)
{
    (void)state;
    /* cache-id "../../etc": reported, never used as a dir */
    u_exec(&DB, "INSERT INTO layer VALUES (%Q, 1, 1, %Q, 'ok', NULL, 'missing', '../../etc', 'invalid', 10, 'ok', 1, %Q, 3, %d)",
           X1, D3, X1, OLD);
    ref_by_image(X1);
    /* a file where the layer dir should be */
    u_exec(&DB, "INSERT INTO layer VALUES (%Q, 1, 0, NULL, 'missing', NULL, 'missing', NULL, 'missing', NULL, 'missing',"
                " 0, NULL, -1, %d)", X2, OLD);
    /* a dir name that is no chainID */
    u_exec(&DB, "INSERT INTO layer VALUES ('not-a-chain', 0, 1, %Q, 'ok', NULL, 'missing', NULL, 'missing', 10, 'ok', 1,"
                " %Q, -1, %d)", D3, D3, OLD);
    /* an empty parent file */
    u_exec(&DB, "INSERT INTO layer VALUES (%Q, 1, 1, %Q, 'ok', NULL, 'empty', %Q, 'ok', 10, 'ok', 1, NULL, 5, %d)",
           X3, D3, KX3, OLD);
    add_dir(KX3, LX3, NULL);
    ref_by_image(X3);
    /* two problems at once */
    u_exec(&DB, "INSERT INTO layer VALUES (%Q, 1, 1, 'sha256:zz', 'invalid', NULL, 'missing', %Q, 'ok', NULL, 'unreadable',"
                " 1, NULL, 5, %d)", X4, KX4, OLD);
    add_dir(KX4, LX4, NULL);
    ref_by_image(X4);
    /* an unreadable cache-id */
    u_exec(&DB, "INSERT INTO layer VALUES (%Q, 1, 1, %Q, 'ok', NULL, 'missing', 'not a regular file (fifo)', 'unreadable',"
                " 10, 'ok', 1, %Q, 5, %d)", X5, D3, X5, OLD);
    ref_by_image(X5);
    run();
    U_EXPECT(&DB, { "layer-metadata-invalid", X1, "=cache-id invalid: ../../etc" },
                  { "layer-metadata-invalid", X2, "=not a directory" },
                  { "layer-metadata-invalid", "not-a-chain", "=dir name is not a chainID" },
                  { "layer-metadata-invalid", X3, "=parent empty:" },
                  { "layer-metadata-invalid", X4, "=diff invalid: sha256:zz; size unreadable" },
                  { "layer-metadata-invalid", X5, "=cache-id unreadable: not a regular file (fifo)" },
                  /* the cache-ids of X1, X2, not-a-chain and X5, X3's parent, and X3's dir: no lower
                     file under an empty parent file (sql/derive_lower.sql) */
                  { "reference-graph-incomplete", "orphan-checks", "6 reason(s); first: image/overlay2/layerdb/sha256/" X1 ": cache-id is invalid" });
    expect_path("layer-metadata-invalid", X1, "image/overlay2/layerdb/sha256/" X1);
}

static void test_layer_chainid_mismatch(void **state)
{
    (void)state;
    u_exec(&DB, "UPDATE layer SET computed_chain = %Q WHERE chain_id = %Q", DEAD, C2);
    /* a bad dir name is layer-metadata-invalid's, not this check's */
    u_exec(&DB, "INSERT INTO layer VALUES ('not-a-chain', 0, 1, %Q, 'ok', NULL, 'missing', NULL, 'missing', 10, 'ok', 1,"
                " %Q, -1, %d)", D3, D3, OLD);
    run();
    U_EXPECT(&DB, { "layer-chainid-mismatch", C2, "=parent and diff give chainID sha256:" DEAD },
                  { "layer-metadata-invalid", "not-a-chain", "=dir name is not a chainID" },
                  /* and not-a-chain's missing cache-id */
                  { "reference-graph-incomplete", "orphan-checks", "2 reason(s); first: image/overlay2/layerdb/sha256/" C2 ": chainID does not match" });
    expect_path("layer-chainid-mismatch", C2, "image/overlay2/layerdb/sha256/" C2);
}

static void test_layer_parent_missing(void **state)
{
    (void)state;
    add_layer(X9, D3, DEAD, KX9);
    add_dir(KX9, LX9, NULL);
    ref_by_image(X9);
    run();
    /* X9's dir has no lower file either: it was the only claim on the dirs
       below, so no dir is called orphaned (sql/derive_lower.sql) */
    U_EXPECT(&DB, { "layer-parent-missing", X9, "=parent sha256:" DEAD " does not exist" },
                  { "reference-graph-incomplete", "orphan-checks", "=1 reason(s); first: overlay2/" KX9 "/lower: lower file is"
                    " missing and its parent layer sha256:" DEAD " has no layerdb entry: the dirs below it are unknown" });
    expect_path("layer-parent-missing", X9, "image/overlay2/layerdb/sha256/" X9 "/parent");
}

/* The parent layer's metadata is gone but its dir had a parent: the dir's
 * lower file is as it should be; its expected lower is unknown, not "none". */
static void test_layer_parent_missing_lower_not_judged(void **state)
{
    (void)state;
    add_layer(X9, D3, DEAD, KX9);
    add_dir(KX9, LX9, "l/" L2 ":l/" L1);
    ref_by_image(X9);
    run();
    /* no overlay-lower-invalid ("base layer has a lower file") */
    U_EXPECT(&DB, { "layer-parent-missing", X9, "=parent sha256:" DEAD " does not exist" });
}

static void test_layer_cache_id_dangling(void **state)
{
    (void)state;
    add_layer(X10, D3, C1, K9);
    ref_by_image(X10);
    run();
    U_EXPECT(&DB, { "layer-cache-id-dangling", X10, "=overlay2/" K9 " does not exist" });
    expect_path("layer-cache-id-dangling", X10, "image/overlay2/layerdb/sha256/" X10 "/cache-id");
}

static void test_layer_cache_id_shared(void **state)
{
    (void)state;
    /* a second layer on the same parent claims K2 */
    add_layer(X11, D3, C1, K2);
    ref_by_image(X11);
    /* a container's RW layer claims K1 */
    add_container(Y1, IA, "overlay2", "/y1");
    add_mount(Y1, K1, NULL, NULL);
    /* a BuildKit snapshot naming a layer's dir is normal */
    u_exec(&DB, "INSERT INTO buildkit_dir VALUES (%Q, 'committed-snap')", K2);
    run();
    U_EXPECT(&DB, { "layer-cache-id-shared", K2, "layer sha256:" C2 }, { "layer-cache-id-shared", K1, "layer sha256:" C1 });
    expect_col("detail", "layer-cache-id-shared", K1, "claimed by layer sha256:" C1 ", container " Y1);
    assert_int_equal(u_qint(&DB, "SELECT count(*) FROM finding WHERE object = %Q AND detail LIKE '%%layer sha256:' || %Q || '%%'"
                                 " AND detail LIKE 'claimed by %%, %%' AND detail NOT LIKE '%%BuildKit%%'", K2, X11), 1);
    expect_path("layer-cache-id-shared", K2, "overlay2/" K2);
}

static void test_layer_unreferenced(void **state)
{
    (void)state;
    /* U2 on U1: the whole unreferenced tail is reported */
    add_layer(U1, D1, NULL, KU1);
    add_dir(KU1, LU1, NULL);
    add_layer(U2, D2, U1, KU2);
    add_dir(KU2, LU2, "l/" LU1);
    run();
    U_EXPECT(&DB, { "layer-unreferenced", U1, "=only unreferenced layers are built on it (overlay2/" KU1 ")" },
                  { "layer-unreferenced", U2, "=no image, container or BuildKit snapshot uses it (overlay2/" KU2 ")" });
    expect_owned("layer-unreferenced", U1, "overlay2/" KU1 "\noverlay2/l/" LU1);
    expect_owned("layer-unreferenced", U2, "overlay2/" KU2 "\noverlay2/l/" LU2);
    expect_path("layer-unreferenced", U2, "image/overlay2/layerdb/sha256/" U2);
    u_assert_text(&DB, "garbage", "SELECT DISTINCT severity FROM finding");
}

static void test_layer_unreferenced_live_refs(void **state)
{
    (void)state;
    /* live through an image (its child), a mount's parent, BuildKit */
    add_layer(U1, D1, NULL, KU1);
    add_dir(KU1, LU1, NULL);
    add_layer(U2, D2, U1, KU2);
    add_dir(KU2, LU2, "l/" LU1);
    ref_by_image(U2);
    add_layer(X1, D3, NULL, KX1);
    add_dir(KX1, LX1, NULL);
    add_container_with_rw(Y1, MY1, LY1);
    u_exec(&DB, "UPDATE mount SET parent = %Q, parent_state = 'ok' WHERE container_id = %Q", X1, Y1);
    add_layer(X2, D3, NULL, KX2);
    add_dir(KX2, LX2, NULL);
    u_exec(&DB, "INSERT INTO buildkit_layer VALUES (%Q)", X2);
    /* a layer without a cache-id file: reported without a dir */
    add_layer(X3, D3, NULL, NULL);
    u_exec(&DB, "UPDATE layer SET cache_id_state = 'missing' WHERE chain_id = %Q", X3);
    run();
    U_EXPECT(&DB, { "layer-unreferenced", X3, "=no image, container or BuildKit snapshot uses it" },
                  { "layer-metadata-missing", X3, "=cache-id missing" },
                  { "reference-graph-incomplete", "orphan-checks", "1 reason(s); first: image/overlay2/layerdb/sha256/" X3 ": cache-id is missing" });
    expect_owned("layer-unreferenced", X3, NULL);
}

/* Parent files that loop: the walk up the chain ends (each layer is marked
 * once); a loop an image names is live, one nothing names is dead. */
static void test_layer_unreferenced_parent_cycle(void **state)
{
    (void)state;
    add_layer(U1, D1, U2, KU1);
    add_dir(KU1, LU1, NULL);
    add_layer(U2, D2, U1, KU2);
    add_dir(KU2, LU2, NULL);
    add_layer(X1, D1, X2, KX1);
    add_dir(KX1, LX1, NULL);
    add_layer(X2, D2, X1, KX2);
    add_dir(KX2, LX2, NULL);
    ref_by_image(X1);
    run();
    U_EXPECT(&DB, { "layer-unreferenced", U1, "=only unreferenced layers are built on it (overlay2/" KU1 ")" },
                  { "layer-unreferenced", U2, "=only unreferenced layers are built on it (overlay2/" KU2 ")" });
    u_assert_text(&DB, U1 "," U2, "SELECT group_concat(chain_id) FROM (SELECT chain_id FROM layer_dead ORDER BY 1)");
}

/* A child whose cache-id file is missing still is a child: its dead parent
 * "has unreferenced layers built on it" (layer_dead.has_child follows any
 * parent file, not only the children the expected lowers are built from). */
static void test_layer_unreferenced_child_without_cache_id(void **state)
{
    (void)state;
    add_layer(U1, D1, NULL, KU1);
    add_dir(KU1, LU1, NULL);
    add_layer(U2, D2, U1, NULL);
    u_exec(&DB, "UPDATE layer SET cache_id_state = 'missing' WHERE chain_id = %Q", U2);
    run();
    expect_col("detail", "layer-unreferenced", U1, "only unreferenced layers are built on it (overlay2/" KU1 ")");
    expect_col("detail", "layer-unreferenced", U2, "no image, container or BuildKit snapshot uses it");
    u_assert_text(&DB, U1 ":1," U2 ":0",
                  "SELECT group_concat(chain_id || ':' || has_child) FROM (SELECT * FROM layer_dead ORDER BY 1)");
}

/* Nothing is garbage while a reference may have been missed. */
static void unreferenced_base(void)
{
    add_layer(U1, D1, NULL, KU1);
    add_dir(KU1, LU1, NULL);
}

static void test_layer_unreferenced_guard_scan_error(void **state)
{
    (void)state;
    unreferenced_base();
    u_exec(&DB, "INSERT INTO scan_error VALUES ('image/overlay2/imagedb/content/sha256', 'Permission denied')");
    run();
    U_EXPECT(&DB, { "scan-unreadable", "image/overlay2/imagedb/content/sha256", "=Permission denied" },
                  { "reference-graph-incomplete", "orphan-checks", "=1 reason(s); first: image/overlay2/imagedb/content/sha256: could not be read: Permission denied" });
}

static void test_layer_unreferenced_guard_image_unreadable(void **state)
{
    (void)state;
    unreferenced_base();
    u_exec(&DB, "INSERT INTO image VALUES (%Q, 1, 'unreadable', 'unreadable: Input/output error', 0, NULL, 0, %d)", IB, OLD);
    run();
    U_EXPECT(&DB, { "image-config-invalid", IB, "=unreadable: Input/output error" },
                  { "reference-graph-incomplete", "orphan-checks", "1 reason(s); first: image/overlay2/imagedb/content/sha256/" IB ": image config unreadable" });
}

static void test_layer_unreferenced_guard_buildkit_db(void **state)
{
    (void)state;
    unreferenced_base();
    u_exec(&DB, "UPDATE buildkit_db SET state = 'invalid', error = 'bad meta page'");
    run();
    U_EXPECT(&DB, { "buildkit-db-invalid", "snapshots.db", "=bad meta page" },
                  { "reference-graph-incomplete", "orphan-checks", "1 reason(s); first: buildkit/snapshots.db: snapshots.db unreadable" });
}

static void test_layer_unreferenced_guard_bad_parent(void **state)
{
    (void)state;
    unreferenced_base();
    /* a layer whose parent file is malformed: its parent is unknown */
    u_exec(&DB, "INSERT INTO layer VALUES (%Q, 1, 1, %Q, 'ok', 'sha256:zz', 'invalid', %Q, 'ok', 10, 'ok', 1, NULL, 5, %d)",
           X1, D3, KX1, OLD);
    add_dir(KX1, LX1, NULL);
    ref_by_image(X1);
    run();
    U_EXPECT(&DB, { "layer-metadata-invalid", X1, "=parent invalid: sha256:zz" },
                  /* and X1's dir, without a lower file under a malformed parent file */
                  { "reference-graph-incomplete", "orphan-checks", "2 reason(s); first: image/overlay2/layerdb/sha256/" X1 ": parent file is invalid" });
    /* the second reason names the parent file's state, as for a container */
    u_assert_text(&DB, "lower file is missing and its layer's parent file is invalid: the dirs below it are unknown",
                  "SELECT why FROM lower_unknown WHERE dir = '" KX1 "'");
    /* a chainID that does not match: the graph is not what it seems */
    u_exec(&DB, "DELETE FROM finding; UPDATE layer SET parent = NULL, parent_state = 'missing', computed_chain = %Q"
                " WHERE chain_id = %Q", DEAD, X1);
    run();
    U_EXPECT(&DB, { "layer-chainid-mismatch", X1, "=parent and diff give chainID sha256:" DEAD },
                  { "reference-graph-incomplete", "orphan-checks", "1 reason(s); first: image/overlay2/layerdb/sha256/" X1 ": chainID does not match" });
}

/* A container's mount whose parent file cannot be read still pins its
 * image's layers: which ones is unknown, so none may be called garbage. */
static void test_layer_unreferenced_guard_mount_parent(void **state)
{
    (void)state;
    /* the container's image was removed (docker rmi -f): only the mount
     * references the layers U1 */
    unreferenced_base();
    add_container_with_rw(Y1, MY1, LY1);
    u_exec(&DB, "UPDATE mount SET parent = 'not a regular file (fifo)', parent_state = 'unreadable' WHERE container_id = %Q", Y1);
    run();
    /* no layer-unreferenced for U1 */
    U_EXPECT(&DB, { "mount-parent-missing", Y1, "=parent file is unreadable" },
                  /* and the container's RW dir, without a lower file */
                  { "reference-graph-incomplete", "orphan-checks", "=2 reason(s); first: image/overlay2/layerdb/mounts/" Y1
                    ": parent file is unreadable: the container's layers are unknown" });
    /* the same for a malformed or empty parent file */
    u_exec(&DB, "DELETE FROM finding; UPDATE mount SET parent = 'sha256:zz', parent_state = 'invalid' WHERE container_id = %Q", Y1);
    run();
    U_EXPECT(&DB, { "mount-parent-missing", Y1, "=parent file is invalid" },
                  { "reference-graph-incomplete", "orphan-checks", "2 reason(s); first: image/overlay2/layerdb/mounts/" Y1 ": parent file is invalid" });
    u_exec(&DB, "DELETE FROM finding; UPDATE mount SET parent = '', parent_state = 'empty' WHERE container_id = %Q", Y1);
    run();
    U_EXPECT(&DB, { "mount-parent-missing", Y1, "=parent file is empty" },
                  { "reference-graph-incomplete", "orphan-checks", "2 reason(s); first: image/overlay2/layerdb/mounts/" Y1 ": parent file is empty" });
    /* and U1 is garbage again once the parent file is right (or gone) */
    u_exec(&DB, "DELETE FROM finding; UPDATE mount SET parent = NULL, parent_state = 'missing' WHERE container_id = %Q", Y1);
    run();
    U_EXPECT(&DB, { "layer-unreferenced", U1, NULL });
}

static void test_layerdb_leftovers(void **state)
{
    (void)state;
    u_exec(&DB, "INSERT INTO layer_removing VALUES (%Q || '-abc-removing', %Q, %d)", C3, K9, OLD);
    u_exec(&DB, "INSERT INTO layer_removing VALUES (%Q || '-def-removing', NULL, %d)", X1, OLD);
    u_exec(&DB, "INSERT INTO layerdb_tmp VALUES ('write-set-123', %Q, %d)", K9, OLD);
    u_exec(&DB, "INSERT INTO layerdb_tmp VALUES ('write-set-456', NULL, %d)", OLD);
    run();
    U_EXPECT(&DB, { "layerdb-removing-leftover", C3 "-abc-removing", "=unfinished layer deletion (cache-id " K9 ")" },
                  { "layerdb-removing-leftover", X1 "-def-removing", "=unfinished layer deletion" },
                  { "layerdb-tmp-leftover", "write-set-123", "=unfinished layer registration (cache-id " K9 ")" },
                  { "layerdb-tmp-leftover", "write-set-456", "=unfinished layer registration" });
    expect_path("layerdb-removing-leftover", X1 "-def-removing", "image/overlay2/layerdb/sha256/" X1 "-def-removing");
    expect_path("layerdb-tmp-leftover", "write-set-456", "image/overlay2/layerdb/tmp/write-set-456");
    u_assert_text(&DB, "garbage", "SELECT DISTINCT severity FROM finding");
}

/* ---- mounts and containers -------------------------------------------------------------------- */

static void test_mount_container_missing(void **state)
{
    (void)state;
    u_exec(&DB, "DELETE FROM container");
    run();
    U_EXPECT(&DB, { "mount-container-missing", CID, "=no container " CID " (RW layer overlay2/" M ")" });
    expect_owned("mount-container-missing", CID, "overlay2/" M "\noverlay2/l/" L4 "\noverlay2/" M "-init\noverlay2/l/" L3);
    expect_path("mount-container-missing", CID, "image/overlay2/layerdb/mounts/" CID);
    /* not while part of the store is unread */
    u_exec(&DB, "DELETE FROM finding; INSERT INTO scan_error VALUES ('containers', 'Permission denied')");
    run();
    U_EXPECT(&DB, { "scan-unreadable", "containers", "=Permission denied" },
                  { "reference-graph-incomplete", "orphan-checks", "1 reason(s); first: containers: could not be read" });
}

/* Image mounts of Docker 28: layerdb/mounts/<container>-<ref> (nested at
 * each '/'), mount-id and parent, no init-id; a mount row (name_ok 0) and
 * an image_mount row each. */
#define MI "3334000000000000000000000000000000000000000000000000000000000000"
#define LI "QQQQQQQQQQQQQQQQQQQQQQQQBA"
#define IMP CID "-o2t/app:1"

static void add_image_mount(void)
{
    u_exec(&DB, "INSERT INTO mount(container_id, name_ok, mount_id, mount_id_state, init_id, init_id_state, parent,"
                " parent_state, mtime) VALUES (%Q, 0, %Q, 'ok', NULL, 'missing', %Q, 'ok', %d)", IMP, MI, C2, OLD);
    u_exec(&DB, "INSERT INTO image_mount(path, container_id, ref) VALUES (%Q, %Q, 'o2t/app:1')", IMP, CID);
    add_dir(MI, LI, "l/" L2 ":l/" L1);
}

static void test_image_mount(void **state)
{
    (void)state;
    add_image_mount();
    run();
    U_EXPECT_NONE(&DB);   /* its dir is claimed, no init-id is fine, the path is no container id */
    /* the container is gone (docker rm of 28.5 leaves image mounts behind) */
    u_exec(&DB, "DELETE FROM finding; DELETE FROM container");
    run();
    U_EXPECT(&DB, { "mount-container-missing", CID, NULL },
                  { "image-mount-container-missing", IMP,
                    "=no container " CID " (image mount of o2t/app:1, RW layer overlay2/" MI ")" });
    expect_path("image-mount-container-missing", IMP, "image/overlay2/layerdb/mounts/" IMP);
    expect_owned("image-mount-container-missing", IMP, "overlay2/" MI "\noverlay2/l/" LI);
    u_assert_text(&DB, "garbage", "SELECT severity FROM finding WHERE check_name = 'image-mount-container-missing'");
    /* its RW dir gone too: still garbage, owning nothing */
    u_exec(&DB, "DELETE FROM finding; DELETE FROM overlay_dir WHERE name = %Q; DELETE FROM link WHERE name = %Q", MI, LI);
    run();
    U_EXPECT(&DB, { "mount-container-missing", CID, NULL },
                  { "image-mount-container-missing", IMP, NULL },
                  { "mount-id-dangling", IMP, "=mount-id names overlay2/" MI ", which does not exist" });
    expect_owned("image-mount-container-missing", IMP, NULL);
    /* not while part of the store is unread */
    u_exec(&DB, "DELETE FROM finding; INSERT INTO scan_error VALUES ('containers', 'Permission denied')");
    run();
    U_EXPECT(&DB, { "scan-unreadable", "containers", NULL }, { "mount-id-dangling", IMP, NULL },
                  { "reference-graph-incomplete", "orphan-checks", NULL });
}

static void test_overlay_tmp_leftover(void **state)
{
    (void)state;
    u_exec(&DB, "INSERT INTO overlay_tmp VALUES (%Q, '.tmp-lower123', 'file', 12, %d)", K2, OLD);
    u_exec(&DB, "INSERT INTO overlay_tmp VALUES (%Q, '.tmp-link9', 'file', 26, %d)", M, OLD);
    u_exec(&DB, "INSERT INTO overlay_tmp VALUES (%Q, '.tmp-committed77', 'file', 0, %d)", BK, OLD);
    u_exec(&DB, "INSERT INTO overlay_tmp VALUES ('l', '.tmp-" L5 "1', 'symlink', 20, %d)", OLD);
    /* not reported: a dir (never made by the writer), a file in a dir that
     * nothing claims (it goes with the dir) */
    u_exec(&DB, "INSERT INTO overlay_tmp VALUES (%Q, '.tmp-x', 'dir', 4096, %d)", K1, OLD);
    add_dir(O1, LZ, NULL);
    u_exec(&DB, "INSERT INTO overlay_tmp VALUES (%Q, '.tmp-link5', 'file', 26, %d)", O1, OLD);
    run();
    U_EXPECT(&DB, { "overlay-tmp-leftover", K2 "/.tmp-lower123",
                    "=leftover of an interrupted write of overlay2/" K2 "/lower (file, 12 bytes)" },
                  { "overlay-tmp-leftover", M "/.tmp-link9", "=leftover of an interrupted write of overlay2/" M "/link (file, 26 bytes)" },
                  { "overlay-tmp-leftover", BK "/.tmp-committed77", "/committed (file, 0 bytes)" },
                  { "overlay-tmp-leftover", "l/.tmp-" L5 "1", "=leftover of an interrupted write in overlay2/l/ (symlink, 20 bytes)" },
                  { "overlay-dir-orphaned", O1, NULL });
    expect_path("overlay-tmp-leftover", K2 "/.tmp-lower123", "overlay2/" K2 "/.tmp-lower123");
    expect_path("overlay-tmp-leftover", "l/.tmp-" L5 "1", "overlay2/l/.tmp-" L5 "1");
    u_assert_text(&DB, "garbage", "SELECT DISTINCT severity FROM finding");
}

static void test_mount_id_dangling(void **state)
{
    (void)state;
    add_container(Y1, IA, "overlay2", "/y1");
    add_mount(Y1, NULL, NULL, NULL);
    add_container(Y2, IA, "overlay2", "/y2");
    add_mount(Y2, K9, NULL, NULL);
    add_container(Y3, IA, "overlay2", "/y3");
    add_mount(Y3, MY3, NULL, NULL);
    u_exec(&DB, "UPDATE mount SET init_id = 'xyz', init_id_state = 'invalid' WHERE container_id = %Q", Y3);
    add_dir(MY3, LY3, NULL);
    add_container(Y4, IA, "overlay2", "/y4");
    add_mount(Y4, MY4, MY4 "-init", NULL);
    add_dir(MY4, LY4, NULL);
    add_container_with_rw(Y5, MY5, LY5);   /* no init-id: clean */
    run();
    U_EXPECT(&DB, { "mount-id-dangling", Y1, "=mount-id file is missing" },
                  { "mount-id-dangling", Y2, "=mount-id names overlay2/" K9 ", which does not exist" },
                  { "mount-id-dangling", Y3, "=init-id file is invalid" },
                  { "mount-id-dangling", Y4, "=init-id names overlay2/" MY4 "-init, which does not exist" },
                  /* Y1's dirs are unknown (Y3's -init dir is still claimed through its mount-id) */
                  { "reference-graph-incomplete", "orphan-checks", "1 reason(s); first: image/overlay2/layerdb/mounts/" Y1 ": neither mount-id nor init-id" });
    expect_path("mount-id-dangling", Y2, "image/overlay2/layerdb/mounts/" Y2);
}

static void test_mount_parent_missing(void **state)
{
    (void)state;
    add_container_with_rw(Y6, MY6, LY6);
    u_exec(&DB, "UPDATE mount SET parent = %Q, parent_state = 'ok' WHERE container_id = %Q", DEAD, Y6);
    add_container_with_rw(Y5, MY5, LY5);
    u_exec(&DB, "UPDATE mount SET parent = 'sha256:nope', parent_state = 'invalid' WHERE container_id = %Q", Y5);
    run();
    U_EXPECT(&DB, { "mount-parent-missing", Y6, "=parent sha256:" DEAD " does not exist" },
                  { "mount-parent-missing", Y5, "=parent file is invalid" },
                  /* and the RW dirs of Y5 and Y6, without lower files on a lost parent */
                  { "reference-graph-incomplete", "orphan-checks", "3 reason(s); first: image/overlay2/layerdb/mounts/" Y5 ": parent file is invalid" });
    expect_path("mount-parent-missing", Y6, "image/overlay2/layerdb/mounts/" Y6 "/parent");
}

/* The healthy container's image layer vanished: its -init dir's lower file
 * is still right; the expected lower is unknown, not "none". */
static void test_mount_parent_missing_lower_not_judged(void **state)
{
    (void)state;
    u_exec(&DB, "UPDATE mount SET parent = %Q WHERE container_id = %Q", DEAD, CID);
    run();
    /* no overlay-lower-invalid ("base layer has a lower file") */
    U_EXPECT(&DB, { "mount-parent-missing", CID, "=parent sha256:" DEAD " does not exist" });
}

static void test_container_checks(void **state)
{
    (void)state;
    /* no mount entry: garbage for the overlay2 driver only */
    add_container(Y1, IA, "overlay2", "/lost");
    add_container(Y2, IA, "vfs", "/other-driver");
    u_exec(&DB, "INSERT INTO container VALUES (%Q, 0, 'ok', %Q, 'overlay2', '/badname', 0, 0, %d)", "not-an-id", IA, OLD);
    /* config.v2.json states */
    u_exec(&DB, "INSERT INTO container VALUES (%Q, 1, 'invalid', NULL, NULL, NULL, 0, 0, %d)", Y3, OLD);
    u_exec(&DB, "INSERT INTO container VALUES (%Q, 1, 'missing', NULL, NULL, NULL, 0, 0, %d)", Y4, OLD);
    /* the image is gone */
    u_exec(&DB, "UPDATE container SET image = %Q WHERE id = %Q", DEAD, CID);
    run();
    U_EXPECT(&DB, { "container-mount-missing", Y1, "=container /lost has no layerdb/mounts entry" },
                  { "container-config-invalid", Y3, "=config.v2.json is invalid" },
                  { "container-config-invalid", Y4, "=config.v2.json is missing" },
                  { "container-image-missing", CID, "=image sha256:" DEAD " does not exist" });
    expect_path("container-mount-missing", Y1, "containers/" Y1);
    expect_path("container-config-invalid", Y3, "containers/" Y3 "/config.v2.json");
    expect_path("container-image-missing", CID, "containers/" CID "/config.v2.json");
    u_assert_text(&DB, "warning", "SELECT severity FROM finding WHERE check_name = 'container-image-missing'");
    u_assert_text(&DB, "garbage", "SELECT severity FROM finding WHERE check_name = 'container-mount-missing'");
    /* container-mount-missing waits while part of the store is unread */
    u_exec(&DB, "DELETE FROM finding; INSERT INTO scan_error VALUES ('image/overlay2/layerdb/mounts', 'Permission denied')");
    run();
    assert_int_equal(u_qint(&DB, "SELECT count(*) FROM finding WHERE check_name = 'container-mount-missing'"), 0);
    assert_int_equal(u_qint(&DB, "SELECT count(*) FROM finding WHERE check_name = 'scan-unreadable'"), 1);
}

/* Issue 20: docker rm killed part way. Dead (MY1: the mount-id file went
 * first; the -init dir is left) and RemovalInProgress (MY2: the RW dir is
 * gone) are garbage that owns what is left; the same damage on a container
 * that was not being removed (MY3) stays the error mount-id-dangling. */
static void test_container_removal_leftover(void **state)
{
    (void)state;
    add_container(Y1, IA, "overlay2", "/dying");
    u_exec(&DB, "UPDATE container SET dead = 1 WHERE id = %Q", Y1);
    add_mount(Y1, NULL, MY1 "-init", C2);
    add_dir(MY1 "-init", LY1, "l/" L2 ":l/" L1);
    add_container(Y2, IA, "overlay2", "/going");
    u_exec(&DB, "UPDATE container SET removing = 1 WHERE id = %Q", Y2);
    add_mount(Y2, MY2, NULL, C2);
    add_container(Y3, IA, "overlay2", "/alive");
    add_mount(Y3, NULL, MY3 "-init", C2);
    add_dir(MY3 "-init", LY3, "l/" L2 ":l/" L1);
    run();
    U_EXPECT(&DB,
             { "container-removal-leftover", Y1,
               "=container /dying was being removed (Dead); its mount-id file is missing: dockerd will not load it" },
             { "container-removal-leftover", Y2,
               "=container /going was being removed (RemovalInProgress); its RW dir overlay2/" MY2
               " is gone: dockerd will not load it" },
             { "mount-id-dangling", Y3, "=mount-id file is missing" });
    expect_path("container-removal-leftover", Y1, "containers/" Y1);
    u_assert_text(&DB, "image/overlay2/layerdb/mounts/" Y1 "\noverlay2/" MY1 "-init\noverlay2/l/" LY1,
                  "SELECT owned FROM finding WHERE check_name = 'container-removal-leftover' AND object = '" Y1 "'");
    u_assert_text(&DB, "image/overlay2/layerdb/mounts/" Y2,
                  "SELECT owned FROM finding WHERE check_name = 'container-removal-leftover' AND object = '" Y2 "'");
    u_assert_text(&DB, "garbage", "SELECT DISTINCT severity FROM finding WHERE check_name = 'container-removal-leftover'");
    /* killed while docker rm deleted the RW dir file by file: link, lower and
     * work gone, part of diff/ left (MY4, Dead); the same dir of a container
     * that was not being removed (MY5) is the overlay errors */
    add_container(Y5, IA, "overlay2", "/half");
    u_exec(&DB, "UPDATE container SET dead = 1 WHERE id = %Q", Y5);
    add_mount(Y5, MY4, MY4 "-init", C2);
    add_dir(MY4 "-init", LY4, "l/" L2 ":l/" L1);
    add_dir_ex(MY4, NULL, NULL, false);
    add_container(Y6, IA, "overlay2", "/alive2");
    add_mount(Y6, MY5, MY5 "-init", C2);
    add_dir(MY5 "-init", LY2, "l/" L2 ":l/" L1);
    add_dir_ex(MY5, NULL, NULL, false);
    u_exec(&DB, "DELETE FROM finding");
    run();
    U_EXPECT(&DB,
             { "container-removal-leftover", Y1,
               "=container /dying was being removed (Dead); its mount-id file is missing: dockerd will not load it" },
             { "container-removal-leftover", Y2,
               "=container /going was being removed (RemovalInProgress); its RW dir overlay2/" MY2
               " is gone: dockerd will not load it" },
             { "container-removal-leftover", Y5,
               "=container /half was being removed (Dead); its RW dir overlay2/" MY4
               " is half deleted: dockerd will not load it" },
             { "mount-id-dangling", Y3, "=mount-id file is missing" },
             { "overlay-link-missing", MY5, "=link file is missing" },
             { "overlay-lower-invalid", MY5, NULL });
    u_assert_text(&DB, "image/overlay2/layerdb/mounts/" Y5 "\noverlay2/" MY4 "\noverlay2/" MY4 "-init\noverlay2/l/" LY4,
                  "SELECT owned FROM finding WHERE check_name = 'container-removal-leftover' AND object = '" Y5 "'");
    u_exec(&DB, "DELETE FROM container WHERE id IN (%Q, %Q); DELETE FROM mount WHERE container_id IN (%Q, %Q);"
                "DELETE FROM overlay_dir WHERE name IN (%Q, %Q, %Q, %Q); DELETE FROM link WHERE name IN (%Q, %Q)",
           Y5, Y6, Y5, Y6, MY4, MY4 "-init", MY5, MY5 "-init", LY4, LY2);
    /* a healthy Dead container (docker rm works on it) is no finding */
    u_exec(&DB, "DELETE FROM finding; UPDATE container SET dead = 1 WHERE id = %Q", CID);
    run();
    assert_int_equal(u_qint(&DB, "SELECT count(*) FROM finding WHERE object = '" CID "'"), 0);
    /* nothing is called garbage while part of the store is unread */
    u_exec(&DB, "DELETE FROM finding; INSERT INTO scan_error VALUES ('containers', 'Permission denied')");
    run();
    assert_int_equal(u_qint(&DB, "SELECT count(*) FROM finding WHERE check_name = 'container-removal-leftover'"), 0);
    assert_int_equal(u_qint(&DB, "SELECT count(*) FROM finding WHERE check_name = 'mount-id-dangling'"), 3);
}

/* Issue 20: what a killed load or build left in ROOT/tmp, and tmp-old. */
static void test_root_tmp_leftover(void **state)
{
    (void)state;
    u_exec(&DB, "INSERT INTO root_tmp(dir, name, type, mtime) VALUES"
                " ('tmp', 'docker-import-123', 'dir', %d), ('tmp', 'docker-builder456', 'dir', %d),"
                " ('tmp', 'buildkit-mount789', 'dir', %d), ('tmp', 'docker-tarsplit-1', 'file', %d),"
                " ('tmp', 'other', 'symlink', %d), ('', 'tmp-old', 'dir', %d)", OLD, OLD, OLD, OLD, OLD, OLD);
    run();
    U_EXPECT(&DB, { "root-tmp-leftover", "tmp/docker-import-123", "=archive of an interrupted docker load or import" },
                  { "root-tmp-leftover", "tmp/docker-builder456", "=context of an interrupted classic build" },
                  { "root-tmp-leftover", "tmp/buildkit-mount789", "=mount of an interrupted BuildKit build" },
                  { "root-tmp-leftover", "tmp/docker-tarsplit-1",
                    "=tar-split scratch of an interrupted layer registration" },
                  { "root-tmp-leftover", "tmp/other",
                    "=left in dockerd's temp dir (symlink), which dockerd empties when it starts" },
                  { "root-tmp-leftover", "tmp-old",
                    "=the tmp dir of an earlier dockerd, renamed aside at its start and never deleted" });
    expect_path("root-tmp-leftover", "tmp-old", "tmp-old");
    expect_path("root-tmp-leftover", "tmp/other", "tmp/other");
}

/* ---- overlay2 ------------------------------------------------------------------------------------ */

static void test_overlay_diff_missing(void **state)
{
    (void)state;
    u_exec(&DB, "UPDATE overlay_dir SET has_diff = 0, diff_kind = NULL WHERE name = %Q", K1);
    u_exec(&DB, "UPDATE overlay_dir SET has_diff = 0, diff_kind = 'symlink' WHERE name = %Q", K2);
    /* an unreferenced dir without diff/ is only orphaned */
    u_exec(&DB, "INSERT INTO overlay_dir VALUES (%Q, 'layer', 0, NULL, NULL, 'missing', NULL, 'missing', 0, 0, 0, %d)", O1, OLD);
    run();
    U_EXPECT(&DB, { "overlay-diff-missing", K1, "=diff/ does not exist" },
                  { "overlay-diff-missing", K2, "=diff is a symlink, not a directory" },
                  { "overlay-dir-orphaned", O1, "=no layer or container references it" });
    expect_path("overlay-diff-missing", K1, "overlay2/" K1 "/diff");
}

static void orphans(void)
{
    add_dir(O1, LO1, NULL);
    add_dir(O2 "-init", LO2, NULL);
    add_dir(BK2, NULL, NULL);
    add_dir_ex(O3, LZZ, NULL, false);   /* its l/ link is gone */
}

static void test_overlay_dir_orphaned(void **state)
{
    (void)state;
    orphans();
    run();
    U_EXPECT(&DB, { "overlay-dir-orphaned", O1, "=no layer or container references it" },
                  { "overlay-dir-orphaned", O2 "-init", "=container init dir nothing references" },
                  { "overlay-dir-orphaned", BK2, "=BuildKit dir that snapshots.db does not reference" },
                  { "overlay-dir-orphaned", O3, "=no layer or container references it" });
    expect_owned("overlay-dir-orphaned", O1, "overlay2/l/" LO1);
    expect_owned("overlay-dir-orphaned", O2 "-init", "overlay2/l/" LO2);
    expect_owned("overlay-dir-orphaned", BK2, NULL);
    expect_owned("overlay-dir-orphaned", O3, NULL);
    expect_path("overlay-dir-orphaned", O1, "overlay2/" O1);
    u_assert_text(&DB, "garbage", "SELECT DISTINCT severity FROM finding");
}

static void test_overlay_dir_orphaned_guards(void **state)
{
    (void)state;
    orphans();
    /* scan errors */
    u_exec(&DB, "INSERT INTO scan_error VALUES ('overlay2/x', 'Input/output error')");
    run();
    U_EXPECT(&DB, { "scan-unreadable", "overlay2/x", "=Input/output error" },
                  { "reference-graph-incomplete", "orphan-checks", "1 reason(s); first: overlay2/x: could not be read" });
    u_exec(&DB, "DELETE FROM finding; DELETE FROM scan_error");
    /* an unreadable cache-id */
    u_exec(&DB, "INSERT INTO layer VALUES (%Q, 1, 1, %Q, 'ok', NULL, 'missing', 'not a regular file (fifo)', 'unreadable',"
                " 10, 'ok', 1, %Q, 5, %d)", X5, D3, X5, OLD);
    ref_by_image(X5);
    run();
    U_EXPECT(&DB, { "layer-metadata-invalid", X5, "=cache-id unreadable: not a regular file (fifo)" },
                  { "reference-graph-incomplete", "orphan-checks", "1 reason(s); first: image/overlay2/layerdb/sha256/" X5 ": cache-id is unreadable" });
    u_exec(&DB, "DELETE FROM finding; DELETE FROM layer WHERE chain_id = %Q; DELETE FROM image_layer WHERE chain_id = %Q", X5, X5);
    /* an unreadable mount-id, then init-id */
    add_container(Y1, IA, "overlay2", "/y1");
    u_exec(&DB, "INSERT INTO mount VALUES (%Q, 1, 'too large (70000 bytes)', 'unreadable', NULL, 'missing', NULL, 'missing', %d)", Y1, OLD);
    run();
    U_EXPECT(&DB, { "mount-id-dangling", Y1, "=mount-id file is unreadable" },
                  { "reference-graph-incomplete", "orphan-checks", "1 reason(s); first: image/overlay2/layerdb/mounts/" Y1 ": neither mount-id nor init-id" });
    u_exec(&DB, "DELETE FROM finding; UPDATE mount SET mount_id = %Q, mount_id_state = 'ok', init_id = 'x',"
                " init_id_state = 'unreadable' WHERE container_id = %Q", MY1, Y1);
    add_dir(MY1, LY1, NULL);
    run();
    /* (reference-graph-incomplete names no reason for an unreadable init-id
     * next to a good mount-id, so it stays silent here too) */
    U_EXPECT(&DB, { "mount-id-dangling", Y1, "=init-id file is unreadable" });
    u_exec(&DB, "DELETE FROM finding; UPDATE mount SET init_id = NULL, init_id_state = 'missing' WHERE container_id = %Q", Y1);
    /* snapshots.db unreadable: BuildKit dirs only */
    u_exec(&DB, "UPDATE buildkit_db SET state = 'invalid', error = 'truncated'");
    run();
    U_EXPECT(&DB, { "buildkit-db-invalid", "snapshots.db", "=truncated" },
                  { "reference-graph-incomplete", "orphan-checks", "1 reason(s); first: buildkit/snapshots.db: snapshots.db unreadable" },
                  { "overlay-dir-orphaned", O1, NULL },
                  { "overlay-dir-orphaned", O2 "-init", NULL },
                  { "overlay-dir-orphaned", O3, NULL });
}

/* A cache-id that is there but unusable (NUL bytes after a crash, truncated
 * to nothing) hides which dir it claimed just as much as an unreadable one:
 * no dir it could have named may be called orphaned meanwhile. A cache-id
 * names a layer dir, or a BuildKit dir (moby's BuildKit snapshotter
 * registers its dirs as layers by graph ID; valid_cache_id accepts both),
 * never a container's -init dir. */
/* a cache-id file of 16 NUL bytes: the scanner keeps it as 16 '?' (escaped:
 * "??" starts a trigraph in ISO C) */
#define NULS16 "\?\?\?\?\?\?\?\?\?\?\?\?\?\?\?\?"

static void invalid_cache_id(void)
{
    u_exec(&DB, "INSERT INTO layer VALUES (%Q, 1, 1, %Q, 'ok', NULL, 'missing', %Q, 'invalid',"
                " 10, 'ok', 1, %Q, 5, %d)", X5, D3, NULS16, X5, OLD);
    ref_by_image(X5);
}

#define INVALID_CACHE_ID_FINDINGS                                                                          \
    { "layer-metadata-invalid", X5, "=cache-id invalid: " NULS16 },                                        \
    { "reference-graph-incomplete", "orphan-checks",                                                       \
      "=1 reason(s); first: image/overlay2/layerdb/sha256/" X5                                              \
      ": cache-id is invalid: the layer's content may sit in any overlay2 dir" }

static void test_overlay_dir_orphaned_guard_invalid_ids(void **state)
{
    (void)state;
    orphans();
    u_exec(&DB, "DELETE FROM overlay_dir WHERE name = %Q", BK2);   /* see the next test */
    invalid_cache_id();
    run();
    /* not O1 and O3 (layer dirs); O2-init is no layer's */
    U_EXPECT(&DB, INVALID_CACHE_ID_FINDINGS,
                  { "overlay-dir-orphaned", O2 "-init", "=container init dir nothing references" });
    /* an empty cache-id file, the same */
    u_exec(&DB, "DELETE FROM finding; UPDATE layer SET cache_id = NULL, cache_id_state = 'empty' WHERE chain_id = %Q", X5);
    run();
    U_EXPECT(&DB, { "layer-metadata-missing", X5, "=cache-id empty" },
                  { "reference-graph-incomplete", "orphan-checks",
                    "=1 reason(s); first: image/overlay2/layerdb/sha256/" X5
                    ": cache-id is empty: the layer's content may sit in any overlay2 dir" },
                  { "overlay-dir-orphaned", O2 "-init", "=container init dir nothing references" });
    /* an empty layer dir claimed nothing: the orphans are reported */
    u_exec(&DB, "DELETE FROM finding; UPDATE layer SET diff = NULL, diff_state = 'missing', size = NULL,"
                " size_state = 'missing', has_tarsplit = 0, computed_chain = NULL, cache_id_state = 'missing',"
                " entries = 0 WHERE chain_id = %Q", X5);
    run();
    U_EXPECT(&DB, { "layer-metadata-missing", X5, "=empty layer dir" },
                  { "overlay-dir-orphaned", O1, NULL },
                  { "overlay-dir-orphaned", O2 "-init", NULL },
                  { "overlay-dir-orphaned", O3, NULL });
}

/* The same for a BuildKit dir that snapshots.db does not name: after
 * `docker builder prune` only a layer's cache-id may still claim it. */
static void test_overlay_dir_orphaned_guard_invalid_ids_buildkit(void **state)
{
    (void)state;
    add_dir(BK2, NULL, NULL);
    invalid_cache_id();
    run();
    U_EXPECT(&DB, INVALID_CACHE_ID_FINDINGS);
}

static void test_overlay_link_missing(void **state)
{
    (void)state;
    u_exec(&DB, "UPDATE overlay_dir SET link = NULL, link_state = 'missing' WHERE name = %Q", K1);
    u_exec(&DB, "UPDATE overlay_dir SET link = NULL, link_state = 'empty' WHERE name = %Q", BK);
    /* a link file naming an l/ entry that is not there */
    add_layer(X12, D3, NULL, KX12);
    add_dir_ex(KX12, LX12, NULL, false);
    ref_by_image(X12);
    run();
    U_EXPECT(&DB, { "overlay-link-missing", K1, "=link file is missing" },
                  { "overlay-link-missing", BK, "=link file is empty" },
                  { "overlay-link-missing", KX12, "=l/" LX12 " does not exist" });
    expect_path("overlay-link-missing", K1, "overlay2/" K1 "/link");
    expect_path("overlay-link-missing", KX12, "overlay2/l/" LX12);
    /* the l/ entry is a regular file */
    u_exec(&DB, "DELETE FROM finding; INSERT INTO link VALUES (%Q, 'file', NULL, NULL, %d)", LX12, OLD);
    run();
    U_EXPECT(&DB, { "overlay-link-missing", K1, NULL }, { "overlay-link-missing", BK, NULL },
                  { "overlay-link-missing", KX12, "=l/" LX12 " is a file, not a symlink" },
                  { "overlay-stray-entry", LX12, "=unexpected file in overlay2/l/ (not a symlink)" });
}

static void test_overlay_link_invalid(void **state)
{
    (void)state;
    u_exec(&DB, "UPDATE overlay_dir SET link = 'abc', link_state = 'invalid' WHERE name = %Q", K1);
    u_exec(&DB, "UPDATE overlay_dir SET link = 'not a regular file (fifo)', link_state = 'unreadable' WHERE name = %Q", BK);
    /* an unreferenced dir with a bad link is only orphaned */
    add_dir(O1, NULL, NULL);
    u_exec(&DB, "UPDATE overlay_dir SET link = 'abc', link_state = 'invalid' WHERE name = %Q", O1);
    run();
    U_EXPECT(&DB, { "overlay-link-invalid", K1, "=link file is invalid: abc" },
                  { "overlay-link-invalid", BK, "=link file is unreadable: not a regular file (fifo)" },
                  { "overlay-dir-orphaned", O1, NULL });
    expect_path("overlay-link-invalid", K1, "overlay2/" K1 "/link");
}

static void test_overlay_link_broken(void **state)
{
    (void)state;
    u_exec(&DB, "INSERT INTO link VALUES (%Q, 'symlink', '../' || %Q || '/diff', %Q, %d)", LB1, K9, K9, OLD);
    u_exec(&DB, "INSERT INTO link VALUES (%Q, 'symlink', '/etc', NULL, %d)", LB2, OLD);
    run();
    U_EXPECT(&DB, { "overlay-link-broken", LB1, "=points to ../" K9 "/diff, which does not exist" },
                  { "overlay-link-broken", LB2, "=points to \"/etc\", not ../<id>/diff" });
    expect_path("overlay-link-broken", LB2, "overlay2/l/" LB2);
    u_assert_text(&DB, "garbage", "SELECT DISTINCT severity FROM finding");
    /* not while part of the store is unread */
    u_exec(&DB, "DELETE FROM finding; INSERT INTO scan_error VALUES ('overlay2', 'Input/output error')");
    run();
    U_EXPECT(&DB, { "scan-unreadable", "overlay2", NULL },
                  { "reference-graph-incomplete", "orphan-checks", "1 reason(s); first: overlay2: could not be read" });
}

static void test_overlay_link_mismatch(void **state)
{
    (void)state;
    u_exec(&DB, "UPDATE link SET target = '../' || %Q || '/diff', target_dir = %Q WHERE name = %Q", K2, K2, L1);
    run();
    U_EXPECT(&DB, { "overlay-link-mismatch", L1, "=points to overlay2/" K2 ", whose link file says " L2 });
    expect_path("overlay-link-mismatch", L1, "overlay2/l/" L1);
}

static void test_overlay_lower_invalid(void **state)
{
    (void)state;
    /* the RW dir's lower skips its -init dir */
    set_lower(M, "l/" L2 ":l/" L1, "ok");
    /* a base layer with a lower file */
    add_layer(X12, D3, NULL, KX12);
    add_dir(KX12, LX12, "l/" L5);
    ref_by_image(X12);
    run();
    U_EXPECT(&DB, { "overlay-lower-invalid", M, "=does not match the parent chain; expected l/" L3 ":l/" L2 ":l/" L1 },
                  { "overlay-lower-invalid", KX12, "=base layer has a lower file" });
    expect_path("overlay-lower-invalid", M, "overlay2/" M "/lower");
}

static void test_overlay_lower_invalid_states(void **state)
{
    (void)state;
    set_lower(M, NULL, "missing");
    add_container_with_rw(Y1, MY1, LY1);
    set_lower(MY1, NULL, "empty");
    add_container_with_rw(Y2, MY2, LY2);
    set_lower(MY2, "l/" L3 ":garbage", "invalid");
    add_container_with_rw(Y3, MY3, LY3);
    set_lower(MY3, "l/" L1 ":l/" LZZ, "ok");   /* LZZ: no such l/ entry */
    /* an unreferenced dir with a bad lower is only orphaned, but not while
     * the empty and the invalid lower file of live dirs hide what they name */
    add_dir(O1, LO1, NULL);
    set_lower(O1, "", "empty");
    run();
    U_EXPECT(&DB, { "overlay-lower-invalid", M, "=lower file is missing; expected l/" L3 ":l/" L2 ":l/" L1 },
                  { "overlay-lower-invalid", MY1, "=lower file is empty" },
                  { "overlay-lower-invalid", MY2, "=lower file is invalid: l/" L3 ":garbage" },
                  { "overlay-lower-invalid", MY3, "=entry 2 (l/" LZZ ") names no l/ symlink" },
                  { "reference-graph-incomplete", "orphan-checks",
                    "=2 reason(s); first: overlay2/" MY1 "/lower: lower file is empty: the dirs it names are unknown" });
    u_exec(&DB, "DELETE FROM finding");
    set_lower(MY1, NULL, "missing");   /* (a missing one names nothing) */
    set_lower(MY2, NULL, "missing");
    run();
    U_EXPECT(&DB, { "overlay-lower-invalid", M, "=lower file is missing; expected l/" L3 ":l/" L2 ":l/" L1 },
                  { "overlay-lower-invalid", MY3, "=entry 2 (l/" LZZ ") names no l/ symlink" },
                  { "overlay-dir-orphaned", O1, NULL });
}

/* A wrong lower file is reported where it is wrong: the dirs built on it
 * have correct lower files (the chain of their real parents). */
static void test_overlay_lower_invalid_no_cascade(void **state)
{
    (void)state;
    set_lower(K2, "l/" L5, "ok");   /* wrong: K2 sits on K1 */
    run();
    /* only K2: the lower files of M-init and M above it are right */
    U_EXPECT(&DB, { "overlay-lower-invalid", K2, "=does not match the parent chain; expected l/" L1 });
}

static void test_overlay_stray_entry(void **state)
{
    (void)state;
    u_exec(&DB, "INSERT INTO overlay_stray VALUES ('backup', 'dir', %d)", OLD);
    u_exec(&DB, "INSERT INTO overlay_stray VALUES (%Q, 'symlink', %d)", O1, OLD);
    u_exec(&DB, "INSERT INTO link VALUES ('notes', 'dir', NULL, NULL, %d)", OLD);
    run();
    U_EXPECT(&DB, { "overlay-stray-entry", "backup", "=unexpected dir in overlay2/" },
                  { "overlay-stray-entry", O1, "=unexpected symlink in overlay2/" },
                  { "overlay-stray-entry", "notes", "=unexpected dir in overlay2/l/ (not a symlink)" });
    expect_path("overlay-stray-entry", "backup", "overlay2/backup");
    expect_path("overlay-stray-entry", "notes", "overlay2/l/notes");
    u_assert_text(&DB, "warning", "SELECT DISTINCT severity FROM finding");
}

/* ---- BuildKit, scan errors, --deep ---------------------------------------------------------------- */

static void test_buildkit_checks(void **state)
{
    (void)state;
    u_exec(&DB, "INSERT INTO buildkit_dir VALUES (%Q, 'snap-1')", BK2);
    run();
    U_EXPECT(&DB, { "buildkit-snapshot-dangling", BK2, "=snapshot snap-1 names overlay2/" BK2 ", which does not exist" });
    expect_path("buildkit-snapshot-dangling", BK2, "buildkit/snapshots.db");
    u_assert_text(&DB, "warning", "SELECT severity FROM finding");
    u_exec(&DB, "DELETE FROM finding; DELETE FROM buildkit_dir WHERE dir = %Q;"
                " UPDATE buildkit_db SET state = 'invalid', error = 'bbolt: bad magic'", BK2);
    run();
    U_EXPECT(&DB, { "buildkit-db-invalid", "snapshots.db", "=bbolt: bad magic" },
                  { "reference-graph-incomplete", "orphan-checks", "1 reason(s); first: buildkit/snapshots.db: snapshots.db unreadable" });
    expect_path("buildkit-db-invalid", "snapshots.db", "buildkit/snapshots.db");
}

static void test_scan_unreadable(void **state)
{
    (void)state;
    u_exec(&DB, "INSERT INTO scan_error VALUES ('image/overlay2/layerdb/sha256', 'Permission denied')");
    u_exec(&DB, "INSERT INTO deep_layer VALUES (%Q, 'failed', 'cannot open diff/: Permission denied', 0)", C1);
    u_exec(&DB, "INSERT INTO deep_layer VALUES (%Q, 'verified', NULL, 0)", C2);
    run();
    U_EXPECT(&DB, { "scan-unreadable", "image/overlay2/layerdb/sha256", "=Permission denied" },
                  { "scan-unreadable", C1, "=deep verification failed: cannot open diff/: Permission denied" },
                  /* a failed --deep verification is no gap in the reference graph */
                  { "reference-graph-incomplete", "orphan-checks", "1 reason(s); first: image/overlay2/layerdb/sha256: could not be read" });
    expect_path("scan-unreadable", C1, "image/overlay2/layerdb/sha256/" C1);
}

static void test_deep_checks(void **state)
{
    (void)state;
    static const char *const names[] = { "layer-content-mismatch", "layer-file-missing", "layer-file-modified",
                                         "layer-tarsplit-invalid", "layer-tarsplit-missing" };
    static const char *const paths[] = {
        "image/overlay2/layerdb/sha256/" C1 "/diff", "overlay2/" K1 "/diff", "overlay2/" K1 "/diff",
        "image/overlay2/layerdb/sha256/" C1 "/tar-split.json.gz", "image/overlay2/layerdb/sha256/" C1 "/tar-split.json.gz",
    };
    u_exec(&DB, "INSERT INTO deep_layer VALUES (%Q, 'findings', NULL, 0)", C1);
    for (int i = 0; i < 5; i++) {
        u_exec(&DB, "INSERT INTO deep_finding(chain_id, check_name, detail) VALUES (%Q, %Q, 'detail of ' || %Q)", C1,
               names[i], names[i]);
        /* a finding of a layer that is not in the scan: dropped */
        u_exec(&DB, "INSERT INTO deep_finding(chain_id, check_name, detail) VALUES (%Q, %Q, 'x')", DEAD, names[i]);
    }
    run();
    U_EXPECT(&DB, { "layer-content-mismatch", C1, "=detail of layer-content-mismatch" },
                  { "layer-file-missing", C1, "=detail of layer-file-missing" },
                  { "layer-file-modified", C1, "=detail of layer-file-modified" },
                  { "layer-tarsplit-invalid", C1, "=detail of layer-tarsplit-invalid" },
                  { "layer-tarsplit-missing", C1, "=detail of layer-tarsplit-missing" });
    for (int i = 0; i < 5; i++)
        expect_path(names[i], C1, paths[i]);
    u_assert_text(&DB, "error", "SELECT DISTINCT severity FROM finding");
}

/* ---- the runner: young, --ignore, severities, broken checks ------------------------------------------ */

static void test_young_filter(void **state)
{
    (void)state;
    int64_t now = (int64_t)time(NULL), cutoff = now - 86400;
    u_exec(&DB, "INSERT INTO imagedb_tmp VALUES ('.tmp-young', 1, %lld)", (long long)now);
    u_exec(&DB, "INSERT INTO imagedb_tmp VALUES ('.tmp-old', 1, %d)", OLD);
    u_exec(&DB, "INSERT INTO imagedb_tmp VALUES ('.tmp-edge', 1, %lld)", (long long)cutoff);
    u_exec(&DB, "INSERT INTO imagedb_tmp VALUES ('.tmp-nomtime', 1, NULL)");
    u_exec(&DB, "INSERT INTO tag VALUES ('bb:gone', 'bb', %Q, 1, 'sha256:' || %Q)", DEAD, DEAD);
    u_run_checks_with(&DB, cutoff, NULL, SEV_ERROR);
    assert_int_equal(u_qint(&DB, "SELECT young FROM finding WHERE object = '.tmp-young'"), 1);
    assert_int_equal(u_qint(&DB, "SELECT mtime FROM finding WHERE object = '.tmp-young'"), now);
    assert_int_equal(u_qint(&DB, "SELECT young FROM finding WHERE object = '.tmp-old'"), 0);
    assert_int_equal(u_qint(&DB, "SELECT young FROM finding WHERE object = '.tmp-edge'"), 0);   /* newer than, strictly */
    assert_int_equal(u_qint(&DB, "SELECT young FROM finding WHERE object = '.tmp-nomtime' AND mtime IS NULL"), 0);
    /* a finding without an mtime value never is young (tag-dangling takes
     * repositories.json's mtime: none here) */
    u_exec(&DB, "DELETE FROM finding; DELETE FROM tag_file");
    u_run_checks_with(&DB, 0, NULL, SEV_ERROR);
    assert_int_equal(u_qint(&DB, "SELECT young FROM finding WHERE object = 'bb:gone'"), 0);
    assert_int_equal(u_qint(&DB, "SELECT young FROM finding WHERE object = '.tmp-old'"), 1);
    assert_int_equal(u_qint(&DB, "SELECT count(*) FROM finding"), 5);
}

static void test_ignore(void **state)
{
    (void)state;
    u_exec(&DB, "INSERT INTO imagedb_tmp VALUES ('.tmp-1', 1, %d)", OLD);
    u_exec(&DB, "INSERT INTO tag VALUES ('bb:gone', 'bb', %Q, 1, 'sha256:' || %Q)", DEAD, DEAD);
    u_exec(&DB, "INSERT INTO overlay_stray VALUES ('backup', 'dir', %d)", OLD);
    u_run_checks_with(&DB, INT64_MAX, "imagedb-tmp-leftover,tag-dangling", SEV_IGNORE);
    U_EXPECT(&DB, { "overlay-stray-entry", "backup", NULL });
    /* an override changes the severity recorded */
    u_exec(&DB, "DELETE FROM finding");
    u_run_checks_with(&DB, INT64_MAX, "overlay-stray-entry", SEV_ERROR);
    U_EXPECT(&DB, { "overlay-stray-entry", "backup", NULL }, { "imagedb-tmp-leftover", ".tmp-1", NULL },
                  { "tag-dangling", "bb:gone", NULL });
    u_assert_text(&DB, "error", "SELECT severity FROM finding WHERE check_name = 'overlay-stray-entry'");
    u_assert_text(&DB, "garbage", "SELECT severity FROM finding WHERE check_name = 'imagedb-tmp-leftover'");
    u_assert_text(&DB, "error", "SELECT severity FROM finding WHERE check_name = 'tag-dangling'");
}

static void test_runner_failures(void **state)
{
    (void)state;
    struct catalog cat = { 0 };
    struct check_run cr;
    char err[256];
    static const char *const texts[] = {
        "-- check: bad-syntax\n-- severity: error\n-- meaning: m\nSELEC nonsense;",
        "-- check: writes\n-- severity: error\n-- meaning: m\nDELETE FROM layer;",
        "-- check: no-object\n-- severity: error\n-- meaning: m\nSELECT name AS thing FROM overlay_stray;",
        "-- check: empty-sql\n-- severity: error\n-- meaning: m\n",
        "-- check: works\n-- severity: warning\n-- meaning: m\nSELECT 'x' AS object, 'p' AS path, 'd' AS detail, NULL AS mtime;",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        struct check c;
        char src[32];
        snprintf(src, sizeof src, "user%zu.sql", i);
        assert_int_equal(catalog_parse_check(src, texts[i], &c, err, sizeof err), 0);
        c.user = true;
        assert_int_equal(catalog_add(&cat, &c, err, sizeof err), 0);
    }
    assert_int_equal(checks_run(&DB, &cat, INT64_MAX, 2, NULL, &cr, err, sizeof err), 0);
    assert_int_equal(cr.failure_count, 4);
    assert_string_equal(cr.failures[0].source, "user0.sql");
    assert_non_null(strstr(cr.failures[0].message, "syntax error"));
    assert_string_equal(cr.failures[1].source, "user1.sql");
    assert_string_equal(cr.failures[1].message, "a check must be a read-only SELECT");
    assert_string_equal(cr.failures[2].message, "the query has no column named 'object'");
    assert_string_equal(cr.failures[3].source, "user3.sql");
    assert_string_equal(cr.failures[3].message, "no SELECT statement");
    /* the others still ran; nothing was written by the writing one */
    U_EXPECT(&DB, { "works", "x", "=d" });
    u_assert_text(&DB, "warning|p", "SELECT severity || '|' || path FROM finding");
    assert_int_equal(u_qint(&DB, "SELECT count(*) FROM layer"), 2);
    check_run_free(&cr);
    catalog_free(&cat);
}

static void test_all_severities_match_catalog(void **state)
{
    (void)state;
    /* one finding of most checks at once, each recorded with its severity */
    u_exec(&DB, "INSERT INTO imagedb_tmp VALUES ('.tmp-1', 1, %d)", OLD);
    u_exec(&DB, "INSERT INTO tag VALUES ('bb:gone', 'bb', %Q, 1, 'sha256:' || %Q)", DEAD, DEAD);
    u_exec(&DB, "INSERT INTO overlay_stray VALUES ('backup', 'dir', %d)", OLD);
    u_exec(&DB, "INSERT INTO buildkit_dir VALUES (%Q, 'snap-1')", BK2);
    add_dir(O1, LO1, NULL);
    u_exec(&DB, "INSERT INTO layer_removing VALUES ('x-removing', NULL, %d)", OLD);
    add_layer(U1, D1, NULL, KU1);
    add_dir(KU1, LU1, NULL);
    run();
    struct catalog cat = { 0 };
    char err[256];
    assert_int_equal(catalog_load_builtin(&cat, err, sizeof err), 0);
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(DB.h, "SELECT check_name, severity FROM finding", -1, &q, NULL), SQLITE_OK);
    int n = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        const struct check *c = catalog_find(&cat, (const char *)sqlite3_column_text(q, 0));
        assert_non_null(c);
        assert_string_equal((const char *)sqlite3_column_text(q, 1), severity_name(c->default_severity));
        n++;
    }
    sqlite3_finalize(q);
    catalog_free(&cat);
    assert_int_equal(n, 7);
}

/* ---- scale: query plans and growth ------------------------------------------------------------------ */

static void hex_of(char out[65], unsigned kind, unsigned i)
{
    snprintf(out, 65, "%02x%08x%054x", kind, i, 0u);
}

static void link_of(char out[27], unsigned kind, unsigned i)
{
    const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    memset(out, 'A', 26);
    out[26] = '\0';
    out[0] = alpha[kind % 32];
    for (int k = 25; k > 10; k--, i /= 32)
        out[k] = alpha[i % 32];
}

struct gen {
    sqlite3_stmt *layer, *dir, *link, *image, *il, *tag, *container, *mount, *stray, *tmp, *removing,
        *ltmp, *bsnap, *bdir, *blayer, *iparent, *deep;
};

static sqlite3_stmt *prep(struct db *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("prepare %s: %s", sql, sqlite3_errmsg(db->h));
    return st;
}

static void step(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        fail_msg("insert failed (%d): %s", rc, sqlite3_errmsg(sqlite3_db_handle(st)));
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static void bt(sqlite3_stmt *st, int i, const char *s) { sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT); }

/* overlay dir + its link + lower file; lower built from the parent chain */
static void gen_dir(struct gen *g, const char *name, const char *link, const char *lower)
{
    bt(g->dir, 1, name);
    bt(g->dir, 2, id_overlay_kind(name, strlen(name)));
    bt(g->dir, 3, link);
    if (lower)
        bt(g->dir, 4, lower);
    bt(g->dir, 5, lower ? "ok" : "missing");
    step(g->dir);
    bt(g->link, 1, link);
    char target[128];
    snprintf(target, sizeof target, "../%s/diff", name);
    bt(g->link, 2, target);
    bt(g->link, 3, name);
    step(g->link);
}

/* n layers in chains of 5 (with dirs, links, lower files), an image per
 * chain with a tag, a container with mount, -init and RW dir per 2 chains,
 * and about 2% of every kind of problem. */
static void fill_synthetic(struct db *db, unsigned n)
{
    struct gen g;
    g.layer = prep(db, "INSERT INTO layer VALUES (?1, 1, 1, ?2, 'ok', ?3, ?4, ?5, 'ok', 10, 'ok', 1, ?1, -1, 1000000000)");
    g.dir = prep(db, "INSERT INTO overlay_dir VALUES (?1, ?2, 1, 'dir', ?3, 'ok', ?4, ?5, 1, 0, 0, 1000000000)");
    g.link = prep(db, "INSERT INTO link VALUES (?1, 'symlink', ?2, ?3, 1000000000)");
    g.image = prep(db, "INSERT INTO image VALUES (?1, 1, 'ok', NULL, 1, ?1, 100, 1000000000)");
    g.il = prep(db, "INSERT INTO image_layer VALUES (?1, ?2, ?3, ?4)");
    g.tag = prep(db, "INSERT INTO tag VALUES (?1, 'repo', ?2, 1, ?2)");
    g.container = prep(db, "INSERT INTO container VALUES (?1, 1, 'ok', ?2, 'overlay2', '/c', 0, 0, 1000000000)");
    g.mount = prep(db, "INSERT INTO mount VALUES (?1, 1, ?2, 'ok', ?3, 'ok', ?4, 'ok', 1000000000)");
    g.stray = prep(db, "INSERT INTO overlay_stray VALUES (?1, 'file', 1000000000)");
    g.tmp = prep(db, "INSERT INTO imagedb_tmp VALUES (?1, 5, 1000000000)");
    g.removing = prep(db, "INSERT INTO layer_removing VALUES (?1, NULL, 1000000000)");
    g.ltmp = prep(db, "INSERT INTO layerdb_tmp VALUES (?1, NULL, 1000000000)");
    g.bsnap = prep(db, "INSERT INTO buildkit_snapshot VALUES (?1, '', NULL, NULL)");
    g.bdir = prep(db, "INSERT INTO buildkit_dir VALUES (?1, ?1)");
    g.blayer = prep(db, "INSERT OR IGNORE INTO buildkit_layer VALUES (?1)");
    g.iparent = prep(db, "INSERT INTO image_parent VALUES (?1, ?2, 'ok', 1000000000)");
    g.deep = prep(db, "INSERT INTO deep_finding(chain_id, check_name, detail) VALUES (?1, 'layer-file-modified', 'x')");
    u_exec(db, "BEGIN");
    u_exec(db, "INSERT INTO tag_file VALUES ('image/overlay2/repositories.json', 'ok', NULL, 0)");
    u_exec(db, "INSERT INTO buildkit_db VALUES ('buildkit/snapshots.db', 'ok', NULL)");
    char chain[65], parent[65], cache[65], link[27], lower[5 * 29 + 1], id[65], id2[65], id3[65], name[128];
    char prev_lower[5 * 29 + 1] = "", prev_link[27] = "";
    for (unsigned i = 0; i < n; i++) {
        unsigned depth = i % 5;
        hex_of(chain, 0x10, i);
        hex_of(parent, 0x10, i - 1);
        hex_of(cache, 0x11, i);
        link_of(link, 1, i);
        if (depth)
            snprintf(lower, sizeof lower, "l/%s%s%s", prev_link, prev_lower[0] ? ":" : "", prev_lower);
        else
            lower[0] = '\0';
        bt(g.layer, 1, chain);
        bt(g.layer, 2, chain);
        if (depth)
            bt(g.layer, 3, parent);
        bt(g.layer, 4, depth ? "ok" : "missing");
        bt(g.layer, 5, cache);
        step(g.layer);
        gen_dir(&g, cache, link, depth ? lower : NULL);
        snprintf(prev_lower, sizeof prev_lower, "%s", lower);
        snprintf(prev_link, sizeof prev_link, "%s", link);
        if (depth == 4 && i % 50 != 4) {   /* an image over the chain (some chains are unreferenced) */
            hex_of(id, 0x20, i);
            bt(g.image, 1, id);
            step(g.image);
            for (unsigned k = 0; k < 5; k++) {
                char c[65];
                hex_of(c, 0x10, i - 4 + k);
                bt(g.il, 1, id);
                sqlite3_bind_int(g.il, 2, (int)k);
                bt(g.il, 3, c);
                bt(g.il, 4, c);
                step(g.il);
            }
            snprintf(name, sizeof name, "repo:%u", i);
            bt(g.tag, 1, name);
            bt(g.tag, 2, id);
            step(g.tag);
            if (i >= 9) {
                hex_of(id2, 0x20, i - 5);
                bt(g.iparent, 1, id);
                bt(g.iparent, 2, i % 100 == 49 ? chain : id2);
                step(g.iparent);
            }
        }
        if (depth == 4 && i % 10 == 4) {   /* a container on the chain's top */
            hex_of(id, 0x30, i);
            hex_of(id2, 0x31, i);
            snprintf(id3, sizeof id3, "%.59s-init", id2);   /* 64 chars: never a valid dir name twice */
            char init[80], ilink[27], rlink[27], ilower[6 * 29 + 1], rlower[7 * 29 + 1];
            snprintf(init, sizeof init, "%s-init", id2);
            hex_of(name, 0x20, i);
            bt(g.container, 1, id);
            bt(g.container, 2, name);
            step(g.container);
            bt(g.mount, 1, id);
            bt(g.mount, 2, id2);
            bt(g.mount, 3, init);
            bt(g.mount, 4, chain);
            step(g.mount);
            link_of(ilink, 2, i);
            link_of(rlink, 3, i);
            snprintf(ilower, sizeof ilower, "l/%s:%s", link, lower);
            snprintf(rlower, sizeof rlower, "l/%s:%s", ilink, ilower);
            gen_dir(&g, init, ilink, ilower);
            gen_dir(&g, id2, rlink, rlower);
        }
        if (i % 50 == 7) {   /* problems */
            hex_of(id, 0x50, i);
            link_of(link, 5, i);
            gen_dir(&g, id, link, NULL);                 /* orphaned dir */
            snprintf(name, sizeof name, "stray-%u", i);
            bt(g.stray, 1, name);
            step(g.stray);
            snprintf(name, sizeof name, ".tmp-%u", i);
            bt(g.tmp, 1, name);
            step(g.tmp);
            snprintf(name, sizeof name, "%s-%u-removing", chain, i);
            bt(g.removing, 1, name);
            step(g.removing);
            snprintf(name, sizeof name, "write-set-%u", i);
            bt(g.ltmp, 1, name);
            step(g.ltmp);
            hex_of(id, 0x60, i);
            snprintf(name, sizeof name, "repo:gone-%u", i);
            bt(g.tag, 1, name);
            bt(g.tag, 2, id);
            step(g.tag);
            snprintf(name, sizeof name, "%025u", i);
            bt(g.bsnap, 1, name);
            step(g.bsnap);
            bt(g.bdir, 1, name);
            step(g.bdir);
            bt(g.blayer, 1, chain);
            step(g.blayer);
            bt(g.deep, 1, chain);
            step(g.deep);
            link_of(link, 6, i);
            hex_of(id, 0x61, i);
            char target[128];
            snprintf(target, sizeof target, "../%s/diff", id);
            bt(g.link, 1, link);
            bt(g.link, 2, target);
            bt(g.link, 3, id);
            step(g.link);                                /* broken link */
        }
    }
    u_exec(db, "COMMIT");
    sqlite3_stmt *all[] = { g.layer, g.dir, g.link, g.image, g.il, g.tag, g.container, g.mount, g.stray,
                            g.tmp, g.removing, g.ltmp, g.bsnap, g.bdir, g.blayer, g.iparent, g.deep };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        sqlite3_finalize(all[i]);
}

static void open_synthetic(struct db *db, unsigned n, bool analyze)
{
    char err[256];
    u_db_open(db);
    fill_synthetic(db, n);
    if (db_create_indexes(db, err, sizeof err) < 0)
        fail_msg("indexes: %s", err);
    if (analyze)
        u_exec(db, "ANALYZE");
}

/* Tables whose size does not grow with the store. */
static bool tiny_table(const char *t)
{
    static const char *const tiny[] = { "meta", "stat", "scan_error", "tag_file", "buildkit_db" };
    for (size_t i = 0; i < sizeof tiny / sizeof tiny[0]; i++)
        if (strcmp(t, tiny[i]) == 0)
            return true;
    return false;
}

static bool is_schema_table(struct db *db, const char *name)
{
    return u_qint(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = %Q", name) > 0;
}

/* Which real tables a name in a plan ("SCAN <name>") may stand for: the
 * table itself or every table the SQL gives that alias ("FROM t a", "JOIN t
 * AS a"). Returns true when any of them is a large table. */
static bool names_large_table(struct db *db, const char *sql, const char *name, char *which, size_t whichlen)
{
    which[0] = '\0';
    if (is_schema_table(db, name)) {
        snprintf(which, whichlen, "%s", name);
        return !tiny_table(name);
    }
    /* tokens of the SQL, lowercased, comments and strings dropped */
    size_t len = strlen(sql);
    char **tok = calloc(len + 1, sizeof *tok);
    size_t nt = 0;
    for (const char *p = sql; *p;) {
        if (p[0] == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                p++;
        } else if (*p == '\'') {
            p++;
            while (*p && *p != '\'')
                p++;
            if (*p)
                p++;
        } else if (isalnum((unsigned char)*p) || *p == '_') {
            const char *s = p;
            while (isalnum((unsigned char)*p) || *p == '_')
                p++;
            tok[nt] = strndup(s, (size_t)(p - s));
            for (char *c = tok[nt]; *c; c++)
                *c = (char)tolower((unsigned char)*c);
            nt++;
        } else {
            if (*p == '(' || *p == ',' || *p == ')') {
                tok[nt++] = strndup(p, 1);
            }
            p++;
        }
    }
    static const char *const kw[] = { "where", "on", "join", "left", "inner", "cross", "group", "order", "union",
                                       "using", "natural", "limit", "having", "select", "as", "and", "or", "not", NULL };
    bool large = false;
    for (size_t i = 0; i + 1 < nt; i++) {
        if (strcmp(tok[i], "from") != 0 && strcmp(tok[i], "join") != 0)
            continue;
        const char *table = tok[i + 1];
        if (!isalpha((unsigned char)table[0]) && table[0] != '_')
            continue;
        size_t a = i + 2;
        if (a < nt && strcmp(tok[a], "as") == 0)
            a++;
        const char *alias = a < nt ? tok[a] : "";
        bool is_kw = false;
        for (int k = 0; kw[k]; k++)
            is_kw = is_kw || strcmp(alias, kw[k]) == 0;
        if (is_kw || !(isalpha((unsigned char)alias[0]) || alias[0] == '_'))
            alias = table;
        if (strcmp(alias, name) != 0)
            continue;
        if (is_schema_table(db, table) && !tiny_table(table)) {
            large = true;
            snprintf(which + strlen(which), whichlen - strlen(which), "%s%s", which[0] ? "/" : "", table);
        }
    }
    for (size_t i = 0; i < nt; i++)
        free(tok[i]);
    free(tok);
    return large;
}

struct plan_row {
    int id, parent;
    char detail[256];
};

static bool is_loop(const char *d)
{
    return strncmp(d, "SCAN ", 5) == 0 || strncmp(d, "SEARCH ", 7) == 0;
}

/* Check one query's plan; returns the number of offending rows (printed). */
static int check_plan(struct db *db, const struct check *c, const char *label, bool quiet)
{
    char *sql = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", c->sql);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db->h, sql, -1, &q, NULL) != SQLITE_OK)
        fail_msg("%s: %s", c->name, sqlite3_errmsg(db->h));
    sqlite3_free(sql);
    struct plan_row rows[512];
    int n = 0;
    while (sqlite3_step(q) == SQLITE_ROW && n < 512) {
        rows[n].id = sqlite3_column_int(q, 0);
        rows[n].parent = sqlite3_column_int(q, 1);
        snprintf(rows[n].detail, sizeof rows[n].detail, "%s", (const char *)sqlite3_column_text(q, 3));
        n++;
    }
    sqlite3_finalize(q);
    int bad = 0;
    for (int r = 0; r < n; r++) {
        if (strncmp(rows[r].detail, "SCAN ", 5) != 0)
            continue;
        char name[128], which[256];
        sscanf(rows[r].detail + 5, "%127s", name);
        if (!names_large_table(db, c->sql, name, which, sizeof which))
            continue;   /* a tiny table, a CTE, a view's co-routine, a subquery */
        const char *why = NULL;
        /* an inner loop of a join: a loop comes before it at its level */
        for (int s = 0; s < r && !why; s++)
            if (rows[s].parent == rows[r].parent && is_loop(rows[s].detail))
                why = "inner loop of a join";
        /* inside a correlated subquery or a recursive step: run per row */
        for (int p = rows[r].parent; p != 0 && !why;) {
            int k = -1;
            for (int s = 0; s < n; s++)
                if (rows[s].id == p)
                    k = s;
            if (k < 0)
                break;
            /* a named CTE is materialized once per statement (SQLite
             * guards it with OP_Once), wherever the plan shows it */
            if (strncmp(rows[k].detail, "MATERIALIZE ", 12) == 0 && rows[k].detail[12] != '(')
                break;
            if (strncmp(rows[k].detail, "CORRELATED ", 11) == 0)
                why = "inside a correlated subquery";
            else if (strcmp(rows[k].detail, "RECURSIVE STEP") == 0)
                why = "inside a recursive step";
            p = rows[k].parent;
        }
        if (why && !quiet) {
            print_error("%s [%s]: full scan of %s (%s) %s\n", c->name, label, which, rows[r].detail, why);
        }
        if (why)
            bad++;
    }
    if (bad && !quiet) {
        print_error("plan of %s:\n", c->name);
        for (int r = 0; r < n; r++)
            print_error("  id=%-3d parent=%-3d %s\n", rows[r].id, rows[r].parent, rows[r].detail);
    }
    return bad;
}

static void plans_of_all(bool analyze)
{
    struct db db;
    open_synthetic(&db, 4000, analyze);
    assert_true(u_qint(&db, "SELECT count(*) FROM layer") >= 4000);
    assert_true(u_qint(&db, "SELECT count(*) FROM overlay_lower") >= 4000);
    struct catalog cat = { 0 };
    char err[256];
    assert_int_equal(catalog_load_builtin(&cat, err, sizeof err), 0);
    int bad = 0;
    for (size_t i = 0; i < cat.count; i++)
        bad += check_plan(&db, &cat.checks[i], analyze ? "after ANALYZE" : "no statistics", false);
    catalog_free(&cat);
    db_close(&db);
    assert_int_equal(bad, 0);
}

/* As ovl2fsck runs them: indexes, no statistics. */
static void test_query_plans(void **state)
{
    (void)state;
    plans_of_all(false);
}

/* The same with statistics (a user keeping --db and running ANALYZE). */
static void test_query_plans_analyzed(void **state)
{
    (void)state;
    plans_of_all(true);
}

/* The plan checker itself must catch a nested scan. */
static void test_query_plan_checker_catches(void **state)
{
    (void)state;
    struct db db;
    open_synthetic(&db, 200, false);
    struct check c = { .name = (char *)"nested", .sql = (char *)
        "SELECT o.name AS object FROM overlay_dir o WHERE NOT EXISTS"
        " (SELECT 1 FROM layer l WHERE l.size = length(o.name))" };
    assert_int_equal(check_plan(&db, &c, "self-test", true), 1);
    struct check j = { .name = (char *)"join", .sql = (char *)
        "SELECT o.name AS object FROM overlay_dir o JOIN layer l ON l.size + 0 = length(o.name)" };
    assert_true(check_plan(&db, &j, "self-test", true) >= 1);
    struct check ok = { .name = (char *)"ok", .sql = (char *)
        "SELECT o.name AS object FROM overlay_dir o WHERE NOT EXISTS (SELECT 1 FROM layer l WHERE l.chain_id = o.name)"
        " AND NOT EXISTS (SELECT 1 FROM scan_error)" };
    assert_int_equal(check_plan(&db, &ok, "self-test", true), 0);
    db_close(&db);
}

/* Work per check (VM steps, all rows) at N and 4N: linear work grows ~4x,
 * a scan inside a loop ~16x. */
static int64_t steps_of(struct db *db, const char *sql)
{
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(db->h, sql, -1, &q, NULL), SQLITE_OK);
    while (sqlite3_step(q) == SQLITE_ROW)
        ;
    int64_t s = sqlite3_stmt_status(q, SQLITE_STMTSTATUS_VM_STEP, 0);
    sqlite3_finalize(q);
    return s;
}

static void test_work_grows_linearly(void **state)
{
    (void)state;
    struct db small, big;
    open_synthetic(&small, 1000, false);
    open_synthetic(&big, 4000, false);
    struct catalog cat = { 0 };
    char err[256];
    assert_int_equal(catalog_load_builtin(&cat, err, sizeof err), 0);
    int bad = 0;
    for (size_t i = 0; i < cat.count; i++) {
        int64_t a = steps_of(&small, cat.checks[i].sql), b = steps_of(&big, cat.checks[i].sql);
        double ratio = a > 0 ? (double)b / (double)a : 0;
        if (getenv("OVL2FSCK_PRINT_GROWTH"))
            print_message("# %-28s %9lld -> %9lld VM steps (x%.2f)\n", cat.checks[i].name, (long long)a, (long long)b, ratio);
        if (ratio > 6.0) {
            print_error("%s: %lld VM steps at N, %lld at 4N (x%.1f)\n", cat.checks[i].name, (long long)a,
                        (long long)b, ratio);
            bad++;
        }
    }
    /* the synthetic store does trigger the checks (so the work is real) */
    u_run_checks(&big);
    assert_true(u_qint(&big, "SELECT count(DISTINCT check_name) FROM finding") >= 10);
    catalog_free(&cat);
    db_close(&small);
    db_close(&big);
    assert_int_equal(bad, 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_base_is_clean),
        T(test_image_config_invalid),
        T(test_image_digest_mismatch),
        T(test_image_layer_missing),
        T(test_image_parent_missing),
        T(test_imagedb_tmp_leftover),
        T(test_tag_file_invalid),
        T(test_tag_dangling),
        T(test_layer_metadata_missing),
        T(test_layer_metadata_invalid),
        T(test_layer_chainid_mismatch),
        T(test_layer_parent_missing),
        T(test_layer_parent_missing_lower_not_judged),
        T(test_layer_cache_id_dangling),
        T(test_layer_cache_id_shared),
        T(test_layer_unreferenced),
        T(test_layer_unreferenced_live_refs),
        T(test_layer_unreferenced_parent_cycle),
        T(test_layer_unreferenced_child_without_cache_id),
        T(test_layer_unreferenced_guard_scan_error),
        T(test_layer_unreferenced_guard_image_unreadable),
        T(test_layer_unreferenced_guard_buildkit_db),
        T(test_layer_unreferenced_guard_bad_parent),
        T(test_layer_unreferenced_guard_mount_parent),
        T(test_layerdb_leftovers),
        T(test_mount_container_missing),
        T(test_image_mount),
        T(test_overlay_tmp_leftover),
        T(test_mount_id_dangling),
        T(test_mount_parent_missing),
        T(test_mount_parent_missing_lower_not_judged),
        T(test_container_checks),
        T(test_container_removal_leftover),
        T(test_root_tmp_leftover),
        T(test_overlay_diff_missing),
        T(test_overlay_dir_orphaned),
        T(test_overlay_dir_orphaned_guards),
        T(test_overlay_dir_orphaned_guard_invalid_ids),
        T(test_overlay_dir_orphaned_guard_invalid_ids_buildkit),
        T(test_overlay_link_missing),
        T(test_overlay_link_invalid),
        T(test_overlay_link_broken),
        T(test_overlay_link_mismatch),
        T(test_overlay_lower_invalid),
        T(test_overlay_lower_invalid_states),
        T(test_overlay_lower_invalid_no_cascade),
        T(test_overlay_stray_entry),
        T(test_buildkit_checks),
        T(test_scan_unreadable),
        T(test_deep_checks),
        T(test_young_filter),
        T(test_ignore),
        T(test_runner_failures),
        T(test_all_severities_match_catalog),
        cmocka_unit_test(test_query_plan_checker_catches),
        cmocka_unit_test(test_query_plans),
        cmocka_unit_test(test_query_plans_analyzed),
        cmocka_unit_test(test_work_grows_linearly),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
