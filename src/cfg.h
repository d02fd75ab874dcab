/* Darknet cfg files, read by us first: sections and key=value options with their line
 * numbers, validated against the keys and ranges Darknet accepts, with gcam's own
 * [gcam] section split off. Darknet's parser only ever sees a cleaned copy. */
#ifndef GCAM_CFG_H
#define GCAM_CFG_H

#include "gcam/core.h"

typedef struct gcam_cfg_option {
    char *key;
    char *value;
    int line;
} gcam_cfg_option;

typedef struct gcam_cfg_section {
    char *name; /* without brackets, lower case as written: "net", "convolutional", ... */
    int line;
    gcam_cfg_option *options;
    int n_options;
} gcam_cfg_section;

typedef struct gcam_cfg {
    char *path;
    gcam_cfg_section *sections;
    int n_sections;
} gcam_cfg;

/* Reads path into cfg (caller frees with cfg_free, also on failure). Syntax errors name
 * the file and line. */
int gcam_cfg_read(gcam_cfg *cfg, const char *path, gcam_error *err);
/* Same, from a buffer; path is only used in messages. */
int gcam_cfg_read_buffer(gcam_cfg *cfg, const char *path, const char *text, size_t len,
                         gcam_error *err);
void gcam_cfg_free(gcam_cfg *cfg);

/* Borrowed value of key in section, or NULL. */
const gcam_cfg_option *gcam_cfg_find(const gcam_cfg_section *section, const char *key);

/* Checks every Darknet section: known section names, known keys, values that parse
 * and lie in range, layer references (route, shortcut) that exist, and shapes that fit.
 * [gcam] sections are skipped: their keys belong to the programs. */
int gcam_cfg_validate(const gcam_cfg *cfg, gcam_error *err);

/* A lower bound of what Darknet will allocate for the network. */
typedef struct gcam_cfg_memory {
    double per_image_bytes; /* activations and their gradients, per image of the batch */
    double fixed_bytes;     /* parameters and their updates */
    double workspace_bytes; /* the largest im2col buffer of one image */
} gcam_cfg_memory;

/* cfg_validate, also filling *memory when not NULL. */
int gcam_cfg_validate_estimate(const gcam_cfg *cfg, gcam_error *err, gcam_cfg_memory *memory);

/* Writes the Darknet part of cfg (every section except [gcam]) to a new temporary file
 * and returns its path in *tmp_path (caller unlinks and frees). If batch > 0 the [net]
 * batch is rewritten so that Darknet's per-pass batch (batch / subdivisions) is `batch`. */
int gcam_cfg_write_darknet(const gcam_cfg *cfg, int batch, char **tmp_path, gcam_error *err);

/* The first [gcam] section, or NULL. */
const gcam_cfg_section *gcam_cfg_gcam_section(const gcam_cfg *cfg);

#endif
