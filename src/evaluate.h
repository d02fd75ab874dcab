/* gcam-eval's engine: scores saliency methods on a checkpoint and a labelled image list
 * with deletion and insertion curves, the pointing game (when boxes are given), time per
 * image, and the cascading-randomisation sanity check. Protocols follow
 * shared/notes/groupcam.md; every choice is recorded in the result so that reports can
 * state it. */
#ifndef GCAM_EVALUATE_H
#define GCAM_EVALUATE_H

#include "saliency.h"

#include <stdio.h>

#define GCAM_EVAL_MAX_METHODS 6

typedef struct gcam_eval_options {
    gcam_method methods[GCAM_EVAL_MAX_METHODS];
    int n_methods;
    gcam_saliency_options saliency; /* layer, groups, steps...; method is set per method */
    int limit;                      /* images from the list's start; 0: all */
    int step;                       /* pixels per curve step; 0: ceil(H * W / 28) */
    int predicted;                  /* 1: explain the predicted class; 0: the true class */
    float tolerance;    /* pointing-game tolerance in input pixels; 0: 15 at 224, scaled */
    int chunk;          /* images per saliency call (at most the network's batch) */
    int sanity_images;  /* images in the sanity check; 0: no sanity check */
    unsigned long seed; /* sanity-check randomisation */
    FILE *progress;     /* progress bar with ETA, or NULL */
} gcam_eval_options;

void gcam_eval_options_default(gcam_eval_options *o);

/* One image with one method. */
typedef struct gcam_eval_record {
    int image;  /* index in the list */
    int method; /* index in options.methods */
    int cls;    /* class explained */
    int failed; /* the map was constant (the curves then follow pixel order) */
    float deletion_auc, insertion_auc;
    int pointing_hit; /* 1 hit, 0 miss, -1 no box */
    float seconds;    /* saliency time for this image (its share of a batched call) */
} gcam_eval_record;

/* A box for an image, by path. */
typedef struct gcam_boxes {
    int n;
    char **paths;
    float (*boxes)[4]; /* (n) x0 y0 x1 y1 in the image's own pixels, end exclusive */
} gcam_boxes;

/* "path x0 y0 x1 y1" lines; errors name the file and line. */
int gcam_boxes_read(gcam_boxes *b, const char *path, gcam_error *err);
void gcam_boxes_free(gcam_boxes *b);

typedef struct gcam_eval_result {
    int n_images;   /* evaluated */
    int unreadable; /* listed but unreadable: counted, not scored */
    int points;     /* points per curve */
    int step;       /* pixels per step */
    float tolerance;
    int with_boxes;            /* images with a box */
    int center_hits;           /* centre-point baseline hits among them */
    signed char *center;       /* (n_images) centre-point hit 1/0, -1 without a box */
    gcam_eval_record *records; /* (n_images * n_methods), image-major */
    double *mean_deletion;     /* (n_methods, points) mean curves */
    double *mean_insertion;    /* (n_methods, points) */
    /* sanity check (gcam_eval_sanity): rank correlation with the trained model's maps
     * after randomising the top `depth` weighted layers, depth = 1..sanity_depths */
    int sanity_depths;
    int *sanity_layers;  /* (sanity_depths) the layer randomised at each depth */
    double *sanity_mean; /* (n_methods, sanity_depths) */
    double *sanity_se;   /* (n_methods, sanity_depths) */
    int sanity_images;
    double seconds; /* wall-clock of the whole evaluation */
} gcam_eval_result;

void gcam_eval_result_free(gcam_eval_result *r);

/* Evaluates images (n, paths and labels) on net. csv, if given, receives one line per
 * record as it is made (header written first). boxes may be NULL. */
int gcam_evaluate(gcam_net *net, const gcam_eval_options *o, int n, char *const *paths,
                  const int *labels, const gcam_boxes *boxes, FILE *csv, gcam_eval_result *r,
                  gcam_error *err);

/* The sanity check (Adebayo et al. 2018) on the first o->sanity_images readable images,
 * at the classes of r's records: randomises net's weighted layers one by one from the
 * top and fills r's sanity fields. It destroys net's weights: run it last. */
int gcam_eval_sanity(gcam_net *net, const gcam_eval_options *o, int n, char *const *paths,
                     gcam_eval_result *r, gcam_error *err);

/* Loads image `path` for the network and computes one method's map at class cls
 * (for galleries): image (c, h, w) and map (h, w) are allocated by the caller. */
int gcam_eval_map(gcam_net *net, const gcam_eval_options *o, int method, const char *path, int cls,
                  float *image, float *map, gcam_error *err);

#endif
