/*
 * test_deep.c — unit tests of the deep-verify engine (deep.c, tarsplit.c,
 * crc64.c).
 *
 * Owns: exact-behaviour tests on real layers captured from a dockerd 20.10
 * overlay2 store (fixtures/deep/layers.tar.gz: layerdb entries, their diff/
 * trees with whiteout devices and overlay xattrs, and the layer.tar that
 * `docker save` wrote for each). Each fixture test extracts a fresh copy
 * into a temp dir (needs root: whiteouts are char devices), damages it in
 * one precise way and asserts the exact findings.
 *
 * Optional, for a live store (skipped unless set):
 *   OVL2FSCK_DEEP_STORE=/var/lib/docker  verify every layer; 0 findings
 *                                        expected, except for layers whose
 *                                        chainID starts with a prefix in
 *   OVL2FSCK_DEEP_EXPECT=abc,def         (comma-separated; those must have
 *                                        findings). Prints throughput.
 *   OVL2FSCK_DEEP_DUMP=/dir              also write each rebuilt stream to
 *                                        /dir/<diffID hex>.tar
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "crc64.h"
#include "deep.h"
#include "tarsplit.h"

/* The captured layers (chainID, cache-id). */
#define FX_BASE "872f5915d3d5dcbb45c2700e7c4de494c4a797ffbe8a6e780bc79d212259d227"
#define FX_BASE_CACHE "4351c9613687ea4326c9794d8b14208fdcfd965dee35aa52e731319e4b38d2bf"
#define FX_UPPER "80c0cc9bd99757faada7795734a093d68de934155f00dcd7534d28cdb331a206"
#define FX_UPPER_CACHE "81adcc6e775fda448f44e77e158469cf752474408fb447100eee8b7bb248c3a4"
#define FX_CLASSIC "52eea8ae1c5a2405fc9aba14084c583ae270be7c674773457e45bb7463a9e94e"
#define FX_BUILDKIT "c8d14eb4b19f1c20e8df10d4fc26ae314041c5a0353048b19f57234ae2ee6750"

static const char *fx_chains[] = {FX_BASE, FX_UPPER, FX_CLASSIC, FX_BUILDKIT};
#define FX_NLAYERS 4

/* ------------------------------------------------------------ findings */

struct finding {
    char *chain, *check, *detail;
};

struct findings {
    struct finding *v;
    size_t n, cap;
};

static void collect(void *ctx, const char *chain, const char *check, const char *detail)
{
    struct findings *f = ctx;

    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 16;
        f->v = realloc(f->v, f->cap * sizeof(*f->v));
        assert_non_null(f->v);
    }
    f->v[f->n].chain = strdup(chain);
    f->v[f->n].check = strdup(check);
    f->v[f->n].detail = strdup(detail);
    f->n++;
}

static void findings_free(struct findings *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].chain);
        free(f->v[i].check);
        free(f->v[i].detail);
    }
    free(f->v);
    memset(f, 0, sizeof(*f));
}

static size_t count_check(const struct findings *f, const char *check)
{
    size_t n = 0;

    for (size_t i = 0; i < f->n; i++)
        n += strcmp(f->v[i].check, check) == 0;
    return n;
}

/* Is there a finding of this check whose detail contains every needle? */
static int has_finding(const struct findings *f, const char *check, const char *needle,
                       const char *needle2)
{
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->v[i].check, check) != 0)
            continue;
        if (needle != NULL && strstr(f->v[i].detail, needle) == NULL)
            continue;
        if (needle2 != NULL && strstr(f->v[i].detail, needle2) == NULL)
            continue;
        return 1;
    }
    return 0;
}

static void dump_findings(const struct findings *f)
{
    for (size_t i = 0; i < f->n; i++)
        fprintf(stderr, "# finding %.12s %s: %s\n", f->v[i].chain, f->v[i].check,
                f->v[i].detail);
}

/* --------------------------------------------------------- file helpers */

static char *read_text(const char *path)
{
    FILE *fp = fopen(path, "rb");
    char *buf = calloc(1, 4096);
    size_t n;

    assert_non_null(fp);
    assert_non_null(buf);
    n = fread(buf, 1, 4095, fp);
    fclose(fp);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = 0;
    return buf;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

/* Whole decompressed content of a gzip file (fixture tar-splits are small). */
static char *gz_slurp(const char *path, size_t *len)
{
    gzFile gz = gzopen(path, "rb");
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap + 1);
    int r;

    assert_non_null(gz);
    assert_non_null(buf);
    while ((r = gzread(gz, buf + n, (unsigned)(cap - n))) > 0) {
        n += (size_t)r;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            assert_non_null(buf);
        }
    }
    assert_true(r == 0);
    gzclose(gz);
    buf[n] = 0;
    *len = n;
    return buf;
}

static void gz_write_text(const char *path, const char *text, size_t len)
{
    gzFile gz = gzopen(path, "wb");

    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, text, (unsigned)len), (int)len);
    assert_int_equal(gzclose(gz), Z_OK);
}

/* Replace the first occurrence of old by new in the tar-split at path. */
static void tarsplit_replace(const char *path, const char *old, const char *new)
{
    size_t len, olen = strlen(old), nlen = strlen(new);
    char *text = gz_slurp(path, &len);
    char *at = strstr(text, old);
    char *out;

    assert_non_null(at);
    out = malloc(len - olen + nlen + 1);
    assert_non_null(out);
    memcpy(out, text, (size_t)(at - text));
    memcpy(out + (at - text), new, nlen);
    memcpy(out + (at - text) + nlen, at + olen, len - (size_t)(at - text) - olen + 1);
    gz_write_text(path, out, len - olen + nlen);
    free(out);
    free(text);
}

/* Duplicate the line containing needle (inserted right after it). */
static void tarsplit_dup_line(const char *path, const char *needle)
{
    size_t len;
    char *text = gz_slurp(path, &len);
    char *at = strstr(text, needle), *start, *end, *line;

    assert_non_null(at);
    start = at;
    while (start > text && start[-1] != '\n')
        start--;
    end = strchr(at, '\n');
    assert_non_null(end);
    line = strndup(start, (size_t)(end - start) + 1);
    assert_non_null(line);
    {
        size_t pre = (size_t)(end + 1 - text), ll = strlen(line);
        char *out = malloc(len + ll + 1);

        assert_non_null(out);
        memcpy(out, text, pre);
        memcpy(out + pre, line, ll);
        memcpy(out + pre + ll, text + pre, len - pre + 1);
        gz_write_text(path, out, len + ll);
        free(out);
    }
    free(line);
    free(text);
}

static void run_cmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void run_cmd(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    assert_int_equal(system(cmd), 0);
}

/* ------------------------------------------------------------- fixture */

struct fx {
    char root[256];   /* temp dir holding image/, overlay2/, layers/ */
};

static const char *fixture_archive(void)
{
    static char path[1024];
    const char *env = getenv("OVL2FSCK_FIXTURES");
    const char *cands[] = {"fixtures/deep", "../fixtures/deep", "../../fixtures/deep",
                           "../../../fixtures/deep"};

    if (env != NULL) {
        snprintf(path, sizeof(path), "%s/deep/layers.tar.gz", env);
        if (access(path, R_OK) == 0)
            return path;
    }
    for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
        snprintf(path, sizeof(path), "%s/layers.tar.gz", cands[i]);
        if (access(path, R_OK) == 0)
            return path;
    }
    return NULL;
}

static int fx_setup(void **state)
{
    const char *archive = fixture_archive();
    struct fx *fx;

    if (geteuid() != 0 || archive == NULL) {
        *state = NULL;
        return 0;
    }
    fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    strcpy(fx->root, "/tmp/ovl2fsck-deep-XXXXXX");
    assert_non_null(mkdtemp(fx->root));
    run_cmd("tar --xattrs --xattrs-include='*' -C '%s' -xzf '%s'", fx->root, archive);
    run_cmd("mkdir -p '%s/outside'", fx->root);
    deep_set_resolve_mode(DEEP_RESOLVE_AUTO);
    *state = fx;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *fx = *state;

    deep_set_resolve_mode(DEEP_RESOLVE_AUTO);
    if (fx == NULL)
        return 0;
    run_cmd("rm -rf '%s'", fx->root);
    free(fx);
    return 0;
}

static struct fx *fx_get(void **state)
{
    if (*state == NULL)
        skip(); /* not root, or fixture not found */
    return *state;
}

/* An opened layer: dir fds and the job pointing at them. */
struct layer {
    char chain[128], diff_id[128], cache_id[128];
    int layer_fd, diff_fd;
    struct deep_layer_job job;
};

static void layer_open(const char *store, const char *chain, struct layer *l)
{
    char path[1024];
    char *s;

    memset(l, 0, sizeof(*l));
    snprintf(l->chain, sizeof(l->chain), "%s", chain);
    snprintf(path, sizeof(path), "%s/image/overlay2/layerdb/sha256/%s/diff", store, chain);
    s = read_text(path);
    snprintf(l->diff_id, sizeof(l->diff_id), "%s", s);
    free(s);
    snprintf(path, sizeof(path), "%s/image/overlay2/layerdb/sha256/%s/cache-id", store, chain);
    s = read_text(path);
    snprintf(l->cache_id, sizeof(l->cache_id), "%s", s);
    free(s);
    snprintf(path, sizeof(path), "%s/image/overlay2/layerdb/sha256/%s", store, chain);
    l->layer_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(l->layer_fd >= 0);
    snprintf(path, sizeof(path), "%s/overlay2/%s/diff", store, l->cache_id);
    l->diff_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(l->diff_fd >= 0);
    l->job.chain_id = l->chain;
    l->job.layer_dirfd = l->layer_fd;
    l->job.diff_dirfd = l->diff_fd;
    l->job.diff_id = l->diff_id;
}

static void layer_close(struct layer *l)
{
    close(l->layer_fd);
    close(l->diff_fd);
}

/* Verify one fixture layer; findings into *f. */
static void verify_one(struct fx *fx, const char *chain, struct findings *f,
                       struct deep_stats *st)
{
    struct layer l;

    layer_open(fx->root, chain, &l);
    assert_int_equal(deep_verify_layer(&l.job, collect, f, st), 0);
    layer_close(&l);
}

static void fx_path(char *out, size_t cap, struct fx *fx, const char *cache, const char *rel)
{
    snprintf(out, cap, "%s/overlay2/%s/diff/%s", fx->root, cache, rel);
}

static void fx_tarsplit(char *out, size_t cap, struct fx *fx, const char *chain)
{
    snprintf(out, cap, "%s/image/overlay2/layerdb/sha256/%s/tar-split.json.gz", fx->root, chain);
}

/* inotify watch on dir: any open/read of something in it is an event. */
static int watch_dir(const char *dir)
{
    int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

    assert_true(in >= 0);
    assert_true(inotify_add_watch(in, dir, IN_OPEN | IN_ACCESS | IN_CLOSE_NOWRITE) >= 0);
    return in;
}

static void assert_no_events(int in)
{
    char buf[4096];
    ssize_t n = read(in, buf, sizeof(buf));

    assert_true(n < 0 && errno == EAGAIN);
    close(in);
}

/* --------------------------------------------------------- CRC / base64 */

static void test_crc64_check_value(void **state)
{
    uint64_t crc;

    (void)state;
    assert_true(crc64_iso_update(0, "123456789", 9) == 0xb90956c775a41001ULL);
    crc = crc64_iso_update(0, "1234", 4);
    crc = crc64_iso_update(crc, "56789", 5);
    assert_true(crc == 0xb90956c775a41001ULL);
    assert_true(crc64_iso_update(0, "", 0) == 0);
    /* From a real tar-split: "new\n" has payload YVqy3bAAAAA= */
    assert_true(crc64_iso_update(0, "new\n", 4) == 0x615ab2ddb0000000ULL);
    /* Unaligned start and odd lengths agree with byte-at-a-time chaining. */
    {
        unsigned char buf[1000];
        uint64_t a, b = 0;

        for (size_t i = 0; i < sizeof(buf); i++)
            buf[i] = (unsigned char)(i * 7 + 3);
        a = crc64_iso_update(0, buf + 1, sizeof(buf) - 1);
        for (size_t i = 1; i < sizeof(buf); i++)
            b = crc64_iso_update(b, buf + i, 1);
        assert_true(a == b);
    }
}

static void test_b64_strict(void **state)
{
    unsigned char out[64];

    (void)state;
    assert_int_equal(tarsplit_b64decode(out, "", 0), 0);
    assert_int_equal(tarsplit_b64decode(out, "YQ==", 4), 1);
    assert_int_equal(out[0], 'a');
    assert_int_equal(tarsplit_b64decode(out, "YWI=", 4), 2);
    assert_memory_equal(out, "ab", 2);
    assert_int_equal(tarsplit_b64decode(out, "YWJj", 4), 3);
    assert_memory_equal(out, "abc", 3);
    assert_int_equal(tarsplit_b64decode(out, "AAAAAAAAAAA=", 12), 8);
    assert_int_equal(tarsplit_b64decode(out, "Y", 1), -1);
    assert_int_equal(tarsplit_b64decode(out, "YQ=", 3), -1);
    assert_int_equal(tarsplit_b64decode(out, "YQ==YQ==", 8), -1);
    assert_int_equal(tarsplit_b64decode(out, "Y=Q=", 4), -1);
    assert_int_equal(tarsplit_b64decode(out, "====", 4), -1);
    assert_int_equal(tarsplit_b64decode(out, "A===", 4), -1);
    assert_int_equal(tarsplit_b64decode(out, "YW Jj", 5), -1);
    assert_int_equal(tarsplit_b64decode(out, "YWJj\n", 5), -1);
    assert_int_equal(tarsplit_b64decode(out, " YWJ", 4), -1);
    assert_int_equal(tarsplit_b64decode(out, "!!!!", 4), -1);
    assert_int_equal(tarsplit_b64decode(out, "YW-_", 4), -1); /* URL alphabet */
}

/* ----------------------------------------------------- clean fixtures */

static void test_fixture_clean(void **state)
{
    struct fx *fx = fx_get(state);
    struct layer l[FX_NLAYERS];
    struct deep_layer_job jobs[FX_NLAYERS];
    struct findings f = {0};
    struct deep_stats st;
    uint64_t want_bytes = 0;

    for (int i = 0; i < FX_NLAYERS; i++) {
        char path[1024];
        struct stat sb;

        layer_open(fx->root, fx_chains[i], &l[i]);
        jobs[i] = l[i].job;
        snprintf(path, sizeof(path), "%s/layers/%s.tar", fx->root, l[i].diff_id + 7);
        assert_int_equal(stat(path, &sb), 0);
        want_bytes += (uint64_t)sb.st_size;
    }
    assert_int_equal(deep_verify_all(jobs, FX_NLAYERS, 2, collect, NULL, &f, &st), 0);
    dump_findings(&f);
    assert_int_equal(f.n, 0);
    assert_int_equal(st.layers, FX_NLAYERS);
    assert_int_equal(st.bytes_hashed, want_bytes);
    /* size > 0 files: base 6, upper 3, classic 1, buildkit 1 */
    assert_int_equal(st.files, 11);

    deep_set_resolve_mode(DEEP_RESOLVE_WALK);
    assert_int_equal(deep_verify_all(jobs, FX_NLAYERS, 1, collect, NULL, &f, &st), 0);
    assert_int_equal(f.n, 0);
    assert_int_equal(st.files, 11);
    for (int i = 0; i < FX_NLAYERS; i++)
        layer_close(&l[i]);
    findings_free(&f);
}

struct membuf {
    unsigned char *p;
    size_t n, cap;
};

static int membuf_write(void *ctx, const void *buf, size_t len)
{
    struct membuf *m = ctx;

    if (m->n + len > m->cap) {
        m->cap = (m->n + len) * 2;
        m->p = realloc(m->p, m->cap);
        assert_non_null(m->p);
    }
    memcpy(m->p + m->n, buf, len);
    m->n += len;
    return 0;
}

/* The rebuilt stream is byte-identical to the layer.tar docker save wrote. */
static void test_rebuild_equals_docker_save(void **state)
{
    struct fx *fx = fx_get(state);

    for (int i = 0; i < FX_NLAYERS; i++) {
        struct layer l;
        struct membuf m = {0};
        struct findings f = {0};
        char path[1024];
        FILE *fp;
        unsigned char *saved;
        struct stat sb;

        layer_open(fx->root, fx_chains[i], &l);
        assert_int_equal(deep_rebuild_stream(&l.job, membuf_write, &m, collect, &f, NULL), 0);
        assert_int_equal(f.n, 0);
        snprintf(path, sizeof(path), "%s/layers/%s.tar", fx->root, l.diff_id + 7);
        assert_int_equal(stat(path, &sb), 0);
        assert_int_equal(m.n, (size_t)sb.st_size);
        saved = malloc(m.n);
        fp = fopen(path, "rb");
        assert_non_null(fp);
        assert_int_equal(fread(saved, 1, m.n, fp), m.n);
        fclose(fp);
        assert_memory_equal(saved, m.p, m.n);
        free(saved);
        free(m.p);
        layer_close(&l);
    }
}

static int stop_writer(void *ctx, const void *buf, size_t len)
{
    (void)buf;
    (void)len;
    return ++*(int *)ctx >= 3;
}

static void test_rebuild_abort(void **state)
{
    struct fx *fx = fx_get(state);
    struct layer l;
    int calls = 0;

    layer_open(fx->root, FX_BASE, &l);
    assert_int_equal(deep_rebuild_stream(&l.job, stop_writer, &calls, NULL, NULL, NULL), -1);
    assert_int_equal(errno, ECANCELED);
    assert_int_equal(calls, 3);
    layer_close(&l);
}

/* ----------------------------------------------------- damaged content */

static void test_flip_one_byte(void **state)
{
    struct fx *fx = fx_get(state);
    struct findings f = {0};
    char path[1024];
    int fd;
    char c;

    /* byte 300000 of big/text: in the second 256 KiB read */
    fx_path(path, sizeof(path), fx, FX_BASE_CACHE, "big/text");
    fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &c, 1, 300000), 1);
    c ^= 0x20;
    assert_int_equal(pwrite(fd, &c, 1, 300000), 1);
    close(fd);
    verify_one(fx, FX_BASE, &f, NULL);
    dump_findings(&f);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.v[0].check, DEEP_CHECK_FILE_MODIFIED);
    assert_non_null(strstr(f.v[0].detail, "\"big/text\""));
    assert_non_null(strstr(f.v[0].detail, "CRC-64"));
    assert_string_equal(f.v[1].check, DEEP_CHECK_CONTENT_MISMATCH);
    assert_non_null(strstr(f.v[1].detail, "sha256:" FX_BASE));
    assert_string_equal(f.v[0].chain, FX_BASE);
    findings_free(&f);
}

static void test_delete_file(void **state)
{
    struct fx *fx = fx_get(state);
    struct findings f = {0};
    char path[1024];

    fx_path(path, sizeof(path), fx, FX_BASE_CACHE, "gone/a");
    assert_int_equal(unlink(path), 0);
    verify_one(fx, FX_BASE, &f, NULL);
    dump_findings(&f);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.v[0].check, DEEP_CHECK_FILE_MISSING);
    assert_non_null(strstr(f.v[0].detail, "\"gone/a\""));
    assert_string_equal(f.v[1].check, DEEP_CHECK_CONTENT_MISMATCH);
    findings_free(&f);

    /* a whole directory gone: one finding per file under it */
    fx_path(path, sizeof(path), fx, FX_BASE_CACHE, "big");
    run_cmd("rm -rf '%s'", path);
    verify_one(fx, FX_BASE, &f, NULL);
    assert_int_equal(count_check(&f, DEEP_CHECK_FILE_MISSING), 4);
    assert_true(has_finding(&f, DEEP_CHECK_FILE_MISSING, "\"big/n\\xe9-raw\"", "directory \"big\" is absent"));
    assert_true(has_finding(&f, DEEP_CHECK_FILE_MISSING, "\"big/text\"", NULL));
    assert_int_equal(count_check(&f, DEEP_CHECK_CONTENT_MISMATCH), 1);
    assert_int_equal(f.n, 5);
    findings_free(&f);
}

static void test_file_size_changes(void **state)
{
    struct fx *fx = fx_get(state);
    struct findings f = {0};
    char path[1024];

    /* longer: the first `size` bytes still match, so the stream does too */
    fx_path(path, sizeof(path), fx, FX_UPPER_CACHE, "etc/motd");
    run_cmd("printf x >> '%s'", path);
    verify_one(fx, FX_UPPER, &f, NULL);
    dump_findings(&f);
    assert_int_equal(f.n, 1);
    assert_true(has_finding(&f, DEEP_CHECK_FILE_MODIFIED, "\"etc/motd\" is 21 bytes in diff/, tar-split lists 20", NULL));
    findings_free(&f);

    /* shorter */
    assert_int_equal(truncate(path, 5), 0);
    verify_one(fx, FX_UPPER, &f, NULL);
    assert_int_equal(f.n, 2);
    assert_true(has_finding(&f, DEEP_CHECK_FILE_MODIFIED, "\"etc/motd\" is 5 bytes in diff/, tar-split lists 20", NULL));
    assert_int_equal(count_check(&f, DEEP_CHECK_CONTENT_MISMATCH), 1);
    findings_free(&f);

    /* a directory where the file was */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkdir(path, 0755), 0);
    verify_one(fx, FX_UPPER, &f, NULL);
    assert_int_equal(f.n, 2);
    assert_true(has_finding(&f, DEEP_CHECK_FILE_MODIFIED, "\"etc/motd\" is a directory", NULL));
    findings_free(&f);
}

/* A FIFO in place of a file is reported, not opened for a blocking read. */
static void test_fifo_not_blocking(void **state)
{
    struct fx *fx = fx_get(state);
    struct findings f = {0};
    char path[1024];

    fx_path(path, sizeof(path), fx, FX_UPPER_CACHE, "etc/motd");
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkfifo(path, 0644), 0);
    verify_one(fx, FX_UPPER, &f, NULL);
    assert_int_equal(f.n, 2);
    assert_true(has_finding(&f, DEEP_CHECK_FILE_MODIFIED, "\"etc/motd\" is a FIFO", NULL));
    assert_int_equal(count_check(&f, DEEP_CHECK_CONTENT_MISMATCH), 1);
    findings_free(&f);
}

/* ------------------------------------------------- tar-split damage */

static void test_tarsplit_missing(void **state)
{
    struct fx *fx = fx_get(state);
    struct findings f = {0};
    struct deep_stats st = {0};
    char path[1024];

    fx_tarsplit(path, sizeof(path), fx, FX_UPPER);
    assert_int_equal(unlink(path), 0);
    verify_one(fx, FX_UPPER, &f, &st);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.v[0].check, DEEP_CHECK_TARSPLIT_MISSING);
    assert_int_equal(st.layers, 1);
    findings_free(&f);

    /* a symlink named tar-split.json.gz is not followed */
    assert_int_equal(symlink("/etc/passwd", path), 0);
    verify_one(fx, FX_UPPER, &f, NULL);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.v[0].check, DEEP_CHECK_TARSPLIT_INVALID);
    findings_free(&f);
}

/* Exactly one layer-tarsplit-invalid whose detail contains needle. */
static void expect_invalid(struct fx *fx, const char *chain, const char *needle)
{
    struct findings f = {0};

    verify_one(fx, chain, &f, NULL);
    if (f.n != 1)
        dump_findings(&f);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.v[0].check, DEEP_CHECK_TARSPLIT_INVALID);
    if (needle != NULL && strstr(f.v[0].detail, needle) == NULL) {
        dump_findings(&f);
        fail_msg("detail lacks \"%s\"", needle);
    }
    findings_free(&f);
}

static void test_corrupt_gzip(void **state)
{
    struct fx *fx = fx_get(state);
    char path[1024];
    size_t len;
    char *text;
    unsigned char *gz;
    struct stat sb;
    FILE *fp;

    fx_tarsplit(path, sizeof(path), fx, FX_BASE);
    text = gz_slurp(path, &len);
    assert_int_equal(stat(path, &sb), 0);
    gz = malloc((size_t)sb.st_size + 16);
    fp = fopen(path, "rb");
    assert_int_equal(fread(gz, 1, (size_t)sb.st_size, fp), (size_t)sb.st_size);
    fclose(fp);

    /* a flipped byte inside the deflate data */
    gz[sb.st_size / 2] ^= 0x55;
    write_file(path, gz, (size_t)sb.st_size);
    expect_invalid(fx, FX_BASE, "gzip");
    gz[sb.st_size / 2] ^= 0x55;

    /* a flipped byte in the gzip trailer (CRC-32) */
    gz[sb.st_size - 6] ^= 0x01;
    write_file(path, gz, (size_t)sb.st_size);
    expect_invalid(fx, FX_BASE, "gzip");
    gz[sb.st_size - 6] ^= 0x01;

    /* truncated */
    write_file(path, gz, (size_t)sb.st_size / 2);
    expect_invalid(fx, FX_BASE, "truncated");

    /* trailing garbage after the member */
    memcpy(gz + sb.st_size, "garbage!", 8);
    write_file(path, gz, (size_t)sb.st_size + 8);
    expect_invalid(fx, FX_BASE, "gzip");

    /* plain JSON, not gzip */
    write_file(path, text, len);
    expect_invalid(fx, FX_BASE, "not a valid gzip");

    /* empty */
    write_file(path, "", 0);
    expect_invalid(fx, FX_BASE, "empty");

    /* two gzip members are one stream (as Go reads them): still clean */
    {
        size_t half = len / 2;
        gzFile g;

        while (text[half - 1] != '\n')
            half--;
        g = gzopen(path, "wb");
        assert_int_equal(gzwrite(g, text, (unsigned)half), (int)half);
        gzclose(g);
        g = gzopen(path, "ab");
        assert_int_equal(gzwrite(g, text + half, (unsigned)(len - half)), (int)(len - half));
        gzclose(g);
        struct findings f = {0};
        verify_one(fx, FX_BASE, &f, NULL);
        dump_findings(&f);
        assert_int_equal(f.n, 0);
        findings_free(&f);
    }
    free(gz);
    free(text);
}

static void test_bad_lines(void **state)
{
    struct fx *fx = fx_get(state);
    char path[1024];
    size_t len;
    char *orig;

    fx_tarsplit(path, sizeof(path), fx, FX_UPPER);
    orig = gz_slurp(path, &len);

#define RESET() gz_write_text(path, orig, len)
    tarsplit_replace(path, "\"payload\":\"AgdDYLEzV+4=\"", "\"payload\":\"AgdDYLEzV+4\"");
    expect_invalid(fx, FX_UPPER, "bad base64 in \"payload\"");
    RESET();
    tarsplit_replace(path, "\"payload\":\"AgdDYLEzV+4=\"", "\"payload\":\"AgdDYLEz\"");
    expect_invalid(fx, FX_UPPER, "without an 8-byte CRC-64");
    RESET();
    tarsplit_replace(path, "\"payload\":\"AgdDYLEzV+4=\"", "\"payload\":null");
    expect_invalid(fx, FX_UPPER, "without an 8-byte CRC-64");
    RESET();
    tarsplit_replace(path, "{\"type\":2,\"payload\":\"", "{\"type\":2,\"payload\":\"*");
    expect_invalid(fx, FX_UPPER, "bad base64");
    RESET();
    tarsplit_replace(path, "\"name\":\"etc/motd\"", "\"name_raw\":\"ZXRj%%%%\"");
    expect_invalid(fx, FX_UPPER, "bad base64 in \"name_raw\"");
    RESET();
    tarsplit_replace(path, "{\"type\":1,\"name\":\"etc/\"", "{\"type\":3,\"name\":\"etc/\"");
    expect_invalid(fx, FX_UPPER, "unknown \"type\"");
    RESET();
    tarsplit_replace(path, "\"size\":20,", "\"size\":-20,");
    expect_invalid(fx, FX_UPPER, "bad \"size\"");
    RESET();
    tarsplit_replace(path, "\"size\":20,", "\"size\":20.5,");
    expect_invalid(fx, FX_UPPER, "bad \"size\"");
    RESET();
    tarsplit_replace(path, "{\"type\":1,\"name\":\"etc/\"", "{\"type\":1,\"name\":\"etc/\"}{");
    expect_invalid(fx, FX_UPPER, "trailing data");
    RESET();
    tarsplit_replace(path, "{\"type\":1,\"name\":\"etc/\"", "[\"type\",1,\"name\",\"etc/\"");
    expect_invalid(fx, FX_UPPER, "not a JSON object");
    RESET();
    tarsplit_replace(path, "{\"type\":1,\"name\":\"etc/\",", "{\"type\":1,");
    expect_invalid(fx, FX_UPPER, "without a name");
    RESET();

    /* tolerated: blank lines, CRLF, name_raw with plain ASCII, null segment payload */
    tarsplit_replace(path, "\n", "\n\n  \n");
    tarsplit_replace(path, "\"name\":\"etc/motd\"", "\"name_raw\":\"ZXRjL21vdGQ=\"");
    tarsplit_replace(path, "\"position\":7}", "\"position\":7}\r");
    tarsplit_replace(path, "\"position\":8}", "\"position\":8}\n{\"type\":2,\"payload\":null,\"position\":8}");
    {
        struct findings f = {0};

        verify_one(fx, FX_UPPER, &f, NULL);
        dump_findings(&f);
        assert_int_equal(f.n, 0);
        findings_free(&f);
    }
#undef RESET
    free(orig);
}

static void test_line_too_long(void **state)
{
    struct fx *fx = fx_get(state);
    char path[1024];
    char *chunk = malloc(1 << 20);
    gzFile gz;

    fx_tarsplit(path, sizeof(path), fx, FX_UPPER);
    memset(chunk, 'A', 1 << 20);
    gz = gzopen(path, "wb9");
    assert_non_null(gz);
    gzputs(gz, "{\"type\":2,\"payload\":\"");
    for (unsigned i = 0; i < TARSPLIT_MAX_LINE / (1 << 20); i++)
        assert_int_equal(gzwrite(gz, chunk, 1 << 20), 1 << 20);
    gzputs(gz, "AAAA\"}\n");
    gzclose(gz);
    free(chunk);
    expect_invalid(fx, FX_UPPER, "longer than");
}

/* -------------------------------------------- names escaping diff/ */

static void canary(struct fx *fx, char *dir, size_t cap)
{
    char path[1200];

    snprintf(dir, cap, "%s/outside", fx->root);
    snprintf(path, sizeof(path), "%s/canary", dir);
    /* same bytes as etc/motd, so following a link would "verify" */
    write_file(path, "fixture upper layer\n", 20);
}

static void test_name_escapes(void **state)
{
    struct fx *fx = fx_get(state);
    const char *bad[] = {
        "../../../outside/canary", "/etc/passwd", "etc/../../../../outside/canary",
        "./etc/../etc/motd", "etc/..", "..",
    };
    const char *why[] = {
        "\"..\" component", "absolute name", "\"..\" component", "\"..\" component",
        "\"..\" component", "\"..\" component",
    };
    char path[1024], dir[1024];
    size_t len;
    char *orig;

    canary(fx, dir, sizeof(dir));
    fx_tarsplit(path, sizeof(path), fx, FX_UPPER);
    orig = gz_slurp(path, &len);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char repl[256];
        int in;

        gz_write_text(path, orig, len);
        snprintf(repl, sizeof(repl), "\"name\":\"%s\"", bad[i]);
        tarsplit_replace(path, "\"name\":\"etc/motd\"", repl);
        in = watch_dir(dir);
        expect_invalid(fx, FX_UPPER, why[i]);
        assert_no_events(in);
    }
    /* the same names as size-0 entries (links, dirs) are just as invalid */
    gz_write_text(path, orig, len);
    tarsplit_replace(path, "\"name\":\"opq/\"", "\"name\":\"../opq/\"");
    expect_invalid(fx, FX_UPPER, "\"..\" component");
    /* "./" prefixes and doubled slashes are normalised, not rejected */
    gz_write_text(path, orig, len);
    tarsplit_replace(path, "\"name\":\"etc/motd\"", "\"name\":\"./etc//./motd\"");
    {
        struct findings f = {0};

        verify_one(fx, FX_UPPER, &f, NULL);
        dump_findings(&f);
        assert_int_equal(f.n, 0);
        findings_free(&f);
    }
    free(orig);
}

static void test_duplicate_path(void **state)
{
    struct fx *fx = fx_get(state);
    char path[1024];
    size_t len;
    char *orig;

    fx_tarsplit(path, sizeof(path), fx, FX_UPPER);
    orig = gz_slurp(path, &len);
    tarsplit_dup_line(path, "\"name\":\"etc/motd\"");
    expect_invalid(fx, FX_UPPER, "duplicate file entry \"etc/motd\"");
    /* the same path spelt differently */
    gz_write_text(path, orig, len);
    tarsplit_replace(path, "\"name\":\"opq/new\"", "\"name\":\"./etc/motd\"");
    expect_invalid(fx, FX_UPPER, "duplicate file entry \"./etc/motd\"");
    free(orig);
}

/* A directory replaced by a symlink to an outside copy is not followed. */
static void symlink_component_case(struct fx *fx, int absolute)
{
    struct findings f = {0};
    char big[1024], outside_big[1024], target[1024];
    int in;

    fx_path(big, sizeof(big), fx, FX_BASE_CACHE, "big");
    snprintf(outside_big, sizeof(outside_big), "%s/outside/big", fx->root);
    run_cmd("rm -rf '%s' && cp -a '%s' '%s' && rm -rf '%s'", outside_big, big, outside_big, big);
    if (absolute)
        snprintf(target, sizeof(target), "%s/outside/big", fx->root);
    else
        snprintf(target, sizeof(target), "../../../outside/big");
    assert_int_equal(symlink(target, big), 0);
    in = watch_dir(outside_big);
    verify_one(fx, FX_BASE, &f, NULL);
    assert_no_events(in);
    dump_findings(&f);
    assert_int_equal(count_check(&f, DEEP_CHECK_FILE_MISSING), 3);
    assert_true(has_finding(&f, DEEP_CHECK_FILE_MISSING, "\"big/text\"", "\"big\" is a symlink in diff/ (not followed)"));
    assert_int_equal(count_check(&f, DEEP_CHECK_CONTENT_MISMATCH), 1);
    assert_int_equal(f.n, 4);
    findings_free(&f);
    assert_int_equal(unlink(big), 0);
    run_cmd("mv '%s' '%s'", outside_big, big);
}

static void test_symlink_component_not_followed(void **state)
{
    struct fx *fx = fx_get(state);
    int modes[] = {DEEP_RESOLVE_AUTO, DEEP_RESOLVE_WALK};

    for (int m = 0; m < 2; m++) {
        deep_set_resolve_mode(modes[m]);
        symlink_component_case(fx, 1); /* absolute */
        symlink_component_case(fx, 0); /* relative, escaping diff/ */
    }
    /* and restored, the layer is clean again */
    {
        struct findings f = {0};

        verify_one(fx, FX_BASE, &f, NULL);
        assert_int_equal(f.n, 0);
        findings_free(&f);
    }
}

static void test_last_component_symlink(void **state)
{
    struct fx *fx = fx_get(state);
    int modes[] = {DEEP_RESOLVE_AUTO, DEEP_RESOLVE_WALK};
    char path[1024], dir[1024], target[1200];

    canary(fx, dir, sizeof(dir));
    fx_path(path, sizeof(path), fx, FX_UPPER_CACHE, "etc/motd");
    assert_int_equal(unlink(path), 0);
    snprintf(target, sizeof(target), "%s/canary", dir);
    assert_int_equal(symlink(target, path), 0);
    for (int m = 0; m < 2; m++) {
        struct findings f = {0};
        int in = watch_dir(dir);

        deep_set_resolve_mode(modes[m]);
        verify_one(fx, FX_UPPER, &f, NULL);
        assert_no_events(in);
        dump_findings(&f);
        assert_int_equal(f.n, 2);
        assert_true(has_finding(&f, DEEP_CHECK_FILE_MODIFIED, "\"etc/motd\" is a symlink in diff/", NULL));
        assert_int_equal(count_check(&f, DEEP_CHECK_CONTENT_MISMATCH), 1);
        findings_free(&f);
    }
}

/* -------------------------------------------- cap and synthetic layers */

static void b64_crc(char *out, const void *data, size_t len)
{
    uint64_t crc = crc64_iso_update(0, data, len);
    unsigned char be[8];

    for (int i = 0; i < 8; i++)
        be[i] = (unsigned char)(crc >> (56 - 8 * i));
    EVP_EncodeBlock((unsigned char *)out, be, 8);
}

static void test_findings_capped(void **state)
{
    struct fx *fx = fx_get(state);
    struct findings f = {0};
    char path[1024], crc[16];
    char *text = malloc(1 << 16);
    size_t n = 0;

    /* 30 missing files, then one modified (diff/ has etc/motd: 20 bytes) */
    b64_crc(crc, "x", 1);
    n += (size_t)sprintf(text + n, "{\"type\":2,\"payload\":\"AAAA\",\"position\":0}\n");
    for (int i = 0; i < 30; i++)
        n += (size_t)sprintf(text + n, "{\"type\":1,\"name\":\"nope/f%02d\",\"size\":1,\"payload\":\"%s\",\"position\":%d}\n",
                             i, crc, i + 1);
    n += (size_t)sprintf(text + n, "{\"type\":1,\"name\":\"etc/motd\",\"size\":20,\"payload\":\"%s\"}\n", crc);
    fx_tarsplit(path, sizeof(path), fx, FX_UPPER);
    gz_write_text(path, text, n);
    verify_one(fx, FX_UPPER, &f, NULL);
    assert_int_equal(count_check(&f, DEEP_CHECK_FILE_MISSING), 21);
    assert_true(has_finding(&f, DEEP_CHECK_FILE_MISSING, "... and 10 more files", NULL));
    assert_true(has_finding(&f, DEEP_CHECK_FILE_MISSING, "\"nope/f19\"", NULL));
    assert_false(has_finding(&f, DEEP_CHECK_FILE_MISSING, "\"nope/f20\"", NULL));
    assert_int_equal(count_check(&f, DEEP_CHECK_FILE_MODIFIED), 1);
    assert_true(has_finding(&f, DEEP_CHECK_FILE_MODIFIED, "... and 1 more files differ", NULL));
    assert_int_equal(count_check(&f, DEEP_CHECK_CONTENT_MISMATCH), 1);
    assert_int_equal(f.n, 23);
    /* summaries come before the stream verdict */
    assert_string_equal(f.v[f.n - 1].check, DEEP_CHECK_CONTENT_MISMATCH);
    findings_free(&f);
    free(text);
}

/* Non-UTF-8 names (name_raw) are opened by their raw bytes and quoted safely. */
static void test_name_raw(void **state)
{
    struct fx *fx = fx_get(state);
    struct findings f = {0};
    char path[1024];

    fx_path(path, sizeof(path), fx, FX_BASE_CACHE, "big/n\xe9-raw");
    run_cmd("printf 'NON-utf8 name\\n' > '%s'", path);
    verify_one(fx, FX_BASE, &f, NULL);
    assert_int_equal(f.n, 2);
    assert_true(has_finding(&f, DEEP_CHECK_FILE_MODIFIED, "\"big/n\\xe9-raw\" content differs", NULL));
    findings_free(&f);
}

static void test_bad_arguments(void **state)
{
    struct fx *fx = fx_get(state);
    struct layer l;
    const char *bad[] = {"sha256:" FX_BASE "0", "sha256:872F5915d3d5dcbb45c2700e7c4de494c4a797ffbe8a6e780bc79d212259d227",
                         "sha512:" FX_BASE, FX_BASE, ""};

    layer_open(fx->root, FX_BASE, &l);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct deep_layer_job job = l.job;

        job.diff_id = bad[i];
        errno = 0;
        assert_int_equal(deep_verify_layer(&job, NULL, NULL, NULL), -1);
        assert_int_equal(errno, EINVAL);
    }
    /* a wrong but well-formed diffID is a finding, not an error */
    {
        struct deep_layer_job job = l.job;
        struct findings f = {0};

        job.diff_id = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
        assert_int_equal(deep_verify_layer(&job, collect, &f, NULL), 0);
        assert_int_equal(f.n, 1);
        assert_string_equal(f.v[0].check, DEEP_CHECK_CONTENT_MISMATCH);
        findings_free(&f);
    }
    layer_close(&l);
}

struct progress_log {
    size_t calls, last_done;
    int failures;
};

static void on_progress(void *ctx, const struct deep_layer_job *job, int rc, int err,
                        size_t done, size_t total, const struct deep_stats *totals)
{
    struct progress_log *p = ((struct progress_log **)ctx)[1];

    (void)job;
    (void)err;
    (void)totals;
    assert_true(done == p->last_done + 1 && done <= total);
    p->last_done = done;
    p->calls++;
    p->failures += rc < 0;
}

static void collect_pair(void *ctx, const char *chain, const char *check, const char *detail)
{
    collect(((void **)ctx)[0], chain, check, detail);
}

/* Many jobs on more threads than layers; one job fails with EINVAL. */
static void test_verify_all_threads(void **state)
{
    struct fx *fx = fx_get(state);
    struct layer l[FX_NLAYERS];
    struct deep_layer_job jobs[3 * FX_NLAYERS + 1];
    struct findings f = {0};
    struct progress_log p = {0};
    void *ctx[2] = {&f, &p};
    struct deep_stats st;
    size_t n = 0;

    for (int i = 0; i < FX_NLAYERS; i++)
        layer_open(fx->root, fx_chains[i], &l[i]);
    for (int r = 0; r < 3; r++)
        for (int i = 0; i < FX_NLAYERS; i++)
            jobs[n++] = l[i].job;
    jobs[n] = l[0].job;
    jobs[n++].diff_id = "nonsense";
    assert_int_equal(deep_verify_all(jobs, n, 8, collect_pair, on_progress, ctx, &st), 1);
    assert_int_equal(f.n, 0);
    assert_int_equal(p.calls, n);
    assert_int_equal(p.failures, 1);
    assert_int_equal(st.layers, n - 1);
    assert_int_equal(st.files, 33);
    assert_int_equal(deep_verify_all(jobs, 0, 4, collect_pair, on_progress, ctx, &st), 0);
    assert_int_equal(st.layers, 0);
    for (int i = 0; i < FX_NLAYERS; i++)
        layer_close(&l[i]);
}

/* ------------------------------------------------------ a live store */

static int expected_bad(const char *chain)
{
    const char *env = getenv("OVL2FSCK_DEEP_EXPECT");
    char *copy, *tok, *save = NULL;
    int hit = 0;

    if (env == NULL)
        return 0;
    copy = strdup(env);
    for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
        if (*tok && strncmp(chain, tok, strlen(tok)) == 0)
            hit = 1;
    free(copy);
    return hit;
}

struct file_writer {
    FILE *fp;
};

static int file_write(void *ctx, const void *buf, size_t len)
{
    return fwrite(buf, 1, len, ((struct file_writer *)ctx)->fp) != len;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void real_progress(void *ctx, const struct deep_layer_job *job, int rc, int err,
                          size_t done, size_t total, const struct deep_stats *totals)
{
    (void)ctx;
    (void)done;
    (void)total;
    (void)totals;
    if (rc < 0)
        fprintf(stderr, "# layer %s: cannot verify: %s\n", job->chain_id, strerror(err));
}

static void test_real_store(void **state)
{
    const char *store = getenv("OVL2FSCK_DEEP_STORE");
    const char *dump = getenv("OVL2FSCK_DEEP_DUMP");
    char path[1024];
    DIR *d;
    struct dirent *de;
    struct layer *l = NULL;
    struct deep_layer_job *jobs = NULL;
    size_t n = 0;
    struct findings f = {0};
    struct deep_stats st;
    double t0, t1;

    (void)state;
    if (store == NULL)
        skip();
    snprintf(path, sizeof(path), "%s/image/overlay2/layerdb/sha256", store);
    d = opendir(path);
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        if (strlen(de->d_name) != 64)
            continue;
        l = realloc(l, (n + 1) * sizeof(*l));
        layer_open(store, de->d_name, &l[n]);
        n++;
    }
    closedir(d);
    jobs = calloc(n ? n : 1, sizeof(*jobs));
    for (size_t i = 0; i < n; i++) {
        /* realloc moved the strings the jobs point into */
        l[i].job.chain_id = l[i].chain;
        l[i].job.diff_id = l[i].diff_id;
        jobs[i] = l[i].job;
    }

    for (int threads = 1; threads <= 2; threads++) {
        t0 = now_s();
        assert_int_equal(deep_verify_all(jobs, n, threads, collect, real_progress, &f, &st), 0);
        t1 = now_s();
        fprintf(stderr, "# real store: %llu layers, %llu files, %llu bytes in %.3f s on %d thread(s): %.1f MB/s\n",
                (unsigned long long)st.layers, (unsigned long long)st.files,
                (unsigned long long)st.bytes_hashed, t1 - t0, threads,
                (double)st.bytes_hashed / (t1 - t0) / 1e6);
        dump_findings(&f);
        for (size_t i = 0; i < f.n; i++)
            assert_true(expected_bad(f.v[i].chain));
        for (size_t i = 0; i < n; i++) {
            int seen = 0;

            for (size_t k = 0; k < f.n; k++)
                seen |= strcmp(f.v[k].chain, l[i].chain) == 0;
            assert_int_equal(seen, expected_bad(l[i].chain));
        }
        assert_int_equal(st.layers, n);
        findings_free(&f);
    }
    if (dump != NULL) {
        for (size_t i = 0; i < n; i++) {
            struct file_writer w;

            snprintf(path, sizeof(path), "%s/%s.tar", dump, l[i].diff_id + 7);
            w.fp = fopen(path, "wb");
            assert_non_null(w.fp);
            assert_int_equal(deep_rebuild_stream(&l[i].job, file_write, &w, NULL, NULL, NULL), 0);
            assert_int_equal(fclose(w.fp), 0);
        }
    }
    for (size_t i = 0; i < n; i++)
        layer_close(&l[i]);
    free(l);
    free(jobs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc64_check_value),
        cmocka_unit_test(test_b64_strict),
        cmocka_unit_test_setup_teardown(test_fixture_clean, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_rebuild_equals_docker_save, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_rebuild_abort, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_flip_one_byte, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_delete_file, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_file_size_changes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_fifo_not_blocking, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tarsplit_missing, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_gzip, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_lines, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_line_too_long, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_name_escapes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_path, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_symlink_component_not_followed, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_last_component_symlink, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_findings_capped, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_name_raw, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_verify_all_threads, fx_setup, fx_teardown),
        cmocka_unit_test(test_real_store),
    };

    return cmocka_run_group_tests_name("deep", tests, NULL, NULL);
}
