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

/* A run with modes none, crop and oracle and the crop's box cover: n images labelled 0;
 * crop right on the first crop_right, oracle on the first oracle_right; the crop's box
 * holds the item (cover 1) on the first `holds` and covers 0.2 of it on the rest; and a
 * tta_cost.csv. */
static void write_focus_run(const char *arm, int n, int crop_right, int oracle_right, int holds,
                            double crop_madds) {
    char path[900], command[1000];
    snprintf(command, sizeof command, "mkdir -p %s/%s_s1/test", dir, arm);
    CHECK(system(command) == 0, "mkdir");
    snprintf(path, sizeof path, "%s/%s_s1/test/tta.csv", dir, arm);
    FILE *f = fopen(path, "w");
    fprintf(f, "image,label,none,crop,oracle,crop_cover\n");
    for (int i = 0; i < n; ++i)
        fprintf(f, "img%d.png,0,1,%d,%d,%s\n", i, i < crop_right ? 0 : 1, i < oracle_right ? 0 : 1,
                i < holds ? "1.0000" : "0.2000");
    fclose(f);
    snprintf(path, sizeof path, "%s/%s_s1/test/tta_cost.csv", dir, arm);
    f = fopen(path, "w");
    fprintf(f,
            "mode,multiply_adds,seconds\nnone,10000000,0.001\ncrop,%.0f,0.003\n"
            "oracle,20000000,0.002\n",
            crop_madds);
    fclose(f);
}

/* The focus table (where the box held the item), the split of a gap to the oracle into
 * where the box holds and where it misses (the parts add up to the gap), and the cost
 * table and plot, on hand-made runs with known answers. */
static void check_focus_and_costs(void) {
    snprintf(dir, sizeof dir, "/tmp/gcam-compare-XXXXXX");
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    write_focus_run("sal", 100, 60, 0, 70, 25e6);
    write_focus_run("orc", 100, 0, 80, 100, 25e6);
    gcam_settings st;
    gcam_settings_default(&st);
    snprintf(st.compare.arms, sizeof st.compare.arms, "sal orc");
    snprintf(st.compare.seeds, sizeof st.compare.seeds, "1");
    snprintf(st.compare.pairs, sizeof st.compare.pairs, "sal@crop:orc@oracle");
    snprintf(st.compare.pipelines, sizeof st.compare.pipelines, "orc@none,sal@crop,orc@oracle");
    snprintf(st.compare.out_dir, sizeof st.compare.out_dir, "%s/out", dir);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    gcam_error err;
    int status = gcam_compare_run(&st, dir, out, &err);
    fclose(out);
    CHECK(status == 0, "%s", err.message);
    const char *t = text ? text : "";
    /* 60 - 80 = -20 pp: -10 where the box holds (60 of 70 against 70 of 70), -10 where it
     * misses (0 of 30 against 10 of 30) */
    CHECK(strstr(t, "| sal@crop - orc@oracle | -20.00 |"), "the gap:\n%s", t);
    CHECK(strstr(t, "| sal@crop - orc@oracle, where the box holds the item (70.0 % of canvases) | "
                    "-10.00 |"),
          "the part where the box holds");
    CHECK(strstr(t, "| sal@crop - orc@oracle, where the box misses the item (30.0 % of canvases) | "
                    "-10.00 |"),
          "the part where it misses");
    /* sal: holds 70 %, mean share (70 + 30 * 0.2) / 100 = 76 %, crop right on 60 of 70 where
     * it holds and none of 30 where it misses */
    CHECK(strstr(t, "| sal | 70.00 % | 76.0 % | 85.71 % | 0.00 % |"), "the focus row");
    CHECK(strstr(t, "| orc@none | 0.00 +- 0.00 | 10.0 M | 1.00 | 1.00 |"), "the first cost row");
    CHECK(strstr(t, "| sal@crop | 60.00 +- 0.00 | 25.0 M | 2.50 | 3.00 |"), "the crop's cost row");
    CHECK(strstr(t, "| orc@oracle | 80.00 +- 0.00 | 20.0 M | 2.00 | 2.00 |"), "the oracle's cost");
    struct stat sb;
    char path[900];
    snprintf(path, sizeof path, "%s/out/cost.svg", dir);
    CHECK(stat(path, &sb) == 0 && sb.st_size > 500, "no %s", path);
    free(text);
    /* a cover that is not a share is named with its line */
    char command[1000];
    snprintf(command, sizeof command, "sed -i '3s/1.0000$/1.5/' %s/sal_s1/test/tta.csv", dir);
    CHECK(system(command) == 0, "sed");
    CHECK_ERROR_MENTIONS(gcam_compare_run(&st, dir, stdout, &err), err, "tta.csv:3");
    snprintf(command, sizeof command, "rm -rf %s", dir);
    CHECK(system(command) == 0, "cleanup");
}

int main(void) {
    check_difference();
    check_runs();
    check_focus_and_costs();
    return check_summary("test_compare");
}
