/* Shared helpers of the libFuzzer targets: inputs go through temporary files (the
 * library reads paths), and networks that would be large are skipped (a memory limit is
 * not a bug). run_fuzz.sh closes the targets' stdout and stderr (Darknet is chatty);
 * libFuzzer's reports still get through. */
#ifndef GCAM_FUZZ_COMMON_H
#define GCAM_FUZZ_COMMON_H

#include "cfg.h"
#include "gcam.h"
#include "network.h"
#include "weights.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline char *fuzz_temp_file(const uint8_t *data, size_t size, const char *tag) {
    static char path[64];
    snprintf(path, sizeof path, "/dev/shm/gcam-fuzz-%d-%s", (int)getpid(), tag);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size) fwrite(data, 1, size, f);
    fclose(f);
    return path;
}

static inline void fuzz_remove(const char *path) {
    unlink(path);
}

/* Validated cfgs whose input and layers stay small enough to build quickly. */
static inline int fuzz_cfg_is_small(const char *path) {
    gcam_cfg cfg;
    gcam_error err;
    int small = 0;
    if (gcam_cfg_read(&cfg, path, &err) == 0 && gcam_cfg_validate(&cfg, &err) == 0) {
        small = cfg.n_sections < 24;
        for (int s = 0; small && s < cfg.n_sections; ++s)
            for (int i = 0; i < cfg.sections[s].n_options; ++i) {
                const char *k = cfg.sections[s].options[i].key;
                long v = atol(cfg.sections[s].options[i].value);
                if ((!strcmp(k, "width") || !strcmp(k, "height") || !strcmp(k, "channels") ||
                     !strcmp(k, "filters") || !strcmp(k, "output") || !strcmp(k, "size")) &&
                    v > 64)
                    small = 0;
            }
    }
    gcam_cfg_free(&cfg);
    return small;
}

#endif
