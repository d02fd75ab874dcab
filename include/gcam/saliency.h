/* Saliency maps (class activation maps) of images under a network: Group-CAM (the
 * published variant), Grad-CAM, Grad-CAM++, Integrated Grad-CAM, Score-CAM and RISE.
 * Gradients are inference-mode (rolling batch-norm statistics) and touch no training
 * state. Also the heatmap pictures, and gcam-heatmap's engine. */
#ifndef GCAM_SALIENCY_H
#define GCAM_SALIENCY_H

#include "gcam/core.h"
#include "gcam/settings.h"

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The saliency settings at their defaults (the table's). */
GCAM_API gcam_saliency_options gcam_saliency_options_default(void);

/* The resolved target layer of o on net, or -1 with err. */
GCAM_API int gcam_saliency_layer(const gcam_net *net, const gcam_saliency_options *o,
                                 gcam_error *err);

/* Maps of n images (1 <= n <= the net's capacity). images: (n, c, h, w); classes: (n)
 * class per image, or NULL (or -1 entries) for the predicted class; used: (n) the class
 * used, may be NULL. maps: (n, h, w) in [0, 1]. constant: (n) set to 1 where the map
 * would be constant (it is then all zeros, never NaN), may be NULL. All of a call's
 * perturbed inputs (Group-CAM's blends, Score-CAM's and RISE's masked images) run as
 * batched forwards of the net's capacity, so memory stays bounded. */
GCAM_API int gcam_saliency(gcam_net *net, const float *images, int n, const int *classes,
                           const gcam_saliency_options *o, float *maps, int *used, int *constant,
                           gcam_error *err);

/* Writes image (c, h, w) in [0, 1] blended with the jet colours of map (h, w) as an RGB
 * PNG: (1 - alpha) * image + alpha * jet, each pixel drawn as a scale x scale block (for
 * small inputs). Grey images are drawn grey. Atomic. */
GCAM_API int gcam_heatmap_write_png(const char *path, const float *image, int c, int h, int w,
                                    const float *map, float alpha, int scale, gcam_error *err);

/* gcam-heatmap: for every image of `inputs` (files, folders, lists: see
 * gcam_path_list_expand), prints its top-5 classes to out and writes
 * <heatmap out_dir>/<stem>_<method>.png (and .npy with heatmap raw), with s's saliency
 * settings and the cfg s->cfg_path. Unreadable images are reported on stderr, counted in
 * *unreadable and skipped. stop (may be NULL) is polled between batches: once it is
 * non-zero the run ends with the heatmaps written so far and returns the value of *stop.
 * Otherwise 0, or -1 on an error. */
GCAM_API int gcam_heatmap_run(const gcam_settings *s, const char *weights, char *const *inputs,
                              int n_inputs, FILE *out, int *unreadable,
                              const volatile sig_atomic_t *stop, gcam_error *err);

#ifdef __cplusplus
}
#endif
#endif
