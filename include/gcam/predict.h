/* Class probabilities of images (gcam-predict's engine), and test-time crops. */
#ifndef GCAM_PREDICT_H
#define GCAM_PREDICT_H

#include "gcam/core.h"
#include "gcam/data.h"
#include "gcam/settings.h"

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What gcam_tta_logits reports beside the logits. */
typedef struct gcam_tta_report {
    /* (n) out, may be NULL: the crop mode's last box of each image, x0 y0 x1 y1 in input
     * pixels of the whole image (the whole image where no mode needed a map) */
    float (*crop_boxes)[4];
    /* added to by each call: each mode's wall-clock seconds for the call's images, the
     * whole image's forward counted in every mode and the boxes' maps in every mode that
     * needs them */
    double seconds[GCAM_TTA_MODE_COUNT];
    /* set by each call: each mode's multiply-adds per image (convolutions and connected
     * layers; a map's backward counted as the forward of the layers above its target),
     * NaN where the map's method is not a gradient method */
    double multiply_adds[GCAM_TTA_MODE_COUNT];
} gcam_tta_report;

/* Test-time crops of n images (1 <= n <= the net's capacity), images (n, c, h, w) at
 * the input size. For each of the n_modes modes, logits (n_modes, n, classes) gets every
 * image's logits averaged with those of crops resampled to the input: around the pixels
 * of its map (o->method at the predicted class, computed with so's other settings on the
 * input-sized image) at or above o->threshold of the maximum, given the input's aspect
 * ratio and enlarged by o->margin (crop); with o->steps K > 1, K crops in a row, each
 * around the map of the crop before (at the class the logits so far predict), so that
 * each looks closer; boxes of the sizes of those crops, centred (center) or at random
 * places seeded by o->seed and ids (n) (random); or the ground-truth box (oracle, one
 * crop): boxes (n) x0 y0 x1 y1 in input pixels, NaN x0 where an image has none (its crop
 * is then the whole image). GCAM_TTA_NONE gives the whole image's logits.
 * With sources (n decoded images, each resized to images[i] by gcam_image_resize) and
 * o->crop_source image, each box is mapped to its source's pixels and cut from there at
 * the source's resolution; otherwise it is cut from images and zoomed. boxes, ids,
 * sources and report may be NULL. */
GCAM_API int gcam_tta_logits(gcam_net *net, const gcam_tta_options *o,
                             const gcam_saliency_options *so, const gcam_tta_mode *modes,
                             int n_modes, const float *images, const gcam_image *sources, int n,
                             const float (*boxes)[4], const int *ids, float *logits,
                             gcam_tta_report *report, gcam_error *err);

/* Prints the top classes of each image of `inputs` (files, folders, lists: see
 * gcam_path_list_expand) to out (names from the data set's classes when
 * s->data_path is set) under the cfg s->cfg_path and weights, with the test-time crop
 * s->predict.tta (boxes from s->predict.boxes for oracle), and writes every probability
 * to s->predict.probs (float32 (images, classes) .npy, NaN rows for unreadable images)
 * when set. Images of the network's input size are used as they are; others are resized
 * to it. Unreadable images are reported on stderr, counted in *unreadable and skipped.
 *
 * stop (may be NULL) is polled between batches: once it is non-zero, the images not yet
 * predicted are left out (NaN rows in the .npy, which is still written) and the value
 * of *stop is returned. Otherwise 0, or -1 on an error. */
GCAM_API int gcam_predict_run(const gcam_settings *s, const char *weights, char *const *inputs,
                              int n_inputs, FILE *out, int *unreadable,
                              const volatile sig_atomic_t *stop, gcam_error *err);

#ifdef __cplusplus
}
#endif
#endif
