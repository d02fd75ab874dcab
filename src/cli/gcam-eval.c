/* gcam-eval: how faithful are a checkpoint's heatmaps? Deletion and insertion AUC,
 * pointing game, time per image and the sanity check, per saliency method, with a table,
 * a CSV, plots and an HTML report. */
#include "gcam.h"

#include <stdio.h>

static const char usage[] =
    "usage: gcam-eval CFG WEIGHTS -data DIR|FILE [options]\n"
    "\n"
    "Scores saliency methods on the validation images (a folder's split or valid/, or the\n"
    ".data file's valid= list), at each\n"
    "image's true class: deletion and insertion curves and their AUC (the Group-CAM\n"
    "protocol: deletion replaces pixels in decreasing saliency with zeros, insertion\n"
    "starts from the blurred image; each step changes 1/28 of the pixels), the pointing\n"
    "game where boxes are given (with a centre-point baseline), time per image, and the\n"
    "cascading-randomisation sanity check. Writes <dir>/per_image.csv (image,method,class,\n"
    "deletion_auc,insertion_auc,pointing_hit,seconds), <dir>/curves.png and .svg,\n"
    "<dir>/sanity.png and .svg, and <dir>/report.html (self-contained: opens with no\n"
    "network). Settings come from the cfg's [gcam] section, then from the options below.\n"
    "Unreadable images are counted and reported. Ctrl-C or SIGTERM stops within one\n"
    "batch: the outputs are written for the images evaluated so far, without the sanity\n"
    "check. Exit status: 0 done, 1 error, 2 bad arguments, 130 or 143 stopped.\n";

int main(int argc, char **argv) {
    const volatile sig_atomic_t *stop = gcam_stop_signals_start(); /* before any thread */
    gcam_settings s;
    gcam_args args;
    int exit_status =
        gcam_settings_parse_program(&s, GCAM_PROGRAM_EVAL, usage, argc, argv, 2, 2, &args);
    if (exit_status >= 0) return exit_status;
    if (!s.data_path[0]) {
        fprintf(stderr, "gcam-eval: -data DIR|FILE is required (or data= in the cfg's [gcam])\n");
        gcam_args_free(&args);
        return 2;
    }
    gcam_error err;
    int unreadable = 0;
    int status = gcam_eval_run(&s, args.positional[1], stdout, &unreadable, stop, &err);
    gcam_args_free(&args);
    if (status < 0) {
        fprintf(stderr, "gcam-eval: %s\n", err.message);
        return 1;
    }
    return status > 0 ? 128 + status : unreadable ? 1 : 0;
}
