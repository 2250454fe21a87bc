/* result.c — summary counts of a run and its exit code. */
#include "report.h"
#include "exit_codes.h"

const char *const REPORT_FINDINGS_SQL =
    "SELECT check_name, severity, object, path, detail, bytes FROM finding WHERE young = 0"
    " ORDER BY CASE severity WHEN 'error' THEN 0 WHEN 'garbage' THEN 1 ELSE 2 END, check_name, object, seq";

void result_count_findings(struct db *db, struct run_result *r)
{
    r->errors = db_query_int(db, "SELECT count(*) FROM finding WHERE young = 0 AND severity = 'error'", 0);
    r->garbage = db_query_int(db, "SELECT count(*) FROM finding WHERE young = 0 AND severity = 'garbage'", 0);
    r->warnings = db_query_int(db, "SELECT count(*) FROM finding WHERE young = 0 AND severity = 'warning'", 0);
    r->young_skipped = db_query_int(db, "SELECT count(*) FROM finding WHERE young = 1", 0);
}

int result_exit_code(const struct run_result *r)
{
    int code = EXIT_CLEAN;
    if (r->errors || r->garbage)
        code |= EXIT_FOUND;
    if (r->checks && r->checks->failure_count)
        code |= EXIT_OPERATIONAL;
    return code;
}

const char *stage_name(enum stage s)
{
    switch (s) {
    case STAGE_WALK: return "walk";
    case STAGE_PARSE: return "parse";
    case STAGE_LOAD: return "load";
    case STAGE_SCAN: return "scan";
    case STAGE_DEEP: return "deep";
    case STAGE_DERIVE: return "derive";
    case STAGE_CHECKS: return "checks";
    case STAGE_SIZES: return "sizes";
    case STAGE_REPORT: return "report";
    case STAGE_COUNT: break;
    }
    return "?";
}

bool stage_is_thread_time(enum stage s)
{
    return s == STAGE_WALK || s == STAGE_PARSE || s == STAGE_LOAD;
}
