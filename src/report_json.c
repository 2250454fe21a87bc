/* report_json.c — the --json rendering: one object on stdout (format
 * "version":1, documented in README.md), built with cJSON. */
#include "report.h"
#include "text.h"

#include <cJSON.h>
#include <stdlib.h>

static void add_escaped(cJSON *obj, const char *key, const unsigned char *s)
{
    if (!s) {
        cJSON_AddNullToObject(obj, key);
        return;
    }
    char *e = text_escape((const char *)s);
    cJSON_AddStringToObject(obj, key, e ? e : "");
    free(e);
}

static cJSON *scanned_object(const struct scan_counts *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "images", (double)c->images);
    cJSON_AddNumberToObject(o, "layers", (double)c->layers);
    cJSON_AddNumberToObject(o, "mounts", (double)c->mounts);
    cJSON_AddNumberToObject(o, "containers", (double)c->containers);
    cJSON_AddNumberToObject(o, "overlay_dirs", (double)c->overlay_dirs);
    cJSON_AddNumberToObject(o, "links", (double)c->links);
    cJSON_AddNumberToObject(o, "buildkit_snapshots", (double)c->buildkit_snapshots);
    return o;
}

static cJSON *containerd_scanned_object(const struct scan_counts *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "namespaces", (double)c->cd_namespaces);
    cJSON_AddNumberToObject(o, "images", (double)c->cd_images);
    cJSON_AddNumberToObject(o, "content_records", (double)c->cd_blobs);
    cJSON_AddNumberToObject(o, "blob_files", (double)c->cd_blob_files);
    cJSON_AddNumberToObject(o, "snapshots", (double)c->cd_snapshots);
    cJSON_AddNumberToObject(o, "snapshot_dirs", (double)c->cd_snapshot_dirs);
    cJSON_AddNumberToObject(o, "containers", (double)c->cd_containers);
    cJSON_AddNumberToObject(o, "leases", (double)c->cd_leases);
    cJSON_AddNumberToObject(o, "ingests", (double)c->cd_ingests);
    if (c->cd_sandboxes)
        cJSON_AddNumberToObject(o, "sandboxes", (double)c->cd_sandboxes);
    if (c->containers)
        cJSON_AddNumberToObject(o, "docker_containers", (double)c->containers);
    return o;
}

static cJSON *findings_array(struct db *db)
{
    cJSON *arr = cJSON_CreateArray();
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db->h, REPORT_FINDINGS_SQL, -1, &q, NULL) != SQLITE_OK)
        return arr;
    while (sqlite3_step(q) == SQLITE_ROW) {
        cJSON *f = cJSON_CreateObject();
        add_escaped(f, "check", sqlite3_column_text(q, 0));
        add_escaped(f, "severity", sqlite3_column_text(q, 1));
        add_escaped(f, "object", sqlite3_column_text(q, 2));
        add_escaped(f, "path", sqlite3_column_text(q, 3));
        add_escaped(f, "detail", sqlite3_column_text(q, 4));
        cJSON_AddNumberToObject(f, "bytes", (double)sqlite3_column_int64(q, 5));
        cJSON_AddItemToArray(arr, f);
    }
    sqlite3_finalize(q);
    return arr;
}

static cJSON *failures_array(const struct check_run *run)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; run && i < run->failure_count; i++) {
        cJSON *f = cJSON_CreateObject();
        add_escaped(f, "source", (const unsigned char *)run->failures[i].source);
        add_escaped(f, "error", (const unsigned char *)run->failures[i].message);
        cJSON_AddItemToArray(arr, f);
    }
    return arr;
}

int report_json(FILE *out, struct db *db, const struct run_result *r)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddNumberToObject(doc, "version", 1);
    add_escaped(doc, "root", (const unsigned char *)r->root);
    cJSON_AddStringToObject(doc, "store", store_kind_name(r->store));
    if (r->docker_root)
        add_escaped(doc, "docker_root", (const unsigned char *)r->docker_root);
    cJSON_AddBoolToObject(doc, "dockerd_running", r->live.running);
    cJSON_AddItemToObject(doc, "scanned", r->store == STORE_CONTAINERD ? containerd_scanned_object(&r->scanned)
                                                                       : scanned_object(&r->scanned));
    cJSON_AddItemToObject(doc, "findings", findings_array(db));
    cJSON *sum = cJSON_CreateObject();
    cJSON_AddNumberToObject(sum, "errors", (double)r->errors);
    cJSON_AddNumberToObject(sum, "garbage", (double)r->garbage);
    cJSON_AddNumberToObject(sum, "warnings", (double)r->warnings);
    cJSON_AddNumberToObject(sum, "young_skipped", (double)r->young_skipped);
    cJSON_AddNumberToObject(sum, "reclaimable_bytes", (double)r->reclaimable);
    if (r->skip_active)
        cJSON_AddNumberToObject(sum, "skipped", (double)r->skipped);
    cJSON_AddItemToObject(doc, "summary", sum);
    if (r->checks && r->checks->failure_count)
        cJSON_AddItemToObject(doc, "check_failures", failures_array(r->checks));
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (!text)
        return -1;
    int rc = fprintf(out, "%s\n", text) < 0 ? -1 : 0;
    free(text);
    return rc;
}
