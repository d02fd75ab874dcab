/* Convolutional layer kernels on OpenBLAS. Layouts (Darknet's):
 *   input  (batch, c, h, w)         weights (n, c/groups, size, size)
 *   output (batch, n, out_h, out_w) workspace: one group's column buffer
 *                                   (c/groups * size * size, out_h * out_w)
 * A 1x1, stride-1, unpadded convolution reads the input directly as its column buffer.
 * Input gradients are added into net.delta (Darknet stores over it for 1x1 layers,
 * which erases gradients that a later shortcut or route already put there). */
#include "error.h"
#include "kernels.h"
#include "parallel.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

/* Range [lo, hi) of output positions o with 0 <= o*stride - pad + k < size. */
static void valid_range(int out, int size, int stride, int pad, int k, int *lo, int *hi) {
    int first = pad - k; /* o*stride >= first */
    *lo = first <= 0 ? 0 : (first + stride - 1) / stride;
    int last = size + pad - k; /* o*stride < last */
    *hi = last <= 0 ? 0 : (last + stride - 1) / stride;
    if (*hi > out) *hi = out;
    if (*lo > *hi) *lo = *hi;
}

void gcam_im2col(const float *im, int channels, int height, int width, int ksize, int stride,
                 int pad, float *col, size_t col_ld) {
    int out_h = (height + 2 * pad - ksize) / stride + 1;
    int out_w = (width + 2 * pad - ksize) / stride + 1;
    for (int c = 0; c < channels; ++c) {
        const float *plane = im + (size_t)c * height * width;
        for (int ki = 0; ki < ksize; ++ki) {
            int oh_lo, oh_hi;
            valid_range(out_h, height, stride, pad, ki, &oh_lo, &oh_hi);
            for (int kj = 0; kj < ksize; ++kj) {
                float *row = col + ((size_t)(c * ksize + ki) * ksize + kj) * col_ld;
                int ow_lo, ow_hi;
                valid_range(out_w, width, stride, pad, kj, &ow_lo, &ow_hi);
                /* Rows are short (tens of floats): plain loops, which the compiler
                 * vectorises, beat memcpy/memset calls here. */
                for (int i = 0; i < oh_lo * out_w; ++i) row[i] = 0;
                for (int oh = oh_lo; oh < oh_hi; ++oh) {
                    float *dst = row + (size_t)oh * out_w;
                    const float *src = plane + (size_t)(oh * stride - pad + ki) * width - pad + kj;
                    for (int ow = 0; ow < ow_lo; ++ow) dst[ow] = 0;
                    if (stride == 1) {
                        for (int ow = ow_lo; ow < ow_hi; ++ow) dst[ow] = src[ow];
                    } else {
                        for (int ow = ow_lo; ow < ow_hi; ++ow) dst[ow] = src[ow * stride];
                    }
                    for (int ow = ow_hi; ow < out_w; ++ow) dst[ow] = 0;
                }
                for (int i = oh_hi * out_w; i < out_h * out_w; ++i) row[i] = 0;
            }
        }
    }
}

void gcam_col2im_add(const float *col, size_t col_ld, int channels, int height, int width,
                     int ksize, int stride, int pad, float *im) {
    int out_h = (height + 2 * pad - ksize) / stride + 1;
    int out_w = (width + 2 * pad - ksize) / stride + 1;
    for (int c = 0; c < channels; ++c) {
        float *plane = im + (size_t)c * height * width;
        for (int ki = 0; ki < ksize; ++ki) {
            int oh_lo, oh_hi;
            valid_range(out_h, height, stride, pad, ki, &oh_lo, &oh_hi);
            for (int kj = 0; kj < ksize; ++kj) {
                const float *row = col + ((size_t)(c * ksize + ki) * ksize + kj) * col_ld;
                int ow_lo, ow_hi;
                valid_range(out_w, width, stride, pad, kj, &ow_lo, &ow_hi);
                for (int oh = oh_lo; oh < oh_hi; ++oh) {
                    const float *src = row + (size_t)oh * out_w;
                    float *dst = plane + (size_t)(oh * stride - pad + ki) * width - pad + kj;
                    if (stride == 1) {
                        for (int ow = ow_lo; ow < ow_hi; ++ow) dst[ow] += src[ow];
                    } else {
                        for (int ow = ow_lo; ow < ow_hi; ++ow) dst[ow * stride] += src[ow];
                    }
                }
            }
        }
    }
}

static void add_bias(float *x, const float *bias, int batch, int channels, int spatial) {
    for (int b = 0; b < batch; ++b)
        for (int c = 0; c < channels; ++c) {
            float *p = x + ((size_t)b * channels + c) * spatial;
            for (int i = 0; i < spatial; ++i) p[i] += bias[c];
        }
}

static void accumulate_bias_gradient(float *bias_updates, const float *delta, int batch,
                                     int channels, int spatial) {
    for (int b = 0; b < batch; ++b)
        for (int c = 0; c < channels; ++c) {
            const float *p = delta + ((size_t)b * channels + c) * spatial;
            float sum = 0;
            for (int i = 0; i < spatial; ++i) sum += p[i];
            bias_updates[c] += sum;
        }
}

static int reads_input_directly(const layer *l) {
    return l->size == 1 && l->stride == 1 && l->pad == 0;
}

/* ---- how a layer's work is split ------------------------------------------------------
 * Parallelism: with a batch of at least two images, the images are split between the
 * kernel threads (parallel.h) and each runs single-threaded GEMMs on its own share, so
 * that im2col, copies and GEMMs all run in parallel. Weight gradients of parts other
 * than the first go to private buffers that are added afterwards. A single image uses
 * OpenBLAS's own threads.
 *
 * Batching: many small GEMMs (one per image, a few dozen columns each for late layers or
 * small images) run far below peak. For ungrouped layers the column matrices of several
 * images are laid side by side, (k, images * spatial), and multiplied at once.
 *
 * Scratch buffers are per thread and per use, grow on demand, and live for the process. */

#define BATCH_TARGET_COLUMNS 1024       /* enough columns for a GEMM to run at speed */
#define BATCH_MAX_COL_FLOATS (8u << 20) /* 32 MB per scratch buffer */
#define MAX_PARTS 16

enum { SCRATCH_COLUMNS, SCRATCH_ROWS, SCRATCH_WEIGHT_GRADIENT, SCRATCH_KINDS };

static float *scratch_buffers[MAX_PARTS][SCRATCH_KINDS];
static size_t scratch_sizes[MAX_PARTS][SCRATCH_KINDS];

static float *scratch(int part, int kind, size_t floats) {
    if (scratch_sizes[part][kind] < floats) {
        free(scratch_buffers[part][kind]);
        scratch_buffers[part][kind] = gcam_xmalloc(sizeof(float) * floats);
        scratch_sizes[part][kind] = floats;
    }
    return scratch_buffers[part][kind];
}

/* Images per GEMM when `images` images are processed: 1 means one GEMM per image. */
static int images_per_gemm(const layer *l, int images) {
    size_t spatial = (size_t)l->out_h * l->out_w, k = (size_t)l->size * l->size * l->c;
    if (l->groups != 1 || images == 1 || spatial >= BATCH_TARGET_COLUMNS) return 1;
    size_t by_columns = BATCH_TARGET_COLUMNS / spatial,
           by_memory = BATCH_MAX_COL_FLOATS / (k * spatial);
    size_t n = by_columns < by_memory ? by_columns : by_memory;
    if (n > (size_t)images) n = (size_t)images;
    return n < 1 ? 1 : (int)n;
}

/* col (k, images * spatial) for images [first, first + images) of input. */
static void gather_columns(const layer *l, const float *input, int first, int images, float *col) {
    size_t spatial = (size_t)l->out_h * l->out_w, ld = spatial * images;
    size_t in_image = (size_t)l->c * l->h * l->w;
    for (int i = 0; i < images; ++i) {
        const float *im = input + (size_t)(first + i) * in_image;
        if (reads_input_directly(l)) {
            for (int c = 0; c < l->c; ++c)
                memcpy(col + c * ld + i * spatial, im + c * spatial, sizeof(float) * spatial);
        } else {
            gcam_im2col(im, l->c, l->h, l->w, l->size, l->stride, l->pad, col + i * spatial, ld);
        }
    }
}

/* Forward of images [lo, hi), as one part. */
static void forward_images(const layer *l, const network *net, int lo, int hi, int part) {
    int per_gemm = images_per_gemm(l, hi - lo);
    size_t spatial = (size_t)l->out_h * l->out_w;
    if (per_gemm > 1) {
        int m = l->n, k = l->size * l->size * l->c;
        for (int first = lo; first < hi; first += per_gemm) {
            int images = hi - first < per_gemm ? hi - first : per_gemm;
            size_t ld = spatial * images;
            float *col = scratch(part, SCRATCH_COLUMNS, (size_t)k * ld);
            float *out = scratch(part, SCRATCH_ROWS, (size_t)m * ld);
            gather_columns(l, net->input, first, images, col);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, (int)ld, k, 1.f, l->weights,
                        k, col, (int)ld, 0.f, out, (int)ld);
            for (int i = 0; i < images; ++i)
                for (int f = 0; f < m; ++f)
                    memcpy(l->output + ((size_t)(first + i) * m + f) * spatial,
                           out + f * ld + i * spatial, sizeof(float) * spatial);
        }
        return;
    }
    int m = l->n / l->groups, k = l->size * l->size * l->c / l->groups;
    size_t in_group = (size_t)l->c / l->groups * l->h * l->w;
    float *col_buffer =
        reads_input_directly(l) ? NULL : scratch(part, SCRATCH_COLUMNS, (size_t)k * spatial);
    for (int b = lo; b < hi; ++b)
        for (int g = 0; g < l->groups; ++g) {
            const float *im = net->input + (size_t)(b * l->groups + g) * in_group;
            const float *col = im;
            if (col_buffer) {
                gcam_im2col(im, l->c / l->groups, l->h, l->w, l->size, l->stride, l->pad,
                            col_buffer, spatial);
                col = col_buffer;
            }
            const float *w = l->weights + (size_t)g * l->nweights / l->groups;
            float *out = l->output + (size_t)(b * l->groups + g) * m * spatial;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, (int)spatial, k, 1.f, w, k,
                        col, (int)spatial, 0.f, out, (int)spatial);
        }
}

/* Backward of images [lo, hi): weight gradients into dw, input gradients into net.delta. */
static void backward_images(const layer *l, const network *net, int lo, int hi, int part,
                            float *dw) {
    int per_gemm = images_per_gemm(l, hi - lo);
    size_t spatial = (size_t)l->out_h * l->out_w, in_image = (size_t)l->c * l->h * l->w;
    if (per_gemm > 1) {
        int m = l->n, k = l->size * l->size * l->c;
        for (int first = lo; first < hi; first += per_gemm) {
            int images = hi - first < per_gemm ? hi - first : per_gemm;
            size_t ld = spatial * images;
            float *delta = scratch(part, SCRATCH_ROWS, (size_t)m * ld);
            float *col = scratch(part, SCRATCH_COLUMNS, (size_t)k * ld);
            for (int i = 0; i < images; ++i)
                for (int f = 0; f < m; ++f)
                    memcpy(delta + f * ld + i * spatial,
                           l->delta + ((size_t)(first + i) * m + f) * spatial,
                           sizeof(float) * spatial);
            if (net->train) {
                gather_columns(l, net->input, first, images, col);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, k, (int)ld, 1.f, delta,
                            (int)ld, col, (int)ld, 1.f, dw, k);
            }
            if (!net->delta) continue;
            /* col is free again: it receives the column gradient. */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, (int)ld, m, 1.f, l->weights, k,
                        delta, (int)ld, 0.f, col, (int)ld);
            for (int i = 0; i < images; ++i) {
                float *in_delta = net->delta + (size_t)(first + i) * in_image;
                if (reads_input_directly(l)) {
                    for (int c = 0; c < l->c; ++c) {
                        const float *src = col + c * ld + i * spatial;
                        float *dst = in_delta + c * spatial;
                        for (size_t j = 0; j < spatial; ++j) dst[j] += src[j];
                    }
                } else {
                    gcam_col2im_add(col + i * spatial, ld, l->c, l->h, l->w, l->size, l->stride,
                                    l->pad, in_delta);
                }
            }
        }
        return;
    }
    int m = l->n / l->groups, k = l->size * l->size * l->c / l->groups;
    size_t in_group = (size_t)l->c / l->groups * l->h * l->w;
    float *col_buffer = scratch(part, SCRATCH_COLUMNS, (size_t)k * spatial);
    for (int b = lo; b < hi; ++b)
        for (int g = 0; g < l->groups; ++g) {
            const float *im = net->input + (size_t)(b * l->groups + g) * in_group;
            const float *delta = l->delta + (size_t)(b * l->groups + g) * m * spatial;
            const float *w = l->weights + (size_t)g * l->nweights / l->groups;
            if (net->train) {
                const float *col = im;
                if (!reads_input_directly(l)) {
                    gcam_im2col(im, l->c / l->groups, l->h, l->w, l->size, l->stride, l->pad,
                                col_buffer, spatial);
                    col = col_buffer;
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, k, (int)spatial, 1.f, delta,
                            (int)spatial, col, (int)spatial, 1.f,
                            dw + (size_t)g * l->nweights / l->groups, k);
            }
            if (!net->delta) continue;
            float *in_delta = net->delta + (size_t)(b * l->groups + g) * in_group;
            if (reads_input_directly(l)) {
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, (int)spatial, m, 1.f, w, k,
                            delta, (int)spatial, 1.f, in_delta, (int)spatial);
            } else {
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, (int)spatial, m, 1.f, w, k,
                            delta, (int)spatial, 0.f, col_buffer, (int)spatial);
                gcam_col2im_add(col_buffer, spatial, l->c / l->groups, l->h, l->w, l->size,
                                l->stride, l->pad, in_delta);
            }
        }
}

typedef struct conv_job {
    const layer *l;
    const network *net;
} conv_job;

static void forward_part(void *arg, int part, int parts) {
    conv_job *job = arg;
    int lo, hi;
    gcam_parallel_slice(job->l->batch, part, parts, &lo, &hi);
    forward_images(job->l, job->net, lo, hi, part);
}

static void backward_part(void *arg, int part, int parts) {
    conv_job *job = arg;
    int lo, hi;
    gcam_parallel_slice(job->l->batch, part, parts, &lo, &hi);
    float *dw = job->l->weight_updates;
    if (part > 0 && job->net->train) {
        dw = scratch(part, SCRATCH_WEIGHT_GRADIENT, (size_t)job->l->nweights);
        memset(dw, 0, sizeof(float) * (size_t)job->l->nweights);
    }
    backward_images(job->l, job->net, lo, hi, part, dw);
}

static int split_images(const layer *l) {
    return l->batch >= 2 && gcam_parallel_parts() > 1;
}

/* The convolution itself, output = weights * input: oneDNN's kernels when asked for and
 * able, else im2col and OpenBLAS with the images split between the threads. */
static void convolve(layer *l, network *net, int dnnl) {
    if (dnnl && gcam_dnnl_conv_forward(l, net)) return;
    conv_job job = {l, net};
    if (split_images(l))
        gcam_parallel_run(forward_part, &job);
    else
        forward_images(l, net, 0, l->batch, 0);
}

static void conv_forward(layer l, network net, int dnnl) {
    convolve(&l, &net, dnnl);
    int spatial = l.out_h * l.out_w;
    if (l.batch_normalize) {
        gcam_bn_forward(&l, net.train, l.output, l.batch, l.out_c, spatial, l.activation, dnnl);
    } else {
        add_bias(l.output, l.biases, l.batch, l.n, spatial);
        gcam_act_forward(l.output, (size_t)l.outputs * l.batch, l.activation);
    }
}

void gcam_conv_forward(layer l, network net) {
    conv_forward(l, net, 1);
}

void gcam_conv_forward_blas(layer l, network net) {
    conv_forward(l, net, 0);
}

/* The convolution's gradients: weights (training) and input (when net.delta is set), each
 * on oneDNN when asked for and able, else (what is left of them) on OpenBLAS. */
static void convolve_backward(layer *l, network *all, int dnnl) {
    network rest = *all, *net = &rest;
    int weights_done = 0, input_done = 0;
    if (dnnl) gcam_dnnl_conv_gradients(l, all, &weights_done, &input_done);
    if (weights_done) rest.train = 0;
    if (input_done) rest.delta = NULL;
    if (!rest.train && !rest.delta) return;
    conv_job job = {l, net};
    if (!split_images(l)) {
        backward_images(l, net, 0, l->batch, 0, l->weight_updates);
        return;
    }
    gcam_parallel_run(backward_part, &job);
    if (!net->train) return;
    for (int part = 1; part < gcam_parallel_parts() && part < l->batch; ++part) {
        const float *dw = scratch_buffers[part][SCRATCH_WEIGHT_GRADIENT];
        for (int i = 0; i < l->nweights; ++i) l->weight_updates[i] += dw[i];
    }
}

static void conv_backward(layer l, network net, int dnnl) {
    int spatial = l.out_h * l.out_w;
    if (l.batch_normalize) {
        gcam_bn_backward(&l, net.train, l.output, l.delta, l.batch, l.out_c, spatial, l.activation,
                         dnnl);
    } else {
        gcam_act_backward(l.output, (size_t)l.outputs * l.batch, l.activation, l.delta);
        if (net.train) accumulate_bias_gradient(l.bias_updates, l.delta, l.batch, l.n, spatial);
    }
    convolve_backward(&l, &net, dnnl);
}

void gcam_conv_backward(layer l, network net) {
    conv_backward(l, net, 1);
}

void gcam_conv_backward_blas(layer l, network net) {
    conv_backward(l, net, 0);
}

/* Darknet's SGD with momentum and decay (update_convolutional_layer), fused into one pass:
 * U -= decay*B*W; W += lr/B*U; U *= momentum. Biases and scales without decay. */
static void sgd_step(float *w, float *u, size_t n, float lr_over_b, float decay_b, float momentum) {
    for (size_t i = 0; i < n; ++i) {
        float update = u[i] - decay_b * w[i];
        w[i] += lr_over_b * update;
        u[i] = momentum * update;
    }
}

static void update_parameters(layer *l, update_args a, int channels, size_t nweights) {
    float lr_over_b = a.learning_rate * l->learning_rate_scale / a.batch;
    sgd_step(l->biases, l->bias_updates, (size_t)channels, lr_over_b, 0.f, a.momentum);
    if (l->scales && l->scale_updates)
        sgd_step(l->scales, l->scale_updates, (size_t)channels, lr_over_b, 0.f, a.momentum);
    sgd_step(l->weights, l->weight_updates, nweights, lr_over_b, a.decay * a.batch, a.momentum);
}

void gcam_conv_update(layer l, update_args a) {
    update_parameters(&l, a, l.n, (size_t)l.nweights);
}

void gcam_connected_update(layer l, update_args a) {
    update_parameters(&l, a, l.outputs, (size_t)l.inputs * l.outputs);
}
