/* Error reporting for user-causable failures: a formatted message in the caller's
 * gcam_error, and a -1 status to return. Broken internal invariants use assert instead. */
#ifndef GCAM_ERROR_H
#define GCAM_ERROR_H

#include "gcam.h"

/* Formats the message into err (if not NULL) and returns -1, so callers can write
 * `return gcam_fail(err, "...")`. */
int gcam_fail(gcam_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Allocation that aborts with a message on out-of-memory: there is no useful recovery
 * inside a kernel, and the message names the size requested. */
void *gcam_xmalloc(size_t bytes);
void *gcam_xcalloc(size_t count, size_t size);
char *gcam_xstrdup(const char *s);
void *gcam_xrealloc(void *p, size_t bytes);

#endif
