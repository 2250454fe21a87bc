/* prefetch.h — read-ahead for the scan on a cold cache: a bounded pool of
 * I/O threads that, while a scan module walks a directory in name order,
 * opens the next entries and reads their small metadata files (through
 * fs_read_file, the same capped, symlink-refusing read) so that many
 * requests are in flight at once. The module then takes each entry's bytes
 * in its own order instead of reading them itself; what it computes does not
 * change. Only FILE_OK and FILE_MISSING results are kept: any other outcome
 * (and anything not read ahead) is read again by the module itself, so a
 * failure is exactly the error the serial read gives. A walk reads inline
 * (no handoff) while probes find its entries in the page cache, and uses
 * the pool from the first entry a probe finds cold. */
#ifndef OVL2FSCK_PREFETCH_H
#define OVL2FSCK_PREFETCH_H

#include <stdbool.h>
#include <stddef.h>

#include "fsutil.h"

#define PF_MAX_FILES 4
#define PF_DEFAULT_DEPTH 32        /* --io-depth default: requests in flight */
#define PF_MAX_DEPTH 256
#define PF_MAX_BYTES (16u * 1024 * 1024)   /* bytes held ahead of the parsers, all walks */

/* What the pool does for each entry of a walked directory. */
enum pf_kind {
    PF_FILE,        /* the entry is a file: read it */
    PF_DIR_FILES,   /* the entry is a dir: read files[] inside it */
    PF_LINK         /* the entry is a symlink: lstat + readlink (warms only) */
};

struct pf_plan {
    enum pf_kind kind;
    const char *files[PF_MAX_FILES];  /* PF_DIR_FILES: names inside the entry (NULL-terminated) */
    size_t cap;                       /* fs_read_file cap, the same the module uses */
    const char *warm;                 /* PF_DIR_FILES: a name inside the entry to lstat only, or NULL */
    bool dir_order;                   /* walk in fs_list_dir's order, not sorted by name */
};

struct prefetch;        /* the pool */
struct pf_walk;         /* one directory being walked with read-ahead */
struct pf_entry;        /* one entry's prefetched files */

/* A pool of depth threads holding at most max_bytes ahead; NULL when depth
 * <= 1 (the scan then reads everything itself, as without a pool) or the
 * threads cannot be started. */
struct prefetch *prefetch_open(int depth, size_t max_bytes);
void prefetch_close(struct prefetch *pf);

/* Walk the sorted entries of dirfd (as fs_list_dir_sorted, same order, same
 * partial-listing rule; in fs_list_dir's order when plan->dir_order), calling fn(ctx, name, d_type) for each with *cur
 * set to its prefetched files (NULL when none) while the pool reads ahead.
 * pf NULL: no read-ahead. Returns fs_list_dir_sorted's value. */
int prefetch_walk(struct prefetch *pf, int dirfd, const struct pf_plan *plan, struct pf_entry **cur,
                  fs_entry_fn fn, void *ctx);

/* The prefetched read of name (FILE_OK or FILE_MISSING; ownership of the
 * data passes to out) when e has it for this cap; false: read it yourself. */
bool pf_entry_take(struct pf_entry *e, const char *name, size_t cap, struct file_buf *out);

#endif
