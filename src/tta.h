/* Test-time crops (gcam_tta_logits in gcam/predict.h) and the fitting of their boxes
 * (a map's box: gcam_map_box in image_ops.h), exposed for tests and for the trainer's
 * validation. Boxes are x0 y0 x1 y1 in input pixels, end exclusive. */
#ifndef GCAM_TTA_H
#define GCAM_TTA_H

#include "gcam/predict.h"

/* Gives box the input's aspect ratio (w / h) around its centre by widening its shorter
 * side, enlarges both sides by margin, shrinks it to fit the w x h input if it has to,
 * and moves it inside. */
void gcam_tta_fit_box(float box[4], float margin, int w, int h);

#endif
