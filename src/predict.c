/* gcam-predict's engine (gcam_predict_run in gcam/predict.h). */
#include "gcam/predict.h"

#include "gcam/data.h"

#include "error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Images per pass at most. */
#define PREDICT_BATCH 16

int gcam_predict_run(const gcam_settings *s, const char *weights, char *const *images, int n_images,
                     FILE *out, int *unreadable, gcam_error *err) {
    *unreadable = 0;
    gcam_data_files files = {0};
    if (s->data_path[0] && gcam_data_files_read(&files, s->data_path, err)) return -1;
    gcam_load_options lo = gcam_load_options_default();
    lo.weights = weights;
    lo.batch = n_images < PREDICT_BATCH ? n_images : PREDICT_BATCH;
    gcam_net *net;
    if (gcam_net_load(&net, s->cfg_path, &lo, err)) {
        gcam_data_files_free(&files);
        return -1;
    }
    gcam_net_info in = gcam_net_get_info(net);
    if (files.labels && files.n_labels != in.classes)
        fprintf(stderr, "gcam-predict: warning: %d labels for %d classes\n", files.n_labels,
                in.classes);
    int top = s->predict.top > 0 ? s->predict.top : (s->data_path[0] ? files.top : 5);
    if (top < 1) top = 5; /* a .data file's top=0 */
    if (top > in.classes) top = in.classes;
    float *probs = gcam_try_malloc(sizeof(float) * (size_t)n_images * in.classes,
                                   "the probabilities", err); /* (images, classes) */
    float *batch = gcam_xmalloc(sizeof(float) * (size_t)in.inputs * in.capacity); /* (b, c, h, w) */
    int *ok = gcam_xmalloc(sizeof(int) * (size_t)in.capacity);
    int *order = gcam_xmalloc(sizeof(int) * (size_t)in.classes);
    for (int start = 0; probs && start < n_images; start += in.capacity) {
        int n = n_images - start < in.capacity ? n_images - start : in.capacity;
        for (int i = 0; i < n; ++i) {
            gcam_error load_err;
            ok[i] = gcam_image_load_for_net(images[start + i], in.w, in.h, in.c,
                                            batch + (size_t)i * in.inputs, &load_err) == 0;
            if (!ok[i]) {
                fprintf(stderr, "gcam-predict: skipped: %s\n", load_err.message);
                ++*unreadable;
            }
        }
        const float *outputs = gcam_net_predict(net, batch, n);
        for (int i = 0; i < n; ++i) {
            float *p = probs + (size_t)(start + i) * in.classes;
            if (!ok[i]) { /* NaN marks a skipped image in the .npy */
                for (int k = 0; k < in.classes; ++k) p[k] = NAN;
                continue;
            }
            memcpy(p, outputs + (size_t)i * in.classes, sizeof(float) * in.classes);
            gcam_top_classes(p, in.classes, top, order);
            fprintf(out, "%s\n", images[start + i]);
            for (int k = 0; k < top; ++k) {
                int c = order[k];
                if (files.labels && c < files.n_labels)
                    fprintf(out, "  %6.2f%%  %s\n", 100 * p[c], files.labels[c]);
                else
                    fprintf(out, "  %6.2f%%  class %d\n", 100 * p[c], c);
            }
        }
    }
    int status = probs ? 0 : -1;
    if (!status && s->predict.probs[0]) {
        size_t dims[2] = {(size_t)n_images, (size_t)in.classes};
        status = gcam_npy_write(s->predict.probs, probs, dims, 2, err);
    }
    if (*unreadable)
        fprintf(stderr, "gcam-predict: %d of %d images could not be read\n", *unreadable, n_images);
    free(order);
    free(ok);
    free(batch);
    free(probs);
    gcam_data_files_free(&files);
    gcam_net_free(net);
    return status;
}
