/* What other modules need of the saliency methods beyond gcam/saliency.h. */
#ifndef GCAM_SALIENCY_INTERNAL_H
#define GCAM_SALIENCY_INTERNAL_H

#include "gcam/saliency.h"

/* gcam_saliency for n images whose inference forward was the net's last one (a
 * gcam_net_predict of exactly these images): the gradient methods reuse its activations
 * instead of running it again, so that a map costs one partial backward after a
 * prediction. */
int gcam_saliency_after_forward(gcam_net *net, const float *images, int n, const int *classes,
                                const gcam_saliency_options *o, float *maps, int *constant,
                                gcam_error *err);

#endif
