/* Class probabilities of images: gcam-predict's engine. */
#ifndef GCAM_PREDICT_H
#define GCAM_PREDICT_H

#include "gcam/core.h"
#include "gcam/settings.h"

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Prints the top classes of each image to out (names from the .data file's names= or
 * labels= when s->data_path is set) under the cfg s->cfg_path and weights, and writes
 * every probability to s->predict.probs (float32 (images, classes) .npy, NaN rows for
 * unreadable images) when set. Images of the network's input size are used as they are;
 * others are resized to it. Unreadable images are reported on stderr, counted in
 * *unreadable and skipped. */
GCAM_API int gcam_predict_run(const gcam_settings *s, const char *weights, char *const *images,
                              int n_images, FILE *out, int *unreadable, gcam_error *err);

#ifdef __cplusplus
}
#endif
#endif
