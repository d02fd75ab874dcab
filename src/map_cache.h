/* The saliency map cache of guided training: one low-resolution map per training image,
 * in the image's own (un-augmented) coordinates, as bytes. The loader reads it while it
 * augments; the trainer's refreshes write it. A refresh is staged first and committed
 * only while the loader is idle (after gcam_loader_wait), so a batch never sees a
 * half-written cache and runs stay reproducible whatever the number of threads.
 *
 * The cache and its staged refresh are saved beside a checkpoint as a .maps file
 * ("GCAMMAPS1", written by gcam_map_cache_write), so a resumed run continues exactly as
 * an uninterrupted one. */
#ifndef GCAM_MAP_CACHE_H
#define GCAM_MAP_CACHE_H

#include "gcam/core.h"

#include <stdint.h>

/* Memory: n * (size^2 + 4) bytes (260 bytes per image at size 16), plus one refresh. */
typedef struct gcam_map_cache {
    int n, size;
    int covered;         /* images with a map */
    unsigned char *maps; /* (n, size, size) saliency in [0, 1] as 0..255, source coordinates */
    int32_t *refreshed;  /* (n) iteration of the image's last refresh; -1: no map yet */
    /* the last refresh, staged until gcam_map_cache_commit */
    int capacity;                /* maps one refresh stages at most */
    int staged_n;                /* maps staged */
    int32_t staged_iteration;    /* the refresh's iteration */
    int *staged_ids;             /* (capacity) */
    unsigned char *staged_cells; /* (capacity, size, size) */
} gcam_map_cache;

/* A cache of n empty maps of size x size cells, staging up to `capacity` maps a refresh.
 * Its memory is resident from the start, so a run does not grow as maps arrive. Fails
 * (with the size) when memory runs out; the cache is then empty and safe to free. */
int gcam_map_cache_init(gcam_map_cache *cache, int n, int size, int capacity, gcam_error *err);
void gcam_map_cache_free(gcam_map_cache *cache);

/* A map over the whole image at any resolution (h, w) as size x size cells (0..255):
 * each cell is the mean of the map over the cell's area. */
void gcam_map_cells(const float *map, int h, int w, int size, unsigned char *cells);

/* Stores image id's cells, refreshed at `iteration`, at once. */
void gcam_map_cache_put(gcam_map_cache *cache, int id, const unsigned char *cells,
                        int32_t iteration);
/* gcam_map_cells then gcam_map_cache_put. */
void gcam_map_cache_store(gcam_map_cache *cache, int id, const float *map, int h, int w,
                          int32_t iteration);

/* Copies image id's map into out (size, size) as floats in [0, 1]; 0 if it has none. */
int gcam_map_cache_get(const gcam_map_cache *cache, int id, float *out);

/* Images with a map, and the mean age in iterations of their maps at `iteration` (a scan
 * of the cache; mean_age may be NULL). */
int gcam_map_cache_covered(const gcam_map_cache *cache, int32_t iteration, double *mean_age);

/* Starts a new staged refresh at `iteration`, dropping one not committed. */
void gcam_map_cache_stage_begin(gcam_map_cache *cache, int32_t iteration);
/* Stages image id's map (h, w); at most `capacity` per refresh. */
void gcam_map_cache_stage(gcam_map_cache *cache, int id, const float *map, int h, int w);
/* Puts the staged maps into the cache; returns how many. The loader must be idle. */
int gcam_map_cache_commit(gcam_map_cache *cache);

/* Writes the cache and its staged refresh, tagged with the checkpoint's `seen`, to path
 * atomically. Format: "GCAMMAPS1", seen (uint64), images (int32), cells per side (int32),
 * each image's refresh iteration (int32 x images), the cells (uint8 x images x side^2),
 * then the staged refresh: count (int32), iteration (int32), ids (int32 x count), cells
 * (uint8 x count x side^2); native byte order. */
int gcam_map_cache_write(const gcam_map_cache *cache, uint64_t seen, const char *path,
                         gcam_error *err);
/* Reads path if it belongs to a checkpoint at `seen` and fits this cache: 1 if read, 0 if
 * absent or not matching (the cache is then left empty, never half-read). */
int gcam_map_cache_read(gcam_map_cache *cache, uint64_t seen, const char *path);

#endif
