/* Data-parallel training over MPI: the ranks of the job, and the collectives the trainer
 * needs: the gradient exchange in a few large fused buffers, reductions of counts and
 * statuses, and the exchange of refreshed saliency maps. Without mpirun nothing of MPI is
 * started: one rank, every collective below is a no-op or the identity, and a single
 * process runs exactly as it would without this module.
 *
 * A failed MPI call is fatal (MPI's default): MPI prints it and mpirun stops the job, as it
 * does when a rank dies. */
#ifndef GCAM_DISTRIBUTED_H
#define GCAM_DISTRIBUTED_H

#include "gcam/core.h"

#include "map_cache.h"
#include "network.h"

#include <stddef.h>
#include <stdint.h>

typedef struct gcam_ranks {
    int rank, size;             /* this process and the job's processes */
    int local_rank, local_size; /* the same among the processes of this host */
} gcam_ranks;

/* The job's ranks: MPI's world when gcam_distributed_start started MPI, else rank 0 of 1.
 * A collective: every rank calls it, first. */
gcam_ranks gcam_ranks_get(void);

/* The sum over the ranks of n doubles, in place. */
void gcam_ranks_sum_doubles(const gcam_ranks *r, double *values, int n);
/* The maximum of a value over the ranks. */
int gcam_ranks_max_int(const gcam_ranks *r, int value);
/* The lowest rank whose flag is non-zero, or -1 when none is (every rank learns it). */
int gcam_ranks_first_set(const gcam_ranks *r, int flag);
/* 1 when value is the same on every rank. */
int gcam_ranks_all_equal(const gcam_ranks *r, uint64_t value);

/* Gives every rank the maps every rank staged in its cache since the refresh began, in
 * rank order, so that the caches stay identical. The staging area holds the job's
 * refresh (gcam_map_cache_init's capacity). */
void gcam_ranks_share_staged_maps(const gcam_ranks *r, gcam_map_cache *cache);

/* One iteration's exchange: every parameter buffer's updates are summed over the ranks
 * and every batch-norm layer's rolling mean and variance averaged, through a buffer of at
 * most 16 M floats (64 MB), one MPI_Allreduce per buffer-full. */
typedef struct gcam_gradient_segment {
    float *values;
    size_t n;
    int average; /* 1: rolling statistics, averaged; 0: updates, summed */
} gcam_gradient_segment;

typedef struct gcam_gradient_exchange {
    gcam_ranks ranks;
    gcam_param_buffer *params; /* (n_params) borrowed */
    int n_params;
    gcam_gradient_segment *segments; /* (n_segments) */
    int n_segments;
    size_t floats; /* per exchange */
    float *buffer; /* (buffer_floats) */
    size_t buffer_floats;
    long exchanges, calls; /* so far */
    double seconds;        /* in MPI_Allreduce so far */
} gcam_gradient_exchange;

/* Lists dn's updates and rolling statistics (params: gcam_darknet_parameters's buffers,
 * borrowed). With one rank nothing is allocated. Fails when the buffer does not fit. */
int gcam_gradient_exchange_init(gcam_gradient_exchange *x, const gcam_ranks *r, network *dn,
                                gcam_param_buffer *params, int n_params, gcam_error *err);
void gcam_gradient_exchange_free(gcam_gradient_exchange *x);

/* Before an iteration's backward passes. The updates hold the momentum every rank shares;
 * every rank but 0 clears them, so that the sum counts the momentum once. */
void gcam_gradient_exchange_begin(gcam_gradient_exchange *x);
/* After them: updates = momentum + every rank's gradients; rolling statistics averaged. */
void gcam_gradient_exchange_run(gcam_gradient_exchange *x);

/* A 64-bit fingerprint of dn's parameters, updates and rolling statistics, of `seen` and
 * of the map cache (may be NULL) with its staged refresh: equal on every rank exactly when
 * the ranks train the same model (up to hash collisions). */
uint64_t gcam_model_fingerprint(network *dn, const gcam_param_buffer *params, int n_params,
                                const gcam_map_cache *cache);

#endif
