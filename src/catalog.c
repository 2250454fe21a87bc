/* catalog.c — builds the check catalog from check files: parses each file's
 * header (check, severity, meaning), keeps the SQL, applies overrides. */
#include "catalog.h"
#include "grow.h"
#include "embedded.h"

#include <ctype.h>
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

static const char *const store_names[STORE_KIND_COUNT] = { "docker", "containerd" };
static const char *const action_names[ACTION_COUNT] = { "none", "reap", "reap-include", "repair" };
static const struct { const char *name; unsigned bit; } derived_tables[] = {
    { "overlay_ref", DERIVED_OVERLAY_REF }, { "expected_lower", DERIVED_EXPECTED_LOWER },
    { "lower_unresolved", DERIVED_LOWER_UNRESOLVED }, { "layer_dead", DERIVED_LAYER_DEAD },
    { "lower_unknown", DERIVED_LOWER_UNKNOWN },
};
#define DERIVED_COUNT (sizeof derived_tables / sizeof derived_tables[0])

const char *store_kind_name(enum store_kind k)
{
    return (unsigned)k < STORE_KIND_COUNT ? store_names[k] : "?";
}

const char *check_action_name(enum check_action a)
{
    return (unsigned)a < ACTION_COUNT ? action_names[a] : "?";
}

static int name_index(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return (int)i;
    return -1;
}

/* Does the SQL name table t as a word? (comments included: a false yes
 * only makes the check wait for the derive) */
static bool sql_names(const char *sql, const char *t)
{
    size_t n = strlen(t);
    for (const char *p = sql; (p = strcasestr(p, t)) != NULL; p += n) {
        bool start = p == sql || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
        bool end = !(isalnum((unsigned char)p[n]) || p[n] == '_');
        if (start && end)
            return true;
    }
    return false;
}

/* The SQL after the header (what is checked against -- needs:). */
static const char *sql_body(const char *text)
{
    const char *p = text;
    while (*p && strncmp(p, "--", 2) == 0) {
        const char *nl = strchr(p, '\n');
        if (!nl)
            return p + strlen(p);
        p = nl + 1;
    }
    return p;
}

/* "-- needs: a, b" into bits; NULL, or why with the bad word in bad. */
static const char *parse_needs(const char *v, unsigned *bits, char *bad, size_t badlen)
{
    char *copy = strdup(v), *save = NULL;
    const char *why = NULL;
    if (!copy)
        return "out of memory";
    for (char *w = strtok_r(copy, ", ", &save); w && !why; w = strtok_r(NULL, ", ", &save)) {
        size_t i = 0;
        while (i < DERIVED_COUNT && strcmp(derived_tables[i].name, w) != 0)
            i++;
        if (i == DERIVED_COUNT) {
            snprintf(bad, badlen, "%s", w);
            why = "unknown derived table";
        } else {
            *bits |= derived_tables[i].bit;
        }
    }
    free(copy);
    return why;
}

/* The declared tables against what the SQL reads. */
static const char *check_needs(const char *text, bool strict, unsigned *bits, char *bad, size_t badlen)
{
    const char *body = sql_body(text);
    for (size_t i = 0; i < DERIVED_COUNT; i++) {
        bool reads = sql_names(body, derived_tables[i].name), declared = *bits & derived_tables[i].bit;
        snprintf(bad, badlen, "%s", derived_tables[i].name);
        if (declared && !reads)
            return "declares a derived table it does not read";
        if (reads && !declared && strict)
            return "reads a derived table it does not declare in \"-- needs:\"";
        if (reads)
            *bits |= derived_tables[i].bit;
    }
    bad[0] = '\0';
    return NULL;
}

/* A header line: which key, its value (malloc'd) in *v, or 0. */
enum header_key { KEY_NONE, KEY_CHECK, KEY_SEVERITY, KEY_MEANING, KEY_STORE, KEY_NEEDS, KEY_ACTION };

static enum header_key header_line(const char *line, size_t len, char **v)
{
    static const char *const keys[] = { NULL, "check", "severity", "meaning", "store", "needs", "action" };
    for (size_t k = 1; k < sizeof keys / sizeof keys[0]; k++)
        if ((*v = header_value(line, len, keys[k])) != NULL)
            return (enum header_key)k;
    return KEY_NONE;
}

struct header {
    char *value[KEY_ACTION + 1];
    int line[KEY_ACTION + 1];
};

static void read_header(const char *text, struct header *h)
{
    int lineno = 0;
    const char *p = text;
    /* the header is the leading block of "--" comment lines; the first of
     * each key counts */
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        lineno++;
        if (len < 2 || strncmp(p, "--", 2) != 0)
            break;
        char *v = NULL;
        enum header_key k = header_line(p, len, &v);
        if (k != KEY_NONE && !h->value[k]) {
            h->value[k] = v;
            h->line[k] = lineno;
        } else {
            free(v);
        }
        if (!nl)
            break;
        p = nl + 1;
    }
}

/* The declarations past name, severity and meaning; why, or NULL. */
static const char *parse_declarations(const struct header *h, const char *text, bool strict, struct check *out,
                                      int *line, char *bad, size_t badlen)
{
    int k;
    if (h->value[KEY_STORE]) {
        *line = h->line[KEY_STORE];
        snprintf(bad, badlen, "%s", h->value[KEY_STORE]);
        if ((k = name_index(store_names, STORE_KIND_COUNT, h->value[KEY_STORE])) < 0)
            return "unknown store (known: docker)";
        out->store = (enum store_kind)k;
    }
    if (h->value[KEY_ACTION]) {
        *line = h->line[KEY_ACTION];
        snprintf(bad, badlen, "%s", h->value[KEY_ACTION]);
        if ((k = name_index(action_names, ACTION_COUNT, h->value[KEY_ACTION])) < 0)
            return "unknown action (known: reap, reap-include, repair, none)";
        out->action = (enum check_action)k;
    }
    bad[0] = '\0';
    *line = h->value[KEY_NEEDS] ? h->line[KEY_NEEDS] : 1;
    const char *why = h->value[KEY_NEEDS] ? parse_needs(h->value[KEY_NEEDS], &out->needs, bad, badlen) : NULL;
    return why ? why : check_needs(text, strict, &out->needs, bad, badlen);
}

int catalog_parse_check_strict(const char *source, const char *text, bool strict, struct check *out, char *err,
                               size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct header h = { 0 };
    read_header(text, &h);
    out->name = h.value[KEY_CHECK];
    out->meaning = h.value[KEY_MEANING];
    h.value[KEY_CHECK] = h.value[KEY_MEANING] = NULL;
    const char *sev = h.value[KEY_SEVERITY];
    const char *why = NULL;
    char bad[64] = "";
    int line = 1;
    if (!out->name)
        why = "header has no \"-- check: NAME\" line";
    else if (!valid_check_name(out->name))
        why = "check name must be kebab-case [a-z0-9-]";
    else if (!sev)
        why = "header has no \"-- severity: error|garbage|warning\" line";
    else if (severity_parse(sev, &out->default_severity) < 0 || out->default_severity == SEV_IGNORE) {
        why = "severity must be error, garbage or warning";
        line = h.line[KEY_SEVERITY];
    } else if (!out->meaning || !out->meaning[0])
        why = "header has no \"-- meaning: ...\" line (or it is empty)";
    else
        why = parse_declarations(&h, text, strict, out, &line, bad, sizeof bad);
    for (size_t k = 0; k <= KEY_ACTION; k++)
        free(h.value[k]);
    if (why) {
        if (bad[0])
            snprintf(err, errlen, "%s:%d: %s: %s", source, line, why, bad);
        else
            snprintf(err, errlen, "%s:%d: %s", source, line, why);
        check_clear(out);
        return -1;
    }
    out->severity = out->default_severity;
    out->sql = strdup(text);
    out->source = strdup(source);
    return 0;
}

int catalog_parse_check(const char *source, const char *text, struct check *out, char *err, size_t errlen)
{
    return catalog_parse_check_strict(source, text, false, out, err, errlen);
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
        if (catalog_parse_check_strict(f->name, f->text, true, &c, err, errlen) < 0)
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
