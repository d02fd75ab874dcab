/* Line plots (see plot.h). One layout and drawing code places every element and calls a
 * small backend interface (polyline, rectangle, circle, text, clip); the cairo backend
 * makes the PNG and the SVG backend writes elements. Text is measured with cairo in the
 * font the SVG names, at the same sizes, so both outputs share one layout. */
#include "plot.h"

#include "atomic_file.h"
#include "error.h"
#include "png.h"

#include <cairo.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846

/* Sizes in pixels (PNG) or user units (SVG). */
#define TICK_SIZE 11.0         /* font size of tick labels */
#define LABEL_SIZE 12.0        /* axis labels */
#define TITLE_SIZE 13.0        /* panel titles */
#define FIGURE_TITLE_SIZE 15.0 /* the figure's title */
#define LEGEND_SIZE 11.0
#define PAD 8.0          /* inside each panel's cell, and above the figure title */
#define TICK_LENGTH 4.0  /* tick marks point out of the axes */
#define TICK_GAP 3.0     /* tick mark to its label */
#define LABEL_GAP 5.0    /* tick labels to the axis label, axes to the panel title */
#define LEGEND_GAP 10.0  /* a legend beside the axes */
#define LEGEND_INSET 8.0 /* a legend inside the axes, from their edges */
#define LEGEND_PAD 6.0
#define LEGEND_HANDLE 28.0 /* length of the line sample */
#define LINE_WIDTH 2.0
#define ERROR_BAR_WIDTH 1.25
#define ERROR_BAR_CAP 3.0 /* half width of the caps */
#define MARKER_RADIUS 3.5
#define MAX_TICKS 64

static const unsigned char ink[3] = {38, 38, 38}, spine_colour[3] = {51, 51, 51},
                           grid_colour[3] = {229, 229, 229}, white[3] = {255, 255, 255},
                           legend_edge[3] = {204, 204, 204};

/* Okabe and Ito's colour-blind-safe set, its yellow last because thin yellow lines are
 * hard to see on white. */
static const unsigned char palette[8][3] = {{0, 114, 178}, {213, 94, 0},    {0, 158, 115},
                                            {230, 159, 0}, {204, 121, 167}, {86, 180, 233},
                                            {0, 0, 0},     {240, 228, 66}};

void gcam_plot_colour(int k, unsigned char rgb[3]) {
    int n = (int)(sizeof palette / sizeof palette[0]);
    memcpy(rgb, palette[((k % n) + n) % n], 3);
}

void gcam_plot_style(int k, gcam_plot_series *s) {
    int n = (int)(sizeof palette / sizeof palette[0]);
    gcam_plot_colour(k, s->rgb);
    s->dashed = k >= 0 && (k / n) % 2 == 1;
}

/* ---- backends ----------------------------------------------------------------------- */

typedef struct box {
    double x, y, w, h;
} box;

typedef struct stroke {
    unsigned char rgb[3];
    double width;
    int dashed;
    int round; /* round caps and joins (data lines), else butt caps and mitre joins */
} stroke;

typedef enum anchor { ANCHOR_START, ANCHOR_MIDDLE, ANCHOR_END } anchor;

/* What the layout code draws with. Angles are in degrees, clockwise on the screen
 * (-90: text reading upwards); y grows downwards. */
typedef struct backend {
    void *ctx;
    void (*polyline)(void *ctx, const double *xy, int n, const stroke *s); /* xy (n, 2) */
    /* fill or edge NULL: none */
    void (*rect)(void *ctx, box r, const unsigned char *fill, const stroke *edge);
    void (*circle)(void *ctx, double cx, double cy, double r, const unsigned char fill[3]);
    /* (x, y) is on the baseline at the anchor; the text turns about it by angle */
    void (*text)(void *ctx, double x, double y, const char *text, double size, anchor a,
                 double angle, const unsigned char rgb[3]);
    void (*clip)(void *ctx, const box *r); /* NULL: stop clipping */
} backend;

static double anchor_fraction(anchor a) {
    return a == ANCHOR_START ? 0 : (a == ANCHOR_MIDDLE ? 0.5 : 1);
}

/* cairo, for PNG. */

static void raster_colour(cairo_t *cr, const unsigned char rgb[3]) {
    cairo_set_source_rgb(cr, rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0);
}

static void raster_stroke(cairo_t *cr, const stroke *s) {
    raster_colour(cr, s->rgb);
    cairo_set_line_width(cr, s->width);
    double dash[2] = {3.7 * s->width, 1.6 * s->width};
    cairo_set_dash(cr, dash, s->dashed ? 2 : 0, 0);
    cairo_set_line_cap(cr, s->round ? CAIRO_LINE_CAP_ROUND : CAIRO_LINE_CAP_BUTT);
    cairo_set_line_join(cr, s->round ? CAIRO_LINE_JOIN_ROUND : CAIRO_LINE_JOIN_MITER);
    cairo_stroke(cr);
}

static void raster_polyline(void *ctx, const double *xy, int n, const stroke *s) {
    cairo_t *cr = ctx;
    cairo_move_to(cr, xy[0], xy[1]);
    for (int i = 1; i < n; ++i) cairo_line_to(cr, xy[2 * i], xy[2 * i + 1]);
    raster_stroke(cr, s);
}

static void raster_rect(void *ctx, box r, const unsigned char *fill, const stroke *edge) {
    cairo_t *cr = ctx;
    cairo_rectangle(cr, r.x, r.y, r.w, r.h);
    if (fill) {
        raster_colour(cr, fill);
        cairo_fill_preserve(cr);
    }
    if (edge)
        raster_stroke(cr, edge);
    else
        cairo_new_path(cr);
}

static void raster_circle(void *ctx, double cx, double cy, double r, const unsigned char fill[3]) {
    cairo_t *cr = ctx;
    cairo_new_sub_path(cr);
    cairo_arc(cr, cx, cy, r, 0, 2 * PI);
    raster_colour(cr, fill);
    cairo_fill(cr);
}

static void raster_text(void *ctx, double x, double y, const char *text, double size, anchor a,
                        double angle, const unsigned char rgb[3]) {
    cairo_t *cr = ctx;
    char *clean = gcam_png_clean_text(text);
    gcam_png_set_font(cr, size);
    cairo_text_extents_t e;
    cairo_text_extents(cr, clean, &e);
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_rotate(cr, angle * PI / 180);
    cairo_move_to(cr, -anchor_fraction(a) * e.x_advance, 0);
    raster_colour(cr, rgb);
    cairo_show_text(cr, clean);
    cairo_new_path(cr);
    cairo_restore(cr);
    free(clean);
}

static void raster_clip(void *ctx, const box *r) {
    cairo_t *cr = ctx;
    cairo_reset_clip(cr);
    if (r) {
        cairo_rectangle(cr, r->x, r->y, r->w, r->h);
        cairo_clip(cr);
    }
}

/* SVG, into a growing text buffer. */

typedef struct text_buffer {
    char *data;
    size_t len, capacity;
} text_buffer;

static void tb_append(text_buffer *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->capacity) {
        b->capacity = 2 * (b->len + n + 1) + 4096;
        b->data = gcam_xrealloc(b->data, b->capacity);
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void tb_puts(text_buffer *b, const char *s) {
    tb_append(b, s, strlen(s));
}

static void tb_printf(text_buffer *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tb_printf(text_buffer *b, const char *fmt, ...) {
    char small[256];
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(small, sizeof small, fmt, args);
    va_end(args);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        tb_append(b, small, (size_t)n);
        return;
    }
    char *big = gcam_xmalloc((size_t)n + 1);
    va_start(args, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, args);
    va_end(args);
    tb_append(b, big, (size_t)n);
    free(big);
}

/* A coordinate to 0.01, with '.' whatever the locale, and no trailing zeros. */
static void tb_number(text_buffer *b, double v) {
    if (!isfinite(v)) v = 0;
    long long c = llround(fmin(fmax(v, -1e9), 1e9) * 100);
    unsigned long long a = (unsigned long long)(c < 0 ? -c : c);
    const char *sign = c < 0 ? "-" : "";
    if (a % 100 == 0)
        tb_printf(b, "%s%llu", sign, a / 100);
    else if (a % 10 == 0)
        tb_printf(b, "%s%llu.%llu", sign, a / 100, a % 100 / 10);
    else
        tb_printf(b, "%s%llu.%02llu", sign, a / 100, a % 100);
}

/* name="v" with a leading space. */
static void tb_attribute(text_buffer *b, const char *name, double v) {
    tb_printf(b, " %s=\"", name);
    tb_number(b, v);
    tb_puts(b, "\"");
}

static void tb_colour(text_buffer *b, const char *name, const unsigned char rgb[3]) {
    tb_printf(b, " %s=\"#%02x%02x%02x\"", name, rgb[0], rgb[1], rgb[2]);
}

/* Text content or an attribute value: &, <, >, " escaped, and what XML refuses
 * replaced (gcam_png_clean_text). */
static void tb_escaped(text_buffer *b, const char *text) {
    char *clean = gcam_png_clean_text(text);
    for (const char *s = clean; *s; ++s) {
        if (*s == '&')
            tb_puts(b, "&amp;");
        else if (*s == '<')
            tb_puts(b, "&lt;");
        else if (*s == '>')
            tb_puts(b, "&gt;");
        else if (*s == '"')
            tb_puts(b, "&quot;");
        else
            tb_append(b, s, 1);
    }
    free(clean);
}

typedef struct svg_writer {
    text_buffer out;
    int clipped; /* a clipped <g> is open */
} svg_writer;

static void svg_stroke(text_buffer *b, const stroke *s) {
    tb_colour(b, "stroke", s->rgb);
    tb_attribute(b, "stroke-width", s->width);
    if (s->dashed) {
        tb_puts(b, " stroke-dasharray=\"");
        tb_number(b, 3.7 * s->width);
        tb_puts(b, " ");
        tb_number(b, 1.6 * s->width);
        tb_puts(b, "\"");
    }
    if (s->round) tb_puts(b, " stroke-linecap=\"round\" stroke-linejoin=\"round\"");
}

static void svg_polyline(void *ctx, const double *xy, int n, const stroke *s) {
    text_buffer *b = &((svg_writer *)ctx)->out;
    if (n == 2) {
        tb_puts(b, "<line");
        tb_attribute(b, "x1", xy[0]);
        tb_attribute(b, "y1", xy[1]);
        tb_attribute(b, "x2", xy[2]);
        tb_attribute(b, "y2", xy[3]);
    } else {
        tb_puts(b, "<polyline points=\"");
        for (int i = 0; i < n; ++i) {
            if (i) tb_puts(b, " ");
            tb_number(b, xy[2 * i]);
            tb_puts(b, ",");
            tb_number(b, xy[2 * i + 1]);
        }
        tb_puts(b, "\" fill=\"none\"");
    }
    svg_stroke(b, s);
    tb_puts(b, "/>\n");
}

static void svg_rect(void *ctx, box r, const unsigned char *fill, const stroke *edge) {
    text_buffer *b = &((svg_writer *)ctx)->out;
    tb_puts(b, "<rect");
    tb_attribute(b, "x", r.x);
    tb_attribute(b, "y", r.y);
    tb_attribute(b, "width", r.w);
    tb_attribute(b, "height", r.h);
    if (fill)
        tb_colour(b, "fill", fill);
    else
        tb_puts(b, " fill=\"none\"");
    if (edge) svg_stroke(b, edge);
    tb_puts(b, "/>\n");
}

static void svg_circle(void *ctx, double cx, double cy, double r, const unsigned char fill[3]) {
    text_buffer *b = &((svg_writer *)ctx)->out;
    tb_puts(b, "<circle");
    tb_attribute(b, "cx", cx);
    tb_attribute(b, "cy", cy);
    tb_attribute(b, "r", r);
    tb_colour(b, "fill", fill);
    tb_puts(b, "/>\n");
}

static void svg_text(void *ctx, double x, double y, const char *text, double size, anchor a,
                     double angle, const unsigned char rgb[3]) {
    text_buffer *b = &((svg_writer *)ctx)->out;
    tb_puts(b, "<text");
    tb_attribute(b, "x", x);
    tb_attribute(b, "y", y);
    tb_attribute(b, "font-size", size);
    tb_colour(b, "fill", rgb);
    if (a != ANCHOR_START)
        tb_printf(b, " text-anchor=\"%s\"", a == ANCHOR_MIDDLE ? "middle" : "end");
    if (angle != 0) {
        tb_puts(b, " transform=\"rotate(");
        tb_number(b, angle);
        tb_puts(b, " ");
        tb_number(b, x);
        tb_puts(b, " ");
        tb_number(b, y);
        tb_puts(b, ")\"");
    }
    tb_puts(b, ">");
    tb_escaped(b, text);
    tb_puts(b, "</text>\n");
}

/* The clip path's id is a hash of its rectangle: SVGs inlined in one HTML page share
 * one id space, and equal ids then always name equal rectangles, so any collision is
 * harmless (the rectangle is in each SVG's own coordinates). */
static void svg_clip(void *ctx, const box *r) {
    svg_writer *w = ctx;
    text_buffer *b = &w->out;
    if (w->clipped) tb_puts(b, "</g>\n");
    w->clipped = 0;
    if (!r) return;
    text_buffer rect = {0};
    tb_attribute(&rect, "x", r->x);
    tb_attribute(&rect, "y", r->y);
    tb_attribute(&rect, "width", r->w);
    tb_attribute(&rect, "height", r->h);
    uint32_t hash = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < rect.len; ++i) hash = (hash ^ (unsigned char)rect.data[i]) * 16777619u;
    tb_printf(b, "<clipPath id=\"gcam-clip-%08x\"><rect%s/></clipPath>\n", hash, rect.data);
    tb_printf(b, "<g clip-path=\"url(#gcam-clip-%08x)\">\n", hash);
    free(rect.data);
    w->clipped = 1;
}

/* ---- text measurement --------------------------------------------------------------- */

/* Vertical extents of text at one size, from the baseline. */
typedef struct metrics {
    double ascent, descent; /* ink of tall and descending letters ("Hdgy") */
    double cap;             /* height of digits: centres labels on tick positions */
} metrics;

static metrics text_metrics(cairo_t *m, double size) {
    gcam_png_set_font(m, size);
    cairo_text_extents_t e;
    cairo_text_extents(m, "Hdgy", &e);
    metrics r = {-e.y_bearing, e.height + e.y_bearing, 0};
    cairo_text_extents(m, "0", &e);
    r.cap = -e.y_bearing;
    return r;
}

static int has_text(const char *s) {
    return s && *s;
}

static double text_width(cairo_t *m, const char *text, double size) {
    if (!has_text(text)) return 0;
    char *clean = gcam_png_clean_text(text);
    gcam_png_set_font(m, size);
    cairo_text_extents_t e;
    cairo_text_extents(m, clean, &e);
    free(clean);
    return e.x_advance;
}

/* ---- axes ------------------------------------------------------------------------------ */

static double series_x(const gcam_plot_series *s, int i) {
    return s->x ? s->x[i] : i;
}

static int series_usable(const gcam_plot_series *s) {
    return s->y && s->n > 0;
}

static int has_error_bars(const gcam_plot_series *s) {
    return s->y_low && s->y_high;
}

static void extend(double v, double *lo, double *hi) {
    if (v < *lo) *lo = v;
    if (v > *hi) *hi = v;
}

/* The finite extent of what the panel draws; lo > hi where there is nothing. */
static void data_extent(const gcam_plot_panel *p, double *xlo, double *xhi, double *ylo,
                        double *yhi) {
    *xlo = *ylo = INFINITY;
    *xhi = *yhi = -INFINITY;
    for (int k = 0; k < p->n_series; ++k) {
        const gcam_plot_series *s = &p->series[k];
        if (!series_usable(s)) continue;
        for (int i = 0; i < s->n; ++i) {
            double x = series_x(s, i);
            if (!isfinite(x)) continue;
            int drawn = 0;
            if (isfinite(s->y[i])) extend(s->y[i], ylo, yhi), drawn = 1;
            if (has_error_bars(s) && isfinite(s->y_low[i]) && isfinite(s->y_high[i])) {
                extend(s->y_low[i], ylo, yhi);
                extend(s->y_high[i], ylo, yhi);
                drawn = 1;
            }
            if (drawn) extend(x, xlo, xhi);
        }
    }
}

/* Axis limits: the requested ones where finite, the data's with a 5 % margin where not
 * (0 .. 1 without data), and never an empty, reversed or overflowing span. */
static void axis_limits(double want_lo, double want_hi, double data_lo, double data_hi, double *lo,
                        double *hi) {
    const double big = 1e300; /* hi - lo must stay finite */
    int fixed_lo = isfinite(want_lo), fixed_hi = isfinite(want_hi);
    want_lo = fmin(fmax(want_lo, -big), big), want_hi = fmin(fmax(want_hi, -big), big);
    if (data_lo > data_hi) data_lo = 0, data_hi = 1;
    data_lo = fmax(data_lo, -big), data_hi = fmin(data_hi, big);
    if (fixed_lo) data_lo = fmin(data_lo, want_lo), data_hi = fmax(data_hi, want_lo);
    if (fixed_hi) data_lo = fmin(data_lo, want_hi), data_hi = fmax(data_hi, want_hi);
    double margin = 0.05 * (data_hi - data_lo);
    *lo = fixed_lo ? want_lo : data_lo - margin;
    *hi = fixed_hi ? want_hi : data_hi + margin;
    const double tiny = 1e-290; /* smaller spans would make tick steps underflow */
    if (*hi > *lo && *hi - *lo >= fmax(1e-9 * fmax(fabs(*lo), fabs(*hi)), tiny)) return;
    /* all values equal, or limits that leave nothing: a span around them */
    double centre = fixed_lo && !fixed_hi ? *lo : fixed_hi && !fixed_lo ? *hi : 0.5 * (*lo + *hi);
    double half = fabs(centre) > 1e3 * tiny ? 0.1 * fabs(centre) : 1;
    if (fixed_lo && !fixed_hi)
        *hi = *lo + 2 * half;
    else if (fixed_hi && !fixed_lo)
        *lo = *hi - 2 * half;
    else
        *lo = centre - half, *hi = centre + half;
}

typedef struct ticks {
    int n;
    double at[MAX_TICKS];
    char text[MAX_TICKS][32]; /* numeric labels */
    const char *label[MAX_TICKS];
    double widest; /* width of the widest label */
} ticks;

/* A tick step of mantissa (1, 2 or 5) times 10^exponent. */
typedef struct step {
    int mantissa, exponent;
} step;

static step step_up(step s) {
    if (s.mantissa == 5) return (step){1, s.exponent + 1};
    return (step){s.mantissa == 1 ? 2 : 5, s.exponent};
}

static step step_down(step s) {
    if (s.mantissa == 1) return (step){5, s.exponent - 1};
    return (step){s.mantissa == 5 ? 2 : 1, s.exponent};
}

/* The smallest 1-2-5 step of at least raw. */
static step nice_step(double raw) {
    step s = {1, (int)floor(log10(raw))};
    while (s.mantissa * pow(10, s.exponent) < raw * (1 - 1e-9)) s = step_up(s);
    return s;
}

/* k steps, computed so that e.g. 3 x 0.1 is the double nearest 0.3. */
static double step_times(step s, double k) {
    return s.exponent >= 0 ? k * s.mantissa * pow(10, s.exponent)
                           : k * s.mantissa / pow(10, -s.exponent);
}

static double step_value(step s) {
    return step_times(s, 1);
}

/* Multiples k of the step in [lo, hi]: k0 .. k1. */
static double step_count(step s, double lo, double hi, double *k0, double *k1) {
    double v = step_value(s);
    *k0 = ceil(lo / v - 1e-9);
    *k1 = floor(hi / v + 1e-9);
    return *k1 - *k0 + 1;
}

/* "%g"-like: as many decimals as the step has, or an exponent with as many digits as
 * the step needs for very large or small numbers. */
static void format_tick(char *buf, size_t size, double v, step s, double largest) {
    if (largest >= 1e6 || (largest < 1e-4 && largest > 0)) {
        int digits = (int)floor(log10(largest)) - s.exponent + 1;
        digits = digits < 1 ? 1 : (digits > 17 ? 17 : digits);
        snprintf(buf, size, "%.*g", digits, v);
        /* 1e+06 -> 1e6, 2.5e-05 -> 2.5e-5 */
        char *e = strchr(buf, 'e');
        if (e) {
            char *d = e + 1, *src = e + 1;
            if (*src == '+')
                ++src;
            else if (*src == '-')
                *d++ = *src++;
            while (*src == '0' && src[1]) ++src;
            memmove(d, src, strlen(src) + 1);
        }
    } else {
        snprintf(buf, size, "%.*f", s.exponent < 0 ? -s.exponent : 0, v);
    }
}

static void fill_numeric(ticks *t, step s, double lo, double hi) {
    double k0, k1;
    step_count(s, lo, hi, &k0, &k1);
    t->n = 0;
    for (double k = k0; k <= k1 && t->n < MAX_TICKS; ++k) {
        double v = step_times(s, k);
        t->at[t->n++] = k == 0 ? 0 : v; /* k may be -0, whose label would be "-0.0" */
    }
    double largest = 0;
    for (int i = 0; i < t->n; ++i) largest = fmax(largest, fabs(t->at[i]));
    for (int i = 0; i < t->n; ++i) {
        format_tick(t->text[i], sizeof t->text[i], t->at[i], s, largest);
        t->label[i] = t->text[i];
    }
}

static void measure_ticks(cairo_t *m, ticks *t) {
    t->widest = 0;
    for (int i = 0; i < t->n; ++i)
        t->widest = fmax(t->widest, text_width(m, t->label[i], TICK_SIZE));
}

/* Numeric ticks on [lo, hi] drawn over length pixels: about one per 80 px across (x)
 * or 38 px up (y), at least two where the span allows, and labels that do not touch
 * unless a single one would be left. */
static void numeric_ticks(cairo_t *m, double lo, double hi, double length, int across, ticks *t) {
    double k0, k1;
    double span = hi - lo, spacing = across ? 80 : 38;
    step s = nice_step(span / fmax(2, floor(length / spacing)));
    for (int i = 0; i < 3 && step_count(s, lo, hi, &k0, &k1) < 2; ++i) s = step_down(s);
    while (step_count(s, lo, hi, &k0, &k1) > MAX_TICKS) s = step_up(s);
    for (;;) {
        fill_numeric(t, s, lo, hi);
        measure_ticks(m, t);
        double pixels = step_value(s) / span * length;
        double need = across ? t->widest + 0.8 * TICK_SIZE : 1.5 * TICK_SIZE;
        if (pixels >= need || step_count(step_up(s), lo, hi, &k0, &k1) < 1) break;
        s = step_up(s);
    }
}

/* The caller's labels at the integers of [lo, hi], every stride-th one when they do not
 * fit. Returns whether they fail to fit side by side (they would fit drawn upwards). */
static int category_ticks(cairo_t *m, const gcam_plot_panel *p, double lo, double hi, double length,
                          int upwards, ticks *t) {
    double k0 = fmax(0, ceil(lo - 1e-9)), k1 = fmin(p->n_xtick_labels - 1, floor(hi + 1e-9));
    t->n = 0;
    t->widest = 0;
    if (k1 < k0) return 0;
    double widest = 0;
    for (double k = k0; k <= k1; ++k)
        widest = fmax(widest, text_width(m, p->xtick_labels[(int)k], TICK_SIZE));
    double pixels = length / (hi - lo); /* between neighbours */
    int crowded = widest + 0.8 * TICK_SIZE > pixels;
    double need = upwards ? 1.5 * TICK_SIZE : widest + 0.8 * TICK_SIZE;
    double stride = fmax(1, ceil(need / pixels));
    stride = fmax(stride, ceil((k1 - k0 + 1) / MAX_TICKS));
    for (double k = k0; k <= k1 && t->n < MAX_TICKS; k += stride) {
        const char *label = p->xtick_labels[(int)k];
        t->at[t->n] = k;
        t->label[t->n++] = label ? label : "";
    }
    measure_ticks(m, t);
    return crowded;
}

/* ---- layout ----------------------------------------------------------------------------- */

enum { LEGEND_NONE, LEGEND_INSIDE, LEGEND_BESIDE };

typedef struct panel_layout {
    const gcam_plot_panel *panel;
    box cell, axes; /* axes: whole pixels */
    double xlo, xhi, ylo, yhi;
    ticks xt, yt;
    int upwards;       /* categorical tick labels drawn reading upwards */
    int crowded;       /* categorical tick labels do not fit side by side */
    double left_over;  /* how far the first x tick label reaches left of the axes */
    double right_over; /* and the last one right of them */
    int legend_at;     /* LEGEND_* */
    box legend;
    metrics tick, label, title, legend_text;
} panel_layout;

static double map_x(const panel_layout *L, double v) {
    double t = fmin(fmax((v - L->xlo) / (L->xhi - L->xlo), -1e4), 1e4);
    return L->axes.x + t * L->axes.w;
}

static double map_y(const panel_layout *L, double v) {
    double t = fmin(fmax((v - L->ylo) / (L->yhi - L->ylo), -1e4), 1e4);
    return L->axes.y + L->axes.h - t * L->axes.h;
}

static int categorical(const gcam_plot_panel *p) {
    return p->xtick_labels && p->n_xtick_labels > 0;
}

/* Margins depend on tick labels and tick labels on the axes' size: three rounds settle
 * them. beside is the width kept right of the axes for a legend (0: none). */
static void layout_axes(cairo_t *m, panel_layout *L, int upwards, double beside) {
    const gcam_plot_panel *p = L->panel;
    box c = L->cell;
    L->upwards = upwards;
    L->crowded = 0;
    L->xt.n = L->yt.n = 0;
    L->xt.widest = L->yt.widest = 0;
    L->left_over = L->right_over = 0;
    double line = L->tick.ascent + L->tick.descent;
    for (int pass = 0; pass < 3; ++pass) {
        double top =
            c.y + PAD +
            (has_text(p->title) ? L->title.ascent + L->title.descent + LABEL_GAP : line / 2);
        double below = TICK_LENGTH + TICK_GAP + (upwards ? L->xt.widest : line) +
                       (has_text(p->xlabel) ? LABEL_GAP + L->label.ascent + L->label.descent : 0);
        double left = c.x + PAD +
                      (has_text(p->ylabel) ? L->label.ascent + L->label.descent + LABEL_GAP : 0) +
                      L->yt.widest + TICK_GAP + TICK_LENGTH;
        left = fmax(left, c.x + PAD + L->left_over);
        double right = c.x + c.w - PAD - fmax(L->right_over, beside > 0 ? beside + LEGEND_GAP : 0);
        double x0 = round(left), x1 = fmax(round(right), x0 + 10);
        double y0 = round(top), y1 = fmax(round(c.y + c.h - PAD - below), y0 + 10);
        L->axes = (box){x0, y0, x1 - x0, y1 - y0};
        numeric_ticks(m, L->ylo, L->yhi, L->axes.h, 0, &L->yt);
        if (categorical(p))
            L->crowded = category_ticks(m, p, L->xlo, L->xhi, L->axes.w, upwards, &L->xt);
        else
            numeric_ticks(m, L->xlo, L->xhi, L->axes.w, 1, &L->xt);
        L->left_over = L->right_over = 0;
        if (L->xt.n && !upwards) {
            double first = map_x(L, L->xt.at[0]), last = map_x(L, L->xt.at[L->xt.n - 1]);
            L->left_over = text_width(m, L->xt.label[0], TICK_SIZE) / 2 - (first - x0);
            L->right_over = last + text_width(m, L->xt.label[L->xt.n - 1], TICK_SIZE) / 2 - x1;
        }
    }
}

/* The legend's entries are the series with a label. */
static int legend_rows(const gcam_plot_panel *p) {
    int rows = 0;
    for (int k = 0; k < p->n_series; ++k) rows += has_text(p->series[k].label);
    return rows;
}

static double legend_row_height(void) {
    return 1.5 * LEGEND_SIZE;
}

static void legend_size(cairo_t *m, const gcam_plot_panel *p, double *w, double *h) {
    double widest = 0;
    for (int k = 0; k < p->n_series; ++k)
        widest = fmax(widest, text_width(m, p->series[k].label, LEGEND_SIZE));
    *w = 2 * LEGEND_PAD + LEGEND_HANDLE + LEGEND_PAD + widest;
    *h = 2 * LEGEND_PAD + legend_rows(p) * legend_row_height();
}

static int inside(box r, double x, double y) {
    return x >= r.x && x <= r.x + r.w && y >= r.y && y <= r.y + r.h;
}

/* Samples along a segment, about every 3 px, that fall in r. */
static int segment_hits(box r, double x0, double y0, double x1, double y1) {
    double length = hypot(x1 - x0, y1 - y0);
    int steps = (int)fmin(ceil(length / 3), 2000), hits = 0;
    for (int k = 0; k <= steps; ++k) {
        double t = steps ? (double)k / steps : 0;
        hits += inside(r, x0 + t * (x1 - x0), y0 + t * (y1 - y0));
    }
    return hits;
}

/* How much of the drawn data a legend at r would cover. */
static int covered(const panel_layout *L, box r) {
    const gcam_plot_panel *p = L->panel;
    r = (box){r.x - 3, r.y - 3, r.w + 6, r.h + 6};
    int hits = 0;
    for (int k = 0; k < p->n_series; ++k) {
        const gcam_plot_series *s = &p->series[k];
        if (!series_usable(s)) continue;
        for (int i = 0; i < s->n; ++i) {
            double x = series_x(s, i);
            if (!isfinite(x)) continue;
            double px = map_x(L, x);
            if (has_error_bars(s) && isfinite(s->y_low[i]) && isfinite(s->y_high[i]))
                hits += segment_hits(r, px, map_y(L, s->y_low[i]), px, map_y(L, s->y_high[i]));
            if (!isfinite(s->y[i])) continue;
            double py = map_y(L, s->y[i]);
            hits += inside(r, px, py);
            if (!s->markers && i + 1 < s->n && isfinite(series_x(s, i + 1)) &&
                isfinite(s->y[i + 1]))
                hits +=
                    segment_hits(r, px, py, map_x(L, series_x(s, i + 1)), map_y(L, s->y[i + 1]));
        }
    }
    return hits;
}

/* Inside the axes where it covers the least data (the corners first, upper right first
 * on ties, then the middles of the sides and the centre), or beside them when every
 * place covers some and there is room. */
static void place_legend(cairo_t *m, panel_layout *L) {
    /* horizontal and vertical position of each candidate: 0 left/top, 1 middle,
     * 2 right/bottom */
    static const int places[9][2] = {{2, 0}, {0, 0}, {0, 2}, {2, 2}, {2, 1},
                                     {0, 1}, {1, 2}, {1, 0}, {1, 1}};
    L->legend_at = LEGEND_NONE;
    if (!legend_rows(L->panel)) return;
    double w, h;
    legend_size(m, L->panel, &w, &h);
    box a = L->axes, best = {0, 0, w, h};
    int best_hits = -1;
    for (int k = 0; k < 9; ++k) {
        double x = a.x + LEGEND_INSET + places[k][0] * 0.5 * (a.w - 2 * LEGEND_INSET - w);
        double y = a.y + LEGEND_INSET + places[k][1] * 0.5 * (a.h - 2 * LEGEND_INSET - h);
        box r = {round(x), round(y), w, h};
        int hits = covered(L, r);
        if (best_hits < 0 || hits < best_hits) best = r, best_hits = hits;
    }
    L->legend_at = LEGEND_INSIDE;
    L->legend = best;
    if (best_hits == 0 || w + LEGEND_GAP > 0.4 * L->cell.w) return;
    layout_axes(m, L, L->upwards, w);
    if (L->crowded && !L->upwards) layout_axes(m, L, 1, w);
    L->legend_at = LEGEND_BESIDE;
    L->legend = (box){L->axes.x + L->axes.w + LEGEND_GAP, L->axes.y, w, h};
}

static void layout_panel(cairo_t *m, const gcam_plot_panel *p, box cell, panel_layout *L) {
    memset(L, 0, sizeof *L);
    L->panel = p;
    L->cell = cell;
    L->tick = text_metrics(m, TICK_SIZE);
    L->label = text_metrics(m, LABEL_SIZE);
    L->title = text_metrics(m, TITLE_SIZE);
    L->legend_text = text_metrics(m, LEGEND_SIZE);
    double dxlo, dxhi, dylo, dyhi;
    data_extent(p, &dxlo, &dxhi, &dylo, &dyhi);
    double want_xlo = p->xmin, want_xhi = p->xmax;
    if (categorical(p)) { /* half a category of room on each side */
        if (!isfinite(want_xlo)) want_xlo = fmin(-0.5, dxlo <= dxhi ? dxlo - 0.5 : -0.5);
        if (!isfinite(want_xhi))
            want_xhi = fmax(p->n_xtick_labels - 0.5, dxlo <= dxhi ? dxhi + 0.5 : 0);
    }
    axis_limits(want_xlo, want_xhi, dxlo, dxhi, &L->xlo, &L->xhi);
    axis_limits(p->ymin, p->ymax, dylo, dyhi, &L->ylo, &L->yhi);
    layout_axes(m, L, 0, 0);
    if (L->crowded) layout_axes(m, L, 1, 0);
    place_legend(m, L);
}

/* ---- drawing ---------------------------------------------------------------------------- */

static void line(const backend *b, double x0, double y0, double x1, double y1, const stroke *s) {
    double xy[4] = {x0, y0, x1, y1};
    b->polyline(b->ctx, xy, 2, s);
}

/* The centre of the pixel row or column nearest p within [lo, hi): 1 px lines are crisp. */
static double snap(double p, double lo, double hi) {
    return fmin(fmax(floor(p) + 0.5, lo + 0.5), hi - 0.5);
}

/* Cuts the segment to r (Liang-Barsky); 0 if nothing of it is inside. */
static int clip_segment(double *x0, double *y0, double *x1, double *y1, box r) {
    double dx = *x1 - *x0, dy = *y1 - *y0, t0 = 0, t1 = 1;
    double p[4] = {-dx, dx, -dy, dy};
    double q[4] = {*x0 - r.x, r.x + r.w - *x0, *y0 - r.y, r.y + r.h - *y0};
    for (int k = 0; k < 4; ++k) {
        if (p[k] == 0) {
            if (q[k] < 0) return 0;
            continue;
        }
        double t = q[k] / p[k];
        if (p[k] < 0) {
            if (t > t1) return 0;
            if (t > t0) t0 = t;
        } else {
            if (t < t0) return 0;
            if (t < t1) t1 = t;
        }
    }
    double ax = *x0 + t0 * dx, ay = *y0 + t0 * dy, bx = *x0 + t1 * dx, by = *y0 + t1 * dy;
    *x0 = ax, *y0 = ay, *x1 = bx, *y1 = by;
    return 1;
}

static stroke series_stroke(const gcam_plot_series *s, double width, int dashed) {
    stroke st = {{s->rgb[0], s->rgb[1], s->rgb[2]}, width, dashed, 1};
    return st;
}

/* The line through the finite points, broken at the others and cut to the axes (so
 * that far-away points keep their slopes). A point with no finite neighbour is a dot. */
static void draw_line(const backend *b, const panel_layout *L, const gcam_plot_series *s) {
    stroke st = series_stroke(s, LINE_WIDTH, s->dashed);
    box r = {L->axes.x - LINE_WIDTH, L->axes.y - LINE_WIDTH, L->axes.w + 2 * LINE_WIDTH,
             L->axes.h + 2 * LINE_WIDTH};
    double *xy = gcam_xmalloc(sizeof(double) * 4 * ((size_t)s->n + 1)); /* (2 n + 2, 2) */
    int run = 0;                                                        /* points in xy */
    int stretch = 0; /* finite points in a row so far */
    double px = 0, py = 0;
    for (int i = 0; i <= s->n; ++i) {
        int finite = i < s->n && isfinite(series_x(s, i)) && isfinite(s->y[i]);
        if (!finite) {
            if (stretch == 1 && inside(L->axes, px, py))
                b->circle(b->ctx, px, py, LINE_WIDTH, s->rgb);
            if (run >= 2) b->polyline(b->ctx, xy, run, &st);
            run = stretch = 0;
            continue;
        }
        double qx = map_x(L, series_x(s, i)), qy = map_y(L, s->y[i]);
        if (stretch++ > 0) {
            double ax = px, ay = py, bx = qx, by = qy;
            if (clip_segment(&ax, &ay, &bx, &by, r)) {
                if (run && (xy[2 * run - 2] != ax || xy[2 * run - 1] != ay)) {
                    if (run >= 2) b->polyline(b->ctx, xy, run, &st);
                    run = 0;
                }
                if (!run) xy[0] = ax, xy[1] = ay, run = 1;
                xy[2 * run] = bx, xy[2 * run + 1] = by, ++run;
            }
        }
        px = qx, py = qy;
    }
    free(xy);
}

static void draw_error_bars(const backend *b, const panel_layout *L, const gcam_plot_series *s) {
    stroke st = series_stroke(s, ERROR_BAR_WIDTH, 0);
    st.round = 0;
    for (int i = 0; i < s->n; ++i) {
        double x = series_x(s, i);
        if (!isfinite(x) || !isfinite(s->y_low[i]) || !isfinite(s->y_high[i])) continue;
        double px = map_x(L, x), lo = map_y(L, s->y_low[i]), hi = map_y(L, s->y_high[i]);
        double x0 = px, y0 = lo, x1 = px, y1 = hi;
        if (!clip_segment(&x0, &y0, &x1, &y1, L->axes)) continue;
        line(b, x0, y0, x1, y1, &st);
        if (inside(L->axes, px, lo)) line(b, px - ERROR_BAR_CAP, lo, px + ERROR_BAR_CAP, lo, &st);
        if (inside(L->axes, px, hi)) line(b, px - ERROR_BAR_CAP, hi, px + ERROR_BAR_CAP, hi, &st);
    }
}

static void draw_markers(const backend *b, const panel_layout *L, const gcam_plot_series *s) {
    box r = {L->axes.x - MARKER_RADIUS, L->axes.y - MARKER_RADIUS, L->axes.w + 2 * MARKER_RADIUS,
             L->axes.h + 2 * MARKER_RADIUS};
    for (int i = 0; i < s->n; ++i) {
        double x = series_x(s, i);
        if (!isfinite(x) || !isfinite(s->y[i])) continue;
        double px = map_x(L, x), py = map_y(L, s->y[i]);
        if (inside(r, px, py)) b->circle(b->ctx, px, py, MARKER_RADIUS, s->rgb);
    }
}

static void draw_legend(const backend *b, const panel_layout *L) {
    const gcam_plot_panel *p = L->panel;
    stroke edge = {{legend_edge[0], legend_edge[1], legend_edge[2]}, 1, 0, 0};
    box r = L->legend;
    b->rect(b->ctx, (box){r.x + 0.5, r.y + 0.5, r.w - 1, r.h - 1}, white, &edge);
    int row = 0;
    for (int k = 0; k < p->n_series; ++k) {
        const gcam_plot_series *s = &p->series[k];
        if (!has_text(s->label)) continue;
        double cy = r.y + LEGEND_PAD + (row++ + 0.5) * legend_row_height();
        double x0 = r.x + LEGEND_PAD, x1 = x0 + LEGEND_HANDLE, xm = 0.5 * (x0 + x1);
        if (s->markers) {
            b->circle(b->ctx, xm, cy, MARKER_RADIUS, s->rgb);
        } else {
            stroke st = series_stroke(s, LINE_WIDTH, s->dashed);
            line(b, x0, cy, x1, cy, &st);
        }
        if (has_error_bars(s)) {
            stroke st = series_stroke(s, ERROR_BAR_WIDTH, 0);
            st.round = 0;
            double half = 0.4 * legend_row_height();
            line(b, xm, cy - half, xm, cy + half, &st);
            line(b, xm - ERROR_BAR_CAP, cy - half, xm + ERROR_BAR_CAP, cy - half, &st);
            line(b, xm - ERROR_BAR_CAP, cy + half, xm + ERROR_BAR_CAP, cy + half, &st);
        }
        b->text(b->ctx, x1 + LEGEND_PAD, cy + L->legend_text.cap / 2, s->label, LEGEND_SIZE,
                ANCHOR_START, 0, ink);
    }
}

static void draw_panel(const backend *b, const panel_layout *L) {
    const gcam_plot_panel *p = L->panel;
    box a = L->axes;
    double x1 = a.x + a.w, y1 = a.y + a.h;
    stroke grid = {{grid_colour[0], grid_colour[1], grid_colour[2]}, 1, 0, 0};
    stroke spine = {{spine_colour[0], spine_colour[1], spine_colour[2]}, 1, 0, 0};
    for (int i = 0; i < L->yt.n; ++i) {
        double y = snap(map_y(L, L->yt.at[i]), a.y, y1);
        line(b, a.x, y, x1, y, &grid);
    }
    for (int i = 0; i < L->xt.n; ++i) {
        double x = snap(map_x(L, L->xt.at[i]), a.x, x1);
        line(b, x, a.y, x, y1, &grid);
    }

    b->clip(b->ctx, &a);
    for (int k = 0; k < p->n_series; ++k) {
        const gcam_plot_series *s = &p->series[k];
        if (!series_usable(s)) continue;
        if (has_error_bars(s)) draw_error_bars(b, L, s);
        if (s->markers)
            draw_markers(b, L, s);
        else
            draw_line(b, L, s);
    }
    b->clip(b->ctx, NULL);
    b->rect(b->ctx, (box){a.x + 0.5, a.y + 0.5, a.w - 1, a.h - 1}, NULL, &spine);

    for (int i = 0; i < L->yt.n; ++i) {
        double y = snap(map_y(L, L->yt.at[i]), a.y, y1);
        line(b, a.x - TICK_LENGTH, y, a.x, y, &spine);
        b->text(b->ctx, a.x - TICK_LENGTH - TICK_GAP, y + L->tick.cap / 2, L->yt.label[i],
                TICK_SIZE, ANCHOR_END, 0, ink);
    }
    double label_top = y1 + TICK_LENGTH + TICK_GAP;
    for (int i = 0; i < L->xt.n; ++i) {
        double x = snap(map_x(L, L->xt.at[i]), a.x, x1);
        line(b, x, y1, x, y1 + TICK_LENGTH, &spine);
        if (L->upwards)
            b->text(b->ctx, x + L->tick.cap / 2, label_top, L->xt.label[i], TICK_SIZE, ANCHOR_END,
                    -90, ink);
        else
            b->text(b->ctx, x, label_top + L->tick.ascent, L->xt.label[i], TICK_SIZE, ANCHOR_MIDDLE,
                    0, ink);
    }

    double mid_x = a.x + a.w / 2, mid_y = a.y + a.h / 2;
    if (has_text(p->xlabel)) {
        double below = L->upwards ? L->xt.widest : L->tick.ascent + L->tick.descent;
        b->text(b->ctx, mid_x, label_top + below + LABEL_GAP + L->label.ascent, p->xlabel,
                LABEL_SIZE, ANCHOR_MIDDLE, 0, ink);
    }
    if (has_text(p->ylabel)) {
        /* reading upwards, the letters' tops point left of the baseline */
        double x = a.x - TICK_LENGTH - TICK_GAP - L->yt.widest - LABEL_GAP - L->label.descent;
        b->text(b->ctx, x, mid_y, p->ylabel, LABEL_SIZE, ANCHOR_MIDDLE, -90, ink);
    }
    if (has_text(p->title))
        b->text(b->ctx, mid_x, a.y - LABEL_GAP - L->title.descent, p->title, TITLE_SIZE,
                ANCHOR_MIDDLE, 0, ink);
    if (L->legend_at != LEGEND_NONE) draw_legend(b, L);
}

static void render(const gcam_plot *p, const backend *b) {
    cairo_surface_t *surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
    cairo_t *m = cairo_create(surface); /* for measuring text */
    cairo_surface_destroy(surface);
    double W = p->width, H = p->height, top = 0;
    b->rect(b->ctx, (box){0, 0, W, H}, white, NULL);
    if (has_text(p->title)) {
        metrics t = text_metrics(m, FIGURE_TITLE_SIZE);
        b->text(b->ctx, W / 2, PAD + t.ascent, p->title, FIGURE_TITLE_SIZE, ANCHOR_MIDDLE, 0, ink);
        top = PAD + t.ascent + t.descent + LABEL_GAP;
    }
    int n = p->panels ? p->n_panels : 0;
    int columns = p->columns < 1 || p->columns > n ? n : p->columns;
    int rows = columns ? (n + columns - 1) / columns : 0;
    panel_layout *L = gcam_xmalloc(sizeof *L);
    for (int i = 0; i < n; ++i) {
        double cw = W / columns, ch = (H - top) / rows;
        box cell = {(i % columns) * cw, top + (i / columns) * ch, cw, ch};
        layout_panel(m, &p->panels[i], cell, L);
        draw_panel(b, L);
    }
    free(L);
    cairo_destroy(m);
}

/* ---- outputs ---------------------------------------------------------------------------- */

static int size_ok(const gcam_plot *p) {
    return p->width >= 1 && p->height >= 1 && p->width <= 32767 && p->height <= 32767;
}

int gcam_plot_write_png(const gcam_plot *p, const char *path, gcam_error *err) {
    if (!size_ok(p))
        return gcam_fail(err, "%s: cannot draw a %dx%d plot (each side must be 1..32767)", path,
                         p->width, p->height);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, p->width, p->height);
    cairo_t *cr = cairo_create(s);
    backend b = {cr, raster_polyline, raster_rect, raster_circle, raster_text, raster_clip};
    render(p, &b);
    cairo_status_t status = cairo_status(cr);
    cairo_destroy(cr);
    cairo_surface_flush(s);
    int result = status == CAIRO_STATUS_SUCCESS ? gcam_png_write_surface(path, s, err)
                                                : gcam_fail(err, "%s: cannot draw the plot: %s",
                                                            path, cairo_status_to_string(status));
    cairo_surface_destroy(s);
    return result;
}

char *gcam_plot_svg(const gcam_plot *p, size_t *size) {
    *size = 0;
    if (!size_ok(p)) return NULL;
    svg_writer w = {{0}, 0};
    tb_puts(&w.out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    tb_printf(&w.out,
              "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
              "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, sans-serif\">\n",
              p->width, p->height, p->width, p->height);
    backend b = {&w, svg_polyline, svg_rect, svg_circle, svg_text, svg_clip};
    render(p, &b);
    tb_puts(&w.out, "</svg>\n");
    *size = w.out.len;
    return w.out.data;
}

int gcam_plot_write_svg(const gcam_plot *p, const char *path, gcam_error *err) {
    size_t size;
    char *svg = gcam_plot_svg(p, &size);
    if (!svg)
        return gcam_fail(err, "%s: cannot draw a %dx%d plot (each side must be 1..32767)", path,
                         p->width, p->height);
    gcam_atomic_file f;
    if (gcam_atomic_file_open(&f, path, err)) {
        free(svg);
        return -1;
    }
    fwrite(svg, 1, size, f.stream);
    free(svg);
    return gcam_atomic_file_commit(&f, err);
}
