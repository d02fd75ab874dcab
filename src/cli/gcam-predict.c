/* gcam-predict: class probabilities of images under a Darknet classifier. */
#include "gcam.h"

#include <stdio.h>

static const char usage[] =
    "usage: gcam-predict CFG WEIGHTS IMAGE... [options]\n"
    "\n"
    "Prints the top classes and probabilities of each image. Images of the network's\n"
    "input size are used as they are; others are resized to it with a triangle (bilinear)\n"
    "filter that averages when shrinking; the aspect ratio is not kept. Unreadable images\n"
    "are reported and skipped; the exit status is then 1. GCAM_KERNELS=darknet runs\n"
    "Darknet's own kernels instead of gcam's.\n";

int main(int argc, char **argv) {
    gcam_settings s;
    gcam_args args;
    int exit_status =
        gcam_settings_parse_program(&s, GCAM_PROGRAM_PREDICT, usage, argc, argv, 3, -1, &args);
    if (exit_status >= 0) return exit_status;
    gcam_error err;
    int unreadable = 0;
    int status = gcam_predict_run(&s, args.positional[1], args.positional + 2,
                                  args.n_positional - 2, stdout, &unreadable, &err);
    gcam_args_free(&args);
    if (status) {
        fprintf(stderr, "gcam-predict: %s\n", err.message);
        return 1;
    }
    return unreadable ? 1 : 0;
}
