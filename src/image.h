/* Image decoding (stb_image: JPEG, PNG, BMP, GIF, TGA, PSD, PNM, HDR) into Darknet's
 * planar float layout, and the deterministic resize shared by prediction, validation and
 * heatmaps. */
#ifndef GCAM_IMAGE_H
#define GCAM_IMAGE_H

#include "gcam.h"

typedef struct gcam_image {
    int w, h, c;
    float *data; /* (c, h, w), values in [0, 1] */
} gcam_image;

/* Images above this many pixels are refused (32 megapixels, 384 MB as RGB floats). */
#define GCAM_IMAGE_MAX_PIXELS (1 << 25)

/* Decodes path to c channels (1: luminance, 3: RGB; grey images are replicated). */
int gcam_image_load(gcam_image *im, const char *path, int c, gcam_error *err);
void gcam_image_free(gcam_image *im);

/* Resamples src to w x h with a separable triangle filter whose support widens when
 * shrinking (so downscaling averages instead of aliasing); half-pixel centres. An image
 * already w x h is copied unchanged. dst is allocated (caller frees). */
void gcam_image_resize(const gcam_image *src, int w, int h, gcam_image *dst);

/* Loads and resizes to the network input: writes (c, h, w) floats into out. */
int gcam_image_load_for_net(const char *path, int w, int h, int c, float *out, gcam_error *err);

#endif
