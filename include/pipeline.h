/* pipeline.h — one fresh look at a root: scan -> db -> checks -> sizes.
 * The report, the reaper and repair all start from a pipeline run. */
#ifndef OVL2FSCK_PIPELINE_H
#define OVL2FSCK_PIPELINE_H

#include <limits.h>
#include <signal.h>

#include "catalog.h"
#include "exit_codes.h"
#include "checks.h"
#include "db.h"
#include "opts.h"
#include "report.h"
#include "store.h"

struct pipeline {
    char root[PATH_MAX];       /* canonical root (--root) */
    struct store_target store; /* what kind of store it is, and what is scanned */
    struct db db;
    struct run_result result;
    struct check_run run;
    bool db_open;
};

/* Returns 0, or an exit code (EXIT_OPERATIONAL, EXIT_INTERRUPTED) with a
 * message in err. The findings are in p->db, the counts in p->result. */
int pipeline_run(struct pipeline *p, const struct options *o, const struct catalog *cat,
                 volatile sig_atomic_t *stop, char *err, size_t errlen);
/* Keep --db FILE (rename into place) and release everything. */
int pipeline_finish(struct pipeline *p, char *err, size_t errlen);
void pipeline_close(struct pipeline *p);
/* pipeline_finish for a mode that has its exit code: a failure to keep the
 * --db file is said on stderr and adds bit 8. */
int pipeline_end(struct pipeline *p, int code);

#endif
