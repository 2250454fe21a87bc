/* prefetch.c — the scan's read-ahead pool (see prefetch.h): I/O threads
 * that open the entries of the directories being walked, in the walk's
 * order and at most a window ahead of it, and read their metadata files
 * with fs_read_file into buffers the scan modules then take. */
#include "prefetch.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define PF_WINDOW_PER_THREAD 8     /* entries a walk may be ahead, per thread */
#define PF_FDS_PER_THREAD 2        /* a worker holds at most the entry dir and a file */
#define PF_FDS_KEPT 64             /* left to the scan itself and SQLite */
#define PF_STACK (256u * 1024)
#define PF_ARENAS 2                /* malloc arenas while the pool runs (see prefetch_open) */
#define PF_PROBE_FIRST 8           /* entries of a walk probed before it uses the pool */
#define PF_PROBE_EVERY 64          /* then one entry in so many, while it reads inline */
#define PF_PROBE_MISSES 3          /* misses in a row that make a walk use the pool */

enum pf_state { PF_PENDING, PF_BUSY, PF_DONE, PF_OWNED };

struct pf_file {
    const char *name;
    struct file_buf b;
};

struct pf_entry {
    enum pf_state state;
    int nfiles;
    struct pf_file f[PF_MAX_FILES];
    size_t cap;
    size_t bytes;       /* counted in the pool's bytes until released */
    size_t reserved;    /* reserved while reading (fetch_one), replaced by bytes when done */
};

struct pf_walk {
    int dirfd;
    const struct pf_plan *plan;
    struct fs_name *names;
    size_t n;
    size_t next;        /* the entry the module is at; those before are released */
    size_t claim;       /* the first entry nobody has claimed */
    struct pf_entry *ring;   /* entry i lives in ring[i % window] */
    size_t window;
    int busy;           /* workers reading an entry of this walk */
    bool closing;
    bool pooled;        /* registered with the pool (the cache was found cold) */
    int misses;         /* probes in a row that found an entry not cached */
    size_t waiting;     /* the entry the module waits for, or SIZE_MAX */
    pthread_cond_t ready;    /* the module: that entry is read, or the last worker left */
    struct pf_walk *link;
};

struct prefetch {
    pthread_mutex_t mu;
    pthread_cond_t work;     /* workers: something to claim, or quit */
    int idle;                /* workers waiting on work (not yet woken) */
    pthread_t *tids;
    int nthreads;
    struct pf_walk *walks;   /* the walks in progress (one per scan lane) */
    size_t bytes, max_bytes;
    bool quit;
    atomic_bool cold;        /* the last probe found data not in the page cache */
};

/* ---- what a worker does for one entry ---- */

static void keep_file(struct pf_entry *e, const char *name, struct file_buf *b)
{
    /* any other outcome is left to the module's own read: same error, same path */
    if (b->status != FILE_OK && b->status != FILE_MISSING) {
        file_buf_free(b);
        return;
    }
    e->f[e->nfiles].name = name;
    e->f[e->nfiles].b = *b;
    e->nfiles++;
    e->bytes += b->len;
}

/* Reserve size bytes of the pool's budget; false when they do not fit. */
static bool reserve(struct prefetch *pf, size_t size)
{
    pthread_mutex_lock(&pf->mu);
    bool fits = pf->bytes + size <= pf->max_bytes;
    if (fits)
        pf->bytes += size;
    pthread_mutex_unlock(&pf->mu);
    return fits;
}

/* Read dirfd/name into e. Files whose cap allows more than an id file are
 * first sized and left to the module when they do not fit in what the pool
 * may still hold. */
static void fetch_one(struct prefetch *pf, struct pf_entry *e, int dirfd, const char *name, size_t cap)
{
    if (cap > CAP_ID_FILE) {
        struct stat st;
        if (!fs_lstat(dirfd, name, &st) || !S_ISREG(st.st_mode) || (size_t)st.st_size > cap ||
            !reserve(pf, (size_t)st.st_size))
            return;
        e->reserved += (size_t)st.st_size;
    }
    struct file_buf b;
    fs_read_file(dirfd, name, cap, &b);
    keep_file(e, name, &b);
}

static void fetch_dir_files(struct prefetch *pf, const struct pf_walk *w, const char *name, struct pf_entry *e)
{
    int fd = fs_open_dir(w->dirfd, name);
    if (fd < 0)
        return;
    for (int i = 0; i < PF_MAX_FILES && w->plan->files[i]; i++)
        fetch_one(pf, e, fd, w->plan->files[i], w->plan->cap);
    if (w->plan->warm) {
        struct stat st;
        fs_lstat(fd, w->plan->warm, &st);
    }
    close(fd);
}

static void fetch_file(struct prefetch *pf, const struct pf_walk *w, const char *name, struct pf_entry *e)
{
    if (name[0] == '.')
        return;   /* leftovers (.tmp-*): the modules only lstat them */
    fetch_one(pf, e, w->dirfd, name, w->plan->cap);
}

/* readlinkat reads the inode and, for a target too long to be kept in
 * it, its block (anything but a symlink fails at once) */
static void fetch_link(const struct pf_walk *w, const char *name)
{
    char target[4096];
    fs_readlink(w->dirfd, name, target, sizeof target);
}

static void fetch_entry(struct prefetch *pf, const struct pf_walk *w, const char *name, struct pf_entry *e)
{
    switch (w->plan->kind) {
    case PF_FILE: fetch_file(pf, w, name, e); break;
    case PF_DIR_FILES: fetch_dir_files(pf, w, name, e); break;
    case PF_LINK: fetch_link(w, name); break;
    }
}

static void entry_free(struct pf_entry *e)
{
    for (int i = 0; i < e->nfiles; i++)
        file_buf_free(&e->f[i].b);
    e->nfiles = 0;
    e->bytes = 0;
}

/* ---- is the page cache warm? ---- */

/* Is the start of dirfd/name in the page cache? preadv2 with RWF_NOWAIT
 * fails with EAGAIN instead of reading the disk. Anything but a regular
 * file counts as cached (nothing to read ahead); any other failure
 * (RWF_NOWAIT unsupported) as not cached, so that the pool is used.
 * RWF_NOWAIT also refuses a cached page that carries the readahead mark
 * (it may not start readahead): on a warm 10k store a few files in a
 * thousand answer EAGAIN every time, hence PF_PROBE_MISSES in a row. */
static bool file_cached(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
    if (fd < 0 && errno == EPERM)
        fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return true;   /* nothing to read ahead: the module's read fails alike */
    struct stat st;
    bool cached = true;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        char c;
        struct iovec iov = { .iov_base = &c, .iov_len = 1 };
        cached = preadv2(fd, &iov, 1, 0, RWF_NOWAIT) >= 0;
    }
    close(fd);
    return cached;
}

/* Would reading entry name of w be served from the page cache? Probes the
 * entry's first file (PF_FILE: the entry itself); a symlink walk follows
 * the last verdict of a file walk. */
static bool entry_cached(const struct prefetch *pf, const struct pf_walk *w, const char *name)
{
    switch (w->plan->kind) {
    case PF_FILE:
        return name[0] == '.' || file_cached(w->dirfd, name);
    case PF_DIR_FILES: {
        int fd = fs_open_dir(w->dirfd, name);
        if (fd < 0)
            return true;   /* the module's own open fails alike */
        bool cached = !w->plan->files[0] || file_cached(fd, w->plan->files[0]);
        close(fd);
        return cached;
    }
    case PF_LINK:
        return !atomic_load(&pf->cold);
    }
    return false;
}

/* ---- the pool ---- */

/* The next entry a worker may claim (mu held): the walk least ahead of its
 * module, within its window, and beyond the module's own entry only while
 * the pool holds less than max_bytes. */
static struct pf_walk *claimable(struct prefetch *pf)
{
    struct pf_walk *best = NULL;
    for (struct pf_walk *w = pf->walks; w; w = w->link) {
        if (w->closing || w->claim >= w->n || w->claim >= w->next + w->window)
            continue;
        if (w->claim > w->next && pf->bytes >= pf->max_bytes)
            continue;
        if (!best || w->claim - w->next < best->claim - best->next)
            best = w;
    }
    return best;
}

static void *worker(void *arg)
{
    struct prefetch *pf = arg;
    pthread_mutex_lock(&pf->mu);
    while (!pf->quit) {
        struct pf_walk *w = claimable(pf);
        if (!w) {
            pf->idle++;
            pthread_cond_wait(&pf->work, &pf->mu);
            continue;
        }
        size_t i = w->claim++;
        struct pf_entry *e = &w->ring[i % w->window];
        e->state = PF_BUSY;
        e->cap = w->plan->cap;
        w->busy++;
        pthread_mutex_unlock(&pf->mu);
        fetch_entry(pf, w, w->names[i].name, e);
        pthread_mutex_lock(&pf->mu);
        e->state = PF_DONE;
        pf->bytes = pf->bytes - e->reserved + e->bytes;
        e->reserved = 0;
        w->busy--;
        if (w->waiting == i || (w->closing && w->busy == 0))
            pthread_cond_signal(&w->ready);
    }
    pthread_mutex_unlock(&pf->mu);
    return NULL;
}

/* Threads the fd limit allows: each may hold a few fds at once. */
static int depth_for_fd_limit(int depth)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return depth;
    long spare = ((long)rl.rlim_cur - PF_FDS_KEPT) / PF_FDS_PER_THREAD;
    return spare < depth ? (int)(spare < 0 ? 0 : spare) : depth;
}

struct prefetch *prefetch_open(int depth, size_t max_bytes)
{
    if (depth > PF_MAX_DEPTH)
        depth = PF_MAX_DEPTH;
    depth = depth_for_fd_limit(depth);
    if (depth <= 1)
        return NULL;
    struct prefetch *pf = calloc(1, sizeof *pf);
    if (!pf || !(pf->tids = calloc((size_t)depth, sizeof *pf->tids))) {
        free(pf);
        return NULL;
    }
    /* the buffers are allocated by the workers and freed by the modules:
     * with an arena per thread each would keep its own freed chunks
     * (+40 MB peak RSS at 40k layers); a shared arena keeps them in one */
    mallopt(M_ARENA_MAX, PF_ARENAS);
    pthread_mutex_init(&pf->mu, NULL);
    pthread_cond_init(&pf->work, NULL);
    pf->max_bytes = max_bytes;
    atomic_init(&pf->cold, true);   /* until a probe says otherwise */
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, PF_STACK);
    for (int i = 0; i < depth; i++) {
        if (pthread_create(&pf->tids[pf->nthreads], &attr, worker, pf) != 0)
            break;
        pf->nthreads++;
    }
    pthread_attr_destroy(&attr);
    if (pf->nthreads < 2) {
        prefetch_close(pf);
        return NULL;
    }
    return pf;
}

void prefetch_close(struct prefetch *pf)
{
    if (!pf)
        return;
    pthread_mutex_lock(&pf->mu);
    pf->quit = true;
    pthread_cond_broadcast(&pf->work);
    pthread_mutex_unlock(&pf->mu);
    for (int i = 0; i < pf->nthreads; i++)
        pthread_join(pf->tids[i], NULL);
    pthread_cond_destroy(&pf->work);
    pthread_mutex_destroy(&pf->mu);
    free(pf->tids);
    free(pf);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    mallopt(M_ARENA_MAX, (int)(8 * (cores > 0 ? cores : 1)));   /* glibc's default limit again */
}

/* ---- a walk ---- */

/* Wake the idle workers (mu held). */
static void wake_workers(struct prefetch *pf)
{
    if (pf->idle > 0) {
        pf->idle = 0;
        pthread_cond_broadcast(&pf->work);
    }
}

static void walk_register(struct prefetch *pf, struct pf_walk *w)
{
    pthread_cond_init(&w->ready, NULL);
    w->waiting = SIZE_MAX;
    pthread_mutex_lock(&pf->mu);
    w->link = pf->walks;
    pf->walks = w;
    wake_workers(pf);
    pthread_mutex_unlock(&pf->mu);
}

/* Entry i for its module: the prefetched files once a worker is done with
 * them, or NULL after claiming it for the module (no worker got to it). */
static struct pf_entry *walk_take(struct prefetch *pf, struct pf_walk *w, size_t i)
{
    pthread_mutex_lock(&pf->mu);
    struct pf_entry *e = &w->ring[i % w->window];
    if (w->claim <= i) {
        w->claim = i + 1;
        e->state = PF_OWNED;
        e = NULL;
    } else {
        w->waiting = i;
        while (e->state == PF_BUSY)
            pthread_cond_wait(&w->ready, &pf->mu);
        w->waiting = SIZE_MAX;
    }
    pthread_mutex_unlock(&pf->mu);
    return e;
}

static void walk_release(struct prefetch *pf, struct pf_walk *w, size_t i)
{
    struct pf_entry *e = &w->ring[i % w->window];
    pthread_mutex_lock(&pf->mu);
    pf->bytes -= e->bytes;
    entry_free(e);
    e->state = PF_PENDING;
    w->next = i + 1;
    /* the workers are woken when half the window is free, not per entry:
     * on a warm cache a wake-up costs more than the read it asks for */
    if (w->claim < w->n && w->next + w->window - w->claim >= w->window / 2)
        wake_workers(pf);
    pthread_mutex_unlock(&pf->mu);
}

/* Stop claiming, wait for the workers still reading, drop what was not taken. */
static void walk_unregister(struct prefetch *pf, struct pf_walk *w)
{
    pthread_mutex_lock(&pf->mu);
    w->closing = true;
    while (w->busy > 0)
        pthread_cond_wait(&w->ready, &pf->mu);
    for (struct pf_walk **p = &pf->walks; *p; p = &(*p)->link)
        if (*p == w) {
            *p = w->link;
            break;
        }
    for (size_t i = w->next; i < w->claim && i < w->next + w->window; i++) {
        struct pf_entry *e = &w->ring[i % w->window];
        pf->bytes -= e->bytes;
        entry_free(e);
    }
    pthread_mutex_unlock(&pf->mu);
    pthread_cond_destroy(&w->ready);
}

/* Probe entry i of a walk still reading inline? The first few, then one in
 * PF_PROBE_EVERY (a cache warm at the start may be cold further on), and
 * every entry after a miss until a hit or PF_PROBE_MISSES misses. */
static bool probe_due(const struct pf_walk *w, size_t i)
{
    return i < PF_PROBE_FIRST || i % PF_PROBE_EVERY == 0 || w->misses > 0;
}

/* Does the walk, reading inline so far, need the pool from entry i on?
 * Sets the pool's verdict (file walks only). */
static bool needs_pool(struct prefetch *pf, struct pf_walk *w, size_t i)
{
    bool cached = entry_cached(pf, w, w->names[i].name);
    w->misses = cached ? 0 : w->misses + 1;
    bool cold = w->misses >= PF_PROBE_MISSES || (w->plan->kind == PF_LINK && !cached);
    if (w->plan->kind != PF_LINK && (cached || cold))
        atomic_store(&pf->cold, cold);
    return cold;
}

/* On a warm cache the module reads each entry itself (handing reads to the
 * workers costs more than they take); once a probe finds an entry's data
 * not in the page cache, the pool reads ahead for the rest of the walk. */
static int call_each(struct prefetch *pf, struct pf_walk *w, struct pf_entry **cur, fs_entry_fn fn, void *ctx)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < w->n; i++) {
        if (pf && !w->pooled && probe_due(w, i) && needs_pool(pf, w, i)) {
            w->next = w->claim = i;
            w->pooled = true;
            walk_register(pf, w);
        }
        *cur = w->pooled ? walk_take(pf, w, i) : NULL;
        rc = fn(ctx, w->names[i].name, w->names[i].d_type);
        *cur = NULL;
        if (w->pooled)
            walk_release(pf, w, i);
    }
    return rc;
}

int prefetch_walk(struct prefetch *pf, int dirfd, const struct pf_plan *plan, struct pf_entry **cur,
                  fs_entry_fn fn, void *ctx)
{
    struct fs_names l;
    /* sorted (or in dir order); on an error, what was read, then -1 */
    int listed = plan->dir_order ? fs_names_read_unsorted(dirfd, &l) : fs_names_read(dirfd, &l);
    int e = errno;
    struct pf_walk w = { .dirfd = dirfd, .plan = plan, .names = l.v, .n = l.n };
    if (pf && l.n > 1) {
        w.window = (size_t)pf->nthreads * PF_WINDOW_PER_THREAD;
        w.ring = calloc(w.window, sizeof *w.ring);
    }
    if (!w.ring)
        pf = NULL;
    int rc = call_each(pf, &w, cur, fn, ctx);
    if (w.pooled)
        walk_unregister(pf, &w);
    free(w.ring);
    fs_names_free(&l);
    if (rc == 0 && listed != 0) {
        errno = e;
        return -1;
    }
    return rc;
}

bool pf_entry_take(struct pf_entry *e, const char *name, size_t cap, struct file_buf *out)
{
    if (!e || e->cap != cap)
        return false;
    for (int i = 0; i < e->nfiles; i++) {
        struct pf_file *f = &e->f[i];
        if (f->name && strcmp(f->name, name) == 0) {
            *out = f->b;
            memset(&f->b, 0, sizeof f->b);
            f->name = NULL;   /* taken once */
            return true;
        }
    }
    return false;
}
