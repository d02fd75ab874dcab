/* Loader throughput: JPEG decoding plus classifier augmentation into 224x224 batches,
 * images/s with 1 to 4 loader threads, against Darknet's own threaded loader
 * (load_data, CLASSIFICATION_DATA) in the same run on the same files.
 * The files: 256 JPEGs of 320x240 written to a temporary folder. */
#define _DEFAULT_SOURCE
#include "bench_common.h"
#include "loader.h"
#include "rng.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb_image_write.h>

#define FILES 256
#define BATCH 32

static char *label_names[2] = {"cat", "dog"};

int main(void) {
    char dir[] = "/tmp/gcam-loader-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    gcam_dataset ds = {0};
    ds.n = FILES;
    ds.classes = 2;
    ds.paths = calloc(FILES, sizeof(char *));
    ds.labels = calloc(FILES, sizeof(int));
    unsigned char *px = malloc(320 * 240 * 3);
    gcam_rng rng = gcam_rng_init(1, 1);
    for (int i = 0; i < FILES; ++i) {
        for (int y = 0; y < 240; ++y)
            for (int x = 0; x < 320; ++x)
                for (int k = 0; k < 3; ++k)
                    px[(y * 320 + x) * 3 + k] =
                        (unsigned char)((x * (k + 1) + y * (i % 7) + gcam_rng_next(&rng) % 32) &
                                        255);
        char path[256];
        snprintf(path, sizeof path, "%s/%03d_%s.jpg", dir, i, label_names[i % 2]);
        stbi_write_jpg(path, 320, 240, 3, px, 90);
        ds.paths[i] = strdup(path);
        ds.labels[i] = i % 2;
    }
    free(px);
    gcam_augment_config aug = {224, 224, 3, 224, 256, 0.75f, 7, 0.1f, 0.75f, 0.75f, 1};
    for (int threads = 1; threads <= 4; ++threads) {
        gcam_loader_config lc = {
            .data = &ds, .batch = BATCH, .train = 1, .augment = aug, .seed = 1, .threads = threads};
        gcam_loader *loader;
        gcam_error err;
        if (gcam_loader_init(&loader, &lc, &err)) return 1;
        gcam_loader_get(loader, 0, &err); /* warm-up */
        double t[3];
        for (int r = 0; r < 3; ++r) {
            double start = gcam_now_seconds();
            for (int b = 1; b <= FILES / BATCH; ++b) gcam_loader_get(loader, r * 100 + b, &err);
            t[r] = gcam_now_seconds() - start;
        }
        double ours = FILES / median(t, 3);
        gcam_loader_free(loader);

        load_args args = {0};
        args.threads = threads;
        args.paths = ds.paths;
        args.n = FILES;
        args.m = FILES;
        args.labels = label_names;
        args.classes = 2;
        args.min = 224;
        args.max = 256;
        args.size = 224;
        args.w = args.h = 224;
        args.angle = 7;
        args.aspect = 0.75f;
        args.hue = 0.1f;
        args.saturation = 0.75f;
        args.exposure = 0.75f;
        args.type = CLASSIFICATION_DATA;
        data d;
        args.d = &d;
        for (int r = 0; r < 3; ++r) {
            double start = gcam_now_seconds();
            pthread_t thread = load_data(args);
            pthread_join(thread, NULL);
            t[r] = gcam_now_seconds() - start;
            free_data(d);
        }
        double stock = FILES / median(t, 3);
        printf("loader, JPEG 320x240 -> 224x224 augmented, %d thread%s: gcam %.0f images/s, "
               "darknet %.0f images/s, ratio %.2fx  [median of 3 x %d images]\n",
               threads, threads > 1 ? "s" : " ", ours, stock, ours / stock, FILES);
        fflush(stdout);
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    gcam_dataset_free(&ds);
    return 0;
}
