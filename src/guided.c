/* Saliency-guided augmentation (see guided.h). */
#include "guided.h"

#include "error.h"
#include "image_ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void gcam_guided_config_default(gcam_guided_config *c) {
    gcam_settings s;
    gcam_settings_default(&s);
    *c = s.train.guided;
}

/* ---- transforms ------------------------------------------------------------------- */

/* The control's map for image `id`: the map of the first image with one at or after a
 * random start among the other images (wrapping past the end, skipping `id`); uniform
 * over the others once every image has a map. 0 when no other image has one. */
static int shuffled_map(const gcam_map_cache *cache, int id, gcam_rng *rng, float *out) {
    int others = cache->n - 1;
    if (others < 1) return 0;
    int start = (int)(gcam_rng_uniform(rng) * others);
    if (start >= others) start = others - 1;
    for (int k = 0; k < others; ++k) {
        int other = (id + 1 + (start + k) % others) % cache->n;
        if (gcam_map_cache_get(cache, other, out)) return 1;
    }
    return 0;
}

static float max_of(const float *v, size_t n) {
    float m = 0;
    for (size_t i = 0; i < n; ++i) m = v[i] > m ? v[i] : m;
    return m;
}

/* The share of each of the size x size cells of a src_w x src_h image that box (source
 * pixels) covers: the oracle's map. */
static void box_cells(const float box[4], int src_w, int src_h, int size, float *cells) {
    float cell_w = (float)src_w / size, cell_h = (float)src_h / size;
    for (int y = 0; y < size; ++y) {
        float top = fmaxf(box[1], y * cell_h), bottom = fminf(box[3], (y + 1) * cell_h);
        for (int x = 0; x < size; ++x) {
            float left = fmaxf(box[0], x * cell_w), right = fminf(box[2], (x + 1) * cell_w);
            float overlap = fmaxf(right - left, 0) * fmaxf(bottom - top, 0);
            cells[y * size + x] = overlap / (cell_w * cell_h);
        }
    }
}

int gcam_guided_find_map(const gcam_guided_config *cfg, const gcam_map_cache *cache, int id,
                         const float *box, int src_w, int src_h, gcam_rng *rng, float *map) {
    if (cfg->source == GCAM_GUIDE_ORACLE) {
        if (!box) return 0;
        box_cells(box, src_w, src_h, cfg->map_size, map);
        return 1;
    }
    if (!gcam_map_cache_get(cache, id, map)) return 0; /* no map yet */
    return cfg->source != GCAM_GUIDE_SHUFFLED || shuffled_map(cache, id, rng, map);
}

void gcam_guided_geometry(const gcam_guided_config *cfg, const gcam_map_cache *cache, int id,
                          const float *box, int src_w, int src_h, int net_w, int net_h,
                          gcam_rng *rng, gcam_warp *warp, gcam_guided_sample *sample) {
    sample->flags = 0;
    sample->crop_fraction = 0;
    if (cfg->source == GCAM_GUIDE_RANDOM) {
        gcam_guided_random_crop(cfg, src_w, src_h, net_w, net_h, rng, warp, sample);
        return;
    }
    if (!gcam_guided_find_map(cfg, cache, id, box, src_w, src_h, rng, sample->map))
        return; /* no map: the standard augmentation alone */
    sample->flags = GCAM_GUIDED_HAD_MAP;
    gcam_guided_crop(cfg, src_w, src_h, net_w, net_h, rng, warp, sample);
}

/* The warp that maps the network input onto the source box (left, top, side_w x side_h),
 * and the sample's record of it. */
static void set_crop(float left, float top, float side_w, float side_h, int src_w, int src_h,
                     int net_w, int net_h, gcam_warp *warp, gcam_guided_sample *sample) {
    warp->ax = side_w / net_w;
    warp->bx = 0;
    warp->cx = left;
    warp->ay = 0;
    warp->by = side_h / net_h;
    warp->cy = top;
    sample->flags |= GCAM_GUIDED_CROP;
    sample->crop_fraction = side_w * side_h / ((float)src_w * src_h);
}

void gcam_guided_crop(const gcam_guided_config *cfg, int src_w, int src_h, int net_w, int net_h,
                      gcam_rng *rng, gcam_warp *warp, gcam_guided_sample *sample) {
    int size = cfg->map_size;
    float peak = max_of(sample->map, (size_t)size * size);
    if (gcam_rng_uniform(rng) >= cfg->crop_prob || peak <= 0) return;

    /* The cells at or above the threshold (all, or the peak's region), as a box in source
     * pixels. */
    float cells[4];
    gcam_map_box(sample->map, size, size, cfg->crop_threshold, cfg->crop_region, cells);
    float cell_w = (float)src_w / size, cell_h = (float)src_h / size;
    float box_w = (cells[2] - cells[0]) * cell_w, box_h = (cells[3] - cells[1]) * cell_h;
    float centre_x = (cells[0] + cells[2]) * cell_w / 2,
          centre_y = (cells[1] + cells[3]) * cell_h / 2;
    /* Enlarge, give it the input's aspect ratio, respect the minimum and the image. */
    float enlarge = gcam_rng_range(rng, 1, cfg->crop_enlarge > 1 ? cfg->crop_enlarge : 1);
    float aspect = (float)net_w / net_h;
    float side_h = fmaxf(box_h, box_w / aspect) * enlarge;
    float shorter = src_w < src_h ? (float)src_w : (float)src_h;
    side_h = fmaxf(side_h, cfg->crop_min_size * shorter);
    float side_w = side_h * aspect;
    float shrink = fminf(1, fminf(src_w / side_w, src_h / side_h));
    side_w *= shrink;
    side_h *= shrink;
    centre_x += gcam_rng_range(rng, -cfg->crop_jitter, cfg->crop_jitter) * side_w;
    centre_y += gcam_rng_range(rng, -cfg->crop_jitter, cfg->crop_jitter) * side_h;
    float left = fminf(fmaxf(centre_x - side_w / 2, 0), src_w - side_w);
    float top = fminf(fmaxf(centre_y - side_h / 2, 0), src_h - side_h);
    set_crop(left, top, side_w, side_h, src_w, src_h, net_w, net_h, warp, sample);
}

void gcam_guided_random_crop(const gcam_guided_config *cfg, int src_w, int src_h, int net_w,
                             int net_h, gcam_rng *rng, gcam_warp *warp,
                             gcam_guided_sample *sample) {
    if (gcam_rng_uniform(rng) >= cfg->crop_prob) return;
    float area = gcam_rng_range(rng, cfg->random_crop_min_area, cfg->random_crop_max_area) *
                 (float)src_w * src_h;
    float aspect = expf(gcam_rng_range(rng, logf(3.f / 4), logf(4.f / 3)));
    float side_w = fminf(sqrtf(area * aspect), (float)src_w);
    float side_h = fminf(sqrtf(area / aspect), (float)src_h);
    float left = gcam_rng_uniform(rng) * (src_w - side_w),
          top = gcam_rng_uniform(rng) * (src_h - side_h);
    set_crop(left, top, side_w, side_h, src_w, src_h, net_w, net_h, warp, sample);
}

void gcam_guided_warp_map(const float *map, int map_size, const gcam_warp *warp, int src_w,
                          int src_h, float *out, int w, int h) {
    /* The same warp, with source pixels measured in map cells. */
    float sx = (float)map_size / src_w, sy = (float)map_size / src_h;
    gcam_warp m = *warp;
    m.ax *= sx, m.bx *= sx, m.cx *= sx;
    m.ay *= sy, m.by *= sy, m.cy *= sy;
    gcam_warp_apply(&m, map, 1, map_size, map_size, out, w, h);
}

/* Group-CAM's blur (51 px, sigma 50 at 224), scaled to the image. */
static void blur_image(const float *x, int c, int h, int w, float *out) {
    int size;
    float sigma;
    gcam_blur_parameters(h, w, &size, &sigma);
    gcam_gaussian_blur(x, c, h, w, size < 3 ? 3 : size, sigma, out);
}

static void channel_means(const float *x, int c, size_t hw, float *means) {
    for (int k = 0; k < c; ++k) {
        double total = 0;
        for (size_t p = 0; p < hw; ++p) total += x[k * hw + p];
        means[k] = (float)(total / hw);
    }
}

void gcam_guided_masks(const gcam_guided_config *cfg, const gcam_warp *warp, int src_w, int src_h,
                       float *x, int c, int h, int w, gcam_rng *rng, gcam_guided_sample *sample) {
    if (!(sample->flags & GCAM_GUIDED_HAD_MAP)) return;
    float choice = gcam_rng_uniform(rng), cut = gcam_rng_uniform(rng);
    int drop = choice < cfg->drop_prob, keep = !drop && choice < cfg->drop_prob + cfg->keep_prob;
    int cutout = cut < cfg->cutout_prob;
    if (!drop && !keep && !cutout) return;
    size_t hw = (size_t)h * w;
    int size = cfg->map_size;
    float peak = max_of(sample->map, (size_t)size * size);
    if (peak <= 0) return;
    float *m = gcam_xmalloc(sizeof(float) * hw); /* (h, w) the map on the warped image */
    gcam_guided_warp_map(sample->map, size, warp, src_w, src_h, m, w, h);
    float *means = gcam_xmalloc(sizeof(float) * c); /* (c) fill colour */
    channel_means(x, c, hw, means);
    float *blurred = NULL; /* (c, h, w) */
    if (keep || (drop && cfg->drop_fill == GCAM_FILL_BLUR)) {
        blurred = gcam_xmalloc(sizeof(float) * hw * c);
        blur_image(x, c, h, w, blurred);
    }
    if (drop || keep) {
        float threshold = (drop ? cfg->drop_threshold : cfg->keep_threshold) * peak;
        size_t replaced = 0;
        for (size_t p = 0; p < hw; ++p) {
            int salient = m[p] >= threshold;
            if (drop ? !salient : salient) continue;
            for (int k = 0; k < c; ++k) x[k * hw + p] = blurred ? blurred[k * hw + p] : means[k];
            ++replaced;
        }
        /* The standard crop may have cut the salient region (drop) or the background (keep)
         * out of the view; then nothing changed and the summary must not count a mask. */
        if (replaced) sample->flags |= drop ? GCAM_GUIDED_DROP : GCAM_GUIDED_KEEP;
    }
    if (cutout) {
        int side = (int)lroundf(cfg->cutout_size * (w < h ? w : h));
        side = side < 1 ? 1 : side;
        for (int attempt = 0; attempt < 10; ++attempt) {
            int left = (int)(gcam_rng_next(rng) % (uint32_t)(w - side + 1));
            int top = (int)(gcam_rng_next(rng) % (uint32_t)(h - side + 1));
            double total = 0;
            for (int y = top; y < top + side; ++y)
                for (int xx = left; xx < left + side; ++xx) total += m[(size_t)y * w + xx];
            if (total / ((double)side * side) >= cfg->cutout_threshold * peak) continue;
            for (int k = 0; k < c; ++k)
                for (int y = top; y < top + side; ++y)
                    for (int xx = left; xx < left + side; ++xx)
                        x[k * hw + (size_t)y * w + xx] = means[k];
            sample->flags |= GCAM_GUIDED_CUTOUT;
            break;
        }
    }
    free(blurred);
    free(means);
    free(m);
}
