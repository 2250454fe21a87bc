/* genstore.c — writes a synthetic Docker overlay2 data root in the exact
 * on-disk format of dockerd 20.10 (see /work/shared/docs/overlay2-store.md),
 * deterministic by --seed. Used by `make bench` and tests/integration/t-gen*.t.
 *
 *   genstore --out DIR [--images N] [--seed S] [--garbage PCT]
 *            [--containers N] [--buildkit N] [--quiet]
 *
 * What it writes (every id file without a trailing newline, modes as dockerd):
 *   - a pool of base chains (images/10 chains of 2-6 layers; half of them
 *     extend an earlier pool chain, so bases share layers at several levels);
 *   - images: a base chain + 1-6 own layers, or (1 in 4) an earlier image +
 *     1-6 own layers with imagedb/metadata/<id>/parent; every image is tagged
 *     (gen/imgNNNNNN:latest, 1 in 5 also gen/shared:tNNNNNN);
 *   - every layer is a real tiny tar (dir g/, one or two files, or 1 in 30 an
 *     empty tar): diffID = sha256 of the tar, layerdb/sha256/<chainID>/{diff,
 *     parent,cache-id,size,tar-split.json.gz} with a tar-split stream that
 *     rebuilds the tar exactly from overlay2/<cache-id>/diff/ (docker save
 *     works), overlay2/<cache-id>/{diff/,link,lower,work/,committed} and
 *     overlay2/l/<link> -> ../<cache-id>/diff;
 *   - containers: containers/<id>/{config.v2.json,hostconfig.json,checkpoints/},
 *     layerdb/mounts/<id>/{mount-id,init-id,parent}, overlay2/<mid>-init
 *     (dockerd's init files) on the image's top layer and overlay2/<mid> on it;
 *   - BuildKit: images whose own layers were registered by BuildKit (25-char
 *     cache-ids), cache-mount snapshot dirs, and buildkit/snapshots.db, a
 *     real bbolt file holding the buckets moby's snapshotter writes;
 *   - with --garbage PCT, ceil(images*PCT/400) objects of each leftover kind
 *     (see the summary): orphan overlay2 dirs, orphan container dir pairs,
 *     orphan BuildKit dirs, layerdb/tmp/write-set-* (with their orphan dir),
 *     *-removing layer dirs, imagedb .tmp-* files, broken l/ links,
 *     unreferenced layer chains, mounts without container, containers without
 *     mount.
 * The summary on stdout is key=value lines; expect.<check>=N is the exact
 * number of findings of that check ovl2fsck must report (--min-age 0).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <cJSON.h>
#include <openssl/evp.h>
#include <zlib.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <dirent.h>
#include <unistd.h>

#define MAX_DEPTH 60          /* layers per image chain (dockerd allows 128) */
#define TAR_MTIME 1700000000L
#define CREATED "2023-11-14T22:13:20Z"

/* ---- small utilities ----------------------------------------------------- */

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "genstore: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

static void *xcalloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (!p)
        die("out of memory");
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        die("out of memory");
    return p;
}

/* splitmix64: the only source of randomness (deterministic by --seed). */
static uint64_t rng_state;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
/* uniform in [lo, hi] */
static unsigned rnd_range(unsigned lo, unsigned hi) { return lo + (unsigned)(rnd() % (uint64_t)(hi - lo + 1)); }
static bool rnd_chance(unsigned one_in) { return rnd() % one_in == 0; }

static const char hexd[] = "0123456789abcdef";

static void to_hex(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexd[b[i] >> 4];
        out[2 * i + 1] = hexd[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static void rand_hex64(char out[65])
{
    unsigned char b[32];
    for (int i = 0; i < 4; i++) {
        uint64_t r = rnd();
        memcpy(b + 8 * i, &r, 8);
    }
    to_hex(b, 32, out);
}

/* dockerd's overlay2 link ids: 26 chars of base32 [A-Z2-7]. */
static void rand_link(char out[27])
{
    static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    for (int i = 0; i < 26; i++)
        out[i] = b32[rnd() % 32];
    out[26] = '\0';
}

/* BuildKit ids (identity.NewID): 25 chars of [0-9a-z]. */
static void rand_bkid(char out[26])
{
    static const char b36[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    for (int i = 0; i < 25; i++)
        out[i] = b36[rnd() % 36];
    out[25] = '\0';
}

static void sha256(const void *data, size_t len, unsigned char out[32])
{
    unsigned int n = 32;
    if (!EVP_Digest(data, len, out, &n, EVP_sha256(), NULL))
        die("sha256 failed");
}

/* chain[n] = sha256(chain[n-1] + " " + diff[n]) on the full "sha256:" strings */
static void chain_id(const unsigned char *parent_chain, const unsigned char diff[32], unsigned char out[32])
{
    if (!parent_chain) {
        memcpy(out, diff, 32);
        return;
    }
    char buf[160], ph[65], dh[65];
    to_hex(parent_chain, 32, ph);
    to_hex(diff, 32, dh);
    int n = snprintf(buf, sizeof buf, "sha256:%s sha256:%s", ph, dh);
    sha256(buf, (size_t)n, out);
}

/* Go's crc64.ISO (reflected, init ~0, xorout ~0), as tar-split uses it. */
static uint64_t crc_table[256];
static void crc64_init(void)
{
    for (unsigned i = 0; i < 256; i++) {
        uint64_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0xD800000000000000ull : c >> 1;
        crc_table[i] = c;
    }
}
static uint64_t crc64_iso(const unsigned char *p, size_t n)
{
    uint64_t c = ~0ull;
    for (size_t i = 0; i < n; i++)
        c = crc_table[(uint8_t)c ^ p[i]] ^ (c >> 8);
    return ~c;
}

/* ---- growable byte buffer ------------------------------------------------- */

struct buf {
    unsigned char *p;
    size_t len, cap;
};

static void buf_need(struct buf *b, size_t n)
{
    if (b->len + n <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n)
        cap *= 2;
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
}
static void buf_add(struct buf *b, const void *d, size_t n)
{
    buf_need(b, n);
    if (n)
        memcpy(b->p + b->len, d, n);
    b->len += n;
}
static void buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    buf_need(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}
static void buf_base64(struct buf *b, const unsigned char *d, size_t n)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    buf_need(b, (n + 2) / 3 * 4);
    char *o = (char *)b->p + b->len;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
        *o++ = t[v >> 18];
        *o++ = t[(v >> 12) & 63];
        *o++ = t[(v >> 6) & 63];
        *o++ = t[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)d[i] << 16;
        *o++ = t[v >> 18];
        *o++ = t[(v >> 12) & 63];
        *o++ = '=';
        *o++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8;
        *o++ = t[v >> 18];
        *o++ = t[(v >> 12) & 63];
        *o++ = t[(v >> 6) & 63];
        *o++ = '=';
    }
    b->len = (size_t)(o - (char *)b->p);
}

/* ---- file system helpers --------------------------------------------------- */

static char root[PATH_MAX];
static uint64_t files_written, dirs_made;

__attribute__((format(printf, 1, 2))) static const char *P(const char *fmt, ...)
{
    static char path[PATH_MAX];
    size_t n = strlen(root);
    memcpy(path, root, n);
    path[n++] = '/';
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(path + n, sizeof path - n, fmt, ap);
    va_end(ap);
    if (r < 0 || (size_t)r >= sizeof path - n)
        die("path too long");
    return path;
}

static void mkd(const char *path, mode_t mode)
{
    if (mkdir(path, mode) < 0 && errno != EEXIST)
        die("mkdir %s: %s", path, strerror(errno));
    if (chmod(path, mode) < 0)   /* the umask must not change dockerd's modes */
        die("chmod %s: %s", path, strerror(errno));
    dirs_made++;
}

static void wfile(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        die("create %s: %s", path, strerror(errno));
    const char *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("write %s: %s", path, strerror(errno));
        }
        p += n;
        len -= (size_t)n;
    }
    if (fchmod(fd, mode) < 0)
        die("chmod %s: %s", path, strerror(errno));
    if (close(fd) < 0)
        die("close %s: %s", path, strerror(errno));
    files_written++;
}

static void wstr(const char *path, const char *s, mode_t mode) { wfile(path, s, strlen(s), mode); }

static void slink(const char *target, const char *path)
{
    if (symlink(target, path) < 0)
        die("symlink %s: %s", path, strerror(errno));
    files_written++;
}

/* ---- the model -------------------------------------------------------------- */

enum {
    L_BUILDKIT = 1,    /* registered by BuildKit: 25-char cache-id */
    L_HAS_CHILD = 2,   /* a dir was created on it: "committed" */
    L_ORPHAN = 4,      /* garbage: overlay2 dir only, no layerdb entry */
    L_WRITESET = 8,    /* garbage: layerdb/tmp/write-set-* + orphan overlay2 dir */
    L_REMOVING = 16,   /* garbage: layerdb/sha256/<chain>-<rand>-removing, dir gone */
    L_UNREF = 32,      /* garbage: a layer no image uses */
};

struct layer {
    uint32_t parent;          /* index + 1; 0 = base layer */
    uint16_t size1, size2;    /* file sizes; nfiles = 0: empty tar */
    uint8_t nfiles;
    uint8_t busybox;          /* bottom of a base chain with --busybox: bin/busybox, bin/sh */
    uint8_t flags;
    uint8_t depth;            /* 1 for a base layer */
    unsigned char diff[32], chain[32];
    char cache[65];
    char link[27];
    char commit_name[26];     /* BuildKit: the committed-name bucket */
    uint32_t extra;           /* write-set number */
    uint32_t empty_child;     /* index + 1 of its empty child layer, if any */
};

struct image {
    uint32_t top;             /* layer index */
    int32_t parent_image;     /* -1 or index */
    bool shared_tag, last_updated;
    unsigned char id[32];
};

enum { C_NORMAL, C_NO_CONTAINER, C_NO_MOUNT, C_ORPHAN_PAIR };

struct container {
    uint32_t image;
    int kind;
    char id[65], mid[65];
    char init_link[27], rw_link[27];
    bool wrote_file;
};

struct bk_cache {              /* a BuildKit cache-mount snapshot dir */
    char id[26];
    char link[27];
    bool orphan;               /* garbage: no bucket names it */
};

static struct layer *layers;
static size_t nlayers, cap_layers;
static struct image *images;
static size_t nimages;
static struct container *containers;
static size_t ncontainers;
static struct bk_cache *bkc;
static size_t nbkc;

static struct opts {
    long images;
    uint64_t seed;
    double garbage;
    long containers;
    long buildkit;
    bool quiet;
    const char *out;
    const char *busybox;
} o = { .images = 20, .seed = 1, .containers = -1, .buildkit = -1 };

/* ---- layer tar streams and tar-split ---------------------------------------- */

static void octal(char *dst, size_t width, uint64_t v)
{
    /* width-1 octal digits, then NUL (Go's archive/tar USTAR formatting) */
    for (size_t i = width - 1; i-- > 0;) {
        dst[i] = (char)('0' + (v & 7));
        v >>= 3;
    }
    dst[width - 1] = '\0';
}

static unsigned char *busybox_data;   /* --busybox: the binary's bytes */
static size_t busybox_size;

static void tar_header(unsigned char h[512], const char *name, char type, unsigned mode, uint64_t size,
                       const char *linkname)
{
    memset(h, 0, 512);
    memcpy(h, name, strlen(name));
    if (linkname)
        memcpy(h + 157, linkname, strlen(linkname));
    octal((char *)h + 100, 8, mode);
    octal((char *)h + 108, 8, 0);
    octal((char *)h + 116, 8, 0);
    octal((char *)h + 124, 12, size);
    octal((char *)h + 136, 12, (uint64_t)TAR_MTIME);
    h[156] = (unsigned char)type;
    memcpy(h + 257, "ustar\0" "00", 8);
    memcpy(h + 265, "root", 4);
    memcpy(h + 297, "root", 4);
    octal((char *)h + 329, 8, 0);
    octal((char *)h + 337, 8, 0);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += h[i];
    octal((char *)h + 148, 7, sum);   /* 6 digits, NUL, then the space stays */
    h[155] = ' ';
}

/* The content of a layer's file k (1 or 2): deterministic by seed + layer. */
static void file_content(size_t li, int k, size_t size, unsigned char *out)
{
    uint64_t s = o.seed * 0x100000001B3ull ^ (uint64_t)li * 0x9E3779B97F4A7C15ull ^ (uint64_t)k;
    char head[96];
    int n = snprintf(head, sizeof head, "layer %zu file %d seed %" PRIu64 "\n", li, k, o.seed);
    size_t i = n < 0 ? 0 : (size_t)n;
    if (i > size)
        i = size;
    memcpy(out, head, i);
    static const char alpha[] = "abcdefghijklmnopqrstuvwxyz0123456789 \n";
    for (; i < size; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        out[i] = k == 2 ? (unsigned char)(s >> 33) : (unsigned char)alpha[(s >> 33) % (sizeof alpha - 1)];
    }
}

static void file_name(size_t li, int k, char *out, size_t n)
{
    snprintf(out, n, "g/%zu.%s", li, k == 1 ? "txt" : "bin");
}

/* tar-split's JSON lines (Go's encoding/json of storage.Entry). */
static void ts_segment(struct buf *ts, const unsigned char *d, size_t n, int *pos)
{
    buf_printf(ts, "{\"type\":2,\"payload\":\"");
    buf_base64(ts, d, n);
    buf_printf(ts, "\",\"position\":%d}\n", (*pos)++);
}
static void ts_file(struct buf *ts, const char *name, const unsigned char *d, size_t n, int *pos)
{
    if (n == 0) {
        buf_printf(ts, "{\"type\":1,\"name\":\"%s\",\"payload\":null,\"position\":%d}\n", name, (*pos)++);
        return;
    }
    uint64_t c = crc64_iso(d, n);
    unsigned char be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (unsigned char)(c >> (56 - 8 * i));
    buf_printf(ts, "{\"type\":1,\"name\":\"%s\",\"size\":%zu,\"payload\":\"", name, n);
    buf_base64(ts, be, 8);
    buf_printf(ts, "\",\"position\":%d}\n", (*pos)++);
}

/* Builds layer li's tar stream (into tar, for the diffID) and, when ts is
 * given, its tar-split JSON lines. */
static void layer_tar(size_t li, struct buf *tar, struct buf *ts)
{
    const struct layer *L = &layers[li];
    tar->len = 0;
    if (ts)
        ts->len = 0;
    int pos = 0;
    unsigned char h[512];
    size_t seg_start = 0;   /* bytes of tar not yet emitted as a segment */
    static const unsigned char zeros[512];
    if (L->busybox) {
        /* bin/, bin/busybox, bin/sh -> busybox: images become runnable */
        tar_header(h, "bin/", '5', 0755, 0, NULL);
        buf_add(tar, h, 512);
        if (ts) {
            ts_segment(ts, tar->p + seg_start, tar->len - seg_start, &pos);
            ts_file(ts, "bin/", NULL, 0, &pos);
        }
        tar_header(h, "bin/busybox", '0', 0755, busybox_size, NULL);
        seg_start = tar->len;
        buf_add(tar, h, 512);
        if (ts)
            ts_segment(ts, tar->p + seg_start, tar->len - seg_start, &pos);
        size_t data_at = tar->len;
        buf_add(tar, busybox_data, busybox_size);
        if (ts)
            ts_file(ts, "bin/busybox", tar->p + data_at, busybox_size, &pos);
        seg_start = tar->len;
        buf_add(tar, zeros, (512 - busybox_size % 512) % 512);
        tar_header(h, "bin/sh", '2', 0777, 0, "busybox");
        buf_add(tar, h, 512);
        if (ts) {
            ts_segment(ts, tar->p + seg_start, tar->len - seg_start, &pos);
            ts_file(ts, "bin/sh", NULL, 0, &pos);
        }
        seg_start = tar->len;
    }
    if (L->nfiles > 0) {
        tar_header(h, "g/", '5', 0755, 0, NULL);
        buf_add(tar, h, 512);
        if (ts && seg_start < tar->len) {
            ts_segment(ts, tar->p + seg_start, tar->len - seg_start, &pos);
            ts_file(ts, "g/", NULL, 0, &pos);
        }
        seg_start = tar->len;
        for (int k = 1; k <= L->nfiles; k++) {
            size_t size = k == 1 ? L->size1 : L->size2;
            char name[64];
            file_name(li, k, name, sizeof name);
            tar_header(h, name, '0', 0644, size, NULL);
            buf_add(tar, h, 512);
            if (ts)
                ts_segment(ts, tar->p + seg_start, tar->len - seg_start, &pos);
            size_t data_at = tar->len;
            buf_need(tar, size);
            file_content(li, k, size, tar->p + tar->len);
            tar->len += size;
            if (ts)
                ts_file(ts, name, tar->p + data_at, size, &pos);
            size_t pad = (512 - size % 512) % 512;
            seg_start = tar->len;
            buf_add(tar, zeros, pad);
        }
    }
    static const unsigned char end[1024];
    buf_add(tar, end, 1024);
    if (ts) {
        ts_segment(ts, tar->p + seg_start, tar->len - seg_start, &pos);
        ts_segment(ts, NULL, 0, &pos);   /* dockerd's streams end with an empty segment */
    }
}

static void gzip_buf(const struct buf *in, struct buf *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        die("deflateInit2 failed");
    out->len = 0;
    buf_need(out, deflateBound(&z, in->len) + 64);
    z.next_in = in->p;
    z.avail_in = (uInt)in->len;
    z.next_out = out->p;
    z.avail_out = (uInt)out->cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        die("deflate failed");
    out->len = z.total_out;
    deflateEnd(&z);
}

/* ---- building the model ------------------------------------------------------ */

static struct buf scratch_tar;

static bool pending_busybox;   /* the next new layer carries busybox */

static size_t new_layer(uint32_t parent_plus1, uint8_t flags)
{
    /* an empty layer (RUN that changed nothing) has the same diffID
     * everywhere, so the same chainID on the same parent: dockerd shares it */
    bool empty = parent_plus1 && rnd_chance(30) && flags == 0;
    if (empty && layers[parent_plus1 - 1].empty_child)
        return layers[parent_plus1 - 1].empty_child - 1;
    if (nlayers == cap_layers) {
        cap_layers = cap_layers ? cap_layers * 2 : 1024;
        layers = xrealloc(layers, cap_layers * sizeof *layers);
    }
    size_t li = nlayers++;
    struct layer *L = &layers[li];
    memset(L, 0, sizeof *L);
    L->parent = parent_plus1;
    L->flags = flags;
    L->depth = parent_plus1 ? (uint8_t)(layers[parent_plus1 - 1].depth + 1) : 1;
    L->busybox = pending_busybox;
    pending_busybox = false;
    if (empty) {
        L->nfiles = 0;
        layers[parent_plus1 - 1].empty_child = (uint32_t)li + 1;
    } else {
        L->nfiles = rnd_chance(3) ? 2 : 1;
        L->size1 = (uint16_t)rnd_range(20, 400);
        L->size2 = L->nfiles == 2 ? (uint16_t)rnd_range(1, 6000) : 0;
    }
    if (flags & L_BUILDKIT) {
        rand_bkid(L->cache);
        rand_bkid(L->commit_name);
    } else {
        rand_hex64(L->cache);
    }
    rand_link(L->link);
    layer_tar(li, &scratch_tar, NULL);
    sha256(scratch_tar.p, scratch_tar.len, L->diff);
    chain_id(parent_plus1 ? layers[parent_plus1 - 1].chain : NULL, L->diff, L->chain);
    if (parent_plus1)
        layers[parent_plus1 - 1].flags |= L_HAS_CHILD;
    return li;
}

/* n own layers on top of parent (index+1 or 0); returns the top index. */
static size_t stack_layers(uint32_t parent_plus1, unsigned n, uint8_t flags)
{
    size_t top = parent_plus1 ? parent_plus1 - 1 : 0;
    for (unsigned i = 0; i < n; i++) {
        top = new_layer(parent_plus1, flags);
        parent_plus1 = (uint32_t)top + 1;
    }
    return top;
}

static size_t *pool;     /* top layer of each base chain */
static size_t npool;

static void build_model(size_t *garbage_n)
{
    size_t n_images = (size_t)o.images;
    size_t n_bk = o.buildkit >= 0 ? (size_t)o.buildkit : (n_images >= 1 ? (n_images + 199) / 200 : 0);
    if (n_bk > n_images)
        n_bk = n_images;
    size_t g = o.garbage > 0 ? (size_t)((double)n_images * o.garbage / 400.0 + 0.999999) : 0;
    if (o.garbage > 0 && g == 0)
        g = 1;
    *garbage_n = g;

    /* base chains */
    npool = n_images / 10 ? n_images / 10 : 1;
    pool = xcalloc(npool, sizeof *pool);
    for (size_t p = 0; p < npool; p++) {
        uint32_t parent = 0;
        unsigned n = rnd_range(2, 6);
        if (p > 0 && rnd_chance(2)) {
            size_t on = pool[rnd() % p];
            if (layers[on].depth + 2 <= 30) {
                parent = (uint32_t)on + 1;
                n = rnd_range(1, 2);
            }
        }
        if (!parent && o.busybox)
            pending_busybox = true;
        pool[p] = stack_layers(parent, n, 0);
    }

    /* images */
    images = xcalloc(n_images, sizeof *images);
    nimages = n_images;
    size_t next_pool = 0;
    for (size_t i = 0; i < n_images; i++) {
        struct image *im = &images[i];
        bool bk = i >= n_images - n_bk;   /* the last n_bk images are BuildKit builds */
        unsigned own = bk ? rnd_range(1, 3) : rnd_range(1, 6);
        im->parent_image = -1;
        uint32_t base;
        /* every base chain is used by some image (else its layers would be
         * unreferenced): derived images only once all of them are */
        if (!bk && i > 0 && next_pool >= npool && rnd_chance(4)) {
            size_t pi = rnd() % i;
            if (layers[images[pi].top].depth + own <= MAX_DEPTH)
                im->parent_image = (int32_t)pi;
        }
        if (im->parent_image >= 0)
            base = (uint32_t)images[im->parent_image].top + 1;
        else if (next_pool < npool)
            base = (uint32_t)pool[next_pool++] + 1;
        else
            base = (uint32_t)pool[rnd() % npool] + 1;
        im->top = (uint32_t)stack_layers(base, own, bk ? L_BUILDKIT : 0);
        im->shared_tag = rnd_chance(5);
        im->last_updated = rnd_chance(3);
    }

    /* BuildKit cache-mount snapshot dirs (referenced by snapshots.db only) */
    if (n_bk) {
        nbkc = (n_bk + 1) / 2 + (g ? g : 0);
        bkc = xcalloc(nbkc, sizeof *bkc);
        for (size_t i = 0; i < nbkc; i++) {
            rand_bkid(bkc[i].id);
            rand_link(bkc[i].link);
            bkc[i].orphan = i >= (n_bk + 1) / 2;
        }
    }

    /* containers */
    size_t n_cont = o.containers >= 0 ? (size_t)o.containers : (n_images + 19) / 20;
    size_t n_all = n_cont + 3 * g;
    containers = xcalloc(n_all, sizeof *containers);
    ncontainers = n_all;
    for (size_t c = 0; c < n_all; c++) {
        struct container *ct = &containers[c];
        ct->image = (uint32_t)(rnd() % n_images);
        ct->kind = c < n_cont ? C_NORMAL : c < n_cont + g ? C_NO_CONTAINER : c < n_cont + 2 * g ? C_NO_MOUNT : C_ORPHAN_PAIR;
        rand_hex64(ct->id);
        rand_hex64(ct->mid);
        rand_link(ct->init_link);
        rand_link(ct->rw_link);
        ct->wrote_file = rnd_chance(2);
        if (ct->kind != C_NO_MOUNT)
            layers[images[ct->image].top].flags |= L_HAS_CHILD;
    }

    /* garbage layers */
    for (size_t k = 0; k < g; k++) {
        /* an interrupted pull: an overlay2 dir on a live parent, no layerdb entry */
        size_t on = images[rnd() % n_images].top;
        new_layer((uint32_t)on + 1, L_ORPHAN);
        /* an interrupted registration: write-set-* and its dir */
        on = images[rnd() % n_images].top;
        size_t w = new_layer((uint32_t)on + 1, L_WRITESET);
        layers[w].extra = (uint32_t)(rnd() % 400000u) * 10000u + (uint32_t)(k % 10000);
        /* an unfinished deletion: -removing, the dir already gone */
        on = images[rnd() % n_images].top;
        new_layer((uint32_t)on + 1, L_REMOVING);
        /* layers of a deleted image (never collected): 1-2 on a base chain */
        stack_layers((uint32_t)pool[rnd() % npool] + 1, rnd_range(1, 2), L_UNREF);
    }
}

/* ---- writing ----------------------------------------------------------------- */

static struct buf tsbuf, gzbuf, lowerbuf;

/* "l/<parent link>:<parent's lower>" — nearest parent first, as dockerd */
static const char *lower_of_parent(size_t parent)
{
    lowerbuf.len = 0;
    size_t p = parent + 1;
    int n = 0;
    while (p) {
        if (n++)
            buf_add(&lowerbuf, ":", 1);
        buf_add(&lowerbuf, "l/", 2);
        buf_add(&lowerbuf, layers[p - 1].link, 26);
        p = layers[p - 1].parent;
    }
    if (n > 128)
        die("chain deeper than dockerd's 128");
    buf_add(&lowerbuf, "", 1);
    return (const char *)lowerbuf.p;
}

static void write_overlay_dir(const char *id, const char *link, const char *lower, bool committed)
{
    mkd(P("overlay2/%s", id), 0710);
    mkd(P("overlay2/%s/diff", id), 0755);
    wstr(P("overlay2/%s/link", id), link, 0644);
    char target[128];
    snprintf(target, sizeof target, "../%s/diff", id);
    slink(target, P("overlay2/l/%s", link));
    if (lower) {
        mkd(P("overlay2/%s/work", id), 0700);
        wstr(P("overlay2/%s/lower", id), lower, 0644);
    }
    if (committed)
        wfile(P("overlay2/%s/committed", id), "", 0, 0600);
}

static int64_t write_layer_content(size_t li, const char *dir)
{
    const struct layer *L = &layers[li];
    int64_t total = 0;
    if (L->busybox) {
        mkd(P("%s/bin", dir), 0755);
        wfile(P("%s/bin/busybox", dir), busybox_data, busybox_size, 0755);
        slink("busybox", P("%s/bin/sh", dir));
        total += (int64_t)busybox_size;
    }
    if (L->nfiles == 0)
        return total;
    mkd(P("%s/g", dir), 0755);
    unsigned char data[8192];
    for (int k = 1; k <= L->nfiles; k++) {
        size_t size = k == 1 ? L->size1 : L->size2;
        char name[64];
        file_name(li, k, name, sizeof name);
        file_content(li, k, size, data);
        wfile(P("%s/%s", dir, name), data, size, 0644);
        total += (int64_t)size;
    }
    return total;
}

static void write_layerdb_files(size_t li, const char *dir, int64_t size)
{
    const struct layer *L = &layers[li];
    char hex[65], s[72];
    mkd(P("%s", dir), 0700);
    to_hex(L->diff, 32, hex);
    snprintf(s, sizeof s, "sha256:%s", hex);
    wstr(P("%s/diff", dir), s, 0644);
    if (L->parent) {
        to_hex(layers[L->parent - 1].chain, 32, hex);
        snprintf(s, sizeof s, "sha256:%s", hex);
        wstr(P("%s/parent", dir), s, 0644);
    }
    wstr(P("%s/cache-id", dir), L->cache, 0644);
    snprintf(s, sizeof s, "%" PRId64, size);
    wstr(P("%s/size", dir), s, 0644);
    layer_tar(li, &scratch_tar, &tsbuf);
    gzip_buf(&tsbuf, &gzbuf);
    wfile(P("%s/tar-split.json.gz", dir), gzbuf.p, gzbuf.len, 0644);
}

static void write_layer(size_t li)
{
    const struct layer *L = &layers[li];
    char chain[65];
    to_hex(L->chain, 32, chain);
    int64_t size = 0;
    if (!(L->flags & L_REMOVING)) {
        const char *lower = L->parent ? lower_of_parent(L->parent - 1) : NULL;
        write_overlay_dir(L->cache, L->link, lower, L->flags & L_HAS_CHILD);
        char d[128];
        snprintf(d, sizeof d, "overlay2/%s/diff", L->cache);
        size = write_layer_content(li, d);
    } else {
        size = (int64_t)(L->nfiles ? L->size1 + (L->nfiles == 2 ? L->size2 : 0) : 0) +
               (L->busybox ? (int64_t)busybox_size : 0);
    }
    if (L->flags & L_ORPHAN)
        return;
    char d[256];
    if (L->flags & L_WRITESET) {
        snprintf(d, sizeof d, "image/overlay2/layerdb/tmp/write-set-%" PRIu32, L->extra);
    } else if (L->flags & L_REMOVING) {
        char r[65];
        rand_hex64(r);
        snprintf(d, sizeof d, "image/overlay2/layerdb/sha256/%s-%s-removing", chain, r);
    } else {
        snprintf(d, sizeof d, "image/overlay2/layerdb/sha256/%s", chain);
    }
    write_layerdb_files(li, d, size);
}

/* rootfs.diff_ids, bottom first */
static size_t chain_of(size_t top, size_t *out)
{
    size_t n = 0;
    for (size_t p = top + 1; p; p = layers[p - 1].parent)
        out[n++] = p - 1;
    for (size_t i = 0; i < n / 2; i++) {
        size_t t = out[i];
        out[i] = out[n - 1 - i];
        out[n - 1 - i] = t;
    }
    return n;
}

static void write_image(size_t i)
{
    struct image *im = &images[i];
    size_t idx[256];
    size_t n = chain_of(im->top, idx);
    cJSON *cfg = cJSON_CreateObject();
    cJSON_AddStringToObject(cfg, "architecture", "amd64");
    cJSON *c = cJSON_AddObjectToObject(cfg, "config");
    const char *cmd[] = { "/bin/sh" };
    cJSON_AddItemToObject(c, "Cmd", cJSON_CreateStringArray(cmd, 1));
    char env2[64];
    snprintf(env2, sizeof env2, "GEN_IMAGE=%zu", i);
    const char *env[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", env2 };
    cJSON_AddItemToObject(c, "Env", cJSON_CreateStringArray(env, 2));
    cJSON_AddStringToObject(cfg, "created", CREATED);
    cJSON *hist = cJSON_AddArrayToObject(cfg, "history");
    cJSON *rootfs = cJSON_CreateObject();
    cJSON_AddStringToObject(rootfs, "type", "layers");
    cJSON *ids = cJSON_AddArrayToObject(rootfs, "diff_ids");
    for (size_t k = 0; k < n; k++) {
        cJSON *h = cJSON_CreateObject();
        char by[96];
        snprintf(by, sizeof by, "genstore layer %zu", idx[k]);
        cJSON_AddStringToObject(h, "created", CREATED);
        cJSON_AddStringToObject(h, "created_by", by);
        cJSON_AddItemToArray(hist, h);
        char hex[65], d[72];
        to_hex(layers[idx[k]].diff, 32, hex);
        snprintf(d, sizeof d, "sha256:%s", hex);
        cJSON_AddItemToArray(ids, cJSON_CreateString(d));
    }
    cJSON_AddStringToObject(cfg, "os", "linux");
    cJSON_AddItemToObject(cfg, "rootfs", rootfs);
    char *json = cJSON_PrintUnformatted(cfg);
    if (!json)
        die("cJSON_PrintUnformatted failed");
    cJSON_Delete(cfg);
    size_t len = strlen(json);
    sha256(json, len, im->id);
    char hex[65];
    to_hex(im->id, 32, hex);
    wfile(P("image/overlay2/imagedb/content/sha256/%s", hex), json, len, 0600);
    free(json);
    if (im->parent_image >= 0 || im->last_updated) {
        mkd(P("image/overlay2/imagedb/metadata/sha256/%s", hex), 0700);
        if (im->parent_image >= 0) {
            char ph[65], s[72];
            to_hex(images[im->parent_image].id, 32, ph);
            snprintf(s, sizeof s, "sha256:%s", ph);
            wstr(P("image/overlay2/imagedb/metadata/sha256/%s/parent", hex), s, 0600);
        }
        if (im->last_updated) {
            char t[40];
            snprintf(t, sizeof t, "2023-11-14T22:13:%02u.%09uZ", (unsigned)(i % 60), (unsigned)(rnd() % 1000000000u));
            wstr(P("image/overlay2/imagedb/metadata/sha256/%s/lastUpdated", hex), t, 0600);
        }
    }
}

static size_t write_repositories(void)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *repos = cJSON_AddObjectToObject(doc, "Repositories");
    size_t tags = 0;
    char repo[64], ref[96], id[72], hex[65];
    /* Go's encoding/json sorts map keys: "gen/img..." < "gen/shared" */
    for (size_t i = 0; i < nimages; i++) {
        snprintf(repo, sizeof repo, "gen/img%06zu", i);
        snprintf(ref, sizeof ref, "%s:latest", repo);
        to_hex(images[i].id, 32, hex);
        snprintf(id, sizeof id, "sha256:%s", hex);
        cJSON *r = cJSON_AddObjectToObject(repos, repo);
        cJSON_AddStringToObject(r, ref, id);
        tags++;
    }
    cJSON *shared = NULL;
    for (size_t i = 0; i < nimages; i++) {
        if (!images[i].shared_tag)
            continue;
        if (!shared)
            shared = cJSON_AddObjectToObject(repos, "gen/shared");
        snprintf(ref, sizeof ref, "gen/shared:t%06zu", i);
        to_hex(images[i].id, 32, hex);
        snprintf(id, sizeof id, "sha256:%s", hex);
        cJSON_AddStringToObject(shared, ref, id);
        tags++;
    }
    char *json = cJSON_PrintUnformatted(doc);
    if (!json)
        die("cJSON_PrintUnformatted failed");
    wstr(P("image/overlay2/repositories.json"), json, 0600);
    free(json);
    cJSON_Delete(doc);
    return tags;
}

static const char HOSTCONFIG[] =
    "{\"Binds\":null,\"ContainerIDFile\":\"\",\"LogConfig\":{\"Type\":\"json-file\",\"Config\":{}},\"NetworkMode\":\"none\","
    "\"PortBindings\":{},\"RestartPolicy\":{\"Name\":\"no\",\"MaximumRetryCount\":0},\"AutoRemove\":false,\"VolumeDriver\":\"\","
    "\"VolumesFrom\":null,\"CapAdd\":null,\"CapDrop\":null,\"CgroupnsMode\":\"host\",\"Dns\":[],\"DnsOptions\":[],\"DnsSearch\":[],"
    "\"ExtraHosts\":null,\"GroupAdd\":null,\"IpcMode\":\"private\",\"Cgroup\":\"\",\"Links\":null,\"OomScoreAdj\":0,\"PidMode\":\"\","
    "\"Privileged\":false,\"PublishAllPorts\":false,\"ReadonlyRootfs\":false,\"SecurityOpt\":null,\"UTSMode\":\"\",\"UsernsMode\":\"\","
    "\"ShmSize\":67108864,\"Runtime\":\"runc\",\"ConsoleSize\":[0,0],\"Isolation\":\"\",\"CpuShares\":0,\"Memory\":0,\"NanoCpus\":0,"
    "\"CgroupParent\":\"\",\"BlkioWeight\":0,\"BlkioWeightDevice\":[],\"BlkioDeviceReadBps\":null,\"BlkioDeviceWriteBps\":null,"
    "\"BlkioDeviceReadIOps\":null,\"BlkioDeviceWriteIOps\":null,\"CpuPeriod\":0,\"CpuQuota\":0,\"CpuRealtimePeriod\":0,"
    "\"CpuRealtimeRuntime\":0,\"CpusetCpus\":\"\",\"CpusetMems\":\"\",\"Devices\":[],\"DeviceCgroupRules\":null,\"DeviceRequests\":null,"
    "\"KernelMemory\":0,\"KernelMemoryTCP\":0,\"MemoryReservation\":0,\"MemorySwap\":0,\"MemorySwappiness\":null,\"OomKillDisable\":false,"
    "\"PidsLimit\":null,\"Ulimits\":null,\"CpuCount\":0,\"CpuPercent\":0,\"IOMaximumIOps\":0,\"IOMaximumBandwidth\":0,"
    "\"MaskedPaths\":[\"/proc/asound\",\"/proc/acpi\",\"/proc/kcore\",\"/proc/keys\",\"/proc/latency_stats\",\"/proc/timer_list\","
    "\"/proc/timer_stats\",\"/proc/sched_debug\",\"/proc/scsi\",\"/sys/firmware\"],\"ReadonlyPaths\":[\"/proc/bus\",\"/proc/fs\","
    "\"/proc/irq\",\"/proc/sys\",\"/proc/sysrq-trigger\"]}";

static void write_container_config(size_t c)
{
    const struct container *ct = &containers[c];
    char ih[65], dir[96];
    to_hex(images[ct->image].id, 32, ih);
    snprintf(dir, sizeof dir, "containers/%s", ct->id);
    mkd(P("%s", dir), 0710);
    mkd(P("%s/checkpoints", dir), 0700);
    struct buf b = { 0 };
    buf_printf(&b,
        "{\"StreamConfig\":{},\"State\":{\"Running\":false,\"Paused\":false,\"Restarting\":false,\"OOMKilled\":false,"
        "\"RemovalInProgress\":false,\"Dead\":false,\"Pid\":0,\"ExitCode\":0,\"Error\":\"\",\"StartedAt\":\"0001-01-01T00:00:00Z\","
        "\"FinishedAt\":\"0001-01-01T00:00:00Z\",\"Health\":null},\"ID\":\"%s\",\"Created\":\"" CREATED "\",\"Managed\":false,"
        "\"Path\":\"sh\",\"Args\":[],\"Config\":{\"Hostname\":\"%.12s\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":false,"
        "\"AttachStdout\":true,\"AttachStderr\":true,\"Tty\":false,\"OpenStdin\":false,\"StdinOnce\":false,"
        "\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\"Cmd\":[\"sh\"],"
        "\"Image\":\"gen/img%06" PRIu32 ":latest\",\"Volumes\":null,\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":{}},"
        "\"Image\":\"sha256:%s\",\"NetworkSettings\":{\"Bridge\":\"\",\"SandboxID\":\"\",\"HairpinMode\":false,"
        "\"LinkLocalIPv6Address\":\"\",\"LinkLocalIPv6PrefixLen\":0,\"Networks\":{\"none\":{\"IPAMConfig\":null,\"Links\":null,"
        "\"Aliases\":null,\"NetworkID\":\"\",\"EndpointID\":\"\",\"Gateway\":\"\",\"IPAddress\":\"\",\"IPPrefixLen\":0,"
        "\"IPv6Gateway\":\"\",\"GlobalIPv6Address\":\"\",\"GlobalIPv6PrefixLen\":0,\"MacAddress\":\"\",\"DriverOpts\":null,"
        "\"IPAMOperational\":false}},\"Service\":null,\"Ports\":null,\"SandboxKey\":\"\",\"SecondaryIPAddresses\":null,"
        "\"SecondaryIPv6Addresses\":null,\"IsAnonymousEndpoint\":false,\"HasSwarmEndpoint\":false},\"LogPath\":\"\","
        "\"Name\":\"/gen-c%06zu\",\"Driver\":\"overlay2\",\"OS\":\"linux\",\"MountLabel\":\"\",\"ProcessLabel\":\"\","
        "\"RestartCount\":0,\"HasBeenStartedBefore\":false,\"HasBeenManuallyStopped\":false,\"MountPoints\":{},"
        "\"SecretReferences\":null,\"ConfigReferences\":null,\"AppArmorProfile\":\"\",\"HostnamePath\":\"\",\"HostsPath\":\"\","
        "\"ShmPath\":\"\",\"ResolvConfPath\":\"\",\"SeccompProfile\":\"\",\"NoNewPrivileges\":false,"
        "\"LocalLogCacheMeta\":{\"HaveNotifyEnabled\":false}}",
        ct->id, ct->id, ct->image, ih, c);
    wfile(P("%s/config.v2.json", dir), b.p, b.len, 0600);
    free(b.p);
    wstr(P("%s/hostconfig.json", dir), HOSTCONFIG, 0644);
}

/* The -init dir's diff/: what dockerd's setupInitLayer writes. */
static void write_init_content(const char *id)
{
    char d[128];
    snprintf(d, sizeof d, "overlay2/%s/diff", id);
    static const char *dirs[] = { "dev", "dev/pts", "dev/shm", "etc", "proc", "sys" };
    static const char *files[] = { ".dockerenv", "dev/console", "etc/hostname", "etc/hosts", "etc/resolv.conf" };
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
        mkd(P("%s/%s", d, dirs[i]), 0755);
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        wfile(P("%s/%s", d, files[i]), "", 0, 0755);
    slink("/proc/mounts", P("%s/etc/mtab", d));
}

static void write_container(size_t c)
{
    struct container *ct = &containers[c];
    size_t top = images[ct->image].top;
    char init_id[72];
    snprintf(init_id, sizeof init_id, "%s-init", ct->mid);
    if (ct->kind != C_NO_MOUNT) {
        /* -init on the image's top layer, the RW dir on the -init dir */
        char lower[4096 * 2];
        snprintf(lower, sizeof lower, "%s", lower_of_parent(top));
        write_overlay_dir(init_id, ct->init_link, lower, true);
        mkd(P("overlay2/%s/work/work", init_id), 0000);
        write_init_content(init_id);
        char rwlower[sizeof lower + 40];
        snprintf(rwlower, sizeof rwlower, "l/%s:%s", ct->init_link, lower);
        write_overlay_dir(ct->mid, ct->rw_link, rwlower, false);
        if (ct->wrote_file) {
            mkd(P("overlay2/%s/work/work", ct->mid), 0000);
            wstr(P("overlay2/%s/diff/rw.txt", ct->mid), "written by the container\n", 0644);
        }
    }
    if (ct->kind == C_NORMAL || ct->kind == C_NO_CONTAINER) {
        char hex[65], s[72];
        mkd(P("image/overlay2/layerdb/mounts/%s", ct->id), 0755);
        wstr(P("image/overlay2/layerdb/mounts/%s/mount-id", ct->id), ct->mid, 0644);
        wstr(P("image/overlay2/layerdb/mounts/%s/init-id", ct->id), init_id, 0644);
        to_hex(layers[top].chain, 32, hex);
        snprintf(s, sizeof s, "sha256:%s", hex);
        wstr(P("image/overlay2/layerdb/mounts/%s/parent", ct->id), s, 0644);
    }
    if (ct->kind == C_NORMAL || ct->kind == C_NO_MOUNT)
        write_container_config(c);
}

/* ---- buildkit/snapshots.db: a bbolt file ----------------------------------- */

struct kv {
    char *k, *v;
};
struct bucket {
    char *name;
    struct kv kv[2];
    int n;
};

static int cmp_bucket(const void *a, const void *b)
{
    const struct bucket *x = a, *y = b;
    return strcmp(x->name, y->name);   /* bbolt orders keys by bytes */
}

static void put16(unsigned char *p, uint16_t v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); }
static void put32(unsigned char *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static void put64(unsigned char *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i)); }

/* An inline bucket's value: {root 0, sequence 0} then a leaf page. */
static void inline_bucket(const struct bucket *b, struct buf *out)
{
    out->len = 0;
    unsigned char hdr[32] = { 0 };
    put16(hdr + 16 + 8, 0x02);               /* leaf */
    put16(hdr + 16 + 10, (uint16_t)b->n);
    buf_add(out, hdr, 32);
    size_t elems = out->len;
    unsigned char e[16] = { 0 };
    for (int i = 0; i < b->n; i++)
        buf_add(out, e, 16);
    for (int i = 0; i < b->n; i++) {
        size_t at = elems + 16 * (size_t)i;
        size_t kl = strlen(b->kv[i].k), vl = strlen(b->kv[i].v);
        put32(out->p + at, 0);
        put32(out->p + at + 4, (uint32_t)(out->len - at));
        put32(out->p + at + 8, (uint32_t)kl);
        put32(out->p + at + 12, (uint32_t)vl);
        buf_add(out, b->kv[i].k, kl);
        buf_add(out, b->kv[i].v, vl);
    }
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

static void write_bbolt(const char *path, struct bucket *bk, size_t n)
{
    const size_t ps = 4096;
    qsort(bk, n, sizeof *bk, cmp_bucket);
    /* root leaf page (id 3, with overflow pages when it does not fit) */
    struct buf leaf = { 0 }, val = { 0 };
    unsigned char zero[16] = { 0 };
    buf_add(&leaf, zero, 16);
    for (size_t i = 0; i < n; i++)
        buf_add(&leaf, zero, 16);
    for (size_t i = 0; i < n; i++) {
        size_t at = 16 + 16 * i;
        inline_bucket(&bk[i], &val);
        size_t kl = strlen(bk[i].name);
        put32(leaf.p + at, 0x01);              /* bucket */
        put32(leaf.p + at + 4, (uint32_t)(leaf.len - at));
        put32(leaf.p + at + 8, (uint32_t)kl);
        put32(leaf.p + at + 12, (uint32_t)val.len);
        buf_add(&leaf, bk[i].name, kl);
        buf_add(&leaf, val.p, val.len);
    }
    if (n > 65535)
        die("too many BuildKit buckets");
    size_t leaf_pages = (leaf.len + ps - 1) / ps;
    buf_need(&leaf, leaf_pages * ps - leaf.len);
    memset(leaf.p + leaf.len, 0, leaf_pages * ps - leaf.len);
    leaf.len = leaf_pages * ps;
    put64(leaf.p, 3);
    put16(leaf.p + 8, 0x02);
    put16(leaf.p + 10, (uint16_t)n);
    put32(leaf.p + 12, (uint32_t)(leaf_pages - 1));
    uint64_t hwm = 3 + leaf_pages;
    size_t file_pages = (size_t)hwm;
    size_t min_pages = 32768 / ps;
    if (file_pages < min_pages)
        file_pages = min_pages;
    file_pages = (file_pages + min_pages - 1) / min_pages * min_pages;
    unsigned char *f = xcalloc(file_pages, ps);
    for (int m = 0; m < 2; m++) {
        unsigned char *p = f + (size_t)m * ps;
        put64(p, (uint64_t)m);
        put16(p + 8, 0x04);                    /* meta */
        unsigned char *meta = p + 16;
        put32(meta, 0xED0CDAEDu);
        put32(meta + 4, 2);
        put32(meta + 8, (uint32_t)ps);
        put32(meta + 12, 0);
        put64(meta + 16, 3);                   /* root bucket page */
        put64(meta + 24, 0);
        put64(meta + 32, 2);                   /* freelist page */
        put64(meta + 40, hwm);
        put64(meta + 48, (uint64_t)m);         /* txid */
        put64(meta + 56, fnv1a64(meta, 56));
    }
    put64(f + 2 * ps, 2);
    put16(f + 2 * ps + 8, 0x10);               /* empty freelist */
    memcpy(f + 3 * ps, leaf.p, leaf.len);
    wfile(path, f, file_pages * ps, 0600);
    free(f);
    free(leaf.p);
    free(val.p);
}

static size_t write_buildkit(void)
{
    size_t cap = 16, n = 0;
    struct bucket *bk = xcalloc(cap, sizeof *bk);
    char *seen_sha = NULL;   /* layers whose sha256:<chain> bucket exists */
    seen_sha = xcalloc(nlayers, 1);
#define ADD_BUCKET() (n == cap ? (bk = xrealloc(bk, (cap *= 2) * sizeof *bk)) : bk, memset(&bk[n], 0, sizeof bk[n]), &bk[n++])
    for (size_t li = 0; li < nlayers; li++) {
        const struct layer *L = &layers[li];
        if (!(L->flags & L_BUILDKIT))
            continue;
        char hex[65], key[72];
        /* the snapshot dir: committed, on its parent snapshot */
        const struct layer *P_ = &layers[L->parent - 1];
        struct bucket *b = ADD_BUCKET();
        b->name = strdup(L->cache);
        b->kv[0].k = strdup("iscommitted");
        b->kv[0].v = strdup("");
        b->kv[1].k = strdup("parent");
        if (P_->flags & L_BUILDKIT) {
            b->kv[1].v = strdup(P_->commit_name);
        } else {
            to_hex(P_->chain, 32, hex);
            snprintf(key, sizeof key, "sha256:%s", hex);
            b->kv[1].v = strdup(key);
            if (!seen_sha[L->parent - 1]) {
                seen_sha[L->parent - 1] = 1;
                struct bucket *s = ADD_BUCKET();
                s->name = strdup(key);
            }
        }
        b->n = 2;
        /* the committed name: chainid + the dir */
        to_hex(L->chain, 32, hex);
        snprintf(key, sizeof key, "sha256:%s", hex);
        b = ADD_BUCKET();
        b->name = strdup(L->commit_name);
        b->kv[0].k = strdup("chainid");
        b->kv[0].v = strdup(key);
        b->kv[1].k = strdup("committed");
        b->kv[1].v = strdup(L->cache);
        b->n = 2;
        /* the layer in use */
        if (!seen_sha[li]) {
            seen_sha[li] = 1;
            b = ADD_BUCKET();
            b->name = strdup(key);
        }
    }
    for (size_t i = 0; i < nbkc; i++) {
        if (bkc[i].orphan)
            continue;
        struct bucket *b = ADD_BUCKET();
        b->name = strdup(bkc[i].id);
        b->kv[0].k = strdup("parent");
        b->kv[0].v = strdup("");
        b->n = 1;
    }
#undef ADD_BUCKET
    mkd(P("buildkit"), 0711);
    write_bbolt(P("buildkit/snapshots.db"), bk, n);
    for (size_t i = 0; i < n; i++) {
        free(bk[i].name);
        for (int k = 0; k < bk[i].n; k++) {
            free(bk[i].kv[k].k);
            free(bk[i].kv[k].v);
        }
    }
    free(bk);
    free(seen_sha);
    return n;
}

/* ---- main ---------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: genstore --out DIR [--images N] [--seed S] [--garbage PCT]\n"
            "                [--containers N] [--buildkit N] [--busybox FILE] [--quiet]\n"
            "Writes a synthetic Docker overlay2 data root (dockerd 20.10 format) to DIR\n"
            "(which must be absent or empty) and prints a key=value summary.\n"
            "  --images N      images (default 20)\n"
            "  --seed S        everything is deterministic by seed (default 1)\n"
            "  --garbage PCT   leftovers: ceil(images*PCT/400) of each kind (default 0)\n"
            "  --containers N  containers (default images/20, rounded up)\n"
            "  --buildkit N    BuildKit-built images (default images/200, rounded up; 0: no BuildKit)\n"
            "  --busybox FILE  put this static binary as bin/busybox (+ bin/sh) into the bottom\n"
            "                  layer of every base chain: images run with `docker run IMG sh -c ..`\n");
}

static long parse_long(const char *s, const char *what)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < 0)
        die("bad %s: %s", what, s);
    return v;
}

static bool dir_empty(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return true;
    struct dirent *e;
    bool empty = true;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            empty = false;
    closedir(d);
    return empty;
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        { "out", required_argument, NULL, 'o' },     { "images", required_argument, NULL, 'n' },
        { "seed", required_argument, NULL, 's' },    { "garbage", required_argument, NULL, 'g' },
        { "containers", required_argument, NULL, 'c' }, { "buildkit", required_argument, NULL, 'b' },
        { "busybox", required_argument, NULL, 'B' }, { "quiet", no_argument, NULL, 'q' },         { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "o:n:s:g:c:b:B:qh", lo, NULL)) != -1) {
        switch (ch) {
        case 'o': o.out = optarg; break;
        case 'n': o.images = parse_long(optarg, "--images"); break;
        case 's': o.seed = (uint64_t)parse_long(optarg, "--seed"); break;
        case 'g': {
            char *end;
            o.garbage = strtod(optarg, &end);
            if (*end || o.garbage < 0 || o.garbage > 100)
                die("bad --garbage: %s", optarg);
            break;
        }
        case 'c': o.containers = parse_long(optarg, "--containers"); break;
        case 'b': o.buildkit = parse_long(optarg, "--buildkit"); break;
        case 'B': o.busybox = optarg; break;
        case 'q': o.quiet = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!o.out || optind != argc) {
        usage(stderr);
        return 2;
    }
    if (o.images < 1)
        die("--images must be at least 1");
    if (!dir_empty(o.out))
        die("%s exists and is not empty", o.out);
    if (mkdir(o.out, 0710) < 0 && errno != EEXIST)
        die("mkdir %s: %s", o.out, strerror(errno));
    if (!realpath(o.out, root))
        die("%s: %s", o.out, strerror(errno));
    if (o.busybox) {
        FILE *f = fopen(o.busybox, "rb");
        if (!f)
            die("%s: %s", o.busybox, strerror(errno));
        struct buf b = { 0 };
        unsigned char chunk[65536];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
            buf_add(&b, chunk, n);
        fclose(f);
        busybox_data = b.p;
        busybox_size = b.len;
    }
    umask(0);
    crc64_init();
    rng_state = o.seed * 0xD1B54A32D192ED03ull + 0x5EED;

    size_t g;
    build_model(&g);

    chmod(root, 0710);
    mkd(P("image"), 0700);
    mkd(P("image/overlay2"), 0700);
    mkd(P("image/overlay2/distribution"), 0700);
    mkd(P("image/overlay2/imagedb"), 0700);
    mkd(P("image/overlay2/imagedb/content"), 0700);
    mkd(P("image/overlay2/imagedb/content/sha256"), 0700);
    mkd(P("image/overlay2/imagedb/metadata"), 0700);
    mkd(P("image/overlay2/imagedb/metadata/sha256"), 0700);
    mkd(P("image/overlay2/layerdb"), 0700);
    mkd(P("image/overlay2/layerdb/sha256"), 0755);
    mkd(P("image/overlay2/layerdb/tmp"), 0755);
    mkd(P("image/overlay2/layerdb/mounts"), 0755);
    mkd(P("overlay2"), 0710);
    mkd(P("overlay2/l"), 0700);
    mkd(P("containers"), 0710);

    size_t n_layerdb = 0, n_unref = 0, n_bk_layers = 0;
    for (size_t li = 0; li < nlayers; li++) {
        write_layer(li);
        uint8_t f = layers[li].flags;
        if (!(f & (L_ORPHAN | L_WRITESET | L_REMOVING)))
            n_layerdb++;
        if (f & L_UNREF)
            n_unref++;
        if (f & L_BUILDKIT)
            n_bk_layers++;
        if (!o.quiet && (li + 1) % 20000 == 0)
            fprintf(stderr, "genstore: %zu/%zu layers written\n", li + 1, nlayers);
    }
    for (size_t i = 0; i < nimages; i++)
        write_image(i);
    size_t tags = write_repositories();
    size_t n_mounts = 0, n_containers = 0, n_cont_dirs = 0;
    for (size_t c = 0; c < ncontainers; c++) {
        write_container(c);
        int k = containers[c].kind;
        n_mounts += k == C_NORMAL || k == C_NO_CONTAINER;
        n_containers += k == C_NORMAL || k == C_NO_MOUNT;
        n_cont_dirs += k == C_NO_MOUNT ? 0 : 2;
    }
    size_t n_bk_buckets = 0, n_bk_dirs = 0, n_bk_orphans = 0;
    if (nbkc || n_bk_layers) {
        for (size_t i = 0; i < nbkc; i++) {
            write_overlay_dir(bkc[i].id, bkc[i].link, NULL, false);
            if (bkc[i].orphan)
                n_bk_orphans++;
            else
                n_bk_dirs++;
        }
        n_bk_buckets = write_buildkit();
    }

    /* leftovers that are not layers */
    for (size_t k = 0; k < g; k++) {
        /* .tmp-* of an interrupted image config write (ioutils.AtomicWriteFile) */
        char hex[65], name[128];
        rand_hex64(hex);
        snprintf(name, sizeof name, ".tmp-%s%" PRIu32, hex, (uint32_t)(rnd() % 4000000000u));
        wstr(P("image/overlay2/imagedb/content/sha256/%s", name), "{\"architecture\":\"amd64\",\"config\":{", 0600);
        /* a broken l/ link: its dir is gone */
        char link[27], target[96];
        rand_link(link);
        rand_hex64(hex);
        snprintf(target, sizeof target, "../%s/diff", hex);
        slink(target, P("overlay2/l/%s", link));
    }

    size_t n_overlay = 0, n_orphan_layer = 0, n_writeset = 0, n_removing = 0;
    for (size_t li = 0; li < nlayers; li++) {
        uint8_t f = layers[li].flags;
        n_overlay += !(f & L_REMOVING);
        n_orphan_layer += !!(f & L_ORPHAN);
        n_writeset += !!(f & L_WRITESET);
        n_removing += !!(f & L_REMOVING);
    }
    n_overlay += n_cont_dirs + nbkc;
    size_t n_pairs = 0, n_no_container = 0, n_no_mount = 0;
    for (size_t c = 0; c < ncontainers; c++) {
        n_pairs += containers[c].kind == C_ORPHAN_PAIR;
        n_no_container += containers[c].kind == C_NO_CONTAINER;
        n_no_mount += containers[c].kind == C_NO_MOUNT;
    }

    printf("seed=%" PRIu64 "\n", o.seed);
    printf("images=%zu\n", nimages);
    printf("tags=%zu\n", tags);
    printf("base_chains=%zu\n", npool);
    printf("layers=%zu\n", n_layerdb);
    printf("buildkit_layers=%zu\n", n_bk_layers);
    printf("overlay_dirs=%zu\n", n_overlay);
    printf("links=%zu\n", n_overlay + g);
    printf("containers=%zu\n", n_containers);
    printf("mounts=%zu\n", n_mounts);
    printf("buildkit_snapshots=%zu\n", n_bk_buckets);
    printf("buildkit_cache_dirs=%zu\n", n_bk_dirs);
    printf("files=%" PRIu64 "\n", files_written);
    printf("dirs=%" PRIu64 "\n", dirs_made);
    printf("garbage_per_kind=%zu\n", g);
    printf("garbage.orphan_layer_dirs=%zu\n", n_orphan_layer);
    printf("garbage.orphan_container_pairs=%zu\n", n_pairs);
    printf("garbage.orphan_buildkit_dirs=%zu\n", n_bk_orphans);
    printf("garbage.write_sets=%zu\n", n_writeset);
    printf("garbage.removing=%zu\n", n_removing);
    printf("garbage.imagedb_tmp=%zu\n", g);
    printf("garbage.broken_links=%zu\n", g);
    printf("garbage.unreferenced_layers=%zu\n", n_unref);
    printf("garbage.mounts_without_container=%zu\n", n_no_container);
    printf("garbage.containers_without_mount=%zu\n", n_no_mount);
    /* what ovl2fsck must find (each write-set leaves its overlay2 dir too) */
    printf("expect.overlay-dir-orphaned=%zu\n", n_orphan_layer + 2 * n_pairs + n_bk_orphans + n_writeset);
    printf("expect.layerdb-tmp-leftover=%zu\n", n_writeset);
    printf("expect.layerdb-removing-leftover=%zu\n", n_removing);
    printf("expect.imagedb-tmp-leftover=%zu\n", g);
    printf("expect.overlay-link-broken=%zu\n", g);
    printf("expect.layer-unreferenced=%zu\n", n_unref);
    printf("expect.mount-container-missing=%zu\n", n_no_container);
    printf("expect.container-mount-missing=%zu\n", n_no_mount);
    size_t total = n_orphan_layer + 2 * n_pairs + n_bk_orphans + 2 * n_writeset + n_removing + 2 * g + n_unref +
                   n_no_container + n_no_mount;
    printf("expect.garbage_total=%zu\n", total);
    if (fflush(stdout) != 0)
        die("cannot write the summary");
    return 0;
}
