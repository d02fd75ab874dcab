/* Errors and allocation, shared by every module. Three tiers of failure: a returned error
 * for what the user can cause (a bad file, a bad value, data too large for memory), the
 * out-of-memory handler for the small allocations inside a computation, and assert for
 * broken internal invariants. */
#ifndef GCAM_ERROR_H
#define GCAM_ERROR_H

#include "gcam/core.h"

/* Formats the message into err (if not NULL) and returns -1, so callers can write
 * `return gcam_fail(err, "...")`. */
int gcam_fail(gcam_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Allocation of a buffer sized by the user's data: NULL, with an error naming `what` and
 * the size, when memory runs out. */
void *gcam_try_malloc(size_t bytes, const char *what, gcam_error *err);

/* Allocation inside a computation: out of memory goes to the handler (gcam_set_oom_handler),
 * which does not return. */
void *gcam_xmalloc(size_t bytes);
void *gcam_xcalloc(size_t count, size_t size);
char *gcam_xstrdup(const char *s);
void *gcam_xrealloc(void *p, size_t bytes);

#endif
