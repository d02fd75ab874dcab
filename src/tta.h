/* Test-time crops (gcam_tta_logits in gcam/predict.h) and their boxes, exposed for tests
 * and for the trainer's validation. Boxes are x0 y0 x1 y1 in input pixels, end exclusive. */
#ifndef GCAM_TTA_H
#define GCAM_TTA_H

#include "gcam/predict.h"

/* The bounding box of map (h, w)'s pixels >= threshold * its maximum; the whole image
 * when the map is constant. */
void gcam_tta_box_from_map(const float *map, int h, int w, float threshold, float box[4]);

/* Gives box the input's aspect ratio (w / h) around its centre by widening its shorter
 * side, enlarges both sides by margin, shrinks it to fit the w x h input if it has to,
 * and moves it inside. */
void gcam_tta_fit_box(float box[4], float margin, int w, int h);

#endif
