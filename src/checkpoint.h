/* Training checkpoints: a .weights file that stock Darknet reads, and for the resumable
 * one (_last) two sidecars beside it, the momentum (.state) and the saliency map cache
 * (.maps). The sidecars are written first as .next files, then the weights, then the
 * .next files are renamed: at every moment one of (sidecar, sidecar.next) matches the
 * weights under the final name (matched by `seen` when read), so a run killed anywhere
 * resumes exactly. */
#ifndef GCAM_CHECKPOINT_H
#define GCAM_CHECKPOINT_H

#include "gcam/core.h"

#include "map_cache.h"

#include <darknet.h>

/* Writes dn to weights_path atomically; with `resumable`, also the momentum and, when
 * cache is not NULL, the map cache, in the order above. */
int gcam_checkpoint_save(network *dn, const gcam_map_cache *cache, const char *weights_path,
                         int resumable, gcam_error *err);

/* Restores the sidecars that match the weights at weights_path, already loaded into dn:
 * *momentum and *maps (maps only when cache is not NULL) tell which were found. What is
 * missing starts from zero (momentum) or empty (cache). */
void gcam_checkpoint_restore(network *dn, gcam_map_cache *cache, const char *weights_path,
                             int *momentum, int *maps);

#endif
