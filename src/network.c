/* The Darknet adapter: loads networks safely (validated cfg and weights, a batch of the
 * caller's choosing, no Darknet exit or assert reachable from user input), frees them
 * completely, and drives inference-mode forward and backward passes. */
#include "network.h"

#include "cfg.h"
#include "darknet_internal.h"
#include "error.h"
#include "inference_plan.h"
#include "init.h"
#include "kernels.h"
#include "weights.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <math.h>
#include <unistd.h>

gcam_load_options gcam_load_options_default(void) {
    gcam_load_options o = {0};
    o.kernels = gcam_kernels_from_env();
    o.init_seed = 1;
    return o;
}

/* Darknet prints a layer table and option defaults to stderr while parsing; that is
 * noise for our users unless GCAM_VERBOSE is set. Returns the saved stderr or -1. */
static int mute_stderr(void) {
    if (getenv("GCAM_VERBOSE")) return -1;
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    int devnull = open("/dev/null", O_WRONLY);
    if (saved < 0 || devnull < 0) {
        if (saved >= 0) close(saved);
        if (devnull >= 0) close(devnull);
        return -1;
    }
    dup2(devnull, STDERR_FILENO);
    close(devnull);
    return saved;
}

static void restore_stderr(int saved) {
    if (saved < 0) return;
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
}

/* Buffers that Darknet's CPU [batchnorm] layer uses but never allocates. */
static int complete_batchnorm_layers(network *dn, gcam_error *err) {
    for (int i = 0; i < dn->n; ++i) {
        layer *l = &dn->layers[i];
        if (l->type != BATCHNORM) continue;
        size_t n = (size_t)l->outputs * l->batch;
        if (!l->x) l->x = calloc(n, sizeof(float));
        if (!l->x_norm) l->x_norm = calloc(n, sizeof(float));
        if (!l->mean_delta) l->mean_delta = calloc((size_t)l->c, sizeof(float));
        if (!l->variance_delta) l->variance_delta = calloc((size_t)l->c, sizeof(float));
        if (!l->x || !l->x_norm || !l->mean_delta || !l->variance_delta)
            return gcam_fail(err, "out of memory: batch-norm layer %d needs %.1f MB", i,
                             2.0 * n * sizeof(float) / (1024.0 * 1024.0));
    }
    return 0;
}

static int find_logits_layer(const network *dn) {
    int i = dn->n - 1;
    while (i > 0 && (dn->layers[i].type == SOFTMAX || dn->layers[i].type == COST)) --i;
    return i;
}

static network *parse_darknet(const gcam_cfg *cfg, int batch, gcam_error *err) {
    char *tmp_path = NULL;
    if (gcam_cfg_write_darknet(cfg, batch, &tmp_path, err)) return NULL;
    int saved = mute_stderr();
    network *dn = parse_network_cfg(tmp_path);
    restore_stderr(saved);
    unlink(tmp_path);
    free(tmp_path);
    return dn;
}

/* Bytes of address space the process uses now (/proc/self/statm), 0 if unknown. */
static double address_space_in_use(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (f) {
        if (fscanf(f, "%lu", &pages) != 1) pages = 0;
        fclose(f);
    }
    return (double)pages * (double)sysconf(_SC_PAGESIZE);
}

/* Darknet does not check its allocations: refuse a network that cannot fit before it
 * allocates one, against the machine's memory and any address-space limit. */
static int check_memory(const gcam_cfg *cfg, const gcam_cfg_memory *m, int batch, gcam_error *err) {
    if (batch <= 0) {
        const gcam_cfg_option *b = gcam_cfg_find(&cfg->sections[0], "batch");
        const gcam_cfg_option *sd = gcam_cfg_find(&cfg->sections[0], "subdivisions");
        int subdivisions = sd ? atoi(sd->value) : 1;
        batch = (b ? atoi(b->value) : 1) / (subdivisions > 0 ? subdivisions : 1);
        if (batch < 1) batch = 1;
    }
    double need = m->fixed_bytes + m->workspace_bytes + batch * m->per_image_bytes;
    double limit = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    const char *what = "this machine has";
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        /* What the process holds already (OpenBLAS reserves its buffers and threads at
         * start: about 500 MB), plus 64 MB for the stacks of threads still to come. */
        double left = (double)rl.rlim_cur - address_space_in_use() - 64e6;
        if (left < limit) limit = left, what = "the address-space limit (ulimit -v) leaves";
    }
    if (need <= limit) return 0;
    return gcam_fail(err,
                     "%s: the network needs at least %.0f MB for a batch of %d (%.1f MB per "
                     "image, %.0f MB of parameters), more than the %.0f MB %s; use a smaller "
                     "batch or input",
                     cfg->path, need / 1e6, batch, m->per_image_bytes / 1e6, m->fixed_bytes / 1e6,
                     limit > 0 ? limit / 1e6 : 0.0, what);
}

int gcam_net_load(gcam_net **out, const char *cfg_path, const gcam_load_options *options,
                  gcam_error *err) {
    *out = NULL;
    gcam_load_options defaults = gcam_load_options_default();
    if (!options) options = &defaults;
    if (options->batch < 0) return gcam_fail(err, "batch must be positive, got %d", options->batch);
    gcam_cfg cfg;
    gcam_cfg_memory memory;
    if (gcam_cfg_read(&cfg, cfg_path, err) || gcam_cfg_validate_estimate(&cfg, err, &memory) ||
        check_memory(&cfg, &memory, options->batch, err)) {
        gcam_cfg_free(&cfg);
        return -1;
    }
    network *dn = parse_darknet(&cfg, options->batch, err);
    if (!dn) {
        gcam_cfg_free(&cfg);
        return -1;
    }
    gcam_net *net = gcam_xcalloc(1, sizeof *net);
    net->dn = dn;
    net->cfg_path = gcam_xstrdup(cfg_path);
    const gcam_cfg_option *flip = gcam_cfg_find(&cfg.sections[0], "flip");
    net->flip = flip ? atoi(flip->value) : 1;
    gcam_cfg_free(&cfg);
    if (complete_batchnorm_layers(dn, err)) {
        gcam_net_free(net);
        return -1;
    }

    /* Darknet initialised the parameters with rand(); replace that with our seeded
     * initialisation so a run does not depend on what else the process drew. */
    gcam_darknet_init_weights(dn, options->init_seed);
    int n_layers = options->weights_layers;
    if (n_layers > dn->n) {
        gcam_fail(err, "-weights_layers %d: the network has only %d layers", n_layers, dn->n);
        gcam_net_free(net);
        return -1;
    }
    if (options->weights) {
        if (gcam_weights_load(dn, options->weights, n_layers, err)) {
            gcam_net_free(net);
            return -1;
        }
    }
    if (options->clear) *dn->seen = 0;
    net->classes = dn->outputs;
    net->capacity = net->active = dn->batch;
    net->logits_layer = find_logits_layer(dn);
    net->kernels = options->kernels;
    gcam_kernels_install(dn, options->kernels);
    *out = net;
    return 0;
}

void gcam_darknet_free(network *dn) {
    if (!dn) return;
    /* What Darknet's free_network leaves behind: about 7 MB per load of a ResNet-18. */
    for (int i = 0; i < dn->n; ++i)
        if (dn->layers[i].type == SOFTMAX) free(dn->layers[i].loss);
    free(dn->seen);
    free(dn->t);
    free(dn->cost);
    free(dn->workspace);
    free(dn->steps);
    free(dn->scales);
    free_network(dn);
}

static void free_plans(gcam_net *gnet) {
    for (int i = 0; i < GCAM_PLAN_SLOTS; ++i) {
        gcam_inference_plan_free(gnet->plans[i]);
        gnet->plans[i] = NULL;
    }
}

void gcam_net_free(gcam_net *net) {
    if (!net) return;
    free_plans(net);
    gcam_darknet_free(net->dn);
    free(net->cfg_path);
    free(net);
}

gcam_net_info gcam_net_get_info(const gcam_net *net) {
    const network *dn = net->dn;
    gcam_net_info info = {dn->w,        dn->h,         dn->c, dn->inputs,
                          net->classes, net->capacity, dn->n, net->logits_layer,
                          net->flip,    *dn->seen};
    return info;
}

struct network *gcam_net_darknet(gcam_net *net) {
    return net->dn;
}

void gcam_net_init_weights(gcam_net *net, uint64_t seed) {
    gcam_darknet_init_weights(net->dn, seed);
    gcam_net_weights_changed(net);
}

int gcam_net_randomize_layer(gcam_net *net, int index, uint64_t seed) {
    int had_weights = gcam_layer_randomize(net->dn, index, seed);
    gcam_net_weights_changed(net);
    return had_weights;
}

int gcam_net_save_weights(gcam_net *net, const char *path, gcam_error *err) {
    return gcam_weights_save(net->dn, path, err);
}

void gcam_top_classes(const float *scores, int classes, int k, int *order) {
    /* Insertion into a sorted list of k: a later class displaces an earlier one only
     * with a strictly higher score, so ties keep the lower index first. */
    for (int j = 0; j < k; ++j) order[j] = -1;
    for (int i = 0; i < classes; ++i) {
        int current = i;
        for (int j = 0; j < k; ++j)
            if (order[j] < 0 || scores[current] > scores[order[j]]) {
                int displaced = order[j];
                order[j] = current;
                current = displaced;
                if (current < 0) break;
            }
    }
}

int gcam_darknet_parameters(network *dn, gcam_param_buffer *out) {
    int k = 0;
    for (int i = 0; i < dn->n; ++i) {
        layer *l = &dn->layers[i];
        if (l->type != CONVOLUTIONAL && l->type != CONNECTED) continue;
        size_t nw = l->type == CONVOLUTIONAL ? (size_t)l->nweights : (size_t)l->inputs * l->outputs;
        size_t nb = (size_t)(l->type == CONVOLUTIONAL ? l->n : l->outputs);
        if (out) {
            out[k] = (gcam_param_buffer){l->weights, l->weight_updates, nw};
            out[k + 1] = (gcam_param_buffer){l->biases, l->bias_updates, nb};
            out[k + 2] =
                (gcam_param_buffer){l->scales, l->scale_updates, l->scale_updates ? nb : 0};
        }
        k += 3;
    }
    return k;
}

const float *gcam_net_last_output(const gcam_net *net) {
    return net->dn->layers[net->dn->n - 1].output;
}

const float *gcam_net_last_logits(const gcam_net *net) {
    return net->dn->layers[net->logits_layer].output;
}

double gcam_net_multiply_adds(const gcam_net *net, int first, int last) {
    double total = 0;
    for (int i = first < 0 ? 0 : first; i < last && i < net->dn->n; ++i) {
        const layer *l = &net->dn->layers[i];
        if (l->type == CONVOLUTIONAL)
            total += (double)l->out_h * l->out_w * l->n * (l->c / l->groups) * l->size * l->size;
        else if (l->type == CONNECTED)
            total += (double)l->inputs * l->outputs;
    }
    return total;
}

float gcam_class_probability(const gcam_net *net, const float *out, int i, int c) {
    const network *dn = net->dn;
    if (dn->layers[dn->n - 1].type == SOFTMAX) return out[(size_t)i * net->classes + c];
    const layer *logits = &dn->layers[net->logits_layer];
    const float *z = logits->output + (size_t)i * logits->outputs;
    float max = z[0], sum = 0;
    for (int k = 1; k < logits->outputs; ++k) max = fmaxf(max, z[k]);
    for (int k = 0; k < logits->outputs; ++k) sum += expf(z[k] - max);
    return expf(z[c] - max) / sum;
}

/* Runs layers on the first n images only. Lowering the batch is safe in Darknet (raising
 * it above the parsed one is not: buffers are never reallocated). */
static void use_batch(network *dn, int n) {
    dn->batch = n;
    for (int i = 0; i < dn->n; ++i) dn->layers[i].batch = n;
}

/* Inference-mode forward of layers [first, n) on n images, layer first reading input. */
static void forward_layers(network *dn, int first, float *input, int n) {
    use_batch(dn, n);
    network net = *dn;
    net.train = 0;
    net.truth = NULL;
    net.delta = NULL;
    net.input = input;
    for (int i = first; i < net.n; ++i) {
        net.index = i;
        layer l = net.layers[i];
        l.forward(l, net);
        net.input = l.output;
    }
}

static int clamp_images(const gcam_net *gnet, int n) {
    return n > gnet->capacity ? gnet->capacity : n < 1 ? 1 : n;
}

const float *gcam_net_predict(gcam_net *gnet, const float *input, int n) {
    network *dn = gnet->dn;
    n = clamp_images(gnet, n);
    gnet->active = n;
    memcpy(dn->input, input, sizeof(float) * (size_t)dn->inputs * n);
    forward_layers(dn, 0, dn->input, n);
    use_batch(dn, gnet->capacity);
    return dn->layers[dn->n - 1].output;
}

void gcam_net_weights_changed(gcam_net *gnet) {
    ++gnet->weights_generation;
}

/* The plan for n images covering at most `limit` layers, with the current weights: made on
 * first use (replacing the least recently used), given the weights again when they
 * changed since it copied them, moved to the front of the list. NULL when there is none
 * to be had. */
static gcam_inference_plan *plan_for(gcam_net *gnet, int n, int limit) {
    if (gnet->plan_failed || gnet->kernels != GCAM_KERNELS_FAST) return NULL;
    int at = -1;
    for (int i = 0; i < GCAM_PLAN_SLOTS && at < 0; ++i)
        if (gnet->plans[i] && gcam_inference_plan_batch(gnet->plans[i]) == n &&
            gcam_inference_plan_limit(gnet->plans[i]) == limit)
            at = i;
    if (at < 0) {
        gcam_inference_plan *plan = gcam_inference_plan_create(gnet->dn, n, limit);
        if (!plan) {
            gnet->plan_failed = 1; /* its first layer: no plan for any batch or limit */
            return NULL;
        }
        at = GCAM_PLAN_SLOTS - 1;
        gcam_inference_plan_free(gnet->plans[at]);
        gnet->plans[at] = plan;
        gnet->plan_generation[at] = gnet->weights_generation;
        gnet->plan_digest[at] = gcam_inference_plan_weights_digest(plan);
    } else {
        uint64_t digest = gcam_inference_plan_weights_digest(gnet->plans[at]);
        if (gnet->plan_generation[at] != gnet->weights_generation ||
            gnet->plan_digest[at] != digest) {
            if (gcam_inference_plan_prepare_weights(gnet->plans[at])) {
                free_plans(gnet);
                gnet->plan_failed = 1;
                return NULL;
            }
            gnet->plan_generation[at] = gnet->weights_generation;
            gnet->plan_digest[at] = digest;
        }
    }
    gcam_inference_plan *found = gnet->plans[at];
    uint64_t generation = gnet->plan_generation[at], digest = gnet->plan_digest[at];
    for (int i = at; i > 0; --i) {
        gnet->plans[i] = gnet->plans[i - 1];
        gnet->plan_generation[i] = gnet->plan_generation[i - 1];
        gnet->plan_digest[i] = gnet->plan_digest[i - 1];
    }
    gnet->plans[0] = found, gnet->plan_generation[0] = generation, gnet->plan_digest[0] = digest;
    return found;
}

/* A forward through a plan covering at most `limit` layers and then the rest layer by layer;
 * gcam_net_predict where there is no plan. */
static const float *forward_planned(gcam_net *gnet, const float *input, int n, int limit) {
    network *dn = gnet->dn;
    n = clamp_images(gnet, n);
    gcam_inference_plan *plan = plan_for(gnet, n, limit);
    if (!plan || gcam_inference_plan_run(plan, input)) return gcam_net_predict(gnet, input, n);
    gnet->active = n;
    int covered = gcam_inference_plan_covered(plan);
    forward_layers(dn, covered, dn->layers[covered - 1].output, n);
    use_batch(dn, gnet->capacity);
    return dn->layers[dn->n - 1].output;
}

const float *gcam_net_scores(gcam_net *gnet, const float *input, int n) {
    return forward_planned(gnet, input, n, gnet->dn->n);
}

const float *gcam_net_predict_keeping(gcam_net *gnet, const float *input, int n, int keep_from) {
    if (keep_from < 1) return gcam_net_predict(gnet, input, n);
    return forward_planned(gnet, input, n, keep_from + 1);
}

const float *gcam_net_backward_from(gcam_net *gnet, int seed_layer, const float *seed,
                                    int target_layer) {
    network *dn = gnet->dn;
    use_batch(dn, gnet->active);
    /* Every delta is cleared: later layers' gradients are added into earlier ones, and a
     * shortcut may reach below the target layer. */
    for (int i = 0; i <= seed_layer; ++i) {
        layer *l = &dn->layers[i];
        if (l->delta && l->type != DROPOUT)
            memset(l->delta, 0, sizeof(float) * (size_t)l->outputs * l->batch);
    }
    layer *top = &dn->layers[seed_layer];
    memcpy(top->delta, seed, sizeof(float) * (size_t)top->outputs * top->batch);
    network net = *dn;
    net.train = 0;
    for (int i = seed_layer; i > target_layer; --i) {
        net.index = i;
        net.input = dn->layers[i - 1].output;
        net.delta = dn->layers[i - 1].delta;
        layer l = dn->layers[i];
        l.backward(l, net);
    }
    use_batch(dn, gnet->capacity);
    return dn->layers[target_layer].delta;
}
