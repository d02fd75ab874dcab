/* Error messages and checked allocation shared by every module. */
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

static void die_out_of_memory(size_t bytes) {
    fprintf(stderr, "gcam: out of memory allocating %zu bytes\n", bytes);
    exit(3);
}

void *gcam_xmalloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) die_out_of_memory(bytes);
    return p;
}

void *gcam_xrealloc(void *p, size_t bytes) {
    void *q = realloc(p, bytes ? bytes : 1);
    if (!q) die_out_of_memory(bytes);
    return q;
}

void *gcam_xcalloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) die_out_of_memory(count * size);
    return p;
}

char *gcam_xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = gcam_xmalloc(n);
    memcpy(p, s, n);
    return p;
}
