/* Test-time crops (gcam_tta_logits in gcam/predict.h). One forward gives every image's
 * logits and, for the gradient methods, the activations its map needs (one partial
 * backward more); each mode's crop is then cut from the source image (or zoomed from the
 * input-sized view) and run in one more forward, and its logits are averaged with the whole
 * image's. With several steps, each crop's own map places the next crop inside it, still
 * cut from the source: a closer look at each step, as RA-CNN zooms. */
#include "tta.h"

#include "augment.h"
#include "clock.h"
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

/* The box `inner` (input pixels of a crop that covered `outer` of an image, both at the
 * w x h input size) in that image's input pixels. */
static void box_within(const float outer[4], const float inner[4], int w, int h, float out[4]) {
    float sx = (outer[2] - outer[0]) / w, sy = (outer[3] - outer[1]) / h;
    out[0] = outer[0] + inner[0] * sx, out[2] = outer[0] + inner[2] * sx;
    out[1] = outer[1] + inner[1] * sy, out[3] = outer[1] + inner[3] * sy;
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

/* One call's shared state. */
typedef struct tta_call {
    gcam_net *net;
    const gcam_tta_options *o;
    gcam_saliency_options mso; /* so, with the crop's method */
    gcam_net_info in;
    const float *images;       /* (n, c, h, w) */
    const gcam_image *sources; /* (n) or NULL */
    int n;
    int keep_from, logits_layer; /* the map's layer; the logits' */
    float *crops;                /* (n, c, h, w) scratch */
    float *maps;                 /* (n, h, w) */
    int *predicted;              /* (n) */
} tta_call;

/* Cuts every image's crop to boxes (n) into call->crops. */
static void cut_crops(tta_call *call, const float (*boxes)[4]) {
    const gcam_net_info *in = &call->in;
    for (int i = 0; i < call->n; ++i) {
        const gcam_image *source =
            call->sources && call->sources[i].data && call->o->crop_source == GCAM_CROP_FROM_IMAGE
                ? &call->sources[i]
                : NULL;
        crop(call->images + (size_t)in->inputs * i, source, in->c, in->h, in->w, boxes[i],
             call->crops + (size_t)in->inputs * i);
    }
}

/* The maps of `input` (n images) at call->predicted, after a forward that kept the map's
 * layer, into fitted boxes (n) in input pixels of that input. */
static int boxes_from_maps(tta_call *call, const float *input, float (*boxes)[4], gcam_error *err) {
    const gcam_net_info *in = &call->in;
    size_t hw = (size_t)in->h * in->w;
    if (gcam_saliency_after_forward(call->net, input, call->n, call->predicted, &call->mso,
                                    call->maps, NULL, err))
        return -1;
    for (int i = 0; i < call->n; ++i) {
        gcam_map_box(call->maps + hw * i, in->h, in->w, call->o->threshold, call->o->region,
                     boxes[i]);
        gcam_tta_fit_box(boxes[i], call->o->margin, in->w, in->h);
    }
    return 0;
}

/* The crop mode's K = o->steps boxes, step_boxes (K, n) in input pixels of the whole
 * image: the first around the whole image's map (whose forward has run), each next one
 * around the map of the crop before at the class that sums (n, classes), the whole
 * image's logits plus the crops' so far, predict. With crop_logits, the last crop runs
 * too and sums holds every crop's logits added; without, the last crop is left to the
 * controls, which only need its size. seconds[0] gets the time up to the last box,
 * seconds[1] the last crop's. */
static int focus(tta_call *call, int crop_logits, float (*step_boxes)[4], float *sums,
                 double seconds[2], gcam_error *err) {
    int n = call->n, steps = call->o->steps;
    size_t classes = (size_t)call->in.classes;
    double start = gcam_now_seconds();
    if (boxes_from_maps(call, call->images, step_boxes, err)) return -1;
    for (int s = 0; s < steps; ++s) {
        int last = s == steps - 1;
        if (last && !crop_logits) break;
        if (last) seconds[0] += gcam_now_seconds() - start, start = gcam_now_seconds();
        const float(*boxes)[4] = (const float(*)[4])step_boxes + (size_t)s * n;
        cut_crops(call, boxes);
        gcam_net_predict_keeping(call->net, call->crops, n,
                                 last ? call->logits_layer : call->keep_from);
        const float *z = gcam_net_last_logits(call->net);
        for (size_t k = 0; k < classes * n; ++k) sums[k] += z[k];
        if (last) break;
        for (int i = 0; i < n; ++i)
            gcam_top_classes(sums + classes * i, (int)classes, 1, &call->predicted[i]);
        float(*next)[4] = step_boxes + (size_t)(s + 1) * n;
        if (boxes_from_maps(call, call->crops, next, err)) return -1;
        for (int i = 0; i < n; ++i) {
            float inner[4];
            memcpy(inner, next[i], sizeof inner);
            box_within(boxes[i], inner, call->in.w, call->in.h, next[i]);
        }
    }
    seconds[crop_logits ? 1 : 0] += gcam_now_seconds() - start;
    return 0;
}

/* The box of a control mode's step for one image: the size of `sized` (the crop mode's
 * box at that step) centred, or at a random place drawn from rng; or the ground-truth box
 * `truth` fitted as a map's box is (the whole image without one; sized is not read). */
static void control_box(gcam_tta_mode mode, const gcam_tta_options *o, const float *sized,
                        const float *truth, gcam_rng *rng, int w, int h, float box[4]) {
    float bw = (float)w, bh = (float)h;
    if (mode == GCAM_TTA_CENTER || mode == GCAM_TTA_RANDOM)
        bw = sized[2] - sized[0], bh = sized[3] - sized[1];
    switch (mode) {
    case GCAM_TTA_CENTER:
        box[0] = (w - bw) / 2, box[1] = (h - bh) / 2;
        break;
    case GCAM_TTA_RANDOM:
        box[0] = gcam_rng_uniform(rng) * (w - bw), box[1] = gcam_rng_uniform(rng) * (h - bh);
        break;
    default: /* oracle */
        if (truth && isfinite(truth[0])) {
            memcpy(box, truth, sizeof(float) * 4);
            gcam_tta_fit_box(box, o->margin, w, h);
            return;
        }
        box[0] = 0, box[1] = 0;
    }
    box[2] = box[0] + bw, box[3] = box[1] + bh;
}

static int has_mode(const gcam_tta_mode *modes, int n_modes, gcam_tta_mode mode) {
    for (int m = 0; m < n_modes; ++m)
        if (modes[m] == mode) return 1;
    return 0;
}

/* Multiply-adds per image of each mode (see gcam_tta_report). */
static void mode_costs(const tta_call *call, const gcam_tta_mode *modes, int n_modes,
                       double *costs) {
    int steps = call->o->steps;
    double forward = gcam_net_multiply_adds(call->net, 0, call->net->dn->n);
    int gradient =
        call->mso.method == GCAM_METHOD_GRADCAM || call->mso.method == GCAM_METHOD_GRADCAMPP;
    /* a map's backward: the input gradients of the layers above its target */
    double map =
        gradient ? gcam_net_multiply_adds(call->net, call->keep_from + 1, call->net->dn->n) : NAN;
    for (int m = 0; m < n_modes; ++m) {
        double cost = forward;
        switch (modes[m]) {
        case GCAM_TTA_NONE:
            break;
        case GCAM_TTA_CROP: /* a map per step, a crop per step */
            cost += steps * (map + forward);
            break;
        case GCAM_TTA_CENTER:
        case GCAM_TTA_RANDOM: /* the crop mode's boxes, then crops of their sizes */
            cost += steps * map + (steps - 1) * forward + steps * forward;
            break;
        default:
            cost += forward;
        }
        costs[modes[m]] = cost;
    }
}

int gcam_tta_logits(gcam_net *net, const gcam_tta_options *o, const gcam_saliency_options *so,
                    const gcam_tta_mode *modes, int n_modes, const float *images,
                    const gcam_image *sources, int n, const float (*boxes)[4], const int *ids,
                    float *logits, gcam_tta_report *report, gcam_error *err) {
    gcam_net_info in = gcam_net_get_info(net);
    if (n < 1 || n > in.capacity)
        return gcam_fail(err, "%d images: expected 1 to %d (the network's batch)", n, in.capacity);
    if (o->steps < 1) return gcam_fail(err, "tta_steps=%d: expected 1 or more", o->steps);
    size_t hw = (size_t)in.h * in.w, classes = (size_t)in.classes;
    int steps = o->steps;
    tta_call call = {.net = net,
                     .o = o,
                     .mso = *so,
                     .in = in,
                     .images = images,
                     .sources = sources,
                     .n = n,
                     .logits_layer = in.logits_layer};
    call.mso.method = o->method;
    call.crops = gcam_try_malloc(sizeof(float) * in.inputs * (size_t)n, "test-time crops", err);
    if (!call.crops) return -1;
    call.maps = gcam_xmalloc(sizeof(float) * hw * n);                             /* (n, h, w) */
    call.predicted = gcam_xmalloc(sizeof(int) * (size_t)n);                       /* (n) */
    float *whole = gcam_xmalloc(sizeof(float) * classes * n);                     /* (n, classes) */
    float *sums = gcam_xmalloc(sizeof(float) * classes * n);                      /* (n, classes) */
    float(*step_boxes)[4] = gcam_xmalloc(sizeof *step_boxes * (size_t)steps * n); /* (K, n) */
    float(*placed)[4] = gcam_xmalloc(sizeof *placed * (size_t)n); /* (n) a control's boxes */
    /* Both forwards run the fused inference plan as far as they can: a crop's up to the
     * logits, an image's whose map is needed up to the map's layer, whose output and the
     * layers above it the map's backward reads (layer by layer, the forwards cost 1.8x as
     * much). */
    int maps_needed = has_mode(modes, n_modes, GCAM_TTA_CROP) ||
                      has_mode(modes, n_modes, GCAM_TTA_CENTER) ||
                      has_mode(modes, n_modes, GCAM_TTA_RANDOM);
    call.keep_from = maps_needed ? gcam_saliency_layer(net, &call.mso, err) : call.logits_layer;
    int status = call.keep_from < 0 ? -1 : 0;
    double start = gcam_now_seconds(), whole_seconds = 0, focus_seconds[2] = {0, 0};
    if (!status) {
        gcam_net_predict_keeping(net, images, n, call.keep_from);
        memcpy(whole, gcam_net_last_logits(net), sizeof(float) * classes * n);
        memcpy(sums, whole, sizeof(float) * classes * n);
        for (int i = 0; i < n; ++i)
            gcam_top_classes(whole + classes * i, in.classes, 1, &call.predicted[i]);
        whole_seconds = gcam_now_seconds() - start;
    }
    if (!status && maps_needed)
        status = focus(&call, has_mode(modes, n_modes, GCAM_TTA_CROP), step_boxes, sums,
                       focus_seconds, err);
    for (int m = 0; m < n_modes && !status; ++m) {
        float *out = logits + classes * n * m;
        double mode_start = gcam_now_seconds(), shared = whole_seconds;
        memcpy(out, whole, sizeof(float) * classes * n);
        if (modes[m] == GCAM_TTA_CROP) {
            for (size_t k = 0; k < classes * n; ++k) out[k] = sums[k] / (steps + 1);
            shared += focus_seconds[0] + focus_seconds[1];
        } else if (modes[m] != GCAM_TTA_NONE) {
            int crops = modes[m] == GCAM_TTA_ORACLE ? 1 : steps;
            if (modes[m] != GCAM_TTA_ORACLE) shared += focus_seconds[0];
            gcam_rng *rngs = gcam_xmalloc(sizeof(gcam_rng) * (size_t)n); /* (n) */
            for (int i = 0; i < n; ++i)
                rngs[i] =
                    gcam_rng_init(o->seed ^ TTA_STREAM_KEY, (uint64_t)(int64_t)(ids ? ids[i] : i));
            for (int s = 0; s < crops; ++s) {
                for (int i = 0; i < n; ++i)
                    control_box(modes[m], o, maps_needed ? step_boxes[(size_t)s * n + i] : NULL,
                                boxes ? boxes[i] : NULL, &rngs[i], in.w, in.h, placed[i]);
                cut_crops(&call, (const float(*)[4])placed);
                gcam_net_predict_keeping(net, call.crops, n, call.logits_layer);
                const float *z = gcam_net_last_logits(net);
                if (crops == 1)
                    for (size_t k = 0; k < classes * n; ++k) out[k] = (out[k] + z[k]) / 2;
                else
                    for (size_t k = 0; k < classes * n; ++k) out[k] += z[k];
            }
            if (crops > 1)
                for (size_t k = 0; k < classes * n; ++k) out[k] /= crops + 1;
            free(rngs);
        }
        if (report) report->seconds[modes[m]] += shared + gcam_now_seconds() - mode_start;
    }
    if (!status && report) {
        mode_costs(&call, modes, n_modes, report->multiply_adds);
        for (int i = 0; i < n && report->crop_boxes; ++i) {
            float whole_box[4] = {0, 0, (float)in.w, (float)in.h};
            memcpy(report->crop_boxes[i],
                   maps_needed ? step_boxes[(size_t)(steps - 1) * n + i] : whole_box,
                   sizeof whole_box);
        }
    }
    free(call.crops);
    free(call.maps);
    free(call.predicted);
    free(whole);
    free(sums);
    free(step_boxes);
    free(placed);
    return status;
}
