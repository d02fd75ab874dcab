/* The saliency map cache and its .maps file (see map_cache.h). */
#include "map_cache.h"

#include "atomic_file.h"
#include "error.h"
#include "image_ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gcam_map_cache_init(gcam_map_cache *cache, int n, int size, int capacity, gcam_error *err) {
    memset(cache, 0, sizeof *cache);
    size_t cells = (size_t)size * size;
    cache->maps = gcam_try_malloc((size_t)n * cells, "the saliency map cache", err);
    cache->refreshed =
        cache->maps ? gcam_try_malloc(sizeof(int32_t) * (size_t)n, "the saliency map cache", err)
                    : NULL;
    cache->staged_ids = cache->refreshed ? gcam_try_malloc(sizeof(int) * (size_t)capacity,
                                                           "a saliency refresh", err)
                                         : NULL;
    cache->staged_cells = cache->staged_ids
                              ? gcam_try_malloc((size_t)capacity * cells, "a saliency refresh", err)
                              : NULL;
    if (!cache->staged_cells) {
        gcam_map_cache_free(cache);
        return -1;
    }
    cache->n = n;
    cache->size = size;
    cache->capacity = capacity;
    /* Written now rather than left to lazily zeroed pages, so that the cache's whole
     * (bounded) memory is resident from the start and the process does not grow later. */
    memset(cache->maps, 0, (size_t)n * cells);
    for (int i = 0; i < n; ++i) cache->refreshed[i] = -1;
    return 0;
}

void gcam_map_cache_free(gcam_map_cache *cache) {
    free(cache->maps);
    free(cache->refreshed);
    free(cache->staged_ids);
    free(cache->staged_cells);
    memset(cache, 0, sizeof *cache);
}

static float clamp01(float v) {
    return v < 0 ? 0 : (v > 1 ? 1 : v);
}

void gcam_map_cells(const float *map, int h, int w, int size, unsigned char *out) {
    float *cells = gcam_xcalloc((size_t)size * size, sizeof(float)); /* (size, size) */
    if (h >= size && w >= size) { /* area mean: every pixel counts in the cell of its centre */
        float *counts = gcam_xcalloc((size_t)size * size, sizeof(float));
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                int cy = (int)((y + 0.5f) * size / h), cx = (int)((x + 0.5f) * size / w);
                cells[cy * size + cx] += map[(size_t)y * w + x];
                counts[cy * size + cx] += 1;
            }
        for (int k = 0; k < size * size; ++k) cells[k] /= counts[k];
        free(counts);
    } else { /* a map coarser than the cache: interpolate */
        gcam_upsample(map, h, w, cells, size, size);
    }
    for (int k = 0; k < size * size; ++k) out[k] = (unsigned char)lroundf(255 * clamp01(cells[k]));
    free(cells);
}

void gcam_map_cache_put(gcam_map_cache *cache, int id, const unsigned char *cells,
                        int32_t iteration) {
    memcpy(cache->maps + (size_t)id * cache->size * cache->size, cells,
           (size_t)cache->size * cache->size);
    if (cache->refreshed[id] < 0) ++cache->covered;
    cache->refreshed[id] = iteration;
}

void gcam_map_cache_store(gcam_map_cache *cache, int id, const float *map, int h, int w,
                          int32_t iteration) {
    unsigned char *cells = gcam_xmalloc((size_t)cache->size * cache->size);
    gcam_map_cells(map, h, w, cache->size, cells);
    gcam_map_cache_put(cache, id, cells, iteration);
    free(cells);
}

int gcam_map_cache_get(const gcam_map_cache *cache, int id, float *out) {
    if (!cache || id < 0 || id >= cache->n || cache->refreshed[id] < 0) return 0;
    const unsigned char *in = cache->maps + (size_t)id * cache->size * cache->size;
    for (int k = 0; k < cache->size * cache->size; ++k) out[k] = in[k] / 255.f;
    return 1;
}

int gcam_map_cache_covered(const gcam_map_cache *cache, int32_t iteration, double *mean_age) {
    int covered = 0;
    double age = 0;
    for (int i = 0; i < cache->n; ++i)
        if (cache->refreshed[i] >= 0) {
            ++covered;
            age += iteration - cache->refreshed[i];
        }
    if (mean_age) *mean_age = covered ? age / covered : 0;
    return covered;
}

/* ---- staged refreshes ------------------------------------------------------------- */

void gcam_map_cache_stage_begin(gcam_map_cache *cache, int32_t iteration) {
    cache->staged_n = 0;
    cache->staged_iteration = iteration;
}

void gcam_map_cache_stage(gcam_map_cache *cache, int id, const float *map, int h, int w) {
    if (cache->staged_n >= cache->capacity) return;
    size_t cells = (size_t)cache->size * cache->size;
    cache->staged_ids[cache->staged_n] = id;
    gcam_map_cells(map, h, w, cache->size, cache->staged_cells + cells * cache->staged_n);
    ++cache->staged_n;
}

int gcam_map_cache_commit(gcam_map_cache *cache) {
    size_t cells = (size_t)cache->size * cache->size;
    int n = cache->staged_n;
    for (int i = 0; i < n; ++i)
        gcam_map_cache_put(cache, cache->staged_ids[i], cache->staged_cells + cells * i,
                           cache->staged_iteration);
    cache->staged_n = 0;
    return n;
}

/* ---- the .maps file --------------------------------------------------------------- */

static const char maps_magic[9] = "GCAMMAPS1";

int gcam_map_cache_write(const gcam_map_cache *cache, uint64_t seen, const char *path,
                         gcam_error *err) {
    size_t cells = (size_t)cache->size * cache->size;
    int32_t header[2] = {cache->n, cache->size};
    int32_t staged[2] = {cache->staged_n, cache->staged_iteration};
    gcam_atomic_file f;
    if (gcam_atomic_file_open(&f, path, err)) return -1;
    fwrite(maps_magic, 1, sizeof maps_magic, f.stream);
    fwrite(&seen, sizeof seen, 1, f.stream);
    fwrite(header, sizeof header, 1, f.stream);
    fwrite(cache->refreshed, sizeof(int32_t), (size_t)cache->n, f.stream);
    fwrite(cache->maps, 1, cells * cache->n, f.stream);
    fwrite(staged, sizeof staged, 1, f.stream);
    fwrite(cache->staged_ids, sizeof(int32_t), (size_t)cache->staged_n, f.stream);
    fwrite(cache->staged_cells, 1, cells * cache->staged_n, f.stream);
    return gcam_atomic_file_commit(&f, err);
}

int gcam_map_cache_read(gcam_map_cache *cache, uint64_t seen, const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t cells = (size_t)cache->size * cache->size;
    char magic[sizeof maps_magic];
    uint64_t file_seen = 0;
    int32_t header[2] = {0, 0}, staged[2] = {0, 0};
    int ok = fread(magic, 1, sizeof magic, f) == sizeof magic &&
             !memcmp(magic, maps_magic, sizeof magic) && fread(&file_seen, 8, 1, f) == 1 &&
             file_seen == seen && fread(header, sizeof header, 1, f) == 1 &&
             header[0] == cache->n && header[1] == cache->size &&
             fread(cache->refreshed, sizeof(int32_t), (size_t)cache->n, f) == (size_t)cache->n &&
             fread(cache->maps, 1, cells * cache->n, f) == cells * cache->n &&
             fread(staged, sizeof staged, 1, f) == 1 && staged[0] >= 0 &&
             staged[0] <= cache->capacity &&
             fread(cache->staged_ids, sizeof(int32_t), (size_t)staged[0], f) == (size_t)staged[0] &&
             fread(cache->staged_cells, 1, cells * staged[0], f) == cells * staged[0];
    for (int i = 0; ok && i < staged[0]; ++i)
        ok = cache->staged_ids[i] >= 0 && cache->staged_ids[i] < cache->n;
    cache->covered = 0;
    for (int i = 0; ok && i < cache->n; ++i) cache->covered += cache->refreshed[i] >= 0;
    if (ok) {
        cache->staged_n = staged[0];
        cache->staged_iteration = staged[1];
    } else { /* nothing half-read may stay */
        for (int i = 0; i < cache->n; ++i) cache->refreshed[i] = -1;
        cache->covered = 0;
        cache->staged_n = 0;
    }
    fclose(f);
    return ok;
}
