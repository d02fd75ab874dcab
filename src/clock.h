/* Monotonic wall-clock seconds, for progress lines, ETAs and the timings gcam reports.
 * Monotonic so that a clock adjustment during a long run cannot make a duration negative. */
#ifndef GCAM_CLOCK_H
#define GCAM_CLOCK_H

#include <time.h>

static inline double gcam_now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

#endif
