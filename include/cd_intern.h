/* cd_intern.h — the interned strings of a containerd scan: every long
 * string of the cd_* tables (digests, label keys and values, snapshot keys,
 * names and parents, ...) gets one integer id, the same in every database
 * the scan writes (both lanes share one map), so that the tables store and
 * compare ids; cd_str (sql/schema.sql) holds the text of each id. */
#ifndef OVL2FSCK_CD_INTERN_H
#define OVL2FSCK_CD_INTERN_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

struct cd_intern_str {
    char *p;           /* the bytes (NUL-terminated copy; may hold NULs) */
    size_t len;
};

/* A slot of the hash table: what a probe compares is in the slot (one
 * cache line per probe), the bytes are compared only on a hash match. */
struct cd_intern_slot {
    uint64_t hash;
    const char *p;     /* NULL: empty */
    uint32_t len;
    uint32_t id;
};

struct cd_intern {
    pthread_mutex_t lock;         /* adaptive: held for a probe or an insert only */
    struct cd_intern_slot *slots; /* open addressing, linear probing */
    size_t cap;                   /* a power of two, or 0 */
    struct cd_intern_str *strs;   /* strs[id - 1] */
    size_t count, strs_cap;
    size_t stored;                /* ids 1..stored are written to cd_str */
};

void cd_intern_init(struct cd_intern *m);
void cd_intern_free(struct cd_intern *m);
/* The id of the len bytes at s, a new one when they are new (thread-safe);
 * 0 when out of memory. */
int64_t cd_intern_id(struct cd_intern *m, const char *s, size_t len);
/* The id of s, or 0 when it was never interned. */
int64_t cd_intern_find(struct cd_intern *m, const char *s, size_t len);
/* The bytes of id (valid until cd_intern_free), NULL for an unknown id. */
const char *cd_intern_text(struct cd_intern *m, int64_t id, size_t *len);
/* Bind parameter idx of q to the id of s (NULL when s is NULL); -1 when
 * out of memory (message in err). */
int cd_intern_bind(struct cd_intern *m, sqlite3_stmt *q, int idx, const char *s, size_t len, char *err,
                   size_t errlen);
/* Write the ids not written yet into db's cd_str, in id order (once the
 * scan's writers are done: the map is the authority while they run). */
int cd_intern_store(struct cd_intern *m, struct db *db, char *err, size_t errlen);

#endif
