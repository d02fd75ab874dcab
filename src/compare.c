/* Comparing training arms (see gcam/compare.h): per-image predictions of every run are
 * read into correctness tables, summarised per arm and test-time crop mode, and compared
 * in pairs with a bootstrap over the test images. */
#include "gcam/compare.h"
#include "gcam/eval.h"

#include "atomic_file.h"
#include "datacfg.h"
#include "error.h"
#include "plot.h"
#include "rng.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARMS 32
#define MAX_SEEDS 64
#define MAX_MODES 8

/* ---- statistics ------------------------------------------------------------------- */

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

gcam_difference gcam_paired_difference(const unsigned char *a, const unsigned char *b, int seeds,
                                       int images, int resamples, unsigned long seed) {
    gcam_difference d = {0};
    double *per_image = gcam_xmalloc(sizeof(double) * (size_t)(images + 1)); /* (images) */
    double *draws = gcam_xmalloc(sizeof(double) * (size_t)(resamples + 1));  /* (resamples) */
    for (int i = 0; i < images; ++i) {
        int sum = 0;
        for (int s = 0; s < seeds; ++s)
            sum += (int)a[(size_t)s * images + i] - (int)b[(size_t)s * images + i];
        per_image[i] = (double)sum / seeds;
        d.mean += per_image[i];
    }
    d.mean = images ? d.mean / images : 0;
    double by_seed[MAX_SEEDS], seed_mean = 0, var = 0;
    for (int s = 0; s < seeds; ++s) {
        int sum = 0;
        for (int i = 0; i < images; ++i)
            sum += (int)a[(size_t)s * images + i] - (int)b[(size_t)s * images + i];
        by_seed[s] = images ? (double)sum / images : 0;
        seed_mean += by_seed[s] / seeds;
    }
    for (int s = 0; s < seeds; ++s) var += (by_seed[s] - seed_mean) * (by_seed[s] - seed_mean);
    d.seed_se = seeds > 1 ? sqrt(var / (seeds - 1) / seeds) : 0;
    gcam_rng rng = gcam_rng_init(seed, 0x600757ULL);
    for (int r = 0; r < resamples; ++r) {
        double total = 0;
        for (int i = 0; i < images; ++i) total += per_image[gcam_rng_next(&rng) % (uint32_t)images];
        draws[r] = images ? total / images : 0;
    }
    qsort(draws, (size_t)resamples, sizeof *draws, by_value);
    d.low = resamples ? draws[(int)(0.025 * (resamples - 1))] : d.mean;
    d.high = resamples ? draws[(int)ceil(0.975 * (resamples - 1))] : d.mean;
    free(per_image);
    free(draws);
    return d;
}

/* ---- reading the runs ------------------------------------------------------------- */

/* Splits a space- or comma-separated list into words (pointers into `text`, changed). */
static int split_words(char *text, char **words, int max) {
    int n = 0;
    for (char *w = strtok(text, " ,"); w && n < max; w = strtok(NULL, " ,")) words[n++] = w;
    return n;
}

/* The next CSV field of *line (RFC 4180 quotes undone) into out; advances *line past its
 * comma. 0 at the end of the line. */
static int next_field(const char **line, char *out, size_t size) {
    const char *p = *line;
    if (!*p || *p == '\n' || *p == '\r') return 0;
    size_t n = 0;
    if (*p == '"') {
        for (++p; *p && !(*p == '"' && p[1] != '"'); ++p) {
            if (*p == '"') ++p; /* a doubled quote */
            if (n + 1 < size) out[n++] = *p;
        }
        if (*p == '"') ++p;
    } else {
        for (; *p && *p != ',' && *p != '\n' && *p != '\r'; ++p)
            if (n + 1 < size) out[n++] = *p;
    }
    out[n] = '\0';
    if (*p == ',') ++p;
    *line = p;
    return 1;
}

typedef struct table {
    int arms, seeds, modes, images;
    char *arm[MAX_ARMS];
    long seed[MAX_SEEDS];
    char mode[MAX_MODES][16];
    char **image;           /* (images) the first run's image names */
    unsigned char *correct; /* (arms, modes, seeds, images) */
    /* (arms, seeds, images) the share of the item's box inside the crop mode's box (the
     * runs' crop_cover column); NaN where a run has none */
    float *cover;
    /* (arms, seeds, modes) multiply-adds and seconds per test image (the runs'
     * tta_cost.csv); NaN where a run has none */
    double *madds, *seconds;
} table;

static unsigned char *cell(const table *t, int a, int m, int s) {
    return t->correct + (((size_t)a * t->modes + m) * t->seeds + s) * t->images;
}

static float *cover_of(const table *t, int a, int s) {
    return t->cover + ((size_t)a * t->seeds + s) * t->images;
}

static size_t cost_index(const table *t, int a, int s, int m) {
    return ((size_t)a * t->seeds + s) * t->modes + m;
}

static int find_mode(const table *t, const char *name) {
    for (int m = 0; m < t->modes; ++m)
        if (!strcmp(t->mode[m], name)) return m;
    return -1;
}

/* Reads one run's predictions into column (a, ., s) of t; the first run sets the images
 * and modes every other run must repeat. */
static int read_run(table *t, const char *path, int a, int s, gcam_error *err) {
    char **lines;
    int n;
    if (gcam_lines_read(path, &lines, &n, err)) return -1;
    int status = 0;
    const char *p = n ? lines[0] : "";
    char field[4096];
    int columns = 0, modes = 0, cover_column = -1;
    char names[MAX_MODES][16];
    while (next_field(&p, field, sizeof field)) {
        if (columns >= 2 && !strcmp(field, "crop_cover"))
            cover_column = columns;
        else if (columns >= 2 && modes < MAX_MODES)
            snprintf(names[modes++], 16, "%s", field);
        ++columns;
    }
    if (n < 2 || modes < 1) status = gcam_fail(err, "%s: not a tta.csv (image,label,modes)", path);
    if (!status && !t->image) { /* the first run */
        t->images = n - 1, t->modes = modes;
        memcpy(t->mode, names, sizeof names);
        t->image = gcam_xcalloc((size_t)t->images, sizeof(char *));
        t->correct = gcam_xcalloc((size_t)t->arms * t->modes * t->seeds * t->images, 1);
        t->cover = gcam_xmalloc(sizeof(float) * t->arms * t->seeds * t->images);
        for (size_t k = 0; k < (size_t)t->arms * t->seeds * t->images; ++k) t->cover[k] = NAN;
        size_t costs = (size_t)t->arms * t->seeds * t->modes;
        t->madds = gcam_xmalloc(sizeof(double) * costs);
        t->seconds = gcam_xmalloc(sizeof(double) * costs);
        for (size_t k = 0; k < costs; ++k) t->madds[k] = t->seconds[k] = NAN;
    }
    if (!status && (n - 1 != t->images || modes != t->modes))
        status = gcam_fail(err, "%s: %d images and %d modes, the first run had %d and %d", path,
                           n - 1, modes, t->images, t->modes);
    for (int m = 0; m < modes && !status; ++m)
        if (strcmp(names[m], t->mode[m]))
            status = gcam_fail(err, "%s: mode %s where the first run has %s", path, names[m],
                               t->mode[m]);
    for (int i = 0; i < t->images && !status; ++i) {
        p = lines[i + 1];
        long values[MAX_MODES + 1];
        int k = 0, column = 1;
        if (!next_field(&p, field, sizeof field)) field[0] = '\0';
        if (!t->image[i])
            t->image[i] = gcam_xstrdup(field);
        else if (strcmp(t->image[i], field))
            status = gcam_fail(err, "%s:%d: image %s where the first run has %s", path, i + 2,
                               field, t->image[i]);
        char value[64];
        for (; !status && column < columns && next_field(&p, value, sizeof value); ++column) {
            char *end;
            if (column == cover_column) {
                double cover = strtod(value, &end);
                if (*value && (*end || cover < 0 || cover > 1))
                    status = gcam_fail(err, "%s:%d: crop_cover '%s' is not a share in [0, 1]", path,
                                       i + 2, value);
                if (*value && !status) cover_of(t, a, s)[i] = (float)cover;
                continue;
            }
            if (k > modes) break;
            values[k++] = strtol(value, &end, 10);
            if (*end || end == value)
                status = gcam_fail(err, "%s:%d: '%s' is not a class", path, i + 2, value);
        }
        if (!status && k != modes + 1)
            status = gcam_fail(err, "%s:%d: %d fields, expected %d", path, i + 2, column, columns);
        for (int m = 0; m < modes && !status; ++m) cell(t, a, m, s)[i] = values[m + 1] == values[0];
    }
    gcam_lines_free(lines, n);
    return status;
}

/* Reads one run's tta_cost.csv (mode,multiply_adds,seconds) into t's costs of (a, s), if
 * the run has one. */
static int read_costs(table *t, const char *path, int a, int s, gcam_error *err) {
    FILE *f = fopen(path, "r");
    if (!f) return 0; /* a run without costs: its pipelines have none */
    char line[256], mode[64];
    int status = 0, row = 0;
    while (!status && fgets(line, sizeof line, f)) {
        double madds, seconds;
        if (row++ == 0) continue; /* the header */
        if (sscanf(line, "%63[^,],%lf,%lf", mode, &madds, &seconds) != 3) {
            status = gcam_fail(err, "%s:%d: expected mode,multiply_adds,seconds", path, row);
            break;
        }
        int m = find_mode(t, mode);
        if (m >= 0)
            t->madds[cost_index(t, a, s, m)] = madds, t->seconds[cost_index(t, a, s, m)] = seconds;
    }
    fclose(f);
    return status;
}

static void table_free(table *t) {
    for (int i = 0; t->image && i < t->images; ++i) free(t->image[i]);
    free(t->image);
    free(t->correct);
    free(t->cover);
    free(t->madds);
    free(t->seconds);
}

static int find_arm(const table *t, const char *name) {
    for (int a = 0; a < t->arms; ++a)
        if (!strcmp(t->arm[a], name)) return a;
    return -1;
}

/* Top-1 of arm a in mode m: the mean over seeds, its standard error, and each seed's. */
static double top1(const table *t, int a, int m, double *se, double *each) {
    double mean = 0, var = 0;
    for (int s = 0; s < t->seeds; ++s) {
        int hits = 0;
        const unsigned char *c = cell(t, a, m, s);
        for (int i = 0; i < t->images; ++i) hits += c[i];
        each[s] = (double)hits / t->images;
        mean += each[s] / t->seeds;
    }
    for (int s = 0; s < t->seeds; ++s) var += (each[s] - mean) * (each[s] - mean);
    *se = t->seeds > 1 ? sqrt(var / (t->seeds - 1) / t->seeds) : 0;
    return mean;
}

/* ---- output ----------------------------------------------------------------------- */

/* "arm" or "arm@mode" into an arm and a mode index (mode none by default); -1 if unknown. */
static int parse_side(const table *t, const char *text, int *arm, int *mode) {
    char name[256];
    snprintf(name, sizeof name, "%s", text);
    char *at = strchr(name, '@');
    *mode = find_mode(t, at ? at + 1 : "none");
    if (at) *at = '\0';
    *arm = find_arm(t, name);
    return *arm >= 0 && *mode >= 0 ? 0 : -1;
}

static void print_difference(FILE *out, const table *t, const char *label, int a, int ma, int b,
                             int mb, const gcam_compare_options *o) {
    gcam_difference d = gcam_paired_difference(cell(t, a, ma, 0), cell(t, b, mb, 0), t->seeds,
                                               t->images, o->bootstrap, o->seed);
    fprintf(out, "| %s | %+.2f | [%+.2f, %+.2f] | %s | %+.2f +- %.2f |\n", label, 100 * d.mean,
            100 * d.low, 100 * d.high, d.low > 0 ? "above 0" : (d.high < 0 ? "below 0" : "spans 0"),
            100 * d.mean, 100 * d.seed_se);
}

/* Whether arm a has the crop mode's box cover for every seed (of the images with boxes). */
static int has_cover(const table *t, int a) {
    for (int s = 0; s < t->seeds; ++s) {
        int any = 0;
        for (int i = 0; i < t->images && !any; ++i) any = isfinite(cover_of(t, a, s)[i]);
        if (!any) return 0;
    }
    return 1;
}

/* A paired difference a (mode ma) - b (mode mb) counted only where arm a's crop box holds
 * the item (held 1) or misses it (held 0), over all the test images: the two parts add up
 * to the whole difference, less the images without a box. *share gets the share of
 * (seed, image) pairs in the part. */
static gcam_difference focus_part(const table *t, int a, int ma, int b, int mb, int held,
                                  const gcam_compare_options *o, double *share) {
    size_t n = (size_t)t->seeds * t->images, in_part = 0;
    unsigned char *x = gcam_xcalloc(n + 1, 1), *y = gcam_xcalloc(n + 1, 1); /* (seeds, images) */
    for (int s = 0; s < t->seeds; ++s)
        for (int i = 0; i < t->images; ++i) {
            float cover = cover_of(t, a, s)[i];
            if (!isfinite(cover) || (cover >= GCAM_FOCUS_HOLDS) != held) continue;
            size_t k = (size_t)s * t->images + i;
            x[k] = cell(t, a, ma, s)[i], y[k] = cell(t, b, mb, s)[i];
            ++in_part;
        }
    gcam_difference d = gcam_paired_difference(x, y, t->seeds, t->images, o->bootstrap, o->seed);
    *share = n ? (double)in_part / n : 0;
    free(x);
    free(y);
    return d;
}

static void print_focus_parts(FILE *out, const table *t, const char *label, int a, int ma, int b,
                              int mb, const gcam_compare_options *o) {
    for (int held = 1; held >= 0; --held) {
        double share;
        gcam_difference d = focus_part(t, a, ma, b, mb, held, o, &share);
        fprintf(out,
                "| %s, where the box %s the item (%.1f %% of canvases) | %+.2f | [%+.2f, %+.2f] | "
                "%s | %+.2f +- %.2f |\n",
                label, held ? "holds" : "misses", 100 * share, 100 * d.mean, 100 * d.low,
                100 * d.high, d.low > 0 ? "above 0" : (d.high < 0 ? "below 0" : "spans 0"),
                100 * d.mean, 100 * d.seed_se);
    }
}

/* Where each arm's crop box fell against the items' boxes, and how the crop did there. */
static void print_focus(FILE *out, const table *t, int crop) {
    int any = 0;
    for (int a = 0; a < t->arms && !any; ++a) any = has_cover(t, a);
    if (!any || crop < 0) return;
    fprintf(out,
            "\nWhere the test-time crop's box fell: the share of test canvases whose box holds "
            "the item (%.0f %% of the item's box inside), the mean share of the item's box "
            "inside, and the crop's top-1 where it holds and where it misses (over seeds and "
            "canvases):\n\n| arm | box holds the item | mean share inside | top-1 where it "
            "holds | top-1 where it misses |\n|---|---|---|---|---|\n",
            100 * GCAM_FOCUS_HOLDS);
    for (int a = 0; a < t->arms; ++a) {
        if (!has_cover(t, a)) continue;
        double with_box = 0, holds = 0, cover = 0, hits_held = 0, hits_missed = 0;
        for (int s = 0; s < t->seeds; ++s)
            for (int i = 0; i < t->images; ++i) {
                float c = cover_of(t, a, s)[i];
                if (!isfinite(c)) continue;
                int held = c >= GCAM_FOCUS_HOLDS, hit = cell(t, a, crop, s)[i];
                ++with_box, cover += c, holds += held;
                hits_held += held && hit, hits_missed += !held && hit;
            }
        fprintf(out, "| %s | %.2f %% | %.1f %% | %.2f %% | %.2f %% |\n", t->arm[a],
                100 * holds / with_box, 100 * cover / with_box, holds ? 100 * hits_held / holds : 0,
                with_box > holds ? 100 * hits_missed / (with_box - holds) : 0);
    }
}

/* ---- cost ------------------------------------------------------------------------- */

#define MAX_PIPELINES 64

/* The pipelines of o->pipelines (arm, mode pairs), or every arm at none and at crop. */
static int pipelines(const table *t, const gcam_compare_options *o, int *arm, int *mode) {
    int n = 0;
    if (o->pipelines[0]) {
        char list[GCAM_PATH_MAX], *words[MAX_PIPELINES];
        snprintf(list, sizeof list, "%s", o->pipelines);
        int n_words = split_words(list, words, MAX_PIPELINES);
        for (int k = 0; k < n_words; ++k)
            if (!parse_side(t, words[k], &arm[n], &mode[n])) ++n;
        return n;
    }
    int shown[2] = {find_mode(t, "none"), find_mode(t, "crop")};
    for (int a = 0; a < t->arms; ++a)
        for (int k = 0; k < 2; ++k)
            if (shown[k] >= 0 && n < MAX_PIPELINES) arm[n] = a, mode[n++] = shown[k];
    return n;
}

/* The mean over seeds of a pipeline's cost per image (values: madds or seconds); NaN when
 * a seed's run has none. */
static double mean_cost(const table *t, const double *values, int a, int m) {
    double total = 0;
    for (int s = 0; s < t->seeds; ++s) total += values[cost_index(t, a, s, m)];
    return total / t->seeds;
}

static void print_costs(FILE *out, const table *t, const gcam_compare_options *o) {
    int arm[MAX_PIPELINES], mode[MAX_PIPELINES], n = pipelines(t, o, arm, mode);
    double unit = NAN; /* the first pipeline with a cost: 1x */
    for (int k = 0; k < n && !isfinite(unit); ++k) unit = mean_cost(t, t->madds, arm[k], mode[k]);
    if (!isfinite(unit)) return;
    fprintf(out, "\nCost per test image: multiply-adds (convolutions and connected layers; a map's "
                 "backward as the forward of the layers above its target), as a multiple of the "
                 "first pipeline's, and measured milliseconds (gcam-eval, every mode in one "
                 "pass; mean over seeds):\n\n| pipeline | top-1 | multiply-adds | x | ms |\n"
                 "|---|---|---|---|---|\n");
    for (int k = 0; k < n; ++k) {
        double se, each[MAX_SEEDS], mean = top1(t, arm[k], mode[k], &se, each);
        double madds = mean_cost(t, t->madds, arm[k], mode[k]);
        double seconds = mean_cost(t, t->seconds, arm[k], mode[k]);
        fprintf(out, "| %s@%s | %.2f +- %.2f | %.1f M | %.2f | %.2f |\n", t->arm[arm[k]],
                t->mode[mode[k]], 100 * mean, 100 * se, madds / 1e6, madds / unit, 1e3 * seconds);
    }
}

/* cost.png/.svg: top-1 against multiply-adds per test image, a point per pipeline with
 * its 95 % interval over seeds. */
static int plot_costs(const table *t, const gcam_compare_options *o, gcam_error *err) {
    int arm[MAX_PIPELINES], mode[MAX_PIPELINES], n = pipelines(t, o, arm, mode);
    double x[MAX_PIPELINES], y[MAX_PIPELINES], low[MAX_PIPELINES], high[MAX_PIPELINES];
    char labels[MAX_PIPELINES][96];
    gcam_plot_series series[MAX_PIPELINES];
    int shown = 0;
    for (int k = 0; k < n; ++k) {
        double madds = mean_cost(t, t->madds, arm[k], mode[k]);
        if (!isfinite(madds)) continue;
        double se, each[MAX_SEEDS], mean = 100 * top1(t, arm[k], mode[k], &se, each);
        x[shown] = madds / 1e6, y[shown] = mean;
        low[shown] = mean - 196 * se, high[shown] = mean + 196 * se;
        snprintf(labels[shown], sizeof labels[shown], "%s@%s", t->arm[arm[k]], t->mode[mode[k]]);
        gcam_plot_series *s = &series[shown];
        memset(s, 0, sizeof *s);
        s->label = labels[shown];
        s->x = &x[shown], s->y = &y[shown], s->y_low = &low[shown], s->y_high = &high[shown];
        s->n = 1;
        s->markers = 1;
        gcam_plot_colour(shown, s->rgb);
        ++shown;
    }
    if (!shown) return 0;
    gcam_plot_panel panel = {"Top-1 against cost per test image (mean over seeds, 95 % interval)",
                             "multiply-adds per test image (millions)",
                             "test top-1 (%)",
                             0,
                             NAN,
                             NAN,
                             NAN,
                             NULL,
                             0,
                             series,
                             shown};
    gcam_plot plot = {NULL, &panel, 1, 1, 820, 560};
    char path[GCAM_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/cost.png", o->out_dir);
    if (gcam_plot_write_png(&plot, path, err)) return -1;
    snprintf(path, sizeof path, "%s/cost.svg", o->out_dir);
    return gcam_plot_write_svg(&plot, path, err);
}

static void print_tables(FILE *out, const table *t, const gcam_compare_options *o) {
    int none = find_mode(t, "none"), crop = find_mode(t, "crop"), random = find_mode(t, "random");
    double each[MAX_SEEDS], se;
    fprintf(out, "Top-1 on %d test images, mean +- standard error over %d seeds:\n\n", t->images,
            t->seeds);
    fprintf(out, "| arm |");
    for (int m = 0; m < t->modes; ++m) fprintf(out, " %s |", t->mode[m]);
    fprintf(out, " each seed (%s) |\n|---|", t->mode[none >= 0 ? none : 0]);
    for (int m = 0; m < t->modes; ++m) fprintf(out, "---|");
    fprintf(out, "---|\n");
    for (int a = 0; a < t->arms; ++a) {
        fprintf(out, "| %s |", t->arm[a]);
        for (int m = 0; m < t->modes; ++m) {
            double mean = top1(t, a, m, &se, each);
            fprintf(out, " %.2f +- %.2f |", 100 * mean, 100 * se);
        }
        top1(t, a, none >= 0 ? none : 0, &se, each);
        fputc(' ', out);
        for (int s = 0; s < t->seeds; ++s) fprintf(out, "%s%.2f", s ? " " : "", 100 * each[s]);
        fprintf(out, " |\n");
    }
    fprintf(out,
            "\nPaired differences in percentage points: the mean over seeds and test "
            "images, its 95 %% interval from %d bootstrap resamples of the images, and the "
            "mean +- standard error of the per-seed differences:\n\n",
            o->bootstrap);
    fprintf(out,
            "| comparison | difference | 95 %% interval | | per seed |\n|---|---|---|---|---|\n");
    int reference = o->reference[0] ? find_arm(t, o->reference) : -1;
    for (int a = 0; a < t->arms && reference >= 0 && none >= 0; ++a) {
        if (a == reference) continue;
        char label[512];
        snprintf(label, sizeof label, "%s - %s", t->arm[a], t->arm[reference]);
        print_difference(out, t, label, a, none, reference, none, o);
    }
    char pairs[GCAM_PATH_MAX], *words[64];
    snprintf(pairs, sizeof pairs, "%s", o->pairs);
    int n_pairs = split_words(pairs, words, 64);
    for (int k = 0; k < n_pairs; ++k) {
        char *colon = strchr(words[k], ':');
        int a, ma, b, mb;
        if (!colon) continue;
        *colon = '\0';
        if (parse_side(t, words[k], &a, &ma) || parse_side(t, colon + 1, &b, &mb)) continue;
        char label[512];
        snprintf(label, sizeof label, "%s - %s", words[k], colon + 1);
        print_difference(out, t, label, a, ma, b, mb, o);
        if (ma == crop && mb == find_mode(t, "oracle") && has_cover(t, a))
            print_focus_parts(out, t, label, a, ma, b, mb, o);
    }
    for (int a = 0; a < t->arms && crop >= 0 && none >= 0; ++a) {
        char label[512];
        snprintf(label, sizeof label, "%s: crop - none", t->arm[a]);
        print_difference(out, t, label, a, crop, a, none, o);
        if (random < 0) continue;
        snprintf(label, sizeof label, "%s: crop - random", t->arm[a]);
        print_difference(out, t, label, a, crop, a, random, o);
    }
    print_focus(out, t, crop);
    print_costs(out, t, o);
}

/* accuracy.png/.svg: every arm's top-1 with its 95 % interval over seeds, without and with
 * the test-time crop. */
static int plot_accuracy(const table *t, const char *dir, gcam_error *err) {
    int shown[2] = {find_mode(t, "none"), find_mode(t, "crop")};
    double x[2][MAX_ARMS], y[2][MAX_ARMS], low[2][MAX_ARMS], high[2][MAX_ARMS];
    gcam_plot_series series[2];
    int n_series = 0;
    for (int k = 0; k < 2; ++k) {
        if (shown[k] < 0) continue;
        for (int a = 0; a < t->arms; ++a) {
            double se, each[MAX_SEEDS];
            double mean = 100 * top1(t, a, shown[k], &se, each);
            x[k][a] = a + (k ? 0.12 : -0.12), y[k][a] = mean;
            low[k][a] = mean - 196 * se, high[k][a] = mean + 196 * se;
        }
        gcam_plot_series *s = &series[n_series++];
        memset(s, 0, sizeof *s);
        s->label = k ? "with the test-time crop" : "whole image";
        s->x = x[k], s->y = y[k], s->y_low = low[k], s->y_high = high[k];
        s->n = t->arms;
        s->markers = 1;
        gcam_plot_colour(k, s->rgb);
    }
    const char *names[MAX_ARMS];
    for (int a = 0; a < t->arms; ++a) names[a] = t->arm[a];
    gcam_plot_panel panel = {"Top-1 per arm (mean over seeds, 95 % interval)",
                             "arm",
                             "test top-1 (%)",
                             NAN,
                             NAN,
                             NAN,
                             NAN,
                             names,
                             t->arms,
                             series,
                             n_series};
    gcam_plot plot = {NULL, &panel, 1, 1, 220 + 90 * t->arms, 520};
    char path[GCAM_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/accuracy.png", dir);
    if (gcam_plot_write_png(&plot, path, err)) return -1;
    snprintf(path, sizeof path, "%s/accuracy.svg", dir);
    return gcam_plot_write_svg(&plot, path, err);
}

/* ---- the maps' quality over time -------------------------------------------------- */

#define MAX_POINTS 4096

/* Column `column` (0-based) of a training log by iteration: values[iteration] += value,
 * counts[iteration] += 1 for every row that has it. */
static int read_log_column(const char *path, int column, double *values, int *counts,
                           gcam_error *err) {
    FILE *f = fopen(path, "r");
    if (!f) return gcam_fail(err, "%s: cannot open log: %s", path, strerror(errno));
    char line[1024];
    int first = 1;
    while (fgets(line, sizeof line, f)) {
        if (first) {
            first = 0;
            continue;
        }
        long iteration = strtol(line, NULL, 10);
        const char *p = line;
        for (int k = 0; k < column && p; ++k) p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL;
        if (!p || *p == ',' || *p == '\n' || iteration < 0 || iteration >= MAX_POINTS) continue;
        values[iteration] += strtod(p, NULL);
        ++counts[iteration];
    }
    fclose(f);
    return 0;
}

/* quality.png/.svg: the maps' pointing-game hit rate against iterations for the arms whose
 * logs have it, and each arm's validation top-1 minus the reference's at the same
 * iterations. */
static int plot_quality(const table *t, const gcam_compare_options *o, const char *root,
                        gcam_error *err) {
    enum { HIT = 11, TOP1 = 6 };
    int reference = o->reference[0] ? find_arm(t, o->reference) : -1;
    size_t bytes = sizeof(double) * MAX_POINTS;
    double *hit = gcam_xcalloc((size_t)t->arms * MAX_POINTS, sizeof(double));
    double *top = gcam_xcalloc((size_t)t->arms * MAX_POINTS, sizeof(double));
    int *hit_n = gcam_xcalloc((size_t)t->arms * MAX_POINTS, sizeof(int));
    int *top_n = gcam_xcalloc((size_t)t->arms * MAX_POINTS, sizeof(int));
    int status = 0;
    for (int a = 0; a < t->arms && !status; ++a)
        for (int s = 0; s < t->seeds && !status; ++s) {
            char path[3 * GCAM_PATH_MAX];
            snprintf(path, sizeof path, "%s/%s_s%ld/%s", root, t->arm[a], t->seed[s], o->log);
            status = read_log_column(path, HIT, hit + (size_t)a * MAX_POINTS,
                                     hit_n + (size_t)a * MAX_POINTS, err) ||
                             read_log_column(path, TOP1, top + (size_t)a * MAX_POINTS,
                                             top_n + (size_t)a * MAX_POINTS, err)
                         ? -1
                         : 0;
        }
    /* series: (arms, points) of x and y for each panel */
    double *hx = gcam_xmalloc(bytes * t->arms), *hy = gcam_xmalloc(bytes * t->arms);
    double *gx = gcam_xmalloc(bytes * t->arms), *gy = gcam_xmalloc(bytes * t->arms);
    gcam_plot_series hits[MAX_ARMS], gaps[MAX_ARMS];
    int n_hits = 0, n_gaps = 0;
    for (int a = 0; a < t->arms && !status; ++a) {
        int nh = 0, ng = 0;
        size_t base = (size_t)a * MAX_POINTS, ref = (size_t)reference * MAX_POINTS;
        for (int i = 0; i < MAX_POINTS; ++i) {
            if (hit_n[base + i] == t->seeds) {
                hx[base + nh] = i, hy[base + nh] = 100 * hit[base + i] / hit_n[base + i];
                ++nh;
            }
            if (reference >= 0 && a != reference && top_n[base + i] == t->seeds &&
                top_n[ref + i] == t->seeds) {
                gx[base + ng] = i;
                gy[base + ng] =
                    100 * (top[base + i] / top_n[base + i] - top[ref + i] / top_n[ref + i]);
                ++ng;
            }
        }
        if (nh) {
            gcam_plot_series *s = &hits[n_hits++];
            memset(s, 0, sizeof *s);
            s->label = t->arm[a], s->x = hx + base, s->y = hy + base, s->n = nh;
            gcam_plot_style(a, s);
        }
        if (ng) {
            gcam_plot_series *s = &gaps[n_gaps++];
            memset(s, 0, sizeof *s);
            s->label = t->arm[a], s->x = gx + base, s->y = gy + base, s->n = ng;
            gcam_plot_style(a, s);
        }
    }
    char gap_label[GCAM_PATH_MAX + 64];
    snprintf(gap_label, sizeof gap_label, "validation top-1 - %s's (pp)", o->reference);
    gcam_plot_panel panels[2] = {{"The maps' pointing-game hit rate (mean over seeds)", "iteration",
                                  "hit rate (%)", NAN, NAN, 0, 100, NULL, 0, hits, n_hits},
                                 {"Accuracy gap to the reference arm", "iteration", gap_label, NAN,
                                  NAN, NAN, NAN, NULL, 0, gaps, n_gaps}};
    gcam_plot plot = {
        "The maps' quality and the accuracy they should explain", panels, 2, 1, 900, 780};
    char path[GCAM_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/quality.png", o->out_dir);
    if (!status) status = gcam_plot_write_png(&plot, path, err);
    snprintf(path, sizeof path, "%s/quality.svg", o->out_dir);
    if (!status) status = gcam_plot_write_svg(&plot, path, err);
    free(hit), free(top), free(hit_n), free(top_n);
    free(hx), free(hy), free(gx), free(gy);
    return status;
}

/* ---- the program ------------------------------------------------------------------ */

int gcam_compare_run(const gcam_settings *s, const char *root, FILE *out, gcam_error *err) {
    const gcam_compare_options *o = &s->compare;
    table t;
    memset(&t, 0, sizeof t);
    char arms[GCAM_PATH_MAX], seeds[GCAM_PATH_MAX], *words[MAX_SEEDS];
    snprintf(arms, sizeof arms, "%s", o->arms);
    snprintf(seeds, sizeof seeds, "%s", o->seeds);
    t.arms = split_words(arms, t.arm, MAX_ARMS);
    t.seeds = split_words(seeds, words, MAX_SEEDS);
    if (!t.arms || !t.seeds) return gcam_fail(err, "no arms or no seeds (-arms, -seeds)");
    for (int k = 0; k < t.seeds; ++k) t.seed[k] = strtol(words[k], NULL, 10);
    int status = 0;
    for (int a = 0; a < t.arms && !status; ++a)
        for (int k = 0; k < t.seeds && !status; ++k) {
            char path[3 * GCAM_PATH_MAX];
            snprintf(path, sizeof path, "%s/%s_s%ld/%s", root, t.arm[a], t.seed[k], o->predictions);
            status = read_run(&t, path, a, k, err);
            snprintf(path, sizeof path, "%s/%s_s%ld/%s", root, t.arm[a], t.seed[k], o->costs);
            if (!status) status = read_costs(&t, path, a, k, err);
        }
    if (!status && o->reference[0] && find_arm(&t, o->reference) < 0)
        status = gcam_fail(err, "-reference %s is not one of the arms", o->reference);
    if (!status) status = gcam_mkdir_p(o->out_dir, err);
    if (!status) {
        print_tables(out, &t, o);
        char path[GCAM_PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/compare.md", o->out_dir);
        gcam_atomic_file f;
        status = gcam_atomic_file_open(&f, path, err);
        if (!status) {
            print_tables(f.stream, &t, o);
            status = gcam_atomic_file_commit(&f, err);
        }
    }
    if (!status) status = plot_accuracy(&t, o->out_dir, err);
    if (!status) status = plot_costs(&t, o, err);
    if (!status && o->log[0]) status = plot_quality(&t, o, root, err);
    table_free(&t);
    return status;
}
