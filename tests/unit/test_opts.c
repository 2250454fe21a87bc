/* test_opts.c — command-line parsing (src/opts.c): defaults, every usage
 * error returns -1 with a message that names what is wrong, option
 * combinations, and that parsing twice in one process starts afresh. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit_util.h"

#include "opts.h"

#include <getopt.h>

#define MAX_ARGS 32

/* argv as heap copies (getopt may permute; a stale pointer into a freed
 * argv shows up under valgrind). */
struct argv_buf {
    int argc;
    char *argv[MAX_ARGS + 1];
};

static void argv_make(struct argv_buf *a, va_list ap)
{
    a->argc = 0;
    a->argv[a->argc++] = strdup("ovl2fsck");
    const char *s;
    while ((s = va_arg(ap, const char *)) != NULL) {
        assert_true(a->argc < MAX_ARGS);
        a->argv[a->argc++] = strdup(s);
    }
    a->argv[a->argc] = NULL;
}

static void argv_free(struct argv_buf *a)
{
    for (int i = 0; i < a->argc; i++)
        free(a->argv[i]);
    a->argc = 0;
}

/* Parse ovl2fsck ARGS... (NULL-terminated) with the argv freed afterwards;
 * so options must not keep pointers into it: the tests only look at values
 * that are copied or compared right away. */
/* Reset glibc's getopt completely (optind = 0 re-initialises it, dropping
 * the pointer it keeps into the previous argv); see test_reparse_is_fresh
 * for why opts_parse does not do this itself today. */
static void getopt_reset(void)
{
    char *dummy[] = { (char *)"x", NULL };
    optind = 0;
    opterr = 0;
    while (getopt(1, dummy, "") != -1)
        ;
}

static int parse_v(struct options *o, char *err, size_t errlen, struct argv_buf *keep, va_list ap)
{
    getopt_reset();
    argv_make(keep, ap);
    err[0] = '\0';
    return opts_parse(keep->argc, keep->argv, o, err, errlen);
}

static int parse(struct options *o, struct argv_buf *keep, char *err, size_t errlen, ...)
{
    va_list ap;
    va_start(ap, errlen);
    int rc = parse_v(o, err, errlen, keep, ap);
    va_end(ap);
    return rc;
}

/* Must fail with a message containing want. */
static void expect_usage_error(const char *want, ...)
{
    struct options o;
    struct argv_buf a;
    char err[256];
    va_list ap;
    va_start(ap, want);
    int rc = parse_v(&o, err, sizeof err, &a, ap);
    va_end(ap);
    if (rc != -1 || !strstr(err, want)) {
        print_error("argv:");
        for (int i = 1; i < a.argc; i++)
            print_error(" %s", a.argv[i]);
        print_error("\n  rc=%d err=\"%s\", want -1 and \"%s\"\n", rc, err, want);
        opts_free(&o);
        argv_free(&a);
        fail();
    }
    opts_free(&o);
    argv_free(&a);
}

static void test_defaults(void **state)
{
    (void)state;
    struct options o;
    struct argv_buf a;
    char err[256];
    assert_int_equal(parse(&o, &a, err, sizeof err, NULL), 0);
    assert_int_equal(o.mode, MODE_REPORT);
    assert_string_equal(o.root, "/var/lib/docker");
    assert_string_equal(o.root, DEFAULT_ROOT);
    assert_int_equal(o.min_age, 24 * 3600);
    assert_false(o.json);
    assert_null(o.db_path);
    assert_null(o.ignore);
    assert_false(o.quiet);
    assert_int_equal(o.verbose, 0);
    assert_false(o.reap);
    assert_false(o.apply);
    assert_false(o.deep);
    assert_int_equal(o.older_than, -1);
    assert_int_equal(o.threads, 0);
    assert_string_equal(o.pidfile, DEFAULT_PIDFILE);
    assert_int_equal(o.set_flags, 0);
    opts_free(&o);
    argv_free(&a);
}

static void test_report_options(void **state)
{
    (void)state;
    struct options o;
    struct argv_buf a;
    char err[256];
    assert_int_equal(parse(&o, &a, err, sizeof err, "--root", "/srv/docker", "--report", "--json", "--db", "scan.sqlite",
                           "--min-age", "90s", "--ignore", "tag-dangling,layer-unreferenced", "-q", "-v", "-v",
                           "--ignore", "overlay-stray-entry", NULL),
                     0);
    assert_int_equal(o.mode, MODE_REPORT);
    assert_string_equal(o.root, "/srv/docker");
    assert_true(o.json);
    assert_string_equal(o.db_path, "scan.sqlite");
    assert_int_equal(o.min_age, 90);
    assert_string_equal(o.ignore, "tag-dangling,layer-unreferenced,overlay-stray-entry");
    assert_true(o.quiet);
    assert_int_equal(o.verbose, 2);
    assert_true(o.set_flags & OPTSET_ROOT);
    assert_true(o.set_flags & OPTSET_MIN_AGE);
    opts_free(&o);
    argv_free(&a);

    /* --opt=value and a min-age of 0 */
    assert_int_equal(parse(&o, &a, err, sizeof err, "--root=/x", "--min-age=0", "--quiet", NULL), 0);
    assert_string_equal(o.root, "/x");
    assert_int_equal(o.min_age, 0);
    assert_true(o.quiet);
    opts_free(&o);
    argv_free(&a);

    assert_int_equal(parse(&o, &a, err, sizeof err, "--min-age", "1h30m", NULL), 0);
    assert_int_equal(o.min_age, 5400);
    opts_free(&o);
    argv_free(&a);
}

static void test_modes(void **state)
{
    (void)state;
    static const struct { const char *arg; enum mode mode; } cases[] = {
        { "--list-checks", MODE_LIST_CHECKS }, { "--schema", MODE_SCHEMA },
        { "--help", MODE_HELP }, { "-h", MODE_HELP }, { "--version", MODE_VERSION },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct options o;
        struct argv_buf a;
        char err[256];
        assert_int_equal(parse(&o, &a, err, sizeof err, cases[i].arg, NULL), 0);
        assert_int_equal(o.mode, cases[i].mode);
        opts_free(&o);
        argv_free(&a);
        /* the same mode twice is no conflict */
        assert_int_equal(parse(&o, &a, err, sizeof err, cases[i].arg, cases[i].arg, NULL), 0);
        opts_free(&o);
        argv_free(&a);
    }
    struct options o;
    struct argv_buf a;
    char err[256];
    assert_int_equal(parse(&o, &a, err, sizeof err, "--purge-quarantine", "/q", "--older-than", "7d", NULL), 0);
    assert_int_equal(o.mode, MODE_PURGE);
    assert_int_equal(o.older_than, 7 * 86400);
    opts_free(&o);
    argv_free(&a);
    assert_int_equal(parse(&o, &a, err, sizeof err, "--reap", "--apply", "--quarantine", "/q", "--include",
                           "image-layer-missing", NULL), 0);
    assert_true(o.reap && o.apply);
    assert_string_equal(o.include, "image-layer-missing");
    opts_free(&o);
    argv_free(&a);
    assert_int_equal(parse(&o, &a, err, sizeof err, "--deep", "--layer", "a", "--layer", "b", "--image", "c",
                           "--threads", "4", NULL), 0);
    assert_int_equal(o.layer_count, 2);
    assert_string_equal(o.layers[0], "a");
    assert_string_equal(o.layers[1], "b");
    assert_int_equal(o.image_count, 1);
    assert_string_equal(o.images[0], "c");
    assert_int_equal(o.threads, 4);
    opts_free(&o);
    argv_free(&a);
}

static void test_unknown_and_missing(void **state)
{
    (void)state;
    expect_usage_error("unknown option --bogus", "--bogus", NULL);
    expect_usage_error("unknown option -x", "-x", NULL);
    expect_usage_error("unknown option", "--json=yes", NULL);   /* no_argument option given one */
    expect_usage_error("unexpected argument 'extra'", "extra", NULL);
    expect_usage_error("unexpected argument 'extra'", "--json", "extra", NULL);
    expect_usage_error("option --root needs an argument", "--root", NULL);
    expect_usage_error("option --min-age needs an argument", "--min-age", NULL);
    expect_usage_error("option --db needs an argument", "--db", NULL);
    expect_usage_error("option --ignore needs an argument", "--json", "--ignore", NULL);
    expect_usage_error("--root must not be empty", "--root", "", NULL);
    expect_usage_error("--root must not be empty", "--root=", NULL);
}

static void test_bad_durations(void **state)
{
    (void)state;
    const char *bad[] = { "", "-1", "5x", "h", "1.5h", "24 h", "99999999999999999999" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char want[64];
        snprintf(want, sizeof want, "--min-age: '%s' is not a duration", bad[i]);
        expect_usage_error(want, "--min-age", bad[i], NULL);
    }
    expect_usage_error("--older-than: '1.5d' is not a duration", "--purge-quarantine", "/q", "--older-than", "1.5d", NULL);
    expect_usage_error("--threads: '0' is not a number from 1 to 256", "--threads", "0", NULL);
    expect_usage_error("--threads: '257' is not a number from 1 to 256", "--threads", "257", NULL);
    expect_usage_error("--threads: 'four'", "--threads", "four", NULL);
    expect_usage_error("--threads: '4x'", "--threads", "4x", NULL);
}

static void test_conflicts(void **state)
{
    (void)state;
    expect_usage_error("conflicting modes", "--list-checks", "--schema", NULL);
    expect_usage_error("conflicting modes", "--help", "--version", NULL);
    expect_usage_error("conflicting modes", "--schema", "-h", NULL);
    expect_usage_error("conflicting modes", "--restore", "/q", "--purge-quarantine", "/q", "--older-than", "1d", NULL);
    expect_usage_error("--apply needs --reap or --repair", "--apply", NULL);
    expect_usage_error("--quarantine goes with --reap --apply", "--reap", "--quarantine", "/q", NULL);
    expect_usage_error("--quarantine goes with --reap --apply", "--quarantine", "/q", NULL);
    expect_usage_error("--include goes with --reap", "--include", "image-layer-missing", NULL);
    expect_usage_error("--older-than goes with --purge-quarantine", "--older-than", "7d", NULL);
    expect_usage_error("--purge-quarantine needs --older-than DUR", "--purge-quarantine", "/q", NULL);
    expect_usage_error("--layer and --image go with --deep", "--layer", "x", NULL);
    expect_usage_error("--layer and --image go with --deep", "--image", "busybox", NULL);
    expect_usage_error("--restore and --purge-quarantine stand alone", "--restore", "/q", "--reap", NULL);
    expect_usage_error("--restore and --purge-quarantine stand alone", "--purge-quarantine", "/q",
                       "--older-than", "1d", "--reap", "--apply", NULL);
}

/* opts_parse is called more than once per process (tests, a config
 * reload): getopt's state of an earlier argv must not leak into the next
 * parse. glibc re-initialises getopt only for optind = 0 (with optind = 1,
 * after a short option such as -q glibc would still hold a pointer into the
 * previous, freed argv and resume there). */
static void test_reparse_is_fresh(void **state)
{
    (void)state;
    struct options o;
    struct argv_buf a;
    char err[256];
    a.argc = 0;
    a.argv[a.argc++] = strdup("ovl2fsck");
    a.argv[a.argc++] = strdup("-q");
    a.argv[a.argc] = NULL;
    assert_int_equal(opts_parse(a.argc, a.argv, &o, err, sizeof err), 0);   /* no getopt_reset */
    assert_true(o.quiet);
    opts_free(&o);
    argv_free(&a);
    a.argv[a.argc++] = strdup("ovl2fsck");
    a.argv[a.argc++] = strdup("--json");
    a.argv[a.argc] = NULL;
    err[0] = '\0';
    int rc = opts_parse(a.argc, a.argv, &o, err, sizeof err);
    if (rc != 0)
        print_error("second parse: rc=%d err=%s\n", rc, err);
    assert_int_equal(rc, 0);
    assert_true(o.json);
    assert_false(o.quiet);
    opts_free(&o);
    argv_free(&a);
}

static void test_usage_text(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    opts_usage(f);
    fclose(f);
    /* every option parse accepts is documented */
    const char *opts[] = { "--root", "--report", "--json", "--db", "--min-age", "--ignore", "--list-checks",
                           "--schema", "--bytes", "--pidfile", "--reap", "--repair", "--apply", "--include",
                           "--quarantine", "--restore", "--purge-quarantine", "--older-than", "--journal",
                           "--deep", "--layer", "--image", "--threads", "--config", "--checks-dir",
                           "--prometheus", "--quiet", "--verbose", "--help", "--version", "default 24h",
                           "/var/lib/docker", "16 usage" };
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        if (!strstr(buf, opts[i]))
            fail_msg("usage text lacks %s", opts[i]);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_report_options),
        cmocka_unit_test(test_modes),
        cmocka_unit_test(test_unknown_and_missing),
        cmocka_unit_test(test_bad_durations),
        cmocka_unit_test(test_conflicts),
        cmocka_unit_test(test_reparse_is_fresh),
        cmocka_unit_test(test_usage_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
