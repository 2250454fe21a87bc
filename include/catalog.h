/* catalog.h — the check catalog: one SQL file per check (sql/checks/NAME.sql,
 * embedded at build time), each with a header comment that declares it:
 *
 *   -- check: NAME            stable kebab-case name (JSON, --ignore, metrics)
 *   -- severity: error|garbage|warning
 *   -- meaning: one line
 *   -- store: docker|containerd  the kind of store it checks (default docker);
 *                             a run runs only the checks of its store's kind
 *   -- needs: TABLE[, TABLE]  derived tables it reads (filled by the derive:
 *                             the check waits for it); default none
 *   -- action: reap|reap-include|repair|none
 *                             what may act on its findings: the reaper (while
 *                             the finding's severity is garbage), the reaper
 *                             with --include CHECK, --repair, or nothing
 *                             (default)
 *
 * The catalog validates the declarations when it loads a file: an unknown
 * store, table or action, a declared table the SQL does not read, or (for a
 * built-in check) a derived table it reads without declaring, is a
 * FILE:LINE error. */
#ifndef OVL2FSCK_CATALOG_H
#define OVL2FSCK_CATALOG_H

#include <stdbool.h>
#include <stddef.h>

enum severity { SEV_ERROR, SEV_GARBAGE, SEV_WARNING, SEV_IGNORE };

/* The kinds of store a check can be about (a second store adds a name). */
enum store_kind { STORE_DOCKER, STORE_CONTAINERD, STORE_KIND_COUNT };

/* What may act on a check's findings. */
enum check_action { ACTION_NONE, ACTION_REAP, ACTION_REAP_INCLUDE, ACTION_REPAIR, ACTION_COUNT };

/* The tables the derive fills (bits of check.needs). */
enum derived_table {
    DERIVED_OVERLAY_REF = 1u << 0, DERIVED_EXPECTED_LOWER = 1u << 1, DERIVED_LOWER_UNRESOLVED = 1u << 2,
    DERIVED_LAYER_DEAD = 1u << 3, DERIVED_LOWER_UNKNOWN = 1u << 4
};

struct check {
    char *name;              /* kebab-case, stable API */
    enum severity default_severity;
    enum severity severity;  /* after --ignore / config overrides */
    char *meaning;           /* one line */
    char *sql;               /* the whole file (SQLite skips the comments) */
    char *source;            /* file it came from */
    bool user;               /* from a checks dir, not built in */
    enum store_kind store;   /* -- store: */
    unsigned needs;          /* -- needs: derived_table bits */
    enum check_action action;  /* -- action: */
};

struct catalog {
    struct check *checks;
    size_t count, cap;
};

const char *severity_name(enum severity s);
const char *store_kind_name(enum store_kind k);
const char *check_action_name(enum check_action a);
/* "error", "garbage", "warning", "ignore" -> 0, else -1. */
int severity_parse(const char *s, enum severity *out);

/* Parse one check file's text. Returns 0, or -1 with "source:line: why".
 * strict: a derived table the SQL reads must be declared (built-in checks);
 * otherwise such a table is taken as declared. */
int catalog_parse_check(const char *source, const char *text, struct check *out, char *err, size_t errlen);
int catalog_parse_check_strict(const char *source, const char *text, bool strict, struct check *out, char *err,
                               size_t errlen);

int catalog_load_builtin(struct catalog *cat, char *err, size_t errlen);
/* Add a parsed check; a name already present is an error. */
int catalog_add(struct catalog *cat, struct check *c, char *err, size_t errlen);
struct check *catalog_find(struct catalog *cat, const char *name);
/* Apply a comma-separated list of names with severity sev (e.g. --ignore). */
int catalog_set_severities(struct catalog *cat, const char *names, enum severity sev, char *err, size_t errlen);
void catalog_free(struct catalog *cat);

#endif
