/* parallel.c — independent jobs on a few threads for the passes that read
 * many files after the scan (the sizes pass, the reaper's byte counts and
 * re-verification): par_for calls fn(ctx, i) once for each i < n, spread
 * over at most --io-depth threads (the calling one included), each job
 * writing only its own result slot, so that what is computed does not
 * depend on the thread count. Depth 1: a plain loop on the calling thread.
 * par_pair runs two different jobs at once (the scans' two lanes). */
#ifndef OVL2FSCK_PARALLEL_H
#define OVL2FSCK_PARALLEL_H

#include <stdbool.h>
#include <stddef.h>

typedef void (*par_fn)(void *ctx, size_t i);

/* The thread count of later par_for calls (--io-depth; <= 1: serial). */
void par_set_depth(int depth);
int par_depth(void);

/* Run the n jobs; fds_per_job (>= 1) caps the threads so that all of them
 * together stay well inside the open-file limit. Returns when all are done. */
void par_for(size_t n, int fds_per_job, par_fn fn, void *ctx);

typedef void (*par_job_fn)(void *ctx);

/* first(first_ctx) on the calling thread while second(second_ctx) runs on a
 * thread of its own; when no thread can be started, second runs after
 * first. Returns when both are done: true when they ran at once. */
bool par_pair(par_job_fn first, void *first_ctx, par_job_fn second, void *second_ctx);

#endif
