/* How a training warp that shrinks should filter: four ways of sampling a large source
 * into the network input, each scored by its error against the validation resize
 * (gcam_image_resize) on a whole-image warp, where that resize is the right answer, both
 * axis-aligned and turned by 1e-4 radians (which takes a rotated warp's path at no visible
 * rotation), and timed on a warp of the same scale turned by 7 degrees (the training case):
 *   point     bilinear at each output centre (training warps before the filter);
 *   pyramid   2x box reductions of the source until the warp shrinks by at most 2x, then
 *             bilinear from that level (the reductions are timed with it);
 *   super     k x k bilinear samples per output pixel, k = ceil(step), averaged;
 *   gcam      gcam_warp_apply: an axis-aligned warp is the resize of its box; a rotated one
 *             pulls the resize's triangle filter back through the warp, on a q x q block
 *             mean of the source (q = floor(step / 2)) past 4x.
 * Sources: a fine random texture smoothed at 2 px, at 192^2 -> 64^2 (make hires),
 * 1024^2 -> 224^2 and 3000x2000 -> 224^2. Times are medians of 7, with the ratio to the
 * resize of the same source (the cost validation pays). */
#include "augment.h"
#include "bench_common.h"
#include "error.h"
#include "image_ops.h"

#include <math.h>

#define CHANNELS 3

/* A continuous point (u, v) of the output through the warp, into source pixels. */
static void through(const gcam_warp *w, int out_w, float u, float v, float *sx, float *sy) {
    if (w->flipped) u = out_w - u;
    *sx = w->ax * u + w->bx * v + w->cx, *sy = w->ay * u + w->by * v + w->cy;
}

/* Bilinear value of plane p (h, w) at continuous (sx, sy), edges clamped. */
static float bilinear(const float *p, int w, int h, float sx, float sy) {
    sx = fminf(fmaxf(sx - 0.5f, 0), w - 1), sy = fminf(fmaxf(sy - 0.5f, 0), h - 1);
    int x0 = (int)sx, y0 = (int)sy, x1 = x0 + (x0 + 1 < w), y1 = y0 + (y0 + 1 < h);
    float fx = sx - x0, fy = sy - y0;
    return (p[y0 * w + x0] * (1 - fx) + p[y0 * w + x1] * fx) * (1 - fy) +
           (p[y1 * w + x0] * (1 - fx) + p[y1 * w + x1] * fx) * fy;
}

/* k x k bilinear samples over each output pixel (k = 1 is point sampling). */
static void supersample(const gcam_warp *warp, const gcam_image *src, int k, float *dst, int w,
                        int h) {
    size_t plane = (size_t)src->w * src->h;
    for (int c = 0; c < src->c; ++c)
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                float sum = 0;
                for (int j = 0; j < k; ++j)
                    for (int i = 0; i < k; ++i) {
                        float sx, sy;
                        through(warp, w, x + (i + 0.5f) / k, y + (j + 0.5f) / k, &sx, &sy);
                        sum += bilinear(src->data + plane * c, src->w, src->h, sx, sy);
                    }
                dst[((size_t)c * h + y) * w + x] = sum / (k * k);
            }
}

/* Halves src (c, h, w) by 2x2 box averages (an odd last row or column is dropped). */
static gcam_image halve(const gcam_image *src) {
    gcam_image out = {src->w / 2, src->h / 2, src->c, NULL};
    out.data = gcam_xmalloc(sizeof(float) * out.w * out.h * out.c);
    for (int c = 0; c < src->c; ++c)
        for (int y = 0; y < out.h; ++y)
            for (int x = 0; x < out.w; ++x) {
                const float *p = src->data + ((size_t)c * src->h + 2 * y) * src->w + 2 * x;
                out.data[((size_t)c * out.h + y) * out.w + x] =
                    0.25f * (p[0] + p[1] + p[src->w] + p[src->w + 1]);
            }
    return out;
}

/* Pyramid sampling: halve until the warp shrinks by at most 2x, then bilinear from that
 * level, the warp rescaled into its pixels. */
static void pyramid(const gcam_warp *warp, const gcam_image *src, float step, float *dst, int w,
                    int h) {
    gcam_image level = *src, next;
    gcam_warp scaled = *warp;
    int owned = 0;
    while (step > 2 && level.w >= 2 && level.h >= 2) {
        next = halve(&level);
        if (owned) free(level.data);
        level = next, owned = 1, step /= 2;
        scaled.ax /= 2, scaled.bx /= 2, scaled.cx /= 2, scaled.ay /= 2, scaled.by /= 2,
            scaled.cy /= 2;
    }
    supersample(&scaled, &level, 1, dst, w, h);
    if (owned) free(level.data);
}

/* A fine texture: uniform noise smoothed by a 2 px box, so that it has detail at every
 * scale the cases shrink to. */
static gcam_image texture(int w, int h, uint64_t seed) {
    gcam_image im = {w, h, CHANNELS, gcam_xmalloc(sizeof(float) * w * h * CHANNELS)};
    gcam_rng rng = gcam_rng_init(seed, 0);
    size_t n = (size_t)w * h * CHANNELS;
    for (size_t i = 0; i < n; ++i) im.data[i] = gcam_rng_uniform(&rng);
    for (size_t i = 0; i + 1 < n; ++i) im.data[i] = 0.5f * (im.data[i] + im.data[i + 1]);
    return im;
}

/* warp turned by angle radians about the output's and the source's centres */
static gcam_warp turn(const gcam_warp *warp, float angle, int sw, int sh, int n) {
    float cs = cosf(angle), sn = sinf(angle);
    gcam_warp t = {warp->ax * cs, -warp->by * sn, 0, warp->ax * sn, warp->by * cs, 0, 0};
    t.cx = sw / 2.f - t.ax * n / 2.f - t.bx * n / 2.f;
    t.cy = sh / 2.f - t.ay * n / 2.f - t.by * n / 2.f;
    return t;
}

/* largest and mean absolute difference of a and b (n) */
static void difference(const float *a, const float *b, int n, double *worst, double *mean) {
    double sum = 0;
    *worst = 0;
    for (int i = 0; i < n; ++i) {
        double d = fabs(a[i] - b[i]);
        *worst = fmax(*worst, d), sum += d;
    }
    *mean = sum / n;
}

typedef enum { POINT, PYRAMID, SUPER, FILTERED, METHODS } method;
static const char *method_names[METHODS] = {"point", "pyramid", "super", "gcam"};

static void run(method m, const gcam_warp *warp, const gcam_image *src, float step, float *dst,
                int w, int h) {
    if (m == POINT) supersample(warp, src, 1, dst, w, h);
    if (m == PYRAMID) pyramid(warp, src, step, dst, w, h);
    if (m == SUPER) supersample(warp, src, (int)ceilf(step), dst, w, h);
    if (m == FILTERED) gcam_warp_apply(warp, src->data, src->c, src->w, src->h, dst, w, h);
}

int main(void) {
    struct {
        int src_w, src_h, out;
    } cases[] = {{192, 192, 64}, {1024, 1024, 224}, {3000, 2000, 224}};
    for (size_t s = 0; s < sizeof cases / sizeof *cases; ++s) {
        int sw = cases[s].src_w, sh = cases[s].src_h, n = cases[s].out;
        gcam_image src = texture(sw, sh, 7 + s), sized;
        float *out = gcam_xmalloc(sizeof(float) * n * n * CHANNELS);
        gcam_image_resize(&src, n, n, &sized);
        /* the whole image, axis-aligned: the resize's own answer */
        gcam_warp whole = {(float)sw / n, 0, 0, 0, (float)sh / n, 0, 0};
        float step = fmaxf(whole.ax, whole.by);
        /* the same scale turned about the centre: 7 degrees as a training warp, and 1e-4
         * radians, which is the resize's answer to within 0.1 source pixels */
        gcam_warp turned = turn(&whole, 7 * 3.14159265f / 180, sw, sh, n),
                  barely = turn(&whole, 1e-4f, sw, sh, n);
        double resize_times[7];
        for (int r = 0; r < 7; ++r) {
            gcam_image again;
            double start = gcam_now_seconds();
            gcam_image_resize(&src, n, n, &again);
            resize_times[r] = gcam_now_seconds() - start;
            gcam_image_free(&again);
        }
        double resize_ms = 1e3 * median(resize_times, 7);
        printf("%dx%d -> %dx%d (shrinks %.1fx), the validation resize %.2f ms:\n", sw, sh, n, n,
               step, resize_ms);
        for (int m = 0; m < METHODS; ++m) {
            double worst, mean, turned_worst, turned_mean;
            run(m, &whole, &src, step, out, n, n);
            difference(out, sized.data, n * n * CHANNELS, &worst, &mean);
            run(m, &barely, &src, step, out, n, n);
            difference(out, sized.data, n * n * CHANNELS, &turned_worst, &turned_mean);
            double times[7];
            for (int r = 0; r < 7; ++r) {
                double start = gcam_now_seconds();
                run(m, &turned, &src, step, out, n, n);
                times[r] = gcam_now_seconds() - start;
            }
            double ms = 1e3 * median(times, 7);
            printf("  %-7s error vs resize: axis-aligned max %.1e mean %.1e, turned max %.1e "
                   "mean %.1e; 7-degree warp %6.2f ms, %.2fx the resize  [median of 7]\n",
                   method_names[m], worst, mean, turned_worst, turned_mean, ms, ms / resize_ms);
        }
        fflush(stdout);
        free(out);
        gcam_image_free(&sized);
        gcam_image_free(&src);
    }
    return 0;
}
