/* parallel.c — par_for and par_pair (see parallel.h): threads started for
 * one call and joined before it returns; par_for's share a job counter. */
#include "parallel.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#define PAR_MAX_THREADS 256
#define PAR_FDS_KEPT 64        /* left to the caller and SQLite */
#define PAR_ARENAS 2           /* malloc arenas while the threads run (as the read-ahead pool) */

static int par_threads = 1;

void par_set_depth(int depth)
{
    par_threads = depth < 1 ? 1 : depth > PAR_MAX_THREADS ? PAR_MAX_THREADS : depth;
}

int par_depth(void) { return par_threads; }

struct par_job {
    atomic_size_t next;
    size_t n;
    par_fn fn;
    void *ctx;
};

static void run_jobs(struct par_job *j)
{
    for (;;) {
        size_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->n)
            return;
        j->fn(j->ctx, i);
    }
}

static void *par_thread(void *arg)
{
    run_jobs(arg);
    return NULL;
}

/* Threads for n jobs: the depth, at most one per job, within the fd limit. */
static size_t threads_for(size_t n, int fds_per_job)
{
    size_t t = (size_t)par_threads;
    if (t > n)
        t = n;
    struct rlimit rl;
    if (fds_per_job < 1)
        fds_per_job = 1;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        long spare = ((long)rl.rlim_cur - PAR_FDS_KEPT) / fds_per_job;
        if (spare < (long)t)
            t = spare < 1 ? 1 : (size_t)spare;
    }
    return t;
}

void par_for(size_t n, int fds_per_job, par_fn fn, void *ctx)
{
    struct par_job j = { .n = n, .fn = fn, .ctx = ctx };
    atomic_init(&j.next, 0);
    size_t want = threads_for(n, fds_per_job);
    pthread_t *tids = want > 1 ? calloc(want - 1, sizeof *tids) : NULL;
    size_t started = 0;
    if (tids) {
        /* buffers allocated by one thread and freed by another stay in
         * few arenas (peak RSS), as in the read-ahead pool */
        mallopt(M_ARENA_MAX, PAR_ARENAS);
        while (started < want - 1 && pthread_create(&tids[started], NULL, par_thread, &j) == 0)
            started++;
    }
    run_jobs(&j);
    for (size_t i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    if (tids) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        mallopt(M_ARENA_MAX, (int)(8 * (cores > 0 ? cores : 1)));   /* glibc's default limit again */
    }
    free(tids);
}

struct par_one {
    par_job_fn fn;
    void *ctx;
};

static void *par_one_thread(void *arg)
{
    struct par_one *one = arg;
    one->fn(one->ctx);
    return NULL;
}

bool par_pair(par_job_fn first, void *first_ctx, par_job_fn second, void *second_ctx)
{
    struct par_one other = { second, second_ctx };
    pthread_t tid;
    bool threaded = pthread_create(&tid, NULL, par_one_thread, &other) == 0;
    first(first_ctx);
    if (threaded)
        pthread_join(tid, NULL);
    else
        second(second_ctx);
    return threaded;
}
