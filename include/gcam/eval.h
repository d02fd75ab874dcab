/* How faithful a checkpoint's saliency maps are (gcam-eval's engine): deletion and
 * insertion curves and their areas (the Group-CAM protocol), the pointing game when boxes
 * are given (with a centre-point baseline), time per image, and the cascading-
 * randomisation sanity check; then a table, per_image.csv, plots and an HTML report. */
#ifndef GCAM_EVAL_H
#define GCAM_EVAL_H

#include "gcam/core.h"
#include "gcam/data.h"
#include "gcam/settings.h"

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One image with one method. */
typedef struct gcam_eval_record {
    int image;  /* index in the list */
    int method; /* index in the options' methods */
    int cls;    /* class explained */
    int failed; /* the map was constant (the curves then follow pixel order) */
    float deletion_auc, insertion_auc;
    int pointing_hit; /* 1 hit, 0 miss, -1 no box */
    float seconds;    /* saliency time for this image (its share of a batched call) */
} gcam_eval_record;

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
    /* sanity check: rank correlation with the trained model's maps after randomising the
     * top `depth` weighted layers, depth = 1..sanity_depths */
    int sanity_depths;
    int *sanity_layers;  /* (sanity_depths) the layer randomised at each depth */
    double *sanity_mean; /* (n_methods, sanity_depths) */
    double *sanity_se;   /* (n_methods, sanity_depths) */
    int sanity_images;
    int *images; /* (n_images) each evaluated image's index in the list */
    int *labels; /* (n_images) the true classes */
    /* test-time crops (eval tta): each mode's predicted class */
    int tta_n_modes;
    gcam_tta_mode tta_modes[GCAM_TTA_MODE_COUNT];
    int *tta_predicted; /* (n_images, tta_n_modes) */
    /* (n_images) the share of each image's ground-truth box inside the crop mode's last
     * box (NaN without a box or without the crop mode): whether the focus found the item */
    float *tta_crop_cover;
    double tta_seconds[GCAM_TTA_MODE_COUNT];       /* each mode's wall-clock, all images */
    double tta_multiply_adds[GCAM_TTA_MODE_COUNT]; /* each mode's, per image */
    double seconds;                                /* wall-clock of the whole evaluation */
} gcam_eval_result;

GCAM_API void gcam_eval_result_free(gcam_eval_result *r);

/* Evaluates the images (n, paths and labels) on net with eo's methods, computing maps with
 * so (its method replaced by each of eo's, its RISE masks by eo->rise_n). boxes may be
 * NULL. With eo->raw, every map is written to <eo->out_dir>/maps/<stem>_<method>.npy.
 * With eo->tta (and labels), each test-time crop mode of tta (oracle with boxes) predicts
 * every image too. progress (may be NULL) gets a progress bar with an ETA. stop (may be
 * NULL) is polled between batches: once it is non-zero, the images evaluated so far are
 * r's (r->n_images) and the call returns 0. */
GCAM_API int gcam_evaluate(gcam_net *net, const gcam_eval_options *eo,
                           const gcam_saliency_options *so, const gcam_tta_options *tta, int n,
                           char *const *paths, const int *labels, const gcam_boxes *boxes,
                           FILE *progress, const volatile sig_atomic_t *stop, gcam_eval_result *r,
                           gcam_error *err);

/* The sanity check (Adebayo et al. 2018) on the first eo->sanity_images evaluated images,
 * at the classes of r's records: randomises net's weighted layers one by one from the
 * top and fills r's sanity fields. It destroys net's weights: run it last. stop (may be
 * NULL) is polled between layers: once it is non-zero the check is abandoned and r has
 * none (r->sanity_depths 0). */
GCAM_API int gcam_eval_sanity(gcam_net *net, const gcam_eval_options *eo,
                              const gcam_saliency_options *so, int n, char *const *paths,
                              gcam_eval_result *r, FILE *progress,
                              const volatile sig_atomic_t *stop, gcam_error *err);

/* <out_dir>/per_image.csv: image,method,class,deletion_auc,insertion_auc,pointing_hit,
 * seconds; paths quoted as RFC 4180 says. Atomic. */
GCAM_API int gcam_eval_write_csv(const char *path, const gcam_eval_options *eo,
                                 const gcam_eval_result *r, char *const *paths, gcam_error *err);

/* The top-1 of each test-time crop mode, and the crop's paired differences from the others
 * with their 95 % intervals (nothing without test-time crops). */
GCAM_API void gcam_eval_print_tta(FILE *out, const gcam_tta_options *tta,
                                  const gcam_eval_result *r);

/* A crop holds the item when this share of the item's box lies inside it. */
#define GCAM_FOCUS_HOLDS 0.9f

/* <out_dir>/tta.csv: image,label, then each mode's predicted class, then crop_cover (the
 * share of the item's box inside the crop, empty without a box) when the crop mode ran
 * with boxes; for paired tests. */
GCAM_API int gcam_eval_write_tta_csv(const char *path, const gcam_eval_options *eo,
                                     const gcam_eval_result *r, char *const *paths,
                                     gcam_error *err);

/* <out_dir>/tta_cost.csv: mode,multiply_adds,seconds (per image), for the cost of each
 * test-time pipeline. Atomic. */
GCAM_API int gcam_eval_write_tta_cost(const char *path, const gcam_eval_result *r, gcam_error *err);

/* The table of mean +- standard error per metric and method, and the protocol. */
GCAM_API void gcam_eval_print_table(FILE *out, const gcam_eval_options *eo,
                                    const gcam_eval_result *r, int classes, int h, int w);

/* gcam-eval: evaluates the data set's validation images (s->data_path: a folder's split
 * or a .data file's valid= list) under the cfg s->cfg_path and weights with s's
 * settings, prints the table to out, and writes per_image.csv, curves.png and .svg,
 * sanity.png and .svg, and report.html (self-contained) to s->eval.out_dir. Unreadable
 * images are reported, counted in *unreadable and skipped. stop (may be NULL) is polled
 * between batches: once it is non-zero, the outputs are written for the images evaluated
 * so far (without the sanity check; nothing when there are none) and the value of *stop
 * is returned. Otherwise 0, or -1 on an error. */
GCAM_API int gcam_eval_run(const gcam_settings *s, const char *weights, FILE *out, int *unreadable,
                           const volatile sig_atomic_t *stop, gcam_error *err);

#ifdef __cplusplus
}
#endif
#endif
