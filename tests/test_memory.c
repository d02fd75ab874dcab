/* Loading, running and freeing a network repeatedly must not grow memory. Darknet's
 * free_network leaks the workspace (~9 MB for ResNet-18 at 256x256, resident once a
 * forward has used it), seen, t, cost, ...; gcam_net_free releases those too. Resident
 * memory is read from /proc after warm-up cycles; the tolerance (2 MB over 20 further
 * cycles) is well under one leaked workspace. The sanitizer run also checks this test
 * with LeakSanitizer. */
#include "check.h"
#include "testutil.h"
#include "weights.h"

static long resident_kb(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void load_free(const char *cfg, const char *weights) {
    gcam_load_options opt = gcam_load_options_default();
    opt.batch = 2;
    opt.weights = weights;
    gcam_net *net;
    gcam_error err;
    if (gcam_net_load(&net, cfg, &opt, &err)) {
        CHECK(0, "%s", err.message);
        return;
    }
    /* A forward pass touches every buffer (the workspace too), so that a leaked one
     * stays resident and shows in the measurement. */
    float *input = calloc((size_t)net->dn->inputs * 2, sizeof(float));
    gcam_net_predict(net, input, 2);
    free(input);
    gcam_net_free(net);
}

int main(void) {
    const char *cfg = "/usr/share/darknet/cfg/resnet18.cfg";
    char weights[] = "/tmp/gcam-mem-XXXXXX";
    int fd = mkstemp(weights);
    close(fd);
    {
        gcam_load_options opt = gcam_load_options_default();
        opt.batch = 1;
        gcam_net *net;
        gcam_error err;
        CHECK(gcam_net_load(&net, cfg, &opt, &err) == 0, "%s", err.message);
        CHECK(gcam_weights_save(net->dn, weights, &err) == 0, "%s", err.message);
        gcam_net_free(net);
    }
    for (int i = 0; i < 3; ++i) load_free(cfg, weights);
    long before = resident_kb();
    for (int i = 0; i < 20; ++i) load_free(cfg, weights);
    long growth = resident_kb() - before;
    printf("resident memory growth over 20 load/free cycles: %ld kB\n", growth);
    CHECK(growth < 2048, "grew by %ld kB", growth);
    unlink(weights);
    return check_summary("test_memory");
}
