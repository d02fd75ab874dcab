/* Saliency mixing and test-time crops on hand-made data: the label arithmetic of both
 * rules, identical boxes under both, pasted pixels, the box cut around the partner's peak,
 * the draw statistics, the soft-target cross-entropy gradient against finite differences,
 * the oracle's map from a box, and the test-time crop boxes and logits against crops made
 * by hand. */
#include "check.h"
#include "guided.h"
#include "mix.h"
#include "testutil.h"
#include "image_ops.h"
#include "tta.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { W = 8, H = 8, HW = W * H, C = 2, CLASSES = 3 };

static gcam_train_options mix_options(float prob, gcam_mix_label label, gcam_mix_box box) {
    gcam_settings s;
    gcam_settings_default(&s);
    s.train.mix_prob = prob;
    s.train.mix_label = label;
    s.train.mix_box = box;
    return s.train;
}

static void check_weights(void) {
    /* A: uniform; B: all its mass in the 2x2 block at (5, 5) */
    float a[HW], b[HW] = {0}, wa = -1, wb = -1;
    for (int p = 0; p < HW; ++p) a[p] = 1;
    b[5 * W + 5] = b[5 * W + 6] = b[6 * W + 5] = b[6 * W + 6] = 0.5f;
    /* a 4x4 box at (0, 0) in A, cut from (4, 4) in B: A keeps 48/64, B gives all of its mass */
    CHECK(gcam_mix_weights(a, b, W, H, 4, 4, 0, 0, 4, 4, &wa, &wb), "weights refused");
    CHECK(fabsf(wa - 0.75f / 1.75f) < 1e-6f && fabsf(wb - 1.f / 1.75f) < 1e-6f, "wa %g wb %g", wa,
          wb);
    /* cut from (0, 0) in B, which holds none of B's mass: A's share alone, normalised to 1 */
    CHECK(gcam_mix_weights(a, b, W, H, 4, 4, 0, 0, 0, 0, &wa, &wb) && wa == 1 && wb == 0,
          "wa %g wb %g", wa, wb);
    /* a map without mass cannot weigh anything */
    float zero[HW] = {0};
    CHECK(!gcam_mix_weights(zero, b, W, H, 4, 4, 0, 0, 4, 4, &wa, &wb), "empty map weighed");
}

/* n images whose pixels say which image and channel they come from, one-hot labels. */
static void fill_batch(int n, float *images, float *truth, float *maps, int *has_map) {
    for (int i = 0; i < n; ++i) {
        for (int k = 0; k < C; ++k)
            for (int p = 0; p < HW; ++p) images[(i * C + k) * HW + p] = 100.f * i + 10.f * k;
        for (int c = 0; c < CLASSES; ++c) truth[i * CLASSES + c] = c == i % CLASSES;
        for (int p = 0; p < HW; ++p) maps[i * HW + p] = (p % W) < W / 2 ? 1.f : 0.f; /* left */
        has_map[i] = 1;
    }
}

static void check_batch(void) {
    enum { N = 6 };
    float images[2][N * C * HW], truth[2][N * CLASSES], maps[N * HW];
    int has_map[N];
    gcam_mix_stats stats[2] = {{0}, {0}};
    gcam_mix_label rules[2] = {GCAM_MIX_LABEL_AREA, GCAM_MIX_LABEL_SALIENCY};
    for (int r = 0; r < 2; ++r) {
        fill_batch(N, images[r], truth[r], maps, has_map);
        gcam_train_options o = mix_options(1, rules[r], GCAM_MIX_BOX_RANDOM);
        gcam_mix_batch(&o, 7, 3, images[r], truth[r], N, C, H, W, CLASSES, maps, has_map,
                       &stats[r]);
    }
    CHECK(!memcmp(images[0], images[1], sizeof images[0]),
          "area and saliency labels drew different boxes");
    CHECK(stats[0].mixed == N && stats[1].mixed == N, "%ld and %ld mixed", stats[0].mixed,
          stats[1].mixed);
    gcam_train_options o = mix_options(1, GCAM_MIX_LABEL_AREA, GCAM_MIX_BOX_RANDOM);
    for (int i = 0; i < N; ++i) {
        gcam_mix_draw d = gcam_mix_draw_sample(&o, 7, 3, i, N, W, H);
        int j = d.partner, bx = d.bx, by = d.by, right = 1;
        for (int k = 0; k < C; ++k)
            for (int y = 0; y < H; ++y)
                for (int x = 0; x < W; ++x) {
                    int in = x >= d.ax && x < d.ax + d.bw && y >= d.ay && y < d.ay + d.bh;
                    float want = in ? 100.f * j + 10.f * k : 100.f * i + 10.f * k;
                    right &= images[0][(i * C + k) * HW + y * W + x] == want;
                }
        CHECK(right && j != i, "sample %d: the pasted pixels are not partner %d's", i, j);
        /* area: the label is (1 - area) A + area B; saliency: from the left-half maps */
        float area = (float)(d.bw * d.bh) / HW, wa, wb, t[CLASSES] = {0}, s[CLASSES] = {0};
        t[i % CLASSES] += 1 - area, t[j % CLASSES] += area;
        if (!gcam_mix_weights(maps + i * HW, maps + j * HW, W, H, d.bw, d.bh, d.ax, d.ay, bx, by,
                              &wa, &wb))
            wa = 1 - area, wb = area;
        s[i % CLASSES] += wa, s[j % CLASSES] += wb;
        double sum = 0, far_a = 0, far_s = 0;
        for (int c = 0; c < CLASSES; ++c) {
            sum += truth[1][i * CLASSES + c];
            far_a = fmax(far_a, fabs(truth[0][i * CLASSES + c] - t[c]));
            far_s = fmax(far_s, fabs(truth[1][i * CLASSES + c] - s[c]));
        }
        CHECK(far_a < 1e-6 && far_s < 1e-6 && fabs(sum - 1) < 1e-6,
              "sample %d: labels off by %g (area) and %g (saliency), sum %g", i, far_a, far_s, sum);
    }
    /* mix_box=saliency: the box is cut around the partner's peak */
    float peak_maps[N * HW] = {0};
    for (int i = 0; i < N; ++i) peak_maps[i * HW + 6 * W + 1] = 1; /* every peak at (1, 6) */
    fill_batch(N, images[0], truth[0], maps, has_map);
    gcam_train_options around = mix_options(1, GCAM_MIX_LABEL_AREA, GCAM_MIX_BOX_SALIENCY);
    gcam_mix_stats unused = {0};
    gcam_mix_batch(&around, 7, 3, images[0], truth[0], N, C, H, W, CLASSES, peak_maps, has_map,
                   &unused);
    gcam_mix_draw d = gcam_mix_draw_sample(&around, 7, 3, 0, N, W, H);
    int bx = 1 - d.bw / 2, by = 6 - d.bh / 2;
    bx = bx < 0 ? 0 : (bx > W - d.bw ? W - d.bw : bx);
    by = by < 0 ? 0 : (by > H - d.bh ? H - d.bh : by);
    /* the partner's image is uniform, so check the box's source through a gradient image */
    CHECK(d.mixed && bx + d.bw > 1 && bx <= 1 && by + d.bh > 6 && by <= 6,
          "the peak (1, 6) is not in the box cut from B at (%d, %d) size %dx%d", bx, by, d.bw,
          d.bh);
}

static void check_draws(void) {
    gcam_train_options o = mix_options(0.3f, GCAM_MIX_LABEL_AREA, GCAM_MIX_BOX_RANDOM);
    int mixed = 0, n = 20000, outside = 0;
    double area = 0;
    for (int i = 0; i < n; ++i) {
        gcam_mix_draw d = gcam_mix_draw_sample(&o, 1, i / 8, i % 8, 8, 64, 64);
        mixed += d.mixed;
        area += (double)(d.bw * d.bh) / (64 * 64);
        outside += !(d.ax >= 0 && d.ax + d.bw <= 64 && d.ay >= 0 && d.ay + d.bh <= 64 &&
                     d.bx >= 0 && d.bx + d.bw <= 64 && d.by >= 0 && d.by + d.bh <= 64);
    }
    CHECK(outside == 0, "%d boxes leave the image", outside);
    /* binomial: 0.3 +- 3 sigma (0.0032); Beta(1, 1) areas: mean 1/2 (rounding to pixels) */
    CHECK(fabs((double)mixed / n - 0.3) < 0.01, "mixed share %g", (double)mixed / n);
    CHECK(fabs(area / n - 0.5) < 0.01, "mean area %g", area / n);
}

/* Darknet's softmax turns a soft truth t into delta = t - p: minus the gradient of the
 * cross-entropy -sum t log p with respect to the logits, when t sums to 1. */
static void check_soft_target_gradient(void) {
    gcam_net *net = load_cfg_text("[net]\nbatch=1\nheight=1\nwidth=1\nchannels=4\n"
                                  "[connected]\noutput=5\nactivation=linear\n[softmax]\n",
                                  GCAM_KERNELS_FAST, 1);
    if (!net) return;
    network *dn = net->dn;
    gcam_rng rng = gcam_rng_init(3, 3);
    randomize_parameters(dn, &rng);
    float x[4] = {0.3f, -1.2f, 0.7f, 0.1f}, t[5] = {0.1f, 0, 0.6f, 0.3f, 0};
    layer *fc = &dn->layers[0];
    /* the loss at the current biases, from the forward's probabilities */
    double eps = 1e-3, worst = 0;
    for (int k = 0; k < 5; ++k) {
        double loss[2];
        for (int side = 0; side < 2; ++side) {
            float keep = fc->biases[k];
            fc->biases[k] = keep + (side ? -1 : 1) * (float)eps;
            const float *p = gcam_net_predict(net, x, 1);
            loss[side] = 0;
            for (int c = 0; c < 5; ++c) loss[side] -= t[c] * log(p[c]);
            fc->biases[k] = keep;
        }
        double numeric = (loss[0] - loss[1]) / (2 * eps);
        memcpy(dn->input, x, sizeof x);
        memcpy(dn->truth, t, sizeof t);
        dn->train = 1;
        forward_network(dn);
        backward_network(dn);
        worst = fmax(worst, fabs(-fc->delta[k] - numeric));
    }
    CHECK(worst < 1e-3, "soft-target gradient off by %g from finite differences", worst);
    gcam_net_free(net);
}

static void check_oracle_map(void) {
    gcam_guided_config cfg;
    gcam_guided_config_default(&cfg);
    cfg.source = GCAM_GUIDE_ORACLE;
    cfg.map_size = 4;
    float map[16], box[4] = {10, 0, 30, 20}; /* a 40x40 image: cells of 10x10 */
    CHECK(gcam_guided_find_map(&cfg, NULL, 0, box, 40, 40, NULL, map), "no oracle map");
    float want[16] = {0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    CHECK(!memcmp(map, want, sizeof map), "oracle cells wrong");
    float half[4] = {15, 0, 30, 10}; /* half of cell (1, 0), all of (2, 0) */
    gcam_guided_find_map(&cfg, NULL, 0, half, 40, 40, NULL, map);
    CHECK(fabsf(map[1] - 0.5f) < 1e-6f && map[2] == 1 && map[5] == 0, "partial cells %g %g %g",
          map[1], map[2], map[5]);
    CHECK(!gcam_guided_find_map(&cfg, NULL, 0, NULL, 40, 40, NULL, map), "a map without a box");
}

static void check_tta_boxes(void) {
    float map[16 * 16] = {0}, box[4];
    for (int y = 4; y < 8; ++y)
        for (int x = 2; x < 10; ++x) map[y * 16 + x] = 1;
    map[5 * 16 + 5] = 2; /* the peak: threshold 0.5 keeps the whole blob */
    gcam_map_box(map, 16, 16, 0.5f, GCAM_BOX_ALL, box);
    CHECK(box[0] == 2 && box[1] == 4 && box[2] == 10 && box[3] == 8, "box %g %g %g %g", box[0],
          box[1], box[2], box[3]);
    gcam_tta_fit_box(box, 1.25f, 16, 16); /* 8x4 -> square 8x8 -> 10x10, centred on (6, 6) */
    CHECK(fabsf(box[0] - 1) < 1e-5f && fabsf(box[2] - 11) < 1e-5f && fabsf(box[1] - 1) < 1e-5f &&
              fabsf(box[3] - 11) < 1e-5f,
          "fitted %g %g %g %g", box[0], box[1], box[2], box[3]);
    float big[4] = {12, 12, 16, 16};
    gcam_tta_fit_box(big, 4, 16, 16); /* 16x16 at most, moved inside */
    CHECK(big[0] == 0 && big[1] == 0 && big[2] == 16 && big[3] == 16, "clamped %g %g %g %g", big[0],
          big[1], big[2], big[3]);
    /* a second blob elsewhere: all takes both, peak only the one holding the maximum; a
     * pixel touching the peak's blob by a corner is not 4-connected to it */
    map[13 * 16 + 13] = 1.5f, map[14 * 16 + 14] = 1;
    map[8 * 16 + 10] = 1; /* diagonal to (9, 7) */
    gcam_map_box(map, 16, 16, 0.5f, GCAM_BOX_ALL, box);
    CHECK(box[0] == 2 && box[1] == 4 && box[2] == 15 && box[3] == 15, "all: %g %g %g %g", box[0],
          box[1], box[2], box[3]);
    gcam_map_box(map, 16, 16, 0.5f, GCAM_BOX_PEAK, box);
    CHECK(box[0] == 2 && box[1] == 4 && box[2] == 10 && box[3] == 8, "peak: %g %g %g %g", box[0],
          box[1], box[2], box[3]);
    map[13 * 16 + 13] = 3, map[14 * 16 + 13] = 2; /* the maximum moves to the other blob,
                                                      (14, 14) falls below half of it */
    gcam_map_box(map, 16, 16, 0.5f, GCAM_BOX_PEAK, box);
    CHECK(box[0] == 13 && box[1] == 13 && box[2] == 14 && box[3] == 15, "peak moved: %g %g %g %g",
          box[0], box[1], box[2], box[3]);
    float flat[16 * 16] = {0};
    gcam_map_box(flat, 16, 16, 0.5f, GCAM_BOX_PEAK, box);
    CHECK(box[0] == 0 && box[2] == 16 && box[1] == 0 && box[3] == 16, "a constant map's peak box");
    gcam_map_box(flat, 16, 16, 0.5f, GCAM_BOX_ALL, box);
    CHECK(box[0] == 0 && box[2] == 16 && box[1] == 0 && box[3] == 16, "a constant map's box");
}

/* The crop mode's logits against a crop made by hand from the map computed by hand. */
static void check_tta_logits(void) {
    gcam_net *net = load_small_resnet(2);
    CHECK(net != NULL, "the small ResNet fixture loads");
    if (!net) return;
    gcam_error err;
    enum { S = 32, F = 3 * S * S };
    float images[2 * F];
    gcam_rng rng = gcam_rng_init(9, 9);
    fill_uniform(&rng, images, 2 * F, 0, 1);
    gcam_settings s;
    gcam_settings_default(&s);
    gcam_tta_mode modes[4] = {GCAM_TTA_NONE, GCAM_TTA_CROP, GCAM_TTA_CENTER, GCAM_TTA_ORACLE};
    float boxes[2][4] = {{4, 4, 20, 20}, {NAN, 0, 0, 0}};
    int ids[2] = {0, 1};
    float logits[4 * 2 * 10];
    CHECK(gcam_tta_logits(net, &s.tta, &s.saliency, modes, 4, images, NULL, 2,
                          (const float(*)[4])boxes, ids, logits, NULL, &err) == 0,
          "%s", err.message);
    float whole[2 * 10];
    gcam_net_predict(net, images, 2);
    memcpy(whole, gcam_net_last_logits(net), sizeof whole);
    CHECK(max_abs_diff(logits, whole, 20) < 1e-6, "none differs from the plain logits");
    for (int i = 0; i < 2; ++i) {
        int predicted = argmax(whole + 10 * i, 10);
        gcam_saliency_options so = s.saliency;
        so.method = s.tta.method;
        float map[S * S], box[4], crop[F];
        gcam_saliency(net, images + F * i, 1, &predicted, &so, map, NULL, NULL, &err);
        gcam_map_box(map, S, S, s.tta.threshold, s.tta.region, box);
        gcam_tta_fit_box(box, s.tta.margin, S, S);
        gcam_warp warp = {(box[2] - box[0]) / S, 0, box[0], 0, (box[3] - box[1]) / S, box[1], 0};
        gcam_warp_apply(&warp, images + F * i, 3, S, S, crop, S, S);
        gcam_net_predict(net, crop, 1);
        float want[10];
        for (int k = 0; k < 10; ++k)
            want[k] = (whole[10 * i + k] + gcam_net_last_logits(net)[k]) / 2;
        CHECK(max_abs_diff(logits + 20 + 10 * i, want, 10) < 1e-4,
              "image %d: crop logits differ from a crop made by hand", i);
    }
    /* the oracle without a box crops the whole image: its logits are the plain ones */
    CHECK(max_abs_diff(logits + 60 + 10, whole + 10, 10) < 1e-5, "oracle without a box");
    gcam_net_free(net);
}

int main(void) {
    check_weights();
    check_batch();
    check_draws();
    check_soft_target_gradient();
    check_oracle_map();
    check_tta_boxes();
    check_tta_logits();
    return check_summary("test_mix");
}
