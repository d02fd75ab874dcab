/* Comparing training arms (see gcam/compare.h): per-image predictions of every run are
 * read into correctness tables, summarised per arm and test-time crop mode, and compared
 * in pairs with a bootstrap over the test images. */
#include "gcam/compare.h"

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
} table;

static unsigned char *cell(const table *t, int a, int m, int s) {
    return t->correct + (((size_t)a * t->modes + m) * t->seeds + s) * t->images;
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
    int columns = 0, modes = 0;
    char names[MAX_MODES][16];
    while (next_field(&p, field, sizeof field)) {
        if (columns++ >= 2 && modes < MAX_MODES) snprintf(names[modes++], 16, "%s", field);
    }
    if (n < 2 || columns < 3)
        status = gcam_fail(err, "%s: not a tta.csv (image,label,modes)", path);
    if (!status && !t->image) { /* the first run */
        t->images = n - 1, t->modes = modes;
        memcpy(t->mode, names, sizeof names);
        t->image = gcam_xcalloc((size_t)t->images, sizeof(char *));
        t->correct = gcam_xcalloc((size_t)t->arms * t->modes * t->seeds * t->images, 1);
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
        int k = 0;
        if (!next_field(&p, field, sizeof field)) field[0] = '\0';
        if (!t->image[i])
            t->image[i] = gcam_xstrdup(field);
        else if (strcmp(t->image[i], field))
            status = gcam_fail(err, "%s:%d: image %s where the first run has %s", path, i + 2,
                               field, t->image[i]);
        char value[64];
        while (!status && k <= modes && next_field(&p, value, sizeof value)) {
            char *end;
            values[k++] = strtol(value, &end, 10);
            if (*end || end == value)
                status = gcam_fail(err, "%s:%d: '%s' is not a class", path, i + 2, value);
        }
        if (!status && k != modes + 1)
            status = gcam_fail(err, "%s:%d: %d fields, expected %d", path, i + 2, k + 1, modes + 2);
        for (int m = 0; m < modes && !status; ++m) cell(t, a, m, s)[i] = values[m + 1] == values[0];
    }
    gcam_lines_free(lines, n);
    return status;
}

static void table_free(table *t) {
    for (int i = 0; t->image && i < t->images; ++i) free(t->image[i]);
    free(t->image);
    free(t->correct);
}

static int find_arm(const table *t, const char *name) {
    for (int a = 0; a < t->arms; ++a)
        if (!strcmp(t->arm[a], name)) return a;
    return -1;
}

static int find_mode(const table *t, const char *name) {
    for (int m = 0; m < t->modes; ++m)
        if (!strcmp(t->mode[m], name)) return m;
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
    }
    for (int a = 0; a < t->arms && crop >= 0 && none >= 0; ++a) {
        char label[512];
        snprintf(label, sizeof label, "%s: crop - none", t->arm[a]);
        print_difference(out, t, label, a, crop, a, none, o);
        if (random < 0) continue;
        snprintf(label, sizeof label, "%s: crop - random", t->arm[a]);
        print_difference(out, t, label, a, crop, a, random, o);
    }
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
    if (!status && o->log[0]) status = plot_quality(&t, o, root, err);
    table_free(&t);
    return status;
}
