/* gcam-heatmap: saliency heatmaps of images under any checkpoint. */
#include "gcam.h"

#include <stdio.h>

static const char usage[] =
    "usage: gcam-heatmap CFG WEIGHTS IMAGE|DIR|LIST... [options]\n"
    "\n"
    "Writes <dir>/<stem>_<method>.png (the image with a jet overlay of its saliency map) for\n"
    "every image, and prints its top-5 classes. A DIR argument means every image file in\n"
    "it; a .list or .txt file means the paths it lists, one per line. Images go through\n"
    "the validation preprocessing of gcam-train (a resize to the network size). Settings\n"
    "come from the cfg's [gcam] section, then from the options below, so a cfg gives\n"
    "gcam-heatmap, gcam-eval and gcam-train's refreshes the same maps. Unreadable images\n"
    "are reported and skipped; the exit status is then 1. Ctrl-C or SIGTERM stops within\n"
    "one batch, with the heatmaps written so far (exit status 130 or 143).\n";

int main(int argc, char **argv) {
    const volatile sig_atomic_t *stop = gcam_stop_signals_start(); /* before any thread */
    gcam_settings s;
    gcam_args args;
    int exit_status =
        gcam_settings_parse_program(&s, GCAM_PROGRAM_HEATMAP, usage, argc, argv, 3, -1, &args);
    if (exit_status >= 0) return exit_status;
    gcam_error err;
    int unreadable = 0;
    int status = gcam_heatmap_run(&s, args.positional[1], args.positional + 2,
                                  args.n_positional - 2, stdout, &unreadable, stop, &err);
    gcam_args_free(&args);
    if (status < 0) {
        fprintf(stderr, "gcam-heatmap: %s\n", err.message);
        return 1;
    }
    return status > 0 ? 128 + status : unreadable ? 1 : 0;
}
