/* Heatmap pictures (see heatmap.h and gcam/saliency.h), encoded through png.c. */
#include "heatmap.h"

#include "gcam/saliency.h"

#include "error.h"
#include "png.h"

#include <math.h>
#include <stdio.h>
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

/* The overlay alone as an RGB canvas (h * scale, w * scale, 3), malloc'd. */
static unsigned char *overlay(const float *image, int c, int h, int w, const float *map,
                              float alpha, int scale) {
    unsigned char *rgb = gcam_xmalloc((size_t)w * scale * h * scale * 3);
    draw_tile(rgb, w * scale, 0, 0, image, c, h, w, map, alpha, scale);
    return rgb;
}

/* The outline of box (input pixels) on the canvas (cw x ch): `inset` pixels inside its
 * edge, `width` thick, in colour. */
static void draw_outline(unsigned char *rgb, int cw, int ch, const float box[4], int scale,
                         int inset, int width, unsigned char colour) {
    int x0 = (int)lroundf(box[0] * scale) + inset, y0 = (int)lroundf(box[1] * scale) + inset;
    int x1 = (int)lroundf(box[2] * scale) - 1 - inset,
        y1 = (int)lroundf(box[3] * scale) - 1 - inset;
    for (int y = y0; y <= y1; ++y)
        for (int x = x0; x <= x1; ++x) {
            int edge = x < x0 + width || x > x1 - width || y < y0 + width || y > y1 - width;
            if (!edge || x < 0 || y < 0 || x >= cw || y >= ch) continue;
            unsigned char *px = rgb + ((size_t)y * cw + x) * 3;
            px[0] = px[1] = px[2] = colour;
        }
}

int gcam_heatmap_write_png_boxed(const char *path, const float *image, int c, int h, int w,
                                 const float *map, float alpha, int scale, const float *box,
                                 gcam_error *err) {
    if (scale < 1) scale = 1;
    unsigned char *rgb = overlay(image, c, h, w, map, alpha, scale);
    if (box) {
        int line = scale < 2 ? 1 : scale / 2;
        draw_outline(rgb, w * scale, h * scale, box, scale, 0, 3 * line, 0);
        draw_outline(rgb, w * scale, h * scale, box, scale, line, line, 255);
    }
    int status = gcam_png_write_rgb(path, rgb, w * scale, h * scale, err);
    free(rgb);
    return status;
}

int gcam_heatmap_write_png(const char *path, const float *image, int c, int h, int w,
                           const float *map, float alpha, int scale, gcam_error *err) {
    return gcam_heatmap_write_png_boxed(path, image, c, h, w, map, alpha, scale, NULL, err);
}

unsigned char *gcam_heatmap_encode_png(const float *image, int c, int h, int w, const float *map,
                                       float alpha, int scale, int *size) {
    if (scale < 1) scale = 1;
    unsigned char *rgb = overlay(image, c, h, w, map, alpha, scale);
    unsigned char *png = gcam_png_encode_rgb(rgb, w * scale, h * scale, size);
    free(rgb);
    return png;
}

/* "name" of class k, or its number. */
static void class_text(char *out, size_t size, const char *prefix, int k,
                       char *const *class_names) {
    if (k < 0)
        snprintf(out, size, "%s ?", prefix);
    else if (class_names)
        snprintf(out, size, "%s %s", prefix, class_names[k]);
    else
        snprintf(out, size, "%s class %d", prefix, k);
}

/* Writes text centred on x at baseline y, shrunk to fit `width` pixels. */
static void centred_text(unsigned char *rgb, int canvas_w, int canvas_h, double x, double y,
                         const char *text, double size, double width,
                         const unsigned char colour[3]) {
    double text_w = gcam_png_text_width(text, size);
    if (text_w > width && text_w > 0) {
        size *= width / text_w;
        text_w = width;
    }
    gcam_png_draw_text(rgb, canvas_w, canvas_h, x - text_w / 2, y, text, size, colour);
}

int gcam_heatmap_write_grid_png(const char *path, const float *images, const float *maps, int n,
                                int c, int h, int w, float alpha, int scale,
                                const gcam_heatmap_label *labels, char *const *class_names,
                                gcam_method method, gcam_error *err) {
    if (scale < 1) scale = 1;
    const int gap = 4, font = 12, line = 15;
    int tile_w = w * scale, tile_h = h * scale, text_h = 3 * line + gap;
    int canvas_w = n * tile_w + (n + 1) * gap, canvas_h = 2 * tile_h + 3 * gap + text_h;
    unsigned char *rgb = gcam_xmalloc((size_t)canvas_w * canvas_h * 3); /* (h, w, 3) */
    memset(rgb, 255, (size_t)canvas_w * canvas_h * 3);
    const unsigned char ink[3] = {30, 30, 30}, wrong[3] = {200, 30, 30}, soft[3] = {90, 90, 90};
    for (int i = 0; i < n; ++i) {
        const float *image = images + (size_t)i * c * h * w;
        int ox = gap + i * (tile_w + gap);
        draw_tile(rgb, canvas_w, ox, gap, image, c, h, w, NULL, 0, scale);
        draw_tile(rgb, canvas_w, ox, 2 * gap + tile_h, image, c, h, w, maps + (size_t)i * h * w,
                  alpha, scale);
        char text[160];
        double centre = ox + tile_w / 2.0, top = 3 * gap + 2 * tile_h;
        const gcam_heatmap_label *l = &labels[i];
        class_text(text, sizeof text, "true", l->true_class, class_names);
        centred_text(rgb, canvas_w, canvas_h, centre, top + line - 3, text, font, tile_w, ink);
        class_text(text, sizeof text, "pred", l->predicted_class, class_names);
        centred_text(rgb, canvas_w, canvas_h, centre, top + 2 * line - 3, text, font, tile_w,
                     l->predicted_class == l->true_class ? ink : wrong);
        centred_text(rgb, canvas_w, canvas_h, centre, top + 3 * line - 3, gcam_method_name(method),
                     font, tile_w, soft);
    }
    int status = gcam_png_write_rgb(path, rgb, canvas_w, canvas_h, err);
    free(rgb);
    return status;
}
