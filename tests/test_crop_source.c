/* Crops from the source image: the box resample against a triangle filter written out in
 * two dimensions; a crop of fine detail that only the source holds, against the detail
 * itself; the box of a crop of a training view mapped through the view's warp (flip,
 * scale, translation) against boxes worked out by hand; shrinking training warps against
 * the validation resize (today's point sampling fails the same comparison); and the
 * test-time crops' logits from the source against crops made by hand; JPEGs decoded
 * reduced in the DCT against block means of the full decode, and a training view made
 * from such a decode against the same view made from the full source. */
#define _DEFAULT_SOURCE
#include "augment.h"
#include "check.h"
#include "image_decode.h"
#include "image_ops.h"
#include "loader.h"
#include "network.h"
#include "testutil.h"
#include "tta.h"

#include "gcam/predict.h"
#include "gcam/saliency.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <turbojpeg.h>

/* One output sample of the validation filter along one axis of `in` pixels: the
 * weights of a triangle of half-width max(scale, 1) around the output's centre, outside
 * pixels dropped, renormalised; all zero -> the nearest pixel. Written per tap, in double,
 * apart from the library's tables. */
static void reference_taps(int in, double start, double length, int out, int o, double *w) {
    double scale = length / out, support = scale > 1 ? scale : 1;
    double center = start + (o + 0.5) * scale - 0.5, total = 0;
    for (int i = 0; i < in; ++i) {
        double d = fabs(i - center) / support;
        w[i] = d < 1 ? 1 - d : 0;
        total += w[i];
    }
    if (total <= 0) {
        int nearest = (int)floor(center + 0.5);
        nearest = nearest < 0 ? 0 : (nearest >= in ? in - 1 : nearest);
        memset(w, 0, sizeof(double) * (size_t)in);
        w[nearest] = total = 1;
    }
    for (int i = 0; i < in; ++i) w[i] /= total;
}

/* The crop of src (one channel) to box at w x h with the filter above, as a 2-D sum. */
static void reference_crop(const gcam_image *src, const float box[4], int w, int h, float *out) {
    double *wx = malloc(sizeof(double) * (size_t)src->w), *wy = malloc(sizeof(double) * src->h);
    for (int k = 0; k < src->c; ++k)
        for (int y = 0; y < h; ++y) {
            reference_taps(src->h, box[1], (double)box[3] - box[1], h, y, wy);
            for (int x = 0; x < w; ++x) {
                reference_taps(src->w, box[0], (double)box[2] - box[0], w, x, wx);
                double sum = 0;
                for (int j = 0; j < src->h; ++j)
                    for (int i = 0; i < src->w; ++i)
                        sum += wy[j] * wx[i] * src->data[((size_t)k * src->h + j) * src->w + i];
                out[((size_t)k * h + y) * w + x] = (float)sum;
            }
        }
    free(wx);
    free(wy);
}

static gcam_image random_image(int w, int h, int c, uint64_t seed) {
    gcam_image im = {w, h, c, malloc(sizeof(float) * (size_t)w * h * c)};
    gcam_rng rng = gcam_rng_init(seed, 1);
    fill_uniform(&rng, im.data, (size_t)w * h * c, 0, 1);
    return im;
}

static void check_resample_box(void) {
    gcam_image src = random_image(57, 43, 2, 3);
    const float boxes[][4] = {
        {0, 0, 57, 43},        /* the whole image, shrunk */
        {10, 5, 30, 25},       /* inside, enlarged */
        {3.5f, 2.25f, 50, 40}, /* fractional corners, shrunk */
        {-8, -4, 20, 60},      /* reaching outside */
        {40, 30, 90, 80},      /* mostly outside */
    };
    const int sizes[][2] = {{16, 12}, {32, 32}, {24, 20}, {14, 30}, {9, 9}};
    for (int b = 0; b < 5; ++b) {
        int w = sizes[b][0], h = sizes[b][1];
        float *got = malloc(sizeof(float) * (size_t)w * h * 2);
        float *want = malloc(sizeof(float) * (size_t)w * h * 2);
        gcam_image_resample_box(&src, boxes[b], w, h, got);
        reference_crop(&src, boxes[b], w, h, want);
        double worst = max_abs_diff(got, want, (size_t)w * h * 2);
        CHECK(worst < 1e-5, "box %d: the crop differs from the 2-D filter by %g", b, worst);
        free(got);
        free(want);
    }
    /* the whole image as the box is the validation resize, bit for bit */
    gcam_image sized;
    gcam_image_resize(&src, 16, 12, &sized);
    float crop[16 * 12 * 2];
    gcam_image_resample_box(&src, boxes[0], 16, 12, crop);
    CHECK(!memcmp(crop, sized.data, sizeof crop), "the whole-image crop is not the resize");
    gcam_image_free(&sized);
    gcam_image_free(&src);
}

/* 1 in a one-pixel checkerboard over [128, 192) x [64, 128) of a 256x256 source, 0 elsewhere.
 * The 64x64 view averages the pattern to grey; the crop of its box from the source, at
 * one source pixel per output pixel, is the pattern itself. */
static void check_detail_from_source(void) {
    enum { S = 256, V = 64 };
    gcam_image src = {S, S, 1, calloc((size_t)S * S, sizeof(float))};
    for (int y = 64; y < 128; ++y)
        for (int x = 128; x < 192; ++x) src.data[y * S + x] = (float)((x + y) & 1);
    gcam_image view;
    gcam_image_resize(&src, V, V, &view);
    const float view_box[4] = {32, 16, 48, 32}; /* the region in view pixels */
    const float source_box[4] = {128, 64, 192, 128};
    float from_source[V * V], from_view[V * V];
    gcam_image_resample_box(&src, source_box, V, V, from_source);
    double worst = 0;
    for (int y = 0; y < V; ++y)
        for (int x = 0; x < V; ++x)
            worst = fmax(worst, fabs(from_source[y * V + x] - ((x + 128 + y + 64) & 1)));
    CHECK(worst < 1e-6, "the source crop is not the checkerboard: off by %g", worst);
    gcam_warp zoom = {(view_box[2] - view_box[0]) / V,
                      0,
                      view_box[0],
                      0,
                      (view_box[3] - view_box[1]) / V,
                      view_box[1],
                      0};
    gcam_warp_apply(&zoom, view.data, 1, V, V, from_view, V, V);
    double lo = 1, hi = 0;
    for (int y = 8; y < V - 8; ++y) /* away from the region's edges, blurred by the view */
        for (int x = 8; x < V - 8; ++x)
            lo = fmin(lo, from_view[y * V + x]), hi = fmax(hi, from_view[y * V + x]);
    CHECK(hi - lo < 0.05, "the view's zoom should hold no detail: range %g", hi - lo);
    gcam_image_free(&view);
    gcam_image_free(&src);
}

/* Where a warp sends output point (u, v), continuous coordinates. */
static void warp_point(const gcam_warp *w, int out_w, float u, float v, float *sx, float *sy) {
    if (w->flipped) u = out_w - u;
    *sx = w->ax * u + w->bx * v + w->cx;
    *sy = w->ay * u + w->by * v + w->cy;
}

static int warps_close(const gcam_warp *a, const gcam_warp *b) {
    return fabsf(a->ax - b->ax) < 1e-5f && fabsf(a->bx - b->bx) < 1e-5f &&
           fabsf(a->cx - b->cx) < 1e-4f && fabsf(a->ay - b->ay) < 1e-5f &&
           fabsf(a->by - b->by) < 1e-5f && fabsf(a->cy - b->cy) < 1e-4f && a->flipped == b->flipped;
}

static void check_compose(void) {
    enum { W = 32 };
    /* A flipped view at 2x with offset (10, 5): view x covers source 2 (32 - x) + 10. The box
     * [4, 20) x [8, 24) of the view is then source [34, 66) x [21, 53), flipped: one source
     * pixel per output pixel, from 34 on the right of the output to 66 on its left. */
    gcam_warp view = {2, 0, 10, 0, 2, 5, 1};
    gcam_warp box = {0.5f, 0, 4, 0, 0.5f, 8, 0};
    gcam_warp got = gcam_warp_compose(&view, &box, W);
    gcam_warp want = {1, 0, 34, 0, 1, 21, 1};
    CHECK(warps_close(&got, &want), "flipped view: got %g %g %g / %g %g %g flip %d", got.ax, got.bx,
          got.cx, got.ay, got.by, got.cy, got.flipped);
    /* not flipped: [4, 20) x [8, 24) of x -> 2x + 10 is [18, 50) x [21, 53) */
    view.flipped = 0;
    got = gcam_warp_compose(&view, &box, W);
    want = (gcam_warp){1, 0, 18, 0, 1, 21, 0};
    CHECK(warps_close(&got, &want), "plain view: got %g %g %g / %g %g %g flip %d", got.ax, got.bx,
          got.cx, got.ay, got.by, got.cy, got.flipped);
    /* any two warps, flipped or not and rotated: the composite sends every point where the
     * two in turn send it */
    gcam_warp outer = {1.7f, -0.3f, 12, 0.25f, 1.6f, -3, 1};
    for (int flips = 0; flips < 4; ++flips) {
        outer.flipped = flips & 1;
        gcam_warp inner = {0.6f, 0.1f, 5, -0.05f, 0.7f, 2, flips >> 1};
        got = gcam_warp_compose(&outer, &inner, W);
        double worst = 0;
        for (int p = 0; p < 16; ++p) {
            float u = (p % 4) * 9.5f + 0.5f, v = (p / 4) * 8.25f + 0.5f, vx, vy, sx, sy, tx, ty;
            warp_point(&inner, W, u, v, &vx, &vy);
            warp_point(&outer, W, vx, vy, &sx, &sy);
            warp_point(&got, W, u, v, &tx, &ty);
            worst = fmax(worst, fmax(fabs(sx - tx), fabs(sy - ty)));
        }
        CHECK(worst < 1e-4 && got.flipped == outer.flipped,
              "flips %d: the composite misses by %g px", flips, worst);
    }
}

/* Bilinear point sampling at each output centre, as training warps sampled before. */
static void point_sample(const gcam_warp *w, const gcam_image *src, float *out, int ow, int oh) {
    for (int y = 0; y < oh; ++y)
        for (int x = 0; x < ow; ++x) {
            float sx, sy;
            warp_point(w, ow, x + 0.5f, y + 0.5f, &sx, &sy);
            sx = fminf(fmaxf(sx - 0.5f, 0), src->w - 1),
            sy = fminf(fmaxf(sy - 0.5f, 0), src->h - 1);
            int x0 = (int)sx, y0 = (int)sy, x1 = x0 + (x0 + 1 < src->w),
                y1 = y0 + (y0 + 1 < src->h);
            float fx = sx - x0, fy = sy - y0;
            const float *p = src->data;
            out[y * ow + x] =
                (p[y0 * src->w + x0] * (1 - fx) + p[y0 * src->w + x1] * fx) * (1 - fy) +
                (p[y1 * src->w + x0] * (1 - fx) + p[y1 * src->w + x1] * fx) * fy;
        }
}

/* The two paths of a rotated warp, each turned by 1e-4 radians (0.01 source pixels at the
 * corners: no visible rotation) against the resize of the whole source (S x S, 1
 * channel): a 3x shrink runs the pulled-back triangle on the source itself, within 2e-3
 * of the resize (the turn moves taps by up to 0.01 px on a texture that changes by up to
 * 1 per pixel; measured 1.0e-3); a 6x shrink runs it on 3x3 block means, within 0.05
 * (the blocks' extra blur; measured 0.019). Point sampling misses both by more than 0.3. */
static void check_turned_paths(const gcam_image *src) {
    int shrinks[2] = {3, 6};
    float limits[2] = {2e-3f, 0.05f};
    for (int k = 0; k < 2; ++k) {
        int v = src->w / shrinks[k];
        gcam_image sized;
        gcam_image_resize(src, v, v, &sized);
        float a = 1e-4f, c = cosf(a), s = sinf(a), f = (float)src->w / v;
        gcam_warp turned = {f * c, -f * s, 0, f * s, f * c, 0, 0};
        turned.cx = src->w / 2.f - (turned.ax + turned.bx) * v / 2.f;
        turned.cy = src->h / 2.f - (turned.ay + turned.by) * v / 2.f;
        float *warped = malloc(sizeof(float) * v * v), *pointwise = malloc(sizeof(float) * v * v);
        gcam_warp_apply(&turned, src->data, 1, src->w, src->h, warped, v, v);
        point_sample(&turned, src, pointwise, v, v);
        double filtered = max_abs_diff(warped, sized.data, v * v);
        double sampled = max_abs_diff(pointwise, sized.data, v * v);
        CHECK(filtered < limits[k], "a %dx shrink turned by 1e-4 rad is %g from the resize",
              shrinks[k], filtered);
        CHECK(sampled > 0.3, "point sampling is %g from the resize at %dx: the test cannot fail",
              sampled, shrinks[k]);
        free(warped);
        free(pointwise);
        gcam_image_free(&sized);
    }
}

/* The identity warp of a source 4x the input (the view a training warp with no zoom and no
 * offset gives) equals the validation resize: to 1e-5, the rounding of a 2-D sum against a
 * separable one. Point sampling reads one pixel in 16 and misses by far more. A rotated
 * warp that shrinks 3x turns a one-pixel checkerboard into grey, where point sampling
 * gives moire. */
static void check_antialiasing(void) {
    enum { S = 256, V = 64 };
    gcam_image src = random_image(S, S, 1, 7);
    for (int i = 0; i < S * S; ++i) src.data[i] = 0.5f * src.data[i] + 0.5f * ((i / S + i) & 1);
    gcam_image sized;
    gcam_image_resize(&src, V, V, &sized);
    float warped[V * V], pointwise[V * V];
    gcam_warp identity = {4, 0, 0, 0, 4, 0, 0};
    gcam_warp_apply(&identity, src.data, 1, S, S, warped, V, V);
    point_sample(&identity, &src, pointwise, V, V);
    double filtered = max_abs_diff(warped, sized.data, V * V);
    double sampled = max_abs_diff(pointwise, sized.data, V * V);
    CHECK(filtered < 1e-5, "a 4x-shrinking identity warp differs from the resize by %g", filtered);
    CHECK(sampled > 1e-5, "point sampling passes the same test (%g): it cannot fail", sampled);
    /* flipped: the mirrored resize */
    gcam_warp flipped = identity;
    flipped.flipped = 1;
    gcam_warp_apply(&flipped, src.data, 1, S, S, warped, V, V);
    double worst = 0;
    for (int y = 0; y < V; ++y)
        for (int x = 0; x < V; ++x)
            worst = fmax(worst, fabs(warped[y * V + x] - sized.data[y * V + V - 1 - x]));
    CHECK(worst < 1e-5, "the flipped warp is not the mirrored resize: %g", worst);
    gcam_image_free(&sized);
    check_turned_paths(&src);
    for (int i = 0; i < S * S; ++i) src.data[i] = (float)((i / S + i) & 1);
    float angle = 7 * 3.14159265f / 180, c = cosf(angle), s = sinf(angle);
    gcam_warp rotated = {3 * c, -3 * s, 30, 3 * s, 3 * c, 20, 0};
    gcam_warp_apply(&rotated, src.data, 1, S, S, warped, V, V);
    point_sample(&rotated, &src, pointwise, V, V);
    double filtered_range = 0, sampled_range = 0;
    for (int y = 4; y < V - 4; ++y)
        for (int x = 4; x < V - 4; ++x) {
            filtered_range = fmax(filtered_range, fabs(warped[y * V + x] - 0.5));
            sampled_range = fmax(sampled_range, fabs(pointwise[y * V + x] - 0.5));
        }
    CHECK(filtered_range < 0.08, "a rotated 3x shrink leaves %g of the checkerboard",
          filtered_range);
    CHECK(sampled_range > 0.3, "point sampling left only %g: the test cannot fail", sampled_range);
    /* the same at 8x, through 4x4 block means */
    gcam_warp far = {8 * c, -8 * s, 0, 8 * s, 8 * c, 0, 0};
    enum { F = 24 };
    float far_warped[F * F], far_pointwise[F * F];
    gcam_warp_apply(&far, src.data, 1, S, S, far_warped, F, F);
    point_sample(&far, &src, far_pointwise, F, F);
    filtered_range = sampled_range = 0;
    for (int y = 2; y < F - 2; ++y)
        for (int x = 2; x < F - 2; ++x) {
            filtered_range = fmax(filtered_range, fabs(far_warped[y * F + x] - 0.5));
            sampled_range = fmax(sampled_range, fabs(far_pointwise[y * F + x] - 0.5));
        }
    CHECK(filtered_range < 0.08, "a rotated 8x shrink leaves %g of the checkerboard",
          filtered_range);
    CHECK(sampled_range > 0.3, "point sampling left only %g at 8x: the test cannot fail",
          sampled_range);
    /* a warp that does not shrink samples bilinearly, as before */
    gcam_warp zoom = {0.5f, 0, 10, 0, 0.75f, 20, 1};
    gcam_warp_apply(&zoom, src.data, 1, S, S, warped, V, V);
    point_sample(&zoom, &src, pointwise, V, V);
    worst = max_abs_diff(warped, pointwise, V * V);
    CHECK(worst < 1e-6, "an enlarging warp is no longer bilinear: %g", worst);
    gcam_image_free(&src);
}

/* gcam_tta_logits with sources 3x the input: the oracle's crop is cut from the source at
 * the box scaled by 3, made here with the 2-D reference filter; with crop_source=view the
 * sources are ignored, bit for bit. */
static void check_tta_from_source(void) {
    gcam_net *net = load_small_resnet(2);
    CHECK(net != NULL, "the small ResNet fixture loads");
    if (!net) return;
    gcam_error err;
    enum { S = 32, F = 3 * S * S, C = 10 };
    gcam_image sources[2] = {random_image(3 * S, 3 * S, 3, 21), random_image(3 * S, 3 * S, 3, 22)};
    float images[2 * F];
    for (int i = 0; i < 2; ++i) {
        gcam_image sized;
        gcam_image_resize(&sources[i], S, S, &sized);
        memcpy(images + F * i, sized.data, sizeof(float) * F);
        gcam_image_free(&sized);
    }
    gcam_settings s;
    gcam_settings_default(&s);
    gcam_tta_mode modes[3] = {GCAM_TTA_NONE, GCAM_TTA_ORACLE, GCAM_TTA_CROP};
    float boxes[2][4] = {{4, 6, 20, 18}, {10, 2, 26, 30}};
    float logits[3 * 2 * C], view_logits[3 * 2 * C], plain_logits[3 * 2 * C];
    CHECK(gcam_tta_logits(net, &s.tta, &s.saliency, modes, 3, images, sources, 2,
                          (const float(*)[4])boxes, NULL, logits, NULL, &err) == 0,
          "%s", err.message);
    float whole[2 * C];
    gcam_net_predict(net, images, 2);
    memcpy(whole, gcam_net_last_logits(net), sizeof whole);
    for (int i = 0; i < 2; ++i) {
        float box[4];
        memcpy(box, boxes[i], sizeof box);
        gcam_tta_fit_box(box, s.tta.margin, S, S);
        float source_box[4] = {box[0] * 3, box[1] * 3, box[2] * 3, box[3] * 3}, crop[F];
        reference_crop(&sources[i], source_box, S, S, crop);
        gcam_net_predict(net, crop, 1);
        float want[C];
        for (int k = 0; k < C; ++k) want[k] = (whole[C * i + k] + gcam_net_last_logits(net)[k]) / 2;
        double worst = max_abs_diff(logits + 2 * C + C * i, want, C);
        CHECK(worst < 1e-4, "image %d: the oracle's source crop differs from one by hand by %g", i,
              worst);
    }
    s.tta.crop_source = GCAM_CROP_FROM_VIEW;
    CHECK(gcam_tta_logits(net, &s.tta, &s.saliency, modes, 3, images, sources, 2,
                          (const float(*)[4])boxes, NULL, view_logits, NULL, &err) == 0,
          "%s", err.message);
    CHECK(gcam_tta_logits(net, &s.tta, &s.saliency, modes, 3, images, NULL, 2,
                          (const float(*)[4])boxes, NULL, plain_logits, NULL, &err) == 0,
          "%s", err.message);
    CHECK(!memcmp(view_logits, plain_logits, sizeof view_logits),
          "crop_source=view with sources differs from no sources");
    CHECK(max_abs_diff(view_logits + 2 * C, logits + 2 * C, 2 * C) > 1e-4,
          "the source crops gave the view crops' logits: the test cannot tell them apart");
    gcam_image_free(&sources[0]);
    gcam_image_free(&sources[1]);
    gcam_net_free(net);
}

/* A dark w x h image with a few bright noisy squares of different sizes: something for a
 * map to point at. */
static gcam_image blob_image(int w, int h, int c, uint64_t seed) {
    gcam_image im = {w, h, c, calloc((size_t)w * h * c, sizeof(float))};
    gcam_rng rng = gcam_rng_init(seed, 2);
    for (int b = 0; b < 3; ++b) {
        int side = w / 8 + (int)(gcam_rng_next(&rng) % (uint32_t)(w / 4));
        int x0 = (int)(gcam_rng_next(&rng) % (uint32_t)(w - side));
        int y0 = (int)(gcam_rng_next(&rng) % (uint32_t)(h - side));
        for (int k = 0; k < c; ++k)
            for (int y = y0; y < y0 + side; ++y)
                for (int x = x0; x < x0 + side; ++x)
                    im.data[((size_t)k * h + y) * w + x] = gcam_rng_range(&rng, 0.3f, 1);
    }
    return im;
}

/* One image's step of a focus by hand: the Grad-CAM map of `image` (S x S) at `cls`, its
 * box fitted as the crop mode fits it, mapped into the whole image through `outer` (the
 * box the image was cut from; NULL: the image is the whole image). */
static void hand_box(gcam_net *net, const gcam_settings *s, const float *image, int cls,
                     const float *outer, int S, float box[4]) {
    gcam_saliency_options so = s->saliency;
    so.method = s->tta.method;
    gcam_error err;
    float *map = malloc(sizeof(float) * (size_t)S * S);
    CHECK(gcam_saliency(net, image, 1, &cls, &so, map, NULL, NULL, &err) == 0, "%s", err.message);
    gcam_map_box(map, S, S, s->tta.threshold, s->tta.region, box);
    gcam_tta_fit_box(box, s->tta.margin, S, S);
    if (outer) { /* written out here apart from the library's composition */
        float kx = (outer[2] - outer[0]) / S, ky = (outer[3] - outer[1]) / S;
        float inner[4] = {box[0], box[1], box[2], box[3]};
        box[0] = outer[0] + kx * inner[0], box[2] = outer[0] + kx * inner[2];
        box[1] = outer[1] + ky * inner[1], box[3] = outer[1] + ky * inner[3];
    }
    free(map);
}

/* tta_steps=2 from sources 3x the input: the second crop sits where the first crop's own
 * map points, at the class the whole image and the first crop predict together, and is
 * cut from the source; the logits average the whole image's and both crops'; the box the
 * call reports is the second one. Worked out here step by step with the 2-D reference
 * filter. */
static void check_tta_steps(void) {
    gcam_net *net = load_small_resnet(2);
    CHECK(net != NULL, "the small ResNet fixture loads");
    if (!net) return;
    gcam_error err;
    enum { S = 32, F = 3 * S * S, C = 10 };
    gcam_image sources[2] = {blob_image(3 * S, 3 * S, 3, 31), blob_image(3 * S, 3 * S, 3, 32)};
    float images[2 * F];
    for (int i = 0; i < 2; ++i) {
        gcam_image sized;
        gcam_image_resize(&sources[i], S, S, &sized);
        memcpy(images + F * i, sized.data, sizeof(float) * F);
        gcam_image_free(&sized);
    }
    gcam_settings s;
    gcam_settings_default(&s);
    s.tta.steps = 2;
    s.tta.threshold = 0.6f; /* a box smaller than the image, so that the second step moves */
    gcam_tta_mode modes[2] = {GCAM_TTA_CROP, GCAM_TTA_NONE};
    float logits[2 * 2 * C], reported[2][4];
    gcam_tta_report report = {.crop_boxes = reported};
    CHECK(gcam_tta_logits(net, &s.tta, &s.saliency, modes, 2, images, sources, 2, NULL, NULL,
                          logits, &report, &err) == 0,
          "%s", err.message);
    float whole[2 * C];
    gcam_net_predict(net, images, 2);
    memcpy(whole, gcam_net_last_logits(net), sizeof whole);
    int moved = 0;
    for (int i = 0; i < 2; ++i) {
        float first[4], second[4], crop[F], sum[C], z1[C];
        hand_box(net, &s, images + F * i, argmax(whole + C * i, C), NULL, S, first);
        float source_box[4] = {first[0] * 3, first[1] * 3, first[2] * 3, first[3] * 3};
        reference_crop(&sources[i], source_box, S, S, crop);
        gcam_net_predict(net, crop, 1);
        memcpy(z1, gcam_net_last_logits(net), sizeof z1);
        for (int k = 0; k < C; ++k) sum[k] = whole[C * i + k] + z1[k];
        hand_box(net, &s, crop, argmax(sum, C), first, S, second);
        float second_source[4] = {second[0] * 3, second[1] * 3, second[2] * 3, second[3] * 3};
        reference_crop(&sources[i], second_source, S, S, crop);
        gcam_net_predict(net, crop, 1);
        float want[C];
        for (int k = 0; k < C; ++k) want[k] = (sum[k] + gcam_net_last_logits(net)[k]) / 3;
        double worst = max_abs_diff(logits + C * i, want, C);
        CHECK(worst < 1e-4, "image %d: two steps differ from two steps by hand by %g", i, worst);
        double box_error = max_abs_diff(reported[i], second, 4);
        CHECK(box_error < 1e-3, "image %d: reported box %g %g %g %g, by hand %g %g %g %g", i,
              reported[i][0], reported[i][1], reported[i][2], reported[i][3], second[0], second[1],
              second[2], second[3]);
        moved |= max_abs_diff(first, second, 4) > 0.5;
    }
    CHECK(moved, "the second step kept the first box on both images: the test cannot fail");
    CHECK(max_abs_diff(logits + 2 * C, whole, 2 * C) < 1e-6, "none differs from the plain logits");
    /* one step is the crop mode as it was: (whole + crop) / 2 */
    s.tta.steps = 1;
    float one[2 * C];
    CHECK(gcam_tta_logits(net, &s.tta, &s.saliency, modes, 1, images, sources, 2, NULL, NULL, one,
                          NULL, &err) == 0,
          "%s", err.message);
    for (int i = 0; i < 2; ++i) {
        float first[4], crop[F], want[C];
        hand_box(net, &s, images + F * i, argmax(whole + C * i, C), NULL, S, first);
        float source_box[4] = {first[0] * 3, first[1] * 3, first[2] * 3, first[3] * 3};
        reference_crop(&sources[i], source_box, S, S, crop);
        gcam_net_predict(net, crop, 1);
        for (int k = 0; k < C; ++k) want[k] = (whole[C * i + k] + gcam_net_last_logits(net)[k]) / 2;
        CHECK(max_abs_diff(one + C * i, want, C) < 1e-4, "image %d: one step differs by hand", i);
    }
    gcam_image_free(&sources[0]);
    gcam_image_free(&sources[1]);
    gcam_net_free(net);
}

/* Each mode's multiply-adds per image against a count by hand on a net small enough to
 * count: a 3x3 convolution 3 -> 4 channels at 8x8 (8*8*4*3*9 = 6,912), a 1x1 one 4 -> 2
 * (8*8*2*4 = 512: the map's target, the last spatial layer), global average pooling, and
 * a connected layer 2 -> 5 (10): a forward F = 7,434, a map's backward B = 10 (the
 * connected layer above the target). */
static void check_tta_costs(void) {
    gcam_net *net =
        load_cfg_text("[net]\nbatch=2\nheight=8\nwidth=8\nchannels=3\n"
                      "[convolutional]\nfilters=4\nsize=3\nstride=1\npad=1\nactivation=relu\n"
                      "[convolutional]\nfilters=2\nsize=1\nstride=1\npad=0\nactivation=relu\n"
                      "[avgpool]\n[connected]\noutput=5\nactivation=linear\n[softmax]\n",
                      gcam_kernels_from_env(), 2);
    CHECK(net != NULL, "the counting net loads");
    if (!net) return;
    gcam_error err;
    gcam_net_init_weights(net, 5);
    float images[2 * 3 * 8 * 8];
    gcam_rng rng = gcam_rng_init(5, 5);
    fill_uniform(&rng, images, sizeof images / sizeof *images, 0, 1);
    gcam_settings s;
    gcam_settings_default(&s);
    gcam_tta_mode modes[4] = {GCAM_TTA_NONE, GCAM_TTA_CROP, GCAM_TTA_CENTER, GCAM_TTA_ORACLE};
    float logits[4 * 2 * 5];
    const double F = 7434, B = 10;
    for (int steps = 1; steps <= 2; ++steps) {
        s.tta.steps = steps;
        gcam_tta_report report = {0};
        CHECK(gcam_tta_logits(net, &s.tta, &s.saliency, modes, 4, images, NULL, 2, NULL, NULL,
                              logits, &report, &err) == 0,
              "%s", err.message);
        /* crop: the whole image, then per step a map and a crop; center: the crop mode's
         * boxes (its maps and all but its last crop), then crops of their sizes; oracle:
         * one crop */
        double want[4] = {F, F + steps * (B + F), F + steps * B + (2 * steps - 1) * F, 2 * F};
        for (int m = 0; m < 4; ++m)
            CHECK(report.multiply_adds[modes[m]] == want[m],
                  "%d steps, %s: %g multiply-adds, by hand %g", steps, gcam_tta_mode_name(modes[m]),
                  report.multiply_adds[modes[m]], want[m]);
        CHECK(report.seconds[GCAM_TTA_CROP] > report.seconds[GCAM_TTA_NONE] &&
                  report.seconds[GCAM_TTA_NONE] > 0,
              "%d steps: seconds none %g, crop %g", steps, report.seconds[GCAM_TTA_NONE],
              report.seconds[GCAM_TTA_CROP]);
    }
    s.tta.method = GCAM_METHOD_GROUPCAM;
    gcam_tta_report report = {0};
    CHECK(gcam_tta_logits(net, &s.tta, &s.saliency, modes, 2, images, NULL, 2, NULL, NULL, logits,
                          &report, &err) == 0,
          "%s", err.message);
    CHECK(isnan(report.multiply_adds[GCAM_TTA_CROP]) && report.multiply_adds[GCAM_TTA_NONE] == F,
          "Group-CAM's crop is not counted: %g", report.multiply_adds[GCAM_TTA_CROP]);
    gcam_net_free(net);
}

/* A JPEG photograph of w x h (quality 95, 4:2:0 chroma) at path: gradients, a ripple of a 24-pixel
 * period and a little noise, so that every reduction has structure to keep. */
static void write_photo_jpeg(const char *path, int w, int h, uint64_t seed) {
    unsigned char *px = malloc((size_t)w * h * 3); /* (h, w, 3) */
    gcam_rng rng = gcam_rng_init(seed, 7);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            for (int k = 0; k < 3; ++k) {
                float v = 0.2f + 0.5f * x / w * (k + 1) / 3 + 0.2f * y / h +
                          0.1f * sinf(6.2832f * (x + 2 * y) / 24.f) +
                          0.02f * (gcam_rng_next(&rng) % 100) / 100.f;
                px[((size_t)y * w + x) * 3 + k] = (unsigned char)(255 * (v > 1 ? 1 : v));
            }
    /* libjpeg-turbo's encoder: stb's shifts negative values, which the sanitizers stop */
    tjhandle tj = tjInitCompress();
    unsigned char *jpeg = NULL;
    unsigned long size = 0;
    CHECK(tj && !tjCompress2(tj, px, w, 0, h, TJPF_RGB, &jpeg, &size, TJSAMP_420, 95, 0),
          "encode %s", path);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(jpeg, 1, size, f) == size, "write %s", path);
    if (f) fclose(f);
    tjFree(jpeg);
    tjDestroy(tj);
    free(px);
}

/* Mean of full's r x r blocks (those cut by the edge over their own pixels), shifted by
 * `shift` reduced pixels to the right (a control that must not match). */
static float block_mean(const gcam_image *full, int r, int k, int x, int y, int shift) {
    double sum = 0;
    int n = 0;
    for (int yy = y * r; yy < (y + 1) * r && yy < full->h; ++yy)
        for (int xx = (x + shift) * r; xx < (x + shift + 1) * r && xx < full->w; ++xx)
            sum += full->data[((size_t)k * full->h + yy) * full->w + xx], ++n;
    return n ? (float)(sum / n) : 0;
}

/* The reduced decode is the full image averaged over blocks of its reduction, within
 * the inverse DCT's rounding (measured: mean 0.0011 to 0.0016, max 0.009, on a scale of
 * 0 to 1); the same blocks one reduced pixel to the side are 0.03 to 0.05 away. PNGs and reduction
 * 1 decode whole. */
static void check_reduced_jpeg(void) {
    char dir[] = "/tmp/gcam-jpeg-XXXXXX", path[64];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/photo.jpg", dir);
    write_photo_jpeg(path, 203, 150, 1);
    gcam_error err;
    gcam_encoded_image enc;
    gcam_image full;
    CHECK(gcam_encoded_image_read(&enc, path, &err) == 0, "%s", err.message);
    CHECK(enc.jpeg && enc.w == 203 && enc.h == 150, "header %d x %d, jpeg %d", enc.w, enc.h,
          enc.jpeg);
    CHECK(gcam_image_load(&full, path, 3, &err) == 0, "%s", err.message);
    for (int r = 1; r <= 8; r *= 2) {
        gcam_image reduced;
        CHECK(gcam_encoded_image_decode(&enc, 3, r, &reduced, &err) == 0, "%s", err.message);
        CHECK(reduced.w == (203 + r - 1) / r && reduced.h == (150 + r - 1) / r,
              "reduction %d: %d x %d", r, reduced.w, reduced.h);
        if (r == 1)
            CHECK(!memcmp(reduced.data, full.data, sizeof(float) * 203 * 150 * 3),
                  "reduction 1 is not gcam_image_load's image");
        double err_sum = 0, err_max = 0, shifted_sum = 0;
        int n = 0;
        for (int k = 0; k < 3; ++k)
            for (int y = 0; y < 150 / r; ++y) /* whole blocks */
                for (int x = 0; x + 1 < 203 / r; ++x) {
                    float v = reduced.data[((size_t)k * reduced.h + y) * reduced.w + x];
                    double d = fabs(v - block_mean(&full, r, k, x, y, 0));
                    err_sum += d, err_max = d > err_max ? d : err_max, ++n;
                    shifted_sum += fabs(v - block_mean(&full, r, k, x, y, 1));
                }
        printf("  JPEG reduced by %d against block means: mean %.4f, max %.4f (a block to the "
               "side: mean %.4f)\n",
               r, err_sum / n, err_max, shifted_sum / n);
        CHECK(err_sum / n < 0.004 && err_max < 0.02, "reduction %d: mean %g max %g", r, err_sum / n,
              err_max);
        if (r > 1)
            CHECK(shifted_sum / n > 3 * (err_sum / n) && shifted_sum / n > 0.01,
                  "reduction %d: the shifted blocks match as well (%g)", r, shifted_sum / n);
        gcam_image_free(&reduced);
    }
    gcam_image_free(&full);
    gcam_encoded_image_free(&enc);
    unlink(path);
    rmdir(dir);
}

/* A training batch from 640x480 JPEGs at 64x64 (each view shrinks about 7x, so its
 * source is decoded reduced by 4): each view against its warp and colour applied to the
 * full decode (within the reduced decode's error: 0.0044 measured, at most 0.01); with
 * the sources kept, exactly that, and the sources whole; a JPEG without a readable
 * header skipped. */
static void check_loader_reduced(void) {
    char dir[] = "/tmp/gcam-jpeg-XXXXXX", list[64], path[64];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(list, sizeof list, "%s/train.list", dir);
    FILE *f = fopen(list, "w");
    enum { N = 4 };
    for (int i = 0; i < N; ++i) {
        snprintf(path, sizeof path, "%s/%d_%s.jpg", dir, i, i % 2 ? "odd" : "even");
        write_photo_jpeg(path, 640, 480, 10 + i);
        fprintf(f, "%s\n", path);
    }
    fclose(f);
    gcam_dataset ds;
    gcam_error err;
    char *labels[2] = {"even", "odd"};
    CHECK(gcam_dataset_load(&ds, list, labels, 2, 2, &err) == 0, "%s", err.message);
    gcam_loader_config lc = {0};
    lc.data = &ds;
    lc.batch = N;
    lc.train = 1;
    lc.seed = 3;
    lc.threads = 2;
    lc.augment = (gcam_augment_config){64, 64, 3, 64, 80, 1.2f, 5, 0.1f, 1.5f, 1.5f, 1};
    enum { FLOATS = 64 * 64 * 3 };
    float *expected = malloc(sizeof(float) * FLOATS);
    for (int keep = 0; keep <= 1; ++keep) {
        lc.keep_sources = keep;
        gcam_loader *loader;
        CHECK(gcam_loader_init(&loader, &lc, &err) == 0, "%s", err.message);
        const gcam_batch *b = gcam_loader_get(loader, 0, &err);
        CHECK(b != NULL, "%s", err.message);
        double worst = 0;
        for (int k = 0; b && k < b->n; ++k) {
            gcam_image full;
            CHECK(gcam_image_load(&full, ds.paths[b->sample_ids[k]], 3, &err) == 0, "%s",
                  err.message);
            CHECK(b->src_w[k] == 640 && b->src_h[k] == 480, "source size %d x %d", b->src_w[k],
                  b->src_h[k]);
            CHECK(gcam_warp_least_step(&b->warps[k]) >= 4, "a view shrinks only %gx",
                  gcam_warp_least_step(&b->warps[k]));
            gcam_warp_apply(&b->warps[k], full.data, 3, 640, 480, expected, 64, 64);
            gcam_augment_apply_color(&b->colors[k], expected, 3, 64, 64);
            const float *x = b->x + (size_t)k * FLOATS;
            double sum = 0;
            for (int i = 0; i < FLOATS; ++i) sum += fabs(x[i] - expected[i]);
            worst = sum / FLOATS > worst ? sum / FLOATS : worst;
            if (keep) {
                CHECK(!memcmp(x, expected, sizeof(float) * FLOATS),
                      "with the sources kept the view is not the full source's");
                CHECK(b->sources[k].w == 640 && b->sources[k].h == 480 &&
                          !memcmp(b->sources[k].data, full.data, sizeof(float) * 640 * 480 * 3),
                      "the kept source is not the full decode");
            }
            gcam_image_free(&full);
        }
        if (!keep) {
            printf("  training views from reduced JPEG decodes against the full source: "
                   "worst mean error %.4f\n",
                   worst);
            CHECK(worst > 0 && worst < 0.01, "views from reduced decodes: mean error %g", worst);
        }
        gcam_loader_free(loader);
    }
    free(expected);

    /* a file that starts as a JPEG but has no readable header is skipped and counted, its
     * slot taken by the next image */
    snprintf(path, sizeof path, "%s/9_odd.jpg", dir);
    f = fopen(path, "wb");
    const unsigned char broken[16] = {0xff, 0xd8, 0xff, 0xe0};
    fwrite(broken, 1, sizeof broken, f);
    fclose(f);
    f = fopen(list, "w");
    fprintf(f, "%s\n%s\n", path, ds.paths[0]);
    fclose(f);
    gcam_dataset two;
    CHECK(gcam_dataset_load(&two, list, labels, 2, 2, &err) == 0, "%s", err.message);
    lc.data = &two;
    lc.batch = 2;
    lc.keep_sources = 0;
    gcam_loader *loader;
    CHECK(gcam_loader_init(&loader, &lc, &err) == 0, "%s", err.message);
    const gcam_batch *b = gcam_loader_get(loader, 0, &err);
    CHECK(b && b->sample_ids[0] == 1 && b->sample_ids[1] == 1,
          "the broken JPEG was not replaced by the next image");
    CHECK(gcam_loader_bad_images(loader) == 1, "%d bad images counted, not 1",
          gcam_loader_bad_images(loader));
    gcam_loader_free(loader);
    gcam_dataset_free(&two);
    unlink(path);

    for (int i = 0; i < ds.n; ++i) unlink(ds.paths[i]);
    gcam_dataset_free(&ds);
    unlink(list);
    rmdir(dir);
}

int main(void) {
    check_resample_box();
    check_detail_from_source();
    check_compose();
    check_antialiasing();
    check_tta_from_source();
    check_tta_steps();
    check_tta_costs();
    check_reduced_jpeg();
    check_loader_reduced();
    return check_summary("test_crop_source");
}
