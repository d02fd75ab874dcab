/* Faithfulness and localisation metrics for saliency maps:
 * deletion and insertion curves with their areas, the pointing game, and the rank
 * correlation used by the sanity check. The curves' perturbed inputs are produced here
 * and scored by the caller in batches. */
#ifndef GCAM_METRICS_H
#define GCAM_METRICS_H

#include <stddef.h>

/* Area under a curve of n_points values sampled evenly on [0, 1], trapezoid rule:
 * (sum - first/2 - last/2) / (n_points - 1). */
double gcam_auc(const float *curve, int n_points);

/* Pixel indices of map (hw) in decreasing saliency, ties by index (a stable order). */
void gcam_saliency_order(const float *map, size_t hw, int *order);

/* Points on a deletion or insertion curve that changes `step` pixels at a time:
 * ceil(hw / step) steps, plus the start. */
int gcam_curve_points(size_t hw, int step);

/* The input at point k of a curve: `from` (c, hw) with its first min(k * step, hw)
 * pixels in `order` (all channels) taken from `to`. Deletion: from = the image, to = the
 * substrate; insertion: from = the blurred image, to = the image. */
void gcam_curve_input(const float *from, const float *to, int c, size_t hw, const int *order,
                      int step, int k, float *out);

/* Pointing game: the map's (h, w) first maximum is a hit when it lies within `tolerance`
 * pixels of the box [x0, x1) x [y0, y1) (pixel centres; distance 0 inside). */
int gcam_pointing_hit(const float *map, int h, int w, const float box[4], float tolerance);
/* The same test for a given point (the centre-point baseline). */
int gcam_point_in_box(float x, float y, const float box[4], float tolerance);

/* Spearman rank correlation of a and b (n values; ties get their mean rank). */
double gcam_spearman(const float *a, const float *b, size_t n);

/* Mean and standard error of n values (standard error 0 when n < 2). */
void gcam_mean_se(const double *v, int n, double *mean, double *se);

#endif
