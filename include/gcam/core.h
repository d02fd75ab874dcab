/* The core of libgcam: error reporting, networks (loading, inference, inference-mode
 * gradients, saving), the kernel sets, and the small file helpers every program uses.
 *
 * Conventions: functions that can fail because of user input return 0 on success and -1
 * on failure, with a message naming the file, line or key in *err. Buffers are row-major
 * float32; their shapes are given as (dims) in comments. Ownership is written above each
 * function: "borrowed" results stay owned by gcam, "caller frees" ones do not.
 *
 * How much of Darknet shows: gcam_net is opaque. Its geometry is in gcam_net_info, and the
 * functions below cover loading, inference, inference-mode gradients and saving. Code
 * that wants Darknet's own `network` (its layer buffers, its own training functions) gets
 * it from gcam_net_darknet() and includes darknet.h itself; gcam keeps working on a net
 * whose parameters were changed that way (then call gcam_net_weights_changed), but not on
 * one whose layers were replaced. */
#ifndef GCAM_CORE_H
#define GCAM_CORE_H

#include <stddef.h>
#include <signal.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the functions of the public API; everything else in libgcam is hidden. */
#define GCAM_API __attribute__((visibility("default")))

/* Longest path any option holds, terminator included. */
#define GCAM_PATH_MAX 4096

typedef struct gcam_error {
    char message[1024];
} gcam_error;

/* ---- Out of memory ---------------------------------------------------------------- */

/* Allocations sized by the user's data (a network, a map cache, a batch of images, an
 * evaluation's buffers) fail with an error that names the size, and the caller decides.
 * The small allocations inside a computation, where nothing could recover, go to this
 * handler instead: by default it prints the size and aborts. A program may install its
 * own; it must not return. */
typedef void (*gcam_oom_handler)(size_t bytes);
GCAM_API void gcam_set_oom_handler(gcam_oom_handler handler);

/* ---- Kernels ---------------------------------------------------------------------- */

typedef enum gcam_kernels {
    GCAM_KERNELS_FAST,    /* ours: convolutions on oneDNN, the rest fused loops and
                             OpenBLAS GEMMs, correct gradients */
    GCAM_KERNELS_DARKNET, /* Darknet's own layer functions, for comparisons */
    GCAM_KERNELS_BLAS     /* ours with every convolution on OpenBLAS: the results of gcam
                             before oneDNN, bit for bit (the reference for its rounding) */
} gcam_kernels;

/* The kernel set selected by the environment: GCAM_KERNELS=darknet selects Darknet's,
 * GCAM_KERNELS=blas ours on OpenBLAS alone, anything else (or unset) ours. */
GCAM_API gcam_kernels gcam_kernels_from_env(void);

/* The name of the GEMM kernels OpenBLAS runs, for example "Haswell" (AVX2) or "Cooperlake"
 * (AVX-512). OpenBLAS picks them from the CPU when it loads, unless the environment
 * variable OPENBLAS_CORETYPE names them; the choice changes the speed of every
 * convolution and the rounding of its sums. */
GCAM_API const char *gcam_blas_kernels(void);

/* ---- Networks --------------------------------------------------------------------- */

typedef struct gcam_load_options {
    int batch;               /* images per forward pass; 0 keeps the cfg's batch/subdivisions */
    const char *weights;     /* .weights file, or NULL for a fresh initialisation */
    int weights_layers;      /* load only the first N layers (new head); 0 = all, exact size */
    int clear;               /* reset `seen` (images trained) to 0 after loading */
    unsigned long init_seed; /* parameters not loaded from `weights` are initialised from
                                this seed (as gcam_net_init_weights), never by rand() */
    gcam_kernels kernels;
} gcam_load_options;

/* Options with the defaults: cfg batch, no weights, all layers, kernels from env. */
GCAM_API gcam_load_options gcam_load_options_default(void);

typedef struct gcam_net gcam_net;

typedef struct gcam_net_info {
    int w, h, c;      /* input size */
    int inputs;       /* floats per input image: c * h * w */
    int classes;      /* outputs of the last layer */
    int capacity;     /* images per pass the buffers were sized for */
    int layers;       /* Darknet layers */
    int logits_layer; /* the layer whose output is the pre-softmax score */
    int flip;         /* [net] flip= (default 1): random horizontal flips in training */
    uint64_t seen;    /* images trained so far (from the weights file) */
} gcam_net_info;

/* Loads a network: validates the cfg (a [gcam] section is left to gcam_settings), lets
 * Darknet parse the rest at the requested batch, validates and loads weights, installs
 * kernels. *out is NULL on failure. Darknet never sees a value that would make it exit or
 * assert, and a network that cannot fit in memory is refused with its size. */
GCAM_API int gcam_net_load(gcam_net **out, const char *cfg_path, const gcam_load_options *options,
                           gcam_error *err);
/* Frees everything gcam_net_load allocated, including what Darknet's free_network leaks. */
GCAM_API void gcam_net_free(gcam_net *net);

GCAM_API gcam_net_info gcam_net_get_info(const gcam_net *net);

/* Darknet's network inside net, borrowed for net's life (see the top of this header). */
struct network;
GCAM_API struct network *gcam_net_darknet(gcam_net *net);

/* Fresh parameters from seed: He-scaled weights, zero biases, unit BN scales and
 * variances. The same seed gives the same weights everywhere. */
GCAM_API void gcam_net_init_weights(gcam_net *net, uint64_t seed);

/* Inference-mode forward (rolling BN statistics, no training state touched) of n images
 * (1 <= n <= capacity; only those are computed). input: (n, c, h, w) in Darknet's planar
 * RGB layout. Returns the last layer's output (n, classes), borrowed until the next call. */
GCAM_API const float *gcam_net_predict(gcam_net *net, const float *input, int n);

/* The same outputs as gcam_net_predict, to rounding, but only the last layer's (and the
 * logits') are kept: neither a backward pass nor a read of another layer's activations
 * may follow. It runs the fused inference plan (leading layers as one chain of oneDNN
 * primitives, batch norm folded into the convolutions) where the fast kernels can, else
 * it is gcam_net_predict. A plan holds its own copy of the weights and takes them again
 * whenever they changed since (see gcam_net_weights_changed). */
GCAM_API const float *gcam_net_scores(gcam_net *net, const float *input, int n);

/* Counts a change of net's parameters (weights, biases, batch-norm scales or statistics)
 * written through gcam_net_darknet(): the fused plans copy them again before their next
 * use. gcam's own writers (loading, gcam_net_init_weights, the trainer, the sanity check)
 * count theirs. A write that skips this call is still seen when it changes the first, the
 * last or one of two inner values of any array (any whole-layer write does); a write of
 * other single values is not. */
GCAM_API void gcam_net_weights_changed(gcam_net *net);

/* Inference-mode backward after gcam_net_predict, for the same n images: seeds the output
 * of seed_layer with seed (n, outputs of seed_layer) and propagates down to target_layer.
 * Returns d(seed . output[seed_layer]) / d output[target_layer], shape (n, outputs of
 * target_layer), borrowed until the next forward. Weights, their updates, batch-norm
 * statistics and `seen` are not touched. */
GCAM_API const float *gcam_net_backward_from(gcam_net *net, int seed_layer, const float *seed,
                                             int target_layer);

/* Saves all layers in Darknet's .weights format (version 0.2.0, 8-byte seen), which stock
 * Darknet reads, atomically: complete under its final name or not there at all. */
GCAM_API int gcam_net_save_weights(gcam_net *net, const char *path, gcam_error *err);

/* order (k) gets the indices of the k highest scores, highest first (ties: lower index). */
GCAM_API void gcam_top_classes(const float *scores, int classes, int k, int *order);

/* ---- Files ------------------------------------------------------------------------ */

/* Writes data (dims[0], ..., dims[ndim-1]) float32 as a NumPy .npy file, atomically. */
GCAM_API int gcam_npy_write(const char *path, const float *data, const size_t *dims, int ndim,
                            gcam_error *err);

/* Creates dir and its missing parents (mkdir -p). */
GCAM_API int gcam_mkdir_p(const char *dir, gcam_error *err);

/* ---- Stopping --------------------------------------------------------------------- */

/* Turns Ctrl-C and SIGTERM into a stop request, for a program's long work: the first one
 * sets the returned flag to the signal's number, which the run functions (gcam_train_run,
 * gcam_eval_run, gcam_heatmap_run, gcam_predict_run) poll between batches; a second one
 * exits the process at once with status 128 + its number. Call it first in main, before
 * any thread exists: it blocks both signals in the calling thread, so that every later
 * thread inherits the mask, and takes them on a thread of its own. Call it again after a
 * library that installs its own handlers (MPI's start): that call installs the handler
 * again, for threads which that library started with the signals unblocked. The library
 * calls it nowhere itself. */
GCAM_API const volatile sig_atomic_t *gcam_stop_signals_start(void);

#ifdef __cplusplus
}
#endif
#endif
