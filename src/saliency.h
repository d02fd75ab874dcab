/* Saliency maps (class activation maps) for a batch of images on a loaded network:
 * Group-CAM (the published variant), Grad-CAM, Grad-CAM++, Integrated Grad-CAM,
 * Score-CAM and RISE, as specified in
 * shared/notes/groupcam.md. Gradients are inference-mode (rolling batch-norm
 * statistics) and touch no training state. */
#ifndef GCAM_SALIENCY_H
#define GCAM_SALIENCY_H

#include "gcam.h"

typedef enum gcam_method {
    GCAM_METHOD_GROUPCAM,
    GCAM_METHOD_GRADCAM,
    GCAM_METHOD_GRADCAMPP,
    GCAM_METHOD_IGCAM,
    GCAM_METHOD_SCORECAM,
    GCAM_METHOD_RISE
} gcam_method;

/* "groupcam", "gradcam", "gradcampp", "igcam", "scorecam", "rise"; -1 if unknown. */
int gcam_method_from_name(const char *name);
const char *gcam_method_name(gcam_method m);

#define GCAM_LAYER_AUTO 0x7fffffff

typedef struct gcam_saliency_options {
    gcam_method method;
    int layer;          /* target layer; negative counts from the end; GCAM_LAYER_AUTO: the
                           last layer with spatial size > 1 before global pooling */
    int groups;         /* Group-CAM groups G (32), clamped to the layer's channels */
    float theta;        /* Group-CAM de-noising percentile (70) */
    int blur_size;      /* Gaussian kernel size; 0: 51 px at 224, scaled to the input */
    float blur_sigma;   /* 0: 50 at 224, scaled to the input */
    int ig_steps;       /* Integrated Grad-CAM steps m (50) */
    int rise_n, rise_s; /* RISE masks N (4000) and grid size s (7) */
    float rise_p;       /* RISE cell probability p (0.5) */
    unsigned long seed; /* RISE masks */
} gcam_saliency_options;

void gcam_saliency_options_default(gcam_saliency_options *o);

/* The cfg's own choice of target layer: [gcam] saliency_layer (auto or an index,
 * negative from the end) into *layer if the cfg has the key; errors name the key. */
int gcam_saliency_layer_from_cfg(const gcam_net *net, int *layer, gcam_error *err);

/* The resolved target layer for o on net, or -1 with err. */
int gcam_saliency_layer(const gcam_net *net, const gcam_saliency_options *o, gcam_error *err);

/* Maps of n images (n <= net capacity). images: (n, c, h, w); classes: (n) class per
 * image, or NULL (or -1 entries) for the predicted class; used: (n) the class used, may
 * be NULL. maps: (n, h, w) in [0, 1]. constant: (n) set to 1 where the map would be
 * constant (it is then all zeros), may be NULL. */
int gcam_saliency(gcam_net *net, const float *images, int n, const int *classes,
                  const gcam_saliency_options *o, float *maps, int *used, int *constant,
                  gcam_error *err);

/* Softmax probability of class c for image i of the last forward, whose output is out
 * (the network's last layer); works with or without a final [softmax]. */
float gcam_class_probability(const gcam_net *net, const float *out, int i, int c);

/* Group-CAM's blur (51 px, sigma 50 at 224x224) scaled to an h x w input. */
void gcam_blur_parameters(int h, int w, int *size, float *sigma);

/* ---- building blocks, exposed for tests ---- */

/* Separable Gaussian blur of im (c, h, w) into out, mirrored borders (d c b | a b c d). */
void gcam_gaussian_blur(const float *im, int c, int h, int w, int size, float sigma, float *out);
/* Bilinear resize (half-pixel centres, align_corners = false) of src (h, w) to dst (H, W). */
void gcam_upsample(const float *src, int h, int w, float *dst, int H, int W);
/* Linear-interpolated percentile (numpy's default) of n values; sorts a copy. */
float gcam_percentile(const float *x, int n, float p);

#endif
