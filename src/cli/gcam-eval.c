/* gcam-eval: how faithful are a checkpoint's heatmaps? Deletion and insertion AUC,
 * pointing game, time per image and the sanity check, per saliency method, with a table,
 * a CSV, plots and an HTML report. */
#include "atomic_file.h"
#include "dataset.h"
#include "error.h"
#include "evaluate.h"
#include "heatmap.h"
#include "report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: gcam-eval CFG WEIGHTS -data FILE [options]\n"
    "\n"
    "Scores saliency methods on the images of the .data file's valid= list, at each\n"
    "image's true class: deletion and insertion curves and their AUC (the Group-CAM\n"
    "protocol: deletion replaces pixels in decreasing saliency with zeros, insertion\n"
    "starts from the blurred image; each step changes 1/28 of the pixels), the pointing\n"
    "game where boxes are given (with a centre-point baseline), time per image, and the\n"
    "cascading-randomisation sanity check.\n"
    "  -methods LIST   comma-separated, from groupcam, gradcam, gradcampp, igcam,\n"
    "                  scorecam, rise (default: all six)\n"
    "  -limit N        the first N images of the list (default: all)\n"
    "  -boxes FILE     'path x0 y0 x1 y1' lines (image pixels, end exclusive), e.g.\n"
    "                  data/cluttered/valid_boxes.txt, for the pointing game\n"
    "  -step P         pixels changed per curve step (default: 1/28 of the input)\n"
    "  -class C        true (default) or predicted: the class explained\n"
    "  -tolerance T    pointing-game tolerance in input pixels (default 15 at 224, scaled)\n"
    "  -o DIR          output folder (default eval)\n"
    "  -sanity N       images in the sanity check (default 16; 0: skip it)\n"
    "  -gallery K      best and worst K images per method in the report (default 3)\n"
    "  -batch B        images per forward pass (default 64)\n"
    "  -layer L, -groups G, -steps M, -rise_n N, -rise_s S, -rise_p P, -seed S\n"
    "                  saliency settings as in gcam-heatmap (defaults: the cfg's [gcam]\n"
    "                  saliency_layer or auto, 32, 50, 400, 7, 0.5, 0)\n"
    "  -quiet          no progress bar\n"
    "Writes DIR/per_image.csv (image,method,class,deletion_auc,insertion_auc,\n"
    "pointing_hit,seconds), DIR/curves.png (mean deletion curves left, insertion right;\n"
    "colours in -methods order: red, blue, green, orange, purple, brown), DIR/sanity.png\n"
    "and DIR/report.html (self-contained: opens with no network). Unreadable images are\n"
    "counted and reported. Exit status: 0 done, 1 error, 2 bad arguments.\n";

static int parse_number(const char *opt, const char *v, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || *end || end == v || x < lo || x > hi) {
        fprintf(stderr, "gcam-eval: %s %s: expected a number in [%g, %g]\n", opt, v, lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

static int parse_methods(const char *list, gcam_eval_options *o) {
    char *copy = gcam_xstrdup(list), *save = NULL;
    o->n_methods = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int m = gcam_method_from_name(tok);
        if (m < 0 || o->n_methods == GCAM_EVAL_MAX_METHODS) {
            fprintf(stderr, "gcam-eval: -methods: %s '%s' (see --help)\n",
                    m < 0 ? "unknown method" : "too many methods at", tok);
            free(copy);
            return -1;
        }
        for (int k = 0; k < o->n_methods; ++k)
            if (o->methods[k] == (gcam_method)m) {
                fprintf(stderr, "gcam-eval: -methods: '%s' given twice\n", tok);
                free(copy);
                return -1;
            }
        o->methods[o->n_methods++] = (gcam_method)m;
    }
    free(copy);
    if (!o->n_methods) fprintf(stderr, "gcam-eval: -methods: empty list\n");
    return o->n_methods ? 0 : -1;
}

typedef struct arguments {
    const char *cfg, *weights, *data, *boxes, *out_dir;
    int batch, gallery, layer_given;
    gcam_eval_options o;
} arguments;

/* 0 ok, 1 help printed, 2 bad arguments. */
static int parse_arguments(int argc, char **argv, arguments *a) {
    memset(a, 0, sizeof *a);
    gcam_eval_options_default(&a->o);
    a->out_dir = "eval";
    a->batch = 64;
    a->gallery = 3;
    a->o.progress = stderr;
    /* RISE is the slowest method by far (one forward per mask): 400 masks keep six
     * methods on 1,000 Fashion-MNIST images within 10 minutes on 2 cores; the README
     * compares 400 with 1,000. Give -rise_n 4000 for the paper's 224x224 protocol. */
    a->o.saliency.rise_n = 400;
    for (int i = 1; i < argc; ++i) {
        const char *s = argv[i];
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            fputs(usage, stdout);
            return 1;
        }
        if (s[0] != '-') {
            if (!a->cfg)
                a->cfg = s;
            else if (!a->weights)
                a->weights = s;
            else {
                fprintf(stderr, "gcam-eval: unexpected argument %s (see --help)\n", s);
                return 2;
            }
            continue;
        }
        if (!strcmp(s, "-quiet")) {
            a->o.progress = NULL;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "gcam-eval: %s needs a value (see --help)\n", s);
            return 2;
        }
        const char *v = argv[++i];
        double x = 0;
        gcam_saliency_options *so = &a->o.saliency;
        int bad = 0;
        if (!strcmp(s, "-data"))
            a->data = v;
        else if (!strcmp(s, "-boxes"))
            a->boxes = v;
        else if (!strcmp(s, "-o"))
            a->out_dir = v;
        else if (!strcmp(s, "-methods"))
            bad = parse_methods(v, &a->o);
        else if (!strcmp(s, "-class")) {
            if (strcmp(v, "true") && strcmp(v, "predicted")) {
                fprintf(stderr, "gcam-eval: -class %s: expected true or predicted\n", v);
                return 2;
            }
            a->o.predicted = !strcmp(v, "predicted");
        } else if (!strcmp(s, "-limit"))
            bad = parse_number(s, v, 1, 1e9, &x), a->o.limit = (int)x;
        else if (!strcmp(s, "-step"))
            bad = parse_number(s, v, 1, 1e8, &x), a->o.step = (int)x;
        else if (!strcmp(s, "-tolerance"))
            bad = parse_number(s, v, 0.01, 1e5, &x), a->o.tolerance = (float)x;
        else if (!strcmp(s, "-sanity"))
            bad = parse_number(s, v, 0, 4096, &x), a->o.sanity_images = (int)x;
        else if (!strcmp(s, "-gallery"))
            bad = parse_number(s, v, 0, 50, &x), a->gallery = (int)x;
        else if (!strcmp(s, "-batch"))
            bad = parse_number(s, v, 1, 4096, &x), a->batch = (int)x;
        else if (!strcmp(s, "-layer"))
            bad = parse_number(s, v, -1e6, 1e6, &x), so->layer = (int)x, a->layer_given = 1;
        else if (!strcmp(s, "-groups"))
            bad = parse_number(s, v, 1, 4096, &x), so->groups = (int)x;
        else if (!strcmp(s, "-steps"))
            bad = parse_number(s, v, 1, 10000, &x), so->ig_steps = (int)x;
        else if (!strcmp(s, "-rise_n"))
            bad = parse_number(s, v, 1, 1e7, &x), so->rise_n = (int)x;
        else if (!strcmp(s, "-rise_s"))
            bad = parse_number(s, v, 2, 64, &x), so->rise_s = (int)x;
        else if (!strcmp(s, "-rise_p"))
            bad = parse_number(s, v, 1e-3, 1, &x), so->rise_p = (float)x;
        else if (!strcmp(s, "-seed"))
            bad = parse_number(s, v, 0, 4294967295.0, &x), so->seed = (unsigned long)x;
        else {
            fprintf(stderr, "gcam-eval: unknown option %s (see --help)\n", s);
            return 2;
        }
        if (bad) return 2;
    }
    if (!a->cfg || !a->weights || !a->data) {
        fputs("gcam-eval: CFG, WEIGHTS and -data FILE are required\n\n", stderr);
        fputs(usage, stderr);
        return 2;
    }
    a->o.chunk = a->batch < 16 ? a->batch : 16;
    return 0;
}

/* Renders the gallery pictures (before the sanity check changes the weights). */
static void render_gallery(gcam_net *net, const arguments *a, char *const *paths,
                           gcam_gallery_item *items, int n_items) {
    network *dn = net->dn;
    size_t hw = (size_t)dn->h * dn->w;
    float *image = gcam_xmalloc(sizeof(float) * hw * dn->c),
          *map = gcam_xmalloc(sizeof(float) * hw);
    int scale = dn->h < 96 ? (96 + dn->h - 1) / dn->h : 1;
    for (int k = 0; k < n_items; ++k) {
        gcam_error err;
        gcam_gallery_item *it = &items[k];
        if (gcam_eval_map(net, &a->o, it->method, paths[it->image], it->cls, image, map, &err)) {
            fprintf(stderr, "gcam-eval: gallery: %s\n", err.message);
            continue;
        }
        it->png =
            gcam_heatmap_encode_png(image, dn->c, dn->h, dn->w, map, 0.5f, scale, &it->png_size);
    }
    free(image);
    free(map);
}

static int write_outputs(gcam_net *net, const arguments *a, const gcam_data_files *files,
                         const gcam_dataset *ds, gcam_eval_result *r, gcam_error *err) {
    network *dn = net->dn;
    char path[8192];
    gcam_report_protocol(stdout, &a->o, r, dn->h, dn->w);
    gcam_report_table(stdout, &a->o, r, net->classes);
    fflush(stdout);
    snprintf(path, sizeof path, "%s/curves.png", a->out_dir);
    if (gcam_report_curves_png(path, &a->o, r, err)) return -1;
    int n_items = 0;
    gcam_gallery_item *items =
        gcam_xcalloc((size_t)a->o.n_methods * 2 * (a->gallery + 1), sizeof *items);
    if (a->gallery > 0) {
        n_items = gcam_report_pick_gallery(&a->o, r, a->gallery, items);
        render_gallery(net, a, ds->paths, items, n_items);
    }
    int status = 0;
    if (a->o.sanity_images > 0) {
        status = gcam_eval_sanity(net, &a->o, ds->n, ds->paths, r, err);
        if (!status) {
            snprintf(path, sizeof path, "%s/sanity.png", a->out_dir);
            status = gcam_report_sanity_png(path, &a->o, r, err);
            printf("sanity check (%d images): mean rank correlation with the trained model's "
                   "maps after randomising the top 1 / all %d weighted layers:\n",
                   r->sanity_images, r->sanity_depths);
            for (int m = 0; m < a->o.n_methods && !status; ++m)
                printf("  %-10s %6.3f / %6.3f\n", gcam_method_name(a->o.methods[m]),
                       r->sanity_mean[(size_t)m * r->sanity_depths],
                       r->sanity_mean[(size_t)m * r->sanity_depths + r->sanity_depths - 1]);
        }
    }
    if (!status) {
        gcam_report_context ctx = {
            a->cfg,       a->weights, a->data, ds->paths, (const char *const *)files->labels,
            net->classes, dn->h,      dn->w};
        snprintf(path, sizeof path, "%s/report.html", a->out_dir);
        status = gcam_report_html(path, &ctx, &a->o, r, items, n_items, err);
    }
    for (int k = 0; k < n_items; ++k) free(items[k].png);
    free(items);
    if (!status) printf("wrote %s/{per_image.csv,curves.png,sanity.png,report.html}\n", a->out_dir);
    return status;
}

int main(int argc, char **argv) {
    arguments a;
    int parsed = parse_arguments(argc, argv, &a);
    if (parsed) return parsed == 1 ? 0 : 2;
    gcam_error err;
    gcam_data_files files = {0};
    gcam_dataset ds = {0};
    gcam_boxes boxes = {0};
    gcam_net *net = NULL;
    gcam_eval_result r = {0};
    int status = 1, failed = 1;
    if (gcam_data_files_read(&files, a.data, &err)) goto done;
    if (!files.valid) {
        gcam_fail(&err, "%s: no valid= list to evaluate", a.data);
        goto done;
    }
    if (gcam_dataset_load(&ds, files.valid, files.labels, files.n_labels, files.classes, &err))
        goto done;
    if (a.boxes && gcam_boxes_read(&boxes, a.boxes, &err)) goto done;
    gcam_load_options lo = gcam_load_options_default();
    lo.batch = a.batch;
    lo.weights = a.weights;
    if (gcam_net_load(&net, a.cfg, &lo, &err)) goto done;
    if (net->classes != files.classes) {
        gcam_fail(&err, "%s has %d outputs but %s says classes=%d", a.cfg, net->classes, a.data,
                  files.classes);
        goto done;
    }
    if ((!a.layer_given && gcam_saliency_layer_from_cfg(net, &a.o.saliency.layer, &err)) ||
        gcam_saliency_layer(net, &a.o.saliency, &err) < 0)
        goto done;
    if (gcam_mkdir_p(a.out_dir, &err)) goto done;
    char csv_path[8192];
    snprintf(csv_path, sizeof csv_path, "%s/per_image.csv", a.out_dir);
    atomic_file csv;
    if (atomic_file_open(&csv, csv_path, &err)) goto done;
    if (gcam_evaluate(net, &a.o, ds.n, ds.paths, ds.labels, a.boxes ? &boxes : NULL, csv.stream, &r,
                      &err)) {
        atomic_file_abort(&csv);
        goto done;
    }
    if (atomic_file_commit(&csv, &err)) goto done;
    if (write_outputs(net, &a, &files, &ds, &r, &err)) goto done;
    failed = 0;
    status = r.unreadable ? 1 : 0;
    if (r.unreadable)
        fprintf(stderr, "gcam-eval: %d unreadable images were counted and skipped\n", r.unreadable);
done:
    if (failed) fprintf(stderr, "gcam-eval: %s\n", err.message);
    gcam_eval_result_free(&r);
    gcam_net_free(net);
    gcam_boxes_free(&boxes);
    gcam_dataset_free(&ds);
    gcam_data_files_free(&files);
    return status;
}
