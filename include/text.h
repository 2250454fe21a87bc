/* text.h — making store-supplied bytes safe to print (control chars and
 * invalid UTF-8 become \xNN) and human-readable sizes and durations. */
#ifndef OVL2FSCK_TEXT_H
#define OVL2FSCK_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Escaped copy of s (malloc'd; never NULL for non-NULL s unless OOM). */
char *text_escape(const char *s);
/* "1.2 MiB"-style (or exact bytes when exact) into buf. */
const char *text_size(int64_t bytes, int exact, char *buf, size_t buflen);
/* "24h", "30m", "90s", "7d" into buf. */
const char *text_duration(int64_t seconds, char *buf, size_t buflen);

#endif
