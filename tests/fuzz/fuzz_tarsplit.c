/* fuzz_tarsplit.c — the tar-split.json.gz stream reader (tarsplit.h).
 * First byte even: the rest is fed as is (gzip framing, inflate, members,
 * trailing garbage). First byte odd: the rest is the decompressed text and
 * the harness gzips it first, so the fuzzer works on the line splitter, the
 * JSON entries and the base64 payloads directly. Also tarsplit_b64decode on
 * the raw bytes. */
#include "fuzz_common.h"
#include "tarsplit.h"

#include <zlib.h>

static unsigned tarsplit_sink;

/* gzip of in (one member); malloc'd, or NULL. */
static unsigned char *tarsplit_gzip(const uint8_t *in, size_t len, size_t *outlen)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    size_t cap = deflateBound(&zs, (uLong)len) + 64;
    unsigned char *out = malloc(cap);
    if (!out) {
        deflateEnd(&zs);
        return NULL;
    }
    zs.next_in = (unsigned char *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    int rc = deflate(&zs, Z_FINISH);
    *outlen = cap - zs.avail_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

static int fuzz_tarsplit_one(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const uint8_t *body = data + 1;
    size_t blen = size - 1;
    unsigned char *gz = NULL;
    if (data[0] & 1) {
        gz = tarsplit_gzip(body, blen, &blen);
        if (!gz)
            return 0;
        body = gz;
    }
    int fd = fuzz_memfd(body, blen);
    struct tarsplit_reader *r = tarsplit_open(fd);
    if (r) {
        struct tarsplit_entry e;
        int rc;
        while ((rc = tarsplit_next(r, &e)) == TARSPLIT_ENTRY) {
            unsigned h = (unsigned)e.type + (unsigned)e.size + (unsigned)e.position;
            for (size_t i = 0; e.name && i <= e.name_len; i++)   /* incl. the NUL */
                h = h * 31 + e.name[i];
            for (size_t i = 0; e.payload && i < e.payload_len; i++)
                h = h * 31 + e.payload[i];
            tarsplit_sink += h;
        }
        if (rc == TARSPLIT_INVALID)
            tarsplit_sink += (unsigned)strlen(tarsplit_error(r));
        /* sticky state: the next call returns the same code */
        if (tarsplit_next(r, &e) != rc)
            abort();
        tarsplit_close(r);
    }
    close(fd);
    free(gz);

    /* strict base64 on the raw bytes (as a string) */
    size_t sl = size < 4096 ? size : 4096;
    char *s = malloc(sl + 1);
    unsigned char *out = malloc(sl / 4 * 3 + 4);
    if (s && out) {
        memcpy(s, data, sl);
        s[sl] = '\0';
        long n = tarsplit_b64decode(out, s, strlen(s));
        if (n > (long)(strlen(s) / 4 * 3))
            abort();
    }
    free(s);
    free(out);
    return 0;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_tarsplit_one(data, size); }
#endif
