/* config.c — reads the config file: one "key = value" per line, blank lines
 * and # comments (whole-line, or after whitespace at the end of a line),
 * no quoting. Keys: root, min-age, journal, prometheus, pidfile, checks-dir,
 * check.NAME. A later line for the same key wins. Every bad line is an
 * error with its FILE:LINE; good lines are kept so the caller still knows,
 * say, where to write the metrics of the failed run. */
#include "config.h"
#include "exit_codes.h"
#include "grow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CONFIG_MAX_BYTES (1024 * 1024)

/* A plain string key and the struct config member it fills. */
struct string_key {
    const char *key;
    size_t offset;
};

static const struct string_key string_keys[] = {
    { "root", offsetof(struct config, root) },
    { "journal", offsetof(struct config, journal) },
    { "prometheus", offsetof(struct config, prometheus) },
    { "pidfile", offsetof(struct config, pidfile) },
    { "checks-dir", offsetof(struct config, checks_dir) },
};

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Trim blanks at both ends of [*s, *e). */
static void trim(const char **s, const char **e)
{
    while (*s < *e && is_blank(**s))
        (*s)++;
    while (*e > *s && is_blank((*e)[-1]))
        (*e)--;
}

/* End of the meaningful part of a line: a '#' at its start or after a blank
 * begins a comment. */
static const char *comment_start(const char *s, const char *e)
{
    for (const char *p = s; p < e; p++)
        if (*p == '#' && (p == s || is_blank(p[-1])))
            return p;
    return e;
}

static int set_string(char **slot, const char *value)
{
    char *copy = strdup(value);
    if (!copy)
        return -1;
    free(*slot);
    *slot = copy;
    return 0;
}

static int set_check(struct config *cfg, const char *name, enum severity sev, int line)
{
    for (size_t i = 0; i < cfg->check_count; i++)
        if (strcmp(cfg->checks[i].name, name) == 0) {
            cfg->checks[i].severity = sev;
            cfg->checks[i].line = line;
            return 0;
        }
    struct config_check *v = grow_array(cfg->checks, &cfg->check_cap, cfg->check_count + 1, sizeof *v);
    if (!v)
        return -1;
    cfg->checks = v;
    if (!(v[cfg->check_count].name = strdup(name)))
        return -1;
    v[cfg->check_count].severity = sev;
    v[cfg->check_count].line = line;
    cfg->check_count++;
    return 0;
}

/* Apply one key/value. Returns 0, or -1 with the reason in why. */
static int set_key(struct config *cfg, const char *key, const char *value, int line, char *why, size_t whylen)
{
    for (size_t i = 0; i < sizeof string_keys / sizeof string_keys[0]; i++)
        if (strcmp(key, string_keys[i].key) == 0) {
            char **slot = (char **)((char *)cfg + string_keys[i].offset);
            if (set_string(slot, value) < 0) {
                snprintf(why, whylen, "out of memory");
                return -1;
            }
            return 0;
        }
    if (strcmp(key, "min-age") == 0) {
        if (parse_duration(value, &cfg->min_age) < 0) {
            snprintf(why, whylen, "min-age: '%s' is not a duration (e.g. 0, 90s, 30m, 24h, 7d)", value);
            return -1;
        }
        cfg->has_min_age = true;
        return 0;
    }
    if (strncmp(key, "check.", 6) == 0) {
        enum severity sev;
        if (!key[6]) {
            snprintf(why, whylen, "'check.' needs a check name (check.NAME = ignore|warning|error|garbage)");
            return -1;
        }
        if (severity_parse(value, &sev) < 0) {
            snprintf(why, whylen, "%s: '%s' is not ignore, warning, error or garbage", key, value);
            return -1;
        }
        if (set_check(cfg, key + 6, sev, line) < 0) {
            snprintf(why, whylen, "out of memory");
            return -1;
        }
        return 0;
    }
    if (strncmp(key, "skip.", 5) == 0) {
        if (!key[5] || strchr(value, ' ') || strchr(value, '\t')) {
            snprintf(why, whylen, "%s", !key[5] ? "'skip.' needs a check name (skip.CHECK = OBJECT)"
                                                : "skip.CHECK takes one object (one line per object)");
            return -1;
        }
        if (skip_list_add(&cfg->skips, key + 5, value, cfg->path ? cfg->path : "config", line) < 0) {
            snprintf(why, whylen, "out of memory");
            return -1;
        }
        return 0;
    }
    snprintf(why, whylen, "unknown key '%s' (known: root, min-age, journal, prometheus, pidfile, "
                          "checks-dir, check.NAME, skip.CHECK)", key);
    return -1;
}

/* Parse one line [s, e). Returns 0 (also for blank and comment lines), or -1
 * with the reason in why. */
static int parse_line(struct config *cfg, const char *s, const char *e, int line, char *why, size_t whylen)
{
    e = comment_start(s, e);
    trim(&s, &e);
    if (s == e)
        return 0;
    const char *eq = memchr(s, '=', (size_t)(e - s));
    if (!eq) {
        snprintf(why, whylen, "expected 'key = value'");
        return -1;
    }
    const char *ks = s, *ke = eq, *vs = eq + 1, *ve = e;
    trim(&ks, &ke);
    trim(&vs, &ve);
    char *key = strndup(ks, (size_t)(ke - ks));
    char *value = strndup(vs, (size_t)(ve - vs));
    int rc = -1;
    if (!key || !value)
        snprintf(why, whylen, "out of memory");
    else if (!*key)
        snprintf(why, whylen, "expected 'key = value' (the key is missing)");
    else if (!*value)
        snprintf(why, whylen, "%s needs a value", key);
    else
        rc = set_key(cfg, key, value, line, why, whylen);
    free(key);
    free(value);
    return rc;
}

int config_parse(const char *source, const char *text, struct config *cfg, FILE *errout, char *err, size_t errlen)
{
    int status = 0, line = 0;
    const char *p = text;
    if (!cfg->path && !(cfg->path = strdup(source))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    while (*p) {
        const char *nl = strchr(p, '\n');
        const char *e = nl ? nl : p + strlen(p);
        char why[512];
        line++;
        if (parse_line(cfg, p, e, line, why, sizeof why) < 0) {
            if (errout)
                fprintf(errout, "ovl2fsck: %s:%d: %s\n", source, line, why);
            if (status == 0)
                snprintf(err, errlen, "%s:%d: %s", source, line, why);
            status = -1;
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    return status;
}

/* Read a whole (small) file. Returns the text, or NULL with errno set
 * (EFBIG: too large, EINVAL: contains a NUL byte). */
static char *read_small_file(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    char *buf = malloc(CONFIG_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, CONFIG_MAX_BYTES + 1, f) : 0;
    int saved = buf ? (ferror(f) ? EIO : 0) : ENOMEM;
    fclose(f);
    if (!saved && n > CONFIG_MAX_BYTES)
        saved = EFBIG;
    if (!saved && memchr(buf, '\0', n))
        saved = EINVAL;
    if (saved) {
        free(buf);
        errno = saved;
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/* Open-and-read failures of the file itself (not of its lines). */
static int load_text(const char *path, bool required, char **text, char *err, size_t errlen)
{
    struct stat st;
    *text = NULL;
    if (stat(path, &st) < 0 && errno == ENOENT) {
        if (!required)
            return 0;
        snprintf(err, errlen, "config file %s: %s", path, strerror(ENOENT));
        return EXIT_USAGE;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "config file %s: is a directory", path);
        return EXIT_USAGE;
    }
    if (!(*text = read_small_file(path))) {
        int e = errno;
        if (e == EFBIG || e == EINVAL) {
            snprintf(err, errlen, "config file %s: %s", path,
                     e == EFBIG ? "larger than 1 MiB" : "contains a NUL byte (not a text file)");
            return EXIT_USAGE;
        }
        snprintf(err, errlen, "cannot read config file %s: %s", path, strerror(e));
        return EXIT_OPERATIONAL;
    }
    return 0;
}

int config_load(const char *path, bool required, struct config *cfg, FILE *errout, char *err, size_t errlen)
{
    char *text;
    int rc = load_text(path, required, &text, err, errlen);
    if (rc) {
        if (errout)
            fprintf(errout, "ovl2fsck: %s\n", err);
        return rc;
    }
    if (!text)
        return 0;
    rc = config_parse(path, text, cfg, errout, err, errlen);
    free(text);
    return rc < 0 ? EXIT_USAGE : 0;
}

void config_apply(const struct config *cfg, struct options *o)
{
    if (cfg->root && !(o->set_flags & OPTSET_ROOT))
        o->root = cfg->root;
    if (cfg->has_min_age && !(o->set_flags & OPTSET_MIN_AGE))
        o->min_age = cfg->min_age;
    if (cfg->journal && !(o->set_flags & OPTSET_JOURNAL))
        o->journal = cfg->journal;
    if (cfg->prometheus && !(o->set_flags & OPTSET_PROMETHEUS))
        o->prometheus = cfg->prometheus;
    if (cfg->pidfile && !(o->set_flags & OPTSET_PIDFILE))
        o->pidfile = cfg->pidfile;
    if (cfg->checks_dir && !(o->set_flags & OPTSET_CHECKS_DIR))
        o->checks_dir = cfg->checks_dir;
}

int config_apply_checks(const struct config *cfg, struct catalog *cat, bool tolerate_unknown, FILE *errout,
                        char *err, size_t errlen)
{
    int status = 0;
    for (size_t i = 0; i < cfg->check_count; i++) {
        const struct config_check *cc = &cfg->checks[i];
        struct check *c = catalog_find(cat, cc->name);
        if (c) {
            c->severity = cc->severity;
            continue;
        }
        if (tolerate_unknown) {
            if (errout)
                fprintf(errout, "ovl2fsck: %s:%d: unknown check '%s' (ignored: a check in the checks dir "
                                "failed to load)\n", cfg->path, cc->line, cc->name);
            continue;
        }
        if (errout)
            fprintf(errout, "ovl2fsck: %s:%d: unknown check '%s' (see --list-checks)\n", cfg->path, cc->line,
                    cc->name);
        if (status == 0)
            snprintf(err, errlen, "%s:%d: unknown check '%s' (see --list-checks)", cfg->path, cc->line, cc->name);
        status = -1;
    }
    return status;
}

void config_free(struct config *cfg)
{
    free(cfg->path);
    free(cfg->root);
    free(cfg->journal);
    free(cfg->prometheus);
    free(cfg->pidfile);
    free(cfg->checks_dir);
    for (size_t i = 0; i < cfg->check_count; i++)
        free(cfg->checks[i].name);
    free(cfg->checks);
    skip_list_free(&cfg->skips);
    memset(cfg, 0, sizeof *cfg);
}
