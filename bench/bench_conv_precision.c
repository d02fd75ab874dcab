/* What bfloat16 would buy: oneDNN's forward convolutions on ResNet's shapes in float32 (the
 * precision gcam and the PyTorch baseline train and infer in) and in bfloat16 (inputs and
 * weights rounded to 8-bit mantissas, products summed in float32), on the same random
 * data, in the same run. Prints each shape's median time of 9 runs in both precisions,
 * the speed ratio, GFLOP/s, and bfloat16's error against float32's result (RMS over the
 * RMS of the result). gcam runs in float32 only; this measures what a mixed-precision
 * option would gain, for the CPUs whose oneDNN kernels have bfloat16 instructions
 * (elsewhere oneDNN emulates them, and the ratio says so). */
#include "bench_common.h"

#include <math.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <string.h>

#define RUNS 9

typedef struct conv_shape {
    int batch, c, n, hw, size;
} conv_shape;

typedef struct conv_run {
    dnnl_primitive_t conv;
    dnnl_memory_t src, weights, dst; /* in the primitive's layouts and type */
    const char *impl;
} conv_run;

static int ok(dnnl_status_t s) {
    return s == dnnl_success;
}

/* Copies `from` (its layout and type) into `to` (its own), converting the type. */
static int reorder(dnnl_engine_t engine, dnnl_stream_t stream, dnnl_memory_t from,
                   dnnl_memory_t to) {
    const dnnl_memory_desc_t *from_md, *to_md;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t p = NULL;
    int done = ok(dnnl_memory_get_memory_desc(from, &from_md)) &&
               ok(dnnl_memory_get_memory_desc(to, &to_md)) &&
               ok(dnnl_reorder_primitive_desc_create(&pd, from_md, engine, to_md, engine, NULL)) &&
               ok(dnnl_primitive_create(&p, pd)) &&
               ok(dnnl_primitive_execute(
                   p, stream, 2, (dnnl_exec_arg_t[]){{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}})) &&
               ok(dnnl_stream_wait(stream));
    if (p) dnnl_primitive_destroy(p);
    if (pd) dnnl_primitive_desc_destroy(pd);
    return done;
}

/* A forward convolution of `type` in the layouts oneDNN picks, its src and weights
 * filled from the plain float32 src (batch, c, hw, hw) and weights (n, c, size, size). */
static int conv_init(conv_run *r, dnnl_engine_t engine, dnnl_stream_t stream, const conv_shape *s,
                     dnnl_data_type_t type, dnnl_memory_t plain_src, dnnl_memory_t plain_weights) {
    memset(r, 0, sizeof *r);
    dnnl_dims_t src_dims = {s->batch, s->c, s->hw, s->hw},
                weights_dims = {s->n, s->c, s->size, s->size},
                dst_dims = {s->batch, s->n, s->hw, s->hw}, strides = {1, 1},
                pad = {s->size / 2, s->size / 2};
    dnnl_memory_desc_t src, weights, dst;
    dnnl_convolution_desc_t desc;
    dnnl_primitive_desc_t pd = NULL;
    int done =
        ok(dnnl_memory_desc_init_by_tag(&src, 4, src_dims, type, dnnl_format_tag_any)) &&
        ok(dnnl_memory_desc_init_by_tag(&weights, 4, weights_dims, type, dnnl_format_tag_any)) &&
        ok(dnnl_memory_desc_init_by_tag(&dst, 4, dst_dims, type, dnnl_format_tag_any)) &&
        ok(dnnl_convolution_forward_desc_init(&desc, dnnl_forward_inference,
                                              dnnl_convolution_direct, &src, &weights, NULL, &dst,
                                              strides, pad, pad)) &&
        ok(dnnl_primitive_desc_create(&pd, &desc, NULL, engine, NULL)) &&
        ok(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &r->impl)) &&
        ok(dnnl_primitive_create(&r->conv, pd)) &&
        ok(dnnl_memory_create(&r->src, dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0),
                              engine, DNNL_MEMORY_ALLOCATE)) &&
        ok(dnnl_memory_create(&r->weights,
                              dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), engine,
                              DNNL_MEMORY_ALLOCATE)) &&
        ok(dnnl_memory_create(&r->dst, dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0),
                              engine, DNNL_MEMORY_ALLOCATE)) &&
        reorder(engine, stream, plain_src, r->src) &&
        reorder(engine, stream, plain_weights, r->weights);
    if (pd) dnnl_primitive_desc_destroy(pd);
    return done;
}

static void conv_free(conv_run *r) {
    dnnl_primitive_t p[] = {r->conv};
    dnnl_memory_t m[] = {r->src, r->weights, r->dst};
    if (p[0]) dnnl_primitive_destroy(p[0]);
    for (int i = 0; i < 3; ++i)
        if (m[i]) dnnl_memory_destroy(m[i]);
}

/* Median seconds of RUNS executions after a warm-up; -1 on failure. */
static double conv_time(conv_run *r, dnnl_stream_t stream) {
    double t[RUNS];
    dnnl_exec_arg_t args[] = {
        {DNNL_ARG_SRC, r->src}, {DNNL_ARG_WEIGHTS, r->weights}, {DNNL_ARG_DST, r->dst}};
    for (int i = 0; i <= RUNS; ++i) {
        double start = gcam_now_seconds();
        if (!ok(dnnl_primitive_execute(r->conv, stream, 3, args)) || !ok(dnnl_stream_wait(stream)))
            return -1;
        if (i) t[i - 1] = gcam_now_seconds() - start;
    }
    return median(t, RUNS);
}

/* The result as plain float32 (batch, n, hw, hw) into out. */
static int plain_result(dnnl_engine_t engine, dnnl_stream_t stream, const conv_shape *s,
                        conv_run *r, float *out) {
    dnnl_dims_t dims = {s->batch, s->n, s->hw, s->hw};
    dnnl_memory_desc_t md;
    dnnl_memory_t m = NULL;
    int done = ok(dnnl_memory_desc_init_by_tag(&md, 4, dims, dnnl_f32, dnnl_nchw)) &&
               ok(dnnl_memory_create(&m, &md, engine, out)) && reorder(engine, stream, r->dst, m);
    if (m) dnnl_memory_destroy(m);
    return done;
}

static int measure(dnnl_engine_t engine, dnnl_stream_t stream, const conv_shape *s) {
    size_t src_n = (size_t)s->batch * s->c * s->hw * s->hw,
           weights_n = (size_t)s->n * s->c * s->size * s->size,
           dst_n = (size_t)s->batch * s->n * s->hw * s->hw;
    float *src = malloc(sizeof(float) * src_n), *weights = malloc(sizeof(float) * weights_n),
          *out[2] = {malloc(sizeof(float) * dst_n), malloc(sizeof(float) * dst_n)};
    gcam_rng rng = gcam_rng_init(5, (uint64_t)s->c);
    for (size_t i = 0; i < src_n; ++i) src[i] = 2 * gcam_rng_uniform(&rng) - 1;
    for (size_t i = 0; i < weights_n; ++i) weights[i] = 2 * gcam_rng_uniform(&rng) - 1;
    dnnl_dims_t src_dims = {s->batch, s->c, s->hw, s->hw},
                weights_dims = {s->n, s->c, s->size, s->size};
    dnnl_memory_desc_t src_md, weights_md;
    dnnl_memory_t plain_src = NULL, plain_weights = NULL;
    conv_run runs[2] = {{0}};
    double seconds[2] = {-1, -1};
    const dnnl_data_type_t types[2] = {dnnl_f32, dnnl_bf16};
    int done =
        ok(dnnl_memory_desc_init_by_tag(&src_md, 4, src_dims, dnnl_f32, dnnl_nchw)) &&
        ok(dnnl_memory_desc_init_by_tag(&weights_md, 4, weights_dims, dnnl_f32, dnnl_oihw)) &&
        ok(dnnl_memory_create(&plain_src, &src_md, engine, src)) &&
        ok(dnnl_memory_create(&plain_weights, &weights_md, engine, weights));
    for (int p = 0; done && p < 2; ++p)
        done = conv_init(&runs[p], engine, stream, s, types[p], plain_src, plain_weights) &&
               (seconds[p] = conv_time(&runs[p], stream)) > 0 &&
               plain_result(engine, stream, s, &runs[p], out[p]);
    if (done) {
        double err = 0, norm = 0;
        for (size_t i = 0; i < dst_n; ++i) {
            double d = (double)out[1][i] - out[0][i];
            err += d * d, norm += (double)out[0][i] * out[0][i];
        }
        double gflop = 2.0 * dst_n * s->c * s->size * s->size / 1e9;
        printf(
            "%3d x %3d -> %3d, %3dx%-3d %dx%d   %8.3f %8.3f %7.2fx %9.0f %9.0f   %.1e   %s / %s\n",
            s->batch, s->c, s->n, s->hw, s->hw, s->size, s->size, 1e3 * seconds[0],
            1e3 * seconds[1], seconds[0] / seconds[1], gflop / seconds[0], gflop / seconds[1],
            sqrt(err / norm), runs[0].impl, runs[1].impl);
    }
    for (int p = 0; p < 2; ++p) conv_free(&runs[p]);
    if (plain_src) dnnl_memory_destroy(plain_src);
    if (plain_weights) dnnl_memory_destroy(plain_weights);
    free(src), free(weights), free(out[0]), free(out[1]);
    return done;
}

int main(void) {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    if (!ok(dnnl_engine_create(&engine, dnnl_cpu, 0)) ||
        !ok(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags))) {
        fprintf(stderr, "bench_conv_precision: oneDNN did not start\n");
        return 1;
    }
    /* ResNet-18's four 3x3 stages and a ResNet-50 1x1 at batch 8, the cluttered net's
     * middle stage at its training batch of 64 */
    const conv_shape shapes[] = {{8, 64, 64, 56, 3},  {8, 128, 128, 28, 3}, {8, 256, 256, 14, 3},
                                 {8, 512, 512, 7, 3}, {8, 256, 64, 56, 1},  {64, 64, 64, 16, 3}};
    printf("oneDNN forward convolutions, float32 against bfloat16 (median of %d runs)\n", RUNS);
    printf("%-28s %8s %8s %8s %9s %9s   %-7s   %s\n", "shape", "f32 ms", "bf16 ms", "speed-up",
           "f32 GF/s", "bf16 GF/s", "error", "kernels");
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; ++i)
        if (!measure(engine, stream, &shapes[i]))
            printf("shape %zu: oneDNN did not run it in both precisions; skipped\n", i);
    dnnl_stream_destroy(stream);
    dnnl_engine_destroy(engine);
    return 0;
}
