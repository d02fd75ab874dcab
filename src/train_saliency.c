/* The trainer's side of saliency-guided augmentation (see train_saliency.h). */
#include "train_saliency.h"

#include "gcam/saliency.h"

#include "clock.h"
#include "error.h"
#include "guided.h"
#include "heatmap.h"
#include "image_ops.h"
#include "metrics.h"
#include "network.h"
#include "rng.h"

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
                             char *const *class_names, const gcam_boxes *boxes, int ranks,
                             gcam_error *err) {
    memset(ts, 0, sizeof *ts);
    const gcam_train_options *t = &s->train;
    ts->guided = &t->guided;
    ts->boxes = boxes;
    ts->seed = (uint64_t)s->seed;

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
    ts->view = gcam_xmalloc(sizeof(float) * (size_t)info.inputs);
    /* fresh maps and the oracle's boxes need no cache */
    int cached = t->source == GCAM_SOURCE_CACHE && gcam_guide_uses_cache(t->guided.source);
    if (gcam_map_cache_init(&ts->cache, cached ? train->n : 0, t->guided.map_size, capacity * ranks,
                            err))
        return -1;
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
    free(ts->view);
    free(ts->grid_maps);
    free(ts->grid_images);
    free(ts->grid_classes);
    memset(ts, 0, sizeof *ts);
}

static void count_crop_area(gcam_train_saliency *ts, float fraction) {
    int bin = (int)(fraction * GCAM_CROP_AREA_BINS);
    ++ts->crop_area_bins[bin < 0 ? 0
                                 : (bin >= GCAM_CROP_AREA_BINS ? GCAM_CROP_AREA_BINS - 1 : bin)];
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
        if (f & GCAM_GUIDED_CROP) count_crop_area(ts, b->crop_fractions[i]);
    }
}

/* The pointing-game hit and the share of the mass inside box (x0 y0 x1 y1 in source
 * pixels) of map (h, w), whose pixel centres come from a src_w x src_h source through
 * warp: a hit when the map's maximum falls within the pointing game's tolerance (15 px at
 * 224, scaled) of the box. */
static void box_quality(const float *map, int h, int w, const gcam_warp *warp, int src_w, int src_h,
                        const float box[4], int *hit, double *mass) {
    float tolerance = 15.f * (h < w ? h : w) / 224 * (float)src_w / w;
    double inside = 0, total = 0, peak = -1;
    float peak_x = 0, peak_y = 0;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            float px = (warp->flipped ? w - x - 1 : x) + 0.5f, py = y + 0.5f;
            float sx = warp->ax * px + warp->bx * py + warp->cx;
            float sy = warp->ay * px + warp->by * py + warp->cy;
            double v = map[(size_t)y * w + x];
            total += v;
            if (sx >= box[0] && sx < box[2] && sy >= box[1] && sy < box[3]) inside += v;
            if (v > peak) peak = v, peak_x = sx, peak_y = sy;
        }
    (void)src_h;
    *hit = gcam_point_in_box(peak_x, peak_y, box, tolerance);
    *mass = total > 0 ? inside / total : 0;
}

/* Counts one map's quality, in the window and in the run's totals. */
static void add_quality(gcam_train_saliency *ts, int hit, double mass) {
    ++ts->window_maps, ts->window_hits += hit, ts->window_mass += mass;
    ++ts->quality_maps, ts->quality_hits += hit, ts->quality_mass += mass;
}

void gcam_train_saliency_quality_start(gcam_train_saliency *ts) {
    ts->window_maps = 0;
    ts->window_hits = ts->window_mass = 0;
}

int gcam_train_saliency_quality(const gcam_train_saliency *ts, double *hit, double *mass) {
    if (!ts->window_maps) return 0;
    *hit = ts->window_hits / ts->window_maps;
    *mass = ts->window_mass / ts->window_maps;
    return 1;
}

int gcam_train_saliency_refresh(gcam_train_saliency *ts, gcam_net *net, const gcam_dataset *ds,
                                const gcam_batch *batch, int first_index, long iteration,
                                double *seconds, gcam_error *err) {
    double t0 = gcam_now_seconds();
    int n = batch->n;
    if (ts->max_images > 0 && ts->max_images - first_index < n)
        n = ts->max_images > first_index ? (int)(ts->max_images - first_index) : 0;
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
        const float *map = ts->maps + map_floats * i;
        gcam_map_cache_stage(&ts->cache, ts->ids[i], map, ts->h, ts->w);
        const float *box = gcam_boxes_find(ts->boxes, ds->paths[ts->ids[i]]);
        if (box) { /* the refreshed image was the whole source resized to the input */
            int src_w = batch->src_w[i], src_h = batch->src_h[i], hit;
            double mass;
            gcam_warp whole = {(float)src_w / ts->w, 0, 0, 0, (float)src_h / ts->h, 0, 0};
            box_quality(map, ts->h, ts->w, &whole, src_w, src_h, box, &hit, &mass);
            add_quality(ts, hit, mass);
        }
    }
    ++ts->refreshes;
    *seconds = gcam_now_seconds() - t0;
    ts->refresh_seconds += *seconds;
    return 0;
}

/* Mixed into the seed of the fresh transforms' generators. */
#define FRESH_STREAM_KEY 0x51ed270b27cfa1c5ULL

int gcam_train_saliency_fresh(gcam_train_saliency *ts, gcam_net *net, const gcam_dataset *ds,
                              float *images, const int *labels, int n, const gcam_batch *batch,
                              int64_t batch_index, float *maps, int *has_map, double *seconds,
                              gcam_error *err) {
    double t0 = gcam_now_seconds();
    const gcam_guided_config *g = ts->guided;
    size_t hw = (size_t)ts->h * ts->w, image_floats = hw * ts->c;
    size_t cells = (size_t)g->map_size * g->map_size;
    if (gcam_saliency(net, images, n, labels, &ts->options, ts->maps, NULL, ts->constant, err))
        return -1;
    unsigned char *bytes = gcam_xmalloc(cells);       /* (size, size) */
    float *map = gcam_xmalloc(sizeof(float) * cells); /* (size, size) */
    for (int i = 0; i < n; ++i) {
        gcam_rng rng = gcam_rng_init(ts->seed ^ FRESH_STREAM_KEY, (uint64_t)batch_index * n + i);
        has_map[i] = 0;
        ++ts->samples;
        /* this image's map, or for the shuffled control another image's of the batch */
        int source = i;
        if (g->source == GCAM_GUIDE_SHUFFLED && n > 1) {
            int other = (int)(gcam_rng_next(&rng) % (uint32_t)(n - 1));
            source = other >= i ? other + 1 : other;
        }
        const float *box = gcam_boxes_find(ts->boxes, ds->paths[batch->sample_ids[i]]);
        if (box && !ts->constant[i]) { /* the image's own map, in the loader's view */
            int hit;
            double mass;
            box_quality(ts->maps + hw * i, ts->h, ts->w, &batch->warps[i], batch->src_w[i],
                        batch->src_h[i], box, &hit, &mass);
            add_quality(ts, hit, mass);
        }
        if (ts->constant[i] || ts->constant[source]) {
            ts->maps_constant += ts->constant[i];
            continue;
        }
        gcam_map_cells(ts->maps + hw * source, ts->h, ts->w, g->map_size, bytes);
        for (size_t k = 0; k < cells; ++k) map[k] = bytes[k] / 255.f;
        gcam_guided_sample sample = {map, GCAM_GUIDED_HAD_MAP, 0};
        gcam_warp warp = {1, 0, 0, 0, 1, 0, 0}; /* the view itself */
        gcam_guided_crop(g, ts->w, ts->h, ts->w, ts->h, &rng, &warp, &sample);
        float *x = images + image_floats * i;
        const gcam_image *src = batch->sources ? &batch->sources[i] : NULL;
        if (sample.flags & GCAM_GUIDED_CROP) {
            if (src && src->data) {
                /* the box of the view, cut from the source through the view's own warp,
                 * with the view's colour jitter */
                gcam_warp from_source = gcam_warp_compose(&batch->warps[i], &warp, ts->w);
                gcam_warp_apply(&from_source, src->data, src->c, src->w, src->h, x, ts->w, ts->h);
                gcam_augment_apply_color(&batch->colors[i], x, ts->c, ts->w, ts->h);
            } else { /* the view re-zoomed to the box */
                memcpy(ts->view, x, sizeof(float) * image_floats);
                gcam_warp_apply(&warp, ts->view, ts->c, ts->w, ts->h, x, ts->w, ts->h);
            }
        }
        gcam_guided_masks(g, &warp, ts->w, ts->h, x, ts->c, ts->h, ts->w, &rng, &sample);
        gcam_guided_warp_map(map, g->map_size, &warp, ts->w, ts->h, maps + hw * i, ts->w, ts->h);
        has_map[i] = 1;
        ++ts->with_map;
        ts->crops += (sample.flags & GCAM_GUIDED_CROP) != 0;
        ts->drops += (sample.flags & GCAM_GUIDED_DROP) != 0;
        ts->keeps += (sample.flags & GCAM_GUIDED_KEEP) != 0;
        ts->cutouts += (sample.flags & GCAM_GUIDED_CUTOUT) != 0;
        ts->crop_fraction_sum += sample.crop_fraction;
        if (sample.flags & GCAM_GUIDED_CROP) count_crop_area(ts, sample.crop_fraction);
        ++ts->maps_stored;
    }
    free(bytes);
    free(map);
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

/* The upper edge of the bin where the crops' area shares reach quantile q (0 without
 * crops): a percentile to 1 / GCAM_CROP_AREA_BINS of the image. */
static double crop_area_percentile(const gcam_train_saliency *ts, double q) {
    double total = 0, seen = 0;
    for (int b = 0; b < GCAM_CROP_AREA_BINS; ++b) total += ts->crop_area_bins[b];
    for (int b = 0; b < GCAM_CROP_AREA_BINS && total > 0; ++b) {
        seen += ts->crop_area_bins[b];
        if (seen >= q * total) return (b + 1.0) / GCAM_CROP_AREA_BINS;
    }
    return 0;
}

void gcam_train_saliency_summary(FILE *out, const gcam_train_saliency *ts, const char *guide,
                                 double run_seconds, long iteration) {
    double age = 0;
    int covered = ts->cache.n ? gcam_map_cache_covered(&ts->cache, (int32_t)iteration, &age) : 0;
    double per = ts->samples ? 100.0 / ts->samples : 0;
    fprintf(out,
            "gcam-train: saliency (%s, guide %s): %ld refreshes, %.3f s each, %.1f%% of the "
            "run; %ld maps stored, %ld constant; coverage %d/%d images, mean age %.0f "
            "iterations\n",
            gcam_method_name(ts->options.method), guide, ts->refreshes,
            ts->refreshes ? ts->refresh_seconds / ts->refreshes : 0,
            run_seconds > 0 ? 100 * ts->refresh_seconds / run_seconds : 0, ts->maps_stored,
            ts->maps_constant, covered, ts->cache.n, age);
    fprintf(out,
            "gcam-train: guided transforms over %ld samples: map %.1f%%, crop %.1f%% (mean box "
            "%.1f%% of the image; 5th, 50th, 95th percentile %.0f%%, %.0f%%, %.0f%%), drop "
            "%.1f%%, keep %.1f%%, cutout %.1f%%\n",
            ts->samples, per * ts->with_map, per * ts->crops,
            ts->crops ? 100 * ts->crop_fraction_sum / ts->crops : 0,
            100 * crop_area_percentile(ts, 0.05), 100 * crop_area_percentile(ts, 0.5),
            100 * crop_area_percentile(ts, 0.95), per * ts->drops, per * ts->keeps,
            per * ts->cutouts);
}
