/* Heatmap images: a saliency map drawn over its image with the jet colour map. */
#ifndef GCAM_HEATMAP_H
#define GCAM_HEATMAP_H

#include "gcam.h"

/* Jet colour of v in [0, 1] as r, g, b in [0, 1]. */
void gcam_jet(float v, float *r, float *g, float *b);

/* Writes image (c, h, w) in [0, 1] blended with jet(map (h, w)) as an 8-bit RGB PNG:
 * (1 - alpha) * image + alpha * jet, each pixel drawn as a scale x scale block (for
 * small inputs). Grey images are drawn grey. Atomic. */
int gcam_heatmap_write_png(const char *path, const float *image, int c, int h, int w,
                           const float *map, float alpha, int scale, gcam_error *err);

/* Writes a grid of n images (n, c, h, w): the images on the top row and their overlays
 * (maps (n, h, w)) below, each pixel drawn as a scale x scale block. Atomic. */
int gcam_heatmap_write_grid_png(const char *path, const float *images, const float *maps, int n,
                                int c, int h, int w, float alpha, int scale, gcam_error *err);

/* The same picture as gcam_heatmap_write_png, encoded in memory: a malloc'd PNG of
 * *size bytes. */
unsigned char *gcam_heatmap_encode_png(const float *image, int c, int h, int w, const float *map,
                                       float alpha, int scale, int *size);

/* Encodes an 8-bit RGB canvas (h, w, 3) as a PNG file, atomically. */
int gcam_png_write_rgb(const char *path, const unsigned char *rgb, int w, int h, gcam_error *err);

#endif
