/* Forward pass of Debian's ResNet-50 cfg (random weights, 224x224): seconds per image at
 * batch 1 and batch 32, gcam kernels against Darknet's stock kernels in the same run:
 * gcam's layer-by-layer forward (gcam_net_predict, what a backward pass follows) and its
 * fused inference plan (gcam_net_scores, what inference runs).
 * Usage: bench_forward [RUNS] (default 5 for ours, 3 for stock at batch 1, 1 at 32). */
#include "bench_common.h"
#include "rng.h"

#include <stdio.h>
#include <string.h>

/* forward: gcam_net_predict or gcam_net_scores */
static double time_forward(gcam_net *net, const float *input, int runs,
                           const float *(*forward)(gcam_net *, const float *, int)) {
    double t[16];
    forward(net, input, net->dn->batch); /* warm-up: page in buffers, make the plan */
    for (int r = 0; r < runs; ++r) {
        double start = gcam_now_seconds();
        forward(net, input, net->dn->batch);
        t[r] = gcam_now_seconds() - start;
    }
    return median(t, runs);
}

static void bench(const char *cfg, int batch, int runs_fast, int runs_stock) {
    gcam_net *net = load_at_size(cfg, 224, batch);
    size_t n = (size_t)net->dn->inputs * batch;
    float *input = malloc(sizeof(float) * n);
    gcam_rng rng = gcam_rng_init(1, 1);
    for (size_t i = 0; i < n; ++i) input[i] = gcam_rng_uniform(&rng);
    double flops = forward_flops(net->dn);
    gcam_kernels_install(net->dn, GCAM_KERNELS_FAST);
    double fast = time_forward(net, input, runs_fast, gcam_net_predict);
    double planned = time_forward(net, input, runs_fast, gcam_net_scores);
    gcam_kernels_install(net->dn, GCAM_KERNELS_DARKNET);
    double stock = time_forward(net, input, runs_stock, gcam_net_predict);
    printf("forward %-10s batch %2d: gcam %.4f s/image (%.0f GFLOP/s), fused plan %.4f s/image "
           "(%.0f GFLOP/s), darknet %.4f s/image (%.1f GFLOP/s), speed-up %.1fx / %.1fx  "
           "[median of %d / %d runs]\n",
           strrchr(cfg, '/') + 1, batch, fast / batch, flops / fast / 1e9, planned / batch,
           flops / planned / 1e9, stock / batch, flops / stock / 1e9, stock / fast, stock / planned,
           runs_fast, runs_stock);
    fflush(stdout);
    free(input);
    gcam_net_free(net);
}

int main(int argc, char **argv) {
    int runs = argc > 1 ? atoi(argv[1]) : 5;
    if (runs < 1 || runs > 16) runs = 5;
    const char *cfg = "/usr/share/darknet/cfg/resnet50.cfg";
    bench(cfg, 1, runs, runs < 3 ? runs : 3);
    bench(cfg, 32, runs, 1);
    return 0;
}
