/* Saliency cost: seconds per image and peak resident memory of each method on ResNet-50
 * (cfg/resnet50.cfg, 224x224, seeded random weights) and on the Fashion-MNIST model
 * (cfg/fmnist.cfg, weights/fmnist.weights when present). Each method runs in its own
 * process so that its peak memory is its own. Group-CAM and Grad-CAM are also timed with
 * Darknet's stock kernels (GCAM_KERNELS=darknet) in the same run as the baseline.
 * Usage: bench_saliency [resnet50|fmnist|all] (default all). */
#include "bench_common.h"

#include <sys/resource.h>
#include <sys/wait.h>

typedef struct workload {
    const char *name, *cfg, *weights;
    int capacity;
} workload;

/* Times method m (median of `runs`) in a child; prints one line. */
static void run_method(const workload *w, gcam_method m, gcam_kernels kernels, int runs,
                       int rise_n) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid != 0) {
        int status;
        waitpid(pid, &status, 0);
        return;
    }
    gcam_load_options opt = gcam_load_options_default();
    opt.batch = w->capacity;
    opt.kernels = kernels;
    opt.weights = w->weights && access(w->weights, R_OK) == 0 ? w->weights : NULL;
    gcam_net *net;
    gcam_error err;
    if (gcam_net_load(&net, w->cfg, &opt, &err)) {
        fprintf(stderr, "%s\n", err.message);
        _exit(1);
    }
    network *dn = net->dn;
    float *x = malloc(sizeof(float) * (size_t)dn->inputs),
          *map = malloc(sizeof(float) * dn->h * dn->w);
    for (int i = 0; i < dn->inputs; ++i) x[i] = (float)((i * 7919) % 255) / 255.f;
    gcam_saliency_options so;
    so = gcam_saliency_options_default();
    so.method = m;
    so.rise_n = rise_n;
    double t[8];
    for (int r = 0; r <= runs; ++r) { /* run 0 warms up */
        double start = gcam_now_seconds();
        if (gcam_saliency(net, x, 1, NULL, &so, map, NULL, NULL, &err)) {
            fprintf(stderr, "%s\n", err.message);
            _exit(1);
        }
        if (r) t[r - 1] = gcam_now_seconds() - start;
        if (r == 0 && runs == 1 && gcam_now_seconds() - start > 30) { /* slow: one run is enough */
            t[0] = gcam_now_seconds() - start;
            runs = 1;
            break;
        }
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("saliency %-8s %-9s %-8s: %8.3f s/image, peak RSS %5.0f MB  [median of %d%s]\n", w->name,
           gcam_method_name(m), kernels == GCAM_KERNELS_FAST ? "gcam" : "darknet", median(t, runs),
           ru.ru_maxrss / 1024.0, runs,
           m == GCAM_METHOD_RISE ? (rise_n == 4000 ? ", N=4000" : ", N reduced") : "");
    fflush(stdout);
    _exit(0);
}

int main(int argc, char **argv) {
    const char *which = argc > 1 ? argv[1] : "all";
    char *r50 = cfg_at_size("cfg/resnet50.cfg", 224);
    workload loads[2] = {{"resnet50", r50, NULL, 16},
                         {"fmnist", "cfg/fmnist.cfg", "weights/fmnist.weights", 64}};
    for (int k = 0; k < 2; ++k) {
        const workload *w = &loads[k];
        if (strcmp(which, "all") && strcmp(which, w->name)) continue;
        int big = k == 0;
        for (int m = 0; m < 6; ++m) {
            int runs = (m == GCAM_METHOD_SCORECAM || m == GCAM_METHOD_RISE) && big ? 1 : 3;
            run_method(w, (gcam_method)m, GCAM_KERNELS_FAST, runs, 4000);
            if (m <= GCAM_METHOD_GRADCAM)
                run_method(w, (gcam_method)m, GCAM_KERNELS_DARKNET, 1, 4000);
        }
    }
    unlink(r50);
    free(r50);
    return 0;
}
