/* test_repair.c — the pure parts of --repair (src/repair_name.c): lower
 * strings as dockerd's overlay2 driver builds them (nearest parent first,
 * at most 128 entries), minted short names (26 chars of [A-Z2-7], random,
 * never a taken name), and which name the evidence left on disk gives a
 * dir (an l/ symlink pointing at it, then the children's lower files). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "repair.h"

#define NAME_A "AAAAAAAAAAAAAAAAAAAAAAAAAA"
#define NAME_B "BBBBBBBBBBBBBBBBBBBBBBBBBB"
#define NAME_C "CCCCCCCCCCCCCCCCCCCCCCCCCC"
#define NAME_D "DDDDDDDDDDDDDDDDDDDDDDDDDD"

/* ---- lower strings -------------------------------------------------------- */

static void lower_of_a_child_of_a_base_layer(void **state)
{
    (void)state;
    char *s = repair_lower_build(NAME_A, NULL);
    assert_string_equal(s, "l/" NAME_A);
    free(s);
    s = repair_lower_build(NAME_A, "");
    assert_string_equal(s, "l/" NAME_A);
    free(s);
}

static void lower_nearest_parent_first(void **state)
{
    (void)state;
    char *s = repair_lower_build(NAME_C, "l/" NAME_B ":l/" NAME_A);
    assert_string_equal(s, "l/" NAME_C ":l/" NAME_B ":l/" NAME_A);
    assert_int_equal(repair_lower_count(s), 3);
    free(s);
}

/* A chain as dockerd builds it: each dir's lower from its parent's. */
static void lower_chain_of_five(void **state)
{
    (void)state;
    const char *names[] = { NAME_A, NAME_B, NAME_C, NAME_D, NAME_A };
    char *lower = NULL;
    for (size_t i = 0; i < 5; i++) {
        char *next = repair_lower_build(names[i], lower);
        free(lower);
        lower = next;
    }
    assert_string_equal(lower, "l/" NAME_A ":l/" NAME_D ":l/" NAME_C ":l/" NAME_B ":l/" NAME_A);
    free(lower);
}

static char *lower_of(size_t n)
{
    size_t len = n * (2 + LINK_NAME_LEN + 1);
    char *s = malloc(len + 1);
    s[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        strcat(s, i ? ":l/" : "l/");
        strcat(s, NAME_B);
    }
    return s;
}

static void lower_at_most_128_entries(void **state)
{
    (void)state;
    char *p127 = lower_of(127), *p128 = lower_of(128);
    assert_int_equal(repair_lower_count(p127), 127);
    char *s = repair_lower_build(NAME_A, p127);
    assert_non_null(s);
    assert_int_equal(repair_lower_count(s), 128);
    free(s);
    assert_null(repair_lower_build(NAME_A, p128));   /* dockerd: "max depth exceeded" */
    free(p127);
    free(p128);
}

static void lower_needs_a_valid_parent_name(void **state)
{
    (void)state;
    assert_null(repair_lower_build(NULL, NULL));
    assert_null(repair_lower_build("", NULL));
    assert_null(repair_lower_build("SHORT", NULL));
    assert_int_equal(repair_lower_count(NULL), 0);
    assert_int_equal(repair_lower_count(""), 0);
}

/* ---- minted names ----------------------------------------------------------- */

static void name_from_bytes_uses_the_base32_alphabet(void **state)
{
    (void)state;
    unsigned char raw[LINK_NAME_LEN];
    char out[LINK_NAME_LEN + 1];
    for (int b = 0; b < 256; b++) {
        memset(raw, b, sizeof raw);
        repair_name_from_bytes(raw, out);
        assert_int_equal(strlen(out), LINK_NAME_LEN);
        assert_true(id_is_link_name(out, LINK_NAME_LEN));
    }
    for (size_t i = 0; i < LINK_NAME_LEN; i++)
        raw[i] = (unsigned char)i;
    repair_name_from_bytes(raw, out);
    assert_string_equal(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    for (size_t i = 0; i < LINK_NAME_LEN; i++)
        raw[i] = (unsigned char)(26 + i % 6);
    repair_name_from_bytes(raw, out);
    assert_memory_equal(out, "234567", 6);
}

static void minted_names_are_valid_and_differ(void **state)
{
    (void)state;
    int seen[32] = { 0 };
    char prev[LINK_NAME_LEN + 1] = "";
    for (int i = 0; i < 200; i++) {
        char name[LINK_NAME_LEN + 1];
        assert_int_equal(repair_mint_name(name, NULL, NULL), 0);
        assert_int_equal(strlen(name), LINK_NAME_LEN);
        assert_true(id_is_link_name(name, LINK_NAME_LEN));
        assert_string_not_equal(name, prev);
        for (size_t k = 0; k < LINK_NAME_LEN; k++)
            seen[strchr(repair_name_alphabet, name[k]) - repair_name_alphabet]++;
        memcpy(prev, name, sizeof prev);
    }
    for (int c = 0; c < 32; c++)   /* 5200 draws: every char shows up */
        assert_true(seen[c] > 0);
}

struct taken_ctx {
    int calls;
    int refuse_first;
};

static bool refuse_some(void *ctx, const char *name)
{
    struct taken_ctx *t = ctx;
    (void)name;
    return t->calls++ < t->refuse_first;
}

static void minting_skips_taken_names(void **state)
{
    (void)state;
    char name[LINK_NAME_LEN + 1];
    struct taken_ctx t = { 0, 3 };
    assert_int_equal(repair_mint_name(name, refuse_some, &t), 0);
    assert_int_equal(t.calls, 4);
    assert_true(id_is_link_name(name, LINK_NAME_LEN));
    struct taken_ctx all = { 0, 1000 };
    assert_int_equal(repair_mint_name(name, refuse_some, &all), -1);
    assert_string_equal(name, "");
}

/* ---- evidence -------------------------------------------------------------------- */

static const char *taken_name;

static bool taken_one(void *ctx, const char *name)
{
    (void)ctx;
    return taken_name && strcmp(name, taken_name) == 0;
}

static enum repair_source pick(const char *const *links, size_t nl, const struct repair_vote *votes, size_t nv,
                               char out[LINK_NAME_LEN + 1])
{
    struct repair_evidence ev = { links, nl, votes, nv };
    return repair_pick_name(&ev, taken_one, NULL, out);
}

static void evidence_symlink_first(void **state)
{
    (void)state;
    char out[LINK_NAME_LEN + 1];
    const char *links[] = { NAME_B };
    struct repair_vote votes[] = { { NAME_A, 3 } };
    taken_name = NULL;
    assert_int_equal(pick(links, 1, votes, 1, out), SRC_SYMLINK);
    assert_string_equal(out, NAME_B);
}

static void evidence_several_symlinks(void **state)
{
    (void)state;
    char out[LINK_NAME_LEN + 1];
    const char *links[] = { NAME_C, NAME_B, NAME_D };
    struct repair_vote votes[] = { { NAME_D, 2 }, { NAME_C, 1 } };
    taken_name = NULL;
    assert_int_equal(pick(links, 3, votes, 2, out), SRC_SYMLINK);
    assert_string_equal(out, NAME_D);   /* the one most children name */
    assert_int_equal(pick(links, 3, NULL, 0, out), SRC_SYMLINK);
    assert_string_equal(out, NAME_B);   /* no votes: the smallest */
    taken_name = NAME_D;
    assert_int_equal(pick(links, 3, votes, 2, out), SRC_SYMLINK);
    assert_string_equal(out, NAME_C);   /* a taken name is passed over */
}

static void evidence_lower_votes(void **state)
{
    (void)state;
    char out[LINK_NAME_LEN + 1];
    struct repair_vote votes[] = { { NAME_C, 1 }, { NAME_B, 4 }, { NAME_A, 4 } };
    taken_name = NULL;
    assert_int_equal(pick(NULL, 0, votes, 3, out), SRC_LOWER);
    assert_string_equal(out, NAME_A);   /* most votes, ties to the smallest */
    taken_name = NAME_A;
    assert_int_equal(pick(NULL, 0, votes, 3, out), SRC_LOWER);
    assert_string_equal(out, NAME_B);
}

static void evidence_taken_symlink_falls_back_to_votes(void **state)
{
    (void)state;
    char out[LINK_NAME_LEN + 1];
    const char *links[] = { NAME_A };
    struct repair_vote votes[] = { { NAME_C, 2 } };
    taken_name = NAME_A;
    assert_int_equal(pick(links, 1, votes, 1, out), SRC_LOWER);
    assert_string_equal(out, NAME_C);
}

static void evidence_none_means_mint(void **state)
{
    (void)state;
    char out[LINK_NAME_LEN + 1];
    const char *bad[] = { "not-a-name", "AAAAAAAAAAAAAAAAAAAAAAAAA1" };
    struct repair_vote votes[] = { { "lowercaseaaaaaaaaaaaaaaaaa", 5 }, { NAME_A, 0 } };
    taken_name = NULL;
    assert_int_equal(pick(NULL, 0, NULL, 0, out), SRC_NONE);
    assert_string_equal(out, "");
    assert_int_equal(pick(bad, 2, votes, 2, out), SRC_NONE);   /* malformed names, zero votes */
    taken_name = NAME_B;
    struct repair_vote only_taken[] = { { NAME_B, 9 } };
    assert_int_equal(pick(NULL, 0, only_taken, 1, out), SRC_NONE);
}

static void source_names(void **state)
{
    (void)state;
    assert_string_equal(repair_source_name(SRC_SYMLINK), "symlink");
    assert_string_equal(repair_source_name(SRC_LOWER), "lower");
    assert_string_equal(repair_source_name(SRC_MINTED), "minted");
    assert_string_equal(repair_action_name(RA_WRITE_LOWER), "write-lower");
    assert_string_equal(act_result_name(ACT_NOT_REACHED), "not-reached");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lower_of_a_child_of_a_base_layer),
        cmocka_unit_test(lower_nearest_parent_first),
        cmocka_unit_test(lower_chain_of_five),
        cmocka_unit_test(lower_at_most_128_entries),
        cmocka_unit_test(lower_needs_a_valid_parent_name),
        cmocka_unit_test(name_from_bytes_uses_the_base32_alphabet),
        cmocka_unit_test(minted_names_are_valid_and_differ),
        cmocka_unit_test(minting_skips_taken_names),
        cmocka_unit_test(evidence_symlink_first),
        cmocka_unit_test(evidence_several_symlinks),
        cmocka_unit_test(evidence_lower_votes),
        cmocka_unit_test(evidence_taken_symlink_falls_back_to_votes),
        cmocka_unit_test(evidence_none_means_mint),
        cmocka_unit_test(source_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
