/* Fast CPU kernels for Darknet layers, and the primitives they are built from. Each
 * layer kernel has Darknet's signature so it can be installed in a layer's function
 * pointers. Conventions follow Darknet: `delta` buffers hold the negative gradient of
 * the loss (or, for saliency, the gradient of the seeded score); gradients are always
 * added into the buffers they flow to, never stored over them.
 *
 * Training (net.train = 1) uses batch statistics and accumulates weight updates.
 * Inference (net.train = 0) uses rolling statistics; its backward computes only input
 * gradients and touches no weights, updates or statistics. */
#ifndef GCAM_KERNELS_H
#define GCAM_KERNELS_H

#include "gcam/core.h"

#include <darknet.h>
#include <stdint.h>

/* Darknet's normalisation epsilons: the forward pass divides by sqrt(var) + 1e-6. Our
 * backward is the exact derivative of that forward. */
#define GCAM_BN_EPSILON 0.000001f

/* ---- primitives ---- */

/* y = act(x) in place, n values. */
void gcam_act_forward(float *x, size_t n, ACTIVATION a);
/* delta *= act'(y) where y = act(x) is the stored output. */
void gcam_act_backward(const float *y, size_t n, ACTIVATION a, float *delta);
/* The same two on the calling thread alone, for kernels that fold them into their own
 * passes (batch norm) and so sweep memory once. */
void gcam_act_slice(float *x, size_t n, ACTIVATION a);
void gcam_act_gradient_slice(const float *y, size_t n, ACTIVATION a, float *delta);

/* Column buffer for a convolution: im (channels, height, width) ->
 * col (channels * ksize * ksize, out_h * out_w), zero outside the image. Rows of col are
 * col_ld floats apart (col_ld >= out_h * out_w), so that several images' columns can sit
 * side by side in one matrix. */
void gcam_im2col(const float *im, int channels, int height, int width, int ksize, int stride,
                 int pad, float *col, size_t col_ld);
/* Adjoint of im2col: im += scatter of col. */
void gcam_col2im_add(const float *col, size_t col_ld, int channels, int height, int width,
                     int ksize, int stride, int pad, float *im);

/* Batch norm over x (batch, channels, spatial) in place, then scale and shift, then the
 * activation (in the same pass). Training: batch mean and unbiased variance into
 * mean/variance, x_norm saved, rolling statistics updated as Darknet does (0.99 / 0.01).
 * Inference: rolling statistics. vector_sums: the training sums in vector lanes (the fast
 * kernels); 0 keeps the order GCAM_KERNELS=blas's recorded results were computed in. */
void gcam_bn_forward(layer *l, int train, float *x, int batch, int channels, int spatial,
                     ACTIVATION activation, int vector_sums);
/* Backward of bn_forward: delta (batch, channels, spatial) is multiplied by the
 * activation's derivative at y (bn_forward's result), then turned in place into the
 * gradient with respect to the pre-normalisation values. Training also accumulates
 * bias_updates and scale_updates. */
void gcam_bn_backward(layer *l, int train, const float *y, float *delta, int batch, int channels,
                      int spatial, ACTIVATION activation, int vector_sums);
/* Synchronised batch norm across the ranks of a data-parallel job: in training, the
 * per-channel sums behind the mean and variance (forward) and behind the gradient's mean
 * and coupling (backward) go through sum(context, values, n), which must sum them over
 * `ranks` processes with the same batch each, so that every rank normalises with the
 * job's statistics. The weight updates keep each rank's own share. NULL turns it off. */
typedef void (*gcam_bn_sum_fn)(void *context, double *values, int n);
void gcam_bn_set_sync(gcam_bn_sum_fn sum, void *context, int ranks);

/* ---- layer kernels (Darknet signatures) ---- */
/* Convolutions on oneDNN where it runs the layer (ungrouped), else on OpenBLAS; the
 * _blas pair always on OpenBLAS (GCAM_KERNELS=blas). */
void gcam_conv_forward(layer l, network net);
void gcam_conv_backward(layer l, network net);
void gcam_conv_forward_blas(layer l, network net);
void gcam_conv_backward_blas(layer l, network net);
/* The convolution alone (no bias, batch norm or activation) on oneDNN: output = (forward),
 * weight_updates += (weight gradient, when net.train) and net.delta += (input gradient,
 * when net.delta is set; the output gradient is reordered once for both). The forward
 * returns, and the gradients set *weights_done and *input_done to, 0 if oneDNN does not
 * run this layer or failed before it wrote that result (the caller then uses OpenBLAS),
 * 1 when done. */
int gcam_dnnl_conv_forward(const layer *l, const network *net);
void gcam_dnnl_conv_gradients(const layer *l, const network *net, int *weights_done,
                              int *input_done);
void gcam_conv_update(layer l, update_args a);
void gcam_connected_forward(layer l, network net);
void gcam_connected_backward(layer l, network net);
void gcam_connected_update(layer l, update_args a);
void gcam_batchnorm_forward(layer l, network net);
void gcam_batchnorm_backward(layer l, network net);
void gcam_maxpool_forward(layer l, network net);
/* The overlap of a shortcut between two shapes, Darknet's rule: `add` (c1, h1, w1) goes
 * onto `out` (c2, h2, w2) over min_c channels and min_h x min_w positions, row j and
 * column i of add read at (j, i) * stride and written at (j, i) * sample. */
typedef struct gcam_overlap {
    int w1, h1, c1, w2, h2, c2, stride, sample, min_w, min_h, min_c;
} gcam_overlap;

static inline gcam_overlap gcam_overlap_of(int w1, int h1, int c1, int w2, int h2, int c2) {
    gcam_overlap o = {w1, h1, c1, w2, h2, c2, w1 / w2, w2 / w1, 0, 0, 0};
    if (o.stride < 1) o.stride = 1;
    if (o.sample < 1) o.sample = 1;
    o.min_w = w1 < w2 ? w1 : w2, o.min_h = h1 < h2 ? h1 : h2, o.min_c = c1 < c2 ? c1 : c2;
    return o;
}

/* Residual layers: one fused, threaded sweep, bit for bit Darknet's result. */
void gcam_shortcut_forward(layer l, network net);
void gcam_shortcut_backward(layer l, network net);
void gcam_maxpool_backward(layer l, network net);
/* Dropout forward with a mask drawn from gcam's generator, seeded by (the run's seed,
 * images seen, layer index) instead of Darknet's global rand(). */
void gcam_dropout_forward(layer l, network net);
/* Dropout backward that is the identity in inference, where Darknet would apply the
 * stale mask of the last training forward. Training defers to Darknet. */
void gcam_dropout_backward(layer l, network net);

/* ---- installing them ---- */

/* Points every layer's forward/backward/update at the chosen kernel set. Layer types
 * without a fast kernel keep Darknet's. */
void gcam_kernels_install(network *net, gcam_kernels kernels);

/* The run's seed for dropout masks (default 0). */
void gcam_kernels_set_seed(uint64_t seed);

#endif
