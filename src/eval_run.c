/* gcam-eval's engine (gcam_eval_run in gcam/eval.h): the evaluation of the .data file's
 * valid= list, then its table, CSV, plots, sanity check and report. */
#include "gcam/eval.h"

#include "gcam/saliency.h"

#include "error.h"
#include "eval_report.h"
#include "evaluate.h"
#include "heatmap.h"

#include <stdlib.h>
#include <string.h>

/* Renders the gallery pictures (before the sanity check changes the weights). */
static void render_gallery(gcam_net *net, const gcam_settings *s, char *const *paths,
                           gcam_gallery_item *items, int n_items) {
    gcam_net_info in = gcam_net_get_info(net);
    size_t hw = (size_t)in.h * in.w;
    float *image = gcam_xmalloc(sizeof(float) * hw * in.c), *map = gcam_xmalloc(sizeof(float) * hw);
    int scale = in.h < 96 ? (96 + in.h - 1) / in.h : 1;
    for (int k = 0; k < n_items; ++k) {
        gcam_error err;
        gcam_gallery_item *it = &items[k];
        if (gcam_eval_map(net, &s->eval, &s->saliency, it->method, paths[it->image], it->cls, image,
                          map, &err)) {
            fprintf(stderr, "gcam-eval: gallery: %s\n", err.message);
            continue;
        }
        it->png = gcam_heatmap_encode_png(image, in.c, in.h, in.w, map, 0.5f, scale, &it->png_size);
    }
    free(image);
    free(map);
}

/* The sanity check, its lines in the table, and its plot. */
static int sanity(gcam_net *net, const gcam_settings *s, const gcam_dataset *ds,
                  gcam_eval_result *r, FILE *out, const volatile sig_atomic_t *stop,
                  gcam_error *err) {
    const gcam_eval_options *o = &s->eval;
    if (gcam_eval_sanity(net, o, &s->saliency, ds->n, ds->paths, r, s->quiet ? NULL : stderr, stop,
                         err))
        return -1;
    if (!r->sanity_depths) return 0; /* abandoned on a stop */
    fprintf(out,
            "sanity check (%d images): mean rank correlation with the trained model's maps after "
            "randomising the top 1 / all %d weighted layers:\n",
            r->sanity_images, r->sanity_depths);
    for (int m = 0; m < o->n_methods && r->sanity_depths > 0; ++m)
        fprintf(out, "  %-10s %6.3f / %6.3f\n", gcam_method_name(o->methods[m]),
                r->sanity_mean[(size_t)m * r->sanity_depths],
                r->sanity_mean[(size_t)m * r->sanity_depths + r->sanity_depths - 1]);
    return 0;
}

static int write_outputs(gcam_net *net, const gcam_settings *s, const char *weights,
                         const gcam_data_files *files, const gcam_dataset *ds, gcam_eval_result *r,
                         FILE *out, const volatile sig_atomic_t *stop, gcam_error *err) {
    const gcam_eval_options *o = &s->eval;
    gcam_net_info in = gcam_net_get_info(net);
    char path[GCAM_PATH_MAX + 32];
    gcam_eval_print_table(out, o, r, in.classes, in.h, in.w);
    fflush(out);
    snprintf(path, sizeof path, "%s/per_image.csv", o->out_dir);
    if (gcam_eval_write_csv(path, o, r, ds->paths, err)) return -1;
    if (r->tta_n_modes) {
        gcam_eval_print_tta(out, &s->tta, r);
        snprintf(path, sizeof path, "%s/tta.csv", o->out_dir);
        if (gcam_eval_write_tta_csv(path, o, r, ds->paths, err)) return -1;
        snprintf(path, sizeof path, "%s/tta_cost.csv", o->out_dir);
        if (gcam_eval_write_tta_cost(path, r, err)) return -1;
    }
    int n_items = 0;
    gcam_gallery_item *items =
        gcam_xcalloc((size_t)o->n_methods * 2 * (o->gallery + 1), sizeof *items);
    if (o->gallery > 0) {
        n_items = gcam_eval_pick_gallery(o, r, o->gallery, items);
        render_gallery(net, s, ds->paths, items, n_items);
    }
    int status = o->sanity_images > 0 && o->n_methods && !(stop && *stop)
                     ? sanity(net, s, ds, r, out, stop, err)
                     : 0;
    if (!status) status = gcam_eval_write_plots(o->out_dir, o, r, err);
    if (!status) {
        gcam_report_context ctx = {.cfg = s->cfg_path,
                                   .weights = weights,
                                   .data = s->data_path,
                                   .tta = &s->tta,
                                   .paths = ds->paths,
                                   .class_names = files->labels,
                                   .classes = in.classes,
                                   .h = in.h,
                                   .w = in.w};
        snprintf(path, sizeof path, "%s/report.html", o->out_dir);
        status = gcam_eval_write_html(path, &ctx, o, r, items, n_items, err);
    }
    for (int k = 0; k < n_items; ++k) free(items[k].png);
    free(items);
    if (!status)
        fprintf(out, "wrote %s/{per_image.csv,%s%sreport.html}\n", o->out_dir,
                r->tta_n_modes ? "tta.csv,tta_cost.csv," : "",
                !o->n_methods          ? ""
                : r->sanity_depths > 0 ? "curves.png,curves.svg,sanity.png,sanity.svg,"
                                       : "curves.png,curves.svg,");
    return status;
}

int gcam_eval_run(const gcam_settings *s, const char *weights, FILE *out, int *unreadable,
                  const volatile sig_atomic_t *stop, gcam_error *err) {
    const gcam_eval_options *o = &s->eval;
    *unreadable = 0;
    gcam_data_files files = {0};
    gcam_dataset ds = {0};
    gcam_boxes boxes = {0};
    gcam_net *net = NULL;
    gcam_eval_result r = {0};
    int status = -1;
    if (!s->data_path[0]) {
        gcam_fail(err, "no data set: give -data DIR|FILE or data= in [gcam]");
        goto done;
    }
    if (gcam_data_open(&files, s->data_path, &s->split, err)) goto done;
    if (!gcam_data_has_split(&files, 1)) {
        gcam_fail(err, "%s: no %s to evaluate", s->data_path,
                  files.folder ? "validation images (valid_fraction=0 and no valid/ folder)"
                               : "valid= list");
        goto done;
    }
    if (gcam_data_load_split(&files, 1, &ds, err)) goto done;
    if (o->boxes[0] && gcam_boxes_read(&boxes, o->boxes, err)) goto done;
    gcam_load_options lo = gcam_load_options_default();
    lo.batch = o->batch;
    lo.weights = weights;
    if (gcam_net_load(&net, s->cfg_path, &lo, err)) goto done;
    gcam_net_info in = gcam_net_get_info(net);
    if (gcam_data_check_classes(&files, s->data_path, s->cfg_path, in.classes, err)) goto done;
    if (gcam_saliency_layer(net, &s->saliency, err) < 0 || gcam_mkdir_p(o->out_dir, err) ||
        gcam_evaluate(net, o, &s->saliency, &s->tta, ds.n, ds.paths, ds.labels,
                      o->boxes[0] ? &boxes : NULL, s->quiet ? NULL : stderr, stop, &r, err) ||
        (r.n_images && write_outputs(net, s, weights, &files, &ds, &r, out, stop, err)))
        goto done;
    *unreadable = r.unreadable;
    if (r.unreadable)
        fprintf(stderr, "gcam-eval: %d unreadable images were counted and skipped\n", r.unreadable);
    status = stop ? *stop : 0;
    if (status)
        fprintf(stderr, "gcam-eval: stopped: %s %d of %d images\n",
                r.n_images ? "the outputs cover the" : "nothing written;", r.n_images,
                o->limit > 0 && o->limit < ds.n ? o->limit : ds.n);
done:
    gcam_eval_result_free(&r);
    gcam_net_free(net);
    gcam_boxes_free(&boxes);
    gcam_dataset_free(&ds);
    gcam_data_files_free(&files);
    return status;
}
