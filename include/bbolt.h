/* bbolt.h — a small read-only reader for bbolt (BoltDB) v2 files, as written
 * by go.etcd.io/bbolt. It owns nothing but parsing: a file is read with
 * pread, page by page as a walk reaches each page (never mmap'd: a file
 * truncated under us would SIGBUS; a short read is BBOLT_ERR_IO), and
 * every page id, offset, length, count and nesting level is checked against
 * the file before use. Hostile input gives an error code, never a crash,
 * never a hang: each page is visited at most once per walk and the number of
 * elements parsed is bounded by the file size. */
#ifndef OVL2FSCK_BBOLT_H
#define OVL2FSCK_BBOLT_H

#include <stddef.h>
#include <stdint.h>

#define BBOLT_DEFAULT_MAX_BYTES (256u * 1024 * 1024)
#define BBOLT_MAX_NESTING 64   /* buckets inside buckets */
#define BBOLT_MAX_HEIGHT  32   /* branch levels inside one bucket's B+tree */

/* Every function returns 0 (BBOLT_OK) or one of these; the err buffer, when
 * given, gets a message naming the page or offset at fault. */
enum bbolt_error {
    BBOLT_OK = 0,
    BBOLT_ERR_IO,            /* read()/fstat() failed, or not a regular file */
    BBOLT_ERR_TOO_LARGE,     /* file larger than max_bytes */
    BBOLT_ERR_NOMEM,
    BBOLT_ERR_TRUNCATED,     /* shorter than its metas say (or than 2 metas) */
    BBOLT_ERR_BAD_MAGIC,     /* neither meta page carries the bbolt magic */
    BBOLT_ERR_BAD_VERSION,   /* best meta has the magic but version != 2 */
    BBOLT_ERR_BAD_CHECKSUM,  /* best meta fails its FNV-1a checksum */
    BBOLT_ERR_BAD_META,      /* checksum ok but page size / high-water mark absurd */
    BBOLT_ERR_PAGE_RANGE,    /* a page id outside [2, high-water mark) or the file */
    BBOLT_ERR_PAGE_LOOP,     /* a page reached twice (cycle or shared page) */
    BBOLT_ERR_CORRUPT_PAGE,  /* bad flags/count, element out of page, keys unsorted */
    BBOLT_ERR_TOO_DEEP,      /* nesting or tree height over the caps above */
    BBOLT_ERR_STOPPED        /* the visitor returned non-zero */
};

/* A view into a page the walk holds: key and val are valid during the
 * visitor's call, path[i] while the walk is below that bucket. */
typedef struct {
    const unsigned char *data;
    size_t len;
} bbolt_slice;

typedef struct bbolt bbolt;

/* Opens the regular file behind fd, from its current offset to EOF
 * (refusing more than max_bytes; 0 = BBOLT_DEFAULT_MAX_BYTES): reads its
 * metas and checks them; walks read the pages they reach. The handle keeps
 * a duplicate of fd; the caller's fd is not closed. */
int bbolt_open_fd(int fd, size_t max_bytes, bbolt **out, char *err, size_t errlen);

/* Same on a buffer, which is copied (and walked in memory). */
int bbolt_open_mem(const void *buf, size_t len, bbolt **out, char *err, size_t errlen);

void bbolt_close(bbolt *db);

/* What the chosen meta page says (the valid one with the highest txid). */
typedef struct {
    uint32_t page_size;
    uint64_t txid;
    uint64_t high_water;     /* meta.pgid: first page id never allocated */
    uint64_t root;           /* root bucket's page */
    int meta_index;          /* 0 or 1 */
    int other_meta_ok;       /* 0 when the other meta was bad (we fell back) */
} bbolt_info;

void bbolt_get_info(const bbolt *db, bbolt_info *info);

/* Depth-first walk, in key order, of every key in every bucket.
 * depth = number of enclosing buckets (top-level bucket names have depth 0);
 * path[0..depth-1] = their names. For a bucket (is_bucket = 1) val is the raw
 * stored value (16-byte bucket header, plus the page of an inline bucket),
 * and the bucket's own keys follow at depth + 1. A non-zero return from fn
 * stops the walk with BBOLT_ERR_STOPPED. Corruption found mid-walk is
 * reported after the keys before it were visited; use bbolt_check() first
 * for all-or-nothing. */
typedef int (*bbolt_visit_fn)(void *ctx, int depth, const bbolt_slice *path,
                              const bbolt_slice *key, const bbolt_slice *val,
                              int is_bucket);
int bbolt_walk(bbolt *db, bbolt_visit_fn fn, void *ctx, char *err, size_t errlen);

/* bbolt_walk without a visitor: validates every reachable page. */
int bbolt_check(bbolt *db, char *err, size_t errlen);

/* Short fixed name of an error code ("page loop", "truncated file" ...). */
const char *bbolt_strerror(int code);

#endif
