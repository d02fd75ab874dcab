/* Shared helpers for the C tests: temporary files, seeded random tensors, and a
 * batch-norm calibration that gives randomly initialised networks sane activations. */
#ifndef GCAM_TESTS_TESTUTIL_H
#define GCAM_TESTS_TESTUTIL_H

#include "gcam.h"

#include "network.h"
#include "rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>

/* Writes text to a new temporary file; returns its path (static buffer per call site
 * is not used: caller frees). */
static inline char *temp_file_with(const char *text, size_t len) {
    char *path = strdup("/tmp/gcam-test-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
        perror("temp file");
        exit(2);
    }
    close(fd);
    return path;
}

static inline char *temp_cfg(const char *text) {
    return temp_file_with(text, strlen(text));
}

/* A network from cfg text (through a temporary file, removed again), with the given
 * kernels; batch 0 keeps the cfg's. NULL, with the reason on stderr, if it fails. */
static inline gcam_net *load_cfg_text(const char *text, gcam_kernels kernels, int batch) {
    char *path = temp_cfg(text);
    gcam_error err;
    gcam_load_options opt = gcam_load_options_default();
    opt.kernels = kernels;
    opt.batch = batch;
    gcam_net *net = NULL;
    if (gcam_net_load(&net, path, &opt, &err)) fprintf(stderr, "%s\n", err.message);
    unlink(path);
    free(path);
    return net;
}

/* The small ResNet fixture (tests/fixtures/resnet_small.{cfg,weights}) at `batch`; NULL,
 * with the error printed, when it does not load. */
static inline gcam_net *load_small_resnet(int batch) {
    gcam_load_options lo = gcam_load_options_default();
    lo.weights = "tests/fixtures/resnet_small.weights";
    lo.batch = batch;
    gcam_net *net = NULL;
    gcam_error err;
    if (gcam_net_load(&net, "tests/fixtures/resnet_small.cfg", &lo, &err))
        fprintf(stderr, "tests/fixtures/resnet_small.cfg: %s\n", err.message);
    return net;
}

static inline void fill_uniform(gcam_rng *rng, float *x, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; ++i) x[i] = gcam_rng_range(rng, lo, hi);
}

/* Random parameters for every layer (scaled by fan-in), reproducible from rng. */
static inline void randomize_parameters(network *dn, gcam_rng *rng) {
    for (int i = 0; i < dn->n; ++i) {
        layer *l = &dn->layers[i];
        if (l->type == CONVOLUTIONAL || l->type == CONNECTED) {
            size_t nw =
                l->type == CONVOLUTIONAL ? (size_t)l->nweights : (size_t)l->inputs * l->outputs;
            size_t fan_in = l->type == CONVOLUTIONAL ? (size_t)l->size * l->size * l->c / l->groups
                                                     : (size_t)l->inputs;
            float scale = 1.7f / (float)sqrt((double)fan_in);
            fill_uniform(rng, l->weights, nw, -scale, scale);
            int ch = l->type == CONVOLUTIONAL ? l->n : l->outputs;
            fill_uniform(rng, l->biases, (size_t)ch, -0.1f, 0.1f);
            if (l->batch_normalize) fill_uniform(rng, l->scales, (size_t)ch, 0.5f, 1.5f);
        }
    }
}

/* Runs one training-mode forward on input and makes its batch statistics the rolling
 * ones, so inference on similar data stays well scaled at every depth. */
static inline void calibrate_batchnorm(network *dn, const float *input) {
    memcpy(dn->input, input, sizeof(float) * (size_t)dn->inputs * dn->batch);
    network net = *dn;
    net.train = 1;
    net.truth = NULL;
    for (int i = 0; i < net.n; ++i) {
        layer l = net.layers[i];
        net.index = i;
        if (l.delta) memset(l.delta, 0, sizeof(float) * (size_t)l.outputs * l.batch);
        l.forward(l, net);
        net.input = l.output;
        if (l.rolling_mean && l.mean) {
            int ch = l.type == CONNECTED ? l.outputs : l.out_c;
            memcpy(l.rolling_mean, l.mean, sizeof(float) * (size_t)ch);
            memcpy(l.rolling_variance, l.variance, sizeof(float) * (size_t)ch);
        }
    }
}

static inline double max_abs_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; ++i) {
        double d = fabs((double)a[i] - b[i]);
        if (d > m || d != d) m = d != d ? INFINITY : d;
    }
    return m;
}

static inline int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; ++i)
        if (x[i] > x[best]) best = i;
    return best;
}

#endif
