/* The fused inference forward (inference_plan.h): one oneDNN primitive per convolution
 * (batch norm folded in, activation as a post-op) and pooling layer, and a kernel of our
 * own for shortcuts, all on activations in the channels-last layout (batch, h, w, c). In
 * it oneDNN runs its brgemm convolution kernels, 0-18 % faster per layer on ResNet's
 * shapes here than its direct kernels in the channel-blocked layout (16 channels
 * innermost) this plan used before (ResNet-50's forward 0.565 -> 0.542 s at batch 32,
 * 0.0180 -> 0.0165 s at batch 1), and no layer needs its channels padded to a multiple of
 * 16, so a classifier's head is covered too. The input is reordered into the layout
 * first.
 *
 * Folding batch norm: Darknet computes y = scale * (x - mean) / (sqrt(var) + eps) + bias
 * on the convolution's output x = w * input. With k = scale / (sqrt(var) + eps) that is
 * (k w) * input + (bias - k mean): one convolution with scaled weights and a bias. */
#include "inference_plan.h"

#include "dnnl_engine.h"
#include "error.h"
#include "kernels.h"
#include "parallel.h"

#include <math.h>
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

enum { STEP_PRIMITIVE, STEP_SHORTCUT };

/* One activation tensor of the plan, (batch, c, h, w) stored as (batch, h, w, c). */
typedef struct plan_tensor {
    dnnl_memory_desc_t md;
    int c, h, w;
    int buffer;   /* into plan->buffers */
    int last_use; /* the last step that reads it */
    dnnl_memory_t memory;
} plan_tensor;

typedef struct plan_step {
    int kind;
    const layer *l;
    int src, from, dst; /* tensors; from: a shortcut's second input, else -1 */
    dnnl_primitive_t primitive;
    dnnl_memory_t weights, bias; /* a convolution's, folded, in the primitive's layout */
    float *weights_data, *bias_data;
} plan_step;

struct gcam_inference_plan {
    int batch, limit, covered, layers; /* layers: the network's */
    plan_tensor *tensors; /* (covered + 1): the input, then layer i's output as tensor i + 1 */
    plan_step *steps;     /* (covered) */
    float **buffers;      /* activations, shared between tensors whose lives do not overlap */
    size_t *buffer_bytes;
    int buffer_count;
    dnnl_primitive_t from_darknet; /* the caller's input into tensor 0 */
    dnnl_memory_t darknet_input;
    dnnl_primitive_t to_darknet; /* the last tensor into its layer's Darknet buffer */
    dnnl_memory_t darknet_output;
};

static dnnl_engine_t engine;
static dnnl_stream_t stream;

static int describe(plan_tensor *t, int batch, int c, int h, int w) {
    t->c = c, t->h = h, t->w = w;
    t->buffer = -1;
    t->last_use = -1;
    dnnl_dims_t dims = {batch, c, h, w};
    return dnnl_memory_desc_init_by_tag(&t->md, 4, dims, dnnl_f32, dnnl_nhwc) == dnnl_success;
}

/* The oneDNN element-wise post-op for a Darknet activation; 0 if there is none. */
static int eltwise_of(ACTIVATION a, dnnl_alg_kind_t *alg, float *alpha) {
    *alpha = 0;
    switch (a) {
    case RELU:
        *alg = dnnl_eltwise_relu;
        return 1;
    case LEAKY:
        *alg = dnnl_eltwise_relu, *alpha = 0.1f;
        return 1;
    case LOGISTIC:
        *alg = dnnl_eltwise_logistic;
        return 1;
    default:
        return 0;
    }
}

static int activation_supported(ACTIVATION a, int ours) {
    dnnl_alg_kind_t alg;
    float alpha;
    return a == LINEAR || (ours ? a == RELU || a == LEAKY : eltwise_of(a, &alg, &alpha));
}

/* Reorders `from` (its layout) into `to` (its layout), once. */
static int reorder_once(const dnnl_memory_desc_t *from_md, void *from,
                        const dnnl_memory_desc_t *to_md, void *to) {
    dnnl_primitive_t p = gcam_dnnl_reorder(from_md, to_md, 0);
    int ok = p && gcam_dnnl_reorder_run(p, from_md, from, to_md, to);
    if (p) dnnl_primitive_destroy(p);
    return ok;
}

/* A convolution's weights and bias from its layer, batch norm folded in, the weights in
 * the primitive's layout. */
static int prepare_weights(plan_step *s) {
    const layer *l = s->l;
    const dnnl_memory_desc_t *weights_md = NULL;
    dnnl_memory_desc_t weights_plain;
    dnnl_dims_t weights_dims = {l->n, l->c, l->size, l->size};
    if (dnnl_memory_get_memory_desc(s->weights, &weights_md) ||
        dnnl_memory_desc_init_by_tag(&weights_plain, 4, weights_dims, dnnl_f32, dnnl_oihw))
        return 0;
    size_t per_filter = (size_t)l->c * l->size * l->size;
    float *folded = gcam_xmalloc(sizeof(float) * per_filter * l->n);
    for (int o = 0; o < l->n; ++o) {
        float k = 1.f, shift = 0.f;
        if (l->batch_normalize) {
            k = l->scales[o] / (sqrtf(l->rolling_variance[o]) + GCAM_BN_EPSILON);
            shift = -k * l->rolling_mean[o];
        }
        for (size_t i = 0; i < per_filter; ++i)
            folded[o * per_filter + i] = k * l->weights[o * per_filter + i];
        s->bias_data[o] = l->biases[o] + shift;
    }
    int ok = reorder_once(&weights_plain, folded, weights_md, s->weights_data);
    free(folded);
    return ok;
}

/* A convolution with batch norm folded into weights and bias and the activation as a
 * post-op. */
static int plan_convolution(plan_step *s, const layer *l, const plan_tensor *src,
                            const plan_tensor *dst) {
    if (l->groups != 1 || l->binary || l->xnor || !activation_supported(l->activation, 0)) return 0;
    dnnl_dims_t weights_dims = {l->n, l->c, l->size, l->size}, bias_dims = {l->n},
                strides = {l->stride, l->stride}, pad_l = {l->pad, l->pad},
                pad_r = {(l->out_h - 1) * l->stride + l->size - l->h - l->pad,
                         (l->out_w - 1) * l->stride + l->size - l->w - l->pad};
    if (pad_r[0] < 0 || pad_r[1] < 0) return 0;
    dnnl_memory_desc_t weights_any, bias_md;
    dnnl_convolution_desc_t desc;
    if (dnnl_memory_desc_init_by_tag(&weights_any, 4, weights_dims, dnnl_f32,
                                     dnnl_format_tag_any) ||
        dnnl_memory_desc_init_by_tag(&bias_md, 1, bias_dims, dnnl_f32, dnnl_x) ||
        dnnl_convolution_forward_desc_init(&desc, dnnl_forward_inference, dnnl_convolution_direct,
                                           &src->md, &weights_any, &bias_md, &dst->md, strides,
                                           pad_l, pad_r))
        return 0;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t post_ops = NULL;
    dnnl_alg_kind_t alg;
    float alpha;
    int ok = 1;
    if (eltwise_of(l->activation, &alg, &alpha))
        ok = !dnnl_primitive_attr_create(&attr) && !dnnl_post_ops_create(&post_ops) &&
             !dnnl_post_ops_append_eltwise(post_ops, 1.f, alg, alpha, 0.f) &&
             !dnnl_primitive_attr_set_post_ops(attr, post_ops);
    dnnl_primitive_desc_t pd = NULL;
    if (ok) s->primitive = gcam_dnnl_primitive(&desc, attr, NULL, &pd);
    if (post_ops) dnnl_post_ops_destroy(post_ops);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (!s->primitive) return 0;
    const dnnl_memory_desc_t *weights_md =
        dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    s->weights_data = gcam_xmalloc(dnnl_memory_desc_get_size(weights_md));
    s->bias_data = gcam_xmalloc(sizeof(float) * l->n);
    ok = !dnnl_memory_create(&s->weights, weights_md, engine, s->weights_data) &&
         !dnnl_memory_create(&s->bias, &bias_md, engine, s->bias_data) && prepare_weights(s);
    dnnl_primitive_desc_destroy(pd);
    return ok;
}

/* Darknet's max pooling (window offset -pad/2, padding never the maximum) or its global
 * average pooling. */
static int plan_pooling(plan_step *s, const layer *l, const plan_tensor *src,
                        const plan_tensor *dst) {
    dnnl_dims_t strides = {l->stride, l->stride}, kernel = {l->size, l->size},
                pad_l = {l->pad / 2, l->pad / 2};
    dnnl_alg_kind_t alg = dnnl_pooling_max;
    if (l->type == AVGPOOL) {
        alg = dnnl_pooling_avg_exclude_padding;
        strides[0] = strides[1] = 1;
        kernel[0] = l->h, kernel[1] = l->w;
        pad_l[0] = pad_l[1] = 0;
    }
    dnnl_dims_t pad_r = {(dst->h - 1) * strides[0] + kernel[0] - src->h - pad_l[0],
                         (dst->w - 1) * strides[1] + kernel[1] - src->w - pad_l[1]};
    if (pad_r[0] < 0 || pad_r[1] < 0) return 0;
    dnnl_pooling_desc_t desc;
    if (dnnl_pooling_forward_desc_init(&desc, dnnl_forward_inference, alg, &src->md, &dst->md,
                                       strides, kernel, pad_l, pad_r))
        return 0;
    s->primitive = gcam_dnnl_primitive(&desc, NULL, NULL, NULL);
    return s->primitive != NULL;
}

/* The step for layer i, reading tensor i and writing tensor i + 1; 0 if unsupported. */
static int plan_layer(gcam_inference_plan *p, const network *dn, int i) {
    const layer *l = &dn->layers[i];
    plan_step *s = &p->steps[i];
    memset(s, 0, sizeof *s);
    s->l = l, s->src = i, s->dst = i + 1, s->from = -1;
    plan_tensor *src = &p->tensors[i], *dst = &p->tensors[i + 1];
    if (!describe(dst, p->batch, l->out_c, l->out_h, l->out_w)) return 0;
    if (l->type == CONVOLUTIONAL) {
        if (src->c != l->c || src->h != l->h || src->w != l->w) return 0;
        return plan_convolution(s, l, src, dst);
    }
    if (l->type == MAXPOOL || l->type == AVGPOOL) {
        if (src->c != l->c || src->h != l->h || src->w != l->w) return 0;
        return plan_pooling(s, l, src, dst);
    }
    if (l->type == SHORTCUT && l->index >= 0 && l->index < i) {
        s->kind = STEP_SHORTCUT;
        s->from = l->index + 1;
        const plan_tensor *from = &p->tensors[s->from];
        if (from->c != l->c || from->h != l->h || from->w != l->w) return 0;
        return activation_supported(l->activation, 1);
    }
    return 0;
}

/* Buffers for the tensors, shared where one tensor's life ends before another's begins:
 * tensor 0 (the input) is written before step 0, tensor i + 1 by step i. */
static void assign_buffers(gcam_inference_plan *p) {
    int n = p->covered;
    p->buffers = gcam_xcalloc((size_t)n + 1, sizeof *p->buffers);
    p->buffer_bytes = gcam_xcalloc((size_t)n + 1, sizeof *p->buffer_bytes);
    int *owner = gcam_xmalloc(sizeof *owner * ((size_t)n + 1)); /* tensor holding it, or -1 */
    for (int i = 0; i < n; ++i) {
        const plan_step *s = &p->steps[i];
        p->tensors[s->src].last_use = i;
        if (s->from >= 0) p->tensors[s->from].last_use = i;
    }
    p->tensors[n].last_use = n; /* read by the copy into Darknet's buffer */
    for (int t = 0; t <= n; ++t) {
        plan_tensor *x = &p->tensors[t];
        int b = 0;
        while (b < p->buffer_count && owner[b] >= 0) ++b;
        if (b == p->buffer_count) ++p->buffer_count;
        owner[b] = t;
        x->buffer = b;
        size_t bytes = dnnl_memory_desc_get_size(&x->md);
        if (p->buffer_bytes[b] < bytes) p->buffer_bytes[b] = bytes;
        /* after step t - 1 has written tensor t, the tensors it read last are free */
        for (int k = 0; t > 0 && k < p->buffer_count; ++k)
            if (owner[k] >= 0 && p->tensors[owner[k]].last_use == t - 1) owner[k] = -1;
    }
    free(owner);
    for (int b = 0; b < p->buffer_count; ++b) p->buffers[b] = gcam_xmalloc(p->buffer_bytes[b]);
}

static int create_memories(gcam_inference_plan *p, const network *dn) {
    for (int t = 0; t <= p->covered; ++t) {
        plan_tensor *x = &p->tensors[t];
        if (dnnl_memory_create(&x->memory, &x->md, engine, p->buffers[x->buffer]) != dnnl_success)
            return 0;
    }
    const plan_tensor *first = &p->tensors[0], *last = &p->tensors[p->covered];
    const layer *l = &dn->layers[p->covered - 1];
    dnnl_dims_t input_dims = {p->batch, first->c, first->h, first->w},
                output_dims = {p->batch, last->c, last->h, last->w};
    dnnl_memory_desc_t input, output; /* Darknet's (batch, c, h, w) */
    return !dnnl_memory_desc_init_by_tag(&input, 4, input_dims, dnnl_f32, dnnl_nchw) &&
           !dnnl_memory_desc_init_by_tag(&output, 4, output_dims, dnnl_f32, dnnl_nchw) &&
           !dnnl_memory_create(&p->darknet_input, &input, engine, DNNL_MEMORY_NONE) &&
           !dnnl_memory_create(&p->darknet_output, &output, engine, l->output) &&
           (p->from_darknet = gcam_dnnl_reorder(&input, &first->md, 0)) != NULL &&
           (p->to_darknet = gcam_dnnl_reorder(&last->md, &output, 0)) != NULL;
}

gcam_inference_plan *gcam_inference_plan_create(const network *dn, int batch, int limit) {
    if (!gcam_dnnl_engine(&engine, &stream) || batch < 1 || batch > dn->batch || limit < 1)
        return NULL;
    gcam_inference_plan *p = gcam_xcalloc(1, sizeof *p);
    p->batch = batch;
    p->limit = limit;
    p->layers = dn->n;
    p->tensors = gcam_xcalloc((size_t)dn->n + 1, sizeof *p->tensors);
    p->steps = gcam_xcalloc((size_t)dn->n, sizeof *p->steps);
    omp_set_num_threads(gcam_parallel_parts());
    int ok = describe(&p->tensors[0], batch, dn->c, dn->h, dn->w);
    while (ok && p->covered < dn->n && p->covered < limit && plan_layer(p, dn, p->covered))
        ++p->covered;
    /* the layers after the plan may read only the last covered layer's output */
    for (int i = p->covered; ok && i < dn->n; ++i) {
        const layer *l = &dn->layers[i];
        if ((l->type == SHORTCUT && l->index < p->covered - 1) || l->type == ROUTE) ok = 0;
    }
    if (ok && p->covered > 0) {
        assign_buffers(p);
        ok = create_memories(p, dn);
    }
    if (!ok || p->covered == 0) {
        gcam_inference_plan_free(p);
        return NULL;
    }
    return p;
}

void gcam_inference_plan_free(gcam_inference_plan *p) {
    if (!p) return;
    /* the step after the covered ones was tried and may hold part of what it needed */
    int tried = p->covered < p->layers ? p->covered + 1 : p->covered;
    for (int i = 0; i < tried; ++i) {
        plan_step *s = &p->steps[i];
        if (s->primitive) dnnl_primitive_destroy(s->primitive);
        if (s->weights) dnnl_memory_destroy(s->weights);
        if (s->bias) dnnl_memory_destroy(s->bias);
        free(s->weights_data);
        free(s->bias_data);
    }
    for (int t = 0; t <= p->covered; ++t)
        if (p->tensors[t].memory) dnnl_memory_destroy(p->tensors[t].memory);
    for (int b = 0; b < p->buffer_count; ++b) free(p->buffers[b]);
    if (p->from_darknet) dnnl_primitive_destroy(p->from_darknet);
    if (p->darknet_input) dnnl_memory_destroy(p->darknet_input);
    if (p->to_darknet) dnnl_primitive_destroy(p->to_darknet);
    if (p->darknet_output) dnnl_memory_destroy(p->darknet_output);
    free(p->buffers);
    free(p->buffer_bytes);
    free(p->tensors);
    free(p->steps);
    free(p);
}

int gcam_inference_plan_prepare_weights(gcam_inference_plan *p) {
    omp_set_num_threads(gcam_parallel_parts());
    for (int i = 0; i < p->covered; ++i)
        if (p->steps[i].weights && !prepare_weights(&p->steps[i])) return -1;
    return 0;
}

/* FNV-1a over the bits of four values of x (n): the first, two inside and the last. */
static uint64_t digest_values(uint64_t h, const float *x, size_t n) {
    if (!x || !n) return h;
    size_t at[4] = {0, n / 3, 2 * n / 3, n - 1};
    for (int k = 0; k < 4; ++k) {
        uint32_t bits;
        memcpy(&bits, &x[at[k]], sizeof bits);
        h = (h ^ bits) * 0x100000001b3ULL;
    }
    return h;
}

uint64_t gcam_inference_plan_weights_digest(const gcam_inference_plan *p) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int i = 0; i < p->covered; ++i) {
        const layer *l = p->steps[i].l;
        if (!p->steps[i].weights) continue;
        size_t n = (size_t)l->n;
        h = digest_values(h, l->weights, (size_t)l->nweights);
        h = digest_values(h, l->biases, n);
        if (l->batch_normalize) {
            h = digest_values(h, l->scales, n);
            h = digest_values(h, l->rolling_mean, n);
            h = digest_values(h, l->rolling_variance, n);
        }
    }
    return h;
}

int gcam_inference_plan_batch(const gcam_inference_plan *p) {
    return p->batch;
}

int gcam_inference_plan_limit(const gcam_inference_plan *p) {
    return p->limit;
}

int gcam_inference_plan_covered(const gcam_inference_plan *p) {
    return p->covered;
}

/* ---- the shortcut on channels-last tensors: out = act(alpha * in + beta * from) where
 * the shapes agree; else out = in, plus Darknet's overlap rule (kernels_shortcut.c) ---- */

typedef struct shortcut_job {
    const layer *l;
    const plan_tensor *in, *from, *out;
    const float *in_data, *from_data;
    float *out_data;
    int batch;
} shortcut_job;

/* The threads take contiguous slices of the output's rows (image, y), w * c floats each. */
static void shortcut_part(void *arg, int part, int parts) {
    const shortcut_job *job = arg;
    const layer *l = job->l;
    const plan_tensor *from = job->from, *out = job->out;
    size_t row = (size_t)out->w * out->c, from_row = (size_t)from->w * from->c;
    int same = from->c == out->c && from->h == out->h && from->w == out->w, lo, hi;
    gcam_overlap o = gcam_overlap_of(from->w, from->h, from->c, out->w, out->h, out->c);
    const float alpha = l->alpha, beta = l->beta;
    gcam_parallel_slice(job->batch * out->h, part, parts, &lo, &hi);
    for (int r = lo; r < hi; ++r) {
        int b = r / out->h, y_out = r % out->h;
        const float *in = job->in_data + (size_t)r * row;
        float *y = job->out_data + (size_t)r * row;
        if (same) {
            const float *add = job->from_data + (size_t)r * row;
            for (size_t i = 0; i < row; ++i) y[i] = alpha * in[i] + beta * add[i];
        } else {
            memcpy(y, in, sizeof(float) * row);
            int j = y_out / o.sample;
            if (y_out % o.sample == 0 && j < o.min_h) {
                const float *add =
                    job->from_data + ((size_t)b * from->h + (size_t)j * o.stride) * from_row;
                for (int i = 0; i < o.min_w; ++i) {
                    float *d = y + (size_t)i * o.sample * out->c;
                    const float *a = add + (size_t)i * o.stride * from->c;
                    for (int k = 0; k < o.min_c; ++k) d[k] = alpha * d[k] + beta * a[k];
                }
            }
        }
        if (l->activation == LEAKY)
            for (size_t i = 0; i < row; ++i) y[i] = y[i] > 0 ? y[i] : 0.1f * y[i];
        else if (l->activation == RELU)
            for (size_t i = 0; i < row; ++i) y[i] = y[i] > 0 ? y[i] : 0;
    }
}

static void *data_of(const plan_tensor *t) {
    void *data = NULL;
    dnnl_memory_get_data_handle(t->memory, &data);
    return data;
}

int gcam_inference_plan_run(gcam_inference_plan *p, const float *input) {
    omp_set_num_threads(gcam_parallel_parts());
    dnnl_exec_arg_t in[2] = {{DNNL_ARG_FROM, p->darknet_input},
                             {DNNL_ARG_TO, p->tensors[0].memory}};
    if (dnnl_memory_set_data_handle(p->darknet_input, (void *)input) != dnnl_success ||
        dnnl_primitive_execute(p->from_darknet, stream, 2, in) != dnnl_success)
        return -1;
    for (int i = 0; i < p->covered; ++i) {
        const plan_step *s = &p->steps[i];
        const plan_tensor *src = &p->tensors[s->src], *dst = &p->tensors[s->dst];
        if (s->kind == STEP_SHORTCUT) {
            if (dnnl_stream_wait(stream) != dnnl_success) return -1;
            const plan_tensor *from = &p->tensors[s->from];
            shortcut_job job = {s->l,         src,           from,         dst,
                                data_of(src), data_of(from), data_of(dst), p->batch};
            gcam_parallel_run(shortcut_part, &job);
            continue;
        }
        dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, src->memory}, {DNNL_ARG_DST, dst->memory}};
        int count = 2;
        if (s->weights) {
            args[count++] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, s->weights};
            args[count++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, s->bias};
        }
        if (dnnl_primitive_execute(s->primitive, stream, count, args) != dnnl_success) return -1;
    }
    dnnl_exec_arg_t out[2] = {{DNNL_ARG_FROM, p->tensors[p->covered].memory},
                              {DNNL_ARG_TO, p->darknet_output}};
    if (dnnl_primitive_execute(p->to_darknet, stream, 2, out) != dnnl_success ||
        dnnl_stream_wait(stream) != dnnl_success)
        return -1;
    return 0;
}
