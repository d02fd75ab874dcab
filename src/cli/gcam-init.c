/* gcam-init: writes a freshly initialised weights file for a cfg (seeded He
 * initialisation, batch-norm variances 1), for tests, demos and benchmarks. */
#include "gcam.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: gcam-init CFG OUT.weights [-seed S]\n"
    "Writes Darknet-format weights with a fresh initialisation of CFG. -seed makes the\n"
    "weights reproducible (default 1).\n";

int main(int argc, char **argv) {
    const char *cfg = NULL, *out = NULL;
    unsigned long seed = 1;
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(argv[i], "-seed") && i + 1 < argc) {
            char *end;
            seed = strtoul(argv[++i], &end, 10);
            if (*end) {
                fprintf(stderr, "gcam-init: -seed %s: expected an integer\n", argv[i]);
                return 2;
            }
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "gcam-init: unknown option %s (see --help)\n", argv[i]);
            return 2;
        } else if (!cfg) {
            cfg = argv[i];
        } else if (!out) {
            out = argv[i];
        } else {
            fputs(usage, stderr);
            return 2;
        }
    }
    if (!cfg || !out) {
        fputs(usage, stderr);
        return 2;
    }
    gcam_error err;
    gcam_load_options opt = gcam_load_options_default();
    opt.batch = 1;
    gcam_net *net;
    if (gcam_net_load(&net, cfg, &opt, &err)) {
        fprintf(stderr, "gcam-init: %s\n", err.message);
        return 1;
    }
    gcam_net_init_weights(net->dn, seed);
    if (gcam_weights_save(net->dn, out, &err)) {
        fprintf(stderr, "gcam-init: %s\n", err.message);
        gcam_net_free(net);
        return 1;
    }
    gcam_net_free(net);
    return 0;
}
