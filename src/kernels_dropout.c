/* Dropout: a reproducible forward mask, and an inference-mode backward that is the
 * identity where Darknet would apply the stale mask of the last training forward. The
 * mask layout (l.rand, compared with l.probability; kept values scaled by l.scale) is
 * Darknet's, so its training backward applies our mask unchanged. */
#include "darknet_internal.h"
#include "kernels.h"
#include "rng.h"

static uint64_t dropout_seed;

void gcam_kernels_set_seed(uint64_t seed) {
    dropout_seed = seed;
}

void gcam_dropout_forward(layer l, network net) {
    if (!net.train) return;
    gcam_rng rng = gcam_rng_init(dropout_seed ^ ((uint64_t)*net.seen << 16), (uint64_t)net.index);
    size_t n = (size_t)l.inputs * l.batch;
    for (size_t i = 0; i < n; ++i) {
        float r = gcam_rng_uniform(&rng);
        l.rand[i] = r;
        net.input[i] = r < l.probability ? 0 : net.input[i] * l.scale;
    }
}

void gcam_dropout_backward(layer l, network net) {
    if (net.train) backward_dropout_layer(l, net);
}
