/* The threaded data loader: decodes and augments batches with a pool of pthreads, one
 * batch ahead of the trainer (double buffering).
 *
 * Reproducibility: batch b holds the samples at positions [b*B, b*B + B) of an endless
 * sequence of epochs, each a seeded permutation of the data set; sample (epoch, i)
 * draws its augmentation from its own generator seeded by (seed, epoch * N + i). The
 * result does not depend on the number of threads or their timing.
 *
 * Unreadable images are reported once with their path and replaced by the next readable
 * image of the data set. Loading fails once more than max(10, max_bad_fraction * N)
 * distinct images could not be read.
 *
 * Guided augmentation (guided.h) draws from a second per-sample generator, seeded by
 * (seed ^ constant, epoch * N + i), so the standard draws are the same with or without
 * it; the batch that is loading while the cache changes is always loaded before the
 * change (the trainer calls gcam_loader_wait first). */
#ifndef GCAM_LOADER_H
#define GCAM_LOADER_H

#include "gcam/data.h"

#include "augment.h"
#include "guided.h"
#include "map_cache.h"

typedef struct gcam_batch {
    int64_t index;             /* batch number */
    int n;                     /* images in it; below capacity only for the last validation batch */
    float *x;                  /* (capacity, c, h, w) */
    float *truth;              /* (capacity, classes), one-hot */
    int *labels;               /* (capacity) */
    int *sample_ids;           /* (capacity) data set index of each image actually loaded */
    gcam_warp *warps;          /* (capacity) training augmentation of each image */
    int *src_w, *src_h;        /* (capacity) size of each source image */
    int *guided_flags;         /* (capacity) GCAM_GUIDED_* of each image; 0 without guidance */
    float *crop_fractions;     /* (capacity) guided crop area / image area; 0 if not cropped */
    float *maps;               /* (capacity, h, w) each image's map in its augmented view, with
                                  want_maps; NULL without */
    int *has_map;              /* (capacity) 1 where maps holds a map; NULL without want_maps */
    gcam_color_jitter *colors; /* (capacity) training colour jitter of each image */
    gcam_image *sources;       /* (capacity) each decoded source image, with keep_sources; NULL
                                  without */
} gcam_batch;

typedef struct gcam_loader_config {
    const gcam_dataset *data; /* borrowed for the loader's life */
    int batch;
    int train; /* 1: shuffled epochs with augmentation; 0: in order, plain resize */
    /* One rank of a data-parallel job: batch b holds the positions [b*stride + offset,
     * b*stride + offset + batch) of the sequence (validation: of the list), its slice of
     * the job's batch of `stride` images. 0 and 0: stride = batch, offset 0. */
    int stride, offset;
    gcam_augment_config augment;
    uint64_t seed;
    int threads;
    double max_bad_fraction; /* default 0.01 when 0 */
    /* Saliency-guided augmentation of training batches, or NULL. Both borrowed; the
     * cache may change only between gcam_loader_wait and the next gcam_loader_get. */
    const gcam_guided_config *guided;
    const gcam_map_cache *cache;
    const gcam_boxes *boxes; /* the oracle guide's boxes, borrowed; NULL: none */
    int want_maps;           /* each batch also carries its images' maps in their views */
    /* each batch also keeps its decoded source images, for crops cut from them (memory:
     * two batches of sources) */
    int keep_sources;
} gcam_loader_config;

typedef struct gcam_loader gcam_loader;

int gcam_loader_init(gcam_loader **out, const gcam_loader_config *cfg, gcam_error *err);
void gcam_loader_free(gcam_loader *loader);

/* Batch number `index`, waiting for it if needed, and starts loading index + 1.
 * Borrowed until the next call. NULL, with err, past the unreadable-image limit. */
const gcam_batch *gcam_loader_get(gcam_loader *loader, int64_t index, gcam_error *err);

/* Starts loading batch `index` unless it is loaded or loading already (a resumed run
 * uses it to load its first batch before restoring the map cache's last change). */
void gcam_loader_prefetch(gcam_loader *loader, int64_t index);

/* Waits until the batch being loaded ahead is complete: the loader then reads nothing
 * until the next gcam_loader_get. */
void gcam_loader_wait(gcam_loader *loader);

/* Batches in one pass over the data (validation: the last one may be partial; a rank's
 * share of them with a stride). */
int64_t gcam_loader_batches_per_epoch(const gcam_loader *loader);
/* Distinct images found unreadable so far. */
int gcam_loader_bad_images(gcam_loader *loader);

#endif
