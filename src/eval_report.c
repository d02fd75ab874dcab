/* gcam-eval's outputs (see eval_report.h). */
#include "eval_report.h"

#include "atomic_file.h"
#include "error.h"
#include "image_ops.h"
#include "metrics.h"
#include "plot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- summaries -------------------------------------------------------------------- */

/* Mean over classes of the per-class hit rate, with its standard error. */
static double pointing_by_class(const int *hits, const int *counts, int classes, double *se) {
    double sum = 0, var = 0;
    int present = 0;
    for (int c = 0; c < classes; ++c) {
        if (!counts[c]) continue;
        double p = (double)hits[c] / counts[c];
        sum += p;
        var += p * (1 - p) / counts[c];
        ++present;
    }
    *se = present ? sqrt(var) / present : 0;
    return present ? sum / present : -1;
}

void gcam_eval_summarise(const gcam_eval_options *o, const gcam_eval_result *r, int classes,
                         gcam_method_summary *out) {
    int M = o->n_methods, n = r->n_images;
    double *del = gcam_xmalloc(sizeof(double) * (size_t)(n + 1));
    double *ins = gcam_xmalloc(sizeof(double) * (size_t)(n + 1));
    int *hits = gcam_xcalloc((size_t)classes + 1, sizeof(int));
    int *counts = gcam_xcalloc((size_t)classes + 1, sizeof(int));
    for (int m = 0; m < M; ++m) {
        gcam_method_summary *s = &out[m];
        memset(s, 0, sizeof *s);
        memset(hits, 0, sizeof(int) * (size_t)classes);
        memset(counts, 0, sizeof(int) * (size_t)classes);
        for (int i = 0; i < n; ++i) {
            const gcam_eval_record *rec = &r->records[(size_t)i * M + m];
            del[i] = rec->deletion_auc;
            ins[i] = rec->insertion_auc;
            s->seconds += rec->seconds;
            s->failures += rec->failed;
            if (rec->pointing_hit >= 0 && rec->cls >= 0 && rec->cls < classes) {
                ++counts[rec->cls];
                hits[rec->cls] += rec->pointing_hit;
            }
        }
        gcam_mean_se(del, n, &s->deletion, &s->deletion_se);
        gcam_mean_se(ins, n, &s->insertion, &s->insertion_se);
        s->seconds = n ? s->seconds / n : 0;
        s->pointing = pointing_by_class(hits, counts, classes, &s->pointing_se);
    }
    free(del);
    free(ins);
    free(hits);
    free(counts);
}

double gcam_eval_center_pointing(const gcam_eval_options *o, const gcam_eval_result *r, int classes,
                                 double *se) {
    int *hits = gcam_xcalloc((size_t)classes + 1, sizeof(int));
    int *counts = gcam_xcalloc((size_t)classes + 1, sizeof(int));
    for (int i = 0; i < r->n_images; ++i) {
        int cls = r->records[(size_t)i * o->n_methods].cls;
        if (r->center[i] < 0 || cls < 0 || cls >= classes) continue;
        ++counts[cls];
        hits[cls] += r->center[i];
    }
    double p = pointing_by_class(hits, counts, classes, se);
    free(hits);
    free(counts);
    return p;
}

void gcam_eval_print_protocol(FILE *out, const gcam_eval_options *o, const gcam_eval_result *r,
                              int h, int w) {
    int size;
    float sigma;
    gcam_blur_parameters(h, w, &size, &sigma);
    fprintf(out,
            "%d images (%d unreadable, not scored), %dx%d input, class explained: %s. "
            "Deletion: pixels in decreasing saliency replaced by zeros (input space), %d "
            "pixels per step, %d points. Insertion: from the blurred image (Gaussian %d px, "
            "sigma %.1f) back to the image, same order. AUC: trapezoid rule on [0, 1]. ",
            r->n_images, r->unreadable, w, h, o->predicted ? "predicted" : "true", r->step,
            r->points, size, sigma);
    if (r->with_boxes)
        fprintf(out,
                "Pointing game: the map's maximum within %.1f px (15 px at 224, scaled) of the "
                "box, on %d images with boxes; mean over classes. ",
                r->tolerance, r->with_boxes);
    for (int m = 0; m < o->n_methods; ++m)
        if (o->methods[m] == GCAM_METHOD_RISE)
            fprintf(out, "RISE: %d masks (eval_rise_n). ", o->rise_n);
    fprintf(out, "Constant maps are failures: counted, and scored with pixel order.\n");
}

static void format_pm(char *buf, size_t size, double v, double se, int percent) {
    if (v < 0)
        snprintf(buf, size, "-");
    else if (percent)
        snprintf(buf, size, "%.1f%% +- %.1f", 100 * v, 100 * se);
    else
        snprintf(buf, size, "%.4f +- %.4f", v, se);
}

void gcam_eval_print_table(FILE *out, const gcam_eval_options *o, const gcam_eval_result *r,
                           int classes, int h, int w) {
    gcam_eval_print_protocol(out, o, r, h, w);
    gcam_method_summary s[GCAM_METHOD_COUNT];
    gcam_eval_summarise(o, r, classes, s);
    fprintf(out, "%-10s %-20s %-20s %-16s %9s %8s\n", "method", "deletion (lower)",
            "insertion (higher)", "pointing game", "s/image", "failures");
    for (int m = 0; m < o->n_methods; ++m) {
        char d[48], in[48], p[48];
        format_pm(d, sizeof d, s[m].deletion, s[m].deletion_se, 0);
        format_pm(in, sizeof in, s[m].insertion, s[m].insertion_se, 0);
        format_pm(p, sizeof p, s[m].pointing, s[m].pointing_se, 1);
        fprintf(out, "%-10s %-20s %-20s %-16s %9.4f %8d\n", gcam_method_name(o->methods[m]), d, in,
                p, s[m].seconds, s[m].failures);
    }
    double se, center = gcam_eval_center_pointing(o, r, classes, &se);
    if (center >= 0) {
        char p[48];
        format_pm(p, sizeof p, center, se, 1);
        fprintf(out, "%-10s %-20s %-20s %-16s\n", "center", "-", "-", p);
    }
}

/* ---- test-time crops ------------------------------------------------------------- */

/* Top-1 of mode m over the images, with its standard error. */
static double tta_top1(const gcam_eval_result *r, int m, double *se) {
    int M = r->tta_n_modes, n = r->n_images, hits = 0;
    for (int i = 0; i < n; ++i) hits += r->tta_predicted[(size_t)i * M + m] == r->labels[i];
    double p = n ? (double)hits / n : 0;
    *se = n > 1 ? sqrt(p * (1 - p) / n) : 0;
    return p;
}

/* The paired difference of top-1, mode a minus mode b on the same images, and the half
 * width of its 95 % interval (normal approximation of the per-image differences). */
static double tta_paired_difference(const gcam_eval_result *r, int a, int b, double *half) {
    int M = r->tta_n_modes, n = r->n_images;
    double sum = 0, sum2 = 0;
    for (int i = 0; i < n; ++i) {
        int d = (r->tta_predicted[(size_t)i * M + a] == r->labels[i]) -
                (r->tta_predicted[(size_t)i * M + b] == r->labels[i]);
        sum += d, sum2 += d * d;
    }
    double mean = n ? sum / n : 0, var = n > 1 ? (sum2 - n * mean * mean) / (n - 1) : 0;
    *half = n > 1 ? 1.96 * sqrt(var / n) : 0;
    return mean;
}

/* Where the crop mode's box fell: how many images with a box had it hold the item
 * (GCAM_FOCUS_HOLDS of the item's box inside), the mean share inside, and the crop mode's
 * hits among the images where it held and where it missed. 0 without boxes. */
static int focus_counts(const gcam_eval_result *r, int crop, int *holds, double *mean_cover,
                        int *hits_held, int *hits_missed) {
    int M = r->tta_n_modes, with_box = 0;
    *holds = *hits_held = *hits_missed = 0;
    *mean_cover = 0;
    for (int i = 0; i < r->n_images; ++i) {
        float cover = r->tta_crop_cover[i];
        if (!isfinite(cover)) continue;
        int held = cover >= GCAM_FOCUS_HOLDS,
            hit = r->tta_predicted[(size_t)i * M + crop] == r->labels[i];
        ++with_box;
        *mean_cover += cover;
        *holds += held;
        *hits_held += held && hit;
        *hits_missed += !held && hit;
    }
    if (with_box) *mean_cover /= with_box;
    return with_box;
}

void gcam_eval_print_tta(FILE *out, const gcam_tta_options *tta, const gcam_eval_result *r) {
    if (!r->tta_n_modes) return;
    fprintf(out,
            "test-time crops on %d images (logits of the whole image averaged with %s; "
            "%s map at the predicted class, box at %g of its maximum, enlarged %gx; cost per "
            "image in multiply-adds and measured milliseconds):\n",
            r->n_images, tta->steps > 1 ? "each crop's, crops in a row" : "a crop's",
            gcam_method_name(tta->method), tta->threshold, tta->margin);
    if (tta->steps > 1)
        fprintf(out, "  (%d crops in a row in crop, center and random)\n", tta->steps);
    int crop = -1;
    for (int m = 0; m < r->tta_n_modes; ++m)
        if (r->tta_modes[m] == GCAM_TTA_CROP) crop = m;
    for (int m = 0; m < r->tta_n_modes; ++m) {
        gcam_tta_mode mode = r->tta_modes[m];
        double se, top1 = tta_top1(r, m, &se);
        fprintf(out, "  %-7s top-1 %6.2f%% +- %.2f  %7.2f M  %6.2f ms", gcam_tta_mode_name(mode),
                100 * top1, 100 * se, r->tta_multiply_adds[mode] / 1e6,
                r->n_images ? 1e3 * r->tta_seconds[mode] / r->n_images : 0);
        if (crop >= 0 && m != crop) {
            double half, d = tta_paired_difference(r, crop, m, &half);
            fprintf(out, "   crop - %s: %+.2f pp [95%% %+.2f, %+.2f]", gcam_tta_mode_name(mode),
                    100 * d, 100 * (d - half), 100 * (d + half));
        }
        fputc('\n', out);
    }
    int holds, hits_held, hits_missed;
    double cover;
    int with_box = crop >= 0 ? focus_counts(r, crop, &holds, &cover, &hits_held, &hits_missed) : 0;
    if (with_box)
        fprintf(out,
                "  the crop's box holds the item (%.0f%% of its box inside) on %.2f%% of %d images "
                "(mean share inside %.1f%%); crop top-1 %.2f%% where it holds, %.2f%% where it "
                "misses\n",
                100 * GCAM_FOCUS_HOLDS, 100.0 * holds / with_box, with_box, 100 * cover,
                holds ? 100.0 * hits_held / holds : 0,
                with_box > holds ? 100.0 * hits_missed / (with_box - holds) : 0);
}

int gcam_eval_write_tta_cost(const char *path, const gcam_eval_result *r, gcam_error *err) {
    gcam_atomic_file f;
    if (gcam_atomic_file_open(&f, path, err)) return -1;
    fputs("mode,multiply_adds,seconds\n", f.stream);
    for (int m = 0; m < r->tta_n_modes; ++m) {
        gcam_tta_mode mode = r->tta_modes[m];
        fprintf(f.stream, "%s,%.0f,%.6g\n", gcam_tta_mode_name(mode), r->tta_multiply_adds[mode],
                r->n_images ? r->tta_seconds[mode] / r->n_images : 0);
    }
    return gcam_atomic_file_commit(&f, err);
}

static void csv_field(FILE *f, const char *text);

int gcam_eval_write_tta_csv(const char *path, const gcam_eval_options *o, const gcam_eval_result *r,
                            char *const *paths, gcam_error *err) {
    gcam_atomic_file f;
    if (gcam_atomic_file_open(&f, path, err)) return -1;
    int M = r->tta_n_modes, covered = 0;
    for (int i = 0; i < r->n_images && !covered; ++i) covered = isfinite(r->tta_crop_cover[i]);
    fputs("image,label", f.stream);
    for (int m = 0; m < M; ++m) fprintf(f.stream, ",%s", gcam_tta_mode_name(r->tta_modes[m]));
    fputs(covered ? ",crop_cover\n" : "\n", f.stream);
    for (int i = 0; i < r->n_images; ++i) {
        csv_field(f.stream, paths[r->images[i]]);
        fprintf(f.stream, ",%d", r->labels[i]);
        for (int m = 0; m < M; ++m) fprintf(f.stream, ",%d", r->tta_predicted[(size_t)i * M + m]);
        if (covered && isfinite(r->tta_crop_cover[i]))
            fprintf(f.stream, ",%.4f", r->tta_crop_cover[i]);
        else if (covered)
            fputc(',', f.stream);
        fputc('\n', f.stream);
    }
    return gcam_atomic_file_commit(&f, err);
}

/* ---- CSV -------------------------------------------------------------------------- */

/* A field as RFC 4180 says: quoted when it holds a comma, a quote or a line break, with
 * its quotes doubled. */
static void csv_field(FILE *f, const char *text) {
    if (!strpbrk(text, ",\"\r\n")) {
        fputs(text, f);
        return;
    }
    fputc('"', f);
    for (const char *c = text; *c; ++c) {
        if (*c == '"') fputc('"', f);
        fputc(*c, f);
    }
    fputc('"', f);
}

int gcam_eval_write_csv(const char *path, const gcam_eval_options *o, const gcam_eval_result *r,
                        char *const *paths, gcam_error *err) {
    gcam_atomic_file f;
    if (gcam_atomic_file_open(&f, path, err)) return -1;
    fputs("image,method,class,deletion_auc,insertion_auc,pointing_hit,seconds\n", f.stream);
    int M = o->n_methods;
    for (int i = 0; i < r->n_images; ++i)
        for (int m = 0; m < M; ++m) {
            const gcam_eval_record *rec = &r->records[(size_t)i * M + m];
            csv_field(f.stream, paths[rec->image]);
            fprintf(f.stream, ",%s,%d,%.6f,%.6f,", gcam_method_name(o->methods[m]), rec->cls,
                    rec->deletion_auc, rec->insertion_auc);
            if (rec->pointing_hit >= 0) fprintf(f.stream, "%d", rec->pointing_hit);
            fprintf(f.stream, ",%.6f\n", rec->seconds);
        }
    return gcam_atomic_file_commit(&f, err);
}

/* ---- plots ------------------------------------------------------------------------ */

/* A figure of up to two panels with one series per method, and the arrays it points to. */
typedef struct eval_figure {
    gcam_plot plot;
    gcam_plot_panel panels[2];
    gcam_plot_series series[2][GCAM_METHOD_COUNT];
    double *x;    /* (points) */
    double *y[2]; /* (n_methods, points) per panel */
} eval_figure;

static void figure_free(eval_figure *f) {
    free(f->x);
    free(f->y[0]);
    free(f->y[1]);
}

/* Panel p of f: one series per method, y values rows of values (n_methods, points). */
static void figure_panel(eval_figure *f, int p, const gcam_eval_options *o, int points,
                         const double *values, const char *title, const char *xlabel,
                         const char *ylabel, double ymin, double ymax) {
    int M = o->n_methods;
    f->y[p] = gcam_xmalloc(sizeof(double) * (size_t)M * points);
    memcpy(f->y[p], values, sizeof(double) * (size_t)M * points);
    for (int m = 0; m < M; ++m) {
        gcam_plot_series *s = &f->series[p][m];
        memset(s, 0, sizeof *s);
        s->label = gcam_method_title(o->methods[m]);
        s->x = f->x;
        s->y = f->y[p] + (size_t)m * points;
        s->n = points;
        gcam_plot_colour(m, s->rgb);
    }
    f->panels[p] =
        (gcam_plot_panel){title, xlabel, ylabel, NAN, NAN, ymin, ymax, NULL, 0, f->series[p], M};
}

/* Mean deletion (left) and insertion (right) curves. */
static void curves_figure(eval_figure *f, const gcam_eval_options *o, const gcam_eval_result *r) {
    memset(f, 0, sizeof *f);
    int P = r->points;
    f->x = gcam_xmalloc(sizeof(double) * (size_t)P);
    for (int k = 0; k < P; ++k) f->x[k] = P > 1 ? (double)k / (P - 1) : 0;
    figure_panel(f, 0, o, P, r->mean_deletion, "Deletion (lower is better)",
                 "fraction of pixels removed", "p(class)", 0, 1);
    figure_panel(f, 1, o, P, r->mean_insertion, "Insertion (higher is better)",
                 "fraction of pixels inserted", "p(class)", 0, 1);
    f->panels[0].xmin = f->panels[1].xmin = 0;
    f->panels[0].xmax = f->panels[1].xmax = 1;
    f->plot = (gcam_plot){"Mean deletion and insertion curves", f->panels, 2, 2, 1000, 420};
}

/* Rank correlation with the trained model's maps against the layers randomised. */
static void sanity_figure(eval_figure *f, const gcam_eval_options *o, const gcam_eval_result *r) {
    memset(f, 0, sizeof *f);
    int D = r->sanity_depths, M = o->n_methods;
    f->x = gcam_xmalloc(sizeof(double) * (size_t)(D + 1));
    double *series = gcam_xmalloc(sizeof(double) * (size_t)M * (D + 1));
    for (int d = 0; d <= D; ++d) f->x[d] = d;
    for (int m = 0; m < M; ++m) { /* depth 0, the trained model, correlates perfectly */
        series[(size_t)m * (D + 1)] = 1;
        for (int d = 0; d < D; ++d)
            series[(size_t)m * (D + 1) + d + 1] = r->sanity_mean[(size_t)m * D + d];
    }
    figure_panel(f, 0, o, D + 1, series, "Rank correlation with the trained model's maps",
                 "weighted layers randomised from the top", "Spearman rank correlation", -1, 1);
    free(series);
    f->panels[0].xmin = 0;
    f->panels[0].xmax = D;
    f->plot = (gcam_plot){"Sanity check (cascading randomisation)", f->panels, 1, 1, 640, 440};
}

static int write_figure(const eval_figure *f, const char *dir, const char *name, gcam_error *err) {
    char path[GCAM_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s.png", dir, name);
    if (gcam_plot_write_png(&f->plot, path, err)) return -1;
    snprintf(path, sizeof path, "%s/%s.svg", dir, name);
    return gcam_plot_write_svg(&f->plot, path, err);
}

int gcam_eval_write_plots(const char *dir, const gcam_eval_options *o, const gcam_eval_result *r,
                          gcam_error *err) {
    if (!o->n_methods) return 0; /* test-time crops alone: no curves */
    eval_figure f;
    curves_figure(&f, o, r);
    int status = write_figure(&f, dir, "curves", err);
    figure_free(&f);
    if (status || r->sanity_depths < 1) return status;
    sanity_figure(&f, o, r);
    status = write_figure(&f, dir, "sanity", err);
    figure_free(&f);
    return status;
}

/* ---- HTML ------------------------------------------------------------------------- */

static void html_text(FILE *f, const char *s) {
    for (; *s; ++s) {
        if (*s == '&')
            fputs("&amp;", f);
        else if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '"')
            fputs("&quot;", f);
        else
            fputc(*s, f);
    }
}

static void base64(FILE *f, const unsigned char *data, int n) {
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < n; i += 3) {
        unsigned v = (unsigned)data[i] << 16;
        if (i + 1 < n) v |= (unsigned)data[i + 1] << 8;
        if (i + 2 < n) v |= data[i + 2];
        fputc(alphabet[(v >> 18) & 63], f);
        fputc(alphabet[(v >> 12) & 63], f);
        fputc(i + 1 < n ? alphabet[(v >> 6) & 63] : '=', f);
        fputc(i + 2 < n ? alphabet[v & 63] : '=', f);
    }
}

int gcam_eval_pick_gallery(const gcam_eval_options *o, const gcam_eval_result *r, int per_side,
                           gcam_gallery_item *items) {
    int M = o->n_methods, n = r->n_images, count = 0;
    char *used = gcam_xmalloc((size_t)n + 1);
    for (int m = 0; m < M; ++m)
        for (int best = 1; best >= 0; --best) {
            memset(used, 0, (size_t)n + 1);
            for (int k = 0; k < per_side && k < n; ++k) {
                int pick = -1;
                double pick_score = 0;
                for (int i = 0; i < n; ++i) {
                    const gcam_eval_record *rec = &r->records[(size_t)i * M + m];
                    double score = rec->insertion_auc - rec->deletion_auc;
                    if (used[i]) continue;
                    if (pick < 0 || (best ? score > pick_score : score < pick_score))
                        pick = i, pick_score = score;
                }
                if (pick < 0) break;
                used[pick] = 1;
                const gcam_eval_record *rec = &r->records[(size_t)pick * M + m];
                items[count++] = (gcam_gallery_item){
                    m, rec->image, rec->cls, best, rec->deletion_auc, rec->insertion_auc, NULL, 0};
            }
        }
    free(used);
    return count;
}

/* The figure's SVG without its XML declaration, which inline SVG must not carry. */
static void inline_svg(FILE *f, const eval_figure *fig) {
    size_t size;
    char *svg = gcam_plot_svg(&fig->plot, &size);
    const char *start = svg ? strstr(svg, "<svg") : NULL;
    if (start) fputs(start, f);
    free(svg);
}

static void html_table(FILE *f, const gcam_report_context *ctx, const gcam_eval_options *o,
                       const gcam_eval_result *r) {
    fputs("<table>\n<tr><th>method</th><th>deletion AUC (lower is better)</th><th>insertion AUC "
          "(higher is better)</th><th>pointing game</th><th>seconds / image</th>"
          "<th>failures</th></tr>\n",
          f);
    gcam_method_summary s[GCAM_METHOD_COUNT];
    gcam_eval_summarise(o, r, ctx->classes, s);
    for (int m = 0; m < o->n_methods; ++m) {
        fprintf(f, "<tr><td>%s</td><td>%.4f &plusmn; %.4f</td><td>%.4f &plusmn; %.4f</td>",
                gcam_method_title(o->methods[m]), s[m].deletion, s[m].deletion_se, s[m].insertion,
                s[m].insertion_se);
        if (s[m].pointing >= 0)
            fprintf(f, "<td>%.1f%% &plusmn; %.1f</td>", 100 * s[m].pointing,
                    100 * s[m].pointing_se);
        else
            fputs("<td>-</td>", f);
        fprintf(f, "<td>%.4f</td><td>%d</td></tr>\n", s[m].seconds, s[m].failures);
    }
    double se, center = gcam_eval_center_pointing(o, r, ctx->classes, &se);
    if (center >= 0)
        fprintf(f,
                "<tr><td>center point</td><td>-</td><td>-</td><td>%.1f%% &plusmn; %.1f</td>"
                "<td>-</td><td>-</td></tr>\n",
                100 * center, 100 * se);
    fputs("</table>\n", f);
}

static void html_gallery(FILE *f, const gcam_report_context *ctx, const gcam_eval_options *o,
                         const gcam_gallery_item *items, int n_items) {
    fputs("<h2>Gallery</h2>\n<p>Per method, the images with the highest and the lowest "
          "insertion &minus; deletion AUC.</p>\n",
          f);
    for (int m = 0; m < o->n_methods; ++m) {
        fprintf(f, "<h3>%s</h3>\n<div>\n", gcam_method_title(o->methods[m]));
        for (int k = 0; k < n_items; ++k) {
            const gcam_gallery_item *it = &items[k];
            if (it->method != m || !it->png) continue;
            fputs("<figure><img alt=\"heatmap\" src=\"data:image/png;base64,", f);
            base64(f, it->png, it->png_size);
            fprintf(f, "\"><figcaption>%s<br>", it->best ? "best" : "worst");
            const char *name = strrchr(ctx->paths[it->image], '/');
            html_text(f, name ? name + 1 : ctx->paths[it->image]);
            if (ctx->class_names) {
                fputs("<br>", f);
                html_text(f, ctx->class_names[it->cls]);
            }
            fprintf(f, "<br>del %.3f ins %.3f</figcaption></figure>\n", it->deletion,
                    it->insertion);
        }
        fputs("</div>\n", f);
    }
}

int gcam_eval_write_html(const char *path, const gcam_report_context *ctx,
                         const gcam_eval_options *o, const gcam_eval_result *r,
                         const gcam_gallery_item *items, int n_items, gcam_error *err) {
    gcam_atomic_file file;
    if (gcam_atomic_file_open(&file, path, err)) return -1;
    FILE *f = file.stream;
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<title>gcam-eval report</title>\n<style>\n"
          "body{font-family:sans-serif;margin:2em;max-width:1100px}\n"
          "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;"
          "text-align:right}th{background:#f4f4f4}td:first-child{text-align:left}\n"
          "figure{display:inline-block;margin:4px;text-align:center;font-size:11px}\n"
          "img{image-rendering:pixelated}svg{max-width:100%;height:auto}\n</style>\n</head>\n"
          "<body>\n<h1>gcam-eval report</h1>\n",
          f);
    fputs("<p>cfg <code>", f);
    html_text(f, ctx->cfg);
    fputs("</code>, weights <code>", f);
    html_text(f, ctx->weights);
    fputs("</code>, data <code>", f);
    html_text(f, ctx->data);
    fprintf(f, "</code>; evaluation took %.1f s.</p>\n<h2>Protocol</h2>\n<p>", r->seconds);
    char *protocol = NULL;
    size_t protocol_size = 0;
    FILE *mem = open_memstream(&protocol, &protocol_size);
    gcam_eval_print_protocol(mem, o, r, ctx->h, ctx->w);
    fclose(mem);
    html_text(f, protocol);
    free(protocol);
    fputs("</p>\n<h2>Results</h2>\n", f);
    html_table(f, ctx, o, r);
    if (r->tta_n_modes) {
        char *tta = NULL;
        size_t tta_size = 0;
        FILE *mem_tta = open_memstream(&tta, &tta_size);
        gcam_eval_print_tta(mem_tta, ctx->tta, r);
        fclose(mem_tta);
        fputs("<h2>Test-time crops</h2>\n<pre>", f);
        html_text(f, tta);
        fputs("</pre>\n", f);
        free(tta);
    }
    eval_figure fig;
    if (o->n_methods) {
        fputs("<h2>Mean curves</h2>\n", f);
        curves_figure(&fig, o, r);
        inline_svg(f, &fig);
        figure_free(&fig);
    }
    if (r->sanity_depths > 0) {
        fprintf(f,
                "<h2>Sanity check</h2>\n<p>Cascading randomisation (Adebayo et al. 2018) on "
                "%d images: the weighted layers are re-drawn from their initial distribution "
                "one by one from the top; the plot shows the mean Spearman rank correlation of "
                "each method's maps with those of the trained model. A method whose maps stay "
                "correlated does not explain the model.</p>\n",
                r->sanity_images);
        sanity_figure(&fig, o, r);
        inline_svg(f, &fig);
        figure_free(&fig);
    }
    html_gallery(f, ctx, o, items, n_items);
    fputs("</body>\n</html>\n", f);
    return gcam_atomic_file_commit(&file, err);
}
