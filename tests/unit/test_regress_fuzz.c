/* test_regress_fuzz.c — replays the fuzz seed corpora and every saved crash
 * input through the libFuzzer harnesses (tests/fuzz/fuzz_*.c, compiled here
 * with FUZZ_NO_MAIN, without libFuzzer), so the normal and the sanitizer
 * builds (make check-sanitize) re-check them on every test run:
 *   tests/fuzz/seeds/TARGET/...    real inputs (configs, repositories.json,
 *                                   id files, snapshots.db, tar-split)
 *   tests/fuzz/regress/TARGET/...  inputs that once crashed or hung a harness
 *   fixtures/bbolt/NAME.snapshots.db for the bbolt target
 *   tests/fuzz/seeds/ctrd: meta.db + metadata.db pairs (mkctrdseeds.py)
 * A crash is the failure (abort/ASan); each input must also just return 0.
 * Under FUZZ_NO_MAIN the harnesses always run the whole check catalog and
 * both reports. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>

#define FUZZ_NO_MAIN 1
#include "../fuzz/fuzz_config.c"
#include "../fuzz/fuzz_repos.c"
#include "../fuzz/fuzz_ids.c"
#include "../fuzz/fuzz_bbolt.c"
#include "../fuzz/fuzz_tarsplit.c"
#include "../fuzz/fuzz_ctrd.c"

typedef int (*one_fn)(const uint8_t *data, size_t size);

static char top[PATH_MAX];

/* The repository: $OVL2FSCK_TOP, or two levels above this file (the tests
 * run from the top, where __FILE__ is tests/unit/...). */
static void find_top(void)
{
    const char *env = getenv("OVL2FSCK_TOP");
    if (env && *env) {
        snprintf(top, sizeof top, "%s", env);
        return;
    }
    snprintf(top, sizeof top, "%s", __FILE__);
    char *p = strstr(top, "tests/unit/");
    if (p == top)
        snprintf(top, sizeof top, ".");
    else if (p)
        p[-1] = '\0';
    else
        snprintf(top, sizeof top, ".");
}

static int run_file(one_fn fn, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            uint8_t *nb = realloc(buf, cap);
            assert_non_null(nb);
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        if (n == 0)
            break;
        len += n;
    }
    fclose(f);
    int rc = fn(buf, len);
    free(buf);
    return rc;
}

/* Run every regular file of top/rel whose name ends with suffix (or all);
 * returns how many. */
static int run_dir(one_fn fn, const char *rel, const char *suffix)
{
    char dir[PATH_MAX + 64], path[PATH_MAX + 400];
    snprintf(dir, sizeof dir, "%s/%s", top, rel);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        size_t l = strlen(de->d_name), sl = suffix ? strlen(suffix) : 0;
        if (suffix && (l < sl || strcmp(de->d_name + l - sl, suffix) != 0))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        int rc = run_file(fn, path);
        if (rc != 0)
            print_error("%s: harness returned %d\n", path, rc);
        assert_int_equal(rc, 0);
        n++;
    }
    closedir(d);
    return n;
}

static void replay(one_fn fn, const char *target, int min_seeds)
{
    char rel[128];
    snprintf(rel, sizeof rel, "tests/fuzz/seeds/%s", target);
    int seeds = run_dir(fn, rel, NULL);
    snprintf(rel, sizeof rel, "tests/fuzz/regress/%s", target);
    int regress = run_dir(fn, rel, NULL);
    print_message("# %s: %d seeds, %d regression inputs\n", target, seeds, regress);
    assert_true(seeds >= min_seeds);
}

static void test_config(void **state) { (void)state; replay(fuzz_config_one, "config", 1); }
static void test_repos(void **state) { (void)state; replay(fuzz_repos_one, "repos", 1); }
static void test_ids(void **state) { (void)state; replay(fuzz_ids_one, "ids", 1); }
static void test_tarsplit(void **state) { (void)state; replay(fuzz_tarsplit_one, "tarsplit", 1); }
static void test_ctrd(void **state) { (void)state; replay(fuzz_ctrd_one, "ctrd", 20); }

static void test_bbolt(void **state)
{
    (void)state;
    replay(fuzz_bbolt_one, "bbolt", 1);
    assert_true(run_dir(fuzz_bbolt_one, "fixtures/bbolt", ".snapshots.db") >= 3);
}

/* A few inputs of each harness that are not real data: empty, one byte,
 * all 0xff (every ids field absent), NUL-heavy. */
static void test_degenerate_inputs(void **state)
{
    (void)state;
    static const one_fn fns[] = { fuzz_config_one, fuzz_repos_one, fuzz_ids_one, fuzz_bbolt_one, fuzz_tarsplit_one,
                                  fuzz_ctrd_one };
    uint8_t buf[4096];
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        assert_int_equal(fns[i](buf, 0), 0);
        memset(buf, 0xff, sizeof buf);
        assert_int_equal(fns[i](buf, 1), 0);
        assert_int_equal(fns[i](buf, sizeof buf), 0);
        memset(buf, 0, sizeof buf);
        assert_int_equal(fns[i](buf, sizeof buf), 0);
        buf[0] = 1;
        assert_int_equal(fns[i](buf, sizeof buf), 0);
    }
}

int main(void)
{
    find_top();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_repos),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_bbolt),
        cmocka_unit_test(test_tarsplit),
        cmocka_unit_test(test_ctrd),
        cmocka_unit_test(test_degenerate_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
