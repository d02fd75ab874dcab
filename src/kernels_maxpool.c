/* Max pooling with Darknet's geometry (window origin -padding/2, out = (in + padding -
 * size) / stride + 1, positions outside the image never chosen). Unlike Darknet's, a NaN
 * in a window is chosen (and so propagates) instead of leaving the argmax at -1, which
 * made Darknet's backward write before the start of the gradient buffer. */
#include "kernels.h"
#include "parallel.h"

#include <float.h>

/* The window at output (i, j) of one plane: the first position holding its maximum, or
 * its first NaN. `checked` tests each position against the image's bounds (border
 * windows); interior windows skip the tests. */
static inline int window_argmax(const layer *l, const float *plane, int y0, int x0, int checked) {
    float best = -FLT_MAX;
    int best_index = -1;
    for (int n = 0; n < l->size; ++n)
        for (int m = 0; m < l->size; ++m) {
            int y = y0 + n, x = x0 + m;
            if (checked && (y < 0 || y >= l->h || x < 0 || x >= l->w)) continue;
            float v = plane[y * l->w + x];
            if (best_index < 0 || v > best || v != v) {
                best = v;
                best_index = y * l->w + x;
                if (v != v) return best_index;
            }
        }
    return best_index;
}

/* One output row of a 2x2, stride-2 pooling whose windows all lie inside the image:
 * ResNet's and Darknet's usual pooling. The positions are visited in window_argmax's
 * order, with selects instead of branches: on real activations which of the four wins is
 * a coin toss, mispredicted branches cost the general loop several times the memory
 * traffic, and selects let the compiler vectorise the row (the Makefile builds the kernels
 * with -fno-trapping-math, without which GCC keeps a comparison's branch). Returns
 * nonzero if the row holds a NaN: the caller then redoes it with window_argmax, which
 * picks the first NaN. top (2 * n) and bottom (2 * n) are the window rows; index_base is
 * top's index. */
static int pool_row_2x2(const float *restrict top, const float *restrict bottom, int n, int width,
                        int index_base, float *restrict out, int *restrict indexes) {
    int nan = 0;
    for (int j = 0; j < n; ++j) {
        float v0 = top[2 * j], v1 = top[2 * j + 1], v2 = bottom[2 * j], v3 = bottom[2 * j + 1];
        nan |= (v0 != v0) | (v1 != v1) | (v2 != v2) | (v3 != v3);
        float best = v0;
        int offset = 0;
        offset = v1 > best ? 1 : offset, best = v1 > best ? v1 : best;
        offset = v2 > best ? width : offset, best = v2 > best ? v2 : best;
        offset = v3 > best ? width + 1 : offset, best = v3 > best ? v3 : best;
        out[j] = best;
        indexes[j] = index_base + 2 * j + offset;
    }
    return nan;
}

typedef struct pool_job {
    const layer *l;
    const float *input; /* forward: (batch, c, h, w) */
    float *input_delta; /* backward: (batch, c, h, w) */
} pool_job;

static void forward_planes(void *arg, int part, int parts) {
    const pool_job *job = arg;
    const layer *l = job->l;
    int offset = -l->pad / 2, lo, hi;
    int rows_2x2 = l->size == 2 && l->stride == 2 && offset == 0;
    gcam_parallel_slice(l->batch * l->c, part, parts, &lo, &hi);
    for (int p = lo; p < hi; ++p) {
        size_t plane_start = (size_t)p * l->h * l->w;
        const float *plane = job->input + plane_start;
        for (int i = 0; i < l->out_h; ++i) {
            int y0 = offset + i * l->stride;
            int rows_inside = y0 >= 0 && y0 + l->size <= l->h;
            size_t row_out = ((size_t)p * l->out_h + i) * l->out_w;
            int j = 0;
            if (rows_inside && rows_2x2) {
                int inside = l->w / 2; /* the windows inside the image */
                const float *top = plane + (size_t)y0 * l->w;
                if (!pool_row_2x2(top, top + l->w, inside, l->w, (int)plane_start + y0 * l->w,
                                  l->output + row_out, l->indexes + row_out))
                    j = inside;
            }
            for (; j < l->out_w; ++j) {
                int x0 = offset + j * l->stride;
                int inside = rows_inside && x0 >= 0 && x0 + l->size <= l->w;
                int best = window_argmax(l, plane, y0, x0, !inside);
                l->output[row_out + j] = plane[best];
                l->indexes[row_out + j] = (int)(plane_start + (size_t)best);
            }
        }
    }
}

/* Planes (image, channel) are split between the kernel threads when there is enough work
 * for them; each output depends on its own window only, so the split changes no value. */
void gcam_maxpool_forward(layer l, network net) {
    pool_job job = {&l, net.input, NULL};
    gcam_parallel_run_sized(forward_planes, &job, (size_t)l.outputs * l.batch);
}

static void backward_planes(void *arg, int part, int parts) {
    const pool_job *job = arg;
    const layer *l = job->l;
    size_t plane_outputs = (size_t)l->out_h * l->out_w;
    int lo, hi;
    gcam_parallel_slice(l->batch * l->c, part, parts, &lo, &hi);
    for (size_t i = (size_t)lo * plane_outputs; i < (size_t)hi * plane_outputs; ++i)
        job->input_delta[l->indexes[i]] += l->delta[i];
}

/* Every output's argmax lies in its own plane, so splitting planes between the threads
 * keeps each input's additions in the single-threaded order. */
void gcam_maxpool_backward(layer l, network net) {
    if (!net.delta) return;
    pool_job job = {&l, NULL, net.delta};
    gcam_parallel_run_sized(backward_planes, &job, (size_t)l.outputs * l.batch);
}
