/* grow.h — arrays that grow geometrically (one realloc per doubling, not
 * one per element). */
#ifndef OVL2FSCK_GROW_H
#define OVL2FSCK_GROW_H

#include <stddef.h>

/* v (an array of elements of size) with room for at least need, *cap
 * doubled as often as needed (at least 8); NULL on overflow or OOM, with v
 * left as it was. */
void *grow_array(void *v, size_t *cap, size_t need, size_t size);
/* grow_array that aborts with a message on OOM (never NULL). */
void *grow_array_or_die(void *v, size_t *cap, size_t need, size_t size);

#endif
