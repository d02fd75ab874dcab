/* The training log: the line per iteration on the console, the CSV log <cfg>.csv (one row
 * per iteration, continued across resumptions), and the training chart chart.png (and
 * chart.svg) drawn from it: loss, average loss, learning rate and valid top-1 against
 * iterations, the chart Darknet users know from the AlexeyAB fork. */
#ifndef GCAM_TRAIN_LOG_H
#define GCAM_TRAIN_LOG_H

#include "gcam/core.h"

#include <stdio.h>

/* What one iteration reports. */
typedef struct gcam_train_record {
    long iteration, max_iteration;
    double epoch, loss, avg_loss, rate, images_per_second;
    double valid_top1, valid_top5; /* fractions; negative: no validation at this iteration */
    double seconds;                /* training wall-clock so far, across resumptions */
    double eta_seconds;
    int saliency; /* 1: the two saliency columns are filled */
    double refresh_seconds, coverage;
    double map_hit, map_mass; /* the maps' quality against the boxes; negative: not measured */
} gcam_train_record;

typedef struct gcam_train_log {
    FILE *csv;
    char csv_path[GCAM_PATH_MAX];
    char chart_path[GCAM_PATH_MAX]; /* chart.png; the SVG beside it */
    double seconds_before;          /* training seconds of the iterations before this run */
} gcam_train_log;

/* Opens <dir>/<base>.csv for appending after iteration `start_iteration`: rows of later
 * iterations (a run killed after its last checkpoint) are dropped first, so the log of a
 * resumed run has each iteration once; seconds_before is the `seconds` of the last row
 * kept, so that the column counts training time across resumptions. The chart goes to
 * <dir>/chart.png. */
int gcam_train_log_open(gcam_train_log *log, const char *dir, const char *base,
                        long start_iteration, gcam_error *err);
void gcam_train_log_close(gcam_train_log *log);

/* Appends the record's row and flushes it. */
void gcam_train_log_append(gcam_train_log *log, const gcam_train_record *r);

/* The console line of an iteration (progress), and of a validation. */
void gcam_train_log_print(FILE *out, const gcam_train_record *r);
void gcam_train_log_print_validation(FILE *out, const gcam_train_record *r, int images);

/* Redraws chart.png and chart.svg from the CSV, atomically. */
int gcam_train_log_chart(const gcam_train_log *log, gcam_error *err);

#endif
