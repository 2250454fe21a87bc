/* prometheus.c — the node_exporter textfile-collector file: collects what a
 * run found into a struct prom_run, renders it in the text exposition
 * format (one HELP and TYPE per metric, ending in a newline) and replaces
 * the file atomically: a temp file in the same dir (not ending in .prom, so
 * the collector ignores it), fsync, chmod 0644, rename, fsync of the dir.
 * When the run failed, the last success time is read back from the old
 * file so it survives. */
#include "prometheus.h"
#include "exit_codes.h"
#include "grow.h"
#include "text.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Test hook: when this variable is set the process kills itself (SIGKILL)
 * after the temp file is complete and before the rename, to prove that an
 * interrupted write leaves the old file whole. */
#define PROM_CRASH_ENV "OVL2FSCK_TEST_PROM_CRASH"

#define PROM_READ_MAX (1024 * 1024)

static const char *const LAST_SUCCESS = "ovl2fsck_last_success_timestamp_seconds";

bool prom_exit_is_success(int exit_code)
{
    return (exit_code & ~(EXIT_FIXED | EXIT_FOUND)) == 0;
}

/* ---- collecting ---------------------------------------------------------- */

static int64_t count_findings(struct db *db, const char *check)
{
    sqlite3_stmt *q;
    int64_t n = 0;
    if (sqlite3_prepare_v2(db->h, "SELECT count(*) FROM finding WHERE young = 0 AND check_name = ?1", -1, &q,
                           NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(q, 1, check, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(q) == SQLITE_ROW)
        n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return n;
}

int prom_collect_result(struct prom_run *m, struct db *db, const struct run_result *r)
{
    const struct catalog *cat = r->catalog;
    size_t n = 0;
    m->findings = calloc(cat && cat->count ? cat->count : 1, sizeof *m->findings);
    if (!m->findings)
        return -1;
    for (size_t i = 0; cat && i < cat->count; i++) {
        const struct check *c = &cat->checks[i];
        if (c->severity == SEV_IGNORE)
            continue;
        if (!(m->findings[n].check = strdup(c->name)))
            return -1;
        m->findings[n].severity = severity_name(c->severity);
        m->findings[n].count = count_findings(db, c->name);
        m->finding_count = ++n;
    }
    m->scanned = r->scanned;
    m->reclaimable = r->reclaimable;
    m->young_skipped = r->young_skipped;
    m->skipped = r->skipped;
    m->dockerd_running = r->live.running;
    m->have_result = true;
    return 0;
}

int prom_collect_failures(struct prom_run *m, const struct check_run *failures)
{
    for (size_t i = 0; failures && i < failures->failure_count; i++) {
        char **v = grow_array(m->failed, &m->failed_cap, m->failed_count + 1, sizeof *v);
        if (!v)
            return -1;
        m->failed = v;
        if (!(v[m->failed_count] = strdup(failures->failures[i].source)))
            return -1;
        m->failed_count++;
    }
    return 0;
}

void prom_free(struct prom_run *m)
{
    for (size_t i = 0; i < m->finding_count; i++)
        free(m->findings[i].check);
    free(m->findings);
    for (size_t i = 0; i < m->failed_count; i++)
        free(m->failed[i]);
    free(m->failed);
    m->findings = NULL;
    m->failed = NULL;
    m->finding_count = m->failed_count = 0;
}

/* ---- rendering ----------------------------------------------------------- */

char *prom_escape_label(const char *s)
{
    char *printable = text_escape(s);   /* control bytes, bad UTF-8 -> \xNN */
    if (!printable)
        return NULL;
    char *out = malloc(strlen(printable) * 2 + 1), *w = out;
    for (const char *p = printable; out && *p; p++) {
        if (*p == '\\' || *p == '"')
            *w++ = '\\';
        if (*p == '\n') {
            *w++ = '\\';
            *w++ = 'n';
        } else
            *w++ = *p;
    }
    if (out)
        *w = '\0';
    free(printable);
    return out;
}

static void header(FILE *out, const char *name, const char *help)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static void render_findings(FILE *out, const struct prom_run *m)
{
    header(out, "ovl2fsck_findings",
           "Findings of the last run by check and effective severity (young objects not counted).");
    for (size_t i = 0; i < m->finding_count; i++) {
        char *check = prom_escape_label(m->findings[i].check);
        fprintf(out, "ovl2fsck_findings{check=\"%s\",severity=\"%s\"} %lld\n", check ? check : "",
                m->findings[i].severity, (long long)m->findings[i].count);
        free(check);
    }
}

static void render_objects(FILE *out, const struct prom_run *m)
{
    const struct scan_counts *c = &m->scanned;
    const struct {
        const char *kind;
        long n;
    } kinds[] = {
        { "images", c->images }, { "layers", c->layers }, { "mounts", c->mounts },
        { "containers", c->containers }, { "overlay_dirs", c->overlay_dirs }, { "links", c->links },
        { "buildkit_snapshots", c->buildkit_snapshots },
    };
    header(out, "ovl2fsck_objects", "Objects scanned in the last run, by kind.");
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        fprintf(out, "ovl2fsck_objects{kind=\"%s\"} %ld\n", kinds[i].kind, kinds[i].n);
}

static void render_result(FILE *out, const struct prom_run *m)
{
    render_findings(out, m);
    header(out, "ovl2fsck_reclaimable_bytes", "Bytes the garbage findings of the last run occupy.");
    fprintf(out, "ovl2fsck_reclaimable_bytes %lld\n", (long long)m->reclaimable);
    render_objects(out, m);
    header(out, "ovl2fsck_young_skipped", "Findings skipped because the objects are younger than --min-age.");
    fprintf(out, "ovl2fsck_young_skipped %lld\n", (long long)m->young_skipped);
    header(out, "ovl2fsck_findings_skipped", "Findings the skip list accepted (skip.CHECK, --skip-list).");
    fprintf(out, "ovl2fsck_findings_skipped %lld\n", (long long)m->skipped);
    header(out, "ovl2fsck_dockerd_running", "1 when dockerd looked live on the root during the last run.");
    fprintf(out, "ovl2fsck_dockerd_running %d\n", m->dockerd_running ? 1 : 0);
}

static void render_failures(FILE *out, const struct prom_run *m)
{
    header(out, "ovl2fsck_check_failures", "Checks that failed to load or run in the last run.");
    fprintf(out, "ovl2fsck_check_failures %zu\n", m->failed_count);
    if (!m->failed_count)
        return;
    header(out, "ovl2fsck_check_failed", "1 for each check file that failed to load or run (FILE or FILE:LINE).");
    for (size_t i = 0; i < m->failed_count; i++) {
        char *src = prom_escape_label(m->failed[i]);
        fprintf(out, "ovl2fsck_check_failed{source=\"%s\"} 1\n", src ? src : "");
        free(src);
    }
}

int prom_render(FILE *out, const struct prom_run *m)
{
    if (m->have_result)
        render_result(out, m);
    render_failures(out, m);
    header(out, "ovl2fsck_duration_seconds", "Wall-clock duration of the last run.");
    fprintf(out, "ovl2fsck_duration_seconds %.3f\n", m->duration);
    header(out, "ovl2fsck_last_run_timestamp_seconds", "When the last run ended (Unix time).");
    fprintf(out, "ovl2fsck_last_run_timestamp_seconds %lld\n", (long long)m->now);
    header(out, LAST_SUCCESS, "When a run last ended without an operational error (Unix time; 0 = never).");
    fprintf(out, "%s %lld\n", LAST_SUCCESS, (long long)m->last_success);
    header(out, "ovl2fsck_exit_code", "Exit status of the last run (fsck-style bits: 4 found, 8 operational, "
                                      "16 usage, 32 interrupted).");
    fprintf(out, "ovl2fsck_exit_code %d\n", m->exit_code);
    return ferror(out) ? -1 : 0;
}

/* ---- the old file -------------------------------------------------------- */

/* The value of an unlabelled sample line "NAME VALUE[ TS]", or -1. */
static int64_t sample_value(const char *line, const char *name)
{
    size_t nl = strlen(name);
    if (strncmp(line, name, nl) != 0 || (line[nl] != ' ' && line[nl] != '\t'))
        return -1;
    char *end;
    errno = 0;
    double v = strtod(line + nl + 1, &end);
    if (errno || end == line + nl + 1 || !isfinite(v) || v < 0 || v > 1e15)
        return -1;
    return (int64_t)v;
}

int64_t prom_read_last_success(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    char line[512];
    int64_t found = 0;
    size_t total = 0;
    while (total < PROM_READ_MAX && fgets(line, sizeof line, f)) {
        total += strlen(line);
        int64_t v = sample_value(line, LAST_SUCCESS);
        if (v >= 0)
            found = v;
    }
    fclose(f);
    return found;
}

/* ---- the atomic write ---------------------------------------------------- */

/* Split path into its dir ("." when none) and base name. */
static int split_path(const char *path, char *dir, size_t dirlen, const char **base)
{
    const char *slash = strrchr(path, '/');
    *base = slash ? slash + 1 : path;
    if (!**base)
        return -1;
    if (!slash)
        snprintf(dir, dirlen, ".");
    else if (slash == path)
        snprintf(dir, dirlen, "/");
    else if ((size_t)(slash - path) >= dirlen)
        return -1;
    else
        snprintf(dir, dirlen, "%.*s", (int)(slash - path), path);
    return 0;
}

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Write m into the already created temp file fd (closed on return). */
static int write_temp(int fd, const struct prom_run *m, char *err, size_t errlen, const char *tmp)
{
    FILE *f = fdopen(fd, "w");
    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        close(fd);
        return -1;
    }
    int rc = prom_render(f, m);
    if (rc == 0 && fflush(f) != 0)
        rc = -1;
    if (rc == 0 && (fchmod(fd, 0644) < 0 || fsync(fd) < 0))
        rc = -1;
    int saved = errno;
    if (fclose(f) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc < 0)
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(saved));
    return rc;
}

int prom_write_file(const char *path, struct prom_run *m, char *err, size_t errlen)
{
    char dir[PATH_MAX], tmp[PATH_MAX + 64];
    const char *base;
    if (split_path(path, dir, sizeof dir, &base) < 0) {
        snprintf(err, errlen, "--prometheus %s: not a file path", path);
        return -1;
    }
    m->last_success = prom_exit_is_success(m->exit_code) ? m->now : prom_read_last_success(path);
    snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, base);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create a temp file in %s for %s: %s", dir, path, strerror(errno));
        return -1;
    }
    if (write_temp(fd, m, err, errlen, tmp) < 0) {
        unlink(tmp);
        return -1;
    }
    if (getenv(PROM_CRASH_ENV))
        raise(SIGKILL);
    if (rename(tmp, path) < 0) {
        snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    fsync_dir(dir);
    return 0;
}
