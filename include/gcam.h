/* libgcam: a Darknet plugin for saliency-guided fine-tuning of image classifiers.
 *
 * This is the whole public API; the programs in src/cli/ are built against it alone.
 *   gcam/core.h      errors, networks (load, run, backward, save), kernels, files
 *   gcam/settings.h  every setting of every program, in one table, and the command line
 *   gcam/data.h      images, Darknet .data files, labelled lists, boxes
 *   gcam/saliency.h  saliency maps (six methods) and heatmap pictures
 *   gcam/train.h     training and fine-tuning, with saliency-guided augmentation
 *   gcam/eval.h      how faithful the maps are, with a table, CSV, plots and a report
 *   gcam/predict.h   class probabilities of images, and test-time crops
 *   gcam/compare.h   training arms compared over seeds, with paired intervals
 * Every exported symbol starts with gcam_. */
#ifndef GCAM_H
#define GCAM_H

#include "gcam/compare.h"
#include "gcam/core.h"
#include "gcam/data.h"
#include "gcam/eval.h"
#include "gcam/predict.h"
#include "gcam/saliency.h"
#include "gcam/settings.h"
#include "gcam/train.h"

#endif
