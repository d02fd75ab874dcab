/* The training log (see train_log.h). */
#include "train_log.h"

#include "atomic_file.h"
#include "error.h"
#include "plot.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char csv_header[] = "iter,epoch,loss,avg_loss,lr,images_per_s,valid_top1,"
                                 "valid_top5,seconds,saliency_seconds,coverage,map_hit,"
                                 "map_mass\n";

enum {
    COL_ITER,
    COL_EPOCH,
    COL_LOSS,
    COL_AVG_LOSS,
    COL_LR,
    COL_IMAGES,
    COL_TOP1,
    COL_TOP5,
    COL_SECONDS,
    N_COLUMNS_READ
};

/* The first N_COLUMNS_READ fields of a row into v; an empty field is NaN. */
static void parse_row(const char *line, double *v) {
    for (int k = 0; k < N_COLUMNS_READ; ++k) {
        char *end;
        v[k] = strtod(line, &end);
        if (end == line) v[k] = NAN;
        const char *comma = strchr(line, ',');
        if (!comma) {
            for (++k; k < N_COLUMNS_READ; ++k) v[k] = NAN;
            return;
        }
        line = comma + 1;
    }
}

int gcam_train_log_open(gcam_train_log *log, const char *dir, const char *base,
                        long start_iteration, gcam_error *err) {
    memset(log, 0, sizeof *log);
    snprintf(log->csv_path, sizeof log->csv_path, "%s/%s.csv", dir, base);
    snprintf(log->chart_path, sizeof log->chart_path, "%s/chart.png", dir);
    FILE *old = fopen(log->csv_path, "r");
    gcam_atomic_file f;
    if (gcam_atomic_file_open(&f, log->csv_path, err)) {
        if (old) fclose(old);
        return -1;
    }
    fputs(csv_header, f.stream);
    char line[1024];
    int first = 1;
    while (old && fgets(line, sizeof line, old)) {
        long iteration = strtol(line, NULL, 10);
        if (!first && iteration >= 1 && iteration <= start_iteration) {
            fputs(line, f.stream);
            double v[N_COLUMNS_READ];
            parse_row(line, v);
            log->seconds_before = isfinite(v[COL_SECONDS]) ? v[COL_SECONDS] : 0;
        }
        first = 0;
    }
    if (old) fclose(old);
    if (gcam_atomic_file_commit(&f, err)) return -1;
    log->csv = fopen(log->csv_path, "a");
    if (!log->csv) return gcam_fail(err, "%s: cannot open log: %s", log->csv_path, strerror(errno));
    return 0;
}

void gcam_train_log_close(gcam_train_log *log) {
    if (log->csv) fclose(log->csv);
    log->csv = NULL;
}

void gcam_train_log_append(gcam_train_log *log, const gcam_train_record *r) {
    FILE *f = log->csv;
    fprintf(f, "%ld,%.4f,%.6f,%.6f,%.8f,%.1f,", r->iteration, r->epoch, r->loss, r->avg_loss,
            r->rate, r->images_per_second);
    if (r->valid_top1 >= 0)
        fprintf(f, "%.4f,%.4f,", r->valid_top1, r->valid_top5);
    else
        fprintf(f, ",,");
    fprintf(f, "%.2f,", r->seconds);
    if (r->saliency)
        fprintf(f, "%.3f,%.4f,", r->refresh_seconds, r->coverage);
    else
        fprintf(f, ",,");
    if (r->map_hit >= 0)
        fprintf(f, "%.4f,%.4f\n", r->map_hit, r->map_mass);
    else
        fprintf(f, ",\n");
    fflush(f);
}

static void format_duration(char *out, size_t size, double seconds) {
    long s = (long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(out, size, "%ldh%02ldm", s / 3600, s / 60 % 60);
    else
        snprintf(out, size, "%ldm%02lds", s / 60, s % 60);
}

void gcam_train_log_print(FILE *out, const gcam_train_record *r) {
    char eta[32], saliency[64] = "", quality[64] = "";
    format_duration(eta, sizeof eta, r->eta_seconds);
    if (r->saliency)
        snprintf(saliency, sizeof saliency, "  refresh %5.2fs  maps %5.1f%%", r->refresh_seconds,
                 100 * r->coverage);
    if (r->map_hit >= 0)
        snprintf(quality, sizeof quality, "  hit %5.1f%%  mass in box %5.1f%%", 100 * r->map_hit,
                 100 * r->map_mass);
    fprintf(out, "%7ld/%ld  epoch %6.2f  loss %.4f  avg %.4f  lr %.6f  %6.0f img/s  ETA %s%s%s\n",
            r->iteration, r->max_iteration, r->epoch, r->loss, r->avg_loss, r->rate,
            r->images_per_second, eta, saliency, quality);
}

void gcam_train_log_print_validation(FILE *out, const gcam_train_record *r, int images) {
    fprintf(out, "%7ld/%ld  valid top-1 %.2f%%  top-5 %.2f%%  (%d images)\n", r->iteration,
            r->max_iteration, 100 * r->valid_top1, 100 * r->valid_top5, images);
}

/* ---- the chart -------------------------------------------------------------------- */

/* Points the chart draws at most per series: a long run's rows are averaged in bins, so
 * the chart's cost and memory do not grow with the run. */
#define CHART_POINTS 2000

typedef struct chart_data {
    int n;                               /* binned rows */
    double *iteration, *loss, *avg, *lr; /* (n) bin means */
    int n_valid;
    double *valid_iteration, *valid_top1; /* (n_valid) every validation, in percent */
} chart_data;

static void chart_data_free(chart_data *d) {
    free(d->iteration);
    free(d->loss);
    free(d->avg);
    free(d->lr);
    free(d->valid_iteration);
    free(d->valid_top1);
}

/* Reads the CSV twice: to count its rows, then to average them in bins. */
static int read_chart_data(const char *path, chart_data *d, gcam_error *err) {
    memset(d, 0, sizeof *d);
    FILE *f = fopen(path, "r");
    if (!f) return gcam_fail(err, "%s: cannot read log: %s", path, strerror(errno));
    char line[1024];
    long rows = 0, validations = 0;
    while (fgets(line, sizeof line, f)) {
        double v[N_COLUMNS_READ];
        parse_row(line, v);
        if (!isfinite(v[COL_ITER])) continue; /* the header */
        ++rows;
        validations += isfinite(v[COL_TOP1]);
    }
    long per_bin = rows > CHART_POINTS ? (rows + CHART_POINTS - 1) / CHART_POINTS : 1;
    int bins = (int)((rows + per_bin - 1) / per_bin);
    d->iteration = gcam_xcalloc((size_t)bins + 1, sizeof(double));
    d->loss = gcam_xcalloc((size_t)bins + 1, sizeof(double));
    d->avg = gcam_xcalloc((size_t)bins + 1, sizeof(double));
    d->lr = gcam_xcalloc((size_t)bins + 1, sizeof(double));
    d->valid_iteration = gcam_xcalloc((size_t)validations + 1, sizeof(double));
    d->valid_top1 = gcam_xcalloc((size_t)validations + 1, sizeof(double));
    rewind(f);
    long row = 0;
    int in_bin = 0;
    while (fgets(line, sizeof line, f) && row < rows) {
        double v[N_COLUMNS_READ];
        parse_row(line, v);
        if (!isfinite(v[COL_ITER])) continue;
        int bin = (int)(row++ / per_bin);
        d->iteration[bin] += v[COL_ITER];
        d->loss[bin] += v[COL_LOSS];
        d->avg[bin] += v[COL_AVG_LOSS];
        d->lr[bin] += v[COL_LR];
        if (++in_bin == per_bin || row == rows) {
            d->iteration[bin] /= in_bin, d->loss[bin] /= in_bin;
            d->avg[bin] /= in_bin, d->lr[bin] /= in_bin;
            d->n = bin + 1;
            in_bin = 0;
        }
        if (isfinite(v[COL_TOP1]) && d->n_valid < validations) {
            d->valid_iteration[d->n_valid] = v[COL_ITER];
            d->valid_top1[d->n_valid++] = 100 * v[COL_TOP1];
        }
    }
    fclose(f);
    return 0;
}

int gcam_train_log_chart(const gcam_train_log *log, gcam_error *err) {
    if (log->csv) fflush(log->csv);
    chart_data d;
    if (read_chart_data(log->csv_path, &d, err)) return -1;
    gcam_plot_series loss[2] = {{0}}, valid = {0}, lr = {0};
    loss[0] = (gcam_plot_series){"loss", d.iteration, d.loss, NULL, NULL, d.n, {0}, 0, 0};
    loss[1] = (gcam_plot_series){"average loss", d.iteration, d.avg, NULL, NULL, d.n, {0}, 0, 0};
    gcam_plot_colour(1, loss[0].rgb);
    gcam_plot_colour(0, loss[1].rgb);
    valid = (gcam_plot_series){
        "valid top-1", d.valid_iteration, d.valid_top1, NULL, NULL, d.n_valid, {0}, 1, 0};
    gcam_plot_colour(2, valid.rgb);
    lr = (gcam_plot_series){"learning rate", d.iteration, d.lr, NULL, NULL, d.n, {0}, 0, 0};
    gcam_plot_colour(3, lr.rgb);
    gcam_plot_panel panels[3] = {
        {"Training loss", "iteration", "loss", NAN, NAN, 0, NAN, NULL, 0, loss, 2},
        {"Validation", "iteration", "top-1 (%)", NAN, NAN, NAN, NAN, NULL, 0, &valid, 1},
        {"Learning rate", "iteration", "learning rate", NAN, NAN, 0, NAN, NULL, 0, &lr, 1},
    };
    gcam_plot plot = {"gcam-train", panels, 3, 1, 900, 960};
    char svg[GCAM_PATH_MAX + 8];
    snprintf(svg, sizeof svg, "%.*s.svg", (int)strlen(log->chart_path) - 4, log->chart_path);
    int status =
        gcam_plot_write_png(&plot, log->chart_path, err) || gcam_plot_write_svg(&plot, svg, err)
            ? -1
            : 0;
    chart_data_free(&d);
    return status;
}
