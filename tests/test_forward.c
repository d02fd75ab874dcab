/* Our kernels against Darknet's own on the same cfg and random weights: inference-mode
 * class probabilities and top-1 must agree, on Debian's classifier cfgs and on small
 * cfgs for grouped convolutions, connected layers and standalone batch norm. The fused
 * inference plan (gcam_net_scores) is held to the same tolerances, also after each write to
 * the weights that the plan copied.
 * Training mode (batch statistics) is compared on the small cfgs. */
#include "check.h"
#include "inference_plan.h"
#include "kernels.h"
#include "testutil.h"

/* Darknet is right on these cfgs; the tolerance is on class probabilities. Float32
 * sums in a different order (BLAS blocking) differ by ~1e-6 relative per layer. */
#define PROB_TOLERANCE 1e-4
#define LOGIT_TOLERANCE 1e-4

/* cfg_path with gcam's fast kernels at this batch; NULL, counted as a failed check, if it
 * does not load. */
static gcam_net *load_fast(const char *name, const char *cfg_path, int batch) {
    gcam_error err = {0};
    gcam_load_options opt = gcam_load_options_default();
    opt.batch = batch;
    opt.kernels = GCAM_KERNELS_FAST;
    gcam_net *net;
    if (gcam_net_load(&net, cfg_path, &opt, &err)) {
        CHECK(0, "%s: load failed: %s", name, err.message);
        return NULL;
    }
    return net;
}

static void compare_cfg(const char *name, const char *cfg_path, int batch, int train_too,
                        int expect_covered) {
    gcam_net *net = load_fast(name, cfg_path, batch);
    if (!net) return;
    network *dn = net->dn;
    gcam_rng rng = gcam_rng_init(42, 7);
    randomize_parameters(dn, &rng);
    size_t in_n = (size_t)dn->inputs * batch, out_n = (size_t)net->classes * batch;
    float *input = malloc(sizeof(float) * in_n);
    fill_uniform(&rng, input, in_n, 0.f, 1.f);
    calibrate_batchnorm(dn, input);

    float *fast = malloc(sizeof(float) * out_n), *stock = malloc(sizeof(float) * out_n);
    const layer *logits = &dn->layers[net->logits_layer];
    size_t logit_n = (size_t)logits->outputs * batch;
    float *fast_logits = malloc(sizeof(float) * logit_n);
    memcpy(fast, gcam_net_predict(net, input, batch), sizeof(float) * out_n);
    memcpy(fast_logits, logits->output, sizeof(float) * logit_n);
    float *planned = malloc(sizeof(float) * out_n),
          *planned_logits = malloc(sizeof(float) * logit_n);
    memcpy(planned, gcam_net_scores(net, input, batch), sizeof(float) * out_n);
    memcpy(planned_logits, logits->output, sizeof(float) * logit_n);
    int covered = net->plans[0] ? gcam_inference_plan_covered(net->plans[0]) : 0;
    gcam_kernels_install(dn, GCAM_KERNELS_DARKNET);
    memcpy(stock, gcam_net_predict(net, input, batch), sizeof(float) * out_n);
    /* Probabilities of 1000 near-equal logits hide errors, so logits are compared too,
     * relative to their spread. */
    double logit_scale = 1e-30;
    for (size_t i = 0; i < logit_n; ++i) logit_scale = fmax(logit_scale, fabs(logits->output[i]));
    double logit_diff = max_abs_diff(fast_logits, logits->output, logit_n) / logit_scale;
    CHECK(logit_diff <= LOGIT_TOLERANCE, "%s: max relative |dlogit| = %g", name, logit_diff);
    double plan_logit_diff = max_abs_diff(planned_logits, logits->output, logit_n) / logit_scale;
    CHECK(plan_logit_diff <= LOGIT_TOLERANCE, "%s: plan: max relative |dlogit| = %g", name,
          plan_logit_diff);
    CHECK(covered >= expect_covered, "%s: the plan covers %d layers, expected %d or more", name,
          covered, expect_covered);
    free(fast_logits);
    free(planned_logits);
    double diff = max_abs_diff(fast, stock, out_n);
    double top = 0;
    for (size_t i = 0; i < out_n; ++i) top = stock[i] > top ? stock[i] : top;
    CHECK(diff <= PROB_TOLERANCE, "%s: max |dp| = %g", name, diff);
    for (int b = 0; b < batch; ++b)
        CHECK(argmax(fast + (size_t)b * net->classes, net->classes) ==
                  argmax(stock + (size_t)b * net->classes, net->classes),
              "%s: top-1 differs for image %d", name, b);
    double plan_diff = max_abs_diff(planned, stock, out_n);
    CHECK(plan_diff <= PROB_TOLERANCE, "%s: plan: max |dp| = %g", name, plan_diff);
    for (int b = 0; b < batch; ++b)
        CHECK(argmax(planned + (size_t)b * net->classes, net->classes) ==
                  argmax(stock + (size_t)b * net->classes, net->classes),
              "%s: plan: top-1 differs for image %d", name, b);
    free(planned);
    printf("%s: inference max |dp| %.3g (largest p %.3f), max |dlogit|/max|logit| %.3g\n", name,
           diff, top, logit_diff);
    printf("%s: fused plan over %d of %d layers: max |dp| %.3g, max |dlogit|/max|logit| %.3g\n",
           name, covered, dn->n, plan_diff, plan_logit_diff);

    if (train_too) {
        /* Training forward: batch statistics. Rolling statistics move too, identically. */
        network tnet = *dn;
        tnet.train = 1;
        float *outs[2];
        for (int k = 0; k < 2; ++k) {
            gcam_kernels_install(dn, k == 0 ? GCAM_KERNELS_FAST : GCAM_KERNELS_DARKNET);
            /* Darknet's dropout draws its mask from rand(); both runs use gcam's seeded
             * mask so that the comparison sees the same units dropped. */
            for (int i = 0; i < dn->n; ++i)
                if (dn->layers[i].type == DROPOUT) dn->layers[i].forward = gcam_dropout_forward;
            tnet.input = dn->input;
            for (int i = 0; i < dn->n; ++i) {
                layer l = dn->layers[i];
                tnet.index = i;
                l.forward(l, tnet);
                tnet.input = l.output;
            }
            outs[k] = malloc(sizeof(float) * out_n);
            memcpy(outs[k], dn->layers[dn->n - 1].output, sizeof(float) * out_n);
        }
        double tdiff = max_abs_diff(outs[0], outs[1], out_n);
        CHECK(tdiff <= PROB_TOLERANCE, "%s: training forward max |dp| = %g", name, tdiff);
        printf("%s: training max |dp| %.3g\n", name, tdiff);
        free(outs[0]);
        free(outs[1]);
    }
    free(input);
    free(fast);
    free(stock);
    gcam_net_free(net);
}

static const char grouped_cfg[] =
    "[net]\nbatch=2\nheight=20\nwidth=20\nchannels=3\n"
    "[convolutional]\nbatch_normalize=1\nfilters=16\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
    "[convolutional]\nbatch_normalize=1\nfilters=32\ngroups=4\nsize=3\nstride=2\npad=1\n"
    "activation=relu\n"
    "[convolutional]\nfilters=32\ngroups=32\nsize=3\nstride=1\npad=1\nactivation=logistic\n"
    "[convolutional]\nfilters=8\nsize=1\nstride=1\nactivation=linear\n"
    "[avgpool]\n[softmax]\n";

static const char connected_cfg[] =
    "[net]\nbatch=4\nheight=12\nwidth=12\nchannels=3\n"
    "[convolutional]\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=relu\n"
    "[maxpool]\nsize=2\nstride=2\n"
    "[batchnorm]\n"
    "[connected]\noutput=20\nbatch_normalize=1\nactivation=leaky\n"
    "[dropout]\nprobability=.5\n"
    "[connected]\noutput=5\nactivation=linear\n"
    "[softmax]\n";

/* Largest |logit difference| between the fused plan and stock Darknet's layer-by-layer
 * forward of the weights as they are now, relative to the largest stock logit. */
static double plan_against_stock(gcam_net *net, const float *input, int batch) {
    network *dn = net->dn;
    const layer *logits = &dn->layers[net->logits_layer];
    size_t logit_n = (size_t)logits->outputs * batch;
    float *planned = malloc(sizeof(float) * logit_n);
    gcam_net_scores(net, input, batch);
    memcpy(planned, logits->output, sizeof(float) * logit_n);
    gcam_kernels_install(dn, GCAM_KERNELS_DARKNET);
    gcam_net_predict(net, input, batch);
    gcam_kernels_install(dn, GCAM_KERNELS_FAST);
    double scale = 1e-30;
    for (size_t i = 0; i < logit_n; ++i) scale = fmax(scale, fabs(logits->output[i]));
    double diff = max_abs_diff(planned, logits->output, logit_n) / scale;
    free(planned);
    return diff;
}

/* A plan holds its own copy of the weights; every write must reach it before its next use,
 * without the caller's help: each weighted layer re-randomised in turn (the sanity
 * check's cascade), a write through Darknet's buffers that nobody counted, and a write of
 * a single inner weight that only gcam_net_weights_changed can announce. After each, the
 * plan's logits must be stock Darknet's on the new weights. */
static void check_plan_follows_weights(const char *name, const char *cfg_path, int batch) {
    gcam_net *net = load_fast(name, cfg_path, batch);
    if (!net) return;
    network *dn = net->dn;
    gcam_rng rng = gcam_rng_init(5, 1);
    randomize_parameters(dn, &rng);
    size_t in_n = (size_t)dn->inputs * batch;
    float *input = malloc(sizeof(float) * in_n);
    fill_uniform(&rng, input, in_n, 0.f, 1.f);
    calibrate_batchnorm(dn, input);
    double worst = plan_against_stock(net, input, batch);
    CHECK(worst <= LOGIT_TOLERANCE, "%s: plan before any change: |dlogit| %g", name, worst);
    CHECK(net->plans[0] && gcam_inference_plan_covered(net->plans[0]) > 1,
          "%s: no fused plan to test", name);
    int randomised = 0;
    for (int i = dn->n - 1; i >= 0; --i) {
        if (!gcam_net_randomize_layer(net, i, 77)) continue;
        double diff = plan_against_stock(net, input, batch);
        CHECK(diff <= LOGIT_TOLERANCE, "%s: layer %d re-randomised: plan |dlogit| %g", name, i,
              diff);
        worst = fmax(worst, diff), ++randomised;
    }
    randomize_parameters(dn, &rng); /* through Darknet's buffers, not counted */
    double uncounted = plan_against_stock(net, input, batch);
    CHECK(uncounted <= LOGIT_TOLERANCE, "%s: an uncounted write: plan |dlogit| %g", name,
          uncounted);
    /* one inner weight of the first layer (not among the values the digest reads), made
     * large enough to move every logit */
    const float *before = gcam_net_scores(net, input, batch);
    float before0 = before[0];
    dn->layers[0].weights[1] += 50.f;
    gcam_net_weights_changed(net);
    double single = plan_against_stock(net, input, batch);
    CHECK(single <= LOGIT_TOLERANCE, "%s: one counted inner weight: plan |dlogit| %g", name,
          single);
    CHECK(gcam_net_scores(net, input, batch)[0] != before0,
          "%s: the changed inner weight did not change the scores", name);
    printf("%s: plan after each of %d re-randomised layers, an uncounted and a single counted "
           "write: max |dlogit|/max|logit| %.3g\n",
           name, randomised, fmax(worst, fmax(uncounted, single)));
    free(input);
    gcam_net_free(net);
}

/* A backward pass after gcam_net_predict_keeping (the layers below the target in the
 * fused plan) sees the same target activations and gradients, to rounding, as after the
 * layer-by-layer forward. */
static void check_keeping_backward(const char *name, const char *cfg_path, int batch,
                                   int from_end) {
    gcam_net *net = load_fast(name, cfg_path, batch);
    if (!net) return;
    network *dn = net->dn;
    gcam_rng rng = gcam_rng_init(9, 3);
    randomize_parameters(dn, &rng);
    size_t in_n = (size_t)dn->inputs * batch;
    float *input = malloc(sizeof(float) * in_n);
    fill_uniform(&rng, input, in_n, 0.f, 1.f);
    calibrate_batchnorm(dn, input);
    int target = dn->n - from_end, top = net->logits_layer;
    size_t seed_n = (size_t)dn->layers[top].outputs * batch,
           target_n = (size_t)dn->layers[target].outputs * batch;
    float *seed = calloc(seed_n, sizeof(float)), *results[2][2];
    for (int b = 0; b < batch; ++b) seed[(size_t)b * dn->layers[top].outputs + b] = 1;
    for (int k = 0; k < 2; ++k) {
        if (k)
            gcam_net_predict_keeping(net, input, batch, target);
        else
            gcam_net_predict(net, input, batch);
        results[k][0] = malloc(sizeof(float) * target_n);
        memcpy(results[k][0], dn->layers[target].output, sizeof(float) * target_n);
        results[k][1] = malloc(sizeof(float) * target_n);
        memcpy(results[k][1], gcam_net_backward_from(net, top, seed, target),
               sizeof(float) * target_n);
    }
    CHECK(net->plans[0] && gcam_inference_plan_covered(net->plans[0]) == target + 1,
          "%s: the plan covers up to the target layer %d", name, target);
    const char *what[2] = {"activations", "gradients"};
    for (int q = 0; q < 2; ++q) {
        double scale = 1e-30;
        for (size_t i = 0; i < target_n; ++i) scale = fmax(scale, fabs(results[0][q][i]));
        double diff = max_abs_diff(results[0][q], results[1][q], target_n) / scale;
        CHECK(diff <= LOGIT_TOLERANCE, "%s: target %s differ by %g (relative to the largest)", name,
              what[q], diff);
        printf("%s: kept target layer %d, %s max relative difference %.3g\n", name, target, what[q],
               diff);
        free(results[0][q]), free(results[1][q]);
    }
    free(seed), free(input);
    gcam_net_free(net);
}

int main(void) {
    check_plan_follows_weights("cluttered", "cfg/cluttered.cfg", 2);
    check_plan_follows_weights("resnet18", "/usr/share/darknet/cfg/resnet18.cfg", 1);
    check_keeping_backward("cluttered", "cfg/cluttered.cfg", 2, 4);
    check_keeping_backward("resnet18", "/usr/share/darknet/cfg/resnet18.cfg", 1, 4);
    char *grouped = temp_cfg(grouped_cfg), *connected = temp_cfg(connected_cfg);
    compare_cfg("grouped", grouped, 2, 1, 1);
    compare_cfg("connected", connected, 4, 1, 2);
    unlink(grouped);
    unlink(connected);
    free(grouped);
    free(connected);
    /* the plan's reach: up to the classifier head, whose convolution to a number of
     * classes that is not a multiple of 16 has no fast kernel between these layouts */
    compare_cfg("cluttered", "cfg/cluttered.cfg", 3, 0, 9);
    compare_cfg("resnet18", "/usr/share/darknet/cfg/resnet18.cfg", 1, 0, 27);
    compare_cfg("darknet19", "/usr/share/darknet/cfg/darknet19.cfg", 1, 0, 23);
    compare_cfg("resnet50", "/usr/share/darknet/cfg/resnet50.cfg", 2, 0, 67);
    return check_summary("test_forward");
}
