/* Saliency building blocks against direct definitions (2-D Gaussian convolution with
 * mirrored borders, numpy's percentile, PyTorch's bilinear resize with
 * align_corners=False), Grad-CAM against CAM computed from the head's weights (for a
 * global-average-pool head the two are equal), Group-CAM against an unbatched
 * re-implementation of the published algorithm, and the constant-map edge case. */
#include "check.h"
#include "image_ops.h"
#include "testutil.h"

static void check_blur(void) {
    int c = 2, h = 9, w = 11, size = 7;
    float sigma = 2.f, im[2 * 9 * 11], out[2 * 9 * 11];
    gcam_rng rng = gcam_rng_init(4, 4);
    fill_uniform(&rng, im, sizeof im / sizeof *im, 0, 1);
    gcam_gaussian_blur(im, c, h, w, size, sigma, out);
    double worst = 0, total = 0;
    int r = size / 2;
    for (int i = -r; i <= r; ++i)
        for (int j = -r; j <= r; ++j) total += exp(-(i * i + j * j) / (2.0 * sigma * sigma));
    for (int k = 0; k < c; ++k)
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                double sum = 0;
                for (int i = -r; i <= r; ++i)
                    for (int j = -r; j <= r; ++j) {
                        int yy = y + i, xx = x + j; /* reflect-101 */
                        yy = yy < 0 ? -yy : (yy >= h ? 2 * (h - 1) - yy : yy);
                        xx = xx < 0 ? -xx : (xx >= w ? 2 * (w - 1) - xx : xx);
                        sum += exp(-(i * i + j * j) / (2.0 * sigma * sigma)) *
                               im[(k * h + yy) * w + xx];
                    }
                worst = fmax(worst, fabs(sum / total - out[(k * h + y) * w + x]));
            }
    CHECK(worst < 1e-5, "blur differs from the 2-D definition by %g", worst);
}

static void check_percentile_and_upsample(void) {
    float ten[10] = {10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, zeros[4] = {0, 5, 0, 0};
    CHECK(fabsf(gcam_percentile(ten, 10, 70) - 7.3f) < 1e-5, "percentile(1..10, 70) = %g",
          gcam_percentile(ten, 10, 70));
    CHECK(fabsf(gcam_percentile(zeros, 4, 70) - 0.5f) < 1e-6, "percentile with zeros = %g",
          gcam_percentile(zeros, 4, 70));
    float src[4] = {0, 1, 2, 3}, dst[16];
    gcam_upsample(src, 2, 2, dst, 4, 4);
    /* torch.nn.functional.interpolate(..., size=4, mode='bilinear', align_corners=False) */
    float expected[16] = {0,    .25f,  .75f,  1,    .5f, .75f,  1.25f, 1.5f,
                          1.5f, 1.75f, 2.25f, 2.5f, 2,   2.25f, 2.75f, 3};
    CHECK(max_abs_diff(dst, expected, 16) < 1e-6, "bilinear upsample differs");
}

static const char cfg_text[] = "[net]\nbatch=12\nheight=16\nwidth=16\nchannels=3\n"
                               "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\npad=1\n"
                               "activation=leaky\n"
                               "[convolutional]\nbatch_normalize=1\nfilters=12\nsize=3\nstride=2\n"
                               "pad=1\nactivation=relu\n"
                               "[convolutional]\nfilters=4\nsize=1\nactivation=linear\n"
                               "[avgpool]\n[softmax]\n";

static gcam_net *small_net(float **input, int n) {
    char *path = temp_cfg(cfg_text);
    gcam_error err;
    gcam_load_options opt = gcam_load_options_default();
    gcam_net *net = NULL;
    CHECK(gcam_net_load(&net, path, &opt, &err) == 0, "%s", err.message);
    unlink(path);
    free(path);
    gcam_rng rng = gcam_rng_init(21, 2);
    randomize_parameters(net->dn, &rng);
    *input = malloc(sizeof(float) * (size_t)net->dn->inputs * net->dn->batch);
    fill_uniform(&rng, *input, (size_t)net->dn->inputs * net->dn->batch, 0, 1);
    calibrate_batchnorm(net->dn, *input);
    (void)n;
    return net;
}

/* For conv1x1 -> avgpool heads, Grad-CAM at the layer below is CAM:
 * ReLU(sum_k W[c,k] A_k), min-max normalised (the 1/uv factor cancels). */
static void check_gradcam_is_cam(void) {
    float *x;
    gcam_net *net = small_net(&x, 3);
    gcam_saliency_options o;
    o = gcam_saliency_options_default();
    o.method = GCAM_METHOD_GRADCAM;
    o.layer = 1;
    gcam_error err;
    float maps[3 * 256], cam[3 * 256], small[64];
    int used[3], constant[3];
    CHECK(gcam_saliency(net, x, 3, NULL, &o, maps, used, constant, &err) == 0, "%s", err.message);
    gcam_net_predict(net, x, 3);
    const layer *a = &net->dn->layers[1], *head = &net->dn->layers[2];
    for (int i = 0; i < 3; ++i) {
        for (int p = 0; p < 64; ++p) {
            double s = 0;
            for (int k = 0; k < 12; ++k)
                s += head->weights[used[i] * 12 + k] * a->output[(i * 12 + k) * 64 + p];
            small[p] = s > 0 ? (float)s : 0;
        }
        gcam_upsample(small, 8, 8, cam + i * 256, 16, 16);
        float lo = cam[i * 256], hi = lo;
        for (int p = 0; p < 256; ++p)
            lo = fminf(lo, cam[i * 256 + p]), hi = fmaxf(hi, cam[i * 256 + p]);
        for (int p = 0; p < 256; ++p) cam[i * 256 + p] = (cam[i * 256 + p] - lo) / (hi - lo);
    }
    double diff = max_abs_diff(maps, cam, 3 * 256);
    CHECK(diff < 1e-4, "Grad-CAM differs from CAM by %g", diff);
    free(x);
    gcam_net_free(net);
}

/* Group-CAM, unbatched and straight from the definition, for image i of x. */
static void reference_groupcam(gcam_net *net, const float *x, int c, int G, float *map) {
    network *dn = net->dn;
    const int K = 12, uv = 64, hw = 256;
    float A[12 * 64], g[12 * 64], seed[4] = {0}, blurred[3 * 256], masked[3 * 256];
    gcam_net_predict(net, x, 1);
    memcpy(A, dn->layers[1].output, sizeof A);
    seed[c] = 1;
    memcpy(g, gcam_net_backward_from(net, net->logits_layer, seed, 1), sizeof g);
    gcam_gaussian_blur(x, 3, 16, 16, (int)lroundf(51 * 16 / 224.f) | 1, 50 * 16 / 224.f, blurred);
    float base = gcam_net_predict(net, blurred, 1)[c];
    memset(map, 0, sizeof(float) * hw);
    for (int grp = 0; grp < G; ++grp) {
        float m[64], up[256];
        for (int p = 0; p < uv; ++p) {
            double s = 0;
            for (int k = grp * K / G; k < (grp + 1) * K / G; ++k) {
                double w = 0;
                for (int q = 0; q < uv; ++q) w += g[k * uv + q];
                s += w / uv * A[k * uv + p];
            }
            m[p] = s > 0 ? (float)s : 0;
        }
        float t = gcam_percentile(m, uv, 70);
        for (int p = 0; p < uv; ++p) m[p] = m[p] > t ? m[p] : 0;
        gcam_upsample(m, 8, 8, up, 16, 16);
        float lo = up[0], hi = up[0];
        for (int p = 0; p < hw; ++p) lo = fminf(lo, up[p]), hi = fmaxf(hi, up[p]);
        if (!(hi > lo)) continue;
        for (int p = 0; p < hw; ++p) up[p] = (up[p] - lo) / (hi - lo);
        for (int k = 0; k < 3; ++k)
            for (int p = 0; p < hw; ++p)
                masked[k * hw + p] = x[k * hw + p] * up[p] + blurred[k * hw + p] * (1 - up[p]);
        float s = gcam_net_predict(net, masked, 1)[c] - base;
        for (int p = 0; p < hw; ++p) map[p] += s * up[p];
    }
    float lo = 0, hi = 0;
    for (int p = 0; p < hw; ++p) map[p] = map[p] > 0 ? map[p] : 0, hi = fmaxf(hi, map[p]);
    for (int p = 0; p < hw; ++p) map[p] = hi > lo ? (map[p] - lo) / (hi - lo) : 0;
}

static void check_groupcam(void) {
    float *x;
    gcam_net *net = small_net(&x, 3);
    gcam_saliency_options o;
    o = gcam_saliency_options_default();
    o.layer = 1;
    o.groups = 4;
    gcam_error err;
    float maps[3 * 256], ref[256];
    int used[3], constant[3], given[3] = {-1, 2, -1};
    CHECK(gcam_saliency(net, x, 3, given, &o, maps, used, constant, &err) == 0, "%s", err.message);
    CHECK(used[1] == 2, "given class not used");
    double worst = 0;
    for (int i = 0; i < 3; ++i) {
        reference_groupcam(net, x + i * 3 * 256, used[i], 4, ref);
        worst = fmax(worst, max_abs_diff(maps + i * 256, ref, 256));
    }
    CHECK(worst < 1e-4, "Group-CAM differs from the unbatched reference by %g", worst);
    free(x);
    gcam_net_free(net);
}

/* All-zero head weights: zero gradients, so every gradient-based method gets a constant
 * map -> zeros and a flag, never NaN. */
static void check_constant_maps(void) {
    float *x;
    gcam_net *net = small_net(&x, 2);
    layer *head = &net->dn->layers[2];
    memset(head->weights, 0, sizeof(float) * (size_t)head->nweights);
    gcam_error err;
    for (int method = 0; method <= GCAM_METHOD_IGCAM; ++method) {
        gcam_saliency_options o;
        o = gcam_saliency_options_default();
        o.method = (gcam_method)method;
        o.ig_steps = 5;
        float maps[2 * 256];
        int constant[2] = {0, 0};
        CHECK(gcam_saliency(net, x, 2, NULL, &o, maps, NULL, constant, &err) == 0, "%s",
              err.message);
        int zeros = 1;
        for (int p = 0; p < 512; ++p) zeros &= maps[p] == 0;
        CHECK(zeros && constant[0] && constant[1], "method %d: constant map not flagged as zeros",
              method);
    }
    free(x);
    gcam_net_free(net);
}

/* Every method leaves weights, their updates, batch-norm statistics and `seen` as they
 * were (a checksum over all of them, bit for bit). */
static double state_checksum(const network *dn) {
    double sum = (double)*dn->seen;
    for (int i = 0; i < dn->n; ++i) {
        const layer *l = &dn->layers[i];
        const float *arrays[] = {l->weights,      l->weight_updates,  l->biases,
                                 l->bias_updates, l->scales,          l->scale_updates,
                                 l->rolling_mean, l->rolling_variance};
        int counts[] = {l->nweights, l->nweights, l->nbiases, l->nbiases,
                        l->nbiases,  l->nbiases,  l->nbiases, l->nbiases};
        for (int k = 0; k < 8; ++k)
            for (int j = 0; arrays[k] && j < counts[k]; ++j)
                sum += arrays[k][j] * (1 + 1e-3 * (j % 7));
    }
    return sum;
}

static void check_no_trace(void) {
    float *x;
    gcam_net *net = small_net(&x, 2);
    network *dn = net->dn;
    gcam_rng rng = gcam_rng_init(8, 8);
    for (int i = 0; i < dn->n; ++i) { /* nonzero updates, so that a change would show */
        layer *l = &dn->layers[i];
        if (l->weight_updates) fill_uniform(&rng, l->weight_updates, (size_t)l->nweights, -1, 1);
        if (l->bias_updates) fill_uniform(&rng, l->bias_updates, (size_t)l->nbiases, -1, 1);
    }
    *dn->seen = 777;
    double before = state_checksum(dn);
    gcam_error err;
    float maps[2 * 256];
    for (int m = 0; m < 6; ++m) {
        gcam_saliency_options o;
        o = gcam_saliency_options_default();
        o.method = (gcam_method)m;
        o.rise_n = 64;
        o.ig_steps = 5;
        CHECK(gcam_saliency(net, x, 2, NULL, &o, maps, NULL, NULL, &err) == 0, "%s", err.message);
        CHECK(state_checksum(dn) == before, "%s changed the training state",
              gcam_method_name((gcam_method)m));
    }
    free(x);
    gcam_net_free(net);
}

/* The cluttered net with seeded random weights (batch norm calibrated on input), with
 * these kernels; the same weights for every kernel set. */
static gcam_net *cluttered_net(gcam_kernels kernels, float *input, int n) {
    gcam_error err;
    gcam_load_options opt = gcam_load_options_default();
    opt.kernels = kernels;
    opt.batch = n;
    gcam_net *net = NULL;
    CHECK(gcam_net_load(&net, "cfg/cluttered.cfg", &opt, &err) == 0, "%s", err.message);
    if (!net) return NULL;
    gcam_rng rng = gcam_rng_init(31, 4);
    randomize_parameters(net->dn, &rng);
    fill_uniform(&rng, input, (size_t)net->dn->inputs * n, 0, 1);
    calibrate_batchnorm(net->dn, input);
    return net;
}

/* A weights change between two calls changes the maps: with the fast kernels both the
 * gradient pass and Group-CAM's scoring run the fused plan, which holds its own copy of
 * the weights. After the first layer is re-randomised, the maps must move, and must be
 * those of the OpenBLAS kernels (no plan) on the same weights. */
static void check_maps_follow_weights(void) {
    enum { N = 2 };
    float input[N * 3 * 64 * 64];
    gcam_net *fast = cluttered_net(GCAM_KERNELS_FAST, input, N);
    gcam_net *blas = cluttered_net(GCAM_KERNELS_BLAS, input, N);
    if (!fast || !blas) return;
    CHECK(fast->dn->inputs == 3 * 64 * 64, "cfg/cluttered.cfg is no longer 64x64x3");
    size_t hw = (size_t)fast->dn->h * fast->dn->w;
    gcam_method methods[2] = {GCAM_METHOD_GRADCAM, GCAM_METHOD_GROUPCAM};
    for (int m = 0; m < 2; ++m) {
        gcam_saliency_options o = gcam_saliency_options_default();
        o.method = methods[m];
        int cls[N] = {0, 1};
        float *before = malloc(sizeof(float) * hw * N), *after = malloc(sizeof(float) * hw * N),
              *reference = malloc(sizeof(float) * hw * N);
        gcam_error err;
        CHECK(!gcam_saliency(fast, input, N, cls, &o, before, NULL, NULL, &err), "%s", err.message);
        gcam_net_randomize_layer(fast, 0, 99 + m);
        gcam_net_randomize_layer(blas, 0, 99 + m);
        CHECK(!gcam_saliency(fast, input, N, cls, &o, after, NULL, NULL, &err), "%s", err.message);
        CHECK(!gcam_saliency(blas, input, N, cls, &o, reference, NULL, NULL, &err), "%s",
              err.message);
        double moved = max_abs_diff(before, after, hw * N);
        double off = max_abs_diff(after, reference, hw * N);
        /* Maps are normalised to [0, 1]; the two kernel sets differ by float32 rounding,
         * which a min-max normalisation can magnify near a flat map, hence 1e-3. */
        CHECK(moved > 0.05, "%s: re-randomising layer 0 moved the maps by only %g",
              gcam_method_name(methods[m]), moved);
        CHECK(off < 1e-3, "%s: maps after the change differ from the OpenBLAS kernels' by %g",
              gcam_method_name(methods[m]), off);
        printf("%s: maps moved by %.3g after a weights change, %.3g from the OpenBLAS kernels'\n",
               gcam_method_name(methods[m]), moved, off);
        free(before), free(after), free(reference);
    }
    gcam_net_free(fast);
    gcam_net_free(blas);
}

int main(void) {
    check_maps_follow_weights();
    check_no_trace();
    check_blur();
    check_percentile_and_upsample();
    check_gradcam_is_cam();
    check_groupcam();
    check_constant_maps();
    return check_summary("test_saliency");
}
