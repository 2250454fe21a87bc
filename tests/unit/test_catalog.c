/* test_catalog.c — the check catalog (src/catalog.c): header parsing
 * ("-- check:", "-- severity:", "-- meaning:") with "file:line:" errors,
 * duplicate names, --ignore of unknown names, and the built-in catalog:
 * exactly the names of issue 2's table plus the listed extras, each file
 * named after its check and valid SQL over the schema. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit_util.h"

#include "catalog.h"
#include "embedded.h"

/* Issue 2's table: name and severity, the stable API. */
static const struct { const char *name; enum severity sev; } issue_table[] = {
    { "image-config-invalid", SEV_ERROR },
    { "image-digest-mismatch", SEV_ERROR },
    { "image-layer-missing", SEV_ERROR },
    { "image-parent-missing", SEV_WARNING },
    { "imagedb-tmp-leftover", SEV_GARBAGE },
    { "tag-file-invalid", SEV_ERROR },
    { "tag-dangling", SEV_ERROR },
    { "layer-metadata-missing", SEV_ERROR },
    { "layer-metadata-invalid", SEV_ERROR },
    { "layer-chainid-mismatch", SEV_ERROR },
    { "layer-parent-missing", SEV_ERROR },
    { "layer-cache-id-dangling", SEV_ERROR },
    { "layer-cache-id-shared", SEV_ERROR },
    { "layer-unreferenced", SEV_GARBAGE },
    { "layerdb-tmp-leftover", SEV_GARBAGE },
    { "layerdb-removing-leftover", SEV_GARBAGE },
    { "mount-container-missing", SEV_GARBAGE },
    { "mount-id-dangling", SEV_ERROR },
    { "mount-parent-missing", SEV_ERROR },
    { "container-mount-missing", SEV_GARBAGE },
    { "container-image-missing", SEV_WARNING },
    { "overlay-dir-orphaned", SEV_GARBAGE },
    { "overlay-diff-missing", SEV_ERROR },
    { "overlay-link-missing", SEV_ERROR },
    { "overlay-link-invalid", SEV_ERROR },
    { "overlay-link-broken", SEV_GARBAGE },
    { "overlay-link-mismatch", SEV_ERROR },
    { "overlay-lower-invalid", SEV_ERROR },
    { "overlay-stray-entry", SEV_WARNING },
    { "buildkit-snapshot-dangling", SEV_WARNING },
};

/* Checks present in sql/checks beyond the table (added by later issues:
 * --deep, container configs, scan errors, snapshots.db, work/ dirs, and the
 * warning that says why the garbage checks are silent). */
static const struct { const char *name; enum severity sev; } extra_checks[] = {
    { "buildkit-db-invalid", SEV_ERROR },
    { "container-config-invalid", SEV_ERROR },
    { "container-removal-leftover", SEV_GARBAGE },   /* issue 20 */
    { "layer-content-mismatch", SEV_ERROR },
    { "layer-file-missing", SEV_ERROR },
    { "layer-file-modified", SEV_ERROR },
    { "layer-tarsplit-invalid", SEV_ERROR },
    { "layer-tarsplit-missing", SEV_ERROR },
    { "overlay-work-missing", SEV_ERROR },
    { "reference-graph-incomplete", SEV_WARNING },
    { "root-tmp-leftover", SEV_GARBAGE },             /* issue 20 */
    { "scan-unreadable", SEV_ERROR },
    { "overlay-tmp-leftover", SEV_GARBAGE },          /* issue 17 */
    { "image-mount-container-missing", SEV_GARBAGE }, /* issue 17 */
    { "snapshot-dir-orphaned", SEV_GARBAGE },  /* issue 15: containerd */
    { "snapshot-dir-blocks-create", SEV_ERROR }, /* issue 15: containerd */
    { "snapshot-dir-missing", SEV_ERROR },     /* issue 15: containerd */
    { "snapshot-backend-orphaned", SEV_GARBAGE }, /* issue 15: containerd */
    { "snapshot-name-dangling", SEV_ERROR },   /* issue 15: containerd */
    { "snapshot-parent-mismatch", SEV_ERROR }, /* issue 15: containerd */
    { "snapshot-extract-leftover", SEV_GARBAGE }, /* issue 15: containerd */
    { "snapshot-chain-mismatch", SEV_ERROR },  /* issue 15: containerd */
    { "content-blob-orphaned", SEV_GARBAGE },  /* issue 15: containerd */
    { "content-blob-missing", SEV_ERROR },     /* issue 15: containerd */
    { "content-digest-mismatch", SEV_ERROR },  /* issue 15: containerd */
    { "ingest-leftover", SEV_GARBAGE },        /* issue 15: containerd */
    { "lease-expired", SEV_GARBAGE },          /* issue 15: containerd */
    { "lease-container-missing", SEV_GARBAGE }, /* issue 15: containerd */
    { "container-snapshot-missing", SEV_ERROR }, /* issue 15: containerd */
    { "image-content-missing", SEV_ERROR },    /* issue 15: containerd */
    { "containerd-db-invalid", SEV_ERROR },    /* issue 15: containerd */
    { "docker-container-snapshot-missing", SEV_ERROR },  /* issue 16: Docker on containerd */
    { "docker-container-image-missing", SEV_WARNING },   /* issue 16: Docker on containerd */
    { "docker-container-removal-leftover", SEV_GARBAGE }, /* issue 16: Docker on containerd */
};

#define N_TABLE (sizeof issue_table / sizeof issue_table[0])
#define N_EXTRA (sizeof extra_checks / sizeof extra_checks[0])

static void check_free(struct check *c)
{
    free(c->name);
    free(c->meaning);
    free(c->sql);
    free(c->source);
    memset(c, 0, sizeof *c);
}

static int parse(const char *text, struct check *c, char *err, size_t errlen)
{
    err[0] = '\0';
    return catalog_parse_check("checks.d/x.sql", text, c, err, errlen);
}

static void expect_parse_error(const char *text, const char *want)
{
    struct check c;
    char err[256];
    int rc = parse(text, &c, err, sizeof err);
    if (rc != -1 || strcmp(err, want) != 0) {
        print_error("text: %s\n  rc=%d err=\"%s\"\n  want -1 and \"%s\"\n", text, rc, err, want);
        check_free(&c);
        fail();
    }
    /* nothing is left allocated on failure */
    assert_null(c.name);
    assert_null(c.meaning);
    assert_null(c.sql);
    assert_null(c.source);
}

/* ---- header parsing --------------------------------------------------------- */

static void test_parse_valid(void **state)
{
    (void)state;
    const char *text = "-- check: my-check-2\n"
                       "-- severity: garbage\n"
                       "-- meaning: something left behind\n"
                       "--\n"
                       "-- More words.\n"
                       "SELECT 1 AS object;\n";
    struct check c;
    char err[256];
    assert_int_equal(parse(text, &c, err, sizeof err), 0);
    assert_string_equal(c.name, "my-check-2");
    assert_int_equal(c.default_severity, SEV_GARBAGE);
    assert_int_equal(c.severity, SEV_GARBAGE);
    assert_string_equal(c.meaning, "something left behind");
    assert_string_equal(c.sql, text);
    assert_string_equal(c.source, "checks.d/x.sql");
    assert_false(c.user);
    check_free(&c);

    static const struct { const char *word; enum severity sev; } sevs[] = {
        { "error", SEV_ERROR }, { "garbage", SEV_GARBAGE }, { "warning", SEV_WARNING },
    };
    for (size_t i = 0; i < 3; i++) {
        char buf[256];
        snprintf(buf, sizeof buf, "-- check: a\n-- severity: %s\n-- meaning: m\nSELECT 1 AS object;", sevs[i].word);
        assert_int_equal(parse(buf, &c, err, sizeof err), 0);
        assert_int_equal(c.default_severity, sevs[i].sev);
        assert_int_equal(c.severity, sevs[i].sev);
        check_free(&c);
    }
}

static void test_parse_spacing_and_order(void **state)
{
    (void)state;
    struct check c;
    char err[256];
    /* CRLF, extra spaces, no space after "--", any order, first line wins */
    const char *text = "--meaning:   two words   \r\n"
                       "--   severity:    warning \r\n"
                       "-- check: first\r\n"
                       "-- check: second\r\n"
                       "-- checker: not-a-key\r\n"
                       "SELECT 1 AS object;\r\n";
    assert_int_equal(parse(text, &c, err, sizeof err), 0);
    assert_string_equal(c.name, "first");
    assert_string_equal(c.meaning, "two words");
    assert_int_equal(c.severity, SEV_WARNING);
    check_free(&c);

    /* a header line "-- checker: x" is not "-- check:" */
    expect_parse_error("-- checker: x\n-- severity: error\n-- meaning: m\nSELECT 1;",
                       "checks.d/x.sql:1: header has no \"-- check: NAME\" line");
    /* the header ends at the first line that is not a comment */
    expect_parse_error("-- check: a\n-- severity: error\nSELECT 1 AS object;\n-- meaning: late\n",
                       "checks.d/x.sql:1: header has no \"-- meaning: ...\" line (or it is empty)");
    expect_parse_error("\n-- check: a\n-- severity: error\n-- meaning: m\nSELECT 1;",
                       "checks.d/x.sql:1: header has no \"-- check: NAME\" line");
    /* a block comment is not a header */
    expect_parse_error("/* check: a */\nSELECT 1;", "checks.d/x.sql:1: header has no \"-- check: NAME\" line");
    /* no SQL at all still parses the header (the runner reports the empty query) */
    assert_int_equal(parse("-- check: a\n-- severity: error\n-- meaning: m", &c, err, sizeof err), 0);
    check_free(&c);
}

static void test_parse_errors(void **state)
{
    (void)state;
    expect_parse_error("", "checks.d/x.sql:1: header has no \"-- check: NAME\" line");
    expect_parse_error("SELECT 1 AS object;", "checks.d/x.sql:1: header has no \"-- check: NAME\" line");
    expect_parse_error("-- severity: error\n-- meaning: m\nSELECT 1;",
                       "checks.d/x.sql:1: header has no \"-- check: NAME\" line");
    expect_parse_error("-- check: a\n-- meaning: m\nSELECT 1;",
                       "checks.d/x.sql:1: header has no \"-- severity: error|garbage|warning\" line");
    expect_parse_error("-- check: a\n-- severity: error\nSELECT 1;",
                       "checks.d/x.sql:1: header has no \"-- meaning: ...\" line (or it is empty)");
    /* a bad severity names its own line */
    expect_parse_error("-- check: a\n-- severity: fatal\n-- meaning: m\nSELECT 1;",
                       "checks.d/x.sql:2: severity must be error, garbage or warning");
    expect_parse_error("-- check: a\n--\n--\n-- severity: ignore\n-- meaning: m\nSELECT 1;",
                       "checks.d/x.sql:4: severity must be error, garbage or warning");
    expect_parse_error("-- check: a\n-- severity: Error\n-- meaning: m\nSELECT 1;",
                       "checks.d/x.sql:2: severity must be error, garbage or warning");
    expect_parse_error("-- check: a\n-- severity:\n-- meaning: m\nSELECT 1;",
                       "checks.d/x.sql:2: severity must be error, garbage or warning");
    /* names: kebab-case [a-z0-9-] */
    const char *bad_names[] = { "My-Check", "my_check", "my check", "-leading", "my.check", "caf\xc3\xa9",
                                "../x", "a/b", "" };
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        char buf[256];
        snprintf(buf, sizeof buf, "-- check: %s\n-- severity: error\n-- meaning: m\nSELECT 1;", bad_names[i]);
        expect_parse_error(buf, "checks.d/x.sql:1: check name must be kebab-case [a-z0-9-]");
    }
}

static void test_parse_kebab_strict(void **state)
{
    (void)state;
    expect_parse_error("-- check: trailing-\n-- severity: error\n-- meaning: m\nSELECT 1;",
                       "checks.d/x.sql:1: check name must be kebab-case [a-z0-9-]");
    expect_parse_error("-- check: double--dash\n-- severity: error\n-- meaning: m\nSELECT 1;",
                       "checks.d/x.sql:1: check name must be kebab-case [a-z0-9-]");
}

static void test_parse_empty_meaning(void **state)
{
    (void)state;
    expect_parse_error("-- check: a\n-- severity: error\n-- meaning:   \nSELECT 1 AS object;",
                       "checks.d/x.sql:1: header has no \"-- meaning: ...\" line (or it is empty)");
}

/* ---- catalog operations ----------------------------------------------------------- */

static void add_text(struct catalog *cat, const char *source, const char *name, const char *sev)
{
    char buf[256], err[256];
    struct check c;
    snprintf(buf, sizeof buf, "-- check: %s\n-- severity: %s\n-- meaning: m\nSELECT 1 AS object WHERE 0;", name, sev);
    assert_int_equal(catalog_parse_check(source, buf, &c, err, sizeof err), 0);
    assert_int_equal(catalog_add(cat, &c, err, sizeof err), 0);
}

static void test_duplicates_and_find(void **state)
{
    (void)state;
    struct catalog cat = { 0 };
    char err[256];
    add_text(&cat, "a.sql", "one", "error");
    add_text(&cat, "b.sql", "two", "warning");
    assert_int_equal(cat.count, 2);

    struct check dup;
    assert_int_equal(catalog_parse_check("c.sql", "-- check: one\n-- severity: garbage\n-- meaning: m\nSELECT 1;",
                                         &dup, err, sizeof err), 0);
    err[0] = '\0';
    assert_int_equal(catalog_add(&cat, &dup, err, sizeof err), -1);
    assert_string_equal(err, "c.sql: check one is already defined");
    assert_int_equal(cat.count, 2);
    check_free(&dup);   /* not taken over on failure */

    struct check *c = catalog_find(&cat, "two");
    assert_non_null(c);
    assert_string_equal(c->source, "b.sql");
    assert_null(catalog_find(&cat, "three"));
    assert_null(catalog_find(&cat, "tw"));
    assert_null(catalog_find(&cat, ""));
    catalog_free(&cat);
    assert_int_equal(cat.count, 0);
    assert_null(cat.checks);
}

static void test_set_severities(void **state)
{
    (void)state;
    struct catalog cat = { 0 };
    char err[256];
    add_text(&cat, "a.sql", "one", "error");
    add_text(&cat, "b.sql", "two", "garbage");
    add_text(&cat, "c.sql", "three", "warning");
    assert_int_equal(catalog_set_severities(&cat, "one,three", SEV_IGNORE, err, sizeof err), 0);
    assert_int_equal(catalog_find(&cat, "one")->severity, SEV_IGNORE);
    assert_int_equal(catalog_find(&cat, "two")->severity, SEV_GARBAGE);
    assert_int_equal(catalog_find(&cat, "three")->severity, SEV_IGNORE);
    /* the default stays as the file says */
    assert_int_equal(catalog_find(&cat, "one")->default_severity, SEV_ERROR);
    assert_int_equal(catalog_set_severities(&cat, "two", SEV_WARNING, err, sizeof err), 0);
    assert_int_equal(catalog_find(&cat, "two")->severity, SEV_WARNING);
    /* empty items are skipped */
    assert_int_equal(catalog_set_severities(&cat, ",two,,", SEV_ERROR, err, sizeof err), 0);
    assert_int_equal(catalog_find(&cat, "two")->severity, SEV_ERROR);
    /* an unknown name is an error that names it */
    err[0] = '\0';
    assert_int_equal(catalog_set_severities(&cat, "two,nope", SEV_IGNORE, err, sizeof err), -1);
    assert_string_equal(err, "unknown check 'nope' (see --list-checks)");
    err[0] = '\0';
    assert_int_equal(catalog_set_severities(&cat, "One", SEV_IGNORE, err, sizeof err), -1);
    assert_string_equal(err, "unknown check 'One' (see --list-checks)");
    catalog_free(&cat);
}

static void test_severity_names(void **state)
{
    (void)state;
    enum severity s;
    const char *names[] = { "error", "garbage", "warning", "ignore" };
    for (int i = 0; i < 4; i++) {
        assert_int_equal(severity_parse(names[i], &s), 0);
        assert_int_equal(s, (enum severity)i);
        assert_string_equal(severity_name(s), names[i]);
    }
    assert_int_equal(severity_parse("Error", &s), -1);
    assert_int_equal(severity_parse("", &s), -1);
    assert_int_equal(severity_parse("errors", &s), -1);
}

/* ---- declarations (issue 14) --------------------------------------------- */

static void test_parse_declarations(void **state)
{
    (void)state;
    struct check c;
    char err[256];
    const char *text = "-- check: a\n-- severity: garbage\n-- meaning: m\n-- store: docker\n"
                       "-- needs: overlay_ref, layer_dead\n-- action: reap\n"
                       "SELECT o.name AS object FROM overlay_dir o JOIN overlay_ref r ON r.dir = o.name\n"
                       " WHERE o.name IN (SELECT chain_id FROM layer_dead);";
    assert_int_equal(catalog_parse_check_strict("x.sql", text, true, &c, err, sizeof err), 0);
    assert_int_equal(c.store, STORE_DOCKER);
    assert_int_equal(c.needs, DERIVED_OVERLAY_REF | DERIVED_LAYER_DEAD);
    assert_int_equal(c.action, ACTION_REAP);
    check_free(&c);
    /* nothing declared: no derived table, no action */
    assert_int_equal(parse("-- check: a\n-- severity: error\n-- meaning: m\nSELECT 1 AS object;", &c, err, sizeof err), 0);
    assert_int_equal(c.needs, 0);
    assert_int_equal(c.action, ACTION_NONE);
    assert_int_equal(c.store, STORE_DOCKER);
    check_free(&c);
    /* an own check that reads a derived table without saying so still waits for it */
    assert_int_equal(parse("-- check: a\n-- severity: error\n-- meaning: m\nSELECT dir AS object FROM overlay_ref;",
                           &c, err, sizeof err), 0);
    assert_int_equal(c.needs, DERIVED_OVERLAY_REF);
    check_free(&c);
    static const char *const names[] = { "none", "reap", "reap-include", "repair" };
    for (int a = 0; a < ACTION_COUNT; a++)
        assert_string_equal(check_action_name((enum check_action)a), names[a]);
    assert_string_equal(store_kind_name(STORE_DOCKER), "docker");
}

static void test_parse_declaration_errors(void **state)
{
    (void)state;
    /* a table it declares but does not read (the word in a comment of the header does not count) */
    expect_parse_error("-- check: a\n-- severity: error\n-- meaning: reads overlay_ref\n-- needs: overlay_ref\n"
                       "SELECT 1 AS object;",
                       "checks.d/x.sql:4: declares a derived table it does not read: overlay_ref");
    expect_parse_error("-- check: a\n-- severity: error\n-- meaning: m\n-- needs: overlay_ref, bogus\n"
                       "SELECT dir AS object FROM overlay_ref;",
                       "checks.d/x.sql:4: unknown derived table: bogus");
    expect_parse_error("-- check: a\n-- severity: error\n-- meaning: m\n--\n-- action: remove\nSELECT 1 AS object;",
                       "checks.d/x.sql:5: unknown action (known: reap, reap-include, repair, none): remove");
    expect_parse_error("-- check: a\n-- severity: error\n-- meaning: m\n-- store: podman\nSELECT 1 AS object;",
                       "checks.d/x.sql:4: unknown store (known: docker): podman");
    /* strict (built-in checks): a derived table read without "-- needs:" */
    struct check c;
    char err[256];
    assert_int_equal(catalog_parse_check_strict("sql/checks/b.sql",
                                                "-- check: b\n-- severity: error\n-- meaning: m\n"
                                                "SELECT chain_id AS object FROM layer_dead;",
                                                true, &c, err, sizeof err), -1);
    assert_string_equal(err, "sql/checks/b.sql:1: reads a derived table it does not declare in \"-- needs:\": layer_dead");
    assert_null(c.name);
}

/* Every built-in check declares what it reads and what acts on it; the
 * reaper's and repair's checks are exactly these. */
static void test_builtin_declarations(void **state)
{
    (void)state;
    struct catalog cat = { 0 };
    char err[256];
    assert_int_equal(catalog_load_builtin(&cat, err, sizeof err), 0);
    static const struct { const char *name; enum check_action action; unsigned needs; } want[] = {
        { "overlay-dir-orphaned", ACTION_REAP, DERIVED_OVERLAY_REF | DERIVED_LOWER_UNRESOLVED | DERIVED_LOWER_UNKNOWN },
        { "layer-unreferenced", ACTION_REAP, DERIVED_LAYER_DEAD },
        { "root-tmp-leftover", ACTION_REAP, 0 },
        { "container-removal-leftover", ACTION_REAP, 0 },
        { "image-layer-missing", ACTION_REAP_INCLUDE, 0 },
        { "layer-cache-id-dangling", ACTION_REAP_INCLUDE, 0 },
        { "overlay-lower-invalid", ACTION_REPAIR, DERIVED_OVERLAY_REF | DERIVED_EXPECTED_LOWER | DERIVED_LOWER_UNRESOLVED },
        { "overlay-link-missing", ACTION_REPAIR, DERIVED_OVERLAY_REF },
        { "layer-cache-id-shared", ACTION_NONE, DERIVED_OVERLAY_REF },
        { "mount-id-dangling", ACTION_NONE, 0 },
        { "tag-dangling", ACTION_NONE, 0 },
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        struct check *c = catalog_find(&cat, want[i].name);
        assert_non_null(c);
        if (c->action != want[i].action || c->needs != want[i].needs)
            fail_msg("%s: action %s needs %u, want %s %u", c->name, check_action_name(c->action), c->needs,
                     check_action_name(want[i].action), want[i].needs);
    }
    for (size_t i = 0; i < cat.count; i++) {
        const struct check *c = &cat.checks[i];
        /* issue 15's and 16's checks are containerd's (no derive, nothing acts on them yet); the rest Docker's */
        bool containerd = false;
        for (size_t j = 0; j < N_EXTRA; j++)
            containerd |= strcmp(c->name, extra_checks[j].name) == 0 && j >= N_EXTRA - 20;
        assert_int_equal(c->store, containerd ? STORE_CONTAINERD : STORE_DOCKER);
        /* the containerd reaper (src/reap_containerd.c) acts on what lives on disk only */
        bool cd_reap = strcmp(c->name, "snapshot-dir-orphaned") == 0 || strcmp(c->name, "snapshot-dir-blocks-create") == 0 ||
                       strcmp(c->name, "content-blob-orphaned") == 0 || strcmp(c->name, "ingest-leftover") == 0;
        if (containerd) {
            assert_int_equal(c->needs, 0);
            assert_int_equal(c->action, cd_reap ? ACTION_REAP : ACTION_NONE);
        }
        /* the reaper acts on garbage; errors only when --include names them (except the
         * containerd dir that makes the next Prepare fail: no record names it) */
        if (c->action == ACTION_REAP && c->default_severity != SEV_GARBAGE &&
            strcmp(c->name, "snapshot-dir-blocks-create") != 0)
            fail_msg("%s reaps but is not garbage", c->name);
    }
    catalog_free(&cat);
}

/* ---- the built-in catalog ----------------------------------------------------------- */

static void test_builtin_exact_names(void **state)
{
    (void)state;
    struct catalog cat = { 0 };
    char err[256];
    assert_int_equal(catalog_load_builtin(&cat, err, sizeof err), 0);
    bool ok = true;
    for (size_t i = 0; i < N_TABLE; i++) {
        struct check *c = catalog_find(&cat, issue_table[i].name);
        if (!c) {
            print_error("issue 2's check %s is not in the catalog\n", issue_table[i].name);
            ok = false;
        } else if (c->default_severity != issue_table[i].sev) {
            print_error("%s: severity %s, issue 2 says %s\n", c->name, severity_name(c->default_severity),
                        severity_name(issue_table[i].sev));
            ok = false;
        }
    }
    for (size_t i = 0; i < N_EXTRA; i++) {
        struct check *c = catalog_find(&cat, extra_checks[i].name);
        if (!c || c->default_severity != extra_checks[i].sev) {
            print_error("extra check %s missing or with another severity\n", extra_checks[i].name);
            ok = false;
        }
    }
    /* nothing else */
    for (size_t i = 0; i < cat.count; i++) {
        bool known = false;
        for (size_t j = 0; j < N_TABLE && !known; j++)
            known = strcmp(cat.checks[i].name, issue_table[j].name) == 0;
        for (size_t j = 0; j < N_EXTRA && !known; j++)
            known = strcmp(cat.checks[i].name, extra_checks[j].name) == 0;
        if (!known) {
            print_error("catalog has %s, which neither issue 2 nor this test lists\n", cat.checks[i].name);
            ok = false;
        }
    }
    if (cat.count != N_TABLE + N_EXTRA) {
        print_error("catalog has %zu checks, want %zu\n", cat.count, N_TABLE + N_EXTRA);
        ok = false;
    }
    catalog_free(&cat);
    assert_true(ok);
}

static void test_builtin_files(void **state)
{
    (void)state;
    struct catalog cat = { 0 };
    char err[256];
    assert_int_equal(catalog_load_builtin(&cat, err, sizeof err), 0);
    /* every embedded checks/ file gave one check, named after its file */
    size_t files = 0;
    for (size_t i = 0; i < embedded_file_count; i++)
        if (strstr(embedded_files[i].name, "checks/"))
            files++;
    assert_int_equal(files, cat.count);
    for (size_t i = 0; i < cat.count; i++) {
        const struct check *c = &cat.checks[i];
        char want[256];
        snprintf(want, sizeof want, "sql/checks/%s.sql", c->name);
        assert_string_equal(c->source, want);
        assert_true(strlen(c->meaning) > 10);
        assert_int_equal(c->severity, c->default_severity);
        assert_false(c->user);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(c->name, cat.checks[j].name);
    }
    /* loading them again into the same catalog: every name is a duplicate */
    err[0] = '\0';
    assert_int_equal(catalog_load_builtin(&cat, err, sizeof err), -1);
    assert_non_null(strstr(err, "is already defined"));
    catalog_free(&cat);
}

/* Every built-in check is one read-only SELECT over the schema giving the
 * columns the runner maps (object, path, detail, mtime). */
static void test_builtin_sql_valid(void **state)
{
    (void)state;
    struct catalog cat = { 0 };
    struct db db;
    char err[256];
    assert_int_equal(catalog_load_builtin(&cat, err, sizeof err), 0);
    u_db_open(&db);
    bool ok = true;
    for (size_t i = 0; i < cat.count; i++) {
        const struct check *c = &cat.checks[i];
        sqlite3_stmt *q = NULL;
        const char *tail = NULL;
        if (sqlite3_prepare_v2(db.h, c->sql, -1, &q, &tail) != SQLITE_OK || !q) {
            print_error("%s: %s\n", c->name, sqlite3_errmsg(db.h));
            ok = false;
            continue;
        }
        /* nothing but whitespace and comments after the statement */
        sqlite3_stmt *rest = NULL;
        if (tail && sqlite3_prepare_v2(db.h, tail, -1, &rest, NULL) == SQLITE_OK && rest) {
            print_error("%s: more than one statement\n", c->name);
            ok = false;
        }
        sqlite3_finalize(rest);
        if (!sqlite3_stmt_readonly(q)) {
            print_error("%s: not read-only\n", c->name);
            ok = false;
        }
        const char *need[] = { "object", "path", "detail", "mtime" };
        for (size_t k = 0; k < 4; k++) {
            bool have = false;
            for (int col = 0; col < sqlite3_column_count(q); col++)
                have = have || strcmp(sqlite3_column_name(q, col), need[k]) == 0;
            if (!have) {
                print_error("%s: no column named %s\n", c->name, need[k]);
                ok = false;
            }
        }
        /* on an empty database no check finds anything */
        int rc = sqlite3_step(q);
        if (rc != SQLITE_DONE) {
            print_error("%s: on an empty database step gave %d (%s)\n", c->name, rc, sqlite3_errmsg(db.h));
            ok = false;
        }
        sqlite3_finalize(q);
    }
    db_close(&db);
    catalog_free(&cat);
    assert_true(ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_spacing_and_order),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_kebab_strict),
        cmocka_unit_test(test_parse_empty_meaning),
        cmocka_unit_test(test_duplicates_and_find),
        cmocka_unit_test(test_set_severities),
        cmocka_unit_test(test_severity_names),
        cmocka_unit_test(test_parse_declarations),
        cmocka_unit_test(test_parse_declaration_errors),
        cmocka_unit_test(test_builtin_declarations),
        cmocka_unit_test(test_builtin_exact_names),
        cmocka_unit_test(test_builtin_files),
        cmocka_unit_test(test_builtin_sql_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
