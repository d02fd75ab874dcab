/* The settings table: every default parses and prints back unchanged, keys and each
 * program's flags are unique, every program's --help (the real binaries) shows each of its
 * settings with the table's default, and the command line follows its rules: defaults,
 * then the cfg's [gcam] section, then flags; -set only for keys the program reads; errors
 * name the flag, key or cfg line. */
#include "check.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    gcam_program program;
    const char *binary;
} programs[] = {{GCAM_PROGRAM_TRAIN, "bin/gcam-train"}, {GCAM_PROGRAM_HEATMAP, "bin/gcam-heatmap"},
                {GCAM_PROGRAM_EVAL, "bin/gcam-eval"},   {GCAM_PROGRAM_PREDICT, "bin/gcam-predict"},
                {GCAM_PROGRAM_INIT, "bin/gcam-init"},   {GCAM_PROGRAM_COMPARE, "bin/gcam-compare"}};
#define N_PROGRAMS (int)(sizeof programs / sizeof *programs)

static void check_table(void) {
    int n = gcam_settings_count();
    CHECK(n > 50, "%d settings", n);
    for (int i = 0; i < n; ++i) {
        const gcam_setting_info *row = gcam_settings_row(i);
        CHECK(row->flag && row->flag[0] == '-' && row->help[0] && row->programs,
              "%s: flag, help and readers", row->key);
        /* the default parses, and prints back as itself */
        gcam_settings s;
        gcam_error err;
        memset(&s, 0, sizeof s);
        CHECK(gcam_settings_set(&s, row->key, row->default_value, "table", &err) == 0, "%s",
              err.message);
        gcam_settings d;
        gcam_settings_default(&d);
        char text[512] = "";
        CHECK(gcam_settings_format(&d, row->key, text, sizeof text) == 0 &&
                  !strcmp(text, row->default_value),
              "%s: default '%s' prints as '%s'", row->key, row->default_value, text);
        for (int j = i + 1; j < n; ++j) {
            const gcam_setting_info *other = gcam_settings_row(j);
            CHECK(strcmp(row->key, other->key), "key %s twice", row->key);
            CHECK(!(row->programs & other->programs) || strcmp(row->flag, other->flag),
                  "flag %s means both %s and %s in one program", row->flag, row->key, other->key);
        }
    }
    CHECK(gcam_settings_row(n) == NULL && gcam_settings_row(-1) == NULL, "rows out of range");
    for (int m = 0; m < GCAM_METHOD_COUNT; ++m)
        CHECK(gcam_method_from_name(gcam_method_name((gcam_method)m)) == m &&
                  gcam_method_title((gcam_method)m)[0],
              "method %d", m);
    CHECK(gcam_method_from_name("magic") == -1, "unknown method found");
    /* where training is cheaper than heatmaps, it has a key of its own */
    gcam_settings d;
    gcam_settings_default(&d);
    CHECK(d.saliency.groups == 32 && d.train.refresh_groups == 8,
          "saliency_groups %d, refresh_groups %d", d.saliency.groups, d.train.refresh_groups);
    CHECK(d.saliency.rise_n == 4000 && d.eval.rise_n == 400, "rise_n %d, eval_rise_n %d",
          d.saliency.rise_n, d.eval.rise_n);
}

/* The entry of `flag` in a help text: from its line to the next option's. */
static const char *help_entry(const char *help, const char *flag, char *out, size_t size) {
    char start[96];
    snprintf(start, sizeof start, "\n  %s ", flag);
    const char *p = strstr(help, start);
    if (!p) return NULL;
    const char *end = strstr(p + 1, "\n  -");
    size_t n = end ? (size_t)(end - p) : strlen(p);
    snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), p);
    return out;
}

static void check_help(void) {
    for (int k = 0; k < N_PROGRAMS; ++k) {
        char command[256];
        snprintf(command, sizeof command, "%s --help", programs[k].binary);
        FILE *pipe = popen(command, "r");
        static char help[1 << 16];
        size_t n = pipe ? fread(help, 1, sizeof help - 1, pipe) : 0;
        help[n] = '\0';
        int status = pipe ? pclose(pipe) : -1;
        CHECK(status == 0 && strstr(help, "usage: "), "%s --help: status %d", programs[k].binary,
              status);
        /* unwrap the help's continuation lines into one line per option */
        for (char *p = help; (p = strstr(p, "\n          ")); *p = ' ') {
        }
        for (int i = 0; i < gcam_settings_count(); ++i) {
            const gcam_setting_info *row = gcam_settings_row(i);
            int reads = (row->programs & programs[k].program) != 0;
            char entry[2048], key[96], def[600];
            snprintf(key, sizeof key, "[%s]", row->key);
            snprintf(def, sizeof def, "(default %s)",
                     row->default_value[0] ? row->default_value : "none");
            const char *e = help_entry(help, row->flag, entry, sizeof entry);
            if (reads)
                CHECK(e && strstr(e, key) && strstr(e, def), "%s --help: %s %s %s",
                      programs[k].binary, row->flag, key, def);
            else
                CHECK(!strstr(help, key), "%s --help shows %s, which it does not read",
                      programs[k].binary, key);
        }
    }
}

static gcam_args_status parse(gcam_settings *s, gcam_program program, int argc, const char **argv,
                              gcam_error *err) {
    gcam_args args;
    gcam_settings_default(s);
    gcam_args_status status =
        gcam_settings_from_command_line(s, program, argc, (char **)argv, 1, -1, &args, err);
    gcam_args_free(&args);
    return status;
}

static void check_command_line(void) {
    char *cfg = temp_cfg("[net]\nbatch=1\nwidth=8\nheight=8\nchannels=3\n"
                         "[gcam]\nsaliency_groups=4\nsaliency_theta=50\ncrop_prob=0.25\n"
                         "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n"
                         "[avgpool]\n[softmax]\n");
    gcam_settings s;
    gcam_error err;
    /* the cfg over the defaults, the command line over the cfg, in any order */
    const char *a1[] = {"x", "-groups", "6", cfg, "-set", "saliency_theta=20", "-raw"};
    CHECK(parse(&s, GCAM_PROGRAM_HEATMAP, 7, a1, &err) == GCAM_ARGS_OK, "%s", err.message);
    CHECK(s.saliency.groups == 6 && s.saliency.theta == 20 && s.train.guided.crop_prob == 0.25f &&
              s.heatmap.raw == 1 && s.saliency.rise_n == 4000 && !strcmp(s.cfg_path, cfg),
          "groups %d theta %g crop %g raw %d", s.saliency.groups, s.saliency.theta,
          s.train.guided.crop_prob, s.heatmap.raw);
    const char *a2[] = {"x", cfg};
    CHECK(parse(&s, GCAM_PROGRAM_EVAL, 2, a2, &err) == GCAM_ARGS_OK && s.saliency.groups == 4,
          "the cfg's saliency_groups does not reach gcam-eval: %d", s.saliency.groups);
    /* lists, classes and layers */
    const char *a3[] = {"x",      cfg,         "-methods", "rise,gradcam",
                        "-class", "predicted", "-layer",   "-2"};
    CHECK(parse(&s, GCAM_PROGRAM_EVAL, 8, a3, &err) == GCAM_ARGS_OK && s.eval.n_methods == 2 &&
              s.eval.methods[0] == GCAM_METHOD_RISE && s.eval.predicted == 1 &&
              s.saliency.layer == -2,
          "%s", err.message);
    const char *a4[] = {"x", cfg, "-class", "7"};
    CHECK(parse(&s, GCAM_PROGRAM_HEATMAP, 4, a4, &err) == GCAM_ARGS_OK && s.heatmap.cls == 7,
          "class %d", s.heatmap.cls);
    /* errors: each names what was wrong, and is a usage error (exit 2) */
    struct {
        gcam_program program;
        int argc;
        const char *argv[4];
        gcam_args_status status;
        const char *mentions;
    } bad[] = {
        {GCAM_PROGRAM_HEATMAP, 3, {"x", cfg, "-frobnicate"}, GCAM_ARGS_USAGE, "-frobnicate"},
        {GCAM_PROGRAM_HEATMAP, 4, {"x", cfg, "-groups", "0"}, GCAM_ARGS_USAGE, "-groups 0"},
        {GCAM_PROGRAM_HEATMAP, 3, {"x", cfg, "-groups"}, GCAM_ARGS_USAGE, "needs a value"},
        {GCAM_PROGRAM_EVAL,
         4,
         {"x", cfg, "-methods", "gradcam,gradcam"},
         GCAM_ARGS_USAGE,
         "given twice"},
        {GCAM_PROGRAM_EVAL,
         4,
         {"x", cfg, "-set", "crop_prob=0.5"},
         GCAM_ARGS_USAGE,
         "does not read crop_prob"},
        {GCAM_PROGRAM_TRAIN,
         4,
         {"x", cfg, "-set", "magic=1"},
         GCAM_ARGS_USAGE,
         "unknown key 'magic'"},
        {GCAM_PROGRAM_TRAIN,
         4,
         {"x", cfg, "-set", "crop_prob=1.5"},
         GCAM_ARGS_USAGE,
         "crop_prob=1.5: expected a number in [0, 1]"},
        {GCAM_PROGRAM_TRAIN, 2, {"x", "/nonexistent/gcam.cfg"}, GCAM_ARGS_FAILED, "cannot open"},
        {GCAM_PROGRAM_TRAIN, 1, {"x"}, GCAM_ARGS_USAGE, "missing arguments"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; ++k) {
        err.message[0] = '\0';
        gcam_args_status status = parse(&s, bad[k].program, bad[k].argc, bad[k].argv, &err);
        CHECK(status == bad[k].status && strstr(err.message, bad[k].mentions),
              "case %zu: status %d, '%s' (want '%s')", k, status, err.message, bad[k].mentions);
    }
    const char *help[] = {"x", "-groups", "0", "--help"};
    CHECK(parse(&s, GCAM_PROGRAM_HEATMAP, 4, help, &err) == GCAM_ARGS_HELP, "--help not seen");
    /* a bad [gcam] value in the cfg names its file and line */
    char *bad_cfg = temp_cfg("[net]\nbatch=1\n[gcam]\nsaliency_every=10\nrise_p=2\n");
    gcam_settings_default(&s);
    CHECK_ERROR_MENTIONS(gcam_settings_read_cfg(&s, bad_cfg, &err), err, ":5: [gcam] rise_p=2");
    unlink(cfg);
    unlink(bad_cfg);
    free(cfg);
    free(bad_cfg);
}

int main(void) {
    check_table();
    check_help();
    check_command_line();
    return check_summary("test_settings");
}
