/* The [gcam] keys of gcam-train: one table gives each key's type, range, field and help,
 * and serves the cfg reader, the command line's -set and --help alike. */
#include "train.h"

#include "cfg.h"
#include "error.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef enum key_kind {
    KEY_PATH,   /* char[GCAM_PATH_MAX] */
    KEY_LONG,   /* long */
    KEY_INT,    /* int */
    KEY_FLOAT,  /* float */
    KEY_CHOICE, /* int (or enum): the value's index in `choices` */
    KEY_LAYER   /* int: "auto" or a layer index, negative from the end */
} key_kind;

typedef struct setting_spec {
    const char *key;
    key_kind kind;
    double min, max;
    size_t offset;
    const char *choices; /* "a|b|c" for KEY_CHOICE */
    const char *help;
} setting_spec;

#define FIELD(f) offsetof(gcam_train_options, f)
#define SPEC(k, kind, lo, hi, f, choices, h)                                                       \
    { k, kind, lo, hi, FIELD(f), choices, h }

static const setting_spec specs[] = {
    SPEC("data", KEY_PATH, 0, 0, data_path, NULL, "Darknet .data file"),
    SPEC("backup", KEY_PATH, 0, 0, backup_dir, NULL, "checkpoint folder"),
    SPEC("weights", KEY_PATH, 0, 0, weights, NULL, "weights to start from"),
    SPEC("seed", KEY_LONG, 0, 0x7fffffffL, seed, NULL, "random seed"),
    SPEC("threads", KEY_INT, 1, 64, threads, NULL, "loader threads"),
    SPEC("max_batches", KEY_LONG, 1, 1e9, max_batches, NULL, "iterations to train (0: the cfg's)"),
    SPEC("valid_every", KEY_LONG, 0, 1e9, valid_every, NULL, "iterations between validations"),
    SPEC("checkpoint_every", KEY_LONG, 1, 1e9, checkpoint_every, NULL,
         "iterations between _last checkpoints"),
    SPEC("save_every", KEY_LONG, 0, 1e9, save_every, NULL, "iterations between numbered saves"),
    SPEC("saliency", KEY_INT, 0, 1, saliency, NULL, "1: saliency-guided augmentation"),
    SPEC("saliency_every", KEY_LONG, 1, 1e9, saliency_every, NULL,
         "iterations between map refreshes"),
    SPEC("saliency_images", KEY_LONG, 0, 1e6, saliency_images, NULL,
         "images of the batch refreshed, at most (0: all)"),
    SPEC("saliency_method", KEY_CHOICE, 0, 0, saliency_options.method,
         "groupcam|gradcam|gradcampp|igcam|scorecam|rise", "saliency method"),
    SPEC("saliency_layer", KEY_LAYER, 0, 0, saliency_options.layer, NULL,
         "target layer, negative from the end, or auto"),
    SPEC("saliency_groups", KEY_INT, 1, 4096, saliency_options.groups, NULL, "Group-CAM groups"),
    SPEC("saliency_map_size", KEY_INT, 2, 256, guided.map_size, NULL,
         "cached map side (bytes per image: side^2 + 4)"),
    SPEC("saliency_guide", KEY_CHOICE, 0, 0, guided.source, "saliency|shuffled",
         "shuffled: other images' maps (the unguided control)"),
    SPEC("crop_prob", KEY_FLOAT, 0, 1, guided.crop_prob, NULL, "saliency crop probability"),
    SPEC("crop_threshold", KEY_FLOAT, 0.01, 1, guided.crop_threshold, NULL,
         "crop box: cells >= threshold * max"),
    SPEC("crop_enlarge", KEY_FLOAT, 1, 4, guided.crop_enlarge, NULL,
         "box side enlarged by up to this factor"),
    SPEC("crop_jitter", KEY_FLOAT, 0, 1, guided.crop_jitter, NULL,
         "box centre moved by up to this fraction of its side"),
    SPEC("crop_min_size", KEY_FLOAT, 0.05, 1, guided.crop_min_size, NULL,
         "smallest box side, fraction of the shorter image side"),
    SPEC("drop_prob", KEY_FLOAT, 0, 1, guided.drop_prob, NULL, "drop mask probability"),
    SPEC("drop_threshold", KEY_FLOAT, 0.01, 1, guided.drop_threshold, NULL,
         "erase pixels >= threshold * max"),
    SPEC("drop_fill", KEY_CHOICE, 0, 0, guided.drop_fill, "mean|blur", "erase with"),
    SPEC("keep_prob", KEY_FLOAT, 0, 1, guided.keep_prob, NULL, "keep mask probability"),
    SPEC("keep_threshold", KEY_FLOAT, 0.01, 1, guided.keep_threshold, NULL,
         "keep pixels >= threshold * max, blur the rest"),
    SPEC("cutout_prob", KEY_FLOAT, 0, 1, guided.cutout_prob, NULL,
         "saliency-aware cutout probability"),
    SPEC("cutout_size", KEY_FLOAT, 0.05, 1, guided.cutout_size, NULL,
         "cutout side, fraction of the input side"),
    SPEC("cutout_threshold", KEY_FLOAT, 0.01, 1, guided.cutout_threshold, NULL,
         "cut only where mean saliency < threshold * max"),
    SPEC("heatmap_every", KEY_LONG, 0, 1e9, heatmap_every, NULL,
         "iterations between <backup>/heatmaps/<iter>.png (0: never)"),
    SPEC("heatmap_images", KEY_LONG, 1, 64, heatmap_images, NULL,
         "validation images in each heatmap grid"),
};

#define N_SPECS (sizeof specs / sizeof *specs)

void gcam_train_options_default(gcam_train_options *o, const char *cfg_path) {
    memset(o, 0, sizeof *o);
    snprintf(o->cfg_path, sizeof o->cfg_path, "%s", cfg_path);
    o->seed = 1;
    o->threads = 2;
    o->checkpoint_every = 100;
    o->save_every = 1000;
    o->saliency_every = 10;
    gcam_saliency_options_default(&o->saliency_options);
    /* 8 groups and up to 32 images a refresh keep the refresh at 17-21 % of the
     * training time at saliency_every=10 (bench/bench_guided.sh); the budget is
     * 25 %. 32 groups on all 64 images would double the run. */
    o->saliency_options.groups = 8;
    o->saliency_images = 32;
    gcam_guided_config_default(&o->guided);
    o->heatmap_every = 1000;
    o->heatmap_images = 8;
}

/* Index of word in "a|b|c", or -1. */
static int choice_index(const char *choices, const char *word) {
    size_t len = strlen(word);
    int index = 0;
    for (const char *p = choices; *p; ++index) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == len && !strncmp(p, word, n)) return index;
        if (!bar) break;
        p = bar + 1;
    }
    return -1;
}

int gcam_train_options_set(gcam_train_options *o, const char *key, const char *value,
                           const char *where, gcam_error *err) {
    const setting_spec *spec = NULL;
    for (size_t k = 0; k < N_SPECS; ++k)
        if (!strcmp(specs[k].key, key)) spec = &specs[k];
    if (!spec) return gcam_fail(err, "%s: [gcam] unknown key '%s'", where, key);
    char *field = (char *)o + spec->offset;
    char *end;
    errno = 0;
    switch (spec->kind) {
    case KEY_PATH:
        if (strlen(value) >= GCAM_PATH_MAX)
            return gcam_fail(err, "%s: [gcam] %s: path too long", where, key);
        strcpy(field, value);
        return 0;
    case KEY_LONG:
    case KEY_INT: {
        long v = strtol(value, &end, 10);
        if (errno || *end || end == value || v < spec->min || v > spec->max)
            return gcam_fail(err, "%s: [gcam] %s=%s: expected an integer in [%.0f, %.0f]", where,
                             key, value, spec->min, spec->max);
        if (spec->kind == KEY_INT)
            *(int *)field = (int)v;
        else
            *(long *)field = v;
        return 0;
    }
    case KEY_FLOAT: {
        double v = strtod(value, &end);
        if (errno || *end || end == value || !isfinite(v) || v < spec->min || v > spec->max)
            return gcam_fail(err, "%s: [gcam] %s=%s: expected a number in [%g, %g]", where, key,
                             value, spec->min, spec->max);
        *(float *)field = (float)v;
        return 0;
    }
    case KEY_CHOICE: {
        int index = choice_index(spec->choices, value);
        if (index < 0)
            return gcam_fail(err, "%s: [gcam] %s=%s: expected one of %s", where, key, value,
                             spec->choices);
        *(int *)field = index;
        return 0;
    }
    case KEY_LAYER: {
        if (!strcmp(value, "auto")) {
            *(int *)field = GCAM_LAYER_AUTO;
            return 0;
        }
        long v = strtol(value, &end, 10);
        if (errno || *end || end == value || v < -100000 || v > 100000)
            return gcam_fail(err, "%s: [gcam] %s=%s: expected auto or a layer index", where, key,
                             value);
        *(int *)field = (int)v;
        return 0;
    }
    }
    return gcam_fail(err, "%s: [gcam] %s: unsupported key type", where, key);
}

int gcam_train_options_set_pair(gcam_train_options *o, const char *pair, const char *where,
                                gcam_error *err) {
    char key[64];
    const char *eq = strchr(pair, '=');
    if (!eq || eq == pair || (size_t)(eq - pair) >= sizeof key)
        return gcam_fail(err, "%s %s: expected KEY=VALUE", where, pair);
    snprintf(key, sizeof key, "%.*s", (int)(eq - pair), pair);
    return gcam_train_options_set(o, key, eq + 1, where, err);
}

int gcam_train_options_from_cfg(gcam_train_options *o, gcam_error *err) {
    gcam_cfg cfg;
    if (cfg_read(&cfg, o->cfg_path, err)) {
        cfg_free(&cfg);
        return -1;
    }
    const cfg_section *s = cfg_gcam_section(&cfg);
    int status = 0;
    for (int i = 0; s && i < s->n_options && !status; ++i) {
        char where[GCAM_PATH_MAX + 32];
        snprintf(where, sizeof where, "%s:%d", o->cfg_path, s->options[i].line);
        status = gcam_train_options_set(o, s->options[i].key, s->options[i].value, where, err);
    }
    cfg_free(&cfg);
    return status;
}

int gcam_train_options_check(const gcam_train_options *o, gcam_error *err) {
    if (!o->saliency) return 0;
    const gcam_guided_config *g = &o->guided;
    if (g->drop_prob + g->keep_prob > 1 + 1e-6f)
        return gcam_fail(err,
                         "%s: [gcam] drop_prob + keep_prob = %g: at most one mask applies to an "
                         "image, so their sum must not exceed 1",
                         o->cfg_path, g->drop_prob + g->keep_prob);
    return 0;
}

void gcam_train_print_keys(FILE *out) {
    gcam_train_options d;
    gcam_train_options_default(&d, "");
    fprintf(out, "[gcam] keys (also -set KEY=VALUE), with their defaults:\n");
    for (size_t k = 0; k < N_SPECS; ++k) {
        const setting_spec *spec = &specs[k];
        const char *field = (const char *)&d + spec->offset;
        char value[64];
        switch (spec->kind) {
        case KEY_PATH:
            snprintf(value, sizeof value, "%s", *field ? field : "-");
            break;
        case KEY_LONG:
            snprintf(value, sizeof value, "%ld", *(const long *)field);
            break;
        case KEY_INT:
            snprintf(value, sizeof value, "%d", *(const int *)field);
            break;
        case KEY_FLOAT:
            snprintf(value, sizeof value, "%g", *(const float *)field);
            break;
        case KEY_CHOICE: {
            int index = *(const int *)field;
            const char *p = spec->choices;
            for (int i = 0; i < index; ++i) p = strchr(p, '|') + 1;
            const char *bar = strchr(p, '|');
            snprintf(value, sizeof value, "%.*s", bar ? (int)(bar - p) : (int)strlen(p), p);
            break;
        }
        case KEY_LAYER:
            snprintf(value, sizeof value, "auto");
            break;
        }
        fprintf(out, "  %-18s %-9s %s", spec->key, value, spec->help);
        if (spec->kind == KEY_CHOICE) fprintf(out, " (%s)", spec->choices);
        fputc('\n', out);
    }
}
