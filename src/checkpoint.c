/* Training checkpoints and their sidecars (see checkpoint.h). */
#include "checkpoint.h"

#include "atomic_file.h"
#include "momentum_file.h"
#include "weights.h"

#include <stdio.h>
#include <string.h>

/* The weights path with its extension replaced by `extension`. */
static void sidecar_path(char *out, size_t size, const char *weights, const char *extension) {
    snprintf(out, size, "%s", weights);
    char *dot = strrchr(out, '.');
    char *slash = strrchr(out, '/');
    if (dot && (!slash || dot > slash)) *dot = '\0';
    strncat(out, extension, size - strlen(out) - 1);
}

int gcam_checkpoint_save(network *dn, const gcam_map_cache *cache, const char *weights_path,
                         int resumable, gcam_error *err) {
    char state[GCAM_PATH_MAX + 16], state_next[GCAM_PATH_MAX + 16];
    char maps[GCAM_PATH_MAX + 16], maps_next[GCAM_PATH_MAX + 16];
    int with_maps = resumable && cache;
    if (resumable) {
        sidecar_path(state, sizeof state, weights_path, ".state");
        sidecar_path(state_next, sizeof state_next, weights_path, ".state.next");
        if (gcam_momentum_write(dn, state_next, err)) return -1;
    }
    if (with_maps) {
        sidecar_path(maps, sizeof maps, weights_path, ".maps");
        sidecar_path(maps_next, sizeof maps_next, weights_path, ".maps.next");
        if (gcam_map_cache_write(cache, *dn->seen, maps_next, err)) return -1;
    }
    if (gcam_weights_save(dn, weights_path, err)) return -1;
    if (resumable && gcam_atomic_rename(state_next, state, err)) return -1;
    if (with_maps && gcam_atomic_rename(maps_next, maps, err)) return -1;
    return 0;
}

void gcam_checkpoint_restore(network *dn, gcam_map_cache *cache, const char *weights_path,
                             int *momentum, int *maps) {
    char path[GCAM_PATH_MAX + 16], next[GCAM_PATH_MAX + 16];
    sidecar_path(path, sizeof path, weights_path, ".state");
    sidecar_path(next, sizeof next, weights_path, ".state.next");
    *momentum = gcam_momentum_read(dn, path) || gcam_momentum_read(dn, next);
    *maps = 0;
    if (!cache) return;
    sidecar_path(path, sizeof path, weights_path, ".maps");
    sidecar_path(next, sizeof next, weights_path, ".maps.next");
    *maps =
        gcam_map_cache_read(cache, *dn->seen, path) || gcam_map_cache_read(cache, *dn->seen, next);
}
