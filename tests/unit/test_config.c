/* test_config.c — the config file (src/config.c): parsing, FILE:LINE
 * errors, precedence (command line > config > default), check.NAME
 * overrides on the catalog; and own checks from a directory
 * (src/catalog_dir.c): loaded like built-ins, broken ones recorded by file
 * and line while the rest still load. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog.h"
#include "exit_codes.h"
#include "catalog_dir.h"
#include "config.h"
#include "opts.h"

/* ---- helpers ------------------------------------------------------------- */

static char tmpdir[64];

static int make_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_config.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    write_file(path, text, strlen(text));
}

/* Parse text; returns the status, err holds the first message. */
static int parse(const char *text, struct config *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    err[0] = '\0';
    return config_parse("test.conf", text, cfg, NULL, err, errlen);
}

static void parse_options(struct options *o, int argc, char **argv)
{
    char err[256];
    assert_int_equal(opts_parse(argc, argv, o, err, sizeof err), 0);
}

/* ---- parsing ------------------------------------------------------------- */

static void test_all_keys(void **state)
{
    (void)state;
    struct config cfg;
    char err[256];
    const char *text = "# a comment\n"
                       "\n"
                       "root = /srv/docker\n"
                       "  min-age=90m\n"
                       "journal = /var/log/j.jsonl   # trailing comment\n"
                       "prometheus = /var/lib/prometheus/node-exporter/ovl2fsck.prom\r\n"
                       "pidfile = /run/docker.pid\n"
                       "checks-dir = /etc/ovl2fsck/checks.d\n"
                       "\t# indented comment\n"
                       "check.overlay-stray-entry = ignore\n"
                       "check.layer-unreferenced = warning";   /* no final newline */
    assert_int_equal(parse(text, &cfg, err, sizeof err), 0);
    assert_string_equal(cfg.root, "/srv/docker");
    assert_true(cfg.has_min_age);
    assert_int_equal(cfg.min_age, 90 * 60);
    assert_string_equal(cfg.journal, "/var/log/j.jsonl");
    assert_string_equal(cfg.prometheus, "/var/lib/prometheus/node-exporter/ovl2fsck.prom");
    assert_string_equal(cfg.pidfile, "/run/docker.pid");
    assert_string_equal(cfg.checks_dir, "/etc/ovl2fsck/checks.d");
    assert_int_equal(cfg.check_count, 2);
    assert_string_equal(cfg.checks[0].name, "overlay-stray-entry");
    assert_int_equal(cfg.checks[0].severity, SEV_IGNORE);
    assert_int_equal(cfg.checks[0].line, 10);
    assert_string_equal(cfg.checks[1].name, "layer-unreferenced");
    assert_int_equal(cfg.checks[1].severity, SEV_WARNING);
    assert_int_equal(cfg.checks[1].line, 11);
    config_free(&cfg);
}

static void test_hash_inside_value_kept(void **state)
{
    (void)state;
    struct config cfg;
    char err[256];
    assert_int_equal(parse("root = /srv/dock#er\n", &cfg, err, sizeof err), 0);
    assert_string_equal(cfg.root, "/srv/dock#er");
    config_free(&cfg);
}

static void test_later_line_wins(void **state)
{
    (void)state;
    struct config cfg;
    char err[256];
    assert_int_equal(parse("root = /a\nroot = /b\ncheck.x = error\ncheck.x = garbage\n", &cfg, err, sizeof err), 0);
    assert_string_equal(cfg.root, "/b");
    assert_int_equal(cfg.check_count, 1);
    assert_int_equal(cfg.checks[0].severity, SEV_GARBAGE);
    assert_int_equal(cfg.checks[0].line, 4);
    config_free(&cfg);
}

struct bad_case {
    const char *text;
    const char *want;   /* the whole first message */
};

static void test_errors_have_line_numbers(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        { "root = /a\n\nfrobnicate = 1\n", "test.conf:3: unknown key 'frobnicate' (known: root, min-age, journal, "
                                           "prometheus, pidfile, checks-dir, check.NAME, skip.CHECK)" },
        { "# x\nmin-age = soon\n", "test.conf:2: min-age: 'soon' is not a duration (e.g. 0, 90s, 30m, 24h, 7d)" },
        { "check.overlay-stray-entry = fatal\n",
          "test.conf:1: check.overlay-stray-entry: 'fatal' is not ignore, warning, error or garbage" },
        { "\n\n\n\nroot /srv\n", "test.conf:5: expected 'key = value'" },
        { "root =\n", "test.conf:1: root needs a value" },
        { "root = # only a comment\n", "test.conf:1: root needs a value" },
        { " = /srv\n", "test.conf:1: expected 'key = value' (the key is missing)" },
        { "check. = ignore\n", "test.conf:1: 'check.' needs a check name (check.NAME = ignore|warning|error|garbage)" },
        { "Root = /srv\n", "test.conf:1: unknown key 'Root' (known: root, min-age, journal, prometheus, pidfile, "
                           "checks-dir, check.NAME, skip.CHECK)" },
        { "skip. = abc\n", "test.conf:1: 'skip.' needs a check name (skip.CHECK = OBJECT)" },
        { "skip.tag-dangling = a b\n", "test.conf:1: skip.CHECK takes one object (one line per object)" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct config cfg;
        char err[512];
        assert_int_equal(parse(cases[i].text, &cfg, err, sizeof err), -1);
        assert_string_equal(err, cases[i].want);
        config_free(&cfg);
    }
}

/* Every bad line is reported; good lines are still kept. */
static void test_all_bad_lines_reported_good_kept(void **state)
{
    (void)state;
    struct config cfg;
    char err[256], *out = NULL;
    size_t outlen = 0;
    FILE *errout = open_memstream(&out, &outlen);
    memset(&cfg, 0, sizeof cfg);
    int rc = config_parse("c.conf", "bogus = 1\nprometheus = /m.prom\nmin-age = x\n", &cfg, errout, err, sizeof err);
    fclose(errout);
    assert_int_equal(rc, -1);
    assert_string_equal(cfg.prometheus, "/m.prom");
    assert_non_null(strstr(err, "c.conf:1: unknown key 'bogus'"));
    assert_non_null(strstr(out, "ovl2fsck: c.conf:1: unknown key 'bogus'"));
    assert_non_null(strstr(out, "ovl2fsck: c.conf:3: min-age: 'x' is not a duration"));
    free(out);
    config_free(&cfg);
}

/* ---- files --------------------------------------------------------------- */

static void test_load_missing(void **state)
{
    (void)state;
    struct config cfg = { 0 };
    char path[128], err[256] = "";
    snprintf(path, sizeof path, "%s/absent.conf", tmpdir);
    assert_int_equal(config_load(path, false, &cfg, NULL, err, sizeof err), 0);
    assert_null(cfg.root);
    assert_int_equal(config_load(path, true, &cfg, NULL, err, sizeof err), EXIT_USAGE);
    assert_non_null(strstr(err, "absent.conf: No such file or directory"));
    config_free(&cfg);
}

static void test_load_not_text(void **state)
{
    (void)state;
    struct config cfg = { 0 };
    char path[128], err[256] = "";
    snprintf(path, sizeof path, "%s/nul.conf", tmpdir);
    write_file(path, "root = /a\0b\n", 12);
    assert_int_equal(config_load(path, false, &cfg, NULL, err, sizeof err), EXIT_USAGE);
    assert_non_null(strstr(err, "NUL byte"));
    assert_int_equal(config_load(tmpdir, true, &cfg, NULL, err, sizeof err), EXIT_USAGE);
    assert_non_null(strstr(err, "is a directory"));
    config_free(&cfg);
}

static void test_load_ok_and_bad(void **state)
{
    (void)state;
    struct config cfg = { 0 };
    char path[128], err[256] = "", want[256];
    snprintf(path, sizeof path, "%s/bad.conf", tmpdir);
    write_text(tmpdir, "bad.conf", "root = /x\nmin-age = 1h\nnope = 2\n");
    assert_int_equal(config_load(path, true, &cfg, NULL, err, sizeof err), EXIT_USAGE);
    snprintf(want, sizeof want, "%s:3: unknown key 'nope'", path);
    assert_non_null(strstr(err, want));
    config_free(&cfg);
    snprintf(path, sizeof path, "%s/good.conf", tmpdir);
    write_text(tmpdir, "good.conf", "root = /x\nmin-age = 1h\n");
    assert_int_equal(config_load(path, true, &cfg, NULL, err, sizeof err), 0);
    assert_string_equal(cfg.root, "/x");
    assert_string_equal(cfg.path, path);
    config_free(&cfg);
}

/* ---- precedence ---------------------------------------------------------- */

static void test_precedence(void **state)
{
    (void)state;
    struct config cfg;
    struct options o;
    char err[256];
    assert_int_equal(parse("root = /cfg\nmin-age = 1h\njournal = /cfg.j\nprometheus = /cfg.prom\n"
                           "pidfile = /cfg.pid\nchecks-dir = /cfg.d\n", &cfg, err, sizeof err), 0);

    /* nothing on the command line: the config wins over the defaults */
    char *argv1[] = { "ovl2fsck", NULL };
    parse_options(&o, 1, argv1);
    assert_string_equal(o.root, DEFAULT_ROOT);
    config_apply(&cfg, &o);
    assert_string_equal(o.root, "/cfg");
    assert_int_equal(o.min_age, 3600);
    assert_string_equal(o.journal, "/cfg.j");
    assert_string_equal(o.prometheus, "/cfg.prom");
    assert_string_equal(o.pidfile, "/cfg.pid");
    assert_string_equal(o.checks_dir, "/cfg.d");
    opts_free(&o);

    /* everything on the command line: the command line wins */
    char *argv2[] = { "ovl2fsck", "--root", "/cmd", "--min-age", "0", "--journal", "/cmd.j", "--prometheus",
                      "/cmd.prom", "--pidfile", "/cmd.pid", "--checks-dir", "/cmd.d", NULL };
    parse_options(&o, 13, argv2);
    config_apply(&cfg, &o);
    assert_string_equal(o.root, "/cmd");
    assert_int_equal(o.min_age, 0);
    assert_string_equal(o.journal, "/cmd.j");
    assert_string_equal(o.prometheus, "/cmd.prom");
    assert_string_equal(o.pidfile, "/cmd.pid");
    assert_string_equal(o.checks_dir, "/cmd.d");
    opts_free(&o);
    config_free(&cfg);

    /* an empty config changes nothing */
    assert_int_equal(parse("# nothing\n", &cfg, err, sizeof err), 0);
    parse_options(&o, 1, argv1);
    config_apply(&cfg, &o);
    assert_string_equal(o.root, DEFAULT_ROOT);
    assert_int_equal(o.min_age, DEFAULT_MIN_AGE);
    assert_string_equal(o.journal, DEFAULT_JOURNAL);
    assert_string_equal(o.pidfile, DEFAULT_PIDFILE);
    assert_null(o.prometheus);
    assert_null(o.checks_dir);
    opts_free(&o);
    config_free(&cfg);
}

/* ---- check overrides ----------------------------------------------------- */

static void test_check_overrides(void **state)
{
    (void)state;
    struct catalog cat = { 0 };
    struct config cfg;
    char err[256];
    assert_int_equal(catalog_load_builtin(&cat, err, sizeof err), 0);
    assert_int_equal(parse("check.overlay-stray-entry = error\ncheck.layer-unreferenced = ignore\n", &cfg, err,
                           sizeof err), 0);
    assert_int_equal(config_apply_checks(&cfg, &cat, false, NULL, err, sizeof err), 0);
    assert_int_equal(catalog_find(&cat, "overlay-stray-entry")->severity, SEV_ERROR);
    assert_int_equal(catalog_find(&cat, "overlay-stray-entry")->default_severity, SEV_WARNING);
    assert_int_equal(catalog_find(&cat, "layer-unreferenced")->severity, SEV_IGNORE);
    config_free(&cfg);

    assert_int_equal(parse("\ncheck.no-such-check = warning\n", &cfg, err, sizeof err), 0);
    assert_int_equal(config_apply_checks(&cfg, &cat, false, NULL, err, sizeof err), -1);
    assert_string_equal(err, "test.conf:2: unknown check 'no-such-check' (see --list-checks)");
    /* tolerated while an own check failed to load: it may be the one meant */
    assert_int_equal(config_apply_checks(&cfg, &cat, true, NULL, err, sizeof err), 0);
    config_free(&cfg);
    catalog_free(&cat);
}

/* ---- own checks ---------------------------------------------------------- */

static const char *failure_message(const struct check_run *r, const char *source)
{
    for (size_t i = 0; i < r->failure_count; i++)
        if (strcmp(r->failures[i].source, source) == 0)
            return r->failures[i].message;
    return NULL;
}

static void test_checks_dir(void **state)
{
    (void)state;
    char dir[128], src[256], err[256] = "";
    snprintf(dir, sizeof dir, "%s/checks.d", tmpdir);
    assert_int_equal(mkdir(dir, 0755), 0);
    write_text(dir, "good.sql", "-- check: my-good\n-- severity: garbage\n-- meaning: a fine check\n"
                                "SELECT name AS object, name AS path FROM overlay_dir;\n-- trailing comment\n");
    write_text(dir, "bad-header.sql", "-- check: my-bad\n-- severity: fatal\n-- meaning: x\nSELECT 1 AS object;\n");
    write_text(dir, "no-name.sql", "SELECT 1 AS object;\n");
    write_text(dir, "syntax.sql", "-- check: my-syntax\n-- severity: error\n-- meaning: x\nSELECT name AS object\n"
                                  "FROM overlay_dir\nWHERE name = = 1;\n");
    write_text(dir, "table.sql", "-- check: my-table\n-- severity: error\n-- meaning: x\nSELECT name AS object\n"
                                 "FROM no_such_table;\n");
    write_text(dir, "noobject.sql", "-- check: my-noobject\n-- severity: error\n-- meaning: x\nSELECT 1 AS x;\n");
    write_text(dir, "writer.sql", "-- check: my-writer\n-- severity: error\n-- meaning: x\nDELETE FROM overlay_dir;\n");
    write_text(dir, "two.sql", "-- check: my-two\n-- severity: error\n-- meaning: x\nSELECT 1 AS object;\n"
                               "\nSELECT 2 AS object;\n");
    write_text(dir, "dup.sql", "-- check: overlay-stray-entry\n-- severity: error\n-- meaning: x\nSELECT 1 AS object;\n");
    /* issue 14: own checks declare themselves too; only built-in ones act */
    write_text(dir, "acts.sql", "-- check: my-acts\n-- severity: garbage\n-- meaning: x\n-- action: reap\n"
                                "SELECT name AS object FROM overlay_dir;\n");
    write_text(dir, "badaction.sql", "-- check: my-badaction\n-- severity: garbage\n-- meaning: x\n"
                                     "-- action: delete\nSELECT 1 AS object;\n");
    write_text(dir, "unread.sql", "-- check: my-unread\n-- severity: error\n-- meaning: x\n-- needs: layer_dead\n"
                                  "SELECT name AS object FROM overlay_dir;\n");
    write_text(dir, "README", "not a check");
    write_text(dir, ".hidden.sql", "garbage");
    char sub[160];
    snprintf(sub, sizeof sub, "%s/subdir.sql", dir);
    assert_int_equal(mkdir(sub, 0755), 0);

    struct catalog cat = { 0 };
    struct check_run failed = { 0 };
    assert_int_equal(catalog_load_builtin(&cat, err, sizeof err), 0);
    size_t builtin = cat.count;
    assert_int_equal(catalog_load_dir(&cat, dir, true, &failed, err, sizeof err), 0);
    assert_int_equal(cat.count, builtin + 1);
    struct check *c = catalog_find(&cat, "my-good");
    assert_non_null(c);
    assert_true(c->user);
    assert_int_equal(c->severity, SEV_GARBAGE);
    assert_string_equal(c->meaning, "a fine check");

    struct {
        const char *source;
        const char *message;
    } want[] = {
        { "bad-header.sql:2", "severity must be error, garbage or warning" },
        { "no-name.sql:1", "header has no \"-- check: NAME\" line" },
        { "syntax.sql:6", "SQL: near \"=\": syntax error" },
        { "table.sql:5", "SQL: no such table: no_such_table" },
        { "noobject.sql", "the query has no column named 'object'" },
        { "writer.sql", "a check must be a read-only SELECT" },
        { "two.sql:6", "more than one SQL statement (a check is one SELECT)" },
        { "dup.sql", "check overlay-stray-entry is already defined by sql/checks/overlay-stray-entry.sql" },
        { "subdir.sql", "not a regular file" },
        { "acts.sql", "action reap: an own check's findings are reported, never acted on (action: none)" },
        { "badaction.sql:4", "unknown action (known: reap, reap-include, repair, none): delete" },
        { "unread.sql:4", "declares a derived table it does not read: layer_dead" },
    };
    assert_int_equal(failed.failure_count, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        snprintf(src, sizeof src, "%s/%s", dir, want[i].source);
        const char *msg = failure_message(&failed, src);
        if (!msg)
            fail_msg("no failure recorded for %s", src);
        assert_string_equal(msg, want[i].message);
    }
    check_run_free(&failed);
    catalog_free(&cat);
}

static void test_checks_dir_missing(void **state)
{
    (void)state;
    char dir[128], err[256] = "";
    struct catalog cat = { 0 };
    struct check_run failed = { 0 };
    snprintf(dir, sizeof dir, "%s/nothing-here", tmpdir);
    assert_int_equal(catalog_load_dir(&cat, dir, false, &failed, err, sizeof err), 0);
    assert_int_equal(cat.count, 0);
    assert_int_equal(catalog_load_dir(&cat, dir, true, &failed, err, sizeof err), EXIT_USAGE);
    assert_non_null(strstr(err, "nothing-here: No such file or directory"));
    assert_int_equal(failed.failure_count, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_keys),
        cmocka_unit_test(test_hash_inside_value_kept),
        cmocka_unit_test(test_later_line_wins),
        cmocka_unit_test(test_errors_have_line_numbers),
        cmocka_unit_test(test_all_bad_lines_reported_good_kept),
        cmocka_unit_test(test_load_missing),
        cmocka_unit_test(test_load_not_text),
        cmocka_unit_test(test_load_ok_and_bad),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_check_overrides),
        cmocka_unit_test(test_checks_dir),
        cmocka_unit_test(test_checks_dir_missing),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
