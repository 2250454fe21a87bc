/* pfloor.c — the parallel-read floor of a cold check (issue 19): what the
 * disk gives when every file the check needs is read by N threads at once
 * from a list made beforehand (`floor --list ROOT`), with no directory
 * listing, parsing, hashing or database.
 *
 *   pfloor [-j N] LIST   LIST: "F <path>" (open + read) and "L <path>"
 *                        (readlink) lines; N threads (default 64) take the
 *                        lines in order. Prints key=value lines: files_read,
 *                        bytes_read, links_read, errors, threads, seconds.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char **lines;
static size_t nlines;
static size_t next_line;   /* taken with __atomic_fetch_add */
static uint64_t files_read, bytes_read, links_read, errors;

/* Open and read path to its end (the same flags as the floor and the scanner). */
static void read_path(const char *path, char *buf, size_t buflen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOATIME);
    if (fd < 0 && errno == EPERM)
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        __atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
        return;
    }
    ssize_t n;
    uint64_t got = 0;
    while ((n = read(fd, buf, buflen)) > 0)
        got += (uint64_t)n;
    if (n < 0)
        __atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
    close(fd);
    __atomic_fetch_add(&bytes_read, got, __ATOMIC_RELAXED);
    __atomic_fetch_add(&files_read, 1, __ATOMIC_RELAXED);
}

static void *reader(void *arg)
{
    (void)arg;
    char *buf = malloc(1 << 16);
    char target[PATH_MAX];
    if (!buf)
        return NULL;
    for (;;) {
        size_t i = __atomic_fetch_add(&next_line, 1, __ATOMIC_RELAXED);
        if (i >= nlines)
            break;
        const char *l = lines[i];
        if (l[0] == 'L') {
            if (readlink(l + 2, target, sizeof target) >= 0)
                __atomic_fetch_add(&links_read, 1, __ATOMIC_RELAXED);
            else
                __atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
        } else {
            read_path(l + 2, buf, 1 << 16);
        }
    }
    free(buf);
    return NULL;
}

static int load_list(const char *file)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return -1;
    size_t cap = 0;
    char *line = NULL;
    size_t len = 0;
    ssize_t n;
    while ((n = getline(&line, &len, f)) > 0) {
        if (line[n - 1] == '\n')
            line[n - 1] = '\0';
        if (strlen(line) < 3)
            continue;
        if (nlines == cap) {
            cap = cap ? cap * 2 : 4096;
            char **v = realloc(lines, cap * sizeof *lines);
            if (!v)
                return -1;
            lines = v;
        }
        if (!(lines[nlines++] = strdup(line)))
            return -1;
    }
    free(line);
    fclose(f);
    return 0;
}

int main(int argc, char **argv)
{
    int threads = 64;
    if (argc == 4 && strcmp(argv[1], "-j") == 0) {
        threads = atoi(argv[2]);
        argv += 2;
        argc -= 2;
    }
    if (argc != 2 || threads < 1 || threads > 1024) {
        fprintf(stderr, "usage: pfloor [-j N] LIST\n");
        return 2;
    }
    if (load_list(argv[1]) < 0) {
        fprintf(stderr, "pfloor: %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    int started = 0;
    for (int i = 0; tid && i < threads; i++)
        if (pthread_create(&tid[i], NULL, reader, NULL) == 0)
            started++;
    if (started == 0)
        reader(NULL);
    for (int i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("files_read=%llu\nbytes_read=%llu\nlinks_read=%llu\nerrors=%llu\nthreads=%d\nseconds=%.3f\n",
           (unsigned long long)files_read, (unsigned long long)bytes_read, (unsigned long long)links_read,
           (unsigned long long)errors, started, secs);
    return errors ? 1 : 0;
}
