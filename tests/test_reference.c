/* gcam's logits, target-layer gradients, Grad-CAM and Group-CAM against an independent
 * PyTorch computation (scripts/torch_reference.py, double precision, autograd) of the
 * same cfg and weights, on committed fixtures (tests/fixtures, made by
 * scripts/make_reference_fixtures.sh).
 * Tolerances (issue 4): maps Pearson r >= 0.999 and max abs error <= 1e-3; logits
 * relative 1e-4 and gradients 1e-3 of their largest magnitude, float32 against float64. */
#include "check.h"
#include "saliency.h"
#include "testutil.h"

typedef struct npy {
    float *data;
    size_t dims[4];
    int ndim;
    size_t count;
} npy;

/* Reads a little-endian float32, C-order .npy file. */
static int npy_read(const char *path, npy *out) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    unsigned char pre[10];
    char header[1024];
    int ok = fread(pre, 1, 10, f) == 10 && !memcmp(pre, "\x93NUMPY", 6) && pre[6] == 1;
    size_t len = ok ? (size_t)(pre[8] | pre[9] << 8) : 0;
    ok = ok && len < sizeof header && fread(header, 1, len, f) == len;
    header[ok ? len : 0] = '\0';
    ok = ok && strstr(header, "'<f4'") && strstr(header, "'fortran_order': False");
    const char *shape = ok ? strstr(header, "'shape': (") : NULL;
    if (!shape) {
        fclose(f);
        return -1;
    }
    shape += 10;
    out->count = 1;
    while (*shape && *shape != ')' && out->ndim < 4) {
        char *end;
        out->dims[out->ndim++] = strtoul(shape, &end, 10);
        out->count *= out->dims[out->ndim - 1];
        shape = end;
        while (*shape == ',' || *shape == ' ') ++shape;
    }
    out->data = malloc(sizeof(float) * out->count);
    ok = fread(out->data, sizeof(float), out->count, f) == out->count;
    fclose(f);
    return ok ? 0 : -1;
}

static double pearson(const float *a, const float *b, size_t n) {
    double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < n; ++i) ma += a[i], mb += b[i];
    ma /= n, mb /= n;
    for (size_t i = 0; i < n; ++i) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return sab / sqrt(saa * sbb + 1e-300);
}

static double largest(const float *x, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; ++i) m = fmax(m, fabs(x[i]));
    return m;
}

static void check_fixture(const char *name) {
    char path[256], cfg[256], weights[256];
    snprintf(cfg, sizeof cfg, "tests/fixtures/%s.cfg", name);
    snprintf(weights, sizeof weights, "tests/fixtures/%s.weights", name);
    npy input, logits, grad, gradcam, groupcam;
    const char *parts[5] = {"input", "logits", "grad", "gradcam", "groupcam"};
    npy *arrays[5] = {&input, &logits, &grad, &gradcam, &groupcam};
    for (int i = 0; i < 5; ++i) {
        snprintf(path, sizeof path, "tests/fixtures/%s.%s.npy", name, parts[i]);
        if (npy_read(path, arrays[i])) {
            CHECK(0, "cannot read %s", path);
            return;
        }
    }
    snprintf(path, sizeof path, "tests/fixtures/%s.meta", name);
    FILE *meta = fopen(path, "r");
    int target = -1, groups = 0, classes[3] = {-1, -1, -1};
    CHECK(meta && fscanf(meta, "layer %d groups %d classes %d %d %d", &target, &groups, &classes[0],
                         &classes[1], &classes[2]) == 5,
          "bad %s", path);
    if (meta) fclose(meta);
    int n = (int)input.dims[0];

    gcam_error err;
    gcam_load_options opt = gcam_load_options_default();
    opt.weights = weights;
    opt.batch = 16;
    gcam_net *net;
    if (gcam_net_load(&net, cfg, &opt, &err)) {
        CHECK(0, "%s", err.message);
        return;
    }
    network *dn = net->dn;
    gcam_net_predict(net, input.data, n);
    const layer *lg = &dn->layers[net->logits_layer];
    double logit_err =
        max_abs_diff(lg->output, logits.data, logits.count) / largest(logits.data, logits.count);
    CHECK(logit_err <= 1e-4, "%s: logits differ by %g (relative)", name, logit_err);

    gcam_saliency_options so;
    gcam_saliency_options_default(&so);
    CHECK(gcam_saliency_layer(net, &so, &err) == target, "%s: default layer %d, reference %d", name,
          gcam_saliency_layer(net, &so, &err), target);
    float *seed = calloc((size_t)lg->outputs * n, sizeof(float));
    for (int i = 0; i < n; ++i) seed[i * lg->outputs + classes[i]] = 1;
    const float *g = gcam_net_backward_from(net, net->logits_layer, seed, target);
    double grad_err = max_abs_diff(g, grad.data, grad.count) / largest(grad.data, grad.count);
    CHECK(grad_err <= 1e-3, "%s: target-layer gradients differ by %g (relative)", name, grad_err);
    free(seed);

    size_t hw = (size_t)dn->h * dn->w;
    float *maps = malloc(sizeof(float) * hw * n);
    int used[16];
    for (int m = 0; m < 2; ++m) {
        so.method = m ? GCAM_METHOD_GRADCAM : GCAM_METHOD_GROUPCAM;
        so.groups = groups;
        const npy *ref = m ? &gradcam : &groupcam;
        CHECK(gcam_saliency(net, input.data, n, NULL, &so, maps, used, NULL, &err) == 0, "%s",
              err.message);
        for (int i = 0; i < n; ++i) {
            double r = pearson(maps + i * hw, ref->data + i * hw, hw);
            double e = max_abs_diff(maps + i * hw, ref->data + i * hw, hw);
            printf("%s %s image %d (class %d): r = %.6f, max |error| = %.2e\n", name,
                   m ? "gradcam " : "groupcam", i, used[i], r, e);
            CHECK(used[i] == classes[i], "%s: class %d, reference %d", name, used[i], classes[i]);
            CHECK(r >= 0.999 && e <= 1e-3, "%s %s image %d: r = %g, max error %g", name,
                  m ? "Grad-CAM" : "Group-CAM", i, r, e);
        }
    }
    free(maps);
    for (int i = 0; i < 5; ++i) free(arrays[i]->data);
    gcam_net_free(net);
}

int main(void) {
    check_fixture("resnet_small");
    check_fixture("strided_fc");
    return check_summary("test_reference");
}
