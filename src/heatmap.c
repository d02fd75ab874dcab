/* Heatmap PNGs (see heatmap.h), encoded with stb_image_write. */
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb_image_write.h>

#include "heatmap.h"

#include "atomic_file.h"
#include "error.h"

#include <math.h>
#include <stdlib.h>

static float clamp01(float v) {
    return v < 0 ? 0 : (v > 1 ? 1 : v);
}

void gcam_jet(float v, float *r, float *g, float *b) {
    v = clamp01(v);
    *r = clamp01(1.5f - fabsf(4 * v - 3));
    *g = clamp01(1.5f - fabsf(4 * v - 2));
    *b = clamp01(1.5f - fabsf(4 * v - 1));
}

static void write_to_stream(void *context, void *data, int size) {
    fwrite(data, 1, (size_t)size, (FILE *)context);
}

int gcam_heatmap_write_png(const char *path, const float *image, int c, int h, int w,
                           const float *map, float alpha, int scale, gcam_error *err) {
    size_t hw = (size_t)h * w;
    if (scale < 1) scale = 1;
    int out_w = w * scale, out_h = h * scale;
    unsigned char *rgb = gcam_xmalloc((size_t)out_w * out_h * 3);
    for (int y = 0; y < out_h; ++y)
        for (int x = 0; x < out_w; ++x) {
            size_t p = (size_t)(y / scale) * w + (size_t)(x / scale), q = (size_t)y * out_w + x;
            float jet[3];
            gcam_jet(map[p], &jet[0], &jet[1], &jet[2]);
            for (int k = 0; k < 3; ++k) {
                float v = image[(c == 3 ? (size_t)k : 0) * hw + p];
                rgb[q * 3 + k] =
                    (unsigned char)lroundf(255 * clamp01((1 - alpha) * v + alpha * jet[k]));
            }
        }
    w = out_w;
    h = out_h;
    atomic_file f;
    if (atomic_file_open(&f, path, err)) {
        free(rgb);
        return -1;
    }
    int ok = stbi_write_png_to_func(write_to_stream, f.stream, w, h, 3, rgb, w * 3);
    free(rgb);
    if (!ok) {
        atomic_file_abort(&f);
        return gcam_fail(err, "%s: PNG encoding failed", path);
    }
    return atomic_file_commit(&f, err);
}
