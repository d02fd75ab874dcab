/* Saliency-guided augmentation: a cache of low-resolution saliency maps, one per
 * training image in the image's own (un-augmented) coordinates, and the transforms they
 * drive: a crop around the salient region, a drop mask that erases it, a keep mask that
 * keeps it and blurs the rest, and a cutout that only cuts where saliency is low.
 *
 * The loader applies the transforms per sample, with a generator of their own, so the
 * standard augmentation draws stay what they are without saliency. A cached map goes
 * through the image's own warp (crop, scale, rotation, flip), so map and pixels stay
 * aligned. The trainer refreshes maps (train.c); the cache is written only while the
 * loader is idle, which keeps runs reproducible. */
#ifndef GCAM_GUIDED_H
#define GCAM_GUIDED_H

#include "augment.h"

#include <stdint.h>

typedef enum gcam_guide_source {
    GCAM_GUIDE_SALIENCY, /* the cached saliency maps */
    /* The unguided control of equal strength: a sample whose image has a map gets the map
     * of another training image, drawn at random, so the transforms apply as often and with
     * the same box sizes and mask shapes, only not where this image's evidence is. */
    GCAM_GUIDE_SHUFFLED
} gcam_guide_source;

typedef enum gcam_fill { GCAM_FILL_MEAN, GCAM_FILL_BLUR } gcam_fill;

/* Thresholds are fractions of the map's maximum; sizes are fractions of the input side. */
typedef struct gcam_guided_config {
    gcam_guide_source source;
    int map_size;         /* cached maps are map_size x map_size */
    float crop_prob;      /* saliency-guided crop */
    float crop_threshold; /* box around the cells >= threshold * max */
    float crop_enlarge;   /* the box side is enlarged by a factor in [1, crop_enlarge] */
    float crop_jitter;    /* the box centre moves by up to this fraction of its side */
    float crop_min_size;  /* the box side is at least this fraction of the image's shorter side */
    float drop_prob;      /* drop mask: erase the pixels >= drop_threshold * max */
    float drop_threshold;
    gcam_fill drop_fill; /* erase with the image's mean colour or its blurred copy */
    float keep_prob;     /* keep mask: keep the pixels >= keep_threshold * max, blur the rest */
    float keep_threshold;
    float cutout_prob; /* cutout of a square where the mean saliency is low */
    float cutout_size;
    float cutout_threshold; /* the square's mean saliency must stay below threshold * max */
} gcam_guided_config;

void gcam_guided_config_default(gcam_guided_config *c);

/* One map per training image. Memory: n * (map_size^2 + 4) bytes, e.g. 260 bytes per
 * image at map_size 16. */
typedef struct gcam_map_cache {
    int n, size;
    int covered;         /* images with a map */
    unsigned char *maps; /* (n, size, size) saliency in [0, 1] as 0..255, source coordinates */
    int32_t *refreshed;  /* (n) iteration of the image's last refresh; -1: no map yet */
} gcam_map_cache;

void gcam_map_cache_init(gcam_map_cache *cache, int n, int size);
void gcam_map_cache_free(gcam_map_cache *cache);
/* A map over the whole image at any resolution (h, w) as size x size cells (0..255):
 * each cell is the mean of the map over the cell's area. */
void gcam_map_cells(const float *map, int h, int w, int size, unsigned char *cells);
/* Stores image id's cells, refreshed at `iteration`. */
void gcam_map_cache_put(gcam_map_cache *cache, int id, const unsigned char *cells,
                        int32_t iteration);
/* gcam_map_cells then gcam_map_cache_put. */
void gcam_map_cache_store(gcam_map_cache *cache, int id, const float *map, int h, int w,
                          int32_t iteration);
/* Copies image id's map into out (size, size) as floats in [0, 1]; 0 if it has none. */
int gcam_map_cache_get(const gcam_map_cache *cache, int id, float *out);
/* Images with a map, and the mean age in iterations of their maps at `iteration` (a scan
 * of the cache; mean_age may be NULL). */
int gcam_map_cache_covered(const gcam_map_cache *cache, int32_t iteration, double *mean_age);

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

/* Step 1, before the image is warped: finds the sample's map (from the cache; for
 * GCAM_GUIDE_SHUFFLED, another image's cached map if this image has one) and, with probability
 * crop_prob, replaces the geometric part of *warp by a crop around the salient region zoomed to the
 * net_w x net_h input (the flip is kept). sample->map must hold map_size^2 floats. */
void gcam_guided_geometry(const gcam_guided_config *cfg, const gcam_map_cache *cache, int id,
                          int src_w, int src_h, int net_w, int net_h, gcam_rng *rng,
                          gcam_warp *warp, gcam_guided_sample *sample);

/* Step 2, on the warped image x (c, h, w): the drop mask or the keep mask (at most one
 * of them), then the cutout, each with its probability. */
void gcam_guided_masks(const gcam_guided_config *cfg, const gcam_warp *warp, int src_w, int src_h,
                       float *x, int c, int h, int w, gcam_rng *rng, gcam_guided_sample *sample);

/* The map in the warped image's coordinates: out (h, w), bilinear, edges clamped. */
void gcam_guided_warp_map(const float *map, int map_size, const gcam_warp *warp, int src_w,
                          int src_h, float *out, int w, int h);

#endif
