/* Seeded parameter initialisation (see init.h) with Darknet's scales (He: sqrt(2 / fan_in), normal
 * for convolutions, uniform for connected layers) but gcam's own generator, so that a seed gives
 * the same weights on every run and thread layout. */
#include "init.h"

#include "rng.h"

#include <math.h>
#include <string.h>

static float normal(gcam_rng *rng) {
    /* Box-Muller; 1 - u keeps the logarithm finite. */
    float u = 1.f - gcam_rng_uniform(rng), v = gcam_rng_uniform(rng);
    return sqrtf(-2.f * logf(u)) * cosf(6.2831853f * v);
}

/* Draws layer l's weights from its initial distribution and zeroes its biases; returns
 * its channel count, or 0 if it has no weights. */
static int draw_weights(layer *l, uint64_t seed, int index) {
    gcam_rng rng = gcam_rng_init(seed, (uint64_t)index);
    int channels;
    if (l->type == CONVOLUTIONAL) {
        float scale = sqrtf(2.f / (l->size * l->size * l->c / l->groups));
        for (int k = 0; k < l->nweights; ++k) l->weights[k] = scale * normal(&rng);
        channels = l->n;
    } else if (l->type == CONNECTED) {
        float scale = sqrtf(2.f / l->inputs);
        for (size_t k = 0; k < (size_t)l->inputs * l->outputs; ++k)
            l->weights[k] = gcam_rng_range(&rng, -scale, scale);
        channels = l->outputs;
    } else {
        return 0;
    }
    if (l->biases) memset(l->biases, 0, sizeof(float) * (size_t)channels);
    return channels;
}

int gcam_layer_randomize(network *dn, int index, uint64_t seed) {
    return draw_weights(&dn->layers[index], seed, index) > 0;
}

void gcam_darknet_init_weights(network *dn, uint64_t seed) {
    for (int i = 0; i < dn->n; ++i) {
        layer *l = &dn->layers[i];
        int channels = draw_weights(l, seed, i);
        if (!channels && l->type == BATCHNORM) channels = l->c;
        if (!channels) continue;
        if (l->biases) memset(l->biases, 0, sizeof(float) * (size_t)channels);
        if (l->scales)
            for (int c = 0; c < channels; ++c) l->scales[c] = 1.f;
        if (l->rolling_mean) memset(l->rolling_mean, 0, sizeof(float) * (size_t)channels);
        if (l->rolling_variance)
            for (int c = 0; c < channels; ++c) l->rolling_variance[c] = 1.f;
    }
}
