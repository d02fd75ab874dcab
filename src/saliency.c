/* The six saliency methods (see gcam/saliency.h).
 *
 * One batched forward and one batched inference-mode backward give every image's
 * target-layer activations A and gradients g = d logit_c / dA. Grad-CAM is then
 * ReLU(sum_k mean(g_k) A_k); Grad-CAM++ weights the channels by higher-order gradient
 * terms; Integrated Grad-CAM sums Grad-CAM along the path from a black image. Group-CAM
 * splits the weighted maps into G contiguous channel groups, de-noises and normalises
 * each, blends the image with its blurred copy through each group map, and scores the
 * blends; Score-CAM scores the image masked by each channel, RISE by random masks. Every
 * perturbed input of a call runs in packed batched forwards of the network's capacity. */
#include "saliency.h"

#include "error.h"
#include "image_ops.h"
#include "network.h"
#include "rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

gcam_saliency_options gcam_saliency_options_default(void) {
    gcam_settings s;
    gcam_settings_default(&s);
    return s.saliency;
}

static int spatial(const layer *l) {
    return l->out_h * l->out_w;
}

int gcam_saliency_layer(const gcam_net *net, const gcam_saliency_options *o, gcam_error *err) {
    const network *dn = net->dn;
    int layer_index = o->layer;
    if (layer_index == GCAM_LAYER_AUTO) {
        /* The last layer with a spatial map, before the first global pooling. */
        int pool = dn->n;
        for (int i = 0; i < dn->n; ++i)
            if (dn->layers[i].type == AVGPOOL || spatial(&dn->layers[i]) == 1) {
                pool = i;
                break;
            }
        for (layer_index = pool - 1; layer_index >= 0 && spatial(&dn->layers[layer_index]) <= 1;
             --layer_index) {
        }
        if (layer_index < 0) return gcam_fail(err, "no layer with a spatial map before pooling");
        return layer_index;
    }
    if (layer_index < 0) layer_index += dn->n;
    if (layer_index < 0 || layer_index >= net->logits_layer)
        return gcam_fail(err,
                         "layer %d: expected a layer below the logits (0 to %d, or "
                         "negative from the end)",
                         o->layer, net->logits_layer - 1);
    if (spatial(&dn->layers[layer_index]) < 1 || dn->layers[layer_index].out_c < 1)
        return gcam_fail(err, "layer %d has no spatial output", layer_index);
    return layer_index;
}

/* ---- building blocks ---- */

/* ---- the methods ---- */

/* Everything the methods share for one call. */
typedef struct cam {
    gcam_net *net;
    const gcam_saliency_options *o;
    int layer;                          /* target layer */
    int K, u, v, uv;                    /* its channels and spatial size */
    int H, W, C;                        /* network input */
    size_t hw, image_floats, per_image; /* per_image: target-layer outputs of one image */
    float *batch;                       /* (capacity, C, H, W) scratch inputs */
    int forward_done; /* the net's last forward was of this call's images: reuse it */
} cam;

/* Input number `index` of a family of perturbed inputs, written to dst (C, H, W). */
typedef void (*make_input_fn)(const cam *cx, void *arg, int index, float *dst);

/* p_class of `count` generated inputs, in forwards of the network's capacity. */
static void score_inputs(const cam *cx, make_input_fn make, void *arg, int count,
                         const int *input_class, float *scores) {
    int cap = cx->net->capacity;
    for (int start = 0; start < count; start += cap) {
        int m = count - start < cap ? count - start : cap;
        for (int j = 0; j < m; ++j)
            make(cx, arg, start + j, cx->batch + (size_t)j * cx->image_floats);
        const float *out = gcam_net_scores(cx->net, cx->batch, m);
        for (int j = 0; j < m; ++j)
            scores[start + j] = gcam_class_probability(cx->net, out, j, input_class[start + j]);
    }
}

/* Target-layer activations A and gradients g = d logit_c / dA, (n, K, u, v) each, of n
 * images (n <= capacity) at classes cls; with `reuse`, of the net's last forward, which was
 * of these images. */
static void activations_and_gradients(const cam *cx, const float *images, int n, const int *cls,
                                      float *A, float *g, int reuse) {
    gcam_net *net = cx->net;
    if (!reuse) gcam_net_predict_keeping(net, images, n, cx->layer);
    memcpy(A, net->dn->layers[cx->layer].output, sizeof(float) * cx->per_image * n);
    const layer *logits = &net->dn->layers[net->logits_layer];
    float *seed = gcam_xcalloc((size_t)logits->outputs * n, sizeof(float));
    for (int i = 0; i < n; ++i) seed[(size_t)i * logits->outputs + cls[i]] = 1;
    memcpy(g, gcam_net_backward_from(net, net->logits_layer, seed, cx->layer),
           sizeof(float) * cx->per_image * n);
    free(seed);
}

/* small (u, v) = sum_k w_k A_k, for one image's A (K, u, v). */
static void weighted_sum(const cam *cx, const float *A, const float *w, float *small) {
    for (int p = 0; p < cx->uv; ++p) small[p] = 0;
    for (int k = 0; k < cx->K; ++k)
        for (int p = 0; p < cx->uv; ++p) small[p] += w[k] * A[(size_t)k * cx->uv + p];
}

/* map (H, W) = gcam_normalise(upsample(ReLU(small))); small is rectified in place. Returns 0
 * if the map is constant (it is then all zero). */
static int finish(const cam *cx, float *small, float *map) {
    for (int p = 0; p < cx->uv; ++p) small[p] = small[p] > 0 ? small[p] : 0;
    gcam_upsample(small, cx->u, cx->v, map, cx->H, cx->W);
    return gcam_normalise(map, cx->hw);
}

static void gradcam_weights(const cam *cx, const float *g, float *w) {
    for (int k = 0; k < cx->K; ++k) {
        double mean = 0;
        for (int p = 0; p < cx->uv; ++p) mean += g[(size_t)k * cx->uv + p];
        w[k] = (float)(mean / cx->uv);
    }
}

/* Grad-CAM++ weights: alpha = g^2 / (2 g^2 + g^3 sum(A_k)), w_k = sum alpha ReLU(g). */
static void gradcampp_weights(const cam *cx, const float *A, const float *g, float *w) {
    for (int k = 0; k < cx->K; ++k) {
        const float *a = A + (size_t)k * cx->uv, *gk = g + (size_t)k * cx->uv;
        double sum_a = 0, wk = 0;
        for (int p = 0; p < cx->uv; ++p) sum_a += a[p];
        for (int p = 0; p < cx->uv; ++p) {
            double g2 = (double)gk[p] * gk[p], denom = 2 * g2 + g2 * gk[p] * sum_a;
            double alpha = denom != 0 ? g2 / denom : 0;
            wk += alpha * (gk[p] > 0 ? gk[p] : 0);
        }
        w[k] = (float)wk;
    }
}

/* Integrated Grad-CAM: the sum over steps t = 0..m-1 of the Grad-CAM maps (before
 * upsampling) of x_t = (t / m) x, the path from a black baseline. */
static int igcam(const cam *cx, const float *images, int n, const int *cls, const float *A_in,
                 const float *g_in, float *maps, int *constant, gcam_error *err) {
    int m = cx->o->ig_steps, cap = cx->net->capacity;
    float *A = gcam_xmalloc(sizeof(float) * cx->per_image * cap);
    float *g = gcam_xmalloc(sizeof(float) * cx->per_image * cap);
    float *w = gcam_xmalloc(sizeof(float) * cx->K), *small = gcam_xmalloc(sizeof(float) * cx->uv);
    float *total = gcam_xmalloc(sizeof(float) * cx->uv);
    float *steps = gcam_xmalloc(sizeof(float) * cx->image_floats * cap);
    int *step_cls = gcam_xmalloc(sizeof(int) * cap);
    for (int i = 0; i < n; ++i) {
        const float *x = images + i * cx->image_floats;
        memset(total, 0, sizeof(float) * cx->uv);
        for (int start = 0; start < m; start += cap) {
            int count = m - start < cap ? m - start : cap;
            for (int j = 0; j < count; ++j) {
                float a = (float)(start + j) / m;
                for (size_t q = 0; q < cx->image_floats; ++q)
                    steps[j * cx->image_floats + q] = a * x[q];
                step_cls[j] = cls[i];
            }
            activations_and_gradients(cx, steps, count, step_cls, A, g, 0);
            for (int j = 0; j < count; ++j) {
                gradcam_weights(cx, g + j * cx->per_image, w);
                weighted_sum(cx, A + j * cx->per_image, w, small);
                for (int p = 0; p < cx->uv; ++p) total[p] += small[p] > 0 ? small[p] : 0;
            }
        }
        int varies = finish(cx, total, maps + i * cx->hw);
        if (constant) constant[i] = !varies;
    }
    free(A);
    free(g);
    free(w);
    free(small);
    free(total);
    free(steps);
    free(step_cls);
    return 0;
}

/* ---- Group-CAM ---- */

typedef struct blend {
    int image; /* which image */
    int group; /* -1: the blurred baseline */
} blend;

typedef struct groupcam_inputs {
    const float *images, *blurred, *masks; /* masks: (n, G, H, W) */
    const blend *blends;
    int groups;
} groupcam_inputs;

static void make_blend(const cam *cx, void *arg, int index, float *dst) {
    const groupcam_inputs *in = arg;
    const blend *b = &in->blends[index];
    const float *x = in->images + (size_t)b->image * cx->image_floats;
    const float *base = in->blurred + (size_t)b->image * cx->image_floats;
    if (b->group < 0) {
        memcpy(dst, base, sizeof(float) * cx->image_floats);
        return;
    }
    const float *m = in->masks + ((size_t)b->image * in->groups + b->group) * cx->hw;
    for (int k = 0; k < cx->C; ++k)
        for (size_t p = 0; p < cx->hw; ++p)
            dst[k * cx->hw + p] =
                base[k * cx->hw + p] + m[p] * (x[k * cx->hw + p] - base[k * cx->hw + p]);
}

static int groupcam(const cam *cx, const float *images, int n, const int *cls, const float *A,
                    const float *g, float *maps, int *constant, gcam_error *err) {
    const gcam_saliency_options *o = cx->o;
    int K = cx->K, uv = cx->uv, G = o->groups;
    if (G > K) G = K;
    int size;
    float sigma;
    gcam_blur_parameters(cx->H, cx->W, &size, &sigma);
    if (o->blur_size > 0) size = o->blur_size;
    if (o->blur_sigma > 0) sigma = o->blur_sigma;
    float *blurred =
        gcam_try_malloc(sizeof(float) * cx->image_floats * n, "Group-CAM's blurred images", err);
    float *masks = blurred ? gcam_try_malloc(sizeof(float) * cx->hw * (size_t)G * n,
                                             "Group-CAM's group masks", err)
                           : NULL;
    if (!masks) {
        free(blurred);
        return -1;
    }
    for (int i = 0; i < n; ++i)
        gcam_gaussian_blur(images + i * cx->image_floats, cx->C, cx->H, cx->W, size, sigma,
                           blurred + i * cx->image_floats);
    blend *blends = gcam_xmalloc(sizeof(blend) * (size_t)(G + 1) * n);
    int *blend_cls = gcam_xmalloc(sizeof(int) * (size_t)(G + 1) * n);
    float *w = gcam_xmalloc(sizeof(float) * K), *small = gcam_xmalloc(sizeof(float) * uv);
    int n_blends = 0;
    for (int i = 0; i < n; ++i) {
        const float *a = A + i * cx->per_image;
        gradcam_weights(cx, g + i * cx->per_image, w);
        blends[n_blends] = (blend){i, -1};
        blend_cls[n_blends++] = cls[i];
        for (int grp = 0; grp < G; ++grp) {
            int k0 = grp * K / G, k1 = (grp + 1) * K / G;
            for (int p = 0; p < uv; ++p) {
                float sum = 0;
                for (int k = k0; k < k1; ++k) sum += w[k] * a[(size_t)k * uv + p];
                small[p] = sum > 0 ? sum : 0;
            }
            float t = gcam_percentile(small, uv, o->theta);
            for (int p = 0; p < uv; ++p)
                if (!(small[p] > t)) small[p] = 0;
            float *m = masks + ((size_t)i * G + grp) * cx->hw;
            gcam_upsample(small, cx->u, cx->v, m, cx->H, cx->W);
            if (gcam_normalise(m, cx->hw)) {
                blends[n_blends] = (blend){i, grp};
                blend_cls[n_blends++] = cls[i];
            }
        }
    }
    float *scores = gcam_xmalloc(sizeof(float) * (size_t)n_blends);
    groupcam_inputs in = {images, blurred, masks, blends, G};
    score_inputs(cx, make_blend, &in, n_blends, blend_cls, scores);
    for (int i = 0; i < n; ++i) memset(maps + i * cx->hw, 0, sizeof(float) * cx->hw);
    float baseline = 0;
    for (int b = 0; b < n_blends; ++b) {
        if (blends[b].group < 0) { /* each image's baseline precedes its groups */
            baseline = scores[b];
            continue;
        }
        float s = scores[b] - baseline;
        const float *m = masks + ((size_t)blends[b].image * G + blends[b].group) * cx->hw;
        float *dst = maps + blends[b].image * cx->hw;
        for (size_t p = 0; p < cx->hw; ++p) dst[p] += s * m[p];
    }
    for (int i = 0; i < n; ++i) {
        float *dst = maps + i * cx->hw;
        for (size_t p = 0; p < cx->hw; ++p) dst[p] = dst[p] > 0 ? dst[p] : 0;
        int varies = gcam_normalise(dst, cx->hw);
        if (constant) constant[i] = !varies;
    }
    free(scores);
    free(w);
    free(small);
    free(blend_cls);
    free(blends);
    free(masks);
    free(blurred);
    return 0;
}

/* ---- Score-CAM ---- */

typedef struct masked_inputs {
    const float *x;     /* (C, H, W) */
    const float *masks; /* (count, H, W) */
} masked_inputs;

static void make_masked(const cam *cx, void *arg, int index, float *dst) {
    const masked_inputs *in = arg;
    const float *m = in->masks + (size_t)index * cx->hw;
    for (int k = 0; k < cx->C; ++k)
        for (size_t p = 0; p < cx->hw; ++p) dst[k * cx->hw + p] = in->x[k * cx->hw + p] * m[p];
}

/* s_k = p_c(x * minmax(upsample(A_k))), L = ReLU(sum_k s_k upsample(A_k)). Channels are
 * processed in chunks of the network's capacity, so memory stays bounded. */
static int scorecam(const cam *cx, const float *images, int n, const int *cls, const float *A,
                    const float *g, float *maps, int *constant, gcam_error *err) {
    int cap = cx->net->capacity;
    float *up = gcam_xmalloc(sizeof(float) * cx->hw * cap);    /* (cap, H, W) upsampled A_k */
    float *masks = gcam_xmalloc(sizeof(float) * cx->hw * cap); /* normalised copies */
    float *scores = gcam_xmalloc(sizeof(float) * cap);
    int *chunk_cls = gcam_xmalloc(sizeof(int) * cap);
    for (int i = 0; i < n; ++i) {
        float *map = maps + i * cx->hw;
        memset(map, 0, sizeof(float) * cx->hw);
        for (int k0 = 0; k0 < cx->K; k0 += cap) {
            int count = cx->K - k0 < cap ? cx->K - k0 : cap;
            for (int j = 0; j < count; ++j) {
                const float *a = A + i * cx->per_image + (size_t)(k0 + j) * cx->uv;
                gcam_upsample(a, cx->u, cx->v, up + j * cx->hw, cx->H, cx->W);
                memcpy(masks + j * cx->hw, up + j * cx->hw, sizeof(float) * cx->hw);
                gcam_normalise(masks + j * cx->hw, cx->hw); /* a constant channel masks all out */
                chunk_cls[j] = cls[i];
            }
            masked_inputs in = {images + i * cx->image_floats, masks};
            score_inputs(cx, make_masked, &in, count, chunk_cls, scores);
            for (int j = 0; j < count; ++j)
                for (size_t p = 0; p < cx->hw; ++p) map[p] += scores[j] * up[j * cx->hw + p];
        }
        for (size_t p = 0; p < cx->hw; ++p) map[p] = map[p] > 0 ? map[p] : 0;
        int varies = gcam_normalise(map, cx->hw);
        if (constant) constant[i] = !varies;
    }
    free(up);
    free(masks);
    free(scores);
    free(chunk_cls);
    return 0;
}

/* ---- RISE ---- */

/* Mask number `index`: an s x s grid of cells on with probability p, upsampled
 * bilinearly to (s+1) ceil(H/s) and cropped at a random shift; from its own generator. */
static void rise_mask(const cam *cx, int index, float *mask) {
    const gcam_saliency_options *o = cx->o;
    int s = o->rise_s;
    float p = o->rise_p;
    gcam_rng rng = gcam_rng_init((uint64_t)o->seed, (uint64_t)index);
    float grid[64 * 64];
    for (int q = 0; q < s * s; ++q) grid[q] = gcam_rng_uniform(&rng) < p ? 1.f : 0.f;
    int cell_h = (cx->H + s - 1) / s, cell_w = (cx->W + s - 1) / s;
    int big_h = (s + 1) * cell_h, big_w = (s + 1) * cell_w;
    int dy = (int)(gcam_rng_next(&rng) % (uint32_t)cell_h);
    int dx = (int)(gcam_rng_next(&rng) % (uint32_t)cell_w);
    /* bilinear (half-pixel) upsampling of the grid to big_h x big_w, sampled at the crop */
    for (int y = 0; y < cx->H; ++y) {
        float fy = (y + dy + 0.5f) * s / big_h - 0.5f;
        fy = fy < 0 ? 0 : fy;
        int y0 = (int)fy, y1 = y0 + 1 < s ? y0 + 1 : y0;
        float ay = fy - y0;
        for (int x = 0; x < cx->W; ++x) {
            float fx = (x + dx + 0.5f) * s / big_w - 0.5f;
            fx = fx < 0 ? 0 : fx;
            int x0 = (int)fx, x1 = x0 + 1 < s ? x0 + 1 : x0;
            float ax = fx - x0;
            float top = grid[y0 * s + x0] * (1 - ax) + grid[y0 * s + x1] * ax;
            float bottom = grid[y1 * s + x0] * (1 - ax) + grid[y1 * s + x1] * ax;
            mask[(size_t)y * cx->W + x] = top * (1 - ay) + bottom * ay;
        }
    }
}

/* S = sum_i p_c(x * M_i) M_i / (N p); masks are made chunk by chunk (bounded memory). */
static int rise(const cam *cx, const float *images, int n, const int *cls, const float *A,
                const float *g, float *maps, int *constant, gcam_error *err) {
    int N = cx->o->rise_n, cap = cx->net->capacity;
    float p = cx->o->rise_p;
    float *masks = gcam_xmalloc(sizeof(float) * cx->hw * cap); /* (cap, H, W) */
    for (int i = 0; i < n; ++i) {
        const float *x = images + i * cx->image_floats;
        float *map = maps + i * cx->hw;
        memset(map, 0, sizeof(float) * cx->hw);
        for (int first = 0; first < N; first += cap) {
            int count = N - first < cap ? N - first : cap;
            for (int j = 0; j < count; ++j) {
                float *m = masks + j * cx->hw, *dst = cx->batch + j * cx->image_floats;
                rise_mask(cx, first + j, m);
                for (int k = 0; k < cx->C; ++k)
                    for (size_t q = 0; q < cx->hw; ++q)
                        dst[k * cx->hw + q] = x[k * cx->hw + q] * m[q];
            }
            const float *out = gcam_net_scores(cx->net, cx->batch, count);
            for (int j = 0; j < count; ++j) {
                float score = gcam_class_probability(cx->net, out, j, cls[i]);
                for (size_t q = 0; q < cx->hw; ++q) map[q] += score * masks[j * cx->hw + q];
            }
        }
        for (size_t q = 0; q < cx->hw; ++q) map[q] /= N * p;
        int varies = gcam_normalise(map, cx->hw);
        if (constant) constant[i] = !varies;
    }
    free(masks);
    return 0;
}

/* ---- Grad-CAM and Grad-CAM++ ---- */

/* The map of channel weights w (from the gradients) applied to each image's A. */
static void weighted_maps(const cam *cx, const float *A, const float *g, int plus_plus, int n,
                          float *maps, int *constant) {
    float *w = gcam_xmalloc(sizeof(float) * cx->K), *small = gcam_xmalloc(sizeof(float) * cx->uv);
    for (int i = 0; i < n; ++i) {
        const float *a = A + i * cx->per_image, *gi = g + i * cx->per_image;
        if (plus_plus)
            gradcampp_weights(cx, a, gi, w);
        else
            gradcam_weights(cx, gi, w);
        weighted_sum(cx, a, w, small);
        int varies = finish(cx, small, maps + i * cx->hw);
        if (constant) constant[i] = !varies;
    }
    free(w);
    free(small);
}

static int gradcam(const cam *cx, const float *images, int n, const int *cls, const float *A,
                   const float *g, float *maps, int *constant, gcam_error *err) {
    weighted_maps(cx, A, g, 0, n, maps, constant);
    return 0;
}

static int gradcampp(const cam *cx, const float *images, int n, const int *cls, const float *A,
                     const float *g, float *maps, int *constant, gcam_error *err) {
    weighted_maps(cx, A, g, 1, n, maps, constant);
    return 0;
}

/* ---- the method table ---- */

/* A method computes the maps (n, H, W) of n images at classes cls; A and g are the
 * target layer's activations and gradients (n, K, u, v) when `uses_gradients`, else NULL.
 * It fails only when memory its inputs ask for runs out. */
typedef int (*method_fn)(const cam *cx, const float *images, int n, const int *cls, const float *A,
                         const float *g, float *maps, int *constant, gcam_error *err);

typedef struct method_impl {
    method_fn run;
    int uses_gradients;
} method_impl;

/* Indexed by gcam_method: the names and titles are in GCAM_METHOD_LIST. */
static const method_impl method_impls[GCAM_METHOD_COUNT] = {
    [GCAM_METHOD_GROUPCAM] = {groupcam, 1},   [GCAM_METHOD_GRADCAM] = {gradcam, 1},
    [GCAM_METHOD_GRADCAMPP] = {gradcampp, 1}, [GCAM_METHOD_IGCAM] = {igcam, 0},
    [GCAM_METHOD_SCORECAM] = {scorecam, 1},   [GCAM_METHOD_RISE] = {rise, 0},
};

/* ---- entry point ---- */

/* Settings a library caller may have filled by hand, checked before any work. */
static int check_options(const gcam_saliency_options *o, gcam_error *err) {
    if (o->method < 0 || o->method >= GCAM_METHOD_COUNT || !method_impls[o->method].run)
        return gcam_fail(err, "saliency method %d: unknown", (int)o->method);
    if (o->groups < 1) return gcam_fail(err, "saliency_groups=%d: expected at least 1", o->groups);
    if (!(o->theta >= 0 && o->theta <= 100))
        return gcam_fail(err, "saliency_theta=%g: expected a percentile in [0, 100]", o->theta);
    if (o->ig_steps < 1) return gcam_fail(err, "ig_steps=%d: expected at least 1", o->ig_steps);
    if (o->rise_n < 1) return gcam_fail(err, "rise_n=%d: expected at least 1", o->rise_n);
    if (o->rise_s < 2 || o->rise_s > 64)
        return gcam_fail(err, "rise_s=%d: expected 2 to 64", o->rise_s);
    if (!(o->rise_p > 0 && o->rise_p <= 1))
        return gcam_fail(err, "rise_p=%g: expected (0, 1]", o->rise_p);
    return 0;
}

/* gcam_saliency, with forward_done when the net's last forward was of these images. */
static int saliency(gcam_net *net, const float *images, int n, const int *classes,
                    const gcam_saliency_options *o, float *maps, int *used, int *constant,
                    int forward_done, gcam_error *err) {
    network *dn = net->dn;
    if (check_options(o, err)) return -1;
    if (n < 1 || n > net->capacity)
        return gcam_fail(err, "%d images: expected 1 to %d (the network's batch)", n,
                         net->capacity);
    cam cx;
    memset(&cx, 0, sizeof cx);
    cx.net = net;
    cx.o = o;
    cx.layer = gcam_saliency_layer(net, o, err);
    if (cx.layer < 0) return -1;
    const layer *target = &dn->layers[cx.layer];
    cx.K = target->out_c;
    cx.u = target->out_h;
    cx.v = target->out_w;
    cx.uv = cx.u * cx.v;
    cx.H = dn->h;
    cx.W = dn->w;
    cx.C = dn->c;
    cx.hw = (size_t)cx.H * cx.W;
    cx.image_floats = cx.hw * cx.C;
    cx.per_image = (size_t)target->outputs;
    cx.forward_done = forward_done;
    cx.batch = gcam_try_malloc(sizeof(float) * cx.image_floats * net->capacity,
                               "a batch of saliency inputs", err);
    if (!cx.batch) return -1;

    /* The given classes, or the predicted ones from one forward (skipped when every
     * image has its class, as in training refreshes). */
    int *cls = gcam_xmalloc(sizeof(int) * (size_t)n);
    int all_given = classes != NULL;
    for (int i = 0; i < n; ++i) {
        cls[i] = classes ? classes[i] : -1;
        all_given &= cls[i] >= 0 && cls[i] < net->classes;
    }
    if (!all_given) {
        /* The gradient methods then take the activations from this same forward. */
        const float *out = cx.forward_done ? gcam_net_last_output(net)
                                           : gcam_net_predict_keeping(net, images, n, cx.layer);
        cx.forward_done = 1;
        for (int i = 0; i < n; ++i) {
            if (cls[i] >= 0 && cls[i] < net->classes) continue;
            const float *row = out + (size_t)i * net->classes;
            int best = 0;
            for (int k = 1; k < net->classes; ++k)
                if (row[k] > row[best]) best = k;
            cls[i] = best;
        }
    }
    for (int i = 0; used && i < n; ++i) used[i] = cls[i];
    const method_impl *impl = &method_impls[o->method];
    float *A = NULL, *g = NULL;
    int status = 0;
    if (impl->uses_gradients) {
        A = gcam_try_malloc(sizeof(float) * cx.per_image * n, "target-layer activations", err);
        g = A ? gcam_try_malloc(sizeof(float) * cx.per_image * n, "target-layer gradients", err)
              : NULL;
        if (g)
            activations_and_gradients(&cx, images, n, cls, A, g, cx.forward_done);
        else
            status = -1;
    }
    if (!status) status = impl->run(&cx, images, n, cls, A, g, maps, constant, err);
    free(A);
    free(g);
    free(cls);
    free(cx.batch);
    return status;
}

int gcam_saliency(gcam_net *net, const float *images, int n, const int *classes,
                  const gcam_saliency_options *o, float *maps, int *used, int *constant,
                  gcam_error *err) {
    return saliency(net, images, n, classes, o, maps, used, constant, 0, err);
}

int gcam_saliency_after_forward(gcam_net *net, const float *images, int n, const int *classes,
                                const gcam_saliency_options *o, float *maps, int *constant,
                                gcam_error *err) {
    return saliency(net, images, n, classes, o, maps, NULL, constant, 1, err);
}
