/* Image operations shared by saliency, guided augmentation, evaluation and reporting:
 * resampling, Gaussian blur, bilinear upsampling of maps, percentiles and min-max
 * normalisation (see image_ops.h). */
#include "image_ops.h"

#include "error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Filter taps of one axis: for each output index, `taps` weights starting at first[o]. */
typedef struct resample_axis {
    int taps;
    int *first;     /* (out) */
    float *weights; /* (out, taps) */
} resample_axis;

/* The taps of out samples over [start, start + length) of an axis of `in` pixels: a
 * triangle of half-width max(scale, 1) input pixels around each output centre, so a
 * shrinking resample averages. Taps outside [0, in) are dropped and the rest renormalised;
 * an output whose taps all fall outside takes the nearest pixel. */
static void axis_init(resample_axis *a, int in, double start, double length, int out) {
    double scale = length / out;
    double support = scale > 1 ? scale : 1; /* triangle half-width in input pixels */
    a->taps = (int)ceil(support) * 2 + 1;
    a->first = gcam_xmalloc(sizeof(int) * (size_t)out);
    a->weights = gcam_xcalloc((size_t)out * a->taps, sizeof(float));
    for (int o = 0; o < out; ++o) {
        double center = start + (o + 0.5) * scale - 0.5;
        int lo = (int)floor(center - support) + 1;
        if (lo < 0) lo = 0;
        if (lo > in - 1) lo = in - 1;
        a->first[o] = lo;
        double total = 0;
        float *w = a->weights + (size_t)o * a->taps;
        for (int t = 0; t < a->taps && lo + t < in; ++t) {
            double d = fabs(lo + t - center) / support;
            w[t] = d < 1 ? (float)(1 - d) : 0.f;
            total += w[t];
        }
        if (total <= 0) { /* outside the image, or out > in at an edge: the nearest pixel */
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

/* The horizontal pass runs only on the source rows the vertical taps read (a crop of a
 * large image reads a few of them); the vertical pass accumulates one output row at a
 * time, tap by tap, so the compiler vectorises across the row, and each output still sums
 * its taps in order from the first: the same bits as a per-pixel loop. */
void gcam_image_resample_box(const gcam_image *src, const float box[4], int w, int h, float *dst) {
    if (box[0] == 0 && box[1] == 0 && box[2] == src->w && box[3] == src->h && src->w == w &&
        src->h == h) {
        memcpy(dst, src->data, sizeof(float) * (size_t)w * h * src->c);
        return;
    }
    resample_axis ax, ay;
    axis_init(&ax, src->w, box[0], (double)box[2] - box[0], w);
    axis_init(&ay, src->h, box[1], (double)box[3] - box[1], h);
    int row_lo = src->h, row_hi = 0; /* the source rows the vertical taps read */
    for (int y = 0; y < h; ++y) {
        int n = src->h - ay.first[y] < ay.taps ? src->h - ay.first[y] : ay.taps;
        row_lo = ay.first[y] < row_lo ? ay.first[y] : row_lo;
        row_hi = ay.first[y] + n > row_hi ? ay.first[y] + n : row_hi;
    }
    float *rows = gcam_xmalloc(sizeof(float) * (size_t)src->h * w); /* (src h, w) */
    for (int k = 0; k < src->c; ++k) {
        const float *plane = src->data + (size_t)k * src->w * src->h;
        for (int y = row_lo; y < row_hi; ++y)
            for (int x = 0; x < w; ++x) {
                const float *wt = ax.weights + (size_t)x * ax.taps;
                const float *p = plane + (size_t)y * src->w + ax.first[x];
                int n = src->w - ax.first[x] < ax.taps ? src->w - ax.first[x] : ax.taps;
                float sum = 0;
                for (int t = 0; t < n; ++t) sum += wt[t] * p[t];
                rows[(size_t)y * w + x] = sum;
            }
        float *out = dst + (size_t)k * w * h;
        for (int y = 0; y < h; ++y) {
            const float *wt = ay.weights + (size_t)y * ay.taps;
            int n = src->h - ay.first[y] < ay.taps ? src->h - ay.first[y] : ay.taps;
            float *row = out + (size_t)y * w;
            for (int x = 0; x < w; ++x) row[x] = 0;
            for (int t = 0; t < n; ++t) {
                const float *in = rows + (size_t)(ay.first[y] + t) * w;
                for (int x = 0; x < w; ++x) row[x] += wt[t] * in[x];
            }
        }
    }
    free(rows);
    axis_free(&ax);
    axis_free(&ay);
}

void gcam_image_resize(const gcam_image *src, int w, int h, gcam_image *dst) {
    dst->w = w;
    dst->h = h;
    dst->c = src->c;
    dst->data = gcam_xmalloc(sizeof(float) * (size_t)w * h * src->c);
    const float whole[4] = {0, 0, (float)src->w, (float)src->h};
    gcam_image_resample_box(src, whole, w, h, dst->data);
}

/* The bounding box (x0, y0, x1, y1 inclusive) of the pixels >= level 4-connected to
 * pixel `start`: a flood fill with an explicit stack. */
static void peak_region(const float *map, int h, int w, float level, size_t start, int b[4]) {
    size_t n = (size_t)h * w, top = 0;
    size_t *stack = gcam_xmalloc(sizeof(size_t) * n); /* (h * w) pixels to visit */
    unsigned char *seen = gcam_xcalloc(n, 1);         /* (h * w) */
    stack[top++] = start;
    seen[start] = 1;
    b[0] = w, b[1] = h, b[2] = -1, b[3] = -1;
    while (top) {
        size_t p = stack[--top];
        int x = (int)(p % w), y = (int)(p / w);
        b[0] = x < b[0] ? x : b[0], b[2] = x > b[2] ? x : b[2];
        b[1] = y < b[1] ? y : b[1], b[3] = y > b[3] ? y : b[3];
        int nx[4] = {x - 1, x + 1, x, x}, ny[4] = {y, y, y - 1, y + 1};
        for (int k = 0; k < 4; ++k) {
            if (nx[k] < 0 || ny[k] < 0 || nx[k] >= w || ny[k] >= h) continue;
            size_t q = (size_t)ny[k] * w + nx[k];
            if (seen[q] || !(map[q] >= level)) continue;
            seen[q] = 1;
            stack[top++] = q;
        }
    }
    free(stack);
    free(seen);
}

void gcam_map_box(const float *map, int h, int w, float threshold, gcam_box_region region,
                  float box[4]) {
    float peak = 0;
    size_t at = 0;
    for (size_t p = 0; p < (size_t)h * w; ++p)
        if (map[p] > peak) peak = map[p], at = p;
    box[0] = 0, box[1] = 0, box[2] = (float)w, box[3] = (float)h;
    if (!(peak > 0)) return; /* a constant map points nowhere: the whole image */
    int b[4] = {w, h, -1, -1};
    if (region == GCAM_BOX_PEAK) {
        peak_region(map, h, w, threshold * peak, at, b);
    } else {
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x)
                if (map[(size_t)y * w + x] >= threshold * peak) {
                    b[0] = x < b[0] ? x : b[0], b[2] = x > b[2] ? x : b[2];
                    b[1] = y < b[1] ? y : b[1], b[3] = y > b[3] ? y : b[3];
                }
    }
    box[0] = (float)b[0], box[1] = (float)b[1], box[2] = (float)(b[2] + 1),
    box[3] = (float)(b[3] + 1);
}

/* Index of i mirrored into [0, n) without repeating the edge (reflect-101). */
static int mirror(int i, int n) {
    if (n == 1) return 0;
    int period = 2 * (n - 1);
    i %= period;
    if (i < 0) i += period;
    return i < n ? i : period - i;
}

/* Both passes accumulate one row of outputs at a time, tap by tap, so the compiler
 * vectorises across the row; each output still sums its taps in order from the first,
 * as a per-pixel loop would, and gives the same bits. The horizontal pass reads a copy of
 * the row with its mirrored margins in place. */
void gcam_gaussian_blur(const float *im, int c, int h, int w, int size, float sigma, float *out) {
    int radius = size / 2, taps = 2 * radius + 1;
    float *kernel = gcam_xmalloc(sizeof(float) * (size_t)taps);
    double total = 0;
    for (int i = -radius; i <= radius; ++i)
        total += kernel[i + radius] = expf(-(float)(i * i) / (2 * sigma * sigma));
    for (int i = 0; i < taps; ++i) kernel[i] = (float)(kernel[i] / total);
    float *rows = gcam_xmalloc(sizeof(float) * (size_t)h * w); /* (h, w) horizontal pass */
    float *padded = gcam_xmalloc(sizeof(float) * (size_t)(w + 2 * radius)); /* one input row */
    for (int k = 0; k < c; ++k) {
        const float *plane = im + (size_t)k * h * w;
        for (int y = 0; y < h; ++y) {
            for (int x = -radius; x < w + radius; ++x)
                padded[x + radius] = plane[y * w + mirror(x, w)];
            float *row = rows + (size_t)y * w;
            for (int x = 0; x < w; ++x) row[x] = 0;
            for (int i = 0; i < taps; ++i)
                for (int x = 0; x < w; ++x) row[x] += kernel[i] * padded[x + i];
        }
        float *dst = out + (size_t)k * h * w;
        for (int y = 0; y < h; ++y) {
            float *row = dst + (size_t)y * w;
            for (int x = 0; x < w; ++x) row[x] = 0;
            for (int i = 0; i < taps; ++i) {
                const float *src = rows + (size_t)mirror(y + i - radius, h) * w;
                for (int x = 0; x < w; ++x) row[x] += kernel[i] * src[x];
            }
        }
    }
    free(padded);
    free(rows);
    free(kernel);
}

void gcam_upsample(const float *src, int h, int w, float *dst, int H, int W) {
    float sy = (float)h / H, sx = (float)w / W;
    for (int y = 0; y < H; ++y) {
        float fy = (y + 0.5f) * sy - 0.5f;
        fy = fy < 0 ? 0 : fy;
        int y0 = (int)fy, y1 = y0 + 1 < h ? y0 + 1 : y0;
        float ay = fy - y0;
        for (int x = 0; x < W; ++x) {
            float fx = (x + 0.5f) * sx - 0.5f;
            fx = fx < 0 ? 0 : fx;
            int x0 = (int)fx, x1 = x0 + 1 < w ? x0 + 1 : x0;
            float ax = fx - x0;
            float top = src[y0 * w + x0] * (1 - ax) + src[y0 * w + x1] * ax;
            float bottom = src[y1 * w + x0] * (1 - ax) + src[y1 * w + x1] * ax;
            dst[y * W + x] = top * (1 - ay) + bottom * ay;
        }
    }
}

static int compare_floats(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

float gcam_percentile(const float *x, int n, float p) {
    float *sorted = gcam_xmalloc(sizeof(float) * (size_t)n);
    memcpy(sorted, x, sizeof(float) * (size_t)n);
    qsort(sorted, (size_t)n, sizeof(float), compare_floats);
    float position = p / 100.f * (n - 1);
    int lo = (int)floorf(position), hi = lo + 1 < n ? lo + 1 : lo;
    float t = sorted[lo] + (sorted[hi] - sorted[lo]) * (position - lo);
    free(sorted);
    return t;
}

void gcam_blur_parameters(int h, int w, int *size, float *sigma) {
    float scale = (float)(h < w ? h : w) / 224.f;
    *size = (int)lroundf(51 * scale) | 1;
    *sigma = 50 * scale;
}

int gcam_normalise(float *m, size_t n) {
    /* Plain comparisons, not fminf/fmaxf: those are library calls here, and this loop
     * runs over every Group-CAM mask (it was a quarter of a refresh). NaN values are
     * skipped, as fminf/fmaxf would. */
    float lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; ++i) {
        lo = m[i] < lo ? m[i] : lo;
        hi = m[i] > hi ? m[i] : hi;
    }
    if (!(hi > lo)) {
        memset(m, 0, sizeof(float) * n);
        return 0;
    }
    float scale = 1.f / (hi - lo);
    for (size_t i = 0; i < n; ++i) m[i] = (m[i] - lo) * scale;
    return 1;
}
