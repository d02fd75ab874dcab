/* NumPy .npy output (format version 1.0): a 10-byte preamble, a Python-dict header
 * padded with spaces to a multiple of 64 bytes, then little-endian float32 data. */
#include "atomic_file.h"
#include "error.h"

#include <stdio.h>
#include <string.h>

int gcam_npy_write(const char *path, const float *data, const size_t *dims, int ndim,
                   gcam_error *err) {
    char shape[256] = "";
    size_t count = 1, used = 0;
    for (int i = 0; i < ndim; ++i) {
        used += (size_t)snprintf(shape + used, sizeof shape - used, "%zu%s", dims[i],
                                 ndim == 1 ? "," : (i + 1 < ndim ? ", " : ""));
        count *= dims[i];
    }
    char header[512];
    int len = snprintf(header, sizeof header,
                       "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", shape);
    int total = 10 + len + 1; /* preamble + dict + newline */
    int padded = (total + 63) / 64 * 64;
    memset(header + len, ' ', (size_t)(padded - total));
    header[padded - 10 - 1] = '\n';
    unsigned short header_len = (unsigned short)(padded - 10);

    gcam_atomic_file f;
    if (gcam_atomic_file_open(&f, path, err)) return -1;
    unsigned char preamble[10] = {0x93,
                                  'N',
                                  'U',
                                  'M',
                                  'P',
                                  'Y',
                                  1,
                                  0,
                                  (unsigned char)(header_len & 0xff),
                                  (unsigned char)(header_len >> 8)};
    fwrite(preamble, 1, sizeof preamble, f.stream);
    fwrite(header, 1, header_len, f.stream);
    if (count) fwrite(data, sizeof(float), count, f.stream);
    return gcam_atomic_file_commit(&f, err);
}
