/* The trainer's side of saliency-guided augmentation (see train_saliency.h). */
#include "train_saliency.h"

#include "gcam/saliency.h"

#include "clock.h"
#include "error.h"
#include "heatmap.h"
#include "network.h"

#include <stdlib.h>
#include <string.h>

/* Loads the first `want` readable images of ds for the heatmap grid. */
static int load_grid_images(gcam_train_saliency *ts, const gcam_dataset *ds, int want,
                            gcam_error *err) {
    size_t image_floats = (size_t)ts->c * ts->h * ts->w;
    ts->grid_images =
        gcam_try_malloc(sizeof(float) * image_floats * (size_t)want, "the heatmap grid", err);
    if (!ts->grid_images) return -1;
    ts->grid_classes = gcam_xmalloc(sizeof(int) * (size_t)want);
    ts->grid_maps = gcam_xmalloc(sizeof(float) * (size_t)ts->h * ts->w * (size_t)want);
    for (int id = 0; id < ds->n && ts->grid_n < want; ++id) {
        gcam_error load_err;
        if (gcam_image_load_for_net(ds->paths[id], ts->w, ts->h, ts->c,
                                    ts->grid_images + image_floats * ts->grid_n, &load_err))
            continue;
        ts->grid_classes[ts->grid_n++] = ds->labels[id];
    }
    return 0;
}

int gcam_train_saliency_init(gcam_train_saliency *ts, const gcam_settings *s, gcam_net *net,
                             const gcam_dataset *train, const gcam_dataset *grid_data,
                             char *const *class_names, gcam_error *err) {
    memset(ts, 0, sizeof *ts);
    const gcam_train_options *t = &s->train;
    if (gcam_settings_check(s, err)) return -1;
    ts->options = s->saliency;
    ts->options.groups = t->refresh_groups;
    ts->max_images = t->saliency_images;
    ts->class_names = class_names;
    gcam_error layer_err;
    if (gcam_saliency_layer(net, &ts->options, &layer_err) < 0)
        return gcam_fail(err, "%s: [gcam] saliency_layer: %s", s->cfg_path, layer_err.message);
    gcam_net_info info = gcam_net_get_info(net);
    ts->h = info.h, ts->w = info.w, ts->c = info.c;
    int capacity = info.capacity;
    ts->images = gcam_try_malloc(sizeof(float) * (size_t)capacity * info.inputs,
                                 "the images of a saliency refresh", err);
    if (!ts->images) return -1;
    ts->maps = gcam_xmalloc(sizeof(float) * (size_t)capacity * info.h * info.w);
    ts->classes = gcam_xmalloc(sizeof(int) * (size_t)capacity);
    ts->ids = gcam_xmalloc(sizeof(int) * (size_t)capacity);
    ts->constant = gcam_xmalloc(sizeof(int) * (size_t)capacity);
    if (gcam_map_cache_init(&ts->cache, train->n, t->guided.map_size, capacity, err)) return -1;
    if (t->heatmap_every > 0) {
        int want = (int)(t->heatmap_images < capacity ? t->heatmap_images : capacity);
        if (load_grid_images(ts, grid_data, want, err)) return -1;
    }
    return 0;
}

void gcam_train_saliency_free(gcam_train_saliency *ts) {
    gcam_map_cache_free(&ts->cache);
    free(ts->images);
    free(ts->maps);
    free(ts->classes);
    free(ts->ids);
    free(ts->constant);
    free(ts->grid_maps);
    free(ts->grid_images);
    free(ts->grid_classes);
    memset(ts, 0, sizeof *ts);
}

void gcam_train_saliency_count(gcam_train_saliency *ts, const gcam_batch *b) {
    for (int i = 0; i < b->n; ++i) {
        int f = b->guided_flags[i];
        ++ts->samples;
        ts->with_map += (f & GCAM_GUIDED_HAD_MAP) != 0;
        ts->crops += (f & GCAM_GUIDED_CROP) != 0;
        ts->drops += (f & GCAM_GUIDED_DROP) != 0;
        ts->keeps += (f & GCAM_GUIDED_KEEP) != 0;
        ts->cutouts += (f & GCAM_GUIDED_CUTOUT) != 0;
        ts->crop_fraction_sum += b->crop_fractions[i];
    }
}

int gcam_train_saliency_refresh(gcam_train_saliency *ts, gcam_net *net, const gcam_dataset *ds,
                                const gcam_batch *batch, long iteration, double *seconds,
                                gcam_error *err) {
    double t0 = gcam_now_seconds();
    int n = batch->n;
    if (ts->max_images > 0 && ts->max_images < n) n = (int)ts->max_images;
    size_t image_floats = (size_t)ts->c * ts->h * ts->w, map_floats = (size_t)ts->h * ts->w;
    int k = 0; /* readable images, packed */
    for (int i = 0; i < n; ++i) {
        gcam_error load_err;
        int id = batch->sample_ids[i];
        if (gcam_image_load_for_net(ds->paths[id], ts->w, ts->h, ts->c,
                                    ts->images + image_floats * k, &load_err))
            continue; /* became unreadable since it was loaded: no map this time */
        ts->ids[k] = id;
        ts->classes[k] = ds->labels[id];
        ++k;
    }
    if (k && gcam_saliency(net, ts->images, k, ts->classes, &ts->options, ts->maps, NULL,
                           ts->constant, err))
        return -1;
    gcam_map_cache_stage_begin(&ts->cache, (int32_t)iteration);
    for (int i = 0; i < k; ++i) {
        if (ts->constant[i]) {
            ++ts->maps_constant;
            continue;
        }
        gcam_map_cache_stage(&ts->cache, ts->ids[i], ts->maps + map_floats * i, ts->h, ts->w);
    }
    ++ts->refreshes;
    *seconds = gcam_now_seconds() - t0;
    ts->refresh_seconds += *seconds;
    return 0;
}

void gcam_train_saliency_commit(gcam_train_saliency *ts, gcam_loader *loader) {
    if (!ts->cache.staged_n) return;
    gcam_loader_wait(loader);
    ts->maps_stored += gcam_map_cache_commit(&ts->cache);
}

int gcam_train_saliency_grid(gcam_train_saliency *ts, gcam_net *net, const char *path,
                             gcam_error *err) {
    if (!ts->grid_n) return 0;
    gcam_net_info info = gcam_net_get_info(net);
    int *predicted = gcam_xmalloc(sizeof(int) * (size_t)ts->grid_n);
    const float *probs = gcam_net_predict(net, ts->grid_images, ts->grid_n);
    for (int i = 0; i < ts->grid_n; ++i)
        gcam_top_classes(probs + (size_t)i * info.classes, info.classes, 1, &predicted[i]);
    int status = gcam_saliency(net, ts->grid_images, ts->grid_n, ts->grid_classes, &ts->options,
                               ts->grid_maps, NULL, NULL, err);
    if (!status) {
        gcam_heatmap_label *labels = gcam_xcalloc((size_t)ts->grid_n, sizeof *labels);
        for (int i = 0; i < ts->grid_n; ++i)
            labels[i] = (gcam_heatmap_label){ts->grid_classes[i], predicted[i]};
        int scale = ts->h < 128 ? (128 + ts->h - 1) / ts->h : 1;
        status = gcam_heatmap_write_grid_png(path, ts->grid_images, ts->grid_maps, ts->grid_n,
                                             ts->c, ts->h, ts->w, 0.5f, scale, labels,
                                             ts->class_names, ts->options.method, err);
        free(labels);
    }
    free(predicted);
    return status;
}

void gcam_train_saliency_summary(FILE *out, const gcam_train_saliency *ts,
                                 const gcam_guided_config *guided, double run_seconds,
                                 long iteration) {
    double age = 0;
    int covered = ts->cache.n ? gcam_map_cache_covered(&ts->cache, (int32_t)iteration, &age) : 0;
    double per = ts->samples ? 100.0 / ts->samples : 0;
    fprintf(out,
            "gcam-train: saliency (%s, guide %s): %ld refreshes, %.3f s each, %.1f%% of the "
            "run; %ld maps stored, %ld constant; coverage %d/%d images, mean age %.0f "
            "iterations\n",
            gcam_method_name(ts->options.method),
            guided->source == GCAM_GUIDE_SHUFFLED ? "shuffled" : "saliency", ts->refreshes,
            ts->refreshes ? ts->refresh_seconds / ts->refreshes : 0,
            run_seconds > 0 ? 100 * ts->refresh_seconds / run_seconds : 0, ts->maps_stored,
            ts->maps_constant, covered, ts->cache.n, age);
    fprintf(out,
            "gcam-train: guided transforms over %ld samples: map %.1f%%, crop %.1f%% (mean box "
            "%.1f%% of the image), drop %.1f%%, keep %.1f%%, cutout %.1f%%\n",
            ts->samples, per * ts->with_map, per * ts->crops,
            ts->crops ? 100 * ts->crop_fraction_sum / ts->crops : 0, per * ts->drops,
            per * ts->keeps, per * ts->cutouts);
}
