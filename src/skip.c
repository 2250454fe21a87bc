/* skip.c — the per-object allow-list (see skip.h). */
#include "skip.h"
#include "grow.h"
#include "text.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SKIP_MAX_BYTES (16u * 1024 * 1024)

static const char *own_source(struct skip_list *l, const char *source)
{
    for (size_t i = 0; i < l->source_count; i++)
        if (strcmp(l->sources[i], source) == 0)
            return l->sources[i];
    char **v = grow_array(l->sources, &l->source_cap, l->source_count + 1, sizeof *v);
    if (!v)
        return NULL;
    l->sources = v;
    return (v[l->source_count] = strdup(source)) ? v[l->source_count++] : NULL;
}

int skip_list_add(struct skip_list *l, const char *check, const char *object, const char *source, int line)
{
    const char *src = own_source(l, source);
    struct skip_entry *v = src ? grow_array(l->v, &l->cap, l->n + 1, sizeof *v) : NULL;
    if (!v)
        return -1;
    l->v = v;
    struct skip_entry *e = &v[l->n];
    e->check = strdup(check);
    e->object = strdup(object);
    e->source = src;
    e->line = line;
    if (!e->check || !e->object) {
        free(e->check);
        free(e->object);
        return -1;
    }
    l->n++;
    return 0;
}

/* The words of one line (at most 3 counted); # starts a comment. */
static int split_words(char *s, char **w)
{
    char *hash = strchr(s, '#');
    if (hash)
        *hash = '\0';
    int n = 0;
    for (char *save = NULL, *t = strtok_r(s, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save))
        if (n < 3)
            w[n++] = t;
        else
            return 4;
    return n;
}

static int parse_lines(struct skip_list *l, const char *path, char *text, char *err, size_t errlen)
{
    int line = 0;
    for (char *save = NULL, *s = text; s; s = save) {
        char *nl = strchr(s, '\n');
        save = nl ? nl + 1 : NULL;
        if (nl)
            *nl = '\0';
        line++;
        char *w[3];
        int n = split_words(s, w);
        if (n == 0)
            continue;
        if (n != 2) {
            snprintf(err, errlen, "%s:%d: expected 'CHECK OBJECT' (%s)", path, line,
                     n == 1 ? "the object is missing" : "more than two words");
            return -1;
        }
        if (skip_list_add(l, w[0], w[1], path, line) < 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

int skip_list_read(struct skip_list *l, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "skip list %s: %s", path, strerror(errno));
        return -1;
    }
    char *text = malloc(SKIP_MAX_BYTES + 1);
    size_t n = text ? fread(text, 1, SKIP_MAX_BYTES + 1, f) : 0;
    bool bad = !text || ferror(f);
    fclose(f);
    int rc = -1;
    if (bad)
        snprintf(err, errlen, "skip list %s: cannot be read", path);
    else if (n > SKIP_MAX_BYTES)
        snprintf(err, errlen, "skip list %s: larger than 16 MiB", path);
    else if (memchr(text, '\0', n))
        snprintf(err, errlen, "skip list %s: contains a NUL byte (not a text file)", path);
    else {
        text[n] = '\0';
        rc = parse_lines(l, path, text, err, errlen);
    }
    free(text);
    return rc;
}

int skip_list_validate(const struct skip_list *l, struct catalog *cat, char *err, size_t errlen)
{
    for (size_t i = 0; i < l->n; i++)
        if (!catalog_find(cat, l->v[i].check)) {
            char *e = text_escape(l->v[i].check);
            snprintf(err, errlen, "%s:%d: unknown check '%s' (see --list-checks)", l->v[i].source, l->v[i].line,
                     e ? e : "?");
            free(e);
            return -1;
        }
    return 0;
}

int skip_list_apply(const struct skip_list *l, struct db *db, int64_t *skipped, char *err, size_t errlen)
{
    *skipped = 0;
    if (l->n == 0)
        return 0;
    sqlite3_stmt *ins;
    if (db_exec(db, "CREATE TEMP TABLE IF NOT EXISTS skip (check_name TEXT, object TEXT,"
                    " PRIMARY KEY (check_name, object)) WITHOUT ROWID;"
                    "CREATE TABLE IF NOT EXISTS finding_skipped AS SELECT * FROM finding WHERE 0;"
                    "BEGIN", err, errlen) < 0)
        return -1;
    if (db_prepare(db, "INSERT OR IGNORE INTO temp.skip VALUES (?1, ?2)", &ins, err, errlen) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < l->n && rc == 0; i++) {
        db_bind_text(ins, 1, l->v[i].check);
        db_bind_text(ins, 2, l->v[i].object);
        rc = db_step_reset(ins, err, errlen);
    }
    sqlite3_finalize(ins);
    if (rc == 0)
        rc = db_exec(db, "INSERT INTO finding_skipped SELECT * FROM finding"
                         " WHERE (check_name, object) IN (SELECT check_name, object FROM temp.skip);"
                         "DELETE FROM finding WHERE (check_name, object) IN (SELECT check_name, object FROM temp.skip);",
                     err, errlen);
    if (rc == 0)
        *skipped = db_query_int(db, "SELECT count(*) FROM finding_skipped", 0);
    if (rc == 0)
        return db_exec(db, "COMMIT", err, errlen);
    char ignore[256];
    db_exec(db, "ROLLBACK", ignore, sizeof ignore);
    return rc;
}

void skip_list_free(struct skip_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].check);
        free(l->v[i].object);
    }
    free(l->v);
    for (size_t i = 0; i < l->source_count; i++)
        free(l->sources[i]);
    free(l->sources);
    memset(l, 0, sizeof *l);
}
