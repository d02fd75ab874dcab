/* Data-parallel training over MPI (see distributed.h; gcam_distributed_start in
 * gcam/train.h). Open MPI's mpirun marks the processes it starts with
 * OMPI_COMM_WORLD_SIZE; without it MPI is never initialised. */
#include "distributed.h"

#include "gcam/train.h"

#include "clock.h"
#include "error.h"

#include <mpi.h>
#include <stdlib.h>
#include <string.h>

/* Floats per MPI_Allreduce: large enough that the call's latency is noise next to the
 * bytes it moves, small enough to bound the buffer (and MPI's own) at 64 MB. */
#define FUSED_FLOATS ((size_t)16 << 20)

static int started;

int gcam_distributed_start(int *argc, char ***argv, gcam_error *err) {
    const char *size = getenv("OMPI_COMM_WORLD_SIZE");
    if (!size || atoi(size) < 2) return 1; /* a single process: MPI stays out of the way */
    /* only the main thread calls MPI; the kernel and loader threads never do */
    int provided;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return gcam_fail(err, "MPI_Init failed");
    started = 1;
    int n;
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}

void gcam_distributed_stop(void) {
    if (started) MPI_Finalize();
    started = 0;
}

gcam_ranks gcam_ranks_get(void) {
    gcam_ranks r = {0, 1, 0, 1};
    if (!started) return r;
    MPI_Comm_rank(MPI_COMM_WORLD, &r.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &r.size);
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, r.rank, MPI_INFO_NULL, &local);
    MPI_Comm_rank(local, &r.local_rank);
    MPI_Comm_size(local, &r.local_size);
    MPI_Comm_free(&local);
    return r;
}

void gcam_ranks_sum_doubles(const gcam_ranks *r, double *values, int n) {
    if (r->size > 1) MPI_Allreduce(MPI_IN_PLACE, values, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

int gcam_ranks_max_int(const gcam_ranks *r, int value) {
    int max = value;
    if (r->size > 1) MPI_Allreduce(&value, &max, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return max;
}

int gcam_ranks_first_set(const gcam_ranks *r, int flag) {
    int mine = flag ? r->rank : r->size, first = mine;
    if (r->size > 1) MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return first < r->size ? first : -1;
}

int gcam_ranks_all_equal(const gcam_ranks *r, uint64_t value) {
    if (r->size < 2) return 1;
    /* the maximum of (v, ~v) gives the maximum and the minimum of v in one call */
    unsigned long long both[2] = {value, ~value}, max[2];
    MPI_Allreduce(both, max, 2, MPI_UNSIGNED_LONG_LONG, MPI_MAX, MPI_COMM_WORLD);
    return max[0] == ~max[1];
}

void gcam_ranks_share_staged_maps(const gcam_ranks *r, gcam_map_cache *cache) {
    if (r->size < 2) return;
    int n = cache->staged_n, cells = cache->size * cache->size;
    int *counts = gcam_xmalloc(sizeof(int) * (size_t)r->size); /* (ranks) maps staged */
    int *offsets = gcam_xmalloc(sizeof(int) * (size_t)r->size);
    MPI_Allgather(&n, 1, MPI_INT, counts, 1, MPI_INT, MPI_COMM_WORLD);
    int total = 0;
    for (int k = 0; k < r->size; ++k) offsets[k] = total, total += counts[k];
    int *ids = gcam_xmalloc(sizeof(int) * (size_t)(total + 1));             /* (total) */
    unsigned char *all = gcam_xmalloc((size_t)(total + 1) * (size_t)cells); /* (total, cells) */
    MPI_Allgatherv(cache->staged_ids, n, MPI_INT, ids, counts, offsets, MPI_INT, MPI_COMM_WORLD);
    for (int k = 0; k < r->size; ++k) counts[k] *= cells, offsets[k] *= cells;
    MPI_Allgatherv(cache->staged_cells, n * cells, MPI_BYTE, all, counts, offsets, MPI_BYTE,
                   MPI_COMM_WORLD);
    int kept = total < cache->capacity ? total : cache->capacity;
    memcpy(cache->staged_ids, ids, sizeof(int) * (size_t)kept);
    memcpy(cache->staged_cells, all, (size_t)kept * (size_t)cells);
    cache->staged_n = kept;
    free(counts);
    free(offsets);
    free(ids);
    free(all);
}

/* ---- the gradient exchange ---------------------------------------------------------- */

/* Channels of a layer's batch norm (its rolling statistics), 0 without. */
static int batchnorm_channels(const layer *l) {
    if (!l->rolling_mean) return 0;
    return l->type == CONVOLUTIONAL ? l->n : (l->type == CONNECTED ? l->outputs : l->c);
}

static void add_segment(gcam_gradient_exchange *x, float *values, size_t n, int average) {
    if (!values || !n) return;
    x->segments[x->n_segments++] = (gcam_gradient_segment){values, n, average};
    x->floats += n;
}

int gcam_gradient_exchange_init(gcam_gradient_exchange *x, const gcam_ranks *r, network *dn,
                                gcam_param_buffer *params, int n_params, gcam_error *err) {
    memset(x, 0, sizeof *x);
    x->ranks = *r;
    x->params = params;
    x->n_params = n_params;
    if (r->size < 2) return 0;
    x->segments = gcam_xcalloc((size_t)n_params + 2 * (size_t)dn->n, sizeof *x->segments);
    for (int k = 0; k < n_params; ++k) add_segment(x, params[k].updates, params[k].n, 0);
    for (int i = 0; i < dn->n; ++i) {
        layer *l = &dn->layers[i];
        add_segment(x, l->rolling_mean, (size_t)batchnorm_channels(l), 1);
        add_segment(x, l->rolling_variance, (size_t)batchnorm_channels(l), 1);
    }
    x->buffer_floats = x->floats < FUSED_FLOATS ? x->floats : FUSED_FLOATS;
    x->buffer = gcam_try_malloc(sizeof(float) * (x->buffer_floats + 1),
                                "the gradient exchange's buffer", err);
    return x->buffer ? 0 : -1;
}

void gcam_gradient_exchange_free(gcam_gradient_exchange *x) {
    free(x->segments);
    free(x->buffer);
    memset(x, 0, sizeof *x);
}

void gcam_gradient_exchange_begin(gcam_gradient_exchange *x) {
    if (x->ranks.size < 2 || x->ranks.rank == 0) return;
    for (int k = 0; k < x->n_params; ++k)
        if (x->params[k].updates) memset(x->params[k].updates, 0, sizeof(float) * x->params[k].n);
}

/* Sums the buffer's first `used` floats over the ranks. */
static void reduce_buffer(gcam_gradient_exchange *x, size_t used) {
    double t0 = gcam_now_seconds();
    MPI_Allreduce(MPI_IN_PLACE, x->buffer, (int)used, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    x->seconds += gcam_now_seconds() - t0;
    ++x->calls;
}

/* Copies the segments' floats from position `from` of the exchange (segments as one
 * sequence) to `to` into the buffer (pack) or back (unpack). */
static void copy_range(gcam_gradient_exchange *x, size_t from, size_t to, int pack) {
    float scale = 1.f / (float)x->ranks.size;
    size_t start = 0; /* position of the segment's first float */
    for (int s = 0; s < x->n_segments && start < to; start += x->segments[s++].n) {
        const gcam_gradient_segment *g = &x->segments[s];
        size_t lo = from > start ? from - start : 0, hi = to - start < g->n ? to - start : g->n;
        if (lo >= hi) continue;
        float *buf = x->buffer + (start + lo - from);
        if (!pack)
            memcpy(g->values + lo, buf, sizeof(float) * (hi - lo));
        else if (g->average)
            for (size_t q = lo; q < hi; ++q) buf[q - lo] = g->values[q] * scale;
        else
            memcpy(buf, g->values + lo, sizeof(float) * (hi - lo));
    }
}

void gcam_gradient_exchange_run(gcam_gradient_exchange *x) {
    if (x->ranks.size < 2) return;
    for (size_t from = 0; from < x->floats; from += x->buffer_floats) {
        size_t to = from + x->buffer_floats < x->floats ? from + x->buffer_floats : x->floats;
        copy_range(x, from, to, 1);
        reduce_buffer(x, to - from);
        copy_range(x, from, to, 0);
    }
    ++x->exchanges;
}

/* FNV-1a over 32-bit words. */
static uint64_t fnv_words(uint64_t h, const void *data, size_t n_words) {
    const uint32_t *w = data;
    for (size_t q = 0; q < n_words; ++q) h = (h ^ w[q]) * 0x100000001b3ULL;
    return h;
}

static uint64_t fnv_bytes(uint64_t h, const void *data, size_t n) {
    const unsigned char *b = data;
    for (size_t q = 0; q < n; ++q) h = (h ^ b[q]) * 0x100000001b3ULL;
    return h;
}

uint64_t gcam_model_fingerprint(network *dn, const gcam_param_buffer *params, int n_params,
                                const gcam_map_cache *cache) {
    uint64_t h = 0xcbf29ce484222325ULL, seen = *dn->seen;
    if (cache && cache->n) {
        size_t cells = (size_t)cache->size * cache->size;
        h = fnv_bytes(h, cache->maps, (size_t)cache->n * cells);
        h = fnv_words(h, cache->refreshed, (size_t)cache->n);
        h = fnv_words(h, cache->staged_ids, (size_t)cache->staged_n);
        h = fnv_bytes(h, cache->staged_cells, (size_t)cache->staged_n * cells);
    }
    h = fnv_words(h, &seen, 2);
    for (int k = 0; k < n_params; ++k) {
        if (params[k].values) h = fnv_words(h, params[k].values, params[k].n);
        if (params[k].updates) h = fnv_words(h, params[k].updates, params[k].n);
    }
    for (int i = 0; i < dn->n; ++i) {
        const layer *l = &dn->layers[i];
        size_t channels = (size_t)batchnorm_channels(l);
        if (channels)
            h = fnv_words(fnv_words(h, l->rolling_mean, channels), l->rolling_variance, channels);
    }
    return h;
}
