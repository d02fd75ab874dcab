/* Saliency-guided augmentation: the transforms a cached saliency map drives (map_cache.h):
 * a crop around the salient region, a drop mask that erases it, a keep mask that keeps it
 * and blurs the rest, and a cutout that only cuts where saliency is low.
 *
 * The loader applies the transforms per sample, with a generator of their own, so the
 * standard augmentation draws stay what they are without saliency. A cached map goes
 * through the image's own warp (crop, scale, rotation, flip), so map and pixels stay
 * aligned. */
#ifndef GCAM_GUIDED_H
#define GCAM_GUIDED_H

#include "gcam/settings.h"

#include "augment.h"
#include "map_cache.h"

#include <stdint.h>

/* Whether the guide reads cached maps (saliency, shuffled) or none (oracle: the boxes;
 * random: no map at all). */
static inline int gcam_guide_uses_cache(gcam_guide_source source) {
    return source == GCAM_GUIDE_SALIENCY || source == GCAM_GUIDE_SHUFFLED;
}

/* The table's defaults (gcam_settings_default). */
void gcam_guided_config_default(gcam_guided_config *c);

/* What the transforms did to one sample. */
enum {
    GCAM_GUIDED_HAD_MAP = 1,
    GCAM_GUIDED_CROP = 2,
    GCAM_GUIDED_DROP = 4,
    GCAM_GUIDED_KEEP = 8,
    GCAM_GUIDED_CUTOUT = 16
};

/* Per-sample state between the two steps below. */
typedef struct gcam_guided_sample {
    float *map;          /* (map_size, map_size) the sample's map, source coordinates */
    int flags;           /* GCAM_GUIDED_* */
    float crop_fraction; /* crop box area / image area, when cropped */
} gcam_guided_sample;

/* The sample's map per the guide, into map (map_size^2 floats) in source coordinates: the
 * image's cached map (saliency); another training image's cached map, drawn from rng,
 * when this image has one (shuffled); or the share of each cell that box covers (oracle;
 * box x0 y0 x1 y1 in source pixels, NULL when the image has none). 1 if the sample has a
 * map. */
int gcam_guided_find_map(const gcam_guided_config *cfg, const gcam_map_cache *cache, int id,
                         const float *box, int src_w, int src_h, gcam_rng *rng, float *map);

/* With probability crop_prob, replaces the geometric part of *warp by a crop around the
 * salient region of sample->map (source coordinates) zoomed to the net_w x net_h input
 * (the flip is kept). */
void gcam_guided_crop(const gcam_guided_config *cfg, int src_w, int src_h, int net_w, int net_h,
                      gcam_rng *rng, gcam_warp *warp, gcam_guided_sample *sample);

/* With probability crop_prob, replaces the geometric part of *warp by an Inception-style
 * random-resized crop: a box of the source whose share of its area is uniform in
 * [random_crop_min_area, random_crop_max_area] and whose aspect ratio is log-uniform in
 * [3/4, 4/3] (both kept inside the image), at a uniform place, resampled to the input (the
 * flip is kept). */
void gcam_guided_random_crop(const gcam_guided_config *cfg, int src_w, int src_h, int net_w,
                             int net_h, gcam_rng *rng, gcam_warp *warp, gcam_guided_sample *sample);

/* Step 1, before the image is warped: the random crop (guide random), or
 * gcam_guided_find_map, then gcam_guided_crop when the sample has a map. sample->map must
 * hold map_size^2 floats. */
void gcam_guided_geometry(const gcam_guided_config *cfg, const gcam_map_cache *cache, int id,
                          const float *box, int src_w, int src_h, int net_w, int net_h,
                          gcam_rng *rng, gcam_warp *warp, gcam_guided_sample *sample);

/* Step 2, on the warped image x (c, h, w): the drop mask or the keep mask (at most one
 * of them), then the cutout, each with its probability. */
void gcam_guided_masks(const gcam_guided_config *cfg, const gcam_warp *warp, int src_w, int src_h,
                       float *x, int c, int h, int w, gcam_rng *rng, gcam_guided_sample *sample);

/* The map in the warped image's coordinates: out (h, w), bilinear, edges clamped. */
void gcam_guided_warp_map(const float *map, int map_size, const gcam_warp *warp, int src_w,
                          int src_h, float *out, int w, int h);

#endif
