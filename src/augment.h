/* Darknet's classifier augmentation, reproducible: a random scale, aspect change,
 * rotation and translation (one affine map, filtered where it shrinks), a horizontal flip, and
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

/* Samples src through warp into dst (channels, dst_h, dst_w). A warp that shrinks along
 * neither axis samples bilinearly, edges clamped. One that shrinks does not alias: an
 * axis-aligned warp is exactly the validation resize of its box (gcam_image_resample_box);
 * a rotated one averages over each output pixel's rotated footprint with the same
 * triangle filter, on block means of the source where it shrinks more than 4x (within a
 * few percent of the exact filter, at about the resize's cost). */
void gcam_warp_apply(const gcam_warp *warp, const float *src, int channels, int src_w, int src_h,
                     float *dst, int dst_w, int dst_h);

/* Source pixels per output pixel along the output axis where the warp shrinks least
 * (1: the view has the source's resolution; 2: it needs half of it). */
float gcam_warp_least_step(const gcam_warp *warp);

/* The same warp on the source reduced by `reduction` (pixel (i, j) of the reduced image
 * covering source pixels [i r, (i + 1) r) x [j r, (j + 1) r)). */
gcam_warp gcam_warp_reduced(const gcam_warp *warp, int reduction);

/* The warp that samples through inner (output pixels -> the pixels of a w x h view) and
 * then through outer (that view's pixels -> its source's): a crop of a view as a crop of
 * the source. The result keeps outer's flip, so that it looks like the view. */
gcam_warp gcam_warp_compose(const gcam_warp *outer, const gcam_warp *inner, int w);

/* One sample's colour jitter: a hue shift (fraction of a turn) and saturation and
 * exposure factors. */
typedef struct gcam_color_jitter {
    float hue_shift, saturation, exposure;
} gcam_color_jitter;

/* Draws a jitter from cfg's ranges. */
gcam_color_jitter gcam_augment_draw_color(const gcam_augment_config *cfg, gcam_rng *rng);

/* Applies jitter to im (c, h, w) in place (HSV for RGB, brightness alone otherwise), values
 * kept in [0, 1]. */
void gcam_augment_apply_color(const gcam_color_jitter *jitter, float *im, int c, int w, int h);

#endif
