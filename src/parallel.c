/* The kernels' fork-join pool (see parallel.h). Its parts run on OpenMP's threads, the
 * threads oneDNN's convolutions run on: with a pool of its own, OpenMP's threads would
 * still be spinning after each convolution, waiting for the next, while the pool's
 * threads wanted the same cores for the layer between (ResNet-50's forward at batch 1 was
 * 15-20 % slower that way).
 *
 * ThreadSanitizer cannot see OpenMP's synchronisation, so a ThreadSanitizer build runs
 * the parts on a pool of its own instead (workers sleep on a condition variable between
 * jobs; a job is published with a generation number so each worker runs it exactly once),
 * and the kernels' sharing of buffers between parts is still checked. */
#include "parallel.h"

#include <cblas.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_PARTS 16

#if defined(__SANITIZE_THREAD__)
#define OWN_THREADS 1
#else
#define OWN_THREADS 0
#include <omp.h>
#endif

static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static int pool_parts = 1;
#if OWN_THREADS
static pthread_mutex_t pool_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t job_posted = PTHREAD_COND_INITIALIZER, job_done = PTHREAD_COND_INITIALIZER;
static unsigned long generation;
static int pending;
static gcam_parallel_fn job_fn;
static void *job_arg;
#endif
static int blas_threads = 1;
static int requested_parts; /* gcam_parallel_set_parts before the pool started; 0: none */
static int pool_started;

#if OWN_THREADS
static void *worker(void *arg) {
    int part = (int)(long)arg;
    unsigned long seen = 0;
    pthread_mutex_lock(&pool_mutex);
    for (;;) {
        while (generation == seen) pthread_cond_wait(&job_posted, &pool_mutex);
        seen = generation;
        gcam_parallel_fn fn = job_fn;
        void *a = job_arg;
        pthread_mutex_unlock(&pool_mutex);
        fn(a, part, pool_parts);
        pthread_mutex_lock(&pool_mutex);
        if (--pending == 0) pthread_cond_signal(&job_done);
    }
    return NULL;
}
#endif

static void pool_start(void) {
    pool_started = 1;
    const char *env = getenv("GCAM_THREADS");
    long n = requested_parts ? requested_parts
                             : (env ? strtol(env, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN));
    if (n < 1) n = 1;
    if (n > MAX_PARTS) n = MAX_PARTS;
    if (requested_parts) openblas_set_num_threads((int)n);
    blas_threads = openblas_get_num_threads();
#if OWN_THREADS
    for (long p = 1; p < n; ++p) {
        pthread_t t;
        if (pthread_create(&t, NULL, worker, (void *)p) != 0) break;
        pthread_detach(t);
        pool_parts = (int)p + 1;
    }
#else
    pool_parts = (int)n;
#endif
}

int gcam_parallel_set_parts(int parts) {
    if (pool_started) return parts == pool_parts ? 0 : -1;
    requested_parts = parts < 1 ? 1 : parts;
    gcam_parallel_parts();
    return 0;
}

int gcam_parallel_parts(void) {
    pthread_once(&pool_once, pool_start);
    return pool_parts;
}

void gcam_parallel_run(gcam_parallel_fn fn, void *arg) {
    int parts = gcam_parallel_parts();
    if (parts == 1) {
        fn(arg, 0, 1);
        return;
    }
    openblas_set_num_threads(1);
#if !OWN_THREADS
    /* a loop over the parts, so that every part runs even where OpenMP gives fewer
     * threads (inside another parallel region, for one) */
#pragma omp parallel for schedule(static) num_threads(parts)
    for (int part = 0; part < parts; ++part) fn(arg, part, parts);
#else
    pthread_mutex_lock(&pool_mutex);
    job_fn = fn;
    job_arg = arg;
    pending = parts - 1;
    ++generation;
    pthread_cond_broadcast(&job_posted);
    pthread_mutex_unlock(&pool_mutex);
    fn(arg, 0, parts);
    pthread_mutex_lock(&pool_mutex);
    while (pending > 0) pthread_cond_wait(&job_done, &pool_mutex);
    pthread_mutex_unlock(&pool_mutex);
#endif
    openblas_set_num_threads(blas_threads);
}
