/* scan_images.c — image configs (imagedb/content), their metadata parents
 * (imagedb/metadata), .tmp-* leftovers and tags (repositories.json). */
#include "scan_internal.h"
#include "scan.h"
#include "ids.h"

#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IMAGEDB "image/overlay2/imagedb"

struct image_walk {
    struct scan *s;
    int dirfd;
    sqlite3_stmt *ins_image, *ins_layer, *ins_tmp, *ins_parent;
};

/* NULL when rootfs.diff_ids is well-formed (absent or null counts as no
 * layers, as for FROM-scratch images), else why not. */
static const char *diff_ids_error(const cJSON *cfg, char *why, size_t whylen)
{
    const cJSON *rootfs = cJSON_GetObjectItemCaseSensitive(cfg, "rootfs");
    if (!cJSON_IsObject(rootfs))
        return "no rootfs object";
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(rootfs, "diff_ids");
    if (ids && !cJSON_IsNull(ids) && !cJSON_IsArray(ids))
        return "rootfs.diff_ids is not an array";
    int idx = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, ids) {
        const char *v = cJSON_IsString(d) ? d->valuestring : NULL;
        if (!v || !id_is_digest(v, strlen(v))) {
            snprintf(why, whylen, "rootfs.diff_ids[%d] is not a sha256 digest", idx);
            return why;
        }
        idx++;
    }
    return NULL;
}

const char *scan_image_config_error(const cJSON *cfg, char *why, size_t whylen)
{
    if (!cfg)
        return "not valid JSON";
    if (!cJSON_IsObject(cfg))
        return "not a JSON object";
    return diff_ids_error(cfg, why, whylen);
}

/* Insert the image_layer rows of a config whose diff_ids are well-formed. */
static int insert_diff_ids(struct image_walk *w, const char *id, const cJSON *cfg)
{
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cfg, "rootfs"), "diff_ids");
    char chain[DIGEST_LEN + 1] = "";
    int idx = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, ids) {
        id_chain_id(idx ? chain : NULL, d->valuestring, chain);
        db_bind_borrowed(w->ins_layer, 1, id);
        db_bind_int(w->ins_layer, 2, idx);
        db_bind_borrowed(w->ins_layer, 3, d->valuestring);
        db_bind_borrowed(w->ins_layer, 4, chain + 7);
        if (scan_insert(w->s, w->ins_layer) < 0)
            return -1;
        idx++;
    }
    return 0;
}

static int insert_image(struct image_walk *w, const char *name, const struct file_buf *b,
                        const char *state, const char *error, const char *digest)
{
    sqlite3_stmt *st = w->ins_image;
    bool name_ok = id_is_hex64(name, strlen(name));
    db_bind_borrowed(st, 1, name);
    db_bind_int(st, 2, name_ok);
    db_bind_borrowed(st, 3, state);
    db_bind_borrowed(st, 4, error);
    db_bind_int(st, 5, digest && name_ok && strcmp(digest, name) == 0);
    db_bind_borrowed(st, 6, digest);
    db_bind_int(st, 7, (int64_t)b->st.st_size);
    db_bind_int(st, 8, (int64_t)b->st.st_mtime);
    return scan_insert(w->s, st);
}

static int scan_one_image(struct image_walk *w, const char *name)
{
    struct file_buf b;
    scan_read_file(w->s->ahead, w->dirfd, name, CAP_JSON_FILE, &b);
    if (b.status == FILE_MISSING)
        return 0;   /* vanished since listed: not corruption */
    char why[160] = "", digest[HEX64_LEN + 1];
    const char *state = ST_OK, *error = NULL;
    int rc = 0;
    if (b.status != FILE_OK) {
        state = ST_UNREADABLE;
        error = file_status_text(&b, why, sizeof why);
        return insert_image(w, name, &b, state, error, NULL);
    }
    enum scan_phase was = scan_phase(w->s, PHASE_PARSE);
    id_sha256_hex(b.data, b.len, digest);
    cJSON *cfg = cJSON_ParseWithLength(b.data, b.len);
    if ((error = scan_image_config_error(cfg, why, sizeof why)) != NULL) {
        state = ST_INVALID;
    } else if (insert_diff_ids(w, name, cfg) < 0) {
        cJSON_Delete(cfg);
        file_buf_free(&b);
        scan_phase(w->s, was);
        return -1;
    }
    cJSON_Delete(cfg);
    scan_phase(w->s, was);
    rc = insert_image(w, name, &b, state, error, digest);
    file_buf_free(&b);
    return rc;
}

static int insert_tmp(struct image_walk *w, const char *name)
{
    struct stat st;
    if (!fs_lstat(w->dirfd, name, &st))
        return 0;
    db_bind_text(w->ins_tmp, 1, name);
    db_bind_int(w->ins_tmp, 2, (int64_t)st.st_size);
    db_bind_int(w->ins_tmp, 3, (int64_t)st.st_mtime);
    return scan_insert(w->s, w->ins_tmp);
}

static int on_content_entry(void *ctx, const char *name, unsigned char d_type)
{
    (void)d_type;
    struct image_walk *w = ctx;
    if (scan_stopped(w->s))
        return 1;
    if (strncmp(name, ".tmp-", 5) == 0)
        return insert_tmp(w, name);
    return scan_one_image(w, name);
}

static int on_metadata_entry(void *ctx, const char *name, unsigned char d_type)
{
    (void)d_type;
    struct image_walk *w = ctx;
    int fd = fs_open_dir(w->dirfd, name);
    if (fd < 0)
        return 0;
    struct stat st;
    char *parent = NULL;
    const char *state = scan_read_id(w->s->ahead, fd, "parent", id_is_digest, true, &parent);
    int rc = 0;
    if (fstat(fd, &st) == 0 && strcmp(state, ST_MISSING) != 0) {
        db_bind_borrowed(w->ins_parent, 1, name);
        db_bind_borrowed(w->ins_parent, 2, parent);
        db_bind_borrowed(w->ins_parent, 3, state);
        db_bind_int(w->ins_parent, 4, (int64_t)st.st_mtime);
        rc = scan_insert(w->s, w->ins_parent);
    }
    free(parent);
    close(fd);
    return rc;
}

/* What the read-ahead pool reads for each entry of content/ and metadata/. */
static const struct pf_plan content_plan = { .kind = PF_FILE, .cap = CAP_JSON_FILE };
static const struct pf_plan metadata_plan = { .kind = PF_DIR_FILES, .files = { "parent" }, .cap = CAP_ID_FILE };

int scan_images(struct scan *s)
{
    struct image_walk w = { .s = s };
    struct db *db = s->db;
    int rc = -1;
    if (db_prepare(db, "INSERT OR REPLACE INTO image(id, name_ok, config_state, config_error, digest_ok, digest, size, mtime)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", &w.ins_image, s->err, sizeof s->err) < 0 ||
        db_prepare(db, "INSERT OR REPLACE INTO image_layer(image_id, idx, diff_id, chain_id) VALUES (?1, ?2, ?3, ?4)",
                   &w.ins_layer, s->err, sizeof s->err) < 0 ||
        db_prepare(db, "INSERT OR REPLACE INTO imagedb_tmp(name, size, mtime) VALUES (?1, ?2, ?3)",
                   &w.ins_tmp, s->err, sizeof s->err) < 0 ||
        db_prepare(db, "INSERT OR REPLACE INTO image_parent(image_id, parent, parent_state, mtime) VALUES (?1, ?2, ?3, ?4)",
                   &w.ins_parent, s->err, sizeof s->err) < 0)
        goto out;
    rc = scan_walk_ahead(s, IMAGEDB "/content/sha256", &w.dirfd, &content_plan, on_content_entry, &w);
    if (rc == 0)
        rc = scan_walk_ahead(s, IMAGEDB "/metadata/sha256", &w.dirfd, &metadata_plan, on_metadata_entry, &w);
out:
    sqlite3_finalize(w.ins_image);
    sqlite3_finalize(w.ins_layer);
    sqlite3_finalize(w.ins_tmp);
    sqlite3_finalize(w.ins_parent);
    return rc;
}

/* ---- repositories.json ---- */

static int insert_tag_file(struct scan *s, const char *state, const char *error, int64_t mtime)
{
    sqlite3_stmt *st;
    if (db_prepare(s->db, "INSERT INTO tag_file(path, state, error, mtime) VALUES (?1, ?2, ?3, ?4)", &st, s->err, sizeof s->err) < 0)
        return -1;
    db_bind_text(st, 1, "image/overlay2/repositories.json");
    db_bind_text(st, 2, state);
    db_bind_text(st, 3, error);
    db_bind_int(st, 4, mtime);
    int rc = scan_insert(s, st);
    sqlite3_finalize(st);
    return rc;
}

static int insert_tags(struct scan *s, const cJSON *repos)
{
    sqlite3_stmt *st;
    if (db_prepare(s->db, "INSERT OR REPLACE INTO tag(ref, repo, image_id, id_ok, raw_id) VALUES (?1, ?2, ?3, ?4, ?5)",
                   &st, s->err, sizeof s->err) < 0)
        return -1;
    int rc = 0;
    const cJSON *repo, *ref;
    cJSON_ArrayForEach(repo, repos) {
        cJSON_ArrayForEach(ref, repo) {
            const char *v = cJSON_IsString(ref) ? ref->valuestring : NULL;
            bool ok = v && id_is_digest(v, strlen(v));
            db_bind_borrowed(st, 1, ref->string);
            db_bind_borrowed(st, 2, repo->string);
            db_bind_borrowed(st, 3, ok ? v + 7 : NULL);
            db_bind_int(st, 4, ok);
            db_bind_borrowed(st, 5, v ? v : "(not a string)");
            if ((rc = scan_insert(s, st)) < 0)
                break;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

/* NULL when the document has the expected shape, else why not. */
static const char *tag_shape_error(const cJSON *doc)
{
    if (!cJSON_IsObject(doc))
        return "not a JSON object";
    const cJSON *repos = cJSON_GetObjectItemCaseSensitive(doc, "Repositories");
    if (!cJSON_IsObject(repos))
        return "no \"Repositories\" object";
    const cJSON *repo;
    cJSON_ArrayForEach(repo, repos) {
        if (!cJSON_IsObject(repo))
            return "a repository entry is not an object";
    }
    return NULL;
}

int scan_tags(struct scan *s)
{
    int fd = scan_open_path(s, "image/overlay2");
    if (fd < 0)
        return 0;
    struct file_buf b;
    fs_read_file(fd, "repositories.json", CAP_JSON_FILE, &b);
    close(fd);
    if (b.status == FILE_MISSING)
        return 0;
    char why[160];
    int rc;
    if (b.status != FILE_OK) {
        rc = insert_tag_file(s, ST_UNREADABLE, file_status_text(&b, why, sizeof why), (int64_t)b.st.st_mtime);
        file_buf_free(&b);
        return rc;
    }
    enum scan_phase was = scan_phase(s, PHASE_PARSE);
    cJSON *doc = cJSON_ParseWithLength(b.data, b.len);
    const char *shape = doc ? tag_shape_error(doc) : "not valid JSON";
    rc = insert_tag_file(s, shape ? ST_INVALID : ST_OK, shape, (int64_t)b.st.st_mtime);
    if (rc == 0 && !shape)
        rc = insert_tags(s, cJSON_GetObjectItemCaseSensitive(doc, "Repositories"));
    cJSON_Delete(doc);
    scan_phase(s, was);
    file_buf_free(&b);
    return rc;
}
