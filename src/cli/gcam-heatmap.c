/* gcam-heatmap: saliency heatmaps of images under any checkpoint. */
#define _DEFAULT_SOURCE /* DT_DIR */
#include "atomic_file.h"
#include "dataset.h"
#include "datacfg.h"
#include "heatmap.h"
#include "image.h"
#include "saliency.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage[] =
    "usage: gcam-heatmap CFG WEIGHTS IMAGE|DIR|LIST... [options]\n"
    "\n"
    "Writes DIR/<stem>_<method>.png (the image with a jet overlay of its saliency map) for\n"
    "every image, and prints its top-5 classes. A DIR argument means every image file in\n"
    "it; a .list or .txt file means the paths it lists, one per line.\n"
    "  -method M       groupcam (default), gradcam, gradcampp, igcam, scorecam or rise\n"
    "  -class C        explain class C (default: each image's predicted class)\n"
    "  -layer L        target layer index, negative from the end (default: the cfg's\n"
    "                  [gcam] saliency_layer, else the last layer with a spatial map\n"
    "                  before global pooling)\n"
    "  -groups G       Group-CAM groups (default 32)\n"
    "  -theta P        Group-CAM de-noising percentile (default 70)\n"
    "  -blur_size K    Gaussian kernel size (default 51 px at 224x224, scaled)\n"
    "  -blur_sigma S   Gaussian sigma (default 50 at 224x224, scaled)\n"
    "  -steps M        Integrated Grad-CAM steps (default 50)\n"
    "  -rise_n N, -rise_s S, -rise_p P   RISE masks, grid size, keep probability\n"
    "                  (default 4000, 7, 0.5); -seed S seeds the masks (default 0)\n"
    "  -data FILE      .data file whose names=/labels= name the classes\n"
    "  -o DIR          output folder (default heatmaps)\n"
    "  -raw            also write DIR/<stem>_<method>.npy: float32 [H][W] in [0, 1]\n"
    "  -alpha A        overlay opacity (default 0.5)\n"
    "  -scale N        draw each pixel as an N x N block in the PNG (for small inputs)\n"
    "Images go through the validation preprocessing of gcam-train (a resize to the\n"
    "network size). Unreadable images are reported and skipped; the exit status is then 1.\n";

typedef struct inputs {
    char **paths;
    int n, cap;
} inputs;

static void add_path(inputs *in, const char *p) {
    if (in->n == in->cap) {
        in->cap = in->cap ? in->cap * 2 : 64;
        in->paths = realloc(in->paths, sizeof(char *) * (size_t)in->cap);
        if (!in->paths) abort();
    }
    in->paths[in->n++] = strdup(p);
}

static int is_image_name(const char *name) {
    static const char *const ext[] = {".jpg", ".jpeg", ".png", ".bmp", ".tga", ".gif",
                                      ".psd", ".pnm",  ".ppm", ".pgm", NULL};
    const char *dot = strrchr(name, '.');
    for (int i = 0; dot && ext[i]; ++i)
        if (!strcasecmp(dot, ext[i])) return 1;
    return 0;
}

static int compare_paths(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int expand(inputs *in, const char *arg) {
    struct stat st;
    const char *dot = strrchr(arg, '.');
    if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
        DIR *d = opendir(arg);
        if (!d) return -1;
        int first = in->n;
        struct dirent *e;
        while ((e = readdir(d)))
            if (is_image_name(e->d_name)) {
                char p[8192];
                snprintf(p, sizeof p, "%s/%s", arg, e->d_name);
                add_path(in, p);
            }
        closedir(d);
        qsort(in->paths + first, (size_t)(in->n - first), sizeof(char *), compare_paths);
    } else if (dot && (!strcmp(dot, ".list") || !strcmp(dot, ".txt"))) {
        char **lines;
        int n;
        gcam_error err;
        if (gcam_lines_read(arg, &lines, &n, &err)) {
            fprintf(stderr, "gcam-heatmap: %s\n", err.message);
            return -1;
        }
        for (int i = 0; i < n; ++i) add_path(in, strtok(lines[i], "\t"));
        gcam_lines_free(lines, n);
    } else {
        add_path(in, arg);
    }
    return 0;
}

static int parse_number(const char *opt, const char *v, double lo, double hi, double *out) {
    char *end;
    double x = strtod(v, &end);
    if (*end || end == v || !(x >= lo && x <= hi)) {
        fprintf(stderr, "gcam-heatmap: %s %s: expected a number in [%g, %g]\n", opt, v, lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

/* "dir/name.png" -> "name" */
static void stem_of(const char *path, char *out, size_t size) {
    const char *slash = strrchr(path, '/');
    snprintf(out, size, "%s", slash ? slash + 1 : path);
    char *dot = strrchr(out, '.');
    if (dot && dot != out) *dot = '\0';
}

int main(int argc, char **argv) {
    const char *cfg = NULL, *weights = NULL, *data = NULL, *out_dir = "heatmaps";
    const char *method_name = "groupcam";
    gcam_saliency_options so;
    int layer_given = 0;
    gcam_saliency_options_default(&so);
    int class_given = -1, raw = 0;
    double alpha = 0.5, v;
    int scale = 1;
    inputs in = {0};
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return 0;
        }
        if (!strcmp(a, "-raw")) {
            raw = 1;
            continue;
        }
        if (a[0] == '-' && a[1]) {
            if (i + 1 >= argc) {
                fprintf(stderr, "gcam-heatmap: %s needs a value (see --help)\n", a);
                return 2;
            }
            const char *val = argv[++i];
            if (!strcmp(a, "-method")) {
                method_name = val;
                int m = gcam_method_from_name(val);
                if (m < 0) {
                    fprintf(stderr,
                            "gcam-heatmap: -method %s: expected groupcam, gradcam, "
                            "gradcampp, igcam, scorecam or rise\n",
                            val);
                    return 2;
                }
                so.method = (gcam_method)m;
            } else if (!strcmp(a, "-class")) {
                if (parse_number(a, val, 0, 1e6, &v)) return 2;
                class_given = (int)v;
            } else if (!strcmp(a, "-layer")) {
                if (parse_number(a, val, -1e6, 1e6, &v)) return 2;
                so.layer = (int)v;
                layer_given = 1;
            } else if (!strcmp(a, "-groups")) {
                if (parse_number(a, val, 1, 4096, &v)) return 2;
                so.groups = (int)v;
            } else if (!strcmp(a, "-theta")) {
                if (parse_number(a, val, 0, 100, &v)) return 2;
                so.theta = (float)v;
            } else if (!strcmp(a, "-blur_size")) {
                if (parse_number(a, val, 1, 1001, &v)) return 2;
                so.blur_size = (int)v | 1;
            } else if (!strcmp(a, "-blur_sigma")) {
                if (parse_number(a, val, 1e-3, 1e4, &v)) return 2;
                so.blur_sigma = (float)v;
            } else if (!strcmp(a, "-steps")) {
                if (parse_number(a, val, 1, 10000, &v)) return 2;
                so.ig_steps = (int)v;
            } else if (!strcmp(a, "-rise_n")) {
                if (parse_number(a, val, 1, 1e7, &v)) return 2;
                so.rise_n = (int)v;
            } else if (!strcmp(a, "-rise_s")) {
                if (parse_number(a, val, 2, 64, &v)) return 2;
                so.rise_s = (int)v;
            } else if (!strcmp(a, "-rise_p")) {
                if (parse_number(a, val, 1e-3, 1, &v)) return 2;
                so.rise_p = (float)v;
            } else if (!strcmp(a, "-seed")) {
                if (parse_number(a, val, 0, 4294967295.0, &v)) return 2;
                so.seed = (unsigned long)v;
            } else if (!strcmp(a, "-scale")) {
                if (parse_number(a, val, 1, 64, &v)) return 2;
                scale = (int)v;
            } else if (!strcmp(a, "-alpha")) {
                if (parse_number(a, val, 0, 1, &alpha)) return 2;
            } else if (!strcmp(a, "-data")) {
                data = val;
            } else if (!strcmp(a, "-o")) {
                out_dir = val;
            } else {
                fprintf(stderr, "gcam-heatmap: unknown option %s (see --help)\n", a);
                return 2;
            }
        } else if (!cfg) {
            cfg = a;
        } else if (!weights) {
            weights = a;
        } else if (expand(&in, a)) {
            fprintf(stderr, "gcam-heatmap: cannot read %s: %s\n", a, strerror(errno));
            return 1;
        }
    }
    if (!cfg || !weights || in.n == 0) {
        fputs(usage, stderr);
        return 2;
    }
    gcam_error err;
    gcam_data_files files = {0};
    if (data && gcam_data_files_read(&files, data, &err)) {
        fprintf(stderr, "gcam-heatmap: %s\n", err.message);
        return 1;
    }
    gcam_load_options lo = gcam_load_options_default();
    lo.weights = weights;
    lo.batch = 16; /* images per pass: the Group-CAM blends of one call are packed in it */
    gcam_net *net;
    if (gcam_net_load(&net, cfg, &lo, &err) ||
        (!layer_given && gcam_saliency_layer_from_cfg(net, &so.layer, &err)) ||
        gcam_saliency_layer(net, &so, &err) < 0) {
        fprintf(stderr, "gcam-heatmap: %s\n", err.message);
        return 1;
    }
    if (class_given >= net->classes) {
        fprintf(stderr, "gcam-heatmap: -class %d: the network has %d classes\n", class_given,
                net->classes);
        return 2;
    }
    if (gcam_mkdir_p(out_dir, &err)) {
        fprintf(stderr, "gcam-heatmap: %s\n", err.message);
        return 1;
    }
    network *dn = net->dn;
    int cap = net->capacity, H = dn->h, W = dn->w;
    size_t image_floats = (size_t)dn->inputs, hw = (size_t)H * W;
    float *batch = malloc(sizeof(float) * image_floats * cap);
    float *maps = malloc(sizeof(float) * hw * cap);
    int *index = malloc(sizeof(int) * cap), *classes = malloc(sizeof(int) * cap);
    int *used = malloc(sizeof(int) * cap), *constant = malloc(sizeof(int) * cap);
    float *probs = malloc(sizeof(float) * (size_t)net->classes * cap);
    int *order = malloc(sizeof(int) * (size_t)net->classes);
    int failures = 0, next = 0, done = 0;
    while (next < in.n) {
        int n = 0;
        while (n < cap && next < in.n) {
            if (gcam_image_load_for_net(in.paths[next], W, H, dn->c, batch + n * image_floats,
                                        &err) == 0) {
                index[n] = next;
                classes[n++] = class_given;
            } else {
                fprintf(stderr, "gcam-heatmap: skipped: %s\n", err.message);
                ++failures;
            }
            ++next;
        }
        if (n == 0) break;
        memcpy(probs, gcam_net_predict(net, batch, n), sizeof(float) * (size_t)net->classes * n);
        if (gcam_saliency(net, batch, n, classes, &so, maps, used, constant, &err)) {
            fprintf(stderr, "gcam-heatmap: %s\n", err.message);
            return 1;
        }
        for (int i = 0; i < n; ++i) {
            const char *path = in.paths[index[i]];
            char stem[4096], out[8192];
            stem_of(path, stem, sizeof stem);
            int top = net->classes < 5 ? net->classes : 5;
            top_k(probs + (size_t)i * net->classes, net->classes, top, order);
            printf("%s\n", path);
            for (int k = 0; k < top; ++k) {
                int c = order[k];
                float p = probs[(size_t)i * net->classes + c];
                if (files.labels && c < files.n_labels)
                    printf("  %6.2f%%  %s\n", 100 * p, files.labels[c]);
                else
                    printf("  %6.2f%%  class %d\n", 100 * p, c);
            }
            printf("  map of class %d%s%s\n", used[i],
                   files.labels && used[i] < files.n_labels ? " " : "",
                   files.labels && used[i] < files.n_labels ? files.labels[used[i]] : "");
            if (constant[i]) printf("  (the map is constant: written as zeros)\n");
            snprintf(out, sizeof out, "%s/%s_%s.png", out_dir, stem, method_name);
            if (gcam_heatmap_write_png(out, batch + i * image_floats, dn->c, H, W, maps + i * hw,
                                       (float)alpha, scale, &err)) {
                fprintf(stderr, "gcam-heatmap: %s\n", err.message);
                return 1;
            }
            if (raw) {
                size_t dims[2] = {(size_t)H, (size_t)W};
                snprintf(out, sizeof out, "%s/%s_%s.npy", out_dir, stem, method_name);
                if (gcam_npy_write(out, maps + i * hw, dims, 2, &err)) {
                    fprintf(stderr, "gcam-heatmap: %s\n", err.message);
                    return 1;
                }
            }
            ++done;
        }
    }
    if (failures)
        fprintf(stderr, "gcam-heatmap: %d of %d images could not be read\n", failures, in.n);
    fprintf(stderr, "gcam-heatmap: wrote %d heatmaps to %s\n", done, out_dir);
    free(batch);
    free(maps);
    free(index);
    free(classes);
    free(used);
    free(constant);
    free(probs);
    free(order);
    for (int i = 0; i < in.n; ++i) free(in.paths[i]);
    free(in.paths);
    gcam_data_files_free(&files);
    gcam_net_free(net);
    return failures ? 1 : 0;
}
