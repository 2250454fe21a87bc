/* ids.h — validation of the ids Docker writes (digests, chainIDs, cache-ids,
 * link names) and chainID computation. Every id read from the store passes
 * through here before it is used as a path component. */
#ifndef OVL2FSCK_IDS_H
#define OVL2FSCK_IDS_H

#include <stdbool.h>
#include <stddef.h>

#define HEX64_LEN 64
#define DIGEST_LEN 71        /* "sha256:" + 64 hex */
#define BUILDKIT_ID_LEN 25   /* BuildKit identity: [0-9a-z] */
#define LINK_NAME_LEN 26     /* overlay2 short name: base32 [A-Z2-7] */

bool id_is_hex64(const char *s, size_t len);
bool id_is_digest(const char *s, size_t len);        /* sha256:<hex64> */
bool id_is_buildkit(const char *s, size_t len);
bool id_is_link_name(const char *s, size_t len);
/* A lower-file entry naming an l/ link: "l/<26 base32>" (the short name is s + 2). */
bool id_is_lower_entry(const char *s, size_t len);
#define MAX_LOWER_ENTRIES 128   /* entries of a lower file: dockerd's overlay2 maxDepth */
bool id_is_init_dir(const char *s, size_t len);      /* <hex64>-init */
/* A name usable as an overlay2 dir: hex64, hex64-init or a BuildKit id. */
bool id_is_overlay_dir(const char *s, size_t len);
/* A name safe to use as a single path component: no '/', no NUL, not "." or "..". */
bool id_is_safe_component(const char *s, size_t len);
/* Classify an overlay2 dir name: "layer", "init", "buildkit" or "other". */
const char *id_overlay_kind(const char *s, size_t len);

/* chainID(parent, diff) with both as "sha256:<hex>" strings (parent NULL for
 * a base layer). Writes "sha256:<hex>" into out (DIGEST_LEN + 1 bytes). */
void id_chain_id(const char *parent, const char *diff, char out[DIGEST_LEN + 1]);
/* n bytes as 2n lowercase hex chars + NUL (out holds 2n + 1). */
void id_hex_encode(const unsigned char *bytes, size_t n, char *out);
/* sha256 of a buffer as 64 lowercase hex chars + NUL. */
void id_sha256_hex(const void *buf, size_t len, char out[HEX64_LEN + 1]);

/* Trim ASCII whitespace at both ends in place (dockerd trims id files). */
size_t id_trim(char *s, size_t len);

#endif
