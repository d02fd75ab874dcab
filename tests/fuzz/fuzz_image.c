/* libFuzzer target: the image decode path (stb_image through gcam_image_load) and the
 * resize to a network input, for grey and colour networks. */
#include "fuzz_common.h"
#include "image_ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 1 << 20) return 0;
    char *path = fuzz_temp_file(data, size, "image");
    float out[3 * 24 * 20];
    gcam_error err;
    gcam_image_load_for_net(path, 24, 20, 3, out, &err);
    gcam_image_load_for_net(path, 24, 20, 1, out, &err);
    fuzz_remove(path);
    return 0;
}
