/* Plots and PNGs (plot.c, png.c): a two-panel plot with every kind of element decodes
 * to a PNG of the requested size showing each series colour and text, and to an SVG
 * whose labels are escaped <text>; RGB canvases survive PNG encoding byte for byte;
 * text lands where it is asked to; failed writes name the path and leave no file. */
#include "check.h"
#include "plot.h"
#include "png.h"

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb_image.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N 40

/* The test's figure: a training panel with a line broken by a gap, validation markers
 * and a dashed line with error bars, and a categorical panel. */
typedef struct figure {
    double x[N], loss[N], val[N], mean[N], low[N], high[N];
    double cx[4], cy[4];
    gcam_plot_series training[3], methods[1];
    gcam_plot_panel panels[2];
    gcam_plot plot;
} figure;

static const char *const categories[4] = {"Grad-CAM", "Group-CAM", "RISE", "centre"};

static void make_figure(figure *f) {
    memset(f, 0, sizeof *f);
    for (int i = 0; i < N; ++i) {
        f->x[i] = 25.0 * i;
        f->loss[i] = i >= 15 && i < 19 ? NAN : 2 * exp(-i / 12.0) + 0.1;
        f->val[i] = i % 5 == 0 ? 2 * exp(-i / 12.0) + 0.3 : NAN;
        f->mean[i] = 1.5 * exp(-i / 20.0) + 0.4;
        f->low[i] = f->mean[i] - 0.1;
        f->high[i] = f->mean[i] + 0.1;
    }
    for (int k = 0; k < 4; ++k) f->cx[k] = k, f->cy[k] = 0.2 + 0.15 * k;
    f->training[0] = (gcam_plot_series){"training loss", f->x, f->loss, NULL, NULL, N, {0}, 0, 0};
    f->training[1] =
        (gcam_plot_series){"validation <val> & co", f->x, f->val, NULL, NULL, N, {0}, 1, 0};
    f->training[2] =
        (gcam_plot_series){"guided mean", f->x, f->mean, f->low, f->high, N, {0}, 0, 1};
    for (int k = 0; k < 3; ++k) gcam_plot_colour(k, f->training[k].rgb);
    f->methods[0] = (gcam_plot_series){NULL, f->cx, f->cy, NULL, NULL, 4, {0}, 1, 0};
    gcam_plot_colour(3, f->methods[0].rgb);
    f->panels[0] = (gcam_plot_panel){"Training", "images seen", "loss", NAN,         NAN, NAN,
                                     NAN,        NULL,          0,      f->training, 3};
    f->panels[1] = (gcam_plot_panel){"Faithfulness", "method", "AUC",      NAN, NAN, 0, 1,
                                     categories,     4,        f->methods, 1};
    f->plot = (gcam_plot){"Fine-tuning report", f->panels, 2, 2, 800, 340};
}

static char *read_all(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *data = malloc((size_t)n + 1);
    *size = fread(data, 1, (size_t)n, f);
    data[*size] = '\0';
    fclose(f);
    return data;
}

/* Pixels of rgb (w * h pixels) within 10 of colour in every channel. */
static int count_colour(const unsigned char *rgb, int w, int h, const unsigned char colour[3]) {
    int count = 0;
    for (int i = 0; i < w * h; ++i)
        count += abs(rgb[3 * i] - colour[0]) <= 10 && abs(rgb[3 * i + 1] - colour[1]) <= 10 &&
                 abs(rgb[3 * i + 2] - colour[2]) <= 10;
    return count;
}

static void check_plot_png(const figure *f, const char *path) {
    gcam_error err = {{0}};
    int status = gcam_plot_write_png(&f->plot, path, &err);
    CHECK(status == 0, "PNG plot: %s", err.message);
    int w, h, c;
    unsigned char *rgb = stbi_load(path, &w, &h, &c, 3);
    CHECK(rgb != NULL, "the PNG plot does not decode: %s", stbi_failure_reason());
    if (!rgb) return;
    CHECK(w == 800 && h == 340, "size %dx%d, expected 800x340", w, h);
    for (int k = 0; k < 4; ++k) {
        unsigned char colour[3];
        gcam_plot_colour(k, colour);
        int n = count_colour(rgb, w, h, colour);
        CHECK(n >= 30, "%d pixels of series colour %d", n, k);
    }
    int dark_title = 0, white = 0;
    for (int y = 0; y < 24; ++y) /* the figure title's band */
        for (int x = 0; x < w; ++x) {
            const unsigned char *p = rgb + 3 * ((size_t)y * w + x);
            dark_title += p[0] < 100 && p[1] < 100 && p[2] < 100;
        }
    for (int i = 0; i < w * h; ++i) white += rgb[3 * i] == 255 && rgb[3 * i + 1] == 255;
    CHECK(dark_title >= 50, "%d dark pixels in the title band", dark_title);
    CHECK(white > w * h / 2 && white < w * h, "%d white pixels of %d", white, w * h);
    stbi_image_free(rgb);
}

/* Whether svg has <text ...>content</text> for the escaped content. */
static int has_text_element(const char *svg, const char *content) {
    size_t n = strlen(content);
    for (const char *p = strstr(svg, "<text"); p; p = strstr(p + 1, "<text")) {
        const char *start = strchr(p, '>');
        if (start && strncmp(start + 1, content, n) == 0 &&
            strncmp(start + 1 + n, "</text>", 7) == 0)
            return 1;
    }
    return 0;
}

/* Every <text> that is a number is short: no 0.30000000000000004. */
static int numbers_compact(const char *svg) {
    for (const char *p = strstr(svg, "<text"); p; p = strstr(p + 1, "<text")) {
        const char *start = strchr(p, '>') + 1, *end = strstr(start, "</text>");
        size_t n = (size_t)(end - start);
        if (strspn(start, "-0123456789.e") >= n && n > 6) return 0;
    }
    return 1;
}

static void check_plot_svg(const figure *f, const char *path) {
    gcam_error err = {{0}};
    int status = gcam_plot_write_svg(&f->plot, path, &err);
    CHECK(status == 0, "SVG plot: %s", err.message);
    size_t size = 0, inline_size = 0;
    char *svg = read_all(path, &size);
    CHECK(svg != NULL, "%s missing", path);
    if (!svg) return;
    CHECK(strncmp(svg, "<?xml version=\"1.0\"", 19) == 0 && strstr(svg, "<svg ") != NULL,
          "header: %.60s", svg);
    size_t end = size;
    while (end > 0 && (svg[end - 1] == '\n' || svg[end - 1] == ' ')) --end;
    CHECK(end >= 6 && strncmp(svg + end - 6, "</svg>", 6) == 0, "does not end with </svg>");
    const char *texts[] = {"Fine-tuning report",
                           "Training",
                           "Faithfulness",
                           "images seen",
                           "loss",
                           "method",
                           "AUC",
                           "training loss",
                           "validation &lt;val&gt; &amp; co",
                           "guided mean",
                           "Grad-CAM",
                           "centre"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; ++i)
        CHECK(has_text_element(svg, texts[i]), "no <text> with '%s'", texts[i]);
    CHECK(strstr(svg, "<val>") == NULL, "an unescaped label");
    CHECK(has_text_element(svg, "0.5") || has_text_element(svg, "1.0"), "no tick numbers");
    CHECK(numbers_compact(svg), "a long tick number");
    CHECK(strstr(svg, "<polyline") && strstr(svg, "<circle") && strstr(svg, "<line") &&
              strstr(svg, "<rect") && strstr(svg, "stroke-dasharray"),
          "missing element kinds");
    CHECK(strstr(svg, "rotate(-90") != NULL, "the y label is not rotated");
    char *inline_svg = gcam_plot_svg(&f->plot, &inline_size);
    CHECK(inline_svg && inline_size == size && memcmp(inline_svg, svg, size) == 0,
          "gcam_plot_svg (%zu bytes) differs from the file (%zu bytes)", inline_size, size);
    CHECK(inline_svg && strlen(inline_svg) == inline_size, "not NUL terminated at its size");
    free(inline_svg);
    free(svg);
}

/* A canvas (h, w, 3) in which every channel takes all 256 values. */
static unsigned char *all_values(int w, int h) {
    unsigned char *rgb = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            unsigned char *p = rgb + 3 * ((size_t)y * w + x);
            p[0] = (unsigned char)x, p[1] = (unsigned char)(255 - x);
            p[2] = (unsigned char)(x * 7 + y * 31);
        }
    return rgb;
}

static void check_png_round_trip(const char *path) {
    int w = 256, h = 5;
    unsigned char *rgb = all_values(w, h);
    gcam_error err = {{0}};
    int status = gcam_png_write_rgb(path, rgb, w, h, &err);
    CHECK(status == 0, "write: %s", err.message);
    int dw, dh, c;
    unsigned char *back = stbi_load(path, &dw, &dh, &c, 3);
    CHECK(back && dw == w && dh == h && c == 3, "decoded %dx%dx%d", dw, dh, c);
    CHECK(back && memcmp(back, rgb, (size_t)w * h * 3) == 0, "the file's pixels differ");
    stbi_image_free(back);

    int size = 0;
    unsigned char *png = gcam_png_encode_rgb(rgb, w, h, &size);
    CHECK(png && size > 8 && memcmp(png, "\x89PNG", 4) == 0, "encoded %d bytes", size);
    back = png ? stbi_load_from_memory(png, size, &dw, &dh, &c, 3) : NULL;
    CHECK(back && dw == w && dh == h && memcmp(back, rgb, (size_t)w * h * 3) == 0,
          "the encoded pixels differ");
    stbi_image_free(back);
    free(png);
    CHECK(gcam_png_encode_rgb(rgb, 0, h, &size) == NULL && size == 0, "a 0-wide PNG encoded");
    status = gcam_png_write_rgb(path, rgb, 40000, 1, &err);
    CHECK_ERROR_MENTIONS(status, err, "40000x1");
    free(rgb);
}

static void check_text(void) {
    int w = 200, h = 60;
    unsigned char *rgb = malloc((size_t)w * h * 3), *before = malloc((size_t)w * h * 3);
    memset(rgb, 200, (size_t)w * h * 3);
    memcpy(before, rgb, (size_t)w * h * 3);
    const unsigned char black[3] = {0, 0, 0};
    double x = 30, y = 40, size = 14, width = gcam_png_text_width("Hello", size);
    gcam_png_draw_text(rgb, w, h, x, y, "Hello", size, black);
    int changed = 0, far = 0, dark = 0;
    for (int py = 0; py < h; ++py)
        for (int px = 0; px < w; ++px) {
            size_t i = 3 * ((size_t)py * w + px);
            if (memcmp(rgb + i, before + i, 3) == 0) continue;
            ++changed;
            dark += rgb[i] < 60;
            far += px < x - 3 || px > x + width + 3 || py < y - size - 3 || py > y + 0.3 * size + 3;
        }
    CHECK(changed > 40 && dark > 10, "%d pixels changed, %d dark", changed, dark);
    CHECK(far == 0, "%d changed pixels far from the text", far);

    /* text partly or wholly outside the canvas is cut, not a crash */
    gcam_png_draw_text(rgb, w, h, -20, 5, "edge", size, black);
    gcam_png_draw_text(rgb, w, h, 1e9, -1e9, "nowhere", size, black);
    gcam_png_draw_text(rgb, w, h, 10, 10, "bad \xff\xfe utf-8", size, black);

    double a = gcam_png_text_width("Hi", 12), b = gcam_png_text_width("Hello", 12);
    double c = gcam_png_text_width("Hello, world", 12), d = gcam_png_text_width("Hello", 24);
    CHECK(0 < a && a < b && b < c, "widths %g, %g, %g", a, b, c);
    CHECK(fabs(d - 2 * b) < 0.02 * b, "width at twice the size %g, expected %g", d, 2 * b);
    CHECK(gcam_png_text_width("", 12) == 0 && gcam_png_text_width(NULL, 12) == 0,
          "empty text has a width");
    free(rgb);
    free(before);
}

static int exists(const char *path) {
    return access(path, F_OK) == 0;
}

static void check_failures(const figure *f, const char *dir) {
    char path[512];
    snprintf(path, sizeof path, "%s/missing/plot.png", dir);
    gcam_error err = {{0}};
    int status = gcam_plot_write_png(&f->plot, path, &err);
    CHECK_ERROR_MENTIONS(status, err, path);
    CHECK(!exists(path), "%s exists", path);
    snprintf(path, sizeof path, "%s/missing/plot.svg", dir);
    status = gcam_plot_write_svg(&f->plot, path, &err);
    CHECK_ERROR_MENTIONS(status, err, path);
    CHECK(!exists(path), "%s exists", path);
    snprintf(path, sizeof path, "%s/missing/canvas.png", dir);
    unsigned char rgb[12] = {0};
    status = gcam_png_write_rgb(path, rgb, 2, 2, &err);
    CHECK_ERROR_MENTIONS(status, err, path);
    CHECK(!exists(path), "%s exists", path);

    gcam_plot bad = f->plot;
    bad.width = 0;
    size_t size = 1;
    CHECK(gcam_plot_svg(&bad, &size) == NULL && size == 0, "a 0-wide SVG");
    snprintf(path, sizeof path, "%s/zero.png", dir);
    status = gcam_plot_write_png(&bad, path, &err);
    CHECK_ERROR_MENTIONS(status, err, "0x340");
    CHECK(!exists(path), "%s exists", path);
}

/* Empty series, one point, equal values, non-finite values, limits that leave nothing
 * and no panels all draw. */
static void check_degenerate(const char *dir) {
    double x[3] = {1, 1, 1}, same[3] = {4, 4, 4}, bad[3] = {NAN, INFINITY, -INFINITY};
    double huge[3] = {-1e308, 0, 1e308}, subnormal[3] = {1e-310, 2e-310, 3e-310}, one = 0.5;
    gcam_plot_series s[6] = {
        {"empty", x, same, NULL, NULL, 0, {0}, 0, 0},
        {"one", &one, &one, NULL, NULL, 1, {0}, 0, 0},
        {"same", x, same, same, same, 3, {0}, 1, 0},
        {"bad", bad, bad, bad, bad, 3, {0}, 0, 1},
        {"huge", NULL, huge, NULL, NULL, 3, {0}, 0, 0},
        {"subnormal", subnormal, subnormal, NULL, NULL, 3, {0}, 0, 0},
    };
    gcam_plot_panel panels[5] = {
        {"all", "x", "y", NAN, NAN, NAN, NAN, NULL, 0, s, 5},
        {"subnormal", "x", "y", NAN, NAN, NAN, NAN, NULL, 0, s + 5, 1},
        {"each", NULL, NULL, NAN, NAN, NAN, NAN, NULL, 0, s + 1, 1},
        {"reversed", "x", "y", 3, 1, 2, 2, NULL, 0, s + 3, 1},
        {NULL, NULL, NULL, NAN, NAN, NAN, NAN, categories, 4, NULL, 0},
    };
    gcam_plot p = {NULL, panels, 5, 0, 400, 200};
    char path[512];
    gcam_error err = {{0}};
    const char *names[2] = {"degenerate.png", "degenerate.svg"};
    for (int k = 0; k < 2; ++k) {
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        int status = k ? gcam_plot_write_svg(&p, path, &err) : gcam_plot_write_png(&p, path, &err);
        CHECK(status == 0, "%s: %s", names[k], err.message);
        unlink(path);
    }
    p.n_panels = 0;
    snprintf(path, sizeof path, "%s/empty.png", dir);
    CHECK(gcam_plot_write_png(&p, path, &err) == 0, "no panels: %s", err.message);
    unlink(path);
}

static void check_palette(void) {
    unsigned char colours[8][3], again[3];
    for (int k = 0; k < 8; ++k) gcam_plot_colour(k, colours[k]);
    int distinct = 1;
    for (int i = 0; i < 8; ++i)
        for (int j = 0; j < i; ++j) distinct &= memcmp(colours[i], colours[j], 3) != 0;
    CHECK(distinct, "the palette repeats within 8 colours");
    gcam_plot_colour(8, again);
    CHECK(memcmp(again, colours[0], 3) == 0, "colour 8 is not colour 0 again");
    /* series that share a colour differ in their line: solid, then dashed, then solid */
    for (int k = 0; k < 24; ++k) {
        gcam_plot_series s;
        memset(&s, 0, sizeof s);
        gcam_plot_style(k, &s);
        CHECK(memcmp(s.rgb, colours[k % 8], 3) == 0, "series %d: not colour %d", k, k % 8);
        CHECK(s.dashed == (k >= 8 && k < 16), "series %d: dashed %d", k, s.dashed);
    }
}

int main(void) {
    char dir[] = "/tmp/gcam-test-plot-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char png[512], svg[512], canvas[512];
    snprintf(png, sizeof png, "%s/plot.png", dir);
    snprintf(svg, sizeof svg, "%s/plot.svg", dir);
    snprintf(canvas, sizeof canvas, "%s/canvas.png", dir);

    figure *f = malloc(sizeof *f);
    make_figure(f);
    check_plot_png(f, png);
    check_plot_svg(f, svg);
    check_png_round_trip(canvas);
    check_text();
    check_failures(f, dir);
    check_degenerate(dir);
    check_palette();
    free(f);

    unlink(png);
    unlink(svg);
    unlink(canvas);
    CHECK(rmdir(dir) == 0, "%s is not empty: a stray file", dir);
    return check_summary("test_plot");
}
