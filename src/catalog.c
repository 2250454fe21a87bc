/* catalog.c — builds the check catalog from check files: parses each file's
 * header (check, severity, meaning), keeps the SQL, applies overrides. */
#include "catalog.h"
#include "grow.h"
#include "embedded.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *severity_name(enum severity s)
{
    switch (s) {
    case SEV_ERROR: return "error";
    case SEV_GARBAGE: return "garbage";
    case SEV_WARNING: return "warning";
    case SEV_IGNORE: return "ignore";
    }
    return "?";
}

int severity_parse(const char *s, enum severity *out)
{
    static const enum severity all[] = { SEV_ERROR, SEV_GARBAGE, SEV_WARNING, SEV_IGNORE };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(s, severity_name(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    return -1;
}

/* kebab-case: words of [a-z0-9] joined by single dashes. */
static bool valid_check_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || s[0] == '-' || s[n - 1] == '-' || strstr(s, "--"))
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
            return false;
    return true;
}

/* Copy the trimmed value of a "-- key: value" header line, or NULL. */
static char *header_value(const char *line, size_t len, const char *key)
{
    size_t kl = strlen(key);
    if (len < 3 || strncmp(line, "--", 2) != 0)
        return NULL;
    const char *p = line + 2, *end = line + len;
    while (p < end && *p == ' ')
        p++;
    if ((size_t)(end - p) <= kl || strncmp(p, key, kl) != 0 || p[kl] != ':')
        return NULL;
    p += kl + 1;
    while (p < end && *p == ' ')
        p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\r'))
        end--;
    return strndup(p, (size_t)(end - p));
}

static void check_clear(struct check *c)
{
    free(c->name);
    free(c->meaning);
    free(c->sql);
    free(c->source);
    memset(c, 0, sizeof *c);
}

int catalog_parse_check(const char *source, const char *text, struct check *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char *sev = NULL;
    int lineno = 0, sev_line = 0;
    const char *p = text;
    /* the header is the leading block of "--" comment lines */
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        lineno++;
        if (len < 2 || strncmp(p, "--", 2) != 0)
            break;
        char *v;
        if (!out->name && (v = header_value(p, len, "check")))
            out->name = v;
        else if (!sev && (v = header_value(p, len, "severity"))) {
            sev = v;
            sev_line = lineno;
        } else if (!out->meaning && (v = header_value(p, len, "meaning")))
            out->meaning = v;
        if (!nl)
            break;
        p = nl + 1;
    }
    const char *why = NULL;
    int line = 1;
    if (!out->name)
        why = "header has no \"-- check: NAME\" line";
    else if (!valid_check_name(out->name))
        why = "check name must be kebab-case [a-z0-9-]";
    else if (!sev)
        why = "header has no \"-- severity: error|garbage|warning\" line";
    else if (severity_parse(sev, &out->default_severity) < 0 || out->default_severity == SEV_IGNORE) {
        why = "severity must be error, garbage or warning";
        line = sev_line;
    } else if (!out->meaning || !out->meaning[0])
        why = "header has no \"-- meaning: ...\" line (or it is empty)";
    free(sev);
    if (why) {
        snprintf(err, errlen, "%s:%d: %s", source, line, why);
        check_clear(out);
        return -1;
    }
    out->severity = out->default_severity;
    out->sql = strdup(text);
    out->source = strdup(source);
    return 0;
}

int catalog_add(struct catalog *cat, struct check *c, char *err, size_t errlen)
{
    if (catalog_find(cat, c->name)) {
        snprintf(err, errlen, "%s: check %s is already defined", c->source, c->name);
        return -1;
    }
    struct check *v = grow_array(cat->checks, &cat->cap, cat->count + 1, sizeof *v);
    if (!v) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    cat->checks = v;
    cat->checks[cat->count++] = *c;
    return 0;
}

int catalog_load_builtin(struct catalog *cat, char *err, size_t errlen)
{
    for (size_t i = 0; i < embedded_file_count; i++) {
        const struct embedded_file *f = &embedded_files[i];
        if (!strstr(f->name, "checks/"))
            continue;
        struct check c;
        if (catalog_parse_check(f->name, f->text, &c, err, errlen) < 0)
            return -1;
        if (catalog_add(cat, &c, err, errlen) < 0) {
            check_clear(&c);
            return -1;
        }
    }
    return 0;
}

struct check *catalog_find(struct catalog *cat, const char *name)
{
    for (size_t i = 0; i < cat->count; i++)
        if (strcmp(cat->checks[i].name, name) == 0)
            return &cat->checks[i];
    return NULL;
}

int catalog_set_severities(struct catalog *cat, const char *names, enum severity sev, char *err, size_t errlen)
{
    char *copy = strdup(names), *save = NULL;
    int rc = 0;
    for (char *n = strtok_r(copy, ",", &save); n; n = strtok_r(NULL, ",", &save)) {
        struct check *c = catalog_find(cat, n);
        if (!c) {
            snprintf(err, errlen, "unknown check '%s' (see --list-checks)", n);
            rc = -1;
            break;
        }
        c->severity = sev;
    }
    free(copy);
    return rc;
}

void catalog_free(struct catalog *cat)
{
    for (size_t i = 0; i < cat->count; i++)
        check_clear(&cat->checks[i]);
    free(cat->checks);
    cat->checks = NULL;
    cat->count = 0;
}
