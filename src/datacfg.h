/* Darknet .data files ("key = value" lines: classes, train, valid, labels, backup, top)
 * and label lists. Relative paths inside a .data file are taken as Darknet takes them:
 * relative to the current directory. */
#ifndef GCAM_DATACFG_H
#define GCAM_DATACFG_H

#include "gcam/core.h"

typedef struct gcam_datacfg {
    char *path;
    int n;
    char **keys;
    char **values;
} gcam_datacfg;

int gcam_datacfg_read(gcam_datacfg *d, const char *path, gcam_error *err);
void gcam_datacfg_free(gcam_datacfg *d);
/* Borrowed value, or NULL. */
const char *gcam_datacfg_get(const gcam_datacfg *d, const char *key);

/* Reads non-empty lines of path into *lines (caller frees with gcam_lines_free). */
int gcam_lines_read(const char *path, char ***lines, int *n, gcam_error *err);
void gcam_lines_free(char **lines, int n);

#endif
