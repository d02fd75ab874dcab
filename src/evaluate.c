/* The evaluation of saliency methods (gcam_evaluate and gcam_eval_sanity in gcam/eval.h).
 * Images go through in chunks: one saliency call per method and chunk, then every point
 * of every image's deletion and insertion curves as packed forwards of the network's
 * batch. */
#include "gcam/eval.h"

#include "gcam/predict.h"
#include "gcam/saliency.h"

#include "clock.h"
#include "error.h"
#include "evaluate.h"
#include "image_ops.h"
#include "metrics.h"
#include "network.h"
#include "progress.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Images per saliency call: Group-CAM packs G + 1 blends per image into the batch. */
#define EVAL_CHUNK 16

/* ---- evaluation ------------------------------------------------------------------- */

void gcam_eval_result_free(gcam_eval_result *r) {
    free(r->records);
    free(r->labels);
    free(r->images);
    free(r->tta_predicted);
    free(r->tta_crop_cover);
    free(r->center);
    free(r->mean_deletion);
    free(r->mean_insertion);
    free(r->sanity_layers);
    free(r->sanity_mean);
    free(r->sanity_se);
    memset(r, 0, sizeof *r);
}

/* Buffers of one chunk of images. */
typedef struct chunk {
    int n;                      /* images loaded */
    int *index;                 /* (cap) index in the list */
    float *images;              /* (cap, c, h, w) */
    float *blurred;             /* (cap, c, h, w) insertion start */
    int *cls;                   /* (cap) the class explained */
    int *label;                 /* (cap) the true class */
    float (*box)[4];            /* (cap) in input pixels; NaN where has_box is 0 */
    int *has_box;               /* (cap) */
    float *p_image, *p_blurred; /* (cap) p_c of the image and of its blurred copy */
    /* (cap) the decoded images, kept while test-time crops are cut from them; NULL when
     * none is */
    gcam_image *sources;
    int cap;
} chunk;

static void release_sources(chunk *ch) {
    for (int i = 0; ch->sources && i < ch->cap; ++i) gcam_image_free(&ch->sources[i]);
}

typedef struct evaluator {
    gcam_net *net;
    const gcam_eval_options *o;
    gcam_saliency_options so;          /* the caller's, with the evaluation's RISE masks */
    const gcam_tta_options *tta;       /* test-time crops */
    const volatile sig_atomic_t *stop; /* the caller's stop request, or NULL */
    int H, W, C;
    size_t hw, image_floats;
    int step, points;
    float *zeros;   /* (c, h, w) the deletion substrate */
    float *p_zeros; /* (classes) probabilities of the substrate */
    float *batch;   /* (capacity, c, h, w) curve inputs */
    float *maps;    /* (chunk, h, w) */
    int *orders;    /* (chunk, hw) */
    int *constant;  /* (chunk) */
    float *curves;  /* (chunk, 2, points) deletion then insertion */
} evaluator;

/* Loads up to cap readable images from position *next of the list. */
static void load_chunk(evaluator *ev, chunk *ch, int cap, int n, char *const *paths,
                       const int *labels, const gcam_boxes *boxes, int *next, int *unreadable) {
    ch->n = 0;
    release_sources(ch);
    while (ch->n < cap && *next < n) {
        int i = (*next)++;
        gcam_image im;
        gcam_error err;
        if (gcam_image_load(&im, paths[i], ev->C, &err)) {
            fprintf(stderr, "gcam-eval: skipping unreadable image: %s\n", err.message);
            ++*unreadable;
            continue;
        }
        gcam_image sized;
        gcam_image_resize(&im, ev->W, ev->H, &sized);
        float *x = ch->images + ev->image_floats * ch->n;
        memcpy(x, sized.data, sizeof(float) * ev->image_floats);
        const float *box = gcam_boxes_find(boxes, paths[i]);
        ch->has_box[ch->n] = box != NULL;
        ch->box[ch->n][0] = NAN;
        if (box) { /* the image was resized to the input: so is its box */
            float sx = (float)ev->W / im.w, sy = (float)ev->H / im.h;
            ch->box[ch->n][0] = box[0] * sx, ch->box[ch->n][2] = box[2] * sx;
            ch->box[ch->n][1] = box[1] * sy, ch->box[ch->n][3] = box[3] * sy;
        }
        gcam_image_free(&sized);
        if (ch->sources)
            ch->sources[ch->n] = im;
        else
            gcam_image_free(&im);
        int size;
        float sigma;
        gcam_blur_parameters(ev->H, ev->W, &size, &sigma);
        gcam_gaussian_blur(x, ev->C, ev->H, ev->W, size, sigma,
                           ch->blurred + ev->image_floats * ch->n);
        ch->cls[ch->n] = ch->label[ch->n] = labels ? labels[i] : -1;
        ch->index[ch->n] = i;
        ++ch->n;
    }
}

/* p_c along every image's deletion and insertion curves, in packed forwards. The ends
 * are the same for every method: deletion starts at the image and ends at the substrate,
 * insertion starts at the blurred image and ends at the image; they come from
 * ch->p_image, ch->p_blurred and ev->p_zeros, and only the points between run here. */
static int stop_requested(const evaluator *ev) {
    return ev->stop && *ev->stop;
}

/* 1 when a stop request cut it short (the curves are then incomplete), else 0. */
static int score_curves(evaluator *ev, const chunk *ch) {
    int cap = ev->net->capacity, inner = ev->points - 2;
    int total = ch->n * 2 * inner;
    for (int start = 0; start < total; start += cap) {
        if (stop_requested(ev)) return 1;
        int m = total - start < cap ? total - start : cap;
        for (int j = 0; j < m; ++j) {
            int q = start + j, point = 1 + q % inner, curve = q / inner;
            int i = curve / 2, insertion = curve % 2;
            const float *x = ch->images + ev->image_floats * i;
            const float *from = insertion ? ch->blurred + ev->image_floats * i : x;
            const float *to = insertion ? x : ev->zeros;
            gcam_curve_input(from, to, ev->C, ev->hw, ev->orders + ev->hw * i, ev->step, point,
                             ev->batch + ev->image_floats * j);
        }
        const float *out = gcam_net_scores(ev->net, ev->batch, m);
        for (int j = 0; j < m; ++j) {
            int q = start + j, point = 1 + q % inner, curve = q / inner;
            ev->curves[(size_t)curve * ev->points + point] =
                gcam_class_probability(ev->net, out, j, ch->cls[curve / 2]);
        }
    }
    for (int i = 0; i < ch->n; ++i) {
        float *del = ev->curves + (size_t)(2 * i) * ev->points, *ins = del + ev->points;
        del[0] = ins[ev->points - 1] = ch->p_image[i];
        del[ev->points - 1] = ev->p_zeros[ch->cls[i]];
        ins[0] = ch->p_blurred[i];
    }
    return 0;
}

/* p_c of each image and of its blurred copy, and of the all-zero substrate. */
static void score_ends(evaluator *ev, chunk *ch) {
    const float *out = gcam_net_scores(ev->net, ch->images, ch->n);
    for (int i = 0; i < ch->n; ++i)
        ch->p_image[i] = gcam_class_probability(ev->net, out, i, ch->cls[i]);
    out = gcam_net_scores(ev->net, ch->blurred, ch->n);
    for (int i = 0; i < ch->n; ++i)
        ch->p_blurred[i] = gcam_class_probability(ev->net, out, i, ch->cls[i]);
}

static void evaluator_init(evaluator *ev, gcam_net *net, const gcam_eval_options *o,
                           const gcam_saliency_options *so, int cap) {
    network *dn = net->dn;
    memset(ev, 0, sizeof *ev);
    ev->net = net;
    ev->o = o;
    ev->so = *so;
    ev->so.rise_n = o->rise_n;
    ev->H = dn->h, ev->W = dn->w, ev->C = dn->c;
    ev->hw = (size_t)ev->H * ev->W;
    ev->image_floats = ev->hw * ev->C;
    ev->step = o->step > 0 ? o->step : (int)((ev->hw + 27) / 28);
    ev->points = gcam_curve_points(ev->hw, ev->step);
    ev->zeros = gcam_xcalloc(ev->image_floats, sizeof(float));
    ev->p_zeros = gcam_xmalloc(sizeof(float) * (size_t)net->classes);
    const float *out = gcam_net_scores(net, ev->zeros, 1);
    for (int k = 0; k < net->classes; ++k) ev->p_zeros[k] = gcam_class_probability(net, out, 0, k);
    ev->batch = gcam_xmalloc(sizeof(float) * ev->image_floats * (size_t)net->capacity);
    ev->maps = gcam_xmalloc(sizeof(float) * ev->hw * (size_t)cap);
    ev->orders = gcam_xmalloc(sizeof(int) * ev->hw * (size_t)cap);
    ev->constant = gcam_xmalloc(sizeof(int) * (size_t)cap);
    ev->curves = gcam_xmalloc(sizeof(float) * 2 * (size_t)ev->points * (size_t)cap);
}

static void evaluator_free(evaluator *ev) {
    free(ev->zeros);
    free(ev->p_zeros);
    free(ev->batch);
    free(ev->maps);
    free(ev->orders);
    free(ev->constant);
    free(ev->curves);
}

static void chunk_init(chunk *ch, int cap, size_t image_floats, int keep_sources) {
    ch->cap = cap;
    ch->sources = keep_sources ? gcam_xcalloc((size_t)cap, sizeof *ch->sources) : NULL;
    ch->index = gcam_xmalloc(sizeof(int) * (size_t)cap);
    ch->images = gcam_xmalloc(sizeof(float) * image_floats * (size_t)cap);
    ch->blurred = gcam_xmalloc(sizeof(float) * image_floats * (size_t)cap);
    ch->cls = gcam_xmalloc(sizeof(int) * (size_t)cap);
    ch->label = gcam_xmalloc(sizeof(int) * (size_t)cap);
    ch->box = gcam_xmalloc(sizeof(float[4]) * (size_t)cap);
    ch->has_box = gcam_xmalloc(sizeof(int) * (size_t)cap);
    ch->p_image = gcam_xmalloc(sizeof(float) * (size_t)cap);
    ch->p_blurred = gcam_xmalloc(sizeof(float) * (size_t)cap);
}

static void chunk_free(chunk *ch) {
    release_sources(ch);
    free(ch->sources);
    free(ch->index);
    free(ch->images);
    free(ch->blurred);
    free(ch->cls);
    free(ch->label);
    free(ch->box);
    free(ch->has_box);
    free(ch->p_image);
    free(ch->p_blurred);
}

/* The classes to explain: the true ones, or the predicted ones. */
static void choose_classes(gcam_net *net, const gcam_eval_options *o, chunk *ch) {
    if (!o->predicted && ch->cls[0] >= 0) return;
    const float *out = gcam_net_predict(net, ch->images, ch->n);
    for (int i = 0; i < ch->n; ++i) {
        const float *row = out + (size_t)i * net->classes;
        int best = 0;
        for (int k = 1; k < net->classes; ++k)
            if (row[k] > row[best]) best = k;
        ch->cls[i] = best;
    }
}

/* <out_dir>/maps/<stem>_<method>.npy of image i of the chunk. */
static int write_map(const evaluator *ev, const chunk *ch, char *const *paths, int i, int m,
                     gcam_error *err) {
    const char *path = paths[ch->index[i]], *slash = strrchr(path, '/');
    char stem[GCAM_PATH_MAX], file[2 * GCAM_PATH_MAX + 64];
    snprintf(stem, sizeof stem, "%s", slash ? slash + 1 : path);
    char *dot = strrchr(stem, '.');
    if (dot && dot != stem) *dot = '\0';
    snprintf(file, sizeof file, "%s/maps/%s_%s.npy", ev->o->out_dir, stem,
             gcam_method_name(ev->o->methods[m]));
    size_t dims[2] = {(size_t)ev->H, (size_t)ev->W};
    return gcam_npy_write(file, ev->maps + ev->hw * i, dims, 2, err);
}

/* One method on one chunk: its maps, their curves, and the records. 1 when a stop request
 * cut it short before any record or sum changed. */
static int evaluate_method(evaluator *ev, chunk *ch, char *const *paths, int m, gcam_eval_result *r,
                           gcam_error *err) {
    int M = ev->o->n_methods, P = ev->points;
    gcam_saliency_options so = ev->so;
    so.method = ev->o->methods[m];
    double t0 = gcam_now_seconds();
    if (gcam_saliency(ev->net, ch->images, ch->n, ch->cls, &so, ev->maps, NULL, ev->constant, err))
        return -1;
    float per_image = (float)((gcam_now_seconds() - t0) / ch->n);
    for (int i = 0; i < ch->n; ++i) {
        gcam_saliency_order(ev->maps + ev->hw * i, ev->hw, ev->orders + ev->hw * i);
        if (ev->o->raw && write_map(ev, ch, paths, i, m, err)) return -1;
    }
    if (stop_requested(ev) || score_curves(ev, ch)) return 1;
    for (int i = 0; i < ch->n; ++i) {
        const float *del = ev->curves + (size_t)(2 * i) * P, *ins = del + P;
        gcam_eval_record *rec = &r->records[(size_t)(r->n_images + i) * M + m];
        rec->image = ch->index[i];
        rec->method = m;
        rec->cls = ch->cls[i];
        rec->failed = ev->constant[i];
        rec->deletion_auc = (float)gcam_auc(del, P);
        rec->insertion_auc = (float)gcam_auc(ins, P);
        rec->pointing_hit = ch->has_box[i] ? gcam_pointing_hit(ev->maps + ev->hw * i, ev->H, ev->W,
                                                               ch->box[i], r->tolerance)
                                           : -1;
        rec->seconds = per_image;
        for (int k = 0; k < P; ++k) {
            r->mean_deletion[(size_t)m * P + k] += del[k];
            r->mean_insertion[(size_t)m * P + k] += ins[k];
        }
    }
    return 0;
}

/* The test-time crop modes evaluated: every one, oracle only with boxes. */
static int tta_modes(const gcam_boxes *boxes, gcam_tta_mode *modes) {
    int n = 0;
    for (int m = 0; m < GCAM_TTA_MODE_COUNT; ++m)
        if (m != GCAM_TTA_ORACLE || boxes) modes[n++] = (gcam_tta_mode)m;
    return n;
}

/* The share of box `truth` inside box `crop` (x0 y0 x1 y1 each). */
static float box_cover(const float truth[4], const float crop[4]) {
    float area = (truth[2] - truth[0]) * (truth[3] - truth[1]);
    float w = fminf(truth[2], crop[2]) - fmaxf(truth[0], crop[0]);
    float h = fminf(truth[3], crop[3]) - fmaxf(truth[1], crop[1]);
    return area > 0 ? fmaxf(w, 0) * fmaxf(h, 0) / area : NAN;
}

/* Every test-time crop mode's prediction for a chunk's images, and where the crop mode's
 * box fell against each image's ground-truth box. */
static int evaluate_tta(evaluator *ev, const chunk *ch, gcam_eval_result *r, gcam_error *err) {
    int M = r->tta_n_modes;
    size_t classes = (size_t)ev->net->classes;
    float *logits = gcam_xmalloc(sizeof(float) * classes * ch->n * M);        /* (M, n, classes) */
    float(*crop_boxes)[4] = gcam_xmalloc(sizeof *crop_boxes * (size_t)ch->n); /* (n) */
    gcam_tta_report report = {.crop_boxes = crop_boxes};
    memcpy(report.seconds, r->tta_seconds, sizeof report.seconds);
    int status =
        gcam_tta_logits(ev->net, ev->tta, &ev->so, r->tta_modes, M, ch->images, ch->sources, ch->n,
                        (const float(*)[4])ch->box, ch->index, logits, &report, err);
    for (int m = 0; m < M && !status; ++m)
        for (int i = 0; i < ch->n; ++i) {
            int best;
            gcam_top_classes(logits + classes * ((size_t)m * ch->n + i), (int)classes, 1, &best);
            r->tta_predicted[(size_t)(r->n_images + i) * M + m] = best;
        }
    int cropped = 0;
    for (int m = 0; m < M; ++m) cropped |= r->tta_modes[m] == GCAM_TTA_CROP;
    for (int i = 0; i < ch->n && !status; ++i)
        r->tta_crop_cover[r->n_images + i] =
            cropped && ch->has_box[i] ? box_cover(ch->box[i], crop_boxes[i]) : NAN;
    if (!status) {
        memcpy(r->tta_seconds, report.seconds, sizeof report.seconds);
        memcpy(r->tta_multiply_adds, report.multiply_adds, sizeof report.multiply_adds);
    }
    free(crop_boxes);
    free(logits);
    return status;
}

/* The centre-point baseline of the pointing game on a chunk. */
static void score_centre(const evaluator *ev, const chunk *ch, gcam_eval_result *r) {
    for (int i = 0; i < ch->n; ++i) {
        r->center[r->n_images + i] = -1;
        if (!ch->has_box[i]) continue;
        int hit = gcam_point_in_box(ev->W / 2.f, ev->H / 2.f, ch->box[i], r->tolerance);
        ++r->with_boxes;
        r->center_hits += hit;
        r->center[r->n_images + i] = (signed char)hit;
    }
}

int gcam_evaluate(gcam_net *net, const gcam_eval_options *o, const gcam_saliency_options *so,
                  const gcam_tta_options *tta, int n, char *const *paths, const int *labels,
                  const gcam_boxes *boxes, FILE *progress, const volatile sig_atomic_t *stop,
                  gcam_eval_result *r, gcam_error *err) {
    memset(r, 0, sizeof *r);
    if (o->n_methods < 0 || o->n_methods > GCAM_METHOD_COUNT)
        return gcam_fail(err, "%d methods: expected 0 to %d", o->n_methods, GCAM_METHOD_COUNT);
    if (!o->n_methods && !(o->tta && labels))
        return gcam_fail(err, "no saliency method and no test-time crop: nothing to evaluate");
    if (o->raw) {
        char maps_dir[GCAM_PATH_MAX + 16];
        snprintf(maps_dir, sizeof maps_dir, "%s/maps", o->out_dir);
        if (gcam_mkdir_p(maps_dir, err)) return -1;
    }
    if (o->limit > 0 && o->limit < n) n = o->limit;
    int cap = EVAL_CHUNK < net->capacity ? EVAL_CHUNK : net->capacity;
    evaluator ev;
    evaluator_init(&ev, net, o, so, cap);
    ev.tta = tta;
    ev.stop = stop;
    int M = o->n_methods, P = ev.points;
    r->points = P;
    r->step = ev.step;
    r->tolerance = o->tolerance > 0 ? o->tolerance : 15.f * (ev.H < ev.W ? ev.H : ev.W) / 224;
    r->records = gcam_xcalloc((size_t)n * M + 1, sizeof(gcam_eval_record));
    r->images = gcam_xcalloc((size_t)n + 1, sizeof(int));
    r->center = gcam_xcalloc((size_t)n + 1, 1);
    r->mean_deletion = gcam_xcalloc((size_t)M * P, sizeof(double));
    r->mean_insertion = gcam_xcalloc((size_t)M * P, sizeof(double));
    r->labels = gcam_xcalloc((size_t)n + 1, sizeof(int));
    if (o->tta && labels) {
        r->tta_n_modes = tta_modes(boxes, r->tta_modes);
        r->tta_predicted = gcam_xcalloc((size_t)n * r->tta_n_modes + 1, sizeof(int));
        r->tta_crop_cover = gcam_xcalloc((size_t)n + 1, sizeof(float));
    }
    chunk ch;
    chunk_init(&ch, cap, ev.image_floats,
               r->tta_n_modes && tta->crop_source == GCAM_CROP_FROM_IMAGE);
    double t_start = gcam_now_seconds();
    int next = 0, status = 0;
    gcam_progress_bar(progress, 0, n, 0);
    /* the sums before a chunk, restored when a stop request abandons it part way */
    double *sums_before = gcam_xmalloc(sizeof(double) * 2 * ((size_t)M * P + 1));
    while (next < n && !status && !stop_requested(&ev)) {
        load_chunk(&ev, &ch, cap, n, paths, labels, boxes, &next, &r->unreadable);
        if (!ch.n) break;
        choose_classes(net, o, &ch);
        score_ends(&ev, &ch);
        memcpy(sums_before, r->mean_deletion, sizeof(double) * M * P);
        memcpy(sums_before + (size_t)M * P, r->mean_insertion, sizeof(double) * M * P);
        if (r->tta_n_modes) status = evaluate_tta(&ev, &ch, r, err);
        for (int m = 0; m < M && !status; ++m) status = evaluate_method(&ev, &ch, paths, m, r, err);
        if (status > 0) { /* abandoned: the chunk counts for nothing */
            memcpy(r->mean_deletion, sums_before, sizeof(double) * M * P);
            memcpy(r->mean_insertion, sums_before + (size_t)M * P, sizeof(double) * M * P);
            status = 0;
            break;
        }
        score_centre(&ev, &ch, r);
        for (int i = 0; i < ch.n; ++i) {
            r->images[r->n_images + i] = ch.index[i];
            r->labels[r->n_images + i] = ch.label[i];
        }
        r->n_images += ch.n;
        gcam_progress_bar(progress, next, n, gcam_now_seconds() - t_start);
    }
    if (progress && next < n) fputc('\n', progress);
    for (size_t k = 0; r->n_images && k < (size_t)M * P; ++k) {
        r->mean_deletion[k] /= r->n_images;
        r->mean_insertion[k] /= r->n_images;
    }
    r->seconds = gcam_now_seconds() - t_start;
    free(sums_before);
    chunk_free(&ch);
    evaluator_free(&ev);
    if (!status && r->n_images == 0 && !stop_requested(&ev))
        status = gcam_fail(err, "no readable image among the %d listed", n);
    return status;
}

int gcam_eval_map(gcam_net *net, const gcam_eval_options *o, const gcam_saliency_options *so,
                  int method, const char *path, int cls, float *image, float *map,
                  gcam_error *err) {
    network *dn = net->dn;
    if (gcam_image_load_for_net(path, dn->w, dn->h, dn->c, image, err)) return -1;
    gcam_saliency_options mso = *so;
    mso.method = o->methods[method];
    mso.rise_n = o->rise_n;
    return gcam_saliency(net, image, 1, &cls, &mso, map, NULL, NULL, err);
}

/* ---- sanity check ----------------------------------------------------------------- */

int gcam_eval_sanity(gcam_net *net, const gcam_eval_options *o, const gcam_saliency_options *so,
                     int n, char *const *paths, gcam_eval_result *r, FILE *progress,
                     const volatile sig_atomic_t *stop, gcam_error *err) {
    network *dn = net->dn;
    int M = o->n_methods;
    int S = o->sanity_images < r->n_images ? o->sanity_images : r->n_images;
    if (S > net->capacity) S = net->capacity;
    if (S < 1) return 0;
    size_t hw = (size_t)dn->h * dn->w, image_floats = hw * dn->c;
    float *images = gcam_xmalloc(sizeof(float) * image_floats * (size_t)S);
    int *cls = gcam_xmalloc(sizeof(int) * (size_t)S);
    int loaded = 0;
    /* the first S evaluated images, at the classes they were evaluated with */
    for (int k = 0; k < r->n_images && loaded < S; ++k) {
        const gcam_eval_record *rec = &r->records[(size_t)k * M];
        gcam_error load_err;
        if (rec->image >= n || gcam_image_load_for_net(paths[rec->image], dn->w, dn->h, dn->c,
                                                       images + image_floats * loaded, &load_err))
            continue;
        cls[loaded++] = rec->cls;
    }
    S = loaded;
    /* the weighted layers, from the top */
    int *layers = gcam_xmalloc(sizeof(int) * (size_t)dn->n), depths = 0;
    for (int i = dn->n - 1; i >= 0; --i)
        if (dn->layers[i].type == CONVOLUTIONAL || dn->layers[i].type == CONNECTED)
            layers[depths++] = i;
    float *original = gcam_xmalloc(sizeof(float) * hw * (size_t)S * M); /* (M, S, hw) */
    float *maps = gcam_xmalloc(sizeof(float) * hw * (size_t)S);
    double *rho = gcam_xmalloc(sizeof(double) * (size_t)S);
    r->sanity_depths = depths;
    r->sanity_images = S;
    r->sanity_layers = layers;
    r->sanity_mean = gcam_xcalloc((size_t)M * depths + 1, sizeof(double));
    r->sanity_se = gcam_xcalloc((size_t)M * depths + 1, sizeof(double));
    int status = 0;
    gcam_saliency_options mso = *so;
    mso.rise_n = o->rise_n;
    for (int m = 0; m < M && !status; ++m) {
        mso.method = o->methods[m];
        status = gcam_saliency(net, images, S, cls, &mso, original + hw * S * m, NULL, NULL, err);
    }
    double t_start = gcam_now_seconds();
    for (int d = 0; d < depths && !status; ++d) {
        if (stop && *stop) { /* abandoned: no partial curve */
            if (progress) fputc('\n', progress);
            r->sanity_depths = 0;
            break;
        }
        gcam_net_randomize_layer(net, layers[d], o->sanity_seed);
        for (int m = 0; m < M && !status; ++m) {
            mso.method = o->methods[m];
            if (gcam_saliency(net, images, S, cls, &mso, maps, NULL, NULL, err)) {
                status = -1;
                break;
            }
            for (int i = 0; i < S; ++i)
                rho[i] = gcam_spearman(original + hw * ((size_t)S * m + i), maps + hw * i, hw);
            gcam_mean_se(rho, S, &r->sanity_mean[(size_t)m * depths + d],
                         &r->sanity_se[(size_t)m * depths + d]);
        }
        if (progress) {
            fprintf(progress, "\rsanity check: %d/%d layers randomised  %4.0fs", d + 1, depths,
                    gcam_now_seconds() - t_start);
            if (d + 1 == depths) fputc('\n', progress);
            fflush(progress);
        }
    }
    free(images);
    free(cls);
    free(original);
    free(maps);
    free(rho);
    return status;
}
