/*
 * tarsplit.h — streaming reader for dockerd's layerdb tar-split.json.gz.
 *
 * Owns: gunzip + line splitting + per-line JSON decoding of tar-split
 * metadata. The file is a gzip stream of newline-delimited JSON objects:
 *
 *   {"type":2,"payload":"<base64 raw tar bytes>","position":0}
 *   {"type":1,"name":"etc/passwd","size":1234,"payload":"<base64 crc64>","position":1}
 *   {"type":1,"name_raw":"<base64 name bytes>","size":0,"payload":null,...}
 *
 * Type 2 ("segment") entries carry raw tar stream bytes (headers, padding,
 * end-of-archive blocks). Type 1 ("file") entries name a file whose content
 * follows in the stream; for size > 0 the payload is the 8-byte big-endian
 * CRC-64/ISO of that content, for size 0 it is null.
 *
 * Memory is bounded by the longest line (capped at TARSPLIT_MAX_LINE), never
 * by the size of the layer. The reader does not validate names beyond
 * decoding them: confining them to diff/ is the caller's job (deep.c).
 *
 * Strictness: anything dockerd's Go decoder would reject, and a little more,
 * is reported as invalid: input that is not gzip, a truncated or corrupt gzip
 * stream, trailing garbage after the gzip members, a line longer than the
 * cap, a line that is not a JSON object, an unknown type, a missing or
 * non-integer size, a base64 payload that is not canonical padded standard
 * base64, a file entry with size > 0 whose payload is not 8 bytes, and a
 * file entry without a name.
 */
#ifndef OVL2FSCK_TARSPLIT_H
#define OVL2FSCK_TARSPLIT_H

#include <stddef.h>
#include <stdint.h>

#define TARSPLIT_SEGMENT 2
#define TARSPLIT_FILE 1

/* Longest accepted JSON line (decompressed), in bytes. */
#define TARSPLIT_MAX_LINE (64u * 1024 * 1024)

/* Return codes of tarsplit_next(). */
#define TARSPLIT_ENTRY 1    /* *e holds the next entry */
#define TARSPLIT_EOF 0      /* clean end of the stream */
#define TARSPLIT_INVALID -1 /* malformed input; tarsplit_error() says why */
#define TARSPLIT_ERROR -2   /* I/O or allocation failure; errno is set */

struct tarsplit_entry {
    int type;                     /* TARSPLIT_SEGMENT or TARSPLIT_FILE */
    const unsigned char *name;    /* file: raw name bytes, NUL-terminated */
    size_t name_len;              /* file: length of name */
    int name_was_raw;             /* file: name came from name_raw */
    int64_t size;                 /* file: content size in bytes */
    const unsigned char *payload; /* decoded payload; NULL when null/absent */
    size_t payload_len;
    int64_t position;             /* "position" field, -1 when absent */
    uint64_t line;                /* 1-based line number in the stream */
};

struct tarsplit_reader;

/*
 * Start reading the gzip stream on fd. The reader does not take ownership
 * of fd (the caller closes it after tarsplit_close). Returns NULL with errno
 * set on allocation failure.
 */
struct tarsplit_reader *tarsplit_open(int fd);

/*
 * Decode the next entry into *e. Pointers in *e stay valid until the next
 * call or tarsplit_close. Returns TARSPLIT_ENTRY, TARSPLIT_EOF,
 * TARSPLIT_INVALID or TARSPLIT_ERROR; after INVALID or ERROR every further
 * call returns the same code.
 */
int tarsplit_next(struct tarsplit_reader *r, struct tarsplit_entry *e);

/* Human-readable reason of the last TARSPLIT_INVALID ("" otherwise). */
const char *tarsplit_error(const struct tarsplit_reader *r);

/* Free the reader (NULL is fine). */
void tarsplit_close(struct tarsplit_reader *r);

/*
 * Strict standard base64 (RFC 4648 alphabet, '=' padding, no whitespace)
 * on top of OpenSSL's EVP_DecodeBlock. Writes at most 3*len/4 bytes to out
 * and returns the decoded length, or -1 if src is not canonical base64.
 */
long tarsplit_b64decode(unsigned char *out, const char *src, size_t len);

#endif
