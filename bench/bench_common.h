/* Shared helpers for the benchmarks: medians, FLOP counts, cfgs at a chosen input size
 * (wall-clock time is the library's gcam_now_seconds, clock.h). */
#ifndef GCAM_BENCH_COMMON_H
#define GCAM_BENCH_COMMON_H

#include "clock.h"
#include "gcam.h"
#include "kernels.h"
#include "network.h"
#include "rng.h"

#include <cblas.h>
#include <stdlib.h>

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static inline double median(double *x, int n) {
    qsort(x, (size_t)n, sizeof *x, compare_doubles);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

/* Multiply-adds x2 of one forward pass over the whole batch (conv and connected). */
static inline double forward_flops(const network *dn) {
    double flops = 0;
    for (int i = 0; i < dn->n; ++i) {
        const layer *l = &dn->layers[i];
        if (l->type == CONVOLUTIONAL)
            flops += 2.0 * l->out_h * l->out_w * l->n * (l->c / l->groups) * l->size * l->size;
        else if (l->type == CONNECTED)
            flops += 2.0 * l->inputs * l->outputs;
    }
    return flops * dn->batch;
}


#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A copy of cfg with its [net] height and width set to size: Debian's cfgs are 256x256,
 * the benchmarks' workloads 224x224. Returns a temporary path (caller unlinks, frees). */
static inline char *cfg_at_size(const char *cfg, int size) {
    FILE *in = fopen(cfg, "r");
    char *path = strdup("/tmp/gcam-bench-XXXXXX");
    int fd = mkstemp(path);
    FILE *out = fdopen(fd, "w");
    char line[4096];
    int in_net = 0;
    while (in && fgets(line, sizeof line, in)) {
        if (line[0] == '[') in_net = !strncmp(line, "[net]", 5);
        if (in_net && (!strncmp(line, "height=", 7) || !strncmp(line, "width=", 6)))
            fprintf(out, "%.*s=%d\n", (int)(strchr(line, '=') - line), line, size);
        else
            fputs(line, out);
    }
    if (in) fclose(in);
    fclose(out);
    return path;
}

/* The cfg at size x size (cfg_at_size), loaded at `batch`; exits on failure. */
static inline gcam_net *load_at_size(const char *cfg, int size, int batch) {
    char *sized = cfg_at_size(cfg, size);
    gcam_load_options opt = gcam_load_options_default();
    opt.batch = batch;
    gcam_net *net;
    gcam_error err;
    int status = gcam_net_load(&net, sized, &opt, &err);
    unlink(sized);
    free(sized);
    if (status) {
        fprintf(stderr, "%s\n", err.message);
        exit(1);
    }
    return net;
}

/* The practical ceiling of the machine's GEMM: GFLOP/s of a 2048^2 SGEMM through OpenBLAS on
 * all its threads, median of 5 after a warm-up. */
static inline double sgemm_ceiling_gflops(void) {
    int n = 2048;
    size_t nn = (size_t)n * n;
    float *a = malloc(sizeof(float) * nn), *b = malloc(sizeof(float) * nn),
          *c = malloc(sizeof(float) * nn);
    for (size_t i = 0; i < nn; ++i) a[i] = (float)(i % 7) / 7.f, b[i] = (float)(i % 5) / 5.f;
    double t[5];
    for (int r = 0; r <= 5; ++r) {
        double start = gcam_now_seconds();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, a, n, b, n, 0.f, c, n);
        if (r) t[r - 1] = gcam_now_seconds() - start;
    }
    free(a), free(b), free(c);
    return 2.0 * n * n * n / median(t, 5) / 1e9;
}

/* A training step's workload on net's whole batch: seeded random weights and inputs in
 * [0, 1), image b labelled class b, and a learning rate small enough to keep the random
 * net finite over the runs. */
static inline void prepare_training_step(gcam_net *net) {
    network *dn = net->dn;
    gcam_net_init_weights(net, 1);
    gcam_rng rng = gcam_rng_init(2, 2);
    for (size_t i = 0; i < (size_t)dn->inputs * dn->batch; ++i)
        dn->input[i] = gcam_rng_uniform(&rng);
    memset(dn->truth, 0, sizeof(float) * (size_t)dn->truths * dn->batch);
    for (int b = 0; b < dn->batch; ++b) dn->truth[b * dn->truths + b % dn->truths] = 1;
    dn->learning_rate = 1e-4f;
}

/* One SGD step through Darknet's own loop (which reaches the installed kernels). */
static inline void training_step(network *dn) {
    dn->train = 1;
    forward_network(dn);
    backward_network(dn);
    update_network(dn);
}

#endif
