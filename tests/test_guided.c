/* Saliency-guided augmentation (guided.c), each part against an independent reference:
 * the cache's cells against a naive block mean; a cached map carried through random
 * warps against the analytic function it samples; the crop box against hand-computed
 * coordinates; the shuffled control's draws against their definition (another image's
 * map, uniform); the masks pixel by pixel against their definitions; the loader's batches
 * against the standard augmentation when no image has a map, and across thread counts
 * when maps exist. */
#include "check.h"
#include "gcam.h"
#include "guided.h"
#include "image_ops.h"
#include "network.h"
#include "loader.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb_image_write.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A smooth blob over a src_w x src_h image, in source pixel coordinates. */
static float blob(float x, float y, int src_w, int src_h) {
    float dx = (x - 0.4f * src_w) / (0.22f * src_w), dy = (y - 0.6f * src_h) / (0.25f * src_h);
    return expf(-(dx * dx + dy * dy) / 2);
}

static void check_cache_cells(void) {
    int h = 32, w = 48, size = 16;
    float map[32 * 48];
    gcam_rng rng = gcam_rng_init(1, 1);
    for (int i = 0; i < h * w; ++i) map[i] = gcam_rng_uniform(&rng);
    gcam_map_cache cache;
    CHECK(gcam_map_cache_init(&cache, 5, size, 4, NULL) == 0, "map cache");
    float out[16 * 16];
    CHECK(!gcam_map_cache_get(&cache, 3, out), "an empty cache has a map");
    gcam_map_cache_store(&cache, 3, map, h, w, 7);
    CHECK(gcam_map_cache_get(&cache, 3, out), "stored map missing");
    double worst = 0;
    for (int cy = 0; cy < size; ++cy)
        for (int cx = 0; cx < size; ++cx) { /* each cell is a 2 x 3 block */
            double total = 0;
            for (int y = 2 * cy; y < 2 * cy + 2; ++y)
                for (int x = 3 * cx; x < 3 * cx + 3; ++x) total += map[y * w + x];
            worst = fmax(worst, fabs(out[cy * size + cx] - total / 6));
        }
    CHECK(worst <= 0.5 / 255 + 1e-6, "cell differs from the block mean by %g", worst);
    double age;
    CHECK(gcam_map_cache_covered(&cache, 10, &age) == 1 && age == 3 && cache.covered == 1,
          "coverage %d, age %g", gcam_map_cache_covered(&cache, 10, &age), age);
    gcam_map_cache_store(&cache, 3, map, h, w, 9); /* a refresh does not count twice */
    CHECK(cache.covered == 1, "covered %d after a refresh", cache.covered);
    gcam_map_cache_free(&cache);
}

/* A cached map warped with an image's augmentation agrees with the blob evaluated at
 * the warped coordinates, computed here from the warp's definition. */
static void check_map_follows_warp(void) {
    int src_w = 80, src_h = 60, size = 16, out_w = 48, out_h = 40;
    float *full = malloc(sizeof(float) * src_w * src_h); /* (src_h, src_w) */
    for (int y = 0; y < src_h; ++y)
        for (int x = 0; x < src_w; ++x)
            full[y * src_w + x] = blob(x + 0.5f, y + 0.5f, src_w, src_h);
    gcam_map_cache cache;
    CHECK(gcam_map_cache_init(&cache, 1, size, 4, NULL) == 0, "map cache");
    gcam_map_cache_store(&cache, 0, full, src_h, src_w, 0);
    float map[16 * 16], warped[48 * 40];
    gcam_map_cache_get(&cache, 0, map);
    gcam_augment_config aug = {out_w, out_h, 1, 40, 70, 1.3f, 25, 0, 0, 0, 1};
    gcam_rng rng = gcam_rng_init(3, 3);
    double worst = 0;
    int flips = 0;
    for (int trial = 0; trial < 20; ++trial) {
        gcam_warp warp = gcam_augment_draw_warp(&aug, src_w, src_h, &rng);
        flips += warp.flipped;
        gcam_guided_warp_map(map, size, &warp, src_w, src_h, warped, out_w, out_h);
        for (int y = 0; y < out_h; ++y)
            for (int x = 0; x < out_w; ++x) {
                float px = (warp.flipped ? out_w - x - 1 : x) + 0.5f, py = y + 0.5f;
                float sx = warp.ax * px + warp.bx * py + warp.cx;
                float sy = warp.ay * px + warp.by * py + warp.cy;
                /* inside the image only: outside, both sides clamp differently by design */
                if (sx < 3 || sy < 3 || sx > src_w - 3 || sy > src_h - 3) continue;
                worst = fmax(worst, fabs(warped[y * out_w + x] - blob(sx, sy, src_w, src_h)));
            }
    }
    /* 16 x 16 cells of a smooth blob, bilinear: the error is interpolation only */
    CHECK(worst < 0.05, "warped map differs from the warped blob by %g", worst);
    CHECK(flips > 0 && flips < 20, "%d flips in 20 warps", flips);
    gcam_map_cache_free(&cache);
    free(full);
}

/* A map with one hot rectangle: with no enlargement, jitter or minimum, the crop warp
 * maps the input exactly onto the rectangle's pixels. */
static void check_crop_box(void) {
    gcam_guided_config cfg;
    gcam_guided_config_default(&cfg);
    cfg.crop_prob = 1, cfg.crop_enlarge = 1, cfg.crop_jitter = 0, cfg.crop_min_size = 0.05f;
    int size = 16, src = 64, net = 32;
    float hot[16 * 16] = {0}; /* cells x 4..7, y 10..13 -> pixels x 16..32, y 40..56 */
    for (int y = 10; y < 14; ++y)
        for (int x = 4; x < 8; ++x) hot[y * size + x] = 1;
    gcam_map_cache cache;
    CHECK(gcam_map_cache_init(&cache, 2, size, 4, NULL) == 0, "map cache");
    gcam_map_cache_store(&cache, 1, hot, size, size, 0);
    float map[16 * 16];
    gcam_guided_sample sample = {map, 0, 0};
    gcam_warp warp = {1, 0, 0, 0, 1, 0, 1}; /* flipped: the crop keeps the flip */
    gcam_rng rng = gcam_rng_init(1, 2);
    gcam_guided_geometry(&cfg, &cache, 1, NULL, src, src, net, net, &rng, &warp, &sample);
    CHECK(sample.flags == (GCAM_GUIDED_HAD_MAP | GCAM_GUIDED_CROP), "flags %d", sample.flags);
    CHECK(fabsf(warp.ax - 0.5f) < 1e-6f && fabsf(warp.by - 0.5f) < 1e-6f && warp.bx == 0 &&
              warp.ay == 0 && fabsf(warp.cx - 16) < 1e-4f && fabsf(warp.cy - 40) < 1e-4f,
          "crop warp %g %g %g / %g %g %g", warp.ax, warp.bx, warp.cx, warp.ay, warp.by, warp.cy);
    CHECK(warp.flipped == 1, "the crop dropped the flip");
    CHECK(fabsf(sample.crop_fraction - 1.f / 16) < 1e-6f, "crop fraction %g", sample.crop_fraction);

    /* Enlargement and the minimum size grow the box, never past the image. */
    cfg.crop_enlarge = 3, cfg.crop_jitter = 0.5f;
    double smallest = 1, largest = 0;
    for (int trial = 0; trial < 50; ++trial) {
        gcam_guided_geometry(&cfg, &cache, 1, NULL, src, src, net, net, &rng, &warp, &sample);
        float side = warp.ax * net;
        smallest = fmin(smallest, sample.crop_fraction);
        largest = fmax(largest, sample.crop_fraction);
        CHECK(side >= 16 - 1e-3f && side <= 48 + 1e-3f && warp.cx >= 0 && warp.cy >= 0 &&
                  warp.cx + side <= src + 1e-3f && warp.cy + side <= src + 1e-3f,
              "box %g at (%g, %g)", side, warp.cx, warp.cy);
    }
    CHECK(smallest < 0.15 && largest > 0.3, "box fractions %g..%g", smallest, largest);

    /* An image without a map keeps its warp and gets no transform. */
    gcam_warp before = {0.3f, 0.1f, 2, -0.1f, 0.3f, 5, 0};
    warp = before;
    gcam_guided_geometry(&cfg, &cache, 0, NULL, src, src, net, net, &rng, &warp, &sample);
    CHECK(sample.flags == 0 && !memcmp(&warp, &before, sizeof warp), "unmapped image changed");
    gcam_map_cache_free(&cache);
}

/* The random guide's crops (Inception-style): each draw against its definition (inside the
 * image, area share within the range unless the image clips a side, aspect in [3/4, 4/3]
 * unless clipped, the flip kept, no map), the crop probability, and the spread of areas
 * and places over many draws. */
static void check_random_crop(void) {
    gcam_guided_config cfg;
    gcam_guided_config_default(&cfg);
    cfg.source = GCAM_GUIDE_RANDOM;
    cfg.crop_prob = 0.5f, cfg.random_crop_min_area = 0.1f, cfg.random_crop_max_area = 0.5f;
    int src_w = 120, src_h = 80, net = 40, draws = 4000, crops = 0;
    float map[16 * 16];
    gcam_rng rng = gcam_rng_init(3, 4);
    double area_sum = 0, smallest = 1, largest = 0, left_sum = 0;
    for (int k = 0; k < draws; ++k) {
        gcam_guided_sample sample = {map, 0, 0};
        gcam_warp warp = {1, 0, 0, 0, 1, 0, 1};
        gcam_guided_geometry(&cfg, NULL, 0, NULL, src_w, src_h, net, net, &rng, &warp, &sample);
        if (!(sample.flags & GCAM_GUIDED_CROP)) {
            CHECK(sample.flags == 0 && warp.ax == 1 && warp.cx == 0, "an uncropped draw changed");
            continue;
        }
        ++crops;
        CHECK(sample.flags == GCAM_GUIDED_CROP, "flags %d: a random crop has no map", sample.flags);
        float w = warp.ax * net, h = warp.by * net, area = w * h / (src_w * src_h);
        CHECK(warp.flipped == 1 && warp.bx == 0 && warp.ay == 0, "the crop's warp is not a box");
        CHECK(warp.cx >= -1e-3f && warp.cy >= -1e-3f && warp.cx + w <= src_w + 1e-3f &&
                  warp.cy + h <= src_h + 1e-3f,
              "box %gx%g at (%g, %g) leaves the image", w, h, warp.cx, warp.cy);
        int clipped = w >= src_w - 1e-3f || h >= src_h - 1e-3f;
        CHECK(clipped || (area >= 0.1f - 1e-4f && area <= 0.5f + 1e-4f), "area share %g", area);
        CHECK(clipped || (w / h >= 0.75f - 1e-4f && w / h <= 4.f / 3 + 1e-4f), "aspect %g", w / h);
        CHECK(fabsf(sample.crop_fraction - area) < 1e-5f, "crop fraction %g, area %g",
              sample.crop_fraction, area);
        area_sum += area, left_sum += (warp.cx + w / 2) / src_w;
        smallest = fmin(smallest, area), largest = fmax(largest, area);
    }
    /* half of the draws crop: 2000 +- 3 sigma (sigma = sqrt(4000 / 4) = 32) */
    CHECK(abs(crops - draws / 2) < 96, "%d crops of %d draws at crop_prob 0.5", crops, draws);
    CHECK(fabs(area_sum / crops - 0.3) < 0.02, "mean area share %g, expected 0.3",
          area_sum / crops);
    CHECK(smallest < 0.11 && largest > 0.49, "area shares %g..%g", smallest, largest);
    CHECK(fabs(left_sum / crops - 0.5) < 0.02, "mean centre %g of the width", left_sum / crops);
}

/* The shuffled control: an image with a map gets another image's map, each other image
 * equally often; an image without one, or with no other mapped image, gets nothing. */
static void check_shuffled_guide(void) {
    gcam_guided_config cfg;
    gcam_guided_config_default(&cfg);
    enum { n = 5, size = 8 };
    cfg.source = GCAM_GUIDE_SHUFFLED, cfg.map_size = size;
    gcam_map_cache cache;
    CHECK(gcam_map_cache_init(&cache, n, size, 4, NULL) == 0, "map cache");
    float own[n][size * size]; /* image i: one hot cell at (i, i) */
    for (int i = 0; i < n; ++i) {
        memset(own[i], 0, sizeof own[i]);
        own[i][i * size + i] = 1;
    }
    float map[size * size];
    gcam_guided_sample sample = {map, 0, 0};
    gcam_rng rng = gcam_rng_init(3, 4);
    gcam_warp warp = {1, 0, 0, 0, 1, 0, 0};
    gcam_map_cache_store(&cache, 1, own[1], size, size, 0);
    gcam_guided_geometry(&cfg, &cache, 1, NULL, 32, 32, 32, 32, &rng, &warp, &sample);
    CHECK(sample.flags == 0, "the only mapped image got a map (flags %d)", sample.flags);
    gcam_map_cache_store(&cache, 3, own[3], size, size, 0);
    gcam_guided_geometry(&cfg, &cache, 0, NULL, 32, 32, 32, 32, &rng, &warp, &sample);
    CHECK(sample.flags == 0, "an image without a map got one (flags %d)", sample.flags);
    gcam_guided_geometry(&cfg, &cache, 1, NULL, 32, 32, 32, 32, &rng, &warp, &sample);
    CHECK(sample.flags & GCAM_GUIDED_HAD_MAP && map[3 * size + 3] == 1 && map[size + 1] == 0,
          "image 1 did not get image 3's map");

    for (int i = 0; i < n; ++i) gcam_map_cache_store(&cache, i, own[i], size, size, 0);
    int drawn[n] = {0}, draws = 4000;
    for (int t = 0; t < draws; ++t) {
        gcam_guided_geometry(&cfg, &cache, 2, NULL, 32, 32, 32, 32, &rng, &warp, &sample);
        for (int i = 0; i < n; ++i) drawn[i] += map[i * size + i] == 1;
    }
    CHECK(drawn[2] == 0, "image 2 got its own map %d times", drawn[2]);
    for (int i = 0; i < n; ++i) /* 1000 expected each, sd ~27 */
        CHECK(i == 2 || abs(drawn[i] - draws / 4) < 150, "image %d drawn %d times of %d", i,
              drawn[i], draws);
    gcam_map_cache_free(&cache);
}

/* Drop, keep and cutout on an identity warp, pixel by pixel. */
static void check_masks(void) {
    enum { S = 32, C = 3, SIZE = 16 };
    gcam_guided_config cfg;
    gcam_guided_config_default(&cfg);
    float map[SIZE * SIZE], warped[S * S], image[C * S * S], x[C * S * S], blurred[C * S * S];
    for (int y = 0; y < SIZE; ++y)
        for (int xx = 0; xx < SIZE; ++xx)
            map[y * SIZE + xx] = blob(xx + 0.5f, y + 0.5f, SIZE, SIZE);
    gcam_rng rng = gcam_rng_init(9, 9);
    for (int i = 0; i < C * S * S; ++i) image[i] = gcam_rng_uniform(&rng);
    gcam_warp identity = {1, 0, 0, 0, 1, 0, 0};
    gcam_guided_warp_map(map, SIZE, &identity, S, S, warped, S, S);
    float peak = 0, means[C];
    for (int i = 0; i < SIZE * SIZE; ++i) peak = fmaxf(peak, map[i]);
    for (int k = 0; k < C; ++k) {
        double t = 0;
        for (int p = 0; p < S * S; ++p) t += image[k * S * S + p];
        means[k] = (float)(t / (S * S));
    }
    gcam_gaussian_blur(image, C, S, S, (int)lroundf(51.f * S / 224) | 1, 50.f * S / 224, blurred);

    /* which: 0 drop filled with the mean, 1 keep, 2 drop filled with the blurred image */
    for (int which = 0; which < 3; ++which) {
        int drop = which != 1;
        cfg.drop_prob = drop, cfg.keep_prob = !drop, cfg.cutout_prob = 0;
        cfg.drop_fill = which == 2 ? GCAM_FILL_BLUR : GCAM_FILL_MEAN;
        memcpy(x, image, sizeof x);
        gcam_guided_sample sample = {map, GCAM_GUIDED_HAD_MAP, 0};
        gcam_guided_masks(&cfg, &identity, S, S, x, C, S, S, &rng, &sample);
        int expected_flag = drop ? GCAM_GUIDED_DROP : GCAM_GUIDED_KEEP;
        CHECK(sample.flags == (GCAM_GUIDED_HAD_MAP | expected_flag), "flags %d", sample.flags);
        float threshold = (drop ? cfg.drop_threshold : cfg.keep_threshold) * peak;
        int wrong = 0, changed = 0;
        for (int p = 0; p < S * S; ++p)
            for (int k = 0; k < C; ++k) {
                int salient = warped[p] >= threshold;
                float want = image[k * S * S + p];
                if (which == 0 && salient) want = means[k];
                if (which != 0 && salient == drop) want = blurred[k * S * S + p];
                wrong += fabsf(x[k * S * S + p] - want) > 1e-5f;
                changed += x[k * S * S + p] != image[k * S * S + p];
            }
        CHECK(wrong == 0 && changed > 50 && changed < C * S * S - 50,
              "%s mask: %d wrong pixels, %d changed", drop ? "drop" : "keep", wrong, changed);
    }

    /* A keep mask on a map salient everywhere changes nothing and is not counted. */
    float flat[SIZE * SIZE];
    for (int i = 0; i < SIZE * SIZE; ++i) flat[i] = 1;
    cfg.drop_prob = 0, cfg.keep_prob = 1;
    memcpy(x, image, sizeof x);
    gcam_guided_sample flat_sample = {flat, GCAM_GUIDED_HAD_MAP, 0};
    gcam_guided_masks(&cfg, &identity, S, S, x, C, S, S, &rng, &flat_sample);
    CHECK(flat_sample.flags == GCAM_GUIDED_HAD_MAP && !memcmp(x, image, sizeof x),
          "a keep mask that changed nothing: flags %d", flat_sample.flags);

    cfg.drop_prob = cfg.keep_prob = 0, cfg.cutout_prob = 1;
    int cut = 0;
    for (int trial = 0; trial < 10; ++trial) {
        memcpy(x, image, sizeof x);
        gcam_guided_sample sample = {map, GCAM_GUIDED_HAD_MAP, 0};
        gcam_guided_masks(&cfg, &identity, S, S, x, C, S, S, &rng, &sample);
        if (!(sample.flags & GCAM_GUIDED_CUTOUT)) continue;
        ++cut;
        /* the changed pixels form one square of the documented side, of low saliency */
        int x0 = S, y0 = S, x1 = -1, y1 = -1, n = 0;
        double saliency = 0;
        for (int y = 0; y < S; ++y)
            for (int xx = 0; xx < S; ++xx)
                if (x[y * S + xx] != image[y * S + xx]) {
                    x0 = xx < x0 ? xx : x0, x1 = xx > x1 ? xx : x1;
                    y0 = y < y0 ? y : y0, y1 = y > y1 ? y : y1;
                    ++n;
                    saliency += warped[y * S + xx];
                }
        int side = (int)lroundf(cfg.cutout_size * S);
        CHECK(x1 - x0 + 1 == side && y1 - y0 + 1 == side && n == side * side,
              "cutout %d..%d x %d..%d, %d pixels", x0, x1, y0, y1, n);
        CHECK(n && saliency / n < cfg.cutout_threshold * peak, "cutout on salient pixels (%g)",
              n ? saliency / n : 0);
    }
    CHECK(cut > 0, "no cutout in 10 tries");
}

/* Loader batches: without any map the guided loader equals the standard one bit for bit
 * (its draws come from their own generator); with maps the result does not depend on
 * the number of threads. */
static char dir[] = "/tmp/gcam-guided-XXXXXX";

static void make_images(char *list_path, int n) {
    gcam_rng rng = gcam_rng_init(4, 4);
    snprintf(list_path, 700, "%s/train.list", dir);
    FILE *list = fopen(list_path, "w");
    for (int i = 0; i < n; ++i) {
        unsigned char px[24 * 20 * 3];
        for (size_t k = 0; k < sizeof px; ++k) px[k] = (unsigned char)(gcam_rng_next(&rng) % 256);
        char path[800];
        snprintf(path, sizeof path, "%s/%02d_%s.png", dir, i, i % 2 ? "odd" : "even");
        stbi_write_png(path, 24, 20, 3, px, 24 * 3);
        fprintf(list, "%s\n", path);
    }
    fclose(list);
}

static int batches_equal(gcam_loader *a, gcam_loader *b, int batches, size_t floats) {
    gcam_error err;
    for (int i = 0; i < batches; ++i) {
        const gcam_batch *x = gcam_loader_get(a, i, &err), *y = gcam_loader_get(b, i, &err);
        if (!x || !y || memcmp(x->x, y->x, sizeof(float) * floats)) return 0;
    }
    return 1;
}

static void check_loader(void) {
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char list[700];
    enum { N = 12, B = 4 };
    make_images(list, N);
    gcam_dataset ds;
    gcam_error err;
    char *labels[2] = {"even", "odd"};
    CHECK(gcam_dataset_load(&ds, list, labels, 2, 2, &err) == 0, "%s", err.message);
    gcam_guided_config guided;
    gcam_guided_config_default(&guided);
    guided.crop_prob = 0.6f, guided.drop_prob = 0.3f, guided.keep_prob = 0.3f;
    guided.cutout_prob = 0.5f;
    gcam_map_cache cache;
    CHECK(gcam_map_cache_init(&cache, N, guided.map_size, 4, NULL) == 0, "map cache");
    gcam_loader_config lc = {0};
    lc.data = &ds;
    lc.batch = B;
    lc.train = 1;
    lc.seed = 5;
    lc.augment = (gcam_augment_config){16, 16, 3, 16, 22, 1.2f, 10, 0.1f, 1.5f, 1.5f, 1};
    size_t floats = (size_t)B * 16 * 16 * 3;
    gcam_loader *plain, *guided_loader, *guided_three;
    lc.threads = 2;
    CHECK(gcam_loader_init(&plain, &lc, &err) == 0, "%s", err.message);
    lc.guided = &guided;
    lc.cache = &cache;
    CHECK(gcam_loader_init(&guided_loader, &lc, &err) == 0, "%s", err.message);
    CHECK(batches_equal(plain, guided_loader, 6, floats),
          "an empty cache changed the standard augmentation");
    gcam_loader_free(guided_loader);

    /* maps for half the images, then 1 thread against 3 */
    float map[20 * 24];
    for (int id = 0; id < N; id += 2) {
        for (int y = 0; y < 20; ++y)
            for (int x = 0; x < 24; ++x) map[y * 24 + x] = blob(x + id, y + 0.5f, 24, 20);
        gcam_map_cache_store(&cache, id, map, 20, 24, 0);
    }
    lc.threads = 1;
    CHECK(gcam_loader_init(&guided_loader, &lc, &err) == 0, "%s", err.message);
    lc.threads = 3;
    CHECK(gcam_loader_init(&guided_three, &lc, &err) == 0, "%s", err.message);
    CHECK(batches_equal(guided_loader, guided_three, 6, floats),
          "guided batches depend on the thread count");
    int mapped = 0, transformed = 0;
    for (int i = 6; i < 12; ++i) {
        const gcam_batch *b = gcam_loader_get(guided_loader, i, &err);
        for (int k = 0; b && k < b->n; ++k) {
            int has = (b->guided_flags[k] & GCAM_GUIDED_HAD_MAP) != 0;
            CHECK(has == (b->sample_ids[k] % 2 == 0), "image %d: map flag %d", b->sample_ids[k],
                  has);
            mapped += has;
            transformed += b->guided_flags[k] > GCAM_GUIDED_HAD_MAP;
        }
    }
    CHECK(mapped == 12 && transformed > 3, "%d mapped, %d transformed", mapped, transformed);
    CHECK(!batches_equal(plain, guided_loader, 6, floats), "maps changed nothing");
    gcam_loader_free(guided_loader);
    gcam_loader_free(guided_three);
    gcam_loader_free(plain);
    gcam_map_cache_free(&cache);
    gcam_dataset_free(&ds);
    char cmd[800];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "cleanup");
}

int main(void) {
    check_cache_cells();
    check_map_follows_warp();
    check_crop_box();
    check_random_crop();
    check_shuffled_guide();
    check_masks();
    check_loader();
    return check_summary("test_guided");
}
