/* Saliency mixing with soft labels: a batch-level augmentation after the per-sample one.
 * With probability mix_prob a sample A receives a box cut from a partner B of the same
 * batch: the box's area fraction is drawn from Beta(mix_alpha, mix_alpha) (CutMix's
 * sizes), it is cut from B at random or around B's salient region (mix_box) and pasted
 * into A at a random place. A's label becomes w_A * A + w_B * B:
 *   area (CutMix):       w_A = 1 - box area, w_B = box area;
 *   saliency (SnapMix):  w_A = the share of A's saliency mass left outside the box,
 *                        w_B = the share of B's saliency mass inside the box cut from B,
 *                        both divided by their sum (see gcam_mix_weights for why).
 * Both label rules draw the same boxes from the same per-sample generators, so `area` is
 * the equal-strength control of `saliency`. A sample whose A or B has no map falls back
 * to the area rule (counted). */
#ifndef GCAM_MIX_H
#define GCAM_MIX_H

#include "gcam/settings.h"

#include <stdint.h>

typedef struct gcam_mix_stats {
    long samples, mixed;
    long area_fallbacks; /* saliency labels that fell back to area: a map missing or empty */
    double area_sum;     /* box area fractions of the mixed samples */
    double weight_b_sum; /* B's label weights of the mixed samples */
} gcam_mix_stats;

/* The box of one mixed sample, in pixels of the h x w input, end exclusive. */
typedef struct gcam_mix_draw {
    int mixed;   /* 0: the sample is left as it is */
    int partner; /* B's index in the batch */
    int bw, bh;  /* the box's size */
    int ax, ay;  /* its corner in A */
    int bx, by;  /* its corner in B, before mix_box=saliency moves it */
} gcam_mix_draw;

/* The draws of sample i of batch `batch_index` (n images of w x h): from a generator of
 * its own, seeded by (seed, batch_index * n + i), so that the draws do not depend on the
 * label rule, the other samples or the number of threads. */
gcam_mix_draw gcam_mix_draw_sample(const gcam_train_options *o, uint64_t seed, int64_t batch_index,
                                   int i, int n, int w, int h);

/* The label weights of a mixed sample under the saliency rule: map_a and map_b (h, w) in
 * the two views, the box pasted at (ax, ay) in A and cut at (bx, by) in B. SnapMix's
 * weights (A's mass outside the box, B's mass inside) need not sum to 1; they are divided
 * by their sum because Darknet's softmax layer turns the truth t into the gradient t - p,
 * which is the cross-entropy's gradient only when t sums to 1. Returns 0 (leaving the
 * weights) when either map has no mass or both shares are 0. */
int gcam_mix_weights(const float *map_a, const float *map_b, int w, int h, int bw, int bh, int ax,
                     int ay, int bx, int by, float *weight_a, float *weight_b);

/* Mixes n images (n, c, h, w) and their one-hot truths (n, classes) in place. maps (n, h,
 * w) and has_map (n) are each image's map in its view (both NULL when there are none). */
void gcam_mix_batch(const gcam_train_options *o, uint64_t seed, int64_t batch_index, float *images,
                    float *truth, int n, int c, int h, int w, int classes, const float *maps,
                    const int *has_map, gcam_mix_stats *stats);

#endif
