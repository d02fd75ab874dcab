/* A writer killed with SIGKILL in the middle of saving a checkpoint leaves the previous
 * checkpoint intact: a child process saves versions 1, 2, 3, ... of a ~4 MB weights
 * file (every float of version v equals v) in a loop; the parent kills it at 20 random
 * moments and checks each time that the file under the final name is complete and is
 * one whole version, never a mix or a truncation. Stray temporaries may remain. */
#include "check.h"
#include "testutil.h"
#include "weights.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static const char cfg_text[] = "[net]\nbatch=1\nheight=8\nwidth=8\nchannels=64\n"
                               "[convolutional]\nfilters=256\nsize=3\npad=1\nactivation=linear\n"
                               "[convolutional]\nfilters=256\nsize=3\npad=1\nactivation=linear\n";

static void fill_version(network *dn, float v) {
    for (int i = 0; i < dn->n; ++i) {
        layer *l = &dn->layers[i];
        for (int k = 0; k < l->nweights; ++k) l->weights[k] = v;
        for (int k = 0; k < l->n; ++k) l->biases[k] = v;
    }
    *dn->seen = (size_t)v;
}

/* 1 if path holds one complete version of the checkpoint. */
static int whole_version(gcam_net *net, const char *path, float *version) {
    gcam_error err;
    if (gcam_weights_load(net->dn, path, 0, &err)) {
        fprintf(stderr, "%s\n", err.message);
        return 0;
    }
    network *dn = net->dn;
    float v = dn->layers[0].biases[0];
    for (int i = 0; i < dn->n; ++i) {
        layer *l = &dn->layers[i];
        for (int k = 0; k < l->nweights; ++k)
            if (l->weights[k] != v) return 0;
        for (int k = 0; k < l->n; ++k)
            if (l->biases[k] != v) return 0;
    }
    *version = v;
    return *dn->seen == (size_t)v;
}

int main(void) {
    char dir[] = "/tmp/gcam-kill-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char *cfg = temp_cfg(cfg_text), path[600];
    snprintf(path, sizeof path, "%s/net_last.weights", dir);
    gcam_error err;
    gcam_net *net;
    gcam_load_options opt = gcam_load_options_default();
    if (gcam_net_load(&net, cfg, &opt, &err)) {
        CHECK(0, "%s", err.message);
        return check_summary("test_checkpoint_kill");
    }
    fill_version(net->dn, 1);
    CHECK(gcam_weights_save(net->dn, path, &err) == 0, "%s", err.message);
    gcam_rng rng = gcam_rng_init(99, 1);
    float last_version = 1;
    int progressed = 0;
    for (int round = 0; round < 20; ++round) {
        pid_t child = fork();
        if (child == 0) {
            for (float v = last_version + 1;; ++v) {
                fill_version(net->dn, v);
                if (gcam_weights_save(net->dn, path, &err)) _exit(3);
            }
        }
        struct timespec pause = {0, (long)(gcam_rng_next(&rng) % 40000000)}; /* 0-40 ms */
        nanosleep(&pause, NULL);
        kill(child, SIGKILL);
        int status;
        waitpid(child, &status, 0);
        CHECK(WIFSIGNALED(status), "child exited on its own (status %d)", status);
        float version = 0;
        CHECK(whole_version(net, path, &version), "round %d: checkpoint damaged", round);
        progressed += version > last_version;
        CHECK(version >= last_version, "round %d: went back from %g to %g", round, last_version,
              version);
        last_version = version;
    }
    printf("20 kills; the checkpoint advanced in %d rounds\n", progressed);
    gcam_net_free(net);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "cleanup");
    unlink(cfg);
    free(cfg);
    return check_summary("test_checkpoint_kill");
}
