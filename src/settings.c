/* The settings table (see gcam/settings.h): every key of every program, with its flag,
 * type, range, default, help and readers. Defaults are text parsed by the same code as a
 * cfg value, so a default cannot disagree with the range it is checked against, and
 * --help prints exactly what gcam_settings_default sets. */
#include "gcam/settings.h"

#include "cfg.h"
#include "error.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ---- method names ----------------------------------------------------------------- */

static const char *const method_names[] = {
#define GCAM_METHOD_NAME(id, name, title) name,
    GCAM_METHOD_LIST(GCAM_METHOD_NAME)
#undef GCAM_METHOD_NAME
};
static const char *const method_titles[] = {
#define GCAM_METHOD_TITLE(id, name, title) title,
    GCAM_METHOD_LIST(GCAM_METHOD_TITLE)
#undef GCAM_METHOD_TITLE
};

const char *gcam_method_name(gcam_method m) {
    return m >= 0 && m < GCAM_METHOD_COUNT ? method_names[m] : "?";
}

const char *gcam_method_title(gcam_method m) {
    return m >= 0 && m < GCAM_METHOD_COUNT ? method_titles[m] : "?";
}

int gcam_method_from_name(const char *name) {
    for (int m = 0; m < GCAM_METHOD_COUNT; ++m)
        if (!strcmp(name, method_names[m])) return m;
    return -1;
}

/* ---- test-time crop modes ---------------------------------------------------------- */

static const char *const tta_names[] = {"none", "crop", "center", "random", "oracle"};
_Static_assert(sizeof tta_names / sizeof *tta_names == GCAM_TTA_MODE_COUNT,
               "a name for every test-time crop mode");

const char *gcam_tta_mode_name(gcam_tta_mode mode) {
    return mode >= 0 && mode < GCAM_TTA_MODE_COUNT ? tta_names[mode] : "?";
}

/* ---- the table -------------------------------------------------------------------- */

typedef enum value_type {
    VALUE_PATH,    /* char[GCAM_PATH_MAX] */
    VALUE_INT,     /* int */
    VALUE_LONG,    /* long */
    VALUE_ULONG,   /* unsigned long */
    VALUE_FLOAT,   /* float */
    VALUE_BOOL,    /* int 0/1; a flag without a value sets 1 */
    VALUE_CHOICE,  /* int (or an enum): the index of the word in `choices` */
    VALUE_METHOD,  /* gcam_method */
    VALUE_METHODS, /* gcam_method[GCAM_METHOD_COUNT] then int count: a comma list or "all" */
    VALUE_TTA,     /* gcam_tta_mode */
    VALUE_LAYER,   /* int: "auto" or a layer index, negative from the end */
    VALUE_CLASS    /* int: "predicted" (-1) or a class index */
} value_type;

typedef struct setting_spec {
    gcam_setting_info info;
    value_type type;
    double min, max;     /* numbers */
    const char *choices; /* "a|b|c" for VALUE_CHOICE */
    size_t offset;       /* of the field in gcam_settings */
} setting_spec;

enum {
    TRAIN = GCAM_PROGRAM_TRAIN,
    HEATMAP = GCAM_PROGRAM_HEATMAP,
    EVAL = GCAM_PROGRAM_EVAL,
    PREDICT = GCAM_PROGRAM_PREDICT,
    INIT = GCAM_PROGRAM_INIT,
    COMPARE = GCAM_PROGRAM_COMPARE,
    MAPS = TRAIN | HEATMAP | EVAL /* everything that computes saliency maps */
};

_Static_assert(sizeof(gcam_method) == sizeof(int), "enum settings are stored as int");
_Static_assert(sizeof(gcam_guide_source) == sizeof(int), "enum settings are stored as int");
_Static_assert(sizeof(gcam_fill) == sizeof(int), "enum settings are stored as int");
_Static_assert(sizeof(gcam_map_source) == sizeof(int), "enum settings are stored as int");
_Static_assert(sizeof(gcam_mix_box) == sizeof(int), "enum settings are stored as int");
_Static_assert(sizeof(gcam_mix_label) == sizeof(int), "enum settings are stored as int");
_Static_assert(sizeof(gcam_crop_source) == sizeof(int), "enum settings are stored as int");
_Static_assert(sizeof(gcam_tta_mode) == sizeof(int), "enum settings are stored as int");

#define AT(field) offsetof(gcam_settings, field)
/* A row whose flag is its short name: key, flag, placeholder, default, programs, help,
 * type, min, max, choices, field. */
#define ROW_FLAG(key, flag, value_name, def, programs, help, type, lo, hi, choices, field)         \
    { {key, flag, value_name, def, help, programs}, type, lo, hi, choices, AT(field) }
/* A row whose flag is -key. */
#define ROW(key, value_name, def, programs, help, type, lo, hi, choices, field)                    \
    ROW_FLAG(key, "-" key, value_name, def, programs, help, type, lo, hi, choices, field)
#define GUIDED(key, def, help, lo, hi, field)                                                      \
    ROW(key, "F", def, TRAIN, help, VALUE_FLOAT, lo, hi, NULL, train.guided.field)

static const setting_spec specs[] = {
    /* data and runs */
    ROW("data", "DIR|FILE", "", TRAIN | HEATMAP | EVAL | PREDICT,
        "a folder of images by class (DIR/<class>/... or DIR/train/<class>/... with "
        "DIR/valid/<class>/...), or a Darknet .data file (classes, train, valid, labels or "
        "names, backup, top)",
        VALUE_PATH, 0, 0, NULL, data_path),
    ROW("valid_fraction", "F", "0.1", TRAIN | EVAL,
        "a folder without valid/: the share of each class held out for validation (0: none)",
        VALUE_FLOAT, 0, 0.9, NULL, split.valid_fraction),
    ROW("split_seed", "S", "1", TRAIN | EVAL,
        "a folder without valid/: the seed of its split (the same in every program)", VALUE_ULONG,
        0, 4294967295.0, NULL, split.seed),
    ROW("seed", "S", "1", TRAIN | INIT,
        "random seed (shuffling, augmentation, dropout, fresh weights)", VALUE_LONG, 0, 0x7fffffffL,
        NULL, seed),
    ROW("quiet", NULL, "0", TRAIN | EVAL, "no line per iteration, no progress bar", VALUE_BOOL, 0,
        1, NULL, quiet),

    /* gcam-train */
    ROW("weights", "FILE", "", TRAIN | INIT,
        "start from these weights (gcam-train resumes from <cfg>_last.weights)", VALUE_PATH, 0, 0,
        NULL, train.weights),
    ROW("weights_layers", "N", "0", TRAIN | INIT,
        "load only the first N layers of weights, for a new head (0: all)", VALUE_INT, 0, 100000,
        NULL, train.weights_layers),
    ROW("clear", NULL, "0", TRAIN, "reset the images-seen count (start a fine-tuning schedule)",
        VALUE_BOOL, 0, 1, NULL, train.clear),
    ROW("backup", "DIR", "", TRAIN, "checkpoint folder (empty: the .data file's backup=)",
        VALUE_PATH, 0, 0, NULL, train.backup_dir),
    ROW("max_batches", "N", "0", TRAIN, "iterations to train (0: the cfg's max_batches)",
        VALUE_LONG, 0, 1e9, NULL, train.max_batches),
    ROW("threads", "T", "2", TRAIN, "loader threads (one process; under mpirun see rank_threads)",
        VALUE_INT, 1, 64, NULL, train.threads),
    ROW("rank_threads", "T", "0", TRAIN,
        "under mpirun: compute and loader threads of each rank (0: the host's cores / its "
        "ranks)",
        VALUE_INT, 0, 64, NULL, train.rank_threads),
    ROW("sync_bn", NULL, "0", TRAIN,
        "under mpirun: batch norm with the job's batch statistics (summed over the ranks at "
        "every layer) instead of each rank's",
        VALUE_BOOL, 0, 1, NULL, train.sync_bn),
    ROW("valid_every", "N", "0", TRAIN, "iterations between validations (0: each epoch)",
        VALUE_LONG, 0, 1e9, NULL, train.valid_every),
    ROW("checkpoint_every", "N", "100", TRAIN, "iterations between _last checkpoints", VALUE_LONG,
        1, 1e9, NULL, train.checkpoint_every),
    ROW("save_every", "N", "1000", TRAIN, "iterations between <cfg>_<iter>.weights (0: never)",
        VALUE_LONG, 0, 1e9, NULL, train.save_every),
    ROW("saliency", NULL, "0", TRAIN, "saliency-guided augmentation on", VALUE_BOOL, 0, 1, NULL,
        train.saliency),
    ROW("saliency_every", "N", "10", TRAIN, "iterations between map refreshes", VALUE_LONG, 1, 1e9,
        NULL, train.saliency_every),
    ROW("saliency_images", "N", "32", TRAIN, "images of the batch refreshed, at most (0: all)",
        VALUE_LONG, 0, 1e6, NULL, train.saliency_images),
    /* 8 groups and up to 32 images keep a refresh every 10 iterations at 17-21 % of the
     * training time (bench/bench_guided.sh); 32 groups on all 64 images double the run. */
    ROW("refresh_groups", "G", "8", TRAIN,
        "Group-CAM groups of a training refresh (heatmaps use saliency_groups)", VALUE_INT, 1, 4096,
        NULL, train.refresh_groups),
    ROW("saliency_map_size", "N", "16", TRAIN,
        "cached map side (bytes per training image: side^2 + 4)", VALUE_INT, 2, 256, NULL,
        train.guided.map_size),
    ROW("saliency_guide", "G", "saliency", TRAIN,
        "the maps that guide: the images' own; shuffled, other images' (the unguided control of "
        "equal strength); oracle, the ground-truth boxes of train_boxes (the bound); random, "
        "none: the crop is an Inception-style random-resized crop of the source "
        "(random_crop_min_area, random_crop_max_area)",
        VALUE_CHOICE, 0, 0, "saliency|shuffled|oracle|random", train.guided.source),
    ROW("saliency_source", "S", "cache", TRAIN,
        "cache: maps refreshed every saliency_every iterations and kept per image; fresh: maps "
        "of each batch's augmented images, computed just before it trains",
        VALUE_CHOICE, 0, 0, "cache|fresh", train.source),
    ROW("train_boxes", "FILE", "", TRAIN,
        "'path x0 y0 x1 y1' boxes of the training images: the oracle guide, and the maps' "
        "pointing-game hit rate and mass in the box in the log",
        VALUE_PATH, 0, 0, NULL, train.train_boxes),
    ROW("mix_prob", "P", "0", TRAIN,
        "a sample receives a box cut from a partner image of its batch with this probability",
        VALUE_FLOAT, 0, 1, NULL, train.mix_prob),
    ROW("mix_alpha", "A", "1", TRAIN, "box area fraction ~ Beta(alpha, alpha), as CutMix",
        VALUE_FLOAT, 0.01, 100, NULL, train.mix_alpha),
    ROW("mix_box", "B", "random", TRAIN,
        "where the box is cut from the partner: at random, or around its salient region",
        VALUE_CHOICE, 0, 0, "random|saliency", train.mix_box),
    ROW("mix_label", "L", "area", TRAIN,
        "the mixed label's weights: the box's area (CutMix), or the saliency mass each image "
        "keeps (SnapMix)",
        VALUE_CHOICE, 0, 0, "area|saliency", train.mix_label),
    ROW("valid_tta", "T", "none", TRAIN, "test-time crop in validation (oracle needs valid_boxes)",
        VALUE_TTA, 0, 0, NULL, train.valid_tta),
    ROW("valid_boxes", "FILE", "", TRAIN, "'path x0 y0 x1 y1' boxes of the validation images",
        VALUE_PATH, 0, 0, NULL, train.valid_boxes),
    GUIDED("crop_prob", "0.5", "saliency crop probability", 0, 1, crop_prob),
    GUIDED("crop_threshold", "0.5", "crop box: cells >= threshold * max", 0.01, 1, crop_threshold),
    ROW("crop_region", "R", "all", TRAIN,
        "which cells at or above crop_threshold the crop box holds: all of them, or only the "
        "connected region around the map's maximum",
        VALUE_CHOICE, 0, 0, "all|peak", train.guided.crop_region),
    GUIDED("crop_enlarge", "1.5", "box side enlarged by up to this factor", 1, 4, crop_enlarge),
    GUIDED("crop_jitter", "0.1", "box centre moved by up to this fraction of its side", 0, 1,
           crop_jitter),
    GUIDED("crop_min_size", "0.25", "smallest box side, fraction of the shorter image side", 0.05,
           1, crop_min_size),
    GUIDED("random_crop_min_area", "0.08",
           "saliency_guide=random: the crop's smallest share of the image's area (its aspect "
           "ratio is drawn from [3/4, 4/3])",
           0.01, 1, random_crop_min_area),
    GUIDED("random_crop_max_area", "1",
           "saliency_guide=random: the crop's largest share of the image's area", 0.01, 1,
           random_crop_max_area),
    GUIDED("drop_prob", "0", "drop mask probability", 0, 1, drop_prob),
    GUIDED("drop_threshold", "0.6", "erase pixels >= threshold * max", 0.01, 1, drop_threshold),
    ROW("drop_fill", "F", "mean", TRAIN, "what erased pixels become", VALUE_CHOICE, 0, 0,
        "mean|blur", train.guided.drop_fill),
    GUIDED("keep_prob", "0", "keep mask probability", 0, 1, keep_prob),
    GUIDED("keep_threshold", "0.3", "keep pixels >= threshold * max, blur the rest", 0.01, 1,
           keep_threshold),
    GUIDED("cutout_prob", "0", "saliency-aware cutout probability", 0, 1, cutout_prob),
    GUIDED("cutout_size", "0.25", "cutout side, fraction of the input side", 0.05, 1, cutout_size),
    GUIDED("cutout_threshold", "0.2", "cut only where mean saliency < threshold * max", 0.01, 1,
           cutout_threshold),
    ROW("heatmap_every", "N", "1000", TRAIN,
        "iterations between <backup>/heatmaps/<iter>.png (0: never)", VALUE_LONG, 0, 1e9, NULL,
        train.heatmap_every),
    ROW("heatmap_images", "N", "8", TRAIN,
        "validation images in each heatmap grid (at most the batch)", VALUE_LONG, 1, 64, NULL,
        train.heatmap_images),

    /* saliency maps: training refreshes, heatmaps, evaluation */
    ROW_FLAG("saliency_method", "-method", "M", "groupcam", TRAIN | HEATMAP, "saliency method",
             VALUE_METHOD, 0, 0, NULL, saliency.method),
    ROW_FLAG("saliency_layer", "-layer", "L", "auto", MAPS,
             "target layer, negative from the end; auto: the last spatial one before pooling",
             VALUE_LAYER, 0, 0, NULL, saliency.layer),
    ROW_FLAG("saliency_groups", "-groups", "G", "32", HEATMAP | EVAL, "Group-CAM groups", VALUE_INT,
             1, 4096, NULL, saliency.groups),
    ROW_FLAG("saliency_theta", "-theta", "P", "70", MAPS, "Group-CAM de-noising percentile",
             VALUE_FLOAT, 0, 100, NULL, saliency.theta),
    ROW_FLAG("saliency_blur_size", "-blur_size", "K", "0", MAPS,
             "Group-CAM blur kernel size (0: 51 px at 224x224, scaled)", VALUE_INT, 0, 1001, NULL,
             saliency.blur_size),
    ROW_FLAG("saliency_blur_sigma", "-blur_sigma", "S", "0", MAPS,
             "Group-CAM blur sigma (0: 50 at 224x224, scaled)", VALUE_FLOAT, 0, 1e4, NULL,
             saliency.blur_sigma),
    ROW_FLAG("ig_steps", "-steps", "M", "50", MAPS, "Integrated Grad-CAM steps", VALUE_INT, 1,
             10000, NULL, saliency.ig_steps),
    ROW("rise_n", "N", "4000", TRAIN | HEATMAP, "RISE masks", VALUE_INT, 1, 10000000, NULL,
        saliency.rise_n),
    ROW("rise_s", "S", "7", MAPS, "RISE grid size", VALUE_INT, 2, 64, NULL, saliency.rise_s),
    ROW("rise_p", "P", "0.5", MAPS, "RISE cell keep probability", VALUE_FLOAT, 0.001, 1, NULL,
        saliency.rise_p),
    ROW("rise_seed", "S", "0", MAPS, "seed of the RISE masks", VALUE_ULONG, 0, 4294967295.0, NULL,
        saliency.seed),

    /* gcam-heatmap */
    ROW_FLAG("heatmap_dir", "-o", "DIR", "heatmaps", HEATMAP, "output folder", VALUE_PATH, 0, 0,
             NULL, heatmap.out_dir),
    ROW_FLAG("heatmap_class", "-class", "C", "predicted", HEATMAP,
             "class explained: an index, or predicted (each image's own)", VALUE_CLASS, 0, 1e6,
             NULL, heatmap.cls),
    ROW_FLAG("heatmap_raw", "-raw", NULL, "0", HEATMAP,
             "also write <dir>/<stem>_<method>.npy: float32 [H][W] in [0, 1]", VALUE_BOOL, 0, 1,
             NULL, heatmap.raw),
    ROW_FLAG("heatmap_alpha", "-alpha", "A", "0.5", HEATMAP, "overlay opacity", VALUE_FLOAT, 0, 1,
             NULL, heatmap.alpha),
    ROW_FLAG("heatmap_scale", "-scale", "N", "1", HEATMAP,
             "draw each pixel as an N x N block (for small inputs)", VALUE_INT, 1, 64, NULL,
             heatmap.scale),
    ROW_FLAG("heatmap_box", "-box", NULL, "0", HEATMAP,
             "draw the box a test-time crop cuts around the map (tta_threshold, tta_margin; the "
             "first crop when tta_steps is more) and write that crop, cut from the source image, "
             "as <dir>/<stem>_crop.png",
             VALUE_BOOL, 0, 1, NULL, heatmap.box),

    /* gcam-eval */
    ROW_FLAG("eval_methods", "-methods", "LIST", "all", EVAL,
             "comma-separated methods, all (groupcam,gradcam,gradcampp,igcam,scorecam,rise), or "
             "none (the test-time crops' top-1 alone)",
             VALUE_METHODS, 0, 0, NULL, eval.methods),
    ROW_FLAG("eval_dir", "-o", "DIR", "eval", EVAL, "output folder", VALUE_PATH, 0, 0, NULL,
             eval.out_dir),
    ROW_FLAG("eval_limit", "-limit", "N", "0", EVAL,
             "the first N images of the valid= list (0: all)", VALUE_INT, 0, 1e9, NULL, eval.limit),
    ROW_FLAG("eval_boxes", "-boxes", "FILE", "", EVAL,
             "'path x0 y0 x1 y1' lines (image pixels, end exclusive) for the pointing game",
             VALUE_PATH, 0, 0, NULL, eval.boxes),
    ROW_FLAG("eval_step", "-step", "P", "0", EVAL,
             "pixels changed per curve step (0: 1/28 of the input)", VALUE_INT, 0, 1e8, NULL,
             eval.step),
    ROW_FLAG("eval_class", "-class", "C", "true", EVAL, "class explained: true or predicted",
             VALUE_CHOICE, 0, 0, "true|predicted", eval.predicted),
    ROW_FLAG("eval_tolerance", "-tolerance", "T", "0", EVAL,
             "pointing-game tolerance in input pixels (0: 15 at 224, scaled)", VALUE_FLOAT, 0, 1e5,
             NULL, eval.tolerance),
    ROW_FLAG("eval_batch", "-batch", "B", "64", EVAL, "images per forward pass", VALUE_INT, 1, 4096,
             NULL, eval.batch),
    /* RISE is the slowest method by far (one forward per mask): 400 masks keep six methods
     * on 1,000 Fashion-MNIST images within 10 minutes on 2 cores. */
    ROW_FLAG("eval_rise_n", "-rise_n", "N", "400", EVAL, "RISE masks in the evaluation", VALUE_INT,
             1, 10000000, NULL, eval.rise_n),
    ROW_FLAG("eval_sanity", "-sanity", "N", "16", EVAL, "images in the sanity check (0: skip it)",
             VALUE_INT, 0, 4096, NULL, eval.sanity_images),
    ROW_FLAG("eval_sanity_seed", "-sanity_seed", "S", "1", EVAL,
             "seed of the sanity check's weights", VALUE_ULONG, 0, 4294967295.0, NULL,
             eval.sanity_seed),
    ROW_FLAG("eval_gallery", "-gallery", "K", "3", EVAL,
             "best and worst K images per method in the report", VALUE_INT, 0, 50, NULL,
             eval.gallery),
    ROW_FLAG("eval_raw", "-raw", NULL, "0", EVAL,
             "also write every map as <dir>/maps/<stem>_<method>.npy", VALUE_BOOL, 0, 1, NULL,
             eval.raw),
    ROW_FLAG("eval_tta", "-tta", "0|1", "1", EVAL,
             "also the top-1 of each test-time crop (none, crop, center, random, and oracle "
             "with boxes)",
             VALUE_BOOL, 0, 1, NULL, eval.tta),

    /* test-time crops: prediction, evaluation, validation */
    ROW("crop_source", "S", "image", TRAIN | EVAL | PREDICT,
        "where test-time crops and fresh-map training crops take their pixels: the source "
        "image at its own resolution, or the network-sized view zoomed (no added detail)",
        VALUE_CHOICE, 0, 0, "image|view", tta.crop_source),
    ROW("tta_method", "M", "gradcam", TRAIN | EVAL | PREDICT,
        "the map a test-time crop follows, at the predicted class", VALUE_METHOD, 0, 0, NULL,
        tta.method),
    ROW("tta_threshold", "F", "0.5", TRAIN | HEATMAP | EVAL | PREDICT,
        "the crop covers the pixels >= threshold * the map's maximum", VALUE_FLOAT, 0.01, 1, NULL,
        tta.threshold),
    ROW("tta_region", "R", "all", TRAIN | HEATMAP | EVAL | PREDICT,
        "which pixels at or above the threshold the box holds: all of them, or only the "
        "connected region around the map's maximum (a second blob elsewhere is left out)",
        VALUE_CHOICE, 0, 0, "all|peak", tta.region),
    ROW("tta_margin", "F", "1.2", TRAIN | HEATMAP | EVAL | PREDICT,
        "the crop's sides are enlarged by this factor", VALUE_FLOAT, 1, 4, NULL, tta.margin),
    ROW("tta_steps", "K", "1", TRAIN | EVAL | PREDICT,
        "crops in a row: each next box comes from the map of the crop before, cut from the "
        "source again; the logits of the whole image and of every crop are averaged",
        VALUE_INT, 1, 4, NULL, tta.steps),
    ROW("tta_seed", "S", "0", TRAIN | EVAL | PREDICT, "seed of the random control's crops",
        VALUE_ULONG, 0, 4294967295.0, NULL, tta.seed),

    /* gcam-predict */
    ROW_FLAG("predict_top", "-top", "K", "0", PREDICT,
             "classes printed per image (0: the .data file's top=, else 5)", VALUE_INT, 0, 1000000,
             NULL, predict.top),
    ROW_FLAG("predict_probs", "-probs", "OUT", "", PREDICT,
             "write all probabilities as float32 [images][classes] .npy", VALUE_PATH, 0, 0, NULL,
             predict.probs),
    ROW_FLAG("predict_tta", "-tta", "T", "none", PREDICT,
             "test-time crop: the logits of the whole image averaged with a crop's", VALUE_TTA, 0,
             0, NULL, predict.tta),
    /* gcam-compare */
    ROW_FLAG("compare_arms", "-arms", "LIST", "", COMPARE,
             "the arms to compare: run folders <root>/<arm>_s<seed>", VALUE_PATH, 0, 0, NULL,
             compare.arms),
    ROW_FLAG("compare_seeds", "-seeds", "LIST", "1 2 3 4 5", COMPARE, "the seeds of every arm",
             VALUE_PATH, 0, 0, NULL, compare.seeds),
    ROW_FLAG("compare_reference", "-reference", "ARM", "", COMPARE,
             "the arm every other arm is compared with", VALUE_PATH, 0, 0, NULL, compare.reference),
    ROW_FLAG("compare_pairs", "-pairs", "LIST", "", COMPARE,
             "further comparisons, ARM:CONTROL,... (a saliency arm and its control)", VALUE_PATH, 0,
             0, NULL, compare.pairs),
    ROW_FLAG("compare_predictions", "-predictions", "PATH", "test/tta.csv", COMPARE,
             "each run's per-image predictions (gcam-eval's tta.csv), in its folder", VALUE_PATH, 0,
             0, NULL, compare.predictions),
    ROW_FLAG("compare_log", "-log", "PATH", "", COMPARE,
             "each run's training log (gcam-train's CSV), in its folder, for the maps' quality "
             "over time; empty: none",
             VALUE_PATH, 0, 0, NULL, compare.log),
    ROW_FLAG("compare_costs", "-costs", "PATH", "test/tta_cost.csv", COMPARE,
             "each run's cost per test image and mode (gcam-eval's tta_cost.csv), in its folder; "
             "a run without one has no cost",
             VALUE_PATH, 0, 0, NULL, compare.costs),
    ROW_FLAG("compare_pipelines", "-pipelines", "LIST", "", COMPARE,
             "the pipelines ARM@MODE,... of the cost table and of cost.png (top-1 against "
             "multiply-adds per test image); empty: every arm at none and at crop",
             VALUE_PATH, 0, 0, NULL, compare.pipelines),
    ROW_FLAG("compare_dir", "-o", "DIR", "compare", COMPARE, "output folder", VALUE_PATH, 0, 0,
             NULL, compare.out_dir),
    ROW_FLAG("compare_bootstrap", "-bootstrap", "N", "2000", COMPARE,
             "resamples of the test images for the paired intervals", VALUE_INT, 100, 1000000, NULL,
             compare.bootstrap),
    ROW_FLAG("compare_seed", "-seed", "S", "1", COMPARE, "seed of the resampling", VALUE_ULONG, 0,
             4294967295.0, NULL, compare.seed),
    ROW_FLAG("predict_boxes", "-boxes", "FILE", "", PREDICT,
             "'path x0 y0 x1 y1' boxes of the images (-tta oracle)", VALUE_PATH, 0, 0, NULL,
             predict.boxes),
};

#define N_SPECS ((int)(sizeof specs / sizeof *specs))

int gcam_settings_count(void) {
    return N_SPECS;
}

const gcam_setting_info *gcam_settings_row(int i) {
    return i >= 0 && i < N_SPECS ? &specs[i].info : NULL;
}

static const setting_spec *find_key(const char *key) {
    for (int k = 0; k < N_SPECS; ++k)
        if (!strcmp(specs[k].info.key, key)) return &specs[k];
    return NULL;
}

static const setting_spec *find_flag(const char *flag, unsigned program) {
    for (int k = 0; k < N_SPECS; ++k)
        if ((specs[k].info.programs & program) && !strcmp(specs[k].info.flag, flag))
            return &specs[k];
    return NULL;
}

/* ---- values ----------------------------------------------------------------------- */

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

/* The names of a VALUE_METHOD or VALUE_TTA setting, and their count. */
static const char *const *named_values(value_type type, int *count) {
    if (type == VALUE_TTA) {
        *count = GCAM_TTA_MODE_COUNT;
        return tta_names;
    }
    *count = GCAM_METHOD_COUNT;
    return method_names;
}

/* The names of a VALUE_METHOD or VALUE_TTA setting as "a|b|c". */
static void name_choices(value_type type, char *out, size_t size) {
    int count;
    const char *const *names = named_values(type, &count);
    out[0] = '\0';
    for (int k = 0; k < count; ++k)
        snprintf(out + strlen(out), size - strlen(out), "%s%s", k ? "|" : "", names[k]);
}

/* A comma list of distinct methods, or "all". Returns 0, or -1 with what was wrong. */
static int parse_methods(const char *text, gcam_method *methods, int *count, char *why,
                         size_t why_size) {
    if (!strcmp(text, "none")) { /* classification alone (the test-time crops) */
        *count = 0;
        return 0;
    }
    if (!strcmp(text, "all")) {
        for (int m = 0; m < GCAM_METHOD_COUNT; ++m) methods[m] = (gcam_method)m;
        *count = GCAM_METHOD_COUNT;
        return 0;
    }
    int n = 0;
    for (const char *p = text; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1), p);
        int m = gcam_method_from_name(name);
        if (m < 0) {
            snprintf(why, why_size, "unknown method '%s'", name);
            return -1;
        }
        for (int k = 0; k < n; ++k)
            if (methods[k] == (gcam_method)m) {
                snprintf(why, why_size, "'%s' given twice", name);
                return -1;
            }
        methods[n++] = (gcam_method)m;
        if (!comma) break;
        p = comma + 1;
    }
    if (!n) {
        snprintf(why, why_size, "an empty list");
        return -1;
    }
    *count = n;
    return 0;
}

/* Parses text into the row's field of s. On failure fills `expected` with what would
 * have been accepted and returns -1; s is then unchanged. */
static int parse_value(const setting_spec *spec, const char *text, gcam_settings *s, char *expected,
                       size_t size) {
    char *field = (char *)s + spec->offset, *end;
    errno = 0;
    switch (spec->type) {
    case VALUE_PATH:
        if (strlen(text) >= GCAM_PATH_MAX) {
            snprintf(expected, size, "a path shorter than %d bytes", GCAM_PATH_MAX);
            return -1;
        }
        strcpy(field, text);
        return 0;
    case VALUE_INT:
    case VALUE_LONG:
    case VALUE_ULONG: {
        long long v = strtoll(text, &end, 10);
        if (errno || *end || end == text || v < spec->min || v > spec->max) {
            snprintf(expected, size, "expected an integer in [%.0f, %.0f]", spec->min, spec->max);
            return -1;
        }
        if (spec->type == VALUE_INT)
            *(int *)field = (int)v;
        else if (spec->type == VALUE_LONG)
            *(long *)field = (long)v;
        else
            *(unsigned long *)field = (unsigned long)v;
        return 0;
    }
    case VALUE_FLOAT: {
        double v = strtod(text, &end);
        if (errno || *end || end == text || !isfinite(v) || v < spec->min || v > spec->max) {
            snprintf(expected, size, "expected a number in [%g, %g]", spec->min, spec->max);
            return -1;
        }
        *(float *)field = (float)v;
        return 0;
    }
    case VALUE_BOOL:
        if (strcmp(text, "0") && strcmp(text, "1")) {
            snprintf(expected, size, "expected 0 or 1");
            return -1;
        }
        *(int *)field = text[0] == '1';
        return 0;
    case VALUE_CHOICE: {
        int index = choice_index(spec->choices, text);
        if (index < 0) {
            snprintf(expected, size, "expected one of %s", spec->choices);
            return -1;
        }
        *(int *)field = index;
        return 0;
    }
    case VALUE_METHOD:
    case VALUE_TTA: {
        int count;
        const char *const *names = named_values(spec->type, &count);
        for (int k = 0; k < count; ++k)
            if (!strcmp(text, names[k])) {
                *(int *)field = k;
                return 0;
            }
        char choices[256];
        name_choices(spec->type, choices, sizeof choices);
        snprintf(expected, size, "expected one of %s", choices);
        return -1;
    }
    case VALUE_METHODS: {
        gcam_method methods[GCAM_METHOD_COUNT];
        int count = 0;
        char why[128];
        if (parse_methods(text, methods, &count, why, sizeof why)) {
            char choices[256];
            name_choices(VALUE_METHOD, choices, sizeof choices);
            snprintf(expected, size, "%s; expected all, none or a comma list of %s", why, choices);
            return -1;
        }
        /* the count follows the array in gcam_eval_options */
        memcpy(field, methods, sizeof methods);
        *(int *)(field + sizeof methods) = count;
        return 0;
    }
    case VALUE_LAYER: {
        if (!strcmp(text, "auto")) {
            *(int *)field = GCAM_LAYER_AUTO;
            return 0;
        }
        long v = strtol(text, &end, 10);
        if (errno || *end || end == text || v < -100000 || v > 100000) {
            snprintf(expected, size, "expected auto or a layer index");
            return -1;
        }
        *(int *)field = (int)v;
        return 0;
    }
    case VALUE_CLASS: {
        if (!strcmp(text, "predicted")) {
            *(int *)field = -1;
            return 0;
        }
        long v = strtol(text, &end, 10);
        if (errno || *end || end == text || v < 0 || v > spec->max) {
            snprintf(expected, size, "expected predicted or a class index");
            return -1;
        }
        *(int *)field = (int)v;
        return 0;
    }
    }
    snprintf(expected, size, "unsupported setting type");
    return -1;
}

_Static_assert(offsetof(gcam_eval_options, n_methods) ==
                   offsetof(gcam_eval_options, methods) + sizeof(gcam_method) * GCAM_METHOD_COUNT,
               "eval methods: the count must follow the array");

/* The field's value as text, in the form parse_value reads. */
static void format_value(const setting_spec *spec, const gcam_settings *s, char *out, size_t size) {
    const char *field = (const char *)s + spec->offset;
    switch (spec->type) {
    case VALUE_PATH:
        snprintf(out, size, "%s", field);
        return;
    case VALUE_INT:
    case VALUE_BOOL:
        snprintf(out, size, "%d", *(const int *)field);
        return;
    case VALUE_LONG:
        snprintf(out, size, "%ld", *(const long *)field);
        return;
    case VALUE_ULONG:
        snprintf(out, size, "%lu", *(const unsigned long *)field);
        return;
    case VALUE_FLOAT:
        snprintf(out, size, "%g", *(const float *)field);
        return;
    case VALUE_CHOICE: {
        const char *p = spec->choices;
        for (int i = 0; i < *(const int *)field && p; ++i) {
            p = strchr(p, '|');
            if (p) ++p;
        }
        const char *bar = p ? strchr(p, '|') : NULL;
        snprintf(out, size, "%.*s", p ? (bar ? (int)(bar - p) : (int)strlen(p)) : 0, p ? p : "");
        return;
    }
    case VALUE_METHOD:
    case VALUE_TTA: {
        int count, k = *(const int *)field;
        const char *const *names = named_values(spec->type, &count);
        snprintf(out, size, "%s", k >= 0 && k < count ? names[k] : "?");
        return;
    }
    case VALUE_METHODS: {
        const gcam_method *methods = (const gcam_method *)field;
        int count = *(const int *)(field + sizeof(gcam_method) * GCAM_METHOD_COUNT);
        out[0] = '\0';
        int all = count == GCAM_METHOD_COUNT;
        for (int m = 0; m < count && all; ++m) all = methods[m] == (gcam_method)m;
        if (all || !count) {
            snprintf(out, size, all ? "all" : "none");
            return;
        }
        for (int m = 0; m < count; ++m)
            snprintf(out + strlen(out), size - strlen(out), "%s%s", m ? "," : "",
                     gcam_method_name(methods[m]));
        return;
    }
    case VALUE_LAYER:
        if (*(const int *)field == GCAM_LAYER_AUTO)
            snprintf(out, size, "auto");
        else
            snprintf(out, size, "%d", *(const int *)field);
        return;
    case VALUE_CLASS:
        if (*(const int *)field < 0)
            snprintf(out, size, "predicted");
        else
            snprintf(out, size, "%d", *(const int *)field);
        return;
    }
}

void gcam_settings_default(gcam_settings *s) {
    memset(s, 0, sizeof *s);
    for (int k = 0; k < N_SPECS; ++k) {
        char expected[256];
        /* A default outside its own range is a bug in the table: test_settings parses
         * every default, so this cannot pass unnoticed. */
        if (parse_value(&specs[k], specs[k].info.default_value, s, expected, sizeof expected))
            fprintf(stderr, "gcam: settings table: %s default '%s': %s\n", specs[k].info.key,
                    specs[k].info.default_value, expected);
    }
}

int gcam_settings_set(gcam_settings *s, const char *key, const char *value, const char *where,
                      gcam_error *err) {
    const setting_spec *spec = find_key(key);
    if (!spec) return gcam_fail(err, "%s: [gcam] unknown key '%s'", where, key);
    char expected[512];
    if (parse_value(spec, value, s, expected, sizeof expected))
        return gcam_fail(err, "%s: [gcam] %s=%s: %s", where, key, value, expected);
    return 0;
}

int gcam_settings_format(const gcam_settings *s, const char *key, char *out, size_t size) {
    const setting_spec *spec = find_key(key);
    if (!spec) return -1;
    format_value(spec, s, out, size);
    return 0;
}

int gcam_settings_read_cfg(gcam_settings *s, const char *cfg_path, gcam_error *err) {
    if (strlen(cfg_path) >= GCAM_PATH_MAX) return gcam_fail(err, "%s: path too long", cfg_path);
    gcam_cfg cfg;
    if (gcam_cfg_read(&cfg, cfg_path, err)) {
        gcam_cfg_free(&cfg);
        return -1;
    }
    snprintf(s->cfg_path, sizeof s->cfg_path, "%s", cfg_path);
    const gcam_cfg_section *section = gcam_cfg_gcam_section(&cfg);
    int status = 0;
    for (int i = 0; section && i < section->n_options && !status; ++i) {
        char where[GCAM_PATH_MAX + 32];
        snprintf(where, sizeof where, "%s:%d", cfg_path, section->options[i].line);
        status =
            gcam_settings_set(s, section->options[i].key, section->options[i].value, where, err);
    }
    gcam_cfg_free(&cfg);
    return status;
}

int gcam_settings_check(const gcam_settings *s, gcam_program program, gcam_error *err) {
    const gcam_train_options *t = &s->train;
    const gcam_guided_config *g = &t->guided;
    if (program == GCAM_PROGRAM_PREDICT && s->predict.tta == GCAM_TTA_ORACLE &&
        !s->predict.boxes[0])
        return gcam_fail(err, "-tta oracle needs -boxes FILE");
    if (program != GCAM_PROGRAM_TRAIN) return 0;
    if (t->saliency && g->drop_prob + g->keep_prob > 1 + 1e-6f)
        return gcam_fail(err,
                         "%s: [gcam] drop_prob + keep_prob = %g: at most one mask applies to an "
                         "image, so their sum must not exceed 1",
                         s->cfg_path, g->drop_prob + g->keep_prob);
    if (t->saliency && g->source == GCAM_GUIDE_ORACLE && !t->train_boxes[0])
        return gcam_fail(err, "%s: [gcam] saliency_guide=oracle needs train_boxes=FILE",
                         s->cfg_path);
    if (t->saliency && g->source == GCAM_GUIDE_RANDOM && t->source == GCAM_SOURCE_FRESH)
        return gcam_fail(err,
                         "%s: [gcam] saliency_guide=random crops without maps: "
                         "saliency_source=fresh has nothing to compute",
                         s->cfg_path);
    if (t->saliency && g->source == GCAM_GUIDE_RANDOM &&
        g->random_crop_min_area > g->random_crop_max_area)
        return gcam_fail(err, "%s: [gcam] random_crop_min_area=%g is above random_crop_max_area=%g",
                         s->cfg_path, g->random_crop_min_area, g->random_crop_max_area);
    if (t->saliency && g->source == GCAM_GUIDE_ORACLE && t->source == GCAM_SOURCE_FRESH)
        return gcam_fail(err,
                         "%s: [gcam] saliency_guide=oracle takes its maps from train_boxes: "
                         "saliency_source=fresh has nothing to compute",
                         s->cfg_path);
    if (t->mix_prob > 0 &&
        (t->mix_label == GCAM_MIX_LABEL_SALIENCY || t->mix_box == GCAM_MIX_BOX_SALIENCY) &&
        !t->saliency)
        return gcam_fail(err,
                         "%s: [gcam] mix_label=saliency and mix_box=saliency need maps: "
                         "saliency=1",
                         s->cfg_path);
    if (t->valid_tta == GCAM_TTA_ORACLE && !t->valid_boxes[0])
        return gcam_fail(err, "%s: [gcam] valid_tta=oracle needs valid_boxes=FILE", s->cfg_path);
    return 0;
}

/* ---- the command line ------------------------------------------------------------- */

static const char *program_name(unsigned program) {
    switch (program) {
    case GCAM_PROGRAM_TRAIN:
        return "gcam-train";
    case GCAM_PROGRAM_HEATMAP:
        return "gcam-heatmap";
    case GCAM_PROGRAM_EVAL:
        return "gcam-eval";
    case GCAM_PROGRAM_PREDICT:
        return "gcam-predict";
    case GCAM_PROGRAM_COMPARE:
        return "gcam-compare";
    default:
        return "gcam-init";
    }
}

/* The programs that read spec, as "gcam-train, gcam-eval". */
static void readers(const setting_spec *spec, char *out, size_t size) {
    out[0] = '\0';
    for (unsigned p = 1; p <= GCAM_PROGRAM_COMPARE; p <<= 1)
        if (spec->info.programs & p)
            snprintf(out + strlen(out), size - strlen(out), "%s%s", out[0] ? ", " : "",
                     program_name(p));
}

/* Applies -set KEY=VALUE: any key that `program` reads. */
static int apply_set(gcam_settings *s, gcam_program program, const char *pair, gcam_error *err) {
    char key[64];
    const char *eq = strchr(pair, '=');
    if (!eq || eq == pair || (size_t)(eq - pair) >= sizeof key)
        return gcam_fail(err, "-set %s: expected KEY=VALUE", pair);
    snprintf(key, sizeof key, "%.*s", (int)(eq - pair), pair);
    const setting_spec *spec = find_key(key);
    if (spec && !(spec->info.programs & program)) {
        char who[128];
        readers(spec, who, sizeof who);
        return gcam_fail(err, "-set %s: %s does not read %s (%s does)", pair, program_name(program),
                         key, who);
    }
    return gcam_settings_set(s, key, eq + 1, "-set", err);
}

void gcam_args_free(gcam_args *args) {
    free(args->positional);
    memset(args, 0, sizeof *args);
}

static int is_help(const char *a) {
    return !strcmp(a, "--help") || !strcmp(a, "-h");
}

gcam_args_status gcam_settings_from_command_line(gcam_settings *s, gcam_program program, int argc,
                                                 char **argv, int min_positional,
                                                 int max_positional, gcam_args *args,
                                                 gcam_error *err) {
    memset(args, 0, sizeof *args);
    for (int i = 1; i < argc; ++i)
        if (is_help(argv[i])) return GCAM_ARGS_HELP;
    /* First pass: the positional arguments (the cfg among them), and every flag known. */
    args->positional = gcam_xcalloc((size_t)argc + 1, sizeof(char *));
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        if (a[0] != '-' || !a[1]) {
            args->positional[args->n_positional++] = argv[i];
            continue;
        }
        const setting_spec *spec = strcmp(a, "-set") ? find_flag(a, program) : NULL;
        if (strcmp(a, "-set") && !spec) {
            gcam_fail(err, "unknown option %s (see --help)", a);
            return GCAM_ARGS_USAGE;
        }
        if (spec && spec->type == VALUE_BOOL) continue;
        if (i + 1 >= argc) {
            gcam_fail(err, "%s needs a value (see --help)", a);
            return GCAM_ARGS_USAGE;
        }
        ++i;
    }
    if (args->n_positional < min_positional ||
        (max_positional >= 0 && args->n_positional > max_positional)) {
        gcam_fail(err, "%s arguments (see --help)",
                  args->n_positional < min_positional ? "missing" : "too many");
        return GCAM_ARGS_USAGE;
    }
    /* Then the cfg's [gcam] section (gcam-compare has none), then the flags over it. */
    if (program != GCAM_PROGRAM_COMPARE && args->n_positional > 0 &&
        gcam_settings_read_cfg(s, args->positional[0], err))
        return GCAM_ARGS_FAILED;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        if (a[0] != '-' || !a[1]) continue;
        if (!strcmp(a, "-set")) {
            if (apply_set(s, program, argv[++i], err)) return GCAM_ARGS_USAGE;
            continue;
        }
        const setting_spec *spec = find_flag(a, program);
        const char *value = spec->type == VALUE_BOOL ? "1" : argv[++i];
        char expected[512];
        if (parse_value(spec, value, s, expected, sizeof expected)) {
            gcam_fail(err, "%s %s: %s", a, value, expected);
            return GCAM_ARGS_USAGE;
        }
    }
    return gcam_settings_check(s, program, err) ? GCAM_ARGS_FAILED : GCAM_ARGS_OK;
}

/* A space that print_wrapped does not break at. */
#define NO_BREAK '\x01'

/* Writes text from column `indent` (the cursor is there), wrapped before `width`. */
static void print_wrapped(FILE *out, const char *text, int indent, int width) {
    int column = indent;
    while (*text) {
        while (*text == ' ') ++text;
        int word = (int)strcspn(text, " ");
        if (column > indent && column + 1 + word > width) {
            fprintf(out, "\n%*s", indent, "");
            column = indent;
        } else if (column > indent) {
            fputc(' ', out);
            ++column;
        }
        for (int i = 0; i < word; ++i) fputc(text[i] == NO_BREAK ? ' ' : text[i], out);
        column += word;
        text += word;
    }
    fputc('\n', out);
}

void gcam_settings_print_help(FILE *out, gcam_program program) {
    enum { HEAD = 24, WIDTH = 92 };
    fprintf(out, "Options (each is also the [gcam] key in brackets; the command line wins over "
                 "the cfg):\n");
    for (int k = 0; k < N_SPECS; ++k) {
        const setting_spec *spec = &specs[k];
        if (!(spec->info.programs & program)) continue;
        char head[128], text[1024], choices[256] = "";
        snprintf(head, sizeof head, "%s%s%s", spec->info.flag, spec->info.value_name ? " " : "",
                 spec->info.value_name ? spec->info.value_name : "");
        if (spec->type == VALUE_CHOICE) snprintf(choices, sizeof choices, " (%s)", spec->choices);
        if (spec->type == VALUE_METHOD || spec->type == VALUE_TTA) {
            char names[200];
            name_choices(spec->type, names, sizeof names);
            snprintf(choices, sizeof choices, " (%s)", names);
        }
        snprintf(text, sizeof text, "%s%s [%s] (default%c%s)", spec->info.help, choices,
                 spec->info.key, NO_BREAK,
                 spec->info.default_value[0] ? spec->info.default_value : "none");
        fprintf(out, "  %-*s ", HEAD, head);
        if ((int)strlen(head) > HEAD) fprintf(out, "\n  %-*s ", HEAD, "");
        print_wrapped(out, text, HEAD + 3, WIDTH);
    }
    fprintf(out, "  %-*s set any key above by its [gcam] name\n", HEAD, "-set KEY=VALUE");
    fprintf(out, "  %-*s this help\n", HEAD, "--help");
}

int gcam_settings_parse_program(gcam_settings *s, gcam_program program, const char *usage, int argc,
                                char **argv, int min_positional, int max_positional,
                                gcam_args *args) {
    gcam_error err;
    gcam_settings_default(s);
    gcam_args_status status = gcam_settings_from_command_line(
        s, program, argc, argv, min_positional, max_positional, args, &err);
    if (status == GCAM_ARGS_OK) return -1;
    gcam_args_free(args);
    if (status == GCAM_ARGS_HELP) {
        fputs(usage, stdout);
        fputc('\n', stdout);
        gcam_settings_print_help(stdout, program);
        return 0;
    }
    fprintf(stderr, "%s: %s\n", program_name(program), err.message);
    if (status == GCAM_ARGS_USAGE && argc < 2) fprintf(stderr, "\n%s", usage);
    return status == GCAM_ARGS_USAGE ? 2 : 1;
}
