/* embedded.h — files compiled into the binary by tools/embed.c: the schema
 * and the built-in check catalog (sql/checks/NAME.sql), in file-name order. */
#ifndef OVL2FSCK_EMBEDDED_H
#define OVL2FSCK_EMBEDDED_H

#include <stddef.h>

struct embedded_file {
    const char *name;   /* path as given at build time, e.g. "sql/checks/foo.sql" */
    const char *text;
    size_t len;
};

extern const struct embedded_file embedded_files[];
extern const size_t embedded_file_count;

/* The embedded file whose name ends with suffix, or NULL. */
const struct embedded_file *embedded_find(const char *suffix);

#endif
