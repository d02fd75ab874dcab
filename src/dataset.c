/* Labelled image lists, Darknet .data files, and the data set a program's -data names
 * (gcam/data.h). */
#include "gcam/data.h"

#include "atomic_file.h"
#include "cfg.h"
#include "datacfg.h"
#include "error.h"
#include "paths.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Does token [s, s + len) equal label? */
static int token_is(const char *s, size_t len, const char *label) {
    return strlen(label) == len && strncmp(s, label, len) == 0;
}

static int label_matches(const char *path, const char *label) {
    const char *component = path;
    for (;;) {
        const char *slash = strchr(component, '/');
        size_t len = slash ? (size_t)(slash - component) : strlen(component);
        if (!slash) { /* the file name: its stem and the stem's '_' tokens */
            const char *dot = strrchr(component, '.');
            size_t stem = dot && dot > component ? (size_t)(dot - component) : len;
            if (token_is(component, stem, label)) return 1;
            const char *tok = component, *end = component + stem;
            while (tok < end) {
                const char *us = memchr(tok, '_', (size_t)(end - tok));
                size_t tlen = us ? (size_t)(us - tok) : (size_t)(end - tok);
                if (token_is(tok, tlen, label)) return 1;
                tok += tlen + 1;
            }
            return 0;
        }
        if (token_is(component, len, label)) return 1;
        component = slash + 1;
    }
}

int gcam_label_match(const char *path, char *const *labels, int n_labels, int *first) {
    int count = 0;
    *first = -1;
    for (int i = 0; i < n_labels; ++i)
        if (label_matches(path, labels[i])) {
            if (count++ == 0) *first = i;
        }
    return count;
}

#define EXAMPLES 3

int gcam_dataset_load(gcam_dataset *ds, const char *list_path, char *const *labels, int n_labels,
                      int classes, gcam_error *err) {
    memset(ds, 0, sizeof *ds);
    ds->classes = classes;
    char **lines;
    int n_lines;
    if (gcam_lines_read(list_path, &lines, &n_lines, err)) return -1;
    ds->paths = gcam_xcalloc((size_t)n_lines, sizeof(char *));
    ds->labels = gcam_xcalloc((size_t)n_lines, sizeof(int));
    const char *unmatched_examples[EXAMPLES], *ambiguous_examples[EXAMPLES];
    int status = 0;
    for (int i = 0; i < n_lines && !status; ++i) {
        char *line = lines[i];
        char *tab = strchr(line, '\t');
        int label;
        if (tab) {
            *tab = '\0';
            char *end;
            long v = strtol(tab + 1, &end, 10);
            if (*end || end == tab + 1 || v < 0 || v >= classes) {
                status = gcam_fail(err, "%s: line %d: class index '%s' is not in [0, %d)",
                                   list_path, i + 1, tab + 1, classes);
                break;
            }
            label = (int)v;
        } else {
            if (!labels) {
                status = gcam_fail(err,
                                   "%s: line %d: no class index and no labels file to "
                                   "find one from the path",
                                   list_path, i + 1);
                break;
            }
            int matches = gcam_label_match(line, labels, n_labels, &label);
            if (matches != 1) {
                int *count = matches ? &ds->ambiguous : &ds->unmatched;
                const char **examples = matches ? ambiguous_examples : unmatched_examples;
                if (*count < EXAMPLES) examples[*count] = line;
                ++*count;
                continue;
            }
        }
        ds->paths[ds->n] = gcam_xstrdup(line);
        ds->labels[ds->n++] = label;
    }
    if (!status && (ds->unmatched || ds->ambiguous)) {
        fprintf(stderr,
                "gcam: %s: left out %d paths that match no label and %d that match "
                "several\n",
                list_path, ds->unmatched, ds->ambiguous);
        for (int k = 0; k < ds->unmatched && k < EXAMPLES; ++k)
            fprintf(stderr, "  no label:        %s\n", unmatched_examples[k]);
        for (int k = 0; k < ds->ambiguous && k < EXAMPLES; ++k)
            fprintf(stderr, "  several labels:  %s\n", ambiguous_examples[k]);
    }
    if (!status && ds->n == 0)
        status = gcam_fail(err,
                           "%s: no usable images (%d lines, %d without a label, %d with "
                           "several)",
                           list_path, n_lines, ds->unmatched, ds->ambiguous);
    gcam_lines_free(lines, n_lines);
    if (status) gcam_dataset_free(ds); /* a failed load owns nothing */
    return status;
}

void gcam_dataset_free(gcam_dataset *ds) {
    for (int i = 0; i < ds->n; ++i) free(ds->paths[i]);
    free(ds->paths);
    free(ds->labels);
    memset(ds, 0, sizeof *ds);
}

static char *dup_or_null(const char *s) {
    return s ? gcam_xstrdup(s) : NULL;
}

int gcam_data_files_read(gcam_data_files *d, const char *data_path, gcam_error *err) {
    memset(d, 0, sizeof *d);
    gcam_datacfg cfg;
    if (gcam_datacfg_read(&cfg, data_path, err)) {
        gcam_datacfg_free(&cfg);
        return -1;
    }
    int status = 0;
    const char *classes = gcam_datacfg_get(&cfg, "classes");
    char *end = NULL;
    long v = classes ? strtol(classes, &end, 10) : 0;
    if (!classes || *end || v < 1 || v > 1000000)
        status = gcam_fail(err, "%s: classes=%s: expected a positive integer", data_path,
                           classes ? classes : "(missing)");
    d->classes = (int)v;
    d->train = dup_or_null(gcam_datacfg_get(&cfg, "train"));
    d->valid = dup_or_null(gcam_datacfg_get(&cfg, "valid"));
    d->backup = dup_or_null(gcam_datacfg_get(&cfg, "backup"));
    const char *top = gcam_datacfg_get(&cfg, "top");
    d->top = top ? atoi(top) : 5;
    /* As in Darknet's classifier: names= if present, else labels=. */
    const char *labels = gcam_datacfg_get(&cfg, "names");
    if (!labels) labels = gcam_datacfg_get(&cfg, "labels");
    if (!status && labels) {
        status = gcam_lines_read(labels, &d->labels, &d->n_labels, err);
        if (!status && d->n_labels != d->classes)
            status = gcam_fail(err, "%s: %s has %d labels but classes=%d", data_path, labels,
                               d->n_labels, d->classes);
    }
    gcam_datacfg_free(&cfg);
    if (status) gcam_data_files_free(d); /* a failed read owns nothing */
    return status;
}

void gcam_data_files_free(gcam_data_files *d) {
    free(d->train);
    free(d->valid);
    free(d->backup);
    gcam_lines_free(d->labels, d->n_labels);
    free(d->folder);
    gcam_dataset_free(&d->folder_train);
    gcam_dataset_free(&d->folder_valid);
    memset(d, 0, sizeof *d);
}

int gcam_data_open(gcam_data_files *d, const char *path, const gcam_split_options *split,
                   gcam_error *err) {
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return gcam_image_folder_read(d, path, split, err);
    return gcam_data_files_read(d, path, err);
}

int gcam_data_has_split(const gcam_data_files *d, int valid) {
    if (d->folder) return (valid ? d->folder_valid.n : d->folder_train.n) > 0;
    return (valid ? d->valid : d->train) != NULL;
}

int gcam_data_load_split(const gcam_data_files *d, int valid, gcam_dataset *ds, gcam_error *err) {
    memset(ds, 0, sizeof *ds);
    if (!d->folder) {
        const char *list = valid ? d->valid : d->train;
        if (!list) return gcam_fail(err, "no %s= list", valid ? "valid" : "train");
        return gcam_dataset_load(ds, list, d->labels, d->n_labels, d->classes, err);
    }
    const gcam_dataset *from = valid ? &d->folder_valid : &d->folder_train;
    if (!from->n)
        return gcam_fail(err, "%s: no %s images%s", d->folder, valid ? "validation" : "training",
                         valid ? " (valid_fraction=0 and no valid/ folder)" : "");
    ds->n = from->n;
    ds->classes = from->classes;
    ds->paths = gcam_xmalloc(sizeof(char *) * (size_t)from->n);
    ds->labels = gcam_xmalloc(sizeof(int) * (size_t)from->n);
    for (int i = 0; i < from->n; ++i) {
        ds->paths[i] = gcam_xstrdup(from->paths[i]);
        ds->labels[i] = from->labels[i];
    }
    return 0;
}

/* The head that sets the output count: the last [convolutional] or [connected]. */
static void describe_head(const char *cfg_path, int classes, char *out, size_t size) {
    gcam_cfg cfg;
    gcam_error ignored;
    snprintf(out, size, "set the head's filters= or output= to %d", classes);
    if (gcam_cfg_read(&cfg, cfg_path, &ignored) == 0)
        for (int i = cfg.n_sections - 1; i >= 0; --i) {
            const gcam_cfg_section *sec = &cfg.sections[i];
            const char *key = !strcmp(sec->name, "convolutional") ? "filters"
                              : !strcmp(sec->name, "connected")   ? "output"
                                                                  : NULL;
            if (!key) continue;
            const gcam_cfg_option *o = gcam_cfg_find(sec, key);
            snprintf(out, size, "set %s=%d in the [%s] at %s:%d", key, classes, sec->name, cfg_path,
                     o ? o->line : sec->line);
            break;
        }
    gcam_cfg_free(&cfg);
}

int gcam_data_check_classes(const gcam_data_files *d, const char *data_path, const char *cfg_path,
                            int net_classes, gcam_error *err) {
    if (net_classes == d->classes) return 0;
    char hint[GCAM_PATH_MAX + 96];
    describe_head(cfg_path, d->classes, hint, sizeof hint);
    if (d->folder)
        return gcam_fail(err, "%s has %d outputs but %s has %d classes: %s", cfg_path, net_classes,
                         data_path, d->classes, hint);
    return gcam_fail(err, "%s has %d outputs but %s says classes=%d: %s", cfg_path, net_classes,
                     data_path, d->classes, hint);
}

void gcam_data_print_classes(const gcam_data_files *d, const char *data_path, FILE *out) {
    if (!d->folder) return;
    int *counts = gcam_xcalloc(2 * (size_t)d->classes, sizeof(int)); /* (classes, 2) */
    for (int i = 0; i < d->folder_train.n; ++i) ++counts[2 * d->folder_train.labels[i]];
    for (int i = 0; i < d->folder_valid.n; ++i) ++counts[2 * d->folder_valid.labels[i] + 1];
    int width = 5;
    for (int c = 0; c < d->classes; ++c)
        if ((int)strlen(d->labels[c]) > width) width = (int)strlen(d->labels[c]);
    fprintf(out, "%s: %d classes, %d training and %d validation images\n", data_path, d->classes,
            d->folder_train.n, d->folder_valid.n);
    fprintf(out, "  %-*s  %7s  %7s\n", width, "class", "train", "valid");
    for (int c = 0; c < d->classes; ++c)
        fprintf(out, "  %-*s  %7d  %7d\n", width, d->labels[c], counts[2 * c], counts[2 * c + 1]);
    free(counts);
}

/* Darknet's classifier finds a path's class as the one label that is a substring of it. */
static int darknet_finds(const char *path, char *const *labels, int n_labels, int label) {
    int count = 0, found = -1;
    for (int i = 0; i < n_labels; ++i)
        if (strstr(path, labels[i])) ++count, found = i;
    return count == 1 && found == label;
}

static int write_list(const gcam_data_files *d, const gcam_dataset *ds, const char *path,
                      gcam_error *err) {
    gcam_atomic_file f;
    if (gcam_atomic_file_open(&f, path, err)) return -1;
    for (int i = 0; i < ds->n; ++i) {
        int first;
        int bare = gcam_label_match(ds->paths[i], d->labels, d->n_labels, &first) == 1 &&
                   first == ds->labels[i] &&
                   darknet_finds(ds->paths[i], d->labels, d->n_labels, ds->labels[i]);
        if (bare)
            fprintf(f.stream, "%s\n", ds->paths[i]);
        else
            fprintf(f.stream, "%s\t%d\n", ds->paths[i], ds->labels[i]);
    }
    return gcam_atomic_file_commit(&f, err);
}

int gcam_data_write_files(const gcam_data_files *d, const char *dir, char *data_path_out,
                          size_t size, gcam_error *err) {
    if (!d->folder) return 0;
    char name[GCAM_PATH_MAX], labels[GCAM_PATH_MAX], train[GCAM_PATH_MAX + 16],
        valid[GCAM_PATH_MAX + 16], data[GCAM_PATH_MAX + 16];
    gcam_folder_name(d->folder, name, sizeof name);
    snprintf(labels, sizeof labels, "%s/labels.txt", dir);
    snprintf(train, sizeof train, "%s/%s_train.list", dir, name);
    snprintf(valid, sizeof valid, "%s/%s_valid.list", dir, name);
    snprintf(data, sizeof data, "%s/%s.data", dir, name);
    gcam_atomic_file f;
    if (gcam_atomic_file_open(&f, labels, err)) return -1;
    for (int c = 0; c < d->classes; ++c) fprintf(f.stream, "%s\n", d->labels[c]);
    if (gcam_atomic_file_commit(&f, err) || write_list(d, &d->folder_train, train, err) ||
        (d->folder_valid.n && write_list(d, &d->folder_valid, valid, err)) ||
        gcam_atomic_file_open(&f, data, err))
        return -1;
    fprintf(f.stream, "classes = %d\ntrain = %s\n", d->classes, train);
    if (d->folder_valid.n) fprintf(f.stream, "valid = %s\n", valid);
    fprintf(f.stream, "labels = %s\nbackup = %s\ntop = %d\n", labels, dir, d->top);
    if (gcam_atomic_file_commit(&f, err)) return -1;
    if (data_path_out) snprintf(data_path_out, size, "%s", data);
    return 0;
}
