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
#include <string.h>

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

/* Draws image (c, h, w) blended with jet(map) (map NULL: the image alone) into the RGB
 * canvas rgb (canvas_w wide) with its top-left corner at (ox, oy), each pixel as a
 * scale x scale block. */
static void draw_tile(unsigned char *rgb, int canvas_w, int ox, int oy, const float *image, int c,
                      int h, int w, const float *map, float alpha, int scale) {
    size_t hw = (size_t)h * w;
    for (int y = 0; y < h * scale; ++y)
        for (int x = 0; x < w * scale; ++x) {
            size_t p = (size_t)(y / scale) * w + (size_t)(x / scale);
            size_t q = (size_t)(oy + y) * canvas_w + (size_t)(ox + x);
            float jet[3] = {0, 0, 0}, a = map ? alpha : 0;
            if (map) gcam_jet(map[p], &jet[0], &jet[1], &jet[2]);
            for (int k = 0; k < 3; ++k) {
                float v = image[(c == 3 ? (size_t)k : 0) * hw + p];
                rgb[q * 3 + k] = (unsigned char)lroundf(255 * clamp01((1 - a) * v + a * jet[k]));
            }
        }
}

static int write_png_atomic(const char *path, const unsigned char *rgb, int w, int h,
                            gcam_error *err) {
    atomic_file f;
    if (atomic_file_open(&f, path, err)) return -1;
    if (!stbi_write_png_to_func(write_to_stream, f.stream, w, h, 3, rgb, w * 3)) {
        atomic_file_abort(&f);
        return gcam_fail(err, "%s: PNG encoding failed", path);
    }
    return atomic_file_commit(&f, err);
}

int gcam_heatmap_write_png(const char *path, const float *image, int c, int h, int w,
                           const float *map, float alpha, int scale, gcam_error *err) {
    if (scale < 1) scale = 1;
    unsigned char *rgb = gcam_xmalloc((size_t)w * scale * h * scale * 3);
    draw_tile(rgb, w * scale, 0, 0, image, c, h, w, map, alpha, scale);
    int status = write_png_atomic(path, rgb, w * scale, h * scale, err);
    free(rgb);
    return status;
}

int gcam_heatmap_write_grid_png(const char *path, const float *images, const float *maps, int n,
                                int c, int h, int w, float alpha, int scale, gcam_error *err) {
    if (scale < 1) scale = 1;
    const int gap = 2;
    int tile_w = w * scale, tile_h = h * scale;
    int canvas_w = n * tile_w + (n + 1) * gap, canvas_h = 2 * tile_h + 3 * gap;
    unsigned char *rgb = gcam_xmalloc((size_t)canvas_w * canvas_h * 3);
    memset(rgb, 255, (size_t)canvas_w * canvas_h * 3);
    for (int i = 0; i < n; ++i) {
        const float *image = images + (size_t)i * c * h * w;
        int ox = gap + i * (tile_w + gap);
        draw_tile(rgb, canvas_w, ox, gap, image, c, h, w, NULL, 0, scale);
        draw_tile(rgb, canvas_w, ox, 2 * gap + tile_h, image, c, h, w, maps + (size_t)i * h * w,
                  alpha, scale);
    }
    int status = write_png_atomic(path, rgb, canvas_w, canvas_h, err);
    free(rgb);
    return status;
}

typedef struct memory_png {
    unsigned char *data;
    size_t size, capacity;
} memory_png;

static void write_to_memory(void *context, void *data, int size) {
    memory_png *m = context;
    if (m->size + (size_t)size > m->capacity) {
        m->capacity = 2 * (m->size + (size_t)size);
        m->data = gcam_xrealloc(m->data, m->capacity);
    }
    memcpy(m->data + m->size, data, (size_t)size);
    m->size += (size_t)size;
}

unsigned char *gcam_heatmap_encode_png(const float *image, int c, int h, int w, const float *map,
                                       float alpha, int scale, int *size) {
    if (scale < 1) scale = 1;
    unsigned char *rgb = gcam_xmalloc((size_t)w * scale * h * scale * 3);
    draw_tile(rgb, w * scale, 0, 0, image, c, h, w, map, alpha, scale);
    memory_png m = {0};
    stbi_write_png_to_func(write_to_memory, &m, w * scale, h * scale, 3, rgb, w * scale * 3);
    free(rgb);
    *size = (int)m.size;
    return m.data;
}

int gcam_png_write_rgb(const char *path, const unsigned char *rgb, int w, int h, gcam_error *err) {
    return write_png_atomic(path, rgb, w, h, err);
}
