/* checks.h — runs the catalog's queries over a loaded scan database and
 * stores their rows in the finding table. */
#ifndef OVL2FSCK_CHECKS_H
#define OVL2FSCK_CHECKS_H

#include <stdint.h>

#include "catalog.h"
#include "db.h"

/* A check whose SQL failed (a user check with a syntax error, say). */
struct check_failure {
    char *source;
    char *message;
};

/* How long one check's query ran (-v -v). */
struct check_timing {
    const char *name;        /* the catalog's */
    double seconds;
};

struct check_run {
    struct check_failure *failures;
    size_t failure_count, failure_cap;
    double derive_seconds;   /* of the run's time, deriving the facts */
    struct check_timing *timings;   /* the checks that ran, in catalog order */
    size_t timing_count;
};

struct progress;

/* Derive the facts, then run every check whose severity is not SEV_IGNORE
 * on up to `threads` connections at once (progress, which may be NULL, is
 * redrawn by the calling thread). Rows whose mtime is newer than
 * young_cutoff (epoch seconds) are stored with young = 1. Returns 0, or -1
 * on a database error (message in err); a failing check is recorded in
 * run->failures and the others still run. */
int checks_run(struct db *db, const struct catalog *cat, int64_t young_cutoff, int threads,
               struct progress *progress, struct check_run *run, char *err, size_t errlen);
/* checks_run for the checks of one kind of store (checks_run: Docker's);
 * the derive runs only for a Docker store. */
int checks_run_store(struct db *db, const struct catalog *cat, enum store_kind store, int64_t young_cutoff,
                     int threads, struct progress *progress, struct check_run *run, char *err, size_t errlen);
void check_run_free(struct check_run *run);

#endif
