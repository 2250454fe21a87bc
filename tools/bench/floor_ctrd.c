/* floor_ctrd.c — the lower bound for one core on a containerd root (issue
 * 15): a single thread that reads every file and bbolt page the check of a
 * containerd root needs, and does nothing else (no bbolt walk, no JSON, no
 * database, no hashing).
 *
 *   floor_ctrd ROOT   prints key=value lines: entries, files_read,
 *                     bytes_read, seconds
 *
 * What it reads (paths relative to ROOT), mirroring src/scan_containerd*.c:
 *   io.containerd.metadata.v1.bolt/meta.db                  whole
 *   io.containerd.snapshotter.v1.overlayfs/metadata.db      whole
 *   .../snapshots/: readdir, lstat of each entry, of its fs and work
 *   io.containerd.content.v1.content/blobs/sha256/: readdir, lstat of each
 *   .../ingest/: readdir, lstat of each, its ref and total read, data and
 *                updatedat lstat'ed
 *   the image configs: every blob a containerd.io/gc.ref.content.config
 *   label names, found by a byte search of meta.db (a label's key and value
 *   sit side by side in a leaf page), each read whole.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define META_DB "io.containerd.metadata.v1.bolt/meta.db"
#define SNAP_DB "io.containerd.snapshotter.v1.overlayfs/metadata.db"
#define SNAPSHOTS "io.containerd.snapshotter.v1.overlayfs/snapshots"
#define BLOBS "io.containerd.content.v1.content/blobs/sha256"
#define INGEST "io.containerd.content.v1.content/ingest"
#define CONFIG_LABEL "containerd.io/gc.ref.content.config"

static uint64_t entries, files_read, bytes_read, errors;
static char chunk[1 << 16];

/* Reads dirfd/name whole; with keep, returns the bytes (caller frees). */
static char *read_at(int dirfd, const char *name, size_t *len, int keep)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        errors++;
        return NULL;
    }
    struct stat st;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    if (keep && fstat(fd, &st) == 0 && st.st_size > 0) {
        cap = (size_t)st.st_size + 1;
        buf = malloc(cap);
    }
    for (;;) {
        char *dst = keep && buf ? buf + n : chunk;
        size_t room = keep && buf ? cap - n : sizeof chunk;
        if (room == 0)
            break;
        ssize_t r = read(fd, dst, room);
        if (r <= 0)
            break;
        n += (size_t)r;
        bytes_read += (uint64_t)r;
    }
    close(fd);
    files_read++;
    if (len)
        *len = n;
    return buf;
}

static int open_dir(int dirfd, const char *rel)
{
    return openat(dirfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
}

/* Calls fn(dirfd, name) for every entry of root/rel but . and .. */
static void list(int rootfd, const char *rel, void (*fn)(int, const char *))
{
    int fd = open_dir(rootfd, rel);
    if (fd < 0)
        return;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        entries++;
        fn(dirfd(d), e->d_name);
    }
    closedir(d);
}

static void on_snapshot(int dirfd, const char *name)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
        return;
    int fd = open_dir(dirfd, name);
    if (fd < 0)
        return;
    fstatat(fd, "fs", &st, AT_SYMLINK_NOFOLLOW);
    fstatat(fd, "work", &st, AT_SYMLINK_NOFOLLOW);
    close(fd);
}

static void on_blob(int dirfd, const char *name)
{
    struct stat st;
    fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW);
}

static void on_ingest(int dirfd, const char *name)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
        return;
    int fd = open_dir(dirfd, name);
    if (fd < 0)
        return;
    read_at(fd, "ref", NULL, 0);
    read_at(fd, "total", NULL, 0);
    fstatat(fd, "data", &st, AT_SYMLINK_NOFOLLOW);
    fstatat(fd, "updatedat", &st, AT_SYMLINK_NOFOLLOW);
    close(fd);
}

/* Every "<CONFIG_LABEL>sha256:<64 hex>" in meta.db: read that blob. */
static void read_configs(int rootfd, const char *meta, size_t len)
{
    int blobs = open_dir(rootfd, BLOBS);
    if (blobs < 0)
        return;
    size_t kl = strlen(CONFIG_LABEL);
    const char *p = meta, *end = meta + len;
    while ((p = memmem(p, (size_t)(end - p), CONFIG_LABEL, kl)) != NULL) {
        p += kl;
        if (end - p >= 71 && memcmp(p, "sha256:", 7) == 0) {
            char hex[65];
            memcpy(hex, p + 7, 64);
            hex[64] = '\0';
            read_at(blobs, hex, NULL, 0);
        }
    }
    close(blobs);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: floor_ctrd ROOT\n");
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rootfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) {
        perror(argv[1]);
        return 1;
    }
    size_t mlen = 0;
    char *meta = read_at(rootfd, META_DB, &mlen, 1);
    free(read_at(rootfd, SNAP_DB, NULL, 1));
    list(rootfd, SNAPSHOTS, on_snapshot);
    list(rootfd, BLOBS, on_blob);
    list(rootfd, INGEST, on_ingest);
    if (meta)
        read_configs(rootfd, meta, mlen);
    free(meta);
    close(rootfd);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("entries=%llu\nfiles_read=%llu\nbytes_read=%llu\nerrors=%llu\nseconds=%.3f\n",
           (unsigned long long)entries, (unsigned long long)files_read, (unsigned long long)bytes_read,
           (unsigned long long)errors,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    return 0;
}
