/* A small seeded random generator (PCG32) for per-thread, per-sample streams. Darknet's
 * global rand() is never used: results must not depend on thread timing. */
#ifndef GCAM_RNG_H
#define GCAM_RNG_H

#include <stdint.h>

typedef struct gcam_rng {
    uint64_t state;
    uint64_t inc;
} gcam_rng;

/* A stream fully determined by (seed, stream): e.g. stream = epoch * N + sample index. */
static inline uint32_t gcam_rng_next(gcam_rng *r) {
    uint64_t old = r->state;
    r->state = old * 6364136223846793005ULL + r->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

static inline gcam_rng gcam_rng_init(uint64_t seed, uint64_t stream) {
    gcam_rng r = {0, (stream << 1u) | 1u};
    gcam_rng_next(&r);
    r.state += seed;
    gcam_rng_next(&r);
    return r;
}

/* Uniform in [0, 1). */
static inline float gcam_rng_uniform(gcam_rng *r) {
    return (float)(gcam_rng_next(r) >> 8) * (1.0f / 16777216.0f);
}

/* Uniform in [lo, hi). */
static inline float gcam_rng_range(gcam_rng *r, float lo, float hi) {
    return lo + (hi - lo) * gcam_rng_uniform(r);
}

#endif
