/* Loader throughput with sources of every size: decoding plus classifier augmentation
 * into batches of 16, for JPEG (quality 90) and PNG sources of 256x256, 1024x1024 and
 * 3000x2000, at 64x64 and 224x224 inputs, with 1 and 2 loader threads. Each row gives
 * images/s and the peak resident memory of the process that ran it, against Darknet's own
 * threaded loader (load_data, CLASSIFICATION_DATA) on the same files in the same run,
 * each measured in a child process of its own so that the memory is its own.
 * Also the decode alone (gcam_image_load on one thread), the part no augmentation can
 * save. The files: synthetic photographs (smooth gradients with noise), about 64
 * megapixels of them per size, written to a temporary folder. */
#define _DEFAULT_SOURCE
#include "bench_common.h"
#include "loader.h"
#include "rng.h"

#include <errno.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb_image_write.h>

#define BATCH 16

static char *label_names[2] = {"cat", "dog"};

/* files of w x h, enough for about 64 megapixels and at least two batches */
static int files_for(int w, int h) {
    int n = (int)(64e6 / ((double)w * h));
    return n < 2 * BATCH ? 2 * BATCH : (n > 256 ? 256 : n);
}

/* px: [h][w][3]; image i of a sequence, gradients whose slope depends on i, plus noise */
static void synthetic_photo(unsigned char *px, int w, int h, int i, gcam_rng *rng) {
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            for (int k = 0; k < 3; ++k)
                px[((size_t)y * w + x) * 3 + k] =
                    (unsigned char)((x * 256 / w * (k + 1) + y * 256 / h * (i % 7 + 1) +
                                     gcam_rng_next(rng) % 24) &
                                    255);
}

static void write_files(gcam_dataset *ds, const char *dir, int w, int h, int png) {
    int n = files_for(w, h);
    ds->n = n;
    ds->classes = 2;
    ds->paths = calloc(n, sizeof(char *));
    ds->labels = calloc(n, sizeof(int));
    unsigned char *px = malloc((size_t)w * h * 3);
    gcam_rng rng = gcam_rng_init(1, 1);
    for (int i = 0; i < n; ++i) {
        synthetic_photo(px, w, h, i, &rng);
        char path[256];
        snprintf(path, sizeof path, "%s/%dx%d_%03d_%s.%s", dir, w, h, i, label_names[i % 2],
                 png ? "png" : "jpg");
        if (png)
            stbi_write_png(path, w, h, 3, px, w * 3);
        else
            stbi_write_jpg(path, w, h, 3, px, 90);
        ds->paths[i] = strdup(path);
        ds->labels[i] = i % 2;
    }
    free(px);
}

/* images/s of gcam's loader over every file, median of 3 passes after a warm-up batch */
static double gcam_rate(const gcam_dataset *ds, int size, int threads) {
    gcam_augment_config aug = {size, size, 3, size, size * 8 / 7, 0.75f, 7, 0.1f, 0.75f, 0.75f, 1};
    gcam_loader_config lc = {
        .data = ds, .batch = BATCH, .train = 1, .augment = aug, .seed = 1, .threads = threads};
    gcam_loader *loader;
    gcam_error err;
    if (gcam_loader_init(&loader, &lc, &err)) return 0;
    gcam_loader_get(loader, 0, &err);
    int batches = ds->n / BATCH;
    double t[3];
    for (int r = 0; r < 3; ++r) {
        double start = gcam_now_seconds();
        for (int b = 1; b <= batches; ++b) gcam_loader_get(loader, r * 1000 + b, &err);
        t[r] = gcam_now_seconds() - start;
    }
    gcam_loader_free(loader);
    return batches * BATCH / median(t, 3);
}

/* the same with Darknet's loader and the same augmentation keys */
static double darknet_rate(const gcam_dataset *ds, int size, int threads) {
    load_args args = {0};
    args.threads = threads;
    args.paths = ds->paths;
    args.n = args.m = ds->n;
    args.labels = label_names;
    args.classes = 2;
    args.min = size, args.max = size * 8 / 7, args.size = size;
    args.w = args.h = size;
    args.angle = 7;
    args.aspect = 0.75f;
    args.hue = 0.1f, args.saturation = 0.75f, args.exposure = 0.75f;
    args.type = CLASSIFICATION_DATA;
    data d;
    args.d = &d;
    double t[3];
    for (int r = 0; r < 3; ++r) {
        double start = gcam_now_seconds();
        pthread_t thread = load_data(args);
        pthread_join(thread, NULL);
        t[r] = gcam_now_seconds() - start;
        free_data(d);
    }
    return ds->n / median(t, 3);
}

/* decodes alone, one thread: milliseconds per image, median over the files */
static double decode_ms(const gcam_dataset *ds) {
    double *t = malloc(sizeof(double) * ds->n);
    for (int i = 0; i < ds->n; ++i) {
        gcam_image im;
        gcam_error err;
        double start = gcam_now_seconds();
        if (gcam_image_load(&im, ds->paths[i], 3, &err) == 0) gcam_image_free(&im);
        t[i] = gcam_now_seconds() - start;
    }
    double ms = 1e3 * median(t, ds->n);
    free(t);
    return ms;
}

typedef enum { GCAM, DARKNET, DECODE } job;

/* Runs the job in a child; its result (images/s or ms) and its peak RSS in MB. */
static double in_child(job j, const gcam_dataset *ds, int size, int threads, double *peak_mb) {
    int pipe_fd[2];
    *peak_mb = 0;
    if (pipe(pipe_fd)) return 0;
    pid_t pid = fork();
    if (pid == 0) {
        double r = j == GCAM ? gcam_rate(ds, size, threads)
                             : (j == DARKNET ? darknet_rate(ds, size, threads) : decode_ms(ds));
        if (write(pipe_fd[1], &r, sizeof r) != sizeof r) _exit(1);
        _exit(0);
    }
    close(pipe_fd[1]);
    double r = 0;
    if (read(pipe_fd[0], &r, sizeof r) != sizeof r) r = 0;
    close(pipe_fd[0]);
    int status;
    struct rusage usage;
    wait4(pid, &status, 0, &usage);
    *peak_mb = usage.ru_maxrss / 1024.0;
    return r;
}

/* --write DIR W H N: N JPEGs of W x H in DIR/c0/ to DIR/c9/ (a folder by class for
 * -data DIR, ten classes as cfg/resnet18.cfg's head), for bench_train_sources.sh */
static int write_class_folder(const char *dir, int w, int h, int n) {
    unsigned char *px = malloc((size_t)w * h * 3);
    gcam_rng rng = gcam_rng_init(1, 1);
    char path[512];
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "bench_loader: cannot create %s: %s\n", dir, strerror(errno));
        free(px);
        return 1;
    }
    for (int c = 0; c < 10; ++c) {
        snprintf(path, sizeof path, "%s/c%d", dir, c);
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "bench_loader: cannot create %s: %s\n", path, strerror(errno));
            free(px);
            return 1;
        }
    }
    for (int i = 0; i < n; ++i) {
        synthetic_photo(px, w, h, i, &rng);
        snprintf(path, sizeof path, "%s/c%d/%04d.jpg", dir, i % 10, i);
        if (!stbi_write_jpg(path, w, h, 3, px, 90)) {
            fprintf(stderr, "bench_loader: cannot write %s\n", path);
            free(px);
            return 1;
        }
    }
    free(px);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 6 && strcmp(argv[1], "--write") == 0)
        return write_class_folder(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
    if (argc != 1) {
        fprintf(stderr, "usage: bench_loader [--write DIR WIDTH HEIGHT COUNT]\n");
        return 2;
    }
    char dir[] = "/tmp/gcam-loader-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    int sizes[][2] = {{256, 256}, {1024, 1024}, {3000, 2000}};
    for (int png = 0; png <= 1; ++png)
        for (int s = 0; s < 3; ++s) {
            gcam_dataset ds = {0};
            write_files(&ds, dir, sizes[s][0], sizes[s][1], png);
            double mb;
            double ms = in_child(DECODE, &ds, 0, 1, &mb);
            printf("%s %dx%d (%d files): decode %.1f ms/image\n", png ? "PNG " : "JPEG",
                   sizes[s][0], sizes[s][1], ds.n, ms);
            for (int input = 64; input <= 224; input += 160)
                for (int threads = 1; threads <= 2; ++threads) {
                    double ours_mb, stock_mb;
                    double ours = in_child(GCAM, &ds, input, threads, &ours_mb);
                    double stock = in_child(DARKNET, &ds, input, threads, &stock_mb);
                    printf("  -> %3dx%-3d %d thread%s: gcam %6.1f images/s (peak %5.0f MB), "
                           "darknet %6.1f images/s (peak %5.0f MB), ratio %.2fx  [median of 3]\n",
                           input, input, threads, threads > 1 ? "s" : " ", ours, ours_mb, stock,
                           stock_mb, ours / stock);
                    fflush(stdout);
                }
            for (int i = 0; i < ds.n; ++i) unlink(ds.paths[i]);
            gcam_dataset_free(&ds);
        }
    rmdir(dir);
    return 0;
}
