/* The momentum sidecar (see momentum_file.h). */
#include "momentum_file.h"

#include "atomic_file.h"
#include "error.h"
#include "network.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char state_magic[10] = "GCAMSTATE1";

/* The parameter buffers of dn (caller frees) and their count. */
static gcam_param_buffer *parameters(network *dn, int *n) {
    *n = gcam_darknet_parameters(dn, NULL);
    gcam_param_buffer *buffers = gcam_xcalloc((size_t)*n + 1, sizeof *buffers);
    gcam_darknet_parameters(dn, buffers);
    return buffers;
}

int gcam_momentum_write(network *dn, const char *path, gcam_error *err) {
    int n;
    gcam_param_buffer *buffers = parameters(dn, &n);
    uint64_t seen = *dn->seen, total = 0;
    for (int k = 0; k < n; ++k) total += buffers[k].n;
    gcam_atomic_file f;
    if (gcam_atomic_file_open(&f, path, err)) {
        free(buffers);
        return -1;
    }
    fwrite(state_magic, 1, sizeof state_magic, f.stream);
    fwrite(&seen, sizeof seen, 1, f.stream);
    fwrite(&total, sizeof total, 1, f.stream);
    for (int k = 0; k < n; ++k)
        if (buffers[k].n) fwrite(buffers[k].updates, sizeof(float), buffers[k].n, f.stream);
    free(buffers);
    return gcam_atomic_file_commit(&f, err);
}

int gcam_momentum_read(network *dn, const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    int n;
    gcam_param_buffer *buffers = parameters(dn, &n);
    char magic[sizeof state_magic];
    uint64_t seen = 0, total = 0, expected = 0;
    for (int k = 0; k < n; ++k) expected += buffers[k].n;
    int ok = fread(magic, 1, sizeof magic, f) == sizeof magic &&
             !memcmp(magic, state_magic, sizeof magic) && fread(&seen, 8, 1, f) == 1 &&
             fread(&total, 8, 1, f) == 1 && seen == *dn->seen && total == expected;
    for (int k = 0; ok && k < n; ++k)
        ok = !buffers[k].n ||
             fread(buffers[k].updates, sizeof(float), buffers[k].n, f) == buffers[k].n;
    if (!ok) /* a partial read must not leave half the momentum in place */
        for (int k = 0; k < n; ++k)
            if (buffers[k].n) memset(buffers[k].updates, 0, sizeof(float) * buffers[k].n);
    fclose(f);
    free(buffers);
    return ok;
}
