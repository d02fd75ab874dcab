/* Shared timing helpers for the benchmarks: wall-clock time, medians, FLOP counts. */
#ifndef GCAM_BENCH_COMMON_H
#define GCAM_BENCH_COMMON_H

#include "gcam.h"

#include <stdlib.h>
#include <time.h>

static inline double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static inline double median(double *x, int n) {
    qsort(x, (size_t)n, sizeof *x, compare_doubles);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

/* Multiply-adds x2 of one forward pass over the whole batch (conv and connected). */
static inline double forward_flops(const network *dn) {
    double flops = 0;
    for (int i = 0; i < dn->n; ++i) {
        const layer *l = &dn->layers[i];
        if (l->type == CONVOLUTIONAL)
            flops += 2.0 * l->out_h * l->out_w * l->n * (l->c / l->groups) * l->size * l->size;
        else if (l->type == CONNECTED)
            flops += 2.0 * l->inputs * l->outputs;
    }
    return flops * dn->batch;
}

#endif
