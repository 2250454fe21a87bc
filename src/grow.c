/* grow.c — arrays that grow geometrically (see grow.h). */
#include "grow.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

void *grow_array(void *v, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return v;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return NULL;
        ncap *= 2;
    }
    if (size && ncap > SIZE_MAX / size)
        return NULL;
    void *nv = realloc(v, ncap * size);
    if (!nv)
        return NULL;
    *cap = ncap;
    return nv;
}

void *grow_array_or_die(void *v, size_t *cap, size_t need, size_t size)
{
    void *nv = grow_array(v, cap, need, size);
    if (!nv) {
        fprintf(stderr, "ovl2fsck: out of memory\n");
        abort();
    }
    return nv;
}
