/* Comparing training arms (gcam-compare's engine): each arm trained with several seeds
 * and evaluated on the same test images (gcam-eval's tta.csv per run), summarised as top-1
 * (mean +- standard error over seeds), with each difference that matters given its 95 %
 * interval from a paired bootstrap over the test images, a plot of every arm's accuracy
 * with its interval, and, from the training logs, the maps' quality over time beside the
 * accuracy gap it should explain. */
#ifndef GCAM_COMPARE_H
#define GCAM_COMPARE_H

#include "gcam/core.h"
#include "gcam/settings.h"

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A paired difference of top-1: arm a (mode) minus arm b (mode) on the same test images. */
typedef struct gcam_difference {
    double mean;      /* over seeds and images */
    double low, high; /* 95 % paired-bootstrap interval over the test images */
    double seed_se;   /* standard error of the per-seed differences */
} gcam_difference;

/* The paired difference of two correctness tables, (seeds, images) each, 1 where the
 * image was classified right: the mean of a - b, and the 95 % interval of a bootstrap
 * that resamples the images (the seed-averaged correctness of each image is the unit, so
 * the pairing by image is kept), with `resamples` draws from `seed`. */
GCAM_API gcam_difference gcam_paired_difference(const unsigned char *a, const unsigned char *b,
                                                int seeds, int images, int resamples,
                                                unsigned long seed);

/* gcam-compare: reads <root>/<arm>_s<seed>/<predictions> for every arm and seed of
 * s->compare, prints the tables to out and writes them, with accuracy.png/.svg and (with a
 * log) quality.png/.svg, to s->compare.out_dir. */
GCAM_API int gcam_compare_run(const gcam_settings *s, const char *root, FILE *out, gcam_error *err);

#ifdef __cplusplus
}
#endif
#endif
