/* The fused inference forward: a network's leading layers run as one chain of oneDNN
 * primitives whose activations stay in the channels-last layout from layer to layer, with batch
 * norm folded into the convolutions' weights and biases, activations applied in the convolutions'
 * output pass, and the weights prepared once in the layout the kernels read. It computes the same
 * function as the layer-by-layer forward, to rounding (tests/test_forward.c bounds the difference).
 *
 * A plan covers the longest run of leading layers it supports (convolutions without
 * groups, max and global average pooling, shortcuts, with linear, leaky, ReLU or
 * logistic activations) and writes the output of the last of them into that layer's
 * Darknet buffer; the caller runs the remaining layers (a softmax, say) as usual. The
 * covered layers' own buffers are not written: nothing that reads them (a backward pass,
 * a saliency layer's activations) may follow a planned forward.
 *
 * A plan copies the weights when it is created; after they change, it computes with the
 * old ones until gcam_inference_plan_prepare_weights copies them again. Its owner, the
 * gcam_net, does that before a plan's next use whenever the weights changed: every writer
 * of a network's parameters in libgcam (loading, initialisation, the sanity check's
 * re-randomisation, the trainer's forward passes, whose batch norm moves the rolling
 * statistics, and its update, which follows the ranks' averaging) counts the change with
 * gcam_net_weights_changed. Code outside libgcam that writes through gcam_net_darknet()
 * must call it too; if it forgets, gcam_inference_plan_weights_digest still sees any
 * write that changes one of the values it reads (the first, two inside and the last of
 * each array the plan copies), which every whole-layer write does. */
#ifndef GCAM_INFERENCE_PLAN_H
#define GCAM_INFERENCE_PLAN_H

#include "darknet_internal.h"

#include <stdint.h>

typedef struct gcam_inference_plan gcam_inference_plan;

/* A plan for dn's layers at this batch (<= dn's) covering at most `limit` leading layers
 * (the later ones keep their Darknet buffers written, as a backward pass down to layer
 * limit - 1 needs), or NULL when oneDNN cannot run the first layer or anything needed
 * fails. */
gcam_inference_plan *gcam_inference_plan_create(const network *dn, int batch, int limit);
void gcam_inference_plan_free(gcam_inference_plan *plan);

/* Copies the layers' current weights, biases and batch-norm statistics into the plan
 * (the shapes are those it was made for). 0, or -1 if oneDNN failed. */
int gcam_inference_plan_prepare_weights(gcam_inference_plan *plan);

/* A digest of the weights, biases and batch-norm statistics the plan copies, read from
 * the layers (four values of each array): it differs once any of those values changed. */
uint64_t gcam_inference_plan_weights_digest(const gcam_inference_plan *plan);

int gcam_inference_plan_batch(const gcam_inference_plan *plan);
int gcam_inference_plan_limit(const gcam_inference_plan *plan);
/* Layers [0, covered) run in the plan. */
int gcam_inference_plan_covered(const gcam_inference_plan *plan);

/* Runs the plan on input (batch, c, h, w) and writes the output of layer covered - 1
 * into its Darknet buffer. 0 on success, -1 if oneDNN failed (nothing to trust). */
int gcam_inference_plan_run(gcam_inference_plan *plan, const float *input);

#endif
