/* gcam-heatmap's engine (gcam_heatmap_run in gcam/saliency.h): images in chunks of the
 * network's batch, their top-5 classes, and one heatmap (and map) file per image. */
#include "gcam/saliency.h"

#include "gcam/data.h"

#include "error.h"
#include "heatmap.h"
#include "image_ops.h"
#include "tta.h"

#include <stdlib.h>
#include <string.h>

/* Images per pass: the Group-CAM blends of one call are packed in it. */
#define HEATMAP_BATCH 16

/* "dir/name.png" -> "name" */
static void stem_of(const char *path, char *out, size_t size) {
    const char *slash = strrchr(path, '/');
    snprintf(out, size, "%s", slash ? slash + 1 : path);
    char *dot = strrchr(out, '.');
    if (dot && dot != out) *dot = '\0';
}

typedef struct heatmap_job {
    const gcam_settings *s;
    gcam_net *net;
    gcam_net_info info;
    const gcam_data_files *files; /* class names, may have none */
    FILE *out;
    float *batch;  /* (capacity, c, h, w) */
    float *maps;   /* (capacity, h, w) */
    float *probs;  /* (capacity, classes) */
    int *index;    /* (capacity) position in the list */
    int *classes;  /* (capacity) class asked for */
    int *used;     /* (capacity) class explained */
    int *constant; /* (capacity) */
    int *order;    /* (classes) */
} heatmap_job;

static const char *class_name(const heatmap_job *job, int c, char *buf, size_t size) {
    if (job->files->labels && c < job->files->n_labels) return job->files->labels[c];
    snprintf(buf, size, "class %d", c);
    return buf;
}

/* The crop a test-time crop cuts in the box (input pixels) of the image at path, from
 * its decoded source, at the input size: <dir>/<stem>_crop.png. */
static int write_crop(const heatmap_job *job, const char *path, const char *stem,
                      const float box[4], gcam_error *err) {
    const gcam_net_info *in = &job->info;
    gcam_image source;
    if (gcam_image_load(&source, path, in->c, err)) return -1;
    /* the validation resize maps the whole source onto the input */
    float sx = (float)source.w / in->w, sy = (float)source.h / in->h;
    float in_source[4] = {box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy};
    float *crop = gcam_xmalloc(sizeof(float) * (size_t)in->inputs); /* (c, h, w) */
    gcam_image_resample_box(&source, in_source, in->w, in->h, crop);
    gcam_image_free(&source);
    char file[2 * GCAM_PATH_MAX + 64];
    snprintf(file, sizeof file, "%s/%s_crop.png", job->s->heatmap.out_dir, stem);
    int status = gcam_heatmap_write_png(file, crop, in->c, in->h, in->w, NULL, 0,
                                        job->s->heatmap.scale, err);
    free(crop);
    return status;
}

/* Prints image i's top classes and writes its files. */
static int write_one(heatmap_job *job, const char *path, int i, gcam_error *err) {
    const gcam_heatmap_options *o = &job->s->heatmap;
    gcam_net_info *in = &job->info;
    size_t hw = (size_t)in->h * in->w;
    char stem[GCAM_PATH_MAX], file[2 * GCAM_PATH_MAX + 64], name[32];
    stem_of(path, stem, sizeof stem);
    int top = in->classes < 5 ? in->classes : 5;
    const float *p = job->probs + (size_t)i * in->classes;
    gcam_top_classes(p, in->classes, top, job->order);
    fprintf(job->out, "%s\n", path);
    for (int k = 0; k < top; ++k)
        fprintf(job->out, "  %6.2f%%  %s\n", 100 * p[job->order[k]],
                class_name(job, job->order[k], name, sizeof name));
    fprintf(job->out, "  map of %s\n", class_name(job, job->used[i], name, sizeof name));
    if (job->constant[i]) fprintf(job->out, "  (the map is constant: written as zeros)\n");
    const char *method = gcam_method_name(job->s->saliency.method);
    snprintf(file, sizeof file, "%s/%s_%s.png", o->out_dir, stem, method);
    float box[4];
    if (o->box) {
        gcam_map_box(job->maps + i * hw, in->h, in->w, job->s->tta.threshold, job->s->tta.region,
                     box);
        gcam_tta_fit_box(box, job->s->tta.margin, in->w, in->h);
    }
    if (gcam_heatmap_write_png_boxed(file, job->batch + (size_t)i * in->inputs, in->c, in->h, in->w,
                                     job->maps + i * hw, o->alpha, o->scale, o->box ? box : NULL,
                                     err) ||
        (o->box && write_crop(job, path, stem, box, err)))
        return -1;
    if (!o->raw) return 0;
    size_t dims[2] = {(size_t)in->h, (size_t)in->w};
    snprintf(file, sizeof file, "%s/%s_%s.npy", o->out_dir, stem, method);
    return gcam_npy_write(file, job->maps + i * hw, dims, 2, err);
}

/* 0, or the stop request's value when one ended the run early. */
static int run(heatmap_job *job, const gcam_path_list *list, int *unreadable,
               const volatile sig_atomic_t *stop, gcam_error *err) {
    gcam_net_info *in = &job->info;
    int next = 0, done = 0, stopped = 0;
    while (next < list->n && !(stopped = stop ? *stop : 0)) {
        int n = 0;
        while (n < in->capacity && next < list->n) {
            gcam_error load_err;
            if (gcam_image_load_for_net(list->paths[next], in->w, in->h, in->c,
                                        job->batch + (size_t)n * in->inputs, &load_err) == 0) {
                job->index[n] = next;
                job->classes[n++] = job->s->heatmap.cls;
            } else {
                fprintf(stderr, "gcam-heatmap: skipped: %s\n", load_err.message);
                ++*unreadable;
            }
            ++next;
        }
        if (n == 0) break;
        memcpy(job->probs, gcam_net_predict(job->net, job->batch, n),
               sizeof(float) * (size_t)in->classes * n);
        if (gcam_saliency(job->net, job->batch, n, job->classes, &job->s->saliency, job->maps,
                          job->used, job->constant, err))
            return -1;
        for (int i = 0; i < n; ++i, ++done)
            if (write_one(job, list->paths[job->index[i]], i, err)) return -1;
    }
    if (*unreadable)
        fprintf(stderr, "gcam-heatmap: %d of %d images could not be read\n", *unreadable, list->n);
    fprintf(stderr, "gcam-heatmap: wrote %d heatmaps to %s%s\n", done, job->s->heatmap.out_dir,
            stopped ? " (stopped before the rest)" : "");
    return stopped;
}

int gcam_heatmap_run(const gcam_settings *s, const char *weights, char *const *inputs, int n_inputs,
                     FILE *out, int *unreadable, const volatile sig_atomic_t *stop,
                     gcam_error *err) {
    *unreadable = 0;
    heatmap_job job = {s, NULL, {0}, NULL, out, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    gcam_data_files files = {0};
    gcam_path_list list = {0};
    int status = -1;
    job.files = &files;
    gcam_load_options lo = gcam_load_options_default();
    lo.weights = weights;
    lo.batch = HEATMAP_BATCH;
    if ((s->data_path[0] && gcam_data_open(&files, s->data_path, &s->split, err)) ||
        gcam_path_list_expand(&list, inputs, n_inputs, err) ||
        gcam_net_load(&job.net, s->cfg_path, &lo, err) ||
        gcam_saliency_layer(job.net, &s->saliency, err) < 0)
        goto done;
    job.info = gcam_net_get_info(job.net);
    if (s->heatmap.cls >= job.info.classes) {
        gcam_fail(err, "-class %d: the network has %d classes", s->heatmap.cls, job.info.classes);
        goto done;
    }
    if (gcam_mkdir_p(s->heatmap.out_dir, err)) goto done;
    int cap = job.info.capacity;
    job.batch = gcam_try_malloc(sizeof(float) * (size_t)job.info.inputs * cap, "a batch", err);
    if (!job.batch) goto done;
    job.maps = gcam_xmalloc(sizeof(float) * (size_t)job.info.h * job.info.w * cap);
    job.probs = gcam_xmalloc(sizeof(float) * (size_t)job.info.classes * cap);
    job.index = gcam_xmalloc(sizeof(int) * (size_t)cap);
    job.classes = gcam_xmalloc(sizeof(int) * (size_t)cap);
    job.used = gcam_xmalloc(sizeof(int) * (size_t)cap);
    job.constant = gcam_xmalloc(sizeof(int) * (size_t)cap);
    job.order = gcam_xmalloc(sizeof(int) * (size_t)job.info.classes);
    status = run(&job, &list, unreadable, stop, err);
done:
    free(job.batch);
    free(job.maps);
    free(job.probs);
    free(job.index);
    free(job.classes);
    free(job.used);
    free(job.constant);
    free(job.order);
    gcam_net_free(job.net);
    gcam_path_list_free(&list);
    gcam_data_files_free(&files);
    return status;
}
