/* Where the engine's time goes: seconds per layer kind for Debian's ResNet-50 forward
 * (batch 1 and 32) and ResNet-18/50 training steps (batch 8), all at 224x224 with random
 * weights and gcam's kernels, next to the SGEMM ceiling measured in the same run (a 2048^2
 * product on every core). Convolutions are split by shape (1x1, 3x3 stride 1, strided,
 * 7x7), because the faster kernels that pay differ between them.
 *
 * Each layer's forward and backward are timed by wrapping its function pointers; Darknet's
 * forward_network and backward_network set net.index before each call, which is how a
 * wrapper finds the layer's own function. The SGD update runs as one call and is timed
 * whole. Usage: bench_profile [RUNS] [WORKLOAD] (default 3 runs, medians per kind; WORKLOAD
 * is one of r50-forward-1, r50-forward-32, r18-train-8, r50-train-8, for perf record). */
#include "bench_common.h"

#include <stdio.h>
#include <string.h>

enum { CONV_1X1, CONV_3X3, CONV_STRIDED, CONV_7X7, BATCH_NORM, POOL, RESIDUAL, OTHER, KINDS };
static const char *kind_names[KINDS] = {
    "conv 1x1",   "conv 3x3 stride 1", "conv strided 3x3", "conv 7x7 (stem)",
    "batch norm", "pooling",           "shortcut",         "other (head, softmax)"};

#define MAX_LAYERS 512
#define MAX_RUNS 9

typedef void (*layer_function)(layer, network);
static layer_function original_forward[MAX_LAYERS], original_backward[MAX_LAYERS];
static int layer_kind[MAX_LAYERS];
static double seconds[2][KINDS]; /* [forward, backward][kind] of the current run */

static int kind_of(const layer *l) {
    switch (l->type) {
    case CONVOLUTIONAL:
        if (l->size == 1) return CONV_1X1;
        if (l->size == 7) return CONV_7X7;
        return l->stride == 1 ? CONV_3X3 : CONV_STRIDED;
    case BATCHNORM:
        return BATCH_NORM;
    case MAXPOOL:
    case AVGPOOL:
        return POOL;
    case SHORTCUT:
        return RESIDUAL;
    default:
        return OTHER;
    }
}

static void timed_forward(layer l, network net) {
    double start = gcam_now_seconds();
    original_forward[net.index](l, net);
    seconds[0][layer_kind[net.index]] += gcam_now_seconds() - start;
}

static void timed_backward(layer l, network net) {
    double start = gcam_now_seconds();
    original_backward[net.index](l, net);
    seconds[1][layer_kind[net.index]] += gcam_now_seconds() - start;
}

static void wrap_layers(network *dn) {
    for (int i = 0; i < dn->n && i < MAX_LAYERS; ++i) {
        layer *l = &dn->layers[i];
        layer_kind[i] = kind_of(l);
        original_forward[i] = l->forward, original_backward[i] = l->backward;
        l->forward = timed_forward;
        if (l->backward) l->backward = timed_backward;
    }
}

/* Multiply-adds x2 of one image's forward through the layers of one kind. */
static double kind_flops(const network *dn, int kind) {
    double flops = 0;
    for (int i = 0; i < dn->n; ++i) {
        const layer *l = &dn->layers[i];
        if (layer_kind[i] == kind && l->type == CONVOLUTIONAL)
            flops += 2.0 * l->out_h * l->out_w * l->n * (l->c / l->groups) * l->size * l->size;
        else if (layer_kind[i] == kind && l->type == CONNECTED)
            flops += 2.0 * l->inputs * l->outputs;
    }
    return flops;
}

static void profile(const char *cfg, int batch, int train, int runs, double ceiling) {
    gcam_net *net = load_at_size(cfg, 224, batch);
    network *dn = net->dn;
    prepare_training_step(net);
    gcam_kernels_install(dn, GCAM_KERNELS_FAST);
    wrap_layers(dn);

    double per_kind[2][KINDS][MAX_RUNS], update[MAX_RUNS], total[MAX_RUNS];
    for (int r = 0; r <= runs; ++r) { /* run 0 warms up */
        memset(seconds, 0, sizeof seconds);
        double start = gcam_now_seconds();
        dn->train = train;
        forward_network(dn);
        double update_seconds = 0;
        if (train) {
            backward_network(dn);
            double update_start = gcam_now_seconds();
            update_network(dn);
            update_seconds = gcam_now_seconds() - update_start;
        }
        if (!r) continue;
        total[r - 1] = gcam_now_seconds() - start;
        update[r - 1] = update_seconds;
        for (int d = 0; d < 2; ++d)
            for (int k = 0; k < KINDS; ++k) per_kind[d][k][r - 1] = seconds[d][k];
    }
    double step = median(total, runs);
    printf("\n%s, batch %d, %s: %.3f s (%.1f GFLOP/s, %.0f %% of the SGEMM ceiling)\n",
           strrchr(cfg, '/') + 1, batch, train ? "training step" : "forward", step,
           (train ? 3 : 1) * forward_flops(dn) / step / 1e9,
           100 * (train ? 3 : 1) * forward_flops(dn) / step / 1e9 / ceiling);
    printf("  %-22s %9s %9s %7s %12s\n", "layer kind", "forward", "backward", "share",
           "fwd GFLOP/s");
    double listed = 0;
    for (int k = 0; k < KINDS; ++k) {
        double f = median(per_kind[0][k], runs), b = median(per_kind[1][k], runs);
        double flops = kind_flops(dn, k) * batch;
        listed += f + b;
        if (f + b == 0) continue;
        char rate[32] = "";
        if (flops > 0) snprintf(rate, sizeof rate, "%.1f", flops / f / 1e9);
        printf("  %-22s %8.3fs %8.3fs %6.1f%% %12s\n", kind_names[k], f, b, 100 * (f + b) / step,
               rate);
    }
    if (train) {
        double u = median(update, runs);
        listed += u;
        printf("  %-22s %9s %8.3fs %6.1f%%\n", "SGD update", "", u, 100 * u / step);
    }
    printf("  %-22s %8.3fs %18.1f%%\n", "outside the layers", step - listed,
           100 * (step - listed) / step);
    fflush(stdout);
    gcam_net_free(net);
}

int main(int argc, char **argv) {
    int runs = argc > 1 ? atoi(argv[1]) : 3;
    if (runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "%s: RUNS must be 1 to %d (got %s)\n", argv[0], MAX_RUNS, argv[1]);
        return 1;
    }
    const char *only = argc > 2 ? argv[2] : NULL;
    static const struct {
        const char *name, *cfg;
        int batch, train;
    } workloads[] = {{"r50-forward-1", "/usr/share/darknet/cfg/resnet50.cfg", 1, 0},
                     {"r50-forward-32", "/usr/share/darknet/cfg/resnet50.cfg", 32, 0},
                     {"r18-train-8", "/usr/share/darknet/cfg/resnet18.cfg", 8, 1},
                     {"r50-train-8", "/usr/share/darknet/cfg/resnet50.cfg", 8, 1}};
    double ceiling = sgemm_ceiling_gflops();
    printf("SGEMM ceiling (2048^2, OpenBLAS %s kernels, all cores): %.1f GFLOP/s\n",
           gcam_blas_kernels(), ceiling);
    int ran = 0;
    for (size_t w = 0; w < sizeof workloads / sizeof workloads[0]; ++w)
        if (!only || !strcmp(only, workloads[w].name)) {
            profile(workloads[w].cfg, workloads[w].batch, workloads[w].train, runs, ceiling);
            ++ran;
        }
    if (!ran) fprintf(stderr, "bench_profile: unknown workload '%s'\n", only);
    return ran ? 0 : 2;
}
