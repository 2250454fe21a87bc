/* report_text.c — the human report: findings grouped by severity then
 * check, checks that failed, totals, reclaimable bytes, dockerd liveness,
 * one summary line. Colour only on a terminal, never with NO_COLOR (any
 * non-empty value) or TERM=dumb; sizes human-readable unless --bytes. */
#include "report.h"
#include "text.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct style {
    const char *bold, *red, *yellow, *cyan, *off;
};

static struct style pick_style(FILE *out)
{
    static const struct style plain = { "", "", "", "", "" };
    static const struct style color = { "\033[1m", "\033[31m", "\033[33m", "\033[36m", "\033[0m" };
    const char *nc = getenv("NO_COLOR");
    const char *term = getenv("TERM");
    if ((nc && *nc) || (term && strcmp(term, "dumb") == 0))
        return plain;
    return isatty(fileno(out)) ? color : plain;
}

static const char *severity_color(const struct style *st, const char *sev)
{
    if (strcmp(sev, "error") == 0)
        return st->red;
    if (strcmp(sev, "garbage") == 0)
        return st->yellow;
    return st->cyan;
}

static const char *section_title(const char *sev)
{
    if (strcmp(sev, "error") == 0)
        return "ERRORS";
    if (strcmp(sev, "garbage") == 0)
        return "GARBAGE";
    return "WARNINGS";
}

static void print_header(FILE *out, const struct run_result *r, const struct style *st)
{
    char age[32];
    const struct scan_counts *c = &r->scanned;
    char *root = text_escape(r->root);
    fprintf(out, "%sovl2fsck%s %s\n", st->bold, st->off, root ? root : "");
    free(root);
    if (r->store == STORE_CONTAINERD) {
        char *how = text_escape(r->store_how ? r->store_how : "containerd root");
        fprintf(out, "  store: containerd (%s)\n", how ? how : "");
        free(how);
        fprintf(out, "  scanned: %ld namespaces, %ld images, %ld content records, %ld blob files, %ld snapshots, "
                     "%ld snapshot dirs, %ld containers, %ld leases, %ld ingests",
                c->cd_namespaces, c->cd_images, c->cd_blobs, c->cd_blob_files, c->cd_snapshots, c->cd_snapshot_dirs,
                c->cd_containers, c->cd_leases, c->cd_ingests);
        if (c->cd_sandboxes)
            fprintf(out, ", %ld sandboxes", c->cd_sandboxes);
        if (r->docker_root)
            fprintf(out, ", %ld Docker containers", c->containers);
        fprintf(out, "\n");
        if (r->docker_root)
            fprintf(out, "  dockerd: %s\n", r->live.running ? r->live.reason : "not running");
        fprintf(out, "  min-age: %s\n", text_duration(r->min_age, age, sizeof age));
        return;
    }
    fprintf(out, "  scanned: %ld images, %ld layers, %ld mounts, %ld containers, %ld overlay2 dirs, "
                 "%ld l/ links, %ld BuildKit snapshots\n",
            c->images, c->layers, c->mounts, c->containers, c->overlay_dirs, c->links, c->buildkit_snapshots);
    fprintf(out, "  dockerd: %s\n", r->live.running ? r->live.reason : "not running");
    fprintf(out, "  min-age: %s\n", text_duration(r->min_age, age, sizeof age));
}

static const char *check_meaning(const struct run_result *r, const char *name)
{
    for (size_t i = 0; r->catalog && i < r->catalog->count; i++)
        if (strcmp(r->catalog->checks[i].name, name) == 0)
            return r->catalog->checks[i].meaning;
    return "";
}

static int64_t count_of(struct db *db, const char *check)
{
    sqlite3_stmt *q;
    int64_t n = 0;
    if (sqlite3_prepare_v2(db->h, "SELECT count(*) FROM finding WHERE young = 0 AND check_name = ?1", -1, &q, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(q, 1, check, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(q) == SQLITE_ROW)
        n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return n;
}

static void print_finding(FILE *out, sqlite3_stmt *q, const struct options *o)
{
    char *obj = text_escape((const char *)sqlite3_column_text(q, 2));
    char *path = text_escape((const char *)sqlite3_column_text(q, 3));
    char *detail = text_escape((const char *)sqlite3_column_text(q, 4));
    int64_t bytes = sqlite3_column_int64(q, 5);
    char size[32] = "";
    if (strcmp((const char *)sqlite3_column_text(q, 1), "garbage") == 0) {
        char s[24];
        snprintf(size, sizeof size, " [%s]", text_size(bytes, o->exact_bytes, s, sizeof s));
    }
    fprintf(out, "    %s%s\n      %s: %s\n", obj ? obj : "", size, path ? path : "-", detail ? detail : "");
    free(obj);
    free(path);
    free(detail);
}

static void print_findings(FILE *out, struct db *db, const struct run_result *r, const struct options *o,
                           const struct style *st)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db->h, REPORT_FINDINGS_SQL, -1, &q, NULL) != SQLITE_OK)
        return;
    char last_sev[16] = "", last_check[128] = "";
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *check = (const char *)sqlite3_column_text(q, 0);
        const char *sev = (const char *)sqlite3_column_text(q, 1);
        if (strcmp(sev, last_sev) != 0) {
            char size[32];
            fprintf(out, "\n%s%s%s%s", st->bold, severity_color(st, sev), section_title(sev), st->off);
            if (strcmp(sev, "garbage") == 0)
                fprintf(out, " (%s reclaimable)", text_size(r->reclaimable, o->exact_bytes, size, sizeof size));
            fputc('\n', out);
            snprintf(last_sev, sizeof last_sev, "%s", sev);
            last_check[0] = '\0';
        }
        if (strcmp(check, last_check) != 0) {
            fprintf(out, "  %s%s%s (%lld): %s\n", st->bold, check, st->off, (long long)count_of(db, check),
                    check_meaning(r, check));
            snprintf(last_check, sizeof last_check, "%s", check);
        }
        print_finding(out, q, o);
    }
    sqlite3_finalize(q);
}

static size_t failure_count(const struct run_result *r)
{
    return r->checks ? r->checks->failure_count : 0;
}

/* Checks that could not load or run: by FILE[:LINE] and reason. */
static void print_failures(FILE *out, const struct run_result *r, const struct style *st)
{
    if (!failure_count(r))
        return;
    fprintf(out, "\n%s%sCHECK FAILURES%s (these checks did not run)\n", st->bold, st->red, st->off);
    for (size_t i = 0; i < r->checks->failure_count; i++) {
        char *src = text_escape(r->checks->failures[i].source);
        char *msg = text_escape(r->checks->failures[i].message);
        fprintf(out, "  %s: %s\n", src ? src : "", msg ? msg : "");
        free(src);
        free(msg);
    }
}

int report_text(FILE *out, struct db *db, const struct run_result *r, const struct options *o)
{
    struct style st = pick_style(out);
    size_t failed = failure_count(r);
    bool clean = !r->errors && !r->garbage && !r->warnings && !failed;
    if (!o->quiet)
        print_header(out, r, &st);
    print_findings(out, db, r, o, &st);
    print_failures(out, r, &st);
    if (o->quiet && clean)
        return 0;
    char size[32], failures[128] = "";
    int at = 0;
    if (r->skip_active)
        at = snprintf(failures, sizeof failures, ", %lld skipped by the skip list", (long long)r->skipped);
    if (failed)
        snprintf(failures + at, sizeof failures - (size_t)at, ", %zu check%s failed", failed, failed == 1 ? "" : "s");
    fprintf(out, "\n%ssummary%s: %lld error%s, %lld garbage (%s reclaimable), %lld warning%s, %lld young skipped"
                 "%s — exit %d\n",
            st.bold, st.off, (long long)r->errors, r->errors == 1 ? "" : "s", (long long)r->garbage,
            text_size(r->reclaimable, o->exact_bytes, size, sizeof size), (long long)r->warnings,
            r->warnings == 1 ? "" : "s", (long long)r->young_skipped, failures, result_exit_code(r));
    return ferror(out) ? -1 : 0;
}
