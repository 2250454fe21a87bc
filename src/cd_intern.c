/* cd_intern.c — the containerd scan's string interning (include/cd_intern.h):
 * one hash map of byte strings to ids 1, 2, ..., shared by the scan's lanes
 * under an adaptive mutex (held for one probe or insert: the lanes contend
 * often and briefly, so a waiter spins a little before it sleeps), and the
 * write of its strings into cd_str. Strings are
 * compared by length and bytes (a key may hold NUL bytes). */
#include "cd_intern.h"
#include "grow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cd_intern_init(struct cd_intern *m)
{
    memset(m, 0, sizeof *m);
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(&m->lock, &a);
    pthread_mutexattr_destroy(&a);
}

void cd_intern_free(struct cd_intern *m)
{
    for (size_t i = 0; i < m->count; i++)
        free(m->strs[i].p);
    free(m->strs);
    free(m->slots);
    pthread_mutex_destroy(&m->lock);
    memset(m, 0, sizeof *m);
}

/* A hash of the bytes, 8 at a time (most strings are 71-byte digests),
 * with murmur3's finalizer: the low bits pick the slot. */
static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ len;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    uint64_t tail = 0;
    if (i < len)
        memcpy(&tail, s + i, len - i);
    h = (h ^ tail) * 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

static bool same(const struct cd_intern_slot *e, uint64_t h, const char *s, size_t len)
{
    return e->hash == h && e->len == len && (len == 0 || memcmp(e->p, s, len) == 0);
}

/* The slot holding s, or the empty slot where it goes. */
static struct cd_intern_slot *find_slot(const struct cd_intern *m, uint64_t h, const char *s, size_t len)
{
    size_t i = (size_t)h & (m->cap - 1);
    while (m->slots[i].p && !same(&m->slots[i], h, s, len))
        i = (i + 1) & (m->cap - 1);
    return &m->slots[i];
}

static int grow_slots(struct cd_intern *m)
{
    size_t cap = m->cap ? m->cap * 2 : 4096;
    struct cd_intern_slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t k = 0; k < m->cap; k++) {
        if (!m->slots[k].p)
            continue;
        size_t i = (size_t)m->slots[k].hash & (cap - 1);
        while (slots[i].p)
            i = (i + 1) & (cap - 1);
        slots[i] = m->slots[k];
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

/* A new id for s (the lock held); 0 when out of memory. */
static int64_t add(struct cd_intern *m, uint64_t h, const char *s, size_t len)
{
    if (m->count >= UINT32_MAX - 1 || len > UINT32_MAX)
        return 0;
    if ((m->count + 1) * 2 > m->cap && grow_slots(m) < 0)
        return 0;
    struct cd_intern_str *strs = grow_array(m->strs, &m->strs_cap, m->count + 1, sizeof *m->strs);
    char *p = malloc(len + 1);
    if (!strs || !p) {
        free(p);
        if (strs)
            m->strs = strs;
        return 0;
    }
    m->strs = strs;
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    m->strs[m->count] = (struct cd_intern_str){ .p = p, .len = len };
    m->count++;
    *find_slot(m, h, s, len) = (struct cd_intern_slot){ .hash = h, .p = p, .len = (uint32_t)len,
                                                        .id = (uint32_t)m->count };
    return (int64_t)m->count;
}

int64_t cd_intern_id(struct cd_intern *m, const char *s, size_t len)
{
    uint64_t h = hash_bytes(s, len);
    pthread_mutex_lock(&m->lock);
    int64_t id = m->cap ? find_slot(m, h, s, len)->id : 0;
    if (id == 0)
        id = add(m, h, s, len);
    pthread_mutex_unlock(&m->lock);
    return id;
}

int64_t cd_intern_find(struct cd_intern *m, const char *s, size_t len)
{
    uint64_t h = hash_bytes(s, len);
    pthread_mutex_lock(&m->lock);
    int64_t id = m->cap ? find_slot(m, h, s, len)->id : 0;
    pthread_mutex_unlock(&m->lock);
    return id;
}

const char *cd_intern_text(struct cd_intern *m, int64_t id, size_t *len)
{
    const char *p = NULL;
    pthread_mutex_lock(&m->lock);
    if (id >= 1 && (size_t)id <= m->count) {
        p = m->strs[id - 1].p;
        *len = m->strs[id - 1].len;
    }
    pthread_mutex_unlock(&m->lock);
    return p;
}

int cd_intern_bind(struct cd_intern *m, sqlite3_stmt *q, int idx, const char *s, size_t len, char *err,
                   size_t errlen)
{
    if (!s)
        return sqlite3_bind_null(q, idx) == SQLITE_OK ? 0 : -1;
    int64_t id = cd_intern_id(m, s, len);
    if (id == 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    sqlite3_bind_int64(q, idx, id);
    return 0;
}

int cd_intern_store(struct cd_intern *m, struct db *db, char *err, size_t errlen)
{
    sqlite3_stmt *q;
    if (db_prepare(db, "INSERT INTO cd_str(id, s) VALUES (?1, ?2)", &q, err, errlen) < 0)
        return -1;
    int rc = 0;
    pthread_mutex_lock(&m->lock);
    while (rc == 0 && m->stored < m->count) {
        const struct cd_intern_str *e = &m->strs[m->stored];
        sqlite3_bind_int64(q, 1, (int64_t)m->stored + 1);
        sqlite3_bind_text(q, 2, e->p, (int)e->len, SQLITE_STATIC);
        rc = db_step_reset(q, err, errlen);
        if (rc == 0)
            m->stored++;
    }
    pthread_mutex_unlock(&m->lock);
    sqlite3_finalize(q);
    return rc;
}
