/* gcam-eval's outputs (see report.h). */
#include "report.h"

#include "error.h"
#include "heatmap.h"
#include "metrics.h"
#include "saliency.h"

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

void gcam_report_summarise(const gcam_eval_options *o, const gcam_eval_result *r, int classes,
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

double gcam_report_center_pointing(const gcam_eval_options *o, const gcam_eval_result *r,
                                   int classes, double *se) {
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

void gcam_report_protocol(FILE *out, const gcam_eval_options *o, const gcam_eval_result *r, int h,
                          int w) {
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
            fprintf(out, "RISE: %d masks of %dx%d cells, p = %.2g. ",
                    o->saliency.rise_n > 0 ? o->saliency.rise_n : 4000,
                    o->saliency.rise_s > 0 ? o->saliency.rise_s : 7,
                    o->saliency.rise_s > 0 ? o->saliency.rise_s : 7,
                    o->saliency.rise_p > 0 ? o->saliency.rise_p : 0.5);
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

void gcam_report_table(FILE *out, const gcam_eval_options *o, const gcam_eval_result *r,
                       int classes) {
    gcam_method_summary s[GCAM_EVAL_MAX_METHODS];
    gcam_report_summarise(o, r, classes, s);
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
    double se, center = gcam_report_center_pointing(o, r, classes, &se);
    if (center >= 0) {
        char p[48];
        format_pm(p, sizeof p, center, se, 1);
        fprintf(out, "%-10s %-20s %-20s %-16s\n", "center", "-", "-", p);
    }
}

/* ---- PNG plots -------------------------------------------------------------------- */

static const unsigned char palette[GCAM_EVAL_MAX_METHODS][3] = {
    {214, 39, 40}, {31, 119, 180}, {44, 160, 44}, {255, 127, 14}, {148, 103, 189}, {140, 86, 75}};

void gcam_report_colour(int m, unsigned char rgb[3]) {
    memcpy(rgb, palette[m % GCAM_EVAL_MAX_METHODS], 3);
}

typedef struct canvas {
    int w, h;
    unsigned char *rgb; /* (h, w, 3) */
} canvas;

static void put(canvas *c, int x, int y, const unsigned char rgb[3]) {
    if (x < 0 || y < 0 || x >= c->w || y >= c->h) return;
    memcpy(c->rgb + ((size_t)y * c->w + x) * 3, rgb, 3);
}

static void fill_rect(canvas *c, int x0, int y0, int x1, int y1, const unsigned char rgb[3]) {
    for (int y = y0; y < y1; ++y)
        for (int x = x0; x < x1; ++x) put(c, x, y, rgb);
}

/* A line 2 px thick, by sampling along its length. */
static void line(canvas *c, double x0, double y0, double x1, double y1,
                 const unsigned char rgb[3]) {
    double len = fmax(fabs(x1 - x0), fabs(y1 - y0));
    int steps = (int)ceil(len * 2) + 1;
    for (int s = 0; s <= steps; ++s) {
        double t = (double)s / steps;
        int x = (int)lround(x0 + t * (x1 - x0)), y = (int)lround(y0 + t * (y1 - y0));
        put(c, x, y, rgb), put(c, x + 1, y, rgb), put(c, x, y + 1, rgb), put(c, x + 1, y + 1, rgb);
    }
}

/* One panel at (left, top), size pw x ph: frame, grid every 0.25 of each axis, and the
 * series (M rows of P values, x evenly spaced), y in [y0, y1]. */
static void panel(canvas *c, int left, int top, int pw, int ph, const double *series, int M, int P,
                  double y0, double y1) {
    const unsigned char grid[3] = {225, 225, 225}, frame[3] = {90, 90, 90};
    for (int k = 1; k < 4; ++k) {
        fill_rect(c, left + k * pw / 4, top, left + k * pw / 4 + 1, top + ph, grid);
        fill_rect(c, left, top + k * ph / 4, left + pw, top + k * ph / 4 + 1, grid);
    }
    if (y0 < 0 && y1 > 0) { /* the zero line */
        int zy = top + (int)lround((y1 / (y1 - y0)) * ph);
        fill_rect(c, left, zy, left + pw, zy + 1, frame);
    }
    fill_rect(c, left, top, left + pw, top + 1, frame);
    fill_rect(c, left, top + ph, left + pw + 1, top + ph + 1, frame);
    fill_rect(c, left, top, left + 1, top + ph, frame);
    fill_rect(c, left + pw, top, left + pw + 1, top + ph, frame);
    for (int m = 0; m < M; ++m)
        for (int k = 1; k < P; ++k) {
            const double *v = series + (size_t)m * P;
            double xa = left + (double)(k - 1) / (P - 1) * pw, xb = left + (double)k / (P - 1) * pw;
            double ya = top + (y1 - v[k - 1]) / (y1 - y0) * ph;
            double yb = top + (y1 - v[k]) / (y1 - y0) * ph;
            line(c, xa, ya, xb, yb, palette[m % GCAM_EVAL_MAX_METHODS]);
        }
}

/* Legend swatches in method order along the top (names are in the HTML report and in
 * the README: this PNG carries no text). */
static void swatches(canvas *c, int M) {
    for (int m = 0; m < M; ++m) fill_rect(c, 40 + m * 30, 8, 60 + m * 30, 18, palette[m]);
}

static int save_canvas(canvas *c, const char *path, gcam_error *err) {
    int status = gcam_png_write_rgb(path, c->rgb, c->w, c->h, err);
    free(c->rgb);
    return status;
}

static canvas canvas_new(int w, int h) {
    canvas c = {w, h, gcam_xmalloc((size_t)w * h * 3)};
    memset(c.rgb, 255, (size_t)w * h * 3);
    return c;
}

int gcam_report_curves_png(const char *path, const gcam_eval_options *o, const gcam_eval_result *r,
                           gcam_error *err) {
    canvas c = canvas_new(860, 360);
    swatches(&c, o->n_methods);
    panel(&c, 40, 30, 360, 300, r->mean_deletion, o->n_methods, r->points, 0, 1);
    panel(&c, 460, 30, 360, 300, r->mean_insertion, o->n_methods, r->points, 0, 1);
    return save_canvas(&c, path, err);
}

int gcam_report_sanity_png(const char *path, const gcam_eval_options *o, const gcam_eval_result *r,
                           gcam_error *err) {
    int D = r->sanity_depths, M = o->n_methods;
    /* depth 0 (the trained model) correlates perfectly by definition */
    double *series = gcam_xmalloc(sizeof(double) * (size_t)M * (D + 1));
    for (int m = 0; m < M; ++m) {
        series[(size_t)m * (D + 1)] = 1;
        for (int d = 0; d < D; ++d)
            series[(size_t)m * (D + 1) + d + 1] = r->sanity_mean[(size_t)m * D + d];
    }
    canvas c = canvas_new(440, 360);
    swatches(&c, M);
    panel(&c, 40, 30, 360, 300, series, M, D + 1, -1, 1);
    free(series);
    return save_canvas(&c, path, err);
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

/* An SVG line plot: M series of P values evenly spaced on [x0, x1], y in [y0, y1]. */
static void svg_plot(FILE *f, const char *title, const char *xlabel, const char *ylabel,
                     const double *series, int M, int P, double x0, double x1, double y0, double y1,
                     const gcam_eval_options *o) {
    const int W = 420, H = 300, L = 50, T = 30, PW = 340, PH = 220;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\">\n", W, H);
    fprintf(f, "<text x=\"%d\" y=\"18\" font-size=\"14\">", L);
    html_text(f, title);
    fprintf(f,
            "</text>\n<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
            "stroke=\"#555\"/>\n",
            L, T, PW, PH);
    for (int k = 0; k <= 4; ++k) {
        double yv = y0 + (y1 - y0) * k / 4, xv = x0 + (x1 - x0) * k / 4;
        int py = T + PH - PH * k / 4, px = L + PW * k / 4;
        fprintf(f,
                "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>"
                "<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"end\">%.2f</text>\n",
                L, py, L + PW, py, L - 4, py + 3, yv);
        fprintf(f,
                "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>"
                "<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">%.4g</text>\n",
                px, T, px, T + PH, px, T + PH + 14, xv);
    }
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">", L + PW / 2,
            T + PH + 30);
    html_text(f, xlabel);
    fprintf(f,
            "</text>\n<text x=\"12\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\" "
            "transform=\"rotate(-90 12 %d)\">",
            T + PH / 2, T + PH / 2);
    html_text(f, ylabel);
    fputs("</text>\n", f);
    for (int m = 0; m < M; ++m) {
        unsigned char rgb[3];
        gcam_report_colour(m, rgb);
        fprintf(f, "<polyline fill=\"none\" stroke-width=\"2\" stroke=\"#%02x%02x%02x\" points=\"",
                rgb[0], rgb[1], rgb[2]);
        for (int k = 0; k < P; ++k) {
            double v = series[(size_t)m * P + k];
            fprintf(f, "%.1f,%.1f ", L + (double)k / (P > 1 ? P - 1 : 1) * PW,
                    T + (y1 - v) / (y1 - y0) * PH);
        }
        fprintf(
            f, "\"/>\n<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#%02x%02x%02x\">%s</text>\n",
            L + PW - 70, T + 14 + 13 * m, rgb[0], rgb[1], rgb[2], gcam_method_name(o->methods[m]));
    }
    fputs("</svg>\n", f);
}

int gcam_report_pick_gallery(const gcam_eval_options *o, const gcam_eval_result *r, int per_side,
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

int gcam_report_html(const char *path, const gcam_report_context *ctx, const gcam_eval_options *o,
                     const gcam_eval_result *r, const gcam_gallery_item *items, int n_items,
                     gcam_error *err) {
    FILE *f = fopen(path, "w");
    if (!f) return gcam_fail(err, "%s: cannot write the report", path);
    int M = o->n_methods;
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<title>gcam-eval report</title>\n<style>\n"
          "body{font-family:sans-serif;margin:2em;max-width:1100px}\n"
          "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;"
          "text-align:right}th{background:#f4f4f4}td:first-child{text-align:left}\n"
          "figure{display:inline-block;margin:4px;text-align:center;font-size:11px}\n"
          "img{image-rendering:pixelated}\n</style>\n</head>\n<body>\n<h1>gcam-eval report</h1>\n",
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
    gcam_report_protocol(mem, o, r, ctx->h, ctx->w);
    fclose(mem);
    html_text(f, protocol);
    free(protocol);
    fputs("</p>\n<h2>Results</h2>\n<table>\n<tr><th>method</th><th>deletion AUC (lower is "
          "better)</th><th>insertion AUC (higher is better)</th><th>pointing game</th>"
          "<th>seconds / image</th><th>failures</th></tr>\n",
          f);
    gcam_method_summary s[GCAM_EVAL_MAX_METHODS];
    gcam_report_summarise(o, r, ctx->classes, s);
    for (int m = 0; m < M; ++m) {
        fprintf(f, "<tr><td>%s</td><td>%.4f &plusmn; %.4f</td><td>%.4f &plusmn; %.4f</td>",
                gcam_method_name(o->methods[m]), s[m].deletion, s[m].deletion_se, s[m].insertion,
                s[m].insertion_se);
        if (s[m].pointing >= 0)
            fprintf(f, "<td>%.1f%% &plusmn; %.1f</td>", 100 * s[m].pointing,
                    100 * s[m].pointing_se);
        else
            fputs("<td>-</td>", f);
        fprintf(f, "<td>%.4f</td><td>%d</td></tr>\n", s[m].seconds, s[m].failures);
    }
    double se, center = gcam_report_center_pointing(o, r, ctx->classes, &se);
    if (center >= 0)
        fprintf(f,
                "<tr><td>center point</td><td>-</td><td>-</td><td>%.1f%% &plusmn; %.1f</td>"
                "<td>-</td><td>-</td></tr>\n",
                100 * center, 100 * se);
    fputs("</table>\n<h2>Mean curves</h2>\n", f);
    svg_plot(f, "Deletion", "fraction of pixels removed", "p(class)", r->mean_deletion, M,
             r->points, 0, 1, 0, 1, o);
    svg_plot(f, "Insertion", "fraction of pixels inserted", "p(class)", r->mean_insertion, M,
             r->points, 0, 1, 0, 1, o);
    if (r->sanity_depths > 0) {
        int D = r->sanity_depths;
        double *series = gcam_xmalloc(sizeof(double) * (size_t)M * (D + 1));
        for (int m = 0; m < M; ++m) {
            series[(size_t)m * (D + 1)] = 1;
            for (int d = 0; d < D; ++d)
                series[(size_t)m * (D + 1) + d + 1] = r->sanity_mean[(size_t)m * D + d];
        }
        fprintf(f,
                "<h2>Sanity check</h2>\n<p>Cascading randomisation (Adebayo et al. 2018) on "
                "%d images: the weighted layers are re-drawn from their initial distribution "
                "one by one from the top; the plot shows the mean Spearman rank correlation of "
                "each method's maps with those of the trained model. A method whose maps stay "
                "correlated does not explain the model.</p>\n",
                r->sanity_images);
        svg_plot(f, "Sanity check", "layers randomised from the top", "rank correlation", series, M,
                 D + 1, 0, D, -1, 1, o);
        free(series);
    }
    fputs("<h2>Gallery</h2>\n<p>Per method, the images with the highest and the lowest "
          "insertion &minus; deletion AUC.</p>\n",
          f);
    for (int m = 0; m < M; ++m) {
        fprintf(f, "<h3>%s</h3>\n<div>\n", gcam_method_name(o->methods[m]));
        for (int k = 0; k < n_items; ++k) {
            const gcam_gallery_item *it = &items[k];
            if (it->method != m || !it->png) continue;
            fputs("<figure><img alt=\"heatmap\" src=\"data:image/png;base64,", f);
            base64(f, it->png, it->png_size);
            fprintf(f, "\"><figcaption>%s<br>", it->best ? "best" : "worst");
            const char *name = strrchr(ctx->paths[it->image], '/');
            html_text(f, name ? name + 1 : ctx->paths[it->image]);
            fprintf(f, "<br>del %.3f ins %.3f</figcaption></figure>\n", it->deletion,
                    it->insertion);
        }
        fputs("</div>\n", f);
    }
    fputs("</body>\n</html>\n", f);
    if (fclose(f) != 0) return gcam_fail(err, "%s: write failed", path);
    return 0;
}
