/* Convolutions on oneDNN, the library PyTorch runs on the CPU: its JIT kernels use the
 * widest vectors the CPU has (AVX-512 here) whatever OpenBLAS was told to use, and run a
 * convolution in Darknet's own layouts (input and output (batch, c, h, w), weights
 * (n, c, size, size)) about twice as fast as im2col and OpenBLAS's AVX2 GEMM.
 *
 * Only the convolution itself runs here: bias, batch norm and activation stay with
 * kernels_conv.c. Gradients keep Darknet's conventions: the weight gradient is added into
 * weight_updates and the input gradient into net.delta (oneDNN writes both, so they go
 * through scratch buffers). A layer oneDNN would only run with its reference code
 * (grouped convolutions, for which it has no fast kernel in these layouts) is left to the
 * OpenBLAS path, as is everything when GCAM_KERNELS=blas.
 *
 * Primitives are created once per layer shape and batch and kept for the process (a
 * handful per network; creating one costs milliseconds). oneDNN runs on OpenMP threads,
 * as many as the kernel pool has (parallel.h), so an MPI rank keeps to its share. */
#include "error.h"
#include "kernels.h"
#include "parallel.h"

#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct conv_shape {
    int batch, c, h, w, n, out_h, out_w, size, stride, pad;
} conv_shape;

typedef struct conv_primitives {
    conv_shape shape;
    int usable; /* 0: oneDNN offers only its reference code for it */
    dnnl_memory_desc_t src, weights, dst;
    dnnl_primitive_t forward, backward_data, backward_weights;
} conv_primitives;

static pthread_mutex_t cache_mutex = PTHREAD_MUTEX_INITIALIZER;
static dnnl_engine_t engine;
static dnnl_stream_t stream;
static int engine_state; /* 0: not tried, 1: ready, -1: oneDNN failed to start */
static conv_primitives *cache;
static int cache_count, cache_capacity;
static float *scratch[2]; /* the weight gradient, the input gradient */
static size_t scratch_floats[2];

static conv_shape shape_of(const layer *l) {
    return (conv_shape){l->batch, l->c,     l->h,    l->w,      l->n,
                        l->out_h, l->out_w, l->size, l->stride, l->pad};
}

static int is_reference(dnnl_primitive_desc_t pd) {
    const char *impl = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success) return 1;
    return !impl || strncmp(impl, "ref", 3) == 0;
}

/* A primitive from a descriptor, or NULL when it fails or is oneDNN's reference code. */
static dnnl_primitive_t create(const void *desc, dnnl_primitive_desc_t hint,
                               dnnl_primitive_desc_t *pd_out) {
    dnnl_primitive_desc_t pd;
    if (dnnl_primitive_desc_create(&pd, desc, NULL, engine, hint) != dnnl_success) return NULL;
    dnnl_primitive_t p = NULL;
    if (is_reference(pd) || dnnl_primitive_create(&p, pd) != dnnl_success) p = NULL;
    if (pd_out && p)
        *pd_out = pd;
    else
        dnnl_primitive_desc_destroy(pd);
    return p;
}

static void build(conv_primitives *e) {
    const conv_shape *s = &e->shape;
    dnnl_dims_t src = {s->batch, s->c, s->h, s->w}, weights = {s->n, s->c, s->size, s->size},
                dst = {s->batch, s->n, s->out_h, s->out_w}, strides = {s->stride, s->stride},
                pad_l = {s->pad, s->pad};
    /* the padding on the far side that gives Darknet's output size exactly */
    dnnl_dims_t pad_r = {(s->out_h - 1) * s->stride + s->size - s->h - s->pad,
                         (s->out_w - 1) * s->stride + s->size - s->w - s->pad};
    if (pad_r[0] < 0 || pad_r[1] < 0) return;
    if (dnnl_memory_desc_init_by_tag(&e->src, 4, src, dnnl_f32, dnnl_nchw) ||
        dnnl_memory_desc_init_by_tag(&e->weights, 4, weights, dnnl_f32, dnnl_oihw) ||
        dnnl_memory_desc_init_by_tag(&e->dst, 4, dst, dnnl_f32, dnnl_nchw))
        return;
    dnnl_convolution_desc_t forward, backward_data, backward_weights;
    if (dnnl_convolution_forward_desc_init(&forward, dnnl_forward_training, dnnl_convolution_direct,
                                           &e->src, &e->weights, NULL, &e->dst, strides, pad_l,
                                           pad_r))
        return;
    dnnl_primitive_desc_t forward_pd = NULL;
    e->forward = create(&forward, NULL, &forward_pd);
    if (!e->forward) return;
    if (!dnnl_convolution_backward_data_desc_init(&backward_data, dnnl_convolution_direct, &e->src,
                                                  &e->weights, &e->dst, strides, pad_l, pad_r))
        e->backward_data = create(&backward_data, forward_pd, NULL);
    if (!dnnl_convolution_backward_weights_desc_init(&backward_weights, dnnl_convolution_direct,
                                                     &e->src, &e->weights, NULL, &e->dst, strides,
                                                     pad_l, pad_r))
        e->backward_weights = create(&backward_weights, forward_pd, NULL);
    dnnl_primitive_desc_destroy(forward_pd);
    e->usable = e->backward_data && e->backward_weights;
}

static int start_engine(void) {
    if (engine_state == 0) {
        engine_state = -1;
        if (dnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success &&
            dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) == dnnl_success)
            engine_state = 1;
    }
    return engine_state == 1;
}

/* The layer's primitives, built on first use; NULL if oneDNN does not run it well. */
static conv_primitives *primitives_for(const layer *l) {
    if (l->groups != 1) return NULL;
    conv_shape s = shape_of(l);
    pthread_mutex_lock(&cache_mutex);
    conv_primitives *found = NULL;
    for (int i = 0; i < cache_count && !found; ++i)
        if (memcmp(&cache[i].shape, &s, sizeof s) == 0) found = &cache[i];
    if (!found && start_engine()) {
        if (cache_count == cache_capacity) {
            cache_capacity = cache_capacity ? 2 * cache_capacity : 32;
            cache = gcam_xrealloc(cache, sizeof *cache * (size_t)cache_capacity);
        }
        found = &cache[cache_count++];
        memset(found, 0, sizeof *found);
        found->shape = s;
        build(found);
    }
    pthread_mutex_unlock(&cache_mutex);
    return found && found->usable ? found : NULL;
}

static int execute(dnnl_primitive_t p, int src_arg, const dnnl_memory_desc_t *src_md,
                   const float *src, int weights_arg, const dnnl_memory_desc_t *weights_md,
                   const float *weights, int dst_arg, const dnnl_memory_desc_t *dst_md,
                   float *dst) {
    dnnl_memory_t m[3] = {NULL, NULL, NULL};
    int ok = dnnl_memory_create(&m[0], src_md, engine, (void *)src) == dnnl_success &&
             dnnl_memory_create(&m[1], weights_md, engine, (void *)weights) == dnnl_success &&
             dnnl_memory_create(&m[2], dst_md, engine, dst) == dnnl_success;
    if (ok) {
        dnnl_exec_arg_t args[3] = {{src_arg, m[0]}, {weights_arg, m[1]}, {dst_arg, m[2]}};
        omp_set_num_threads(gcam_parallel_parts());
        ok = dnnl_primitive_execute(p, stream, 3, args) == dnnl_success &&
             dnnl_stream_wait(stream) == dnnl_success;
    }
    for (int i = 0; i < 3; ++i)
        if (m[i]) dnnl_memory_destroy(m[i]);
    return ok;
}

static float *scratch_of(int kind, size_t floats) {
    if (scratch_floats[kind] < floats) {
        free(scratch[kind]);
        scratch[kind] = gcam_xmalloc(sizeof(float) * floats);
        scratch_floats[kind] = floats;
    }
    return scratch[kind];
}

int gcam_dnnl_conv_forward(const layer *l, const network *net) {
    conv_primitives *e = primitives_for(l);
    return e && execute(e->forward, DNNL_ARG_SRC, &e->src, net->input, DNNL_ARG_WEIGHTS,
                        &e->weights, l->weights, DNNL_ARG_DST, &e->dst, l->output);
}

/* Both gradients are computed before either is added, so that a failure leaves the
 * buffers as they were for the OpenBLAS path to redo. */
int gcam_dnnl_conv_backward(const layer *l, const network *net) {
    conv_primitives *e = primitives_for(l);
    if (!e) return 0;
    size_t n_input = (size_t)l->batch * l->c * l->h * l->w;
    float *dw = net->train ? scratch_of(0, (size_t)l->nweights) : NULL;
    float *dx = net->delta ? scratch_of(1, n_input) : NULL;
    if (dw && !execute(e->backward_weights, DNNL_ARG_SRC, &e->src, net->input, DNNL_ARG_DIFF_DST,
                       &e->dst, l->delta, DNNL_ARG_DIFF_WEIGHTS, &e->weights, dw))
        return 0;
    if (dx && !execute(e->backward_data, DNNL_ARG_DIFF_DST, &e->dst, l->delta, DNNL_ARG_WEIGHTS,
                       &e->weights, l->weights, DNNL_ARG_DIFF_SRC, &e->src, dx))
        return 0;
    for (int i = 0; dw && i < l->nweights; ++i) l->weight_updates[i] += dw[i];
    for (size_t i = 0; dx && i < n_input; ++i) net->delta[i] += dx[i];
    return 1;
}
