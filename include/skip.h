/* skip.h — the per-object allow-list, as git fsck's fsck.skipList: findings
 * of a check about one object that the operator knows of and accepts.
 * "skip.CHECK = OBJECT" lines of the config file and --skip-list FILE (one
 * "CHECK OBJECT" per line, # comments). A skipped finding is neither
 * reported nor acted on (reaper, repair); it is counted ("skipped" in the
 * JSON summary when a skip list is in use, ovl2fsck_findings_skipped). */
#ifndef OVL2FSCK_SKIP_H
#define OVL2FSCK_SKIP_H

#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "db.h"

struct skip_entry {
    char *check, *object;
    const char *source;      /* the file that said it (owned by the list) */
    int line;
};

struct skip_list {
    struct skip_entry *v;
    size_t n, cap;
    char **sources;          /* file names, owned */
    size_t source_count, source_cap;
};

/* Add one entry said at source:line. 0, or -1 (out of memory). */
int skip_list_add(struct skip_list *l, const char *check, const char *object, const char *source, int line);
/* Read "CHECK OBJECT" lines of path. A bad line is "FILE:LINE: why" in err
 * (-1); a file that cannot be read too. */
int skip_list_read(struct skip_list *l, const char *path, char *err, size_t errlen);
/* Every entry names a check of the catalog: else "FILE:LINE: unknown check". */
int skip_list_validate(const struct skip_list *l, struct catalog *cat, char *err, size_t errlen);
/* Move the findings the list names out of the finding table (into
 * finding_skipped); their number into *skipped. */
int skip_list_apply(const struct skip_list *l, struct db *db, int64_t *skipped, char *err, size_t errlen);
void skip_list_free(struct skip_list *l);

#endif
