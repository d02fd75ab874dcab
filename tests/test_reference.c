/* gcam's logits, target-layer gradients and every saliency method against an independent
 * PyTorch computation (scripts/torch_reference.py, double precision, autograd) of the
 * same cfg and weights, on committed fixtures (tests/fixtures, made by
 * scripts/make_reference_fixtures.sh).
 * Tolerances: deterministic methods' maps Pearson r >= 0.999 and max abs error <= 1e-3;
 * logits relative 1e-4 and gradients 1e-3 of their largest magnitude (float32 against
 * float64). RISE is random: the reference draws the same masks with a port of gcam's
 * generator (and implements the mask upsampling, cropping and weighting itself), which
 * makes the comparison deterministic and holds RISE to the same tolerances. Without it,
 * two Monte Carlo estimates on these small nets agree only to r ~ 0.4-0.96 at N = 20000
 * (measured while writing this test), too loose to catch a wrong estimator. */
#include "check.h"
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
    enum { N_ARRAYS = 9 };
    npy arrays[N_ARRAYS];
    const char *parts[N_ARRAYS] = {"input",     "logits", "grad",     "groupcam", "gradcam",
                                   "gradcampp", "igcam",  "scorecam", "rise"};
    npy *input = &arrays[0], *logits = &arrays[1], *grad = &arrays[2];
    for (int i = 0; i < N_ARRAYS; ++i) {
        snprintf(path, sizeof path, "tests/fixtures/%s.%s.npy", name, parts[i]);
        if (npy_read(path, &arrays[i])) {
            CHECK(0, "cannot read %s", path);
            return;
        }
    }
    snprintf(path, sizeof path, "tests/fixtures/%s.meta", name);
    FILE *meta = fopen(path, "r");
    int target = -1, groups = 0, steps = 0, rise_n = 0, rise_s = 0, classes[3] = {-1, -1, -1};
    float rise_p = 0;
    CHECK(meta && fscanf(meta, "layer %d groups %d ig_steps %d rise %d %d %f classes %d %d %d",
                         &target, &groups, &steps, &rise_n, &rise_s, &rise_p, &classes[0],
                         &classes[1], &classes[2]) == 9,
          "bad %s", path);
    if (meta) fclose(meta);
    int n = (int)input->dims[0];

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
    gcam_net_predict(net, input->data, n);
    const layer *lg = &dn->layers[net->logits_layer];
    double logit_err = max_abs_diff(lg->output, logits->data, logits->count) /
                       largest(logits->data, logits->count);
    CHECK(logit_err <= 1e-4, "%s: logits differ by %g (relative)", name, logit_err);

    gcam_saliency_options so;
    so = gcam_saliency_options_default();
    CHECK(gcam_saliency_layer(net, &so, &err) == target, "%s: default layer %d, reference %d", name,
          gcam_saliency_layer(net, &so, &err), target);
    float *seed = calloc((size_t)lg->outputs * n, sizeof(float));
    for (int i = 0; i < n; ++i) seed[i * lg->outputs + classes[i]] = 1;
    const float *g = gcam_net_backward_from(net, net->logits_layer, seed, target);
    double grad_err = max_abs_diff(g, grad->data, grad->count) / largest(grad->data, grad->count);
    CHECK(grad_err <= 1e-3, "%s: target-layer gradients differ by %g (relative)", name, grad_err);
    free(seed);

    size_t hw = (size_t)dn->h * dn->w;
    float *maps = malloc(sizeof(float) * hw * n);
    int used[16];
    for (int m = 0; m < 6; ++m) {
        so.method = (gcam_method)m;
        so.groups = groups;
        so.ig_steps = steps;
        so.rise_n = rise_n;
        so.rise_s = rise_s;
        so.rise_p = rise_p;
        const npy *ref = &arrays[3 + m];
        so.seed = 5; /* the reference draws RISE's masks with gcam's generator and seed */
        CHECK(gcam_saliency(net, input->data, n, NULL, &so, maps, used, NULL, &err) == 0, "%s",
              err.message);
        for (int i = 0; i < n; ++i) {
            double r = pearson(maps + i * hw, ref->data + i * hw, hw);
            double e = max_abs_diff(maps + i * hw, ref->data + i * hw, hw);
            printf("%-12s %-9s image %d (class %d): r = %.6f, max |error| = %.2e\n", name,
                   gcam_method_name(so.method), i, used[i], r, e);
            CHECK(used[i] == classes[i], "%s: class %d, reference %d", name, used[i], classes[i]);
            CHECK(r >= 0.999 && e <= 1e-3, "%s %s image %d: r = %g, max error %g", name,
                  gcam_method_name(so.method), i, r, e);
        }
    }
    free(maps);
    for (int i = 0; i < N_ARRAYS; ++i) free(arrays[i].data);
    gcam_net_free(net);
}

int main(void) {
    check_fixture("resnet_small");
    check_fixture("strided_fc");
    check_fixture("linear_blob");
    return check_summary("test_reference");
}
