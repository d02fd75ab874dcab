/* Darknet .weights files: validation, loading and atomic saving.
 *
 * Format: int32 major, minor, revision; `seen` as uint64 when major*10+minor >= 2 (and
 * neither is a "transposed" marker above 1000), else int32; then, in layer order, the
 * float32 parameters of each layer that has some:
 *   convolutional: biases[n], (BN: scales[n], rolling_mean[n], rolling_variance[n]),
 *                  weights[n][c/groups][size][size]
 *   connected:     biases[out], weights[out][in], (BN: scales, rolling_mean,
 *                  rolling_variance); stored [in][out] when the header is transposed
 *   batchnorm:     scales[c], rolling_mean[c], rolling_variance[c]
 * Darknet ignores short reads and trailing bytes; we check the size before reading. */
#include "weights.h"

#include "atomic_file.h"
#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

typedef struct weights_header {
    int32_t major, minor, revision;
    uint64_t seen;
    int transposed; /* connected weights stored [inputs][outputs] */
    long bytes;     /* header size */
} weights_header;

static size_t layer_floats(const layer *l) {
    switch (l->type) {
    case CONVOLUTIONAL:
        return (size_t)l->n * (l->batch_normalize ? 4 : 1) + (size_t)l->nweights;
    case CONNECTED:
        return (size_t)l->outputs * (l->batch_normalize ? 4 : 1) + (size_t)l->inputs * l->outputs;
    case BATCHNORM:
        return (size_t)l->c * 3;
    default:
        return 0;
    }
}

size_t gcam_weights_expected_floats(const network *net, int n_layers) {
    if (n_layers <= 0 || n_layers > net->n) n_layers = net->n;
    size_t total = 0;
    for (int i = 0; i < n_layers; ++i) total += layer_floats(&net->layers[i]);
    return total;
}

static int read_header(FILE *f, const char *path, weights_header *h, gcam_error *err) {
    int32_t v[3];
    if (fread(v, sizeof(int32_t), 3, f) != 3)
        return gcam_fail(err, "%s: too short for a weights header (12 bytes needed)", path);
    h->major = v[0];
    h->minor = v[1];
    h->revision = v[2];
    h->transposed = h->major > 1000 || h->minor > 1000;
    if (h->major < 0 || h->minor < 0 || h->revision < 0)
        return gcam_fail(err, "%s: not a Darknet weights file (version %d.%d.%d)", path, h->major,
                         h->minor, h->revision);
    if ((long)h->major * 10 + h->minor >= 2 && !h->transposed) {
        if (fread(&h->seen, sizeof(uint64_t), 1, f) != 1)
            return gcam_fail(err, "%s: header truncated (20 bytes needed)", path);
        h->bytes = 20;
    } else {
        int32_t seen32;
        if (fread(&seen32, sizeof(int32_t), 1, f) != 1)
            return gcam_fail(err, "%s: header truncated (16 bytes needed)", path);
        h->seen = (uint64_t)(uint32_t)seen32;
        h->bytes = 16;
    }
    return 0;
}

/* When a file of `floats` floats holds this network's layers up to its last weighted layer
 * (a classifier's head) followed by a head of the same shape but another number of
 * outputs (a backbone pretrained on other classes), the number of layers before the head;
 * else 0. A weights file has no shapes: the test is that the floats left after the
 * backbone are a whole number of the head's outputs, each with its weights and bias (and
 * batch-norm scale, mean and variance, or not). */
static int backbone_layers(const network *net, long long floats) {
    int head = -1;
    for (int i = 0; i < net->n; ++i)
        if (layer_floats(&net->layers[i])) head = i;
    if (head < 1) return 0;
    const layer *l = &net->layers[head];
    long long per_output = l->type == CONVOLUTIONAL
                               ? (long long)l->size * l->size * l->c / l->groups
                               : (long long)l->inputs;
    long long rest = floats - (long long)gcam_weights_expected_floats(net, head);
    if (l->type == BATCHNORM || rest <= 0) return 0;
    int fits = rest % (per_output + 1) == 0 || rest % (per_output + 4) == 0;
    return fits ? head : 0;
}

/* Opens path and checks its header and size against net; leaves f after the header. */
static int open_checked(const network *net, const char *path, int n_layers, FILE **out,
                        weights_header *h, gcam_error *err) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return gcam_fail(err, "%s: cannot open weights: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return gcam_fail(err, "%s: not a regular file", path);
    }
    if (read_header(f, path, h, err)) {
        fclose(f);
        return -1;
    }
    long long payload = (long long)st.st_size - h->bytes;
    size_t expected = gcam_weights_expected_floats(net, n_layers);
    long long expected_bytes = (long long)expected * 4;
    int partial = n_layers > 0 && n_layers < net->n;
    const char *scope = partial ? "the first layers" : "this cfg";
    if (payload % 4 != 0 || payload < expected_bytes || (!partial && payload > expected_bytes)) {
        fclose(f);
        const char *what = payload < expected_bytes ? "truncated or for a smaller network"
                                                    : "too large: made for another network";
        char advice[160] = "";
        int fit = partial ? 0 : backbone_layers(net, payload / 4);
        if (fit > 0)
            snprintf(advice, sizeof advice,
                     "; the first %d layers fit, with a head for another number of classes: "
                     "-weights_layers %d",
                     fit, fit);
        else if (!partial)
            snprintf(advice, sizeof advice,
                     "; to reuse only the first N layers, load them explicitly "
                     "(-weights_layers N)");
        return gcam_fail(err,
                         "%s: weights do not fit %s: expected %zu floats (%lld bytes after "
                         "the %ld-byte header), found %lld bytes (%s)%s",
                         path, scope, expected, expected_bytes, h->bytes, payload, what, advice);
    }
    *out = f;
    return 0;
}

int gcam_weights_check(const network *net, const char *path, int n_layers, gcam_error *err) {
    FILE *f;
    weights_header h;
    if (open_checked(net, path, n_layers, &f, &h, err)) return -1;
    fclose(f);
    return 0;
}

static int read_floats(FILE *f, float *dst, size_t n) {
    return fread(dst, 4, n, f) == n;
}

static void transpose(float *a, int rows, int cols) {
    float *t = gcam_xmalloc(sizeof(float) * (size_t)rows * cols);
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c) t[(size_t)c * rows + r] = a[(size_t)r * cols + c];
    memcpy(a, t, sizeof(float) * (size_t)rows * cols);
    free(t);
}

static int load_layer(layer *l, FILE *f, int transposed) {
    int ok = 1;
    switch (l->type) {
    case CONVOLUTIONAL:
        ok &= read_floats(f, l->biases, (size_t)l->n);
        if (l->batch_normalize) {
            ok &= read_floats(f, l->scales, (size_t)l->n);
            ok &= read_floats(f, l->rolling_mean, (size_t)l->n);
            ok &= read_floats(f, l->rolling_variance, (size_t)l->n);
        }
        ok &= read_floats(f, l->weights, (size_t)l->nweights);
        break;
    case CONNECTED:
        ok &= read_floats(f, l->biases, (size_t)l->outputs);
        ok &= read_floats(f, l->weights, (size_t)l->outputs * l->inputs);
        if (ok && transposed) transpose(l->weights, l->inputs, l->outputs);
        if (l->batch_normalize) {
            ok &= read_floats(f, l->scales, (size_t)l->outputs);
            ok &= read_floats(f, l->rolling_mean, (size_t)l->outputs);
            ok &= read_floats(f, l->rolling_variance, (size_t)l->outputs);
        }
        break;
    case BATCHNORM:
        ok &= read_floats(f, l->scales, (size_t)l->c);
        ok &= read_floats(f, l->rolling_mean, (size_t)l->c);
        ok &= read_floats(f, l->rolling_variance, (size_t)l->c);
        break;
    default:
        break;
    }
    return ok;
}

int gcam_weights_load(network *net, const char *path, int n_layers, gcam_error *err) {
    FILE *f;
    weights_header h;
    if (open_checked(net, path, n_layers, &f, &h, err)) return -1;
    if (n_layers <= 0 || n_layers > net->n) n_layers = net->n;
    for (int i = 0; i < n_layers; ++i) {
        if (!load_layer(&net->layers[i], f, h.transposed)) {
            fclose(f);
            return gcam_fail(err, "%s: read error in layer %d", path, i);
        }
    }
    fclose(f);
    *net->seen = (size_t)h.seen;
    return 0;
}

static void write_floats(FILE *f, const float *src, size_t n) {
    fwrite(src, 4, n, f);
}

int gcam_weights_save(const network *net, const char *path, gcam_error *err) {
    gcam_atomic_file af;
    if (gcam_atomic_file_open(&af, path, err)) return -1;
    FILE *f = af.stream;
    int32_t version[3] = {0, 2, 0};
    uint64_t seen = net->seen ? (uint64_t)*net->seen : 0;
    fwrite(version, sizeof(int32_t), 3, f);
    fwrite(&seen, sizeof seen, 1, f);
    for (int i = 0; i < net->n; ++i) {
        const layer *l = &net->layers[i];
        switch (l->type) {
        case CONVOLUTIONAL:
            write_floats(f, l->biases, (size_t)l->n);
            if (l->batch_normalize) {
                write_floats(f, l->scales, (size_t)l->n);
                write_floats(f, l->rolling_mean, (size_t)l->n);
                write_floats(f, l->rolling_variance, (size_t)l->n);
            }
            write_floats(f, l->weights, (size_t)l->nweights);
            break;
        case CONNECTED:
            write_floats(f, l->biases, (size_t)l->outputs);
            write_floats(f, l->weights, (size_t)l->outputs * l->inputs);
            if (l->batch_normalize) {
                write_floats(f, l->scales, (size_t)l->outputs);
                write_floats(f, l->rolling_mean, (size_t)l->outputs);
                write_floats(f, l->rolling_variance, (size_t)l->outputs);
            }
            break;
        case BATCHNORM:
            write_floats(f, l->scales, (size_t)l->c);
            write_floats(f, l->rolling_mean, (size_t)l->c);
            write_floats(f, l->rolling_variance, (size_t)l->c);
            break;
        default:
            break;
        }
    }
    return gcam_atomic_file_commit(&af, err);
}
