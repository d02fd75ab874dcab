/* A small fork-join pool for the kernels: gcam_parallel_run(fn, arg) calls
 * fn(arg, part, parts) for every part on its own thread (part 0 on the caller) and
 * returns when all are done. Parts: GCAM_THREADS if set, else the number of CPUs
 * (at most 16). While parts run, OpenBLAS is held to one thread per call. */
#ifndef GCAM_PARALLEL_H
#define GCAM_PARALLEL_H

#include <stddef.h>

typedef void (*gcam_parallel_fn)(void *arg, int part, int parts);

int gcam_parallel_parts(void);
/* Sizes the pool, and OpenBLAS's own threads, to `parts` instead of GCAM_THREADS or the
 * CPUs (an MPI rank takes its share of its host). Only before the pool's first use:
 * returns -1 if it had started already with another size. */
int gcam_parallel_set_parts(int parts);
void gcam_parallel_run(gcam_parallel_fn fn, void *arg);

/* Work on fewer values than this runs on the calling thread: waking the pool costs more
 * than the split saves. */
#define GCAM_PARALLEL_MIN 65536

/* gcam_parallel_run for work on `values` values: below GCAM_PARALLEL_MIN, fn(arg, 0, 1)
 * on the calling thread. */
static inline void gcam_parallel_run_sized(gcam_parallel_fn fn, void *arg, size_t values) {
    if (values < GCAM_PARALLEL_MIN)
        fn(arg, 0, 1);
    else
        gcam_parallel_run(fn, arg);
}

/* [*lo, *hi) of n items for `part` of `parts`, in contiguous, near-equal slices. */
static inline void gcam_parallel_slice(int n, int part, int parts, int *lo, int *hi) {
    *lo = (int)((long long)n * part / parts);
    *hi = (int)((long long)n * (part + 1) / parts);
}

#endif
