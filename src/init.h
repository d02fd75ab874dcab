/* Seeded parameter initialisation of a Darknet network, and the per-layer
 * re-randomisation used by the sanity check of saliency methods. */
#ifndef GCAM_INIT_H
#define GCAM_INIT_H

#include <darknet.h>
#include <stdint.h>

/* Fresh parameters from seed: He-scaled weights, zero biases, unit BN scales and
 * variances (gcam_net_init_weights). */
void gcam_darknet_init_weights(network *dn, uint64_t seed);

/* Draws the weights of layer `index` (convolutional or connected) from their initial
 * distribution and zeroes its biases; batch-norm scales and statistics are kept. Returns
 * 0 if the layer has no weights. */
int gcam_layer_randomize(network *dn, int index, uint64_t seed);

#endif
