/* Training and fine-tuning of a Darknet classifier (gcam-train's engine): Darknet's update
 * rule and learning-rate policies, batch and subdivisions, periodic validation, a log, a
 * training chart, crash-safe checkpoints with exact resumption, and saliency-guided
 * augmentation (saliency=1). */
#ifndef GCAM_TRAIN_H
#define GCAM_TRAIN_H

#include "gcam/core.h"
#include "gcam/settings.h"

#include <signal.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Trains the cfg s->cfg_path with s's settings (s->train, s->saliency for the maps of a
 * refresh, s->data_path, s->seed, s->quiet). Output goes under the backup folder: the
 * checkpoints (<cfg>_last, _<iter>, _best and _final .weights, with the .state and .maps
 * sidecars of _last), the log <cfg>.csv and the chart chart.png; every file is written
 * atomically. Progress lines go to stdout, notes to stderr.
 *
 * stop (may be NULL) is polled after every iteration: once it is non-zero (a program sets
 * it from a signal handler), _last is saved and the run returns. The library installs no
 * signal handler itself.
 *
 * Returns 0 when max_batches is reached, -1 on an error (in err; nothing is saved after a
 * non-finite loss, gradient or weight), or the value *stop had when the run stopped. */
GCAM_API int gcam_train_run(const gcam_settings *s, const volatile sig_atomic_t *stop,
                            gcam_error *err);

/* Data-parallel training: under `mpirun -np N`, gcam_train_run trains as one of N ranks.
 * The cfg's batch is the job's: each rank trains batch / (subdivisions * N) images per
 * pass, its slice of the same seeded sequence one process would train on, and the
 * gradients are summed over the ranks before every update, so N ranks train the model one
 * process would (up to the order of float sums; batch norm uses each rank's own batch
 * statistics, its rolling statistics are averaged). Rank 0 writes every file; an error on
 * any rank stops all of them, and the message names the rank.
 *
 * gcam_distributed_start starts MPI when this process is one of several that mpirun
 * started (Open MPI sets OMPI_COMM_WORLD_SIZE); call it first in main, before any thread
 * exists. It returns the number of ranks (1: a single process, MPI untouched), or -1 on an
 * error. gcam_distributed_stop ends MPI if it was started; every rank calls it before
 * exiting. */
GCAM_API int gcam_distributed_start(int *argc, char ***argv, gcam_error *err);
GCAM_API void gcam_distributed_stop(void);

#ifdef __cplusplus
}
#endif
#endif
