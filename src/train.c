/* The training loop (gcam_train_run in gcam/train.h). One iteration is `subdivisions`
 * forward/backward passes of the network's batch followed by one update, as in Darknet.
 * The loop reads top to bottom as named steps; checkpoints (checkpoint.c), the log and
 * chart (train_log.c), the saliency refreshes (train_saliency.c) and the collectives of
 * data-parallel training (distributed.c) live in their own modules.
 *
 * Under mpirun every rank runs this loop on its slice of each pass. The ranks meet at
 * fixed points of every iteration, in the same order: after the forward and backward
 * passes (a failure on any rank stops all), the gradient exchange, after a refresh (the
 * maps are shared), after validation (the counts are summed) and after rank 0's writes.
 * With one rank each meeting is a no-op. */
#include "gcam/train.h"

#include "backup_lock.h"
#include "cfg.h"
#include "checkpoint.h"
#include "clock.h"
#include "distributed.h"
#include "error.h"
#include "kernels.h"
#include "loader.h"
#include "mix.h"
#include "network.h"
#include "parallel.h"
#include "train_log.h"
#include "train_saliency.h"
#include "tta.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct trainer {
    const gcam_settings *s;
    gcam_ranks ranks; /* this process in the job; rank 0 of 1 without mpirun */
    int speaks;       /* rank 0: prints notes and progress, and writes every file */
    gcam_gradient_exchange exchange;
    gcam_net *net;
    network *dn;
    gcam_data_files files;
    gcam_dataset train, valid;
    gcam_loader *train_loader, *valid_loader;
    int guided;                   /* saliency-guided augmentation on */
    int cached;                   /* its maps come from the cache the refreshes fill */
    int fresh;                    /* its maps are computed for each batch */
    int mixing;                   /* saliency mixing on */
    gcam_train_saliency saliency; /* its cache, refreshes and statistics */
    gcam_boxes train_boxes, valid_boxes;
    gcam_mix_stats mix;
    float *images, *truth; /* (per_pass, c, h, w) and (per_pass, classes): a sub-batch as it
                              trains, when fresh maps or mixing change the loader's */
    float *maps;           /* (per_pass, h, w) fresh maps in their views */
    int *has_map;          /* (per_pass) */
    gcam_train_log log;
    gcam_param_buffer *params; /* (n_params) every trained buffer, for the finiteness checks */
    int n_params;
    char backup[GCAM_PATH_MAX], base[GCAM_PATH_MAX];
    gcam_backup_lock lock;             /* rank 0's, on backup, for the whole run */
    const volatile sig_atomic_t *stop; /* the caller's stop request (a signal), or NULL */
    int per_pass;                      /* images per pass on this rank */
    int job_per_pass;                  /* on all ranks: per_pass * ranks */
    int subdivisions, softmax;
    long images_per_iteration, start, max, valid_every;
    double best_top1;
} trainer;

/* ---- setting up ------------------------------------------------------------------- */

/* A [cost] layer after [softmax] adds an SSE gradient on top of the softmax's
 * cross-entropy one; gcam trains on cross-entropy alone. */
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

/* The images each rank trains per pass: the cfg's batch / (subdivisions * ranks), which
 * must be whole; 0 (the cfg's own batch / subdivisions) in a single process. */
static int rank_pass_size(const trainer *t, int *per_pass, gcam_error *err) {
    *per_pass = 0;
    int ranks = t->ranks.size;
    if (ranks < 2) return 0;
    gcam_cfg cfg;
    if (gcam_cfg_read(&cfg, t->s->cfg_path, err) || !cfg.n_sections) {
        if (!cfg.n_sections) gcam_fail(err, "%s: no [net] section", t->s->cfg_path);
        gcam_cfg_free(&cfg);
        return -1;
    }
    const gcam_cfg_option *b = gcam_cfg_find(&cfg.sections[0], "batch");
    const gcam_cfg_option *d = gcam_cfg_find(&cfg.sections[0], "subdivisions");
    int batch = b ? atoi(b->value) : 1, subdivisions = d ? atoi(d->value) : 1;
    gcam_cfg_free(&cfg);
    if (subdivisions < 1 || batch < 1 || batch % (subdivisions * ranks) != 0)
        return gcam_fail(err,
                         "%s: batch=%d does not split over %d ranks: the batch is the job's, and "
                         "must be a multiple of subdivisions x ranks = %d x %d",
                         t->s->cfg_path, batch, ranks, subdivisions, ranks);
    *per_pass = batch / (subdivisions * ranks);
    return 0;
}

/* The data set (a folder or a .data file), the network (with the weights to start from)
 * and the images. */
static int load_inputs(trainer *t, gcam_error *err) {
    const gcam_settings *s = t->s;
    if (!s->data_path[0])
        return gcam_fail(err, "%s: no data set: give -data DIR|FILE or data= in [gcam]",
                         s->cfg_path);
    if (gcam_data_open(&t->files, s->data_path, &s->split, err)) {
        if (!strcmp(s->data_path, "data/fmnist.data"))
            strncat(err->message, " (the built-in data set is made by `make data`)",
                    sizeof err->message - strlen(err->message) - 1);
        return -1;
    }
    if (!gcam_data_has_split(&t->files, 0))
        return gcam_fail(err, "%s: no train= list", s->data_path);
    if (t->speaks) gcam_data_print_classes(&t->files, s->data_path, stderr);
    gcam_load_options lo = gcam_load_options_default();
    lo.weights = s->train.weights[0] ? s->train.weights : NULL;
    lo.weights_layers = s->train.weights_layers;
    lo.clear = s->train.clear;
    lo.init_seed = (unsigned long)s->seed;
    if (rank_pass_size(t, &lo.batch, err) || gcam_net_load(&t->net, s->cfg_path, &lo, err))
        return -1;
    network *dn = t->dn = t->net->dn;
    /* Darknet's update divides by batch * subdivisions and counts iterations in
     * seen / (batch * subdivisions): both must be the job's */
    dn->subdivisions *= t->ranks.size;
    if (gcam_data_check_classes(&t->files, s->data_path, s->cfg_path, t->net->classes, err))
        return -1;
    if (softmax_layer_index(dn) != dn->n - 1 &&
        !(dn->n > 1 && dn->layers[dn->n - 1].type == COST && dn->layers[dn->n - 2].type == SOFTMAX))
        return gcam_fail(err,
                         "%s: a classifier for gcam-train ends in [softmax] (optionally "
                         "followed by [cost])",
                         s->cfg_path);
    if (disable_cost_after_softmax(dn) && t->speaks)
        fprintf(stderr, "gcam-train: note: [cost] after [softmax] is ignored; training uses "
                        "the softmax cross-entropy gradient alone (Darknet would add both)\n");
    if (s->train.max_batches > 0) dn->max_batches = (int)s->train.max_batches;
    if (dn->max_batches <= 0)
        return gcam_fail(err, "%s: max_batches is not set: give -max_batches N", s->cfg_path);
    /* dropout's masks: rank 0 draws one process's, the other ranks streams of their own */
    gcam_kernels_set_seed((uint64_t)s->seed ^ ((uint64_t)t->ranks.rank * 0x9e3779b97f4a7c15ULL));
    if (gcam_data_load_split(&t->files, 0, &t->train, err) ||
        (gcam_data_has_split(&t->files, 1) && gcam_data_load_split(&t->files, 1, &t->valid, err)))
        return -1;
    if (s->train.train_boxes[0] && gcam_boxes_read(&t->train_boxes, s->train.train_boxes, err))
        return -1;
    if (s->train.valid_boxes[0] && gcam_boxes_read(&t->valid_boxes, s->train.valid_boxes, err))
        return -1;
    return 0;
}

/* The loaders, and the saliency cache the training loader reads. */
static int start_loaders(trainer *t, gcam_error *err) {
    const gcam_settings *s = t->s;
    network *dn = t->dn;
    gcam_loader_config lc = {0};
    lc.data = &t->train;
    lc.batch = dn->batch;
    lc.stride = dn->batch * t->ranks.size;
    lc.offset = dn->batch * t->ranks.rank;
    lc.train = 1;
    lc.seed = (uint64_t)s->seed;
    lc.threads = t->ranks.size > 1 ? gcam_parallel_parts() : s->train.threads;
    lc.augment = (gcam_augment_config){dn->w,          dn->h,        dn->c,       dn->min_crop,
                                       dn->max_crop,   dn->aspect,   dn->angle,   dn->hue,
                                       dn->saturation, dn->exposure, t->net->flip};
    if (t->guided) {
        if (gcam_train_saliency_init(&t->saliency, s, t->net, &t->train,
                                     t->valid.n ? &t->valid : &t->train, t->files.labels,
                                     t->train_boxes.n ? &t->train_boxes : NULL, t->ranks.size, err))
            return -1;
        /* fresh maps do not exist before the loader is done: the trainer transforms */
        lc.guided = t->fresh ? NULL : &s->train.guided;
        lc.cache = &t->saliency.cache;
        lc.boxes = &t->train_boxes;
        lc.want_maps = t->mixing;
        /* a fresh map's crop is cut from the source image */
        lc.keep_sources = t->fresh && s->tta.crop_source == GCAM_CROP_FROM_IMAGE;
    }
    if (gcam_loader_init(&t->train_loader, &lc, err)) return -1;
    if (!t->valid.n) return 0;
    lc.data = &t->valid;
    lc.train = 0;
    lc.keep_sources =
        s->train.valid_tta != GCAM_TTA_NONE && s->tta.crop_source == GCAM_CROP_FROM_IMAGE;
    return gcam_loader_init(&t->valid_loader, &lc, err);
}

/* The backup folder and the base name of every file in it. */
static int prepare_backup(trainer *t, gcam_error *err) {
    const gcam_settings *s = t->s;
    const char *dir = s->train.backup_dir[0] ? s->train.backup_dir
                                             : (t->files.backup ? t->files.backup : "backup");
    const char *slash = strrchr(s->cfg_path, '/');
    snprintf(t->base, sizeof t->base, "%s", slash ? slash + 1 : s->cfg_path);
    char *dot = strrchr(t->base, '.');
    if (dot) *dot = '\0';
    /* room for "<dir>/<base>_<iteration>.weights" and the sidecars' names */
    if (strlen(dir) + strlen(t->base) + 48 >= GCAM_PATH_MAX)
        return gcam_fail(err, "%s: backup folder path too long", dir);
    snprintf(t->backup, sizeof t->backup, "%s", dir);
    if (gcam_mkdir_p(t->backup, err)) return -1;
    if (t->speaks && gcam_backup_lock_init(&t->lock, t->backup, err)) return -1;
    if (t->speaks && t->files.folder) { /* the classes and split, for the other programs */
        char data[GCAM_PATH_MAX + 16];
        if (gcam_data_write_files(&t->files, t->backup, data, sizeof data, err)) return -1;
        fprintf(stderr, "gcam-train: classes and split in %s (%s/labels.txt)\n", data, t->backup);
    }
    if (t->guided && s->train.heatmap_every > 0) {
        char heatmaps[GCAM_PATH_MAX + 16];
        snprintf(heatmaps, sizeof heatmaps, "%s/heatmaps", t->backup);
        if (gcam_mkdir_p(heatmaps, err)) return -1;
    }
    return 0;
}

static void trainer_free(trainer *t) {
    gcam_bn_set_sync(NULL, NULL, 1);
    gcam_gradient_exchange_free(&t->exchange);
    gcam_train_log_close(&t->log);
    gcam_loader_free(t->train_loader);
    gcam_loader_free(t->valid_loader);
    gcam_train_saliency_free(&t->saliency);
    gcam_boxes_free(&t->train_boxes);
    gcam_boxes_free(&t->valid_boxes);
    free(t->images);
    free(t->truth);
    free(t->maps);
    free(t->has_map);
    gcam_dataset_free(&t->train);
    gcam_dataset_free(&t->valid);
    gcam_data_files_free(&t->files);
    free(t->params);
    gcam_net_free(t->net);
    gcam_backup_lock_free(&t->lock);
}

/* sync_bn's sums of batch statistics over the ranks. */
static void sum_over_ranks(void *ranks, double *values, int n) {
    gcam_ranks_sum_doubles(ranks, values, n);
}

/* Under mpirun, each rank's compute and loader threads: rank_threads, or its share of
 * its host's cores, so that the ranks of a host do not oversubscribe it. */
static int share_the_host(const trainer *t, gcam_error *err) {
    if (t->ranks.size < 2) return 0;
    int threads = t->s->train.rank_threads;
    if (!threads) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores > t->ranks.local_size ? (int)(cores / t->ranks.local_size) : 1;
    }
    if (gcam_parallel_set_parts(threads))
        return gcam_fail(err, "the kernels' threads were started before the ranks' share");
    return 0;
}

static int trainer_init(trainer *t, const gcam_settings *s, const gcam_ranks *ranks,
                        gcam_error *err) {
    memset(t, 0, sizeof *t);
    t->lock.fd = -1;
    t->s = s;
    t->ranks = *ranks;
    t->speaks = ranks->rank == 0;
    if (gcam_settings_check(s, GCAM_PROGRAM_TRAIN, err) || share_the_host(t, err)) return -1;
    t->guided = s->train.saliency;
    t->fresh = t->guided && s->train.source == GCAM_SOURCE_FRESH;
    t->cached = t->guided && !t->fresh && gcam_guide_uses_cache(s->train.guided.source);
    t->mixing = s->train.mix_prob > 0;
    if (load_inputs(t, err) || start_loaders(t, err) || prepare_backup(t, err)) return -1;
    network *dn = t->dn;
    t->per_pass = dn->batch;
    t->job_per_pass = dn->batch * t->ranks.size;
    t->subdivisions = dn->subdivisions / t->ranks.size;
    t->images_per_iteration = (long)t->job_per_pass * t->subdivisions;
    t->start = (long)(*dn->seen / (size_t)t->images_per_iteration);
    t->max = dn->max_batches;
    t->valid_every = s->train.valid_every > 0
                         ? s->train.valid_every
                         : (t->train.n + t->images_per_iteration - 1) / t->images_per_iteration;
    t->softmax = softmax_layer_index(dn);
    t->n_params = gcam_darknet_parameters(dn, NULL);
    t->params = gcam_xcalloc((size_t)t->n_params + 1, sizeof *t->params);
    gcam_darknet_parameters(dn, t->params);
    if (gcam_gradient_exchange_init(&t->exchange, &t->ranks, dn, t->params, t->n_params, err))
        return -1;
    if (s->train.sync_bn && t->ranks.size > 1)
        gcam_bn_set_sync(sum_over_ranks, &t->ranks, t->ranks.size);
    t->best_top1 = -1;
    if (t->fresh || t->mixing) {
        t->images = gcam_try_malloc(sizeof(float) * (size_t)dn->inputs * t->per_pass,
                                    "a batch of images", err);
        if (!t->images) return -1;
        t->truth = gcam_xmalloc(sizeof(float) * (size_t)dn->truths * t->per_pass);
        t->maps = gcam_xmalloc(sizeof(float) * (size_t)dn->w * dn->h * t->per_pass);
        t->has_map = gcam_xcalloc((size_t)t->per_pass, sizeof(int));
    }
    return 0;
}

/* Continuing from a _last checkpoint: its momentum and map cache, when they match. */
static void resume(trainer *t) {
    if (!t->s->train.weights[0] || t->start == 0) return;
    int momentum, maps;
    gcam_checkpoint_restore(t->dn, t->cached ? &t->saliency.cache : NULL, t->s->train.weights,
                            &momentum, &maps);
    if (t->speaks)
        fprintf(stderr, "gcam-train: resuming at iteration %ld (%s)\n", t->start,
                momentum ? "momentum restored" : "no matching momentum file; momentum restarts");
    if (!t->cached) return;
    if (t->speaks)
        fprintf(stderr, "gcam-train: %s\n",
                maps ? "saliency maps restored"
                     : "no matching saliency map file; the map cache starts empty");
    /* the first batch saw the cache without the last refresh, as it did before */
    gcam_loader_prefetch(t->train_loader, (int64_t)t->start * t->subdivisions);
    gcam_train_saliency_commit(&t->saliency, t->train_loader);
}

/* ---- meeting the other ranks ------------------------------------------------------ */

/* Every rank learns whether any failed (status -1): the first failing rank's error is
 * prefixed with its rank, the others stop with an error naming it. */
static int agree(const trainer *t, int status, gcam_error *err) {
    if (t->ranks.size < 2) return status;
    int failed = gcam_ranks_first_set(&t->ranks, status != 0);
    if (failed < 0) return 0;
    if (failed == t->ranks.rank) {
        char message[sizeof err->message];
        snprintf(message, sizeof message, "%s", err->message);
        return gcam_fail(err, "rank %d of %d: %s", t->ranks.rank, t->ranks.size, message);
    }
    return gcam_fail(err, "rank %d of %d: stopping because rank %d failed", t->ranks.rank,
                     t->ranks.size, failed);
}

/* Every rank trains the same model: the same weights, momentum, rolling statistics,
 * images seen and map cache (a -weights file that differs between hosts, or a collective
 * that left the ranks apart, would break this). */
static int check_same_model(const trainer *t, const char *when, gcam_error *err) {
    if (t->ranks.size < 2) return 0;
    uint64_t mine = gcam_model_fingerprint(t->dn, t->params, t->n_params,
                                           t->cached ? &t->saliency.cache : NULL);
    if (gcam_ranks_all_equal(&t->ranks, mine)) return 0;
    return gcam_fail(err,
                     "the ranks' models or map caches differ %s (is %s the same file on "
                     "every host?); stopping",
                     when, t->s->train.weights[0] ? t->s->train.weights : "the cfg");
}

/* ---- the steps of an iteration ---------------------------------------------------- */

/* 1 if every value (updates: every accumulated gradient) of the parameters is finite:
 * their sum in double precision is finite exactly when each value is, in any order of
 * addition (float values cannot overflow a double sum). Eight partial sums let the
 * compiler vectorise the loop, which a single running sum forbids; it runs twice an
 * iteration over every weight. */
static int all_finite(const trainer *t, int updates) {
    double lanes[8] = {0};
    for (int k = 0; k < t->n_params; ++k) {
        const float *v = updates ? t->params[k].updates : t->params[k].values;
        size_t n = v ? t->params[k].n : 0, q = 0;
        for (; q + 8 <= n; q += 8)
            for (int j = 0; j < 8; ++j) lanes[j] += v[q + j];
        for (; q < n; ++q) lanes[0] += v[q];
    }
    double total = 0;
    for (int j = 0; j < 8; ++j) total += lanes[j];
    return isfinite(total);
}

/* A sub-batch as the network trains on it: the loader's images and labels, then the
 * transforms of fresh maps and the mixing, into the network's input and truth. */
static int prepare_batch(trainer *t, const gcam_batch *b, int64_t index, double *fresh_seconds,
                         gcam_error *err) {
    network *dn = t->dn;
    size_t image_floats = (size_t)dn->inputs * t->per_pass;
    size_t truth_floats = (size_t)dn->truths * t->per_pass;
    if (!t->fresh && !t->mixing) {
        memcpy(dn->input, b->x, sizeof(float) * image_floats);
        memcpy(dn->truth, b->truth, sizeof(float) * truth_floats);
        return 0;
    }
    memcpy(t->images, b->x, sizeof(float) * image_floats);
    memcpy(t->truth, b->truth, sizeof(float) * truth_floats);
    const float *maps = b->maps;
    const int *has_map = b->has_map;
    if (t->fresh) {
        double seconds;
        if (gcam_train_saliency_fresh(&t->saliency, t->net, &t->train, t->images, b->labels, b->n,
                                      b, index, t->maps, t->has_map, &seconds, err))
            return -1;
        *fresh_seconds += seconds;
        maps = t->maps, has_map = t->has_map;
    }
    if (t->mixing)
        gcam_mix_batch(&t->s->train, (uint64_t)t->s->seed, index, t->images, t->truth, b->n, dn->c,
                       dn->h, dn->w, dn->truths, maps, has_map, &t->mix);
    memcpy(dn->input, t->images, sizeof(float) * image_floats);
    memcpy(dn->truth, t->truth, sizeof(float) * truth_floats);
    return 0;
}

/* Forward and backward over this rank's sub-batches of the iteration; *loss gets the sum
 * of their mean losses. *last is the last sub-batch (a refresh maps its images). */
static int forward_backward(trainer *t, long iter, double *loss, const gcam_batch **last,
                            double *fresh_seconds, gcam_error *err) {
    network *dn = t->dn;
    *loss = 0;
    *fresh_seconds = 0;
    for (int sub = 0; sub < t->subdivisions; ++sub) {
        int64_t pass = (int64_t)iter * t->subdivisions + sub;
        const gcam_batch *b = gcam_loader_get(t->train_loader, pass, err);
        if (!b) return -1;
        if (t->guided && !t->fresh) gcam_train_saliency_count(&t->saliency, b);
        /* the random streams of fresh maps and mixing follow the job's sample positions */
        int64_t stream = pass * t->ranks.size + t->ranks.rank;
        if (prepare_batch(t, b, stream, fresh_seconds, err)) return -1;
        *dn->seen += (size_t)t->job_per_pass;
        dn->train = 1;
        forward_network(dn);
        gcam_net_weights_changed(t->net); /* batch norm moved its rolling statistics */
        backward_network(dn);
        *loss += dn->layers[t->softmax].cost[0] / t->per_pass;
        *last = b;
    }
    if (!isfinite(*loss))
        return gcam_fail(err,
                         "iteration %ld: the loss is %s; stopping without saving (the last "
                         "checkpoint in %s is from before it)",
                         iter + 1, isnan(*loss) ? "NaN" : "infinite", t->backup);
    return 0;
}

/* The iteration's passes on every rank, the gradient exchange, the finiteness checks and
 * the update; *loss is the mean loss of the job's sub-batches. */
static int train_step(trainer *t, long iter, double *loss, const gcam_batch **last,
                      double *fresh_seconds, gcam_error *err) {
    gcam_gradient_exchange_begin(&t->exchange);
    int status = forward_backward(t, iter, loss, last, fresh_seconds, err);
    if ((status = agree(t, status, err))) return status;
    gcam_gradient_exchange_run(&t->exchange);
    gcam_ranks_sum_doubles(&t->ranks, loss, 1);
    *loss /= (double)t->subdivisions * t->ranks.size;
    const char *after = "stopping without saving (the last checkpoint in";
    network *dn = t->dn;
    if (!all_finite(t, 1))
        return gcam_fail(err,
                         "iteration %ld: the gradients are not finite (they exploded); %s %s is "
                         "from before it). A lower learning_rate or a longer burn_in may help",
                         iter + 1, after, t->backup);
    update_network(dn);
    gcam_net_weights_changed(t->net);
    if (!all_finite(t, 0))
        return gcam_fail(err,
                         "iteration %ld: the update made weights infinite or NaN; %s %s is from "
                         "before it). A lower learning_rate may help",
                         iter + 1, after, t->backup);
    return 0;
}

/* The scores of a validation batch: the network's outputs, or with valid_tta the logits
 * averaged with a test-time crop's (scores (n, classes)). */
static const float *valid_scores(trainer *t, const gcam_batch *batch, float *scores,
                                 gcam_error *err) {
    gcam_tta_mode mode = t->s->train.valid_tta;
    if (mode == GCAM_TTA_NONE) return gcam_net_predict(t->net, batch->x, batch->n);
    float(*boxes)[4] = gcam_xmalloc(sizeof *boxes * (size_t)batch->n);
    gcam_net_info in = gcam_net_get_info(t->net);
    for (int i = 0; i < batch->n; ++i) { /* the whole image was resized to the input */
        const float *box = gcam_boxes_find(&t->valid_boxes, t->valid.paths[batch->sample_ids[i]]);
        float sx = (float)in.w / batch->src_w[i], sy = (float)in.h / batch->src_h[i];
        boxes[i][0] = box ? box[0] * sx : NAN, boxes[i][1] = box ? box[1] * sy : NAN;
        boxes[i][2] = box ? box[2] * sx : NAN, boxes[i][3] = box ? box[3] * sy : NAN;
    }
    int status =
        gcam_tta_logits(t->net, &t->s->tta, &t->s->saliency, &mode, 1, batch->x, batch->sources,
                        batch->n, (const float(*)[4])boxes, batch->sample_ids, scores, NULL, err);
    free(boxes);
    return status ? NULL : scores;
}

/* Whether a stop was requested on any rank (every rank calls it at the same points). */
static int stop_requested(const trainer *t) {
    return gcam_ranks_max_int(&t->ranks, t->stop ? *t->stop : 0);
}

/* Top-1 and top-5 on the validation list, in inference mode; each rank scores its slice
 * of every batch of the job. A stop request abandons it between two batches: *images is
 * then 0 and r holds no result. */
static int validate(trainer *t, gcam_train_record *r, int *images, gcam_error *err) {
    int classes = t->net->classes, hits1 = 0, hits5 = 0, status = 0;
    *images = 0;
    float *scores = gcam_xmalloc(sizeof(float) * (size_t)classes * t->per_pass);
    int64_t batches = gcam_loader_batches_per_epoch(t->valid_loader);
    for (int64_t b = 0; b < batches; ++b) {
        if (stop_requested(t)) {
            free(scores);
            *images = 0;
            return 0;
        }
        const gcam_batch *batch = gcam_loader_get(t->valid_loader, b, err);
        const float *p = batch ? valid_scores(t, batch, scores, err) : NULL;
        if (!p) {
            status = -1;
            break;
        }
        for (int i = 0; i < batch->n; ++i) {
            const float *row = p + (size_t)i * classes;
            float truth = row[batch->labels[i]];
            int better = 0;
            for (int k = 0; k < classes; ++k) better += row[k] > truth;
            hits1 += better == 0;
            hits5 += better < 5;
        }
        *images += batch->n;
    }
    free(scores);
    if ((status = agree(t, status, err))) return status;
    double counts[3] = {hits1, hits5, *images};
    gcam_ranks_sum_doubles(&t->ranks, counts, 3);
    *images = (int)counts[2];
    r->valid_top1 = counts[0] / counts[2];
    r->valid_top5 = counts[1] / counts[2];
    return 0;
}

static int save(trainer *t, const char *suffix, int resumable, gcam_error *err) {
    char path[GCAM_PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s%s", t->backup, t->base, suffix) >= (int)sizeof path)
        return gcam_fail(err, "%s: backup folder path too long", t->backup);
    return gcam_checkpoint_save(t->dn, t->cached ? &t->saliency.cache : NULL, path, resumable, err);
}

/* Validation when it is due (every rank), and on rank 0 its line. */
static int validate_if_due(trainer *t, gcam_train_record *r, gcam_error *err) {
    long done = r->iteration;
    r->valid_top1 = r->valid_top5 = -1;
    if (!t->valid_loader || (done % t->valid_every != 0 && done != t->max)) return 0;
    int images;
    if (validate(t, r, &images, err)) return -1;
    if (t->speaks && images > 0) gcam_train_log_print_validation(stdout, r, images);
    return 0;
}

/* _last (with its sidecars), the numbered and the final weights, when due. */
static int save_checkpoints(trainer *t, long done, int stopping, gcam_error *err) {
    const gcam_train_options *o = &t->s->train;
    if ((done % o->checkpoint_every == 0 || stopping || done == t->max) &&
        save(t, "_last.weights", 1, err))
        return -1;
    if (o->save_every > 0 && done % o->save_every == 0) {
        char suffix[64];
        snprintf(suffix, sizeof suffix, "_%ld.weights", done);
        if (save(t, suffix, 0, err)) return -1;
    }
    return done == t->max ? save(t, "_final.weights", 0, err) : 0;
}

static int write_heatmap_grid_if_due(trainer *t, long done, gcam_error *err) {
    long every = t->s->train.heatmap_every;
    if (!t->guided || every <= 0 || (done % every != 0 && done != t->max)) return 0;
    char path[GCAM_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/heatmaps/%ld.png", t->backup, done);
    return gcam_train_saliency_grid(&t->saliency, t->net, path, err);
}

/* The saliency columns of an iteration's record: the share of the training images with a
 * cached map (or of the iteration's samples with a map, for fresh and oracle maps), and
 * the maps' quality against the boxes when this iteration computed maps; all over the
 * job's samples (the quality window is summed over the ranks in place). */
static void record_saliency(trainer *t, gcam_train_record *r, long samples_before,
                            long with_map_before, int computed_maps) {
    gcam_train_saliency *ts = &t->saliency;
    r->saliency = t->guided;
    double counts[5] = {ts->samples - samples_before, ts->with_map - with_map_before,
                        ts->window_maps, ts->window_hits, ts->window_mass};
    if (t->guided) gcam_ranks_sum_doubles(&t->ranks, counts, 5);
    ts->window_maps = (long)counts[2], ts->window_hits = counts[3], ts->window_mass = counts[4];
    r->coverage = t->cached ? (double)ts->cache.covered / ts->cache.n
                            : (counts[0] > 0 ? counts[1] / counts[0] : 0);
    r->map_hit = r->map_mass = -1;
    if (computed_maps) gcam_train_saliency_quality(ts, &r->map_hit, &r->map_mass);
}

/* The run's statistics of guided transforms, maps and mixing, over the job: each rank
 * counted its own samples (the maps a cached refresh stored are every rank's already). */
static void sum_statistics_over_ranks(trainer *t) {
    if (t->ranks.size < 2) return;
    gcam_train_saliency *ts = &t->saliency;
    gcam_mix_stats *m = &t->mix;
    double v[] = {ts->samples,
                  ts->with_map,
                  ts->crops,
                  ts->drops,
                  ts->keeps,
                  ts->cutouts,
                  ts->crop_fraction_sum,
                  ts->maps_constant,
                  ts->quality_maps,
                  ts->quality_hits,
                  ts->quality_mass,
                  t->cached ? 0 : ts->maps_stored,
                  m->samples,
                  m->mixed,
                  m->area_fallbacks,
                  m->area_sum,
                  m->weight_b_sum};
    gcam_ranks_sum_doubles(&t->ranks, v, (int)(sizeof v / sizeof v[0]));
    gcam_ranks_sum_doubles(&t->ranks, ts->crop_area_bins, GCAM_CROP_AREA_BINS);
    ts->samples = (long)v[0], ts->with_map = (long)v[1], ts->crops = (long)v[2];
    ts->drops = (long)v[3], ts->keeps = (long)v[4], ts->cutouts = (long)v[5];
    ts->crop_fraction_sum = v[6], ts->maps_constant = (long)v[7];
    ts->quality_maps = (long)v[8], ts->quality_hits = v[9], ts->quality_mass = v[10];
    if (!t->cached) ts->maps_stored = (long)v[11];
    m->samples = (long)v[12], m->mixed = (long)v[13], m->area_fallbacks = (long)v[14];
    m->area_sum = v[15], m->weight_b_sum = v[16];
}

/* On rank 0: the best checkpoint after a better validation, the log's row, the
 * checkpoints due, the chart and the heatmap grid. */
static int write_outputs(trainer *t, gcam_train_record *r, double run_start, int stopping,
                         gcam_error *err) {
    if (!t->speaks) return 0;
    if (r->valid_top1 > t->best_top1) {
        t->best_top1 = r->valid_top1;
        if (save(t, "_best.weights", 0, err)) return -1;
    }
    long done = r->iteration;
    r->seconds = t->log.seconds_before + gcam_now_seconds() - run_start;
    gcam_train_log_append(&t->log, r);
    if (save_checkpoints(t, done, stopping, err)) return -1;
    if ((r->valid_top1 >= 0 || done == t->max) && gcam_train_log_chart(&t->log, err)) return -1;
    return write_heatmap_grid_if_due(t, done, err);
}

/* A refresh when one is due: this rank's maps, then every rank's shared. */
static int refresh_if_due(trainer *t, const gcam_batch *last, long done, double *seconds,
                          int *refreshed, gcam_error *err) {
    *refreshed = t->cached && done % t->s->train.saliency_every == 0;
    if (!*refreshed) return 0;
    int status = gcam_train_saliency_refresh(&t->saliency, t->net, &t->train, last,
                                             t->per_pass * t->ranks.rank, done, seconds, err);
    if ((status = agree(t, status, err))) return status;
    gcam_ranks_share_staged_maps(&t->ranks, &t->saliency.cache);
    return 0;
}

static void print_mix_summary(const trainer *t) {
    const gcam_mix_stats *m = &t->mix;
    fprintf(stderr,
            "gcam-train: mixing (%s labels, %s boxes): %ld of %ld samples mixed (%.1f%%), mean "
            "box %.1f%% of the image, mean partner weight %.3f; %ld saliency labels fell back "
            "to area\n",
            t->s->train.mix_label == GCAM_MIX_LABEL_SALIENCY ? "saliency" : "area",
            t->s->train.mix_box == GCAM_MIX_BOX_SALIENCY ? "saliency" : "random", m->mixed,
            m->samples, m->samples ? 100.0 * m->mixed / m->samples : 0,
            m->mixed ? 100 * m->area_sum / m->mixed : 0, m->mixed ? m->weight_b_sum / m->mixed : 0,
            m->area_fallbacks);
}

/* ---- the loop --------------------------------------------------------------------- */

/* The run's first lines: the data, the batch and, under mpirun, the ranks. */
static void print_start(const trainer *t) {
    fprintf(stderr,
            "gcam-train: %s: %d train images, %d valid, batch %d x %d subdivisions, "
            "iterations %ld..%ld, backup %s; OpenBLAS %s GEMMs\n",
            t->s->cfg_path, t->train.n, t->valid.n, t->job_per_pass, t->subdivisions, t->start,
            t->max, t->backup, gcam_blas_kernels());
    if (t->ranks.size > 1)
        fprintf(stderr,
                "gcam-train: %d ranks, %d images per rank per pass, %d threads each; %.3f MB of "
                "gradients and statistics summed per iteration in %ld MPI_Allreduce call(s)\n",
                t->ranks.size, t->per_pass, gcam_parallel_parts(),
                4e-6 * (double)t->exchange.floats,
                (long)((t->exchange.floats + t->exchange.buffer_floats - 1) /
                       t->exchange.buffer_floats));
}

static void print_exchange_summary(const trainer *t, double run_seconds) {
    const gcam_gradient_exchange *x = &t->exchange;
    if (t->ranks.size < 2 || !x->exchanges) return;
    fprintf(stderr,
            "gcam-train: gradient exchange: %ld iterations, %.3f MB each, %.4f s each in "
            "MPI_Allreduce, %.1f%% of the run\n",
            x->exchanges, 4e-6 * (double)x->floats, x->seconds / x->exchanges,
            run_seconds > 0 ? 100 * x->seconds / run_seconds : 0);
}

/* Setting up on every rank: the trainer, the checkpoint to resume from, and the log; then
 * every rank checks that all start from the same model. */
static int start(trainer *t, const gcam_settings *s, const gcam_ranks *ranks, gcam_error *err) {
    int status = trainer_init(t, s, ranks, err);
    if (!status) resume(t);
    if (!status && t->speaks)
        status = gcam_train_log_open(&t->log, t->backup, t->base, t->start, err);
    if ((status = agree(t, status, err))) return status;
    if ((status = check_same_model(t, "at the start", err))) return status;
    if (t->speaks) print_start(t);
    return 0;
}

int gcam_train_run(const gcam_settings *s, const volatile sig_atomic_t *stop, gcam_error *err) {
    gcam_ranks ranks = gcam_ranks_get();
    trainer t;
    int started = start(&t, s, &ranks, err);
    t.stop = stop;
    if (started) {
        trainer_free(&t);
        return -1;
    }
    int status = 0;
    double avg_loss = -1, avg_seconds = -1, run_start = gcam_now_seconds();
    long done = t.start;
    for (long iter = t.start; iter < t.max && !status; ++iter) {
        double t0 = gcam_now_seconds(), loss;
        const gcam_batch *last = NULL;
        long samples = t.saliency.samples, with_map = t.saliency.with_map;
        gcam_train_saliency_quality_start(&t.saliency);
        gcam_train_record r = {.iteration = iter + 1, .max_iteration = t.max};
        if ((status = train_step(&t, iter, &loss, &last, &r.refresh_seconds, err))) break;
        done = iter + 1;
        int refreshed;
        if ((status = refresh_if_due(&t, last, done, &r.refresh_seconds, &refreshed, err))) break;
        record_saliency(&t, &r, samples, with_map, refreshed || t.fresh);
        double seconds = gcam_now_seconds() - t0;
        avg_loss = avg_loss < 0 ? loss : 0.9 * avg_loss + 0.1 * loss;
        avg_seconds = avg_seconds < 0 ? seconds : 0.95 * avg_seconds + 0.05 * seconds;
        r.epoch = (double)*t.dn->seen / t.train.n;
        r.loss = loss, r.avg_loss = avg_loss, r.rate = get_current_rate(t.dn);
        r.images_per_second = t.images_per_iteration / seconds;
        r.eta_seconds = avg_seconds * (double)(t.max - done);
        if (!s->quiet && t.speaks) gcam_train_log_print(stdout, &r);
        fflush(stdout); /* the line is seen before a validation begins */
        if ((status = validate_if_due(&t, &r, err))) break;
        fflush(stdout);
        /* a signal reaches the ranks at different moments: they stop at the same iteration */
        int stopping = stop_requested(&t);
        if ((status = agree(&t, write_outputs(&t, &r, run_start, stopping, err), err))) break;
        if (done % s->train.checkpoint_every == 0 &&
            (status = check_same_model(&t, "after an update", err)))
            break;
        if (t.cached) gcam_train_saliency_commit(&t.saliency, t.train_loader);
        if (stopping) {
            if (t.speaks)
                fprintf(stderr,
                        "gcam-train: interrupted at iteration %ld; saved %s/%s_last.weights\n",
                        done, t.backup, t.base);
            status = stopping;
        }
    }
    sum_statistics_over_ranks(&t);
    double run_seconds = gcam_now_seconds() - run_start;
    if (t.guided && t.speaks) {
        char guide[32];
        gcam_settings_format(s, "saliency_guide", guide, sizeof guide);
        gcam_train_saliency_summary(stderr, &t.saliency, guide, run_seconds, done);
    }
    if (t.mixing && t.speaks) print_mix_summary(&t);
    if (t.speaks) print_exchange_summary(&t, run_seconds);
    double bad = gcam_loader_bad_images(t.train_loader);
    gcam_ranks_sum_doubles(&t.ranks, &bad, 1);
    if (bad > 0 && t.speaks)
        fprintf(stderr, "gcam-train: %.0f unreadable training images were skipped\n", bad);
    trainer_free(&t);
    return status;
}
