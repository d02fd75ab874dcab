/* Saliency mixing with soft labels (see mix.h). */
#include "mix.h"

#include "error.h"
#include "rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Mixed into the seed of the mixing generators. */
#define MIX_STREAM_KEY 0x3c6ef372fe94f82bULL

static float normal(gcam_rng *rng) {
    float u = 1.f - gcam_rng_uniform(rng), v = gcam_rng_uniform(rng); /* 1 - u: log finite */
    return sqrtf(-2.f * logf(u)) * cosf(6.2831853f * v);
}

/* Gamma(shape, 1) by Marsaglia and Tsang's method; shape < 1 through Gamma(shape + 1)
 * times U^(1 / shape). */
static float gamma_draw(gcam_rng *rng, float shape) {
    if (shape < 1) {
        float u = 1.f - gcam_rng_uniform(rng);
        return gamma_draw(rng, shape + 1) * powf(u, 1.f / shape);
    }
    float d = shape - 1.f / 3, c = 1.f / sqrtf(9 * d);
    for (;;) {
        float x = normal(rng), v = 1 + c * x;
        if (v <= 0) continue;
        v = v * v * v;
        float u = 1.f - gcam_rng_uniform(rng);
        if (logf(u) < 0.5f * x * x + d - d * v + d * logf(v)) return d * v;
    }
}

static float beta_draw(gcam_rng *rng, float alpha) {
    float x = gamma_draw(rng, alpha), y = gamma_draw(rng, alpha);
    return x + y > 0 ? x / (x + y) : 0.5f;
}

gcam_mix_draw gcam_mix_draw_sample(const gcam_train_options *o, uint64_t seed, int64_t batch_index,
                                   int i, int n, int w, int h) {
    gcam_rng rng = gcam_rng_init(seed ^ MIX_STREAM_KEY, (uint64_t)batch_index * n + i);
    gcam_mix_draw d = {0};
    /* every draw is made whether the sample is mixed or not, so that the stream of one
     * setting stays the stream of another */
    float u = gcam_rng_uniform(&rng);
    int other = n > 1 ? (int)(gcam_rng_next(&rng) % (uint32_t)(n - 1)) : 0;
    float area = beta_draw(&rng, o->mix_alpha);
    float ux = gcam_rng_uniform(&rng), uy = gcam_rng_uniform(&rng);
    float vx = gcam_rng_uniform(&rng), vy = gcam_rng_uniform(&rng);
    d.bw = (int)lroundf(w * sqrtf(area)), d.bh = (int)lroundf(h * sqrtf(area));
    d.bw = d.bw < 1 ? 1 : (d.bw > w ? w : d.bw);
    d.bh = d.bh < 1 ? 1 : (d.bh > h ? h : d.bh);
    d.ax = (int)(ux * (w - d.bw + 1)), d.ay = (int)(uy * (h - d.bh + 1));
    d.bx = (int)(vx * (w - d.bw + 1)), d.by = (int)(vy * (h - d.bh + 1));
    d.partner = other >= i ? other + 1 : other;
    d.mixed = n > 1 && u < o->mix_prob;
    return d;
}

/* Sum of map (h, w) over [x, x + bw) x [y, y + bh), and over all of it. */
static void box_mass(const float *map, int w, int h, int x, int y, int bw, int bh, double *inside,
                     double *total) {
    *inside = *total = 0;
    for (int r = 0; r < h; ++r)
        for (int col = 0; col < w; ++col) {
            double v = map[(size_t)r * w + col];
            *total += v;
            if (r >= y && r < y + bh && col >= x && col < x + bw) *inside += v;
        }
}

int gcam_mix_weights(const float *map_a, const float *map_b, int w, int h, int bw, int bh, int ax,
                     int ay, int bx, int by, float *weight_a, float *weight_b) {
    double a_in, a_total, b_in, b_total;
    box_mass(map_a, w, h, ax, ay, bw, bh, &a_in, &a_total);
    box_mass(map_b, w, h, bx, by, bw, bh, &b_in, &b_total);
    if (!(a_total > 0) || !(b_total > 0)) return 0;
    double wa = (a_total - a_in) / a_total, wb = b_in / b_total;
    if (!(wa + wb > 0)) return 0;
    *weight_a = (float)(wa / (wa + wb));
    *weight_b = (float)(wb / (wa + wb));
    return 1;
}

/* The corner that centres a bw x bh box on the map's (h, w) first maximum, inside. */
static void centre_on_peak(const float *map, int w, int h, int bw, int bh, int *x, int *y) {
    size_t best = 0;
    for (size_t p = 1; p < (size_t)w * h; ++p)
        if (map[p] > map[best]) best = p;
    int px = (int)(best % (size_t)w), py = (int)(best / (size_t)w);
    *x = px - bw / 2, *y = py - bh / 2;
    *x = *x < 0 ? 0 : (*x > w - bw ? w - bw : *x);
    *y = *y < 0 ? 0 : (*y > h - bh ? h - bh : *y);
}

void gcam_mix_batch(const gcam_train_options *o, uint64_t seed, int64_t batch_index, float *images,
                    float *truth, int n, int c, int h, int w, int classes, const float *maps,
                    const int *has_map, gcam_mix_stats *stats) {
    size_t hw = (size_t)h * w, image_floats = hw * c;
    /* B's pixels and label before any sample of the batch was mixed */
    float *originals = gcam_xmalloc(sizeof(float) * image_floats * n);
    float *labels = gcam_xmalloc(sizeof(float) * (size_t)classes * n);
    memcpy(originals, images, sizeof(float) * image_floats * n);
    memcpy(labels, truth, sizeof(float) * (size_t)classes * n);
    for (int i = 0; i < n; ++i) {
        ++stats->samples;
        gcam_mix_draw d = gcam_mix_draw_sample(o, seed, batch_index, i, n, w, h);
        if (!d.mixed) continue;
        int j = d.partner;
        int with_maps = maps && has_map[i] && has_map[j];
        int bx = d.bx, by = d.by;
        if (o->mix_box == GCAM_MIX_BOX_SALIENCY && maps && has_map[j])
            centre_on_peak(maps + hw * j, w, h, d.bw, d.bh, &bx, &by);
        float wa = 1.f - (float)(d.bw * d.bh) / (float)hw, wb = 1.f - wa;
        if (o->mix_label == GCAM_MIX_LABEL_SALIENCY &&
            !(with_maps && gcam_mix_weights(maps + hw * i, maps + hw * j, w, h, d.bw, d.bh, d.ax,
                                            d.ay, bx, by, &wa, &wb)))
            ++stats->area_fallbacks;
        for (int k = 0; k < c; ++k)
            for (int y = 0; y < d.bh; ++y)
                memcpy(images + image_floats * i + hw * k + (size_t)(d.ay + y) * w + d.ax,
                       originals + image_floats * j + hw * k + (size_t)(by + y) * w + bx,
                       sizeof(float) * (size_t)d.bw);
        float *t = truth + (size_t)classes * i;
        const float *la = labels + (size_t)classes * i, *lb = labels + (size_t)classes * j;
        for (int k = 0; k < classes; ++k) t[k] = wa * la[k] + wb * lb[k];
        ++stats->mixed;
        stats->area_sum += (double)(d.bw * d.bh) / (double)hw;
        stats->weight_b_sum += wb;
    }
    free(originals);
    free(labels);
}
