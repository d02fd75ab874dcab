/* libFuzzer target: a .weights file of any content loaded into a small fixed network:
 * header and size validation must turn every bad file into an error, never a crash or
 * a partial load. */
#include "fuzz_common.h"

static gcam_net *net;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 1 << 20) return 0;
    if (!net) {
        static const char cfg[] = "[net]\nbatch=1\nheight=8\nwidth=8\nchannels=3\n"
                                  "[convolutional]\nbatch_normalize=1\nfilters=4\nsize=3\npad=1\n"
                                  "activation=leaky\n[connected]\noutput=5\nactivation=linear\n"
                                  "[softmax]\n";
        char *path = fuzz_temp_file((const uint8_t *)cfg, sizeof cfg - 1, "net.cfg");
        gcam_error err;
        gcam_load_options lo = gcam_load_options_default();
        if (gcam_net_load(&net, path, &lo, &err)) abort();
        fuzz_remove(path);
    }
    char *path = fuzz_temp_file(data, size, "weights");
    gcam_error err;
    for (int layers = 0; layers <= 2; ++layers) gcam_weights_load(net->dn, path, layers, &err);
    fuzz_remove(path);
    return 0;
}
