/* Darknet .weights files: the expected size of a network's file, validation, loading and
 * atomic saving (the format is described in weights.c). */
#ifndef GCAM_WEIGHTS_H
#define GCAM_WEIGHTS_H

#include "gcam/core.h"

#include <darknet.h>

/* Floats the weights file of net must hold for layers [0, n_layers) (0: all). */
size_t gcam_weights_expected_floats(const network *net, int n_layers);

/* Checks that path is a weights file that fits net: readable, a known header, and
 * exactly the expected number of floats (at least the first n_layers' when n_layers > 0). */
int gcam_weights_check(const network *net, const char *path, int n_layers, gcam_error *err);

/* Loads validated weights into layers [0, n_layers) (0 = all). */
int gcam_weights_load(network *net, const char *path, int n_layers, gcam_error *err);

/* Saves all layers in Darknet's format (version 0.2.0, 8-byte seen) atomically. */
int gcam_weights_save(const network *net, const char *path, gcam_error *err);

#endif
