/* gcam-eval's outputs: the summary table, PNG plots of the mean curves and of the sanity
 * check, and a self-contained HTML report (inline SVG plots and base64 images, so it
 * opens in a browser with no network and no other file). */
#ifndef GCAM_REPORT_H
#define GCAM_REPORT_H

#include "evaluate.h"

#include <stdio.h>

/* Per-method summary of a result. */
typedef struct gcam_method_summary {
    double deletion, deletion_se; /* mean AUC over images */
    double insertion, insertion_se;
    double pointing, pointing_se; /* mean over classes of the hit rate; -1 without boxes */
    double seconds;               /* mean saliency seconds per image */
    int failures;                 /* constant maps */
} gcam_method_summary;

void gcam_report_summarise(const gcam_eval_options *o, const gcam_eval_result *r, int classes,
                           gcam_method_summary *out);
/* The centre-point baseline's pointing accuracy (mean over classes), -1 without boxes. */
double gcam_report_center_pointing(const gcam_eval_options *o, const gcam_eval_result *r,
                                   int classes, double *se);

/* The protocol in one paragraph (class, substrates, blur, step, tolerance). */
void gcam_report_protocol(FILE *out, const gcam_eval_options *o, const gcam_eval_result *r, int h,
                          int w);

/* The table of mean +- standard error per metric and method. */
void gcam_report_table(FILE *out, const gcam_eval_options *o, const gcam_eval_result *r,
                       int classes);

/* Colour of method m in every plot (RGB). */
void gcam_report_colour(int m, unsigned char rgb[3]);

/* DIR/curves.png: mean deletion (left) and insertion (right) curves per method. */
int gcam_report_curves_png(const char *path, const gcam_eval_options *o, const gcam_eval_result *r,
                           gcam_error *err);
/* DIR/sanity.png: rank correlation against the number of randomised layers. */
int gcam_report_sanity_png(const char *path, const gcam_eval_options *o, const gcam_eval_result *r,
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
int gcam_report_pick_gallery(const gcam_eval_options *o, const gcam_eval_result *r, int per_side,
                             gcam_gallery_item *items);

typedef struct gcam_report_context {
    const char *cfg, *weights, *data;
    char *const *paths;             /* the list, for image names */
    const char *const *class_names; /* may be NULL */
    int classes, h, w;
} gcam_report_context;

int gcam_report_html(const char *path, const gcam_report_context *ctx, const gcam_eval_options *o,
                     const gcam_eval_result *r, const gcam_gallery_item *items, int n_items,
                     gcam_error *err);

#endif
