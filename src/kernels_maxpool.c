/* Max pooling with Darknet's geometry (window origin -padding/2, out = (in + padding -
 * size) / stride + 1, positions outside the image never chosen). Unlike Darknet's, a NaN
 * in a window is chosen (and so propagates) instead of leaving the argmax at -1, which
 * made Darknet's backward write before the start of the gradient buffer. */
#include "kernels.h"

#include <float.h>

void gcam_maxpool_forward(layer l, network net) {
    int offset = -l.pad / 2;
    for (int b = 0; b < l.batch; ++b)
        for (int k = 0; k < l.c; ++k) {
            const float *plane = net.input + ((size_t)b * l.c + k) * l.h * l.w;
            size_t plane_start = ((size_t)b * l.c + k) * l.h * l.w;
            for (int i = 0; i < l.out_h; ++i)
                for (int j = 0; j < l.out_w; ++j) {
                    float best = -FLT_MAX;
                    int best_index = -1;
                    for (int n = 0; n < l.size; ++n)
                        for (int m = 0; m < l.size; ++m) {
                            int y = offset + i * l.stride + n, x = offset + j * l.stride + m;
                            if (y < 0 || y >= l.h || x < 0 || x >= l.w) continue;
                            float v = plane[y * l.w + x];
                            if (best_index < 0 || v > best || v != v) {
                                best = v;
                                best_index = y * l.w + x;
                                if (v != v) goto chosen;
                            }
                        }
                chosen:;
                    size_t out = (((size_t)b * l.c + k) * l.out_h + i) * l.out_w + j;
                    l.output[out] = best;
                    l.indexes[out] = (int)(plane_start + (size_t)best_index);
                }
        }
}

void gcam_maxpool_backward(layer l, network net) {
    if (!net.delta) return;
    size_t n = (size_t)l.out_h * l.out_w * l.c * l.batch;
    for (size_t i = 0; i < n; ++i) net.delta[l.indexes[i]] += l.delta[i];
}
