/* Convolutions on oneDNN, the library PyTorch runs on the CPU: its JIT kernels use the
 * widest vectors the CPU has (AVX-512 here) whatever OpenBLAS was told to use.
 *
 * Darknet's buffers keep their layouts (input and output (batch, c, h, w), weights
 * (n, c, size, size)). An inference forward pass runs in them: oneDNN then uses im2col
 * and its own GEMM, about twice as fast as OpenBLAS's AVX2 one. The gradients do not: in
 * these layouts oneDNN's backward GEMMs run at half the speed of its direct kernels,
 * which want channel-blocked layouts (16 channels innermost for AVX-512). So the two
 * backward primitives are created with their layouts left for oneDNN to choose, and
 * reorders move their operands in and out of scratch buffers around them, a pass over
 * memory each (ResNet-18's batch-8 training step: 0.38 s in Darknet's layouts, 0.29 s
 * so). The training forward of a convolution wider than 1x1 does the same (0.306 ->
 * 0.287 s; ResNet-50's step 0.814 -> 0.786 s, medians of four alternating runs), while
 * a 1x1 convolution's GEMM is as fast as the direct kernel without its reorders. The
 * inference forward stays in Darknet's layouts: with the reorders the blocked kernels were
 * no faster at batch 8 and 32 and slower at batch 1 (fast inference is the fused plan's,
 * inference_plan.c).
 *
 * Only the convolution itself runs here: bias, batch norm and activation stay with
 * kernels_conv.c. Gradients keep Darknet's conventions: the weight gradient is added into
 * weight_updates and the input gradient into net.delta. The input gradient is added by
 * the reorder that brings it back (a reorder with a sum: one rounding, as `+=` has); the
 * weight gradient is reordered into a scratch buffer and added after, because oneDNN's
 * reorder with a sum into the weights' layout is its slow generic code (16 ms for a
 * 512x512x3x3 gradient, against 0.5-2 ms without the sum). A layer oneDNN would only run
 * with its reference code (grouped convolutions, for which it has no fast kernel) is left
 * to the OpenBLAS path, as is everything when GCAM_KERNELS=blas.
 *
 * Primitives are created once per layer shape and batch and kept for the process (a
 * handful per network; creating one costs milliseconds). oneDNN runs on OpenMP threads,
 * as many as the kernel pool has (parallel.h), so an MPI rank keeps to its share. Calls
 * come from one thread at a time (the scratch buffers are shared). */
#include "dnnl_engine.h"
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

/* One operand of a primitive: Darknet's layout, the primitive's, and the reorder between
 * them (plain to inner for an input, inner to plain for the output; NULL when the layouts
 * are the same and the operand is not accumulated). */
typedef struct operand {
    int arg;
    dnnl_memory_desc_t plain, inner;
    dnnl_primitive_t reorder;
    int add_after; /* the reorder writes a scratch buffer, added to the caller's after */
} operand;

/* A primitive with its two inputs and its output. */
typedef struct conv_step {
    dnnl_primitive_t run;
    operand in[2], out;
} conv_step;

typedef struct conv_primitives {
    conv_shape shape;
    int usable; /* 0: oneDNN offers only its reference code for it */
    /* forward: in Darknet's layouts; training_forward: in blocked ones (run is NULL when
     * oneDNN has none, and training uses forward) */
    conv_step forward, training_forward, backward_data, backward_weights;
} conv_primitives;

/* scratch positions: one per operand, a plain-layout weight gradient before it is added,
 * and the output gradient both backward primitives read */
enum { OPERANDS = 3, PLAIN_SCRATCH = OPERANDS, SHARED_SCRATCH, SCRATCH_COUNT };

static pthread_mutex_t cache_mutex = PTHREAD_MUTEX_INITIALIZER,
                       engine_mutex = PTHREAD_MUTEX_INITIALIZER;
static dnnl_engine_t engine;
static dnnl_stream_t stream;
static int engine_state; /* 0: not tried, 1: ready, -1: oneDNN failed to start */
static conv_primitives *cache;
static int cache_count, cache_capacity;
static void *scratch[SCRATCH_COUNT]; /* an operand in its inner layout, by position */
static size_t scratch_bytes[SCRATCH_COUNT];

static conv_shape shape_of(const layer *l) {
    return (conv_shape){l->batch, l->c,     l->h,    l->w,      l->n,
                        l->out_h, l->out_w, l->size, l->stride, l->pad};
}

static int is_reference(dnnl_primitive_desc_t pd) {
    const char *impl = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success) return 1;
    return !impl || strncmp(impl, "ref", 3) == 0;
}

dnnl_primitive_t gcam_dnnl_primitive(const void *desc, const_dnnl_primitive_attr_t attr,
                                     dnnl_primitive_desc_t hint, dnnl_primitive_desc_t *pd_out) {
    dnnl_primitive_desc_t pd;
    if (dnnl_primitive_desc_create(&pd, desc, attr, engine, hint) != dnnl_success) return NULL;
    dnnl_primitive_t p = NULL;
    if (is_reference(pd) || dnnl_primitive_create(&p, pd) != dnnl_success) p = NULL;
    if (p && pd_out)
        *pd_out = pd;
    else
        dnnl_primitive_desc_destroy(pd);
    return p;
}

dnnl_primitive_t gcam_dnnl_reorder(const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to,
                                   int accumulate) {
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t sum = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t p = NULL;
    if (accumulate &&
        (dnnl_primitive_attr_create(&attr) || dnnl_post_ops_create(&sum) ||
         dnnl_post_ops_append_sum(sum, 1.f) || dnnl_primitive_attr_set_post_ops(attr, sum)))
        goto done;
    if (dnnl_reorder_primitive_desc_create(&pd, from, engine, to, engine, attr) == dnnl_success &&
        dnnl_primitive_create(&p, pd) != dnnl_success)
        p = NULL;
done:
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (sum) dnnl_post_ops_destroy(sum);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return p;
}

int gcam_dnnl_reorder_run(dnnl_primitive_t reorder, const dnnl_memory_desc_t *from_md,
                          const void *from, const dnnl_memory_desc_t *to_md, void *to) {
    dnnl_memory_t m[2] = {NULL, NULL};
    int ok = dnnl_memory_create(&m[0], from_md, engine, (void *)from) == dnnl_success &&
             dnnl_memory_create(&m[1], to_md, engine, to) == dnnl_success &&
             dnnl_primitive_execute(
                 reorder, stream, 2,
                 (dnnl_exec_arg_t[]){{DNNL_ARG_FROM, m[0]}, {DNNL_ARG_TO, m[1]}}) == dnnl_success &&
             dnnl_stream_wait(stream) == dnnl_success;
    for (int i = 0; i < 2; ++i)
        if (m[i]) dnnl_memory_destroy(m[i]);
    return ok;
}

/* Fills an operand from the layout the primitive chose; 0 if its reorder fails. */
static int bind(operand *o, dnnl_primitive_desc_t pd, dnnl_query_t query, int arg,
                const dnnl_memory_desc_t *plain, int is_output, int accumulate) {
    o->arg = arg;
    o->plain = *plain;
    o->inner = *dnnl_primitive_desc_query_md(pd, query, 0);
    if (dnnl_memory_desc_equal(&o->plain, &o->inner) && !accumulate) return 1;
    o->add_after = accumulate && arg == DNNL_ARG_DIFF_WEIGHTS;
    o->reorder = is_output ? gcam_dnnl_reorder(&o->inner, &o->plain, accumulate && !o->add_after)
                           : gcam_dnnl_reorder(&o->plain, &o->inner, 0);
    return o->reorder != NULL;
}

/* A primitive from a descriptor whose layouts are left open, with its operands bound to
 * Darknet's layouts; 0 when it fails or would be oneDNN's reference code. */
static int create_step(conv_step *s, const void *desc, dnnl_primitive_desc_t hint,
                       dnnl_primitive_desc_t *pd_out, const int args[OPERANDS],
                       const dnnl_query_t queries[OPERANDS],
                       const dnnl_memory_desc_t *plains[OPERANDS], int accumulate) {
    dnnl_primitive_desc_t pd = NULL;
    s->run = gcam_dnnl_primitive(desc, NULL, hint, &pd);
    int ok = s->run != NULL;
    for (int i = 0; ok && i < 2; ++i)
        ok = bind(&s->in[i], pd, queries[i], args[i], plains[i], 0, 0);
    ok = ok && bind(&s->out, pd, queries[2], args[2], plains[2], 1, accumulate);
    if (!ok) { /* a step is whole or absent */
        dnnl_primitive_t parts[] = {s->run, s->in[0].reorder, s->in[1].reorder, s->out.reorder};
        for (int i = 0; i < 4; ++i)
            if (parts[i]) dnnl_primitive_destroy(parts[i]);
        memset(s, 0, sizeof *s);
    }
    if (ok && pd_out)
        *pd_out = pd;
    else if (pd)
        dnnl_primitive_desc_destroy(pd);
    return ok;
}

static void build(conv_primitives *e) {
    const conv_shape *s = &e->shape;
    dnnl_dims_t src_dims = {s->batch, s->c, s->h, s->w},
                weights_dims = {s->n, s->c, s->size, s->size},
                dst_dims = {s->batch, s->n, s->out_h, s->out_w}, strides = {s->stride, s->stride},
                pad_l = {s->pad, s->pad};
    /* the padding on the far side that gives Darknet's output size exactly */
    dnnl_dims_t pad_r = {(s->out_h - 1) * s->stride + s->size - s->h - s->pad,
                         (s->out_w - 1) * s->stride + s->size - s->w - s->pad};
    if (pad_r[0] < 0 || pad_r[1] < 0) return;
    dnnl_memory_desc_t src, weights, dst, src_any, weights_any, dst_any;
    if (dnnl_memory_desc_init_by_tag(&src, 4, src_dims, dnnl_f32, dnnl_nchw) ||
        dnnl_memory_desc_init_by_tag(&weights, 4, weights_dims, dnnl_f32, dnnl_oihw) ||
        dnnl_memory_desc_init_by_tag(&dst, 4, dst_dims, dnnl_f32, dnnl_nchw) ||
        dnnl_memory_desc_init_by_tag(&src_any, 4, src_dims, dnnl_f32, dnnl_format_tag_any) ||
        dnnl_memory_desc_init_by_tag(&weights_any, 4, weights_dims, dnnl_f32,
                                     dnnl_format_tag_any) ||
        dnnl_memory_desc_init_by_tag(&dst_any, 4, dst_dims, dnnl_f32, dnnl_format_tag_any))
        return;
    dnnl_convolution_desc_t forward, training_forward, backward_data, backward_weights;
    if (dnnl_convolution_forward_desc_init(&forward, dnnl_forward_training, dnnl_convolution_direct,
                                           &src, &weights, NULL, &dst, strides, pad_l, pad_r) ||
        dnnl_convolution_forward_desc_init(&training_forward, dnnl_forward_training,
                                           dnnl_convolution_direct, &src_any, &weights_any, NULL,
                                           &dst_any, strides, pad_l, pad_r) ||
        dnnl_convolution_backward_data_desc_init(&backward_data, dnnl_convolution_direct, &src_any,
                                                 &weights_any, &dst_any, strides, pad_l, pad_r) ||
        dnnl_convolution_backward_weights_desc_init(&backward_weights, dnnl_convolution_direct,
                                                    &src_any, &weights_any, NULL, &dst_any, strides,
                                                    pad_l, pad_r))
        return;
    const int forward_args[] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST};
    const dnnl_query_t forward_queries[] = {dnnl_query_src_md, dnnl_query_weights_md,
                                            dnnl_query_dst_md};
    const dnnl_memory_desc_t *forward_plains[] = {&src, &weights, &dst};
    dnnl_primitive_desc_t forward_pd = NULL, training_pd = NULL;
    if (!create_step(&e->forward, &forward, NULL, &forward_pd, forward_args, forward_queries,
                     forward_plains, 0))
        return;
    if (s->size > 1)
        create_step(&e->training_forward, &training_forward, NULL, &training_pd, forward_args,
                    forward_queries, forward_plains, 0);
    /* the backward primitives are chosen to match the training forward's kernels */
    dnnl_primitive_desc_t hint = training_pd ? training_pd : forward_pd;
    e->usable = create_step(&e->backward_data, &backward_data, hint, NULL,
                            (int[]){DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC},
                            (dnnl_query_t[]){dnnl_query_diff_dst_md, dnnl_query_weights_md,
                                             dnnl_query_diff_src_md},
                            (const dnnl_memory_desc_t *[]){&dst, &weights, &src}, 1) &&
                create_step(&e->backward_weights, &backward_weights, hint, NULL,
                            (int[]){DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS},
                            (dnnl_query_t[]){dnnl_query_src_md, dnnl_query_diff_dst_md,
                                             dnnl_query_diff_weights_md},
                            (const dnnl_memory_desc_t *[]){&src, &dst, &weights}, 1);
    dnnl_primitive_desc_destroy(forward_pd);
    if (training_pd) dnnl_primitive_desc_destroy(training_pd);
}

static int start_engine(void) {
    pthread_mutex_lock(&engine_mutex);
    if (engine_state == 0) {
        engine_state = -1;
        if (dnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success &&
            dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) == dnnl_success)
            engine_state = 1;
    }
    pthread_mutex_unlock(&engine_mutex);
    return engine_state == 1;
}

int gcam_dnnl_engine(dnnl_engine_t *engine_out, dnnl_stream_t *stream_out) {
    if (!start_engine()) return 0;
    *engine_out = engine, *stream_out = stream;
    return 1;
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

static int run_primitive(dnnl_primitive_t p, int count, const dnnl_exec_arg_t *args) {
    return dnnl_primitive_execute(p, stream, count, args) == dnnl_success;
}

/* The scratch buffer at `position`, grown to at least `bytes`. */
static void *scratch_of(int position, size_t bytes) {
    if (scratch_bytes[position] < bytes) {
        free(scratch[position]);
        scratch[position] = gcam_xmalloc(bytes);
        scratch_bytes[position] = bytes;
    }
    return scratch[position];
}

/* Where the operand at `position` lives in its inner layout: the caller's buffer when the
 * layouts agree, else a scratch buffer. */
static void *inner_data(const operand *o, int position, void *user) {
    if (!o->reorder) return user;
    size_t bytes = dnnl_memory_desc_get_size(&o->inner);
    void *data = scratch_of(position, bytes);
    /* A blocked layout pads the channels to a multiple of 16; the padding must not carry
     * what an earlier layer left in the shared scratch buffer (a NaN there would reach
     * real values through a product with a zero weight), so a padded layout starts from
     * zeros. */
    int padded = 0;
    for (int d = 0; d < o->inner.ndims; ++d) padded |= o->inner.padded_dims[d] != o->inner.dims[d];
    if (padded) memset(data, 0, bytes);
    return data;
}

/* The operand in its inner layout: at `ready` when the caller has it there already, else
 * where inner_data puts it. */
static dnnl_memory_t inner_memory(const operand *o, int position, void *user, void *ready) {
    void *data = ready ? ready : inner_data(o, position, user);
    dnnl_memory_t m = NULL;
    if (dnnl_memory_create(&m, &o->inner, engine, data) != dnnl_success) return NULL;
    return m;
}

/* out += add over n floats, the threads taking contiguous slices. */
typedef struct add_job {
    float *out;
    const float *add;
    size_t n;
} add_job;

static void add_part(void *arg, int part, int parts) {
    const add_job *job = arg;
    size_t lo = job->n * part / parts, hi = job->n * (part + 1) / parts;
    for (size_t i = lo; i < hi; ++i) job->out[i] += job->add[i];
}

/* Runs a step on Darknet's buffers: inputs reordered in, the output reordered (or added)
 * back. An input whose ready[i] is set is there already in its inner layout. */
static int execute(const conv_step *s, const float *in0, const float *in1, float *out,
                   void *const ready[2]) {
    const operand *ops[OPERANDS] = {&s->in[0], &s->in[1], &s->out};
    void *user[OPERANDS] = {(void *)in0, (void *)in1, out};
    dnnl_memory_t plain[OPERANDS] = {NULL}, inner[OPERANDS] = {NULL};
    omp_set_num_threads(gcam_parallel_parts());
    int ok = 1;
    for (int i = 0; ok && i < OPERANDS; ++i) {
        void *have = i < 2 && ready ? ready[i] : NULL;
        inner[i] = inner_memory(ops[i], i, user[i], have);
        void *to = ops[i]->add_after
                       ? scratch_of(PLAIN_SCRATCH, dnnl_memory_desc_get_size(&ops[i]->plain))
                       : user[i];
        ok =
            inner[i] && (!ops[i]->reorder || have ||
                         dnnl_memory_create(&plain[i], &ops[i]->plain, engine, to) == dnnl_success);
    }
    for (int i = 0; ok && i < 2; ++i)
        if (plain[i])
            ok = run_primitive(
                ops[i]->reorder, 2,
                (dnnl_exec_arg_t[]){{DNNL_ARG_FROM, plain[i]}, {DNNL_ARG_TO, inner[i]}});
    ok = ok && run_primitive(s->run, OPERANDS,
                             (dnnl_exec_arg_t[]){{ops[0]->arg, inner[0]},
                                                 {ops[1]->arg, inner[1]},
                                                 {ops[2]->arg, inner[2]}});
    if (ok && s->out.reorder)
        ok = run_primitive(s->out.reorder, 2,
                           (dnnl_exec_arg_t[]){{DNNL_ARG_FROM, inner[2]}, {DNNL_ARG_TO, plain[2]}});
    ok = ok && dnnl_stream_wait(stream) == dnnl_success;
    if (ok && s->out.add_after) {
        add_job job = {out, scratch[PLAIN_SCRATCH],
                       dnnl_memory_desc_get_size(&s->out.plain) / sizeof(float)};
        gcam_parallel_run(add_part, &job);
    }
    for (int i = 0; i < OPERANDS; ++i) {
        if (plain[i]) dnnl_memory_destroy(plain[i]);
        if (inner[i]) dnnl_memory_destroy(inner[i]);
    }
    return ok;
}

/* The output gradient (Darknet's layout) in the inner layout both backward primitives
 * read, reordered once into the shared scratch buffer; NULL when their layouts differ,
 * the gradient needs no reorder, or the reorder fails (each primitive then does its own). */
static void *shared_output_gradient(const conv_primitives *e, const float *delta) {
    const operand *w = &e->backward_weights.in[1], *d = &e->backward_data.in[0];
    if (!w->reorder || !d->reorder || !dnnl_memory_desc_equal(&w->inner, &d->inner)) return NULL;
    omp_set_num_threads(gcam_parallel_parts());
    void *data = inner_data(w, SHARED_SCRATCH, NULL);
    return gcam_dnnl_reorder_run(w->reorder, &w->plain, delta, &w->inner, data) ? data : NULL;
}

int gcam_dnnl_conv_forward(const layer *l, const network *net) {
    conv_primitives *e = primitives_for(l);
    if (!e) return 0;
    const conv_step *step =
        net->train && e->training_forward.run ? &e->training_forward : &e->forward;
    return execute(step, net->input, l->weights, l->output, NULL);
}

void gcam_dnnl_conv_gradients(const layer *l, const network *net, int *weights_done,
                              int *input_done) {
    *weights_done = *input_done = 0;
    conv_primitives *e = primitives_for(l);
    if (!e || (!net->train && !net->delta)) return;
    void *shared = net->train && net->delta ? shared_output_gradient(e, l->delta) : NULL;
    if (net->train)
        *weights_done = execute(&e->backward_weights, net->input, l->delta, l->weight_updates,
                                (void *const[]){NULL, shared});
    if (net->delta)
        *input_done = execute(&e->backward_data, l->delta, l->weights, net->delta,
                              (void *const[]){shared, NULL});
}
