/* libFuzzer target: a cfg file from its text through everything gcam does with it —
 * reading, validation, the [gcam] settings, and, when validation accepts it,
 * Darknet's own parser and a forward pass. Darknet exits or asserts on many bad cfgs;
 * the property checked is that nothing gcam accepts reaches Darknet and fails there. */
#include "cfg.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 16384) return 0;
    char *path = fuzz_temp_file(data, size, "cfg");
    gcam_error err;
    gcam_settings settings;
    gcam_settings_default(&settings);
    gcam_settings_read_cfg(&settings, path, &err);
    gcam_load_options lo = gcam_load_options_default();
    lo.batch = 1;
    gcam_net *net = NULL;
    if (fuzz_cfg_is_small(path) && gcam_net_load(&net, path, &lo, &err) == 0) {
        float *x = calloc((size_t)net->dn->inputs, sizeof(float));
        gcam_net_predict(net, x, 1);
        free(x);
        gcam_net_free(net);
    }
    fuzz_remove(path);
    return 0;
}
