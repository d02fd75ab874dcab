/* The momentum sidecar of a checkpoint (.state): Darknet's weights files do not hold the
 * accumulated updates, and without them a resumed run would not continue the same
 * trajectory. Format: "GCAMSTATE1", seen (uint64), float count (uint64), then the
 * updates of every parameter buffer (gcam_darknet_parameters order), native byte order. */
#ifndef GCAM_MOMENTUM_FILE_H
#define GCAM_MOMENTUM_FILE_H

#include "gcam/core.h"

#include <darknet.h>

/* Writes dn's updates, tagged with its `seen`, to path atomically. */
int gcam_momentum_write(network *dn, const char *path, gcam_error *err);

/* Reads path into dn's updates if it belongs to these weights (same seen, same size):
 * 1 if read, 0 if absent or not matching (the updates are then zero, never half-read). */
int gcam_momentum_read(network *dn, const char *path);

#endif
