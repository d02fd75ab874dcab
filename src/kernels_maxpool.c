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

/* window_argmax for a 2x2 window inside the image, written out: ResNet's and Darknet's
 * usual pooling, where the general loop's bounds and index arithmetic cost more than the
 * four comparisons. The same positions in the same order, so the same choice. */
static inline int window_argmax_2x2(const float *plane, int top_left, int w) {
    const int at[4] = {top_left, top_left + 1, top_left + w, top_left + w + 1};
    int best = at[0];
    float best_value = plane[best];
    if (best_value != best_value) return best;
    for (int k = 1; k < 4; ++k) {
        float v = plane[at[k]];
        if (v != v) return at[k];
        if (v > best_value) best_value = v, best = at[k];
    }
    return best;
}

typedef struct pool_job {
    const layer *l;
    const float *input; /* (batch, c, h, w) */
} pool_job;

static void forward_planes(void *arg, int part, int parts) {
    const pool_job *job = arg;
    const layer *l = job->l;
    int offset = -l->pad / 2, lo, hi;
    gcam_parallel_slice(l->batch * l->c, part, parts, &lo, &hi);
    for (int p = lo; p < hi; ++p) {
        size_t plane_start = (size_t)p * l->h * l->w;
        const float *plane = job->input + plane_start;
        for (int i = 0; i < l->out_h; ++i) {
            int y0 = offset + i * l->stride;
            int rows_inside = y0 >= 0 && y0 + l->size <= l->h;
            for (int j = 0; j < l->out_w; ++j) {
                int x0 = offset + j * l->stride;
                int inside = rows_inside && x0 >= 0 && x0 + l->size <= l->w;
                int best = !inside        ? window_argmax(l, plane, y0, x0, 1)
                           : l->size == 2 ? window_argmax_2x2(plane, y0 * l->w + x0, l->w)
                                          : window_argmax(l, plane, y0, x0, 0);
                size_t out = ((size_t)p * l->out_h + i) * l->out_w + j;
                l->output[out] = plane[best];
                l->indexes[out] = (int)(plane_start + (size_t)best);
            }
        }
    }
}

/* Planes (image, channel) are split between the kernel threads when there is enough work
 * for them; each output depends on its own window only, so the split changes no value. */
void gcam_maxpool_forward(layer l, network net) {
    pool_job job = {&l, net.input};
    if ((size_t)l.outputs * l.batch < 65536)
        forward_planes(&job, 0, 1);
    else
        gcam_parallel_run(forward_planes, &job);
}

void gcam_maxpool_backward(layer l, network net) {
    if (!net.delta) return;
    size_t n = (size_t)l.out_h * l.out_w * l.c * l.batch;
    for (size_t i = 0; i < n; ++i) net.delta[l.indexes[i]] += l.delta[i];
}
