/* scan_containers.c — containers/<id>/config.v2.json (id, image, driver,
 * name, and State.Dead / State.RemovalInProgress: a container dockerd was
 * removing when it stopped). */
#include "scan_internal.h"
#include "ids.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct container_walk {
    struct scan *s;
    int dirfd;
    sqlite3_stmt *ins;
};

static const char *json_string(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool state_flag(const cJSON *cfg, const char *key)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cfg, "State"), key));
}

static int on_container_entry(void *ctx, const char *name, unsigned char d_type)
{
    (void)d_type;
    struct container_walk *w = ctx;
    struct stat st;
    if (scan_stopped(w->s))
        return 1;
    if (!fs_lstat(w->dirfd, name, &st))
        return 0;
    const char *state = ST_UNREADABLE, *image = NULL, *driver = NULL, *cname = NULL;
    bool dead = false, removing = false;
    cJSON *cfg = NULL;
    struct file_buf b = { 0 };
    int fd = S_ISDIR(st.st_mode) ? fs_open_dir(w->dirfd, name) : -1;
    if (fd >= 0) {
        scan_read_file(w->s->ahead, fd, "config.v2.json", CAP_JSON_FILE, &b);
        close(fd);
        if (b.status == FILE_MISSING)
            state = ST_MISSING;
        else if (b.status == FILE_OK) {
            enum scan_phase was = scan_phase(w->s, PHASE_PARSE);
            cfg = cJSON_ParseWithLength(b.data, b.len);
            state = cJSON_IsObject(cfg) ? ST_OK : ST_INVALID;
            scan_phase(w->s, was);
        }
    }
    if (cJSON_IsObject(cfg)) {
        image = json_string(cfg, "Image");
        driver = json_string(cfg, "Driver");
        cname = json_string(cfg, "Name");
        dead = state_flag(cfg, "Dead");
        removing = state_flag(cfg, "RemovalInProgress");
        if (image && id_is_digest(image, strlen(image)))
            image += 7;
        else if (image && !id_is_hex64(image, strlen(image)))
            image = NULL;
    }
    int rc = 0;
    if (strcmp(state, ST_OK) == 0 || scan_still_there(w->dirfd, name, &st)) {
        size_t n = strlen(name);
        db_bind_text(w->ins, 1, name);
        db_bind_int(w->ins, 2, id_is_hex64(name, n));
        db_bind_text(w->ins, 3, state);
        db_bind_text(w->ins, 4, image);
        db_bind_text(w->ins, 5, driver);
        db_bind_text(w->ins, 6, cname);
        db_bind_int(w->ins, 7, dead);
        db_bind_int(w->ins, 8, removing);
        db_bind_int(w->ins, 9, (int64_t)st.st_mtime);
        rc = scan_insert(w->s, w->ins);
    }
    cJSON_Delete(cfg);
    file_buf_free(&b);
    return rc;
}

/* What the read-ahead pool reads for each entry of containers/. */
static const struct pf_plan container_plan = { .kind = PF_DIR_FILES, .files = { "config.v2.json" },
                                               .cap = CAP_JSON_FILE };

int scan_containers(struct scan *s)
{
    struct container_walk w = { .s = s };
    if (db_prepare(s->db, "INSERT OR REPLACE INTO container(id, name_ok, config_state, image, driver, name, dead,"
                          " removing, mtime) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)", &w.ins, s->err, sizeof s->err) < 0)
        return -1;
    int rc = scan_walk_ahead(s, "containers", &w.dirfd, &container_plan, on_container_entry, &w);
    sqlite3_finalize(w.ins);
    return rc;
}
