/* Image decoding and resizing (see image.h). stb_image is compiled here with static
 * linkage, so it cannot clash with the copy that libdarknet exports. */
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
/* stb defines many functions we do not call; its warnings are reported at the end of
 * the file, so they are silenced for the whole file. */
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb_image.h>

#include "error.h"
#include "image.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Binary PNM (P5/P6) headers stb_image mishandles: numbers that overflow its int parser
 * (undefined behaviour) and 16-bit samples, whose path overruns its buffer on short files
 * (both found by fuzzing). Returns the reason to refuse f, or NULL; leaves f at its start. */
static const char *pnm_refusal(FILE *f) {
    char head[256];
    size_t n = fread(head, 1, sizeof head - 1, f);
    rewind(f);
    head[n] = '\0';
    if (n < 2 || head[0] != 'P' || (head[1] != '5' && head[1] != '6')) return NULL;
    size_t i = 2;
    for (int k = 0; k < 3; ++k) { /* width, height, maximum value */
        for (;;) {                /* whitespace and comments */
            while (i < n && isspace((unsigned char)head[i])) ++i;
            if (i < n && head[i] == '#')
                while (i < n && head[i] != '\n') ++i;
            else
                break;
        }
        size_t digits = 0;
        long value = 0;
        while (i < n && isdigit((unsigned char)head[i]) && digits < 10)
            value = value * 10 + (head[i++] - '0'), ++digits;
        if (i < n && isdigit((unsigned char)head[i])) return "a PNM header number is too large";
        if (k < 2 && value > (1 << 24)) return "a PNM header number is too large";
        if (k == 2 && value > 255) return "16-bit PNM images are not supported";
    }
    return NULL;
}

int gcam_image_load(gcam_image *im, const char *path, int c, gcam_error *err) {
    memset(im, 0, sizeof *im);
    if (c != 1 && c != 3)
        return gcam_fail(err, "%s: networks with %d channels are not supported", path, c);
    FILE *f = fopen(path, "rb");
    if (!f) return gcam_fail(err, "%s: cannot open image: %s", path, strerror(errno));
    const char *refusal = pnm_refusal(f);
    if (refusal) {
        fclose(f);
        return gcam_fail(err, "%s: %s", path, refusal);
    }
    int w, h, file_channels;
    /* A small file may declare a huge image: refuse before decoding allocates it. */
    if (stbi_info_from_file(f, &w, &h, &file_channels) && (size_t)w * h > GCAM_IMAGE_MAX_PIXELS) {
        fclose(f);
        return gcam_fail(err,
                         "%s: image of %d x %d pixels is larger than the limit of %d "
                         "megapixels",
                         path, w, h, GCAM_IMAGE_MAX_PIXELS >> 20);
    }
    unsigned char *pixels = stbi_load_from_file(f, &w, &h, &file_channels, c);
    fclose(f);
    if (!pixels) return gcam_fail(err, "%s: cannot decode image: %s", path, stbi_failure_reason());
    if (w < 1 || h < 1) { /* stb accepts some headers that declare no pixels */
        stbi_image_free(pixels);
        return gcam_fail(err, "%s: image has no pixels (%d x %d)", path, w, h);
    }
    im->w = w;
    im->h = h;
    im->c = c;
    im->data = gcam_xmalloc(sizeof(float) * (size_t)w * h * c);
    for (int k = 0; k < c; ++k)
        for (size_t i = 0; i < (size_t)w * h; ++i)
            im->data[(size_t)k * w * h + i] = pixels[i * c + k] / 255.f;
    stbi_image_free(pixels);
    return 0;
}

void gcam_image_free(gcam_image *im) {
    free(im->data);
    memset(im, 0, sizeof *im);
}

/* Filter taps of one axis: for each output index, `taps` weights starting at first[o]. */
typedef struct resample_axis {
    int taps;
    int *first;     /* (out) */
    float *weights; /* (out, taps) */
} resample_axis;

static void axis_init(resample_axis *a, int in, int out) {
    double scale = (double)in / out;
    double support = scale > 1 ? scale : 1; /* triangle half-width in input pixels */
    a->taps = (int)ceil(support) * 2 + 1;
    a->first = gcam_xmalloc(sizeof(int) * (size_t)out);
    a->weights = gcam_xcalloc((size_t)out * a->taps, sizeof(float));
    for (int o = 0; o < out; ++o) {
        double center = (o + 0.5) * scale - 0.5;
        int lo = (int)floor(center - support) + 1;
        if (lo < 0) lo = 0;
        a->first[o] = lo;
        double total = 0;
        float *w = a->weights + (size_t)o * a->taps;
        for (int t = 0; t < a->taps && lo + t < in; ++t) {
            double d = fabs(lo + t - center) / support;
            w[t] = d < 1 ? (float)(1 - d) : 0.f;
            total += w[t];
        }
        if (total <= 0) { /* only when out > in at an edge: take the nearest pixel */
            int nearest = (int)floor(center + 0.5);
            nearest = nearest < 0 ? 0 : (nearest >= in ? in - 1 : nearest);
            a->first[o] = nearest;
            memset(w, 0, sizeof(float) * (size_t)a->taps);
            w[0] = 1;
            total = 1;
        }
        for (int t = 0; t < a->taps; ++t) w[t] = (float)(w[t] / total);
    }
}

static void axis_free(resample_axis *a) {
    free(a->first);
    free(a->weights);
}

void gcam_image_resize(const gcam_image *src, int w, int h, gcam_image *dst) {
    dst->w = w;
    dst->h = h;
    dst->c = src->c;
    dst->data = gcam_xmalloc(sizeof(float) * (size_t)w * h * src->c);
    if (src->w == w && src->h == h) {
        memcpy(dst->data, src->data, sizeof(float) * (size_t)w * h * src->c);
        return;
    }
    resample_axis ax, ay;
    axis_init(&ax, src->w, w);
    axis_init(&ay, src->h, h);
    float *rows = gcam_xmalloc(sizeof(float) * (size_t)src->h * w); /* (src h, w) */
    for (int k = 0; k < src->c; ++k) {
        const float *plane = src->data + (size_t)k * src->w * src->h;
        for (int y = 0; y < src->h; ++y)
            for (int x = 0; x < w; ++x) {
                const float *wt = ax.weights + (size_t)x * ax.taps;
                const float *p = plane + (size_t)y * src->w + ax.first[x];
                int n = src->w - ax.first[x] < ax.taps ? src->w - ax.first[x] : ax.taps;
                float sum = 0;
                for (int t = 0; t < n; ++t) sum += wt[t] * p[t];
                rows[(size_t)y * w + x] = sum;
            }
        float *out = dst->data + (size_t)k * w * h;
        for (int y = 0; y < h; ++y) {
            const float *wt = ay.weights + (size_t)y * ay.taps;
            int n = src->h - ay.first[y] < ay.taps ? src->h - ay.first[y] : ay.taps;
            for (int x = 0; x < w; ++x) {
                float sum = 0;
                for (int t = 0; t < n; ++t) sum += wt[t] * rows[(size_t)(ay.first[y] + t) * w + x];
                out[(size_t)y * w + x] = sum;
            }
        }
    }
    free(rows);
    axis_free(&ax);
    axis_free(&ay);
}

int gcam_image_load_for_net(const char *path, int w, int h, int c, float *out, gcam_error *err) {
    gcam_image im, sized;
    if (gcam_image_load(&im, path, c, err)) return -1;
    gcam_image_resize(&im, w, h, &sized);
    memcpy(out, sized.data, sizeof(float) * (size_t)w * h * c);
    gcam_image_free(&im);
    gcam_image_free(&sized);
    return 0;
}
