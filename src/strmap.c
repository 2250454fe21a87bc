/* strmap.c — string -> string hash map (word-wise hash, finalizer, linear
 * probing, grows at half full). Used by derive.c for sets of ids of the
 * size of a store. */
#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Eight bytes at a time (the keys are 26- to 71-byte ids: a byte-wise
 * hash took a multiply per byte, longer than the probe it serves), each
 * word multiplied in and rotated, then murmur3's finalizer: without it the
 * low bits (the slot index) would depend only on the low bits of the input
 * bytes, which cluster ids of one alphabet (hex, base32) into long probe
 * runs. */
static uint64_t mix_word(uint64_t h, uint64_t w)
{
    h ^= w * 0x9e3779b97f4a7c15ULL;
    h = (h << 29) | (h >> 35);
    return h * 0xbf58476d1ce4e5b9ULL;
}

uint64_t strmap_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = mix_word(h, w);
    }
    if (i < n) {
        uint64_t w = 0;
        memcpy(&w, s + i, n - i);
        h = mix_word(h, w);
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static bool key_equals(const char *key, const char *s, size_t n)
{
    return memcmp(key, s, n) == 0 && key[n] == '\0';
}

static struct strmap_slot *find_slot(struct strmap_slot *slots, size_t cap, uint64_t h, const char *key, size_t keylen)
{
    size_t i = (size_t)h & (cap - 1);
    while (slots[i].key && (slots[i].hash != h || !key_equals(slots[i].key, key, keylen)))
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

/* Where a key known to be absent goes (growing: no compares at all). */
static struct strmap_slot *free_slot(struct strmap_slot *slots, size_t cap, uint64_t h)
{
    size_t i = (size_t)h & (cap - 1);
    while (slots[i].key)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

/* Rehash into cap slots (a power of two, more than twice the count). */
static int rehash(struct strmap *m, size_t cap)
{
    struct strmap_slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key)
            *free_slot(slots, cap, m->slots[i].hash) = m->slots[i];
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

static int grow(struct strmap *m)
{
    return rehash(m, m->cap ? m->cap * 2 : 1024);
}

size_t strmap_slots_for(size_t n)
{
    size_t cap = 1024;
    while (cap < 2 * (n + 1))
        cap *= 2;
    return cap;
}

int strmap_reserve(struct strmap *m, size_t n)
{
    size_t cap = strmap_slots_for(n);
    return cap > m->cap ? rehash(m, cap) : 0;
}

const struct strmap_slot *strmap_get(const struct strmap *m, const char *key, size_t keylen)
{
    if (m->cap == 0)
        return NULL;
    const struct strmap_slot *s = find_slot(m->slots, m->cap, strmap_hash(key, keylen), key, keylen);
    return s->key ? s : NULL;
}

bool strmap_has(const struct strmap *m, const char *key, size_t keylen)
{
    return strmap_get(m, key, keylen) != NULL;
}

static char *copy_value(const char *value)
{
    return value ? strdup(value) : NULL;
}

/* The slot for key, made (empty value) when absent; NULL on allocation failure. */
static struct strmap_slot *slot_for(struct strmap *m, const char *key, size_t keylen, bool *existed)
{
    if ((m->count + 1) * 2 > m->cap && grow(m) < 0)
        return NULL;
    uint64_t h = strmap_hash(key, keylen);
    struct strmap_slot *s = find_slot(m->slots, m->cap, h, key, keylen);
    *existed = s->key != NULL;
    if (*existed)
        return s;
    char *k = m->borrowed ? (char *)key : malloc(keylen + 1);
    if (!k)
        return NULL;
    if (!m->borrowed) {
        memcpy(k, key, keylen);
        k[keylen] = '\0';
    }
    s->key = k;
    s->hash = h;
    m->count++;
    return s;
}

int strmap_put_min(struct strmap *m, const char *key, size_t keylen, const char *value)
{
    bool existed;
    struct strmap_slot *s = slot_for(m, key, keylen, &existed);
    if (!s)
        return -1;
    if (!existed) {
        s->value = copy_value(value);
        return value && !s->value ? -1 : 0;
    }
    if (s->value && (!value || strcmp(value, s->value) < 0)) {
        char *v = copy_value(value);
        if (value && !v)
            return -1;
        free(s->value);
        s->value = v;
    }
    return 0;
}

static int put_number(struct strmap *m, const char *key, size_t keylen, long num, bool replace)
{
    bool existed;
    struct strmap_slot *s = slot_for(m, key, keylen, &existed);
    if (!s)
        return -1;
    if (!existed || replace)
        s->num = num;
    return 0;
}

int strmap_put_num(struct strmap *m, const char *key, size_t keylen, long num)
{
    return put_number(m, key, keylen, num, false);
}

int strmap_set_num(struct strmap *m, const char *key, size_t keylen, long num)
{
    return put_number(m, key, keylen, num, true);
}

long strmap_num(const struct strmap *m, const char *key, size_t keylen, long dflt)
{
    const struct strmap_slot *s = strmap_get(m, key, keylen);
    return s ? s->num : dflt;
}

void strmap_free(struct strmap *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->borrowed)
            free(m->slots[i].key);
        free(m->slots[i].value);
    }
    free(m->slots);
    memset(m, 0, sizeof *m);
}
