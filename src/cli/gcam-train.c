/* gcam-train: trains or fine-tunes a Darknet classifier. */
#include "train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: gcam-train CFG [options]\n"
    "\n"
    "Trains the classifier in CFG (a Darknet cfg). Defaults come from the cfg's [gcam]\n"
    "section (keys as the options below, without the dash), then these options:\n"
    "  -data FILE           Darknet .data file (classes, train, valid, labels, backup)\n"
    "  -weights FILE        start from these weights (resume from <cfg>_last.weights)\n"
    "  -weights_layers N    load only the first N layers of -weights (a new head)\n"
    "  -clear               reset the images-seen count (start a fine-tuning schedule)\n"
    "  -max_batches N       iterations to train (default: the cfg's max_batches)\n"
    "  -seed S              seed for shuffling, augmentation and dropout (default 1)\n"
    "  -threads T           loader threads (default 2)\n"
    "  -backup DIR          checkpoint folder (default: the .data file's backup=)\n"
    "  -valid_every N       validate every N iterations (default: once per epoch)\n"
    "  -checkpoint_every N  write <cfg>_last.weights every N iterations (default 100)\n"
    "  -save_every N        write <cfg>_<iter>.weights every N iterations (default 1000)\n"
    "  -set KEY=VALUE       set any [gcam] key below (after the cfg's own)\n"
    "  -quiet               no line per iteration\n"
    "  --help               this help\n"
    "\n"
    "Writes under the backup folder: <cfg>_last.weights (+ .state: momentum, for exact\n"
    "resumption), <cfg>_<iter>.weights, <cfg>_best.weights (best valid top-1),\n"
    "<cfg>_final.weights and the log <cfg>.csv. Every file is written atomically.\n"
    "Ctrl-C or SIGTERM saves <cfg>_last.weights and exits with status 130 or 143.\n"
    "Unreadable images are reported and skipped; more than 1% of the data set (at least\n"
    "10 images) stops the run. Exit status: 0 done, 1 error, 2 bad arguments.\n"
    "\n"
    "Saliency-guided augmentation (saliency=1): every saliency_every iterations, maps of\n"
    "the batch just trained on (true classes, current weights, inference mode) go into a\n"
    "per-image cache of saliency_map_size^2-cell maps in the images' own coordinates.\n"
    "Later batches reuse them: each map follows its image's augmentation, and drives a\n"
    "crop around the salient region, a drop mask (erase it), a keep mask (blur the rest)\n"
    "or a cutout where saliency is low, each with its probability. Images without a map\n"
    "get the standard augmentation. The cache is saved with _last (<cfg>_last.maps).\n"
    "The per-iteration line shows the refresh time and the share of images with a map;\n"
    "<backup>/heatmaps/<iter>.png shows fixed validation images with their maps.\n"
    "\n";

static int parse_long(const char *opt, const char *v, long lo, long hi, long *out) {
    char *end;
    long x = strtol(v, &end, 10);
    if (*end || end == v || x < lo || x > hi) {
        fprintf(stderr, "gcam-train: %s %s: expected an integer in [%ld, %ld]\n", opt, v, lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

static int copy_path(char *dst, const char *src) {
    if (strlen(src) >= GCAM_PATH_MAX) {
        fprintf(stderr, "gcam-train: path too long: %s\n", src);
        return -1;
    }
    strcpy(dst, src);
    return 0;
}

int main(int argc, char **argv) {
    const char *cfg = NULL;
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            gcam_train_print_keys(stdout);
            return 0;
        }
        if (argv[i][0] != '-' && !cfg)
            cfg = argv[i];
        else if (argv[i][0] == '-' && strcmp(argv[i], "-clear") && strcmp(argv[i], "-quiet"))
            ++i; /* skip the option's value */
    }
    if (!cfg) {
        fputs(usage, stderr);
        return 2;
    }
    gcam_train_options o;
    gcam_error err;
    gcam_train_options_default(&o, cfg);
    if (gcam_train_options_from_cfg(&o, &err)) {
        fprintf(stderr, "gcam-train: %s\n", err.message);
        return 1;
    }
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        if (a[0] != '-') continue;
        if (!strcmp(a, "-clear")) {
            o.clear = 1;
            continue;
        }
        if (!strcmp(a, "-quiet")) {
            o.quiet = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "gcam-train: %s needs a value (see --help)\n", a);
            return 2;
        }
        const char *v = argv[++i];
        long x = 0;
        int bad = 0;
        if (!strcmp(a, "-data"))
            bad = copy_path(o.data_path, v);
        else if (!strcmp(a, "-weights"))
            bad = copy_path(o.weights, v);
        else if (!strcmp(a, "-backup"))
            bad = copy_path(o.backup_dir, v);
        else if (!strcmp(a, "-weights_layers"))
            bad = parse_long(a, v, 1, 100000, &x), o.weights_layers = (int)x;
        else if (!strcmp(a, "-max_batches"))
            bad = parse_long(a, v, 1, 1000000000L, &o.max_batches);
        else if (!strcmp(a, "-seed"))
            bad = parse_long(a, v, 0, 0x7fffffffL, &o.seed);
        else if (!strcmp(a, "-threads"))
            bad = parse_long(a, v, 1, 64, &x), o.threads = (int)x;
        else if (!strcmp(a, "-valid_every"))
            bad = parse_long(a, v, 0, 1000000000L, &o.valid_every);
        else if (!strcmp(a, "-checkpoint_every"))
            bad = parse_long(a, v, 1, 1000000000L, &o.checkpoint_every);
        else if (!strcmp(a, "-save_every"))
            bad = parse_long(a, v, 0, 1000000000L, &o.save_every);
        else if (!strcmp(a, "-set")) {
            if (gcam_train_options_set_pair(&o, v, "-set", &err)) {
                fprintf(stderr, "gcam-train: %s\n", err.message);
                return 2;
            }
        } else {
            fprintf(stderr, "gcam-train: unknown option %s (see --help)\n", a);
            return 2;
        }
        if (bad) return 2;
    }
    int status = gcam_train_run(&o, &err);
    if (status < 0) {
        fprintf(stderr, "gcam-train: %s\n", err.message);
        return 1;
    }
    return status > 0 ? 128 + status : 0;
}
