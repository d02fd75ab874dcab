/* PNG files and text on RGB canvases through cairo (see png.h). Packed RGB is copied in
 * and out of cairo's RGB24 format (one native-endian 32-bit word per pixel, 0xXXRRGGBB),
 * which holds 8 bits per channel unchanged, so a round trip is exact. */
#include "png.h"

#include "atomic_file.h"
#include "error.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cairo's image surfaces address pixels with 16-bit coordinates internally. */
#define MAX_SIDE 32767

/* An RGB24 surface of the w x h region of the canvas rgb (canvas_w wide) whose
 * top-left corner is (x0, y0); NULL if cairo cannot make one. */
static cairo_surface_t *surface_from_rgb(const unsigned char *rgb, int canvas_w, int x0, int y0,
                                         int w, int h) {
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(s);
        return NULL;
    }
    cairo_surface_flush(s);
    unsigned char *data = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    for (int y = 0; y < h; ++y) {
        uint32_t *row = (uint32_t *)(data + (size_t)y * stride);
        const unsigned char *p = rgb + ((size_t)(y0 + y) * canvas_w + x0) * 3;
        for (int x = 0; x < w; ++x, p += 3)
            row[x] = 0xff000000u | (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    }
    cairo_surface_mark_dirty(s);
    return s;
}

/* Copies an RGB24 surface back into the canvas region it came from. */
static void surface_to_rgb(cairo_surface_t *s, unsigned char *rgb, int canvas_w, int x0, int y0) {
    cairo_surface_flush(s);
    const unsigned char *data = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
    for (int y = 0; y < h; ++y) {
        const uint32_t *row = (const uint32_t *)(data + (size_t)y * stride);
        unsigned char *p = rgb + ((size_t)(y0 + y) * canvas_w + x0) * 3;
        for (int x = 0; x < w; ++x, p += 3) {
            p[0] = (unsigned char)(row[x] >> 16);
            p[1] = (unsigned char)(row[x] >> 8);
            p[2] = (unsigned char)row[x];
        }
    }
}

static cairo_status_t write_to_stream(void *closure, const unsigned char *data,
                                      unsigned int length) {
    return fwrite(data, 1, length, closure) == length ? CAIRO_STATUS_SUCCESS
                                                      : CAIRO_STATUS_WRITE_ERROR;
}

typedef struct memory_png {
    unsigned char *data;
    size_t size, capacity;
} memory_png;

static cairo_status_t write_to_memory(void *closure, const unsigned char *data,
                                      unsigned int length) {
    memory_png *m = closure;
    if (m->size + length > m->capacity) {
        m->capacity = 2 * (m->size + length);
        m->data = gcam_xrealloc(m->data, m->capacity);
    }
    memcpy(m->data + m->size, data, length);
    m->size += length;
    return CAIRO_STATUS_SUCCESS;
}

int gcam_png_write_surface(const char *path, cairo_surface_t *surface, gcam_error *err) {
    cairo_status_t status = cairo_surface_status(surface);
    if (status != CAIRO_STATUS_SUCCESS)
        return gcam_fail(err, "%s: cannot draw the picture: %s", path,
                         cairo_status_to_string(status));
    gcam_atomic_file f;
    if (gcam_atomic_file_open(&f, path, err)) return -1;
    status = cairo_surface_write_to_png_stream(surface, write_to_stream, f.stream);
    if (status != CAIRO_STATUS_SUCCESS) {
        gcam_atomic_file_abort(&f);
        return gcam_fail(err, "%s: PNG encoding failed: %s", path, cairo_status_to_string(status));
    }
    return gcam_atomic_file_commit(&f, err);
}

int gcam_png_write_rgb(const char *path, const unsigned char *rgb, int w, int h, gcam_error *err) {
    if (w < 1 || h < 1 || w > MAX_SIDE || h > MAX_SIDE)
        return gcam_fail(err, "%s: cannot write a %dx%d PNG (each side must be 1..%d)", path, w, h,
                         MAX_SIDE);
    cairo_surface_t *s = surface_from_rgb(rgb, w, 0, 0, w, h);
    if (!s) return gcam_fail(err, "%s: cannot make a %dx%d image", path, w, h);
    int status = gcam_png_write_surface(path, s, err);
    cairo_surface_destroy(s);
    return status;
}

unsigned char *gcam_png_encode_rgb(const unsigned char *rgb, int w, int h, int *size) {
    *size = 0;
    if (w < 1 || h < 1 || w > MAX_SIDE || h > MAX_SIDE) return NULL;
    cairo_surface_t *s = surface_from_rgb(rgb, w, 0, 0, w, h);
    if (!s) return NULL;
    memory_png m = {0};
    cairo_status_t status = cairo_surface_write_to_png_stream(s, write_to_memory, &m);
    cairo_surface_destroy(s);
    if (status != CAIRO_STATUS_SUCCESS || m.size > INT32_MAX) {
        free(m.data);
        return NULL;
    }
    *size = (int)m.size;
    return m.data;
}

void gcam_png_set_font(cairo_t *cr, double size) {
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_font_options_t *options = cairo_font_options_create();
    cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_SLIGHT);
    cairo_font_options_set_antialias(options, CAIRO_ANTIALIAS_GRAY);
    cairo_set_font_options(cr, options);
    cairo_font_options_destroy(options);
    cairo_set_font_size(cr, size);
}

/* Length of the valid UTF-8 sequence at s (1 to 4), or 0 if it is not one. Overlong
 * forms, surrogates and code points above U+10FFFF are invalid. */
static int utf8_length(const unsigned char *s) {
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    int n;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    else
        return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (int k = 2; k < n; ++k)
        if (s[k] < 0x80 || s[k] > 0xbf) return 0;
    /* U+FFFE and U+FFFF are not characters, and XML refuses them */
    if (n == 3 && c == 0xef && s[1] == 0xbf && s[2] >= 0xbe) return 0;
    return n;
}

char *gcam_png_clean_text(const char *text) {
    size_t n = strlen(text);
    char *out = gcam_xmalloc(n + 1);
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < n) {
        int len = utf8_length(s + i);
        if (len == 0 || (len == 1 && (s[i] < 0x20 || s[i] == 0x7f))) {
            out[i++] = '?';
            continue;
        }
        memcpy(out + i, s + i, (size_t)len);
        i += (size_t)len;
    }
    out[n] = '\0';
    return out;
}

/* A context on a 1x1 surface, for measuring text. */
static cairo_t *measuring_context(void) {
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
    cairo_t *cr = cairo_create(s);
    cairo_surface_destroy(s); /* cr holds its own reference */
    return cr;
}

double gcam_png_text_width(const char *text, double size) {
    if (!text || !*text || !(size > 0)) return 0;
    cairo_t *cr = measuring_context();
    gcam_png_set_font(cr, size);
    char *clean = gcam_png_clean_text(text);
    cairo_text_extents_t e;
    cairo_text_extents(cr, clean, &e);
    free(clean);
    cairo_destroy(cr);
    return e.x_advance;
}

void gcam_png_draw_text(unsigned char *rgb, int w, int h, double x, double y, const char *text,
                        double size, const unsigned char colour[3]) {
    if (!text || !*text || !(size > 0) || !isfinite(x) || !isfinite(y)) return;
    char *clean = gcam_png_clean_text(text);
    cairo_t *measure = measuring_context();
    gcam_png_set_font(measure, size);
    cairo_text_extents_t e;
    cairo_text_extents(measure, clean, &e);
    cairo_destroy(measure);
    /* Only the region around the ink goes through cairo: the margin covers antialiasing
     * and hinting, and keeps the cost independent of the canvas size. */
    double left = floor(x + e.x_bearing) - 2, top = floor(y + e.y_bearing) - 2;
    double right = ceil(x + e.x_bearing + e.width) + 2;
    double bottom = ceil(y + e.y_bearing + e.height) + 2;
    int x0 = (int)fmin(fmax(left, 0), w), y0 = (int)fmin(fmax(top, 0), h);
    int x1 = (int)fmax(fmin(right, w), 0), y1 = (int)fmax(fmin(bottom, h), 0);
    cairo_surface_t *s =
        x1 > x0 && y1 > y0 ? surface_from_rgb(rgb, w, x0, y0, x1 - x0, y1 - y0) : NULL;
    if (s) {
        cairo_t *cr = cairo_create(s);
        gcam_png_set_font(cr, size);
        cairo_set_source_rgb(cr, colour[0] / 255.0, colour[1] / 255.0, colour[2] / 255.0);
        cairo_move_to(cr, x - x0, y - y0);
        cairo_show_text(cr, clean);
        cairo_destroy(cr);
        surface_to_rgb(s, rgb, w, x0, y0);
        cairo_surface_destroy(s);
    }
    free(clean);
}
