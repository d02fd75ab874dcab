/* Writes docs/settings.md, the settings reference, from the settings table: every key
 * with its flag, value, default, the programs that read it and its help. `make docs` runs
 * it; tests/test_settings_doc.sh fails when the committed file differs from the table. */
#include "gcam.h"

#include <stdio.h>

/* s with the characters a Markdown table cell cannot hold escaped */
static void cell(const char *s) {
    for (; s && *s; ++s) {
        if (*s == '|') putchar('\\');
        putchar(*s == '\n' ? ' ' : *s);
    }
}

int main(int argc, char **argv) {
    if (argc > 1) {
        fprintf(stderr, "usage: settings_doc > docs/settings.md\n"
                        "Prints the settings reference, generated from the settings table.\n");
        return argc == 2 && argv[1][0] == '-' && argv[1][1] == '-' ? 0 : 2;
    }
    static const struct {
        unsigned mask;
        const char *name;
    } programs[] = {{GCAM_PROGRAM_TRAIN, "train"}, {GCAM_PROGRAM_HEATMAP, "heatmap"},
                    {GCAM_PROGRAM_EVAL, "eval"},   {GCAM_PROGRAM_PREDICT, "predict"},
                    {GCAM_PROGRAM_INIT, "init"},   {GCAM_PROGRAM_COMPARE, "compare"}};
    printf("# Settings\n\n"
           "Generated from the settings table (`src/settings.c`) by `make docs`; do not edit.\n"
           "Each setting is a `[gcam]` key in the cfg, `-set KEY=VALUE` on the command line,\n"
           "and the flag shown. The command line wins over the cfg. Programs: the `gcam-`\n"
           "programs that read the setting.\n\n"
           "| key | flag | value | default | programs | what it does |\n"
           "|---|---|---|---|---|---|\n");
    for (int i = 0; i < gcam_settings_count(); ++i) {
        const gcam_setting_info *row = gcam_settings_row(i);
        printf("| `%s` | `%s` | ", row->key, row->flag);
        cell(row->value_name ? row->value_name : "(none)");
        printf(" | ");
        if (row->default_value && row->default_value[0]) {
            putchar('`');
            cell(row->default_value);
            putchar('`');
        }
        printf(" | ");
        const char *sep = "";
        for (size_t p = 0; p < sizeof programs / sizeof *programs; ++p)
            if (row->programs & programs[p].mask) printf("%s%s", sep, programs[p].name), sep = ", ";
        printf(" | ");
        cell(row->help);
        printf(" |\n");
    }
    return 0;
}
