/* Validation of a Darknet cfg before Darknet parses it. Darknet silently ignores unknown
 * keys, exits 0 on missing files, and aborts, divides by zero or reads out of bounds on
 * many bad values (a stride of 0, a route to a missing layer, subdivisions=0, ...).
 * Here every section and key is checked against what gcam supports, and every layer's
 * shape is propagated so that references and sizes are known to fit. */
#include "cfg.h"

#include "error.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { KEY_INT, KEY_FLOAT, KEY_CHOICE, KEY_INT_LIST, KEY_FLOAT_LIST } key_kind;

typedef struct key_spec {
    const char *key;
    key_kind kind;
    double min, max;            /* inclusive range for numbers (and list items) */
    const char *const *choices; /* NULL-terminated, for KEY_CHOICE */
} key_spec;

typedef enum {
    SEC_NET,
    SEC_CONV,
    SEC_CONNECTED,
    SEC_MAXPOOL,
    SEC_AVGPOOL,
    SEC_SOFTMAX,
    SEC_COST,
    SEC_ROUTE,
    SEC_SHORTCUT,
    SEC_DROPOUT,
    SEC_BATCHNORM,
    SEC_UNSUPPORTED
} section_kind;

static const char *const activations[] = {"logistic", "loggy", "relu",    "elu",   "selu",
                                          "relie",    "plse",  "hardtan", "lhtan", "linear",
                                          "ramp",     "leaky", "tanh",    "stair", NULL};
static const char *const policies[] = {"constant", "step",    "steps",  "exp",
                                       "poly",     "sigmoid", "random", NULL};
static const char *const cost_types[] = {"sse", "masked", "L1", "seg", "smooth", "wgan", NULL};

#define BIG 1e9
#define END                                                                                        \
    { NULL, KEY_INT, 0, 0, NULL }

/* Keys Darknet reads for every layer section. dontload, dontsave, numload and
 * dontloadscales change the weights layout and are refused (see unsupported_keys). */
static const key_spec layer_common[] = {
    {"stopbackward", KEY_INT, 0, BIG, NULL}, {"learning_rate", KEY_FLOAT, 0, BIG, NULL},
    {"onlyforward", KEY_INT, 0, 1, NULL},    {"smooth", KEY_FLOAT, 0, 1, NULL},
    {"truth", KEY_INT, 0, 1, NULL},          END};

static const key_spec net_keys[] = {{"batch", KEY_INT, 1, 1 << 20, NULL},
                                    {"subdivisions", KEY_INT, 1, 1 << 20, NULL},
                                    {"learning_rate", KEY_FLOAT, 0, 10, NULL},
                                    {"momentum", KEY_FLOAT, 0, 1, NULL},
                                    {"decay", KEY_FLOAT, 0, 1, NULL},
                                    {"time_steps", KEY_INT, 1, 1, NULL},
                                    {"notruth", KEY_INT, 0, 1, NULL},
                                    {"random", KEY_INT, 0, 1, NULL},
                                    {"adam", KEY_INT, 0, 1, NULL},
                                    {"B1", KEY_FLOAT, 0, 1, NULL},
                                    {"B2", KEY_FLOAT, 0, 1, NULL},
                                    {"eps", KEY_FLOAT, 0, 1, NULL},
                                    {"height", KEY_INT, 1, 16384, NULL},
                                    {"width", KEY_INT, 1, 16384, NULL},
                                    {"channels", KEY_INT, 1, 4096, NULL},
                                    {"inputs", KEY_INT, 1, BIG, NULL},
                                    {"max_crop", KEY_INT, 1, 65536, NULL},
                                    {"min_crop", KEY_INT, 1, 65536, NULL},
                                    {"max_ratio", KEY_FLOAT, 0, 100, NULL},
                                    {"min_ratio", KEY_FLOAT, 0, 100, NULL},
                                    {"center", KEY_INT, 0, 1, NULL},
                                    {"clip", KEY_FLOAT, 0, BIG, NULL},
                                    {"angle", KEY_FLOAT, 0, 180, NULL},
                                    {"aspect", KEY_FLOAT, 0.01, 100, NULL},
                                    {"saturation", KEY_FLOAT, 0.01, 100, NULL},
                                    {"exposure", KEY_FLOAT, 0.01, 100, NULL},
                                    {"hue", KEY_FLOAT, 0, 1, NULL},
                                    {"policy", KEY_CHOICE, 0, 0, policies},
                                    {"burn_in", KEY_INT, 0, BIG, NULL},
                                    {"power", KEY_FLOAT, 0, 100, NULL},
                                    {"step", KEY_INT, 1, BIG, NULL},
                                    {"scale", KEY_FLOAT, 0, BIG, NULL},
                                    {"steps", KEY_INT_LIST, -1, BIG, NULL},
                                    {"scales", KEY_FLOAT_LIST, 0, BIG, NULL},
                                    {"gamma", KEY_FLOAT, -BIG, BIG, NULL},
                                    {"max_batches", KEY_INT, 0, BIG, NULL},
                                    /* read by gcam; Darknet's classifier always flips */
                                    {"flip", KEY_INT, 0, 1, NULL},
                                    END};

static const key_spec conv_keys[] = {{"filters", KEY_INT, 1, 1 << 16, NULL},
                                     {"size", KEY_INT, 1, 64, NULL},
                                     {"stride", KEY_INT, 1, 64, NULL},
                                     {"pad", KEY_INT, 0, 1, NULL},
                                     {"padding", KEY_INT, 0, 64, NULL},
                                     {"groups", KEY_INT, 1, 1 << 16, NULL},
                                     {"activation", KEY_CHOICE, 0, 0, activations},
                                     {"batch_normalize", KEY_INT, 0, 1, NULL},
                                     {"dot", KEY_FLOAT, -BIG, BIG, NULL},
                                     END};

static const key_spec connected_keys[] = {{"output", KEY_INT, 1, 1 << 24, NULL},
                                          {"activation", KEY_CHOICE, 0, 0, activations},
                                          {"batch_normalize", KEY_INT, 0, 1, NULL},
                                          END};

static const key_spec maxpool_keys[] = {{"stride", KEY_INT, 1, 64, NULL},
                                        {"size", KEY_INT, 1, 64, NULL},
                                        {"padding", KEY_INT, 0, 64, NULL},
                                        END};

static const key_spec softmax_keys[] = {{"groups", KEY_INT, 1, 1 << 24, NULL},
                                        {"temperature", KEY_FLOAT, 1e-6, 1e6, NULL},
                                        {"spatial", KEY_FLOAT, 0, 1, NULL},
                                        {"noloss", KEY_INT, 0, 1, NULL},
                                        END};

static const key_spec cost_keys[] = {
    {"type", KEY_CHOICE, 0, 0, cost_types}, {"scale", KEY_FLOAT, 0, BIG, NULL},
    {"ratio", KEY_FLOAT, 0, 1, NULL},       {"noobj", KEY_FLOAT, 0, BIG, NULL},
    {"thresh", KEY_FLOAT, 0, BIG, NULL},    END};

static const key_spec route_keys[] = {{"layers", KEY_INT_LIST, -BIG, BIG, NULL}, END};

static const key_spec shortcut_keys[] = {{"from", KEY_INT, -BIG, BIG, NULL},
                                         {"activation", KEY_CHOICE, 0, 0, activations},
                                         {"alpha", KEY_FLOAT, -BIG, BIG, NULL},
                                         {"beta", KEY_FLOAT, -BIG, BIG, NULL},
                                         END};

static const key_spec dropout_keys[] = {{"probability", KEY_FLOAT, 0, 0.999, NULL}, END};
static const key_spec no_keys[] = {END};

/* Keys Darknet accepts but gcam refuses, with the reason shown to the user. */
static const char *const unsupported_keys[][2] = {{"dontload", "changes the weights layout"},
                                                  {"dontsave", "changes the weights layout"},
                                                  {"numload", "changes the weights layout"},
                                                  {"dontloadscales", "changes the weights layout"},
                                                  {"binary", "binary weights are not supported"},
                                                  {"xnor", "XNOR layers are not supported"},
                                                  {"flipped", "changes the weights layout"},
                                                  {"tree", "hierarchical softmax is not supported"},
                                                  {NULL, NULL}};

typedef struct section_info {
    const char *names[3];
    section_kind kind;
    const key_spec *keys;
} section_info;

static const section_info section_table[] = {
    {{"net", "network"}, SEC_NET, net_keys},
    {{"convolutional", "conv"}, SEC_CONV, conv_keys},
    {{"connected", "conn"}, SEC_CONNECTED, connected_keys},
    {{"maxpool", "max"}, SEC_MAXPOOL, maxpool_keys},
    {{"avgpool", "avg"}, SEC_AVGPOOL, no_keys},
    {{"softmax", "soft"}, SEC_SOFTMAX, softmax_keys},
    {{"cost"}, SEC_COST, cost_keys},
    {{"route"}, SEC_ROUTE, route_keys},
    {{"shortcut"}, SEC_SHORTCUT, shortcut_keys},
    {{"dropout"}, SEC_DROPOUT, dropout_keys},
    {{"batchnorm"}, SEC_BATCHNORM, no_keys},
};

/* Section names Darknet knows but gcam does not run. */
static const char *const darknet_only_sections[] = {"deconvolutional",
                                                    "deconv",
                                                    "local",
                                                    "crop",
                                                    "activation",
                                                    "normalization",
                                                    "lrn",
                                                    "upsample",
                                                    "reorg",
                                                    "l2norm",
                                                    "logistic",
                                                    "detection",
                                                    "region",
                                                    "yolo",
                                                    "iseg",
                                                    "crnn",
                                                    "gru",
                                                    "lstm",
                                                    "rnn",
                                                    NULL};

static const section_info *find_section(const char *name) {
    for (size_t i = 0; i < sizeof section_table / sizeof *section_table; ++i)
        for (int j = 0; j < 3 && section_table[i].names[j]; ++j)
            if (strcmp(section_table[i].names[j], name) == 0) return &section_table[i];
    return NULL;
}

static const key_spec *find_key(const key_spec *keys, const char *key) {
    for (; keys->key; ++keys)
        if (strcmp(keys->key, key) == 0) return keys;
    return NULL;
}

static int parse_number(const char *text, int integer, double *out) {
    if (!*text) return 0;
    char *end;
    errno = 0;
    if (integer) {
        long v = strtol(text, &end, 10);
        *out = (double)v;
    } else {
        *out = strtod(text, &end);
    }
    return errno == 0 && *end == '\0' && isfinite(*out);
}

typedef struct cfg_ctx {
    const gcam_cfg *cfg;
    gcam_error *err;
} cfg_ctx;

static int bad_value(cfg_ctx *cx, const gcam_cfg_section *s, const gcam_cfg_option *o,
                     const char *why) {
    return gcam_fail(cx->err, "%s:%d: [%s] %s=%s: %s", cx->cfg->path, o->line, s->name, o->key,
                     o->value, why);
}

static int check_value(cfg_ctx *cx, const gcam_cfg_section *s, const gcam_cfg_option *o,
                       const key_spec *spec) {
    char why[160];
    if (spec->kind == KEY_CHOICE) {
        for (const char *const *c = spec->choices; *c; ++c)
            if (strcmp(*c, o->value) == 0) return 0;
        size_t used = (size_t)snprintf(why, sizeof why, "expected one of");
        for (const char *const *c = spec->choices; *c && used < sizeof why; ++c)
            used += (size_t)snprintf(why + used, sizeof why - used, " %s", *c);
        return bad_value(cx, s, o, why);
    }
    int integer = spec->kind == KEY_INT || spec->kind == KEY_INT_LIST;
    int list = spec->kind == KEY_INT_LIST || spec->kind == KEY_FLOAT_LIST;
    char *copy = gcam_xstrdup(o->value);
    int status = 0;
    char *save = NULL;
    int items = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok && !status;
         tok = strtok_r(NULL, ",", &save), ++items) {
        double v;
        if (!parse_number(tok, integer, &v)) {
            snprintf(why, sizeof why, "'%s' is not %s", tok, integer ? "an integer" : "a number");
            status = bad_value(cx, s, o, why);
        } else if (v < spec->min || v > spec->max) {
            snprintf(why, sizeof why, "%g is out of range [%g, %g]", v, spec->min, spec->max);
            status = bad_value(cx, s, o, why);
        }
    }
    if (!status && (items == 0 || (!list && items != 1)))
        status =
            bad_value(cx, s, o, list ? "expected a comma-separated list" : "expected one value");
    free(copy);
    return status;
}

static int check_keys(cfg_ctx *cx, const gcam_cfg_section *s, const section_info *info) {
    for (int i = 0; i < s->n_options; ++i) {
        const gcam_cfg_option *o = &s->options[i];
        for (int u = 0; unsupported_keys[u][0]; ++u)
            if (strcmp(unsupported_keys[u][0], o->key) == 0)
                return gcam_fail(cx->err, "%s:%d: [%s] key '%s' is not supported: %s",
                                 cx->cfg->path, o->line, s->name, o->key, unsupported_keys[u][1]);
        const key_spec *spec = find_key(info->keys, o->key);
        if (!spec && info->kind != SEC_NET) spec = find_key(layer_common, o->key);
        if (!spec)
            return gcam_fail(cx->err, "%s:%d: [%s] unknown key '%s'", cx->cfg->path, o->line,
                             s->name, o->key);
        if (check_value(cx, s, o, spec)) return -1;
    }
    return 0;
}

static int get_int(const gcam_cfg_section *s, const char *key, int def) {
    const gcam_cfg_option *o = gcam_cfg_find(s, key);
    return o ? atoi(o->value) : def;
}

/* Output shape of one layer, as Darknet will compute it. */
typedef struct shape {
    int h, w, c;
    long outputs;
    double params;    /* weights and biases */
    double workspace; /* im2col floats of one image */
} shape;

static int check_net(cfg_ctx *cx, const gcam_cfg_section *s, shape *in) {
    const char *path = cx->cfg->path;
    in->h = get_int(s, "height", 0);
    in->w = get_int(s, "width", 0);
    in->c = get_int(s, "channels", 0);
    if (!in->h || !in->w || !in->c)
        return gcam_fail(cx->err, "%s:%d: [%s] needs height, width and channels", path, s->line,
                         s->name);
    in->outputs = (long)in->h * in->w * in->c;
    int batch = get_int(s, "batch", 1), subdivisions = get_int(s, "subdivisions", 1);
    if (batch % subdivisions != 0)
        return gcam_fail(cx->err, "%s:%d: [%s] batch=%d is not a multiple of subdivisions=%d", path,
                         s->line, s->name, batch, subdivisions);
    const gcam_cfg_option *adam = gcam_cfg_find(s, "adam");
    if (adam && atoi(adam->value) != 0)
        return gcam_fail(cx->err,
                         "%s:%d: [%s] adam=1 is not supported: Darknet's CPU code "
                         "silently trains with SGD instead",
                         path, adam->line, s->name);
    const gcam_cfg_option *policy = gcam_cfg_find(s, "policy");
    if (policy && strcmp(policy->value, "steps") == 0) {
        const gcam_cfg_option *steps = gcam_cfg_find(s, "steps"),
                              *scales = gcam_cfg_find(s, "scales");
        if (!steps || !scales)
            return gcam_fail(cx->err, "%s:%d: policy=steps needs both steps= and scales=", path,
                             policy->line);
        int n_steps = 1, n_scales = 1;
        for (const char *p = steps->value; *p; ++p) n_steps += *p == ',';
        for (const char *p = scales->value; *p; ++p) n_scales += *p == ',';
        if (n_steps != n_scales)
            return gcam_fail(cx->err, "%s:%d: steps has %d entries but scales has %d", path,
                             scales->line, n_steps, n_scales);
    }
    return 0;
}

static int fail_layer(cfg_ctx *cx, const gcam_cfg_section *s, int index, const char *fmt, long a,
                      long b) {
    char why[256];
    snprintf(why, sizeof why, fmt, a, b);
    return gcam_fail(cx->err, "%s:%d: [%s] (layer %d): %s", cx->cfg->path, s->line, s->name, index,
                     why);
}

/* Resolves a layer reference as Darknet does: negative values count back from index. */
static int resolve_ref(cfg_ctx *cx, const gcam_cfg_section *s, int index, int ref, int *out) {
    int target = ref < 0 ? index + ref : ref;
    if (target < 0 || target >= index)
        return fail_layer(cx, s, index,
                          "refers to layer %ld, which is not an earlier layer "
                          "(this is layer %ld)",
                          target, index);
    *out = target;
    return 0;
}

/* Checks one layer and computes its output shape from the previous layer's. */
static int check_layer(cfg_ctx *cx, const gcam_cfg_section *s, section_kind kind, int index,
                       const shape *layers, shape *out) {
    shape in = index == 0 ? layers[-1] : layers[index - 1]; /* layers[-1] is the input */
    int image = in.h > 0 && in.w > 0 && in.c > 0;
    switch (kind) {
    case SEC_CONV: {
        if (!image) return fail_layer(cx, s, index, "needs an image input (h, w, c)%s", 0, 0);
        int size = get_int(s, "size", 1), stride = get_int(s, "stride", 1);
        int pad = get_int(s, "pad", 0) ? size / 2 : get_int(s, "padding", 0);
        int filters = get_int(s, "filters", 1), groups = get_int(s, "groups", 1);
        if (in.c % groups || filters % groups)
            return fail_layer(cx, s, index,
                              "groups=%ld must divide the input channels and "
                              "filters (input channels %ld)",
                              groups, in.c);
        out->h = (in.h + 2 * pad - size) / stride + 1;
        out->w = (in.w + 2 * pad - size) / stride + 1;
        if (in.h + 2 * pad < size || in.w + 2 * pad < size)
            return fail_layer(cx, s, index, "size=%ld is larger than the padded input (%ld)", size,
                              (in.h < in.w ? in.h : in.w) + 2 * pad);
        out->c = filters;
        out->params = (double)filters * size * size * (in.c / groups) + filters;
        out->workspace = (double)out->h * out->w * size * size * (in.c / groups);
        break;
    }
    case SEC_CONNECTED:
        if (in.outputs <= 0) return fail_layer(cx, s, index, "has no inputs%s", 0, 0);
        out->h = out->w = 1;
        out->c = get_int(s, "output", 1);
        out->params = (double)in.outputs * out->c + out->c;
        break;
    case SEC_MAXPOOL: {
        if (!image) return fail_layer(cx, s, index, "needs an image input (h, w, c)%s", 0, 0);
        int stride = get_int(s, "stride", 1), size = get_int(s, "size", stride);
        int padding = get_int(s, "padding", size - 1);
        out->h = (in.h + padding - size) / stride + 1;
        out->w = (in.w + padding - size) / stride + 1;
        out->c = in.c;
        if (in.h + padding < size || in.w + padding < size)
            return fail_layer(cx, s, index, "size=%ld is larger than the padded input (%ld)", size,
                              in.h + padding);
        break;
    }
    case SEC_AVGPOOL:
        if (!image) return fail_layer(cx, s, index, "needs an image input (h, w, c)%s", 0, 0);
        out->h = out->w = 1;
        out->c = in.c;
        break;
    case SEC_SOFTMAX: {
        int groups = get_int(s, "groups", 1);
        if (in.outputs <= 0 || in.outputs % groups)
            return fail_layer(cx, s, index, "groups=%ld must divide its %ld inputs", groups,
                              in.outputs);
        /* Not an image any more: Darknet refuses image layers after it. */
        out->h = out->w = out->c = 0;
        out->outputs = in.outputs;
        return 0;
    }
    case SEC_COST:
    case SEC_DROPOUT:
    case SEC_BATCHNORM:
        if (index == 0 || in.outputs <= 0)
            return fail_layer(cx, s, index, "cannot be the first layer%s", 0, 0);
        *out = in; /* may be a flat vector, e.g. [cost] after [softmax] */
        return 0;
    case SEC_ROUTE: {
        const gcam_cfg_option *o = gcam_cfg_find(s, "layers");
        if (!o) return fail_layer(cx, s, index, "needs layers=%s", 0, 0);
        char *copy = gcam_xstrdup(o->value), *save = NULL;
        int first = 1, status = 0;
        for (char *tok = strtok_r(copy, ",", &save); tok && !status;
             tok = strtok_r(NULL, ",", &save)) {
            int target = 0;
            status = resolve_ref(cx, s, index, atoi(tok), &target);
            if (status) break;
            const shape *t = &layers[target];
            if (first) {
                *out = *t;
                first = 0;
            } else if (t->h != out->h || t->w != out->w) {
                status = fail_layer(cx, s, index,
                                    "inputs differ in size (layer %ld is not the "
                                    "size of the first, layer %ld)",
                                    target, index + atoi(o->value) * (atoi(o->value) < 0));
            } else {
                out->c += t->c;
            }
        }
        free(copy);
        if (status) return -1;
        out->outputs = (long)out->h * out->w * out->c;
        return 0;
    }
    case SEC_SHORTCUT: {
        const gcam_cfg_option *o = gcam_cfg_find(s, "from");
        if (!o) return fail_layer(cx, s, index, "needs from=%s", 0, 0);
        int target = 0;
        if (resolve_ref(cx, s, index, atoi(o->value), &target)) return -1;
        const shape *t = &layers[target];
        /* Darknet's shortcut_cpu asserts that one size is an integer multiple of the other,
         * by the same factor in both directions. */
        int ok = t->w > 0 && in.w > 0 && t->h > 0 && in.h > 0;
        if (ok && t->w >= in.w)
            ok = t->w % in.w == 0 && t->h % in.h == 0 && t->w / in.w == t->h / in.h;
        else if (ok)
            ok = in.w % t->w == 0 && in.h % t->h == 0 && in.w / t->w == in.h / t->h;
        if (!ok)
            return fail_layer(cx, s, index, "cannot add layer %ld's output to a %ld-wide input",
                              target, in.w);
        *out = in;
        break;
    }
    default:
        return -1;
    }
    if (out->h <= 0 || out->w <= 0 || out->c <= 0)
        return fail_layer(cx, s, index, "output would be empty%s", 0, 0);
    out->outputs = (long)out->h * out->w * out->c;
    return 0;
}

int gcam_cfg_validate(const gcam_cfg *cfg, gcam_error *err) {
    return gcam_cfg_validate_estimate(cfg, err, NULL);
}

int gcam_cfg_validate_estimate(const gcam_cfg *cfg, gcam_error *err, gcam_cfg_memory *memory) {
    cfg_ctx cx = {cfg, err};
    gcam_cfg_memory m = {0, 0, 0};
    const gcam_cfg_section *first = &cfg->sections[0];
    const section_info *first_info = find_section(first->name);
    if (!first_info || first_info->kind != SEC_NET)
        return gcam_fail(err, "%s:%d: the first section must be [net], found [%s]", cfg->path,
                         first->line, first->name);
    /* shapes[0] is the network input; shapes[i + 1] the output of layer i. */
    shape *shapes = gcam_xcalloc((size_t)cfg->n_sections + 1, sizeof *shapes);
    int status = check_keys(&cx, first, first_info) || check_net(&cx, first, &shapes[0]);
    int index = 0;
    for (int i = 1; i < cfg->n_sections && !status; ++i) {
        const gcam_cfg_section *s = &cfg->sections[i];
        if (strcmp(s->name, "gcam") == 0) continue;
        const section_info *info = find_section(s->name);
        if (!info) {
            int known = 0;
            for (const char *const *n = darknet_only_sections; *n; ++n)
                known |= !strcmp(*n, s->name);
            status = gcam_fail(err, "%s:%d: section [%s] %s", cfg->path, s->line, s->name,
                               known ? "is a Darknet layer that gcam does not support"
                                     : "is not a known section type");
            break;
        }
        if (info->kind == SEC_NET) {
            status = gcam_fail(err, "%s:%d: a second [%s] section", cfg->path, s->line, s->name);
            break;
        }
        status = check_keys(&cx, s, info) ||
                 check_layer(&cx, s, info->kind, index, shapes + 1, &shapes[index + 1]);
        if (!status) {
            /* Darknet keeps an output and a delta per layer, and batch norm adds two more
             * copies; parameters come with their updates. */
            const shape *o = &shapes[index + 1];
            int bn = get_int(s, "batch_normalize", 0);
            m.per_image_bytes += 4.0 * o->outputs * (bn ? 4 : 2);
            m.fixed_bytes += 4.0 * 2 * o->params;
            if (4.0 * o->workspace > m.workspace_bytes) m.workspace_bytes = 4.0 * o->workspace;
        }
        ++index;
    }
    if (memory) *memory = m;
    if (!status && index == 0) status = gcam_fail(err, "%s: no layers after [net]", cfg->path);
    free(shapes);
    return status ? -1 : 0;
}
