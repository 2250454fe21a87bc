/* arena.h — a string arena: many small strings copied into large blocks
 * and let go all at once. For derive.c's per-row ids and lower strings and
 * the scan's vanish-step key sets (hundreds of thousands at 100k layers):
 * no allocator header or call per string, the strings of one row side by
 * side, one free per block. */
#ifndef OVL2FSCK_ARENA_H
#define OVL2FSCK_ARENA_H

#include <stddef.h>

struct arena_block;

struct arena {
    struct arena_block *head;   /* the block being filled, linked to the older ones */
    size_t used;                /* bytes of head in use */
};

/* Room for n bytes (uninitialised, unaligned: for strings) that live
 * until arena_free; NULL when out of memory. */
char *arena_alloc(struct arena *a, size_t n);
/* A NUL-terminated copy of s[0..n); NULL when out of memory. */
char *arena_strndup(struct arena *a, const char *s, size_t n);
void arena_free(struct arena *a);

#endif
