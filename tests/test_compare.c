/* gcam-compare's statistics and tables: the paired difference and its bootstrap interval
 * on correctness tables with known answers, and whole comparisons of hand-made runs,
 * whose top-1, differences and errors are checked. */
#include "check.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void check_difference(void) {
    enum { S = 3, N = 1000 };
    static unsigned char a[S * N], b[S * N];
    for (int s = 0; s < S; ++s)
        for (int i = 0; i < N; ++i) a[s * N + i] = i < 600, b[s * N + i] = i < 500;
    gcam_difference d = gcam_paired_difference(a, b, S, N, 2000, 1);
    /* 100 images where a is right and b wrong, all seeds: +0.1; resampling 1000 images
     * puts the share of those 100 at 0.1 +- 1.96 sqrt(0.1 * 0.9 / 1000) = +-0.019 */
    CHECK(fabs(d.mean - 0.1) < 1e-12 && d.seed_se == 0, "mean %g, seed se %g", d.mean, d.seed_se);
    CHECK(d.low > 0.075 && d.low < 0.09 && d.high > 0.11 && d.high < 0.125, "interval [%g, %g]",
          d.low, d.high);
    d = gcam_paired_difference(a, a, S, N, 2000, 1);
    CHECK(d.mean == 0 && d.low == 0 && d.high == 0, "a - a: %g [%g, %g]", d.mean, d.low, d.high);
    /* independent coin flips of equal accuracy: the interval holds 0 */
    gcam_rng rng = gcam_rng_init(4, 4);
    for (int k = 0; k < S * N; ++k)
        a[k] = gcam_rng_uniform(&rng) < 0.7f, b[k] = gcam_rng_uniform(&rng) < 0.7f;
    d = gcam_paired_difference(a, b, S, N, 2000, 1);
    CHECK(d.low < 0 && d.high > 0 && d.seed_se > 0, "equal arms: [%g, %g], seed se %g", d.low,
          d.high, d.seed_se);
}

static char dir[] = "/tmp/gcam-compare-XXXXXX";

/* A run's tta.csv: n images with label i % 4; mode "none" right on the first `right` images
 * and "crop" on the first `crop_right`. */
static void write_run(const char *arm, int seed, int n, int right, int crop_right) {
    char path[900];
    snprintf(path, sizeof path, "%s/%s_s%d/test", dir, arm, seed);
    char command[1000];
    snprintf(command, sizeof command, "mkdir -p %s", path);
    CHECK(system(command) == 0, "mkdir");
    snprintf(path, sizeof path, "%s/%s_s%d/test/tta.csv", dir, arm, seed);
    FILE *f = fopen(path, "w");
    fprintf(f, "image,label,none,crop\n");
    for (int i = 0; i < n; ++i) {
        int label = i % 4;
        fprintf(f, "\"img/%d,x.png\",%d,%d,%d\n", i, label, i < right ? label : (label + 1) % 4,
                i < crop_right ? label : (label + 1) % 4);
    }
    fclose(f);
}

static void check_runs(void) {
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    for (int s = 1; s <= 2; ++s) {
        write_run("plain", s, 200, 100 + s, 110);
        write_run("guided", s, 200, 120 + s, 150);
    }
    gcam_settings st;
    gcam_settings_default(&st);
    snprintf(st.compare.arms, sizeof st.compare.arms, "plain guided");
    snprintf(st.compare.seeds, sizeof st.compare.seeds, "1,2");
    snprintf(st.compare.reference, sizeof st.compare.reference, "plain");
    snprintf(st.compare.pairs, sizeof st.compare.pairs, "guided@crop:plain");
    snprintf(st.compare.out_dir, sizeof st.compare.out_dir, "%s/out", dir);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    gcam_error err;
    int status = gcam_compare_run(&st, dir, out, &err);
    fclose(out);
    CHECK(status == 0, "%s", err.message);
    /* plain: (101 + 102) / 2 / 200 = 50.75 %; guided: 60.75 %; guided - plain: +10 pp;
     * guided's crop against plain's none: 75 - 50.75 = +24.25 pp */
    CHECK(text && strstr(text, "| plain | 50.75 +- 0.25 | 55.00 +- 0.00 |"), "plain row:\n%s",
          text ? text : "");
    CHECK(text && strstr(text, "| guided | 60.75 +- 0.25 | 75.00 +- 0.00 |"), "guided row");
    CHECK(text && strstr(text, "| guided - plain | +10.00 |"), "difference row");
    CHECK(text && strstr(text, "| guided@crop - plain | +24.25 |"), "pair row");
    CHECK(text && strstr(text, "| guided: crop - none | +14.25 |"), "crop row");
    struct stat sb;
    char path[900];
    snprintf(path, sizeof path, "%s/out/accuracy.svg", dir);
    CHECK(stat(path, &sb) == 0 && sb.st_size > 500, "no %s", path);
    free(text);
    /* a run whose images differ is named */
    write_run("odd", 1, 150, 10, 10);
    snprintf(st.compare.arms, sizeof st.compare.arms, "plain odd");
    snprintf(st.compare.seeds, sizeof st.compare.seeds, "1");
    CHECK_ERROR_MENTIONS(gcam_compare_run(&st, dir, stdout, &err), err, "odd_s1/test/tta.csv");
    snprintf(st.compare.arms, sizeof st.compare.arms, "plain missing");
    CHECK_ERROR_MENTIONS(gcam_compare_run(&st, dir, stdout, &err), err, "missing_s1");
    char command[1000];
    snprintf(command, sizeof command, "rm -rf %s", dir);
    CHECK(system(command) == 0, "cleanup");
}

int main(void) {
    check_difference();
    check_runs();
    return check_summary("test_compare");
}
