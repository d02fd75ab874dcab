/* Labelled image lists and Darknet .data files (gcam/data.h). */
#include "gcam/data.h"

#include "datacfg.h"
#include "error.h"

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
    memset(d, 0, sizeof *d);
}
