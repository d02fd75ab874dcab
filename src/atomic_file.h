/* Files that are complete under their final name or absent: data goes to a temporary
 * file in the same folder, is fsynced, and is renamed over the target. */
#ifndef GCAM_ATOMIC_FILE_H
#define GCAM_ATOMIC_FILE_H

#include "gcam/core.h"
#include <stdio.h>

typedef struct gcam_atomic_file {
    FILE *stream; /* write here between open and commit */
    char *final_path;
    char *tmp_path;
} gcam_atomic_file;

int gcam_atomic_file_open(gcam_atomic_file *f, const char *path, gcam_error *err);
/* Flushes, fsyncs and renames; on any failure the target is untouched and the
 * temporary file removed. Always releases f. */
int gcam_atomic_file_commit(gcam_atomic_file *f, gcam_error *err);
/* Drops the temporary file, leaving the target untouched. */
void gcam_atomic_file_abort(gcam_atomic_file *f);

/* Renames from over to and makes the rename durable (the folder is synced). */
int gcam_atomic_rename(const char *from, const char *to, gcam_error *err);

#endif
