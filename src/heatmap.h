/* Heatmap pictures: a saliency map drawn over its image with the jet colour map, alone
 * (gcam_heatmap_write_png in gcam/saliency.h), in memory for reports, or as a labelled
 * grid of several images. */
#ifndef GCAM_HEATMAP_H
#define GCAM_HEATMAP_H

#include "gcam/settings.h"

/* Jet colour of v in [0, 1] as r, g, b in [0, 1]. */
void gcam_jet(float v, float *r, float *g, float *b);

/* The picture gcam_heatmap_write_png writes, encoded in memory: a malloc'd PNG of *size
 * bytes (caller frees). */
unsigned char *gcam_heatmap_encode_png(const float *image, int c, int h, int w, const float *map,
                                       float alpha, int scale, int *size);

/* gcam_heatmap_write_png with a box (x0 y0 x1 y1 in input pixels; NULL: none) drawn on
 * the overlay as a white line on a black one, so that it shows on any colour. map NULL
 * writes the image alone. */
int gcam_heatmap_write_png_boxed(const char *path, const float *image, int c, int h, int w,
                                 const float *map, float alpha, int scale, const float *box,
                                 gcam_error *err);

/* The classes written under one image of a grid; -1: not known. */
typedef struct gcam_heatmap_label {
    int true_class, predicted_class;
} gcam_heatmap_label;

/* Writes a grid of n images (n, c, h, w): the images on the top row, their overlays (maps
 * (n, h, w)) below, each pixel drawn as a scale x scale block, and under each column its
 * true class, its predicted class (names from class_names when not NULL) and the method.
 * Atomic. */
int gcam_heatmap_write_grid_png(const char *path, const float *images, const float *maps, int n,
                                int c, int h, int w, float alpha, int scale,
                                const gcam_heatmap_label *labels, char *const *class_names,
                                gcam_method method, gcam_error *err);

#endif
