/* Saliency metrics (see metrics.h). */
#include "metrics.h"

#include "error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double gcam_auc(const float *curve, int n_points) {
    if (n_points < 2) return n_points == 1 ? curve[0] : 0;
    double sum = 0;
    for (int i = 0; i < n_points; ++i) sum += curve[i];
    return (sum - curve[0] / 2.0 - curve[n_points - 1] / 2.0) / (n_points - 1);
}

/* qsort has no context argument: sort (value, index) pairs instead. */
typedef struct ranked {
    float value;
    int index;
} ranked;

static int by_value_desc(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->value != y->value) return x->value < y->value ? 1 : -1;
    return (x->index > y->index) - (x->index < y->index);
}

static int by_value_asc(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->value != y->value) return x->value < y->value ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

/* NaN sorts as the lowest value, so a broken map never reorders the rest. */
static float sortable(float v) {
    return v == v ? v : -INFINITY;
}

void gcam_saliency_order(const float *map, size_t hw, int *order) {
    ranked *r = gcam_xmalloc(sizeof(ranked) * hw);
    for (size_t i = 0; i < hw; ++i) r[i] = (ranked){sortable(map[i]), (int)i};
    qsort(r, hw, sizeof *r, by_value_desc);
    for (size_t i = 0; i < hw; ++i) order[i] = r[i].index;
    free(r);
}

int gcam_curve_points(size_t hw, int step) {
    if (step < 1) step = 1;
    return (int)((hw + (size_t)step - 1) / (size_t)step) + 1;
}

void gcam_curve_input(const float *from, const float *to, int c, size_t hw, const int *order,
                      int step, int k, float *out) {
    memcpy(out, from, sizeof(float) * hw * (size_t)c);
    size_t changed = (size_t)k * (size_t)step;
    if (changed > hw) changed = hw;
    for (size_t i = 0; i < changed; ++i) {
        size_t p = (size_t)order[i];
        for (int ch = 0; ch < c; ++ch) out[(size_t)ch * hw + p] = to[(size_t)ch * hw + p];
    }
}

int gcam_point_in_box(float x, float y, const float box[4], float tolerance) {
    float dx = x < box[0] ? box[0] - x : (x > box[2] ? x - box[2] : 0);
    float dy = y < box[1] ? box[1] - y : (y > box[3] ? y - box[3] : 0);
    return dx * dx + dy * dy <= tolerance * tolerance;
}

int gcam_pointing_hit(const float *map, int h, int w, const float box[4], float tolerance) {
    size_t best = 0;
    for (size_t p = 1; p < (size_t)h * w; ++p)
        if (sortable(map[p]) > sortable(map[best])) best = p;
    /* the pixel's centre, in the same pixel units as the box edges */
    return gcam_point_in_box((float)(best % (size_t)w) + 0.5f, (float)(best / (size_t)w) + 0.5f,
                             box, tolerance);
}

/* Ranks 1..n with ties given their mean rank. */
static void ranks(const float *v, size_t n, double *out) {
    ranked *r = gcam_xmalloc(sizeof(ranked) * n);
    for (size_t i = 0; i < n; ++i) r[i] = (ranked){sortable(v[i]), (int)i};
    qsort(r, n, sizeof *r, by_value_asc);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && r[j + 1].value == r[i].value) ++j;
        double mean_rank = (i + j) / 2.0 + 1;
        for (size_t k = i; k <= j; ++k) out[r[k].index] = mean_rank;
        i = j + 1;
    }
    free(r);
}

double gcam_spearman(const float *a, const float *b, size_t n) {
    double *ra = gcam_xmalloc(sizeof(double) * n), *rb = gcam_xmalloc(sizeof(double) * n);
    ranks(a, n, ra);
    ranks(b, n, rb);
    double ma = 0, mb = 0;
    for (size_t i = 0; i < n; ++i) ma += ra[i], mb += rb[i];
    ma /= n, mb /= n;
    double sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < n; ++i) {
        sab += (ra[i] - ma) * (rb[i] - mb);
        saa += (ra[i] - ma) * (ra[i] - ma);
        sbb += (rb[i] - mb) * (rb[i] - mb);
    }
    free(ra);
    free(rb);
    /* a constant map has no order: no correlation */
    return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : 0;
}

void gcam_mean_se(const double *v, int n, double *mean, double *se) {
    double m = 0, ss = 0;
    for (int i = 0; i < n; ++i) m += v[i];
    m = n ? m / n : 0;
    for (int i = 0; i < n; ++i) ss += (v[i] - m) * (v[i] - m);
    *mean = m;
    *se = n > 1 ? sqrt(ss / (n - 1) / n) : 0;
}
