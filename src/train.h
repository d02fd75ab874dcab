/* The training loop of gcam-train: Darknet's update rule and learning-rate policies,
 * batch and subdivisions, periodic validation, a CSV log, crash-safe checkpoints and
 * exact resumption (weights plus a momentum sidecar). */
#ifndef GCAM_TRAIN_H
#define GCAM_TRAIN_H

#include "gcam.h"
#include "guided.h"
#include "saliency.h"

#include <stdio.h>

#define GCAM_PATH_MAX 4096

typedef struct gcam_train_options {
    char cfg_path[GCAM_PATH_MAX];
    char data_path[GCAM_PATH_MAX];  /* Darknet .data file */
    char weights[GCAM_PATH_MAX];    /* start from these weights; empty: fresh */
    char backup_dir[GCAM_PATH_MAX]; /* empty: the .data file's backup=, else "backup" */
    int weights_layers;             /* load only the first N layers of weights (0: all) */
    int clear;                      /* reset `seen` after loading */
    long max_batches;               /* 0: the cfg's max_batches */
    long seed;
    int threads;           /* loader threads */
    long valid_every;      /* iterations; 0: once per epoch */
    long checkpoint_every; /* _last.weights every K iterations */
    long save_every;       /* <cfg>_<iter>.weights every K iterations; 0: never */
    int quiet;             /* no per-iteration line */
    /* saliency-guided augmentation (guided.h) */
    int saliency;                           /* 1: on; 0: the other saliency keys are ignored */
    long saliency_every;                    /* iterations between map refreshes */
    long saliency_images;                   /* images of the batch refreshed; 0: all */
    gcam_saliency_options saliency_options; /* method, layer, groups */
    gcam_guided_config guided;
    long heatmap_every;  /* <backup>/heatmaps/<iter>.png every N iterations; 0: never */
    long heatmap_images; /* validation images in that grid */
} gcam_train_options;

/* Defaults (documented in gcam-train --help). */
void gcam_train_options_default(gcam_train_options *o, const char *cfg_path);

/* Applies the cfg's [gcam] section; unknown keys and bad values are errors naming the
 * key and line. Command-line values are applied by the caller afterwards. */
int gcam_train_options_from_cfg(gcam_train_options *o, gcam_error *err);

/* Sets one [gcam] key from its text; `where` prefixes the error ("file:line"). */
int gcam_train_options_set(gcam_train_options *o, const char *key, const char *value,
                           const char *where, gcam_error *err);

/* The same from "KEY=VALUE" (the command line's -set). */
int gcam_train_options_set_pair(gcam_train_options *o, const char *pair, const char *where,
                                gcam_error *err);

/* Checks the keys against each other (after the cfg and the command line). */
int gcam_train_options_check(const gcam_train_options *o, gcam_error *err);

/* Prints every [gcam] key with its range and default, for --help. */
void gcam_train_print_keys(FILE *out);

/* Outcome of a run: 0 finished, -1 error (in err), or the number of the signal that
 * interrupted it (after _last was saved). */
int gcam_train_run(const gcam_train_options *o, gcam_error *err);

#endif
