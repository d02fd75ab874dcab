/* gcam-init: writes a freshly initialised weights file for a cfg (seeded He
 * initialisation, batch-norm variances 1), for tests, demos and benchmarks; or, with
 * -weights, the starting point of a fine-tuning: the first -weights_layers layers from a
 * pretrained file and a fresh head. */
#include "gcam.h"

#include <stdio.h>

static const char usage[] = "usage: gcam-init CFG OUT.weights [options]\n"
                            "\n"
                            "Writes Darknet-format weights with a fresh initialisation of CFG,\n"
                            "reproducible from the seed. With -weights FILE -weights_layers N,\n"
                            "the first N layers come from FILE and the rest are fresh: the\n"
                            "model a fine-tuning with the same options starts from.\n";

int main(int argc, char **argv) {
    gcam_settings s;
    gcam_args args;
    int exit_status =
        gcam_settings_parse_program(&s, GCAM_PROGRAM_INIT, usage, argc, argv, 2, 2, &args);
    if (exit_status >= 0) return exit_status;
    gcam_error err;
    gcam_load_options opt = gcam_load_options_default();
    opt.batch = 1;
    opt.init_seed = (unsigned long)s.seed;
    opt.weights = s.train.weights[0] ? s.train.weights : NULL;
    opt.weights_layers = s.train.weights_layers;
    gcam_net *net = NULL;
    int status = gcam_net_load(&net, s.cfg_path, &opt, &err);
    if (!status) {
        if (!opt.weights) gcam_net_init_weights(net, (uint64_t)s.seed);
        status = gcam_net_save_weights(net, args.positional[1], &err);
    }
    if (status) fprintf(stderr, "gcam-init: %s\n", err.message);
    gcam_net_free(net);
    gcam_args_free(&args);
    return status ? 1 : 0;
}
