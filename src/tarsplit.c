/*
 * tarsplit.c — streaming reader for tar-split.json.gz (see tarsplit.h).
 *
 * Owns: the inflate loop (zlib, gzip framing only, concatenated members
 * allowed), the line buffer, JSON decoding of one line with cJSON, and
 * strict base64 decoding on top of OpenSSL's EVP_DecodeBlock.
 *
 * Memory: one compressed input buffer (64 KiB), a line buffer that starts at
 * 256 KiB and grows only as far as the longest line (capped), and decode
 * buffers sized to the largest payload seen. Nothing scales with the layer.
 */
#include "tarsplit.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define TS_IN_SIZE (64u * 1024)
#define TS_BUF_INITIAL (256u * 1024)
#define TS_MAX_SIZE 9007199254740992.0 /* 2^53: largest exact double */

struct tarsplit_reader {
    int fd;
    z_stream zs;
    int zs_live;          /* inflateInit2 succeeded */
    int member_done;      /* inflate returned Z_STREAM_END */
    int input_eof;        /* read() returned 0 */
    int gz_done;          /* all gzip members consumed */
    uint64_t bytes_in;    /* compressed bytes read so far */
    unsigned char *in;    /* compressed input */
    char *buf;            /* decompressed text */
    size_t buf_len, buf_pos, buf_cap, scan_pos;
    unsigned char *payload; /* decoded payload of the current entry */
    size_t payload_cap;
    unsigned char *name;  /* NUL-terminated name of the current entry */
    size_t name_cap;
    cJSON *json;          /* parsed current line */
    uint64_t line;
    int state;            /* 0 while healthy, else the sticky return code */
    int saved_errno;
    char err[256];
};

static int ts_invalid(struct tarsplit_reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int ts_invalid(struct tarsplit_reader *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->err, sizeof(r->err), fmt, ap);
    va_end(ap);
    r->state = TARSPLIT_INVALID;
    return TARSPLIT_INVALID;
}

static int ts_fail(struct tarsplit_reader *r, int err)
{
    r->saved_errno = err;
    r->state = TARSPLIT_ERROR;
    errno = err;
    return TARSPLIT_ERROR;
}

struct tarsplit_reader *tarsplit_open(int fd)
{
    struct tarsplit_reader *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    r->fd = fd;
    r->in = malloc(TS_IN_SIZE);
    r->buf = malloc(TS_BUF_INITIAL);
    if (r->in == NULL || r->buf == NULL)
        goto nomem;
    r->buf_cap = TS_BUF_INITIAL;
    /* 15 + 16: maximum window, gzip header and trailer required. */
    if (inflateInit2(&r->zs, 15 + 16) != Z_OK)
        goto nomem;
    r->zs_live = 1;
    return r;
nomem:
    tarsplit_close(r);
    errno = ENOMEM;
    return NULL;
}

void tarsplit_close(struct tarsplit_reader *r)
{
    if (r == NULL)
        return;
    if (r->zs_live)
        inflateEnd(&r->zs);
    cJSON_Delete(r->json);
    free(r->in);
    free(r->buf);
    free(r->payload);
    free(r->name);
    free(r);
}

const char *tarsplit_error(const struct tarsplit_reader *r)
{
    return r->state == TARSPLIT_INVALID ? r->err : "";
}

/* Refill the compressed input buffer. Returns 0, or TARSPLIT_ERROR. */
static int ts_read_input(struct tarsplit_reader *r)
{
    ssize_t n;

    do {
        n = read(r->fd, r->in, TS_IN_SIZE);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return ts_fail(r, errno);
    if (n == 0) {
        r->input_eof = 1;
        return 0;
    }
    r->bytes_in += (uint64_t)n;
    r->zs.next_in = r->in;
    r->zs.avail_in = (uInt)n;
    return 0;
}

/*
 * Start the next gzip member after one ended. Returns 1 if a member follows,
 * 0 at the clean end of the input, or an error code.
 */
static int ts_next_member(struct tarsplit_reader *r)
{
    if (r->zs.avail_in == 0 && !r->input_eof && ts_read_input(r) < 0)
        return TARSPLIT_ERROR;
    if (r->zs.avail_in == 0) {
        r->gz_done = 1;
        return 0;
    }
    if (inflateReset(&r->zs) != Z_OK)
        return ts_invalid(r, "gzip: cannot start next member");
    r->member_done = 0;
    return 1;
}

/*
 * Inflate more text into buf[buf_len..buf_cap), which must have room.
 * Returns the number of bytes produced (> 0), 0 at the end of the gzip
 * data, or TARSPLIT_INVALID / TARSPLIT_ERROR.
 */
static int ts_fill(struct tarsplit_reader *r)
{
    for (;;) {
        int rc;
        size_t before;

        if (r->gz_done)
            return 0;
        if (r->member_done) {
            rc = ts_next_member(r);
            if (rc <= 0)
                return rc;
        }
        if (r->zs.avail_in == 0 && !r->input_eof && ts_read_input(r) < 0)
            return TARSPLIT_ERROR;
        if (r->zs.avail_in == 0 && r->input_eof) {
            if (r->bytes_in == 0)
                return ts_invalid(r, "empty file, not gzip");
            return ts_invalid(r, "gzip stream truncated");
        }
        before = r->buf_cap - r->buf_len;
        r->zs.next_out = (unsigned char *)r->buf + r->buf_len;
        r->zs.avail_out = (uInt)before;
        rc = inflate(&r->zs, Z_NO_FLUSH);
        r->buf_len += before - r->zs.avail_out;
        if (rc == Z_STREAM_END)
            r->member_done = 1;
        else if (rc == Z_MEM_ERROR)
            return ts_fail(r, ENOMEM);
        else if (rc != Z_OK && rc != Z_BUF_ERROR)
            return ts_invalid(r, "not a valid gzip stream (%s)",
                              r->zs.msg ? r->zs.msg : "inflate error");
        if (before != r->zs.avail_out)
            return (int)(before - r->zs.avail_out);
    }
}

/* Make room at the end of buf: drop consumed text, then grow up to the cap. */
static int ts_make_room(struct tarsplit_reader *r)
{
    size_t pending = r->buf_len - r->buf_pos;
    size_t ncap;
    char *nbuf;

    if (r->buf_pos > 0) {
        memmove(r->buf, r->buf + r->buf_pos, pending);
        r->scan_pos -= r->buf_pos;
        r->buf_len = pending;
        r->buf_pos = 0;
    }
    if (r->buf_len < r->buf_cap)
        return 0;
    if (r->buf_cap > TARSPLIT_MAX_LINE)
        return ts_invalid(r, "line %llu longer than %u bytes",
                          (unsigned long long)r->line + 1, TARSPLIT_MAX_LINE);
    ncap = r->buf_cap * 2;
    if (ncap > (size_t)TARSPLIT_MAX_LINE + 1)
        ncap = (size_t)TARSPLIT_MAX_LINE + 1;
    nbuf = realloc(r->buf, ncap);
    if (nbuf == NULL)
        return ts_fail(r, ENOMEM);
    r->buf = nbuf;
    r->buf_cap = ncap;
    return 0;
}

/*
 * Next line, without its newline. Returns TARSPLIT_ENTRY with *line and *len
 * set, TARSPLIT_EOF, or an error code.
 */
static int ts_next_line(struct tarsplit_reader *r, const char **line, size_t *len)
{
    for (;;) {
        char *nl = memchr(r->buf + r->scan_pos, '\n', r->buf_len - r->scan_pos);
        int rc;

        if (nl != NULL) {
            *line = r->buf + r->buf_pos;
            *len = (size_t)(nl - *line);
            r->buf_pos = r->scan_pos = (size_t)(nl - r->buf) + 1;
            break;
        }
        r->scan_pos = r->buf_len;
        if (r->buf_len - r->buf_pos > TARSPLIT_MAX_LINE)
            return ts_invalid(r, "line %llu longer than %u bytes",
                              (unsigned long long)r->line + 1, TARSPLIT_MAX_LINE);
        rc = ts_make_room(r);
        if (rc < 0)
            return rc;
        rc = ts_fill(r);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            if (r->buf_pos == r->buf_len)
                return TARSPLIT_EOF;
            /* last line without a trailing newline */
            *line = r->buf + r->buf_pos;
            *len = r->buf_len - r->buf_pos;
            r->buf_pos = r->scan_pos = r->buf_len;
            break;
        }
    }
    r->line++;
    return TARSPLIT_ENTRY;
}

static int is_b64_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '+' || c == '/';
}

long tarsplit_b64decode(unsigned char *out, const char *src, size_t len)
{
    size_t pad = 0;
    int n;

    if (len % 4 != 0 || len > (size_t)0x7ffffffc)
        return -1;
    if (len == 0)
        return 0;
    if (src[len - 1] == '=')
        pad = src[len - 2] == '=' ? 2 : 1;
    /* EVP_DecodeBlock trims whitespace and accepts '=' mid-string: forbid both. */
    for (size_t i = 0; i < len - pad; i++)
        if (!is_b64_char((unsigned char)src[i]))
            return -1;
    n = EVP_DecodeBlock(out, (const unsigned char *)src, (int)len);
    if (n < 0 || (size_t)n < pad)
        return -1;
    return (long)((size_t)n - pad);
}

/* Grow *buf to at least need bytes. Returns 0 or -1 (ENOMEM). */
static int ts_reserve(unsigned char **buf, size_t *cap, size_t need)
{
    unsigned char *nb;

    if (*cap >= need)
        return 0;
    nb = realloc(*buf, need);
    if (nb == NULL)
        return -1;
    *buf = nb;
    *cap = need;
    return 0;
}

/*
 * Decode the base64 string item (or null/absent) into *buf. Sets *out and *outlen
 * (*out NULL for null). Returns 0, TARSPLIT_INVALID or TARSPLIT_ERROR.
 */
static int ts_decode_field(struct tarsplit_reader *r, const cJSON *item,
                           const char *field, unsigned char **buf, size_t *cap,
                           const unsigned char **out, size_t *outlen)
{
    size_t len;
    long n;

    *out = NULL;
    *outlen = 0;
    if (item == NULL || cJSON_IsNull(item))
        return 0;
    if (!cJSON_IsString(item) || item->valuestring == NULL)
        return ts_invalid(r, "line %llu: \"%s\" is not a string",
                          (unsigned long long)r->line, field);
    len = strlen(item->valuestring);
    if (ts_reserve(buf, cap, len / 4 * 3 + 1) < 0)
        return ts_fail(r, ENOMEM);
    n = tarsplit_b64decode(*buf, item->valuestring, len);
    if (n < 0)
        return ts_invalid(r, "line %llu: bad base64 in \"%s\"",
                          (unsigned long long)r->line, field);
    (*buf)[n] = 0;
    *out = *buf;
    *outlen = (size_t)n;
    return 0;
}

/* Integer-valued JSON number in [0, 2^53]; absent means 0. Returns 0 or -1. */
static int ts_get_count(const cJSON *item, int64_t *v)
{
    double d;

    if (item == NULL) {
        *v = 0;
        return 0;
    }
    if (!cJSON_IsNumber(item))
        return -1;
    d = item->valuedouble;
    if (!(d >= 0 && d <= TS_MAX_SIZE) || d != (double)(int64_t)d)
        return -1;
    *v = (int64_t)d;
    return 0;
}

/* Fill e->name from "name_raw" (if non-empty) or "name". */
static int ts_decode_name(struct tarsplit_reader *r, struct tarsplit_entry *e)
{
    const cJSON *raw = cJSON_GetObjectItemCaseSensitive(r->json, "name_raw");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(r->json, "name");
    const unsigned char *p;
    size_t len;
    int rc;

    rc = ts_decode_field(r, raw, "name_raw", &r->name, &r->name_cap, &p, &len);
    if (rc < 0)
        return rc;
    if (len > 0) {
        if (memchr(p, 0, len) != NULL)
            return ts_invalid(r, "line %llu: NUL byte in name_raw",
                              (unsigned long long)r->line);
        e->name_was_raw = 1;
    } else if (name != NULL && cJSON_IsString(name) && name->valuestring != NULL) {
        len = strlen(name->valuestring);
        if (ts_reserve(&r->name, &r->name_cap, len + 1) < 0)
            return ts_fail(r, ENOMEM);
        memcpy(r->name, name->valuestring, len + 1);
    } else if (name != NULL && !cJSON_IsNull(name)) {
        return ts_invalid(r, "line %llu: \"name\" is not a string",
                          (unsigned long long)r->line);
    }
    if (len == 0)
        return ts_invalid(r, "line %llu: file entry without a name",
                          (unsigned long long)r->line);
    e->name = r->name;
    e->name_len = len;
    return 0;
}

static int ts_decode_file(struct tarsplit_reader *r, struct tarsplit_entry *e)
{
    const cJSON *payload = cJSON_GetObjectItemCaseSensitive(r->json, "payload");
    int rc;

    if (ts_get_count(cJSON_GetObjectItemCaseSensitive(r->json, "size"), &e->size) < 0)
        return ts_invalid(r, "line %llu: bad \"size\"", (unsigned long long)r->line);
    rc = ts_decode_name(r, e);
    if (rc < 0)
        return rc;
    rc = ts_decode_field(r, payload, "payload", &r->payload, &r->payload_cap,
                         &e->payload, &e->payload_len);
    if (rc < 0)
        return rc;
    if (e->size > 0 && (e->payload == NULL || e->payload_len != 8))
        return ts_invalid(r, "line %llu: file entry of %lld bytes without an 8-byte CRC-64 payload",
                          (unsigned long long)r->line, (long long)e->size);
    return TARSPLIT_ENTRY;
}

/* Parse one non-blank line into *e. */
static int ts_decode_line(struct tarsplit_reader *r, const char *line, size_t len,
                          struct tarsplit_entry *e)
{
    const char *end = NULL;
    const cJSON *type, *pos;
    int64_t v;

    cJSON_Delete(r->json);
    r->json = cJSON_ParseWithLengthOpts(line, len, &end, 0);
    if (r->json == NULL || !cJSON_IsObject(r->json))
        return ts_invalid(r, "line %llu: not a JSON object", (unsigned long long)r->line);
    while (end != NULL && end < line + len && strchr(" \t\r", *end) != NULL)
        end++;
    if (end != line + len)
        return ts_invalid(r, "line %llu: trailing data after the JSON object",
                          (unsigned long long)r->line);
    memset(e, 0, sizeof(*e));
    e->line = r->line;
    pos = cJSON_GetObjectItemCaseSensitive(r->json, "position");
    e->position = (pos != NULL && ts_get_count(pos, &v) == 0) ? v : -1;
    type = cJSON_GetObjectItemCaseSensitive(r->json, "type");
    if (type == NULL || ts_get_count(type, &v) < 0 ||
        (v != TARSPLIT_SEGMENT && v != TARSPLIT_FILE))
        return ts_invalid(r, "line %llu: missing or unknown \"type\"",
                          (unsigned long long)r->line);
    e->type = (int)v;
    if (e->type == TARSPLIT_FILE)
        return ts_decode_file(r, e);
    v = ts_decode_field(r, cJSON_GetObjectItemCaseSensitive(r->json, "payload"), "payload",
                        &r->payload, &r->payload_cap, &e->payload, &e->payload_len);
    return v < 0 ? (int)v : TARSPLIT_ENTRY;
}

static int is_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    return 1;
}

int tarsplit_next(struct tarsplit_reader *r, struct tarsplit_entry *e)
{
    const char *line = NULL;
    size_t len = 0;
    int rc;

    if (r->state != 0) {
        if (r->state == TARSPLIT_ERROR)
            errno = r->saved_errno;
        return r->state;
    }
    for (;;) {
        rc = ts_next_line(r, &line, &len);
        if (rc != TARSPLIT_ENTRY) {
            if (rc == TARSPLIT_EOF)
                r->state = TARSPLIT_EOF;
            return rc;
        }
        if (!is_blank(line, len))
            break;
    }
    return ts_decode_line(r, line, len, e);
}
