/* gcam-predict: class probabilities of images under a Darknet classifier. */
#include "datacfg.h"
#include "gcam.h"
#include "image.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: gcam-predict CFG WEIGHTS IMAGE... [-data FILE] [-top K] [-probs OUT.npy]\n"
    "\n"
    "Prints the top-K classes and probabilities of each image.\n"
    "  -data FILE     Darknet .data file; its names= (else labels=) file names the classes\n"
    "  -top K         classes to print per image (default 5, or top= from -data)\n"
    "  -probs OUT     write all probabilities as float32 [images][classes] (.npy)\n"
    "  --help         show this help\n"
    "Images of the network's input size are used as they are; others are resized to it\n"
    "with a triangle (bilinear) filter that averages when shrinking; the aspect ratio is\n"
    "not kept. Unreadable images are reported and skipped; the exit status is then 1.\n"
    "GCAM_KERNELS=darknet runs Darknet's own kernels instead of gcam's.\n";

typedef struct predict_args {
    const char *cfg, *weights, *data, *probs;
    const char **images;
    int n_images, top;
} predict_args;

static int parse_args(int argc, char **argv, predict_args *a) {
    memset(a, 0, sizeof *a);
    a->top = -1;
    a->images = calloc((size_t)argc, sizeof(char *));
    int positional = 0;
    for (int i = 1; i < argc; ++i) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            fputs(usage, stdout);
            exit(0);
        } else if (!strcmp(arg, "-data") || !strcmp(arg, "-top") || !strcmp(arg, "-probs")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "gcam-predict: %s needs a value\n", arg);
                return -1;
            }
            const char *v = argv[++i];
            if (!strcmp(arg, "-data"))
                a->data = v;
            else if (!strcmp(arg, "-probs"))
                a->probs = v;
            else {
                char *end;
                long k = strtol(v, &end, 10);
                if (*end || k < 1 || k > 1000000) {
                    fprintf(stderr, "gcam-predict: -top %s: expected a positive integer\n", v);
                    return -1;
                }
                a->top = (int)k;
            }
        } else if (arg[0] == '-' && arg[1]) {
            fprintf(stderr, "gcam-predict: unknown option %s (see --help)\n", arg);
            return -1;
        } else if (positional == 0) {
            a->cfg = arg, ++positional;
        } else if (positional == 1) {
            a->weights = arg, ++positional;
        } else {
            a->images[a->n_images++] = arg;
        }
    }
    if (!a->cfg || !a->weights || a->n_images == 0) {
        fputs(usage, stderr);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    predict_args a;
    if (parse_args(argc, argv, &a)) return 2;
    gcam_error err = {0};
    char **labels = NULL;
    int n_labels = 0;
    if (a.data) {
        gcam_datacfg d;
        int status = gcam_datacfg_read(&d, a.data, &err);
        /* As in Darknet's classifier: names= if present, else labels=. */
        const char *labels_path = status ? NULL : gcam_datacfg_get(&d, "names");
        if (!status && !labels_path) labels_path = gcam_datacfg_get(&d, "labels");
        const char *top = status ? NULL : gcam_datacfg_get(&d, "top");
        if (!status && top && a.top < 0) a.top = atoi(top);
        if (!status && labels_path) status = gcam_lines_read(labels_path, &labels, &n_labels, &err);
        gcam_datacfg_free(&d);
        if (status) {
            fprintf(stderr, "gcam-predict: %s\n", err.message);
            return 1;
        }
    }
    if (a.top < 1) a.top = 5;

    gcam_load_options opt = gcam_load_options_default();
    opt.weights = a.weights;
    opt.batch = a.n_images < 16 ? a.n_images : 16;
    gcam_net *net;
    if (gcam_net_load(&net, a.cfg, &opt, &err)) {
        fprintf(stderr, "gcam-predict: %s\n", err.message);
        return 1;
    }
    if (labels && n_labels != net->classes)
        fprintf(stderr, "gcam-predict: warning: %d labels for %d classes\n", n_labels,
                net->classes);
    network *dn = net->dn;
    int classes = net->classes, top = a.top < classes ? a.top : classes;
    float *probs = calloc((size_t)a.n_images * classes, sizeof(float));   /* (images, classes) */
    float *batch = calloc((size_t)dn->inputs * dn->batch, sizeof(float)); /* (batch, c, h, w) */
    int *order = malloc(sizeof(int) * (size_t)classes);
    int failures = 0;
    for (int start = 0; start < a.n_images; start += dn->batch) {
        int n = a.n_images - start < dn->batch ? a.n_images - start : dn->batch;
        int ok[16];
        for (int i = 0; i < n; ++i) {
            ok[i] = gcam_image_load_for_net(a.images[start + i], dn->w, dn->h, dn->c,
                                            batch + (size_t)i * dn->inputs, &err) == 0;
            if (!ok[i]) {
                fprintf(stderr, "gcam-predict: skipped: %s\n", err.message);
                ++failures;
            }
        }
        const float *out = gcam_net_predict(net, batch, n);
        for (int i = 0; i < n; ++i) {
            float *p = probs + (size_t)(start + i) * classes;
            if (!ok[i]) { /* NaN marks a skipped image in the .npy */
                for (int k = 0; k < classes; ++k) p[k] = NAN;
                continue;
            }
            memcpy(p, out + (size_t)i * classes, sizeof(float) * classes);
            top_k(p, classes, top, order);
            printf("%s\n", a.images[start + i]);
            for (int k = 0; k < top; ++k) {
                int c = order[k];
                if (labels && c < n_labels)
                    printf("  %6.2f%%  %s\n", 100 * p[c], labels[c]);
                else
                    printf("  %6.2f%%  class %d\n", 100 * p[c], c);
            }
        }
    }
    int status = failures ? 1 : 0;
    if (a.probs) {
        size_t dims[2] = {(size_t)a.n_images, (size_t)classes};
        if (gcam_npy_write(a.probs, probs, dims, 2, &err)) {
            fprintf(stderr, "gcam-predict: %s\n", err.message);
            status = 1;
        }
    }
    if (failures)
        fprintf(stderr, "gcam-predict: %d of %d images could not be read\n", failures, a.n_images);
    free(order);
    free(batch);
    free(probs);
    gcam_lines_free(labels, n_labels);
    free(a.images);
    gcam_net_free(net);
    return status;
}
