/* test_ids.c — id validation, chainID, trimming (src/ids.c); printable
 * escaping, sizes and durations (src/text.c); duration parsing (src/opts.c).
 *
 * chainID vectors come from real stores: the example of
 * docs/overlay2-store.md (nginx base layers) and a store written by a real
 * dockerd 20.10.24 here (busybox import + two RUN layers; the dir names of
 * layerdb/sha256 with their parent and diff files). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit_util.h"

#include "ids.h"
#include "opts.h"
#include "text.h"

#define HEX_A "5dacd731af1b0386ead06c8b1feff9f65d9e0bdfec032d2cd0bc03690698feda"

static bool hex64(const char *s) { return id_is_hex64(s, strlen(s)); }
static bool digest(const char *s) { return id_is_digest(s, strlen(s)); }
static bool buildkit(const char *s) { return id_is_buildkit(s, strlen(s)); }
static bool link_name(const char *s) { return id_is_link_name(s, strlen(s)); }
static bool init_dir(const char *s) { return id_is_init_dir(s, strlen(s)); }
static bool overlay_dir(const char *s) { return id_is_overlay_dir(s, strlen(s)); }
static bool safe(const char *s) { return id_is_safe_component(s, strlen(s)); }

/* ---- chainID ------------------------------------------------------------- */

static void check_chain(const char *parent, const char *diff, const char *want)
{
    char out[DIGEST_LEN + 1];
    memset(out, 'X', sizeof out);
    id_chain_id(parent, diff, out);
    assert_string_equal(out, want);
    assert_int_equal(strlen(out), DIGEST_LEN);
}

static void test_chain_id_doc_example(void **state)
{
    (void)state;
    /* docs/overlay2-store.md: "sha256:5dacd731...feda sha256:dd0338cd...0ee9"
     * hashes to 166d13b0...9c5b (nginx:1.15 layers 1 and 2) */
    check_chain("sha256:5dacd731af1b0386ead06c8b1feff9f65d9e0bdfec032d2cd0bc03690698feda",
                "sha256:dd0338cdfab32cdddd6c30efe8c89d0229d9f939e2bb736fbb0a52f27c2b0ee9",
                "sha256:166d13b0f0cb542034a2aef1c034ee2271e1d6aaee4490f749e72d1c04449c5b");
}

static void test_chain_id_real_store(void **state)
{
    (void)state;
    /* layerdb of a real dockerd: busybox import, then two RUN layers */
    const char *d1 = "sha256:07f112164e2aa1df0eeace77e4c6e1b42955e4d820f605c24aaa47a84ad566d6";
    const char *d2 = "sha256:32e55a5f86fbc83b1987ace5dc1e1c78c0c1848f03d848b2580f6046bbc90277";
    const char *d3 = "sha256:db8f48a6c599220170a7652506c57d151f142e2d9c271d75b3b85b9e2f6b3d04";
    const char *c2 = "sha256:c7d25fe92e0686856ad65fbe69b007d06f62fee562154e6e3c1eeb4b0591e19d";
    const char *c3 = "sha256:023e53900dc65b1ce3b041720546fad4f66501fd4b5b1e100d05348421667bc1";
    /* a base layer's chainID is its diffID */
    check_chain(NULL, d1, d1);
    check_chain(d1, d2, c2);
    check_chain(c2, d3, c3);
    /* order matters: the hashed text is "parent diff" */
    char swapped[DIGEST_LEN + 1];
    id_chain_id(d2, d1, swapped);
    assert_string_not_equal(swapped, c2);
}

static void test_sha256_hex(void **state)
{
    (void)state;
    char out[HEX64_LEN + 1];
    id_sha256_hex("", 0, out);
    assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    id_sha256_hex("abc", 3, out);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* bytes after a NUL count */
    id_sha256_hex("a\0b", 3, out);
    char out2[HEX64_LEN + 1];
    id_sha256_hex("a", 1, out2);
    assert_string_not_equal(out, out2);
}

/* ---- validators ----------------------------------------------------------- */

static void test_hex_encode(void **state)
{
    (void)state;
    const unsigned char bytes[] = { 0x00, 0x0f, 0xa5, 0xff, 0x10 };
    char out[2 * sizeof bytes + 1];
    memset(out, 'x', sizeof out);
    id_hex_encode(bytes, sizeof bytes, out);
    assert_string_equal(out, "000fa5ff10");
    id_hex_encode(bytes, 0, out);
    assert_string_equal(out, "");
}

static void test_hex64(void **state)
{
    (void)state;
    assert_true(hex64(HEX_A));
    assert_true(hex64("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
    /* uppercase hex is not what dockerd writes */
    assert_false(hex64("5DACD731AF1B0386EAD06C8B1FEFF9F65D9E0BDFEC032D2CD0BC03690698FEDA"));
    assert_false(hex64("5dacd731af1b0386ead06c8b1feff9f65d9e0bdfec032d2cd0bc03690698fedA"));
    assert_false(hex64("5dacd731af1b0386ead06c8b1feff9f65d9e0bdfec032d2cd0bc03690698fed"));   /* 63 */
    assert_false(hex64(HEX_A "0"));                                                             /* 65 */
    assert_false(hex64("5dacd731af1b0386ead06c8b1feff9f65d9e0bdfec032d2cd0bc03690698fedg"));   /* g */
    assert_false(hex64(""));
    assert_false(hex64("../../etc"));
    assert_false(id_is_hex64("sha256:" HEX_A, DIGEST_LEN));
    /* an embedded NUL is never hex, whatever the length says */
    char nul[65];
    memcpy(nul, HEX_A, 64);
    nul[10] = '\0';
    assert_false(id_is_hex64(nul, 64));
    /* a trailing newline is not trimmed by the validator */
    assert_false(hex64(HEX_A "\n"));
    assert_false(id_is_hex64(HEX_A "\n", 65));
    assert_true(id_is_hex64(HEX_A "\n", 64));   /* len bounds the check */
}

static void test_digest(void **state)
{
    (void)state;
    assert_true(digest("sha256:" HEX_A));
    assert_false(digest(HEX_A));
    assert_false(digest("SHA256:" HEX_A));
    assert_false(digest("sha512:" HEX_A));
    assert_false(digest("sha256 " HEX_A));
    assert_false(digest("sha256:" HEX_A "\n"));
    assert_false(digest(" sha256:" HEX_A));
    assert_false(digest("sha256:5DACD731AF1B0386EAD06C8B1FEFF9F65D9E0BDFEC032D2CD0BC03690698FEDA"));
    assert_false(digest("sha256:"));
    assert_false(digest("sha256:../../etc"));
    assert_false(digest(""));
    char nul[72];
    memcpy(nul, "sha256:" HEX_A, 72);
    nul[40] = '\0';
    assert_false(id_is_digest(nul, 71));
    /* shorter than the prefix: must not read past len */
    assert_false(id_is_digest("sha", 3));
}

static void test_buildkit_id(void **state)
{
    (void)state;
    assert_true(buildkit("0123456789abcdefghijklmno"));     /* 25 */
    assert_true(buildkit("zzzzzzzzzzzzzzzzzzzzzzzzz"));
    assert_true(buildkit("k7x3m9q2w8e4r6t1y5u0i2o3p"));
    assert_false(buildkit("0123456789abcdefghijklmn"));     /* 24 */
    assert_false(buildkit("0123456789abcdefghijklmnop"));   /* 26 */
    assert_false(buildkit("0123456789ABCDEFGHIJKLMNO"));    /* uppercase */
    assert_false(buildkit("0123456789abcdefghijklmn-"));
    assert_false(buildkit("0123456789abcdefghijklmn/"));
    assert_false(buildkit("../../../../../../../etc/x"));
    assert_false(buildkit(""));
    assert_false(id_is_buildkit("0123456789abc\0efghijklmno", 25));
}

static void test_link_name(void **state)
{
    (void)state;
    /* real link names from a dockerd store */
    assert_true(link_name("DBIOCKS36IQTFSI5EBNBTMQBNW"));
    assert_true(link_name("D5ZLS5RFKL54KEKUH4OGFAKYLE"));
    assert_true(link_name("ABCDEFGHIJKLMNOPQRSTUVWXYZ"));
    assert_true(link_name("23456723456723456723456723"));
    assert_false(link_name("DBIOCKS36IQTFSI5EBNBTMQBN"));     /* 25 */
    assert_false(link_name("DBIOCKS36IQTFSI5EBNBTMQBNWX"));   /* 27 */
    assert_false(link_name("dbiocks36iqtfsi5ebnbtmqbnw"));    /* lowercase */
    assert_false(link_name("DBIOCKS36IQTFSI5EBNBTMQBN0"));    /* 0 is not base32 */
    assert_false(link_name("DBIOCKS36IQTFSI5EBNBTMQBN1"));
    assert_false(link_name("DBIOCKS36IQTFSI5EBNBTMQBN8"));
    assert_false(link_name("DBIOCKS36IQTFSI5EBNBTMQBN9"));
    assert_false(link_name("DBIOCKS36IQTFSI5EBNBTMQBN="));
    assert_false(link_name("../DBIOCKS36IQTFSI5EBNBTMQ"));
    assert_false(link_name(""));
    assert_false(id_is_link_name("DBIOCKS36IQT\0SI5EBNBTMQBNW", 26));
}

static void test_init_dir_and_kinds(void **state)
{
    (void)state;
    assert_true(init_dir(HEX_A "-init"));
    assert_false(init_dir(HEX_A));
    assert_false(init_dir(HEX_A "-INIT"));
    assert_false(init_dir(HEX_A "-init\n"));
    assert_false(init_dir(HEX_A "-ini"));
    assert_false(init_dir("5dacd731af1b0386ead06c8b1feff9f65d9e0bdfec032d2cd0bc03690698fed-init"));   /* 63 */
    assert_false(init_dir("0123456789abcdefghijklmno-init"));
    assert_false(init_dir("-init"));

    assert_true(overlay_dir(HEX_A));
    assert_true(overlay_dir(HEX_A "-init"));
    assert_true(overlay_dir("0123456789abcdefghijklmno"));
    assert_false(overlay_dir("l"));
    assert_false(overlay_dir(".."));
    assert_false(overlay_dir("../../etc"));
    assert_false(overlay_dir("DBIOCKS36IQTFSI5EBNBTMQBNW"));
    assert_false(overlay_dir(HEX_A "-removing"));
    assert_false(overlay_dir(""));

    assert_string_equal(id_overlay_kind(HEX_A, 64), "layer");
    assert_string_equal(id_overlay_kind(HEX_A "-init", 69), "init");
    assert_string_equal(id_overlay_kind("0123456789abcdefghijklmno", 25), "buildkit");
    assert_string_equal(id_overlay_kind("l", 1), "other");
    assert_string_equal(id_overlay_kind("backup", 6), "other");
}

static void test_safe_component(void **state)
{
    (void)state;
    assert_true(safe(HEX_A));
    assert_true(safe("a"));
    assert_true(safe("..."));
    assert_true(safe(".hidden"));
    assert_true(safe("a..b"));
    assert_false(safe("../../etc"));
    assert_false(safe(".."));
    assert_false(safe("."));
    assert_false(safe("/"));
    assert_false(safe("/etc"));
    assert_false(safe("a/b"));
    assert_false(safe("a/"));
    assert_false(safe(""));
    assert_false(id_is_safe_component("a\0b", 3));
    assert_false(id_is_safe_component("\0", 1));
    char name[300];
    memset(name, 'a', sizeof name);
    assert_true(id_is_safe_component(name, 255));
    assert_false(id_is_safe_component(name, 256));
}

/* ---- id_trim --------------------------------------------------------------- */

static void check_trim(const char *in, const char *want)
{
    size_t len = strlen(in);
    char *buf = malloc(len + 1);
    memcpy(buf, in, len + 1);
    size_t n = id_trim(buf, len);
    assert_int_equal(n, strlen(want));
    assert_string_equal(buf, want);
    free(buf);
}

static void test_id_trim(void **state)
{
    (void)state;
    check_trim("sha256:" HEX_A "\n", "sha256:" HEX_A);
    check_trim("sha256:" HEX_A "\r\n", "sha256:" HEX_A);
    check_trim(" \t\r\n\v\fabc \t\r\n\v\f", "abc");
    check_trim("abc", "abc");
    check_trim("a b", "a b");
    check_trim("a\nb\n", "a\nb");
    check_trim("", "");
    check_trim("   ", "");
    check_trim("\n", "");
    /* only ASCII whitespace: a NBSP (C2 A0) and a NUL stay */
    check_trim("\xc2\xa0x\xc2\xa0", "\xc2\xa0x\xc2\xa0");
    char withnul[] = { 'a', '\0', 'b', ' ', '\0' };
    assert_int_equal(id_trim(withnul, 4), 3);
    assert_memory_equal(withnul, "a\0b", 4);
    /* len bounds the work: bytes after len are not looked at */
    char buf[] = "  ab  cd";
    assert_int_equal(id_trim(buf, 6), 2);
    assert_string_equal(buf, "ab");
}

/* ---- text_escape ------------------------------------------------------------ */

static void check_escape(const char *in, const char *want)
{
    char *got = text_escape(in);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_text_escape(void **state)
{
    (void)state;
    assert_null(text_escape(NULL));
    check_escape("", "");
    check_escape("plain ascii 0-9 ~!", "plain ascii 0-9 ~!");
    /* control chars */
    check_escape("a\nb", "a\\x0ab");
    check_escape("\t\r\x1b[31m", "\\x09\\x0d\\x1b[31m");
    check_escape("\x01\x1f\x7f", "\\x01\\x1f\\x7f");
    /* a backslash is doubled so that \xNN stays unambiguous */
    check_escape("a\\x41", "a\\\\x41");
    /* invalid UTF-8 */
    check_escape("\xff", "\\xff");
    check_escape("\xfe\xff", "\\xfe\\xff");
    check_escape("\x80", "\\x80");                   /* lone continuation */
    check_escape("\xc3", "\\xc3");                   /* truncated at the end */
    check_escape("\xc3x", "\\xc3x");                 /* bad continuation */
    check_escape("\xe2\x82", "\\xe2\\x82");          /* truncated 3-byte */
    check_escape("\xc0\xaf", "\\xc0\\xaf");          /* overlong '/' */
    check_escape("\xe0\x80\xaf", "\\xe0\\x80\\xaf"); /* overlong '/' */
    check_escape("\xed\xa0\x80", "\\xed\\xa0\\x80"); /* surrogate */
    check_escape("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");   /* > U+10FFFF */
    check_escape("\xf8\x88\x80\x80\x80", "\\xf8\\x88\\x80\\x80\\x80");
    /* valid multibyte is kept */
    check_escape("caf\xc3\xa9", "caf\xc3\xa9");
    check_escape("\xe2\x82\xac 5", "\xe2\x82\xac 5");
    check_escape("\xf0\x9f\x90\xb3", "\xf0\x9f\x90\xb3");
    check_escape("\xc2\xa0", "\xc2\xa0");
    check_escape("\xef\xbf\xbd", "\xef\xbf\xbd");
    check_escape("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf");   /* U+10FFFF */
    /* mixed: valid kept, invalid escaped byte by byte */
    check_escape("\xc3\xa9\xff\xc3\xa9", "\xc3\xa9\\xff\xc3\xa9");
}

static void test_text_escape_c1_controls(void **state)
{
    (void)state;
    /* U+009B is CSI in C1: several terminals act on it even UTF-8 encoded,
     * so a name from the store could move the cursor or recolour output.
     * "control chars ... become \xNN" (text.h) covers C1 as well: each byte
     * of the 2-byte sequence is written as \xNN. */
    check_escape("\xc2\x9b" "31m", "\\xc2\\x9b31m");
    check_escape("\xc2\x85", "\\xc2\\x85");
}

/* ---- text_size / text_duration ------------------------------------------------ */

static void check_size(int64_t bytes, int exact, const char *want)
{
    char buf[64];
    memset(buf, 'X', sizeof buf);
    const char *got = text_size(bytes, exact, buf, sizeof buf);
    assert_ptr_equal(got, buf);
    assert_string_equal(got, want);
}

static void test_text_size(void **state)
{
    (void)state;
    check_size(0, 0, "0 B");
    check_size(1, 0, "1 B");
    check_size(1023, 0, "1023 B");
    check_size(1024, 0, "1.0 KiB");
    check_size(1536, 0, "1.5 KiB");
    check_size(10 * 1024, 0, "10 KiB");
    check_size(1024 * 1024 - 1, 0, "1024 KiB");
    check_size(1024 * 1024, 0, "1.0 MiB");
    check_size(5ll * 1024 * 1024 * 1024, 0, "5.0 GiB");
    check_size(1ll << 50, 0, "1.0 PiB");
    check_size(1ll << 60, 0, "1024 PiB");   /* no unit beyond PiB */
    check_size(0, 1, "0");
    check_size(1982263, 1, "1982263");
    check_size(INT64_MAX, 1, "9223372036854775807");
    /* a short buffer truncates, never overflows */
    char small[4];
    text_size(123456, 1, small, sizeof small);
    assert_string_equal(small, "123");
}

static void check_duration_text(int64_t s, const char *want)
{
    char buf[32];
    assert_string_equal(text_duration(s, buf, sizeof buf), want);
    int64_t back = -1;
    assert_int_equal(parse_duration(want, &back), 0);
    assert_int_equal(back, s);
}

static void test_text_duration(void **state)
{
    (void)state;
    check_duration_text(0, "0");
    check_duration_text(1, "1s");
    check_duration_text(90, "90s");
    check_duration_text(60, "1m");
    check_duration_text(1800, "30m");
    check_duration_text(5400, "90m");
    check_duration_text(3600, "1h");
    check_duration_text(86400, "1d");
    check_duration_text(24 * 3600 + 3600, "25h");
    check_duration_text(7 * 86400, "7d");
    check_duration_text(3601, "3601s");
}

/* ---- parse_duration ------------------------------------------------------------- */

static void check_dur(const char *s, int64_t want)
{
    int64_t v = -12345;
    if (parse_duration(s, &v) != 0)
        fail_msg("parse_duration(\"%s\") failed, want %lld", s, (long long)want);
    assert_int_equal(v, want);
}

static void check_bad_dur(const char *s)
{
    int64_t v = -12345;
    if (parse_duration(s, &v) != -1)
        fail_msg("parse_duration(\"%s\") accepted it (%lld)", s, (long long)v);
    assert_int_equal(v, -12345);   /* untouched on failure */
}

static void test_parse_duration(void **state)
{
    (void)state;
    check_dur("0", 0);
    check_dur("0s", 0);
    check_dur("90", 90);
    check_dur("90s", 90);
    check_dur("30m", 1800);
    check_dur("24h", 86400);
    check_dur("7d", 7 * 86400);
    check_dur("1w", 7 * 86400);
    check_dur("1h30m", 5400);
    check_dur("1d2h3m4s", 86400 + 7200 + 180 + 4);
    check_dur("007m", 420);
    check_dur("9223372036854775807s", INT64_MAX);
    check_dur("9223372036854775807", INT64_MAX);

    check_bad_dur("");
    check_bad_dur("-1");
    check_bad_dur("-1s");
    check_bad_dur("+5s");
    check_bad_dur("5x");
    check_bad_dur("h");
    check_bad_dur("1.5h");
    check_bad_dur("1h30");        /* a bare number only alone */
    check_bad_dur("5 s");
    check_bad_dur(" 5s");
    check_bad_dur("5s ");
    check_bad_dur("5S");
    check_bad_dur("0x10");
    check_bad_dur("1e3");
    check_bad_dur("1hh");
    /* overflow: of strtoll, of a unit product, of the sum */
    check_bad_dur("9223372036854775808");
    check_bad_dur("99999999999999999999s");
    check_bad_dur("106751991167301d");
    check_bad_dur("2562047788015216h");
    check_bad_dur("9223372036854775807s1s");
    check_dur("106751991167300d", 106751991167300ll * 86400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_id_doc_example),
        cmocka_unit_test(test_chain_id_real_store),
        cmocka_unit_test(test_sha256_hex),
        cmocka_unit_test(test_hex_encode),
        cmocka_unit_test(test_hex64),
        cmocka_unit_test(test_digest),
        cmocka_unit_test(test_buildkit_id),
        cmocka_unit_test(test_link_name),
        cmocka_unit_test(test_init_dir_and_kinds),
        cmocka_unit_test(test_safe_component),
        cmocka_unit_test(test_id_trim),
        cmocka_unit_test(test_text_escape),
        cmocka_unit_test(test_text_escape_c1_controls),
        cmocka_unit_test(test_text_size),
        cmocka_unit_test(test_text_duration),
        cmocka_unit_test(test_parse_duration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
