/* prometheus.h — the node_exporter textfile (--prometheus FILE): what one
 * run found, in the Prometheus text exposition format, written atomically
 * (temp file in the same dir, fsync, rename) so the collector never reads
 * half a file. */
#ifndef OVL2FSCK_PROMETHEUS_H
#define OVL2FSCK_PROMETHEUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "checks.h"
#include "db.h"
#include "report.h"
#include "scan.h"

struct prom_finding {
    char *check;
    const char *severity;      /* static: severity_name() */
    int64_t count;             /* non-young findings */
};

/* Everything the file says, copied out of the run (so it can be written
 * after the database is closed). */
struct prom_run {
    bool have_result;          /* the checks ran: findings and objects known */
    struct prom_finding *findings;
    size_t finding_count;
    struct scan_counts scanned;
    int64_t reclaimable, young_skipped, skipped;
    bool dockerd_running;
    char **failed;             /* sources of checks that failed to load or run */
    size_t failed_count, failed_cap;
    int exit_code;
    double duration;           /* seconds, the whole run */
    int64_t now;               /* epoch seconds of this run */
    int64_t last_success;      /* epoch seconds; 0 = never */
};

/* Copy the findings per check (one entry for every catalog check that ran,
 * 0 included), the object counts and sizes of a finished run. */
int prom_collect_result(struct prom_run *m, struct db *db, const struct run_result *r);
/* Copy the sources of failed checks. */
int prom_collect_failures(struct prom_run *m, const struct check_run *failures);
void prom_free(struct prom_run *m);

/* A run counts as a success when its exit code has only bits 1 and 4. */
bool prom_exit_is_success(int exit_code);
/* Escape a label value (\, ", newline; other control bytes and invalid
 * UTF-8 become \xNN). Returns a malloc'd string or NULL. */
char *prom_escape_label(const char *s);
/* ovl2fsck_last_success_timestamp_seconds from an earlier file; 0 when the
 * file or the sample is missing or malformed. */
int64_t prom_read_last_success(const char *path);

/* The whole file's text on out. Returns 0 or -1 (write error). */
int prom_render(FILE *out, const struct prom_run *m);
/* Set m->last_success (now when the run succeeded, else kept from the old
 * file) and write path atomically. Returns 0, or -1 with a message in err;
 * on failure the old file is left as it was. */
int prom_write_file(const char *path, struct prom_run *m, char *err, size_t errlen);

#endif
