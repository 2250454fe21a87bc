/* floor.c — the honest lower bound for one core (issue 4): a single thread
 * that walks a Docker data root with nftw(FTW_PHYS), opens and reads every
 * metadata file a check of the store needs, and does nothing else (no
 * parsing, no hashing, no database).
 *
 *   floor ROOT       prints key=value lines: entries, files_read, bytes_read,
 *                    links_read, seconds
 *   floor --list ROOT  prints, instead of reading them, "F <path>" for each
 *                    file it would read and "L <path>" for each link (the
 *                    list the parallel floor, pfloor.c, reads cold)
 *
 * What it reads (paths relative to ROOT), mirroring src/scan*.c:
 *   image/overlay2/repositories.json
 *   image/overlay2/imagedb/content/sha256/<file>     (image configs, .tmp-...)
 *   image/overlay2/imagedb/metadata/sha256/<id>/parent
 *   image/overlay2/layerdb/{sha256,tmp}/<dir>/{diff,parent,cache-id,size}
 *   image/overlay2/layerdb/mounts/<id>/{mount-id,init-id,parent}
 *   containers/<id>/config.v2.json
 *   overlay2/<id>/{link,lower}; overlay2/l/<link> (readlink)
 *   buildkit/snapshots.db
 * Every other entry nftw meets is only lstat'ed by nftw itself (that covers
 * the scanner's lstat of diff/, work/, committed, merged/, tar-split.json.gz);
 * it never descends into overlay2/<id>/{diff,work,merged}/ nor into the
 * parts of the root the check ignores (containerd/, network/, volumes/ ...).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static uint64_t entries, files_read, bytes_read, links_read, errors;
static size_t root_len;
static char buf[1 << 16];
static bool list_only;   /* --list */

/* Reads the whole file; like the scanner, a short read of a regular file
 * whose size nftw already gave is taken as EOF (no extra read() for it). */
static void read_file(const char *path, const struct stat *st)
{
    if (list_only) {
        printf("F %s\n", path);
        files_read++;
        return;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOATIME);
    if (fd < 0 && errno == EPERM)
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        errors++;
        return;
    }
    size_t want = st->st_size >= 0 && (size_t)st->st_size < sizeof buf ? (size_t)st->st_size + 1 : sizeof buf;
    ssize_t n;
    while ((n = read(fd, buf, want)) > 0) {
        bytes_read += (uint64_t)n;
        if ((size_t)n < want)
            break;
        want = sizeof buf;
    }
    if (n < 0)
        errors++;
    close(fd);
    files_read++;
}

static bool is(const char *s, const char *a) { return strcmp(s, a) == 0; }
static bool is_one_of(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (is(s, *list))
            return true;
    return false;
}

/* Called for every entry, parents first; c[] holds the components of the
 * path below the root. */
static int visit(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    entries++;
    if (ftw->level == 0)
        return FTW_CONTINUE;
    const char *rel = path + root_len + 1;
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", rel);
    const char *c[8] = { 0 };
    int n = 0;
    char *save = NULL;
    for (char *p = strtok_r(tmp, "/", &save); p && n < 8; p = strtok_r(NULL, "/", &save))
        c[n++] = p;
    bool dir = flag == FTW_D || flag == FTW_DNR;
    const char *name = c[n - 1];

    if (is(c[0], "overlay2")) {
        if (n <= 2)
            return FTW_CONTINUE;   /* overlay2/, overlay2/<id>, overlay2/l: entered */
        if (n == 3 && is(c[1], "l")) {
            if (flag == FTW_SL) {
                char target[PATH_MAX];
                if (list_only)
                    printf("L %s\n", path);
                if (list_only || readlink(path, target, sizeof target) >= 0)
                    links_read++;
                else
                    errors++;
            }
            return dir ? FTW_SKIP_SUBTREE : FTW_CONTINUE;
        }
        if (n == 3) {
            if (dir)
                return FTW_SKIP_SUBTREE;   /* diff/, work/, merged/: lstat only */
            if (flag == FTW_F && (is(name, "link") || is(name, "lower")))
                read_file(path, st);
            return FTW_CONTINUE;
        }
        return dir ? FTW_SKIP_SUBTREE : FTW_CONTINUE;
    }
    if (is(c[0], "image")) {
        if (n >= 2 && !is(c[1], "overlay2"))
            return dir ? FTW_SKIP_SUBTREE : FTW_CONTINUE;
        if (n == 3 && is(name, "repositories.json") && flag == FTW_F) {
            read_file(path, st);
            return FTW_CONTINUE;
        }
        if (n >= 3 && is(c[2], "imagedb")) {
            if (n == 6 && is(c[3], "content") && flag == FTW_F)
                read_file(path, st);
            else if (n == 7 && is(c[3], "metadata") && is(name, "parent") && flag == FTW_F)
                read_file(path, st);
            return FTW_CONTINUE;
        }
        if (n >= 3 && is(c[2], "layerdb")) {
            static const char *const layer_files[] = { "diff", "parent", "cache-id", "size", NULL };
            static const char *const mount_files[] = { "mount-id", "init-id", "parent", NULL };
            if (n == 6 && flag == FTW_F && (is(c[3], "sha256") || is(c[3], "tmp")) && is_one_of(name, layer_files))
                read_file(path, st);
            else if (n == 6 && flag == FTW_F && is(c[3], "mounts") && is_one_of(name, mount_files))
                read_file(path, st);
            return n >= 6 && dir ? FTW_SKIP_SUBTREE : FTW_CONTINUE;
        }
        return FTW_CONTINUE;   /* distribution/: listed only */
    }
    if (is(c[0], "containers")) {
        if (n == 3 && is(name, "config.v2.json") && flag == FTW_F)
            read_file(path, st);
        return n >= 3 && dir ? FTW_SKIP_SUBTREE : FTW_CONTINUE;
    }
    if (is(c[0], "buildkit")) {
        if (n == 2 && is(name, "snapshots.db") && flag == FTW_F)
            read_file(path, st);
        return n >= 2 && dir ? FTW_SKIP_SUBTREE : FTW_CONTINUE;
    }
    /* containerd/, network/, plugins/, volumes/, tmp/, ...: not checked */
    return dir ? FTW_SKIP_SUBTREE : FTW_CONTINUE;
}

int main(int argc, char **argv)
{
    if (argc == 3 && is(argv[1], "--list")) {
        list_only = true;
        argv++;
        argc--;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: floor [--list] ROOT\n");
        return 2;
    }
    char root[PATH_MAX];
    if (!realpath(argv[1], root)) {
        fprintf(stderr, "floor: %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    root_len = strlen(root);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (nftw(root, visit, 32, FTW_PHYS | FTW_ACTIONRETVAL) < 0) {
        fprintf(stderr, "floor: nftw %s: %s\n", root, strerror(errno));
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (list_only)
        return errors ? 1 : 0;
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("entries=%llu\nfiles_read=%llu\nbytes_read=%llu\nlinks_read=%llu\nerrors=%llu\nseconds=%.3f\n",
           (unsigned long long)entries, (unsigned long long)files_read, (unsigned long long)bytes_read,
           (unsigned long long)links_read, (unsigned long long)errors, secs);
    return errors ? 1 : 0;
}
