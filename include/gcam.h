/* libgcam: a Darknet plugin for saliency-guided fine-tuning of image classifiers.
 *
 * This header is the library's public surface: safe network loading (cfg validation,
 * weights validation, atomic saves), the fast CPU kernels installed into Darknet's
 * layers, and the inference-mode backward pass that saliency methods need.
 *
 * Conventions: functions that can fail because of user input return 0 on success and
 * -1 on failure, with a message naming the file, line or key in *err. Buffers are
 * row-major float32; their shapes are given as (dims) in comments. */
#ifndef GCAM_H
#define GCAM_H

#include <darknet.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gcam_error {
    char message[1024];
} gcam_error;

/* ---- Kernels -------------------------------------------------------------------- */

typedef enum gcam_kernels {
    GCAM_KERNELS_FAST,   /* ours: OpenBLAS GEMMs, fused loops, correct gradients */
    GCAM_KERNELS_DARKNET /* Darknet's own layer functions, for comparisons */
} gcam_kernels;

/* The kernel set selected by the environment: GCAM_KERNELS=darknet selects Darknet's,
 * anything else (or unset) ours. */
gcam_kernels gcam_kernels_from_env(void);

/* Points every layer's forward/backward/update at the chosen kernel set. Layer types
 * without a fast kernel keep Darknet's. */
void gcam_kernels_install(network *net, gcam_kernels kernels);

/* ---- Networks -------------------------------------------------------------------- */

typedef struct gcam_load_options {
    int batch;               /* images per forward pass; 0 keeps the cfg's batch/subdivisions */
    const char *weights;     /* .weights file, or NULL for a fresh initialisation */
    int weights_layers;      /* load only the first N layers (new head); 0 = all, exact size */
    int clear;               /* reset `seen` (images trained) to 0 after loading */
    unsigned long init_seed; /* parameters not loaded from `weights` are initialised from
                                this seed (gcam_net_init_weights), never by rand() */
    gcam_kernels kernels;
} gcam_load_options;

/* Options with the defaults: cfg batch, no weights, all layers, kernels from env. */
gcam_load_options gcam_load_options_default(void);

/* A key=value of the cfg's [gcam] section, with its line for messages. */
typedef struct gcam_setting {
    char *key;
    char *value;
    int line;
} gcam_setting;

typedef struct gcam_net {
    network *dn;            /* owned; Darknet's network with our kernels installed */
    char *cfg_path;         /* as given */
    gcam_setting *settings; /* the [gcam] section, n_settings entries */
    int n_settings;
    int classes;      /* outputs of the last layer */
    int logits_layer; /* index of the layer whose output is the pre-softmax score */
    int flip;         /* [net] flip= (default 1): random horizontal flips in training */
    int capacity;     /* images per pass the buffers were sized for (Darknet's batch) */
    int active;       /* images in the last gcam_net_predict */
} gcam_net;

/* Loads a network: validates the cfg, strips [gcam], lets Darknet parse the rest at the
 * requested batch, validates and loads weights, installs kernels. *out is NULL on
 * failure. Darknet never sees a value that would make it exit or assert. */
int gcam_net_load(gcam_net **out, const char *cfg_path, const gcam_load_options *options,
                  gcam_error *err);
/* Frees everything gcam_net_load allocated, including what Darknet's free_network leaks. */
void gcam_net_free(gcam_net *net);

/* Fresh parameters from seed: He-scaled weights, zero biases, unit BN scales and
 * variances. The same seed gives the same weights everywhere. */
void gcam_net_init_weights(network *dn, uint64_t seed);

/* Frees a Darknet network completely: free_network plus what it leaks (workspace,
 * seen, t, cost, steps, scales, softmax losses). For networks parsed by Darknet directly. */
void gcam_network_free(network *dn);

/* The [gcam] value for key, or NULL. */
const gcam_setting *gcam_net_setting(const gcam_net *net, const char *key);

/* Inference-mode forward (rolling BN statistics, no training state touched) of n images
 * (1 <= n <= capacity; only those are computed). input: (n, c, h, w) in Darknet's planar
 * RGB layout. Returns the last layer's output (n, classes), borrowed until the next call. */
const float *gcam_net_predict(gcam_net *net, const float *input, int n);

/* Inference-mode backward after gcam_net_predict, for the same n images: seeds the output
 * of seed_layer with seed (n, outputs of seed_layer) and propagates down to target_layer.
 * Returns d(seed . output[seed_layer]) / d output[target_layer], shape (n, outputs of
 * target_layer), borrowed until the next forward. Weights, their updates, batch-norm
 * statistics and `seen` are not touched. */
const float *gcam_net_backward_from(gcam_net *net, int seed_layer, const float *seed,
                                    int target_layer);

/* ---- Weights --------------------------------------------------------------------- */

/* Floats the weights file of net must hold for layers [0, n_layers). */
size_t gcam_weights_expected_floats(const network *net, int n_layers);

/* Checks that path is a weights file that fits net: readable, a known header, and
 * exactly the expected number of floats (at least the first n_layers' when n_layers > 0). */
int gcam_weights_check(const network *net, const char *path, int n_layers, gcam_error *err);

/* Loads validated weights into layers [0, n_layers) (0 = all). */
int gcam_weights_load(network *net, const char *path, int n_layers, gcam_error *err);

/* Saves all layers in Darknet's format (version 0.2.0, 8-byte seen) atomically: the
 * file is complete under its final name or not there at all. */
int gcam_weights_save(const network *net, const char *path, gcam_error *err);

/* ---- Files ----------------------------------------------------------------------- */

/* Writes data (dims[0], ..., dims[ndim-1]) float32 as a NumPy .npy file, atomically. */
int gcam_npy_write(const char *path, const float *data, const size_t *dims, int ndim,
                   gcam_error *err);

#ifdef __cplusplus
}
#endif
#endif
