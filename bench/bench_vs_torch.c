/* gcam's side of bench/bench_torch.sh: the workloads of bench/torch_bench.py, timed with
 * gcam's kernels on Debian's ResNet cfgs at 224x224 with seeded random weights, one line
 * "<workload> <median seconds> <GFLOP of the workload>" each (torch_bench.py prints the
 * first two; Group-CAM's count is 0, it has no single figure), then the SGEMM ceiling.
 *   r50-forward-1, r50-forward-32   inference forward of a batch
 *   r18-train-8, r50-train-8        one SGD step (forward, backward, update)
 *   r50-groupcam-32                 Group-CAM with 32 groups of one image
 * Usage: bench_vs_torch RUNS WORKLOAD... */
#include "bench_common.h"

#include <stdio.h>
#include <string.h>

#define MAX_RUNS 15

static const char *cfg_of(const char *workload) {
    return strncmp(workload, "r18", 3) == 0 ? "/usr/share/darknet/cfg/resnet18.cfg"
                                            : "/usr/share/darknet/cfg/resnet50.cfg";
}

static double time_workload(const char *workload, int runs, double *gflop) {
    int batch = atoi(strrchr(workload, '-') + 1);
    int train = strstr(workload, "-train-") != NULL, cam = strstr(workload, "-groupcam-") != NULL;
    /* Group-CAM's blends run in batches of the net's capacity: 16 as gcam-heatmap's default */
    gcam_net *net = load_at_size(cfg_of(workload), 224, cam ? 16 : batch);
    network *dn = net->dn;
    prepare_training_step(net); /* the inputs of the other workloads too */
    size_t n = (size_t)dn->inputs * dn->batch;
    float *input = malloc(sizeof(float) * n), *map = malloc(sizeof(float) * dn->h * dn->w);
    memcpy(input, dn->input, sizeof(float) * n);
    *gflop = cam ? 0 : (train ? 3 : 1) * forward_flops(dn) / 1e9;
    gcam_saliency_options so = gcam_saliency_options_default();
    so.method = GCAM_METHOD_GROUPCAM;
    so.groups = batch;
    double t[MAX_RUNS];
    for (int r = 0; r <= runs; ++r) { /* run 0 warms up */
        double start = gcam_now_seconds();
        if (train) {
            training_step(dn);
        } else if (cam) {
            gcam_error err;
            if (gcam_saliency(net, input, 1, NULL, &so, map, NULL, NULL, &err)) {
                fprintf(stderr, "bench_vs_torch: %s\n", err.message);
                exit(1);
            }
        } else {
            gcam_net_scores(net, input, batch);
        }
        if (r) t[r - 1] = gcam_now_seconds() - start;
    }
    free(input), free(map);
    gcam_net_free(net);
    return median(t, runs);
}

int main(int argc, char **argv) {
    int runs = argc > 1 ? atoi(argv[1]) : 3;
    if (runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "%s: RUNS must be 1 to %d (got %s)\n", argv[0], MAX_RUNS, argv[1]);
        return 1;
    }
    if (argc < 3) {
        printf("bench_vs_torch: no workload (bench/bench_torch.sh runs it against PyTorch)\n");
        return 0;
    }
    for (int i = 2; i < argc; ++i) {
        double gflop, seconds = time_workload(argv[i], runs, &gflop);
        printf("%s %.4f %.2f\n", argv[i], seconds, gflop);
        fflush(stdout);
    }
    printf("sgemm-ceiling-gflops %.1f %s\n", sgemm_ceiling_gflops(), gcam_blas_kernels());
    return 0;
}
