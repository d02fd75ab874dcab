/* gcam_net_backward_from: the gradient of a seeded score (one-hot at the logits) with
 * respect to the output of an inner layer, in inference mode. Checked against central
 * differences obtained by perturbing that layer's output and re-running the layers
 * above it, on a net with shortcuts and routes that reach across the target layer.
 * Also: the call leaves weights, updates, batch-norm statistics and `seen` untouched.
 * Activations are smooth (logistic) here: a whole-layer perturbation moves many leaky
 * units across their kink, which makes differences of a ReLU-family net unreliable at
 * the 1e-2 level; leaky gradients are checked element-wise in test_gradients. */
#include "check.h"
#include "testutil.h"

#define GRAD_TOLERANCE 1e-2

static const char cfg_text[] =
    "[net]\nbatch=2\nheight=10\nwidth=10\nchannels=3\n"
    "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\npad=1\nactivation=logistic\n" /* 0
                                                                                           */
    "[convolutional]\nbatch_normalize=1\nfilters=4\nsize=1\nactivation=logistic\n"        /* 1 */
    "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\npad=1\nactivation=linear\n"   /* 2 */
    "[shortcut]\nfrom=-3\nactivation=logistic\n"                                          /* 3 */
    "[convolutional]\nbatch_normalize=1\nfilters=6\nsize=3\nstride=2\npad=1\nactivation="
    "logistic\n"                                                                   /* 4 */
    "[convolutional]\nbatch_normalize=1\nfilters=6\nsize=1\nactivation=logistic\n" /* 5 */
    "[route]\nlayers=-1,-2\n"                                                      /* 6 */
    "[convolutional]\nfilters=5\nsize=1\nactivation=linear\n"                      /* 7 */
    "[avgpool]\n"                                                                  /* 8 */
    "[softmax]\n";                                                                 /* 9 */

/* Forward of layers [from, n) in inference mode, reading layer from-1's output. */
static void forward_from(network *dn, int from) {
    network net = *dn;
    net.train = 0;
    net.input = dn->layers[from - 1].output;
    for (int i = from; i < dn->n; ++i) {
        layer l = dn->layers[i];
        net.index = i;
        l.forward(l, net);
        net.input = l.output;
    }
}

typedef struct snapshot {
    float *data[64];
    size_t count[64];
    int n;
} snapshot;

static void snap(snapshot *s, float *p, size_t n) {
    if (!p || !n) return;
    s->data[s->n] = malloc(sizeof(float) * n);
    memcpy(s->data[s->n], p, sizeof(float) * n);
    s->count[s->n++] = n;
}

/* Visits every training-state array of the network in a fixed order. */
static int state_equal(network *dn, snapshot *s, int take) {
    int k = 0, equal = 1;
    for (int i = 0; i < dn->n; ++i) {
        layer *l = &dn->layers[i];
        size_t nw = (size_t)l->nweights, nb = (size_t)l->nbiases;
        float *arrays[] = {l->weights, l->weight_updates, l->biases,       l->bias_updates,
                           l->scales,  l->scale_updates,  l->rolling_mean, l->rolling_variance};
        size_t counts[] = {nw, nw, nb, nb, nb, nb, nb, nb};
        for (int j = 0; j < 8; ++j) {
            if (!arrays[j] || !counts[j]) continue;
            if (take)
                snap(s, arrays[j], counts[j]);
            else
                equal &= memcmp(s->data[k++], arrays[j], sizeof(float) * counts[j]) == 0;
        }
    }
    return equal;
}

int main(void) {
    gcam_net *net = load_cfg_text(cfg_text, GCAM_KERNELS_FAST, 0);
    if (!net) {
        CHECK(0, "cfg did not load");
        return check_summary("test_inference_backward");
    }
    network *dn = net->dn;
    gcam_rng rng = gcam_rng_init(77, 1);
    randomize_parameters(dn, &rng);
    size_t in_n = (size_t)dn->inputs * dn->batch;
    float *input = malloc(sizeof(float) * in_n);
    fill_uniform(&rng, input, in_n, 0, 1);
    calibrate_batchnorm(dn, input);
    for (int i = 0; i < dn->n; ++i) { /* nonzero updates, to see that none change */
        layer *l = &dn->layers[i];
        if (l->weight_updates) fill_uniform(&rng, l->weight_updates, (size_t)l->nweights, -1, 1);
        if (l->bias_updates) fill_uniform(&rng, l->bias_updates, (size_t)l->nbiases, -1, 1);
    }
    *dn->seen = 4242;
    snapshot before = {0};
    state_equal(dn, &before, 1);

    const int logits = net->logits_layer;
    CHECK(logits == 8, "logits layer %d", logits);
    layer *top = &dn->layers[logits];
    float *seed = calloc((size_t)top->outputs * dn->batch, sizeof(float));
    int classes[2] = {1, 3};
    for (int b = 0; b < dn->batch; ++b) seed[b * top->outputs + classes[b]] = 1;

    /* Targets: below a shortcut's source, a shortcut, a layer feeding a route twice. */
    const int targets[] = {0, 1, 3, 4, 5};
    for (size_t t = 0; t < sizeof targets / sizeof *targets; ++t) {
        int L = targets[t];
        gcam_net_predict(net, input, dn->batch);
        layer *target = &dn->layers[L];
        size_t n = (size_t)target->outputs * dn->batch;
        float *grad = malloc(sizeof(float) * n);
        memcpy(grad, gcam_net_backward_from(net, logits, seed, L), sizeof(float) * n);
        /* Directional derivatives along random sign vectors v: a single element's
         * effect on a logit is too small for float32 differences, a whole layer's is not. */
        double diff2 = 0, ref2 = 0;
        float *saved = malloc(sizeof(float) * n), *v = malloc(sizeof(float) * n);
        memcpy(saved, target->output, sizeof(float) * n);
        for (int s = 0; s < 10; ++s) {
            double analytic = 0;
            for (size_t i = 0; i < n; ++i) {
                v[i] = (gcam_rng_next(&rng) & 1) ? 1.f : -1.f;
                analytic += (double)grad[i] * v[i];
            }
            const float h = 1e-3f;
            double score[2];
            for (int k = 0; k < 2; ++k) {
                for (size_t i = 0; i < n; ++i) target->output[i] = saved[i] + (k ? -h : h) * v[i];
                forward_from(dn, L + 1);
                score[k] = 0;
                for (int b = 0; b < dn->batch; ++b)
                    score[k] += top->output[b * top->outputs + classes[b]];
            }
            double numeric = (score[0] - score[1]) / (2 * h);
            diff2 += (analytic - numeric) * (analytic - numeric);
            ref2 += numeric * numeric;
        }
        memcpy(target->output, saved, sizeof(float) * n);
        free(saved);
        free(v);
        double rel = sqrt(diff2 / (ref2 + 1e-30));
        printf("d logit / d output of layer %d: relative error %.2e\n", L, rel);
        CHECK(rel <= GRAD_TOLERANCE && ref2 > 0, "layer %d: relative error %g", L, rel);
        free(grad);
    }
    /* A forward of fewer images than the capacity computes the same rows. */
    {
        const float *both = gcam_net_predict(net, input, 2);
        float second[5];
        memcpy(second, both + 5, sizeof second);
        const float *one = gcam_net_predict(net, input + dn->inputs, 1);
        CHECK(max_abs_diff(one, second, 5) < 1e-6, "partial batch differs");
        CHECK(dn->batch == 2 && dn->layers[3].batch == 2, "batch not restored");
    }
    CHECK(state_equal(dn, &before, 0), "training state changed");
    CHECK(*dn->seen == 4242, "seen changed to %zu", *dn->seen);
    for (int i = 0; i < before.n; ++i) free(before.data[i]);
    free(seed);
    free(input);
    gcam_net_free(net);
    return check_summary("test_inference_backward");
}
