/* Residual (shortcut) layer kernels: output = act(alpha * input + beta * from), where
 * `from` is the output of layer l.index, all (batch, c, h, w) of one shape. Darknet does
 * this in three sweeps over memory on one thread (copy, add, activate) with the
 * activation chosen per element; here it is one sweep, vectorised and split between the
 * kernel threads. Every element gets the same floating-point operations in the same order
 * as Darknet's, so both give the same bits: LEAKY's slope is applied in double as
 * Darknet's is, and other activations than LINEAR and LEAKY call Darknet's own, one
 * cache-sized chunk at a time.
 *
 * Between layers of different shapes (where a ResNet stage starts), Darknet adds the
 * overlap only: `from` (c1, h1, w1) is subsampled by stride = w1 / w2 or spread by
 * sample = w2 / w1 onto the output (c2, h2, w2), over min(c1, c2) channels; the other
 * outputs are the input unscaled. That case runs plane by plane (one image and channel),
 * which the threads share. */
#include "darknet_internal.h"
#include "kernels.h"
#include "parallel.h"

#include <stddef.h>

#define CHUNK 4096 /* floats per pass: the activation's pass finds them in cache */

/* y = act(y), n values, with Darknet's bits: LEAKY's slope applied in double as Darknet's
 * is, the other activations but LINEAR by Darknet's own function. */
static void activate_as_darknet(float *y, size_t n, ACTIVATION a) {
    if (a == LEAKY)
        for (size_t i = 0; i < n; ++i) y[i] = y[i] > 0 ? y[i] : (float)(0.1 * (double)y[i]);
    else if (a != LINEAR)
        activate_array(y, (int)n, a);
}

/* delta *= act'(y) where y is the stored output, with Darknet's bits. */
static void gradient_as_darknet(const float *y, size_t n, ACTIVATION a, float *delta) {
    if (a == LEAKY)
        for (size_t i = 0; i < n; ++i) delta[i] *= y[i] > 0 ? 1.f : 0.1f;
    else if (a != LINEAR)
        gradient_array(y, (int)n, a, delta);
}

static int same_shape(const layer *l) {
    return l->w == l->out_w && l->h == l->out_h && l->c == l->out_c;
}

typedef struct shortcut_job {
    const layer *l;
    const float *input, *from;       /* forward: (n) each */
    float *input_delta, *from_delta; /* backward: (n) each; either may be NULL */
    size_t n;
} shortcut_job;

static void slice(const shortcut_job *job, int part, int parts, size_t *lo, size_t *hi) {
    /* whole chunks per part, so that a part's chunks start where a single thread's do */
    size_t chunks = (job->n + CHUNK - 1) / CHUNK;
    *lo = chunks * part / parts * CHUNK;
    *hi = chunks * (part + 1) / parts * CHUNK;
    if (*hi > job->n) *hi = job->n;
    if (*lo > *hi) *lo = *hi;
}

static void forward_part(void *arg, int part, int parts) {
    const shortcut_job *job = arg;
    const layer *l = job->l;
    const float alpha = l->alpha, beta = l->beta, *in = job->input, *from = job->from;
    float *out = l->output;
    size_t lo, hi;
    slice(job, part, parts, &lo, &hi);
    for (size_t start = lo; start < hi; start += CHUNK) {
        size_t end = start + CHUNK < hi ? start + CHUNK : hi;
        for (size_t i = start; i < end; ++i) out[i] = alpha * in[i] + beta * from[i];
        activate_as_darknet(out + start, end - start, l->activation);
    }
}

/* delta *= act'(output); input_delta += alpha * delta; from_delta += beta * delta, in the
 * order Darknet applies them (so a shortcut from the layer just below, whose two deltas
 * are one buffer, also adds in Darknet's order). */
static void backward_part(void *arg, int part, int parts) {
    const shortcut_job *job = arg;
    const layer *l = job->l;
    const float alpha = l->alpha, beta = l->beta, *out = l->output;
    float *delta = l->delta, *input_delta = job->input_delta, *from_delta = job->from_delta;
    size_t lo, hi;
    slice(job, part, parts, &lo, &hi);
    for (size_t start = lo; start < hi; start += CHUNK) {
        size_t end = start + CHUNK < hi ? start + CHUNK : hi;
        gradient_as_darknet(out + start, end - start, l->activation, delta + start);
        if (input_delta)
            for (size_t i = start; i < end; ++i) input_delta[i] += alpha * delta[i];
        if (from_delta)
            for (size_t i = start; i < end; ++i) from_delta[i] += beta * delta[i];
    }
}

/* Plane k of image b of `add` into plane k of `out` over their overlap (Darknet's rule,
 * gcam_overlap_of), out = s1 * out + s2 * add. */
static void add_overlap_plane(const gcam_overlap *o, int b, int k, const float *add, float s1,
                              float s2, float *out) {
    if (k >= o->min_c) return;
    const float *a = add + ((size_t)b * o->c1 + k) * o->h1 * o->w1;
    float *y = out + ((size_t)b * o->c2 + k) * o->h2 * o->w2;
    for (int j = 0; j < o->min_h; ++j)
        for (int i = 0; i < o->min_w; ++i) {
            float *dst = y + (size_t)j * o->sample * o->w2 + i * o->sample;
            *dst = s1 * *dst + s2 * a[(size_t)j * o->stride * o->w1 + i * o->stride];
        }
}

static void forward_planes(void *arg, int part, int parts) {
    const shortcut_job *job = arg;
    const layer *l = job->l;
    gcam_overlap o = gcam_overlap_of(l->w, l->h, l->c, l->out_w, l->out_h, l->out_c);
    size_t spatial = (size_t)l->out_h * l->out_w;
    int lo, hi;
    gcam_parallel_slice(l->batch * l->out_c, part, parts, &lo, &hi);
    for (int p = lo; p < hi; ++p) {
        float *out = l->output + p * spatial;
        const float *in = job->input + p * spatial;
        for (size_t i = 0; i < spatial; ++i) out[i] = in[i];
        add_overlap_plane(&o, p / l->out_c, p % l->out_c, job->from, l->alpha, l->beta, l->output);
        activate_as_darknet(out, spatial, l->activation);
    }
}

static void backward_planes(void *arg, int part, int parts) {
    const shortcut_job *job = arg;
    const layer *l = job->l;
    gcam_overlap o = gcam_overlap_of(l->out_w, l->out_h, l->out_c, l->w, l->h, l->c);
    size_t spatial = (size_t)l->out_h * l->out_w;
    int lo, hi;
    gcam_parallel_slice(l->batch * l->out_c, part, parts, &lo, &hi);
    for (int p = lo; p < hi; ++p) {
        float *delta = l->delta + p * spatial;
        gradient_as_darknet(l->output + p * spatial, spatial, l->activation, delta);
        if (job->input_delta) {
            float *input_delta = job->input_delta + p * spatial;
            for (size_t i = 0; i < spatial; ++i) input_delta[i] += l->alpha * delta[i];
        }
        if (job->from_delta)
            add_overlap_plane(&o, p / l->out_c, p % l->out_c, l->delta, 1, l->beta,
                              job->from_delta);
    }
}

void gcam_shortcut_forward(layer l, network net) {
    shortcut_job job = {&l,   net.input, net.layers[l.index].output,
                        NULL, NULL,      (size_t)l.outputs * l.batch};
    gcam_parallel_run_sized(same_shape(&l) ? forward_part : forward_planes, &job, job.n);
}

void gcam_shortcut_backward(layer l, network net) {
    shortcut_job job = {
        &l, NULL, NULL, net.delta, net.layers[l.index].delta, (size_t)l.outputs * l.batch};
    gcam_parallel_run_sized(same_shape(&l) ? backward_part : backward_planes, &job, job.n);
}
