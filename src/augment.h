/* Darknet's classifier augmentation, reproducible: a random scale, aspect change,
 * rotation and translation (one affine map, bilinear sampling), a horizontal flip, and
 * hue/saturation/exposure jitter in HSV. Every random choice comes from the caller's
 * per-sample generator, and the geometric part is returned so that anything defined in
 * the source image's coordinates (a saliency map) can be warped the same way. */
#ifndef GCAM_AUGMENT_H
#define GCAM_AUGMENT_H

#include "gcam/data.h"
#include "rng.h"

/* The [net] keys Darknet's classifier training reads. */
typedef struct gcam_augment_config {
    int w, h, c;                /* network input */
    int min_crop, max_crop;     /* the shorter side is scaled to a random length in between */
    float aspect;               /* width/height stretch factor range [1/aspect, aspect] */
    float angle;                /* rotation in degrees, uniform in [-angle, angle] */
    float hue;                  /* hue shift, uniform in [-hue, hue] (fraction of a turn) */
    float saturation, exposure; /* factors in [1/s, s] */
    int flip;                   /* random horizontal flips */
} gcam_augment_config;

/* Maps output pixel centres to source coordinates:
 *   src_x = ax * x + bx * y + cx,  src_y = ay * x + by * y + cy   (pixel units, centres at
 *   +0.5), applied after the flip (x -> w - x) when flipped. */
typedef struct gcam_warp {
    float ax, bx, cx, ay, by, cy;
    int flipped;
} gcam_warp;

/* Draws a warp for an src_w x src_h image into the network input. */
gcam_warp gcam_augment_draw_warp(const gcam_augment_config *cfg, int src_w, int src_h,
                                 gcam_rng *rng);

/* Samples src through warp into dst (channels, dst_h, dst_w), bilinear, edges clamped. */
void gcam_warp_apply(const gcam_warp *warp, const float *src, int channels, int src_w, int src_h,
                     float *dst, int dst_w, int dst_h);

/* Random hue/saturation/exposure jitter of im (c, h, w) in place, values kept in [0, 1]. */
void gcam_augment_color(const gcam_augment_config *cfg, float *im, int c, int w, int h,
                        gcam_rng *rng);

#endif
