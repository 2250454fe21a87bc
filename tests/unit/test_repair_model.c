/* test_repair_model.c — which name and which lower --repair gives each dir
 * (src/repair_model.c), on scan databases filled by hand: a chain
 * base <- mid <- top, a container's -init dir on top and its RW dir on the
 * -init dir. Evidence in order: a consistent link file and l/ symlink, a
 * valid link file alone, an l/ symlink still pointing at the dir, the
 * children's lower files, else a fresh name; one name per dir; expected
 * lowers nearest parent first, unknown where the chain cannot be trusted. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit_util.h"

#include "ids.h"
#include "repair.h"

#define NA "AAAAAAAAAAAAAAAAAAAAAAAAAA"
#define NB "BBBBBBBBBBBBBBBBBBBBBBBBBB"
#define NC "CCCCCCCCCCCCCCCCCCCCCCCCCC"
#define NI "IIIIIIIIIIIIIIIIIIIIIIIIII"
#define NR "RRRRRRRRRRRRRRRRRRRRRRRRRR"

#define DA "a000000000000000000000000000000000000000000000000000000000000000"
#define DB "b000000000000000000000000000000000000000000000000000000000000000"
#define DC "c000000000000000000000000000000000000000000000000000000000000000"
#define DR "d000000000000000000000000000000000000000000000000000000000000000"
#define DI DR "-init"
#define CHA "1000000000000000000000000000000000000000000000000000000000000000"
#define CHB "2000000000000000000000000000000000000000000000000000000000000000"
#define CHC "3000000000000000000000000000000000000000000000000000000000000000"
#define CTR "9000000000000000000000000000000000000000000000000000000000000000"

static struct db DBH;
static struct repair_model M;

static void add_layer(const char *chain, const char *cache, const char *parent)
{
    u_exec(&DBH, "INSERT INTO layer(chain_id, name_ok, is_dir, diff, diff_state, parent, parent_state, cache_id,"
                 " cache_id_state, size_state, has_tarsplit, entries) VALUES (%Q, 1, 1, NULL, 'missing', %Q, %Q, %Q,"
                 " 'ok', 'ok', 1, -1)", chain, parent, parent ? "ok" : "missing", cache);
    u_exec(&DBH, "INSERT INTO overlay_ref(dir, by_kind, by_id) VALUES (%Q, 'layer', %Q)", cache, chain);
}

static void add_dir(const char *name, const char *link, const char *lower)
{
    u_exec(&DBH, "INSERT INTO overlay_dir(name, kind, has_diff, diff_kind, link, link_state, lower, lower_state,"
                 " has_work, committed, has_merged, mtime) VALUES (%Q, 'layer', 1, 'dir', %Q, %Q, %Q, %Q, %d, 0, 0, 1)",
           name, link, link ? "ok" : "empty", lower, lower ? "ok" : "missing", lower != NULL);
}

static void add_link(const char *name, const char *dir)
{
    u_exec(&DBH, "INSERT INTO link(name, type, target, target_dir, mtime) VALUES (%Q, 'symlink', '../' || %Q || '/diff',"
                 " %Q, 1)", name, dir, dir);
}

/* The healthy store: every dir, link file, symlink and lower as dockerd writes them. */
static void healthy(bool skip_b_link, bool skip_b_symlink)
{
    add_layer(CHA, DA, NULL);
    add_layer(CHB, DB, CHA);
    add_layer(CHC, DC, CHB);
    u_exec(&DBH, "INSERT INTO mount(container_id, name_ok, mount_id, mount_id_state, init_id, init_id_state, parent,"
                 " parent_state) VALUES (%Q, 1, %Q, 'ok', %Q, 'ok', %Q, 'ok')", CTR, DR, DI, CHC);
    u_exec(&DBH, "INSERT INTO overlay_ref(dir, by_kind, by_id) VALUES (%Q, 'mount', %Q), (%Q, 'init', %Q)", DR, CTR, DI, CTR);
    add_dir(DA, NA, NULL);
    add_dir(DB, skip_b_link ? NULL : NB, "l/" NA);
    add_dir(DC, NC, "l/" NB ":l/" NA);
    add_dir(DI, NI, "l/" NC ":l/" NB ":l/" NA);
    add_dir(DR, NR, "l/" NI ":l/" NC ":l/" NB ":l/" NA);
    add_link(NA, DA);
    if (!skip_b_symlink)
        add_link(NB, DB);
    add_link(NC, DC);
    add_link(NI, DI);
    add_link(NR, DR);
}

static int setup(void **state)
{
    (void)state;
    char err[256];
    memset(&M, 0, sizeof M);
    return db_open(&DBH, NULL, err, sizeof err);
}

static int teardown(void **state)
{
    (void)state;
    repair_model_free(&M);
    db_close(&DBH);
    return 0;
}

static const struct repair_dir *resolve_and_get(const char *name)
{
    char err[256] = "";
    assert_int_equal(repair_model_load(&M, &DBH, err, sizeof err), 0);
    assert_int_equal(repair_model_resolve(&M, err, sizeof err), 0);
    long i = repair_model_find_dir(&M, name);
    assert_true(i >= 0);
    return &M.dirs[i];
}

static const struct repair_dir *dir(const char *name)
{
    long i = repair_model_find_dir(&M, name);
    assert_true(i >= 0);
    return &M.dirs[i];
}

static void consistent_store(void **state)
{
    (void)state;
    healthy(false, false);
    const struct repair_dir *b = resolve_and_get(DB);
    assert_int_equal(b->source, SRC_CONSISTENT);
    assert_string_equal(b->target, NB);
    assert_int_equal(dir(DA)->lower_done, 2);
    assert_null(dir(DA)->expected_lower);
    assert_string_equal(dir(DC)->expected_lower, "l/" NB ":l/" NA);
    assert_string_equal(dir(DI)->expected_lower, "l/" NC ":l/" NB ":l/" NA);
    assert_string_equal(dir(DR)->expected_lower, "l/" NI ":l/" NC ":l/" NB ":l/" NA);
    assert_int_equal(repair_model_name_owner(&M, NR), repair_model_find_dir(&M, DR));
}

static void link_file_alone(void **state)
{
    (void)state;
    healthy(false, true);   /* l/NB deleted, link file intact */
    const struct repair_dir *b = resolve_and_get(DB);
    assert_int_equal(b->source, SRC_LINK_FILE);
    assert_string_equal(b->target, NB);
}

static void symlink_still_pointing(void **state)
{
    (void)state;
    healthy(true, false);   /* link file emptied, l/NB still there */
    const struct repair_dir *b = resolve_and_get(DB);
    assert_int_equal(b->source, SRC_SYMLINK);
    assert_string_equal(b->target, NB);
}

static void children_lowers(void **state)
{
    (void)state;
    healthy(true, true);    /* link file emptied and l/NB deleted */
    const struct repair_dir *b = resolve_and_get(DB);
    assert_int_equal(b->source, SRC_LOWER);
    assert_string_equal(b->target, NB);
    assert_non_null(strstr(b->source_why, "lower files of 3 dirs"));   /* top, -init, RW */
    assert_string_equal(dir(DR)->expected_lower, "l/" NI ":l/" NC ":l/" NB ":l/" NA);
}

static void minted_when_nothing_is_left(void **state)
{
    (void)state;
    healthy(true, true);
    u_exec(&DBH, "UPDATE overlay_dir SET lower = '', lower_state = 'empty' WHERE name IN (%Q, %Q, %Q)", DC, DI, DR);
    const struct repair_dir *b = resolve_and_get(DB);
    assert_int_equal(b->source, SRC_MINTED);
    assert_true(id_is_link_name(b->target, strlen(b->target)));
    assert_string_not_equal(b->target, NB);
    char want[200];
    snprintf(want, sizeof want, "l/" NC ":l/%s:l/" NA, b->target);
    assert_string_equal(dir(DI)->expected_lower, want);   /* every lower that must name it */
}

static void one_name_per_dir(void **state)
{
    (void)state;
    healthy(false, false);
    /* a copy of B's dir under another name, claimed by another layer, same link file */
    add_layer("4000000000000000000000000000000000000000000000000000000000000000",
              "e000000000000000000000000000000000000000000000000000000000000000", CHA);
    add_dir("e000000000000000000000000000000000000000000000000000000000000000", NB, "l/" NA);
    const struct repair_dir *b = resolve_and_get(DB);
    const struct repair_dir *e = dir("e000000000000000000000000000000000000000000000000000000000000000");
    assert_int_equal(b->source, SRC_CONSISTENT);       /* l/NB points at B: B keeps it */
    assert_int_equal(e->source, SRC_MINTED);           /* nothing else names E */
    assert_string_not_equal(e->target, NB);
}

static void untrusted_chain_has_no_expected_lower(void **state)
{
    (void)state;
    healthy(false, false);
    /* B's chainID does not match its diff and parent: its parent is not trusted */
    u_exec(&DBH, "UPDATE layer SET computed_chain = '5000000000000000000000000000000000000000000000000000000000000000'"
                 " WHERE chain_id = %Q", CHB);
    resolve_and_get(DB);
    assert_int_equal(dir(DB)->lower_done, 3);
    assert_int_equal(dir(DR)->lower_done, 3);          /* nor anything built on it */
    assert_int_equal(dir(DA)->lower_done, 2);
    assert_non_null(strstr(dir(DB)->lower_why, "chainID"));
}

static void rw_dir_without_init_is_unknown(void **state)
{
    (void)state;
    healthy(false, false);
    u_exec(&DBH, "UPDATE mount SET init_id_state = 'missing'");
    resolve_and_get(DR);
    assert_int_equal(dir(DR)->lower_done, 3);
    assert_string_equal(dir(DC)->expected_lower, "l/" NB ":l/" NA);
}

/* Issue 20: the dirs of a container dockerd was removing are never rebuilt
 * (its removal is finished by the reaper, not undone): not "referenced" for
 * repair, whatever the damage; the same dirs of a live container are. */
static void removed_container_dirs_are_not_repaired(void **state)
{
    (void)state;
    healthy(false, false);
    u_exec(&DBH, "UPDATE overlay_dir SET link = NULL, link_state = 'missing', lower = NULL, lower_state = 'missing',"
                 " has_work = 0 WHERE name = %Q", DR);
    u_exec(&DBH, "INSERT INTO container(id, name_ok, config_state, image, driver, name, dead, removing, mtime)"
                 " VALUES (%Q, 1, 'ok', NULL, 'overlay2', '/c', 1, 0, 1)", CTR);
    resolve_and_get(DR);
    assert_false(dir(DR)->referenced);
    assert_false(dir(DI)->referenced);
    assert_true(dir(DC)->referenced);
    repair_model_free(&M);
    memset(&M, 0, sizeof M);
    u_exec(&DBH, "UPDATE container SET dead = 0, removing = 0");
    resolve_and_get(DR);
    assert_true(dir(DR)->referenced);   /* a live container's RW dir: repaired */
    assert_true(dir(DI)->referenced);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(consistent_store, setup, teardown),
        cmocka_unit_test_setup_teardown(link_file_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(symlink_still_pointing, setup, teardown),
        cmocka_unit_test_setup_teardown(children_lowers, setup, teardown),
        cmocka_unit_test_setup_teardown(minted_when_nothing_is_left, setup, teardown),
        cmocka_unit_test_setup_teardown(one_name_per_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(untrusted_chain_has_no_expected_lower, setup, teardown),
        cmocka_unit_test_setup_teardown(rw_dir_without_init_is_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(removed_container_dirs_are_not_repaired, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
