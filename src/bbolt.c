/* bbolt.c — read-only, hostile-input-safe reader of bbolt (BoltDB) files.
 *
 * Owns: reading the file under a size cap, choosing a meta page, and walking
 * every bucket's B+tree with bounds checks on every page id, element offset
 * and length. A file opened by fd is read page by page as the walk reaches
 * each page (pread into one buffer per recursion level: no copy of the
 * whole file in memory, and a page is read only when reached); a buffer
 * given to bbolt_open_mem is walked in place. Layout (all little-endian, go.etcd.io/bbolt v1):
 *
 *   page header (16): id u64, flags u16, count u16, overflow u32
 *   meta (after header, 64): magic u32, version u32, pageSize u32, flags u32,
 *        root {pgid u64, sequence u64}, freelist u64, pgid u64, txid u64,
 *        checksum u64 = FNV-1a 64 of the 56 bytes before it
 *   branch element (16): pos u32, ksize u32, pgid u64
 *   leaf element (16):   flags u32, pos u32, ksize u32, vsize u32
 *   pos is relative to the element's own first byte. A bucket value starts
 *   with {root pgid u64, sequence u64}; root 0 = inline bucket whose leaf
 *   page follows those 16 bytes inside the value.
 *
 * Termination on hostile input: every page is marked in a bitmap when first
 * reached (a second visit is a loop or a shared page: both corrupt), tree
 * height and bucket nesting are capped, and the number of elements parsed is
 * capped by file size / 16 (distinct elements occupy distinct bytes, so only
 * overlapping inline buckets could exceed it). */
#include "bbolt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE_HEADER_SIZE   16
#define META_SIZE          64
#define META_CHECKED_BYTES 56   /* offset of the checksum field */
#define ELEMENT_SIZE       16
#define BUCKET_HEADER_SIZE 16

#define PAGE_BRANCH   0x01
#define PAGE_LEAF     0x02
#define PAGE_META     0x04
#define LEAF_BUCKET   0x01

#define BBOLT_MAGIC   0xED0CDAEDu
#define BBOLT_VERSION 2u

#define MIN_PAGE_SIZE 512u
#define MAX_PAGE_SIZE (1u << 20)

struct bbolt {
    unsigned char *buf;          /* the whole file (mem), or its first bytes (fd: the metas) */
    size_t len;                  /* the file's length */
    int fd;                      /* -1: everything is in buf */
    off_t base;                  /* fd: the file offset of byte 0 */
    uint32_t page_size;
    uint64_t high_water;
    uint64_t root;
    uint64_t txid;
    int meta_index;
    int other_meta_ok;
};

/* ---- little helpers ---------------------------------------------------- */

static uint16_t get_u16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static uint64_t get_u64(const unsigned char *p)
{
    return (uint64_t)get_u32(p) | ((uint64_t)get_u32(p + 4) << 32);
}

static uint64_t fnv1a64(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

__attribute__((format(printf, 4, 5)))
static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen) {
        int n = snprintf(err, errlen, "%s: ", bbolt_strerror(code));
        if (n >= 0 && (size_t)n < errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return code;
}

const char *bbolt_strerror(int code)
{
    switch (code) {
    case BBOLT_OK:               return "ok";
    case BBOLT_ERR_IO:           return "read error";
    case BBOLT_ERR_TOO_LARGE:    return "file too large";
    case BBOLT_ERR_NOMEM:        return "out of memory";
    case BBOLT_ERR_TRUNCATED:    return "truncated file";
    case BBOLT_ERR_BAD_MAGIC:    return "bad magic";
    case BBOLT_ERR_BAD_VERSION:  return "bad version";
    case BBOLT_ERR_BAD_CHECKSUM: return "bad checksum";
    case BBOLT_ERR_BAD_META:     return "bad meta";
    case BBOLT_ERR_PAGE_RANGE:   return "page out of range";
    case BBOLT_ERR_PAGE_LOOP:    return "page loop";
    case BBOLT_ERR_CORRUPT_PAGE: return "corrupt page";
    case BBOLT_ERR_TOO_DEEP:     return "nesting too deep";
    case BBOLT_ERR_STOPPED:      return "stopped by visitor";
    default:                     return "unknown error";
    }
}

/* ---- meta pages -------------------------------------------------------- */

struct meta {
    uint32_t page_size;
    uint64_t root;
    uint64_t high_water;
    uint64_t txid;
};

/* How far a meta got before failing: when both fail, the one that got
 * further names the error (a zeroed meta 0 should not hide that meta 1
 * has a bad checksum). */
static int meta_error_rank(int code, int unreadable)
{
    switch (code) {
    case BBOLT_ERR_TRUNCATED:    return unreadable ? 0 : 5;
    case BBOLT_ERR_BAD_MAGIC:    return 1;
    case BBOLT_ERR_BAD_VERSION:  return 2;
    case BBOLT_ERR_BAD_CHECKSUM: return 3;
    case BBOLT_ERR_BAD_META:     return 4;
    default:                     return -1;
    }
}

static int page_size_is_sane(uint32_t ps)
{
    return ps >= MIN_PAGE_SIZE && ps <= MAX_PAGE_SIZE && (ps & (ps - 1)) == 0;
}

/* Checks the meta page at byte offset off. *unreadable is set when the file
 * ends before the meta does. want_page_size != 0 requires that page size
 * (meta 1 sits at offset pageSize). */
static int read_meta(const unsigned char *buf, size_t len, size_t off,
                     uint32_t want_page_size, struct meta *m, int *unreadable,
                     char *why, size_t whylen)
{
    *unreadable = 0;
    if (off > len || len - off < PAGE_HEADER_SIZE + META_SIZE) {
        *unreadable = 1;
        return fail(why, whylen, BBOLT_ERR_TRUNCATED,
                    "file is %zu bytes, meta at %zu needs %d", len, off,
                    PAGE_HEADER_SIZE + META_SIZE);
    }
    const unsigned char *page = buf + off;
    const unsigned char *p = page + PAGE_HEADER_SIZE;
    if (get_u32(p) != BBOLT_MAGIC)
        return fail(why, whylen, BBOLT_ERR_BAD_MAGIC, "meta at %zu: magic 0x%08x",
                    off, get_u32(p));
    if (get_u32(p + 4) != BBOLT_VERSION)
        return fail(why, whylen, BBOLT_ERR_BAD_VERSION, "meta at %zu: version %u",
                    off, get_u32(p + 4));
    uint64_t sum = fnv1a64(p, META_CHECKED_BYTES);
    if (get_u64(p + META_CHECKED_BYTES) != sum)
        return fail(why, whylen, BBOLT_ERR_BAD_CHECKSUM,
                    "meta at %zu: checksum %016llx, computed %016llx", off,
                    (unsigned long long)get_u64(p + META_CHECKED_BYTES),
                    (unsigned long long)sum);
    if (get_u16(page + 8) != PAGE_META)
        return fail(why, whylen, BBOLT_ERR_BAD_META,
                    "meta at %zu: page flags 0x%x", off, get_u16(page + 8));
    m->page_size = get_u32(p + 8);
    m->root = get_u64(p + 16);
    m->high_water = get_u64(p + 40);
    m->txid = get_u64(p + 48);
    if (!page_size_is_sane(m->page_size))
        return fail(why, whylen, BBOLT_ERR_BAD_META, "meta at %zu: page size %u",
                    off, m->page_size);
    if (want_page_size && m->page_size != want_page_size)
        return fail(why, whylen, BBOLT_ERR_BAD_META,
                    "meta at %zu: page size %u does not match its offset", off,
                    m->page_size);
    if (m->high_water < 2)
        return fail(why, whylen, BBOLT_ERR_BAD_META,
                    "meta at %zu: high-water page id %llu", off,
                    (unsigned long long)m->high_water);
    if (m->high_water > len / m->page_size)
        return fail(why, whylen, BBOLT_ERR_TRUNCATED,
                    "meta at %zu: %llu pages of %u bytes, file is %zu bytes", off,
                    (unsigned long long)m->high_water, m->page_size, len);
    return BBOLT_OK;
}

/* Meta 1 sits at offset pageSize, which we only know from meta 0; when meta 0
 * is bad, try its page size field anyway, then every sane page size. */
static int read_second_meta(const unsigned char *buf, size_t len, struct meta *m,
                            int *best_rank, char *why, size_t whylen)
{
    uint32_t candidates[16];
    size_t n = 0;
    if (len >= PAGE_HEADER_SIZE + META_SIZE && page_size_is_sane(get_u32(buf + 24)))
        candidates[n++] = get_u32(buf + 24);
    candidates[n++] = 4096;
    for (uint32_t ps = MIN_PAGE_SIZE; ps <= MAX_PAGE_SIZE; ps <<= 1)
        if (ps != 4096 && ps != candidates[0])
            candidates[n++] = ps;

    int best = -1, best_code = BBOLT_ERR_TRUNCATED;
    char tmp[256];
    for (size_t i = 0; i < n; i++) {
        int unreadable;
        int rc = read_meta(buf, len, candidates[i], candidates[i], m, &unreadable,
                           tmp, sizeof tmp);
        if (rc == BBOLT_OK)
            return BBOLT_OK;
        int rank = meta_error_rank(rc, unreadable);
        if (rank > best) {
            best = rank;
            best_code = rc;
            snprintf(why, whylen, "%s", tmp);
        }
    }
    *best_rank = best;
    return best_code;
}

static int choose_meta(bbolt *db, char *err, size_t errlen)
{
    struct meta m0, m1;
    char why0[256] = "", why1[256] = "";
    int unreadable0, rank1 = -1;
    int rc0 = read_meta(db->buf, db->len, 0, 0, &m0, &unreadable0, why0, sizeof why0);
    int rc1 = read_second_meta(db->buf, db->len, &m1, &rank1, why1, sizeof why1);

    if (rc0 != BBOLT_OK && rc1 != BBOLT_OK) {
        int rank0 = meta_error_rank(rc0, unreadable0);
        int code = rank0 >= rank1 ? rc0 : rc1;
        return fail(err, errlen, code, "both metas bad: meta 0: %s; meta 1: %s",
                    why0, why1);
    }
    const struct meta *use;
    if (rc0 == BBOLT_OK && (rc1 != BBOLT_OK || m0.txid >= m1.txid)) {
        use = &m0;
        db->meta_index = 0;
        db->other_meta_ok = rc1 == BBOLT_OK;
    } else {
        use = &m1;
        db->meta_index = 1;
        db->other_meta_ok = rc0 == BBOLT_OK;
    }
    db->page_size = use->page_size;
    db->high_water = use->high_water;
    db->root = use->root;
    db->txid = use->txid;
    return BBOLT_OK;
}

/* ---- open / close ------------------------------------------------------ */

/* fd >= 0: buf holds the file's first bytes (enough for both metas), len
 * is the file's length, fd is owned. */
static int open_owned(unsigned char *buf, size_t len, int fd, off_t base, bbolt **out,
                      char *err, size_t errlen)
{
    *out = NULL;
    bbolt *db = calloc(1, sizeof *db);
    if (!db) {
        free(buf);
        if (fd >= 0)
            close(fd);
        return fail(err, errlen, BBOLT_ERR_NOMEM, "allocating handle");
    }
    db->buf = buf;
    db->len = len;
    db->fd = fd;
    db->base = base;
    int rc = choose_meta(db, err, errlen);
    if (rc != BBOLT_OK) {
        bbolt_close(db);
        return rc;
    }
    *out = db;
    return BBOLT_OK;
}

int bbolt_open_mem(const void *buf, size_t len, bbolt **out, char *err, size_t errlen)
{
    unsigned char *copy = malloc(len ? len : 1);
    *out = NULL;
    if (!copy)
        return fail(err, errlen, BBOLT_ERR_NOMEM, "copying %zu bytes", len);
    if (len)
        memcpy(copy, buf, len);
    return open_owned(copy, len, -1, 0, out, err, errlen);
}

/* pread of exactly n bytes at off (a short read is an I/O error: the
 * file shrank under us). */
static int read_exact(int fd, off_t off, unsigned char *buf, size_t n, char *err, size_t errlen)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, buf + got, n - got, off + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return fail(err, errlen, BBOLT_ERR_IO, "read at %lld: %s", (long long)(off + (off_t)got),
                        strerror(errno));
        if (r == 0)
            return fail(err, errlen, BBOLT_ERR_IO, "read at %lld: the file ended early (%zu bytes short)",
                        (long long)(off + (off_t)got), n - got);
        got += (size_t)r;
    }
    return BBOLT_OK;
}

/* The first bytes of the file: both metas lie inside them (meta 1 sits at
 * offset pageSize <= MAX_PAGE_SIZE). */
static int read_head(int fd, off_t base, size_t len, unsigned char **out, char *err, size_t errlen)
{
    size_t n = len < (size_t)MAX_PAGE_SIZE + PAGE_HEADER_SIZE + META_SIZE ? len
                                                                          : (size_t)MAX_PAGE_SIZE + PAGE_HEADER_SIZE + META_SIZE;
    unsigned char *buf = malloc(n ? n : 1);
    if (!buf)
        return fail(err, errlen, BBOLT_ERR_NOMEM, "allocating %zu bytes", n);
    int rc = read_exact(fd, base, buf, n, err, errlen);
    if (rc != BBOLT_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    return BBOLT_OK;
}

int bbolt_open_fd(int fd, size_t max_bytes, bbolt **out, char *err, size_t errlen)
{
    struct stat st;
    *out = NULL;
    if (max_bytes == 0)
        max_bytes = BBOLT_DEFAULT_MAX_BYTES;
    if (max_bytes > SIZE_MAX / 2)
        max_bytes = SIZE_MAX / 2;     /* keeps max_bytes + 1 from wrapping */
    if (fstat(fd, &st) != 0)
        return fail(err, errlen, BBOLT_ERR_IO, "fstat: %s", strerror(errno));
    if (!S_ISREG(st.st_mode))
        return fail(err, errlen, BBOLT_ERR_IO, "not a regular file");
    if (st.st_size < 0 || (uint64_t)st.st_size > max_bytes)
        return fail(err, errlen, BBOLT_ERR_TOO_LARGE, "%lld bytes, limit %zu",
                    (long long)st.st_size, max_bytes);
    off_t base = lseek(fd, 0, SEEK_CUR);
    if (base < 0 || base > st.st_size)
        return fail(err, errlen, BBOLT_ERR_IO, "seek: %s", base < 0 ? strerror(errno) : "offset past the end");
    size_t len = (size_t)(st.st_size - base);
    unsigned char *buf = NULL;
    int rc = read_head(fd, base, len, &buf, err, errlen);
    if (rc != BBOLT_OK)
        return rc;
    int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (own < 0) {
        free(buf);
        return fail(err, errlen, BBOLT_ERR_IO, "dup: %s", strerror(errno));
    }
    return open_owned(buf, len, own, base, out, err, errlen);
}

void bbolt_close(bbolt *db)
{
    if (!db)
        return;
    free(db->buf);
    if (db->fd >= 0)
        close(db->fd);
    free(db);
}

void bbolt_get_info(const bbolt *db, bbolt_info *info)
{
    info->page_size = db->page_size;
    info->txid = db->txid;
    info->high_water = db->high_water;
    info->root = db->root;
    info->meta_index = db->meta_index;
    info->other_meta_ok = db->other_meta_ok;
}

/* ---- the walk ---------------------------------------------------------- */

/* A page read from the file (fd mode): one per recursion level, so the
 * pages of the branches and buckets above stay valid below them. */
struct page_buf {
    unsigned char *p;
    size_t cap;
};
#define MAX_LEVELS (BBOLT_MAX_NESTING * BBOLT_MAX_HEIGHT)

struct walker {
    const bbolt *db;
    bbolt_visit_fn fn;
    void *ctx;
    char *err;
    size_t errlen;
    unsigned char *visited;      /* one bit per page id below high_water */
    uint64_t element_budget;
    bbolt_slice path[BBOLT_MAX_NESTING];
    struct page_buf *bufs;       /* fd mode: MAX_LEVELS of them */
    int level;                   /* pages being walked (fd mode: the buffer in use) */
};

/* Key-order state of one bucket: keys must come strictly increasing. In fd
 * mode the last key of a leaf is copied (the next leaf reuses its buffer). */
struct bucket_pos {
    int depth;                   /* depth of this bucket's keys */
    const unsigned char *last;
    size_t last_len;
    int have_last;
    unsigned char *own;          /* fd mode: the copy of the last key */
    size_t own_cap;
};

static int walk_bucket(struct walker *w, int depth, const unsigned char *val,
                       size_t vlen, const char *name_for_errors);

static int key_after(const struct bucket_pos *b, const unsigned char *k, size_t klen)
{
    if (!b->have_last)
        return 1;
    size_t n = klen < b->last_len ? klen : b->last_len;
    int c = memcmp(b->last, k, n);
    return c < 0 || (c == 0 && b->last_len < klen);
}

static int spend_element(struct walker *w)
{
    if (w->element_budget == 0)
        return fail(w->err, w->errlen, BBOLT_ERR_CORRUPT_PAGE,
                    "more elements than the file can hold (overlapping values)");
    w->element_budget--;
    return BBOLT_OK;
}

/* Finds page pgid, checks it lies inside the file and was not reached
 * before, and marks every page it spans. */
/* fd mode: n bytes at file offset off into the level's buffer, whose
 * first have bytes are already there. */
static int read_into_level(struct walker *w, int level, uint64_t off, size_t have, size_t n,
                           const unsigned char **out)
{
    struct page_buf *b = &w->bufs[level];
    if (b->cap < n) {
        unsigned char *np = realloc(b->p, n);
        if (!np)
            return fail(w->err, w->errlen, BBOLT_ERR_NOMEM, "allocating %zu bytes", n);
        b->p = np;
        b->cap = n;
    }
    int rc = read_exact(w->db->fd, w->db->base + (off_t)(off + have), b->p + have, n - have, w->err, w->errlen);
    *out = b->p;
    return rc;
}

static int load_page(struct walker *w, int level, uint64_t pgid, const unsigned char **page,
                     size_t *span)
{
    const bbolt *db = w->db;
    if (pgid < 2 || pgid >= db->high_water)
        return fail(w->err, w->errlen, BBOLT_ERR_PAGE_RANGE,
                    "page %llu, valid ids are 2..%llu", (unsigned long long)pgid,
                    (unsigned long long)db->high_water - 1);
    const unsigned char *p = db->buf + pgid * db->page_size;
    int rc;
    if (db->fd >= 0 && (rc = read_into_level(w, level, pgid * db->page_size, 0, db->page_size, &p)) != BBOLT_OK)
        return rc;
    uint64_t overflow = get_u32(p + 12);
    if (overflow >= db->high_water - pgid)
        return fail(w->err, w->errlen, BBOLT_ERR_PAGE_RANGE,
                    "page %llu: overflow %llu runs past page %llu",
                    (unsigned long long)pgid, (unsigned long long)overflow,
                    (unsigned long long)db->high_water - 1);
    if (get_u64(p) != pgid)
        return fail(w->err, w->errlen, BBOLT_ERR_CORRUPT_PAGE,
                    "page %llu: header says id %llu", (unsigned long long)pgid,
                    (unsigned long long)get_u64(p));
    for (uint64_t i = pgid; i <= pgid + overflow; i++) {
        if (w->visited[i / 8] & (1u << (i % 8)))
            return fail(w->err, w->errlen, BBOLT_ERR_PAGE_LOOP,
                        "page %llu reached twice", (unsigned long long)i);
    }
    for (uint64_t i = pgid; i <= pgid + overflow; i++)
        w->visited[i / 8] |= (unsigned char)(1u << (i % 8));
    if (db->fd >= 0 && overflow &&
        (rc = read_into_level(w, level, pgid * db->page_size, db->page_size,
                              (size_t)((overflow + 1) * db->page_size), &p)) != BBOLT_OK)
        return rc;
    *page = p;
    *span = (size_t)((overflow + 1) * db->page_size);
    return BBOLT_OK;
}

/* Checks that element i's array slot lies inside the page. */
static int check_element_array(struct walker *w, size_t span, unsigned count,
                               const char *what, uint64_t pgid)
{
    if ((uint64_t)PAGE_HEADER_SIZE + (uint64_t)count * ELEMENT_SIZE > span)
        return fail(w->err, w->errlen, BBOLT_ERR_CORRUPT_PAGE,
                    "%s page %llu: %u elements do not fit in %zu bytes", what,
                    (unsigned long long)pgid, count, span);
    return BBOLT_OK;
}

/* Key (and value) of an element: elem_off + pos + ksize + vsize <= span. */
static int check_element_data(struct walker *w, size_t elem_off, uint32_t pos,
                              uint32_t ksize, uint32_t vsize, size_t span,
                              const char *what, uint64_t pgid, unsigned i)
{
    uint64_t end = (uint64_t)elem_off + pos + ksize + vsize;
    if (end > span)
        return fail(w->err, w->errlen, BBOLT_ERR_CORRUPT_PAGE,
                    "%s page %llu element %u: pos %u ksize %u vsize %u ends at %llu, "
                    "page is %zu bytes", what, (unsigned long long)pgid, i, pos,
                    ksize, vsize, (unsigned long long)end, span);
    return BBOLT_OK;
}

static int visit_leaf_element(struct walker *w, struct bucket_pos *b, uint32_t flags,
                              const unsigned char *k, size_t klen,
                              const unsigned char *v, size_t vlen)
{
    bbolt_slice key = { k, klen }, val = { v, vlen };
    int is_bucket = (flags & LEAF_BUCKET) != 0;
    if (w->fn && w->fn(w->ctx, b->depth, w->path, &key, &val, is_bucket) != 0)
        return fail(w->err, w->errlen, BBOLT_ERR_STOPPED, "at depth %d", b->depth);
    if (!is_bucket)
        return BBOLT_OK;
    if (b->depth + 1 >= BBOLT_MAX_NESTING)
        return fail(w->err, w->errlen, BBOLT_ERR_TOO_DEEP,
                    "buckets nested more than %d deep", BBOLT_MAX_NESTING);
    w->path[b->depth] = key;
    return walk_bucket(w, b->depth + 1, v, vlen, "bucket");
}

/* fd mode: the next leaf of the bucket reuses this leaf's buffer, so the
 * last key moves to the bucket's own copy. */
static int keep_last_key(struct walker *w, struct bucket_pos *b)
{
    if (!b->have_last || b->last == b->own)
        return BBOLT_OK;
    if (b->own_cap < b->last_len) {
        unsigned char *np = realloc(b->own, b->last_len);
        if (!np)
            return fail(w->err, w->errlen, BBOLT_ERR_NOMEM, "allocating %zu bytes", b->last_len);
        b->own = np;
        b->own_cap = b->last_len;
    }
    if (b->last_len)
        memcpy(b->own, b->last, b->last_len);
    b->last = b->own;
    return BBOLT_OK;
}

/* The elements of a leaf page at base (span bytes: a real page with its
 * overflow, or the remainder of an inline bucket's value). */
static int walk_leaf(struct walker *w, struct bucket_pos *b, const unsigned char *base,
                     size_t span, const char *what, uint64_t pgid)
{
    unsigned count = get_u16(base + 10);
    int rc = check_element_array(w, span, count, what, pgid);
    if (rc != BBOLT_OK)
        return rc;
    for (unsigned i = 0; i < count; i++) {
        size_t off = PAGE_HEADER_SIZE + (size_t)i * ELEMENT_SIZE;
        const unsigned char *e = base + off;
        uint32_t flags = get_u32(e), pos = get_u32(e + 4);
        uint32_t ksize = get_u32(e + 8), vsize = get_u32(e + 12);
        if ((rc = spend_element(w)) != BBOLT_OK)
            return rc;
        if (flags & ~(uint32_t)LEAF_BUCKET)
            return fail(w->err, w->errlen, BBOLT_ERR_CORRUPT_PAGE,
                        "%s page %llu element %u: flags 0x%x", what,
                        (unsigned long long)pgid, i, flags);
        rc = check_element_data(w, off, pos, ksize, vsize, span, what, pgid, i);
        if (rc != BBOLT_OK)
            return rc;
        const unsigned char *k = e + pos;
        if (!key_after(b, k, ksize))
            return fail(w->err, w->errlen, BBOLT_ERR_CORRUPT_PAGE,
                        "%s page %llu element %u: key out of order", what,
                        (unsigned long long)pgid, i);
        b->last = k;
        b->last_len = ksize;
        b->have_last = 1;
        rc = visit_leaf_element(w, b, flags, k, ksize, k + ksize, vsize);
        if (rc != BBOLT_OK)
            return rc;
    }
    return w->db->fd >= 0 && pgid != 0 ? keep_last_key(w, b) : BBOLT_OK;
}

static int walk_loaded_page(struct walker *w, struct bucket_pos *b, const unsigned char *page,
                            size_t span, uint64_t pgid, int height);

static int walk_page(struct walker *w, struct bucket_pos *b, uint64_t pgid, int height)
{
    const unsigned char *page = NULL;
    size_t span = 0;
    if (height >= BBOLT_MAX_HEIGHT)
        return fail(w->err, w->errlen, BBOLT_ERR_TOO_DEEP,
                    "page %llu: tree higher than %d", (unsigned long long)pgid,
                    BBOLT_MAX_HEIGHT);
    if (w->level >= MAX_LEVELS)
        return fail(w->err, w->errlen, BBOLT_ERR_TOO_DEEP, "page %llu: more than %d pages deep",
                    (unsigned long long)pgid, MAX_LEVELS);
    int rc = load_page(w, w->level, pgid, &page, &span);
    if (rc != BBOLT_OK)
        return rc;
    w->level++;
    rc = walk_loaded_page(w, b, page, span, pgid, height);
    w->level--;
    return rc;
}

static int walk_loaded_page(struct walker *w, struct bucket_pos *b, const unsigned char *page,
                            size_t span, uint64_t pgid, int height)
{
    int rc;
    unsigned flags = get_u16(page + 8);
    if (flags == PAGE_LEAF)
        return walk_leaf(w, b, page, span, "leaf", pgid);
    if (flags != PAGE_BRANCH)
        return fail(w->err, w->errlen, BBOLT_ERR_CORRUPT_PAGE,
                    "page %llu: flags 0x%x where a branch or leaf was expected",
                    (unsigned long long)pgid, flags);

    unsigned count = get_u16(page + 10);
    if (count == 0)
        return fail(w->err, w->errlen, BBOLT_ERR_CORRUPT_PAGE,
                    "branch page %llu: no elements", (unsigned long long)pgid);
    if ((rc = check_element_array(w, span, count, "branch", pgid)) != BBOLT_OK)
        return rc;
    for (unsigned i = 0; i < count; i++) {
        size_t off = PAGE_HEADER_SIZE + (size_t)i * ELEMENT_SIZE;
        const unsigned char *e = page + off;
        if ((rc = spend_element(w)) != BBOLT_OK)
            return rc;
        rc = check_element_data(w, off, get_u32(e), get_u32(e + 4), 0, span,
                                "branch", pgid, i);
        if (rc != BBOLT_OK)
            return rc;
        if ((rc = walk_page(w, b, get_u64(e + 8), height + 1)) != BBOLT_OK)
            return rc;
    }
    return BBOLT_OK;
}

/* val = a bucket value: {root pgid, sequence}, then the inline page if
 * root == 0. depth = depth of the bucket's own keys. */
static int walk_bucket(struct walker *w, int depth, const unsigned char *val,
                       size_t vlen, const char *name_for_errors)
{
    struct bucket_pos b = { depth, NULL, 0, 0, NULL, 0 };
    if (vlen < BUCKET_HEADER_SIZE)
        return fail(w->err, w->errlen, BBOLT_ERR_CORRUPT_PAGE,
                    "%s value at depth %d is %zu bytes, shorter than a bucket header",
                    name_for_errors, depth, vlen);
    uint64_t root = get_u64(val);
    if (root != 0) {
        int rc = walk_page(w, &b, root, 0);
        free(b.own);
        return rc;
    }

    const unsigned char *page = val + BUCKET_HEADER_SIZE;
    size_t span = vlen - BUCKET_HEADER_SIZE;
    if (span < PAGE_HEADER_SIZE)
        return fail(w->err, w->errlen, BBOLT_ERR_CORRUPT_PAGE,
                    "inline bucket at depth %d: %zu bytes, no room for a page header",
                    depth, span);
    if (get_u16(page + 8) != PAGE_LEAF)
        return fail(w->err, w->errlen, BBOLT_ERR_CORRUPT_PAGE,
                    "inline bucket at depth %d: page flags 0x%x, not a leaf", depth,
                    get_u16(page + 8));
    return walk_leaf(w, &b, page, span, "inline", 0);
}

static int walk_with(bbolt *db, bbolt_visit_fn fn, void *ctx, char *err, size_t errlen)
{
    struct walker w;
    memset(&w, 0, sizeof w);
    w.db = db;
    w.fn = fn;
    w.ctx = ctx;
    w.err = err;
    w.errlen = errlen;
    w.element_budget = db->len / ELEMENT_SIZE + 1;
    w.visited = calloc((size_t)(db->high_water / 8 + 1), 1);
    if (db->fd >= 0)
        w.bufs = calloc(MAX_LEVELS, sizeof *w.bufs);
    if (!w.visited || (db->fd >= 0 && !w.bufs)) {
        free(w.visited);
        free(w.bufs);
        return fail(err, errlen, BBOLT_ERR_NOMEM, "page bitmap");
    }
    struct bucket_pos top = { 0, NULL, 0, 0, NULL, 0 };
    int rc = walk_page(&w, &top, db->root, 0);
    free(top.own);
    if (w.bufs)
        for (int i = 0; i < MAX_LEVELS; i++)
            free(w.bufs[i].p);
    free(w.visited);
    free(w.bufs);
    return rc;
}

int bbolt_walk(bbolt *db, bbolt_visit_fn fn, void *ctx, char *err, size_t errlen)
{
    return walk_with(db, fn, ctx, err, errlen);
}

int bbolt_check(bbolt *db, char *err, size_t errlen)
{
    return walk_with(db, NULL, NULL, err, errlen);
}
