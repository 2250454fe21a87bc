/* reap_tags.c — edits of image/overlay2/repositories.json for
 * `--include image-layer-missing` and for --restore.
 *
 * Owns: the only write the reaper makes to a file it does not remove. The
 * file is replaced atomically the way dockerd writes it (a temp file in the
 * same dir, fsync, rename over, fsync the dir), keeping its mode and owner;
 * everything but the removed references is kept (cJSON keeps key order; a
 * repository left without references is dropped, as dockerd's reference
 * store does). */
#include "reap_internal.h"
#include "fsutil.h"
#include "ids.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int read_tags(int rootfd, struct file_buf *b, char *err, size_t errlen)
{
    const char *base;
    int dirfd = act_open_parent(rootfd, REAP_TAGS_PATH, &base);
    if (dirfd < 0) {
        b->status = FILE_MISSING;
        b->data = NULL;
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "cannot open image/overlay2: %s", strerror(errno));
        return -1;
    }
    fs_read_file(dirfd, base, CAP_JSON_FILE, b);
    close(dirfd);
    if (b->status == FILE_OK || b->status == FILE_MISSING)
        return 0;
    char why[128];
    snprintf(err, errlen, "%s: %s", REAP_TAGS_PATH, file_status_text(b, why, sizeof why));
    return -1;
}

static cJSON *parse_tags(const struct file_buf *b, cJSON **repos, char *err, size_t errlen)
{
    cJSON *doc = cJSON_ParseWithLength(b->data, b->len);
    *repos = cJSON_GetObjectItemCaseSensitive(doc, "Repositories");
    if (!cJSON_IsObject(*repos)) {
        snprintf(err, errlen, "%s is not the expected JSON shape", REAP_TAGS_PATH);
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

static bool names_image(const cJSON *v, const char *image)
{
    return cJSON_IsString(v) && strncmp(v->valuestring, "sha256:", 7) == 0 && strcmp(v->valuestring + 7, image) == 0;
}

int reap_tags_write_atomic(int rootfd, const char *relpath, const char *data, size_t len, char *err, size_t errlen)
{
    const char *base;
    int dirfd = act_open_parent(rootfd, relpath, &base);
    if (dirfd < 0) {
        snprintf(err, errlen, "cannot open the dir of %s: %s", relpath, strerror(errno));
        return -1;
    }
    int rc = act_write_atomic(dirfd, base, REAP_TAGS_TMP, data, len, 0600, err, errlen);
    close(dirfd);
    return rc;
}

static char *print_tags(const cJSON *doc, size_t *len)
{
    char *s = cJSON_PrintUnformatted(doc);
    *len = s ? strlen(s) : 0;
    return s;
}

void reap_tags_edit_free(struct reap_tags_edit *e)
{
    cJSON_Delete(e->removed);
    free(e->before);
    free(e->after);
    memset(e, 0, sizeof *e);
}

int reap_tags_prepare_untag(int rootfd, const char *image, struct reap_tags_edit *e, char *err, size_t errlen)
{
    memset(e, 0, sizeof *e);
    e->removed = cJSON_CreateObject();
    struct file_buf b;
    if (read_tags(rootfd, &b, err, errlen) < 0)
        return -1;
    if (b.status == FILE_MISSING)
        return 0;
    cJSON *repos;
    cJSON *doc = parse_tags(&b, &repos, err, errlen);
    if (!doc) {
        file_buf_free(&b);
        return -1;
    }
    cJSON *repo = repos->child;
    while (repo) {
        cJSON *next_repo = repo->next;
        cJSON *ref = repo->child;
        while (ref) {
            cJSON *next_ref = ref->next;
            if (names_image(ref, image)) {
                cJSON *dst = cJSON_GetObjectItemCaseSensitive(e->removed, repo->string);
                if (!dst)
                    dst = cJSON_AddObjectToObject(e->removed, repo->string);
                cJSON_AddItemToObject(dst, ref->string, cJSON_DetachItemViaPointer(repo, ref));
            }
            ref = next_ref;
        }
        if (!repo->child && cJSON_GetObjectItemCaseSensitive(e->removed, repo->string))
            cJSON_DeleteItemFromObjectCaseSensitive(repos, repo->string);
        repo = next_repo;
    }
    int rc = 0;
    if (e->removed->child) {
        e->after = print_tags(doc, &e->after_len);
        if (!e->after) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
        } else {
            id_sha256_hex(e->after, e->after_len, e->after_sha);
            id_sha256_hex(b.data, b.len, e->before_sha);
            e->before = b.data;
            e->before_len = b.len;
            b.data = NULL;
        }
    }
    file_buf_free(&b);
    cJSON_Delete(doc);
    return rc;
}

/* Insert key/value into obj before the first key that sorts after it
 * (dockerd writes keys sorted); the other keys keep their order. Done by
 * hand: cJSON 1.7.15's cJSON_InsertItemInArray refuses some positions. In
 * cJSON's lists the first element's prev is the last element. */
static void insert_sorted(cJSON *obj, const char *key, cJSON *value)
{
    cJSON *at = obj->child;
    while (at && strcmp(at->string, key) < 0)
        at = at->next;
    if (!at) {
        cJSON_AddItemToObject(obj, key, value);
        return;
    }
    value->string = act_strdup(key);
    value->next = at;
    value->prev = at->prev;
    if (at == obj->child)
        obj->child = value;
    else
        at->prev->next = value;
    at->prev = value;
}

static int merge_removed(cJSON *repos, const cJSON *removed, bool check_only, char *err, size_t errlen)
{
    const cJSON *repo, *ref;
    cJSON_ArrayForEach(repo, removed) {
        cJSON *dst = cJSON_GetObjectItemCaseSensitive(repos, repo->string);
        cJSON_ArrayForEach(ref, repo) {
            const cJSON *now = dst ? cJSON_GetObjectItemCaseSensitive(dst, ref->string) : NULL;
            if (now && !(cJSON_IsString(now) && cJSON_IsString(ref) && strcmp(now->valuestring, ref->valuestring) == 0)) {
                snprintf(err, errlen, "tag %s now names another image", ref->string);
                return -1;
            }
            if (now || check_only)
                continue;
            if (!dst) {
                dst = cJSON_CreateObject();
                insert_sorted(repos, repo->string, dst);
            }
            insert_sorted(dst, ref->string, cJSON_Duplicate(ref, 1));
        }
    }
    return 0;
}

int reap_tags_restore(int rootfd, const cJSON *removed, const char *before, size_t before_len,
                 const char *after_sha, bool check_only, char *err, size_t errlen)
{
    struct file_buf b;
    if (read_tags(rootfd, &b, err, errlen) < 0)
        return -1;
    if (b.status == FILE_OK && before) {
        char now[65], was[65];
        id_sha256_hex(b.data, b.len, now);
        id_sha256_hex(before, before_len, was);
        if (strcmp(now, was) == 0) {
            file_buf_free(&b);
            return 0;   /* the untag never reached the disk */
        }
    }
    if (b.status == FILE_OK && before && after_sha && after_sha[0]) {
        char now[65];
        id_sha256_hex(b.data, b.len, now);
        if (strcmp(now, after_sha) == 0) {
            file_buf_free(&b);
            /* untouched since we wrote it: the old bytes go back verbatim */
            return check_only ? 0 : reap_tags_write_atomic(rootfd, REAP_TAGS_PATH, before, before_len, err, errlen);
        }
    }
    cJSON *doc, *repos;
    if (b.status == FILE_OK) {
        doc = parse_tags(&b, &repos, err, errlen);
        if (!doc) {
            file_buf_free(&b);
            return -1;
        }
    } else {
        doc = cJSON_CreateObject();
        repos = cJSON_AddObjectToObject(doc, "Repositories");
    }
    file_buf_free(&b);
    int rc = merge_removed(repos, removed, check_only, err, errlen);
    if (rc == 0 && !check_only) {
        size_t len;
        char *out = print_tags(doc, &len);
        rc = out ? reap_tags_write_atomic(rootfd, REAP_TAGS_PATH, out, len, err, errlen) : -1;
        free(out);
    }
    cJSON_Delete(doc);
    return rc;
}
