/* Training augmentation (see augment.h). The geometry follows Darknet's
 * random_augment_image: pick a target length r for the shorter side in
 * [min_crop, max_crop], a stretch a in [1/aspect, aspect], an angle, and a translation
 * that keeps the crop inside the scaled image when it can. */
#include "augment.h"

#include "error.h"
#include "image_ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* Source pixels per output pixel along each output axis: the lengths of the warp's
 * columns. A warp shrinks where one exceeds 1. */
static void warp_steps(const gcam_warp *w, float *step_x, float *step_y) {
    *step_x = hypotf(w->ax, w->ay);
    *step_y = hypotf(w->bx, w->by);
}

/* Bilinear point sampling, for warps that shrink along neither axis. */
static void warp_bilinear(const gcam_warp *warp, const float *src, int channels, int src_w,
                          int src_h, float *dst, int dst_w, int dst_h) {
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

/* The validation resize's filter pulled back through the warp: a source pixel's weight is
 * a triangle in the output's own axes, tri(du / ru) * tri(dv / rv), where (du, dv) is its
 * offset from the output pixel's centre mapped into output pixels and r = max(1, 1/step)
 * per axis (one output pixel where the axis shrinks, one source pixel where it does not).
 * For an axis-aligned warp these are gcam_image_resize's weights, so a warp onto a box
 * gives that box's validation resize; a rotated warp averages over its rotated footprint.
 * Taps outside the image are dropped and the rest renormalised, as there. */
static void warp_filtered(const gcam_warp *warp, float step_x, float step_y, const float *src,
                          int channels, int src_w, int src_h, float *dst, int dst_w, int dst_h) {
    float det = warp->ax * warp->by - warp->bx * warp->ay;
    /* source offset -> output offset, each output axis divided by its support r */
    float rx = step_x < 1 ? 1 / step_x : 1, ry = step_y < 1 ? 1 / step_y : 1;
    float iux = warp->by / det / rx, iuy = -warp->bx / det / rx;
    float ivx = -warp->ay / det / ry, ivy = warp->ax / det / ry;
    /* half extents of the footprint in source pixels */
    float ex = fabsf(warp->ax) * rx + fabsf(warp->bx) * ry;
    float ey = fabsf(warp->ay) * rx + fabsf(warp->by) * ry;
    size_t capacity = (size_t)(2 * ceilf(ex) + 2) * (size_t)(2 * ceilf(ey) + 2);
    float *weights = gcam_xmalloc(sizeof(float) * capacity);   /* (taps) of one output pixel */
    size_t *offsets = gcam_xmalloc(sizeof(size_t) * capacity); /* (taps) their pixels */
    size_t plane = (size_t)src_w * src_h;
    for (int y = 0; y < dst_h; ++y)
        for (int x = 0; x < dst_w; ++x) {
            float px = (warp->flipped ? dst_w - x - 1 : x) + 0.5f, py = y + 0.5f;
            float sx = warp->ax * px + warp->bx * py + warp->cx - 0.5f;
            float sy = warp->ay * px + warp->by * py + warp->cy - 0.5f;
            int i0 = (int)floorf(sx - ex) + 1, i1 = (int)ceilf(sx + ex) - 1;
            int j0 = (int)floorf(sy - ey) + 1, j1 = (int)ceilf(sy + ey) - 1;
            i0 = i0 < 0 ? 0 : i0, j0 = j0 < 0 ? 0 : j0;
            i1 = i1 > src_w - 1 ? src_w - 1 : i1, j1 = j1 > src_h - 1 ? src_h - 1 : j1;
            size_t taps = 0;
            float total = 0;
            for (int j = j0; j <= j1; ++j) {
                float dy = j - sy;
                for (int i = i0; i <= i1; ++i) {
                    float dx = i - sx;
                    float u = fabsf(iux * dx + iuy * dy), v = fabsf(ivx * dx + ivy * dy);
                    if (u >= 1 || v >= 1) continue;
                    weights[taps] = (1 - u) * (1 - v);
                    offsets[taps++] = (size_t)j * src_w + i;
                    total += weights[taps - 1];
                }
            }
            if (!(total > 0)) { /* the footprint lies outside the image: its nearest pixel */
                int i = (int)floorf(sx + 0.5f), j = (int)floorf(sy + 0.5f);
                i = i < 0 ? 0 : (i > src_w - 1 ? src_w - 1 : i);
                j = j < 0 ? 0 : (j > src_h - 1 ? src_h - 1 : j);
                weights[0] = total = 1;
                offsets[0] = (size_t)j * src_w + i;
                taps = 1;
            }
            for (int k = 0; k < channels; ++k) {
                const float *p = src + plane * k;
                float sum = 0;
                for (size_t t = 0; t < taps; ++t) sum += weights[t] * p[offsets[t]];
                dst[((size_t)k * dst_h + y) * dst_w + x] = sum / total;
            }
        }
    free(weights);
    free(offsets);
}

/* A warp without rotation or shear, its scales positive, is a box of the source: the
 * separable gcam_image_resample_box of that box (mirrored when flipped), which is the
 * validation resize's filter exactly and costs what that resize costs. */
static int warp_is_box(const gcam_warp *w) {
    return w->bx == 0 && w->ay == 0 && w->ax > 0 && w->by > 0;
}

static void warp_box(const gcam_warp *warp, const float *src, int channels, int src_w, int src_h,
                     float *dst, int dst_w, int dst_h) {
    gcam_image im = {src_w, src_h, channels, (float *)src}; /* read only */
    float box[4] = {warp->cx, warp->cy, warp->cx + warp->ax * dst_w, warp->cy + warp->by * dst_h};
    gcam_image_resample_box(&im, box, dst_w, dst_h, dst);
    if (!warp->flipped) return;
    for (int k = 0; k < channels; ++k)
        for (int y = 0; y < dst_h; ++y) {
            float *row = dst + ((size_t)k * dst_h + y) * dst_w;
            for (int a = 0, b = dst_w - 1; a < b; ++a, --b) {
                float t = row[a];
                row[a] = row[b], row[b] = t;
            }
        }
}

/* Means of q x q blocks of src (channels, h, w) into dst (channels, ceil(h / q),
 * ceil(w / q)); a block cut by the edge averages the pixels it has. */
static void reduce_blocks(const float *src, int channels, int w, int h, int q, float *dst) {
    int rw = (w + q - 1) / q, rh = (h + q - 1) / q;
    for (int k = 0; k < channels; ++k)
        for (int y = 0; y < rh; ++y) {
            float *out = dst + ((size_t)k * rh + y) * rw;
            memset(out, 0, sizeof(float) * rw);
            int y1 = (y + 1) * q < h ? (y + 1) * q : h;
            for (int j = y * q; j < y1; ++j) {
                const float *row = src + ((size_t)k * h + j) * w;
                for (int x = 0, i = 0; x < rw; ++x) {
                    float sum = 0;
                    for (int i1 = i + q < w ? i + q : w; i < i1; ++i) sum += row[i];
                    out[x] += sum;
                }
            }
            for (int x = 0; x < rw; ++x) {
                int x1 = (x + 1) * q < w ? (x + 1) * q : w;
                out[x] /= (float)((y1 - y * q) * (x1 - x * q));
            }
        }
}

/* In continuous coordinates a warp is s = A F(u) + c, F the flip u -> (w - u_x, u_y) when
 * flipped (the identity otherwise). The composite outer(inner(u)) written with outer's
 * flip F_o: A' F_o(u) + c' = A_o F_o(A_i F_i(u) + c_i) + c_o, solved for A' and c'. */
gcam_warp gcam_warp_compose(const gcam_warp *outer, const gcam_warp *inner, int w) {
    /* inner as an affine map without flip: u -> M u + m */
    float m_ax = inner->ax, m_bx = inner->bx, m_ay = inner->ay, m_by = inner->by;
    float m_cx = inner->cx, m_cy = inner->cy;
    if (inner->flipped) { /* M = A_i D, m = A_i (w, 0) + c_i, D = diag(-1, 1) */
        m_cx += inner->ax * w, m_cy += inner->ay * w;
        m_ax = -m_ax, m_ay = -m_ay;
    }
    /* then outer's flip: F_o(v) = D v + (w, 0), so F_o(M u + m) = (D M) u + D m + (w, 0) */
    if (outer->flipped) {
        m_ax = -m_ax, m_bx = -m_bx, m_cx = w - m_cx;
    }
    /* s = A_o (M' u + m') + c_o, and with outer's flip applied to u first: M' = N D */
    gcam_warp r;
    r.flipped = outer->flipped;
    float n_ax = m_ax, n_ay = m_ay, n_cx = m_cx, n_cy = m_cy;
    if (outer->flipped) { /* M' u + m' = N F_o(u) + (m' - N (w, 0)) with N = M' D */
        n_ax = -m_ax, n_ay = -m_ay;
        n_cx = m_cx - n_ax * w, n_cy = m_cy - n_ay * w;
    }
    r.ax = outer->ax * n_ax + outer->bx * n_ay;
    r.bx = outer->ax * m_bx + outer->bx * m_by;
    r.ay = outer->ay * n_ax + outer->by * n_ay;
    r.by = outer->ay * m_bx + outer->by * m_by;
    r.cx = outer->ax * n_cx + outer->bx * n_cy + outer->cx;
    r.cy = outer->ay * n_cx + outer->by * n_cy + outer->cy;
    return r;
}

float gcam_warp_least_step(const gcam_warp *warp) {
    float step_x, step_y;
    warp_steps(warp, &step_x, &step_y);
    return fminf(step_x, step_y);
}

gcam_warp gcam_warp_reduced(const gcam_warp *warp, int reduction) {
    gcam_warp r = *warp;
    r.ax /= reduction, r.bx /= reduction, r.cx /= reduction;
    r.ay /= reduction, r.by /= reduction, r.cy /= reduction;
    return r;
}

void gcam_warp_apply(const gcam_warp *warp, const float *src, int channels, int src_w, int src_h,
                     float *dst, int dst_w, int dst_h) {
    float step_x, step_y;
    warp_steps(warp, &step_x, &step_y);
    /* below this the triangle's support stays one source pixel: bilinear, and the bits of
     * every warp that never shrank */
    if (step_x <= 1 + 1e-6f && step_y <= 1 + 1e-6f) {
        warp_bilinear(warp, src, channels, src_w, src_h, dst, dst_w, dst_h);
        return;
    }
    if (warp_is_box(warp)) {
        warp_box(warp, src, channels, src_w, src_h, dst, dst_w, dst_h);
        return;
    }
    /* A rotated footprint costs (2 step)^2 taps per output pixel. Past 4x, the source is
     * first averaged in blocks of q = floor(step / 2), so that the filter runs at a step
     * between 2 and 4 on that level: a few percent of extra blur against the exact filter
     * (bench/bench_warp) for a cost near the validation resize's. */
    int q = (int)(fminf(step_x, step_y) / 2);
    if (q < 2) {
        warp_filtered(warp, step_x, step_y, src, channels, src_w, src_h, dst, dst_w, dst_h);
        return;
    }
    int rw = (src_w + q - 1) / q, rh = (src_h + q - 1) / q;
    float *level = gcam_xmalloc(sizeof(float) * (size_t)channels * rw * rh); /* (c, rh, rw) */
    reduce_blocks(src, channels, src_w, src_h, q, level);
    gcam_warp scaled = gcam_warp_reduced(warp, q);
    warp_filtered(&scaled, step_x / q, step_y / q, level, channels, rw, rh, dst, dst_w, dst_h);
    free(level);
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

gcam_color_jitter gcam_augment_draw_color(const gcam_augment_config *cfg, gcam_rng *rng) {
    gcam_color_jitter j;
    j.hue_shift = cfg->hue > 0 ? gcam_rng_range(rng, -cfg->hue, cfg->hue) : 0;
    j.saturation = cfg->saturation > 0 ? random_scale(rng, cfg->saturation) : 1;
    j.exposure = cfg->exposure > 0 ? random_scale(rng, cfg->exposure) : 1;
    return j;
}

void gcam_augment_apply_color(const gcam_color_jitter *jitter, float *im, int c, int w, int h) {
    float shift = jitter->hue_shift, sat = jitter->saturation, expo = jitter->exposure;
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
