/* Error messages and checked allocation (see error.h). */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gcam_fail(gcam_error *err, const char *fmt, ...) {
    if (err) {
        va_list args;
        va_start(args, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, args);
        va_end(args);
    }
    return -1;
}

static void abort_out_of_memory(size_t bytes) {
    fprintf(stderr, "gcam: out of memory allocating %zu bytes\n", bytes);
    abort();
}

static gcam_oom_handler oom_handler = abort_out_of_memory;

void gcam_set_oom_handler(gcam_oom_handler handler) {
    oom_handler = handler ? handler : abort_out_of_memory;
}

/* The handler must not return; if one does, abort rather than hand out NULL. */
static void out_of_memory(size_t bytes) {
    oom_handler(bytes);
    abort();
}

void *gcam_try_malloc(size_t bytes, const char *what, gcam_error *err) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p)
        gcam_fail(err, "out of memory: %s needs %.1f MB", what, (double)bytes / (1024.0 * 1024.0));
    return p;
}

void *gcam_xmalloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) out_of_memory(bytes);
    return p;
}

void *gcam_xrealloc(void *p, size_t bytes) {
    void *q = realloc(p, bytes ? bytes : 1);
    if (!q) out_of_memory(bytes);
    return q;
}

void *gcam_xcalloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) out_of_memory(count * size);
    return p;
}

char *gcam_xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = gcam_xmalloc(n);
    memcpy(p, s, n);
    return p;
}
