/* catalog_dir.c — loads own checks from a directory of *.sql files. Each
 * file is parsed with the same header rules as the built-ins, then its SQL
 * is prepared once against an empty in-memory copy of the scan schema, so
 * that a typo is reported with its file and line before the scan starts.
 * Broken files are left out and recorded; the rest of the catalog runs. */
#include "catalog_dir.h"
#include "exit_codes.h"
#include "grow.h"
#include "embedded.h"
#include "opts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK_MAX_BYTES (1024 * 1024)

int check_run_add_failure(struct check_run *run, const char *source, const char *message)
{
    struct check_failure *v = grow_array(run->failures, &run->failure_cap, run->failure_count + 1, sizeof *v);
    if (!v)
        return -1;
    run->failures = v;
    v[run->failure_count].source = strdup(source);
    v[run->failure_count].message = strdup(message);
    if (!v[run->failure_count].source || !v[run->failure_count].message) {
        free(v[run->failure_count].source);
        free(v[run->failure_count].message);
        return -1;
    }
    run->failure_count++;
    return 0;
}

int check_run_add_all(struct check_run *dst, const struct check_run *src)
{
    for (size_t i = 0; i < src->failure_count; i++)
        if (check_run_add_failure(dst, src->failures[i].source, src->failures[i].message) < 0)
            return -1;
    return 0;
}

/* Record "path:line" (line > 0) or "path" with why. */
static int add_failure_at(struct check_run *failed, const char *path, int line, const char *why)
{
    char source[4096 + 32];
    if (line > 0)
        snprintf(source, sizeof source, "%s:%d", path, line);
    else
        snprintf(source, sizeof source, "%s", path);
    return check_run_add_failure(failed, source, why);
}

static bool wanted_name(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > 4 && strcmp(name + n - 4, ".sql") == 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* The sorted *.sql names in dir. Returns 0 or -1 with errno set. */
static int list_sql_files(const char *dir, char ***out, size_t *count)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int rc = 0;
    errno = 0;
    while ((de = readdir(d))) {
        if (!wanted_name(de->d_name))
            continue;
        char **v = grow_array(names, &cap, n + 1, sizeof *v);
        if (!v || !(v[n] = strdup(de->d_name))) {
            names = v ? v : names;
            rc = -1;
            errno = ENOMEM;
            break;
        }
        names = v;
        n++;
    }
    if (rc == 0 && errno)
        rc = -1;
    int saved = errno;
    closedir(d);
    if (rc < 0) {
        free_names(names, n);
        errno = saved;
        return -1;
    }
    if (n)
        qsort(names, n, sizeof *names, cmp_names);
    *out = names;
    *count = n;
    return 0;
}

/* Read a check file. Returns its text, or NULL with the reason in why. */
static char *read_check_file(const char *path, char *why, size_t whylen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        snprintf(why, whylen, "cannot read: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > CHECK_MAX_BYTES) {
        snprintf(why, whylen, "%s", S_ISREG(st.st_mode) ? "larger than 1 MiB" : "not a regular file");
        close(fd);
        return NULL;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (buf && got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (!buf || got != (size_t)st.st_size || memchr(buf, '\0', got)) {
        snprintf(why, whylen, "%s", !buf ? "out of memory" : got != (size_t)st.st_size ? "short read" :
                                                               "contains a NUL byte (not a text file)");
        free(buf);
        return NULL;
    }
    buf[got] = '\0';
    return buf;
}

/* Line number (1-based) of byte offset off in text. */
static int line_of_offset(const char *text, int off)
{
    int line = 1;
    for (int i = 0; i < off && text[i]; i++)
        if (text[i] == '\n')
            line++;
    return line;
}

static bool is_word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
}

/* The line where word first occurs as a whole word outside "--" comment
 * lines, or 0. */
static int line_of_word(const char *sql, const char *word)
{
    size_t wl = strlen(word);
    int line = 1;
    bool comment_line = strncmp(sql, "--", 2) == 0;
    for (const char *p = sql; wl && *p; p++) {
        if (*p == '\n') {
            line++;
            comment_line = strncmp(p + 1, "--", 2) == 0;
            continue;
        }
        if (!comment_line && strncasecmp(p, word, wl) == 0 && (p == sql || !is_word_char(p[-1])) &&
            !is_word_char(p[wl]))
            return line;
    }
    return 0;
}

/* The line of the last error on h within sql, or 0 when unknown. SQLite
 * gives an offset for syntax errors; for "no such table: X" and "no such
 * column: X" the line is where X first appears. */
static int error_line(sqlite3 *h, const char *sql)
{
#if SQLITE_VERSION_NUMBER >= 3038000
    int off = sqlite3_error_offset(h);
    if (off >= 0)
        return line_of_offset(sql, off);
#endif
    static const char *const prefixes[] = { "no such table: ", "no such column: ", "no such function: " };
    const char *msg = sqlite3_errmsg(h);
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t pl = strlen(prefixes[i]);
        if (strncmp(msg, prefixes[i], pl) == 0)
            return line_of_word(sql, msg + pl);
    }
    return 0;
}

static bool has_column(sqlite3_stmt *q, const char *name)
{
    for (int c = 0; c < sqlite3_column_count(q); c++)
        if (strcmp(sqlite3_column_name(q, c), name) == 0)
            return true;
    return false;
}

/* Anything but blanks after the first statement is a second statement
 * (or an error in one). Returns 0, or -1 with why and *line. */
static int check_rest(sqlite3 *h, const char *sql, const char *tail, int *line, char *why, size_t whylen)
{
    sqlite3_stmt *extra = NULL;
    tail += strspn(tail, " \t\r\n");
    if (!*tail)
        return 0;
    *line = line_of_offset(sql, (int)(tail - sql));
    if (sqlite3_prepare_v2(h, tail, -1, &extra, NULL) != SQLITE_OK) {
        snprintf(why, whylen, "SQL after the first statement: %s", sqlite3_errmsg(h));
        return -1;
    }
    sqlite3_finalize(extra);
    if (!extra)   /* only comments */
        return 0;
    snprintf(why, whylen, "more than one SQL statement (a check is one SELECT)");
    return -1;
}

/* Prepare sql on the schema database. Returns 0, or -1 with why and *line. */
static int validate_sql(sqlite3 *h, const char *sql, int *line, char *why, size_t whylen)
{
    sqlite3_stmt *q = NULL;
    const char *tail = NULL;
    *line = 0;
    if (sqlite3_prepare_v2(h, sql, -1, &q, &tail) != SQLITE_OK) {
        *line = error_line(h, sql);
        snprintf(why, whylen, "SQL: %s", sqlite3_errmsg(h));
        return -1;
    }
    int rc = -1;
    if (!q)
        snprintf(why, whylen, "no SQL statement after the header");
    else if (!sqlite3_stmt_readonly(q))
        snprintf(why, whylen, "a check must be a read-only SELECT");
    else if (!has_column(q, "object"))
        snprintf(why, whylen, "the query has no column named 'object'");
    else
        rc = check_rest(h, sql, tail ? tail : "", line, why, whylen);
    sqlite3_finalize(q);
    return rc;
}

/* An empty in-memory database with the scan schema, or NULL. */
static sqlite3 *open_schema_db(void)
{
    const struct embedded_file *schema = embedded_find("sql/schema.sql");
    sqlite3 *h = NULL;
    if (!schema || sqlite3_open_v2(":memory:", &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK ||
        sqlite3_exec(h, schema->text, NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_close(h);
        return NULL;
    }
    return h;
}

/* Split "source:LINE: why" (catalog_parse_check's message) into its parts. */
static int record_header_error(struct check_run *failed, const char *path, const char *msg)
{
    size_t pl = strlen(path);
    int line = 0;
    const char *why = msg;
    if (strncmp(msg, path, pl) == 0 && msg[pl] == ':') {
        char *end;
        long n = strtol(msg + pl + 1, &end, 10);
        if (end != msg + pl + 1 && end[0] == ':') {
            line = (int)n;
            why = end[1] == ' ' ? end + 2 : end + 1;
        }
    }
    return add_failure_at(failed, path, line, why);
}

/* Load one file. Returns 0 (loaded or recorded as failed), -1 out of memory. */
static int load_one(struct catalog *cat, sqlite3 *schema, const char *path, struct check_run *failed)
{
    char why[1024];
    char *text = read_check_file(path, why, sizeof why);
    if (!text)
        return add_failure_at(failed, path, 0, why);
    struct check c;
    int rc = catalog_parse_check(path, text, &c, why, sizeof why);
    if (rc < 0) {
        free(text);
        return record_header_error(failed, path, why);
    }
    int line = 0;
    struct check *same = catalog_find(cat, c.name);
    if (same) {
        snprintf(why, sizeof why, "check %s is already defined by %s", c.name, same->source);
        rc = -1;
    } else if (c.action != ACTION_NONE) {
        /* the reaper and repair have ways to act only on the built-in checks */
        snprintf(why, sizeof why, "action %s: an own check's findings are reported, never acted on (action: none)",
                 check_action_name(c.action));
        rc = -1;
    } else if (schema)
        rc = validate_sql(schema, text, &line, why, sizeof why);
    free(text);
    c.user = true;
    if (rc == 0 && catalog_add(cat, &c, why, sizeof why) == 0)
        return 0;
    free(c.name);
    free(c.meaning);
    free(c.sql);
    free(c.source);
    return add_failure_at(failed, path, line, why);
}

int catalog_load_dir(struct catalog *cat, const char *dir, bool required, struct check_run *failed, char *err,
                     size_t errlen)
{
    char **names = NULL;
    size_t n = 0;
    if (list_sql_files(dir, &names, &n) < 0) {
        int e = errno;
        if (e == ENOENT && !required)
            return 0;
        snprintf(err, errlen, "checks dir %s: %s", dir, strerror(e));
        return e == ENOENT || e == ENOTDIR ? EXIT_USAGE : EXIT_OPERATIONAL;
    }
    sqlite3 *schema = open_schema_db();
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char path[4096];
        size_t dl = strlen(dir);
        const char *sep = dl && dir[dl - 1] == '/' ? "" : "/";
        if ((size_t)snprintf(path, sizeof path, "%s%s%s", dir, sep, names[i]) >= sizeof path)
            rc = add_failure_at(failed, names[i], 0, "path too long");
        else
            rc = load_one(cat, schema, path, failed);
    }
    sqlite3_close(schema);
    free_names(names, n);
    if (rc < 0) {
        snprintf(err, errlen, "out of memory");
        return EXIT_OPERATIONAL;
    }
    return 0;
}
