/* gcam-predict's engine (gcam_predict_run in gcam/predict.h): images in chunks of the
 * network's batch, their probabilities (with a test-time crop when asked), the top classes
 * printed, and every probability kept for the .npy file. */
#include "gcam/predict.h"

#include "gcam/data.h"

#include "error.h"
#include "network.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Images per pass at most. */
#define PREDICT_BATCH 16

typedef struct predictor {
    const gcam_settings *s;
    gcam_net *net;
    gcam_net_info in;
    gcam_data_files files;
    gcam_boxes boxes; /* -tta oracle */
    int top;          /* classes printed per image */
    float *batch;     /* (capacity, c, h, w) readable images, packed */
    int *index;       /* (capacity) their positions in the list */
    float (*box)[4];  /* (capacity) their boxes in input pixels; NaN: none */
    float *scores;    /* (capacity, classes) logits of the test-time crop */
    /* (capacity) the chunk's decoded images, kept while its test-time crops are cut from
     * them; NULL when no crop needs them */
    gcam_image *sources;
    int *order; /* (classes) */
} predictor;

static void release_sources(predictor *p) {
    for (int i = 0; p->sources && i < p->in.capacity; ++i) gcam_image_free(&p->sources[i]);
}

/* Loads readable images from position *next on, packed; returns how many. */
static int load_chunk(predictor *p, char *const *images, int n_images, int *next, int *unreadable) {
    int n = 0;
    release_sources(p);
    while (n < p->in.capacity && *next < n_images) {
        const char *path = images[(*next)++];
        gcam_image im, sized;
        gcam_error err;
        if (gcam_image_load(&im, path, p->in.c, &err)) {
            fprintf(stderr, "gcam-predict: skipped: %s\n", err.message);
            ++*unreadable;
            continue;
        }
        gcam_image_resize(&im, p->in.w, p->in.h, &sized);
        memcpy(p->batch + (size_t)p->in.inputs * n, sized.data, sizeof(float) * p->in.inputs);
        const float *truth = gcam_boxes_find(&p->boxes, path);
        float sx = (float)p->in.w / im.w, sy = (float)p->in.h / im.h;
        p->box[n][0] = truth ? truth[0] * sx : NAN, p->box[n][1] = truth ? truth[1] * sy : NAN;
        p->box[n][2] = truth ? truth[2] * sx : NAN, p->box[n][3] = truth ? truth[3] * sy : NAN;
        p->index[n] = *next - 1;
        if (p->sources)
            p->sources[n] = im;
        else
            gcam_image_free(&im);
        ++n;
        gcam_image_free(&sized);
    }
    return n;
}

/* The probabilities of the chunk's n images, (n, classes): the network's, or the softmax
 * of the logits averaged with a test-time crop's. */
static const float *probabilities(predictor *p, int n, gcam_error *err) {
    gcam_tta_mode mode = p->s->predict.tta;
    if (mode == GCAM_TTA_NONE) return gcam_net_scores(p->net, p->batch, n);
    if (gcam_tta_logits(p->net, &p->s->tta, &p->s->saliency, &mode, 1, p->batch, p->sources, n,
                        (const float(*)[4])p->box, p->index, p->scores, NULL, err))
        return NULL;
    for (int i = 0; i < n; ++i) {
        float *z = p->scores + (size_t)p->in.classes * i, max = z[0];
        double total = 0;
        for (int k = 1; k < p->in.classes; ++k) max = z[k] > max ? z[k] : max;
        for (int k = 0; k < p->in.classes; ++k) total += z[k] = expf(z[k] - max);
        for (int k = 0; k < p->in.classes; ++k) z[k] = (float)(z[k] / total);
    }
    return p->scores;
}

static void print_top(predictor *p, FILE *out, const char *path, const float *prob) {
    gcam_top_classes(prob, p->in.classes, p->top, p->order);
    fprintf(out, "%s\n", path);
    for (int k = 0; k < p->top; ++k) {
        int c = p->order[k];
        if (p->files.labels && c < p->files.n_labels)
            fprintf(out, "  %6.2f%%  %s\n", 100 * prob[c], p->files.labels[c]);
        else
            fprintf(out, "  %6.2f%%  class %d\n", 100 * prob[c], c);
    }
}

static void predictor_free(predictor *p) {
    release_sources(p);
    free(p->sources);
    free(p->batch);
    free(p->index);
    free(p->box);
    free(p->scores);
    free(p->order);
    gcam_boxes_free(&p->boxes);
    gcam_data_files_free(&p->files);
    gcam_net_free(p->net);
}

static int predictor_init(predictor *p, const gcam_settings *s, const char *weights, int n_images,
                          gcam_error *err) {
    memset(p, 0, sizeof *p);
    p->s = s;
    if (gcam_settings_check(s, GCAM_PROGRAM_PREDICT, err) ||
        (s->data_path[0] && gcam_data_open(&p->files, s->data_path, &s->split, err)) ||
        (s->predict.boxes[0] && gcam_boxes_read(&p->boxes, s->predict.boxes, err)))
        return -1;
    gcam_load_options lo = gcam_load_options_default();
    lo.weights = weights;
    lo.batch = n_images < PREDICT_BATCH ? n_images : PREDICT_BATCH;
    if (gcam_net_load(&p->net, s->cfg_path, &lo, err)) return -1;
    p->in = gcam_net_get_info(p->net);
    if (p->files.labels && p->files.n_labels != p->in.classes)
        fprintf(stderr, "gcam-predict: warning: %d labels for %d classes\n", p->files.n_labels,
                p->in.classes);
    p->top = s->predict.top > 0 ? s->predict.top : (s->data_path[0] ? p->files.top : 5);
    if (p->top < 1) p->top = 5; /* a .data file's top=0 */
    if (p->top > p->in.classes) p->top = p->in.classes;
    p->batch =
        gcam_try_malloc(sizeof(float) * p->in.inputs * (size_t)p->in.capacity, "a batch", err);
    if (!p->batch) return -1;
    p->index = gcam_xmalloc(sizeof(int) * (size_t)p->in.capacity);
    p->box = gcam_xmalloc(sizeof *p->box * (size_t)p->in.capacity);
    p->scores = gcam_xmalloc(sizeof(float) * p->in.classes * (size_t)p->in.capacity);
    p->order = gcam_xmalloc(sizeof(int) * (size_t)p->in.classes);
    if (s->predict.tta != GCAM_TTA_NONE && s->tta.crop_source == GCAM_CROP_FROM_IMAGE)
        p->sources = gcam_xcalloc((size_t)p->in.capacity, sizeof *p->sources);
    return 0;
}

int gcam_predict_run(const gcam_settings *s, const char *weights, char *const *inputs, int n_inputs,
                     FILE *out, int *unreadable, const volatile sig_atomic_t *stop,
                     gcam_error *err) {
    *unreadable = 0;
    gcam_path_list list;
    if (gcam_path_list_expand(&list, inputs, n_inputs, err)) {
        gcam_path_list_free(&list);
        return -1;
    }
    char *const *images = list.paths;
    int n_images = list.n;
    predictor p;
    if (!n_images || predictor_init(&p, s, weights, n_images, err)) {
        if (!n_images)
            gcam_fail(err, "no images among the arguments");
        else
            predictor_free(&p);
        gcam_path_list_free(&list);
        return -1;
    }
    size_t classes = (size_t)p.in.classes;
    float *all = gcam_try_malloc(sizeof(float) * classes * n_images, "the probabilities", err);
    int status = all ? 0 : -1; /* all: (images, classes); NaN rows mark unreadable images */
    for (size_t k = 0; all && k < classes * n_images; ++k) all[k] = NAN;
    int next = 0, stopped = 0;
    while (!status && next < n_images && !(stopped = stop ? *stop : 0)) {
        int n = load_chunk(&p, images, n_images, &next, unreadable);
        const float *prob = n ? probabilities(&p, n, err) : NULL;
        if (n && !prob) status = -1;
        for (int i = 0; i < n && !status; ++i) {
            memcpy(all + classes * p.index[i], prob + classes * i, sizeof(float) * classes);
            print_top(&p, out, images[p.index[i]], prob + classes * i);
        }
    }
    if (!status && s->predict.probs[0]) {
        size_t dims[2] = {(size_t)n_images, classes};
        status = gcam_npy_write(s->predict.probs, all, dims, 2, err);
    }
    if (*unreadable)
        fprintf(stderr, "gcam-predict: %d of %d images could not be read\n", *unreadable, n_images);
    if (!status && stopped)
        fprintf(stderr, "gcam-predict: stopped: %d of %d images read, the rest left out\n", next,
                n_images);
    free(all);
    predictor_free(&p);
    gcam_path_list_free(&list);
    return status ? status : stopped;
}
