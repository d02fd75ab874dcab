/* Training augmentation (see augment.h). The geometry follows Darknet's
 * random_augment_image: pick a target length r for the shorter side in
 * [min_crop, max_crop], a stretch a in [1/aspect, aspect], an angle, and a translation
 * that keeps the crop inside the scaled image when it can. */
#include "augment.h"

#include <math.h>

/* A factor in [1, s] or its inverse, with equal chance (Darknet's rand_scale). */
static float random_scale(gcam_rng *rng, float s) {
    if (s < 1) s = 1 / s;
    float f = gcam_rng_range(rng, 1, s);
    return (gcam_rng_next(rng) & 1) ? f : 1 / f;
}

gcam_warp gcam_augment_draw_warp(const gcam_augment_config *cfg, int src_w, int src_h,
                                 gcam_rng *rng) {
    float aspect = cfg->aspect > 0 ? random_scale(rng, cfg->aspect) : 1;
    int lo = cfg->min_crop, hi = cfg->max_crop < lo ? lo : cfg->max_crop;
    int r = lo + (int)(gcam_rng_next(rng) % (uint32_t)(hi - lo + 1));
    /* Scale so that the shorter side (after stretching x by aspect) becomes r. */
    float shorter = src_h < src_w * aspect ? (float)src_h : src_w * aspect;
    float scale_y = r / shorter, scale_x = scale_y * aspect;
    float rad = gcam_rng_range(rng, -cfg->angle, cfg->angle) * 3.14159265f / 180.f;
    float slack_x = (src_w * scale_x - cfg->w) / 2, slack_y = (src_h * scale_y - cfg->h) / 2;
    float dx = slack_x > 0 ? gcam_rng_range(rng, -slack_x, slack_x) : 0;
    float dy = slack_y > 0 ? gcam_rng_range(rng, -slack_y, slack_y) : 0;
    gcam_warp w;
    w.flipped = cfg->flip ? (int)(gcam_rng_next(rng) & 1) : 0;
    /* Output point p (relative to the output centre, shifted by d) is rotated by rad and
     * unscaled into the source, relative to the source centre. */
    float c = cosf(rad), s = sinf(rad);
    w.ax = c / scale_x;
    w.bx = -s / scale_x;
    w.ay = s / scale_y;
    w.by = c / scale_y;
    float ox = -cfg->w / 2.f + dx, oy = -cfg->h / 2.f + dy;
    w.cx = w.ax * ox + w.bx * oy + src_w / 2.f;
    w.cy = w.ay * ox + w.by * oy + src_h / 2.f;
    return w;
}

void gcam_warp_apply(const gcam_warp *warp, const float *src, int channels, int src_w, int src_h,
                     float *dst, int dst_w, int dst_h) {
    for (int y = 0; y < dst_h; ++y)
        for (int x = 0; x < dst_w; ++x) {
            float px = (warp->flipped ? dst_w - x - 1 : x) + 0.5f, py = y + 0.5f;
            float sx = warp->ax * px + warp->bx * py + warp->cx - 0.5f;
            float sy = warp->ay * px + warp->by * py + warp->cy - 0.5f;
            sx = sx < 0 ? 0 : (sx > src_w - 1 ? src_w - 1 : sx);
            sy = sy < 0 ? 0 : (sy > src_h - 1 ? src_h - 1 : sy);
            int x0 = (int)sx, y0 = (int)sy;
            int x1 = x0 + 1 < src_w ? x0 + 1 : x0, y1 = y0 + 1 < src_h ? y0 + 1 : y0;
            float fx = sx - x0, fy = sy - y0;
            for (int k = 0; k < channels; ++k) {
                const float *p = src + (size_t)k * src_w * src_h;
                float top = p[y0 * src_w + x0] * (1 - fx) + p[y0 * src_w + x1] * fx;
                float bottom = p[y1 * src_w + x0] * (1 - fx) + p[y1 * src_w + x1] * fx;
                dst[((size_t)k * dst_h + y) * dst_w + x] = top * (1 - fy) + bottom * fy;
            }
        }
}

static float clamp01(float v) {
    return v < 0 ? 0 : (v > 1 ? 1 : v);
}

/* RGB <-> HSV with h in [0, 1). */
static void rgb_to_hsv(float r, float g, float b, float *h, float *s, float *v) {
    float max = fmaxf(r, fmaxf(g, b)), min = fminf(r, fminf(g, b)), delta = max - min;
    *v = max;
    *s = max > 0 ? delta / max : 0;
    if (delta <= 0) {
        *h = 0;
        return;
    }
    float hue = r == max ? (g - b) / delta : (g == max ? 2 + (b - r) / delta : 4 + (r - g) / delta);
    hue /= 6;
    *h = hue < 0 ? hue + 1 : hue;
}

static void hsv_to_rgb(float h, float s, float v, float *r, float *g, float *b) {
    float hh = h * 6;
    int sector = (int)floorf(hh);
    float f = hh - sector, p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
    switch (((sector % 6) + 6) % 6) {
    case 0:
        *r = v, *g = t, *b = p;
        break;
    case 1:
        *r = q, *g = v, *b = p;
        break;
    case 2:
        *r = p, *g = v, *b = t;
        break;
    case 3:
        *r = p, *g = q, *b = v;
        break;
    case 4:
        *r = t, *g = p, *b = v;
        break;
    default:
        *r = v, *g = p, *b = q;
        break;
    }
}

void gcam_augment_color(const gcam_augment_config *cfg, float *im, int c, int w, int h,
                        gcam_rng *rng) {
    float shift = cfg->hue > 0 ? gcam_rng_range(rng, -cfg->hue, cfg->hue) : 0;
    float sat = cfg->saturation > 0 ? random_scale(rng, cfg->saturation) : 1;
    float expo = cfg->exposure > 0 ? random_scale(rng, cfg->exposure) : 1;
    size_t n = (size_t)w * h;
    if (c != 3 || (shift == 0 && sat == 1)) { /* brightness only: scale every channel */
        if (expo != 1)
            for (size_t i = 0; i < n * c; ++i) im[i] = clamp01(im[i] * expo);
        return;
    }
    float *r = im, *g = im + n, *b = im + 2 * n;
    for (size_t i = 0; i < n; ++i) {
        float hh, s, v;
        rgb_to_hsv(r[i], g[i], b[i], &hh, &s, &v);
        hh += shift;
        hh -= floorf(hh);
        hsv_to_rgb(hh, clamp01(s * sat), clamp01(v * expo), &r[i], &g[i], &b[i]);
    }
}
