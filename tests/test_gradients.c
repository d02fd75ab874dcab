/* Finite-difference gradient checks of our kernels, through Darknet's own
 * forward_network/backward_network (which reach our kernels via the layer pointers).
 *
 * Loss: cross-entropy against a random one-hot truth for nets ending in [softmax], else
 * L = sum(r * output) for a fixed random r. Darknet deltas are negative gradients, so
 * -delta is compared with central differences of L, on sampled coordinates of the input
 * and of every layer's weights (and, in training, biases and BN scales).
 *
 * Error: ||analytic - numeric|| / ||numeric||. Central differences with h = 2e-3 on
 * float32 forwards (loss summed in double) are accurate to ~1e-3 here; the tolerance is
 * 1e-2. Darknet's stock kernels are run on the same cases: they must fail the
 * bottleneck (1x1 convolution overwriting a shortcut's gradient) and inference-mode
 * batch norm. */
#include "check.h"
#include "testutil.h"

#define GRAD_TOLERANCE 1e-2
#define FD_STEP 2e-3f
#define SAMPLES 24

typedef struct grad_case {
    const char *name;
    const char *cfg;
    int train;
} grad_case;

static double network_loss(network *dn, const float *r) {
    forward_network(dn);
    layer *last = &dn->layers[dn->n - 1];
    if (last->type == SOFTMAX) return last->cost[0];
    double loss = 0;
    for (int i = 0; i < last->outputs * last->batch; ++i) loss += (double)r[i] * last->output[i];
    return loss;
}

typedef struct error_sum {
    double diff2, ref2;
} error_sum;

static void add_error(error_sum *e, double analytic, double numeric) {
    e->diff2 += (analytic - numeric) * (analytic - numeric);
    e->ref2 += numeric * numeric;
}

static double relative(const error_sum *e) {
    return sqrt(e->diff2 / (e->ref2 + 1e-30));
}

/* Central difference of the loss with respect to *p. */
static double numeric_gradient(network *dn, const float *r, float *p) {
    float saved = *p;
    *p = saved + FD_STEP;
    double up = network_loss(dn, r);
    *p = saved - FD_STEP;
    double down = network_loss(dn, r);
    *p = saved;
    return (up - down) / (2.0 * FD_STEP);
}

static void sample_parameters(network *dn, const float *r, float *params, const float *grads,
                              size_t n, gcam_rng *rng, error_sum *e) {
    for (int s = 0; s < SAMPLES && n; ++s) {
        size_t i = gcam_rng_next(rng) % n;
        add_error(e, -grads[i], numeric_gradient(dn, r, &params[i]));
    }
}

static void zero_updates(network *dn) {
    for (int i = 0; i < dn->n; ++i) {
        layer *l = &dn->layers[i];
        if (l->weight_updates) memset(l->weight_updates, 0, sizeof(float) * (size_t)l->nweights);
        if (l->bias_updates) memset(l->bias_updates, 0, sizeof(float) * (size_t)l->nbiases);
        if (l->scale_updates) memset(l->scale_updates, 0, sizeof(float) * (size_t)l->nbiases);
    }
}

/* Returns the larger of the input and parameter relative errors for one kernel set.
 * Parameters are only checked in training: the inference backward computes no weight
 * gradients by design. */
static double check_case(const grad_case *gc, gcam_kernels kernels, double *input_err,
                         double *param_err) {
    char *path = temp_cfg(gc->cfg);
    gcam_error err = {0};
    gcam_load_options opt = gcam_load_options_default();
    opt.kernels = kernels;
    gcam_net *net;
    if (gcam_net_load(&net, path, &opt, &err)) {
        CHECK(0, "%s: %s", gc->name, err.message);
        unlink(path);
        free(path);
        return INFINITY;
    }
    unlink(path);
    free(path);
    network *dn = net->dn;
    gcam_rng rng = gcam_rng_init(1234, 1);
    randomize_parameters(dn, &rng);
    size_t in_n = (size_t)dn->inputs * dn->batch;
    fill_uniform(&rng, dn->input, in_n, -1.f, 1.f);
    calibrate_batchnorm(dn, dn->input);
    /* calibrate_batchnorm leaves the input in place; forward_network reads dn->input. */
    layer *last = &dn->layers[dn->n - 1];
    size_t out_n = (size_t)last->outputs * last->batch;
    float *r = malloc(sizeof(float) * out_n);
    fill_uniform(&rng, r, out_n, -1.f, 1.f);
    if (last->type == SOFTMAX) {
        memset(dn->truth, 0, sizeof(float) * out_n);
        for (int b = 0; b < dn->batch; ++b)
            dn->truth[(size_t)b * last->outputs + gcam_rng_next(&rng) % last->outputs] = 1.f;
    }

    dn->train = gc->train;
    float *input_grad = calloc(in_n, sizeof(float));
    zero_updates(dn);
    forward_network(dn);
    if (last->type != SOFTMAX)
        for (size_t i = 0; i < out_n; ++i) last->delta[i] = -r[i];
    dn->delta = input_grad;
    backward_network(dn);
    dn->delta = NULL;

    /* Finite differences run more forwards; the analytic gradients are copied out of
     * the update buffers first (below) or live in input_grad, which no forward touches. */
    error_sum in_e = {0, 0}, par_e = {0, 0};
    for (int s = 0; s < SAMPLES; ++s) {
        size_t i = gcam_rng_next(&rng) % in_n;
        add_error(&in_e, -input_grad[i], numeric_gradient(dn, r, &dn->input[i]));
    }
    if (gc->train) {
        for (int li = 0; li < dn->n; ++li) {
            layer *l = &dn->layers[li];
            if (l->type != CONVOLUTIONAL && l->type != CONNECTED && l->type != BATCHNORM) continue;
            int channels = l->type == CONNECTED ? l->outputs : l->out_c;
            size_t nw =
                l->type == CONVOLUTIONAL ? (size_t)l->nweights : (size_t)l->inputs * l->outputs;
            float *sources[3] = {l->type == BATCHNORM ? NULL : l->weight_updates, l->bias_updates,
                                 l->scale_updates};
            size_t counts[3] = {nw, (size_t)channels, (size_t)channels};
            float *params[3] = {l->type == BATCHNORM ? NULL : l->weights, l->biases, l->scales};
            for (int k = 0; k < 3; ++k) {
                if (!sources[k] || !params[k]) continue;
                /* A standalone [batchnorm]'s biases are Darknet's but never trained. */
                if (l->type == BATCHNORM && k == 1) continue;
                float *analytic = malloc(sizeof(float) * counts[k]);
                memcpy(analytic, sources[k], sizeof(float) * counts[k]);
                sample_parameters(dn, r, params[k], analytic, counts[k], &rng, &par_e);
                free(analytic);
            }
        }
    }
    *input_err = relative(&in_e);
    *param_err = gc->train ? relative(&par_e) : 0;
    free(input_grad);
    free(r);
    gcam_net_free(net);
    return fmax(*input_err, *param_err);
}

#define NET(b, hw, c) "[net]\nbatch=" #b "\nheight=" #hw "\nwidth=" #hw "\nchannels=" #c "\n"
#define HEAD "[avgpool]\n[connected]\noutput=5\nactivation=linear\n"

static const grad_case cases[] = {
    {"conv 3x3", NET(2, 8, 3) "[convolutional]\nfilters=6\nsize=3\npad=1\nactivation=leaky\n" HEAD,
     1},
    {"conv 3x3 stride 2",
     NET(2, 9, 3) "[convolutional]\nfilters=6\nsize=3\nstride=2\npad=1\n"
                  "activation=logistic\n" HEAD,
     1},
    {"conv 1x1", NET(2, 6, 4) "[convolutional]\nfilters=6\nsize=1\nactivation=leaky\n" HEAD, 1},
    {"conv 1x1 stride 2",
     NET(2, 8, 4) "[convolutional]\nfilters=6\nsize=1\nstride=2\n"
                  "activation=leaky\n" HEAD,
     1},
    {"conv grouped",
     NET(2, 7, 4) "[convolutional]\nfilters=8\ngroups=2\nsize=3\npad=1\n"
                  "activation=leaky\n" HEAD,
     1},
    {"conv 5x5 unpadded",
     NET(1, 9, 2) "[convolutional]\nfilters=3\nsize=5\nstride=2\n"
                  "activation=linear\n" HEAD,
     1},
    {"batch norm, training",
     NET(3, 6, 3) "[convolutional]\nbatch_normalize=1\nfilters=5\n"
                  "size=3\npad=1\nactivation=leaky\n" HEAD,
     1},
    {"batch norm, inference",
     NET(3, 6, 3) "[convolutional]\nbatch_normalize=1\nfilters=5\n"
                  "size=3\npad=1\nactivation=leaky\n" HEAD,
     0},
    {"batchnorm layer, training",
     NET(3, 5, 3) "[convolutional]\nfilters=4\nsize=3\npad=1\n"
                  "activation=linear\n[batchnorm]\n" HEAD,
     1},
    {"shortcut",
     NET(2, 6, 3) "[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=leaky\n"
                  "[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=leaky\n"
                  "[shortcut]\nfrom=-2\nactivation=leaky\n" HEAD,
     1},
    {"route",
     NET(2, 6, 3) "[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=leaky\n"
                  "[convolutional]\nfilters=3\nsize=3\npad=1\nactivation=leaky\n"
                  "[route]\nlayers=-1,-2\n" HEAD,
     1},
    {"maxpool",
     NET(2, 8, 3) "[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=linear\n"
                  "[maxpool]\nsize=2\nstride=2\n" HEAD,
     1},
    {"connected + batch norm",
     NET(4, 3, 2) "[connected]\noutput=7\nbatch_normalize=1\n"
                  "activation=leaky\n"
                  "[connected]\noutput=4\nactivation=linear\n",
     1},
    {"softmax cross-entropy",
     NET(2, 5, 3) "[convolutional]\nfilters=4\nsize=3\npad=1\n"
                  "activation=leaky\n" HEAD "[softmax]\n",
     1},
    {"bottleneck",
     NET(2, 6, 4) "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\npad=1\nactivation=leaky\n"
                  "[convolutional]\nbatch_normalize=1\nfilters=4\nsize=1\nactivation=leaky\n"
                  "[convolutional]\nbatch_normalize=1\nfilters=4\nsize=3\npad=1\nactivation=leaky\n"
                  "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=1\nactivation=linear\n"
                  "[shortcut]\nfrom=-4\nactivation=leaky\n" HEAD,
     1},
    {"bottleneck, inference",
     NET(2, 6, 4) "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\npad=1\nactivation=leaky\n"
                  "[convolutional]\nbatch_normalize=1\nfilters=4\nsize=1\nactivation=leaky\n"
                  "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=1\nactivation=linear\n"
                  "[shortcut]\nfrom=-3\nactivation=leaky\n" HEAD,
     0},
};

int main(void) {
    printf("%-28s %12s %12s   %12s %12s   %12s %12s\n", "case", "ours: input", "params",
           "OpenBLAS: input", "params", "stock: input", "params");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; ++i) {
        const grad_case *gc = &cases[i];
        double fi, fp, bi, bp, si, sp;
        double fast = check_case(gc, GCAM_KERNELS_FAST, &fi, &fp);
        double blas = check_case(gc, GCAM_KERNELS_BLAS, &bi, &bp);
        double stock = check_case(gc, GCAM_KERNELS_DARKNET, &si, &sp);
        printf("%-28s %12.2e %12.2e   %12.2e %12.2e   %12.2e %12.2e\n", gc->name, fi, fp, bi, bp,
               si, sp);
        CHECK(fast <= GRAD_TOLERANCE, "%s: relative gradient error %g", gc->name, fast);
        CHECK(blas <= GRAD_TOLERANCE, "%s: OpenBLAS path: relative gradient error %g", gc->name,
              blas);
        if (strstr(gc->name, "bottleneck") || strcmp(gc->name, "batch norm, inference") == 0)
            CHECK(stock > 0.1, "%s: stock Darknet was expected to fail, error %g", gc->name, stock);
    }
    return check_summary("test_gradients");
}
