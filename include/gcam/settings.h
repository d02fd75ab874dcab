/* Every setting of every gcam program, defined once.
 *
 * One table (src/settings.c) gives each setting its key, command-line flag, type, range,
 * default, help line and the programs that read it. A cfg's [gcam] section, `-set
 * KEY=VALUE`, each program's flags, each program's --help and gcam_settings_default all
 * go through that table, so a cfg's [gcam] keys mean the same to gcam-train, gcam-heatmap
 * and gcam-eval. Where training deliberately uses a cheaper value than the heatmap
 * programs, that is a key of its own (refresh_groups beside saliency_groups,
 * eval_rise_n beside rise_n), never one key with two defaults.
 *
 * The values live in gcam_settings, grouped by the part of the library that reads them.
 * To add a setting: a field here, a row in the table, and the code that reads it. */
#ifndef GCAM_SETTINGS_H
#define GCAM_SETTINGS_H

#include "gcam/core.h"
#include "gcam/data.h"

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Saliency methods ------------------------------------------------------------- */

/* The saliency methods, in the order programs list and plot them:
 * X(enum suffix, name used by settings and file names, title used in reports). */
#define GCAM_METHOD_LIST(X)                                                                        \
    X(GROUPCAM, "groupcam", "Group-CAM")                                                           \
    X(GRADCAM, "gradcam", "Grad-CAM")                                                              \
    X(GRADCAMPP, "gradcampp", "Grad-CAM++")                                                        \
    X(IGCAM, "igcam", "Integrated Grad-CAM")                                                       \
    X(SCORECAM, "scorecam", "Score-CAM")                                                           \
    X(RISE, "rise", "RISE")

typedef enum gcam_method {
#define GCAM_METHOD_ENUM(id, name, title) GCAM_METHOD_##id,
    GCAM_METHOD_LIST(GCAM_METHOD_ENUM)
#undef GCAM_METHOD_ENUM
        GCAM_METHOD_COUNT
} gcam_method;

GCAM_API const char *gcam_method_name(gcam_method m);  /* "groupcam" */
GCAM_API const char *gcam_method_title(gcam_method m); /* "Group-CAM" */
/* The method called name, or -1. */
GCAM_API int gcam_method_from_name(const char *name);

/* ---- Option groups ---------------------------------------------------------------- */

/* saliency_layer=auto: the last layer with a spatial map before global pooling. */
#define GCAM_LAYER_AUTO 0x7fffffff

/* How maps are computed (gcam_saliency), for heatmaps, evaluation and training refreshes. */
typedef struct gcam_saliency_options {
    gcam_method method;
    int layer;          /* target layer; negative counts from the end; or GCAM_LAYER_AUTO */
    int groups;         /* Group-CAM groups G, clamped to the layer's channels */
    float theta;        /* Group-CAM de-noising percentile */
    int blur_size;      /* Group-CAM's Gaussian kernel size; 0: 51 px at 224, scaled */
    float blur_sigma;   /* 0: 50 at 224, scaled to the input */
    int ig_steps;       /* Integrated Grad-CAM steps m */
    int rise_n, rise_s; /* RISE masks N and grid size s */
    float rise_p;       /* RISE cell probability p */
    unsigned long seed; /* RISE masks */
} gcam_saliency_options;

typedef enum gcam_guide_source {
    GCAM_GUIDE_SALIENCY, /* the image's own saliency map */
    /* The unguided control of equal strength: a sample whose image has a map gets the map
     * of another training image, drawn at random, so the transforms apply as often and
     * with the same box sizes and mask shapes, only not where this image's evidence is. */
    GCAM_GUIDE_SHUFFLED,
    /* The bound: a map that is 1 inside the image's ground-truth box (train_boxes) and 0
     * outside, from the first iteration. */
    GCAM_GUIDE_ORACLE,
    /* No map: the crop is an Inception-style random-resized crop of the source (area and
     * aspect drawn at random), the usual alternative that needs no saliency. */
    GCAM_GUIDE_RANDOM
} gcam_guide_source;

/* When the maps that guide a batch are computed. */
typedef enum gcam_map_source {
    GCAM_SOURCE_CACHE, /* refreshed every saliency_every iterations, kept per image */
    GCAM_SOURCE_FRESH  /* of the batch's own augmented images, just before it trains */
} gcam_map_source;

/* Where a mixed-in box is cut from the partner image. */
typedef enum gcam_mix_box { GCAM_MIX_BOX_RANDOM, GCAM_MIX_BOX_SALIENCY } gcam_mix_box;

/* How a mixed sample's label is weighted. */
typedef enum gcam_mix_label {
    GCAM_MIX_LABEL_AREA,    /* CutMix: by the box's area */
    GCAM_MIX_LABEL_SALIENCY /* SnapMix: by the saliency mass each image keeps */
} gcam_mix_label;

/* Test-time crops: the logits of the whole image averaged with those of a crop. */
typedef enum gcam_tta_mode {
    GCAM_TTA_NONE,   /* the whole image alone */
    GCAM_TTA_CROP,   /* a box around the map at the predicted class */
    GCAM_TTA_CENTER, /* the same box size, centred (control) */
    GCAM_TTA_RANDOM, /* the same box size, at a random place (control) */
    GCAM_TTA_ORACLE, /* the ground-truth box (needs boxes) */
    GCAM_TTA_MODE_COUNT
} gcam_tta_mode;
/* The name of a test-time crop mode ("none", "crop", ...). */
GCAM_API const char *gcam_tta_mode_name(gcam_tta_mode mode);

/* Where a crop takes its pixels. */
typedef enum gcam_crop_source {
    /* the decoded source image at its own resolution: the view's box is mapped to source
     * pixels through the view's own warp, and resampled with the validation resize's
     * filter */
    GCAM_CROP_FROM_IMAGE,
    /* the network-sized view itself, zoomed bilinearly (no detail beyond the view's) */
    GCAM_CROP_FROM_VIEW
} gcam_crop_source;

/* Which pixels at or above a map's threshold a box must hold. */
typedef enum gcam_box_region {
    GCAM_BOX_ALL, /* every one: the bounding box of them all */
    GCAM_BOX_PEAK /* the 4-connected region around the map's maximum alone */
} gcam_box_region;

typedef struct gcam_tta_options {
    gcam_crop_source crop_source; /* test-time crops and the trainer's fresh-map crops */
    gcam_method method;           /* the map the crop follows */
    float threshold;              /* the box covers the pixels >= threshold * the map's maximum */
    gcam_box_region region;       /* ... all of them, or the peak's region */
    float margin;                 /* the box's sides are enlarged by this factor */
    int steps;                    /* crops in a row, each around the map of the one before */
    unsigned long seed;           /* the random control's boxes */
} gcam_tta_options;

typedef enum gcam_fill { GCAM_FILL_MEAN, GCAM_FILL_BLUR } gcam_fill;

/* Saliency-guided augmentation. Thresholds are fractions of the map's maximum; sizes are
 * fractions of the input side. */
typedef struct gcam_guided_config {
    gcam_guide_source source;
    int map_size;                /* cached maps are map_size x map_size */
    float crop_prob;             /* saliency-guided crop */
    float crop_threshold;        /* box around the cells >= threshold * max */
    gcam_box_region crop_region; /* ... all of them, or the peak's region */
    float crop_enlarge;          /* the box side is enlarged by a factor in [1, crop_enlarge] */
    float crop_jitter;           /* the box centre moves by up to this fraction of its side */
    float crop_min_size;         /* the box side is at least this fraction of the shorter side */
    /* saliency_guide=random: the box's share of the image's area, uniform in [min, max] */
    float random_crop_min_area, random_crop_max_area;
    float drop_prob; /* drop mask: erase the pixels >= drop_threshold * max */
    float drop_threshold;
    gcam_fill drop_fill; /* erase with the image's mean colour or its blurred copy */
    float keep_prob;     /* keep mask: keep the pixels >= keep_threshold * max, blur the rest */
    float keep_threshold;
    float cutout_prob; /* cutout of a square where the mean saliency is low */
    float cutout_size;
    float cutout_threshold; /* the square's mean saliency must stay below threshold * max */
} gcam_guided_config;

/* gcam-train */
typedef struct gcam_train_options {
    char weights[GCAM_PATH_MAX];    /* start from these weights; empty: fresh */
    char backup_dir[GCAM_PATH_MAX]; /* empty: the .data file's backup=, else "backup" */
    int weights_layers;             /* load only the first N layers of weights (0: all) */
    int clear;                      /* reset `seen` after loading */
    long max_batches;               /* 0: the cfg's max_batches */
    int threads;                    /* loader threads */
    int rank_threads;               /* under mpirun: threads per rank; 0: cores / local ranks */
    int sync_bn;                    /* under mpirun: batch statistics over the job's batch */
    long valid_every;               /* iterations; 0: once per epoch */
    long checkpoint_every;          /* _last.weights every K iterations */
    long save_every;                /* <cfg>_<iter>.weights every K iterations; 0: never */
    int saliency;                   /* 1: saliency-guided augmentation */
    long saliency_every;            /* iterations between map refreshes */
    long saliency_images;           /* images of the batch refreshed; 0: all */
    int refresh_groups;             /* Group-CAM groups of a refresh (cheaper than heatmaps') */
    gcam_map_source source;         /* cached (refreshed) or fresh maps */
    gcam_guided_config guided;
    char train_boxes[GCAM_PATH_MAX]; /* ground-truth boxes of the training images: the oracle
                                        guide and the maps' telemetry; empty: none */
    float mix_prob;                  /* a sample receives a partner's box with this probability */
    float mix_alpha;                 /* box area fraction ~ Beta(alpha, alpha) */
    gcam_mix_box mix_box;            /* where the box is cut from the partner */
    gcam_mix_label mix_label;        /* how the mixed label is weighted */
    gcam_tta_mode valid_tta;         /* test-time crop in validation */
    char valid_boxes[GCAM_PATH_MAX]; /* boxes of the validation images (valid_tta=oracle) */
    long heatmap_every;              /* <backup>/heatmaps/<iter>.png every N iterations; 0: never */
    long heatmap_images;             /* validation images in that grid */
} gcam_train_options;

/* gcam-heatmap */
typedef struct gcam_heatmap_options {
    char out_dir[GCAM_PATH_MAX];
    int cls;     /* class explained; -1: each image's predicted class */
    int raw;     /* also write the maps as .npy */
    float alpha; /* overlay opacity */
    int scale;   /* each pixel drawn as a scale x scale block */
    int box;     /* draw the map's crop box and write the crop, cut from the source */
} gcam_heatmap_options;

/* gcam-eval */
typedef struct gcam_eval_options {
    gcam_method methods[GCAM_METHOD_COUNT];
    int n_methods;
    char boxes[GCAM_PATH_MAX];   /* 'path x0 y0 x1 y1' lines for the pointing game; empty: none */
    char out_dir[GCAM_PATH_MAX]; /* outputs */
    int limit;                   /* images from the list's start; 0: all */
    int step;                    /* pixels per curve step; 0: ceil(H * W / 28) */
    int predicted;               /* 1: explain the predicted class; 0: the true class */
    float tolerance;             /* pointing-game tolerance in input pixels; 0: 15 at 224, scaled */
    int batch;                   /* images per forward pass */
    int rise_n;                  /* RISE masks (fewer than in heatmaps: one forward per mask) */
    int sanity_images;           /* images in the sanity check; 0: no sanity check */
    unsigned long sanity_seed;   /* sanity-check randomisation */
    int gallery;                 /* best and worst images per method in the report */
    int raw;                     /* also write every evaluated map as .npy */
    int tta;                     /* also the top-1 of every test-time crop mode */
} gcam_eval_options;

/* gcam-predict */
typedef struct gcam_predict_options {
    int top;                   /* classes printed per image; 0: the .data file's top=, else 5 */
    char probs[GCAM_PATH_MAX]; /* all probabilities as .npy; empty: none */
    gcam_tta_mode tta;         /* test-time crop */
    char boxes[GCAM_PATH_MAX]; /* ground-truth boxes (tta oracle) */
} gcam_predict_options;

/* gcam-compare */
typedef struct gcam_compare_options {
    char arms[GCAM_PATH_MAX];        /* the arms, space- or comma-separated */
    char seeds[GCAM_PATH_MAX];       /* the seeds, space- or comma-separated */
    char reference[GCAM_PATH_MAX];   /* the arm every other is compared with; empty: none */
    char pairs[GCAM_PATH_MAX];       /* "arm:control,..." pairs also compared */
    char predictions[GCAM_PATH_MAX]; /* each run's tta.csv, relative to its folder */
    char log[GCAM_PATH_MAX];         /* each run's training log, relative to its folder */
    char costs[GCAM_PATH_MAX];       /* each run's tta_cost.csv, relative to its folder */
    char pipelines[GCAM_PATH_MAX];   /* "arm@mode,..." in the cost table and plot */
    char out_dir[GCAM_PATH_MAX];
    int bootstrap;      /* resamples of the test images */
    unsigned long seed; /* of the resampling */
} gcam_compare_options;

typedef struct gcam_settings {
    char cfg_path[GCAM_PATH_MAX];  /* the cfg whose [gcam] section was read (not a key) */
    char data_path[GCAM_PATH_MAX]; /* Darknet .data file, or a folder of images by class */
    gcam_split_options split;      /* of a folder without its own validation images */
    long seed;                     /* training: shuffling, augmentation, dropout; gcam-init */
    int quiet;                     /* no per-iteration line or progress bar */
    gcam_saliency_options saliency;
    gcam_tta_options tta; /* test-time crops, for prediction, evaluation and validation */
    gcam_train_options train;
    gcam_heatmap_options heatmap;
    gcam_eval_options eval;
    gcam_predict_options predict;
    gcam_compare_options compare;
} gcam_settings;

/* ---- The table -------------------------------------------------------------------- */

/* The programs, as a mask of the programs that read a setting. */
typedef enum gcam_program {
    GCAM_PROGRAM_TRAIN = 1,
    GCAM_PROGRAM_HEATMAP = 2,
    GCAM_PROGRAM_EVAL = 4,
    GCAM_PROGRAM_PREDICT = 8,
    GCAM_PROGRAM_INIT = 16,
    GCAM_PROGRAM_COMPARE = 32
} gcam_program;

/* One row of the table, as tools and tests see it. */
typedef struct gcam_setting_info {
    const char *key;           /* [gcam] key and -set KEY */
    const char *flag;          /* command-line flag, "-" included */
    const char *value_name;    /* placeholder in --help ("N", "P", "FILE"); NULL: no value */
    const char *default_value; /* as text, parsed like any value */
    const char *help;
    unsigned programs; /* gcam_program mask */
} gcam_setting_info;

GCAM_API int gcam_settings_count(void);
/* Row i (0 <= i < gcam_settings_count()), borrowed. */
GCAM_API const gcam_setting_info *gcam_settings_row(int i);

/* Every setting at its default. */
GCAM_API void gcam_settings_default(gcam_settings *s);

/* Sets one setting from its text. `where` begins the error message ("file:line",
 * "-set", or the flag); errors name the key and the expected values. */
GCAM_API int gcam_settings_set(gcam_settings *s, const char *key, const char *value,
                               const char *where, gcam_error *err);

/* Applies the [gcam] section of cfg_path (if it has one) and records cfg_path. Every key
 * must be in the table, whichever program reads it, so that a typo is never silently
 * ignored; errors name the file, line and key. */
GCAM_API int gcam_settings_read_cfg(gcam_settings *s, const char *cfg_path, gcam_error *err);

/* Checks the settings `program` reads against each other (after the cfg and the command
 * line; gcam_settings_from_command_line does it). */
GCAM_API int gcam_settings_check(const gcam_settings *s, gcam_program program, gcam_error *err);

/* The value of key as text (as --help and logs print it), into out. -1 if unknown. */
GCAM_API int gcam_settings_format(const gcam_settings *s, const char *key, char *out, size_t size);

/* ---- The command line ------------------------------------------------------------- */

typedef enum gcam_args_status {
    GCAM_ARGS_OK,
    GCAM_ARGS_HELP,   /* --help or -h was given: print the help, exit 0 */
    GCAM_ARGS_USAGE,  /* a bad flag, value or argument count: exit 2 */
    GCAM_ARGS_FAILED, /* the cfg's [gcam] section is unreadable or wrong: exit 1 */
} gcam_args_status;

typedef struct gcam_args {
    char **positional; /* (n_positional) borrowed from argv; positional[0] is the cfg */
    int n_positional;
} gcam_args;

/* Reads a program's command line: the flags of the settings `program` reads and
 * `-set KEY=VALUE` for any of them, each flag once or more (the last wins); the other
 * arguments are positional, the first of them the cfg. Precedence: defaults, then the
 * cfg's [gcam] section, then the command line. Between min_positional and
 * max_positional positional arguments (max < 0: no limit). args->positional is
 * allocated (gcam_args_free). */
GCAM_API gcam_args_status gcam_settings_from_command_line(gcam_settings *s, gcam_program program,
                                                          int argc, char **argv, int min_positional,
                                                          int max_positional, gcam_args *args,
                                                          gcam_error *err);
GCAM_API void gcam_args_free(gcam_args *args);

/* The options of `program` with their placeholders, help and defaults, one per line. */
GCAM_API void gcam_settings_print_help(FILE *out, gcam_program program);

/* A program's whole command-line handling: gcam_settings_from_command_line, then --help
 * prints `usage` and the options to stdout, and an error prints "<program>: <message>"
 * to stderr. Returns -1 when the program should go on, else its exit status: 0 after
 * --help, 2 for a usage error, 1 for a bad cfg. */
GCAM_API int gcam_settings_parse_program(gcam_settings *s, gcam_program program, const char *usage,
                                         int argc, char **argv, int min_positional,
                                         int max_positional, gcam_args *args);

#ifdef __cplusplus
}
#endif
#endif
