/* Threaded, double-buffered batch loading (see loader.h). One job (a batch) is in
 * flight at a time: workers claim its samples one by one under a mutex, the last one
 * to finish signals the trainer. */
#include "loader.h"

#include "error.h"
#include "image_decode.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NO_BATCH (-1)
/* Mixed into the seed of the guided-augmentation generators. */
#define GUIDED_STREAM_KEY 0x9e3779b97f4a7c15ULL

struct gcam_loader {
    gcam_loader_config cfg;
    int classes;
    size_t image_floats;
    gcam_batch slots[2];
    pthread_t *threads;
    pthread_mutex_t mutex;
    pthread_cond_t work_ready, job_finished;
    /* the job in flight */
    int job_slot, job_next, job_done, job_n, job_active, shutdown;
    int64_t *job_positions; /* (batch) sequence position of each sample */
    /* permutations of the two most recent epochs */
    int64_t perm_epoch[2];
    int *perm[2];
    /* unreadable images */
    unsigned char *bad; /* (N) 1 once an image failed */
    int bad_count, bad_limit;
};

/* The batch's buffers; only the images' size depends on the data (the caller frees b also
 * on failure). */
static int batch_init(gcam_batch *b, int capacity, size_t image_floats, size_t map_floats,
                      int classes, int keep_sources, gcam_error *err) {
    memset(b, 0, sizeof *b);
    b->index = NO_BATCH;
    b->x =
        gcam_try_malloc(sizeof(float) * (size_t)capacity * image_floats, "a batch of images", err);
    if (!b->x) return -1;
    memset(b->x, 0, sizeof(float) * (size_t)capacity * image_floats);
    b->truth = gcam_xcalloc((size_t)capacity * classes, sizeof(float));
    b->labels = gcam_xcalloc((size_t)capacity, sizeof(int));
    b->sample_ids = gcam_xcalloc((size_t)capacity, sizeof(int));
    b->warps = gcam_xcalloc((size_t)capacity, sizeof(gcam_warp));
    b->src_w = gcam_xcalloc((size_t)capacity, sizeof(int));
    b->src_h = gcam_xcalloc((size_t)capacity, sizeof(int));
    b->guided_flags = gcam_xcalloc((size_t)capacity, sizeof(int));
    b->crop_fractions = gcam_xcalloc((size_t)capacity, sizeof(float));
    b->colors = gcam_xcalloc((size_t)capacity, sizeof(gcam_color_jitter));
    if (keep_sources) b->sources = gcam_xcalloc((size_t)capacity, sizeof(gcam_image));
    if (map_floats) {
        b->maps = gcam_try_malloc(sizeof(float) * (size_t)capacity * map_floats,
                                  "a batch of saliency maps", err);
        if (!b->maps) return -1;
        b->has_map = gcam_xcalloc((size_t)capacity, sizeof(int));
    }
    return 0;
}

static void batch_free(gcam_batch *b, int capacity) {
    free(b->x);
    free(b->truth);
    free(b->labels);
    free(b->sample_ids);
    free(b->warps);
    free(b->src_w);
    free(b->src_h);
    free(b->guided_flags);
    free(b->crop_fractions);
    free(b->colors);
    for (int i = 0; b->sources && i < capacity; ++i) gcam_image_free(&b->sources[i]);
    free(b->sources);
    free(b->maps);
    free(b->has_map);
}

/* Permutation of epoch e, from a generator of its own. Main thread only. */
static const int *epoch_permutation(gcam_loader *l, int64_t epoch) {
    for (int k = 0; k < 2; ++k)
        if (l->perm_epoch[k] == epoch) return l->perm[k];
    int k = l->perm_epoch[0] < l->perm_epoch[1] ? 0 : 1; /* replace the older */
    int n = l->cfg.data->n, *p = l->perm[k];
    for (int i = 0; i < n; ++i) p[i] = i;
    gcam_rng rng = gcam_rng_init(l->cfg.seed ^ 0x5eed5eed5eedULL, (uint64_t)epoch);
    for (int i = n - 1; i > 0; --i) {
        int j = (int)(gcam_rng_next(&rng) % (uint32_t)(i + 1));
        int t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
    l->perm_epoch[k] = epoch;
    return p;
}

/* Counts image id as unreadable, once, saying why. */
static void mark_bad(gcam_loader *l, int id, const gcam_error *err) {
    pthread_mutex_lock(&l->mutex);
    if (!l->bad[id]) {
        l->bad[id] = 1;
        ++l->bad_count;
        fprintf(stderr, "gcam: skipping unreadable image (%d so far): %s\n", l->bad_count,
                err->message);
    }
    pthread_mutex_unlock(&l->mutex);
}

/* Reads the first readable image file from `*id` on, in the order of the data (known-bad
 * ones skipped, newly bad ones counted), into enc; moves *id there. *attempts counts the
 * images tried. Returns -1 when every image has been tried. */
static int read_first_readable(gcam_loader *l, int *id, int *attempts, gcam_encoded_image *enc) {
    int n = l->cfg.data->n;
    for (; *attempts < n; ++*attempts, *id = (*id + 1) % n) {
        pthread_mutex_lock(&l->mutex);
        int known_bad = l->bad[*id];
        pthread_mutex_unlock(&l->mutex);
        if (known_bad) continue;
        gcam_error err;
        if (gcam_encoded_image_read(enc, l->cfg.data->paths[*id], &err) == 0) {
            if (enc->w > 0 && enc->h > 0) return 0;
            /* a view is planned on the header's size, so an image without one is skipped */
            gcam_fail(&err, "%s: cannot read the image's size from its header", enc->path);
            gcam_encoded_image_free(enc);
        }
        mark_bad(l, *id, &err);
    }
    return -1;
}

/* How much a JPEG may be reduced in its decoder for a view through warp: by the largest
 * power of two, up to 8, that leaves at least one source pixel per output pixel along
 * both axes, so the view keeps all the detail it can show. */
static int reduction_for(const gcam_warp *warp) {
    float step = gcam_warp_least_step(warp);
    int reduction = 1;
    while (reduction < 8 && step >= 2 * reduction) reduction *= 2;
    return reduction;
}

/* Decodes enc whole into *im and writes its validation view into x (the plain resize). */
static int validation_view(const gcam_loader *l, const gcam_encoded_image *enc, float *x,
                           gcam_image *im, gcam_error *err) {
    const gcam_augment_config *aug = &l->cfg.augment;
    if (gcam_encoded_image_decode(enc, aug->c, 1, im, err)) return -1;
    gcam_image sized;
    gcam_image_resize(im, aug->w, aug->h, &sized);
    memcpy(x, sized.data, sizeof(float) * l->image_floats);
    gcam_image_free(&sized);
    return 0;
}

/* Plans the training view of image id (enc) from its header's size, with the generators
 * of the sample at `position` (first_id the image it was meant to be), then decodes enc
 * at the reduction the view allows into *im and writes the view, its colour jitter, the
 * guided transforms and the view's map into the batch's slot. */
static int training_view(const gcam_loader *l, gcam_batch *b, int slot_i, int64_t position,
                         int first_id, int id, const gcam_encoded_image *enc, float *x,
                         gcam_image *im, gcam_error *err) {
    const gcam_augment_config *aug = &l->cfg.augment;
    int n = l->cfg.data->n;
    uint64_t stream = (uint64_t)(position / n) * (uint64_t)n + (uint64_t)first_id;
    gcam_rng rng = gcam_rng_init(l->cfg.seed, stream);
    gcam_warp warp = gcam_augment_draw_warp(aug, enc->w, enc->h, &rng);
    const gcam_guided_config *guided = l->cfg.guided;
    gcam_guided_sample sample = {0};
    gcam_rng guided_rng = {0, 0};
    if (guided) {
        guided_rng = gcam_rng_init(l->cfg.seed ^ GUIDED_STREAM_KEY, stream);
        sample.map = gcam_xmalloc(sizeof(float) * (size_t)guided->map_size * guided->map_size);
        const float *box = guided->source == GCAM_GUIDE_ORACLE
                               ? gcam_boxes_find(l->cfg.boxes, l->cfg.data->paths[id])
                               : NULL;
        gcam_guided_geometry(guided, l->cfg.cache, id, box, enc->w, enc->h, aug->w, aug->h,
                             &guided_rng, &warp, &sample);
    }
    int reduction = b->sources ? 1 : reduction_for(&warp);
    if (gcam_encoded_image_decode(enc, aug->c, reduction, im, err)) {
        free(sample.map);
        return -1;
    }
    if (reduction == 1 && (im->w != enc->w || im->h != enc->h)) {
        /* the view was planned on a size the header gave wrongly */
        free(sample.map);
        gcam_image_free(im);
        return gcam_fail(err, "%s: its header and its pixels disagree on its size", enc->path);
    }
    gcam_warp on_decoded = gcam_warp_reduced(&warp, reduction);
    gcam_warp_apply(&on_decoded, im->data, im->c, im->w, im->h, x, aug->w, aug->h);
    b->colors[slot_i] = gcam_augment_draw_color(aug, &rng);
    gcam_augment_apply_color(&b->colors[slot_i], x, aug->c, aug->w, aug->h);
    if (guided) {
        gcam_guided_masks(guided, &warp, enc->w, enc->h, x, aug->c, aug->h, aug->w, &guided_rng,
                          &sample);
        if (l->cfg.want_maps && (sample.flags & GCAM_GUIDED_HAD_MAP)) {
            gcam_guided_warp_map(sample.map, guided->map_size, &warp, enc->w, enc->h,
                                 b->maps + (size_t)slot_i * aug->w * aug->h, aug->w, aug->h);
            b->has_map[slot_i] = 1;
        }
        b->guided_flags[slot_i] = sample.flags;
        b->crop_fractions[slot_i] = sample.crop_fraction;
        free(sample.map);
    }
    b->warps[slot_i] = warp;
    return 0;
}

/* Loads sample `slot_i` of the job into its slot: the first readable image from first_id
 * on. Runs on a worker, without the lock except around the shared bad-image table. A
 * training view is planned from the image's size before it is decoded, so that a large
 * JPEG is decoded only at the resolution the view needs (unless the batch keeps its
 * sources, whose crops need them whole); the draws depend on the sample's position only,
 * so an image that fails to decode is replaced as one that fails to open. */
static void load_sample(gcam_loader *l, gcam_batch *b, int slot_i, int64_t position, int first_id) {
    const gcam_dataset *ds = l->cfg.data;
    float *x = b->x + (size_t)slot_i * l->image_floats;
    gcam_image im = {0}; /* the decoded source (whole unless a training view reduced it) */
    gcam_encoded_image enc;
    int id = first_id, attempts = 0, src_w = 0, src_h = 0;
    while (read_first_readable(l, &id, &attempts, &enc) == 0) {
        b->guided_flags[slot_i] = 0;
        b->crop_fractions[slot_i] = 0;
        if (b->has_map) b->has_map[slot_i] = 0;
        gcam_error err;
        int failed = l->cfg.train
                         ? training_view(l, b, slot_i, position, first_id, id, &enc, x, &im, &err)
                         : validation_view(l, &enc, x, &im, &err);
        src_w = enc.w, src_h = enc.h;
        gcam_encoded_image_free(&enc);
        if (!failed) break;
        mark_bad(l, id, &err);
        ++attempts, id = (id + 1) % ds->n;
    }
    if (!im.data) { /* nothing readable at all: the bad-image limit stops the run */
        memset(x, 0, sizeof(float) * l->image_floats);
        if (b->sources) gcam_image_free(&b->sources[slot_i]);
        b->sample_ids[slot_i] = first_id;
        return;
    }
    b->src_w[slot_i] = src_w;
    b->src_h[slot_i] = src_h;
    b->sample_ids[slot_i] = id;
    b->labels[slot_i] = ds->labels[id];
    float *t = b->truth + (size_t)slot_i * l->classes;
    memset(t, 0, sizeof(float) * l->classes);
    t[ds->labels[id]] = 1;
    if (b->sources) {
        gcam_image_free(&b->sources[slot_i]);
        b->sources[slot_i] = im;
    } else {
        gcam_image_free(&im);
    }
}

static void *worker_main(void *arg) {
    gcam_loader *l = arg;
    pthread_mutex_lock(&l->mutex);
    for (;;) {
        while (!l->shutdown && !(l->job_active && l->job_next < l->job_n))
            pthread_cond_wait(&l->work_ready, &l->mutex);
        if (l->shutdown) break;
        int i = l->job_next++;
        gcam_batch *b = &l->slots[l->job_slot];
        int64_t position = l->job_positions[i];
        int first_id = b->sample_ids[i];
        pthread_mutex_unlock(&l->mutex);
        load_sample(l, b, i, position, first_id);
        pthread_mutex_lock(&l->mutex);
        if (++l->job_done == l->job_n) {
            l->job_active = 0;
            pthread_cond_broadcast(&l->job_finished);
        }
    }
    pthread_mutex_unlock(&l->mutex);
    return NULL;
}

int64_t gcam_loader_batches_per_epoch(const gcam_loader *l) {
    int64_t n = l->cfg.data->n - l->cfg.offset, stride = l->cfg.stride;
    return n > 0 ? (n + stride - 1) / stride : 0;
}

/* Starts loading batch `index` into `slot`. The pool must be idle. */
static void submit(gcam_loader *l, int slot, int64_t index) {
    gcam_batch *b = &l->slots[slot];
    int64_t n = l->cfg.data->n, start = index * l->cfg.stride + l->cfg.offset;
    int count = l->cfg.batch;
    if (!l->cfg.train && start + count > n) count = (int)(n - start);
    for (int i = 0; i < count; ++i) {
        int64_t position = start + i;
        l->job_positions[i] = position;
        b->sample_ids[i] =
            l->cfg.train ? epoch_permutation(l, position / n)[position % n] : (int)position;
    }
    b->index = index;
    b->n = count;
    pthread_mutex_lock(&l->mutex);
    l->job_slot = slot;
    l->job_next = l->job_done = 0;
    l->job_n = count;
    l->job_active = count > 0;
    pthread_cond_broadcast(&l->work_ready);
    pthread_mutex_unlock(&l->mutex);
}

static void wait_idle(gcam_loader *l) {
    pthread_mutex_lock(&l->mutex);
    while (l->job_active) pthread_cond_wait(&l->job_finished, &l->mutex);
    pthread_mutex_unlock(&l->mutex);
}

static int valid_index(const gcam_loader *l, int64_t index);

void gcam_loader_prefetch(gcam_loader *l, int64_t index) {
    wait_idle(l);
    if (valid_index(l, index) && l->slots[0].index != index && l->slots[1].index != index)
        submit(l, 0, index);
}

void gcam_loader_wait(gcam_loader *l) {
    wait_idle(l);
}

static int valid_index(const gcam_loader *l, int64_t index) {
    return index >= 0 && (l->cfg.train || index < gcam_loader_batches_per_epoch(l));
}

const gcam_batch *gcam_loader_get(gcam_loader *l, int64_t index, gcam_error *err) {
    if (!valid_index(l, index)) {
        gcam_fail(err, "batch %lld is out of range", (long long)index);
        return NULL;
    }
    wait_idle(l);
    int slot = l->slots[0].index == index ? 0 : (l->slots[1].index == index ? 1 : -1);
    if (slot < 0) {
        slot = 0;
        submit(l, slot, index);
        wait_idle(l);
    }
    if (l->bad_count > l->bad_limit) {
        gcam_fail(err, "%d images could not be read, more than the limit of %d (%g%% of %d)",
                  l->bad_count, l->bad_limit, 100 * l->cfg.max_bad_fraction, l->cfg.data->n);
        return NULL;
    }
    if (valid_index(l, index + 1)) submit(l, 1 - slot, index + 1);
    return &l->slots[slot];
}

int gcam_loader_bad_images(gcam_loader *l) {
    pthread_mutex_lock(&l->mutex);
    int n = l->bad_count;
    pthread_mutex_unlock(&l->mutex);
    return n;
}

/* The loader's memory, once its threads are gone (or before they start). */
static void loader_release(gcam_loader *l) {
    for (int k = 0; k < 2; ++k) {
        batch_free(&l->slots[k], l->cfg.batch);
        free(l->perm[k]);
    }
    free(l->job_positions);
    free(l->bad);
    free(l->threads);
    free(l);
}

int gcam_loader_init(gcam_loader **out, const gcam_loader_config *cfg, gcam_error *err) {
    *out = NULL;
    if (cfg->batch < 1) return gcam_fail(err, "loader batch must be positive");
    if (cfg->threads < 1 || cfg->threads > 256)
        return gcam_fail(err, "threads=%d: expected 1 to 256", cfg->threads);
    gcam_loader *l = gcam_xcalloc(1, sizeof *l);
    l->cfg = *cfg;
    if (!l->cfg.stride) l->cfg.stride = cfg->batch;
    if (l->cfg.offset < 0 || l->cfg.offset + cfg->batch > l->cfg.stride) {
        int stride = l->cfg.stride;
        free(l);
        return gcam_fail(err, "loader slice [%d, %d) is outside the stride of %d", cfg->offset,
                         cfg->offset + cfg->batch, stride);
    }
    if (l->cfg.max_bad_fraction <= 0) l->cfg.max_bad_fraction = 0.01;
    int n = cfg->data->n;
    l->bad_limit = (int)(l->cfg.max_bad_fraction * n);
    if (l->bad_limit < 10) l->bad_limit = 10;
    l->classes = cfg->data->classes;
    l->image_floats = (size_t)cfg->augment.w * cfg->augment.h * cfg->augment.c;
    for (int k = 0; k < 2; ++k) {
        l->perm[k] = gcam_xmalloc(sizeof(int) * (size_t)n);
        l->perm_epoch[k] = -1;
    }
    for (int k = 0; k < 2; ++k)
        if (batch_init(&l->slots[k], cfg->batch, l->image_floats,
                       cfg->guided && cfg->want_maps ? (size_t)cfg->augment.w * cfg->augment.h : 0,
                       l->classes, cfg->keep_sources, err)) {
            loader_release(l);
            return -1;
        }
    l->job_positions = gcam_xcalloc((size_t)cfg->batch, sizeof(int64_t));
    l->bad = gcam_xcalloc((size_t)n, 1);
    pthread_mutex_init(&l->mutex, NULL);
    pthread_cond_init(&l->work_ready, NULL);
    pthread_cond_init(&l->job_finished, NULL);
    l->threads = gcam_xcalloc((size_t)cfg->threads, sizeof(pthread_t));
    for (int t = 0; t < cfg->threads; ++t)
        if (pthread_create(&l->threads[t], NULL, worker_main, l) != 0) {
            l->cfg.threads = t;
            gcam_loader_free(l);
            return gcam_fail(err, "cannot start loader thread %d", t);
        }
    *out = l;
    return 0;
}

void gcam_loader_free(gcam_loader *l) {
    if (!l) return;
    wait_idle(l);
    pthread_mutex_lock(&l->mutex);
    l->shutdown = 1;
    pthread_cond_broadcast(&l->work_ready);
    pthread_mutex_unlock(&l->mutex);
    for (int t = 0; t < l->cfg.threads; ++t) pthread_join(l->threads[t], NULL);
    pthread_mutex_destroy(&l->mutex);
    pthread_cond_destroy(&l->work_ready);
    pthread_cond_destroy(&l->job_finished);
    loader_release(l);
}
