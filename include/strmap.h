/* strmap.h — a string -> string (or number) hash map, open addressing, for
 * the derived facts that SQLite, having no hash join, computes slowly: keys
 * (unless borrowed) and values are copied in; a value can be replaced by a
 * smaller one (min per key). */
#ifndef OVL2FSCK_STRMAP_H
#define OVL2FSCK_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strmap_slot {
    char *key;     /* NULL: empty */
    char *value;   /* may be NULL */
    long num;      /* strmap_put_num's payload */
    uint64_t hash; /* of key: probes compare it before touching the key */
};

struct strmap {
    struct strmap_slot *slots;
    size_t cap;    /* a power of two, or 0 */
    size_t count;
    bool borrowed; /* set before the first insert: keys are the caller's own
                      NUL-terminated strings (alive until strmap_free), not copies */
};

/* The hash the map uses (word-wise, with murmur3's finalizer), for tables of
 * fixed-size keys that keep their keys inline (derive.c's short names). */
uint64_t strmap_hash(const char *s, size_t n);

/* The slot count (a power of two, at least 1024) that holds n keys at most
 * half full: the maps' load limit, for derive.c's table of short names too. */
size_t strmap_slots_for(size_t n);

/* Room for n keys without growing (one allocation, no rehash chain, for a
 * map about to be filled with a known number of keys). -1 on allocation
 * failure. */
int strmap_reserve(struct strmap *m, size_t n);

/* The slot of key, or NULL when absent. */
const struct strmap_slot *strmap_get(const struct strmap *m, const char *key, size_t keylen);
bool strmap_has(const struct strmap *m, const char *key, size_t keylen);
/* Insert key (value may be NULL); when key is present, keep the smaller of
 * the two values (strcmp; NULL is smallest). -1 on allocation failure. */
int strmap_put_min(struct strmap *m, const char *key, size_t keylen, const char *value);
/* Insert key with a number (first insert wins). -1 on allocation failure. */
int strmap_put_num(struct strmap *m, const char *key, size_t keylen, long num);
/* Insert key or replace its number. -1 on allocation failure. */
int strmap_set_num(struct strmap *m, const char *key, size_t keylen, long num);
/* The number stored under key, or dflt. */
long strmap_num(const struct strmap *m, const char *key, size_t keylen, long dflt);
void strmap_free(struct strmap *m);

#endif
