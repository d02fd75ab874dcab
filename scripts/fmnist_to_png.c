/* Converts Fashion-MNIST IDX files (already gunzipped) into PNG files named the way
 * Darknet classifiers expect, "<index>_<label>.png", plus a list of their paths.
 * usage: fmnist_to_png IMAGES.idx3 LABELS.idx1 OUT_DIR LIST_FILE */
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb_image_write.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Label names. "T-Shirt" contains "Shirt": Darknet's substring matching labels every
 * T-shirt as a shirt too; gcam's token matching does not. */
static const char *const labels[10] = {"T-Shirt", "Trouser", "Pullover", "Dress", "Coat",
                                       "Sandal",  "Shirt",   "Sneaker",  "Bag",   "Ankle-Boot"};

static uint32_t read_be32(FILE *f) {
    unsigned char b[4];
    if (fread(b, 1, 4, f) != 4) return 0;
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s IMAGES.idx3 LABELS.idx1 OUT_DIR LIST_FILE\n", argv[0]);
        return 2;
    }
    FILE *fi = fopen(argv[1], "rb"), *fl = fopen(argv[2], "rb"), *list = fopen(argv[4], "w");
    if (!fi || !fl || !list) {
        perror("fmnist_to_png: open");
        return 1;
    }
    uint32_t magic_i = read_be32(fi), n = read_be32(fi), rows = read_be32(fi), cols = read_be32(fi);
    uint32_t magic_l = read_be32(fl), n_labels = read_be32(fl);
    if (magic_i != 2051 || magic_l != 2049 || n != n_labels || rows != 28 || cols != 28) {
        fprintf(stderr, "fmnist_to_png: %s / %s are not matching IDX image/label files\n", argv[1],
                argv[2]);
        return 1;
    }
    unsigned char pixels[28 * 28];
    for (uint32_t i = 0; i < n; ++i) {
        int label = fgetc(fl);
        if (fread(pixels, 1, sizeof pixels, fi) != sizeof pixels || label < 0 || label > 9) {
            fprintf(stderr, "fmnist_to_png: truncated input at item %u\n", i);
            return 1;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%05u_%s.png", argv[3], i, labels[label]);
        if (!stbi_write_png(path, 28, 28, 1, pixels, 28)) {
            fprintf(stderr, "fmnist_to_png: cannot write %s\n", path);
            return 1;
        }
        fprintf(list, "%s\n", path);
    }
    if (fclose(list) != 0) {
        perror(argv[4]);
        return 1;
    }
    fclose(fi);
    fclose(fl);
    return 0;
}
