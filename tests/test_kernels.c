/* Our optimised primitives against naive reference loops written from the definitions:
 * convolution forward (every size/stride/pad/group combination our cfgs use, including
 * the 1x1 stride-2 case that Darknet gets wrong), col2im as the exact adjoint of im2col,
 * and one SGD step of conv and connected layers against Darknet's update rule
 * (update_convolutional_layer): U -= decay*B*W; W += lr/B*U; U *= momentum; biases and
 * scales without decay. */
#include "check.h"
#include "darknet_internal.h"
#include "kernels.h"
#include "testutil.h"

/* out (n, oh, ow) of one image: direct sum over the receptive field, in double. */
static void naive_conv(const float *in, int c, int h, int w, const float *weights, int n, int size,
                       int stride, int pad, int groups, double *out) {
    int oh = (h + 2 * pad - size) / stride + 1, ow = (w + 2 * pad - size) / stride + 1;
    int cg = c / groups, ng = n / groups;
    for (int f = 0; f < n; ++f)
        for (int y = 0; y < oh; ++y)
            for (int x = 0; x < ow; ++x) {
                double sum = 0;
                int g = f / ng;
                for (int k = 0; k < cg; ++k)
                    for (int i = 0; i < size; ++i)
                        for (int j = 0; j < size; ++j) {
                            int iy = y * stride - pad + i, ix = x * stride - pad + j;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                            sum +=
                                (double)weights[((size_t)f * cg + k) * size * size + i * size + j] *
                                in[((size_t)(g * cg + k) * h + iy) * w + ix];
                        }
                out[((size_t)f * oh + y) * ow + x] = sum;
            }
}

static void check_conv_forward_with(gcam_kernels kernels, int c, int hw, int n, int size,
                                    int stride, int pad, int groups) {
    char text[512];
    snprintf(text, sizeof text,
             "[net]\nbatch=2\nheight=%d\nwidth=%d\nchannels=%d\n[convolutional]\nfilters=%d\n"
             "size=%d\nstride=%d\npadding=%d\ngroups=%d\nactivation=linear\n",
             hw, hw, c, n, size, stride, pad, groups);
    gcam_net *net = load_cfg_text(text, kernels, 0);
    if (!net) {
        CHECK(0, "cfg did not load");
        return;
    }
    network *dn = net->dn;
    layer *l = &dn->layers[0];
    gcam_rng rng = gcam_rng_init(9, (uint64_t)(size * 100 + stride * 10 + pad));
    fill_uniform(&rng, l->weights, (size_t)l->nweights, -1, 1);
    fill_uniform(&rng, l->biases, (size_t)n, -1, 1);
    float *input = malloc(sizeof(float) * (size_t)dn->inputs * 2);
    fill_uniform(&rng, input, (size_t)dn->inputs * 2, -1, 1);
    const float *out = gcam_net_predict(net, input, 2);
    size_t per_image = (size_t)l->outputs, spatial = (size_t)l->out_h * l->out_w;
    double *ref = malloc(sizeof(double) * per_image);
    double worst = 0;
    for (int b = 0; b < 2; ++b) {
        naive_conv(input + (size_t)b * dn->inputs, c, hw, hw, l->weights, n, size, stride, pad,
                   groups, ref);
        for (size_t i = 0; i < per_image; ++i) {
            double expect = ref[i] + l->biases[i / spatial];
            worst = fmax(worst, fabs(out[b * per_image + i] - expect));
        }
    }
    /* float32 sums of up to c*size*size products of values in [-1, 1] */
    CHECK(worst < 1e-4, "%s conv c=%d %dx%d stride %d pad %d groups %d: max error %g",
          kernels == GCAM_KERNELS_BLAS ? "OpenBLAS" : "oneDNN", c, size, size, stride, pad, groups,
          worst);
    free(ref);
    free(input);
    gcam_net_free(net);
}

/* Both convolution paths: oneDNN (the default kernels) and OpenBLAS. */
static void check_conv_forward(int c, int hw, int n, int size, int stride, int pad, int groups) {
    check_conv_forward_with(GCAM_KERNELS_FAST, c, hw, n, size, stride, pad, groups);
    check_conv_forward_with(GCAM_KERNELS_BLAS, c, hw, n, size, stride, pad, groups);
}

/* <gcam_im2col(x), y> must equal <x, col2im(y)> for random x, y; rows of the column matrix
 * are `gap` floats longer than one image's columns, as when images sit side by side. */
static void check_adjoint(int c, int h, int w, int size, int stride, int pad, int gap) {
    int oh = (h + 2 * pad - size) / stride + 1, ow = (w + 2 * pad - size) / stride + 1;
    size_t ld = (size_t)oh * ow + gap;
    size_t in_n = (size_t)c * h * w, col_n = (size_t)c * size * size * ld;
    float *x = malloc(sizeof(float) * in_n), *y = malloc(sizeof(float) * col_n);
    float *col = malloc(sizeof(float) * col_n), *back = calloc(in_n, sizeof(float));
    gcam_rng rng = gcam_rng_init(3, (uint64_t)(size * 7 + stride));
    fill_uniform(&rng, x, in_n, -1, 1);
    fill_uniform(&rng, y, col_n, -1, 1);
    memset(col, 0, sizeof(float) * col_n); /* the gap columns stay 0 */
    gcam_im2col(x, c, h, w, size, stride, pad, col, ld);
    gcam_col2im_add(y, ld, c, h, w, size, stride, pad, back);
    double lhs = 0, rhs = 0;
    for (size_t i = 0; i < col_n; ++i) lhs += (double)col[i] * y[i];
    for (size_t i = 0; i < in_n; ++i) rhs += (double)x[i] * back[i];
    CHECK(fabs(lhs - rhs) < 1e-3 * (1 + fabs(lhs)), "im2col/col2im not adjoint: %g vs %g", lhs,
          rhs);
    free(x);
    free(y);
    free(col);
    free(back);
}

static void check_sgd(LAYER_TYPE type) {
    const char *text = type == CONVOLUTIONAL
                           ? "[net]\nbatch=2\nsubdivisions=1\nheight=5\nwidth=5\nchannels=2\n"
                             "[convolutional]\nbatch_normalize=1\nfilters=3\nsize=3\n"
                             "learning_rate=0.5\n"
                           : "[net]\nbatch=2\nheight=5\nwidth=5\nchannels=2\n"
                             "[connected]\noutput=4\nbatch_normalize=1\n";
    gcam_net *net = load_cfg_text(text, GCAM_KERNELS_FAST, 0);
    if (!net) {
        CHECK(0, "cfg did not load");
        return;
    }
    layer *l = &net->dn->layers[0];
    size_t nw = type == CONVOLUTIONAL ? (size_t)l->nweights : (size_t)l->inputs * l->outputs;
    size_t nb = (size_t)(type == CONVOLUTIONAL ? l->n : l->outputs);
    gcam_rng rng = gcam_rng_init(11, (uint64_t)type);
    float *arrays[6] = {l->weights,      l->weight_updates, l->biases,
                        l->bias_updates, l->scales,         l->scale_updates};
    size_t counts[6] = {nw, nw, nb, nb, nb, nb};
    float *saved[6];
    for (int k = 0; k < 6; ++k) {
        fill_uniform(&rng, arrays[k], counts[k], -1, 1);
        saved[k] = malloc(sizeof(float) * counts[k]);
        memcpy(saved[k], arrays[k], sizeof(float) * counts[k]);
    }
    update_args a = {0};
    a.batch = 2;
    a.learning_rate = 0.1f;
    a.momentum = 0.9f;
    a.decay = 0.01f;
    l->update(*l, a);
    double lr = a.learning_rate * l->learning_rate_scale, B = a.batch, worst = 0;
    for (int k = 0; k < 6; k += 2) {
        double decay = k == 0 ? a.decay : 0;
        for (size_t i = 0; i < counts[k]; ++i) {
            double u = saved[k + 1][i] - decay * B * saved[k][i];
            double w = saved[k][i] + lr / B * u;
            worst = fmax(worst, fabs(w - arrays[k][i]));
            worst = fmax(worst, fabs(a.momentum * u - arrays[k + 1][i]));
        }
    }
    CHECK(worst < 1e-6, "%s SGD step differs from the rule by %g",
          type == CONVOLUTIONAL ? "conv" : "connected", worst);
    for (int k = 0; k < 6; ++k) free(saved[k]);
    gcam_net_free(net);
}

/* A NaN in a pooling window is chosen and propagates; every argmax stays inside the
 * input (Darknet's leaves -1 and its backward writes before the buffer). */
static void check_maxpool_nan(void) {
    gcam_net *net = load_cfg_text("[net]\nbatch=2\nheight=4\nwidth=4\nchannels=1\n"
                                  "[maxpool]\nsize=2\nstride=2\n",
                                  GCAM_KERNELS_FAST, 0);
    if (!net) {
        CHECK(0, "cfg did not load");
        return;
    }
    float input[32];
    for (int i = 0; i < 32; ++i) input[i] = (float)i;
    input[5] = NAN;
    const float *out = gcam_net_predict(net, input, 2);
    layer *l = &net->dn->layers[0];
    CHECK(isnan(out[0]) && out[1] == 7 && out[4] == 21, "pooled %g %g %g", out[0], out[1], out[4]);
    int inside = 1;
    for (int i = 0; i < 8; ++i) inside &= l->indexes[i] >= 0 && l->indexes[i] < 32;
    CHECK(inside, "argmax outside the input");
    gcam_net_free(net);
}

/* Max pooling's forward (values and argmax positions) and backward give Darknet's bits on
 * data with many ties (values drawn from five levels, so "the first maximum" decides),
 * for the written-out 2x2 window, general windows, padding and borders, on one thread and
 * on the threaded path (2 x 16 x 48 x 48 inputs). */
static void check_maxpool(int batch, int c, int hw, int size, int stride, int pad) {
    char text[256];
    snprintf(text, sizeof text,
             "[net]\nbatch=%d\nheight=%d\nwidth=%d\nchannels=%d\n"
             "[maxpool]\nsize=%d\nstride=%d\npadding=%d\n",
             batch, hw, hw, c, size, stride, pad);
    gcam_net *net = load_cfg_text(text, GCAM_KERNELS_FAST, 0);
    if (!net) {
        CHECK(0, "maxpool %dx%d/%d pad %d: cfg did not load", size, size, stride, pad);
        return;
    }
    network *dn = net->dn;
    layer *l = &dn->layers[0];
    size_t n_in = (size_t)l->inputs * batch, n_out = (size_t)l->outputs * batch;
    gcam_rng rng = gcam_rng_init(11, (uint64_t)(size * 100 + stride * 10 + pad));
    float *input = malloc(sizeof(float) * n_in), *delta_out = malloc(sizeof(float) * n_out);
    float *ours[2] = {malloc(sizeof(float) * n_out), malloc(sizeof(float) * n_in)};
    int *our_indexes = malloc(sizeof(int) * n_out);
    for (size_t i = 0; i < n_in; ++i) input[i] = (float)(int)(5 * gcam_rng_uniform(&rng)) - 2;
    fill_uniform(&rng, delta_out, n_out, -1, 1);
    network state = *dn;
    state.index = 0, state.train = 1, state.input = input;
    state.delta = calloc(n_in, sizeof(float));
    for (int pass = 0; pass < 2; ++pass) {
        memset(state.delta, 0, sizeof(float) * n_in);
        memcpy(l->delta, delta_out, sizeof(float) * n_out);
        if (pass == 0) {
            gcam_maxpool_forward(*l, state);
            gcam_maxpool_backward(*l, state);
            memcpy(ours[0], l->output, sizeof(float) * n_out);
            memcpy(our_indexes, l->indexes, sizeof(int) * n_out);
            memcpy(ours[1], state.delta, sizeof(float) * n_in);
        } else {
            forward_maxpool_layer(*l, state);
            backward_maxpool_layer(*l, state);
        }
    }
    CHECK(memcmp(ours[0], l->output, sizeof(float) * n_out) == 0 &&
              memcmp(our_indexes, l->indexes, sizeof(int) * n_out) == 0,
          "maxpool %dx%d/%d pad %d: forward differs from Darknet's", size, size, stride, pad);
    CHECK(memcmp(ours[1], state.delta, sizeof(float) * n_in) == 0,
          "maxpool %dx%d/%d pad %d: backward differs from Darknet's", size, size, stride, pad);
    free(input), free(delta_out), free(ours[0]), free(ours[1]), free(our_indexes);
    free(state.delta);
    gcam_net_free(net);
}

/* A shortcut layer's forward and backward give Darknet's bits: the same random outputs,
 * deltas and input deltas through both kernels, compared byte for byte. `cfg` ends with the
 * shortcut; its input and the layer it adds are filled at random (half negative), so
 * every activation branch runs. */
static void check_shortcut(const char *name, const char *cfg, int train) {
    gcam_net *net = load_cfg_text(cfg, GCAM_KERNELS_FAST, 0);
    if (!net) {
        CHECK(0, "%s: cfg did not load", name);
        return;
    }
    network *dn = net->dn;
    int at = dn->n - 1;
    layer *l = &dn->layers[at], *below = &dn->layers[at - 1], *from = &dn->layers[l->index];
    size_t n_out = (size_t)l->outputs * l->batch, n_below = (size_t)below->outputs * l->batch,
           n_from = (size_t)from->outputs * l->batch;
    gcam_rng rng = gcam_rng_init(7, (uint64_t)at);
    fill_uniform(&rng, below->output, n_below, -1, 1);
    if (from != below) fill_uniform(&rng, from->output, n_from, -1, 1);
    network state = *dn;
    state.index = at, state.train = train, state.input = below->output, state.delta = below->delta;

    float *ours = malloc(sizeof(float) * n_out);
    gcam_shortcut_forward(*l, state);
    memcpy(ours, l->output, sizeof(float) * n_out);
    forward_shortcut_layer(*l, state);
    CHECK(memcmp(ours, l->output, sizeof(float) * n_out) == 0, "%s: forward differs from Darknet's",
          name);

    /* backward: the same deltas in, all three deltas out compared */
    float *delta_in = malloc(sizeof(float) * n_out), *below_in = malloc(sizeof(float) * n_below),
          *from_in = malloc(sizeof(float) * n_from);
    fill_uniform(&rng, delta_in, n_out, -1, 1);
    fill_uniform(&rng, below_in, n_below, -1, 1);
    fill_uniform(&rng, from_in, n_from, -1, 1);
    float *saved[3];
    size_t sizes[3] = {n_out, n_below, n_from};
    float *buffers[3] = {l->delta, below->delta, from->delta};
    for (int pass = 0; pass < 2; ++pass) {
        memcpy(l->delta, delta_in, sizeof(float) * n_out);
        if (from != below) memcpy(from->delta, from_in, sizeof(float) * n_from);
        memcpy(below->delta, below_in, sizeof(float) * n_below);
        if (pass == 0) {
            gcam_shortcut_backward(*l, state);
            for (int k = 0; k < 3; ++k) {
                saved[k] = malloc(sizeof(float) * sizes[k]);
                memcpy(saved[k], buffers[k], sizeof(float) * sizes[k]);
            }
        } else {
            backward_shortcut_layer(*l, state);
        }
    }
    const char *which[3] = {"its delta", "the input's delta", "the added layer's delta"};
    for (int k = 0; k < 3; ++k) {
        CHECK(memcmp(saved[k], buffers[k], sizeof(float) * sizes[k]) == 0,
              "%s: backward: %s differs from Darknet's", name, which[k]);
        free(saved[k]);
    }
    free(ours), free(delta_in), free(below_in), free(from_in);
    gcam_net_free(net);
}

static void check_shortcuts(void) {
    /* 2 x 16 x 48 x 48 = 73,728 values: the threaded path; 1 x 4 x 6 x 6: one thread */
#define SC_NET(batch, c, hw)                                                                       \
    "[net]\nbatch=" #batch "\nheight=" #hw "\nwidth=" #hw "\nchannels=" #c "\n"
#define SC_CONV(filters, stride)                                                                   \
    "[convolutional]\nfilters=" #filters "\nsize=1\nstride=" #stride "\n"
    static const char *activations[] = {"leaky", "linear", "logistic", "relu"};
    char cfg[1024], name[128];
    for (int a = 0; a < 4; ++a)
        for (int big = 0; big < 2; ++big) {
            snprintf(cfg, sizeof cfg,
                     "%s" SC_CONV(16, 1) SC_CONV(16, 1) "[shortcut]\nfrom=-2\nactivation=%s\n",
                     big ? SC_NET(2, 16, 48) : SC_NET(1, 16, 6), activations[a]);
            snprintf(name, sizeof name, "shortcut, same shape, %s, %s", activations[a],
                     big ? "threaded" : "one thread");
            check_shortcut(name, cfg, 1);
        }
    check_shortcut("shortcut, alpha and beta, inference",
                   SC_NET(2, 16, 48) SC_CONV(16, 1) SC_CONV(
                       16, 1) "[shortcut]\nfrom=-2\nactivation=leaky\nalpha=0.5\nbeta=-1.5\n",
                   0);
    check_shortcut("shortcut from the layer below (one delta buffer)",
                   SC_NET(2, 16, 48) SC_CONV(16, 1) "[shortcut]\nfrom=-1\nactivation=leaky\n", 1);
    check_shortcut(
        "shortcut, subsampled and fewer channels (a stage's start)",
        SC_NET(2, 8, 48) SC_CONV(8, 1) SC_CONV(16, 2) "[shortcut]\nfrom=-2\nactivation=leaky\n", 1);
    check_shortcut("shortcut, subsampled and more channels",
                   SC_NET(2, 8, 48) SC_CONV(16, 1)
                       SC_CONV(8, 2) "[shortcut]\nfrom=-2\nactivation=logistic\n",
                   1);
    check_shortcut("shortcut, spread from a smaller layer",
                   SC_NET(2, 8, 48)
                       SC_CONV(8, 1) "[maxpool]\nsize=2\nstride=2\n[route]\nlayers=-2\n"
                                     "[shortcut]\nfrom=-2\nactivation=linear\n",
                   1);
#undef SC_NET
#undef SC_CONV
}

int main(void) {
    check_maxpool_nan();
    check_maxpool(2, 16, 48, 2, 2, 0); /* threaded */
    check_maxpool(1, 3, 9, 2, 2, 0);   /* odd size: a border window */
    check_maxpool(2, 16, 48, 3, 2, 1); /* overlapping windows, threaded */
    check_maxpool(1, 4, 11, 3, 1, 2);
    check_maxpool(1, 2, 13, 5, 3, 0);
    check_shortcuts();
    check_conv_forward(3, 9, 4, 3, 1, 1, 1);
    check_conv_forward(3, 9, 4, 3, 2, 1, 1);
    check_conv_forward(4, 8, 6, 1, 1, 0, 1);
    check_conv_forward(4, 8, 6, 1, 2, 0, 1); /* Darknet ignores the stride here */
    check_conv_forward(4, 7, 8, 3, 1, 1, 2);
    check_conv_forward(8, 7, 8, 3, 2, 1, 8); /* depthwise */
    check_conv_forward(2, 11, 3, 5, 2, 0, 1);
    check_conv_forward(2, 10, 3, 7, 2, 3, 1);
    check_conv_forward(3, 6, 2, 2, 2, 1, 1);
    check_adjoint(3, 9, 9, 3, 1, 1, 0);
    check_adjoint(3, 9, 8, 3, 2, 1, 0);
    check_adjoint(2, 11, 11, 5, 2, 0, 0);
    check_adjoint(2, 10, 10, 7, 2, 3, 0);
    check_adjoint(4, 6, 6, 1, 2, 0, 0);
    check_adjoint(3, 9, 9, 3, 1, 1, 17);
    check_adjoint(2, 10, 10, 7, 2, 3, 5);
    check_sgd(CONVOLUTIONAL);
    check_sgd(CONNECTED);
    return check_summary("test_kernels");
}
