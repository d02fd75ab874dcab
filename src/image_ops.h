/* Image operations shared by saliency, guided augmentation, evaluation and reporting.
 * Images are planar (c, h, w) float buffers; maps are (h, w). gcam_image_resize, the
 * resampling of whole images, is declared with the images in gcam/data.h. */
#ifndef GCAM_IMAGE_OPS_H
#define GCAM_IMAGE_OPS_H

#include "gcam/data.h"
#include "gcam/settings.h"

#include <stddef.h>

/* The crop of src to box (x0 y0 x1 y1 in source pixels, end exclusive; it may reach
 * outside the image, whose edge pixels then extend it) resampled into dst (c, h, w) with
 * gcam_image_resize's filter: a triangle that widens to average when it shrinks. The
 * whole image as the box gives exactly gcam_image_resize's image, so every crop a
 * training view, a test-time crop or a validation image takes from a source is filtered
 * alike. */
void gcam_image_resample_box(const gcam_image *src, const float box[4], int w, int h, float *dst);

/* Separable Gaussian blur of im (c, h, w) into out, mirrored borders (d c b | a b c d). */
void gcam_gaussian_blur(const float *im, int c, int h, int w, int size, float sigma, float *out);

/* Group-CAM's blur (51 px, sigma 50 at 224x224) scaled to an h x w input. */
void gcam_blur_parameters(int h, int w, int *size, float *sigma);

/* The bounding box (x0 y0 x1 y1, end exclusive, in map pixels) of map (h, w)'s pixels
 * >= threshold * its maximum: all of them, or (region peak) those 4-connected to the
 * maximum (the first in raster order) through such pixels; the whole map when it is
 * constant. The box every crop around a map starts from. */
void gcam_map_box(const float *map, int h, int w, float threshold, gcam_box_region region,
                  float box[4]);

/* Bilinear resize (half-pixel centres, align_corners = false) of src (h, w) to dst (H, W). */
void gcam_upsample(const float *src, int h, int w, float *dst, int H, int W);

/* Linear-interpolated percentile (numpy's default) of n values; sorts a copy. */
float gcam_percentile(const float *x, int n, float p);

/* Min-max normalises m (n values) into [0, 1]; returns 0, leaving zeros, if m is
 * constant (never NaN). */
int gcam_normalise(float *m, size_t n);

#endif
