/* The training loop (see train.h). One iteration is `subdivisions` forward/backward
 * passes of the network's batch followed by one update, as in Darknet. */
#include "train.h"

#include "atomic_file.h"
#include "cfg.h"
#include "clock.h"
#include "dataset.h"
#include "error.h"
#include "heatmap.h"
#include "image.h"
#include "kernels.h"
#include "loader.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- checkpoints ------------------------------------------------------------------ */

/* The momentum sidecar: "GCAMSTATE1", seen (uint64), float count (uint64), then every
 * layer's weight, bias and scale updates in layer order. Darknet's weights files do not
 * hold momentum; without it a resumed run would not continue the same trajectory. */
static const char state_magic[10] = "GCAMSTATE1";

typedef struct update_buffer {
    float *data;
    size_t n;
} update_buffer;

static int update_buffers(network *dn, update_buffer *out) {
    int k = 0;
    for (int i = 0; i < dn->n; ++i) {
        layer *l = &dn->layers[i];
        if (l->type != CONVOLUTIONAL && l->type != CONNECTED) continue;
        size_t nw = l->type == CONVOLUTIONAL ? (size_t)l->nweights : (size_t)l->inputs * l->outputs;
        size_t nb = (size_t)(l->type == CONVOLUTIONAL ? l->n : l->outputs);
        if (out) {
            out[k] = (update_buffer){l->weight_updates, nw};
            out[k + 1] = (update_buffer){l->bias_updates, nb};
            out[k + 2] = (update_buffer){l->scale_updates, l->scale_updates ? nb : 0};
        }
        k += 3;
    }
    return k;
}

static int save_state(network *dn, const char *path, gcam_error *err) {
    int n = update_buffers(dn, NULL);
    update_buffer *buffers = gcam_xcalloc((size_t)n + 1, sizeof *buffers);
    update_buffers(dn, buffers);
    uint64_t seen = *dn->seen, total = 0;
    for (int k = 0; k < n; ++k) total += buffers[k].n;
    atomic_file f;
    if (atomic_file_open(&f, path, err)) {
        free(buffers);
        return -1;
    }
    fwrite(state_magic, 1, sizeof state_magic, f.stream);
    fwrite(&seen, sizeof seen, 1, f.stream);
    fwrite(&total, sizeof total, 1, f.stream);
    for (int k = 0; k < n; ++k)
        if (buffers[k].n) fwrite(buffers[k].data, sizeof(float), buffers[k].n, f.stream);
    free(buffers);
    return atomic_file_commit(&f, err);
}

/* Loads the sidecar if it belongs to these weights (same seen, same size); returns 1 if
 * loaded, 0 if absent or not matching (training then restarts momentum from zero). */
static int load_state(network *dn, const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char magic[sizeof state_magic];
    uint64_t seen = 0, total = 0, expected = 0;
    int n = update_buffers(dn, NULL);
    update_buffer *buffers = gcam_xcalloc((size_t)n + 1, sizeof *buffers);
    update_buffers(dn, buffers);
    for (int k = 0; k < n; ++k) expected += buffers[k].n;
    int ok = fread(magic, 1, sizeof magic, f) == sizeof magic &&
             !memcmp(magic, state_magic, sizeof magic) && fread(&seen, 8, 1, f) == 1 &&
             fread(&total, 8, 1, f) == 1 && seen == *dn->seen && total == expected;
    for (int k = 0; ok && k < n; ++k)
        ok =
            !buffers[k].n || fread(buffers[k].data, sizeof(float), buffers[k].n, f) == buffers[k].n;
    if (!ok) /* a partial read must not leave half the momentum in place */
        for (int k = 0; k < n; ++k)
            if (buffers[k].n) memset(buffers[k].data, 0, sizeof(float) * buffers[k].n);
    fclose(f);
    free(buffers);
    return ok;
}

/* "<dir>/<cfg base name><suffix>" */
static void backup_path(char *out, size_t size, const char *dir, const char *base,
                        const char *suffix) {
    snprintf(out, size, "%s/%s%s", dir, base, suffix);
}

/* The weights path with its extension replaced by `extension`. */
static void sibling_state_path(char *out, size_t size, const char *weights, const char *extension) {
    snprintf(out, size, "%s", weights);
    char *dot = strrchr(out, '.');
    char *slash = strrchr(out, '/');
    if (dot && (!slash || dot > slash)) *dot = '\0';
    strncat(out, extension, size - strlen(out) - 1);
}

/* ---- the loop --------------------------------------------------------------------- */

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) {
    stop_signal = sig;
}

static void format_duration(char *out, size_t size, double seconds) {
    long s = (long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(out, size, "%ldh%02ldm", s / 3600, s / 60 % 60);
    else
        snprintf(out, size, "%ldm%02lds", s / 60, s % 60);
}

/* A [cost] layer after [softmax] adds an SSE gradient on top of the softmax's
 * cross-entropy one (Darknet trap 10); gcam trains on cross-entropy alone. */
static void noop_layer(layer l, network net) {}

static int disable_cost_after_softmax(network *dn) {
    int disabled = 0;
    for (int i = 1; i < dn->n; ++i)
        if (dn->layers[i].type == COST && dn->layers[i - 1].type == SOFTMAX) {
            dn->layers[i].forward = noop_layer;
            dn->layers[i].backward = noop_layer;
            disabled = 1;
        }
    return disabled;
}

static int softmax_layer_index(const network *dn) {
    for (int i = dn->n - 1; i >= 0; --i)
        if (dn->layers[i].type == SOFTMAX) return i;
    return -1;
}

/* 1 if every weight (updates: every accumulated gradient) of the network is finite: their
 * sum in double precision is finite exactly when each value is. */
static int all_finite(network *dn, int updates) {
    int n = update_buffers(dn, NULL);
    update_buffer *buffers = gcam_xcalloc((size_t)n + 1, sizeof *buffers);
    update_buffers(dn, buffers);
    double total = 0; /* float values cannot overflow a double sum */
    for (int i = 0, k = 0; i < dn->n; ++i) {
        layer *l = &dn->layers[i];
        if (l->type != CONVOLUTIONAL && l->type != CONNECTED) continue;
        const float *values[3] = {updates ? buffers[k].data : l->weights,
                                  updates ? buffers[k + 1].data : l->biases,
                                  updates ? buffers[k + 2].data : l->scales};
        for (int j = 0; j < 3; ++j)
            for (size_t q = 0; values[j] && q < buffers[k + j].n; ++q) total += values[j][q];
        k += 3;
    }
    free(buffers);
    return isfinite(total);
}

typedef struct validation {
    double top1, top5;
    int images;
} validation;

static int validate(gcam_net *net, gcam_loader *loader, int top_k, validation *v, gcam_error *err) {
    int classes = net->classes, hits1 = 0, hitsk = 0, images = 0;
    int64_t batches = gcam_loader_batches_per_epoch(loader);
    for (int64_t b = 0; b < batches; ++b) {
        const gcam_batch *batch = gcam_loader_get(loader, b, err);
        if (!batch) return -1;
        const float *p = gcam_net_predict(net, batch->x, batch->n);
        for (int i = 0; i < batch->n; ++i) {
            const float *row = p + (size_t)i * classes;
            float truth = row[batch->labels[i]];
            int better = 0;
            for (int k = 0; k < classes; ++k) better += row[k] > truth;
            hits1 += better == 0;
            hitsk += better < top_k;
        }
        images += batch->n;
    }
    v->top1 = (double)hits1 / images;
    v->top5 = (double)hitsk / images;
    v->images = images;
    return 0;
}

/* ---- saliency-guided augmentation ------------------------------------------------- */

typedef struct saliency_state {
    gcam_map_cache cache; /* maps of the training images (saliency guide only) */
    int h, w, c;          /* network input */
    float *images;        /* (capacity, c, h, w) un-augmented images of a refresh */
    float *maps;          /* (capacity, h, w) their maps */
    int *classes;         /* (capacity) true classes */
    int *ids;             /* (capacity) data set index; -1 if unreadable */
    int *constant;        /* (capacity) 1 where the map was constant (not stored) */
    /* the last refresh, computed but not yet in the cache (see apply_pending_maps) */
    int pending_n;
    int32_t pending_iteration;
    int *pending_ids;             /* (capacity) */
    unsigned char *pending_cells; /* (capacity, map_size, map_size) */
    float *grid_maps;             /* (grid_n, h, w) */
    int grid_n;                   /* images in the heatmap grid */
    float *grid_images;           /* (grid_n, c, h, w) fixed validation images */
    int *grid_classes;            /* (grid_n) */
    /* statistics of the run so far */
    long refreshes, maps_stored, maps_constant;
    double refresh_seconds;
    long samples, with_map, crops, drops, keeps, cutouts;
    double crop_fraction_sum;
} saliency_state;

static void saliency_state_free(saliency_state *ss) {
    gcam_map_cache_free(&ss->cache);
    free(ss->images);
    free(ss->maps);
    free(ss->classes);
    free(ss->ids);
    free(ss->constant);
    free(ss->pending_ids);
    free(ss->pending_cells);
    free(ss->grid_maps);
    free(ss->grid_images);
    free(ss->grid_classes);
    memset(ss, 0, sizeof *ss);
}

/* Loads the first `want` readable images of ds for the heatmap grid. */
static void load_grid_images(saliency_state *ss, const gcam_dataset *ds, int want) {
    size_t image_floats = (size_t)ss->c * ss->h * ss->w;
    ss->grid_images = gcam_xmalloc(sizeof(float) * image_floats * (size_t)want);
    ss->grid_classes = gcam_xmalloc(sizeof(int) * (size_t)want);
    ss->grid_maps = gcam_xmalloc(sizeof(float) * (size_t)ss->h * ss->w * (size_t)want);
    for (int id = 0; id < ds->n && ss->grid_n < want; ++id) {
        gcam_error err;
        if (gcam_image_load_for_net(ds->paths[id], ss->w, ss->h, ss->c,
                                    ss->grid_images + image_floats * ss->grid_n, &err))
            continue;
        ss->grid_classes[ss->grid_n++] = ds->labels[id];
    }
}

/* Computes maps for the first images of the batch just trained on, at their true
 * classes, with the current weights in inference mode, as pending cache cells. The
 * images are re-read without augmentation, so the maps are in each image's own
 * coordinates. */
static int refresh_maps(saliency_state *ss, gcam_net *net, const gcam_train_options *o,
                        const gcam_dataset *ds, const gcam_batch *batch, long iteration,
                        gcam_error *err) {
    double t0 = gcam_now_seconds();
    int n = batch->n;
    if (o->saliency_images > 0 && o->saliency_images < n) n = (int)o->saliency_images;
    size_t image_floats = (size_t)ss->c * ss->h * ss->w, map_floats = (size_t)ss->h * ss->w;
    size_t cells = (size_t)ss->cache.size * ss->cache.size;
    int k = 0; /* readable images, packed */
    for (int i = 0; i < n; ++i) {
        gcam_error load_err;
        int id = batch->sample_ids[i];
        if (gcam_image_load_for_net(ds->paths[id], ss->w, ss->h, ss->c,
                                    ss->images + image_floats * k, &load_err))
            continue; /* became unreadable since it was loaded: no map this time */
        ss->ids[k] = id;
        ss->classes[k] = ds->labels[id];
        ++k;
    }
    if (k && gcam_saliency(net, ss->images, k, ss->classes, &o->saliency_options, ss->maps, NULL,
                           ss->constant, err))
        return -1;
    ss->pending_n = 0;
    ss->pending_iteration = (int32_t)iteration;
    for (int i = 0; i < k; ++i) {
        if (ss->constant[i]) {
            ++ss->maps_constant;
            continue;
        }
        ss->pending_ids[ss->pending_n] = ss->ids[i];
        gcam_map_cells(ss->maps + map_floats * i, ss->h, ss->w, ss->cache.size,
                       ss->pending_cells + cells * ss->pending_n);
        ++ss->pending_n;
    }
    ++ss->refreshes;
    ss->refresh_seconds += gcam_now_seconds() - t0;
    return 0;
}

/* Puts the pending maps into the cache once the batch loading ahead is complete, so
 * that batch never sees a half-written cache, and every later batch sees the maps. */
static void apply_pending_maps(saliency_state *ss, gcam_loader *loader) {
    if (!ss->pending_n) return;
    gcam_loader_wait(loader);
    size_t cells = (size_t)ss->cache.size * ss->cache.size;
    for (int i = 0; i < ss->pending_n; ++i)
        gcam_map_cache_put(&ss->cache, ss->pending_ids[i], ss->pending_cells + cells * i,
                           ss->pending_iteration);
    ss->maps_stored += ss->pending_n;
    ss->pending_n = 0;
}

/* The cache sidecar of _last: "GCAMMAPS1", seen (uint64), images (int32), cells per side
 * (int32), each image's refresh iteration (int32 x images), the cells (uint8 x images x
 * side^2), then the pending refresh: count (int32), iteration (int32), ids (int32 x
 * count), cells (uint8 x count x side^2). With it a resumed run continues exactly as an
 * uninterrupted one. */
static const char maps_magic[9] = "GCAMMAPS1";

static int save_maps(const saliency_state *ss, uint64_t seen, const char *path, gcam_error *err) {
    const gcam_map_cache *c = &ss->cache;
    size_t cells = (size_t)c->size * c->size;
    int32_t header[2] = {c->n, c->size}, pending[2] = {ss->pending_n, ss->pending_iteration};
    atomic_file f;
    if (atomic_file_open(&f, path, err)) return -1;
    fwrite(maps_magic, 1, sizeof maps_magic, f.stream);
    fwrite(&seen, sizeof seen, 1, f.stream);
    fwrite(header, sizeof header, 1, f.stream);
    fwrite(c->refreshed, sizeof(int32_t), (size_t)c->n, f.stream);
    fwrite(c->maps, 1, cells * c->n, f.stream);
    fwrite(pending, sizeof pending, 1, f.stream);
    fwrite(ss->pending_ids, sizeof(int32_t), (size_t)ss->pending_n, f.stream);
    fwrite(ss->pending_cells, 1, cells * ss->pending_n, f.stream);
    return atomic_file_commit(&f, err);
}

/* Loads the sidecar if it matches these weights and this cache; 1 if loaded, 0 if absent
 * or not matching (the cache then starts empty). */
static int load_maps(saliency_state *ss, uint64_t seen, int capacity, const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    gcam_map_cache *c = &ss->cache;
    size_t cells = (size_t)c->size * c->size;
    char magic[sizeof maps_magic];
    uint64_t file_seen = 0;
    int32_t header[2] = {0, 0}, pending[2] = {0, 0};
    int ok = fread(magic, 1, sizeof magic, f) == sizeof magic &&
             !memcmp(magic, maps_magic, sizeof magic) && fread(&file_seen, 8, 1, f) == 1 &&
             file_seen == seen && fread(header, sizeof header, 1, f) == 1 && header[0] == c->n &&
             header[1] == c->size &&
             fread(c->refreshed, sizeof(int32_t), (size_t)c->n, f) == (size_t)c->n &&
             fread(c->maps, 1, cells * c->n, f) == cells * c->n &&
             fread(pending, sizeof pending, 1, f) == 1 && pending[0] >= 0 &&
             pending[0] <= capacity &&
             fread(ss->pending_ids, sizeof(int32_t), (size_t)pending[0], f) == (size_t)pending[0] &&
             fread(ss->pending_cells, 1, cells * pending[0], f) == cells * pending[0];
    for (int i = 0; ok && i < pending[0]; ++i)
        ok = ss->pending_ids[i] >= 0 && ss->pending_ids[i] < c->n;
    c->covered = 0;
    for (int i = 0; ok && i < c->n; ++i) c->covered += c->refreshed[i] >= 0;
    if (ok) {
        ss->pending_n = pending[0];
        ss->pending_iteration = pending[1];
    } else { /* nothing half-loaded may stay */
        for (int i = 0; i < c->n; ++i) c->refreshed[i] = -1;
        c->covered = 0;
        ss->pending_n = 0;
    }
    fclose(f);
    return ok;
}

/* <backup>/heatmaps/<iter>.png: the fixed grid images and their current maps. */
static int write_heatmap_grid(saliency_state *ss, gcam_net *net, const gcam_train_options *o,
                              const char *backup, long iteration, gcam_error *err) {
    if (!ss->grid_n) return 0;
    if (gcam_saliency(net, ss->grid_images, ss->grid_n, ss->grid_classes, &o->saliency_options,
                      ss->grid_maps, NULL, NULL, err))
        return -1;
    char path[GCAM_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/heatmaps/%ld.png", backup, iteration);
    int scale = ss->h < 128 ? (128 + ss->h - 1) / ss->h : 1;
    return gcam_heatmap_write_grid_png(path, ss->grid_images, ss->grid_maps, ss->grid_n, ss->c,
                                       ss->h, ss->w, 0.5f, scale, err);
}

static void count_guided(saliency_state *ss, const gcam_batch *b) {
    for (int i = 0; i < b->n; ++i) {
        int f = b->guided_flags[i];
        ++ss->samples;
        ss->with_map += (f & GCAM_GUIDED_HAD_MAP) != 0;
        ss->crops += (f & GCAM_GUIDED_CROP) != 0;
        ss->drops += (f & GCAM_GUIDED_DROP) != 0;
        ss->keeps += (f & GCAM_GUIDED_KEEP) != 0;
        ss->cutouts += (f & GCAM_GUIDED_CUTOUT) != 0;
        ss->crop_fraction_sum += b->crop_fractions[i];
    }
}

static void print_saliency_summary(const saliency_state *ss, const gcam_train_options *o,
                                   double run_seconds, long iteration) {
    double age = 0;
    int covered = ss->cache.n ? gcam_map_cache_covered(&ss->cache, (int32_t)iteration, &age) : 0;
    double per = ss->samples ? 100.0 / ss->samples : 0;
    fprintf(stderr,
            "gcam-train: saliency (%s, guide %s): %ld refreshes, %.3f s each, %.1f%% of the "
            "run; %ld maps stored, %ld constant; coverage %d/%d images, mean age %.0f "
            "iterations\n",
            gcam_method_name(o->saliency_options.method),
            o->guided.source == GCAM_GUIDE_SHUFFLED ? "shuffled" : "saliency", ss->refreshes,
            ss->refreshes ? ss->refresh_seconds / ss->refreshes : 0,
            run_seconds > 0 ? 100 * ss->refresh_seconds / run_seconds : 0, ss->maps_stored,
            ss->maps_constant, covered, ss->cache.n, age);
    fprintf(stderr,
            "gcam-train: guided transforms over %ld samples: map %.1f%%, crop %.1f%% (mean box "
            "%.1f%% of the image), drop %.1f%%, keep %.1f%%, cutout %.1f%%\n",
            ss->samples, per * ss->with_map, per * ss->crops,
            ss->crops ? 100 * ss->crop_fraction_sum / ss->crops : 0, per * ss->drops,
            per * ss->keeps, per * ss->cutouts);
}

typedef struct run_state {
    const gcam_train_options *o;
    gcam_net *net;
    gcam_data_files files;
    gcam_dataset train, valid;
    gcam_loader *train_loader, *valid_loader;
    char backup[GCAM_PATH_MAX], base[GCAM_PATH_MAX];
    FILE *csv;
    double best_top1;
    saliency_state saliency;
} run_state;

/* Writes <suffix> weights and, with_state, the .state and .maps sidecars. The sidecars are
 * first written as .next files, then the weights, then the .next files are renamed: at
 * every moment, one of (sidecar, sidecar.next) matches the weights under the final name
 * (matched by `seen` on loading), so a run killed anywhere resumes exactly. */
static int save_checkpoint(run_state *rs, const char *suffix, int with_state, gcam_error *err) {
    char path[2 * GCAM_PATH_MAX + 64];
    backup_path(path, sizeof path, rs->backup, rs->base, suffix);
    char state[2 * GCAM_PATH_MAX + 80], state_next[2 * GCAM_PATH_MAX + 80];
    char maps[2 * GCAM_PATH_MAX + 80], maps_next[2 * GCAM_PATH_MAX + 80];
    int with_maps = with_state && rs->saliency.cache.n;
    if (with_state) {
        sibling_state_path(state, sizeof state, path, ".state");
        sibling_state_path(state_next, sizeof state_next, path, ".state.next");
        if (save_state(rs->net->dn, state_next, err)) return -1;
    }
    if (with_maps) {
        sibling_state_path(maps, sizeof maps, path, ".maps");
        sibling_state_path(maps_next, sizeof maps_next, path, ".maps.next");
        if (save_maps(&rs->saliency, *rs->net->dn->seen, maps_next, err)) return -1;
    }
    if (gcam_weights_save(rs->net->dn, path, err)) return -1;
    if (with_state && atomic_rename(state_next, state, err)) return -1;
    if (with_maps && atomic_rename(maps_next, maps, err)) return -1;
    return 0;
}

static void run_state_free(run_state *rs) {
    if (rs->csv) fclose(rs->csv);
    gcam_loader_free(rs->train_loader);
    gcam_loader_free(rs->valid_loader);
    gcam_dataset_free(&rs->train);
    gcam_dataset_free(&rs->valid);
    gcam_data_files_free(&rs->files);
    saliency_state_free(&rs->saliency);
    gcam_net_free(rs->net);
}

static const char csv_header[] = "iter,epoch,loss,avg_loss,lr,images_per_s,valid_top1,"
                                 "valid_top5,seconds,saliency_seconds,coverage\n";

/* The `seconds` field (the 9th) of a log line, or 0. */
static double csv_line_seconds(const char *line) {
    for (int field = 0; field < 8; ++field) {
        line = strchr(line, ',');
        if (!line) return 0;
        ++line;
    }
    return strtod(line, NULL);
}

/* Opens the log for appending after iteration `start_iter`: lines of later iterations (a
 * run killed after its last checkpoint) are dropped first, so the log of a resumed run
 * has each iteration once. *seconds_before is the `seconds` of the last line kept, so that
 * the column counts training time across resumptions. */
static int open_csv(run_state *rs, long start_iter, double *seconds_before, gcam_error *err) {
    char path[2 * GCAM_PATH_MAX + 64];
    backup_path(path, sizeof path, rs->backup, rs->base, ".csv");
    FILE *old = fopen(path, "r");
    atomic_file f;
    if (atomic_file_open(&f, path, err)) {
        if (old) fclose(old);
        return -1;
    }
    fputs(csv_header, f.stream);
    char line[1024];
    int first = 1;
    *seconds_before = 0;
    while (old && fgets(line, sizeof line, old)) {
        long iter = strtol(line, NULL, 10);
        if (!first && iter >= 1 && iter <= start_iter) {
            fputs(line, f.stream);
            *seconds_before = csv_line_seconds(line);
        }
        first = 0;
    }
    if (old) fclose(old);
    if (atomic_file_commit(&f, err)) return -1;
    rs->csv = fopen(path, "a");
    if (!rs->csv) return gcam_fail(err, "%s: cannot open log: %s", path, strerror(errno));
    return 0;
}

/* Checks the saliency keys against the network and prepares the cache and buffers. */
static int setup_saliency(run_state *rs, gcam_loader_config *lc, gcam_error *err) {
    const gcam_train_options *o = rs->o;
    network *dn = rs->net->dn;
    if (gcam_train_options_check(o, err)) return -1;
    gcam_error layer_err;
    if (gcam_saliency_layer(rs->net, &o->saliency_options, &layer_err) < 0)
        return gcam_fail(err, "%s: [gcam] saliency_layer: %s", o->cfg_path, layer_err.message);
    saliency_state *ss = &rs->saliency;
    ss->h = dn->h, ss->w = dn->w, ss->c = dn->c;
    int capacity = rs->net->capacity;
    ss->images = gcam_xmalloc(sizeof(float) * (size_t)capacity * dn->inputs);
    ss->maps = gcam_xmalloc(sizeof(float) * (size_t)capacity * dn->h * dn->w);
    ss->classes = gcam_xmalloc(sizeof(int) * (size_t)capacity);
    ss->ids = gcam_xmalloc(sizeof(int) * (size_t)capacity);
    ss->constant = gcam_xmalloc(sizeof(int) * (size_t)capacity);
    gcam_map_cache_init(&ss->cache, rs->train.n, o->guided.map_size);
    ss->pending_ids = gcam_xmalloc(sizeof(int) * (size_t)capacity);
    ss->pending_cells = gcam_xmalloc((size_t)capacity * o->guided.map_size * o->guided.map_size);
    if (o->heatmap_every > 0) {
        int want = (int)(o->heatmap_images < capacity ? o->heatmap_images : capacity);
        load_grid_images(ss, rs->valid.n ? &rs->valid : &rs->train, want);
    }
    lc->guided = &o->guided;
    lc->cache = &ss->cache;
    return 0;
}

static int setup(run_state *rs, gcam_error *err) {
    const gcam_train_options *o = rs->o;
    if (!o->data_path[0])
        return gcam_fail(err, "%s: no data set: give -data FILE or data= in [gcam]", o->cfg_path);
    if (gcam_data_files_read(&rs->files, o->data_path, err)) {
        if (!strcmp(o->data_path, "data/fmnist.data"))
            strncat(err->message, " (the built-in data set is made by `make data`)",
                    sizeof err->message - strlen(err->message) - 1);
        return -1;
    }
    if (!rs->files.train) return gcam_fail(err, "%s: no train= list", o->data_path);
    gcam_load_options lo = gcam_load_options_default();
    lo.weights = o->weights[0] ? o->weights : NULL;
    lo.weights_layers = o->weights_layers;
    lo.clear = o->clear;
    lo.init_seed = (unsigned long)o->seed;
    if (gcam_net_load(&rs->net, o->cfg_path, &lo, err)) return -1;
    network *dn = rs->net->dn;
    if (rs->net->classes != rs->files.classes)
        return gcam_fail(err, "%s has %d outputs but %s says classes=%d", o->cfg_path,
                         rs->net->classes, o->data_path, rs->files.classes);
    if (softmax_layer_index(dn) != dn->n - 1 &&
        !(dn->n > 1 && dn->layers[dn->n - 1].type == COST && dn->layers[dn->n - 2].type == SOFTMAX))
        return gcam_fail(err,
                         "%s: a classifier for gcam-train ends in [softmax] (optionally "
                         "followed by [cost])",
                         o->cfg_path);
    if (disable_cost_after_softmax(dn))
        fprintf(stderr, "gcam-train: note: [cost] after [softmax] is ignored; training uses "
                        "the softmax cross-entropy gradient alone (Darknet would add both)\n");
    if (o->max_batches > 0) dn->max_batches = (int)o->max_batches;
    if (dn->max_batches <= 0)
        return gcam_fail(err, "%s: max_batches is not set: give -max_batches N", o->cfg_path);
    gcam_kernels_set_seed((uint64_t)o->seed);

    if (gcam_dataset_load(&rs->train, rs->files.train, rs->files.labels, rs->files.n_labels,
                          rs->files.classes, err))
        return -1;
    if (rs->files.valid && gcam_dataset_load(&rs->valid, rs->files.valid, rs->files.labels,
                                             rs->files.n_labels, rs->files.classes, err))
        return -1;
    gcam_loader_config lc = {0};
    lc.data = &rs->train;
    lc.batch = dn->batch;
    lc.train = 1;
    lc.seed = (uint64_t)o->seed;
    lc.threads = o->threads;
    lc.augment = (gcam_augment_config){dn->w,          dn->h,        dn->c,        dn->min_crop,
                                       dn->max_crop,   dn->aspect,   dn->angle,    dn->hue,
                                       dn->saturation, dn->exposure, rs->net->flip};
    if (o->saliency && setup_saliency(rs, &lc, err)) return -1;
    if (gcam_loader_init(&rs->train_loader, &lc, err)) return -1;
    if (rs->valid.n) {
        lc.data = &rs->valid;
        lc.train = 0;
        if (gcam_loader_init(&rs->valid_loader, &lc, err)) return -1;
    }
    const char *dir =
        o->backup_dir[0] ? o->backup_dir : (rs->files.backup ? rs->files.backup : "backup");
    snprintf(rs->backup, sizeof rs->backup, "%s", dir);
    const char *slash = strrchr(o->cfg_path, '/');
    snprintf(rs->base, sizeof rs->base, "%s", slash ? slash + 1 : o->cfg_path);
    char *dot = strrchr(rs->base, '.');
    if (dot) *dot = '\0';
    if (gcam_mkdir_p(rs->backup, err)) return -1;
    if (o->saliency && o->heatmap_every > 0) {
        char heatmaps[GCAM_PATH_MAX + 16];
        snprintf(heatmaps, sizeof heatmaps, "%s/heatmaps", rs->backup);
        if (gcam_mkdir_p(heatmaps, err)) return -1;
    }
    rs->best_top1 = -1;
    return 0;
}

int gcam_train_run(const gcam_train_options *o, gcam_error *err) {
    run_state rs;
    memset(&rs, 0, sizeof rs);
    rs.o = o;
    if (setup(&rs, err)) {
        run_state_free(&rs);
        return -1;
    }
    network *dn = rs.net->dn;
    int subdivisions = dn->subdivisions, per_pass = dn->batch;
    long images_per_iter = (long)per_pass * subdivisions;
    long start_iter = (long)(*dn->seen / (size_t)images_per_iter), max_iter = dn->max_batches;
    if (o->weights[0] && start_iter > 0) {
        char state[GCAM_PATH_MAX + 16], next[GCAM_PATH_MAX + 16];
        sibling_state_path(state, sizeof state, o->weights, ".state");
        sibling_state_path(next, sizeof next, o->weights, ".state.next");
        int resumed = load_state(dn, state) || load_state(dn, next);
        fprintf(stderr, "gcam-train: resuming at iteration %ld (%s)\n", start_iter,
                resumed ? "momentum restored" : "no matching momentum file; momentum restarts");
        if (rs.saliency.cache.n) {
            sibling_state_path(state, sizeof state, o->weights, ".maps");
            sibling_state_path(next, sizeof next, o->weights, ".maps.next");
            int maps = load_maps(&rs.saliency, *dn->seen, rs.net->capacity, state) ||
                       load_maps(&rs.saliency, *dn->seen, rs.net->capacity, next);
            fprintf(stderr, "gcam-train: %s\n",
                    maps ? "saliency maps restored"
                         : "no matching saliency map file; the map cache starts empty");
            /* the first batch saw the cache without the last refresh, as it did before */
            gcam_loader_prefetch(rs.train_loader, (int64_t)start_iter * subdivisions);
            apply_pending_maps(&rs.saliency, rs.train_loader);
        }
    }
    double seconds_before;
    if (open_csv(&rs, start_iter, &seconds_before, err)) {
        run_state_free(&rs);
        return -1;
    }
    long valid_every =
        o->valid_every > 0 ? o->valid_every : (rs.train.n + images_per_iter - 1) / images_per_iter;
    int softmax = softmax_layer_index(dn);
    fprintf(stderr,
            "gcam-train: %s: %d train images, %d valid, batch %d x %d subdivisions, "
            "iterations %ld..%ld, backup %s\n",
            o->cfg_path, rs.train.n, rs.valid.n, per_pass, subdivisions, start_iter, max_iter,
            rs.backup);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    stop_signal = 0;

    int status = 0;
    double avg_loss = -1, avg_seconds = -1, run_start = gcam_now_seconds();
    saliency_state *ss = &rs.saliency;
    long last_done = start_iter;
    for (long iter = start_iter; iter < max_iter && status == 0; ++iter) {
        double t0 = gcam_now_seconds(), loss = 0;
        const gcam_batch *b = NULL;
        for (int s = 0; s < subdivisions; ++s) {
            b = gcam_loader_get(rs.train_loader, (int64_t)iter * subdivisions + s, err);
            if (!b) {
                status = -1;
                break;
            }
            if (o->saliency) count_guided(ss, b);
            memcpy(dn->input, b->x, sizeof(float) * (size_t)dn->inputs * per_pass);
            memcpy(dn->truth, b->truth, sizeof(float) * (size_t)dn->truths * per_pass);
            *dn->seen += (size_t)per_pass;
            dn->train = 1;
            forward_network(dn);
            backward_network(dn);
            loss += dn->layers[softmax].cost[0] / per_pass;
        }
        if (status) break;
        loss /= subdivisions;
        if (!isfinite(loss)) {
            status = gcam_fail(err,
                               "iteration %ld: the loss is %s; stopping without saving "
                               "(the last checkpoint in %s is from before it)",
                               iter + 1, isnan(loss) ? "NaN" : "infinite", rs.backup);
            break;
        }
        float rate = get_current_rate(dn);
        if (!all_finite(dn, 1)) {
            status = gcam_fail(err,
                               "iteration %ld: the gradients are not finite (they exploded); "
                               "stopping without saving (the last checkpoint in %s is from "
                               "before it). A lower learning_rate or a longer burn_in may help",
                               iter + 1, rs.backup);
            break;
        }
        update_network(dn);
        if (!all_finite(dn, 0)) {
            status = gcam_fail(err,
                               "iteration %ld: the update made weights infinite or NaN; "
                               "stopping without saving (the last checkpoint in %s is from "
                               "before it). A lower learning_rate may help",
                               iter + 1, rs.backup);
            break;
        }
        long done = iter + 1;
        last_done = done;
        double refresh_before = ss->refresh_seconds;
        if (o->saliency && done % o->saliency_every == 0 &&
            refresh_maps(ss, rs.net, o, &rs.train, b, done, err)) {
            status = -1;
            break;
        }
        double refresh_seconds = ss->refresh_seconds - refresh_before;
        double seconds = gcam_now_seconds() - t0;
        avg_loss = avg_loss < 0 ? loss : 0.9 * avg_loss + 0.1 * loss;
        avg_seconds = avg_seconds < 0 ? seconds : 0.95 * avg_seconds + 0.05 * seconds;
        double epoch = (double)*dn->seen / rs.train.n;
        char eta[32];
        format_duration(eta, sizeof eta, avg_seconds * (double)(max_iter - done));
        double coverage = ss->cache.n ? (double)ss->cache.covered / ss->cache.n : 0;
        char saliency_text[64] = "";
        if (o->saliency && ss->cache.n)
            snprintf(saliency_text, sizeof saliency_text, "  refresh %5.2fs  maps %5.1f%%",
                     refresh_seconds, 100 * coverage);
        if (!o->quiet)
            printf("%7ld/%ld  epoch %6.2f  loss %.4f  avg %.4f  lr %.6f  %6.0f img/s  ETA %s%s\n",
                   done, max_iter, epoch, loss, avg_loss, rate, images_per_iter / seconds, eta,
                   saliency_text);
        validation v = {-1, -1, 0};
        if (rs.valid_loader && (done % valid_every == 0 || done == max_iter)) {
            if (validate(rs.net, rs.valid_loader, 5, &v, err)) {
                status = -1;
                break;
            }
            printf("%7ld/%ld  valid top-1 %.2f%%  top-5 %.2f%%  (%d images)\n", done, max_iter,
                   100 * v.top1, 100 * v.top5, v.images);
            if (v.top1 > rs.best_top1) {
                rs.best_top1 = v.top1;
                if (save_checkpoint(&rs, "_best.weights", 0, err)) status = -1;
            }
        }
        fflush(stdout);
        fprintf(rs.csv, "%ld,%.4f,%.6f,%.6f,%.8f,%.1f,", done, epoch, loss, avg_loss, rate,
                images_per_iter / seconds);
        if (v.images)
            fprintf(rs.csv, "%.4f,%.4f,", v.top1, v.top5);
        else
            fprintf(rs.csv, ",,");
        fprintf(rs.csv, "%.2f,", seconds_before + gcam_now_seconds() - run_start);
        if (o->saliency)
            fprintf(rs.csv, "%.3f,%.4f\n", refresh_seconds, coverage);
        else
            fprintf(rs.csv, ",\n");
        fflush(rs.csv);
        if (!status && (done % o->checkpoint_every == 0 || stop_signal || done == max_iter))
            status = save_checkpoint(&rs, "_last.weights", 1, err);
        if (!status && o->save_every > 0 && done % o->save_every == 0) {
            char suffix[64];
            snprintf(suffix, sizeof suffix, "_%ld.weights", done);
            status = save_checkpoint(&rs, suffix, 0, err);
        }
        if (!status && done == max_iter) status = save_checkpoint(&rs, "_final.weights", 0, err);
        if (!status && o->saliency && o->heatmap_every > 0 &&
            (done % o->heatmap_every == 0 || done == max_iter))
            status = write_heatmap_grid(ss, rs.net, o, rs.backup, done, err);
        if (!status && ss->cache.n) apply_pending_maps(ss, rs.train_loader);
        if (!status && stop_signal) {
            fprintf(stderr, "gcam-train: %s at iteration %ld; saved %s/%s_last.weights\n",
                    stop_signal == SIGINT ? "interrupted" : "terminated", done, rs.backup, rs.base);
            status = stop_signal;
        }
    }
    if (o->saliency) print_saliency_summary(ss, o, gcam_now_seconds() - run_start, last_done);
    int bad = gcam_loader_bad_images(rs.train_loader);
    if (bad) fprintf(stderr, "gcam-train: %d unreadable training images were skipped\n", bad);
    run_state_free(&rs);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    return status;
}
