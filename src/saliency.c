/* Group-CAM and Grad-CAM (see saliency.h and shared/notes/groupcam.md).
 *
 * One batched forward and one batched inference-mode backward give every image's
 * target-layer activations A and gradients g = d logit_c / dA. Grad-CAM is then
 * ReLU(sum_k mean(g_k) A_k). Group-CAM splits the weighted maps into G contiguous channel
 * groups, de-noises and normalises each, blends the image with its blurred copy through
 * each group map, and scores the blends: all blends of all images run as packed batched
 * forwards of the network's capacity. */
#include "saliency.h"

#include "error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void gcam_saliency_options_default(gcam_saliency_options *o) {
    memset(o, 0, sizeof *o);
    o->method = GCAM_METHOD_GROUPCAM;
    o->layer = GCAM_LAYER_AUTO;
    o->groups = 32;
    o->theta = 70;
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

/* Index of i mirrored into [0, n) without repeating the edge (reflect-101). */
static int mirror(int i, int n) {
    if (n == 1) return 0;
    int period = 2 * (n - 1);
    i %= period;
    if (i < 0) i += period;
    return i < n ? i : period - i;
}

void gcam_gaussian_blur(const float *im, int c, int h, int w, int size, float sigma, float *out) {
    int radius = size / 2;
    float *kernel = gcam_xmalloc(sizeof(float) * (size_t)(2 * radius + 1));
    double total = 0;
    for (int i = -radius; i <= radius; ++i)
        total += kernel[i + radius] = expf(-(float)(i * i) / (2 * sigma * sigma));
    for (int i = 0; i <= 2 * radius; ++i) kernel[i] = (float)(kernel[i] / total);
    float *rows = gcam_xmalloc(sizeof(float) * (size_t)h * w); /* (h, w) horizontal pass */
    for (int k = 0; k < c; ++k) {
        const float *plane = im + (size_t)k * h * w;
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                float sum = 0;
                for (int i = -radius; i <= radius; ++i)
                    sum += kernel[i + radius] * plane[y * w + mirror(x + i, w)];
                rows[y * w + x] = sum;
            }
        float *dst = out + (size_t)k * h * w;
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                float sum = 0;
                for (int i = -radius; i <= radius; ++i)
                    sum += kernel[i + radius] * rows[mirror(y + i, h) * w + x];
                dst[y * w + x] = sum;
            }
    }
    free(rows);
    free(kernel);
}

void gcam_upsample(const float *src, int h, int w, float *dst, int H, int W) {
    float sy = (float)h / H, sx = (float)w / W;
    for (int y = 0; y < H; ++y) {
        float fy = (y + 0.5f) * sy - 0.5f;
        fy = fy < 0 ? 0 : fy;
        int y0 = (int)fy, y1 = y0 + 1 < h ? y0 + 1 : y0;
        float ay = fy - y0;
        for (int x = 0; x < W; ++x) {
            float fx = (x + 0.5f) * sx - 0.5f;
            fx = fx < 0 ? 0 : fx;
            int x0 = (int)fx, x1 = x0 + 1 < w ? x0 + 1 : x0;
            float ax = fx - x0;
            float top = src[y0 * w + x0] * (1 - ax) + src[y0 * w + x1] * ax;
            float bottom = src[y1 * w + x0] * (1 - ax) + src[y1 * w + x1] * ax;
            dst[y * W + x] = top * (1 - ay) + bottom * ay;
        }
    }
}

static int compare_floats(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

float gcam_percentile(const float *x, int n, float p) {
    float *sorted = gcam_xmalloc(sizeof(float) * (size_t)n);
    memcpy(sorted, x, sizeof(float) * (size_t)n);
    qsort(sorted, (size_t)n, sizeof(float), compare_floats);
    float position = p / 100.f * (n - 1);
    int lo = (int)floorf(position), hi = lo + 1 < n ? lo + 1 : lo;
    float t = sorted[lo] + (sorted[hi] - sorted[lo]) * (position - lo);
    free(sorted);
    return t;
}

/* Min-max normalises m (n values) into [0, 1]; returns 0 (and leaves zeros) if constant. */
static int normalise(float *m, size_t n) {
    float lo = m[0], hi = m[0];
    for (size_t i = 1; i < n; ++i) {
        lo = fminf(lo, m[i]);
        hi = fmaxf(hi, m[i]);
    }
    if (!(hi > lo)) {
        memset(m, 0, sizeof(float) * n);
        return 0;
    }
    float scale = 1.f / (hi - lo);
    for (size_t i = 0; i < n; ++i) m[i] = (m[i] - lo) * scale;
    return 1;
}

/* ---- the methods ---- */

/* Probability of class c for image row i of the last forward. */
static float class_probability(const gcam_net *net, const float *out, int i, int c) {
    const network *dn = net->dn;
    if (dn->layers[dn->n - 1].type == SOFTMAX) return out[(size_t)i * net->classes + c];
    const layer *logits = &dn->layers[net->logits_layer];
    const float *z = logits->output + (size_t)i * logits->outputs;
    float max = z[0], sum = 0;
    for (int k = 1; k < logits->outputs; ++k) max = fmaxf(max, z[k]);
    for (int k = 0; k < logits->outputs; ++k) sum += expf(z[k] - max);
    return expf(z[c] - max) / sum;
}

typedef struct blend {
    int image; /* which image */
    int group; /* -1: the blurred baseline */
    float score;
} blend;

/* Scores every blend of the Group-CAM step; masks: (image, group) maps of h*w. */
static void score_blends(gcam_net *net, const float *images, const float *blurred,
                         const float *masks, int groups, const int *classes, blend *blends,
                         int n_blends) {
    network *dn = net->dn;
    int cap = net->capacity, c = dn->c;
    size_t hw = (size_t)dn->h * dn->w, image_floats = hw * c;
    float *batch = gcam_xmalloc(sizeof(float) * image_floats * (size_t)cap); /* (cap, c, h, w) */
    for (int start = 0; start < n_blends; start += cap) {
        int count = n_blends - start < cap ? n_blends - start : cap;
        for (int j = 0; j < count; ++j) {
            const blend *b = &blends[start + j];
            const float *x = images + (size_t)b->image * image_floats;
            const float *base = blurred + (size_t)b->image * image_floats;
            float *dst = batch + (size_t)j * image_floats;
            if (b->group < 0) {
                memcpy(dst, base, sizeof(float) * image_floats);
                continue;
            }
            const float *m = masks + ((size_t)b->image * groups + b->group) * hw;
            for (int k = 0; k < c; ++k)
                for (size_t p = 0; p < hw; ++p)
                    dst[k * hw + p] = base[k * hw + p] + m[p] * (x[k * hw + p] - base[k * hw + p]);
        }
        const float *out = gcam_net_predict(net, batch, count);
        for (int j = 0; j < count; ++j) {
            blend *b = &blends[start + j];
            b->score = class_probability(net, out, j, classes[b->image]);
        }
    }
    free(batch);
}

int gcam_saliency(gcam_net *net, const float *images, int n, const int *classes,
                  const gcam_saliency_options *o, float *maps, int *used, int *constant,
                  gcam_error *err) {
    network *dn = net->dn;
    if (n < 1 || n > net->capacity)
        return gcam_fail(err, "%d images: expected 1 to %d (the network's batch)", n,
                         net->capacity);
    int L = gcam_saliency_layer(net, o, err);
    if (L < 0) return -1;
    const layer *target = &dn->layers[L];
    int K = target->out_c, uv = spatial(target), H = dn->h, W = dn->w;
    size_t hw = (size_t)H * W, per_image = (size_t)target->outputs;

    /* 1. forward, classes, activations A and gradients g: (n, K, u, v) each */
    const float *out = gcam_net_predict(net, images, n);
    int *cls = gcam_xmalloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; ++i) {
        const float *row = out + (size_t)i * net->classes;
        int best = 0;
        for (int k = 1; k < net->classes; ++k)
            if (row[k] > row[best]) best = k;
        cls[i] = classes && classes[i] >= 0 && classes[i] < net->classes ? classes[i] : best;
        if (used) used[i] = cls[i];
    }
    float *A = gcam_xmalloc(sizeof(float) * per_image * n);
    memcpy(A, target->output, sizeof(float) * per_image * n);
    const layer *logits = &dn->layers[net->logits_layer];
    float *seed = gcam_xcalloc((size_t)logits->outputs * n, sizeof(float));
    for (int i = 0; i < n; ++i) seed[(size_t)i * logits->outputs + cls[i]] = 1;
    float *g = gcam_xmalloc(sizeof(float) * per_image * n);
    memcpy(g, gcam_net_backward_from(net, net->logits_layer, seed, L),
           sizeof(float) * per_image * n);
    free(seed);

    /* 2. weighted maps w_k A_k, (n, K, u, v), with w_k the mean gradient of channel k */
    for (size_t ik = 0; ik < (size_t)n * K; ++ik) {
        double mean = 0;
        for (int p = 0; p < uv; ++p) mean += g[ik * uv + p];
        float wk = (float)(mean / uv);
        for (int p = 0; p < uv; ++p) A[ik * uv + p] *= wk;
    }
    free(g);

    float *small = gcam_xmalloc(sizeof(float) * (size_t)uv);
    int status = 0;
    if (o->method == GCAM_METHOD_GRADCAM) {
        for (int i = 0; i < n; ++i) {
            for (int p = 0; p < uv; ++p) {
                float sum = 0;
                for (int k = 0; k < K; ++k) sum += A[((size_t)i * K + k) * uv + p];
                small[p] = sum > 0 ? sum : 0;
            }
            gcam_upsample(small, target->out_h, target->out_w, maps + i * hw, H, W);
            int varies = normalise(maps + i * hw, hw);
            if (constant) constant[i] = !varies;
        }
    } else {
        int G = o->groups < 1 ? 32 : o->groups;
        if (G > K) G = K;
        float scale = (float)(H < W ? H : W) / 224.f;
        int size = o->blur_size > 0 ? o->blur_size : (int)lroundf(51 * scale) | 1;
        float sigma = o->blur_sigma > 0 ? o->blur_sigma : 50 * scale;
        size_t image_floats = hw * dn->c;
        float *blurred = gcam_xmalloc(sizeof(float) * image_floats * n);
        for (int i = 0; i < n; ++i)
            gcam_gaussian_blur(images + i * image_floats, dn->c, H, W, size, sigma,
                               blurred + i * image_floats);
        float *masks = gcam_xmalloc(sizeof(float) * hw * (size_t)G * n); /* (n, G, H, W) */
        blend *blends = gcam_xmalloc(sizeof(blend) * (size_t)(G + 1) * n);
        int n_blends = 0;
        for (int i = 0; i < n; ++i) {
            blends[n_blends++] = (blend){i, -1, 0};
            for (int grp = 0; grp < G; ++grp) {
                int k0 = grp * K / G, k1 = (grp + 1) * K / G;
                for (int p = 0; p < uv; ++p) {
                    float sum = 0;
                    for (int k = k0; k < k1; ++k) sum += A[((size_t)i * K + k) * uv + p];
                    small[p] = sum > 0 ? sum : 0;
                }
                float t = gcam_percentile(small, uv, o->theta);
                for (int p = 0; p < uv; ++p)
                    if (!(small[p] > t)) small[p] = 0;
                float *m = masks + ((size_t)i * G + grp) * hw;
                gcam_upsample(small, target->out_h, target->out_w, m, H, W);
                if (normalise(m, hw)) blends[n_blends++] = (blend){i, grp, 0};
            }
        }
        score_blends(net, images, blurred, masks, G, cls, blends, n_blends);
        float baseline = 0;
        for (int i = 0; i < n; ++i) memset(maps + i * hw, 0, sizeof(float) * hw);
        for (int b = 0; b < n_blends; ++b) {
            const blend *bl = &blends[b];
            if (bl->group < 0) {
                baseline = bl->score; /* each image's baseline precedes its groups */
                continue;
            }
            float s = bl->score - baseline;
            const float *m = masks + ((size_t)bl->image * G + bl->group) * hw;
            float *dst = maps + bl->image * hw;
            for (size_t p = 0; p < hw; ++p) dst[p] += s * m[p];
        }
        for (int i = 0; i < n; ++i) {
            float *dst = maps + i * hw;
            for (size_t p = 0; p < hw; ++p) dst[p] = dst[p] > 0 ? dst[p] : 0;
            int varies = normalise(dst, hw);
            if (constant) constant[i] = !varies;
        }
        free(blends);
        free(masks);
        free(blurred);
    }
    free(small);
    free(A);
    free(cls);
    return status;
}
