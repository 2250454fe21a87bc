/* store_detect.c — tells what kind of store --root is, so that a root that
 * was not understood is never reported clean:
 *
 *   containerd root      ROOT/io.containerd.metadata.v1.bolt/meta.db
 *   Docker graphdriver   ROOT/image/overlay2 or ROOT/overlay2, an empty dir,
 *                        or Docker's own entries without a containerd store
 *   Docker on containerd no image/overlay2, and a container whose
 *                        config.v2.json names a snapshotter (Driver
 *                        "overlayfs"), or dockerd's own containerd root
 *                        ROOT/containerd/daemon with a meta.db, or what
 *                        only that store makes (rootfs/overlayfs, the
 *                        containers' mount points; buildkit's
 *                        history_c8d.db and containerd-overlayfs/): the
 *                        containerd root it used is checked (--containerd-root,
 *                        else ROOT/containerd/daemon when it has a meta.db,
 *                        else /var/lib/containerd), with ROOT/containers.
 *
 * --store docker|containerd overrides the guess. Only stat, readdir and the
 * first few container configs are read. */
#include "store.h"
#include "exit_codes.h"
#include "fsutil.h"

#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONTAINER_CONFIGS_READ 64   /* config.v2.json files read to tell the store */

/* Entries dockerd makes in its root (any of them: a Docker root). */
static const char *const docker_entries[] = {
    "image", "overlay2", "containers", "volumes", "buildkit", "network", "plugins", "runtimes",
    "swarm", "trust", "tmp", "tmp-old", "engine-id", "containerd", "vfs", "fuse-overlayfs",
};

static bool exists_at(const char *dir, const char *rel, mode_t type)
{
    char path[PATH_MAX + 128];
    struct stat st;
    if (snprintf(path, sizeof path, "%s/%s", dir, rel) >= (int)sizeof path || lstat(path, &st) != 0)
        return false;
    return type == 0 || (st.st_mode & S_IFMT) == type;
}

/* Of any type: a symlinked meta.db (never followed) or a dir in its place
 * still makes a containerd root, whose scan reports the file as
 * containerd-db-invalid instead of looking elsewhere. */
static bool has_meta_db(const char *dir)
{
    return exists_at(dir, CONTAINERD_META_DB, 0);
}

/* Does one of the first configs in ROOT/containers name a snapshotter? */
static bool containers_use_snapshotter(const char *root)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/containers", root);
    int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return false;
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return false;
    }
    bool found = false;
    int read_n = 0;
    struct dirent *e;
    while (!found && read_n < CONTAINER_CONFIGS_READ && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        int cfd = fs_open_dir(dirfd(d), e->d_name);
        if (cfd < 0)
            continue;
        struct file_buf b;
        fs_read_file(cfd, "config.v2.json", CAP_JSON_FILE, &b);
        close(cfd);
        if (b.status != FILE_OK)
            continue;
        read_n++;
        cJSON *j = cJSON_ParseWithLength(b.data, b.len);
        const cJSON *drv = cJSON_GetObjectItemCaseSensitive(j, "Driver");
        const cJSON *snap = cJSON_GetObjectItemCaseSensitive(j, "Snapshotter");
        found = (cJSON_IsString(drv) && strcmp(drv->valuestring, "overlayfs") == 0) ||
                (cJSON_IsString(snap) && snap->valuestring[0]);
        cJSON_Delete(j);
        file_buf_free(&b);
    }
    closedir(d);
    return found;
}

/* 1: empty, 0: not, -1: cannot list (errno). */
static int dir_is_empty(const char *root)
{
    DIR *d = opendir(root);
    if (!d)
        return -1;
    struct dirent *e;
    int empty = 1;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            empty = 0;
            break;
        }
    closedir(d);
    return empty;
}

/* Entries dockerd makes only on the containerd image store (Docker 28.5:
 * its containers' mount points, its BuildKit worker's). */
static const char *const containerd_store_entries[] = {
    "rootfs/overlayfs", "buildkit/history_c8d.db", "buildkit/containerd-overlayfs",
};

static const char *containerd_store_entry(const char *root)
{
    for (size_t i = 0; i < sizeof containerd_store_entries / sizeof containerd_store_entries[0]; i++)
        if (exists_at(root, containerd_store_entries[i], 0))
            return containerd_store_entries[i];
    return NULL;
}

static bool has_docker_entry(const char *root)
{
    for (size_t i = 0; i < sizeof docker_entries / sizeof docker_entries[0]; i++)
        if (exists_at(root, docker_entries[i], 0))
            return true;
    return false;
}

static int set_root(char *dst, const char *path, char *err, size_t errlen)
{
    if (!realpath(path, dst)) {
        snprintf(err, errlen, "cannot use containerd root %s: %s", path, strerror(errno));
        return EXIT_OPERATIONAL;
    }
    return 0;
}

/* A Docker root on the containerd image store: find the containerd root. */
static int docker_on_containerd(const char *root, const struct options *o, struct store_target *t, const char *why,
                                char *err, size_t errlen)
{
    char own[PATH_MAX + 32];
    snprintf(own, sizeof own, "%s/containerd/daemon", root);
    const char *cd = o->containerd_root ? o->containerd_root
                     : has_meta_db(own)  ? own
                                         : CONTAINERD_DEFAULT_ROOT;
    const char *whose = o->containerd_root ? "given by --containerd-root"
                        : cd == own        ? "dockerd's own containerd"
                                           : "the system containerd";
    if (!has_meta_db(cd)) {
        snprintf(err, errlen, "%s is a Docker root on the containerd image store (%s), but the containerd root "
                 "%s (%s) has no %s: give the containerd root Docker used with --containerd-root DIR",
                 root, why, cd, whose, CONTAINERD_META_DB);
        return EXIT_OPERATIONAL;
    }
    int rc = set_root(t->root, cd, err, errlen);
    if (rc)
        return rc;
    t->kind = STORE_CONTAINERD;
    snprintf(t->docker_root, sizeof t->docker_root, "%s", root);
    snprintf(t->how, sizeof t->how, "Docker root on the containerd image store (%s); checking %s's root %s",
             why, whose, t->root);
    return 0;
}

int store_detect(const char *root, const struct options *o, struct store_target *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    snprintf(t->root, sizeof t->root, "%s", root);
    bool graphdriver = exists_at(root, "image/overlay2", S_IFDIR) || exists_at(root, "overlay2", S_IFDIR);
    if (o->store == STORE_DOCKER) {
        t->kind = STORE_DOCKER;
        snprintf(t->how, sizeof t->how, "Docker graphdriver root (--store docker)");
        return 0;
    }
    if (has_meta_db(root)) {
        t->kind = STORE_CONTAINERD;
        snprintf(t->how, sizeof t->how, "containerd root%s", o->store == STORE_CONTAINERD ? " (--store containerd)" : "");
        return 0;
    }
    if (o->store == STORE_CONTAINERD)
        return docker_on_containerd(root, o, t, "--store containerd", err, errlen);
    if (!graphdriver) {
        char own[PATH_MAX + 32];
        snprintf(own, sizeof own, "%s/containerd/daemon", root);
        if (containers_use_snapshotter(root))
            return docker_on_containerd(root, o, t, "its containers name the overlayfs snapshotter", err, errlen);
        if (has_meta_db(own))
            return docker_on_containerd(root, o, t, "no image/overlay2, dockerd's own containerd root", err, errlen);
        const char *entry = containerd_store_entry(root);
        if (entry) {
            char why[128];
            snprintf(why, sizeof why, "no image/overlay2, and %s", entry);
            return docker_on_containerd(root, o, t, why, err, errlen);
        }
        if (o->containerd_root)
            return docker_on_containerd(root, o, t, "no image/overlay2, --containerd-root given", err, errlen);
    }
    t->kind = STORE_DOCKER;
    snprintf(t->how, sizeof t->how, "Docker graphdriver root");
    if (graphdriver || has_docker_entry(root))
        return 0;
    int empty = dir_is_empty(root);
    if (empty != 0)   /* empty, or unreadable: the scan says why */
        return 0;
    snprintf(err, errlen, "%s is not a store ovl2fsck knows: no image/overlay2 or overlay2/ (a Docker root), no %s "
             "(a containerd root), no containers/ on the containerd image store; give --store docker|containerd "
             "if it is one", root, CONTAINERD_META_DB);
    return EXIT_OPERATIONAL;
}
