/* What gcam-eval's report needs from the evaluation beyond gcam/eval.h. */
#ifndef GCAM_EVALUATE_H
#define GCAM_EVALUATE_H

#include "gcam/eval.h"

/* Loads image `path` for the network and computes the map of method number `method` of o
 * at class cls with so (for the report's gallery): image (c, h, w) and map (h, w) are
 * allocated by the caller. */
int gcam_eval_map(gcam_net *net, const gcam_eval_options *o, const gcam_saliency_options *so,
                  int method, const char *path, int cls, float *image, float *map, gcam_error *err);

#endif
