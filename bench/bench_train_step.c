/* One training step (forward, backward, SGD update) of Debian's ResNet-18 and ResNet-50
 * cfgs at batch 8, 224x224, random weights: gcam kernels against Darknet's stock kernels
 * in the same run. Usage: bench_train_step [RUNS] [stock-runs] (defaults 5 and 2). */
#include "bench_common.h"

#include <stdio.h>
#include <string.h>

static double time_steps(gcam_net *net, int runs) {
    network *dn = net->dn;
    double t[16];
    for (int r = 0; r <= runs; ++r) { /* run 0 is a warm-up */
        double start = gcam_now_seconds();
        training_step(dn);
        if (r) t[r - 1] = gcam_now_seconds() - start;
    }
    return median(t, runs);
}

static void bench(const char *cfg, int runs, int stock_runs) {
    gcam_net *net = load_at_size(cfg, 224, 8);
    network *dn = net->dn;
    prepare_training_step(net);
    double flops = 3 * forward_flops(dn);
    gcam_kernels_install(dn, GCAM_KERNELS_FAST);
    double fast = time_steps(net, runs);
    gcam_kernels_install(dn, GCAM_KERNELS_DARKNET);
    double stock = time_steps(net, stock_runs);
    printf("train step %-10s batch 8: gcam %.3f s (%.0f GFLOP/s), darknet %.2f s (%.1f "
           "GFLOP/s), speed-up %.1fx  [median of %d / %d runs]\n",
           strrchr(cfg, '/') + 1, fast, flops / fast / 1e9, stock, flops / stock / 1e9,
           stock / fast, runs, stock_runs);
    fflush(stdout);
    gcam_net_free(net);
}

int main(int argc, char **argv) {
    int runs = argc > 1 ? atoi(argv[1]) : 5, stock_runs = argc > 2 ? atoi(argv[2]) : 2;
    if (runs < 1 || runs > 15) runs = 5;
    if (stock_runs < 1 || stock_runs > 15) stock_runs = 2;
    bench("/usr/share/darknet/cfg/resnet18.cfg", runs, stock_runs);
    bench("/usr/share/darknet/cfg/resnet50.cfg", runs, stock_runs);
    return 0;
}
