/* gcam-eval's metrics and report: AUC on hand-made curves, the saliency order and curve
 * inputs, the pointing game on synthetic maps with known answers, Spearman correlation,
 * the deletion and insertion curve endpoints on a real network against independent
 * forwards, the sanity check, and a well-formed, self-contained HTML report. */
#include "check.h"
#include "testutil.h"
#include "evaluate.h"
#include "heatmap.h"
#include "image_ops.h"
#include "metrics.h"
#include "eval_report.h"
#include "rng.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb_image_write.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void check_auc(void) {
    float ones[5] = {1, 1, 1, 1, 1}, ramp[5] = {1, 0.75f, 0.5f, 0.25f, 0}, tent[3] = {0, 1, 0};
    float step[3] = {1, 0, 0};
    CHECK(fabs(gcam_auc(ones, 5) - 1) < 1e-9, "constant 1: %g", gcam_auc(ones, 5));
    CHECK(fabs(gcam_auc(ramp, 5) - 0.5) < 1e-9, "ramp: %g", gcam_auc(ramp, 5));
    CHECK(fabs(gcam_auc(tent, 3) - 0.5) < 1e-9, "tent: %g", gcam_auc(tent, 3));
    /* trapezoids of width 1/2: (1 + 0)/2 * 1/2 + 0 = 0.25 */
    CHECK(fabs(gcam_auc(step, 3) - 0.25) < 1e-9, "step: %g", gcam_auc(step, 3));
    CHECK(gcam_curve_points(784, 28) == 29 && gcam_curve_points(785, 28) == 30 &&
              gcam_curve_points(50176, 1792) == 29,
          "curve points %d %d %d", gcam_curve_points(784, 28), gcam_curve_points(785, 28),
          gcam_curve_points(50176, 1792));
}

static void check_order_and_inputs(void) {
    float map[6] = {0.2f, 0.9f, 0.2f, NAN, 1.0f, 0.5f};
    int order[6];
    gcam_saliency_order(map, 6, order);
    int expected[6] = {4, 1, 5, 0, 2, 3}; /* ties by index, NaN last */
    CHECK(!memcmp(order, expected, sizeof order), "order %d %d %d %d %d %d", order[0], order[1],
          order[2], order[3], order[4], order[5]);
    float from[12], to[12], out[12]; /* 2 channels of 6 pixels */
    for (int i = 0; i < 12; ++i) from[i] = (float)i, to[i] = 100.f + i;
    gcam_curve_input(from, to, 2, 6, order, 2, 0, out);
    CHECK(!memcmp(out, from, sizeof out), "point 0 is not the start");
    gcam_curve_input(from, to, 2, 6, order, 2, 3, out);
    CHECK(!memcmp(out, to, sizeof out), "the last point is not the end");
    gcam_curve_input(from, to, 2, 6, order, 2, 1, out); /* pixels 4 and 1, both channels */
    int right = 1;
    for (int ch = 0; ch < 2; ++ch)
        for (int p = 0; p < 6; ++p)
            right &= out[ch * 6 + p] == ((p == 4 || p == 1) ? to : from)[ch * 6 + p];
    CHECK(right, "point 1 changed the wrong pixels");
}

static void check_pointing(void) {
    float map[8 * 10] = {0}; /* h 8, w 10 */
    map[5 * 10 + 7] = 1;     /* maximum at x 7, y 5: centre (7.5, 5.5) */
    map[1 * 10 + 1] = 1;     /* a later tie does not count: the first maximum wins */
    map[1 * 10 + 1] = 0.99f;
    float inside[4] = {6, 4, 9, 7}, near[4] = {0, 0, 5.5f, 8}, far[4] = {0, 0, 2, 2};
    CHECK(gcam_pointing_hit(map, 8, 10, inside, 0), "inside the box is a miss");
    CHECK(!gcam_pointing_hit(map, 8, 10, near, 1.9f), "2 px away with tolerance 1.9 is a hit");
    CHECK(gcam_pointing_hit(map, 8, 10, near, 2.1f), "2 px away with tolerance 2.1 is a miss");
    CHECK(!gcam_pointing_hit(map, 8, 10, far, 3), "a far box is a hit");
    float tie[4] = {0};
    tie[0] = tie[3] = 1; /* (0,0) and (1,1) in a 2x2 map: the first, pixel 0, is taken */
    float box0[4] = {0, 0, 1, 1}, box3[4] = {1, 1, 2, 2};
    CHECK(gcam_pointing_hit(tie, 2, 2, box0, 0) && !gcam_pointing_hit(tie, 2, 2, box3, 0),
          "ties do not take the first maximum");
    CHECK(gcam_point_in_box(7, 5, inside, 0) && !gcam_point_in_box(5, 5, inside, 0.9f) &&
              gcam_point_in_box(5, 5, inside, 1) && !gcam_point_in_box(0, 0, inside, 1),
          "point in box");
}

static void check_spearman(void) {
    float a[5] = {1, 2, 3, 4, 5}, b[5] = {10, 20, 30, 40, 50}, c[5] = {5, 4, 3, 2, 1};
    float d[5] = {1, 1, 1, 1, 1}, e[4] = {1, 2, 2, 3}, f[4] = {1, 2, 3, 4};
    CHECK(fabs(gcam_spearman(a, b, 5) - 1) < 1e-12, "monotone: %g", gcam_spearman(a, b, 5));
    CHECK(fabs(gcam_spearman(a, c, 5) + 1) < 1e-12, "reversed: %g", gcam_spearman(a, c, 5));
    CHECK(gcam_spearman(a, d, 5) == 0, "constant: %g", gcam_spearman(a, d, 5));
    /* ranks of e: 1, 2.5, 2.5, 4; Pearson with 1..4 = 4.5 / sqrt(4.5 * 5) */
    double want = 4.5 / sqrt(4.5 * 5);
    CHECK(fabs(gcam_spearman(e, f, 4) - want) < 1e-12, "ties: %g, want %g", gcam_spearman(e, f, 4),
          want);
    double v[4] = {1, 2, 3, 4}, mean, se;
    gcam_mean_se(v, 4, &mean, &se);
    CHECK(mean == 2.5 && fabs(se - sqrt(5.0 / 3 / 4)) < 1e-12, "mean %g se %g", mean, se);
}

/* ---- on a real network -------------------------------------------------------------- */

static char dir[] = "/tmp/gcam-eval-XXXXXX";

/* n 32x32 images: a bright square at a known place on noise; returns their paths. */
static char **make_images(int n, char *boxes_path) {
    char **paths = malloc(sizeof(char *) * (size_t)n);
    gcam_rng rng = gcam_rng_init(2, 2);
    snprintf(boxes_path, 700, "%s/boxes.txt", dir);
    FILE *boxes = fopen(boxes_path, "w");
    for (int i = 0; i < n; ++i) {
        unsigned char px[32 * 32 * 3];
        int x0 = 4 + 3 * i, y0 = 20 - 2 * i;
        for (int y = 0; y < 32; ++y)
            for (int x = 0; x < 32; ++x)
                for (int k = 0; k < 3; ++k) {
                    int on = x >= x0 && x < x0 + 8 && y >= y0 && y < y0 + 8;
                    px[(y * 32 + x) * 3 + k] =
                        (unsigned char)(on ? 200 + k * 20 : (int)(gcam_rng_next(&rng) % 90));
                }
        char path[700]; /* image 2's name has a comma, which per_image.csv must quote */
        snprintf(path, sizeof path, "%s/%d_%s.png", dir, i, i == 2 ? "a,b" : "thing");
        stbi_write_png(path, 32, 32, 3, px, 32 * 3);
        paths[i] = strdup(path);
        fprintf(boxes, "%s %d %d %d %d\n", path, x0, y0, x0 + 8, y0 + 8);
    }
    fclose(boxes);
    return paths;
}

/* Counts tags, checks nesting, and that nothing refers to the network. */
static int html_well_formed(const char *path, char *why, size_t why_size) {
    FILE *f = fopen(path, "r");
    if (!f) return snprintf(why, why_size, "cannot open"), 0;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)size + 1);
    text[fread(text, 1, (size_t)size, f)] = '\0';
    fclose(f);
    int ok = !strncmp(text, "<!DOCTYPE html>", 15);
    if (!ok) snprintf(why, why_size, "no doctype");
    static const char *const void_tags[] = {"meta", "br", "img", "hr", "input", "link", NULL};
    char stack[64][16];
    int depth = 0;
    for (char *p = strchr(text + 15, '<'); ok && p; p = strchr(p + 1, '<')) {
        char name[16] = "";
        int closing = p[1] == '/';
        sscanf(p + 1 + closing, "%15[a-zA-Z0-9]", name);
        char *end = strchr(p, '>');
        if (!end || !name[0]) {
            ok = 0;
            snprintf(why, why_size, "broken tag at offset %ld", (long)(p - text));
            break;
        }
        int self_closing = end[-1] == '/';
        int is_void = 0;
        for (int k = 0; void_tags[k]; ++k) is_void |= !strcmp(name, void_tags[k]);
        if (closing) {
            if (!depth || strcmp(stack[depth - 1], name)) {
                ok = 0;
                snprintf(why, why_size, "</%s> closes <%s>", name, depth ? stack[depth - 1] : "");
            } else {
                --depth;
            }
        } else if (!self_closing && !is_void) {
            if (depth == 64) {
                ok = 0;
                snprintf(why, why_size, "too deep");
            } else {
                snprintf(stack[depth++], sizeof stack[0], "%s", name);
            }
        }
        p = end;
    }
    if (ok && depth) ok = 0, snprintf(why, why_size, "<%s> never closed", stack[depth - 1]);
    /* no network: every src is inline; the only URL is SVG's namespace name */
    for (char *p = strstr(text, "src=\""); ok && p; p = strstr(p + 1, "src=\""))
        if (strncmp(p + 5, "data:", 5)) ok = 0, snprintf(why, why_size, "external src");
    for (char *p = strstr(text, "http"); ok && p; p = strstr(p + 1, "http"))
        if (strncmp(p, "http://www.w3.org/2000/svg", 26))
            ok = 0, snprintf(why, why_size, "a URL: %.40s", p);
    free(text);
    return ok;
}

/* 1 if the file contains text. */
static int file_has(const char *path, const char *text) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    char *all = calloc((size_t)size + 1, 1);
    int found = fread(all, 1, (size_t)size, f) == (size_t)size && strstr(all, text) != NULL;
    fclose(f);
    free(all);
    return found;
}

/* The plots are written as PNG (a PNG signature) and SVG carrying their titles, axis labels
 * and legend as text. */
static void check_plot_files(const char *folder) {
    static const char *const names[] = {"curves", "sanity"};
    static const char *const texts[2][4] = {
        {"fraction of pixels removed", "fraction of pixels inserted", "p(class)", "Group-CAM"},
        {"weighted layers randomised from the top", "Spearman rank correlation", "Grad-CAM",
         "Sanity check"}};
    for (int k = 0; k < 2; ++k) {
        char path[800];
        snprintf(path, sizeof path, "%s/%s.png", folder, names[k]);
        CHECK(file_has(path, "PNG"), "%s is not a PNG", path);
        snprintf(path, sizeof path, "%s/%s.svg", folder, names[k]);
        CHECK(file_has(path, "<svg") && file_has(path, "</svg>"), "%s is not an SVG", path);
        for (int t = 0; t < 4; ++t)
            CHECK(file_has(path, texts[k][t]), "%s lacks the text '%s'", path, texts[k][t]);
    }
}

/* The map gcam_evaluate wrote for an image equals the map computed directly. */
static void check_raw_maps(gcam_net *net, const gcam_saliency_options *so, const char *path,
                           int cls, const char *folder) {
    for (int m = 0; m < 2; ++m) {
        gcam_saliency_options mso = *so;
        mso.method = m == 0 ? GCAM_METHOD_GRADCAM : GCAM_METHOD_GROUPCAM;
        float image[3 * 32 * 32], map[32 * 32], written[32 * 32];
        gcam_error err;
        gcam_image_load_for_net(path, 32, 32, 3, image, &err);
        gcam_saliency(net, image, 1, &cls, &mso, map, NULL, NULL, &err);
        const char *slash = strrchr(path, '/');
        char stem[256], npy[1200];
        snprintf(stem, sizeof stem, "%s", slash + 1);
        *strrchr(stem, '.') = '\0';
        snprintf(npy, sizeof npy, "%s/maps/%s_%s.npy", folder, stem, gcam_method_name(mso.method));
        FILE *f = fopen(npy, "rb");
        int read = f && fseek(f, 128, SEEK_SET) == 0 &&
                   fread(written, sizeof(float), 32 * 32, f) == 32 * 32;
        if (f) fclose(f);
        CHECK(read, "%s: not written", npy);
        /* The same computation on a batch of another size: only the GEMM's rounding
         * differs. */
        CHECK(read && max_abs_diff(map, written, 32 * 32) < 1e-4, "%s differs from a direct map",
              npy);
    }
}

static void check_on_network(void) {
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    enum { N = 5 };
    char boxes_path[700];
    char **paths = make_images(N, boxes_path);
    int labels[N] = {3, 1, 4, 1, 5};
    gcam_net *net = load_small_resnet(3); /* 3 images per saliency call: two chunks */
    CHECK(net != NULL, "the small ResNet fixture loads");
    if (!net) return;
    gcam_error err;
    gcam_boxes boxes;
    CHECK(gcam_boxes_read(&boxes, boxes_path, &err) == 0 && boxes.n == N, "%s", err.message);

    gcam_settings settings;
    gcam_settings_default(&settings);
    gcam_eval_options o = settings.eval;
    gcam_saliency_options saliency = settings.saliency;
    o.methods[0] = GCAM_METHOD_GRADCAM, o.methods[1] = GCAM_METHOD_GROUPCAM;
    o.n_methods = 2;
    saliency.groups = 8;
    o.limit = 1;
    snprintf(o.out_dir, sizeof o.out_dir, "%s", dir);
    gcam_eval_result r;
    /* One image: the mean curves are its curves. Their ends against plain forwards. */
    CHECK(gcam_evaluate(net, &o, &saliency, &settings.tta, N, paths, labels, &boxes, NULL, NULL, &r,
                        &err) == 0,
          "%s", err.message);
    int P = r.points;
    CHECK(P == 29 && r.step == 37, "%d points of %d pixels", P, r.step);
    size_t floats = 3 * 32 * 32;
    float *x = malloc(sizeof(float) * floats), *blurred = malloc(sizeof(float) * floats);
    float *zeros = calloc(floats, sizeof(float));
    gcam_image_load_for_net(paths[0], 32, 32, 3, x, &err);
    int size;
    float sigma;
    gcam_blur_parameters(32, 32, &size, &sigma);
    gcam_gaussian_blur(x, 3, 32, 32, size, sigma, blurred);
    float p_x = gcam_class_probability(net, gcam_net_predict(net, x, 1), 0, labels[0]);
    float p_zero = gcam_class_probability(net, gcam_net_predict(net, zeros, 1), 0, labels[0]);
    float p_blur = gcam_class_probability(net, gcam_net_predict(net, blurred, 1), 0, labels[0]);
    for (int m = 0; m < 2; ++m) {
        const double *del = r.mean_deletion + (size_t)m * P,
                     *ins = r.mean_insertion + (size_t)m * P;
        CHECK(fabs(del[0] - p_x) < 1e-6 && fabs(del[P - 1] - p_zero) < 1e-6,
              "deletion ends %g %g, want %g %g", del[0], del[P - 1], p_x, p_zero);
        CHECK(fabs(ins[0] - p_blur) < 1e-6 && fabs(ins[P - 1] - p_x) < 1e-6,
              "insertion ends %g %g, want %g %g", ins[0], ins[P - 1], p_blur, p_x);
        float curve[64];
        for (int k = 0; k < P; ++k) curve[k] = (float)del[k];
        CHECK(fabsf(r.records[m].deletion_auc - (float)gcam_auc(curve, P)) < 1e-5,
              "record AUC %g, curve AUC %g", r.records[m].deletion_auc, gcam_auc(curve, P));
        CHECK(r.records[m].cls == labels[0] && r.records[m].pointing_hit >= 0, "record");
    }
    /* An inner point: Grad-CAM's deletion after one step, rebuilt by hand. */
    {
        gcam_saliency_options so = saliency;
        so.method = GCAM_METHOD_GRADCAM;
        float gmap[32 * 32], step_one[3 * 32 * 32];
        int order[32 * 32];
        gcam_saliency(net, x, 1, labels, &so, gmap, NULL, NULL, &err);
        gcam_saliency_order(gmap, 32 * 32, order);
        memcpy(step_one, x, sizeof step_one);
        for (int k = 0; k < r.step; ++k)
            for (int ch = 0; ch < 3; ++ch) step_one[ch * 1024 + order[k]] = 0;
        float p1 = gcam_class_probability(net, gcam_net_predict(net, step_one, 1), 0, labels[0]);
        CHECK(fabs(r.mean_deletion[1] - p1) < 1e-6, "deletion point 1: %g, by hand %g",
              r.mean_deletion[1], p1);
    }
    gcam_eval_result_free(&r);

    /* All images (each map also written), a CSV, then the report and the sanity check. */
    o.limit = 0;
    o.raw = 1;
    CHECK(gcam_evaluate(net, &o, &saliency, &settings.tta, N, paths, labels, &boxes, NULL, NULL, &r,
                        &err) == 0,
          "%s", err.message);
    CHECK(r.n_images == N && r.with_boxes == N, "%d images, %d with boxes", r.n_images,
          r.with_boxes);
    check_raw_maps(net, &saliency, paths[N - 1], labels[N - 1], dir);
    char csv_path[800];
    snprintf(csv_path, sizeof csv_path, "%s/per_image.csv", dir);
    CHECK(gcam_eval_write_csv(csv_path, &o, &r, paths, &err) == 0, "%s", err.message);
    FILE *csv = fopen(csv_path, "r");
    char line[2000];
    int lines = 0, quoted = 0;
    while (fgets(line, sizeof line, csv)) {
        ++lines;
        /* the comma in image 2's path is quoted, RFC 4180 style */
        quoted += !strncmp(line, "\"", 1) && strstr(line, "a,b") && strstr(line, ".png\",");
    }
    fclose(csv);
    CHECK(lines == 1 + N * 2, "%d CSV lines", lines);
    CHECK(quoted == 2, "%d CSV lines quote the path with a comma (want 2)", quoted);
    gcam_gallery_item items[8];
    int n_items = gcam_eval_pick_gallery(&o, &r, 2, items);
    CHECK(n_items == 8, "%d gallery items", n_items);
    float *image = malloc(sizeof(float) * floats), *map = malloc(sizeof(float) * 32 * 32);
    for (int k = 0; k < n_items; ++k) {
        CHECK(gcam_eval_map(net, &o, &saliency, items[k].method, paths[items[k].image],
                            items[k].cls, image, map, &err) == 0,
              "%s", err.message);
        items[k].png = gcam_heatmap_encode_png(image, 3, 32, 32, map, 0.5f, 2, &items[k].png_size);
    }
    o.sanity_images = 3;
    CHECK(gcam_eval_sanity(net, &o, &saliency, N, paths, &r, NULL, NULL, &err) == 0, "%s",
          err.message);
    CHECK(r.sanity_depths > 3 && r.sanity_images == 3, "%d depths, %d images", r.sanity_depths,
          r.sanity_images);
    /* Grad-CAM's maps must change once every layer is random */
    double last = r.sanity_mean[r.sanity_depths - 1];
    CHECK(last < 0.9, "Grad-CAM still correlates %g with every layer randomised", last);
    gcam_report_context ctx = {
        "net.cfg", "net.weights", "x.data", &settings.tta, paths, NULL, 10, 32, 32};
    char html[800], why[200] = "";
    snprintf(html, sizeof html, "%s/report.html", dir);
    CHECK(gcam_eval_write_html(html, &ctx, &o, &r, items, n_items, &err) == 0, "%s", err.message);
    CHECK(html_well_formed(html, why, sizeof why), "report.html: %s", why);
    CHECK(file_has(html, "fraction of pixels removed") && file_has(html, "Grad-CAM"),
          "report.html: the plots' axis labels and legend are not inline SVG text");
    CHECK(gcam_eval_write_plots(dir, &o, &r, &err) == 0, "%s", err.message);
    check_plot_files(dir);
    for (int k = 0; k < n_items; ++k) free(items[k].png);
    gcam_eval_result_free(&r);

    /* A broken boxes file names its line. */
    FILE *bad = fopen(boxes_path, "a");
    fprintf(bad, "%s 1 2 3\n", paths[0]);
    fclose(bad);
    gcam_boxes more;
    int status = gcam_boxes_read(&more, boxes_path, &err);
    CHECK_ERROR_MENTIONS(status, err, "boxes.txt:6");

    gcam_boxes_free(&boxes);
    gcam_net_free(net);
    free(x), free(blurred), free(zeros), free(image), free(map);
    for (int i = 0; i < N; ++i) free(paths[i]);
    free(paths);
    char cmd[800];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "cleanup");
}

int main(void) {
    check_auc();
    check_order_and_inputs();
    check_pointing();
    check_spearman();
    check_on_network();
    return check_summary("test_eval");
}
