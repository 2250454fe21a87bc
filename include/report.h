/* report.h — what one run found, and its two renderings: the human report
 * (report_text.c) and the JSON object (report_json.c). */
#ifndef OVL2FSCK_REPORT_H
#define OVL2FSCK_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "catalog.h"
#include "checks.h"
#include "db.h"
#include "live.h"
#include "opts.h"
#include "scan.h"

/* The -v stages. walk, parse and load are thread time summed over the scan's
 * threads (they overlap); scan is their wall time. The total is the sum of
 * the wall stages: scan, deep, derive, checks, sizes, report. */
enum stage {
    STAGE_WALK, STAGE_PARSE, STAGE_LOAD, STAGE_SCAN, STAGE_DEEP, STAGE_DERIVE, STAGE_CHECKS, STAGE_SIZES,
    STAGE_REPORT, STAGE_COUNT
};

struct run_result {
    const char *root;
    enum store_kind store;     /* the kind of store checked */
    const char *docker_root;   /* containerd store reached from a Docker root: that root; else NULL */
    const char *store_how;     /* how the store was recognised */
    struct scan_counts scanned;
    struct liveness live;
    int64_t min_age;
    int64_t errors, garbage, warnings, young_skipped, reclaimable;
    int64_t skipped;           /* findings the skip list accepted (not in the finding table) */
    bool skip_active;          /* a skip list is in use: "skipped" is reported */
    const struct check_run *checks;
    const struct catalog *catalog;
    double stage_seconds[STAGE_COUNT];
    int scan_threads;
};

/* Count the findings in db (non-young by severity, young ones). */
void result_count_findings(struct db *db, struct run_result *r);
/* fsck-style exit bits for a report run. */
int result_exit_code(const struct run_result *r);
const char *stage_name(enum stage s);
/* walk, parse, load: thread time inside the scan, not part of the total. */
bool stage_is_thread_time(enum stage s);

int report_text(FILE *out, struct db *db, const struct run_result *r, const struct options *o);
int report_json(FILE *out, struct db *db, const struct run_result *r);

/* The findings query both renderings share: non-young findings, errors
 * first, then garbage, then warnings, by check and object. Columns:
 * check_name, severity, object, path, detail, bytes. */
extern const char *const REPORT_FINDINGS_SQL;

#endif
