/* arena.c — blocks of strings let go together (see arena.h). A request
 * larger than a block gets a block of its own. */
#include "arena.h"

#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK_BYTES ((size_t)1 << 20)

struct arena_block {
    struct arena_block *older;
    size_t size;
    char bytes[];
};

char *arena_alloc(struct arena *a, size_t n)
{
    if (!a->head || n > a->head->size - a->used) {
        size_t size = n > ARENA_BLOCK_BYTES ? n : ARENA_BLOCK_BYTES;
        struct arena_block *b = malloc(sizeof *b + size);
        if (!b)
            return NULL;
        b->older = a->head;
        b->size = size;
        a->head = b;
        a->used = 0;
    }
    char *p = a->head->bytes + a->used;
    a->used += n;
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

void arena_free(struct arena *a)
{
    while (a->head) {
        struct arena_block *b = a->head;
        a->head = b->older;
        free(b);
    }
    a->used = 0;
}
