/* test_prometheus.c — the node_exporter textfile (src/prometheus.c): label
 * escaping, the rendered text (one HELP/TYPE per metric, a sample per check
 * that ran, 0 included, a final newline), reading the last success time back,
 * and the atomic write (mode 0644, the old file untouched when the write
 * fails, no temp file left behind). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prometheus.h"

static char tmpdir[64];

static int make_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_prometheus.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static char *render(const struct prom_run *m)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(prom_render(f, m), 0);
    fclose(f);
    return buf;
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A run with two checks (one without findings) and one failed check. */
static void sample_run(struct prom_run *m, struct prom_finding *f, char **failed)
{
    memset(m, 0, sizeof *m);
    f[0] = (struct prom_finding){ "overlay-dir-orphaned", "garbage", 3 };
    f[1] = (struct prom_finding){ "tag-dangling", "error", 0 };
    failed[0] = "/etc/ovl2fsck/checks.d/bad \"one\".sql:2";
    m->have_result = true;
    m->findings = f;
    m->finding_count = 2;
    m->scanned = (struct scan_counts){ .images = 1, .layers = 2, .mounts = 3, .containers = 4, .overlay_dirs = 5,
                                       .links = 6, .buildkit_snapshots = 7 };
    m->reclaimable = 123456789012;
    m->young_skipped = 9;
    m->failed = failed;
    m->failed_count = 1;
    m->exit_code = 12;
    m->duration = 1.5;
    m->now = 1700000000;
    m->last_success = 1690000000;
}

/* ---- escaping and success ------------------------------------------------ */

static void test_escape_label(void **state)
{
    (void)state;
    struct {
        const char *in, *want;
    } cases[] = {
        { "plain-name", "plain-name" },
        { "a\"b", "a\\\"b" },
        { "back\\slash", "back\\\\\\\\slash" },   /* text_escape doubles it, then the exposition escape */
        { "new\nline", "new\\\\x0aline" },        /* control bytes: the printable \xNN form */
        { "bad\xff", "bad\\\\xff" },               /* invalid UTF-8 */
        { "caf\xc3\xa9", "caf\xc3\xa9" },          /* valid UTF-8 stays */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = prom_escape_label(cases[i].in);
        assert_non_null(got);
        assert_string_equal(got, cases[i].want);
        assert_null(strchr(got, '\n'));
        free(got);
    }
}

static void test_exit_is_success(void **state)
{
    (void)state;
    assert_true(prom_exit_is_success(0));
    assert_true(prom_exit_is_success(1));
    assert_true(prom_exit_is_success(4));
    assert_true(prom_exit_is_success(5));
    assert_false(prom_exit_is_success(8));
    assert_false(prom_exit_is_success(12));
    assert_false(prom_exit_is_success(16));
    assert_false(prom_exit_is_success(32));
}

/* ---- rendering ----------------------------------------------------------- */

static void test_render_full(void **state)
{
    (void)state;
    struct prom_run m;
    struct prom_finding f[2];
    char *failed[1];
    sample_run(&m, f, failed);
    char *text = render(&m);
    static const char *const metrics[] = {
        "ovl2fsck_findings", "ovl2fsck_reclaimable_bytes", "ovl2fsck_objects", "ovl2fsck_young_skipped",
        "ovl2fsck_dockerd_running", "ovl2fsck_check_failures", "ovl2fsck_check_failed", "ovl2fsck_duration_seconds",
        "ovl2fsck_last_run_timestamp_seconds", "ovl2fsck_last_success_timestamp_seconds", "ovl2fsck_exit_code",
    };
    for (size_t i = 0; i < sizeof metrics / sizeof metrics[0]; i++) {
        char help[128], type[128];
        snprintf(help, sizeof help, "# HELP %s ", metrics[i]);
        snprintf(type, sizeof type, "# TYPE %s gauge\n", metrics[i]);
        assert_int_equal(count_of(text, help), 1);
        assert_int_equal(count_of(text, type), 1);
    }
    assert_non_null(strstr(text, "\novl2fsck_findings{check=\"overlay-dir-orphaned\",severity=\"garbage\"} 3\n"));
    assert_non_null(strstr(text, "\novl2fsck_findings{check=\"tag-dangling\",severity=\"error\"} 0\n"));
    assert_non_null(strstr(text, "\novl2fsck_reclaimable_bytes 123456789012\n"));
    assert_non_null(strstr(text, "\novl2fsck_objects{kind=\"images\"} 1\n"));
    assert_non_null(strstr(text, "\novl2fsck_objects{kind=\"buildkit_snapshots\"} 7\n"));
    assert_int_equal(count_of(text, "\novl2fsck_objects{kind="), 7);
    assert_non_null(strstr(text, "\novl2fsck_young_skipped 9\n"));
    assert_non_null(strstr(text, "\novl2fsck_check_failures 1\n"));
    assert_non_null(strstr(text, "\novl2fsck_check_failed{source=\"/etc/ovl2fsck/checks.d/bad \\\"one\\\".sql:2\"} 1\n"));
    assert_non_null(strstr(text, "\novl2fsck_duration_seconds 1.500\n"));
    assert_non_null(strstr(text, "\novl2fsck_last_run_timestamp_seconds 1700000000\n"));
    assert_non_null(strstr(text, "\novl2fsck_last_success_timestamp_seconds 1690000000\n"));
    assert_non_null(strstr(text, "\novl2fsck_exit_code 12\n"));
    assert_int_equal(text[strlen(text) - 1], '\n');
    free(text);
}

/* A run that failed before the checks: only the run-level metrics. */
static void test_render_without_result(void **state)
{
    (void)state;
    struct prom_run m;
    memset(&m, 0, sizeof m);
    m.exit_code = 8;
    m.now = 1700000000;
    char *text = render(&m);
    assert_null(strstr(text, "ovl2fsck_findings"));
    assert_null(strstr(text, "ovl2fsck_objects"));
    assert_null(strstr(text, "ovl2fsck_check_failed"));
    assert_non_null(strstr(text, "\novl2fsck_check_failures 0\n"));
    assert_non_null(strstr(text, "\novl2fsck_exit_code 8\n"));
    assert_non_null(strstr(text, "\novl2fsck_last_success_timestamp_seconds 0\n"));
    assert_int_equal(text[strlen(text) - 1], '\n');
    free(text);
}

/* ---- the old file -------------------------------------------------------- */

static void test_read_last_success(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/old.prom", tmpdir);
    assert_int_equal(prom_read_last_success(path), 0);   /* missing */
    spit(path, "# HELP ovl2fsck_last_success_timestamp_seconds x\n"
               "ovl2fsck_last_success_timestamp_seconds_total 5\n"
               "ovl2fsck_last_success_timestamp_seconds{a=\"b\"} 6\n"
               "ovl2fsck_last_success_timestamp_seconds 1690000000\n");
    assert_int_equal(prom_read_last_success(path), 1690000000);
    spit(path, "ovl2fsck_last_success_timestamp_seconds 1.69e9\n");
    assert_int_equal(prom_read_last_success(path), 1690000000);
    spit(path, "ovl2fsck_last_success_timestamp_seconds NaN\n");
    assert_int_equal(prom_read_last_success(path), 0);
    spit(path, "ovl2fsck_last_success_timestamp_seconds -5\n");
    assert_int_equal(prom_read_last_success(path), 0);
    spit(path, "ovl2fsck_last_success_timestamp_seconds \n");
    assert_int_equal(prom_read_last_success(path), 0);
    spit(path, "\x01\x02 garbage\n");
    assert_int_equal(prom_read_last_success(path), 0);
}

/* ---- the atomic write ---------------------------------------------------- */

static int files_in(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    if (d)
        closedir(d);
    return n;
}

static void test_write_success_then_failure(void **state)
{
    (void)state;
    char dir[128], path[160], err[512];
    struct prom_run m;
    struct prom_finding f[2];
    char *failed[1];
    struct stat st;
    snprintf(dir, sizeof dir, "%s/w", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/ovl2fsck.prom", dir);

    sample_run(&m, f, failed);
    m.exit_code = 4;           /* findings: still a successful run */
    m.now = 1700000100;
    mode_t old = umask(077);
    int rc = prom_write_file(path, &m, err, sizeof err);
    umask(old);
    assert_int_equal(rc, 0);
    assert_int_equal(m.last_success, 1700000100);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);   /* node_exporter must read it */
    assert_int_equal(files_in(dir), 1);          /* no temp file left */

    m.exit_code = 8;           /* a failed run keeps the last success */
    m.now = 1700000200;
    assert_int_equal(prom_write_file(path, &m, err, sizeof err), 0);
    assert_int_equal(m.last_success, 1700000100);
    const char *text = slurp(path);
    assert_non_null(strstr(text, "\novl2fsck_last_success_timestamp_seconds 1700000100\n"));
    assert_non_null(strstr(text, "\novl2fsck_last_run_timestamp_seconds 1700000200\n"));
    assert_non_null(strstr(text, "\novl2fsck_exit_code 8\n"));
}

static void test_write_fails_cleanly(void **state)
{
    (void)state;
    char path[160], err[512];
    struct prom_run m;
    struct prom_finding f[2];
    char *failed[1];
    sample_run(&m, f, failed);

    /* the directory does not exist */
    snprintf(path, sizeof path, "%s/missing/ovl2fsck.prom", tmpdir);
    assert_int_equal(prom_write_file(path, &m, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot create a temp file"));

    /* the target is a directory: the rename fails, the temp file goes */
    char dir[128];
    snprintf(dir, sizeof dir, "%s/d", tmpdir);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(path, sizeof path, "%s/target.prom", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(prom_write_file(path, &m, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot rename"));
    assert_int_equal(files_in(dir), 1);

    assert_int_equal(prom_write_file("dir/", &m, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a file path"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_label),
        cmocka_unit_test(test_exit_is_success),
        cmocka_unit_test(test_render_full),
        cmocka_unit_test(test_render_without_result),
        cmocka_unit_test(test_read_last_success),
        cmocka_unit_test(test_write_success_then_failure),
        cmocka_unit_test(test_write_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
