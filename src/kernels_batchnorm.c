/* Batch normalisation, as Darknet defines it: y = gamma * (x - mean) / (sqrt(var) + eps)
 * + beta, with the unbiased batch variance in training. Darknet's own backward uses a
 * different epsilon placement than its forward and is only valid in training mode; ours
 * is the exact derivative of the forward in both modes (see tests/test_gradients.c).
 *
 * Training backward, with xh = normalised x, g = gamma * dy, s = sqrt(var),
 * N = batch * spatial:
 *   dx_i = (g_i - mean(g)) / (s + eps) - xh_i * sum_j(g_j xh_j) / (s (N - 1))
 * Inference backward is the per-channel scale gamma / (sqrt(rolling_var) + eps). */
#include "kernels.h"

#include "error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Synchronised batch statistics (gcam_bn_set_sync): the sum over the job's ranks, or NULL
 * in a single process. */
static gcam_bn_sum_fn sync_sum;
static void *sync_context;
static int sync_ranks = 1;

void gcam_bn_set_sync(gcam_bn_sum_fn sum, void *context, int ranks) {
    sync_sum = sum;
    sync_context = context;
    sync_ranks = sum ? ranks : 1;
}

/* Per-channel multiplier and offset of the inference transform y = a x + b. */
static void inference_affine(const layer *l, int c, float *a, float *b) {
    *a = l->scales[c] / (sqrtf(l->rolling_variance[c]) + GCAM_BN_EPSILON);
    *b = l->biases[c] - l->rolling_mean[c] * *a;
}

void gcam_bn_forward(layer *l, int train, float *x, int batch, int channels, int spatial) {
    if (!train) {
        for (int c = 0; c < channels; ++c) {
            float a, b;
            inference_affine(l, c, &a, &b);
            for (int n = 0; n < batch; ++n) {
                float *p = x + ((size_t)n * channels + c) * spatial;
                for (int i = 0; i < spatial; ++i) p[i] = a * p[i] + b;
            }
        }
        return;
    }
    double count = (double)batch * spatial * sync_ranks;
    double *sums = gcam_xmalloc(sizeof(double) * (size_t)channels); /* (channels) */
    /* Two passes in double: activations of a random init can have a large mean. */
    for (int c = 0; c < channels; ++c) {
        double sum = 0;
        for (int n = 0; n < batch; ++n) {
            const float *p = x + ((size_t)n * channels + c) * spatial;
            float partial = 0;
            for (int i = 0; i < spatial; ++i) partial += p[i];
            sum += partial;
        }
        sums[c] = sum;
    }
    if (sync_sum) sync_sum(sync_context, sums, channels);
    for (int c = 0; c < channels; ++c) l->mean[c] = (float)(sums[c] / count);
    for (int c = 0; c < channels; ++c) {
        float mean = l->mean[c];
        double sq = 0;
        for (int n = 0; n < batch; ++n) {
            const float *p = x + ((size_t)n * channels + c) * spatial;
            float partial = 0;
            for (int i = 0; i < spatial; ++i) partial += (p[i] - mean) * (p[i] - mean);
            sq += partial;
        }
        sums[c] = sq;
    }
    if (sync_sum) sync_sum(sync_context, sums, channels);
    for (int c = 0; c < channels; ++c) {
        float mean = l->mean[c];
        float var = count > 1 ? (float)(sums[c] / (count - 1)) : 0.f;
        l->variance[c] = var;
        l->rolling_mean[c] = 0.99f * l->rolling_mean[c] + 0.01f * mean;
        l->rolling_variance[c] = 0.99f * l->rolling_variance[c] + 0.01f * var;
        float inv = 1.f / (sqrtf(var) + GCAM_BN_EPSILON);
        float gamma = l->scales[c], beta = l->biases[c];
        for (int n = 0; n < batch; ++n) {
            size_t off = ((size_t)n * channels + c) * spatial;
            float *p = x + off, *xn = l->x_norm + off;
            for (int i = 0; i < spatial; ++i) {
                float h = (p[i] - mean) * inv;
                xn[i] = h;
                p[i] = gamma * h + beta;
            }
        }
    }
    free(sums);
}

void gcam_bn_backward(layer *l, int train, float *delta, int batch, int channels, int spatial) {
    if (!train) {
        for (int c = 0; c < channels; ++c) {
            float a, b;
            inference_affine(l, c, &a, &b);
            for (int n = 0; n < batch; ++n) {
                float *d = delta + ((size_t)n * channels + c) * spatial;
                for (int i = 0; i < spatial; ++i) d[i] *= a;
            }
        }
        return;
    }
    double count = (double)batch * spatial * sync_ranks;
    double *sums = gcam_xmalloc(sizeof(double) * 2 * (size_t)channels); /* (2, channels) */
    for (int c = 0; c < channels; ++c) {
        double sum_d = 0, sum_dxh = 0;
        for (int n = 0; n < batch; ++n) {
            size_t off = ((size_t)n * channels + c) * spatial;
            const float *d = delta + off, *xn = l->x_norm + off;
            float pd = 0, pdx = 0;
            for (int i = 0; i < spatial; ++i) {
                pd += d[i];
                pdx += d[i] * xn[i];
            }
            sum_d += pd;
            sum_dxh += pdx;
        }
        /* the updates take this rank's share: the gradient exchange sums them */
        l->bias_updates[c] += (float)sum_d;
        l->scale_updates[c] += (float)sum_dxh;
        sums[c] = sum_d, sums[channels + c] = sum_dxh;
    }
    if (sync_sum) sync_sum(sync_context, sums, 2 * channels);
    for (int c = 0; c < channels; ++c) {
        double sum_d = sums[c], sum_dxh = sums[channels + c];
        float gamma = l->scales[c];
        float s = sqrtf(l->variance[c]);
        float inv = 1.f / (s + GCAM_BN_EPSILON);
        float mean_g = (float)(gamma * sum_d / count);
        float coupling = s > 0 && count > 1 ? (float)(gamma * sum_dxh / (s * (count - 1))) : 0.f;
        for (int n = 0; n < batch; ++n) {
            size_t off = ((size_t)n * channels + c) * spatial;
            float *d = delta + off;
            const float *xn = l->x_norm + off;
            for (int i = 0; i < spatial; ++i)
                d[i] = (gamma * d[i] - mean_g) * inv - xn[i] * coupling;
        }
    }
    free(sums);
}

/* A standalone [batchnorm] layer: output = BN(input); its input gradient is added. */
void gcam_batchnorm_forward(layer l, network net) {
    memcpy(l.output, net.input, sizeof(float) * (size_t)l.outputs * l.batch);
    gcam_bn_forward(&l, net.train, l.output, l.batch, l.out_c, l.out_h * l.out_w);
}

void gcam_batchnorm_backward(layer l, network net) {
    gcam_bn_backward(&l, net.train, l.delta, l.batch, l.out_c, l.out_h * l.out_w);
    if (!net.delta) return;
    size_t n = (size_t)l.outputs * l.batch;
    for (size_t i = 0; i < n; ++i) net.delta[i] += l.delta[i];
}
