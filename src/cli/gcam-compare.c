/* gcam-compare: training arms compared on the same test images over several seeds. */
#include "gcam.h"

#include <stdio.h>

static const char usage[] =
    "usage: gcam-compare ROOT -arms \"ARM ...\" [options]\n"
    "\n"
    "Reads ROOT/<arm>_s<seed>/<predictions> (gcam-eval's tta.csv) of every arm and seed,\n"
    "and prints each arm's top-1 in every test-time crop mode (mean +- standard error over\n"
    "seeds), the paired differences from the reference arm, of the given pairs and of each\n"
    "arm's crop against none and random, each with its 95 % interval from a bootstrap over\n"
    "the test images. Writes <dir>/compare.md, <dir>/accuracy.png and .svg, and with -log\n"
    "<dir>/quality.png and .svg: the maps' pointing-game hit rate over the iterations beside\n"
    "each arm's validation gap to the reference. A pair's side is ARM or ARM@MODE (a\n"
    "test-time crop mode; none by default).\n";

int main(int argc, char **argv) {
    gcam_settings s;
    gcam_args args;
    int exit_status =
        gcam_settings_parse_program(&s, GCAM_PROGRAM_COMPARE, usage, argc, argv, 1, 1, &args);
    if (exit_status >= 0) return exit_status;
    gcam_error err;
    int status = gcam_compare_run(&s, args.positional[0], stdout, &err);
    gcam_args_free(&args);
    if (status) {
        fprintf(stderr, "gcam-compare: %s\n", err.message);
        return 1;
    }
    return 0;
}
