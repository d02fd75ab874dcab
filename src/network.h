/* The Darknet adapter's internals: what a gcam_net holds, the parameter buffers of a
 * Darknet network, and the helpers the saliency methods, evaluation and training share. */
#ifndef GCAM_NETWORK_H
#define GCAM_NETWORK_H

#include "gcam/core.h"

#include <darknet.h>

enum { GCAM_PLAN_SLOTS = 4 };

struct gcam_net {
    network *dn;      /* owned; Darknet's network with our kernels installed */
    char *cfg_path;   /* as given */
    int classes;      /* outputs of the last layer */
    int logits_layer; /* index of the layer whose output is the pre-softmax score */
    int flip;         /* [net] flip= (default 1) */
    int capacity;     /* images per pass the buffers were sized for (Darknet's batch) */
    int active;       /* images in the last gcam_net_predict */
    int kernels;      /* gcam_kernels, as loaded */
    /* Fused inference plans for gcam_net_scores and gcam_net_predict_keeping, the most
     * recently used first, one per batch size and layer limit (a saliency refresh uses
     * three: the gradient pass's, and the blends' full batches and last one). A plan holds
     * its own copy of the weights: weights_generation counts the writes to the network's
     * parameters (gcam_net_weights_changed), plan_generation is the count a plan copied
     * at, and plan_digest a digest of the values it copied (a write through Darknet's
     * buffers that skipped the count still shows there); a plan whose count or digest
     * differs copies the weights again before its next use. plan_failed: no plan to be
     * had. */
    uint64_t weights_generation;
    uint64_t plan_generation[GCAM_PLAN_SLOTS];
    uint64_t plan_digest[GCAM_PLAN_SLOTS];
    int plan_failed;
    struct gcam_inference_plan *plans[GCAM_PLAN_SLOTS];
};

/* Frees a Darknet network completely: free_network plus what it leaks (workspace, seen,
 * t, cost, steps, scales, softmax losses). */
void gcam_darknet_free(network *dn);

/* One trained parameter array of a convolutional or connected layer and its accumulated
 * update (momentum). */
typedef struct gcam_param_buffer {
    float *values;  /* (n) weights, biases or batch-norm scales */
    float *updates; /* (n) their updates */
    size_t n;       /* 0 for the scales of a layer without batch norm */
} gcam_param_buffer;

/* Draws the weights of layer `index` (convolutional or connected) of net from their
 * initial distribution and zeroes its biases (gcam_layer_randomize), and marks the
 * weights changed. 0 if the layer has no weights. */
int gcam_net_randomize_layer(gcam_net *net, int index, uint64_t seed);

/* The parameter buffers of dn in layer order (weights, biases, scales of each
 * convolutional or connected layer): their count, and the buffers into out (may be NULL,
 * else room for the count). */
int gcam_darknet_parameters(network *dn, gcam_param_buffer *out);

/* gcam_net_predict for a backward pass down to layer keep_from: only the outputs of
 * layers keep_from and above are kept (the layers below may run in the fused inference
 * plan while the weights are fixed, to rounding the same). */
const float *gcam_net_predict_keeping(gcam_net *net, const float *input, int n, int keep_from);

/* The last layer's output of the last forward, (active images, outputs), borrowed. */
const float *gcam_net_last_output(const gcam_net *net);

/* The logits (pre-softmax scores) of the last forward, (active images, classes), borrowed. */
const float *gcam_net_last_logits(const gcam_net *net);

/* Multiply-adds of one image's forward through layers [first, last): convolutions and
 * connected layers (the rest costs little beside them). */
double gcam_net_multiply_adds(const gcam_net *net, int first, int last);

/* Softmax probability of class c for image i of the last forward, whose output is out
 * (the network's last layer); works with or without a final [softmax]. */
float gcam_class_probability(const gcam_net *net, const float *out, int i, int c);

#endif
