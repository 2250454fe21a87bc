/* catalog.h — the check catalog: one SQL file per check (sql/checks/NAME.sql,
 * embedded at build time), each with a header comment giving its stable
 * name, default severity and one-line meaning. */
#ifndef OVL2FSCK_CATALOG_H
#define OVL2FSCK_CATALOG_H

#include <stdbool.h>
#include <stddef.h>

enum severity { SEV_ERROR, SEV_GARBAGE, SEV_WARNING, SEV_IGNORE };

struct check {
    char *name;              /* kebab-case, stable API */
    enum severity default_severity;
    enum severity severity;  /* after --ignore / config overrides */
    char *meaning;           /* one line */
    char *sql;               /* the whole file (SQLite skips the comments) */
    char *source;            /* file it came from */
    bool user;               /* from a checks dir, not built in */
};

struct catalog {
    struct check *checks;
    size_t count, cap;
};

const char *severity_name(enum severity s);
/* "error", "garbage", "warning", "ignore" -> 0, else -1. */
int severity_parse(const char *s, enum severity *out);

/* Parse one check file's text. Returns 0, or -1 with "source:line: why". */
int catalog_parse_check(const char *source, const char *text, struct check *out, char *err, size_t errlen);

int catalog_load_builtin(struct catalog *cat, char *err, size_t errlen);
/* Add a parsed check; a name already present is an error. */
int catalog_add(struct catalog *cat, struct check *c, char *err, size_t errlen);
struct check *catalog_find(struct catalog *cat, const char *name);
/* Apply a comma-separated list of names with severity sev (e.g. --ignore). */
int catalog_set_severities(struct catalog *cat, const char *names, enum severity sev, char *err, size_t errlen);
void catalog_free(struct catalog *cat);

#endif
