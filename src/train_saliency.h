/* The trainer's side of saliency-guided augmentation: the map cache the loader reads,
 * the refreshes that fill it (maps of the images just trained on, at their true classes,
 * with the current weights in inference mode), the heatmap grid of fixed validation
 * images, and the statistics of what the guided transforms did. */
#ifndef GCAM_TRAIN_SALIENCY_H
#define GCAM_TRAIN_SALIENCY_H

#include "gcam/data.h"
#include "gcam/settings.h"

#include "loader.h"
#include "map_cache.h"

#include <stdio.h>

typedef struct gcam_train_saliency {
    gcam_map_cache cache;          /* maps of the training images */
    gcam_saliency_options options; /* of a refresh and of the grid */
    long max_images;               /* images of a batch refreshed at most; 0: all */
    int h, w, c;                   /* network input */
    float *images;                 /* (capacity, c, h, w) un-augmented images of a refresh */
    float *maps;                   /* (capacity, h, w) their maps */
    int *classes;                  /* (capacity) true classes */
    int *ids;                      /* (capacity) data set index */
    int *constant;                 /* (capacity) 1 where the map was constant (not stored) */
    int grid_n;                    /* images in the heatmap grid */
    float *grid_images;            /* (grid_n, c, h, w) fixed validation images */
    int *grid_classes;             /* (grid_n) their true classes */
    float *grid_maps;              /* (grid_n, h, w) */
    char *const *class_names;      /* (classes) borrowed, may be NULL */
    /* statistics of the run so far */
    long refreshes, maps_stored, maps_constant;
    double refresh_seconds;
    long samples, with_map, crops, drops, keeps, cutouts;
    double crop_fraction_sum;
} gcam_train_saliency;

/* Checks the settings against the network and allocates the cache (for train's images)
 * and the buffers of a refresh; loads the grid's images from grid_data when the settings
 * ask for a grid. Fails with the size when memory runs out. */
int gcam_train_saliency_init(gcam_train_saliency *ts, const gcam_settings *s, gcam_net *net,
                             const gcam_dataset *train, const gcam_dataset *grid_data,
                             char *const *class_names, gcam_error *err);
void gcam_train_saliency_free(gcam_train_saliency *ts);

/* Counts what the guided transforms did to a batch. */
void gcam_train_saliency_count(gcam_train_saliency *ts, const gcam_batch *batch);

/* Computes the maps of the first images of `batch` (re-read without augmentation from ds,
 * so that the maps are in each image's own coordinates) and stages them in the cache.
 * *seconds gets the refresh's time. */
int gcam_train_saliency_refresh(gcam_train_saliency *ts, gcam_net *net, const gcam_dataset *ds,
                                const gcam_batch *batch, long iteration, double *seconds,
                                gcam_error *err);

/* Commits the staged refresh once the batch loading ahead is complete, so that batch
 * never sees a half-written cache and every later batch sees the maps. */
void gcam_train_saliency_commit(gcam_train_saliency *ts, gcam_loader *loader);

/* Writes path: the grid images above their current maps, each labelled with its true
 * class, the predicted class and the method. */
int gcam_train_saliency_grid(gcam_train_saliency *ts, gcam_net *net, const char *path,
                             gcam_error *err);

/* The end-of-run summary: refreshes, their share of the run, coverage, the maps' mean age,
 * and how often each transform applied. */
void gcam_train_saliency_summary(FILE *out, const gcam_train_saliency *ts,
                                 const gcam_guided_config *guided, double run_seconds,
                                 long iteration);

#endif
