/* gcam-predict: class probabilities of images under a Darknet classifier. */
#include "gcam.h"

#include <stdio.h>

static const char usage[] =
    "usage: gcam-predict CFG WEIGHTS IMAGE|DIR|LIST... [options]\n"
    "\n"
    "Prints the top classes and probabilities of each image (a DIR argument means every\n"
    "image file in it, a .list or .txt file the paths it lists, one per line). Images of\n"
    "the network's input size are used as they are; others are resized to it with a\n"
    "triangle (bilinear) filter that averages when shrinking; the aspect ratio is not\n"
    "kept. Unreadable images are reported and skipped; the exit status is then 1. Ctrl-C\n"
    "or SIGTERM stops within one batch (exit status 130 or 143; a -probs file is still\n"
    "written, NaN rows for the images not reached). GCAM_KERNELS=darknet runs Darknet's\n"
    "own kernels instead of gcam's.\n";

int main(int argc, char **argv) {
    const volatile sig_atomic_t *stop = gcam_stop_signals_start(); /* before any thread */
    gcam_settings s;
    gcam_args args;
    int exit_status =
        gcam_settings_parse_program(&s, GCAM_PROGRAM_PREDICT, usage, argc, argv, 3, -1, &args);
    if (exit_status >= 0) return exit_status;
    gcam_error err;
    int unreadable = 0;
    int status = gcam_predict_run(&s, args.positional[1], args.positional + 2,
                                  args.n_positional - 2, stdout, &unreadable, stop, &err);
    gcam_args_free(&args);
    if (status < 0) {
        fprintf(stderr, "gcam-predict: %s\n", err.message);
        return 1;
    }
    return status > 0 ? 128 + status : unreadable ? 1 : 0;
}
