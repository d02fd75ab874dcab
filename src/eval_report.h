/* gcam-eval's outputs: per-method summaries, the table, per_image.csv, the plots of the
 * mean curves and of the sanity check (PNG and SVG from one drawing), and a self-contained
 * HTML report (inline SVG plots and base64 heatmaps, so it opens in a browser with no
 * network and no other file). */
#ifndef GCAM_EVAL_REPORT_H
#define GCAM_EVAL_REPORT_H

#include "gcam/eval.h"

#include <stdio.h>

/* Per-method summary of a result. */
typedef struct gcam_method_summary {
    double deletion, deletion_se; /* mean AUC over images */
    double insertion, insertion_se;
    double pointing, pointing_se; /* mean over classes of the hit rate; -1 without boxes */
    double seconds;               /* mean saliency seconds per image */
    int failures;                 /* constant maps */
} gcam_method_summary;

void gcam_eval_summarise(const gcam_eval_options *o, const gcam_eval_result *r, int classes,
                         gcam_method_summary *out);
/* The centre-point baseline's pointing accuracy (mean over classes), -1 without boxes. */
double gcam_eval_center_pointing(const gcam_eval_options *o, const gcam_eval_result *r, int classes,
                                 double *se);

/* The protocol in one paragraph (class, substrates, blur, step, tolerance, RISE masks). */
void gcam_eval_print_protocol(FILE *out, const gcam_eval_options *o, const gcam_eval_result *r,
                              int h, int w);

/* <dir>/curves.png and .svg (mean deletion and insertion curves per method), and, when
 * the sanity check ran, <dir>/sanity.png and .svg. */
int gcam_eval_write_plots(const char *dir, const gcam_eval_options *o, const gcam_eval_result *r,
                          gcam_error *err);

/* A gallery picture for the HTML report. */
typedef struct gcam_gallery_item {
    int method; /* index in the options' methods */
    int image;  /* index in the list */
    int cls;    /* the class explained */
    int best;   /* 1 among the best, 0 among the worst */
    float deletion, insertion;
    unsigned char *png; /* encoded overlay, owned by the caller */
    int png_size;
} gcam_gallery_item;

/* Picks, per method, the `per_side` images with the highest and the lowest
 * insertion - deletion AUC; fills items (n_methods * 2 * per_side) without pictures and
 * returns their count. */
int gcam_eval_pick_gallery(const gcam_eval_options *o, const gcam_eval_result *r, int per_side,
                           gcam_gallery_item *items);

typedef struct gcam_report_context {
    const char *cfg, *weights, *data;
    const gcam_tta_options *tta; /* test-time crops */
    char *const *paths;          /* the list, for image names */
    char *const *class_names;    /* may be NULL */
    int classes, h, w;
} gcam_report_context;

/* The HTML report, atomically. */
int gcam_eval_write_html(const char *path, const gcam_report_context *ctx,
                         const gcam_eval_options *o, const gcam_eval_result *r,
                         const gcam_gallery_item *items, int n_items, gcam_error *err);

#endif
