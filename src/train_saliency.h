/* The trainer's side of saliency-guided augmentation: the map cache the loader reads,
 * the refreshes that fill it (maps of the images just trained on, at their true classes,
 * with the current weights in inference mode), fresh maps (of a batch's own augmented
 * images, just before it trains) and the transforms they drive, the maps' quality against
 * ground-truth boxes, the heatmap grid of fixed validation images, and the statistics of
 * what the guided transforms did. */
#ifndef GCAM_TRAIN_SALIENCY_H
#define GCAM_TRAIN_SALIENCY_H

#include "gcam/data.h"
#include "gcam/settings.h"

#include "augment.h"
#include "loader.h"
#include "map_cache.h"

#include <stdio.h>

enum { GCAM_CROP_AREA_BINS = 50 };

typedef struct gcam_train_saliency {
    gcam_map_cache cache;             /* maps of the training images */
    gcam_saliency_options options;    /* of a refresh and of the grid */
    long max_images;                  /* images of a batch refreshed at most; 0: all */
    int h, w, c;                      /* network input */
    float *images;                    /* (capacity, c, h, w) un-augmented images of a refresh */
    float *maps;                      /* (capacity, h, w) their maps */
    int *classes;                     /* (capacity) true classes */
    int *ids;                         /* (capacity) data set index */
    int *constant;                    /* (capacity) 1 where the map was constant (not stored) */
    int grid_n;                       /* images in the heatmap grid */
    float *grid_images;               /* (grid_n, c, h, w) fixed validation images */
    int *grid_classes;                /* (grid_n) their true classes */
    float *grid_maps;                 /* (grid_n, h, w) */
    char *const *class_names;         /* (classes) borrowed, may be NULL */
    const gcam_guided_config *guided; /* borrowed */
    const gcam_boxes *boxes;          /* ground truth of the training images, or NULL */
    uint64_t seed;                    /* the run's, for the fresh transforms' generators */
    float *view;                      /* (c, h, w) one image while a fresh crop re-zooms it */
    /* the maps' quality since gcam_train_saliency_quality_start: their count, pointing-game
     * hits and shares of their mass inside the box, over the maps with a box */
    long window_maps;
    double window_hits, window_mass;
    /* statistics of the run so far */
    long quality_maps; /* maps compared with a box */
    double quality_hits, quality_mass;
    long refreshes, maps_stored, maps_constant;
    double refresh_seconds;
    long samples, with_map, crops, drops, keeps, cutouts;
    double crop_fraction_sum;
    /* crops by their box's share of the image's area, in bins of 1 / GCAM_CROP_AREA_BINS
     * (doubles, so that the ranks sum them as they sum the rest) */
    double crop_area_bins[GCAM_CROP_AREA_BINS];
} gcam_train_saliency;

/* Checks the settings against the network and allocates the cache (for train's images)
 * and the buffers of a refresh; loads the grid's images from grid_data when the settings
 * ask for a grid. The cache stages the refreshes of `ranks` processes (each a batch of
 * the network's capacity). Fails with the size when memory runs out. */
int gcam_train_saliency_init(gcam_train_saliency *ts, const gcam_settings *s, gcam_net *net,
                             const gcam_dataset *train, const gcam_dataset *grid_data,
                             char *const *class_names, const gcam_boxes *boxes, int ranks,
                             gcam_error *err);
void gcam_train_saliency_free(gcam_train_saliency *ts);

/* Counts what the guided transforms did to a batch. */
void gcam_train_saliency_count(gcam_train_saliency *ts, const gcam_batch *batch);

/* Computes the maps of the first saliency_images images of the job's batch (re-read
 * without augmentation from ds, so that the maps are in each image's own coordinates)
 * that are in `batch`, whose first image is image `first_index` of the job's batch (0 in
 * a single process), and stages them in the cache. *seconds gets the refresh's time. */
int gcam_train_saliency_refresh(gcam_train_saliency *ts, gcam_net *net, const gcam_dataset *ds,
                                const gcam_batch *batch, int first_index, long iteration,
                                double *seconds, gcam_error *err);

/* Fresh maps (saliency_source=fresh): computes the maps of the n augmented images of a
 * batch (images (n, c, h, w), at their true classes `labels`), applies the guided
 * transforms they drive to the images in place (a crop is cut from the batch's source
 * image through the view's warp, with the view's colour jitter, when the batch keeps its
 * sources; otherwise it re-zooms the view), and leaves
 * each image's map in its final view in maps (n, h, w) with has_map (n), for mixing;
 * the statistics count what the transforms did. batch is the loader's (its warps, source
 * sizes and image ids place the boxes of ds's images in the views, for the maps'
 * quality); batch_index seeds the transforms' generators. */
int gcam_train_saliency_fresh(gcam_train_saliency *ts, gcam_net *net, const gcam_dataset *ds,
                              float *images, const int *labels, int n, const gcam_batch *batch,
                              int64_t batch_index, float *maps, int *has_map, double *seconds,
                              gcam_error *err);

/* Starts counting the maps' quality afresh (at each iteration). */
void gcam_train_saliency_quality_start(gcam_train_saliency *ts);
/* The pointing-game hit rate and mean mass in the box of the maps since then; 0 when no
 * map with a box was computed (hit and mass untouched). */
int gcam_train_saliency_quality(const gcam_train_saliency *ts, double *hit, double *mass);

/* Commits the staged refresh once the batch loading ahead is complete, so that batch
 * never sees a half-written cache and every later batch sees the maps. */
void gcam_train_saliency_commit(gcam_train_saliency *ts, gcam_loader *loader);

/* Writes path: the grid images above their current maps, each labelled with its true
 * class, the predicted class and the method. */
int gcam_train_saliency_grid(gcam_train_saliency *ts, gcam_net *net, const char *path,
                             gcam_error *err);

/* The end-of-run summary: refreshes, their share of the run, coverage, the maps' mean age,
 * and how often each transform applied; guide names the guide (saliency_guide's value). */
void gcam_train_saliency_summary(FILE *out, const gcam_train_saliency *ts, const char *guide,
                                 double run_seconds, long iteration);

#endif
