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
#include "parallel.h"

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

/* The passes over a layer's channels, each channel's arithmetic independent of the
 * others': the kernel threads take contiguous slices of channels, and every value comes
 * out as from one thread. Batch statistics need whole sums (over the job's ranks too)
 * between passes, so a pass is one parallel run. */
typedef enum {
    INFERENCE_FORWARD,  /* x = act(a x + b) */
    CHANNEL_SUMS,       /* sums[c] = sum of x */
    SQUARED_DEVIATIONS, /* sums[c] = sum of (x - mean)^2 */
    NORMALISE,          /* statistics, x_norm and x = act(gamma x_norm + beta) */
    INFERENCE_BACKWARD, /* delta *= act'(y) a */
    GRADIENT_SUMS,      /* delta *= act'(y); sums: (2, channels), sum delta and
                           sum delta * x_norm */
    INPUT_GRADIENT      /* delta = the input gradient */
} bn_pass;

typedef struct bn_job {
    bn_pass pass;
    layer *l;
    float *x;       /* (batch, channels, spatial): the activations or their gradient */
    const float *y; /* backward: (batch, channels, spatial), the forward's result */
    ACTIVATION activation;
    int vector_sums; /* plane sums in vector lanes (see plane_sum) */
    int batch, channels, spatial;
    double count; /* values per channel over the job */
    double *sums;
} bn_job;

/* Sums over one (image, channel) plane of n values, in `lanes` interleaved partial sums
 * added in lane order at the end. With LANES the compiler keeps them in one vector
 * register (ResNet-18's and -50's training steps 3 % faster than a single running sum,
 * which waits on each addition's latency); with 1 they are the one running sum
 * GCAM_KERNELS=blas has always used, bit for bit (0 + s is s). bn_channel passes a
 * constant, so each use compiles to its own loop. */
#define LANES 16

static inline float plane_sum(const float *p, int n, int lanes) {
    float lane[LANES] = {0}, sum = 0;
    int i = 0;
    for (; i + lanes <= n; i += lanes)
        for (int k = 0; k < lanes; ++k) lane[k] += p[i + k];
    for (; i < n; ++i) lane[i % lanes] += p[i];
    for (int k = 0; k < lanes; ++k) sum += lane[k];
    return sum;
}

static inline float plane_squared_deviations(const float *p, int n, float mean, int lanes) {
    float lane[LANES] = {0}, sum = 0;
    int i = 0;
    for (; i + lanes <= n; i += lanes)
        for (int k = 0; k < lanes; ++k) lane[k] += (p[i + k] - mean) * (p[i + k] - mean);
    for (; i < n; ++i) lane[i % lanes] += (p[i] - mean) * (p[i] - mean);
    for (int k = 0; k < lanes; ++k) sum += lane[k];
    return sum;
}

/* *sum_d = sum of d, *sum_dxh = sum of d * xn. */
static inline void plane_gradient_sums(const float *d, const float *xn, int n, int lanes,
                                       float *sum_d, float *sum_dxh) {
    float lane_d[LANES] = {0}, lane_dx[LANES] = {0}, sd = 0, sdx = 0;
    int i = 0;
    for (; i + lanes <= n; i += lanes)
        for (int k = 0; k < lanes; ++k) {
            lane_d[k] += d[i + k];
            lane_dx[k] += d[i + k] * xn[i + k];
        }
    for (; i < n; ++i) {
        lane_d[i % lanes] += d[i];
        lane_dx[i % lanes] += d[i] * xn[i];
    }
    for (int k = 0; k < lanes; ++k) sd += lane_d[k], sdx += lane_dx[k];
    *sum_d = sd, *sum_dxh = sdx;
}

static void bn_channel(const bn_job *job, int c) {
    layer *l = job->l;
    int batch = job->batch, channels = job->channels, spatial = job->spatial;
    double count = job->count, *sums = job->sums;
    switch (job->pass) {
    case INFERENCE_FORWARD:
    case INFERENCE_BACKWARD: {
        float a, b;
        inference_affine(l, c, &a, &b);
        if (job->pass == INFERENCE_BACKWARD) b = 0;
        for (int n = 0; n < batch; ++n) {
            size_t off = ((size_t)n * channels + c) * spatial;
            float *p = job->x + off;
            if (job->pass == INFERENCE_BACKWARD) {
                gcam_act_gradient_slice(job->y + off, (size_t)spatial, job->activation, p);
                for (int i = 0; i < spatial; ++i) p[i] *= a;
            } else {
                for (int i = 0; i < spatial; ++i) p[i] = a * p[i] + b;
                gcam_act_slice(p, (size_t)spatial, job->activation);
            }
        }
        break;
    }
    case CHANNEL_SUMS: {
        double sum = 0;
        for (int n = 0; n < batch; ++n) {
            const float *p = job->x + ((size_t)n * channels + c) * spatial;
            sum += job->vector_sums ? plane_sum(p, spatial, LANES) : plane_sum(p, spatial, 1);
        }
        sums[c] = sum;
        break;
    }
    case SQUARED_DEVIATIONS: {
        float mean = l->mean[c];
        double sq = 0;
        for (int n = 0; n < batch; ++n) {
            const float *p = job->x + ((size_t)n * channels + c) * spatial;
            sq += job->vector_sums ? plane_squared_deviations(p, spatial, mean, LANES)
                                   : plane_squared_deviations(p, spatial, mean, 1);
        }
        sums[c] = sq;
        break;
    }
    case NORMALISE: {
        float mean = l->mean[c];
        float var = count > 1 ? (float)(sums[c] / (count - 1)) : 0.f;
        l->variance[c] = var;
        l->rolling_mean[c] = 0.99f * l->rolling_mean[c] + 0.01f * mean;
        l->rolling_variance[c] = 0.99f * l->rolling_variance[c] + 0.01f * var;
        float inv = 1.f / (sqrtf(var) + GCAM_BN_EPSILON);
        float gamma = l->scales[c], beta = l->biases[c];
        for (int n = 0; n < batch; ++n) {
            size_t off = ((size_t)n * channels + c) * spatial;
            float *p = job->x + off, *xn = l->x_norm + off;
            for (int i = 0; i < spatial; ++i) {
                float h = (p[i] - mean) * inv;
                xn[i] = h;
                p[i] = gamma * h + beta;
            }
            gcam_act_slice(p, (size_t)spatial, job->activation);
        }
        break;
    }
    case GRADIENT_SUMS: {
        double sum_d = 0, sum_dxh = 0;
        for (int n = 0; n < batch; ++n) {
            size_t off = ((size_t)n * channels + c) * spatial;
            float *d = job->x + off;
            const float *xn = l->x_norm + off;
            gcam_act_gradient_slice(job->y + off, (size_t)spatial, job->activation, d);
            float pd, pdx;
            if (job->vector_sums)
                plane_gradient_sums(d, xn, spatial, LANES, &pd, &pdx);
            else
                plane_gradient_sums(d, xn, spatial, 1, &pd, &pdx);
            sum_d += pd;
            sum_dxh += pdx;
        }
        /* the updates take this rank's share: the gradient exchange sums them */
        l->bias_updates[c] += (float)sum_d;
        l->scale_updates[c] += (float)sum_dxh;
        sums[c] = sum_d, sums[channels + c] = sum_dxh;
        break;
    }
    case INPUT_GRADIENT: {
        double sum_d = sums[c], sum_dxh = sums[channels + c];
        float gamma = l->scales[c];
        float s = sqrtf(l->variance[c]);
        float inv = 1.f / (s + GCAM_BN_EPSILON);
        float mean_g = (float)(gamma * sum_d / count);
        float coupling = s > 0 && count > 1 ? (float)(gamma * sum_dxh / (s * (count - 1))) : 0.f;
        for (int n = 0; n < batch; ++n) {
            size_t off = ((size_t)n * channels + c) * spatial;
            float *d = job->x + off;
            const float *xn = l->x_norm + off;
            for (int i = 0; i < spatial; ++i)
                d[i] = (gamma * d[i] - mean_g) * inv - xn[i] * coupling;
        }
        break;
    }
    }
}

static void bn_part(void *arg, int part, int parts) {
    const bn_job *job = arg;
    int lo, hi;
    gcam_parallel_slice(job->channels, part, parts, &lo, &hi);
    for (int c = lo; c < hi; ++c) bn_channel(job, c);
}

/* A layer's passes over x (batch, channels, spatial); run_pass sets the pass. */
static bn_job job_for(layer *l, float *x, const float *y, ACTIVATION activation, int vector_sums,
                      int batch, int channels, int spatial) {
    bn_job job = {INFERENCE_FORWARD,
                  l,
                  x,
                  y,
                  activation,
                  vector_sums,
                  batch,
                  channels,
                  spatial,
                  (double)batch * spatial * sync_ranks,
                  NULL};
    return job;
}

/* Small layers (a connected layer's few values per channel) stay on the calling thread. */
static void run_pass(bn_job *job, bn_pass pass) {
    job->pass = pass;
    gcam_parallel_run_sized(bn_part, job, (size_t)job->batch * job->channels * job->spatial);
}

void gcam_bn_forward(layer *l, int train, float *x, int batch, int channels, int spatial,
                     ACTIVATION activation, int vector_sums) {
    bn_job job = job_for(l, x, NULL, activation, vector_sums, batch, channels, spatial);
    if (!train) {
        run_pass(&job, INFERENCE_FORWARD);
        return;
    }
    job.sums = gcam_xmalloc(sizeof(double) * (size_t)channels); /* (channels) */
    /* Two passes in double: activations of a random init can have a large mean. */
    run_pass(&job, CHANNEL_SUMS);
    if (sync_sum) sync_sum(sync_context, job.sums, channels);
    for (int c = 0; c < channels; ++c) l->mean[c] = (float)(job.sums[c] / job.count);
    run_pass(&job, SQUARED_DEVIATIONS);
    if (sync_sum) sync_sum(sync_context, job.sums, channels);
    run_pass(&job, NORMALISE);
    free(job.sums);
}

void gcam_bn_backward(layer *l, int train, const float *y, float *delta, int batch, int channels,
                      int spatial, ACTIVATION activation, int vector_sums) {
    bn_job job = job_for(l, delta, y, activation, vector_sums, batch, channels, spatial);
    if (!train) {
        run_pass(&job, INFERENCE_BACKWARD);
        return;
    }
    job.sums = gcam_xmalloc(sizeof(double) * 2 * (size_t)channels); /* (2, channels) */
    run_pass(&job, GRADIENT_SUMS);
    if (sync_sum) sync_sum(sync_context, job.sums, 2 * channels);
    run_pass(&job, INPUT_GRADIENT);
    free(job.sums);
}

/* A standalone [batchnorm] layer: output = BN(input); its input gradient is added. */
void gcam_batchnorm_forward(layer l, network net) {
    memcpy(l.output, net.input, sizeof(float) * (size_t)l.outputs * l.batch);
    gcam_bn_forward(&l, net.train, l.output, l.batch, l.out_c, l.out_h * l.out_w, LINEAR, 0);
}

void gcam_batchnorm_backward(layer l, network net) {
    gcam_bn_backward(&l, net.train, l.output, l.delta, l.batch, l.out_c, l.out_h * l.out_w, LINEAR,
                     0);
    if (!net.delta) return;
    size_t n = (size_t)l.outputs * l.batch;
    for (size_t i = 0; i < n; ++i) net.delta[i] += l.delta[i];
}
