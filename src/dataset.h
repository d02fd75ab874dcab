/* Labelled image lists: Darknet .data files resolved to (path, class) pairs.
 *
 * A list line is either "path" or "path<TAB>class_index". For a bare path the class is
 * found from its name: a label matches when it equals a whole directory name, the file
 * name without extension, or one of that name's '_'-separated tokens
 * ("train/00012_T-Shirt.png" is T-Shirt, never Shirt). Darknet instead searches each
 * label as a substring of the whole path. Paths that match no label, or several, are
 * counted, reported with examples and left out. */
#ifndef GCAM_DATASET_H
#define GCAM_DATASET_H

#include "gcam.h"

typedef struct gcam_dataset {
    int n;
    char **paths; /* (n) */
    int *labels;  /* (n) class indices */
    int classes;
    int unmatched; /* paths left out: no label matched */
    int ambiguous; /* paths left out: several labels matched */
} gcam_dataset;

/* Number of labels that match path (see above); *first gets the first one. */
int gcam_label_match(const char *path, char *const *labels, int n_labels, int *first);

/* Reads list_path. labels may be NULL when every line has a tab and an index. Problems
 * with some lines are reported on stderr (count and first examples); an unreadable
 * list, a bad index, or a list with no usable image is an error. */
int gcam_dataset_load(gcam_dataset *ds, const char *list_path, char *const *labels, int n_labels,
                      int classes, gcam_error *err);
void gcam_dataset_free(gcam_dataset *ds);

/* The labels, classes and lists of a .data file. */
typedef struct gcam_data_files {
    int classes;
    char *train, *valid, *backup; /* NULL when absent */
    char **labels;                /* (n_labels), from names= or labels= */
    int n_labels;
    int top;
} gcam_data_files;

int gcam_data_files_read(gcam_data_files *d, const char *data_path, gcam_error *err);
void gcam_data_files_free(gcam_data_files *d);

#endif
