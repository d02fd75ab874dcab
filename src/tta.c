/* Test-time crops (gcam_tta_logits in gcam/predict.h). One forward gives every image's
 * logits and, for the gradient methods, the activations its map needs (one partial
 * backward more); each mode's crop is then cut from the source image (or zoomed from the
 * input-sized view) and run in one more forward, and its logits are averaged with the whole
 * image's. */
#include "tta.h"

#include "augment.h"
#include "error.h"
#include "image_ops.h"
#include "network.h"
#include "rng.h"
#include "saliency.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Mixed into the seed of the random control's generators. */
#define TTA_STREAM_KEY 0x7a11c0de5eedULL

void gcam_tta_box_from_map(const float *map, int h, int w, float threshold, float box[4]) {
    float peak = 0;
    for (size_t p = 0; p < (size_t)h * w; ++p) peak = map[p] > peak ? map[p] : peak;
    box[0] = 0, box[1] = 0, box[2] = (float)w, box[3] = (float)h;
    if (!(peak > 0)) return; /* a constant map points nowhere: the whole image */
    int x0 = w, y0 = h, x1 = -1, y1 = -1;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            if (map[(size_t)y * w + x] >= threshold * peak) {
                x0 = x < x0 ? x : x0, x1 = x > x1 ? x : x1;
                y0 = y < y0 ? y : y0, y1 = y > y1 ? y : y1;
            }
    box[0] = (float)x0, box[1] = (float)y0, box[2] = (float)(x1 + 1), box[3] = (float)(y1 + 1);
}

void gcam_tta_fit_box(float box[4], float margin, int w, int h) {
    float aspect = (float)w / h, cx = (box[0] + box[2]) / 2, cy = (box[1] + box[3]) / 2;
    float bw = box[2] - box[0], bh = box[3] - box[1];
    /* the input's aspect ratio, so that the zoom does not distort the crop */
    if (bw < bh * aspect)
        bw = bh * aspect;
    else
        bh = bw / aspect;
    bw *= margin, bh *= margin;
    if (bw > w) bw = (float)w, bh = bw / aspect;
    if (bh > h) bh = (float)h, bw = bh * aspect;
    float x0 = fminf(fmaxf(cx - bw / 2, 0), w - bw), y0 = fminf(fmaxf(cy - bh / 2, 0), h - bh);
    box[0] = x0, box[1] = y0, box[2] = x0 + bw, box[3] = y0 + bh;
}

/* The box of mode for one image: `fitted` is its map's box after gcam_tta_fit_box. */
static void mode_box(gcam_tta_mode mode, const gcam_tta_options *o, const float fitted[4],
                     const float *truth, int id, int w, int h, float box[4]) {
    float bw = fitted[2] - fitted[0], bh = fitted[3] - fitted[1];
    switch (mode) {
    case GCAM_TTA_CENTER:
        box[0] = (w - bw) / 2, box[1] = (h - bh) / 2;
        break;
    case GCAM_TTA_RANDOM: {
        gcam_rng rng = gcam_rng_init(o->seed ^ TTA_STREAM_KEY, (uint64_t)(int64_t)id);
        box[0] = gcam_rng_uniform(&rng) * (w - bw), box[1] = gcam_rng_uniform(&rng) * (h - bh);
        break;
    }
    case GCAM_TTA_ORACLE:
        if (truth && isfinite(truth[0])) {
            memcpy(box, truth, sizeof(float) * 4);
            gcam_tta_fit_box(box, o->margin, w, h);
            return;
        }
        box[0] = 0, box[1] = 0, bw = (float)w, bh = (float)h; /* no box: the whole image */
        break;
    default:
        memcpy(box, fitted, sizeof(float) * 4);
        return;
    }
    box[2] = box[0] + bw, box[3] = box[1] + bh;
}

/* The crop of view (c, h, w) to box (input pixels) at the input size: resampled from
 * source when there is one (the view is source resized, so input pixel x covers source
 * pixels [x * sw / w, (x + 1) * sw / w)), else zoomed from the view bilinearly. */
static void crop(const float *view, const gcam_image *source, int c, int h, int w,
                 const float box[4], float *out) {
    if (source) {
        float sx = (float)source->w / w, sy = (float)source->h / h;
        float source_box[4] = {box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy};
        gcam_image_resample_box(source, source_box, w, h, out);
        return;
    }
    gcam_warp warp = {(box[2] - box[0]) / w, 0, box[0], 0, (box[3] - box[1]) / h, box[1], 0};
    gcam_warp_apply(&warp, view, c, w, h, out, w, h);
}

static int needs_maps(const gcam_tta_mode *modes, int n_modes) {
    for (int m = 0; m < n_modes; ++m)
        if (modes[m] == GCAM_TTA_CROP || modes[m] == GCAM_TTA_CENTER || modes[m] == GCAM_TTA_RANDOM)
            return 1;
    return 0;
}

int gcam_tta_logits(gcam_net *net, const gcam_tta_options *o, const gcam_saliency_options *so,
                    const gcam_tta_mode *modes, int n_modes, const float *images,
                    const gcam_image *sources, int n, const float (*boxes)[4], const int *ids,
                    float *logits, gcam_error *err) {
    gcam_net_info in = gcam_net_get_info(net);
    if (n < 1 || n > in.capacity)
        return gcam_fail(err, "%d images: expected 1 to %d (the network's batch)", n, in.capacity);
    size_t hw = (size_t)in.h * in.w, classes = (size_t)in.classes;
    float *crops = gcam_try_malloc(sizeof(float) * in.inputs * (size_t)n, "test-time crops", err);
    if (!crops) return -1;
    float *whole = gcam_xmalloc(sizeof(float) * classes * n); /* (n, classes) */
    float *maps = gcam_xmalloc(sizeof(float) * hw * n);       /* (n, h, w) */
    float(*fitted)[4] = gcam_xmalloc(sizeof *fitted * (size_t)n);
    int *predicted = gcam_xmalloc(sizeof(int) * (size_t)n);
    /* Both forwards run the fused inference plan as far as they can: the crop's up to the
     * logits, the whole image's up to the map's layer, whose output and the layers above
     * it the map's backward reads (layer by layer, the forwards cost 1.8x as much). */
    gcam_saliency_options mso = *so;
    mso.method = o->method;
    int maps_needed = needs_maps(modes, n_modes), logits_layer = in.logits_layer;
    int keep_from = maps_needed ? gcam_saliency_layer(net, &mso, err) : logits_layer;
    if (keep_from < 0) keep_from = 0; /* no such layer: the error comes with the maps */
    gcam_net_predict_keeping(net, images, n, keep_from);
    memcpy(whole, gcam_net_last_logits(net), sizeof(float) * classes * n);
    for (int i = 0; i < n; ++i) gcam_top_classes(whole + classes * i, in.classes, 1, &predicted[i]);
    int status = 0;
    if (maps_needed) {
        status = gcam_saliency_after_forward(net, images, n, predicted, &mso, maps, NULL, err);
        for (int i = 0; i < n && !status; ++i) {
            gcam_tta_box_from_map(maps + hw * i, in.h, in.w, o->threshold, fitted[i]);
            gcam_tta_fit_box(fitted[i], o->margin, in.w, in.h);
        }
    }
    for (int m = 0; m < n_modes && !status; ++m) {
        float *out = logits + classes * n * m;
        memcpy(out, whole, sizeof(float) * classes * n);
        if (modes[m] == GCAM_TTA_NONE) continue;
        for (int i = 0; i < n; ++i) {
            float box[4];
            mode_box(modes[m], o, fitted[i], boxes ? boxes[i] : NULL, ids ? ids[i] : i, in.w, in.h,
                     box);
            const gcam_image *source =
                sources && sources[i].data && o->crop_source == GCAM_CROP_FROM_IMAGE ? &sources[i]
                                                                                     : NULL;
            crop(images + (size_t)in.inputs * i, source, in.c, in.h, in.w, box,
                 crops + (size_t)in.inputs * i);
        }
        gcam_net_predict_keeping(net, crops, n, logits_layer);
        const float *z = gcam_net_last_logits(net);
        for (size_t k = 0; k < classes * n; ++k) out[k] = (out[k] + z[k]) / 2;
    }
    free(crops);
    free(whole);
    free(maps);
    free(fitted);
    free(predicted);
    return status;
}
